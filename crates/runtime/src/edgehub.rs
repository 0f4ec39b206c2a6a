//! The edgeHub stand-in (issue 10, second part): MQTT 3.1.1 over TLS on 8883, as edgeHub speaks
//! it to one module — not a pub/sub broker. `docs/design/iotedge-standins.md` §3–§6 has the
//! protocol with its sources; in short:
//!
//! - TLS with a certificate for the gateway host name from the run's CA ([`RunCa`]): a module
//!   that does not trust the workload API's trust bundle fails its handshake, and the stand-in
//!   records that it did.
//! - CONNECT: client id `{device}/{module}` (exactly), username
//!   `{hub}/{device}/{module}/?api-version=…&DeviceClientType=…[&model-id=…]`, password a SAS
//!   token verified as edgeHub verifies it ([`verify_sas`]) with the run's module key. CONNACK
//!   0, or 2 (client id), 4 (bad token), 5 (not authorized).
//! - Twin: `$iothub/twin/GET/?$rid=R` answered on `$iothub/twin/res/200/?$rid=R` with the
//!   offer's default desired properties and `$version`s; reported patches on
//!   `$iothub/twin/PATCH/properties/reported/?$rid=R` recorded and answered 204.
//! - Output messages on `devices/{d}/modules/{m}/messages/events/<property bag>`, the output
//!   name in `$.on` (percent-encoded by the SDKs), counted per output with a few bodies kept.
//! - Subscriptions granted at QoS ≤ 1 and kept per client id across reconnects (the SDKs
//!   reconnect to renew tokens and do not always subscribe again); PINGREQ answered.
//!
//! Everything the module did is [`Observed`]: what the report says about the run. Packets are
//! untrusted input: framed by a maintained codec (rumqttc's `mqttbytes`) with a size limit
//! (IoT Hub's 256 KiB message plus room for the topic), anything else closes the connection
//! with the reason recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::BytesMut;
use edgecert_engine::facts::SentMessage;
use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, Publish, SubAck, SubscribeReasonCode, UnsubAck,
};
use rumqttc::mqttbytes::{Error as MqttError, QoS};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::workload::{ModuleIdentity, RunCa};

/// The largest packet accepted: edgeHub's `MaxInboundMessageSize` (256 KiB) and room for the
/// topic and property bag.
pub const MAX_PACKET: usize = 262_144 + 16_384;

/// Messages kept per output, and bytes per body.
const SAMPLES: usize = 3;
const SAMPLE_BYTES: usize = 4096;

/// What the module did, as the stand-in saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Every CONNECT, accepted or not.
    pub connections: Vec<Connection>,
    /// TLS handshakes that failed (the module does not trust the run's CA, or spoke no TLS).
    pub tls_failures: Vec<String>,
    /// Topic filters subscribed to.
    pub subscriptions: BTreeSet<String>,
    pub twin_reads: u32,
    /// Desired-property patches the stand-in sent the module (one, once it has read its twin
    /// and subscribed to desired-property updates, as a redeployment would).
    pub desired_patches: u32,
    /// Reported-property patches, in order.
    pub reported: Vec<Value>,
    /// Messages per output name (`""`: sent without an output, as device telemetry).
    pub outputs: BTreeMap<String, u64>,
    /// The first messages per output (body lossy UTF-8, cut at 4 KiB).
    pub samples: BTreeMap<String, Vec<SentMessage>>,
    /// Direct-method responses the module sent.
    pub method_responses: u32,
    /// Packets that broke the protocol, with what was wrong (the connection was closed).
    pub protocol_errors: Vec<String>,
}

impl Observed {
    /// The first accepted connection.
    pub fn connected(&self) -> Option<&Connection> {
        self.connections.iter().find(|c| c.refused.is_none())
    }
}

/// One connection attempt: an MQTT CONNECT, or an AMQP connection's CBS put-token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Since the stand-in started.
    pub after: Duration,
    pub protocol: Protocol,
    /// MQTT: the CONNECT's client id; AMQP: `{device}/{module}` of the SAS token's audience.
    pub client_id: String,
    /// The SDK's user agent with the product info glued on: MQTT's `DeviceClientType`
    /// (percent-decoded), AMQP's `com.microsoft:client-version` link property.
    pub client_type: Option<String>,
    pub model_id: Option<String>,
    pub api_version: Option<String>,
    /// Why it was refused; `None` when accepted.
    pub refused: Option<String>,
}

