//! `.dev.vars` read the way Wrangler reads it. `wrangler dev` loads the file
//! with `dotenv.parse` from the `dotenv` npm package, whose default parser is
//! one ECMAScript regular expression applied over the whole text (CRLF and CR
//! turned into LF first), each value then trimmed, unquoted when it is
//! wrapped in matching quotes, and `\n`/`\r` expanded when they were double
//! quotes; when a key appears more than once the last one wins. The same
//! expressions run here in `regress`, an ECMAScript regular expression
//! engine, so `export KEY=…`, `KEY: …`, quoted and multi-line values,
//! comments, spaces and a leading byte-order mark all read as they do for
//! Wrangler.
//!
//! [`local_vars`] says which of these files `wrangler dev` reads for an
//! environment, as wrangler 4 decides it.

use std::path::Path;
use std::sync::OnceLock;

use regress::Regex;

/// dotenv's `LINE` (flags `mg`), unchanged.
const LINE: &str = r#"(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)"#;

/// The quotes dotenv removes from a value (flags `mg`), unchanged.
const QUOTED: &str = r#"^(['"`])([\s\S]*)\1$"#;

/// One `KEY=value` as dotenv reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// The 1-based line the key is on.
    pub line: usize,
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::with_flags(pattern, "m").expect("dotenv's expressions compile"))
}

fn line_regex() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, LINE)
}

fn quoted_regex() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, QUOTED)
}

/// Every entry of `text`, in order (a key defined twice appears twice; the
/// last one is the one dotenv keeps).
pub fn parse(text: &str) -> Vec<Entry> {
    let text = normalize_line_breaks(text);
    let mut entries = Vec::new();
    for found in line_regex().find_iter(&text) {
        let Some(key) = found.group(1) else {
            continue;
        };
        let raw = found.group(2).map_or("", |range| &text[range]);
        let line = 1 + text[..key.start].matches('\n').count();
        entries.push(Entry {
            key: text[key].to_string(),
            value: value(raw),
            line,
        });
    }
    entries
}

/// The entry dotenv keeps for `key`: its last definition.
pub fn get<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries.iter().rev().find(|entry| entry.key == key)
}

/// The file wrangler reads local variables from when there is none.
pub const DEV_VARS: &str = ".dev.vars";

/// The variable that turns off wrangler's reading of `.env` files for
/// `wrangler dev` (`"false"`, in any case; anything else keeps it on).
pub const LOAD_FROM_DOT_ENV: &str = "CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV";

/// The files `wrangler dev` reads a Worker's local variables and secrets
/// from, for one environment, and the one a new variable goes to.
///
/// Wrangler (`getVarsForDev`, 4.86) looks in the config's folder: when
/// `.dev.vars.<env>` exists it reads that file alone, else when `.dev.vars`
/// exists it reads that alone (an empty one counts); only when neither
/// exists does it merge `.env`, `.env.local`, `.env.<env>` and
/// `.env.<env>.local`, in that order, a later file's value winning, unless
/// [`LOAD_FROM_DOT_ENV`] is `false`. So creating a `.dev.vars` in a project
/// that keeps its secrets in `.env` files silently hides them from
/// `wrangler dev`, in every environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalVars {
    /// The files wrangler reads, in the order it merges them (a later file's
    /// value wins); empty when it reads none yet.
    pub read: Vec<String>,
    /// Where a new variable goes: the file wrangler reads last; when it
    /// reads none, a new `.env` in a project that keeps variables in `.env`
    /// files (for any of its environments), else a new `.dev.vars`.
    pub target: String,
}

/// [`LocalVars`] of the project whose Wrangler config is in `root`, for the
/// top level (`env` None) or `--env NAME`; `environments` are the config's
/// (`env.NAME`), whose `.env` files show that the project uses them.
pub fn local_vars(root: &Path, env: Option<&str>, environments: &[String]) -> LocalVars {
    let from_dot_env = loads_from_dot_env(root, env);
    choose(env, environments, from_dot_env, |name| {
        root.join(name).exists()
    })
}

