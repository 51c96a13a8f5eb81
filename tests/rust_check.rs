//! The Rust that `kvgen create` generates compiles in a real workers-rs
//! crate: `cargo check`, `cargo clippy -- -D warnings` and the generated unit
//! tests, on the host and (when the target is installed) on wasm32.
//!
//! Set `KVGEN_SKIP_E2E=1` to skip this test in quick local loops; CI never
//! sets it.

mod common;

use common::copy_tree;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One target folder shared by every run, so repeated runs are warm.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-worker-target")
}

fn cargo(project: &Path, args: &[&str]) {
    let output = Command::new(env!("CARGO"))
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn wasm32_installed() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == "wasm32-unknown-unknown")
        })
}

#[test]
fn generated_rust_compiles_lints_clean_and_passes_its_tests() {
    if std::env::var_os("KVGEN_SKIP_E2E").is_some() {
        eprintln!("skipped: KVGEN_SKIP_E2E is set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("rust-worker");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects/rust-worker"),
        &project,
    );
    let kvgen = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_kvgen"))
            .current_dir(&project)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "kvgen {args:?}: {output:?}");
    };
    kvgen(&["create", "user-cache"]);
    cargo(&project, &["check", "--quiet"]);
    cargo(
        &project,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );
    cargo(&project, &["fmt", "--check"]);
    cargo(&project, &["test", "--quiet"]);
    // The other rendering of store.rs: no default expiry.
    kvgen(&["create", "user-cache", "--ttl", "none", "--force"]);
    cargo(
        &project,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );
    if wasm32_installed() {
        cargo(
            &project,
            &[
                "clippy",
                "--quiet",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ],
        );
    } else {
        eprintln!(
            "wasm32-unknown-unknown is not installed: the wasm32 check was skipped (rustup target add wasm32-unknown-unknown)"
        );
    }
}
