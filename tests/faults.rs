//! The fault and bad-input matrix: the real binary on projects with bad
//! names and options, odd files (FIFOs, links out of the project, read-only
//! files, huge files), broken configs and bulk data. Each case asserts the
//! exit code, the message, and that every file, folder and link of the
//! project (and of anything a link points to) is byte for byte as it was;
//! the cases that succeed assert what changed instead.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use common::{assert_same_tree, copy_tree, snapshot};

const SAMPLE: &str = "examples/hello-worker";
const RUST: &str = "tests/fixtures/projects/rust-worker";
const TOML: &str = "tests/fixtures/projects/ts-toml-envs";

/// Where a case starts from.
enum Base {
    /// A copy of a fixture project.
    Copy(&'static str),
    /// These files only.
    Files(&'static [(&'static str, &'static str)]),
}

struct Case {
    name: &'static str,
    base: Base,
    /// Changes made to the project before the run (links, FIFOs, modes).
    setup: fn(&Path),
    args: &'static [&'static str],
    stdin: &'static [u8],
    code: i32,
    /// Words the output (stderr, else stdout) must contain.
    says: &'static [&'static str],
    /// For a run that succeeds: what must be true afterwards. Failing runs
    /// must leave the tree as it was.
    then: Option<fn(&Path, &Output)>,
}

struct Output {
    stdout: String,
    stderr: String,
}

