//! Protocol tests of the edgeHub stand-in with clients that speak as the SDKs do
//! (`docs/design/iotedge-standins.md` §3–§5), over real TLS; and a fuzz of the packet handling.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{Connect, Login, Packet, Publish, Subscribe};
use rumqttc::mqttbytes::{Error as MqttError, QoS};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;
use crate::gateway::Service;
use crate::workload::{ModuleIdentity, RunCa};

const GATEWAY: &str = "edgecert-gateway";

fn identity() -> ModuleIdentity {
    ModuleIdentity {
        hub: "edgecert.azure-devices.net".into(),
        device: "edgecert-device".into(),
        module: "tempfilter".into(),
        generation_id: "637000000000000000".into(),
    }
}

/// `encodeURIComponent` with nothing safe but unreserved characters, as both SDKs encode.
fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// A module's SAS token as the SDKs build it (§3), signed with `key`.
fn sas(key: &[u8], id: &ModuleIdentity, expiry: u64) -> String {
    let sr = encode(&format!(
        "{}/devices/{}/modules/{}",
        id.hub, id.device, id.module
    ));
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let sig = B64.encode(ring::hmac::sign(
        &hmac,
        format!("{sr}\n{expiry}").as_bytes(),
    ));
    format!(
        "SharedAccessSignature sr={sr}&sig={}&se={expiry}",
        encode(&sig)
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn connect(client_id: &str, username: &str, password: &str) -> Packet {
    let mut c = Connect::new(client_id);
    c.keep_alive = 60;
    c.clean_session = false;
    c.login = Some(Login::new(username, password));
    Packet::Connect(c)
}

fn python_username(id: &ModuleIdentity) -> String {
    let ua = "azure-iot-device-iothub-py/2.14.0(3.11.2;Linux #1 SMP PREEMPT_DYNAMIC;x86_64)contoso.tempfilter.standard";
    format!(
        "{}/{}/{}/?api-version=2019-10-01&DeviceClientType={}",
        id.hub,
        id.device,
        id.module,
        encode(ua)
    )
}

struct Hub {
    hub: EdgeHub,
    ca: RunCa,
    key: Vec<u8>,
    addr: std::net::SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn hub() -> Hub {
    hub_for(Service::Mqtt).await
}

/// A stand-in serving `service` on a loopback port, until the `Hub` is dropped.
async fn hub_for(service: Service) -> Hub {
    let ca = RunCa::new("test").unwrap();
    let key = b"0123456789abcdef0123456789abcdef".to_vec();
    let hub = EdgeHub::new(identity(), GATEWAY, &key, &ca, json!({"threshold": 45})).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = hub.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                Ok((tcp, _)) = listener.accept() => {
                    let hub = serving.clone();
                    tokio::spawn(async move {
                        match service {
                            Service::Mqtt => hub.serve_stream(tcp).await,
                            Service::Amqp => hub.serve_amqp_stream(tcp).await,
                            Service::WebSocket => hub.serve_websocket_stream(tcp).await,
                        }
                    });
                }
            }
        }
    });
    Hub {
        hub,
        ca,
        key,
        addr,
        _stop: stop,
    }
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A TLS client trusting `ca_der` (the trust bundle), for the gateway's name.
async fn tls(addr: std::net::SocketAddr, ca_der: &[u8]) -> std::io::Result<Tls> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(ca_der.to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from(GATEWAY).unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

async fn send(s: &mut Tls, p: Packet) {
    let mut out = BytesMut::new();
    p.write(&mut out, MAX_PACKET).unwrap();
    s.write_all(&out).await.unwrap();
}

async fn recv(s: &mut Tls, buf: &mut BytesMut) -> Packet {
    loop {
        match Packet::read(buf, MAX_PACKET) {
            Ok(p) => return p,
            Err(MqttError::InsufficientBytes(_)) => {}
            Err(e) => panic!("{e}"),
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read_buf(buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(n > 0, "the stand-in closed the connection");
    }
}

fn publish(topic: &str, body: &str, pkid: u16) -> Packet {
    let mut p = Publish::new(topic, QoS::AtLeastOnce, body.as_bytes().to_vec());
    p.pkid = pkid;
    Packet::Publish(p)
}

#[tokio::test]
async fn a_module_connects_reads_its_twin_reports_and_sends_on_its_outputs() {
    let h = hub().await;
    let id = identity();
    let mut s = tls(h.addr, h.ca.der()).await.unwrap();
    let mut buf = BytesMut::new();
    let token = sas(&h.key, &id, now() + 3600);
    send(
        &mut s,
        connect("edgecert-device/tempfilter", &python_username(&id), &token),
    )
    .await;
    match recv(&mut s, &mut buf).await {
        Packet::ConnAck(a) => assert_eq!(a.code, ConnectReturnCode::Success),
        other => panic!("{other:?}"),
    }
    send(
        &mut s,
        Packet::Subscribe(Subscribe::new("$iothub/twin/res/#", QoS::AtLeastOnce)),
    )
    .await;
    assert!(matches!(recv(&mut s, &mut buf).await, Packet::SubAck(_)));
    // Twin GET (body one space, as Python sends): PUBACK, then the twin.
    send(&mut s, publish("$iothub/twin/GET/?$rid=5c1c", " ", 7)).await;
    let mut got_twin = None;
    for _ in 0..2 {
        match recv(&mut s, &mut buf).await {
            Packet::PubAck(a) => assert_eq!(a.pkid, 7),
            Packet::Publish(p) => got_twin = Some(p),
            other => panic!("{other:?}"),
        }
    }
    let twin = got_twin.unwrap();
    assert_eq!(twin.topic, "$iothub/twin/res/200/?$rid=5c1c");
    let body: serde_json::Value = serde_json::from_slice(&twin.payload).unwrap();
    assert_eq!(body["desired"]["threshold"], 45);
    assert_eq!(body["desired"]["$version"], 1);
    assert_eq!(body["reported"]["$version"], 1);
    // A reported patch: 204 without a body.
    send(
        &mut s,
        publish(
            "$iothub/twin/PATCH/properties/reported/?$rid=77",
            "{\"started\": true}",
            8,
        ),
    )
    .await;
    let mut status = None;
    for _ in 0..2 {
        if let Packet::Publish(p) = recv(&mut s, &mut buf).await {
            status = Some(p.topic);
        }
    }
    assert_eq!(status.as_deref(), Some("$iothub/twin/res/204/?$rid=77"));
    // Listening for desired properties after the twin read: one patch, the next $version.
    send(
        &mut s,
        Packet::Subscribe(Subscribe::new(
            "$iothub/twin/PATCH/properties/desired/#",
            QoS::AtMostOnce,
        )),
    )
    .await;
    assert!(matches!(recv(&mut s, &mut buf).await, Packet::SubAck(_)));
    let Packet::Publish(patch) = recv(&mut s, &mut buf).await else {
        panic!("a desired-property patch")
    };
    assert_eq!(
        patch.topic,
        "$iothub/twin/PATCH/properties/desired/?$version=2"
    );
    let patch: serde_json::Value = serde_json::from_slice(&patch.payload).unwrap();
    assert_eq!(patch, json!({"threshold": 45, "$version": 2}));
    // Outputs: Python's property bag, Node's with its trailing '/', plain telemetry.
    let events = "devices/edgecert-device/modules/tempfilter/messages/events";
    for (i, topic) in [
        format!("{events}/%24.on=output1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp"),
        format!("{events}/%24.on=output1/"),
        format!("{events}/%24.on=alerts%20high"),
        events.to_string(),
    ]
    .iter()
    .enumerate()
    {
        send(
            &mut s,
            publish(topic, "{\"temperature\": 21}", 10 + i as u16),
        )
        .await;
        assert!(matches!(recv(&mut s, &mut buf).await, Packet::PubAck(_)));
    }
    send(&mut s, Packet::PingReq).await;
    assert_eq!(recv(&mut s, &mut buf).await, Packet::PingResp);
    send(&mut s, Packet::Disconnect).await;

    let seen = h.hub.observed();
    let c = seen.connected().expect("accepted");
    assert_eq!(c.api_version.as_deref(), Some("2019-10-01"));
    assert!(
        c.client_type
            .as_deref()
            .unwrap()
            .ends_with(")contoso.tempfilter.standard"),
        "{c:?}"
    );
    assert_eq!(seen.twin_reads, 1);
    assert_eq!(seen.desired_patches, 1, "one patch per run");
    assert_eq!(seen.reported, vec![json!({"started": true})]);
    assert_eq!(seen.outputs.get("output1"), Some(&2));
    assert_eq!(seen.outputs.get("alerts high"), Some(&1));
    assert_eq!(seen.outputs.get(""), Some(&1));
    let first = &seen.samples["output1"][0];
    assert_eq!(first.body, "{\"temperature\": 21}");
    assert_eq!(first.output, "output1");
    // The property bag: system properties by their route names, application ones as sent.
    assert_eq!(
        first
            .system_properties
            .get("contentType")
            .map(String::as_str),
        Some("application/json")
    );
    assert_eq!(
        first
            .system_properties
            .get("contentEncoding")
            .map(String::as_str),
        Some("utf-8")
    );
    assert_eq!(
        first.properties.get("alert").map(String::as_str),
        Some("high temp")
    );
    assert!(seen.samples["output1"][1].system_properties.is_empty());
    assert!(seen.subscriptions.contains("$iothub/twin/res/#"));
    assert!(
        seen.protocol_errors.is_empty(),
        "{:?}",
        seen.protocol_errors
    );
}

#[tokio::test]
async fn wrong_client_ids_and_tokens_are_refused_with_the_reason_recorded() {
    let h = hub().await;
    let id = identity();
    let user = python_username(&id);
    let cases = [
        (
            "tempfilter",
            sas(&h.key, &id, now() + 3600),
            ConnectReturnCode::BadClientId,
            "client id",
        ),
        (
            "edgecert-device/tempfilter",
            sas(b"another key", &id, now() + 3600),
            ConnectReturnCode::BadUserNamePassword,
            "does not verify",
        ),
        (
            "edgecert-device/tempfilter",
            sas(&h.key, &id, now() - 3600),
            ConnectReturnCode::BadUserNamePassword,
            "expired",
        ),
        (
            "edgecert-device/tempfilter",
            "hunter2".to_owned(),
            ConnectReturnCode::BadUserNamePassword,
            "not a SAS token",
        ),
    ];
    for (client, password, code, why) in &cases {
        let mut s = tls(h.addr, h.ca.der()).await.unwrap();
        let mut buf = BytesMut::new();
        send(&mut s, connect(client, &user, password)).await;
        match recv(&mut s, &mut buf).await {
            Packet::ConnAck(a) => assert_eq!(a.code, *code, "{why}"),
            other => panic!("{other:?}"),
        }
    }
    let seen = h.hub.observed();
    assert_eq!(seen.connections.len(), cases.len());
    for (c, (_, _, _, why)) in seen.connections.iter().zip(&cases) {
        let refused = c.refused.as_deref().unwrap_or("");
        assert!(refused.contains(why), "{refused:?} should say {why:?}");
    }
    assert!(seen.connected().is_none());
}

#[tokio::test]
async fn a_module_that_ignores_the_trust_bundle_is_seen_failing_tls() {
    let h = hub().await;
    let other = RunCa::new("another").unwrap();
    assert!(tls(h.addr, other.der()).await.is_err());
    for _ in 0..100 {
        if !h.hub.observed().tls_failures.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = h.hub.observed();
    assert_eq!(seen.tls_failures.len(), 1, "{seen:?}");
    assert!(seen.connections.is_empty());
}

#[test]
fn sas_tokens_verify_as_edgehub_verifies_them() {
    let id = identity();
    let key = b"k".repeat(32);
    let t = now();
    verify_sas(&sas(&key, &id, t + 60), &key, &id, GATEWAY, t).unwrap();
    // Five minutes of clock skew.
    verify_sas(&sas(&key, &id, t - 200), &key, &id, GATEWAY, t).unwrap();
    // The audience may name the gateway; another module may not be named.
    let mut other = id.clone();
    other.module = "other".into();
    let e = verify_sas(&sas(&key, &other, t + 60), &key, &id, GATEWAY, t).unwrap_err();
    assert!(e.contains("not edgecert.azure-devices.net"), "{e}");
    let mut via_gateway = id.clone();
    via_gateway.hub = GATEWAY.into();
    verify_sas(&sas(&key, &via_gateway, t + 60), &key, &id, GATEWAY, t).unwrap();
    for junk in [
        "",
        "SharedAccessSignature ",
        "SharedAccessSignature sr=a&sig=b",
        "SharedAccessSignature sr=a&sig=%%%&se=x",
        "SharedAccessSignature sr=a/devices/b/modules/c&sig=!!!&se=99999999999",
    ] {
        assert!(verify_sas(junk, &key, &id, GATEWAY, t).is_err(), "{junk}");
    }
}

#[test]
fn user_names_parse_as_edgehub_parses_them() {
    let u = parse_username(
        "h/d/m/?api-version=2021-04-12&model-id=dtmi:x;1&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v18)c.o.p",
    )
    .unwrap();
    assert_eq!((u.device.as_str(), u.module.as_str()), ("d", "m"));
    assert_eq!(u.api_version, "2021-04-12");
    assert_eq!(u.model_id.as_deref(), Some("dtmi:x;1"));
    assert_eq!(
        u.client_type.as_deref(),
        Some("azure-iot-device/1.18.4 (node v18)c.o.p")
    );
    for bad in [
        "",
        "h/d/m",
        "h/d/?api-version=1",
        "h/d/m/?DeviceClientType=x",
    ] {
        assert!(parse_username(bad).is_err(), "{bad}");
    }
}

/// A module is untrusted input: random bytes and mutations of a real session, fed to the
/// packet handling, end the session with an error or cleanly — never a panic, never a hang.
#[tokio::test]
async fn hostile_bytes_end_the_session_without_a_panic() {
    let ca = RunCa::new("fuzz").unwrap();
    let key = b"0123456789abcdef0123456789abcdef".to_vec();
    let hub = EdgeHub::new(identity(), GATEWAY, &key, &ca, json!({})).unwrap();
    let id = identity();
    let mut valid = BytesMut::new();
    for p in [
        connect(
            "edgecert-device/tempfilter",
            &python_username(&id),
            &sas(&key, &id, now() + 3600),
        ),
        Packet::Subscribe(Subscribe::new("$iothub/twin/res/#", QoS::AtLeastOnce)),
        publish("$iothub/twin/GET/?$rid=1", " ", 1),
        publish(
            "devices/edgecert-device/modules/tempfilter/messages/events/%24.on=o",
            "x",
            2,
        ),
        Packet::PingReq,
    ] {
        p.write(&mut valid, MAX_PACKET).unwrap();
    }
    let valid = valid.to_vec();
    let connect_len = {
        let mut c = BytesMut::new();
        connect(
            "edgecert-device/tempfilter",
            &python_username(&id),
            &sas(&key, &id, now() + 3600),
        )
        .write(&mut c, MAX_PACKET)
        .unwrap();
        c.len()
    };
    // Seeded, so a failure reproduces.
    let mut rng = edgecert_fixtures::rng::Rng::from_state(0x9E37_79B9_7F4A_7C15);
    let mut next = move || rng.next_u64();
    let (mut clean, mut refused) = (0, 0);
    for round in 0..3000 {
        let input: Vec<u8> = if round % 50 == 3 {
            // Now and then the session unharmed: the harness itself must work.
            valid.clone()
        } else if round % 2 == 0 {
            let len = (next() % 300) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            let mut m = valid.clone();
            // Every other mutation round keeps the CONNECT whole, to reach the packets after it.
            let from = if round % 4 == 1 { connect_len } else { 0 };
            for _ in 0..1 + next() % 4 {
                let i = from + (next() as usize) % (m.len() - from);
                m[i] = next() as u8;
            }
            m.truncate((next() as usize) % (m.len() + 1));
            m
        };
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let session = tokio::spawn({
            let hub = hub.clone();
            async move { hub.session(server).await }
        });
        client.write_all(&input).await.unwrap();
        client.shutdown().await.unwrap();
        // Drain what the stand-in answers so it never blocks on a full pipe.
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut sink)).await;
        let ended = tokio::time::timeout(Duration::from_secs(5), session).await;
        let joined = ended.unwrap_or_else(|_| panic!("round {round}: the session hung"));
        match joined {
            Ok(Ok(())) => clean += 1,
            Ok(Err(_)) => refused += 1,
            Err(e) => panic!("round {round}: the session panicked: {e}"),
        }
    }
    // The fuzz reached past CONNECT: sessions were accepted and packets handled.
    let seen = hub.observed();
    let accepted = seen
        .connections
        .iter()
        .filter(|c| c.refused.is_none())
        .count();
    assert!(accepted > 150, "{accepted} accepted sessions");
    assert!(
        clean > 10 && refused > 1000,
        "{clean} clean, {refused} refused"
    );
    assert!(
        seen.outputs.values().sum::<u64>() >= 60,
        "{:?}",
        seen.outputs
    );
}

mod amqp;
mod websocket;
