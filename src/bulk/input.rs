//! Streaming readers for the input formats: each hands one record at a time
//! to a callback, with its line (and, in a JSON array, its index), holding
//! only the record being read in memory.

use std::io::{self, Read};

use super::entry::{Columns, Kind};

/// An input format of `kvgen bulk put/delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A JSON array of entries.
    Json,
    /// One JSON entry per line (also .jsonl).
    Ndjson,
    /// CSV with a header: key,value[,expiration_ttl][,expiration][,metadata].
    Csv,
}

impl Format {
    /// The format a file name's extension stands for.
    pub fn from_extension(name: &str) -> Option<Format> {
        let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// Guesses the format of unnamed input (stdin) from its first byte.
    pub fn sniff(first: Option<u8>) -> Format {
        match first {
            Some(b'[') => Format::Json,
            Some(b'{') | Some(b'"') => Format::Ndjson,
            _ => Format::Csv,
        }
    }
}

/// Where a record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line of the record's first byte.
    pub line: u64,
    /// 0-based index in a JSON array.
    pub index: Option<u64>,
}

/// A record as read.
pub enum Record<'a> {
    /// One JSON value.
    Json(&'a [u8]),
    /// One CSV row, and the columns its header named.
    Csv(&'a csv::ByteRecord, &'a Columns),
}

/// What a reader calls for every record.
pub type OnRecord<'a, E> = dyn FnMut(Location, Record<'_>) -> Result<(), E> + 'a;

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadError<E> {
    /// The input's structure is broken at this line; nothing after it can be
    /// trusted.
    At {
        line: u64,
        reason: String,
    },
    Io(io::Error),
    /// The callback asked to stop.
    Stopped(E),
}

impl<E> From<io::Error> for ReadError<E> {
    fn from(error: io::Error) -> Self {
        ReadError::Io(error)
    }
}

/// The longest record kept in memory: no valid entry is anywhere near it
/// (values are at most 25 MiB, 33.3 MiB as base64).
pub const MAX_RECORD_BYTES: usize = 256 * 1024 * 1024;

const READ_SIZE: usize = 1 << 20;
/// The UTF-8 byte-order mark, skipped at the start of an input.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `reader` in `format`, calling `on` for every record.
pub fn read<E>(
    format: Format,
    kind: Kind,
    reader: impl Read,
    on: &mut OnRecord<'_, E>,
) -> Result<(), ReadError<E>> {
    match format {
        Format::Ndjson => ndjson(reader, on),
        Format::Json => json_array(reader, on),
        Format::Csv => csv_rows(kind, reader, on),
    }
}

/// A read buffer that keeps the bytes from a given offset when it refills.
struct Buffer<R> {
    reader: R,
    bytes: Vec<u8>,
    end: usize,
    eof: bool,
}

impl<R: Read> Buffer<R> {
    fn new(reader: R) -> Self {
        Buffer {
            reader,
            bytes: vec![0; READ_SIZE],
            end: 0,
            eof: false,
        }
    }

