//! The workload API stand-in (issue 10, first part): what a module's SDK asks of the IoT Edge
//! security daemon before it connects to edgeHub, served per run on the unix socket the
//! container sees at `/var/run/iotedge/workload.sock`.
//!
//! The SDKs' `create_from_edge_environment()` / `ModuleClient.fromEnvironment()` fetch the
//! trust bundle (to trust edgeHub's certificate) and have the daemon sign their SAS token with
//! the module's key, which never enters the container. Here the key and the certificate
//! authority are made for one run and dropped with it; the edgeHub stand-in verifies SAS
//! tokens with [`Workload::key`] and presents a certificate from [`RunCa::server`].
//!
//! Routes as edgelet serves them (`docs/design/iotedge-standins.md` §2 has the sources), for
//! every api-version it accepts ([`API_VERSIONS`]):
//! - `GET /trust-bundle` → `{"certificate": PEM}`;
//! - `POST /modules/{name}/genid/{genid}/sign` `{"keyId", "algo", "data": b64}` →
//!   `{"digest": b64}`, HMAC-SHA256 of the decoded data (edgelet ignores `keyId`, `algo` and the
//!   generation; so does this);
//! - `POST /modules/{name}/genid/{genid}/certificate/server` `{"commonName"}` and
//!   `POST /modules/{name}/certificate/identity` → 201 `{"privateKey": {"type": "key",
//!   "bytes": PEM}, "certificate": PEM chain, "expiration"}`.
//!
//! Errors are edgelet's: JSON `{"message"}`; `api-version` missing or unknown 400, an unknown
//! path 404, a known path with another method 400, a body that is not JSON 422, another
//! module's name 403 (edgelet decides that by the caller's process; one module per socket
//! here). Every call is recorded ([`WorkloadCall`]) for the report: what the module asked for
//! tells what it tried.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use serde::Deserialize;
use serde_json::json;

/// The api-versions edgelet's workload API accepts, oldest first.
pub const API_VERSIONS: &[&str] = &[
    "2018-06-28",
    "2019-01-30",
    "2019-10-22",
    "2019-11-05",
    "2020-07-07",
    "2021-12-07",
    "2022-08-03",
];

/// The `IOTEDGE_APIVERSION` a module is given: the newest.
pub const API_VERSION: &str = "2022-08-03";

/// A certificate authority made for one run; its key lives in memory only.
pub struct RunCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: Vec<u8>,
}

impl std::fmt::Debug for RunCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunCa").finish_non_exhaustive()
    }
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate then the CA's: the chain a server presents.
    pub chain: String,
    pub key: String,
    /// When it expires (RFC 3339): a day after it was made, the run is shorter.
    pub expiration: String,
}

