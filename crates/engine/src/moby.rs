//! The one place that talks to Moby first: connect through `DOCKER_HOST` or the default
//! socket, agree on an API version (Moby 20.10 speaks 1.41, bollard asks for newer), give a
//! silent engine 10 s, and learn what a caller needs from it: version, native architecture,
//! CPU count, whether it is local. Both users go through it: the `docker-daemon:` image
//! transport (`image::daemon`) and the ingestion test (`edgecert-runtime`).
//!
//! It does not judge anything: no engine is an `Unavailable` (where and why); each caller adds
//! what it means there (`unavailable` for the ingestion test).

use std::time::Duration;

use bollard::Docker;

/// How long a silent engine gets before we call it unavailable (bollard's own timeout is 2
/// minutes, far too long for a `DOCKER_HOST` pointing at nothing).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Per request, once connected.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct MobyEngine {
    pub docker: Docker,
    /// `Moby 20.10.24+dfsg1`.
    pub description: String,
    /// The engine's own platform architecture, Go style (`amd64`, `arm64`, `arm`).
    pub arch: String,
    pub ncpu: Option<i64>,
    /// The engine runs on this host (unix socket), so `/proc` and socket binds are shared.
    pub local: bool,
}

/// Where we look for the engine, as users write it.
pub fn host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

/// No engine: where we looked and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Moby engine answered at {host}: {why}")]
pub struct Unavailable {
    pub host: String,
    pub why: String,
}

/// How to get an engine, for messages that end a run for the want of one.
pub const HOW_TO_GET_ONE: &str = "install Moby (Debian/Ubuntu: apt-get install docker.io; in \
     the edgecert repository scripts/setup.sh installs it and starts dockerd) or set \
     DOCKER_HOST to a running engine";

/// The ingestion test's `RuntimeFacts.unavailable` text: what went wrong and how to get an
/// engine.
pub fn unavailable(u: &Unavailable) -> String {
    format!(
        "{u}. The ingestion test needs one: {HOW_TO_GET_ONE}; --no-run skips the test (the \
         verdict is then at best incomplete)"
    )
}

pub async fn connect() -> Result<MobyEngine, Unavailable> {
    let host = host();
    let unavailable = |why: String| Unavailable {
        host: host.clone(),
        why,
    };
    let docker = Docker::connect_with_defaults().map_err(|e| unavailable(e.to_string()))?;
    let answer = async {
        let docker = docker.negotiate_version().await?;
        let version = docker.version().await?;
        let info = docker.info().await?;
        Ok::<_, bollard::errors::Error>((docker, version, info))
    };
    let (docker, version, info) = tokio::time::timeout(ANSWER_TIMEOUT, answer)
        .await
        .map_err(|_| unavailable("no answer within 10 s".into()))?
        .map_err(|e| unavailable(e.to_string()))?;
    let arch = version
        .arch
        .clone()
        .unwrap_or_else(|| go_arch(info.architecture.as_deref().unwrap_or_default()).to_owned());
    Ok(MobyEngine {
        // Loading a large image, or a stats stream over a long window, outlasts bollard's
        // 2-minute request timeout; the window and our own waits bound everything else.
        docker: docker.with_timeout(REQUEST_TIMEOUT),
        description: format!(
            "Moby {}",
            version.version.as_deref().unwrap_or("(unknown version)")
        ),
        arch,
        ncpu: info.ncpu,
        local: host.starts_with("unix://"),
    })
}

/// `uname -m` to Go's architecture names, for engines that do not report `Arch`.
fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        m if m.starts_with("armv") => "arm",
        "i686" | "i386" => "386",
        m => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_map_to_go_arches() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("armv7l"), "arm");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("s390x"), "s390x");
    }

    #[test]
    fn unavailable_says_how_to_get_an_engine() {
        let m = unavailable(&Unavailable {
            host: "unix:///nonexistent".into(),
            why: "connection refused".into(),
        });
        assert!(
            m.starts_with("no Moby engine answered at unix:///nonexistent: connection refused.")
        );
        assert!(m.contains("unix:///nonexistent"));
        assert!(m.contains("DOCKER_HOST"));
        assert!(m.contains("scripts/setup.sh"));
    }
}
