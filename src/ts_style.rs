//! The house style of a TypeScript project, as far as generated code
//! follows it: indentation and the quote used for strings.
//!
//! Generated TypeScript is written so that prettier leaves it alone at any
//! print width (no statement is longer than a line); indentation and quotes
//! are the two settings left, and kvgen applies both.

use std::path::Path;

use crate::project::{editorconfig_value, json_file, prettier_config};

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

/// The quote style of the project: the prettier config (`singleQuote`),
/// `biome.json` (`quoteStyle`), `.editorconfig` (`quote_type`), else the
/// existing sources; double (prettier's default) when nothing says.
pub fn quote(root: &Path) -> Quote {
    prettier_quote(root)
        .or_else(|| biome_quote(root))
        .or_else(|| editorconfig_quote(root))
        .or_else(|| source_quote(&root.join("src")))
        .unwrap_or(Quote::Double)
}

fn prettier_quote(root: &Path) -> Option<Quote> {
    let config = prettier_config(root)?;
    let single = config.get("singleQuote")?.as_bool()?;
    Some(if single { Quote::Single } else { Quote::Double })
}

fn biome_quote(root: &Path) -> Option<Quote> {
    let config = ["biome.json", "biome.jsonc"]
        .iter()
        .find_map(|name| json_file(&root.join(name)))?;
    match config
        .get("javascript")?
        .get("formatter")?
        .get("quoteStyle")?
        .as_str()?
    {
        "single" => Some(Quote::Single),
        "double" => Some(Quote::Double),
        _ => None,
    }
}

fn editorconfig_quote(root: &Path) -> Option<Quote> {
    match editorconfig_value(root, "quote_type")?.as_str() {
        "single" => Some(Quote::Single),
        "double" => Some(Quote::Double),
        _ => None,
    }
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

/// The indentation of the project's TypeScript: the prettier config (which
/// overrides `.editorconfig` for prettier too), then `biome.json`, then
/// `.editorconfig`, then the existing sources; two spaces when nothing says.
pub fn indent(root: &Path) -> Indent {
    prettier_indent(root)
        .or_else(|| biome_indent(root))
        .or_else(|| editorconfig_indent(root))
        .or_else(|| source_indent(&root.join("src")))
        .unwrap_or(Indent::Spaces(2))
}

/// The widest indentation kvgen follows. Style values come from files in
/// the user's repository; one such as `"tabWidth": 1000000000` is ignored
/// rather than trusted, so that no config can make kvgen build huge lines
/// (or run out of memory).
pub const MAX_INDENT_WIDTH: usize = 16;

/// An indentation width from a config, when it is a whole number from 1 to
/// [`MAX_INDENT_WIDTH`].
fn width(value: &serde_json::Value) -> Option<usize> {
    let n = value.as_f64()?;
    let whole = n.fract() == 0.0 && (1.0..=MAX_INDENT_WIDTH as f64).contains(&n);
    whole.then_some(n as usize)
}

fn editorconfig_indent(root: &Path) -> Option<Indent> {
    let style = editorconfig_value(root, "indent_style");
    let size = editorconfig_value(root, "indent_size")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| (1..=MAX_INDENT_WIDTH).contains(n));
    match style.as_deref() {
        Some("tab") => Some(Indent::Tab),
        Some("space") => Some(Indent::Spaces(size.unwrap_or(2))),
        _ => None,
    }
}

fn prettier_indent(root: &Path) -> Option<Indent> {
    let config = prettier_config(root)?;
    let tab_width = config.get("tabWidth").and_then(width);
    match config.get("useTabs").and_then(|t| t.as_bool()) {
        Some(true) => Some(Indent::Tab),
        // prettier's own default width is 2.
        Some(false) => Some(Indent::Spaces(tab_width.unwrap_or(2))),
        None => tab_width.map(Indent::Spaces),
    }
}

