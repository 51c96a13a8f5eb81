//! Writing a set of files all or nothing.
//!
//! Every file a run writes is first staged: written to a temporary file
//! next to its target (`.kvgen-<run>-<n>.tmp`), with its final permissions
//! (and flushed to disk when it replaces a file of the user's). Only when every file is staged does the commit
//! rename them into place, one after the other, each after checking that
//! its target still holds what the run read. A file that is replaced is
//! first hard-linked to a backup, so a failed rename puts back every file
//! already replaced.
//!
//! A journal in the project root (`.kvgen-journal.json`) names the run's
//! temporary files, backups and new folders while it runs. A run that is
//! killed outright (SIGKILL, power loss) leaves it behind, and the next run
//! in the project undoes what the killed one started ([`recover`]). SIGINT,
//! SIGTERM and SIGHUP undo it at once ([`abort_all`]).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use serde::{Deserialize, Serialize};

/// The journal's name, in the root of the project.
pub const JOURNAL: &str = ".kvgen-journal.json";
const PREFIX: &str = ".kvgen-";

/// What a target must still hold when it is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: the file is created.
    Absent,
    /// Exactly these bytes.
    Bytes(Vec<u8>),
    /// The file as it was seen: same size, modification time and inode.
    Seen(Fingerprint),
}

/// Enough of a file's metadata to tell that it was replaced or rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    modified: Option<std::time::SystemTime>,
    ino: u64,
}

impl Fingerprint {
    pub fn of(meta: &fs::Metadata) -> Fingerprint {
        Fingerprint {
            len: meta.len(),
            modified: meta.modified().ok(),
            ino: ino(meta),
        }
    }
}

/// The permissions a newly created file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewMode {
    /// rw-rw-rw- less the umask, like any program creating a file.
    Normal,
    /// rw------- less the umask: files that hold secrets.
    Private,
}

/// Why a commit wrote nothing.
#[derive(Debug)]
pub enum CommitError {
    /// A target no longer holds what the run read: someone else wrote it.
    Changed { shown: String },
    /// A file could not be put in place.
    Io { shown: String, error: io::Error },
    /// A signal arrived while the files were being put in place.
    Interrupted,
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitError::Changed { shown } => write!(
                f,
                "{shown} changed while kvgen ran; nothing was written (run kvgen again)"
            ),
            CommitError::Io { shown, error } => {
                write!(f, "cannot write {shown}: {error}; nothing was written")
            }
            CommitError::Interrupted => write!(f, "interrupted; nothing was written"),
        }
    }
}

impl std::error::Error for CommitError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    Staging,
    Committing,
    Done,
}

/// One file of the commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    target: PathBuf,
    #[serde(skip)]
    shown: String,
    temp: PathBuf,
    backup: Option<PathBuf>,
    /// The inode of the staged file: after the rename, the target's.
    ino: u64,
    #[serde(skip, default = "absent")]
    expect: Expect,
}

fn absent() -> Expect {
    Expect::Absent
}

/// The journal as written to disk.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    version: u32,
    run: String,
    pid: u32,
    state: State,
    /// Folders the run created, outermost first.
    created_dirs: Vec<PathBuf>,
    /// Folders that hold the run's temporary files and backups.
    temp_dirs: Vec<PathBuf>,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Inner {
    run: String,
    root: PathBuf,
    /// Whether the run keeps a journal (not for scratch files).
    journal: bool,
    state: State,
    journal_written: bool,
    created_dirs: Vec<PathBuf>,
    temp_dirs: Vec<PathBuf>,
    /// Temporary files not yet renamed into place.
    temps: Vec<PathBuf>,
    entries: Vec<Entry>,
    counter: u64,
}

/// A set of files written all or nothing. Dropping it without a commit
/// removes everything it staged.
#[derive(Debug, Clone)]
pub struct Transaction {
    inner: Arc<Mutex<Inner>>,
}

