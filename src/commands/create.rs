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
    env: Option<String>,
    /// Seconds, or None for no expiry.
    default_ttl: Option<u64>,
}

fn request(global: &GlobalArgs, args: &CreateArgs) -> Result<Request, BadInput> {
    let namespace = names::namespace(&args.namespace)?.to_string();
    let binding = match &global.binding {
        Some(binding) => names::binding(binding)?.to_string(),
        None => names::binding_from_namespace(&namespace),
    };
    let env = global
        .env
        .as_deref()
        .map(names::env)
        .transpose()?
        .map(str::to_string);
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
        env,
        default_ttl,
    })
}

pub fn plan(cwd: &Path, global: &GlobalArgs, args: &CreateArgs) -> anyhow::Result<Plan> {
    let request = request(global, args)?;
    let project = super::project(cwd, global)?;
    let dir = super::module_dir(global, &project)?;
    let mut plan = Plan::default();

    let env = request.env.as_deref();
    let config = generate::edit_config(
        &mut plan,
        &project,
        &[generate::kv_binding(&request.binding, env, global.force)],
    )?;

    let ttl = request.default_ttl.map_or(Value::from(()), Value::from);
    let files = templates::render(
        project.lang,
        "create",
        context! { default_ttl => ttl, ..generate::lang_context(&project)? },
        &|_| true,
    )?;
    generate::add_modules(&mut plan, &project, &dir, files, &[], global.force)?;

    plan.next_steps = generate::binding_next_steps(
        &project,
        &config,
        env,
        &request.binding.binding,
        &request.namespace,
    );
    Ok(plan)
}
