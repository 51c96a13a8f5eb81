//! `wrangler.toml`: toml_edit parses the raw file with spans, which only say
//! where things are; an edit is text put in at those places (a [`Splice`]),
//! so every byte outside it stays as it was.

use std::ops::Range;

use toml_edit::{
    Array, ArrayOfTables, Document, InlineTable, Item, Key, Table, TableLike, TomlError, Value,
};

use super::splice::Splice;
use super::{
    EditError, EditStatus, Effect, FieldValue, KvBinding, List, ListEntry, Planned, reconcile,
};
use crate::text::{indent_at, is_blank_line, line_start, next_line_start, starts_line};

pub type Doc<'b> = Document<&'b str>;

pub fn parse(body: &str) -> Result<Doc<'_>, EditError> {
    super::check_line_breaks(body)?;
    Document::parse(body).map_err(|e| parse_error(body, &e))
}

fn parse_error(body: &str, error: &TomlError) -> EditError {
    let offset = error.span().map_or(0, |s| s.start);
    let reason = error
        .message()
        .lines()
        .next()
        .unwrap_or("invalid TOML")
        .trim()
        .to_string();
    EditError::at(body, offset, format!("invalid TOML: {reason}"))
}

/// Where a key is written (its first occurrence), for messages.
fn key_offset(table: &dyn TableLike, key: &str) -> usize {
    table.key(key).and_then(Key::span).map_or(0, |s| s.start)
}

/// The top-level table, or `env.NAME` when the file has it, for reading.
fn read_target<'d>(
    body: &str,
    root: &'d Table,
    env: Option<&str>,
) -> Result<Option<&'d dyn TableLike>, EditError> {
    let Some(env) = env else {
        return Ok(Some(root));
    };
    let Some(envs) = root.get("env") else {
        return Ok(None);
    };
    let envs = envs
        .as_table_like()
        .ok_or_else(|| EditError::at(body, key_offset(root, "env"), "`env` is not a table"))?;
    match envs.get(env) {
        None => Ok(None),
        Some(item) => item.as_table_like().map(Some).ok_or_else(|| {
            EditError::at(
                body,
                key_offset(envs, env),
                format!("`env.{env}` is not a table"),
            )
        }),
    }
}

/// The table an edit goes into: the top level, or `env.NAME` (None when the
/// file has no such environment yet). Environments written as inline tables
/// are not edited.
fn edit_target<'d>(
    body: &str,
    root: &'d Table,
    env: Option<&str>,
) -> Result<Option<&'d Table>, EditError> {
    let Some(env) = env else {
        return Ok(Some(root));
    };
    let not_a_table = |table: &dyn TableLike, key: &str, path: &str| {
        EditError::at(
            body,
            key_offset(table, key),
            format!(
                "`{path}` is not a table (kvgen adds bindings to [{path}] tables, not to inline tables or values)"
            ),
        )
    };
    let envs = match root.get("env") {
        None => return Ok(None),
        Some(Item::Table(t)) => t,
        Some(_) => return Err(not_a_table(root, "env", "env")),
    };
    match envs.get(env) {
        None => Ok(None),
        Some(Item::Table(t)) => Ok(Some(t)),
        Some(_) => Err(not_a_table(envs, env, &format!("env.{env}"))),
    }
}

/// One entry of a list: its name (the naming field) and where it is.
struct Entry<'d> {
    key: Option<String>,
    at: EntryAt<'d>,
}

enum EntryAt<'d> {
    Table(&'d Table),
    Inline(&'d InlineTable),
}

impl EntryAt<'_> {
    fn value(&self, field: &str) -> Option<&Value> {
        match self {
            EntryAt::Table(t) => t.get(field).and_then(Item::as_value),
            EntryAt::Inline(t) => t.get(field),
        }
    }

    fn key(&self, field: &str) -> Option<&Key> {
        match self {
            EntryAt::Table(t) => t.key(field),
            EntryAt::Inline(t) => t.key(field),
        }
    }

    /// A field's value as data.
    fn json(&self, field: &str) -> Option<serde_json::Value> {
        match self {
            EntryAt::Table(t) => t.get(field).and_then(super::meaning::of_item),
            EntryAt::Inline(t) => t.get(field).map(super::meaning::of_toml_value),
        }
    }
}

