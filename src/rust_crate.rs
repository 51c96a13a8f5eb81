//! Edits to a workers-rs crate besides the generated modules: dependencies in
//! `Cargo.toml`, `mod kv;` in the crate root and the module list in
//! `kv/mod.rs`. All of them are edited in place, never regenerated.

use std::path::Path;

use syn::spanned::Spanned;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use crate::config::{Edit, EditError, EditStatus};
use crate::error::BadInput;
use crate::names;
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
/// that are missing are added. A table whose keys were sorted stays sorted;
/// comments stay with what they describe, a multi-line `features` list gets
/// its new feature on a line of its own, and a file without a final newline
/// still has none.
pub fn ensure_dependencies(raw: &str, deps: &[Dependency]) -> Result<Edit, EditError> {
    let text = Text::new(raw);
    let lf = text.lf();
    let mut doc: DocumentMut = lf.parse().map_err(|e: toml_edit::TomlError| {
        let offset = e.span().map_or(0, |s| s.start);
        EditError::at(&lf, offset, format!("invalid TOML: {}", e.message().trim()))
    })?;
    for dep in deps {
        if let Some(existing) = find_dependency(&mut doc, dep.name) {
            add_features(existing, dep.features).map_err(|why| {
                let at = position(&lf, &[&["dependencies", dep.name, "features"][..]]);
                EditError::at(&lf, at, format!("`{}`: {why}", dep.name))
            })?;
            continue;
        }
        let Some(table) = doc
            .entry("dependencies")
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_like_mut()
        else {
            return Err(EditError::at(
                &lf,
                position(&lf, &[&["dependencies"][..]]),
                "`dependencies` is not a table",
            ));
        };
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
        // `dependencies = { … }` written inline gets its new entry spaced
        // like the others.
        if let Some(inline) = doc["dependencies"].as_inline_table_mut() {
            inline.fmt();
        }
    }
    let mut edited = doc.to_string();
    if !lf.is_empty() && !lf.ends_with('\n') && edited.ends_with('\n') {
        edited.pop();
    }
    Ok(edit(raw, &lf, edited))
}

/// The offset in `lf` of the first of `paths` (keys from the root) that the
/// manifest has, for an error message; 0 when none is found.
fn position(lf: &str, paths: &[&[&str]]) -> usize {
    let Ok(doc) = toml_edit::Document::parse(lf.to_string()) else {
        return 0;
    };
    paths
        .iter()
        .find_map(|path| {
            let mut item = doc.as_item();
            for key in *path {
                item = item.get(key)?;
            }
            item.span().map(|s| s.start)
        })
        .unwrap_or(0)
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

/// Adds the `features` that are missing to a dependency entry; Err says
/// why it cannot (a `features` that is not a list).
fn add_features(item: &mut Item, features: &[&str]) -> Result<(), String> {
    if features.is_empty() {
        return Ok(());
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
        return Ok(());
    };
    let present: Vec<String> = match table.get("features") {
        None => Vec::new(),
        Some(f) => f
            .as_array()
            .ok_or("its `features` is not a list of feature names")?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
    };
    let missing: Vec<&str> = features
        .iter()
        .copied()
        .filter(|f| !present.iter().any(|p| p == f))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    match table.get_mut("features").and_then(|f| f.as_array_mut()) {
        Some(array) => missing.iter().for_each(|f| push_like_the_others(array, f)),
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
    Ok(())
}

/// Appends `value` to an array: in a list written one item a line, on a
/// line of its own, indented like the others, with the comments after the
/// last item left where they were.
fn push_like_the_others(array: &mut Array, value: &str) {
    let text =
        |raw: Option<&toml_edit::RawString>| raw.and_then(|r| r.as_str()).unwrap_or("").to_string();
    let Some(last) = array.iter().last() else {
        array.push(value);
        return;
    };
    let prefix = text(last.decor().prefix());
    let Some(newline) = prefix.rfind('\n') else {
        array.push(value);
        return;
    };
    let indent = &prefix[newline + 1..];
    let mut new = Value::from(value);
    if array.trailing_comma() {
        // `"rc", # comment\n]`: what follows the comma stays on its line.
        let trailing = text(Some(array.trailing()));
        let (rest_of_line, close) = trailing.rsplit_once('\n').unwrap_or((&trailing, ""));
        new.decor_mut()
            .set_prefix(format!("{rest_of_line}\n{indent}"));
        new.decor_mut().set_suffix("");
        let close = format!("\n{close}");
        array.push_formatted(new);
        array.set_trailing(close);
    } else {
        // `"rc" # comment\n]`: the comma goes right after the last item, the
        // comment after the comma.
        let index = array.len() - 1;
        let suffix = text(array.get(index).and_then(|v| v.decor().suffix()));
        let (rest_of_line, close) = suffix.rsplit_once('\n').unwrap_or((&suffix, ""));
        new.decor_mut()
            .set_prefix(format!("{rest_of_line}\n{indent}"));
        new.decor_mut().set_suffix(format!("\n{close}"));
        if let Some(last) = array.get_mut(index) {
            last.decor_mut().set_suffix("");
        }
        array.push_formatted(new);
    }
}

/// A Rust file parsed with `syn`, and where its tokens are in its text.
struct Rust {
    file: syn::File,
    /// Where the parsed text starts: after a shebang line, which is not
    /// Rust (`syn::parse_file` skips it the same way).
    offset: usize,
}

impl Rust {
    /// Parses `lf` (a file's text without its BOM, with LF line endings).
    /// A file that does not parse is an error at its line and column.
    fn parse(lf: &str) -> Result<Rust, EditError> {
        let offset = if lf.starts_with("#!") && !lf[2..].trim_start().starts_with('[') {
            lf.find('\n').unwrap_or(lf.len())
        } else {
            0
        };
        let at = |span: proc_macro2::Span, why: &dyn std::fmt::Display| {
            EditError::at(
                lf,
                offset + span.byte_range().start,
                format!("does not parse as Rust: {why}"),
            )
        };
        // Tokens first, so that a lexing error says what it is.
        const UNBALANCED: &str = "a bracket that is not closed (or closed but never opened), or a string, character or comment that does not end";
        let tokens: proc_macro2::TokenStream = lf[offset..]
            .parse()
            .map_err(|e: proc_macro2::LexError| at(e.span(), &UNBALANCED))?;
        let file = syn::parse2::<syn::File>(tokens).map_err(|e| at(e.span(), &e))?;
        Ok(Rust { file, offset })
    }

    fn start(&self, node: &impl Spanned) -> usize {
        self.offset + node.span().byte_range().start
    }

    fn end(&self, node: &impl Spanned) -> usize {
        self.offset + node.span().byte_range().end
    }

    /// Where the leading part of the file ends: the shebang, the inner
    /// attributes (`#![…]`) and inner doc comments (`//!`, `/*! */`).
    fn header_end(&self) -> usize {
        self.file
            .attrs
            .iter()
            .map(|attr| self.end(attr))
            .max()
            .unwrap_or(self.offset)
    }

    /// The top-level `mod x;` declarations (not inline modules), in order.
    fn declarations(&self) -> impl Iterator<Item = &syn::ItemMod> {
        self.file.items.iter().filter_map(|item| match item {
            syn::Item::Mod(m) if m.content.is_none() => Some(m),
            _ => None,
        })
    }

    /// Whether module `name` is declared at the top level, in a form whose
    /// file is `default_path` (relative to this file's folder), which is
    /// where kvgen writes it. A `mod name { … }` written inline, a
    /// `#[path]` to another file, or another item that takes the name make
    /// kvgen's module unusable: an error at that item.
    fn declares(&self, lf: &str, name: &str, default_path: &str) -> Result<bool, EditError> {
        for item in &self.file.items {
            let at = |message: String| EditError::at(lf, self.start(item), message);
            if let syn::Item::Mod(m) = item
                && m.ident == name
            {
                if m.content.is_some() {
                    return Err(at(format!(
                        "`mod {name} {{ … }}` is written inline here, so the {default_path} kvgen writes would not be compiled; move its items into that file and declare `mod {name};`, or choose another module folder with --dir"
                    )));
                }
                if let Some(path) = path_attribute(&m.attrs)
                    && normalize(&path) != default_path
                {
                    return Err(at(format!(
                        "`mod {name};` is read from {path:?} (#[path]), not from {default_path} where kvgen writes it; remove the attribute or choose another module folder with --dir"
                    )));
                }
                return Ok(true);
            }
            if let Some(what) = takes_name(item, name) {
                return Err(at(format!(
                    "`{name}` is already {what} here, so `mod {name};` would clash with it; rename it, or choose another module folder with --dir"
                )));
            }
        }
        Ok(false)
    }
}

/// The value of a `#[path = "…"]` attribute.
fn path_attribute(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| match &attr.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// A relative path as `#[path]` may write it, in the form kvgen compares:
/// `/` separators, no `./`.
fn normalize(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut rest = path.as_str();
    while let Some(r) = rest.strip_prefix("./") {
        rest = r;
    }
    rest.to_string()
}

/// What an item other than a module declaration calls `name` in the type
/// namespace, where a module lives too (`use worker::kv;`, `struct kv`).
fn takes_name(item: &syn::Item, name: &str) -> Option<&'static str> {
    let ident = |i: &syn::Ident| i == name;
    match item {
        syn::Item::Use(u) if binds(&u.tree, None, name) => Some("imported by a `use`"),
        syn::Item::ExternCrate(e) if e.rename.as_ref().map_or(&e.ident, |(_, r)| r) == name => {
            Some("an `extern crate`")
        }
        syn::Item::Struct(i) if ident(&i.ident) => Some("a struct"),
        syn::Item::Enum(i) if ident(&i.ident) => Some("an enum"),
        syn::Item::Union(i) if ident(&i.ident) => Some("a union"),
        syn::Item::Trait(i) if ident(&i.ident) => Some("a trait"),
        syn::Item::TraitAlias(i) if ident(&i.ident) => Some("a trait alias"),
        syn::Item::Type(i) if ident(&i.ident) => Some("a type alias"),
        _ => None,
    }
}

/// Whether a `use` tree brings `name` into scope by name (a glob does not
/// clash: a declared module shadows what a glob imports).
fn binds(tree: &syn::UseTree, parent: Option<&syn::Ident>, name: &str) -> bool {
    match tree {
        syn::UseTree::Path(p) => binds(&p.tree, Some(&p.ident), name),
        syn::UseTree::Name(n) if n.ident == "self" => parent.is_some_and(|p| p == name),
        syn::UseTree::Name(n) => n.ident == name,
        syn::UseTree::Rename(r) => r.rename == name,
        syn::UseTree::Glob(_) => false,
        syn::UseTree::Group(g) => g.items.iter().any(|t| binds(t, parent, name)),
    }
}

/// `text` with `line` (a declaration, without its newline) inserted as a
/// line of its own right after the token that ends at `end`: on the next
/// line when the rest of this one is blank or a plain comment, else
/// between the token and what follows it.
fn insert_after(text: &str, end: usize, line: &str) -> String {
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let rest = text[end..line_end].trim_start();
    let plain_comment =
        rest.starts_with("//") && !rest.starts_with("///") && !rest.starts_with("//!");
    let mut out = String::with_capacity(text.len() + line.len() + 2);
    if rest.is_empty() || plain_comment {
        if line_end == text.len() {
            // The last line, without a newline: it still has none after.
            out.push_str(text);
            out.push('\n');
            out.push_str(line);
        } else {
            out.push_str(&text[..=line_end]);
            out.push_str(line);
            out.push('\n');
            out.push_str(&text[line_end + 1..]);
        }
    } else {
        out.push_str(&text[..end]);
        out.push('\n');
        out.push_str(line);
        out.push_str(&text[end..]);
    }
    out
}

/// `text` with `line` inserted before the item starting at `start`: as a
/// line of its own when the item starts its line.
fn insert_before(text: &str, start: usize, line: &str) -> String {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let (at, inserted) = if text[line_start..start].trim().is_empty() {
        (line_start, format!("{line}\n"))
    } else {
        (start, format!("{line} "))
    };
    format!("{}{inserted}{}", &text[..at], &text[at..])
}

/// The comments in `trivia`, text that holds only whitespace and comments
/// (what lies between two tokens), as byte ranges.
fn comments(trivia: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = trivia.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"//") {
            let end = trivia[i..].find('\n').map_or(trivia.len(), |n| i + n);
            found.push(i..end);
            i = end;
        } else if bytes[i..].starts_with(b"/*") {
            // Block comments nest.
            let (start, mut depth) = (i, 0usize);
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            found.push(start..i);
        } else {
            i += 1;
        }
    }
    found
}

