//! The files kvgen reads and writes in a project: only regular files, never
//! bigger than kvgen can sensibly edit, never outside the project root
//! (whatever links lie on the way), and never a read-only file unless the
//! user says so.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::error::BadInput;

/// The largest text file kvgen reads or edits (configs, manifests, sources,
/// `.gitignore`, `.dev.vars`): far above any real one, low enough that a
/// hostile file cannot cost much memory.
pub const MAX_TEXT_BYTES: u64 = 16 * 1024 * 1024;

/// What kind of file system object a path holds, in words.
pub fn kind(meta: &Metadata) -> &'static str {
    let file_type = meta.file_type();
    if file_type.is_dir() {
        return "a folder";
    }
    if file_type.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading without ever blocking on it (a FIFO opened for
/// reading waits for a writer), and refuses anything but a regular file.
/// `None` when it does not exist.
pub fn open_regular(path: &Path, shown: &str) -> anyhow::Result<Option<(File, Metadata)>> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::IsADirectory => {
            return Err(not_regular(shown, "a folder").into());
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {shown}"))),
    };
    let meta = file
        .metadata()
        .map_err(|e| anyhow::Error::new(e).context(format!("cannot read {shown}")))?;
    if !meta.is_file() {
        return Err(not_regular(shown, kind(&meta)).into());
    }
    Ok(Some((file, meta)))
}

/// Why a path that is not a regular file is refused.
pub fn not_regular(shown: &str, kind: &str) -> BadInput {
    BadInput::new(format!(
        "{shown}: is {kind}, not a regular file; kvgen reads and writes only regular files"
    ))
}

/// Reads a text file kvgen may edit: `None` when it does not exist; bad
/// input when it is not a regular file, too big, or not UTF-8.
pub fn read_text(path: &Path, shown: &str) -> anyhow::Result<Option<String>> {
    let Some((file, meta)) = open_regular(path, shown)? else {
        return Ok(None);
    };
    if meta.len() > MAX_TEXT_BYTES {
        return Err(too_big(shown).into());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_TEXT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::Error::new(e).context(format!("cannot read {shown}")))?;
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(too_big(shown).into());
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(_) => Err(BadInput::new(format!(
            "{shown}: not UTF-8 text; kvgen edits only UTF-8 files"
        ))
        .into()),
    }
}

fn too_big(shown: &str) -> BadInput {
    BadInput::new(format!(
        "{shown}: is over {} MiB; kvgen reads and edits text files up to that size",
        MAX_TEXT_BYTES / (1024 * 1024)
    ))
}

/// Reads a file kvgen only looks at (style configs, manifests, sources): the
/// text of a regular UTF-8 file of sensible size, else `None`.
pub fn peek_text(path: &Path) -> Option<String> {
    read_text(path, "").ok().flatten()
}

/// Whether `path` is a regular file (following links), without opening it.
pub fn is_regular(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// The real path kvgen writes for `rel` (a relative path of plain names)
/// inside the project whose real root is `root`: links on the way are
/// followed, and anything that leads outside the root is refused. The last
/// component may be missing (a file to create) and so may folders before
/// it.
pub fn resolve_inside(root: &Path, rel: &str) -> Result<PathBuf, BadInput> {
    let mut real = root.to_path_buf();
    let mut shown = String::new();
    let mut components = Path::new(rel).components().peekable();
    while let Some(component) = components.next() {
        let Component::Normal(name) = component else {
            return Err(BadInput::new(format!(
                "{}: not a plain path inside the project",
                crate::names::show(rel)
            )));
        };
        if !shown.is_empty() {
            shown.push('/');
        }
        shown.push_str(&name.to_string_lossy());
        let next = real.join(name);
        match fs::symlink_metadata(&next) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                real = next;
                for rest in components.by_ref() {
                    real.push(rest.as_os_str());
                }
                break;
            }
            Err(e) => {
                return Err(BadInput::new(format!(
                    "{}: cannot look at it: {e}",
                    crate::names::show_path(Path::new(&shown))
                )));
            }
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::canonicalize(&next).map_err(|_| {
                    BadInput::new(format!(
                        "{}: is a link to {}, which does not exist; kvgen does not write through broken links",
                        crate::names::show_path(Path::new(&shown)),
                        show_link(&next)
                    ))
                })?;
                if !target.starts_with(root) {
                    return Err(BadInput::new(format!(
                        "{}: is a link to {}, outside the project ({}); kvgen writes only inside the project",
                        crate::names::show_path(Path::new(&shown)),
                        crate::names::show_path(&target),
                        crate::names::show_path(root)
                    )));
                }
                real = target;
            }
            Ok(meta) => {
                if components.peek().is_some() && !meta.is_dir() {
                    return Err(BadInput::new(format!(
                        "{}: is {}, where kvgen needs a folder",
                        crate::names::show_path(Path::new(&shown)),
                        kind(&meta)
                    )));
                }
                real = next;
            }
        }
    }
    Ok(real)
}

