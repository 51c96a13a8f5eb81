//! `kvgen cache [PATTERN…]`: cache patterns on KV, one module per pattern,
//! the binding (CACHE by default) and, for warming, a cron trigger.

use std::path::Path;

use super::generate;
use super::sync::{self, Run};
use crate::cli::{CacheArgs, GlobalArgs, Pattern};
use crate::config::{self, KvBinding};
use crate::cron;
use crate::design::{Module, Purpose};
use crate::error::BadInput;
use crate::names;
use crate::plan::Plan;
use crate::project::{Lang, Project};
use clap::ValueEnum;

/// The binding used when `--binding` is not given.
const DEFAULT_BINDING: &str = "CACHE";

impl Pattern {
    /// The module of the design this pattern is.
    fn module(self) -> Module {
        match self {
            Pattern::Aside => Module::Aside,
            Pattern::WriteThrough => Module::WriteThrough,
            Pattern::Swr => Module::Swr,
            Pattern::Invalidate => Module::Invalidate,
            Pattern::Warm => Module::Warm,
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
    let modules: Vec<Module> = request.patterns.iter().map(|p| p.module()).collect();
    let binding = &request.binding.binding;
    let mut words = String::from("cache");
    if !args.patterns.is_empty() {
        for pattern in &request.patterns {
            words.push(' ');
            words.push_str(
                pattern
                    .to_possible_value()
                    .expect("every pattern is a value")
                    .get_name(),
            );
        }
    }
    let metrics = args
        .metrics
        .as_deref()
        .map(|dataset| {
            crate::design::check_dataset(dataset)
                .map(|()| dataset.to_string())
                .map_err(|e| BadInput::new(format!("--metrics: {e}")))
        })
        .transpose()?;
    if metrics.is_some()
        && !request
            .patterns
            .iter()
            .any(|p| matches!(p, Pattern::Aside | Pattern::Swr))
    {
        return Err(BadInput::new(
            "--metrics counts the lookups of cacheAside and staleWhileRevalidate: add `aside` or `swr` to the patterns (or give none for all)",
        )
        .into());
    }
    let line = generate::command_line(
        &words,
        &[
            ("--ttl", args.ttl.as_deref()),
            ("--cron", request.cron.as_deref()),
            ("--metrics", metrics.as_deref()),
        ],
    );
    let run = Run {
        binding,
        title: None,
        purpose: Purpose::Cache,
        default_ttl: args
            .ttl
            .as_ref()
            .map(|_| super::create::ttl(request.default_ttl)),
        fallback_ttl: Some(super::create::ttl(request.default_ttl)),
        modules: &modules,
        cron: request.cron.clone(),
        cookie: None,
        metrics: metrics.clone(),
    };
    let synced = sync::command(cwd, global, run, request.binding.clone(), &line)?;
    let prepared = synced.prepared;
    let mut next_steps = prepared.plan.next_steps.clone();
    if let Some(cron) = request.cron.as_deref() {
        let project = &prepared.project;
        let existing = existing_scheduled(project).map(|file| Existing {
            file,
            runs_on_cron: listed_before(project, &prepared.envs, cron),
        });
        let mut import = import_path(project.main.as_deref(), &prepared.dir, "warm");
        if crate::ts_style::imports_need_extension(&crate::project::workspace_dirs(&project.root)) {
            import.push_str(".js");
        }
        next_steps.push(scheduled_handler(
            project.lang,
            &import,
            &prepared.dir,
            binding,
            cron,
            existing.as_ref(),
        ));
    }
    if let Some(dataset) = &metrics {
        next_steps.extend(metrics_steps(prepared.project.lang, dataset, &prepared.dir));
    }
    let mut plan = prepared.plan;
    plan.next_steps = next_steps;
    Ok(plan)
}

/// The SQL of the hit rate per key prefix over the last day, weighted by
/// `_sample_interval` (Analytics Engine samples), from the data points the
/// cache functions write (blob2 the prefix, blob3 the outcome).
pub fn hit_rate_sql(dataset: &str) -> String {
    format!(
        "SELECT blob2 AS prefix, SUM(_sample_interval) AS lookups, SUM(IF(blob3 = 'hit', _sample_interval, 0)) / SUM(_sample_interval) AS hit_rate, SUM(IF(blob3 = 'stale', _sample_interval, 0)) / SUM(_sample_interval) AS stale_rate FROM {dataset} WHERE timestamp > NOW() - INTERVAL '1' DAY GROUP BY prefix ORDER BY lookups DESC"
    )
}

/// How to use and read the cache metrics.
fn metrics_steps(lang: Lang, dataset: &str, dir: &str) -> Vec<String> {
    let option = match lang {
        Lang::Ts | Lang::Js => {
            "pass `metrics: env.KV_METRICS` in the options of cacheAside and staleWhileRevalidate: one data point per lookup (function, key prefix, hit/miss/stale/error, milliseconds), written without waiting and never failing the lookup"
        }
        Lang::Rust => {
            "set `metrics` in the options of cache_aside and stale_while_revalidate to the KV_METRICS dataset (`env.analytics_engine(\"KV_METRICS\")?`): one data point per lookup, never failing it"
        }
    };
    vec![
        format!("{option} ({dir}/metrics)"),
        format!(
            "curl \"https://api.cloudflare.com/client/v4/accounts/$CLOUDFLARE_ACCOUNT_ID/analytics_engine/sql\" -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\" --data \"{}\"   # the hit rate per key prefix over the last day (a token with Account Analytics Read; Analytics Engine records nothing under wrangler dev)",
            hit_rate_sql(dataset)
        ),
    ]
}

/// Adds `cron` where the Worker of `env` reads its crons. `triggers` is
/// inherited by environments, and an environment's own `triggers` replaces
/// the top level's: an environment without one gets the cron from the top
/// level when the run adds it there (`top_level_too`) or it is there
/// already, else its own `triggers` holding the inherited crons and the new
/// one, so that none it ran before is lost.
pub(super) fn cron_edit(
    format: config::Format,
    text: &str,
    env: Option<&str>,
    cron: &str,
    top_level_too: bool,
) -> Result<config::Edit, config::EditError> {
    let Some(name) = env else {
        return config::ensure_cron(format, text, None, cron);
    };
    let data = config::read(format, text)?;
    let own = data["env"][name].get("triggers").is_some();
    if own {
        return config::ensure_cron(format, text, env, cron);
    }
    let inherited = config::crons(format, text, None)?;
    if top_level_too || inherited.iter().any(|c| c == cron) {
        return Ok(config::Edit {
            text: text.to_string(),
            status: config::EditStatus::Unchanged,
        });
    }
    let mut edited = text.to_string();
    for expr in inherited.iter().map(String::as_str).chain([cron]) {
        edited = config::ensure_cron(format, &edited, env, expr)?.text;
    }
    let status = if edited == text {
        config::EditStatus::Unchanged
    } else {
        config::EditStatus::Changed
    };
    Ok(config::Edit {
        text: edited,
        status,
    })
}

/// A `scheduled` handler the Worker has already.
struct Existing {
    /// The file it is in.
    file: String,
    /// Whether the cron was in the config before the run: the handler runs
    /// on it already.
    runs_on_cron: bool,
}

/// Whether `cron` was a trigger of the Worker before the run, where the run
/// adds it (the top level's crons count for an environment without
/// triggers of its own, which inherits them).
fn listed_before(project: &Project, envs: &[Option<String>], cron: &str) -> bool {
    let listed = |table: &serde_json::Value| {
        table["triggers"]["crons"]
            .as_array()
            .is_some_and(|crons| crons.iter().any(|c| c == cron))
    };
    envs.iter().any(|env| match env {
        None => listed(&project.settings),
        Some(env) => {
            let table = &project.settings["env"][env];
            if table.get("triggers").is_some() {
                listed(table)
            } else {
                listed(&project.settings)
            }
        }
    })
}

/// The `scheduled` handler that runs the warming on the cron trigger. When
/// the Worker has one already, the snippet dispatches on the cron instead:
/// the new one warms, every other one runs what the handler did before; a
/// cron that triggered the handler already does both.
fn scheduled_handler(
    lang: Lang,
    import: &str,
    dir: &str,
    binding: &str,
    cron: &str,
    existing: Option<&Existing>,
) -> String {
    match (lang, existing) {
        (Lang::Ts | Lang::Js, None) => {
            format!(
                "add a scheduled handler to your Worker's default export, e.g.:\n\
                 \x20   import {{ warm }} from \"{import}\";\n\
                 \x20   async scheduled(controller, env, ctx) {{\n\
                 \x20     ctx.waitUntil(warm(env.{binding}, entriesToWarm()));\n\
                 \x20   }},"
            )
        }
        (
            Lang::Ts | Lang::Js,
            Some(Existing {
                file,
                runs_on_cron: true,
            }),
        ) => {
            let cron = js_string(cron);
            format!(
                "{file} has a scheduled handler already, which {cron} triggers: warm there \
                 as well as running what it does, e.g.:\n\
                 \x20   import {{ warm }} from \"{import}\";\n\
                 \x20   async scheduled(controller, env, ctx) {{\n\
                 \x20     if (controller.cron === {cron}) {{\n\
                 \x20       ctx.waitUntil(warm(env.{binding}, entriesToWarm()));\n\
                 \x20     }}\n\
                 \x20     await runScheduledAsBefore(controller, env, ctx); // the handler's previous body\n\
                 \x20   }},"
            )
        }
        (Lang::Ts | Lang::Js, Some(Existing { file, .. })) => {
            let case = js_string(cron);
            format!(
                "{file} has a scheduled handler already: dispatch on the cron there, the \
                 existing logic staying the default, e.g.:\n\
                 \x20   import {{ warm }} from \"{import}\";\n\
                 \x20   async scheduled(controller, env, ctx) {{\n\
                 \x20     switch (controller.cron) {{\n\
                 \x20       case {case}:\n\
                 \x20         ctx.waitUntil(warm(env.{binding}, entriesToWarm()));\n\
                 \x20         break;\n\
                 \x20       default:\n\
                 \x20         await runScheduledAsBefore(controller, env, ctx); // the handler's previous body\n\
                 \x20     }}\n\
                 \x20   }},"
            )
        }
        (Lang::Rust, existing) => {
            let module = dir.rsplit('/').next().unwrap_or("kv");
            let warm = format!(
                "let kv = env.kv(\"{binding}\").expect(\"the {binding} binding\");\n\
                 match {module}::warm::warm(&kv, entries_to_warm(), Default::default()).await {{\n\
                 \x20   Ok(report) => console_log!(\"warmed {{}} keys\", report.written),\n\
                 \x20   Err(error) => console_error!(\"warming failed: {{error}}\"),\n\
                 }}"
            );
            let indent = |text: &str, by: &str| -> String {
                text.lines()
                    .map(|line| format!("{by}{line}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            match existing {
                None => format!(
                    "add a scheduled handler, e.g.:\n\
                     \x20   #[event(scheduled)]\n\
                     \x20   async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {{\n\
                     {}\n\
                     \x20   }}",
                    indent(&warm, "        ")
                ),
                Some(Existing {
                    file,
                    runs_on_cron: true,
                }) => format!(
                    "{file} has a scheduled handler already, which {case} triggers: warm there \
                     as well as running what it does, e.g.:\n\
                     \x20   #[event(scheduled)]\n\
                     \x20   async fn scheduled(event: ScheduledEvent, env: Env, ctx: ScheduleContext) {{\n\
                     \x20       if event.cron() == {case} {{\n\
                     {}\n\
                     \x20       }}\n\
                     \x20       run_scheduled_as_before(event, env, ctx).await; // the handler's previous body\n\
                     \x20   }}",
                    indent(&warm, "            "),
                    case = rust_string(cron),
                ),
                Some(Existing { file, .. }) => format!(
                    "{file} has a scheduled handler already: dispatch on the cron there, the \
                     existing logic staying the fallback, e.g.:\n\
                     \x20   #[event(scheduled)]\n\
                     \x20   async fn scheduled(event: ScheduledEvent, env: Env, ctx: ScheduleContext) {{\n\
                     \x20       match event.cron().as_str() {{\n\
                     \x20           {case} => {{\n\
                     {}\n\
                     \x20           }}\n\
                     \x20           _ => run_scheduled_as_before(event, env, ctx).await, // the handler's previous body\n\
                     \x20       }}\n\
                     \x20   }}",
                    indent(&warm, "                "),
                    case = rust_string(cron),
                ),
            }
        }
    }
}

/// A JavaScript string literal holding `text`.
fn js_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// A Rust string literal holding `text`.
fn rust_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The import of `module` in the module folder `dir` from the Worker's
/// entry `main` (both relative to the project root), e.g. `./kv/warm`.
fn import_path(main: Option<&str>, dir: &str, module: &str) -> String {
    let from: Vec<&str> = match main {
        Some(main) => main
            .rsplit_once('/')
            .map_or_else(Vec::new, |(folder, _)| folder.split('/').collect()),
        None => vec!["src"],
    };
    let to: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    if parts.is_empty() {
        parts.push(".");
    }
    parts.extend(&to[common..]);
    parts.push(module);
    parts.join("/")
}

/// The file of the Worker that has a `scheduled` handler already, if any:
/// for TypeScript and JavaScript the entry (`main`), for Rust any source
/// file of the crate with an `#[event(scheduled)]` function.
fn existing_scheduled(project: &Project) -> Option<String> {
    match project.lang {
        Lang::Ts | Lang::Js => {
            let main = project.main.as_deref()?;
            let source = crate::files::peek_text(&project.root.join(main))?;
            scheduled::in_script(&source).then(|| main.to_string())
        }
        Lang::Rust => scheduled::in_crate(&project.root),
    }
}

/// Finding a `scheduled` handler in a Worker's sources.
mod scheduled {
    use std::path::Path;

    /// A token of JavaScript or TypeScript, as far as finding handlers goes.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Token {
        Word(String),
        Punct(char),
        Str(String),
    }

    /// The tokens of `source`: comments skipped, strings and templates as
    /// one token each (a template's `${…}` code is read as code), regular
    /// expression literals skipped.
    fn tokens(source: &str) -> Vec<Token> {
        let chars: Vec<char> = source.chars().collect();
        let mut out = Vec::new();
        // For each `{` open inside a template's `${`, whether it is the one
        // that returns to the template.
        let mut braces: Vec<bool> = Vec::new();
        let mut i = 0;
        let mut template: Option<String> = None;
        while i < chars.len() {
            if let Some(text) = template.as_mut() {
                match chars[i] {
                    '\\' => {
                        text.extend(chars.get(i..i + 2).unwrap_or(&[]));
                        i += 2;
                    }
                    '`' => {
                        out.push(Token::Str(std::mem::take(text)));
                        template = None;
                        i += 1;
                    }
                    '$' if chars.get(i + 1) == Some(&'{') => {
                        out.push(Token::Str(std::mem::take(text)));
                        template = None;
                        braces.push(true);
                        i += 2;
                    }
                    c => {
                        text.push(c);
                        i += 1;
                    }
                }
                continue;
            }
            let c = chars[i];
            match c {
                '/' if chars.get(i + 1) == Some(&'/') => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                }
                '/' if chars.get(i + 1) == Some(&'*') => {
                    i += 2;
                    while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                        i += 1;
                    }
                    i += 2;
                }
                '/' if starts_regex(out.last()) => {
                    i += 1;
                    let mut class = false;
                    while i < chars.len() && chars[i] != '\n' {
                        match chars[i] {
                            '\\' => i += 1,
                            '[' => class = true,
                            ']' => class = false,
                            '/' if !class => break,
                            _ => {}
                        }
                        i += 1;
                    }
                    i += 1;
                    while i < chars.len() && chars[i].is_ascii_alphabetic() {
                        i += 1;
                    }
                    out.push(Token::Str(String::new()));
                }
                '\'' | '"' => {
                    let mut text = String::new();
                    i += 1;
                    while i < chars.len() && chars[i] != c && chars[i] != '\n' {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        if let Some(&ch) = chars.get(i) {
                            text.push(ch);
                        }
                        i += 1;
                    }
                    i += 1;
                    out.push(Token::Str(text));
                }
                '`' => {
                    template = Some(String::new());
                    i += 1;
                }
                c if c == '_' || c == '$' || c.is_alphanumeric() => {
                    let start = i;
                    while i < chars.len()
                        && (chars[i] == '_' || chars[i] == '$' || chars[i].is_alphanumeric())
                    {
                        i += 1;
                    }
                    out.push(Token::Word(chars[start..i].iter().collect()));
                }
                c if c.is_whitespace() => i += 1,
                '{' => {
                    braces.push(false);
                    out.push(Token::Punct('{'));
                    i += 1;
                }
                '}' => {
                    i += 1;
                    if braces.pop() == Some(true) {
                        template = Some(String::new());
                    } else {
                        out.push(Token::Punct('}'));
                    }
                }
                c => {
                    out.push(Token::Punct(c));
                    i += 1;
                }
            }
        }
        out
    }

    /// Whether a `/` after `previous` starts a regular expression literal
    /// rather than dividing.
    fn starts_regex(previous: Option<&Token>) -> bool {
        match previous {
            None => true,
            Some(Token::Punct(c)) => !matches!(c, ')' | ']' | '}'),
            Some(Token::Word(word)) => matches!(
                word.as_str(),
                "return"
                    | "typeof"
                    | "case"
                    | "do"
                    | "else"
                    | "in"
                    | "of"
                    | "new"
                    | "throw"
                    | "void"
                    | "yield"
                    | "await"
                    | "delete"
                    | "instanceof"
            ),
            Some(Token::Str(_)) => false,
        }
    }

    /// What a `{` opens, as far as handlers go.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Opens {
        /// A class body: methods and fields.
        Class,
        /// A type (`interface`, `type X = {`): no code.
        Type,
        /// Names imported, exported or destructured.
        Names,
        /// An object literal or a block.
        Other,
    }

