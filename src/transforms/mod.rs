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
use queries::{Query, QuerySet};

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
pub fn run_all(ctx: &mut SQLContext, set: &QuerySet) -> Result<Vec<(String, DataFrame)>> {
    let mut results = Vec::with_capacity(set.queries.len());
    for q in &set.queries {
        let df = execute(ctx, q)?;
        ctx.register(&q.name, df.clone().lazy());
        results.push((q.name.clone(), df));
    }
    Ok(results)
}

/// Runs one query alone on the given tables, each registered under its name (the `params` table
/// among them when the query reads it, e.g. from [`params_table`]), and returns its result. The
/// query cases of `tests/queries/` check each query file this way, on a few rows per input table.
/// Errors as [`run_all`]: a query that fails to plan or run (an input table or column missing) is a
/// configuration error naming the query file.
pub fn run_one(query: &Query, tables: &[(String, DataFrame)]) -> Result<DataFrame> {
    let mut ctx = SQLContext::new();
    for (name, df) in tables {
        ctx.register(name, df.clone().lazy());
    }
    execute(&mut ctx, query)
}

/// Plans, runs and materialises one query against the context's tables.
fn execute(ctx: &mut SQLContext, q: &Query) -> Result<DataFrame> {
    ctx.execute(&q.sql)
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::config(format!("query {} ({})", q.file_name(), q.origin), e))
}
