//! Typed keys through the real binary: every rule of the design's `keys`
//! and `types` tables refused with its place and nothing written, the
//! overlapping-prefix warning, `kvgen key add` (the in-place edit, the sync
//! it runs, what it prints, a conflicting key), and snapshots of the
//! generated `schema` and `namespaces` modules for a design that uses
//! every feature of the type language.

mod common;

use common::{Project, assert_same_tree, snapshot};

const SAMPLE: &str = "examples/hello-worker";

/// The sample with `kvgen create users`: namespace USERS, purpose data.
fn with_users() -> Project {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["create", "users"]).assert_code(0);
    project
}

fn assert_keys_snapshot(name: &str, text: &str) {
    common::assert_snapshot_in("keys", name, text);
}

#[test]
fn each_rule_of_the_design_is_refused_with_its_place_and_nothing_is_written() {
    let long = "a".repeat(511);
    let budget = format!("[namespaces.USERS.keys.a]\npattern = \"{long}:{{id}}\"");
    let cases: Vec<(&str, &str)> = vec![
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}\"\nttl = 59",
            "kvgen.toml:14:7: ttl: expected a whole number of seconds from 60",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}\"\ncache_ttl = 29",
            "kvgen.toml:14:13: cache_ttl: expected a whole number of seconds, at least 30",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{1d}\"",
            "kvgen.toml:13:11: keys.a.pattern: {1d}: a param is an identifier",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{}\"",
            "kvgen.toml:13:11: keys.a.pattern: {}: a param is an identifier",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}:{id}\"",
            "kvgen.toml:13:11: keys.a.pattern: {id} appears twice in the pattern",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}{b}\"",
            "kvgen.toml:13:11: keys.a.pattern: {b} follows another param with no literal text between them",
        ),
        (
            &budget,
            "kvgen.toml:13:11: keys.a.pattern: its literal text is 512 bytes and its 1 params need at least one byte each: over the 512-byte key limit",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"..\"",
            "kvgen.toml:13:11: keys.a.pattern: `.` and `..` are not valid Workers KV keys",
        ),
        (
            "[namespaces.USERS.keys.a]\nvalue = \"string\"",
            "kvgen.toml:12:24: keys.a has no `pattern`",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}\"\nttll = 600",
            "kvgen.toml:14:1: unknown key \"ttll\" in keys.a",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}\"\n[namespaces.USERS.keys.b]\npattern = \"a:{name}\"",
            "kvgen.toml:15:11: namespaces.USERS: patterns \"a:{id}\" (a) and \"a:{name}\" (b) can produce the same key",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}-x\"\n[namespaces.USERS.keys.b]\npattern = \"a:x-{id}\"",
            "kvgen.toml:15:11: namespaces.USERS: patterns \"a:{id}-x\" (a) and \"a:x-{id}\" (b) can produce the same key",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}\"\nvalue = \"User\"",
            "kvgen.toml:14:9: keys.a.value: no type \"User\" in [types]",
        ),
        (
            "[types.User]\nid = \"strin\"",
            "kvgen.toml:13:6: types.User.id: no type \"strin\" in [types]",
        ),
        (
            "[types.User]\nbest = \"User\"",
            "kvgen.toml:12:8: types User -> User contain themselves",
        ),
        (
            "[types.A]\nb = \"B[]\"\n[types.B]\na = \"A?\"",
            "kvgen.toml:12:8: types A -> B -> A contain themselves",
        ),
        (
            "[types.user]\nid = \"string\"",
            "kvgen.toml:12:8: type \"user\": a type's name is an identifier starting with an uppercase letter",
        ),
        (
            "[types.SchemaError]\nid = \"string\"",
            "kvgen.toml:12:8: type \"SchemaError\": the name is taken",
        ),
        (
            "[types.User]\nconstructor = \"string\"",
            "kvgen.toml:13:1: types.User: field \"constructor\"",
        ),
        (
            "[types.User]\nid = \"string??\"",
            "kvgen.toml:13:6: types.User.id: \"string?\": expected string, number, integer, boolean, json",
        ),
        (
            "[namespaces.USERS.keys.user_id]\npattern = \"a:{id}\"\n[namespaces.USERS.keys.userId]\npattern = \"b:{id}\"",
            "kvgen.toml:14:24: namespaces.USERS: keys \"user_id\" and \"userId\" are one name in the generated code",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{user_id}-{userId}\"",
            "kvgen.toml:13:11: keys.a.pattern: params {user_id} and {userId} are one name in Rust; rename one",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}\"\n[namespaces.users.keys.a]\npattern = \"a:{id}\"",
            "kvgen.toml:14:24: namespaces USERS and users both have typed keys, and their factories would have one name (usersKeys)",
        ),
    ];
    let deep = format!("[types.A]\nx = \"string{}\"", "[]".repeat(10_000));
    let chain: String = (0..34)
        .map(|i| {
            let next = if i < 33 {
                format!("T{}", i + 1)
            } else {
                "string".into()
            };
            format!("[types.T{i}]\nx = \"{next}\"\n")
        })
        .collect();
    let many: String = (0..257)
        .map(|i| format!("[namespaces.USERS.keys.k{i}]\npattern = \"k{i}:{{id}}\"\n"))
        .collect();
    let mut cases = cases;
    cases.extend([
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{id}\"\nabout = \"x \u{202e} y\"",
            "kvgen.toml:14:9: about: one line of text, no control or invisible characters",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a\u{2067}:{id}\"",
            "kvgen.toml:13:11: keys.a.pattern: the pattern holds the control or invisible character \\u{2067}",
        ),
        (
            "[types.A]\ns = \"'a' | 'b\u{200b}'\"",
            "kvgen.toml:13:5: types.A.s: \"'b\\u{200b}'\" in",
        ),
        (
            "[namespaces.USERS.keys.a]\npattern = \"a:{__proto__}\"",
            "kvgen.toml:13:11: keys.a.pattern: {__proto__}: JavaScript objects treat this name specially",
        ),
        (
            &deep,
            "kvgen.toml:13:5: types.A.x: arrays of arrays more than 8 deep",
        ),
        (
            &chain,
            "kvgen.toml:12:8: type T0: its values nest 34 levels of objects and arrays; at most 32",
        ),
        (
            &many,
            "kvgen.toml:524:24: more than 256 key patterns in namespaces.USERS",
        ),
    ]);
    let project = with_users();
    let base = project.read("kvgen.toml");
    for (table, expected) in &cases {
        project.write("kvgen.toml", &format!("{base}\n{table}\n"));
        let before = snapshot(project.path());
        for args in [
            &["sync"][..],
            &["sync", "--check"],
            &["create", "users"],
            &["key", "add", "USERS", "z", "z:{id}"],
        ] {
            let run = project.kvgen(args);
            run.assert_code(2);
            assert!(
                run.stderr.contains(expected),
                "{args:?} with {table:?}: expected {expected:?} in:\n{}",
                run.stderr
            );
            assert_same_tree(&before, &snapshot(project.path()), &format!("{args:?}"));
        }
    }
}

