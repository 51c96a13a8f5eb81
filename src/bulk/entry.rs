//! One entry of a bulk file: read from an input record, checked against
//! Workers KV's limits, and encoded the way `wrangler kv bulk put` (an object
//! per entry) or `wrangler kv bulk delete` (a key per entry) reads it.

use std::borrow::Cow;
use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::input::Row;

/// Longest key Workers KV accepts, in UTF-8 bytes (prefix included).
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value Workers KV accepts: 25 MiB (after base64 decoding).
pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
/// Largest metadata Workers KV accepts, in bytes of serialized JSON.
pub const MAX_METADATA_BYTES: usize = 1024;
/// Shortest expiration Workers KV accepts, in seconds from now.
pub const MIN_TTL: u64 = 60;

/// Which Wrangler bulk file the entries go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `wrangler kv bulk put`: `{ key, value, expiration_ttl?, expiration?, metadata?, base64? }`.
    Put,
    /// `wrangler kv bulk delete`: a key per entry.
    Delete,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Put => "put",
            Kind::Delete => "delete",
        }
    }
}

/// What applies to every entry of a run.
#[derive(Debug, Clone)]
pub struct Rules {
    pub kind: Kind,
    /// Prepended to every key (`--prefix`).
    pub prefix: String,
    /// `expiration_ttl` of entries that have no expiration (`--ttl`).
    pub ttl: Option<u64>,
    /// Values are base64 text for binary data (`--base64`).
    pub base64: bool,
    /// Unix time in seconds: an `expiration` must be at least [`MIN_TTL`]
    /// past it.
    pub now: u64,
}

/// Why an entry is invalid, and where in the record, when that is more
/// precise than the record's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub reason: String,
    /// 1-based line inside the record (JSON syntax errors only).
    pub line: Option<usize>,
}

impl Invalid {
    fn new(reason: impl Into<String>) -> Self {
        Invalid {
            reason: reason.into(),
            line: None,
        }
    }
}

impl From<String> for Invalid {
    fn from(reason: String) -> Self {
        Invalid::new(reason)
    }
}

impl From<&str> for Invalid {
    fn from(reason: &str) -> Self {
        Invalid::new(reason)
    }
}

/// The columns of a CSV input, found in its header.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub key: usize,
    pub value: Option<usize>,
    pub expiration_ttl: Option<usize>,
    pub expiration: Option<usize>,
    pub metadata: Option<usize>,
    /// Number of columns in the header.
    pub count: usize,
}

/// The names a CSV header may use.
pub const CSV_COLUMNS: &[&str] = &["key", "value", "expiration_ttl", "expiration", "metadata"];

impl Columns {
    /// Reads a header row: `key` is required, `value` too for a put; other
    /// names must be among [`CSV_COLUMNS`].
    pub fn from_header(kind: Kind, names: &[&[u8]]) -> Result<Columns, String> {
        let mut columns = Columns {
            count: names.len(),
            ..Columns::default()
        };
        let mut key = None;
        for (i, raw) in names.iter().enumerate() {
            let name = String::from_utf8_lossy(raw);
            let slot = match name.as_ref() {
                "key" => &mut key,
                "value" => &mut columns.value,
                "expiration_ttl" => &mut columns.expiration_ttl,
                "expiration" => &mut columns.expiration,
                "metadata" => &mut columns.metadata,
                other => {
                    return Err(format!(
                        "unknown column {} in the header (expected key,value[,expiration_ttl][,expiration][,metadata])",
                        show(other)
                    ));
                }
            };
            if slot.is_some() {
                return Err(format!("column {name} appears twice in the header"));
            }
            *slot = Some(i);
        }
        columns.key = key.ok_or(
            "the header has no `key` column (expected key,value[,expiration_ttl][,expiration][,metadata])",
        )?;
        if kind == Kind::Put && columns.value.is_none() {
            return Err(
                "the header has no `value` column (expected key,value[,expiration_ttl][,expiration][,metadata])"
                    .to_string(),
            );
        }
        Ok(columns)
    }
}

/// An entry of a JSON or NDJSON input. Every field stays raw JSON until it
/// is checked, so that messages can say exactly what is wrong.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry<'a> {
    #[serde(borrow, default)]
    key: Option<&'a RawValue>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    #[serde(borrow, default)]
    expiration_ttl: Option<&'a RawValue>,
    #[serde(borrow, default)]
    expiration: Option<&'a RawValue>,
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
    #[serde(borrow, default)]
    base64: Option<&'a RawValue>,
}