/// Where the declaration goes in a crate root without module declarations:
/// after the header (shebang, inner attributes, inner docs) and before the
/// first item. When a blank line separates leading comments (a licence,
/// say) from what follows, after the last such blank line.
fn insert_after_header(lf: &str, rust: &Rust, line: &str) -> String {
    let header = rust.header_end();
    let first_item = rust
        .file
        .items
        .first()
        .map_or(lf.len(), |item| rust.start(item));
    let trivia = &lf[header..first_item];
    let in_comment = comments(trivia);
    // Blank lines of the trivia outside comments, after something that is
    // not blank: each as the offset just past its newline.
    let mut after_blank = None;
    let mut line_start = 0;
    for (i, _) in trivia.match_indices('\n') {
        let is_blank = trivia[line_start..i].trim().is_empty();
        let outside = !in_comment.iter().any(|c| c.contains(&line_start));
        let after_content = !lf[..header + line_start].trim().is_empty();
        if is_blank && outside && after_content && line_start > 0 {
            after_blank = Some(header + i + 1);
        }
        line_start = i + 1;
    }
    let next_line_has_text = |at: usize| {
        let next = &lf[at..];
        !next[..next.find('\n').unwrap_or(next.len())]
            .trim()
            .is_empty()
    };
    if let Some(at) = after_blank {
        let gap = if next_line_has_text(at) { "\n" } else { "" };
        return format!("{}{line}\n{gap}{}", &lf[..at], &lf[at..]);
    }
    if header == 0 {
        let gap = if next_line_has_text(0) { "\n" } else { "" };
        return format!("{line}\n{gap}{lf}");
    }
    // After the header's last line, with a blank line on either side.
    let line_end = lf[header..].find('\n').map_or(lf.len(), |i| header + i);
    let rest = lf[header..line_end].trim_start();
    let plain_comment =
        rest.starts_with("//") && !rest.starts_with("///") && !rest.starts_with("//!");
    if !(rest.is_empty() || plain_comment) {
        return format!("{}\n\n{line}\n{}", &lf[..header], &lf[header..]);
    }
    if line_end == lf.len() {
        return format!("{lf}\n\n{line}");
    }
    let at = line_end + 1;
    let gap = if next_line_has_text(at) { "\n" } else { "" };
    format!("{}\n{line}\n{gap}{}", &lf[..at], &lf[at..])
}

