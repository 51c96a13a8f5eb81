//! Edits to a workers-rs crate besides the generated modules: dependencies in
//! `Cargo.toml`, `mod kv;` in the crate root and the module list in
//! `kv/mod.rs`. All of them are edited in place, never regenerated.

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use crate::config::{Edit, EditError, EditStatus};
use crate::text::Text;

/// A crate the generated code needs.
#[derive(Debug, Clone, Copy)]
pub struct Dependency {
    pub name: &'static str,
    pub version: &'static str,
    pub features: &'static [&'static str],
}

fn edit(raw: &str, lf: &str, edited_lf: String) -> Edit {
    if edited_lf == lf {
        Edit {
            text: raw.to_string(),
            status: EditStatus::Unchanged,
        }
    } else {
        Edit {
            text: Text::new(raw).finish(&edited_lf),
            status: EditStatus::Changed,
        }
    }
}

/// Adds the dependencies that are missing to `[dependencies]`, like
/// `cargo add`: a version the user chose is never changed, only features
/// that are missing are added. A table whose keys were sorted stays sorted.
pub fn ensure_dependencies(raw: &str, deps: &[Dependency]) -> Result<Edit, EditError> {
    let text = Text::new(raw);
    let lf = text.lf();
    let mut doc: DocumentMut = lf.parse().map_err(|e: toml_edit::TomlError| {
        let offset = e.span().map_or(0, |s| s.start);
        EditError::at(&lf, offset, format!("invalid TOML: {}", e.message().trim()))
    })?;
    for dep in deps {
        if let Some(existing) = find_dependency(&mut doc, dep.name) {
            add_features(existing, dep.features);
            continue;
        }
        let table = doc
            .entry("dependencies")
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| EditError {
                line: 1,
                col: 1,
                message: "`dependencies` is not a table".to_string(),
            })?;
        let was_sorted = table
            .iter()
            .map(|(k, _)| k.to_string())
            .collect::<Vec<_>>()
            .is_sorted();
        let value = if dep.features.is_empty() {
            Value::from(dep.version)
        } else {
            let mut inline = InlineTable::new();
            inline.insert("version", Value::from(dep.version));
            inline.insert(
                "features",
                Value::Array(dep.features.iter().copied().collect::<Array>()),
            );
            inline.fmt();
            Value::InlineTable(inline)
        };
        table.insert(dep.name, Item::Value(value));
        if was_sorted {
            table.sort_values();
        }
    }
    Ok(edit(raw, &lf, doc.to_string()))
}

/// The dependency entry for `name` in `[dependencies]` or in a
/// target-specific dependency table.
fn find_dependency<'d>(doc: &'d mut DocumentMut, name: &str) -> Option<&'d mut Item> {
    if doc
        .get("dependencies")
        .and_then(|d| d.as_table_like())
        .is_some_and(|d| d.contains_key(name))
    {
        return doc["dependencies"].as_table_like_mut()?.get_mut(name);
    }
    let targets = doc.get_mut("target")?.as_table_like_mut()?;
    targets.iter_mut().find_map(|(_, target)| {
        target
            .get_mut("dependencies")?
            .as_table_like_mut()?
            .get_mut(name)
    })
}

fn add_features(item: &mut Item, features: &[&str]) {
    if features.is_empty() {
        return;
    }
    // `serde = "1"` becomes `serde = { version = "1", features = [...] }`.
    if let Some(version) = item.as_str().map(str::to_string) {
        let decor = item.as_value().map(|v| v.decor().clone());
        let mut inline = InlineTable::new();
        inline.insert("version", Value::from(version));
        inline.fmt();
        let mut value = Value::InlineTable(inline);
        if let Some(decor) = decor {
            *value.decor_mut() = decor;
        }
        *item = Item::Value(value);
    }
    let Some(table) = item.as_table_like_mut() else {
        return;
    };
    let present: Vec<String> = table
        .get("features")
        .and_then(|f| f.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<&str> = features
        .iter()
        .copied()
        .filter(|f| !present.iter().any(|p| p == f))
        .collect();
    if missing.is_empty() {
        return;
    }
    match table.get_mut("features").and_then(|f| f.as_array_mut()) {
        Some(array) => missing.iter().for_each(|f| array.push(*f)),
        None => {
            table.insert(
                "features",
                Item::Value(Value::Array(missing.iter().copied().collect::<Array>())),
            );
        }
    }
    if let Some(inline) = item.as_inline_table_mut() {
        inline.fmt();
    }
}

/// True when a line declares module `name` (`mod name;`, `pub mod name;`,
/// `pub(crate) mod name {`).
fn declares(line: &str, name: &str) -> bool {
    let line = line.trim_start();
    let rest = line
        .strip_prefix("pub(crate) ")
        .or_else(|| line.strip_prefix("pub(super) "))
        .or_else(|| line.strip_prefix("pub "))
        .unwrap_or(line);
    rest.strip_prefix("mod ")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix(name))
        .is_some_and(|r| r.trim_start().starts_with(';') || r.trim_start().starts_with('{'))
}

