//! Helpers shared by the integration tests (each test crate uses some).

#![allow(dead_code)]

pub mod node;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Copies a fixture folder recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A temporary copy of a fixture project.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn copy(fixture: &str) -> Project {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture);
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&source, dir.path());
        Project { dir }
    }

    pub fn with_files(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn read(&self, file: &str) -> String {
        fs::read_to_string(self.path().join(file)).unwrap()
    }

    pub fn write(&self, file: &str, text: &str) {
        fs::write(self.path().join(file), text).unwrap();
    }

    pub fn kvgen(&self, args: &[&str]) -> Run {
        self.kvgen_with_input(args, b"")
    }

    /// Runs kvgen with `input` on its standard input.
    pub fn kvgen_with_input(&self, args: &[&str], input: &[u8]) -> Run {
        self.kvgen_with(args, input, &[])
    }

    /// Runs kvgen with `input` on its standard input and `vars` set.
    pub fn kvgen_with(&self, args: &[&str], input: &[u8], vars: &[(&str, &Path)]) -> Run {
        let mut command = Command::cargo_bin("kvgen").unwrap();
        command.current_dir(self.path()).args(args);
        for (name, value) in vars {
            command.env(name, value);
        }
        let output = command.write_stdin(input.to_vec()).output().unwrap();
        Run {
            code: output.status.code().unwrap(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// Every file with its bytes and modification time.
    pub fn tree(&self) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
        let mut files = BTreeMap::new();
        walk(self.path(), self.path(), &mut files);
        files
    }
}

pub fn walk(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)>,
) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let modified = entry.metadata().unwrap().modified().unwrap();
            out.insert(
                path.strip_prefix(root).unwrap().to_path_buf(),
                (fs::read(&path).unwrap(), modified),
            );
        }
    }
}

/// Whether a report line is the header naming the config, root, language
/// and module folder (`wrangler.jsonc: TypeScript Worker in ., modules in
/// src/kv`).
pub fn is_header(line: &str) -> bool {
    line.contains(" Worker in ") && line.contains(", modules in ")
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The first line of a generating command's report: what it found.
    pub fn header(&self) -> &str {
        let first = self.stdout.lines().next().unwrap_or_default();
        assert!(is_header(first), "no header line:\n{}", self.stdout);
        first
    }

    /// The status lines, as `(status, path)`.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.stdout
            .lines()
            .skip_while(|l| is_header(l))
            .take_while(|l| !l.trim().is_empty())
            .map(|l| {
                let mut words = l.split_whitespace();
                (
                    words.next().unwrap().to_string(),
                    words.next().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Every file `identical`: the run changed nothing.
    pub fn assert_all_identical(&self) {
        let statuses = self.statuses();
        assert!(!statuses.is_empty(), "no status lines:\n{}", self.stdout);
        assert!(
            statuses.iter().all(|(s, _)| s == "identical"),
            "{}",
            self.stdout
        );
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// One entry of a tree as it is on disk, links not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        bytes: Vec<u8>,
        mode: u32,
        modified: std::time::SystemTime,
    },
    Dir {
        mode: u32,
    },
    Link(PathBuf),
    /// A FIFO, socket or device.
    Special,
}

/// Every file, folder and link below `root`, byte for byte, with
/// permissions and modification times.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn mode(meta: &fs::Metadata) -> u32 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            meta.permissions().mode() & 0o7777
        }
        #[cfg(not(unix))]
        {
            u32::from(meta.permissions().readonly())
        }
    }
    fn visit(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let node = if meta.file_type().is_symlink() {
                Node::Link(fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                visit(root, &path, out);
                Node::Dir { mode: mode(&meta) }
            } else if meta.is_file() {
                Node::File {
                    bytes: fs::read(&path).unwrap(),
                    mode: mode(&meta),
                    modified: meta.modified().unwrap(),
                }
            } else {
                Node::Special
            };
            out.insert(rel, node);
        }
    }
    let mut out = BTreeMap::new();
    visit(root, root, &mut out);
    out
}