/// A value as read from the input.
enum Value<'a> {
    /// A JSON string literal, quotes and escapes included (valid UTF-8).
    JsonString(&'a [u8]),
    /// Any other JSON value: stored as its (compact) JSON text.
    JsonOther(&'a str),
    /// A CSV cell.
    Bytes(&'a [u8]),
}

/// Encodes checked entries; reuses its buffers from one entry to the next.
#[derive(Default)]
pub struct Encoder {
    /// The last entry encoded.
    pub out: Vec<u8>,
    /// The full key (prefix included) of the last entry encoded.
    pub key: String,
    scratch: Vec<u8>,
    decoded: Vec<u8>,
}

impl Encoder {
    /// Reads one JSON value (an NDJSON line or an element of a JSON array).
    pub fn json(&mut self, rules: &Rules, record: &[u8]) -> Result<(), Invalid> {
        self.out.clear();
        if rules.kind == Kind::Put
            && !rules.base64
            && let Some((key, value)) = plain_entry(record)
        {
            return self.put(
                rules,
                key,
                Value::JsonString(value),
                false,
                None,
                None,
                None,
            );
        }
        self.json_entry(rules, record)
    }

    /// [`json`](Self::json) for any entry.
    fn json_entry(&mut self, rules: &Rules, record: &[u8]) -> Result<(), Invalid> {
        let first = record
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace())
            .unwrap_or(b' ');
        if first == b'"' && rules.kind == Kind::Delete {
            let key: String = serde_json::from_slice(record).map_err(syntax)?;
            return self.key_only(rules, &key);
        }
        if first != b'{' {
            let expected = match rules.kind {
                Kind::Put => "an object with `key` and `value`",
                Kind::Delete => "a key (string) or an object with `key`",
            };
            return match serde_json::from_slice::<&RawValue>(record) {
                Ok(raw) => Err(format!("expected {expected}; got {}", shorten(raw.get())).into()),
                Err(e) => Err(syntax(e)),
            };
        }
        let entry: JsonEntry<'_> = serde_json::from_slice(record).map_err(syntax)?;
        let key = match entry.key {
            None => return Err("`key` is missing (or null)".into()),
            Some(raw) => json_string(raw).ok_or_else(|| {
                format!(
                    "`key` must be a string; got {} (quote it)",
                    shorten(raw.get())
                )
            })?,
        };
        if rules.kind == Kind::Delete {
            return self.key_only(rules, &key);
        }
        let value = match entry.value {
            None => {
                return Err(
                    "`value` is missing or null (delete keys with `kvgen bulk delete`)".into(),
                );
            }
            Some(raw) if raw.get().starts_with('"') => Value::JsonString(raw.get().as_bytes()),
            Some(raw) => Value::JsonOther(raw.get()),
        };
        let base64 = match entry.base64 {
            None => rules.base64,
            Some(raw) => match raw.get() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(
                        format!("`base64` must be true or false; got {}", shorten(other)).into(),
                    );
                }
            },
        };
        let expiration_ttl = entry
            .expiration_ttl
            .map(|raw| seconds("expiration_ttl", raw.get()))
            .transpose()?;
        let expiration = entry
            .expiration
            .map(|raw| seconds("expiration", raw.get()))
            .transpose()?;
        let metadata = entry.metadata.map(|raw| raw.get().as_bytes());
        self.put(
            rules,
            &key,
            value,
            base64,
            expiration_ttl,
            expiration,
            metadata,
        )
    }

    /// Reads one CSV record, its columns given by the header.
    pub fn csv(
        &mut self,
        rules: &Rules,
        columns: &Columns,
        record: Row<'_>,
    ) -> Result<(), Invalid> {
        self.out.clear();
        if record.len() != columns.count {
            let fields = |n: usize| if n == 1 { "field" } else { "fields" };
            return Err(format!(
                "has {} {}; the header has {} (quote fields that contain commas)",
                record.len(),
                fields(record.len()),
                columns.count
            )
            .into());
        }
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).filter(|c| !c.is_empty());
        let key = std::str::from_utf8(record.get(columns.key).unwrap_or_default())
            .map_err(|_| "the key is not valid UTF-8 (Workers KV keys are UTF-8 text)")?;
        if rules.kind == Kind::Delete {
            return self.key_only(rules, key);
        }
        let value = Value::Bytes(
            record
                .get(columns.value.unwrap_or_default())
                .unwrap_or_default(),
        );
        let number = |name: &str, column: Option<usize>| -> Result<Option<u64>, Invalid> {
            match cell(column) {
                None => Ok(None),
                Some(text) => {
                    let text = String::from_utf8_lossy(text);
                    seconds(name, text.trim()).map(Some)
                }
            }
        };
        let expiration_ttl = number("expiration_ttl", columns.expiration_ttl)?;
        let expiration = number("expiration", columns.expiration)?;
        let metadata = cell(columns.metadata);
        self.put(
            rules,
            key,
            value,
            rules.base64,
            expiration_ttl,
            expiration,
            metadata,
        )
    }

    /// Checks the key of a delete and encodes it.
    fn key_only(&mut self, rules: &Rules, key: &str) -> Result<(), Invalid> {
        self.full_key(rules, key)?;
        write_string(&mut self.out, &self.key);
        Ok(())
    }

    /// Builds the full key and checks it.
    fn full_key(&mut self, rules: &Rules, key: &str) -> Result<(), Invalid> {
        let len = rules.prefix.len() + key.len();
        if len > MAX_KEY_BYTES {
            // Only the start is shown: a long key is not copied whole.
            let mut start = rules.prefix.clone();
            start.extend(key.chars().take(65));
            let prefix = if rules.prefix.is_empty() {
                ""
            } else {
                ", prefix included"
            };
            return Err(format!(
                "key {} is {len} bytes{prefix}; Workers KV allows at most {MAX_KEY_BYTES} UTF-8 bytes",
                show(&start),
            )
            .into());
        }
        self.key.clear();
        self.key.push_str(&rules.prefix);
        self.key.push_str(key);
        let full = self.key.as_str();
        if full.is_empty() {
            return Err("the key is empty; Workers KV rejects it".into());
        }
        if full == "." || full == ".." {
            return Err(format!("key {} is not allowed by Workers KV", show(full)).into());
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn put(
        &mut self,
        rules: &Rules,
        key: &str,
        value: Value<'_>,
        base64: bool,
        expiration_ttl: Option<u64>,
        expiration: Option<u64>,
        metadata: Option<&[u8]>,
    ) -> Result<(), Invalid> {
        self.full_key(rules, key)?;
        let (expiration_ttl, expiration) = match (expiration_ttl, expiration) {
            (Some(_), Some(_)) => {
                return Err("give either `expiration` or `expiration_ttl`, not both".into());
            }
            (None, None) => (rules.ttl, None),
            other => other,
        };
        if let Some(ttl) = expiration_ttl
            && ttl < MIN_TTL
        {
            return Err(format!(
                "expiration_ttl is {ttl}; Workers KV needs at least {MIN_TTL} seconds"
            )
            .into());
        }
        if let Some(at) = expiration {
            if at > 100_000_000_000 {
                return Err(format!(
                    "expiration {at} looks like milliseconds; Workers KV wants seconds since 1970"
                )
                .into());
            }
            if at < rules.now + MIN_TTL {
                return Err(format!(
                    "expiration {at} is not at least {MIN_TTL} s in the future (now is {})",
                    rules.now
                )
                .into());
            }
        }
        let mut out = std::mem::take(&mut self.out);
        out.extend_from_slice(b"{\"key\":");
        write_string(&mut out, &self.key);
        out.extend_from_slice(b",\"value\":");
        let encoded = self.value(value, base64, &mut out);
        self.out = out;
        let base64 = encoded?;
        if let Some(ttl) = expiration_ttl {
            self.out.extend_from_slice(b",\"expiration_ttl\":");
            write!(self.out, "{ttl}").expect("writing to a Vec cannot fail");
        }
        if let Some(at) = expiration {
            self.out.extend_from_slice(b",\"expiration\":");
            write!(self.out, "{at}").expect("writing to a Vec cannot fail");
        }
        if let Some(metadata) = metadata {
            self.metadata(metadata)?;
        }
        if base64 {
            self.out.extend_from_slice(b",\"base64\":true");
        }
        self.out.push(b'}');
        Ok(())
    }

    /// Appends the value as a JSON string; returns whether it is base64.
    /// Sizes are checked first, from the text as it is: a value too large
    /// is neither copied nor decoded.
    fn value(
        &mut self,
        value: Value<'_>,
        base64: bool,
        out: &mut Vec<u8>,
    ) -> Result<bool, Invalid> {
        match value {
            Value::JsonString(raw) => {
                let inner = &raw[1..raw.len() - 1];
                let escaped = memchr::memchr(b'\\', inner).is_some();
                let len = if escaped {
                    unescaped_len(inner)
                } else {
                    inner.len()
                };
                check_value_size(if base64 { base64_size(len, inner) } else { len })?;
                let text: Cow<'_, [u8]> = if escaped {
                    let text: String = serde_json::from_slice(raw)
                        .map_err(|e| format!("`value` is not a valid string: {}", message(&e)))?;
                    Cow::Owned(text.into_bytes())
                } else {
                    Cow::Borrowed(inner)
                };
                if base64 {
                    self.check_base64(&text)?;
                }
                out.extend_from_slice(raw);
                Ok(base64)
            }
            Value::JsonOther(raw) => {
                if base64 {
                    return Err(format!(
                        "with base64, `value` must be a base64 string; got {}",
                        shorten(raw)
                    )
                    .into());
                }
                check_value_size(minified_len(raw.as_bytes()))?;
                self.scratch.clear();
                minify(raw.as_bytes(), &mut self.scratch);
                let text = std::str::from_utf8(&self.scratch).expect("minified JSON stays UTF-8");
                write_string(out, text);
                Ok(false)
            }
            Value::Bytes(cell) => match std::str::from_utf8(cell) {
                Ok(text) => {
                    if base64 {
                        check_value_size(base64_size(cell.len(), cell))?;
                        self.check_base64(cell)?;
                    } else {
                        check_value_size(text.len())?;
                    }
                    write_string(out, text);
                    Ok(base64)
                }
                Err(_) if base64 => {
                    Err("the value is not valid base64 (it is not even UTF-8 text)".into())
                }
                Err(_) => {
                    // Binary data: stored as base64, which Wrangler decodes.
                    check_value_size(cell.len())?;
                    self.scratch.clear();
                    self.scratch.resize(cell.len().div_ceil(3) * 4, 0);
                    let n = STANDARD
                        .encode_slice(cell, &mut self.scratch)
                        .expect("the buffer fits the encoding");
                    out.push(b'"');
                    out.extend_from_slice(&self.scratch[..n]);
                    out.push(b'"');
                    Ok(true)
                }
            },
        }
    }

    /// Decodes base64 text to check it and its decoded size.
    fn check_base64(&mut self, text: &[u8]) -> Result<(), Invalid> {
        self.decoded.clear();
        STANDARD
            .decode_vec(text, &mut self.decoded)
            .map_err(|e| format!("the value is not valid base64: {e}"))?;
        let n = self.decoded.len();
        if self.decoded.capacity() > 1 << 20 {
            self.decoded = Vec::new();
        }
        check_value_size(n)
    }

    /// Appends checked metadata: a JSON object of at most 1024 bytes.
    fn metadata(&mut self, raw: &[u8]) -> Result<(), Invalid> {
        let parsed: &RawValue = serde_json::from_slice(raw)
            .map_err(|e| format!("`metadata` is not valid JSON: {}", message(&e)))?;
        if !parsed.get().starts_with('{') {
            return Err(format!(
                "`metadata` must be a JSON object; got {}",
                shorten(parsed.get())
            )
            .into());
        }
        let len = minified_len(parsed.get().as_bytes());
        if len > MAX_METADATA_BYTES {
            return Err(format!(
                "`metadata` is {len} bytes of JSON; Workers KV allows at most {MAX_METADATA_BYTES}"
            )
            .into());
        }
        self.scratch.clear();
        minify(parsed.get().as_bytes(), &mut self.scratch);
        self.out.extend_from_slice(b",\"metadata\":");
        self.out.extend_from_slice(&self.scratch);
        Ok(())
    }
}

