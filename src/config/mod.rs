//! The Wrangler config: finding the KV bindings in it and adding to it in
//! place. This is the only code that touches a user's config file.

mod jsonc;
mod toml;

use std::path::Path;

use crate::text::Text;

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
    let lf = text.lf();
    let (body, status) = match format {
        Format::Toml => toml::ensure_kv_namespace(&lf, env, want, force)?,
        Format::Jsonc => jsonc::ensure_kv_namespace(&lf, env, want, force)?,
    };
    if body == lf {
        return Ok(Edit {
            text: raw.to_string(),
            status,
        });
    }
    verify(format, &body, env, want)?;
    Ok(Edit {
        text: text.finish(&body),
        status,
    })
}

/// Re-reads an edited config and checks the binding is there as asked: an
/// edit that would not parse, or would not say what was asked, is refused
/// rather than written.
fn verify(
    format: Format,
    body: &str,
    env: Option<&str>,
    want: &KvBinding,
) -> Result<(), EditError> {
    let found = match format {
        Format::Toml => toml::kv_namespaces(body, env)?,
        Format::Jsonc => jsonc::kv_namespaces(body, env)?,
    };
    let ok = found.iter().any(|e| {
        e.binding == want.binding
            && (want.id.is_none() || e.id == want.id)
            && (want.preview_id.is_none() || e.preview_id == want.preview_id)
    });
    if ok {
        Ok(())
    } else {
        Err(EditError {
            line: 1,
            col: 1,
            message: format!(
                "kvgen could not add binding {} to this file without changing its meaning; please add it by hand",
                want.binding
            ),
        })
    }
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
    let lf = text.lf();
    let (body, status) = match format {
        Format::Toml => toml::ensure_cron(&lf, env, expr)?,
        Format::Jsonc => jsonc::ensure_cron(&lf, env, expr)?,
    };
    if body == lf {
        return Ok(Edit {
            text: raw.to_string(),
            status,
        });
    }
    if !crons(format, &body, env)?.iter().any(|c| c == expr) {
        return Err(EditError {
            line: 1,
            col: 1,
            message: format!(
                "kvgen could not add the cron trigger {expr:?} to this file without changing its meaning; please add it by hand"
            ),
        });
    }
    Ok(Edit {
        text: text.finish(&body),
        status,
    })
}

/// Reads `triggers.crons` of the top level or of `env.NAME`.
pub fn crons(format: Format, raw: &str, env: Option<&str>) -> Result<Vec<String>, EditError> {
    let lf = Text::new(raw).lf();
    match format {
        Format::Toml => toml::crons(&lf, env),
        Format::Jsonc => jsonc::crons(&lf, env),
    }
}

/// Reads the `kv_namespaces` of the top level or of `env.NAME`.
pub fn kv_namespaces(
    format: Format,
    raw: &str,
    env: Option<&str>,
) -> Result<Vec<KvBinding>, EditError> {
    let lf = Text::new(raw).lf();
    match format {
        Format::Toml => toml::kv_namespaces(&lf, env),
        Format::Jsonc => jsonc::kv_namespaces(&lf, env),
    }
}

/// One field of an existing entry, compared with what is wanted.
enum FieldChange<'a> {
    Set(&'a str, &'a str),
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
const BINDING_KEYS: &[&str] = &[
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
