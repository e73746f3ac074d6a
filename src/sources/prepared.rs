//! The prepared dataset: stage 1's output (every billing row read, checked, identified and counted)
//! written to disk so that stage 2 (`cipwatch run --prepared DIR`) can run from it on one machine,
//! whichever engine made it (`cipwatch stage1`, or the Spark driver in `engines/spark/` running
//! `cipwatch stage1 --part` once per billing file). This module is the contract's one definition:
//! the folder layout, the file names, the part manifest and its version, and the reader. The
//! writer is `sinks::prepared`.
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

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::files::{Format, InputFile};
use crate::error::{Error, Result};
use crate::fingerprint::sha256_reader;

/// The contract's version: stage 2 refuses a part of another version (exit 4).
pub const VERSION: u32 = 1;
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
/// part, a manifest or table that cannot be read, a part of another contract version.
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
    Ok(parts)
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
