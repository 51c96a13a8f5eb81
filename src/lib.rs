//! kvgen: Workers KV code and bindings for an existing Cloudflare Worker.
//!
//! Every command is a pure function from a validated request and the
//! project on disk to a [`plan::Plan`]; reporting, `--dry-run`, `--json` and
//! writing are views of that plan.

pub mod bases;
pub mod bulk;
pub mod cli;
pub mod code_check;
pub mod commands;
pub mod config;
pub mod cron;
pub mod design;
pub mod diff;
pub mod dotenv;
pub mod env_types;
pub mod error;
pub mod export;
pub mod export_remote;
pub mod files;
pub mod js;
pub mod keys;
pub mod lock;
pub mod names;
pub mod plan;
pub mod project;
pub mod rust_crate;
pub mod templates;
pub mod text;
pub mod transaction;
pub mod ts_style;
