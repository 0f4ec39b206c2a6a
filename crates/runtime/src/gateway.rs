//! Ports 8883 (MQTT), 5671 (AMQP) and 443 (both over WebSockets) for every run on this host
//! at once. The SDKs connect to
//! edgeHub on those ports of `IOTEDGE_GATEWAYHOSTNAME`, fixed; concurrent runs (parallel
//! tests, two CI jobs on one engine) would each need them on the same address (the
//! `azure-iot-edge` bridge's gateway). So each run gets its own gateway host name (which its certificate carries and the
//! SDKs send as TLS SNI), every run listens on the shared address with `SO_REUSEPORT` (the
//! kernel hands each new connection to any one of the listeners), and whichever listener takes
//! a connection reads the ClientHello's server name and passes the raw bytes on to that run's
//! edgeHub stand-in through its unix socket for that protocol in the private run directory. A
//! run that ends closes its listeners and sockets; the others carry on.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, UnixListener, UnixStream};

use crate::edgehub::EdgeHub;

/// The largest ClientHello read before giving up (TLS allows 16 KiB records; a hello with many
/// extensions can span a few).
const MAX_HELLO: usize = 64 * 1024;

/// What one of edgeHub's ports serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Mqtt,
    Amqp,
    /// MQTT or AMQP over WebSockets, by the upgrade's subprotocol.
    WebSocket,
}

/// The file name suffixes of the stand-ins' sockets, one per service.
pub const SOCKET_SUFFIXES: [&str; 3] = [".edgehub.sock", ".edgehub-amqp.sock", ".edgehub-ws.sock"];

/// The unix socket a run's stand-in answers `service` on for gateway `name`, in `dir`.
pub fn socket_for(dir: &Path, name: &str, service: Service) -> PathBuf {
    let suffix = match service {
        Service::Mqtt => SOCKET_SUFFIXES[0],
        Service::Amqp => SOCKET_SUFFIXES[1],
        Service::WebSocket => SOCKET_SUFFIXES[2],
    };
    dir.join(format!("{name}{suffix}"))
}

/// The ports edgeHub listens on.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub mqtt: u16,
    pub amqp: u16,
    /// Served when it can be had (443 needs root, or a lowered
    /// `net.ipv4.ip_unprivileged_port_start`); [`Gateway::not_served`] says when not.
    pub websocket: u16,
}

impl Ports {
    /// edgeHub's: MQTT over TLS on 8883, AMQP over TLS on 5671, both over WebSockets on 443.
    pub const EDGEHUB: Ports = Ports {
        mqtt: 8883,
        amqp: 5671,
        websocket: 443,
    };
}

/// Whether `name` is usable as a gateway host name and a file name: a DNS label or dotted
/// labels of letters, digits and `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// One run's share of the ports: its listeners on the shared address and its stand-in's sockets.
pub struct Gateway {
    sockets: Vec<PathBuf>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    /// What could not be served, with why (the WebSocket port could not be had).
    pub not_served: Vec<String>,
}

impl Gateway {
    /// Serves `hub` as gateway `name` (its certificate's name) on `ports` of `ip`, beside the
    /// other runs of this user on this host; `dir` is the private directory the runs share.
    pub async fn start(
        ip: IpAddr,
        ports: Ports,
        name: &str,
        hub: EdgeHub,
        dir: &Path,
    ) -> std::io::Result<Gateway> {
        if !valid_name(name) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("gateway name {name:?}: letters, digits, '-' and dots only"),
            ));
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut gateway = Gateway {
            sockets: Vec::new(),
            stop: Some(stop),
            not_served: Vec::new(),
        };
        for (service, port) in [
            (Service::Mqtt, ports.mqtt),
            (Service::Amqp, ports.amqp),
            (Service::WebSocket, ports.websocket),
        ] {
            let tcp = match shared_listener(SocketAddr::new(ip, port)) {
                Ok(tcp) => tcp,
                Err(e) if service == Service::WebSocket => {
                    gateway.not_served.push(format!(
                        "MQTT and AMQP over WebSockets: cannot listen on {ip}:{port}: {e}"
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let socket = socket_for(dir, name, service);
            let _ = std::fs::remove_file(&socket);
            let unix = UnixListener::bind(&socket)?;
            gateway.sockets.push(socket);
            tokio::spawn(serve_unix(unix, hub.clone(), service, stopped.clone()));
            tokio::spawn(route(tcp, dir.to_owned(), service, stopped.clone()));
        }
        Ok(gateway)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for socket in &self.sockets {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// A listener on `addr` that other listeners of this user may share.
fn shared_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

async fn serve_unix(
    unix: UnixListener,
    hub: EdgeHub,
    service: Service,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = unix.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let hub = hub.clone();
                tasks.spawn(async move {
                    match service {
                        Service::Mqtt => hub.serve_stream(stream).await,
                        Service::Amqp => hub.serve_amqp_stream(stream).await,
                        Service::WebSocket => hub.serve_websocket_stream(stream).await,
                    }
                });
            }
        }
    }
    tasks.abort_all();
}

async fn route(
    tcp: TcpListener,
    dir: PathBuf,
    service: Service,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = tcp.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let dir = dir.clone();
                tasks.spawn(async move { forward(stream, &dir, service).await });
            }
        }
    }
    // Connections already routed finish on their own tasks' terms: the stand-in they reach
    // belongs to another run, or to this one, which is ending.
    tasks.detach_all();
}

