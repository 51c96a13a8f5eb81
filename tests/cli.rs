//! The real `kvgen` binary against copies of fixture projects: what a user
//! sees (status lines, exit codes) and what is on disk afterwards.

mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use common::Project;

const ID: &str = "0123456789abcdef0123456789abcdef";
const OTHER_ID: &str = "fedcba9876543210fedcba9876543210";

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(s, p)| (s.to_string(), p.to_string()))
        .collect()
}

const SAMPLE: &str = "examples/hello-worker";

#[test]
fn fresh_create_writes_the_store_and_the_binding() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["create", "user-cache"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("create", "kvgen.lock"),
            ("create", "kvgen.toml"),
            ("create", "src/kv/keys.ts"),
            ("create", "src/kv/limits.ts"),
            ("create", "src/kv/store.ts"),
            ("update", "wrangler.jsonc"),
        ])
    );
    assert!(
        run.stdout
            .contains("npx wrangler kv namespace create user-cache"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "npm run cf-typegen   # regenerates worker-configuration.d.ts with USER_CACHE"
        ),
        "{}",
        run.stdout
    );
    let config = project.read("wrangler.jsonc");
    assert!(config.contains("\"binding\": \"USER_CACHE\""), "{config}");
    // Comments survive.
    assert!(config.contains("// \"placement\": { \"mode\": \"smart\" },"));
    // The sample indents with tabs (.editorconfig), so does the generated code.
    let store = project.read("src/kv/store.ts");
    assert!(store.contains("\n\tconstructor("), "{store}");
    assert!(store.contains("export class KVStore"));
    // Its .prettierrc says singleQuote: so does the generated code.
    assert!(store.contains("from './limits';"), "{store}");
}

#[test]
fn a_second_run_is_all_identical_and_rewrites_nothing() {
    let project = Project::copy(SAMPLE);
    project
        .kvgen(&["create", "user-cache", "--id", ID])
        .assert_code(0);
    let before = project.tree();
    let run = project.kvgen(&["create", "user-cache", "--id", ID]);
    run.assert_code(0);
    run.assert_all_identical();
    assert_eq!(run.statuses().len(), 6);
    assert_eq!(
        project.tree(),
        before,
        "bytes and modification times are unchanged"
    );
    // With an id given, there is nothing to create with wrangler.
    assert!(!run.stdout.contains("kv namespace create"));
    // Nor when the id is already in the config.
    let without_id = project.kvgen(&["create", "user-cache"]);
    without_id.assert_code(0);
    assert!(
        !without_id.stdout.contains("kv namespace create"),
        "{}",
        without_id.stdout
    );
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let project = Project::copy(SAMPLE);
    let before = project.tree();
    let run = project.kvgen(&["create", "user-cache", "--dry-run"]);
    run.assert_code(0);
    assert_eq!(project.tree(), before);
    assert!(
        run.stdout
            .contains("--- a/wrangler.jsonc\n+++ b/wrangler.jsonc\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+\t\t\t\"binding\": \"USER_CACHE\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("--- /dev/null\n+++ b/src/kv/store.ts\n")
    );
    assert!(run.stdout.contains("Dry run: nothing was written."));
}

#[test]
fn an_edited_generated_file_is_kept_and_one_kvgen_has_no_record_of_is_a_conflict() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["create", "user-cache"]).assert_code(0);
    let store = project.read("src/kv/store.ts");
    project.write("src/kv/store.ts", &format!("{store}// my change\n"));
    // The templates did not change: the edited file is simply kept.
    let run = project.kvgen(&["create", "sessions"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("identical".to_string(), "src/kv/store.ts".to_string()))
    );
    assert_eq!(
        project.read("src/kv/store.ts"),
        format!("{store}// my change\n")
    );

    // Without kvgen.lock, kvgen cannot tell the edit from its own text.
    std::fs::remove_file(project.path().join("kvgen.lock")).unwrap();
    let before = project.tree();
    let run = project.kvgen(&["create", "orders"]);
    run.assert_code(1);
    assert_eq!(project.tree(), before, "nothing at all is written");
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("skip", "kvgen.lock"),
            ("skip", "kvgen.toml"),
            ("identical", "src/kv/keys.ts"),
            ("identical", "src/kv/limits.ts"),
            ("conflict", "src/kv/store.ts"),
            ("skip", "wrangler.jsonc"),
        ])
    );
    assert!(
        run.stderr.contains("conflict: src/kv/store.ts"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no record"), "{}", run.stderr);
    assert!(run.stderr.contains("--force"));

    // --dry-run shows the same plan, and exits 0.
    let dry = project.kvgen(&["create", "orders", "--dry-run"]);
    dry.assert_code(0);
    assert_eq!(dry.statuses(), run.statuses());
    assert_eq!(project.tree(), before);

    // --force overwrites the edit and goes on with the rest.
    let forced = project.kvgen(&["create", "orders", "--force"]);
    forced.assert_code(0);
    assert_eq!(
        forced.statuses(),
        pairs(&[
            ("create", "kvgen.lock"),
            ("update", "kvgen.toml"),
            ("identical", "src/kv/keys.ts"),
            ("identical", "src/kv/limits.ts"),
            ("force", "src/kv/store.ts"),
            ("update", "wrangler.jsonc"),
        ])
    );
    assert_eq!(project.read("src/kv/store.ts"), store);
    assert!(
        project
            .read("wrangler.jsonc")
            .contains("\"binding\": \"ORDERS\"")
    );
}

#[test]
fn a_binding_with_another_id_is_a_conflict_unless_forced() {
    let project = Project::copy(SAMPLE);
    project
        .kvgen(&["create", "user-cache", "--id", ID])
        .assert_code(0);
    let before = project.tree();
    let run = project.kvgen(&["create", "user-cache", "--id", OTHER_ID]);
    run.assert_code(1);
    assert_eq!(project.tree(), before);
    assert!(
        run.statuses()
            .contains(&("conflict".to_string(), "wrangler.jsonc".to_string()))
    );
    assert!(
        run.stderr
            .contains(&format!("binding USER_CACHE has id {ID}, not {OTHER_ID}")),
        "{}",
        run.stderr
    );

    let forced = project.kvgen(&["create", "user-cache", "--id", OTHER_ID, "--force"]);
    forced.assert_code(0);
    assert!(
        forced
            .statuses()
            .contains(&("force".to_string(), "wrangler.jsonc".to_string()))
    );
    let config = project.read("wrangler.jsonc");
    assert!(
        config.contains(OTHER_ID) && !config.contains(ID),
        "{config}"
    );
}

#[test]
fn an_id_is_filled_in_when_the_binding_had_none() {
    let project = Project::copy(SAMPLE);
    project.kvgen(&["create", "user-cache"]).assert_code(0);
    let run = project.kvgen(&["create", "user-cache", "--id", ID]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("update".to_string(), "wrangler.jsonc".to_string()))
    );
    assert!(
        project
            .read("wrangler.jsonc")
            .contains(&format!("\"id\": \"{ID}\""))
    );
}

#[test]
fn an_unparseable_config_is_exit_2_with_its_position_and_nothing_changes() {
    for (name, invalid, position) in [
        (
            "wrangler.toml",
            "tests/fixtures/corpus/invalid/060-cloudflare-workers-rs.toml",
            "wrangler.toml:3:27:",
        ),
        (
            "wrangler.jsonc",
            "tests/fixtures/corpus/invalid/061-cloudflare-workers-rs.jsonc",
            "wrangler.jsonc:5:32:",
        ),
    ] {
        let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(invalid)).unwrap();
        let project = Project::with_files(&[(name, &text), ("package.json", "{}")]);
        let before = project.tree();
        let run = project.kvgen(&["create", "cache"]);
        run.assert_code(2);
        assert!(run.stderr.contains(position), "{}", run.stderr);
        assert_eq!(project.tree(), before, "{name}: nothing written");
        assert!(!project.path().join("src").exists());
    }
}

#[test]
fn every_rejected_name_is_exit_2_and_nothing_changes() {
    let project = Project::copy(SAMPLE);
    let before = project.tree();
    let cases: &[&[&str]] = &[
        &["create", "user\"cache"],
        &["create", "user`cache"],
        &["create", "a${process.env}"],
        &["create", "line\nbreak"],
        &["create", "../escape"],
        &["create", "x/y"],
        &["create", ""],
        &["create", "ok", "--binding", "class"],
        &["create", "ok", "--binding", "2FAST"],
        &["create", "ok", "--binding", "A-B"],
        &["create", "ok", "--binding", "A\"];evil"],
        &["create", "ok", "--binding", "${x}"],
        &["create", "ok", "--env", "stag ing"],
        &["create", "ok", "--env", "../x"],
        &["create", "ok", "--id", "not-an-id"],
        &["create", "ok", "--id", "0123456789ABCDEF0123456789ABCDEF"],
        &["create", "ok", "--preview-id", "123"],
        &["create", "ok", "--ttl", "59"],
        &["create", "ok", "--ttl", "0"],
        &["create", "ok", "--ttl", "soon"],
        &["create", "ok", "--dir", "../outside"],
        &["create", "ok", "--dir", "/abs"],
        &["create", "ok", "--lang", "python"],
    ];
    for args in cases {
        let run = project.kvgen(args);
        assert_eq!(
            run.code, 2,
            "{args:?} should be rejected: {}{}",
            run.stdout, run.stderr
        );
        assert!(!run.stderr.trim().is_empty(), "{args:?}: a reason is given");
        assert_eq!(project.tree(), before, "{args:?}: nothing written");
    }
}