/// Where a list is, in a table (the top level or an environment).
enum Container<'d> {
    /// `[[list]]`.
    Tables(&'d ArrayOfTables),
    /// `list = [{ ... }]`.
    Inline(&'d Array),
    /// The list's parent, a `[parent]` table without it.
    InTable(&'d Table),
    /// The list's parent, an inline table without it.
    InInline(&'d InlineTable),
    Missing,
}

fn not_a_list(body: &str, table: &dyn TableLike, key: &str, dotted: &str) -> EditError {
    EditError::at(
        body,
        key_offset(table, key),
        format!(
            "`{dotted}` is not a list of tables; expected [[{dotted}]] or {dotted} = [{{ ... }}]"
        ),
    )
}

/// The list `list` of `table`, in whichever TOML style it is written.
fn container<'d>(
    body: &str,
    table: &'d dyn TableLike,
    list: List,
) -> Result<Container<'d>, EditError> {
    let dotted = list.dotted();
    let (leaf, parents) = list.path().split_last().expect("lists have paths");
    let Some(parent) = parents.first() else {
        return match table.get(leaf) {
            None => Ok(Container::Missing),
            Some(Item::ArrayOfTables(aot)) => Ok(Container::Tables(aot)),
            Some(Item::Value(Value::Array(array))) => Ok(Container::Inline(array)),
            Some(_) => Err(not_a_list(body, table, leaf, &dotted)),
        };
    };
    match table.get(parent) {
        None => Ok(Container::Missing),
        Some(Item::Table(t)) => match t.get(leaf) {
            Some(Item::ArrayOfTables(aot)) => Ok(Container::Tables(aot)),
            Some(Item::Value(Value::Array(array))) => Ok(Container::Inline(array)),
            Some(_) => Err(not_a_list(body, t, leaf, &dotted)),
            None if !t.is_implicit() && !t.is_dotted() => Ok(Container::InTable(t)),
            None => Err(EditError::at(
                body,
                key_offset(table, parent),
                format!(
                    "`{parent}` is written with dotted keys or only as sub-tables; add `{leaf}` to it by hand"
                ),
            )),
        },
        Some(Item::Value(Value::InlineTable(t))) => match t.get(leaf) {
            Some(Value::Array(array)) => Ok(Container::Inline(array)),
            Some(_) => Err(not_a_list(body, t, leaf, &dotted)),
            None => Ok(Container::InInline(t)),
        },
        Some(_) => Err(EditError::at(
            body,
            key_offset(table, parent),
            format!("`{parent}` is not a table"),
        )),
    }
}

/// The entries of a list, in either TOML style.
fn entries<'d>(container: &Container<'d>, key_field: &str) -> Vec<Entry<'d>> {
    match container {
        Container::Tables(aot) => aot
            .iter()
            .map(|t| Entry {
                key: t.get(key_field).and_then(Item::as_str).map(str::to_string),
                at: EntryAt::Table(t),
            })
            .collect(),
        Container::Inline(array) => array
            .iter()
            .filter_map(Value::as_inline_table)
            .map(|t| Entry {
                key: t.get(key_field).and_then(Value::as_str).map(str::to_string),
                at: EntryAt::Inline(t),
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub fn kv_namespaces(body: &str, env: Option<&str>) -> Result<Vec<KvBinding>, EditError> {
    let doc = parse(body)?;
    let Some(table) = read_target(body, doc.as_table(), env)? else {
        return Ok(Vec::new());
    };
    let container = container(body, table, List::KvNamespaces)?;
    Ok(entries(&container, "binding")
        .into_iter()
        .map(|e| {
            let get = |k: &str| e.at.value(k).and_then(Value::as_str).map(str::to_string);
            KvBinding {
                binding: e.key.clone().unwrap_or_default(),
                id: get("id"),
                preview_id: get("preview_id"),
            }
        })
        .collect())
}

/// The `triggers.crons` of the top level or of `env.NAME`.
pub fn crons(body: &str, env: Option<&str>) -> Result<Vec<String>, EditError> {
    let doc = parse(body)?;
    let Some(table) = read_target(body, doc.as_table(), env)? else {
        return Ok(Vec::new());
    };
    let Some(triggers) = table.get("triggers") else {
        return Ok(Vec::new());
    };
    let triggers = triggers.as_table_like().ok_or_else(|| {
        EditError::at(
            body,
            key_offset(table, "triggers"),
            "`triggers` is not a table",
        )
    })?;
    match triggers.get("crons") {
        None => Ok(Vec::new()),
        Some(item) => Ok(item
            .as_array()
            .ok_or_else(|| {
                EditError::at(
                    body,
                    key_offset(triggers, "crons"),
                    "`triggers.crons` is not an array",
                )
            })?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()),
    }
}

/// Where the tables of a file are: every `[header]` and `[[header]]` in file
/// order, and where each key's value ends.
struct Layout<'b> {
    body: &'b str,
    headers: Vec<Header>,
    value_ends: Vec<usize>,
}

struct Header {
    path: Vec<String>,
    span: Range<usize>,
}

impl<'b> Layout<'b> {
    fn new(body: &'b str, root: &Table) -> Self {
        fn walk(
            table: &Table,
            path: &mut Vec<String>,
            headers: &mut Vec<Header>,
            ends: &mut Vec<usize>,
        ) {
            for (key, item) in table.iter() {
                path.push(key.to_string());
                match item {
                    Item::Value(value) => ends.extend(value.span().map(|s| s.end)),
                    Item::Table(t) => {
                        if let Some(span) = t.span().filter(|_| !t.is_implicit() && !t.is_dotted())
                        {
                            headers.push(Header {
                                path: path.clone(),
                                span,
                            });
                        }
                        walk(t, path, headers, ends);
                    }
                    Item::ArrayOfTables(aot) => {
                        for t in aot.iter() {
                            if let Some(span) = t.span() {
                                headers.push(Header {
                                    path: path.clone(),
                                    span,
                                });
                            }
                            walk(t, path, headers, ends);
                        }
                    }
                    Item::None => {}
                }
                path.pop();
            }
        }
        let (mut headers, mut value_ends) = (Vec::new(), Vec::new());
        walk(root, &mut Vec::new(), &mut headers, &mut value_ends);
        headers.sort_by_key(|h| h.span.start);
        value_ends.sort_unstable();
        Layout {
            body,
            headers,
            value_ends,
        }
    }

    /// The text of a header's table (None: the top level): from its header
    /// to the next one.
    fn region(&self, header: Option<usize>) -> Range<usize> {
        let start = header.map_or(0, |i| self.headers[i].span.start);
        let next = header.map_or(0, |i| i + 1);
        let end = self
            .headers
            .get(next)
            .map_or(self.body.len(), |h| h.span.start);
        start..end
    }

    /// Where the last value of a header's table ends (its header's end when
    /// it has no keys; None for a top level without keys).
    fn content_end(&self, header: Option<usize>) -> Option<usize> {
        let region = self.region(header);
        let from = self.value_ends.partition_point(|&e| e <= region.start);
        let to = self.value_ends.partition_point(|&e| e <= region.end);
        self.value_ends[from..to]
            .last()
            .copied()
            .or_else(|| header.map(|i| self.headers[i].span.end))
    }

    /// Where a line added to the end of a header's table goes: after the
    /// line of its last value (comments and blank lines that follow belong to
    /// the next header).
    fn after(&self, header: Option<usize>) -> Option<usize> {
        self.content_end(header)
            .map(|end| next_line_start(self.body, end))
    }

    fn header_of(&self, table: &Table) -> Option<usize> {
        let span = table.span()?;
        self.headers.iter().position(|h| h.span == span)
    }

    /// The last header whose path starts with `prefix`.
    fn last_under(&self, prefix: &[&str]) -> Option<usize> {
        self.headers.iter().rposition(|h| {
            h.path.len() >= prefix.len() && h.path.iter().zip(prefix).all(|(a, b)| a == b)
        })
    }

    /// Before the first header and the comments written right above it; the
    /// end of the file when there is no header.
    fn before_first_header(&self) -> usize {
        let Some(first) = self.headers.first() else {
            return self.body.len();
        };
        let mut at = line_start(self.body, first.span.start);
        while at > 0 {
            let previous = line_start(self.body, at - 1);
            if self.body[previous..at].trim_start().starts_with('#') {
                at = previous;
            } else {
                break;
            }
        }
        at
    }

    /// The indentation of the first key of a header's table.
    fn key_indent(&self, header: usize) -> Option<&'b str> {
        let region = self.region(Some(header));
        let first = self.value_ends.partition_point(|&e| e <= region.start);
        self.value_ends
            .get(first)
            .filter(|&&e| e <= region.end)
            .map(|&e| indent_at(self.body, e))
    }

    fn header_indent(&self, header: usize) -> &'b str {
        indent_at(self.body, self.headers[header].span.start)
    }
}

