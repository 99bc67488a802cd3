//! termwatch watches AI and cloud vendors for changes to their partnership
//! terms and tells each client what to do about them.
//!
//! # Layout
//!
//! - [`config`]: `termwatch.toml`, `TERMWATCH_*` overrides and flags, merged; named defaults.
//! - [`model`]: plain data passed between stages.
//! - [`html`]: readable main text from an HTML page, boilerplate removed.
//! - [`guard`]: no request to loopback, private or metadata addresses unless allowed (SSRF).
//! - [`collect`]: poll `sources/` politely; feeds and HTML listings become articles.
//! - [`extract`]: one article becomes typed term changes with evidence.
//! - [`correlate`]: many reports of one change become one event; disputes flagged.
//! - [`route`]: client profiles and the playbook decide who hears what and what to do.
//! - [`digest`]: per-client digests over cadence windows, rendered from `templates/`.
//! - [`deliver`]: email and signed webhooks through the outbox: never lost, never twice.
//! - [`store`]: the only SQL (SQLite by default); append-only migrations.
//! - [`serve`]: the HTTP API, health, metrics and per-client feeds (`termwatch serve`).
//! - [`metrics`]: typed Prometheus metrics, each counted in one place.
//! - [`pipeline`]: the only code that runs the stages in order, once or on cron.
//! - [`commands`]: one file per CLI command, the glue between flags and the library.
//! - [`demo`]: the whole product offline, with bundled samples and loopback servers.

pub mod collect;
pub mod commands;
pub mod config;
pub mod correlate;
pub mod deliver;
pub mod demo;
pub mod digest;
pub mod extract;
pub mod guard;
pub mod html;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod route;
pub mod serve;
pub mod store;
