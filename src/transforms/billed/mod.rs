//! Billing rows after identification, from streaming passes over the billing files, a file at a
//! time and a Parquet file a million rows at a time (bounded memory whatever their size): the row
//! count and rows per charge day, totals per currency,
//! internet egress per account, the quarantined rows' keys, and the identified accelerator usage,
//! already grouped for compaction. Sums are exact in any order, so the streaming engine's thread
//! scheduling never changes a byte. Rows charged on implausible days (`dates`) are quarantined and
//! the latest plausible day is the default as-of date. Also the fail-closed check of the catalog's
//! peak figures.

use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::BTreeMap;

use crate::config::catalog::Catalog;
use crate::config::BillingOptions;
use crate::error::{Context, Error, Result};
use crate::sources::billing::native::Mappings;
use crate::sources::columns::clean_key;
use crate::sources::files::InputFile;
use crate::sources::{self, billing, Loaded, REASON, RULE};
use crate::transforms::quarantine::{InputCount, Ledger};
use crate::transforms::rounding;

pub mod compact;
mod dates;
pub mod identify;
pub mod parts;
mod pass;
pub mod staged;
use crate::transforms::billed::identify::{is_usage, matches_where};

/// How compaction treats a usage column ([`compact`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Equal for two rows to merge (besides following on in time): the group key.
    Key,
    /// Kept per row inside a group; a merged row takes the first (`row_id`, the row, `start_s`),
    /// the last (`end_s`) or the sum (hours).
    PerRow,
}

/// The columns of the identified accelerator usage handed to the queries, in order, each with
/// how compaction treats it: the one list [`usage_columns`] and `compact` derive from.
pub const USAGE: &[(&str, Merge)] = &[
    ("row_id", Merge::PerRow),
    (sources::SOURCE_FILE, Merge::Key),
    (sources::ROW, Merge::PerRow),
    ("billing_account_id", Merge::Key),
    ("sub_account_id", Merge::Key),
    ("resource_id", Merge::Key),
    ("availability_zone", Merge::Key),
    ("region_id", Merge::Key),
    ("start_s", Merge::PerRow),
    ("end_s", Merge::PerRow),
    ("day", Merge::Key),
    ("instance_type", Merge::Key),
    ("accelerator", Merge::Key),
    ("accelerators", Merge::Key),
    ("accelerator_hours", Merge::PerRow),
    ("interconnect_gbps", Merge::Key),
    ("peak_ops_per_s", Merge::Key),
    ("peak_precision_used", Merge::Key),
    ("charge_class", Merge::Key),
    ("pricing_category", Merge::Key),
    ("reserved_capacity", Merge::Key),
];

/// The usage columns of one kind ([`USAGE`]), in order.
pub fn usage_columns(kind: Option<Merge>) -> Vec<&'static str> {
    USAGE
        .iter()
        .filter(|(_, m)| kind.is_none_or(|k| k == *m))
        .map(|(c, _)| *c)
        .collect()
}

/// Billing rows after identification: the quarantined ones and the identified accelerator rows.
pub struct BilledRows {
    pub rows_read: u64,
    /// Per currency: rows, billed cost and quantity of every billing row (used or quarantined), to
    /// reconcile with the source files.
    pub totals: DataFrame,
    /// Per account: gigabytes of internet egress billed (usage rows matching the egress pattern in a
    /// data unit), for the training-vs-inference signal.
    pub egress: DataFrame,
    pub latest_day: Option<i32>,
    pub quarantined: DataFrame,
    /// The identified accelerator usage, merged where rows follow on (`transforms::billed::compact`):
    /// a scan of its files in `staging` or of a prepared dataset's ([`staged`]), never held whole.
    pub accelerator: LazyFrame,
    /// The keys of the billing rows each merged row stands for (`compact::Merged::keys`), read
    /// only to quarantine accelerator rows (a Parquet scan).
    pub accelerator_keys: LazyFrame,
    /// Where a step that changes the usage writes it again (and where stage 1 wrote it).
    pub staging: staged::Staging,
}

/// What the billing stage is given: the files, how to read them, the catalog, the as-of date if
/// the command named one.
pub struct BillingInput<'a> {
    pub files: &'a [InputFile],
    pub options: &'a BillingOptions,
    pub mappings: &'a Mappings,
    /// `[billing] format`: one format forced for every file.
    pub format: Option<&'a str>,
    pub catalog: &'a Catalog,
    /// `--as-of`; else the latest plausible charge date in the billing data.
    pub as_of: Option<NaiveDate>,
    /// Where the accelerator usage is staged ([`staged::Staging::new`]): the output folder of a
    /// run that holds its lock (a killed run's folder is removed by the next), else none (the
    /// temporary folder).
    pub scratch: Option<&'a std::path::Path>,
}

