//! Snapshots of every file `kvgen create` generates, for both languages.
//! They prove the output is stable; tests/rust_check.rs and the end-to-end
//! tests prove it works.

use kvgen::project::Lang;
use kvgen::templates;
use minijinja::{Value, context};

/// Snapshots the rendered files whose name starts with `only` (all: "").
fn snapshot_all(lang: Lang, label: &str, ttl: Value, indent: &str, only: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/render");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let files =
            templates::render(lang, "create", context! { default_ttl => ttl.clone() }).unwrap();
        for file in files.into_iter().filter(|f| f.name.starts_with(only)) {
            let content = kvgen::ts_style::reindent(&file.content, indent);
            insta::assert_snapshot!(format!("{label}-{}", file.name), content);
        }
    });
}

#[test]
fn typescript_create() {
    snapshot_all(Lang::Ts, "ts-create", Value::from(3600), "\t", "");
}

#[test]
fn typescript_create_two_spaces_no_expiry() {
    snapshot_all(
        Lang::Ts,
        "ts-create-spaces-no-ttl",
        Value::from(()),
        "  ",
        "store",
    );
}

#[test]
fn rust_create() {
    snapshot_all(Lang::Rust, "rust-create", Value::from(3600), "\t", "");
}

#[test]
fn rust_create_no_expiry() {
    snapshot_all(
        Lang::Rust,
        "rust-create-no-ttl",
        Value::from(()),
        "\t",
        "store",
    );
}
