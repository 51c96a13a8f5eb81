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
#[derive(Debug, Clone)]
struct Entry {
    target: PathBuf,
    shown: String,
    temp: PathBuf,
    backup: Option<PathBuf>,
    /// The staged file as it was written: after the rename, the target.
    staged: Fingerprint,
    expect: Expect,
}

/// A file's size, modification time and inode: enough to tell that it was
/// replaced or rewritten. The journal keeps the fingerprint of each staged
/// file: a target that still has it is the file kvgen wrote, untouched
/// since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    len: u64,
    secs: u64,
    nanos: u32,
    ino: u64,
}

impl Fingerprint {
    pub fn of(meta: &fs::Metadata) -> Fingerprint {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        Fingerprint {
            len: meta.len(),
            secs: modified.as_secs(),
            nanos: modified.subsec_nanos(),
            ino: ino(meta),
        }
    }

    fn of_path(path: &Path) -> Option<Fingerprint> {
        fs::symlink_metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| Fingerprint::of(&m))
    }
}

/// One file of the commit as the journal names it: paths relative to the
/// project root, the temporary file and backup by their names in the
/// target's folder.
#[derive(Debug, Serialize, Deserialize)]
struct JournalEntry {
    target: String,
    temp: String,
    backup: Option<String>,
    staged: Fingerprint,
}

/// The journal as written to disk.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    version: u32,
    run: String,
    pid: u32,
    state: State,
    /// Folders the run created, outermost first.
    created_dirs: Vec<String>,
    /// Folders that hold the run's temporary files and backups.
    temp_dirs: Vec<String>,
    entries: Vec<JournalEntry>,
}

