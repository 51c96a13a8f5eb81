//! `kvgen bulk put/delete`: data (a JSON array, NDJSON or CSV) to the files
//! `wrangler kv bulk put/delete` uploads, every entry checked against
//! Workers KV's limits first.
//!
//! The input is streamed: one record is in memory at a time, entries go
//! straight to their chunk's temporary file, and duplicate keys are found
//! by sorting key hashes in bounded batches (see [`dedupe`]), so memory
//! stays flat however large the input.

pub mod dedupe;
pub mod entry;
pub mod input;
pub mod output;

use std::collections::BinaryHeap;
use std::io::{self, Read};

pub use entry::{Encoder, Invalid, Kind, Rules};
pub use input::{Format, Location, ReadError, Record};
use output::Chunks;

/// An invalid entry: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    pub reason: String,
}

/// What a conversion found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Valid entries (written to the chunks unless some were invalid and
    /// invalid ones are not skipped).
    pub valid: u64,
    /// Invalid entries in all.
    pub invalid: u64,
    /// The first invalid entries, at most `Settings::keep_problems`.
    pub problems: Vec<Problem>,
    /// The positions, among the entries written, of the duplicates to take
    /// out again (with `skip_invalid`), in order.
    pub remove: Vec<u64>,
}

/// How one conversion runs.
pub struct Settings {
    pub rules: Rules,
    pub format: Format,
    /// Write the valid entries even when some are invalid.
    pub skip_invalid: bool,
    /// How many problems to keep for the report.
    pub keep_problems: usize,
}

/// Why a conversion stopped before the end of its input.
#[derive(Debug)]
pub enum Stop {
    /// The input's structure is broken (not an entry-level problem).
    Broken {
        line: u64,
        reason: String,
    },
    Io(io::Error),
}

/// Reads `reader` to the end, checking every entry; the valid ones go to
/// `chunks` (until an invalid one is found, unless invalid ones are
/// skipped). `progress` is called now and then with the entries read.
pub fn convert(
    settings: &Settings,
    reader: impl Read,
    chunks: &mut Chunks,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome, Stop> {
    let mut outcome = Outcome::default();
    let mut encoder = Encoder::default();
    let mut keys = dedupe::Keys::default();
    let mut writing = true;
    let rules = &settings.rules;
    let mut on_record = |at: Location, record: Record<'_>| -> Result<(), io::Error> {
        let read = outcome.valid + outcome.invalid;
        if read % 4096 == 0 {
            progress(read);
        }
        let checked = match record {
            Record::Json(bytes) => encoder.json(rules, bytes),
            Record::Csv(row, columns) => encoder.csv(rules, columns, row),
        }
        .and_then(|()| {
            if !chunks.fits(encoder.out.len()) {
                return Err(Invalid::from(format!(
                    "the entry is {} bytes once encoded; a bulk file must stay under {} bytes (100 MB)",
                    encoder.out.len(),
                    output::MAX_FILE_BYTES
                )));
            }
            Ok(())
        });
        match checked {
            Ok(()) => {
                keys.add(
                    encoder.key.as_bytes(),
                    outcome.valid,
                    at.line,
                    at.index.unwrap_or(0),
                )?;
                outcome.valid += 1;
                if writing {
                    chunks.push(&encoder.out)?;
                }
            }
            Err(invalid) => {
                outcome.invalid += 1;
                writing &= settings.skip_invalid;
                if outcome.problems.len() < settings.keep_problems {
                    outcome.problems.push(Problem {
                        line: at.line + invalid.line.map_or(0, |l| l as u64 - 1),
                        index: at.index,
                        reason: crate::names::terminal_text(&invalid.reason).into_owned(),
                    });
                }
            }
        }
        Ok(())
    };
    let read = input::read(settings.format, rules.kind, reader, &mut on_record);
    match read {
        Ok(()) => {}
        Err(ReadError::At { line, reason }) => return Err(Stop::Broken { line, reason }),
        Err(ReadError::Io(e)) | Err(ReadError::Stopped(e)) => return Err(Stop::Io(e)),
    }
    progress(outcome.valid + outcome.invalid);
    duplicates(settings, keys, &mut outcome).map_err(Stop::Io)?;
    Ok(outcome)
}

