//! End to end: the code kvgen generates, proven in the tools a Workers
//! developer uses. For each fixture Worker this copies it to a temporary
//! folder, runs the real `kvgen` binary, and then:
//!
//! - TypeScript: `wrangler types` and `wrangler deploy --dry-run` accept the
//!   edited config; `tsc --noEmit` (strict) passes; `prettier --check` passes
//!   on the generated files under the fixture's own prettier config; and the
//!   behaviour tests in `tests/e2e/test/` run in workerd (vitest with the
//!   `cloudflareTest` plugin, the KV namespace from the edited config).
//! - Rust: `cargo check`, `cargo clippy -D warnings`, `cargo fmt --check` and
//!   the generated unit tests on the host, and check + clippy for
//!   `wasm32-unknown-unknown` when that target can be installed.
//!
//! Needs Node.js 20+ and npm; `tests/e2e/node_modules` is installed with
//! `npm ci` when missing (`.ci/run` does it up front). Set
//! `KVGEN_SKIP_E2E=1` to skip these tests on purpose in quick local loops;
//! CI never sets it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::node::*;

/// Every command kvgen has, as the end-to-end tests run it. The behaviour
/// tests use the bindings these add: E2E_KV, CACHE, FLAGS, SESSIONS, the
/// rate limiter E2E_LIMITER, the Durable Object binding COUNTERS (its class
/// exported from the Worker's src/index.ts by `kvgen counter`), CONFIG,
/// PREFS and the Analytics Engine binding KV_METRICS.
const COMMANDS: &[&[&str]] = &[
    &["create", "e2e-kv"],
    &["cache"],
    &["cache", "warm", "--cron", "*/5 * * * *"],
    &["flags"],
    &["session"],
    &["bulk", "--binding", "E2E_KV"],
    &["ratelimit", "E2E_LIMITER", "--limit", "3", "--period", "10"],
    &["counter"],
    &["config"],
    &["prefs"],
    &["cache", "--metrics", "kvgen_cache"],
];

/// The commands of the first wave, which work on every `worker` kvgen
/// supports; the rest need worker 0.8.
const FIRST_WAVE: usize = 6;

/// What `wrangler types` writes for each binding the commands add.
const TYPED_BINDINGS: &[&str] = &[
    "E2E_KV: KVNamespace",
    "CACHE: KVNamespace",
    "FLAGS: KVNamespace",
    "SESSIONS: KVNamespace",
    "CONFIG: KVNamespace",
    "PREFS: KVNamespace",
    "E2E_LIMITER: RateLimit",
    "COUNTERS: DurableObjectNamespace",
    "KV_METRICS: AnalyticsEngineDataset",
];

/// Asserts that a generating command's report has only `identical` files.
fn assert_unchanged(args: &[&str], report: &str) {
    let statuses: Vec<&str> = report
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(
        !statuses.is_empty(),
        "no status lines from {args:?}:\n{report}"
    );
    assert!(
        statuses
            .iter()
            .all(|l| l.trim_start().starts_with("identical")),
        "second run of {args:?}:\n{report}"
    );
}

/// Appends the typed keys of tests/fixtures/keys/e2e-design.toml and the
/// `[types]` of tests/fixtures/keys/schema-vectors.json to the project's
/// kvgen.toml, then runs `kvgen sync` twice: the first writes the
/// `schema` and `namespaces` modules into `modules`, the second changes
/// nothing.
fn add_typed_keys(project: &Path) {
    add_typed_keys_in(project, "src/kv", "ts");
}

fn add_typed_keys_in(project: &Path, modules: &str, ext: &str) {
    let design =
        std::fs::read_to_string(repo().join("tests/fixtures/keys/e2e-design.toml")).unwrap();
    let types = common::vector_types_toml(&common::schema_vectors());
    let file = project.join("kvgen.toml");
    let mut toml = std::fs::read_to_string(&file).unwrap();
    toml.push('\n');
    toml.push_str(&design);
    toml.push_str(&types);
    std::fs::write(&file, toml).unwrap();
    let first = kvgen(project, &["sync"]);
    for module in ["schema", "namespaces"] {
        let module = format!("{modules}/{module}.{ext}");
        assert!(
            first
                .lines()
                .any(|l| l.split_whitespace().eq(["create", module.as_str()])),
            "kvgen sync did not create {module}:\n{first}"
        );
    }
    let again = kvgen(project, &["sync"]);
    assert_unchanged(&["sync"], &again);
}

