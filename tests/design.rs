//! kvgen.toml (the KV design), kvgen.lock (what kvgen generated last) and
//! `kvgen sync`, through the real binary on copies of the fixture projects:
//! how the commands edit the design, that a design regenerates the project
//! byte for byte, the upgrade rules when kvgen's templates change, `sync
//! --check` for CI, and what happens to bindings and modules taken out of
//! the design.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{Project, Run, assert_same_tree, snapshot};

const SAMPLE: &str = "examples/hello-worker";

/// Every file below `root` with its bytes (modification times left out:
/// for "restored byte for byte").
fn contents(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    common::walk(root, root, &mut files);
    files
        .into_iter()
        .map(|(path, (bytes, _))| (path, bytes))
        .collect()
}

/// Asserts two trees hold the same files with the same bytes, naming the
/// first difference.
fn assert_same_contents(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
    context: &str,
) {
    let before_paths: Vec<&PathBuf> = before.keys().collect();
    let after_paths: Vec<&PathBuf> = after.keys().collect();
    assert_eq!(before_paths, after_paths, "{context}: not the same files");
    for (path, bytes) in before {
        assert!(
            after[path] == *bytes,
            "{context}: {} differs\nbefore:\n{}\nafter:\n{}",
            path.display(),
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&after[path])
        );
    }
}

/// Runs kvgen in the project with `KVGEN_TEMPLATES_DIR=templates`: the
/// template set of an earlier kvgen.
fn kvgen_with_templates(project: &Project, templates: &Path, args: &[&str]) -> Run {
    project.kvgen_with(args, b"", &[("KVGEN_TEMPLATES_DIR", templates)])
}

/// The notes of a report (`note: …` paragraphs, on one line each here).
fn notes(run: &Run) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in run.stdout.lines() {
        if let Some(note) = line.strip_prefix("note: ") {
            out.extend(current.take());
            current = Some(note.to_string());
        } else if line.trim().is_empty() {
            out.extend(current.take());
        } else if let Some(note) = current.as_mut() {
            note.push(' ');
            note.push_str(line.trim());
        }
    }
    out.extend(current);
    out
}

fn assert_design_snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/design");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// Whether `new` is `old` with text put in (every byte of `old` kept, in
/// order): a greedy subsequence test.
fn only_additions(old: &str, new: &str) -> bool {
    let mut new = new.chars();
    old.chars().all(|c| new.any(|n| n == c))
}