fn nothing(_: &Path) {}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[cfg(unix)]
fn link(target: &str, at: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// git with no configuration but what the test gives it.
fn git(root: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(args)
        .current_dir(root)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// 5,000 user ids from `START`, comma-separated, for one `--allow` (a
/// single argument is at most 128 KiB on Linux).
const fn ids<const START: usize>() -> [u8; 5_000 * 7 - 1] {
    let mut out = [b','; 5_000 * 7 - 1];
    let mut i = 0;
    while i < 5_000 {
        let mut n = START + i;
        let mut d = 0;
        while d < 6 {
            out[i * 7 + 5 - d] = b'0' + (n % 10) as u8;
            n /= 10;
            d += 1;
        }
        i += 1;
    }
    out
}

const fn text(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("ASCII"),
    }
}

const IDS: [&[u8]; 4] = [
    &ids::<0>(),
    &ids::<5_000>(),
    &ids::<10_000>(),
    &ids::<15_000>(),
];

const CASES: &[Case] = &[
    // Names and options.
    Case {
        name: "namespace with a quote",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "user\"cache"],
        stdin: b"",
        code: 2,
        says: &["namespace"],
        then: None,
    },
    Case {
        name: "namespace with a path",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "../escape"],
        stdin: b"",
        code: 2,
        says: &["namespace"],
        then: None,
    },
    Case {
        name: "empty namespace",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", ""],
        stdin: b"",
        code: 2,
        says: &["namespace"],
        then: None,
    },
    Case {
        name: "binding that is a reserved word",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--binding", "class"],
        stdin: b"",
        code: 2,
        says: &["class", "reserved"],
        then: None,
    },
    Case {
        name: "binding starting with a digit",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--binding", "2FAST"],
        stdin: b"",
        code: 2,
        says: &["2FAST", "not a JavaScript identifier"],
        then: None,
    },
    Case {
        name: "binding with code in it",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--binding", "A\"];evil"],
        stdin: b"",
        code: 2,
        says: &["not a JavaScript identifier"],
        then: None,
    },
    Case {
        name: "environment with a space",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--env", "stag ing"],
        stdin: b"",
        code: 2,
        says: &["environment name", "stag ing"],
        then: None,
    },
    Case {
        name: "id that is not hex",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--id", "not-an-id"],
        stdin: b"",
        code: 2,
        says: &["--id"],
        then: None,
    },
    Case {
        name: "preview id too short",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--preview-id", "123"],
        stdin: b"",
        code: 2,
        says: &["--preview-id"],
        then: None,
    },
    Case {
        name: "ttl under the KV minimum",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--ttl", "59"],
        stdin: b"",
        code: 2,
        says: &["--ttl", "60"],
        then: None,
    },
    Case {
        name: "ttl that is not a number",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--ttl", "soon"],
        stdin: b"",
        code: 2,
        says: &["--ttl"],
        then: None,
    },
    Case {
        name: "dir outside the project",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--dir", "../outside"],
        stdin: b"",
        code: 2,
        says: &["--dir"],
        then: None,
    },
    Case {
        name: "absolute dir",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--dir", "/abs"],
        stdin: b"",
        code: 2,
        says: &["--dir"],
        then: None,
    },
    Case {
        name: "rust dir that is not a module",
        base: Base::Copy(RUST),
        setup: nothing,
        args: &["create", "ok", "--dir", "src/my-kv"],
        stdin: b"",
        code: 2,
        says: &["--dir", "snake_case"],
        then: None,
    },
    Case {
        name: "unknown language",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--lang", "python"],
        stdin: b"",
        code: 2,
        says: &["python"],
        then: None,
    },
    Case {
        name: "unknown cache pattern",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["cache", "lru"],
        stdin: b"",
        code: 2,
        says: &["lru"],
        then: None,
    },
    Case {
        name: "cron without warm",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["cache", "swr", "--cron", "*/5 * * * *"],
        stdin: b"",
        code: 2,
        says: &["--cron"],
        then: None,
    },
    Case {
        name: "cron with shell in it",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["cache", "warm", "--cron", "* * * * * \"; rm -rf"],
        stdin: b"",
        code: 2,
        says: &["--cron"],
        then: None,
    },
    Case {
        name: "session ttl under a minute",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["session", "--ttl", "30"],
        stdin: b"",
        code: 2,
        says: &["--ttl"],
        then: None,
    },
    Case {
        name: "cookie name with a semicolon",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["session", "--cookie", "a;b"],
        stdin: b"",
        code: 2,
        says: &["--cookie"],
        then: None,
    },
    Case {
        name: "flag percentage over 100",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["flags", "set", "beta", "--percentage", "101"],
        stdin: b"",
        code: 2,
        says: &["percentage"],
        then: None,
    },
    Case {
        name: "bulk chunk of zero",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(root.join("d.ndjson"), "{\"key\":\"a\",\"value\":\"1\"}\n").unwrap()
        },
        args: &["bulk", "put", "d.ndjson", "--binding", "X", "--chunk", "0"],
        stdin: b"",
        code: 2,
        says: &["--chunk"],
        then: None,
    },
    Case {
        name: "bulk input that does not exist",
        base: Base::Files(&[]),
        setup: nothing,
        args: &["bulk", "put", "missing.ndjson", "--binding", "X"],
        stdin: b"",
        code: 2,
        says: &["missing.ndjson"],
        then: None,
    },
    Case {
        name: "bulk input that is a folder",
        base: Base::Files(&[("data.json/x", "")]),
        setup: nothing,
        args: &["bulk", "put", "data.json", "--binding", "X"],
        stdin: b"",
        code: 2,
        says: &["data.json", "folder"],
        then: None,
    },
    Case {
        name: "bulk entry with a short ttl",
        base: Base::Files(&[]),
        setup: nothing,
        args: &["bulk", "put", "-", "--binding", "X", "--format", "ndjson"],
        stdin: b"{\"key\":\"a\",\"value\":\"1\",\"expiration_ttl\":30}\n",
        code: 2,
        says: &["stdin:1", "expiration_ttl"],
        then: None,
    },
    Case {
        name: "CSV with an unterminated quote",
        base: Base::Files(&[("d.csv", "key,value\na,1\nb,\"unclosed\nc,3\nd,4\n")]),
        setup: nothing,
        args: &["bulk", "put", "d.csv", "--binding", "X"],
        stdin: b"",
        code: 2,
        says: &["d.csv:3: unterminated quoted field", "nothing was written"],
        then: None,
    },
    Case {
        name: "CSV with text after a closing quote, even with --skip-invalid",
        base: Base::Files(&[("d.csv", "key,value\na,\"x\"y\nb,2\n")]),
        setup: nothing,
        args: &["bulk", "put", "d.csv", "--binding", "X", "--skip-invalid"],
        stdin: b"",
        code: 2,
        says: &["d.csv:2:"],
        then: None,
    },
    Case {
        name: "bulk output that is a file",
        base: Base::Files(&[("kv-bulk", "mine")]),
        setup: nothing,
        args: &["bulk", "put", "-", "--binding", "X", "--format", "ndjson"],
        stdin: b"{\"key\":\"a\",\"value\":\"1\"}\n",
        code: 2,
        says: &["--out", "not a folder"],
        then: None,
    },
    Case {
        name: "bulk binding missing from the config",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &[
            "bulk",
            "put",
            "-",
            "--binding",
            "NOPE",
            "--format",
            "ndjson",
        ],
        stdin: b"{\"key\":\"a\",\"value\":\"1\"}\n",
        code: 2,
        says: &["NOPE"],
        then: None,
    },
    Case {
        name: "a file name with terminal escapes is shown escaped",
        base: Base::Files(&[]),
        setup: nothing,
        args: &["bulk", "put", "\u{1b}[31mred.csv", "--binding", "X"],
        stdin: b"",
        code: 2,
        says: &["\\u{1b}[31mred.csv"],
        then: None,
    },
    // Projects and configs.
    Case {
        name: "no Wrangler config",
        base: Base::Files(&[("package.json", "{}")]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["not a Worker project"],
        then: None,
    },
    Case {
        name: "--config that does not exist",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--config", "nope.toml"],
        stdin: b"",
        code: 2,
        says: &["nope.toml"],
        then: None,
    },
    Case {
        name: "-C folder that does not exist",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["-C", "nowhere", "create", "ok"],
        stdin: b"",
        code: 2,
        says: &["nowhere"],
        then: None,
    },
    Case {
        name: "no language",
        base: Base::Files(&[("wrangler.toml", "name = \"w\"\n")]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["--lang"],
        then: None,
    },
    Case {
        name: "rust without Cargo.toml",
        base: Base::Files(&[("wrangler.toml", "name = \"w\"\n")]),
        setup: nothing,
        args: &["create", "ok", "--lang", "rust"],
        stdin: b"",
        code: 2,
        says: &["Cargo.toml"],
        then: None,
    },
    Case {
        name: "a Cargo.toml nested too deep",
        base: Base::Copy(RUST),
        setup: |root| {
            let mut text = fs::read_to_string(root.join("Cargo.toml")).unwrap();
            text.push_str(&format!(
                "x = {}{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ));
            fs::write(root.join("Cargo.toml"), text).unwrap();
        },
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["Cargo.toml:", "invalid TOML"],
        then: None,
    },
    Case {
        name: "package.json and a prettier config nested too deep",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
            fs::write(root.join(".prettierrc"), &deep).unwrap();
            fs::write(root.join("package.json"), &deep).unwrap();
        },
        args: &["create", "ok", "--dry-run"],
        stdin: b"",
        code: 0,
        says: &["Dry run"],
        then: None,
    },
    Case {
        name: "JSONC that does not parse",
        base: Base::Files(&[
            ("wrangler.jsonc", "{\n  \"name\": \"w\",\n  \"main\": \n}\n"),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.jsonc:4:1"],
        then: None,
    },
    Case {
        name: "TOML that does not parse",
        base: Base::Files(&[
            ("wrangler.toml", "name = \"w\"\nmain = \n"),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.toml:2:"],
        then: None,
    },
    Case {
        name: "TOML with a duplicate key",
        base: Base::Files(&[
            ("wrangler.toml", "name = \"w\"\nname = \"x\"\n"),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.toml:2:"],
        then: None,
    },
    Case {
        name: "kv_namespaces that is not a list",
        base: Base::Files(&[
            (
                "wrangler.toml",
                "name = \"w\"\nmain = \"src/index.ts\"\nkv_namespaces = \"x\"\n",
            ),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["kv_namespaces"],
        then: None,
    },
    Case {
        name: "config that is not UTF-8",
        base: Base::Files(&[("package.json", "{}")]),
        setup: |root| fs::write(root.join("wrangler.toml"), b"name = \"\xff\"\n").unwrap(),
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["UTF-8"],
        then: None,
    },
    Case {
        name: "config over 16 MiB",
        base: Base::Files(&[("package.json", "{}")]),
        setup: |root| {
            let mut text = String::from("name = \"w\"\n");
            text.push_str(&"# padding\n".repeat(1_700_000));
            fs::write(root.join("wrangler.toml"), text).unwrap();
        },
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.toml", "16 MiB"],
        then: None,
    },
    Case {
        name: "JSONC with kv_namespaces twice",
        base: Base::Files(&[
            (
                "wrangler.jsonc",
                "{\n  \"name\": \"w\",\n  \"kv_namespaces\": [],\n  \"kv_namespaces\": [{ \"binding\": \"A\" }],\n  \"main\": \"src/index.ts\"\n}\n",
            ),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.jsonc:4:", "kv_namespaces"],
        then: None,
    },
    Case {
        name: "JSONC with env twice",
        base: Base::Files(&[
            (
                "wrangler.jsonc",
                "{\n  \"name\": \"w\",\n  \"env\": { \"staging\": {} },\n  \"env\": { \"production\": {} },\n  \"main\": \"src/index.ts\"\n}\n",
            ),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok", "--env", "staging"],
        stdin: b"",
        code: 2,
        says: &["wrangler.jsonc:4:", "env"],
        then: None,
    },
    Case {
        name: "TOML with a carriage return that ends no line",
        base: Base::Files(&[
            (
                "wrangler.toml",
                "name = \"w\"\r\r\nmain = \"src/index.ts\"\r\n",
            ),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.toml:1:"],
        then: None,
    },
    Case {
        name: "JSON with a raw line break inside a string",
        base: Base::Files(&[
            ("wrangler.json", "{\r\n  \"name\": \"w\r\nx\"\r\n}\r\n"),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.json:2:"],
        then: None,
    },
    Case {
        name: "an edited generated file is a conflict",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::create_dir_all(root.join("src/kv")).unwrap();
            fs::write(root.join("src/kv/store.ts"), "// mine\n").unwrap();
        },
        args: &["create", "ok"],
        stdin: b"",
        code: 1,
        says: &["conflict: src/kv/store.ts"],
        then: None,
    },
    Case {
        name: "a binding with another id is a conflict",
        base: Base::Files(&[
            (
                "wrangler.toml",
                "name = \"w\"\nmain = \"src/index.ts\"\n\n[[kv_namespaces]]\nbinding = \"OK\"\nid = \"0123456789abcdef0123456789abcdef\"\n",
            ),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok", "--id", "fedcba9876543210fedcba9876543210"],
        stdin: b"",
        code: 1,
        says: &[
            "conflict: wrangler.toml",
            "fedcba9876543210fedcba9876543210",
        ],
        then: None,
    },
    // Odd files.
    Case {
        name: "config that is a FIFO",
        base: Base::Files(&[("package.json", "{}")]),
        setup: |root| mkfifo(&root.join("wrangler.jsonc")),
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.jsonc", "named pipe"],
        then: None,
    },
    Case {
        name: "config that is a folder",
        base: Base::Files(&[("package.json", "{}"), ("wrangler.toml/x", "")]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.toml", "folder"],
        then: None,
    },
    Case {
        name: "generated module that is a FIFO",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::create_dir_all(root.join("src/kv")).unwrap();
            mkfifo(&root.join("src/kv/store.ts"));
        },
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["src/kv/store.ts", "named pipe"],
        then: None,
    },
    Case {
        name: ".dev.vars that is a FIFO",
        base: Base::Copy(SAMPLE),
        setup: |root| mkfifo(&root.join(".dev.vars")),
        args: &["session"],
        stdin: b"",
        code: 2,
        says: &[".dev.vars", "named pipe"],
        then: None,
    },
    Case {
        name: "a FIFO prettier config is ignored, not waited on",
        base: Base::Copy(SAMPLE),
        setup: |root| mkfifo(&root.join(".prettierrc.json")),
        args: &["create", "ok", "--dry-run"],
        stdin: b"",
        code: 0,
        says: &["Dry run"],
        then: None,
    },
    Case {
        name: "module folder linked outside the project",
        base: Base::Copy(SAMPLE),
        setup: |root| link("../../outside", &root.join("src/kv")),
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["src/kv", "outside the project"],
        then: None,
    },
    Case {
        name: "--dir linked outside the project",
        base: Base::Copy(SAMPLE),
        setup: |root| link("/tmp", &root.join("lib")),
        args: &["create", "ok", "--dir", "lib/kv"],
        stdin: b"",
        code: 2,
        says: &["lib", "outside the project"],
        then: None,
    },
    Case {
        name: "config linked outside the project",
        base: Base::Files(&[("package.json", "{}")]),
        setup: |root| link("../outside/wrangler.toml", &root.join("wrangler.toml")),
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.toml", "outside the project"],
        then: None,
    },
    Case {
        name: ".dev.vars linked outside the project",
        base: Base::Copy(TOML),
        setup: |root| link("../outside/wrangler.toml", &root.join(".dev.vars")),
        args: &["session", "--env", "staging"],
        stdin: b"",
        code: 2,
        says: &[".dev.vars", "outside the project"],
        then: None,
    },
    Case {
        name: "a module that is a broken link",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::create_dir_all(root.join("src/kv")).unwrap();
            link("gone.ts", &root.join("src/kv/keys.ts"));
        },
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["src/kv/keys.ts", "does not exist"],
        then: None,
    },
    Case {
        name: "a file where the module folder goes",
        base: Base::Copy(SAMPLE),
        setup: |root| fs::write(root.join("src/kv"), "").unwrap(),
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["src/kv"],
        then: None,
    },
    Case {
        name: "a FIFO where a bulk file goes",
        base: Base::Files(&[("d.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n")]),
        setup: |root| {
            fs::create_dir(root.join("kv-bulk")).unwrap();
            mkfifo(&root.join("kv-bulk/d-put-0001.json"));
        },
        args: &["bulk", "put", "d.ndjson", "--binding", "X"],
        stdin: b"",
        code: 2,
        says: &["kv-bulk/d-put-0001.json", "named pipe"],
        then: None,
    },
    Case {
        name: "a bulk output folder linked outside the project",
        base: Base::Files(&[("d.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n")]),
        setup: |root| link("../outside", &root.join("kv-bulk")),
        args: &["bulk", "put", "d.ndjson", "--binding", "X"],
        stdin: b"",
        code: 2,
        says: &["--out kv-bulk", "outside the project"],
        then: None,
    },
    Case {
        name: "bulk --out outside the folder kvgen runs in",
        base: Base::Files(&[("d.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n")]),
        setup: nothing,
        args: &[
            "bulk",
            "put",
            "d.ndjson",
            "--binding",
            "X",
            "--out",
            "../outside/bulk",
        ],
        stdin: b"",
        code: 2,
        says: &["--out ../outside/bulk", "outside the project"],
        then: None,
    },
    Case {
        name: "bulk --out with a terminal escape in its name",
        base: Base::Files(&[("d.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n")]),
        setup: nothing,
        args: &[
            "bulk",
            "put",
            "d.ndjson",
            "--binding",
            "X",
            "--out",
            "o\u{1b}[31m",
        ],
        stdin: b"",
        code: 2,
        says: &["--out o\\u{1b}[31m", "control characters"],
        then: None,
    },
    Case {
        name: "a bulk field name with terminal escapes is shown escaped",
        base: Base::Files(&[(
            "e.ndjson",
            "{\"key\":\"a\",\"value\":\"1\",\"\\u001b]0;pwned\\u0007\\u001b[31mRED\":1}\n",
        )]),
        setup: nothing,
        args: &["bulk", "put", "e.ndjson", "--binding", "X"],
        stdin: b"",
        code: 2,
        says: &["e.ndjson:1:", "\\u{1b}]0;pwned"],
        then: None,
    },
    Case {
        name: "flags set --out outside the project",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["flags", "set", "beta", "--out", "../outside/beta.json"],
        stdin: b"",
        code: 2,
        says: &["--out ../outside/beta.json", "outside the project"],
        then: None,
    },
    Case {
        name: "a generated file linked to a file outside is neither read out nor written",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(
                root.join("../outside/credentials"),
                "aws_secret_access_key = SECRET123\n",
            )
            .unwrap();
            fs::create_dir_all(root.join("src/kv")).unwrap();
            link(
                "../../../outside/credentials",
                &root.join("src/kv/store.ts"),
            );
        },
        args: &["create", "ok", "--dry-run"],
        stdin: b"",
        code: 2,
        says: &["src/kv/store.ts", "outside the project"],
        then: None,
    },
    Case {
        name: "a --json dry run never shows a file linked from outside",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(
                root.join("../outside/credentials"),
                "aws_secret_access_key = SECRET123\n",
            )
            .unwrap();
            fs::create_dir_all(root.join("src/kv")).unwrap();
            link("../../../outside/credentials", &root.join("src/kv/keys.ts"));
        },
        args: &["create", "ok", "--dry-run", "--json"],
        stdin: b"",
        code: 2,
        says: &["outside the project"],
        then: None,
    },
    Case {
        name: "read-only config",
        base: Base::Copy(SAMPLE),
        setup: |root| chmod(&root.join("wrangler.jsonc"), 0o444),
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["wrangler.jsonc", "read-only", "--force"],
        then: None,
    },
    Case {
        name: "read-only .gitignore",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(root.join(".gitignore"), "node_modules\n").unwrap();
            chmod(&root.join(".gitignore"), 0o444);
        },
        args: &["session"],
        stdin: b"",
        code: 2,
        says: &[".gitignore", "read-only"],
        then: None,
    },
    Case {
        name: "a journal kvgen cannot read",
        base: Base::Copy(SAMPLE),
        setup: |root| fs::write(root.join(".kvgen-journal.json"), "{not json").unwrap(),
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &[".kvgen-journal.json", "journal"],
        then: None,
    },
    Case {
        name: "binding __proto__",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--binding", "__proto__"],
        stdin: b"",
        code: 2,
        says: &["__proto__"],
        then: None,
    },
    Case {
        name: "binding constructor for flags",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["flags", "--binding", "constructor"],
        stdin: b"",
        code: 2,
        says: &["constructor"],
        then: None,
    },
    Case {
        name: "environment toString",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["create", "ok", "--env", "toString"],
        stdin: b"",
        code: 2,
        says: &["toString"],
        then: None,
    },
    Case {
        name: "cron fields out of range",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["cache", "warm", "--cron", "99 99 99 99 99"],
        stdin: b"",
        code: 2,
        says: &["minute 99", "0-59"],
        then: None,
    },
    Case {
        name: "cron of words",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["cache", "warm", "--cron", "a b c d e"],
        stdin: b"",
        code: 2,
        says: &["--cron", "minute"],
        then: None,
    },
    Case {
        name: "cron step of zero",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["cache", "warm", "--cron", "*/0 * * * *"],
        stdin: b"",
        code: 2,
        says: &["--cron", "minute"],
        then: None,
    },
    Case {
        name: "session ttl past what browsers keep",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["session", "--ttl", "99999999999"],
        stdin: b"",
        code: 2,
        says: &["--ttl", "400 days"],
        then: None,
    },
    Case {
        name: "a .dev.vars tracked by git gets no secret",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(root.join(".dev.vars"), "API_KEY=abc\n").unwrap();
            git(root, &["init", "-q"]);
            git(root, &["add", ".dev.vars"]);
        },
        args: &["session"],
        stdin: b"",
        code: 2,
        says: &[".dev.vars", "git rm --cached .dev.vars"],
        then: None,
    },
    Case {
        name: "flags set with 20,000 ids asks for --out",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &[
            "flags",
            "set",
            "beta",
            "--allow",
            text(IDS[0]),
            "--allow",
            text(IDS[1]),
            "--allow",
            text(IDS[2]),
            "--allow",
            text(IDS[3]),
        ],
        stdin: b"",
        code: 2,
        says: &["--out"],
        then: None,
    },
    Case {
        name: "a crate root that does not parse",
        base: Base::Copy(RUST),
        setup: |root| {
            fs::write(root.join("src/lib.rs"), "use worker::*;\n\nfn broken( {\n").unwrap()
        },
        args: &["create", "ok"],
        stdin: b"",
        code: 2,
        says: &["src/lib.rs:"],
        then: None,
    },
    // Runs that succeed where the defects were.
    Case {
        name: "mod kv; goes after a multi-line inner attribute",
        base: Base::Copy(RUST),
        setup: |root| {
            let lib = fs::read_to_string(root.join("src/lib.rs")).unwrap();
            let lib = format!("#![allow(\n    dead_code,\n    unused_imports\n)]\n{lib}");
            fs::write(root.join("src/lib.rs"), lib).unwrap();
        },
        args: &["create", "ok"],
        stdin: b"",
        code: 0,
        says: &["update  src/lib.rs"],
        then: Some(|root, _| {
            let lib = fs::read_to_string(root.join("src/lib.rs")).unwrap();
            assert!(
                lib.starts_with("#![allow(\n    dead_code,\n    unused_imports\n)]\n"),
                "{lib}"
            );
            let attribute_end = lib.find(")]").unwrap();
            assert!(lib.find("mod kv;").unwrap() > attribute_end, "{lib}");
        }),
    },
    Case {
        name: "a huge prettier tabWidth is ignored",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(
                root.join(".prettierrc"),
                "{ \"tabWidth\": 1000000000, \"useTabs\": false }",
            )
            .unwrap();
            fs::remove_file(root.join(".editorconfig")).unwrap();
        },
        args: &["create", "ok"],
        stdin: b"",
        code: 0,
        says: &["create  src/kv/store.ts"],
        then: Some(|root, _| {
            let store = fs::read_to_string(root.join("src/kv/store.ts")).unwrap();
            assert!(store.len() < 100_000, "{} bytes", store.len());
        }),
    },
    Case {
        name: "an exported, quoted secret in .dev.vars is recognised",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(
                root.join(".dev.vars"),
                "\u{feff}export SESSION_SECRET=\"0123456789abcdef0123456789abcdef0123\"\n",
            )
            .unwrap();
            fs::write(root.join(".gitignore"), ".dev.vars\n").unwrap();
        },
        args: &["session"],
        stdin: b"",
        code: 0,
        says: &["identical  .dev.vars"],
        then: Some(|root, _| {
            let vars = fs::read_to_string(root.join(".dev.vars")).unwrap();
            assert_eq!(vars.matches("SESSION_SECRET").count(), 1, "{vars}");
        }),
    },
    Case {
        name: "a negated .gitignore rule is overridden and git then ignores .dev.vars",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            git(root, &["init", "-q"]);
            fs::write(root.join(".gitignore"), ".dev.vars\n!.dev.vars\n").unwrap();
        },
        args: &["session"],
        stdin: b"",
        code: 0,
        says: &["update  .gitignore"],
        then: Some(|root, _| {
            let out = std::process::Command::new("git")
                .args(["check-ignore", "-q", ".dev.vars"])
                .current_dir(root)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .status()
                .unwrap();
            assert!(out.success(), "git does not ignore .dev.vars");
        }),
    },
    // Runs that succeed: what they must and must not change.
    Case {
        name: "a TOML config without a final newline keeps it missing",
        base: Base::Files(&[
            (
                "wrangler.toml",
                "name = \"w\"\nmain = \"src/index.ts\"\nkv_namespaces = [\n  { binding = \"CACHE\" }, # production cache\n]",
            ),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 0,
        says: &["update  wrangler.toml"],
        then: Some(|root, _| {
            let text = fs::read_to_string(root.join("wrangler.toml")).unwrap();
            assert!(text.ends_with(']'), "{text:?}");
            assert!(
                text.contains("  { binding = \"CACHE\" }, # production cache\n"),
                "the comment stays on its line: {text}"
            );
            assert!(text.contains("binding = \"OK\""), "{text}");
        }),
    },
    Case {
        name: "mixed line endings stay line by line",
        base: Base::Files(&[
            (
                "wrangler.jsonc",
                "{\r\n  \"name\": \"w\",\n  \"main\": \"src/index.ts\"\r\n}\n",
            ),
            ("package.json", "{}"),
        ]),
        setup: nothing,
        args: &["create", "ok"],
        stdin: b"",
        code: 0,
        says: &["update  wrangler.jsonc"],
        then: Some(|root, _| {
            let text = fs::read_to_string(root.join("wrangler.jsonc")).unwrap();
            assert!(text.starts_with("{\r\n  \"name\": \"w\",\n"), "{text:?}");
            assert!(text.contains("\"binding\": \"OK\""), "{text}");
            assert!(text.ends_with("}\n"), "{text:?}");
        }),
    },
    Case {
        name: "flags set --out through a link inside the project, forced",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::create_dir(root.join("flags")).unwrap();
            fs::write(root.join("flags/real.json"), "{}").unwrap();
            link("flags/real.json", &root.join("beta.json"));
        },
        args: &["flags", "set", "beta", "--out", "beta.json", "--force"],
        stdin: b"",
        code: 0,
        says: &["force  beta.json"],
        then: Some(|root, _| {
            assert!(
                fs::symlink_metadata(root.join("beta.json"))
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(
                fs::read_to_string(root.join("flags/real.json")).unwrap(),
                "{\"enabled\":true}"
            );
        }),
    },
    Case {
        name: "a monorepo run from its root writes bulk files there",
        base: Base::Files(&[
            (
                "worker/wrangler.toml",
                "name = \"w\"\n\n[[kv_namespaces]]\nbinding = \"USERS\"\n",
            ),
            ("worker/package.json", "{}"),
            ("d.ndjson", "{\"key\":\"a\",\"value\":\"1\"}\n"),
        ]),
        setup: nothing,
        args: &[
            "bulk",
            "put",
            "d.ndjson",
            "--config",
            "worker/wrangler.toml",
        ],
        stdin: b"",
        code: 0,
        says: &["create  kv-bulk/d-put-0001.json", "--binding USERS"],
        then: Some(|root, _| {
            assert!(root.join("kv-bulk/d-put-0001.json").is_file());
            assert!(!root.join("worker/kv-bulk").exists());
        }),
    },
    Case {
        name: "read-only config with --force keeps its mode",
        base: Base::Copy(SAMPLE),
        setup: |root| chmod(&root.join("wrangler.jsonc"), 0o444),
        args: &["create", "ok", "--force"],
        stdin: b"",
        code: 0,
        says: &["update  wrangler.jsonc"],
        then: Some(|root, _| {
            assert_eq!(mode(&root.join("wrangler.jsonc")), 0o444);
            assert!(
                fs::read_to_string(root.join("wrangler.jsonc"))
                    .unwrap()
                    .contains("\"OK\"")
            );
        }),
    },
    Case {
        name: "a config linked inside the project is written through the link",
        base: Base::Files(&[
            ("package.json", "{}"),
            (
                "config/wrangler.toml",
                "name = \"w\"\nmain = \"src/index.ts\"\n",
            ),
        ]),
        setup: |root| link("config/wrangler.toml", &root.join("wrangler.toml")),
        args: &["create", "ok"],
        stdin: b"",
        code: 0,
        says: &["update  wrangler.toml"],
        then: Some(|root, _| {
            let meta = fs::symlink_metadata(root.join("wrangler.toml")).unwrap();
            assert!(meta.file_type().is_symlink(), "the link stays a link");
            let text = fs::read_to_string(root.join("config/wrangler.toml")).unwrap();
            assert!(text.contains("binding = \"OK\""), "{text}");
        }),
    },
    Case {
        name: "new files honour the umask and .dev.vars is private",
        base: Base::Copy(SAMPLE),
        setup: nothing,
        args: &["session"],
        stdin: b"",
        code: 0,
        says: &["create  .dev.vars"],
        then: Some(|root, _| {
            // Under any umask (see the umask test for new files' modes).
            assert_eq!(mode(&root.join(".dev.vars")) & 0o077, 0);
        }),
    },
    Case {
        name: "a dry run shows no value of .dev.vars",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(
                root.join(".dev.vars"),
                "# local\nexport API_KEY=\"sk_live_123\"\nDB_PASSWORD=hunter2\n",
            )
            .unwrap();
            fs::write(root.join(".gitignore"), ".dev.vars\n").unwrap();
        },
        args: &["session", "--dry-run"],
        stdin: b"",
        code: 0,
        says: &["DB_PASSWORD=<value not shown>"],
        then: Some(|_, out| {
            for secret in ["sk_live_123", "hunter2"] {
                assert!(!out.stdout.contains(secret), "{}", out.stdout);
            }
        }),
    },
    Case {
        name: "a --json dry run shows no value of .dev.vars",
        base: Base::Copy(SAMPLE),
        setup: |root| {
            fs::write(root.join(".dev.vars"), "API_KEY=sk_live_123\n").unwrap();
            fs::write(root.join(".gitignore"), ".dev.vars\n").unwrap();
        },
        args: &["session", "--dry-run", "--json"],
        stdin: b"",
        code: 0,
        says: &["API_KEY=<value not shown>"],
        then: Some(|_, out| assert!(!out.stdout.contains("sk_live_123"), "{}", out.stdout)),
    },
];

fn run_case(case: &Case) {
    let dir = tempfile::tempdir().unwrap();
    let outer = fs::canonicalize(dir.path()).unwrap();
    let root = outer.join("project");
    fs::create_dir(&root).unwrap();
    fs::create_dir(outer.join("outside")).unwrap();
    fs::write(
        outer.join("outside/wrangler.toml"),
        "name = \"outside\"\nmain = \"src/index.ts\"\n",
    )
    .unwrap();
    match &case.base {
        Base::Copy(fixture) => {
            copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture), &root)
        }
        Base::Files(files) => {
            for (name, text) in *files {
                let path = root.join(name);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, text).unwrap();
            }
        }
    }
    (case.setup)(&root);
    let before = snapshot(&outer);
    let output = Command::cargo_bin("kvgen")
        .unwrap()
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .current_dir(&root)
        .args(case.args)
        .write_stdin(case.stdin.to_vec())
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let out = Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let context = format!(
        "case {:?}\nstdout:\n{}\nstderr:\n{}",
        case.name, out.stdout, out.stderr
    );
    assert_eq!(output.status.code(), Some(case.code), "{context}");
    let said = if out.stderr.trim().is_empty() || case.code == 0 {
        format!("{}{}", out.stdout, out.stderr)
    } else {
        out.stderr.clone()
    };
    for words in case.says {
        assert!(said.contains(words), "{words:?} not said; {context}");
    }
    assert!(
        !said.contains('\u{1b}'),
        "a raw terminal escape reached the terminal; {context}"
    );
    assert!(
        !said.contains("SECRET123"),
        "a file outside the project was shown; {context}"
    );
    let after = snapshot(&outer);
    match case.then {
        None => assert_same_tree(&before, &after, &context),
        Some(check) => check(&root, &out),
    }
    let leftovers: Vec<_> = after
        .keys()
        .filter(|p| p.to_string_lossy().contains(".kvgen-") && !before.contains_key(*p))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?} left; {context}");
}

#[cfg(unix)]
#[test]
fn new_files_get_the_modes_the_umask_allows_and_secrets_stay_private() {
    for (umask, module, secrets) in [
        ("027", 0o640, 0o600),
        ("002", 0o664, 0o600),
        ("077", 0o600, 0o600),
    ] {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE),
            dir.path(),
        );
        let config_mode = mode(&dir.path().join("wrangler.jsonc"));
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$KVGEN\" session"))
            .env("KVGEN", env!("CARGO_BIN_EXE_kvgen"))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            mode(&dir.path().join("src/kv/session.ts")),
            module,
            "umask {umask}"
        );
        assert_eq!(
            mode(&dir.path().join(".gitignore")),
            module,
            "umask {umask}"
        );
        assert_eq!(
            mode(&dir.path().join(".dev.vars")),
            secrets,
            "umask {umask}"
        );
        // An existing file keeps its mode.
        let config = dir.path().join("wrangler.jsonc");
        assert_eq!(mode(&config), config_mode, "umask {umask}");
    }
}

#[cfg(unix)]
#[test]
fn every_fault_and_bad_input_keeps_the_promise() {
    let mut names = std::collections::HashSet::new();
    let mut failed = Vec::new();
    for case in CASES {
        assert!(names.insert(case.name), "two cases named {:?}", case.name);
        if std::panic::catch_unwind(|| run_case(case)).is_err() {
            failed.push(case.name);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed: {failed:?}",
        failed.len(),
        CASES.len()
    );
}