/// A temporary file of a transaction, open for writing.
#[derive(Debug)]
pub struct Temp {
    pub file: File,
    pub path: PathBuf,
}

/// Set when a signal asks the process to stop: a commit in progress puts
/// back what it already replaced.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Held for good by [`abort_all`]: once a signal has arrived, no transaction
/// can begin.
static STOPPING: Mutex<()> = Mutex::new(());

/// Every live transaction of the process, for the signal handler.
static LIVE: Mutex<Vec<Weak<Mutex<Inner>>>> = Mutex::new(Vec::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Transaction {
    /// A transaction whose journal lives in `root`.
    pub fn begin(root: &Path) -> Transaction {
        Transaction::new(root, true)
    }

    /// A transaction that is never committed (a dry run): its temporary
    /// files are removed when it is dropped or a signal arrives, and it
    /// keeps no journal.
    pub fn scratch() -> Transaction {
        Transaction::new(&std::env::temp_dir(), false)
    }

    fn new(root: &Path, journal: bool) -> Transaction {
        let mut bytes = [0u8; 6];
        let run = match getrandom::fill(&mut bytes) {
            Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            Err(_) => format!("{:x}", std::process::id()),
        };
        let inner = Arc::new(Mutex::new(Inner {
            run,
            root: root.to_path_buf(),
            journal,
            state: State::Staging,
            journal_written: false,
            created_dirs: Vec::new(),
            temp_dirs: Vec::new(),
            temps: Vec::new(),
            entries: Vec::new(),
            counter: 0,
        }));
        let _not_stopping = lock(&STOPPING);
        let mut live = lock(&LIVE);
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&inner));
        Transaction { inner }
    }

    /// A new temporary file in `dir` (created, with the folders above it,
    /// when missing; they are removed again unless the commit succeeds).
    pub fn temp_in(&self, dir: &Path) -> io::Result<Temp> {
        let mut inner = self.lock();
        if inner.state != State::Staging {
            return Err(io::Error::other("kvgen is stopping"));
        }
        inner.prepare_dir(dir)?;
        inner.counter += 1;
        let path = dir.join(format!("{PREFIX}{}-{}.tmp", inner.run, inner.counter));
        let file = create_new(&path)?;
        inner.temps.push(path.clone());
        Ok(Temp { file, path })
    }

    /// Stages `content` for `target`: written to a temporary file next to
    /// it with the permissions it will have (those of the file it replaces,
    /// else `mode`).
    pub fn stage(
        &self,
        target: &Path,
        shown: &str,
        content: &[u8],
        expect: Expect,
        mode: NewMode,
    ) -> io::Result<()> {
        let Temp { mut file, path } = self.temp_in(parent(target))?;
        file.write_all(content)?;
        // A file that replaces one of the user's is on disk before the
        // rename (else a power cut could leave it empty); new files and
        // kvgen's own outputs can be made again.
        if fs::symlink_metadata(target).is_ok() {
            file.sync_all()?;
        }
        drop(file);
        self.stage_temp(&path, target, shown, expect, mode)
    }

    /// Stages a temporary file of this transaction, written in full and
    /// closed, for `target` (in the same folder).
    pub fn stage_temp(
        &self,
        temp: &Path,
        target: &Path,
        shown: &str,
        expect: Expect,
        mode: NewMode,
    ) -> io::Result<()> {
        let mut inner = self.lock();
        let permissions = match fs::metadata(target) {
            Ok(meta) => meta.permissions(),
            Err(_) => new_permissions(mode),
        };
        fs::set_permissions(temp, permissions)?;
        let ino = ino(&fs::metadata(temp)?);
        let backup = if fs::symlink_metadata(target).is_ok() {
            inner.counter += 1;
            let backup =
                parent(target).join(format!("{PREFIX}{}-{}.bak", inner.run, inner.counter));
            make_backup(target, &backup)?;
            Some(backup)
        } else {
            None
        };
        inner.entries.push(Entry {
            target: target.to_path_buf(),
            shown: shown.to_string(),
            temp: temp.to_path_buf(),
            backup,
            ino,
            expect,
        });
        Ok(())
    }

    /// Whether anything was staged.
    pub fn is_empty(&self) -> bool {
        self.lock().entries.is_empty()
    }

    /// The transaction, locked; once a signal has stopped the run, never
    /// (the process is about to exit, and nothing may touch the files the
    /// signal handler is putting back).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        let inner = lock(&self.inner);
        if INTERRUPTED.load(Ordering::SeqCst) && inner.state == State::Done {
            drop(inner);
            wait_for_exit();
        }
        inner
    }

    /// Puts every staged file in place, or none.
    pub fn commit(self) -> Result<(), CommitError> {
        let mut inner = self.lock();
        if inner.state != State::Staging {
            return Err(CommitError::Io {
                shown: "files".to_string(),
                error: io::Error::other("kvgen is stopping"),
            });
        }
        if inner.entries.is_empty() {
            inner.abort();
            return Ok(());
        }
        let first = inner.entries[0].shown.clone();
        inner.state = State::Committing;
        if let Err(error) = inner.write_journal() {
            inner.abort();
            return Err(CommitError::Io {
                shown: first,
                error,
            });
        }
        let mut renamed = 0;
        let mut failure = None;
        for entry in &inner.entries {
            if INTERRUPTED.load(Ordering::SeqCst) {
                failure = Some(CommitError::Interrupted);
                break;
            }
            match still(&entry.target, &entry.expect) {
                Ok(true) => {}
                Ok(false) => {
                    failure = Some(CommitError::Changed {
                        shown: entry.shown.clone(),
                    });
                    break;
                }
                Err(error) => {
                    failure = Some(CommitError::Io {
                        shown: entry.shown.clone(),
                        error,
                    });
                    break;
                }
            }
            if let Err(error) = fs::rename(&entry.temp, &entry.target) {
                failure = Some(CommitError::Io {
                    shown: entry.shown.clone(),
                    error,
                });
                break;
            }
            renamed += 1;
        }
        match failure {
            None => {
                inner.state = State::Done;
                let Inner { temps, entries, .. } = &mut *inner;
                let staged: HashSet<&PathBuf> = entries.iter().map(|e| &e.temp).collect();
                for temp in temps.drain(..) {
                    if !staged.contains(&temp) {
                        let _ = fs::remove_file(temp);
                    }
                }
                for entry in entries.iter() {
                    if let Some(backup) = &entry.backup {
                        let _ = fs::remove_file(backup);
                    }
                }
                inner.finish();
                Ok(())
            }
            Some(error) => {
                inner.roll_back(renamed);
                Err(error)
            }
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // After a signal, the handler undoes the transaction.
        if Arc::strong_count(&self.inner) == 1 && !INTERRUPTED.load(Ordering::SeqCst) {
            lock(&self.inner).abort();
        }
    }
}

