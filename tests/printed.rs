//! The commands kvgen prints work as printed: with `--config` and several
//! environments, each printed `kvgen` command is run as it is, and each
//! printed `wrangler` command is run through `sh` (against local storage:
//! `--remote` becomes `--local`), then the data is read back with Wrangler.
//! `wrangler kv namespace create` and `wrangler secret put` need a
//! Cloudflare account, so only their words are checked.
//!
//! Needs the e2e workspace (see tests/e2e.rs); `KVGEN_SKIP_E2E=1` skips.

mod common;

use std::path::Path;
use std::process::Command;

use common::node::*;

const CONFIG: &str = "wrangler.kv.toml";

/// The ts-toml-envs fixture with its config renamed, so that nothing finds
/// it without `--config`.
fn project() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, project) = copy_fixture("tests/fixtures/projects/ts-toml-envs");
    std::fs::rename(project.join("wrangler.toml"), project.join(CONFIG)).unwrap();
    std::os::unix::fs::symlink(e2e_dir().join("node_modules"), project.join("node_modules"))
        .unwrap();
    (dir, project)
}

fn report(project: &Path, args: &[&str]) -> serde_json::Value {
    let out = kvgen(project, &[args, &["--json"]].concat());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn steps(report: &serde_json::Value) -> Vec<String> {
    report["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// A printed kvgen command (`kvgen ARGS   # comment`), run as printed.
fn run_kvgen_step(dir: &Path, step: &str) -> serde_json::Value {
    let command = step.split("   #").next().unwrap().trim();
    let args: Vec<&str> = command
        .strip_prefix("kvgen ")
        .unwrap_or_else(|| panic!("not a kvgen command: {step}"))
        .split(' ')
        .collect();
    report(dir, &args)
}

/// A printed Wrangler command, run through `sh` in `dir` with the e2e
/// workspace's wrangler, against local storage.
fn run_wrangler_step(dir: &Path, step: &str) {
    let command = step.split("   #").next().unwrap().trim();
    let rest = command
        .strip_prefix("npx wrangler ")
        .unwrap_or_else(|| panic!("not a wrangler command: {step}"));
    let local = rest.replace(" --remote", " --local");
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!("\"$WRANGLER\" {local}"))
        .current_dir(dir)
        .env("WRANGLER", node_bin("wrangler"))
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("WRANGLER_SEND_METRICS", "false");
    run(step, &mut sh);
}

fn local_get(dir: &Path, binding: &str, key: &str, env: &str) -> String {
    let output = run(
        &format!("wrangler kv key get {key} --env {env}"),
        tool("wrangler", dir).args([
            "kv",
            "key",
            "get",
            key,
            "--binding",
            binding,
            "--local",
            "--env",
            env,
            "-c",
            CONFIG,
        ]),
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn printed_commands_with_a_config_and_environments_work_as_printed() {
    if skipped() {
        return;
    }
    node_workspace();
    let (_dir, project) = project();
    let envs = ["--config", CONFIG, "--env", "staging,production"];

    // Flags: the follow-up `kvgen flags set`, then its Wrangler commands.
    let flags = report(&project, &[&["flags"][..], &envs].concat());
    let all = steps(&flags);
    for env in ["staging", "production"] {
        let create = format!("npx wrangler kv namespace create flags --env {env} -c {CONFIG}");
        assert!(all.contains(&create), "{all:?}");
    }
    let set = all
        .iter()
        .find(|s| s.starts_with("kvgen flags set"))
        .unwrap_or_else(|| panic!("{all:?}"));
    let printed = run_kvgen_step(&project, set);
    let puts = printed["wrangler"].as_array().unwrap();
    assert_eq!(puts.len(), 2, "{printed}");
    for put in puts {
        run_wrangler_step(&project, put.as_str().unwrap());
    }
    for env in ["staging", "production"] {
        assert_eq!(
            local_get(&project, "FLAGS", "flag:new-checkout", env),
            r#"{"enabled":true,"percentage":10}"#
        );
    }

    // Bulk: the follow-up `kvgen bulk put`, then one upload per file and
    // environment.
    let bulk = report(
        &project,
        &[&["bulk", "--binding", "E2E_KV"][..], &envs].concat(),
    );
    let put = steps(&bulk)
        .into_iter()
        .find(|s| s.starts_with("kvgen bulk put"))
        .unwrap();
    assert!(
        put.starts_with(&format!(
            "kvgen bulk put data.ndjson --binding E2E_KV --env staging,production --config {CONFIG}"
        )),
        "{put}"
    );
    std::fs::write(
        project.join("data.ndjson"),
        "{\"key\":\"greeting\",\"value\":\"hello, it's me\"}\n",
    )
    .unwrap();
    let uploaded = run_kvgen_step(&project, &put);
    let uploads = steps(&uploaded);
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    for upload in &uploads {
        assert!(upload.ends_with(&format!("-c {CONFIG}")), "{upload}");
        run_wrangler_step(&project, upload);
    }
    for env in ["staging", "production"] {
        assert_eq!(
            local_get(&project, "E2E_KV", "greeting", env),
            "hello, it's me"
        );
    }

    // Types, from a subfolder: Wrangler writes the file where it runs, so
    // the printed command names the project's.
    run(
        "wrangler types",
        tool("wrangler", &project).args([
            "types",
            "--include-runtime=false",
            "-c",
            CONFIG,
            "--env",
            "staging",
        ]),
    );
    let src = project.join("src");
    let session = report(
        &src,
        &[
            "session",
            "--config",
            "../wrangler.kv.toml",
            "--env",
            "staging",
        ],
    );
    let types = steps(&session)
        .into_iter()
        .find(|s| s.starts_with("npx wrangler types"))
        .unwrap_or_else(|| panic!("{session}"));
    assert_eq!(
        types,
        "npx wrangler types ../worker-configuration.d.ts -c ../wrangler.kv.toml"
    );
    run_wrangler_step(
        &src,
        &format!("{types} --include-runtime=false --env staging"),
    );
    assert!(!src.join("worker-configuration.d.ts").exists());
    let generated = std::fs::read_to_string(project.join("worker-configuration.d.ts")).unwrap();
    assert!(generated.contains("SESSIONS: KVNamespace"), "{generated}");
}
