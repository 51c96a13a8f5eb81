//! A Plan: every file a command would touch, with its content before and
//! after. Reporting, `--dry-run`, `--json` and writing are views of it, and
//! nothing is written until the whole plan is known to be free of conflicts.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{Edit, EditStatus};
use crate::error::BadInput;
use crate::files;
pub use crate::files::read_text;
use crate::transaction::{Expect, NewMode, Transaction};

/// What happens to one file (the Rails/Thor verbs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A new file is written.
    Create,
    /// An existing file is edited in place (config, manifest, module list).
    Update,
    /// A generated file the user edited, with kvgen's template changes
    /// merged in (three-way, the user's edits kept).
    Merge,
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
            Status::Merge => "merge",
            Status::Identical => "identical",
            Status::Conflict => "conflict",
            Status::Skip => "skip",
            Status::Force => "force",
        }
    }

    pub fn writes(self) -> bool {
        matches!(
            self,
            Status::Create | Status::Update | Status::Merge | Status::Force
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    /// Relative to the project root, with `/` separators.
    pub path: String,
    /// The file as kvgen reads it (links followed).
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
    /// The content is a merge with git-style conflict markers (a
    /// conflict's `after`, written only with `--write-conflicts`).
    #[serde(skip)]
    pub marked: bool,
}

impl FileChange {
    /// The unified diff of this change. Secrets never show: kvgen's own are
    /// replaced by a mark, and in `.dev.vars*` and `.env*` files every
    /// value is.
    pub fn diff(&self) -> String {
        let mut diff = if is_secret_file(&self.path) {
            let before = self
                .before
                .as_deref()
                .map(|b| mask_values(b, &self.secrets));
            let after = mask_values(&self.after, &self.secrets);
            crate::diff::unified(&self.path, before.as_deref(), &after)
        } else {
            crate::diff::unified(&self.path, self.before.as_deref(), &self.after)
        };
        for secret in &self.secrets {
            diff = diff.replace(secret.as_str(), SECRET_MARK);
        }
        diff
    }
}

const SECRET_MARK: &str = "<random secret, not shown>";
const VALUE_MARK: &str = "<value not shown>";
const LINE_MARK: &str = "<line not shown>";

/// Files of secrets (wrangler's `.dev.vars`, `.dev.vars.<env>`, dotenv's
/// `.env*`): their values never show, and new ones are private to their
/// owner.
pub fn is_secret_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with(".dev.vars") || name.starts_with(".env")
}

/// A dotenv file as a diff may show it: a line where dotenv (Wrangler's
/// reader, [`crate::dotenv`]) finds a definition shows as `KEY=` and a
/// mark; every other line that is not blank (a comment, a line of a
/// multi-line value, anything dotenv skips) shows as a mark. No text of the
/// file but its keys is ever shown.
fn mask_values(text: &str, own: &[String]) -> String {
    let mut keys = std::collections::HashMap::new();
    for entry in crate::dotenv::parse(text) {
        let mark = if own.contains(&entry.value) {
            SECRET_MARK
        } else {
            VALUE_MARK
        };
        keys.insert(entry.line, format!("{}={mark}", entry.key));
    }
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let (content, ending) = match line.strip_suffix("\r\n") {
            Some(c) => (c, "\r\n"),
            None => match line.strip_suffix('\n') {
                Some(c) => (c, "\n"),
                None => (line, ""),
            },
        };
        match keys.get(&(index + 1)) {
            Some(shown) => out.push_str(shown),
            None if content.trim().is_empty() => out.push_str(content),
            None => out.push_str(LINE_MARK),
        }
        out.push_str(ending);
    }
    out
}

