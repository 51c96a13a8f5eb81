//! `kvgen export --local | --remote`: every live key of a namespace, in key
//! order, as the NDJSON `kvgen bulk put` reads, or (`--format bulk`) as the
//! files `kvgen bulk put` writes for `wrangler kv bulk put`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

use crate::cli::{BulkDataArgs, BulkPutArgs, ExportArgs, ExportFormat, GlobalArgs};
use crate::config;
use crate::error::{BadInput, EXIT_CONFLICT, EXIT_OK};
use crate::export::{Record, local::Local, write_line};
use crate::export_remote::{Credentials, RemoteExport, ResumeState, Sink};
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
    let (binding, entry) = namespace(&project, &here, global, env)?;
    let prefix = args.prefix.clone().unwrap_or_default();
    let (source, from) = if args.remote {
        let shown = names::relative_path(&project.config, &here);
        let place = env.map_or(shown.clone(), |e| format!("{shown} (env.{e})"));
        let id = entry.id.clone().ok_or_else(|| {
            BadInput::new(format!(
                "--remote: binding {binding} of {place} has no id, so there is no namespace in Cloudflare to read: create it (`npx wrangler kv namespace create`) and put its id in the config"
            ))
        })?;
        let mut export = RemoteExport::new(Credentials::from_env()?, id.clone());
        export.prefix = args.prefix.clone();
        (
            Source::Remote(export),
            format!("{binding} (namespace {id})"),
        )
    } else {
        if args.resume {
            return Err(BadInput::new("--resume continues a --remote export").into());
        }
        let id = entry.local_id();
        (
            Source::Local(Local::new(&project.root, &id)),
            format!("{binding} (local namespace {id})"),
        )
    };
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
    match args.format {
        ExportFormat::Ndjson => {
            let to = match args.out.as_deref() {
                None => None,
                Some(path) if path == Path::new("-") => None,
                Some(path) => Some(path),
            };
            let Some(to) = to else {
                if args.resume {
                    return Err(BadInput::new(
                        "--resume continues an export into --out FILE: standard output cannot be taken back to where it stopped",
                    )
                    .into());
                }
                let stdout = std::io::stdout();
                let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
                source.for_each(&prefix, now, &mut |record| write(&mut out, record))?;
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
            if let (Source::Remote(export), false) = (&source, global.dry_run) {
                let expect = existing.map_or(Expect::Absent, |(_, meta)| {
                    Expect::Seen(Fingerprint::of(&meta))
                });
                let place = Place {
                    lock_root: &lock_root,
                    path: &path,
                    shown: &shown,
                    expect,
                };
                let resumed = remote_to_file(export, place, args.resume, &mut |out, record| {
                    write(out, record)
                })?;
                if resumed > 0 {
                    eprintln!("resumed after {resumed} keys an earlier run had read");
                }
                report(&from, &shown, &counts);
                return Ok(EXIT_OK);
            }
            if args.resume {
                return Err(BadInput::new(
                    "--resume continues a --remote export into --out FILE (a dry run writes nothing to continue)",
                )
                .into());
            }
            if global.dry_run {
                source.for_each(&prefix, now, &mut |record| {
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
                source.for_each(&prefix, now, &mut |record| write(&mut out, record))?;
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
                source.for_each(&prefix, now, &mut |record| write(&mut out, record))?;
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

/// Where the records come from.
enum Source {
    Local(Local),
    Remote(RemoteExport),
}

impl Source {
    /// Every live record under `prefix`, in key order (`now` in ms decides
    /// what is expired locally).
    fn for_each(
        &self,
        prefix: &str,
        now: i64,
        f: &mut dyn FnMut(Record) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match self {
            Source::Local(local) => local.for_each(prefix, now, f),
            Source::Remote(export) => {
                let mut sink = Each {
                    f,
                    progress: Progress::new(),
                };
                let result = export.run(&mut sink);
                sink.progress.done();
                result.map(|_| ())
            }
        }
    }
}

/// A count of records on stderr, rewritten in place, when stderr is a
/// terminal (a remote export of many keys takes a while).
struct Progress {
    shown: bool,
    on: bool,
}

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal;
        Progress {
            shown: false,
            on: std::io::stderr().is_terminal(),
        }
    }

    fn update(&mut self, emitted: u64) {
        if self.on {
            eprint!("\r{emitted} keys read…");
            self.shown = true;
        }
    }

    fn done(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            self.shown = false;
        }
    }
}

/// The records of a remote export, each given to `f`.
struct Each<'f> {
    f: &'f mut dyn FnMut(Record) -> anyhow::Result<()>,
    progress: Progress,
}

impl Sink for Each<'_> {
    fn record(&mut self, record: Record) -> std::io::Result<()> {
        (self.f)(record).map_err(std::io::Error::other)
    }

    fn checkpoint(&mut self, emitted: u64) -> std::io::Result<()> {
        self.progress.update(emitted);
        Ok(())
    }
}

/// The file an export goes to.
struct Place<'a> {
    /// The folder whose lock the run holds.
    lock_root: &'a Path,
    path: &'a Path,
    shown: &'a str,
    /// What the file is before the run.
    expect: Expect,
}

