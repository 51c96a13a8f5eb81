//! Streaming readers for the input formats: each hands one record at a time
//! to a callback, with its line (and, in a JSON array, its index), holding
//! only the record being read in memory.

use std::io::{self, Read};

use super::entry::{CSV_COLUMNS, Columns, Kind};

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
    Csv(Row<'a>, &'a Columns),
}

/// One CSV row: its fields, with their quotes undone.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    bytes: &'a [u8],
    /// The first [`KEPT_FIELDS`] fields.
    fields: &'a [Span],
    count: usize,
}

/// How many fields of a row are kept: more than a header can name, so that
/// a row of a million empty fields costs no memory.
const KEPT_FIELDS: usize = CSV_COLUMNS.len() + 1;

impl<'a> Row<'a> {
    /// How many fields the row has.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The field at `i`, for the first [`KEPT_FIELDS`] fields.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let span = self.fields.get(i)?;
        Some(&self.bytes[span.start..span.end])
    }

    /// The first [`KEPT_FIELDS`] fields.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let bytes = self.bytes;
        self.fields.iter().map(move |s| &bytes[s.start..s.end])
    }
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

/// The longest record (an NDJSON line, an element of a JSON array, a CSV
/// row) kept in memory: no valid entry is anywhere near it (values are at
/// most 25 MiB, 33.3 MiB as base64).
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
    read_capped(format, kind, reader, MAX_RECORD_BYTES, on)
}

/// [`read`] with records of at most `max_record` bytes: a longer one stops
/// the reading with its line. Memory stays within about `max_record` (plus
/// one read) whatever the input.
pub fn read_capped<E>(
    format: Format,
    kind: Kind,
    reader: impl Read,
    max_record: usize,
    on: &mut OnRecord<'_, E>,
) -> Result<(), ReadError<E>> {
    let buffer = Buffer::new(reader, max_record);
    match format {
        Format::Ndjson => ndjson(buffer, on),
        Format::Json => json_array(buffer, on),
        Format::Csv => csv_rows(kind, buffer, on),
    }
}

/// The error for a record longer than the cap.
fn too_long<E>(what: &str, line: u64, max_record: usize, hint: &str) -> ReadError<E> {
    ReadError::At {
        line,
        reason: format!(
            "{what} longer than {}: no Workers KV entry is that large ({hint})",
            show_size(max_record)
        ),
    }
}

/// A size in messages: MiB when it is a whole number of them.
fn show_size(bytes: usize) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Refuses an input that starts with a UTF-16 byte-order mark.
fn check_encoding<E>(first: &[u8]) -> Result<(), ReadError<E>> {
    if first.starts_with(b"\xFF\xFE") || first.starts_with(b"\xFE\xFF") {
        return Err(ReadError::At {
            line: 1,
            reason:
                "the input is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"
                    .into(),
        });
    }
    Ok(())
}

/// A read buffer that keeps the bytes of the record being read when it
/// refills, growing up to the record cap (readers stop before a record is
/// more than a byte or two past it).
struct Buffer<R> {
    reader: R,
    bytes: Vec<u8>,
    end: usize,
    eof: bool,
    max_record: usize,
}

impl<R: Read> Buffer<R> {
    fn new(reader: R, max_record: usize) -> Self {
        Buffer {
            reader,
            bytes: vec![0; READ_SIZE],
            end: 0,
            eof: false,
            max_record,
        }
    }

