//! MQTT and AMQP over WebSockets, as edgeHub serves them on 443: TLS (the run's certificate),
//! then an HTTP upgrade of `GET /$iothub/websocket` with the subprotocol `mqtt` or `AMQPWSB10`,
//! then the protocol's bytes in binary WebSocket messages. The SDKs use it when told to (Node's
//! `MqttWs` / `AmqpWs`, Python's `websockets=True`, .NET's `*_WebSocket_Only`), typically
//! behind proxies that pass only HTTPS. The bytes inside are the same sessions as on 8883 and
//! 5671 ([`EdgeHub::session`], [`EdgeHub::amqp_connection`]), recorded in the same `Observed`.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

use super::{EdgeHub, MAX_PACKET, Protocol};

/// The path the SDKs upgrade.
pub const PATH: &str = "/$iothub/websocket";

impl EdgeHub {
    /// One WebSocket client: TLS, the upgrade, then an MQTT session or an AMQP connection over
    /// the WebSocket's binary messages; what went wrong is recorded.
    pub async fn serve_websocket_stream<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Debug + Send + Unpin + 'static,
    {
        let Some(tls) = self.handshake(stream).await else {
            return;
        };
        let chosen = Arc::new(Mutex::new(None));
        let choose = {
            let chosen = chosen.clone();
            // The signature is tungstenite's callback's.
            #[allow(clippy::result_large_err)]
            move |request: &Request, response: Response| upgrade(request, response, &chosen)
        };
        let ws = match tokio::time::timeout(
            Duration::from_secs(30),
            tokio_tungstenite::accept_hdr_async(tls, choose),
        )
        .await
        {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                let why = chosen
                    .lock()
                    .ok()
                    .and_then(|c| c.clone())
                    .and_then(Result::err)
                    .unwrap_or_else(|| e.to_string());
                self.note(|o| o.protocol_errors.push(format!("WebSocket upgrade: {why}")));
                return;
            }
            Err(_) => {
                self.note(|o| {
                    o.protocol_errors
                        .push("WebSocket upgrade: no request within 30 s".into())
                });
                return;
            }
        };
        let protocol = chosen
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .and_then(Result::ok);
        let Some(protocol) = protocol else {
            return;
        };
        let (ours, theirs) = tokio::io::duplex(2 * MAX_PACKET);
        let bridge = tokio::spawn(bridge(ws, theirs));
        let ended = match protocol {
            Protocol::Amqp | Protocol::AmqpWs => {
                self.amqp_connection_as(ours, Protocol::AmqpWs).await
            }
            Protocol::Mqtt | Protocol::MqttWs => self.session_as(ours, Protocol::MqttWs).await,
        };
        if let Err(e) = ended {
            self.note(|o| o.protocol_errors.push(e));
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), bridge).await;
    }
}

/// The upgrade's answer: the path must be edgeHub's and a subprotocol one it speaks. The
/// choice (or why there is none) is kept in `chosen`.
#[allow(clippy::result_large_err)] // tungstenite's callback type
fn upgrade(
    request: &Request,
    mut response: Response,
    chosen: &Mutex<Option<Result<Protocol, String>>>,
) -> Result<Response, ErrorResponse> {
    let decision = if request.uri().path() != PATH {
        Err((
            StatusCode::NOT_FOUND,
            format!("{} is not {PATH}", request.uri().path()),
        ))
    } else {
        let offered: Vec<String> = request
            .headers()
            .get_all("Sec-WebSocket-Protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_owned())
            .collect();
        if let Some(p) = offered.iter().find(|p| p.eq_ignore_ascii_case("mqtt")) {
            Ok((Protocol::Mqtt, p.clone()))
        } else if let Some(p) = offered.iter().find(|p| p.eq_ignore_ascii_case("AMQPWSB10")) {
            Ok((Protocol::Amqp, p.clone()))
        } else {
            Err((
                StatusCode::BAD_REQUEST,
                format!("subprotocols {offered:?}: edgeHub speaks `mqtt` and `AMQPWSB10`"),
            ))
        }
    };
    let (slot, result) = match decision {
        Ok((protocol, name)) => {
            if let Ok(v) = HeaderValue::from_str(&name) {
                response.headers_mut().insert("Sec-WebSocket-Protocol", v);
            }
            (Ok(protocol), Ok(response))
        }
        Err((status, why)) => {
            let mut refusal = ErrorResponse::new(Some(why.clone()));
            *refusal.status_mut() = status;
            (Err(why), Err(refusal))
        }
    };
    if let Ok(mut c) = chosen.lock() {
        *c = Some(slot);
    }
    result
}

/// Carries bytes between the WebSocket's binary messages and `pipe` until either side ends.
pub(super) async fn bridge<S>(ws: WebSocketStream<S>, pipe: tokio::io::DuplexStream)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut messages) = ws.split();
    let (mut from_session, mut to_session) = tokio::io::split(pipe);
    let up = async {
        while let Some(Ok(message)) = messages.next().await {
            match message {
                Message::Binary(bytes) => {
                    if to_session.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                // Pings are answered by tungstenite; text is not how the SDKs frame packets.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                Message::Text(_) | Message::Close(_) => break,
            }
        }
        let _ = to_session.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from_session.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink
                        .send(Message::Binary(buf[..n].to_vec().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    };
    tokio::join!(up, down);
}
