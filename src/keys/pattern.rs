//! Key patterns: `user:{id}`, `cache:{resource}:{id}`, `post-{slug}`.
//!
//! A pattern is literal text and `{param}`s. A param stands for text that is
//! not empty and holds no `:` (the separator of `keys.ts`); the generated
//! code also refuses a param holding the first character of the literal
//! text after it (`-` in `{kind}-{id}`), so a key splits back into its
//! params one way only. Two patterns can produce the same key only when
//! they have as many `:` and each pair of segments can match one text;
//! that is decided exactly below for params that hold anything but `:`, a
//! superset of what the generated code builds, so a collision reported may
//! be one the stricter params avoid, never the other way round.

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
            if let Some(c) = text.chars().find(|c| c.is_control()) {
                return Err(format!(
                    "the pattern holds the control character {}",
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
/// param (one or more characters other than the separator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Char(char),
    Param,
}

fn steps(pieces: &[Piece]) -> Vec<Step> {
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.extend(text.chars().map(Step::Char)),
            Piece::Param(_) => out.push(Step::Param),
        }
    }
    out
}

/// Whether some key matches both patterns. Each pattern is an automaton
/// over its steps (a param loops on any character but the separator); the
/// product is searched for a state where both have consumed everything.
pub fn can_collide(a: &[Piece], b: &[Piece]) -> bool {
    let (a, b) = (steps(a), steps(b));
    // State (i, j, in_a, in_b): at step i of a and j of b; in_x: inside a
    // param of x that has consumed at least one character (it may go on or
    // end).
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(0usize, 0usize, false, false)];
    while let Some(state) = stack.pop() {
        if !seen.insert(state) {
            continue;
        }
        let (i, j, in_a, in_b) = state;
        // Ending a param that has consumed a character moves past it.
        if in_a {
            stack.push((i + 1, j, false, in_b));
        }
        if in_b {
            stack.push((i, j + 1, in_a, false));
        }
        if i == a.len() && j == b.len() && !in_a && !in_b {
            return true;
        }
        // The next character consumed by both.
        let next_a = if in_a {
            Some(Step::Param)
        } else {
            a.get(i).copied()
        };
        let next_b = if in_b {
            Some(Step::Param)
        } else {
            b.get(j).copied()
        };
        let (Some(sa), Some(sb)) = (next_a, next_b) else {
            continue;
        };
        let agree = match (sa, sb) {
            (Step::Char(x), Step::Char(y)) => x == y,
            (Step::Char(x), Step::Param) | (Step::Param, Step::Char(x)) => x != SEPARATOR,
            (Step::Param, Step::Param) => true,
        };
        if !agree {
            continue;
        }
        let (ni, na) = match sa {
            Step::Char(_) => (i + 1, false),
            Step::Param => (i, true),
        };
        let (nj, nb) = match sb {
            Step::Char(_) => (j + 1, false),
            Step::Param => (j, true),
        };
        stack.push((ni, nj, na, nb));
    }
    false
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
        let collide = |a: &str, b: &str| can_collide(&p(a), &p(b));
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
    }
}
