//! The commands: each turns validated arguments and the project on disk into
//! a [`Plan`], which [`finish`] reports and, unless told otherwise, applies.

mod bulk;
mod cache;
mod create;
mod flags;
mod generate;
mod session;

use std::io::Write;
use std::path::{Component, Path};

use anyhow::Context;
use serde_json::json;

use crate::cli::{BulkAction, Cli, Command, FlagsAction, GlobalArgs};
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

/// The module folder (`--dir`), checked: relative, inside the project, plain
/// names only; for Rust a direct child of the crate root's folder, since it
/// becomes a module of the crate.
fn module_dir(global: &GlobalArgs, project: &Project) -> Result<String, BadInput> {
    let lang = project.lang;
    let rust_parent = match lang {
        Lang::Rust => Some(crate::rust_crate::rust_module_parent(&project.root)?),
        Lang::Ts => None,
    };
    let default = match rust_parent.as_deref() {
        Some("") => "kv".to_string(),
        Some(parent) => format!("{parent}/kv"),
        None => "src/kv".to_string(),
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
fn finish(command: &str, mut plan: Plan, global: &GlobalArgs) -> anyhow::Result<u8> {
    plan.finish();
    plan.check(global.force)?;
    let conflicts = plan.has_conflicts();
    let write = !global.dry_run && !conflicts;
    if write {
        plan.apply()?;
    }
    let code = if conflicts && !global.dry_run {
        EXIT_CONFLICT
    } else {
        EXIT_OK
    };
    if global.json {
        let files: Vec<_> = plan
            .files
            .iter()
            .map(|f| {
                let mut entry = serde_json::to_value(f).expect("file changes serialize");
                if global.dry_run {
                    entry["diff"] = json!(f.diff());
                }
                entry
            })
            .collect();
        let report = json!({
            "command": command,
            "dry_run": global.dry_run,
            "written": write,
            "exit_code": code,
            "files": files,
            "next_steps": if conflicts { Vec::new() } else { plan.next_steps.clone() },
        });
        print_json(&report, write)?;
        return Ok(code);
    }
    let mut out = String::new();
    for file in &plan.files {
        let shown = crate::names::show_path(Path::new(&file.path));
        out.push_str(&format!("{:>10}  {shown}\n", file.status.word()));
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
        let conflicting: Vec<(&str, &str)> = plan
            .files
            .iter()
            .filter(|f| f.status == Status::Conflict)
            .map(|f| (f.path.as_str(), f.reason.as_deref().unwrap_or("differs")))
            .collect();
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
