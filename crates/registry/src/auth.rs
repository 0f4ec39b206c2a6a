//! Accounts, API tokens and who may do what (`spec/marketplace.md`, "Roles" and "Registry
//! namespaces").
//!
//! API tokens are 256 random bits, shown once when made and stored as their SHA-256: a stolen
//! database does not hold usable tokens, and a high-entropy token needs no slow hash (argon2
//! is for the web pages' passwords). The registry accepts a token the way registries do:
//! `Authorization: Bearer <token>` after the token endpoint (`/v2/token`, which takes HTTP
//! Basic `account:token` and hands the same token back, so `docker login` checks it), or HTTP
//! Basic on `/v2/` itself. Anonymous clients get the anonymous token from that endpoint, which
//! reads public repositories only.
//!
//! | repository | read | client write |
//! |---|---|---|
//! | `<identifier>` (`publisher.offer.plan`) | anyone | nobody (the go-live step writes it) |
//! | `preview/<identifier>` | that publisher's members, reviewers, admins | nobody (the pipeline) |
//! | `staging/<publisher>/<name>` | that publisher's members, reviewers, admins | that publisher's members, admins |

use sha2::{Digest as _, Sha256};

use crate::meta::{AccountRow, Meta, MetaError};

/// The bearer token anonymous clients get from the token endpoint.
pub const ANONYMOUS_TOKEN: &str = "anonymous";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Publisher,
    Reviewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Publisher => "publisher",
            Role::Reviewer => "reviewer",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "publisher" => Some(Role::Publisher),
            "reviewer" => Some(Role::Reviewer),
            _ => None,
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Account {
        name: String,
        role: Role,
        /// The publisher a member belongs to.
        publisher: Option<String>,
    },
}

impl Principal {
    fn from_row(a: AccountRow) -> Option<Principal> {
        Some(Principal::Account {
            role: Role::parse(&a.role)?,
            name: a.name,
            publisher: a.publisher,
        })
    }

    fn is(&self, role: Role) -> bool {
        matches!(self, Principal::Account { role: r, .. } if *r == role)
    }

    fn member_of(&self, publisher: &str) -> bool {
        matches!(self, Principal::Account { role: Role::Publisher, publisher: Some(p), .. } if p == publisher)
    }

    /// Whether this principal may pull from `repository`.
    pub fn may_read(&self, repository: &str) -> bool {
        if self.is(Role::Admin) || self.is(Role::Reviewer) {
            return true;
        }
        match Namespace::of(repository) {
            Namespace::Public => true,
            Namespace::Preview { publisher } | Namespace::Staging { publisher } => {
                self.member_of(publisher)
            }
            Namespace::Content => false,
        }
    }

    /// Whether this principal may push to (or delete in) `repository` as a client.
    pub fn may_write(&self, repository: &str) -> bool {
        match Namespace::of(repository) {
            Namespace::Staging { publisher } => self.is(Role::Admin) || self.member_of(publisher),
            Namespace::Public | Namespace::Preview { .. } | Namespace::Content => false,
        }
    }
}

/// The namespace a repository name falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace<'a> {
    Public,
    Preview {
        publisher: &'a str,
    },
    Staging {
        publisher: &'a str,
    },
    /// `content/<submission>`: the marketplace's own copy of a submitted image, which the
    /// pipeline certifies by digest; read by reviewers and admins, written by no client.
    Content,
}

impl<'a> Namespace<'a> {
    pub fn of(repository: &'a str) -> Namespace<'a> {
        if let Some(rest) = repository.strip_prefix("staging/")
            && let Some((publisher, _)) = rest.split_once('/')
        {
            return Namespace::Staging { publisher };
        }
        if repository.starts_with("content/") {
            return Namespace::Content;
        }
        if let Some(identifier) = repository.strip_prefix("preview/") {
            let publisher = identifier.split('.').next().unwrap_or(identifier);
            return Namespace::Preview { publisher };
        }
        if repository.starts_with("staging/") {
            // `staging/<publisher>` without a name: nobody's.
            return Namespace::Preview { publisher: "" };
        }
        Namespace::Public
    }
}

/// A new API token: `ect_` and 64 hex characters (256 random bits).
pub fn new_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    let c = uuid::Uuid::new_v4();
    let mut h = Sha256::new();
    h.update(a.as_bytes());
    h.update(b.as_bytes());
    h.update(c.as_bytes());
    format!("ect_{}", hex::encode(h.finalize()))
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("account {0:?} already exists")]
    Exists(String),
    #[error("invalid account or publisher name {0:?}: 2-50 lower-case letters, digits, dashes")]
    InvalidName(String),
    #[error("publisher {0:?} does not exist: create it with create-publisher")]
    NoPublisher(String),
    #[error(transparent)]
    Meta(#[from] MetaError),
}