#[test]
fn outside_a_worker_project_is_exit_2_naming_what_was_looked_for() {
    let project = Project::with_files(&[("README.md", "not a worker")]);
    let run = project.kvgen(&["create", "cache"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("wrangler.json, wrangler.jsonc, wrangler.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_output_is_one_object_with_files_and_next_steps() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["create", "user-cache", "--json"]);
    run.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["command"], "create");
    assert_eq!(report["written"], true);
    assert_eq!(report["files"][5]["path"], "wrangler.jsonc");
    assert_eq!(report["files"][5]["status"], "update");
    assert_eq!(
        report["next_steps"][0],
        "npx wrangler kv namespace create user-cache"
    );

    let bad = project.kvgen(&["create", "x", "--id", "nope", "--json"]);
    bad.assert_code(2);
    let report: serde_json::Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(report["exit_code"], 2);
    assert!(report["error"].as_str().unwrap().contains("--id"));
}

#[test]
fn env_bindings_go_inside_their_environment_in_toml() {
    let project = Project::copy("tests/fixtures/projects/ts-toml-envs");
    let original = project.read("wrangler.toml");
    let run = project.kvgen(&["create", "cache", "--env", "staging", "--id", ID]);
    run.assert_code(0);
    let config = project.read("wrangler.toml");
    let expected_block = format!(
        "\n[[env.staging.kv_namespaces]]\nbinding = \"CACHE\"\nid = \"{ID}\"\n\n[env.production]"
    );
    assert!(config.contains(&expected_block), "{config}");
    assert!(!config.contains("\n[env]\n"), "no bare [env] header");
    assert_eq!(
        config.len(),
        original.len() + expected_block.len() - "\n[env.production]".len()
    );
    // The sources indent with two spaces and use double quotes: so does the
    // generated code.
    let store = project.read("src/kv/store.ts");
    assert!(store.contains("\n  constructor("), "{store}");
    assert!(store.contains("from \"./limits\";"), "{store}");
    let again = project.kvgen(&["create", "cache", "--env", "staging", "--id", ID]);
    again.assert_code(0);
    again.assert_all_identical();
}

#[test]
fn options_cwd_config_and_dir_are_honoured() {
    let project = Project::copy(SAMPLE);
    let elsewhere = tempfile::tempdir().unwrap();
    let config = project.path().join("wrangler.jsonc");
    let run = Command::cargo_bin("kvgen")
        .unwrap()
        .current_dir(elsewhere.path())
        .args([
            "--config",
            config.to_str().unwrap(),
            "--dir",
            "src/storage",
            "create",
            "cache",
        ])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(project.path().join("src/storage/store.ts").is_file());

    let run = Command::cargo_bin("kvgen")
        .unwrap()
        .args([
            "-C",
            project.path().join("src").to_str().unwrap(),
            "create",
            "other",
        ])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        project
            .read("wrangler.jsonc")
            .contains("\"binding\": \"OTHER\"")
    );
}

#[test]
fn the_default_ttl_is_baked_into_the_store() {
    let project = Project::copy(SAMPLE);
    project
        .kvgen(&["create", "cache", "--ttl", "86400"])
        .assert_code(0);
    assert!(project.read("src/kv/store.ts").contains("= 86400;"));
    // Another TTL of the same namespace changes its design: an untouched
    // store.ts follows it.
    let run = project.kvgen(&["create", "cache", "--ttl", "none"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("update".to_string(), "src/kv/store.ts".to_string()))
    );
    assert!(
        project
            .read("kvgen.toml")
            .contains("default_ttl = \"none\"")
    );
    // An edit of the same line and another TTL overlap: a conflict.
    let edited = project
        .read("src/kv/store.ts")
        .replace("= null;", "= null; // mine");
    project.write("src/kv/store.ts", &edited);
    project
        .kvgen(&["create", "cache", "--ttl", "600"])
        .assert_code(1);
    assert_eq!(project.read("src/kv/store.ts"), edited);
    project
        .kvgen(&["create", "cache", "--ttl", "none", "--force"])
        .assert_code(0);
    assert!(project.read("src/kv/store.ts").contains("= null;"));
}

#[test]
fn rust_create_wires_the_module_and_dependencies() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let run = project.kvgen(&["create", "user-cache"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("update", "Cargo.toml"),
            ("create", "kvgen.lock"),
            ("create", "kvgen.toml"),
            ("create", "src/kv/keys.rs"),
            ("create", "src/kv/limits.rs"),
            ("create", "src/kv/mod.rs"),
            ("create", "src/kv/store.rs"),
            ("update", "src/lib.rs"),
            ("update", "wrangler.toml"),
        ])
    );
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("serde = { version = \"1\", features = [\"derive\"] }"),
        "{manifest}"
    );
    assert!(
        manifest.contains("serde_json = \"1.0.100\""),
        "the chosen version stays: {manifest}"
    );
    assert!(
        project
            .read("src/lib.rs")
            .starts_with("mod kv;\n\nuse worker::*;")
    );
    assert!(
        project
            .read("wrangler.toml")
            .contains("[[kv_namespaces]]\nbinding = \"USER_CACHE\"\n")
    );
    assert!(!run.stdout.contains("wrangler types"));
    let again = project.kvgen(&["create", "user-cache"]);
    again.assert_code(0);
    again.assert_all_identical();
}

#[test]
fn crlf_and_bom_configs_keep_them() {
    let project = Project::with_files(&[
        (
            "wrangler.toml",
            "\u{feff}name = \"w\"\r\nmain = \"src/index.ts\"\r\n\r\n[vars]\r\nA = \"1\"\r\n",
        ),
        ("package.json", "{}"),
    ]);
    project.kvgen(&["create", "cache"]).assert_code(0);
    assert_eq!(
        project.read("wrangler.toml"),
        "\u{feff}name = \"w\"\r\nmain = \"src/index.ts\"\r\n\r\n[[kv_namespaces]]\r\nbinding = \"CACHE\"\r\n\r\n[vars]\r\nA = \"1\"\r\n"
    );
}

#[test]
fn cache_patterns_one_after_another_never_conflict() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["cache", "swr"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("create", "kvgen.lock"),
            ("create", "kvgen.toml"),
            ("create", "src/kv/limits.ts"),
            ("create", "src/kv/swr.ts"),
            ("update", "wrangler.jsonc"),
        ])
    );
    assert!(
        project
            .read("wrangler.jsonc")
            .contains("\"binding\": \"CACHE\"")
    );
    assert!(
        run.stdout
            .contains("npx wrangler kv namespace create cache"),
        "{}",
        run.stdout
    );
    let run = project.kvgen(&["cache", "aside"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("update", "kvgen.lock"),
            ("update", "kvgen.toml"),
            ("create", "src/kv/cache-aside.ts"),
            ("identical", "src/kv/limits.ts"),
            ("identical", "src/kv/swr.ts"),
            ("identical", "wrangler.jsonc"),
        ])
    );
    // The store of `create` shares limits.ts with the cache modules.
    let run = project.kvgen(&["create", "users"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("identical".to_string(), "src/kv/limits.ts".to_string()))
    );
}

#[test]
fn cache_without_patterns_writes_all_five_and_reruns_identical() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["cache"]);
    run.assert_code(0);
    let created: Vec<String> = run
        .statuses()
        .into_iter()
        .filter(|(s, _)| s == "create")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(
        created,
        [
            "kvgen.lock",
            "kvgen.toml",
            "src/kv/cache-aside.ts",
            "src/kv/invalidate.ts",
            "src/kv/limits.ts",
            "src/kv/swr.ts",
            "src/kv/warm.ts",
            "src/kv/write-through.ts",
        ]
    );
    let before = project.tree();
    let again = project.kvgen(&["cache"]);
    again.assert_code(0);
    again.assert_all_identical();
    assert_eq!(project.tree(), before);
}

