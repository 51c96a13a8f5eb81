//! kvgen in Worker repos shaped like the ones people have: a Vite
//! full-stack app whose Worker is `worker/` and whose `src/` is the
//! frontend, a monorepo, bindings that live only in environments, a
//! hand-written `Env`, TypeScript 5.0, `lib: ["ESNext", "DOM"]`, ESM with
//! `nodenext`, `isolatedDeclarations`, a prettier config without
//! semicolons, and a JavaScript Worker (fixtures in
//! `tests/fixtures/projects/`).
//!
//! For each, in a temporary copy: every command, twice (the second run
//! changes nothing); the `Env` types brought up to date as the printed next
//! step says; the generated modules imported from the Worker's entry; then
//! the repo's own type-check with its own TypeScript, `prettier --check` on
//! the generated files under the repo's config, and `wrangler deploy
//! --dry-run`, whose bundle must hold the generated code.
//!
//! The CLI cases at the end check what kvgen says in such repos: no config
//! but an example one, a monorepo root, environments with their own
//! bindings, `--env a,b`, `--all-envs`, and `--config` carried into the
//! printed commands.
//!
//! The fixture tests need Node.js and the e2e workspace (see tests/e2e.rs);
//! `KVGEN_SKIP_E2E=1` skips them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use common::node::*;

/// Every command, as tests/e2e.rs runs them.
const COMMANDS: &[&[&str]] = &[
    &["create", "e2e-kv"],
    &["cache"],
    &["cache", "warm", "--cron", "*/5 * * * *"],
    &["flags"],
    &["session"],
    &["bulk", "--binding", "E2E_KV"],
];

/// The KV bindings those commands add.
const BINDINGS: [&str; 4] = ["E2E_KV", "CACHE", "FLAGS", "SESSIONS"];

/// Typed keys added to the design those commands write.
const TYPED_KEYS: &str = r#"
[namespaces.E2E_KV.keys.item]
pattern = "item:{id}"
value = "Item"
ttl = 600

[namespaces.CACHE.keys.page]
pattern = "page:{path}:{lang}"
value = "string"
cache_ttl = 300

[types.Item]
id = "string"
count = "integer?"
state = "'new' | 'old'"
tags = "string[]"
"#;

/// Code of each generated module, as it appears in a bundle that imports it.
const IN_BUNDLE: &[&str] = &[
    "KVStore",
    "e2eKvKeys",
    "SchemaError",
    "cacheAside",
    "writeThrough",
    "staleWhileRevalidate",
    "invalidatePrefix",
    "FeatureFlags",
    "SessionStore",
    "putMany",
    "listAll",
];

/// How the Worker's `Env` gets the new bindings.
enum Types {
    /// `wrangler types` output: the printed step starts with this command
    /// (run from the Worker's folder), and the test runs it.
    Generated(&'static str),
    /// A hand-written `interface Env`: the printed step names this place
    /// (`file:line`, from the Worker's folder), and the test adds the lines.
    HandWritten(&'static str),
    /// JavaScript: nothing to type.
    Untyped,
}

struct Fixture {
    /// The folder under tests/fixtures/projects.
    name: &'static str,
    /// The Worker's folder in the repo ("" for the root).
    worker: &'static str,
    /// Where kvgen runs (relative to the repo) and what each command adds.
    runs: (&'static str, &'static [&'static str]),
    /// Further runs after those, elsewhere or with other flags: all
    /// identical.
    again: &'static [(&'static str, &'static [&'static str])],
    /// Where the modules must land, relative to the repo.
    modules: &'static str,
    /// The Worker's entry, relative to the repo.
    entry: &'static str,
    /// The extension of relative imports (`.js` under `nodenext`).
    import_ext: &'static str,
    /// The extension of the generated modules (`js` in a JavaScript Worker).
    module_ext: &'static str,
    types: Types,
    /// The type-check: the e2e workspace's `tsc` (`tsc-5.0` for TypeScript
    /// 5.0), its arguments, where it runs (relative to the repo).
    typecheck: Option<(&'static str, &'static [&'static str], &'static str)>,
    /// The type-check also passes before kvgen runs (the fixture is sound).
    typecheck_before: bool,
    /// The environments deployed (None: the top level).
    deploys: &'static [Option<&'static str>],
    /// The assets folder the config names, built before deploying.
    assets: Option<&'static str>,
    /// kvgen says this (stdout or stderr) on the first run.
    says: &'static [&'static str],
}

