//! Accelerator telemetry inside a run: split into used and quarantined rows (counted in the
//! ledger), then cut to the intervals that start before the end of the as-of day. Telemetry is
//! optional: without it the queries see an empty table of the same shape.

use polars::prelude::*;

use crate::error::{Context, Result};
use crate::sources::files::InputFile;
use crate::sources::telemetry;
use crate::transforms::quarantine::Ledger;

/// The telemetry stage: the used telemetry rows starting before `as_of_end_s` (seconds since the
/// Unix epoch, exclusive); rows starting later are counted as excluded. Logs one event.
///
/// Errors: input errors (exit 3) naming file, line and column.
pub fn stage(files: &[InputFile], as_of_end_s: i64, ledger: &mut Ledger) -> Result<DataFrame> {
    let used = match files.is_empty() {
        true => telemetry::empty()?,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The empty table has the columns and types of telemetry read from a file, so a run without
    /// telemetry plans the queries on what a run with it gives them.
    #[test]
    fn the_empty_table_is_shaped_as_telemetry_read_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("telemetry.csv");
        std::fs::write(
            &path,
            format!(
                "{}\nr-1,111111111111,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,p5.48xlarge,8,0.5,us-east-1a,c-1\n",
                telemetry::REQUIRED.join(",")
            ),
        )
        .unwrap();
        let file = crate::sources::files::inspect(&path, dir.path()).unwrap();
        let (used, _) =
            crate::transforms::quarantine::split(&telemetry::load(vec![file]).unwrap()).unwrap();
        assert_eq!(used.height(), 1);
        let empty = telemetry::empty().unwrap();
        assert_eq!(empty.height(), 0);
        let sorted = |df: &DataFrame| {
            let mut fields: Vec<(String, DataType)> = df
                .schema()
                .iter()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            fields
        };
        assert_eq!(sorted(&empty), sorted(&used));
    }
}
