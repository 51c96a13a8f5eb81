//! `wrangler.json` / `wrangler.jsonc`: jsonc-parser's syntax tree says where
//! things are in the raw file; an edit is text put in at those places (a
//! [`Splice`]), formatted like its neighbours, so every byte outside it stays
//! as it was.

use std::collections::HashSet;
use std::ops::Range;

use jsonc_parser::ast::{Array, Object, ObjectProp, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::tokens::Token;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions, parse_to_ast};

use super::splice::Splice;
use super::{
    BINDING_KEYS, EditError, EditStatus, Effect, FieldValue, KvBinding, List, ListEntry, Planned,
    reconcile,
};
use crate::text::{indent_at, line_start, starts_line};

/// What Wrangler's reader accepts: JSON with comments and trailing commas.
/// The looser JSON5 forms are not Wrangler syntax and are refused.
fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses a config into its root object. What JSON does not allow and
/// Wrangler's reader refuses or reads differently is refused with its
/// position: raw control characters (a line break, a tab) inside strings, and
/// whitespace other than spaces, tabs and line breaks between tokens.
pub fn parse(body: &str) -> Result<Object<'_>, EditError> {
    super::check_line_breaks(body)?;
    let collect = CollectOptions {
        comments: CommentCollectionStrategy::AsTokens,
        tokens: true,
    };
    let parsed = parse_to_ast(body, &collect, &options())
        .map_err(|e| EditError::at(body, e.range().start, format!("invalid JSON: {}", e.kind())))?;
    let mut gap_start = 0;
    for token in parsed.tokens.iter().flatten() {
        let range = token.range;
        check_whitespace(body, gap_start..range.start)?;
        gap_start = range.end;
        if let Token::String(_) = token.token
            && let Some(i) = body.as_bytes()[range.start..range.end]
                .iter()
                .position(|b| *b < 0x20)
        {
            return Err(EditError::at(
                body,
                range.start + i,
                "invalid JSON: a line break or control character inside a string (write it as an escape, such as \\n)",
            ));
        }
    }
    check_whitespace(body, gap_start..body.len())?;
    if let Some(value) = &parsed.value {
        check_depth(body, value, 1)?;
    }
    match parsed.value {
        Some(Value::Object(root)) => Ok(root),
        _ => Err(EditError {
            line: 1,
            col: 1,
            message: "the config is not a JSON object".to_string(),
        }),
    }
}

/// How deeply objects and arrays may nest: far more than any Wrangler config
/// needs, and within what common JSON readers (serde_json: 128) accept.
const MAX_DEPTH: usize = 100;