/// The text `new` adds to `old`, when `new` only adds (see
/// [`only_additions`]); the additions are joined in order.
fn added_text(old: &str, new: &str) -> String {
    assert!(
        only_additions(old, new),
        "bytes of the old text were changed or removed:\n--- old\n{old}\n--- new\n{new}"
    );
    let mut out = String::new();
    let mut old = old.chars().peekable();
    for c in new.chars() {
        if old.peek() == Some(&c) {
            old.next();
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn only_additions_sees_a_byte_changed_or_removed() {
    assert!(only_additions("a = 1\n", "# x\na = 1\nb = 2\n"));
    assert_eq!(added_text("a = 1\n", "# x\na = 1\nb = 2\n"), "# x\nb = 2\n");
    assert!(!only_additions("a = 1\n", "a = 2\n"));
    assert!(!only_additions("a = 1\n", "a = 1"));
    assert!(!only_additions("ab", "ba"));
}

/// The KV bindings of a Wrangler config by place (`""` for the top level,
/// `env.NAME` for an environment), read with an independent parser.
fn kv_bindings(config: &Path) -> BTreeMap<String, Vec<String>> {
    let text = fs::read_to_string(config).unwrap();
    let value: serde_json::Value = if config.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).unwrap()
    } else {
        jsonc_parser::parse_to_serde_value(&text, &Default::default()).unwrap()
    };
    let names = |table: &serde_json::Value| -> Vec<String> {
        table["kv_namespaces"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|b| b["binding"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = BTreeMap::new();
    out.insert(String::new(), names(&value));
    if let Some(envs) = value["env"].as_object() {
        for (name, env) in envs {
            out.insert(format!("env.{name}"), names(env));
        }
    }
    out
}

/// The paths kvgen.lock records, and the base of each.
fn lock_files(lock: &str) -> BTreeMap<String, String> {
    kvgen::bases::Lock::parse(lock, "kvgen.lock")
        .unwrap()
        .files
        .into_iter()
        .map(|(path, entry)| (path, entry.base))
        .collect()
}

// ---------------------------------------------------------------------------
// 1. How the commands edit kvgen.toml.

/// The commands of a design with every kind of namespace, on the sample.
const SEQUENCE: [(&str, &[&str]); 5] = [
    ("1-create-users", &["create", "users", "--ttl", "600"]),
    ("2-cache-swr-staging", &["cache", "swr", "--env", "staging"]),
    ("3-session-cookie", &["session", "--cookie", "__Host-sid"]),
    ("4-flags", &["flags"]),
    ("5-bulk-users", &["bulk", "--binding", "USERS"]),
];

#[test]
fn kvgen_toml_after_each_command_on_the_sample() {
    let project = Project::copy(SAMPLE);
    for (name, args) in SEQUENCE {
        project.kvgen(args).assert_code(0);
        assert_design_snapshot(&format!("sample-{name}"), &project.read("kvgen.toml"));
        // The same command again changes nothing, not even a modification
        // time, and says so.
        let before = project.tree();
        let again = project.kvgen(args);
        again.assert_code(0);
        again.assert_all_identical();
        assert!(
            again
                .statuses()
                .contains(&("identical".to_string(), "kvgen.toml".to_string())),
            "{}",
            again.stdout
        );
        assert_eq!(project.tree(), before, "{name} run twice rewrote files");
    }
    // The design is the whole story: kvgen sync agrees with it.
    project.kvgen(&["sync", "--check"]).assert_code(0);
}

/// A design written by hand: comments, blank lines, odd spacing, single
/// quotes, an array over several lines with a comment in it.
const HAND_WRITTEN: &str = "# Our KV design. Hand-written; kvgen must keep it.

[kvgen]
lang='ts'          # TypeScript modules
dir   =   \"src/kv\"



# Users by id.
[namespaces.USERS]   # the main store
  title = 'users'
  purpose=\"data\"
  default_ttl = 600  # ten minutes
  modules = [
      \"store\",   # typed store
  ]

# End of design.
";

#[test]
fn a_hand_written_kvgen_toml_keeps_every_byte_but_the_additions() {
    let project = Project::copy(SAMPLE);
    project.write("kvgen.toml", HAND_WRITTEN);
    let sync = project.kvgen(&["sync"]);
    sync.assert_code(0);
    assert!(
        sync.statuses()
            .contains(&("identical".to_string(), "kvgen.toml".to_string())),
        "{}",
        sync.stdout
    );
    assert_eq!(project.read("kvgen.toml"), HAND_WRITTEN);

    // A command that asks for what the design has already: not a byte
    // changes (not even `default_ttl = 600`, which `create` without --ttl
    // leaves alone).
    project.kvgen(&["create", "users"]).assert_code(0);
    assert_eq!(project.read("kvgen.toml"), HAND_WRITTEN);

    // Each command only adds: its module, or its namespace at the end.
    let steps: [(&[&str], &[&str]); 4] = [
        (&["bulk", "--binding", "USERS"], &["\"bulk\","]),
        (
            &["cache", "swr", "--env", "staging"],
            &[
                "[namespaces.CACHE]",
                "envs = [\"staging\"]",
                "top_level = false",
            ],
        ),
        (
            &["session", "--cookie", "__Host-sid"],
            &["[namespaces.SESSIONS]", "cookie = \"__Host-sid\""],
        ),
        (&["flags"], &["[namespaces.FLAGS]", "modules = [\"flags\"]"]),
    ];
    for (args, expected) in steps {
        let before = project.read("kvgen.toml");
        project.kvgen(args).assert_code(0);
        let after = project.read("kvgen.toml");
        let added = added_text(&before, &after);
        for text in expected {
            assert!(
                added.contains(text),
                "{args:?} should add {text}; it added:\n{added}"
            );
        }
    }
    assert_design_snapshot("hand-written-after-commands", &project.read("kvgen.toml"));
    project.kvgen(&["sync"]).assert_all_identical();
}

#[test]
fn unknown_keys_and_invalid_values_are_refused_with_their_place_and_change_nothing() {
    let cases = [
        (
            "titel = \"users\"",
            "kvgen.toml:7:1: unknown key \"titel\" in [namespaces.USERS]",
        ),
        (
            "default_ttl = 30",
            "kvgen.toml:7:15: default_ttl: expected a whole number of seconds from 60",
        ),
        (
            "modules = [\"store\", \"nope\"]",
            "kvgen.toml:7:21: unknown module \"nope\"",
        ),
    ];
    for (line, expected) in cases {
        let project = Project::copy(SAMPLE);
        project.kvgen(&["create", "users"]).assert_code(0);
        let design = format!(
            "# kvgen.toml\n[kvgen]\nlang = \"ts\"\n\n[namespaces.USERS]\npurpose = \"data\"\n{line}\n"
        );
        project.write("kvgen.toml", &design);
        let before = snapshot(project.path());
        for args in [
            &["sync"][..],
            &["sync", "--check"],
            &["sync", "--force"],
            &["create", "users"],
            &["create", "orders"],
            &["cache"],
            &["bulk", "--binding", "USERS"],
        ] {
            let run = project.kvgen(args);
            run.assert_code(2);
            assert!(
                run.stderr.contains(expected),
                "{args:?} with {line:?}: expected {expected:?} in:\n{}",
                run.stderr
            );
            assert_same_tree(&before, &snapshot(project.path()), &format!("{args:?}"));
        }
    }
}

// ---------------------------------------------------------------------------
// 2. Every fixture project: its design regenerates it.

struct Fixture {
    path: &'static str,
    /// The Worker's folder inside the fixture ("" for the fixture itself):
    /// where kvgen.toml goes, and kvgen runs with -C.
    worker: &'static str,
    config: &'static str,
    /// Where the modules go.
    modules: &'static str,
    /// The store module's file name.
    store: &'static str,
}

const TS: &str = "store.ts";
const RUST: &str = "store.rs";

fn fixture_run(project: &Project, fixture: &Fixture, args: &[&str]) -> Run {
    let mut all: Vec<&str> = Vec::new();
    if !fixture.worker.is_empty() {
        all.extend(["-C", fixture.worker]);
    }
    all.extend(args);
    project.kvgen(&all)
}

const ORDERS: &str = "
[namespaces.ORDERS]
purpose = \"data\"
envs = [\"staging\", \"production\"]
modules = [\"store\"]
";

/// Every generating command that fits, then: `sync --check` passes and
/// `sync` rewrites nothing; the modules and kvgen.lock deleted, `sync`
/// brings back the same bytes; a namespace added by hand with two
/// environments gets its bindings and modules. Then a fresh copy with a
/// hand-written design holding ORDERS only: `sync` makes everything.
fn round_trip(fixture: &Fixture) {
    let label = fixture.path;
    let project = Project::copy(fixture.path);
    let root = project.path().join(fixture.worker);
    for args in [
        &["create", "users"][..],
        &["cache"],
        &["flags"],
        &["session"],
        &["bulk", "--binding", "USERS"],
    ] {
        fixture_run(&project, fixture, args).assert_code(0);
    }
    let check = fixture_run(&project, fixture, &["sync", "--check"]);
    check.assert_code(0);
    assert!(
        check.stdout.contains("nothing to sync"),
        "{label}: {}",
        check.stdout
    );
    let generated = snapshot(project.path());
    let sync = fixture_run(&project, fixture, &["sync"]);
    sync.assert_code(0);
    sync.assert_all_identical();
    assert_same_tree(&generated, &snapshot(project.path()), label);

    // kvgen.lock records the generated modules, all in the module folder.
    let recorded = lock_files(&fs::read_to_string(root.join("kvgen.lock")).unwrap());
    assert!(
        recorded.contains_key(&format!("{}/{}", fixture.modules, fixture.store)),
        "{label}: {recorded:?}"
    );
    assert!(recorded.len() >= 10, "{label}: {recorded:?}");
    for path in recorded.keys() {
        assert!(
            path.starts_with(&format!("{}/", fixture.modules)),
            "{label}: {path}"
        );
    }

    // The generated modules and the lock deleted: sync restores them.
    let everything = contents(project.path());
    fs::remove_dir_all(root.join(fixture.modules)).unwrap();
    fs::remove_file(root.join("kvgen.lock")).unwrap();
    let restore = fixture_run(&project, fixture, &["sync"]);
    restore.assert_code(0);
    assert!(
        restore
            .statuses()
            .contains(&("create".to_string(), "kvgen.lock".to_string())),
        "{label}: {}",
        restore.stdout
    );
    assert_same_contents(&everything, &contents(project.path()), label);

    // A namespace added by hand, in two environments.
    let design = fs::read_to_string(root.join("kvgen.toml")).unwrap();
    fs::write(root.join("kvgen.toml"), format!("{design}{ORDERS}")).unwrap();
    let check = fixture_run(&project, fixture, &["sync", "--check"]);
    check.assert_code(1);
    assert!(
        check
            .stdout
            .contains(&format!("update  {}", fixture.config)),
        "{label}: {}",
        check.stdout
    );
    let sync = fixture_run(&project, fixture, &["sync"]);
    sync.assert_code(0);
    let bindings = kv_bindings(&root.join(fixture.config));
    for place in ["", "env.staging", "env.production"] {
        assert!(
            bindings
                .get(place)
                .is_some_and(|b| b.iter().any(|b| b == "ORDERS")),
            "{label}: ORDERS missing at {place:?}: {bindings:?}\n{}",
            sync.stdout
        );
    }
    // ...once each.
    for (place, names) in &bindings {
        assert!(
            names.iter().filter(|b| *b == "ORDERS").count() <= 1,
            "{label}: {place}: {names:?}"
        );
    }
    let store = format!("{}/{}", fixture.modules, fixture.store);
    assert!(root.join(&store).is_file(), "{label}");
    let again = fixture_run(&project, fixture, &["sync"]);
    again.assert_code(0);
    again.assert_all_identical();
    fixture_run(&project, fixture, &["sync", "--check"]).assert_code(0);

    // A fresh copy whose only design is ORDERS, written by hand.
    let fresh = Project::copy(fixture.path);
    let fresh_root = fresh.path().join(fixture.worker);
    fs::write(fresh_root.join("kvgen.toml"), ORDERS.trim_start()).unwrap();
    let sync = fixture_run(&fresh, fixture, &["sync"]);
    sync.assert_code(0);
    let statuses = sync.statuses();
    for path in ["kvgen.lock", store.as_str()] {
        assert!(
            statuses.contains(&("create".to_string(), path.to_string())),
            "{label}: {path} not created:\n{}",
            sync.stdout
        );
    }
    let bindings = kv_bindings(&fresh_root.join(fixture.config));
    for place in ["", "env.staging", "env.production"] {
        assert!(
            bindings
                .get(place)
                .is_some_and(|b| b.iter().any(|b| b == "ORDERS")),
            "{label} (fresh): ORDERS missing at {place:?}: {bindings:?}"
        );
    }
    assert_eq!(
        fs::read_to_string(fresh_root.join("kvgen.toml")).unwrap(),
        ORDERS.trim_start(),
        "sync does not rewrite the design"
    );
    let again = fixture_run(&fresh, fixture, &["sync"]);
    again.assert_code(0);
    again.assert_all_identical();
    fixture_run(&fresh, fixture, &["sync", "--check"]).assert_code(0);
}

// tests/fixtures/projects/example-config is left out: its only config is
// wrangler.example.toml, a template the user copies to wrangler.toml, so
// kvgen finds no Worker config there (and editing the example is not what
// a user of the project would do).

#[test]
fn round_trip_hello_worker() {
    round_trip(&Fixture {
        path: SAMPLE,
        worker: "",
        config: "wrangler.jsonc",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_vite_fullstack() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/vite-fullstack",
        worker: "",
        config: "wrangler.jsonc",
        modules: "worker/kv",
        store: TS,
    });
}

#[test]
fn round_trip_monorepo_api() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/monorepo",
        worker: "apps/api",
        config: "wrangler.toml",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_monorepo_web() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/monorepo",
        worker: "apps/web",
        config: "wrangler.jsonc",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_env_only_bindings() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/env-only-bindings",
        worker: "",
        config: "wrangler.toml",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_hand_written_env() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/hand-written-env",
        worker: "",
        config: "wrangler.toml",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_typescript_5_0() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/typescript-5.0",
        worker: "",
        config: "wrangler.toml",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_lib_dom() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/lib-dom",
        worker: "",
        config: "wrangler.jsonc",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_esm_nodenext() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/esm-nodenext",
        worker: "",
        config: "wrangler.toml",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_isolated_declarations() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/isolated-declarations",
        worker: "",
        config: "wrangler.jsonc",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_prettier_no_semi() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/prettier-no-semi",
        worker: "",
        config: "wrangler.toml",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_javascript_worker() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/javascript-worker",
        worker: "",
        config: "wrangler.toml",
        modules: "src/kv",
        store: "store.js",
    });
}

#[test]
fn round_trip_ts_toml_envs() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/ts-toml-envs",
        worker: "",
        config: "wrangler.toml",
        modules: "src/kv",
        store: TS,
    });
}

