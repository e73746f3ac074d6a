//! Publishing a run: every output is written into a private staging folder next to its final place
//! (`<out>/.staging-<as-of>-<pid>`), the staged outputs are checked, `_SUCCESS` is written last, and
//! only then is the folder renamed to `<out>/<as-of>`. A previous run of the same date is exchanged
//! with the new one in one atomic step (Linux `renameat2`), so a reader sees either the old complete
//! folder or the new one, never neither. Where the system cannot exchange, two renames move the old
//! folder aside (`.replaced-<name>-<pid>`) and the new one in; a run killed between them leaves the
//! date absent until the next run, which puts the old folder back (`recover`). Every staged file and
//! folder is flushed to disk (`fsync`) before the swap, and the output folder after it, so a crash
//! cannot publish a folder whose files are not on disk. A run that dies leaves only hidden folders,
//! which the next run sweeps away.
//!
//! Test hooks, honoured by debug builds only: `CIPWATCH_TEST_PAUSE_AT=<step>` stops the run at a
//! named step (`PAUSE_STEPS`) so a test can kill it there, and `CIPWATCH_TEST_NO_EXCHANGE=1` takes
//! the two-rename path.

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
    /// Creates `<root>/.staging-<name>-<pid>` (owner-only), after `recover` has cleaned up after
    /// dead runs. The caller holds the output folder's lock.
    pub fn begin(root: &Path, name: &str) -> Result<Staging> {
        create_private_dir(root)?;
        owner_only_unless_shared(root)?;
        recover(root)?;
        refuse_foreign(&root.join(name))?;
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

    /// Checks that every expected file is staged, flushes them to disk, writes `_SUCCESS`, and
    /// swaps the folder in.
    pub fn commit(self, expected: &[String]) -> Result<PathBuf> {
        for relative in expected {
            if !self.dir.join(relative).is_file() {
                return Err(Error::bug(format!(
                    "staged output {relative} is missing; nothing published"
                )));
            }
        }
        sync_tree(&self.dir)?;
        pause_at("staged");
        let success = self.dir.join(SUCCESS);
        crate::sinks::tables::write_bytes(b"", &success)?;
        sync_file(&success)?;
        sync_dir(&self.dir)?;
        pause_at("success");
        if !self.final_dir.exists() {
            std::fs::rename(&self.dir, &self.final_dir)
                .or_internal(format!("publishing {}", self.final_dir.display()))?;
            sync_dir(&self.root)?;
        } else if !exchange(&self.dir, &self.final_dir) {
            self.swap_by_two_renames()?;
        } else {
            sync_dir(&self.root)?;
        }
        pause_at("swapped");
        // After an exchange the staging folder holds the previous outputs: Drop removes them.
        Ok(self.final_dir.clone())
    }

    /// The fallback swap: the previous folder aside, the new one in, the previous one removed.
    fn swap_by_two_renames(&self) -> Result<()> {
        let aside = self.root.join(format!(
            ".replaced-{}-{}",
            file_name(&self.final_dir),
            std::process::id()
        ));
        std::fs::rename(&self.final_dir, &aside)
            .or_internal(format!("moving aside {}", self.final_dir.display()))?;
        sync_dir(&self.root)?;
        pause_at("moved_aside");
        std::fs::rename(&self.dir, &self.final_dir)
            .or_internal(format!("publishing {}", self.final_dir.display()))?;
        sync_dir(&self.root)?;
        pause_at("renamed_in");
        std::fs::remove_dir_all(&aside).or_internal(format!("removing {}", aside.display()))
    }
}

