//! Compaction of accelerator usage: a provider bills a running instance hour by hour, so a month
//! of one 8-GPU instance is 720 rows that say the same thing. Rows of one resource that follow on
//! without a gap (each starts where the previous ended), on the same UTC day, with everything else
//! equal (account, placement, instance type, catalog figures, pricing, file, and accelerators busy
//! per second) are merged into one row spanning them: their accelerator-hours are summed,
//! `source_rows` counts them and the first row's file, row and `row_id` stand for them.
//!
//! [`compact`] works on one day bucket of the staged usage at a time, in memory. A row that no other
//! row of the bucket shares its resource and day with cannot merge, and is its own merged row at once:
//! on a GPU cloud's fragmented usage nearly every row is. The others go through two steps: [`group`]
//! groups them by everything that must be equal and keeps per row only the few numbers that differ
//! (times, row ids, hours) as lists; [`merge`] orders each group's rows in time and merges the runs
//! that follow on, keeping each billing row's keys in a table beside the merged rows (to quarantine
//! it later, `billing_rows`). A group of one row skips the sorting and grouping. Stage 1 ends with
//! merged rows: they are what a prepared dataset holds.
//!
//! Nothing the queries compute changes: the co-location sweep sees the same running totals at
//! every instant (an end and a start at one instant net to zero), runs are the same islands, daily
//! operations fall on the same day, and sums differ at most in the last bits of a float. What it
//! saves is every per-row cost downstream; hourly billing shrinks about 24-fold.

use polars::prelude::*;

use super::Merge;
use crate::sources::{ROW, SOURCE_FILE};

/// Columns that must be equal for two rows to merge (besides following on in time): the usage's
/// key columns ([`super::USAGE`]) and `_rate`, the billed rate, which only compaction reads.
fn same() -> Vec<&'static str> {
    let mut key = super::usage_columns(Some(Merge::Key));
    key.push("_rate");
    key
}

/// Columns kept per row inside a group ([`super::USAGE`]).
fn per_row() -> Vec<&'static str> {
    super::usage_columns(Some(Merge::PerRow))
}

/// Columns summed over the merged rows.
const SUMMED: &[&str] = &["accelerator_hours"];

fn columns(names: &[&str]) -> Vec<Expr> {
    names.iter().map(|c| col(*c)).collect()
}

/// A bucket's usage rows (the accelerator usage columns, in `row_id` order) merged where they
/// follow on: a row no other row of the bucket shares its resource and day with cannot merge, so
/// it is its own merged row at once (on a GPU cloud's fragmented usage, nearly every row); only the
/// others are grouped ([`group`]) and merged ([`merge`]). The result is [`merge`]'s of all the rows.
///
/// Errors: Polars' own, when the bucket's columns are not the usage columns.
pub fn compact(usage: DataFrame) -> PolarsResult<Merged> {
    let alone = usage
        .clone()
        .lazy()
        .select([len()
            .over([col("resource_id"), col("day")])?
            .eq(lit(1))
            .alias("alone")])
        .collect()?;
    let (mut alone, others) = split(usage, alone.column("alone")?.bool()?)?;
    let groups = group(others.lazy()).collect()?;
    let height = alone.height();
    alone.with_column(Column::new_scalar(
        "source_rows".into(),
        Scalar::from(1i64),
        height,
    ))?;
    merge_with(groups, Some(alone))
}

/// Usage rows (the accelerator usage columns) grouped by everything that must be equal to merge:
/// the key columns, `rows`, and a list per [`per_row`] column.
pub fn group(usage: LazyFrame) -> LazyFrame {
    let rate = col("accelerator_hours") / (col("end_s") - col("start_s")).cast(DataType::Float64);
    let mut aggs: Vec<Expr> = per_row()
        .into_iter()
        .map(|c| col(c).implode(false))
        .collect();
    aggs.push(len().cast(DataType::Int64).alias("rows"));
    usage
        .with_column(rate.alias("_rate"))
        .group_by(columns(&same()))
        .agg(aggs)
}