/// How a module reached the stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// MQTT 3.1.1 over TLS on 8883.
    #[default]
    Mqtt,
    /// AMQP 1.0 over TLS on 5671 (`amqp` submodule).
    Amqp,
    /// MQTT over WebSockets, TLS on 443 (`websocket` submodule).
    MqttWs,
    /// AMQP over WebSockets, TLS on 443.
    AmqpWs,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Mqtt => "MQTT",
            Protocol::Amqp => "AMQP",
            Protocol::MqttWs => "MQTT over WebSockets",
            Protocol::AmqpWs => "AMQP over WebSockets",
        }
    }
}

/// The stand-in for one module's run.
#[derive(Debug, Clone)]
pub struct EdgeHub {
    inner: Arc<Inner>,
}

struct Inner {
    identity: ModuleIdentity,
    /// The name modules connect to (`IOTEDGE_GATEWAYHOSTNAME`).
    gateway: String,
    key: Vec<u8>,
    tls: tokio_rustls::TlsAcceptor,
    started: Instant,
    /// The twin's desired properties (the offer's defaults), without `$version`.
    desired: Value,
    observed: Mutex<Observed>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeHub")
            .field("identity", &self.identity)
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

/// Why the stand-in could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("making the edgeHub certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("setting up TLS: {0}")]
    Tls(#[from] rustls::Error),
}

impl EdgeHub {
    /// A stand-in for `identity` reachable as `gateway`, verifying SAS tokens with `key`,
    /// answering twin reads with `desired`.
    pub fn new(
        identity: ModuleIdentity,
        gateway: &str,
        key: &[u8],
        ca: &RunCa,
        desired: Value,
    ) -> Result<EdgeHub, SetupError> {
        // edgeHub's own certificate names: the gateway host name and `edgeHub`.
        let (chain, key_der) =
            ca.server_der(gateway, &[gateway.to_owned(), "edgeHub".to_owned()])?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)?;
        Ok(EdgeHub {
            inner: Arc::new(Inner {
                identity,
                gateway: gateway.to_owned(),
                key: key.to_vec(),
                tls: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
                started: Instant::now(),
                desired,
                observed: Mutex::default(),
            }),
        })
    }

    pub fn observed(&self) -> Observed {
        self.inner
            .observed
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default()
    }

    fn note(&self, f: impl FnOnce(&mut Observed)) {
        if let Ok(mut o) = self.inner.observed.lock() {
            f(&mut o);
        }
    }

