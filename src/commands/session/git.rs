//! Whether git would commit `.dev.vars`. Inside a git repository git itself
//! is asked: which ignore rule decides is git's business (a `.gitignore` in
//! the project or in a folder above it, `.git/info/exclude`, the global
//! excludes file, negations among them), and so is whether the file is
//! already tracked. Outside one, or when git cannot be run, the project's own
//! `.gitignore` is read with the `ignore` crate's gitignore matcher.
//!
//! git always runs with fixed arguments (never a name or path from the user:
//! the folder is the child's working directory, the path is given on
//! standard input or after `--`), without a terminal prompt, and is stopped
//! after [`TIMEOUT`]; any failure falls back to the matcher.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ignore::Match;
use ignore::gitignore::GitignoreBuilder;

use crate::text::Text;

/// The longest one git command may take before kvgen stops it.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// What git says about a path in the project root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Git {
    /// The project is in a git repository, and git answered.
    Repository { ignored: bool, tracked: bool },
    /// No git repository around the project (or no git and no `.git`).
    NoRepository,
    /// The project looks like a git repository but git could not answer.
    Unavailable(String),
}

/// Asks git whether `name` (a file in `root`) is ignored and whether it is
/// tracked.
pub fn ask(root: &Path, name: &str) -> Git {
    if !looks_like_repository(root) {
        return Git::NoRepository;
    }
    let failed = Git::Unavailable;
    let ignored = match check_ignore(root, name, false) {
        Ok(Some(rule)) => !rule.negated,
        Ok(None) => false,
        Err(reason) => return failed(reason),
    };
    let listed = run(
        root,
        &["ls-files", "-z", "--cached", "--", name],
        b"",
        false,
    );
    match listed {
        Ok(output) if output.code == Some(0) => Git::Repository {
            ignored,
            tracked: !output.stdout.is_empty(),
        },
        Ok(output) => failed(output.failure("git ls-files")),
        Err(reason) => failed(reason),
    }
}

/// Whether git, given `gitignore` as the `.gitignore` of a folder, ignores
/// `name` in it by a rule of that file. It runs in a new, empty repository
/// in a temporary folder, so nothing of the project is written. `None` when
/// git could not answer.
pub fn ignores_by_itself(gitignore: &str, name: &str) -> Option<bool> {
    let scratch = tempfile::tempdir().ok()?;
    let init = run(scratch.path(), &["init", "-q", "--template="], b"", true).ok()?;
    if init.code != Some(0) {
        return None;
    }
    std::fs::write(scratch.path().join(".gitignore"), gitignore).ok()?;
    let rule = check_ignore(scratch.path(), name, true).ok()?;
    Some(rule.is_some_and(|rule| rule.source == ".gitignore" && !rule.negated))
}

/// Whether the `.gitignore` text `gitignore` of `root` ignores `name`,
/// read with the `ignore` crate's gitignore matcher (git's rules: the last
/// matching pattern decides, `!` re-includes).
pub fn matcher_ignores(root: &Path, gitignore: Option<&str>, name: &str) -> bool {
    let Some(raw) = gitignore else {
        return false;
    };
    let mut builder = GitignoreBuilder::new(root);
    for line in Text::new(raw).lf().lines() {
        // git skips a pattern it cannot read; so does this.
        let _ = builder.add_line(None, line.strip_suffix('\r').unwrap_or(line));
    }
    match builder.build() {
        Ok(matcher) => matches!(matcher.matched(root.join(name), false), Match::Ignore(_)),
        Err(_) => false,
    }
}

/// The rule of git's ignore files that decides about a path.
#[derive(Debug)]
struct Rule {
    /// The file it is in, relative to the top of the work tree.
    source: String,
    /// A `!` rule: the path is not ignored.
    negated: bool,
}

