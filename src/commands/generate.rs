//! What every generating command does: edit the Wrangler config, write the
//! rendered modules (with the Rust crate's wiring), and name the next steps.

use std::path::Path;

use crate::cli::GlobalArgs;
use crate::config::{self, Edit, EditError, EditStatus, Format, KvBinding};
use crate::error::BadInput;
use crate::names;
use crate::plan::{Plan, read_text};
use crate::project::{Lang, Project};
use crate::rust_crate;
pub use crate::rust_crate::Dependency;
use crate::templates::Rendered;
use crate::ts_style;

/// Dependencies of the generated Rust modules.
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

/// `--ttl SECONDS|none`: the default TTL baked into generated modules (3600
/// when not given); None means no expiry.
pub fn default_ttl(arg: Option<&str>) -> Result<Option<u64>, BadInput> {
    match arg {
        None => Ok(Some(3600)),
        Some("none") => Ok(None),
        Some(ttl) => match ttl.parse::<u64>() {
            Ok(seconds) if seconds >= 60 => Ok(Some(seconds)),
            _ => Err(BadInput::new(format!(
                "--ttl {}: expected a whole number of seconds, at least 60 (the Workers KV minimum), or `none` for no expiry",
                names::show(ttl)
            ))),
        },
    }
}

/// One edit of the Wrangler config text.
pub type ConfigEdit<'a> = Box<dyn Fn(Format, &str) -> Result<Edit, EditError> + 'a>;

/// Applies `edits` to the Wrangler config one after the other and adds the
/// result to the plan. Returns the edited text.
pub fn edit_config(
    plan: &mut Plan,
    project: &Project,
    edits: &[ConfigEdit<'_>],
) -> anyhow::Result<String> {
    let shown = project.relative(&project.config);
    let raw = read_text(&project.config, &shown)?
        .ok_or_else(|| BadInput::new(format!("{shown}: cannot read the Wrangler config")))?;
    let mut text = raw.clone();
    let mut statuses = Vec::new();
    for edit in edits {
        let result = edit(project.format, &text).map_err(|e| {
            BadInput::new(format!("{}:{e}", crate::names::show_path(&project.config)))
        })?;
        text = result.text;
        statuses.push(result.status);
    }
    let conflicts: Vec<String> = statuses
        .iter()
        .filter_map(|s| match s {
            EditStatus::Conflict(reason) => Some(reason.clone()),
            _ => None,
        })
        .collect();
    let forced: Vec<String> = statuses
        .iter()
        .filter_map(|s| match s {
            EditStatus::Forced(reason) => Some(reason.clone()),
            _ => None,
        })
        .collect();
    let status = if !conflicts.is_empty() {
        EditStatus::Conflict(conflicts.join("; "))
    } else if !forced.is_empty() {
        EditStatus::Forced(forced.join("; "))
    } else if text != raw {
        EditStatus::Changed
    } else {
        EditStatus::Unchanged
    };
    plan.edited(
        &project.root,
        &shown,
        Some(raw),
        Edit {
            text: text.clone(),
            status,
        },
    );
    Ok(text)
}

/// What a binding-centred command (cache, flags, session) starts from: the
/// project, its module folder, and a plan holding the config edit.
pub struct Prepared {
    pub project: Project,
    pub dir: String,
    pub plan: Plan,
    /// The config text after the edits.
    pub config: String,
}

/// Finds the project and edits its config: the binding, then `extra`.
pub fn prepare(
    cwd: &Path,
    global: &GlobalArgs,
    binding: &KvBinding,
    env: Option<&str>,
    extra: Vec<ConfigEdit<'_>>,
) -> anyhow::Result<Prepared> {
    let project = super::project(cwd, global)?;
    let dir = super::module_dir(global, project.lang)?;
    let mut plan = Plan::default();
    let mut edits = vec![kv_binding(binding, env, global.force)];
    edits.extend(extra);
    let config = edit_config(&mut plan, &project, &edits)?;
    Ok(Prepared {
        project,
        dir,
        plan,
        config,
    })
}

/// [`prepare`], then the command's modules rendered with `context` and added
/// (with `dependencies` for Rust), and the shared next steps
/// ([`binding_next_steps`]) in the plan.
pub fn binding_modules(
    cwd: &Path,
    global: &GlobalArgs,
    binding: &KvBinding,
    env: Option<&str>,
    command: &str,
    context: minijinja::Value,
    dependencies: &[Dependency],
) -> anyhow::Result<Prepared> {
    let mut prepared = prepare(cwd, global, binding, env, Vec::new())?;
    let Prepared {
        project,
        dir,
        plan,
        config,
    } = &mut prepared;
    let files = crate::templates::render(project.lang, command, context, &|_| true)?;
    add_modules(plan, project, dir, files, dependencies, global.force)?;
    let name = &binding.binding;
    plan.next_steps = binding_next_steps(project, config, env, name, &namespace_title(name));
    Ok(prepared)
}

/// The namespace title the next steps suggest for a binding: `USER_CACHE`
/// -> `user-cache`.
pub fn namespace_title(binding: &str) -> String {
    binding.to_ascii_lowercase().replace('_', "-")
}

/// The edit that makes sure a KV binding is in the config.
pub fn kv_binding<'a>(binding: &'a KvBinding, env: Option<&'a str>, force: bool) -> ConfigEdit<'a> {
    Box::new(move |format, text| config::ensure_kv_namespace(format, text, env, binding, force))
}

/// Adds rendered modules to the plan under `dir`: TypeScript in the
/// project's style; Rust with its `mod.rs`, `mod <dir>;` and dependencies.
pub fn add_modules(
    plan: &mut Plan,
    project: &Project,
    dir: &str,
    files: Vec<Rendered>,
    extra_dependencies: &[Dependency],
    force: bool,
) -> anyhow::Result<()> {
    match project.lang {
        Lang::Ts => {
            let dirs = [project.root.clone()];
            let style = ts_style::read(&dirs);
            let js_extensions = ts_style::imports_need_extension(&dirs);
            for file in files {
                let mut content = ts_style::apply(&file.content, &style);
                if js_extensions {
                    content = ts_style::with_js_extensions(&content);
                }
                plan.generated(
                    &project.root,
                    &format!("{dir}/{}", file.name),
                    content,
                    force,
                )?;
            }
        }
        Lang::Rust => {
            let modules: Vec<&str> = files
                .iter()
                .filter_map(|f| f.name.strip_suffix(".rs"))
                .collect();
            rust_wiring(plan, project, dir, &modules, extra_dependencies)?;
            for file in files {
                plan.generated(
                    &project.root,
                    &format!("{dir}/{}", file.name),
                    file.content,
                    force,
                )?;
            }
        }
    }
    Ok(())
}

/// `mod.rs`, `mod <dir>;` in the crate root, and the dependencies.
fn rust_wiring(
    plan: &mut Plan,
    project: &Project,
    dir: &str,
    modules: &[&str],
    extra_dependencies: &[Dependency],
) -> anyhow::Result<()> {
    let root = &project.root;
    let mod_rs = format!("{dir}/mod.rs");
    let existing = read_text(&root.join(&mod_rs), &mod_rs)?;
    let edit = rust_crate::ensure_module_list(existing.as_deref(), modules)
        .map_err(|e| BadInput::new(format!("{}:{e}", names::show_path(&root.join(&mod_rs)))))?;
    plan.edited(root, &mod_rs, existing, edit);

    let manifest_path = "Cargo.toml";
    let manifest = read_text(&root.join(manifest_path), manifest_path)?.ok_or_else(|| {
        BadInput::new(format!(
            "{}: no Cargo.toml next to the Wrangler config; a Rust Worker needs one",
            crate::names::show_path(root)
        ))
    })?;
    let crate_root = crate_root(&manifest, root)?;
    let module = dir.rsplit('/').next().unwrap_or("kv");
    let source = read_text(&root.join(&crate_root), &crate_root)?
        .expect("crate_root() checked that it exists");
    let edit = rust_crate::ensure_mod_declaration(&source, module)
        .map_err(|e| BadInput::new(format!("{}:{e}", names::show_path(&root.join(&crate_root)))))?;
    plan.edited(root, &crate_root, Some(source), edit);

    let dependencies = [RUST_DEPENDENCIES, extra_dependencies].concat();
    let edit = rust_crate::ensure_dependencies(&manifest, &dependencies).map_err(|e| {
        BadInput::new(format!(
            "{}:{e}",
            crate::names::show_path(&root.join(manifest_path))
        ))
    })?;
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
                crate::names::show_path(root),
                candidates.join(" or ")
            ))
        })
}

