//! `kvgen spec [BINDING] [--format text|markdown|json] [--local] [--ascii]`:
//! the namespace specification of the design, read only. Per namespace:
//! title, binding, purpose, ids per environment, default TTL, the key
//! naming convention table, the generated modules, local figures from the
//! state `wrangler dev` keeps (when there is some, or with `--local`), an
//! implementation checklist and a health bar from it. Figures that need
//! Cloudflare's API are shown as not available.

use std::path::Path;

use serde::Serialize;

use crate::cli::{GlobalArgs, SpecArgs, SpecFormat};
use crate::config::KvBinding;
use crate::design::{self, Namespace, Ttl};
use crate::error::BadInput;
use crate::keys::KeyPattern;
use crate::project::{Lang, Project};

/// The figures a report never invents.
const NOT_AVAILABLE: &[(&str, &str)] = &[
    (
        "reads per day",
        "needs Cloudflare's GraphQL Analytics API (an API token and the account id); kvgen reads the local state only",
    ),
    (
        "cache hit rate",
        "needs Cloudflare's analytics, or the Analytics Engine metrics of the cache modules; local state has no reads to count",
    ),
];

#[derive(Debug, Serialize)]
struct Report {
    /// The Wrangler config, relative to where kvgen ran.
    config: String,
    lang: &'static str,
    namespaces: Vec<NamespaceReport>,
    not_available: Vec<Unavailable>,
}

#[derive(Debug, Serialize)]
struct Unavailable {
    figure: &'static str,
    why: &'static str,
}

#[derive(Debug, Serialize)]
struct NamespaceReport {
    binding: String,
    title: String,
    purpose: &'static str,
    /// Seconds, `"none"`, or null when the design sets none.
    default_ttl: serde_json::Value,
    environments: Vec<Placement>,
    keys: Vec<KeyRow>,
    modules: Vec<String>,
    /// Null without local state.
    local: Option<LocalReport>,
    checklist: Vec<Check>,
    health: Health,
}

#[derive(Debug, Serialize)]
struct Placement {
    /// Null for the top level.
    env: Option<String>,
    bound: bool,
    id: Option<String>,
    preview_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct KeyRow {
    name: String,
    pattern: String,
    example: String,
    value: String,
    /// Seconds, or null for no expiry.
    ttl: Option<u64>,
    cache_ttl: Option<u64>,
    about: Option<String>,
    /// Live local keys that match the pattern, with local state.
    local_keys: Option<u64>,
}

#[derive(Debug, Serialize)]
struct LocalReport {
    /// The namespace `wrangler dev` uses: preview_id, else id, else the
    /// binding.
    namespace_id: String,
    #[serde(flatten)]
    figures: crate::export::local::Figures,
    /// Live keys that match none of the design's patterns.
    unmatched: u64,
}

#[derive(Debug, Serialize)]
struct Check {
    item: &'static str,
    ok: bool,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Health {
    passed: usize,
    total: usize,
}

/// The TTL writes of a key get: its own, else the namespace's.
fn key_ttl(ns: &Namespace, key: &KeyPattern) -> Option<u64> {
    match key.ttl.or(ns.default_ttl) {
        Some(Ttl::Seconds(s)) => Some(s),
        _ => None,
    }
}

fn ttl_value(ttl: Option<Ttl>) -> serde_json::Value {
    match ttl {
        Some(Ttl::Seconds(s)) => s.into(),
        Some(Ttl::Never) => "none".into(),
        None => serde_json::Value::Null,
    }
}

/// The Worker's `Env` types, read once: the output of `wrangler types`
/// when there is one, else the TypeScript sources that mention
/// `KVNamespace` (a hand-written `Env`).
pub(super) enum EnvTypes {
    Generated(String),
    Sources(Vec<(String, String)>),
}

impl EnvTypes {
    pub(super) fn read(project: &Project) -> EnvTypes {
        if let Ok(text) = std::fs::read_to_string(project.root.join("worker-configuration.d.ts")) {
            return EnvTypes::Generated(text);
        }
        let files = super::source_files(&project.root, &|name| name.ends_with(".ts"), &[]);
        EnvTypes::Sources(
            files
                .into_iter()
                .filter_map(|path| {
                    let text = std::fs::read_to_string(&path).ok()?;
                    text.contains("KVNamespace")
                        .then(|| (crate::names::relative_path(&path, &project.root), text))
                })
                .collect(),
        )
    }

