//! Protocol tests of the AMQP side of the edgeHub stand-in, with a fe2o3-amqp client that
//! speaks as the Node SDK's `azure-iot-device-amqp` does (`docs/design/amqp-standin-research.md`
//! §1: no SASL, CBS put-token, links by address, `iothub-outputname`, twin annotations), over
//! real TLS; and a fuzz of the frame handling with a recorded session.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::types::definitions::Fields;
use fe2o3_amqp::types::messaging::annotations::OwnedKey;
use fe2o3_amqp::types::messaging::{
    AmqpValue, ApplicationProperties, Body, Data, Message, MessageAnnotations, MessageId,
    Properties,
};
use fe2o3_amqp::types::primitives::{Binary, SimpleValue, Symbol, Value};
use fe2o3_amqp::{Connection as AmqpConnection, Receiver, Sender, Session};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::*;

const UA: &str =
    "azure-iot-device/1.18.4 (node v18.19.0; Debian GNU/Linux 12; x64)contoso.tempfilter.standard";

/// The link properties every Node SDK link carries, plus `extra`.
fn link_properties(extra: &[(&str, &str)]) -> Fields {
    let mut f = Fields::default();
    f.insert(Symbol::from(CLIENT_VERSION_KEY), Value::String(UA.into()));
    for (k, v) in extra {
        f.insert(Symbol::from(*k), Value::String((*v).into()));
    }
    f
}

const CLIENT_VERSION_KEY: &str = "com.microsoft:client-version";

fn module_path(id: &ModuleIdentity, rest: &str) -> String {
    format!("/devices/{}/modules/{}/{rest}", id.device, id.module)
}

/// A connected client: TLS, the AMQP connection (SASL as given) and one session.
pub(super) struct Client {
    connection: fe2o3_amqp::connection::ConnectionHandle<()>,
    session: fe2o3_amqp::session::SessionHandle<()>,
}

async fn client(h: &Hub, sasl: Option<SaslProfile>) -> Client {
    let stream = tls(h.addr, h.ca.der()).await.unwrap();
    let mut builder = AmqpConnection::builder()
        .container_id("3b9a1c3e-node-rhea")
        .hostname(GATEWAY);
    if let Some(sasl) = sasl {
        builder = builder.sasl_profile(sasl);
    }
    let mut connection = builder.open_with_stream(stream).await.unwrap();
    let session = Session::begin(&mut connection).await.unwrap();
    Client {
        connection,
        session,
    }
}

/// A client as the Node SDK opens one (no SASL) over an established byte stream.
pub(super) async fn amqp_client_over<S>(stream: S) -> Client
where
    S: AsyncRead + AsyncWrite + std::fmt::Debug + Send + Unpin + 'static,
{
    let mut connection = AmqpConnection::builder()
        .container_id("3b9a1c3e-node-rhea")
        .hostname(GATEWAY)
        .open_with_stream(stream)
        .await
        .unwrap();
    let session = Session::begin(&mut connection).await.unwrap();
    Client {
        connection,
        session,
    }
}

impl Client {
    /// CBS put-token as the Node SDK sends it; the reply's status code.
    pub(super) async fn put_token(&mut self, token: &str) -> (MessageId, SimpleValue) {
        let mut sender = Sender::builder()
            .name("rheaSender_cbs")
            .target("$cbs")
            .properties(link_properties(&[]))
            .attach(&mut self.session)
            .await
            .unwrap();
        let mut receiver = Receiver::builder()
            .name("rheaReceiver_cbs")
            .source("$cbs")
            .properties(link_properties(&[]))
            .attach(&mut self.session)
            .await
            .unwrap();
        let id = "5f0d2c4e-9d4b-4a51-8b2e-7d8a0a3e6f11".to_owned();
        let request = Message::builder()
            .properties(Properties {
                message_id: Some(MessageId::String(id.clone())),
                to: Some("$cbs".into()),
                reply_to: Some("cbs".into()),
                ..Properties::default()
            })
            .application_properties(
                ApplicationProperties::builder()
                    .insert("operation", "put-token")
                    .insert("type", "servicebus.windows.net:sastoken")
                    .insert(
                        "name",
                        "edgecert.azure-devices.net%2Fdevices%2Fedgecert-device%2Fmodules%2Ftempfilter",
                    )
                    .build(),
            )
            .value(token.to_owned())
            .build();
        sender.send(request).await.unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(10), receiver.recv::<Body<Value>>())
            .await
            .expect("a put-token reply")
            .unwrap();
        receiver.accept(&reply).await.unwrap();
        let m = reply.message();
        let correlation = m
            .properties
            .as_ref()
            .unwrap()
            .correlation_id
            .clone()
            .unwrap();
        let status = m
            .application_properties
            .as_ref()
            .unwrap()
            .0
            .get("status-code")
            .unwrap()
            .clone();
        assert_eq!(correlation, MessageId::String(id));
        std::mem::forget((sender, receiver));
        (correlation, status)
    }
}