/// Asserts that two snapshots are the same, naming the first difference.
pub fn assert_same_tree(
    before: &BTreeMap<PathBuf, Node>,
    after: &BTreeMap<PathBuf, Node>,
    context: &str,
) {
    for (path, node) in before {
        match after.get(path) {
            None => panic!("{context}: {} was removed", path.display()),
            Some(now) if now != node => {
                let show = |n: &Node| match n {
                    Node::File { bytes, mode, .. } => {
                        format!("file {mode:o}: {}", String::from_utf8_lossy(bytes))
                    }
                    other => format!("{other:?}"),
                };
                panic!(
                    "{context}: {} changed\nbefore: {}\nafter: {}",
                    path.display(),
                    show(node),
                    show(now)
                )
            }
            Some(_) => {}
        }
    }
    for path in after.keys() {
        assert!(
            before.contains_key(path),
            "{context}: {} appeared",
            path.display()
        );
    }
}

/// The shared vectors of typed keys (tests/fixtures/keys/schema-vectors.json).
pub fn schema_vectors() -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys/schema-vectors.json");
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The types of the shared vectors.
pub fn vector_types(vectors: &serde_json::Value) -> Vec<kvgen::keys::TypeDef> {
    vectors["types"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, fields)| {
            let fields: Vec<(&str, &str)> = fields
                .as_object()
                .unwrap()
                .iter()
                .map(|(field, text)| (field.as_str(), text.as_str().unwrap()))
                .collect();
            kvgen::keys::TypeDef::parse(name, &fields).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// The types of the shared vectors as kvgen.toml's `[types]` tables
/// (`[types.Post]`, then `id = "string"`, ...).
pub fn vector_types_toml(vectors: &serde_json::Value) -> String {
    let mut out = String::new();
    for (name, fields) in vectors["types"].as_object().unwrap() {
        out.push_str(&format!("\n[types.{name}]\n"));
        for (field, text) in fields.as_object().unwrap() {
            let text = toml::Value::String(text.as_str().unwrap().to_string());
            out.push_str(&format!("{field} = {text}\n"));
        }
    }
    out
}

/// A project with `wrangler.toml` holding `config`, whose local state for
/// namespace `id` is written the way miniflare writes it (the schema of
/// `_mf_entries`, a blob file per value), without Node: `rows` are key,
/// value and expiration in milliseconds.
pub fn seeded(config: &str, id: &str, rows: &[(&str, &str, Option<i64>)]) -> Project {
    let project = Project::with_files(&[("wrangler.toml", config), ("package.json", "{}")]);
    let kv = project.path().join(".wrangler/state/v3/kv");
    let database = kv.join("miniflare-KVNamespaceObject").join(format!(
        "{}.sqlite",
        kvgen::export::local::id_from_name("miniflare-KVNamespaceObject", id)
    ));
    let blobs = kv.join(id).join("blobs");
    fs::create_dir_all(database.parent().unwrap()).unwrap();
    fs::create_dir_all(&blobs).unwrap();
    let connection = rusqlite::Connection::open(&database).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE _mf_entries (key TEXT PRIMARY KEY, blob_id TEXT NOT NULL, expiration INTEGER, metadata TEXT);",
        )
        .unwrap();
    for (i, (key, value, expiration)) in rows.iter().enumerate() {
        let blob = format!("{i:080x}");
        fs::write(blobs.join(&blob), value).unwrap();
        connection
            .execute(
                "INSERT INTO _mf_entries VALUES (?1, ?2, ?3, NULL)",
                rusqlite::params![key, blob, expiration],
            )
            .unwrap();
    }
    project
}

/// An insta snapshot kept in `snapshots/<folder>/<name>.snap`.
pub fn assert_snapshot_in(folder: &str, name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("../../snapshots/{folder}"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}