    /// Accepts connections on `listener` until `stop` completes; each on its own task.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        tokio::pin!(stop);
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                () = &mut stop => break,
                accepted = listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    let hub = self.clone();
                    tasks.spawn(async move { hub.serve_stream(tcp).await });
                }
            }
        }
        tasks.abort_all();
    }

    /// One client: the TLS handshake, then its MQTT session; what went wrong is recorded.
    pub async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: S) {
        let Some(tls) = self.handshake(stream).await else {
            return;
        };
        if let Err(e) = self.session(tls).await {
            self.note(|o| o.protocol_errors.push(e));
        }
    }

    /// The server side of a TLS handshake with the run's certificate; a failure is recorded.
    async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> Option<tokio_rustls::server::TlsStream<S>> {
        match tokio::time::timeout(Duration::from_secs(30), self.inner.tls.accept(stream)).await {
            Ok(Ok(s)) => Some(s),
            Ok(Err(e)) => {
                self.note(|o| o.tls_failures.push(e.to_string()));
                None
            }
            Err(_) => {
                self.note(|o| o.tls_failures.push("no TLS handshake within 30 s".into()));
                None
            }
        }
    }

    /// One MQTT session: CONNECT first, then packets until DISCONNECT or the end of the stream.
    /// `Err`: a protocol error (recorded by the caller).
    pub async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> Result<(), String> {
        self.session_as(stream, Protocol::Mqtt).await
    }

    /// [`Self::session`], recorded as `protocol` (MQTT, or MQTT over WebSockets).
    async fn session_as<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        protocol: Protocol,
    ) -> Result<(), String> {
        let mut buf = BytesMut::with_capacity(4096);
        let first =
            tokio::time::timeout(Duration::from_secs(30), next_packet(&mut stream, &mut buf))
                .await
                .map_err(|_| "no CONNECT within 30 s".to_owned())?;
        let Some(Packet::Connect(connect)) = first? else {
            return Err("the first packet is not CONNECT".into());
        };
        let keep_alive = connect.keep_alive;
        let (code, connection) = self.judge(&connect, protocol);
        let accepted = code == ConnectReturnCode::Success;
        self.note(|o| o.connections.push(connection));
        send(&mut stream, Packet::ConnAck(ConnAck::new(code, false))).await?;
        if !accepted {
            return Ok(());
        }
        // MQTT 3.1.1: no packet within 1.5 × keep-alive ends the session.
        let idle = match keep_alive {
            0 => Duration::from_secs(3600),
            k => Duration::from_millis(u64::from(k) * 1500),
        };
        loop {
            let packet = match tokio::time::timeout(idle, next_packet(&mut stream, &mut buf)).await
            {
                Err(_) => return Err("keep-alive expired".into()),
                Ok(p) => p?,
            };
            let Some(packet) = packet else {
                return Ok(());
            };
            for answer in self.handle(packet)? {
                send(&mut stream, answer).await?;
            }
            let subscribed = |o: &Observed| {
                o.subscriptions
                    .iter()
                    .any(|f| f.starts_with("$iothub/twin/PATCH/properties/desired/"))
            };
            if let Some(patch) = self.desired_patch_due(subscribed) {
                send(
                    &mut stream,
                    reply(
                        format!(
                            "$iothub/twin/PATCH/properties/desired/?$version={}",
                            patch.1
                        ),
                        patch.0.to_string(),
                    ),
                )
                .await?;
            }
        }
    }

    /// The CONNACK code for a CONNECT, and what to record.
    fn judge(
        &self,
        c: &rumqttc::mqttbytes::v4::Connect,
        protocol: Protocol,
    ) -> (ConnectReturnCode, Connection) {
        let id = &self.inner.identity;
        let mut connection = Connection {
            after: self.inner.started.elapsed(),
            protocol,
            client_id: c.client_id.clone(),
            client_type: None,
            model_id: None,
            api_version: None,
            refused: None,
        };
        let expected = format!("{}/{}", id.device, id.module);
        if c.client_id != expected {
            connection.refused = Some(format!(
                "client id {:?}: edgeHub expects {expected:?}",
                c.client_id
            ));
            return (ConnectReturnCode::BadClientId, connection);
        }
        let Some(login) = &c.login else {
            connection.refused = Some("no user name and password (SAS token)".into());
            return (ConnectReturnCode::NotAuthorized, connection);
        };
        match parse_username(&login.username) {
            Ok(u) => {
                connection.client_type = u.client_type;
                connection.model_id = u.model_id;
                connection.api_version = Some(u.api_version);
                if !u.device.eq_ignore_ascii_case(&id.device)
                    || !u.module.eq_ignore_ascii_case(&id.module)
                {
                    connection.refused = Some(format!(
                        "user name names {}/{}, the client id {expected}",
                        u.device, u.module
                    ));
                    return (ConnectReturnCode::NotAuthorized, connection);
                }
            }
            Err(e) => {
                connection.refused = Some(e);
                return (ConnectReturnCode::NotAuthorized, connection);
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if let Err(e) = verify_sas(
            &login.password,
            &self.inner.key,
            id,
            &self.inner.gateway,
            now,
        ) {
            connection.refused = Some(e);
            return (ConnectReturnCode::BadUserNamePassword, connection);
        }
        (ConnectReturnCode::Success, connection)
    }

    /// What to send back for one packet of an accepted session; `Err` closes it.
    fn handle(&self, packet: Packet) -> Result<Vec<Packet>, String> {
        match packet {
            Packet::Connect(_) => Err("a second CONNECT".into()),
            Packet::PingReq => Ok(vec![Packet::PingResp]),
            Packet::Disconnect => Ok(Vec::new()),
            Packet::Subscribe(s) => {
                let codes = s
                    .filters
                    .iter()
                    .map(|f| {
                        SubscribeReasonCode::Success(match f.qos {
                            QoS::AtMostOnce => QoS::AtMostOnce,
                            _ => QoS::AtLeastOnce,
                        })
                    })
                    .collect();
                self.note(|o| {
                    o.subscriptions
                        .extend(s.filters.iter().map(|f| f.path.clone()))
                });
                Ok(vec![Packet::SubAck(SubAck::new(s.pkid, codes))])
            }
            Packet::Unsubscribe(u) => {
                self.note(|o| {
                    for t in &u.topics {
                        o.subscriptions.remove(t);
                    }
                });
                Ok(vec![Packet::UnsubAck(UnsubAck { pkid: u.pkid })])
            }
            Packet::Publish(p) => {
                let mut out = Vec::new();
                match p.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => out.push(Packet::PubAck(PubAck::new(p.pkid))),
                    QoS::ExactlyOnce => {
                        return Err(format!(
                            "PUBLISH to {} at QoS 2: IoT Hub and edgeHub do not support it",
                            p.topic
                        ));
                    }
                }
                out.extend(self.publish(&p)?);
                Ok(out)
            }
            // Acknowledgements of what the stand-in sent (it sends at QoS 0).
            Packet::PubAck(_) | Packet::PubRec(_) | Packet::PubRel(_) | Packet::PubComp(_) => {
                Ok(Vec::new())
            }
            other => Err(format!(
                "unexpected {:?} from a client",
                packet_name(&other)
            )),
        }
    }

    /// A module's PUBLISH: twin operations, method responses, output messages.
    fn publish(&self, p: &Publish) -> Result<Vec<Packet>, String> {
        let topic = p.topic.as_str();
        let id = &self.inner.identity;
        if let Some(rest) = topic.strip_prefix("$iothub/twin/GET/") {
            let rid = request_id(rest).ok_or_else(|| format!("{topic}: no $rid"))?;
            let (desired, reported) = self.twin();
            self.note(|o| o.twin_reads += 1);
            let body = json!({ "desired": desired, "reported": reported }).to_string();
            return Ok(vec![reply(
                format!("$iothub/twin/res/200/?$rid={rid}"),
                body,
            )]);
        }
        if let Some(rest) = topic.strip_prefix("$iothub/twin/PATCH/properties/reported/") {
            let rid = request_id(rest).ok_or_else(|| format!("{topic}: no $rid"))?;
            return match serde_json::from_slice::<Value>(&p.payload) {
                Ok(patch) if patch.is_object() => {
                    self.note(|o| o.reported.push(patch));
                    Ok(vec![reply(
                        format!("$iothub/twin/res/204/?$rid={rid}"),
                        String::new(),
                    )])
                }
                _ => Ok(vec![reply(
                    format!("$iothub/twin/res/400/?$rid={rid}"),
                    String::new(),
                )]),
            };
        }
        if topic.starts_with("$iothub/methods/res/") {
            self.note(|o| o.method_responses += 1);
            return Ok(Vec::new());
        }
        let prefix = format!(
            "devices/{}/modules/{}/messages/events",
            id.device, id.module
        );
        if let Some(rest) = topic.strip_prefix(&prefix)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            let bag = rest.trim_start_matches('/');
            let mut sample = property_bag(bag);
            sample.output = output_name(bag);
            self.record_message(sample, &p.payload);
            return Ok(Vec::new());
        }
        Err(format!(
            "PUBLISH to {topic:?}: not a topic edgeHub takes from module {}/{}",
            id.device, id.module
        ))
    }

    /// Counts a message on its output and keeps it if it is among the output's first few.
    fn record_message(&self, mut sample: SentMessage, body: &[u8]) {
        sample.body = String::from_utf8_lossy(&body[..body.len().min(SAMPLE_BYTES)]).into_owned();
        self.note(|o| {
            *o.outputs.entry(sample.output.clone()).or_default() += 1;
            let kept = o.samples.entry(sample.output.clone()).or_default();
            if kept.len() < SAMPLES {
                kept.push(sample);
            }
        });
    }

    /// The desired-property patch to send now, with its `$version`: once per run, when the
    /// module has read its twin and `subscribed` says it listens for desired properties. The
    /// patch carries the offer's defaults again under the next version, as a redeployment of
    /// the same manifest does: a module that crashes handling it is caught by EC402.
    fn desired_patch_due(&self, subscribed: impl Fn(&Observed) -> bool) -> Option<(Value, u32)> {
        let mut due = false;
        self.note(|o| {
            if o.twin_reads > 0 && o.desired_patches == 0 && subscribed(o) {
                o.desired_patches = 1;
                due = true;
            }
        });
        if !due {
            return None;
        }
        let (desired, _) = self.twin();
        let version = desired["$version"].as_u64().unwrap_or(2) as u32;
        Some((desired, version))
    }

    /// The twin as a GET returns it: desired (the offer's defaults) and reported, each with
    /// its `$version` (desired's moves on with each patch sent).
    fn twin(&self) -> (Value, Value) {
        let mut desired = match &self.inner.desired {
            Value::Object(m) => Value::Object(m.clone()),
            _ => json!({}),
        };
        let mut sent = 0;
        self.note(|o| sent = o.desired_patches);
        desired["$version"] = json!(1 + sent);
        let mut reported = json!({});
        let mut patches = 0;
        self.note(|o| {
            patches = o.reported.len();
            for patch in &o.reported {
                merge(&mut reported, patch);
            }
        });
        reported["$version"] = json!(1 + patches);
        (desired, reported)
    }
}