/// An output message as `sendOutputEvent` builds it.
fn output_message(output: &str, body: &str) -> Message<Data> {
    Message::builder()
        .properties(Properties {
            message_id: Some(MessageId::String("m-1".into())),
            content_type: Some(Symbol::from("application/json")),
            content_encoding: Some(Symbol::from("utf-8")),
            ..Properties::default()
        })
        .application_properties(
            ApplicationProperties::builder()
                .insert("iothub-outputname", output)
                .insert("alert", "true")
                .build(),
        )
        .data(Binary::from(body.as_bytes().to_vec()))
        .build()
}

/// A twin request as `amqp_twin_client.ts` sends it.
fn twin_request(operation: &str, correlation: &str, body: &str) -> Message<Data> {
    let mut annotations = MessageAnnotations::builder().insert(
        OwnedKey::Symbol(Symbol::from("operation")),
        Value::String(operation.into()),
    );
    if operation == "PATCH" {
        annotations = annotations.insert(
            OwnedKey::Symbol(Symbol::from("resource")),
            Value::String("/properties/reported".into()),
        );
    }
    Message::builder()
        .properties(Properties {
            correlation_id: Some(MessageId::String(correlation.into())),
            ..Properties::default()
        })
        .message_annotations(annotations.build())
        .data(Binary::from(body.as_bytes().to_vec()))
        .build()
}

fn status_of(m: &Message<Body<Value>>) -> Option<Value> {
    m.message_annotations
        .as_ref()?
        .0
        .get(&OwnedKey::Symbol(Symbol::from("status")))
        .cloned()
}

fn data_of(m: &Message<Body<Value>>) -> Vec<u8> {
    match &m.body {
        Body::Data(batch) => batch.iter().flat_map(|d| d.0.iter().copied()).collect(),
        other => panic!("the reply body is not a data section: {other:?}"),
    }
}

