//! The edgeHub stand-in over AMQP 1.0, TLS on 5671, as edgeHub serves one module there
//! (`docs/design/amqp-standin-research.md` has the protocol with its sources). The Node SDK's
//! `azure-iot-device-amqp` and the .NET SDK's default transport speak it; the Python SDK has no
//! AMQP.
//!
//! - TLS is ours (the run's certificate, as on 8883). After it the client sends `AMQP 0 1 0 0`
//!   (rhea, the Node SDK's engine: no SASL layer) or `AMQP 3 1 0 0` (SASL: `MSSBCBS` or
//!   `ANONYMOUS`, both accepted as edgeHub does). fe2o3-amqp fixes SASL-or-not by the
//!   acceptor's type, so the first eight bytes are read here, and replayed to the acceptor
//!   that fits.
//! - Authentication is CBS: a `put-token` request on a link to `$cbs` with the SAS token as an
//!   amqp-value string. Like edgeHub, any parseable token gets 200 at once; the signature is
//!   judged ([`super::verify_sas`]) when a link for the module attaches, which a module with a
//!   bad token sees refused (`amqp:unauthorized-access`), and the stand-in records why.
//! - Links by address (case-insensitive, `amqps://host` and a missing leading `/` allowed):
//!   `…/messages/events` (telemetry; the output name in the application property
//!   `iothub-outputname`), `…/twin` (annotation `operation` GET / PATCH / PUT / DELETE,
//!   answered with a data body and an int `status` annotation), `…/methods/devicebound`. The
//!   module's product info is the `com.microsoft:client-version` link property.
//! - Replies keep the request's id as it came (a string stays a string): the Node SDK
//!   compares them with `===`, and a reply it does not recognise is a hang, not an error.
//!
//! A module is untrusted: frames are decoded by fe2o3-amqp, messages are capped at edgeHub's
//! 1 MiB, and anything the stand-in refuses is recorded with the reason.

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use edgecert_engine::facts::SentMessage;
use fe2o3_amqp::acceptor::sasl_acceptor::SaslServerFrame;
use fe2o3_amqp::acceptor::{
    ConnectionAcceptor, LinkAcceptor, LinkEndpoint, ListenerSessionHandle, SaslAcceptor,
    SessionAcceptor,
};
use fe2o3_amqp::link::{Receiver, Sender};
use fe2o3_amqp::types::definitions::{self, AmqpError, Role};
use fe2o3_amqp::types::messaging::annotations::OwnedKey;
use fe2o3_amqp::types::messaging::{
    AmqpValue, ApplicationProperties, Body, Data, Message, MessageAnnotations, MessageId,
    Properties,
};
use fe2o3_amqp::types::primitives::{Array, Binary, SimpleValue, Symbol, Value};
use fe2o3_amqp::types::sasl::{SaslCode, SaslInit, SaslOutcome, SaslResponse};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

use super::{Connection, EdgeHub, Observed, Protocol, percent_decode, verify_sas};

/// edgeHub's largest message on a link (`Constants.AmqpMaxMessageSize`).
const MAX_MESSAGE: u64 = 1024 * 1024;

/// The protocol headers: plain AMQP, and AMQP under SASL.
const AMQP_HEADER: [u8; 8] = *b"AMQP\x00\x01\x00\x00";
const SASL_HEADER: [u8; 8] = *b"AMQP\x03\x01\x00\x00";

/// The twin resource a module subscribes to desired-property updates with (PUT).
const DESIRED_RESOURCE: &str = "/notifications/twin/properties/desired";

/// The link property carrying the SDK's user agent and product info.
const CLIENT_VERSION: &str = "com.microsoft:client-version";

impl EdgeHub {
    /// One AMQP client: the TLS handshake, the protocol header, then its connection until it
    /// closes; what went wrong is recorded.
    pub async fn serve_amqp_stream<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Debug + Send + Unpin + 'static,
    {
        let Some(tls) = self.handshake(stream).await else {
            return;
        };
        if let Err(e) = self.amqp_connection(tls).await {
            self.note(|o| o.protocol_errors.push(e));
        }
    }

    /// One AMQP connection over an established (TLS) stream. `Err`: a protocol error.
    pub async fn amqp_connection<S>(&self, stream: S) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Debug + Send + Unpin + 'static,
    {
        self.amqp_connection_as(stream, Protocol::Amqp).await
    }

