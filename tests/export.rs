//! `kvgen export --local` against real local state: a namespace filled
//! with the pinned wrangler (text, raw binary, metadata, a TTL, keys with
//! quotes, a newline, non-ASCII and 512 bytes), exported, fed to `kvgen
//! bulk put`, uploaded with the printed `wrangler kv bulk put` (`--local`)
//! into a second namespace, and both compared key by key.
//!
//! Needs the e2e workspace (see tests/e2e.rs); `KVGEN_SKIP_E2E=1` skips.

mod common;

use std::path::Path;

use common::node::*;

fn wrangler(dir: &Path, args: &[&str]) -> Vec<u8> {
    run(
        &format!("wrangler {}", args.join(" ")),
        tool("wrangler", dir).args(args),
    )
    .stdout
}

fn export(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("kvgen"))
        .current_dir(dir)
        .args([&["export", "--local"][..], args].concat())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", show(&output));
    output.stdout
}

#[test]
fn a_local_namespace_round_trips_through_export_and_bulk_put() {
    if skipped() {
        return;
    }
    node_workspace();
    let (_dir, project) = copy_fixture("examples/hello-worker");
    std::os::unix::fs::symlink(e2e_dir().join("node_modules"), project.join("node_modules"))
        .unwrap();
    kvgen(&project, &["create", "e2e-kv"]);
    kvgen(&project, &["create", "copy-kv"]);

    let long_key = "k".repeat(512);
    let seed = serde_json::json!([
        { "key": "text", "value": "hello, \"world\"\n✓ 𝄞" },
        { "key": "meta", "value": "m", "metadata": { "v": 2, "tags": ["a", "b"] } },
        { "key": "ttl", "value": "t", "expiration_ttl": 3600, "metadata": { "x": null } },
        { "key": "q'\"\nkey ✓", "value": "odd" },
        { "key": long_key, "value": "long" },
    ]);
    std::fs::write(project.join("seed.json"), seed.to_string()).unwrap();
    wrangler(
        &project,
        &[
            "kv",
            "bulk",
            "put",
            "seed.json",
            "--binding",
            "E2E_KV",
            "--local",
        ],
    );
    // Raw bytes: `kv key put --path` stores them as they are (local `bulk
    // put` would decode base64 into text).
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    std::fs::write(project.join("binary.dat"), &binary).unwrap();
    wrangler(
        &project,
        &[
            "kv",
            "key",
            "put",
            "bin",
            "--path",
            "binary.dat",
            "--binding",
            "E2E_KV",
            "--local",
        ],
    );

    // Out, as a file.
    let first = export(&project, &["--binding", "E2E_KV", "--out", "dump.ndjson"]);
    assert!(first.is_empty());
    let dump = std::fs::read_to_string(project.join("dump.ndjson")).unwrap();
    let lines: Vec<serde_json::Value> = dump
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<&str> = lines.iter().map(|l| l["key"].as_str().unwrap()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "key order");
    assert_eq!(keys.len(), 6, "{dump}");
    let bin = lines.iter().find(|l| l["key"] == "bin").unwrap();
    assert_eq!(bin["base64"], true);
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(bin["value"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, binary, "the raw bytes, byte for byte");
    let ttl = lines.iter().find(|l| l["key"] == "ttl").unwrap();
    assert!(ttl["expiration"].as_u64().unwrap() > 1_700_000_000, "{ttl}");

    // `kvgen spec` counts the same state: its keys, the bytes of their
    // values and the one with an expiration.
    let spec: serde_json::Value =
        serde_json::from_str(&kvgen(&project, &["spec", "E2E_KV", "--format", "json"])).unwrap();
    let local = &spec["namespaces"][0]["local"];
    assert_eq!(local["keys"], 6, "{local}");
    let bytes: u64 = lines
        .iter()
        .map(|l| {
            let value = l["value"].as_str().unwrap();
            if l["base64"] == true {
                base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .unwrap()
                    .len() as u64
            } else {
                value.len() as u64
            }
        })
        .sum();
    assert_eq!(local["bytes"], bytes, "{local}");
    assert_eq!(local["expiring"], 1, "{local}");
    assert_eq!(local["next_expiry"], ttl["expiration"], "{local}");

    // In again, through bulk put and the upload it prints, into COPY_KV.
    let out = kvgen(
        &project,
        &[
            "bulk",
            "put",
            "dump.ndjson",
            "--binding",
            "COPY_KV",
            "--json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    for step in report["next_steps"].as_array().unwrap() {
        let step = step.as_str().unwrap();
        let Some(args) = step.strip_prefix("npx wrangler ") else {
            continue;
        };
        let args: Vec<&str> = args
            .split(' ')
            .map(|w| if w == "--remote" { "--local" } else { w })
            .collect();
        wrangler(&project, &args);
    }

    // Both namespaces hold the same keys, values, metadata and expirations.
    // (Except the raw bytes: local `wrangler kv bulk put` decodes a base64
    // value into a UTF-8 string, so "bin" arrives mangled locally; the
    // export of it was checked byte for byte above, and Cloudflare's API
    // takes the bytes.)
    let copy = String::from_utf8(export(&project, &["--binding", "COPY_KV"])).unwrap();
    let without_bin = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("{\"key\":\"bin\","))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(without_bin(&copy), without_bin(&dump));
    assert_eq!(without_bin(&dump).len(), 5);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&wrangler(
        &project,
        &["kv", "key", "list", "--binding", "COPY_KV", "--local"],
    ))
    .unwrap();
    let meta = listed.iter().find(|k| k["name"] == "meta").unwrap();
    assert_eq!(
        meta["metadata"],
        serde_json::json!({ "v": 2, "tags": ["a", "b"] })
    );

    // A prefix, and the bulk files themselves.
    let only = export(&project, &["--binding", "E2E_KV", "--prefix", "te"]);
    assert_eq!(String::from_utf8(only).unwrap().lines().count(), 1);
    let out = kvgen(
        &project,
        &[
            "export",
            "--local",
            "--binding",
            "E2E_KV",
            "--format",
            "bulk",
            "--out",
            "backup",
        ],
    );
    assert!(out.contains("backup/e2e-kv-put-0001.json"), "{out}");
    let files: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(project.join("backup/e2e-kv-put-0001.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(files.len(), 6);
}

/// A project whose local state for `NS` is written the way miniflare
/// writes it.
fn seeded(rows: &[(&str, &str, Option<i64>)]) -> common::Project {
    common::seeded(
        "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"NS\"\nid = \"0123456789abcdef0123456789abcdef\"\n\n[[kv_namespaces]]\nbinding = \"OTHER\"\n",
        "0123456789abcdef0123456789abcdef",
        rows,
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn keys_about_to_expire_are_left_out_and_said() {
    let project = seeded(&[
        ("soon", "s", Some(now_ms() + 30_000)),
        ("later", "l", Some(now_ms() + 3_600_000)),
        ("gone", "g", Some(now_ms() - 1_000)),
        ("kept", "k", None),
    ]);
    let run = project.kvgen(&["export", "--local", "--binding", "NS"]);
    run.assert_code(0);
    let keys: Vec<String> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["key"].to_string())
        .collect();
    assert_eq!(keys, ["\"kept\"", "\"later\""]);
    assert!(
        run.stderr.contains("exported 2 keys (2 bytes of values) from NS (local namespace 0123456789abcdef0123456789abcdef) to standard output"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("left out 1 keys that expire within 60 s"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_existing_output_file_is_kept_unless_forced() {
    let project = seeded(&[("a", "1", None)]);
    project.write("dump.ndjson", "mine\n");
    let run = project.kvgen(&[
        "export",
        "--local",
        "--binding",
        "NS",
        "--out",
        "dump.ndjson",
    ]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("conflict: dump.ndjson: exists"),
        "{}",
        run.stderr
    );
    assert_eq!(project.read("dump.ndjson"), "mine\n");
    project
        .kvgen(&[
            "export",
            "--local",
            "--binding",
            "NS",
            "--out",
            "dump.ndjson",
            "--force",
        ])
        .assert_code(0);
    assert_eq!(
        project.read("dump.ndjson"),
        "{\"key\":\"a\",\"value\":\"1\"}\n"
    );
    // Nothing else is left next to it.
    let names: Vec<String> = std::fs::read_dir(project.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".kvgen"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn export_says_what_it_cannot_do() {
    let project = seeded(&[("a", "1", None)]);
    for (args, says) in [
        (
            &["export", "--local"][..],
            "several KV bindings (NS, OTHER): pass --binding",
        ),
        (
            &["export", "--local", "--binding", "NOPE"],
            "--binding NOPE: wrangler.toml has no such KV binding",
        ),
        (
            &["export", "--local", "--binding", "OTHER"],
            "no local data for this namespace",
        ),
        (
            &["export", "--local", "--binding", "NS", "--all-envs"],
            "export reads one namespace",
        ),
        (
            &["export", "--local", "--binding", "NS", "--env", "a,b"],
            "export reads one namespace",
        ),
        (&["export", "--binding", "NS"], "--local"),
    ] {
        let run = project.kvgen(args);
        run.assert_code(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn spec_reads_the_preview_namespace_wrangler_writes() {
    if skipped() {
        return;
    }
    node_workspace();
    let (_dir, project) = copy_fixture("examples/hello-worker");
    std::os::unix::fs::symlink(e2e_dir().join("node_modules"), project.join("node_modules"))
        .unwrap();
    let id = "0123456789abcdef0123456789abcdef";
    let preview = "fedcba9876543210fedcba9876543210";
    kvgen(
        &project,
        &["create", "e2e-kv", "--id", id, "--preview-id", preview],
    );
    // What wrangler writes to the preview namespace, and to production.
    wrangler(
        &project,
        &[
            "kv",
            "key",
            "put",
            "user:1",
            "preview value",
            "--binding",
            "E2E_KV",
            "--local",
            "--preview",
        ],
    );
    wrangler(
        &project,
        &[
            "kv",
            "key",
            "put",
            "user:2",
            "production",
            "--binding",
            "E2E_KV",
            "--local",
            "--preview",
            "false",
        ],
    );
    let spec: serde_json::Value =
        serde_json::from_str(&kvgen(&project, &["spec", "E2E_KV", "--format", "json"])).unwrap();
    let local = &spec["namespaces"][0]["local"];
    assert_eq!(local["namespace_id"], preview, "{local}");
    assert_eq!(local["keys"], 1, "{local}");
    assert_eq!(local["bytes"], "preview value".len() as u64, "{local}");
}
