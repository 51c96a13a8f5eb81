//! `wrangler.json` / `wrangler.jsonc` through jsonc-parser's concrete syntax
//! tree: comments, trailing commas and indentation stay as the user wrote them.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{
    CstContainerNode, CstInputValue, CstNode, CstObject, CstRootNode, TrailingCommaMode,
};

use super::{BINDING_KEYS, EditError, EditStatus, FieldChange, KvBinding, reconcile};

/// Wrangler reads its JSON configs with comments and trailing commas allowed;
/// the looser JSON5 forms are not Wrangler syntax and are refused.
fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..ParseOptions::default()
    }
}

pub fn parse(body: &str) -> Result<CstRootNode, EditError> {
    let root = CstRootNode::parse(body, &options()).map_err(|e| EditError {
        line: e.line_display(),
        col: e.column_display(),
        message: format!("invalid JSON: {}", e.kind()),
    })?;
    if root.object_value().is_none() {
        return Err(EditError {
            line: 1,
            col: 1,
            message: "the config is not a JSON object".to_string(),
        });
    }
    Ok(root)
}

/// The root object, or `env.NAME` when the file has it.
fn existing_target(root: &CstRootNode, env: Option<&str>) -> Option<CstObject> {
    let object = root.object_value()?;
    match env {
        None => Some(object),
        Some(env) => object.object_value("env")?.object_value(env),
    }
}

pub fn kv_namespaces(body: &str, env: Option<&str>) -> Result<Vec<KvBinding>, EditError> {
    let root = parse(body)?;
    let target = existing_target(&root, env);
    match target {
        Some(target) => entries(body, &target),
        None => Ok(Vec::new()),
    }
}

fn entries(body: &str, target: &CstObject) -> Result<Vec<KvBinding>, EditError> {
    let Some(prop) = target.get("kv_namespaces") else {
        return Ok(Vec::new());
    };
    let Some(array) = prop.array_value() else {
        return Err(structure_error(
            body,
            "kv_namespaces",
            "`kv_namespaces` is not an array",
        ));
    };
    Ok(array
        .elements()
        .iter()
        .filter_map(|e| e.as_object())
        .map(|o| {
            let get = |k: &str| {
                o.get(k)
                    .and_then(|p| p.value())
                    .and_then(|v| v.as_string_lit())
                    .and_then(|s| s.decoded_value().ok())
            };
            KvBinding {
                binding: get("binding").unwrap_or_default(),
                id: get("id"),
                preview_id: get("preview_id"),
            }
        })
        .collect())
}

fn structure_error(body: &str, key: &str, message: &str) -> EditError {
    let needle = format!("\"{key}\"");
    EditError::at(body, body.find(&needle).unwrap_or(0), message)
}

