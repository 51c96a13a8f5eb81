//! The Wrangler config: finding the KV bindings in it and adding to it in
//! place. This is the only code that touches a user's config file.
//!
//! The parsers only locate things in the raw text; an edit is text put in at
//! one place per line (plus, for an id that is filled or replaced, that
//! value's text), formatted like its neighbours, with the BOM and every line
//! ending left as they were. The result is parsed again and must mean the
//! old config plus the change, or the edit is refused.

mod jsonc;
mod meaning;
pub(crate) mod splice;
pub(crate) mod toml;

use std::path::Path;

use crate::text::Text;
use splice::Splice;

/// A `kv_namespaces` entry as kvgen wants it to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvBinding {
    pub binding: String,
    pub id: Option<String>,
    pub preview_id: Option<String>,
}

impl KvBinding {
    pub fn new(binding: impl Into<String>) -> Self {
        KvBinding {
            binding: binding.into(),
            id: None,
            preview_id: None,
        }
    }

    /// The namespace `wrangler dev` (and `wrangler kv … --local`) keeps
    /// this binding's local data in: `preview_id`, else `id`, else the
    /// binding's name.
    pub fn local_id(&self) -> String {
        self.preview_id
            .clone()
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| self.binding.clone())
    }
}

/// The syntax of a Wrangler config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    /// `wrangler.json` and `wrangler.jsonc`: Wrangler reads both as JSONC.
    Jsonc,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json" | "jsonc") => Format::Jsonc,
            _ => Format::Toml,
        }
    }
}

/// What an edit did to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditStatus {
    /// The file already says what was asked.
    Unchanged,
    /// Something was added (a binding, an id that was missing).
    Changed,
    /// The file says something else; nothing was changed. The reason says what.
    Conflict(String),
    /// The file said something else and was overwritten because of `--force`.
    Forced(String),
}

/// The result of an edit: the whole new text of the file (BOM and line endings
/// as the original had them) and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub text: String,
    pub status: EditStatus,
}

/// Why a config could not be edited, with the place in the file (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl EditError {
    pub fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = crate::text::line_col(text, offset);
        EditError {
            line,
            col,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

/// An edit worked out by an editor: the text to put in, what the status is,
/// and what it means for the config's data.
pub(crate) struct Planned {
    pub splice: Splice,
    pub status: EditStatus,
    pub effect: Effect,
}

impl Planned {
    pub fn nothing(status: EditStatus) -> Self {
        Planned {
            splice: Splice::new(),
            status,
            effect: Effect::Nothing,
        }
    }
}

/// What an edit changes in the config's data.
pub(crate) enum Effect {
    Nothing,
    /// A new entry in the list (and whatever tables lead to it).
    NewEntry,
    /// Fields of the existing entry set to these values.
    SetFields(Vec<(&'static str, serde_json::Value)>),
    /// The cron expression appended to `triggers.crons`.
    NewCron,
}

/// A list of a Wrangler config whose entries kvgen adds (each named by one
/// field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    KvNamespaces,
    Ratelimits,
    DurableObjects,
    AnalyticsEngine,
    /// Top level only (environments inherit it).
    Migrations,
}

impl List {
    /// Where the list is, under the top level or `env.NAME`.
    pub fn path(self) -> &'static [&'static str] {
        match self {
            List::KvNamespaces => &["kv_namespaces"],
            List::Ratelimits => &["ratelimits"],
            List::DurableObjects => &["durable_objects", "bindings"],
            List::AnalyticsEngine => &["analytics_engine_datasets"],
            List::Migrations => &["migrations"],
        }
    }

    /// The field that names an entry.
    pub fn key_field(self) -> &'static str {
        match self {
            List::KvNamespaces | List::AnalyticsEngine => "binding",
            List::Ratelimits | List::DurableObjects => "name",
            List::Migrations => "tag",
        }
    }

    /// What an entry is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            List::KvNamespaces => "binding",
            List::Ratelimits => "rate limiter",
            List::DurableObjects => "Durable Object binding",
            List::AnalyticsEngine => "Analytics Engine binding",
            List::Migrations => "migration",
        }
    }

    /// The list as the config names it (`durable_objects.bindings`).
    pub fn dotted(self) -> String {
        self.path().join(".")
    }
}

