//! MQTT and AMQP over WebSockets (TLS on 443, `/$iothub/websocket`) as the SDKs' `MqttWs` and
//! `AmqpWs` transports speak them: the upgrade with the subprotocol, then the same sessions.

use fe2o3_amqp::types::primitives::SimpleValue;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::amqp::{Client, amqp_client_over};
use super::*;
use crate::edgehub::websocket::{PATH, bridge};

/// TLS, then the upgrade of `path` offering `subprotocol`; the connection as a byte stream.
async fn upgraded(
    h: &Hub,
    path: &str,
    subprotocol: &str,
) -> Result<tokio::io::DuplexStream, String> {
    let tls = tls(h.addr, h.ca.der()).await.unwrap();
    let mut request = format!("wss://{GATEWAY}{path}")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(subprotocol).unwrap(),
    );
    let (ws, response) = tokio_tungstenite::client_async(request, tls)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        subprotocol,
        "the server names the subprotocol it chose"
    );
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    tokio::spawn(bridge(ws, theirs));
    Ok(ours)
}

#[tokio::test]
async fn mqtt_over_websockets_connects_reads_the_twin_and_sends() {
    let h = hub_for(Service::WebSocket).await;
    let id = identity();
    let mut s = upgraded(&h, PATH, "mqtt").await.unwrap();
    let mut buf = BytesMut::new();
    let token = sas(&h.key, &id, now() + 3600);
    let mut out = BytesMut::new();
    connect("edgecert-device/tempfilter", &python_username(&id), &token)
        .write(&mut out, MAX_PACKET)
        .unwrap();
    Packet::Subscribe(Subscribe::new("$iothub/twin/res/#", QoS::AtLeastOnce))
        .write(&mut out, MAX_PACKET)
        .unwrap();
    publish("$iothub/twin/GET/?$rid=1", " ", 2)
        .write(&mut out, MAX_PACKET)
        .unwrap();
    publish(
        "devices/edgecert-device/modules/tempfilter/messages/events/%24.on=output1",
        "{}",
        3,
    )
    .write(&mut out, MAX_PACKET)
    .unwrap();
    s.write_all(&out).await.unwrap();
    // CONNACK, SUBACK, PUBACK + twin, PUBACK.
    let mut twin = None;
    for _ in 0..5 {
        let mut chunk = [0u8; 4096];
        let packet = loop {
            match Packet::read(&mut buf, MAX_PACKET) {
                Ok(p) => break p,
                Err(MqttError::InsufficientBytes(_)) => {
                    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
                        .await
                        .expect("an answer")
                        .unwrap();
                    assert!(n > 0, "the stand-in closed the connection");
                    buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) => panic!("{e:?}"),
            }
        };
        if let Packet::Publish(p) = packet {
            twin = Some(p);
        }
    }
    let twin: serde_json::Value = serde_json::from_slice(&twin.unwrap().payload).unwrap();
    assert_eq!(twin["desired"]["threshold"], 45);
    let seen = h.hub.observed();
    assert_eq!(seen.connected().map(|c| c.protocol), Some(Protocol::MqttWs));
    assert_eq!(Protocol::MqttWs.name(), "MQTT over WebSockets");
    assert_eq!(seen.outputs.get("output1"), Some(&1));
}

#[tokio::test]
async fn amqp_over_websockets_authenticates_with_cbs() {
    let h = hub_for(Service::WebSocket).await;
    let id = identity();
    let stream = upgraded(&h, PATH, "AMQPWSB10").await.unwrap();
    let mut c: Client = amqp_client_over(stream).await;
    let (_, status) = c.put_token(&sas(&h.key, &id, now() + 3600)).await;
    assert_eq!(status, SimpleValue::Int(200));
    let seen = h.hub.observed();
    assert_eq!(seen.connected().map(|c| c.protocol), Some(Protocol::AmqpWs));
}

#[tokio::test]
async fn upgrades_elsewhere_or_without_a_known_subprotocol_are_refused_and_recorded() {
    let h = hub_for(Service::WebSocket).await;
    let wrong_path = upgraded(&h, "/socket", "mqtt").await;
    assert!(wrong_path.unwrap_err().contains("404"));
    let wrong_protocol = upgraded(&h, PATH, "stomp").await;
    assert!(wrong_protocol.unwrap_err().contains("400"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = h.hub.observed();
    assert!(seen.connected().is_none());
    let errors = seen.protocol_errors.join("\n");
    assert!(
        errors.contains("/socket is not /$iothub/websocket"),
        "{errors}"
    );
    assert!(
        errors.contains("edgeHub speaks `mqtt` and `AMQPWSB10`"),
        "{errors}"
    );
}