fn check_depth(body: &str, value: &Value<'_>, depth: usize) -> Result<(), EditError> {
    let children: Box<dyn Iterator<Item = &Value<'_>>> = match value {
        Value::Object(o) => Box::new(o.properties.iter().map(|p| &p.value)),
        Value::Array(a) => Box::new(a.elements.iter()),
        _ => return Ok(()),
    };
    if depth > MAX_DEPTH {
        return Err(EditError::at(
            body,
            value.start(),
            format!("invalid JSON: nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    for child in children {
        check_depth(body, child, depth + 1)?;
    }
    Ok(())
}

/// Between tokens JSON allows spaces, tabs and line breaks only.
fn check_whitespace(body: &str, gap: Range<usize>) -> Result<(), EditError> {
    match body[gap.clone()].find(|c| !matches!(c, ' ' | '\t' | '\r' | '\n')) {
        Some(i) => {
            let c = body[gap.start + i..].chars().next().expect("found a char");
            Err(EditError::at(
                body,
                gap.start + i,
                format!(
                    "invalid JSON: unexpected whitespace character U+{:04X} (use spaces, tabs and line breaks)",
                    c as u32
                ),
            ))
        }
        None => Ok(()),
    }
}

/// Refuses an object that has a key twice: Wrangler reads the last one, and
/// an edit of the first would be lost.
fn unique(body: &str, object: &Object<'_>) -> Result<(), EditError> {
    let mut seen = HashSet::new();
    for prop in &object.properties {
        let name = prop.name.as_str();
        if !seen.insert(name) {
            return Err(EditError::at(
                body,
                prop.name.start(),
                format!(
                    "duplicate key {name:?} (Wrangler reads only the last one); remove one of them"
                ),
            ));
        }
    }
    Ok(())
}

fn get<'o, 'a>(object: &'o Object<'a>, name: &str) -> Option<&'o ObjectProp<'a>> {
    object
        .properties
        .iter()
        .rev()
        .find(|p| p.name.as_str() == name)
}

fn not_a(body: &str, prop: &ObjectProp<'_>, message: String) -> EditError {
    EditError::at(body, prop.name.start(), message)
}

/// The object at `name` in `parent` (None when missing), checked for
/// duplicate keys.
fn child<'o, 'a>(
    body: &str,
    parent: &'o Object<'a>,
    name: &str,
    path: &str,
) -> Result<Option<&'o Object<'a>>, EditError> {
    match get(parent, name) {
        None => Ok(None),
        Some(prop) => match &prop.value {
            Value::Object(object) => {
                unique(body, object)?;
                Ok(Some(object))
            }
            _ => Err(not_a(body, prop, format!("`{path}` is not an object"))),
        },
    }
}

/// The root object, or `env.NAME` when the file has it.
fn target<'o, 'a>(
    body: &str,
    root: &'o Object<'a>,
    env: Option<&str>,
) -> Result<Option<&'o Object<'a>>, EditError> {
    unique(body, root)?;
    let Some(env) = env else {
        return Ok(Some(root));
    };
    match child(body, root, "env", "env")? {
        None => Ok(None),
        Some(envs) => child(body, envs, env, &format!("env.{env}")),
    }
}

/// The entries of a list (an array of objects) and their names (the naming
/// field).
fn entries<'o, 'a>(
    body: &str,
    array: &'o Array<'a>,
    key_field: &str,
) -> Result<Vec<(Option<String>, &'o Object<'a>)>, EditError> {
    let mut out = Vec::new();
    for object in array.elements.iter().filter_map(Value::as_object) {
        unique(body, object)?;
        out.push((string_field(object, key_field), object));
    }
    Ok(out)
}

fn string_field(object: &Object<'_>, field: &str) -> Option<String> {
    match get(object, field).map(|p| &p.value) {
        Some(Value::StringLit(s)) => Some(s.value.to_string()),
        _ => None,
    }
}

/// Where a list is in `target`: its array, or (None) the object it would go
/// into and the path of keys still missing down to it.
fn list_array<'o, 'a>(
    body: &str,
    target: &'o Object<'a>,
    list: List,
) -> Result<Result<&'o Array<'a>, (&'o Object<'a>, Vec<&'static str>)>, EditError> {
    let path = list.path();
    let mut object = target;
    for (i, key) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if last {
            return match get(object, key) {
                None => Ok(Err((object, path[i..].to_vec()))),
                Some(prop) => match &prop.value {
                    Value::Array(array) => Ok(Ok(array)),
                    _ => Err(not_a(
                        body,
                        prop,
                        format!("`{}` is not an array", list.dotted()),
                    )),
                },
            };
        }
        match child(body, object, key, &path[..=i].join("."))? {
            Some(next) => object = next,
            None => return Ok(Err((object, path[i..].to_vec()))),
        }
    }
    unreachable!("lists have paths")
}

pub fn kv_namespaces(body: &str, env: Option<&str>) -> Result<Vec<KvBinding>, EditError> {
    let root = parse(body)?;
    let Some(target) = target(body, &root, env)? else {
        return Ok(Vec::new());
    };
    let Ok(array) = list_array(body, target, List::KvNamespaces)? else {
        return Ok(Vec::new());
    };
    Ok(entries(body, array, "binding")?
        .into_iter()
        .map(|(key, object)| KvBinding {
            binding: key.unwrap_or_default(),
            id: string_field(object, "id"),
            preview_id: string_field(object, "preview_id"),
        })
        .collect())
}

/// The `triggers.crons` of the top level or of `env.NAME`.
pub fn crons(body: &str, env: Option<&str>) -> Result<Vec<String>, EditError> {
    let root = parse(body)?;
    let Some(target) = target(body, &root, env)? else {
        return Ok(Vec::new());
    };
    let Some(triggers) = child(body, target, "triggers", "triggers")? else {
        return Ok(Vec::new());
    };
    let Some(prop) = get(triggers, "crons") else {
        return Ok(Vec::new());
    };
    let Value::Array(crons) = &prop.value else {
        return Err(not_a(
            body,
            prop,
            "`triggers.crons` is not an array".to_string(),
        ));
    };
    Ok(crons
        .elements
        .iter()
        .filter_map(|e| match e {
            Value::StringLit(s) => Some(s.value.to_string()),
            _ => None,
        })
        .collect())
}

/// A value kvgen writes.
enum New {
    Str(String),
    /// Text written already (a one-line entry in a list of one-line entries).
    Raw(String),
    Obj(Vec<(String, New)>),
    Arr(Vec<New>),
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// A value kvgen writes, as JSON; a nested table on one line.
fn new_value(value: &FieldValue, style: &Style) -> New {
    match value {
        FieldValue::Str(s) => New::Str(s.clone()),
        FieldValue::Int(i) => New::Raw(i.to_string()),
        FieldValue::List(items) => New::Arr(items.iter().cloned().map(New::Str).collect()),
        FieldValue::Table(fields) => {
            let table = New::Obj(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), new_value(v, style)))
                    .collect(),
            );
            New::Raw(style.render(&table, None))
        }
    }
}

