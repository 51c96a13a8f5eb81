//! The house style of a TypeScript project, as far as generated code
//! follows it, and how its relative imports are written.
//!
//! The templates are written the way prettier prints them with its defaults
//! (tabs, double quotes, semicolons, `arrowParens: "always"`,
//! `bracketSpacing: true`), with no statement longer than a line at any
//! print width from 80 and no list broken over lines (so `trailingComma`
//! and `printWidth` change nothing), and no quoted property names (so
//! neither does `quoteProps`). The settings that do change them are read
//! from the project's prettier config, else `biome.json`, else
//! `.editorconfig` (and, for indentation and quotes, its sources), and
//! applied with the small token-aware rewrites below.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::project::json_file;

/// One level of indentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indent {
    Tab,
    Spaces(usize),
}

impl Indent {
    pub fn unit(self) -> String {
        match self {
            Indent::Tab => "\t".to_string(),
            Indent::Spaces(n) => " ".repeat(n),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Double,
    Single,
}

/// Which lists keep a comma after their last element when broken over
/// lines (prettier's `trailingComma`, biome's `trailingCommas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailingComma {
    /// Everywhere, function parameters and arguments too (the default).
    All,
    /// Arrays, objects, imports and exports, not functions.
    Es5,
    None,
}

/// Everything kvgen follows of a project's formatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub indent: Indent,
    pub quote: Quote,
    /// Semicolons at the end of statements (`semi: false` removes them).
    pub semi: bool,
    pub trailing_comma: TrailingComma,
    /// Parentheses around a lone untyped arrow parameter (`arrowParens`).
    pub arrow_parens: bool,
    /// Spaces inside the braces of one-line objects (`bracketSpacing`).
    pub bracket_spacing: bool,
}

impl Default for Style {
    /// prettier's defaults, which the templates are written in (apart from
    /// indentation: tabs in the templates, two spaces by default).
    fn default() -> Self {
        Style {
            indent: Indent::Spaces(2),
            quote: Quote::Double,
            semi: true,
            trailing_comma: TrailingComma::All,
            arrow_parens: true,
            bracket_spacing: true,
        }
    }
}

/// The formatter settings found for a project, each unset until a config
/// says.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Settings {
    indent: Option<Indent>,
    quote: Option<Quote>,
    semi: Option<bool>,
    trailing_comma: Option<TrailingComma>,
    arrow_parens: Option<bool>,
    bracket_spacing: Option<bool>,
}

impl Settings {
    /// Takes from `other` what this does not say yet.
    fn or(self, other: Settings) -> Settings {
        Settings {
            indent: self.indent.or(other.indent),
            quote: self.quote.or(other.quote),
            semi: self.semi.or(other.semi),
            trailing_comma: self.trailing_comma.or(other.trailing_comma),
            arrow_parens: self.arrow_parens.or(other.arrow_parens),
            bracket_spacing: self.bracket_spacing.or(other.bracket_spacing),
        }
    }
}

/// The style of the project whose folders are `dirs`, nearest first (the
/// Worker's folder, then its parents up to the workspace root).
///
/// Each setting comes from the nearest prettier config (`.prettierrc` in
/// JSON, JSON5 or YAML, `.prettierrc.json`, `.prettierrc.json5`,
/// `.prettierrc.yaml`/`.yml`, or `prettier` in package.json); what it does
/// not say from the nearest `biome.json`/`biome.jsonc`; then from the
/// nearest `.editorconfig` that says; then, for indentation and quotes,
/// from the sources in the Worker's `src`; else prettier's default.
pub fn read(dirs: &[PathBuf]) -> Style {
    let mut settings = nearest(dirs, prettier_settings)
        .unwrap_or_default()
        .or(nearest(dirs, biome_settings).unwrap_or_default())
        .or(editorconfig_settings(dirs));
    if let Some(src) = dirs.first().map(|d| d.join("src")) {
        if settings.indent.is_none() {
            settings.indent = source_indent(&src);
        }
        if settings.quote.is_none() {
            settings.quote = source_quote(&src);
        }
    }
    let default = Style::default();
    Style {
        indent: settings.indent.unwrap_or(default.indent),
        quote: settings.quote.unwrap_or(default.quote),
        semi: settings.semi.unwrap_or(default.semi),
        trailing_comma: settings.trailing_comma.unwrap_or(default.trailing_comma),
        arrow_parens: settings.arrow_parens.unwrap_or(default.arrow_parens),
        bracket_spacing: settings.bracket_spacing.unwrap_or(default.bracket_spacing),
    }
}

/// The first folder's answer, nearest first.
fn nearest<T>(dirs: &[PathBuf], read: impl Fn(&Path) -> Option<T>) -> Option<T> {
    dirs.iter().find_map(|dir| read(dir))
}

/// The widest indentation kvgen follows. Style values come from files in
/// the user's repository; one such as `"tabWidth": 1000000000` is ignored
/// rather than trusted, so that no config can make kvgen build huge lines
/// (or run out of memory).
pub const MAX_INDENT_WIDTH: usize = 16;

/// An indentation width from a config, when it is a whole number from 1 to
/// [`MAX_INDENT_WIDTH`].
fn width(value: &Value) -> Option<usize> {
    let n = value.as_f64()?;
    let whole = n.fract() == 0.0 && (1.0..=MAX_INDENT_WIDTH as f64).contains(&n);
    whole.then_some(n as usize)
}