/// What a run found, for the first line of its report; paths relative to
/// the folder the run was started in.
#[derive(Debug, Clone)]
pub struct Header {
    pub config: String,
    pub root: String,
    pub lang: crate::project::Lang,
    pub modules: String,
    /// The folder the run was started in (links resolved).
    pub from: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub header: Option<Header>,
    pub files: Vec<FileChange>,
    pub next_steps: Vec<String>,
    /// Things the user must know that are not a failure.
    pub warnings: Vec<String>,
    /// What kvgen decided or saw, for the user's information.
    pub notes: Vec<String>,
    /// The project root the files are in: where the run's journal goes.
    pub root: Option<PathBuf>,
    /// Conflicts with conflict markers are written (`--write-conflicts`)
    /// instead of stopping the run.
    pub write_marked: bool,
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
        self.root.get_or_insert_with(|| root.to_path_buf());
        self.files.push(FileChange {
            path: path.to_string(),
            absolute,
            before,
            after: content,
            status,
            reason,
            secrets: Vec::new(),
            marked: false,
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
        self.root.get_or_insert_with(|| root.to_path_buf());
        self.files.push(FileChange {
            path: path.to_string(),
            absolute: root.join(path),
            before,
            after: edit.text,
            status,
            reason,
            secrets: Vec::new(),
            marked: false,
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

    /// Whether a conflict stops the run (every conflict, but those whose
    /// merge with markers is written by request).
    pub fn has_conflicts(&self) -> bool {
        self.files
            .iter()
            .any(|f| f.status == Status::Conflict && !(f.marked && self.write_marked))
    }

    /// The conflicts written with their markers (`--write-conflicts`).
    pub fn marked_conflicts(&self) -> Vec<&FileChange> {
        self.files
            .iter()
            .filter(|f| f.status == Status::Conflict && f.marked && self.write_marked)
            .collect()
    }

    /// Whether the file is written when the plan is applied.
    pub fn writes(&self, file: &FileChange) -> bool {
        file.status.writes()
            || (file.status == Status::Conflict && file.marked && self.write_marked)
    }

    /// Checks every file of the plan before anything is shown or written:
    /// it must lie inside the project root once links are followed (a link
    /// inside the project is written through, and stays a link) and be a
    /// regular file or not exist; a file to write must not be read-only
    /// (unless `force`).
    pub fn check(&mut self, force: bool) -> Result<(), BadInput> {
        let Some(root) = self.root.clone() else {
            return Ok(());
        };
        let write_marked = self.write_marked;
        for file in self.files.iter_mut() {
            file.absolute = files::resolve_inside(&root, &file.path)?;
            if let Ok(meta) = std::fs::metadata(&file.absolute)
                && !meta.is_file()
            {
                let shown = crate::names::show_path(Path::new(&file.path));
                return Err(files::not_regular(&shown, files::kind(&meta)));
            }
            let marked = file.status == Status::Conflict && file.marked && write_marked;
            if file.status.writes() || marked {
                let shown = crate::names::show_path(Path::new(&file.path));
                files::check_writable(&file.absolute, &shown, force)?;
            }
        }
        Ok(())
    }

    /// Writes every file whose status says so, all or none (see
    /// [`crate::transaction`]). Call [`Plan::check`] first.
    pub fn apply(&self) -> anyhow::Result<()> {
        assert!(
            !self.has_conflicts(),
            "a plan with conflicts is never applied"
        );
        let Some(root) = &self.root else {
            return Ok(());
        };
        let tx = Transaction::begin(root);
        for file in self.files.iter().filter(|f| self.writes(f)) {
            let expect = match &file.before {
                Some(before) => Expect::Bytes(before.as_bytes().to_vec()),
                None => Expect::Absent,
            };
            let mode = if is_secret_file(&file.path) {
                NewMode::Private
            } else {
                NewMode::Normal
            };
            tx.stage(
                &file.absolute,
                &file.path,
                file.after.as_bytes(),
                expect,
                mode,
            )
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot write {}: {e}; nothing was written",
                    crate::names::show_path(Path::new(&file.path))
                )
            })?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applying_a_plan_writes_its_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("config"), "old").unwrap();
        let mut plan = Plan::default();
        plan.generated(&root, "a/b.txt", "one".into(), false)
            .unwrap();
        plan.edited(
            &root,
            "config",
            Some("old".into()),
            Edit {
                text: "new".into(),
                status: EditStatus::Changed,
            },
        );
        plan.finish();
        plan.check(false).unwrap();
        plan.apply().unwrap();
        assert_eq!(std::fs::read(root.join("a/b.txt")).unwrap(), b"one");
        assert_eq!(std::fs::read(root.join("config")).unwrap(), b"new");
        let mut names: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "config"]);
    }

    #[test]
    fn a_multi_line_value_with_escaped_quotes_shows_no_line_of_it() {
        let before = "CERT=\"-----BEGIN \\\"KEY\\\"\nAPI_KEY=MIIEvQIBADANBgkqhkiG9w0\n-----END\"\n";
        let file = FileChange {
            path: ".dev.vars".into(),
            absolute: PathBuf::from(".dev.vars"),
            before: Some(before.into()),
            after: format!("{before}SESSION_SECRET=s3cr3t\n"),
            status: Status::Update,
            reason: None,
            secrets: vec!["s3cr3t".into()],
            marked: false,
        };
        let diff = file.diff();
        for secret in ["MIIEvQ", "BEGIN", "END", "s3cr3t"] {
            assert!(!diff.contains(secret), "{secret} in:\n{diff}");
        }
        assert!(diff.contains(" CERT=<value not shown>"), "{diff}");
    }

    #[test]
    fn secret_files_show_no_value_in_diffs() {
        let file = FileChange {
            path: ".dev.vars".into(),
            absolute: PathBuf::from(".dev.vars"),
            before: Some("# keys\nPEM='line1\nline2'\nexport API_KEY=\"abc\"\nOTHER: x\n".into()),
            after: "# keys\nPEM='line1\nline2'\nexport API_KEY=\"abc\"\nOTHER: x\nSESSION_SECRET=s3cr3t\n"
                .into(),
            status: Status::Update,
            reason: None,
            secrets: vec!["s3cr3t".into()],
            marked: false,
        };
        let diff = file.diff();
        for secret in ["abc", "line1", "line2", "s3cr3t", " x", "keys"] {
            assert!(!diff.contains(secret), "{secret} in:\n{diff}");
        }
        assert!(diff.contains(" API_KEY=<value not shown>"), "{diff}");
        assert!(diff.contains(" <line not shown>"), "{diff}");
        assert!(
            diff.contains("+SESSION_SECRET=<random secret, not shown>"),
            "{diff}"
        );
        assert!(is_secret_file("sub/.env.local"));
        assert!(!is_secret_file("src/env.ts"));
    }

    #[test]
    fn a_conflict_turns_every_write_into_a_skip() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("edited.ts"), "mine").unwrap();
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
