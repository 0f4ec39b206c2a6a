//! What the runtime's integration tests share: the engine they need, or a skip that fails
//! when services are required (`EDGECERT_REQUIRE_SERVICES=1`, set by scripts/test.sh).

/// Whether a Moby engine answers at `DOCKER_HOST`; `false` (skip) only when services are not
/// required.
pub fn engine_up() -> bool {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let up = host
        .strip_prefix("unix://")
        .is_some_and(|p| std::os::unix::net::UnixStream::connect(p).is_ok());
    edgecert_fixtures::services::available(
        &format!("a Moby engine at {host} (scripts/setup.sh installs and starts dockerd)"),
        up,
    )
}