#[test]
fn round_trip_rust_worker() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/rust-worker",
        worker: "",
        config: "wrangler.toml",
        modules: "src/kv",
        store: RUST,
    });
}

#[test]
fn round_trip_rust_worker_oldest() {
    round_trip(&Fixture {
        path: "tests/fixtures/projects/rust-worker-oldest",
        worker: "",
        config: "wrangler.toml",
        modules: "worker/kv",
        store: RUST,
    });
}

// ---------------------------------------------------------------------------
// 3. Upgrades: generated with an earlier template set, synced with today's.

/// One language's upgrade case: the store template and the store it
/// renders in a fixture.
struct Upgrade {
    fixture: &'static str,
    /// The store's path in the project.
    store: &'static str,
    /// The store template, inside templates/.
    template: &'static str,
    /// Lines the earlier templates had otherwise: (today's line, the
    /// earlier one), one near the top and one near the bottom. Each is the
    /// same in the template and in the rendered file.
    changes: [(&'static str, &'static str); 2],
    /// A line in the middle of the rendered store, far from both changes,
    /// before which the user puts a line of their own.
    middle: &'static str,
    /// What the user writes instead of the first changed line.
    overlap: &'static str,
}

const TS_UPGRADE: Upgrade = Upgrade {
    fixture: SAMPLE,
    store: "src/kv/store.ts",
    template: "ts/create/store.ts.j2",
    changes: [
        (
            "/** Options of a {@link KVStore}. */\n",
            "/** The options of a {@link KVStore}. */\n",
        ),
        (
            "/** JSON text of `value`, checked against the KV value size limit. */\n",
            "/** `value` as JSON text, checked against the KV value size limit. */\n",
        ),
    ],
    middle: "\t\tawait this.#kv.delete(this.#key(key));\n",
    overlap: "/** Mine: how the store is set up. */\n",
};

