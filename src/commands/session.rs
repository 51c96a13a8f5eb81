//! `kvgen session`: the signed-cookie session store, the SESSIONS binding,
//! and a local SESSION_SECRET where `wrangler dev` reads it, kept out of git.
//!
//! For each environment the run targets, the file is the one wrangler reads
//! ([`dotenv::local_vars`]): `.dev.vars.<env>`, `.dev.vars`, or the `.env`
//! files of a project that keeps its variables there (a new `.dev.vars`
//! would hide them). The files are read as Wrangler reads them, so a secret
//! already in any of them, in any form dotenv accepts, is found and kept,
//! and one too short for the store is reported rather than shadowed.
//! Whether git would commit a file is asked of git itself ([`git`]).

pub(super) mod git;

use std::collections::BTreeMap;
use std::path::Path;

use super::generate::{self, Dependency};
use super::sync::{self, Run};
use crate::cli::{GlobalArgs, SessionArgs};
use crate::config::{Edit, EditStatus, KvBinding};
use crate::design::{Module, Purpose, Ttl};
use crate::dotenv;
use crate::error::BadInput;
use crate::names;
use crate::plan::{Plan, read_text};
use crate::text::Text;

/// The binding used when `--binding` is not given.
const DEFAULT_BINDING: &str = "SESSIONS";
pub(super) const DEFAULT_TTL: u64 = 86_400;
/// A longer session would outlive its cookie.
pub const MAX_TTL: u64 = crate::design::MAX_SESSION_TTL;
/// The `__Host-` prefix makes browsers refuse the cookie unless it is Secure,
/// has Path=/ and no Domain, so no sibling subdomain can plant one.
pub(super) const DEFAULT_COOKIE: &str = "__Host-session";
/// The Worker secret the generated code is meant to be given.
const SECRET_NAME: &str = "SESSION_SECRET";
/// The shortest secret the generated stores accept (TypeScript counts UTF-16
/// units, Rust bytes; a string has at least as many UTF-8 bytes as UTF-16
/// units, so counting units satisfies both).
const MIN_SECRET_LENGTH: usize = 32;
const GITIGNORE: &str = ".gitignore";

/// HMAC-SHA-256 for the signatures in the generated Rust.
pub(super) const RUST_DEPENDENCIES: &[Dependency] = &[
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
        Ok(seconds) if (60..=MAX_TTL).contains(&seconds) => Ok(seconds),
        _ => Err(BadInput::new(format!(
            "--ttl {}: a session lives a whole number of seconds from 60 (the Workers KV minimum \
             expiry) to {MAX_TTL} (400 days: browsers cap a cookie's Max-Age there, RFC 6265bis)",
            names::show(arg)
        ))),
    }
}

pub fn plan(cwd: &Path, global: &GlobalArgs, args: &SessionArgs) -> anyhow::Result<Plan> {
    let binding = names::binding(global.binding.as_deref().unwrap_or(DEFAULT_BINDING))?;
    let ttl = args.ttl.as_deref().map(|arg| ttl(Some(arg))).transpose()?;
    let cookie = args
        .cookie
        .as_deref()
        .map(names::cookie_name)
        .transpose()?
        .map(str::to_string);
    let run = Run {
        binding,
        title: None,
        purpose: Purpose::Sessions,
        default_ttl: ttl.map(Ttl::Seconds),
        fallback_ttl: Some(Ttl::Seconds(DEFAULT_TTL)),
        modules: &[Module::Session],
        cron: None,
        cookie: Some(cookie.unwrap_or_else(|| DEFAULT_COOKIE.to_string())),
        metrics: None,
    };
    let line = generate::command_line(
        "session",
        &[
            ("--ttl", args.ttl.as_deref()),
            ("--cookie", args.cookie.as_deref()),
        ],
    );
    let synced = sync::command(cwd, global, run, KvBinding::new(binding), &line)?;
    let mut plan = synced.prepared.plan;
    let project = synced.prepared.project;
    if let Some(secret) = synced.secret {
        let from = plan
            .header
            .as_ref()
            .map(|h| h.from.clone())
            .unwrap_or_else(|| project.root.clone());
        // Only the places of this namespace.
        let secret = sync::Secret {
            holders: secret
                .holders
                .into_iter()
                .filter(|(env, _)| synced.run_targets.contains(env))
                .collect(),
            git_steps: secret.git_steps,
        };
        plan.next_steps
            .extend(secret_steps(&project, global, &from, &secret));
    }
    Ok(plan)
}

