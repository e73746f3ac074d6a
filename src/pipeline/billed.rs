//! Billing rows after identification, in the two passes a run makes over the billing files: one
//! counting rows, totalling per currency and finding the latest usable charge day, one keeping only
//! the quarantined and accelerator rows (a small minority of a real export). Also the fail-closed
//! check of the catalog's peak figures.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::catalog::Catalog;
use crate::error::{Context, Error, Result};
use crate::sinks::tables;
use crate::sources::{self, Loaded, REASON, RULE};
use crate::transforms::identify::identify;

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
    pub accelerator: DataFrame,
}

/// Internet egress per account: usage rows in a data unit whose text matches `pattern`, in GB.
fn egress_plan(bill: &Loaded, pattern: &str) -> LazyFrame {
    let unit = col("unit")
        .str()
        .to_lowercase()
        .str()
        .strip_chars(lit(NULL));
    let data_unit = ["gb", "gib", "gigabytes", "tb", "tib"]
        .iter()
        .map(|u| unit.clone().eq(lit(*u)))
        .reduce(|a, b| a.or(b))
        .expect("units");
    let thousands = unit.clone().eq(lit("tb")).or(unit.eq(lit("tib")));
    bill.rows
        .clone()
        .filter(
            col(RULE)
                .is_null()
                .and(col("charge_category").eq(lit("usage")))
                .and(data_unit),
        )
        .filter(
            col("id_text")
                .str()
                .contains(lit(format!("(?i){pattern}")), false),
        )
        .group_by([col("billing_account_id")])
        .agg([when(thousands)
            .then(col("quantity") * lit(1000.0))
            .otherwise(col("quantity"))
            .sum()
            .alias("egress_gb")])
        .sort(["billing_account_id"], Default::default())
}

impl BilledRows {
    /// One joint execution over the billing files (Polars shares the scan and the identification
    /// between the outputs): counts and the latest usable charge day, totals per currency, egress per
    /// account, and the quarantined and accelerator rows (a small minority of a real export).
    pub fn collect(
        bill: &Loaded,
        catalog: &Catalog,
        hint: &str,
        egress_pattern: &str,
    ) -> Result<BilledRows> {
        let rows = identify(bill.rows.clone(), catalog, hint).with_row_index("row_id", None);
        let stats = rows.clone().select([
            len().cast(DataType::UInt64).alias("read"),
            col("day")
                .filter(col(RULE).is_null())
                .max()
                .alias("latest_day"),
        ]);
        let totals = bill
            .rows
            .clone()
            .group_by([col("billing_currency")])
            .agg([
                len().cast(DataType::Int64).alias("rows"),
                col("billed_cost").sum(),
                col("quantity").sum(),
            ])
            .sort(["billing_currency"], Default::default());
        let kept = rows
            .clone()
            .filter(col(RULE).is_not_null().or(col("is_accelerator")));
        let plans = vec![
            stats.logical_plan,
            totals.logical_plan,
            egress_plan(bill, egress_pattern).logical_plan,
            kept.logical_plan,
        ];
        let mut out = LazyFrame::collect_all_with_engine(
            plans,
            Engine::Auto,
            rows.get_current_optimizations(),
        )
        .map_err(|e| input_error(bill, e))?
        .into_iter();
        let mut next = || {
            out.next()
                .ok_or_else(|| Error::Internal("billing passes returned too few results".into()))
        };
        let (stats, totals, egress, kept) = (next()?, next()?, next()?, next()?);
        let quarantined = kept
            .clone()
            .lazy()
            .filter(col(RULE).is_not_null())
            .collect()
            .or_internal("billing quarantine")?;
        let accelerator = kept
            .lazy()
            .filter(col(RULE).is_null())
            .drop(by_name([RULE, REASON], true, false))
            .collect()
            .or_internal("billing usage")?;
        let scalar = |name: &str| {
            stats
                .column(name)
                .ok()
                .and_then(|c| c.get(0).ok())
                .map(|v| v.into_static())
        };
        Ok(BilledRows {
            egress,
            totals: tables::stable(totals)?,
            rows_read: scalar("read").and_then(|v| v.extract::<u64>()).unwrap_or(0),
            latest_day: scalar("latest_day").and_then(|v| v.extract::<i32>()),
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
        Ok(NaiveDate::from_num_days_from_ce_opt(day + 719_163).expect("epoch day in range"))
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

    pub fn usage_until(&self, end_s: i64) -> Result<DataFrame> {
        self.accelerator
            .clone()
            .lazy()
            .filter(col("start_s").lt(lit(end_s)))
            .select(USAGE_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
            .with_column(col("row_id").cast(DataType::Int64))
            .collect()
            .or_internal("accelerator usage")
    }
}

fn input_error(bill: &Loaded, e: PolarsError) -> Error {
    let files: Vec<String> = bill.files.iter().map(|f| f.display.clone()).collect();
    Error::input(crate::error::Location::file(files.join(", ")), e)
}