/// The billing stage's result.
pub struct Billing {
    pub rows: BilledRows,
    pub as_of: NaiveDate,
    /// `--as-of`, or `latest charge date in billing`.
    pub as_of_source: &'static str,
    /// File (as displayed) → the format it was read as.
    pub formats: BTreeMap<String, String>,
    /// Per currency totals of every row read, as JSON records for the manifest.
    pub totals: Vec<serde_json::Value>,
    /// The instance types (`p6-b300.48xlarge (nvidia-b300)`) whose accelerator has no peak figure
    /// at the profile's precision, estimated at the catalog-gap bound ([`catalog_gap_bound`]).
    pub catalog_gaps: Vec<String>,
}

/// The billing stage: reads every billing file (FOCUS or native, through its mapping) in one
/// streaming pass, quarantines bad rows (counts and table into the ledger), identifies and groups
/// the accelerator usage, and takes the as-of date; logs one event with its counts.
///
/// Errors: input errors (exit 3) naming file, line and column; a missing peak figure (exit 4).
pub fn stage(input: &BillingInput, ledger: &mut Ledger) -> Result<Billing> {
    let bill = load(input)?;
    record_superseded(&bill, ledger);
    let scanned = Scanned::collect(&bill, input.catalog, input.options, input.scratch)?;
    let rows = BilledRows::finish(scanned, input.options, &|| Ok(bill.clone()))?;
    let formats = formats(&bill);
    conclude(input, rows, formats, ledger, |keys| {
        crate::transforms::quarantine::table(&bill, keys)
    })
}

/// The billing stage from a prepared dataset (`cipwatch run --prepared`): stage 1's result read
/// from its parts instead of the billing files, then the same steps as [`stage`]. The billing
/// files are read again only to quarantine rows stage 1 could not judge alone (rows on
/// implausible charge days that are not accelerator usage, and their original values).
///
/// Errors: as [`stage`]; a part made by another version or under other definitions (exit 4).
pub fn stage_prepared(
    input: &BillingInput,
    parts: &[crate::sources::prepared_dataset::Part],
    ledger: &mut Ledger,
) -> Result<Billing> {
    let scanned = Scanned::from_parts(parts, input)?;
    let rows = BilledRows::finish(scanned, input.options, &|| parts::reload(input))?;
    let formats = parts
        .iter()
        .flat_map(|p| &p.manifest.files)
        .map(|f| (f.display.clone(), f.format.clone()))
        .collect();
    conclude(input, rows, formats, ledger, |keys| {
        parts::quarantine_table(parts, keys, |missing| {
            crate::transforms::quarantine::table(&parts::reload(input)?, missing)
        })
    })
}

/// Records each billing file left out as an earlier delivery of a report (`sources::versions`)
/// in the ledger's exclusions, and logs their count (file names are not customer values).
pub fn record_superseded(bill: &Loaded, ledger: &mut Ledger) {
    for s in &bill.superseded {
        ledger.excluded.push(crate::transforms::quarantine::Excluded {
            stage: "billing",
            what: "billing rows of a superseded report version",
            reason: format!(
                "{} is an earlier delivery of the report in {}: the newest version of a billing period wins",
                s.file, s.by
            ),
            count: s.rows,
        });
    }
    if !bill.superseded.is_empty() {
        tracing::warn!(
            stage = "billing",
            files = bill.superseded.len(),
            "billing files left out as earlier deliveries of a report (see the manifest's excluded)"
        );
    }
}

/// The billing files of `input`, read lazily (nothing is scanned until a pass runs).
pub fn load(input: &BillingInput) -> Result<Loaded> {
    billing::load(
        input.files.to_vec(),
        input.options,
        input.mappings,
        input.format,
    )
}

/// File (as displayed) → the format it was read as.
fn formats(bill: &Loaded) -> BTreeMap<String, String> {
    bill.files
        .iter()
        .zip(&bill.formats)
        .map(|(f, fmt)| (f.display.clone(), fmt.clone()))
        .collect()
}