fn check_value_size(size: usize) -> Result<(), Invalid> {
    if size > MAX_VALUE_BYTES {
        return Err(format!(
            "the value is {size} bytes; Workers KV allows at most {MAX_VALUE_BYTES} (25 MiB)"
        )
        .into());
    }
    Ok(())
}

/// The decoded size of base64 text of `len` characters that ends with
/// `tail` (its `=` padding).
fn base64_size(len: usize, tail: &[u8]) -> usize {
    let padding = tail
        .iter()
        .rev()
        .take(2)
        .take_while(|&&b| b == b'=')
        .count();
    (len / 4 * 3).saturating_sub(padding)
}

/// The length of a JSON string's text once its escapes are undone; `inner`
/// is the literal without its quotes, as a JSON parser accepted it.
fn unescaped_len(inner: &[u8]) -> usize {
    let hex = |at: usize| {
        let digits = std::str::from_utf8(inner.get(at..at + 4)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    let mut len = inner.len();
    let mut at = 0;
    while let Some(n) = memchr::memchr(b'\\', &inner[at..]) {
        let i = at + n;
        // Bytes of the escape, and of its UTF-8 text.
        let (escape, text) = if inner.get(i + 1) != Some(&b'u') {
            (2, 1)
        } else {
            match hex(i + 2) {
                Some(0xD800..=0xDBFF)
                    if inner.get(i + 6..i + 8) == Some(b"\\u")
                        && matches!(hex(i + 8), Some(0xDC00..=0xDFFF)) =>
                {
                    (12, 4)
                }
                Some(c) if c < 0x80 => (6, 1),
                Some(c) if c < 0x800 => (6, 2),
                _ => (6, 3),
            }
        };
        len = len.saturating_sub(escape - text);
        at = (i + escape).min(inner.len());
    }
    len
}

/// The key and value of the most common entry, `{"key": "…", "value": "…"}`
/// with plain strings (no escapes, no control characters) and nothing else,
/// read without a general JSON parser; None for anything else. The value
/// is returned as its literal, quotes included.
fn plain_entry(record: &[u8]) -> Option<(&str, &[u8])> {
    let mut at = 0;
    let skip = |at: &mut usize| {
        while record
            .get(*at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            *at += 1;
        }
    };
    let expect = |at: &mut usize, text: &[u8]| {
        skip(at);
        if record[*at..].starts_with(text) {
            *at += text.len();
            Some(())
        } else {
            None
        }
    };
    // A string literal without escapes or control characters.
    let string = |at: &mut usize| {
        skip(at);
        if record.get(*at) != Some(&b'"') {
            return None;
        }
        let start = *at;
        let len = memchr::memchr2(b'"', b'\\', &record[start + 1..])?;
        let end = start + 1 + len;
        let text = &record[start..=end];
        // One pass over the bytes, without early exit, so that it runs on
        // whole vectors: the smallest (control characters are not allowed
        // in a JSON string) and whether any is not ASCII.
        let (low, high) = text[1..text.len() - 1]
            .iter()
            .fold((false, false), |(low, high), &b| {
                (low | (b < 0x20), high | (b >= 0x80))
            });
        if record[end] != b'"' || low {
            return None;
        }
        *at = end + 1;
        // ASCII is UTF-8; anything else is checked.
        (!high || std::str::from_utf8(text).is_ok()).then_some(text)
    };
    expect(&mut at, b"{")?;
    expect(&mut at, b"\"key\"")?;
    expect(&mut at, b":")?;
    let key = std::str::from_utf8(string(&mut at)?).ok()?;
    expect(&mut at, b",")?;
    expect(&mut at, b"\"value\"")?;
    expect(&mut at, b":")?;
    let value = string(&mut at)?;
    expect(&mut at, b"}")?;
    skip(&mut at);
    (at == record.len()).then(|| (&key[1..key.len() - 1], value))
}

/// A JSON string literal's text, unescaped; None for any other JSON value.
fn json_string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('"') {
        return None;
    }
    let inner = &text[1..text.len() - 1];
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        Some(Cow::Borrowed(inner))
    } else {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    }
}

