//! `wrangler.toml` through toml_edit: the document keeps every byte it was
//! parsed from, and new entries are placed and indented like their neighbours.

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, TomlError, Value, value};

use super::{EditError, EditStatus, FieldChange, KvBinding, reconcile};

pub fn parse(body: &str) -> Result<DocumentMut, EditError> {
    body.parse::<DocumentMut>()
        .map_err(|e| parse_error(body, &e))
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

pub fn kv_namespaces(body: &str, env: Option<&str>) -> Result<Vec<KvBinding>, EditError> {
    let doc = parse(body)?;
    match existing_target(&doc, env) {
        Some(table) => entries(body, table),
        None => Ok(Vec::new()),
    }
}

/// The top-level table, or `env.NAME` when the file has it.
fn existing_target<'d>(doc: &'d DocumentMut, env: Option<&str>) -> Option<&'d Table> {
    match env {
        None => Some(doc.as_table()),
        Some(env) => doc.get("env")?.as_table()?.get(env)?.as_table(),
    }
}

/// The entries of a table's `kv_namespaces`, in either TOML style.
fn entries(body: &str, table: &Table) -> Result<Vec<KvBinding>, EditError> {
    let read = |get: &dyn Fn(&str) -> Option<String>| KvBinding {
        binding: get("binding").unwrap_or_default(),
        id: get("id"),
        preview_id: get("preview_id"),
    };
    match table.get("kv_namespaces") {
        None => Ok(Vec::new()),
        Some(Item::ArrayOfTables(aot)) => Ok(aot
            .iter()
            .map(|t| read(&|k| t.get(k).and_then(Item::as_str).map(str::to_string)))
            .collect()),
        Some(Item::Value(Value::Array(array))) => Ok(array
            .iter()
            .filter_map(Value::as_inline_table)
            .map(|t| read(&|k| t.get(k).and_then(Value::as_str).map(str::to_string)))
            .collect()),
        Some(_) => Err(not_a_list(body)),
    }
}

fn not_a_list(body: &str) -> EditError {
    let offset = find_key(body, "kv_namespaces").unwrap_or(0);
    EditError::at(
        body,
        offset,
        "`kv_namespaces` is not a list of tables; expected [[kv_namespaces]] or kv_namespaces = [{ ... }]",
    )
}

/// Byte offset of the first line that defines `key` (as a key or in a header).
fn find_key(body: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') && trimmed.contains(key) {
            return Some(offset + line.find(key).unwrap_or(0));
        }
        offset += line.len();
    }
    None
}

pub fn ensure_kv_namespace(
    body: &str,
    env: Option<&str>,
    want: &KvBinding,
    force: bool,
) -> Result<(String, EditStatus), EditError> {
    let mut doc = parse(body)?;
    let inline_style = file_uses_inline_kv(doc.as_table());
    let positions = header_positions(doc.as_table());

    let target = target_table(&mut doc, body, env)?;
    let existing = entries(body, target)?;
    let status = match existing.iter().position(|e| e.binding == want.binding) {
        Some(index) => {
            let (changes, status) = reconcile(
                existing[index].id.as_deref(),
                existing[index].preview_id.as_deref(),
                want,
                force,
            );
            apply_changes(target, index, &changes);
            status
        }
        None => {
            if let Some(position) = add_entry(target, env, want, inline_style, &positions) {
                separate_next_table(doc.as_table_mut(), position, &positions);
            }
            EditStatus::Changed
        }
    };
    let out = doc.to_string();
    if status == EditStatus::Unchanged || matches!(status, EditStatus::Conflict(_)) {
        return Ok((body.to_string(), status));
    }
    Ok((out, status))
}

fn target_table<'d>(
    doc: &'d mut DocumentMut,
    body: &str,
    env: Option<&str>,
) -> Result<&'d mut Table, EditError> {
    let root = doc.as_table_mut();
    let Some(env) = env else { return Ok(root) };
    let envs = child_table(root, "env", body, "env")?;
    child_table(envs, env, body, &format!("env.{env}"))
}

/// The table at `key` in `parent`, created as an implicit table (no header of
/// its own) when missing.
fn child_table<'t>(
    parent: &'t mut Table,
    key: &str,
    body: &str,
    path: &str,
) -> Result<&'t mut Table, EditError> {
    let item = parent.entry(key).or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    match item {
        Item::Table(table) => Ok(table),
        _ => Err(EditError::at(
            body,
            find_key(body, key).unwrap_or(0),
            format!(
                "`{path}` is not a table (kvgen adds bindings to [{path}] tables, not to inline tables or values)"
            ),
        )),
    }
}

