//! `kvgen bulk`: the bulk helpers module for a binding; `kvgen bulk put FILE`
//! and `kvgen bulk delete FILE`: data turned into checked Wrangler bulk files.

use std::cell::Cell;
use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::generate;
use super::sync::{self, Run};
use crate::bulk::input::BOM;
use crate::bulk::output::{self, Chunks};
use crate::bulk::{self, Format, Kind, Rules, Settings, Stop};
use crate::cli::{BulkDataArgs, BulkPutArgs, GlobalArgs};
use crate::config::{self, KvBinding};
use crate::design::{Module, Purpose};
use crate::error::{BadInput, EXIT_BAD_INPUT, EXIT_CONFLICT, EXIT_OK};
use crate::names;
use crate::names::shell_word;
use crate::plan::{Plan, Status, read_text};
use crate::project;
use crate::transaction::{Expect, NewMode, Transaction};

/// The `.gitignore` a new output folder gets: bulk files hold the user's
/// data (often production data), which should never be committed by
/// accident. The folder ignores itself, so no file of the user's is edited
/// (the way `.venv` or `.pytest_cache` do); deleting it lets the files be
/// committed, and a folder that was there before is never given one.
const IGNORE_ALL: &str = "# Made by kvgen: the files here hold data for `wrangler kv bulk`, kept out of git.\n# Delete this file to commit them.\n*\n";

/// The next step for an output folder that was there before the run, when
/// git would commit the files in it.
fn out_of_git_step(
    answer: &super::session::git::Git,
    shown_out: &str,
    file: &str,
) -> Option<String> {
    use super::session::git::Git;
    let folder = shell_word(shown_out);
    match answer {
        Git::Repository { tracked: true, .. } => Some(format!(
            "git rm -r -q --cached {folder} && printf '*\\n' > {folder}/.gitignore   # the files hold your data and git tracks them"
        )),
        Git::Repository { ignored: false, .. } => Some(format!(
            "printf '*\\n' > {folder}/.gitignore   # the files hold your data: keep them out of git"
        )),
        Git::Repository { .. } | Git::NoRepository => None,
        Git::Unavailable(reason) => Some(format!(
            "git check-ignore {}   # git could not be asked ({reason}): it must print the path, or the data files could be committed",
            shell_word(file)
        )),
    }
}

/// How many invalid entries a report lists.
const LISTED_PROBLEMS: usize = 100;

/// The KV bindings of the config (top level or `env.NAME`).
pub(super) fn bindings(config: &Path, env: Option<&str>) -> anyhow::Result<Vec<String>> {
    let shown = crate::names::show_path(config);
    let raw = read_text(config, &shown)?
        .ok_or_else(|| BadInput::new(format!("{shown}: cannot read the Wrangler config")))?;
    let entries = config::kv_namespaces(config::Format::of(config), &raw, env)
        .map_err(|e| BadInput::new(format!("{shown}:{e}")))?;
    Ok(entries.into_iter().map(|e| e.binding).collect())
}

/// Where the config's bindings are, for messages.
pub(super) fn place(config: &Path, env: Option<&str>) -> String {
    let name = config.file_name().map_or_else(
        || crate::names::show_path(config),
        |n| n.to_string_lossy().into_owned(),
    );
    match env {
        Some(env) => format!("{name} (env.{env})"),
        None => name,
    }
}

/// The binding when `--binding` is not given: the only one in the config.
pub(super) fn only_binding(
    config: &Path,
    env: Option<&str>,
    missing: &str,
) -> anyhow::Result<String> {
    let found = bindings(config, env)?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(BadInput::new(format!(
            "{} has no KV binding: {missing}",
            place(config, env)
        ))
        .into()),
        several => Err(BadInput::new(format!(
            "{} has several KV bindings ({}): pass --binding with the one to use",
            place(config, env),
            several.join(", ")
        ))
        .into()),
    }
}

