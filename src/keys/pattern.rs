//! Key patterns: `user:{id}`, `cache:{resource}:{id}`, `post-{slug}`.
//!
//! A pattern is literal text and `{param}`s. A param stands for text that is
//! not empty and holds no `:` (the separator of `keys.ts`) and not its
//! stop, the first character of the literal text after it (`-` in
//! `{kind}-{id}`), so a key splits back into its params one way only: that
//! is how the generated code builds and reads keys. Whether two patterns
//! can produce the same key is decided exactly for such params, within a
//! budget that bounds the time a hostile design takes.

use super::ValueKind;
use crate::design::Ttl;

/// The separator of key parts, as `keys.ts` and `keys.rs` use it.
pub const SEPARATOR: char = ':';

/// Workers KV's key limit, in bytes.
pub const MAX_KEY_BYTES: usize = 512;

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Param(String),
}

/// A key pattern of a namespace (`[namespaces.X.keys.NAME]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    /// NAME: an identifier (camelCase in TypeScript, snake_case in Rust).
    pub name: String,
    /// As written, e.g. `post:{id}`.
    pub pattern: String,
    pub pieces: Vec<Piece>,
    pub value: ValueKind,
    /// Overrides the namespace's `default_ttl`.
    pub ttl: Option<Ttl>,
    /// The edge cache of reads, in seconds (>= 30).
    pub cache_ttl: Option<u64>,
    /// What the keys are for (the specification's "use case").
    pub about: Option<String>,
}

impl KeyPattern {
    /// The params, in pattern order.
    pub fn params(&self) -> Vec<&str> {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Param(name) => Some(name.as_str()),
                Piece::Literal(_) => None,
            })
            .collect()
    }

    /// The literal text every key of the pattern starts with: what `list`
    /// asks KV for (then filtered by the whole pattern).
    pub fn list_prefix(&self) -> String {
        match self.pieces.first() {
            Some(Piece::Literal(text)) => text.clone(),
            _ => String::new(),
        }
    }

    /// A key of the pattern, its params numbered: `cache:{kind}:{id}` ->
    /// `cache:1:2`.
    pub fn example_key(&self) -> String {
        let mut n = 0;
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(text) => text.clone(),
                Piece::Param(_) => {
                    n += 1;
                    n.to_string()
                }
            })
            .collect()
    }
}

/// An identifier: ASCII letters, digits and `_`, not starting with a digit,
/// at most 64 characters.
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a pattern into pieces, checking the rules of the design file:
/// params non-empty identifiers, unique, never adjacent; literal text
/// without control characters or braces; room for the params within 512
/// bytes.
pub fn parse(pattern: &str) -> Result<Vec<Piece>, String> {
    if pattern.is_empty() {
        return Err("the pattern is empty".to_string());
    }
    let mut pieces: Vec<Piece> = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            let Some(end) = after.find('}') else {
                return Err(format!("a `{{` without its `}}` in {pattern:?}"));
            };
            let name = &after[..end];
            if !is_identifier(name) {
                return Err(format!(
                    "{{{name}}}: a param is an identifier (letters, digits and _, not starting with a digit)"
                ));
            }
            if name == "__proto__" {
                return Err(
                    "{__proto__}: JavaScript objects treat this name specially, so TypeScript could not pass the param; choose another".to_string(),
                );
            }
            if matches!(pieces.last(), Some(Piece::Param(_))) {
                return Err(format!(
                    "{{{name}}} follows another param with no literal text between them, so a key could not be split back into its params"
                ));
            }
            if pieces.iter().any(|p| *p == Piece::Param(name.to_string())) {
                return Err(format!("{{{name}}} appears twice in the pattern"));
            }
            pieces.push(Piece::Param(name.to_string()));
            rest = &after[end + 1..];
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            let text = &rest[..end];
            if text.contains('}') {
                return Err(format!("a `}}` without its `{{` in {pattern:?}"));
            }
            if let Some(c) = text.chars().find(|c| super::is_hidden(*c)) {
                return Err(format!(
                    "the pattern holds the control or invisible character {}",
                    c.escape_unicode()
                ));
            }
            pieces.push(Piece::Literal(text.to_string()));
            rest = &rest[end..];
        }
    }
    let literal: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::Literal(text) => text.len(),
            Piece::Param(_) => 0,
        })
        .sum();
    let params = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Param(_)))
        .count();
    if literal + params > MAX_KEY_BYTES {
        return Err(format!(
            "its literal text is {literal} bytes and its {params} params need at least one byte each: over the {MAX_KEY_BYTES}-byte key limit of Workers KV"
        ));
    }
    if params == 0 && (pattern == "." || pattern == "..") {
        return Err("`.` and `..` are not valid Workers KV keys".to_string());
    }
    Ok(pieces)
}

/// One step of a pattern as an automaton: a character of a literal, or a
/// param: one or more characters other than the separator and its stop
/// (the first character of the literal text after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Char(char),
    Param(Option<char>),
}

