//! `kvgen ratelimit`, `kvgen counter`, `kvgen config` (+ `config set`),
//! `kvgen prefs` and `kvgen cache --metrics` through the real binary: what
//! each adds to the Wrangler config and kvgen.toml, what it refuses (exit 2)
//! or finds in conflict (exit 1) with nothing written, the counter class's
//! export from the main module, and `kvgen sync` reproducing all of it.

mod common;

use common::{Project, assert_same_tree, snapshot};

const SAMPLE: &str = "examples/hello-worker";
const ENVS: &str = "tests/fixtures/projects/ts-toml-envs";

fn config_data(project: &Project, file: &str) -> serde_json::Value {
    let format = kvgen::config::Format::of(std::path::Path::new(file));
    kvgen::config::read(format, &project.read(file)).unwrap()
}

/// Runs `args` and asserts the exit code and that no file changed.
fn refused(project: &Project, args: &[&str], code: i32, words: &str) -> String {
    let before = snapshot(project.path());
    let run = project.kvgen(args);
    run.assert_code(code);
    let message = format!("{}{}", run.stdout, run.stderr);
    assert!(message.contains(words), "{args:?}: {message}");
    assert_same_tree(&before, &snapshot(project.path()), &format!("{args:?}"));
    message
}

#[test]
fn ratelimit_adds_its_binding_with_an_unused_namespace_id_and_says_why() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&[
        "ratelimit",
        "API_LIMITER",
        "--limit",
        "100",
        "--period",
        "60",
    ]);
    run.assert_code(0);
    assert!(run.stdout.contains("not KV"), "{}", run.stdout);
    assert!(
        run.stdout.contains("namespace_id \"1001\" of API_LIMITER"),
        "{}",
        run.stdout
    );
    project
        .kvgen(&[
            "ratelimit",
            "LOGIN_LIMITER",
            "--limit",
            "5",
            "--period",
            "10",
        ])
        .assert_code(0);
    let data = config_data(&project, "wrangler.jsonc");
    assert_eq!(
        data["ratelimits"],
        serde_json::json!([
            { "name": "API_LIMITER", "namespace_id": "1001", "simple": { "limit": 100, "period": 60 } },
            { "name": "LOGIN_LIMITER", "namespace_id": "1002", "simple": { "limit": 5, "period": 10 } },
        ])
    );
    let design = project.read("kvgen.toml");
    assert!(
        design.contains("[ratelimits.API_LIMITER]\nlimit = 100\nperiod = 60\n"),
        "{design}"
    );
    // The same run again changes nothing.
    project
        .kvgen(&[
            "ratelimit",
            "API_LIMITER",
            "--limit",
            "100",
            "--period",
            "60",
        ])
        .assert_code(0)
        .assert_all_identical();
    // Another limit for it is a conflict; --force writes it and keeps the id.
    refused(
        &project,
        &[
            "ratelimit",
            "API_LIMITER",
            "--limit",
            "50",
            "--period",
            "60",
        ],
        1,
        "rate limiter API_LIMITER has simple {\"limit\":100,\"period\":60}, not {\"limit\":50,\"period\":60}",
    );
    project
        .kvgen(&[
            "ratelimit",
            "API_LIMITER",
            "--limit",
            "50",
            "--period",
            "60",
            "--force",
        ])
        .assert_code(0);
    let data = config_data(&project, "wrangler.jsonc");
    assert_eq!(data["ratelimits"][0]["simple"]["limit"], 50);
    assert_eq!(data["ratelimits"][0]["namespace_id"], "1001");
}

