//! Wrangler bulk files, written as numbered chunks: each goes to a temporary
//! file of the run's [`Transaction`] first, and all are put in place
//! together only when the whole input is valid, so a run writes every file
//! or none.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::transaction::{Expect, Fingerprint, NewMode, Transaction};

/// Most bytes a bulk file may have: Cloudflare takes at most 100 MB per
/// bulk request, so every file stays under it.
pub const MAX_FILE_BYTES: u64 = 100_000_000;
/// Most entries a bulk file may have: Cloudflare's limit per bulk request.
pub const MAX_CHUNK: usize = 10_000;

const HEAD: &[u8] = b"[\n";
const SEPARATOR: &[u8] = b",\n";
const TAIL: &[u8] = b"\n]\n";

/// A finished chunk, not yet in place.
pub struct Chunk {
    temp: PathBuf,
    /// Position of the chunk's first entry among all entries pushed.
    first: u64,
    pub entries: usize,
    pub bytes: u64,
}

struct Open {
    file: File,
    temp: PathBuf,
    first: u64,
    entries: usize,
    bytes: u64,
}

/// Splits entries into chunks of at most `chunk` entries and under
/// `max_bytes` bytes, each in its own temporary file.
pub struct Chunks {
    tx: Transaction,
    temp_dir: PathBuf,
    /// The start of the files' names in messages (`kv-bulk/users-put-`).
    label: String,
    chunk: usize,
    max_bytes: u64,
    done: Vec<Chunk>,
    open: Option<Open>,
    /// Entries pushed so far.
    pushed: u64,
    /// Bytes of the open chunk not yet written to its file; one buffer for
    /// all chunks.
    buffer: Vec<u8>,
}

/// How much is buffered before a write.
const BUFFER_BYTES: usize = 1 << 20;

impl Chunks {
    /// Temporary files of `tx` go to `temp_dir`: the output folder, so
    /// that the final rename is atomic, or elsewhere for a dry run. `label`
    /// starts the files' names in messages.
    pub fn new(
        tx: &Transaction,
        temp_dir: &Path,
        label: &str,
        chunk: usize,
        max_bytes: u64,
    ) -> Chunks {
        Chunks {
            tx: tx.clone(),
            temp_dir: temp_dir.to_path_buf(),
            label: label.to_string(),
            chunk,
            max_bytes,
            done: Vec::new(),
            open: None,
            pushed: 0,
            buffer: Vec::with_capacity(BUFFER_BYTES),
        }
    }

    /// Whether an entry of `len` bytes fits in a file at all.
    pub fn fits(&self, len: usize) -> bool {
        ((HEAD.len() + len + TAIL.len()) as u64) < self.max_bytes
    }

    /// Appends an encoded entry (one that [`fits`](Self::fits)). An error
    /// names the file being written.
    pub fn push(&mut self, entry: &[u8]) -> io::Result<()> {
        self.push_entry(entry).map_err(|e| {
            let number = self.done.len() + 1;
            io::Error::new(
                e.kind(),
                format!("cannot write {}{number:04}.json: {e}", self.label),
            )
        })
    }