/// The prettier options in `dir`: the `prettier` key of package.json, else
/// the first config file prettier would read there. A file that exists but
/// cannot be read (a JavaScript config, a syntax error) still stops the
/// search, as it does for prettier: the settings are then unknown.
fn prettier_options(dir: &Path) -> Option<Value> {
    if let Some(options) = json_file(&dir.join("package.json"))
        .as_ref()
        .and_then(|p| p.get("prettier"))
    {
        // A string names a shared config: unknown settings.
        return Some(options.clone());
    }
    const NAMES: [&str; 15] = [
        ".prettierrc",
        ".prettierrc.json",
        ".prettierrc.yaml",
        ".prettierrc.yml",
        ".prettierrc.json5",
        ".prettierrc.js",
        ".prettierrc.ts",
        ".prettierrc.mjs",
        ".prettierrc.cjs",
        "prettier.config.js",
        "prettier.config.ts",
        "prettier.config.mjs",
        "prettier.config.cjs",
        ".prettierrc.toml",
        ".prettierrc.mts",
    ];
    for name in NAMES {
        let path = dir.join(name);
        if !crate::files::is_regular(&path) {
            continue;
        }
        let text = crate::files::peek_text(&path)?;
        let parsed = match name {
            ".prettierrc.yaml" | ".prettierrc.yml" => flat_yaml(&text),
            // `.prettierrc` is JSON or YAML.
            ".prettierrc" => jsonc(&text).or_else(|| flat_yaml(&text)),
            ".prettierrc.json" | ".prettierrc.json5" => jsonc(&text),
            ".prettierrc.toml" => flat_toml(&text),
            // JavaScript: not read.
            _ => None,
        };
        return Some(parsed.unwrap_or(Value::Null));
    }
    None
}

/// A TOML config's top-level scalars.
fn flat_toml(text: &str) -> Option<Value> {
    let doc = text.parse::<toml_edit::DocumentMut>().ok()?;
    let mut map = serde_json::Map::new();
    for (key, item) in doc.iter() {
        let value = match item.as_value() {
            Some(toml_edit::Value::Boolean(b)) => Value::Bool(*b.value()),
            Some(toml_edit::Value::Integer(n)) => Value::from(*n.value()),
            Some(toml_edit::Value::Float(f)) => {
                serde_json::Number::from_f64(*f.value()).map_or(Value::Null, Value::Number)
            }
            Some(toml_edit::Value::String(s)) => Value::String(s.value().clone()),
            _ => continue,
        };
        map.insert(key.to_string(), value);
    }
    Some(Value::Object(map))
}

fn jsonc(text: &str) -> Option<Value> {
    jsonc_parser::parse_to_serde_value::<Value>(text, &Default::default())
        .ok()
        .filter(Value::is_object)
}

/// A YAML config of `key: value` lines (all prettier's options are
/// scalars): strings plain or quoted, booleans, numbers. Anything else
/// (nested maps, `overrides`) is skipped.
fn flat_yaml(text: &str) -> Option<Value> {
    let mut map = serde_json::Map::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t', '-', '#']) || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line.split_once(':')?;
        let value = value.split(" #").next().unwrap_or("").trim();
        let value = match value {
            "" => continue,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => match value.parse::<f64>() {
                Ok(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                Err(_) => Value::String(value.trim_matches(['"', '\'']).to_string()),
            },
        };
        map.insert(key.trim().to_string(), value);
    }
    Some(Value::Object(map))
}

/// A string option.
fn text<'a>(options: &'a Value, key: &str) -> Option<&'a str> {
    options.get(key)?.as_str()
}

fn flag(options: &Value, key: &str) -> Option<bool> {
    options.get(key)?.as_bool()
}

fn prettier_settings(dir: &Path) -> Option<Settings> {
    let config = prettier_options(dir)?;
    let tab_width = config.get("tabWidth").and_then(width);
    let indent = match flag(&config, "useTabs") {
        Some(true) => Some(Indent::Tab),
        // prettier's own default width is 2.
        Some(false) => Some(Indent::Spaces(tab_width.unwrap_or(2))),
        None => tab_width.map(Indent::Spaces),
    };
    Some(Settings {
        indent,
        quote: flag(&config, "singleQuote").map(|s| if s { Quote::Single } else { Quote::Double }),
        semi: flag(&config, "semi"),
        trailing_comma: match text(&config, "trailingComma") {
            Some("all") => Some(TrailingComma::All),
            Some("es5") => Some(TrailingComma::Es5),
            Some("none") => Some(TrailingComma::None),
            _ => None,
        },
        arrow_parens: match text(&config, "arrowParens") {
            Some("always") => Some(true),
            Some("avoid") => Some(false),
            _ => None,
        },
        bracket_spacing: flag(&config, "bracketSpacing"),
    })
}

/// Biome's settings: `javascript.formatter` over `formatter`, and biome's
/// own defaults (tabs, like prettier otherwise) for what neither says, since
/// a project with a biome config formats with biome.
fn biome_settings(dir: &Path) -> Option<Settings> {
    let config = ["biome.json", "biome.jsonc"]
        .iter()
        .find_map(|name| json_file(&dir.join(name)))?;
    let general = config.get("formatter").cloned().unwrap_or(Value::Null);
    let js = config
        .get("javascript")
        .and_then(|j| j.get("formatter"))
        .cloned()
        .unwrap_or(Value::Null);
    let get = |key: &str| js.get(key).or_else(|| general.get(key));
    let indent_width = get("indentWidth").and_then(width).unwrap_or(2);
    let indent = match get("indentStyle").and_then(Value::as_str) {
        Some("space") => Indent::Spaces(indent_width),
        // Biome's own default is tabs.
        _ => Indent::Tab,
    };
    let js_text = |key: &str| js.get(key).and_then(Value::as_str);
    Some(Settings {
        indent: Some(indent),
        quote: match js_text("quoteStyle") {
            Some("single") => Some(Quote::Single),
            _ => Some(Quote::Double),
        },
        semi: Some(js_text("semicolons") != Some("asNeeded")),
        // `trailingComma` until biome 2, `trailingCommas` since.
        trailing_comma: match js_text("trailingCommas").or(js_text("trailingComma")) {
            Some("es5") => Some(TrailingComma::Es5),
            Some("none") => Some(TrailingComma::None),
            _ => Some(TrailingComma::All),
        },
        arrow_parens: Some(js_text("arrowParentheses") != Some("asNeeded")),
        bracket_spacing: Some(get("bracketSpacing").and_then(Value::as_bool) != Some(false)),
    })
}