#[tokio::test]
async fn a_node_module_authenticates_reads_its_twin_reports_and_sends_over_amqp() {
    let h = hub_for(Service::Amqp).await;
    let id = identity();
    let mut c = client(&h, None).await;
    let (_, status) = c.put_token(&sas(&h.key, &id, now() + 3600)).await;
    assert_eq!(status, SimpleValue::Int(200), "status-code is an int 200");

    // Telemetry on output1.
    let mut events = Sender::builder()
        .name("rheaSender_events")
        .target(module_path(&id, "messages/events"))
        .properties(link_properties(&[]))
        .attach(&mut c.session)
        .await
        .unwrap();
    for t in [21, 22] {
        events
            .send(output_message(
                "output1",
                &format!("{{\"temperature\":{t}}}"),
            ))
            .await
            .unwrap();
    }

    // The twin: a sender and a receiver paired by channel-correlation-id; GET, then PATCH.
    let twin_props = [
        ("com.microsoft:channel-correlation-id", "twin:6a1c"),
        ("com.microsoft:api-version", "2021-04-12"),
    ];
    let twin_address = format!(
        "amqps://{GATEWAY}/devices/{}/modules/{}/twin",
        id.device, id.module
    );
    let mut twin_tx = Sender::builder()
        .name("rheaSender_twin")
        .target(twin_address.clone())
        .properties(link_properties(&twin_props))
        .sender_settle_mode(fe2o3_amqp::types::definitions::SenderSettleMode::Settled)
        .attach(&mut c.session)
        .await
        .unwrap();
    let mut twin_rx = Receiver::builder()
        .name("rheaReceiver_twin")
        .source(twin_address)
        .properties(link_properties(&twin_props))
        .attach(&mut c.session)
        .await
        .unwrap();
    twin_tx
        .send(twin_request("GET", "c-get", " "))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), twin_rx.recv::<Body<Value>>())
        .await
        .expect("a twin reply")
        .unwrap();
    twin_rx.accept(&got).await.unwrap();
    let m = got.message();
    assert_eq!(
        m.properties.as_ref().unwrap().correlation_id,
        Some(MessageId::String("c-get".into())),
        "the correlation id comes back as the string it was"
    );
    assert_eq!(status_of(m), Some(Value::Int(200)));
    let twin: serde_json::Value = serde_json::from_slice(&data_of(m)).unwrap();
    assert_eq!(twin["desired"]["threshold"], 45);
    assert_eq!(twin["desired"]["$version"], 1);
    assert_eq!(twin["reported"]["$version"], 1);

    twin_tx
        .send(twin_request("PATCH", "c-patch", r#"{"started":true}"#))
        .await
        .unwrap();
    let patched = tokio::time::timeout(Duration::from_secs(10), twin_rx.recv::<Body<Value>>())
        .await
        .expect("a patch reply")
        .unwrap();
    twin_rx.accept(&patched).await.unwrap();
    assert_eq!(status_of(patched.message()), Some(Value::Int(204)));

    // A patch that is not an object: 400 with a JSON body (the SDK parses it).
    twin_tx
        .send(twin_request("PATCH", "c-bad", "[1]"))
        .await
        .unwrap();
    let bad = tokio::time::timeout(Duration::from_secs(10), twin_rx.recv::<Body<Value>>())
        .await
        .expect("an error reply")
        .unwrap();
    twin_rx.accept(&bad).await.unwrap();
    assert_eq!(status_of(bad.message()), Some(Value::Int(400)));
    serde_json::from_slice::<serde_json::Value>(&data_of(bad.message()))
        .expect("an error reply's body is JSON");

    // Listening for desired properties (PUT, as `twin.on('properties.desired')` sends it): 200,
    // then one patch without a correlation id, under the next $version.
    let mut put = twin_request("PUT", "c-put", " ");
    put.message_annotations.as_mut().unwrap().0.insert(
        OwnedKey::Symbol(Symbol::from("resource")),
        Value::String("/notifications/twin/properties/desired".into()),
    );
    twin_tx.send(put).await.unwrap();
    let mut got_put = false;
    let mut patch = None;
    for _ in 0..2 {
        let m = tokio::time::timeout(Duration::from_secs(10), twin_rx.recv::<Body<Value>>())
            .await
            .expect("a twin message")
            .unwrap();
        twin_rx.accept(&m).await.unwrap();
        let correlation = m
            .message()
            .properties
            .as_ref()
            .and_then(|p| p.correlation_id.clone());
        match correlation {
            Some(id) => {
                assert_eq!(id, MessageId::String("c-put".into()));
                assert_eq!(status_of(m.message()), Some(Value::Int(200)));
                got_put = true;
            }
            None => {
                patch = Some(
                    serde_json::from_slice::<serde_json::Value>(&data_of(m.message())).unwrap(),
                )
            }
        }
    }
    assert!(got_put);
    assert_eq!(patch, Some(json!({"threshold": 45, "$version": 2})));

    let seen = h.hub.observed();
    let connected = seen.connected().expect("an accepted connection");
    assert_eq!(connected.protocol, Protocol::Amqp);
    assert_eq!(connected.client_type.as_deref(), Some(UA));
    assert_eq!(connected.client_id, "edgecert-device/tempfilter");
    assert_eq!(seen.twin_reads, 1);
    assert_eq!(seen.desired_patches, 1);
    assert_eq!(seen.reported, vec![json!({"started": true})]);
    assert_eq!(seen.outputs.get("output1"), Some(&2));
    let sample = &seen.samples["output1"][0];
    assert_eq!(sample.body, r#"{"temperature":21}"#);
    assert_eq!(
        sample.properties.get("alert").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        sample
            .system_properties
            .get("contentType")
            .map(String::as_str),
        Some("application/json")
    );
    assert!(
        !sample.properties.contains_key("iothub-outputname"),
        "the output name is not an application property on the route's side"
    );
    assert!(
        seen.protocol_errors.is_empty(),
        "{:?}",
        seen.protocol_errors
    );
    let _ = c.session.end().await;
    let _ = c.connection.close().await;
}

#[tokio::test]
async fn a_bad_token_gets_its_put_token_answered_and_its_links_refused_with_the_reason() {
    let h = hub_for(Service::Amqp).await;
    let id = identity();
    let mut c = client(&h, None).await;
    // Signed with another key: edgeHub answers 200 and judges at the first link.
    let (_, status) = c
        .put_token(&sas(b"not the module key", &id, now() + 3600))
        .await;
    assert_eq!(status, SimpleValue::Int(200));
    let attached = Sender::builder()
        .name("rheaSender_events")
        .target(module_path(&id, "messages/events"))
        .properties(link_properties(&[]))
        .attach(&mut c.session)
        .await;
    // The link is attached and closed at once with amqp:unauthorized-access; a send fails.
    if let Ok(mut events) = attached {
        let sent = tokio::time::timeout(
            Duration::from_secs(10),
            events.send(output_message("output1", "{}")),
        )
        .await
        .expect("the send ends");
        assert!(sent.is_err(), "a refused link takes no message");
    }
    let seen = h.hub.observed();
    assert!(seen.connected().is_none());
    let refused = seen.connections[0].refused.as_deref().unwrap();
    assert!(refused.contains("signature does not verify"), "{refused}");
    assert_eq!(seen.connections[0].client_type.as_deref(), Some(UA));
    assert!(seen.outputs.is_empty());

    // Another module's address is refused even with a good token.
    let mut c2 = client(&h, None).await;
    c2.put_token(&sas(&h.key, &id, now() + 3600)).await;
    let other = Sender::builder()
        .name("rheaSender_other")
        .target("/devices/edgecert-device/modules/someoneelse/messages/events")
        .attach(&mut c2.session)
        .await;
    if let Ok(mut other) = other {
        let sent = tokio::time::timeout(
            Duration::from_secs(10),
            other.send(output_message("output1", "{}")),
        )
        .await
        .expect("the send ends");
        assert!(sent.is_err());
    }
    let seen = h.hub.observed();
    assert!(
        seen.protocol_errors
            .iter()
            .any(|e| e.contains("someoneelse") && e.contains("not edgecert-device/someoneelse")),
        "{:?}",
        seen.protocol_errors
    );
}

#[tokio::test]
async fn sasl_clients_connect_with_anonymous_and_authenticate_with_cbs() {
    let h = hub_for(Service::Amqp).await;
    let id = identity();
    let mut c = client(&h, Some(SaslProfile::Anonymous)).await;
    let (_, status) = c.put_token(&sas(&h.key, &id, now() + 3600)).await;
    assert_eq!(status, SimpleValue::Int(200));
    let seen = h.hub.observed();
    assert_eq!(seen.connected().map(|c| c.protocol), Some(Protocol::Amqp));
}

#[tokio::test]
async fn a_client_that_speaks_no_amqp_after_tls_is_recorded() {
    let h = hub_for(Service::Amqp).await;
    let mut stream = tls(h.addr, h.ca.der()).await.unwrap();
    stream.write_all(b"MQTT\x04\x00\x00\x00").await.unwrap();
    stream.flush().await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    let seen = h.hub.observed();
    assert!(
        seen.protocol_errors
            .iter()
            .any(|e| e.contains("not AMQP 1.0")),
        "{:?}",
        seen.protocol_errors
    );
}

/// A stream that keeps a copy of what is written to it, write by write (frame by frame).
#[derive(Debug)]
struct Tee<S> {
    inner: S,
    written: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tee<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tee<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        self.written.lock().unwrap().push(buf[..n].to_vec());
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What a Node-like client writes in a whole session (put-token, an output message), write by
/// write, recorded against the stand-in itself without TLS.
async fn recorded_session(hub: &EdgeHub, key: &[u8]) -> Vec<Vec<u8>> {
    let id = identity();
    let (client_side, server_side) = tokio::io::duplex(1 << 16);
    let serving = tokio::spawn({
        let hub = hub.clone();
        async move { hub.amqp_connection(server_side).await }
    });
    let written = Arc::new(Mutex::new(Vec::new()));
    let tee = Tee {
        inner: client_side,
        written: written.clone(),
    };
    let mut connection = AmqpConnection::builder()
        .container_id("recorder")
        .hostname(GATEWAY)
        .open_with_stream(tee)
        .await
        .unwrap();
    let mut session = Session::begin(&mut connection).await.unwrap();
    let mut c = Client {
        connection,
        session,
    };
    c.put_token(&sas(key, &id, now() + 3600)).await;
    session = c.session;
    connection = c.connection;
    let mut events = Sender::builder()
        .name("rheaSender_events")
        .target(module_path(&id, "messages/events"))
        .properties(link_properties(&[]))
        .attach(&mut session)
        .await
        .unwrap();
    events
        .send(output_message("output1", r#"{"temperature":1}"#))
        .await
        .unwrap();
    let _ = events.close().await;
    let _ = session.end().await;
    let _ = connection.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), serving).await;
    written.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_amqp_bytes_end_the_connection_without_a_panic() {
    let ca = RunCa::new("fuzz").unwrap();
    let key = b"0123456789abcdef0123456789abcdef".to_vec();
    let hub = EdgeHub::new(identity(), GATEWAY, &key, &ca, json!({})).unwrap();
    let writes = recorded_session(&hub, &key).await;
    let valid: Vec<u8> = writes.concat();
    assert!(valid.len() > 200, "a whole session was recorded");
    // Where the client's writes ended: a replay sends the same pieces with a pause between
    // them, as the client waited for the stand-in's answers (attach before transfer, credit).
    let cuts: Vec<usize> = writes
        .iter()
        .scan(0, |end, w| {
            *end += w.len();
            Some(*end)
        })
        .collect();
    let before = hub.observed();
    assert_eq!(
        before.outputs.get("output1"),
        Some(&1),
        "the recording itself worked"
    );

    // Seeded, so a failure reproduces.
    let mut rng = edgecert_fixtures::rng::Rng::new(10);
    let mut next = move || rng.next_u64();
    let rounds = 300;
    for round in 0..rounds {
        let input: Vec<u8> = if round % 50 == 7 {
            // The recorded session replayed as is: the harness itself must work.
            valid.clone()
        } else if round % 3 == 0 {
            // A valid header, then noise.
            let len = (next() % 300) as usize;
            let mut m = b"AMQP\x00\x01\x00\x00".to_vec();
            m.extend((0..len).map(|_| next() as u8));
            m
        } else {
            let mut m = valid.clone();
            // Mutations past the header, to reach the frames.
            for _ in 0..1 + next() % 4 {
                let i = 8 + (next() as usize) % (m.len() - 8);
                m[i] = next() as u8;
            }
            if round % 2 == 0 {
                m.truncate(8 + (next() as usize) % (m.len() - 7));
            }
            m
        };
        let (client, server) = tokio::io::duplex(1 << 16);
        let serving = tokio::spawn({
            let hub = hub.clone();
            async move { hub.amqp_connection(server).await }
        });
        let (mut reader, mut writer) = tokio::io::split(client);
        // Drain what the stand-in answers so it never blocks on a full pipe.
        let drain = tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut sink)).await;
        });
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&usize::MAX)) {
            let to = cut.min(input.len());
            if to > from {
                if writer.write_all(&input[from..to]).await.is_err() {
                    break;
                }
                from = to;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
        let _ = writer.shutdown().await;
        let _ = drain.await;
        let ended = tokio::time::timeout(Duration::from_secs(10), serving).await;
        let joined = ended.unwrap_or_else(|_| panic!("round {round}: the connection hung"));
        if let Err(e) = joined {
            panic!("round {round}: the connection panicked: {e}");
        }
    }
    // The replays of the whole session got through: put-token, attach, transfer.
    let seen = hub.observed();
    assert!(
        seen.outputs.get("output1").copied().unwrap_or(0) > rounds / 50,
        "{:?}",
        seen.outputs
    );
}