#[test]
fn cache_warm_cron_adds_the_trigger_once_and_shows_the_handler() {
    let project = Project::copy("tests/fixtures/projects/ts-toml-envs");
    let run = project.kvgen(&[
        "cache",
        "warm",
        "--cron",
        "*/30 * * * *",
        "--env",
        "production",
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("async scheduled(controller, env, ctx)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("warm(env.CACHE"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("npx wrangler kv namespace create cache --env production")
    );
    let config = project.read("wrangler.toml");
    assert!(
        config.contains("[env.production.triggers]\ncrons = [\"*/30 * * * *\"]\n"),
        "{config}"
    );
    let again = project.kvgen(&[
        "cache",
        "warm",
        "--cron",
        "*/30 * * * *",
        "--env",
        "production",
    ]);
    again.assert_code(0);
    again.assert_all_identical();
    assert_eq!(project.read("wrangler.toml"), config);
    assert_eq!(config.matches("*/30 * * * *").count(), 1);
}

#[test]
fn cache_rejects_bad_crons_and_crons_without_warm() {
    let project = Project::copy(SAMPLE);
    let before = project.tree();
    for args in [
        &["cache", "swr", "--cron", "*/5 * * * *"][..],
        &["cache", "warm", "--cron", "every minute"][..],
        &["cache", "warm", "--cron", "* * * * * \"; rm -rf"][..],
        &["cache", "--ttl", "30"][..],
        &["cache", "lru"][..],
        &["cache", "--binding", "new"][..],
    ] {
        let run = project.kvgen(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert_eq!(project.tree(), before, "{args:?}");
    }
}

#[test]
fn rust_cache_modules_are_declared_in_the_module_list() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    project.kvgen(&["create", "users"]).assert_code(0);
    let run = project.kvgen(&["cache", "aside", "swr"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("identical", "Cargo.toml"),
            ("update", "kvgen.lock"),
            ("update", "kvgen.toml"),
            ("create", "src/kv/cache_aside.rs"),
            ("identical", "src/kv/keys.rs"),
            ("identical", "src/kv/limits.rs"),
            ("update", "src/kv/mod.rs"),
            ("identical", "src/kv/store.rs"),
            ("create", "src/kv/swr.rs"),
            ("identical", "src/lib.rs"),
            ("update", "wrangler.toml"),
        ])
    );
    assert!(project.read("src/kv/mod.rs").ends_with(
        "pub mod cache_aside;\npub mod keys;\npub mod limits;\npub mod store;\npub mod swr;\n"
    ));
}

#[test]
fn flags_generates_the_module_and_the_binding() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["flags"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("create", "kvgen.lock"),
            ("create", "kvgen.toml"),
            ("create", "src/kv/flags.ts"),
            ("create", "src/kv/limits.ts"),
            ("update", "wrangler.jsonc"),
        ])
    );
    assert!(
        project
            .read("wrangler.jsonc")
            .contains("\"binding\": \"FLAGS\"")
    );
    assert!(
        run.stdout
            .contains("npx wrangler kv namespace create flags"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("kvgen flags set new-checkout --percentage 10"),
        "{}",
        run.stdout
    );
    let again = project.kvgen(&["flags"]);
    again.assert_code(0);
    again.assert_all_identical();
}

#[test]
fn rust_flags_adds_sha2_only_when_missing() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let run = project.kvgen(&["flags"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("create".to_string(), "src/kv/flags.rs".to_string()))
    );
    assert!(project.read("Cargo.toml").contains("sha2 = \"0.11\""));
    assert!(project.read("src/kv/mod.rs").contains("pub mod flags;\n"));
    let manifest = project
        .read("Cargo.toml")
        .replace("sha2 = \"0.11\"", "sha2 = \"=0.10.9\"");
    project.write("Cargo.toml", &manifest);
    let again = project.kvgen(&["flags"]);
    again.assert_code(0);
    again.assert_all_identical();
    assert!(project.read("Cargo.toml").contains("sha2 = \"=0.10.9\""));
}

/// Word `index` of a printed shell command, as a POSIX shell passes it to
/// the program.
fn shell_argument(command: &str, index: usize) -> String {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("set -- {command}; printf '%s' \"${{{index}}}\""))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn flags_set_prints_a_safely_quoted_wrangler_command() {
    let project = Project::with_files(&[]);
    let run = project.kvgen(&[
        "flags",
        "set",
        "new-checkout",
        "--percentage",
        "25",
        "--allow",
        "o'brien,ada \"the\" $HOME",
        "--deny",
        "bot;rm -rf /",
        "--env",
        "staging",
    ]);
    run.assert_code(0);
    let command = run
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("npx wrangler kv key put"))
        .expect("the command is printed");
    assert!(
        command.starts_with("npx wrangler kv key put --binding FLAGS \"flag:new-checkout\" '"),
        "{command}"
    );
    assert!(command.ends_with(" --remote --env staging"), "{command}");
    // npx wrangler kv key put --binding FLAGS KEY VALUE: the key is word 8,
    // the value word 9.
    let stored: serde_json::Value = serde_json::from_str(&shell_argument(command, 9)).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({
            "enabled": true,
            "percentage": 25,
            "allowlist": ["o'brien", "ada \"the\" $HOME"],
            "denylist": ["bot;rm -rf /"],
        })
    );
    assert_eq!(shell_argument(command, 8), "flag:new-checkout");
}

#[test]
fn flags_set_rejects_invalid_definitions() {
    let project = Project::with_files(&[]);
    for args in [
        &["flags", "set", "x", "--percentage", "101"][..],
        &["flags", "set", "x", "--percentage", "-1"][..],
        &["flags", "set", "x", "--percentage", "half"][..],
        &["flags", "set", "x", "--enabled", "maybe"][..],
        &["flags", "set", "bad name"][..],
        &["flags", "set", "x\"; rm -rf /"][..],
        &["flags", "set", "x", "--allow", "a,,b"][..],
        &["flags", "set", "x", "--binding", "class"][..],
    ] {
        let run = project.kvgen(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: nothing printed to stdout");
    }
    let json = project.kvgen(&["flags", "set", "beta", "--enabled", "false", "--json"]);
    json.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["value"], serde_json::json!({ "enabled": false }));
    assert_eq!(report["key"], "flag:beta");
}

#[test]
fn session_generates_the_store_a_local_secret_and_keeps_it_out_of_git() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["session", "--env", "staging"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("create", ".dev.vars"),
            ("create", ".gitignore"),
            ("create", "kvgen.lock"),
            ("create", "kvgen.toml"),
            ("create", "src/kv/limits.ts"),
            ("create", "src/kv/session.ts"),
            ("update", "wrangler.jsonc"),
        ])
    );
    assert!(
        run.stdout
            .contains("npx wrangler secret put SESSION_SECRET --env staging"),
        "{}",
        run.stdout
    );
    let dev_vars = project.read(".dev.vars");
    let secret = dev_vars.strip_prefix("SESSION_SECRET=").unwrap().trim_end();
    assert_eq!(secret.len(), 64, "{dev_vars}");
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "the secret is never printed"
    );
    assert_eq!(project.read(".gitignore"), ".dev.vars\n");
    assert!(
        project
            .read("wrangler.jsonc")
            .contains("\"binding\": \"SESSIONS\"")
    );
    let store = project.read("src/kv/session.ts");
    assert!(store.contains("86400"), "the default TTL is baked in");
    assert!(
        store.contains("const NAME = '__Host-session';"),
        "the default cookie name is baked in"
    );

    // Again: all identical, and the secret is the same.
    let again = project.kvgen(&["session", "--env", "staging"]);
    again.assert_code(0);
    again.assert_all_identical();
    assert_eq!(project.read(".dev.vars"), dev_vars);
}

#[test]
fn session_never_overwrites_dev_vars_and_never_shows_the_secret() {
    let project = Project::copy(SAMPLE);
    project.write(".dev.vars", "API_TOKEN=abc\n");
    project.write(".gitignore", "node_modules\n.dev.vars\n");
    let dry = project.kvgen(&["session", "--dry-run"]);
    dry.assert_code(0);
    assert!(
        dry.stdout
            .contains("+SESSION_SECRET=<random secret, not shown>"),
        "{}",
        dry.stdout
    );
    assert_eq!(project.read(".dev.vars"), "API_TOKEN=abc\n");
    let json = project.kvgen(&["session", "--dry-run", "--json"]);
    assert!(json.stdout.contains("<random secret, not shown>"));
    for (at, _) in json.stdout.match_indices("SESSION_SECRET=") {
        let rest = &json.stdout[at + "SESSION_SECRET=".len()..];
        assert!(
            rest.starts_with("<random secret, not shown>"),
            "{}",
            json.stdout
        );
    }

    let run = project.kvgen(&["session"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("update".to_string(), ".dev.vars".to_string()))
    );
    assert!(
        run.statuses()
            .contains(&("identical".to_string(), ".gitignore".to_string()))
    );
    let dev_vars = project.read(".dev.vars");
    assert!(
        dev_vars.starts_with("API_TOKEN=abc\nSESSION_SECRET="),
        "{dev_vars}"
    );
    let mine = "SESSION_SECRET=my-own-secret-of-at-least-32-characters\n";
    project.write(".dev.vars", mine);
    project.kvgen(&["session"]).assert_code(0);
    assert_eq!(project.read(".dev.vars"), mine);
}