/// A new entry: its naming field, then the others.
fn entry(want: &ListEntry, style: &Style) -> New {
    New::Obj(
        want.all_fields()
            .into_iter()
            .map(|(k, v)| (k.to_string(), new_value(&v, style)))
            .collect(),
    )
}

/// How the file writes JSON: its indentation step, the text between a key
/// and its value, the spaces inside one-line braces and whether multi-line
/// lists end with a comma.
#[derive(Clone)]
struct Style {
    unit: String,
    colon: String,
    pad: &'static str,
    trailing_commas: bool,
}

impl Style {
    fn of(body: &str, root: &Object<'_>) -> Style {
        let unit = root
            .properties
            .first()
            .filter(|p| starts_line(body, p.start()))
            .and_then(|p| {
                indent_at(body, p.start())
                    .strip_prefix(indent_at(body, root.start()))
                    .filter(|u| !u.is_empty())
            })
            .map(str::to_string)
            .unwrap_or_else(|| {
                if body.lines().any(|l| l.starts_with('\t')) {
                    "\t".to_string()
                } else {
                    "  ".to_string()
                }
            });
        let mut colon = None;
        let mut pad = None;
        let mut trailing_commas = None;
        let mut queue = std::collections::VecDeque::from([Node::Object(root)]);
        while let Some(node) = queue.pop_front() {
            match node {
                Node::Object(o) => {
                    if colon.is_none()
                        && let Some(p) = o.properties.first()
                    {
                        let between = &body[p.name.end()..p.value.start()];
                        if between.trim_matches([' ', '\t']) == ":" {
                            colon = Some(between.to_string());
                        }
                    }
                    queue.extend(o.properties.iter().filter_map(|p| Node::of(&p.value)));
                }
                Node::Array(a) => queue.extend(a.elements.iter().filter_map(Node::of)),
            }
            let (range, members) = (node.range(), node.members());
            let Some(last) = members.last() else { continue };
            let multi_line = body[range.clone()].contains('\n');
            if multi_line && trailing_commas.is_none() {
                trailing_commas = Some(body.as_bytes()[skip_trivia(body, last.end)] == b',');
            }
            if !multi_line && pad.is_none() && matches!(node, Node::Object(_)) {
                pad = Some(if body.as_bytes()[range.start + 1] == b' ' {
                    " "
                } else {
                    ""
                });
            }
        }
        Style {
            unit,
            colon: colon.unwrap_or_else(|| ": ".to_string()),
            pad: pad.unwrap_or(" "),
            trailing_commas: trailing_commas.unwrap_or(false),
        }
    }

