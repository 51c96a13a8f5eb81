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
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// TypeScript (a `package.json` or `tsconfig.json` in the project root).
    Ts,
    /// JavaScript: ES modules with JSDoc types (a Worker whose `main` is
    /// JavaScript, with no tsconfig.json).
    Js,
    /// Rust with workers-rs (a `Cargo.toml` that depends on `worker`).
    Rust,
}

#[derive(Debug, Clone)]
pub struct Project {
    /// The folder that holds the Wrangler config.
    pub root: PathBuf,
    /// The Wrangler config.
    pub config: PathBuf,
    pub format: Format,
    pub lang: Lang,
    /// The config's `main` (the Worker's entry), relative to the root with
    /// `/` separators, as written (a leading `./` dropped).
    pub main: Option<String>,
    /// What the config means as data, as Wrangler reads it.
    pub settings: serde_json::Value,
}

impl Lang {
    /// TypeScript or JavaScript: the same modules, rendered from the
    /// TypeScript templates.
    pub fn is_typescript_family(self) -> bool {
        matches!(self, Lang::Ts | Lang::Js)
    }

    /// The extension of the generated modules.
    pub fn extension(self) -> &'static str {
        match self {
            Lang::Ts => "ts",
            Lang::Js => "js",
            Lang::Rust => "rs",
        }
    }
}

