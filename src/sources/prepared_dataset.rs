//! The prepared dataset: stage 1's output (every billing row read, checked, identified and counted)
//! written to disk so that stage 2 (`cipwatch run --prepared DIR`) can run from it on one machine,
//! whichever engine made it (`cipwatch stage1`, or the Spark driver in `engines/spark/` running
//! `cipwatch stage1 --part` once per billing file). This module is the contract's one definition:
//! the folder layout, the file names, the part manifest and its version, and the reader. The
//! writer is `sinks::prepared_part`.
//!
//! ```text
//! DIR/parts/<part>/part.json                 PartManifest: version, generator, parameters, files
//!                 /accelerator_usage.parquet merged accelerator usage (compaction)
//!                 /accelerator_keys.parquet  row_id, _row, merged_row_id of each accelerator row
//!                 /quarantined.parquet       row_id, _source_file, _row, _rule, _reason
//!                 /quarantine.parquet        the quarantine table with masked original values
//!                 /totals.parquet            per currency as read: rows and exact-sum limbs
//!                 /egress.parquet            per account as read: exact-sum limbs of egress GB
//!                 /charge_days.parquet       plain rows per charge day
//!                 /_SUCCESS                  written last; a part without it is ignored
//! ```
//! `row_id` counts from 0 within a part; stage 2 orders the parts by their first file's path (as
//! a single-machine run orders the billing files) and adds each part's offset.
//!
//! Parts are checked against each other and against the billing files before stage 2 uses them:
//! a part whose local billing file no longer exists or has another size now, or two parts holding
//! a file of the same name, is stale (its file was deleted, replaced or staged again) and refused
//! (exit 4) naming the part, rather than counting a month twice. Files recorded under a URI
//! (`--source-name s3a://…`) live elsewhere and are not checked here.

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::files::{Format, InputFile};
use crate::error::{Error, Result};
use crate::fingerprint::sha256_reader;

/// The contract's version: stage 2 refuses a part of another version (exit 4).
pub const VERSION: u32 = 2;
/// The folder of the parts inside a prepared dataset.
pub const PARTS: &str = "parts";
/// Written last into a complete part (as into a published run folder); a part without it is ignored.
pub const COMPLETE: &str = "_SUCCESS";
/// The part manifest's file name.
pub const PART_MANIFEST: &str = "part.json";
/// The tables of a part, by file stem.
pub const TABLES: [&str; 7] = [
    "accelerator_usage",
    "accelerator_keys",
    "quarantined",
    "quarantine",
    "totals",
    "egress",
    "charge_days",
];

/// One billing file of a part: where it was read, what it held, and how many rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartFile {
    /// The path stage 1 read (for reading it again, and ordering the parts).
    pub path: PathBuf,
    /// The path as the run shows it (relative to the configuration's folder).
    pub display: String,
    pub sha256: String,
    pub bytes: u64,
    /// `focus` or a native format's name.
    pub format: String,
}

/// `part.json`: what a part was made of and under which definitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartManifest {
    pub version: u32,
    /// `cipwatch <version> (polars <version>)`.
    pub generator: String,
    /// What stage 1's result depends on, each by SHA-256 (`billing_options`, `billing_format`,
    /// `mappings`, `catalog`): stage 2 refuses a part made under other definitions.
    pub parameters: BTreeMap<String, String>,
    /// The part's files, in the order they were read (`row_id` runs over them in this order).
    pub files: Vec<PartFile>,
    /// Rows read from the part's files (every row, used or quarantined).
    pub rows_read: u64,
    /// Each table's file stem → the SHA-256 of its Parquet file, checked when stage 2 reads it.
    pub tables: BTreeMap<String, String>,
}

/// One part as found: its manifest and its tables by file stem, as Parquet scans (checked against
/// the manifest's SHA-256, not yet read: stage 2 reads the accelerator keys only if it must
/// quarantine accelerator rows).
pub struct Part {
    pub dir: PathBuf,
    pub manifest: PartManifest,
    pub tables: BTreeMap<&'static str, LazyFrame>,
}

/// Finds every part of the prepared dataset in `dir`, ordered by their first file's path, each
/// table checked against its SHA-256.
///
/// Errors (exit 4, the dataset is the reference data of stage 2): no such folder, no complete
/// part, a manifest or table that cannot be read, a part of another contract version, a stale
/// part.
pub fn read(dir: &Path) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    for (part_dir, manifest) in manifests(dir)? {
        let mut tables = BTreeMap::new();
        for name in TABLES {
            let path = part_dir.join(format!("{name}.parquet"));
            let hash = std::fs::File::open(&path)
                .and_then(sha256_reader)
                .map_err(|e| unreadable(&path, &e))?;
            if manifest.tables.get(name) != Some(&hash) {
                return Err(Error::Reference(format!(
                    "prepared dataset: {} is not the table its part.json records (altered or replaced after stage 1); make the prepared dataset again",
                    path.display()
                )));
            }
            let path_text = path.to_string_lossy().to_string();
            let lf = LazyFrame::scan_parquet(PlRefPath::new(path_text), Default::default())
                .map_err(|e| unreadable(&path, &e))?;
            tables.insert(name, lf);
        }
        parts.push(Part {
            dir: part_dir,
            manifest,
            tables,
        });
    }
    Ok(parts)
}