#[test]
fn session_rejects_short_ttls_and_bad_cookie_names() {
    let project = Project::copy(SAMPLE);
    let before = project.tree();
    for args in [
        &["session", "--ttl", "30"][..],
        &["session", "--ttl", "0"][..],
        &["session", "--ttl", "none"][..],
        &["session", "--ttl", "34560001"][..],
        &["session", "--cookie", "a;b"][..],
        &["session", "--cookie", "sid=1"][..],
    ] {
        let run = project.kvgen(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert_eq!(project.tree(), before, "{args:?}");
    }
    project
        .kvgen(&["session", "--ttl", "3600", "--cookie", "__Host-sid"])
        .assert_code(0);
    let store = project.read("src/kv/session.ts");
    assert!(
        store.contains("3600") && store.contains("__Host-sid"),
        "{store}"
    );
}

#[test]
fn bulk_uses_the_only_binding_and_names_them_when_there_are_several() {
    let project = Project::copy(SAMPLE);
    // The sample has no KV binding yet.
    let before = project.tree();
    let run = project.kvgen(&["bulk"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("wrangler.jsonc has no KV binding: pass --binding NAME (kvgen adds it)"),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before);

    project.kvgen(&["create", "users"]).assert_code(0);
    let run = project.kvgen(&["bulk"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("update", "kvgen.lock"),
            ("update", "kvgen.toml"),
            ("create", "src/kv/bulk.ts"),
            ("identical", "src/kv/keys.ts"),
            ("identical", "src/kv/limits.ts"),
            ("identical", "src/kv/store.ts"),
            ("identical", "wrangler.jsonc"),
        ])
    );
    assert!(
        run.stdout
            .contains("  kvgen bulk put data.ndjson   # checks data and writes files"),
        "{}",
        run.stdout
    );
    let bulk = project.read("src/kv/bulk.ts");
    assert!(bulk.contains("export async function getMany<"), "{bulk}");
    assert!(
        bulk.contains("import * as limits from './limits';"),
        "the project's quotes"
    );
    project
        .kvgen(&["bulk"])
        .assert_code(0)
        .assert_all_identical();

    project.kvgen(&["cache"]).assert_code(0);
    let before = project.tree();
    let run = project.kvgen(&["bulk"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "wrangler.jsonc has several KV bindings (USERS, CACHE): pass --binding with the one to use"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before);
    // A binding that is not there yet is added, like every command does.
    let run = project.kvgen(&["bulk", "--binding", "ARCHIVE"]);
    run.assert_code(0);
    assert!(
        project
            .read("wrangler.jsonc")
            .contains("\"binding\": \"ARCHIVE\"")
    );
}

#[test]
fn rust_bulk_is_declared_and_needs_no_new_dependency() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    project.kvgen(&["create", "users"]).assert_code(0);
    let manifest = project.read("Cargo.toml");
    let run = project.kvgen(&["bulk"]);
    run.assert_code(0);
    assert!(project.read("src/kv/mod.rs").contains("pub mod bulk;"));
    assert!(
        project
            .read("src/kv/bulk.rs")
            .contains("pub async fn put_many")
    );
    assert_eq!(project.read("Cargo.toml"), manifest);
}

/// A fake `git` on an otherwise empty PATH: `script` is its body, or none
/// at all when it is None.
fn path_with_git(script: Option<&str>) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    if let Some(script) = script {
        let git = bin.path().join("git");
        fs::write(&git, format!("#!/bin/sh\n{script}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&git, fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// git, and kvgen, see only the configuration a test gives them.
struct GitHome {
    dir: tempfile::TempDir,
}

impl GitHome {
    fn new(config: &str) -> GitHome {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("gitconfig"), config).unwrap();
        GitHome { dir }
    }

    fn apply<'a>(&self, command: &'a mut std::process::Command) -> &'a mut std::process::Command {
        command
            .env("GIT_CONFIG_GLOBAL", self.dir.path().join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
    }

    /// Runs git in `dir`; its exit code and standard output.
    fn git(&self, dir: &Path, args: &[&str]) -> (i32, String) {
        let output = self
            .apply(
                std::process::Command::new("git")
                    .current_dir(dir)
                    .args(args),
            )
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8(output.stdout).unwrap(),
        )
    }

    /// Runs kvgen in `dir` with this git configuration (and `path` as PATH
    /// when given).
    fn kvgen(&self, dir: &Path, args: &[&str], path: Option<&Path>) -> common::Run {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kvgen"));
        self.apply(command.current_dir(dir).args(args));
        if let Some(path) = path {
            command.env("PATH", path);
        }
        let output = command.output().unwrap();
        common::Run {
            code: output.status.code().unwrap(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// Whether git ignores `.dev.vars` in `dir`, by git's own answer.
    fn ignores_dev_vars(&self, dir: &Path) -> bool {
        self.git(dir, &["check-ignore", "-q", "--", ".dev.vars"]).0 == 0
    }
}

#[test]
fn session_appends_to_gitignore_after_a_negation_and_git_then_ignores_dev_vars() {
    let home = GitHome::new("");
    let project = Project::copy(SAMPLE);
    home.git(project.path(), &["init", "-q"]);
    project.write(".gitignore", "node_modules\n.dev.vars\n!.dev.vars\n");
    let run = home.kvgen(project.path(), &["session"], None);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("update".to_string(), ".gitignore".to_string())),
        "{}",
        run.stdout
    );
    assert_eq!(
        project.read(".gitignore"),
        "node_modules\n.dev.vars\n!.dev.vars\n.dev.vars\n"
    );
    assert!(home.ignores_dev_vars(project.path()));
    let (_, status) = home.git(project.path(), &["status", "--porcelain", "--ignored"]);
    assert!(status.contains("!! .dev.vars"), "{status}");
    // Settled: the next run changes nothing.
    home.kvgen(project.path(), &["session"], None)
        .assert_code(0)
        .assert_all_identical();
}

#[test]
fn session_overrides_a_negation_in_a_parent_folder_gitignore() {
    // The repository is the parent folder; its .gitignore re-includes
    // .dev.vars after .git/info/exclude ignored it.
    let home = GitHome::new("");
    let repo = tempfile::tempdir().unwrap();
    home.git(repo.path(), &["init", "-q"]);
    fs::write(repo.path().join(".git/info/exclude"), ".dev.vars\n").unwrap();
    fs::write(repo.path().join(".gitignore"), "!.dev.vars\n").unwrap();
    let worker = repo.path().join("worker");
    common::copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE), &worker);
    assert!(!home.ignores_dev_vars(&worker));
    let run = home.kvgen(&worker, &["session"], None);
    run.assert_code(0);
    assert_eq!(
        fs::read_to_string(worker.join(".gitignore")).unwrap(),
        ".dev.vars\n"
    );
    assert!(home.ignores_dev_vars(&worker));
    assert_eq!(
        fs::read_to_string(repo.path().join(".gitignore")).unwrap(),
        "!.dev.vars\n",
        "the parent's file is not kvgen's to edit"
    );
}

#[test]
fn session_adds_no_gitignore_when_git_already_ignores_dev_vars_elsewhere() {
    let excludes = tempfile::tempdir().unwrap();
    let global = excludes.path().join("ignore");
    fs::write(&global, ".dev.vars\n").unwrap();
    let with_global = format!("[core]\n\texcludesFile = {}\n", global.display());
    // (where the rule is, the parent folder's .gitignore, info/exclude, the
    // global git configuration)
    for (source, parent, info, config) in [
        ("a parent folder's .gitignore", "*.vars\n", "", ""),
        (".git/info/exclude", "", ".dev.vars\n", ""),
        ("the global excludes file", "", "", with_global.as_str()),
    ] {
        let home = GitHome::new(config);
        let repo = tempfile::tempdir().unwrap();
        home.git(repo.path(), &["init", "-q"]);
        fs::write(repo.path().join(".gitignore"), parent).unwrap();
        fs::write(repo.path().join(".git/info/exclude"), info).unwrap();
        let worker = repo.path().join("worker");
        common::copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE), &worker);
        let run = home.kvgen(&worker, &["session"], None);
        run.assert_code(0);
        assert!(
            !run.stdout.contains(".gitignore"),
            "{source}: {}",
            run.stdout
        );
        assert!(!worker.join(".gitignore").exists(), "{source}");
        assert!(home.ignores_dev_vars(&worker), "{source}");
    }
}