/// The end of the billing stage, whatever read the rows: the as-of date, the catalog check, the
/// counts and the log event, and the quarantine table (`table` of the final keys) into the ledger.
fn conclude(
    input: &BillingInput,
    mut rows: BilledRows,
    formats: BTreeMap<String, String>,
    ledger: &mut Ledger,
    table: impl FnOnce(&DataFrame) -> Result<DataFrame>,
) -> Result<Billing> {
    let (as_of, as_of_source) = match input.as_of {
        Some(d) => (d, "--as-of"),
        None => (rows.latest_day()?, "latest charge date in billing"),
    };
    let bound = catalog_gap_bound(input.catalog, input.options.catalog_gap_factor)?;
    let catalog_gaps = rows.bound_catalog_gaps(bound)?;
    let count = InputCount::from_quarantine(rows.rows_read, &rows.quarantined)?;
    tracing::info!(
        stage = "billing",
        files = formats.len(),
        rows_read = count.rows_read,
        rows_quarantined = count.rows_quarantined,
        accelerator_rows = rows.accelerator_rows()?,
        "billing loaded"
    );
    ledger.record_table("billing", count, table(&rows.quarantined)?);
    let totals = crate::transforms::rows::records(&rows.totals, "billing totals")?;
    Ok(Billing {
        rows,
        as_of,
        as_of_source,
        formats,
        totals,
        catalog_gaps,
    })
}

/// What `peak_precision_used` says on a row estimated at the catalog-gap bound.
pub const CATALOG_GAP: &str = "catalog_gap_bound";

/// The conservative peak (op/s per accelerator) for an accelerator the catalog lists without a
/// figure: the highest peak of any accelerator in the catalog at the profile's precision, times
/// `[billing] catalog_gap_factor` (default 2: a new generation has so far at most doubled the
/// dense peak of the one before), so the estimate is never below what the unknown part could do.
///
/// Errors: exit 4 when the catalog holds no peak figure at all.
pub fn catalog_gap_bound(catalog: &Catalog, factor: f64) -> Result<f64> {
    let highest = catalog
        .instances
        .column("peak_ops_per_s")
        .ok()
        .and_then(|c| c.f64().ok().and_then(|v| v.max()));
    match highest {
        Some(peak) => Ok(peak * factor),
        None => Err(Error::Reference(
            "the catalog holds no accelerator with a peak figure at the profile's precision".into(),
        )),
    }
}

/// The engine for the pass over every billing row: streaming (bounded memory), unless
/// `CIPWATCH_ENGINE=in-memory` asks for Polars' in-memory engine (the flags must not differ).
fn engine() -> Engine {
    match crate::config::env::text(crate::config::env::ENGINE).as_deref() {
        Some("in-memory") => Engine::InMemory,
        _ => Engine::Streaming,
    }
}

/// `df` ordered by `row_id` (the order of the billing files), sorting only if it is not already.
fn in_row_order(df: DataFrame) -> Result<DataFrame> {
    let ordered = df
        .column("row_id")
        .and_then(|c| c.as_materialized_series().is_sorted(Default::default()))
        .or_internal("billing row order")?;
    match ordered {
        true => Ok(df),
        false => df
            .sort(["row_id"], Default::default())
            .or_internal("billing row order"),
    }
}

/// Partial results grouped by a key as read, grouped again by the cleaned key and sorted: counts
/// in `counts` are summed, `exact_sum` pairs in `sums` totalled.
fn regroup(df: DataFrame, key: &str, counts: &[&str], sums: &[&str]) -> Result<DataFrame> {
    let mut aggs: Vec<Expr> = counts.iter().map(|c| col(*c).sum()).collect();
    aggs.extend(sums.iter().map(|s| exact_total(s)));
    df.lazy()
        .with_column(clean_key(col(key)).alias(key))
        .group_by([col(key)])
        .agg(aggs)
        .sort([key], Default::default())
        .collect()
        .or_internal(format!("regrouping by {key}"))
}

/// A sum that does not depend on the order rows are added in (the streaming engine adds them in
/// whatever order its threads finish): each value is split into whole units and two limbs of
/// billionths, each summed as an integer (`<name>_whole`, `<name>_e9`, `<name>_e18`), and
/// `exact_total` joins them into the float. The limbs keep what a float keeps of each value (a
/// cost of 1e-11 still counts), and integer sums are the same in any order.
fn exact_sum(value: Expr, name: &str) -> [Expr; 3] {
    let whole = value.clone().floor();
    let e9 = (value - whole.clone()) * lit(1e9);
    let hi = e9.clone().floor();
    let lo = ((e9 - hi.clone()) * lit(1e9)).round(0, RoundMode::HalfToEven);
    let int_sum = |e: Expr, suffix: &str| {
        e.cast(DataType::Int64)
            .sum()
            .alias(format!("{name}_{suffix}"))
    };
    [
        int_sum(whole, "whole"),
        int_sum(hi, "e9"),
        int_sum(lo, "e18"),
    ]
}

