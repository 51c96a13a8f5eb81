//! The commands: each turns validated arguments and the project on disk into
//! a [`Plan`], which [`finish`] reports and, unless told otherwise, applies.

mod bulk;
mod cache;
mod create;
mod doctor;
mod export;
mod flags;
mod generate;
pub use generate::MAX_TTL;
mod init;
mod key;
mod primitives;
mod session;
mod spec;
mod sync;

use std::io::Write;
use std::path::{Component, Path};

use anyhow::Context;
use serde_json::json;

use crate::cli::{BulkAction, Cli, Command, ConfigAction, FlagsAction, GlobalArgs, KeyAction};
use crate::error::{BadInput, EXIT_CONFLICT, EXIT_OK};
use crate::plan::{Plan, Status};
use crate::project::{Lang, Project};

/// Runs the command line; returns the exit code.
pub fn run(cli: &Cli) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let cwd = match &cli.global.cwd {
        Some(dir) => {
            let dir = cwd.join(dir);
            if !dir.is_dir() {
                return Err(BadInput::new(format!(
                    "-C {}: no such folder",
                    crate::names::show_path(&dir)
                ))
                .into());
            }
            dir
        }
        None => cwd,
    };
    let (name, plan) = match &cli.command {
        Command::Create(args) => ("create", create::plan(&cwd, &cli.global, args)?),
        Command::Cache(args) => ("cache", cache::plan(&cwd, &cli.global, args)?),
        Command::Session(args) => ("session", session::plan(&cwd, &cli.global, args)?),
        Command::Flags(args) => match &args.action {
            None => ("flags", flags::plan(&cwd, &cli.global)?),
            Some(FlagsAction::Set(set)) => return flags::set(&cli.global, set),
        },
        Command::Ratelimit(args) => ("ratelimit", primitives::ratelimit(&cwd, &cli.global, args)?),
        Command::Counter => ("counter", primitives::counter(&cwd, &cli.global)?),
        Command::Config(args) => match &args.action {
            None => ("config", primitives::config(&cwd, &cli.global)?),
            Some(ConfigAction::Set(set)) => return primitives::config_set(&cli.global, set),
        },
        Command::Prefs => ("prefs", primitives::prefs(&cwd, &cli.global)?),
        Command::Export(args) => return export::run(&cwd, &cli.global, args),
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            // Made in memory: clap_complete panics on a failed write, and a
            // reader that closes the pipe early is no error.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "kvgen", &mut script);
            let mut out = std::io::stdout().lock();
            match out.write_all(&script).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(e).context("cannot write to standard output");
                }
                _ => return Ok(EXIT_OK),
            }
        }
        Command::Sync(args) => return sync::run(&cwd, &cli.global, args),
        Command::Spec(args) => return spec::run(&cwd, &cli.global, args),
        Command::Doctor => return doctor::run(&cwd, &cli.global),
        Command::Key(args) => match &args.action {
            KeyAction::Add(add) => ("key add", key::add(&cwd, &cli.global, add)?),
        },
        Command::Init => ("init", init::plan(&cwd, &cli.global)?),
        Command::Bulk(args) => match &args.action {
            None => ("bulk", bulk::plan(&cwd, &cli.global)?),
            Some(BulkAction::Put(put)) => {
                return bulk::data(
                    &cwd,
                    &cli.global,
                    crate::bulk::Kind::Put,
                    &put.data,
                    Some(put),
                );
            }
            Some(BulkAction::Delete(data)) => {
                return bulk::data(&cwd, &cli.global, crate::bulk::Kind::Delete, data, None);
            }
        },
    };
    finish(name, plan, &cli.global)
}

