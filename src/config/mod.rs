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
    /// A new `kv_namespaces` entry (and whatever tables lead to it).
    NewEntry,
    /// Fields of the existing entry of the binding set to these values.
    SetFields(Vec<(&'static str, String)>),
    /// The cron expression appended to `triggers.crons`.
    NewCron,
}

impl Effect {
    fn set_fields(changes: &[FieldChange<'_>]) -> Effect {
        Effect::SetFields(
            changes
                .iter()
                .map(|FieldChange::Set(field, value)| (*field, value.to_string()))
                .collect(),
        )
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
    let text = Text::new(raw);
    let planned = match format {
        Format::Toml => toml::plan_kv_namespace(text.body, env, want, force)?,
        Format::Jsonc => jsonc::plan_kv_namespace(text.body, env, want, force)?,
    };
    finish(
        format,
        raw,
        planned,
        &|| {
            format!(
                "kvgen could not add binding {} to this file without changing its meaning; please add it by hand",
                want.binding
            )
        },
        |data, effect| meaning::with_binding(data, env, want, effect),
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
        |data, _| meaning::with_cron(data, env, expr),
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
    expect: impl Fn(serde_json::Value, &Effect) -> Option<serde_json::Value>,
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
    let expected = expect(before, &planned.effect);
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

/// One field of an existing entry, compared with what is wanted.
enum FieldChange<'a> {
    Set(&'static str, &'a str),
}

/// Compares an existing entry with what is wanted and says which fields to
/// write. A field that is missing is filled in; one that differs is a conflict
/// unless `force`.
fn reconcile<'a>(
    existing_id: Option<&str>,
    existing_preview_id: Option<&str>,
    want: &'a KvBinding,
    force: bool,
) -> (Vec<FieldChange<'a>>, EditStatus) {
    let mut changes = Vec::new();
    let mut differences = Vec::new();
    for (field, existing, wanted) in [
        ("id", existing_id, want.id.as_deref()),
        (
            "preview_id",
            existing_preview_id,
            want.preview_id.as_deref(),
        ),
    ] {
        let Some(wanted) = wanted else { continue };
        match existing {
            Some(existing) if existing == wanted => {}
            Some(existing) => {
                differences.push(format!(
                    "binding {} has {field} {existing}, not {wanted}",
                    want.binding
                ));
                changes.push(FieldChange::Set(field, wanted));
            }
            None => changes.push(FieldChange::Set(field, wanted)),
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