/// The float of an `exact_sum`, summed again over the groups being merged.
fn exact_total(name: &str) -> Expr {
    let part = |suffix: &str| {
        col(format!("{name}_{suffix}"))
            .sum()
            .cast(DataType::Float64)
    };
    (part("whole") + part("e9") / lit(1e9) + part("e18") / lit(1e18)).alias(name)
}

/// Per currency: rows, the exact sums of billed cost and quantity over the values within the
/// plausible magnitude, and `rows_out_of_range`, the rows whose cost or quantity is beyond it
/// (quarantined as `out_of_range`, so no value drops out of the totals unseen).
fn totals_aggs(opts: &BillingOptions) -> Vec<Expr> {
    let within = |name: &str, max: f64| {
        when(col(name).abs().lt_eq(lit(max)))
            .then(col(name))
            .otherwise(lit(NULL).cast(DataType::Float64))
    };
    let beyond = |name: &str, max: f64| col(name).abs().gt(lit(max)).fill_null(lit(false));
    let mut sums = vec![
        len().cast(DataType::Int64).alias("rows"),
        beyond("billed_cost", opts.max_abs_cost)
            .or(beyond("quantity", opts.max_abs_quantity))
            .cast(DataType::Int64)
            .sum()
            .alias("rows_out_of_range"),
    ];
    sums.extend(exact_sum(
        within("billed_cost", opts.max_abs_cost),
        "billed_cost",
    ));
    sums.extend(exact_sum(
        within("quantity", opts.max_abs_quantity),
        "quantity",
    ));
    sums
}

/// Internet egress per account: plain usage rows in a data unit whose text matches `pattern`, in
/// GB, grouped by the account as read (cleaned and regrouped in `collect`).
fn egress_plan(marked: LazyFrame, id_columns: &[String], pattern: &str) -> Result<LazyFrame> {
    let unit = |re: &str| {
        col("unit")
            .str()
            .contains(lit(format!(r"(?i)^\s*(?:{re})\s*$")), false)
            .fill_null(lit(false))
    };
    let gb = when(unit("tb|tib"))
        .then(col("quantity") * lit(1000.0))
        .otherwise(col("quantity"));
    Ok(marked
        .filter(
            col(RULE)
                .is_null()
                .and(col("_keep").not())
                .and(is_usage())
                .and(matches_where(
                    unit("gb|gib|gigabytes|tb|tib").and(col("_keep").not()),
                    id_columns,
                    pattern,
                )?),
        )
        .group_by([col("billing_account_id")])
        .agg(exact_sum(gb, "egress_gb")))
}

/// Stage 1 over some billing files, before the decisions that need all of the billing
/// (`BilledRows::finish`): what one streaming pass yields. Partial results of several passes (one
/// per file, on as many machines) combine exactly: counts and the integer limbs of the exact sums
/// add up, and rows keep their file and row number. `row_id` counts from 0 in each pass.
pub struct Scanned {
    pub rows_read: u64,
    /// Rows per charge day of the plain rows that passed the checks: `day` (epoch days), `rows`.
    pub plain_days: DataFrame,
    /// Per currency as read: `billing_currency`, `rows`, `rows_out_of_range` and the `exact_sum`
    /// limbs of `billed_cost` and `quantity`.
    pub totals: DataFrame,
    /// Per account as read: `billing_account_id` and the `exact_sum` limbs of `egress_gb`.
    pub egress: DataFrame,
    /// The quarantined rows' keys: `row_id`, file, row, rule, reason; in row order.
    pub quarantined: DataFrame,
    /// The identified accelerator usage, merged where rows follow on (`transforms::billed::compact::merge`):
    /// a scan of Parquet files ([`staged`]), in row order within each charge day.
    pub accelerator: LazyFrame,
    /// The keys of the billing rows each merged row stands for (`compact::Merged::keys`), read
    /// only to quarantine accelerator rows (a Parquet scan).
    pub accelerator_keys: LazyFrame,
    /// The folder the usage's files are in (kept while the usage is read).
    pub staging: staged::Staging,
}