/// What the `.editorconfig` files of `dirs` say for TypeScript files: a key
/// from a nearer file wins, and a file with `root = true` ends the search.
fn editorconfig_settings(dirs: &[PathBuf]) -> Settings {
    let mut values: Vec<(String, String)> = Vec::new();
    for dir in dirs {
        let Some(text) = crate::files::peek_text(&dir.join(".editorconfig")) else {
            continue;
        };
        let (found, root) = editorconfig_values(&text);
        for (key, value) in found {
            if !values.iter().any(|(k, _)| *k == key) {
                values.push((key, value));
            }
        }
        if root {
            break;
        }
    }
    let value = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let size = value("indent_size")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| (1..=MAX_INDENT_WIDTH).contains(n));
    Settings {
        indent: match value("indent_style") {
            Some("tab") => Some(Indent::Tab),
            Some("space") => Some(Indent::Spaces(size.unwrap_or(2))),
            _ => None,
        },
        quote: match value("quote_type") {
            Some("single") => Some(Quote::Single),
            Some("double") => Some(Quote::Double),
            _ => None,
        },
        ..Settings::default()
    }
}

/// The keys (lowercased, with lowercased values) an `.editorconfig` gives
/// TypeScript files, the last section that applies winning (`[*]`,
/// `[*.ts]`, `[*.{js,ts}]`), and whether it is the root file.
fn editorconfig_values(text: &str) -> (Vec<(String, String)>, bool) {
    let mut applies = false;
    let mut preamble = true;
    let mut root = false;
    let mut found: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            preamble = false;
            applies = section == "*"
                || section == "**"
                || section.ends_with(".ts")
                || (section.contains('{') && section.contains("ts"));
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim().to_ascii_lowercase();
        if preamble && key == "root" {
            root = value == "true";
        } else if applies {
            found.retain(|(k, _)| *k != key);
            found.push((key, value));
        }
    }
    (found, root)
}

/// Counts the strings in the first sources: `import … from '…'` and friends.
fn source_quote(src: &Path) -> Option<Quote> {
    let (mut single, mut double) = (0usize, 0usize);
    for file in crate::project::sources(src).iter().take(20) {
        let Some(text) = crate::files::peek_text(file) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim_start();
            if line.starts_with("//") || line.starts_with('*') || line.starts_with("/*") {
                continue;
            }
            single += line.matches(" '").count() + line.matches("('").count();
            double += line.matches(" \"").count() + line.matches("(\"").count();
        }
    }
    match (single, double) {
        (0, 0) => None,
        (s, d) if s > d => Some(Quote::Single),
        _ => Some(Quote::Double),
    }
}

/// Looks at the indented lines of up to 20 TypeScript/JavaScript sources.
fn source_indent(src: &Path) -> Option<Indent> {
    let (mut tabs, mut spaces) = (0usize, Vec::new());
    for file in crate::project::sources(src).iter().take(20) {
        let Some(text) = crate::files::peek_text(file) else {
            continue;
        };
        for line in text.lines() {
            if line.starts_with('\t') {
                tabs += 1;
            } else if line.starts_with(' ') && !line.trim_start().starts_with('*') {
                spaces.push(line.len() - line.trim_start_matches(' ').len());
            }
        }
    }
    if tabs == 0 && spaces.is_empty() {
        return None;
    }
    if tabs >= spaces.len() {
        return Some(Indent::Tab);
    }
    // The smallest indentation used is one level.
    let unit = spaces.iter().copied().filter(|n| *n > 0).min().unwrap_or(2);
    Some(Indent::Spaces(if unit == 4 { 4 } else { 2 }))
}

/// What a byte of TypeScript source is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Code,
    Comment,
    /// A string literal, its quotes included.
    Str,
    /// The text of a template literal, its backticks and `${`/`}` included;
    /// the expressions inside are code.
    Template,
    /// A regular expression literal.
    Regex,
}

/// Classifies every byte of `source`. Enough of a lexer for the code kvgen
/// generates: strings, template literals with nested `${…}`, comments, and
/// regular expressions (a `/` where an operand is expected).
fn classify(source: &str) -> Vec<Class> {
    let bytes = source.as_bytes();
    let mut classes = vec![Class::Code; bytes.len()];
    // Each open `${` pushes the brace depth at which it closes.
    let mut braces: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    // The last code byte that was not white space.
    let mut last = b'\n';
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let start = i;
        let class = match c {
            b'/' if next == Some(b'/') => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                Class::Comment
            }
            b'/' if next == Some(b'*') => {
                i = memchr::memmem::find(&bytes[i + 2..], b"*/").map_or(bytes.len(), |n| i + n + 4);
                Class::Comment
            }
            b'/' if b"(,=:[!&|?{};+-*%<>~^\n".contains(&last) || ends_with_keyword(&bytes[..i]) => {
                i = regex_end(bytes, i);
                Class::Regex
            }
            b'"' | b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != c && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                Class::Str
            }
            b'`' => {
                i = template_end(bytes, i + 1);
                if bytes.get(i.wrapping_sub(1)) == Some(&b'{') {
                    depth += 1;
                    braces.push(depth);
                }
                Class::Template
            }
            b'}' if braces.last() == Some(&depth) => {
                braces.pop();
                depth -= 1;
                i = template_end(bytes, i + 1);
                if bytes.get(i.wrapping_sub(1)) == Some(&b'{') {
                    depth += 1;
                    braces.push(depth);
                }
                Class::Template
            }
            b'{' => {
                depth += 1;
                i += 1;
                Class::Code
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                Class::Code
            }
            _ => {
                // A run of plain code, up to the next byte that may start
                // something else: its last byte that is not white space is
                // what the next `/` is judged by.
                i += 1;
                while i < bytes.len()
                    && !matches!(bytes[i], b'/' | b'"' | b'\'' | b'`' | b'{' | b'}')
                {
                    i += 1;
                }
                if let Some(&b) = bytes[start..i]
                    .iter()
                    .rev()
                    .find(|b| !b.is_ascii_whitespace())
                {
                    last = b;
                }
                continue;
            }
        };
        let end = i.min(bytes.len());
        if class != Class::Code {
            classes[start..end].fill(class);
        }
        match class {
            Class::Code if !bytes[start].is_ascii_whitespace() => last = bytes[start],
            Class::Code | Class::Comment => {}
            _ => last = b'x',
        }
    }
    classes
}

