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
