//! `kvgen doctor [--json]`: the KV setup checked, read only. Findings with
//! a severity (error, warning), the file and line, a message and the fix;
//! exit 1 when any error is found. The Wrangler config (bindings missing
//! from an environment, `preview_id` equal to `id`, an id shared by
//! production and another environment, fields wrangler rejects), the
//! design against the config, the generated code against the design
//! (`kvgen sync --check`; files edited since kvgen wrote them are listed
//! as information in `--json`), the `Env` types, and the Worker's own code
//! ([`crate::code_check`]).

use std::path::Path;

use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::config::KvBinding;
use crate::design::{self, Design};
use crate::error::{BadInput, EXIT_CONFLICT, EXIT_OK};
use crate::project::{Lang, Project};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Serialize)]
struct Finding {
    severity: Severity,
    file: String,
    /// 1-based; null when the finding is about the file as a whole.
    line: Option<usize>,
    message: String,
    /// What to do, a command when there is one.
    fix: String,
}

/// The fields wrangler accepts in a `kv_namespaces` entry.
const KV_FIELDS: &[&str] = &["binding", "id", "preview_id", "remote"];

/// The line of the first place `needle` is written in `text`, searched
/// from the line of `after` when given (for a message's place only).
fn line_of(text: &str, needle: &str, after: Option<usize>) -> Option<usize> {
    let start = after
        .map(|line| {
            text.split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum::<usize>()
        })
        .unwrap_or(0);
    text.get(start..)?
        .find(needle)
        .map(|at| crate::text::line_col(text, start + at).0)
}

fn place(env: Option<&str>) -> String {
    match env {
        Some(env) => format!("env.{env}"),
        None => "the top level".to_string(),
    }
}

