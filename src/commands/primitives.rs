//! The patterns KV itself cannot or should not hold, each on the primitive
//! that works: `kvgen ratelimit` (the Rate Limiting binding), `kvgen
//! counter` (a Durable Object with SQLite storage), and the two that do
//! belong on KV, `kvgen config` (+ `config set`) and `kvgen prefs`.

use std::path::Path;

use super::flags::{Stored, store};
use super::generate;
use super::sync::{self, Run};
use crate::cli::{ConfigSetArgs, GlobalArgs, RatelimitArgs};
use crate::config::KvBinding;
use crate::design::{self, Module, Places, Purpose, RateLimit, Record};
use crate::error::BadInput;
use crate::names;
use crate::plan::Plan;
use crate::project::Lang;

/// The binding `kvgen counter` uses when `--binding` is not given.
const COUNTER_BINDING: &str = "COUNTERS";
/// The binding `kvgen config` uses when `--binding` is not given.
const CONFIG_BINDING: &str = "CONFIG";
/// The binding `kvgen prefs` uses when `--binding` is not given.
const PREFS_BINDING: &str = "PREFS";
/// The key prefix of the generated ConfigStore (its default).
const CONFIG_PREFIX: &str = "config:";
/// The first compatibility date at which Durable Object stubs take RPC
/// calls, which the generated `counters()` makes.
const RPC_DATE: &str = "2024-04-03";

/// Why the rate limiter is not on KV, in one line.
pub const RATELIMIT_WHY: &str = "why the Rate Limiting binding and not KV: KV allows one write per second per key and is eventually consistent, so a limiter counting in KV loses requests and gets its own writes refused (429); the binding counts in the Cloudflare location that serves the request, with no storage writes (limits are per location and approximate)";
/// Why the counters are not on KV, in one line.
pub const COUNTER_WHY: &str = "why a Durable Object and not KV: concurrent increments of a KV key overwrite each other (last write wins, at most one write per second per key), so a KV counter loses counts; one Durable Object per counter runs its increments one at a time, each an atomic SQLite upsert";
/// Why configuration stays on KV, in one line.
pub const CONFIG_WHY: &str = "why KV: configuration is read on every request and changed rarely, what KV is built for; each isolate keeps what it read for memoizeSeconds, and set() (one write per second per key) belongs in admin paths";
/// Why preferences stay on KV, in one line.
pub const PREFS_WHY: &str = "why KV: one key per user, read often and written by that user now and then; update() returns what it wrote instead of reading back (another location may still serve the old value for 60 s) and retries KV's 429 with backoff";

fn named(global: &GlobalArgs, default: &str) -> Result<String, BadInput> {
    Ok(names::binding(global.binding.as_deref().unwrap_or(default))?.to_string())
}

fn number(
    flag: &str,
    text: &str,
    allowed: &dyn Fn(u64) -> bool,
    expected: &str,
) -> Result<u64, BadInput> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| allowed(*n))
        .ok_or_else(|| BadInput::new(format!("{flag} {}: expected {expected}", names::show(text))))
}