impl BilledRows {
    /// The billing-wide steps over stage 1's result: totals and egress grouped by the cleaned
    /// key, the charge days, and the rows on implausible days quarantined (`raw` gives the billing
    /// files again, read only when such days hold rows that are not accelerator usage).
    pub fn finish(
        s: Scanned,
        opts: &BillingOptions,
        raw: &dyn Fn() -> Result<Loaded>,
    ) -> Result<BilledRows> {
        let days = dates::charge_days(&s.plain_days, &s.accelerator)?;
        let implausible = dates::implausible_days(&days, opts)?;
        let mut billed = BilledRows {
            egress: regroup(s.egress, "billing_account_id", &[], &["egress_gb"])?,
            totals: rounding::stable(regroup(
                s.totals,
                "billing_currency",
                &["rows", "rows_out_of_range"],
                &["billed_cost", "quantity"],
            )?)?,
            rows_read: s.rows_read,
            latest_day: days
                .iter()
                .map(|(d, _)| *d)
                .filter(|d| !implausible.contains(d))
                .max(),
            quarantined: s.quarantined,
            accelerator: s.accelerator,
            accelerator_keys: s.accelerator_keys,
            staging: s.staging,
        };
        if !implausible.is_empty() {
            billed.quarantine_implausible(raw, &implausible)?;
        }
        billed.quarantine_over_corrections()?;
        Ok(billed)
    }

    /// Quarantines (`over_correction`) the negative accelerator rows (corrections) of a resource
    /// whose accelerator-hours they take below zero: a correction can take back usage billed, not
    /// more, and netting it would publish negative hours and fleets. Nothing to do (one scan of a
    /// column) when no row is negative.
    fn quarantine_over_corrections(&mut self) -> Result<()> {
        let hours = col("accelerator_hours");
        let lowest = crate::transforms::aggregate(
            &self.accelerator,
            hours.clone().min(),
            "over-correction check",
        )?;
        let any_negative = lowest.extract::<f64>().is_some_and(|m| m < 0.0);
        if !any_negative {
            return Ok(());
        }
        let net = hours
            .clone()
            .sum()
            .over([col("billing_account_id"), col("resource_id")])
            .or_internal("over-correction check")?;
        self.move_to_quarantine(
            hours.lt(lit(0.0)).and(net.lt(lit(-1e-9))),
            "over_correction",
            "a correction takes back more accelerator-hours than its resource was billed for",
        )
    }

    /// Quarantines every billing row charged on an implausible day (`implausible_date`): the
    /// accelerator rows kept, then, in a second pass over the billing files (only when such days
    /// exist), the other rows of those days not already quarantined.
    fn quarantine_implausible(
        &mut self,
        raw: &dyn Fn() -> Result<Loaded>,
        days: &[i32],
    ) -> Result<()> {
        const WHY: &str = "ChargePeriodStart is outside the plausible window of charge dates (before billing.earliest_charge_date, or cut off from the rest of the billing data by more than billing.max_date_gap_days)";
        let listed =
            |name: &str, values: Series| col(name).is_in(lit(values).implode(false), false);
        let on_day = || listed("day", Series::new("days".into(), days));
        self.move_to_quarantine(on_day(), "implausible_date", WHY)?;
        let already = self
            .quarantined
            .column("row_id")
            .or_internal("quarantined rows")?
            .as_materialized_series()
            .clone();
        let others = raw()?
            .rows
            .clone()
            .with_row_index("row_id", None)
            .filter(
                col(RULE)
                    .is_null()
                    .and(on_day())
                    .and(listed("row_id", already).not()),
            )
            .select(["row_id", sources::SOURCE_FILE, sources::ROW].map(col))
            .with_columns([lit("implausible_date").alias(RULE), lit(WHY).alias(REASON)]);
        self.append_quarantine(others)
    }

    /// Moves the accelerator usage where `filter` holds into the quarantine, one row per billing
    /// row, with `rule` and `reason`.
    fn move_to_quarantine(&mut self, filter: Expr, rule: &str, reason: &str) -> Result<()> {
        let moved = compact::billing_rows(
            self.accelerator.clone().filter(filter.clone()),
            self.accelerator_keys.clone(),
        )
        .with_columns([lit(rule).alias(RULE), lit(reason).alias(REASON)]);
        self.append_quarantine(moved)?;
        self.accelerator = self.staging.rewrite(
            self.accelerator.clone().filter(filter.not()),
            &format!("quarantining {rule} rows"),
        )?;
        Ok(())
    }

