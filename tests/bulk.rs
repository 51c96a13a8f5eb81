//! `kvgen bulk put/delete` on the real binary: data files in, Wrangler bulk
//! files out, and nothing at all written when the input is bad.

mod common;

use std::fs;
use std::io::Write;

use common::{Project, Run};
use serde_json::{Value, json};

const ID: &str = "0123456789abcdef0123456789abcdef";

/// A Worker whose config has one KV binding, USERS.
fn worker() -> Project {
    Project::with_files(&[
        ("package.json", "{}\n"),
        (
            "wrangler.toml",
            &format!(
                "name = \"w\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"USERS\" # the users\nid = \"{ID}\"\n\n[env.staging]\nkv_namespaces = [{{ binding = \"USERS\", id = \"{ID}\" }}, {{ binding = \"CACHE\" }}]\n"
            ),
        ),
    ])
}

/// The entries of a bulk file.
fn entries(project: &Project, path: &str) -> Vec<Value> {
    serde_json::from_str(&project.read(path)).unwrap()
}

/// The data files of the output folder, sorted (without the `.gitignore`
/// a new folder gets).
fn outputs(project: &Project, dir: &str) -> Vec<String> {
    let Ok(read) = fs::read_dir(project.path().join(dir)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = read
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != ".gitignore")
        .collect();
    names.sort();
    names
}

/// The Wrangler commands among the next steps.
fn commands(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("npx wrangler "))
        .map(str::to_string)
        .collect()
}

#[test]
fn each_format_gives_the_same_wrangler_file() {
    let project = worker();
    project.write(
        "a.ndjson",
        "{\"key\":\"u1\",\"value\":\"Ada\"}\n{\"key\":\"u2\",\"value\":{\"age\":36},\"expiration_ttl\":3600,\"metadata\":{\"v\":1}}\n",
    );
    project.write(
        "b.json",
        "[\n  {\"key\": \"u1\", \"value\": \"Ada\"},\n  {\"key\": \"u2\", \"value\": {\"age\": 36}, \"expiration_ttl\": 3600, \"metadata\": {\"v\": 1}}\n]\n",
    );
    project.write(
        "c.csv",
        "key,value,expiration_ttl,metadata\nu1,Ada,,\nu2,\"{\"\"age\"\":36}\",3600,\"{\"\"v\"\": 1}\"\n",
    );
    let expected = json!([
        {"key": "u1", "value": "Ada"},
        {"key": "u2", "value": "{\"age\":36}", "expiration_ttl": 3600, "metadata": {"v": 1}},
    ]);
    for (input, stem) in [("a.ndjson", "a"), ("b.json", "b"), ("c.csv", "c")] {
        let run = project.kvgen(&["bulk", "put", input]);
        run.assert_code(0);
        let file = format!("kv-bulk/{stem}-put-0001.json");
        let data: Vec<_> = run
            .statuses()
            .into_iter()
            .filter(|(_, p)| *p == file)
            .collect();
        assert_eq!(data, [("create".to_string(), file.clone())]);
        assert_eq!(Value::Array(entries(&project, &file)), expected, "{input}");
        assert_eq!(
            commands(&run),
            [format!("kv bulk put {file} --binding USERS --remote")]
        );
    }
}

#[test]
fn standard_input_is_read_with_or_without_format() {
    let project = worker();
    let ndjson = b"{\"key\":\"a\",\"value\":\"1\"}\n";
    let run = project.kvgen_with_input(&["bulk", "put", "-"], ndjson);
    run.assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/stdin-put-0001.json"),
        [json!({"key": "a", "value": "1"})]
    );
    // Guessed from the first character: a JSON array, CSV.
    let run = project.kvgen_with_input(
        &["bulk", "put", "-", "--out", "j"],
        b"\xEF\xBB\xBF  [{\"key\":\"b\",\"value\":\"2\"}]",
    );
    run.assert_code(0);
    assert_eq!(entries(&project, "j/stdin-put-0001.json")[0]["key"], "b");
    let run = project.kvgen_with_input(&["bulk", "put", "-", "--out", "c"], b"key,value\nc,3\n");
    run.assert_code(0);
    assert_eq!(entries(&project, "c/stdin-put-0001.json")[0]["key"], "c");
    // --format wins over the guess.
    let run = project.kvgen_with_input(
        &["bulk", "put", "-", "--format", "csv", "--out", "f"],
        b"key,value\n{x,1\n",
    );
    run.assert_code(0);
    assert_eq!(entries(&project, "f/stdin-put-0001.json")[0]["key"], "{x");
}