/// A value kvgen writes into an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Str(String),
    Int(i64),
    /// Strings, written on one line.
    List(Vec<String>),
    /// A table written inline (`simple = { limit = 100, period = 60 }`).
    Table(Vec<(&'static str, FieldValue)>),
}

impl FieldValue {
    /// The value as data.
    pub fn json(&self) -> serde_json::Value {
        match self {
            FieldValue::Str(s) => serde_json::json!(s),
            FieldValue::Int(i) => serde_json::json!(i),
            FieldValue::List(items) => serde_json::json!(items),
            FieldValue::Table(fields) => serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.json()))
                    .collect(),
            ),
        }
    }
}

/// How a value reads in a message: strings as they are, the rest as JSON.
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A field of an entry kvgen wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub value: FieldValue,
    /// Written only in a new entry: an existing entry keeps what it has
    /// (a rate limiter's `namespace_id`).
    pub new_only: bool,
}

/// An entry of a list as kvgen wants it: the value of its naming field and
/// its other fields, in the order a new entry writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub list: List,
    pub key: String,
    pub fields: Vec<Field>,
}

impl ListEntry {
    pub fn new(list: List, key: impl Into<String>) -> Self {
        ListEntry {
            list,
            key: key.into(),
            fields: Vec::new(),
        }
    }

    pub fn field(mut self, name: &'static str, value: FieldValue) -> Self {
        self.fields.push(Field {
            name,
            value,
            new_only: false,
        });
        self
    }

    pub fn new_only(mut self, name: &'static str, value: FieldValue) -> Self {
        self.fields.push(Field {
            name,
            value,
            new_only: true,
        });
        self
    }

    /// The fields of a new entry, naming field first.
    pub fn all_fields(&self) -> Vec<(&'static str, FieldValue)> {
        let mut out = vec![(self.list.key_field(), FieldValue::Str(self.key.clone()))];
        out.extend(self.fields.iter().map(|f| (f.name, f.value.clone())));
        out
    }

    /// A new entry as data.
    pub fn json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.all_fields()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.json()))
                .collect(),
        )
    }

    fn what(&self) -> String {
        format!("{} {}", self.list.noun(), self.key)
    }
}

impl From<&KvBinding> for ListEntry {
    fn from(want: &KvBinding) -> Self {
        let mut entry = ListEntry::new(List::KvNamespaces, want.binding.clone());
        if let Some(id) = &want.id {
            entry = entry.field("id", FieldValue::Str(id.clone()));
        }
        if let Some(preview_id) = &want.preview_id {
            entry = entry.field("preview_id", FieldValue::Str(preview_id.clone()));
        }
        entry
    }
}

/// Refuses a carriage return that is not part of a CRLF line break: kvgen
/// keeps each line's own ending and could not tell such lines apart.
fn check_line_breaks(body: &str) -> Result<(), EditError> {
    match crate::text::lone_cr(body) {
        Some(offset) => Err(EditError::at(
            body,
            offset,
            "a carriage return that does not end a line (only LF and CRLF line breaks are supported)",
        )),
        None => Ok(()),
    }
}

/// Makes sure `want` is among the `kv_namespaces` of the top level (`env` =
/// None) or of `env.NAME`, adding or completing the entry in place.
pub fn ensure_kv_namespace(
    format: Format,
    raw: &str,
    env: Option<&str>,
    want: &KvBinding,
    force: bool,
) -> Result<Edit, EditError> {
    ensure_entry(format, raw, env, &ListEntry::from(want), force)
}

