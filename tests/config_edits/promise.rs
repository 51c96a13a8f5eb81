//! The promise every config edit keeps, checked with readers other than the
//! editors' own: the `toml` crate, and serde_json (last key wins, as in
//! Wrangler) on the JSONC with its comments and trailing commas blanked out.
//!
//! The result parses; it means the old config plus the change; every original
//! line is still there, in order, changed at most by text inserted at one
//! position (a container written on one line gets its new entry on that line,
//! one written over several lines gets it on new lines); a second run changes
//! nothing; each line keeps its own line ending, and inserted line breaks are
//! the ending of the line they go into; a BOM stays. A binding's existing id
//! replaced under `--force` is the one edit that is not an insertion.
//!
//! Shared by `tests/config_edits.rs` and the fuzz targets in `fuzz/`.

#![allow(dead_code)]

use kvgen::config::{self, ClassState, Edit, EditError, EditStatus, Format, KvBinding, ListEntry};
use serde_json::{Map, Value, json};

/// An edit under test.
#[derive(Debug, Clone)]
pub enum Op {
    Binding {
        want: KvBinding,
        force: bool,
    },
    Cron(String),
    /// An entry of another list (ratelimits, durable_objects.bindings,
    /// analytics_engine_datasets).
    Entry {
        want: ListEntry,
        force: bool,
    },
    /// A migration that creates this Durable Object class with SQLite.
    SqliteClass(String),
}

impl Op {
    pub fn run(&self, format: Format, raw: &str, env: Option<&str>) -> Result<Edit, EditError> {
        match self {
            Op::Binding { want, force } => {
                config::ensure_kv_namespace(format, raw, env, want, *force)
            }
            Op::Cron(expr) => config::ensure_cron(format, raw, env, expr),
            Op::Entry { want, force } => config::ensure_entry(format, raw, env, want, *force),
            Op::SqliteClass(class) => config::ensure_sqlite_class(format, raw, env, class),
        }
    }
}

const BOM: char = '\u{feff}';

/// The data of a config as the reference readers see it.
pub fn data(format: Format, raw: &str) -> Result<Value, String> {
    let body = raw.strip_prefix(BOM).unwrap_or(raw);
    match format {
        Format::Toml => {
            let table: toml::Table = toml::from_str(body).map_err(|e| e.to_string())?;
            serde_json::to_value(table).map_err(|e| e.to_string())
        }
        Format::Jsonc => {
            let plain = quote_infinite_numbers(&strip_jsonc(body)?);
            let value: Value = serde_json::from_str(&plain).map_err(|e| e.to_string())?;
            if value.is_object() {
                Ok(value)
            } else {
                Err("not an object".to_string())
            }
        }
    }
}