#[test]
fn ratelimit_arguments_are_checked_before_anything_is_written() {
    let project = Project::copy(SAMPLE);
    refused(
        &project,
        &["ratelimit", "API", "--limit", "10", "--period", "30"],
        2,
        "--period \"30\": expected 10 or 60",
    );
    refused(
        &project,
        &["ratelimit", "API", "--limit", "0", "--period", "60"],
        2,
        "--limit \"0\": expected a whole number",
    );
    refused(
        &project,
        &["ratelimit", "my-limiter", "--limit", "1", "--period", "60"],
        2,
        "my-limiter",
    );
    refused(
        &project,
        &[
            "ratelimit",
            "API",
            "--limit",
            "1",
            "--period",
            "60",
            "--binding",
            "X",
        ],
        2,
        "a rate limiter's binding is its NAME",
    );
    // A hand-edited design is checked with its place.
    project.write("kvgen.toml", "[ratelimits.API]\nlimit = 10\nperiod = 30\n");
    refused(
        &project,
        &["sync"],
        2,
        "kvgen.toml:3:10: period: expected 10 or 60",
    );
    project.write("kvgen.toml", "[ratelimits.API]\nlimit = 10\n");
    refused(&project, &["sync"], 2, "ratelimits.API has no period");
    project.write(
        "kvgen.toml",
        "[ratelimits.API]\nlimit = 10\nperiod = 10\n\n[counters.API]\n",
    );
    refused(
        &project,
        &["sync"],
        2,
        "counters.API: ratelimits.API has that binding name",
    );
    // Names the generated Rust could not give a constant of its own.
    project.write(
        "kvgen.toml",
        "[ratelimits.apiLimiter]\nlimit = 10\nperiod = 10\n\n[ratelimits.API_LIMITER]\nlimit = 1\nperiod = 60\n",
    );
    refused(
        &project,
        &["sync"],
        2,
        "ratelimits.API_LIMITER: ratelimits.apiLimiter gets the same constant API_LIMITER",
    );
    std::fs::remove_file(project.path().join("kvgen.toml")).unwrap();
    refused(
        &project,
        &["ratelimit", "LIMITERS", "--limit", "1", "--period", "60"],
        2,
        "the generated Rust names a constant after the limiter",
    );
}

#[test]
fn ratelimits_go_into_each_environment_asked_for() {
    let project = Project::copy(ENVS);
    project
        .kvgen(&[
            "ratelimit",
            "API",
            "--limit",
            "10",
            "--period",
            "10",
            "--env",
            "staging,production",
        ])
        .assert_code(0);
    let data = config_data(&project, "wrangler.toml");
    assert!(data.get("ratelimits").is_none(), "{data}");
    // Each environment its own id: they would share counts otherwise.
    assert_eq!(
        data["env"]["staging"]["ratelimits"][0]["namespace_id"],
        "1001"
    );
    assert_eq!(
        data["env"]["production"]["ratelimits"][0]["namespace_id"],
        "1002"
    );
    let text = project.read("wrangler.toml");
    assert!(
        text.contains("[[env.staging.ratelimits]]\nname = \"API\"\nnamespace_id = \"1001\"\nsimple = { limit = 10, period = 10 }\n"),
        "{text}"
    );
    assert!(text.starts_with("#:schema node_modules/wrangler/config-schema.json\n"));
    let design = project.read("kvgen.toml");
    assert!(
        design.contains("envs = [\"staging\", \"production\"]\ntop_level = false"),
        "{design}"
    );
}

#[test]
fn counter_adds_the_binding_the_migration_and_the_export_once() {
    let project = Project::copy(SAMPLE);
    let index = project.read("src/index.ts");
    let run = project.kvgen(&["counter"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("why a Durable Object and not KV"),
        "{}",
        run.stdout
    );
    assert!(
        run.statuses()
            .contains(&("update".to_string(), "src/index.ts".to_string())),
        "{}",
        run.stdout
    );
    // One line added, in the project's style (single quotes).
    assert_eq!(
        project.read("src/index.ts"),
        format!("{index}export {{ Counter }} from './kv/counter';\n")
    );
    let data = config_data(&project, "wrangler.jsonc");
    assert_eq!(
        data["durable_objects"]["bindings"],
        serde_json::json!([{ "name": "COUNTERS", "class_name": "Counter" }])
    );
    assert_eq!(
        data["migrations"],
        serde_json::json!([{ "tag": "v1", "new_sqlite_classes": ["Counter"] }])
    );
    project
        .kvgen(&["counter"])
        .assert_code(0)
        .assert_all_identical();
    // A second binding of the class: no second migration.
    project
        .kvgen(&["counter", "--binding", "HITS"])
        .assert_code(0);
    let data = config_data(&project, "wrangler.jsonc");
    assert_eq!(data["migrations"].as_array().unwrap().len(), 1);
    assert_eq!(data["durable_objects"]["bindings"][1]["name"], "HITS");
    assert_eq!(project.read("src/index.ts").matches("Counter").count(), 1);
}

#[test]
fn an_existing_migration_is_never_edited_and_the_next_tag_is_new() {
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.toml",
            "name = \"w\"\nmain = \"src/index.ts\"\ncompatibility_date = \"2025-01-01\"\n\n[[migrations]]\ntag = \"v1\" # first\nnew_classes = [\"Room\"]\n",
        ),
        (
            "src/index.ts",
            "export default { fetch() { return new Response(); } };\n",
        ),
    ]);
    project.kvgen(&["counter"]).assert_code(0);
    let text = project.read("wrangler.toml");
    assert!(
        text.contains("[[migrations]]\ntag = \"v1\" # first\nnew_classes = [\"Room\"]\n\n[[migrations]]\ntag = \"v2\"\nnew_sqlite_classes = [\"Counter\"]\n"),
        "{text}"
    );
}

