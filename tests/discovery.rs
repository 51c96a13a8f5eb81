//! How kvgen finds its way in the repositories people have: the module
//! folder next to the Worker's code, environments, monorepos, runs from a
//! subfolder, what it says when there is no config, and the commands it
//! prints working as printed.

mod common;

use common::{Project, snapshot};

const JSONC_VITE: &str = r#"{
	// The Worker lives in worker/; src/ is the React app.
	"name": "vite-app",
	"main": "worker/index.ts",
	"compatibility_date": "2025-06-01",
	"assets": { "not_found_handling": "single-page-application" }
}
"#;

fn vite_app() -> Project {
    Project::with_files(&[
        ("wrangler.jsonc", JSONC_VITE),
        (
            "package.json",
            r#"{ "name": "vite-app", "type": "module" }"#,
        ),
        ("tsconfig.json", r#"{ "files": [], "references": [] }"#),
        ("src/main.tsx", "export const app = 1;\n"),
        (
            "worker/index.ts",
            "export default { fetch() { return new Response('ok'); } };\n",
        ),
    ])
}

fn paths(run: &common::Run) -> Vec<String> {
    run.statuses().into_iter().map(|(_, path)| path).collect()
}

/// The printed step that starts with `start`, without its comment.
fn printed_step<'a>(run: &'a common::Run, start: &str) -> &'a str {
    let step = run
        .stdout
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no `{start}` step:\n{}", run.stdout));
    step.split("   #").next().unwrap().trim()
}

/// Runs a printed `kvgen …` command as it is printed.
fn run_printed(project: &Project, command: &str) -> common::Run {
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    project.kvgen(&args)
}

#[test]
fn modules_go_next_to_the_workers_main_not_into_the_frontend() {
    let project = vite_app();
    let run = project.kvgen(&["create", "app-data"]);
    run.assert_code(0);
    assert_eq!(
        run.header(),
        "wrangler.jsonc: TypeScript Worker in ., modules in worker/kv"
    );
    assert_eq!(
        paths(&run),
        [
            "kvgen.lock",
            "kvgen.toml",
            "worker/kv/keys.ts",
            "worker/kv/limits.ts",
            "worker/kv/store.ts",
            "wrangler.jsonc"
        ]
    );
    assert!(!project.path().join("src/kv").exists());
    // --dir still decides when given.
    let run = project.kvgen(&["cache", "aside", "--dir", "worker/cache"]);
    run.assert_code(0);
    assert!(
        run.header().ends_with("modules in worker/cache"),
        "{}",
        run.stdout
    );
    assert!(project.path().join("worker/cache/cache-aside.ts").is_file());
}

#[test]
fn a_main_at_the_root_puts_modules_in_kv() {
    let project = Project::with_files(&[
        ("wrangler.toml", "name = \"x\"\nmain = \"./index.ts\"\n"),
        ("package.json", "{}"),
    ]);
    let run = project.kvgen(&["flags"]);
    run.assert_code(0);
    assert!(
        project.path().join("kv/flags.ts").is_file(),
        "{}",
        run.stdout
    );
}

#[test]
fn without_a_usable_main_kvgen_asks_for_dir_and_changes_nothing() {
    for (main, expected) in [
        (None, "no `main`"),
        (Some("dist/index.js"), "is in a build output (dist/)"),
        (
            Some("./.output/server/index.mjs"),
            "is in a build output (.output/)",
        ),
        (
            Some("apps/web/.svelte-kit/cloudflare/_worker.js"),
            "is in a build output (.svelte-kit/)",
        ),
        (
            Some("@tanstack/react-start/server-entry"),
            "is no path in the project (a package's entry",
        ),
        (Some("virtual:entry"), "is no path in the project"),
        (Some("../shared/index.ts"), "is outside the project"),
        (Some("/opt/worker/index.ts"), "is outside the project"),
    ] {
        let config = match main {
            Some(main) => format!("name = \"x\"\nmain = \"{main}\"\n"),
            None => "name = \"x\"\n[assets]\ndirectory = \"./public\"\n".to_string(),
        };
        let project = Project::with_files(&[("wrangler.toml", &config), ("package.json", "{}")]);
        let before = snapshot(project.path());
        let run = project.kvgen(&["create", "app-data"]);
        run.assert_code(2);
        assert!(run.stderr.contains(expected), "{main:?}: {}", run.stderr);
        assert!(run.stderr.contains("wrangler.toml"), "{}", run.stderr);
        assert!(run.stderr.contains("pass --dir FOLDER"), "{}", run.stderr);
        common::assert_same_tree(&before, &snapshot(project.path()), "");
        // With --dir the user decides.
        project
            .kvgen(&["create", "app-data", "--dir", "src/kv"])
            .assert_code(0);
        // No TypeScript in the project, and a JavaScript main: JavaScript.
        let store = match main {
            Some(main) if main.ends_with(".js") || main.ends_with(".mjs") => "src/kv/store.js",
            _ => "src/kv/store.ts",
        };
        assert!(project.path().join(store).is_file(), "{main:?}");
    }
}

