//! One writer per output folder: `<out>/.cipwatch.lock` (owner-only, 0600) is held with an OS
//! advisory lock (`flock`, through `fs4`) for the whole run and names its holder's process and host.
//! The kernel releases the lock when its holder dies, however it dies, so a lock file left behind by
//! a killed run is simply locked again: no process-id check, so no race between two runs taking
//! over the same stale lock and no mistake when the dead holder's process id has been reused.

use fs4::FileExt;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};

pub const LOCK_FILE: &str = ".cipwatch.lock";

/// Held for the lifetime of a run; on drop the file is removed while still locked, then unlocked.
pub struct Lock {
    path: PathBuf,
    file: File,
}

/// The files cipwatch keeps in an output folder, besides the run folders.
const OWN_FILES: [&str; 5] = [
    LOCK_FILE,
    crate::state::history::RUNS,
    crate::state::history::KNOWLEDGE,
    crate::state::filings::FILINGS,
    crate::state::filings::FOLDER_KEY,
];

/// Refuses (usage, exit 2) an output folder where one of cipwatch's own files exists as something
/// other than a regular file — a symbolic link, a folder —, before anything is written: following a
/// link would write elsewhere, and finding out while publishing would leave a run half recorded.
fn refuse_odd_own_files(out: &Path) -> Result<()> {
    for name in OWN_FILES {
        let path = out.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if !m.file_type().is_file() => {
                return Err(Error::Usage(format!(
                    "{} is {}, not a regular file: cipwatch keeps its own files there; remove it or choose another output folder",
                    path.display(),
                    if m.file_type().is_symlink() { "a symbolic link" } else { "not a file" }
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

impl Lock {
    /// Takes the lock of `out` (creating the folder), or fails with exit 5 naming the holder.
    pub fn acquire(out: &Path) -> Result<Lock> {
        crate::sinks::publish::create_private_dir(out)?;
        refuse_odd_own_files(out)?;
        let path = out.join(LOCK_FILE);
        // A holder that is releasing removes the file before unlocking it: a lock taken on that
        // removed file is worthless, so check that the path still names the file locked.
        for _ in 0..8 {
            let mut file = open_private(&path)?;
            match FileExt::try_lock(&file) {
                Ok(()) => {}
                Err(fs4::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    return Err(Error::Busy(format!(
                        "{} is locked by another cipwatch run ({})",
                        out.display(),
                        holder_text(&holder)
                    )));
                }
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(Error::internal(format!("locking {}", path.display()), e))
                }
            }
            if !same_file(&file, &path) {
                continue;
            }
            let holder = format!("pid={} host={}\n", std::process::id(), host());
            file.set_len(0)
                .and_then(|_| file.rewind())
                .and_then(|_| file.write_all(holder.as_bytes()))
                .and_then(|_| file.sync_all())
                .or_internal(format!("writing {}", path.display()))?;
            return Ok(Lock { path, file });
        }
        Err(Error::Busy(format!(
            "{} could not be locked: its lock file keeps being replaced",
            out.display()
        )))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = FileExt::unlock(&self.file);
    }
}

/// Opens (creating, owner-only) the lock file without truncating what a holder wrote.
fn open_private(path: &Path) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A link planted in the output folder is refused, not followed.
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options
        .open(path)
        .or_internal(format!("opening {}", path.display()))
}

/// Whether `path` still names the open `file` (same device and inode).
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// The holder as the lock file names it (`pid=… host=…`), or a note when it has not written yet.
fn holder_text(holder: &str) -> String {
    match holder.trim() {
        "" => "holder not yet recorded".to_string(),
        h => h.to_string(),
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`), or `unknown`.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_blocks_and_a_left_lock_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let held = Lock::acquire(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(LOCK_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = Lock::acquire(dir.path())
            .err()
            .expect("second lock refused")
            .to_string();
        assert!(
            err.contains(&format!("pid={}", std::process::id())) && err.contains("host="),
            "{err}"
        );
        drop(held);
        assert!(!dir.path().join(LOCK_FILE).exists(), "released on drop");
        // A file naming a live process (this one: a reused process id) but not locked is free.
        std::fs::write(
            dir.path().join(LOCK_FILE),
            format!("pid={} host={}\n", std::process::id(), host()),
        )
        .unwrap();
        assert!(
            Lock::acquire(dir.path()).is_ok(),
            "an unlocked file is stale"
        );
    }
}
