//! The marketplace service (`spec/marketplace.md`): the submission lifecycle as a state
//! machine enforced by the database ([`submissions`]), the pipeline as durable jobs claimed
//! with leases ([`jobs`], [`pipeline`]: ingest, certify with the engine's `certify()`,
//! preview, go-live; [`import`] for submissions from other registries), what it keeps
//! ([`releases`]: reports, live versions, catalog entries), living modules ([`living`]: policy
//! versions, re-certification, notifications), and the `/api/v1` HTTP API ([`api`],
//! [`catalog`], [`accounts`]) with its types ([`model`]) and OpenAPI document ([`openapi`]).
//! Everything lives in the registry's database (SQLite or PostgreSQL, one code path), in
//! tables of its own with its own migrations ([`db`]); images live in the registry.

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
