//! `kvgen cache [PATTERN…]`: cache patterns on KV, one module per pattern,
//! the binding (CACHE by default) and, for warming, a cron trigger.

use std::path::Path;

use minijinja::{Value, context};

use super::generate;
use crate::cli::{CacheArgs, GlobalArgs, Pattern};
use crate::config::{self, KvBinding};
use crate::cron;
use crate::error::BadInput;
use crate::names;
use crate::plan::Plan;
use crate::project::Lang;
use crate::templates;

/// The binding used when `--binding` is not given.
const DEFAULT_BINDING: &str = "CACHE";

impl Pattern {
    /// The module's file name without its extension, in kebab case (the
    /// Rust file uses `_`).
    fn stem(self) -> &'static str {
        match self {
            Pattern::Aside => "cache-aside",
            Pattern::WriteThrough => "write-through",
            Pattern::Swr => "swr",
            Pattern::Invalidate => "invalidate",
            Pattern::Warm => "warm",
        }
    }

    const ALL: [Pattern; 5] = [
        Pattern::Aside,
        Pattern::WriteThrough,
        Pattern::Swr,
        Pattern::Invalidate,
        Pattern::Warm,
    ];
}

struct Request {
    patterns: Vec<Pattern>,
    binding: KvBinding,
    default_ttl: Option<u64>,
    cron: Option<String>,
}

fn request(global: &GlobalArgs, args: &CacheArgs) -> Result<Request, BadInput> {
    let mut patterns = if args.patterns.is_empty() {
        Pattern::ALL.to_vec()
    } else {
        args.patterns.clone()
    };
    patterns.sort();
    patterns.dedup();
    let binding = names::binding(global.binding.as_deref().unwrap_or(DEFAULT_BINDING))?;
    let cron = args
        .cron
        .as_deref()
        .map(|expr| {
            cron::check(expr)
                .map_err(|e| BadInput::new(format!("--cron {}: {e}", names::show(expr))))
        })
        .transpose()?;
    if cron.is_some() && !patterns.contains(&Pattern::Warm) {
        return Err(BadInput::new(
            "--cron schedules the warm pattern: add `warm` to the patterns (or give none for all)",
        ));
    }
    Ok(Request {
        patterns,
        binding: KvBinding::new(binding),
        default_ttl: generate::default_ttl(args.ttl.as_deref())?,
        cron,
    })
}

pub fn plan(cwd: &Path, global: &GlobalArgs, args: &CacheArgs) -> anyhow::Result<Plan> {
    let request = request(global, args)?;
    let mut extra: Vec<generate::ConfigEdit<'_>> = Vec::new();
    if let Some(cron) = request.cron.as_deref() {
        extra.push(Box::new(move |format, text, env| {
            config::ensure_cron(format, text, env, cron)
        }));
    }
    let mut prepared = generate::prepare(cwd, global, &request.binding, extra)?;
    let generate::Prepared {
        project, dir, plan, ..
    } = &mut prepared;

    let ttl = request.default_ttl.map_or(Value::from(()), Value::from);
    let wanted = |name: &str| {
        let stem = name.split('.').next().unwrap_or(name).replace('_', "-");
        request.patterns.iter().any(|p| p.stem() == stem)
    };
    let files = templates::render(
        project.lang,
        "cache",
        context! { default_ttl => ttl },
        &wanted,
    )?;
    generate::add_modules(plan, project, dir, files, &[], global.force)?;

    let binding = &request.binding.binding;
    let title = generate::namespace_title(binding);
    let mut next_steps = generate::binding_next_steps(&prepared, global, "cache", binding, &title);
    if request.cron.is_some() {
        next_steps.push(scheduled_handler(
            prepared.project.lang,
            &prepared.dir,
            binding,
        ));
    }
    prepared.plan.next_steps = next_steps;
    Ok(prepared.plan)
}

/// The `scheduled` handler that runs the warming on the cron trigger.
fn scheduled_handler(lang: Lang, dir: &str, binding: &str) -> String {
    match lang {
        Lang::Ts => {
            let module = dir.strip_prefix("src/").unwrap_or(dir);
            format!(
                "add a scheduled handler to your Worker's default export, e.g.:\n\
                 \x20   import {{ warm }} from \"./{module}/warm\";\n\
                 \x20   async scheduled(controller, env, ctx) {{\n\
                 \x20     ctx.waitUntil(warm(env.{binding}, entriesToWarm()));\n\
                 \x20   }},"
            )
        }
        Lang::Rust => {
            let module = dir.rsplit('/').next().unwrap_or("kv");
            format!(
                "add a scheduled handler, e.g.:\n\
                 \x20   #[event(scheduled)]\n\
                 \x20   async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {{\n\
                 \x20       let kv = env.kv(\"{binding}\").expect(\"the {binding} binding\");\n\
                 \x20       match {module}::warm::warm(&kv, entries_to_warm(), Default::default()).await {{\n\
                 \x20           Ok(report) => console_log!(\"warmed {{}} keys\", report.written),\n\
                 \x20           Err(error) => console_error!(\"warming failed: {{error}}\"),\n\
                 \x20       }}\n\
                 \x20   }}"
            )
        }
    }
}