pub fn ensure_kv_namespace(
    body: &str,
    env: Option<&str>,
    want: &KvBinding,
    force: bool,
) -> Result<(String, EditStatus), EditError> {
    let root = parse(body)?;
    let object = root.object_value().expect("checked by parse");
    let trailing_commas = object.uses_trailing_commas();
    // The outermost object or array this edit creates: it gets the file's
    // trailing-comma style.
    let mut created: Option<CstNode> = None;
    let target = target_object(body, object, env, &mut created)?;
    let existing = entries(body, &target)?;
    let mut one_line = None;
    let status = match existing.iter().position(|e| e.binding == want.binding) {
        Some(index) => {
            let (changes, status) = reconcile(
                existing[index].id.as_deref(),
                existing[index].preview_id.as_deref(),
                want,
                force,
            );
            let entry = target
                .array_value("kv_namespaces")
                .expect("entries() found the array")
                .elements()
                .into_iter()
                .filter_map(|e| e.as_object())
                .nth(index)
                .expect("entry exists");
            let one_line_entry = !entry.to_string().contains('\n');
            let mut added = Vec::new();
            for FieldChange::Set(field, new) in changes {
                let value = CstInputValue::String(new.to_string());
                match entry.get(field) {
                    Some(prop) => prop.set_value(value),
                    None if one_line_entry => added.push((field, new)),
                    None => {
                        entry.append(field, value);
                    }
                }
            }
            if !added.is_empty() {
                // The CST would spread a one-line object over several lines
                // to add a property; the text is extended in place instead.
                let text = entry.to_string();
                let close = text.rfind('}').expect("an object ends with }");
                let head = text[..close].trim_end();
                let mut extended = head.to_string();
                for (field, new) in added {
                    if !extended.ends_with(',') && !extended.ends_with('{') {
                        extended.push(',');
                    }
                    extended.push_str(&format!(" \"{field}\": {}", quote(new)));
                }
                extended.push_str(&text[head.len()..]);
                entry.replace_with(CstInputValue::String(PLACEHOLDER.to_string()));
                one_line = Some(extended);
            }
            status
        }
        None => {
            let entry = new_entry(want);
            match target.array_value("kv_namespaces") {
                Some(array) => match array.elements().last().map(|e| e.to_string()) {
                    Some(last) if !last.contains('\n') => {
                        // The entries are written one per line: so is the new
                        // one. The CST writes objects over several lines, so a
                        // placeholder string takes its place and is replaced
                        // by the one-line text below.
                        array.append(CstInputValue::String(PLACEHOLDER.to_string()));
                        one_line = Some(one_line_entry(want, last.starts_with("{ ")));
                    }
                    _ => {
                        array.append(entry);
                    }
                },
                None => {
                    let index = insertion_index(&target);
                    let prop =
                        target.insert(index, "kv_namespaces", CstInputValue::Array(vec![entry]));
                    if created.is_none() {
                        created = prop.value();
                    }
                }
            }
            EditStatus::Changed
        }
    };
    if status == EditStatus::Unchanged || matches!(status, EditStatus::Conflict(_)) {
        return Ok((body.to_string(), status));
    }
    if trailing_commas {
        set_trailing_commas(created);
    }
    let mut out = root.to_string();
    if let Some(one_line) = one_line {
        let placeholder = format!("\"{PLACEHOLDER}\"");
        if body.contains(PLACEHOLDER) || out.matches(&placeholder).count() != 1 {
            return Err(EditError {
                line: 1,
                col: 1,
                message: format!("the file contains {PLACEHOLDER}, which kvgen uses internally"),
            });
        }
        out = out.replace(&placeholder, &one_line);
    }
    Ok((out, status))
}

/// The root object, or `env.NAME` (added when missing).
fn target_object(
    body: &str,
    root: CstObject,
    env: Option<&str>,
    created: &mut Option<CstNode>,
) -> Result<CstObject, EditError> {
    match env {
        None => Ok(root),
        Some(env) => {
            let envs = child_object(body, &root, "env", "env", created)?;
            child_object(body, &envs, env, &format!("env.{env}"), created)
        }
    }
}

/// The object at `key` in `parent`, added (empty) when missing.
fn child_object(
    body: &str,
    parent: &CstObject,
    key: &str,
    path: &str,
    created: &mut Option<CstNode>,
) -> Result<CstObject, EditError> {
    match parent.get(key) {
        Some(prop) => prop
            .object_value()
            .ok_or_else(|| structure_error(body, key, &format!("`{path}` is not an object"))),
        None => {
            // Environments come last: anything else goes before `env`.
            let props = parent.properties();
            let env_index = props
                .iter()
                .position(|p| {
                    p.name().and_then(|n| n.decoded_value().ok()).as_deref() == Some("env")
                })
                .filter(|_| key != "env");
            let value = CstInputValue::Object(Vec::new());
            let prop = match env_index {
                Some(index) => parent.insert(index, key, value),
                None => parent.append(key, value),
            };
            let object = prop.object_value().expect("just inserted an object");
            if created.is_none() {
                *created = Some(CstNode::Container(CstContainerNode::Object(object.clone())));
            }
            Ok(object)
        }
    }
}