/// The findings about the Wrangler config and the design.
fn config_findings(
    project: &Project,
    raw: &str,
    shown: &str,
    design: Option<&Design>,
) -> anyhow::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let entries = |env: Option<&str>| -> anyhow::Result<Vec<KvBinding>> {
        Ok(crate::config::kv_namespaces(project.format, raw, env)
            .map_err(|e| BadInput::new(format!("{shown}:{e}")))?)
    };
    let env_line = |env: &str| {
        line_of(raw, &format!("env.{env}"), None)
            .or_else(|| line_of(raw, &format!("\"{env}\""), None))
    };
    let top = entries(None)?;
    let mut targets: Vec<Option<String>> = vec![None];
    targets.extend(project.environments().into_iter().map(Some));
    for target in &targets {
        let env = target.as_deref();
        let list = entries(env)?;
        let after = env.and_then(env_line);
        for entry in &list {
            let at = line_of(raw, &format!("\"{}\"", entry.binding), after);
            if let (Some(id), Some(preview)) = (&entry.id, &entry.preview_id)
                && id == preview
            {
                findings.push(Finding {
                    severity: Severity::Error,
                    file: shown.to_string(),
                    line: line_of(raw, "preview_id", at),
                    message: format!(
                        "{} in {}: preview_id is the same as id, so `wrangler dev` (and the tests) write to the production namespace",
                        entry.binding,
                        place(env)
                    ),
                    fix: format!(
                        "npx wrangler kv namespace create {} --preview, then put the id it prints in preview_id",
                        entry.binding.to_ascii_lowercase().replace('_', "-")
                    ),
                });
            }
            if let (Some(env), Some(id)) = (env, &entry.id)
                && top.iter().any(|t| t.id.as_ref() == Some(id))
            {
                findings.push(Finding {
                    severity: Severity::Warning,
                    file: shown.to_string(),
                    line: line_of(raw, id, after),
                    message: format!(
                        "{} in env.{env} has the id of a top-level namespace: deploys of env.{env} read and write production data",
                        entry.binding
                    ),
                    fix: format!(
                        "npx wrangler kv namespace create {} --env {env}, then put the id it prints in env.{env}",
                        entry.binding.to_ascii_lowercase().replace('_', "-")
                    ),
                });
            }
        }
        // Fields wrangler rejects, from the config as data.
        let data = match env {
            Some(env) => &project.settings["env"][env]["kv_namespaces"],
            None => &project.settings["kv_namespaces"],
        };
        for entry in data.as_array().into_iter().flatten() {
            for field in entry.as_object().into_iter().flatten().map(|(k, _)| k) {
                if !KV_FIELDS.contains(&field.as_str()) {
                    findings.push(Finding {
                        severity: Severity::Error,
                        file: shown.to_string(),
                        line: line_of(raw, field, after),
                        message: format!(
                            "a kv_namespaces entry in {} has the field {field:?}, which wrangler rejects (it takes {})",
                            place(env),
                            KV_FIELDS.join(", ")
                        ),
                        fix: format!("remove {field:?} from the entry"),
                    });
                }
            }
        }
    }
    // ratelimits entries as wrangler's schema takes them.
    for target in &targets {
        let env = target.as_deref();
        let after = env.and_then(env_line);
        let data = match env {
            Some(env) => &project.settings["env"][env]["ratelimits"],
            None => &project.settings["ratelimits"],
        };
        for entry in data.as_array().into_iter().flatten() {
            let name = entry["name"].as_str().unwrap_or("a ratelimits entry");
            let line = line_of(raw, &format!("\"{name}\""), after).or(after);
            let mut problems = Vec::new();
            for (field, _) in entry.as_object().into_iter().flatten() {
                if !["name", "namespace_id", "simple"].contains(&field.as_str()) {
                    problems.push(format!(
                        "the field {field:?} (it takes name, namespace_id, simple)"
                    ));
                }
            }
            for field in ["name", "namespace_id", "simple"] {
                if entry.get(field).is_none() {
                    problems.push(format!("no {field}"));
                }
            }
            if let Some(id) = entry.get("namespace_id")
                && !id.as_str().is_some_and(|s| {
                    !s.is_empty()
                        && s.bytes().all(|b| b.is_ascii_digit())
                        && !s.trim_start_matches('0').is_empty()
                })
            {
                problems.push(format!(
                    "namespace_id {id}: a string of a positive integer, e.g. \"1001\""
                ));
            }
            if let Some(simple) = entry.get("simple") {
                if !simple["limit"].is_u64() {
                    problems.push("simple.limit: a whole number".to_string());
                }
                if !matches!(simple["period"].as_u64(), Some(10 | 60)) {
                    problems.push("simple.period: 10 or 60".to_string());
                }
                for (field, _) in simple.as_object().into_iter().flatten() {
                    if field != "limit" && field != "period" {
                        problems.push(format!("the field simple.{field}"));
                    }
                }
            }
            if !problems.is_empty() {
                findings.push(Finding {
                    severity: Severity::Error,
                    file: shown.to_string(),
                    line,
                    message: format!(
                        "ratelimits {name} in {}: wrangler rejects {}",
                        place(env),
                        problems.join("; ")
                    ),
                    fix: "write it as { name = \"LIMITER\", namespace_id = \"1001\", simple = { limit = 100, period = 60 } }".to_string(),
                });
            }
        }
    }
    // Bindings are not inherited: an environment with bindings of its own
    // lacks the top-level KV bindings it does not list.
    for env in project.environments_with_bindings() {
        for entry in &top {
            if !project.env_has_kv_binding(&env, &entry.binding) {
                findings.push(Finding {
                    severity: Severity::Error,
                    file: shown.to_string(),
                    line: env_line(&env),
                    message: format!(
                        "env.{env} has bindings of its own and no {}: `env.{}` is undefined in a deploy with --env {env}",
                        entry.binding, entry.binding
                    ),
                    fix: format!(
                        "kvgen create … --binding {} --env {env} (or add it to env.{env}'s kv_namespaces by hand)",
                        entry.binding
                    ),
                });
            }
        }
    }
    // The design's namespaces, where it says they are bound.
    if let Some(design) = design {
        for ns in &design.namespaces {
            for target in ns.targets() {
                let bound = match target.as_deref() {
                    None => top.iter().any(|e| e.binding == ns.binding),
                    Some(env) => project.env_has_kv_binding(env, &ns.binding),
                };
                if !bound {
                    findings.push(Finding {
                        severity: Severity::Error,
                        file: shown.to_string(),
                        line: target.as_deref().and_then(env_line),
                        message: format!(
                            "kvgen.toml binds {} in {}, and the config does not",
                            ns.binding,
                            place(target.as_deref())
                        ),
                        fix: "kvgen sync".to_string(),
                    });
                }
            }
        }
    }
    Ok(findings)
}

