//! Config edits over the hand-made fixtures and the corpus of real Wrangler
//! configs: snapshots of every edit, and invariants checked on each of them.

use std::fs;
use std::path::Path;

use kvgen::config::{self, EditStatus, Format, KvBinding};
use serde_json::{Value, json};

const ID: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";
const PREVIEW_ID: &str = "beef0000beef0000beef0000beef0000";

fn want(with_ids: bool) -> KvBinding {
    KvBinding {
        binding: "CACHE".to_string(),
        id: with_ids.then(|| ID.to_string()),
        preview_id: with_ids.then(|| PREVIEW_ID.to_string()),
    }
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/config_edits");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Parses a config into plain data with a parser other than the editor's.
fn data(format: Format, raw: &str) -> Value {
    let body = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    match format {
        Format::Toml => {
            let value: toml::Value = toml::from_str(body).expect("valid TOML");
            serde_json::to_value(value).unwrap()
        }
        Format::Jsonc => jsonc_parser::parse_to_serde_value::<Value>(body, &Default::default())
            .expect("valid JSONC"),
    }
}

/// The top level of config data, or `env.NAME` (created when missing).
fn target_of<'v>(data: &'v mut Value, env: Option<&str>) -> &'v mut Value {
    match env {
        None => data,
        Some(env) => data
            .as_object_mut()
            .unwrap()
            .entry("env")
            .or_insert(json!({}))
            .as_object_mut()
            .unwrap()
            .entry(env)
            .or_insert(json!({})),
    }
}

/// What the config should mean after adding `want`: the old data plus the
/// entry (or the entry completed), and nothing else.
fn expected(mut before: Value, env: Option<&str>, want: &KvBinding) -> Value {
    let target = target_of(&mut before, env);
    let list = target
        .as_object_mut()
        .unwrap()
        .entry("kv_namespaces")
        .or_insert(json!([]))
        .as_array_mut()
        .unwrap();
    let entry = match list
        .iter()
        .position(|e| e["binding"] == want.binding.as_str())
    {
        Some(i) => &mut list[i],
        None => {
            list.push(json!({ "binding": want.binding }));
            list.last_mut().unwrap()
        }
    };
    for (field, value) in [("id", &want.id), ("preview_id", &want.preview_id)] {
        if let Some(value) = value {
            entry
                .as_object_mut()
                .unwrap()
                .entry(field)
                .or_insert(json!(value));
        }
    }
    before
}