/// Whether the code before a `/` ends with a keyword after which an operand
/// (so a regular expression) comes.
fn ends_with_keyword(before: &[u8]) -> bool {
    let trimmed = before.trim_ascii_end();
    ["return", "typeof", "case", "of", "in", "yield", "await"]
        .iter()
        .any(|k| {
            trimmed.ends_with(k.as_bytes())
                && !trimmed[..trimmed.len() - k.len()]
                    .last()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$')
        })
}

/// The end of the regular expression starting at `start` (its flags
/// included).
fn regex_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    let mut class = false;
    while i < bytes.len() && bytes[i] != b'\n' {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => break,
            _ => {}
        }
        i += 1;
    }
    i += 1;
    while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
        i += 1;
    }
    i.min(bytes.len())
}

/// Reads template text from `i` up to and including the closing backtick
/// or an opening `${`; returns the index after it.
fn template_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'`' => return i + 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => return i + 2,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// Applies `style` to generated TypeScript written in the templates' style
/// (tabs, double quotes, prettier's defaults otherwise).
pub fn apply(source: &str, style: &Style) -> String {
    let mut source = match style.quote {
        Quote::Double => source.to_string(),
        Quote::Single => single_quotes(source),
    };
    if !style.semi {
        source = without_semicolons(&source);
    }
    if !style.arrow_parens {
        source = bare_arrow_parameters(&source);
    }
    if !style.bracket_spacing {
        source = tight_braces(&source);
    }
    if style.trailing_comma != TrailingComma::All {
        source = fewer_trailing_commas(&source, style.trailing_comma);
    }
    reindent(&source, &style.indent.unit())
}

/// Re-indents TypeScript written with tabs to the project's indentation.
pub fn reindent(content: &str, unit: &str) -> String {
    if unit == "\t" {
        return content.to_string();
    }
    let mut out = String::with_capacity(content.len() + content.len() / 8);
    for line in content.split_inclusive('\n') {
        let tabs = line.len() - line.trim_start_matches('\t').len();
        for _ in 0..tabs {
            out.push_str(unit);
        }
        out.push_str(&line[tabs..]);
    }
    out
}

/// Rewrites double-quoted string literals as single-quoted ones, the way
/// prettier's `singleQuote` does: a string that contains a single quote (and
/// so would need escapes) keeps its double quotes. Comments, regular
/// expressions and template literals are left as they are; `${…}` inside a
/// template is code again.
pub fn single_quotes(source: &str) -> String {
    let classes = classify(source);
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < source.len() {
        let end = run_end(&classes, i);
        let piece = &source[i..end];
        if classes[i] == Class::Str && piece.starts_with('"') {
            let content = &piece[1..piece.len() - 1];
            if content.contains('\'') {
                out.push_str(piece);
            } else {
                // \" needs no escape between single quotes.
                out.push('\'');
                out.push_str(&content.replace("\\\"", "\""));
                out.push('\'');
            }
        } else {
            out.push_str(piece);
        }
        i = end;
    }
    out
}

/// The end of the run of bytes of one class starting at `i` (string
/// literals never touch, so a run of `Str` is one literal).
fn run_end(classes: &[Class], i: usize) -> usize {
    let class = classes[i];
    (i + 1..classes.len())
        .find(|&j| classes[j] != class)
        .unwrap_or(classes.len())
}

/// prettier's `semi: false`: the semicolon that ends a line's code goes
/// (separators inside a line, as in `for (;;)` or a one-line type, stay).
/// A statement that starts with `(`, `[` or a backtick after one whose
/// semicolon went gets it at its start, so that the two do not join.
fn without_semicolons(source: &str) -> String {
    let classes = classify(source);
    let bytes = source.as_bytes();
    let mut drop = vec![false; bytes.len()];
    let mut guard = Vec::new();
    let mut pending = false;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let range = offset..offset + line.len();
        offset += line.len();
        let last_code = range
            .clone()
            .rev()
            .find(|&i| classes[i] != Class::Comment && !bytes[i].is_ascii_whitespace());
        let first_code = range
            .clone()
            .find(|&i| classes[i] != Class::Comment && !bytes[i].is_ascii_whitespace());
        if let Some(first) = first_code {
            if pending && matches!(bytes[first], b'(' | b'[' | b'`') {
                guard.push(first);
            }
            pending = false;
        }
        if let Some(last) = last_code
            && bytes[last] == b';'
            && classes[last] == Class::Code
        {
            drop[last] = true;
            pending = true;
        }
    }
    let mut out = String::with_capacity(source.len());
    for (i, c) in source.char_indices() {
        if guard.contains(&i) {
            out.push(';');
        }
        if !drop[i] {
            out.push(c);
        }
    }
    out
}

/// prettier's `arrowParens: "avoid"`: `(x) => …` becomes `x => …` for a
/// lone parameter without a type, default or rest (and no type parameters
/// before it).
fn bare_arrow_parameters(source: &str) -> String {
    let classes = classify(source);
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'(' || classes[i] != Class::Code {
            i += 1;
            continue;
        }
        let name_end = (i + 1..bytes.len())
            .find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'$'))
            .unwrap_or(bytes.len());
        let is_name = name_end > i + 1 && !bytes[i + 1].is_ascii_digit();
        let closes = bytes.get(name_end) == Some(&b')');
        let arrow = bytes[(name_end + 1).min(bytes.len())..]
            .trim_ascii_start()
            .starts_with(b"=>");
        let type_parameters = bytes[..i].trim_ascii_end().last() == Some(&b'>');
        if is_name && closes && arrow && !type_parameters {
            out.push_str(&source[copied..i]);
            out.push_str(&source[i + 1..name_end]);
            copied = name_end + 1;
            i = name_end + 1;
        } else {
            i += 1;
        }
    }
    out.push_str(&source[copied..]);
    out
}

