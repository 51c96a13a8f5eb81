//! Text of the files kvgen edits: byte-order marks, line endings and positions.
//!
//! Config editors work on the raw text without its BOM and insert text at
//! offsets of it; each inserted line break is the ending of the line it goes
//! into, so a CRLF file stays CRLF and a mixed one stays mixed line by line.

use std::borrow::Cow;

const BOM: char = '\u{feff}';

/// A file's text split into its optional byte-order mark and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a> {
    pub bom: bool,
    pub body: &'a str,
}

impl<'a> Text<'a> {
    pub fn new(raw: &'a str) -> Self {
        match raw.strip_prefix(BOM) {
            Some(body) => Text { bom: true, body },
            None => Text {
                bom: false,
                body: raw,
            },
        }
    }

    /// The body with LF line endings, which is what editors work on.
    pub fn lf(&self) -> Cow<'a, str> {
        if self.body.contains("\r\n") {
            Cow::Owned(self.body.replace("\r\n", "\n"))
        } else {
            Cow::Borrowed(self.body)
        }
    }

    /// The edited body (LF line endings) turned back into the file's form:
    /// the BOM put back, every line that was there keeping its own line
    /// ending, and new lines getting the ending most of the file uses.
    pub fn finish(&self, edited_lf: &str) -> String {
        let mut out = String::with_capacity(edited_lf.len() + 64);
        if self.bom {
            out.push(BOM);
        }
        out.push_str(&restore_line_endings(self.body, edited_lf));
        out
    }
}

/// True when most line breaks in `text` are CRLF.
pub fn uses_crlf(text: &str) -> bool {
    let all = text.matches('\n').count();
    let crlf = text.matches("\r\n").count();
    all > 0 && crlf * 2 > all
}

/// Gives the lines of `edited_lf` the line endings of `original`: a line that
/// is unchanged keeps the ending it had, a new or changed line gets the ending
/// most of `original` uses.
pub fn restore_line_endings(original: &str, edited_lf: &str) -> String {
    if !original.contains("\r\n") {
        return edited_lf.to_string();
    }
    let default_crlf = uses_crlf(original);
    // Each old line with its ending: Some(true) CRLF, Some(false) LF, None
    // for a last line without one (which takes the file's usual ending if a
    // line is added after it).
    let old: Vec<(&str, Option<bool>)> = original
        .split_inclusive('\n')
        .map(|line| match line.strip_suffix("\r\n") {
            Some(content) => (content, Some(true)),
            None => match line.strip_suffix('\n') {
                Some(content) => (content, Some(false)),
                None => (line, None),
            },
        })
        .collect();
    let new: Vec<(&str, bool)> = edited_lf
        .split_inclusive('\n')
        .map(|line| match line.strip_suffix('\n') {
            Some(content) => (content, true),
            None => (line, false),
        })
        .collect();
    let old_contents: Vec<&str> = old.iter().map(|(c, _)| *c).collect();
    let new_contents: Vec<&str> = new.iter().map(|(c, _)| *c).collect();
    let mut crlf = vec![default_crlf; new.len()];
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old_contents, &new_contents)
    {
        if let similar::DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                crlf[new_index + k] = old[old_index + k].1.unwrap_or(default_crlf);
            }
        }
    }
    let mut out = String::with_capacity(edited_lf.len() + new.len());
    for ((content, newline), crlf) in new.iter().zip(crlf) {
        out.push_str(content);
        if *newline {
            out.push_str(if crlf { "\r\n" } else { "\n" });
        }
    }
    out
}

/// Byte offset of the first carriage return that is not followed by a line
/// feed: such a file has no lines kvgen can tell apart.
pub fn lone_cr(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'\r', bytes).find(|&i| bytes.get(i + 1) != Some(&b'\n'))
}

/// Start of the line that holds `offset`.
pub fn line_start(text: &str, offset: usize) -> usize {
    memchr::memrchr(b'\n', &text.as_bytes()[..offset]).map_or(0, |i| i + 1)
}

/// Start of the line after the one that holds `offset` (the end of the text
/// when that line is the last).
pub fn next_line_start(text: &str, offset: usize) -> usize {
    memchr::memchr(b'\n', &text.as_bytes()[offset..]).map_or(text.len(), |i| offset + i + 1)
}