/// The e2e workspace's packages in the project, where its tsconfig and
/// wrangler look for them.
fn link_node_modules(project: &Path) {
    std::os::unix::fs::symlink(e2e_dir().join("node_modules"), project.join("node_modules"))
        .unwrap();
}

/// Every command (with `extra` arguments), each twice: the second run
/// changes nothing.
fn every_command_twice(project: &Path, extra: &[&str]) {
    for command in COMMANDS {
        let args = [*command, extra].concat();
        kvgen(project, &args);
        let again = kvgen(project, &args);
        assert_unchanged(&args, &again);
    }
}

struct TsFixture<'a> {
    path: &'a str,
    config: &'a str,
    env: Option<&'a str>,
    /// Whether `wrangler types` output is part of the fixture's tsconfig
    /// (create-cloudflare style) or the Env is hand-written.
    wrangler_types_in_tsconfig: bool,
}

fn typescript_worker(fixture: TsFixture<'_>) {
    node_workspace();
    let (_dir, project) = copy_fixture(fixture.path);
    link_node_modules(&project);
    let env_args: Vec<&str> = fixture.env.map(|e| vec!["--env", e]).unwrap_or_default();
    every_command_twice(&project, &env_args);
    // The typed keys of the design, from kvgen.toml.
    add_typed_keys(&project);

    // Wrangler accepts the edited config and sees the binding.
    let types_file = if fixture.wrangler_types_in_tsconfig {
        "worker-configuration.d.ts".to_string()
    } else {
        project
            .parent()
            .unwrap()
            .join("env.d.ts")
            .display()
            .to_string()
    };
    run(
        "wrangler types",
        tool("wrangler", &project)
            .args([
                "types",
                &types_file,
                "--include-runtime=false",
                "--config",
                fixture.config,
            ])
            .args(&env_args),
    );
    let types = std::fs::read_to_string(project.join(&types_file)).unwrap();
    for typed in TYPED_BINDINGS {
        assert!(types.contains(typed), "{typed} in wrangler types:\n{types}");
    }
    let out_dir = project.parent().unwrap().join("bundle");
    let deploy = run(
        "wrangler deploy --dry-run",
        tool("wrangler", &project)
            .args([
                "deploy",
                "--dry-run",
                "--outdir",
                out_dir.to_str().unwrap(),
                "--config",
                fixture.config,
            ])
            .args(&env_args),
    );
    let deploy = String::from_utf8_lossy(&deploy.stdout);
    assert!(
        [
            "env.E2E_KV",
            "env.CACHE",
            "env.FLAGS",
            "env.SESSIONS",
            "env.CONFIG",
            "env.PREFS",
            "env.E2E_LIMITER",
            "env.COUNTERS",
            "env.KV_METRICS",
        ]
        .iter()
        .all(|b| deploy.contains(b)),
        "{deploy}"
    );

    // The whole project type-checks with the generated modules in it.
    run(
        "tsc --noEmit",
        tool("tsc", &project).args(["--noEmit", "-p", "tsconfig.json"]),
    );

    // The generated files are formatted as the project's prettier wants.
    let generated: Vec<String> = std::fs::read_dir(project.join("src/kv"))
        .unwrap()
        .flatten()
        .map(|e| format!("src/kv/{}", e.file_name().to_string_lossy()))
        .collect();
    assert!(generated.len() >= 3, "{generated:?}");
    run(
        "prettier --check",
        tool("prettier", &project).arg("--check").args(&generated),
    );

    // The behaviour tests, in workerd.
    let mut vitest = tool("vitest", &e2e_dir());
    vitest
        .args(["run", "--reporter=dot"])
        .env("KVGEN_E2E_PROJECT", &project)
        .env("KVGEN_E2E_CONFIG", fixture.config);
    if let Some(env) = fixture.env {
        vitest.env("KVGEN_E2E_ENV", env);
    }
    run("vitest in workerd", &mut vitest);
}

#[test]
fn create_cloudflare_worker_with_jsonc() {
    if skipped() {
        return;
    }
    // The sample Worker of the README: create-cloudflare's layout, tabs,
    // comments, and its .prettierrc (single quotes, width 140).
    typescript_worker(TsFixture {
        path: "examples/hello-worker",
        config: "wrangler.jsonc",
        env: None,
        wrangler_types_in_tsconfig: true,
    });
}

