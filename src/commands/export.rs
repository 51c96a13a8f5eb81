//! `kvgen export --local`: every live key of a namespace, in key order, as
//! the NDJSON `kvgen bulk put` reads, or (`--format bulk`) as the files
//! `kvgen bulk put` writes for `wrangler kv bulk put`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

use crate::cli::{BulkDataArgs, BulkPutArgs, ExportArgs, ExportFormat, GlobalArgs};
use crate::config;
use crate::error::{BadInput, EXIT_CONFLICT, EXIT_OK};
use crate::export::{Record, local::Local, write_line};
use crate::names;
use crate::project::{Lang, Project};
use crate::transaction::{Expect, Fingerprint, NewMode, Temp, Transaction};

/// What a run wrote.
#[derive(Debug, Default)]
struct Counts {
    keys: u64,
    value_bytes: u64,
    /// Keys whose expiration is within 60 s: KV would refuse them on put.
    expiring: u64,
}

pub fn run(cwd: &Path, global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<u8> {
    if global.all_envs {
        return Err(BadInput::new(
            "export reads one namespace: pass --env NAME for an environment's, not --all-envs",
        )
        .into());
    }
    let envs = super::env_names(global)?;
    let [env] = envs.as_slice() else {
        return Err(
            BadInput::new("export reads one namespace: pass one --env NAME at most").into(),
        );
    };
    let env = env.as_deref();
    let project = Project::discover(cwd, global.config.as_deref(), Some(Lang::Ts))?;
    let here = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let (binding, id) = namespace(&project, &here, global, env)?;
    let local = Local::new(&project.root, &id);
    let prefix = args.prefix.clone().unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let min_expiration = (now / 1000) as u64 + crate::bulk::entry::MIN_TTL;
    let mut counts = Counts::default();
    let mut write = |out: &mut dyn Write, record: Record| -> anyhow::Result<()> {
        if record.expiration.is_some_and(|e| e < min_expiration) {
            counts.expiring += 1;
            return Ok(());
        }
        counts.keys += 1;
        counts.value_bytes += record.value.len() as u64;
        write_line(&mut WriteRef(out), &record)?;
        Ok(())
    };
    let from = format!("{binding} (local namespace {id})");
    match args.format {
        ExportFormat::Ndjson => {
            let to = match args.out.as_deref() {
                None => None,
                Some(path) if path == Path::new("-") => None,
                Some(path) => Some(path),
            };
            let Some(to) = to else {
                let stdout = std::io::stdout();
                let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
                local.for_each(&prefix, now, &mut |record| write(&mut out, record))?;
                out.flush().context("cannot write to standard output")?;
                drop(out);
                report(&from, "standard output", &counts);
                return Ok(EXIT_OK);
            };
            let shown = names::show_path(to);
            let (lock_root, path) =
                super::output_place(cwd, global, to, &format!("--out {shown}"))?;
            let existing = crate::files::open_regular(&path, &shown)?;
            if existing.is_some() && !global.force {
                eprintln!("conflict: {shown}: exists (add --force to replace it)");
                return Ok(EXIT_CONFLICT);
            }
            if global.dry_run {
                local.for_each(&prefix, now, &mut |record| {
                    write(&mut std::io::sink(), record)
                })?;
                report(
                    &from,
                    &format!("{shown} (dry run: nothing was written)"),
                    &counts,
                );
                return Ok(EXIT_OK);
            }
            // A temporary file of a transaction next to FILE, renamed into
            // place when whole: a failure, a signal or a kill leaves FILE as
            // it was (the next run cleans up after a kill).
            let expect = existing.map_or(Expect::Absent, |(_, meta)| {
                Expect::Seen(Fingerprint::of(&meta))
            });
            let tx = Transaction::begin(&lock_root);
            let folder = path.parent().unwrap_or(Path::new("."));
            let Temp { file, path: temp } = tx
                .temp_in(folder)
                .with_context(|| format!("cannot write next to {shown}"))?;
            {
                let mut out = BufWriter::with_capacity(1 << 16, &file);
                local.for_each(&prefix, now, &mut |record| write(&mut out, record))?;
                out.flush()
                    .with_context(|| format!("cannot write {shown}"))?;
            }
            file.sync_all()
                .with_context(|| format!("cannot write {shown}"))?;
            drop(file);
            tx.stage_temp(&temp, &path, &shown, expect, NewMode::Normal)
                .with_context(|| format!("cannot write {shown}"))?;
            tx.commit()?;
            report(&from, &shown, &counts);
            Ok(EXIT_OK)
        }
        ExportFormat::Bulk => {
            // The NDJSON goes through `kvgen bulk put` itself: the same
            // checks, the same files, named after the binding.
            let scratch = tempfile::tempdir().context("cannot make a temporary folder")?;
            let file: PathBuf = scratch.path().join(format!(
                "{}.ndjson",
                binding.to_ascii_lowercase().replace('_', "-")
            ));
            {
                let handle =
                    std::fs::File::create(&file).context("cannot write a temporary file")?;
                let mut out = BufWriter::with_capacity(1 << 16, handle);
                local.for_each(&prefix, now, &mut |record| write(&mut out, record))?;
                out.flush().context("cannot write a temporary file")?;
            }
            report(&from, "kvgen bulk put", &counts);
            let data = BulkDataArgs {
                file,
                format: Some(crate::bulk::Format::Ndjson),
                out: args.out.clone().unwrap_or_else(|| PathBuf::from("kv-bulk")),
                chunk: crate::bulk::output::MAX_CHUNK,
                prefix: None,
                skip_invalid: false,
            };
            let put = BulkPutArgs {
                data,
                ttl: None,
                base64: false,
            };
            let global = GlobalArgs {
                binding: Some(binding),
                ..global.clone()
            };
            super::bulk::data(cwd, &global, crate::bulk::Kind::Put, &put.data, Some(&put))
        }
    }
}

/// `&mut dyn Write` as a sized writer.
struct WriteRef<'a>(&'a mut dyn Write);