    /// Drops the bytes before `keep` (moving the rest to the front, growing
    /// the buffer when it is full) and reads more. Returns how far the kept
    /// bytes moved, or None at the end of the input.
    fn refill<E>(&mut self, keep: usize, line: u64) -> Result<Option<usize>, ReadError<E>> {
        if self.eof {
            return Ok(None);
        }
        self.bytes.copy_within(keep..self.end, 0);
        self.end -= keep;
        if self.end + READ_SIZE / 2 > self.bytes.len() {
            if self.end >= MAX_RECORD_BYTES {
                return Err(ReadError::At {
                    line,
                    reason: format!(
                        "a record over {} MiB long: no Workers KV entry is that large (is the format right?)",
                        MAX_RECORD_BYTES >> 20
                    ),
                });
            }
            let len = (self.bytes.len() * 2).max(self.end + READ_SIZE);
            self.bytes.resize(len, 0);
        }
        loop {
            match self.reader.read(&mut self.bytes[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(Some(keep));
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(Some(keep));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn ndjson<E>(reader: impl Read, on: &mut OnRecord<'_, E>) -> Result<(), ReadError<E>> {
    let mut buffer = Buffer::new(reader);
    let mut start = 0;
    let mut line = 0u64;
    loop {
        let bytes = &buffer.bytes[..buffer.end];
        let base = start;
        for newline in memchr::memchr_iter(b'\n', &bytes[base..]) {
            let end = base + newline;
            line += 1;
            ndjson_line(&bytes[start..end], line, on)?;
            start = end + 1;
        }
        if buffer.eof {
            if start < buffer.end {
                line += 1;
                ndjson_line(&buffer.bytes[start..buffer.end], line, on)?;
            }
            return Ok(());
        }
        buffer.refill(start, line + 1)?;
        start = 0;
    }
}

fn ndjson_line<E>(
    mut bytes: &[u8],
    line: u64,
    on: &mut OnRecord<'_, E>,
) -> Result<(), ReadError<E>> {
    if line == 1 {
        bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    on(Location { line, index: None }, Record::Json(bytes)).map_err(ReadError::Stopped)
}

/// Where the JSON array reader is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// `[` (after a byte-order mark and whitespace).
    Open,
    /// An element, or `]` for an empty array.
    FirstElement,
    /// An element (after a comma).
    Element,
    /// `,` or `]`.
    CommaOrClose,
    /// Nothing but whitespace.
    End,
}

/// How far the end of one JSON value has been looked for.
#[derive(Default)]
struct ValueScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl ValueScan {
    /// Looks for the end of the value that starts at `bytes[0]`, continuing
    /// from `from`. Returns the offset just past it, or None when `bytes`
    /// ends first. `at_eof` ends a bare scalar at the end of input.
    fn find_end(&mut self, bytes: &[u8], from: usize, at_eof: bool) -> Option<usize> {
        let first = bytes[0];
        if !matches!(first, b'{' | b'[' | b'"') {
            let end = bytes[from..]
                .iter()
                .position(|b| matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace())
                .map(|p| from + p);
            return end.or(if at_eof { Some(bytes.len()) } else { None });
        }
        let mut i = from;
        if i == 0 {
            if first == b'"' {
                self.in_string = true;
            } else {
                self.depth = 1;
            }
            i = 1;
        }
        while i < bytes.len() {
            let b = bytes[i];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                } else {
                    // Skip to the next quote or backslash.
                    if let Some(p) = memchr::memchr2(b'"', b'\\', &bytes[i + 1..]) {
                        i += 1 + p;
                        continue;
                    }
                    i = bytes.len();
                    continue;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        None
    }
}

fn json_array<E>(reader: impl Read, on: &mut OnRecord<'_, E>) -> Result<(), ReadError<E>> {
    let mut buffer = Buffer::new(reader);
    let mut pos = 0;
    let mut line = 1u64;
    let mut index = 0u64;
    let mut expect = Expect::Open;
    let mut first_bytes = true;
    let unexpected = |b: u8, what: &str, line: u64| ReadError::At {
        line,
        reason: format!(
            "expected {what}; found {} (the input must be one JSON array of entries)",
            show_byte(b)
        ),
    };
    loop {
        if pos >= buffer.end {
            match buffer.refill(pos.min(buffer.end), line)? {
                Some(_) => pos = 0,
                None => break,
            }
            if buffer.end == 0 && buffer.eof {
                break;
            }
            continue;
        }
        if first_bytes {
            if buffer.end < BOM.len() && !buffer.eof {
                buffer.refill(pos, line)?;
                pos = 0;
                continue;
            }
            if buffer.bytes[..buffer.end].starts_with(BOM) {
                pos = BOM.len();
            }
            first_bytes = false;
            continue;
        }
        let b = buffer.bytes[pos];
        if b == b'\n' {
            line += 1;
            pos += 1;
            continue;
        }
        if b.is_ascii_whitespace() {
            pos += 1;
            continue;
        }
        match expect {
            Expect::Open if b == b'[' => expect = Expect::FirstElement,
            Expect::Open => return Err(unexpected(b, "`[`", line)),
            Expect::FirstElement if b == b']' => expect = Expect::End,
            Expect::FirstElement | Expect::Element => {
                if matches!(b, b']' | b',') {
                    return Err(unexpected(b, "an entry", line));
                }
                // The element: find its end, reading more as needed.
                let mut start = pos;
                let mut scan = ValueScan::default();
                let mut from = 0;
                let end = loop {
                    let bytes = &buffer.bytes[start..buffer.end];
                    if let Some(end) = scan.find_end(bytes, from, buffer.eof) {
                        break start + end;
                    }
                    if buffer.eof {
                        return Err(ReadError::At {
                            line,
                            reason: "the input ends inside an entry (is it cut short?)".into(),
                        });
                    }
                    from = bytes.len();
                    buffer.refill(start, line)?;
                    start = 0;
                };
                let element = &buffer.bytes[start..end];
                on(
                    Location {
                        line,
                        index: Some(index),
                    },
                    Record::Json(element),
                )
                .map_err(ReadError::Stopped)?;
                line += memchr::memchr_iter(b'\n', element).count() as u64;
                index += 1;
                pos = end;
                expect = Expect::CommaOrClose;
                continue;
            }
            Expect::CommaOrClose => match b {
                b',' => expect = Expect::Element,
                b']' => expect = Expect::End,
                _ => return Err(unexpected(b, "`,` or `]` after an entry", line)),
            },
            Expect::End => return Err(unexpected(b, "nothing after the closing `]`", line)),
        }
        pos += 1;
    }
    match expect {
        Expect::End => Ok(()),
        Expect::Open => Err(ReadError::At {
            line,
            reason: "the input is empty (expected a JSON array of entries)".into(),
        }),
        _ => Err(ReadError::At {
            line,
            reason: "the input ends before the closing `]` (is it cut short?)".into(),
        }),
    }
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

fn csv_rows<E>(
    kind: Kind,
    reader: impl Read,
    on: &mut OnRecord<'_, E>,
) -> Result<(), ReadError<E>> {
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(READ_SIZE)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let mut columns: Option<Columns> = None;
    let csv_error = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => ReadError::Io(e),
        other => ReadError::At {
            line: 0,
            reason: format!("cannot read the CSV: {other:?}"),
        },
    };
    while rows.read_byte_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |p| p.line());
        match &columns {
            None => {
                let names: Vec<&[u8]> = record
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let name = if i == 0 {
                            name.strip_prefix(BOM).unwrap_or(name)
                        } else {
                            name
                        };
                        name.trim_ascii()
                    })
                    .collect();
                let header = Columns::from_header(kind, &names)
                    .map_err(|reason| ReadError::At { line, reason })?;
                columns = Some(header);
            }
            Some(header) => {
                if record.len() == 1 && record[0].is_empty() {
                    continue;
                }
                on(Location { line, index: None }, Record::Csv(&record, header))
                    .map_err(ReadError::Stopped)?;
            }
        }
    }
    if columns.is_none() {
        return Err(ReadError::At {
            line: 1,
            reason: "the input is empty (expected a CSV header: key,value[,expiration_ttl][,expiration][,metadata])".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `input` with a tiny first buffer to exercise refills; returns
    /// each record's location and text.
    fn records(format: Format, input: &str) -> Result<Vec<(u64, Option<u64>, String)>, String> {
        let mut out = Vec::new();
        let reader = io::Cursor::new(input.as_bytes().to_vec());
        let result = read::<()>(format, Kind::Put, reader, &mut |at, record| {
            let text = match record {
                Record::Json(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Record::Csv(row, _) => row
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect::<Vec<_>>()
                    .join("|"),
            };
            out.push((at.line, at.index, text));
            Ok(())
        });
        match result {
            Ok(()) => Ok(out),
            Err(ReadError::At { line, reason }) => Err(format!("{line}: {reason}")),
            Err(_) => Err("other".into()),
        }
    }

    #[test]
    fn ndjson_lines_skip_blank_ones_and_keep_numbers() {
        let got = records(Format::Ndjson, "\u{feff}{\"a\":1}\r\n\n  \n{\"b\":2}").unwrap();
        assert_eq!(
            got,
            vec![
                (1, None, "{\"a\":1}\r".to_string()),
                (4, None, "{\"b\":2}".to_string())
            ]
        );
    }

    #[test]
    fn json_array_elements_have_lines_and_indexes() {
        let input = "[\n  {\"k\": \"a]\\\"\"},\n  {\"k\":\n [1, {\"x\": 2}]},\n\"s\", 12 ]\n";
        let got = records(Format::Json, input).unwrap();
        assert_eq!(
            got,
            vec![
                (2, Some(0), "{\"k\": \"a]\\\"\"}".to_string()),
                (3, Some(1), "{\"k\":\n [1, {\"x\": 2}]}".to_string()),
                (5, Some(2), "\"s\"".to_string()),
                (5, Some(3), "12".to_string()),
            ]
        );
    }

    #[test]
    fn broken_json_arrays_name_the_line() {
        assert_eq!(
            records(Format::Json, "[{\"a\":1}\n{\"b\":2}]").unwrap_err(),
            "2: expected `,` or `]` after an entry; found `{` (the input must be one JSON array of entries)"
        );
        assert!(
            records(Format::Json, "[{\"a\":1},\n")
                .unwrap_err()
                .starts_with("2: the input ends before")
        );
        assert!(
            records(Format::Json, "[{\"a\":1},]")
                .unwrap_err()
                .starts_with("1: expected an entry; found `]`")
        );
        assert!(
            records(Format::Json, "{\"a\":1}")
                .unwrap_err()
                .starts_with("1: expected `[`")
        );
        assert!(
            records(Format::Json, "[] x")
                .unwrap_err()
                .starts_with("1: expected nothing after")
        );
        assert!(records(Format::Json, "  ").unwrap_err().contains("empty"));
        assert!(
            records(Format::Json, "[{\"a\": \"1")
                .unwrap_err()
                .contains("inside an entry")
        );
        assert_eq!(records(Format::Json, "[ ]").unwrap(), vec![]);
    }

    #[test]
    fn csv_rows_start_at_their_first_line() {
        let input = "\u{feff}key,value\na,\"x,\ny\"\"z\"\nb,2\n";
        let got = records(Format::Csv, input).unwrap();
        assert_eq!(
            got,
            vec![
                (2, None, "a|x,\ny\"z".to_string()),
                (4, None, "b|2".to_string())
            ]
        );
        assert!(
            records(Format::Csv, "id,value\n")
                .unwrap_err()
                .contains("unknown column \"id\"")
        );
        assert!(records(Format::Csv, "").unwrap_err().contains("empty"));
    }

    #[test]
    fn records_longer_than_the_read_size_are_read_whole() {
        let long = "x".repeat(3 * READ_SIZE + 17);
        let input = format!("{{\"v\":\"{long}\"}}\n{{\"w\":1}}\n");
        let got = records(Format::Ndjson, &input).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].2.len(), long.len() + 8);
        let input = format!("[{{\"v\":\"{long}\"}},\n{{\"w\":1}}]");
        let got = records(Format::Json, &input).unwrap();
        assert_eq!(got[1], (2, Some(1), "{\"w\":1}".to_string()));
    }
}
