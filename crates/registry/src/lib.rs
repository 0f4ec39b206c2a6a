//! The marketplace registry: OCI Distribution 1.1 served from a content-addressed store.
//! Digests as the OCI spec defines them ([`digest`]); verified blob storage with resumable
//! uploads and a grace-period garbage collector, in a directory or S3-compatible object
//! storage ([`store`]); SQL metadata on SQLite or PostgreSQL (repositories, blob links,
//! manifests, tags, referrers, upload sessions, accounts, pull counts: [`meta`]); accounts,
//! tokens and the namespace access table ([`auth`]); batched pull counts ([`pulls`]); and the
//! `/v2/` router with the library API the marketplace pipeline calls ([`api`]).
//! `edgecert serve` and `edgecert admin` host it.
//!
//! Deliberately independent of the certification engine: the registry serves bytes by
//! digest and never interprets image content.

pub mod api;
pub mod auth;
pub mod digest;
pub mod meta;
pub mod pulls;
pub mod store;
pub mod test_support;
