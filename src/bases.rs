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

use crate::error::BadInput;
use crate::plan::{FileChange, Plan, Status, read_text};
use crate::text::Text;

/// The lock file's name, beside `kvgen.toml`.
pub const FILE: &str = "kvgen.lock";

const VERSION: u32 = 1;

/// Files larger than this are not merged (a conflict instead): a merge
/// compares every line with every other.
const MAX_MERGE_BYTES: usize = 1 << 20;
/// ... or more lines than this in any of the three texts (the largest
/// generated file has under 2,000), which bounds the time a merge takes.
const MAX_MERGE_LINES: usize = 4_000;

/// Whether the three texts of a merge are small enough to merge.
fn mergeable(texts: [&str; 3]) -> bool {
    texts.iter().all(|text| {
        text.len() <= MAX_MERGE_BYTES
            && memchr::memchr_iter(b'\n', text.as_bytes()).count() <= MAX_MERGE_LINES
    })
}

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
    /// A lock that records `design`'s bindings and no file yet.
    pub fn for_design(design: &crate::design::Design) -> Lock {
        Lock {
            bindings: design
                .namespaces
                .iter()
                .map(|n| n.binding.clone())
                .collect(),
            ..Lock::default()
        }
    }

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
        let body = Text::new(raw).body;
        let fail = |line: usize, col: usize, message: &str| {
            BadInput::new(format!(
                "{shown}:{line}:{col}: {message}; kvgen writes this file: restore it from version control (`git checkout -- kvgen.lock`, or after a merge take either side: the next kvgen run rewrites it). Deleting it works too, but then every generated file you edited is a conflict kvgen cannot merge (--force takes kvgen's version)"
            ))
        };
        let file: LockFile<'_> = serde_json::from_str(body).map_err(|e| {
            let reason = e.to_string();
            let reason = reason.split(" at line ").next().unwrap_or(&reason);
            fail(e.line(), e.column(), reason)
        })?;
        if file.version != VERSION {
            return Err(BadInput::new(format!(
                "{shown}: written by another kvgen (lock version {}, this kvgen reads {VERSION}); upgrade kvgen",
                file.version
            )));
        }
        Ok(Lock {
            bindings: file.bindings,
            files: file
                .files
                .into_iter()
                .map(|(path, entry)| {
                    (
                        path,
                        Entry {
                            kvgen: entry.kvgen,
                            sha256: entry.sha256,
                            base: entry.base.join("\n"),
                        },
                    )
                })
                .collect(),
        })
    }

    /// The lock file's text: JSON, each line of a base an element of its
    /// own, so a change of a generated file reads as lines in a diff.
    pub fn render(&self) -> String {
        let file = LockFileOut {
            comment: COMMENT,
            version: VERSION,
            bindings: &self.bindings,
            files: self
                .files
                .iter()
                .map(|(path, entry)| {
                    (
                        path.as_str(),
                        EntryOut {
                            kvgen: &entry.kvgen,
                            sha256: &entry.sha256,
                            base: entry.base.split('\n').collect(),
                        },
                    )
                })
                .collect(),
        };
        let mut out = serde_json::to_string_pretty(&file).expect("a lock serializes");
        out.push('\n');
        out
    }
}

const COMMENT: &str = "kvgen.lock: what kvgen generated last, the base of the three-way merge that keeps your edits when kvgen's templates change. Written by kvgen: commit it, do not edit it.";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile<'a> {
    #[serde(rename = "//", default)]
    _comment: Option<String>,
    version: u32,
    #[serde(default)]
    bindings: Vec<String>,
    #[serde(default, borrow)]
    files: BTreeMap<String, EntryIn<'a>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryIn<'a> {
    kvgen: String,
    sha256: String,
    /// Borrowed from the file's text where no escape is in the way.
    #[serde(borrow)]
    base: Vec<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Serialize)]
struct LockFileOut<'a> {
    #[serde(rename = "//")]
    comment: &'a str,
    version: u32,
    bindings: &'a [String],
    files: BTreeMap<&'a str, EntryOut<'a>>,
}

#[derive(serde::Serialize)]
struct EntryOut<'a> {
    kvgen: &'a str,
    sha256: &'a str,
    base: Vec<&'a str>,
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
        // A damaged hash is replaced by the right one.
        Some(entry) if entry.base == theirs && entry.verified_base().is_some() => {
            Some(entry.clone())
        }
        _ => Some(Entry::new(&theirs)),
    };
    let (status, after, reason) = match ours.as_deref() {
        None if recorded.is_some() && !force => {
            record = recorded.cloned();
            plan.notes.push(format!(
                "{} was generated by kvgen and has been deleted, so it stays deleted (code that imports it fails until it is back: run with --force to restore it; to drop it for good, remove the modules that use it from kvgen.toml)",
                crate::names::show_path(Path::new(path))
            ));
            (
                Status::Skip,
                String::new(),
                Some("deleted: kvgen generated it, and it stays deleted".to_string()),
            )
        }
        None => (Status::Create, theirs, None),
        Some(ours) if ours == theirs => (Status::Identical, theirs, None),
        Some(ours) if has_markers(ours) && !force => (
            Status::Conflict,
            ours.to_string(),
            Some("has conflict markers (<<<<<<<, =======, >>>>>>>) from an earlier merge: resolve them, then run kvgen again (--force takes kvgen's version)".to_string()),
        ),
        Some(ours) => {
            // A recorded base that is kvgen's rendering as it is now is
            // trusted even when its hash was damaged (it is what kvgen
            // makes); any other base only when its hash holds.
            let base = recorded.and_then(|e| {
                if e.base == theirs {
                    Some(e.base.as_str())
                } else {
                    e.verified_base()
                }
            });
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
                Some(base) if base == theirs => (Status::Identical, ours.to_string(), None),
                Some(base) => {
                    if !mergeable([base, &ours_lf, &theirs]) {
                        (
                            Status::Conflict,
                            theirs,
                            Some(format!(
                                "edited, and kvgen's rendering changed; too large to merge (over {MAX_MERGE_LINES} lines or {} MiB): --force takes kvgen's version",
                                MAX_MERGE_BYTES >> 20
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
        let e = Lock::parse(
            "{\n  \"version\": 1,\n  \"files\": { \"a\": { \"kvgen\": \"0.1.0\" } }\n}\n",
            FILE,
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("kvgen.lock:3:38: missing field `sha256`"),
            "{}",
            e.0
        );
        let e = Lock::parse("{\n  \"version\": 1,\n<<<<<<< ours\n", FILE).unwrap_err();
        assert!(e.0.starts_with("kvgen.lock:3:1: "), "{}", e.0);
    }

    #[test]
    fn a_crlf_checkout_of_the_lock_reads_the_same() {
        let mut lock = Lock::default();
        lock.files.insert("f".into(), Entry::new("a\nb\n"));
        let crlf = lock.render().replace('\n', "\r\n");
        assert_eq!(Lock::parse(&crlf, FILE).unwrap(), lock);
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
    fn files_too_large_to_merge_are_a_conflict_at_once() {
        let big = "x\n".repeat(MAX_MERGE_LINES + 1);
        let (plan, _) = run(Some(&big), Some(&format!("{big}mine\n")), BASE, false);
        assert_eq!(plan.files[0].status, Status::Conflict);
        assert!(
            plan.files[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("too large to merge")
        );
        assert!(mergeable([BASE, BASE, BASE]));
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