fn apply_changes(target: &mut Table, index: usize, changes: &[FieldChange<'_>]) {
    match target.get_mut("kv_namespaces") {
        Some(Item::ArrayOfTables(aot)) => {
            let table = aot.get_mut(index).expect("entry exists");
            let indent = key_indent(table);
            for FieldChange::Set(field, new) in changes {
                match table.get_mut(field).and_then(Item::as_value_mut) {
                    Some(old) => replace_keeping_decor(old, new),
                    None => {
                        table.insert(field, value(*new));
                        set_key_indent(table, field, &indent);
                    }
                }
            }
        }
        Some(Item::Value(Value::Array(array))) => {
            let table = array
                .iter_mut()
                .filter_map(Value::as_inline_table_mut)
                .nth(index)
                .expect("entry exists");
            for FieldChange::Set(field, new) in changes {
                match table.get_mut(field) {
                    Some(old) => replace_keeping_decor(old, new),
                    None => {
                        table.insert(*field, Value::from(*new));
                    }
                }
            }
        }
        _ => unreachable!("entries() accepted the list"),
    }
}

fn replace_keeping_decor(old: &mut Value, new: &str) {
    let decor = old.decor().clone();
    *old = Value::from(new);
    *old.decor_mut() = decor;
}

fn add_entry(
    target: &mut Table,
    env: Option<&str>,
    want: &KvBinding,
    inline_style: bool,
    positions: &[(Vec<String>, isize)],
) -> Option<isize> {
    let headed = !target.is_implicit() && !target.is_dotted();
    match target.get_mut("kv_namespaces") {
        Some(Item::ArrayOfTables(aot)) => {
            let last = aot
                .iter()
                .last()
                .expect("parsed arrays of tables are not empty");
            let position = last.position();
            let table = new_table(want, last);
            aot.push(table);
            position
        }
        Some(Item::Value(Value::Array(array))) => {
            push_like_last(array, Value::InlineTable(inline_entry(want)));
            None
        }
        Some(_) => unreachable!("entries() accepted the list"),
        None if inline_style && headed => {
            let indent = first_key_indent(target);
            let mut array = toml_edit::Array::new();
            array.push(Value::InlineTable(inline_entry(want)));
            target.insert("kv_namespaces", value(array));
            set_key_indent(target, "kv_namespaces", &indent);
            None
        }
        None => {
            let mut table = Table::new();
            fill_table(&mut table, want);
            let mut aot = ArrayOfTables::new();
            let position = place_new_table(
                &mut table,
                target,
                env,
                positions,
                &["binding", "id", "preview_id"],
            );
            aot.push(table);
            target.insert("kv_namespaces", Item::ArrayOfTables(aot));
            position
        }
    }
}

/// Gives a new header table its place (see [`new_table_position`]) and the
/// indentation of the table it follows; returns its position.
fn place_new_table(
    table: &mut Table,
    target: &Table,
    env: Option<&str>,
    positions: &[(Vec<String>, isize)],
    keys: &[&str],
) -> Option<isize> {
    let (position, anchor) = new_table_position(env, positions);
    let (header_indent, key_indent) = anchor
        .and_then(|path| find_table(target, env, &path))
        .map(|t| (header_indent(t), key_indent(t)))
        .unwrap_or_default();
    for key in keys {
        set_key_indent(table, key, &key_indent);
    }
    table.decor_mut().set_prefix(format!("\n{header_indent}"));
    table.set_position(position);
    position
}

/// Appends `entry` to an array formatted like its last element: on a line of
/// its own with the same indentation when the last one is, else after ", ".
fn push_like_last(array: &mut toml_edit::Array, mut entry: Value) {
    let count = array.len();
    if let Some(last) = array.get_mut(count.wrapping_sub(1)) {
        let prefix = last
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        let suffix = last
            .decor()
            .suffix()
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
        let prefix = match prefix.rsplit_once('\n') {
            Some((_, indent)) => format!("\n{indent}"),
            None => " ".to_string(),
        };
        if suffix.contains('#') {
            entry.decor_mut().set_prefix(prefix);
        } else {
            last.decor_mut().set_suffix("");
            entry.decor_mut().set_prefix(prefix);
            entry.decor_mut().set_suffix(suffix);
        }
    }
    array.push_formatted(entry);
}

/// A new table placed at `position` ends with a blank line when another
/// table follows it: the following table's leading comments stay with it.
fn separate_next_table(root: &mut Table, position: isize, positions: &[(Vec<String>, isize)]) {
    let Some(next) = positions
        .iter()
        .map(|(_, p)| *p)
        .filter(|p| *p > position)
        .min()
    else {
        return;
    };
    fn walk(table: &mut Table, wanted: isize) -> bool {
        for (_, item) in table.iter_mut() {
            let tables: Vec<&mut Table> = match item {
                Item::Table(t) => vec![t],
                Item::ArrayOfTables(aot) => aot.iter_mut().collect(),
                _ => continue,
            };
            for t in tables {
                if t.position() == Some(wanted) && !t.is_implicit() && !t.is_dotted() {
                    let prefix = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
                    if !prefix.starts_with('\n') {
                        let prefix = format!("\n{prefix}");
                        t.decor_mut().set_prefix(prefix);
                    }
                    return true;
                }
                if walk(t, wanted) {
                    return true;
                }
            }
        }
        false
    }
    walk(root, next);
}

/// Where a new `[[kv_namespaces]]` (or `[[env.NAME.kv_namespaces]]`) goes, and
/// the path of the table it follows (whose indentation it copies).
///
/// Top level: before the first table, i.e. right after the top-level keys.
/// `env.NAME`: after the last table of that environment, else after the last
/// environment table, else at the end.
fn new_table_position(
    env: Option<&str>,
    positions: &[(Vec<String>, isize)],
) -> (Option<isize>, Option<Vec<String>>) {
    let Some(env) = env else {
        let first = positions.iter().map(|(_, p)| *p).min();
        return (first.map(|p| p - 1), None);
    };
    let last_under = |prefix: &[&str]| {
        positions
            .iter()
            .filter(|(path, _)| {
                path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
            })
            .max_by_key(|(_, p)| *p)
            .cloned()
    };
    if let Some((path, p)) = last_under(&["env", env]) {
        let anchor = (path.len() > 2).then_some(path);
        return (Some(p), anchor);
    }
    if let Some((_, p)) = last_under(&["env"]) {
        return (Some(p), None);
    }
    let last = positions.iter().map(|(_, p)| *p).max();
    (last.map(|p| p + 1), None)
}

/// Finds the table at `path` (a path from the document root) below `target`,
/// which is the root or `env.NAME`.
fn find_table<'t>(target: &'t Table, env: Option<&str>, path: &[String]) -> Option<&'t Table> {
    let skip = if env.is_some() { 2 } else { 0 };
    let mut table = target;
    for key in path.iter().skip(skip) {
        table = match table.get(key)? {
            Item::Table(t) => t,
            Item::ArrayOfTables(aot) => aot.iter().last()?,
            _ => return None,
        };
    }
    Some(table)
}