/// Re-reads an edited file: it must parse, and hold exactly one more item
/// (`items_before + 1`), the declaration of `name`. Returns it parsed.
fn verify(
    edited: &str,
    items_before: usize,
    name: &str,
    default_path: &str,
) -> Result<Rust, EditError> {
    let refused = || EditError {
        line: 1,
        col: 1,
        message: format!(
            "kvgen could not add `mod {name};` here without changing what the file means; add it by hand"
        ),
    };
    let after = Rust::parse(edited).map_err(|_| refused())?;
    let declared = after
        .declares(edited, name, default_path)
        .map_err(|_| refused())?;
    if declared && after.file.items.len() == items_before + 1 {
        Ok(after)
    } else {
        Err(refused())
    }
}

/// Adds `mod NAME;` to the crate root when it is not declared: after the
/// last top-level module declaration, or else after the inner attributes
/// and docs, before the first item. The file is read with a Rust parser:
/// one that does not parse is an error at its line and column, and so is a
/// `kv` the crate already uses otherwise (inline, `#[path]` elsewhere,
/// `use …::kv`).
pub fn ensure_mod_declaration(raw: &str, name: &str) -> Result<Edit, EditError> {
    let text = Text::new(raw);
    let lf = text.lf();
    let rust = Rust::parse(&lf)?;
    let default_path = format!("{name}/mod.rs");
    if rust.declares(&lf, name, &default_path)? {
        return Ok(edit(raw, &lf, lf.to_string()));
    }
    let declaration = format!("mod {name};");
    let edited = match rust.declarations().last() {
        Some(last) => insert_after(&lf, rust.end(last), &declaration),
        None => insert_after_header(&lf, &rust, &declaration),
    };
    // One syntax tree in memory at a time: a large crate root costs less.
    let items = rust.file.items.len();
    drop(rust);
    verify(&edited, items, name, &default_path)?;
    Ok(edit(raw, &lf, edited))
}

/// The module list of the generated folder (`kv/mod.rs`): created with
/// `modules` when missing; otherwise each missing `pub mod x;` is added in
/// sorted place among the existing declarations (or at the end). Read with
/// a Rust parser, like the crate root.
pub fn ensure_module_list(raw: Option<&str>, modules: &[&str]) -> Result<Edit, EditError> {
    let Some(raw) = raw else {
        let mut sorted = modules.to_vec();
        sorted.sort_unstable();
        let mut text = String::from(
            "//! Workers KV helpers generated by kvgen. kvgen adds a line here for each\n//! module it generates; the rest of this file is yours.\n\n",
        );
        for module in sorted {
            text.push_str(&format!("pub mod {module};\n"));
        }
        return Ok(Edit {
            text,
            status: EditStatus::Changed,
        });
    };
    let text = Text::new(raw);
    let lf = text.lf();
    let mut edited = lf.to_string();
    let mut rust = Rust::parse(&edited)?;
    for module in modules {
        let default_path = format!("{module}.rs");
        if rust.declares(&edited, module, &default_path)? {
            continue;
        }
        let declaration = format!("pub mod {module};");
        let next = rust
            .declarations()
            .find(|m| m.ident.to_string().as_str() > *module);
        let added = match (next, rust.declarations().last()) {
            (Some(next), _) => insert_before(&edited, rust.start(next), &declaration),
            (None, Some(last)) => insert_after(&edited, rust.end(last), &declaration),
            (None, None) if edited.is_empty() || edited.ends_with('\n') => {
                format!("{edited}{declaration}\n")
            }
            (None, None) => format!("{edited}\n{declaration}"),
        };
        let items = rust.file.items.len();
        drop(rust);
        rust = verify(&added, items, module, &default_path)?;
        edited = added;
    }
    Ok(edit(raw, &lf, edited))
}

/// The crate root, relative to the project root `root` (the folder of
/// Cargo.toml) with `/` separators: `[lib] path`, else `src/lib.rs`, else
/// `src/main.rs`. `manifest` is Cargo.toml's text. A `[lib] path` outside
/// the project, or a root that does not exist, is an error.
pub fn crate_root(manifest: &str, root: &Path) -> Result<String, BadInput> {
    let manifest_path = root.join("Cargo.toml");
    let doc = parse_manifest(manifest, &manifest_path)?;
    let lib_path = doc.get("lib").and_then(|lib| lib.get("path"));
    let candidates = match lib_path {
        Some(item) => {
            let (line, col) = crate::text::line_col(manifest, item_offset(item));
            let at = format!("{}:{line}:{col}", names::show_path(&manifest_path));
            let Some(path) = item.as_str() else {
                return Err(BadInput::new(format!("{at}: `[lib] path` is not a string")));
            };
            let normalized = normalize(path);
            let inside = !normalized.is_empty()
                && !normalized.starts_with('/')
                && Path::new(&normalized)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside {
                return Err(BadInput::new(format!(
                    "{at}: `[lib] path` {} is not a file inside the project, so kvgen cannot put modules beside it",
                    show(path)
                )));
            }
            vec![normalized]
        }
        None => vec!["src/lib.rs".to_string(), "src/main.rs".to_string()],
    };
    candidates
        .iter()
        .find(|c| root.join(c).is_file())
        .cloned()
        .ok_or_else(|| {
            BadInput::new(format!(
                "{}: no crate root ({}) to declare the module in",
                names::show_path(root),
                candidates.join(" or ")
            ))
        })
}

/// The folder of the crate root, relative to the project root `root`:
/// `src` for `src/lib.rs`, `worker` for `[lib] path = "worker/lib.rs"`, and
/// the empty string for a crate root at the top of the project. Modules
/// declared in the crate root (`mod kv;`) live in this folder (`src/kv/`).
pub fn rust_module_parent(root: &Path) -> Result<String, BadInput> {
    let manifest_path = root.join("Cargo.toml");
    let manifest = read_optional(&manifest_path)?.ok_or_else(|| {
        BadInput::new(format!(
            "{}: no Cargo.toml next to the Wrangler config; a Rust Worker needs one",
            names::show_path(root)
        ))
    })?;
    let crate_root = crate_root(&manifest, root)?;
    Ok(crate_root
        .rsplit_once('/')
        .map_or(String::new(), |(parent, _)| parent.to_string()))
}

/// The oldest `worker` (workers-rs) release the generated modules compile
/// with, as (major, minor).
pub const OLDEST_WORKER: (u64, u64) = (0, 5);

/// The `worker` release kvgen adds to a crate that has none, and the newest
/// whose API the templates know: later releases get its code.
pub const NEWEST_WORKER: (u64, u64) = (0, 8);

/// The `worker` release a crate builds with, as far as its manifests and
/// lock file tell, and where kvgen read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerVersion {
    /// (major, minor) of the release cargo builds with: the one Cargo.lock
    /// resolved, else the newest the requirement admits (what cargo would
    /// resolve).
    pub release: (u64, u64),
    /// What was read, for messages: `0.5.2` (a locked or path version) or
    /// `"0.5"` (a requirement).
    pub found: String,
    /// The file it was read from and where in it.
    pub file: std::path::PathBuf,
    pub line: usize,
    pub col: usize,
}

impl WorkerVersion {
    /// The minor release the templates are rendered for: the crate's, or
    /// [`NEWEST_WORKER`]'s for anything newer (1.0 included).
    pub fn template_minor(&self) -> u64 {
        if self.release >= NEWEST_WORKER {
            NEWEST_WORKER.1
        } else {
            self.release.1
        }
    }
}

