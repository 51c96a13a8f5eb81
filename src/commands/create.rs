//! `kvgen create <NAMESPACE>`: the binding in the Wrangler config and the
//! typed store (`store`, `keys`, and the shared `limits` helper).

use std::path::Path;

use super::generate;
use super::sync::{self, Run};
use crate::cli::{CreateArgs, GlobalArgs};
use crate::config::KvBinding;
use crate::design::{Module, Purpose, Ttl};
use crate::error::BadInput;
use crate::names;
use crate::plan::Plan;

/// The validated request.
struct Request {
    namespace: String,
    binding: KvBinding,
    /// Seconds, or None for no expiry.
    default_ttl: Option<u64>,
}

fn request(global: &GlobalArgs, args: &CreateArgs) -> Result<Request, BadInput> {
    let namespace = names::namespace(&args.namespace)?.to_string();
    let binding = match &global.binding {
        Some(binding) => names::binding(binding)?.to_string(),
        None => names::binding_from_namespace(&namespace),
    };
    let id = args
        .id
        .as_deref()
        .map(|id| names::namespace_id("--id", id))
        .transpose()?;
    let preview_id = args
        .preview_id
        .as_deref()
        .map(|id| names::namespace_id("--preview-id", id))
        .transpose()?;
    let default_ttl = generate::default_ttl(args.ttl.as_deref())?;
    Ok(Request {
        namespace,
        binding: KvBinding {
            binding,
            id: id.map(str::to_string),
            preview_id: preview_id.map(str::to_string),
        },
        default_ttl,
    })
}

pub fn plan(cwd: &Path, global: &GlobalArgs, args: &CreateArgs) -> anyhow::Result<Plan> {
    let request = request(global, args)?;
    let run = Run {
        binding: &request.binding.binding,
        title: Some(request.namespace.clone()),
        purpose: Purpose::Data,
        default_ttl: args.ttl.as_ref().map(|_| ttl(request.default_ttl)),
        fallback_ttl: Some(ttl(request.default_ttl)),
        modules: &[Module::Store],
        cron: None,
        cookie: None,
        metrics: None,
    };
    let line = generate::command_line(
        &format!("create {}", request.namespace),
        &[("--ttl", args.ttl.as_deref())],
    );
    let synced = sync::command(cwd, global, run, request.binding.clone(), &line)?;
    Ok(synced.prepared.plan)
}

/// A TTL of `--ttl` as the design records it.
pub(super) fn ttl(seconds: Option<u64>) -> Ttl {
    seconds.map_or(Ttl::Never, Ttl::Seconds)
}