/// How a table writes its keys: the indentation of its first key and the text
/// between a key and its value.
struct KeyStyle {
    indent: String,
    assign: String,
}

impl KeyStyle {
    fn of(body: &str, table: &Table, fallback_indent: &str) -> KeyStyle {
        let first = table.iter().find_map(|(key, item)| {
            let key = table.key(key)?.span()?;
            let value = item.as_value()?.span()?;
            Some((key, value))
        });
        match first {
            Some((key, value)) => {
                let assign = &body[key.end..value.start];
                let plain = assign.trim_matches([' ', '\t']) == "=";
                KeyStyle {
                    indent: indent_at(body, key.start).to_string(),
                    assign: if plain { assign } else { " = " }.to_string(),
                }
            }
            None => KeyStyle {
                indent: fallback_indent.to_string(),
                assign: " = ".to_string(),
            },
        }
    }

    fn line(&self, key: &str, value: &str) -> String {
        format!("{}{key}{}{value}\n", self.indent, self.assign)
    }
}

/// A TOML string: literal (`'…'`) when `like` is one and `s` can be, else
/// basic.
pub(crate) fn quote(s: &str, like: Option<&str>) -> String {
    let literal_ok = !s.contains(['\'', '\n', '\r']) && !s.chars().any(char::is_control);
    if like.is_some_and(|l| l.starts_with('\'') && !l.starts_with("'''")) && literal_ok {
        return format!("'{s}'");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key as a header or dotted key writes it: bare when it can be.
pub(crate) fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        key.to_string()
    } else {
        quote(key, None)
    }
}