    /// [`Self::amqp_connection`], recorded as `protocol` (AMQP, or AMQP over WebSockets).
    pub(super) async fn amqp_connection_as<S>(
        &self,
        mut stream: S,
        protocol: Protocol,
    ) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Debug + Send + Unpin + 'static,
    {
        let mut header = [0u8; 8];
        tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut header))
            .await
            .map_err(|_| "AMQP: no protocol header within 30 s".to_owned())?
            .map_err(|e| format!("AMQP: reading the protocol header: {e}"))?;
        let io = Replay {
            head: header.to_vec(),
            inner: stream,
        };
        let name = format!("edgecert-edgehub-{}", self.inner.gateway);
        let mut connection = match header {
            AMQP_HEADER => ConnectionAcceptor::builder()
                .container_id(name)
                .hostname(self.inner.gateway.clone())
                .build()
                .accept(io)
                .await
                .map_err(|e| format!("AMQP: opening the connection: {e}"))?,
            SASL_HEADER => ConnectionAcceptor::builder()
                .container_id(name)
                .hostname(self.inner.gateway.clone())
                .sasl_acceptor(EdgeSasl)
                .build()
                .accept(io)
                .await
                .map_err(|e| format!("AMQP: opening the connection (SASL): {e}"))?,
            other => {
                return Err(format!(
                    "AMQP: the protocol header {} is not AMQP 1.0 (`AMQP 0 1 0 0` or `AMQP 3 1 0 0`)",
                    other.escape_ascii()
                ));
            }
        };
        let state = Arc::new(ConnState {
            protocol,
            ..ConnState::default()
        });
        let mut sessions = tokio::task::JoinSet::new();
        // A session per Begin; the SDKs open one.
        while let Ok(session) = SessionAcceptor::new().accept(&mut connection).await {
            let hub = self.clone();
            let state = state.clone();
            sessions.spawn(async move { hub.amqp_session(session, state).await });
        }
        sessions.abort_all();
        Ok(())
    }

    /// Links as they attach, each served on its own task.
    async fn amqp_session(&self, mut session: ListenerSessionHandle, state: Arc<ConnState>) {
        let acceptor = LinkAcceptor::builder()
            .max_message_size(MAX_MESSAGE)
            .build();
        let mut links = tokio::task::JoinSet::new();
        while let Some(attach) = session.next_incoming_attach().await {
            let client_sends = attach.role == Role::Sender;
            let address = if client_sends {
                attach.target.as_deref().and_then(|t| match t {
                    fe2o3_amqp::types::messaging::TargetArchetype::Target(t) => t.address.clone(),
                    #[allow(unreachable_patterns)]
                    _ => None,
                })
            } else {
                attach.source.as_ref().and_then(|s| s.address.clone())
            }
            .unwrap_or_default();
            if let Some(version) = attach
                .properties
                .as_ref()
                .and_then(|p| p.get(&Symbol::from(CLIENT_VERSION)))
                .and_then(value_string)
            {
                self.client_version(&state, version);
            }
            let link_name = attach.name.clone();
            let Ok(link) = acceptor.accept_incoming_attach(attach, &mut session).await else {
                self.note(|o| {
                    o.protocol_errors.push(format!(
                        "AMQP: link {link_name:?} to {address:?} did not attach"
                    ))
                });
                continue;
            };
            let kind = match self.link_kind(&address) {
                Ok(kind) => kind,
                Err((condition, why)) => {
                    self.note(|o| o.protocol_errors.push(format!("AMQP: {why}")));
                    links.spawn(refuse(link, condition, why));
                    continue;
                }
            };
            if kind != Kind::Cbs
                && let Err(why) = self.authorized(&state, &address)
            {
                links.spawn(refuse(link, AmqpError::UnauthorizedAccess, why));
                continue;
            }
            let hub = self.clone();
            let state = state.clone();
            match (kind, link) {
                (Kind::Cbs, LinkEndpoint::Receiver(r)) => {
                    links.spawn(async move { hub.cbs(r, &state).await });
                }
                (Kind::Events, LinkEndpoint::Receiver(r)) => {
                    links.spawn(async move { hub.telemetry(r).await });
                }
                (Kind::Twin, LinkEndpoint::Receiver(r)) => {
                    links.spawn(async move { hub.twin_requests(r, &state).await });
                }
                (Kind::Methods, LinkEndpoint::Receiver(r)) => {
                    links.spawn(async move { hub.method_responses(r).await });
                }
                (kind, LinkEndpoint::Sender(s)) => {
                    // The server's side of a reply or delivery link: it sends what the
                    // receiving loops queue for it.
                    let queue = state.queue(kind).take_receiver();
                    links.spawn(async move { pump(s, queue).await });
                }
            }
        }
        links.abort_all();
    }

    /// Which link an address is, for this module; `Err`: the condition and why it is refused.
    fn link_kind(&self, address: &str) -> Result<Kind, (AmqpError, String)> {
        let path = normalize(address);
        if path.eq_ignore_ascii_case("/$cbs") {
            return Ok(Kind::Cbs);
        }
        let id = &self.inner.identity;
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let kind = match parts.as_slice() {
            ["devices", _, "modules", _, "messages", "events"] => Kind::Events,
            ["devices", _, "modules", _, "twin"] => Kind::Twin,
            ["devices", _, "modules", _, "methods", "devicebound"] => Kind::Methods,
            _ => {
                return Err((
                    AmqpError::NotFound,
                    format!("a link to {address:?}: not an address edgeHub serves a module"),
                ));
            }
        };
        let (device, module) = (percent_decode(parts[1]), percent_decode(parts[3]));
        if !device.eq_ignore_ascii_case(&id.device) || !module.eq_ignore_ascii_case(&id.module) {
            return Err((
                AmqpError::UnauthorizedAccess,
                format!(
                    "a link to {address:?}: the module is {}/{}, not {device}/{module}",
                    id.device, id.module
                ),
            ));
        }
        Ok(kind)
    }

    /// Whether the connection's token lets a link for the module attach; records the refusal.
    fn authorized(&self, state: &ConnState, address: &str) -> Result<(), String> {
        let verdict = lock(&state.token).clone();
        let why = match verdict {
            Token::Valid => return Ok(()),
            Token::None => format!(
                "a link to {address:?} before any put-token on $cbs: the connection is not authenticated"
            ),
            Token::Invalid(e) => format!("a link to {address:?} with a rejected SAS token: {e}"),
        };
        let mut recorded = lock(&state.refusal_recorded);
        if !*recorded {
            *recorded = true;
            let client_type = lock(&state.client_version).clone();
            let after = self.inner.started.elapsed();
            let why = why.clone();
            self.note(|o| {
                o.connections.push(Connection {
                    after,
                    protocol: state.protocol,
                    client_id: String::new(),
                    client_type,
                    model_id: None,
                    api_version: None,
                    refused: Some(why),
                });
            });
        }
        Err(why)
    }

    /// The SDK's user agent as a link brought it; the first one names the connection.
    fn client_version(&self, state: &ConnState, version: String) {
        let mut known = lock(&state.client_version);
        if known.is_some() {
            return;
        }
        *known = Some(version.clone());
        if let Some(i) = *lock(&state.connection) {
            self.note(|o| {
                if let Some(c) = o.connections.get_mut(i) {
                    c.client_type.get_or_insert(version);
                }
            });
        }
    }

    /// CBS requests: put-token, answered on the `$cbs` reply link.
    async fn cbs(&self, mut receiver: Receiver, state: &ConnState) {
        while let Ok(delivery) = receiver.recv::<Body<Value>>().await {
            let _ = receiver.accept(&delivery).await;
            let message = delivery.message();
            let app = |k: &str| app_string(message, k);
            let request_id = message
                .properties
                .as_ref()
                .and_then(|p| p.message_id.clone());
            let token = match &message.body {
                Body::Value(AmqpValue(Value::String(t))) => Some(t.clone()),
                _ => None,
            };
            let well_formed = app("operation").is_some_and(|o| o.eq_ignore_ascii_case("put-token"))
                && app("type").is_some_and(|t| {
                    t.eq_ignore_ascii_case("servicebus.windows.net:sastoken")
                        || t.eq_ignore_ascii_case("azure-devices.net:sastoken")
                })
                && app("name").is_some_and(|n| !n.is_empty());
            let (status, description) = match token {
                Some(token) if well_formed => {
                    self.put_token(state, &token);
                    (200, "OK".to_owned())
                }
                _ => {
                    let why = "a CBS request that is not a put-token (operation `put-token`, \
                               type `servicebus.windows.net:sastoken`, a name, the token as an \
                               amqp-value string)";
                    self.note(|o| o.protocol_errors.push(format!("AMQP: {why}")));
                    (400, why.to_owned())
                }
            };
            let reply = Message::builder()
                .properties(Properties {
                    correlation_id: request_id,
                    ..Properties::default()
                })
                .application_properties(
                    ApplicationProperties::builder()
                        .insert("status-code", SimpleValue::Int(status))
                        .insert("status-description", SimpleValue::String(description))
                        .build(),
                )
                .data(Binary::from(Vec::new()))
                .build();
            state.queue(Kind::Cbs).send(reply);
        }
    }

    /// Judges a put-token's SAS token as edgeHub will at link attach, and records the
    /// connection the first time it is valid.
    fn put_token(&self, state: &ConnState, token: &str) {
        let id = &self.inner.identity;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match verify_sas(token, &self.inner.key, id, &self.inner.gateway, now) {
            Ok(()) => {
                *lock(&state.token) = Token::Valid;
                let mut index = lock(&state.connection);
                if index.is_none() {
                    let client_type = lock(&state.client_version).clone();
                    let after = self.inner.started.elapsed();
                    let client_id = format!("{}/{}", id.device, id.module);
                    self.note(|o| {
                        *index = Some(o.connections.len());
                        o.connections.push(Connection {
                            after,
                            protocol: state.protocol,
                            client_id,
                            client_type,
                            model_id: None,
                            api_version: None,
                            refused: None,
                        });
                    });
                }
            }
            // A renewal with a bad token does not undo an accepted connection's links, but
            // the next link would be refused.
            Err(e) => *lock(&state.token) = Token::Invalid(e),
        }
    }

    /// Telemetry and output messages.
    async fn telemetry(&self, mut receiver: Receiver) {
        while let Ok(delivery) = receiver.recv::<Body<Value>>().await {
            let _ = receiver.accept(&delivery).await;
            let (sample, body) = sent_message(delivery.message());
            self.record_message(sample, &body);
        }
    }

    /// Twin requests, answered on the twin's reply link.
    async fn twin_requests(&self, mut receiver: Receiver, state: &ConnState) {
        while let Ok(delivery) = receiver.recv::<Body<Value>>().await {
            let _ = receiver.accept(&delivery).await;
            let message = delivery.message();
            let operation = annotation_string(message, "operation").unwrap_or_default();
            let (status, body) = match operation.to_ascii_uppercase().as_str() {
                "GET" => {
                    let (desired, reported) = self.twin();
                    self.note(|o| o.twin_reads += 1);
                    (
                        200,
                        json!({ "desired": desired, "reported": reported }).to_string(),
                    )
                }
                "PATCH" => match serde_json::from_slice::<serde_json::Value>(&body_bytes(message)) {
                    Ok(patch) if patch.is_object() => {
                        self.note(|o| o.reported.push(patch));
                        (204, String::new())
                    }
                    _ => (
                        400,
                        json!({ "message": "a reported-properties patch must be a JSON object" })
                            .to_string(),
                    ),
                },
                // Subscribing to and unsubscribing from desired-property notifications.
                "PUT" | "DELETE" => {
                    let resource = annotation_string(message, "resource").unwrap_or_default();
                    self.note(|o| {
                        if operation.eq_ignore_ascii_case("PUT") {
                            o.subscriptions.insert(format!("amqp:{resource}"));
                        } else {
                            o.subscriptions.remove(&format!("amqp:{resource}"));
                        }
                    });
                    (200, String::new())
                }
                _ => {
                    let why = format!("a twin request with operation {operation:?}");
                    self.note(|o| o.protocol_errors.push(format!("AMQP: {why}")));
                    (400, json!({ "message": why }).to_string())
                }
            };
            let correlation = message
                .properties
                .as_ref()
                .and_then(|p| p.correlation_id.clone());
            let reply = Message::builder()
                .properties(Properties {
                    correlation_id: correlation,
                    ..Properties::default()
                })
                .message_annotations(
                    MessageAnnotations::builder()
                        .insert(OwnedKey::Symbol(Symbol::from("status")), Value::Int(status))
                        .build(),
                )
                .data(Binary::from(body.into_bytes()))
                .build();
            state.queue(Kind::Twin).send(reply);
            // A desired-property patch, once the module has read its twin and listens: a
            // message without a correlation id on the twin link.
            let listens = |o: &Observed| {
                o.subscriptions
                    .contains(&format!("amqp:{DESIRED_RESOURCE}"))
            };
            if let Some((patch, _)) = self.desired_patch_due(listens) {
                let message = Message::builder()
                    .properties(Properties::default())
                    .data(Binary::from(patch.to_string().into_bytes()))
                    .build();
                state.queue(Kind::Twin).send(message);
            }
        }
    }

    /// Direct-method responses.
    async fn method_responses(&self, mut receiver: Receiver) {
        while let Ok(delivery) = receiver.recv::<Body<Value>>().await {
            let _ = receiver.accept(&delivery).await;
            self.note(|o| o.method_responses += 1);
        }
    }
}