    /// Where `binding` is typed, or why it is not.
    pub(super) fn find(&self, binding: &str) -> Result<String, String> {
        let declared = |text: &str| {
            text.contains(&format!("{binding}: KVNamespace"))
                || text.contains(&format!("{binding}?: KVNamespace"))
        };
        match self {
            EnvTypes::Generated(text) if declared(text) => {
                Ok("in worker-configuration.d.ts".to_string())
            }
            EnvTypes::Generated(_) => {
                Err("not in worker-configuration.d.ts: run `npx wrangler types`".to_string())
            }
            EnvTypes::Sources(files) => match files.iter().find(|(_, text)| declared(text)) {
                Some((file, _)) => Ok(format!("in {file}")),
                None => Err(format!(
                    "no `{binding}: KVNamespace` in worker-configuration.d.ts or the sources: run `npx wrangler types`, or add it to your Env"
                )),
            },
        }
    }
}

/// The report of one namespace.
fn namespace_report(
    project: &Project,
    raw_config: &str,
    types: &EnvTypes,
    ns: &Namespace,
    dir: &str,
    local: bool,
) -> anyhow::Result<NamespaceReport> {
    let shown = crate::names::show_path(&project.config);
    let entries = |env: Option<&str>| {
        crate::config::kv_namespaces(project.format, raw_config, env)
            .map_err(|e| BadInput::new(format!("{shown}:{e}")))
    };
    let mut environments = Vec::new();
    for target in ns.targets() {
        let found = entries(target.as_deref())?
            .into_iter()
            .find(|e| e.binding == ns.binding);
        environments.push(Placement {
            env: target.clone(),
            bound: found.is_some(),
            id: found.as_ref().and_then(|e| e.id.clone()),
            preview_id: found.as_ref().and_then(|e| e.preview_id.clone()),
        });
    }
    let mut keys: Vec<KeyRow> = ns
        .keys
        .iter()
        .map(|k| KeyRow {
            name: k.name.clone(),
            pattern: k.pattern.clone(),
            example: k.example_key(),
            value: k.value.word().to_string(),
            ttl: key_ttl(ns, k),
            cache_ttl: k.cache_ttl,
            about: k.about.clone(),
            local_keys: None,
        })
        .collect();

    // Local figures: the namespace `wrangler dev` uses at the top level.
    let top = entries(None)?.into_iter().find(|e| e.binding == ns.binding);
    let namespace_id = top
        .unwrap_or_else(|| KvBinding::new(ns.binding.clone()))
        .local_id();
    let state = crate::export::local::Local::new(&project.root, &namespace_id);
    let local = if state.exists() {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut counts = vec![0u64; ns.keys.len()];
        let mut unmatched = 0;
        let figures = state.figures(now_ms, &mut |key| {
            let mut any = false;
            for (count, pattern) in counts.iter_mut().zip(&ns.keys) {
                if crate::keys::pattern::matches(&pattern.pieces, key) {
                    *count += 1;
                    any = true;
                }
            }
            if !any {
                unmatched += 1;
            }
        })?;
        for (row, count) in keys.iter_mut().zip(counts) {
            row.local_keys = Some(count);
        }
        Some(LocalReport {
            namespace_id,
            figures,
            unmatched,
        })
    } else if local {
        Some(LocalReport {
            namespace_id,
            figures: Default::default(),
            unmatched: 0,
        })
    } else {
        None
    };

    let ext = project.lang.extension();
    let mut checklist = Vec::new();
    let unbound: Vec<String> = environments
        .iter()
        .filter(|p| !p.bound)
        .map(|p| place(&p.env))
        .collect();
    let without_id: Vec<String> = environments
        .iter()
        .filter(|p| p.bound && p.id.is_none())
        .map(|p| place(&p.env))
        .collect();
    checklist.push(Check {
        item: "namespace created",
        ok: unbound.is_empty(),
        detail: if !unbound.is_empty() {
            format!("not bound in {}", unbound.join(", "))
        } else if without_id.is_empty() {
            "an id in every environment".to_string()
        } else {
            format!(
                "no id in {}: wrangler creates the namespace on the first deploy",
                without_id.join(", ")
            )
        },
    });
    checklist.push(Check {
        item: "binding in every environment listed",
        ok: unbound.is_empty(),
        detail: if unbound.is_empty() {
            environments
                .iter()
                .map(|p| place(&p.env))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            format!("missing in {}: run `kvgen sync`", unbound.join(", "))
        },
    });
    checklist.push(Check {
        item: "key patterns defined",
        ok: !ns.keys.is_empty(),
        detail: if ns.keys.is_empty() {
            format!(
                "none: add one with `kvgen key add {} NAME 'prefix:{{id}}'`",
                ns.binding
            )
        } else {
            format!("{} in kvgen.toml", ns.keys.len())
        },
    });
    let ttl_set = ns.default_ttl.is_some()
        || (!ns.keys.is_empty() && ns.keys.iter().all(|k| k.ttl.is_some()));
    checklist.push(Check {
        item: "TTL strategy set",
        ok: ttl_set,
        detail: match ns.default_ttl {
            Some(Ttl::Seconds(s)) => format!("default_ttl {s} s"),
            Some(Ttl::Never) => "default_ttl \"none\": kept until deleted".to_string(),
            None if ttl_set => "a ttl on every key pattern".to_string(),
            None => "no default_ttl, and key patterns without a ttl keep their keys for good"
                .to_string(),
        },
    });
    let typed_keys = format!("{dir}/namespaces.{ext}");
    let implemented = !ns.keys.is_empty() && project.root.join(&typed_keys).is_file();
    checklist.push(Check {
        item: "patterns implemented",
        ok: implemented,
        detail: if implemented {
            typed_keys
        } else if ns.keys.is_empty() {
            "no key patterns to implement".to_string()
        } else {
            format!("{typed_keys} is missing: run `kvgen sync`")
        },
    });
    let types = match project.lang {
        Lang::Rust => Ok("workers-rs looks bindings up by name".to_string()),
        Lang::Js if !project.checks_javascript_types() => Ok(
            "JavaScript without type checking (no jsconfig.json, no worker-configuration.d.ts)"
                .to_string(),
        ),
        Lang::Ts | Lang::Js => types.find(&ns.binding),
    };
    checklist.push(Check {
        item: "types up to date",
        ok: types.is_ok(),
        detail: types.unwrap_or_else(|e| e),
    });
    let passed = checklist.iter().filter(|c| c.ok).count();
    let total = checklist.len();
    Ok(NamespaceReport {
        binding: ns.binding.clone(),
        title: ns.title(),
        purpose: ns.purpose.unwrap_or(design::Purpose::Data).word(),
        default_ttl: ttl_value(ns.default_ttl),
        environments,
        keys,
        modules: ns.modules.iter().map(|m| m.word().to_string()).collect(),
        local,
        checklist,
        health: Health { passed, total },
    })
}

fn place(env: &Option<String>) -> String {
    match env {
        Some(env) => format!("env.{env}"),
        None => "the top level".to_string(),
    }
}

/// `kvgen spec`.
pub fn run(cwd: &Path, global: &GlobalArgs, args: &SpecArgs) -> anyhow::Result<u8> {
    let config = crate::project::config_path(cwd, global.config.as_deref())?;
    let design_path = config.parent().unwrap_or(cwd).join(design::FILE);
    let shown = crate::names::show_path(&design_path);
    let raw = crate::files::read_text(&design_path, &shown)?.ok_or_else(|| {
        BadInput::new(format!(
            "{shown}: no such file; the specification is of the design, which a generating command (e.g. `kvgen create NAME`) or `kvgen init` writes"
        ))
    })?;
    let design = design::parse(&raw, &shown)?;
    let project = Project::discover(cwd, global.config.as_deref(), global.lang.or(design.lang))?;
    let config_shown = crate::names::show_path(&project.config);
    let raw_config = crate::files::read_text(&project.config, &config_shown)?
        .ok_or_else(|| BadInput::new(format!("{config_shown}: cannot read the Wrangler config")))?;
    let chosen: Vec<&Namespace> = match args.namespace.as_deref() {
        Some(binding) => vec![
            design
                .namespace(binding)
                .ok_or_else(|| BadInput::new(format!("{shown}: no namespace {binding}")))?,
        ],
        None => design.namespaces.iter().collect(),
    };
    let default_dir = design.dir.clone();
    let types = EnvTypes::read(&project);
    let mut namespaces = Vec::new();
    for ns in chosen {
        let dir = match ns.dir.clone().or_else(|| default_dir.clone()) {
            Some(dir) => dir,
            None => super::module_dir(global, &project).unwrap_or_else(|_| "src/kv".to_string()),
        };
        namespaces.push(namespace_report(
            &project,
            &raw_config,
            &types,
            ns,
            &dir,
            args.local,
        )?);
    }
    let report = Report {
        config: crate::names::relative_path(&project.config, cwd),
        lang: design::lang_word(project.lang),
        namespaces,
        not_available: NOT_AVAILABLE
            .iter()
            .map(|(figure, why)| Unavailable { figure, why })
            .collect(),
    };
    let text = match args.format {
        SpecFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        SpecFormat::Markdown => markdown(&report),
        SpecFormat::Text => text(&report, args.ascii),
    };
    super::print_report(&text, true);
    Ok(crate::error::EXIT_OK)
}

fn seconds(s: Option<u64>) -> String {
    s.map_or("none".to_string(), |s| format!("{s} s"))
}

/// A `default_ttl` as the report shows it.
fn ttl_shown(ttl: &serde_json::Value) -> String {
    match ttl {
        serde_json::Value::Number(n) => format!("{n} s"),
        serde_json::Value::String(s) => s.clone(),
        _ => "not set".to_string(),
    }
}

fn cache_seconds(s: Option<u64>) -> String {
    s.map_or("KV's 60 s".to_string(), |s| format!("{s} s"))
}

fn bar(health: &Health, ascii: bool) -> String {
    let (full, empty) = if ascii { ('#', '.') } else { ('█', '░') };
    let width = 12;
    let filled = (health.passed * width)
        .checked_div(health.total)
        .unwrap_or(0);
    format!(
        "{}{} {}/{}",
        full.to_string().repeat(filled),
        empty.to_string().repeat(width - filled),
        health.passed,
        health.total
    )
}

fn local_lines(local: &Option<LocalReport>) -> Vec<String> {
    match local {
        None => vec![
            "local data: none (nothing written with `wrangler dev` or `--local` yet)".to_string(),
        ],
        Some(l) => vec![
            format!("local namespace: {}", l.namespace_id),
            format!(
                "local keys: {} ({} bytes of values), {} with an expiration{}",
                l.figures.keys,
                l.figures.bytes,
                l.figures.expiring,
                l.figures
                    .next_expiry
                    .map(|s| format!(", the next at {s} (epoch seconds)"))
                    .unwrap_or_default()
            ),
            format!("local keys of no pattern: {}", l.unmatched),
        ],
    }
}

/// The text report: a box per namespace.
fn text(report: &Report, ascii: bool) -> String {
    let (tl, tr, bl, br, h, v, ml, mr) = if ascii {
        ('+', '+', '+', '+', '-', '|', '+', '+')
    } else {
        ('┌', '┐', '└', '┘', '─', '│', '├', '┤')
    };
    let mut out = String::new();
    for ns in &report.namespaces {
        let mut lines: Vec<Option<String>> = Vec::new();
        lines.push(Some(format!(
            "KV NAMESPACE SPECIFICATION: {} ({})",
            ns.title, ns.binding
        )));
        lines.push(None);
        lines.push(Some(format!("purpose: {}", ns.purpose)));
        lines.push(Some(format!("default TTL: {}", ttl_shown(&ns.default_ttl))));
        for p in &ns.environments {
            lines.push(Some(format!(
                "{}: {}",
                place(&p.env),
                if !p.bound {
                    "not bound".to_string()
                } else {
                    format!(
                        "id {}{}",
                        p.id.as_deref().unwrap_or("(created on deploy)"),
                        p.preview_id
                            .as_deref()
                            .map(|id| format!(", preview_id {id}"))
                            .unwrap_or_default()
                    )
                }
            )));
        }
        lines.push(Some(format!(
            "modules: {}",
            if ns.modules.is_empty() {
                "none".to_string()
            } else {
                ns.modules.join(", ")
            }
        )));
        lines.extend(local_lines(&ns.local).into_iter().map(Some));
        let missing: Vec<&str> = report.not_available.iter().map(|n| n.figure).collect();
        lines.push(Some(format!(
            "{}: not available (Cloudflare's analytics; kvgen reads local state only)",
            missing.join(", ")
        )));
        lines.push(None);
        lines.push(Some("KEY NAMING CONVENTION".to_string()));
        if ns.keys.is_empty() {
            lines.push(Some("no key patterns".to_string()));
        }
        for k in &ns.keys {
            lines.push(Some(format!(
                "{}  e.g. {}  value {}  ttl {}  cacheTtl {}{}{}",
                k.pattern,
                k.example,
                k.value,
                seconds(k.ttl),
                cache_seconds(k.cache_ttl),
                k.local_keys
                    .map(|n| format!("  local keys {n}"))
                    .unwrap_or_default(),
                k.about
                    .as_deref()
                    .map(|a| format!("  ({a})"))
                    .unwrap_or_default()
            )));
        }
        lines.push(None);
        lines.push(Some(format!("CHECKLIST  {}", bar(&ns.health, ascii))));
        for c in &ns.checklist {
            let mark = match (c.ok, ascii) {
                (true, false) => "✓",
                (false, false) => "✗",
                (true, true) => "[x]",
                (false, true) => "[ ]",
            };
            lines.push(Some(format!("{mark} {}: {}", c.item, c.detail)));
        }
        let shown: Vec<Option<String>> = lines
            .into_iter()
            .map(|l| l.map(|l| crate::names::terminal_text(&l).into_owned()))
            .collect();
        let width = shown
            .iter()
            .flatten()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        let rule = h.to_string().repeat(width + 2);
        out.push_str(&format!("{tl}{rule}{tr}\n"));
        for line in shown {
            match line {
                Some(l) => {
                    let pad = width - l.chars().count();
                    out.push_str(&format!("{v} {l}{} {v}\n", " ".repeat(pad)));
                }
                None => out.push_str(&format!("{ml}{rule}{mr}\n")),
            }
        }
        out.push_str(&format!("{bl}{rule}{br}\n\n"));
    }
    if report.namespaces.is_empty() {
        out.push_str("kvgen.toml has no namespaces yet\n");
    }
    out
}

/// A markdown table cell: pipes escaped, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The markdown report, a document a team commits.
fn markdown(report: &Report) -> String {
    let mut out = String::from("# KV namespace specification\n\n");
    out.push_str(&format!(
        "Generated by `kvgen spec --format markdown` from kvgen.toml and {}.\n",
        cell(&report.config)
    ));
    for ns in &report.namespaces {
        out.push_str(&format!("\n## {} (`{}`)\n\n", cell(&ns.title), ns.binding));
        out.push_str("| | |\n|---|---|\n");
        out.push_str(&format!("| purpose | {} |\n", ns.purpose));
        out.push_str(&format!(
            "| default TTL | {} |\n",
            ttl_shown(&ns.default_ttl)
        ));
        for p in &ns.environments {
            out.push_str(&format!(
                "| {} | {} |\n",
                place(&p.env),
                if p.bound {
                    format!(
                        "id {}{}",
                        p.id.as_deref()
                            .map_or("(created on deploy)".to_string(), |i| format!("`{i}`")),
                        p.preview_id
                            .as_deref()
                            .map(|id| format!(", preview_id `{id}`"))
                            .unwrap_or_default()
                    )
                } else {
                    "not bound".to_string()
                }
            ));
        }
        out.push_str(&format!(
            "| modules | {} |\n",
            if ns.modules.is_empty() {
                "none".to_string()
            } else {
                ns.modules.join(", ")
            }
        ));
        for line in local_lines(&ns.local) {
            let (k, v) = line.split_once(": ").unwrap_or((&line, ""));
            out.push_str(&format!("| {} | {} |\n", cell(k), cell(v)));
        }
        for na in &report.not_available {
            out.push_str(&format!(
                "| {} | not available: {} |\n",
                na.figure,
                cell(na.why)
            ));
        }
        out.push_str("\n### Key naming convention\n\n");
        if ns.keys.is_empty() {
            out.push_str("No key patterns yet.\n");
        } else {
            out.push_str("| pattern | example | value | TTL | cacheTtl | use case |\n|---|---|---|---|---|---|\n");
            for k in &ns.keys {
                out.push_str(&format!(
                    "| `{}` | `{}` | {} | {} | {} | {} |\n",
                    cell(&k.pattern),
                    cell(&k.example),
                    cell(&k.value),
                    seconds(k.ttl),
                    cache_seconds(k.cache_ttl),
                    cell(k.about.as_deref().unwrap_or(""))
                ));
            }
        }
        out.push_str(&format!(
            "\n### Checklist ({}/{})\n\n",
            ns.health.passed, ns.health.total
        ));
        for c in &ns.checklist {
            out.push_str(&format!(
                "- [{}] {}: {}\n",
                if c.ok { "x" } else { " " },
                c.item,
                cell(&c.detail)
            ));
        }
    }
    out
}
