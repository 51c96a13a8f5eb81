//! Snapshots of every file the generating commands render, for both
//! languages. They prove the output is stable; tests/e2e.rs proves it works.

use kvgen::project::Lang;
use kvgen::templates;
use minijinja::{Value, context};

/// Snapshots the files `command` renders whose name passes `only`
/// (`common/` files are snapshotted with `create`).
fn snapshot_all(
    lang: Lang,
    command: &str,
    label: &str,
    ttl: Value,
    indent: &str,
    only: &dyn Fn(&str) -> bool,
) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/render");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let files = templates::render(
            lang,
            command,
            context! { default_ttl => ttl.clone(), worker_minor => 8, metrics => false },
            &|_| true,
        )
        .unwrap();
        for file in files.into_iter().filter(|f| only(&f.name)) {
            let content = kvgen::ts_style::reindent(&file.content, indent);
            insta::assert_snapshot!(format!("{label}-{}", file.name), content);
        }
    });
}

fn all(_: &str) -> bool {
    true
}

fn store(name: &str) -> bool {
    name.starts_with("store")
}

fn not_limits(name: &str) -> bool {
    !name.starts_with("limits")
}

#[test]
fn typescript_create() {
    snapshot_all(
        Lang::Ts,
        "create",
        "ts-create",
        Value::from(3600),
        "\t",
        &all,
    );
}

#[test]
fn typescript_create_two_spaces_no_expiry() {
    snapshot_all(
        Lang::Ts,
        "create",
        "ts-create-spaces-no-ttl",
        Value::from(()),
        "  ",
        &store,
    );
}

#[test]
fn rust_create() {
    snapshot_all(
        Lang::Rust,
        "create",
        "rust-create",
        Value::from(3600),
        "\t",
        &all,
    );
}

#[test]
fn rust_create_no_expiry() {
    snapshot_all(
        Lang::Rust,
        "create",
        "rust-create-no-ttl",
        Value::from(()),
        "\t",
        &store,
    );
}

#[test]
fn typescript_cache() {
    snapshot_all(
        Lang::Ts,
        "cache",
        "ts-cache",
        Value::from(3600),
        "\t",
        &not_limits,
    );
}

#[test]
fn rust_cache() {
    snapshot_all(
        Lang::Rust,
        "cache",
        "rust-cache",
        Value::from(3600),
        "\t",
        &not_limits,
    );
}

/// The second wave's modules, both languages: each rendered as `kvgen`
/// renders it (the cache patterns with `metrics`).
fn snapshot_second_wave(lang: Lang, label: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/render");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let limiters = vec![
            context! { name => "API_LIMITER", limit => 100, period => 60 },
            context! { name => "LOGIN", limit => 5, period => 10 },
        ];
        let cases = [
            (
                "cache",
                context! { default_ttl => 3600, worker_minor => 8, metrics => true },
            ),
            (
                "metrics",
                context! { metrics_binding => "CACHE", worker_minor => 8 },
            ),
            (
                "ratelimit",
                context! { period => 60, limiters, worker_minor => 8 },
            ),
            ("counter", context! { worker_minor => 8 }),
            ("config", context! { worker_minor => 8 }),
            ("prefs", context! { worker_minor => 8 }),
        ];
        for (command, context) in cases {
            let files = templates::render(lang, command, context, &|name| {
                !name.starts_with("limits")
                    && (command != "cache" || name.starts_with("cache") || name.starts_with("swr"))
            })
            .unwrap();
            for file in files.into_iter().filter(|f| !f.name.starts_with("limits")) {
                insta::assert_snapshot!(format!("{label}-{}", file.name), file.content);
            }
        }
    });
}

#[test]
fn typescript_second_wave() {
    snapshot_second_wave(Lang::Ts, "ts-second-wave");
}

#[test]
fn rust_second_wave() {
    snapshot_second_wave(Lang::Rust, "rust-second-wave");
}

#[test]
fn typescript_flags() {
    snapshot_all(
        Lang::Ts,
        "flags",
        "ts-flags",
        Value::from(()),
        "\t",
        &not_limits,
    );
}

#[test]
fn rust_flags() {
    snapshot_all(
        Lang::Rust,
        "flags",
        "rust-flags",
        Value::from(()),
        "\t",
        &not_limits,
    );
}

#[test]
fn typescript_bulk() {
    snapshot_all(
        Lang::Ts,
        "bulk",
        "ts-bulk",
        Value::from(()),
        "\t",
        &not_limits,
    );
}

#[test]
fn rust_bulk() {
    snapshot_all(
        Lang::Rust,
        "bulk",
        "rust-bulk",
        Value::from(()),
        "\t",
        &not_limits,
    );
}

#[test]
fn typescript_session() {
    snapshot_session(Lang::Ts, "ts-session");
}

#[test]
fn rust_session() {
    snapshot_session(Lang::Rust, "rust-session");
}

