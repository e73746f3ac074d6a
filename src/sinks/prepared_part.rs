//! Writing one part of a prepared dataset (the contract is `sources::prepared_dataset`): its tables as
//! Parquet and its manifest, into a hidden folder beside the part's place, flushed to disk, marked
//! complete, then renamed into place (a part of the same name is replaced), so a reader sees a
//! part whole or not at all, and engines running one stage 1 per file in parallel never touch
//! each other's folders. Files are 0600 and folders 0700. Unlike the published tables, values are
//! written as stage 1 read them (account and resource ids are the join keys of stage 2); the
//! quarantine table's original values are masked, as in a run's output. The folder `DIR/parts/`
//! is never reached through a symbolic link, and only folders that are parts (`part.json` and
//! `_SUCCESS`) are ever removed from it: whatever else someone keeps there is left alone.

use polars::prelude::*;
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::fingerprint::sha256_bytes;
use crate::sinks::publish::{create_private_dir, sync_dir, sync_file};
use crate::sinks::tables::write_bytes;
use crate::sources::prepared_dataset::{PartManifest, COMPLETE, PARTS, PART_MANIFEST, TABLES};

/// Writes a part named `name` into `dir/parts/`, replacing a part of that name; with `only`, every
/// other part in `dir/parts/` is removed once this one is in place (`cipwatch stage1` without
/// `--part`: the folder then holds exactly this run's stage 1). `tables` are by file stem, every
/// one of `sources::prepared_dataset::TABLES`; the manifest records each one's SHA-256. Returns the part's
/// folder.
///
/// Errors: usage (exit 2) when `dir/parts` is a symbolic link or not a folder
/// ([`check_dataset_folder`]); internal (exit 1) when a folder or file cannot be written.
pub fn write_part(
    dir: &Path,
    name: &str,
    manifest: &PartManifest,
    tables: &mut [(&'static str, DataFrame)],
    only: bool,
) -> Result<PathBuf> {
    check_dataset_folder(dir)?;
    let parts = dir.join(PARTS);
    create_private_dir(&parts)?;
    let staging = parts.join(format!(".staging-{name}-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).or_internal(format!("clearing {}", staging.display()))?;
    }
    create_private_dir(&staging)?;
    debug_assert!(TABLES.iter().all(|t| tables.iter().any(|(n, _)| n == t)));
    let mut manifest = manifest.clone();
    for (stem, df) in tables.iter_mut() {
        // Encoded in memory, so the bytes hashed are the bytes written (no read-back).
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .finish(df)
            .or_internal(format!("encoding the {stem} table"))?;
        manifest
            .tables
            .insert(stem.to_string(), sha256_bytes(&bytes));
        write_bytes(&bytes, &staging.join(format!("{stem}.parquet")))?;
    }
    let json = serde_json::to_vec_pretty(&manifest).or_internal("part manifest")?;
    write_bytes(&json, &staging.join(PART_MANIFEST))?;
    write_bytes(b"", &staging.join(COMPLETE))?;
    sync_dir(&staging)?;
    let target = parts.join(name);
    replace(&staging, &target)?;
    if only {
        remove_others(&parts, name)?;
    }
    sync_dir(&parts)?;
    Ok(target)
}

/// Moves `new` to `target`, moving a previous `target` aside first and removing it after.
fn replace(new: &Path, target: &Path) -> Result<()> {
    let aside = target.with_file_name(format!(
        ".replaced-{}-{}",
        target.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let had = target.exists();
    if had {
        std::fs::rename(target, &aside)
            .or_internal(format!("moving aside {}", target.display()))?;
    }
    std::fs::rename(new, target).or_internal(format!("writing {}", target.display()))?;
    if had {
        std::fs::remove_dir_all(&aside).or_internal(format!("removing {}", aside.display()))?;
    }
    sync_file(&target.join(COMPLETE))
}

/// Checks that `dir` can hold a prepared dataset without cipwatch writing or removing anything
/// outside it: `dir/parts`, where it exists, must be a folder and not a symbolic link (stage 1
/// replaces and removes parts inside it, which through a link would touch another folder).
///
/// Errors: usage (exit 2) naming `dir/parts` when it is a link or not a folder.
pub fn check_dataset_folder(dir: &Path) -> Result<()> {
    let parts = dir.join(PARTS);
    let Ok(meta) = std::fs::symlink_metadata(&parts) else {
        return Ok(());
    };
    let problem = if meta.file_type().is_symlink() {
        "is a symbolic link"
    } else if !meta.is_dir() {
        "is not a folder"
    } else {
        return Ok(());
    };
    Err(Error::Usage(format!(
        "--prepared {}: {} {problem}; a prepared dataset's parts/ must be a folder of its own (nothing was written)",
        dir.display(),
        parts.display()
    )))
}

/// Whether `path` is a part cipwatch wrote: a folder (not a link to one) holding `part.json` and
/// `_SUCCESS` as regular files.
fn is_part(path: &Path) -> bool {
    let regular = |name: &str| {
        std::fs::symlink_metadata(path.join(name)).is_ok_and(|m| m.file_type().is_file())
    };
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir())
        && regular(PART_MANIFEST)
        && regular(COMPLETE)
}

/// Removes every part of `parts` but `keep`. Only visible folders that are parts ([`is_part`])
/// are removed: another writer's hidden staging folder, links and folders that are not parts are
/// left alone (with a warning naming them).
fn remove_others(parts: &Path, keep: &str) -> Result<()> {
    let entries = std::fs::read_dir(parts).or_internal(format!("listing {}", parts.display()))?;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        if file == keep || file.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if is_part(&path) {
            std::fs::remove_dir_all(&path).or_internal(format!("removing {}", path.display()))?;
        } else {
            tracing::warn!(
                "{} is not a part of the prepared dataset: left as it is",
                crate::pii::redact(&path.display().to_string())
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_part_is_complete_by_the_same_marker_as_a_published_run() {
        assert_eq!(
            crate::sources::prepared_dataset::COMPLETE,
            crate::sinks::publish::SUCCESS
        );
    }
}