/// Reads a whole number of seconds.
fn seconds(name: &str, text: &str) -> Result<u64, Invalid> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map_err(|_| format!("{name} {text} is too large").into());
    }
    if text.starts_with('"') {
        return Err(format!(
            "{name} must be a number of seconds, not a string; got {}",
            shorten(text)
        )
        .into());
    }
    if text.starts_with('-') {
        return Err(format!("{name} is {text}; it must be positive").into());
    }
    Err(format!(
        "{name} must be a whole number of seconds; got {}",
        shorten(text)
    )
    .into())
}

/// Removes the whitespace outside strings from valid JSON.
pub fn minify(json: &[u8], out: &mut Vec<u8>) {
    if !has_whitespace(json) {
        out.extend_from_slice(json);
        return;
    }
    each_kept_byte(json, |b| out.push(b));
}

/// How long valid JSON is once minified.
fn minified_len(json: &[u8]) -> usize {
    if !has_whitespace(json) {
        return json.len();
    }
    let mut len = 0;
    each_kept_byte(json, |_| len += 1);
    len
}

fn has_whitespace(json: &[u8]) -> bool {
    json.iter()
        .any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
}

/// Calls `keep` with every byte of valid JSON but the whitespace outside
/// strings.
fn each_kept_byte(json: &[u8], mut keep: impl FnMut(u8)) {
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            keep(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else {
            match b {
                b' ' | b'\n' | b'\r' | b'\t' => {}
                b'"' => {
                    in_string = true;
                    keep(b);
                }
                _ => keep(b),
            }
        }
    }
}