#[test]
fn toml_worker_with_environments() {
    if skipped() {
        return;
    }
    // wrangler.toml with [env.staging] and [env.production], the binding
    // added to staging; two-space sources, no prettier config, a strict
    // tsconfig with every extra check on.
    typescript_worker(TsFixture {
        path: "tests/fixtures/projects/ts-toml-envs",
        config: "wrangler.toml",
        env: Some("staging"),
        wrangler_types_in_tsconfig: false,
    });
}

#[test]
fn javascript_worker() {
    if skipped() {
        return;
    }
    // A Worker written in JavaScript (no tsconfig, no typescript package):
    // every module comes out as JavaScript with JSDoc types.
    node_workspace();
    let (dir, project) = copy_fixture("tests/fixtures/projects/javascript-worker");
    link_node_modules(&project);
    every_command_twice(&project, &[]);
    add_typed_keys_in(&project, "src/kv", "js");
    let design = std::fs::read_to_string(project.join("kvgen.toml")).unwrap();
    assert!(design.contains("lang = \"js\""), "{design}");
    let mut modules: Vec<String> = std::fs::read_dir(project.join("src/kv"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    modules.sort();
    assert!(
        modules.iter().all(|m| m.ends_with(".js")),
        "only JavaScript modules: {modules:?}"
    );
    assert!(modules.len() >= 18, "{modules:?}");
    let main = std::fs::read_to_string(project.join("src/index.js")).unwrap();
    assert!(
        main.contains("export { Counter } from \"./kv/counter.js\";"),
        "{main}"
    );

    // tsc --checkJs, strict, over the generated modules: the JSDoc types are
    // complete and right, on TypeScript 5.9 and 5.0.
    for (tsc, lib) in [("tsc", "es2024"), ("tsc-5.0", "es2022")] {
        let config = dir.path().join(format!("check-{tsc}.json"));
        let settings = serde_json::json!({
            "compilerOptions": {
                "allowJs": true,
                "checkJs": true,
                "strict": true,
                "noEmit": true,
                "skipLibCheck": true,
                "target": "es2022",
                "module": "es2022",
                "moduleResolution": "bundler",
                "lib": [lib],
                "types": ["@cloudflare/workers-types"],
                "typeRoots": [project.join("node_modules/@types"), project.join("node_modules")],
            },
            "include": [project.join("src/kv/*.js")],
        });
        std::fs::write(&config, settings.to_string()).unwrap();
        run(
            &format!("{tsc} --checkJs"),
            tool(tsc, &project).args(["-p", config.to_str().unwrap()]),
        );
    }

    // prettier (defaults: the fixture has no config) leaves them alone.
    let generated: Vec<String> = modules.iter().map(|m| format!("src/kv/{m}")).collect();
    run(
        "prettier --check",
        tool("prettier", &project).arg("--check").args(&generated),
    );

    // wrangler bundles every module with the Worker: an entry that imports
    // them all (and exports them, so none is left out as unused).
    let entry = project.join("src/all.js");
    let mut all = String::new();
    for (i, m) in modules.iter().enumerate() {
        all.push_str(&format!("import * as m{i} from \"./kv/{m}\";\n"));
    }
    let names: Vec<String> = (0..modules.len()).map(|i| format!("m{i}")).collect();
    all.push_str(&format!(
        "export const modules = [{}];\nexport * from \"./index.js\";\nexport {{ default }} from \"./index.js\";\n",
        names.join(", ")
    ));
    std::fs::write(&entry, all).unwrap();
    let out_dir = dir.path().join("bundle");
    let deploy = run(
        "wrangler deploy --dry-run",
        tool("wrangler", &project).args([
            "deploy",
            "--dry-run",
            "--outdir",
            out_dir.to_str().unwrap(),
            "--config",
            "wrangler.toml",
            "src/all.js",
        ]),
    );
    let deploy = String::from_utf8_lossy(&deploy.stdout);
    assert!(
        [
            "env.E2E_KV",
            "env.COUNTERS",
            "env.E2E_LIMITER",
            "env.KV_METRICS"
        ]
        .iter()
        .all(|b| deploy.contains(b)),
        "{deploy}"
    );
    let bundle = std::fs::read_to_string(out_dir.join("all.js")).unwrap();
    for marker in [
        "INSERT INTO counters",
        "SessionStore",
        "staleWhileRevalidate",
    ] {
        assert!(bundle.contains(marker), "{marker} in the bundle");
    }
    std::fs::remove_file(&entry).unwrap();

    // The behaviour tests, in workerd, against the JavaScript modules.
    let mut vitest = tool("vitest", &e2e_dir());
    vitest
        .args(["run", "--reporter=dot"])
        .env("KVGEN_E2E_PROJECT", &project)
        .env("KVGEN_E2E_CONFIG", "wrangler.toml")
        .env("KVGEN_E2E_MAIN", "src/index.js");
    run("vitest in workerd", &mut vitest);
}

/// Runs the Wrangler command kvgen printed, against local storage.
fn printed_wrangler(project: &Path, step: &str) {
    let args: Vec<&str> = step
        .strip_prefix("npx wrangler ")
        .unwrap_or_else(|| panic!("not a wrangler command: {step}"))
        .split(' ')
        .map(|word| if word == "--remote" { "--local" } else { word })
        .collect();
    let mut command = tool("wrangler", project);
    command.args(&args);
    if args[2] == "delete" {
        command.arg("--force");
    }
    run(step, &mut command);
}

/// Reads a key from local storage with `wrangler kv key get`.
fn wrangler_get(project: &Path, key: &str) -> Vec<u8> {
    let output = run(
        &format!("wrangler kv key get {key}"),
        tool("wrangler", project).args(["kv", "key", "get", key, "--binding", "E2E_KV", "--local"]),
    );
    output.stdout
}

/// The keys in local storage, with `wrangler kv key list`.
fn wrangler_list(project: &Path) -> Vec<serde_json::Value> {
    let output = run(
        "wrangler kv key list",
        tool("wrangler", project).args(["kv", "key", "list", "--binding", "E2E_KV", "--local"]),
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&output)))
}