/// A value as TOML text, its strings quoted like `like`.
fn value_text(value: &FieldValue, like: Option<&str>) -> String {
    match value {
        FieldValue::Str(s) => quote(s, like),
        FieldValue::Int(i) => i.to_string(),
        FieldValue::List(items) => {
            let items: Vec<String> = items.iter().map(|s| quote(s, like)).collect();
            format!("[{}]", items.join(", "))
        }
        FieldValue::Table(fields) => inline_table(fields, like),
    }
}

fn inline_table(fields: &[(&str, FieldValue)], like: Option<&str>) -> String {
    let fields: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k} = {}", value_text(v, like)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

/// `{ binding = "X", id = "…" }`, its strings quoted like `like`.
fn inline_entry(want: &ListEntry, like: Option<&str>) -> String {
    inline_table(&want.all_fields(), like)
}

/// The text of the last string written in `value` (itself, or inside the
/// arrays and inline tables it holds): the quote style a string added next
/// to it follows.
fn last_string<'b>(body: &'b str, value: &Value) -> Option<&'b str> {
    match value {
        Value::String(s) => s.span().map(|span| &body[span]),
        Value::Array(array) => array.iter().filter_map(|v| last_string(body, v)).last(),
        Value::InlineTable(table) => table
            .iter()
            .filter_map(|(_, v)| last_string(body, v))
            .last(),
        _ => None,
    }
}

/// The text of the last string value of a table's keys (an entry of
/// `[[kv_namespaces]]`).
fn last_string_in_table<'b>(body: &'b str, table: &Table) -> Option<&'b str> {
    table
        .iter()
        .filter_map(|(_, item)| item.as_value().and_then(|v| last_string(body, v)))
        .last()
}

/// Skips whitespace, line breaks and comments.
pub(crate) fn skip_trivia(body: &str, mut i: usize) -> usize {
    let b = body.as_bytes();
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n),
            _ => break,
        }
    }
    i
}

/// Skips spaces, tabs and a comment, stopping at the end of the line.
pub(crate) fn skip_line_trivia(body: &str, mut i: usize) -> usize {
    let b = body.as_bytes();
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n),
            _ => break,
        }
    }
    i
}

/// One indentation step for lines kvgen adds below a bracket.
pub(crate) fn indent_unit(body: &str) -> &'static str {
    if body.lines().any(|l| l.starts_with('\t')) {
        "\t"
    } else {
        "  "
    }
}

/// Adds `new` (TOML text of one element) to an inline array: on the same
/// line when the array is written on one line, else on a line of its own
/// after the last element (or in front of the closing bracket).
pub(crate) fn push_to_array(splice: &mut Splice, body: &str, array: &Array, new: &str) {
    let span = array.span().expect("parsed arrays have spans");
    let (open, close) = (span.start, span.end - 1);
    let one_line = !body[open..close].contains('\n');
    let elements: Vec<Range<usize>> = array.iter().filter_map(Value::span).collect();
    let Some(last) = elements.last() else {
        if one_line {
            let pad = if body[open + 1..close].is_empty() {
                ""
            } else {
                " "
            };
            splice.insert(body, close, &format!("{new}{pad}"));
        } else {
            let indent = format!("{}{}", indent_at(body, close), indent_unit(body));
            let line = format!("{indent}{new},\n");
            if starts_line(body, close) {
                splice.insert(body, line_start(body, close), &line);
            } else {
                let close_indent = indent_at(body, close);
                splice.insert(body, close, &format!("\n{line}{close_indent}"));
            }
        }
        return;
    };
    let after = skip_trivia(body, last.end);
    let comma = (body.as_bytes()[after] == b',').then_some(after);
    if one_line {
        match comma {
            Some(comma) => splice.insert(body, comma + 1, &format!(" {new},")),
            None => {
                let separator = match elements.len() {
                    n if n >= 2 => {
                        let between = &body[elements[n - 2].end..last.start];
                        if between == "," { "," } else { ", " }
                    }
                    _ => ", ",
                };
                splice.insert(body, last.end, &format!("{separator}{new}"));
            }
        }
        return;
    }
    let indent = if line_start(body, last.start) == line_start(body, open) {
        format!("{}{}", indent_at(body, open), indent_unit(body))
    } else {
        indent_at(body, last.start).to_string()
    };
    let trailing = if comma.is_some() { "," } else { "" };
    let anchor = comma.map_or(last.end, |c| c + 1);
    let stop = skip_line_trivia(body, anchor);
    if body.as_bytes().get(stop) == Some(&b'\n') {
        if comma.is_none() {
            splice.insert(body, last.end, ",");
        }
        splice.insert(body, stop + 1, &format!("{indent}{new}{trailing}\n"));
    } else {
        let comma = if comma.is_none() { "," } else { "" };
        splice.insert(body, anchor, &format!("{comma}\n{indent}{new}{trailing}"));
    }
}