/// The real path kvgen writes for `path` (absolute, or relative to the
/// current folder), which must lie inside `root` (a real path) once the
/// links of its existing part are followed; the rest may not exist yet but
/// must be plain names. `shown` names it in messages.
pub fn resolve_path_inside(root: &Path, path: &Path, shown: &str) -> Result<PathBuf, BadInput> {
    let mut existing = path;
    let mut rest = Vec::new();
    while fs::symlink_metadata(existing).is_err() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => break,
        }
    }
    let mut real = fs::canonicalize(existing).map_err(|e| {
        BadInput::new(format!(
            "{shown}: cannot follow {}: {e}",
            crate::names::show_path(existing)
        ))
    })?;
    for name in rest.iter().rev() {
        if Path::new(name).components().count() != 1 || *name == ".." || *name == "." {
            return Err(BadInput::new(format!(
                "{shown}: not a plain path (\"..\" after a folder that does not exist)"
            )));
        }
        real.push(name);
    }
    let rel = real.strip_prefix(root).map_err(|_| {
        BadInput::new(format!(
            "{shown}: is {}, outside the project ({}); kvgen writes only inside the project",
            crate::names::show_path(&real),
            crate::names::show_path(root)
        ))
    })?;
    let rel = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if rel.is_empty() {
        return Ok(root.to_path_buf());
    }
    resolve_inside(root, &rel)
}

fn show_link(link: &Path) -> String {
    fs::read_link(link)
        .map(|t| crate::names::show_path(&t))
        .unwrap_or_else(|_| "?".to_string())
}

/// Refuses to replace a read-only file (no write permission, or none for
/// the current user), unless `force`.
pub fn check_writable(path: &Path, shown: &str, force: bool) -> Result<(), BadInput> {
    let Ok(meta) = fs::metadata(path) else {
        return Ok(());
    };
    // No write permission bit at all, or none for this user (a file of
    // someone else's, which a rename would replace with one of ours).
    // (A read-only file system is left to the write, whose error says so.)
    #[cfg(unix)]
    let writable = !meta.permissions().readonly() && {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::CString::new(path.as_os_str().as_bytes()).is_ok_and(|c| {
            // SAFETY: access(2) reads a NUL-terminated path.
            (unsafe { libc::access(c.as_ptr(), libc::W_OK) }) == 0
                || io::Error::last_os_error().raw_os_error() != Some(libc::EACCES)
        })
    };
    #[cfg(not(unix))]
    let writable = !meta.permissions().readonly();
    if force || writable {
        return Ok(());
    }
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        format!(" (mode {:04o})", meta.permissions().mode() & 0o7777)
    };
    #[cfg(not(unix))]
    let mode = String::new();
    Err(BadInput::new(format!(
        "{shown}: is read-only{mode}; kvgen leaves read-only files alone (make it writable, or pass --force to replace it and keep its mode)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "text").unwrap();
        assert_eq!(
            read_text(&dir.path().join("a.txt"), "a.txt")
                .unwrap()
                .as_deref(),
            Some("text")
        );
        assert!(
            read_text(&dir.path().join("missing"), "missing")
                .unwrap()
                .is_none()
        );
        let err = read_text(dir.path(), "dir").unwrap_err().to_string();
        assert!(err.contains("is a folder"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("wrangler.jsonc");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let err = read_text(&fifo, "wrangler.jsonc").unwrap_err().to_string();
        assert!(err.contains("named pipe"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_inside_the_root_and_refused_outside() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join("real/kv")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("src")).unwrap();
        assert_eq!(
            resolve_inside(&root, "src/kv/store.ts").unwrap(),
            root.join("real/kv/store.ts")
        );
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        let err = resolve_inside(&root, "out/kv/store.ts").unwrap_err().0;
        assert!(err.contains("outside the project"), "{err}");
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("broken")).unwrap();
        let err = resolve_inside(&root, "broken").unwrap_err().0;
        assert!(err.contains("does not exist"), "{err}");
        fs::write(root.join("file"), "").unwrap();
        let err = resolve_inside(&root, "file/x.ts").unwrap_err().0;
        assert!(err.contains("needs a folder"), "{err}");
        assert_eq!(
            resolve_inside(&root, "new/dir/x.ts").unwrap(),
            root.join("new/dir/x.ts")
        );
    }

    #[test]
    fn read_only_files_need_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrangler.toml");
        fs::write(&path, "").unwrap();
        assert!(check_writable(&path, "wrangler.toml", false).is_ok());
        let mut permissions = fs::metadata(&path).unwrap().permissions();
        permissions.set_readonly(true);
        fs::set_permissions(&path, permissions).unwrap();
        let err = check_writable(&path, "wrangler.toml", false).unwrap_err().0;
        assert!(err.contains("read-only"), "{err}");
        assert!(check_writable(&path, "wrangler.toml", true).is_ok());
    }
}