fn snapshot_session(lang: Lang, label: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/render");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let context =
            context! { default_ttl => 86400, cookie_name => "session", worker_minor => 8 };
        let files = templates::render(lang, "session", context, &|_| true).unwrap();
        for file in files.into_iter().filter(|f| not_limits(&f.name)) {
            insta::assert_snapshot!(format!("{label}-{}", file.name), file.content);
        }
    });
}

/// Snapshots what differs for a crate at `worker` 0.`minor`
/// (`worker_minor`): the files of `command` whose name passes `only`.
fn snapshot_rust_worker(minor: u64, command: &str, label: &str, only: &dyn Fn(&str) -> bool) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/render");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        // Sessions default to a day, as `kvgen session` writes them.
        let ttl = if command == "session" { 86400 } else { 3600 };
        let context = context! {
            default_ttl => ttl, cookie_name => "session", worker_minor => minor, metrics => false
        };
        let files = templates::render(Lang::Rust, command, context, &|_| true).unwrap();
        for file in files.into_iter().filter(|f| only(&f.name)) {
            insta::assert_snapshot!(format!("{label}-{}", file.name), file.content);
        }
    });
}

/// `worker` 0.7 has no bulk get and no streamed reads.
#[test]
fn rust_create_worker_0_7() {
    snapshot_rust_worker(7, "create", "rust-create-worker-0.7", &store);
}

#[test]
fn rust_cache_worker_0_7() {
    snapshot_rust_worker(7, "cache", "rust-cache-worker-0.7", &|name| {
        name == "warm.rs"
    });
}

#[test]
fn rust_bulk_worker_0_7() {
    snapshot_rust_worker(7, "bulk", "rust-bulk-worker-0.7", &|name| name == "bulk.rs");
}

/// `worker` 0.6's `KvError` is neither `Display` nor `std::error::Error`:
/// the module errors show it with `{:?}` and have no source for it.
#[test]
fn rust_create_worker_0_6() {
    snapshot_rust_worker(6, "create", "rust-create-worker-0.6", &|name| {
        name == "store.rs" || name == "limits.rs"
    });
}

#[test]
fn rust_flags_worker_0_6() {
    snapshot_rust_worker(6, "flags", "rust-flags-worker-0.6", &|name| {
        name == "flags.rs"
    });
}

#[test]
fn rust_session_worker_0_6() {
    snapshot_rust_worker(6, "session", "rust-session-worker-0.6", &|name| {
        name == "session.rs"
    });
}

#[test]
fn rust_bulk_worker_0_6() {
    snapshot_rust_worker(6, "bulk", "rust-bulk-worker-0.6", &|name| name == "bulk.rs");
}

/// `worker` 0.5's `KvStore` is not `Debug`: the types that hold one
/// implement `Debug` without it.
#[test]
fn rust_create_worker_0_5() {
    snapshot_rust_worker(5, "create", "rust-create-worker-0.5", &store);
}

#[test]
fn rust_flags_worker_0_5() {
    snapshot_rust_worker(5, "flags", "rust-flags-worker-0.5", &|name| {
        name == "flags.rs"
    });
}

#[test]
fn rust_bulk_worker_0_5() {
    snapshot_rust_worker(5, "bulk", "rust-bulk-worker-0.5", &|name| name == "bulk.rs");
}

/// The bulk module (arrow functions, one-line objects, imports) as a
/// project with every non-default prettier setting kvgen follows, resolving
/// modules the Node way, gets it.
#[test]
fn typescript_bulk_in_a_styled_node_project() {
    use kvgen::ts_style::{Indent, Quote, Style, TrailingComma};
    let style = Style {
        indent: Indent::Spaces(4),
        quote: Quote::Single,
        semi: false,
        trailing_comma: TrailingComma::None,
        arrow_parens: false,
        bracket_spacing: false,
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/render");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let files =
            templates::render(Lang::Ts, "bulk", context! { default_ttl => () }, &|_| true).unwrap();
        for file in files.into_iter().filter(|f| not_limits(&f.name)) {
            let content = kvgen::ts_style::apply(&file.content, &style);
            let content = kvgen::ts_style::with_js_extensions(&content);
            insta::assert_snapshot!(format!("ts-bulk-styled-{}", file.name), content);
        }
    });
}

/// What lets prettier leave the TypeScript modules alone at any print width
/// from 80 and tab width up to 4: no line of code is wider than 80 columns
/// with each tab four wide (prettier measures a tab as `tabWidth`), and none
/// of the other settings kvgen follows makes a line longer.
#[test]
fn every_typescript_line_of_code_fits_80_columns_with_four_wide_tabs() {
    let contexts = [
        ("create", context! { default_ttl => 3600 }),
        ("cache", context! { default_ttl => 3600, metrics => false }),
        ("cache", context! { default_ttl => 3600, metrics => true }),
        ("metrics", context! { metrics_binding => "CACHE" }),
        (
            "ratelimit",
            context! { period => 60, limiters => vec![context! { name => "API_LIMITER", limit => 100, period => 60 }] },
        ),
        ("counter", context! {}),
        ("config", context! {}),
        ("prefs", context! {}),
        ("flags", context! { default_ttl => () }),
        ("bulk", context! { default_ttl => () }),
        (
            "session",
            context! { default_ttl => 86400, cookie_name => "session" },
        ),
    ];
    let mut wide = Vec::new();
    for (command, context) in contexts {
        for file in templates::render(Lang::Ts, command, context, &|_| true).unwrap() {
            for (n, line) in file.content.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") {
                    continue;
                }
                let width = line.replace('\t', "    ").chars().count();
                if width > 80 {
                    wide.push(format!("{}:{}: {width} columns: {code}", file.name, n + 1));
                }
            }
        }
    }
    assert!(wide.is_empty(), "{}", wide.join("\n"));
}