/// The index just past the JSON string that starts at `start`.
fn past_string(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// JSONC as plain JSON: comments and trailing commas become spaces (line
/// breaks stay), so serde_json reads what Wrangler reads.
pub fn strip_jsonc(text: &str) -> Result<String, String> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    // Comments.
    while i < b.len() {
        match b[i] {
            b'"' => i = past_string(b, i),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                i += 2;
                loop {
                    if i + 1 >= b.len() {
                        return Err(format!("unterminated comment at byte {start}"));
                    }
                    if b[i] == b'*' && b[i + 1] == b'/' {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
                for byte in &mut out[start..i] {
                    if *byte != b'\n' && *byte != b'\r' {
                        *byte = b' ';
                    }
                }
            }
            _ => i += 1,
        }
    }
    // Trailing commas.
    let c = out.clone();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            b'"' => i = past_string(&c, i),
            b',' => {
                let next = c[i + 1..]
                    .iter()
                    .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
                if matches!(next, Some(b']' | b'}')) {
                    out[i] = b' ';
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// Plain JSON with every number too large for a double (which a JavaScript
/// reader such as Wrangler's reads as Infinity, and serde_json refuses)
/// written as a string of its digits: both sides of an edit read the same.
pub fn quote_infinite_numbers(json: &str) -> String {
    let b = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = past_string(b, i),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < b.len() && matches!(b[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let token = &json[start..i];
                if token.parse::<f64>().is_ok_and(f64::is_infinite) {
                    out.push_str(&json[last..start]);
                    out.push('"');
                    out.push_str(token);
                    out.push('"');
                    last = i;
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&json[last..]);
    out
}

/// The top level of config data, or `env.NAME` (created when missing).
fn target_of<'v>(data: &'v mut Value, env: Option<&str>) -> &'v mut Map<String, Value> {
    let root = data.as_object_mut().expect("configs are objects");
    let Some(env) = env else { return root };
    root.entry("env")
        .or_insert(json!({}))
        .as_object_mut()
        .expect("env is an object")
        .entry(env)
        .or_insert(json!({}))
        .as_object_mut()
        .expect("env.NAME is an object")
}

/// What the config should mean after the edit, given the status it reports
/// (`after`: the edited config's data, for the tag of a new migration).
pub fn expected(op: &Op, mut before: Value, env: Option<&str>, after: Option<&Value>) -> Value {
    let target = target_of(&mut before, env);
    match op {
        Op::Entry { want, force } => {
            let (leaf, parents) = want.list.path().split_last().unwrap();
            let mut at = target;
            for parent in parents {
                at = at
                    .entry(*parent)
                    .or_insert(json!({}))
                    .as_object_mut()
                    .expect("the list's parent is a table");
            }
            let list = at
                .entry(*leaf)
                .or_insert(json!([]))
                .as_array_mut()
                .expect("the list is a list");
            let key_field = want.list.key_field();
            match list.iter().position(|e| e[key_field] == want.key.as_str()) {
                None => list.push(want.json()),
                Some(i) => {
                    let entry = list[i].as_object_mut().expect("an entry is a table");
                    for field in want.fields.iter().filter(|f| !f.new_only) {
                        if *force {
                            entry.insert(field.name.to_string(), field.value.json());
                        } else {
                            entry.entry(field.name).or_insert(field.value.json());
                        }
                    }
                }
            }
        }
        Op::SqliteClass(class) => {
            let migrations = target
                .entry("migrations")
                .or_insert(json!([]))
                .as_array_mut()
                .expect("migrations is a list");
            // The new migration's tag is kvgen's choice: any tag not used
            // before.
            let tag = after
                .and_then(|a| {
                    let list = match env {
                        None => &a["migrations"],
                        Some(env) => &a["env"][env]["migrations"],
                    };
                    list.as_array()?.last()?["tag"].as_str().map(str::to_string)
                })
                .filter(|t| !migrations.iter().any(|m| m["tag"] == t.as_str()))
                .unwrap_or_else(|| "(a tag used before)".to_string());
            migrations.push(json!({ "tag": tag, "new_sqlite_classes": [class] }));
        }
        Op::Binding { want, force } => {
            let list = target
                .entry("kv_namespaces")
                .or_insert(json!([]))
                .as_array_mut()
                .expect("kv_namespaces is a list");
            let found = list
                .iter()
                .position(|e| e["binding"] == want.binding.as_str());
            let entry = match found {
                Some(i) => list[i].as_object_mut().expect("an entry is a table"),
                None => {
                    list.push(json!({ "binding": want.binding }));
                    list.last_mut().unwrap().as_object_mut().unwrap()
                }
            };
            for (field, value) in [("id", &want.id), ("preview_id", &want.preview_id)] {
                if let Some(value) = value {
                    if *force {
                        entry.insert(field.to_string(), json!(value));
                    } else {
                        entry.entry(field).or_insert(json!(value));
                    }
                }
            }
        }
        Op::Cron(expr) => {
            let crons = target
                .entry("triggers")
                .or_insert(json!({}))
                .as_object_mut()
                .expect("triggers is a table")
                .entry("crons")
                .or_insert(json!([]))
                .as_array_mut()
                .expect("crons is a list");
            if !crons.contains(&json!(expr)) {
                crons.push(json!(expr));
            }
        }
    }
    before
}

/// A broken promise, described for a test failure.
pub type Broken = String;

/// Runs `op` on `raw` and checks the promise. An error is allowed (bad input
/// is refused) unless it is kvgen refusing its own edit.
pub fn check(
    format: Format,
    raw: &str,
    env: Option<&str>,
    op: &Op,
) -> Result<Option<Edit>, Broken> {
    match op.run(format, raw, env) {
        Err(e) => {
            if e.line == 0 || e.col == 0 {
                return Err(format!("error without a position: {e}"));
            }
            if e.message.contains("without changing its meaning") {
                return Err(format!("kvgen refused its own edit: {e}"));
            }
            Ok(None)
        }
        Ok(edit) => {
            check_edit(format, raw, env, op, &edit)?;
            Ok(Some(edit))
        }
    }
}

/// Checks a successful edit against the promise.
pub fn check_edit(
    format: Format,
    raw: &str,
    env: Option<&str>,
    op: &Op,
    edit: &Edit,
) -> Result<(), Broken> {
    let before = data(format, raw)
        .map_err(|e| format!("kvgen accepted a config the reference reader refuses: {e}"))?;
    match &edit.status {
        EditStatus::Conflict(_) => {
            if edit.text != raw {
                return Err("a conflict changed the file".to_string());
            }
            return Ok(());
        }
        EditStatus::Unchanged => {
            if edit.text != raw {
                return Err("an unchanged edit changed the file".to_string());
            }
            let has = match op {
                Op::SqliteClass(class) => {
                    config::class_state(&before, env, class) == ClassState::Sqlite
                }
                _ => expected(op, before.clone(), env, None) == before,
            };
            if !has {
                return Err("reported unchanged, but the config lacks the change".to_string());
            }
            return Ok(());
        }
        EditStatus::Changed | EditStatus::Forced(_) => {}
    }
    let after = &edit.text;
    if raw.starts_with(BOM) != after.starts_with(BOM) {
        return Err("the BOM was not kept".to_string());
    }
    let meaning = data(format, after).map_err(|e| format!("the result does not parse: {e}"))?;
    let wanted = expected(op, before.clone(), env, Some(&meaning));
    if meaning != wanted {
        return Err(format!(
            "the result does not mean the old config plus the change:\n  got      {meaning}\n  expected {wanted}"
        ));
    }
    let old = raw.strip_prefix(BOM).unwrap_or(raw);
    let new = after.strip_prefix(BOM).unwrap_or(after);
    let replaced = replacements(op, &before, env);
    if !replacements_then_insertions(format, old, new, &replaced) {
        return Err(
            "the result is not the original with text inserted at one position per line"
                .to_string(),
        );
    }
    let replaced_growth: isize = replaced
        .iter()
        .map(|(from, to)| to.len() as isize - from.len() as isize)
        .sum();
    let inserted = new.len() as isize - old.len() as isize > replaced_growth;
    if let Some(one_line) =
        receiving_container_is_one_line(format, old, env, op).filter(|_| inserted)
    {
        let (lines_before, lines_after) = (old.matches('\n').count(), new.matches('\n').count());
        if one_line && lines_after != lines_before {
            return Err("a container written on one line was spread over several".to_string());
        }
        if !one_line && lines_after == lines_before {
            return Err(
                "a container written over several lines got its entry on an old line".to_string(),
            );
        }
    }
    let again = op
        .run(format, after, env)
        .map_err(|e| format!("a second run fails: {e}"))?;
    if again.status != EditStatus::Unchanged || again.text != *after {
        return Err(format!(
            "a second run changes something: {:?}",
            again.status
        ));
    }
    Ok(())
}

/// The values `--force` replaces: (old, new) for each field of the existing
/// entry that differs from what is wanted.
fn replacements(op: &Op, before: &Value, env: Option<&str>) -> Vec<(String, String)> {
    if let Op::Entry { want, force: true } = op {
        let target = match env {
            None => Some(before),
            Some(env) => before.get("env").and_then(|e| e.get(env)),
        };
        let list = want
            .list
            .path()
            .iter()
            .try_fold(target, |at, key| Some(at?.get(key)))
            .flatten();
        let key_field = want.list.key_field();
        let Some(entry) = list
            .and_then(Value::as_array)
            .and_then(|l| l.iter().find(|e| e[key_field] == want.key.as_str()))
        else {
            return Vec::new();
        };
        return want
            .fields
            .iter()
            .filter(|f| !f.new_only)
            .filter_map(|f| {
                let wanted = f.value.json();
                let wanted = wanted.as_str()?;
                let old = entry.get(f.name)?.as_str()?;
                (old != wanted).then(|| (old.to_string(), wanted.to_string()))
            })
            .collect();
    }
    let Op::Binding { want, force: true } = op else {
        return Vec::new();
    };
    let target = match env {
        None => Some(before),
        Some(env) => before.get("env").and_then(|e| e.get(env)),
    };
    let Some(entry) = target
        .and_then(|t| t.get("kv_namespaces"))
        .and_then(Value::as_array)
        .and_then(|l| l.iter().find(|e| e["binding"] == want.binding.as_str()))
    else {
        return Vec::new();
    };
    [("id", &want.id), ("preview_id", &want.preview_id)]
        .into_iter()
        .filter_map(|(field, wanted)| {
            let wanted = wanted.as_ref()?;
            let old = entry.get(field)?.as_str()?;
            (old != wanted).then(|| (old.to_string(), wanted.clone()))
        })
        .collect()
}

/// `new` is `old` with each (old value, new value) replaced at one of the
/// string literals that say the old value (written as a plain quoted string,
/// in either TOML quote style), and then text inserted at one position per
/// line at most.
fn replacements_then_insertions(
    format: Format,
    old: &str,
    new: &str,
    replaced: &[(String, String)],
) -> bool {
    let Some(((from, to), rest)) = replaced.split_first() else {
        return inserted_only(old, new);
    };
    let quoted = match format {
        Format::Jsonc => vec![format!("\"{to}\"")],
        Format::Toml => vec![format!("\"{to}\""), format!("'{to}'")],
    };
    string_literals(format, old)
        .into_iter()
        .filter(|(_, value)| value == from)
        .any(|(range, _)| {
            quoted.iter().any(|literal| {
                let candidate = format!("{}{literal}{}", &old[..range.start], &old[range.end..]);
                replacements_then_insertions(format, &candidate, new, rest)
            })
        })
}

/// Every string literal of a config: where it is written and what it says.
fn string_literals(format: Format, body: &str) -> Vec<(std::ops::Range<usize>, String)> {
    match format {
        Format::Jsonc => {
            let collect = jsonc_parser::CollectOptions {
                comments: jsonc_parser::CommentCollectionStrategy::Off,
                tokens: true,
            };
            let Ok(parsed) = jsonc_parser::parse_to_ast(body, &collect, &Default::default()) else {
                return Vec::new();
            };
            parsed
                .tokens
                .into_iter()
                .flatten()
                .filter_map(|t| match t.token {
                    jsonc_parser::tokens::Token::String(s) => {
                        Some((t.range.start..t.range.end, s.to_string()))
                    }
                    _ => None,
                })
                .collect()
        }
        Format::Toml => {
            fn walk(item: &toml_edit::Item, out: &mut Vec<(std::ops::Range<usize>, String)>) {
                match item {
                    toml_edit::Item::Value(v) => value(v, out),
                    toml_edit::Item::Table(t) => t.iter().for_each(|(_, i)| walk(i, out)),
                    toml_edit::Item::ArrayOfTables(a) => a
                        .iter()
                        .for_each(|t| t.iter().for_each(|(_, i)| walk(i, out))),
                    toml_edit::Item::None => {}
                }
            }
            fn value(v: &toml_edit::Value, out: &mut Vec<(std::ops::Range<usize>, String)>) {
                match v {
                    toml_edit::Value::String(s) => {
                        if let Some(span) = s.span() {
                            out.push((span, s.value().clone()));
                        }
                    }
                    toml_edit::Value::Array(a) => a.iter().for_each(|v| value(v, out)),
                    toml_edit::Value::InlineTable(t) => t.iter().for_each(|(_, v)| value(v, out)),
                    _ => {}
                }
            }
            let mut out = Vec::new();
            if let Ok(doc) = toml_edit::Document::parse(body) {
                walk(doc.as_item(), &mut out);
            }
            out
        }
    }
}

/// True when `after` is `before` with text inserted at one position of each
/// original line at most (never inside a line ending; at the end of the file
/// for the last line), each inserted line break being the ending of the line
/// that receives it (for a last line without one, the ending of the line
/// before; LF in a one-line file).
pub fn inserted_only(before: &str, after: &str) -> bool {
    if after.len() < before.len() {
        return false;
    }
    let lines: Vec<&str> = if before.is_empty() {
        vec![""]
    } else {
        before.split_inclusive('\n').collect()
    };
    let n = lines.len();
    let ending = |line: &str| {
        if line.ends_with("\r\n") {
            Some("\r\n")
        } else if line.ends_with('\n') {
            Some("\n")
        } else {
            None
        }
    };
    // Bytes of `before` from line i on.
    let mut rest = vec![0; n + 1];
    for i in (0..n).rev() {
        rest[i] = rest[i + 1] + lines[i].len();
    }
    let mut reachable = vec![0usize];
    for (i, line) in lines.iter().enumerate() {
        let eol = ending(line)
            .or_else(|| i.checked_sub(1).and_then(|p| ending(lines[p])))
            .unwrap_or("\n");
        let content = line.len() - ending(line).map_or(0, str::len);
        let last = i + 1 == n;
        let allowed = |k: usize| k <= content || (last && k == line.len());
        let s = line.as_bytes();
        let mut next = Vec::new();
        for &j in &reachable {
            let room = after.len() - j;
            if room < rest[i] {
                continue;
            }
            let max_d = room - rest[i];
            let tail = &after.as_bytes()[j..];
            let p = s.iter().zip(tail).take_while(|(a, b)| a == b).count();
            for d in 0..=max_d {
                let e = j + s.len() + d;
                if d == 0 {
                    if p == s.len() {
                        next.push(e);
                    }
                    continue;
                }
                let seg = &after.as_bytes()[j..e];
                // The insertion starts at some k <= p (the common prefix),
                // and the segment must end with s[k..].
                let mut k = p.min(s.len());
                loop {
                    if seg[k + d..] == s[k..] {
                        if allowed(k) && insertion_ok(&seg[k..k + d], eol) {
                            next.push(e);
                            break;
                        }
                    } else {
                        break;
                    }
                    if k == 0 {
                        break;
                    }
                    k -= 1;
                }
            }
        }
        next.sort_unstable();
        next.dedup();
        if next.is_empty() {
            return false;
        }
        reachable = next;
    }
    reachable.contains(&after.len())
}

/// Inserted text is whole characters, and its line breaks are all `eol`.
fn insertion_ok(inserted: &[u8], eol: &str) -> bool {
    let Ok(text) = std::str::from_utf8(inserted) else {
        return false;
    };
    let b = text.as_bytes();
    for (i, byte) in b.iter().enumerate() {
        match byte {
            b'\n' => {
                let crlf = i > 0 && b[i - 1] == b'\r';
                if crlf != (eol == "\r\n") {
                    return false;
                }
            }
            b'\r' if b.get(i + 1) != Some(&b'\n') => return false,
            _ => {}
        }
    }
    true
}

/// Whether the container that receives the new entry (or field) is written
/// on one line: an inline array or table in TOML, an array or object in JSON.
/// None when it is a TOML table with a header.
fn receiving_container_is_one_line(
    format: Format,
    body: &str,
    env: Option<&str>,
    op: &Op,
) -> Option<bool> {
    let range = match format {
        Format::Jsonc => json_receiver(body, env, op)?,
        Format::Toml => toml_receiver(body, env, op)?,
    };
    Some(!body[range].contains('\n'))
}

fn json_receiver(body: &str, env: Option<&str>, op: &Op) -> Option<std::ops::Range<usize>> {
    use jsonc_parser::ast::{Object, Value as V};
    use jsonc_parser::common::Ranged;
    let parsed = jsonc_parser::parse_to_ast(body, &Default::default(), &Default::default()).ok()?;
    let Some(V::Object(root)) = parsed.value else {
        return None;
    };
    fn get<'o, 'a>(o: &'o Object<'a>, k: &str) -> Option<&'o V<'a>> {
        o.properties
            .iter()
            .rev()
            .find(|p| p.name.as_str() == k)
            .map(|p| &p.value)
    }
    let mut object = &root;
    let mut path: Vec<&str> = env.map_or(Vec::new(), |e| vec!["env", e]);
    let named: Option<(&str, &str)> = match op {
        Op::Binding { want, .. } => {
            path.push("kv_namespaces");
            Some(("binding", want.binding.as_str()))
        }
        Op::Cron(_) => {
            path.extend(["triggers", "crons"]);
            None
        }
        Op::Entry { want, .. } => {
            path.extend(want.list.path());
            Some((want.list.key_field(), want.key.as_str()))
        }
        Op::SqliteClass(_) => {
            path.push("migrations");
            None
        }
    };
    for key in path {
        match get(object, key) {
            Some(V::Object(o)) => object = o,
            Some(V::Array(a)) => {
                if let Some((field, name)) = named {
                    let entry = a.elements.iter().filter_map(V::as_object).find(
                        |e| matches!(get(e, field), Some(V::StringLit(s)) if s.value == name),
                    );
                    if let Some(entry) = entry {
                        return Some(entry.start()..entry.end());
                    }
                }
                return Some(a.start()..a.end());
            }
            _ => break,
        }
    }
    Some(object.start()..object.end())
}

fn toml_receiver(body: &str, env: Option<&str>, op: &Op) -> Option<std::ops::Range<usize>> {
    use toml_edit::{Item, TableLike};
    let doc = toml_edit::Document::parse(body).ok()?;
    let mut table: &dyn TableLike = doc.as_table();
    if let Some(env) = env {
        table = table
            .get("env")?
            .as_table_like()?
            .get(env)?
            .as_table_like()?;
    }
    match op {
        Op::Binding { want, .. } => match table.get("kv_namespaces")? {
            Item::Value(toml_edit::Value::Array(a)) => {
                let entry = a.iter().filter_map(|v| v.as_inline_table()).find(|t| {
                    t.get("binding").and_then(|b| b.as_str()) == Some(want.binding.as_str())
                });
                match entry {
                    Some(entry) => entry.span(),
                    None => a.span(),
                }
            }
            _ => None,
        },
        Op::Entry { want, .. } => {
            let (leaf, parents) = want.list.path().split_last()?;
            let key_field = want.list.key_field();
            let mut table = table;
            for parent in parents {
                match table.get(parent)? {
                    Item::Value(toml_edit::Value::InlineTable(t)) if t.get(leaf).is_none() => {
                        return t.span();
                    }
                    item => table = item.as_table_like()?,
                }
            }
            match table.get(leaf)? {
                Item::Value(toml_edit::Value::Array(a)) => {
                    let entry = a.iter().filter_map(|v| v.as_inline_table()).find(|t| {
                        t.get(key_field).and_then(|b| b.as_str()) == Some(want.key.as_str())
                    });
                    match entry {
                        Some(entry) => entry.span(),
                        None => a.span(),
                    }
                }
                _ => None,
            }
        }
        Op::SqliteClass(_) => match table.get("migrations")? {
            Item::Value(toml_edit::Value::Array(a)) => a.span(),
            _ => None,
        },
        Op::Cron(_) => match table.get("triggers")? {
            Item::Value(toml_edit::Value::InlineTable(t)) => match t.get("crons") {
                Some(crons) => crons.span(),
                None => t.span(),
            },
            item => item.as_table_like()?.get("crons")?.as_value()?.span(),
        },
    }
}