#[test]
fn session_refuses_to_put_a_secret_in_a_tracked_dev_vars() {
    let home = GitHome::new("");
    let project = Project::copy(SAMPLE);
    home.git(project.path(), &["init", "-q"]);
    project.write(".dev.vars", "API_TOKEN=abc\n");
    home.git(project.path(), &["add", ".dev.vars"]);
    // Ignoring it afterwards does not untrack it.
    project.write(".gitignore", ".dev.vars\n");
    let before = project.tree();
    let run = home.kvgen(project.path(), &["session"], None);
    run.assert_code(2);
    assert!(
        run.stderr.contains(".dev.vars: tracked by git")
            && run.stderr.contains("git rm --cached .dev.vars"),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before, "nothing is written");
    // Untracked, it works.
    home.git(project.path(), &["rm", "-q", "--cached", ".dev.vars"]);
    home.kvgen(project.path(), &["session"], None)
        .assert_code(0);
    assert!(project.read(".dev.vars").contains("SESSION_SECRET="));
}

#[test]
fn session_falls_back_to_the_gitignore_when_git_hangs_or_is_missing() {
    let home = GitHome::new("");
    // A git that never answers is stopped, and the project's .gitignore is
    // read instead; the next steps say what to check by hand.
    let sleep = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join("sleep"))
        .find(|path| path.is_file())
        .expect("sleep is on PATH");
    let hanging = path_with_git(Some(&format!("exec {} 60", sleep.display())));
    let project = Project::copy(SAMPLE);
    fs::create_dir(project.path().join(".git")).unwrap();
    project.write(".gitignore", ".dev.vars\n!.dev.vars\n");
    let started = std::time::Instant::now();
    let run = home.kvgen(project.path(), &["session"], Some(hanging.path()));
    let took = started.elapsed();
    run.assert_code(0);
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    assert_eq!(
        project.read(".gitignore"),
        ".dev.vars\n!.dev.vars\n.dev.vars\n"
    );
    assert!(
        run.stdout.contains("git check-ignore -v .dev.vars")
            && run.stdout.contains("did not answer within 5 s"),
        "{}",
        run.stdout
    );

    // No git at all: in a folder with a .git the same fallback and step; in
    // a plain folder just the fallback.
    let none = path_with_git(None);
    let failing = path_with_git(Some("echo broken >&2; exit 3"));
    for (path, repository, says) in [
        (none.path(), true, "git could not be run"),
        (failing.path(), true, "exited with 3: broken"),
        (none.path(), false, ""),
    ] {
        let project = Project::copy(SAMPLE);
        if repository {
            fs::create_dir(project.path().join(".git")).unwrap();
        }
        let run = home.kvgen(project.path(), &["session"], Some(path));
        run.assert_code(0);
        assert_eq!(project.read(".gitignore"), ".dev.vars\n");
        assert_eq!(
            run.stdout.contains("git check-ignore"),
            repository,
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains(says), "{}", run.stdout);
    }
}

#[test]
fn session_finds_an_existing_secret_in_every_form_dotenv_reads() {
    let secret = "0123456789abcdef0123456789abcdef0123456789abcdef";
    for dev_vars in [
        format!("export SESSION_SECRET={secret}\n"),
        format!("SESSION_SECRET=\"{secret}\"\n"),
        format!("SESSION_SECRET = '{secret}'   # wrangler dev\n"),
        format!("\u{feff}API=1\r\nSESSION_SECRET: {secret}\r\n"),
        format!("PEM=\"-----\nkey\n-----\"\nSESSION_SECRET=`{secret}`"),
    ] {
        let project = Project::copy(SAMPLE);
        project.write(".dev.vars", &dev_vars);
        let run = project.kvgen(&["session"]);
        run.assert_code(0);
        assert!(
            run.statuses()
                .contains(&("identical".to_string(), ".dev.vars".to_string())),
            "{dev_vars:?}: {}",
            run.stdout
        );
        assert_eq!(project.read(".dev.vars"), dev_vars);
    }
    // A SESSION_SECRET line inside another variable's quoted value is not a
    // definition: one is added, and dotenv then reads it.
    let project = Project::copy(SAMPLE);
    project.write(
        ".dev.vars",
        "NOTE=\"\nSESSION_SECRET=looks-like-one-but-is-not-0000000\n\"\n",
    );
    project.kvgen(&["session"]).assert_code(0);
    let dev_vars = project.read(".dev.vars");
    let added = dev_vars.lines().last().unwrap();
    assert!(
        added.starts_with("SESSION_SECRET=") && added.len() == 15 + 64,
        "{dev_vars}"
    );
}

#[test]
fn session_refuses_an_empty_or_short_secret_without_showing_it() {
    for (dev_vars, says) in [
        (
            "API=1\nSESSION_SECRET=\n",
            ".dev.vars:2: SESSION_SECRET is empty",
        ),
        (
            "export SESSION_SECRET=\"changeme\"\n",
            ".dev.vars:1: SESSION_SECRET is 8 characters long",
        ),
    ] {
        let project = Project::copy(SAMPLE);
        project.write(".dev.vars", dev_vars);
        let before = project.tree();
        let run = project.kvgen(&["session"]);
        run.assert_code(2);
        assert!(run.stderr.contains(says), "{}", run.stderr);
        assert!(run.stderr.contains("at least") && run.stderr.contains("32"));
        assert!(!run.stderr.contains("changeme"), "{}", run.stderr);
        assert_eq!(project.tree(), before, "nothing is written");
    }
}

#[test]
fn session_ttl_is_capped_where_browsers_cap_max_age() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["session", "--ttl", "34560001"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("34560000 (400 days") && run.stderr.contains("RFC 6265bis"),
        "{}",
        run.stderr
    );
    project
        .kvgen(&["session", "--ttl", "34560000"])
        .assert_code(0);
    assert!(project.read("src/kv/session.ts").contains("34560000"));
    let help = project.kvgen(&["session", "--help"]);
    assert!(help.stdout.contains("34560000"), "{}", help.stdout);
    assert!(help.stdout.contains("__Host-session"), "{}", help.stdout);
}