#[test]
fn wrangler_uploads_the_bulk_files_as_they_are_meant() {
    if skipped() {
        return;
    }
    node_workspace();
    let (_dir, project) = copy_fixture("examples/hello-worker");
    kvgen(&project, &["create", "e2e-kv"]);
    // CSV with commas, quotes, a newline and non-ASCII text; base64 values;
    // NDJSON with a JSON value, metadata and a TTL. (Binary values are not
    // round-tripped here: local `wrangler kv bulk put` decodes base64 values
    // to a UTF-8 string, which mangles other bytes; Cloudflare's API takes
    // the bytes. tests/bulk.rs checks their base64 encoding.)
    std::fs::write(
        project.join("data.csv"),
        "key,value\n\"a,b\",\"say \"\"hi\"\"\"\nmulti,\"one\ntwo\"\nemoji,✓ 𝄞\n",
    )
    .unwrap();
    std::fs::write(project.join("b64.csv"), "key,value\nbin,4pyTIGhp\n").unwrap();
    std::fs::write(
        project.join("more.ndjson"),
        "{\"key\":\"json\",\"value\":{\"n\":1},\"metadata\":{\"v\":2},\"expiration_ttl\":3600}\n",
    )
    .unwrap();
    let mut steps = Vec::new();
    for (input, base64) in [
        ("data.csv", false),
        ("b64.csv", true),
        ("more.ndjson", false),
    ] {
        let mut args = vec!["bulk", "put", input, "--prefix", "t:", "--json"];
        if base64 {
            args.push("--base64");
        }
        let out = kvgen(&project, &args);
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        for step in report["next_steps"].as_array().unwrap() {
            steps.push(step.as_str().unwrap().to_string());
        }
    }
    assert_eq!(steps.len(), 3, "{steps:?}");
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for step in &steps {
        printed_wrangler(&project, step);
    }
    assert_eq!(wrangler_get(&project, "t:a,b"), b"say \"hi\"");
    assert_eq!(wrangler_get(&project, "t:multi"), b"one\ntwo");
    assert_eq!(wrangler_get(&project, "t:emoji"), "✓ 𝄞".as_bytes());
    assert_eq!(wrangler_get(&project, "t:bin"), "✓ hi".as_bytes());
    assert_eq!(wrangler_get(&project, "t:json"), b"{\"n\":1}");
    let listed = wrangler_list(&project);
    let json = listed.iter().find(|k| k["name"] == "t:json").unwrap();
    assert_eq!(json["metadata"], serde_json::json!({"v": 2}));
    let expiration = json["expiration"].as_u64().unwrap();
    assert!(
        (started + 3500..started + 3700).contains(&expiration),
        "{expiration} vs {started}"
    );
    assert_eq!(listed.len(), 5, "{listed:?}");

    // The same files, as deletes: every key is gone.
    let mut deletes = Vec::new();
    for input in ["data.csv", "b64.csv", "more.ndjson"] {
        let out = kvgen(
            &project,
            &["bulk", "delete", input, "--prefix", "t:", "--json"],
        );
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        for step in report["next_steps"].as_array().unwrap() {
            deletes.push(step.as_str().unwrap().to_string());
        }
    }
    for step in &deletes {
        printed_wrangler(&project, step);
    }
    assert_eq!(wrangler_list(&project), Vec::<serde_json::Value>::new());
}