/// Every TypeScript module, in every style kvgen writes, converts to
/// JavaScript (src/js.rs refuses what JSDoc cannot say, and the result is
/// parsed again), and no statement starts with a cast's parenthesis, which
/// a line without a semicolon before it would call.
#[test]
fn every_typescript_module_converts_to_javascript() {
    use kvgen::ts_style::{Indent, Quote, Style, TrailingComma};
    let styles = [
        Style::default(),
        Style {
            indent: Indent::Tab,
            quote: Quote::Single,
            semi: false,
            trailing_comma: TrailingComma::None,
            arrow_parens: false,
            bracket_spacing: false,
        },
        Style {
            indent: Indent::Spaces(4),
            ..Style::default()
        },
    ];
    let mut converted = 0;
    let mut rendered = std::collections::BTreeSet::new();
    for command in [
        "create",
        "cache",
        "flags",
        "session",
        "bulk",
        "ratelimit",
        "counter",
        "config",
        "prefs",
        "metrics",
        "common",
    ] {
        for metrics in [false, true] {
            let limiters = vec![
                context! { name => "API_LIMITER", limit => 100, period => 60 },
                context! { name => "LOGIN", limit => 5, period => 10 },
            ];
            let context = context! {
                default_ttl => 3600,
                worker_minor => 8,
                metrics => metrics,
                metrics_binding => "CACHE",
                cookie_name => "session",
                period => 60,
                limiters,
            };
            let Ok(files) = templates::render(Lang::Ts, command, context, &|_| true) else {
                continue;
            };
            rendered.insert(command);
            for file in files {
                for style in &styles {
                    // As a JavaScript Worker's modules are styled: `.js` imports.
                    let ts = kvgen::ts_style::with_js_extensions(&kvgen::ts_style::apply(
                        &file.content,
                        style,
                    ));
                    let js = kvgen::js::from_typescript(&ts)
                        .unwrap_or_else(|e| panic!("{command}/{}: {e}", file.name));
                    for line in js.lines() {
                        let line = line.trim_start();
                        assert!(
                            !(line.starts_with("/** @") && line.contains("*/ (")),
                            "{command}/{}: a statement starts with a cast:\n{line}",
                            file.name
                        );
                    }
                    converted += 1;
                }
            }
        }
    }
    assert_eq!(rendered.len(), 11, "{rendered:?}");
    assert!(converted >= 60, "{converted}");
}

/// The typed-keys modules (from kvgen.toml's `[types]` and key patterns)
/// convert too, string literal types kept as written: runs of spaces, and a
/// `*/` that would end the JSDoc comment holding the type.
#[test]
fn typed_keys_modules_convert_to_javascript() {
    let design = kvgen::design::parse(
        concat!(
            "[kvgen]\nlang = \"js\"\n\n",
            "[namespaces.CACHE.keys.post]\npattern = \"post:{id}\"\nvalue = \"Post\"\nttl = 600\n\n",
            "[namespaces.CACHE.keys.raw]\npattern = \"raw:{kind}-{id}\"\nvalue = \"bytes\"\n\n",
            "[types.Post]\ntitle = \"string\"\ntags = \"string[]\"\n",
            "status = \"'draft  x' | 'a*/b' | 'pub'\"\nviews = \"number?\"\n",
        ),
        "kvgen.toml",
    )
    .unwrap();
    let namespaces: Vec<_> = design.namespaces.iter().collect();
    for (module, ts) in [
        ("schema", kvgen::keys::ts_schema::schema_ts(&design.types)),
        (
            "namespaces",
            kvgen::keys::ts_namespaces::namespaces_ts(&namespaces),
        ),
    ] {
        let ts = kvgen::ts_style::with_js_extensions(&kvgen::ts_style::apply(
            &ts,
            &kvgen::ts_style::Style::default(),
        ));
        let js = kvgen::js::from_typescript(&ts).unwrap_or_else(|e| panic!("{e}\n{ts}"));
        if module == "schema" {
            let status = js
                .lines()
                .find(|l| l.contains("@property") && l.contains("status"))
                .unwrap_or_else(|| panic!("{js}"));
            assert!(
                status.contains("draft  x") && status.contains("a*\\/b"),
                "{status}"
            );
        }
    }
}
