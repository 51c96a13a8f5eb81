//! `kvgen.lock`: what kvgen generated last, file by file, and the upgrade
//! rules that keep a user's edits.
//!
//! For every generated file the lock keeps the text kvgen generated (the
//! base), its SHA-256 and the kvgen version. On the next run the base tells
//! an untouched file (updated silently when the templates changed) from an
//! edited one (merged three ways: base, the file on disk, the new
//! rendering), and a file the user deleted (left deleted) from one never
//! generated. The base is kept as text rather than re-rendered from earlier
//! templates because a rendering also depends on the project (its formatter
//! settings, its import style, its `worker` version), which may have changed
//! since.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use toml_edit::{Document, Item};

use crate::error::BadInput;
use crate::plan::{FileChange, Plan, Status, read_text};
use crate::text::{Text, line_col};

/// The lock file's name, beside `kvgen.toml`.
pub const FILE: &str = "kvgen.lock";

const VERSION: i64 = 1;

/// Files larger than this are not merged (a conflict instead): a merge
/// compares every line with every other.
const MAX_MERGE_BYTES: usize = 4 << 20;

/// What kvgen generated for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The kvgen version that generated it.
    pub kvgen: String,
    pub sha256: String,
    pub base: String,
}

impl Entry {
    pub fn new(base: &str) -> Self {
        Entry {
            kvgen: env!("CARGO_PKG_VERSION").to_string(),
            sha256: sha256(base),
            base: base.to_string(),
        }
    }

    /// The base, when it is what its hash says (an edited lock is not
    /// trusted).
    pub fn verified_base(&self) -> Option<&str> {
        (sha256(&self.base) == self.sha256).then_some(self.base.as_str())
    }
}

pub fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The lock: generated files by path, and the bindings the design had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    pub files: BTreeMap<String, Entry>,
    pub bindings: Vec<String>,
}

impl Lock {
    /// Reads the lock of the project at `root`; a missing lock is empty.
    pub fn read(root: &Path) -> anyhow::Result<(Option<String>, Lock)> {
        let raw = read_text(&root.join(FILE), FILE)?;
        let lock = match &raw {
            Some(raw) => Lock::parse(raw, FILE)?,
            None => Lock::default(),
        };
        Ok((raw, lock))
    }

    pub fn parse(raw: &str, shown: &str) -> Result<Lock, BadInput> {
        // A carriage return inside a base is written `\r`, so a CRLF in the
        // file is a line break a checkout converted (git's core.autocrlf):
        // read as LF, or no base would match its hash.
        let body = &Text::new(raw).body.replace("\r\n", "\n");
        let fail = |offset: usize, message: &str| {
            let (line, col) = line_col(body, offset);
            BadInput::new(format!(
                "{shown}:{line}:{col}: {message}; kvgen writes this file: restore it from version control, or delete it (kvgen then treats every generated file as one it has no record of)"
            ))
        };
        let doc = Document::parse(body).map_err(|e| {
            let reason = e.message().lines().next().unwrap_or("invalid TOML").trim();
            fail(
                e.span().map_or(0, |s| s.start),
                &format!("invalid TOML: {reason}"),
            )
        })?;
        let root = doc.as_table();
        match root.get("version").and_then(Item::as_integer) {
            Some(VERSION) => {}
            Some(_) => {
                return Err(BadInput::new(format!(
                    "{shown}: written by a newer kvgen (lock version {}); upgrade kvgen",
                    root["version"]
                )));
            }
            None => return Err(fail(0, "no `version = 1`")),
        }
        let mut lock = Lock::default();
        if let Some(bindings) = root.get("bindings") {
            let array = bindings
                .as_array()
                .ok_or_else(|| fail(0, "`bindings` is not an array"))?;
            for binding in array {
                let binding = binding
                    .as_str()
                    .ok_or_else(|| fail(0, "`bindings` holds something other than strings"))?;
                lock.bindings.push(binding.to_string());
            }
        }
        if let Some(files) = root.get("file") {
            let files = files
                .as_array_of_tables()
                .ok_or_else(|| fail(0, "`file` is not an array of tables"))?;
            for table in files.iter() {
                let at = table.span().map_or(0, |s| s.start);
                let field = |name: &str| {
                    table
                        .get(name)
                        .and_then(Item::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| fail(at, &format!("a [[file]] without `{name}`")))
                };
                lock.files.insert(
                    field("path")?,
                    Entry {
                        kvgen: field("kvgen")?,
                        sha256: field("sha256")?,
                        base: field("base")?,
                    },
                );
            }
        }
        Ok(lock)
    }

