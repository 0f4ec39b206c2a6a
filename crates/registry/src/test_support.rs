//! For tests of the registry and the components that share its database (the marketplace):
//! the PostgreSQL server `scripts/setup.sh` starts, one fresh database per call. Without the
//! server a test skips that backend with a message, except under `EDGECERT_REQUIRE_SERVICES=1`
//! (CI), where it fails.

use sqlx::Connection as _;

/// Says that `what` (an environment variable `scripts/setup.sh` sets) is missing: `false`,
/// or a panic when services are required (`EDGECERT_REQUIRE_SERVICES=1` or `CI=true`): the
/// rule of `edgecert_fixtures::services`, a test-only crate this library cannot depend on.
pub fn missing(what: &str) -> bool {
    assert!(
        std::env::var("EDGECERT_REQUIRE_SERVICES").as_deref() != Ok("1")
            && std::env::var("CI").as_deref() != Ok("true"),
        "{what} is required (EDGECERT_REQUIRE_SERVICES=1): run scripts/setup.sh"
    );
    eprintln!("SKIP: {what} is not set; run scripts/setup.sh");
    false
}

/// 8 hex digits, different per call (names of test databases and bucket prefixes).
pub fn short_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mix = (t.subsec_nanos() ^ std::process::id().rotate_left(16))
        .wrapping_add(N.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9));
    format!("{mix:08x}")
}

/// The URL of a fresh, empty database on the PostgreSQL server `EDGECERT_TEST_POSTGRES` names;
/// `None` without one.
pub async fn fresh_postgres() -> Option<String> {
    let Some(admin) = std::env::var("EDGECERT_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        missing("EDGECERT_TEST_POSTGRES");
        return None;
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("{admin}: {e}"));
    let name = format!("t_{}_{}", short_id(), short_id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let (base, _) = admin.rsplit_once('/')?;
    Some(format!("{base}/{name}"))
}