/// Puts SESSION_SECRET where `wrangler dev` reads it for each of `envs`
/// (see [`place_secret`]) and adds the files to the plan; returns the file
/// holding it per environment and the steps to check by hand what git
/// could not be asked. Git is asked whether the files are kept out of it
/// when a secret is written, or always with `always_check_git` (`kvgen
/// session` itself).
pub(super) fn place(
    plan: &mut Plan,
    project: &crate::project::Project,
    envs: &[Option<String>],
    always_check_git: bool,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let environments = project.environments();
    let secret = random_secret()?;
    let placed = place_secret(
        &project.root,
        envs,
        &secret,
        &environments,
        &|env| dotenv::loads_from_dot_env(&project.root, env),
        GitCheck {
            ask: &|name| git::ask(&project.root, name),
            verify: git::ignores_by_itself,
            always: always_check_git,
        },
    )?;
    for file in placed.files {
        let edit = file.edit();
        plan.edited(&project.root, &file.name, file.before, edit);
        plan.keep_secret(&file.name, &secret);
    }
    if let Some((before, edit)) = placed.gitignore {
        plan.edited(&project.root, GITIGNORE, before, edit);
    }
    Ok((placed.holders, placed.git_steps))
}

/// The next steps about the secret: `wrangler secret put` per environment,
/// a `secrets.required` that lacks it, and what to check in git.
pub(super) fn secret_steps(
    project: &crate::project::Project,
    global: &GlobalArgs,
    from: &Path,
    secret: &sync::Secret,
) -> Vec<String> {
    let mut steps = Vec::new();
    for (env, file) in &secret.holders {
        // The file as seen from where kvgen runs.
        let file = crate::names::relative_path(&project.root.join(file), from);
        steps.push(format!(
            "{}   # a long random value; {file} has one for wrangler dev",
            generate::wrangler(global, &format!("secret put {SECRET_NAME}"), env.as_deref())
        ));
    }
    let envs: Vec<Option<String>> = secret.holders.iter().map(|(e, _)| e.clone()).collect();
    steps.extend(required_secret_steps(project, &envs));
    steps.extend(secret.git_steps.iter().cloned());
    steps
}

/// A file of local variables the run reads or writes.
struct LocalFile {
    name: String,
    /// On disk (None: missing).
    before: Option<String>,
    /// After the run (None: still missing).
    after: Option<String>,
}

impl LocalFile {
    fn edit(&self) -> Edit {
        let text = self.after.clone().unwrap_or_default();
        let status = if self.before == self.after {
            EditStatus::Unchanged
        } else {
            EditStatus::Changed
        };
        Edit { text, status }
    }
}

/// Where the secret is, for each environment of the run.
struct Placed {
    /// Every file that holds the secret for an environment: edited, or
    /// unchanged when it already had one.
    files: Vec<LocalFile>,
    /// The `.gitignore` before and after, when it is read or written.
    gitignore: Option<(Option<String>, Edit)>,
    /// The file holding the secret, per environment, in the order given.
    holders: Vec<String>,
    /// What to check by hand when git could not be asked.
    git_steps: Vec<String>,
}

/// How [`place_secret`] asks git about the files holding the secret: `ask`
/// asks git about a file, `verify` checks a new `.gitignore` text (see
/// [`keep_out_of_git`]); `always`: even when no secret is written.
struct GitCheck<'a> {
    ask: &'a dyn Fn(&str) -> git::Git,
    verify: fn(&str, &str) -> Option<bool>,
    always: bool,
}