/// A kvgen command to run next, with the `--binding` (when the user gave
/// one) and `--env` of this run, and a comment saying what it does.
pub fn follow_up(
    command: &str,
    global: &GlobalArgs,
    binding: &str,
    env: Option<&str>,
    comment: &str,
) -> String {
    let mut step = command.to_string();
    if global.binding.is_some() {
        step.push_str(&format!(" --binding {binding}"));
    }
    if let Some(env) = env {
        step.push_str(&format!(" --env {env}"));
    }
    format!("{step}   # {comment}")
}

/// The next steps every command shares: create the namespace when the
/// binding in the (edited) config has no id, and regenerate the `Env` types
/// of a TypeScript project that has them.
pub fn binding_next_steps(
    project: &Project,
    config_text: &str,
    env: Option<&str>,
    binding: &str,
    title: &str,
) -> Vec<String> {
    let mut steps = Vec::new();
    let has_id = config::kv_namespaces(project.format, config_text, env)
        .ok()
        .and_then(|entries| entries.into_iter().find(|e| e.binding == binding))
        .is_some_and(|e| e.id.is_some());
    if !has_id {
        let env = env.map(|e| format!(" --env {e}")).unwrap_or_default();
        steps.push(format!("npx wrangler kv namespace create {title}{env}"));
    }
    if project.lang == Lang::Ts && project.root.join("worker-configuration.d.ts").is_file() {
        steps.push("npx wrangler types".to_string());
    }
    steps
}
