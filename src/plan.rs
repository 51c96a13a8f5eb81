//! A Plan: every file a command would touch, with its content before and
//! after. Reporting, `--dry-run`, `--json` and writing are views of it, and
//! nothing is written until the whole plan is known to be free of conflicts.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::config::{Edit, EditStatus};
use crate::error::BadInput;

/// What happens to one file (the Rails/Thor verbs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A new file is written.
    Create,
    /// An existing file is edited in place (config, manifest, module list).
    Update,
    /// The file already holds what kvgen would write.
    Identical,
    /// The file holds something else; nothing is written without `--force`.
    Conflict,
    /// Would be written, but is not because another file conflicts.
    Skip,
    /// A conflicting file overwritten because of `--force`.
    Force,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Create => "create",
            Status::Update => "update",
            Status::Identical => "identical",
            Status::Conflict => "conflict",
            Status::Skip => "skip",
            Status::Force => "force",
        }
    }

    fn writes(self) -> bool {
        matches!(self, Status::Create | Status::Update | Status::Force)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    /// Relative to the project root, with `/` separators.
    pub path: String,
    #[serde(skip)]
    pub absolute: PathBuf,
    #[serde(skip)]
    pub before: Option<String>,
    #[serde(skip)]
    pub after: String,
    pub status: Status,
    /// Why a file conflicts or was forced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Secrets in the content that reports must not show.
    #[serde(skip)]
    pub secrets: Vec<String>,
}

impl FileChange {
    /// The unified diff of this change, with any secret replaced by a mark.
    pub fn diff(&self) -> String {
        let mut diff = crate::diff::unified(&self.path, self.before.as_deref(), &self.after);
        for secret in &self.secrets {
            diff = diff.replace(secret.as_str(), "<random secret, not shown>");
        }
        diff
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub files: Vec<FileChange>,
    pub next_steps: Vec<String>,
}

/// Reads a text file kvgen may change; `None` when it does not exist.
pub fn read_text(path: &Path, shown: &str) -> anyhow::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(text)),
            Err(_) => Err(BadInput::new(format!(
                "{shown}: not UTF-8 text; kvgen edits only UTF-8 files"
            ))
            .into()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {shown}")),
    }
}

impl Plan {
    /// A file kvgen generates whole: created when missing, identical when it
    /// already has this content, otherwise a conflict (or forced).
    pub fn generated(
        &mut self,
        root: &Path,
        path: &str,
        content: String,
        force: bool,
    ) -> anyhow::Result<()> {
        let absolute = root.join(path);
        let before = read_text(&absolute, path)?;
        let (status, reason) = match &before {
            None => (Status::Create, None),
            Some(old) if *old == content => (Status::Identical, None),
            Some(_) => (
                if force {
                    Status::Force
                } else {
                    Status::Conflict
                },
                Some(
                    "differs from what kvgen generates (edited since it was generated?)"
                        .to_string(),
                ),
            ),
        };
        self.files.push(FileChange {
            path: path.to_string(),
            absolute,
            before,
            after: content,
            status,
            reason,
            secrets: Vec::new(),
        });
        Ok(())
    }

    /// A file kvgen edits in place (or creates when `before` is None).
    pub fn edited(&mut self, root: &Path, path: &str, before: Option<String>, edit: Edit) {
        let (status, reason) = match (&before, edit.status) {
            (None, _) => (Status::Create, None),
            (Some(_), EditStatus::Unchanged) => (Status::Identical, None),
            (Some(_), EditStatus::Changed) => (Status::Update, None),
            (Some(_), EditStatus::Conflict(reason)) => (Status::Conflict, Some(reason)),
            (Some(_), EditStatus::Forced(reason)) => (Status::Force, Some(reason)),
        };
        self.files.push(FileChange {
            path: path.to_string(),
            absolute: root.join(path),
            before,
            after: edit.text,
            status,
            reason,
            secrets: Vec::new(),
        });
    }

    /// Marks `secret` as something no report may show, in the file at
    /// `path`.
    pub fn keep_secret(&mut self, path: &str, secret: &str) {
        for file in self.files.iter_mut().filter(|f| f.path == path) {
            file.secrets.push(secret.to_string());
        }
    }

    /// Puts the files in path order and, when anything conflicts, marks every
    /// file that would have been written as skipped: a run with a conflict
    /// writes nothing.
    pub fn finish(&mut self) {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        if self.has_conflicts() {
            for file in &mut self.files {
                if file.status.writes() {
                    file.status = Status::Skip;
                }
            }
        }
    }

    pub fn has_conflicts(&self) -> bool {
        self.files.iter().any(|f| f.status == Status::Conflict)
    }

    /// Writes every file whose status says so, each atomically.
    pub fn apply(&self) -> anyhow::Result<()> {
        assert!(
            !self.has_conflicts(),
            "a plan with conflicts is never applied"
        );
        for file in self.files.iter().filter(|f| f.status.writes()) {
            write_atomic(&file.absolute, file.after.as_bytes())
                .with_context(|| format!("cannot write {}", file.path))?;
        }
        Ok(())
    }
}

/// Writes through a temporary file in the same folder and a rename, so the
/// file is either wholly old or wholly new. An existing file keeps its
/// permissions; a new one gets 0644.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let mut temp = temp_file_in(dir)?;
    temp.write_all(content)?;
    temp.as_file().sync_all()?;
    install(temp.into_temp_path(), path)
}

/// A temporary file in `dir` (hidden, `.kvgen-….tmp`), deleted unless it is
/// installed.
pub fn temp_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".kvgen-")
        .suffix(".tmp")
        .tempfile_in(dir)
}

/// Renames a finished temporary file to `path` (in the same folder, so the
/// file is either wholly old or wholly new), keeping the permissions of the
/// file it replaces; a new one gets 0644.
pub fn install(temp: tempfile::TempPath, path: &Path) -> std::io::Result<()> {
    let permissions = match fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => default_permissions(),
    };
    fs::set_permissions(&temp, permissions)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The permissions of a new file kvgen writes: 0644 (rw-r--r--).
#[cfg(unix)]
fn default_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o644)
}

/// The permissions of a new file kvgen writes: writable.
#[cfg(not(unix))]
fn default_permissions() -> fs::Permissions {
    let mut permissions = fs::metadata(".").map(|m| m.permissions()).unwrap();
    permissions.set_readonly(false);
    permissions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_keep_permissions_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.txt");
        write_atomic(&path, b"one").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o644
            );
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            write_atomic(&path, b"two").unwrap();
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path().join("a"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.txt")]);
    }

    #[test]
    fn a_conflict_turns_every_write_into_a_skip() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("edited.ts"), "mine").unwrap();
        let mut plan = Plan::default();
        plan.generated(dir.path(), "new.ts", "x".into(), false)
            .unwrap();
        plan.generated(dir.path(), "edited.ts", "theirs".into(), false)
            .unwrap();
        plan.finish();
        let statuses: Vec<_> = plan
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.status))
            .collect();
        assert_eq!(
            statuses,
            vec![("edited.ts", Status::Conflict), ("new.ts", Status::Skip)]
        );
    }
}