impl Write for WriteRef<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The binding to export (`--binding`, else the only KV binding of the top
/// level or `env.NAME`) and the id of its local namespace: what `wrangler
/// dev` uses, `preview_id`, else `id`, else the binding name.
fn namespace(
    project: &Project,
    here: &Path,
    global: &GlobalArgs,
    env: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let shown = names::relative_path(&project.config, here);
    let raw = crate::files::read_text(&project.config, &shown)?
        .ok_or_else(|| BadInput::new(format!("{shown}: cannot read the Wrangler config")))?;
    let entries = config::kv_namespaces(project.format, &raw, env)
        .map_err(|e| BadInput::new(format!("{shown}:{e}")))?;
    let place = match env {
        Some(env) => format!("{shown} (env.{env})"),
        None => shown.clone(),
    };
    let name = match global.binding.as_deref() {
        Some(name) => names::binding(name)?.to_string(),
        None => super::bulk::only_binding(&project.config, env, "nothing to export")?,
    };
    let entry = entries.iter().find(|e| e.binding == name).ok_or_else(|| {
        BadInput::new(format!("--binding {name}: {place} has no such KV binding"))
    })?;
    let id = entry.local_id();
    Ok((entry.binding.clone(), id))
}

/// Says on stderr what was exported (stdout may be the data).
fn report(from: &str, to: &str, counts: &Counts) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "exported {} keys ({} bytes of values) from {} to {}",
        counts.keys,
        counts.value_bytes,
        names::terminal_text(from),
        names::terminal_text(to)
    );
    if counts.expiring > 0 {
        let _ = writeln!(
            err,
            "left out {} keys that expire within 60 s (KV refuses such an expiration)",
            counts.expiring
        );
    }
}