/// Reads which `worker` release the crate in `root` builds with: the entry
/// in `[dependencies]` or a `[target.….dependencies]` table (also under
/// another name with `package = "worker"`, and `workspace = true` resolved
/// in the workspace manifest above), then the version Cargo.lock (next to
/// the crate or at the workspace root) resolved for it when the lock still
/// satisfies the requirement. A `path` dependency without a version reads
/// the version of the crate it points to; a `git` one without a lock is
/// taken to be current, as cargo would fetch the branch's head.
///
/// `None` when the crate has no `worker` dependency (kvgen adds
/// [`NEWEST_WORKER`]) or its release cannot be told.
pub fn worker_version(root: &Path) -> Result<Option<WorkerVersion>, BadInput> {
    let manifest_path = root.join("Cargo.toml");
    let Some(manifest) = read_optional(&manifest_path)? else {
        return Ok(None);
    };
    let doc = parse_manifest(&manifest, &manifest_path)?;
    let Some((entry, offset)) = find_worker(&doc) else {
        return Ok(None);
    };
    let workspace_root = workspace_root(root, &doc)?;
    let (declared, declared_in, declared_text, offset) = if entry
        .get("workspace")
        .and_then(|w| w.as_bool())
        == Some(true)
    {
        let Some((ws_dir, ws_text)) = &workspace_root else {
            let (line, col) = crate::text::line_col(&manifest, offset);
            return Err(BadInput::new(format!(
                "{}:{line}:{col}: `worker` is declared with `workspace = true`, but no workspace manifest above declares it",
                names::show_path(&manifest_path)
            )));
        };
        let ws_path = ws_dir.join("Cargo.toml");
        let ws_doc = parse_manifest(ws_text, &ws_path)?;
        let found = ws_doc
            .get("workspace")
            .and_then(|w| w.get("dependencies"))
            .and_then(|d| d.as_table_like())
            .and_then(|d| d.get("worker").map(|e| (e.clone(), item_offset(e))));
        let Some((ws_entry, ws_offset)) = found else {
            let (line, col) = crate::text::line_col(&manifest, offset);
            return Err(BadInput::new(format!(
                "{}:{line}:{col}: `worker` is declared with `workspace = true`, but {} has no `[workspace.dependencies]` entry for it",
                names::show_path(&manifest_path),
                names::show_path(&ws_path)
            )));
        };
        (
            declared(&ws_entry, ws_dir, ws_text, ws_offset, &ws_path)?,
            ws_path,
            ws_text.clone(),
            ws_offset,
        )
    } else {
        (
            declared(entry, root, &manifest, offset, &manifest_path)?,
            manifest_path.clone(),
            manifest.clone(),
            offset,
        )
    };
    let lock_dir = workspace_root
        .as_ref()
        .map_or(root, |(dir, _)| dir.as_path());
    let lock_path = lock_dir.join("Cargo.lock");
    if let Some(lock) = read_optional(&lock_path)? {
        let requirement = match &declared {
            Declared::Requirement(req, _) => Some(req),
            _ => None,
        };
        if let Some((version, offset)) = locked_worker(&lock, requirement) {
            let (line, col) = crate::text::line_col(&lock, offset);
            return Ok(Some(WorkerVersion {
                release: (version.major, version.minor),
                found: version.to_string(),
                file: lock_path,
                line,
                col,
            }));
        }
    }
    let (line, col) = crate::text::line_col(&declared_text, offset);
    let at = |release: (u64, u64), found: String| WorkerVersion {
        release,
        found,
        file: declared_in.clone(),
        line,
        col,
    };
    Ok(match declared {
        Declared::Requirement(req, text) => newest_admitted(&req).map(|v| at(v, show(&text))),
        Declared::Version(version) => Some(at((version.major, version.minor), version.to_string())),
        Declared::Unknown => None,
    })
}

/// Refuses a crate whose `worker` is older than [`OLDEST_WORKER`]: the
/// modules would not compile there. Returns the minor release to render
/// the templates for.
pub fn check_worker_version(root: &Path) -> Result<u64, BadInput> {
    let Some(version) = worker_version(root)? else {
        return Ok(NEWEST_WORKER.1);
    };
    if version.release < OLDEST_WORKER {
        let (major, minor) = OLDEST_WORKER;
        let (new_major, new_minor) = NEWEST_WORKER;
        return Err(BadInput::new(format!(
            "{}:{}:{}: this crate builds with `worker` {}, and kvgen's Rust modules need `worker` {major}.{minor} or later; require a newer one in Cargo.toml (e.g. `worker = \"{new_major}.{new_minor}\"`), run `cargo update -p worker`, and run kvgen again",
            names::show_path(&version.file),
            version.line,
            version.col,
            version.found,
        )));
    }
    Ok(version.template_minor())
}

/// What a `worker` dependency entry says about its release.
enum Declared {
    /// A version requirement, and its text.
    Requirement(semver::VersionReq, String),
    /// The exact version of a `path` dependency's crate.
    Version(semver::Version),
    /// A `git` dependency without a version.
    Unknown,
}

fn declared(
    entry: &Item,
    dir: &Path,
    text: &str,
    offset: usize,
    file: &Path,
) -> Result<Declared, BadInput> {
    let bad = |why: String| {
        let (line, col) = crate::text::line_col(text, offset);
        BadInput::new(format!("{}:{line}:{col}: {why}", names::show_path(file)))
    };
    let requirement = entry
        .as_str()
        .or_else(|| entry.get("version").and_then(|v| v.as_str()));
    if let Some(requirement) = requirement {
        return semver::VersionReq::parse(requirement)
            .map(|req| Declared::Requirement(req, requirement.to_string()))
            .map_err(|e| {
                bad(format!(
                    "`worker` version requirement {}: {e}",
                    show(requirement)
                ))
            });
    }
    if let Some(path) = entry.get("path").and_then(|p| p.as_str()) {
        let crate_manifest = dir.join(path).join("Cargo.toml");
        let version = read_optional(&crate_manifest)?
            .and_then(|text| text.parse::<DocumentMut>().ok())
            .and_then(|doc| {
                doc.get("package")?
                    .get("version")?
                    .as_str()
                    .and_then(|v| semver::Version::parse(v).ok())
            });
        return Ok(version.map_or(Declared::Unknown, Declared::Version));
    }
    Ok(Declared::Unknown)
}

/// A string shown in a message the way TOML writes it.
fn show(text: &str) -> String {
    format!("{text:?}")
}

/// The newest (major, minor) a requirement admits: what cargo resolves
/// without a lock file. `None` when it admits no release at all.
fn newest_admitted(req: &semver::VersionReq) -> Option<(u64, u64)> {
    const HIGH: u64 = 999_999;
    let mut candidates: Vec<semver::Version> = req
        .comparators
        .iter()
        .map(|c| semver::Version {
            major: c.major,
            minor: c.minor.unwrap_or(0),
            patch: c.patch.unwrap_or(0),
            pre: c.pre.clone(),
            build: semver::BuildMetadata::EMPTY,
        })
        .collect();
    for major in 0..=9 {
        for minor in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, HIGH] {
            if major > 0 && minor > 0 && minor < HIGH {
                continue;
            }
            for patch in [0, HIGH] {
                candidates.push(semver::Version::new(major, minor, patch));
            }
        }
    }
    candidates
        .into_iter()
        .filter(|v| req.matches(v))
        .max()
        .map(|v| (v.major, v.minor))
}