    /// Adds rows (`row_id`, file, row, rule, reason) to the quarantine, in billing row order.
    fn append_quarantine(&mut self, rows: LazyFrame) -> Result<()> {
        let order: Vec<Expr> = self
            .quarantined
            .get_column_names()
            .iter()
            .map(|c| col(c.as_str()))
            .collect();
        self.quarantined = in_row_order(
            concat(
                [self.quarantined.clone().lazy(), rows],
                UnionArgs {
                    diagonal: true,
                    ..Default::default()
                },
            )
            .and_then(|lf| lf.select(order).collect())
            .or_internal("adding quarantined billing rows")?,
        )?;
        Ok(())
    }

    pub fn latest_day(&self) -> Result<NaiveDate> {
        let day = self.latest_day.ok_or_else(|| {
            Error::input(
                crate::error::Location::file("billing"),
                "no usable billing row, so no as-of date can be taken from the data (give --as-of or fix the input)",
            )
        })?;
        crate::config::calendar::date_of_day(day as i64).ok_or_else(|| {
                Error::input(
                    crate::error::Location::file("billing"),
                    "the latest charge date is beyond the dates cipwatch can represent (give --as-of or fix the input)",
                )
            })
    }

    /// Estimates an identified accelerator that has no peak figure at the profile's precision
    /// (a catalog gap: a new instance type whose accelerator the catalog lists without figures) at
    /// `bound` op/s per accelerator, the conservative bound, and marks its rows'
    /// `peak_precision_used` as [`CATALOG_GAP`]; every other row is untouched, so one new GPU never
    /// hides the other accounts' results. Returns the gaps as `instance type (accelerator)`, in
    /// first-seen order (empty when the catalog covers every row).
    pub fn bound_catalog_gaps(&mut self, bound: f64) -> Result<Vec<String>> {
        let no_peak = col("peak_ops_per_s").is_null();
        let missing = self
            .accelerator
            .clone()
            .filter(no_peak.clone())
            .select([concat_str(
                [
                    col("instance_type"),
                    lit(" ("),
                    col("accelerator"),
                    lit(")"),
                ],
                "",
                true,
            )
            .alias("what")])
            .unique_stable(None, UniqueKeepStrategy::First)
            .collect()
            .or_internal("catalog check")?;
        let gaps: Vec<String> = missing
            .column("what")
            .or_internal("catalog check")?
            .str()
            .or_internal("catalog check")?
            .iter()
            .flatten()
            .map(String::from)
            .collect();
        if gaps.is_empty() {
            return Ok(gaps);
        }
        let bounded = self.accelerator.clone().with_columns([
            when(no_peak.clone())
                .then(lit(bound))
                .otherwise(col("peak_ops_per_s"))
                .alias("peak_ops_per_s"),
            when(no_peak)
                .then(lit(CATALOG_GAP))
                .otherwise(col("peak_precision_used"))
                .alias("peak_precision_used"),
        ]);
        self.accelerator = self.staging.rewrite(bounded, "catalog gap bound")?;
        Ok(gaps)
    }

    /// The accelerator usage the queries see (a scan: each reader reads what it needs): rows
    /// starting before `end_s`, compacted (contiguous hourly rows of a resource merged, see
    /// `transforms::billed::compact`), with `row_id` as Int64.
    pub fn usage_until(&self, end_s: i64) -> LazyFrame {
        let mut columns: Vec<Expr> = usage_columns(None).into_iter().map(col).collect();
        columns.push(col("source_rows"));
        self.accelerator
            .clone()
            .filter(col("start_s").lt(lit(end_s)))
            .select(columns)
            .with_column(col("row_id").cast(DataType::Int64))
    }

    /// How many identified accelerator usage rows the billing holds.
    ///
    /// Errors: internal (exit 1) when the staged usage cannot be read.
    pub fn accelerator_rows(&self) -> Result<i64> {
        accelerator_rows(&self.accelerator)
    }
}

/// How many billing rows the merged accelerator usage (`compact::merge`) stands for.
///
/// Errors: internal (exit 1) when the usage cannot be read.
pub fn accelerator_rows(merged: &LazyFrame) -> Result<i64> {
    let sum = col("source_rows").cast(DataType::Int64).sum();
    let total = crate::transforms::aggregate(merged, sum, "accelerator usage rows")?;
    Ok(total.extract::<i64>().unwrap_or(0))
}