/// Whether `wrangler dev` reads `.env` files: [`LOAD_FROM_DOT_ENV`] from
/// kvgen's own environment, else from the `.env` files (wrangler loads them
/// into its environment at start-up, its own variables winning).
pub fn loads_from_dot_env(root: &Path, env: Option<&str>) -> bool {
    let switch = std::env::var(LOAD_FROM_DOT_ENV).ok().or_else(|| {
        let mut value = None;
        for name in dot_env_files(env) {
            let text = std::fs::read_to_string(root.join(&name)).unwrap_or_default();
            if let Some(entry) = get(&parse(&text), LOAD_FROM_DOT_ENV) {
                value = Some(entry.value.clone());
            }
        }
        value
    });
    !switch.is_some_and(|v| v.eq_ignore_ascii_case("false"))
}

/// An environment name that can be part of a file name in the root.
fn plain(env: &str) -> bool {
    !env.is_empty() && !env.contains(['/', '\\', '\0']) && env != "." && env != ".."
}

/// The `.env` files wrangler merges for `env`, in order.
fn dot_env_files(env: Option<&str>) -> Vec<String> {
    let mut files = vec![".env".to_string(), ".env.local".to_string()];
    if let Some(env) = env.filter(|e| plain(e)) {
        files.push(format!(".env.{env}"));
        files.push(format!(".env.{env}.local"));
    }
    files
}

/// Wrangler's choice for `env`, given which files exist (`exists`, names
/// relative to the root) and whether it reads `.env` files.
pub fn choose(
    env: Option<&str>,
    environments: &[String],
    from_dot_env: bool,
    exists: impl Fn(&str) -> bool,
) -> LocalVars {
    let only = |name: String| LocalVars {
        read: vec![name.clone()],
        target: name,
    };
    if let Some(env) = env.filter(|e| plain(e)) {
        let own = format!("{DEV_VARS}.{env}");
        if exists(&own) {
            return only(own);
        }
    }
    if exists(DEV_VARS) {
        return only(DEV_VARS.to_string());
    }
    if !from_dot_env {
        return only_new(DEV_VARS);
    }
    let read: Vec<String> = dot_env_files(env)
        .into_iter()
        .filter(|n| exists(n))
        .collect();
    if let Some(last) = read.last().cloned() {
        return LocalVars { read, target: last };
    }
    // Nothing for this environment: a `.dev.vars` would hide the `.env`
    // files of the others (unless one has a `.dev.vars.<env>` of its own).
    let uses_dot_env = std::iter::once(None)
        .chain(environments.iter().map(|e| Some(e.as_str())))
        .filter(|e| !e.is_some_and(|e| exists(&format!("{DEV_VARS}.{e}"))))
        .any(|e| dot_env_files(e).iter().any(|n| exists(n)));
    only_new(if uses_dot_env { ".env" } else { DEV_VARS })
}

fn only_new(name: &str) -> LocalVars {
    LocalVars {
        read: Vec::new(),
        target: name.to_string(),
    }
}

/// `\r\n` and lone `\r` as `\n`, as dotenv does before parsing.
fn normalize_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// A raw value as dotenv turns it into the variable's value.
fn value(raw: &str) -> String {
    let trimmed = raw.trim_matches(is_js_whitespace);
    let double_quoted = trimmed.starts_with('"');
    let unquoted = quoted_regex().replace_all_with(trimmed, |found| {
        found
            .group(2)
            .map_or_else(String::new, |range| trimmed[range].to_string())
    });
    if double_quoted {
        unquoted.replace("\\n", "\n").replace("\\r", "\r")
    } else {
        unquoted
    }
}

