//! The marketplace registry (issue 11): OCI Distribution 1.1 served from a content-addressed
//! store. What is here so far is the bottom of it: digests as the OCI spec defines them
//! ([`digest`]) and the verified blob store with resumable uploads and a grace-period garbage
//! collector ([`store`]), the SQL metadata (repositories, blob links, manifests, tags,
//! referrers, upload sessions: [`meta`]) and the `/v2/` router ([`api`]). Accounts, tokens,
//! pull counts, the S3 backend and `edgecert serve` build on these.
//!
//! Deliberately independent of the certification engine: the registry serves bytes by
//! digest and never interprets image content.

pub mod api;
pub mod auth;
pub mod digest;
pub mod meta;
pub mod pulls;
pub mod store;
