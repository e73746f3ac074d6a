//! Accelerator telemetry inside a run: split into used and quarantined rows (counted in the
//! ledger), then cut to the intervals that start before the end of the as-of day. Telemetry is
//! optional: without it the queries see an empty table of the same shape.

use polars::prelude::*;

use crate::error::{Context, Result};
use crate::sources::files::InputFile;
use crate::sources::{self, telemetry};
use crate::transforms::quarantine::Ledger;

/// The telemetry stage: the used telemetry rows starting before `as_of_end_s` (seconds since the
/// Unix epoch, exclusive); rows starting later are counted as excluded. Logs one event.
///
/// Errors: input errors (exit 3) naming file, line and column.
pub fn stage(files: &[InputFile], as_of_end_s: i64, ledger: &mut Ledger) -> Result<DataFrame> {
    let used = match files.is_empty() {
        true => DataFrame::empty_with_schema(&schema()),
        false => {
            let loaded = telemetry::load(files.to_vec())?;
            let (all, _) = ledger.split(&loaded)?;
            let used = all
                .clone()
                .lazy()
                .filter(col("start_s").lt(lit(as_of_end_s)))
                .collect()
                .or_internal("telemetry window")?;
            ledger.exclude(
                "telemetry",
                "telemetry rows",
                "the interval starts after the as-of date".into(),
                (all.height() - used.height()) as u64,
            );
            used
        }
    };
    tracing::info!(
        stage = "telemetry",
        rows_used = used.height(),
        "telemetry loaded"
    );
    Ok(used)
}

/// The canonical telemetry columns (`sources::telemetry`), for the empty table.
fn schema() -> Schema {
    Schema::from_iter([
        Field::new("_row".into(), DataType::Int64),
        Field::new("resource_id".into(), DataType::String),
        Field::new("billing_account_id".into(), DataType::String),
        Field::new("start_s".into(), DataType::Int64),
        Field::new("end_s".into(), DataType::Int64),
        Field::new("instance_type".into(), DataType::String),
        Field::new("accelerator_count".into(), DataType::Float64),
        Field::new("avg_utilization".into(), DataType::Float64),
        Field::new("availability_zone".into(), DataType::String),
        Field::new("cluster_id".into(), DataType::String),
        Field::new(sources::SOURCE_FILE.into(), DataType::String),
    ])
}
