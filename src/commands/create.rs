//! `kvgen create <NAMESPACE>`: the binding in the Wrangler config and the
//! typed store (`store`, `keys`, and the shared `limits` helper).

use std::path::Path;

use minijinja::{Value, context};

use super::generate;
use crate::cli::{CreateArgs, GlobalArgs};
use crate::config::KvBinding;
use crate::error::BadInput;
use crate::names;
use crate::plan::Plan;
use crate::templates;

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
    let mut prepared = generate::prepare(cwd, global, &request.binding, Vec::new())?;
    let ttl = request.default_ttl.map_or(Value::from(()), Value::from);
    let files = templates::render(
        prepared.project.lang,
        "create",
        context! { default_ttl => ttl, ..generate::lang_context(&prepared.project)? },
        &|_| true,
    )?;
    let generate::Prepared {
        project, dir, plan, ..
    } = &mut prepared;
    generate::add_modules(plan, project, dir, files, &[], global.force)?;
    prepared.plan.next_steps = generate::binding_next_steps(
        &prepared,
        global,
        &generate::command_line(
            &format!("create {}", request.namespace),
            &[("--ttl", args.ttl.as_deref())],
        ),
        &request.binding.binding,
        &request.namespace,
    );
    Ok(prepared.plan)
}