/// Never returns: a signal is being handled, and its handler ends the
/// process once the files are put back.
fn wait_for_exit() -> ! {
    loop {
        std::thread::park();
    }
}

/// Called before the process exits on its own: when a signal has arrived,
/// waits for its handler to finish putting files back and end the process,
/// so that the process never exits midway through that.
pub fn exit_after_signal_handling() {
    if INTERRUPTED.load(Ordering::SeqCst) {
        wait_for_exit();
    }
}

impl Inner {
    /// Makes sure `dir` exists (recording the folders created) and is
    /// named in the journal as a place of temporary files.
    fn prepare_dir(&mut self, dir: &Path) -> io::Result<()> {
        if self.temp_dirs.iter().any(|d| d == dir) {
            return Ok(());
        }
        let mut missing = Vec::new();
        for ancestor in dir.ancestors() {
            if ancestor.as_os_str().is_empty() || fs::symlink_metadata(ancestor).is_ok() {
                break;
            }
            missing.push(ancestor.to_path_buf());
        }
        missing.reverse();
        self.temp_dirs.push(dir.to_path_buf());
        // The journal names the folders before they exist, so that a run
        // killed right after creating one still has it removed.
        self.created_dirs.extend(missing.iter().cloned());
        self.write_journal()?;
        for dir in &missing {
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {
                    self.created_dirs.retain(|d| d != dir);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn journal_path(&self) -> PathBuf {
        self.root.join(JOURNAL)
    }

    /// Writes the journal atomically (a temporary file renamed over it).
    fn write_journal(&mut self) -> io::Result<()> {
        if !self.journal {
            return Ok(());
        }
        let journal = Journal {
            version: 1,
            run: self.run.clone(),
            pid: std::process::id(),
            state: self.state,
            created_dirs: self.created_dirs.clone(),
            temp_dirs: self.temp_dirs.clone(),
            entries: self.entries.clone(),
        };
        let text = serde_json::to_vec(&journal).map_err(io::Error::other)?;
        let temp = self.root.join(format!("{PREFIX}{}-journal.tmp", self.run));
        let mut file = create_new(&temp)?;
        let written = file
            .write_all(&text)
            .and_then(|()| fs::rename(&temp, self.journal_path()));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        self.journal_written = true;
        Ok(())
    }

    /// Removes every temporary file and backup, the folders the run
    /// created (when empty) and the journal.
    fn abort(&mut self) {
        if self.state == State::Done {
            return;
        }
        for temp in self.temps.drain(..) {
            let _ = fs::remove_file(temp);
        }
        for entry in &self.entries {
            if let Some(backup) = &entry.backup {
                let _ = fs::remove_file(backup);
            }
        }
        self.entries.clear();
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        self.state = State::Done;
        self.finish();
    }

    /// Puts back the first `renamed` entries and removes the rest.
    fn roll_back(&mut self, renamed: usize) {
        let mut failed = false;
        for entry in self.entries[..renamed].iter().rev() {
            let restored = match &entry.backup {
                Some(backup) => fs::rename(backup, &entry.target),
                None => fs::remove_file(&entry.target),
            };
            failed |= restored.is_err();
        }
        if failed {
            // Everything stays as it is, journal included, for the next run
            // to finish putting the files back.
            eprintln!(
                "kvgen: could not put every file back; the next kvgen run in {} finishes restoring them",
                crate::names::show_path(&self.root)
            );
            self.state = State::Done;
            self.journal_written = false;
            return;
        }
        self.abort();
    }

    /// Removes the journal (and any temporary file left of it).
    fn finish(&mut self) {
        if self.journal_written {
            let _ = fs::remove_file(self.journal_path());
            self.journal_written = false;
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or_else(|| Path::new("."))
}

/// Creates a file that must not exist yet, readable and writable by its
/// owner only until its final permissions are set.
fn create_new(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A second name for the file at `target`, or a copy where the file system
/// has no hard links.
fn make_backup(target: &Path, backup: &Path) -> io::Result<()> {
    match fs::hard_link(target, backup) {
        Ok(()) => Ok(()),
        Err(_) => {
            let mut from = File::open(target)?;
            let mut to = create_new(backup)?;
            io::copy(&mut from, &mut to)?;
            to.set_permissions(from.metadata()?.permissions())?;
            Ok(())
        }
    }
}

/// Whether `target` still holds what `expect` says.
fn still(target: &Path, expect: &Expect) -> io::Result<bool> {
    let meta = match fs::symlink_metadata(target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    match (expect, meta) {
        (Expect::Absent, meta) => Ok(meta.is_none()),
        (_, None) => Ok(false),
        (Expect::Seen(seen), Some(meta)) => Ok(Fingerprint::of(&meta) == *seen),
        (Expect::Bytes(bytes), Some(meta)) => {
            if !meta.is_file() || meta.len() != bytes.len() as u64 {
                return Ok(false);
            }
            let mut now = Vec::with_capacity(bytes.len());
            File::open(target)?
                .take(bytes.len() as u64 + 1)
                .read_to_end(&mut now)?;
            Ok(now == *bytes)
        }
    }
}

#[cfg(unix)]
fn ino(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

#[cfg(not(unix))]
fn ino(_meta: &fs::Metadata) -> u64 {
    0
}

/// The process's file mode creation mask.
#[cfg(unix)]
fn umask() -> u32 {
    use std::sync::OnceLock;
    static UMASK: OnceLock<u32> = OnceLock::new();
    *UMASK.get_or_init(|| {
        // /proc tells without changing it (Linux); elsewhere set and restore.
        if let Ok(status) = fs::read_to_string("/proc/self/status")
            && let Some(mask) = status
                .lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|m| u32::from_str_radix(m.trim(), 8).ok())
        {
            return mask;
        }
        // SAFETY: umask only swaps the process's mask; it is put back at once.
        unsafe {
            let mask = libc::umask(0o022);
            libc::umask(mask);
            mask as u32
        }
    })
}

#[cfg(unix)]
fn new_permissions(mode: NewMode) -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    let bits = match mode {
        NewMode::Normal => 0o666,
        NewMode::Private => 0o600,
    };
    fs::Permissions::from_mode(bits & !umask())
}

#[cfg(not(unix))]
fn new_permissions(_mode: NewMode) -> fs::Permissions {
    let mut permissions = fs::metadata(".")
        .map(|m| m.permissions())
        .unwrap_or_else(|_| File::open(".").unwrap().metadata().unwrap().permissions());
    permissions.set_readonly(false);
    permissions
}

/// Undoes every live transaction of the process (a signal arrived): their
/// temporary files, backups, new folders and journals are removed and
/// replaced files put back. A commit in progress stops at its next file and
/// puts back what it replaced.
pub fn abort_all() {
    let stopping = lock(&STOPPING);
    INTERRUPTED.store(true, Ordering::SeqCst);
    let live: Vec<Arc<Mutex<Inner>>> = lock(&LIVE).iter().filter_map(Weak::upgrade).collect();
    for inner in live {
        let mut inner = lock(&inner);
        inner.abort();
        // Nothing may stage anything after this.
        inner.state = State::Done;
        std::mem::forget(inner);
    }
    std::mem::forget(stopping);
}

/// What [`recover`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Files put back as they were.
    pub restored: Vec<PathBuf>,
    /// Files the interrupted run had created, removed again.
    pub removed: Vec<PathBuf>,
    /// Whether the interrupted run had finished putting files in place.
    pub completed: bool,
}

/// Finishes what an interrupted run in `root` left: a run killed while
/// staging leaves temporary files (removed); one killed while renaming has
/// its replaced files put back and its new files removed, so that the
/// project is as it was before it; one killed after its last rename only
/// leaves backups (removed). None when there was nothing to do.
pub fn recover(root: &Path) -> anyhow::Result<Option<Recovered>> {
    // A run killed while writing its journal leaves the journal's own
    // temporary file; no run is writing one now (the caller holds the lock).
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(PREFIX) && name.ends_with("-journal.tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let path = root.join(JOURNAL);
    let text = match fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {JOURNAL}"))),
    };
    let journal: Journal = serde_json::from_slice(&text).map_err(|e| {
        crate::error::BadInput::new(format!(
            "{}: not a journal kvgen can read ({e}); move it away once you have checked the files it names",
            crate::names::show_path(&path)
        ))
    })?;
    let mut done = Recovered::default();
    let ours = |target: &Path, entry: &Entry| {
        fs::symlink_metadata(target).is_ok_and(|m| ino(&m) == entry.ino || !cfg!(unix))
    };
    if journal.state == State::Committing {
        done.completed = journal.entries.iter().all(|e| !e.temp.exists());
        if !done.completed {
            for entry in journal.entries.iter().rev() {
                if entry.temp.exists() {
                    continue;
                }
                if !ours(&entry.target, entry) {
                    continue;
                }
                match &entry.backup {
                    Some(backup) if backup.exists() => {
                        fs::rename(backup, &entry.target)?;
                        done.restored.push(entry.target.clone());
                    }
                    Some(_) => {}
                    None => {
                        fs::remove_file(&entry.target)?;
                        done.removed.push(entry.target.clone());
                    }
                }
            }
        }
    }
    let own = format!("{PREFIX}{}-", journal.run);
    for dir in &journal.temp_dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&own) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    if !done.completed {
        for dir in journal.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    fs::remove_file(&path)?;
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(tx: &Transaction, root: &Path, path: &str, content: &[u8], expect: Expect) {
        tx.stage(&root.join(path), path, content, expect, NewMode::Normal)
            .unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_commit_writes_every_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("old.txt"), "old").unwrap();
        let tx = Transaction::begin(root);
        stage(&tx, root, "old.txt", b"new", Expect::Bytes(b"old".to_vec()));
        stage(&tx, root, "a/b/c.txt", b"c", Expect::Absent);
        assert!(root.join(JOURNAL).exists());
        tx.commit().unwrap();
        assert_eq!(fs::read(root.join("old.txt")).unwrap(), b"new");
        assert_eq!(fs::read(root.join("a/b/c.txt")).unwrap(), b"c");
        assert_eq!(names(root), ["a", "old.txt"]);
        assert_eq!(names(&root.join("a/b")), ["c.txt"]);
    }

    #[test]
    fn a_target_changed_since_it_was_read_stops_the_commit_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("one.txt"), "1").unwrap();
        fs::write(root.join("two.txt"), "2").unwrap();
        let tx = Transaction::begin(root);
        stage(&tx, root, "one.txt", b"one", Expect::Bytes(b"1".to_vec()));
        stage(&tx, root, "new/three.txt", b"3", Expect::Absent);
        stage(&tx, root, "two.txt", b"two", Expect::Bytes(b"2".to_vec()));
        // Another program writes two.txt after kvgen read it.
        fs::write(root.join("two.txt"), "22").unwrap();
        let err = tx.commit().unwrap_err();
        assert!(
            matches!(&err, CommitError::Changed { shown } if shown == "two.txt"),
            "{err}"
        );
        assert_eq!(fs::read(root.join("one.txt")).unwrap(), b"1");
        assert_eq!(fs::read(root.join("two.txt")).unwrap(), b"22");
        assert_eq!(names(root), ["one.txt", "two.txt"]);
    }

    #[test]
    fn a_failed_rename_puts_back_the_files_already_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.txt"), "a").unwrap();
        fs::create_dir(root.join("sub")).unwrap();
        let tx = Transaction::begin(root);
        stage(&tx, root, "a.txt", b"A", Expect::Bytes(b"a".to_vec()));
        stage(&tx, root, "sub/new.txt", b"new", Expect::Absent);
        // A folder appears where the last file goes, looking exactly as the
        // run expects it to: its rename fails.
        fs::create_dir(root.join("elsewhere")).unwrap();
        let seen = Fingerprint::of(&fs::metadata(root.join("elsewhere")).unwrap());
        let temp = tx.temp_in(&root.join("sub")).unwrap().path;
        tx.stage_temp(
            &temp,
            &root.join("sub/b.txt"),
            "sub/b.txt",
            Expect::Seen(seen),
            NewMode::Normal,
        )
        .unwrap();
        fs::rename(root.join("elsewhere"), root.join("sub/b.txt")).unwrap();
        let err = tx.commit().unwrap_err();
        assert!(
            matches!(&err, CommitError::Io { shown, .. } if shown == "sub/b.txt"),
            "{err}"
        );
        assert_eq!(fs::read(root.join("a.txt")).unwrap(), b"a");
        assert_eq!(names(root), ["a.txt", "sub"]);
        assert_eq!(names(&root.join("sub")), ["b.txt"]);
    }

    #[test]
    fn dropping_a_transaction_removes_what_it_staged() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        {
            let tx = Transaction::begin(root);
            stage(&tx, root, "x/y/z.txt", b"z", Expect::Absent);
        }
        assert!(names(root).is_empty(), "{:?}", names(root));
    }