/// The billing files the parts of the prepared dataset in `dir` were made from, in order, as
/// the plan's billing inputs (not opened: they may live where only stage 1 ran).
///
/// Errors: as [`read`]'s for the manifests.
pub fn billing_files(dir: &Path) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for (_, manifest) in manifests(dir)? {
        for f in manifest.files {
            files.push(InputFile {
                format: Format::of(&f.path).unwrap_or(Format::Parquet),
                path: f.path,
                display: f.display,
                sha256: f.sha256,
                bytes: f.bytes,
                layout: None,
                origin: None,
            });
        }
    }
    Ok(files)
}

/// Every complete part's folder and manifest, ordered by the parts' first file's path.
fn manifests(dir: &Path) -> Result<Vec<(PathBuf, PartManifest)>> {
    let parts_dir = dir.join(PARTS);
    let entries = std::fs::read_dir(&parts_dir).map_err(|e| {
        Error::Reference(format!(
            "prepared dataset {}: cannot list {PARTS}/ ({e}); make it with `cipwatch stage1 --prepared {}`",
            dir.display(),
            dir.display()
        ))
    })?;
    let mut parts = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        // A hidden folder is a part being written (or a writer that died): not part of the data.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if !path.join(COMPLETE).is_file() {
            return Err(Error::Reference(format!(
                "prepared dataset {}: part {} is incomplete (no {COMPLETE}): its stage 1 did not finish; make the prepared dataset again",
                dir.display(),
                path.display()
            )));
        }
        let manifest = read_manifest(&path)?;
        parts.push((path, manifest));
    }
    if parts.is_empty() {
        return Err(Error::Reference(format!(
            "prepared dataset {} holds no complete part",
            dir.display()
        )));
    }
    parts.sort_by(|a, b| first_path(&a.1).cmp(first_path(&b.1)));
    check_current(dir, &parts)?;
    Ok(parts)
}

/// Refuses a stale part: one whose local billing file is gone or has another size than when it
/// was staged, or one holding a file another part holds too (by its shown name).
fn check_current(dir: &Path, parts: &[(PathBuf, PartManifest)]) -> Result<()> {
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for (part, manifest) in parts {
        for file in &manifest.files {
            if let Some(problem) = changed_since_staged(file) {
                return Err(stale(
                    dir,
                    part,
                    format!("its billing file {} {problem}", file.display),
                ));
            }
            if let Some(other) = seen.insert(&file.display, part) {
                let problem = format!(
                    "it holds {} as part {} does: the file was staged twice (once before it changed?)",
                    file.display,
                    other.display()
                );
                return Err(stale(dir, part, problem));
            }
        }
    }
    Ok(())
}

/// How a part's local billing file differs from what stage 1 read, if it does: gone, or another
/// size. `None` too for a file recorded under a URI, which lives elsewhere.
fn changed_since_staged(file: &PartFile) -> Option<String> {
    if file.display.contains("://") {
        return None;
    }
    match std::fs::metadata(&file.path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("({}) no longer exists", file.path.display()))
        }
        Ok(meta) if meta.len() != file.bytes => Some(format!(
            "was replaced ({} bytes now, {} when staged)",
            meta.len(),
            file.bytes
        )),
        _ => None,
    }
}

/// The error of a stale part.
fn stale(dir: &Path, part: &Path, problem: String) -> Error {
    Error::Reference(format!(
        "prepared dataset {}: part {} is stale: {problem}; remove the part or make the prepared dataset again",
        dir.display(),
        part.display()
    ))
}

fn unreadable(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Reference(format!("prepared dataset: {}: {e}", path.display()))
}

fn read_manifest(dir: &Path) -> Result<PartManifest> {
    let path = dir.join(PART_MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, &e))?;
    let manifest: PartManifest = serde_json::from_str(&text).map_err(|e| unreadable(&path, &e))?;
    if manifest.version != VERSION {
        return Err(Error::Reference(format!(
            "{}: prepared dataset version {} (this cipwatch reads version {VERSION}): make it again with this cipwatch's stage 1",
            dir.display(),
            manifest.version
        )));
    }
    Ok(manifest)
}

fn first_path(manifest: &PartManifest) -> &Path {
    manifest
        .files
        .first()
        .map(|f| f.path.as_path())
        .unwrap_or(Path::new(""))
}