#[test]
fn a_source_folder_named_like_a_build_output_is_still_sources() {
    let project = Project::with_files(&[
        (
            "wrangler.toml",
            "name = \"x\"\nmain = \"src/build/index.ts\"\n",
        ),
        ("package.json", "{}"),
    ]);
    let run = project.kvgen(&["create", "app-data"]);
    run.assert_code(0);
    assert!(
        run.header().ends_with("modules in src/build/kv"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_rust_worker_is_not_told_it_is_javascript() {
    let project = Project::copy("tests/fixtures/projects/rust-worker");
    let run = project.kvgen(&["create", "app-data", "--dry-run"]);
    run.assert_code(0);
    assert!(
        run.header().starts_with("wrangler.toml: Rust Worker"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("note: the Worker is JavaScript"),
        "{}",
        run.stdout
    );
}

#[test]
fn from_a_subfolder_paths_are_relative_to_where_kvgen_runs() {
    let project = vite_app();
    let run = project.kvgen(&["-C", "worker", "create", "app-data"]);
    run.assert_code(0);
    assert_eq!(
        run.header(),
        "../wrangler.jsonc: TypeScript Worker in .., modules in kv"
    );
    assert_eq!(
        paths(&run),
        [
            "../kvgen.lock",
            "../kvgen.toml",
            "kv/keys.ts",
            "kv/limits.ts",
            "kv/store.ts",
            "../wrangler.jsonc"
        ]
    );
    let json = project.kvgen(&["-C", "worker", "create", "app-data", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["config"], "../wrangler.jsonc");
    assert_eq!(report["root"], "..");
    assert_eq!(report["lang"], "ts");
    assert_eq!(report["module_dir"], "kv");
    assert_eq!(report["files"][2]["path"], "kv/keys.ts");
}

const MONOREPO_API: &str = "name = \"api\"\nmain = \"src/index.ts\"\n";

fn monorepo() -> Project {
    Project::with_files(&[
        (
            "package.json",
            r#"{ "name": "repo", "private": true, "workspaces": ["apps/*"] }"#,
        ),
        ("tsconfig.json", "{}"),
        ("apps/api/wrangler.toml", MONOREPO_API),
        ("apps/api/src/index.ts", "export default {};\n"),
        (
            "apps/web/wrangler.jsonc",
            r#"{ "name": "web", "main": "worker/index.ts" }"#,
        ),
        ("apps/web/worker/index.ts", "export default {};\n"),
        ("wrangler.example.toml", MONOREPO_API),
    ])
}

#[test]
fn a_monorepo_worker_is_typescript_by_its_workspace_root() {
    let project = monorepo();
    let run = project.kvgen(&["-C", "apps/api", "create", "app-data"]);
    run.assert_code(0);
    assert_eq!(
        run.header(),
        "wrangler.toml: TypeScript Worker in ., modules in src/kv"
    );
    let run = project.kvgen(&["--config", "apps/web/wrangler.jsonc", "flags"]);
    run.assert_code(0);
    assert_eq!(
        run.header(),
        "apps/web/wrangler.jsonc: TypeScript Worker in apps/web, modules in apps/web/worker/kv"
    );
    assert!(paths(&run).contains(&"apps/web/worker/kv/flags.ts".to_string()));
    // The printed kvgen command carries the config, and works as printed.
    let command = printed_step(&run, "kvgen flags set");
    assert!(
        command.ends_with("--config apps/web/wrangler.jsonc"),
        "{command}"
    );
    let printed = run_printed(&project, command);
    printed.assert_code(0);
    assert!(
        printed.stdout.contains("-c apps/web/wrangler.jsonc"),
        "{}",
        printed.stdout
    );
    // Wrangler commands carry it as -c.
    assert!(
        run.stdout
            .contains("npx wrangler kv namespace create flags -c apps/web/wrangler.jsonc"),
        "{}",
        run.stdout
    );
}

#[test]
fn no_config_names_the_examples_and_the_workers_below() {
    let project = monorepo();
    let before = snapshot(project.path());
    let run = project.kvgen(&["create", "app-data"]);
    run.assert_code(2);
    for expected in [
        "not a Worker project",
        "cp wrangler.example.toml wrangler.toml",
        "kvgen -C apps/api …   # apps/api/wrangler.toml",
        "kvgen -C apps/web …   # apps/web/wrangler.jsonc",
    ] {
        assert!(run.stderr.contains(expected), "{expected}:\n{}", run.stderr);
    }
    common::assert_same_tree(&before, &snapshot(project.path()), "");
}

#[test]
fn other_configs_next_to_the_chosen_one_are_named() {
    let project = Project::with_files(&[
        ("wrangler.toml", MONOREPO_API),
        ("wrangler.kv.toml", MONOREPO_API),
        ("wrangler.toml.example", MONOREPO_API),
        ("package.json", "{}"),
    ]);
    let run = project.kvgen(&["create", "app-data"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "note: wrangler.kv.toml is another Wrangler config next to wrangler.toml; kvgen used wrangler.toml (pass --config wrangler.kv.toml to use the other)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("note: wrangler.toml.example is an example Wrangler config"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_javascript_worker_gets_javascript_modules() {
    let files: &[(&str, &str)] = &[
        (
            "wrangler.jsonc",
            r#"{ "name": "js", "main": "src/index.js" }"#,
        ),
        ("package.json", r#"{ "name": "js" }"#),
        ("src/index.js", "export default {};\n"),
    ];
    let project = Project::with_files(files);
    let run = project.kvgen(&["create", "app-data"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("JavaScript Worker in ."),
        "{}",
        run.stdout
    );
    for module in ["store", "keys", "limits"] {
        assert!(project.path().join(format!("src/kv/{module}.js")).is_file());
        assert!(!project.path().join(format!("src/kv/{module}.ts")).exists());
    }
    let store = project.read("src/kv/store.js");
    assert!(store.contains("@param {KVNamespace} kv"), "{store}");
    assert!(store.contains("from \"./keys.js\""), "{store}");
    assert!(project.read("kvgen.toml").contains("lang = \"js\""));
    // The design keeps it JavaScript once a tsconfig appears.
    project.write("tsconfig.json", "{}");
    project.kvgen(&["flags"]).assert_code(0);
    assert!(project.path().join("src/kv/flags.js").is_file());

    // --lang ts on a JavaScript Worker: TypeScript, and a note saying so.
    let project = Project::with_files(files);
    let run = project.kvgen(&["create", "app-data", "--lang", "ts"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("note: the Worker is JavaScript (src/index.js) and kvgen writes TypeScript"),
        "{}",
        run.stdout
    );
    assert!(project.path().join("src/kv/store.ts").is_file());

    // TypeScript in the project (a tsconfig, or the typescript package):
    // a TypeScript project that has JavaScript too.
    for (file, text) in [
        ("tsconfig.json", "{}"),
        (
            "package.json",
            r#"{ "devDependencies": { "typescript": "5.9.3" } }"#,
        ),
    ] {
        let project = Project::with_files(files);
        project.write(file, text);
        let run = project.kvgen(&["create", "app-data"]);
        run.assert_code(0);
        assert!(run.stdout.contains("TypeScript Worker"), "{}", run.stdout);
        assert!(project.path().join("src/kv/store.ts").is_file(), "{file}");
    }
}

const ENVS: &str = r#"name = "envs"
main = "src/index.ts"

[env.production]
kv_namespaces = [{ binding = "OTHER", id = "0123456789abcdef0123456789abcdef" }]

[env.dev]
vars = { MODE = "dev" }
"#;

fn envs_project() -> Project {
    Project::with_files(&[("wrangler.toml", ENVS), ("package.json", "{}")])
}

#[test]
fn a_top_level_binding_in_a_config_with_environments_is_warned_about() {
    let project = envs_project();
    let run = project.kvgen(&["create", "app-data"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "warning: APP_DATA was added at the top level only, and bindings are not inherited by environments (production already has bindings of its own): a Worker deployed with --env dev, --env production has no env.APP_DATA (undefined at run time). Run the same command with --env dev,production (or --all-envs) to add it there too."
        ),
        "{}",
        run.stdout
    );
    let json = project.kvgen(&["create", "app-data", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["warnings"].as_array().unwrap().len(), 1);
    // Once every environment has it, there is nothing to warn about.
    let run = project.kvgen(&["create", "app-data", "--env", "dev,production"]);
    run.assert_code(0);
    assert!(!run.stdout.contains("warning:"), "{}", run.stdout);
}

#[test]
fn env_lists_put_the_binding_in_each_named_environment() {
    let project = envs_project();
    let run = project.kvgen(&["create", "app-data", "--env", "production,dev"]);
    run.assert_code(0);
    let config = project.read("wrangler.toml");
    let data: toml_edit::DocumentMut = config.parse().unwrap();
    let bindings = |table: &toml_edit::Item| -> Vec<String> {
        table
            .get("kv_namespaces")
            .and_then(|k| k.as_array().map(|a| a.iter().collect::<Vec<_>>()))
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e.as_inline_table()?.get("binding")?.as_str())
                    .map(str::to_string)
                    .collect()
            })
            .or_else(|| {
                table.get("kv_namespaces")?.as_array_of_tables().map(|a| {
                    a.iter()
                        .filter_map(|t| t.get("binding")?.as_str().map(str::to_string))
                        .collect()
                })
            })
            .unwrap_or_default()
    };
    assert_eq!(
        bindings(&data["env"]["production"]),
        ["OTHER", "APP_DATA"],
        "{config}"
    );
    assert_eq!(bindings(&data["env"]["dev"]), ["APP_DATA"], "{config}");
    assert!(data.get("kv_namespaces").is_none(), "{config}");
    for env in ["production", "dev"] {
        assert!(
            run.stdout.contains(&format!(
                "npx wrangler kv namespace create app-data --env {env}"
            )),
            "{}",
            run.stdout
        );
    }
    project
        .kvgen(&["create", "app-data", "--env", "production,dev"])
        .assert_all_identical();
}

#[test]
fn all_envs_means_the_top_level_and_every_environment() {
    let project = envs_project();
    let run = project.kvgen(&["session", "--all-envs"]);
    run.assert_code(0);
    let config = project.read("wrangler.toml");
    assert_eq!(config.matches("\"SESSIONS\"").count(), 3, "{config}");
    for step in [
        "npx wrangler kv namespace create sessions\n",
        "npx wrangler kv namespace create sessions --env dev",
        "npx wrangler kv namespace create sessions --env production",
        "npx wrangler secret put SESSION_SECRET   #",
        "npx wrangler secret put SESSION_SECRET --env dev",
        "npx wrangler secret put SESSION_SECRET --env production",
    ] {
        assert!(run.stdout.contains(step), "{step}:\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("warning:"), "{}", run.stdout);
    project
        .kvgen(&["session", "--all-envs"])
        .assert_all_identical();
}

#[test]
fn printed_commands_carry_the_environments_and_work_as_printed() {
    let project = envs_project();
    let run = project.kvgen(&["flags", "--env", "dev,production"]);
    run.assert_code(0);
    let command = printed_step(&run, "kvgen flags set");
    assert!(command.ends_with("--env dev,production"), "{command}");
    let printed = run_printed(&project, command);
    printed.assert_code(0);
    for env in ["dev", "production"] {
        assert!(
            printed.stdout.contains(&format!(
                "npx wrangler kv key put --binding FLAGS \"flag:new-checkout\" '{{\"enabled\":true,\"percentage\":10}}' --remote --env {env}"
            )),
            "{}",
            printed.stdout
        );
    }
}

#[test]
fn an_environment_the_config_lacks_is_noted() {
    let project = envs_project();
    let run = project.kvgen(&["create", "app-data", "--env", "prodution"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "note: env.prodution is new: wrangler.toml had no such environment (it has: dev, production), so kvgen adds it"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_env_lists_are_refused() {
    let project = envs_project();
    for bad in ["dev,,production", "dev,constructor", " "] {
        let run = project.kvgen(&["create", "app-data", "--env", bad]);
        run.assert_code(2);
        assert!(run.stderr.contains("--env"), "{bad}: {}", run.stderr);
    }
    let run = project.kvgen(&["create", "app-data", "--env", "dev", "--all-envs"]);
    run.assert_code(2);
}

#[test]
fn an_existing_kv_binding_is_offered_instead_of_a_new_namespace() {
    let project = Project::with_files(&[
        (
            "wrangler.toml",
            "name = \"x\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"APP_DATA\"\nid = \"0123456789abcdef0123456789abcdef\"\n",
        ),
        ("package.json", "{}"),
    ]);
    let run = project.kvgen(&["cache", "aside", "warm", "--cron", "0 * * * *", "--dry-run"]);
    run.assert_code(0);
    // The same run, on the existing binding.
    assert!(
        run.stdout.contains(
            "kvgen cache aside warm --cron '0 * * * *' --binding APP_DATA   # uses the existing KV binding APP_DATA instead of a new namespace for CACHE"
        ),
        "{}",
        run.stdout
    );
    // Using it: nothing more to offer.
    let run = project.kvgen(&["cache", "aside", "--binding", "APP_DATA"]);
    run.assert_code(0);
    assert!(
        !run.stdout.contains("existing KV binding"),
        "{}",
        run.stdout
    );
}

#[test]
fn one_id_is_never_bound_in_several_environments() {
    let project = envs_project();
    let before = snapshot(project.path());
    for targets in [&["--all-envs"][..], &["--env", "dev,production"]] {
        for flag in ["--id", "--preview-id"] {
            let args = [
                &[
                    "create",
                    "app-data",
                    flag,
                    "0123456789abcdef0123456789abcdee",
                ][..],
                targets,
            ]
            .concat();
            let run = project.kvgen(&args);
            run.assert_code(2);
            assert!(
                run.stderr
                    .contains("environments sharing a namespace share its data"),
                "{}",
                run.stderr
            );
        }
    }
    common::assert_same_tree(&before, &snapshot(project.path()), "");
    // One environment at a time, each with its own id.
    project
        .kvgen(&[
            "create",
            "app-data",
            "--env",
            "dev",
            "--id",
            "0123456789abcdef0123456789abcdee",
        ])
        .assert_code(0);
}

const CRONS: &str = r#"name = "crons"
main = "src/index.ts"

[triggers]
crons = ["*/30 * * * *"]

[env.staging]
vars = { MODE = "staging" }

[env.production.triggers]
crons = ["15 * * * *"]
"#;

fn crons_of(project: &Project) -> toml_edit::DocumentMut {
    project.read("wrangler.toml").parse().unwrap()
}

fn cron_list(item: Option<&toml_edit::Item>) -> Option<Vec<String>> {
    let crons = item?.get("triggers")?.get("crons")?.as_array()?;
    Some(
        crons
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect(),
    )
}

#[test]
fn a_cron_reaches_every_environment_without_dropping_the_crons_it_inherited() {
    // All environments: the top level gets it, staging inherits it, and
    // production (its own triggers replace the top level's) gets it too.
    let project = Project::with_files(&[("wrangler.toml", CRONS), ("package.json", "{}")]);
    project
        .kvgen(&["cache", "warm", "--cron", "0 * * * *", "--all-envs"])
        .assert_code(0);
    let doc = crons_of(&project);
    assert_eq!(
        cron_list(Some(doc.as_item())).unwrap(),
        ["*/30 * * * *", "0 * * * *"]
    );
    assert_eq!(cron_list(doc["env"].get("staging")), None);
    assert_eq!(
        cron_list(doc["env"].get("production")).unwrap(),
        ["15 * * * *", "0 * * * *"]
    );
    // Only staging: its new triggers keep the crons it inherited.
    let project = Project::with_files(&[("wrangler.toml", CRONS), ("package.json", "{}")]);
    project
        .kvgen(&["cache", "warm", "--cron", "0 * * * *", "--env", "staging"])
        .assert_code(0);
    let doc = crons_of(&project);
    assert_eq!(
        cron_list(doc["env"].get("staging")).unwrap(),
        ["*/30 * * * *", "0 * * * *"]
    );
    assert_eq!(cron_list(Some(doc.as_item())).unwrap(), ["*/30 * * * *"]);
    project
        .kvgen(&["cache", "warm", "--cron", "0 * * * *", "--env", "staging"])
        .assert_all_identical();
}

#[test]
fn a_cron_the_scheduled_handler_runs_on_already_warms_and_keeps_it_running() {
    let files = [
        ("wrangler.toml", CRONS),
        ("package.json", "{}"),
        (
            "src/index.ts",
            "export default {\n  async scheduled(controller, env, ctx) {\n    await report(env);\n  },\n};\n",
        ),
    ];
    let project = Project::with_files(&files);
    let run = project.kvgen(&["cache", "warm", "--cron", "*/30 * * * *"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("if (controller.cron === \"*/30 * * * *\") {"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("switch"), "{}", run.stdout);
    let project = Project::with_files(&files);
    let run = project.kvgen(&["cache", "warm", "--cron", "0 * * * *"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("switch (controller.cron) {"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_environment_that_inherits_the_cron_already_is_left_alone() {
    let project = Project::with_files(&[("wrangler.toml", CRONS), ("package.json", "{}")]);
    project
        .kvgen(&[
            "cache",
            "warm",
            "--cron",
            "*/30 * * * *",
            "--env",
            "staging",
        ])
        .assert_code(0);
    let doc = crons_of(&project);
    assert_eq!(cron_list(doc["env"].get("staging")), None);
}

#[test]
fn flags_set_refuses_an_environment_without_the_binding() {
    let project = envs_project();
    project.kvgen(&["flags"]).assert_code(0);
    let run = project.kvgen(&["flags", "set", "beta", "--all-envs"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("has no KV binding FLAGS, so the command that stores the flag there would fail: add it with `kvgen flags --env"),
        "{}",
        run.stderr
    );
    let run = project.kvgen(&["flags", "set", "beta", "--env=prodution"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "--env prodution: wrangler.toml has no such environment (it has: dev, production)"
        ),
        "{}",
        run.stderr
    );
    project
        .kvgen(&["flags", "--env", "dev,production"])
        .assert_code(0);
    let run = project.kvgen(&["flags", "set", "beta", "--all-envs"]);
    run.assert_code(0);
    assert_eq!(run.stdout.matches("npx wrangler kv key put").count(), 3);
}

#[test]
fn with_c_the_printed_commands_run_from_where_kvgen_was_started() {
    let project = monorepo();
    let run = project.kvgen(&["-C", "apps/api", "flags"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("  (cd apps/api && npx wrangler kv namespace create flags)\n"),
        "{}",
        run.stdout
    );
    // Run from the repository's root, where the user is.
    let printed = run_printed(&project, printed_step(&run, "kvgen -C apps/api flags set"));
    printed.assert_code(0);
    assert!(
        printed
            .stdout
            .contains("  (cd apps/api && npx wrangler kv key put --binding FLAGS"),
        "{}",
        printed.stdout
    );
}

#[test]
fn the_secret_step_names_the_local_file_as_seen_from_the_cwd() {
    let project = vite_app();
    let run = project.kvgen(&["-C", "worker", "session"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("# a long random value; ../.dev.vars has one for wrangler dev"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_folder_named_like_a_scope_is_still_the_workers() {
    let project = Project::with_files(&[
        ("wrangler.toml", "name = \"x\"\nmain = \"@app/index.ts\"\n"),
        ("@app/index.ts", "export default {};\n"),
        ("package.json", "{}"),
    ]);
    let run = project.kvgen(&["create", "app-data"]);
    run.assert_code(2);
    // `@` is not a plain folder name for kvgen to write into by itself.
    assert!(run.stderr.contains("pass --dir FOLDER"), "{}", run.stderr);
    assert!(!run.stderr.contains("package's entry"), "{}", run.stderr);
}

#[test]
fn with_c_each_printed_shell_step_runs_from_the_same_folder() {
    let project = monorepo();
    project.write("apps/api/wrangler.toml", ENVS);
    let run = project.kvgen(&[
        "-C",
        "apps/api",
        "create",
        "app-data",
        "--env",
        "dev,production",
    ]);
    run.assert_code(0);
    let steps: Vec<&str> = run
        .stdout
        .lines()
        .map(str::trim_start)
        .filter(|l| l.contains("npx wrangler"))
        .collect();
    assert_eq!(steps.len(), 2, "{}", run.stdout);
    // Run one after another in one shell, each still finds its folder.
    let script: Vec<String> = steps
        .iter()
        .map(|step| {
            let command = step.split("   #").next().unwrap();
            command.replace("npx wrangler", "pwd; true")
        })
        .collect();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(script.join("\n"))
        .current_dir(project.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{script:?}: {output:?}");
    let here = std::fs::canonicalize(project.path().join("apps/api")).unwrap();
    let folders: Vec<_> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| std::fs::canonicalize(line).unwrap())
        .collect();
    assert_eq!(folders, vec![here; steps.len()], "{script:?}");
}
