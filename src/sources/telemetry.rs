//! Accelerator usage telemetry (optional): one row per resource and interval with the accelerators
//! in use, their average utilisation and their placement (zone, cluster or fabric). Where present it
//! replaces the profile's assumed utilisation and refines co-location; billing alone must suffice.

use polars::prelude::*;

use super::columns::{epoch_seconds, present_check, timestamp_check, Cols};
use super::files::InputFile;
use super::{first_failure, load_all, Loaded, Scan, REASON, ROW, RULE, SOURCE_FILE};
use crate::error::{Context, Result};

pub const REQUIRED: &[&str] = &[
    "resource_id",
    "billing_account_id",
    "period_start",
    "period_end",
    "instance_type",
    "accelerator_count",
    "avg_utilization",
    "availability_zone",
    "cluster_id",
];

/// Key columns: cleaned of removable invisible characters; any other one quarantines the row.
const KEYS: &[&str] = &[
    "resource_id",
    "billing_account_id",
    "instance_type",
    "cluster_id",
];

/// The plausible number of accelerators of one telemetry row (a whole placement group at most).
const MAX_ACCELERATORS: f64 = 1e7;

pub fn load(files: Vec<InputFile>) -> Result<Loaded> {
    load_all("telemetry", files, REQUIRED, canonical)
}

/// The used telemetry table with no rows, as the queries see it without telemetry: the columns
/// [`canonical`] makes (planned on a file of the required columns, all text) and the file column,
/// without the rule and reason. One definition of the telemetry columns: the select below.
///
/// Errors: internal when Polars cannot plan the empty table.
pub fn empty() -> Result<DataFrame> {
    let mut fields = vec![Field::new(ROW.into(), DataType::Int64)];
    fields.extend(
        REQUIRED
            .iter()
            .map(|c| Field::new((*c).into(), DataType::String)),
    );
    let schema = Schema::from_iter(fields);
    let file = DataFrame::empty_with_schema(&schema).lazy();
    canonical_of(&schema, file)?
        .with_column(lit("").alias(SOURCE_FILE))
        .drop(by_name([RULE, REASON], true, false))
        .collect()
        .or_internal("the empty telemetry table")
}

fn canonical(scan: &Scan) -> Result<LazyFrame> {
    canonical_of(&scan.schema, scan.lf.clone())
}

/// The canonical telemetry rows of a file of this `schema`, with each row's first failed check.
fn canonical_of(schema: &Schema, file: LazyFrame) -> Result<LazyFrame> {
    let c = Cols::new(schema);
    let (start, end) = (c.timestamp("period_start"), c.timestamp("period_end"));
    let util = c.number("avg_utilization");
    let count = c.number("accelerator_count");
    let mut checks = vec![
        present_check(&c, "resource_id"),
        present_check(&c, "billing_account_id"),
    ];
    checks.extend(KEYS.iter().map(|k| c.key_check(k)));
    for name in ["period_start", "period_end"] {
        checks.push(present_check(&c, name));
        checks.push(timestamp_check(&c, name));
    }
    checks.push((
        end.clone().lt_eq(start.clone()),
        "end_not_after_start",
        "period_end is not after period_start".into(),
    ));
    checks.extend(c.number_checks("avg_utilization", 1.0));
    checks.extend(c.number_checks("accelerator_count", MAX_ACCELERATORS));
    checks.push((
        util.clone().lt(lit(0.0)).or(util.clone().gt(lit(1.0))),
        "out_of_range",
        c.quoted(
            "avg_utilization must be between 0 and 1, got",
            "avg_utilization",
        ),
    ));
    checks.push((
        count.clone().lt(lit(0.0)),
        "out_of_range",
        c.quoted("accelerator_count is negative:", "accelerator_count"),
    ));
    let [rule, reason] = first_failure(checks);
    Ok(file.select([
        col(ROW),
        c.key("resource_id").alias("resource_id"),
        c.key("billing_account_id").alias("billing_account_id"),
        epoch_seconds(start).alias("start_s"),
        epoch_seconds(end).alias("end_s"),
        c.key("instance_type")
            .str()
            .to_lowercase()
            .alias("instance_type"),
        count.alias("accelerator_count"),
        util.alias("avg_utilization"),
        c.text("availability_zone").alias("availability_zone"),
        c.key("cluster_id").alias("cluster_id"),
        rule,
        reason,
    ]))
}
