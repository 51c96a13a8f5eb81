//! The code templates, embedded in the binary, and their rendering.
//!
//! `templates/<lang>/<command>/NAME.j2` renders to `NAME`; files under
//! `templates/<lang>/common/` are shared helpers that every command writes.

use heck::{ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::project::Lang;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// A rendered file: its name inside the module folder and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub name: String,
    pub content: String,
}

fn lang_dir(lang: Lang) -> &'static str {
    match lang {
        Lang::Ts | Lang::Js => "ts",
        Lang::Rust => "rust",
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    env.add_filter("snake_case", |s: String| s.to_snake_case());
    env.add_filter("shouty_snake_case", |s: String| s.to_shouty_snake_case());
    env.add_filter("camel_case", |s: String| s.to_lower_camel_case());
    env.add_filter("pascal_case", |s: String| s.to_upper_camel_case());
    env.add_filter("kebab_case", |s: String| s.to_kebab_case());
    // A string literal valid in both TypeScript and Rust (JSON escaping).
    env.add_filter("string_literal", |s: String| {
        serde_json::to_string(&s).expect("strings serialize")
    });
    env
}

/// The environment variable naming a folder of templates used instead of
/// the embedded ones (same layout as `templates/`). The tests of upgrades
/// use it to generate with an earlier template set.
pub const TEMPLATES_ENV: &str = "KVGEN_TEMPLATES_DIR";

/// The templates of one folder: (output name, source name, source).
fn sources(path: &str) -> Result<Vec<(String, String, String)>, minijinja::Error> {
    let mut out = Vec::new();
    if let Some(dir) = std::env::var_os(TEMPLATES_ENV) {
        let folder = std::path::Path::new(&dir).join(path);
        let Ok(entries) = std::fs::read_dir(&folder) else {
            return Ok(out);
        };
        for entry in entries.flatten() {
            let file = entry.path();
            let Some(name) = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".j2"))
            else {
                continue;
            };
            let source = std::fs::read_to_string(&file).map_err(|e| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("{}: {e}", file.display()),
                )
            })?;
            out.push((name.to_string(), file.display().to_string(), source));
        }
        return Ok(out);
    }
    let Some(dir) = TEMPLATES.get_dir(path) else {
        return Ok(out);
    };
    for file in dir.files() {
        let Some(name) = file
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".j2"))
        else {
            continue;
        };
        let source = file.contents_utf8().expect("templates are UTF-8");
        out.push((
            name.to_string(),
            file.path().to_string_lossy().into_owned(),
            source.to_string(),
        ));
    }
    Ok(out)
}

/// Renders the files of `command` whose output name `keep` accepts, and the
/// shared `common` files, for `lang`, sorted by name.
pub fn render(
    lang: Lang,
    command: &str,
    context: Value,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Rendered>, minijinja::Error> {
    let mut out = render_folder(lang, "common", context.clone(), &|_| true)?;
    out.extend(render_folder(lang, command, context, keep)?);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Renders the files of one folder (`common` or a command's) whose output
/// name `keep` accepts.
pub fn render_folder(
    lang: Lang,
    folder: &str,
    context: Value,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Rendered>, minijinja::Error> {
    let env = environment();
    let mut out = Vec::new();
    for (name, source_name, source) in sources(&format!("{}/{folder}", lang_dir(lang)))? {
        if !keep(&name) {
            continue;
        }
        let content = env.render_named_str(&source_name, &source, &context)?;
        out.push(Rendered { name, content });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_and_keeps_its_trailing_newline() {
        for lang in [Lang::Ts, Lang::Rust] {
            for ttl in [Value::from(3600), Value::from(())] {
                let files = render(
                    lang,
                    "create",
                    minijinja::context! { default_ttl => ttl, worker_minor => 8 },
                    &|_| true,
                )
                .unwrap();
                assert!(files.len() >= 3, "{lang:?}: {files:?}");
                for file in files {
                    assert!(file.content.ends_with('\n'), "{}", file.name);
                    assert!(
                        !file.content.contains("{{"),
                        "{} has unrendered syntax",
                        file.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_missing_variable_is_an_error_not_an_empty_string() {
        assert!(render(Lang::Ts, "create", minijinja::context! {}, &|_| true).is_err());
    }
}
