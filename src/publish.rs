//! Publishing a run: every output is written into a private staging folder next to its final place
//! (`<out>/.staging-<as-of>-<pid>`), the staged outputs are checked, `_SUCCESS` is written last, and
//! only then is the folder renamed to `<out>/<as-of>`. A previous run of the same date is exchanged
//! with the new one in one atomic step (Linux `renameat2`), so a reader sees either the old complete
//! folder or the new one, never neither; a run that dies leaves only a hidden `.staging-*` folder,
//! which the next run sweeps away.

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};

/// A staging folder being filled.
pub struct Staging {
    pub dir: PathBuf,
    final_dir: PathBuf,
    root: PathBuf,
}

/// Marker written last into a complete output folder.
pub const SUCCESS: &str = "_SUCCESS";

impl Staging {
    /// Creates `<root>/.staging-<name>-<pid>` (owner-only), removing stale staging folders of dead
    /// runs for the same name.
    pub fn begin(root: &Path, name: &str) -> Result<Staging> {
        create_private_dir(root)?;
        owner_only(root)?;
        sweep_stale(root, name)?;
        let dir = root.join(format!(".staging-{name}-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).or_internal(format!("clearing {}", dir.display()))?;
        }
        create_private_dir(&dir)?;
        Ok(Staging {
            dir,
            final_dir: root.join(name),
            root: root.to_path_buf(),
        })
    }

    /// A path inside the staging folder, creating its parent folders.
    pub fn path(&self, relative: &str) -> Result<PathBuf> {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            create_private_dir(parent)?;
        }
        Ok(path)
    }

    /// Checks that every expected file is staged, writes `_SUCCESS`, and swaps the folder in.
    pub fn commit(self, expected: &[String]) -> Result<PathBuf> {
        for relative in expected {
            if !self.dir.join(relative).is_file() {
                return Err(Error::Internal(format!(
                    "staged output {relative} is missing; nothing published"
                )));
            }
        }
        crate::sinks::tables::write_bytes(b"", &self.dir.join(SUCCESS))?;
        if !self.final_dir.exists() {
            std::fs::rename(&self.dir, &self.final_dir)
                .or_internal(format!("publishing {}", self.final_dir.display()))?;
        } else if !exchange(&self.dir, &self.final_dir) {
            let aside = self.root.join(format!(
                ".replaced-{}-{}",
                file_name(&self.final_dir),
                std::process::id()
            ));
            std::fs::rename(&self.final_dir, &aside)
                .or_internal(format!("moving aside {}", self.final_dir.display()))?;
            std::fs::rename(&self.dir, &self.final_dir)
                .or_internal(format!("publishing {}", self.final_dir.display()))?;
            std::fs::remove_dir_all(&aside).or_internal(format!("removing {}", aside.display()))?;
        }
        // After an exchange the staging folder holds the previous outputs: Drop removes them.
        Ok(self.final_dir.clone())
    }
}

impl Drop for Staging {
    /// A staging folder that was not committed (an error part-way) is removed.
    fn drop(&mut self) {
        if self.dir.exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Swaps two folders in one atomic step (Linux `renameat2(RENAME_EXCHANGE)`), so that the date's
/// folder is never absent; false where the system cannot, and the caller falls back to two renames.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(a), Ok(b)) = (
        std::ffi::CString::new(a.as_os_str().as_bytes()),
        std::ffi::CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        ) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Creates a folder (and parents) with owner-only permissions.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .or_internal(format!("creating {}", dir.display()))
}

/// Makes an existing folder (the output root, which may have been made by someone else) readable
/// by its owner only: it holds the run history and the knowledge clock.
fn owner_only(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .or_internal(format!("making {} private", dir.display()))?;
    }
    Ok(())
}

/// Removes `.staging-<name>-<pid>` and `.replaced-<name>-<pid>` folders whose process is gone.
fn sweep_stale(root: &Path, name: &str) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let pid = [format!(".staging-{name}-"), format!(".replaced-{name}-")]
            .iter()
            .find_map(|prefix| {
                file.strip_prefix(prefix.as_str())
                    .and_then(|rest| rest.parse::<u32>().ok())
            });
        if let Some(pid) = pid {
            if !process_alive(pid) {
                std::fs::remove_dir_all(entry.path())
                    .or_internal(format!("removing stale {}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_the_previous_folder_and_leaves_no_staging() {
        let root = tempfile::tempdir().unwrap();
        for content in ["first", "second"] {
            let s = Staging::begin(root.path(), "2026-11-26").unwrap();
            crate::sinks::tables::write_bytes(content.as_bytes(), &s.path("a/b.txt").unwrap())
                .unwrap();
            s.commit(&["a/b.txt".into()]).unwrap();
        }
        let final_dir = root.path().join("2026-11-26");
        assert_eq!(
            std::fs::read_to_string(final_dir.join("a/b.txt")).unwrap(),
            "second"
        );
        assert!(final_dir.join(SUCCESS).is_file());
        let names: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, ["2026-11-26"]);
    }

    #[test]
    fn a_missing_output_publishes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let s = Staging::begin(root.path(), "d").unwrap();
        assert!(s.commit(&["absent.csv".into()]).is_err());
        assert!(!root.path().join("d").exists());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }
}