/// Reads the ClientHello's server name and splices the connection to that run's stand-in.
/// Connections without a name, or for a run that is not here, are closed.
async fn forward(mut tcp: tokio::net::TcpStream, dir: &Path, service: Service) {
    let Ok(Ok(Some((hello, name)))) =
        tokio::time::timeout(Duration::from_secs(10), server_name(&mut tcp)).await
    else {
        return;
    };
    if !valid_name(&name) {
        return;
    }
    let Ok(mut run) = UnixStream::connect(socket_for(dir, &name, service)).await else {
        return;
    };
    if run.write_all(&hello).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut run).await;
}

/// Reads until the ClientHello is whole: the bytes read and its server name (SNI).
async fn server_name(
    tcp: &mut tokio::net::TcpStream,
) -> std::io::Result<Option<(Vec<u8>, String)>> {
    let mut seen = Vec::new();
    let mut acceptor = rustls::server::Acceptor::default();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 || seen.len() + n > MAX_HELLO {
            return Ok(None);
        }
        seen.extend_from_slice(&chunk[..n]);
        let mut fresh = &chunk[..n];
        while !fresh.is_empty() {
            if acceptor.read_tls(&mut fresh).is_err() {
                return Ok(None);
            }
        }
        match acceptor.accept() {
            Ok(Some(accepted)) => {
                let name = accepted.client_hello().server_name().map(str::to_owned);
                return Ok(name.map(|n| (seen, n)));
            }
            Ok(None) => {}
            Err(_) => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::workload::{ModuleIdentity, RunCa};

    fn hub(module: &str, gateway: &str, ca: &RunCa) -> EdgeHub {
        let id = ModuleIdentity {
            hub: "edgecert.azure-devices.net".into(),
            device: "edgecert-device".into(),
            module: module.into(),
            generation_id: "1".into(),
        };
        EdgeHub::new(id, gateway, b"key", ca, json!({})).unwrap()
    }

    /// A TLS handshake with `name` as SNI, trusting `ca`: true when it completes.
    async fn handshake(addr: SocketAddr, name: &str, ca: &RunCa) -> bool {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(ca.der().to_vec()))
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let server = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(server, tcp)
            .await
            .is_ok()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_runs_share_the_port_and_each_connection_reaches_its_own_run() {
        let dir = tempfile::tempdir().unwrap();
        // Two free ports, then both runs bind them.
        let free = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let ports = Ports {
            mqtt: free(),
            amqp: free(),
            websocket: free(),
        };
        let addrs = [
            SocketAddr::new(ip, ports.mqtt),
            SocketAddr::new(ip, ports.amqp),
            SocketAddr::new(ip, ports.websocket),
        ];
        let (ca_a, ca_b) = (RunCa::new("a").unwrap(), RunCa::new("b").unwrap());
        let (hub_a, hub_b) = (hub("a", "run-a", &ca_a), hub("b", "run-b", &ca_b));
        let a = Gateway::start(ip, ports, "run-a", hub_a.clone(), dir.path())
            .await
            .unwrap();
        let b = Gateway::start(ip, ports, "run-b", hub_b.clone(), dir.path())
            .await
            .unwrap();
        // The kernel spreads connections over both listeners; each must land on its run, on
        // either port.
        for addr in addrs {
            for _ in 0..20 {
                assert!(handshake(addr, "run-a", &ca_a).await);
                assert!(handshake(addr, "run-b", &ca_b).await);
            }
            // A name no run serves: closed, and neither stand-in saw a handshake fail.
            assert!(!handshake(addr, "run-c", &ca_a).await);
        }
        assert!(hub_a.observed().tls_failures.is_empty());
        assert!(hub_b.observed().tls_failures.is_empty());
        // Run a ends: run b still answers on the same port, a's socket is gone.
        drop(a);
        tokio::time::sleep(Duration::from_millis(100)).await;
        for service in [Service::Mqtt, Service::Amqp, Service::WebSocket] {
            assert!(!socket_for(dir.path(), "run-a", service).exists());
        }
        for addr in addrs {
            for _ in 0..10 {
                assert!(handshake(addr, "run-b", &ca_b).await);
            }
        }
        drop(b);
    }

    #[test]
    fn gateway_names_are_host_names() {
        for ok in ["edgecert-1a2b", "a.b-c.d", "x"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "../x", "a/b", "-a", "a..b", "a b", &"x".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
