//! `kvgen flags`: the feature-flags module and the FLAGS binding; `kvgen
//! flags set`: a checked flag definition and the Wrangler command that
//! stores it.

use std::io::Write;
use std::path::Path;

use minijinja::context;
use serde::Serialize;

use super::generate::{self, Dependency};
use crate::cli::{FlagSetArgs, GlobalArgs};
use crate::config::KvBinding;
use crate::error::{BadInput, EXIT_OK};
use crate::names;
use crate::plan::Plan;

/// The binding used when `--binding` is not given.
const DEFAULT_BINDING: &str = "FLAGS";

/// The key prefix of the generated `FeatureFlags` (its default).
const KEY_PREFIX: &str = "flag:";

/// SHA-256 for `bucket` in the generated Rust.
const SHA2: Dependency = Dependency {
    name: "sha2",
    version: "0.11",
    features: &[],
};

fn binding(global: &GlobalArgs) -> Result<&str, BadInput> {
    names::binding(global.binding.as_deref().unwrap_or(DEFAULT_BINDING))
}

pub fn plan(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Plan> {
    let binding = KvBinding::new(binding(global)?);
    let env = global.env.as_deref().map(names::env).transpose()?;
    let mut plan =
        generate::binding_modules(cwd, global, &binding, env, "flags", context! {}, &[SHA2])?.plan;
    let name = &binding.binding;
    plan.next_steps.push(generate::follow_up(
        "kvgen flags set new-checkout --percentage 10",
        global,
        name,
        env,
        "prints the command that stores a flag",
    ));
    Ok(plan)
}

/// A flag as the generated modules store it (field names and order of
/// `FeatureFlag`).
#[derive(Debug, Serialize)]
struct FlagValue {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    percentage: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowlist: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    denylist: Vec<String>,
}

fn percentage(arg: &str) -> Result<serde_json::Number, BadInput> {
    let invalid = || {
        BadInput::new(format!(
            "--percentage {}: expected a number from 0 to 100",
            names::show(arg)
        ))
    };
    let value: f64 = arg.trim().parse().map_err(|_| invalid())?;
    if !value.is_finite() || !(0.0..=100.0).contains(&value) {
        return Err(invalid());
    }
    if value.fract() == 0.0 {
        Ok(serde_json::Number::from(value as u64))
    } else {
        serde_json::Number::from_f64(value).ok_or_else(invalid)
    }
}

fn user_ids(flag: &str, ids: &[String]) -> Result<Vec<String>, BadInput> {
    for id in ids {
        if id.is_empty() || id.chars().any(char::is_control) {
            return Err(BadInput::new(format!(
                "{flag} {}: user ids must be non-empty and have no control characters",
                names::show(id)
            )));
        }
    }
    Ok(ids.to_vec())
}

/// Quotes a word for a POSIX shell: inside single quotes nothing is special
/// but the single quote itself, written as '\''.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Prints the checked definition and the Wrangler command that stores it.
pub fn set(global: &GlobalArgs, args: &FlagSetArgs) -> anyhow::Result<u8> {
    let name = names::flag(&args.name)?;
    let binding = binding(global)?;
    let env = global.env.as_deref().map(names::env).transpose()?;
    let value = FlagValue {
        enabled: args.enabled.unwrap_or(true),
        percentage: args.percentage.as_deref().map(percentage).transpose()?,
        allowlist: user_ids("--allow", &args.allow)?,
        denylist: user_ids("--deny", &args.deny)?,
    };
    let json = serde_json::to_string(&value)?;
    let key = format!("{KEY_PREFIX}{name}");
    let mut command = format!(
        "npx wrangler kv key put --binding {binding} \"{key}\" {} --remote",
        shell_quote(&json)
    );
    if let Some(env) = env {
        command.push_str(&format!(" --env {env}"));
    }
    let mut out = std::io::stdout().lock();
    if global.json {
        let report = serde_json::json!({
            "command": "flags set",
            "flag": name,
            "key": key,
            "value": value,
            "wrangler": command,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "flag {name}: {json}")?;
        writeln!(out, "\nStore it (kvgen writes nothing) with:\n  {command}")?;
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_single_quotes() {
        assert_eq!(shell_quote("{\"a\":1}"), "'{\"a\":1}'");
        assert_eq!(shell_quote("o'brien"), "'o'\\''brien'");
    }

    #[test]
    fn percentages_are_numbers_from_0_to_100() {
        assert_eq!(percentage("25").unwrap().to_string(), "25");
        assert_eq!(percentage("0").unwrap().to_string(), "0");
        assert_eq!(percentage("100").unwrap().to_string(), "100");
        assert_eq!(percentage("12.5").unwrap().to_string(), "12.5");
        for bad in ["-1", "101", "NaN", "inf", "ten", ""] {
            assert!(percentage(bad).is_err(), "{bad}");
        }
    }
}
