//! Finding duplicate keys in flat memory: every valid entry leaves a small
//! record (a 128-bit hash of its key and where it is); records are sorted
//! in batches, spilled to temporary files when a batch is full, and merged
//! at the end, where equal hashes sit next to each other. Memory stays at
//! one batch (16 MB) however many keys there are. The hashing and sorting
//! run on a thread of their own.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

/// Where a valid entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seen {
    /// The key's hash (two independent 64-bit hashes): sorted on first.
    pub hash: (u64, u64),
    /// Position among the valid entries, which is the order they are
    /// written in.
    pub written: u64,
    pub line: u64,
    pub index: u64,
}

const RECORD_BYTES: usize = 40;

impl Seen {
    fn to_bytes(self) -> [u8; RECORD_BYTES] {
        let mut out = [0u8; RECORD_BYTES];
        for (i, n) in [
            self.hash.0,
            self.hash.1,
            self.written,
            self.line,
            self.index,
        ]
        .into_iter()
        .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&n.to_be_bytes());
        }
        out
    }

    fn from_bytes(bytes: &[u8; RECORD_BYTES]) -> Seen {
        let n = |i: usize| u64::from_be_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        Seen {
            hash: (n(0), n(1)),
            written: n(2),
            line: n(3),
            index: n(4),
        }
    }
}

/// A later entry with the key of an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicate {
    pub entry: Seen,
    /// The first entry with that key.
    pub first: Seen,
}

/// The keys of the valid entries so far. Keys are hashed, sorted and
/// spilled on a thread of their own, while the caller reads on.
pub struct Keys {
    batch: Batch,
    sender: Option<SyncSender<Batch>>,
    worker: Option<JoinHandle<io::Result<Sorter>>>,
}

/// Keys handed to the worker at once.
#[derive(Default)]
struct Batch {
    keys: Vec<u8>,
    /// Where each key ends in `keys`, and where its entry is.
    entries: Vec<(usize, u64, u64, u64)>,
}

/// Entries per batch handed over.
const HANDOVER: usize = 1 << 14;

/// Records sorted in memory at once before they are spilled: 16 MB.
const SORT_BATCH: usize = 16_000_000 / RECORD_BYTES;

impl Default for Keys {
    fn default() -> Self {
        Keys::with_batch(SORT_BATCH)
    }
}

impl Keys {
    fn with_batch(sort_batch: usize) -> Keys {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(4);
        let worker = std::thread::spawn(move || {
            let mut sorter = Sorter {
                hashers: (RandomState::new(), RandomState::new()),
                records: Vec::new(),
                sort_batch,
                runs: Vec::new(),
            };
            for batch in receiver {
                sorter.add(&batch)?;
            }
            Ok(sorter)
        });
        Keys {
            batch: Batch::default(),
            sender: Some(sender),
            worker: Some(worker),
        }
    }

    /// Notes a valid entry's key.
    pub fn add(&mut self, key: &[u8], written: u64, line: u64, index: u64) -> io::Result<()> {
        self.batch.keys.extend_from_slice(key);
        self.batch
            .entries
            .push((self.batch.keys.len(), written, line, index));
        if self.batch.entries.len() >= HANDOVER {
            self.hand_over()?;
        }
        Ok(())
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let batch = std::mem::take(&mut self.batch);
        let sent = self.sender.as_ref().map(|s| s.send(batch));
        if let Some(Err(_)) = sent {
            // The worker stopped: its error is reported by `finish`.
            self.sender = None;
        }
        Ok(())
    }

    /// Waits for the worker and returns the sorted records.
    fn finish(mut self) -> io::Result<Sorter> {
        if !self.batch.entries.is_empty() {
            self.hand_over()?;
        }
        self.sender = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(sorter)) => sorter,
            _ => Err(io::Error::other("the duplicate-key check stopped")),
        }
    }

    /// Calls `on` for every entry whose key an earlier entry has, in no
    /// particular order.
    pub fn duplicates(self, on: &mut dyn FnMut(Duplicate)) -> io::Result<()> {
        self.finish()?.duplicates(on)
    }
}

