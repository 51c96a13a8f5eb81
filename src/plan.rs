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

/// Files of secrets (wrangler's `.dev.vars`, `.dev.vars.<env>`, dotenv's
/// `.env*`): their values never show, and new ones are private to their
/// owner.
pub fn is_secret_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with(".dev.vars") || name.starts_with(".env")
}

/// A dotenv file with every value (and comment) replaced by a mark, line
/// for line: `export KEY="…"` becomes `export KEY=<value not shown>`, the
/// lines of a multi-line quoted value and anything unrecognised become a
/// mark too.
fn mask_values(text: &str, own: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for line in text.split_inclusive('\n') {
        let (content, ending) = match line.strip_suffix("\r\n") {
            Some(c) => (c, "\r\n"),
            None => match line.strip_suffix('\n') {
                Some(c) => (c, "\n"),
                None => (line, ""),
            },
        };
        if let Some(quote) = open {
            if content.contains(quote) {
                open = None;
            }
            out.push_str(VALUE_MARK);
        } else {
            let trimmed = content.trim_start();
            let indent = &content[..content.len() - trimmed.len()];
            let (export, rest) = match trimmed.strip_prefix("export ") {
                Some(rest) => ("export ", rest.trim_start()),
                None => ("", trimmed),
            };
            let key_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
                .unwrap_or(rest.len());
            let after_key = rest[key_len..].trim_start();
            if trimmed.is_empty() {
            } else if trimmed.starts_with('#') {
                out.push_str(indent);
                out.push_str("# …");
            } else if key_len > 0 && (after_key.starts_with('=') || after_key.starts_with(':')) {
                let value = after_key[1..].trim();
                out.push_str(indent);
                out.push_str(export);
                out.push_str(&rest[..key_len]);
                out.push('=');
                let mark = if own.iter().any(|s| value.contains(s.as_str())) {
                    SECRET_MARK
                } else {
                    VALUE_MARK
                };
                out.push_str(mark);
                if let Some(quote) = value
                    .chars()
                    .next()
                    .filter(|c| matches!(c, '"' | '\'' | '`'))
                    && !value[1..].contains(quote)
                {
                    open = Some(quote);
                }
            } else {
                out.push_str(VALUE_MARK);
            }
        }
        out.push_str(ending);
    }
    out
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub files: Vec<FileChange>,
    pub next_steps: Vec<String>,
    /// The project root the files are in: where the run's journal goes.
    pub root: Option<PathBuf>,
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

    /// Checks every file the plan would write, before anything is: it must
    /// lie inside the project root once links are followed (a link inside
    /// the project is written through, and stays a link), be a regular file
    /// or not exist, and not be read-only (unless `force`).
    pub fn check(&mut self, force: bool) -> Result<(), BadInput> {
        let Some(root) = self.root.clone() else {
            return Ok(());
        };
        for file in self.files.iter_mut().filter(|f| f.status.writes()) {
            file.absolute = files::resolve_inside(&root, &file.path)?;
            if let Ok(meta) = std::fs::metadata(&file.absolute)
                && !meta.is_file()
            {
                return Err(BadInput::new(format!(
                    "{}: is {}, not a regular file; kvgen reads and writes only regular files",
                    crate::names::show_path(Path::new(&file.path)),
                    files::kind(&meta)
                )));
            }
            let shown = crate::names::show_path(Path::new(&file.path));
            files::check_writable(&file.absolute, &shown, force)?;
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
        for file in self.files.iter().filter(|f| f.status.writes()) {
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
        };
        let diff = file.diff();
        for secret in ["abc", "line1", "line2", "s3cr3t", " x"] {
            assert!(!diff.contains(secret), "{secret} in:\n{diff}");
        }
        assert!(diff.contains(" export API_KEY=<value not shown>"), "{diff}");
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