/// Appends `text` as a JSON string literal.
pub fn write_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("writing to a Vec cannot fail");
}

/// A syntax error of one JSON record.
fn syntax(error: serde_json::Error) -> Invalid {
    Invalid {
        reason: format!("invalid JSON: {}", message(&error)),
        line: Some(error.line()),
    }
}

/// serde_json's message without its " at line L column C" suffix (kvgen
/// names the line itself).
pub fn message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// A key or text quoted for a message, shortened to stay readable.
pub fn show(text: &str) -> String {
    let short: String = text.chars().take(64).collect();
    let ellipsis = if short.len() < text.len() { "…" } else { "" };
    format!("{}{ellipsis}", serde_json::Value::from(short))
}

/// Raw JSON shortened for a message.
fn shorten(raw: &str) -> String {
    let short: String = raw.chars().take(64).collect();
    if short.len() < raw.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            kind: Kind::Put,
            prefix: "p\"x:".into(),
            ttl: Some(120),
            base64: false,
            now: 1_800_000_000,
        }
    }

    #[test]
    fn the_plain_entry_shortcut_agrees_with_the_json_parser() {
        let lines = [
            r#"{"key":"a","value":"b"}"#,
            r#" { "key" : "a" , "value" : "b c" } "#,
            "{\"key\":\"a\",\"value\":\"é ✓ 𝄞\"}\r",
            r#"{"key":"a","value":""}"#,
            r#"{"key":"","value":"x"}"#,
            r#"{"key":"a","value":"x\"y"}"#,
            r#"{"key":"a\u0041","value":"x\\"}"#,
            "{\"key\":\"a\",\"value\":\"tab\there\"}",
            r#"{"key":"a","value":"b","extra":1}"#,
            r#"{"key":"a","value":"b"}x"#,
            r#"{"key":"a","value":"b"#,
            r#"{"value":"b","key":"a"}"#,
            r#"{"key":"..","value":"b"}"#,
        ];
        for line in lines {
            let mut fast = Encoder::default();
            let mut slow = Encoder::default();
            let a = fast.json(&rules(), line.as_bytes());
            let b = slow.json_entry(&rules(), line.as_bytes());
            assert_eq!(a.is_ok(), b.is_ok(), "{line}: {a:?} / {b:?}");
            if let (Err(a), Err(b)) = (&a, &b) {
                assert_eq!(a.reason, b.reason, "{line}");
            }
            assert_eq!(
                String::from_utf8_lossy(&fast.out),
                String::from_utf8_lossy(&slow.out),
                "{line}"
            );
        }
        // Bytes that are not UTF-8 are refused by both.
        let mut fast = Encoder::default();
        assert!(
            fast.json(&rules(), b"{\"key\":\"a\",\"value\":\"\xff\"}")
                .is_err()
        );
    }

    #[test]
    fn plain_entries_are_recognised_only_when_plain() {
        assert_eq!(
            plain_entry(br#"{"key":"k","value":"v"}"#),
            Some(("k", &br#""v""#[..]))
        );
        assert_eq!(plain_entry(br#"{"key":"k","value":"v\n"}"#), None);
        assert_eq!(plain_entry(b"{\"key\":\"k\",\"value\":\"\x01\"}"), None);
        assert_eq!(plain_entry(br#"{"key":"k","value":"v","x":1}"#), None);
        assert_eq!(plain_entry(br#"{"key":"k","value":"v"} ,"#), None);
        assert_eq!(plain_entry(br#"{"key":1,"value":"v"}"#), None);
    }

    #[test]
    fn minify_keeps_strings_whole() {
        let mut out = Vec::new();
        minify(br#"{ "a b" : [1, "x \" y"],	"c":null }"#, &mut out);
        assert_eq!(out, br#"{"a b":[1,"x \" y"],"c":null}"#);
    }

    #[test]
    fn unescaped_lengths_agree_with_the_json_parser() {
        let literals = [
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u0041\u00e9\u20ac\uffff""#,
            r#""\ud834\udd1e and \uD83D\uDE00""#,
            r#""é ✓ 𝄞 \u00e9""#,
            r#""\\u0041""#,
            r#""\\\\""#,
        ];
        for literal in literals {
            let text: String = serde_json::from_str(literal).unwrap();
            let inner = &literal.as_bytes()[1..literal.len() - 1];
            assert_eq!(unescaped_len(inner), text.len(), "{literal}");
        }
    }

    #[test]
    fn entries_too_large_are_refused_before_anything_is_copied() {
        let rules = Rules {
            prefix: String::new(),
            ttl: None,
            ..rules()
        };
        let big = MAX_VALUE_BYTES + 5;
        let x = "x".repeat(big);
        let too_large = format!(
            "the value is {big} bytes; Workers KV allows at most {MAX_VALUE_BYTES} (25 MiB)"
        );
        let json = [
            (
                format!("{{\"key\":\"k\",\"value\":\"{x}\"}}"),
                too_large.clone(),
            ),
            (
                format!("{{\"key\":\"k\",\"value\":\"{x}\\n\"}}"),
                format!(
                    "the value is {} bytes; Workers KV allows at most {MAX_VALUE_BYTES} (25 MiB)",
                    big + 1
                ),
            ),
            (
                format!("{{\"key\":\"k\",\"value\":[\"{}\"]}}", &x[..big - 4]),
                too_large.clone(),
            ),
            (
                format!("{{\"key\":\"{x}\",\"value\":\"1\"}}"),
                format!(
                    "key \"{}\"… is {big} bytes; Workers KV allows at most 512 UTF-8 bytes",
                    &x[..64]
                ),
            ),
            (
                format!("{{\"key\":\"k\",\"value\":\"1\",\"metadata\":{{\"m\":\"{x}\"}}}}"),
                format!(
                    "`metadata` is {} bytes of JSON; Workers KV allows at most 1024",
                    big + 8
                ),
            ),
        ];
        for (record, reason) in json {
            let mut encoder = Encoder::default();
            assert_eq!(
                encoder.json(&rules, record.as_bytes()).unwrap_err().reason,
                reason
            );
            // Nothing as large as the value was allocated.
            assert!(encoder.out.capacity() < 1 << 20, "{reason}");
            assert!(encoder.key.capacity() < 1 << 20, "{reason}");
            assert!(encoder.scratch.capacity() < 1 << 20, "{reason}");
        }
        // base64: the decoded size, told from the length.
        let base64 = Rules {
            base64: true,
            ..rules.clone()
        };
        let groups = MAX_VALUE_BYTES / 3 + 2;
        let record = format!(
            "{{\"key\":\"k\",\"value\":\"{}QQ==\"}}",
            "QUJD".repeat(groups - 1)
        );
        let expected = (groups - 1) * 3 + 1;
        let mut encoder = Encoder::default();
        assert_eq!(
            encoder.json(&base64, record.as_bytes()).unwrap_err().reason,
            format!(
                "the value is {expected} bytes; Workers KV allows at most {MAX_VALUE_BYTES} (25 MiB)"
            )
        );
        assert!(encoder.decoded.capacity() < 1 << 20);
        // A CSV value of control characters, six times as long as JSON.
        let csv = format!("key,value\nk,{}\n", "\u{1}".repeat(big));
        let mut encoder = Encoder::default();
        let mut reasons = Vec::new();
        super::super::input::read::<()>(
            super::super::input::Format::Csv,
            Kind::Put,
            csv.as_bytes(),
            &mut |_, record| {
                if let super::super::input::Record::Csv(row, columns) = record {
                    reasons.push(encoder.csv(&rules, columns, row).unwrap_err().reason);
                }
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(reasons, [too_large]);
        assert!(encoder.out.capacity() < 1 << 20);
    }
}