#[test]
fn prettier_leaves_generated_code_alone_under_common_configs() {
    if skipped() {
        return;
    }
    node_workspace();
    // kvgen follows indentation, quotes, semicolons, trailing commas, arrow
    // parentheses and bracket spacing; the rest must hold at any print width
    // from 80, since prettier would re-join or re-break lines otherwise. Every
    // command's modules and the typed keys of the end-to-end design
    // (schema.ts, namespaces.ts), under each config.
    let configs = [
        r#"{ "printWidth": 80, "useTabs": false, "tabWidth": 2, "singleQuote": false }"#,
        r#"{ "printWidth": 80, "useTabs": true, "tabWidth": 4, "singleQuote": true }"#,
        r#"{ "printWidth": 100, "useTabs": false, "tabWidth": 4, "semi": false }"#,
        r#"{ "printWidth": 120, "useTabs": true, "trailingComma": "none", "arrowParens": "avoid" }"#,
        r#"{ "printWidth": 140, "useTabs": true, "singleQuote": true, "trailingComma": "es5" }"#,
        r#"{ "printWidth": 140, "singleQuote": true, "trailingComma": "all", "bracketSpacing": false }"#,
        r#"{ "printWidth": 200, "tabWidth": 4, "singleQuote": true, "quoteProps": "consistent" }"#,
        // The shape of a common prettier config with no semicolons.
        r#"{ "semi": false, "singleQuote": true, "trailingComma": "none", "arrowParens": "avoid", "bracketSpacing": false, "quoteProps": "consistent", "tabWidth": 4 }"#,
    ];
    for config in configs {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            (".prettierrc", config),
            ("package.json", "{}"),
            (
                "wrangler.jsonc",
                r#"{ "name": "x", "main": "src/index.ts" }"#,
            ),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        for command in COMMANDS {
            kvgen(dir.path(), command);
        }
        add_typed_keys(dir.path());
        run(
            &format!("prettier --check under {config}"),
            tool("prettier", dir.path()).args(["--check", "src/kv"]),
        );
    }
    // The same in YAML, the other common form of `.prettierrc`.
    let dir = tempfile::tempdir().unwrap();
    let yaml = "semi: false\nsingleQuote: true\narrowParens: avoid\nbracketSpacing: false\n";
    for (name, text) in [
        (".prettierrc", yaml),
        ("package.json", "{}"),
        ("wrangler.toml", "name = \"x\"\nmain = \"src/index.ts\"\n"),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    for command in COMMANDS {
        kvgen(dir.path(), command);
    }
    add_typed_keys(dir.path());
    run(
        "prettier --check under a YAML .prettierrc",
        tool("prettier", dir.path()).args(["--check", "src/kv"]),
    );
}

/// One target folder shared by every run, so repeated runs are warm.
fn rust_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-worker-target")
}

fn cargo(project: &Path, args: &[&str]) {
    cargo_in(project, &rust_target_dir(), args);
}

/// Appends `test` to the fixture's crate root.
fn append_to_crate_root(project: &Path, test: &str) {
    let lib = project.join("src/lib.rs");
    let mut source = std::fs::read_to_string(&lib).unwrap();
    source.push_str(test);
    std::fs::write(lib, source).unwrap();
}

/// Appends to the fixture's crate root a unit test that checks the
/// generated `kv::flags::bucket` against every vector of
/// tests/fixtures/flags/bucket-vectors.json.
fn add_bucket_vectors_test(project: &Path) {
    let vectors = repo().join("tests/fixtures/flags/bucket-vectors.json");
    let test = format!(
        r#"
#[cfg(test)]
mod bucket_vectors {{
    #[test]
    fn bucket_matches_the_shared_vectors() {{
        let data: serde_json::Value = serde_json::from_str(include_str!({path:?})).unwrap();
        let vectors = data["vectors"].as_array().unwrap();
        assert!(vectors.len() > 5000);
        for vector in vectors {{
            let user = vector["user"].as_str().unwrap();
            let flag = vector["flag"].as_str().unwrap();
            let expected = vector["bucket"].as_u64().unwrap();
            let actual = u64::from(crate::kv::flags::bucket(user, flag));
            assert_eq!(actual, expected, "bucket({{user:?}}, {{flag:?}})");
        }}
    }}
}}
"#,
        path = vectors.display().to_string()
    );
    append_to_crate_root(project, &test);
}

