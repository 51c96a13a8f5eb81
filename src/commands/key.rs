//! `kvgen key add BINDING NAME PATTERN`: a typed key pattern recorded in
//! kvgen.toml (a table appended in place), then the sync of the design,
//! which generates the `schema` and `namespaces` modules.

use std::path::Path;

use super::sync;
use crate::cli::{GlobalArgs, KeyAddArgs};
use crate::design::{self, KeyEdit, Ttl};
use crate::error::{BadInput, Conflict};
use crate::keys::{KeyPattern, ValueKind, pattern};
use crate::plan::Plan;

/// `--ttl S`: seconds or `none`, checked as the design file checks `ttl`
/// when the key is read back.
fn ttl_arg(text: &str) -> Result<Ttl, BadInput> {
    if text == "none" {
        return Ok(Ttl::Never);
    }
    text.parse::<u64>().map(Ttl::Seconds).map_err(|_| {
        BadInput::new(format!(
            "--ttl {}: expected a whole number of seconds (at least 60) or none",
            crate::names::show(text)
        ))
    })
}

/// The key pattern the arguments describe; the design's rules are checked
/// when it is read back from the edited file.
fn key_pattern(args: &KeyAddArgs) -> Result<KeyPattern, BadInput> {
    if !pattern::is_identifier(&args.name) {
        return Err(BadInput::new(format!(
            "key name {}: an identifier (letters, digits and _, not starting with a digit)",
            crate::names::show(&args.name)
        )));
    }
    let pieces = pattern::parse(&args.pattern).map_err(|e| {
        BadInput::new(format!(
            "pattern {}: {e}",
            crate::names::show(&args.pattern)
        ))
    })?;
    let cache_ttl = match &args.cache_ttl {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            BadInput::new(format!(
                "--cache-ttl {}: expected a whole number of seconds, at least 30",
                crate::names::show(text)
            ))
        })?),
    };
    Ok(KeyPattern {
        name: args.name.clone(),
        pattern: args.pattern.clone(),
        pieces,
        value: ValueKind::parse(&args.value),
        ttl: args.ttl.as_deref().map(ttl_arg).transpose()?,
        cache_ttl,
        about: args.about.clone(),
    })
}

/// What the key is, for the report: its accessor, pattern, an example key,
/// the values, and the TTL and cacheTtl its reads and writes get.
fn summary(
    design: &design::Design,
    binding: &str,
    key: &KeyPattern,
    lang: crate::project::Lang,
) -> String {
    let ns = design.namespace(binding);
    let ttl = match (key.ttl, ns.and_then(|n| n.default_ttl)) {
        (Some(Ttl::Seconds(s)), _) => format!("{s} s"),
        (Some(Ttl::Never), _) => "none".to_string(),
        (None, Some(Ttl::Seconds(s))) => format!("{s} s (the namespace's default_ttl)"),
        (None, _) => "none (the namespace has no default_ttl)".to_string(),
    };
    let cache_ttl = match key.cache_ttl {
        Some(s) => format!("{s} s"),
        None => "KV's default (60 s)".to_string(),
    };
    let accessor = match lang {
        crate::project::Lang::Ts | crate::project::Lang::Js => format!(
            "{}(env.{binding}).{}",
            crate::keys::ts_namespaces::factory_name(binding),
            crate::keys::ts_namespaces::property_name(&key.name)
        ),
        crate::project::Lang::Rust => format!(
            "{}(kv).{}",
            crate::keys::rust_namespaces::factory_name(binding),
            crate::keys::rust_namespaces::field_name(&key.name)
        ),
    };
    format!(
        "{binding} key {}: pattern {}, example key {}, value {}, TTL {ttl}, cacheTtl {cache_ttl}; use it as {accessor}",
        key.name,
        key.pattern,
        key.example_key(),
        key.value.word()
    )
}

/// A key pattern as its table says it, for a message.
fn described(key: &KeyPattern) -> String {
    let mut out = format!("pattern {:?}, value {:?}", key.pattern, key.value.word());
    match key.ttl {
        Some(Ttl::Seconds(s)) => out.push_str(&format!(", ttl {s}")),
        Some(Ttl::Never) => out.push_str(", ttl \"none\""),
        None => {}
    }
    if let Some(s) = key.cache_ttl {
        out.push_str(&format!(", cache_ttl {s}"));
    }
    if let Some(about) = &key.about {
        out.push_str(&format!(", about {about:?}"));
    }
    out
}

/// `kvgen key add`.
pub fn add(cwd: &Path, global: &GlobalArgs, args: &KeyAddArgs) -> anyhow::Result<Plan> {
    if global.dir.is_some() || global.binding.is_some() || global.env.is_some() || global.all_envs {
        return Err(BadInput::new(
            "kvgen key add records a key pattern of a namespace kvgen.toml has: --dir, --binding, --env and --all-envs belong to the commands that add namespaces",
        )
        .into());
    }
    let key = key_pattern(args)?;
    let mut ctx = sync::begin(cwd, global)?;
    let shown = crate::names::show_path(&ctx.project.root.join(design::FILE));
    let raw = ctx.design_raw.clone().ok_or_else(|| {
        BadInput::new(format!(
            "{shown}: no such file; key patterns belong to a namespace of the design, which a generating command (e.g. `kvgen create NAME`) or `kvgen init` writes first"
        ))
    })?;
    let edit = design::with_key(&raw, &shown, &args.namespace, &key)?;
    match edit {
        KeyEdit::Added(text) => ctx.edited = Some(text),
        KeyEdit::Same => {}
        KeyEdit::Differs(old) => {
            return Err(Conflict(format!(
                "{shown}: namespaces.{}.keys.{} is already {}: nothing was written; edit kvgen.toml to change it, then run kvgen sync",
                args.namespace,
                old.name,
                described(&old)
            ))
            .into());
        }
    }
    let lang = ctx.project.lang;
    let synced = sync::plan(cwd, global, ctx, None)?;
    let mut plan = synced.prepared.plan;
    plan.notes
        .insert(0, summary(&synced.design, &args.namespace, &key, lang));
    Ok(plan)
}