/// `kvgen ratelimit NAME --limit N --period 10|60`.
pub fn ratelimit(cwd: &Path, global: &GlobalArgs, args: &RatelimitArgs) -> anyhow::Result<Plan> {
    if global.binding.is_some() {
        return Err(BadInput::new(
            "--binding: a rate limiter's binding is its NAME (`kvgen ratelimit NAME --limit N --period 10|60`)",
        )
        .into());
    }
    let name = names::binding(&args.name)?.to_string();
    let limit = number(
        "--limit",
        &args.limit,
        &|n| (1..=1_000_000_000).contains(&n),
        "a whole number of requests from 1 to 1000000000",
    )?;
    let period = number(
        "--period",
        &args.period,
        &|n| matches!(n, 10 | 60),
        "10 or 60 (seconds): the only periods the Rate Limiting binding has",
    )?;
    let record = Record::RateLimit(RateLimit {
        name: name.clone(),
        limit,
        period,
        places: Places::default(),
    });
    let synced = sync::command_other(cwd, global, record)?;
    let prepared = synced.prepared;
    let project = &prepared.project;
    let mut steps = vec![RATELIMIT_WHY.to_string()];
    let data = crate::config::read(project.format, &prepared.config).unwrap_or_default();
    let config_name = project.relative(&project.config);
    for env in &synced.run_targets {
        let table = match env {
            None => &data,
            Some(env) => &data["env"][env],
        };
        let id = table["ratelimits"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name.as_str())
            .and_then(|r| r["namespace_id"].as_str().map(str::to_string));
        if let Some(id) = id {
            let place = env
                .as_deref()
                .map_or(String::new(), |e| format!(" (env.{e})"));
            steps.push(format!(
                "namespace_id \"{id}\" of {name}{place} in {config_name} must be unique in your Cloudflare account: kvgen picked one no rate limiter of this config uses; bindings that share an id share their counts, even across Workers, so change it if another Worker uses it"
            ));
        }
    }
    // The module's default period is the longest of the design's; a
    // limiter with another one passes its own (for Retry-After).
    let default_period = synced.design.ratelimits.iter().map(|r| r.period).max();
    let own = default_period != Some(period);
    let usage = match (project.lang, own) {
        (Lang::Ts | Lang::Js, false) => format!(
            "const limited = await new RateLimiter(env.{name}).check(request); if (limited) return limited;"
        ),
        (Lang::Ts | Lang::Js, true) => format!(
            "const limited = await new RateLimiter(env.{name}, {{ period: LIMITS.{name}.period }}).check(request); if (limited) return limited;"
        ),
        (Lang::Rust, false) => format!(
            "let limiter = RateLimiter::new(env.rate_limiter(\"{name}\")?); if let Some(limited) = limiter.check(&req, None).await? {{ return Ok(limited); }}"
        ),
        (Lang::Rust, true) => {
            use heck::ToShoutySnakeCase;
            format!(
                "let limiter = RateLimiter::with_config(env.rate_limiter(\"{name}\")?, &{}); if let Some(limited) = limiter.check(&req, None).await? {{ return Ok(limited); }}",
                name.to_shouty_snake_case()
            )
        }
    };
    steps.extend(types_steps(
        &prepared,
        global,
        &[(&name, "RateLimit")],
        &usage,
    ));
    let mut plan = prepared.plan;
    plan.next_steps = steps;
    Ok(plan)
}

/// The Env types steps of a TypeScript Worker, then the usage line (for
/// Rust, only the usage line).
fn types_steps(
    prepared: &generate::Prepared,
    global: &GlobalArgs,
    typed: &[(&str, &str)],
    usage: &str,
) -> Vec<String> {
    let project = &prepared.project;
    if project.lang == Lang::Rust {
        return vec![format!("in a handler: {usage}")];
    }
    let from = prepared
        .plan
        .header
        .as_ref()
        .map_or(project.root.as_path(), |h| h.from.as_path());
    crate::env_types::typed_steps(
        project,
        from,
        &super::config_arg(global, "-c"),
        typed,
        Some(usage),
    )
}