/// The `worker` entry of a manifest and where its key starts:
/// `[dependencies]`, then the target-specific tables, by name or by
/// `package = "worker"`.
fn find_worker(doc: &toml_edit::Document<String>) -> Option<(&Item, usize)> {
    let targets = doc
        .get("target")
        .and_then(|t| t.as_table_like())
        .into_iter()
        .flat_map(|targets| targets.iter().map(|(_, target)| target.get("dependencies")));
    for deps in std::iter::once(doc.get("dependencies"))
        .chain(targets)
        .flatten()
    {
        let Some(deps) = deps.as_table_like() else {
            continue;
        };
        for (name, entry) in deps.iter() {
            let package = entry.get("package").and_then(|p| p.as_str());
            if package == Some("worker") || (package.is_none() && name == "worker") {
                let key = deps.get_key_value(name).and_then(|(key, _)| key.span());
                let offset = key.or_else(|| entry.span()).map_or(0, |s| s.start);
                return Some((entry, offset));
            }
        }
    }
    None
}

/// Where an item starts in its file; 0 when unknown.
fn item_offset(item: &Item) -> usize {
    item.span().map_or(0, |s| s.start)
}

/// Parses a manifest, keeping positions; a manifest that does not parse is
/// an error at its line and column.
fn parse_manifest(text: &str, path: &Path) -> Result<toml_edit::Document<String>, BadInput> {
    toml_edit::Document::parse(text.to_string()).map_err(|e| {
        let (line, col) = crate::text::line_col(text, e.span().map_or(0, |s| s.start));
        BadInput::new(format!(
            "{}:{line}:{col}: invalid TOML: {}",
            names::show_path(path),
            e.message().trim()
        ))
    })
}

/// A file's text; `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, BadInput> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BadInput::new(format!(
            "{}: cannot read: {e}",
            names::show_path(path)
        ))),
    }
}

/// The workspace the crate in `root` belongs to, as cargo finds it: the
/// folder named by `package.workspace`, else the nearest folder above
/// whose Cargo.toml has a `[workspace]` (the crate's own included), with
/// that manifest's text. `None` for a crate outside any workspace.
fn workspace_root(
    root: &Path,
    doc: &toml_edit::Document<String>,
) -> Result<Option<(std::path::PathBuf, String)>, BadInput> {
    if doc.get("workspace").is_some() {
        let text = doc.raw().to_string();
        return Ok(Some((root.to_path_buf(), text)));
    }
    if let Some(dir) = doc
        .get("package")
        .and_then(|p| p.get("workspace"))
        .and_then(|w| w.as_str())
    {
        let dir = root.join(dir);
        return Ok(read_optional(&dir.join("Cargo.toml"))?.map(|text| (dir, text)));
    }
    for dir in root.ancestors().skip(1) {
        let path = dir.join("Cargo.toml");
        if let Some(text) = read_optional(&path)?
            && text
                .parse::<DocumentMut>()
                .is_ok_and(|doc| doc.get("workspace").is_some())
        {
            return Ok(Some((dir.to_path_buf(), text)));
        }
    }
    Ok(None)
}