/// A new `kv_namespaces` array goes right after the last binding the object
/// already has; without bindings, before `env` (the environments come last),
/// or at the end.
fn insertion_index(target: &CstObject) -> usize {
    let props = target.properties();
    let names: Vec<String> = props
        .iter()
        .map(|p| {
            p.name()
                .and_then(|n| n.decoded_value().ok())
                .unwrap_or_default()
        })
        .collect();
    if let Some(i) = names
        .iter()
        .rposition(|n| BINDING_KEYS.contains(&n.as_str()))
    {
        return i + 1;
    }
    names.iter().position(|n| n == "env").unwrap_or(props.len())
}

/// Stands in for a new one-line entry while the CST is edited.
const PLACEHOLDER: &str = "__kvgen_new_kv_namespace_entry__";

/// `{ "binding": "X", "id": "…" }` on one line (without the inner spaces when
/// the neighbours have none).
fn one_line_entry(want: &KvBinding, spaced: bool) -> String {
    let mut fields = vec![format!("\"binding\": {}", quote(&want.binding))];
    if let Some(id) = &want.id {
        fields.push(format!("\"id\": {}", quote(id)));
    }
    if let Some(preview_id) = &want.preview_id {
        fields.push(format!("\"preview_id\": {}", quote(preview_id)));
    }
    let pad = if spaced { " " } else { "" };
    format!("{{{pad}{}{pad}}}", fields.join(", "))
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn new_entry(want: &KvBinding) -> CstInputValue {
    let mut fields = vec![(
        "binding".to_string(),
        CstInputValue::String(want.binding.clone()),
    )];
    if let Some(id) = &want.id {
        fields.push(("id".to_string(), CstInputValue::String(id.clone())));
    }
    if let Some(preview_id) = &want.preview_id {
        fields.push((
            "preview_id".to_string(),
            CstInputValue::String(preview_id.clone()),
        ));
    }
    CstInputValue::Object(fields)
}

/// The `triggers.crons` of the top level or of `env.NAME`.
pub fn crons(body: &str, env: Option<&str>) -> Result<Vec<String>, EditError> {
    let root = parse(body)?;
    let target = existing_target(&root, env);
    let Some(triggers) = target.and_then(|t| t.get("triggers")) else {
        return Ok(Vec::new());
    };
    let triggers = triggers
        .object_value()
        .ok_or_else(|| structure_error(body, "triggers", "`triggers` is not an object"))?;
    let Some(crons) = triggers.get("crons") else {
        return Ok(Vec::new());
    };
    let crons = crons
        .array_value()
        .ok_or_else(|| structure_error(body, "crons", "`triggers.crons` is not an array"))?;
    Ok(crons
        .elements()
        .iter()
        .filter_map(|e| e.as_string_lit())
        .filter_map(|s| s.decoded_value().ok())
        .collect())
}

/// Adds `expr` to `triggers.crons` of the top level or `env.NAME` (the
/// caller has checked it is not there yet).
pub fn ensure_cron(
    body: &str,
    env: Option<&str>,
    expr: &str,
) -> Result<(String, EditStatus), EditError> {
    let root = parse(body)?;
    let object = root.object_value().expect("checked by parse");
    let trailing_commas = object.uses_trailing_commas();
    let mut created: Option<CstNode> = None;
    let target = target_object(body, object, env, &mut created)?;
    let triggers = child_object(body, &target, "triggers", "triggers", &mut created)?;
    let value = CstInputValue::String(expr.to_string());
    match triggers.array_value("crons") {
        Some(crons) => {
            crons.append(value);
        }
        None => {
            let prop = triggers.append("crons", CstInputValue::Array(vec![value]));
            if created.is_none() {
                created = prop.value();
            }
        }
    }
    if trailing_commas {
        set_trailing_commas(created);
    }
    Ok((root.to_string(), EditStatus::Changed))
}

/// Gives a container this edit created the file's trailing-comma style.
fn set_trailing_commas(created: Option<CstNode>) {
    match created {
        Some(CstNode::Container(CstContainerNode::Object(o))) => {
            o.set_trailing_commas(TrailingCommaMode::IfMultiline)
        }
        Some(CstNode::Container(CstContainerNode::Array(a))) => {
            a.set_trailing_commas(TrailingCommaMode::IfMultiline)
        }
        _ => {}
    }
}
