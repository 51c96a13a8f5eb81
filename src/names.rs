//! Validation of every name a user hands to kvgen, before anything is rendered.
//!
//! Names end up in generated code, in the Wrangler config and in the shell
//! commands kvgen prints, so only a conservative alphabet gets through.
//! Where each one goes, and what keeps it safe there:
//!
//! - binding (`--binding`, or derived from the namespace): a key of the
//!   config, a property of the Worker's `env` (and of the `Env` type
//!   `wrangler types` writes), `env.kv("…")` in Rust, `--binding B` in
//!   printed commands. An ASCII JavaScript identifier, not a reserved word,
//!   and not a name every JavaScript object already has (`__proto__`,
//!   `constructor`, `toString`, …) or treats specially (`then`, `toJSON`).
//!   Derived bindings are upper case, so they are never one of those.
//! - namespace (`create NAMESPACE`): only in the printed
//!   `wrangler kv namespace create` command and the derived binding; letters,
//!   digits, `-`, `_`, `.`.
//! - environment (`--env`): a key of the config (`env.NAME`) and a word of
//!   printed commands; letters, digits, `-`, `_`, and not an
//!   `Object.prototype` member.
//! - cookie (`session --cookie`): a string literal in the generated module
//!   (escaped by the template) compared as a plain string; an RFC 6265 token.
//! - flag (`flags set NAME`): part of a KV key (`flag:NAME`) that the
//!   generated modules keep in a `Map`, and of a printed command; letters,
//!   digits, `-`, `_`, `.`.
//! - module folder (`--dir`): checked where the folder is resolved (plain
//!   relative names; for Rust a `snake_case` module that is not a keyword).
//!
//! Values shown back in messages go through [`show`] (names) or
//! [`show_path`] (paths), which escape control characters.

use std::path::Path;

use heck::ToShoutySnakeCase;

use crate::error::BadInput;

/// Words that cannot be used as a JavaScript binding name (ECMAScript reserved
/// words, strict-mode reserved words, and the literals).
const JS_RESERVED: &[&str] = &[
    "arguments",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "undefined",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// Names every JavaScript object already has (the members of
/// `Object.prototype`). A binding or environment with one of these names
/// would be shadowed by, or would shadow, that member: `env.__proto__` is the
/// prototype, not a KV namespace, and Wrangler's own lookups of `env.NAME`
/// in the config would find the member when the environment is missing.
pub(crate) const OBJECT_PROTOTYPE: &[&str] = &[
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
];

/// Other names JavaScript treats specially on an object, with the reason.
const JS_SPECIAL: &[(&str, &str)] = &[
    (
        "then",
        "an object with a `then` member is taken for a promise, so awaiting or returning env would call the namespace",
    ),
    (
        "toJSON",
        "JSON.stringify(env) would call the namespace as env.toJSON()",
    ),
    (
        "prototype",
        "it is the prototype property of functions and classes",
    ),
];

/// Why `name` cannot be a property of the Worker's `env` object, if it
/// cannot.
fn js_special(name: &str) -> Option<String> {
    if OBJECT_PROTOTYPE.contains(&name) {
        return Some(format!(
            "every JavaScript object already has `{name}` (from Object.prototype)"
        ));
    }
    JS_SPECIAL
        .iter()
        .find(|(special, _)| *special == name)
        .map(|(_, why)| (*why).to_string())
}

/// Longest namespace name accepted (Cloudflare's own limit on titles is
/// larger; this keeps printed commands readable).
const MAX_NAMESPACE_LEN: usize = 64;

/// Checks a namespace name: letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit.
pub fn namespace(name: &str) -> Result<&str, BadInput> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() {
        return Err(BadInput::new("the namespace name is empty"));
    }
    if name.len() > MAX_NAMESPACE_LEN {
        return Err(BadInput::new(format!(
            "the namespace name {} is {} characters long; kvgen accepts at most {MAX_NAMESPACE_LEN}",
            show(name),
            name.chars().count()
        )));
    }
    if let Some(bad) = name.chars().find(|c| !valid_char(*c)) {
        return Err(BadInput::new(format!(
            "the namespace name {} contains {}; use letters, digits, '-', '_' and '.'",
            show(name),
            show_char(bad)
        )));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(BadInput::new(format!(
            "the namespace name {} must start with a letter or a digit",
            show(name)
        )));
    }
    Ok(name)
}