/// A JSON merge patch, as twin patches apply (`null` removes).
fn merge(into: &mut Value, patch: &Value) {
    let (Some(target), Some(patch)) = (into.as_object_mut(), patch.as_object()) else {
        return;
    };
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else if v.is_object() && target.get(k).is_some_and(Value::is_object) {
            if let Some(t) = target.get_mut(k) {
                merge(t, v);
            }
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
}

fn reply(topic: String, body: String) -> Packet {
    Packet::Publish(Publish::new(topic, QoS::AtMostOnce, body.into_bytes()))
}

fn packet_name(p: &Packet) -> &'static str {
    match p {
        Packet::ConnAck(_) => "CONNACK",
        Packet::SubAck(_) => "SUBACK",
        Packet::UnsubAck(_) => "UNSUBACK",
        Packet::PingResp => "PINGRESP",
        _ => "packet",
    }
}

/// `$rid` of a `?$rid=R&…` query (edgeHub and the SDKs: every pair has `=`).
fn request_id(query: &str) -> Option<String> {
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("$rid="))
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

/// The output name of a property bag (`%24.on=output1&%24.ct=…`, maybe ending in `/`):
/// percent-decoded keys and values, `+` kept as is.
fn output_name(bag: &str) -> String {
    bag.trim_end_matches('/')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| percent_decode(k) == "$.on")
        .map(|(_, v)| percent_decode(v))
        .unwrap_or_default()
}