const RUST_UPGRADE: Upgrade = Upgrade {
    fixture: "tests/fixtures/projects/rust-worker",
    store: "src/kv/store.rs",
    template: "rust/create/store.rs.j2",
    changes: [
        (
            "/// How long a written value lives: shared with the cache modules.\n",
            "/// How long a value lives once written: shared with the cache modules.\n",
        ),
        (
            "    fn a_complete_listing_has_no_cursor() {\n",
            "    fn complete_listings_have_no_cursor() {\n",
        ),
    ],
    middle: "fn validate_options(options: &StoreOptions) -> Result<(), StoreError> {\n",
    overlap: "/// Mine: how long a value lives.\n",
};

/// The user's own line, put before `middle`.
const MINE: &str = "// My own note, kept across upgrades.\n";

/// Replaces the one occurrence of `from` in `text`.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?}");
    text.replacen(from, to, 1)
}

impl Upgrade {
    /// A copy of templates/ as an earlier kvgen had it.
    fn earlier_templates(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        common::copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
            dir.path(),
        );
        let path = dir.path().join(self.template);
        let mut text = fs::read_to_string(&path).unwrap();
        // One change in the first tenth of the template, one in the last.
        let lines = text.lines().count();
        for (i, (today, earlier)) in self.changes.iter().enumerate() {
            let at = text[..text.find(today).unwrap()].lines().count();
            if i == 0 {
                assert!(at < lines / 10, "{today:?} at line {at} of {lines}");
            } else {
                assert!(at > lines * 9 / 10, "{today:?} at line {at} of {lines}");
            }
            text = replace_once(&text, today, earlier);
        }
        fs::write(&path, text).unwrap();
        dir
    }

    /// The store as today's kvgen renders it in a fresh copy.
    fn todays_store(&self) -> String {
        let project = Project::copy(self.fixture);
        project.kvgen(&["create", "users"]).assert_code(0);
        project.read(self.store)
    }

    /// A project generated with the earlier templates (`create users`),
    /// whose store has the earlier lines.
    fn generated_earlier(&self) -> (Project, tempfile::TempDir) {
        let templates = self.earlier_templates();
        let project = Project::copy(self.fixture);
        kvgen_with_templates(&project, templates.path(), &["create", "users"]).assert_code(0);
        let store = project.read(self.store);
        for (today, earlier) in self.changes {
            assert!(store.contains(earlier) && !store.contains(today), "{store}");
        }
        (project, templates)
    }
}

fn an_untouched_file_is_updated(case: &Upgrade) {
    let (project, _templates) = case.generated_earlier();
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("update".to_string(), case.store.to_string())),
        "{}",
        run.stdout
    );
    let store = project.read(case.store);
    assert_eq!(store, case.todays_store());
    // The lock's base is today's rendering: the next run has nothing to do.
    project.kvgen(&["sync"]).assert_all_identical();
    assert_eq!(lock_files(&project.read("kvgen.lock"))[case.store], store);
}

#[test]
fn upgrade_an_untouched_typescript_file_is_updated() {
    an_untouched_file_is_updated(&TS_UPGRADE);
}

#[test]
fn upgrade_an_untouched_rust_file_is_updated() {
    an_untouched_file_is_updated(&RUST_UPGRADE);
}