#[test]
fn overlapping_listing_prefixes_are_a_warning_naming_both() {
    let project = with_users();
    let base = project.read("kvgen.toml");
    project.write(
        "kvgen.toml",
        &format!(
            "{base}\n[namespaces.USERS.keys.user]\npattern = \"user:{{id}}\"\n\n[namespaces.USERS.keys.profile]\npattern = \"user:{{id}}:profile\"\n"
        ),
    );
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "warning: namespaces.USERS: the listing prefixes of \"user:{id}\" (user) and \"user:{id}:profile\" (profile) overlap: each one's list() reads the other's keys too and keeps only the names that match its own pattern"
        ),
        "{}",
        run.stdout
    );
    let typed = project.read("src/kv/namespaces.ts");
    assert!(typed.contains("export function usersKeys(kv: KVNamespace): {"));
}

/// A design using every feature of the type language, and every value
/// kind, in two namespaces of different purposes.
const EVERY_FEATURE: &str = r#"
[namespaces.CACHE]
purpose = "cache"
default_ttl = 3600

[namespaces.CACHE.keys.post]
pattern = "post:{id}"
value = "Post"
ttl = 600
cache_ttl = 60
about = "Rendered posts, by post id"

[namespaces.CACHE.keys.profile]
pattern = "user:{id}:profile"
value = "string"