/// Runs the real kvgen binary in `dir`.
fn kvgen_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("kvgen"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("kvgen: cannot start: {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The steps under "Next steps:" in a text report (continuation lines of
/// a multi-line step left out).
fn next_steps(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| *l != "Next steps:")
        .skip(1)
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.trim().to_string())
        .collect()
}

/// Runs `args` in `dir` as JSON and asserts that no file changed; returns
/// the next steps.
fn assert_identical(dir: &Path, args: &[&str]) -> Vec<String> {
    let output = kvgen_in(dir, &[args, &["--json"]].concat());
    assert!(
        output.status.success(),
        "kvgen {args:?} again: {}",
        show(&output)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&output)));
    let files = report["files"].as_array().expect("files");
    assert!(!files.is_empty(), "{report}");
    assert!(
        files.iter().all(|f| f["status"] == "identical"),
        "kvgen {args:?} again in {}: {report:#}",
        dir.display()
    );
    report["next_steps"]
        .as_array()
        .expect("next_steps")
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Whether a next step brings the `Env` types up to date by running a
/// command.
fn is_typegen(step: &str) -> bool {
    step.contains("   # regenerates ") || step.contains("   # generates the Env types")
}

/// Runs a printed shell command (its part before the comment) in `dir`.
fn run_printed(what: &str, dir: &Path, step: &str) -> Output {
    let command = step.split("   #").next().unwrap();
    run(
        &format!("{what}: the printed `{command}` in {}", dir.display()),
        Command::new("sh")
            .args(["-c", command])
            .current_dir(dir)
            .env("CI", "true")
            .env("WRANGLER_SEND_METRICS", "false"),
    )
}

/// The `import` of `module` (a file in the module folder) from the entry.
fn import_line(entry: &str, modules: &str, module: &str, ext: &str) -> (String, String) {
    let entry_dir = Path::new(entry).parent().unwrap();
    let below = Path::new(modules)
        .strip_prefix(entry_dir)
        .unwrap_or_else(|_| panic!("{modules} is not below the entry's folder"));
    let stem = module.trim_end_matches(".ts").trim_end_matches(".js");
    let name = format!("kv_{}", stem.replace('-', "_"));
    let line = format!(
        "import * as {name} from \"./{}/{stem}{ext}\";\n",
        below.display()
    );
    (name, line)
}