/// A top-level one-line module declaration (`mod x;`, `pub mod x;`).
fn is_mod_line(line: &str) -> bool {
    let rest = line
        .strip_prefix("pub(crate) ")
        .or_else(|| line.strip_prefix("pub "))
        .unwrap_or(line);
    rest.starts_with("mod ") && rest.trim_end().ends_with(';')
}

/// Adds `mod NAME;` to the crate root when it is not declared: after the
/// last one-line module declaration, or else after the leading `//!` docs and
/// `#![...]` attributes.
pub fn ensure_mod_declaration(raw: &str, name: &str) -> Edit {
    let text = Text::new(raw);
    let lf = text.lf();
    if lf.lines().any(|l| declares(l, name)) {
        return edit(raw, &lf, lf.to_string());
    }
    let lines: Vec<&str> = lf.split_inclusive('\n').collect();
    let declaration = format!("mod {name};\n");
    let mut out = String::with_capacity(lf.len() + 16);
    if let Some(last) = lines.iter().rposition(|l| is_mod_line(l)) {
        for (i, line) in lines.iter().enumerate() {
            out.push_str(line);
            if i == last {
                if !line.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&declaration);
            }
        }
    } else {
        let header = lines
            .iter()
            .take_while(|l| {
                let t = l.trim_start();
                t.starts_with("//!") || t.starts_with("#![") || t.trim().is_empty()
            })
            .count();
        // Blank lines after the header belong to what follows.
        let header = (0..header)
            .rev()
            .find(|i| !lines[*i].trim().is_empty())
            .map_or(0, |i| i + 1);
        for line in &lines[..header] {
            out.push_str(line);
        }
        if header > 0 {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        }
        out.push_str(&declaration);
        if header < lines.len() && !lines[header].trim().is_empty() {
            out.push('\n');
        }
        for line in &lines[header..] {
            out.push_str(line);
        }
    }
    edit(raw, &lf, out)
}