    /// The lock file's text.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# kvgen.lock: what kvgen generated last, the base of the three-way merge that keeps\n# your edits when kvgen's templates change. Written by kvgen: commit it, do not edit it.\n",
        );
        out.push_str(&format!("version = {VERSION}\n"));
        let bindings: Vec<String> = self
            .bindings
            .iter()
            .map(|b| crate::config::toml::quote(b, None))
            .collect();
        out.push_str(&format!("bindings = [{}]\n", bindings.join(", ")));
        for (path, entry) in &self.files {
            out.push_str("\n[[file]]\n");
            out.push_str(&format!(
                "path = {}\n",
                crate::config::toml::quote(path, None)
            ));
            out.push_str(&format!(
                "kvgen = {}\n",
                crate::config::toml::quote(&entry.kvgen, None)
            ));
            out.push_str(&format!("sha256 = \"{}\"\n", entry.sha256));
            out.push_str(&format!("base = {}\n", multi_line(&entry.base)));
        }
        out
    }
}

/// A TOML multi-line string holding `text` exactly: literal (no escapes,
/// so it reads as the file does) when it can be, else basic.
fn multi_line(text: &str) -> String {
    let literal_ok = !text.contains("'''")
        && !text.ends_with('\'')
        && !text
            .bytes()
            .any(|b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f);
    if literal_ok {
        return format!("'''\n{text}'''");
    }
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str("\"\"\"\n");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push('\n'),
            '\t' => out.push('\t'),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push_str("\"\"\"");
    out
}