/// prettier's `bracketSpacing: false`: `{ a }` becomes `{a}` for braces
/// opened and closed on one line (objects, types, imports, destructuring;
/// blocks are never on one line).
fn tight_braces(source: &str) -> String {
    let classes = classify(source);
    let bytes = source.as_bytes();
    let mut drop = vec![false; bytes.len()];
    let mut open: Vec<usize> = Vec::new();
    for i in 0..bytes.len() {
        if classes[i] != Class::Code {
            continue;
        }
        match bytes[i] {
            b'{' => open.push(i),
            b'}' => {
                let Some(start) = open.pop() else { continue };
                let one_line = !bytes[start..i].contains(&b'\n');
                if one_line && bytes[start + 1] == b' ' && bytes[i - 1] == b' ' && i > start + 2 {
                    drop[start + 1] = true;
                    drop[i - 1] = true;
                }
            }
            b'\n' => {}
            _ => {}
        }
    }
    source
        .char_indices()
        .filter(|(i, _)| !drop[*i])
        .map(|(_, c)| c)
        .collect()
}

/// prettier's `trailingComma: "es5"` and `"none"`: the comma after the last
/// element of a list broken over lines goes, for parameters, arguments and
/// type parameters (`es5`) or every list (`none`).
fn fewer_trailing_commas(source: &str, keep: TrailingComma) -> String {
    let classes = classify(source);
    let bytes = source.as_bytes();
    let mut drop = vec![false; bytes.len()];
    for i in 0..bytes.len() {
        if bytes[i] != b',' || classes[i] != Class::Code {
            continue;
        }
        let Some(next) = (i + 1..bytes.len())
            .find(|&j| classes[j] != Class::Comment && !bytes[j].is_ascii_whitespace())
        else {
            continue;
        };
        let broken = bytes[i..next].contains(&b'\n');
        let goes = match bytes[next] {
            b')' | b'>' => true,
            b']' | b'}' => keep == TrailingComma::None,
            _ => false,
        };
        if broken && goes {
            drop[i] = true;
        }
    }
    source
        .char_indices()
        .filter(|(i, _)| !drop[*i])
        .map(|(_, c)| c)
        .collect()
}

/// Whether relative imports need a file extension (`./limits.js`): the
/// nearest tsconfig.json in `dirs` (nearest first) resolves modules the way
/// Node does (`moduleResolution` `node16`/`nodenext`, which `module`
/// `node16`/`node18`/`node20`/`nodenext` implies). Its `extends` chain is
/// followed: relative paths, and packages found in a node_modules folder
/// (others are ignored).
pub fn imports_need_extension(dirs: &[PathBuf]) -> bool {
    let Some(tsconfig) = dirs
        .iter()
        .map(|d| d.join("tsconfig.json"))
        .find(|p| crate::files::is_regular(p))
    else {
        return false;
    };
    let (resolution, module) = compiler_options(&tsconfig, MAX_EXTENDS);
    let node = |v: &str| {
        let v = v.to_ascii_lowercase();
        v == "nodenext" || v.starts_with("node1") || v.starts_with("node2")
    };
    match resolution {
        Some(resolution) => node(&resolution),
        None => module.is_some_and(|m| node(&m)),
    }
}

/// How many `extends` deep kvgen follows a tsconfig.
const MAX_EXTENDS: usize = 8;

