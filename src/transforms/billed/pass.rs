//! Stage 1's passes over the billing files: a file at a time, a Parquet file a slice of
//! [`ROWS_PER_PASS`] rows at a time, each slice as two streaming plans with one consumer of the
//! rows each (Polars' streaming engine buffers without bound what a shared scan hands a fast
//! consumer before a slow one, lets its reader run ahead of slow checks by up to a whole file,
//! and reads the files of a concatenation side by side: benches/RESULTS.md, "Passes of a million
//! rows"). What the passes yield combines exactly into one [`Scanned`].

use polars::prelude::*;

use super::identify::{identify, mark, Basis, BasisPatterns};
use super::{egress_plan, engine, in_row_order, staged, totals_aggs, usage_columns, Scanned};
use crate::config::catalog::Catalog;
use crate::config::BillingOptions;
use crate::error::{Context, Error, Result};
use crate::sources::{self, billing, Loaded, REASON, RULE};

impl Scanned {
    /// Stage 1 over the billing files, one file at a time and a Parquet file a slice of
    /// [`ROWS_PER_PASS`] rows at a time ([`file_pass`]): the row count and the rows per charge
    /// day of the plain rows, totals per currency, egress per account, the quarantined rows'
    /// keys and the accelerator usage, written to day buckets on disk and compacted one bucket
    /// at a time ([`staged`]). `row_id` runs on from pass to pass, as over the files read as one.
    ///
    /// Errors: input (exit 3) naming the file a pass failed on; configuration (exit 2) for a bad
    /// `CIPWATCH_ROWS_PER_PASS`; internal (exit 1) when the staging folder fails.
    pub fn collect(
        bill: &Loaded,
        catalog: &Catalog,
        opts: &BillingOptions,
        scratch: Option<&std::path::Path>,
    ) -> Result<Scanned> {
        let staging = staged::Staging::new(scratch)?;
        let mut rows_read = 0u64;
        let mut passes: Vec<FilePass> = Vec::with_capacity(bill.files.len());
        for (i, (file, rows)) in bill.files.iter().zip(&bill.per_file).enumerate() {
            let located = |e: Failure| match e {
                Failure::Input(e) => {
                    Error::input(crate::error::Location::file(file.display.clone()), e)
                }
                Failure::Other(e) => e,
            };
            let in_parts = bill.read_in_parts.get(i).copied().unwrap_or(false);
            for part in file_parts(rows, in_parts).map_err(located)? {
                let pass = file_pass(part, rows_read, passes.len(), catalog, opts, &staging)
                    .map_err(located)?;
                rows_read += pass.rows_read;
                passes.push(pass);
            }
        }
        // Every billing input holds a file (`sources::files` refuses a folder without one).
        let Some(kept) = passes.first().map(|p| p.kept.clone()) else {
            return Err(Error::bug("a billing stage without billing files"));
        };
        let stack = |pick: fn(&FilePass) -> &DataFrame, what: &str| -> Result<DataFrame> {
            let mut frames = passes.iter().map(pick);
            let mut all = frames.next().cloned().unwrap_or_default();
            for df in frames {
                all.vstack_mut(df).or_internal(what)?;
            }
            Ok(all)
        };
        let usage_schema = kept
            .try_project(usage_columns(None))
            .or_internal("usage columns")?;
        let quarantine_schema = kept
            .try_project(QUARANTINE_KEYS)
            .or_internal("quarantine columns")?;
        let quarantined = in_row_order(staging.quarantined(&quarantine_schema)?)?;
        let merged = staging.compact(&usage_schema)?;
        Ok(Scanned {
            rows_read,
            plain_days: stack(|p| &p.plain_days, "charge days")?,
            totals: stack(|p| &p.totals, "billing totals")?,
            egress: stack(|p| &p.egress, "egress")?,
            quarantined,
            accelerator: merged.rows,
            accelerator_keys: merged.keys,
            staging,
        })
    }
}

/// Billing rows per pass over a file that can be read in parts (`Loaded::read_in_parts`), unless
/// `CIPWATCH_ROWS_PER_PASS` says otherwise: a pass holds at most about this many rows in flight,
/// whatever the file's size (Polars' streaming engine lets a fast reader run ahead of the checks
/// by up to a whole file; 0.8-0.9 GB at this size on the gpu-heavy shape, benches/RESULTS.md).
pub const ROWS_PER_PASS: u64 = 1_000_000;

/// [`ROWS_PER_PASS`], or `CIPWATCH_ROWS_PER_PASS` when set.
///
/// Errors: configuration (exit 2) when the variable is not a whole number from 1.
fn rows_per_pass() -> Result<u64> {
    use crate::config::env;
    match env::text(env::ROWS_PER_PASS) {
        None => Ok(ROWS_PER_PASS),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                Error::config(
                    env::ROWS_PER_PASS,
                    format!("must be a whole number of rows from 1, got '{v}'"),
                )
            }),
    }
}

/// The parts of one file's rows its passes read: slices of [`rows_per_pass`] rows where the file
/// can be read in parts (its row count is read from its metadata), else the whole file.
fn file_parts(rows: &LazyFrame, in_parts: bool) -> std::result::Result<Vec<LazyFrame>, Failure> {
    if !in_parts {
        return Ok(vec![rows.clone()]);
    }
    let per_pass = rows_per_pass()?.min(IdxSize::MAX as u64);
    let count = rows
        .clone()
        .select([len().cast(DataType::UInt64).alias("rows")])
        .collect()
        .map_err(Failure::Input)?;
    let total = first_count(&count, "rows");
    let starts = (0..total.max(1)).step_by(per_pass as usize);
    Ok(starts
        .map(|start| rows.clone().slice(start as i64, per_pass as IdxSize))
        .collect())
}

