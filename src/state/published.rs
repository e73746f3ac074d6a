//! A published run folder read back: `diff` compares two, `explain` explains an account from one,
//! and a run that republishes an as-of date compares its due dates with the folder it replaces.
//! A run is complete when its folder holds `_SUCCESS`; its manifest and tables are what that run
//! published (masked as published), never recomputed.

use polars::prelude::*;
use serde::de::DeserializeOwned;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sinks::publish::SUCCESS;
use crate::transforms::rows::{accounts_records, records};

/// The complete runs directly under `out` (each as-of date's folder), oldest first.
///
/// Errors: usage (exit 2) when `out` cannot be listed: nothing was published there yet.
pub fn runs(out: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(out).map_err(|e| {
        Error::Usage(format!(
            "{}: {e}: no run is published there yet; `cipwatch run` publishes one per as-of date",
            out.display()
        ))
    })?;
    let mut runs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(SUCCESS).is_file())
        .collect();
    runs.sort();
    Ok(runs)
}

/// A run named on the command line: a run folder, or an as-of date (or `scenarios/NAME/AS_OF`)
/// under `out`.
///
/// Errors: usage (exit 2) when neither is a complete run.
pub fn locate(out: &Path, run: &str) -> Result<PathBuf> {
    let candidate = PathBuf::from(run);
    let dir = if candidate.join(SUCCESS).is_file() {
        candidate
    } else {
        out.join(run)
    };
    if !dir.join(SUCCESS).is_file() {
        return Err(Error::Usage(format!(
            "{run}: not a complete cipwatch run (no {SUCCESS} in {run} nor in {}); name a run folder, an as-of date \
             under the output folder, or scenarios/NAME/AS_OF",
            out.display()
        )));
    }
    Ok(dir)
}

/// A run folder's manifest. Errors: usage (exit 2) for a missing or damaged one.
pub fn manifest(run: &Path) -> Result<serde_json::Value> {
    let path = run.join("manifest.json");
    let damaged = |e: &dyn std::fmt::Display| {
        Error::Usage(format!(
            "{}: not a run manifest cipwatch wrote ({e})",
            path.display()
        ))
    };
    let bytes = std::fs::read(&path).map_err(|e| damaged(&e))?;
    serde_json::from_slice(&bytes).map_err(|e| damaged(&e))
}

/// The published table `<name>.parquet` of a run folder as typed rows.
///
/// Errors: usage (exit 2) when the file is missing (a run published by a version without that
/// table) or is not a table of those rows (the folder was edited).
pub fn table<T: DeserializeOwned>(run: &Path, name: &str) -> Result<Vec<T>> {
    typed(run, name, |df| records(df, name))
}

/// The rows of the published table `<name>.parquet` whose `account_id` is one of `accounts`, as
/// typed rows (a GPU cloud's `training_runs` holds hundreds of thousands of segments).
///
/// Errors: as [`table`].
pub fn account_table<T: DeserializeOwned>(
    run: &Path,
    name: &str,
    accounts: &[&str],
) -> Result<Vec<T>> {
    typed(run, name, |df| accounts_records(df, accounts, name))
}

/// Reads `<name>.parquet` of a run folder and makes typed rows of it with `rows`.
fn typed<T>(run: &Path, name: &str, rows: impl Fn(&DataFrame) -> Result<Vec<T>>) -> Result<Vec<T>> {
    let path = run.join(format!("{name}.parquet"));
    let bytes =
        std::fs::read(&path).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    let df = ParquetReader::new(Cursor::new(bytes))
        .finish()
        .map_err(|e| {
            Error::Usage(format!(
                "{}: not a table cipwatch wrote ({e})",
                path.display()
            ))
        })?;
    rows(&df).map_err(|e| {
        Error::Usage(format!(
            "{}: not a {name} table cipwatch wrote ({e})",
            path.display()
        ))
    })
}