impl Project {
    /// Finds the project from `cwd`: the config given with `--config`, or the
    /// first Wrangler config found walking up from `cwd`.
    pub fn discover(
        cwd: &Path,
        config: Option<&Path>,
        lang: Option<Lang>,
    ) -> Result<Project, BadInput> {
        let config = config_path(cwd, config)?;
        let root = config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf());
        // The real root (links resolved): every path kvgen writes must lie
        // inside it.
        let root = fs::canonicalize(&root).unwrap_or(root);
        let config = match config.file_name() {
            Some(name) => root.join(name),
            None => config,
        };
        let detected = lang.is_none();
        let lang = match lang {
            Some(lang) => lang,
            None => detect_lang(&root)?,
        };
        let format = Format::of(&config);
        let shown = crate::names::show_path(&config);
        let raw = crate::files::read_text(&config, &shown)
            .map_err(|e| BadInput::new(format!("{e:#}")))?
            .ok_or_else(|| BadInput::new(format!("{shown}: cannot read the Wrangler config")))?;
        let settings =
            crate::config::read(format, &raw).map_err(|e| BadInput::new(format!("{shown}:{e}")))?;
        let main = settings
            .get("main")
            .and_then(serde_json::Value::as_str)
            .map(|main| main.trim_start_matches("./").to_string());
        let mut project = Project {
            format,
            root,
            config,
            lang,
            main,
            settings,
        };
        // Detected TypeScript whose Worker is JavaScript: JavaScript.
        if detected && project.lang == Lang::Ts && project.is_javascript_worker() {
            project.lang = Lang::Js;
        }
        Ok(project)
    }

    /// The environments of the config (`env.NAME`), sorted.
    pub fn environments(&self) -> Vec<String> {
        self.settings
            .get("env")
            .and_then(serde_json::Value::as_object)
            .map(|envs| envs.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The environments that declare bindings of their own (of any kind).
    pub fn environments_with_bindings(&self) -> Vec<String> {
        self.environments()
            .into_iter()
            .filter(|env| {
                self.settings["env"][env].as_object().is_some_and(|table| {
                    crate::config::BINDING_KEYS
                        .iter()
                        .any(|key| table.contains_key(*key))
                })
            })
            .collect()
    }

    /// Whether `env.NAME` already has the KV binding `binding`.
    pub fn env_has_kv_binding(&self, env: &str, binding: &str) -> bool {
        self.settings["env"][env]["kv_namespaces"]
            .as_array()
            .is_some_and(|entries| entries.iter().any(|e| e["binding"] == binding))
    }

    /// A Worker whose entry is JavaScript, with no TypeScript from its folder
    /// up to the workspace root: no tsconfig.json, no `typescript` in a
    /// package.json's dependencies.
    pub fn is_javascript_worker(&self) -> bool {
        let js = self.lang != Lang::Rust
            && self.main.as_deref().is_some_and(|main| {
                [".js", ".mjs", ".cjs", ".jsx"]
                    .iter()
                    .any(|ext| main.ends_with(ext))
            });
        js && !workspace_dirs(&self.root).iter().any(|dir| {
            crate::files::is_regular(&dir.join("tsconfig.json"))
                || json_file(&dir.join("package.json")).is_some_and(|package| {
                    ["dependencies", "devDependencies"]
                        .iter()
                        .any(|deps| package[deps].get("typescript").is_some())
                })
        })
    }

    /// Whether the JavaScript of this Worker is type-checked (its bindings
    /// then belong in its Env types): a jsconfig.json from its folder up to
    /// the workspace root, or a worker-configuration.d.ts.
    pub fn checks_javascript_types(&self) -> bool {
        crate::files::is_regular(&self.root.join("worker-configuration.d.ts"))
            || workspace_dirs(&self.root)
                .iter()
                .any(|dir| crate::files::is_regular(&dir.join("jsconfig.json")))
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

/// The Wrangler config: the one given with `--config` (relative to `cwd`),
/// else the first one found walking up from `cwd`, in Wrangler's order.
pub fn config_path(cwd: &Path, config: Option<&Path>) -> Result<PathBuf, BadInput> {
    match config {
        Some(path) => {
            let path = cwd.join(path);
            match fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {}
                Ok(meta) => {
                    return Err(BadInput::new(format!(
                        "--config {}: is {}, not a Wrangler config file",
                        crate::names::show_path(&path),
                        crate::files::kind(&meta)
                    )));
                }
                Err(_) => {
                    return Err(BadInput::new(format!(
                        "{}: no such Wrangler config file",
                        crate::names::show_path(&path)
                    )));
                }
            }
            Ok(path)
        }
        None => find_config(cwd),
    }
}

fn find_config(cwd: &Path) -> Result<PathBuf, BadInput> {
    for dir in cwd.ancestors() {
        for name in CONFIG_NAMES {
            let path = dir.join(name);
            match fs::metadata(&path) {
                Ok(meta) if meta.is_file() => return Ok(path),
                Ok(meta) => {
                    return Err(BadInput::new(format!(
                        "{}: is {}, not a Wrangler config file",
                        crate::names::show_path(&path),
                        crate::files::kind(&meta)
                    )));
                }
                Err(_) => {}
            }
        }
    }
    let mut message = format!(
        "not a Worker project: no {} in {} or any folder above it (run kvgen inside your Worker, or pass --config PATH)",
        CONFIG_NAMES.join(", "),
        crate::names::show_path(cwd)
    );
    let examples = nearby_configs(cwd);
    let (copies, others): (Vec<_>, Vec<_>) = examples.iter().partition(|c| c.copy_to.is_some());
    if !copies.is_empty() {
        message.push_str("\nExample configs here: copy one and fill in its values, e.g.");
        for config in copies {
            let to = config.copy_to.as_deref().unwrap_or_default();
            message.push_str(&format!("\n  cp {} {to}", shell_path(&config.path)));
        }
    }
    if !others.is_empty() {
        message.push_str("\nOther Wrangler configs here:");
        for config in others {
            message.push_str(&format!(
                "\n  kvgen --config {} …",
                shell_path(&config.path)
            ));
        }
    }
    let below = configs_below(cwd);
    if !below.is_empty() {
        message.push_str("\nWorker configs below this folder:");
        for config in below {
            let dir = config.rsplit_once('/').map_or(".", |(dir, _)| dir);
            let name = config.rsplit('/').next().unwrap_or(&config);
            if CONFIG_NAMES.contains(&name) {
                message.push_str(&format!(
                    "\n  kvgen -C {} …   # {}",
                    shell_path(dir),
                    crate::names::terminal_text(&config)
                ));
            } else {
                message.push_str(&format!("\n  kvgen --config {} …", shell_path(&config)));
            }
        }
    }
    Err(BadInput::new(message))
}

/// A path for a printed command: as is when the shell takes it so, else
/// single-quoted.
fn shell_path(path: &str) -> String {
    // A path starting with `-` would be read as an option.
    if path.starts_with('-') {
        return crate::names::shell_word(&format!("./{path}"));
    }
    crate::names::shell_word(path)
}

/// A Wrangler config file name that is not one Wrangler looks for: an
/// example to copy (`wrangler.example.toml`, `wrangler.toml.template`,
/// `wrangler-example.jsonc`) or a variant (`wrangler.kv.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearbyConfig {
    /// The file name.
    pub path: String,
    /// For an example, the name to copy it to.
    pub copy_to: Option<String>,
}

const EXAMPLE_WORDS: [&str; 5] = ["example", "template", "sample", "dist", "tpl"];

/// What a file name means as a Wrangler config kvgen does not read by
/// itself, or None when it is not one.
pub fn nearby_config(name: &str) -> Option<NearbyConfig> {
    if CONFIG_NAMES.contains(&name) {
        return None;
    }
    let rest = name.strip_prefix("wrangler")?;
    if !(rest.starts_with('.') || rest.starts_with('-') || rest.starts_with('_')) {
        return None;
    }
    let parts: Vec<&str> = rest[1..].split('.').collect();
    let ext = parts
        .iter()
        .rev()
        .find(|p| matches!(**p, "toml" | "json" | "jsonc"))?;
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let example = parts
        .iter()
        .any(|p| EXAMPLE_WORDS.iter().any(|w| p.eq_ignore_ascii_case(w)));
    let is_config_ext = parts.last() == Some(ext);
    if !example && !is_config_ext {
        return None;
    }
    Some(NearbyConfig {
        path: name.to_string(),
        copy_to: example.then(|| format!("wrangler.{ext}")),
    })
}

/// Example and variant Wrangler configs in `dir`, sorted.
pub fn nearby_configs(dir: &Path) -> Vec<NearbyConfig> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<NearbyConfig> = entries
        .flatten()
        .take(MAX_ENTRIES)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| nearby_config(e.file_name().to_str()?))
        .filter(|c| crate::names::show_path(Path::new(&c.path)) == c.path)
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Most folder entries read while looking around for configs.
const MAX_ENTRIES: usize = 2000;