/// A message's properties from its property bag: `$.`-prefixed keys are system properties
/// (by the names routes use: `$.ct` is `contentType`), the others application properties.
fn property_bag(bag: &str) -> SentMessage {
    let mut m = SentMessage::default();
    for (k, v) in bag
        .trim_end_matches('/')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
    {
        let (k, v) = (percent_decode(k), percent_decode(v));
        match k.strip_prefix("$.") {
            Some("on") => {}
            Some(system) => {
                let name = match system {
                    "ct" => "contentType",
                    "ce" => "contentEncoding",
                    "mid" => "messageId",
                    "cid" => "correlationId",
                    "uid" => "userId",
                    "to" => "to",
                    "exp" => "absoluteExpiryTime",
                    "ctime" => "creationTimeUtc",
                    other => other,
                };
                m.system_properties.insert(name.to_owned(), v);
            }
            None => {
                m.properties.insert(k, v);
            }
        }
    }
    m
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// What a module's MQTT user name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    pub device: String,
    pub module: String,
    pub api_version: String,
    pub client_type: Option<String>,
    pub model_id: Option<String>,
}

/// Parses `{hub}/{device}/{module}/?api-version=…&DeviceClientType=…[&model-id=…]` as edgeHub
/// does: the last segment is the query, `api-version` is required, values percent-decoded.
pub fn parse_username(username: &str) -> Result<Username, String> {
    let segments: Vec<&str> = username.split('/').collect();
    let bad = || {
        format!(
            "user name {username:?}: edgeHub expects {{hub}}/{{device}}/{{module}}/?api-version=…"
        )
    };
    let (query, path) = segments.split_last().ok_or_else(bad)?;
    let query = query.strip_prefix('?').ok_or_else(bad)?;
    if path.len() != 3 {
        return Err(bad());
    }
    let mut api_version = None;
    let mut client_type = None;
    let mut model_id = None;
    for kv in query.split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "api-version" => api_version = Some(percent_decode(v)),
            "DeviceClientType" => client_type = Some(percent_decode(v)),
            "model-id" => model_id = Some(percent_decode(v)),
            _ => {}
        }
    }
    Ok(Username {
        device: path[1].to_owned(),
        module: path[2].to_owned(),
        api_version: api_version
            .ok_or_else(|| format!("user name {username:?}: no api-version"))?,
        client_type,
        model_id,
    })
}