fn worker_repo(fixture: Fixture) {
    node_workspace();
    let started = Instant::now();
    let source = repo().join("tests/fixtures/projects").join(fixture.name);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    common::copy_tree(&source, &repo);
    std::os::unix::fs::symlink(e2e_dir().join("node_modules"), repo.join("node_modules")).unwrap();
    let worker = repo.join(fixture.worker);
    let typecheck = |when: &str| {
        if let Some((tsc, args, place)) = fixture.typecheck {
            run(
                &format!("{}: {tsc} {} ({when})", fixture.name, args.join(" ")),
                tool(tsc, &repo.join(place)).args(args),
            );
        }
    };
    if fixture.typecheck_before {
        typecheck("before kvgen");
    }

    // Every command, each twice: the second run changes nothing.
    let (place, extra) = fixture.runs;
    let mut steps = Vec::new();
    let mut said = String::new();
    for command in COMMANDS {
        let args = [*command, extra].concat();
        let output = kvgen_in(&repo.join(place), &args);
        assert!(
            output.status.success(),
            "{}: kvgen {args:?} in {place:?}: {}",
            fixture.name,
            show(&output)
        );
        said.push_str(&text(&output));
        steps.extend(next_steps(&String::from_utf8_lossy(&output.stdout)));
        assert_identical(&repo.join(place), &args);
    }
    // Typegen commands printed elsewhere, to run where they were printed.
    let mut elsewhere: Vec<(PathBuf, String)> = Vec::new();
    for (place, extra) in fixture.again {
        for command in COMMANDS {
            let dir = repo.join(place);
            for step in assert_identical(&dir, &[*command, extra].concat()) {
                if is_typegen(&step) && !elsewhere.contains(&(dir.clone(), step.clone())) {
                    elsewhere.push((dir.clone(), step));
                }
            }
        }
    }
    // Typed keys: key patterns and types added to the design by hand, then
    // a sync (twice: the second changes nothing).
    let design = worker.join("kvgen.toml");
    let text = std::fs::read_to_string(&design).unwrap();
    std::fs::write(&design, format!("{text}{TYPED_KEYS}")).unwrap();
    let mut sync: Vec<&str> = Vec::new();
    if !fixture.worker.is_empty() {
        sync.extend(["-C", fixture.worker]);
    }
    sync.push("sync");
    let output = kvgen_in(&repo, &sync);
    assert!(
        output.status.success(),
        "{}: kvgen {sync:?}: {}",
        fixture.name,
        show(&output)
    );
    assert_identical(&repo, &sync);

    for words in fixture.says {
        assert!(
            said.contains(words),
            "{}: no {words:?} in\n{said}",
            fixture.name
        );
    }

    // And how to construct the store from env.
    let usage = "in a handler: const store = new KVStore(env.E2E_KV);";
    assert!(
        steps.iter().any(|s| s == usage),
        "{}: no {usage:?} in {steps:#?}",
        fixture.name
    );

    // The modules are where the Worker's code is.
    let modules: Vec<String> = std::fs::read_dir(repo.join(fixture.modules))
        .unwrap_or_else(|e| panic!("{}: {}: {e}\n{said}", fixture.name, fixture.modules))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(&format!(".{}", fixture.module_ext)))
        .collect();
    for module in [
        "store",
        "flags",
        "session",
        "bulk",
        "swr",
        "schema",
        "namespaces",
    ] {
        let module = format!("{module}.{}", fixture.module_ext);
        assert!(
            modules.contains(&module),
            "{}: {module} not in {}: {modules:?}",
            fixture.name,
            fixture.modules
        );
    }

    if fixture.modules != "src/kv" {
        assert!(
            !repo.join("src/kv").exists(),
            "{}: modules in src/, not beside the Worker's code",
            fixture.name
        );
    }

    // The Env types, as the next steps say.
    match fixture.types {
        Types::Generated(command) => {
            let step = steps
                .iter()
                .find(|s| s.starts_with(command))
                .unwrap_or_else(|| panic!("{}: no `{command}` step in {steps:#?}", fixture.name));
            let types_file = worker.join("worker-configuration.d.ts");
            let typed = |after: &str| {
                let types = std::fs::read_to_string(&types_file).unwrap();
                for binding in BINDINGS {
                    assert!(
                        types.contains(&format!("{binding}: KVNamespace"))
                            || types.contains(&format!("{binding}?: KVNamespace")),
                        "{}: {binding} not typed after `{after}`:\n{types}",
                        fixture.name
                    );
                }
            };
            // The ones printed from a subfolder write the Worker's file.
            for (dir, step) in &elsewhere {
                std::fs::remove_file(&types_file).unwrap();
                run_printed(fixture.name, dir, step);
                typed(step);
                assert!(
                    dir == &worker || !dir.join("worker-configuration.d.ts").exists(),
                    "{}: `{step}` wrote its types in {}",
                    fixture.name,
                    dir.display()
                );
            }
            // Where kvgen was run, as printed.
            run_printed(fixture.name, &repo.join(place), step);
            typed(step);
        }
        Types::HandWritten(at) => {
            let (file, line) = at.split_once(':').unwrap();
            let line: usize = line.parse().unwrap();
            let path = worker.join(file);
            let mut source: Vec<String> = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect();
            for binding in BINDINGS.iter().rev() {
                let step = format!("add `{binding}: KVNamespace;` to `interface Env` in {at}");
                assert!(
                    steps.contains(&step),
                    "{}: no step {step:?} in {steps:#?}",
                    fixture.name
                );
                source.insert(line, format!("  {binding}: KVNamespace;"));
            }
            std::fs::write(&path, source.join("\n") + "\n").unwrap();
        }
        Types::Untyped => {
            assert!(
                !steps
                    .iter()
                    .any(|s| s.contains("wrangler types") || s.contains("KVNamespace;")),
                "{}: nothing to type in a JavaScript Worker: {steps:#?}",
                fixture.name
            );
        }
    }

    // The entry imports every generated module and keeps it.
    let mut imports = String::new();
    let mut names = Vec::new();
    let mut sorted = modules.clone();
    sorted.sort();
    for module in &sorted {
        let (name, line) = import_line(fixture.entry, fixture.modules, module, fixture.import_ext);
        imports.push_str(&line);
        names.push(name);
    }
    let entry = repo.join(fixture.entry);
    let source = std::fs::read_to_string(&entry).unwrap();
    std::fs::write(
        &entry,
        format!(
            "{imports}{source}\nObject.assign(globalThis, {{ kvModules: [{}] }});\n",
            names.join(", ")
        ),
    )
    .unwrap();

    // The repo's own type-check, with its own TypeScript.
    typecheck("after kvgen");

    // The generated files are formatted as the repo's prettier wants.
    let generated: Vec<String> = sorted
        .iter()
        .map(|m| format!("{}/{m}", fixture.modules))
        .collect();
    run(
        &format!("{}: prettier --check", fixture.name),
        tool("prettier", &repo).arg("--check").args(&generated),
    );

    // Wrangler bundles the Worker with the modules, in every environment.
    if let Some(assets) = fixture.assets {
        let assets = worker.join(assets);
        std::fs::create_dir_all(&assets).unwrap();
        std::fs::write(
            assets.join("index.html"),
            "<!doctype html><div id=root></div>\n",
        )
        .unwrap();
    }
    for (i, env) in fixture.deploys.iter().enumerate() {
        let out_dir = dir.path().join(format!("bundle-{i}"));
        let env_args: Vec<&str> = env.map(|e| vec!["--env", e]).unwrap_or_default();
        let deploy = run(
            &format!("{}: wrangler deploy --dry-run {env_args:?}", fixture.name),
            tool("wrangler", &worker)
                .args(["deploy", "--dry-run", "--outdir", out_dir.to_str().unwrap()])
                .args(&env_args),
        );
        let deploy = String::from_utf8_lossy(&deploy.stdout);
        for binding in BINDINGS {
            assert!(
                deploy.contains(&format!("env.{binding}")),
                "{}: {env:?} lacks {binding}:\n{deploy}",
                fixture.name
            );
        }
        let bundle: String = std::fs::read_dir(&out_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "js"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        for code in IN_BUNDLE {
            assert!(
                bundle.contains(code),
                "{}: {code} not in the bundle ({env:?})",
                fixture.name
            );
        }
    }
    announce(&format!(
        "e2e: {} took {:.1}s",
        fixture.name,
        started.elapsed().as_secs_f64()
    ));
}