/// Where the last value of an inline table ends, looking into the tables its
/// dotted keys (`a.b = 1`) make.
pub(crate) fn last_value_end(table: &InlineTable) -> Option<usize> {
    table
        .iter()
        .filter_map(|(_, v)| match v {
            Value::InlineTable(t) if t.is_dotted() => last_value_end(t),
            v => v.span().map(|s| s.end),
        })
        .max()
}

/// Adds `key = value` pairs to an inline table, before its closing brace.
pub(crate) fn add_to_inline_table(
    splice: &mut Splice,
    body: &str,
    table: &InlineTable,
    pairs: &[(&str, String)],
) {
    let span = table.span().expect("parsed tables have spans");
    let close = span.end - 1;
    let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    match last_value_end(table) {
        None => {
            let pad = if body[span.start + 1..close].is_empty() {
                " "
            } else {
                ""
            };
            splice.insert(body, close, &format!("{pad}{} ", text.join(", ")));
        }
        Some(end) => {
            let after = skip_trivia(body, end);
            if body.as_bytes()[after] == b',' {
                let text: String = text.iter().map(|t| format!(" {t},")).collect();
                splice.insert(body, after + 1, &text);
            } else {
                let text: String = text.iter().map(|t| format!(", {t}")).collect();
                splice.insert(body, end, &text);
            }
        }
    }
}

/// Puts `block` (whole lines, ending in `\n`) at `at`, a line start or the
/// end of the file, after a blank line, and followed by one when another
/// table comes after it; a file without a final newline keeps it missing.
fn insert_block(splice: &mut Splice, layout: &Layout<'_>, at: usize, block: &str) {
    let body = layout.body;
    let mut text = String::new();
    let mid_line = at == body.len() && !body.is_empty() && !body.ends_with('\n');
    if mid_line {
        text.push('\n');
    }
    let blank_before = if mid_line {
        is_blank_line(body, line_start(body, at))
    } else {
        at == 0 || is_blank_line(body, line_start(body, at - 1))
    };
    if !blank_before {
        text.push('\n');
    }
    text.push_str(block);
    if mid_line {
        text.pop();
    } else if layout.headers.iter().any(|h| h.span.start >= at) && !is_blank_line(body, at) {
        text.push('\n');
    }
    splice.insert(body, at, &text);
}

/// Puts key lines (ending in `\n`) at `at`, a line start or the end of the
/// file.
pub(crate) fn insert_lines(splice: &mut Splice, body: &str, at: usize, lines: &str) {
    if at == body.len() && !body.is_empty() && !body.ends_with('\n') {
        let lines = lines.strip_suffix('\n').unwrap_or(lines);
        splice.insert(body, at, &format!("\n{lines}"));
    } else {
        splice.insert(body, at, lines);
    }
}

/// Where a new table of the top level or of `env.NAME` goes, with the
/// indentation of its header and keys.
///
/// Top level: right after the top-level keys. `env.NAME`: after the last table
/// of that environment, else after the last environment table, else after
/// the last table (comments at the end of the file stay last). A table nested in an environment copies the indentation of the table
/// it follows.
fn new_table_at(layout: &Layout<'_>, env: Option<&str>) -> (usize, String, String) {
    let Some(env) = env else {
        let at = layout
            .after(None)
            .unwrap_or_else(|| layout.before_first_header());
        return (at, String::new(), String::new());
    };
    if let Some(i) = layout.last_under(&["env", env]) {
        let at = layout.after(Some(i)).expect("a header has an end");
        if layout.headers[i].path.len() > 2 {
            let header_indent = layout.header_indent(i);
            return (
                at,
                header_indent.to_string(),
                layout.key_indent(i).unwrap_or(header_indent).to_string(),
            );
        }
        return (at, String::new(), String::new());
    }
    let last = layout
        .last_under(&["env"])
        .or_else(|| layout.headers.len().checked_sub(1));
    let at = match last {
        Some(i) => layout.after(Some(i)).expect("a header has an end"),
        None => layout.after(None).unwrap_or(layout.body.len()),
    };
    (at, String::new(), String::new())
}

/// `[env.NAME.rest]` (or `[rest]` at the top level) for a new header.
fn header_path(env: Option<&str>, rest: &str) -> String {
    match env {
        Some(env) => format!("env.{}.{rest}", key_text(env)),
        None => rest.to_string(),
    }
}