/// Plans one generated file at `path` whose new rendering is `theirs`, by
/// the upgrade rules, and records what the next lock says of it in `next`:
///
/// - missing: created; but a file the lock records (kvgen generated it and
///   the user deleted it) stays deleted (`skip`, with a note) unless
///   `force`;
/// - holding `theirs`: identical;
/// - holding the base (never edited): updated to `theirs`;
/// - edited, and `theirs` is the base (the templates did not change): kept
///   as it is (identical);
/// - edited, and the templates changed: merged three ways (`merge`), or a
///   conflict when the changes overlap (the markers show in the diff);
///   `force` takes `theirs`;
/// - differing with no record of what kvgen generated: a conflict, or
///   `force`.
pub fn plan_file(
    plan: &mut Plan,
    root: &Path,
    path: &str,
    theirs: String,
    force: bool,
    lock: &Lock,
    next: &mut Lock,
) -> anyhow::Result<()> {
    let absolute = root.join(path);
    let ours = read_text(&absolute, path)?;
    let recorded = lock.files.get(path);
    // What the next lock says: the recorded entry when it holds this very
    // text (no hashing in the common case of nothing changed), else a new
    // one.
    let mut record = match recorded {
        // Not verified here: a damaged hash is found when the base is
        // needed for a merge, and then refused.
        Some(entry) if entry.base == theirs => Some(entry.clone()),
        _ => Some(Entry::new(&theirs)),
    };
    let (status, after, reason) = match ours.as_deref() {
        None if recorded.is_some() && !force => {
            record = recorded.cloned();
            plan.notes.push(format!(
                "{} was generated by kvgen and has been deleted, so it stays deleted; remove its module from kvgen.toml to say so there, or run with --force to restore it",
                crate::names::show_path(Path::new(path))
            ));
            (Status::Skip, String::new(), None)
        }
        None => (Status::Create, theirs, None),
        Some(ours) if ours == theirs => (Status::Identical, theirs, None),
        Some(ours) if has_markers(ours) => (
            Status::Conflict,
            ours.to_string(),
            Some("has conflict markers (<<<<<<<, =======, >>>>>>>) from an earlier merge: resolve them, then run kvgen again".to_string()),
        ),
        Some(ours) => {
            let base = recorded.and_then(Entry::verified_base);
            let crlf = crate::text::uses_crlf(ours);
            let ours_lf = if crlf {
                ours.replace("\r\n", "\n")
            } else {
                ours.to_string()
            };
            let in_ours_style = |text: &str| {
                if crlf {
                    crate::text::restore_line_endings(ours, text)
                } else {
                    text.to_string()
                }
            };
            match base {
                // Only the line endings differ (a CRLF checkout): kept.
                _ if ours_lf == theirs => (Status::Identical, ours.to_string(), None),
                _ if force => (
                    Status::Force,
                    theirs,
                    Some("differs from what kvgen generates; overwritten (--force)".to_string()),
                ),
                None => (
                    Status::Conflict,
                    theirs,
                    Some(if recorded.is_some() {
                        "differs from what kvgen generates, and kvgen.lock's record of this file was edited, so kvgen cannot tell your changes from its own".to_string()
                    } else {
                        "differs from what kvgen generates, and kvgen.lock has no record of what kvgen generated here (edited before kvgen.lock existed?)".to_string()
                    }),
                ),
                Some(base) if ours_lf == base => (Status::Update, in_ours_style(&theirs), None),
                Some(base) if base == theirs => {
                    record = recorded.cloned();
                    (Status::Identical, ours.to_string(), None)
                }
                Some(base) => {
                    if ours_lf.len() > MAX_MERGE_BYTES {
                        (
                            Status::Conflict,
                            theirs,
                            Some(format!(
                                "edited, and kvgen's templates changed; at {} bytes it is too large to merge",
                                ours_lf.len()
                            )),
                        )
                    } else {
                        match diffy::merge(base, &ours_lf, &theirs) {
                            Ok(merged) if merged == ours_lf => {
                                (Status::Identical, ours.to_string(), None)
                            }
                            Ok(merged) => (Status::Merge, in_ours_style(&merged), None),
                            Err(marked) => (
                                Status::Conflict,
                                in_ours_style(&marked),
                                Some("your edits and kvgen's changes overlap; --dry-run shows the merge with conflict markers, --write-conflicts writes it into the file for you to resolve, --force takes kvgen's version".to_string()),
                            ),
                        }
                    }
                }
            }
        }
    };
    if let Some(entry) = record {
        next.files.insert(path.to_string(), entry);
    }
    plan.root.get_or_insert_with(|| root.to_path_buf());
    // A merge whose changes overlap (not a file that had markers already).
    let marked = status == Status::Conflict
        && ours.as_deref() != Some(after.as_str())
        && has_markers(&after);
    let before = if status == Status::Skip { None } else { ours };
    plan.files.push(FileChange {
        path: path.to_string(),
        absolute,
        before,
        after,
        status,
        reason,
        secrets: Vec::new(),
        marked,
    });
    Ok(())
}