const JOURNAL_VERSION: u32 = 2;

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
        if inner.journal && !dir.starts_with(&inner.root) {
            return Err(io::Error::other(format!(
                "{} is outside the project",
                crate::names::show_path(dir)
            )));
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
        if temp.parent() != target.parent() || !target.starts_with(&inner.root) {
            return Err(io::Error::other(
                "a staged file must be next to its target, inside the project",
            ));
        }
        let permissions = match fs::metadata(target) {
            Ok(meta) => Some(meta.permissions()),
            Err(_) => new_permissions(mode),
        };
        if let Some(permissions) = permissions {
            fs::set_permissions(temp, permissions)?;
        }
        let staged = Fingerprint::of(&fs::metadata(temp)?);
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
            staged,
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
            if let Err(error) = install(entry) {
                failure = Some(error);
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
        let rel = |path: &Path| -> io::Result<String> {
            let rel = path.strip_prefix(&self.root).map_err(|_| {
                io::Error::other(format!(
                    "{} is outside the project",
                    crate::names::show_path(path)
                ))
            })?;
            Ok(rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"))
        };
        let name = |path: &Path| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let journal = Journal {
            version: JOURNAL_VERSION,
            run: self.run.clone(),
            pid: std::process::id(),
            state: self.state,
            created_dirs: self
                .created_dirs
                .iter()
                .map(|d| rel(d))
                .collect::<io::Result<_>>()?,
            temp_dirs: self
                .temp_dirs
                .iter()
                .map(|d| rel(d))
                .collect::<io::Result<_>>()?,
            entries: self
                .entries
                .iter()
                .map(|e| {
                    Ok(JournalEntry {
                        target: rel(&e.target)?,
                        temp: name(&e.temp),
                        backup: e.backup.as_deref().map(name),
                        staged: e.staged,
                    })
                })
                .collect::<io::Result<_>>()?,
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
            self.state = State::Done;
            self.journal_written = false;
            let _ = writeln!(
                io::stderr(),
                "kvgen: could not put every file back; the next kvgen run in {} finishes restoring them",
                crate::names::show_path(&self.root)
            );
            return;
        }
        self.abort();
    }

    /// Removes the journal.
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

/// Puts a staged file in place, once its target is checked. A new file is
/// linked to its name, which fails if anything appeared there meanwhile
/// (where the file system has no hard links: checked, then renamed); a
/// replacement is renamed over the file it replaces.
fn install(entry: &Entry) -> Result<(), CommitError> {
    let io = |error: io::Error| CommitError::Io {
        shown: entry.shown.clone(),
        error,
    };
    let changed = || CommitError::Changed {
        shown: entry.shown.clone(),
    };
    if entry.expect == Expect::Absent {
        match fs::hard_link(&entry.temp, &entry.target) {
            Ok(()) => {
                let _ = fs::remove_file(&entry.temp);
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(changed()),
            Err(_) => {}
        }
    }
    if !still(&entry.target, &entry.expect).map_err(io)? {
        return Err(changed());
    }
    fs::rename(&entry.temp, &entry.target).map_err(io)
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

/// The permissions of a new file: `mode` less the umask.
#[cfg(unix)]
fn new_permissions(mode: NewMode) -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    let bits = match mode {
        NewMode::Normal => 0o666,
        NewMode::Private => 0o600,
    };
    Some(fs::Permissions::from_mode(bits & !umask()))
}

/// Elsewhere a new file keeps the permissions it was created with.
#[cfg(not(unix))]
fn new_permissions(_mode: NewMode) -> Option<fs::Permissions> {
    None
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
    /// Files left as they are: changed since the interrupted run wrote
    /// them, or their backup is gone.
    pub kept: Vec<PathBuf>,
    /// Whether the interrupted run had put all its files in place.
    pub completed: bool,
}

/// Whether `name` is a file name of run `run` with this suffix
/// (`.kvgen-<run>-<n><suffix>`).
fn run_file(name: &str, run: &str, suffix: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_prefix(run))
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.strip_suffix(suffix))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Finishes what an interrupted run in `root` left: a run killed while
/// staging leaves temporary files (removed); one killed while renaming has
/// the files it had put in place put back as they were (a replaced file
/// from its backup; a new one removed), so that the project is as it was
/// before it; one killed after its last rename only leaves backups
/// (removed). A file the user changed since is left as it is. The journal
/// is trusted only when the current user wrote it and no one else can
/// write it, and only names files inside `root`. None when there was
/// nothing to do.
pub fn recover(root: &Path) -> anyhow::Result<Option<Recovered>> {
    // A run killed while writing its journal leaves the journal's own
    // temporary file; no run is writing one now (the caller holds the lock).
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let journal_temp = name
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.strip_suffix("-journal.tmp"))
                .is_some_and(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_hexdigit()));
            if journal_temp && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let path = root.join(JOURNAL);
    let meta = match fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {JOURNAL}"))),
    };
    let untrusted = |why: &str| {
        crate::error::BadInput::new(format!(
            "{}: {why}; kvgen does not act on it (check the files it names, then remove it)",
            crate::names::show_path(&path)
        ))
    };
    if !meta.is_file() {
        return Err(untrusted("is not a regular file").into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me || meta.mode() & 0o022 != 0 {
            return Err(untrusted("was not written by you, or others can write it").into());
        }
    }
    if meta.len() > crate::files::MAX_TEXT_BYTES {
        return Err(untrusted("is too big to be a journal of kvgen's").into());
    }
    let text = fs::read(&path)
        .map_err(|e| anyhow::Error::new(e).context(format!("cannot read {JOURNAL}")))?;
    let journal: Journal = serde_json::from_slice(&text)
        .map_err(|e| untrusted(&format!("not a journal kvgen can read ({e})")))?;
    let run_ok = !journal.run.is_empty()
        && journal.run.len() <= 32
        && journal.run.bytes().all(|b| b.is_ascii_hexdigit());
    if journal.version != JOURNAL_VERSION || !run_ok {
        return Err(untrusted("not a journal of this kvgen").into());
    }
    let run = journal.run.as_str();
    let inside = |rel: &str| crate::files::resolve_inside(root, rel).ok();
    let mut done = Recovered::default();
    struct Found {
        target: PathBuf,
        backup: Option<PathBuf>,
        applied: bool,
    }
    let mut found = Vec::new();
    for entry in &journal.entries {
        let Some(target) = inside(&entry.target) else {
            continue;
        };
        let folder = parent(&target).to_path_buf();
        let backup = match &entry.backup {
            Some(name) if run_file(name, run, ".bak") => Some(Some(folder.join(name))),
            Some(_) => None,
            None => Some(None),
        };
        let (Some(backup), true) = (backup, run_file(&entry.temp, run, ".tmp")) else {
            continue;
        };
        let applied = Fingerprint::of_path(&target) == Some(entry.staged);
        if !applied
            && Fingerprint::of_path(&target)
                .is_some_and(|s| s.ino == entry.staged.ino && s.ino != 0)
        {
            // kvgen's file, changed since by someone else.
            done.kept.push(target.clone());
        }
        found.push(Found {
            target,
            backup,
            applied,
        });
    }
    done.completed = journal.state == State::Committing
        && found.len() == journal.entries.len()
        && found.iter().all(|f| f.applied);
    if journal.state == State::Committing && !done.completed {
        for f in found.iter().rev().filter(|f| f.applied) {
            match &f.backup {
                Some(backup) if backup.is_file() => {
                    fs::rename(backup, &f.target)?;
                    done.restored.push(f.target.clone());
                }
                Some(_) => done.kept.push(f.target.clone()),
                None => {
                    fs::remove_file(&f.target)?;
                    done.removed.push(f.target.clone());
                }
            }
        }
    }
    let own = format!("{PREFIX}{run}-");
    for dir in journal.temp_dirs.iter().filter_map(|d| inside(d)) {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ours = name.starts_with(&own)
                && (run_file(&name, run, ".tmp") || run_file(&name, run, ".bak"));
            if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    if !done.completed {
        for dir in journal.created_dirs.iter().rev().filter_map(|d| inside(d)) {
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

    /// What a run killed with SIGKILL after putting `renames` of its files
    /// in place leaves, made by hand.
    fn killed_after(tx: Transaction, renames: usize) {
        {
            let mut inner = lock(&tx.inner);
            inner.state = State::Committing;
            inner.write_journal().unwrap();
            for entry in &inner.entries[..renames] {
                install(entry).unwrap();
            }
            // Killed here: nothing more happens in this process.
            inner.state = State::Done;
            inner.temps.clear();
            inner.entries.clear();
            inner.journal_written = false;
        }
        drop(tx);
    }

    #[test]
    fn recovery_undoes_a_run_killed_between_renames() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("config"), "old config").unwrap();
        let tx = Transaction::begin(root);
        stage(&tx, root, "kv/store.ts", b"store", Expect::Absent);
        let old = Expect::Bytes(b"old config".to_vec());
        stage(&tx, root, "config", b"new config", old);
        killed_after(tx, 1);
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
        killed_after(tx, 1);
        let done = recover(root).unwrap().unwrap();
        assert!(done.completed);
        assert_eq!(fs::read(root.join("config")).unwrap(), b"new");
        assert_eq!(names(root), ["config"]);
    }

    #[test]
    fn recovery_leaves_a_file_the_user_changed_since_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("config"), "old").unwrap();
        let tx = Transaction::begin(root);
        stage(&tx, root, "kv/a.ts", b"a", Expect::Absent);
        stage(&tx, root, "config", b"new", Expect::Bytes(b"old".to_vec()));
        stage(&tx, root, "kv/c.ts", b"c", Expect::Absent);
        killed_after(tx, 2);
        // An editor saves kv/a.ts in place (same inode, new content).
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(root.join("kv/a.ts"))
            .unwrap();
        file.write_all(b" // my edit").unwrap();
        drop(file);
        let done = recover(root).unwrap().unwrap();
        assert!(!done.completed);
        assert_eq!(done.kept, [root.join("kv/a.ts")]);
        assert_eq!(done.restored, [root.join("config")]);
        assert_eq!(fs::read(root.join("kv/a.ts")).unwrap(), b"a // my edit");
        assert_eq!(fs::read(root.join("config")).unwrap(), b"old");
        assert_eq!(names(&root.join("kv")), ["a.ts"]);
    }

    #[test]
    fn recovery_works_after_the_project_moved_and_its_temporary_files_were_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        fs::create_dir(&first).unwrap();
        fs::write(first.join("config"), "old").unwrap();
        let tx = Transaction::begin(&first);
        stage(
            &tx,
            &first,
            "config",
            b"new",
            Expect::Bytes(b"old".to_vec()),
        );
        stage(&tx, &first, "kv/b.ts", b"b", Expect::Absent);
        killed_after(tx, 1);
        let moved = dir.path().join("moved");
        fs::rename(&first, &moved).unwrap();
        // `git clean` removed the temporary file of the file not yet in place.
        for name in names(&moved.join("kv")) {
            fs::remove_file(moved.join("kv").join(name)).unwrap();
        }
        let done = recover(&moved).unwrap().unwrap();
        assert!(!done.completed);
        assert_eq!(done.restored, [moved.join("config")]);
        assert_eq!(fs::read(moved.join("config")).unwrap(), b"old");
        assert_eq!(names(&moved), ["config"]);
    }

    #[test]
    fn a_journal_naming_files_outside_the_project_touches_none_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        fs::create_dir(&root).unwrap();
        let outside = dir.path().join("thesis.txt");
        fs::write(&outside, "mine").unwrap();
        let staged = Fingerprint::of_path(&outside).unwrap();
        let entry = |target: &str| JournalEntry {
            target: target.to_string(),
            temp: ".kvgen-ab-1.tmp".to_string(),
            backup: None,
            staged,
        };
        let journal = Journal {
            version: JOURNAL_VERSION,
            run: "ab".to_string(),
            pid: 1,
            state: State::Committing,
            created_dirs: vec!["../".to_string()],
            temp_dirs: vec!["..".to_string()],
            entries: vec![
                entry("../thesis.txt"),
                entry(outside.to_str().unwrap()),
                entry("x"),
            ],
        };
        let path = root.join(JOURNAL);
        fs::write(&path, serde_json::to_vec(&journal).unwrap()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        recover(&root).unwrap().unwrap();
        assert_eq!(fs::read(&outside).unwrap(), b"mine");
        assert!(names(&root).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_journal_others_can_write_is_not_acted_on() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let path = root.join(JOURNAL);
        fs::write(&path, "{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        let err = recover(root).unwrap_err().to_string();
        assert!(err.contains("others can write it"), "{err}");
        assert!(path.exists(), "left for the user to check");
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
