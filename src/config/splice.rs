//! An edit of a config as text put in at offsets of the raw file (and, for a
//! value that is replaced, the value's own text): everything else stays byte
//! for byte as it was.

use std::ops::Range;

use crate::text::line_break_at;

#[derive(Debug, Default)]
pub(crate) struct Splice {
    pieces: Vec<(Range<usize>, String)>,
}

impl Splice {
    pub fn new() -> Self {
        Splice::default()
    }

    /// Puts `text` (lines broken with `\n`) at `at`; its line breaks become
    /// the ending of the line that receives it.
    pub fn insert(&mut self, body: &str, at: usize, text: &str) {
        if text.is_empty() {
            return;
        }
        let eol = line_break_at(body, at);
        let text = if eol == "\n" {
            text.to_string()
        } else {
            text.replace('\n', eol)
        };
        self.pieces.push((at..at, text));
    }

    /// Replaces the text of `range` (one value) with `text`.
    pub fn replace(&mut self, range: Range<usize>, text: String) {
        self.pieces.push((range, text));
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The body with every piece put in.
    pub fn apply(mut self, body: &str) -> String {
        self.pieces
            .sort_by_key(|(range, _)| (range.start, range.end));
        let mut out = String::with_capacity(
            body.len() + self.pieces.iter().map(|(_, t)| t.len()).sum::<usize>(),
        );
        let mut at = 0;
        for (range, text) in &self.pieces {
            assert!(range.start >= at, "splice pieces overlap");
            out.push_str(&body[at..range.start]);
            out.push_str(text);
            at = range.end;
        }
        out.push_str(&body[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_go_in_at_their_offsets_with_the_line_ending_there() {
        let body = "a\r\nb\nc";
        let mut splice = Splice::new();
        // The last line has no ending: the line before it gives LF.
        splice.insert(body, 5, "x\n");
        // The first line ends in CRLF.
        splice.insert(body, 1, ",\ny");
        splice.replace(5..6, "C".to_string());
        assert_eq!(splice.apply(body), "a,\r\ny\r\nb\nx\nC");
    }
}
