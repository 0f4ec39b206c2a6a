//! Password sign-in for the pages: argon2id password hashes, a session cookie (`HttpOnly`,
//! `SameSite=Lax`, `Secure` behind https) that names a server-side session by a random id of
//! which only the SHA-256 is stored, and a CSRF token per session that every form carries and
//! every POST must return. The sign-in form itself is protected by a double-submit token (a
//! short-lived cookie and the same value in the form).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use edgecert_registry::auth::{self, Principal};
use edgecert_registry::meta::{Meta, MetaError, apply_migrations};
use sha2::{Digest as _, Sha256};
use sqlx::Row;

pub const COOKIE: &str = "edgecert_session";
pub const LOGIN_COOKIE: &str = "edgecert_signin";
/// Sessions last this long (ms).
pub const LIFETIME_MS: i64 = 12 * 3600 * 1000;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

pub const MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE passwords (account TEXT PRIMARY KEY, hash TEXT NOT NULL, \
         updated_at BIGINT NOT NULL)",
        "CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, account TEXT NOT NULL, \
         csrf TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
    ],
)];

pub async fn migrate(meta: &Meta) -> Result<(), MetaError> {
    apply_migrations(meta.pool(), !meta.is_sqlite(), "web_migrations", MIGRATIONS).await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn hash_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// A signed-in visitor.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub account: String,
    pub csrf: String,
}

/// Sets `account`'s password (argon2id, a fresh salt).
pub async fn set_password(meta: &Meta, account: &str, password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!("a password has at least {MIN_PASSWORD} characters"));
    }
    if meta
        .account(account)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("no account {account:?}"));
    }
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || {
        // 128 random bits (the OS's, through uuid v4) as the salt.
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("hashing the password: {e}"))?;
    sqlx::query(
        "INSERT INTO passwords (account, hash, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
    )
    .bind(account)
    .bind(hash)
    .bind(now_ms())
    .execute(meta.pool())
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Checks `name` and `password`; on success a new session: (cookie value, CSRF token).
pub async fn sign_in(
    meta: &Meta,
    name: &str,
    password: &str,
) -> Result<Option<(String, String)>, String> {
    let row = sqlx::query("SELECT hash FROM passwords WHERE account = $1")
        .bind(name)
        .fetch_optional(meta.pool())
        .await
        .map_err(|e| e.to_string())?;
    // An unknown account costs the same hashing as a wrong password.
    let stored: String = row.map(|r| r.get(0)).unwrap_or_else(|| {
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000"
            .to_owned()
    });
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|e| e.to_string())?;
    if !ok {
        return Ok(None);
    }
    let id = auth::new_token();
    let csrf = auth::new_token();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (id_hash, account, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_id(&id))
    .bind(name)
    .bind(&csrf)
    .bind(now)
    .bind(now + LIFETIME_MS)
    .execute(meta.pool())
    .await
    .map_err(|e| e.to_string())?;
    Ok(Some((id, csrf)))
}

/// The session a cookie names, if it is live.
pub async fn session(meta: &Meta, id: &str) -> Result<Option<Session>, String> {
    let row =
        sqlx::query("SELECT account, csrf FROM sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(hash_id(id))
            .bind(now_ms())
            .fetch_optional(meta.pool())
            .await
            .map_err(|e| e.to_string())?;
    let Some(row) = row else { return Ok(None) };
    let account: String = row.get(0);
    let csrf: String = row.get(1);
    let principal = auth::principal_for_account(meta, &account)
        .await
        .map_err(|e| e.to_string())?;
    Ok(principal.map(|principal| Session {
        principal,
        account,
        csrf,
    }))
}

/// Ends the session a cookie names.
pub async fn sign_out(meta: &Meta, id: &str) -> Result<(), String> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(hash_id(id))
        .execute(meta.pool())
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A cookie's value from a `Cookie` header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Compares two tokens in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_tokens() {
        let h = Some("a=1; edgecert_session=ect_x; b=2");
        assert_eq!(cookie(h, COOKIE), Some("ect_x"));
        assert_eq!(cookie(h, "c"), None);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