/// Folders that hold no source of a Worker (hidden folders neither): never
/// searched for Worker configs or sources.
pub const NOT_SOURCES: [&str; 8] = [
    "node_modules",
    "dist",
    "build",
    "target",
    "out",
    "coverage",
    "vendor",
    "tmp",
];

/// Wrangler configs in the folders below `dir`, three levels deep at most
/// (`worker/`, `apps/*`, `packages/*`, `services/*/workers/*`), skipping
/// hidden folders, dependencies and build outputs; paths relative to `dir`,
/// sorted.
pub fn configs_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut budget = MAX_ENTRIES * 5;
    walk_for_configs(dir, "", 3, &mut budget, &mut found);
    found.sort();
    found
}

fn walk_for_configs(
    dir: &Path,
    rel: &str,
    depth: usize,
    budget: &mut usize,
    found: &mut Vec<String>,
) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut dirs = Vec::new();
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        // A name that cannot be printed as it is in a command (control or
        // bidirectional characters) is left out.
        let Some(name) = entry
            .file_name()
            .to_str()
            .filter(|n| crate::names::show_path(Path::new(n)) == *n)
            .map(str::to_string)
        else {
            continue;
        };
        if kind.is_dir() && !name.starts_with('.') && !NOT_SOURCES.contains(&name.as_str()) {
            dirs.push(name);
        }
    }
    dirs.sort();
    for name in dirs {
        let sub = dir.join(&name);
        let sub_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if let Some(config) = CONFIG_NAMES
            .iter()
            .find(|c| crate::files::is_regular(&sub.join(c)))
        {
            found.push(format!("{sub_rel}/{config}"));
            continue;
        }
        walk_for_configs(&sub, &sub_rel, depth - 1, budget, found);
    }
}

fn detect_lang(root: &Path) -> Result<Lang, BadInput> {
    // A manifest that does not parse is named when nothing else tells the
    // language; a TypeScript Worker need not care about it.
    let mut broken = None;
    // The nearest folder that tells, from the Worker's folder up to its
    // workspace root (a Worker inside a monorepo whose package.json or
    // Cargo.toml is at the root).
    for dir in workspace_dirs(root) {
        let cargo = dir.join("Cargo.toml");
        if let Some(text) = crate::files::peek_text(&cargo) {
            match text.parse::<toml_edit::DocumentMut>() {
                Ok(doc) if doc_depends_on_worker(&doc) => return Ok(Lang::Rust),
                Ok(_) => {}
                Err(e) => {
                    let (line, col) =
                        crate::text::line_col(&text, e.span().map_or(0, |span| span.start));
                    let reason = e.message().lines().next().unwrap_or("invalid TOML").trim();
                    broken.get_or_insert(format!(
                        "{}:{line}:{col}: invalid TOML: {reason}",
                        crate::names::show_path(&cargo)
                    ));
                }
            }
        }
        if crate::files::is_regular(&dir.join("package.json"))
            || crate::files::is_regular(&dir.join("tsconfig.json"))
        {
            return Ok(Lang::Ts);
        }
    }
    if let Some(broken) = broken {
        return Err(BadInput::new(broken));
    }
    Err(BadInput::new(format!(
        "cannot tell the language of the Worker in {}: no Cargo.toml that depends on `worker`, no package.json, no tsconfig.json there or in a folder above it up to the repository root (pass --lang ts or --lang rust)",
        crate::names::show_path(root)
    )))
}