/// The binding derived from a namespace name: SHOUTY_SNAKE_CASE, characters
/// outside `[A-Za-z0-9_]` dropped, a leading digit prefixed with `_`, and `KV`
/// when nothing is left.
pub fn binding_from_namespace(namespace: &str) -> String {
    let mut binding: String = namespace
        .to_shouty_snake_case()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if binding.is_empty() {
        return "KV".to_string();
    }
    if binding.starts_with(|c: char| c.is_ascii_digit()) {
        binding.insert(0, '_');
    }
    binding
}

/// Checks a binding name given with `--binding`: an ASCII JavaScript
/// identifier that is not a reserved word.
pub fn binding(name: &str) -> Result<&str, BadInput> {
    if name.is_empty() {
        return Err(BadInput::new("the binding name is empty"));
    }
    let mut chars = name.chars();
    let first = chars.next().unwrap_or_default();
    let first_ok = first.is_ascii_alphabetic() || first == '_' || first == '$';
    if let Some(bad) = std::iter::once(first)
        .filter(|_| !first_ok)
        .chain(chars.filter(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '$')))
        .next()
    {
        return Err(BadInput::new(format!(
            "the binding {} is not a JavaScript identifier: it contains {} (use letters, digits, '_' and '$', not starting with a digit)",
            show(name),
            show_char(bad)
        )));
    }
    if JS_RESERVED.contains(&name) {
        return Err(BadInput::new(format!(
            "the binding {} is a reserved word in JavaScript; choose another name",
            show(name)
        )));
    }
    if let Some(why) = js_special(name) {
        return Err(BadInput::new(format!(
            "the binding {} cannot be a property of the Worker's env: {why}; choose another name",
            show(name)
        )));
    }
    Ok(name)
}

/// Checks an environment name given with `--env`: letters, digits, `-` and
/// `_`, starting with a letter or digit, and not a member every JavaScript
/// object has (Wrangler looks environments up as `env[NAME]` in the parsed
/// config, where `toString` or `constructor` always exists).
pub fn env(name: &str) -> Result<&str, BadInput> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAMESPACE_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(BadInput::new(format!(
            "the environment name {} is not valid; use letters, digits, '-' and '_', starting with a letter or digit",
            show(name)
        )));
    }
    if OBJECT_PROTOTYPE.contains(&name) {
        return Err(BadInput::new(format!(
            "the environment name {} is a member every JavaScript object has (Object.prototype), so Wrangler would find it in any config; choose another name",
            show(name)
        )));
    }
    Ok(name)
}

/// Quotes a word for a POSIX shell: inside single quotes nothing is special
/// but the single quote itself, written as '\''.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// A word for a POSIX shell: as it is when no character in it is special
/// to the shell, else quoted (a binding such as `$kv` would otherwise be
/// expanded by the shell).
pub fn shell_word(word: &str) -> String {
    let plain = word.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '@' | '+' | ',')
    });
    if plain && !word.is_empty() {
        word.to_string()
    } else {
        shell_quote(word)
    }
}

/// Checks a namespace id (`--id`, `--preview-id`): 32 lowercase hex characters,
/// as `wrangler kv namespace create` prints them.
pub fn namespace_id<'a>(flag: &str, id: &'a str) -> Result<&'a str, BadInput> {
    if id.len() == 32 && id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        Ok(id)
    } else {
        Err(BadInput::new(format!(
            "{flag} {} is not a namespace id: expected 32 lowercase hex characters, as printed by `wrangler kv namespace create`",
            show(id)
        )))
    }
}

/// Checks a feature flag's name: letters, digits, '-', '_' and '.',
/// starting with a letter or digit, at most 200 characters (it becomes part
/// of a KV key and of a printed shell command).
pub fn flag(name: &str) -> Result<&str, BadInput> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(BadInput::new(format!(
            "the flag name {} is not valid; use letters, digits, '-', '_' and '.', starting with a letter or digit",
            show(name)
        )))
    }
}

/// Checks a cookie name: an RFC 6265 token (visible ASCII without
/// separators), at most 64 characters, e.g. `session` or `__Host-sid`.
pub fn cookie_name(name: &str) -> Result<&str, BadInput> {
    let token = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
    if !name.is_empty() && name.len() <= 64 && name.chars().all(token) {
        Ok(name)
    } else {
        Err(BadInput::new(format!(
            "--cookie {}: a cookie name is letters, digits and !#$%&'*+-.^_`|~ only (at most 64), e.g. session or __Host-sid",
            show(name)
        )))
    }
}

/// A user value shown inside an error message, escaped so that control
/// characters and quotes cannot garble the terminal.
pub fn show(value: &str) -> String {
    format!("{value:?}")
}

fn show_char(c: char) -> String {
    format!("{c:?}")
}