/// In the keys table: the `row_id` of the merged row a billing row went into.
pub const MERGED_ROW_ID: &str = "merged_row_id";

/// The merged usage: one row per run of rows that follow on, and the keys of the billing rows each
/// stands for, so they can still be quarantined one by one.
pub struct Merged {
    /// The key columns (but `_rate`), `row_id`, `_row` and `start_s` of the first row, `end_s`
    /// of the last, `source_rows` and the `SUMMED` columns summed in time order; by `row_id`.
    pub rows: DataFrame,
    /// One row per billing row: `row_id`, `_row`, `MERGED_ROW_ID`; by `row_id`.
    pub keys: DataFrame,
}

/// The grouped rows merged where they follow on (see the module header). A group of one row (on
/// fragmented usage, nearly all of them) is its own merged row; the others are ordered in time and
/// cut where a row does not start at the previous one's end. A merged row lies within one UTC
/// day, so the rows before a day boundary are whole merged rows: `before` takes them.
///
/// Memory: `groups` is taken and consumed a column at a time where that is possible (the split,
/// the single-row groups' explode, the final order by `row_id`), so on fragmented usage, where
/// nearly every group is one row, the step holds about one copy of the rows and a column more. The
/// groups of several rows (most of them on hourly billing, where they are 24 times fewer than
/// their rows) go through an in-memory plan that holds them, their rows exploded and the merged
/// runs together.
pub fn merge(groups: DataFrame) -> PolarsResult<Merged> {
    merge_with(groups, None)
}

/// [`merge`] of `groups`, with `alone`: rows known to be groups of one (the usage columns and
/// `source_rows`), merged rows as they are.
fn merge_with(groups: DataFrame, alone: Option<DataFrame>) -> PolarsResult<Merged> {
    let single = groups.column("rows")?.i64()?.equal(1);
    let (singles, several) = split(groups, &single)?;
    let mut singles = explode_singles(singles)?.select(merged_names())?;
    if let Some(alone) = alone {
        singles.vstack_mut_owned(alone.select(merged_names())?)?;
    }
    let single_keys = DataFrame::new_infer_height(vec![
        singles.column("row_id")?.clone(),
        singles.column(ROW)?.clone(),
        singles
            .column("row_id")?
            .clone()
            .with_name(MERGED_ROW_ID.into()),
    ])?;
    let mut rows = singles;
    let mut keys = single_keys;
    if several.height() > 0 {
        let runs = merge_runs(several)?;
        rows.vstack_mut(&runs.rows)?;
        keys.vstack_mut(&runs.keys)?;
    }
    Ok(Merged {
        rows: in_row_id_order(rows)?,
        keys: in_row_id_order(keys)?,
    })
}

/// `df`'s rows where `mask` holds and where it does not.
fn split(df: DataFrame, mask: &BooleanChunked) -> PolarsResult<(DataFrame, DataFrame)> {
    let mut parts = filter_each(df, &[mask, &!mask])?.into_iter();
    match (parts.next(), parts.next()) {
        (Some(yes), Some(no)) => Ok((yes, no)),
        _ => Err(PolarsError::ComputeError(
            "split returned too few frames".into(),
        )),
    }
}

/// `df` filtered by each mask, taking `df` a column at a time (each column is dropped once
/// filtered), so the rows are never held twice whole.
fn filter_each(df: DataFrame, masks: &[&BooleanChunked]) -> PolarsResult<Vec<DataFrame>> {
    let mut out: Vec<Vec<Column>> = masks.iter().map(|_| Vec::new()).collect();
    for c in df.into_columns() {
        for (mask, columns) in masks.iter().zip(&mut out) {
            columns.push(c.filter(mask)?);
        }
    }
    masks
        .iter()
        .zip(out)
        .map(|(mask, columns)| DataFrame::new(mask.sum().unwrap_or(0) as usize, columns))
        .collect()
}