    /// `value` as JSON text; `multi_line` gives the indentation of the line
    /// it starts on when objects are to be written over several lines.
    fn render(&self, value: &New, multi_line: Option<&str>) -> String {
        match value {
            New::Str(s) => quote(s),
            New::Raw(text) => text.clone(),
            New::Obj(fields) if fields.is_empty() => "{}".to_string(),
            New::Obj(fields) => match multi_line {
                Some(indent) => {
                    let inner = format!("{indent}{}", self.unit);
                    let lines: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| {
                            format!(
                                "{inner}{}{}{}",
                                quote(k),
                                self.colon,
                                self.render(v, Some(&inner))
                            )
                        })
                        .collect();
                    let comma = if self.trailing_commas { "," } else { "" };
                    format!("{{\n{}{comma}\n{indent}}}", lines.join(",\n"))
                }
                None => {
                    let fields: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!("{}{}{}", quote(k), self.colon, self.render(v, None)))
                        .collect();
                    format!("{{{}{}{}}}", self.pad, fields.join(", "), self.pad)
                }
            },
            New::Arr(items) => {
                let objects = items.iter().any(|i| matches!(i, New::Obj(_)));
                match multi_line {
                    Some(indent) if objects => {
                        let inner = format!("{indent}{}", self.unit);
                        let lines: Vec<String> = items
                            .iter()
                            .map(|v| format!("{inner}{}", self.render(v, Some(&inner))))
                            .collect();
                        let comma = if self.trailing_commas { "," } else { "" };
                        format!("[\n{}{comma}\n{indent}]", lines.join(",\n"))
                    }
                    _ => {
                        let items: Vec<String> =
                            items.iter().map(|v| self.render(v, multi_line)).collect();
                        format!("[{}]", items.join(", "))
                    }
                }
            }
        }
    }

    fn member(&self, key: Option<&str>, value: &New, multi_line: Option<&str>) -> String {
        match key {
            Some(key) => format!(
                "{}{}{}",
                quote(key),
                self.colon,
                self.render(value, multi_line)
            ),
            None => self.render(value, multi_line),
        }
    }
}

#[derive(Clone, Copy)]
enum Node<'o, 'a> {
    Object(&'o Object<'a>),
    Array(&'o Array<'a>),
}

impl<'o, 'a> Node<'o, 'a> {
    fn of(value: &'o Value<'a>) -> Option<Node<'o, 'a>> {
        match value {
            Value::Object(o) => Some(Node::Object(o)),
            Value::Array(a) => Some(Node::Array(a)),
            _ => None,
        }
    }

    fn range(&self) -> Range<usize> {
        match self {
            Node::Object(o) => o.start()..o.end(),
            Node::Array(a) => a.start()..a.end(),
        }
    }

    fn members(&self) -> Vec<Range<usize>> {
        match self {
            Node::Object(o) => o.properties.iter().map(|p| p.start()..p.end()).collect(),
            Node::Array(a) => a.elements.iter().map(|e| e.start()..e.end()).collect(),
        }
    }
}

/// Skips whitespace, line breaks and comments.
fn skip_trivia(body: &str, mut i: usize) -> usize {
    let b = body.as_bytes();
    loop {
        match b.get(i) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => i += 1,
            Some(b'/') if b.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n)
            }
            Some(b'/') if b.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + 2 + n + 2)
            }
            _ => return i,
        }
    }
}