/// What `String.prototype.trim` removes: ECMAScript's WhiteSpace and
/// LineTerminator (which, unlike Rust's `char::is_whitespace`, include
/// U+FEFF and exclude U+0085).
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .into_iter()
            .map(|entry| (entry.key, entry.value))
            .collect()
    }

    fn one(text: &str) -> String {
        let entries = parse(text);
        get(&entries, "SECRET")
            .unwrap_or_else(|| panic!("no SECRET in {text:?}: {entries:?}"))
            .value
            .clone()
    }

    #[test]
    fn plain_spaced_exported_and_colon_forms() {
        assert_eq!(one("SECRET=abc"), "abc");
        assert_eq!(one("SECRET = abc  "), "abc");
        assert_eq!(one("  SECRET=abc\n"), "abc");
        assert_eq!(one("export SECRET=abc"), "abc");
        assert_eq!(one("export   SECRET=abc"), "abc");
        assert_eq!(one("SECRET: abc"), "abc");
        assert_eq!(one("\tSECRET\t=\tabc\t"), "abc");
        // `KEY:value` without a space is not a definition.
        assert_eq!(pairs("SECRET:abc"), []);
        assert_eq!(pairs("exportSECRET=abc")[0].0, "exportSECRET");
    }

    #[test]
    fn quotes_are_removed_and_double_quotes_expand_newlines() {
        assert_eq!(one("SECRET='a b # c'"), "a b # c");
        assert_eq!(one("SECRET=\"a b # c\" # note"), "a b # c");
        assert_eq!(one("SECRET=`a'b\"c`"), "a'b\"c");
        assert_eq!(one(r#"SECRET="a\nb""#), "a\nb");
        assert_eq!(one(r"SECRET='a\nb'"), r"a\nb");
        assert_eq!(one("SECRET=\"  padded  \""), "  padded  ");
        // Quotes that do not close are part of the value.
        assert_eq!(one("SECRET=\"abc"), "\"abc");
        assert_eq!(one("SECRET='abc\" # x"), "'abc\"");
    }

    #[test]
    fn comments_and_empty_values() {
        assert_eq!(one("SECRET=abc # a comment"), "abc");
        assert_eq!(one("SECRET=abc#no space"), "abc");
        assert_eq!(one("SECRET="), "");
        assert_eq!(one("SECRET=\nOTHER=x"), "");
        assert_eq!(one("SECRET=   # only a comment"), "");
        assert_eq!(pairs("# SECRET=commented out\n"), []);
        assert_eq!(pairs("   # SECRET=x"), []);
    }

    #[test]
    fn multi_line_values_hide_what_looks_like_keys() {
        let text = "CERT=\"line one\nSECRET=inside\nline three\"\nOTHER=1\n";
        assert_eq!(
            pairs(text),
            [
                (
                    "CERT".to_string(),
                    "line one\nSECRET=inside\nline three".to_string()
                ),
                ("OTHER".to_string(), "1".to_string()),
            ]
        );
        let entries = parse(text);
        assert_eq!(get(&entries, "OTHER").unwrap().line, 4);
    }

    #[test]
    fn crlf_cr_and_a_byte_order_mark() {
        assert_eq!(one("\u{feff}SECRET=abc\r\n"), "abc");
        assert_eq!(pairs("A=1\r\nSECRET=abc\r\n").len(), 2);
        assert_eq!(pairs("A=1\rSECRET=abc\r").len(), 2);
        assert_eq!(one("A=\"x\r\ny\"\r\nSECRET='v'\r\n"), "v");
        let entries = parse("A=1\r\nB=2\r\nSECRET=abc\r\n");
        assert_eq!(get(&entries, "SECRET").unwrap().line, 3);
    }

    #[test]
    fn the_last_definition_wins() {
        let entries = parse("SECRET=first\nOTHER=x\nexport SECRET=\"second\"\n");
        let last = get(&entries, "SECRET").unwrap();
        assert_eq!((last.value.as_str(), last.line), ("second", 3));
    }

    #[test]
    fn keys_are_whole_names() {
        assert!(get(&parse("SECRETS=x\nMY_SECRET=y\n"), "SECRET").is_none());
        assert_eq!(pairs("a.b-c=1")[0].0, "a.b-c");
    }

    #[test]
    fn javascript_whitespace_is_trimmed() {
        assert_eq!(one("SECRET=abc\u{3000}"), "abc");
        assert_eq!(one("SECRET=\u{a0}abc"), "abc");
        // U+0085 is not whitespace in JavaScript.
        assert_eq!(one("SECRET=abc\u{85}"), "abc\u{85}");
    }

    fn chosen(env: Option<&str>, files: &[&str]) -> LocalVars {
        let environments = ["staging".to_string(), "production".to_string()];
        choose(env, &environments, true, |name| files.contains(&name))
    }

    fn vars(read: &[&str], target: &str) -> LocalVars {
        LocalVars {
            read: read.iter().map(|s| s.to_string()).collect(),
            target: target.to_string(),
        }
    }

    #[test]
    fn an_environment_s_own_dev_vars_is_read_alone() {
        let all = [".dev.vars.staging", ".dev.vars", ".env", ".env.staging"];
        let own = vars(&[".dev.vars.staging"], ".dev.vars.staging");
        assert_eq!(chosen(Some("staging"), &all), own);
        // Another environment, and the top level, read .dev.vars.
        let shared = vars(&[".dev.vars"], ".dev.vars");
        assert_eq!(chosen(Some("production"), &all), shared);
        assert_eq!(chosen(None, &all), shared);
        assert_eq!(
            chosen(None, &[".dev.vars.staging"]),
            vars(&[], ".dev.vars"),
            "the top level never reads an environment's file"
        );
    }

    #[test]
    fn a_dev_vars_hides_every_env_file() {
        let files = [".dev.vars", ".env", ".env.local"];
        assert_eq!(chosen(None, &files), vars(&[".dev.vars"], ".dev.vars"));
    }

    #[test]
    fn env_files_merge_in_wrangler_s_order_and_the_last_takes_new_values() {
        let all = [
            ".env.staging.local",
            ".env.local",
            ".env.staging",
            ".env",
            ".env.production",
        ];
        assert_eq!(
            chosen(Some("staging"), &all),
            vars(
                &[".env", ".env.local", ".env.staging", ".env.staging.local"],
                ".env.staging.local"
            )
        );
        assert_eq!(
            chosen(None, &all),
            vars(&[".env", ".env.local"], ".env.local")
        );
        assert_eq!(
            chosen(Some("dev"), &[".env"]),
            vars(&[".env"], ".env"),
            "no file is made for the environment"
        );
        assert_eq!(chosen(Some("dev"), &[]), vars(&[], ".dev.vars"));
    }

    #[test]
    fn a_new_file_is_an_env_when_another_environment_reads_env_files() {
        // .dev.vars would hide .env.staging from `wrangler dev --env staging`.
        assert_eq!(chosen(None, &[".env.staging"]), vars(&[], ".env"));
        assert_eq!(
            chosen(Some("production"), &[".env.staging.local"]),
            vars(&[], ".env")
        );
        // ...unless staging has a .dev.vars.staging, which it reads anyway.
        assert_eq!(
            chosen(None, &[".env.staging", ".dev.vars.staging"]),
            vars(&[], ".dev.vars")
        );
        // An environment the config does not have does not count.
        assert_eq!(chosen(None, &[".env.example"]), vars(&[], ".dev.vars"));
    }

    #[test]
    fn the_switch_turns_env_files_off() {
        let off = choose(None, &[], false, |name| name == ".env");
        assert_eq!(off, vars(&[], ".dev.vars"));
    }

    #[test]
    fn the_switch_is_read_from_the_env_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "A=1\n").unwrap();
        std::fs::write(
            dir.path().join(".env.staging"),
            format!("{LOAD_FROM_DOT_ENV}=False\n"),
        )
        .unwrap();
        if std::env::var_os(LOAD_FROM_DOT_ENV).is_none() {
            assert!(loads_from_dot_env(dir.path(), None));
            assert!(!loads_from_dot_env(dir.path(), Some("staging")));
            assert_eq!(local_vars(dir.path(), None, &[]), vars(&[".env"], ".env"));
            assert_eq!(
                local_vars(dir.path(), Some("staging"), &[]),
                vars(&[], ".dev.vars")
            );
        }
    }

    #[test]
    fn environment_names_that_are_not_file_names_read_the_shared_files() {
        assert_eq!(
            chosen(Some("../x"), &[".dev.vars.../x", ".env"]),
            vars(&[".env"], ".env")
        );
    }

    /// The same answers as the npm package on 3000 inputs, hand-written and
    /// random (tests/fixtures/dotenv/generate.js made them with it).
    #[test]
    fn agrees_with_the_dotenv_package() {
        let data: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/dotenv/vectors.json"
        )))
        .unwrap();
        let vectors = data["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), 3000);
        for vector in vectors {
            let input = vector["input"].as_str().unwrap();
            let mut parsed = serde_json::Map::new();
            for entry in parse(input) {
                parsed.insert(entry.key, serde_json::Value::String(entry.value));
            }
            assert_eq!(
                serde_json::Value::Object(parsed),
                vector["parsed"],
                "{input:?}"
            );
        }
    }
}