/// The defaults: a Worker at the repo root with `main = "src/index.ts"`
/// and generated types, checked with the current TypeScript.
const PLAIN: Fixture = Fixture {
    name: "",
    worker: "",
    runs: ("", &[]),
    again: &[],
    modules: "src/kv",
    entry: "src/index.ts",
    import_ext: "",
    module_ext: "ts",
    types: Types::Generated("npm run cf-typegen"),
    typecheck: Some(("tsc", &["-p", "tsconfig.json"], "")),
    typecheck_before: false,
    deploys: &[None],
    assets: None,
    says: &[],
};

#[test]
fn vite_full_stack_app_keeps_its_frontend_clean() {
    if skipped() {
        return;
    }
    // The Worker is worker/, src/ is the browser app: the modules go next
    // to the Worker, and `tsc -b` (app and worker projects) passes before
    // and after.
    worker_repo(Fixture {
        name: "vite-fullstack",
        modules: "worker/kv",
        entry: "worker/index.ts",
        typecheck: Some(("tsc", &["-b"], "")),
        typecheck_before: true,
        assets: Some("dist/client"),
        says: &["worker/kv"],
        ..PLAIN
    });
}

#[test]
fn monorepo_worker_from_the_root_and_from_inside() {
    if skipped() {
        return;
    }
    // apps/api has only a wrangler.toml and its sources: package.json,
    // tsconfig.json and the typegen script are at the workspace root.
    worker_repo(Fixture {
        name: "monorepo",
        worker: "apps/api",
        runs: ("", &["-C", "apps/api"]),
        again: &[("apps/api/src", &[])],
        modules: "apps/api/src/kv",
        entry: "apps/api/src/index.ts",
        types: Types::Generated("(cd apps/api && npm --prefix ../.. run cf-typegen:api"),
        ..PLAIN
    });
}