    fn push_entry(&mut self, entry: &[u8]) -> io::Result<()> {
        let len = entry.len() as u64;
        if let Some(open) = &self.open {
            let full = open.entries >= self.chunk
                || open.bytes + (SEPARATOR.len() + TAIL.len()) as u64 + len >= self.max_bytes;
            if full {
                self.close()?;
            }
        }
        let open = match &mut self.open {
            Some(open) => {
                self.buffer.extend_from_slice(SEPARATOR);
                open.bytes += SEPARATOR.len() as u64;
                open
            }
            None => {
                let temp = self.tx.temp_in(&self.temp_dir)?;
                self.buffer.extend_from_slice(HEAD);
                self.open.insert(Open {
                    file: temp.file,
                    temp: temp.path,
                    first: self.pushed,
                    entries: 0,
                    bytes: HEAD.len() as u64,
                })
            }
        };
        self.buffer.extend_from_slice(entry);
        self.pushed += 1;
        open.entries += 1;
        open.bytes += len;
        if self.buffer.len() >= BUFFER_BYTES {
            open.file.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        if let Some(mut open) = self.open.take() {
            self.buffer.extend_from_slice(TAIL);
            // Not synced to disk: the files are reproducible, and syncing a
            // hundred of them would double the run time.
            open.file.write_all(&self.buffer)?;
            self.buffer.clear();
            self.done.push(Chunk {
                temp: open.temp,
                first: open.first,
                entries: open.entries,
                bytes: open.bytes + TAIL.len() as u64,
            });
        }
        Ok(())
    }

    /// Closes the last chunk and returns them all, without the entries at
    /// the positions in `remove` (sorted): a chunk that had some is
    /// rewritten, one left empty is dropped.
    pub fn finish(mut self, remove: &[u64]) -> io::Result<Vec<Chunk>> {
        self.close()?;
        let mut kept = Vec::with_capacity(self.done.len());
        for chunk in self.done {
            let end = chunk.first + chunk.entries as u64;
            let from = remove.partition_point(|&r| r < chunk.first);
            let to = remove.partition_point(|&r| r < end);
            if from == to {
                kept.push(chunk);
            } else if let Some(chunk) =
                chunk.without(&remove[from..to], &self.tx, &self.temp_dir)?
            {
                kept.push(chunk);
            }
        }
        Ok(kept)
    }
}

impl Chunk {
    /// The chunk without the entries at the positions in `remove` (sorted,
    /// all in this chunk); None if none is left. Each entry of a chunk is
    /// one line (JSON strings escape their newlines).
    fn without(
        self,
        remove: &[u64],
        tx: &Transaction,
        temp_dir: &Path,
    ) -> io::Result<Option<Chunk>> {
        let entries = self.entries - remove.len();
        if entries == 0 {
            return Ok(None);
        }
        let text = fs::read(&self.temp)?;
        let body = &text[HEAD.len()..text.len() - TAIL.len()];
        let mut out = Vec::with_capacity(text.len());
        out.extend_from_slice(HEAD);
        let mut removed = remove.iter().peekable();
        let mut written = 0;
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            let position = self.first + i as u64;
            if removed.next_if_eq(&&position).is_some() {
                continue;
            }
            let entry = line.strip_suffix(b",").unwrap_or(line);
            if written > 0 {
                out.extend_from_slice(SEPARATOR);
            }
            out.extend_from_slice(entry);
            written += 1;
        }
        out.extend_from_slice(TAIL);
        debug_assert_eq!(written, entries);
        let mut temp = tx.temp_in(temp_dir)?;
        temp.file.write_all(&out)?;
        let _ = fs::remove_file(&self.temp);
        Ok(Some(Chunk {
            temp: temp.path,
            first: self.first,
            entries,
            bytes: out.len() as u64,
        }))
    }

    /// What `path` holds now: None when nothing, else whether it is
    /// exactly this chunk and how it looked (for the check made just before
    /// it is replaced). Anything but a regular file there is bad input.
    pub fn compare(&self, path: &Path, shown: &str) -> anyhow::Result<Option<(bool, Fingerprint)>> {
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(crate::error::BadInput::new(format!(
                "{shown}: is a link; kvgen writes bulk files only as regular files of --out"
            ))
            .into());
        }
        let Some((existing, meta)) = crate::files::open_regular(path, shown)? else {
            return Ok(None);
        };
        let seen = Fingerprint::of(&meta);
        if meta.len() != self.bytes {
            return Ok(Some((false, seen)));
        }
        Ok(Some((
            same_content(File::open(&self.temp)?, existing)?,
            seen,
        )))
    }

    /// Stages the chunk to be put at `path` when `tx` commits.
    pub fn stage(
        self,
        tx: &Transaction,
        path: &Path,
        shown: &str,
        seen: Option<Fingerprint>,
    ) -> io::Result<()> {
        let expect = seen.map_or(Expect::Absent, Expect::Seen);
        tx.stage_temp(&self.temp, path, shown, expect, NewMode::Normal)
    }
}

