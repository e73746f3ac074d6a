//! Which charge days of the billing data are implausible: before the configured earliest charge
//! date, or in a small cluster of days cut off from the bulk of the data by a long gap without any
//! charge (one row dated 9999-12-30 in a November export). Such rows would otherwise set the
//! default as-of date and shift every window of the run, so they are quarantined instead
//! (`implausible_date`). The window is data (`[billing] earliest_charge_date`, `max_date_gap_days`,
//! `max_outlier_share`), not a constant here.

use polars::prelude::*;

use crate::config::BillingOptions;
use crate::error::{Context, Error, Result};

/// Rows per charge day (epoch days, ascending) of the rows that passed the row checks: the plain
/// rows' counts (`rows`) plus the merged accelerator usage's `source_rows`.
pub fn charge_days(plain: &DataFrame, accelerator: &LazyFrame) -> Result<Vec<(i32, i64)>> {
    let parts = [
        plain.clone().lazy().select([col("day"), col("rows")]),
        accelerator
            .clone()
            .select([col("day"), col("source_rows").alias("rows")]),
    ]
    .map(|lf| lf.with_column(col("rows").cast(DataType::Int64)));
    let df = concat(parts, UnionArgs::default())
        .and_then(|lf| {
            lf.filter(col("day").is_not_null())
                .group_by([col("day")])
                .agg([col("rows").sum()])
                .sort(["day"], Default::default())
                .collect()
        })
        .or_internal("charge days")?;
    let day = df.column("day").and_then(|c| c.i32().cloned());
    let rows = df.column("rows").and_then(|c| c.i64().cloned());
    let (day, rows) = (
        day.or_internal("charge days")?,
        rows.or_internal("charge days")?,
    );
    Ok(day
        .iter()
        .zip(rows.iter())
        .filter_map(|(d, r)| Some((d?, r.unwrap_or(0))))
        .collect())
}

/// The implausible days among `days` (ascending, with row counts): those before
/// `earliest_charge_date`, and every cluster of days (consecutive days no more than
/// `max_date_gap_days` apart) other than the largest that holds at most `max_outlier_share` of
/// the rows.
pub fn implausible_days(days: &[(i32, i64)], opts: &BillingOptions) -> Result<Vec<i32>> {
    let earliest = opts
        .earliest_day()
        .map_err(|e| Error::config("billing", e))?;
    let (early, rest): (Vec<_>, Vec<_>) = days.iter().partition(|(d, _)| *d < earliest);
    let mut clusters: Vec<Vec<(i32, i64)>> = Vec::new();
    for &(day, rows) in &rest {
        match clusters.last_mut() {
            Some(c) if day - c.last().map_or(day, |l| l.0) <= opts.max_date_gap_days => {
                c.push((day, rows))
            }
            _ => clusters.push(vec![(day, rows)]),
        }
    }
    let size = |c: &Vec<(i32, i64)>| c.iter().map(|(_, r)| *r).sum::<i64>();
    let total: i64 = rest.iter().map(|(_, r)| *r).sum();
    let largest = clusters.iter().map(size).max().unwrap_or(0);
    let mut out: Vec<i32> = early.iter().map(|(d, _)| *d).collect();
    let mut kept_largest = false;
    for c in &clusters {
        let rows = size(c);
        if rows == largest && !kept_largest {
            kept_largest = true;
            continue;
        }
        if rows as f64 <= opts.max_outlier_share * total as f64 {
            out.extend(c.iter().map(|(d, _)| *d));
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_far_future_row_is_implausible_and_a_long_history_is_not() {
        let opts = BillingOptions::default();
        let nov = 20_780; // 2026-11-23
        let mut days: Vec<(i32, i64)> = (0..30).map(|i| (nov - i, 100)).collect();
        days.sort();
        days.push((2_932_894, 1)); // 9999-12-30
        days.insert(0, (-3_000, 1)); // 1961: before the earliest charge date
        assert_eq!(implausible_days(&days, &opts).unwrap(), [-3_000, 2_932_894]);
        // Two large exports two years apart are both kept.
        let spread = [(18_000, 500), (18_800, 500)];
        assert!(implausible_days(&spread, &opts).unwrap().is_empty());
    }
}
