//! `kvgen session`: the signed-cookie session store, the SESSIONS binding,
//! and a local SESSION_SECRET in `.dev.vars`, kept out of git.
//!
//! `.dev.vars` is read as Wrangler reads it ([`dotenv`]), so a secret that is
//! already there in any form dotenv accepts is found, and one that is too
//! short for the store is reported rather than shadowed by a second line.
//! Whether git would commit the file is asked of git itself ([`git`]).

mod git;

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::context;

use super::generate::{self, Dependency};
use crate::cli::{GlobalArgs, SessionArgs};
use crate::config::{Edit, EditStatus, KvBinding};
use crate::dotenv;
use crate::error::BadInput;
use crate::names;
use crate::plan::{Plan, read_text};
use crate::text::Text;

/// The binding used when `--binding` is not given.
const DEFAULT_BINDING: &str = "SESSIONS";
const DEFAULT_TTL: u64 = 86_400;
/// Browsers keep a cookie at most 400 days, whatever its Max-Age (RFC 6265bis,
/// "The Max-Age Attribute"): a longer session would outlive its cookie.
pub const MAX_TTL: u64 = 400 * 86_400;
/// The `__Host-` prefix makes browsers refuse the cookie unless it is Secure,
/// has Path=/ and no Domain, so no sibling subdomain can plant one.
const DEFAULT_COOKIE: &str = "__Host-session";
/// The Worker secret the generated code is meant to be given.
const SECRET_NAME: &str = "SESSION_SECRET";
/// The shortest secret the generated stores accept (TypeScript counts UTF-16
/// units, Rust bytes; a string has at least as many UTF-8 bytes as UTF-16
/// units, so counting units satisfies both).
const MIN_SECRET_LENGTH: usize = 32;
const DEV_VARS: &str = ".dev.vars";
const GITIGNORE: &str = ".gitignore";

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
    let binding = KvBinding::new(binding);
    let ttl = ttl(args.ttl.as_deref())?;
    let cookie = names::cookie_name(args.cookie.as_deref().unwrap_or(DEFAULT_COOKIE))?;
    let context = context! { default_ttl => ttl, cookie_name => cookie };
    let generate::Prepared {
        project,
        mut plan,
        envs,
        ..
    } = generate::binding_modules(cwd, global, &binding, "session", context, RUST_DEPENDENCIES)?;

    // A secret for `wrangler dev`, in a file git never sees. Whether git
    // would see it is settled first: a tracked `.dev.vars` is refused
    // whatever it holds.
    let gitignore_before = read_text(&project.root.join(GITIGNORE), GITIGNORE)?;
    let answer = git::ask(&project.root, DEV_VARS);
    let (ignore_edit, git_step) = keep_out_of_git(
        &project.root,
        gitignore_before.as_deref(),
        &answer,
        git::ignores_by_itself,
    )?;
    let secret = random_secret()?;
    let dev_vars_before = read_text(&project.root.join(DEV_VARS), DEV_VARS)?;
    let edit = dev_vars(dev_vars_before.as_deref(), &secret)?;
    plan.edited(&project.root, DEV_VARS, dev_vars_before, edit);
    plan.keep_secret(DEV_VARS, &secret);
    if let Some(ignore_edit) = ignore_edit {
        plan.edited(&project.root, GITIGNORE, gitignore_before, ignore_edit);
    }

    for env in &envs {
        plan.next_steps.push(format!(
            "{}   # a long random value; .dev.vars has one for wrangler dev",
            generate::wrangler(global, &format!("secret put {SECRET_NAME}"), env.as_deref())
        ));
    }
    plan.next_steps.extend(git_step);
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