/// A path shown inside a message, escaped like [`show`] escapes a name
/// (control and other non-printing characters as `\n`, `\u{1b}`, …) so
/// that a file name cannot move the cursor, recolour or retitle the
/// terminal; bytes that are not UTF-8 are shown as `\xNN`. Unlike [`show`]
/// it adds no quotes and leaves `\` and `"` alone, so an ordinary path
/// reads as it is (`src/kv/store.ts:3:1: …`).
pub fn show_path(path: &Path) -> String {
    let mut out = String::new();
    for chunk in path.as_os_str().as_encoded_bytes().utf8_chunks() {
        push_printable(&mut out, chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// `path` relative to the folder `from` (both absolute, links resolved),
/// with `/` separators, for messages: `.` for `from` itself, `../x` above
/// it; printable (see [`show_path`]).
pub fn relative_path(path: &Path, from: &Path) -> String {
    let path_parts: Vec<_> = path.components().collect();
    let from_parts: Vec<_> = from.components().collect();
    let common = path_parts
        .iter()
        .zip(&from_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return show_path(path);
    }
    let mut parts: Vec<String> = vec!["..".to_string(); from_parts.len() - common];
    parts.extend(
        path_parts[common..]
            .iter()
            .map(|c| show_path(Path::new(c.as_os_str()))),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Appends `text` with the characters `{:?}` escapes escaped the same way,
/// but without the quotes and without escaping `\` and `"`.
fn push_printable(out: &mut String, text: &str) {
    let debug = format!("{text:?}");
    let inner = &debug[1..debug.len() - 1];
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        // Every backslash in Debug output starts an escape: `\\` and `\"`
        // stand for themselves here; the others (`\n`, `\u{…}`) stay.
        match chars.next() {
            Some(next @ ('\\' | '"')) => out.push(next),
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
}

/// Text for the terminal: line breaks (LF, CRLF) and tabs as they are,
/// every other character [`show_path`] would escape (control characters,
/// a lone CR, invisible and direction-changing characters) escaped the same
/// way, so that no text kvgen prints (a message quoting a user's data, a
/// diff of a user's file) can move the cursor, recolour or retitle the
/// terminal.
pub fn terminal_text(text: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c == '\n' || c == '\t' || (' '..'\u{7f}').contains(&c);
    if text.chars().all(plain) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        let keep = plain(c) || (c == '\r' && chars.peek() == Some(&'\n'));
        if keep && c != '\\' && c != '"' {
            out.push(c);
        } else {
            // One character at a time escapes as the whole text would
            // (Debug escapes each character on its own).
            push_printable(&mut out, c.encode_utf8(&mut buf));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON text (as serde_json writes it: ASCII control characters already
/// escaped) with the other characters [`terminal_text`] escapes written as
/// `\uXXXX` escapes, which mean the same to a JSON reader.
pub fn json_text(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| !c.is_ascii() && format!("{c:?}").contains("\\u{");
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_escapes_invisible_characters_as_json_does() {
        let text = serde_json::to_string(&"a\u{1b}b\u{202e}c\u{9b}d日").unwrap();
        let safe = json_text(&text);
        assert_eq!(safe, "\"a\\u001bb\\u202ec\\u009bd日\"");
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "a\u{1b}b\u{202e}c\u{9b}d日");
    }

    #[test]
    fn terminal_text_escapes_all_but_line_breaks_and_tabs() {
        assert_eq!(terminal_text("a\tb\r\nc\n"), "a\tb\r\nc\n");
        assert_eq!(
            terminal_text("x\u{1b}]0;owned\u{7}\u{1b}[31mred\rover\u{202e}"),
            "x\\u{1b}]0;owned\\u{7}\\u{1b}[31mred\\rover\\u{202e}"
        );
        assert_eq!(terminal_text("日本 \"q\" \\"), "日本 \"q\" \\");
    }

    #[test]
    fn bindings_from_namespaces_follow_the_cli_rule() {
        assert_eq!(binding_from_namespace("user-cache"), "USER_CACHE");
        assert_eq!(binding_from_namespace("userCache"), "USER_CACHE");
        assert_eq!(binding_from_namespace("sessions"), "SESSIONS");
        assert_eq!(binding_from_namespace("v2.flags"), "V2_FLAGS");
        assert_eq!(binding_from_namespace("2fa-codes"), "_2FA_CODES");
        assert_eq!(binding_from_namespace("---"), "KV");
        assert_eq!(binding_from_namespace("__"), "KV");
    }

    #[test]
    fn namespaces_reject_anything_outside_the_alphabet() {
        for bad in [
            "", "a b", "a\"b", "a`b", "a${b}", "a\nb", "../x", "x/y", "-x", ".x", "é",
        ] {
            assert!(namespace(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(namespace(&"a".repeat(65)).is_err());
        for good in ["users", "user-cache", "v2.flags", "2fa", "a_b"] {
            assert_eq!(namespace(good).unwrap(), good);
        }
    }

    #[test]
    fn bindings_must_be_identifiers_and_not_reserved() {
        for good in ["CACHE", "_x", "$kv", "userCache", "KV2"] {
            assert_eq!(binding(good).unwrap(), good);
        }
        for bad in [
            "", "2KV", "A-B", "A B", "a\"", "a`", "${x}", "a\n", "class", "await", "null",
        ] {
            assert!(binding(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn bindings_that_javascript_objects_already_have_are_refused() {
        for special in [
            "__proto__",
            "constructor",
            "prototype",
            "toString",
            "hasOwnProperty",
            "valueOf",
            "isPrototypeOf",
            "propertyIsEnumerable",
            "toLocaleString",
            "__defineGetter__",
            "__lookupSetter__",
            "then",
            "toJSON",
        ] {
            let error = binding(special).unwrap_err().to_string();
            assert!(error.contains(&format!("{special:?}")), "{error}");
            assert!(error.contains("env"), "{error}");
        }
        // Only the exact names: the same words in another case are plain
        // identifiers.
        for fine in ["CONSTRUCTOR", "Then", "TO_STRING", "proto", "VALUE_OF"] {
            assert_eq!(binding(fine).unwrap(), fine);
        }
    }

    #[test]
    fn derived_bindings_are_always_valid_bindings() {
        for namespace in [
            "__proto__",
            "constructor",
            "to-string",
            "then",
            "class",
            "2fa",
            "---",
            "valueOf",
        ] {
            let derived = binding_from_namespace(namespace);
            assert_eq!(binding(&derived).unwrap(), derived, "{namespace}");
        }
    }

    #[test]
    fn ids_are_32_lowercase_hex() {
        assert!(namespace_id("--id", "0123456789abcdef0123456789abcdef").is_ok());
        assert!(namespace_id("--id", "0123456789ABCDEF0123456789abcdef").is_err());
        assert!(namespace_id("--id", "0123").is_err());
        assert!(namespace_id("--id", "0123456789abcdef0123456789abcdeg").is_err());
    }

    #[test]
    fn cookie_names_are_tokens() {
        for good in ["session", "__Host-sid", "sid_2", "a.b"] {
            assert_eq!(cookie_name(good).unwrap(), good);
        }
        for bad in ["", "a b", "a;b", "a=b", "a\"b", "é", "a\n"] {
            assert!(cookie_name(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn envs_are_plain_names() {
        assert!(env("staging").is_ok());
        assert!(env("prod-eu_1").is_ok());
        for bad in ["", "a.b", "a b", "\"x\"", "-x"] {
            assert!(env(bad).is_err());
        }
        for special in ["constructor", "toString", "valueOf", "hasOwnProperty"] {
            let error = env(special).unwrap_err().to_string();
            assert!(error.contains("Object.prototype"), "{error}");
        }
        assert!(env("Constructor").is_ok());
    }

    #[test]
    fn paths_in_messages_have_their_control_characters_escaped() {
        use std::path::PathBuf;
        assert_eq!(show_path(Path::new("src/kv/store.ts")), "src/kv/store.ts");
        assert_eq!(
            show_path(Path::new("C:\\work\\\"quoted\" name.toml")),
            "C:\\work\\\"quoted\" name.toml"
        );
        assert_eq!(
            show_path(Path::new("evil\u{1b}]0;owned\u{7}\u{1b}[2J.toml")),
            "evil\\u{1b}]0;owned\\u{7}\\u{1b}[2J.toml"
        );
        assert_eq!(show_path(Path::new("a\nb\rc\td")), "a\\nb\\rc\\td");
        // C1 controls (CSI is one), bidi overrides and zero-width characters.
        assert_eq!(
            show_path(Path::new("a\u{9b}b\u{202e}c\u{200b}d")),
            "a\\u{9b}b\\u{202e}c\\u{200b}d"
        );
        assert_eq!(show_path(Path::new("日本/ü.ts")), "日本/ü.ts");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let bytes = PathBuf::from(std::ffi::OsStr::from_bytes(b"bad\xff\x1b.ts"));
            assert_eq!(show_path(&bytes), "bad\\xff\\u{1b}.ts");
        }
    }
}