fn an_edit_far_from_the_change_is_merged(case: &Upgrade) {
    let (project, _templates) = case.generated_earlier();
    let edited = replace_once(
        &project.read(case.store),
        case.middle,
        &format!("{MINE}{}", case.middle),
    );
    project.write(case.store, &edited);
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("merge".to_string(), case.store.to_string())),
        "{}",
        run.stdout
    );
    let store = project.read(case.store);
    // Both the user's line and the template changes, and nothing else new.
    let today = case.todays_store();
    assert_eq!(
        store,
        replace_once(&today, case.middle, &format!("{MINE}{}", case.middle))
    );
    for (today, earlier) in case.changes {
        assert!(store.contains(today) && !store.contains(earlier));
    }
    // The lock's base moved on to today's rendering: a second sync keeps
    // the merged file and has nothing to do.
    assert_eq!(lock_files(&project.read("kvgen.lock"))[case.store], today);
    let before = project.tree();
    let again = project.kvgen(&["sync"]);
    again.assert_code(0);
    again.assert_all_identical();
    assert_eq!(project.tree(), before);
    project.kvgen(&["sync", "--check"]).assert_code(0);
}

#[test]
fn upgrade_a_typescript_edit_far_from_the_change_is_merged() {
    an_edit_far_from_the_change_is_merged(&TS_UPGRADE);
}

#[test]
fn upgrade_a_rust_edit_far_from_the_change_is_merged() {
    an_edit_far_from_the_change_is_merged(&RUST_UPGRADE);
}

fn an_overlapping_edit_is_a_conflict(case: &Upgrade) {
    let (project, _templates) = case.generated_earlier();
    // The user rewrites the very line the template changes.
    let (_, earlier) = case.changes[0];
    let mine = case.overlap;
    project.write(
        case.store,
        &replace_once(&project.read(case.store), earlier, mine),
    );
    let before = snapshot(project.path());
    let run = project.kvgen(&["sync"]);
    run.assert_code(1);
    assert!(
        run.statuses()
            .contains(&("conflict".to_string(), case.store.to_string())),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!("conflict: {}", case.store)),
        "{}",
        run.stderr
    );
    assert_same_tree(
        &before,
        &snapshot(project.path()),
        "a conflict writes nothing",
    );

    // --dry-run shows the merge with its markers, and writes nothing.
    let dry = project.kvgen(&["sync", "--dry-run"]);
    dry.assert_code(0);
    for marker in ["<<<<<<< ours", "=======", ">>>>>>> theirs"] {
        assert!(dry.stdout.contains(marker), "{marker}:\n{}", dry.stdout);
    }
    let (today, _) = case.changes[0];
    let diff = &dry.stdout[dry.stdout.find("<<<<<<< ours").unwrap()..];
    assert!(diff.contains(mine.trim_end()), "{diff}");
    assert!(diff.contains(today.trim_end()), "{diff}");
    assert_same_tree(&before, &snapshot(project.path()), "--dry-run");
    // So does --check, which lists the conflict.
    let check = project.kvgen(&["sync", "--check"]);
    check.assert_code(1);
    assert!(check.stdout.contains(&format!("conflict  {}", case.store)));
    assert_same_tree(&before, &snapshot(project.path()), "--check");

    // --force takes kvgen's version.
    let forced = project.kvgen(&["sync", "--force"]);
    forced.assert_code(0);
    assert!(
        forced
            .statuses()
            .contains(&("force".to_string(), case.store.to_string())),
        "{}",
        forced.stdout
    );
    assert_eq!(project.read(case.store), case.todays_store());
    project.kvgen(&["sync"]).assert_all_identical();
}

/// With `--write-conflicts` the merge goes into the file with its markers
/// (exit 1); kvgen refuses to go on while they are there, and once the
/// user resolves them, keeping their own line, the file is theirs.
fn a_conflict_written_with_markers_is_resolved_by_hand(case: &Upgrade) {
    let (project, _templates) = case.generated_earlier();
    let (today, earlier) = case.changes[0];
    let mine = case.overlap;
    project.write(
        case.store,
        &replace_once(&project.read(case.store), earlier, mine),
    );
    let run = project.kvgen(&["sync", "--write-conflicts"]);
    run.assert_code(1);
    assert!(
        run.statuses()
            .contains(&("conflict".to_string(), case.store.to_string())),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("conflict markers written into"),
        "{}",
        run.stderr
    );
    let marked = project.read(case.store);
    for marker in ["<<<<<<< ours\n", "\n=======\n", "\n>>>>>>> theirs\n"] {
        assert!(marked.contains(marker), "{marker:?}:\n{marked}");
    }
    // The far change is merged in; the lock's base is today's rendering.
    let (far_today, _) = case.changes[1];
    assert!(marked.contains(far_today), "{marked}");
    assert_eq!(
        lock_files(&project.read("kvgen.lock"))[case.store],
        case.todays_store()
    );

    // Unresolved markers stop every run, and --check says so.
    let before = snapshot(project.path());
    let again = project.kvgen(&["sync"]);
    again.assert_code(1);
    assert!(
        again.stderr.contains("conflict markers"),
        "{}",
        again.stderr
    );
    project.kvgen(&["sync", "--check"]).assert_code(1);
    assert_same_tree(&before, &snapshot(project.path()), "markers left");

    // Resolved by hand, keeping the user's line: kept, and up to date.
    let start = marked.find("<<<<<<< ours\n").unwrap();
    let end = marked.find(">>>>>>> theirs\n").unwrap() + ">>>>>>> theirs\n".len();
    let resolved = format!("{}{mine}{}", &marked[..start], &marked[end..]);
    assert!(!resolved.contains(today), "{resolved}");
    project.write(case.store, &resolved);
    project.kvgen(&["sync"]).assert_all_identical();
    project.kvgen(&["sync", "--check"]).assert_code(0);
    assert_eq!(project.read(case.store), resolved);
}