[namespaces.USERS.keys.user]
pattern = "user:{id}"
value = "User"
ttl = "none"

[namespaces.USERS.keys.avatar]
pattern = "avatar:{kind}-{id}"
value = "bytes"

[namespaces.USERS.keys.settings]
pattern = "settings:{team}:{name}"
value = "json"

[types.Post]
id = "string"
title = "string"
tags = "string[]"
views = "integer?"
score = "number"
draft = "boolean"
status = "'draft' | 'published'"
author = "Author"
extra = "json?"
grid = "integer[][]"
kind = "'x' | 'y'?"

[types.Author]
name = "string"
age = "integer?"

[types.User]
name = "string"
authors = "Author[]"
"#;

#[test]
fn the_modules_of_a_design_using_every_feature_are_stable() {
    let project = with_users();
    let base = project.read("kvgen.toml");
    project.write("kvgen.toml", &format!("{base}{EVERY_FEATURE}"));
    project.kvgen(&["sync"]).assert_code(0);
    assert_keys_snapshot("every_feature_schema_ts", &project.read("src/kv/schema.ts"));
    assert_keys_snapshot(
        "every_feature_namespaces_ts",
        &project.read("src/kv/namespaces.ts"),
    );
    project.kvgen(&["sync"]).assert_all_identical();
}