/// Groups of one row as merged rows: each per-row list's one value, `source_rows` 1.
fn explode_singles(groups: DataFrame) -> PolarsResult<DataFrame> {
    let height = groups.height();
    let lists = per_row();
    let opts = ExplodeOptions {
        empty_as_null: false,
        keep_nulls: false,
    };
    let mut out = Vec::new();
    for c in groups.into_columns() {
        match lists.contains(&c.name().as_str()) {
            true => out.push(c.explode(opts)?),
            false => out.push(c),
        }
    }
    out.push(Column::new_scalar(
        "source_rows".into(),
        Scalar::from(1i64),
        height,
    ));
    DataFrame::new(height, out)
}

/// `df` ordered by `row_id`, gathered a column at a time (each source column is dropped once
/// gathered).
fn in_row_id_order(df: DataFrame) -> PolarsResult<DataFrame> {
    let order = df.column("row_id")?.arg_sort(SortOptions::default());
    let height = df.height();
    let columns = df
        .into_columns()
        .into_iter()
        .map(|c| c.take(&order))
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(height, columns)
}

/// Groups of several rows ordered in time and merged where they follow on: the merged rows
/// ([`merged_names`]) and each billing row's keys.
fn merge_runs(groups: DataFrame) -> PolarsResult<Merged> {
    let keyed = groups.lazy().with_row_index("_group", None);
    let follows_on = col("start_s")
        .eq(col("end_s").shift(lit(1)))
        .and(col("_group").eq(col("_group").shift(lit(1))))
        .fill_null(lit(false));
    let mut kept = vec![col("_group")];
    kept.extend(columns(&per_row()));
    let runs = keyed
        .clone()
        .select(kept)
        .explode(
            by_name(per_row(), true, false),
            ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            },
        )
        .sort(["_group", "start_s", "row_id"], Default::default())
        .with_column(follows_on.not().alias("_first"))
        .with_columns([
            col("_first")
                .cast(DataType::UInt32)
                .cum_sum(false)
                .alias("_segment"),
            when(col("_first"))
                .then(col("row_id"))
                .otherwise(lit(NULL).cast(IDX_DTYPE))
                .fill_null_with_strategy(FillNullStrategy::Forward(None))
                .alias(MERGED_ROW_ID),
        ])
        .cache();
    let mut aggs = vec![
        col("_group").first(),
        col("row_id").first(),
        col(ROW).first(),
        col("start_s").first(),
        col("end_s").last(),
        len().cast(DataType::Int64).alias("source_rows"),
    ];
    aggs.extend(SUMMED.iter().map(|c| col(*c).sum()));
    let mut key = vec![col("_group")];
    key.extend(columns(&same()));
    let rows = runs
        .clone()
        .group_by([col("_segment")])
        .agg(aggs)
        .join(
            keyed.select(key),
            [col("_group")],
            [col("_group")],
            JoinArgs::new(JoinType::Inner),
        )
        .select(merged_names().into_iter().map(col).collect::<Vec<_>>());
    let keys = runs.select([col("row_id"), col(ROW), col(MERGED_ROW_ID)]);
    let opts = rows.get_current_optimizations();
    let mut out = LazyFrame::collect_all_with_engine(
        vec![rows.logical_plan, keys.logical_plan],
        Engine::InMemory,
        opts,
    )?
    .into_iter();
    match (out.next(), out.next()) {
        (Some(rows), Some(keys)) => Ok(Merged { rows, keys }),
        _ => Err(PolarsError::ComputeError(
            "merge returned too few frames".into(),
        )),
    }
}

/// The columns of a merged row, in order.
fn merged_names() -> Vec<&'static str> {
    let mut out = super::usage_columns(Some(Merge::Key));
    out.extend(["row_id", ROW, "start_s", "end_s", "source_rows"]);
    out.extend(SUMMED);
    out
}