/// A remote export into a file: the records go to `FILE.partial`, and
/// after each list page its state (the next cursor, the records and bytes
/// so far) to `FILE.partial.state`; the whole file is renamed into place
/// at the end, and the state removed. An interrupted run leaves both, and
/// `resume` continues from them (the partial file cut back to the state's
/// bytes: no key twice, none missed). Returns how many records the
/// resumed run had read.
fn remote_to_file(
    export: &RemoteExport,
    place: Place<'_>,
    resume: bool,
    write: &mut dyn FnMut(&mut dyn Write, Record) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let name = place
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = place.path.with_file_name(format!("{name}.partial"));
    let state = place.path.with_file_name(format!("{name}.partial.state"));
    let shown_partial = names::show_path(&partial);
    let (file, start, resumed) = if resume {
        let saved = ResumeState::load(&state)?.ok_or_else(|| {
            BadInput::new(format!(
                "--resume: no interrupted export of {} to continue ({} is missing); run without --resume to start it",
                place.shown,
                names::show_path(&state)
            ))
        })?;
        let bytes = saved.output_bytes.ok_or_else(|| {
            BadInput::new(format!(
                "--resume: {} does not say how much of {shown_partial} is done; remove both to start over",
                names::show_path(&state)
            ))
        })?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&partial)
            .with_context(|| format!("--resume: cannot open {shown_partial}"))?;
        let length = file.metadata()?.len();
        if length < bytes {
            return Err(BadInput::new(format!(
                "--resume: {shown_partial} is shorter ({length} bytes) than its state says ({bytes}); remove both to start over"
            ))
            .into());
        }
        file.set_len(bytes)?;
        (file, bytes, saved.emitted)
    } else {
        match std::fs::remove_file(&state) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot remove {}", names::show_path(&state)));
            }
        }
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("cannot write {shown_partial}"))?;
        (file, 0, 0)
    };
    let mut export = export.clone();
    export.state_file = Some(state);
    let mut sink = FileSink {
        out: BufWriter::with_capacity(
            1 << 16,
            Counted {
                file: &file,
                bytes: start,
            },
        ),
        write,
        progress: Progress::new(),
    };
    {
        use std::io::Seek;
        (&file).seek(std::io::SeekFrom::Start(start))?;
    }
    let result = export.run(&mut sink);
    sink.progress.done();
    let flushed = sink.out.flush();
    if let Err(error) = result {
        return Err(error.context(format!(
            "the export stopped; {shown_partial} holds what was read: run the same command with --resume to continue"
        )));
    }
    flushed.with_context(|| format!("cannot write {shown_partial}"))?;
    drop(sink);
    file.sync_all()
        .with_context(|| format!("cannot write {shown_partial}"))?;
    drop(file);
    let tx = Transaction::begin(place.lock_root);
    tx.stage_temp(
        &partial,
        place.path,
        place.shown,
        place.expect,
        NewMode::Normal,
    )
    .with_context(|| format!("cannot write {}", place.shown))?;
    tx.commit()?;
    Ok(resumed)
}

/// A file, and how many bytes have been written to it.
struct Counted<'a> {
    file: &'a std::fs::File,
    bytes: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The records of a remote export into a file; flushed and synced at each
/// checkpoint, so the state written after it never says more than the file
/// holds.
struct FileSink<'a, 'w> {
    out: BufWriter<Counted<'a>>,
    write: &'w mut dyn FnMut(&mut dyn Write, Record) -> anyhow::Result<()>,
    progress: Progress,
}

impl Sink for FileSink<'_, '_> {
    fn record(&mut self, record: Record) -> std::io::Result<()> {
        (self.write)(&mut self.out, record).map_err(std::io::Error::other)
    }

    fn checkpoint(&mut self, emitted: u64) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().file.sync_data()?;
        self.progress.update(emitted);
        Ok(())
    }

    fn position(&self) -> Option<u64> {
        Some(self.out.get_ref().bytes + self.out.buffer().len() as u64)
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
/// level or `env.NAME`) and its entry in the config.
fn namespace(
    project: &Project,
    here: &Path,
    global: &GlobalArgs,
    env: Option<&str>,
) -> anyhow::Result<(String, config::KvBinding)> {
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
    Ok((entry.binding.clone(), entry.clone()))
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