#[test]
fn a_class_of_that_name_the_worker_has_is_a_conflict() {
    // The Worker's own Counter, bound as COUNTER.
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.toml",
            "name = \"w\"\nmain = \"src/index.ts\"\ncompatibility_date = \"2025-01-01\"\n\n[[durable_objects.bindings]]\nname = \"COUNTER\"\nclass_name = \"Counter\"\n",
        ),
        (
            "src/index.ts",
            "export class Counter {}\nexport default {};\n",
        ),
    ]);
    refused(&project, &["counter"], 1, "this Worker's own class Counter");
    // A class created with the key-value backend cannot become SQLite.
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.toml",
            "name = \"w\"\nmain = \"src/index.ts\"\ncompatibility_date = \"2025-01-01\"\n\n[[migrations]]\ntag = \"v1\"\nnew_classes = [\"Counter\"]\n",
        ),
        ("src/index.ts", "export default {};\n"),
    ]);
    refused(
        &project,
        &["counter"],
        1,
        "migration v1 creates the Durable Object class Counter with the key-value storage backend",
    );
}

#[test]
fn an_entry_kvgen_cannot_append_to_gets_the_line_printed() {
    // A service worker: no ES module syntax.
    let source =
        "addEventListener('fetch', (event) => {\n  event.respondWith(new Response('hi'));\n});\n";
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.toml",
            "name = \"w\"\nmain = \"src/index.js\"\ncompatibility_date = \"2025-01-01\"\n",
        ),
        ("src/index.js", source),
    ]);
    let run = project.kvgen(&["counter"]);
    run.assert_code(0);
    assert_eq!(project.read("src/index.js"), source);
    assert!(
        run.stdout
            .contains("add `export { Counter } from './kv/counter.js';` to src/index.js"),
        "{}",
        run.stdout
    );
    // An old compatibility date: RPC to the class needs a newer one.
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.toml",
            "name = \"w\"\nmain = \"src/index.ts\"\ncompatibility_date = \"2023-05-01\"\n",
        ),
        ("src/index.ts", "export default {};\r\n"),
    ]);
    let run = project.kvgen(&["counter"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("needs compatibility_date 2024-04-03"),
        "{}",
        run.stdout
    );
    // The file's CRLF line ending, for the added line too.
    assert_eq!(
        project.read("src/index.ts"),
        "export default {};\r\nexport { Counter } from \"./kv/counter\";\r\n"
    );
}

#[test]
fn a_config_declaring_exports_gets_no_migration() {
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.jsonc",
            "{\n  \"name\": \"w\",\n  \"main\": \"src/index.ts\",\n  \"compatibility_date\": \"2026-07-01\",\n  \"exports\": { \"Room\": { \"type\": \"durable-object\", \"storage\": \"sqlite\" } }\n}\n",
        ),
        ("src/index.ts", "export default {};\n"),
    ]);
    let run = project.kvgen(&["counter"]);
    run.assert_code(0);
    let data = config_data(&project, "wrangler.jsonc");
    assert!(data.get("migrations").is_none(), "{data}");
    assert_eq!(
        data["durable_objects"]["bindings"][0]["class_name"],
        "Counter"
    );
    assert!(
        run.stdout.contains("declare the class in `exports`"),
        "{}",
        run.stdout
    );
}

