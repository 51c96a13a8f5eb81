//! Runs that race, are killed or interrupted, or meet a full disk or a
//! read-only folder: afterwards every file is wholly old or wholly new, a
//! set of files is never partly new (once the next run has cleaned up after
//! a killed one), no edit is lost, and no temporary file is left.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::copy_tree;

const SAMPLE: &str = "examples/hello-worker";

fn kvgen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kvgen"))
}

fn fixture(name: &str, at: &Path) {
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join(name), at);
}

/// Every regular file below `root`, with its bytes.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    common::snapshot(root)
        .into_iter()
        .filter_map(|(path, node)| match node {
            common::Node::File { bytes, .. } => Some((path, bytes)),
            _ => None,
        })
        .collect()
}

fn leftovers(root: &Path) -> Vec<PathBuf> {
    common::snapshot(root)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(".kvgen-"))
        .collect()
}

/// A small deterministic random number generator (xorshift), seeded from
/// the clock; the seed is printed so that a failure can be replayed.
struct Random(u64);

impl Random {
    fn new() -> Random {
        let seed = std::env::var("KVGEN_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("seed {seed} (KVGEN_TEST_SEED={seed} replays it)");
        Random(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn twenty_pairs_of_simultaneous_runs_lose_no_edit() {
    for pair in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        fixture(SAMPLE, dir.path());
        let spawn = |namespace: &str| {
            kvgen()
                .current_dir(dir.path())
                .args(["create", namespace])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("alpha"), spawn("beta"));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let config = fs::read_to_string(dir.path().join("wrangler.jsonc")).unwrap();
        let has = |b: &str| config.contains(&format!("\"binding\": \"{b}\""));
        match (a.status.code(), b.status.code()) {
            (Some(0), Some(0)) => assert!(
                has("ALPHA") && has("BETA"),
                "pair {pair}: both runs succeeded but an edit was lost:\n{config}"
            ),
            (Some(0), Some(1)) => assert!(has("ALPHA") && !has("BETA"), "pair {pair}"),
            (Some(1), Some(0)) => assert!(has("BETA") && !has("ALPHA"), "pair {pair}"),
            codes => panic!(
                "pair {pair}: exit codes {codes:?}: {}{}",
                String::from_utf8_lossy(&a.stderr),
                String::from_utf8_lossy(&b.stderr)
            ),
        }
        assert!(leftovers(dir.path()).is_empty(), "pair {pair}");
    }
}

/// How a file stands after an interrupted run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stand {
    Old,
    New,
}

/// Classifies every file a run writes as wholly old or wholly new, and
/// fails on anything else (a half-written file).
fn stands(
    root: &Path,
    old: &BTreeMap<PathBuf, Vec<u8>>,
    new: &BTreeMap<PathBuf, Vec<u8>>,
    context: &str,
) -> Vec<Stand> {
    let now = files(root);
    new.iter()
        .map(|(path, new_bytes)| {
            let bytes = now.get(path);
            if bytes == Some(new_bytes) {
                Stand::New
            } else if bytes == old.get(path) {
                Stand::Old
            } else {
                panic!("{context}: {} is neither old nor new", path.display())
            }
        })
        .collect()
}

/// The files `args` changes in a copy of `fixture`, as they are before and
/// after an uninterrupted run.
fn reference(
    fixture_name: &str,
    args: &[&str],
    prepare: &dyn Fn(&Path),
) -> (BTreeMap<PathBuf, Vec<u8>>, BTreeMap<PathBuf, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    fixture(fixture_name, dir.path());
    prepare(dir.path());
    let before = files(dir.path());
    let status = kvgen()
        .current_dir(dir.path())
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let after = files(dir.path());
    let changed: BTreeMap<_, _> = after
        .into_iter()
        .filter(|(path, bytes)| before.get(path) != Some(bytes))
        .collect();
    assert!(changed.len() > 1, "the run changes several files");
    (before, changed)
}

/// When to stop a run.
#[derive(Debug, Clone)]
enum When {
    After(Duration),
    /// As soon as this file is in place: while the run renames its files.
    Appears(PathBuf),
}

/// Runs kvgen and stops it with `signal`.
fn interrupted(root: &Path, args: &[&str], signal: i32, when: &When) -> Option<i32> {
    let mut child = kvgen()
        .current_dir(root)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    match when {
        When::After(delay) => std::thread::sleep(*delay),
        When::Appears(path) => {
            let started = Instant::now();
            while !root.join(path).exists() && started.elapsed() < Duration::from_secs(20) {
                std::hint::spin_loop();
            }
        }
    }
    // SAFETY: kill(2) on the child's pid.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let status = child.wait().unwrap();
    status.code()
}

/// Stops `args` at random points and while it renames, and checks what is
/// left; `marker` is text the run adds to the config, which must be there
/// exactly when the run's files are (its modules without their binding
/// would be a set that is partly new).
fn check_interruptions(
    fixture_name: &str,
    args: &[&str],
    prepare: &dyn Fn(&Path),
    marker: Option<&str>,
    runs: usize,
    delays_us: std::ops::Range<u64>,
) {
    let (old, new) = reference(fixture_name, args, prepare);
    let mut random = Random::new();
    let mut seen = [0usize; 3];
    for run in 0..runs {
        let signal = if run % 2 == 0 {
            libc::SIGKILL
        } else {
            libc::SIGINT
        };
        let when = if run % 4 >= 2 {
            // The first file in `new` is the first one renamed into place.
            When::Appears(new.keys().next().unwrap().clone())
        } else {
            When::After(Duration::from_micros(
                delays_us.start + random.below(delays_us.end - delays_us.start),
            ))
        };
        let dir = tempfile::tempdir().unwrap();
        fixture(fixture_name, dir.path());
        prepare(dir.path());
        let code = interrupted(dir.path(), args, signal, &when);
        let context = format!("{args:?} stopped by signal {signal}: {when:?} (exit {code:?})");
        let journal = dir.path().join(".kvgen-journal.json").exists();
        let now = stands(dir.path(), &old, &new, &context);
        let all = |s: Stand| now.iter().all(|n| *n == s);
        if signal == libc::SIGINT {
            // A clean exit: nothing left behind, all or nothing at once.
            assert!(!journal, "{context}: a journal was left");
            assert!(
                leftovers(dir.path()).is_empty(),
                "{context}: {:?}",
                leftovers(dir.path())
            );
            assert!(all(Stand::Old) || all(Stand::New), "{context}: {now:?}");
        } else if !journal {
            assert!(all(Stand::Old) || all(Stand::New), "{context}: {now:?}");
        }
        seen[if all(Stand::Old) {
            0
        } else if all(Stand::New) {
            1
        } else {
            2
        }] += 1;
        // The next run in the project finishes what the killed one left.
        let next = kvgen()
            .current_dir(dir.path())
            .args(["create", "next-run"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            next.status.success(),
            "{context}: {}",
            String::from_utf8_lossy(&next.stderr)
        );
        assert!(
            leftovers(dir.path()).is_empty(),
            "{context}: {:?}",
            leftovers(dir.path())
        );
        let after: Vec<Stand> = stands_ignoring(dir.path(), &old, &new, &context);
        assert!(
            after.iter().all(|s| *s == Stand::Old) || after.iter().all(|s| *s == Stand::New),
            "{context}: after the next run {after:?}"
        );
        if let Some(marker) = marker {
            let config = fs::read_to_string(dir.path().join("wrangler.jsonc")).unwrap();
            assert_eq!(
                config.contains(marker),
                after.iter().all(|s| *s == Stand::New),
                "{context}: after the next run, {after:?} and the config:\n{config}"
            );
        }
    }
    eprintln!(
        "{args:?}: {runs} runs stopped: {} before writing, {} after, {} in between (then undone)",
        seen[0], seen[1], seen[2]
    );
}

/// Like [`stands`], for the files the next run (`create next-run`) does not
/// touch itself (it records its namespace in the design too).
fn stands_ignoring(
    root: &Path,
    old: &BTreeMap<PathBuf, Vec<u8>>,
    new: &BTreeMap<PathBuf, Vec<u8>>,
    context: &str,
) -> Vec<Stand> {
    let untouched: BTreeMap<PathBuf, Vec<u8>> = new
        .iter()
        .filter(|(p, _)| {
            let p = p.to_string_lossy();
            !["wrangler.jsonc", "limits.ts", "kvgen.toml", "kvgen.lock"]
                .iter()
                .any(|touched| p.ends_with(touched))
        })
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    stands(root, old, &untouched, context)
}

#[test]
fn a_generating_run_stopped_at_any_point_is_all_or_nothing() {
    check_interruptions(
        SAMPLE,
        &["cache"],
        &|_| {},
        Some("\"binding\": \"CACHE\""),
        40,
        0..30_000,
    );
}

#[test]
fn a_bulk_run_stopped_at_any_point_is_all_or_nothing() {
    let data: String = (0..500)
        .map(|i| {
            format!(
                "{{\"key\":\"user:{i}\",\"value\":\"{}\"}}\n",
                "v".repeat(50)
            )
        })
        .collect();
    let prepare = move |root: &Path| {
        fs::write(root.join("data.ndjson"), &data).unwrap();
        // The binding the bulk files are for.
        let config = root.join("wrangler.jsonc");
        let text = fs::read_to_string(&config).unwrap();
        let text = text.replacen(
            "\"compatibility_date\": \"2025-06-01\",",
            "\"compatibility_date\": \"2025-06-01\",\n\t\"kv_namespaces\": [{ \"binding\": \"USERS\" }],",
            1,
        );
        fs::write(config, text).unwrap();
    };
    let started = Instant::now();
    let (_, new) = reference(
        SAMPLE,
        &["bulk", "put", "data.ndjson", "--chunk", "1"],
        &prepare,
    );
    let took = started.elapsed().as_micros() as u64;
    // 500 chunks, and the new output folder's `.gitignore`.
    assert_eq!(new.len(), 501);
    assert!(new.contains_key(Path::new("kv-bulk/.gitignore")));
    check_interruptions(
        SAMPLE,
        &["bulk", "put", "data.ndjson", "--chunk", "1"],
        &prepare,
        None,
        24,
        took / 4..took * 3 / 2,
    );
}

#[test]
fn a_run_waits_for_another_run_in_the_same_project() {
    let dir = tempfile::tempdir().unwrap();
    fixture(SAMPLE, dir.path());
    // Another kvgen run holds the project's lock: a lock on its root folder.
    let held = fs::File::open(dir.path()).unwrap();
    held.lock().unwrap();
    let mut child = kvgen()
        .current_dir(dir.path())
        .args(["create", "alpha"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says it waits, and waits.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut said).unwrap();
    assert!(said.contains("waiting for another kvgen run"), "{said}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(child.try_wait().unwrap(), None, "it did not wait");
    let config = fs::read_to_string(dir.path().join("wrangler.jsonc")).unwrap();
    assert!(
        !config.contains("ALPHA"),
        "it wrote while the lock was held"
    );
    held.unlock().unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{said}{rest}");
    let config = fs::read_to_string(dir.path().join("wrangler.jsonc")).unwrap();
    assert!(config.contains("\"binding\": \"ALPHA\""), "{config}");
}

#[test]
fn a_report_that_cannot_be_printed_changes_nothing_about_the_run() {
    for (how, json) in [
        ("a full device", false),
        ("a full device", true),
        ("a pipe nobody reads", false),
        ("a pipe nobody reads", true),
        ("closed", true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        fixture(SAMPLE, dir.path());
        let mut args = vec!["create", "alpha"];
        if json {
            args.push("--json");
        }
        let output = match how {
            "a pipe nobody reads" => {
                let mut child = kvgen()
                    .current_dir(dir.path())
                    .args(&args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                drop(child.stdout.take());
                child.wait_with_output().unwrap()
            }
            _ => Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "exec \"$KVGEN\" {} {}",
                    args.join(" "),
                    if how == "closed" { ">&-" } else { ">/dev/full" }
                ))
                .env("KVGEN", env!("CARGO_BIN_EXE_kvgen"))
                .current_dir(dir.path())
                .output()
                .unwrap(),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = format!("stdout {how}, json {json}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{context}");
        if how != "closed" {
            // (A closed stdout is /dev/null to a Rust program.)
            assert!(
                stderr.contains("cannot print the report")
                    && stderr.contains("the files were written"),
                "{context}"
            );
        }
        let config = fs::read_to_string(dir.path().join("wrangler.jsonc")).unwrap();
        assert!(config.contains("\"binding\": \"ALPHA\""), "{context}");
        assert!(dir.path().join("src/kv/store.ts").exists(), "{context}");
    }
}