/// `dir` and the folders above it up to its workspace root: the first that
/// holds `.git`, `pnpm-workspace.yaml` or a package.json with `workspaces`
/// (all of them up to the file system root when none does). Nearest first.
pub fn workspace_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for dir in dir.ancestors() {
        dirs.push(dir.to_path_buf());
        if is_workspace_root(dir) {
            break;
        }
    }
    dirs
}

fn is_workspace_root(dir: &Path) -> bool {
    dir.join(".git").exists()
        || dir.join("pnpm-workspace.yaml").is_file()
        || json_file(&dir.join("package.json")).is_some_and(|p| p.get("workspaces").is_some())
}

/// True when a Cargo manifest depends on the `worker` crate, in any
/// dependency table (plain or target-specific).
pub fn depends_on_worker(manifest: &str) -> bool {
    manifest
        .parse::<toml_edit::DocumentMut>()
        .is_ok_and(|doc| doc_depends_on_worker(&doc))
}

fn doc_depends_on_worker(doc: &toml_edit::DocumentMut) -> bool {
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

/// A JSON or JSONC file, parsed; None when missing or invalid.
pub fn json_file(path: &Path) -> Option<serde_json::Value> {
    let text = crate::files::peek_text(path)?;
    jsonc_parser::parse_to_serde_value::<serde_json::Value>(&text, &Default::default()).ok()
}

/// The project's prettier options (JSON forms of the config, or the
/// `prettier` key of package.json).
pub fn prettier_config(root: &Path) -> Option<serde_json::Value> {
    [".prettierrc", ".prettierrc.json", ".prettierrc.json5"]
        .iter()
        .find_map(|name| json_file(&root.join(name)))
        .or_else(|| {
            json_file(&root.join("package.json"))?
                .get("prettier")
                .cloned()
        })
}

/// The value `.editorconfig` gives `key` for TypeScript files (lowercased),
/// from the last section that applies (`[*]`, `[*.ts]`, `[*.{js,ts}]`).
pub fn editorconfig_value(root: &Path, key: &str) -> Option<String> {
    let text = crate::files::peek_text(&root.join(".editorconfig"))?;
    let mut applies = false;
    let mut found = None;
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
        let Some((k, value)) = line.split_once('=') else {
            continue;
        };
        if applies && k.trim().eq_ignore_ascii_case(key) {
            found = Some(value.trim().to_ascii_lowercase());
        }
    }
    found
}

/// TypeScript and JavaScript sources under `src` (two levels deep, no
/// node_modules), sorted.
pub fn sources(src: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect_sources(src, &mut files, 2);
    files.sort();
    files
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

/// A temporary project holding `files` (name, text), for tests.
#[cfg(test)]
pub(crate) fn temp_project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::temp_project as project;

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
    fn names_a_shell_would_misread_are_never_suggested_as_they_are() {
        let dir = project(&[
            ("-x/wrangler.toml", ""),
            ("new\nline/wrangler.toml", ""),
            ("wrangler.\u{1b}[31mred.toml", ""),
            ("rtl\u{202e}abc/wrangler.toml", ""),
            ("wrangler.example.toml", ""),
        ]);
        let err = Project::discover(dir.path(), None, None).unwrap_err().0;
        assert!(
            err.contains("\n  kvgen -C ./-x …   # -x/wrangler.toml"),
            "{err}"
        );
        assert!(!err.contains("line/wrangler.toml"), "{err}");
        assert!(!err.contains("red.toml"), "{err}");
        assert!(!err.contains("rtl"), "{err}");
        assert!(
            err.contains("cp wrangler.example.toml wrangler.toml"),
            "{err}"
        );
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
}