/// The Worker's own source files: TypeScript and JavaScript (or Rust),
/// without declaration files and kvgen's module folders.
fn sources(project: &Project, generated: &[String]) -> Vec<std::path::PathBuf> {
    let exts: &[&str] = match project.lang {
        Lang::Ts | Lang::Js => &["ts", "tsx", "mts", "cts", "js", "mjs", "cjs", "jsx"],
        Lang::Rust => &["rs"],
    };
    super::source_files(
        &project.root,
        &|name| !name.ends_with(".d.ts") && exts.iter().any(|e| name.ends_with(&format!(".{e}"))),
        generated,
    )
}

/// The findings in the Worker's own code.
fn code_findings(project: &Project, cwd: &Path, generated: &[String]) -> Vec<Finding> {
    use crate::code_check::{Kind, check_rust, check_ts};
    let mut findings = Vec::new();
    for path in sources(project, generated) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let file = crate::names::relative_path(&path, cwd);
        let depth = crate::code_check::nesting(&text);
        if depth > crate::code_check::MAX_NESTING {
            findings.push(Finding {
                severity: Severity::Warning,
                file: file.clone(),
                line: None,
                message: format!(
                    "brackets nest {depth} levels deep here, more than the {} kvgen reads: its KV calls were not checked",
                    crate::code_check::MAX_NESTING
                ),
                fix: "none needed if the file is generated or data".to_string(),
            });
            continue;
        }
        let found = match project.lang {
            Lang::Ts | Lang::Js => check_ts(&path, &text),
            Lang::Rust => check_rust(&text),
        };
        for f in found {
            let (severity, message, fix) = match f.kind {
                Kind::ShortTtl(value) => (
                    Severity::Error,
                    format!(
                        "an expiration TTL of {value} s: Workers KV refuses anything under 60 with a 400 at run time"
                    ),
                    "use at least 60 (for no expiry, leave the TTL out)".to_string(),
                ),
                Kind::UnreadCursor => (
                    Severity::Warning,
                    "list() is called once and its cursor (or list_complete) is never read in this function: it silently stops at the first 1000 keys".to_string(),
                    "call list() again with the cursor until list_complete is true (or use listAll of `kvgen bulk`)".to_string(),
                ),
                Kind::Counter(key) => (
                    Severity::Warning,
                    format!(
                        "a get and a put of {key} with arithmetic in one function: a counter kept in KV loses updates (last write wins, one write per second per key)"
                    ),
                    "run `kvgen counter`: atomic counters in a Durable Object with SQLite storage (or `kvgen ratelimit` when the count limits requests)".to_string(),
                ),
            };
            findings.push(Finding {
                severity,
                file: file.clone(),
                line: Some(f.line),
                message,
                fix,
            });
        }
    }
    findings
}

