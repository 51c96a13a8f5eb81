//! What a config means as data, read the way Wrangler reads it (of a JSON key
//! written twice, the last one counts), and what it should mean after an
//! edit: the two are compared before an edit is returned.

use jsonc_parser::ast;
use serde_json::{Map, Value, json};
use toml_edit::{Item, Table};

use super::{EditError, Effect, Format, ListEntry};

/// The data of a config body (without BOM).
pub fn read(format: Format, body: &str) -> Result<Value, EditError> {
    match format {
        Format::Toml => Ok(of_table(super::toml::parse(body)?.as_table())),
        Format::Jsonc => Ok(of_object(&super::jsonc::parse(body)?)),
    }
}

fn of_table(table: &Table) -> Value {
    Value::Object(
        table
            .iter()
            .filter_map(|(k, item)| Some((k.to_string(), of_item(item)?)))
            .collect(),
    )
}

pub(crate) fn of_item(item: &Item) -> Option<Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(of_toml_value(v)),
        Item::Table(t) => Some(of_table(t)),
        Item::ArrayOfTables(aot) => Some(Value::Array(aot.iter().map(of_table).collect())),
    }
}

pub(crate) fn of_toml_value(value: &toml_edit::Value) -> Value {
    use toml_edit::Value as V;
    match value {
        V::String(s) => json!(s.value()),
        V::Integer(i) => json!(i.value()),
        V::Float(f) => {
            let f = *f.value();
            if f.is_finite() {
                json!(f)
            } else {
                json!(f.to_string())
            }
        }
        V::Boolean(b) => json!(b.value()),
        V::Datetime(d) => json!(d.value().to_string()),
        V::Array(a) => Value::Array(a.iter().map(of_toml_value).collect()),
        V::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), of_toml_value(v)))
                .collect(),
        ),
    }
}

/// An object's data; of a key written twice, the last one counts.
fn of_object(object: &ast::Object<'_>) -> Value {
    let mut map = Map::new();
    for prop in &object.properties {
        map.insert(prop.name.as_str().to_string(), of_json_value(&prop.value));
    }
    Value::Object(map)
}

pub(crate) fn of_json_value(value: &ast::Value<'_>) -> Value {
    match value {
        ast::Value::StringLit(s) => json!(s.value),
        ast::Value::NumberLit(n) => serde_json::from_str::<serde_json::Number>(n.value)
            .map_or_else(|_| json!(n.value), Value::Number),
        ast::Value::BooleanLit(b) => json!(b.value),
        ast::Value::Object(o) => of_object(o),
        ast::Value::Array(a) => Value::Array(a.elements.iter().map(of_json_value).collect()),
        ast::Value::NullKeyword(_) => Value::Null,
    }
}

/// The top level, or `env.NAME` (created when missing).
fn target<'v>(data: &'v mut Value, env: Option<&str>) -> Option<&'v mut Map<String, Value>> {
    let root = data.as_object_mut()?;
    let Some(env) = env else { return Some(root) };
    root.entry("env")
        .or_insert_with(|| json!({}))
        .as_object_mut()?
        .entry(env)
        .or_insert_with(|| json!({}))
        .as_object_mut()
}

/// The data after the edit of `want`'s list described by `effect`.
pub fn with_entry(
    mut data: Value,
    env: Option<&str>,
    want: &ListEntry,
    effect: &Effect,
) -> Option<Value> {
    let mut at = target(&mut data, env)?;
    let path = want.list.path();
    let (leaf, parents) = path.split_last()?;
    for parent in parents {
        at = at
            .entry(*parent)
            .or_insert_with(|| json!({}))
            .as_object_mut()?;
    }
    let list = at
        .entry(*leaf)
        .or_insert_with(|| json!([]))
        .as_array_mut()?;
    match effect {
        Effect::NewEntry => list.push(want.json()),
        Effect::SetFields(fields) => {
            let key_field = want.list.key_field();
            let entry = list
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .find(|e| e.get(key_field).and_then(Value::as_str) == Some(&want.key))?;
            for (field, value) in fields {
                entry.insert(field.to_string(), value.clone());
            }
        }
        Effect::Nothing | Effect::NewCron => return None,
    }
    Some(data)
}

/// The data with `expr` appended to `triggers.crons`.
pub fn with_cron(mut data: Value, env: Option<&str>, expr: &str) -> Option<Value> {
    target(&mut data, env)?
        .entry("triggers")
        .or_insert_with(|| json!({}))
        .as_object_mut()?
        .entry("crons")
        .or_insert_with(|| json!([]))
        .as_array_mut()?
        .push(json!(expr));
    Some(data)
}