/// True when the file writes `list` as inline arrays and never as `[[...]]`
/// tables.
fn file_uses_inline(root: &Table, list: List) -> bool {
    fn walk(
        table: &dyn TableLike,
        path: &mut Vec<String>,
        want: &[&str],
        inline: &mut bool,
        tables: &mut bool,
    ) {
        for (key, item) in table.iter() {
            path.push(key.to_string());
            let at_list = path.len() >= want.len()
                && path[path.len() - want.len()..]
                    .iter()
                    .zip(want)
                    .all(|(a, b)| a == b);
            match item {
                Item::Value(Value::Array(_)) if at_list => *inline = true,
                Item::Value(Value::InlineTable(t)) => walk(t, path, want, inline, tables),
                Item::ArrayOfTables(aot) => {
                    if at_list {
                        *tables = true;
                    }
                    for t in aot.iter() {
                        walk(t, path, want, inline, tables);
                    }
                }
                Item::Table(t) => walk(t, path, want, inline, tables),
                _ => {}
            }
            path.pop();
        }
    }
    let (mut inline, mut tables) = (false, false);
    walk(root, &mut Vec::new(), list.path(), &mut inline, &mut tables);
    inline && !tables
}

pub fn plan_entry(
    body: &str,
    env: Option<&str>,
    want: &ListEntry,
    force: bool,
) -> Result<Planned, EditError> {
    let doc = parse(body)?;
    let root = doc.as_table();
    let layout = Layout::new(body, root);
    let target = edit_target(body, root, env)?;
    let container = match target {
        Some(table) => container(body, table, want.list)?,
        None => Container::Missing,
    };
    let mut splice = Splice::new();
    let list = entries(&container, want.list.key_field());
    if let Some(entry) = list
        .iter()
        .find(|e| e.key.as_deref() == Some(want.key.as_str()))
    {
        for field in &want.fields {
            let wants_string = matches!(field.value, FieldValue::Str(_)) && !field.new_only;
            if wants_string
                && entry
                    .at
                    .value(field.name)
                    .is_some_and(|v| v.as_str().is_none())
            {
                return Err(EditError::at(
                    body,
                    entry
                        .at
                        .key(field.name)
                        .and_then(Key::span)
                        .map_or(0, |s| s.start),
                    format!("`{}` of {} is not a string", field.name, want.what()),
                ));
            }
        }
        let (changes, status) = reconcile(&|k| entry.at.json(k), want, force);
        if changes.is_empty() {
            return Ok(Planned::nothing(status));
        }
        // A field written as a table of its own (`[ratelimits.simple]`, or
        // dotted keys): kvgen replaces values only.
        if let EntryAt::Table(t) = &entry.at
            && let Some((field, _)) = changes
                .iter()
                .find(|(field, _)| t.get(field).is_some_and(|item| item.as_value().is_none()))
        {
            return Err(EditError::at(
                body,
                t.key(field).and_then(Key::span).map_or(0, |s| s.start),
                format!(
                    "`{field}` of {} is written as a table of its own; kvgen changes values only, so change it by hand",
                    want.what()
                ),
            ));
        }
        set_fields(&mut splice, &layout, &entry.at, &changes);
        return Ok(Planned {
            splice,
            status,
            effect: Effect::set_fields(&changes),
        });
    }
    add_entry(&mut splice, &layout, root, target, &container, env, want);
    Ok(Planned {
        splice,
        status: EditStatus::Changed,
        effect: Effect::NewEntry,
    })
}