impl RunCa {
    /// A new CA named after the run.
    pub fn new(run: &str) -> Result<RunCa, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("edgecert run {run} CA"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key)?;
        Ok(RunCa {
            pem: cert.pem(),
            der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate: the trust bundle.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A TLS server certificate for `names` (DNS names or IP addresses), signed by the CA.
    pub fn server(&self, common_name: &str, names: &[String]) -> Result<Issued, rcgen::Error> {
        self.issue(common_name, names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A TLS client certificate (a module's identity certificate).
    pub fn identity(&self, common_name: &str) -> Result<Issued, rcgen::Error> {
        self.issue(common_name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// [`RunCa::server`] as DER, for a TLS server of our own: the chain (leaf, CA) and the key.
    pub fn server_der(
        &self,
        common_name: &str,
        names: &[String],
    ) -> Result<
        (
            Vec<rustls::pki_types::CertificateDer<'static>>,
            rustls::pki_types::PrivateKeyDer<'static>,
        ),
        rcgen::Error,
    > {
        let (cert, key, _) = self.make(common_name, names, ExtendedKeyUsagePurpose::ServerAuth)?;
        let ca = rustls::pki_types::CertificateDer::from(self.der.clone());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        Ok((vec![cert.der().clone(), ca], key))
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    fn issue(
        &self,
        common_name: &str,
        names: &[String],
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<Issued, rcgen::Error> {
        let (cert, key, expiration) = self.make(common_name, names, usage)?;
        Ok(Issued {
            chain: format!("{}{}", cert.pem(), self.pem),
            key: key.serialize_pem(),
            expiration,
        })
    }

    fn make(
        &self,
        common_name: &str,
        names: &[String],
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<(rcgen::Certificate, KeyPair, String), rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.extended_key_usages = vec![usage];
        // Valid from an hour ago (clock skew) for a day: a run is shorter.
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::HOUR;
        params.not_after = now + time::Duration::DAY;
        let expiration = params
            .not_after
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert, key, expiration))
    }
}

/// Who the module is, as edgeAgent tells it through its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleIdentity {
    /// `IOTEDGE_IOTHUBHOSTNAME`.
    pub hub: String,
    /// `IOTEDGE_DEVICEID`.
    pub device: String,
    /// `IOTEDGE_MODULEID`.
    pub module: String,
    /// `IOTEDGE_MODULEGENERATIONID`.
    pub generation_id: String,
}

/// One request the module made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadCall {
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub api_version: Option<String>,
    pub status: u16,
}

/// The stand-in's state: the module's identity, the run's CA and key, the calls seen.
#[derive(Debug, Clone)]
pub struct Workload {
    identity: ModuleIdentity,
    ca: Arc<RunCa>,
    key: Arc<Vec<u8>>,
    calls: Arc<Mutex<Vec<WorkloadCall>>>,
}

impl Workload {
    /// A stand-in for `identity` with a fresh 256-bit module key.
    pub fn new(
        identity: ModuleIdentity,
        ca: Arc<RunCa>,
    ) -> Result<Workload, ring::error::Unspecified> {
        let mut key = vec![0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)?;
        Ok(Workload {
            identity,
            ca,
            key: Arc::new(key),
            calls: Arc::default(),
        })
    }

    /// The module's key: what its SAS tokens are signed with.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn identity(&self) -> &ModuleIdentity {
        &self.identity
    }

    /// The calls the module made, in order.
    pub fn calls(&self) -> Vec<WorkloadCall> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// HMAC-SHA256 of `data` with the module's key.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.key);
        ring::hmac::sign(&key, data).as_ref().to_vec()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/trust-bundle", get(trust_bundle))
            .route("/modules/{name}/genid/{genid}/sign", post(sign))
            .route(
                "/modules/{name}/genid/{genid}/certificate/server",
                post(server_certificate),
            )
            .route(
                "/modules/{name}/certificate/identity",
                post(identity_certificate),
            )
            .fallback(unknown)
            .method_not_allowed_fallback(wrong_method)
            .with_state(self.clone())
    }

    /// Serves on `listener` until `stop` completes. The socket file is made usable by every
    /// user in the container first (`0666`, as IoT Edge's are): modules often run as non-root.
    pub async fn serve(
        self,
        listener: tokio::net::UnixListener,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Ok(addr) = listener.local_addr()
            && let Some(path) = addr.as_pathname()
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
        }
        axum::serve(listener, self.router())
            .with_graceful_shutdown(stop)
            .await
    }

    fn record(&self, method: &Method, path: &str, api_version: Option<&str>, status: StatusCode) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(WorkloadCall {
                method: method.to_string(),
                path: path.to_owned(),
                api_version: api_version.map(str::to_owned),
                status: status.as_u16(),
            });
        }
    }

    /// The answer to a request: recorded, then sent.
    fn answer(
        &self,
        method: &Method,
        path: &str,
        api_version: Option<&str>,
        status: StatusCode,
        body: serde_json::Value,
    ) -> Response {
        self.record(method, path, api_version, status);
        (status, axum::Json(body)).into_response()
    }

    /// The api-version's problem, if any (edgelet: 400 with a message).
    fn version_problem(api_version: Option<&str>) -> Option<String> {
        match api_version {
            None => Some("api-version not specified".into()),
            Some(v) if !API_VERSIONS.contains(&v) => Some(format!("invalid api-version {v:?}")),
            Some(_) => None,
        }
    }