/// Skips spaces, tabs and comments up to the end of the line (a block
/// comment is skipped whole, and the line it ends on is followed).
fn skip_line_trivia(body: &str, mut i: usize) -> usize {
    let b = body.as_bytes();
    loop {
        match b.get(i) {
            Some(b' ' | b'\t' | b'\r') => i += 1,
            Some(b'/') if b.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n)
            }
            Some(b'/') if b.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + 2 + n + 2)
            }
            _ => return i,
        }
    }
}

/// Start of the spaces and tabs right before `i`.
fn before_spaces(body: &str, i: usize) -> usize {
    i - body[..i].len() + body[..i].trim_end_matches([' ', '\t']).len()
}

/// Adds members (`"key": value` or elements) after the last member of a
/// container: on the same line when the container is written on one line,
/// else on lines of their own after the last member's line (or in front of
/// the closing bracket).
fn append(
    splice: &mut Splice,
    body: &str,
    style: &Style,
    container: Node<'_, '_>,
    members: &[(Option<&str>, New)],
    like_last: Option<&Style>,
) {
    let range = container.range();
    let (open, close) = (range.start, range.end - 1);
    let one_line = !body[open..close].contains('\n');
    let is_object = matches!(container, Node::Object(_));
    let pad = if is_object { style.pad } else { "" };
    let existing = container.members();
    let one_line_text = |separator: &str| {
        members
            .iter()
            .map(|(k, v)| style.member(*k, v, None))
            .collect::<Vec<_>>()
            .join(separator)
    };
    let Some(last) = existing.last() else {
        let inner = &body[open + 1..close];
        if one_line {
            if inner.trim().is_empty() {
                let text = one_line_text(", ");
                if inner.is_empty() {
                    splice.insert(body, close, &format!("{pad}{text}{pad}"));
                } else {
                    splice.insert(body, close, &format!("{text} "));
                }
            } else {
                let at = before_spaces(body, close);
                splice.insert(body, at, &format!(" {}", one_line_text(", ")));
            }
            return;
        }
        let indent = format!("{}{}", indent_at(body, close), style.unit);
        let lines = lines_text(style, members, &indent, style.trailing_commas);
        if starts_line(body, close) {
            splice.insert(body, line_start(body, close), &format!("{lines}\n"));
        } else {
            let close_indent = indent_at(body, close);
            splice.insert(body, close, &format!("\n{lines}\n{close_indent}"));
        }
        return;
    };
    let after = skip_trivia(body, last.end);
    let comma = (body.as_bytes()[after] == b',').then_some(after);
    if one_line {
        let at = before_spaces(body, close).max(comma.map_or(last.end, |c| c + 1));
        let separator = match existing.len() {
            n if n >= 2 && &body[existing[n - 2].end..last.start] == "," => ",",
            _ => ", ",
        };
        let text = one_line_text(separator);
        match comma {
            Some(_) => splice.insert(body, at, &format!(" {text},")),
            None => splice.insert(body, at, &format!("{separator}{text}")),
        }
        return;
    }
    let indent = if line_start(body, last.end) == line_start(body, open) {
        format!("{}{}", indent_at(body, open), style.unit)
    } else {
        indent_at(body, last.end - 1).to_string()
    };
    let style = like_last.unwrap_or(style);
    let anchor = comma.map_or(last.end, |c| c + 1);
    let stop = skip_line_trivia(body, anchor);
    let lines = lines_text(style, members, &indent, comma.is_some());
    if body.as_bytes().get(stop) == Some(&b'\n') {
        if comma.is_none() {
            splice.insert(body, last.end, ",");
        }
        splice.insert(body, stop + 1, &format!("{lines}\n"));
    } else {
        let at = before_spaces(body, stop).max(anchor);
        let comma = if comma.is_none() { "," } else { "" };
        splice.insert(body, at, &format!("{comma}\n{lines}"));
    }
}