/// Moves the entries whose key an earlier entry has from valid to invalid.
fn duplicates(settings: &Settings, keys: dedupe::Keys, outcome: &mut Outcome) -> io::Result<()> {
    let json_array = settings.format == Format::Json;
    // The first duplicates in input order: a max-heap of the kept ones.
    let mut first: BinaryHeap<(u64, u64, u64, u64)> = BinaryHeap::new();
    let mut count = 0u64;
    let mut remove = Vec::new();
    keys.duplicates(&mut |d| {
        count += 1;
        if settings.skip_invalid {
            remove.push(d.entry.written);
        }
        first.push((d.entry.line, d.entry.index, d.first.line, d.first.index));
        if first.len() > settings.keep_problems {
            first.pop();
        }
    })?;
    remove.sort_unstable();
    outcome.remove = remove;
    outcome.valid -= count;
    outcome.invalid += count;
    for (line, index, first_line, first_index) in first {
        let reason = if json_array {
            format!("duplicate key (first at entry {first_index}, line {first_line})")
        } else {
            format!("duplicate key (first on line {first_line})")
        };
        outcome.problems.push(Problem {
            line,
            index: json_array.then_some(index),
            reason,
        });
    }
    outcome
        .problems
        .sort_by_key(|p| (p.line, p.index.unwrap_or(0)));
    outcome.problems.truncate(settings.keep_problems);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const NOW: u64 = 1_800_000_000;

    fn rules(kind: Kind) -> Rules {
        Rules {
            kind,
            prefix: String::new(),
            ttl: None,
            base64: false,
            now: NOW,
        }
    }

    /// Converts `input`; returns the files' contents and the outcome.
    fn run(rules: Rules, format: Format, input: &str, skip: bool) -> (Vec<String>, Outcome) {
        run_bytes(rules, format, input.as_bytes(), skip)
    }

    fn run_bytes(rules: Rules, format: Format, input: &[u8], skip: bool) -> (Vec<String>, Outcome) {
        let dir = tempfile::tempdir().unwrap();
        let tx = crate::transaction::Transaction::begin(dir.path());
        let mut chunks = Chunks::new(&tx, dir.path(), "x-put-", 3, output::MAX_FILE_BYTES);
        let settings = Settings {
            rules,
            format,
            skip_invalid: skip,
            keep_problems: 100,
        };
        let outcome = match convert(&settings, input, &mut chunks, &mut |_| {}) {
            Ok(outcome) => outcome,
            Err(Stop::Broken { line, reason }) => panic!("{line}: {reason}"),
            Err(Stop::Io(e)) => panic!("{e}"),
        };
        if outcome.invalid > 0 && !skip {
            // What the command does: the chunks are dropped, never renamed.
            return (Vec::new(), outcome);
        }
        let paths: Vec<_> = chunks
            .finish(&outcome.remove)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let path = dir.path().join(format!("out-{i}"));
                chunk.stage(&tx, &path, "out", None).unwrap();
                path
            })
            .collect();
        tx.commit().unwrap();
        let files = paths
            .iter()
            .map(|path| fs::read_to_string(path).unwrap())
            .collect();
        (files, outcome)
    }

    fn problems(outcome: &Outcome) -> Vec<String> {
        outcome
            .problems
            .iter()
            .map(|p| match p.index {
                Some(i) => format!("{} [{i}]: {}", p.line, p.reason),
                None => format!("{}: {}", p.line, p.reason),
            })
            .collect()
    }

    #[test]
    fn ndjson_entries_become_wrangler_entries() {
        let input = concat!(
            "{\"key\":\"a\",\"value\":\"text \\u00e9\"}\n",
            "{\"key\":\"b\",\"value\":{\"n\": [1, 2.50, \"x y\"]},\"expiration_ttl\":60}\n",
            "{\"value\":7,\"key\":\"c\",\"metadata\":{\"v\": 1},\"expiration\":1900000000}\n",
            "{\"key\":\"d\",\"value\":\"aGk=\",\"base64\":true}\n",
        );
        let (files, outcome) = run(rules(Kind::Put), Format::Ndjson, input, false);
        assert_eq!(outcome.valid, 4);
        assert_eq!(
            files,
            [
                concat!(
                    "[\n",
                    "{\"key\":\"a\",\"value\":\"text \\u00e9\"},\n",
                    "{\"key\":\"b\",\"value\":\"{\\\"n\\\":[1,2.50,\\\"x y\\\"]}\",\"expiration_ttl\":60},\n",
                    "{\"key\":\"c\",\"value\":\"7\",\"expiration\":1900000000,\"metadata\":{\"v\":1}}\n",
                    "]\n"
                ),
                "[\n{\"key\":\"d\",\"value\":\"aGk=\",\"base64\":true}\n]\n",
            ]
        );
        // What Wrangler reads back: the values KV will hold.
        let entries: Vec<serde_json::Value> = serde_json::from_str(&files[0]).unwrap();
        assert_eq!(entries[0]["value"], "text é");
        assert_eq!(entries[1]["value"], "{\"n\":[1,2.50,\"x y\"]}");
    }

    #[test]
    fn every_limit_is_checked_with_its_line() {
        let long = "k".repeat(513);
        let input = [
            "{\"key\":\"ok\",\"value\":\"1\"}".to_string(),
            format!("{{\"key\":\"{long}\",\"value\":\"1\"}}"),
            "{\"key\":\"..\",\"value\":\"1\"}".into(),
            "{\"key\":\"\",\"value\":\"1\"}".into(),
            "{\"key\":\"t\",\"value\":\"1\",\"expiration_ttl\":30}".into(),
            "{\"key\":\"e\",\"value\":\"1\",\"expiration\":1800000030}".into(),
            "{\"key\":\"ms\",\"value\":\"1\",\"expiration\":1800000000000}".into(),
            format!(
                "{{\"key\":\"m\",\"value\":\"1\",\"metadata\":{{\"x\":\"{}\"}}}}",
                "y".repeat(1020)
            ),
            "{\"key\":\"ok\",\"value\":\"2\"}".into(),
            "{\"key\":\"b64\",\"value\":\"not base64!\",\"base64\":true}".into(),
            "{\"key\":5,\"value\":\"1\"}".into(),
            "{\"key\":\"n\"}".into(),
            "{\"key\":\"u\",\"value\":\"1\",\"ttl\":60}".into(),
            "{\"key\":\"both\",\"value\":\"1\",\"expiration\":1900000000,\"expiration_ttl\":60}"
                .into(),
            "{\"key\":\"f\",\"value\":\"1\",\"expiration_ttl\":60.5}".into(),
            "{\"key\":\"s\",\"value\":\"1\",\"expiration_ttl\":\"60\"}".into(),
            "{\"key\":\"meta\",\"value\":\"1\",\"metadata\":[1]}".into(),
            "{\"key\":\"broken\",".into(),
            "[1]".into(),
        ]
        .join("\n");
        let (files, outcome) = run(rules(Kind::Put), Format::Ndjson, &input, false);
        assert!(files.is_empty(), "nothing is written: {files:?}");
        assert_eq!(outcome.valid, 1);
        assert_eq!(
            problems(&outcome),
            [
                format!(
                    "2: key \"{}\"… is 513 bytes; Workers KV allows at most 512 UTF-8 bytes",
                    "k".repeat(64)
                ),
                "3: key \"..\" is not allowed by Workers KV".into(),
                "4: the key is empty; Workers KV rejects it".into(),
                "5: expiration_ttl is 30; Workers KV needs at least 60 seconds".into(),
                "6: expiration 1800000030 is not at least 60 s in the future (now is 1800000000)"
                    .into(),
                "7: expiration 1800000000000 looks like milliseconds; Workers KV wants seconds since 1970".into(),
                "8: `metadata` is 1028 bytes of JSON; Workers KV allows at most 1024".into(),
                "9: duplicate key (first on line 1)".into(),
                "10: the value is not valid base64: Invalid symbol 32, offset 3.".into(),
                "11: `key` must be a string; got 5 (quote it)".into(),
                "12: `value` is missing or null (delete keys with `kvgen bulk delete`)".into(),
                "13: invalid JSON: unknown field `ttl`, expected one of `key`, `value`, `expiration_ttl`, `expiration`, `metadata`, `base64`".into(),
                "14: give either `expiration` or `expiration_ttl`, not both".into(),
                "15: expiration_ttl must be a whole number of seconds; got 60.5".into(),
                "16: expiration_ttl must be a number of seconds, not a string; got \"60\"".into(),
                "17: `metadata` must be a JSON object; got [1]".into(),
                "18: invalid JSON: EOF while parsing a value".into(),
                "19: expected an object with `key` and `value`; got [1]".into(),
            ]
        );
    }

    #[test]
    fn skip_invalid_writes_the_valid_entries() {
        let input = "{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\".\",\"value\":\"2\"}\n{\"key\":\"a\",\"value\":\"3\"}\n{\"key\":\"b\",\"value\":\"4\"}\n";
        let (files, outcome) = run(rules(Kind::Put), Format::Ndjson, input, true);
        assert_eq!((outcome.valid, outcome.invalid), (2, 2));
        assert_eq!(
            files,
            ["[\n{\"key\":\"a\",\"value\":\"1\"},\n{\"key\":\"b\",\"value\":\"4\"}\n]\n"]
        );
    }

    #[test]
    fn value_size_is_checked_on_decoded_bytes() {
        let max = entry::MAX_VALUE_BYTES;
        let at_limit = format!("{{\"key\":\"a\",\"value\":\"{}\"}}", "v".repeat(max));
        let over = format!("{{\"key\":\"b\",\"value\":\"{}\"}}", "v".repeat(max + 1));
        // 3 bytes per escape in the input, 1 byte in the value.
        let escaped = format!("{{\"key\":\"c\",\"value\":\"{}\"}}", "\\n".repeat(max));
        let input = [at_limit, over, escaped].join("\n");
        let (_, outcome) = run(rules(Kind::Put), Format::Ndjson, &input, true);
        assert_eq!(outcome.valid, 2);
        assert_eq!(
            problems(&outcome),
            ["2: the value is 26214401 bytes; Workers KV allows at most 26214400 (25 MiB)"]
        );
    }

    #[test]
    fn prefix_and_default_ttl_apply_to_every_key() {
        let mut rules = rules(Kind::Put);
        rules.prefix = "user:".into();
        rules.ttl = Some(3600);
        let input = "{\"key\":\"1\",\"value\":\"a\"}\n{\"key\":\"2\",\"value\":\"b\",\"expiration_ttl\":120}\n{\"key\":\"3\",\"value\":\"c\",\"expiration\":1900000000}\n";
        let (files, _) = run(rules, Format::Ndjson, input, false);
        assert_eq!(
            files,
            [concat!(
                "[\n",
                "{\"key\":\"user:1\",\"value\":\"a\",\"expiration_ttl\":3600},\n",
                "{\"key\":\"user:2\",\"value\":\"b\",\"expiration_ttl\":120},\n",
                "{\"key\":\"user:3\",\"value\":\"c\",\"expiration\":1900000000}\n",
                "]\n"
            )]
        );
    }

    #[test]
    fn csv_rows_with_quotes_commas_newlines_and_binary() {
        let mut input = b"key,value,expiration_ttl,metadata\n".to_vec();
        input.extend_from_slice(b"a,\"x, \"\"y\"\"\nz\",,\n");
        input.extend_from_slice(b"b,plain,120,\"{\"\"v\"\": 1}\"\n");
        input.extend_from_slice(b"c,\xff\xfe\x00,,\n");
        input.extend_from_slice(b"d,1,2,3,4\n");
        input.extend_from_slice(b"e,1,abc,\n");
        let (files, outcome) = run_bytes(rules(Kind::Put), Format::Csv, &input, true);
        assert_eq!(
            files,
            [concat!(
                "[\n",
                "{\"key\":\"a\",\"value\":\"x, \\\"y\\\"\\nz\"},\n",
                "{\"key\":\"b\",\"value\":\"plain\",\"expiration_ttl\":120,\"metadata\":{\"v\":1}},\n",
                "{\"key\":\"c\",\"value\":\"//4A\",\"base64\":true}\n",
                "]\n"
            )]
        );
        assert_eq!(
            problems(&outcome),
            [
                "6: has 5 fields; the header has 4 (quote fields that contain commas)",
                "7: expiration_ttl must be a whole number of seconds; got abc",
            ]
        );
    }

    #[test]
    fn base64_input_is_checked_and_marked() {
        let mut rules = rules(Kind::Put);
        rules.base64 = true;
        let input = "key,value\na,aGVsbG8=\nb,%%%\n";
        let (files, outcome) = run(rules, Format::Csv, input, true);
        assert_eq!(
            files,
            ["[\n{\"key\":\"a\",\"value\":\"aGVsbG8=\",\"base64\":true}\n]\n"]
        );
        assert_eq!(outcome.invalid, 1);
    }

    #[test]
    fn json_array_problems_name_line_and_index() {
        let input = "[\n  {\"key\": \"a\", \"value\": \"1\"},\n  {\"key\": \"a\",\n   \"value\": \"2\", \"expiration_ttl\": 5}\n]";
        let (_, outcome) = run(rules(Kind::Put), Format::Json, input, false);
        assert_eq!(
            problems(&outcome),
            ["3 [1]: expiration_ttl is 5; Workers KV needs at least 60 seconds"]
        );
        let input = "[{\"key\": \"a\",\n \"value\": 1,,}]";
        let (_, outcome) = run(rules(Kind::Put), Format::Json, input, false);
        assert_eq!(
            problems(&outcome),
            ["2 [0]: invalid JSON: key must be a string"]
        );
    }

    #[test]
    fn deletes_take_keys_strings_or_objects() {
        let mut rules = rules(Kind::Delete);
        rules.prefix = "p:".into();
        let input = "[\"a\", {\"key\": \"b\", \"value\": \"ignored\"}, \"a\", 3, \"c\", \"d\"]";
        let (files, outcome) = run(rules.clone(), Format::Json, input, true);
        assert_eq!(
            files,
            // Duplicates are taken out after chunking: files have at most 3.
            ["[\n\"p:a\",\n\"p:b\"\n]\n", "[\n\"p:c\",\n\"p:d\"\n]\n"]
        );
        assert_eq!(
            problems(&outcome),
            [
                "1 [2]: duplicate key (first at entry 0, line 1)",
                "1 [3]: expected a key (string) or an object with `key`; got 3",
            ]
        );
        let (files, _) = run(rules, Format::Csv, "value,key\nx,k1\n,k2\n", false);
        assert_eq!(files, ["[\n\"p:k1\",\n\"p:k2\"\n]\n"]);
    }
}