/// The billing rows that `merged` rows (some of [`Merged::rows`]) stand for, from `keys`:
/// `row_id`, the file and `_row`.
pub fn billing_rows(merged: LazyFrame, keys: LazyFrame) -> LazyFrame {
    keys.join(
        merged.select([col("row_id").alias(MERGED_ROW_ID), col(SOURCE_FILE)]),
        [col(MERGED_ROW_ID)],
        [col(MERGED_ROW_ID)],
        JoinArgs::new(JoinType::Inner),
    )
    .select([col("row_id"), col(SOURCE_FILE), col(ROW)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(rows: &[(&str, i64, i64, f64)]) -> DataFrame {
        let n = rows.len();
        let mut df = df!(
            "row_id" => (0..n as i64).collect::<Vec<_>>(),
            "_row" => (2..n as i64 + 2).collect::<Vec<_>>(),
            "resource_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "start_s" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "end_s" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            "accelerator_hours" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            "day" => rows.iter().map(|r| (r.1 / 86_400) as i32).collect::<Vec<_>>(),
            "accelerators" => vec![8.0; n],
            "interconnect_gbps" => vec![3200.0; n],
            "peak_ops_per_s" => vec![9.89e14; n],
            "reserved_capacity" => vec![false; n],
        )
        .unwrap();
        for name in [
            crate::sources::SOURCE_FILE,
            "billing_account_id",
            "sub_account_id",
            "availability_zone",
            "region_id",
            "instance_type",
            "accelerator",
            "peak_precision_used",
            "charge_class",
            "pricing_category",
        ] {
            df.with_column(Column::new(name.into(), vec!["x"; n]))
                .unwrap();
        }
        df
    }

    fn spans(df: &DataFrame) -> Vec<(i64, i64, i64, f64)> {
        let c = |n: &str| df.column(n).unwrap().clone();
        let (s, e, k, h) = (
            c("start_s"),
            c("end_s"),
            c("source_rows"),
            c("accelerator_hours"),
        );
        (0..df.height())
            .map(|i| {
                (
                    s.i64().unwrap().get(i).unwrap(),
                    e.i64().unwrap().get(i).unwrap(),
                    k.i64().unwrap().get(i).unwrap(),
                    h.f64().unwrap().get(i).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn merges_what_follows_on_and_keeps_gaps_days_and_rates_apart() {
        let h = 3600;
        let day = 86_400;
        let df = usage(&[
            ("r-1", 0, h, 8.0),
            ("r-2", 0, h, 8.0),
            ("r-1", h, 2 * h, 8.0),
            ("r-1", 2 * h, 3 * h, 8.0),
            ("r-1", 4 * h, 5 * h, 8.0), // a gap: a new row
            ("r-1", 5 * h, 6 * h, 4.0), // half the fleet: another rate
            ("r-1", day - h, day, 8.0), // last hour of the day
            ("r-1", day, day + h, 8.0), // next day: not merged across midnight
            ("r-2", h, 2 * h, 8.0),
        ]);
        let groups = group(df.clone().lazy()).collect().unwrap();
        let merged = merge(groups).unwrap();
        // A row alone on its resource and day (r-1's of the next day) skips the grouping: the
        // same merged rows.
        let compacted = compact(df).unwrap();
        assert_eq!(compacted.rows, merged.rows);
        assert_eq!(compacted.keys, merged.keys);
        let out = merged.rows.clone();
        assert_eq!(
            spans(&out),
            [
                (0, 3 * h, 3, 24.0),
                (0, 2 * h, 2, 16.0),
                (4 * h, 5 * h, 1, 8.0),
                (5 * h, 6 * h, 1, 4.0),
                (day - h, day, 1, 8.0),
                (day, day + h, 1, 8.0),
            ]
        );
        let rows: Vec<i64> = out
            .column("_row")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(rows, [2, 3, 6, 7, 8, 9]);
        // Every billing row is still there, by its keys.
        let mut keys: Vec<(u32, i64)> = {
            let rows = billing_rows(out.lazy(), merged.keys.lazy())
                .collect()
                .unwrap();
            let id = rows
                .column("row_id")
                .unwrap()
                .cast(&DataType::UInt32)
                .unwrap();
            let row = rows.column("_row").unwrap().i64().unwrap().clone();
            id.u32()
                .unwrap()
                .into_no_null_iter()
                .zip(row.into_no_null_iter())
                .collect()
        };
        keys.sort();
        let expected: Vec<(u32, i64)> = (0..9).map(|i| (i, i as i64 + 2)).collect();
        assert_eq!(keys, expected);
    }
}
