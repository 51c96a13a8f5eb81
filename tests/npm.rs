//! The npm packages: the kvgen binary built statically for linux-x64 (with
//! `-C target-feature=+crt-static`, so one package serves glibc and musl
//! systems), assembled with `npm/assemble.js` as the release workflow does,
//! packed with `npm pack`, installed offline from the tarballs into a
//! temporary project, and run through `npx kvgen`: the same output and exit
//! codes as the binary, a signal passed through, and the error that helps
//! when the platform package was left out (`--omit=optional`).
//!
//! Needs Node.js and npm, like tests/e2e.rs; `KVGEN_SKIP_E2E=1` skips it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn skipped() -> bool {
    std::env::var_os("KVGEN_SKIP_E2E").is_some()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(what: &str, command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// kvgen built for x86_64-unknown-linux-gnu with the C runtime linked in,
/// in its own target folder.
fn static_binary() -> PathBuf {
    let target = repo().join("target/npm-static");
    run(
        "cargo build (static)",
        Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--target", "x86_64-unknown-linux-gnu"])
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(repo()),
    );
    target.join("x86_64-unknown-linux-gnu/debug/kvgen")
}

/// `npm install --offline` of the given tarballs into a new project.
fn install(dir: &Path, name: &str, tarballs: &[&Path], options: &[&str]) -> PathBuf {
    let project = dir.join(name);
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        "{\"name\": \"p\", \"private\": true}\n",
    )
    .unwrap();
    let mut npm = Command::new("npm");
    npm.args(["install", "--offline", "--no-audit", "--no-fund"])
        .args(tarballs)
        .args(options)
        .current_dir(&project);
    run("npm install", &mut npm);
    project
}

fn npx(project: &Path, args: &[&str]) -> Output {
    Command::new("npx")
        .arg("--no-install")
        .arg("kvgen")
        .args(args)
        .current_dir(project)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn npx_kvgen_runs_the_static_binary_from_the_platform_package() {
    if skipped() {
        return;
    }
    let binary = static_binary();
    // Statically linked: nothing for the dynamic loader to find.
    let ldd = Command::new("ldd").arg(&binary).output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        said.contains("not a dynamic executable") || said.contains("statically linked"),
        "ldd: {said}"
    );

    let dir = tempfile::tempdir().unwrap();
    let packages = dir.path().join("packages");
    run(
        "npm/assemble.js",
        Command::new("node")
            .arg(repo().join("npm/assemble.js"))
            .args(["--version", env!("CARGO_PKG_VERSION"), "--out"])
            .arg(&packages)
            .arg(format!("linux-x64={}", binary.display())),
    );
    for package in ["kvgen", "linux-x64"] {
        run(
            "npm pack",
            Command::new("npm")
                .args(["pack", "--silent", "--pack-destination"])
                .arg(&packages)
                .current_dir(packages.join(package)),
        );
    }
    let version = env!("CARGO_PKG_VERSION");
    let launcher = packages.join(format!("kvgen-{version}.tgz"));
    let native = packages.join(format!("kvgen-linux-x64-{version}.tgz"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(packages.join("linux-x64/package.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["name"], "@kvgen/linux-x64");
    assert_eq!(manifest["os"], serde_json::json!(["linux"]));
    assert_eq!(manifest["cpu"], serde_json::json!(["x64"]));

    // Without install scripts (pnpm and bun block them): the JavaScript
    // launcher runs the binary.
    let project = install(
        dir.path(),
        "project",
        &[&launcher, &native],
        &["--ignore-scripts"],
    );
    let direct = |args: &[&str]| Command::new(&binary).args(args).output().unwrap();
    // --version and a dry run: the same output as the binary.
    for args in [
        vec!["--version"],
        vec![
            "-C",
            repo().join("examples/hello-worker").to_str().unwrap(),
            "flags",
            "--dry-run",
        ],
    ] {
        let (through, native) = (npx(&project, &args), direct(&args));
        assert_eq!(through.status.code(), Some(0), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&through.stdout),
            String::from_utf8_lossy(&native.stdout),
            "{args:?}"
        );
    }
    // Exit codes pass through: 2 for bad input, 1 for a conflict.
    let bad = npx(&project, &["create", "bad name!", "--dry-run"]);
    assert_eq!(bad.status.code(), Some(2));
    let worker = dir.path().join("worker");
    common::copy_tree(&repo().join("examples/hello-worker"), &worker);
    let in_worker = |args: &[&str]| {
        npx(
            &project,
            &[&["-C", worker.to_str().unwrap()], args].concat(),
        )
    };
    let id = |c: char| c.to_string().repeat(32);
    let (first, second) = (id('a'), id('b'));
    assert_eq!(
        in_worker(&["create", "demo", "--id", &first]).status.code(),
        Some(0)
    );
    assert_eq!(
        in_worker(&["create", "demo", "--id", &second])
            .status
            .code(),
        Some(1)
    );
    // A signal: 128 + its number, as a shell reports it.
    let script = dir.path().join("killed.sh");
    std::fs::write(&script, "#!/bin/sh\nkill -TERM $$\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let killed = Command::new("npx")
        .args(["--no-install", "kvgen"])
        .current_dir(&project)
        .env("KVGEN_BINARY", &script)
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), Some(143));

    // With install scripts: the launcher is replaced by a hard link to the
    // binary, which then runs without Node.
    let linked = install(dir.path(), "linked", &[&launcher, &native], &[]);
    let shim = linked.join("node_modules/kvgen/bin/kvgen.js");
    let platform = linked.join("node_modules/@kvgen/linux-x64/bin/kvgen");
    {
        use std::os::unix::fs::MetadataExt;
        let (a, b) = (
            std::fs::metadata(&shim).unwrap(),
            std::fs::metadata(&platform).unwrap(),
        );
        assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "not linked");
    }
    let version = npx(&linked, &["--version"]);
    assert_eq!(version.stdout, direct(&["--version"]).stdout);

    // Without the platform package (the launcher's optional dependency,
    // left out): an error that says what to do.
    let omitted = install(dir.path(), "omitted", &[&launcher], &["--omit=optional"]);
    let missing = npx(&omitted, &["--version"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    for words in [
        "@kvgen/linux-x64",
        "--omit=optional",
        "npm/cli#4828",
        "cargo install kvgen",
    ] {
        assert!(stderr.contains(words), "{words}: {stderr}");
    }
}
