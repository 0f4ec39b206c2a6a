//! The marketplace's web pages (`spec/marketplace.md`, "Web pages"), served by `edgecert
//! serve` beside `/v2/` and `/api/v1`: the catalog (home with search and sub-categories, module
//! pages), password sign-in with a session cookie and a CSRF token on every form
//! ([`session`]), the partner portal (offers and their editor with the checks' findings
//! beside each field, submitting a version ([`portal`]); submissions, a submission's timeline
//! with live progress, its report, the preview and the go-live button; the inbox), the
//! reviewer's queue, evidence and decisions, and the admin's accounts and policy versions
//! ([`admin`]).
//! Server-rendered from templates compiled into the binary (askama: escaping is on for every
//! value; descriptions go through EC502's sanitizer), no external CDN or font, a little
//! JavaScript only for live progress.

pub mod admin;
pub mod pages;
pub mod portal;
pub mod session;

pub use pages::router;