/// Makes sure `want` is in its list at the top level (`env` = None) or in
/// `env.NAME`: added, or its missing fields filled in. A field the entry has
/// with another value is a conflict (replaced with `force`).
pub fn ensure_entry(
    format: Format,
    raw: &str,
    env: Option<&str>,
    want: &ListEntry,
    force: bool,
) -> Result<Edit, EditError> {
    let text = Text::new(raw);
    let planned = match format {
        Format::Toml => toml::plan_entry(text.body, env, want, force)?,
        Format::Jsonc => jsonc::plan_entry(text.body, env, want, force)?,
    };
    finish(
        format,
        raw,
        planned,
        &|| {
            format!(
                "kvgen could not add {} to this file without changing its meaning; please add it by hand",
                want.what()
            )
        },
        |data, effect| {
            // A new entry must not take the name of another binding of its
            // table: read from the data the check of the edit reads anyway.
            if matches!(effect, Effect::NewEntry) && want.list != List::Migrations {
                let table = match env {
                    None => Some(&data),
                    Some(env) => data.get("env").and_then(|e| e.get(env)),
                };
                if let Some(other) = table.and_then(|t| taken_by(t, &want.key, want.list)) {
                    return Err(name_taken(text.body, env, want, &other));
                }
            }
            Ok(meaning::with_entry(data, env, want, effect))
        },
    )
}

/// A new entry named like a binding of another list of its table.
fn name_taken(body: &str, env: Option<&str>, want: &ListEntry, other: &str) -> EditError {
    let quoted = [format!("\"{}\"", want.key), format!("'{}'", want.key)];
    let at = quoted
        .iter()
        .filter_map(|q| body.find(q.as_str()))
        .min()
        .unwrap_or(0);
    let place = env.map_or(String::new(), |e| format!(" in env.{e}"));
    EditError::at(
        body,
        at,
        format!(
            "{} is the name of a binding in `{other}`{place} already, and the Worker's env has one binding per name: choose another name for the {}",
            want.key,
            want.list.noun()
        ),
    )
}

/// Makes sure the cron expression `expr` is in `triggers.crons` of the top
/// level (`env` = None) or of `env.NAME`.
pub fn ensure_cron(
    format: Format,
    raw: &str,
    env: Option<&str>,
    expr: &str,
) -> Result<Edit, EditError> {
    if crons(format, raw, env)?.iter().any(|c| c == expr) {
        return Ok(Edit {
            text: raw.to_string(),
            status: EditStatus::Unchanged,
        });
    }
    let text = Text::new(raw);
    let planned = match format {
        Format::Toml => toml::plan_cron(text.body, env, expr)?,
        Format::Jsonc => jsonc::plan_cron(text.body, env, expr)?,
    };
    finish(
        format,
        raw,
        planned,
        &|| {
            format!(
                "kvgen could not add the cron trigger {expr:?} to this file without changing its meaning; please add it by hand"
            )
        },
        |data, _| Ok(meaning::with_cron(data, env, expr)),
    )
}

/// Applies a planned edit to the raw text and checks the result before it is
/// returned: it must parse and mean the old config plus the change, else the
/// edit is refused.
fn finish(
    format: Format,
    raw: &str,
    planned: Planned,
    refusal: &dyn Fn() -> String,
    expect: impl Fn(serde_json::Value, &Effect) -> Result<Option<serde_json::Value>, EditError>,
) -> Result<Edit, EditError> {
    let text = Text::new(raw);
    if planned.splice.is_empty() {
        return Ok(Edit {
            text: raw.to_string(),
            status: planned.status,
        });
    }
    let before = meaning::read(format, text.body)?;
    let body = planned.splice.apply(text.body);
    let after = meaning::read(format, &body).ok();
    let expected = expect(before, &planned.effect)?;
    if after.is_none() || after != expected {
        return Err(EditError {
            line: 1,
            col: 1,
            message: refusal(),
        });
    }
    let mut out = String::with_capacity(body.len() + 3);
    if text.bom {
        out.push('\u{feff}');
    }
    out.push_str(&body);
    Ok(Edit {
        text: out,
        status: planned.status,
    })
}

/// What a whole config means as data (JSON values; of a key written twice,
/// the last one counts, as Wrangler reads it).
pub fn read(format: Format, raw: &str) -> Result<serde_json::Value, EditError> {
    meaning::read(format, Text::new(raw).body)
}

