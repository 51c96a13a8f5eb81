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

/// The longest TTL kvgen writes (100 years); longer is `none`.
pub const MAX_TTL: u64 = 3_153_600_000;

/// `--ttl SECONDS|none`: the default TTL baked into generated modules (3600
/// when not given); None means no expiry.
pub fn default_ttl(arg: Option<&str>) -> Result<Option<u64>, BadInput> {
    match arg {
        None => Ok(Some(3600)),
        Some("none") => Ok(None),
        Some(ttl) => match ttl.parse::<u64>() {
            Ok(seconds) if (60..=MAX_TTL).contains(&seconds) => Ok(Some(seconds)),
            _ => Err(BadInput::new(format!(
                "--ttl {}: expected a whole number of seconds from 60 (the Workers KV minimum) to {MAX_TTL} (100 years), or `none` for no expiry",
                names::show(ttl)
            ))),
        },
    }
}

/// One edit of the Wrangler config text, for the top level (None) or one
/// environment.
pub type ConfigEdit<'a> = Box<dyn Fn(Format, &str, Option<&str>) -> Result<Edit, EditError> + 'a>;

/// Applies `edits` to the Wrangler config one after the other, each in its
/// place (None: the top level), and adds the result to the plan. Returns
/// the edited text.
pub fn edit_config(
    plan: &mut Plan,
    project: &Project,
    edits: &[(Option<String>, ConfigEdit<'_>)],
) -> anyhow::Result<String> {
    let shown = project.relative(&project.config);
    let raw = read_text(&project.config, &shown)?
        .ok_or_else(|| BadInput::new(format!("{shown}: cannot read the Wrangler config")))?;
    let mut text = raw.clone();
    let mut statuses = Vec::new();
    for (env, edit) in edits {
        let result = edit(project.format, &text, env.as_deref()).map_err(|e| {
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

/// What a generating command starts from: the project, its module folder,
/// the environments the run targets, and a plan holding the config edit.
pub struct Prepared {
    pub project: Project,
    pub dir: String,
    pub plan: Plan,
    /// The config text after the edits.
    pub config: String,
    /// Where the binding goes: None is the top level.
    pub envs: Vec<Option<String>>,
}

/// The namespace title the next steps suggest for a binding: `USER_CACHE`
/// -> `user-cache` ([`crate::design::derived_title`]).
pub fn namespace_title(binding: &str) -> String {
    crate::design::derived_title(binding)
}

/// The edit that makes sure a KV binding is in the config.
pub fn kv_binding(binding: &KvBinding, force: bool) -> ConfigEdit<'_> {
    Box::new(move |format, text, env| {
        config::ensure_kv_namespace(format, text, env, binding, force)
    })
}

/// How the project's TypeScript is written, read once per run: its
/// formatter settings, and whether relative imports need `.js`. None for
/// Rust.
#[derive(Debug, Clone, Copy)]
pub struct TsLook {
    style: ts_style::Style,
    js_extensions: bool,
    /// JavaScript modules (`.js`, types in JSDoc) from the TypeScript.
    javascript: bool,
}

impl TsLook {
    /// Whether relative imports need `.js`.
    pub fn js_extensions(&self) -> bool {
        self.js_extensions
    }

    /// TypeScript text in the project's style.
    pub fn apply(&self, text: &str) -> String {
        ts_style::apply(text, &self.style)
    }
}

pub fn ts_look(project: &Project) -> Option<TsLook> {
    match project.lang {
        Lang::Ts | Lang::Js => {
            // The Worker's folder, then those above it up to the workspace
            // root, where a monorepo keeps its formatter config and tsconfig.
            let dirs = crate::project::workspace_dirs(&project.root);
            let javascript = project.lang == Lang::Js;
            Some(TsLook {
                style: ts_style::read(&dirs),
                // ES modules name the files they import.
                js_extensions: javascript || ts_style::imports_need_extension(&dirs),
                javascript,
            })
        }
        Lang::Rust => None,
    }
}

/// The rendered files as they are written: TypeScript in the project's
/// style (`look`), as JavaScript for a JavaScript Worker (`name.ts` becomes
/// `name.js`), Rust as rendered.
pub fn styled(
    look: Option<&TsLook>,
    files: Vec<Rendered>,
) -> anyhow::Result<Vec<(String, String)>> {
    files
        .into_iter()
        .map(|file| match look {
            Some(look) => {
                let mut content = ts_style::apply(&file.content, &look.style);
                if look.js_extensions {
                    content = ts_style::with_js_extensions(&content);
                }
                if !look.javascript {
                    return Ok((file.name, content));
                }
                let content = crate::js::from_typescript(&content)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.name))?;
                Ok((javascript_name(file.name), content))
            }
            None => Ok((file.name, file.content)),
        })
        .collect()
}

/// The name of a TypeScript module's JavaScript twin: `store.ts` →
/// `store.js`.
pub(crate) fn javascript_name(name: String) -> String {
    match name.strip_suffix(".ts") {
        Some(stem) => format!("{stem}.js"),
        None => name,
    }
}

/// `mod.rs`, `mod <dir>;` in the crate root, and the dependencies.
pub(super) fn rust_wiring(
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
    // `mod <module>;` in the crate root reads `<module>/mod.rs` beside it:
    // the module folder must be there, or rustc would not find it (E0583).
    let crate_folder = crate_root.rsplit_once('/').map_or("", |(folder, _)| folder);
    let (parent, module) = dir.rsplit_once('/').unwrap_or(("", dir));
    if parent != crate_folder {
        let beside = if crate_folder.is_empty() {
            module.to_string()
        } else {
            format!("{crate_folder}/{module}")
        };
        let folder = if crate_folder.is_empty() {
            "the project folder".to_string()
        } else {
            format!("{crate_folder}/")
        };
        return Err(BadInput::new(format!(
            "--dir {}: the crate root is {crate_root}, so its modules live in {folder}; use --dir {beside}",
            names::show(dir),
        ))
        .into());
    }
    rust_crate::check_worker_version(root)?;
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

/// What the templates need to know about the project besides the command's
/// own context: for Rust, the `worker` minor release to write for
/// (`worker_minor`), after refusing a crate whose `worker` is too old.
pub fn lang_context(project: &Project) -> Result<minijinja::Value, BadInput> {
    Ok(match project.lang {
        Lang::Ts | Lang::Js => minijinja::context! {},
        Lang::Rust => minijinja::context! {
            worker_minor => rust_crate::check_worker_version(&project.root)?,
        },
    })
}

/// The crate root: `[lib] path`, else `src/lib.rs`, else `src/main.rs`.
fn crate_root(manifest: &str, root: &Path) -> Result<String, BadInput> {
    rust_crate::crate_root(manifest, root)
}

/// A kvgen command to run next, with the `--binding` (when the user gave
/// one), the environments and the `--config` of this run, and a comment
/// saying what it does.
pub fn follow_up(command: &str, global: &GlobalArgs, binding: &str, comment: &str) -> String {
    let mut step = command.to_string();
    if global.binding.is_some() {
        step.push_str(&format!(" --binding {}", names::shell_word(binding)));
    }
    step.push_str(&super::env_args(global));
    step.push_str(&super::config_arg(global, "--config"));
    format!("{step}   # {comment}")
}

/// A Wrangler command to run next: `npx wrangler ARGS`, with `-c` when the
/// run was given `--config`, and `--env E` for an environment.
pub fn wrangler(global: &GlobalArgs, args: &str, env: Option<&str>) -> String {
    let env = env.map(|e| format!(" --env {e}")).unwrap_or_default();
    format!(
        "npx wrangler {args}{env}{}",
        super::config_arg(global, "-c")
    )
}

/// A command line for a printed step: `words` and each option given.
pub fn command_line(words: &str, options: &[(&str, Option<&str>)]) -> String {
    let mut line = words.to_string();
    for (flag, value) in options {
        if let Some(value) = value {
            line.push_str(&format!(" {flag} {}", names::shell_word(value)));
        }
    }
    line
}

/// The next steps every command shares: create the namespace in each
/// environment whose binding (in the edited config) has no id, mention an
/// existing binding that could have been reused, bring the `Env` types of a
/// TypeScript project up to date, and show how to construct the module.
pub fn binding_next_steps(
    prepared: &Prepared,
    global: &GlobalArgs,
    command: &str,
    binding: &str,
    title: &str,
) -> Vec<String> {
    let Prepared { project, envs, .. } = prepared;
    let mut steps = namespace_steps(prepared, &prepared.envs, global, binding, title);
    if let Some(existing) = reusable_binding(project, envs, binding) {
        // The same run otherwise: where its modules went and their language.
        let lang = global.lang.map(|lang| match lang {
            Lang::Ts => "ts",
            Lang::Js => "js",
            Lang::Rust => "rust",
        });
        let same = command_line(
            &format!("kvgen {command} --binding {}", names::shell_word(&existing)),
            &[("--dir", global.dir.as_deref()), ("--lang", lang)],
        );
        steps.push(follow_up(
            &same,
            &GlobalArgs {
                binding: None,
                ..global.clone()
            },
            &existing,
            &format!(
                "uses the existing KV binding {existing} instead of a new namespace for {binding}"
            ),
        ));
    }
    let from = prepared
        .plan
        .header
        .as_ref()
        .map_or(project.root.as_path(), |h| h.from.as_path());
    let planned: Vec<&str> = prepared
        .plan
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    let usage = crate::env_types::usage(command, binding, &planned, project.lang);
    steps.extend(crate::env_types::steps(
        project,
        from,
        &super::config_arg(global, "-c"),
        &[binding],
        usage.as_deref(),
    ));
    steps
}

/// `wrangler kv namespace create TITLE` for each of `envs` whose binding
/// (in the edited config) has no id.
pub fn namespace_steps(
    prepared: &Prepared,
    envs: &[Option<String>],
    global: &GlobalArgs,
    binding: &str,
    title: &str,
) -> Vec<String> {
    let mut steps = Vec::new();
    for env in envs {
        let env = env.as_deref();
        let has_id = config::kv_namespaces(prepared.project.format, &prepared.config, env)
            .ok()
            .and_then(|entries| entries.into_iter().find(|e| e.binding == binding))
            .is_some_and(|e| e.id.is_some());
        if !has_id {
            steps.push(wrangler(
                global,
                &format!("kv namespace create {title}"),
                env,
            ));
        }
    }
    steps
}

/// A KV binding the config had before the run, where the run adds
/// `binding` as a new one: the namespace it could use instead.
fn reusable_binding(project: &Project, envs: &[Option<String>], binding: &str) -> Option<String> {
    envs.iter().find_map(|env| {
        let table = match env {
            None => Some(&project.settings),
            Some(env) => project.settings.get("env").and_then(|e| e.get(env)),
        }?;
        let existing: Vec<&str> = table
            .get("kv_namespaces")?
            .as_array()?
            .iter()
            .filter_map(|entry| entry.get("binding")?.as_str())
            .collect();
        if existing.contains(&binding) {
            return None;
        }
        existing
            .into_iter()
            .find(|b| names::binding(b).is_ok())
            .map(str::to_string)
    })
}
