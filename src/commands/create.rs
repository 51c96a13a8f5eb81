//! `kvgen create <NAMESPACE>`: the binding in the Wrangler config and the
//! typed store (`store`, `keys`, and the shared `limits` helper).

use std::path::Path;

use minijinja::{Value, context};

use crate::cli::{CreateArgs, GlobalArgs};
use crate::config::{self, KvBinding};
use crate::error::BadInput;
use crate::names;
use crate::plan::{Plan, read_text};
use crate::project::{Lang, Project};
use crate::rust_crate::{self, Dependency};
use crate::{templates, ts_style};

/// Dependencies of the generated Rust modules, besides `worker`.
const RUST_DEPENDENCIES: &[Dependency] = &[
    Dependency {
        name: "serde",
        version: "1",
        features: &["derive"],
    },
    Dependency {
        name: "serde_json",
        version: "1",
        features: &[],
    },
    Dependency {
        name: "worker",
        version: "0.8",
        features: &[],
    },
];

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
    let default_ttl = match args.ttl.as_deref() {
        None => Some(3600),
        Some("none") => None,
        Some(ttl) => match ttl.parse::<u64>() {
            Ok(seconds) if seconds >= 60 => Some(seconds),
            _ => {
                return Err(BadInput::new(format!(
                    "--ttl {}: expected a whole number of seconds, at least 60 (the Workers KV minimum), or `none` for no expiry",
                    names::show(ttl)
                )));
            }
        },
    };
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
    let dir = super::module_dir(global, project.lang)?;
    let mut plan = Plan::default();

    // The binding.
    let config_path = project.relative(&project.config);
    let raw = read_text(&project.config, &config_path)?
        .ok_or_else(|| BadInput::new(format!("{config_path}: cannot read the Wrangler config")))?;
    let edit = config::ensure_kv_namespace(
        project.format,
        &raw,
        request.env.as_deref(),
        &request.binding,
        global.force,
    )
    .map_err(|e| BadInput::new(format!("{}:{e}", project.config.display())))?;
    plan.edited(&project.root, &config_path, Some(raw), edit);

    // The modules.
    let ttl = request.default_ttl.map_or(Value::from(()), Value::from);
    let files = templates::render(project.lang, "create", context! { default_ttl => ttl })?;
    match project.lang {
        Lang::Ts => {
            let indent = ts_style::indent(&project.root);
            let quote = ts_style::quote(&project.root);
            for file in files {
                let content = ts_style::apply(&file.content, indent, quote);
                plan.generated(
                    &project.root,
                    &format!("{dir}/{}", file.name),
                    content,
                    global.force,
                )?;
            }
        }
        Lang::Rust => {
            let modules: Vec<&str> = files
                .iter()
                .filter_map(|f| f.name.strip_suffix(".rs"))
                .collect();
            rust_wiring(&mut plan, &project, &dir, &modules)?;
            for file in &files {
                plan.generated(
                    &project.root,
                    &format!("{dir}/{}", file.name),
                    file.content.clone(),
                    global.force,
                )?;
            }
        }
    }

    plan.next_steps = next_steps(&project, &request);
    Ok(plan)
}

/// `mod.rs`, `mod <dir>;` in the crate root, and the dependencies.
fn rust_wiring(
    plan: &mut Plan,
    project: &Project,
    dir: &str,
    modules: &[&str],
) -> anyhow::Result<()> {
    let root = &project.root;
    let mod_rs = format!("{dir}/mod.rs");
    let existing = read_text(&root.join(&mod_rs), &mod_rs)?;
    let edit = rust_crate::ensure_module_list(existing.as_deref(), modules);
    plan.edited(root, &mod_rs, existing, edit);

    let manifest_path = "Cargo.toml";
    let manifest = read_text(&root.join(manifest_path), manifest_path)?.ok_or_else(|| {
        BadInput::new(format!(
            "{}: no Cargo.toml next to the Wrangler config; a Rust Worker needs one",
            root.display()
        ))
    })?;
    let crate_root = crate_root(&manifest, root)?;
    let module = dir.rsplit('/').next().unwrap_or("kv");
    let source = read_text(&root.join(&crate_root), &crate_root)?
        .expect("crate_root() checked that it exists");
    let edit = rust_crate::ensure_mod_declaration(&source, module);
    plan.edited(root, &crate_root, Some(source), edit);

    let edit = rust_crate::ensure_dependencies(&manifest, RUST_DEPENDENCIES)
        .map_err(|e| BadInput::new(format!("{}:{e}", root.join(manifest_path).display())))?;
    plan.edited(root, manifest_path, Some(manifest), edit);
    Ok(())
}

/// The crate root: `[lib] path`, else `src/lib.rs`, else `src/main.rs`.
fn crate_root(manifest: &str, root: &Path) -> Result<String, BadInput> {
    let lib_path = manifest
        .parse::<toml_edit::DocumentMut>()
        .ok()
        .and_then(|doc| doc.get("lib")?.get("path")?.as_str().map(str::to_string));
    let candidates = match lib_path {
        Some(path) => vec![path],
        None => vec!["src/lib.rs".to_string(), "src/main.rs".to_string()],
    };
    candidates
        .iter()
        .find(|c| root.join(c).is_file())
        .map(|c| c.trim_start_matches("./").to_string())
        .ok_or_else(|| {
            BadInput::new(format!(
                "{}: no crate root ({}) to declare the module in",
                root.display(),
                candidates.join(" or ")
            ))
        })
}

fn next_steps(project: &Project, request: &Request) -> Vec<String> {
    let mut steps = Vec::new();
    if request.binding.id.is_none() {
        let env = request
            .env
            .as_deref()
            .map(|e| format!(" --env {e}"))
            .unwrap_or_default();
        steps.push(format!(
            "npx wrangler kv namespace create {}{env}",
            request.namespace
        ));
    }
    if project.lang == Lang::Ts && project.root.join("worker-configuration.d.ts").is_file() {
        steps.push("npx wrangler types".to_string());
    }
    steps
}