/// `kvgen bulk`: the bulk helpers module.
pub fn plan(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Plan> {
    let binding = match global.binding.as_deref() {
        Some(name) => names::binding(name)?.to_string(),
        None => {
            let config = project::config_path(cwd, global.config.as_deref())?;
            let env = first_env(global)?;
            only_binding(
                &config,
                env.as_deref(),
                "pass --binding NAME (kvgen adds it)",
            )?
        }
    };
    let binding = KvBinding::new(binding);
    let run = Run {
        binding: &binding.binding,
        title: None,
        purpose: Purpose::Data,
        default_ttl: None,
        fallback_ttl: None,
        modules: &[Module::Bulk],
        cron: None,
        cookie: None,
        metrics: None,
    };
    let mut plan = sync::command(cwd, global, run, binding.clone(), "bulk")?
        .prepared
        .plan;
    let name = &binding.binding;
    plan.next_steps.push(generate::follow_up(
        "kvgen bulk put data.ndjson",
        global,
        name,
        "checks data and writes files for `wrangler kv bulk put`",
    ));
    Ok(plan)
}

/// The first environment a run targets (`--all-envs` starts with the top
/// level): where a binding is looked for when none is named.
fn first_env(global: &GlobalArgs) -> Result<Option<String>, BadInput> {
    if global.all_envs {
        return Ok(None);
    }
    Ok(super::env_names(global)?.into_iter().next().flatten())
}

/// The environments a run's printed commands are for.
fn data_envs(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Vec<Option<String>>> {
    if !global.all_envs {
        return Ok(super::env_names(global)?);
    }
    let project =
        project::Project::discover(cwd, global.config.as_deref(), Some(project::Lang::Ts))?;
    Ok(super::envs(global, &project)?)
}

/// The binding the printed Wrangler commands use: the same in every
/// environment the run targets.
fn data_binding(
    cwd: &Path,
    global: &GlobalArgs,
    envs: &[Option<String>],
) -> anyhow::Result<String> {
    let mut found: Option<String> = None;
    for env in envs {
        let binding = env_binding(cwd, global, env.as_deref())?;
        match &found {
            Some(first) if *first != binding => {
                return Err(BadInput::new(format!(
                    "the only KV binding is {first} in one environment and {binding} in another: pass --binding with the one to use"
                ))
                .into());
            }
            _ => found = Some(binding),
        }
    }
    Ok(found.expect("one environment at least"))
}

/// The binding of one environment.
fn env_binding(cwd: &Path, global: &GlobalArgs, env: Option<&str>) -> anyhow::Result<String> {
    let config = project::config_path(cwd, global.config.as_deref());
    match (global.binding.as_deref(), config) {
        (Some(name), Err(_)) if global.config.is_none() => Ok(names::binding(name)?.to_string()),
        (Some(name), config) => {
            let name = names::binding(name)?;
            let config = config?;
            let found = bindings(&config, env)?;
            if !found.iter().any(|b| b == name) {
                let has = if found.is_empty() {
                    "none".to_string()
                } else {
                    found.join(", ")
                };
                let env_arg = env.map(|e| format!(" --env {e}")).unwrap_or_default();
                return Err(BadInput::new(format!(
                    "--binding {name}: {} has no such KV binding (it has: {has}); add it with `kvgen create NAMESPACE --binding {name}{env_arg}{}`",
                    place(&config, env),
                    super::config_arg(global, "--config")
                ))
                .into());
            }
            Ok(name.to_string())
        }
        (None, config) => {
            let config = config?;
            only_binding(&config, env, "pass --binding NAME")
        }
    }
}

/// `expiration_ttl` for entries without one (`--ttl`).
fn ttl(arg: Option<&str>) -> Result<Option<u64>, BadInput> {
    arg.map(|ttl| match ttl.parse::<u64>() {
        Ok(seconds) if seconds >= bulk::entry::MIN_TTL => Ok(seconds),
        _ => Err(BadInput::new(format!(
            "--ttl {}: expected a whole number of seconds, at least 60 (the Workers KV minimum)",
            names::show(ttl)
        ))),
    })
    .transpose()
}

/// A file name part made of characters that need no quoting anywhere.
fn plain_stem(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("data{stem}")
    } else {
        stem
    }
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// A one-line progress report on stderr, for inputs that take a while;
/// only when stderr is a terminal.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Option<Instant>,
    total: Option<u64>,
    read: Rc<Cell<u64>>,
}

impl Progress {
    fn tick(&mut self, entries: u64) {
        if !self.enabled || self.started.elapsed() < Duration::from_millis(500) {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.last = Some(Instant::now());
        let read = self.read.get();
        let line = match self.total {
            Some(total) if total > 0 => {
                let width = 30;
                let done = ((read.min(total) * width) / total) as usize;
                format!(
                    "[{}{}] {:>3}%  {} of {}, {entries} entries",
                    "#".repeat(done),
                    "-".repeat(width as usize - done),
                    read.min(total) * 100 / total,
                    size(read),
                    size(total)
                )
            }
            _ => format!("{} read, {entries} entries", size(read)),
        };
        eprint!("\r\x1b[2K{line}");
    }

    fn clear(&self) {
        if self.last.is_some() {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Bytes in decimal units, like the 100 MB limit.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1000 => format!("{b} B"),
        b if b < 1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{:.1} MB", b as f64 / 1e6),
    }
}

/// One output file of the report.
struct OutFile {
    shown: String,
    status: Status,
    entries: usize,
    bytes: u64,
}

/// The data to convert.
struct Input {
    reader: Box<dyn Read>,
    format: Format,
    /// Its size, when known (not for stdin), for the progress bar.
    total: Option<u64>,
    /// Its name in messages.
    shown: String,
    /// The first part of the names of its bulk files.
    stem: String,
}

/// Opens FILE (or stdin for `-`) and settles its format: `--format`, else
/// the extension, else (stdin) the first character.
fn open_input(cwd: &Path, args: &BulkDataArgs) -> anyhow::Result<Input> {
    if args.file.as_os_str() == "-" {
        let mut stdin = io::stdin().lock();
        let mut head = Vec::new();
        let format = match args.format {
            Some(format) => format,
            None => {
                // Read up to the first character past a BOM and whitespace.
                let mut byte = [0u8; 1];
                let first = loop {
                    if stdin.read(&mut byte)? == 0 {
                        break None;
                    }
                    head.push(byte[0]);
                    let in_bom = head.len() <= BOM.len() && BOM.starts_with(&head);
                    if !in_bom && !byte[0].is_ascii_whitespace() {
                        break Some(byte[0]);
                    }
                };
                Format::sniff(first)
            }
        };
        return Ok(Input {
            reader: Box::new(io::Cursor::new(head).chain(stdin)),
            format,
            total: None,
            shown: "stdin".to_string(),
            stem: "stdin".to_string(),
        });
    }
    let shown = names::show_path(&args.file);
    let file = fs::File::open(cwd.join(&args.file))
        .map_err(|e| BadInput::new(format!("{shown}: cannot read it: {e}")))?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(BadInput::new(format!("{shown}: is a folder, not a file")).into());
    }
    let format = match args.format {
        Some(format) => format,
        None => Format::from_extension(&shown).ok_or_else(|| {
            BadInput::new(format!(
                "{shown}: cannot tell its format from the extension (.json, .ndjson, .jsonl, .csv); pass --format json|ndjson|csv"
            ))
        })?,
    };
    Ok(Input {
        reader: Box::new(file),
        format,
        total: Some(metadata.len()),
        stem: plain_stem(&args.file),
        shown,
    })
}

/// `kvgen bulk put FILE` / `kvgen bulk delete FILE`.
pub fn data(
    cwd: &Path,
    global: &GlobalArgs,
    kind: Kind,
    args: &BulkDataArgs,
    put: Option<&BulkPutArgs>,
) -> anyhow::Result<u8> {
    let envs = data_envs(cwd, global)?;
    if !(1..=output::MAX_CHUNK).contains(&args.chunk) {
        return Err(BadInput::new(format!(
            "--chunk {}: expected 1 to {} entries per file (Cloudflare's limit per bulk request)",
            args.chunk,
            output::MAX_CHUNK
        ))
        .into());
    }
    let prefix = args.prefix.clone().unwrap_or_default();
    if prefix.len() > bulk::entry::MAX_KEY_BYTES {
        return Err(BadInput::new(format!(
            "--prefix is {} bytes; keys (prefix included) are at most {} UTF-8 bytes",
            prefix.len(),
            bulk::entry::MAX_KEY_BYTES
        ))
        .into());
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rules = Rules {
        kind,
        prefix,
        ttl: ttl(put.and_then(|p| p.ttl.as_deref()))?,
        base64: put.is_some_and(|p| p.base64),
        now,
    };
    // Where the files go: inside the current folder or the project, under
    // a name that can be printed as it is; one run at a time writes there.
    let shown_out = args.out.to_string_lossy().trim_end_matches('/').to_string();
    if shown_out.is_empty() || names::show_path(Path::new(&shown_out)) != shown_out {
        return Err(BadInput::new(format!(
            "--out {}: the folder name must be UTF-8 text without control characters, to be printed in commands",
            names::show_path(&args.out)
        ))
        .into());
    }
    let (lock_root, out_dir) =
        super::output_place(cwd, global, &args.out, &format!("--out {shown_out}"))?;
    let binding = data_binding(cwd, global, &envs)?;

    let Input {
        reader: source,
        format,
        total,
        shown: shown_input,
        stem,
    } = open_input(cwd, args)?;
    let read = Rc::new(Cell::new(0u64));

    if out_dir.exists() && !out_dir.is_dir() {
        return Err(BadInput::new(format!("--out {shown_out}: exists and is not a folder")).into());
    }
    // A folder this run makes keeps itself out of git (see [`IGNORE_ALL`]).
    let new_out_dir = !out_dir.exists();
    // Chunks are written next to their final place (a dry run: elsewhere),
    // as temporary files of one transaction: all are put in place, or none.
    let tx = if global.dry_run {
        Transaction::scratch()
    } else {
        Transaction::begin(&lock_root)
    };
    let temp_dir = if global.dry_run {
        std::env::temp_dir()
    } else {
        out_dir.clone()
    };
    let label = format!("{shown_out}/{stem}-{}-", kind.word());
    let mut chunks = Chunks::new(&tx, &temp_dir, &label, args.chunk, output::MAX_FILE_BYTES);
    let settings = Settings {
        rules,
        format,
        skip_invalid: args.skip_invalid,
        keep_problems: LISTED_PROBLEMS,
    };
    let mut progress = Progress {
        enabled: io::stderr().is_terminal() && !global.json,
        started: Instant::now(),
        last: None,
        total,
        read: Rc::clone(&read),
    };
    let source = Counting {
        inner: source,
        read: Rc::clone(&read),
    };
    let converted = bulk::convert(&settings, source, &mut chunks, &mut |n| progress.tick(n));
    progress.clear();
    let outcome = match converted {
        Ok(outcome) => outcome,
        Err(stop) => {
            return Err(match stop {
                Stop::Broken { line, reason } => BadInput::new(format!(
                    "{shown_input}:{line}: {}; nothing was written",
                    names::terminal_text(&reason)
                ))
                .into(),
                Stop::Io(e) => {
                    anyhow::anyhow!("converting {shown_input}: {e}; nothing was written")
                }
            });
        }
    };
    let problem_lines: Vec<String> = outcome
        .problems
        .iter()
        .map(|p| match p.index {
            Some(i) => format!("{shown_input}:{} (entry {i}): {}", p.line, p.reason),
            None => format!("{shown_input}:{}: {}", p.line, p.reason),
        })
        .collect();
    let unlisted = outcome.invalid - outcome.problems.len() as u64;
    let command = format!("bulk {}", kind.word());
    if outcome.invalid > 0 && !args.skip_invalid {
        let plural = |n: u64| if n == 1 { "entry" } else { "entries" };
        let mut message = format!(
            "{shown_input}: {} invalid {}; nothing was written (fix {}, or pass --skip-invalid to write the {} valid {}):",
            outcome.invalid,
            plural(outcome.invalid),
            if outcome.invalid == 1 { "it" } else { "them" },
            outcome.valid,
            plural(outcome.valid)
        );
        for line in &problem_lines {
            message.push_str("\n  ");
            message.push_str(line);
        }
        if unlisted > 0 {
            message.push_str(&format!("\n  … and {unlisted} more"));
        }
        if global.json {
            let report = json!({
                "command": command,
                "error": message,
                "exit_code": EXIT_BAD_INPUT,
                "input": shown_input,
                "entries": outcome.valid,
                "invalid": outcome.invalid,
                "problems": outcome.problems,
                "written": false,
            });
            super::print_json(&report, false)?;
        }
        let _ = writeln!(io::stderr(), "error: {}", names::terminal_text(&message));
        return Ok(EXIT_BAD_INPUT);
    }

    // Name the chunks and compare them with what is on disk.
    let done = chunks
        .finish(&outcome.remove)
        .map_err(|e| anyhow::anyhow!("converting {shown_input}: {e}; nothing was written"))?;
    let width = 4.max(done.len().to_string().len());
    let name = |i: usize| format!("{stem}-{}-{i:0width$}.json", kind.word());
    let mut files = Vec::new();
    let mut pending = Vec::new();
    for (i, chunk) in done.into_iter().enumerate() {
        let file_name = name(i + 1);
        let path = out_dir.join(&file_name);
        let shown = format!("{shown_out}/{file_name}");
        let (status, seen) = match chunk.compare(&path, &shown)? {
            None => (Status::Create, None),
            Some((true, _)) => (Status::Identical, None),
            Some((false, seen)) if global.force => (Status::Force, Some(seen)),
            Some((false, seen)) => (Status::Conflict, Some(seen)),
        };
        files.push(OutFile {
            shown: shown.clone(),
            status,
            entries: chunk.entries,
            bytes: chunk.bytes,
        });
        pending.push((chunk, path, shown, status, seen));
    }
    let ignore_file = (new_out_dir && !files.is_empty()).then(|| OutFile {
        shown: format!("{shown_out}/.gitignore"),
        status: Status::Create,
        entries: 0,
        bytes: IGNORE_ALL.len() as u64,
    });
    let conflicts = files.iter().any(|f| f.status == Status::Conflict);
    let write = !global.dry_run && !conflicts;
    if write {
        if let Some(ignore) = &ignore_file {
            tx.stage(
                &out_dir.join(".gitignore"),
                &ignore.shown,
                IGNORE_ALL.as_bytes(),
                Expect::Absent,
                NewMode::Normal,
            )
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot write {}: {e}; nothing was written",
                    names::show_path(Path::new(&ignore.shown))
                )
            })?;
        }
        for (chunk, path, shown, status, seen) in pending {
            if status != Status::Identical {
                chunk.stage(&tx, &path, &shown, seen).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot write {}: {e}; nothing was written",
                        names::show_path(Path::new(&shown))
                    )
                })?;
            }
        }
        tx.commit()?;
    } else {
        // Nothing is written: the chunks' temporary files go now.
        drop(tx);
    }
    // Files of an earlier run that this one did not produce.
    let stale: Vec<String> = fs::read_dir(&out_dir)
        .map(|entries| {
            let mut stale: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| {
                    let pattern = format!("{stem}-{}-", kind.word());
                    n.strip_prefix(&pattern)
                        .and_then(|rest| rest.strip_suffix(".json"))
                        .and_then(|number| number.parse::<usize>().ok())
                        .is_some_and(|number| number > files.len())
                })
                .map(|n| format!("{shown_out}/{}", names::show_path(Path::new(&n))))
                .collect();
            stale.sort();
            stale
        })
        .unwrap_or_default();

    // A folder that was there already: git is asked whether it would
    // commit the files, and the next steps say what to do if so.
    let git_step = match files.first() {
        Some(first) if !new_out_dir && !conflicts => {
            let name = first.shown.rsplit('/').next().unwrap_or_default();
            let answer = super::session::git::ask(&out_dir, name);
            out_of_git_step(&answer, &shown_out, &first.shown)
        }
        _ => None,
    };
    let mut next_steps: Vec<String> = if conflicts {
        Vec::new()
    } else {
        let binding = &binding;
        let files = &files;
        envs.iter()
            .flat_map(|env| {
                files.iter().map(move |f| {
                    generate::wrangler(
                        global,
                        &format!(
                            "kv bulk {} {} --binding {binding} --remote",
                            kind.word(),
                            shell_word(&f.shown)
                        ),
                        env.as_deref(),
                    )
                })
            })
            .collect()
    };
    next_steps.extend(git_step);
    let next_steps = super::runnable_all(global, next_steps);
    let code = if conflicts && !global.dry_run {
        EXIT_CONFLICT
    } else {
        EXIT_OK
    };
    use std::fmt::Write as _;
    let mut out = String::new();
    if global.json {
        let report = json!({
            "command": command,
            "dry_run": global.dry_run,
            "written": write,
            "exit_code": code,
            "input": shown_input,
            "format": format,
            "binding": binding,
            "entries": outcome.valid,
            "invalid": outcome.invalid,
            "problems": outcome.problems,
            "files": files.iter().map(|f| json!({
                "path": f.shown,
                "status": f.status.word(),
                "entries": f.entries,
                "bytes": f.bytes,
            })).collect::<Vec<_>>(),
            "stale": stale,
            "ignore_file": ignore_file.as_ref().map(|f| json!({
                "path": f.shown,
                "status": f.status.word(),
            })),
            "next_steps": next_steps,
        });
        super::print_json(&report, write)?;
        return Ok(code);
    }
    if let Some(ignore) = &ignore_file {
        writeln!(
            out,
            "{:>10}  {}  (keeps the data files out of git)",
            ignore.status.word(),
            ignore.shown
        )?;
    }
    for f in &files {
        writeln!(
            out,
            "{:>10}  {}  ({} {}, {})",
            f.status.word(),
            f.shown,
            f.entries,
            if f.entries == 1 { "entry" } else { "entries" },
            size(f.bytes)
        )?;
    }
    if files.is_empty() {
        writeln!(out, "{shown_input} has no valid entries: no file to write.")?;
    }
    if outcome.invalid > 0 {
        let mut err = io::stderr().lock();
        let _ = writeln!(
            err,
            "skipped {} invalid {}:",
            outcome.invalid,
            if outcome.invalid == 1 {
                "entry"
            } else {
                "entries"
            }
        );
        for line in &problem_lines {
            let _ = writeln!(err, "  {line}");
        }
        if unlisted > 0 {
            let _ = writeln!(err, "  … and {unlisted} more");
        }
    }
    if !stale.is_empty() {
        let mut err = io::stderr().lock();
        let _ = writeln!(
            err,
            "note: left from an earlier run and not part of this one: {}",
            stale.join(", ")
        );
    }
    if conflicts {
        let conflicting: Vec<(&str, &str)> = files
            .iter()
            .filter(|f| f.status == Status::Conflict)
            .map(|f| (f.shown.as_str(), "holds other data than this run produced"))
            .collect();
        super::print_report(&out, write);
        let _ = super::report_conflicts(&conflicting, global.dry_run, "Add --force to overwrite.");
        return Ok(code);
    }
    if global.dry_run {
        writeln!(out, "\nDry run: nothing was written.")?;
    }
    if !next_steps.is_empty() {
        writeln!(out, "\nNext steps:")?;
        for step in &next_steps {
            writeln!(out, "  {step}")?;
        }
    }
    super::print_report(&out, write);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_and_paths_need_no_quoting_or_are_quoted() {
        assert_eq!(plain_stem(Path::new("data/users.ndjson")), "users");
        assert_eq!(
            plain_stem(Path::new("my data;rm -rf.csv")),
            "my_data_rm_-rf"
        );
        assert_eq!(plain_stem(Path::new(".hidden")), "data.hidden");
        assert_eq!(
            shell_word("kv-bulk/users-put-0001.json"),
            "kv-bulk/users-put-0001.json"
        );
        assert_eq!(shell_word("my out/a.json"), "'my out/a.json'");
        assert_eq!(shell_word("$(x)/a.json"), "'$(x)/a.json'");
    }

    #[test]
    fn sizes_use_decimal_units() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1500), "1.5 kB");
        assert_eq!(size(99_999_999), "100.0 MB");
    }
}