/// `kvgen doctor`.
pub fn run(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<u8> {
    let config = crate::project::config_path(cwd, global.config.as_deref())?;
    let root = config.parent().unwrap_or(cwd).to_path_buf();
    let design_path = root.join(design::FILE);
    let design_shown = crate::names::show_path(&design_path);
    let design = match crate::files::read_text(&design_path, &design_shown)? {
        Some(raw) => Some(design::parse(&raw, &design_shown)?),
        None => None,
    };
    let project = Project::discover(
        cwd,
        global.config.as_deref(),
        global.lang.or(design.as_ref().and_then(|d| d.lang)),
    )?;
    let shown = crate::names::relative_path(&project.config, cwd);
    let raw = crate::files::read_text(&project.config, &shown)?
        .ok_or_else(|| BadInput::new(format!("{shown}: cannot read the Wrangler config")))?;
    let mut findings = config_findings(&project, &raw, &shown, design.as_ref())?;

    // The Worker's own code, without the modules kvgen generates.
    let mut generated: Vec<String> = design
        .iter()
        .flat_map(|d| {
            d.namespaces
                .iter()
                .filter_map(|n| n.dir.clone())
                .chain(d.dir.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    if let Ok(dir) = super::module_dir(global, &project) {
        generated.push(dir);
    }
    findings.extend(code_findings(&project, cwd, &generated));

    // The Env types know every binding of the design.
    let typed = match project.lang {
        Lang::Ts => true,
        Lang::Js => project.checks_javascript_types(),
        Lang::Rust => false,
    };
    if typed && let Some(design) = &design {
        let types = super::spec::EnvTypes::read(&project);
        let metrics = design
            .namespaces
            .iter()
            .any(|n| n.metrics.is_some())
            .then_some(design::METRICS_BINDING);
        let bindings = design
            .namespaces
            .iter()
            .map(|n| n.binding.as_str())
            .chain(design.ratelimits.iter().map(|r| r.name.as_str()))
            .chain(design.counters.iter().map(|c| c.binding.as_str()))
            .chain(metrics);
        for binding in bindings {
            if let Err(why) = types.find(binding) {
                findings.push(Finding {
                    severity: Severity::Warning,
                    file: "worker-configuration.d.ts".to_string(),
                    line: None,
                    message: format!("{binding}: {why}"),
                    fix: "npx wrangler types".to_string(),
                });
            }
        }
    }

    // The generated code against the design: what `kvgen sync --check` says.
    if design.is_some() {
        let check = GlobalArgs {
            dry_run: true,
            json: false,
            ..global.clone()
        };
        let stale = super::sync::stale(cwd, &check)?;
        if !stale.is_empty() {
            findings.push(Finding {
                severity: Severity::Warning,
                file: design::FILE.to_string(),
                line: None,
                message: format!(
                    "the project is out of date with the design: {}",
                    stale.join(", ")
                ),
                fix: "kvgen sync".to_string(),
            });
        }
    }

    // Generated files edited since kvgen wrote them: information, not a
    // finding (kvgen merges its changes into them).
    let edited: Vec<String> = match crate::bases::Lock::read(&project.root) {
        Ok((_, lock)) => lock
            .files
            .iter()
            .filter(|(path, entry)| {
                std::fs::read_to_string(project.root.join(path)).is_ok_and(|text| {
                    crate::bases::sha256(&text.replace("\r\n", "\n")) != entry.sha256
                        && crate::bases::sha256(&text) != entry.sha256
                })
            })
            .map(|(path, _)| path.clone())
            .collect(),
        Err(_) => Vec::new(),
    };

    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let code = if errors > 0 { EXIT_CONFLICT } else { EXIT_OK };
    let text = if global.json {
        serde_json::to_string_pretty(&serde_json::json!({
            "findings": findings,
            "edited": edited,
            "errors": errors,
            "warnings": findings.len() - errors,
            "exit_code": code,
        }))? + "\n"
    } else {
        let mut out = String::new();
        for f in &findings {
            let at = match f.line {
                Some(line) => format!("{}:{line}", f.file),
                None => f.file.clone(),
            };
            let word = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push_str(&format!(
                "{word}: {at}: {}\n  fix: {}\n",
                crate::names::terminal_text(&f.message),
                crate::names::terminal_text(&f.fix)
            ));
        }
        out.push_str(&format!(
            "{} error{}, {} warning{}\n",
            errors,
            if errors == 1 { "" } else { "s" },
            findings.len() - errors,
            if findings.len() - errors == 1 {
                ""
            } else {
                "s"
            }
        ));
        out
    };
    super::print_report(&text, true);
    Ok(code)
}