/// Discovers the project for a generating command and takes its lock (see
/// [`crate::lock`]): from here to the end of the run, no other kvgen run
/// changes it.
fn project(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Project> {
    let project = Project::discover(cwd, global.config.as_deref(), global.lang)?;
    crate::lock::hold(&project.root, global.dry_run)?;
    Ok(project)
}

/// The environments a run targets, None being the top level: `--env a,b`
/// (each name checked, in the order given, once), `--all-envs` (the top
/// level and every environment of the config), else the top level.
pub(crate) fn envs(
    global: &GlobalArgs,
    project: &Project,
) -> Result<Vec<Option<String>>, BadInput> {
    if global.all_envs {
        let mut envs = vec![None];
        envs.extend(project.environments().into_iter().map(Some));
        return Ok(envs);
    }
    env_names(global)
}

/// The environments of `--env` (no config needed), or the top level.
pub(crate) fn env_names(global: &GlobalArgs) -> Result<Vec<Option<String>>, BadInput> {
    let Some(list) = global.env.as_deref() else {
        return Ok(vec![None]);
    };
    let mut envs: Vec<Option<String>> = Vec::new();
    for name in list.split(',') {
        let name = crate::names::env(name.trim())
            .map_err(|e| BadInput::new(format!("--env {}: {}", crate::names::show(list), e.0)))?;
        if !envs.iter().any(|e| e.as_deref() == Some(name)) {
            envs.push(Some(name.to_string()));
        }
    }
    Ok(envs)
}

/// The environment options of this run, as a printed command repeats them.
pub(crate) fn env_args(global: &GlobalArgs) -> String {
    if global.all_envs {
        " --all-envs".to_string()
    } else if let Some(env) = &global.env {
        format!(" --env {}", crate::names::shell_word(env))
    } else {
        String::new()
    }
}

/// ` FLAG PATH` when the run was given `--config PATH` (a printed command
/// must read the same config), else nothing.
pub(crate) fn config_arg(global: &GlobalArgs, flag: &str) -> String {
    global
        .config
        .as_deref()
        .map(|config| {
            format!(
                " {flag} {}",
                crate::names::shell_word(&config.to_string_lossy())
            )
        })
        .unwrap_or_default()
}

/// A printed step as it runs from where the user started kvgen: with `-C
/// DIR`, a kvgen command carries `-C DIR` and a shell command is run in DIR
/// (`(cd DIR && …)`), since the step's paths are relative to DIR. Prose
/// steps are left as they are.
pub(crate) fn runnable(global: &GlobalArgs, step: String) -> String {
    let Some(dir) = &global.cwd else {
        return step;
    };
    let dir = dir.to_string_lossy();
    // A folder starting with `-` would be read as an option.
    let dir = if dir.starts_with('-') {
        crate::names::shell_word(&format!("./{dir}"))
    } else {
        crate::names::shell_word(&dir)
    };
    if let Some(rest) = step.strip_prefix("kvgen ") {
        return format!("kvgen -C {dir} {rest}");
    }
    let shell = ["npx ", "npm ", "pnpm ", "yarn ", "bun ", "git ", "printf "];
    // In a subshell: the next step starts from the same folder.
    match shell.iter().any(|start| step.starts_with(start)) {
        true => match step.split_once("   # ") {
            Some((command, comment)) => format!("(cd {dir} && {command})   # {comment}"),
            None => format!("(cd {dir} && {step})"),
        },
        false => step,
    }
}

/// [`runnable`] for every step.
pub(crate) fn runnable_all(global: &GlobalArgs, steps: Vec<String>) -> Vec<String> {
    steps
        .into_iter()
        .map(|step| runnable(global, step))
        .collect()
}

/// What a run found, for the first line of its report.
pub(crate) fn header(cwd: &Path, project: &Project, dir: &str) -> crate::plan::Header {
    let from = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let shown = |path: &Path| crate::names::relative_path(path, &from);
    crate::plan::Header {
        config: shown(&project.config),
        root: shown(&project.root),
        lang: project.lang,
        modules: shown(&project.root.join(dir)),
        from,
    }
}

/// The warning for a binding added at the top level only, in a config
/// with environments: bindings are not inherited, so a Worker deployed with
/// `--env NAME` would have no such binding (Wrangler only warns at deploy
/// time; at run time it is undefined).
pub(crate) fn inheritance_warning(
    project: &Project,
    envs: &[Option<String>],
    binding: &str,
) -> Option<String> {
    let missing: Vec<String> = project
        .environments()
        .into_iter()
        .filter(|env| !envs.iter().any(|e| e.as_deref() == Some(env)))
        .filter(|env| !project.env_has_kv_binding(env, binding))
        .collect();
    if missing.is_empty() || !envs.contains(&None) {
        return None;
    }
    let list = missing
        .iter()
        .map(|e| format!("--env {e}"))
        .collect::<Vec<_>>()
        .join(", ");
    let with_bindings = project.environments_with_bindings();
    let own = if with_bindings.is_empty() {
        String::new()
    } else {
        format!(
            " ({} already {} bindings of {} own)",
            with_bindings.join(", "),
            if with_bindings.len() == 1 {
                "has"
            } else {
                "have"
            },
            if with_bindings.len() == 1 {
                "its"
            } else {
                "their"
            }
        )
    };
    Some(format!(
        "{binding} was added at the top level only, and bindings are not inherited by environments{own}: a Worker deployed with {list} has no env.{binding} (undefined at run time). Run the same command with --env {} (or --all-envs) to add it there too.",
        missing.join(",")
    ))
}

/// A note for each environment named with `--env` that the config does not
/// have yet (a typo would otherwise go unnoticed until deploy).
pub(crate) fn new_environments(project: &Project, envs: &[Option<String>]) -> Vec<String> {
    let existing = project.environments();
    envs.iter()
        .flatten()
        .filter(|env| !existing.contains(env))
        .map(|env| {
            let has = if existing.is_empty() {
                "none".to_string()
            } else {
                existing.join(", ")
            };
            format!(
                "env.{env} is new: {} had no such environment (it has: {has}), so kvgen adds it",
                crate::names::show_path(
                    project
                        .config
                        .file_name()
                        .map(Path::new)
                        .unwrap_or(Path::new(""))
                )
            )
        })
        .collect()
}

/// Notes on what discovery saw: other Wrangler configs next to the chosen
/// one, and TypeScript modules going into a JavaScript Worker.
pub(crate) fn discovery_notes(cwd: &Path, project: &Project) -> Vec<String> {
    let mut notes = Vec::new();
    let chosen = project
        .config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let from = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let mut siblings = crate::project::nearby_configs(&project.root);
    for name in crate::project::CONFIG_NAMES {
        if name != chosen && crate::files::is_regular(&project.root.join(name)) {
            siblings.push(crate::project::NearbyConfig {
                path: name.to_string(),
                copy_to: None,
            });
        }
    }
    for sibling in siblings {
        let path = crate::names::relative_path(&project.root.join(&sibling.path), &from);
        notes.push(match &sibling.copy_to {
            Some(_) => format!("{path} is an example Wrangler config next to {chosen}; kvgen used {chosen}"),
            None => format!(
                "{path} is another Wrangler config next to {chosen}; kvgen used {chosen} (pass --config {} to use the other)",
                crate::names::shell_word(&path)
            ),
        });
    }
    if project.lang == Lang::Ts && project.is_javascript_worker() {
        notes.push(format!(
            "the Worker is JavaScript ({}) and kvgen writes TypeScript for it (--lang ts, or lang = \"ts\" in kvgen.toml): wrangler bundles the modules with it; lang = \"js\" writes JavaScript instead",
            crate::names::terminal_text(project.main.as_deref().unwrap_or_default())
        ));
    }
    notes
}

/// Where a command that writes outputs the user names (`bulk --out`, `flags
/// set --out`) works: the real path of `out` and the folder whose lock the
/// run takes and whose journal it keeps. `out` must lie inside the current
/// folder or, failing that, inside the project (the folder of the Wrangler
/// config), once links are followed: a Worker in `worker/` of a monorepo
/// run from the repository's root writes there, as from its own folder.
pub(crate) fn output_place(
    cwd: &Path,
    global: &GlobalArgs,
    out: &Path,
    shown: &str,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let real = |dir: &Path| std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut roots = vec![real(cwd)];
    if let Some(project) = crate::project::config_path(cwd, global.config.as_deref())
        .ok()
        .and_then(|config| config.parent().map(real))
    {
        roots.push(project);
    }
    let mut refused = None;
    for root in roots {
        match crate::files::resolve_path_inside(&root, &cwd.join(out), shown) {
            Ok(path) => {
                crate::lock::hold(&root, global.dry_run)?;
                return Ok((root, path));
            }
            Err(e) => refused = Some(e),
        }
    }
    Err(refused.expect("the current folder is always tried").into())
}

/// The module folder: `--dir`, checked (relative, inside the project, plain
/// names only; for Rust a direct child of the crate root's folder, since it
/// becomes a module of the crate), else the default: for TypeScript `kv`
/// next to the config's `main`, for Rust `kv` next to the crate root.
pub(crate) fn module_dir(global: &GlobalArgs, project: &Project) -> Result<String, BadInput> {
    let lang = project.lang;
    let rust_parent = match lang {
        Lang::Rust => Some(crate::rust_crate::rust_module_parent(&project.root)?),
        Lang::Ts | Lang::Js => None,
    };
    let default = match rust_parent.as_deref() {
        Some("") => "kv".to_string(),
        Some(parent) => format!("{parent}/kv"),
        None if global.dir.is_none() => return default_ts_dir(project),
        None => String::new(),
    };
    let dir = global.dir.as_deref().unwrap_or(&default);
    let path = Path::new(dir);
    let plain = |c: &Component| match c {
        Component::Normal(name) => name.to_str().is_some_and(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && n != "."
                && n != ".."
        }),
        _ => false,
    };
    if dir.is_empty() || path.is_absolute() || !path.components().all(|c| plain(&c)) {
        return Err(BadInput::new(format!(
            "--dir {}: expected a relative folder inside the project made of plain names (letters, digits, '-', '_', '.'), e.g. src/kv",
            crate::names::show(dir)
        )));
    }
    let parts: Vec<&str> = path
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    if let Some(parent) = rust_parent {
        // The folder becomes a module of the crate: a child of the crate
        // root's folder, named like a Rust module.
        let module = parts.last().copied().unwrap_or_default();
        let is_ident = module.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && module
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !RUST_KEYWORDS.contains(&module);
        let folder = parts[..parts.len() - 1].join("/");
        if folder != parent || !is_ident {
            let (shape, example) = if parent.is_empty() {
                ("<module>".to_string(), "kv".to_string())
            } else {
                (format!("{parent}/<module>"), format!("{parent}/kv"))
            };
            return Err(BadInput::new(format!(
                "--dir {}: for Rust the folder must be {shape} (beside the crate root), with <module> a snake_case name that is not a keyword (e.g. {example})",
                crate::names::show(dir)
            )));
        }
    }
    Ok(parts.join("/"))
}