/// Appends to the fixture's crate root a unit test that reads every case
/// of mode "parse" of tests/fixtures/keys/schema-vectors.json through the
/// generated `kv::schema` types: accepted or refused as the vectors say,
/// what a read holds, and the key and JSON path of a refusal.
fn add_schema_vectors_test(project: &Path) {
    let vectors = repo().join("tests/fixtures/keys/schema-vectors.json");
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&vectors).unwrap()).unwrap();
    let arms: String = data["types"]
        .as_object()
        .unwrap()
        .keys()
        .map(|name| {
            format!(
                "            {name:?} => crate::kv::schema::{name}::parse(value, Some(KEY))\n                .map(|read| serde_json::to_value(read).unwrap()),\n"
            )
        })
        .collect();
    let parse_cases = data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("mode").is_none_or(|m| m == "parse"))
        .count();
    let test = format!(
        r#"
#[cfg(test)]
mod schema_vectors {{
    use serde_json::Value;

    const KEY: &str = "post:1";

    fn parse(ty: &str, value: &Value) -> Result<Value, crate::kv::schema::SchemaError> {{
        match ty {{
{arms}            other => panic!("no type {{other}} in the schema"),
        }}
    }}

    /// Equal JSON, numbers compared by value (an f64 field reads 1 as 1.0).
    fn same(a: &Value, b: &Value) -> bool {{
        match (a, b) {{
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {{
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
            }}
            (Value::Object(x), Value::Object(y)) => {{
                let present = |o: &serde_json::Map<String, Value>| {{
                    o.iter().filter(|(_, v)| !v.is_null()).count()
                }};
                present(x) == present(y)
                    && x.iter().all(|(k, v)| v.is_null() || y.get(k).is_some_and(|w| same(v, w)))
            }}
            _ => a == b,
        }}
    }}

    #[test]
    fn schema_matches_the_shared_vectors() {{
        let data: Value = serde_json::from_str(include_str!({path:?})).unwrap();
        let mut checked = 0;
        for (index, case) in data["cases"].as_array().unwrap().iter().enumerate() {{
            if case.get("mode").is_some_and(|m| m != "parse") {{
                continue;
            }}
            checked += 1;
            let ty = case["type"].as_str().unwrap();
            let result = parse(ty, &case["value"]);
            if case["valid"].as_bool().unwrap() {{
                let read = result.unwrap_or_else(|e| panic!("case {{index}}: refused: {{e}}"));
                assert!(same(&read, &case["read"]), "case {{index}}: read {{read}}");
            }} else {{
                let error = result.expect_err(&format!("case {{index}}: accepted"));
                assert_eq!(error.path, case["path"].as_str().unwrap(), "case {{index}}");
                assert_eq!(error.key.as_deref(), Some(KEY), "case {{index}}");
            }}
        }}
        assert_eq!(checked, {parse_cases});
    }}
}}
"#,
        path = vectors.display().to_string()
    );
    append_to_crate_root(project, &test);
}

/// True when wasm32-unknown-unknown is installed or can be installed now.
fn wasm32_available() -> bool {
    let installed = wasm32_installed;
    if installed() {
        return true;
    }
    let added = Command::new("timeout")
        .args(["120", "rustup", "target", "add", "wasm32-unknown-unknown"])
        .output()
        .is_ok_and(|o| o.status.success());
    added && installed()
}

/// `cargo check` and clippy for wasm32-unknown-unknown, when the target is
/// there or can be installed; otherwise a line saying they were skipped.
fn wasm32_checks(project: &Path) {
    if wasm32_available() {
        let wasm = ["--target", "wasm32-unknown-unknown"];
        cargo(project, &[&["check", "--quiet"][..], &wasm].concat());
        cargo(
            project,
            &[&["clippy", "--quiet"][..], &wasm, &["--", "-D", "warnings"]].concat(),
        );
    } else {
        announce(
            "e2e: wasm32-unknown-unknown could not be installed (rustup target add failed): \
             the wasm32 check of the generated Rust was skipped",
        );
    }
}