fn same_content(mut a: impl Read, mut b: impl Read) -> io::Result<bool> {
    let mut left = vec![0u8; 1 << 16];
    let mut right = vec![0u8; 1 << 16];
    loop {
        let n = read_full(&mut a, &mut left)?;
        let m = read_full(&mut b, &mut right)?;
        if n != m || left[..n] != right[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(chunks: Vec<Chunk>) -> Vec<String> {
        chunks
            .iter()
            .map(|c| {
                let text = fs::read_to_string(&c.temp).unwrap();
                assert_eq!(text.len() as u64, c.bytes);
                text
            })
            .collect()
    }

    #[test]
    fn chunks_hold_at_most_n_entries() {
        let dir = tempfile::tempdir().unwrap();
        let tx = Transaction::begin(dir.path());
        let mut chunks = Chunks::new(&tx, dir.path(), "x-put-", 2, MAX_FILE_BYTES);
        for entry in ["1", "2", "3", "4", "5"] {
            chunks.push(entry.as_bytes()).unwrap();
        }
        let files = contents(chunks.finish(&[]).unwrap());
        assert_eq!(files, ["[\n1,\n2\n]\n", "[\n3,\n4\n]\n", "[\n5\n]\n"]);
        for file in &files {
            let parsed: Vec<u32> = serde_json::from_str(file).unwrap();
            assert!(parsed.len() <= 2);
        }
    }

    #[test]
    fn chunks_stay_under_the_byte_cap() {
        let dir = tempfile::tempdir().unwrap();
        // "[\n" + "aaaa" + ",\n" + "bbbb" + "\n]\n" is 15 bytes: under 16.
        let tx = Transaction::begin(dir.path());
        let mut chunks = Chunks::new(&tx, dir.path(), "x-put-", 100, 16);
        assert!(chunks.fits(10));
        assert!(!chunks.fits(11));
        for entry in ["aaaa", "bbbb", "cccc"] {
            chunks.push(entry.as_bytes()).unwrap();
        }
        let files = contents(chunks.finish(&[]).unwrap());
        assert_eq!(files, ["[\naaaa,\nbbbb\n]\n", "[\ncccc\n]\n"]);
        let tx = Transaction::begin(dir.path());
        let mut chunks = Chunks::new(&tx, dir.path(), "x-put-", 100, 15);
        for entry in ["aaaa", "bbbb"] {
            chunks.push(entry.as_bytes()).unwrap();
        }
        assert_eq!(chunks.finish(&[]).unwrap().len(), 2);
    }

    #[test]
    fn removed_entries_are_taken_out_and_empty_chunks_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let tx = Transaction::begin(dir.path());
        let mut chunks = Chunks::new(&tx, dir.path(), "x-put-", 2, MAX_FILE_BYTES);
        for entry in ["0", "1", "2", "3", "4"] {
            chunks.push(entry.as_bytes()).unwrap();
        }
        let files = contents(chunks.finish(&[1, 2, 3]).unwrap());
        assert_eq!(files, ["[\n0\n]\n", "[\n4\n]\n"]);
        let tx = Transaction::begin(dir.path());
        let mut chunks = Chunks::new(&tx, dir.path(), "x-put-", 3, MAX_FILE_BYTES);
        for entry in ["0", "1", "2"] {
            chunks.push(entry.as_bytes()).unwrap();
        }
        let files = contents(chunks.finish(&[0]).unwrap());
        assert_eq!(files, ["[\n1,\n2\n]\n"]);
    }

    #[test]
    fn no_entries_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let tx = Transaction::begin(dir.path());
        let chunks = Chunks::new(&tx, dir.path(), "x-put-", 2, MAX_FILE_BYTES);
        assert!(chunks.finish(&[]).unwrap().is_empty());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