/// `git check-ignore` for `name` in `dir`, looking at the ignore rules only
/// (`--no-index`: whether the file is tracked is asked separately). The path
/// goes in on standard input, NUL-terminated.
fn check_ignore(dir: &Path, name: &str, scratch: bool) -> Result<Option<Rule>, String> {
    let args = [
        "check-ignore",
        "--stdin",
        "-z",
        "--verbose",
        "--non-matching",
        "--no-index",
    ];
    let input = format!("{name}\0");
    let output = run(dir, &args, input.as_bytes(), scratch)?;
    // 0: ignored; 1: not ignored. With --verbose a `!` rule also counts as
    // output, hence reading the rule rather than the code.
    if !matches!(output.code, Some(0 | 1)) {
        return Err(output.failure("git check-ignore"));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split('\0').collect();
    match fields.as_slice() {
        [source, _line, pattern, path, ..] if *path == name => Ok(if source.is_empty() {
            None
        } else {
            Some(Rule {
                source: (*source).to_string(),
                negated: pattern.starts_with('!'),
            })
        }),
        _ => Err(format!("git check-ignore gave unexpected output {text:?}")),
    }
}

/// Whether `root` or a folder above it has a `.git`, or `GIT_DIR` is set.
fn looks_like_repository(root: &Path) -> bool {
    std::env::var_os("GIT_DIR").is_some() || root.ancestors().any(|dir| dir.join(".git").exists())
}

struct Output {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Output {
    fn failure(&self, what: &str) -> String {
        let stderr = String::from_utf8_lossy(&self.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        match self.code {
            Some(code) => format!("{what} exited with {code}: {first}"),
            None => format!("{what} was stopped by a signal"),
        }
    }
}

/// The repository git finds by itself from the working directory; for the
/// scratch repository, none of the variables that would point it elsewhere.
const REPOSITORY_VARIABLES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
];

/// Runs git with fixed `args` in `dir`, feeding it `input`, for at most
/// [`TIMEOUT`].
fn run(dir: &Path, args: &[&str], input: &[u8], scratch: bool) -> Result<Output, String> {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if scratch {
        for variable in REPOSITORY_VARIABLES {
            command.env_remove(variable);
        }
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("git could not be run: {e}"))?;
    let deadline = Instant::now() + TIMEOUT;
    if let Some(mut stdin) = child.stdin.take() {
        // git may exit without reading; that shows in its exit code.
        let _ = stdin.write_all(input);
    }
    // Read both pipes on their own threads, so a chatty git never blocks
    // on a full pipe, and a pipe held open by something git started never
    // blocks kvgen.
    let (sender, receiver) = mpsc::channel();
    for (index, pipe) in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .enumerate()
    {
        let sender = sender.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            let _ = sender.send((index, bytes));
        });
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("git did not answer within {} s", TIMEOUT.as_secs()));
            }
            Err(e) => return Err(format!("git could not be waited for: {e}")),
        }
    };
    let mut pipes = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok((index, bytes)) => pipes[index] = bytes,
            Err(_) => return Err("git's output did not end".to_string()),
        }
    }
    let [stdout, stderr] = pipes;
    Ok(Output {
        code: status.code(),
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matcher_follows_negations_and_order() {
        let root = Path::new("/project");
        let ignores = |text: &str| matcher_ignores(root, Some(text), ".dev.vars");
        assert!(!matcher_ignores(root, None, ".dev.vars"));
        assert!(ignores(".dev.vars\n"));
        assert!(ignores("/.dev.vars\r\n"));
        assert!(ignores("\u{feff}.dev.*\n"));
        assert!(ignores(".dev.vars*"));
        assert!(ignores("*.vars\n"));
        assert!(!ignores(".dev.vars\n!.dev.vars\n"));
        assert!(ignores(".dev.vars\n!.dev.vars\n.dev.vars\n"));
        assert!(!ignores("*\n!.dev.vars\n"));
        assert!(!ignores("# .dev.vars\n"));
        assert!(!ignores("sub/.dev.vars\n"));
        assert!(!ignores(".dev.vars/\n"), "a folder pattern");
        assert!(!ignores("\\!.dev.vars\n"));
    }
}