    #[cfg(unix)]
    #[test]
    fn new_files_honour_the_umask_and_private_ones_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let tx = Transaction::begin(root);
        stage(&tx, root, "a", b"", Expect::Absent);
        tx.stage(&root.join("s"), "s", b"", Expect::Absent, NewMode::Private)
            .unwrap();
        tx.commit().unwrap();
        let mode = |n: &str| fs::metadata(root.join(n)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("a"), 0o666 & !umask());
        assert_eq!(mode("s"), 0o600 & !umask());
    }

    /// What a run killed with SIGKILL between two renames leaves, made by
    /// hand: the next run puts everything back.
    #[test]
    fn recovery_undoes_a_run_killed_between_renames() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("config"), "old config").unwrap();
        let tx = Transaction::begin(root);
        stage(&tx, root, "kv/store.ts", b"store", Expect::Absent);
        stage(
            &tx,
            root,
            "config",
            b"new config",
            Expect::Bytes(b"old config".to_vec()),
        );
        {
            let mut inner = lock(&tx.inner);
            inner.state = State::Committing;
            inner.write_journal().unwrap();
            let first = inner.entries[0].clone();
            fs::rename(&first.temp, &first.target).unwrap();
            // Killed here: nothing more happens in this process.
            inner.state = State::Done;
            inner.temps.clear();
            inner.entries.clear();
            inner.journal_written = false;
        }
        drop(tx);
        assert_eq!(fs::read(root.join("kv/store.ts")).unwrap(), b"store");
        let done = recover(root).unwrap().unwrap();
        assert!(!done.completed);
        assert_eq!(done.removed, [root.join("kv/store.ts")]);
        assert_eq!(fs::read(root.join("config")).unwrap(), b"old config");
        assert_eq!(names(root), ["config"]);
        assert_eq!(recover(root).unwrap(), None);
    }

    #[test]
    fn recovery_keeps_a_run_killed_after_its_last_rename() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("config"), "old").unwrap();
        let tx = Transaction::begin(root);
        stage(&tx, root, "config", b"new", Expect::Bytes(b"old".to_vec()));
        {
            let mut inner = lock(&tx.inner);
            inner.state = State::Committing;
            inner.write_journal().unwrap();
            let entry = inner.entries[0].clone();
            fs::rename(&entry.temp, &entry.target).unwrap();
            inner.state = State::Done;
            inner.temps.clear();
            inner.entries.clear();
            inner.journal_written = false;
        }
        drop(tx);
        let done = recover(root).unwrap().unwrap();
        assert!(done.completed);
        assert_eq!(fs::read(root.join("config")).unwrap(), b"new");
        assert_eq!(names(root), ["config"]);
    }

    #[test]
    fn recovery_removes_what_a_run_killed_while_staging_left() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let tx = Transaction::begin(root);
        tx.temp_in(&root.join("out/deep")).unwrap();
        {
            let mut inner = lock(&tx.inner);
            inner.state = State::Done;
            inner.temps.clear();
            inner.journal_written = false;
        }
        drop(tx);
        assert!(root.join("out/deep").is_dir());
        recover(root).unwrap().unwrap();
        assert!(names(root).is_empty(), "{:?}", names(root));
    }
}