/// Reads `triggers.crons` of the top level or of `env.NAME`.
pub fn crons(format: Format, raw: &str, env: Option<&str>) -> Result<Vec<String>, EditError> {
    let body = Text::new(raw).body;
    match format {
        Format::Toml => toml::crons(body, env),
        Format::Jsonc => jsonc::crons(body, env),
    }
}

/// Reads the `kv_namespaces` of the top level or of `env.NAME`.
pub fn kv_namespaces(
    format: Format,
    raw: &str,
    env: Option<&str>,
) -> Result<Vec<KvBinding>, EditError> {
    let body = Text::new(raw).body;
    match format {
        Format::Toml => toml::kv_namespaces(body, env),
        Format::Jsonc => jsonc::kv_namespaces(body, env),
    }
}

/// Compares an existing entry (`existing` gives a field's value) with what
/// is wanted and says which fields to write. A field that is missing is
/// filled in; one that differs is a conflict unless `force`. Fields written
/// only in new entries are left as they are.
fn reconcile<'w>(
    existing: &dyn Fn(&str) -> Option<serde_json::Value>,
    want: &'w ListEntry,
    force: bool,
) -> (Vec<(&'static str, &'w FieldValue)>, EditStatus) {
    let mut changes = Vec::new();
    let mut differences = Vec::new();
    for field in want.fields.iter().filter(|f| !f.new_only) {
        let wanted = field.value.json();
        match existing(field.name) {
            Some(existing) if existing == wanted => {}
            Some(existing) => {
                differences.push(format!(
                    "{} has {} {}, not {}",
                    want.what(),
                    field.name,
                    shown(&existing),
                    shown(&wanted)
                ));
                changes.push((field.name, &field.value));
            }
            None => changes.push((field.name, &field.value)),
        }
    }
    let status = match (differences.is_empty(), changes.is_empty(), force) {
        (true, true, _) => EditStatus::Unchanged,
        (true, false, _) => EditStatus::Changed,
        (false, _, false) => {
            changes.clear();
            EditStatus::Conflict(differences.join("; "))
        }
        (false, _, true) => EditStatus::Forced(differences.join("; ")),
    };
    (changes, status)
}