/// Finds or puts SESSION_SECRET in the file `wrangler dev` reads for each
/// of `envs`, in turn: a file this run creates counts as existing for the
/// environments after it, and a file two environments share is edited once.
/// `environments` are the config's; `from_dot_env` says whether wrangler
/// reads `.env` files for an environment; `git` how git is asked.
fn place_secret(
    root: &Path,
    envs: &[Option<String>],
    secret: &str,
    environments: &[String],
    from_dot_env: &dyn Fn(Option<&str>) -> bool,
    git: GitCheck<'_>,
) -> anyhow::Result<Placed> {
    let GitCheck {
        ask,
        verify,
        always: always_check_git,
    } = git;
    let mut files: Vec<LocalFile> = Vec::new();
    let mut holders: Vec<String> = Vec::new();
    for env in envs {
        let env = env.as_deref();
        let from_dot_env = from_dot_env(env);
        let exists = |name: &str| match files.iter().find(|f| f.name == name) {
            Some(file) => file.after.is_some(),
            None => root.join(name).exists(),
        };
        let local = dotenv::choose(env, environments, from_dot_env, exists);
        // The definition wrangler uses: the last one of the last file that
        // has one.
        let mut found = None;
        for name in &local.read {
            let index = load(root, &mut files, name)?;
            let entries = dotenv::parse(files[index].after.as_deref().unwrap_or_default());
            if dotenv::get(&entries, SECRET_NAME).is_some() {
                found = Some((index, entries));
            }
        }
        let index = match found {
            Some((index, entries)) => {
                check_length(&files[index].name, &entries)?;
                index
            }
            None => {
                let index = load(root, &mut files, &local.target)?;
                let file = &mut files[index];
                file.after = Some(with_secret(&file.name, file.after.as_deref(), secret)?);
                index
            }
        };
        holders.push(files[index].name.clone());
    }

    // A run that writes no secret (every holder had one) and is not `kvgen
    // session` itself leaves git alone: asking costs two git processes.
    if !always_check_git && files.iter().all(|f| f.before == f.after) {
        files.retain(|f| holders.contains(&f.name));
        return Ok(Placed {
            files,
            gitignore: None,
            holders,
            git_steps: Vec::new(),
        });
    }
    // Every file holding the secret, out of git; a tracked one is refused.
    let mut holding: Vec<&str> = holders.iter().map(String::as_str).collect();
    holding.sort();
    holding.dedup();
    let gitignore_before = read_text(&root.join(GITIGNORE), GITIGNORE)?;
    let mut gitignore = gitignore_before.clone();
    let mut read = false;
    let mut git_steps = Vec::new();
    for name in holding {
        let (edit, step) = keep_out_of_git(root, name, gitignore.as_deref(), &ask(name), verify)?;
        if let Some(edit) = edit {
            gitignore = Some(edit.text);
            read = true;
        }
        git_steps.extend(step);
    }
    let gitignore = read.then(|| {
        let text = gitignore.unwrap_or_default();
        let status = if gitignore_before.as_deref() == Some(text.as_str()) {
            EditStatus::Unchanged
        } else {
            EditStatus::Changed
        };
        (gitignore_before, Edit { text, status })
    });
    // Files read only to look for the secret are not part of the plan.
    files.retain(|f| holders.contains(&f.name));
    Ok(Placed {
        files,
        gitignore,
        holders,
        git_steps,
    })
}

/// The index of `name` in `files`, read from disk the first time.
fn load(root: &Path, files: &mut Vec<LocalFile>, name: &str) -> anyhow::Result<usize> {
    if let Some(index) = files.iter().position(|f| f.name == name) {
        return Ok(index);
    }
    let before = read_text(&root.join(name), name)?;
    files.push(LocalFile {
        name: name.to_string(),
        after: before.clone(),
        before,
    });
    Ok(files.len() - 1)
}

