//! Transforms: accelerator identification (a vectorised match against the catalog) and the analytic
//! steps, which live as readable SQL in `queries/` and run here in order through Polars SQL. Each
//! query's result is registered under its name for the queries after it. Parameters reach SQL only
//! as the one-row `params` table, never by formatting text into a statement.

pub mod compact;
pub mod entities;
pub mod identify;
pub mod queries;

use polars::prelude::*;
use polars::sql::SQLContext;

use crate::config::profile::Params;
use crate::error::{Error, Result};
use queries::QuerySet;

/// The run-time values the queries may read besides the profile parameters.
pub struct RunValues {
    /// The as-of date as days since the Unix epoch.
    pub as_of_day: i32,
    /// The exclusive end of the as-of day, in seconds since the Unix epoch.
    pub as_of_end_s: i64,
}

/// Builds the one-row `params` table from the effective profile and the run values.
pub fn params_table(p: &Params, run: &RunValues) -> Result<DataFrame> {
    df!(
        "training_ops" => [p.training_ops],
        "cluster_peak_ops_per_s" => [p.cluster_peak_ops_per_s],
        "interconnect_gbps" => [p.interconnect_gbps],
        "report_due_days" => [p.report_due_days],
        "peak_precision" => [p.peak_precision.as_str()],
        "assumed_utilization" => [p.assumed_utilization],
        "watch_fraction" => [p.watch_fraction],
        "projection_horizon_days" => [p.projection_horizon_days],
        "burn_window_days" => [p.burn_window_days],
        "segment_gap_hours" => [p.segment_gap_hours],
        "training_min_hours" => [p.training_min_hours],
        "training_min_accelerators" => [p.training_min_accelerators],
        "material_accelerator_hours" => [p.material_accelerator_hours],
        "certification_period_days" => [p.certification_period_days],
        "retention_days" => [p.retention_days],
        "utilization_low" => [p.utilization_low],
        "plausible_run_days" => [p.plausible_run_days],
        "training_interconnect_gbps" => [p.training_interconnect_gbps],
        "steady_fraction" => [p.steady_fraction],
        "min_report_confidence" => [p.min_report_confidence],
        "sync_tolerance_hours" => [p.sync_tolerance_hours],
        "handover_gap_hours" => [p.handover_gap_hours],
        "handover_size_tolerance" => [p.handover_size_tolerance],
        "low_egress_gb_per_accelerator_hour" => [p.low_egress_gb_per_accelerator_hour],
        "as_of_day" => [run.as_of_day as i64],
        "as_of_end_s" => [run.as_of_end_s],
    )
    .map_err(|e| Error::internal("params table", e))
}

/// Runs every query of the set in order against the registered tables; each result is materialised
/// once and registered under the query's name. Returns the results by name.
///
/// `CIPWATCH_PROFILE=FILE` (a diagnostic switch, like `CIPWATCH_ENGINE`) runs each query under
/// Polars' profiler and appends its plan nodes' times to FILE, one `query<TAB>node<TAB>µs` line each.
pub fn run_all(ctx: &mut SQLContext, set: &QuerySet) -> Result<Vec<(String, DataFrame)>> {
    let profile = std::env::var_os("CIPWATCH_PROFILE");
    let mut results = Vec::with_capacity(set.queries.len());
    for q in &set.queries {
        let df = ctx
            .execute(&q.sql)
            .and_then(|lf| match &profile {
                None => lf.collect(),
                Some(file) => lf.profile().and_then(|(df, timings)| {
                    append_timings(file, &q.name, &timings)?;
                    Ok(df)
                }),
            })
            .map_err(|e| Error::config(format!("query {} ({})", q.file_name(), q.origin), e))?;
        ctx.register(&q.name, df.clone().lazy());
        results.push((q.name.clone(), df));
    }
    Ok(results)
}

/// Appends a query's profile (Polars' `node`, `start`, `end` in µs) to `file`.
fn append_timings(file: &std::ffi::OsStr, query: &str, timings: &DataFrame) -> PolarsResult<()> {
    use std::io::Write;
    let nodes = timings.column("node")?.str()?;
    let (start, end) = (
        timings.column("start")?.u64()?,
        timings.column("end")?.u64()?,
    );
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    for i in 0..timings.height() {
        let took = end
            .get(i)
            .unwrap_or(0)
            .saturating_sub(start.get(i).unwrap_or(0));
        writeln!(out, "{query}\t{}\t{took}", nodes.get(i).unwrap_or(""))?;
    }
    Ok(())
}
