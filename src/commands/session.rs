//! `kvgen session`: the signed-cookie session store, the SESSIONS binding,
//! and a local SESSION_SECRET in `.dev.vars` (kept out of git).

use std::path::Path;

use minijinja::context;

use super::generate::{self, Dependency};
use crate::cli::{GlobalArgs, SessionArgs};
use crate::config::{Edit, EditStatus, KvBinding};
use crate::error::BadInput;
use crate::names;
use crate::plan::{Plan, read_text};
use crate::text::Text;

/// The binding used when `--binding` is not given.
const DEFAULT_BINDING: &str = "SESSIONS";
const DEFAULT_TTL: u64 = 86_400;
const DEFAULT_COOKIE: &str = "session";
/// The Worker secret the generated code is meant to be given.
const SECRET_NAME: &str = "SESSION_SECRET";
const DEV_VARS: &str = ".dev.vars";

/// HMAC-SHA-256 for the signatures in the generated Rust.
const RUST_DEPENDENCIES: &[Dependency] = &[
    Dependency {
        name: "hmac",
        version: "0.13",
        features: &[],
    },
    Dependency {
        name: "sha2",
        version: "0.11",
        features: &[],
    },
];

fn ttl(arg: Option<&str>) -> Result<u64, BadInput> {
    let Some(arg) = arg else {
        return Ok(DEFAULT_TTL);
    };
    match arg.parse::<u64>() {
        Ok(seconds) if seconds >= 60 => Ok(seconds),
        _ => Err(BadInput::new(format!(
            "--ttl {}: a session lives a whole number of seconds, at least 60 (the Workers KV minimum expiry)",
            names::show(arg)
        ))),
    }
}

pub fn plan(cwd: &Path, global: &GlobalArgs, args: &SessionArgs) -> anyhow::Result<Plan> {
    let binding = names::binding(global.binding.as_deref().unwrap_or(DEFAULT_BINDING))?;
    let binding = KvBinding::new(binding);
    let env = global.env.as_deref().map(names::env).transpose()?;
    let ttl = ttl(args.ttl.as_deref())?;
    let cookie = names::cookie_name(args.cookie.as_deref().unwrap_or(DEFAULT_COOKIE))?;
    let context = context! { default_ttl => ttl, cookie_name => cookie };
    let generate::Prepared {
        project, mut plan, ..
    } = generate::binding_modules(
        cwd,
        global,
        &binding,
        env,
        "session",
        context,
        RUST_DEPENDENCIES,
    )?;

    // A secret for `wrangler dev`, in a file git never sees.
    let secret = random_secret()?;
    let existing = read_text(&project.root.join(DEV_VARS), DEV_VARS)?;
    let edit = dev_vars(existing.as_deref(), &secret);
    plan.edited(&project.root, DEV_VARS, existing, edit);
    plan.keep_secret(DEV_VARS, &secret);
    let existing = read_text(&project.root.join(".gitignore"), ".gitignore")?;
    let edit = gitignore(existing.as_deref());
    plan.edited(&project.root, ".gitignore", existing, edit);

    let env_flag = env.map(|e| format!(" --env {e}")).unwrap_or_default();
    plan.next_steps.push(format!(
        "npx wrangler secret put {SECRET_NAME}{env_flag}   # a long random value; .dev.vars has one for wrangler dev"
    ));
    Ok(plan)
}

/// 32 random bytes from the operating system, as 64 hex characters.
fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no random numbers from the OS: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Appends `text` (lines ending in `\n`) to a file's content, keeping its
/// line endings; None creates it.
fn append(existing: Option<&str>, text: &str) -> Edit {
    let Some(raw) = existing else {
        return Edit {
            text: text.to_string(),
            status: EditStatus::Changed,
        };
    };
    let original = Text::new(raw);
    let mut body = original.lf().into_owned();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    body.push_str(text);
    Edit {
        text: original.finish(&body),
        status: EditStatus::Changed,
    }
}

fn unchanged(raw: &str) -> Edit {
    Edit {
        text: raw.to_string(),
        status: EditStatus::Unchanged,
    }
}

/// `.dev.vars` with a SESSION_SECRET line: never touched when it has one.
fn dev_vars(existing: Option<&str>, secret: &str) -> Edit {
    let has_secret = |raw: &str| {
        raw.lines().any(|l| {
            l.trim_start()
                .strip_prefix(SECRET_NAME)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
    };
    match existing {
        Some(raw) if has_secret(raw) => unchanged(raw),
        _ => append(existing, &format!("{SECRET_NAME}={secret}\n")),
    }
}

/// `.gitignore` that ignores `.dev.vars`.
fn gitignore(existing: Option<&str>) -> Edit {
    let ignores = |raw: &str| {
        raw.lines().map(str::trim).any(|l| {
            matches!(
                l,
                ".dev.vars" | "/.dev.vars" | ".dev.vars*" | "/.dev.vars*" | ".dev.*" | "/.dev.*"
            )
        })
    };
    match existing {
        Some(raw) if ignores(raw) => unchanged(raw),
        _ => append(existing, &format!("{DEV_VARS}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_vars_gets_a_secret_once() {
        let created = dev_vars(None, "s3cret");
        assert_eq!(created.text, "SESSION_SECRET=s3cret\n");
        let kept = dev_vars(Some("SESSION_SECRET = mine\n"), "other");
        assert_eq!(kept.status, EditStatus::Unchanged);
        assert_eq!(kept.text, "SESSION_SECRET = mine\n");
        let appended = dev_vars(Some("API_KEY=x\r\nOTHER=y"), "s3cret");
        assert_eq!(
            appended.text,
            "API_KEY=x\r\nOTHER=y\r\nSESSION_SECRET=s3cret\r\n"
        );
        assert_eq!(
            dev_vars(Some("SESSION_SECRETS=1\n"), "s").status,
            EditStatus::Changed
        );
    }

    #[test]
    fn gitignore_ignores_dev_vars_once() {
        assert_eq!(gitignore(None).text, ".dev.vars\n");
        assert_eq!(
            gitignore(Some("node_modules\n")).text,
            "node_modules\n.dev.vars\n"
        );
        assert_eq!(
            gitignore(Some("dist\n.dev.vars*\n")).status,
            EditStatus::Unchanged
        );
        assert_eq!(gitignore(Some(".dev.vars")).status, EditStatus::Unchanged);
    }

    #[test]
    fn secrets_are_64_hex_characters_and_differ() {
        let (a, b) = (random_secret().unwrap(), random_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