#[test]
fn upgrade_a_typescript_conflict_written_with_markers_is_resolved_by_hand() {
    a_conflict_written_with_markers_is_resolved_by_hand(&TS_UPGRADE);
}

#[test]
fn upgrade_a_rust_conflict_written_with_markers_is_resolved_by_hand() {
    a_conflict_written_with_markers_is_resolved_by_hand(&RUST_UPGRADE);
}

#[test]
fn upgrade_an_overlapping_typescript_edit_is_a_conflict() {
    an_overlapping_edit_is_a_conflict(&TS_UPGRADE);
}

#[test]
fn upgrade_an_overlapping_rust_edit_is_a_conflict() {
    an_overlapping_edit_is_a_conflict(&RUST_UPGRADE);
}

fn a_deleted_file_stays_deleted(case: &Upgrade) {
    let (project, _templates) = case.generated_earlier();
    fs::remove_file(project.path().join(case.store)).unwrap();
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("skip".to_string(), case.store.to_string())),
        "{}",
        run.stdout
    );
    assert!(
        notes(&run)
            .iter()
            .any(|n| n.starts_with(case.store) && n.contains("stays deleted")),
        "{}",
        run.stdout
    );
    assert!(!project.path().join(case.store).exists());
    // The others were updated or kept; CI has nothing to complain about.
    let check = project.kvgen(&["sync", "--check"]);
    check.assert_code(0);
    assert!(!project.path().join(case.store).exists());

    // --force brings it back, as today's kvgen generates it.
    let forced = project.kvgen(&["sync", "--force"]);
    forced.assert_code(0);
    assert!(
        forced
            .statuses()
            .contains(&("create".to_string(), case.store.to_string())),
        "{}",
        forced.stdout
    );
    assert_eq!(project.read(case.store), case.todays_store());
    project.kvgen(&["sync"]).assert_all_identical();
}

#[test]
fn upgrade_a_deleted_typescript_file_stays_deleted() {
    a_deleted_file_stays_deleted(&TS_UPGRADE);
}

#[test]
fn upgrade_a_deleted_rust_file_stays_deleted() {
    a_deleted_file_stays_deleted(&RUST_UPGRADE);
}

// ---------------------------------------------------------------------------
// 4. `kvgen sync --check` in CI.

#[test]
fn sync_check_lists_what_a_hand_edit_of_the_design_would_change_and_writes_nothing() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["create", "users"]).assert_code(0);
    project.write(
        "kvgen.toml",
        &replace_once(
            &project.read("kvgen.toml"),
            "modules = [\"store\"]",
            "modules = [\"store\", \"swr\"]",
        ),
    );
    let before = snapshot(project.path());
    let check = project.kvgen(&["sync", "--check"]);
    check.assert_code(1);
    let listed: Vec<&str> = check.stdout.lines().skip(1).collect();
    assert_eq!(
        listed,
        ["    update  kvgen.lock", "    create  src/kv/swr.ts"],
        "{}",
        check.stdout
    );
    assert_same_tree(&before, &snapshot(project.path()), "sync --check");

    let json = project.kvgen(&["sync", "--check", "--json"]);
    json.assert_code(1);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["up_to_date"], false, "{report}");
    assert_eq!(report["exit_code"], 1, "{report}");
    assert_eq!(
        report["out_of_date"],
        serde_json::json!([
            { "path": "kvgen.lock", "status": "update" },
            { "path": "src/kv/swr.ts", "status": "create" },
        ]),
        "{report}"
    );
    assert_same_tree(&before, &snapshot(project.path()), "sync --check --json");

    // Synced, CI passes.
    project.kvgen(&["sync"]).assert_code(0);
    assert!(project.path().join("src/kv/swr.ts").is_file());
    project.kvgen(&["sync", "--check"]).assert_code(0);
    let json = project.kvgen(&["sync", "--check", "--json"]);
    json.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["up_to_date"], true, "{report}");
    assert_eq!(report["out_of_date"], serde_json::json!([]), "{report}");
}

#[test]
fn sync_without_kvgen_toml_is_bad_input_naming_it() {
    let project = Project::copy(SAMPLE);
    let before = snapshot(project.path());
    for args in [&["sync"][..], &["sync", "--check"], &["sync", "--force"]] {
        let run = project.kvgen(args);
        run.assert_code(2);
        assert!(
            run.stderr.contains("kvgen.toml: no such file"),
            "{args:?}: {}",
            run.stderr
        );
        assert_same_tree(&before, &snapshot(project.path()), &format!("{args:?}"));
    }
    let json = project.kvgen(&["sync", "--check", "--json"]);
    json.assert_code(2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("kvgen.toml: no such file")),
        "{report}"
    );
}

// ---------------------------------------------------------------------------
// 5. Taken out of the design: left in place, with a note.

#[test]
fn an_environment_taken_out_of_envs_keeps_its_binding_with_a_note() {
    let project = Project::copy("tests/fixtures/projects/ts-toml-envs");
    project
        .kvgen(&["cache", "swr", "--env", "staging,production"])
        .assert_code(0);
    let design = project.read("kvgen.toml");
    project.write(
        "kvgen.toml",
        &design.replace(
            "envs = [\"staging\", \"production\"]",
            "envs = [\"staging\"]",
        ),
    );
    let config = project.read("wrangler.toml");
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert_eq!(project.read("wrangler.toml"), config, "nothing is deleted");
    assert!(
        notes(&run).iter().any(|n| n.contains(
            "wrangler.toml binds CACHE in env.production, which its envs in kvgen.toml do not list"
        )),
        "{}",
        run.stdout
    );
    // Listed again: no note.
    project.write("kvgen.toml", &design);
    let run = project.kvgen(&["sync"]);
    run.assert_all_identical();
    assert!(!run.stdout.contains("do not list"), "{}", run.stdout);
}

