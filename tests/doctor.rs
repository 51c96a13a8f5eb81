//! `kvgen doctor` through the real binary: one project per finding, a
//! clean one with none, exit codes, the JSON shape, and that it never
//! writes.

mod common;

use common::{Project, assert_same_tree, snapshot};

const ID: &str = "0123456789abcdef0123456789abcdef";
const OTHER: &str = "fedcba9876543210fedcba9876543210";

/// Runs `kvgen doctor --json` and returns its exit code and findings.
fn doctor(project: &Project) -> (i32, Vec<serde_json::Value>) {
    let before = snapshot(project.path());
    let run = project.kvgen(&["doctor", "--json"]);
    assert_same_tree(&before, &snapshot(project.path()), "doctor writes nothing");
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    assert_eq!(report["exit_code"], run.code, "{report}");
    let findings = report["findings"].as_array().unwrap().clone();
    let errors = findings.iter().filter(|f| f["severity"] == "error").count();
    assert_eq!(report["errors"], errors);
    assert_eq!(report["warnings"], findings.len() - errors);
    for f in &findings {
        for field in ["severity", "file", "message", "fix"] {
            assert!(f[field].is_string(), "{field} in {f}");
        }
    }
    (run.code, findings)
}

fn worker(config: &str) -> Project {
    Project::with_files(&[("wrangler.toml", config), ("package.json", "{}")])
}

/// The one finding of a project, checked: severity, line, words.
fn only(project: &Project, severity: &str, line: Option<usize>, words: &str) {
    let (code, findings) = doctor(project);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["severity"], severity, "{f}");
    assert_eq!(f["line"], serde_json::json!(line), "{f}");
    assert!(f["message"].as_str().unwrap().contains(words), "{f}");
    assert_eq!(code, if severity == "error" { 1 } else { 0 });
}

#[test]
fn a_clean_project_has_no_finding() {
    let project = worker(&format!(
        "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"CACHE\"\nid = \"{ID}\"\npreview_id = \"{OTHER}\"\n"
    ));
    let (code, findings) = doctor(&project);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    let run = project.kvgen(&["doctor"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "0 errors, 0 warnings\n");
}

#[test]
fn preview_id_equal_to_id_is_an_error() {
    let project = worker(&format!(
        "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"CACHE\"\nid = \"{ID}\"\npreview_id = \"{ID}\"\n"
    ));
    only(&project, "error", Some(7), "preview_id is the same as id");
    let run = project.kvgen(&["doctor"]);
    run.assert_code(1);
    assert!(
        run.stdout.starts_with(
            "error: wrangler.toml:7: CACHE in the top level: preview_id is the same as id"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  fix: npx wrangler kv namespace create cache --preview")
    );
}

#[test]
fn a_field_wrangler_rejects_is_an_error() {
    let project = worker(&format!(
        "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"CACHE\"\nid = \"{ID}\"\nttl = 60\n"
    ));
    only(
        &project,
        "error",
        Some(7),
        "has the field \"ttl\", which wrangler rejects",
    );
}

#[test]
fn an_environment_with_bindings_of_its_own_lacking_one_is_an_error() {
    let project = worker(&format!(
        "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"CACHE\"\nid = \"{ID}\"\n\n[env.staging]\nd1_databases = [{{ binding = \"DB\", database_name = \"d\", database_id = \"1\" }}]\n"
    ));
    only(
        &project,
        "error",
        Some(8),
        "env.staging has bindings of its own and no CACHE",
    );
}

#[test]
fn an_environment_sharing_the_production_id_is_a_warning() {
    let project = worker(&format!(
        "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"CACHE\"\nid = \"{ID}\"\n\n[env.staging]\nkv_namespaces = [{{ binding = \"CACHE\", id = \"{ID}\" }}]\n"
    ));
    only(
        &project,
        "warning",
        Some(9),
        "CACHE in env.staging has the id of a top-level namespace",
    );
}

#[test]
fn the_design_out_of_step_with_the_config_and_the_code_is_found() {
    // kvgen.toml binds CACHE in env.staging, which the config lacks; the
    // generated modules were never written; the Env types lack it.
    let project = Project::copy("examples/hello-worker");
    project.kvgen(&["cache"]).assert_code(0);
    let design = project.read("kvgen.toml");
    project.write(
        "kvgen.toml",
        &design.replace(
            "purpose = \"cache\"",
            "purpose = \"cache\"\nenvs = [\"staging\"]",
        ),
    );
    let config = project.read("wrangler.jsonc");
    project.write(
        "wrangler.jsonc",
        &config.replacen(
            "{",
            "{\n\t\"env\": { \"staging\": { \"vars\": { \"A\": \"1\" } } },",
            1,
        ),
    );
    let (code, findings) = doctor(&project);
    let messages: Vec<&str> = findings
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(code, 1, "{findings:#?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("kvgen.toml binds CACHE in env.staging, and the config does not")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(
            |m| m.starts_with("the project is out of date with the design: ")
                && m.contains("wrangler.jsonc")
        ),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("CACHE: not in worker-configuration.d.ts")),
        "{messages:#?}"
    );
    // After the sync, only the types remain (wrangler types is not run).
    project.kvgen(&["sync"]).assert_code(0);
    let (code, findings) = doctor(&project);
    assert_eq!(code, 0, "{findings:#?}");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["fix"], "npx wrangler types");
    // A generated file edited by hand is listed, not a finding.
    let run = project.kvgen(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["edited"], serde_json::json!([]));
    let aside = project.read("src/kv/cache-aside.ts");
    project.write("src/kv/cache-aside.ts", &format!("{aside}// mine\n"));
    let run = project.kvgen(&["doctor", "--json"]);
    run.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["edited"],
        serde_json::json!(["src/kv/cache-aside.ts"])
    );
    assert_eq!(report["findings"].as_array().unwrap().len(), 1, "{report}");
}