/// Paths and positions of every table that has a header in the file.
fn header_positions(root: &Table) -> Vec<(Vec<String>, isize)> {
    fn walk(table: &Table, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, isize)>) {
        for (key, item) in table.iter() {
            let tables: Vec<&Table> = match item {
                Item::Table(t) => vec![t],
                Item::ArrayOfTables(aot) => aot.iter().collect(),
                _ => continue,
            };
            path.push(key.to_string());
            for t in tables {
                if let Some(p) = t.position().filter(|_| !t.is_implicit() && !t.is_dotted()) {
                    out.push((path.clone(), p));
                }
                walk(t, path, out);
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(root, &mut Vec::new(), &mut out);
    out
}

/// True when the file writes `kv_namespaces` as inline arrays and never as
/// `[[...]]` tables.
fn file_uses_inline_kv(root: &Table) -> bool {
    fn walk(table: &Table, inline: &mut bool, tables: &mut bool) {
        for (key, item) in table.iter() {
            match item {
                Item::Value(Value::Array(_)) if key == "kv_namespaces" => *inline = true,
                Item::ArrayOfTables(aot) => {
                    if key == "kv_namespaces" {
                        *tables = true;
                    }
                    aot.iter().for_each(|t| walk(t, inline, tables));
                }
                Item::Table(t) => walk(t, inline, tables),
                _ => {}
            }
        }
    }
    let (mut inline, mut tables) = (false, false);
    walk(root, &mut inline, &mut tables);
    inline && !tables
}

fn fill_table(table: &mut Table, want: &KvBinding) {
    table.insert("binding", value(want.binding.as_str()));
    if let Some(id) = &want.id {
        table.insert("id", value(id.as_str()));
    }
    if let Some(preview_id) = &want.preview_id {
        table.insert("preview_id", value(preview_id.as_str()));
    }
}

/// A new `[[kv_namespaces]]` entry formatted like `sibling`.
fn new_table(want: &KvBinding, sibling: &Table) -> Table {
    let mut table = Table::new();
    fill_table(&mut table, want);
    let indent = key_indent(sibling);
    for key in ["binding", "id", "preview_id"] {
        set_key_indent(&mut table, key, &indent);
    }
    table
        .decor_mut()
        .set_prefix(format!("\n{}", header_indent(sibling)));
    table
}

fn inline_entry(want: &KvBinding) -> InlineTable {
    let mut table = InlineTable::new();
    table.insert("binding", Value::from(want.binding.as_str()));
    if let Some(id) = &want.id {
        table.insert("id", Value::from(id.as_str()));
    }
    if let Some(preview_id) = &want.preview_id {
        table.insert("preview_id", Value::from(preview_id.as_str()));
    }
    table.fmt();
    table
}

/// The spaces or tabs before a table's header.
fn header_indent(table: &Table) -> String {
    let prefix = table
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("");
    let last_line = prefix.rsplit('\n').next().unwrap_or("");
    if last_line.chars().all(|c| c == ' ' || c == '\t') {
        last_line.to_string()
    } else {
        String::new()
    }
}

/// The spaces or tabs before the keys of a table.
fn key_indent(table: &Table) -> String {
    table
        .iter()
        .next()
        .and_then(|(k, _)| table.key(k))
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(|p| p.as_str())
        .map(|p| p.rsplit('\n').next().unwrap_or("").to_string())
        .filter(|p| p.chars().all(|c| c == ' ' || c == '\t'))
        .unwrap_or_default()
}

fn first_key_indent(table: &Table) -> String {
    key_indent(table)
}

fn set_key_indent(table: &mut Table, key: &str, indent: &str) {
    if indent.is_empty() {
        return;
    }
    if let Some(mut k) = table.key_mut(key) {
        k.leaf_decor_mut().set_prefix(indent);
    }
}

/// The `triggers.crons` of the top level or of `env.NAME`.
pub fn crons(body: &str, env: Option<&str>) -> Result<Vec<String>, EditError> {
    let doc = parse(body)?;
    let Some(table) = existing_target(&doc, env) else {
        return Ok(Vec::new());
    };
    let Some(triggers) = table.get("triggers") else {
        return Ok(Vec::new());
    };
    let crons = triggers
        .as_table_like()
        .ok_or_else(|| not_a(body, "triggers", "`triggers` is not a table"))?
        .get("crons");
    match crons {
        None => Ok(Vec::new()),
        Some(item) => Ok(item
            .as_array()
            .ok_or_else(|| not_a(body, "crons", "`triggers.crons` is not an array"))?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()),
    }
}

fn not_a(body: &str, key: &str, message: &str) -> EditError {
    EditError::at(body, find_key(body, key).unwrap_or(0), message)
}

/// Adds `expr` to `triggers.crons` of the top level or `env.NAME` (the
/// caller has checked it is not there yet):
/// appended to the list the file has (in its style), or a new `[triggers]`
/// table placed like a new `[[kv_namespaces]]`.
pub fn ensure_cron(
    body: &str,
    env: Option<&str>,
    expr: &str,
) -> Result<(String, EditStatus), EditError> {
    let mut doc = parse(body)?;
    let positions = header_positions(doc.as_table());
    let target = target_table(&mut doc, body, env)?;
    let crons = || Value::Array(std::iter::once(expr).collect());
    let mut new_table_at = None;
    match target.get_mut("triggers") {
        None => {
            let mut table = Table::new();
            table.insert("crons", Item::Value(crons()));
            new_table_at = place_new_table(&mut table, target, env, &positions, &["crons"]);
            target.insert("triggers", Item::Table(table));
        }
        Some(item) => {
            let indent = item.as_table().map(key_indent).unwrap_or_default();
            let triggers = item
                .as_table_like_mut()
                .ok_or_else(|| not_a(body, "triggers", "`triggers` is not a table"))?;
            match triggers.get_mut("crons") {
                None => {
                    triggers.insert("crons", Item::Value(crons()));
                    if let Some(mut key) = triggers.key_mut("crons").filter(|_| !indent.is_empty())
                    {
                        key.leaf_decor_mut().set_prefix(indent);
                    }
                }
                Some(list) => {
                    let array = list
                        .as_array_mut()
                        .ok_or_else(|| not_a(body, "crons", "`triggers.crons` is not an array"))?;
                    push_like_last(array, Value::from(expr));
                }
            }
        }
    }
    if let Some(position) = new_table_at {
        separate_next_table(doc.as_table_mut(), position, &positions);
    }
    Ok((doc.to_string(), EditStatus::Changed))
}