/// Members on lines of their own at `indent` (no final line break).
fn lines_text(
    style: &Style,
    members: &[(Option<&str>, New)],
    indent: &str,
    trailing_comma: bool,
) -> String {
    let lines: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{indent}{}", style.member(*k, v, Some(indent))))
        .collect();
    let comma = if trailing_comma { "," } else { "" };
    format!("{}{comma}", lines.join(",\n"))
}

/// Adds a property to an object right after its property `index` (which is
/// not the last): on that line when the object is written on one line, else
/// on new lines (after the property's line, or right after its comma when the
/// next property shares that comma's line).
fn insert_after(
    splice: &mut Splice,
    body: &str,
    style: &Style,
    object: &Object<'_>,
    index: usize,
    key: &str,
    value: &New,
) {
    let prop = &object.properties[index];
    let next = &object.properties[index + 1];
    let comma = skip_trivia(body, prop.end());
    debug_assert_eq!(body.as_bytes()[comma], b',');
    if !body[object.start()..object.end()].contains('\n') {
        let text = style.member(Some(key), value, None);
        splice.insert(body, comma + 1, &format!(" {text},"));
        return;
    }
    let indent = if starts_line(body, prop.start()) {
        indent_at(body, prop.start()).to_string()
    } else if starts_line(body, next.start()) {
        indent_at(body, next.start()).to_string()
    } else {
        format!("{}{}", indent_at(body, object.start()), style.unit)
    };
    let text = style.member(Some(key), value, Some(&indent));
    let stop = skip_line_trivia(body, comma + 1);
    if body.as_bytes().get(stop) == Some(&b'\n') {
        splice.insert(body, stop + 1, &format!("{indent}{text},\n"));
    } else {
        let space = space_before(body, comma + 1);
        splice.insert(body, comma + 1, &format!("\n{indent}{text},{space}"));
    }
}

/// A space to separate inserted text from what follows, unless there is one.
fn space_before(body: &str, at: usize) -> &'static str {
    if matches!(body.as_bytes().get(at), Some(b' ' | b'\t')) {
        ""
    } else {
        " "
    }
}

/// Adds a property to an object before its first property: on that line when
/// the object is written on one line, else on new lines.
fn insert_first(
    splice: &mut Splice,
    body: &str,
    style: &Style,
    object: &Object<'_>,
    key: &str,
    value: &New,
) {
    let open = object.start();
    let first = &object.properties[0];
    if !body[open..object.end()].contains('\n') {
        let text = style.member(Some(key), value, None);
        splice.insert(body, first.start(), &format!("{text}, "));
        return;
    }
    let indent = if starts_line(body, first.start()) {
        indent_at(body, first.start()).to_string()
    } else {
        format!("{}{}", indent_at(body, open), style.unit)
    };
    let text = style.member(Some(key), value, Some(&indent));
    let stop = skip_line_trivia(body, open + 1);
    if body.as_bytes().get(stop) == Some(&b'\n') {
        splice.insert(body, stop + 1, &format!("{indent}{text},\n"));
    } else {
        let space = space_before(body, open + 1);
        splice.insert(body, open + 1, &format!("\n{indent}{text},{space}"));
    }
}

/// Adds `"key": value` to an object: after the property at `after` (None:
/// at the start), or at the end.
fn add_property(
    splice: &mut Splice,
    body: &str,
    style: &Style,
    object: &Object<'_>,
    place: Place,
    key: &str,
    value: New,
) {
    match place {
        Place::After(i) if i + 1 < object.properties.len() => {
            insert_after(splice, body, style, object, i, key, &value)
        }
        Place::Start if !object.properties.is_empty() => {
            insert_first(splice, body, style, object, key, &value)
        }
        _ => append(
            splice,
            body,
            style,
            Node::Object(object),
            &[(Some(key), value)],
            None,
        ),
    }
}

#[derive(Clone, Copy)]
enum Place {
    Start,
    After(usize),
    End,
}