#[test]
fn chunks_hold_exactly_n_entries_and_then_start_a_new_file() {
    let project = worker();
    let lines = |n: usize| {
        (0..n)
            .map(|i| format!("{{\"key\":\"k{i}\",\"value\":\"v\"}}\n"))
            .collect::<String>()
    };
    project.write("three.ndjson", &lines(3));
    project.write("four.ndjson", &lines(4));
    project
        .kvgen(&["bulk", "put", "three.ndjson", "--chunk", "3"])
        .assert_code(0);
    assert_eq!(outputs(&project, "kv-bulk"), ["three-put-0001.json"]);
    assert_eq!(entries(&project, "kv-bulk/three-put-0001.json").len(), 3);
    let run = project.kvgen(&["bulk", "put", "four.ndjson", "--chunk", "3"]);
    run.assert_code(0);
    assert_eq!(entries(&project, "kv-bulk/four-put-0001.json").len(), 3);
    assert_eq!(
        entries(&project, "kv-bulk/four-put-0002.json"),
        [json!({"key": "k3", "value": "v"})]
    );
    assert_eq!(commands(&run).len(), 2);
    // The default is Cloudflare's limit, 10000 entries per request.
    project.write("big.ndjson", &lines(10_001));
    project.kvgen(&["bulk", "put", "big.ndjson"]).assert_code(0);
    assert_eq!(entries(&project, "kv-bulk/big-put-0001.json").len(), 10_000);
    assert_eq!(entries(&project, "kv-bulk/big-put-0002.json").len(), 1);
    for bad in ["0", "10001", "x"] {
        let run = project.kvgen(&["bulk", "put", "four.ndjson", "--chunk", bad, "--out", "bad"]);
        run.assert_code(2);
        assert!(!project.path().join("bad").exists());
    }
}

#[test]
fn files_stay_under_100_mb() {
    let project = worker();
    // Four values of 25 MiB (the largest KV takes): 105 MB in all.
    let value = "v".repeat(25 * 1024 * 1024);
    let mut file = fs::File::create(project.path().join("large.ndjson")).unwrap();
    for i in 0..4 {
        writeln!(file, "{{\"key\":\"k{i}\",\"value\":\"{value}\"}}").unwrap();
    }
    drop(file);
    let run = project.kvgen(&["bulk", "put", "large.ndjson"]);
    run.assert_code(0);
    let names = outputs(&project, "kv-bulk");
    assert_eq!(names, ["large-put-0001.json", "large-put-0002.json"]);
    let mut total = 0;
    for name in &names {
        let path = project.path().join("kv-bulk").join(name);
        let size = fs::metadata(&path).unwrap().len();
        assert!(size < 100_000_000, "{name} is {size} bytes");
        total += entries(&project, &format!("kv-bulk/{name}")).len();
    }
    assert_eq!(total, 4);
}

