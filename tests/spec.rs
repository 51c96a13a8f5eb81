//! `kvgen spec`: the namespace specification through the real binary. Local
//! figures against state written as miniflare writes it (live keys, bytes,
//! expirations, keys per pattern, the namespace `wrangler dev` uses), the
//! checklist, every format (snapshots of the sample with a full design),
//! and that it never writes.

mod common;

use common::{Project, assert_same_tree, snapshot};

const ID: &str = "0123456789abcdef0123456789abcdef";
const PREVIEW: &str = "fedcba9876543210fedcba9876543210";

const DESIGN: &str = r#"[kvgen]
lang = "ts"
dir = "src/kv"

[namespaces.NS]
purpose = "data"
default_ttl = 3600

[namespaces.NS.keys.user]
pattern = "user:{id}"
value = "string"

[namespaces.NS.keys.profile]
pattern = "user:{id}:profile"
value = "json"
ttl = 600
cache_ttl = 60
about = "Profiles, by user id"
"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn json(project: &Project, args: &[&str]) -> serde_json::Value {
    let run = project.kvgen(&[args, &["--format", "json"]].concat());
    run.assert_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

#[test]
fn local_figures_count_live_keys_bytes_expirations_and_patterns() {
    let later = now_ms() + 3_600_000;
    let soonest = now_ms() + 120_000;
    let project = common::seeded(
        &format!(
            "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"NS\"\nid = \"{ID}\"\n"
        ),
        ID,
        &[
            ("user:1", "ann", None),
            ("user:2", "bob", Some(later)),
            ("user:1:profile", "{\"a\":1}", Some(soonest)),
            ("user:", "empty param", None),
            ("other", "x", None),
            ("user:9", "expired", Some(now_ms() - 1_000)),
        ],
    );
    project.write("kvgen.toml", DESIGN);
    let before = snapshot(project.path());
    let report = json(&project, &["spec"]);
    assert_same_tree(&before, &snapshot(project.path()), "spec writes nothing");
    let ns = &report["namespaces"][0];
    let local = &ns["local"];
    assert_eq!(local["namespace_id"], ID);
    assert_eq!(local["keys"], 5, "{local}");
    assert_eq!(
        local["bytes"],
        ("ann".len() + "bob".len() + "{\"a\":1}".len() + "empty param".len() + 1) as u64
    );
    assert_eq!(local["expiring"], 2);
    assert_eq!(local["next_expiry"], (soonest as u64).div_ceil(1000));
    // `user:` has an empty param and `other` no pattern: two of no pattern.
    assert_eq!(local["unmatched"], 2);
    assert_eq!(ns["keys"][0]["local_keys"], 2);
    assert_eq!(ns["keys"][1]["local_keys"], 1);
    assert_eq!(ns["keys"][1]["ttl"], 600);
    assert_eq!(ns["keys"][0]["ttl"], 3600);
    assert_eq!(ns["keys"][1]["example"], "user:1:profile");
}

#[test]
fn the_namespace_wrangler_dev_uses_is_read() {
    // preview_id first: the production namespace's state is not the one.
    let project = common::seeded(
        &format!(
            "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"NS\"\nid = \"{ID}\"\npreview_id = \"{PREVIEW}\"\n"
        ),
        PREVIEW,
        &[("user:1", "from preview", None)],
    );
    project.write("kvgen.toml", DESIGN);
    let report = json(&project, &["spec", "NS"]);
    let local = &report["namespaces"][0]["local"];
    assert_eq!(local["namespace_id"], PREVIEW);
    assert_eq!(local["keys"], 1);
    assert_eq!(local["bytes"], "from preview".len() as u64);
    let env = &report["namespaces"][0]["environments"][0];
    assert_eq!(env["id"], ID);
    assert_eq!(env["preview_id"], PREVIEW);

    // No local state: none, unless --local asks for the (empty) figures.
    let bare = Project::with_files(&[
        (
            "wrangler.toml",
            "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"NS\"\n",
        ),
        ("kvgen.toml", DESIGN),
    ]);
    let report = json(&bare, &["spec"]);
    assert!(report["namespaces"][0]["local"].is_null());
    let report = json(&bare, &["spec", "--local"]);
    assert_eq!(report["namespaces"][0]["local"]["namespace_id"], "NS");
    assert_eq!(report["namespaces"][0]["local"]["keys"], 0);
}

