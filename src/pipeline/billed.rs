//! Billing rows after identification, from one streaming pass over the billing files (bounded
//! memory whatever their size): the row count and latest usable charge day, totals per currency,
//! internet egress per account, the quarantined rows' keys, and the identified accelerator usage,
//! already grouped for compaction. Sums are exact in any order, so the streaming engine's thread
//! scheduling never changes a byte. Also the fail-closed check of the catalog's peak figures.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::catalog::Catalog;
use crate::config::BillingOptions;
use crate::error::{Context, Error, Result};
use crate::sinks::tables;
use crate::sources::columns::clean;
use crate::sources::{self, billing, Loaded, REASON, RULE};
use crate::transforms::compact;
use crate::transforms::identify::{identify, is_usage, mark, matches_where};

/// Columns of the identified accelerator usage handed to the queries.
pub const USAGE_COLUMNS: &[&str] = &[
    "row_id",
    sources::SOURCE_FILE,
    sources::ROW,
    "billing_account_id",
    "sub_account_id",
    "resource_id",
    "availability_zone",
    "region_id",
    "start_s",
    "end_s",
    "day",
    "instance_type",
    "accelerator",
    "accelerators",
    "accelerator_hours",
    "interconnect_gbps",
    "peak_ops_per_s",
    "peak_precision_used",
    "charge_class",
    "pricing_category",
    "reserved_capacity",
    "billed_cost",
    "effective_cost",
];

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
    /// The identified accelerator usage rows, grouped for compaction (`transforms::compact`).
    pub accelerator: DataFrame,
}