/// The steps for a config that lists the secrets `wrangler dev` and deploy
/// load (`secrets.required`, per environment): SESSION_SECRET must be there.
fn required_secret_steps(
    project: &crate::project::Project,
    envs: &[Option<String>],
) -> Vec<String> {
    let config = project.relative(&project.config);
    envs.iter()
        .filter_map(|env| {
            let table = match env {
                None => Some(&project.settings),
                Some(env) => project.settings.get("env").and_then(|e| e.get(env)),
            }?;
            let required = table.get("secrets")?.get("required")?.as_array()?;
            if required.iter().any(|name| name == SECRET_NAME) {
                return None;
            }
            let place = match env {
                None => "secrets.required".to_string(),
                Some(env) => format!("env.{env}.secrets.required"),
            };
            Some(format!(
                "add \"{SECRET_NAME}\" to {place} in {config}   # wrangler loads only the secrets listed there"
            ))
        })
        .collect()
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

/// Refuses a SESSION_SECRET too short for the store: `entries` are the file
/// `name`'s, and its last definition is the one Wrangler uses.
fn check_length(name: &str, entries: &[dotenv::Entry]) -> Result<(), BadInput> {
    let Some(found) = dotenv::get(entries, SECRET_NAME) else {
        return Ok(());
    };
    let length = found.value.encode_utf16().count();
    if length >= MIN_SECRET_LENGTH {
        return Ok(());
    }
    let size = match length {
        0 => "is empty".to_string(),
        1 => "is 1 character long".to_string(),
        n => format!("is {n} characters long"),
    };
    let definitions = entries.iter().filter(|e| e.key == SECRET_NAME).count();
    let which = if definitions > 1 {
        format!(" (the last of its {definitions} definitions, the one Wrangler uses)")
    } else {
        String::new()
    };
    Err(BadInput::new(format!(
        "{name}:{line}: {SECRET_NAME}{which} {size}; the session store needs at least \
         {MIN_SECRET_LENGTH} characters. Put a random one there (openssl rand -hex 32), or \
         delete the line and run kvgen session again to have one generated",
        line = found.line
    )))
}

/// The file `name` (`existing`: its text, None when missing) with a
/// SESSION_SECRET that dotenv (Wrangler's reader) finds: left as it is when
/// it has a long enough one, else with one appended.
fn with_secret(name: &str, existing: Option<&str>, secret: &str) -> Result<String, BadInput> {
    let line = format!("{SECRET_NAME}={secret}\n");
    let Some(raw) = existing else {
        return Ok(line);
    };
    let entries = dotenv::parse(raw);
    if dotenv::get(&entries, SECRET_NAME).is_some() {
        check_length(name, &entries)?;
        return Ok(raw.to_string());
    }
    // Normally the line goes right at the end; after a line such as `KEY:`
    // dotenv would read it as KEY's value, and a blank line keeps it apart.
    for separator in ["", "\n"] {
        let edit = append(Some(raw), &format!("{separator}{line}"));
        if reads_as_before_plus_secret(&entries, &edit.text, secret) {
            return Ok(edit.text);
        }
    }
    Err(BadInput::new(format!(
        "{name}: a {SECRET_NAME} line added at its end would not be read as one by dotenv \
         (Wrangler's reader), or would change another variable; add {SECRET_NAME}=<a random \
         value of 64 hex characters> yourself (openssl rand -hex 32)"
    )))
}

/// Whether dotenv reads `text` as the variables of `before` plus
/// SESSION_SECRET = `secret`.
fn reads_as_before_plus_secret(before: &[dotenv::Entry], text: &str, secret: &str) -> bool {
    let values = |entries: &[dotenv::Entry]| -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    };
    let mut expected = values(before);
    expected.insert(SECRET_NAME.to_string(), secret.to_string());
    values(&dotenv::parse(text)) == expected
}