/// The module list of the generated folder (`kv/mod.rs`): created with
/// `modules` when missing; otherwise each missing `pub mod x;` is added in
/// sorted place among the existing declarations (or at the end).
pub fn ensure_module_list(raw: Option<&str>, modules: &[&str]) -> Edit {
    let Some(raw) = raw else {
        let mut sorted = modules.to_vec();
        sorted.sort_unstable();
        let mut text = String::from(
            "//! Workers KV helpers generated by kvgen. kvgen adds a line here for each\n//! module it generates; the rest of this file is yours.\n\n",
        );
        for module in sorted {
            text.push_str(&format!("pub mod {module};\n"));
        }
        return Edit {
            text,
            status: EditStatus::Changed,
        };
    };
    let text = Text::new(raw);
    let lf = text.lf();
    let mut lines: Vec<String> = lf.split_inclusive('\n').map(str::to_string).collect();
    if lines.last().is_some_and(|l| !l.ends_with('\n')) {
        lines.last_mut().expect("not empty").push('\n');
    }
    for module in modules {
        if lines.iter().any(|l| declares(l, module)) {
            continue;
        }
        let line = format!("pub mod {module};\n");
        let mods: Vec<usize> = (0..lines.len())
            .filter(|i| is_mod_line(&lines[*i]))
            .collect();
        let at = match mods.last() {
            None => lines.len(),
            Some(last) => mods
                .iter()
                .find(|i| lines[**i].as_str() > line.as_str())
                .copied()
                .unwrap_or(last + 1),
        };
        lines.insert(at, line);
    }
    edit(raw, &lf, lines.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERDE: Dependency = Dependency {
        name: "serde",
        version: "1",
        features: &["derive"],
    };
    const SERDE_JSON: Dependency = Dependency {
        name: "serde_json",
        version: "1",
        features: &[],
    };

    #[test]
    fn missing_dependencies_are_added_in_sorted_place() {
        let manifest = "[package]\nname = \"w\"\n\n[dependencies]\n# the runtime\nworker = \"0.8\"\n\n[profile.release]\nlto = true\n";
        let edit = ensure_dependencies(manifest, &[SERDE, SERDE_JSON]).unwrap();
        assert_eq!(
            edit.text,
            "[package]\nname = \"w\"\n\n[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n# the runtime\nworker = \"0.8\"\n\n[profile.release]\nlto = true\n"
        );
        let again = ensure_dependencies(&edit.text, &[SERDE, SERDE_JSON]).unwrap();
        assert_eq!(again.status, EditStatus::Unchanged);
    }

    #[test]
    fn a_chosen_version_is_kept_and_only_features_are_added() {
        let manifest = "[dependencies]\nworker = \"0.8\"\nserde = \"1.0.200\" # pinned\nserde_json = { version = \"=1.0.100\" }\n";
        let edit = ensure_dependencies(manifest, &[SERDE, SERDE_JSON]).unwrap();
        assert_eq!(
            edit.text,
            "[dependencies]\nworker = \"0.8\"\nserde = { version = \"1.0.200\", features = [\"derive\"] } # pinned\nserde_json = { version = \"=1.0.100\" }\n"
        );
        let with_features = "[dependencies]\nserde = { version = \"1\", features = [\"rc\"] }\n";
        let edit = ensure_dependencies(with_features, &[SERDE]).unwrap();
        assert_eq!(
            edit.text,
            "[dependencies]\nserde = { version = \"1\", features = [\"rc\", \"derive\"] }\n"
        );
    }

    #[test]
    fn unsorted_tables_get_the_new_entry_at_the_end() {
        let manifest = "[dependencies]\nworker = \"0.8\"\nanyhow = \"1\"\n";
        let edit = ensure_dependencies(manifest, &[SERDE_JSON]).unwrap();
        assert_eq!(
            edit.text,
            "[dependencies]\nworker = \"0.8\"\nanyhow = \"1\"\nserde_json = \"1\"\n"
        );
    }

    #[test]
    fn mod_declaration_goes_after_existing_mods_or_the_header() {
        let with_mods =
            "use worker::*;\n\nmod router;\nmod utils;\n\n#[event(fetch)]\nasync fn f() {}\n";
        assert_eq!(
            ensure_mod_declaration(with_mods, "kv").text,
            "use worker::*;\n\nmod router;\nmod utils;\nmod kv;\n\n#[event(fetch)]\nasync fn f() {}\n"
        );
        let plain = "use worker::*;\n\n#[event(fetch)]\nasync fn f() {}\n";
        assert_eq!(
            ensure_mod_declaration(plain, "kv").text,
            format!("mod kv;\n\n{plain}")
        );
        let header = "//! My worker.\n#![allow(unused)]\n\nuse worker::*;\n";
        assert_eq!(
            ensure_mod_declaration(header, "kv").text,
            "//! My worker.\n#![allow(unused)]\n\nmod kv;\n\nuse worker::*;\n"
        );
        let declared = "pub mod kv;\nuse worker::*;\n";
        assert_eq!(
            ensure_mod_declaration(declared, "kv").status,
            EditStatus::Unchanged
        );
        let crlf = "use worker::*;\r\n";
        assert_eq!(
            ensure_mod_declaration(crlf, "kv").text,
            "mod kv;\r\n\r\nuse worker::*;\r\n"
        );
    }

    #[test]
    fn module_lists_are_created_or_extended_in_sorted_place() {
        let created = ensure_module_list(None, &["store", "keys", "limits"]);
        assert!(
            created
                .text
                .ends_with("\npub mod keys;\npub mod limits;\npub mod store;\n")
        );
        let mine = "pub mod keys;\npub mod store;\n\npub fn mine() {}\n";
        let edit = ensure_module_list(Some(mine), &["keys", "limits", "store"]);
        assert_eq!(
            edit.text,
            "pub mod keys;\npub mod limits;\npub mod store;\n\npub fn mine() {}\n"
        );
        assert_eq!(
            ensure_module_list(Some(&edit.text), &["keys", "limits", "store"]).status,
            EditStatus::Unchanged
        );
    }
}