fn valid_account_name(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=50).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// Creates an account and its first API token, which is returned (and never stored).
pub async fn create_account(
    meta: &Meta,
    name: &str,
    role: Role,
    publisher: Option<&str>,
) -> Result<String, AccountError> {
    for n in std::iter::once(name).chain(publisher) {
        if !valid_account_name(n) {
            return Err(AccountError::InvalidName(n.to_owned()));
        }
    }
    let row = AccountRow {
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        publisher: publisher.map(str::to_owned),
    };
    if !meta.add_account(&row).await? {
        return Err(AccountError::Exists(name.to_owned()));
    }
    let token = new_token();
    meta.add_token(&token_hash(&token), name).await?;
    Ok(token)
}

/// `create-publisher NAME`: the publisher and its first member, both named NAME.
pub async fn create_publisher(meta: &Meta, name: &str) -> Result<String, AccountError> {
    create_account(meta, name, Role::Publisher, Some(name)).await
}

/// `add-member PUBLISHER NAME`.
pub async fn add_member(meta: &Meta, publisher: &str, name: &str) -> Result<String, AccountError> {
    if !meta.publisher_exists(publisher).await? {
        return Err(AccountError::NoPublisher(publisher.to_owned()));
    }
    create_account(meta, name, Role::Publisher, Some(publisher)).await
}

/// The principal a token names; `None` for an unknown token.
pub async fn principal_for_token(meta: &Meta, token: &str) -> Result<Option<Principal>, MetaError> {
    if token == ANONYMOUS_TOKEN {
        return Ok(Some(Principal::Anonymous));
    }
    Ok(meta
        .token_account(&token_hash(token))
        .await?
        .and_then(Principal::from_row))
}

/// The principal of an account by name (a signed-in web session's); `None` when it is gone.
pub async fn principal_for_account(
    meta: &Meta,
    name: &str,
) -> Result<Option<Principal>, MetaError> {
    Ok(meta.account(name).await?.and_then(Principal::from_row))
}

/// The principal of HTTP Basic `account:token`: the token must be the account's.
pub async fn principal_for_basic(
    meta: &Meta,
    account: &str,
    token: &str,
) -> Result<Option<Principal>, MetaError> {
    Ok(meta
        .token_account(&token_hash(token))
        .await?
        .filter(|a| a.name == account)
        .and_then(Principal::from_row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(p: &str) -> Principal {
        Principal::Account {
            name: format!("{p}-dev"),
            role: Role::Publisher,
            publisher: Some(p.into()),
        }
    }

    /// The namespace table of the module docs, role by role.
    #[test]
    fn access_matrix() {
        let reviewer = Principal::Account {
            name: "rita".into(),
            role: Role::Reviewer,
            publisher: None,
        };
        let admin = Principal::Account {
            name: "root".into(),
            role: Role::Admin,
            publisher: None,
        };
        let repos = [
            "contoso.tempfilter.standard",
            "preview/contoso.tempfilter.standard",
            "staging/contoso/tempfilter",
            "content/0123abcd",
        ];
        // (principal, [read, write] per repo)
        let cases: [(&Principal, [(bool, bool); 4]); 5] = [
            (
                &Principal::Anonymous,
                [
                    (true, false),
                    (false, false),
                    (false, false),
                    (false, false),
                ],
            ),
            (
                &member("contoso"),
                [(true, false), (true, false), (true, true), (false, false)],
            ),
            (
                &member("fabrikam"),
                [
                    (true, false),
                    (false, false),
                    (false, false),
                    (false, false),
                ],
            ),
            (
                &reviewer,
                [(true, false), (true, false), (true, false), (true, false)],
            ),
            (
                &admin,
                [(true, false), (true, false), (true, true), (true, false)],
            ),
        ];
        for (who, want) in cases {
            for (repo, (read, write)) in repos.iter().zip(want) {
                assert_eq!(who.may_read(repo), read, "{who:?} read {repo}");
                assert_eq!(who.may_write(repo), write, "{who:?} write {repo}");
            }
        }
        assert!(!member("contoso").may_write("staging/contoso"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("ect_") && a.len() == 68);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert!(valid_account_name("contoso") && !valid_account_name("Contoso"));
    }
}
