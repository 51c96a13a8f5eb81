//! The local state of a namespace, as miniflare keeps it for `wrangler dev`
//! (miniflare 4.20260426.0): `<root>/miniflare-KVNamespaceObject/<hex>.sqlite`
//! with the table `_mf_entries(key, blob_id, expiration, metadata)`
//! (expiration in milliseconds), and the values in
//! `<root>/<namespace id>/blobs/<blob_id>`, where `<root>` is
//! `.wrangler/state/v3/kv` next to the Wrangler config and `<hex>` is
//! workerd's `idFromName` of the namespace id.

use std::path::{Path, PathBuf};

use anyhow::Context;
use hmac::{Hmac, Mac};
use rusqlite::{Connection, OpenFlags};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::Record;
use crate::error::BadInput;

/// The class whose objects hold the namespaces.
const UNIQUE_KEY: &str = "miniflare-KVNamespaceObject";

/// workerd's `idFromName` for a Durable Object namespace `unique_key`, as
/// miniflare computes it: 64 hex characters.
pub fn id_from_name(unique_key: &str, name: &str) -> String {
    let key = Sha256::digest(unique_key.as_bytes());
    let hmac = |data: &[u8]| -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length works");
        mac.update(data);
        mac.finalize().into_bytes()[..16].to_vec()
    };
    let name_hmac = hmac(name.as_bytes());
    let check = hmac(&name_hmac);
    name_hmac
        .iter()
        .chain(&check)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// miniflare's `sanitisePath` for a folder name: the characters a file
/// name cannot hold become `_` (ids and binding names pass unchanged).
fn sanitise(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if matches!(
                c,
                '?' | '<' | '>' | '*' | '"' | '\'' | '^' | '/' | '\\' | ':' | '|'
            ) || c.is_control()
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    if out == "." || out == ".." {
        out = "_".repeat(out.len());
    }
    out.chars().take(255).collect()
}

/// What a namespace's local state holds, without reading its values.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Figures {
    /// Live keys (not expired).
    pub keys: u64,
    /// Bytes of the values those keys hold (their blob files).
    pub bytes: u64,
    /// Live keys with an expiration.
    pub expiring: u64,
    /// The soonest expiration of a live key, in seconds since the epoch.
    pub next_expiry: Option<u64>,
}

/// Opens a namespace's database read-only. Without a write-ahead log next
/// to it (no `wrangler dev` writing now) it is opened as immutable, so that
/// SQLite creates no shared-memory file beside it: reading leaves the state
/// folder as it was. With one, SQLite needs that file to read the log.
fn open_read_only(database: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        return Connection::open_with_flags(database, flags);
    }
    let path = database.to_string_lossy();
    let mut uri = String::from("file:");
    for c in path.chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
}

impl Local {
    /// The database, open read-only, waiting a while for a writer.
    fn connect(&self, shown: &str) -> anyhow::Result<Connection> {
        let connection =
            open_read_only(&self.database).with_context(|| format!("cannot open {shown}"))?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .ok();
        Ok(connection)
    }

    /// Whether the namespace has local state at all.
    pub fn exists(&self) -> bool {
        self.database.is_file()
    }

    /// The figures of the live keys at `now_ms`, handing each key to
    /// `each` (in key order) too.
    pub fn figures(&self, now_ms: i64, each: &mut dyn FnMut(&str)) -> anyhow::Result<Figures> {
        let shown = crate::names::show_path(&self.database);
        let connection = self.connect(&shown)?;
        let mut statement = connection
            .prepare(
                "SELECT key, blob_id, expiration FROM _mf_entries \
                 WHERE expiration IS NULL OR expiration > ?1 ORDER BY key",
            )
            .with_context(|| format!("{shown}: not a namespace of miniflare's"))?;
        let mut rows = statement
            .query(rusqlite::params![now_ms])
            .with_context(|| format!("cannot read {shown}"))?;
        let mut figures = Figures::default();
        while let Some(row) = rows
            .next()
            .with_context(|| format!("cannot read {shown}"))?
        {
            let key: String = row.get(0)?;
            let blob: String = row.get(1)?;
            let expiration: Option<i64> = row.get(2)?;
            figures.keys += 1;
            if let Some(ms) = expiration {
                figures.expiring += 1;
                let seconds = (ms.max(0) as u64).div_ceil(1000);
                figures.next_expiry = Some(figures.next_expiry.map_or(seconds, |n| n.min(seconds)));
            }
            // Only a blob id miniflare makes names a file.
            if !blob.is_empty() && blob.chars().all(|c| c.is_ascii_hexdigit()) {
                let meta = std::fs::symlink_metadata(self.blobs.join(&blob));
                figures.bytes += meta.map_or(0, |m| if m.is_file() { m.len() } else { 0 });
            }
            each(&key);
        }
        Ok(figures)
    }
}

/// Rows read before their values are.
const BATCH: usize = 256;

