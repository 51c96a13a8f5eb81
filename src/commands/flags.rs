//! `kvgen flags`: the feature-flags module and the FLAGS binding; `kvgen
//! flags set`: a checked flag definition and the Wrangler command that
//! stores it.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::generate::{self, Dependency};
use super::sync::{self, Run};
use crate::cli::{FlagSetArgs, GlobalArgs};
use crate::config::KvBinding;
use crate::design::{Module, Purpose};
use crate::error::{BadInput, EXIT_CONFLICT, EXIT_OK};
use crate::names::{self, shell_quote, shell_word};
use crate::plan::{Plan, Status};
use crate::transaction::{Expect, Fingerprint, NewMode, Transaction};

/// The binding used when `--binding` is not given.
const DEFAULT_BINDING: &str = "FLAGS";

/// The key prefix of the generated `FeatureFlags` (its default).
const KEY_PREFIX: &str = "flag:";

/// SHA-256 for `bucket` in the generated Rust.
pub(super) const SHA2: Dependency = Dependency {
    name: "sha2",
    version: "0.11",
    features: &[],
};

fn binding(global: &GlobalArgs) -> Result<&str, BadInput> {
    names::binding(global.binding.as_deref().unwrap_or(DEFAULT_BINDING))
}

pub fn plan(cwd: &Path, global: &GlobalArgs) -> anyhow::Result<Plan> {
    let binding = KvBinding::new(binding(global)?);
    let run = Run {
        binding: &binding.binding,
        title: None,
        purpose: Purpose::Flags,
        default_ttl: None,
        fallback_ttl: None,
        modules: &[Module::Flags],
        cron: None,
        cookie: None,
        metrics: None,
    };
    let mut plan = sync::command(cwd, global, run, binding.clone(), "flags")?
        .prepared
        .plan;
    let name = &binding.binding;
    plan.next_steps.push(generate::follow_up(
        "kvgen flags set new-checkout --percentage 10",
        global,
        name,
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

/// The longest `wrangler kv key put` command kvgen prints. Linux refuses a
/// single argument over 128 KiB (MAX_ARG_STRLEN): the flag's JSON is one
/// when the command is pasted into a shell, and the whole command is one
/// when a script runs it with `sh -c`. Staying under 100 KB keeps both
/// working, with room for the shell's own words; longer definitions go
/// through `--out FILE` and `--path`.
pub const MAX_COMMAND_BYTES: usize = 100_000;

/// Prints the checked definition and the Wrangler command that stores it;
/// with `--out FILE`, writes the definition to FILE and prints the command
/// that stores FILE.
pub fn set(global: &GlobalArgs, args: &FlagSetArgs) -> anyhow::Result<u8> {
    let name = names::flag(&args.name)?;
    let binding = binding(global)?;
    let value = FlagValue {
        enabled: args.enabled.unwrap_or(true),
        percentage: args.percentage.as_deref().map(percentage).transpose()?,
        allowlist: user_ids("--allow", &args.allow)?,
        denylist: user_ids("--deny", &args.deny)?,
    };
    let stored = Stored {
        command: "flags set",
        noun: "flag",
        generator: "flags",
        name,
        binding,
        key: format!("{KEY_PREFIX}{name}"),
        json: serde_json::to_string(&value)?,
    };
    store(global, &stored, args.out.as_deref())
}

/// A checked value a `… set` command prints the Wrangler command for.
pub(super) struct Stored<'a> {
    /// The command, as its JSON report names it (`flags set`).
    pub command: &'static str,
    /// What the value is, in messages and the JSON report (`flag`).
    pub noun: &'static str,
    /// The kvgen command that adds the binding (`flags`).
    pub generator: &'static str,
    pub name: &'a str,
    pub binding: &'a str,
    pub key: String,
    /// The value as JSON text, as it is stored.
    pub json: String,
}

/// Prints the Wrangler command that stores `stored` (one per environment);
/// with `out`, writes the value to that file and prints the command that
/// stores the file.
pub(super) fn store(
    global: &GlobalArgs,
    stored: &Stored<'_>,
    out: Option<&Path>,
) -> anyhow::Result<u8> {
    let Stored {
        command: run,
        noun,
        name,
        binding,
        key,
        ..
    } = stored;
    let envs = flag_envs(global, stored)?;
    // Invisible characters (in ids or names) as JSON escapes: the same
    // value, and a command that shows as what it stores.
    let json = crate::names::json_text(&stored.json).into_owned();
    let put = format!("kv key put --binding {} \"{key}\"", shell_word(binding));
    if let Some(out) = out {
        let checked = Checked {
            stored,
            json: &json,
            put: &put,
            envs: &envs,
        };
        return set_to_file(global, out, &checked);
    }
    let commands = put_commands(
        global,
        &envs,
        &format!("{put} {} --remote", shell_quote(&json)),
    );
    let command = commands
        .iter()
        .max_by_key(|c| c.len())
        .expect("one environment at least");
    if command.len() > MAX_COMMAND_BYTES {
        return Err(BadInput::new(format!(
            "{noun} {name}: the `wrangler kv key put` command would be {} bytes long (the JSON alone is {}), too long for a shell to run: Linux refuses a single argument over 128 KiB, and kvgen prints no command over {MAX_COMMAND_BYTES} bytes. Add --out FILE: kvgen writes the JSON to FILE and prints the `--path FILE` command that stores it",
            command.len(),
            json.len()
        ))
        .into());
    }
    if global.json {
        let report = serde_json::json!({
            "command": run,
            *noun: name,
            "key": key,
            "value": raw(&stored.json)?,
            "wrangler": commands,
        });
        super::print_json(&report, false)?;
    } else {
        super::print_report(
            &format!(
                "{noun} {name}: {json}\n\nStore it (kvgen writes nothing) with:\n  {}\n",
                commands.join("\n  ")
            ),
            false,
        );
    }
    Ok(EXIT_OK)
}

/// JSON text as a value that serializes exactly as it is.
fn raw(json: &str) -> anyhow::Result<Box<serde_json::value::RawValue>> {
    Ok(serde_json::value::RawValue::from_string(json.to_string())?)
}

/// A checked value and the start and end of the command that stores it.
struct Checked<'a> {
    stored: &'a Stored<'a>,
    json: &'a str,
    /// `kv key put --binding B "flag:NAME"`
    put: &'a str,
    /// Where the value is stored: None is the top level.
    envs: &'a [Option<String>],
}

/// The environments `flags set` prints commands for: `--env a,b`, or with
/// `--all-envs` the top level and every environment of the config. With a
/// config at hand, each environment named must have the binding, or the
/// printed command would fail (a misspelt environment, or a binding added
/// at the top level only).
fn flag_envs(global: &GlobalArgs, stored: &Stored<'_>) -> anyhow::Result<Vec<Option<String>>> {
    let Stored {
        noun,
        generator,
        binding,
        ..
    } = stored;
    let names = super::env_names(global)?;
    if !global.all_envs && names.iter().all(Option::is_none) {
        return Ok(names);
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let cwd = match &global.cwd {
        Some(dir) => cwd.join(dir),
        None => cwd,
    };
    let project = match crate::project::Project::discover(
        &cwd,
        global.config.as_deref(),
        Some(crate::project::Lang::Ts),
    ) {
        Ok(project) => project,
        // Without a config, `--env a,b` prints its commands unchecked.
        Err(_)
            if !global.all_envs
                && crate::project::config_path(&cwd, global.config.as_deref()).is_err() =>
        {
            return Ok(names);
        }
        Err(e) => return Err(e.into()),
    };
    let envs = super::envs(global, &project)?;
    let existing = project.environments();
    let place = |env: Option<&str>| super::bulk::place(&project.config, env);
    for env in envs.iter().flatten() {
        if !existing.contains(env) {
            return Err(BadInput::new(format!(
                "--env {env}: {} has no such environment (it has: {}), so the command that stores the {noun} there would fail",
                place(None),
                if existing.is_empty() {
                    "none".to_string()
                } else {
                    existing.join(", ")
                }
            ))
            .into());
        }
        if !project.env_has_kv_binding(env, binding) {
            return Err(BadInput::new(format!(
                "{} has no KV binding {binding}, so the command that stores the {noun} there would fail: add it with `kvgen {generator} --env {env}{}{}`",
                place(Some(env)),
                if global.binding.is_some() {
                    format!(" --binding {binding}")
                } else {
                    String::new()
                },
                super::config_arg(global, "--config")
            ))
            .into());
        }
    }
    Ok(envs)
}

/// One `npx wrangler …` command per environment.
fn put_commands(global: &GlobalArgs, envs: &[Option<String>], args: &str) -> Vec<String> {
    envs.iter()
        .map(|env| super::runnable(global, generate::wrangler(global, args, env.as_deref())))
        .collect()
}

/// `flags set --out FILE`: FILE gets the flag's JSON (exactly the value to
/// store, no newline after it), written atomically; an existing FILE with
/// the same content is left untouched, one with other content is a conflict
/// unless `--force`.
fn set_to_file(global: &GlobalArgs, out: &Path, flag: &Checked<'_>) -> anyhow::Result<u8> {
    let Checked {
        stored,
        json,
        put,
        envs,
    } = flag;
    let Stored {
        command: run,
        noun,
        name,
        key,
        ..
    } = stored;
    let shown = names::show_path(out);
    // The name is printed in a command to copy: it must be printable as it
    // is (show_path escapes nothing in it).
    let Some(printable) = out.to_str().filter(|p| !p.is_empty() && *p == shown) else {
        return Err(BadInput::new(format!(
            "--out {shown}: the file name must be UTF-8 text without control characters, to be printed in the command"
        ))
        .into());
    };
    // `-C DIR` runs kvgen as if started in DIR: FILE is relative to it, like
    // the command printed for it.
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let cwd = match &global.cwd {
        Some(dir) => cwd.join(dir),
        None => cwd,
    };
    // FILE goes inside the current folder or the project, whose lock the
    // run holds; a link there is written through.
    let (root, path) = super::output_place(&cwd, global, out, &format!("--out {shown}"))?;
    // Only a regular file of the same size is read to compare it.
    let (status, seen) = match crate::files::open_regular(&path, &format!("--out {shown}"))? {
        None => (Status::Create, None),
        Some((mut file, meta)) => {
            let mut same = meta.len() == json.len() as u64;
            if same {
                let mut existing = Vec::with_capacity(json.len());
                std::io::Read::read_to_end(&mut file, &mut existing)
                    .with_context(|| format!("cannot read {shown}"))?;
                same = existing == json.as_bytes();
            }
            let seen = Some(Fingerprint::of(&meta));
            match same {
                true => (Status::Identical, None),
                false if global.force => (Status::Force, seen),
                false => (Status::Conflict, None),
            }
        }
    };
    crate::files::check_writable(&path, &shown, global.force)?;
    let write = matches!(status, Status::Create | Status::Force) && !global.dry_run;
    if write {
        let tx = Transaction::begin(&root);
        let expect = seen.map_or(Expect::Absent, Expect::Seen);
        tx.stage(&path, &shown, json.as_bytes(), expect, NewMode::Normal)
            .map_err(|e| anyhow::anyhow!("cannot write {shown}: {e}; nothing was written"))?;
        tx.commit()?;
    }
    let conflict = status == Status::Conflict;
    let code = if conflict && !global.dry_run {
        EXIT_CONFLICT
    } else {
        EXIT_OK
    };
    let commands = put_commands(
        global,
        envs,
        &format!("{put} --path {} --remote", shell_word(printable)),
    );
    if global.json {
        let report = serde_json::json!({
            "command": run,
            *noun: name,
            "key": key,
            "value": raw(&stored.json)?,
            "dry_run": global.dry_run,
            "written": write,
            "exit_code": code,
            "files": [{ "path": printable, "status": status }],
            "wrangler": if conflict { None } else { Some(&commands) },
        });
        super::print_json(&report, write)?;
        return Ok(code);
    }
    let mut out = format!("{:>10}  {shown}\n", status.word());
    if conflict {
        super::print_report(&out, write);
        let reason = format!("holds something other than {noun} {name}'s JSON");
        let _ = super::report_conflicts(
            &[(shown.as_str(), reason.as_str())],
            global.dry_run,
            "Add --force to overwrite.",
        );
        return Ok(code);
    }
    if global.dry_run {
        out.push_str("\nDry run: nothing was written.\n");
    }
    out.push_str(&format!("\nStore it with:\n  {}\n", commands.join("\n  ")));
    super::print_report(&out, write);
    Ok(code)
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
    fn shell_words_are_quoted_only_when_the_shell_would_change_them() {
        for plain in ["FLAGS", "flags/new-checkout.json", "a_b-c.d:e@f+g,h"] {
            assert_eq!(shell_word(plain), plain);
        }
        assert_eq!(shell_word("$kv"), "'$kv'");
        assert_eq!(shell_word("my flags.json"), "'my flags.json'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
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