#[test]
fn the_checklist_says_what_is_missing() {
    let project = Project::with_files(&[
        (
            "wrangler.toml",
            "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"NS\"\nid = \"0123456789abcdef0123456789abcdef\"\n\n[env.staging]\n",
        ),
        (
            "kvgen.toml",
            "[kvgen]\nlang = \"ts\"\ndir = \"src/kv\"\n\n[namespaces.NS]\npurpose = \"data\"\nenvs = [\"staging\"]\n",
        ),
        (
            "worker-configuration.d.ts",
            "interface Env {\n\tNS: KVNamespace;\n}\n",
        ),
    ]);
    let report = json(&project, &["spec"]);
    let ns = &report["namespaces"][0];
    let check = |item: &str| {
        ns["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["item"] == item)
            .unwrap_or_else(|| panic!("{item}: {ns}"))
            .clone()
    };
    assert_eq!(check("namespace created")["ok"], false);
    assert_eq!(
        check("namespace created")["detail"],
        "not bound in env.staging"
    );
    assert_eq!(check("binding in every environment listed")["ok"], false);
    assert_eq!(check("key patterns defined")["ok"], false);
    assert_eq!(check("TTL strategy set")["ok"], false);
    assert_eq!(check("patterns implemented")["ok"], false);
    assert_eq!(check("types up to date")["ok"], true);
    assert_eq!(ns["health"], serde_json::json!({ "passed": 1, "total": 6 }));
    assert_eq!(report["not_available"][0]["figure"], "reads per day");
    assert_eq!(report["not_available"][1]["figure"], "cache hit rate");
}

#[test]
fn a_javascript_worker_has_types_to_keep_up_only_when_it_checks_them() {
    let project = Project::with_files(&[
        ("wrangler.toml", "name = \"x\"\nmain = \"src/index.js\"\n"),
        ("package.json", "{}"),
        ("src/index.js", "export default {};\n"),
    ]);
    project.kvgen(&["create", "users"]).assert_code(0);
    let types = |project: &Project| {
        let report = json(project, &["spec"]);
        report["namespaces"][0]["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["item"] == "types up to date")
            .unwrap()
            .clone()
    };
    let check = types(&project);
    assert_eq!(check["ok"], true, "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("without type checking")
    );
    let doctor = project.kvgen(&["doctor"]);
    assert!(!doctor.stdout.contains("USERS:"), "{}", doctor.stdout);

    // With a jsconfig.json the Worker checks its types: the binding must be
    // in them.
    project.write(
        "jsconfig.json",
        "{ \"compilerOptions\": { \"checkJs\": true } }\n",
    );
    assert_eq!(types(&project)["ok"], false);
    let doctor = project.kvgen(&["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("warning: worker-configuration.d.ts: USERS:"),
        "{}",
        doctor.stdout
    );
    project.write(
        "worker-configuration.d.ts",
        "interface Env {\n\tUSERS: KVNamespace;\n}\n",
    );
    assert_eq!(types(&project)["ok"], true);
}

#[test]
fn spec_refuses_what_it_cannot_read() {
    let project =
        Project::with_files(&[("wrangler.toml", "name = \"x\"\nmain = \"src/index.ts\"\n")]);
    let run = project.kvgen(&["spec"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("kvgen.toml: no such file"),
        "{}",
        run.stderr
    );
    project.write("kvgen.toml", DESIGN);
    let run = project.kvgen(&["spec", "OTHER"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("kvgen.toml: no namespace OTHER"),
        "{}",
        run.stderr
    );
}

fn assert_spec_snapshot(name: &str, text: &str) {
    common::assert_snapshot_in("spec", name, text);
}

#[test]
fn the_sample_with_a_full_design_in_every_format() {
    let project = Project::copy("examples/hello-worker");
    for args in [&["cache"][..], &["session"], &["create", "users"]] {
        project.kvgen(args).assert_code(0);
    }
    project
        .kvgen(&[
            "key",
            "add",
            "USERS",
            "user",
            "user:{id}",
            "--value",
            "string",
            "--about",
            "Users, by id",
        ])
        .assert_code(0);
    project
        .kvgen(&[
            "key",
            "add",
            "CACHE",
            "page",
            "page:{path}:{lang}",
            "--cache-ttl",
            "300",
        ])
        .assert_code(0);
    let before = snapshot(project.path());
    for (format, name) in [
        ("text", "sample_text"),
        ("markdown", "sample_markdown"),
        ("json", "sample_json"),
    ] {
        let run = project.kvgen(&["spec", "--format", format]);
        run.assert_code(0);
        assert_spec_snapshot(name, &run.stdout);
    }
    let ascii = project.kvgen(&["spec", "--ascii"]);
    ascii.assert_code(0);
    assert!(ascii.stdout.is_ascii(), "{}", ascii.stdout);
    assert_same_tree(&before, &snapshot(project.path()), "spec writes nothing");
}
