//! Findings: the queries' `flags` and `training_runs` tables in their published form (calendar
//! dates and timestamps, the columns first, sorted), read once into typed rows for the
//! documents, the audit and `explain`, with the count of accounts per level, after the check that
//! every identified accelerator-hour reached an account.

use polars::prelude::*;
use std::collections::BTreeMap;

use crate::error::{Context, Error, Result};
use crate::sources::{ROW, SOURCE_FILE};
use crate::transforms::rows::records;
use crate::transforms::rows::{FlagRow, FLAGS, TRAINING_RUNS, USAGE_BY_TYPE};
use crate::transforms::QueryResults;

/// The findings of a run.
pub struct Findings {
    /// `flags`: one row per account with accelerator use.
    pub flags: DataFrame,
    /// `training_runs`: one row per run segment (typed rows of a few accounts:
    /// [`crate::transforms::rows::accounts_records`]).
    pub runs: DataFrame,
    pub flag_rows: Vec<FlagRow>,
    /// Level (`REPORTABLE`, `WATCH`, `CIP_GAP`, `CLEAR`) → number of accounts.
    pub levels: BTreeMap<String, u64>,
}

/// The findings stage: presents the query results, reconciles them with the identified usage
/// (`identified`: its accelerator-hours, [`accelerator_hours`], which must all reach an account)
/// and logs one event (`queries`: how many ran).
///
/// Errors: a result that breaks its table's contract (exit 2, [`crate::transforms::contracts`]); a
/// failed reconciliation (exit 1, a bug).
pub fn stage(results: &QueryResults, identified: f64, queries: usize) -> Result<Findings> {
    let flags = FLAGS.present(results.flags.clone(), "query flags")?;
    reconcile(identified, &flags)?;
    let runs = TRAINING_RUNS.present(results.training_runs.clone(), "query training_runs")?;
    let flag_rows: Vec<FlagRow> = records(&flags, "flags")?;
    let levels = count_levels(&flag_rows);
    tracing::info!(
        stage = "queries",
        queries,
        accounts = flags.height(),
        training_runs = runs.height(),
        "queries run"
    );
    Ok(Findings {
        flags,
        runs,
        flag_rows,
        levels,
    })
}

/// The instance types of each account's usage: (`billing_account_id`, `instance_type`,
/// `accelerator`) with the first three billing rows in time as `file:row`, `;`-joined (`sample_rows`). Taken
/// from the identified usage before the queries release it, a range of charge days at a time
/// (each range's first three rows per key, then the first three of those), so the usage is never
/// held whole.
///
/// Errors: internal when the usage lacks one of those columns.
pub fn sample_rows(usage: &LazyFrame) -> Result<DataFrame> {
    let carried = [SOURCE_FILE, ROW, "start_s", "row_id"];
    let firsts = |lf: LazyFrame| {
        let order = [col("start_s"), col("row_id")];
        lf.group_by(USAGE_KEY.map(col))
            .agg(carried.map(|c| {
                col(c)
                    .sort_by(order.clone(), SortMultipleOptions::default())
                    .head(Some(3))
            }))
            .explode(
                by_name(carried, true, false),
                ExplodeOptions {
                    empty_as_null: false,
                    keep_nulls: false,
                },
            )
    };
    let mut candidates = Vec::new();
    for part in crate::transforms::parts(usage.clone(), "day", crate::transforms::ROWS_PER_PART)
        .or_internal("sample usage rows")?
    {
        let df = firsts(usage.clone().filter(part.on("day")))
            .collect()
            .or_internal("sample usage rows")?;
        candidates.push(df.lazy());
    }
    if candidates.is_empty() {
        let columns = USAGE_KEY.iter().chain(&carried).map(|c| col(*c));
        candidates.push(usage.clone().select(columns.collect::<Vec<_>>()).limit(0));
    }
    concat(candidates, UnionArgs::default())
        .map(firsts)
        .and_then(|lf| {
            lf.group_by_stable(USAGE_KEY.map(col))
                .agg([concat_str(
                    [col(SOURCE_FILE), lit(":"), col(ROW).cast(DataType::String)],
                    "",
                    true,
                )
                .str()
                .join("; ", true)
                .alias("sample_rows")])
                .collect()
        })
        .or_internal("sample usage rows")
}

/// The key of `usage_by_type`: one row per account, instance type and accelerator.
const USAGE_KEY: [&str; 3] = ["billing_account_id", "instance_type", "accelerator"];