/// The `worker` version Cargo.lock resolved, and where its entry starts:
/// of the locked ones that satisfy `requirement` (all of them without
/// one), the oldest. `None` when there is none: a lock that no longer
/// satisfies the requirement is re-resolved by cargo.
fn locked_worker(
    lock: &str,
    requirement: Option<&semver::VersionReq>,
) -> Option<(semver::Version, usize)> {
    let doc = toml_edit::Document::parse(lock.to_string()).ok()?;
    let packages = doc.get("package")?.as_array_of_tables()?;
    packages
        .iter()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some("worker"))
        .filter_map(|p| {
            let version = p.get("version")?;
            let parsed = semver::Version::parse(version.as_str()?).ok()?;
            let offset = p.get("name").and_then(|n| n.span()).map_or(0, |s| s.start);
            Some((parsed, offset))
        })
        .filter(|(version, _)| requirement.is_none_or(|req| req.matches(version)))
        .min_by(|a, b| a.0.cmp(&b.0))
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
            ensure_mod_declaration(with_mods, "kv").unwrap().text,
            "use worker::*;\n\nmod router;\nmod utils;\nmod kv;\n\n#[event(fetch)]\nasync fn f() {}\n"
        );
        let plain = "use worker::*;\n\n#[event(fetch)]\nasync fn f() {}\n";
        assert_eq!(
            ensure_mod_declaration(plain, "kv").unwrap().text,
            format!("mod kv;\n\n{plain}")
        );
        let header = "//! My worker.\n#![allow(unused)]\n\nuse worker::*;\n";
        assert_eq!(
            ensure_mod_declaration(header, "kv").unwrap().text,
            "//! My worker.\n#![allow(unused)]\n\nmod kv;\n\nuse worker::*;\n"
        );
        let declared = "pub mod kv;\nuse worker::*;\n";
        assert_eq!(
            ensure_mod_declaration(declared, "kv").unwrap().status,
            EditStatus::Unchanged
        );
        let crlf = "use worker::*;\r\n";
        assert_eq!(
            ensure_mod_declaration(crlf, "kv").unwrap().text,
            "mod kv;\r\n\r\nuse worker::*;\r\n"
        );
    }

    #[test]
    fn module_lists_are_created_or_extended_in_sorted_place() {
        let created = ensure_module_list(None, &["store", "keys", "limits"]).unwrap();
        assert!(
            created
                .text
                .ends_with("\npub mod keys;\npub mod limits;\npub mod store;\n")
        );
        let mine = "pub mod keys;\npub mod store;\n\npub fn mine() {}\n";
        let edit = ensure_module_list(Some(mine), &["keys", "limits", "store"]).unwrap();
        assert_eq!(
            edit.text,
            "pub mod keys;\npub mod limits;\npub mod store;\n\npub fn mine() {}\n"
        );
        assert_eq!(
            ensure_module_list(Some(&edit.text), &["keys", "limits", "store"])
                .unwrap()
                .status,
            EditStatus::Unchanged
        );
    }

    /// The crate root after adding `mod kv;`, checked to parse.
    fn with_kv(source: &str) -> String {
        let edit = ensure_mod_declaration(source, "kv").unwrap();
        assert_eq!(edit.status, EditStatus::Changed, "{source:?}");
        let body = Text::new(&edit.text).lf().into_owned();
        let rust = Rust::parse(&body).unwrap();
        assert!(rust.declares(&body, "kv", "kv/mod.rs").unwrap());
        let again = ensure_mod_declaration(&edit.text, "kv").unwrap();
        assert_eq!(again.status, EditStatus::Unchanged, "{source:?}");
        edit.text
    }

    #[test]
    fn mod_declaration_goes_after_multi_line_inner_attributes_and_docs() {
        assert_eq!(
            with_kv(
                "#![allow(\n    clippy::new_without_default,\n    unused,\n)]\nuse worker::*;\n"
            ),
            "#![allow(\n    clippy::new_without_default,\n    unused,\n)]\n\nmod kv;\n\nuse worker::*;\n"
        );
        assert_eq!(
            with_kv(
                "/*! The worker.\n\n   More about it. */\n#![deny(\n    missing_docs\n)]\n\nuse worker::*;\n"
            ),
            "/*! The worker.\n\n   More about it. */\n#![deny(\n    missing_docs\n)]\n\nmod kv;\n\nuse worker::*;\n"
        );
        assert_eq!(
            with_kv("//! A.\n//!\n//! B.\n#![allow(unused)] // for now\nuse worker::*;\n"),
            "//! A.\n//!\n//! B.\n#![allow(unused)] // for now\n\nmod kv;\n\nuse worker::*;\n"
        );
        assert_eq!(
            with_kv("// Licence.\n#![allow(unused)]\nfn f() {}"),
            "// Licence.\n#![allow(unused)]\n\nmod kv;\n\nfn f() {}"
        );
        assert_eq!(
            with_kv("#!/usr/bin/env rust-script\nfn main() {}\n"),
            "#!/usr/bin/env rust-script\n\nmod kv;\n\nfn main() {}\n"
        );
        assert_eq!(with_kv("#![no_std]"), "#![no_std]\n\nmod kv;");
    }

    #[test]
    fn mod_declaration_after_leading_comments_and_never_inside_one() {
        assert_eq!(
            with_kv("// SPDX-License-Identifier: MIT\n\nuse worker::*;\n"),
            "// SPDX-License-Identifier: MIT\n\nmod kv;\n\nuse worker::*;\n"
        );
        assert_eq!(
            with_kv("// Licence.\n\n// The imports.\nuse worker::*;\n"),
            "// Licence.\n\nmod kv;\n\n// The imports.\nuse worker::*;\n"
        );
        // A blank line inside a block comment is not a place for it.
        assert_eq!(
            with_kv("/* Licence.\n\n   mod old;\n*/\nuse worker::*;\n"),
            "mod kv;\n\n/* Licence.\n\n   mod old;\n*/\nuse worker::*;\n"
        );
        assert_eq!(with_kv(""), "mod kv;\n");
        assert_eq!(with_kv("use a;"), "mod kv;\n\nuse a;");
    }

    #[test]
    fn mod_declaration_follows_the_last_top_level_declaration() {
        assert_eq!(
            with_kv("mod a; // the router\nfn f() {}\n"),
            "mod a; // the router\nmod kv;\nfn f() {}\n"
        );
        assert_eq!(with_kv("mod a; fn f() {}\n"), "mod a;\nmod kv; fn f() {}\n");
        assert_eq!(
            with_kv("#[cfg(\n    feature = \"x\"\n)]\nmod a;\n\nfn f() {}\n"),
            "#[cfg(\n    feature = \"x\"\n)]\nmod a;\nmod kv;\n\nfn f() {}\n"
        );
        assert_eq!(with_kv("mod a;"), "mod a;\nmod kv;");
        // Declarations that are not top-level ones, in comments, strings or
        // inline modules, do not count.
        assert_eq!(
            with_kv("/*\nmod kv;\n*/\nconst S: &str = \"mod kv;\";\nmod outer {\n    mod kv;\n}\n"),
            "mod kv;\n\n/*\nmod kv;\n*/\nconst S: &str = \"mod kv;\";\nmod outer {\n    mod kv;\n}\n"
        );
    }

    #[test]
    fn mod_declaration_keeps_crlf_and_the_bom() {
        assert_eq!(
            with_kv("\u{feff}//! Doc.\r\n#![allow(\r\n    unused\r\n)]\r\nuse a;\r\n"),
            "\u{feff}//! Doc.\r\n#![allow(\r\n    unused\r\n)]\r\n\r\nmod kv;\r\n\r\nuse a;\r\n"
        );
        assert_eq!(
            with_kv("\u{feff}mod a;\r\nuse b;\r\n"),
            "\u{feff}mod a;\r\nmod kv;\r\nuse b;\r\n"
        );
    }

    #[test]
    fn every_form_of_an_existing_declaration_is_recognised() {
        for declared in [
            "mod kv;\n",
            "pub mod kv;\n",
            "pub(crate) mod kv;\n",
            "#[cfg(target_arch = \"wasm32\")]\nmod kv;\n",
            "#[path = \"kv/mod.rs\"] mod kv;\n",
            "#[path = \"./kv/mod.rs\"]\npub mod kv;\n",
            "/// KV.\n#[allow(dead_code)] mod kv;\n",
            "use worker::*;\nuse worker::kv as store;\nmod kv;\n",
        ] {
            let edit = ensure_mod_declaration(declared, "kv").unwrap();
            assert_eq!(edit.status, EditStatus::Unchanged, "{declared:?}");
            assert_eq!(edit.text, declared);
        }
    }

    #[test]
    fn a_kv_the_crate_uses_otherwise_is_an_error_at_its_place() {
        for (source, line, col, says) in [
            ("use a;\n\nmod kv {\n    fn f() {}\n}\n", 3, 1, "inline"),
            (
                "#[path = \"storage.rs\"]\nmod kv;\n",
                1,
                1,
                "\"storage.rs\"",
            ),
            ("use worker::*;\n  use worker::kv;\n", 2, 3, "`use`"),
            ("use worker::{kv::{self}, Env};\n", 1, 1, "`use`"),
            ("use store as kv;\n", 1, 1, "`use`"),
            ("extern crate kv;\n", 1, 1, "extern crate"),
            ("struct kv;\n", 1, 1, "a struct"),
        ] {
            let error = ensure_mod_declaration(source, "kv").unwrap_err();
            assert_eq!((error.line, error.col), (line, col), "{source:?}: {error}");
            assert!(error.message.contains(says), "{source:?}: {error}");
            assert!(error.message.contains("--dir"), "{source:?}: {error}");
        }
        // A glob import does not clash: the declared module shadows it.
        assert_eq!(with_kv("use worker::*;\n"), "mod kv;\n\nuse worker::*;\n");
    }

    #[test]
    fn a_crate_root_that_does_not_parse_is_an_error_at_its_line_and_column() {
        let error =
            ensure_mod_declaration("use a;\nfn main() {\n    let x = ;\n}\n", "kv").unwrap_err();
        assert_eq!((error.line, error.col), (3, 13), "{error}");
        assert!(
            error.message.starts_with("does not parse as Rust: "),
            "{error}"
        );
        let error =
            ensure_mod_declaration("fn main() {\n    let s = \"open;\n}\n", "kv").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        // With a BOM and CRLF, lines and columns are still those an editor
        // shows.
        let error = ensure_mod_declaration("\u{feff}use a;\r\n\r\nfn f( {}\r\n", "kv").unwrap_err();
        assert_eq!(error.line, 3, "{error}");
        let error = ensure_mod_declaration("#![allow(unused)\nuse a;\n", "kv").unwrap_err();
        assert_eq!(error.line, 1, "{error}");
    }

    /// The module list after adding `modules`, checked to parse.
    fn listed(source: &str, modules: &[&str]) -> String {
        let edit = ensure_module_list(Some(source), modules).unwrap();
        let body = Text::new(&edit.text).lf().into_owned();
        let rust = Rust::parse(&body).unwrap();
        for module in modules {
            assert!(
                rust.declares(&body, module, &format!("{module}.rs"))
                    .unwrap()
            );
        }
        let again = ensure_module_list(Some(&edit.text), modules).unwrap();
        assert_eq!(again.status, EditStatus::Unchanged, "{source:?}");
        edit.text
    }

    #[test]
    fn module_lists_are_read_with_a_rust_parser() {
        let modules = ["keys", "limits", "store"];
        // A declaration in a comment is not one.
        assert_eq!(
            listed("/*\npub mod store;\n*/\npub mod keys;\n", &modules),
            "/*\npub mod store;\n*/\npub mod keys;\npub mod limits;\npub mod store;\n"
        );
        // Attributes and docs stay with the declaration they belong to.
        assert_eq!(
            listed(
                "pub mod keys;\n/// The store.\n#[cfg(\n    feature = \"kv\"\n)]\npub mod store;\n",
                &modules
            ),
            "pub mod keys;\npub mod limits;\n/// The store.\n#[cfg(\n    feature = \"kv\"\n)]\npub mod store;\n"
        );
        assert_eq!(
            listed("\u{feff}pub mod keys;\r\npub mod store;", &modules),
            "\u{feff}pub mod keys;\r\npub mod limits;\r\npub mod store;"
        );
        assert_eq!(
            listed("pub fn mine() {}", &["store"]),
            "pub fn mine() {}\npub mod store;"
        );
        assert_eq!(
            listed("// Mine.\n", &["keys", "store"]),
            "// Mine.\npub mod keys;\npub mod store;\n"
        );
        assert_eq!(
            listed("mod b; mod d;\n", &["c"]),
            "mod b; pub mod c; mod d;\n"
        );
    }

    #[test]
    fn a_module_list_that_cannot_hold_the_modules_is_an_error() {
        for (source, line, says) in [
            ("pub mod keys;\npub mod store {\n}\n", 2, "inline"),
            (
                "#[path = \"other.rs\"]\npub mod store;\n",
                1,
                "\"other.rs\"",
            ),
            ("pub use crate::storage as store;\n", 1, "`use`"),
            ("pub mod keys;\npub fn f() {\n", 2, "does not parse"),
        ] {
            let error = ensure_module_list(Some(source), &["store"]).unwrap_err();
            assert_eq!(error.line, line, "{source:?}: {error}");
            assert!(error.message.contains(says), "{source:?}: {error}");
        }
        let fine = "#[path = \"./store.rs\"]\npub mod store;\n";
        let edit = ensure_module_list(Some(fine), &["store"]).unwrap();
        assert_eq!(edit.status, EditStatus::Unchanged);
    }

    #[test]
    fn dependency_edits_keep_comments_and_multi_line_lists() {
        let edit = ensure_dependencies(
            "[dependencies]\nworker = \"0.8\" # the runtime\n# more to come\n",
            &[SERDE_JSON],
        )
        .unwrap();
        assert_eq!(
            edit.text,
            "[dependencies]\nserde_json = \"1\"\nworker = \"0.8\" # the runtime\n# more to come\n"
        );
        let multi_line = |list: &str| {
            ensure_dependencies(
                &format!("[dependencies]\nserde = {{ version = \"1\", features = {list} }}\n"),
                &[SERDE],
            )
            .unwrap()
            .text
        };
        assert_eq!(
            multi_line("[\n  \"rc\", # shared pointers\n]"),
            "[dependencies]\nserde = { version = \"1\", features = [\n  \"rc\", # shared pointers\n  \"derive\",\n] }\n"
        );
        assert_eq!(
            multi_line("[\n    \"rc\" # shared pointers\n]"),
            "[dependencies]\nserde = { version = \"1\", features = [\n    \"rc\", # shared pointers\n    \"derive\"\n] }\n"
        );
        assert_eq!(
            multi_line("[\n  \"rc\",\n  \"std\",\n  ]"),
            "[dependencies]\nserde = { version = \"1\", features = [\n  \"rc\",\n  \"std\",\n  \"derive\",\n  ] }\n"
        );
        assert_eq!(
            multi_line("[\"rc\"]"),
            "[dependencies]\nserde = { version = \"1\", features = [\"rc\", \"derive\"] }\n"
        );
        let table = ensure_dependencies(
            "[dependencies.serde]\nversion = \"1\" # pinned by hand\nfeatures = [\n    \"rc\",\n]\n",
            &[SERDE],
        )
        .unwrap();
        assert_eq!(
            table.text,
            "[dependencies.serde]\nversion = \"1\" # pinned by hand\nfeatures = [\n    \"rc\",\n    \"derive\",\n]\n"
        );
    }

    #[test]
    fn dependency_edits_keep_crlf_the_bom_and_a_missing_final_newline() {
        let edit = ensure_dependencies(
            "\u{feff}[package]\r\nname = \"w\"\r\n\r\n[dependencies]\r\nworker = \"0.8\"\r\n",
            &[SERDE_JSON],
        )
        .unwrap();
        assert_eq!(
            edit.text,
            "\u{feff}[package]\r\nname = \"w\"\r\n\r\n[dependencies]\r\nserde_json = \"1\"\r\nworker = \"0.8\"\r\n"
        );
        let edit = ensure_dependencies("[dependencies]\nworker = \"0.8\"", &[SERDE_JSON]).unwrap();
        assert_eq!(
            edit.text,
            "[dependencies]\nserde_json = \"1\"\nworker = \"0.8\""
        );
        let edit = ensure_dependencies("[package]\nname = \"w\"", &[SERDE_JSON]).unwrap();
        assert_eq!(
            edit.text,
            "[package]\nname = \"w\"\n\n[dependencies]\nserde_json = \"1\""
        );
    }

    #[test]
    fn dependencies_written_inline_or_dotted_are_extended_in_their_style() {
        let inline = ensure_dependencies(
            "dependencies = { worker = \"0.8\" }\n",
            &[SERDE, SERDE_JSON],
        )
        .unwrap();
        assert_eq!(
            inline.text,
            "dependencies = { serde = { version = \"1\", features = [\"derive\"] }, serde_json = \"1\", worker = \"0.8\" }\n"
        );
        let dotted = ensure_dependencies("dependencies.worker = \"0.8\"\n", &[SERDE_JSON]).unwrap();
        assert_eq!(
            dotted.text,
            "dependencies.serde_json = \"1\"\ndependencies.worker = \"0.8\"\n"
        );
        let workspace =
            ensure_dependencies("[dependencies]\nserde = { workspace = true }\n", &[SERDE])
                .unwrap();
        assert_eq!(
            workspace.text,
            "[dependencies]\nserde = { workspace = true, features = [\"derive\"] }\n"
        );
    }

    #[test]
    fn manifests_kvgen_cannot_extend_are_errors_at_their_place() {
        let error = ensure_dependencies(
            "[package]\nname = \"w\"\n\n[dependencies]\nserde = { version = \"1\", features = \"derive\" }\n",
            &[SERDE],
        )
        .unwrap_err();
        assert_eq!((error.line, error.col), (5, 37), "{error}");
        assert!(error.message.contains("`serde`"), "{error}");
        let error = ensure_dependencies("name = \"w\"\ndependencies = 3\n[package]\n", &[SERDE])
            .unwrap_err();
        assert_eq!((error.line, error.col), (2, 16), "{error}");
        let error = ensure_dependencies("[dependencies\nworker = \"0.8\"\n", &[SERDE]).unwrap_err();
        assert_eq!(error.line, 1, "{error}");
        assert!(error.message.starts_with("invalid TOML"), "{error}");
    }

    /// A project folder with `files` (path, text) written in it.
    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const LOCK_0_6: &str = "version = 4\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.200\"\n\n[[package]]\nname = \"worker\"\nversion = \"0.6.7\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

    #[test]
    fn the_requirement_alone_gives_the_newest_release_it_admits() {
        for (requirement, release) in [
            ("\"0.5\"", (0, 5)),
            ("\"^0.7.2\"", (0, 7)),
            ("\"~0.6\"", (0, 6)),
            ("\"=0.5.0\"", (0, 5)),
            ("\">=0.4, <0.7\"", (0, 6)),
            ("\">=0.4\"", (9, 999_999)),
            ("{ version = \"0.8\", features = [\"http\"] }", (0, 8)),
        ] {
            let dir = project(&[(
                "Cargo.toml",
                &format!("[package]\nname = \"w\"\n\n[dependencies]\nworker = {requirement}\n"),
            )]);
            let found = worker_version(dir.path()).unwrap().unwrap();
            assert_eq!(found.release, release, "{requirement}");
            assert_eq!((found.line, found.col), (5, 1), "{requirement}");
            assert!(found.file.ends_with("Cargo.toml"));
        }
    }

    #[test]
    fn the_lock_decides_when_it_satisfies_the_requirement() {
        let manifest = "[package]\nname = \"w\"\n\n[dependencies]\nworker = \">=0.5\"\n";
        let dir = project(&[("Cargo.toml", manifest), ("Cargo.lock", LOCK_0_6)]);
        let found = worker_version(dir.path()).unwrap().unwrap();
        assert_eq!(found.release, (0, 6));
        assert_eq!(found.found, "0.6.7");
        assert!(found.file.ends_with("Cargo.lock"));
        assert_eq!(found.line, 8);
        // A lock that no longer satisfies the requirement is re-resolved by cargo.
        let manifest = "[package]\nname = \"w\"\n\n[dependencies]\nworker = \"0.8\"\n";
        let dir = project(&[("Cargo.toml", manifest), ("Cargo.lock", LOCK_0_6)]);
        let found = worker_version(dir.path()).unwrap().unwrap();
        assert_eq!(found.release, (0, 8));
        assert!(found.file.ends_with("Cargo.toml"));
    }

    #[test]
    fn target_tables_renames_workspaces_and_paths_are_followed() {
        let target = "[package]\nname = \"w\"\n\n[target.'cfg(target_arch = \"wasm32\")'.dependencies]\nworker = \"0.6\"\n";
        let dir = project(&[("Cargo.toml", target)]);
        assert_eq!(worker_version(dir.path()).unwrap().unwrap().release, (0, 6));

        let renamed = "[dependencies]\nworkers = { package = \"worker\", version = \"0.5.1\" }\n";
        let dir = project(&[("Cargo.toml", renamed)]);
        assert_eq!(worker_version(dir.path()).unwrap().unwrap().release, (0, 5));

        // `workspace = true`: the requirement and the lock are the workspace's.
        let dir = project(&[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"worker\"]\n\n[workspace.dependencies]\nworker = \"0.6\"\n",
            ),
            ("Cargo.lock", LOCK_0_6),
            (
                "worker/Cargo.toml",
                "[package]\nname = \"w\"\n\n[dependencies]\nworker.workspace = true\n",
            ),
        ]);
        let found = worker_version(&dir.path().join("worker")).unwrap().unwrap();
        assert_eq!((found.release, found.found.as_str()), ((0, 6), "0.6.7"));
        assert_eq!(found.file, dir.path().join("Cargo.lock"));

        // A path dependency without a version: the version of the crate it points to.
        let dir = project(&[
            (
                "Cargo.toml",
                "[dependencies]\nworker = { path = \"vendor/worker\" }\n",
            ),
            (
                "vendor/worker/Cargo.toml",
                "[package]\nname = \"worker\"\nversion = \"0.7.1\"\n",
            ),
        ]);
        let found = worker_version(dir.path()).unwrap().unwrap();
        assert_eq!((found.release, found.found.as_str()), ((0, 7), "0.7.1"));

        // A git dependency without a version or lock cannot be told: the current API.
        let git =
            "[dependencies]\nworker = { git = \"https://github.com/cloudflare/workers-rs\" }\n";
        let dir = project(&[("Cargo.toml", git)]);
        assert_eq!(worker_version(dir.path()).unwrap(), None);
        assert_eq!(check_worker_version(dir.path()).unwrap(), NEWEST_WORKER.1);
        // No `worker` at all: kvgen adds the current one.
        let dir = project(&[("Cargo.toml", "[package]\nname = \"w\"\n")]);
        assert_eq!(check_worker_version(dir.path()).unwrap(), NEWEST_WORKER.1);
    }

    #[test]
    fn a_workspace_dependency_without_a_workspace_is_an_error() {
        let dir = project(&[(
            "Cargo.toml",
            "[package]\nname = \"w\"\n\n[dependencies]\nworker = { workspace = true }\n",
        )]);
        let error = worker_version(dir.path()).unwrap_err().to_string();
        assert!(error.contains("Cargo.toml:5:1: `worker` is declared with `workspace = true`, but no workspace manifest above declares it"), "{error}");
    }

    #[test]
    fn releases_are_checked_against_the_supported_range() {
        let at = |requirement: &str| {
            let dir = project(&[(
                "Cargo.toml",
                &format!("[package]\nname = \"w\"\n\n[dependencies]\nworker = \"{requirement}\"\n"),
            )]);
            check_worker_version(dir.path()).map_err(|e| e.to_string())
        };
        assert_eq!(at("0.8"), Ok(8));
        assert_eq!(at("0.8.7"), Ok(8));
        assert_eq!(at("0.7"), Ok(7));
        assert_eq!(at("0.6"), Ok(6));
        assert_eq!(at("0.5"), Ok(5));
        assert_eq!(at("=0.5.0"), Ok(5));
        // Newer than kvgen knows: the newest code it has.
        assert_eq!(at("0.9"), Ok(8));
        assert_eq!(at("1"), Ok(8));
        let error = at("0.4").unwrap_err();
        assert!(error.contains("Cargo.toml:5:1: this crate builds with `worker` \"0.4\", and kvgen's Rust modules need `worker` 0.5 or later"), "{error}");
        assert!(
            error.contains("`worker = \"0.8\"`") && error.contains("cargo update -p worker"),
            "{error}"
        );
        // The locked version is the one named.
        let lock = LOCK_0_6.replace("0.6.7", "0.4.2");
        let dir = project(&[
            ("Cargo.toml", "[dependencies]\nworker = \"0.4\"\n"),
            ("Cargo.lock", &lock),
        ]);
        let error = check_worker_version(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("Cargo.lock:8:8: this crate builds with `worker` 0.4.2,"),
            "{error}"
        );
        // A requirement that is not one is an error at its place.
        let error = at("zero point eight").unwrap_err();
        assert!(
            error.contains("Cargo.toml:5:1: `worker` version requirement \"zero point eight\":"),
            "{error}"
        );
    }

    #[test]
    fn the_module_parent_is_the_crate_roots_folder() {
        let lib = "use worker::*;\n";
        let dir = project(&[
            ("Cargo.toml", "[package]\nname = \"w\"\n"),
            ("src/lib.rs", lib),
        ]);
        assert_eq!(rust_module_parent(dir.path()).unwrap(), "src");
        let dir = project(&[
            (
                "Cargo.toml",
                "[lib]\npath = \"./worker/lib.rs\"\ncrate-type = [\"cdylib\"]\n",
            ),
            ("worker/lib.rs", lib),
        ]);
        assert_eq!(rust_module_parent(dir.path()).unwrap(), "worker");
        let dir = project(&[
            ("Cargo.toml", "[lib]\npath = \"lib.rs\"\n"),
            ("lib.rs", lib),
        ]);
        assert_eq!(rust_module_parent(dir.path()).unwrap(), "");
        for outside in ["../lib.rs", "/abs/lib.rs"] {
            let dir = project(&[("Cargo.toml", &format!("[lib]\npath = \"{outside}\"\n"))]);
            let error = rust_module_parent(dir.path()).unwrap_err().to_string();
            assert!(
                error.contains("Cargo.toml:2:8: `[lib] path`")
                    && error.contains("is not a file inside the project"),
                "{error}"
            );
        }
        let dir = project(&[("Cargo.toml", "[lib]\npath = \"worker/lib.rs\"\n")]);
        let error = rust_module_parent(dir.path()).unwrap_err().to_string();
        assert!(
            error.ends_with("no crate root (worker/lib.rs) to declare the module in"),
            "{error}"
        );
    }
}