/// `kvgen counter [--binding NAME]`.
pub fn counter(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Plan> {
    let binding = named(global, COUNTER_BINDING)?;
    let record = Record::Counter(design::Counter {
        binding: binding.clone(),
        places: Places::default(),
    });
    let synced = sync::command_other(cwd, global, record)?;
    let prepared = synced.prepared;
    let project = &prepared.project;
    let class = design::COUNTER_CLASS;
    let mut steps = vec![COUNTER_WHY.to_string()];
    let mut warnings = Vec::new();
    if project.settings.get("exports").is_some() {
        steps.push(format!(
            "declare the class in `exports` of {}: \"{class}\": {{ \"type\": \"durable-object\", \"storage\": \"sqlite\" }} (this config declares its Durable Objects there, which cannot go with `migrations`, so kvgen added no migration and left `exports` alone)",
            project.relative(&project.config)
        ));
    } else {
        steps.push(format!(
            "{}   # creates the {class} class (its migration) and the binding in Cloudflare",
            generate::wrangler(global, "deploy", None)
        ));
    }
    if project.lang.is_typescript_family() {
        let date = project.settings["compatibility_date"]
            .as_str()
            .unwrap_or("");
        let flags = project.settings["compatibility_flags"].as_array();
        let rpc_flag = flags.is_some_and(|f| f.iter().any(|v| v == "rpc"));
        if date < RPC_DATE && !rpc_flag {
            warnings.push(format!(
                "counters() calls the {class} Durable Object over RPC, which needs compatibility_date {RPC_DATE} or later (this config has {}): raise it in {}",
                if date.is_empty() { "none" } else { date },
                project.relative(&project.config)
            ));
        }
    }
    let usage = match project.lang {
        Lang::Ts | Lang::Js => {
            format!("const hits = await counters(env.{binding}).increment(\"hits\");")
        }
        Lang::Rust => format!(
            "let hits = counters(env.durable_object(\"{binding}\")?).increment(\"hits\", 1).await?;"
        ),
    };
    steps.extend(types_steps(
        &prepared,
        global,
        &[(&binding, "DurableObjectNamespace<Counter>")],
        &usage,
    ));
    let mut plan = prepared.plan;
    plan.next_steps = steps;
    plan.warnings.extend(warnings);
    Ok(plan)
}

/// `kvgen config` and `kvgen prefs`: a KV namespace and its module.
fn kv_module(
    cwd: &Path,
    global: &GlobalArgs,
    default: &str,
    purpose: Purpose,
    module: Module,
    why: &str,
) -> anyhow::Result<(Plan, String)> {
    let binding = KvBinding::new(named(global, default)?);
    let run = Run {
        binding: &binding.binding,
        title: None,
        purpose,
        default_ttl: None,
        fallback_ttl: None,
        modules: &[module],
        cron: None,
        cookie: None,
        metrics: None,
    };
    let synced = sync::command(cwd, global, run, binding.clone(), module.word())?;
    let mut plan = synced.prepared.plan;
    plan.next_steps.insert(0, why.to_string());
    Ok((plan, binding.binding))
}

/// `kvgen config`.
pub fn config(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Plan> {
    let (mut plan, binding) = kv_module(
        cwd,
        global,
        CONFIG_BINDING,
        Purpose::Config,
        Module::Config,
        CONFIG_WHY,
    )?;
    plan.next_steps.push(generate::follow_up(
        "kvgen config set app --value '{\"maintenance\":false}'",
        global,
        &binding,
        "prints the command that stores a configuration",
    ));
    Ok(plan)
}

/// `kvgen prefs`.
pub fn prefs(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Plan> {
    Ok(kv_module(
        cwd,
        global,
        PREFS_BINDING,
        Purpose::Data,
        Module::Prefs,
        PREFS_WHY,
    )?
    .0)
}

/// `kvgen config set NAME --value JSON`: the value checked (a JSON object,
/// within KV's value limit) and the Wrangler command that stores it.
pub fn config_set(global: &GlobalArgs, args: &ConfigSetArgs) -> anyhow::Result<u8> {
    let name = names::flag(&args.name).map_err(|_| {
        BadInput::new(format!(
            "the configuration name {} is not valid; use letters, digits, '-', '_' and '.', starting with a letter or digit",
            names::show(&args.name)
        ))
    })?;
    let binding = named(global, CONFIG_BINDING)?;
    let value: serde_json::Value = serde_json::from_str(&args.value)
        .map_err(|e| BadInput::new(format!("--value: not JSON ({e})")))?;
    if !value.is_object() {
        return Err(BadInput::new(
            "--value: a configuration is a JSON object (its fields are merged over the ConfigStore's defaults)",
        )
        .into());
    }
    // The text as given, without its surrounding whitespace: what the
    // store reads back is exactly this.
    let json = serde_json::to_string(&serde_json::value::RawValue::from_string(
        args.value.trim().to_string(),
    )?)?;
    if json.len() > crate::bulk::entry::MAX_VALUE_BYTES {
        return Err(BadInput::new(format!(
            "--value: {} bytes, over KV's value limit of 25 MiB",
            json.len()
        ))
        .into());
    }
    let stored = Stored {
        command: "config set",
        noun: "config",
        generator: "config",
        name,
        binding: &binding,
        key: format!("{CONFIG_PREFIX}{name}"),
        json,
    };
    store(global, &stored, args.out.as_deref())
}
