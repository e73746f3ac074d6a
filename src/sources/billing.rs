//! FOCUS 1.0-1.2 billing exports. Columns are read by name (the FinOps sample has an un-prefixed
//! `Id` column in the middle), nulls may be `NULL`, enumerations mixed case, timestamps without
//! `T`/`Z`. Consumption is `ConsumedQuantity`/`ConsumedUnit`, falling back to
//! `PricingQuantity`/`PricingUnit`; corrections (`ChargeClass = Correction`) may be negative.
//! The text that names the instance type is gathered here in priority order (`SkuPriceDetails`,
//! configured `x_` columns, then free text) for the identification transform.

use polars::prelude::*;

use super::columns::{epoch_day, epoch_seconds, Cols};
use super::files::InputFile;
use super::native::{to_focus, Mappings};
use super::{first_failure, load_files, Loaded, Scan, ROW};
use crate::config::BillingOptions;
use crate::error::{Error, Location, Result};

pub const REQUIRED: &[&str] = &[
    "BillingAccountId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
];

/// Unit spellings (lower case, a leading `1 ` removed) and how many hours one unit is.
const UNIT_HOURS: &[(f64, &[&str])] = &[
    (
        1.0,
        &[
            "hour",
            "hours",
            "hr",
            "hrs",
            "h",
            "instance hour",
            "instance hours",
            "instance-hours",
            "hour(s)",
        ],
    ),
    (1.0 / 60.0, &["minute", "minutes", "min", "mins"]),
    (1.0 / 3600.0, &["second", "seconds", "sec", "secs", "s"]),
    (24.0, &["day", "days"]),
];

/// Loads billing files: FOCUS as is, native exports through their mapping. `format` forces one
/// format for every file; without it each file's format is detected from its header.
pub fn load(
    files: Vec<InputFile>,
    opts: &BillingOptions,
    mappings: &Mappings,
    format: Option<&str>,
) -> Result<Loaded> {
    let prepare = |s: &Scan| -> Result<(Scan, String)> {
        let format = match format {
            Some(f) => f.to_string(),
            None => mappings.detect(s)?,
        };
        match mappings.get(&format) {
            Some(mapping) => Ok((to_focus(s, mapping)?, format)),
            None => Ok((s.clone(), format)),
        }
    };
    load_files("billing", files, REQUIRED, prepare, |s| canonical(s, opts))
}

fn canonical(scan: &Scan, opts: &BillingOptions) -> Result<LazyFrame> {
    let c = Cols::new(&scan.schema);
    if !c.has("ConsumedQuantity") && !c.has("PricingQuantity") {
        return Err(Error::input(
            Location::file(&scan.file.path)
                .row(1)
                .column("ConsumedQuantity"),
            "required column missing: neither ConsumedQuantity nor PricingQuantity is present",
        ));
    }
    let consumed = c.number("ConsumedQuantity");
    let use_consumed = consumed.clone().is_not_null();
    let quantity = when(use_consumed.clone())
        .then(consumed)
        .otherwise(c.number("PricingQuantity"));
    let unit = when(use_consumed)
        .then(c.text("ConsumedUnit"))
        .otherwise(c.text("PricingUnit"));
    let start = c.timestamp("ChargePeriodStart");
    let end = c.timestamp("ChargePeriodEnd");
    let category = c.lower("ChargeCategory");
    let class = c.lower("ChargeClass");

    let mut id_sources = vec![c.text("SkuPriceDetails")];
    id_sources.extend(opts.instance_type_columns.iter().map(|n| c.text(n)));
    id_sources.extend(opts.text_columns.iter().map(|n| c.text(n)));
    let id_text = concat_str(id_sources, " | ", true).str().to_lowercase();
    let gpu_count = c
        .lower("SkuPriceDetails")
        .str()
        .extract(lit(r#""gpucount"\s*:\s*"?([0-9]+(?:\.[0-9]+)?)"#), 1)
        .cast(DataType::Float64);

    let mut checks = vec![(
        c.text("BillingAccountId").is_null(),
        "missing_account",
        lit("BillingAccountId is empty"),
    )];
    for name in ["ChargePeriodStart", "ChargePeriodEnd"] {
        checks.push((
            c.text(name).is_null(),
            "missing_timestamp",
            lit(format!("{name} is empty")),
        ));
        checks.push((
            c.bad_timestamp(name),
            "bad_timestamp",
            c.quoted(&format!("{name} is not a timestamp:"), name),
        ));
    }
    checks.push((
        end.clone().lt_eq(start.clone()),
        "end_not_after_start",
        lit("ChargePeriodEnd is not after ChargePeriodStart"),
    ));
    for name in [
        "ConsumedQuantity",
        "PricingQuantity",
        "BilledCost",
        "EffectiveCost",
    ] {
        checks.push((
            c.bad_number(name),
            "bad_number",
            c.quoted(&format!("{name} is not a number:"), name),
        ));
    }

    let [rule, reason] = first_failure(checks);
    Ok(scan.lf.clone().select([
        col(ROW),
        c.text("BillingAccountId").alias("billing_account_id"),
        c.text("SubAccountId").alias("sub_account_id"),
        category.alias("charge_category"),
        class.alias("charge_class"),
        start.clone().alias("charge_start"),
        end.clone().alias("charge_end"),
        epoch_seconds(start.clone()).alias("start_s"),
        epoch_seconds(end).alias("end_s"),
        epoch_day(start).alias("day"),
        quantity.alias("quantity"),
        unit.clone().alias("unit"),
        hours_per_unit(unit).alias("hours_per_unit"),
        c.number("BilledCost").alias("billed_cost"),
        c.number("EffectiveCost").alias("effective_cost"),
        c.text("BillingCurrency").alias("billing_currency"),
        c.text("ResourceId").alias("resource_id"),
        c.text("AvailabilityZone").alias("availability_zone"),
        c.text("RegionId").alias("region_id"),
        c.text("PricingCategory").alias("pricing_category"),
        c.text("CommitmentDiscountId")
            .is_not_null()
            .or(c.text("CapacityReservationId").is_not_null())
            .alias("reserved_capacity"),
        id_text.alias("id_text"),
        gpu_count.alias("gpu_count"),
        rule,
        reason,
    ]))
}

/// Hours per unit of a unit string, or null when the unit is not a time unit cipwatch knows.
pub fn hours_per_unit(unit: Expr) -> Expr {
    let text = unit.str().to_lowercase().str().strip_chars(lit(NULL));
    // A leading block size ("10 Hours", "1000 Requests") multiplies the unit.
    let block = text
        .clone()
        .str()
        .extract(lit(r"^([0-9]+)\s+"), 1)
        .cast(DataType::Float64)
        .fill_null(lit(1.0));
    let key = text.str().replace(lit(r"^[0-9]+\s+"), lit(""), false);
    let mut hours = lit(NULL).cast(DataType::Float64);
    for (per_unit, spellings) in UNIT_HOURS.iter().rev() {
        let hit = spellings
            .iter()
            .map(|s| key.clone().eq(lit(*s)))
            .reduce(|a, b| a.or(b))
            .expect("spellings");
        hours = when(hit).then(lit(*per_unit)).otherwise(hours);
    }
    hours * block
}