impl Step {
    /// Whether a param step may take `c`.
    fn takes(self, c: char) -> bool {
        match self {
            Step::Param(stop) => c != SEPARATOR && Some(c) != stop,
            Step::Char(_) => false,
        }
    }
}

fn steps(pieces: &[Piece]) -> Vec<Step> {
    let mut out = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal(text) => out.extend(text.chars().map(Step::Char)),
            Piece::Param(_) => out.push(Step::Param(stop_of(pieces, index))),
        }
    }
    out
}

/// The character that ends param `index` of `pieces` besides the
/// separator: the first of the literal text after it. The generated code
/// refuses it in the param, so a key splits back into its params one way.
pub fn stop_of(pieces: &[Piece], index: usize) -> Option<char> {
    match pieces.get(index + 1) {
        Some(Piece::Literal(text)) => text.chars().next(),
        _ => None,
    }
}

/// Whether `key` is a key of the pattern `pieces`, read as the generated
/// code reads it: literal text as it is, a param up to the separator or its
/// stop, at least one character.
pub fn matches(pieces: &[Piece], key: &str) -> bool {
    let mut rest = key;
    for (index, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal(text) => match rest.strip_prefix(text.as_str()) {
                Some(after) => rest = after,
                None => return false,
            },
            Piece::Param(_) => {
                let stop = stop_of(pieces, index);
                let end = rest
                    .find(|c| c == SEPARATOR || Some(c) == stop)
                    .unwrap_or(rest.len());
                if end == 0 {
                    return false;
                }
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty()
}

/// How many automaton states the collision checks of one design may visit
/// in all: hostile designs (hundreds of params against hundreds of params)
/// are refused instead of taking minutes.
pub const COLLISION_BUDGET: usize = 4_000_000;

/// A collision check that needed more than its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBudget;

/// Whether some key matches both patterns, as the generated code builds
/// and reads keys (a param holds neither the separator nor its stop).
/// `budget` is what is left of [`COLLISION_BUDGET`]; [`OutOfBudget`] when
/// the check would need more.
///
/// Keys of the two patterns have their separators at the literal `:` of
/// each, so the patterns are compared segment by segment; literal text at
/// either end must agree; then each segment pair's product automaton is
/// searched for a state where both have consumed everything.
pub fn can_collide(a: &[Piece], b: &[Piece], budget: &mut usize) -> Result<bool, OutOfBudget> {
    let (a, b) = (steps(a), steps(b));
    let segments = |steps: &[Step]| -> Vec<Vec<Step>> {
        steps
            .split(|s| *s == Step::Char(SEPARATOR))
            .map(<[Step]>::to_vec)
            .collect()
    };
    let (sa, sb) = (segments(&a), segments(&b));
    if sa.len() != sb.len() {
        return Ok(false);
    }
    // Literal text at both ends, where it is cheap to compare.
    let agree = |x: &[Step], y: &[Step]| {
        x.iter()
            .zip(y)
            .take_while(|(p, q)| matches!((p, q), (Step::Char(_), Step::Char(_))))
            .all(|(p, q)| p == q)
    };
    let (ra, rb): (Vec<Step>, Vec<Step>) = (
        a.iter().rev().copied().collect(),
        b.iter().rev().copied().collect(),
    );
    if !agree(&a, &b) || !agree(&ra, &rb) {
        return Ok(false);
    }
    for (x, y) in sa.iter().zip(&sb) {
        if !segment_can_collide(x, y, budget)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether one text (without the separator) matches both segments.
fn segment_can_collide(a: &[Step], b: &[Step], budget: &mut usize) -> Result<bool, OutOfBudget> {
    // State (i, j, in_a, in_b): at step i of a and j of b; in_x: inside a
    // param of x that has taken at least one character (it may go on or
    // end).
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(0usize, 0usize, false, false)];
    while let Some(state) = stack.pop() {
        if !seen.insert(state) {
            continue;
        }
        *budget = budget.checked_sub(1).ok_or(OutOfBudget)?;
        let (i, j, in_a, in_b) = state;
        // Ending a param that has taken a character moves past it.
        if in_a {
            stack.push((i + 1, j, false, in_b));
        }
        if in_b {
            stack.push((i, j + 1, in_a, false));
        }
        if i == a.len() && j == b.len() && !in_a && !in_b {
            return Ok(true);
        }
        // The next character, taken by both.
        let (Some(&sa), Some(&sb)) = (a.get(i), b.get(j)) else {
            continue;
        };
        let agree = match (sa, sb) {
            (Step::Char(x), Step::Char(y)) => x == y,
            (Step::Char(x), p @ Step::Param(_)) | (p @ Step::Param(_), Step::Char(x)) => p.takes(x),
            // Some character both params may take: neither side's stop
            // (nor the separator) leaves plenty.
            (Step::Param(_), Step::Param(_)) => true,
        };
        if !agree {
            continue;
        }
        let (ni, na) = match sa {
            Step::Char(_) => (i + 1, false),
            Step::Param(_) => (i, true),
        };
        let (nj, nb) = match sb {
            Step::Char(_) => (j + 1, false),
            Step::Param(_) => (j, true),
        };
        stack.push((ni, nj, na, nb));
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Vec<Piece> {
        parse(text).unwrap()
    }

    #[test]
    fn patterns_are_read_into_pieces() {
        assert_eq!(
            p("cache:{resource}:{id}"),
            vec![
                Piece::Literal("cache:".into()),
                Piece::Param("resource".into()),
                Piece::Literal(":".into()),
                Piece::Param("id".into()),
            ]
        );
        assert_eq!(p("{id}"), vec![Piece::Param("id".into())]);
    }

    #[test]
    fn the_rules_of_the_design_file_are_enforced() {
        for (pattern, reason) in [
            ("", "empty"),
            ("user:{}", "identifier"),
            ("user:{1d}", "identifier"),
            ("user:{id", "without its"),
            ("user:id}", "without its"),
            ("{a}{b}", "no literal text between"),
            ("{a}:{a}", "twice"),
            ("a\u{7}", "control"),
            ("a\u{202e}b:{id}", "invisible character \\u{202e}"),
            ("x:{__proto__}", "specially"),
            (".", "not valid"),
        ] {
            let e = parse(pattern).unwrap_err();
            assert!(e.contains(reason), "{pattern:?}: {e}");
        }
        let long = format!("{}:{{id}}", "x".repeat(511));
        assert!(parse(&long).unwrap_err().contains("512-byte"));
        assert!(parse(&format!("{}:{{id}}", "x".repeat(510))).is_ok());
    }

    #[test]
    fn collisions_are_found_exactly() {
        let collide =
            |a: &str, b: &str| can_collide(&p(a), &p(b), &mut COLLISION_BUDGET.clone()).unwrap();
        assert!(collide("user:{id}", "user:{name}"));
        assert!(collide("user:{id}", "user:admin"));
        assert!(collide("post-{a}", "{b}-1"));
        assert!(collide("{a}x", "y{b}"));
        assert!(!collide("user:{id}", "user:{id}:profile"));
        assert!(!collide("user:{id}", "users:{id}"));
        assert!(!collide("a:{x}", "b:{x}"));
        assert!(!collide("{a}:b", "{a}"));
        // A param is never empty: `v{n}` cannot be `v`.
        assert!(!collide("v{n}", "v"));
        assert!(collide("v{n}", "vv"));
        // ... and never holds the separator.
        assert!(!collide("k{n}", "k:1"));
        // ... nor the first character of the text after it: keys of
        // `{a}x` never start with `x`, keys of `{a}-x` hold one `-`.
        assert!(!collide("{a}x", "x{b}"));
        assert!(collide("a:{id}-x", "a:x-{id}")); // a:x-x
        assert!(!collide("a:{id}-x", "a:{k}-y"));
        assert!(collide("a:{id}-x", "a:{k}-{v}"));
        assert!(collide("a:{id}-x-{n}", "a:{k}-{v}")); // a:1-x-2, v = x-2
        assert!(collide("blob:{kind}-{id}", "blob:{a}-{b}-{c}")); // id = 2-3
    }

    #[test]
    fn collisions_agree_with_every_short_key() {
        let patterns = [
            "{a}",
            "{a}x",
            "x{a}",
            "{a}-{b}",
            "{a}-x",
            "x-{a}",
            "{a}:{b}",
            "a:{b}",
            "{a}x{b}",
            "{a}-{b}x",
            "{a}y-{b}x",
            "x",
            "x-x",
            "{a}:x",
            "-{a}",
            "{a}-",
        ];
        let alphabet = ['a', 'x', 'y', '-', ':'];
        let mut keys = vec![String::new()];
        let mut all = Vec::new();
        for _ in 0..6 {
            keys = keys
                .iter()
                .flat_map(|k| alphabet.iter().map(move |c| format!("{k}{c}")))
                .collect();
            all.extend(keys.iter().cloned());
        }
        for a in patterns {
            for b in patterns {
                let (pa, pb) = (p(a), p(b));
                let brute = all.iter().any(|k| matches(&pa, k) && matches(&pb, k));
                let found = can_collide(&pa, &pb, &mut COLLISION_BUDGET.clone()).unwrap();
                assert_eq!(found, brute, "{a} against {b}");
            }
        }
    }

    #[test]
    fn a_hostile_design_runs_out_of_budget_instead_of_time() {
        let many: String = (0..240).map(|i| format!("{{p{i}}}a")).collect();
        let (a, b) = (p(&format!("{many}:K")), p(&format!("{many}:K")));
        let mut budget = COLLISION_BUDGET;
        let started = std::time::Instant::now();
        let answer = can_collide(&a, &b, &mut budget);
        assert!(matches!(answer, Ok(true) | Err(OutOfBudget)));
        // Ends at the last segment: literal ends differ.
        let c = p(&format!("{many}:L"));
        assert_eq!(
            can_collide(&a, &c, &mut COLLISION_BUDGET.clone()),
            Ok(false)
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
}