/// Every line of `before` is in `after`, in the same order. The one change
/// allowed to a line is an insertion that starts with a comma: the comma a
/// new list element needs after the old last one, or a whole new element on a
/// one-line list.
fn assert_lines_kept(name: &str, before: &str, after: &str) {
    let same_or_comma = |old: &str, new: &str| {
        if old == new {
            return true;
        }
        let prefix = old
            .bytes()
            .zip(new.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = old[prefix..]
            .bytes()
            .rev()
            .zip(new[prefix..].bytes().rev())
            .take_while(|(a, b)| a == b)
            .count();
        new.len() > old.len()
            && prefix + suffix == old.len()
            && new[prefix..new.len() - suffix]
                .trim_start()
                .starts_with(',')
    };
    let mut after_lines = after.split('\n');
    for line in before.split('\n') {
        assert!(
            after_lines.any(|l| same_or_comma(line, l)),
            "{name}: line {line:?} is missing or out of order in:\n{after}"
        );
    }
}

/// An edit under test: runs on a config text, and says what the config
/// should mean afterwards.
trait EditUnderTest {
    fn run(
        &self,
        format: Format,
        raw: &str,
        env: Option<&str>,
    ) -> Result<config::Edit, config::EditError>;
    fn expected(&self, before: Value, env: Option<&str>) -> Value;
}

struct AddBinding(KvBinding);

impl EditUnderTest for AddBinding {
    fn run(
        &self,
        format: Format,
        raw: &str,
        env: Option<&str>,
    ) -> Result<config::Edit, config::EditError> {
        config::ensure_kv_namespace(format, raw, env, &self.0, false)
    }
    fn expected(&self, before: Value, env: Option<&str>) -> Value {
        expected(before, env, &self.0)
    }
}

struct AddCron(&'static str);

impl EditUnderTest for AddCron {
    fn run(
        &self,
        format: Format,
        raw: &str,
        env: Option<&str>,
    ) -> Result<config::Edit, config::EditError> {
        config::ensure_cron(format, raw, env, self.0)
    }
    fn expected(&self, mut before: Value, env: Option<&str>) -> Value {
        let target = target_of(&mut before, env);
        let triggers = target
            .as_object_mut()
            .unwrap()
            .entry("triggers")
            .or_insert(json!({}));
        let crons = triggers
            .as_object_mut()
            .unwrap()
            .entry("crons")
            .or_insert(json!([]))
            .as_array_mut()
            .unwrap();
        if !crons.contains(&json!(self.0)) {
            crons.push(json!(self.0));
        }
        before
    }
}

/// Runs one edit and checks the invariants; returns the snapshot text.
fn check_edit(
    name: &str,
    format: Format,
    raw: &str,
    env: Option<&str>,
    edit: &dyn EditUnderTest,
) -> String {
    let result = edit
        .run(format, raw, env)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let label = match env {
        Some(env) => format!("env {env}"),
        None => "top level".to_string(),
    };
    let mut shot = format!("## {label}: {:?}\n", result.status);
    if let EditStatus::Conflict(_) = result.status {
        assert_eq!(result.text, raw, "{name}: a conflict changes nothing");
        return shot;
    }
    // Running the edit again gives the same bytes.
    let again = edit.run(format, &result.text, env).unwrap();
    assert_eq!(again.status, EditStatus::Unchanged, "{name}: second run");
    assert_eq!(again.text, result.text, "{name}: second run bytes");
    // The result parses, and means the old config plus the change.
    assert_eq!(
        data(format, &result.text),
        edit.expected(data(format, raw), env),
        "{name}: meaning after the edit"
    );
    assert_lines_kept(name, raw, &result.text);
    // BOM and line endings are kept.
    assert_eq!(
        raw.starts_with('\u{feff}'),
        result.text.starts_with('\u{feff}')
    );
    if kvgen::text::uses_crlf(raw) {
        let lone_lf = result
            .text
            .match_indices('\n')
            .filter(|(i, _)| !result.text[..*i].ends_with('\r'))
            .count();
        assert_eq!(
            lone_lf, 0,
            "{name}: CRLF file got LF lines:\n{}",
            result.text
        );
    }
    shot.push_str(&kvgen::diff::unified(name, Some(raw), &result.text));
    shot
}

fn snapshot_file(path: &Path, envs: &[Option<&str>]) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    let raw = fs::read_to_string(path).unwrap();
    let format = Format::of(path);
    let mut shot = String::new();
    for env in envs {
        shot.push_str(&check_edit(
            name,
            format,
            &raw,
            *env,
            &AddBinding(want(true)),
        ));
        // Without ids, the edit must also hold.
        check_edit(name, format, &raw, *env, &AddBinding(want(false)));
    }
    shot
}

#[test]
fn fixtures() {
    settings().bind(|| {
        insta::glob!("fixtures/configs/*", |path| {
            insta::assert_snapshot!(snapshot_file(path, &[None, Some("staging")]));
        });
    });
}

#[test]
fn corpus() {
    settings().bind(|| {
        insta::glob!("fixtures/corpus/*.{toml,json,jsonc}", |path| {
            insta::assert_snapshot!(snapshot_file(path, &[None, Some("production")]));
        });
    });
}

/// The cron edit of `kvgen cache warm --cron`, on one file.
fn snapshot_cron(path: &Path, envs: &[Option<&str>]) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    let raw = fs::read_to_string(path).unwrap();
    let format = Format::of(path);
    envs.iter()
        .map(|env| check_edit(name, format, &raw, *env, &AddCron("*/5 * * * *")))
        .collect()
}

#[test]
fn crons_fixtures() {
    settings().bind(|| {
        insta::glob!("fixtures/configs/*", |path| {
            insta::assert_snapshot!(snapshot_cron(path, &[None, Some("staging")]));
        });
    });
}

#[test]
fn crons_corpus() {
    settings().bind(|| {
        insta::glob!("fixtures/corpus/*.{toml,json,jsonc}", |path| {
            insta::assert_snapshot!(snapshot_cron(path, &[None, Some("production")]));
        });
    });
}

#[test]
fn corpus_invalid_files_are_reported_with_their_position() {
    for (file, position) in [
        ("060-cloudflare-workers-rs.toml", "3:27: invalid TOML"),
        ("061-cloudflare-workers-rs.jsonc", "5:32: invalid JSON"),
    ] {
        let path = Path::new("tests/fixtures/corpus/invalid").join(file);
        let raw = fs::read_to_string(&path).unwrap();
        let err = config::ensure_kv_namespace(Format::of(&path), &raw, None, &want(true), false)
            .expect_err("invalid config");
        assert!(err.to_string().starts_with(position), "{file}: {err}");
        assert!(err.line >= 1 && err.col >= 1);
    }
}