/// Verifies a module's SAS token as edgeHub does: `SharedAccessSignature sr=…&sig=…&se=…`, the
/// signature HMAC-SHA256 of `sr` (as sent) + `\n` + `se` with the module key, not expired
/// (five minutes of clock skew allowed), the audience `{hub or gateway}/devices/{d}/modules/{m}`
/// naming this module.
pub fn verify_sas(
    token: &str,
    key: &[u8],
    id: &ModuleIdentity,
    gateway: &str,
    now_secs: u64,
) -> Result<(), String> {
    let fields = token
        .strip_prefix("SharedAccessSignature ")
        .ok_or("the password is not a SAS token (SharedAccessSignature sr=…&sig=…&se=…)")?;
    let (mut sr, mut sig, mut se) = (None, None, None);
    for kv in fields.split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k.to_ascii_lowercase().as_str() {
            "sr" => sr = Some(v),
            "sig" => sig = Some(percent_decode(v)),
            "se" => se = Some(v),
            _ => {}
        }
    }
    let (sr, sig, se) = match (sr, sig, se) {
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => return Err("the SAS token lacks sr, sig or se".into()),
    };
    let expiry: u64 = se
        .parse()
        .map_err(|_| format!("the SAS token's se {se:?} is not a number"))?;
    if expiry + 300 < now_secs {
        return Err(format!(
            "the SAS token expired at {expiry} (now {now_secs})"
        ));
    }
    let audience = percent_decode(sr);
    let parts: Vec<&str> = audience.split('/').collect();
    let names_module = parts.len() == 5
        && (parts[0].eq_ignore_ascii_case(&id.hub) || parts[0].eq_ignore_ascii_case(gateway))
        && parts[1] == "devices"
        && parts[2].eq_ignore_ascii_case(&id.device)
        && parts[3] == "modules"
        && parts[4].eq_ignore_ascii_case(&id.module);
    if !names_module {
        return Err(format!(
            "the SAS token is for {audience:?}, not {}/devices/{}/modules/{}",
            id.hub, id.device, id.module
        ));
    }
    let given = B64
        .decode(sig.as_bytes())
        .map_err(|_| "the SAS token's sig is not base64".to_owned())?;
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::verify(&hmac, format!("{sr}\n{se}").as_bytes(), &given).map_err(|_| {
        "the SAS token's signature does not verify with the module's key (not signed by the workload API)"
            .to_owned()
    })
}

/// The next whole packet; `Ok(None)` at the end of the stream.
async fn next_packet<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<Option<Packet>, String> {
    loop {
        match Packet::read(buf, MAX_PACKET) {
            Ok(p) => return Ok(Some(p)),
            Err(MqttError::InsufficientBytes(_)) => {}
            Err(e) => return Err(format!("malformed MQTT packet: {e}")),
        }
        if buf.len() > MAX_PACKET + 8 {
            return Err(format!("a packet over {MAX_PACKET} bytes"));
        }
        let n = match stream.read_buf(buf).await {
            Ok(n) => n,
            // Closed without TLS close_notify: how SDKs drop the connection when the module
            // stops; the same as the end of the stream.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(format!("reading: {e}")),
        };
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err("the connection ended inside a packet".into())
            };
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, packet: Packet) -> Result<(), String> {
    let mut out = BytesMut::new();
    packet
        .write(&mut out, MAX_PACKET)
        .map_err(|e| format!("encoding: {e}"))?;
    stream
        .write_all(&out)
        .await
        .map_err(|e| format!("writing: {e}"))?;
    stream.flush().await.map_err(|e| format!("writing: {e}"))
}

mod amqp;
pub mod websocket;

#[cfg(test)]
mod tests;