#[test]
fn bindings_only_in_environments_reach_every_environment() {
    if skipped() {
        return;
    }
    worker_repo(Fixture {
        name: "env-only-bindings",
        runs: ("", &["--all-envs"]),
        again: &[("", &["--env", "production,dev"])],
        deploys: &[None, Some("production"), Some("dev")],
        ..PLAIN
    });
}

#[test]
fn hand_written_env_gets_its_lines() {
    if skipped() {
        return;
    }
    worker_repo(Fixture {
        name: "hand-written-env",
        types: Types::HandWritten("src/env.ts:2"),
        ..PLAIN
    });
}

#[test]
fn typescript_5_0() {
    if skipped() {
        return;
    }
    worker_repo(Fixture {
        name: "typescript-5.0",
        typecheck: Some(("tsc-5.0", &["-p", "tsconfig.json"], "")),
        ..PLAIN
    });
}

#[test]
fn lib_dom_beside_workers_types() {
    if skipped() {
        return;
    }
    worker_repo(Fixture {
        name: "lib-dom",
        ..PLAIN
    });
}

#[test]
fn esm_with_nodenext_imports_with_extensions() {
    if skipped() {
        return;
    }
    worker_repo(Fixture {
        name: "esm-nodenext",
        import_ext: ".js",
        ..PLAIN
    });
}

#[test]
fn isolated_declarations() {
    if skipped() {
        return;
    }
    // tsc emits the declarations (to the copy's types/), each export typed.
    worker_repo(Fixture {
        name: "isolated-declarations",
        ..PLAIN
    });
}

#[test]
fn prettier_without_semicolons() {
    if skipped() {
        return;
    }
    // semi: false, trailingComma: "none", arrowParens: "avoid".
    worker_repo(Fixture {
        name: "prettier-no-semi",
        ..PLAIN
    });
}

#[test]
fn javascript_worker_bundles_the_javascript_modules() {
    if skipped() {
        return;
    }
    worker_repo(Fixture {
        name: "javascript-worker",
        entry: "src/index.js",
        import_ext: ".js",
        module_ext: "js",
        types: Types::Untyped,
        typecheck: None,
        says: &["JavaScript"],
        ..PLAIN
    });
}

// ---- What kvgen says in such repos ----------------------------------------

fn fixture_copy(name: &str) -> common::Project {
    common::Project::copy(&format!("tests/fixtures/projects/{name}"))
}

#[test]
fn no_config_names_the_example_config_and_the_copy_command() {
    let project = fixture_copy("example-config");
    let run = project.kvgen(&["create", "links"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("wrangler.example.toml")
            && run
                .stderr
                .contains("cp wrangler.example.toml wrangler.toml"),
        "{}",
        run.stderr
    );
    assert!(!project.path().join("src/kv").exists());
}

#[test]
fn a_monorepo_root_names_each_worker_below_with_its_c() {
    let project = fixture_copy("monorepo");
    let run = project.kvgen(&["create", "links"]);
    run.assert_code(2);
    for (config, flag) in [
        ("apps/api/wrangler.toml", "-C apps/api"),
        ("apps/web/wrangler.jsonc", "-C apps/web"),
    ] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(config))
            .unwrap_or_else(|| panic!("{config} not named:\n{}", run.stderr));
        assert!(
            line.contains(flag),
            "{flag} not on {line:?}:\n{}",
            run.stderr
        );
    }
}