#[test]
fn config_set_prints_the_command_and_refuses_what_config_get_could_not_read() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&[
        "config",
        "set",
        "checkout",
        "--value",
        " {\"currency\":\"EUR\",\"max\":20} ",
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "npx wrangler kv key put --binding CONFIG \"config:checkout\" '{\"currency\":\"EUR\",\"max\":20}' --remote"
        ),
        "{}",
        run.stdout
    );
    refused(
        &project,
        &["config", "set", "checkout", "--value", "[1,2]"],
        2,
        "a configuration is a JSON object",
    );
    refused(
        &project,
        &["config", "set", "checkout", "--value", "{nope"],
        2,
        "--value: not JSON",
    );
    refused(
        &project,
        &["config", "set", "bad name", "--value", "{}"],
        2,
        "the configuration name",
    );
    let run = project.kvgen(&[
        "--json",
        "config",
        "set",
        "x",
        "--value",
        "{\"b\":1,\"a\":2}",
    ]);
    run.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["config"], "x");
    assert_eq!(report["key"], "config:x");
    assert_eq!(report["value"], serde_json::json!({"a": 2, "b": 1}));
    // The command stores the value as given, field order kept.
    assert!(
        report["wrangler"][0]
            .as_str()
            .unwrap()
            .contains("'{\"b\":1,\"a\":2}'"),
        "{}",
        run.stdout
    );
}

#[test]
fn config_and_prefs_are_kv_namespaces_of_the_design() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["config"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("kvgen config set app"),
        "{}",
        run.stdout
    );
    project.kvgen(&["prefs"]).assert_code(0);
    let design = project.read("kvgen.toml");
    assert!(
        design.contains("[namespaces.CONFIG]\ntitle = \"config\"\npurpose = \"config\"\nmodules = [\"config\"]\n"),
        "{design}"
    );
    assert!(
        design.contains(
            "[namespaces.PREFS]\ntitle = \"prefs\"\npurpose = \"data\"\nmodules = [\"prefs\"]\n"
        ),
        "{design}"
    );
    assert!(project.path().join("src/kv/config.ts").is_file());
    assert!(project.path().join("src/kv/prefs.ts").is_file());
    let data = config_data(&project, "wrangler.jsonc");
    let bindings: Vec<&str> = data["kv_namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["binding"].as_str().unwrap())
        .collect();
    assert_eq!(bindings, ["CONFIG", "PREFS"]);
}

#[test]
fn cache_metrics_adds_the_dataset_and_the_option_and_prints_the_query() {
    let project = Project::copy(SAMPLE);
    let run = project.kvgen(&["cache", "--metrics", "kvgen_cache"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "SUM(IF(blob3 = 'hit', _sample_interval, 0)) / SUM(_sample_interval) AS hit_rate"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("FROM kvgen_cache"), "{}", run.stdout);
    let data = config_data(&project, "wrangler.jsonc");
    assert_eq!(
        data["analytics_engine_datasets"],
        serde_json::json!([{ "binding": "KV_METRICS", "dataset": "kvgen_cache" }])
    );
    assert!(
        project
            .read("kvgen.toml")
            .contains("metrics = \"kvgen_cache\"\n")
    );
    assert!(project.read("src/kv/cache-aside.ts").contains("metrics"));
    assert!(project.path().join("src/kv/metrics.ts").is_file());
    // Without metrics, the cache modules are as they were.
    let plain = Project::copy(SAMPLE);
    plain.kvgen(&["cache"]).assert_code(0);
    assert!(!plain.read("src/kv/cache-aside.ts").contains("metrics"));
    refused(
        &plain,
        &["cache", "--metrics", "kv-cache"],
        2,
        "--metrics: dataset \"kv-cache\"",
    );
    refused(
        &plain,
        &["cache", "warm", "--metrics", "kvgen_cache"],
        2,
        "add `aside` or `swr`",
    );
}

#[test]
fn sync_reproduces_every_binding_the_commands_added() {
    let project = Project::copy(ENVS);
    let original = project.read("wrangler.toml");
    let commands: &[&[&str]] = &[
        &[
            "ratelimit",
            "API",
            "--limit",
            "10",
            "--period",
            "60",
            "--env",
            "staging",
        ],
        &["counter", "--env", "staging"],
        &["config", "--env", "staging"],
        &["prefs"],
        &["cache", "aside", "--metrics", "kv_cache", "--all-envs"],
    ];
    for args in commands {
        project.kvgen(args).assert_code(0);
    }
    let edited = project.read("wrangler.toml");
    let index = project.read("src/index.ts");
    project.write("wrangler.toml", &original);
    project.kvgen(&["sync"]).assert_code(0);
    assert_eq!(
        config_data(&project, "wrangler.toml"),
        kvgen::config::read(kvgen::config::Format::Toml, &edited).unwrap()
    );
    assert_eq!(project.read("src/index.ts"), index);
    project.kvgen(&["sync", "--check"]).assert_code(0);
}

#[test]
fn a_counter_class_the_worker_exports_itself_is_a_conflict() {
    let config = "name = \"w\"\nmain = \"src/index.ts\"\ncompatibility_date = \"2025-01-01\"\n";
    for (entry, words) in [
        (
            "import { DurableObject } from \"cloudflare:workers\";\nexport class Counter extends DurableObject {}\nexport default {};\n",
            "exports its own Counter",
        ),
        (
            "export { Counter } from \"./do\";\nexport default {};\n",
            "exports Counter from \"./do\"",
        ),
    ] {
        let project = Project::with_files(&[
            ("package.json", "{}"),
            ("wrangler.toml", config),
            ("src/index.ts", entry),
        ]);
        refused(&project, &["counter"], 1, words);
    }
    // kvgen's class exported another way: nothing to add.
    let entry =
        "import { Counter } from \"./kv/counter.js\";\nexport { Counter };\nexport default {};\n";
    let project = Project::with_files(&[
        ("package.json", "{}"),
        ("wrangler.toml", config),
        ("src/index.ts", entry),
    ]);
    project.kvgen(&["counter"]).assert_code(0);
    assert_eq!(project.read("src/index.ts"), entry);
    // A key-value Counter renamed from another class is key-value still.
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.toml",
            &format!(
                "{config}\n[[migrations]]\ntag = \"v1\"\nnew_classes = [\"Old\"]\n\n[[migrations]]\ntag = \"v2\"\nrenamed_classes = [{{ from = \"Old\", to = \"Counter\" }}]\n"
            ),
        ),
        ("src/index.ts", "export default {};\n"),
    ]);
    let message = refused(
        &project,
        &["counter", "--force"],
        1,
        "key-value storage backend",
    );
    assert!(!message.contains("--force to overwrite"), "{message}");
}

