//! The publishing sink: every table (CSV, and Parquet but for quarantine tables), every document
//! and the manifest written into a staging folder, audited, then moved into place in one step
//! (`publish`).

use polars::prelude::*;
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::sinks::manifest::{Manifest, OutputRecord};
use crate::sinks::publish::Staging;
use crate::sinks::tables;
use crate::transforms::quarantine::InputCount;

/// What a run publishes.
pub struct Publication<'a> {
    /// The folder the run folder goes into (the output folder, or a scenario's).
    pub root: &'a Path,
    /// The run folder's name: the as-of date, YYYY-MM-DD.
    pub name: String,
    /// The tables, in the manifest's order.
    pub tables: Vec<OutputTable<'a>>,
    /// Relative path → rendered document.
    pub documents: &'a [(String, String)],
    /// Relative path → PDF document (`--pdf`).
    pub pdfs: &'a [(String, Vec<u8>)],
    /// Input name → counts, which must reconcile.
    pub counts: &'a std::collections::BTreeMap<String, InputCount>,
}

/// A table a run publishes: `<stem>.csv` and, unless it holds an input's text as read,
/// `<stem>.parquet`.
pub struct OutputTable<'a> {
    /// Its path in the run folder without the extension (`flags`, `quarantine/billing`).
    pub stem: String,
    pub rows: &'a DataFrame,
    /// Whether a Parquet copy is written beside the CSV (not for quarantine tables, whose cells
    /// are the input's original text).
    pub parquet: bool,
}

impl OutputTable<'_> {
    /// The file extensions it is written as.
    pub fn formats(&self) -> &'static [&'static str] {
        match self.parquet {
            true => &["csv", "parquet"],
            false => &["csv"],
        }
    }
}

/// Writes every table (CSV, and Parquet but for quarantine tables), every document and the
/// manifest (with each output's rows and SHA-256) into staging, audits the staging folder and
/// publishes it; returns the published folder.
///
/// Errors: I/O failures and a failed audit (exit 1); nothing is published then.
pub fn publish(out: &Publication, mut manifest: Manifest) -> Result<PathBuf> {
    let staging = Staging::begin(out.root, &out.name)?;
    let mut expected = Vec::new();
    for table in &out.tables {
        let (stem, df) = (&table.stem, table.rows);
        for ext in table.formats() {
            let rel = format!("{stem}.{ext}");
            let path = staging.path(&rel)?;
            match *ext {
                "csv" => tables::write_csv(df, &path)?,
                _ => tables::write_parquet(df, &path)?,
            }
            let bytes = std::fs::read(&path).or_internal("hashing output")?;
            manifest
                .outputs
                .push((rel.clone(), output(Some(df.height()), &bytes)));
            expected.push(rel);
        }
    }
    let texts = out.documents.iter().map(|(r, t)| (r, t.as_bytes()));
    let pdfs = out.pdfs.iter().map(|(r, b)| (r, b.as_slice()));
    for (rel, bytes) in texts.chain(pdfs) {
        tables::write_bytes(bytes, &staging.path(rel)?)?;
        manifest.outputs.push((rel.clone(), output(None, bytes)));
        expected.push(rel.clone());
    }
    let text = manifest.to_text();
    tables::write_bytes(text.as_bytes(), &staging.path("manifest.json")?)?;
    expected.push("manifest.json".into());
    audit(&staging.dir, out, &manifest.report_folders)?;
    staging.commit(&expected)
}

/// An output's manifest record: its rows (tables) and SHA-256.
fn output(rows: Option<usize>, bytes: &[u8]) -> OutputRecord {
    OutputRecord {
        rows,
        sha256: crate::fingerprint::sha256_bytes(bytes),
    }
}

/// The audit before publishing: every staged CSV has as many rows as its table, every account that
/// needs a report draft (`report_folders`: account → `reports/<folder>`) has its own folder with
/// the report in every format, and the input counts reconcile (read = used + quarantined).
fn audit(dir: &Path, out: &Publication, report_folders: &[(String, String)]) -> Result<()> {
    let fail = |what: String| {
        Err(Error::bug(format!(
            "audit before publishing failed: {what}; nothing published"
        )))
    };
    for OutputTable { stem, rows: df, .. } in &out.tables {
        let staged = CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(dir.join(format!("{stem}.csv"))))
            .and_then(|r| r.finish())
            .or_internal(format!("audit: reading back {stem}.csv"))?;
        if staged.height() != df.height() {
            return fail(format!(
                "{stem}.csv has {} rows, its table {}",
                staged.height(),
                df.height()
            ));
        }
    }
    let mut folders = std::collections::BTreeSet::new();
    for (_, folder) in report_folders {
        if !folders.insert(folder.clone()) {
            return fail(format!("two report drafts would share {folder}"));
        }
        for ext in ["md", "html", "json"] {
            if !dir
                .join(format!("{folder}/ai-training-report.{ext}"))
                .is_file()
            {
                return fail(format!(
                    "{folder}/ai-training-report.{ext} was not rendered"
                ));
            }
        }
    }
    for (name, c) in out.counts {
        if !c.reconciles() {
            return fail(format!(
                "{name}: {} read != {} used + {} quarantined",
                c.rows_read, c.rows_used, c.rows_quarantined
            ));
        }
    }
    Ok(())
}
