//! `kvgen export`: a namespace's live keys, in key order, as the NDJSON
//! `kvgen bulk put` reads (`key`, `value`, `base64`, `expiration`,
//! `metadata`).
//!
//! The local source is the state `wrangler dev` and `wrangler kv … --local`
//! keep under `.wrangler/state/v3/kv`: one SQLite database per namespace
//! (a Durable Object of class `KVNamespaceObject`, named by the namespace
//! id), read read-only through SQLite (it is in WAL mode: its rows may all
//! be in the `-wal` file), and one blob file per value.

pub mod local;

use std::io::{self, Write};

use base64::Engine;
use serde_json::value::RawValue;

/// One live key of a namespace.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: String,
    pub value: Vec<u8>,
    /// Absolute, in seconds since the epoch.
    pub expiration: Option<u64>,
    /// The metadata's JSON text.
    pub metadata: Option<Box<RawValue>>,
}

/// Writes `record` as one NDJSON line: the value as UTF-8 text when it is
/// that, else base64 with `"base64": true`.
pub fn write_line(out: &mut impl Write, record: &Record) -> io::Result<()> {
    let mut line = Vec::with_capacity(record.key.len() + record.value.len() + 48);
    line.extend_from_slice(b"{\"key\":");
    crate::bulk::entry::write_string(&mut line, &record.key);
    line.extend_from_slice(b",\"value\":");
    match std::str::from_utf8(&record.value) {
        Ok(text) => crate::bulk::entry::write_string(&mut line, text),
        Err(_) => {
            line.push(b'"');
            line.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(&record.value)
                    .as_bytes(),
            );
            line.extend_from_slice(b"\",\"base64\":true");
        }
    }
    if let Some(expiration) = record.expiration {
        line.extend_from_slice(format!(",\"expiration\":{expiration}").as_bytes());
    }
    if let Some(metadata) = &record.metadata {
        line.extend_from_slice(b",\"metadata\":");
        line.extend_from_slice(metadata.get().as_bytes());
    }
    line.extend_from_slice(b"}\n");
    out.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(record: &Record) -> String {
        let mut out = Vec::new();
        write_line(&mut out, record).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_stays_text_and_other_bytes_are_base64() {
        let mut record = Record {
            key: "a\"b\n✓".into(),
            value: "say \"hi\"\n".into(),
            expiration: None,
            metadata: None,
        };
        assert_eq!(
            line(&record),
            "{\"key\":\"a\\\"b\\n✓\",\"value\":\"say \\\"hi\\\"\\n\"}\n"
        );
        record.value = vec![0xff, 0, 1];
        record.expiration = Some(2_000_000_000);
        record.metadata = Some(RawValue::from_string("{\"v\":2}".into()).unwrap());
        assert_eq!(
            line(&record),
            "{\"key\":\"a\\\"b\\n✓\",\"value\":\"/wAB\",\"base64\":true,\"expiration\":2000000000,\"metadata\":{\"v\":2}}\n"
        );
    }
}