fn biome_indent(root: &Path) -> Option<Indent> {
    let config = ["biome.json", "biome.jsonc"]
        .iter()
        .find_map(|name| json_file(&root.join(name)))?;
    let formatter = |v: &serde_json::Value| v.get("formatter").cloned();
    let settings = config
        .get("javascript")
        .and_then(formatter)
        .into_iter()
        .chain(formatter(&config));
    for f in settings {
        let indent_width = f.get("indentWidth").and_then(width).unwrap_or(2);
        match f.get("indentStyle").and_then(|s| s.as_str()) {
            Some("tab") => return Some(Indent::Tab),
            Some("space") => return Some(Indent::Spaces(indent_width)),
            _ => {}
        }
    }
    // Biome's own default is tabs.
    Some(Indent::Tab)
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

/// Applies the project's style to generated TypeScript written with tabs
/// and double quotes.
pub fn apply(source: &str, indent: Indent, quote: Quote) -> String {
    let source = match quote {
        Quote::Double => source.to_string(),
        Quote::Single => single_quotes(source),
    };
    reindent(&source, &indent.unit())
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
/// so would need escapes) keeps its double quotes. Comments and template
/// literals are left as they are; `${…}` inside a template is code again.
pub fn single_quotes(source: &str) -> String {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        LineComment,
        BlockComment,
        Template,
    }
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    // Each open `${` pushes the brace depth at which it closes.
    let mut stack: Vec<State> = vec![State::Code];
    let mut braces: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let state = *stack.last().expect("never empty");
        match state {
            State::LineComment => {
                out.push(c);
                if c == '\n' {
                    stack.pop();
                }
            }
            State::BlockComment => {
                out.push(c);
                if c == '*' && next == Some('/') {
                    out.push('/');
                    i += 1;
                    stack.pop();
                }
            }
            State::Template => {
                out.push(c);
                if c == '\\' {
                    if let Some(n) = next {
                        out.push(n);
                        i += 1;
                    }
                } else if c == '`' {
                    stack.pop();
                } else if c == '$' && next == Some('{') {
                    out.push('{');
                    i += 1;
                    depth += 1;
                    braces.push(depth);
                    stack.push(State::Code);
                }
            }
            State::Code => match c {
                '/' if next == Some('/') => {
                    out.push_str("//");
                    i += 1;
                    stack.push(State::LineComment);
                }
                '/' if next == Some('*') => {
                    out.push_str("/*");
                    i += 1;
                    stack.push(State::BlockComment);
                }
                '`' => {
                    out.push('`');
                    stack.push(State::Template);
                }
                '{' => {
                    depth += 1;
                    out.push('{');
                }
                '}' => {
                    if braces.last() == Some(&depth) {
                        braces.pop();
                        stack.pop();
                    }
                    depth = depth.saturating_sub(1);
                    out.push('}');
                }
                '"' | '\'' => {
                    let (literal, end) = string_literal(&chars, i);
                    out.push_str(&literal);
                    i = end;
                }
                _ => out.push(c),
            },
        }
        i += 1;
    }
    out
}