/// The spaces and tabs that start the line holding `offset`.
pub fn indent_at(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let line = &text[start..];
    let len = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..len]
}

/// True when only spaces and tabs come before `offset` on its line.
pub fn starts_line(text: &str, offset: usize) -> bool {
    text[line_start(text, offset)..offset]
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
}

/// True when the line starting at `start` holds nothing but spaces and tabs.
pub fn is_blank_line(text: &str, start: usize) -> bool {
    text[start..]
        .bytes()
        .take_while(|&b| b != b'\n')
        .all(|b| b == b' ' || b == b'\t' || b == b'\r')
}

/// The line break for text inserted at `offset`: the ending of the line that
/// receives the text; for a last line without one, the ending of the line
/// before it; LF for a file of one line.
pub fn line_break_at(text: &str, offset: usize) -> &'static str {
    let ending = |newline: usize| {
        if newline > 0 && text.as_bytes()[newline - 1] == b'\r' {
            "\r\n"
        } else {
            "\n"
        }
    };
    if let Some(i) = memchr::memchr(b'\n', &text.as_bytes()[offset..]) {
        return ending(offset + i);
    }
    match memchr::memrchr(b'\n', &text.as_bytes()[..offset]) {
        Some(i) => ending(i),
        None => "\n",
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].trim_end_matches('\r').chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_split_and_restored() {
        let raw = "\u{feff}a = 1\n";
        let text = Text::new(raw);
        assert!(text.bom);
        assert_eq!(text.body, "a = 1\n");
        assert_eq!(text.finish("a = 1\nb = 2\n"), "\u{feff}a = 1\nb = 2\n");
        assert_eq!(Text::new("a\r\nb\r\n").lf(), "a\nb\n");
    }

    #[test]
    fn inserted_lines_follow_crlf() {
        let original = "a = 1\r\n\r\n[x]\r\nb = 2\r\n";
        let edited = "a = 1\n\n[y]\nc = 3\n\n[x]\nb = 2\n";
        assert_eq!(
            restore_line_endings(original, edited),
            "a = 1\r\n\r\n[y]\r\nc = 3\r\n\r\n[x]\r\nb = 2\r\n"
        );
    }

    #[test]
    fn mixed_files_keep_each_line_ending() {
        let original = "a\r\nb\nc\r\n";
        let edited = "a\nb\nx\nc\n";
        assert_eq!(restore_line_endings(original, edited), "a\r\nb\nx\r\nc\r\n");
    }

    #[test]
    fn a_missing_final_newline_stays_missing() {
        assert_eq!(restore_line_endings("a\r\nb", "a\nx\nb"), "a\r\nx\r\nb");
    }

    #[test]
    fn lf_files_are_left_alone() {
        assert_eq!(restore_line_endings("a\n", "a\nb\n"), "a\nb\n");
    }

    #[test]
    fn lone_carriage_returns_are_found() {
        assert_eq!(lone_cr("a\r\nb\n"), None);
        assert_eq!(lone_cr("a\r\r\nb"), Some(1));
        assert_eq!(lone_cr("a\rb"), Some(1));
        assert_eq!(lone_cr("a\r"), Some(1));
    }

    #[test]
    fn inserted_text_takes_the_ending_of_its_line() {
        let text = "a\r\nb\nc";
        assert_eq!(line_break_at(text, 0), "\r\n");
        assert_eq!(line_break_at(text, 3), "\n");
        // The last line has no ending: the one before it decides.
        assert_eq!(line_break_at(text, 5), "\n");
        assert_eq!(line_break_at(text, 6), "\n");
        assert_eq!(line_break_at("a\r\n", 3), "\r\n");
        assert_eq!(line_break_at("a", 1), "\n");
    }

    #[test]
    fn lines_are_found_around_an_offset() {
        let text = "ab\n  cd\n\t\n";
        assert_eq!(line_start(text, 5), 3);
        assert_eq!(next_line_start(text, 5), 8);
        assert_eq!(next_line_start("ab", 1), 2);
        assert_eq!(indent_at(text, 6), "  ");
        assert!(starts_line(text, 5));
        assert!(!starts_line(text, 6));
        assert!(is_blank_line(text, 8));
        assert!(!is_blank_line(text, 3));
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "ab\nçd = x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 6), (2, 3));
    }
}