/// The engine for the pass over every billing row: streaming (bounded memory), unless
/// `CIPWATCH_ENGINE=in-memory` asks for Polars' in-memory engine (the flags must not differ).
fn engine() -> Engine {
    match std::env::var("CIPWATCH_ENGINE").as_deref() {
        Ok("in-memory") => Engine::InMemory,
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
        .with_column(clean(col(key)).alias(key))
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

impl BilledRows {
    /// One streaming pass over the billing files (Polars shares the scan and the marking between
    /// the outputs, and holds only what is kept): the row count and the latest charge day of the
    /// plain rows, totals per currency, egress per account, and, from the kept rows (quarantined
    /// and accelerator candidates, cleaned and identified within the pass), the quarantined rows'
    /// keys and the accelerator usage grouped for compaction.
    pub fn collect(bill: &Loaded, catalog: &Catalog, opts: &BillingOptions) -> Result<BilledRows> {
        let id_columns = billing::id_columns(opts);
        let marked = mark(
            bill.rows.clone(),
            catalog,
            &id_columns,
            &opts.accelerator_hint_pattern,
        )?
        .with_row_index("row_id", None);
        let stats = marked.clone().select([
            len().cast(DataType::UInt64).alias("read"),
            col("day")
                .filter(col(RULE).is_null().and(col("_keep").not()))
                .max()
                .alias("latest_day"),
        ]);
        let mut sums = vec![len().cast(DataType::Int64).alias("rows")];
        sums.extend(exact_sum(col("billed_cost"), "billed_cost"));
        sums.extend(exact_sum(col("quantity"), "quantity"));
        let totals = marked.clone().group_by([col("billing_currency")]).agg(sums);
        let kept = identify(
            billing::finish(marked.clone().filter(col("_keep"))),
            catalog,
        );
        let quarantined = kept
            .clone()
            .filter(col(RULE).is_not_null())
            .select(["row_id", sources::SOURCE_FILE, sources::ROW, RULE, REASON].map(col));
        let accelerator = compact::group(
            kept.filter(col(RULE).is_null())
                .select(USAGE_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>()),
        );
        let plans = vec![
            stats.logical_plan,
            totals.logical_plan,
            egress_plan(marked.clone(), &id_columns, &opts.egress_pattern)?.logical_plan,
            quarantined.logical_plan,
            accelerator.logical_plan,
        ];
        let mut out =
            LazyFrame::collect_all_with_engine(plans, engine(), marked.get_current_optimizations())
                .map_err(|e| input_error(bill, e))?
                .into_iter();
        let mut next = || {
            out.next()
                .ok_or_else(|| Error::Internal("billing passes returned too few results".into()))
        };
        let (stats, totals, egress) = (next()?, next()?, next()?);
        let (quarantined, accelerator) = (in_row_order(next()?)?, next()?);
        let scalar = |name: &str| {
            stats
                .column(name)
                .ok()
                .and_then(|c| c.get(0).ok())
                .map(|v| v.into_static())
        };
        let plain_latest = scalar("latest_day").and_then(|v| v.extract::<i32>());
        let accelerator_latest = accelerator
            .column("day")
            .ok()
            .and_then(|c| c.i32().ok().and_then(|d| d.max()));
        Ok(BilledRows {
            egress: regroup(egress, "billing_account_id", &[], &["egress_gb"])?,
            totals: tables::stable(regroup(
                totals,
                "billing_currency",
                &["rows"],
                &["billed_cost", "quantity"],
            )?)?,
            rows_read: scalar("read").and_then(|v| v.extract::<u64>()).unwrap_or(0),
            latest_day: plain_latest.max(accelerator_latest),
            quarantined,
            accelerator,
        })
    }

    pub fn latest_day(&self) -> Result<NaiveDate> {
        let day = self.latest_day.ok_or_else(|| {
            Error::input(
                crate::error::Location::file("billing"),
                "no usable billing row, so no as-of date can be taken from the data (give --as-of or fix the input)",
            )
        })?;
        day.checked_add(719_163)
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(|| {
                Error::input(
                    crate::error::Location::file("billing"),
                    "the latest charge date is beyond the dates cipwatch can represent (give --as-of or fix the input)",
                )
            })
    }

    /// Fails closed when an identified accelerator has no peak figure at the profile's precision.
    /// Fails closed when an identified accelerator has no peak figure at the profile's precision;
    /// with `--allow-stale` its rows are quarantined instead and a warning is returned.
    pub fn check_reference(&mut self, allow_stale: bool) -> Result<Option<String>> {
        let no_peak = col("peak_ops_per_s").is_null();
        let missing = self
            .accelerator
            .clone()
            .lazy()
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
        if missing.height() == 0 {
            return Ok(None);
        }
        let list: Vec<String> = missing
            .column("what")
            .or_internal("catalog check")?
            .str()
            .or_internal("catalog check")?
            .iter()
            .flatten()
            .map(String::from)
            .collect();
        let message = format!(
            "the catalog has no peak op/s at the profile's precision for accelerators seen in billing: {}",
            list.join(", ")
        );
        if !allow_stale {
            return Err(Error::Reference(format!(
                "{message} (--allow-stale quarantines their rows instead)"
            )));
        }
        let moved = self
            .accelerator
            .clone()
            .lazy()
            .filter(no_peak.clone())
            .select(["row_id", sources::SOURCE_FILE, sources::ROW].map(col))
            .explode(
                by_name(["row_id", sources::ROW], true, false),
                ExplodeOptions {
                    empty_as_null: false,
                    keep_nulls: false,
                },
            )
            .with_columns([
                lit("catalog_missing_peak").alias(RULE),
                lit("the catalog has no peak op/s for this accelerator at the profile's precision")
                    .alias(REASON),
            ]);
        let order: Vec<Expr> = self
            .quarantined
            .get_column_names()
            .iter()
            .map(|c| col(c.as_str()))
            .collect();
        self.quarantined = concat(
            [self.quarantined.clone().lazy(), moved],
            UnionArgs {
                diagonal: true,
                ..Default::default()
            },
        )
        .and_then(|lf| lf.select(order).collect())
        .or_internal("quarantining rows without a peak figure")?;
        self.accelerator = self
            .accelerator
            .clone()
            .lazy()
            .filter(no_peak.not())
            .collect()
            .or_internal("catalog check")?;
        Ok(Some(format!(
            "--allow-stale: {message}; their rows were quarantined"
        )))
    }

    /// The accelerator usage the queries see: rows starting before `end_s`, compacted (contiguous
    /// hourly rows of a resource merged, see `transforms::compact`).
    pub fn usage_until(&self, end_s: i64) -> Result<DataFrame> {
        let mut columns: Vec<Expr> = USAGE_COLUMNS.iter().map(|c| col(*c)).collect();
        columns.push(col("source_rows"));
        compact::merge(&self.accelerator, end_s)
            .select(columns)
            .with_column(col("row_id").cast(DataType::Int64))
            .collect()
            .or_internal("accelerator usage")
    }

    /// How many identified accelerator usage rows the billing holds.
    pub fn accelerator_rows(&self) -> i64 {
        self.accelerator
            .column("rows")
            .ok()
            .and_then(|c| c.i64().ok().and_then(|r| r.sum()))
            .unwrap_or(0)
    }
}

fn input_error(bill: &Loaded, e: PolarsError) -> Error {
    let files: Vec<String> = bill.files.iter().map(|f| f.display.clone()).collect();
    Error::input(crate::error::Location::file(files.join(", ")), e)
}