/// Where a new property goes: right after the last binding the object has;
/// without bindings, before `env` (the environments come last), or at the
/// end.
fn binding_place(object: &Object<'_>) -> Place {
    let names: Vec<&str> = object.properties.iter().map(|p| p.name.as_str()).collect();
    if let Some(i) = names.iter().rposition(|n| BINDING_KEYS.contains(n)) {
        return Place::After(i);
    }
    before_env(object)
}

fn before_env(object: &Object<'_>) -> Place {
    match object
        .properties
        .iter()
        .position(|p| p.name.as_str() == "env")
    {
        Some(0) => Place::Start,
        Some(i) => Place::After(i - 1),
        None => Place::End,
    }
}

/// The style of a new multi-line entry copied from the last one: the
/// indentation of its properties and whether its last one has a comma.
fn entry_style(body: &str, style: &Style, last: &Object<'_>) -> Style {
    let mut style = style.clone();
    let (Some(first), Some(final_prop)) = (last.properties.first(), last.properties.last()) else {
        return style;
    };
    let close = last.end() - 1;
    if starts_line(body, first.start())
        && starts_line(body, close)
        && let Some(unit) = indent_at(body, first.start())
            .strip_prefix(indent_at(body, close))
            .filter(|u| !u.is_empty())
    {
        style.unit = unit.to_string();
    }
    style.trailing_commas = body.as_bytes()[skip_trivia(body, final_prop.end())] == b',';
    style
}

pub fn plan_entry(
    body: &str,
    env: Option<&str>,
    want: &ListEntry,
    force: bool,
) -> Result<Planned, EditError> {
    let root = parse(body)?;
    unique(body, &root)?;
    let style = Style::of(body, &root);
    let mut splice = Splice::new();
    let changed = |splice| Planned {
        splice,
        status: EditStatus::Changed,
        effect: Effect::NewEntry,
    };
    // The value that holds the new entry under `keys` (the path still
    // missing down to the list).
    let nested = |keys: &[&str]| {
        let mut value = New::Arr(vec![entry(want, &style)]);
        for key in keys.iter().skip(1).rev() {
            value = New::Obj(vec![(key.to_string(), value)]);
        }
        value
    };
    let path = want.list.path();
    let target = match env {
        None => &root,
        Some(env) => {
            let inner = || New::Obj(vec![(path[0].to_string(), nested(path))]);
            let Some(envs) = child(body, &root, "env", "env")? else {
                let value = New::Obj(vec![(env.to_string(), inner())]);
                add_property(&mut splice, body, &style, &root, Place::End, "env", value);
                return Ok(changed(splice));
            };
            let Some(target) = child(body, envs, env, &format!("env.{env}"))? else {
                add_property(&mut splice, body, &style, envs, Place::End, env, inner());
                return Ok(changed(splice));
            };
            target
        }
    };
    let array = match list_array(body, target, want.list)? {
        Ok(array) => array,
        Err((object, keys)) => {
            // The list's own key goes with the bindings; a key inside an
            // object the file has (`durable_objects`) at its end.
            let place = if std::ptr::eq(object, target) {
                binding_place(target)
            } else {
                Place::End
            };
            add_property(
                &mut splice,
                body,
                &style,
                object,
                place,
                keys[0],
                nested(&keys),
            );
            return Ok(changed(splice));
        }
    };
    let list = entries(body, array, want.list.key_field())?;
    if let Some((_, existing)) = list
        .iter()
        .find(|(key, _)| key.as_deref() == Some(want.key.as_str()))
    {
        for field in &want.fields {
            let wants_string = matches!(field.value, FieldValue::Str(_)) && !field.new_only;
            if let Some(prop) = get(existing, field.name)
                && wants_string
                && !matches!(prop.value, Value::StringLit(_))
            {
                return Err(not_a(
                    body,
                    prop,
                    format!("`{}` of {} is not a string", field.name, want.what()),
                ));
            }
        }
        let value_of = |k: &str| get(existing, k).map(|p| super::meaning::of_json_value(&p.value));
        let (changes, status) = reconcile(&value_of, want, force);
        if changes.is_empty() {
            return Ok(Planned::nothing(status));
        }
        let mut missing = Vec::new();
        for (field, new) in &changes {
            let value = new_value(new, &style);
            match get(existing, field) {
                Some(prop) => splice.replace(
                    prop.value.start()..prop.value.end(),
                    style.render(&value, None),
                ),
                None => missing.push((Some(*field), value)),
            }
        }
        if !missing.is_empty() {
            let like = entry_style(body, &style, existing);
            append(
                &mut splice,
                body,
                &like,
                Node::Object(existing),
                &missing,
                None,
            );
        }
        return Ok(Planned {
            splice,
            status,
            effect: Effect::set_fields(&changes),
        });
    }
    let last = array.elements.last();
    let one_line_entries = last.is_some_and(|e| !body[e.start()..e.end()].contains('\n'));
    if one_line_entries {
        let text = style.render(&entry(want, &style), None);
        append_text(&mut splice, body, &style, array, &text);
    } else {
        let like = last
            .and_then(Value::as_object)
            .map(|o| entry_style(body, &style, o));
        append(
            &mut splice,
            body,
            &style,
            Node::Array(array),
            &[(None, entry(want, &style))],
            like.as_ref(),
        );
    }
    Ok(changed(splice))
}

