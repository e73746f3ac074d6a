//! What was filed, kept. `cipwatch filed` copies the exact documents of the filed draft (the
//! report's Markdown, HTML, JSON and PDF, and the unmasked filing copy where the run made one)
//! into `<out>/filings/<reference>/`, owner-only, flushed, each with its SHA-256 in the filing log.
//! Nothing else in cipwatch writes or removes that folder: a rerun replaces a run folder, never
//! the archive. The same reference filed again is a correction, archived beside the first under
//! `correction-<n>/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result};
use crate::fingerprint::sha256_bytes;
use crate::sinks::publish::{create_private_dir, sync_dir, sync_file};

/// The archive's folder in the output folder.
pub const FILINGS_DIR: &str = "filings";

/// Where one filing was archived: its folder (relative to the output folder), each document
/// (relative to it) with its SHA-256, and whether it corrects an earlier filing of the reference.
#[derive(Debug)]
pub struct Archived {
    pub folder: String,
    pub documents: BTreeMap<String, String>,
    pub correction: bool,
}

/// Archives the files of the `sources` folders (relative to the run folder `run`: the report's
/// folder and its unmasked filing copy's; one that does not exist is skipped) under
/// `filings/<name>` (`name`: the reference as a safe folder name).
///
/// Errors: internal (exit 1) when a file cannot be read or written.
pub fn archive(out: &Path, run: &Path, sources: &[String], name: &str) -> Result<Archived> {
    let base = PathBuf::from(FILINGS_DIR).join(name);
    let (folder, correction) = free_folder(out, &base);
    let staging = out
        .join(FILINGS_DIR)
        .join(format!(".staging-{}", std::process::id()));
    create_private_dir(&staging)?;
    let mut documents = BTreeMap::new();
    for source in sources {
        let dir = run.join(source);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        for path in names {
            let rel = format!(
                "{source}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let bytes = std::fs::read(&path).or_internal(format!("reading {rel}"))?;
            let target = staging.join(&rel);
            create_private_dir(target.parent().unwrap_or(&staging))?;
            crate::sinks::tables::write_bytes(&bytes, &target)?;
            sync_file(&target)?;
            documents.insert(rel, sha256_bytes(&bytes));
        }
    }
    let target = out.join(&folder);
    create_private_dir(target.parent().unwrap_or(out))?;
    std::fs::rename(&staging, &target)
        .or_internal(format!("archiving into {}", target.display()))?;
    sync_dir(target.parent().unwrap_or(out))?;
    Ok(Archived {
        folder: folder.display().to_string(),
        documents,
        correction,
    })
}

/// The first folder not yet taken: `base` itself, else `base/correction-<n>` (the same reference
/// filed again).
fn free_folder(out: &Path, base: &Path) -> (PathBuf, bool) {
    if !out.join(base).exists() {
        return (base.to_path_buf(), false);
    }
    let n = (1..)
        .find(|n| !out.join(base).join(format!("correction-{n}")).exists())
        .unwrap_or(1);
    (base.join(format!("correction-{n}")), true)
}