#[test]
fn a_rust_worker_is_checked_the_same_way() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    project.kvgen(&["create", "users"]).assert_code(0);
    let (code, findings) = doctor(&project);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    let config = project.read("wrangler.toml");
    project.write(
        "wrangler.toml",
        &config.replacen(
            "binding = \"USERS\"\n",
            "binding = \"USERS\"\nid = \"x\"\npreview_id = \"x\"\n",
            1,
        ),
    );
    let (code, findings) = doctor(&project);
    assert_eq!(code, 1, "{findings:#?}");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("preview_id is the same as id")
    );
}

#[test]
fn the_worker_s_own_code_is_read_for_kv_mistakes() {
    let source = r#"export default {
	async fetch(request: Request, env: Env): Promise<Response> {
		await env.KV.put("a", "b", { expirationTtl: 30 });
		const page = await env.KV.list({ prefix: "user:" });
		const hits = Number(await env.KV.get("hits")) || 0;
		await env.KV.put("hits", String(hits + 1));
		return Response.json(page.keys);
	},
};
// await env.KV.put("c", "d", { expirationTtl: 1 }) in a comment is not code
"#;
    let project = Project::with_files(&[
        ("wrangler.toml", "name = \"x\"\nmain = \"src/index.ts\"\n"),
        ("package.json", "{}"),
        ("src/index.ts", source),
        // Dependencies and declarations are not the Worker's code.
        (
            "node_modules/x/index.js",
            "kv.put(k, v, { expirationTtl: 1 });\n",
        ),
        ("src/env.d.ts", "declare const x: { expirationTtl: 1 };\n"),
    ]);
    let (code, findings) = doctor(&project);
    assert_eq!(code, 1, "{findings:#?}");
    let seen: Vec<(String, u64, String)> = findings
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["file"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("error".to_string(), 3, "src/index.ts".to_string()),
            ("warning".to_string(), 4, "src/index.ts".to_string()),
            ("warning".to_string(), 6, "src/index.ts".to_string()),
        ],
        "{findings:#?}"
    );
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("an expiration TTL of 30 s")
    );
    assert!(
        findings[1]["message"]
            .as_str()
            .unwrap()
            .contains("stops at the first 1000 keys")
    );
    assert!(
        findings[2]["message"]
            .as_str()
            .unwrap()
            .contains("a get and a put of \"hits\"")
    );
    // The fix names the command that generates the right primitive.
    assert!(
        findings[2]["fix"]
            .as_str()
            .unwrap()
            .starts_with("run `kvgen counter`")
    );
}

#[test]
fn rust_code_with_a_short_ttl_is_an_error() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let lib = project.read("src/lib.rs");
    project.write(
        "src/lib.rs",
        &format!("{lib}\npub async fn cache(kv: worker::kv::KvStore) -> worker::Result<()> {{\n    kv.put(\"k\", \"v\")?.expiration_ttl(30).execute().await?;\n    Ok(())\n}}\n"),
    );
    let lines = lib.lines().count();
    let (code, findings) = doctor(&project);
    assert_eq!(code, 1, "{findings:#?}");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["file"], "src/lib.rs");
    assert_eq!(findings[0]["line"], lines + 3);
}

#[test]
fn a_ratelimits_entry_wrangler_rejects_is_an_error() {
    let good = "[[ratelimits]]\nname = \"LIMITER\"\nnamespace_id = \"1001\"\nsimple = { limit = 100, period = 60 }\n";
    let project = worker(&format!("name = \"x\"\nmain = \"src/index.ts\"\n\n{good}"));
    let (code, findings) = doctor(&project);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    let project = worker(
        "name = \"x\"\nmain = \"src/index.ts\"\n\n[[ratelimits]]\nname = \"LIMITER\"\nnamespace_id = 1001\nsimple = { limit = 100, period = 30 }\n",
    );
    only(
        &project,
        "error",
        Some(5),
        "ratelimits LIMITER in the top level: wrangler rejects namespace_id 1001: a string of a positive integer, e.g. \"1001\"; simple.period: 10 or 60",
    );
}

#[test]
fn a_hostile_source_is_left_unread_with_a_warning() {
    let deep = format!(
        "const a = {}1{};\n",
        "(".repeat(200_000),
        ")".repeat(200_000)
    );
    let project = Project::with_files(&[
        ("wrangler.toml", "name = \"x\"\nmain = \"src/index.ts\"\n"),
        ("package.json", "{}"),
        ("src/index.ts", &deep),
    ]);
    only(
        &project,
        "warning",
        None,
        "brackets nest 200000 levels deep here",
    );
}