#[test]
fn key_add_appends_the_table_in_place_then_syncs() {
    let project = with_users();
    // A hand-edited design: a comment, CRLF line endings, a type written
    // by hand.
    let base = project.read("kvgen.toml").replace('\n', "\r\n");
    let edited = format!(
        "{base}\r\n# Users, as the API returns them.\r\n[types.User]\r\nname = \"string\"\r\n"
    );
    project.write("kvgen.toml", &edited);
    let run = project.kvgen(&[
        "key",
        "add",
        "USERS",
        "user",
        "user:{id}",
        "--value",
        "User",
        "--ttl",
        "600",
        "--cache-ttl",
        "60",
        "--about",
        "Users, by id",
    ]);
    run.assert_code(0);
    assert_eq!(
        project.read("kvgen.toml"),
        format!(
            "{edited}\r\n[namespaces.USERS.keys.user]\r\npattern = \"user:{{id}}\"\r\nvalue = \"User\"\r\nttl = 600\r\ncache_ttl = 60\r\nabout = \"Users, by id\"\r\n"
        )
    );
    assert!(
        run.stdout.contains(
            "note: USERS key user: pattern user:{id}, example key user:1, value User, TTL 600 s, cacheTtl 60 s; use it as usersKeys(env.USERS).user"
        ),
        "{}",
        run.stdout
    );
    let statuses = run.statuses();
    for (status, path) in [
        ("create", "src/kv/schema.ts"),
        ("create", "src/kv/namespaces.ts"),
        ("update", "kvgen.toml"),
    ] {
        assert!(
            statuses.contains(&(status.to_string(), path.to_string())),
            "{statuses:?}"
        );
    }
    let typed = project.read("src/kv/namespaces.ts");
    assert!(
        typed.contains("\tuser: TypedKey<{ id: string }, schema.User>;"),
        "{typed}"
    );
    assert!(typed.contains("ttl: 600,") && typed.contains("cacheTtl: 60,"));
    assert!(
        project
            .read("src/kv/schema.ts")
            .contains("export function parseUser(")
    );

    // The same key again: nothing to do.
    let again = project.kvgen(&[
        "key",
        "add",
        "USERS",
        "user",
        "user:{id}",
        "--value",
        "User",
        "--ttl",
        "600",
        "--cache-ttl",
        "60",
        "--about",
        "Users, by id",
    ]);
    again.assert_code(0).assert_all_identical();

    // Without --ttl, the namespace's default_ttl; the note says so.
    let run = project.kvgen(&[
        "key",
        "add",
        "USERS",
        "name",
        "name:{first}-{last}",
        "--value",
        "string",
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("example key name:1-2, value string, TTL 3600 s (the namespace's default_ttl), cacheTtl KV's default (60 s)"),
        "{}",
        run.stdout
    );
}

#[test]
fn key_add_refuses_what_the_design_cannot_hold_and_writes_nothing() {
    let project = with_users();
    project
        .kvgen(&[
            "key",
            "add",
            "USERS",
            "user",
            "user:{id}",
            "--value",
            "string",
        ])
        .assert_code(0);
    let before = snapshot(project.path());
    let cases: &[(&[&str], i32, &str)] = &[
        // A key of that name, different: a conflict.
        (
            &["key", "add", "USERS", "user", "member:{id}"],
            1,
            "kvgen.toml: namespaces.USERS.keys.user is already pattern \"user:{id}\", value \"string\": nothing was written",
        ),
        (
            &["key", "add", "USERS", "member", "user:{name}"],
            2,
            "kvgen.toml: keys.member cannot be added to USERS: namespaces.USERS: patterns \"user:{id}\" (user) and \"user:{name}\" (member) can produce the same key",
        ),
        (
            &["key", "add", "ORDERS", "order", "order:{id}"],
            2,
            "kvgen.toml: no namespace ORDERS",
        ),
        (
            &[
                "key",
                "add",
                "USERS",
                "post",
                "post:{id}",
                "--value",
                "Post",
            ],
            2,
            "keys.post cannot be added to USERS: keys.post.value: no type \"Post\" in [types]",
        ),
        (
            &["key", "add", "USERS", "post", "post:{id}", "--ttl", "30"],
            2,
            "keys.post cannot be added to USERS: ttl: expected a whole number of seconds from 60",
        ),
        (
            &["key", "add", "USERS", "post", "post:{id}", "--ttl", "soon"],
            2,
            "--ttl \"soon\": expected a whole number of seconds (at least 60) or none",
        ),
        (
            &[
                "key",
                "add",
                "USERS",
                "post",
                "post:{id}",
                "--cache-ttl",
                "10",
            ],
            2,
            "cache_ttl: expected a whole number of seconds, at least 30",
        ),
        (
            &["key", "add", "USERS", "post", "post:{a}{b}"],
            2,
            "pattern \"post:{a}{b}\": {b} follows another param",
        ),
        (
            &["key", "add", "USERS", "post-x", "post:{id}"],
            2,
            "key name \"post-x\": an identifier",
        ),
        (
            &[
                "key",
                "add",
                "USERS",
                "post",
                "post:{id}",
                "--env",
                "staging",
            ],
            2,
            "--dir, --binding, --env and --all-envs belong to the commands that add namespaces",
        ),
    ];
    for (args, code, expected) in cases {
        let run = project.kvgen(args);
        run.assert_code(*code);
        assert!(
            run.stderr.contains(expected),
            "{args:?}: expected {expected:?} in:\n{}",
            run.stderr
        );
        assert_same_tree(&before, &snapshot(project.path()), &format!("{args:?}"));
    }

    // No design yet: the namespace must come first.
    let bare = Project::copy(SAMPLE);
    let before = snapshot(bare.path());
    let run = bare.kvgen(&["key", "add", "USERS", "user", "user:{id}"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("kvgen.toml: no such file"),
        "{}",
        run.stderr
    );
    assert_same_tree(&before, &snapshot(bare.path()), "no design");
}

#[test]
fn the_rust_modules_of_a_design_using_every_feature_are_stable() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    project.kvgen(&["create", "users"]).assert_code(0);
    let base = project.read("kvgen.toml");
    project.write("kvgen.toml", &format!("{base}{EVERY_FEATURE}"));
    let run = project.kvgen(&["sync"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("update".to_string(), "src/kv/mod.rs".to_string())),
        "{}",
        run.stdout
    );
    let declared = project.read("src/kv/mod.rs");
    for module in ["limits", "namespaces", "schema", "store"] {
        assert!(
            declared.contains(&format!("pub mod {module};\n")),
            "{declared}"
        );
    }
    assert_keys_snapshot("every_feature_schema_rs", &project.read("src/kv/schema.rs"));
    assert_keys_snapshot(
        "every_feature_namespaces_rs",
        &project.read("src/kv/namespaces.rs"),
    );
    project.kvgen(&["sync"]).assert_all_identical();

    // `key add` in a Rust Worker names the Rust accessor.
    let run = project.kvgen(&[
        "key", "add", "USERS", "userAge", "age:{id}", "--value", "json",
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("use it as users_keys(kv).user_age"),
        "{}",
        run.stdout
    );
    assert!(
        project
            .read("src/kv/namespaces.rs")
            .contains("pub user_age: UsersUserAgeKey,")
    );
}

#[test]
fn typed_keys_in_a_crate_on_an_older_worker_are_refused() {
    let project = Project::copy("tests/fixtures/projects/rust-worker-oldest");
    project.kvgen(&["create", "users"]).assert_code(0);
    let before = snapshot(project.path());
    let run = project.kvgen(&["key", "add", "USERS", "user", "user:{id}"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "kvgen.toml: the typed keys of USERS are generated for workers-rs 0.8 or later, and this crate depends on worker 0.5"
        ),
        "{}",
        run.stderr
    );
    assert_same_tree(&before, &snapshot(project.path()), "worker 0.5");
}

/// The fenced block of `lang` that follows `heading` in the README.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = &readme[readme.find(heading).expect("the heading")..];
    let start = section.find(&format!("```{lang}\n")).expect("the block") + lang.len() + 4;
    let end = start + section[start..].find("```").unwrap();
    section[start..end].to_string()
}

#[test]
fn the_readme_design_and_key_add_work_as_shown() {
    let project = Project::copy(SAMPLE);
    project.write("kvgen.toml", &readme_block("## Typed keys", "toml"));
    let sh = readme_block("## Typed keys", "sh");
    let mut lines = sh.lines();
    let command = lines.next().unwrap();
    let printed = lines.next().unwrap().strip_prefix("# ").unwrap();
    // The command as a shell would split it (single quotes only).
    let mut args: Vec<String> = Vec::new();
    let mut rest = command.strip_prefix("kvgen ").unwrap();
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').unwrap();
            args.push(quoted[..end].to_string());
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            args.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = project.kvgen(&args);
    run.assert_code(0);
    assert!(run.stdout.contains(printed), "{printed}\n{}", run.stdout);
    let typed = project.read("src/kv/namespaces.ts");
    assert!(typed.contains("export function cacheKeys(kv: KVNamespace): {"));
    assert!(typed.contains("export function usersKeys(kv: KVNamespace): {"));
    assert!(typed.contains("\tprofile: TypedKey<{ id: string }, schema.Author>;"));
    assert!(
        project
            .read("src/kv/schema.ts")
            .contains("export interface Post {")
    );
}

#[test]
fn init_says_typed_keys_are_not_read_back() {
    let project = with_users();
    project
        .kvgen(&[
            "key",
            "add",
            "USERS",
            "user",
            "user:{id}",
            "--value",
            "string",
        ])
        .assert_code(0);
    std::fs::remove_file(project.path().join("kvgen.toml")).unwrap();
    std::fs::remove_file(project.path().join("kvgen.lock")).unwrap();
    let run = project.kvgen(&["init"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "note: src/kv/namespaces.ts holds typed keys, which kvgen init cannot read back"
        ),
        "{}",
        run.stdout
    );
}