/// The `.gitignore` edit (None: the file is left alone, or not created) that
/// keeps the file `name` (`.dev.vars`, `.env`, …) out of git, and a next
/// step when git could not be asked.
///
/// Git's answer decides when there is one; otherwise the project's
/// `.gitignore` is read with a gitignore matcher. `name` is appended at
/// the end of the project's `.gitignore`, after any negation, and the file
/// closest to it outranks every other source of ignore rules, so the
/// appended rule decides; `verify` (git on the new text, in a scratch
/// repository) or the matcher confirms it before anything is written. A
/// tracked file is refused: ignoring a file does not untrack it.
fn keep_out_of_git(
    root: &Path,
    name: &str,
    gitignore: Option<&str>,
    answer: &git::Git,
    verify: impl Fn(&str, &str) -> Option<bool>,
) -> Result<(Option<Edit>, Option<String>), BadInput> {
    let (ignored, step) = match answer {
        git::Git::Repository { tracked: true, .. } => {
            // A committed `.env` of shared settings can stay: `.env.local`
            // is read after it, in every environment.
            let local = if name == ".env" {
                " Or, to keep .env in git, create an empty .env.local (wrangler reads it after \
                 .env) and run kvgen session again: the secret goes there."
            } else {
                ""
            };
            return Err(BadInput::new(format!(
                "{name}: tracked by git, so the {SECRET_NAME} in it would be committed (an \
                 ignore rule does not untrack a file). Run `git rm --cached {name}` (the file \
                 stays on disk), commit, and run kvgen session again; replace any secret that was \
                 ever committed.{local}"
            )));
        }
        git::Git::Repository { ignored, .. } => (*ignored, None),
        git::Git::NoRepository => (git::matcher_ignores(root, gitignore, name), None),
        git::Git::Unavailable(reason) => (
            git::matcher_ignores(root, gitignore, name),
            Some(format!(
                "git check-ignore -v {name}; git ls-files {name}   # git could not be \
                 asked ({reason}): the first must print {name}, the second nothing"
            )),
        ),
    };
    if ignored {
        return Ok((gitignore.map(unchanged), step));
    }
    let edit = append(gitignore, &format!("{name}\n"));
    let verified = match answer {
        git::Git::Repository { .. } => verify(&edit.text, name),
        _ => None,
    }
    .unwrap_or_else(|| git::matcher_ignores(root, Some(&edit.text), name));
    if !verified {
        return Err(BadInput::new(format!(
            "{GITIGNORE}: {name} appended to it would still not be ignored; add a rule that \
             ignores {name} yourself (git check-ignore -v {name} shows which rule decides)"
        )));
    }
    Ok((Some(edit), step))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn kept(existing: &str) {
        let text = with_secret(".dev.vars", Some(existing), SECRET).unwrap();
        assert_eq!(text, existing);
    }

    fn refused(existing: &str) -> String {
        with_secret(".dev.vars", Some(existing), SECRET)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn dev_vars_gets_a_secret_once() {
        let created = with_secret(".dev.vars", None, SECRET).unwrap();
        assert_eq!(created, format!("SESSION_SECRET={SECRET}\n"));
        kept(&created);
        let appended = with_secret(".env", Some("API_KEY=x\r\nOTHER=y"), SECRET).unwrap();
        assert_eq!(
            appended,
            format!("API_KEY=x\r\nOTHER=y\r\nSESSION_SECRET={SECRET}\r\n")
        );
        let others = "SESSION_SECRETS=1\nMY_SESSION_SECRET=2\n";
        let other_names = with_secret(".dev.vars", Some(others), SECRET).unwrap();
        assert_eq!(other_names, format!("{others}SESSION_SECRET={SECRET}\n"));
    }

    #[test]
    fn an_existing_secret_is_found_in_every_form_dotenv_reads() {
        let long = "x".repeat(40);
        for existing in [
            format!("SESSION_SECRET={long}\n"),
            format!("export SESSION_SECRET={long}\n"),
            format!("SESSION_SECRET=\"{long}\"\n"),
            format!("SESSION_SECRET='{long}' # for wrangler dev\n"),
            format!("SESSION_SECRET=`{long}`"),
            format!("  SESSION_SECRET  =  {long}  \n"),
            format!("SESSION_SECRET: {long}\n"),
            format!("\u{feff}SESSION_SECRET={long}\r\n"),
            format!("A=1\r\nSESSION_SECRET={long}\r\nB=2\r\n"),
            format!("# local only\n\nSESSION_SECRET=\"{long}\nsecond line\"\n"),
        ] {
            kept(&existing);
        }
    }

    #[test]
    fn a_secret_inside_another_value_or_a_comment_is_not_one() {
        for existing in [
            "CERT=\"-----\nSESSION_SECRET=0123456789abcdef0123456789abcdef\n-----\"\n",
            "# SESSION_SECRET=0123456789abcdef0123456789abcdef\n",
        ] {
            let text = with_secret(".dev.vars", Some(existing), SECRET).unwrap();
            assert_ne!(text, existing);
            let entries = dotenv::parse(&text);
            assert_eq!(dotenv::get(&entries, SECRET_NAME).unwrap().value, SECRET);
        }
    }

    #[test]
    fn an_empty_or_short_secret_is_refused_with_its_line_and_never_shown() {
        let error = refused("A=1\nSESSION_SECRET=\n");
        assert!(
            error.starts_with(".dev.vars:2: SESSION_SECRET is empty;"),
            "{error}"
        );
        let error = refused("export SESSION_SECRET=\"hunter2\"\n");
        assert!(
            error.starts_with(".dev.vars:1: SESSION_SECRET is 7 characters long;"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("openssl rand -hex 32"), "{error}");
        // Wrangler uses the last definition: a good first one does not help.
        let error = refused(&format!("SESSION_SECRET={SECRET}\nSESSION_SECRET=short\n"));
        assert!(
            error.starts_with(".dev.vars:2: SESSION_SECRET (the last of its 2 definitions"),
            "{error}"
        );
        assert!(!error.contains("short"), "{error}");
        kept(&format!("SESSION_SECRET=short\nSESSION_SECRET={SECRET}\n"));
        // 31 characters is one too few; 32 is enough.
        refused(&format!("SESSION_SECRET={}\n", "a".repeat(31)));
        kept(&format!("SESSION_SECRET={}\n", "a".repeat(32)));
    }

    #[test]
    fn the_appended_secret_is_never_swallowed_by_the_line_before() {
        // `KEY:` followed by a line makes that line KEY's value in dotenv.
        let text = with_secret(".dev.vars", Some("NOTE:\n"), SECRET).unwrap();
        assert_eq!(text, format!("NOTE:\n\nSESSION_SECRET={SECRET}\n"));
        let entries = dotenv::parse(&text);
        assert_eq!(dotenv::get(&entries, "NOTE").unwrap().value, "");
        assert_eq!(dotenv::get(&entries, SECRET_NAME).unwrap().value, SECRET);
    }

    fn repository(ignored: bool, tracked: bool) -> git::Git {
        git::Git::Repository { ignored, tracked }
    }

    fn no_git(_: &str, _: &str) -> Option<bool> {
        None
    }

    #[test]
    fn gitignore_is_edited_only_when_dev_vars_is_not_ignored() {
        let root = Path::new("/project");
        let keep = |text: Option<&str>, answer: &git::Git| {
            keep_out_of_git(root, ".dev.vars", text, answer, no_git).unwrap()
        };
        // Outside git, the project's .gitignore decides, negations included.
        let (edit, step) = keep(None, &git::Git::NoRepository);
        assert_eq!(edit.unwrap().text, ".dev.vars\n");
        assert_eq!(step, None);
        let (edit, _) = keep(Some("node_modules"), &git::Git::NoRepository);
        assert_eq!(edit.unwrap().text, "node_modules\n.dev.vars\n");
        let (edit, _) = keep(Some("dist\n.dev.vars*\n"), &git::Git::NoRepository);
        assert_eq!(edit.unwrap().status, EditStatus::Unchanged);
        let negated = ".dev.vars\n!.dev.vars\n";
        let (edit, _) = keep(Some(negated), &git::Git::NoRepository);
        assert_eq!(edit.unwrap().text, ".dev.vars\n!.dev.vars\n.dev.vars\n");
        // In a repository git's answer decides: ignored by a rule elsewhere
        // (no .gitignore is created), or not ignored whatever the file says.
        let (edit, _) = keep(None, &repository(true, false));
        assert!(edit.is_none());
        let (edit, _) = keep(Some(".dev.vars\n"), &repository(false, false));
        assert_eq!(edit.unwrap().text, ".dev.vars\n.dev.vars\n");
    }

    #[test]
    fn a_tracked_dev_vars_is_refused() {
        let root = Path::new("/project");
        for ignored in [false, true] {
            let error =
                keep_out_of_git(root, ".dev.vars", None, &repository(ignored, true), no_git)
                    .unwrap_err()
                    .to_string();
            assert!(error.starts_with(".dev.vars: tracked by git"), "{error}");
            assert!(error.contains("git rm --cached .dev.vars"), "{error}");
        }
    }

    #[test]
    fn the_new_gitignore_is_verified_before_it_is_used() {
        let root = Path::new("/project");
        let answer = repository(false, false);
        let refuses = |_: &str, _: &str| Some(false);
        let error = keep_out_of_git(root, ".dev.vars", None, &answer, refuses).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(".gitignore: .dev.vars appended")
        );
        let checked = std::cell::RefCell::new(Vec::new());
        let records = |text: &str, name: &str| {
            checked
                .borrow_mut()
                .push((text.to_string(), name.to_string()));
            Some(true)
        };
        keep_out_of_git(root, ".dev.vars", Some("!.dev.vars"), &answer, records).unwrap();
        assert_eq!(
            checked.into_inner(),
            [(
                "!.dev.vars\n.dev.vars\n".to_string(),
                ".dev.vars".to_string()
            )]
        );
    }

    #[test]
    fn when_git_cannot_answer_the_matcher_decides_and_a_step_says_what_to_check() {
        let root = Path::new("/project");
        let answer = git::Git::Unavailable("git did not answer within 5 s".to_string());
        let (edit, step) =
            keep_out_of_git(root, ".dev.vars", Some(".dev.vars\n"), &answer, no_git).unwrap();
        assert_eq!(edit.unwrap().status, EditStatus::Unchanged);
        let step = step.unwrap();
        assert!(step.starts_with("git check-ignore -v .dev.vars"), "{step}");
        assert!(step.contains("within 5 s"), "{step}");
    }

    /// Places the secret for `envs` in a project holding `files`; returns
    /// the placement and the project folder.
    fn place(files: &[(&str, &str)], envs: &[Option<&str>]) -> (Placed, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let envs: Vec<Option<String>> = envs.iter().map(|e| e.map(str::to_string)).collect();
        let environments = ["staging".to_string(), "production".to_string()];
        let placed = place_secret(
            dir.path(),
            &envs,
            SECRET,
            &environments,
            &|_| true,
            GitCheck {
                ask: &|_| git::Git::NoRepository,
                verify: no_git,
                always: true,
            },
        )
        .unwrap();
        (placed, dir)
    }

    /// Each file of the plan: name, text after, whether it changes.
    fn written(placed: &Placed) -> Vec<(String, String, bool)> {
        placed
            .files
            .iter()
            .map(|f| {
                let edit = f.edit();
                (
                    f.name.clone(),
                    edit.text,
                    edit.status == EditStatus::Changed,
                )
            })
            .collect()
    }

    fn file(name: &str, text: &str, changed: bool) -> (String, String, bool) {
        (name.to_string(), text.to_string(), changed)
    }

    #[test]
    fn an_environment_with_its_own_dev_vars_gets_the_secret_there() {
        let files = [(".dev.vars.staging", "A=1\n"), (".dev.vars", "B=2\n")];
        let (placed, _dir) = place(&files, &[Some("staging")]);
        let line = format!("SESSION_SECRET={SECRET}\n");
        assert_eq!(
            written(&placed),
            [file(".dev.vars.staging", &format!("A=1\n{line}"), true)]
        );
        assert_eq!(placed.holders, [".dev.vars.staging"]);
        assert_eq!(placed.gitignore.unwrap().1.text, ".dev.vars.staging\n");
    }

    #[test]
    fn a_project_with_env_files_gets_the_secret_in_one_of_them() {
        let line = format!("SESSION_SECRET={SECRET}\n");
        // .env alone: there, never a new .dev.vars that would hide it.
        let (placed, dir) = place(&[(".env", "A=1\n")], &[None]);
        assert_eq!(
            written(&placed),
            [file(".env", &format!("A=1\n{line}"), true)]
        );
        assert_eq!(placed.gitignore.unwrap().1.text, ".env\n");
        assert!(!dir.path().join(".dev.vars").exists());
        // The most specific file wrangler reads takes it.
        let files = [(".env", "A=1\n"), (".env.local", "B=2\n")];
        let (placed, _dir) = place(&files, &[None]);
        assert_eq!(placed.holders, [".env.local"]);
        // With a .dev.vars, wrangler reads only that.
        let files = [(".env", "A=1\n"), (".dev.vars", "")];
        let (placed, _dir) = place(&files, &[None]);
        assert_eq!(written(&placed), [file(".dev.vars", &line, true)]);
    }

    #[test]
    fn a_secret_in_any_merged_env_file_is_kept() {
        let long = "s".repeat(40);
        let files = [
            (".env", "A=1\n".to_string()),
            (".env.staging", format!("SESSION_SECRET={long}\n")),
        ];
        let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let (placed, _dir) = place(&files, &[Some("staging")]);
        let kept = format!("SESSION_SECRET={long}\n");
        assert_eq!(written(&placed), [file(".env.staging", &kept, false)]);
        assert_eq!(placed.holders, [".env.staging"]);
        // The top level does not read .env.staging: it gets its own, in .env.
        let (placed, _dir) = place(&files, &[None, Some("staging")]);
        assert_eq!(placed.holders, [".env", ".env.staging"]);
        assert!(written(&placed)[0].2, "{:?}", written(&placed));
    }

    #[test]
    fn the_definition_wrangler_uses_is_the_one_checked() {
        let long = format!("SESSION_SECRET={}\n", "s".repeat(40));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), &long).unwrap();
        std::fs::write(dir.path().join(".env.local"), "SESSION_SECRET=short\n").unwrap();
        let error = place_secret(
            dir.path(),
            &[None],
            SECRET,
            &[],
            &|_| true,
            GitCheck {
                ask: &|_| git::Git::NoRepository,
                verify: no_git,
                always: true,
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            error.starts_with(".env.local:1: SESSION_SECRET is 5 characters long"),
            "{error}"
        );
        assert!(!error.contains("short"), "{error}");
        // The other way round, .env.local's long one wins.
        let (placed, _dir) = place(
            &[(".env", "SESSION_SECRET=short\n"), (".env.local", &long)],
            &[None],
        );
        assert_eq!(written(&placed), [file(".env.local", &long, false)]);
    }

    #[test]
    fn environments_sharing_a_file_edit_it_once() {
        let line = format!("SESSION_SECRET={SECRET}\n");
        let envs = [None, Some("staging"), Some("production")];
        let (placed, _dir) = place(&[], &envs);
        assert_eq!(written(&placed), [file(".dev.vars", &line, true)]);
        assert_eq!(placed.holders, [".dev.vars", ".dev.vars", ".dev.vars"]);
        assert_eq!(placed.gitignore.unwrap().1.text, ".dev.vars\n");
        // A file made for the first counts for the next: staging then reads
        // the new .dev.vars, not .env.staging.
        let (placed, _dir) = place(&[(".dev.vars.production", "")], &envs);
        assert_eq!(
            written(&placed),
            [
                file(".dev.vars", &line, true),
                file(".dev.vars.production", &line, true)
            ]
        );
        assert_eq!(
            placed.gitignore.unwrap().1.text,
            ".dev.vars\n.dev.vars.production\n"
        );
        // .env files for staging only: the top level's new file is .env,
        // which staging reads too.
        let (placed, _dir) = place(&[(".env.staging", "A=1\n")], &envs);
        assert_eq!(written(&placed), [file(".env", &line, true)]);
        assert_eq!(placed.holders, [".env", ".env", ".env"]);
    }

    #[test]
    fn ttls_run_from_60_s_to_400_days() {
        assert_eq!(ttl(None).unwrap(), 86_400);
        assert_eq!(ttl(Some("60")).unwrap(), 60);
        assert_eq!(ttl(Some("34560000")).unwrap(), MAX_TTL);
        for bad in [
            "59",
            "0",
            "34560001",
            "99999999999999999999",
            "-60",
            "1e3",
            "",
        ] {
            let error = ttl(Some(bad)).unwrap_err().to_string();
            assert!(error.contains("34560000 (400 days"), "{bad}: {error}");
        }
    }

    #[test]
    fn secrets_are_64_hex_characters_and_differ() {
        let (a, b) = (random_secret().unwrap(), random_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
