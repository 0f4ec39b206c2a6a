//! The marketplace service (issue 12), built up from the bottom: the submission lifecycle of
//! `spec/marketplace.md` as a state machine enforced by the database ([`submissions`]), and
//! the pipeline's durable jobs, claimed with leases that expire when a process dies
//! ([`jobs`]). Both live in the registry's database (SQLite or PostgreSQL, one code path),
//! in tables of their own with their own migrations ([`db`]).
//!
//! The HTTP API's first part is here ([`api`]: offers, submissions, review transitions, the
//! timeline as server-sent events, with one authorization decision for every route), and the
//! worker with its first step ([`pipeline`]: ingest). Not here yet: the certify, preview and
//! go-live steps, the catalog, policy versions, the commands; `serve` does not mount the API
//! until submissions can move through the whole pipeline.

pub mod accounts;
pub mod api;
pub mod catalog;
pub mod db;
pub mod import;
pub mod jobs;
pub mod living;
pub mod model;
pub mod offers;
pub mod openapi;
pub mod pipeline;
pub mod releases;
pub mod submissions;

pub use db::Market;