/// A row of `_mf_entries`.
struct Row {
    key: String,
    blob: String,
    expiration: Option<i64>,
    metadata: Option<String>,
}

/// A blob file's bytes. Only a regular file is read (not through a link,
/// and without waiting on a FIFO someone put there).
fn read_blob(dir: &std::fs::File, name: &str, scratch: &mut [u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd};
    // Opened relative to the blobs folder (one name to look up, not the
    // whole path), not following a link, without blocking on a FIFO.
    let c_name = std::ffi::CString::new(name).map_err(std::io::Error::other)?;
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid folder descriptor and a NUL-terminated name; the
    // descriptor returned is owned by the File made from it.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c_name.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    // Most values fit the scratch buffer: one read, and a short read of a
    // regular file is its end (miniflare never changes a blob once
    // written). The metadata is asked for only when the read says nothing
    // (a FIFO or a device is not a value) or fills the buffer.
    let n = file.read(scratch)?;
    if n > 0 && n < scratch.len() {
        return Ok(scratch[..n].to_vec());
    }
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "is {}, not a file",
            crate::files::kind(&meta)
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    bytes.extend_from_slice(&scratch[..n]);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The scratch buffer of a thread that reads values: one read takes a
/// value up to this size.
const SCRATCH: usize = 64 * 1024;

/// A namespace's local state.
pub struct Local {
    database: PathBuf,
    blobs: PathBuf,
}

impl Local {
    /// The state of namespace `id` under the project `root` (the folder of
    /// the Wrangler config).
    pub fn new(root: &Path, id: &str) -> Local {
        let kv = root.join(".wrangler/state/v3/kv");
        Local {
            database: kv
                .join(UNIQUE_KEY)
                .join(format!("{}.sqlite", id_from_name(UNIQUE_KEY, id))),
            blobs: kv.join(sanitise(id)).join("blobs"),
        }
    }

    /// The values of `rows`, in their order, read by `threads` threads.
    fn read_values(
        &self,
        dir: &std::io::Result<std::fs::File>,
        rows: &[Row],
        threads: usize,
    ) -> Vec<std::io::Result<Vec<u8>>> {
        let read_all = |part: &[Row]| -> Vec<std::io::Result<Vec<u8>>> {
            let mut scratch = vec![0; SCRATCH];
            part.iter()
                .map(|row| match dir {
                    Ok(dir) => read_blob(dir, &row.blob, &mut scratch),
                    Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                })
                .collect()
        };
        if threads < 2 || rows.len() < 2 {
            return read_all(rows);
        }
        let size = rows.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = rows
                .chunks(size)
                .map(|part| scope.spawn(move || read_all(part)))
                .collect();
            parts
                .into_iter()
                .flat_map(|part| part.join().expect("reading a file does not panic"))
                .collect()
        })
    }

    /// Every live key (not expired at `now_ms`) starting with `prefix`, in
    /// key order (UTF-8 bytes, as KV lists them), handed to `each` one at a
    /// time: memory stays flat whatever the namespace holds.
    pub fn for_each(
        &self,
        prefix: &str,
        now_ms: i64,
        each: &mut dyn FnMut(Record) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let shown = crate::names::show_path(&self.database);
        if !self.database.is_file() {
            return Err(BadInput::new(format!(
                "{shown}: no local data for this namespace (nothing was written to it with `wrangler dev` or `wrangler kv … --local`)"
            ))
            .into());
        }
        let connection = self.connect(&shown)?;
        let mut statement = connection
            .prepare(
                "SELECT key, blob_id, expiration, metadata FROM _mf_entries \
                 WHERE (expiration IS NULL OR expiration > ?1) \
                 AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
            )
            .with_context(|| format!("{shown}: not a namespace of miniflare's"))?;
        let mut rows = statement
            .query(rusqlite::params![now_ms, prefix])
            .with_context(|| format!("cannot read {shown}"))?;
        // Rows come in batches; their values are read by a few threads at
        // once (opening a file per value is most of the work), then handed
        // on in key order.
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4);
        let mut batch: Vec<Row> = Vec::with_capacity(BATCH);
        let blobs = std::fs::File::open(&self.blobs);
        let mut done = false;
        while !done {
            batch.clear();
            while batch.len() < BATCH {
                let Some(row) = rows
                    .next()
                    .with_context(|| format!("cannot read {shown}"))?
                else {
                    done = true;
                    break;
                };
                batch.push(Row {
                    key: row.get(0)?,
                    blob: row.get(1)?,
                    expiration: row.get(2)?,
                    metadata: row.get(3)?,
                });
            }
            for row in &batch {
                // A blob id is 80 hex characters: nothing else is read as
                // a file name.
                if row.blob.is_empty() || !row.blob.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(BadInput::new(format!(
                        "{shown}: key {}: blob id {} is not one miniflare makes",
                        crate::bulk::entry::show(&row.key),
                        crate::bulk::entry::show(&row.blob)
                    ))
                    .into());
                }
            }
            let values = self.read_values(&blobs, &batch, threads);
            for (row, value) in batch.drain(..).zip(values) {
                let value = value.with_context(|| {
                    format!(
                        "cannot read the value of key {} ({})",
                        crate::bulk::entry::show(&row.key),
                        crate::names::show_path(&self.blobs.join(&row.blob))
                    )
                })?;
                let metadata = row
                    .metadata
                    .map(|text| {
                        RawValue::from_string(text).map_err(|e| {
                            BadInput::new(format!(
                                "{shown}: key {}: metadata is not JSON: {e}",
                                crate::bulk::entry::show(&row.key)
                            ))
                        })
                    })
                    .transpose()?;
                each(Record {
                    key: row.key,
                    value,
                    expiration: row.expiration.map(|ms| (ms.max(0) / 1000) as u64),
                    metadata,
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_file_names_are_miniflares_id_from_name() {
        // The figures platform-facts.md recorded from a real state folder.
        assert!(
            id_from_name(UNIQUE_KEY, "0f2ac74b498b48028cb68387c421e279")
                .starts_with("604730949a2c43a4")
        );
        assert!(id_from_name(UNIQUE_KEY, "0f2ac74b498b48028cb68387c421e279").ends_with("8259307"));
        let noid = id_from_name(UNIQUE_KEY, "NOID");
        assert!(
            noid.starts_with("983e5d61") && noid.ends_with("855fba2"),
            "{noid}"
        );
        assert_eq!(noid.len(), 64);
    }

    #[test]
    fn folder_names_are_sanitised_like_miniflare() {
        assert_eq!(
            sanitise("0f2ac74b498b48028cb68387c421e279"),
            "0f2ac74b498b48028cb68387c421e279"
        );
        assert_eq!(sanitise("MY_KV"), "MY_KV");
        assert_eq!(sanitise("a/b:c"), "a_b_c");
    }

    /// A row: key, value, expiration (ms), metadata.
    type Row<'a> = (&'a str, &'a [u8], Option<i64>, Option<&'a str>);

    /// A state folder written the way miniflare writes it.
    fn state(rows: &[Row<'_>]) -> (tempfile::TempDir, Local) {
        let dir = tempfile::tempdir().unwrap();
        let local = Local::new(dir.path(), "NS");
        std::fs::create_dir_all(local.database.parent().unwrap()).unwrap();
        std::fs::create_dir_all(&local.blobs).unwrap();
        let connection = Connection::open(&local.database).unwrap();
        connection
            .execute_batch(
                "PRAGMA journal_mode=WAL; CREATE TABLE _mf_entries (key TEXT PRIMARY KEY, blob_id TEXT NOT NULL, expiration INTEGER, metadata TEXT);",
            )
            .unwrap();
        for (i, (key, value, expiration, metadata)) in rows.iter().enumerate() {
            let blob = format!("{i:080x}");
            std::fs::write(local.blobs.join(&blob), value).unwrap();
            connection
                .execute(
                    "INSERT INTO _mf_entries VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![key, blob, expiration, metadata],
                )
                .unwrap();
        }
        drop(connection);
        (dir, local)
    }

    fn all(local: &Local, prefix: &str, now_ms: i64) -> Vec<Record> {
        let mut out = Vec::new();
        local
            .for_each(prefix, now_ms, &mut |r| {
                out.push(r);
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn live_keys_come_in_key_order_with_their_values_and_metadata() {
        let (_dir, local) = state(&[
            ("b", b"two", None, Some("{\"v\":2}")),
            ("a", b"one", Some(5_000_000), None),
            ("gone", b"x", Some(1_000), None),
            ("\u{e9}", &[0xff, 0], None, None),
            ("user:1", b"u", None, None),
        ]);
        let records = all(&local, "", 2_000);
        let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "user:1", "\u{e9}"]);
        assert_eq!(records[0].expiration, Some(5_000));
        assert_eq!(records[1].metadata.as_ref().unwrap().get(), "{\"v\":2}");
        assert_eq!(records[3].value, [0xff, 0]);
        let users = all(&local, "user:", 2_000);
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].key, "user:1");
    }

    #[test]
    fn a_value_that_is_no_file_is_refused_without_waiting() {
        let (_dir, local) = state(&[("a", b"1", None, None)]);
        let blob = local.blobs.join(format!("{:080x}", 0));
        std::fs::remove_file(&blob).unwrap();
        let fifo = std::ffi::CString::new(blob.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let err = local.for_each("", 0, &mut |_| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("named pipe"), "{err:#}");
        std::fs::remove_file(&blob).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &blob).unwrap();
        assert!(local.for_each("", 0, &mut |_| Ok(())).is_err());
    }

    #[test]
    fn a_namespace_without_local_data_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let local = Local::new(dir.path(), "NS");
        let err = local.for_each("", 0, &mut |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("no local data"), "{err}");
    }
}