#[test]
fn a_binding_removed_from_the_design_stays_in_the_config_with_a_note() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["create", "users"]).assert_code(0);
    project.kvgen(&["flags"]).assert_code(0);
    let config = project.read("wrangler.jsonc");
    let design = project.read("kvgen.toml");
    let cut = design.find("\n[namespaces.FLAGS]").unwrap();
    project.write("kvgen.toml", &design[..=cut]);

    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("identical".to_string(), "wrangler.jsonc".to_string())),
        "{}",
        run.stdout
    );
    assert_eq!(project.read("wrangler.jsonc"), config);
    assert_eq!(
        kv_bindings(&project.path().join("wrangler.jsonc"))[""],
        ["USERS", "FLAGS"]
    );
    let notes = notes(&run);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("FLAGS is no longer in the design")
                && n.contains("never deletes a binding from the Wrangler config")),
        "{notes:?}"
    );
    // Its module too is left as it is.
    assert!(project.path().join("src/kv/flags.ts").is_file());
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("src/kv/flags.ts is no longer in the design")),
        "{notes:?}"
    );
    // Said once: the lock no longer lists it.
    project.kvgen(&["sync"]).assert_all_identical();
    project.kvgen(&["sync", "--check"]).assert_code(0);
}

#[test]
fn a_module_removed_from_the_design_is_left_as_it_is_with_a_note() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["create", "users"]).assert_code(0);
    project
        .kvgen(&["bulk", "--binding", "USERS"])
        .assert_code(0);
    // The user edits the module, then takes it out of the design.
    let bulk = format!("{}// mine\n", project.read("src/kv/bulk.ts"));
    project.write("src/kv/bulk.ts", &bulk);
    project.write(
        "kvgen.toml",
        &replace_once(
            &project.read("kvgen.toml"),
            "modules = [\"store\", \"bulk\"]",
            "modules = [\"store\"]",
        ),
    );
    let check = project.kvgen(&["sync", "--check"]);
    check.assert_code(1);
    assert!(!check.stdout.contains("bulk.ts"), "{}", check.stdout);

    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        !run.statuses().iter().any(|(_, p)| p == "src/kv/bulk.ts"),
        "{}",
        run.stdout
    );
    assert_eq!(project.read("src/kv/bulk.ts"), bulk);
    assert!(
        notes(&run)
            .iter()
            .any(|n| n
                .starts_with("src/kv/bulk.ts is no longer in the design: kvgen left it as it is")),
        "{}",
        run.stdout
    );
    assert!(!lock_files(&project.read("kvgen.lock")).contains_key("src/kv/bulk.ts"));
    project.kvgen(&["sync"]).assert_all_identical();
    assert_eq!(project.read("src/kv/bulk.ts"), bulk);
}

// ---------------------------------------------------------------------------
// A checkout with CRLF line endings (git's core.autocrlf on Windows).

/// Gives every line of the file CRLF.
fn to_crlf(project: &Project, path: &str) {
    let text = project.read(path);
    assert!(!text.contains('\r'), "{path}");
    project.write(path, &text.replace('\n', "\r\n"));
}

/// The text files kvgen wrote in the sample.
fn kvgen_files(project: &Project) -> Vec<String> {
    let mut files = vec![
        "kvgen.lock".to_string(),
        "kvgen.toml".to_string(),
        "wrangler.jsonc".to_string(),
    ];
    files.extend(lock_files(&project.read("kvgen.lock")).into_keys());
    files
}

#[test]
fn a_crlf_checkout_is_up_to_date() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["create", "users"]).assert_code(0);
    project.kvgen(&["cache"]).assert_code(0);
    for path in kvgen_files(&project) {
        to_crlf(&project, &path);
    }
    let before = snapshot(project.path());
    let check = project.kvgen(&["sync", "--check"]);
    check.assert_code(0);
    let sync = project.kvgen(&["sync"]);
    sync.assert_code(0);
    sync.assert_all_identical();
    // A generating command that changes the design keeps the line endings
    // of what it rewrites.
    project.kvgen(&["cache"]).assert_all_identical();
    assert_same_tree(&before, &snapshot(project.path()), "a CRLF checkout");
    project.kvgen(&["flags"]).assert_code(0);
    for path in ["kvgen.lock", "kvgen.toml", "wrangler.jsonc"] {
        let text = project.read(path);
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "{path}"
        );
    }
    project.kvgen(&["sync", "--check"]).assert_code(0);
}

#[test]
fn a_crlf_checkout_is_upgraded_and_merged_in_its_line_endings() {
    let case = &TS_UPGRADE;
    let (project, _templates) = case.generated_earlier();
    for path in kvgen_files(&project) {
        to_crlf(&project, &path);
    }
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("update".to_string(), case.store.to_string())),
        "{}",
        run.stdout
    );
    let today = case.todays_store();
    assert_eq!(project.read(case.store), today.replace('\n', "\r\n"));
    project.kvgen(&["sync"]).assert_all_identical();
    project.kvgen(&["sync", "--check"]).assert_code(0);

    // Edited, in CRLF: the merge keeps the edit and the line endings.
    let (project, _templates) = case.generated_earlier();
    let edited = replace_once(
        &project.read(case.store),
        case.middle,
        &format!("{MINE}{}", case.middle),
    );
    project.write(case.store, &edited);
    for path in kvgen_files(&project) {
        to_crlf(&project, &path);
    }
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("merge".to_string(), case.store.to_string())),
        "{}",
        run.stdout
    );
    let merged = replace_once(&today, case.middle, &format!("{MINE}{}", case.middle));
    assert_eq!(project.read(case.store), merged.replace('\n', "\r\n"));
    project.kvgen(&["sync"]).assert_all_identical();
}

