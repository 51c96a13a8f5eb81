//! Unified diffs of planned changes, as `--dry-run` shows them.

use similar::TextDiff;

/// A unified diff from `before` (None: the file does not exist) to `after`,
/// with `a/` and `b/` paths like git's. Empty when nothing changes.
pub fn unified(path: &str, before: Option<&str>, after: &str) -> String {
    let old = before.unwrap_or("");
    if old == after && before.is_some() {
        return String::new();
    }
    let old_name = if before.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".to_string()
    };
    let mut out = TextDiff::from_lines(old, after)
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&old_name, &format!("b/{path}"))
        .to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