impl Effect {
    fn set_fields(changes: &[(&'static str, &FieldValue)]) -> Effect {
        Effect::SetFields(changes.iter().map(|(k, v)| (*k, v.json())).collect())
    }
}

/// The list of `table` (the top level or an environment) other than `own`
/// that has a binding called `name`, if one does.
fn taken_by(table: &serde_json::Value, name: &str, own: List) -> Option<String> {
    let own_key = own.path()[0];
    let named = |entry: &serde_json::Value| {
        ["binding", "name"]
            .iter()
            .any(|field| entry.get(field).and_then(|v| v.as_str()) == Some(name))
    };
    for key in BINDING_KEYS.iter().copied().chain(["vars"]) {
        let Some(value) = table.get(key) else {
            continue;
        };
        let found = match (key, value) {
            (_, serde_json::Value::Array(entries)) => entries.iter().any(named),
            ("vars", serde_json::Value::Object(vars)) => vars.contains_key(name),
            ("durable_objects", v) => v["bindings"]
                .as_array()
                .is_some_and(|entries| entries.iter().any(named)),
            ("queues", v) => v["producers"]
                .as_array()
                .is_some_and(|entries| entries.iter().any(named)),
            (_, v @ serde_json::Value::Object(_)) => {
                v.get("binding").and_then(|b| b.as_str()) == Some(name)
            }
            _ => false,
        };
        if found && key != own_key {
            return Some(key.to_string());
        }
    }
    None
}

/// Keys under which Wrangler configs list bindings; a new `kv_namespaces`
/// goes next to them.
pub(crate) const BINDING_KEYS: &[&str] = &[
    "kv_namespaces",
    "r2_buckets",
    "d1_databases",
    "durable_objects",
    "queues",
    "services",
    "vectorize",
    "hyperdrive",
    "analytics_engine_datasets",
    "ai",
    "browser",
    "images",
    "workflows",
    "send_email",
    "dispatch_namespaces",
    "mtls_certificates",
    "ratelimits",
    "secrets_store_secrets",
    "version_metadata",
    "assets",
];

/// What the migrations of a config say about a Durable Object class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassState {
    /// No migration creates it (or the last one deleted it).
    Missing,
    /// Created with SQLite storage (`new_sqlite_classes`), or renamed to
    /// (storage as the class it was).
    Sqlite,
    /// Created with the key-value storage backend (`new_classes`), in the
    /// migration of this tag: a deployed class cannot move to SQLite.
    KeyValue(String),
}

/// The class as the `migrations` of the top level (`env` = None) or of
/// `env.NAME` leave it, read in order: each class's storage follows it
/// through renames, and a deleted one is gone.
pub fn class_state(data: &serde_json::Value, env: Option<&str>, class: &str) -> ClassState {
    let migrations = match env {
        None => &data["migrations"],
        Some(env) => &data["env"][env]["migrations"],
    };
    let names = |m: &serde_json::Value, field: &str| -> Vec<String> {
        m[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect()
    };
    let mut classes: std::collections::HashMap<String, ClassState> = Default::default();
    for m in migrations.as_array().into_iter().flatten() {
        let tag = m["tag"].as_str().unwrap_or("").to_string();
        for name in names(m, "new_sqlite_classes") {
            classes.insert(name, ClassState::Sqlite);
        }
        for name in names(m, "new_classes") {
            classes.insert(name, ClassState::KeyValue(tag.clone()));
        }
        for renamed in m["renamed_classes"].as_array().into_iter().flatten() {
            let (Some(from), Some(to)) = (renamed["from"].as_str(), renamed["to"].as_str()) else {
                continue;
            };
            // A class not created here (by hand, or before these
            // migrations) is taken for SQLite: kvgen cannot know.
            let state = classes.remove(from).unwrap_or(ClassState::Sqlite);
            classes.insert(to.to_string(), state);
        }
        for moved in m["transferred_classes"].as_array().into_iter().flatten() {
            if let Some(to) = moved["to"].as_str() {
                classes.insert(to.to_string(), ClassState::Sqlite);
            }
        }
        for name in names(m, "deleted_classes") {
            classes.remove(&name);
        }
    }
    classes.remove(class).unwrap_or(ClassState::Missing)
}

/// A tag no migration of the list has: `v<N>` after the highest `v<N>`.
fn next_tag(migrations: &serde_json::Value) -> String {
    let tags: Vec<&str> = migrations
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["tag"].as_str())
        .collect();
    let highest = tags
        .iter()
        .filter_map(|t| t.strip_prefix('v')?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let mut n = highest.max(tags.len() as u64) + 1;
    while tags.contains(&format!("v{n}").as_str()) {
        n += 1;
    }
    format!("v{n}")
}

/// Makes sure a migration of the top level (`env` = None) or of `env.NAME`
/// creates `class` with SQLite storage: a new `migrations` entry with a new
/// tag when none does; existing migrations are never edited. A class created
/// with the key-value backend is a conflict (it cannot move to SQLite).
pub fn ensure_sqlite_class(
    format: Format,
    raw: &str,
    env: Option<&str>,
    class: &str,
) -> Result<Edit, EditError> {
    let data = read(format, raw)?;
    match class_state(&data, env, class) {
        ClassState::Sqlite => Ok(Edit {
            text: raw.to_string(),
            status: EditStatus::Unchanged,
        }),
        ClassState::KeyValue(tag) => Ok(Edit {
            text: raw.to_string(),
            status: EditStatus::Conflict(format!(
                "migration {tag} creates the Durable Object class {class} with new_classes (key-value storage), and the generated {class} uses SQLite storage, which a deployed class cannot switch to; rename one of the two classes"
            )),
        }),
        ClassState::Missing => {
            let migrations = match env {
                None => &data["migrations"],
                Some(env) => &data["env"][env]["migrations"],
            };
            let want = ListEntry::new(List::Migrations, next_tag(migrations)).field(
                "new_sqlite_classes",
                FieldValue::List(vec![class.to_string()]),
            );
            ensure_entry(format, raw, env, &want, false)
        }
    }
}

/// A `namespace_id` for a new rate limiter: a positive integer no rate
/// limiter of the config uses (1001 for the first, as Cloudflare's examples
/// have, else one above the highest).
pub fn unused_ratelimit_id(data: &serde_json::Value) -> String {
    let mut used: Vec<u64> = Vec::new();
    let mut collect = |table: &serde_json::Value| {
        for entry in table["ratelimits"].as_array().into_iter().flatten() {
            let id = &entry["namespace_id"];
            if let Some(n) = id.as_u64().or_else(|| id.as_str()?.trim().parse().ok()) {
                used.push(n);
            }
        }
    };
    collect(data);
    for env in data["env"].as_object().into_iter().flat_map(|e| e.values()) {
        collect(env);
    }
    let next = match used.iter().max() {
        None => Some(1001),
        Some(max) => max.checked_add(1).map(|n| n.max(1001)),
    };
    next.unwrap_or_else(|| (1001..).find(|n| !used.contains(n)).expect("a free id"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_class_is_what_the_last_migration_naming_it_says() {
        let data = json!({ "migrations": [
            { "tag": "v1", "new_classes": ["Counter"] },
            { "tag": "v2", "deleted_classes": ["Counter"] },
            { "tag": "v3", "new_sqlite_classes": ["Other"] },
            { "tag": "v4", "renamed_classes": [{ "from": "Other", "to": "Counter" }] },
        ]});
        assert_eq!(class_state(&data, None, "Counter"), ClassState::Sqlite);
        assert_eq!(class_state(&data, None, "Other"), ClassState::Missing);
        // A key-value class renamed keeps its storage.
        let renamed = json!({ "migrations": [
            { "tag": "v1", "new_classes": ["Old"] },
            { "tag": "v2", "renamed_classes": [{ "from": "Old", "to": "Counter" }] },
        ]});
        assert_eq!(
            class_state(&renamed, None, "Counter"),
            ClassState::KeyValue("v1".into())
        );
        let kv = json!({ "migrations": [{ "tag": "a", "new_classes": ["Counter"] }] });
        assert_eq!(
            class_state(&kv, None, "Counter"),
            ClassState::KeyValue("a".into())
        );
        // An environment's own migrations, not the top level's.
        let env = json!({ "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Counter"] }],
                          "env": { "x": { "migrations": [] } } });
        assert_eq!(class_state(&env, Some("x"), "Counter"), ClassState::Missing);
    }

    #[test]
    fn a_new_tag_is_one_no_migration_has() {
        assert_eq!(next_tag(&json!(null)), "v1");
        assert_eq!(next_tag(&json!([{ "tag": "v1" }, { "tag": "v7" }])), "v8");
        // Tags of other shapes: one past their count, and unused.
        assert_eq!(
            next_tag(&json!([{ "tag": "init" }, { "tag": "add" }])),
            "v3"
        );
        assert_eq!(next_tag(&json!([{ "tag": "x" }, { "tag": "v2" }])), "v3");
    }

    #[test]
    fn a_new_rate_limiter_id_is_unused_in_every_environment() {
        assert_eq!(unused_ratelimit_id(&json!({})), "1001");
        let data = json!({
            "ratelimits": [{ "namespace_id": "1001" }],
            "env": { "p": { "ratelimits": [{ "namespace_id": "2000" }, { "namespace_id": 5 }] } },
        });
        assert_eq!(unused_ratelimit_id(&data), "2001");
        let max = json!({ "ratelimits": [{ "namespace_id": u64::MAX.to_string() }, { "namespace_id": "1001" }] });
        assert_eq!(unused_ratelimit_id(&max), "1002");
    }
}