/// Appends an element already written as one-line text to an array.
fn append_text(splice: &mut Splice, body: &str, style: &Style, array: &Array<'_>, text: &str) {
    append(
        splice,
        body,
        style,
        Node::Array(array),
        &[(None, New::Raw(text.to_string()))],
        None,
    );
}

/// Adds `expr` to `triggers.crons` of the top level or `env.NAME` (the
/// caller has checked it is not there yet).
pub fn plan_cron(body: &str, env: Option<&str>, expr: &str) -> Result<Planned, EditError> {
    let root = parse(body)?;
    unique(body, &root)?;
    let style = Style::of(body, &root);
    let mut splice = Splice::new();
    let crons = || New::Arr(vec![New::Str(expr.to_string())]);
    let triggers = || New::Obj(vec![("crons".to_string(), crons())]);
    let target = match env {
        None => Some(&root),
        Some(env) => match child(body, &root, "env", "env")? {
            None => {
                let value = New::Obj(vec![(
                    env.to_string(),
                    New::Obj(vec![("triggers".to_string(), triggers())]),
                )]);
                add_property(&mut splice, body, &style, &root, Place::End, "env", value);
                None
            }
            Some(envs) => match child(body, envs, env, &format!("env.{env}"))? {
                None => {
                    let value = New::Obj(vec![("triggers".to_string(), triggers())]);
                    add_property(&mut splice, body, &style, envs, Place::End, env, value);
                    None
                }
                Some(target) => Some(target),
            },
        },
    };
    if let Some(target) = target {
        match child(body, target, "triggers", "triggers")? {
            None => add_property(
                &mut splice,
                body,
                &style,
                target,
                before_env(target),
                "triggers",
                triggers(),
            ),
            Some(object) => match get(object, "crons") {
                None => add_property(
                    &mut splice,
                    body,
                    &style,
                    object,
                    Place::End,
                    "crons",
                    crons(),
                ),
                Some(prop) => match &prop.value {
                    Value::Array(array) => append(
                        &mut splice,
                        body,
                        &style,
                        Node::Array(array),
                        &[(None, New::Str(expr.to_string()))],
                        None,
                    ),
                    _ => {
                        return Err(not_a(
                            body,
                            prop,
                            "`triggers.crons` is not an array".to_string(),
                        ));
                    }
                },
            },
        }
    }
    Ok(Planned {
        splice,
        status: EditStatus::Changed,
        effect: Effect::NewCron,
    })
}