/// Folders that hold what a build makes, not sources: a `main` in one of
/// them is compiled from somewhere kvgen cannot know.
const BUILD_OUTPUTS: &[&str] = &[
    "dist",
    "build",
    "out",
    ".output",
    ".open-next",
    ".svelte-kit",
    ".vercel",
    ".next",
    ".nuxt",
    ".wrangler",
    "node_modules",
];

/// `kv` in the folder of the config's `main`: where the Worker's own code
/// is (`worker/index.ts` -> `worker/kv`). Without a `main`, or with one in a
/// build output or outside the project, there is no such folder to guess:
/// the user names one with `--dir`.
fn default_ts_dir(project: &Project) -> Result<String, BadInput> {
    let config = crate::names::show_path(&project.config);
    let Some(main) = project.main.as_deref() else {
        return Err(BadInput::new(format!(
            "{config}: no `main` (the Worker's entry), so kvgen cannot tell which folder holds the Worker's code (an assets-only or Pages project has none); pass --dir FOLDER, e.g. --dir src/kv"
        )));
    };
    let shown = crate::names::show(main);
    let outside = || {
        BadInput::new(format!(
            "{config}: main = {shown} is outside the project ({}); pass --dir FOLDER, a folder inside it for the modules",
            crate::names::show_path(&project.root)
        ))
    };
    let path = Path::new(main);
    let relative = if path.is_absolute() {
        path.strip_prefix(&project.root).map_err(|_| outside())?
    } else {
        path
    };
    let mut parts: Vec<String> = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(outside)?;
            }
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    parts.pop();
    // A bare or scoped package entry (`@tanstack/react-start/server-entry`)
    // names no folder of the project.
    let source = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"]
        .iter()
        .any(|ext| main.ends_with(ext));
    let is_package =
        !crate::files::is_regular(&project.root.join(main)) && (main.starts_with('@') || !source);
    if is_package {
        return Err(BadInput::new(format!(
            "{config}: main = {shown} is no path in the project (a package's entry, as frameworks such as TanStack Start use), so kvgen cannot tell which folder holds the Worker's code; pass --dir FOLDER, e.g. --dir src/kv"
        )));
    }
    // dist/, build/ and out/ are build outputs at the top of the project;
    // hidden ones (.output/, .svelte-kit/) and dependencies anywhere.
    let output = parts.iter().enumerate().find(|(i, p)| {
        BUILD_OUTPUTS.contains(&p.as_str())
            && (*i == 0 || p.starts_with('.') || *p == "node_modules")
    });
    if let Some((_, output)) = output {
        return Err(BadInput::new(format!(
            "{config}: main = {shown} is in a build output ({output}/): modules put next to it would not be the Worker's sources (the next build replaces that folder); pass --dir FOLDER with the folder of the sources it is built from, e.g. --dir src/kv"
        )));
    }
    parts.push("kv".to_string());
    let dir = parts.join("/");
    let plain = parts.iter().all(|p| {
        p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    if !plain {
        return Err(BadInput::new(format!(
            "{config}: main = {shown} is in a folder whose name is not only letters, digits, '-', '_' and '.', which kvgen does not write into by itself; pass --dir FOLDER, e.g. --dir src/kv"
        )));
    }
    Ok(dir)
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// Tells on stderr which files conflict (path, reason) and that nothing was
/// (or, in a dry run, would be) written; `hint` says what to do about it.
fn report_conflicts(conflicts: &[(&str, &str)], dry_run: bool, hint: &str) -> std::io::Result<()> {
    let mut err = std::io::stderr().lock();
    writeln!(err)?;
    for (path, reason) in conflicts {
        writeln!(
            err,
            "conflict: {}: {}",
            crate::names::show_path(Path::new(path)),
            crate::names::terminal_text(reason)
        )?;
    }
    if dry_run {
        writeln!(
            err,
            "A real run would write nothing. Add --force to overwrite."
        )
    } else {
        writeln!(err, "Nothing was written. {hint}")
    }
}

/// Reports the plan and, unless it is a dry run or has conflicts, applies it.
pub(crate) fn finish(command: &str, mut plan: Plan, global: &GlobalArgs) -> anyhow::Result<u8> {
    plan.finish();
    plan.next_steps = runnable_all(global, std::mem::take(&mut plan.next_steps));
    plan.check(global.force)?;
    let conflicts = plan.has_conflicts();
    let write = !global.dry_run && !conflicts;
    if write {
        plan.apply()?;
    }
    // Conflicts written with their markers (`--write-conflicts`) still
    // need the user: exit 1, and the files named.
    let marked: Vec<String> = plan
        .marked_conflicts()
        .iter()
        .map(|f| shown_path(&plan, &f.path))
        .collect();
    let code = if (conflicts || !marked.is_empty()) && !global.dry_run {
        EXIT_CONFLICT
    } else {
        EXIT_OK
    };
    if write && !marked.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "conflict markers written into {}: keep what you want between <<<<<<< and >>>>>>> in each, remove the markers, then run kvgen sync",
            crate::names::terminal_text(&marked.join(", "))
        );
    }
    if global.json {
        let files: Vec<_> = plan
            .files
            .iter()
            .map(|f| {
                let mut entry = serde_json::to_value(f).expect("file changes serialize");
                entry["path"] = json!(shown_path(&plan, &f.path));
                if global.dry_run {
                    entry["diff"] = json!(f.diff());
                }
                entry
            })
            .collect();
        let mut report = json!({
            "command": command,
            "dry_run": global.dry_run,
            "written": write,
            "exit_code": code,
            "files": files,
            "warnings": plan.warnings,
            "notes": plan.notes,
            "next_steps": if conflicts { Vec::new() } else { plan.next_steps.clone() },
        });
        if let Some(header) = &plan.header {
            report["config"] = json!(header.config);
            report["root"] = json!(header.root);
            report["lang"] = json!(header.lang);
            report["module_dir"] = json!(header.modules);
        }
        print_json(&report, write)?;
        return Ok(code);
    }
    let mut out = String::new();
    if let Some(header) = &plan.header {
        let lang = match header.lang {
            Lang::Ts => "TypeScript",
            Lang::Js => "JavaScript",
            Lang::Rust => "Rust",
        };
        out.push_str(&format!(
            "{}: {lang} Worker in {}, modules in {}\n",
            header.config, header.root, header.modules
        ));
    }
    for file in &plan.files {
        out.push_str(&format!(
            "{:>10}  {}\n",
            file.status.word(),
            shown_path(&plan, &file.path)
        ));
    }
    for warning in &plan.warnings {
        out.push_str(&format!("\nwarning: {warning}\n"));
    }
    for note in &plan.notes {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    if global.dry_run {
        for file in &plan.files {
            let diff = file.diff();
            if !diff.is_empty() {
                out.push('\n');
                out.push_str(&diff);
            }
        }
    }
    if conflicts {
        print_report(&out, write);
        let shown: Vec<(String, &str)> = plan
            .files
            .iter()
            .filter(|f| f.status == Status::Conflict)
            .map(|f| {
                (
                    shown_path(&plan, &f.path),
                    f.reason.as_deref().unwrap_or("differs"),
                )
            })
            .collect();
        let conflicting: Vec<(&str, &str)> = shown.iter().map(|(p, r)| (p.as_str(), *r)).collect();
        let _ = report_conflicts(
            &conflicting,
            global.dry_run,
            "Add --dry-run to see the differences, --force to overwrite.",
        );
        return Ok(code);
    }
    if global.dry_run {
        out.push_str("\nDry run: nothing was written.\n");
    }
    if !plan.next_steps.is_empty() {
        out.push_str("\nNext steps:\n");
        for step in &plan.next_steps {
            out.push_str(&format!("  {step}\n"));
        }
    }
    print_report(&out, write);
    Ok(code)
}

/// A file of the plan as the report shows it: relative to the folder the
/// run was started in.
pub(crate) fn shown_path(plan: &Plan, path: &str) -> String {
    match (&plan.header, &plan.root) {
        (Some(header), Some(root)) => crate::names::relative_path(&root.join(path), &header.from),
        _ => crate::names::show_path(Path::new(path)),
    }
}

/// Prints a run's report on stdout. A report that cannot be printed (stdout
/// closed, a full disk behind a redirection) changes nothing about the
/// run: its outcome and exit code stay what they are, and stderr says so.
pub(crate) fn print_report(text: &str, written: bool) {
    print_raw(&crate::names::terminal_text(text), written);
}

/// Prints a run's report as JSON ([`print_report`]'s rules).
pub(crate) fn print_json(report: &serde_json::Value, written: bool) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    print_raw(&format!("{}\n", crate::names::json_text(&text)), written);
    Ok(())
}

