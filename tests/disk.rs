//! A full disk and read-only folders, for real: each case runs kvgen in a
//! user and mount namespace of its own (`unshare -rm`, which needs no
//! privileges where user namespaces are enabled), on a small tmpfs or under
//! a read-only bind mount. A run that fails there must leave every file as
//! it was, name the file it could not write, and leave no temporary file.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{assert_same_tree, copy_tree, snapshot};

const SAMPLE: &str = "examples/hello-worker";

struct Outcome {
    code: i32,
    stderr: String,
}

/// Runs `script` with sh in a new user and mount namespace, with `$T` the
/// test's folder and `$KVGEN` the binary.
fn in_namespace(dir: &Path, script: &str) -> Outcome {
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-euc", script])
        .env("T", dir)
        .env("KVGEN", env!("CARGO_BIN_EXE_kvgen"))
        .output()
        .expect("unshare (util-linux) runs");
    assert!(
        output.status.success(),
        "the namespace script failed (are user namespaces enabled?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Outcome {
        code: fs::read_to_string(dir.join("code"))
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
        stderr: fs::read_to_string(dir.join("err")).unwrap(),
    }
}

/// Fills the tmpfs at `$T/disk` but for about `$LEFT` KiB.
const FILL: &str = r#"
dd if=/dev/zero of="$T/disk/filler" bs=4k 2>/dev/null || true
truncate -s "-${LEFT}K" "$T/disk/filler"
"#;

fn project() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let dir_path = fs::canonicalize(dir.path()).unwrap();
    let project = dir_path.join("project");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE),
        &project,
    );
    fs::create_dir(dir_path.join("disk")).unwrap();
    (dir, project)
}

fn no_leftovers(root: &Path) {
    let left: Vec<_> = snapshot(root)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(".kvgen-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_full_disk_midway_through_a_generating_run_writes_nothing() {
    for left_kib in [0, 4, 8, 12, 16] {
        let (dir, project) = project();
        let before = snapshot(&project);
        let script = format!(
            r#"
mount -t tmpfs -o size=256k tmpfs "$T/disk"
cp -a "$T/project" "$T/disk/p"
LEFT={left_kib}
{FILL}
set +e
"$KVGEN" -C "$T/disk/p" cache > "$T/out" 2> "$T/err"
echo $? > "$T/code"
set -e
cp -a "$T/disk/p" "$T/after"
"#
        );
        let outcome = in_namespace(dir.path(), &script);
        let after = dir.path().join("after");
        let context = format!("{left_kib} KiB left: {}", outcome.stderr);
        assert_eq!(outcome.code, 2, "{context}");
        assert!(
            outcome.stderr.contains("cannot write ")
                && outcome.stderr.contains("No space left on device")
                && outcome.stderr.contains("nothing was written"),
            "{context}"
        );
        let mut after_tree = snapshot(&after);
        let mut before_tree = before.clone();
        // cp -a keeps bytes and modes; times are compared by the other tests.
        for tree in [&mut after_tree, &mut before_tree] {
            for node in tree.values_mut() {
                if let common::Node::File { modified, .. } = node {
                    *modified = std::time::UNIX_EPOCH;
                }
            }
        }
        assert_same_tree(&before_tree, &after_tree, &context);
        no_leftovers(&after);
    }
}

#[test]
fn a_full_disk_during_bulk_put_leaves_no_output_folder_and_names_the_file() {
    let (dir, project) = project();
    let data: String = (0..2000)
        .map(|i| format!("{{\"key\":\"k{i}\",\"value\":\"{}\"}}\n", "v".repeat(100)))
        .collect();
    fs::write(project.join("data.ndjson"), data).unwrap();
    let config = project.join("wrangler.jsonc");
    let text = fs::read_to_string(&config).unwrap().replacen(
        "\"compatibility_date\": \"2025-06-01\",",
        "\"compatibility_date\": \"2025-06-01\",\n\t\"kv_namespaces\": [{ \"binding\": \"USERS\" }],",
        1,
    );
    fs::write(config, text).unwrap();
    let before = snapshot(&project);
    let script = format!(
        r#"
mount -t tmpfs -o size=512k tmpfs "$T/disk"
cp -a "$T/project" "$T/disk/p"
LEFT=64
{FILL}
set +e
"$KVGEN" -C "$T/disk/p" bulk put data.ndjson --binding USERS --chunk 500 > "$T/out" 2> "$T/err"
echo $? > "$T/code"
set -e
cp -a "$T/disk/p" "$T/after"
"#
    );
    let outcome = in_namespace(dir.path(), &script);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("kv-bulk/data-put-")
            && outcome.stderr.contains("No space left on device")
            && outcome.stderr.contains("nothing was written"),
        "{}",
        outcome.stderr
    );
    let after = dir.path().join("after");
    assert!(
        !after.join("kv-bulk").exists(),
        "the new output folder is gone"
    );
    assert_eq!(
        snapshot(&after).keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
}

#[test]
fn a_read_only_project_root_with_a_writable_src_writes_nothing() {
    let (dir, project) = project();
    let before = snapshot(&project);
    let script = r#"
mkdir "$T/srcrw"
mount --bind "$T/project/src" "$T/srcrw"
mount --bind "$T/project" "$T/project"
mount -o remount,bind,ro "$T/project"
mount --bind "$T/srcrw" "$T/project/src"
set +e
"$KVGEN" -C "$T/project" create users > "$T/out" 2> "$T/err"
echo $? > "$T/code"
"#;
    let outcome = in_namespace(dir.path(), script);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("Read-only file system")
            && outcome.stderr.contains("nothing was written"),
        "{}",
        outcome.stderr
    );
    assert_same_tree(&before, &snapshot(&project), "read-only root");
}

#[test]
fn session_with_a_read_only_module_folder_writes_no_secret() {
    let (dir, project) = project();
    fs::create_dir(project.join("src/kv")).unwrap();
    let before = snapshot(&project);
    let script = r#"
mount --bind "$T/project/src/kv" "$T/project/src/kv"
mount -o remount,bind,ro "$T/project/src/kv"
set +e
"$KVGEN" -C "$T/project" session > "$T/out" 2> "$T/err"
echo $? > "$T/code"
"#;
    let outcome = in_namespace(dir.path(), script);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("src/kv/") && outcome.stderr.contains("Read-only file system"),
        "{}",
        outcome.stderr
    );
    assert!(!project.join(".dev.vars").exists());
    assert_same_tree(&before, &snapshot(&project), "read-only src/kv");
}