/// Writes the fields an existing entry is missing or (with `--force`) has
/// with another value: a value is replaced by its new text, missing fields
/// are added after the entry's last key.
fn set_fields(
    splice: &mut Splice,
    layout: &Layout<'_>,
    entry: &EntryAt<'_>,
    changes: &[(&'static str, &FieldValue)],
) {
    let body = layout.body;
    // A missing field is written like the entry's other strings.
    let like = match entry {
        EntryAt::Table(t) => last_string_in_table(body, t),
        EntryAt::Inline(t) => t.iter().filter_map(|(_, v)| last_string(body, v)).last(),
    };
    let mut missing = Vec::new();
    for (field, new) in changes {
        match entry.value(field).and_then(Value::span) {
            Some(span) => {
                let text = value_text(new, Some(&body[span.clone()]));
                splice.replace(span, text);
            }
            None => missing.push((*field, value_text(new, like))),
        }
    }
    if missing.is_empty() {
        return;
    }
    match entry {
        EntryAt::Inline(t) => add_to_inline_table(splice, body, t, &missing),
        EntryAt::Table(t) => {
            let header = layout.header_of(t);
            let fallback = header.map_or("", |i| layout.header_indent(i));
            let style = KeyStyle::of(body, t, fallback);
            let lines: String = missing.iter().map(|(k, v)| style.line(k, v)).collect();
            let at = layout.after(header).expect("an entry has a header");
            insert_lines(splice, body, at, &lines);
        }
    }
}

fn add_entry(
    splice: &mut Splice,
    layout: &Layout<'_>,
    root: &Table,
    target: Option<&Table>,
    container: &Container<'_>,
    env: Option<&str>,
    want: &ListEntry,
) {
    let body = layout.body;
    let leaf = want.list.path().last().expect("lists have paths");
    match container {
        Container::Tables(aot) => {
            let last = aot
                .iter()
                .last()
                .expect("parsed arrays of tables are not empty");
            let entry = layout.header_of(last).expect("entries have headers");
            let path = &layout.headers[entry].path;
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let anchor = layout.last_under(&path).unwrap_or(entry);
            let header_indent = layout.header_indent(entry);
            let style = KeyStyle::of(body, last, header_indent);
            let mut block = format!(
                "{header_indent}{}\n",
                &body[layout.headers[entry].span.clone()]
            );
            let like = last_string_in_table(body, last);
            for (k, v) in want.all_fields() {
                block.push_str(&style.line(k, &value_text(&v, like)));
            }
            let at = layout.after(Some(anchor)).expect("a header has an end");
            insert_block(splice, layout, at, &block);
        }
        Container::Inline(array) => {
            let like = array.iter().filter_map(|v| last_string(body, v)).last();
            push_to_array(splice, body, array, &inline_entry(want, like));
        }
        Container::InTable(parent) => {
            let header = layout.header_of(parent).expect("a headed table");
            let style = KeyStyle::of(body, parent, layout.header_indent(header));
            let like = last_string_in_table(body, parent);
            let line = style.line(leaf, &format!("[{}]", inline_entry(want, like)));
            let at = layout.after(Some(header)).expect("a header has an end");
            insert_lines(splice, body, at, &line);
        }
        Container::InInline(parent) => {
            let like = parent
                .iter()
                .filter_map(|(_, v)| last_string(body, v))
                .last();
            add_to_inline_table(
                splice,
                body,
                parent,
                &[(leaf, format!("[{}]", inline_entry(want, like)))],
            );
        }
        Container::Missing => {
            let headed = match (env, target) {
                (None, _) => true,
                (Some(_), Some(t)) => !t.is_implicit() && !t.is_dotted(),
                (Some(_), None) => false,
            };
            let dotted: Vec<String> = want.list.path().iter().map(|k| key_text(k)).collect();
            let dotted = dotted.join(".");
            if headed && file_uses_inline(root, want.list) {
                let table = target.expect("a headed target exists");
                let line = |indent: &str, assign: &str| {
                    format!("{indent}{dotted}{assign}[{}]\n", inline_entry(want, None))
                };
                match env {
                    None => {
                        let style = KeyStyle::of(body, table, "");
                        let at = layout
                            .after(None)
                            .unwrap_or_else(|| layout.before_first_header());
                        insert_lines(splice, body, at, &line(&style.indent, &style.assign));
                    }
                    Some(_) => {
                        let header = layout.header_of(table).expect("a headed table");
                        let style = KeyStyle::of(body, table, layout.header_indent(header));
                        let at = layout.after(Some(header)).expect("a header has an end");
                        insert_lines(splice, body, at, &line(&style.indent, &style.assign));
                    }
                }
                return;
            }
            let (at, header_indent, key_indent) = new_table_at(layout, env);
            let mut block = format!("{header_indent}[[{}]]\n", header_path(env, &dotted));
            for (k, v) in want.all_fields() {
                block.push_str(&format!("{key_indent}{k} = {}\n", value_text(&v, None)));
            }
            insert_block(splice, layout, at, &block);
        }
    }
}

/// Adds `expr` to `triggers.crons` of the top level or `env.NAME` (the
/// caller has checked it is not there yet): appended to the list the file
/// has (in its style), or a new `[triggers]` table placed like a new
/// `[[kv_namespaces]]`.
pub fn plan_cron(body: &str, env: Option<&str>, expr: &str) -> Result<Planned, EditError> {
    let doc = parse(body)?;
    let root = doc.as_table();
    let layout = Layout::new(body, root);
    let target = edit_target(body, root, env)?;
    let mut splice = Splice::new();
    let not_an_array = |table: &dyn TableLike| {
        EditError::at(
            body,
            key_offset(table, "crons"),
            "`triggers.crons` is not an array",
        )
    };
    match target.and_then(|t| t.get("triggers").map(|item| (t, item))) {
        None => {
            let (at, header_indent, key_indent) = new_table_at(&layout, env);
            let block = format!(
                "{header_indent}[{}]\n{key_indent}crons = [{}]\n",
                header_path(env, "triggers"),
                quote(expr, None)
            );
            insert_block(&mut splice, &layout, at, &block);
        }
        Some((_, Item::Table(triggers))) => match triggers.get("crons") {
            Some(Item::Value(Value::Array(array))) => {
                let like = array.iter().filter_map(|v| last_string(body, v)).last();
                push_to_array(&mut splice, body, array, &quote(expr, like));
            }
            Some(_) => return Err(not_an_array(triggers)),
            None => {
                let Some(header) = layout
                    .header_of(triggers)
                    .filter(|_| !triggers.is_implicit() && !triggers.is_dotted())
                else {
                    return Err(EditError::at(
                        body,
                        triggers.span().map_or(0, |s| s.start),
                        "`triggers` is written with dotted keys or only as sub-tables; add `crons` to it by hand",
                    ));
                };
                let style = KeyStyle::of(body, triggers, layout.header_indent(header));
                let line = style.line("crons", &format!("[{}]", quote(expr, None)));
                let at = layout.after(Some(header)).expect("a header has an end");
                insert_lines(&mut splice, body, at, &line);
            }
        },
        Some((_, Item::Value(Value::InlineTable(triggers)))) => match triggers.get("crons") {
            Some(Value::Array(array)) => {
                let like = array.iter().filter_map(|v| last_string(body, v)).last();
                push_to_array(&mut splice, body, array, &quote(expr, like));
            }
            Some(_) => return Err(not_an_array(triggers)),
            None => add_to_inline_table(
                &mut splice,
                body,
                triggers,
                &[("crons", format!("[{}]", quote(expr, None)))],
            ),
        },
        Some((table, _)) => {
            return Err(EditError::at(
                body,
                key_offset(table, "triggers"),
                "`triggers` is not a table",
            ));
        }
    }
    Ok(Planned {
        splice,
        status: EditStatus::Changed,
        effect: Effect::NewCron,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cron(body: &str, expr: &str) -> String {
        plan_cron(body, None, expr).unwrap().splice.apply(body)
    }

    fn with_binding(body: &str, id: &str) -> String {
        let mut want = KvBinding::new("CACHE");
        want.id = Some(id.to_string());
        plan_entry(body, None, &ListEntry::from(&want), false)
            .unwrap()
            .splice
            .apply(body)
    }

    #[test]
    fn crons_follow_the_quotes_of_the_list() {
        let cases = [
            (
                "[triggers]\ncrons = ['0 * * * *']\n",
                "[triggers]\ncrons = ['0 * * * *', '5 * * * *']\n",
            ),
            (
                "[triggers]\ncrons = [\"0 * * * *\"]\n",
                "[triggers]\ncrons = [\"0 * * * *\", \"5 * * * *\"]\n",
            ),
            (
                "triggers = { crons = [\n  '0 * * * *', # hourly\n] }\n",
                "triggers = { crons = [\n  '0 * * * *', # hourly\n  '5 * * * *',\n] }\n",
            ),
            // No entry to follow: a basic string.
            (
                "[triggers]\ncrons = []\n",
                "[triggers]\ncrons = [\"5 * * * *\"]\n",
            ),
        ];
        for (before, after) in cases {
            assert_eq!(with_cron(before, "5 * * * *"), after, "{before:?}");
        }
    }

    #[test]
    fn a_value_a_literal_string_cannot_hold_is_a_basic_string() {
        let body = "[triggers]\ncrons = ['0 * * * *']\n";
        let after = plan_cron(body, None, "it's\tlate")
            .unwrap()
            .splice
            .apply(body);
        assert_eq!(
            after,
            "[triggers]\ncrons = ['0 * * * *', \"it's\\tlate\"]\n"
        );
        let after = plan_cron(body, None, "C:\\\"x\"")
            .unwrap()
            .splice
            .apply(body);
        assert_eq!(after, "[triggers]\ncrons = ['0 * * * *', 'C:\\\"x\"']\n");
    }

    #[test]
    fn kv_entries_follow_the_quotes_of_their_neighbours() {
        assert_eq!(
            with_binding("kv_namespaces = [{ binding = 'A', id = 'x' }]\n", "abc"),
            "kv_namespaces = [{ binding = 'A', id = 'x' }, { binding = 'CACHE', id = 'abc' }]\n"
        );
        assert_eq!(
            with_binding(
                "kv_namespaces = [\n  { binding = \"A\", id = \"x\" },\n]\n",
                "abc"
            ),
            "kv_namespaces = [\n  { binding = \"A\", id = \"x\" },\n  { binding = \"CACHE\", id = \"abc\" },\n]\n"
        );
        assert_eq!(
            with_binding("[[kv_namespaces]]\nbinding = 'A'\nid = 'x'\n", "abc"),
            "[[kv_namespaces]]\nbinding = 'A'\nid = 'x'\n\n[[kv_namespaces]]\nbinding = 'CACHE'\nid = 'abc'\n"
        );
        // A field added to an entry that has the binding is written like its
        // other strings.
        assert_eq!(
            with_binding("kv_namespaces = [{ binding = 'CACHE' }]\n", "abc"),
            "kv_namespaces = [{ binding = 'CACHE', id = 'abc' }]\n"
        );
        assert_eq!(
            with_binding("[[kv_namespaces]]\nbinding = 'CACHE'\n", "abc"),
            "[[kv_namespaces]]\nbinding = 'CACHE'\nid = 'abc'\n"
        );
        // An id a literal string cannot hold is a basic string.
        assert_eq!(
            with_binding("kv_namespaces = [{ binding = 'A' }]\n", "a'b"),
            "kv_namespaces = [{ binding = 'A' }, { binding = 'CACHE', id = \"a'b\" }]\n"
        );
    }
}
