//! What a registry error means for a run, decided from `oci-client`'s error *variants* and the
//! OCI error envelope codes, never from the error text (a digest or repository name in the URL
//! may contain "404"): only a real 404 or a `*_UNKNOWN` code is "not there"; 401/`UNAUTHORIZED`/
//! `DENIED` is a credentials problem; anything else (5xx, network, TLS) is ours to report with
//! its whole cause chain.
//!
//! Deliberately absent: retries (oci-client's job) and any judgement of the image.

use std::error::Error as StdError;

use oci_client::errors::{OciDistributionError as E, OciErrorCode};

/// How a failed registry request is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// The manifest, blob or repository is not there (HTTP 404, `*_UNKNOWN`, `NOT_FOUND`).
    NotThere,
    /// Credentials are missing or refused (HTTP 401, `UNAUTHORIZED`, `DENIED`).
    Unauthorized,
    /// Anything else: server errors, network, TLS, protocol violations.
    Failed,
}

pub fn meaning(e: &E) -> Meaning {
    match e {
        E::ImageManifestNotFoundError(_) | E::ServerError { code: 404, .. } => Meaning::NotThere,
        E::UnauthorizedError { .. }
        | E::AuthenticationFailure(_)
        | E::ServerError { code: 401, .. } => Meaning::Unauthorized,
        E::RegistryError { envelope, .. } => {
            let codes = || envelope.errors.iter().map(|e| &e.code);
            if codes().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                Meaning::NotThere
            } else if codes()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                Meaning::Unauthorized
            } else {
                Meaning::Failed
            }
        }
        _ => Meaning::Failed,
    }
}

pub use edgecert_core::image::store::error_chain as chain;

/// Whether a TLS handshake or certificate failure is somewhere in the chain.
pub fn is_tls(e: &(dyn StdError + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        cur = err.source();
    }
    // The connector may re-wrap rustls' error out of reach of a downcast (hyper-rustls, boxed
    // io errors): rustls' own wording is the fallback.
    let text = chain(e).to_lowercase();
    ["corrupt message", "certificate", "handshake", "tls"]
        .iter()
        .any(|w| text.contains(w))
}

/// The message for a failed request to `registry` about `what`, with the cause chain and a
/// hint when one applies (`tls_verify`: whether the run asked for https with verification).
pub fn describe(registry: &str, what: &str, e: &E, tls_verify: bool) -> String {
    let causes = chain(e);
    if matches!(e, E::GenericError(Some(m)) if m.contains("clone request builder")) {
        // oci-client's wording when reqwest could not even build the request, which happens
        // for a host reqwest cannot put into a URL; `Remote::open` validates hosts up front,
        // so this is a last resort.
        return format!(
            "registry {registry}: {what}: cannot build a request (is {registry:?} a valid host[:port]?)"
        );
    }
    match meaning(e) {
        Meaning::Unauthorized => format!(
            "registry {registry}: not authorized for {what}: {causes} (edgecert reads credentials \
             from $DOCKER_CONFIG/config.json or ~/.docker/config.json; `docker login {registry}` \
             writes them)"
        ),
        _ if tls_verify && is_tls(e) => format!(
            "registry {registry}: {what}: TLS failed: {causes} (for a plain-http or self-signed \
             registry on loopback, add --tls-verify=false)"
        ),
        _ if causes.contains("timed out") => format!(
            "registry {registry}: {what}: {causes} (the registry did not answer in time; \
             EDGECERT_REGISTRY_TIMEOUT sets the limit in seconds)"
        ),
        _ => format!("registry {registry}: {what}: {causes}"),
    }
}

#[cfg(test)]
mod tests {
    use oci_client::errors::{OciEnvelope, OciError};

    use super::*;

    fn envelope(code: OciErrorCode) -> E {
        E::RegistryError {
            envelope: OciEnvelope {
                errors: vec![OciError {
                    code,
                    message: "x".into(),
                    detail: serde_json::Value::Null,
                }],
            },
            url: "http://r/v2/a404/manifests/sha256:404404".into(),
        }
    }

    /// Issue 8 item 5: the text "404" in a URL made a 500 mean "missing" (EC101, exit 1).
    #[test]
    fn registry_500_with_404_in_the_url_is_not_missing() {
        let e = E::ServerError {
            code: 500,
            url: "http://r/v2/app404/manifests/sha256:0404".into(),
            message: "MANIFEST_UNKNOWN NotFound 404".into(),
        };
        assert_eq!(meaning(&e), Meaning::Failed);
        let e = E::UnauthorizedError {
            url: "http://r/v2/x/manifests/sha256:4041".into(),
        };
        assert_eq!(meaning(&e), Meaning::Unauthorized);
    }

    #[test]
    fn only_real_404s_and_unknown_codes_are_not_there() {
        for code in [
            OciErrorCode::ManifestUnknown,
            OciErrorCode::BlobUnknown,
            OciErrorCode::NameUnknown,
            OciErrorCode::NotFound,
        ] {
            assert_eq!(meaning(&envelope(code)), Meaning::NotThere);
        }
        let e = E::ServerError {
            code: 404,
            url: "u".into(),
            message: String::new(),
        };
        assert_eq!(meaning(&e), Meaning::NotThere);
        assert_eq!(
            meaning(&E::ImageManifestNotFoundError("x".into())),
            Meaning::NotThere
        );
        assert_eq!(
            meaning(&envelope(OciErrorCode::Toomanyrequests)),
            Meaning::Failed
        );
        assert_eq!(
            meaning(&envelope(OciErrorCode::Denied)),
            Meaning::Unauthorized
        );
        assert_eq!(
            meaning(&E::GenericError(Some("404".into()))),
            Meaning::Failed
        );
    }

    #[test]
    fn chain_joins_causes_and_drops_repeats() {
        let inner =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(chain(&outer), "connection refused");
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(chain(&e), "error sending request: connection refused");
    }

    #[test]
    fn tls_errors_are_found_in_the_chain() {
        let e = std::io::Error::other(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert!(is_tls(&e));
        assert!(!is_tls(&std::io::Error::other("plain")));
    }
}