    /// Whether `name` is this module (edgelet: 403 for another module's name).
    fn own(&self, name: &str) -> bool {
        name.trim_start_matches('$') == self.identity.module.trim_start_matches('$')
    }
}

#[derive(Debug, Default, Deserialize)]
struct Version {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
}

fn message(text: impl Into<String>) -> serde_json::Value {
    json!({ "message": text.into() })
}

async fn trust_bundle(
    State(w): State<Workload>,
    method: Method,
    uri: Uri,
    Query(v): Query<Version>,
) -> Response {
    let version = v.api_version.as_deref();
    if let Some(p) = Workload::version_problem(version) {
        return w.answer(
            &method,
            uri.path(),
            version,
            StatusCode::BAD_REQUEST,
            message(p),
        );
    }
    let body = json!({ "certificate": w.ca.pem() });
    w.answer(&method, uri.path(), version, StatusCode::OK, body)
}

#[derive(Debug, Deserialize)]
struct SignRequest {
    data: String,
}

/// The checks every module route makes: api-version, then the caller; the JSON body parsed.
fn module_request<T: serde::de::DeserializeOwned>(
    w: &Workload,
    method: &Method,
    path: &str,
    version: Option<&str>,
    name: &str,
    body: &[u8],
) -> Result<Option<T>, Box<Response>> {
    if let Some(p) = Workload::version_problem(version) {
        return Err(Box::new(w.answer(
            method,
            path,
            version,
            StatusCode::BAD_REQUEST,
            message(p),
        )));
    }
    if !w.own(name) {
        return Err(Box::new(w.answer(
            method,
            path,
            version,
            StatusCode::FORBIDDEN,
            message("forbidden"),
        )));
    }
    if body.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| {
        Box::new(w.answer(
            method,
            path,
            version,
            StatusCode::UNPROCESSABLE_ENTITY,
            message(format!("the request body is not the JSON expected: {e}")),
        ))
    })
}

async fn sign(
    State(w): State<Workload>,
    method: Method,
    uri: Uri,
    Path((name, _genid)): Path<(String, String)>,
    Query(v): Query<Version>,
    body: axum::body::Bytes,
) -> Response {
    let version = v.api_version.as_deref();
    let path = uri.path();
    let request: SignRequest = match module_request(&w, &method, path, version, &name, &body) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return w.answer(
                &method,
                path,
                version,
                StatusCode::BAD_REQUEST,
                message("missing request body"),
            );
        }
        Err(r) => return *r,
    };
    let data = match B64.decode(request.data.as_bytes()) {
        Ok(d) => d,
        Err(e) => {
            return w.answer(
                &method,
                path,
                version,
                StatusCode::BAD_REQUEST,
                message(format!("invalid parameter: data is not base64: {e}")),
            );
        }
    };
    let digest = B64.encode(w.sign(&data));
    w.answer(
        &method,
        path,
        version,
        StatusCode::OK,
        json!({ "digest": digest }),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertificateRequest {
    common_name: String,
}

fn issued(
    w: &Workload,
    method: &Method,
    path: &str,
    version: Option<&str>,
    made: Result<Issued, rcgen::Error>,
) -> Response {
    match made {
        Ok(c) => w.answer(
            method,
            path,
            version,
            StatusCode::CREATED,
            json!({
                "privateKey": { "type": "key", "bytes": c.key },
                "certificate": c.chain,
                "expiration": c.expiration,
            }),
        ),
        Err(e) => w.answer(
            method,
            path,
            version,
            StatusCode::INTERNAL_SERVER_ERROR,
            message(format!("issuing the certificate: {e}")),
        ),
    }
}

async fn server_certificate(
    State(w): State<Workload>,
    method: Method,
    uri: Uri,
    Path((name, _genid)): Path<(String, String)>,
    Query(v): Query<Version>,
    body: axum::body::Bytes,
) -> Response {
    let version = v.api_version.as_deref();
    let path = uri.path();
    let request: CertificateRequest = match module_request(&w, &method, path, version, &name, &body)
    {
        Ok(Some(r)) => r,
        Ok(None) => {
            return w.answer(
                &method,
                path,
                version,
                StatusCode::BAD_REQUEST,
                message("missing request body"),
            );
        }
        Err(r) => return *r,
    };
    // edgelet's names: the common name (a DNS name or an IP address) and the module's id.
    let module = w.identity.module.trim_start_matches('$').to_owned();
    let mut names = vec![request.common_name.clone()];
    if module != request.common_name {
        names.push(module);
    }
    let made = w.ca.server(&request.common_name, &names);
    issued(&w, &method, path, version, made)
}

async fn identity_certificate(
    State(w): State<Workload>,
    method: Method,
    uri: Uri,
    Path(name): Path<String>,
    Query(v): Query<Version>,
    body: axum::body::Bytes,
) -> Response {
    let version = v.api_version.as_deref();
    let path = uri.path();
    // The body is ignored, as edgelet does; only the checks apply.
    if let Some(p) = Workload::version_problem(version) {
        return w.answer(&method, path, version, StatusCode::BAD_REQUEST, message(p));
    }
    if !w.own(&name) {
        return w.answer(
            &method,
            path,
            version,
            StatusCode::FORBIDDEN,
            message("forbidden"),
        );
    }
    let _ = body;
    let made = w.ca.identity(w.identity.module.trim_start_matches('$'));
    issued(&w, &method, path, version, made)
}

async fn wrong_method(State(w): State<Workload>, method: Method, uri: Uri) -> Response {
    let version = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("api-version=").map(str::to_owned))
    });
    w.answer(
        &method,
        uri.path(),
        version.as_deref(),
        StatusCode::BAD_REQUEST,
        message("method not allowed"),
    )
}

