//! `cipwatch catalog`: which instance types and SKUs of the billing input the accelerator catalog
//! recognised and which it did not — the command a provider runs after a new GPU launch, before
//! the nightly run meets it. It runs stage 1's identification over the configuration's billing
//! (no registry, nothing written) and prints one CSV row per instance type found, per catalog
//! gap, and per accelerator-like text the catalog does not know.

use polars::prelude::*;

use crate::error::{Context, Result, EXIT_OK};
use crate::pipeline;
use crate::plan::{self, PlanArgs, Stage1Billing};
use crate::sources::{REASON, RULE};
use crate::transforms::billed::{self, CATALOG_GAP};

/// Runs `cipwatch catalog`: prints the recognition table on stdout as CSV (written as every
/// cipwatch CSV: masked, neutralised), columns `status` (`recognised`, `catalog_gap`,
/// `unrecognised`), `instance_type`, `accelerator`, `peak` (the precision of its figure, or the
/// catalog-gap bound), `billing_rows`, `accelerator_hours`, `detail` (for an unrecognised row,
/// the text that made it look like an accelerator).
///
/// Errors: as stage 1's (configuration 2, input 3, catalog 4).
pub fn catalog(args: &PlanArgs) -> Result<i32> {
    let plan = plan::build_stage1(
        args,
        Stage1Billing::Named {
            specs: &[],
            known_as: None,
        },
    )?;
    let catalog = pipeline::load_catalog(plan.catalog_dir.as_deref(), &plan.profile.params)?;
    let input = pipeline::stage1_input(&plan, &catalog);
    let scanned = billed::Scanned::collect(&billed::load(&input)?, &catalog, &plan.billing, None)?;
    let table = concat(
        [
            recognised(&scanned.accelerator),
            unrecognised(&scanned.quarantined),
        ],
        UnionArgs::default(),
    )
    .and_then(|lf| lf.collect())
    .or_internal("catalog listing")?;
    let bytes = crate::sinks::tables::csv_bytes(&table)?;
    print!("{}", String::from_utf8_lossy(&bytes));
    Ok(EXIT_OK)
}

/// One row per (instance type, accelerator) identified: `recognised`, or `catalog_gap` where the
/// accelerator has no peak figure at the profile's precision (a run estimates it at the bound).
fn recognised(usage: &LazyFrame) -> LazyFrame {
    let gap = col("peak").is_null().or(col("peak").eq(lit(CATALOG_GAP)));
    usage
        .clone()
        .group_by([col("instance_type"), col("accelerator")])
        .agg([
            col("peak_precision_used").first().alias("peak"),
            col("source_rows")
                .sum()
                .cast(DataType::Int64)
                .alias("billing_rows"),
            col("accelerator_hours").sum().alias("accelerator_hours"),
        ])
        .sort(["instance_type", "accelerator"], Default::default())
        .select([
            when(gap)
                .then(lit("catalog_gap"))
                .otherwise(lit("recognised"))
                .alias("status"),
            col("instance_type"),
            col("accelerator"),
            col("peak"),
            col("billing_rows"),
            col("accelerator_hours"),
            lit(NULL).cast(DataType::String).alias("detail"),
        ])
}

/// One row per distinct reason of the rows quarantined `unrecognised_accelerator` (the reason
/// quotes the text that made the rows look like an accelerator).
fn unrecognised(quarantined: &DataFrame) -> LazyFrame {
    let null = || lit(NULL).cast(DataType::String);
    quarantined
        .clone()
        .lazy()
        .filter(col(RULE).eq(lit("unrecognised_accelerator")))
        .group_by([col(REASON)])
        .agg([len().cast(DataType::Int64).alias("billing_rows")])
        .sort([REASON], Default::default())
        .select([
            lit("unrecognised").alias("status"),
            null().alias("instance_type"),
            null().alias("accelerator"),
            null().alias("peak"),
            col("billing_rows"),
            lit(0.0).alias("accelerator_hours"),
            col(REASON).alias("detail"),
        ])
}