/// Refuses (usage, exit 2) to replace what is at a run folder's place unless it is a run folder
/// cipwatch published (a real folder holding [`SUCCESS`]): a file, a link or someone's own folder
/// there is left as it is.
fn refuse_foreign(final_dir: &Path) -> Result<()> {
    match std::fs::symlink_metadata(final_dir) {
        Err(_) => Ok(()),
        Ok(m) if m.file_type().is_dir() && final_dir.join(SUCCESS).is_file() => Ok(()),
        Ok(_) => Err(Error::Usage(format!(
            "{} exists and is not a run folder cipwatch published (a folder holding {SUCCESS}); \
             it is left as it is: move it away or choose another output folder",
            final_dir.display()
        ))),
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
/// folder is never absent; false where the system cannot (or a debug build's test asks it not to:
/// `CIPWATCH_TEST_NO_EXCHANGE=1`), and the caller falls back to two renames.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(a), Ok(b)) = (
        std::ffi::CString::new(a.as_os_str().as_bytes()),
        std::ffi::CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    if cfg!(debug_assertions)
        && crate::config::env::get(crate::config::env::TEST_NO_EXCHANGE).is_some()
    {
        return false;
    }
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

/// Makes an existing output folder (which may have been made by someone else) readable by its
/// owner only, with a warning: it holds the run history and the knowledge clock. A folder shared
/// with a group on purpose (group-writable, or setgid so that files inherit its group) is left as
/// it is, with a warning: its permissions are its owner's decision, and everything cipwatch writes
/// inside is owner-only anyway (folders 0700, files 0600). A folder every user may write to is
/// refused before the run (`plan`).
///
/// Errors: internal when the permissions cannot be changed.
fn owner_only_unless_shared(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_or(0, |m| m.permissions().mode()) & 0o7777;
        if mode & 0o077 == 0 {
            return Ok(());
        }
        let shown = crate::pii::redact(&dir.display().to_string()).into_owned();
        if mode & 0o2020 != 0 {
            tracing::warn!(
                "{shown} is shared with its group (mode {mode:o}): left as it is; cipwatch's files and folders inside are owner-only"
            );
            return Ok(());
        }
        tracing::warn!("{shown} could be read by others (mode {mode:o}): made owner-only (700)");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .or_internal(format!("making {} private", dir.display()))?;
    }
    Ok(())
}

/// Cleans up after runs that died, called by the lock holder (so every other run's hidden folder
/// is a dead run's, whatever its process id): a `.replaced-<name>-<pid>` folder whose `<name>` is
/// absent (killed between the two renames) is put back; every other `.staging-*` and `.replaced-*`
/// folder not of this process (the PDF scratch `.staging-pdf…-<pid>` too) is removed, or left with
/// a warning when it cannot be removed yet (a dead run's browser still writing into it).
pub fn recover(root: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(());
    };
    let own = format!("-{}", std::process::id());
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some((kind, rest)) = [".staging-", ".replaced-"]
            .iter()
            .find_map(|k| file.strip_prefix(k).map(|rest| (*k, rest)))
        else {
            continue;
        };
        let Some((name, pid)) = rest.rsplit_once('-') else {
            continue;
        };
        if pid.parse::<u32>().is_err() || rest.ends_with(&own) {
            continue;
        }
        // Only real folders are ours: a link planted here is neither restored nor followed.
        let real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !real_dir {
            tracing::warn!(
                kind,
                "left alone: a hidden entry of the output folder that is not a folder"
            );
            continue;
        }
        let final_dir = root.join(name);
        if kind == ".replaced-" && !final_dir.exists() {
            tracing::warn!(
                folder = name,
                "restoring a published run that a killed run had moved aside"
            );
            std::fs::rename(entry.path(), &final_dir)
                .or_internal(format!("restoring {}", final_dir.display()))?;
            sync_dir(root)?;
        } else if let Err(e) = std::fs::remove_dir_all(entry.path()) {
            // A dead run's browser may still be writing its PDF scratch: left for the next run.
            tracing::warn!(
                kind,
                "a dead run's hidden folder could not be removed yet: {e}"
            );
        }
    }
    Ok(())
}

/// Replaces `dir/name` with `bytes` atomically: written (0600) to a temporary file beside it,
/// flushed, renamed over the old one, and the folder flushed. The one way cipwatch rewrites its
/// own files in the output folder (`knowledge.json`, `status.json`).
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    crate::sinks::tables::write_bytes(bytes, &tmp)?;
    sync_file(&tmp)?;
    std::fs::rename(&tmp, dir.join(name)).or_internal(format!("saving {name}"))?;
    sync_dir(dir)
}

/// Flushes a file's content to disk.
pub fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .or_internal(format!("flushing {}", path.display()))
}

/// Flushes a folder's entries (names created, renamed or removed in it) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .or_internal(format!("flushing folder {}", dir.display()))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Flushes every file and folder below `dir` (and `dir` itself) to disk.
fn sync_tree(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).or_internal(format!("listing {}", dir.display()))?;
    for entry in entries {
        let path = entry.or_internal("listing staged files")?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            sync_file(&path)?;
        }
    }
    sync_dir(dir)
}

/// The names of the publish steps a debug build can be paused at (`CIPWATCH_TEST_PAUSE_AT`), in
/// order: every output staged and flushed; `_SUCCESS` written; the fallback's previous folder moved
/// aside and new folder renamed in; the new folder in place; published, before the knowledge state
/// is saved; the knowledge state saved, before `runs.jsonl`.
pub const PAUSE_STEPS: &[&str] = &[
    "staged",
    "success",
    "moved_aside",
    "renamed_in",
    "swapped",
    "published",
    "knowledge_saved",
];

/// Test hook: in a debug build with `CIPWATCH_TEST_PAUSE_AT=<step>`, prints `paused at <step>` on
/// stderr and sleeps until killed. Release builds compile it to nothing.
pub fn pause_at(step: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    if crate::config::env::text(crate::config::env::TEST_PAUSE_AT).as_deref() == Some(step) {
        eprintln!("cipwatch-test: paused at {step}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In an output folder the staging folder is private and named like every scratch folder
    /// the next run sweeps: once its process is gone (another pid), `publish::recover` removes it.
    #[test]
    fn a_dead_runs_staging_folder_is_private_and_swept_by_the_next_run() {
        let out = tempfile::tempdir().unwrap();
        let staging = crate::transforms::billed::staged::Staging::new(Some(out.path())).unwrap();
        let dir = staging.folder().to_path_buf();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".staging-usage"), "{name}");
        assert!(
            name.ends_with(&format!("-{}", std::process::id())),
            "{name}"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&dir).unwrap().permissions(),
        );
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        // The same folder left by a process that died (another pid).
        let dead = out.path().join(".staging-usageXYZ-4294967");
        std::fs::rename(&dir, &dead).unwrap();
        recover(out.path()).unwrap();
        assert!(!dead.exists());
    }

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
