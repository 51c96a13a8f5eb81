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
