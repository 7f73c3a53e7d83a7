//! Files that survive a crash, in one place.
//!
//! - [`write`] and [`write_secret`]: replace a file atomically and durably. The body goes to a
//!   fresh temporary file beside it (created exclusively, so a stale or planted temp file is
//!   never reused), which is fsynced, renamed over the target, and the directory fsynced: after a
//!   crash the file holds either the old body or the new one, whole. [`write_secret`] creates the
//!   temporary file with mode 0600 (no moment with wider permissions) and checks the mode before
//!   writing anything.
//! - [`frame`]: length-prefixed records (`len u32 LE || bytes`)*, the layout of append-only logs:
//!   [`frame::push`] encodes, [`frame::records`] decodes, telling a record cut short apart.
//! - [`append`]: add bytes to the end of a log file, fsynced when asked.

pub mod frame;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A durable write that failed. The target file is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A file system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`create`, `write`, `fsync`, `rename`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The path names no file (it ends in `..` or is a root).
    #[error("{0} is not a file path")]
    NotAFile(PathBuf),
    /// A secret's temporary file did not get owner-only permissions.
    #[error("{path} has mode {mode:o}, not 600: refusing to write a secret into it")]
    Permissions {
        /// The temporary file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Replace `path` with `body` atomically and durably (temp file, fsync, rename, fsync the
/// directory), creating the directory if needed.
pub fn write(path: &Path, body: &[u8]) -> Result<(), WriteError> {
    write_with(path, body, None)
}

/// [`write`] for a secret: the file is created with mode 0600 and checked before the body goes in.
pub fn write_secret(path: &Path, body: &[u8]) -> Result<(), WriteError> {
    write_with(path, body, Some(0o600))
}

fn write_with(path: &Path, body: &[u8], mode: Option<u32>) -> Result<(), WriteError> {
    let name = path
        .file_name()
        .ok_or_else(|| WriteError::NotAFile(path.to_path_buf()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    // A temp file left by a killed writer (or put there by someone else, perhaps with wider
    // permissions or as a link) is removed, never written through.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("remove stale", &tmp)(e)),
    }
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if let Some(m) = mode {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(m);
    }
    let mut f = opts.open(&tmp).map_err(io("create", &tmp))?;
    let result = (|| {
        #[cfg(unix)]
        if let Some(m) = mode {
            use std::os::unix::fs::PermissionsExt;
            let got = f.metadata().map_err(io("stat", &tmp))?.permissions().mode() & 0o777;
            // The umask may only narrow the mode; anything beyond `m` is refused.
            if got & !m != 0 {
                return Err(WriteError::Permissions {
                    path: tmp.clone(),
                    mode: got,
                });
            }
        }
        f.write_all(body).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("fsync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(io("rename into place", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync directory", dir))
}

/// Append `bytes` to the log file `f` in one write; with `sync`, fsync its data before returning.
pub fn append(f: &mut File, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    f.write_all(bytes)?;
    if sync {
        f.sync_data()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]
    use super::*;

    #[test]
    fn write_replaces_the_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("plan.json");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("plan.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_never_inherits_a_wider_stale_temp_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wallet.mnemonic");
        // A temp file from earlier, world-readable, already holding something.
        let tmp = dir.path().join("wallet.mnemonic.tmp");
        std::fs::write(&tmp, b"stale").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&p, b"words").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"words");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!tmp.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_is_not_written_through_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, b"untouched").unwrap();
        let p = dir.path().join("k.key");
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("k.key.tmp")).unwrap();
        write_secret(&p, b"secret").unwrap();
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"untouched");
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        assert!(matches!(
            write(Path::new("/"), b"x"),
            Err(WriteError::NotAFile(_))
        ));
    }

    #[test]
    fn append_adds_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .unwrap();
        append(&mut f, b"ab", true).unwrap();
        append(&mut f, b"cd", false).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abcd");
    }
}
