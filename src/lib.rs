//! kvgen: Workers KV code and bindings for an existing Cloudflare Worker.

pub mod config;
pub mod diff;
pub mod error;
pub mod names;
pub mod text;
