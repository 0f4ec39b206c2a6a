//! The marketplace service (issue 12), built up from the bottom: the submission lifecycle of
//! `spec/marketplace.md` as a state machine enforced by the database ([`submissions`]), and
//! the pipeline's durable jobs, claimed with leases that expire when a process dies
//! ([`jobs`]). Both live in the registry's database (SQLite or PostgreSQL, one code path),
//! in tables of their own with their own migrations ([`db`]).
//!
//! Not here yet: the pipeline steps themselves, the HTTP API, the catalog, the commands.

pub mod db;
pub mod jobs;
pub mod submissions;

pub use db::Market;