#[test]
fn a_binding_name_another_binding_has_is_refused() {
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.toml",
            "name = \"w\"\nmain = \"src/index.ts\"\ncompatibility_date = \"2025-01-01\"\n\n[[r2_buckets]]\nbinding = \"FILES\"\nbucket_name = \"f\"\n\n[vars]\nMODE = \"x\"\n",
        ),
        ("src/index.ts", "export default {};\n"),
    ]);
    refused(
        &project,
        &["ratelimit", "FILES", "--limit", "1", "--period", "10"],
        2,
        "FILES is the name of a binding in `r2_buckets` already",
    );
    refused(
        &project,
        &["counter", "--binding", "MODE"],
        2,
        "in `vars` already",
    );
    refused(
        &project,
        &["config", "--binding", "FILES"],
        2,
        "in `r2_buckets` already",
    );
}

#[test]
fn a_rate_limiter_written_with_a_table_of_its_own_is_read_as_it_means() {
    let project = Project::with_files(&[
        ("package.json", "{}"),
        (
            "wrangler.toml",
            "name = \"w\"\nmain = \"src/index.ts\"\ncompatibility_date = \"2025-01-01\"\n\n[[ratelimits]]\nname = \"RL\"\nnamespace_id = \"7\"\n\n[ratelimits.simple]\nlimit = 3\nperiod = 10\n",
        ),
        ("src/index.ts", "export default {};\n"),
    ]);
    let before = project.read("wrangler.toml");
    project
        .kvgen(&["ratelimit", "RL", "--limit", "3", "--period", "10"])
        .assert_code(0);
    assert_eq!(project.read("wrangler.toml"), before);
    refused(
        &project,
        &[
            "ratelimit",
            "RL",
            "--limit",
            "4",
            "--period",
            "10",
            "--force",
        ],
        2,
        "`simple` of rate limiter RL is written as a table of its own",
    );
}

#[test]
fn a_limiter_with_another_period_than_the_default_passes_its_own() {
    let project = Project::copy(SAMPLE);
    project
        .kvgen(&["ratelimit", "SLOW", "--limit", "5", "--period", "60"])
        .assert_code(0);
    let run = project.kvgen(&["ratelimit", "FAST", "--limit", "5", "--period", "10"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("new RateLimiter(env.FAST, { period: LIMITS.FAST.period })"),
        "{}",
        run.stdout
    );
    assert!(
        project
            .read("src/kv/ratelimit.ts")
            .contains("FAST: { limit: 5, period: 10 }")
    );
}