    /// Drops the bytes before `keep` (moving the rest, the start of a
    /// record, to the front; growing the buffer when it is nearly full) and
    /// reads more. Call it only before the end of the input, with at most
    /// `max_record + 1` bytes to keep.
    fn refill(&mut self, keep: usize) -> io::Result<()> {
        let kept = self.end - keep;
        debug_assert!(kept <= self.max_record + 1, "readers stop at the cap");
        if keep > 0 {
            self.bytes.copy_within(keep..self.end, 0);
            self.end = kept;
        }
        if self.end + READ_SIZE / 2 > self.bytes.len() {
            // The cap is reached before the buffer needs more than this.
            let len = (self.bytes.len() * 2)
                .max(self.end + READ_SIZE)
                .min(self.max_record + READ_SIZE);
            self.bytes.resize(len, 0);
        }
        loop {
            match self.reader.read(&mut self.bytes[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// What a line or row longer than the cap most likely means.
const WRONG_FORMAT: &str = "is the format right?";

fn ndjson<E>(mut buffer: Buffer<impl Read>, on: &mut OnRecord<'_, E>) -> Result<(), ReadError<E>> {
    let max = buffer.max_record;
    // Where the current line starts, and how far it is known to hold no
    // newline: every byte is looked at once, however the input arrives.
    let mut start = 0;
    let mut scanned = 0;
    let mut line = 0u64;
    loop {
        let bytes = &buffer.bytes[..buffer.end];
        for newline in memchr::memchr_iter(b'\n', &bytes[scanned..]) {
            let end = scanned + newline;
            line += 1;
            ndjson_line(&bytes[start..end], line, max, on)?;
            start = end + 1;
        }
        if buffer.eof {
            if start < buffer.end {
                line += 1;
                ndjson_line(&buffer.bytes[start..buffer.end], line, max, on)?;
            }
            return Ok(());
        }
        let kept = buffer.end - start;
        if kept > max {
            return Err(too_long("a line", line + 1, max, WRONG_FORMAT));
        }
        buffer.refill(start)?;
        start = 0;
        scanned = kept;
    }
}

fn ndjson_line<E>(
    mut bytes: &[u8],
    line: u64,
    max: usize,
    on: &mut OnRecord<'_, E>,
) -> Result<(), ReadError<E>> {
    if bytes.len() > max {
        return Err(too_long("a line", line, max, WRONG_FORMAT));
    }
    if line == 1 {
        check_encoding(bytes)?;
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

/// What an element of a JSON array longer than the cap most likely means.
const LONG_ENTRY: &str = "is an entry missing its closing quote or bracket?";

fn json_array<E>(
    mut buffer: Buffer<impl Read>,
    on: &mut OnRecord<'_, E>,
) -> Result<(), ReadError<E>> {
    let max = buffer.max_record;
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
            if buffer.eof {
                break;
            }
            // Nothing is kept: the bytes before `pos` are read.
            buffer.refill(buffer.end)?;
            pos = 0;
            continue;
        }
        if first_bytes {
            if buffer.end < BOM.len() && !buffer.eof {
                // Nothing is read yet (`pos` is 0): keep it all.
                buffer.refill(0)?;
                continue;
            }
            check_encoding(&buffer.bytes[..buffer.end])?;
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
                    if bytes.len() > max {
                        return Err(too_long("an entry", line, max, LONG_ENTRY));
                    }
                    if buffer.eof {
                        return Err(ReadError::At {
                            line,
                            reason: "the input ends inside an entry (is it cut short?)".into(),
                        });
                    }
                    from = bytes.len();
                    buffer.refill(start)?;
                    start = 0;
                };
                let element = &buffer.bytes[start..end];
                if element.len() > max {
                    return Err(too_long("an entry", line, max, LONG_ENTRY));
                }
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

/// A field of a CSV row: where its text is in the row's bytes (its
/// enclosing quotes excluded) and whether it holds doubled quotes to undo.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    doubled: bool,
}

/// Where the CSV tokenizer is in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvState {
    /// At the start of a field.
    FieldStart,
    /// In a field that does not start with a quote.
    Unquoted,
    /// In a quoted field.
    Quoted,
    /// Just past a quote inside a quoted field: the first of a doubled
    /// quote, or the closing one.
    QuoteInQuoted,
}

/// The bytes that end a stretch of an unquoted field.
const UNQUOTED_STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    stops[b',' as usize] = true;
    stops[b'"' as usize] = true;
    stops[b'\n' as usize] = true;
    stops[b'\r' as usize] = true;
    stops
};

/// How a row scan ended.
enum Scan {
    /// A row ends at `end` (its line ending excluded); the next starts at
    /// `next`.
    Row { end: usize, next: usize },
    /// A blank line, up to `next`.
    Blank { next: usize },
    /// The input ends (no row is left).
    End,
    /// The bytes end inside the row: read more.
    More,
}

/// An RFC 4180 tokenizer for one row at a time, resumable when the row
/// runs past the bytes read so far. Offsets are from the row's first byte.
///
/// It is strict where being lenient would lose or change data: a quote
/// that never closes, text after a closing quote, and a quote inside a
/// field that does not start with one stop the reading with the line and
/// column. Line endings are LF, CRLF or a lone CR (all counted as lines).
struct RowScan {
    state: CsvState,
    /// How far the row is scanned.
    at: usize,
    /// The first fields, and how many there are.
    fields: Vec<Span>,
    count: usize,
    field_start: usize,
    doubled: bool,
    /// The line `at` is on, and where that line starts.
    line: u64,
    line_start: usize,
    /// The opening quote of the current quoted field: its line, where that
    /// line starts, and its offset.
    quote: (u64, usize, usize),
}

impl RowScan {
    fn new() -> Self {
        RowScan {
            state: CsvState::FieldStart,
            at: 0,
            fields: Vec::with_capacity(KEPT_FIELDS),
            count: 0,
            field_start: 0,
            doubled: false,
            line: 1,
            line_start: 0,
            quote: (1, 0, 0),
        }
    }

    /// Gets ready for the next row.
    fn reset(&mut self) {
        self.state = CsvState::FieldStart;
        self.at = 0;
        self.fields.clear();
        self.count = 0;
        self.line_start = 0;
    }

    /// Scans on from where it stopped; `bytes` start at the row's first
    /// byte and `eof` says no more follow. An error has the line it is on.
    fn scan(&mut self, bytes: &[u8], eof: bool) -> Result<Scan, (u64, String)> {
        let mut i = self.at;
        loop {
            match self.state {
                CsvState::FieldStart => match bytes.get(i) {
                    None if !eof => {
                        self.at = i;
                        return Ok(Scan::More);
                    }
                    Some(b'"') => {
                        self.state = CsvState::Quoted;
                        self.quote = (self.line, self.line_start, i);
                        self.field_start = i + 1;
                        self.doubled = false;
                        i += 1;
                    }
                    _ => {
                        self.state = CsvState::Unquoted;
                        self.field_start = i;
                    }
                },
                CsvState::Unquoted => {
                    let Some(n) = bytes[i..].iter().position(|&b| UNQUOTED_STOPS[b as usize])
                    else {
                        if !eof {
                            self.at = bytes.len();
                            return Ok(Scan::More);
                        }
                        self.push(bytes.len(), false);
                        return Ok(self.finish(bytes.len(), bytes.len()));
                    };
                    i += n;
                    match bytes[i] {
                        b',' => {
                            self.push(i, false);
                            self.state = CsvState::FieldStart;
                            i += 1;
                        }
                        b'"' => {
                            return Err(self.error(bytes, i, |column| {
                                format!(
                                    "a quote at column {column} inside a field that does not start with one (enclose the field in quotes and double each quote in it: \"x\"\"y\")"
                                )
                            }));
                        }
                        _ => {
                            let Some(next) = line_end(bytes, i, eof) else {
                                self.at = i;
                                return Ok(Scan::More);
                            };
                            self.push(i, false);
                            return Ok(self.finish(i, next));
                        }
                    }
                }
                CsvState::Quoted => {
                    let Some(n) = memchr::memchr3(b'"', b'\n', b'\r', &bytes[i..]) else {
                        if !eof {
                            self.at = bytes.len();
                            return Ok(Scan::More);
                        }
                        let (line, column) = self.quote_position(bytes);
                        return Err((
                            line,
                            format!(
                                "unterminated quoted field: the quote at column {column} is never closed (a quote inside a quoted field is written twice: \"\")"
                            ),
                        ));
                    };
                    i += n;
                    if bytes[i] == b'"' {
                        self.state = CsvState::QuoteInQuoted;
                        i += 1;
                        continue;
                    }
                    // A line ending inside the field is part of its text.
                    let Some(next) = line_end(bytes, i, eof) else {
                        self.at = i;
                        return Ok(Scan::More);
                    };
                    self.line += 1;
                    self.line_start = next;
                    i = next;
                }
                CsvState::QuoteInQuoted => match bytes.get(i) {
                    None if !eof => {
                        self.at = i;
                        return Ok(Scan::More);
                    }
                    None => {
                        self.push(i - 1, self.doubled);
                        return Ok(self.finish(i, i));
                    }
                    Some(b'"') => {
                        self.doubled = true;
                        self.state = CsvState::Quoted;
                        i += 1;
                    }
                    Some(b',') => {
                        self.push(i - 1, self.doubled);
                        self.state = CsvState::FieldStart;
                        i += 1;
                    }
                    Some(b'\n' | b'\r') => {
                        let Some(next) = line_end(bytes, i, eof) else {
                            self.at = i;
                            return Ok(Scan::More);
                        };
                        self.push(i - 1, self.doubled);
                        return Ok(self.finish(i, next));
                    }
                    Some(_) => {
                        return Err(self.error(bytes, i, |column| {
                            format!(
                                "text at column {column} after the closing quote of a field (a quote inside a quoted field is written twice: \"\")"
                            )
                        }));
                    }
                },
            }
        }
    }

    fn push(&mut self, end: usize, doubled: bool) {
        self.count += 1;
        if self.fields.len() < KEPT_FIELDS {
            self.fields.push(Span {
                start: self.field_start,
                end,
                doubled,
            });
        }
    }

    /// The row (or blank line, or end of input) that ends at `end`, its
    /// line ending running to `next`.
    fn finish(&mut self, end: usize, next: usize) -> Scan {
        if next > end {
            self.line += 1;
        }
        match (end, next) {
            (0, 0) => Scan::End,
            (0, next) => Scan::Blank { next },
            (end, next) => Scan::Row { end, next },
        }
    }

    /// An error about the byte at `at`, on the current line: `message`
    /// is given its column.
    fn error(
        &self,
        bytes: &[u8],
        at: usize,
        message: impl FnOnce(usize) -> String,
    ) -> (u64, String) {
        (self.line, message(column(&bytes[self.line_start..at])))
    }

    /// The line and column of the quote that opened the quoted field
    /// being read.
    fn quote_position(&self, bytes: &[u8]) -> (u64, usize) {
        let (line, line_start, at) = self.quote;
        (line, column(&bytes[line_start..at]))
    }

    /// Undoes the doubled quotes of the row's fields, in place.
    fn undouble(&mut self, bytes: &mut [u8]) {
        for span in self.fields.iter_mut().filter(|s| s.doubled) {
            let (mut read, mut write) = (span.start, span.start);
            while let Some(n) = memchr::memchr(b'"', &bytes[read..span.end]) {
                // The tokenizer saw this quote followed by another one.
                bytes.copy_within(read..read + n + 1, write);
                write += n + 1;
                read += n + 2;
            }
            bytes.copy_within(read..span.end, write);
            span.end = write + (span.end - read);
            span.doubled = false;
        }
    }
}

/// Where the line ending at `bytes[at]` (a LF or a CR) ends, or None when
/// a CR is the last byte read and a LF may follow.
fn line_end(bytes: &[u8], at: usize, eof: bool) -> Option<usize> {
    if bytes[at] == b'\n' {
        return Some(at + 1);
    }
    match bytes.get(at + 1) {
        Some(b'\n') => Some(at + 2),
        Some(_) => Some(at + 1),
        None if eof => Some(at + 1),
        None => None,
    }
}

/// The 1-based column just past `line`, in characters.
fn column(line: &[u8]) -> usize {
    line.iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1
}

fn csv_rows<E>(
    kind: Kind,
    mut buffer: Buffer<impl Read>,
    on: &mut OnRecord<'_, E>,
) -> Result<(), ReadError<E>> {
    let max = buffer.max_record;
    while buffer.end < BOM.len() && !buffer.eof {
        buffer.refill(0)?;
    }
    check_encoding(&buffer.bytes[..buffer.end])?;
    let mut start = if buffer.bytes[..buffer.end].starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    let mut scan = RowScan::new();
    let mut line = scan.line;
    let mut columns: Option<Columns> = None;
    loop {
        // The tokenizer sees at most the first `max + 2` bytes of a row
        // (enough for a row of `max` bytes and its CRLF), so that what it
        // says does not depend on how the input arrives.
        let read = &buffer.bytes[start..buffer.end];
        let seen = &read[..read.len().min(max + 2)];
        let scanned = scan
            .scan(seen, buffer.eof && seen.len() == read.len())
            .map_err(|(line, reason)| ReadError::At { line, reason })?;
        let (end, next) = match scanned {
            Scan::More => {
                if seen.len() > max + 1 {
                    if scan.state == CsvState::Quoted {
                        // Most likely a quote that is never closed: say
                        // where it is.
                        let (line, column) = scan.quote_position(&buffer.bytes[start..buffer.end]);
                        return Err(ReadError::At {
                            line,
                            reason: format!(
                                "a row longer than {}: the quoted field opened at column {column} does not end within it (a quote left open? a quote inside a quoted field is written twice: \"\")",
                                show_size(max)
                            ),
                        });
                    }
                    return Err(too_long("a row", line, max, WRONG_FORMAT));
                }
                buffer.refill(start)?;
                start = 0;
                continue;
            }
            Scan::End => break,
            Scan::Blank { next } => {
                start += next;
                scan.reset();
                line = scan.line;
                continue;
            }
            Scan::Row { end, next } => (end, next),
        };
        if end > max {
            return Err(too_long("a row", line, max, WRONG_FORMAT));
        }
        let bytes = &mut buffer.bytes[start..start + end];
        scan.undouble(bytes);
        let row = Row {
            bytes,
            fields: &scan.fields,
            count: scan.count,
        };
        match &columns {
            None => {
                let names: Vec<&[u8]> = row.iter().map(<[u8]>::trim_ascii).collect();
                let header = Columns::from_header(kind, &names)
                    .map_err(|reason| ReadError::At { line, reason })?;
                columns = Some(header);
            }
            Some(header) => {
                on(Location { line, index: None }, Record::Csv(row, header))
                    .map_err(ReadError::Stopped)?;
            }
        }
        start += next;
        scan.reset();
        line = scan.line;
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

    /// Hands out its input at most `piece` bytes a read, as a pipe does.
    struct Pieces<'a> {
        input: &'a [u8],
        piece: usize,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.piece.min(buf.len()).min(self.input.len());
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input = &self.input[n..];
            Ok(n)
        }
    }

    type Records = Result<Vec<(u64, Option<u64>, String)>, String>;

    /// Reads `input` handed out `piece` bytes at a time, records of at most
    /// `max` bytes; returns each record's location and text (CSV fields
    /// joined by `|`), and how many bytes were read.
    fn read_pieces(format: Format, input: &[u8], max: usize, piece: usize) -> (Records, usize) {
        let mut out = Vec::new();
        let mut reader = Pieces { input, piece };
        let result = read_capped::<()>(format, Kind::Put, &mut reader, max, &mut |at, record| {
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
        let records = match result {
            Ok(()) => Ok(out),
            Err(ReadError::At { line, reason }) => Err(format!("{line}: {reason}")),
            Err(_) => Err("other".into()),
        };
        (records, input.len() - reader.input.len())
    }

    /// Reads `input` whole and in pieces of every small size (so that every
    /// byte is once at the end of what was read so far), checks that all
    /// give the same, and returns it.
    fn records_capped(format: Format, input: &[u8], max: usize) -> Records {
        let (whole, _) = read_pieces(format, input, max, usize::MAX);
        let pieces: &[usize] = if input.len() <= 4096 {
            &[1, 2, 3, 7]
        } else {
            &[65536]
        };
        for &piece in pieces {
            let (got, _) = read_pieces(format, input, max, piece);
            assert_eq!(got, whole, "read {piece} bytes at a time");
        }
        whole
    }

    fn records(format: Format, input: &str) -> Records {
        records_capped(format, input.as_bytes(), MAX_RECORD_BYTES)
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

    #[test]
    fn csv_quotes_that_would_lose_or_change_data_stop_with_line_and_column() {
        // The rest of the file would be the value of b.
        assert_eq!(
            records(Format::Csv, "key,value\na,1\nb,\"unclosed\nc,3\nd,4\n").unwrap_err(),
            "3: unterminated quoted field: the quote at column 3 is never closed (a quote inside a quoted field is written twice: \"\")"
        );
        // The line and column of the quote, not of the row.
        assert!(
            records(
                Format::Csv,
                "key,value\na,\"x\ny\"\nb,\"twö\nlinés\",\"open\nc,3"
            )
            .unwrap_err()
            .starts_with("5: unterminated quoted field: the quote at column 8 is never closed")
        );
        // Lenient readers give `xy` and `say hi" now"`.
        assert_eq!(
            records(Format::Csv, "key,value\na,\"x\"y\n").unwrap_err(),
            "2: text at column 6 after the closing quote of a field (a quote inside a quoted field is written twice: \"\")"
        );
        assert!(
            records(Format::Csv, "key,value\nb,\"say \"hi\" now\"\n")
                .unwrap_err()
                .starts_with("2: text at column 9 after the closing quote")
        );
        assert!(
            records(Format::Csv, "\"key\" ,value\n")
                .unwrap_err()
                .starts_with("1: text at column 6 after the closing quote")
        );
        // ` "x"` would keep its quotes and the space.
        assert_eq!(
            records(Format::Csv, "key,value\nc,x\"y\n").unwrap_err(),
            "2: a quote at column 4 inside a field that does not start with one (enclose the field in quotes and double each quote in it: \"x\"\"y\")"
        );
        assert!(
            records(Format::Csv, "key,value\r\nd, \"x\"\r\n")
                .unwrap_err()
                .starts_with("2: a quote at column 4 inside a field")
        );
        // Columns count characters.
        assert!(
            records(Format::Csv, "key,value\n\"é\"ü,1\n")
                .unwrap_err()
                .starts_with("2: text at column 4 ")
        );
    }

    #[test]
    fn csv_quoting_line_endings_and_blank_lines_lose_nothing() {
        // Doubled quotes are undone, wherever they are.
        let got = records(Format::Csv, "key,value\n\"a\"\"b\"\"\",\"\"\"\"\n\"\",x\n").unwrap();
        assert_eq!(
            got,
            [
                (2, None, "a\"b\"|\"".to_string()),
                (3, None, "|x".to_string())
            ]
        );
        // LF, CRLF and a lone CR each end a line, in a field or not; blank
        // lines are skipped, an empty quoted field is a row.
        let input = "key,value\r\na,1\rb,\"x\r\ny\"\nc,\"p\rq\"\r\n\n\r\n\r\"\"\nd,4";
        assert_eq!(
            records(Format::Csv, input).unwrap(),
            [
                (2, None, "a|1".to_string()),
                (3, None, "b|x\r\ny".to_string()),
                (5, None, "c|p\rq".to_string()),
                (10, None, "".to_string()),
                (11, None, "d|4".to_string()),
            ]
        );
        // NUL and bytes that are not UTF-8 are kept; a trailing comma is an
        // empty last field; spaces are kept.
        let got = records_capped(
            Format::Csv,
            b"key,value\na,x\0y\nb,\"\xff\0\"\nc, d \ne,",
            MAX_RECORD_BYTES,
        )
        .unwrap();
        assert_eq!(
            got,
            [
                (2, None, "a|x\0y".to_string()),
                (3, None, "b|\u{fffd}\0".to_string()),
                (4, None, "c| d ".to_string()),
                (5, None, "e|".to_string()),
            ]
        );
        // A byte-order mark before a quoted header.
        assert_eq!(
            records(Format::Csv, "\u{feff}\"key\",\"value\"\nk,v").unwrap(),
            [(2, None, "k|v".to_string())]
        );
    }

    #[test]
    fn a_row_of_a_million_fields_keeps_a_handful() {
        let input = format!("key,value\n{}\n", ",".repeat(1 << 20));
        let mut rows = Vec::new();
        read::<()>(
            Format::Csv,
            Kind::Put,
            input.as_bytes(),
            &mut |_, record| {
                if let Record::Csv(row, _) = record {
                    rows.push((row.len(), row.fields.len(), row.get(KEPT_FIELDS).is_none()));
                }
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(rows, [((1 << 20) + 1, KEPT_FIELDS, true)]);
        // A header that long is refused by its first names.
        let input = format!("key,value,{}\n", "x,".repeat(1 << 20));
        assert!(
            records(Format::Csv, &input)
                .unwrap_err()
                .starts_with("1: unknown column \"x\" in the header")
        );
    }

    #[test]
    fn records_over_the_cap_stop_the_reading_with_their_line() {
        // 16 bytes is the cap: 16 pass, 17 do not.
        let ok = "{\"k\":\"12345678\"}\n";
        let long = "{\"k\":\"123456789\"}\n";
        assert_eq!(ok.len(), 17);
        let input = format!("{ok}{ok}{long}{ok}");
        assert_eq!(
            records_capped(Format::Ndjson, input.as_bytes(), 16).unwrap_err(),
            "3: a line longer than 16 bytes: no Workers KV entry is that large (is the format right?)"
        );
        assert_eq!(
            records_capped(Format::Ndjson, format!("{ok}{ok}").as_bytes(), 16)
                .unwrap()
                .len(),
            2
        );
        // The last line, without a newline.
        assert!(
            records_capped(Format::Ndjson, &long.as_bytes()[..long.len() - 1], 16)
                .unwrap_err()
                .starts_with("1: a line longer than 16 bytes")
        );
        let input = "[\n{\"k\":\"12345678\"},\n{\"k\":\"12345678\"},\n\n{\"k\":\"123456789\"}]";
        assert_eq!(
            records_capped(Format::Json, input.as_bytes(), 16).unwrap_err(),
            "5: an entry longer than 16 bytes: no Workers KV entry is that large (is an entry missing its closing quote or bracket?)"
        );
        // Cut short, but longer than the cap first.
        assert!(
            records_capped(Format::Json, b"[{\"k\":\"12345678901234567890", 16)
                .unwrap_err()
                .starts_with("1: an entry longer than 16 bytes")
        );
        assert_eq!(
            records_capped(Format::Json, "[\"12345678901234\"]".as_bytes(), 16)
                .unwrap()
                .len(),
            1
        );
        let input = "key,value\nk,12345678901234\nk,123456789012345\n";
        assert_eq!(
            records_capped(Format::Csv, input.as_bytes(), 16).unwrap_err(),
            "3: a row longer than 16 bytes: no Workers KV entry is that large (is the format right?)"
        );
        // A row that runs on in a quoted field: most likely an open quote.
        let input = "key,value\nk,\"1234\n56789\"\nk,\"12\n3456\n7890123456789\"\n";
        assert_eq!(
            records_capped(Format::Csv, input.as_bytes(), 16).unwrap_err(),
            "4: a row longer than 16 bytes: the quoted field opened at column 3 does not end within it (a quote left open? a quote inside a quoted field is written twice: \"\")"
        );
    }

    #[test]
    fn reading_stops_soon_after_the_cap_whatever_the_input_length() {
        let max = 4096;
        let huge = "x".repeat(16 * READ_SIZE);
        let inputs = [
            (Format::Ndjson, format!("{{\"k\":\"{huge}\"}}\n")),
            (Format::Json, format!("[{{\"k\":\"{huge}\"}}]")),
            (Format::Csv, format!("key,value\nk,{huge}\n")),
            (Format::Csv, format!("key,value\nk,\"{huge}\"\n")),
        ];
        for (format, input) in inputs {
            for piece in [usize::MAX, 65536, 4096] {
                let (got, read) = read_pieces(format, input.as_bytes(), max, piece);
                assert!(got.unwrap_err().contains("longer than 4096 bytes"));
                // What was read is all that was held.
                assert!(
                    read <= max + READ_SIZE,
                    "{format:?} in pieces of {piece}: read {read} bytes"
                );
            }
        }
    }

    #[test]
    fn long_records_read_a_byte_at_a_time_take_linear_time() {
        // One byte a read: looking at the whole record again after every
        // read would take hours; once is well under a second.
        let long = "x".repeat(READ_SIZE);
        let inputs = [
            (Format::Ndjson, format!("{{\"k\":\"{long}\"}}\n{{}}")),
            (Format::Json, format!("[{{\"k\":\"{long}\"}}, 1]")),
            (
                Format::Csv,
                format!("key,value\nk,{long}\nk,\"{long}\r\n\"\r\nk,2"),
            ),
        ];
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for (format, input) in inputs {
                let (got, _) = read_pieces(format, input.as_bytes(), MAX_RECORD_BYTES, 1);
                done.send((format, got.map(|r| r.len()))).unwrap();
            }
        });
        for expected in [Format::Ndjson, Format::Json, Format::Csv] {
            let (format, got) = finished
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("a 1 MiB record read a byte at a time within 30 s");
            assert_eq!(format, expected);
            assert_eq!(got, Ok(if format == Format::Csv { 3 } else { 2 }));
        }
    }

    #[test]
    fn utf16_input_is_refused_in_every_format() {
        for format in [Format::Ndjson, Format::Json, Format::Csv] {
            for bom in [&b"\xFF\xFE"[..], b"\xFE\xFF"] {
                let mut input = bom.to_vec();
                input.extend_from_slice(b"k\0e\0y\0,\0v\0a\0l\0u\0e\0\n\0");
                assert_eq!(
                    records_capped(format, &input, MAX_RECORD_BYTES).unwrap_err(),
                    "1: the input is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8",
                    "{format:?}"
                );
            }
        }
    }
}