#[test]
fn invalid_entries_are_listed_with_their_lines_and_nothing_is_written() {
    let project = worker();
    let long = "k".repeat(600);
    project.write(
        "users.ndjson",
        &[
            "{\"key\":\"ok\",\"value\":\"1\"}".to_string(),
            format!("{{\"key\":\"{long}\",\"value\":\"1\"}}"),
            "{\"key\":\"t\",\"value\":\"1\",\"expiration_ttl\":30}".into(),
            String::new(),
            "{\"key\":\"ok\",\"value\":\"2\"}".into(),
            "{\"key\":\"old\",\"value\":\"1\",\"expiration\":1000000000}".into(),
            "not json".into(),
        ]
        .join("\n"),
    );
    let before = project.tree();
    let run = project.kvgen(&["bulk", "put", "users.ndjson"]);
    run.assert_code(2);
    assert_eq!(project.tree(), before, "nothing is written");
    let stderr = &run.stderr;
    assert!(
        stderr.starts_with("error: users.ndjson: 5 invalid entries; nothing was written"),
        "{stderr}"
    );
    for expected in [
        "users.ndjson:2: key \"kkkk",
        "is 600 bytes; Workers KV allows at most 512 UTF-8 bytes",
        "users.ndjson:3: expiration_ttl is 30; Workers KV needs at least 60 seconds",
        "users.ndjson:5: duplicate key (first on line 1)",
        "users.ndjson:6: expiration 1000000000 is not at least 60 s in the future",
        "users.ndjson:7: invalid JSON: expected ident",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    // --json: the same, as data.
    let run = project.kvgen(&["bulk", "put", "users.ndjson", "--json"]);
    run.assert_code(2);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["invalid"], 5);
    assert_eq!(report["entries"], 1);
    assert_eq!(report["problems"][0]["line"], 2);
    assert_eq!(report["written"], false);
    assert_eq!(project.tree(), before);
}

#[test]
fn skip_invalid_writes_the_valid_entries_and_lists_the_rest() {
    let project = worker();
    project.write(
        "data.csv",
        "key,value,expiration_ttl\na,1,\n..,2,\nb,3,59\na,4,\nc,5,60\n",
    );
    let run = project.kvgen(&["bulk", "put", "data.csv", "--skip-invalid"]);
    run.assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/data-put-0001.json"),
        [
            json!({"key": "a", "value": "1"}),
            json!({"key": "c", "value": "5", "expiration_ttl": 60}),
        ]
    );
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        [
            "skipped 3 invalid entries:",
            "  data.csv:3: key \"..\" is not allowed by Workers KV",
            "  data.csv:4: expiration_ttl is 59; Workers KV needs at least 60 seconds",
            "  data.csv:5: duplicate key (first on line 2)",
        ]
    );
}

#[test]
fn csv_fields_keep_commas_quotes_and_newlines() {
    let project = worker();
    project.write(
        "tricky.csv",
        "key,value\r\n\"a,b\",\"say \"\"hi\"\"\"\r\nmulti,\"line one\nline two\"\r\nemoji,✓ 𝄞\r\n",
    );
    project
        .kvgen(&["bulk", "put", "tricky.csv", "--prefix", "t:"])
        .assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/tricky-put-0001.json"),
        [
            json!({"key": "t:a,b", "value": "say \"hi\""}),
            json!({"key": "t:multi", "value": "line one\nline two"}),
            json!({"key": "t:emoji", "value": "✓ 𝄞"}),
        ]
    );
}

#[test]
fn binary_values_are_base64() {
    let project = worker();
    let mut csv = b"key,value\nbin,".to_vec();
    csv.extend_from_slice(&[0xff, 0x00, 0xfe]);
    csv.extend_from_slice(b"\ntext,plain\n");
    fs::write(project.path().join("bin.csv"), csv).unwrap();
    project.kvgen(&["bulk", "put", "bin.csv"]).assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/bin-put-0001.json"),
        [
            json!({"key": "bin", "value": "/wD+", "base64": true}),
            json!({"key": "text", "value": "plain"}),
        ]
    );
    // --base64: every value is base64 already, and checked.
    project.write("b64.csv", "key,value\na,aGk=\n");
    project
        .kvgen(&["bulk", "put", "b64.csv", "--base64"])
        .assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/b64-put-0001.json"),
        [json!({"key": "a", "value": "aGk=", "base64": true})]
    );
    project.write("bad64.csv", "key,value\na,not base64\n");
    let run = project.kvgen(&["bulk", "put", "bad64.csv", "--base64"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("bad64.csv:2: the value is not valid base64")
    );
}