async fn unknown(State(w): State<Workload>, method: Method, uri: Uri) -> Response {
    let version = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("api-version=").map(str::to_owned))
    });
    w.answer(
        &method,
        uri.path(),
        version.as_deref(),
        StatusCode::NOT_FOUND,
        message("not found"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn identity() -> ModuleIdentity {
        ModuleIdentity {
            hub: "edgecert.azure-devices.net".into(),
            device: "edgecert-device".into(),
            module: "tempfilter".into(),
            generation_id: "637000000000000000".into(),
        }
    }

    /// One HTTP/1.1 request over the socket, as the SDKs send them: (status, JSON body).
    async fn request(
        socket: &std::path::Path,
        method: &str,
        target: &str,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut s = tokio::net::UnixStream::connect(socket).await.unwrap();
        let body = body.unwrap_or("");
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: workload.sock\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        let status = text[9..12].parse().unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        (
            status,
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    }

    async fn started() -> (
        tempfile::TempDir,
        std::path::PathBuf,
        Workload,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("workload.sock");
        let ca = Arc::new(RunCa::new("test").unwrap());
        let w = Workload::new(identity(), ca).unwrap();
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(w.clone().serve(listener, async move {
            let _ = stopped.await;
        }));
        // serve() sets the socket's mode before it accepts; wait for that.
        for _ in 0..100 {
            use std::os::unix::fs::PermissionsExt as _;
            if std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777 == 0o666 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        (dir, socket, w, stop)
    }

    #[tokio::test]
    async fn the_socket_is_for_every_user_and_the_trust_bundle_is_the_runs_ca() {
        let (_dir, socket, w, _stop) = started().await;
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o666, "{mode:o}");
        for v in API_VERSIONS {
            let (status, body) = request(
                &socket,
                "GET",
                &format!("/trust-bundle?api-version={v}"),
                None,
            )
            .await;
            assert_eq!(status, 200, "{v}: {body}");
            assert_eq!(body["certificate"], w.ca.pem(), "{v}");
            assert!(w.ca.pem().starts_with("-----BEGIN CERTIFICATE-----"));
        }
        let (status, body) = request(&socket, "GET", "/trust-bundle", None).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["message"].as_str().unwrap().contains("api-version"));
        let (status, body) =
            request(&socket, "GET", "/trust-bundle?api-version=2017-01-01", None).await;
        assert_eq!(status, 400, "{body}");
        let calls = w.calls();
        assert_eq!(calls.len(), API_VERSIONS.len() + 2);
        assert_eq!(API_VERSIONS.len(), 7);
        assert_eq!(calls[0].path, "/trust-bundle");
        assert_eq!(calls[0].api_version.as_deref(), Some(API_VERSIONS[0]));
        assert_eq!(calls.last().unwrap().status, 400);
    }

    #[tokio::test]
    async fn sign_is_hmac_sha256_with_the_runs_module_key() {
        let (_dir, socket, w, _stop) = started().await;
        // What the SDKs sign: the resource URI and the expiry, newline-separated.
        let data = "edgecert.azure-devices.net%2Fdevices%2Fedgecert-device%2Fmodules%2Ftempfilter\n1900000000";
        let target = "/modules/tempfilter/genid/637000000000000000/sign?api-version=2019-01-30";
        let req =
            json!({"keyId": "primary", "algo": "HMACSHA256", "data": B64.encode(data)}).to_string();
        let (status, body) = request(&socket, "POST", target, Some(&req)).await;
        assert_eq!(status, 200, "{body}");
        let digest = B64.decode(body["digest"].as_str().unwrap()).unwrap();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, w.key());
        ring::hmac::verify(&key, data.as_bytes(), &digest)
            .expect("the digest verifies with the module key");
        // edgelet ignores the generation, keyId and algo: so does the stand-in.
        let old = "/modules/tempfilter/genid/1/sign?api-version=2018-06-28";
        let sha1 = json!({"keyId": "x", "algo": "HMACSHA1", "data": B64.encode(data)}).to_string();
        let (status, again) = request(&socket, "POST", old, Some(&sha1)).await;
        assert_eq!((status, &again), (200, &body));
        // Another module's name, bad base64, not JSON, no body, another method.
        let other = "/modules/other/genid/637000000000000000/sign?api-version=2019-01-30";
        let (status, body) = request(&socket, "POST", other, Some(&req)).await;
        assert_eq!((status, body["message"].as_str()), (403, Some("forbidden")));
        let junk = json!({"keyId": "primary", "algo": "HMACSHA256", "data": "%%%"}).to_string();
        let (status, body) = request(&socket, "POST", target, Some(&junk)).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("base64"),
            "{body}"
        );
        assert_eq!(request(&socket, "POST", target, Some("{")).await.0, 422);
        assert_eq!(request(&socket, "POST", target, None).await.0, 400);
        let (status, body) = request(&socket, "GET", target, None).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (400, Some("method not allowed"))
        );
    }

    #[tokio::test]
    async fn server_certificates_are_issued_by_the_runs_ca() {
        let (_dir, socket, w, _stop) = started().await;
        let target = "/modules/tempfilter/genid/637000000000000000/certificate/server?api-version=2019-01-30";
        let req =
            json!({"commonName": "tempfilter", "expiration": "2030-01-01T00:00:00Z"}).to_string();
        let (status, body) = request(&socket, "POST", target, Some(&req)).await;
        assert_eq!(status, 201, "{body}");
        let chain = body["certificate"].as_str().unwrap();
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "{chain}");
        assert!(chain.ends_with(w.ca.pem()));
        assert_eq!(body["privateKey"]["type"], "key");
        assert!(
            body["privateKey"]["bytes"]
                .as_str()
                .unwrap()
                .contains("PRIVATE KEY")
        );
        let identity = "/modules/tempfilter/certificate/identity?api-version=2019-01-30";
        let (status, body) = request(&socket, "POST", identity, Some("{}")).await;
        assert_eq!(status, 201, "{body}");
        assert!(
            body["expiration"].as_str().unwrap().ends_with('Z'),
            "{body}"
        );
        let nope = target.replace("/server", "/root");
        let (status, body) = request(&socket, "POST", &nope, Some(&req)).await;
        assert_eq!((status, body["message"].as_str()), (404, Some("not found")));
        assert_eq!(w.calls().last().unwrap().status, 404);
    }
}