/// Whether `text` holds an unresolved merge: git-style conflict markers,
/// each at the start of a line.
pub fn has_markers(text: &str) -> bool {
    let (mut open, mut middle, mut close) = (false, false, false);
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        open |= line.starts_with("<<<<<<< ");
        middle |= line == "=======";
        close |= line.starts_with(">>>>>>> ");
    }
    open && middle && close
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_reads_back_exactly() {
        let mut lock = Lock {
            bindings: vec!["CACHE".into()],
            ..Lock::default()
        };
        for text in [
            "plain\n",
            "\"\"\" quotes \\ and \t tabs\r\n and ''' \u{1} \n",
            "",
            "no newline",
        ] {
            lock.files
                .insert(format!("f{}", text.len()), Entry::new(text));
        }
        let rendered = lock.render();
        assert_eq!(Lock::parse(&rendered, FILE).unwrap(), lock, "{rendered}");
    }

    #[test]
    fn a_damaged_lock_is_an_error_with_its_place() {
        let e = Lock::parse("version = 1\n[[file]]\npath = \"a\"\n", FILE).unwrap_err();
        assert!(
            e.0.starts_with("kvgen.lock:2:1: a [[file]] without `kvgen`"),
            "{}",
            e.0
        );
        let e = Lock::parse("version = 1\nx = <<<<<<<\n", FILE).unwrap_err();
        assert!(e.0.starts_with("kvgen.lock:2:"), "{}", e.0);
    }

    fn run(base: Option<&str>, ours: Option<&str>, theirs: &str, force: bool) -> (Plan, Lock) {
        let dir = tempfile::tempdir().unwrap();
        if let Some(ours) = ours {
            std::fs::write(dir.path().join("f.ts"), ours).unwrap();
        }
        let mut lock = Lock::default();
        if let Some(base) = base {
            lock.files.insert("f.ts".into(), Entry::new(base));
        }
        let mut plan = Plan::default();
        let mut next = Lock::default();
        plan_file(
            &mut plan,
            dir.path(),
            "f.ts",
            theirs.into(),
            force,
            &lock,
            &mut next,
        )
        .unwrap();
        (plan, next)
    }

    const BASE: &str = "a\nb\nc\nd\ne\nf\ng\n";

    #[test]
    fn upgrades_keep_edits() {
        // Untouched: updated.
        let (plan, next) = run(Some(BASE), Some(BASE), "a\nB\nc\nd\ne\nf\ng\n", false);
        assert_eq!(plan.files[0].status, Status::Update);
        assert_eq!(next.files["f.ts"].base, "a\nB\nc\nd\ne\nf\ng\n");
        // Edited far from the change: merged, both changes kept.
        let (plan, next) = run(
            Some(BASE),
            Some("a\nb\nc\nd\ne\nf\nG\n"),
            "a\nB\nc\nd\ne\nf\ng\n",
            false,
        );
        assert_eq!(plan.files[0].status, Status::Merge);
        assert_eq!(plan.files[0].after, "a\nB\nc\nd\ne\nf\nG\n");
        assert_eq!(next.files["f.ts"].base, "a\nB\nc\nd\ne\nf\ng\n");
        // Overlapping: a conflict with markers.
        let (plan, _) = run(
            Some(BASE),
            Some("a\nX\nc\nd\ne\nf\ng\n"),
            "a\nY\nc\nd\ne\nf\ng\n",
            false,
        );
        assert_eq!(plan.files[0].status, Status::Conflict);
        assert!(
            plan.files[0].after.contains("<<<<<<< ours\nX\n"),
            "{}",
            plan.files[0].after
        );
        // ... and --force takes kvgen's version.
        let (plan, _) = run(
            Some(BASE),
            Some("a\nX\nc\nd\ne\nf\ng\n"),
            "a\nY\nc\nd\ne\nf\ng\n",
            true,
        );
        assert_eq!(plan.files[0].status, Status::Force);
        assert_eq!(plan.files[0].after, "a\nY\nc\nd\ne\nf\ng\n");
        // Edited, templates unchanged: kept.
        let (plan, next) = run(Some(BASE), Some("mine\n"), BASE, false);
        assert_eq!(plan.files[0].status, Status::Identical);
        assert_eq!(plan.files[0].after, "mine\n");
        assert_eq!(next.files["f.ts"].base, BASE);
        // Deleted: stays deleted, and stays recorded.
        let (plan, next) = run(Some(BASE), None, "new\n", false);
        assert_eq!(plan.files[0].status, Status::Skip);
        assert_eq!(next.files["f.ts"].base, BASE);
        assert!(plan.notes[0].contains("stays deleted"), "{:?}", plan.notes);
        let (plan, _) = run(Some(BASE), None, "new\n", true);
        assert_eq!(plan.files[0].status, Status::Create);
        // No record: a conflict as before.
        let (plan, _) = run(None, Some("mine\n"), BASE, false);
        assert_eq!(plan.files[0].status, Status::Conflict);
    }

    #[test]
    fn crlf_files_merge_and_keep_their_line_endings() {
        let ours = BASE.replace('\n', "\r\n");
        let (plan, _) = run(Some(BASE), Some(&ours), "a\nB\nc\nd\ne\nf\ng\n", false);
        assert_eq!(plan.files[0].status, Status::Update);
        assert_eq!(plan.files[0].after, "a\r\nB\r\nc\r\nd\r\ne\r\nf\r\ng\r\n");
    }

    #[test]
    fn an_edited_base_is_not_trusted() {
        let mut entry = Entry::new(BASE);
        entry.base.push('x');
        assert_eq!(entry.verified_base(), None);
    }
}