/// An amqp-value body that is not a string: a put-token the stand-in answers 400.
#[tokio::test]
async fn a_put_token_without_a_string_token_is_answered_400() {
    let h = hub_for(Service::Amqp).await;
    let mut c = client(&h, None).await;
    let mut sender = Sender::builder()
        .name("cbs-tx")
        .target("$cbs")
        .attach(&mut c.session)
        .await
        .unwrap();
    let mut receiver = Receiver::builder()
        .name("cbs-rx")
        .source("$cbs")
        .attach(&mut c.session)
        .await
        .unwrap();
    let request = Message::builder()
        .properties(Properties {
            message_id: Some(MessageId::Ulong(7)),
            ..Properties::default()
        })
        .application_properties(
            ApplicationProperties::builder()
                .insert("operation", "put-token")
                .insert("type", "servicebus.windows.net:sastoken")
                .insert("name", "x")
                .build(),
        )
        .body(AmqpValue(Value::Int(42)))
        .build();
    sender.send(request).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), receiver.recv::<Body<Value>>())
        .await
        .expect("a reply")
        .unwrap();
    receiver.accept(&reply).await.unwrap();
    let m = reply.message();
    assert_eq!(
        m.properties.as_ref().unwrap().correlation_id,
        Some(MessageId::Ulong(7)),
        "the id keeps its type"
    );
    assert_eq!(
        m.application_properties
            .as_ref()
            .unwrap()
            .0
            .get("status-code"),
        Some(&SimpleValue::Int(400))
    );
    assert!(h.hub.observed().connected().is_none());
}
