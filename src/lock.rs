//! One kvgen run at a time in a project, and a clean exit on signals.
//!
//! A run takes an exclusive lock on the project root before it reads
//! anything it may change, and keeps it until it exits. On Unix the lock is
//! `flock` on the root folder itself: no file is left behind, and the
//! operating system releases it whatever way the process ends, so a killed
//! run never leaves a stale lock. Elsewhere it is a lock on
//! `.kvgen.lock` in the root.
//!
//! Once it holds the lock, a run first finishes what an interrupted run
//! left (see [`crate::transaction::recover`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Busy;
use crate::transaction;

/// How long a run waits for another one in the same project.
const WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(20);

/// The locks this process holds, kept until it exits.
static HELD: Mutex<Vec<(PathBuf, File)>> = Mutex::new(Vec::new());

/// Takes the lock of the project in `root` (waiting for another kvgen run
/// there to finish, up to a minute), then undoes what an interrupted run
/// left, unless `dry_run` (which only says so).
pub fn hold(root: &Path, dry_run: bool) -> anyhow::Result<()> {
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    if held.iter().any(|(r, _)| r == root) {
        return Ok(());
    }
    if let Some(file) = take(root)? {
        held.push((root.to_path_buf(), file));
    }
    drop(held);
    if dry_run {
        if root.join(transaction::JOURNAL).exists() {
            eprintln!(
                "note: an interrupted kvgen run left {}; the next run that is not a dry run puts its files back first",
                transaction::JOURNAL
            );
        }
        return Ok(());
    }
    if let Some(done) = transaction::recover(root)? {
        let shown = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| {
                    let rel = p.strip_prefix(root).unwrap_or(p);
                    crate::names::show_path(rel)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut said = if done.completed {
            String::from(
                "note: an interrupted kvgen run had written all its files; its leftovers were removed",
            )
        } else if done.restored.is_empty() && done.removed.is_empty() {
            String::from(
                "note: an interrupted kvgen run had written nothing; its temporary files were removed",
            )
        } else {
            let mut said = String::from("note: an interrupted kvgen run was undone:");
            if !done.restored.is_empty() {
                said.push_str(&format!(" put back {}", shown(&done.restored)));
            }
            if !done.removed.is_empty() {
                if !done.restored.is_empty() {
                    said.push(';');
                }
                said.push_str(&format!(" removed {}", shown(&done.removed)));
            }
            said
        };
        if !done.kept.is_empty() {
            said.push_str(&format!(
                "\nnote: left as they are (changed since, or their backup is gone): {}",
                shown(&done.kept)
            ));
        }
        eprintln!("{said}");
    }
    Ok(())
}

/// The locked handle, or None where the file system cannot lock.
fn take(root: &Path) -> anyhow::Result<Option<File>> {
    #[cfg(unix)]
    let file = File::open(root);
    #[cfg(not(unix))]
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join(".kvgen.lock"));
    let Ok(file) = file else {
        return Ok(None);
    };
    let started = Instant::now();
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            // A file system without locks: the checks made just before each
            // file is replaced still stop a run that would lose an edit.
            Err(std::fs::TryLockError::Error(_)) => return Ok(None),
        }
        if started.elapsed() >= WAIT {
            return Err(Busy(format!(
                "another kvgen run in {} has held its lock for {} s; nothing was written (run kvgen again once it has finished)",
                crate::names::show_path(root),
                WAIT.as_secs()
            ))
            .into());
        }
        if !said && started.elapsed() >= Duration::from_millis(500) {
            eprintln!(
                "waiting for another kvgen run in {} to finish…",
                crate::names::show_path(root)
            );
            said = true;
        }
        std::thread::sleep(POLL);
    }
}

/// Makes SIGINT, SIGTERM and SIGHUP undo the run's unfinished writes before
/// the process exits (with 128 + the signal's number, as a shell reports
/// it).
pub fn exit_cleanly_on_signals() {
    #[cfg(unix)]
    {
        use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                transaction::abort_all();
                std::process::exit(128 + signal);
            }
        });
    }
}