#[test]
fn bindings_and_environments_javascript_objects_already_have_are_refused() {
    let project = Project::copy(SAMPLE);
    let before = project.tree();
    for args in [
        &["create", "users", "--binding", "__proto__"][..],
        &["cache", "--binding", "constructor"][..],
        &["flags", "--binding", "toString"][..],
        &["session", "--binding", "hasOwnProperty"][..],
        &["bulk", "--binding", "then"][..],
        &["flags", "set", "beta", "--binding", "valueOf"][..],
        &["create", "users", "--env", "constructor"][..],
    ] {
        let run = project.kvgen(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        let name = args[args.len() - 1];
        assert!(
            run.stderr.contains(&format!("\"{name}\"")) && run.stderr.contains("Object.prototype")
                || run.stderr.contains("promise"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(project.tree(), before, "{args:?}");
    }
    // The same words are fine as namespaces: the derived binding is upper
    // case.
    let run = project.kvgen(&["create", "constructor"]);
    run.assert_code(0);
    assert!(
        project
            .read("wrangler.jsonc")
            .contains("\"binding\": \"CONSTRUCTOR\"")
    );
}

#[test]
fn cache_crons_are_checked_as_cloudflare_reads_them() {
    let project = Project::copy("tests/fixtures/projects/ts-toml-envs");
    let before = project.tree();
    for (cron, message) in [
        ("99 * * * *", "minute 99 is out of range 0-59"),
        ("99 99 99 99 99", "minute 99 is out of range 0-59"),
        (
            "a b c d e",
            "minute \"a\": \"a\" is not a minute value; use 0-59",
        ),
        ("*/0 * * * *", "minute step /0 is out of range 1-59"),
        (
            "0 0 * * 0",
            "day-of-week 0 is out of range 1-7 (1 = Sunday) or SUN-SAT",
        ),
        (
            "0 0 ? * *",
            "day-of-month \"?\": `?` is not accepted by Cloudflare; use `*`",
        ),
    ] {
        let run = project.kvgen(&["cache", "warm", "--cron", cron]);
        run.assert_code(2);
        assert_eq!(
            run.stderr.trim_end(),
            format!("error: --cron {cron:?}: {message}"),
            "{cron}"
        );
        assert!(run.stdout.is_empty(), "{cron}: {}", run.stdout);
        assert_eq!(project.tree(), before, "{cron}");
    }
    // Quartz-style forms Cloudflare documents are written as given; runs of
    // spaces between the fields become one.
    for (cron, written) in [
        ("59 23 LW * *", "59 23 LW * *"),
        ("0 18 * * friL", "0 18 * * friL"),
        ("0  10 * * MON#2", "0 10 * * MON#2"),
    ] {
        project
            .kvgen(&["cache", "warm", "--cron", cron])
            .assert_code(0);
        let config = project.read("wrangler.toml");
        assert!(config.contains(&format!("\"{written}\"")), "{config}");
    }
}

#[test]
fn a_huge_indentation_in_the_users_config_is_ignored() {
    let project = Project::with_files(&[
        ("wrangler.toml", "name = \"w\"\nmain = \"src/index.ts\"\n"),
        ("package.json", "{}"),
        (
            ".prettierrc",
            "{ \"tabWidth\": 1000000000, \"useTabs\": false }",
        ),
        (
            ".editorconfig",
            "[*]\nindent_style = space\nindent_size = 4294967296\n",
        ),
    ]);
    let run = project.kvgen(&["create", "cache"]);
    run.assert_code(0);
    let store = project.read("src/kv/store.ts");
    assert!(store.contains("\n  constructor("), "{store}");
    assert!(!store.contains("\n   constructor("), "{store}");
}

/// `--allow` arguments with `n` user ids (a thousand an argument, each well
/// under the 128 KiB a single argument may have), and the ids.
fn many_ids(n: usize) -> (Vec<String>, Vec<String>) {
    let ids: Vec<String> = (0..n).map(|i| format!("user-{i:05}")).collect();
    let args = ids
        .chunks(1000)
        .flat_map(|chunk| ["--allow".to_string(), chunk.join(",")])
        .collect();
    (args, ids)
}

fn with<'a>(args: &[&'a str], more: &'a [String]) -> Vec<&'a str> {
    args.iter()
        .copied()
        .chain(more.iter().map(String::as_str))
        .collect()
}

#[test]
fn flags_set_refuses_to_print_a_command_too_long_for_a_shell() {
    let project = Project::with_files(&[]);
    let (allow, _) = many_ids(20_000);
    let run = project.kvgen(&with(&["flags", "set", "beta"], &allow));
    run.assert_code(2);
    assert!(run.stdout.is_empty(), "nothing is printed to run");
    assert!(run.stderr.contains("--out FILE"), "{}", run.stderr);
    assert!(run.stderr.contains("128 KiB"), "{}", run.stderr);
    assert!(project.tree().is_empty(), "nothing is written");
    // Just under the limit the command is printed, and a shell runs it.
    let (allow, ids) = many_ids(7_000);
    let run = project.kvgen(&with(&["flags", "set", "beta"], &allow));
    run.assert_code(0);
    let command = run
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("npx wrangler kv key put"))
        .unwrap();
    assert!(command.len() <= 100_000, "{}", command.len());
    let stored: serde_json::Value = serde_json::from_str(&shell_argument(command, 9)).unwrap();
    assert_eq!(stored["allowlist"].as_array().unwrap().len(), ids.len());
}

#[test]
fn flags_set_out_writes_the_json_and_prints_a_path_command() {
    let project = Project::with_files(&[]);
    let (allow, ids) = many_ids(20_000);
    let args = with(
        &[
            "flags",
            "set",
            "beta",
            "--deny",
            "qa-bot",
            "--out",
            "flags/beta.json",
            "--binding",
            "$kv",
            "--env",
            "staging",
        ],
        &allow,
    );
    let run = project.kvgen(&args);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[("create", "flags/beta.json")]),
        "{}",
        run.stdout
    );
    let written = project.read("flags/beta.json");
    assert!(!written.ends_with('\n'), "the file is exactly the value");
    let stored: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(stored["allowlist"].as_array().unwrap().len(), ids.len());
    assert_eq!(stored["denylist"], serde_json::json!(["qa-bot"]));
    let command = run
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("npx wrangler kv key put"))
        .unwrap();
    assert!(command.len() < 200, "{command}");
    // npx wrangler kv key put --binding B KEY --path FILE --remote --env E
    assert_eq!(shell_argument(command, 7), "$kv", "the binding is quoted");
    assert_eq!(shell_argument(command, 8), "flag:beta");
    assert_eq!(shell_argument(command, 9), "--path");
    assert_eq!(shell_argument(command, 10), "flags/beta.json");
    assert!(command.ends_with(" --remote --env staging"), "{command}");

    // The same definition again: identical, the file is not rewritten.
    let before = project.tree();
    let again = project.kvgen(&args);
    again.assert_code(0);
    again.assert_all_identical();
    assert_eq!(project.tree(), before);

    // Another definition in the same file: a conflict, nothing written,
    // unless --force.
    let other = ["flags", "set", "beta", "--out", "flags/beta.json"];
    let conflict = project.kvgen(&other);
    conflict.assert_code(1);
    assert!(conflict.stderr.contains("--force"), "{}", conflict.stderr);
    assert!(!conflict.stdout.contains("wrangler"), "{}", conflict.stdout);
    assert_eq!(project.tree(), before);
    let dry = project.kvgen(&[&other[..], &["--force", "--dry-run"]].concat());
    dry.assert_code(0);
    assert_eq!(dry.statuses(), pairs(&[("force", "flags/beta.json")]));
    assert_eq!(project.tree(), before);
    let forced = project.kvgen(&[&other[..], &["--force"]].concat());
    forced.assert_code(0);
    assert_eq!(project.read("flags/beta.json"), "{\"enabled\":true}");
    // Only the file itself is left: the temporary file was renamed into it.
    assert_eq!(
        fs::read_dir(project.path().join("flags")).unwrap().count(),
        1
    );
    // A folder is not a file to write.
    let folder = project.kvgen(&["flags", "set", "beta", "--out", "flags"]);
    folder.assert_code(2);
    assert!(
        folder.stderr.contains("--out flags: is a folder"),
        "{}",
        folder.stderr
    );
}

