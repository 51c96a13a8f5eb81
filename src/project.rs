//! Finding the Worker project kvgen runs in: its Wrangler config, its root,
//! its language and the indentation its TypeScript uses.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::Format;
use crate::error::BadInput;

/// Wrangler's own search order within one folder.
pub const CONFIG_NAMES: [&str; 3] = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"];

/// The language of the generated code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Lang {
    /// TypeScript (a `package.json` or `tsconfig.json` in the project root).
    Ts,
    /// Rust with workers-rs (a `Cargo.toml` that depends on `worker`).
    Rust,
}

/// One level of indentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indent {
    Tab,
    Spaces(usize),
}

impl Indent {
    pub fn unit(self) -> String {
        match self {
            Indent::Tab => "\t".to_string(),
            Indent::Spaces(n) => " ".repeat(n),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    /// The folder that holds the Wrangler config.
    pub root: PathBuf,
    /// The Wrangler config.
    pub config: PathBuf,
    pub format: Format,
    pub lang: Lang,
}

impl Project {
    /// Finds the project from `cwd`: the config given with `--config`, or the
    /// first Wrangler config found walking up from `cwd`.
    pub fn discover(
        cwd: &Path,
        config: Option<&Path>,
        lang: Option<Lang>,
    ) -> Result<Project, BadInput> {
        let config = match config {
            Some(path) => {
                let path = cwd.join(path);
                if !path.is_file() {
                    return Err(BadInput::new(format!(
                        "{}: no such Wrangler config file",
                        path.display()
                    )));
                }
                path
            }
            None => find_config(cwd)?,
        };
        let root = config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf());
        let lang = match lang {
            Some(lang) => lang,
            None => detect_lang(&root)?,
        };
        Ok(Project {
            format: Format::of(&config),
            root,
            config,
            lang,
        })
    }

    /// A path relative to the project root, with `/` separators, for messages.
    pub fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn find_config(cwd: &Path) -> Result<PathBuf, BadInput> {
    for dir in cwd.ancestors() {
        for name in CONFIG_NAMES {
            let path = dir.join(name);
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    Err(BadInput::new(format!(
        "not a Worker project: no {} in {} or any folder above it (run kvgen inside your Worker, or pass --config PATH)",
        CONFIG_NAMES.join(", "),
        cwd.display()
    )))
}

fn detect_lang(root: &Path) -> Result<Lang, BadInput> {
    let cargo = root.join("Cargo.toml");
    if fs::read_to_string(&cargo).is_ok_and(|text| depends_on_worker(&text)) {
        return Ok(Lang::Rust);
    }
    if root.join("package.json").is_file() || root.join("tsconfig.json").is_file() {
        return Ok(Lang::Ts);
    }
    Err(BadInput::new(format!(
        "cannot tell the language of the Worker in {}: no Cargo.toml that depends on `worker`, no package.json, no tsconfig.json (pass --lang ts or --lang rust)",
        root.display()
    )))
}

/// True when a Cargo manifest depends on the `worker` crate, in any
/// dependency table (plain or target-specific).
pub fn depends_on_worker(manifest: &str) -> bool {
    let Ok(doc) = manifest.parse::<toml_edit::DocumentMut>() else {
        return false;
    };
    let has = |table: Option<&toml_edit::Item>| {
        table
            .and_then(toml_edit::Item::as_table_like)
            .is_some_and(|t| t.contains_key("worker"))
    };
    has(doc.get("dependencies"))
        || doc
            .get("target")
            .and_then(toml_edit::Item::as_table_like)
            .is_some_and(|targets| {
                targets
                    .iter()
                    .any(|(_, target)| has(target.get("dependencies")))
            })
}

/// The indentation of the project's TypeScript: `.editorconfig`, then the
/// prettier config, then `biome.json`, then the existing sources; two spaces
/// when nothing says.
pub fn ts_indent(root: &Path) -> Indent {
    editorconfig_indent(root)
        .or_else(|| prettier_indent(root))
        .or_else(|| biome_indent(root))
        .or_else(|| source_indent(&root.join("src")))
        .unwrap_or(Indent::Spaces(2))
}

fn editorconfig_indent(root: &Path) -> Option<Indent> {
    let text = fs::read_to_string(root.join(".editorconfig")).ok()?;
    let mut applies = false;
    let (mut style, mut size) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            applies = section == "*"
                || section.ends_with(".ts")
                || (section.contains('{') && section.contains("ts"));
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !applies {
            continue;
        }
        let value = value.trim().to_ascii_lowercase();
        match key.trim().to_ascii_lowercase().as_str() {
            "indent_style" => style = Some(value),
            "indent_size" => size = value.parse::<usize>().ok(),
            _ => {}
        }
    }
    match style.as_deref() {
        Some("tab") => Some(Indent::Tab),
        Some("space") => Some(Indent::Spaces(size.unwrap_or(2))),
        _ => None,
    }
}

fn json_file(path: &Path) -> Option<serde_json::Value> {
    let text = fs::read_to_string(path).ok()?;
    jsonc_parser::parse_to_serde_value::<serde_json::Value>(&text, &Default::default()).ok()
}

fn prettier_indent(root: &Path) -> Option<Indent> {
    let config = [".prettierrc", ".prettierrc.json", ".prettierrc.json5"]
        .iter()
        .find_map(|name| json_file(&root.join(name)))
        .or_else(|| {
            json_file(&root.join("package.json"))?
                .get("prettier")
                .cloned()
        })?;
    let width = config.get("tabWidth").and_then(|w| w.as_u64()).unwrap_or(2) as usize;
    match config.get("useTabs").and_then(|t| t.as_bool()) {
        Some(true) => Some(Indent::Tab),
        Some(false) => Some(Indent::Spaces(width)),
        None => config.get("tabWidth").map(|_| Indent::Spaces(width)),
    }
}

fn biome_indent(root: &Path) -> Option<Indent> {
    let config = ["biome.json", "biome.jsonc"]
        .iter()
        .find_map(|name| json_file(&root.join(name)))?;
    let formatter = |v: &serde_json::Value| v.get("formatter").cloned();
    let settings = config
        .get("javascript")
        .and_then(formatter)
        .into_iter()
        .chain(formatter(&config));
    for f in settings {
        let width = f.get("indentWidth").and_then(|w| w.as_u64()).unwrap_or(2) as usize;
        match f.get("indentStyle").and_then(|s| s.as_str()) {
            Some("tab") => return Some(Indent::Tab),
            Some("space") => return Some(Indent::Spaces(width)),
            _ => {}
        }
    }
    // Biome's own default is tabs.
    Some(Indent::Tab)
}

/// Looks at the indented lines of up to 20 TypeScript/JavaScript sources.
fn source_indent(src: &Path) -> Option<Indent> {
    let mut files = Vec::new();
    collect_sources(src, &mut files, 2);
    files.sort();
    let (mut tabs, mut spaces) = (0usize, Vec::new());
    for file in files.iter().take(20) {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines() {
            if line.starts_with('\t') {
                tabs += 1;
            } else if line.starts_with(' ') && !line.trim_start().starts_with('*') {
                spaces.push(line.len() - line.trim_start_matches(' ').len());
            }
        }
    }
    if tabs == 0 && spaces.is_empty() {
        return None;
    }
    if tabs >= spaces.len() {
        return Some(Indent::Tab);
    }
    // The smallest indentation used is one level.
    let unit = spaces.iter().copied().filter(|n| *n > 0).min().unwrap_or(2);
    Some(Indent::Spaces(if unit == 4 { 4 } else { 2 }))
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if depth > 0 && path.file_name().is_some_and(|n| n != "node_modules") {
                collect_sources(&path, out, depth - 1);
            }
        } else if path
            .extension()
            .is_some_and(|e| e == "ts" || e == "tsx" || e == "js" || e == "mjs")
        {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn the_config_is_found_walking_up_in_wranglers_order() {
        let dir = project(&[
            ("wrangler.toml", "name = \"x\"\n"),
            ("wrangler.jsonc", "{}\n"),
            ("package.json", "{}"),
            ("src/deep/file.ts", ""),
        ]);
        let found = Project::discover(&dir.path().join("src/deep"), None, None).unwrap();
        assert_eq!(found.config, dir.path().join("wrangler.jsonc"));
        assert_eq!(found.root, dir.path());
        assert_eq!(found.lang, Lang::Ts);
    }

    #[test]
    fn no_config_is_bad_input_naming_what_was_looked_for() {
        let dir = project(&[("package.json", "{}")]);
        let err = Project::discover(dir.path(), None, None).unwrap_err();
        assert!(
            err.0
                .contains("wrangler.json, wrangler.jsonc, wrangler.toml"),
            "{err}"
        );
    }

    #[test]
    fn rust_is_a_manifest_that_depends_on_worker() {
        assert!(depends_on_worker("[dependencies]\nworker = \"0.8\"\n"));
        assert!(depends_on_worker(
            "[target.'cfg(target_arch = \"wasm32\")'.dependencies]\nworker = { version = \"0.8\" }\n"
        ));
        assert!(!depends_on_worker("[dependencies]\nserde = \"1\"\n"));
        let dir = project(&[
            ("wrangler.toml", ""),
            ("Cargo.toml", "[dependencies]\nworker = \"0.8\"\n"),
            ("package.json", "{}"),
        ]);
        assert_eq!(
            Project::discover(dir.path(), None, None).unwrap().lang,
            Lang::Rust
        );
        let dir = project(&[("wrangler.toml", "")]);
        assert!(Project::discover(dir.path(), None, None).is_err());
        assert_eq!(
            Project::discover(dir.path(), None, Some(Lang::Ts))
                .unwrap()
                .lang,
            Lang::Ts
        );
    }

    #[test]
    fn indentation_comes_from_the_first_source_that_says() {
        let tabs = project(&[(".editorconfig", "root = true\n\n[*]\nindent_style = tab\n")]);
        assert_eq!(ts_indent(tabs.path()), Indent::Tab);
        let four = project(&[(
            ".editorconfig",
            "[*.{js,ts}]\nindent_style = space\nindent_size = 4\n",
        )]);
        assert_eq!(ts_indent(four.path()), Indent::Spaces(4));
        let prettier = project(&[(".prettierrc", "{ \"useTabs\": true }")]);
        assert_eq!(ts_indent(prettier.path()), Indent::Tab);
        let in_package = project(&[(
            "package.json",
            "{ \"prettier\": { \"tabWidth\": 4, \"useTabs\": false } }",
        )]);
        assert_eq!(ts_indent(in_package.path()), Indent::Spaces(4));
        let biome = project(&[(
            "biome.json",
            "{ \"formatter\": { \"indentStyle\": \"space\" } }",
        )]);
        assert_eq!(ts_indent(biome.path()), Indent::Spaces(2));
        let sources = project(&[(
            "src/index.ts",
            "export default {\n\tfetch() {\n\t\treturn 1;\n\t},\n};\n",
        )]);
        assert_eq!(ts_indent(sources.path()), Indent::Tab);
        let nothing = project(&[]);
        assert_eq!(ts_indent(nothing.path()), Indent::Spaces(2));
    }
}