/// `.dev.vars` with a SESSION_SECRET that dotenv (Wrangler's reader) finds:
/// left as it is when it has a long enough one, else with one appended.
fn dev_vars(existing: Option<&str>, secret: &str) -> Result<Edit, BadInput> {
    let line = format!("{SECRET_NAME}={secret}\n");
    let Some(raw) = existing else {
        return Ok(append(None, &line));
    };
    let entries = dotenv::parse(raw);
    if let Some(found) = dotenv::get(&entries, SECRET_NAME) {
        let length = found.value.encode_utf16().count();
        if length >= MIN_SECRET_LENGTH {
            return Ok(unchanged(raw));
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
        return Err(BadInput::new(format!(
            "{DEV_VARS}:{line}: {SECRET_NAME}{which} {size}; the session store needs at least \
             {MIN_SECRET_LENGTH} characters. Put a random one there (openssl rand -hex 32), or \
             delete the line and run kvgen session again to have one generated",
            line = found.line
        )));
    }
    // Normally the line goes right at the end; after a line such as `KEY:`
    // dotenv would read it as KEY's value, and a blank line keeps it apart.
    for separator in ["", "\n"] {
        let edit = append(Some(raw), &format!("{separator}{line}"));
        if reads_as_before_plus_secret(&entries, &edit.text, secret) {
            return Ok(edit);
        }
    }
    Err(BadInput::new(format!(
        "{DEV_VARS}: a {SECRET_NAME} line added at its end would not be read as one by dotenv \
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
/// keeps `.dev.vars` out of git, and a next step when git could not be asked.
///
/// Git's answer decides when there is one; otherwise the project's
/// `.gitignore` is read with a gitignore matcher. `.dev.vars` is appended at
/// the end of the project's `.gitignore`, after any negation, and the file
/// closest to `.dev.vars` outranks every other source of ignore rules, so the
/// appended rule decides; `verify` (git on the new text, in a scratch
/// repository) or the matcher confirms it before anything is written. A
/// tracked `.dev.vars` is refused: ignoring a file does not untrack it.
fn keep_out_of_git(
    root: &Path,
    gitignore: Option<&str>,
    answer: &git::Git,
    verify: impl Fn(&str, &str) -> Option<bool>,
) -> Result<(Option<Edit>, Option<String>), BadInput> {
    let (ignored, step) = match answer {
        git::Git::Repository { tracked: true, .. } => {
            return Err(BadInput::new(format!(
                "{DEV_VARS}: tracked by git, so the {SECRET_NAME} in it would be committed (an \
                 ignore rule does not untrack a file). Run `git rm --cached {DEV_VARS}` (the file \
                 stays on disk), commit, and run kvgen session again; replace any secret that was \
                 ever committed"
            )));
        }
        git::Git::Repository { ignored, .. } => (*ignored, None),
        git::Git::NoRepository => (git::matcher_ignores(root, gitignore, DEV_VARS), None),
        git::Git::Unavailable(reason) => (
            git::matcher_ignores(root, gitignore, DEV_VARS),
            Some(format!(
                "git check-ignore -v {DEV_VARS}; git ls-files {DEV_VARS}   # git could not be \
                 asked ({reason}): the first must print {DEV_VARS}, the second nothing"
            )),
        ),
    };
    if ignored {
        return Ok((gitignore.map(unchanged), step));
    }
    let edit = append(gitignore, &format!("{DEV_VARS}\n"));
    let verified = match answer {
        git::Git::Repository { .. } => verify(&edit.text, DEV_VARS),
        _ => None,
    }
    .unwrap_or_else(|| git::matcher_ignores(root, Some(&edit.text), DEV_VARS));
    if !verified {
        return Err(BadInput::new(format!(
            "{GITIGNORE}: {DEV_VARS} appended to it would still not be ignored; add a rule that \
             ignores {DEV_VARS} yourself (git check-ignore -v {DEV_VARS} shows which rule decides)"
        )));
    }
    Ok((Some(edit), step))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn kept(existing: &str) {
        let edit = dev_vars(Some(existing), SECRET).unwrap();
        assert_eq!(edit.status, EditStatus::Unchanged, "{existing:?}");
        assert_eq!(edit.text, existing);
    }

    fn refused(existing: &str) -> String {
        dev_vars(Some(existing), SECRET).unwrap_err().to_string()
    }

    #[test]
    fn dev_vars_gets_a_secret_once() {
        let created = dev_vars(None, SECRET).unwrap();
        assert_eq!(created.text, format!("SESSION_SECRET={SECRET}\n"));
        kept(&created.text);
        let appended = dev_vars(Some("API_KEY=x\r\nOTHER=y"), SECRET).unwrap();
        assert_eq!(
            appended.text,
            format!("API_KEY=x\r\nOTHER=y\r\nSESSION_SECRET={SECRET}\r\n")
        );
        let other_names = dev_vars(Some("SESSION_SECRETS=1\nMY_SESSION_SECRET=2\n"), SECRET);
        assert_eq!(other_names.unwrap().status, EditStatus::Changed);
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
            let edit = dev_vars(Some(existing), SECRET).unwrap();
            assert_eq!(edit.status, EditStatus::Changed, "{existing:?}");
            let entries = dotenv::parse(&edit.text);
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
        let edit = dev_vars(Some("NOTE:\n"), SECRET).unwrap();
        assert_eq!(edit.text, format!("NOTE:\n\nSESSION_SECRET={SECRET}\n"));
        let entries = dotenv::parse(&edit.text);
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
            keep_out_of_git(root, text, answer, no_git).unwrap()
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
            let error = keep_out_of_git(root, None, &repository(ignored, true), no_git)
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
        let error = keep_out_of_git(root, None, &answer, refuses).unwrap_err();
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
        keep_out_of_git(root, Some("!.dev.vars"), &answer, records).unwrap();
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
        let (edit, step) = keep_out_of_git(root, Some(".dev.vars\n"), &answer, no_git).unwrap();
        assert_eq!(edit.unwrap().status, EditStatus::Unchanged);
        let step = step.unwrap();
        assert!(step.starts_with("git check-ignore -v .dev.vars"), "{step}");
        assert!(step.contains("within 5 s"), "{step}");
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
