//! The Node side of the end-to-end tests: the e2e workspace in
//! `tests/e2e` (tsc, prettier, wrangler, vitest), its tools, and running
//! the real `kvgen` binary in a fixture copy.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use super::copy_tree;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn e2e_dir() -> PathBuf {
    repo().join("tests/e2e")
}

/// Says something on the terminal even though libtest captures test
/// output (it captures the print macros, not direct writes).
pub fn announce(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

pub fn skipped() -> bool {
    if std::env::var_os("KVGEN_SKIP_E2E").is_some() {
        announce("e2e: skipped because KVGEN_SKIP_E2E is set");
        return true;
    }
    false
}

pub fn show(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a command and fails the test, with its output, when it fails.
pub fn run(what: &str, command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(output.status.success(), "{what} failed: {}", show(&output));
    output
}

/// Node and the e2e workspace, installed once per test process.
pub fn node_workspace() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        for tool in ["node", "npm"] {
            if Command::new(tool).arg("--version").output().is_err() {
                return Err(format!(
                    "`{tool}` was not found: the end-to-end tests need Node.js 20 or later with npm \
                     (install them, e.g. from nodejs.org or your package manager); \
                     set KVGEN_SKIP_E2E=1 only to skip these tests on purpose"
                ));
            }
        }
        if !e2e_dir().join("node_modules/.bin/vitest").exists() {
            announce("e2e: installing tests/e2e with `npm ci` ...");
            let output = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(e2e_dir())
                .output()
                .map_err(|e| format!("npm ci: {e}"))?;
            if !output.status.success() {
                return Err(format!("`npm ci` in tests/e2e failed: {}", show(&output)));
            }
        }
        Ok(())
    });
    if let Err(message) = ready {
        panic!("{message}");
    }
}

/// A tool of the e2e workspace. `tsc` is TypeScript's current version and
/// `tsc-5.0` the 5.0 one (both packages have a `tsc`, so `.bin/tsc` could be
/// either).
pub fn node_bin(name: &str) -> PathBuf {
    let modules = e2e_dir().join("node_modules");
    match name {
        "tsc" => modules.join("typescript/bin/tsc"),
        "tsc-5.0" => modules.join("typescript-5.0/bin/tsc"),
        _ => modules.join(".bin").join(name),
    }
}

/// A tool from the e2e workspace, run in `dir`, non-interactively.
pub fn tool(name: &str, dir: &Path) -> Command {
    let mut command = Command::new(node_bin(name));
    command
        .current_dir(dir)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("WRANGLER_SEND_METRICS", "false");
    command
}

pub fn kvgen(project: &Path, args: &[&str]) -> String {
    let output = run(
        &format!("kvgen {}", args.join(" ")),
        Command::new(assert_cmd::cargo::cargo_bin("kvgen"))
            .current_dir(project)
            .args(args),
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A copy of a fixture Worker in a temporary folder.
pub fn copy_fixture(fixture: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("worker");
    copy_tree(&repo().join(fixture), &project);
    (dir, project)
}

/// Runs cargo in `project` with its build in `target` (kept between runs,
/// so repeated runs are warm) and without the caller's RUSTFLAGS.
pub fn cargo_in(project: &Path, target: &Path, args: &[&str]) -> Output {
    run(
        &format!("cargo {}", args.join(" ")),
        Command::new(env!("CARGO"))
            .current_dir(project)
            .env("CARGO_TARGET_DIR", target)
            .env_remove("RUSTFLAGS")
            .args(args),
    )
}

/// Whether rustup lists wasm32-unknown-unknown as installed.
pub fn wasm32_installed() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == "wasm32-unknown-unknown")
        })
}