/// Reads the string literal starting at `start` (a quote); returns it in
/// prettier's single-quote form and the index of its closing quote.
fn string_literal(chars: &[char], start: usize) -> (String, usize) {
    let quote = chars[start];
    let mut end = start + 1;
    while end < chars.len() && chars[end] != quote && chars[end] != '\n' {
        if chars[end] == '\\' {
            end += 1;
        }
        end += 1;
    }
    let raw: String = chars[start..=end.min(chars.len() - 1)].iter().collect();
    let content: String = chars[start + 1..end.min(chars.len())].iter().collect();
    if quote == '\'' || content.contains('\'') {
        return (raw, end);
    }
    // \" needs no escape between single quotes.
    (format!("'{}'", content.replace("\\\"", "\"")), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::project::temp_project as project;

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
    fn indentation_comes_from_the_first_source_that_says() {
        let tabs = project(&[(".editorconfig", "root = true\n\n[*]\nindent_style = tab\n")]);
        assert_eq!(indent(tabs.path()), Indent::Tab);
        let four = project(&[(
            ".editorconfig",
            "[*.{js,ts}]\nindent_style = space\nindent_size = 4\n",
        )]);
        assert_eq!(indent(four.path()), Indent::Spaces(4));
        let prettier = project(&[(".prettierrc", "{ \"useTabs\": true }")]);
        assert_eq!(indent(prettier.path()), Indent::Tab);
        let in_package = project(&[(
            "package.json",
            "{ \"prettier\": { \"tabWidth\": 4, \"useTabs\": false } }",
        )]);
        assert_eq!(indent(in_package.path()), Indent::Spaces(4));
        let biome = project(&[(
            "biome.json",
            "{ \"formatter\": { \"indentStyle\": \"space\" } }",
        )]);
        assert_eq!(indent(biome.path()), Indent::Spaces(2));
        let sources = project(&[(
            "src/index.ts",
            "export default {\n\tfetch() {\n\t\treturn 1;\n\t},\n};\n",
        )]);
        assert_eq!(indent(sources.path()), Indent::Tab);
        let nothing = project(&[]);
        assert_eq!(indent(nothing.path()), Indent::Spaces(2));
    }

    #[test]
    fn widths_outside_1_to_16_are_ignored_so_no_config_can_cost_memory() {
        for huge in ["1000000000", "1e9", "18446744073709551615", "1e300", "17"] {
            let prettier = project(&[(".prettierrc", &format!("{{ \"tabWidth\": {huge} }}"))]);
            assert_eq!(indent(prettier.path()), Indent::Spaces(2), "{huge}");
            let spaces = project(&[(
                ".prettierrc",
                &format!("{{ \"tabWidth\": {huge}, \"useTabs\": false }}"),
            )]);
            assert_eq!(indent(spaces.path()), Indent::Spaces(2), "{huge}");
            let editorconfig = project(&[(
                ".editorconfig",
                &format!("[*]\nindent_style = space\nindent_size = {huge}\n"),
            )]);
            assert_eq!(indent(editorconfig.path()), Indent::Spaces(2), "{huge}");
            let biome = project(&[(
                "biome.json",
                &format!(
                    "{{ \"formatter\": {{ \"indentStyle\": \"space\", \"indentWidth\": {huge} }} }}"
                ),
            )]);
            assert_eq!(indent(biome.path()), Indent::Spaces(2), "{huge}");
        }
        for bad in ["0", "-4", "2.5", "\"4\"", "null"] {
            let prettier = project(&[(
                ".prettierrc",
                &format!("{{ \"tabWidth\": {bad}, \"useTabs\": false }}"),
            )]);
            assert_eq!(indent(prettier.path()), Indent::Spaces(2), "{bad}");
        }
        // A prettier config whose only width is ignored says nothing; the
        // next source decides.
        let next = project(&[
            (".prettierrc", "{ \"tabWidth\": 1000000000 }"),
            (".editorconfig", "[*]\nindent_style = tab\n"),
        ]);
        assert_eq!(indent(next.path()), Indent::Tab);
        // The bounds themselves are kept, written as integers or not.
        let sixteen = project(&[(".prettierrc", "{ \"tabWidth\": 16.0 }")]);
        assert_eq!(indent(sixteen.path()), Indent::Spaces(16));
        let one = project(&[(
            ".editorconfig",
            "[*]\nindent_style = space\nindent_size = 1\n",
        )]);
        assert_eq!(indent(one.path()), Indent::Spaces(1));
    }

    #[test]
    fn reindent_replaces_leading_tabs_only() {
        assert_eq!(
            reindent("a\n\tb\t\"\\t\"\n\t\tc\n", "  "),
            "a\n  b\t\"\\t\"\n    c\n"
        );
        assert_eq!(reindent("\tx\n", "\t"), "\tx\n");
    }
}
