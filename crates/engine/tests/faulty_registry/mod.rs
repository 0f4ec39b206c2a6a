//! A tiny OCI Distribution server for fault tests: it serves a real OCI image layout written
//! by `edgecert-fixtures` (`GET`/`HEAD` of `/v2/`, manifests by tag or digest, blobs) over
//! plain HTTP on 127.0.0.1 with a free port, and misbehaves on request: any status with any
//! body, or a body cut short after a number of bytes (the connection drops mid-blob). The
//! real registry (Debian's docker-registry) cannot be made to do either on cue.
//!
//! One thread per connection, `Connection: close` on every response. Deliberately panicking:
//! test support, not a library.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

/// What to do instead of serving a request whose path contains a needle.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with this body (`application/json`).
    Status(u16, String),
    /// Send the real headers (full `Content-Length`), then only this many body bytes, then
    /// close the connection.
    Truncate(usize),
}

impl Fault {
    /// A 404 with the OCI envelope, as a real registry answers an unknown blob.
    pub fn blob_unknown() -> Fault {
        Fault::Status(
            404,
            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#.into(),
        )
    }
}

pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    stop: Arc<AtomicBool>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.host); // wakes the accept loop
    }
}

/// Serves the layout at `layout`; requests whose path contains a needle of `faults` get
/// that fault (first match).
pub fn serve(layout: &Path, faults: Vec<(String, Fault)>) -> Registry {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let layout = Arc::new(layout.to_path_buf());
    let faults = Arc::new(faults);
    let flag = stop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            let Ok(conn) = conn else { continue };
            let (layout, faults) = (layout.clone(), faults.clone());
            std::thread::spawn(move || handle(conn, &layout, &faults));
        }
    });
    Registry { host, stop }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn handle(mut conn: TcpStream, layout: &Path, faults: &[(String, Fault)]) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let mut parts = request.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        return;
    };
    let head = method == "HEAD";
    let fault = faults.iter().find(|(n, _)| path.contains(n.as_str()));
    if let Some((_, Fault::Status(code, body))) = fault {
        respond(
            &mut conn,
            *code,
            "application/json",
            &[],
            body.as_bytes(),
            head,
            None,
        );
        return;
    }
    let truncate = match fault {
        Some((_, Fault::Truncate(n))) => Some(*n),
        _ => None,
    };
    if path == "/v2/" || path == "/v2" {
        respond(&mut conn, 200, "application/json", &[], b"{}", head, None);
        return;
    }
    let found = if let Some((_, reference)) = path.rsplit_once("/manifests/") {
        manifest(layout, reference)
    } else if let Some((_, digest)) = path.rsplit_once("/blobs/") {
        blob(layout, digest).map(|b| (b, "application/octet-stream".to_owned(), digest.to_owned()))
    } else {
        None
    };
    match found {
        Some((bytes, media_type, digest)) => respond(
            &mut conn,
            200,
            &media_type,
            &[("Docker-Content-Digest", &digest)],
            &bytes,
            head,
            truncate,
        ),
        None => {
            let code = if path.contains("/blobs/") {
                "BLOB_UNKNOWN"
            } else {
                "MANIFEST_UNKNOWN"
            };
            let body = format!(r#"{{"errors":[{{"code":"{code}","message":"unknown"}}]}}"#);
            respond(
                &mut conn,
                404,
                "application/json",
                &[],
                body.as_bytes(),
                head,
                None,
            );
        }
    }
}

fn blob(layout: &Path, digest: &str) -> Option<Vec<u8>> {
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    std::fs::read(layout.join("blobs/sha256").join(hex)).ok()
}

/// Bytes, media type and digest of the manifest `reference` (a digest or a tag of index.json).
fn manifest(layout: &Path, reference: &str) -> Option<(Vec<u8>, String, String)> {
    let digest = if reference.starts_with("sha256:") {
        reference.to_owned()
    } else {
        let index: Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).ok()?).ok()?;
        index["manifests"]
            .as_array()?
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == reference)?["digest"]
            .as_str()?
            .to_owned()
    };
    let bytes = blob(layout, &digest)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let media_type = v["mediaType"].as_str()?.to_owned();
    Some((bytes, media_type, digest))
}

fn respond(
    conn: &mut TcpStream,
    code: u16,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    head: bool,
    truncate: Option<usize>,
) {
    let mut text = format!(
        "HTTP/1.1 {code} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    let _ = conn.write_all(text.as_bytes());
    if !head {
        let n = truncate.unwrap_or(body.len()).min(body.len());
        let _ = conn.write_all(&body[..n]);
    }
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
}