/// `moduleResolution` and `module` of the tsconfig at `path`, as its own
/// options or those it extends give them (the later of several `extends`
/// winning, and its own options over all of them).
fn compiler_options(path: &Path, depth: usize) -> (Option<String>, Option<String>) {
    let Some(config) = json_file(path) else {
        return (None, None);
    };
    let options = config.get("compilerOptions");
    let own = |key: &str| options?.get(key)?.as_str().map(str::to_string);
    let (mut resolution, mut module) = (own("moduleResolution"), own("module"));
    if depth == 0 || (resolution.is_some() && module.is_some()) {
        return (resolution, module);
    }
    let bases: Vec<String> = match config.get("extends") {
        Some(Value::String(base)) => vec![base.clone()],
        Some(Value::Array(bases)) => bases
            .iter()
            .filter_map(|b| b.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    for base in bases.iter().rev() {
        let Some(base) = extended_config(dir, base) else {
            continue;
        };
        let (r, m) = compiler_options(&base, depth - 1);
        resolution = resolution.or(r);
        module = module.or(m);
    }
    (resolution, module)
}

/// The file a tsconfig in `dir` means by `extends: spec`.
fn extended_config(dir: &Path, spec: &str) -> Option<PathBuf> {
    let candidates = |path: PathBuf| {
        let json = PathBuf::from(format!("{}.json", path.display()));
        [path.clone(), json, path.join("tsconfig.json")]
    };
    if spec.starts_with("./") || spec.starts_with("../") || Path::new(spec).is_absolute() {
        return candidates(dir.join(spec))
            .into_iter()
            .find(|p| crate::files::is_regular(p));
    }
    dir.ancestors()
        .map(|d| d.join("node_modules").join(spec))
        .flat_map(candidates)
        .find(|p| crate::files::is_regular(p))
}

/// Adds `.js` to the relative module specifiers of the import and export
/// declarations of generated TypeScript (`from "./limits"`), as Node's
/// module resolution wants them.
pub fn with_js_extensions(source: &str) -> String {
    let classes = classify(source);
    let mut out = String::with_capacity(source.len() + 64);
    let mut copied = 0;
    let mut i = 0;
    while i < source.len() {
        let end = run_end(&classes, i);
        if classes[i] == Class::Str {
            let before = source[..i].trim_end();
            let specifier = &source[i + 1..end - 1];
            let relative = specifier.starts_with("./") || specifier.starts_with("../");
            let file = specifier.rsplit('/').next().unwrap_or("");
            if before.ends_with(" from") && relative && !file.contains('.') {
                out.push_str(&source[copied..end - 1]);
                out.push_str(".js");
                copied = end - 1;
            }
        }
        i = end;
    }
    out.push_str(&source[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::project::temp_project as project;

    fn style_of(files: &[(&str, &str)]) -> Style {
        let dir = project(files);
        read(&[dir.path().to_path_buf()])
    }

    fn indent_of(files: &[(&str, &str)]) -> Indent {
        style_of(files).indent
    }

    #[test]
    fn double_quoted_strings_become_single_quoted() {
        let ts =
            "import { a } from \"./limits\";\nconst s = \"it's\";\nconst e = \"say \\\"hi\\\"\";\n";
        assert_eq!(
            single_quotes(ts),
            "import { a } from './limits';\nconst s = \"it's\";\nconst e = 'say \"hi\"';\n"
        );
    }

    #[test]
    fn comments_and_templates_are_left_alone_but_template_code_is_not() {
        let ts = "// \"quoted\" in a comment\n/** `\"x\"` */\nconst t = `a \"b\" ${f(\"c\", { d: \"e\" })} \"g\"`;\n";
        assert_eq!(
            single_quotes(ts),
            "// \"quoted\" in a comment\n/** `\"x\"` */\nconst t = `a \"b\" ${f('c', { d: 'e' })} \"g\"`;\n"
        );
    }

    #[test]
    fn regular_expressions_are_not_strings_or_comments() {
        let ts = "const r = /\"|'/g;\nconst s = x.replace(/=+$/, \"\");\nconst d = a / b / \"c\".length;\n";
        assert_eq!(
            single_quotes(ts),
            "const r = /\"|'/g;\nconst s = x.replace(/=+$/, '');\nconst d = a / b / 'c'.length;\n"
        );
    }

    #[test]
    fn indentation_comes_from_the_first_source_that_says() {
        let tabs = [(".editorconfig", "root = true\n\n[*]\nindent_style = tab\n")];
        assert_eq!(indent_of(&tabs), Indent::Tab);
        let four = [(
            ".editorconfig",
            "[*.{js,ts}]\nindent_style = space\nindent_size = 4\n",
        )];
        assert_eq!(indent_of(&four), Indent::Spaces(4));
        assert_eq!(
            indent_of(&[(".prettierrc", "{ \"useTabs\": true }")]),
            Indent::Tab
        );
        let in_package = [(
            "package.json",
            "{ \"prettier\": { \"tabWidth\": 4, \"useTabs\": false } }",
        )];
        assert_eq!(indent_of(&in_package), Indent::Spaces(4));
        let biome = [(
            "biome.json",
            "{ \"formatter\": { \"indentStyle\": \"space\" } }",
        )];
        assert_eq!(indent_of(&biome), Indent::Spaces(2));
        let sources = [(
            "src/index.ts",
            "export default {\n\tfetch() {\n\t\treturn 1;\n\t},\n};\n",
        )];
        assert_eq!(indent_of(&sources), Indent::Tab);
        assert_eq!(indent_of(&[]), Indent::Spaces(2));
    }

    #[test]
    fn widths_outside_1_to_16_are_ignored_so_no_config_can_cost_memory() {
        for huge in ["1000000000", "1e9", "18446744073709551615", "1e300", "17"] {
            let prettier = format!("{{ \"tabWidth\": {huge} }}");
            assert_eq!(
                indent_of(&[(".prettierrc", &prettier)]),
                Indent::Spaces(2),
                "{huge}"
            );
            let spaces = format!("{{ \"tabWidth\": {huge}, \"useTabs\": false }}");
            assert_eq!(
                indent_of(&[(".prettierrc", &spaces)]),
                Indent::Spaces(2),
                "{huge}"
            );
            let editorconfig = format!("[*]\nindent_style = space\nindent_size = {huge}\n");
            assert_eq!(
                indent_of(&[(".editorconfig", &editorconfig)]),
                Indent::Spaces(2),
                "{huge}"
            );
            let biome = format!(
                "{{ \"formatter\": {{ \"indentStyle\": \"space\", \"indentWidth\": {huge} }} }}"
            );
            assert_eq!(
                indent_of(&[("biome.json", &biome)]),
                Indent::Spaces(2),
                "{huge}"
            );
        }
        for bad in ["0", "-4", "2.5", "\"4\"", "null"] {
            let prettier = format!("{{ \"tabWidth\": {bad}, \"useTabs\": false }}");
            assert_eq!(
                indent_of(&[(".prettierrc", &prettier)]),
                Indent::Spaces(2),
                "{bad}"
            );
        }
        // A prettier config whose only width is ignored says nothing; the
        // next source decides.
        let next = [
            (".prettierrc", "{ \"tabWidth\": 1000000000 }"),
            (".editorconfig", "[*]\nindent_style = tab\n"),
        ];
        assert_eq!(indent_of(&next), Indent::Tab);
        // The bounds themselves are kept, written as integers or not.
        assert_eq!(
            indent_of(&[(".prettierrc", "{ \"tabWidth\": 16.0 }")]),
            Indent::Spaces(16)
        );
        let one = [(
            ".editorconfig",
            "[*]\nindent_style = space\nindent_size = 1\n",
        )];
        assert_eq!(indent_of(&one), Indent::Spaces(1));
    }

    #[test]
    fn every_prettier_setting_is_read_from_each_config_form() {
        let expected = Style {
            indent: Indent::Spaces(4),
            quote: Quote::Single,
            semi: false,
            trailing_comma: TrailingComma::None,
            arrow_parens: false,
            bracket_spacing: false,
        };
        let json = r#"{ "tabWidth": 4, "singleQuote": true, "semi": false, "trailingComma": "none", "arrowParens": "avoid", "bracketSpacing": false, "quoteProps": "consistent" }"#;
        let json5 = "// JSON5\n{ tabWidth: 4, singleQuote: true, semi: false, trailingComma: 'none', arrowParens: 'avoid', bracketSpacing: false, }\n";
        let yaml = "# prettier\ntabWidth: 4\nsingleQuote: true\nsemi: false\ntrailingComma: \"none\"\narrowParens: avoid # no parens\nbracketSpacing: false\noverrides:\n  - files: \"*.md\"\n    options:\n      semi: true\n";
        let toml = "tabWidth = 4\nsingleQuote = true\nsemi = false\ntrailingComma = \"none\"\narrowParens = \"avoid\"\nbracketSpacing = false\n";
        let package = format!("{{ \"name\": \"w\", \"prettier\": {json} }}");
        for (name, text) in [
            (".prettierrc", json),
            (".prettierrc", yaml),
            (".prettierrc.json", json),
            (".prettierrc.json5", json5),
            (".prettierrc.yaml", yaml),
            (".prettierrc.yml", yaml),
            (".prettierrc.toml", toml),
            ("package.json", package.as_str()),
        ] {
            assert_eq!(style_of(&[(name, text)]), expected, "{name}:\n{text}");
        }
        // Each value prettier has for the settings with more than two.
        for (value, expected) in [
            ("all", TrailingComma::All),
            ("es5", TrailingComma::Es5),
            ("none", TrailingComma::None),
        ] {
            let config = format!("{{ \"trailingComma\": \"{value}\" }}");
            assert_eq!(
                style_of(&[(".prettierrc", &config)]).trailing_comma,
                expected
            );
        }
        let always = style_of(&[(".prettierrc", "{ \"arrowParens\": \"always\" }")]);
        assert!(always.arrow_parens);
        assert_eq!(style_of(&[]), Style::default());
    }

    #[test]
    fn a_javascript_prettier_config_hides_the_settings_further_up() {
        let dir = project(&[
            (
                "worker/prettier.config.mjs",
                "export default { semi: false };\n",
            ),
            (".prettierrc", "{ \"singleQuote\": true }"),
        ]);
        let dirs = [dir.path().join("worker"), dir.path().to_path_buf()];
        assert_eq!(read(&dirs).quote, Quote::Double);
    }

    #[test]
    fn the_nearest_config_of_a_kind_wins_and_the_next_kind_fills_in() {
        let dir = project(&[
            ("apps/api/.prettierrc", "{ \"semi\": false }"),
            (
                ".prettierrc",
                "{ \"singleQuote\": true, \"useTabs\": true }",
            ),
            (
                "biome.json",
                "{ \"javascript\": { \"formatter\": { \"quoteStyle\": \"single\", \"arrowParentheses\": \"asNeeded\" } } }",
            ),
            (
                ".editorconfig",
                "root = true\n[*]\nindent_style = space\nindent_size = 4\n",
            ),
        ]);
        let root = dir.path().to_path_buf();
        let dirs = [root.join("apps/api"), root.join("apps"), root.clone()];
        let style = read(&dirs);
        // The Worker's own prettier config, then biome's (with its defaults:
        // tabs, double quotes) for what it does not say.
        assert!(!style.semi);
        assert_eq!(style.quote, Quote::Single);
        assert!(!style.arrow_parens);
        assert_eq!(style.indent, Indent::Tab);
        // From the workspace root only, the root's prettier config.
        let root_style = read(std::slice::from_ref(&root));
        assert!(root_style.semi);
        assert_eq!(root_style.quote, Quote::Single);
    }

    #[test]
    fn biome_settings_of_both_versions_are_read() {
        let biome = r#"{
            // biome 2
            "formatter": { "indentStyle": "space", "indentWidth": 4, "bracketSpacing": false },
            "javascript": { "formatter": {
                "quoteStyle": "single", "semicolons": "asNeeded",
                "trailingCommas": "es5", "arrowParentheses": "asNeeded",
            } },
        }"#;
        let style = style_of(&[("biome.jsonc", biome)]);
        assert_eq!(
            style,
            Style {
                indent: Indent::Spaces(4),
                quote: Quote::Single,
                semi: false,
                trailing_comma: TrailingComma::Es5,
                arrow_parens: false,
                bracket_spacing: false,
            }
        );
        let v1 = r#"{ "javascript": { "formatter": { "trailingComma": "none" } } }"#;
        let style = style_of(&[("biome.json", v1)]);
        assert_eq!(style.trailing_comma, TrailingComma::None);
        assert_eq!(style.indent, Indent::Tab);
        assert!(style.semi && style.arrow_parens && style.bracket_spacing);
    }

    #[test]
    fn editorconfig_files_cascade_until_the_root_one() {
        let dir = project(&[
            ("w/.editorconfig", "[*.ts]\nquote_type = single\n"),
            (
                "mid/.editorconfig",
                "root = true\n[*]\nindent_style = tab\n",
            ),
            ("mid/w/.editorconfig", "[*]\nindent_size = 4\n"),
        ]);
        let base = dir.path();
        let style = read(&[base.join("mid/w"), base.join("mid"), base.to_path_buf()]);
        assert_eq!(style.indent, Indent::Tab);
        let style = read(&[base.join("w"), base.join("mid")]);
        assert_eq!((style.indent, style.quote), (Indent::Tab, Quote::Single));
        // A later section for TypeScript overrides `[*]`.
        let later = [(
            ".editorconfig",
            "[*]\nindent_style = tab\n[*.md]\nindent_style = space\n[*.{ts,tsx}]\nindent_style = space\nindent_size = 4\n",
        )];
        assert_eq!(indent_of(&later), Indent::Spaces(4));
    }

    #[test]
    fn reindent_replaces_leading_tabs_only() {
        assert_eq!(
            reindent("a\n\tb\t\"\\t\"\n\t\tc\n", "  "),
            "a\n  b\t\"\\t\"\n    c\n"
        );
        assert_eq!(reindent("\tx\n", "\t"), "\tx\n");
    }

    #[test]
    fn semi_false_drops_the_semicolons_that_end_lines() {
        let ts = "import { a } from \"./a\"; // why\ninterface I {\n\tx: string;\n}\ntype T = { a: string; b: number };\nfor (let i = 0; ; i += 1) {\n\tf();\n\t[a, b] = [b, a];\n}\nconst s = `x;\ny;`;\n/** f(); */\n";
        assert_eq!(
            without_semicolons(ts),
            "import { a } from \"./a\" // why\ninterface I {\n\tx: string\n}\ntype T = { a: string; b: number }\nfor (let i = 0; ; i += 1) {\n\tf()\n\t;[a, b] = [b, a]\n}\nconst s = `x;\ny;`\n/** f(); */\n"
        );
    }

    #[test]
    fn arrow_parens_avoid_drops_them_around_a_lone_untyped_parameter() {
        let ts = "xs.map((x) => x);\npool(a, 2, async (chunk) => {});\nconst f = (a: string) => a;\nconst g = (a, b) => a;\nconst h = <T,>(t) => t;\nconst k = () => 1;\nif (x) {\n}\nconst m = `(y) => ${(z) => z}`;\n";
        assert_eq!(
            bare_arrow_parameters(ts),
            "xs.map(x => x);\npool(a, 2, async chunk => {});\nconst f = (a: string) => a;\nconst g = (a, b) => a;\nconst h = <T,>(t) => t;\nconst k = () => 1;\nif (x) {\n}\nconst m = `(y) => ${z => z}`;\n"
        );
    }

    #[test]
    fn bracket_spacing_false_tightens_one_line_braces_only() {
        let ts = "import { a, b } from \"./a\";\nconst { c } = f({ d: { e: 1 } });\ntype T = { x: string };\nfunction g() {\n\treturn `${a} { b }`;\n}\nconst o = {};\n// { comment }\n";
        assert_eq!(
            tight_braces(ts),
            "import {a, b} from \"./a\";\nconst {c} = f({d: {e: 1}});\ntype T = {x: string};\nfunction g() {\n\treturn `${a} { b }`;\n}\nconst o = {};\n// { comment }\n"
        );
    }

    #[test]
    fn trailing_commas_go_where_the_setting_has_none() {
        let ts = "f(\n\ta,\n\tb,\n);\nconst o = {\n\ta,\n};\nconst l = [\n\t1, // one\n];\nconst one = [1, 2];\n";
        assert_eq!(
            fewer_trailing_commas(ts, TrailingComma::Es5),
            "f(\n\ta,\n\tb\n);\nconst o = {\n\ta,\n};\nconst l = [\n\t1, // one\n];\nconst one = [1, 2];\n"
        );
        assert_eq!(
            fewer_trailing_commas(ts, TrailingComma::None),
            "f(\n\ta,\n\tb\n);\nconst o = {\n\ta\n};\nconst l = [\n\t1 // one\n];\nconst one = [1, 2];\n"
        );
    }

    #[test]
    fn relative_imports_get_js_under_node_resolution_only() {
        let needs = |files: &[(&str, &str)]| {
            let dir = project(files);
            imports_need_extension(&[dir.path().to_path_buf()])
        };
        let options = |o: &str| format!("{{ \"compilerOptions\": {o} }}");
        for (compiler_options, expected) in [
            (r#"{ "moduleResolution": "NodeNext" }"#, true),
            (r#"{ "moduleResolution": "node16" }"#, true),
            (r#"{ "module": "nodenext" }"#, true),
            (r#"{ "module": "Node16" }"#, true),
            (r#"{ "module": "node20" }"#, true),
            (
                r#"{ "module": "ESNext", "moduleResolution": "Bundler" }"#,
                false,
            ),
            (
                r#"{ "module": "nodenext", "moduleResolution": "bundler" }"#,
                false,
            ),
            (r#"{ "moduleResolution": "node" }"#, false),
            (r#"{ "module": "es2022" }"#, false),
            ("{}", false),
        ] {
            let tsconfig = options(compiler_options);
            assert_eq!(
                needs(&[("tsconfig.json", &tsconfig)]),
                expected,
                "{tsconfig}"
            );
        }
        assert!(!needs(&[]));
        // JSONC, and an `extends` chain: relative, then a package.
        let chain = [
            (
                "tsconfig.json",
                "{\n  // the Worker\n  \"extends\": \"./config/base.json\",\n  \"compilerOptions\": { \"strict\": true, },\n}\n",
            ),
            ("config/base.json", "{ \"extends\": \"@tsconfig/node22\" }"),
            (
                "node_modules/@tsconfig/node22/tsconfig.json",
                "{ \"compilerOptions\": { \"module\": \"nodenext\" } }",
            ),
        ];
        assert!(needs(&chain));
        // The config's own setting wins over what it extends, and of
        // several bases the last one.
        let own = [
            (
                "tsconfig.json",
                "{ \"extends\": \"./base\", \"compilerOptions\": { \"moduleResolution\": \"bundler\" } }",
            ),
            (
                "base.json",
                "{ \"compilerOptions\": { \"moduleResolution\": \"nodenext\" } }",
            ),
        ];
        assert!(!needs(&own));
        let several = [
            (
                "tsconfig.json",
                "{ \"extends\": [\"./a.json\", \"./b.json\"] }",
            ),
            (
                "a.json",
                "{ \"compilerOptions\": { \"moduleResolution\": \"bundler\" } }",
            ),
            (
                "b.json",
                "{ \"compilerOptions\": { \"moduleResolution\": \"node16\" } }",
            ),
        ];
        assert!(needs(&several));
        // A missing package or a cycle is no error.
        assert!(!needs(&[(
            "tsconfig.json",
            "{ \"extends\": \"@tsconfig/strictest\" }"
        )]));
        let cycle = [
            ("tsconfig.json", "{ \"extends\": \"./b.json\" }"),
            ("b.json", "{ \"extends\": \"./tsconfig.json\" }"),
        ];
        assert!(!needs(&cycle));
        // The nearest tsconfig decides.
        let dir = project(&[
            (
                "worker/tsconfig.json",
                "{ \"compilerOptions\": { \"moduleResolution\": \"bundler\" } }",
            ),
            (
                "tsconfig.json",
                "{ \"compilerOptions\": { \"moduleResolution\": \"nodenext\" } }",
            ),
        ]);
        let root = dir.path().to_path_buf();
        assert!(!imports_need_extension(&[
            root.join("worker"),
            root.clone()
        ]));
        assert!(imports_need_extension(&[root.join("other"), root]));
    }

    #[test]
    fn only_relative_module_specifiers_without_an_extension_change() {
        let ts = "import { a } from \"./a\";\nimport * as limits from '../limits';\nexport { b } from \"./b.js\";\nimport x from \"pkg\";\nconst s = \"./c\";\n";
        assert_eq!(
            with_js_extensions(ts),
            "import { a } from \"./a.js\";\nimport * as limits from '../limits.js';\nexport { b } from \"./b.js\";\nimport x from \"pkg\";\nconst s = \"./c\";\n"
        );
    }
}