/// The count in the first row of `column` (0 when there is none).
fn first_count(df: &DataFrame, column: &str) -> u64 {
    df.column(column)
        .ok()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| v.extract::<u64>())
        .unwrap_or(0)
}

/// The columns of a quarantined row's keys, in order.
const QUARANTINE_KEYS: [&str; 5] = ["row_id", sources::SOURCE_FILE, sources::ROW, RULE, REASON];

/// What one pass yields: its rows read, its partial aggregates (as [`Scanned`]'s), and the
/// schema of the kept rows it wrote to the staging folder.
struct FilePass {
    rows_read: u64,
    plain_days: DataFrame,
    totals: DataFrame,
    egress: DataFrame,
    kept: Schema,
}

/// Why a pass failed: the file's data (exit 3, to be located in the file), or else.
enum Failure {
    Input(PolarsError),
    Other(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Other(e)
    }
}

/// One pass over a billing file's rows (a slice of them, or the whole file: [`file_parts`]), as
/// two streaming plans run one after the other, each with a single
/// consumer of the rows: Polars' streaming engine buffers, without bound, the rows a shared scan
/// has handed to a fast consumer and not yet to a slow one (and runs the files of a
/// concatenation side by side), so one plan for everything held a growing share of the billing
/// (6–6.7 GB at 100M rows, benches/RESULTS.md).
/// 1. The aggregates of every row: the row count, the plain rows per charge day, totals per
///    currency and egress per account.
/// 2. The kept rows (quarantined and accelerator candidates, cleaned and identified within the
///    pass) written to the staging folder's buckets: the quarantined ones to
///    [`staged::QUARANTINE`], the accelerator usage by charge day ([`staged::Staging::bucket_sink`]).
///
/// `row_id` starts at `first_row_id`; `n` is the pass's place, which keeps its staged files in
/// row order.
fn file_pass(
    rows: LazyFrame,
    first_row_id: u64,
    n: usize,
    catalog: &Catalog,
    opts: &BillingOptions,
    staging: &staged::Staging,
) -> std::result::Result<FilePass, Failure> {
    let id_columns = billing::id_columns(opts);
    let offset = IdxSize::try_from(first_row_id)
        .map_err(|_| Error::input(crate::error::Location::file("billing"), TOO_MANY_ROWS))?;
    let marked = mark(rows, catalog, &id_columns, &opts.accelerator_hint_pattern)?
        .with_row_index("row_id", Some(offset));
    let stats = marked
        .clone()
        .select([len().cast(DataType::UInt64).alias("read")]);
    let plain_days = marked
        .clone()
        .filter(col(RULE).is_null().and(col("_keep").not()))
        .group_by([col("day")])
        .agg([len().cast(DataType::Int64).alias("rows")]);
    let totals = marked
        .clone()
        .group_by([col("billing_currency")])
        .agg(totals_aggs(opts));
    let egress = egress_plan(marked.clone(), &id_columns, &opts.egress_pattern)?;
    let plans = [stats, plain_days, totals, egress].map(|lf| lf.logical_plan);
    let optimizations = marked.get_current_optimizations();
    let mut aggregates =
        LazyFrame::collect_all_with_engine(plans.to_vec(), engine(), optimizations)
            .map_err(Failure::Input)?
            .into_iter();
    let mut next = || {
        aggregates
            .next()
            .ok_or_else(|| Error::bug("billing passes returned too few results"))
    };
    let (stats, plain_days, totals, egress) = (next()?, next()?, next()?, next()?);
    let mut kept = kept_rows(marked, catalog, opts)?;
    let schema = kept.collect_schema().map_err(Failure::Input)?;
    staging
        .bucket_sink(kept, n)?
        .collect_with_engine(engine())
        .map_err(Failure::Input)?;
    let rows_read = first_count(&stats, "read");
    Ok(FilePass {
        rows_read,
        plain_days,
        totals,
        egress,
        kept: schema.as_ref().clone(),
    })
}

/// What a billing too large for the row index says (IdxSize rows: 4,294,967,295 in this build).
const TOO_MANY_ROWS: &str =
    "more billing rows than cipwatch can number (4,294,967,295): split the billing into prepared parts";

/// The kept rows a file's pass writes: the quarantined rows and the identified accelerator
/// usage, with the usage columns ([`super::USAGE`]) and the rule and reason (null on usage rows).
fn kept_rows(marked: LazyFrame, catalog: &Catalog, opts: &BillingOptions) -> Result<LazyFrame> {
    let (sku_id, description) = billing::sku_text_columns(opts);
    let basis = Basis::from_patterns(
        &sku_id,
        &description,
        &billing::structured_columns(opts),
        &BasisPatterns {
            per_accelerator: &opts.per_accelerator_pattern,
            component_unit: &opts.component_pattern,
            component_sku: &opts.component_sku_pattern,
            instance_key: &catalog.key_pattern,
            unused_capacity: &opts.unused_capacity_pattern,
        },
    )?;
    let mut columns: Vec<Expr> = usage_columns(None).into_iter().map(col).collect();
    columns.extend([col(RULE), col(REASON)]);
    Ok(identify(
        billing::finish(marked.filter(col("_keep")), opts.max_gpu_count),
        catalog,
        basis,
    )
    .filter(col(RULE).is_not_null().or(col("is_accelerator")))
    .select(columns))
}