#[test]
fn control_characters_in_a_file_name_are_escaped_in_messages() {
    // A crate root named by Cargo.toml, with escape codes in its name, that
    // does not parse: the error names it, escaped.
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let name = "src/evil\u{1b}]0;owned\u{7}.rs";
    let manifest = project.read("Cargo.toml");
    project.write(
        "Cargo.toml",
        &manifest.replace(
            "[lib]\n",
            "[lib]\npath = \"src/evil\\u001b]0;owned\\u0007.rs\"\n",
        ),
    );
    project.write(name, "fn f( {\n");
    let before = project.tree();
    let run = project.kvgen(&["create", "users"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("src/evil\\u{1b}]0;owned\\u{7}.rs:1:7: "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{1b}') && !run.stdout.contains('\u{1b}'));
    assert_eq!(project.tree(), before);

    // A flag file of such a name would be printed in a command to copy: it
    // is refused, and the message escapes it.
    let project = Project::with_files(&[]);
    let run = project.kvgen(&["flags", "set", "beta", "--out", "new\u{1b}[2J.json"]);
    run.assert_code(2);
    assert!(run.stderr.contains("new\\u{1b}[2J.json"), "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}') && run.stdout.is_empty());
    assert!(project.tree().is_empty());
}

#[test]
fn rust_wiring_reads_the_crate_root_with_a_rust_parser() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let original = project.read("src/lib.rs");
    let lib = format!(
        "//! The worker.\n#![allow(\n    clippy::new_without_default,\n    dead_code,\n)]\n\n{original}"
    );
    project.write("src/lib.rs", &lib);
    project.kvgen(&["create", "users"]).assert_code(0);
    assert_eq!(
        project.read("src/lib.rs"),
        format!(
            "//! The worker.\n#![allow(\n    clippy::new_without_default,\n    dead_code,\n)]\n\nmod kv;\n\n{original}"
        )
    );
    project.kvgen(&["create", "users"]).assert_all_identical();
}

#[test]
fn a_crate_root_that_does_not_parse_is_bad_input_with_its_place() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let broken = "use worker::*;\n\nfn helper( {\n}\n";
    project.write("src/lib.rs", broken);
    let before = project.tree();
    let run = project.kvgen(&["create", "users"]);
    run.assert_code(2);
    let lib = project.path().join("src/lib.rs");
    assert!(
        run.stderr
            .contains(&format!("{}:3:10: does not parse as Rust", lib.display())),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before, "nothing is written");

    // An inline `mod kv { … }` would leave the generated files out of the
    // crate: refused, at its place.
    project.write("src/lib.rs", "use worker::*;\n\nmod kv {\n}\n");
    let before = project.tree();
    let run = project.kvgen(&["create", "users"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(&format!("{}:3:1: ", lib.display())) && run.stderr.contains("--dir"),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before);
    // ...and --dir puts the modules in a folder of their own.
    let run = project.kvgen(&["create", "users", "--dir", "src/storage"]);
    run.assert_code(0);
    assert_eq!(
        project.read("src/lib.rs"),
        "mod storage;\n\nuse worker::*;\n\nmod kv {\n}\n"
    );
}

#[test]
fn a_crate_whose_worker_is_too_old_is_exit_2_naming_both_versions() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let manifest = project
        .read("Cargo.toml")
        .replace("worker = \"0.8\"", "worker = \"0.4\"");
    project.write("Cargo.toml", &manifest);
    // Cargo.lock still resolves 0.8: cargo would re-resolve it for "0.4".
    let before = project.tree();
    for command in [
        &["create", "users"][..],
        &["cache"],
        &["flags"],
        &["session"],
        &["bulk", "--binding", "DATA"],
    ] {
        let run = project.kvgen(command);
        run.assert_code(2);
        let cargo_toml = project.path().join("Cargo.toml");
        assert!(
            run.stderr.contains(&format!(
                "{}:10:1: this crate builds with `worker` \"0.4\", and kvgen's Rust modules need `worker` 0.5 or later",
                cargo_toml.display()
            )),
            "{command:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("cargo update -p worker"),
            "{}",
            run.stderr
        );
        assert_eq!(project.tree(), before, "{command:?}: nothing is written");
    }
}

#[test]
fn rust_modules_go_beside_a_crate_root_given_by_lib_path() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let manifest = project
        .read("Cargo.toml")
        .replace("[lib]\n", "[lib]\npath = \"worker/lib.rs\"\n");
    project.write("Cargo.toml", &manifest);
    let lib = project.read("src/lib.rs");
    fs::create_dir(project.path().join("worker")).unwrap();
    project.write("worker/lib.rs", &lib);
    fs::remove_dir_all(project.path().join("src")).unwrap();

    // A folder that is not beside the crate root would never be compiled.
    let before = project.tree();
    let run = project.kvgen(&["create", "users", "--dir", "src/kv"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "--dir \"src/kv\": for Rust the folder must be worker/<module> (beside the crate root)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before);

    project.kvgen(&["create", "users"]).assert_code(0);
    assert_eq!(project.read("worker/lib.rs"), format!("mod kv;\n\n{lib}"));
    assert!(project.read("worker/kv/mod.rs").contains("pub mod store;"));
    assert!(!project.path().join("src").exists());
    project.kvgen(&["create", "users"]).assert_all_identical();
}

const ENVS_WORKER: &str = "tests/fixtures/projects/ts-toml-envs";

/// The SESSION_SECRET value dotenv would read from `text` (plain lines).
fn session_secret(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find_map(|line| line.strip_prefix("SESSION_SECRET="))
        .map(str::to_string)
}

#[test]
fn session_env_writes_the_environment_s_own_dev_vars() {
    let project = Project::copy(ENVS_WORKER);
    project.write(".dev.vars.staging", "API_TOKEN=abc\n");
    project.write(".dev.vars", "API_TOKEN=shared\n");
    let run = project.kvgen(&["session", "--env", "staging"]);
    run.assert_code(0);
    let statuses = run.statuses();
    assert!(
        statuses.contains(&("update".to_string(), ".dev.vars.staging".to_string())),
        "{}",
        run.stdout
    );
    assert!(
        !statuses.iter().any(|(_, path)| path == ".dev.vars"),
        "{}",
        run.stdout
    );
    let staging = project.read(".dev.vars.staging");
    let secret = session_secret(&staging).unwrap();
    assert_eq!(secret.len(), 64);
    assert!(!run.stdout.contains(&secret) && !run.stderr.contains(&secret));
    assert_eq!(project.read(".dev.vars"), "API_TOKEN=shared\n");
    assert_eq!(project.read(".gitignore"), ".dev.vars.staging\n");
    assert!(
        run.stdout.contains(
            "npx wrangler secret put SESSION_SECRET --env staging   # a long random value; \
             .dev.vars.staging has one for wrangler dev"
        ),
        "{}",
        run.stdout
    );
    // The top level reads .dev.vars, which gets a secret of its own.
    let run = project.kvgen(&["session", "--all-envs"]);
    run.assert_code(0);
    assert_eq!(project.read(".dev.vars.staging"), staging);
    assert!(session_secret(&project.read(".dev.vars")).is_some());
    assert!(
        run.stdout
            .contains("--env production   # a long random value; .dev.vars has one"),
        "{}",
        run.stdout
    );
}

#[test]
fn session_puts_the_secret_in_env_when_the_project_keeps_secrets_there() {
    let project = Project::copy(ENVS_WORKER);
    project.write(".env", "API_TOKEN=abc\n");
    let run = project.kvgen(&["session"]);
    run.assert_code(0);
    assert!(
        run.statuses()
            .contains(&("update".to_string(), ".env".to_string())),
        "{}",
        run.stdout
    );
    assert!(
        !project.path().join(".dev.vars").exists(),
        "a .dev.vars would stop wrangler reading .env"
    );
    let env = project.read(".env");
    assert!(env.starts_with("API_TOKEN=abc\nSESSION_SECRET="), "{env}");
    let secret = session_secret(&env).unwrap();
    assert!(!run.stdout.contains(&secret));
    assert_eq!(project.read(".gitignore"), ".env\n");
    assert!(
        run.stdout
            .contains("# a long random value; .env has one for wrangler dev"),
        "{}",
        run.stdout
    );
    // Settled: a second run, for every environment, changes nothing (they
    // all read .env).
    let again = project.kvgen(&["session", "--all-envs"]);
    again.assert_code(0);
    assert_eq!(project.read(".env"), env);
    assert!(!project.path().join(".dev.vars").exists());
}

#[test]
fn session_uses_dev_vars_when_it_exists_beside_env() {
    let project = Project::copy(ENVS_WORKER);
    project.write(".env", "API_TOKEN=abc\n");
    project.write(".dev.vars", "API_TOKEN=dev\n");
    let run = project.kvgen(&["session"]);
    run.assert_code(0);
    assert_eq!(project.read(".env"), "API_TOKEN=abc\n");
    assert!(
        project
            .read(".dev.vars")
            .starts_with("API_TOKEN=dev\nSESSION_SECRET="),
        "wrangler reads only .dev.vars"
    );
    assert!(
        !run.statuses().iter().any(|(_, path)| path == ".env"),
        "{}",
        run.stdout
    );
}

#[test]
fn session_keeps_a_secret_already_in_an_env_file_wrangler_merges() {
    let project = Project::copy(ENVS_WORKER);
    let mine = "SESSION_SECRET=staging-secret-of-at-least-32-characters\n";
    project.write(".env", "API_TOKEN=abc\n");
    project.write(".env.staging", mine);
    let run = project.kvgen(&["session", "--env", "staging"]);
    run.assert_code(0);
    assert_eq!(project.read(".env"), "API_TOKEN=abc\n", "never shadowed");
    assert_eq!(project.read(".env.staging"), mine);
    assert!(
        run.statuses()
            .contains(&("identical".to_string(), ".env.staging".to_string())),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("--env staging   # a long random value; .env.staging has one"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("staging-secret"), "{}", run.stdout);
    // A short one there is refused, naming its file and line; nothing is
    // written.
    project.write(".env.staging", "A=1\nSESSION_SECRET=hunter2\n");
    let before = project.tree();
    let run = project.kvgen(&["session", "--env", "staging"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains(".env.staging:2: SESSION_SECRET is 7 characters long"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"));
    assert_eq!(project.tree(), before);
}

#[test]
fn session_refuses_a_tracked_env_and_offers_env_local() {
    let home = GitHome::new("");
    let project = Project::copy(ENVS_WORKER);
    home.git(project.path(), &["init", "-q"]);
    project.write(".env", "PUBLIC_URL=https://example.com\n");
    home.git(project.path(), &["add", ".env"]);
    let before = project.tree();
    let run = home.kvgen(project.path(), &["session"], None);
    run.assert_code(2);
    assert!(
        run.stderr.contains(".env: tracked by git") && run.stderr.contains("empty .env.local"),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before);
    // With an empty .env.local the secret goes there, and git ignores it.
    project.write(".env.local", "");
    home.kvgen(project.path(), &["session"], None)
        .assert_code(0);
    assert!(session_secret(&project.read(".env.local")).is_some());
    assert_eq!(project.read(".env"), "PUBLIC_URL=https://example.com\n");
    assert_eq!(
        home.git(project.path(), &["check-ignore", "-q", "--", ".env.local"])
            .0,
        0
    );
}

#[test]
fn cache_warm_cron_dispatches_on_the_cron_in_an_existing_scheduled_handler() {
    let project = Project::copy(ENVS_WORKER);
    let run = project.kvgen(&["cache", "warm", "--cron", "*/30 * * * *"]);
    run.assert_code(0);
    assert!(!run.stdout.contains("switch"), "{}", run.stdout);
    assert!(
        run.stdout.contains("import { warm } from \"./kv/warm\";"),
        "{}",
        run.stdout
    );

    let project = Project::copy(ENVS_WORKER);
    let index = project.read("src/index.ts").replace(
        "} satisfies ExportedHandler<Env>;",
        "  async scheduled(controller, env, ctx) {\n    ctx.waitUntil(report(env));\n  },\n} satisfies ExportedHandler<Env>;",
    );
    project.write("src/index.ts", &index);
    let run = project.kvgen(&["cache", "warm", "--cron", "*/30 * * * *"]);
    run.assert_code(0);
    for expected in [
        "src/index.ts has a scheduled handler already",
        "switch (controller.cron) {",
        "case \"*/30 * * * *\":",
        "ctx.waitUntil(warm(env.CACHE, entriesToWarm()));",
        "default:",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
    assert_eq!(
        project.read("src/index.ts"),
        index,
        "the entry is not edited"
    );
}

#[test]
fn rust_cache_warm_cron_matches_on_the_cron_in_an_existing_scheduled_event() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let run = project.kvgen(&["cache", "warm", "--cron", "0 * * * *"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("add a scheduled handler"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("event.cron()"), "{}", run.stdout);

    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let lib = format!(
        "{}\n#[event(scheduled)]\nasync fn cleanup(_e: ScheduledEvent, _env: Env, _c: ScheduleContext) {{}}\n",
        project.read("src/lib.rs")
    );
    project.write("src/lib.rs", &lib);
    let run = project.kvgen(&["cache", "warm", "--cron", "0 * * * *"]);
    run.assert_code(0);
    for expected in [
        "src/lib.rs has a scheduled handler already",
        "match event.cron().as_str() {",
        "\"0 * * * *\" => {",
        "kv::warm::warm(&kv, entries_to_warm(), Default::default()).await",
        "_ => run_scheduled_as_before(event, env, ctx).await",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
}

#[test]
fn a_single_quoted_cron_list_gets_a_single_quoted_cron() {
    let project = Project::copy(ENVS_WORKER);
    let config = project.read("wrangler.toml").replace(
        "[vars]\n",
        "[triggers]\ncrons = ['0 0 * * *'] # nightly\n\n[vars]\n",
    );
    project.write("wrangler.toml", &config);
    project
        .kvgen(&["cache", "warm", "--cron", "*/30 * * * *"])
        .assert_code(0);
    assert!(
        project
            .read("wrangler.toml")
            .contains("crons = ['0 0 * * *', '*/30 * * * *'] # nightly\n"),
        "{}",
        project.read("wrangler.toml")
    );
}

/// A Worker with one KV binding and some data for `kvgen bulk put`.
fn bulk_worker() -> Project {
    let project = Project::copy(ENVS_WORKER);
    let config = format!(
        "{}\n[[kv_namespaces]]\nbinding = \"USERS\"\nid = \"0123456789abcdef0123456789abcdef\"\n",
        project.read("wrangler.toml")
    );
    project.write("wrangler.toml", &config);
    project.write("users.ndjson", "{\"key\":\"u1\",\"value\":\"Ada\"}\n");
    project
}

#[test]
fn bulk_output_in_a_new_folder_keeps_itself_out_of_git() {
    let home = GitHome::new("");
    let project = bulk_worker();
    home.git(project.path(), &["init", "-q"]);
    let run = home.kvgen(project.path(), &["bulk", "put", "users.ndjson"], None);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[
            ("create", "kv-bulk/.gitignore"),
            ("create", "kv-bulk/users-put-0001.json"),
        ])
    );
    let ignored = |path: &str| {
        home.git(project.path(), &["check-ignore", "-q", "--", path])
            .0
            == 0
    };
    assert!(ignored("kv-bulk/users-put-0001.json"));
    let (_, status) = home.git(
        project.path(),
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert!(!status.contains("kv-bulk"), "{status}");
    assert!(
        !project.path().join(".gitignore").exists(),
        "the project's own is not touched"
    );
    // The folder is there now: nothing more is written, and no step.
    let again = home.kvgen(project.path(), &["bulk", "put", "users.ndjson"], None);
    again.assert_code(0);
    again.assert_all_identical();
    assert!(!again.stdout.contains("printf"), "{}", again.stdout);

    // --json names it; a dry run writes nothing.
    let project = bulk_worker();
    let before = project.tree();
    let run = project.kvgen(&[
        "bulk",
        "put",
        "users.ndjson",
        "--json",
        "--dry-run",
        "--out",
        "data/kv",
    ]);
    run.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["ignore_file"],
        serde_json::json!({ "path": "data/kv/.gitignore", "status": "create" })
    );
    assert_eq!(project.tree(), before);
}

#[test]
fn bulk_output_in_a_folder_git_would_commit_gets_a_step_that_works() {
    let home = GitHome::new("");
    let project = bulk_worker();
    home.git(project.path(), &["init", "-q"]);
    fs::create_dir(project.path().join("seed")).unwrap();
    let run = home.kvgen(
        project.path(),
        &["bulk", "put", "users.ndjson", "--out", "seed"],
        None,
    );
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        pairs(&[("create", "seed/users-put-0001.json")]),
        "a folder that was there gets no file of kvgen's"
    );
    let step = run
        .stdout
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("printf"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(step.contains("keep them out of git"), "{step}");
    let command = step.split("   #").next().unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(project.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        home.git(
            project.path(),
            &["check-ignore", "-q", "--", "seed/users-put-0001.json"]
        )
        .0,
        0
    );
    let again = home.kvgen(
        project.path(),
        &["bulk", "put", "users.ndjson", "--out", "seed"],
        None,
    );
    assert!(!again.stdout.contains("printf"), "{}", again.stdout);

    // Tracked files: the step untracks them too.
    let project = bulk_worker();
    home.git(project.path(), &["init", "-q"]);
    project
        .kvgen(&["bulk", "put", "users.ndjson", "--out", "seed"])
        .assert_code(0);
    fs::remove_file(project.path().join("seed/.gitignore")).unwrap();
    home.git(project.path(), &["add", "seed"]);
    project.write("users.ndjson", "{\"key\":\"u2\",\"value\":\"Grace\"}\n");
    let run = home.kvgen(
        project.path(),
        &["bulk", "put", "users.ndjson", "--out", "seed", "--force"],
        None,
    );
    run.assert_code(0);
    assert!(
        run.stdout.contains("git rm -r -q --cached seed && printf"),
        "{}",
        run.stdout
    );
}

#[test]
fn session_says_to_list_the_secret_where_the_config_lists_required_secrets() {
    let project = Project::copy(ENVS_WORKER);
    let config = project.read("wrangler.toml").replace(
        "[env.staging]\n",
        "[env.staging]\nsecrets = { required = [\"API_KEY\"] }\n",
    );
    project.write("wrangler.toml", &config);
    let run = project.kvgen(&["session", "--env", "staging"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("add \"SESSION_SECRET\" to env.staging.secrets.required in wrangler.toml"),
        "{}",
        run.stdout
    );
    // The top level lists none: no such step.
    let run = project.kvgen(&["session"]);
    run.assert_code(0);
    assert!(!run.stdout.contains("secrets.required"), "{}", run.stdout);
}

/// `kvgen completions SHELL`: the bash script loads in bash and completes a
/// subcommand; the others name the commands too.
#[test]
fn completion_scripts_load_and_complete_subcommands() {
    let script = |shell: &str| {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("kvgen"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let bash = dir.path().join("kvgen.bash");
    std::fs::write(&bash, script("bash")).unwrap();
    let completed = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; _kvgen kvgen '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            bash.display(),
            words.join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &program])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(completed("kvgen rate").trim(), "ratelimit");
    let export = completed("kvgen export --re");
    assert!(export.lines().any(|l| l == "--remote"), "{export}");
    assert!(export.lines().any(|l| l == "--resume"), "{export}");
    for shell in ["zsh", "fish", "powershell"] {
        let text = script(shell);
        assert!(
            text.contains("ratelimit") && text.contains("completions"),
            "{shell}"
        );
    }
}

/// What `cargo install kvgen` gets from crates.io: the sources and the
/// templates they embed, and none of the tests' fixtures and snapshots.
#[test]
fn the_published_crate_holds_what_a_build_needs_and_no_test_data() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8(out.stdout).unwrap();
    let files: Vec<&str> = list.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "build.rs",
        "src/main.rs",
        "templates/ts/common/limits.ts.j2",
        "templates/rust/counter/counter.rs.j2",
    ] {
        assert!(files.contains(&needed), "{needed} missing:\n{list}");
    }
    for file in &files {
        assert!(
            !["tests/", "snapshots/", "benches/", "examples/", "fuzz/"]
                .iter()
                .any(|dir| file.starts_with(dir)),
            "{file} should not be published"
        );
    }
}