// ---------------------------------------------------------------------------
// 6. Edge cases a review found.

#[test]
fn sync_check_runs_the_checks_of_a_sync() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["flags"]).assert_code(0);
    // The module folder moved out of the project, a link left in its place.
    let outside = tempfile::tempdir().unwrap();
    let moved = outside.path().join("kv");
    fs::rename(project.path().join("src/kv"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, project.path().join("src/kv")).unwrap();
    for args in [&["sync"][..], &["sync", "--check"]] {
        let run = project.kvgen(args);
        run.assert_code(2);
        assert!(
            run.stderr.contains("outside the project"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn sync_takes_no_options_that_change_the_design() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["flags"]).assert_code(0);
    let before = snapshot(project.path());
    for option in [
        &["--env", "staging"][..],
        &["--dir", "lib"],
        &["--binding", "X"],
        &["--all-envs"],
    ] {
        let run = project.kvgen(&[&["sync"][..], option].concat());
        run.assert_code(2);
        assert!(
            run.stderr.contains("belong to the commands that change it"),
            "{}",
            run.stderr
        );
    }
    assert_same_tree(&before, &snapshot(project.path()), "refused");
}

#[test]
fn a_binding_whose_title_would_not_be_one_gets_a_valid_title() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["flags", "--binding", "_FLAGS"]);
    run.assert_code(0);
    assert!(
        project
            .read("kvgen.toml")
            .contains("[namespaces._FLAGS]\ntitle = \"flags\"\n")
    );
    assert!(
        run.stdout
            .contains("npx wrangler kv namespace create flags\n"),
        "{}",
        run.stdout
    );
    // A hand-written one with no title: the printed command is safe too.
    let design = project.read("kvgen.toml");
    project.write("kvgen.toml", &format!("{design}\n[namespaces.\"$HOME\"]\n"));
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("npx wrangler kv namespace create home\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("$home"), "{}", run.stdout);
}

#[test]
fn a_deleted_rust_module_is_not_declared_again() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    project.kvgen(&["cache"]).assert_code(0);
    fs::remove_file(project.path().join("src/kv/swr.rs")).unwrap();
    let list = project.read("src/kv/mod.rs").replace("pub mod swr;\n", "");
    project.write("src/kv/mod.rs", &list);
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("skip".to_string(), "src/kv/swr.rs".to_string())),
        "{}",
        run.stdout
    );
    assert_eq!(project.read("src/kv/mod.rs"), list);
    project.kvgen(&["sync", "--check"]).assert_code(0);
}

#[test]
fn two_dirs_that_are_one_folder_are_refused() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["flags"]).assert_code(0);
    std::os::unix::fs::symlink("kv", project.path().join("src/alias")).unwrap();
    let design = project.read("kvgen.toml");
    project.write(
        "kvgen.toml",
        &format!("{design}\n[namespaces.OTHER]\nmodules = [\"bulk\"]\ndir = \"src/alias\"\n"),
    );
    let before = snapshot(project.path());
    let run = project.kvgen(&["sync"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("are one folder on disk"),
        "{}",
        run.stderr
    );
    assert_same_tree(&before, &snapshot(project.path()), "refused");
}

#[test]
fn dirs_that_are_one_folder_through_a_linked_parent_are_refused() {
    let project = Project::copy(SAMPLE);
    std::os::unix::fs::symlink("src", project.path().join("lib")).unwrap();
    project.write(
        "kvgen.toml",
        "[namespaces.CACHE]\nmodules = [\"swr\"]\ndir = \"src/kv\"\n\n[namespaces.FLAGS]\nmodules = [\"flags\"]\ndir = \"lib/kv\"\n",
    );
    let before = snapshot(project.path());
    let run = project.kvgen(&["sync"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("are one folder on disk"),
        "{}",
        run.stderr
    );
    assert_same_tree(&before, &snapshot(project.path()), "refused");
}

#[test]
fn many_environments_are_added_to_an_existing_list() {
    let project = Project::copy(SAMPLE);
    project
        .kvgen(&["cache", "swr", "--env", "s"])
        .assert_code(0);
    let names: Vec<String> = (0..70).map(|i| format!("e{i}")).collect();
    project
        .kvgen(&["cache", "swr", "--env", &names.join(",")])
        .assert_code(0);
    let design = project.read("kvgen.toml");
    assert!(design.contains("\"s\", \"e0\""), "{design}");
    assert!(design.contains("\"e69\"]"), "{design}");
    project.kvgen(&["sync", "--check"]).assert_code(0);
}

#[test]
fn a_damaged_hash_of_an_edited_file_is_repaired_and_the_edit_kept() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["cache", "swr"]).assert_code(0);
    let good = project.read("kvgen.lock");
    let lock = kvgen::bases::Lock::parse(&good, "kvgen.lock").unwrap();
    let sha = &lock.files["src/kv/swr.ts"].sha256;
    project.write("kvgen.lock", &good.replace(sha.as_str(), &"0".repeat(64)));
    let edited = format!("{}// mine\n", project.read("src/kv/swr.ts"));
    project.write("src/kv/swr.ts", &edited);
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert_eq!(project.read("src/kv/swr.ts"), edited);
    assert_eq!(project.read("kvgen.lock"), good);
}