#[test]
fn workers_rs_crate() {
    if skipped() {
        return;
    }
    let (_dir, project) = copy_fixture("tests/fixtures/projects/rust-worker");
    for command in COMMANDS {
        kvgen(&project, command);
    }
    add_typed_keys_in(&project, "src/kv", "rs");
    cargo(&project, &["check", "--quiet"]);
    cargo(
        &project,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );
    cargo(&project, &["fmt", "--check"]);
    // `bucket` must agree with the shared vectors (computed independently
    // with Python's hashlib), like the TypeScript one does in workerd; the
    // schema readers accept and refuse what schema.ts does.
    add_bucket_vectors_test(&project);
    add_schema_vectors_test(&project);
    cargo(&project, &["test", "--quiet"]);
    // The other rendering of the modules: no default expiry.
    kvgen(&project, &["create", "e2e-kv", "--ttl", "none", "--force"]);
    kvgen(&project, &["cache", "--ttl", "none", "--force"]);
    cargo(
        &project,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );
    wasm32_checks(&project);
}

/// The compiler setups generated TypeScript must type-check under: lib
/// with and without DOM beside workers-types, and bundler or Node module
/// resolution (ESM, `"type": "module"`), each with `strict` and every extra
/// check.
const TS_SETUPS: &[(&str, &str, &str)] = &[
    // (lib, module, moduleResolution)
    (r#"["ESNext"]"#, "esnext", "bundler"),
    (r#"["ESNext", "DOM"]"#, "esnext", "bundler"),
    (r#"["ESNext"]"#, "node16", "node16"),
    (r#"["ESNext", "DOM"]"#, "node16", "node16"),
    (r#"["ESNext"]"#, "nodenext", "nodenext"),
    (r#"["ESNext", "DOM"]"#, "nodenext", "nodenext"),
];

/// A Worker whose tsconfig resolves modules with `resolution`, with every
/// command's modules and the typed keys of the end-to-end design generated
/// into it.
fn generated_worker(resolution: &str, module: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let package = if resolution == "bundler" {
        r#"{ "name": "w", "private": true }"#
    } else {
        r#"{ "name": "w", "private": true, "type": "module" }"#
    };
    let tsconfig = format!(
        r#"{{ "compilerOptions": {{ "module": "{module}", "moduleResolution": "{resolution}" }} }}"#
    );
    for (name, text) in [
        ("package.json", package),
        ("tsconfig.json", tsconfig.as_str()),
        (
            "wrangler.jsonc",
            r#"{ "name": "w", "main": "src/index.ts" }"#,
        ),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    for command in COMMANDS {
        kvgen(dir.path(), command);
    }
    add_typed_keys(dir.path());
    dir
}

/// Type-checks the generated modules of `worker` with the tsc at `tsc`
/// under `tsconfig` (written into a copy, with the e2e workspace's
/// node_modules). Returns the output of a failure.
fn type_check(worker: &Path, tsc: &Path, tsconfig: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&worker.join("src"), &dir.path().join("src"));
    std::fs::copy(worker.join("package.json"), dir.path().join("package.json")).unwrap();
    std::fs::write(dir.path().join("tsconfig.json"), tsconfig).unwrap();
    std::os::unix::fs::symlink(
        e2e_dir().join("node_modules"),
        dir.path().join("node_modules"),
    )
    .unwrap();
    let output = Command::new("node")
        .arg(tsc)
        .args(["-p", "tsconfig.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(show(&output))
    }
}

#[test]
fn generated_typescript_compiles_on_typescript_5_0_and_current_under_strict_setups() {
    if skipped() {
        return;
    }
    node_workspace();
    let bundler = generated_worker("bundler", "esnext");
    let node = generated_worker("nodenext", "nodenext");
    // Relative imports carry `.js` exactly where Node resolution needs it.
    let store = |w: &tempfile::TempDir| std::fs::read_to_string(w.path().join("src/kv/store.ts"));
    assert!(store(&bundler).unwrap().contains(r#"from "./keys";"#));
    assert!(store(&node).unwrap().contains(r#"from "./keys.js";"#));
    let namespaces =
        |w: &tempfile::TempDir| std::fs::read_to_string(w.path().join("src/kv/namespaces.ts"));
    assert!(
        namespaces(&bundler)
            .unwrap()
            .contains(r#"from "./schema";"#)
    );
    assert!(
        namespaces(&node)
            .unwrap()
            .contains(r#"from "./schema.js";"#)
    );

    let typescript = e2e_dir().join("node_modules/typescript/bin/tsc");
    let typescript_5_0 = e2e_dir().join("node_modules/typescript-5.0/bin/tsc");
    let mut runs = Vec::new();
    for (lib, module, resolution) in TS_SETUPS {
        for (tsc, version) in [(&typescript, "current"), (&typescript_5_0, "5.0")] {
            // isolatedDeclarations came in TypeScript 5.5: the current one
            // checks it, emitting declarations only.
            let emit = if version == "5.0" {
                r#""noEmit": true"#
            } else {
                r#""isolatedDeclarations": true, "declaration": true, "emitDeclarationOnly": true, "outDir": "out""#
            };
            let tsconfig = format!(
                r#"{{
                    "compilerOptions": {{
                        "target": "es2022", "lib": {lib}, "module": "{module}",
                        "moduleResolution": "{resolution}",
                        "types": ["@cloudflare/workers-types"], {emit},
                        "strict": true, "noUncheckedIndexedAccess": true,
                        "exactOptionalPropertyTypes": true, "noImplicitOverride": true,
                        "noPropertyAccessFromIndexSignature": true, "noUnusedLocals": true,
                        "noUnusedParameters": true, "noImplicitReturns": true,
                        "noFallthroughCasesInSwitch": true, "isolatedModules": true,
                        "skipLibCheck": true
                    }},
                    "include": ["src"]
                }}"#
            );
            let worker = if *resolution == "bundler" {
                &bundler
            } else {
                &node
            };
            runs.push((
                format!("tsc {version}, lib {lib}, module {module}"),
                worker.path().to_path_buf(),
                tsc.to_path_buf(),
                tsconfig,
            ));
        }
    }
    // Two at a time: each tsc is one busy core.
    let failures: Vec<String> = runs
        .chunks(2)
        .flat_map(|pair| {
            let handles: Vec<_> = pair
                .iter()
                .cloned()
                .map(|(what, worker, tsc, tsconfig)| {
                    std::thread::spawn(move || {
                        type_check(&worker, &tsc, &tsconfig)
                            .err()
                            .map(|e| format!("{what}: {e}"))
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A workers-rs crate at the oldest `worker` kvgen supports (0.5.0, kept by
/// its Cargo.lock with the wasm-bindgen 0.2.100 of its time), whose crate
/// root is `worker/lib.rs` (`[lib] path`): every command puts its modules
/// in `worker/kv/` and `mod kv;` in that root, and the code written for
/// `worker` 0.5 (no bulk get, no streamed reads, `Debug` written by hand
/// where a `KvStore` is held) passes check, clippy, fmt and its own unit
/// tests, on the host and for wasm32.
#[test]
fn workers_rs_crate_at_the_oldest_worker_with_its_own_crate_root() {
    if skipped() {
        return;
    }
    let (_dir, project) = copy_fixture("tests/fixtures/projects/rust-worker-oldest");
    for command in &COMMANDS[..FIRST_WAVE] {
        kvgen(&project, command);
    }
    // The second wave's modules are built on worker 0.8: refused, with the
    // reason, and nothing written.
    let before = std::fs::read_to_string(project.join("kvgen.toml")).unwrap();
    for command in &COMMANDS[FIRST_WAVE..] {
        let output = Command::new(assert_cmd::cargo::cargo_bin("kvgen"))
            .current_dir(&project)
            .args(*command)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command:?}: {}",
            show(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("workers-rs 0.8 or later"),
            "{command:?}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(project.join("kvgen.toml")).unwrap(),
        before
    );
    assert!(project.join("worker/kv/mod.rs").is_file());
    assert!(project.join("worker/kv/bulk.rs").is_file());
    assert!(!project.join("src").exists());
    let root = std::fs::read_to_string(project.join("worker/lib.rs")).unwrap();
    assert!(root.starts_with("mod kv;\n"), "{root}");
    let bulk = std::fs::read_to_string(project.join("worker/kv/bulk.rs")).unwrap();
    assert!(!bulk.contains("get_bulk"), "worker 0.5 has no bulk get");
    let store = std::fs::read_to_string(project.join("worker/kv/store.rs")).unwrap();
    assert!(
        store.contains("impl fmt::Debug for Store {"),
        "worker 0.5's KvStore has no Debug"
    );
    let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"worker\"\nversion = \"0.5.0\""));

    cargo(&project, &["check", "--quiet"]);
    // Cargo added what kvgen added to Cargo.toml and kept the rest.
    let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"worker\"\nversion = \"0.5.0\""));
    assert!(lock.contains("name = \"wasm-bindgen\"\nversion = \"0.2.100\""));
    cargo(
        &project,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );
    cargo(&project, &["fmt", "--check"]);
    cargo(&project, &["test", "--quiet"]);
    wasm32_checks(&project);
}