/// `usage_by_type`: each account's usage by instance type and accelerator, with the arithmetic's
/// inputs from its usage slots (`queries/02_usage_slots.sql`): billing rows, first start and last
/// end, accelerators per instance, accelerator-hours (and those measured by telemetry), peak op/s
/// and the precision it is taken at, interconnect, mean utilisation, full-utilisation and
/// estimated operations; and `samples` ([`sample_rows`]). Sorted by account, instance type and
/// accelerator. What `explain` shows of an account, published so that it reads the published run.
///
/// Errors: internal when the slots lack a column.
pub fn usage_by_type(slots: &LazyFrame, samples: DataFrame) -> Result<DataFrame> {
    let key = USAGE_KEY.map(col);
    let totals = crate::transforms::per_account_part(slots, "usage by instance type", |part| {
        type_totals(part, &key)
    })?;
    let df = totals
        .lazy()
        .join(
            samples.lazy(),
            key.clone(),
            key,
            JoinArgs::new(JoinType::Left),
        )
        .collect()
        .or_internal("usage by instance type")?;
    USAGE_BY_TYPE.present(df, "usage by instance type")
}

/// The totals of `usage_by_type` per account, instance type and accelerator, over `slots`.
fn type_totals(slots: LazyFrame, key: &[Expr; 3]) -> LazyFrame {
    slots.group_by(key.clone()).agg([
        col("source_rows").sum().cast(DataType::Int64).alias("rows"),
        col("start_s").min().alias("first_s"),
        col("end_s").max().alias("last_s"),
        (col("accelerators").sum().cast(DataType::Float64)
            / col("merged_rows").sum().cast(DataType::Float64))
        .alias("accelerators_per_instance"),
        col("accelerator_hours").sum(),
        col("accelerator_hours")
            .filter(col("utilization_source").eq(lit("telemetry")))
            .sum()
            .alias("telemetry_accelerator_hours"),
        col("peak_ops_per_s").first(),
        col("peak_precision_used").first(),
        col("interconnect_gbps").first(),
        (col("est_ops").sum() / col("upper_ops").sum()).alias("mean_utilization"),
        col("upper_ops").sum(),
        col("est_ops").sum(),
    ])
}

fn count_levels(flags: &[FlagRow]) -> BTreeMap<String, u64> {
    let mut levels = BTreeMap::new();
    for f in flags {
        *levels.entry(f.level.to_string()).or_insert(0) += 1;
    }
    levels
}

/// The accelerator-hours a table holds (`accelerator_hours` summed; `what` names it in an error),
/// the identified usage's before the queries run, to reconcile with the flags after.
///
/// Errors: internal when the column is missing or not numeric.
pub fn accelerator_hours(table: &LazyFrame, what: &str) -> Result<f64> {
    let sum = col("accelerator_hours").cast(DataType::Float64).sum();
    let total = crate::transforms::aggregate(table, sum, &format!("reconciliation: {what}"))?;
    Ok(total.extract::<f64>().unwrap_or(0.0))
}

/// "Used means counted": the accelerator-hours of the identified usage rows must equal the sum
/// over the accounts' flags rows, else a row was used but reached no account (an internal error,
/// exit 1, with the difference).
fn reconcile(identified: f64, flags: &DataFrame) -> Result<()> {
    let accounts = accelerator_hours(&flags.clone().lazy(), "flags")?;
    let difference = identified - accounts;
    // Flags are rounded to 12 significant digits per account.
    if difference.abs() > 1e-9 * identified.abs().max(1.0) {
        return Err(Error::bug(format!(
            "reconciliation failed: identified accelerator usage holds {identified} accelerator-hours, \
             the accounts' totals {accounts} (difference {difference})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciliation_fails_with_the_difference_when_hours_reach_no_account() {
        let usage = df!("accelerator_hours" => [192.0, 192.0, 16.0]).unwrap();
        let flags = df!("account_id" => ["a", "b"], "accelerator_hours" => [384.0, 16.0]).unwrap();
        let identified = accelerator_hours(&usage.lazy(), "usage").unwrap();
        assert!(reconcile(identified, &flags).is_ok());
        let lost = df!("account_id" => ["a"], "accelerator_hours" => [384.0]).unwrap();
        let err = reconcile(identified, &lost).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_INTERNAL);
        assert!(err.to_string().contains("difference 16"), "{err}");
    }
}
