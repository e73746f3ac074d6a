//! One writer per output folder: `<out>/.cipwatch.lock` is created exclusively and holds the owner's
//! process id and host. A second run fails with a message naming the holder; a lock left by a process
//! that no longer exists (killed, machine rebooted) is recognised as stale and taken over.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const LOCK_FILE: &str = ".cipwatch.lock";

/// Held for the lifetime of a run; the file is removed on drop.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    pub fn acquire(out: &Path) -> Result<Lock> {
        crate::publish::create_private_dir(out)?;
        let path = out.join(LOCK_FILE);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    let holder = format!("pid={} host={}\n", std::process::id(), host());
                    file.write_all(holder.as_bytes())
                        .map_err(|e| Error::internal("writing the lock", e))?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    if holder_alive(&holder) {
                        return Err(Error::Busy(format!(
                            "{} is locked by another cipwatch run ({}); wait for it or, if it is gone, remove the lock file",
                            out.display(),
                            holder.trim()
                        )));
                    }
                    tracing::warn!(lock = %path.display(), holder = holder.trim(), "removing a stale lock");
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(Error::internal(format!("creating {}", path.display()), e)),
            }
        }
        Err(Error::Busy(format!(
            "{} could not be locked",
            out.display()
        )))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// A holder on this host is alive if its process exists; one on another host is assumed alive.
fn holder_alive(holder: &str) -> bool {
    let field = |k: &str| {
        holder
            .split_whitespace()
            .find_map(|f| f.strip_prefix(k))
            .map(str::to_string)
    };
    match (field("pid="), field("host=")) {
        (Some(pid), Some(h)) if h == host() => Path::new(&format!("/proc/{pid}")).exists(),
        (Some(_), Some(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_lock_blocks_and_a_stale_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let held = Lock::acquire(dir.path()).unwrap();
        let err = Lock::acquire(dir.path())
            .err()
            .expect("second lock refused")
            .to_string();
        assert!(
            err.contains(&format!("pid={}", std::process::id())),
            "{err}"
        );
        drop(held);
        std::fs::write(
            dir.path().join(LOCK_FILE),
            format!("pid=4194304999 host={}\n", host()),
        )
        .unwrap();
        assert!(
            Lock::acquire(dir.path()).is_ok(),
            "a lock of a dead process is stale"
        );
    }
}