    fn word(token: Option<&Token>, expected: &str) -> bool {
        matches!(token, Some(Token::Word(w)) if w == expected)
    }

    fn punct(token: Option<&Token>, expected: char) -> bool {
        token == Some(&Token::Punct(expected))
    }

    /// What the `{` at `at` opens, from the tokens before it.
    fn opens(tokens: &[Token], at: usize) -> Opens {
        let before = |n: usize| at.checked_sub(n).and_then(|i| tokens.get(i));
        if ["import", "export", "const", "let", "var"]
            .iter()
            .any(|w| word(before(1), w))
        {
            return Opens::Names;
        }
        if punct(before(1), '=') && word(before(3), "type") {
            return Opens::Type;
        }
        for token in tokens[..at].iter().rev() {
            match token {
                Token::Word(w) if w == "class" => return Opens::Class,
                Token::Word(w) if w == "interface" => return Opens::Type,
                Token::Punct(';' | '{' | '}' | '(' | ')' | '=') => break,
                _ => {}
            }
        }
        Opens::Other
    }

    /// The index just past the `)` that closes the `(` at `open`.
    fn after_parens(tokens: &[Token], open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for (i, token) in tokens.iter().enumerate().skip(open) {
            match token {
                Token::Punct('(') => depth += 1,
                Token::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Whether JavaScript or TypeScript `source` (a Worker's entry) has a
    /// `scheduled` handler: a method or property `scheduled` of an object
    /// (the default export) or of a class (a `WorkerEntrypoint`), an
    /// exported `function scheduled`, or `addEventListener("scheduled", …)`.
    pub fn in_script(source: &str) -> bool {
        let tokens = tokens(source);
        let mut open: Vec<Opens> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let at = |n: isize| i.checked_add_signed(n).and_then(|j| tokens.get(j));
            match token {
                Token::Punct('{') => {
                    open.push(opens(&tokens, i));
                    continue;
                }
                Token::Punct('}') => {
                    open.pop();
                    continue;
                }
                Token::Word(w) if w == "addEventListener" => {
                    if punct(at(1), '(') && at(2) == Some(&Token::Str("scheduled".into())) {
                        return true;
                    }
                    continue;
                }
                Token::Word(w) if w == "scheduled" => {}
                _ => continue,
            }
            let inside = open.last().copied().unwrap_or(Opens::Other);
            if inside == Opens::Type || inside == Opens::Names || punct(at(-1), '.') {
                continue;
            }
            let previous = at(-1);
            let starts_member = previous.is_none_or(|p| {
                matches!(p, Token::Punct('{' | ',' | ';' | '}' | '*'))
                    || ["async", "static", "public", "override"]
                        .iter()
                        .any(|w| word(Some(p), w))
            });
            if word(previous, "function") {
                // `export [default] [async] function scheduled`.
                let exported = (2..=4).any(|n| word(at(-n), "export"));
                if exported {
                    return true;
                }
                continue;
            }
            if !starts_member {
                continue;
            }
            match at(1) {
                // A method: `scheduled(…) {` or `scheduled(…): Promise<void> {`.
                Some(Token::Punct('(')) => {
                    let after = after_parens(&tokens, i + 1);
                    let next = after.and_then(|j| tokens.get(j));
                    if punct(next, '{') || punct(next, ':') {
                        return true;
                    }
                }
                // A property: `scheduled: handler`, or shorthand `scheduled,`.
                Some(Token::Punct(':' | ',' | '}'))
                    if inside == Opens::Other
                        && matches!(previous, Some(Token::Punct('{' | ','))) =>
                {
                    return true;
                }
                // A class field: `scheduled = async (…) => {…}`.
                Some(Token::Punct('=')) if inside == Opens::Class && !punct(at(2), '=') => {
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    /// The first source file under `root`'s `src/` (in path order) with an
    /// `#[event(scheduled)]` function, relative to `root`.
    pub fn in_crate(root: &Path) -> Option<String> {
        let mut files = Vec::new();
        rust_files(&root.join("src"), &mut files, 0);
        files.sort();
        files.into_iter().find_map(|path| {
            let source = crate::files::peek_text(&path)?;
            let file = syn::parse_file(&source).ok()?;
            has_scheduled_event(&file.items).then(|| {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            })
        })
    }

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>, depth: usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < 8 {
                rust_files(&path, out, depth + 1);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Whether `items` (or an inline module among them) hold a function with
    /// `#[event(scheduled)]` (or `#[worker::event(scheduled)]`).
    pub fn has_scheduled_event(items: &[syn::Item]) -> bool {
        items.iter().any(|item| match item {
            syn::Item::Fn(function) => function.attrs.iter().any(|attr| {
                let is_event = attr
                    .path()
                    .segments
                    .last()
                    .is_some_and(|segment| segment.ident == "event");
                let scheduled = match &attr.meta {
                    syn::Meta::List(list) => list
                        .tokens
                        .clone()
                        .into_iter()
                        .any(|t| t.to_string() == "scheduled"),
                    _ => false,
                };
                is_event && scheduled
            }),
            syn::Item::Mod(module) => module
                .content
                .as_ref()
                .is_some_and(|(_, items)| has_scheduled_event(items)),
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::scheduled::in_script;
    use super::*;

    #[test]
    fn scheduled_handlers_are_found_in_every_form() {
        for source in [
            "export default {\n  async fetch(req) { return new Response('ok'); },\n  async scheduled(controller, env, ctx) {\n    ctx.waitUntil(run());\n  },\n};\n",
            "export default {\n  scheduled(event, env, ctx) {},\n} satisfies ExportedHandler<Env>;\n",
            "export default {\n  async scheduled(controller: ScheduledController, env: Env): Promise<void> {}\n};\n",
            "const app = new Hono();\nexport default { fetch: app.fetch, scheduled: onCron };\n",
            "import { scheduled } from './cron';\nexport default { fetch, scheduled };\n",
            "export default { fetch: app.fetch, scheduled }\n",
            "export default {\n  'scheduled'\n};\nexport default { async *scheduled() {} }\n",
            "export async function scheduled(controller, env, ctx) {}\n",
            "export default async function scheduled(event) {}\n",
            "addEventListener('scheduled', (event) => { event.waitUntil(run()); });\n",
            "export default class extends WorkerEntrypoint<Env> {\n  async fetch() { return new Response(''); }\n  async scheduled(controller: ScheduledController) {}\n}\n",
            "export class Main extends WorkerEntrypoint {\n  scheduled = async (controller) => {};\n}\n",
            "const handler: ExportedHandler<Env> = {\n  scheduled: async (c, env, ctx) => {},\n};\nexport default handler;\n",
        ] {
            assert!(in_script(source), "{source}");
        }
    }

    #[test]
    fn a_mention_of_scheduled_is_not_a_handler() {
        for source in [
            "// async scheduled(controller, env, ctx) {}\nexport default { fetch };\n",
            "/* scheduled: later */ export default { async fetch() {} };\n",
            "export default { async fetch() { return new Response('scheduled: no, scheduled(x) {}'); } };\n",
            "export default { async fetch() { return new Response(`${a}scheduled(x) {}`); } };\n",
            "const r = /scheduled(x) {/;\nexport default { fetch };\n",
            "import { scheduled } from './cron';\nexport default { fetch };\n",
            "export { scheduled } from './cron';\n",
            "interface Handlers {\n  scheduled(controller: ScheduledController): void;\n  scheduled: () => void;\n}\n",
            "type Handlers = { scheduled: () => void };\n",
            "export default { async fetch() { await worker.scheduled(controller, env, ctx); return x ? scheduled(a) : b; } };\n",
            "const { scheduled } = handlers;\n",
            "function scheduled() {}\nexport default { fetch };\n",
            "export default { async fetch(request, env) { const scheduled = 1; return scheduled; } };\n",
        ] {
            assert!(!in_script(source), "{source}");
        }
    }

    #[test]
    fn rust_scheduled_events_are_found_in_modules_too() {
        let has =
            |source: &str| scheduled::has_scheduled_event(&syn::parse_file(source).unwrap().items);
        assert!(has(
            "use worker::*;\n#[event(scheduled)]\npub async fn cron(e: ScheduledEvent, env: Env, _c: ScheduleContext) {}\n"
        ));
        assert!(has(
            "mod jobs {\n    #[worker::event(scheduled)]\n    async fn run(e: worker::ScheduledEvent, env: worker::Env, c: worker::ScheduleContext) {}\n}\n"
        ));
        assert!(!has(
            "#[event(fetch)]\nasync fn main(req: Request, env: Env, _ctx: Context) -> Result<Response> { todo!() }\n// #[event(scheduled)]\n"
        ));
    }

    #[test]
    fn imports_are_relative_to_the_entry() {
        assert_eq!(
            import_path(Some("src/index.ts"), "src/kv", "warm"),
            "./kv/warm"
        );
        assert_eq!(
            import_path(Some("worker/index.ts"), "worker/kv", "warm"),
            "./kv/warm"
        );
        assert_eq!(import_path(Some("index.js"), "kv", "warm"), "./kv/warm");
        assert_eq!(
            import_path(Some("src/worker/index.ts"), "src/kv", "warm"),
            "../kv/warm"
        );
        assert_eq!(import_path(None, "src/kv", "warm"), "./kv/warm");
    }

    fn existing(runs_on_cron: bool) -> Existing {
        Existing {
            file: "src/index.ts".to_string(),
            runs_on_cron,
        }
    }

    #[test]
    fn an_existing_handler_gets_a_dispatch_on_the_cron() {
        let step = scheduled_handler(
            Lang::Ts,
            "./kv/warm",
            "src/kv",
            "CACHE",
            "*/30 * * * *",
            Some(&existing(false)),
        );
        assert!(
            step.starts_with("src/index.ts has a scheduled handler already"),
            "{step}"
        );
        assert!(step.contains("switch (controller.cron) {"), "{step}");
        assert!(step.contains("case \"*/30 * * * *\":"), "{step}");
        assert!(step.contains("default:\n"), "{step}");
        let fresh = scheduled_handler(
            Lang::Ts,
            "./kv/warm.js",
            "src/kv",
            "CACHE",
            "0 * * * *",
            None,
        );
        assert!(!fresh.contains("switch"), "{fresh}");
        assert!(
            fresh.contains("import { warm } from \"./kv/warm.js\";"),
            "{fresh}"
        );
        assert!(fresh.contains("ctx.waitUntil(warm(env.CACHE, entriesToWarm()));"));

        let step = scheduled_handler(
            Lang::Rust,
            "",
            "src/kv",
            "CACHE",
            "0 * * * *",
            Some(&existing(false)),
        );
        assert!(step.contains("match event.cron().as_str() {"), "{step}");
        assert!(step.contains("\"0 * * * *\" => {"), "{step}");
        assert!(
            step.contains("_ => run_scheduled_as_before(event, env, ctx).await"),
            "{step}"
        );
        let fresh = scheduled_handler(Lang::Rust, "", "src/kv", "CACHE", "0 * * * *", None);
        assert!(!fresh.contains("match event.cron()"), "{fresh}");
        assert!(fresh.contains("        match kv::warm::warm("), "{fresh}");
    }

    #[test]
    fn a_cron_that_triggers_the_handler_already_warms_and_runs_it() {
        let step = scheduled_handler(
            Lang::Ts,
            "./kv/warm",
            "src/kv",
            "CACHE",
            "*/30 * * * *",
            Some(&existing(true)),
        );
        assert!(!step.contains("switch"), "{step}");
        assert!(
            step.contains("if (controller.cron === \"*/30 * * * *\") {"),
            "{step}"
        );
        assert!(
            step.contains("\n      await runScheduledAsBefore(controller, env, ctx);"),
            "{step}"
        );
        let step = scheduled_handler(
            Lang::Rust,
            "",
            "src/kv",
            "CACHE",
            "*/30 * * * *",
            Some(&existing(true)),
        );
        assert!(
            step.contains("if event.cron() == \"*/30 * * * *\" {"),
            "{step}"
        );
        assert!(
            step.contains("\n        run_scheduled_as_before(event, env, ctx).await;"),
            "{step}"
        );
    }

    #[test]
    fn crons_are_quoted_as_literals() {
        assert_eq!(js_string("0 * * * *"), "\"0 * * * *\"");
        assert_eq!(js_string("a\"b\\c\u{2028}"), "\"a\\\"b\\\\c\u{2028}\"");
        assert_eq!(rust_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u{a}\"");
    }
}