fn print_raw(text: &str, written: bool) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        let done = if written {
            "the files were written"
        } else {
            "nothing was written"
        };
        let _ = writeln!(
            std::io::stderr(),
            "kvgen: cannot print the report ({e}); {done}"
        );
    }
}

/// The most source files a run reads, and the largest it reads.
const MAX_SOURCES: usize = 2000;
const MAX_SOURCE_BYTES: u64 = 1 << 20;

/// The Worker's source files below `root` whose names `keep` accepts, in
/// a stable order: dependencies, build output, hidden folders and the
/// folders of `skip` (relative to `root`) left out; at most 2000 files of
/// at most 1 MiB each, so a monorepo or a vendored tree stays quick.
pub(super) fn source_files(
    root: &Path,
    keep: &dyn Fn(&str) -> bool,
    skip: &[String],
) -> Vec<std::path::PathBuf> {
    const NOT_SOURCES: [&str; 6] = ["node_modules", "target", "dist", "build", "out", ".output"];
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            if out.len() >= MAX_SOURCES {
                return out;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !name.starts_with('.')
                    && !NOT_SOURCES.contains(&name.as_str())
                    && !skip.contains(&crate::names::relative_path(&path, root))
                {
                    stack.push(path);
                }
            } else if kind.is_file()
                && keep(&name)
                && entry.metadata().is_ok_and(|m| m.len() <= MAX_SOURCE_BYTES)
            {
                out.push(path);
            }
        }
    }
    out
}