/// What a link is, by its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cbs,
    Events,
    Twin,
    Methods,
}

/// The verdict on a connection's latest put-token.
#[derive(Debug, Clone, Default)]
enum Token {
    #[default]
    None,
    Valid,
    Invalid(String),
}

/// One AMQP connection's state, shared by its links.
#[derive(Default)]
struct ConnState {
    /// AMQP, or AMQP over WebSockets.
    protocol: Protocol,
    token: Mutex<Token>,
    client_version: Mutex<Option<String>>,
    /// The index in [`Observed::connections`] of this connection's entry, once accepted.
    connection: Mutex<Option<usize>>,
    refusal_recorded: Mutex<bool>,
    cbs: Queue,
    twin: Queue,
    events: Queue,
    methods: Queue,
}

impl ConnState {
    fn queue(&self, kind: Kind) -> &Queue {
        match kind {
            Kind::Cbs => &self.cbs,
            Kind::Twin => &self.twin,
            Kind::Events => &self.events,
            Kind::Methods => &self.methods,
        }
    }
}

/// Messages for the client on one kind of link: queued by whoever answers, sent by the
/// server's sender link for that kind once (and while) it is attached.
struct Queue {
    tx: mpsc::UnboundedSender<Message<Data>>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Message<Data>>>>,
}