/// Hashes keys, sorts the records in batches, spills full batches.
struct Sorter {
    hashers: (RandomState, RandomState),
    records: Vec<Seen>,
    sort_batch: usize,
    runs: Vec<File>,
}

impl Sorter {
    fn add(&mut self, batch: &Batch) -> io::Result<()> {
        let mut start = 0;
        for &(end, written, line, index) in &batch.entries {
            let key = &batch.keys[start..end];
            start = end;
            self.records.push(Seen {
                hash: (self.hashers.0.hash_one(key), self.hashers.1.hash_one(key)),
                written,
                line,
                index,
            });
            if self.records.len() >= self.sort_batch {
                self.spill()?;
            }
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.records.sort_unstable();
        let mut file = BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
        for seen in self.records.drain(..) {
            file.write_all(&seen.to_bytes())?;
        }
        let mut file = file.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        self.runs.push(file);
        Ok(())
    }

    fn duplicates(mut self, on: &mut dyn FnMut(Duplicate)) -> io::Result<()> {
        let mut first: Option<Seen> = None;
        let mut visit = |seen: Seen| match first {
            Some(f) if f.hash == seen.hash => on(Duplicate {
                entry: seen,
                first: f,
            }),
            _ => first = Some(seen),
        };
        if self.runs.is_empty() {
            self.records.sort_unstable();
            self.records.iter().copied().for_each(&mut visit);
            return Ok(());
        }
        if !self.records.is_empty() {
            self.spill()?;
        }
        self.records = Vec::new();
        let mut readers: Vec<BufReader<File>> = self
            .runs
            .drain(..)
            .map(|f| BufReader::with_capacity(1 << 14, f))
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, reader) in readers.iter_mut().enumerate() {
            if let Some(seen) = next(reader)? {
                heap.push(Reverse((seen, i)));
            }
        }
        while let Some(Reverse((seen, i))) = heap.pop() {
            visit(seen);
            if let Some(seen) = next(&mut readers[i])? {
                heap.push(Reverse((seen, i)));
            }
        }
        Ok(())
    }
}

fn next(reader: &mut impl Read) -> io::Result<Option<Seen>> {
    let mut bytes = [0u8; RECORD_BYTES];
    match reader.read_exact(&mut bytes) {
        Ok(()) => Ok(Some(Seen::from_bytes(&bytes))),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicates(keys: &[&str], batch: usize) -> Vec<(u64, u64)> {
        let mut seen = Keys::with_batch(batch);
        for (i, key) in keys.iter().enumerate() {
            seen.add(key.as_bytes(), i as u64, i as u64 + 1, 0).unwrap();
        }
        let mut found = Vec::new();
        seen.duplicates(&mut |d| found.push((d.entry.line, d.first.line)))
            .unwrap();
        found.sort();
        found
    }

    #[test]
    fn later_entries_with_an_earlier_key_are_duplicates() {
        let keys = ["a", "b", "a", "c", "b", "a", "ab", "ba"];
        let expected = vec![(3, 1), (5, 2), (6, 1)];
        assert_eq!(duplicates(&keys, 1000), expected);
        // The same when batches spill to files and are merged.
        assert_eq!(duplicates(&keys, 3), expected);
        assert_eq!(duplicates(&keys, 1), expected);
        assert!(duplicates(&["x", "y", "z"], 2).is_empty());
    }

    #[test]
    fn full_batches_leave_memory_for_files() {
        let mut keys = Keys::with_batch(3);
        for (i, key) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            keys.add(key.as_bytes(), i as u64, i as u64 + 1, 0).unwrap();
        }
        let sorter = keys.finish().unwrap();
        assert_eq!(sorter.runs.len(), 2, "two full batches were spilled");
        assert_eq!(sorter.records.len(), 2, "only the rest is in memory");
    }

    #[test]
    fn records_survive_the_round_trip_through_bytes() {
        let seen = Seen {
            hash: (u64::MAX, 7),
            written: 1 << 40,
            line: 3,
            index: 9,
        };
        assert_eq!(Seen::from_bytes(&seen.to_bytes()), seen);
    }
}