/// The KV bindings of the top level (None) or of an environment in a
/// wrangler.toml.
fn toml_kv_bindings(config: &str, env: Option<&str>) -> Vec<String> {
    let doc: toml_edit::DocumentMut = config.parse().unwrap();
    let table = match env {
        None => doc.as_item(),
        Some(env) => &doc["env"][env],
    };
    table
        .get("kv_namespaces")
        .and_then(|k| k.as_array_of_tables())
        .map(|tables| {
            tables
                .iter()
                .filter_map(|t| t.get("binding")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_top_level_binding_beside_environments_with_bindings_is_warned_about() {
    let project = fixture_copy("env-only-bindings");
    let run = project.kvgen(&["create", "links"]);
    run.assert_code(0);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.lines()
            .any(|l| l.contains("production") && l.contains("dev")),
        "the environments are not named:\n{said}"
    );
    assert!(said.contains("--env"), "no --env suggested:\n{said}");
    let config = project.read("wrangler.toml");
    assert_eq!(toml_kv_bindings(&config, None), ["LINKS"]);
}

#[test]
fn env_takes_several_environments() {
    let project = fixture_copy("env-only-bindings");
    let run = project.kvgen(&["create", "links", "--env", "production,dev"]);
    run.assert_code(0);
    let config = project.read("wrangler.toml");
    assert_eq!(toml_kv_bindings(&config, None), Vec::<String>::new());
    for env in ["production", "dev"] {
        assert_eq!(toml_kv_bindings(&config, Some(env)), ["LINKS"], "{config}");
        assert!(
            run.stdout.contains(&format!(
                "npx wrangler kv namespace create links --env {env}"
            )),
            "{}",
            run.stdout
        );
    }
    // The comments stay.
    assert!(config.contains("# Bindings are not inherited: each environment declares its own."));
    assert_identical(
        project.path(),
        &["create", "links", "--env", "production,dev"],
    );
}

#[test]
fn all_envs_is_the_top_level_and_every_environment() {
    let project = fixture_copy("env-only-bindings");
    project.kvgen(&["flags", "--all-envs"]).assert_code(0);
    let config = project.read("wrangler.toml");
    for env in [None, Some("production"), Some("dev")] {
        assert_eq!(
            toml_kv_bindings(&config, env),
            ["FLAGS"],
            "{env:?}:\n{config}"
        );
    }
    assert_identical(project.path(), &["flags", "--all-envs"]);
}

#[test]
fn config_and_env_are_carried_into_every_printed_command() {
    let project = fixture_copy("hand-written-env");
    let config = project.read("wrangler.toml");
    project.write(
        "wrangler.kv.toml",
        &format!("{config}\n[env.staging]\nname = \"links-staging\"\n"),
    );
    let run = project.kvgen(&["flags", "--config", "wrangler.kv.toml", "--env", "staging"]);
    run.assert_code(0);
    let steps = next_steps(&run.stdout);
    let commands: Vec<&String> = steps
        .iter()
        .filter(|s| s.starts_with("kvgen ") || s.starts_with("npx wrangler "))
        .collect();
    assert!(commands.len() >= 2, "{steps:#?}");
    for step in &commands {
        let command = step.split("   #").next().unwrap();
        let config = if step.starts_with("kvgen ") {
            "--config wrangler.kv.toml"
        } else {
            "-c wrangler.kv.toml"
        };
        assert!(command.contains(config), "{config} not in {step:?}");
        assert!(
            command.contains("--env staging"),
            "--env staging not in {step:?}"
        );
    }
    // The printed kvgen command runs as printed, and what it prints carries
    // them too.
    let printed = commands
        .iter()
        .find(|s| s.starts_with("kvgen "))
        .unwrap()
        .split("   #")
        .next()
        .unwrap();
    let args: Vec<&str> = printed.split_whitespace().skip(1).collect();
    let set = project.kvgen(&args);
    set.assert_code(0);
    let put = set
        .stdout
        .lines()
        .find(|l| l.contains("npx wrangler kv key put"))
        .unwrap_or_else(|| panic!("{}", set.stdout));
    assert!(
        put.contains("-c wrangler.kv.toml") && put.contains("--env staging"),
        "{put}"
    );
}

#[test]
fn a_sibling_of_the_chosen_config_is_named() {
    let project = fixture_copy("hand-written-env");
    let config = project.read("wrangler.toml");
    project.write("wrangler.kv.toml", &config);
    let run = project.kvgen(&["flags"]);
    run.assert_code(0);
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("wrangler.kv.toml"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        toml_kv_bindings(&project.read("wrangler.toml"), None),
        ["FLAGS"]
    );
    assert_eq!(project.read("wrangler.kv.toml"), config);
}