impl Default for Queue {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Queue {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl Queue {
    fn send(&self, message: Message<Data>) {
        let _ = self.tx.send(message);
    }

    /// The receiving end, for the first sender link of this kind.
    fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<Message<Data>>> {
        lock(&self.rx).take()
    }
}

/// Sends what is queued for the client on `sender` until the link or the queue ends.
async fn pump(mut sender: Sender, queue: Option<mpsc::UnboundedReceiver<Message<Data>>>) {
    let Some(mut queue) = queue else {
        // A second link of the same kind on one connection: kept open, with nothing to say.
        let _ = sender.on_detach().await;
        return;
    };
    loop {
        tokio::select! {
            message = queue.recv() => {
                let Some(message) = message else { break };
                // Unsettled links wait for the client's disposition; a client that never
                // settles stalls only its own link.
                if sender.send(message).await.is_err() {
                    break;
                }
            }
            _ = sender.on_detach() => break,
        }
    }
}

/// Closes a link the stand-in will not serve, with the condition the module's SDK reports.
async fn refuse(link: LinkEndpoint, condition: AmqpError, why: String) {
    let error = definitions::Error::new(condition, Some(why), None);
    let _ = match link {
        LinkEndpoint::Sender(s) => s.close_with_error(error).await,
        LinkEndpoint::Receiver(r) => r.close_with_error(error).await,
    };
}

/// `amqps://host/x`, `/x` and `x` alike: the path, with its leading `/`.
fn normalize(address: &str) -> String {
    let path = match address.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => address,
    };
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// A message as the routes see it (the output from `iothub-outputname`), and its body.
fn sent_message(message: &Message<Body<Value>>) -> (SentMessage, Vec<u8>) {
    let mut sample = SentMessage::default();
    if let Some(ApplicationProperties(props)) = &message.application_properties {
        for (k, v) in props {
            let Some(v) = simple_string(v) else { continue };
            match k.as_str() {
                "iothub-outputname" => sample.output = v,
                "iothub-message-schema" => {
                    sample.system_properties.insert("messageSchema".into(), v);
                }
                "iothub-creation-time-utc" => {
                    sample.system_properties.insert("creationTimeUtc".into(), v);
                }
                "iothub-operation" => {}
                _ => {
                    sample.properties.insert(k.clone(), v);
                }
            }
        }
    }
    if let Some(p) = &message.properties {
        let system = &mut sample.system_properties;
        if let Some(id) = &p.message_id {
            system.insert("messageId".into(), message_id(id));
        }
        if let Some(id) = &p.correlation_id {
            system.insert("correlationId".into(), message_id(id));
        }
        if let Some(ct) = &p.content_type {
            system.insert("contentType".into(), ct.0.clone());
        }
        if let Some(ce) = &p.content_encoding {
            system.insert("contentEncoding".into(), ce.0.clone());
        }
        if let Some(to) = &p.to {
            system.insert("to".into(), to.clone());
        }
        if let Some(user) = &p.user_id {
            system.insert("userId".into(), String::from_utf8_lossy(user).into_owned());
        }
    }
    (sample, body_bytes(message))
}

/// The body's bytes: data sections concatenated, a string or binary amqp-value as is.
fn body_bytes(message: &Message<Body<Value>>) -> Vec<u8> {
    match &message.body {
        Body::Data(batch) => batch.iter().flat_map(|d| d.0.iter().copied()).collect(),
        Body::Value(AmqpValue(Value::String(s))) => s.clone().into_bytes(),
        Body::Value(AmqpValue(Value::Binary(b))) => b.to_vec(),
        _ => Vec::new(),
    }
}

fn message_id(id: &MessageId) -> String {
    match id {
        MessageId::String(s) => s.clone(),
        MessageId::Ulong(n) => n.to_string(),
        MessageId::Uuid(u) => {
            let b: [u8; 16] = u.clone().into_inner();
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )
        }
        MessageId::Binary(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

fn app_string(message: &Message<Body<Value>>, key: &str) -> Option<String> {
    message
        .application_properties
        .as_ref()
        .and_then(|a| a.0.get(key))
        .and_then(simple_string)
}

fn annotation_string(message: &Message<Body<Value>>, key: &str) -> Option<String> {
    message
        .message_annotations
        .as_ref()
        .and_then(|a| a.0.get(&OwnedKey::Symbol(Symbol::from(key))))
        .and_then(value_string)
}

fn simple_string(v: &SimpleValue) -> Option<String> {
    match v {
        SimpleValue::String(s) => Some(s.clone()),
        SimpleValue::Symbol(s) => Some(s.0.clone()),
        SimpleValue::Bool(b) => Some(b.to_string()),
        SimpleValue::Int(n) => Some(n.to_string()),
        SimpleValue::Long(n) => Some(n.to_string()),
        SimpleValue::Uint(n) => Some(n.to_string()),
        SimpleValue::Ulong(n) => Some(n.to_string()),
        _ => None,
    }
}

fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Symbol(s) => Some(s.0.clone()),
        _ => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// SASL for clients that use it (the .NET and C SDKs): `MSSBCBS` and `ANONYMOUS`, both
/// accepted, as edgeHub does; the module then authenticates with CBS.
#[derive(Debug, Clone)]
struct EdgeSasl;

impl SaslAcceptor for EdgeSasl {
    fn mechanisms(&self) -> Array<Symbol> {
        Array::from(vec![Symbol::from("MSSBCBS"), Symbol::from("ANONYMOUS")])
    }

    fn on_init(&mut self, init: SaslInit) -> SaslServerFrame {
        let code = match init.mechanism.0.as_str() {
            "MSSBCBS" | "ANONYMOUS" => SaslCode::Ok,
            _ => SaslCode::Auth,
        };
        SaslServerFrame::Outcome(SaslOutcome {
            code,
            additional_data: None,
        })
    }

    fn on_response(&mut self, _response: SaslResponse) -> SaslServerFrame {
        SaslServerFrame::Outcome(SaslOutcome {
            code: SaslCode::Auth,
            additional_data: None,
        })
    }
}

/// A stream whose first bytes, already read, are read again.
#[derive(Debug)]
struct Replay<S> {
    head: Vec<u8>,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.remaining());
            buf.put_slice(&self.head[..n]);
            self.head.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