#[test]
fn ttl_applies_where_an_entry_has_no_expiration() {
    let project = worker();
    project.write(
        "t.ndjson",
        "{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\",\"expiration_ttl\":60}\n",
    );
    project
        .kvgen(&["bulk", "put", "t.ndjson", "--ttl", "86400"])
        .assert_code(0);
    let written = entries(&project, "kv-bulk/t-put-0001.json");
    assert_eq!(written[0]["expiration_ttl"], 86400);
    assert_eq!(written[1]["expiration_ttl"], 60);
    let run = project.kvgen(&["bulk", "put", "t.ndjson", "--ttl", "30", "--out", "x"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("--ttl \"30\": expected a whole number of seconds, at least 60")
    );
}

#[test]
fn a_million_lines_become_a_hundred_files_of_every_entry() {
    let project = worker();
    let mut file =
        std::io::BufWriter::new(fs::File::create(project.path().join("m.ndjson")).unwrap());
    for i in 0..1_000_000 {
        writeln!(file, "{{\"key\":\"{i}\",\"value\":\"v\"}}").unwrap();
    }
    drop(file);
    let run = project.kvgen(&["bulk", "put", "m.ndjson"]);
    run.assert_code(0);
    let names = outputs(&project, "kv-bulk");
    assert_eq!(names.len(), 100);
    assert_eq!(commands(&run).len(), 100);
    let mut keys = std::collections::HashSet::new();
    for name in names {
        for entry in entries(&project, &format!("kv-bulk/{name}")) {
            keys.insert(entry["key"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(keys.len(), 1_000_000);
    // No progress bar when stderr is not a terminal.
    assert_eq!(run.stderr, "");
    // On a terminal (util-linux `script` gives the run one), a large input
    // shows one, on a single line redrawn in place.
    let command = format!(
        "{} -C {} bulk put m.ndjson --out on-a-terminal",
        env!("CARGO_BIN_EXE_kvgen"),
        project.path().display()
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("util-linux `script` runs the command on a terminal");
    let terminal = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{terminal}");
    assert!(terminal.contains("\r\x1b[2K["), "{terminal}");
    assert!(terminal.contains("% "), "{terminal}");
    assert!(terminal.contains(" entries"), "{terminal}");
    assert_eq!(outputs(&project, "on-a-terminal").len(), 100);
}

#[test]
fn bad_files_are_exit_2_and_nothing_is_written() {
    let project = worker();
    project.write(
        "broken.json",
        "[{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\"}]",
    );
    project.write("cut.json", "[{\"key\":\"a\",\"value\":\"1\"},\n");
    project.write("columns.csv", "key,val\na,1\n");
    project.write("data.txt", "key,value\n");
    fs::create_dir(project.path().join("folder.json")).unwrap();
    let before = project.tree();
    for (args, message) in [
        (
            &["bulk", "put", "broken.json"][..],
            "broken.json:2: expected `,` or `]` after an entry; found `{`",
        ),
        (
            &["bulk", "put", "cut.json"],
            "cut.json:2: the input ends before the closing `]`",
        ),
        (
            &["bulk", "put", "columns.csv"],
            "columns.csv:1: unknown column \"val\"",
        ),
        (
            &["bulk", "put", "data.txt"],
            "data.txt: cannot tell its format",
        ),
        (
            &["bulk", "put", "missing.ndjson"],
            "missing.ndjson: cannot read it",
        ),
        (&["bulk", "put", "folder.json"], "folder.json: is a folder"),
        (
            &["bulk", "put", "cut.json", "--env", "staging"],
            "wrangler.toml (env.staging) has several KV bindings (USERS, CACHE): pass --binding",
        ),
        (
            &["bulk", "put", "cut.json", "--binding", "NOPE"],
            "--binding NOPE: wrangler.toml has no such KV binding (it has: USERS)",
        ),
        (&["bulk", "delete", "broken.json"], "broken.json:2:"),
    ] {
        let run = project.kvgen(args);
        run.assert_code(2);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert_eq!(project.tree(), before, "{args:?}");
        assert!(!project.path().join("kv-bulk").exists());
    }
}

#[test]
fn reruns_are_identical_changed_data_is_a_conflict_unless_forced() {
    let project = worker();
    project.write("d.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n");
    project.kvgen(&["bulk", "put", "d.ndjson"]).assert_code(0);
    let run = project.kvgen(&["bulk", "put", "d.ndjson"]);
    run.assert_code(0).assert_all_identical();
    project.write("d.ndjson", "{\"key\":\"a\",\"value\":\"2\"}\n");
    let before = project.tree();
    let run = project.kvgen(&["bulk", "put", "d.ndjson"]);
    run.assert_code(1);
    assert_eq!(run.statuses()[0].0, "conflict");
    assert!(commands(&run).is_empty());
    assert_eq!(project.tree(), before);
    let run = project.kvgen(&["bulk", "put", "d.ndjson", "--force"]);
    run.assert_code(0);
    assert_eq!(run.statuses()[0].0, "force");
    assert_eq!(
        entries(&project, "kv-bulk/d-put-0001.json"),
        [json!({"key": "a", "value": "2"})]
    );
}

#[test]
fn dry_run_writes_nothing_and_json_reports_the_files() {
    let project = worker();
    project.write("d.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n");
    let before = project.tree();
    let run = project.kvgen(&["bulk", "put", "d.ndjson", "--dry-run", "--out", "new/dir"]);
    run.assert_code(0);
    assert_eq!(
        run.statuses(),
        [
            ("create".to_string(), "new/dir/.gitignore".to_string()),
            ("create".to_string(), "new/dir/d-put-0001.json".to_string())
        ]
    );
    assert!(run.stdout.contains("Dry run: nothing was written."));
    assert_eq!(project.tree(), before);
    assert!(!project.path().join("new").exists());
    let run = project.kvgen(&[
        "bulk",
        "put",
        "d.ndjson",
        "--json",
        "--env",
        "staging",
        "--binding",
        "CACHE",
    ]);
    run.assert_code(0);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["files"][0]["path"], "kv-bulk/d-put-0001.json");
    assert_eq!(report["files"][0]["entries"], 1);
    assert_eq!(report["format"], "ndjson");
    assert_eq!(
        report["next_steps"][0],
        "npx wrangler kv bulk put kv-bulk/d-put-0001.json --binding CACHE --remote --env staging"
    );
}

#[test]
fn delete_files_are_arrays_of_keys() {
    let project = worker();
    project.write(
        "gone.json",
        "[\"a\", {\"key\": \"b\", \"value\": \"ignored\"}, \"c\"]",
    );
    let run = project.kvgen(&["bulk", "delete", "gone.json", "--prefix", "user:"]);
    run.assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/gone-delete-0001.json"),
        [json!("user:a"), json!("user:b"), json!("user:c")]
    );
    assert_eq!(
        commands(&run),
        ["kv bulk delete kv-bulk/gone-delete-0001.json --binding USERS --remote"]
    );
}

#[test]
fn files_of_an_earlier_larger_run_are_pointed_out_not_deleted() {
    let project = worker();
    project.write(
        "s.ndjson",
        "{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\"}\n",
    );
    project
        .kvgen(&["bulk", "put", "s.ndjson", "--chunk", "1"])
        .assert_code(0);
    project.write("s.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n");
    let run = project.kvgen(&["bulk", "put", "s.ndjson", "--chunk", "1"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("left from an earlier run and not part of this one: kv-bulk/s-put-0002.json"),
        "{}",
        run.stderr
    );
    assert!(project.path().join("kv-bulk/s-put-0002.json").exists());
    assert_eq!(commands(&run).len(), 1);
}

#[test]
fn outside_a_worker_the_binding_must_be_given() {
    let project = Project::with_files(&[("d.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n")]);
    let run = project.kvgen(&["bulk", "put", "d.ndjson"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("not a Worker project"),
        "{}",
        run.stderr
    );
    assert!(!project.path().join("kv-bulk").exists());
    let run = project.kvgen(&["bulk", "put", "d.ndjson", "--binding", "DATA"]);
    run.assert_code(0);
    assert_eq!(
        commands(&run),
        ["kv bulk put kv-bulk/d-put-0001.json --binding DATA --remote"]
    );
    let run = project.kvgen(&["bulk", "put", "d.ndjson", "--binding", "not-an-identifier"]);
    run.assert_code(2);
}

/// Runs `args`; every case must stop with exit 2, its message on stderr,
/// and no file written or changed.
fn assert_refused(project: &Project, cases: &[(&[&str], &str)]) {
    let before = project.tree();
    for (args, message) in cases {
        let run = project.kvgen(args);
        run.assert_code(2);
        assert!(
            run.stderr.contains(message) && run.stderr.contains("nothing was written"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(project.tree(), before, "{args:?}");
        assert!(!project.path().join("kv-bulk").exists(), "{args:?}");
    }
}

#[test]
fn an_unclosed_csv_quote_stops_the_run_at_its_line() {
    let project = worker();
    // Read leniently, b's value would be the rest of the file.
    project.write("d.csv", "key,value\na,1\nb,\"unclosed\nc,3\nd,4\n");
    let mut rows = String::from("key,value\n");
    for i in 1..=1000 {
        if i == 10 {
            rows.push_str("k10,\"bad\n");
        } else {
            rows.push_str(&format!("k{i},v{i}\n"));
        }
    }
    project.write("rows.csv", &rows);
    let unclosed = "d.csv:3: unterminated quoted field: the quote at column 3 is never closed";
    assert_refused(
        &project,
        &[
            (&["bulk", "put", "d.csv"], unclosed),
            // Not an entry to skip: nothing after the quote can be trusted.
            (&["bulk", "put", "d.csv", "--skip-invalid"], unclosed),
            (&["bulk", "delete", "d.csv"], unclosed),
            (
                &["bulk", "put", "rows.csv"],
                "rows.csv:11: unterminated quoted field: the quote at column 5",
            ),
        ],
    );
    let before = project.tree();
    let run = project.kvgen_with_input(
        &["bulk", "put", "-"],
        b"key,value\na,1\nb,\"unclosed\nc,3\n",
    );
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("stdin:3: unterminated quoted field: the quote at column 3"),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before);
}

#[test]
fn csv_quotes_that_would_change_a_value_are_refused_with_line_and_column() {
    let project = worker();
    // Lenient readers give `xy`, `say hi" now"` and ` "x"`.
    project.write("after.csv", "key,value\na,1\nb,\"x\"y\n");
    project.write("words.csv", "key,value\nb,\"say \"hi\" now\"\n");
    project.write("space.csv", "key,value\r\nc, \"x\"\r\n");
    project.write("inner.csv", "key,value\nd,x\"y\n");
    assert_refused(
        &project,
        &[
            (
                &["bulk", "put", "after.csv"],
                "after.csv:3: text at column 6 after the closing quote of a field (a quote inside a quoted field is written twice: \"\")",
            ),
            (
                &["bulk", "put", "words.csv", "--skip-invalid"],
                "words.csv:2: text at column 9 after the closing quote",
            ),
            (
                &["bulk", "put", "space.csv"],
                "space.csv:2: a quote at column 4 inside a field that does not start with one (enclose the field in quotes and double each quote in it: \"x\"\"y\")",
            ),
            (
                &["bulk", "put", "inner.csv"],
                "inner.csv:2: a quote at column 4 inside a field",
            ),
        ],
    );
    // Quoted and doubled, the same values are read as written.
    project.write(
        "fixed.csv",
        "key,value\nb,\"x\"\"y\"\nw,\"say \"\"hi\"\" now\"\nc,\" \"\"x\"\"\"\n",
    );
    project.kvgen(&["bulk", "put", "fixed.csv"]).assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/fixed-put-0001.json"),
        [
            json!({"key": "b", "value": "x\"y"}),
            json!({"key": "w", "value": "say \"hi\" now"}),
            json!({"key": "c", "value": " \"x\""}),
        ]
    );
}

#[test]
fn csv_lone_cr_line_endings_and_blank_lines_keep_every_line_number() {
    let project = worker();
    project.write(
        "cr.csv",
        "key,value\ra,1\r\rb,\"x\ry\"\r..,3\r\nc,\"p\r\nq\"\r\n",
    );
    let before = project.tree();
    let run = project.kvgen(&["bulk", "put", "cr.csv"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("cr.csv:6: key \"..\" is not allowed by Workers KV"),
        "{}",
        run.stderr
    );
    assert_eq!(project.tree(), before);
    project
        .kvgen(&["bulk", "put", "cr.csv", "--skip-invalid"])
        .assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/cr-put-0001.json"),
        [
            json!({"key": "a", "value": "1"}),
            json!({"key": "b", "value": "x\ry"}),
            json!({"key": "c", "value": "p\r\nq"}),
        ]
    );
}

#[test]
fn csv_rows_with_another_number_of_fields_are_invalid_entries() {
    let project = worker();
    project.write("f.csv", "key,value\na,1\nb\nc,3,4\nd,4\n");
    let before = project.tree();
    let run = project.kvgen(&["bulk", "put", "f.csv"]);
    run.assert_code(2);
    assert_eq!(project.tree(), before);
    for expected in [
        "f.csv: 2 invalid entries; nothing was written",
        "f.csv:3: has 1 field; the header has 2 (quote fields that contain commas)",
        "f.csv:4: has 3 fields; the header has 2",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    project
        .kvgen(&["bulk", "put", "f.csv", "--skip-invalid"])
        .assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/f-put-0001.json"),
        [
            json!({"key": "a", "value": "1"}),
            json!({"key": "d", "value": "4"}),
        ]
    );
}

#[test]
fn csv_nul_bytes_are_kept() {
    let project = worker();
    fs::write(
        project.path().join("nul.csv"),
        b"key,value\na,x\0y\n\0,\"p\0\"\nb,\xff\0\n",
    )
    .unwrap();
    project.kvgen(&["bulk", "put", "nul.csv"]).assert_code(0);
    assert_eq!(
        entries(&project, "kv-bulk/nul-put-0001.json"),
        [
            json!({"key": "a", "value": "x\u{0}y"}),
            json!({"key": "\u{0}", "value": "p\u{0}"}),
            json!({"key": "b", "value": "/wA=", "base64": true}),
        ]
    );
}

#[test]
fn utf16_files_are_refused() {
    let project = worker();
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "key,value\na,1\n".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    for name in ["u.csv", "u.ndjson", "u.json"] {
        fs::write(project.path().join(name), &utf16).unwrap();
    }
    let message = |name: &str| {
        format!(
            "{name}:1: the input is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"
        )
    };
    let (csv, ndjson, json) = (message("u.csv"), message("u.ndjson"), message("u.json"));
    assert_refused(
        &project,
        &[
            (&["bulk", "put", "u.csv"], &csv),
            (&["bulk", "put", "u.ndjson"], &ndjson),
            (&["bulk", "delete", "u.json"], &json),
        ],
    );
}

#[test]
fn a_line_over_256_mib_from_a_pipe_is_refused_in_linear_time() {
    use std::process::{Command, Stdio};
    let project = worker();
    let before = project.tree();
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kvgen"))
        .current_dir(project.path())
        .args(["bulk", "put", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Streamed a MiB at a time (kvgen reads a pipe 64 KiB at a time): one
    // entry, then a line of 512 MiB.
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        stdin.write_all(b"{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"")?;
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..512 {
            stdin.write_all(&chunk)?;
        }
        stdin.write_all(b"\"}\n")
    });
    let output = child.wait_with_output().unwrap();
    // kvgen stops reading at the cap: the rest of the line is refused.
    let written = writer.join().unwrap();
    assert!(written.is_err(), "kvgen read all 512 MiB");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: stdin:2: a line longer than 256 MiB: no Workers KV entry is that large (is the format right?); nothing was written"
    );
    assert_eq!(project.tree(), before);
    assert!(!project.path().join("kv-bulk").exists());
    // Linear: a few seconds at most, also unoptimised; scanning the line
    // again after every read of the pipe would take minutes.
    let took = started.elapsed();
    assert!(took.as_secs() < 60, "took {took:?}");
}
