//! FOCUS 1.0-1.2 billing exports. Columns are read by name (the FinOps sample has an un-prefixed
//! `Id` column in the middle), nulls may be `NULL`, enumerations mixed case, timestamps without
//! `T`/`Z`. Consumption is `ConsumedQuantity`/`ConsumedUnit`, falling back to
//! `PricingQuantity`/`PricingUnit`; corrections (`ChargeClass = Correction`) may be negative.
//! The text that names the instance type is gathered here in priority order (`SkuPriceDetails`,
//! configured `x_` columns, then free text) for the identification transform.

use std::sync::LazyLock;

use polars::prelude::*;

use super::columns::{clean, clean_key, epoch_day, epoch_seconds, Check, Cols};
use super::files::InputFile;
use crate::distinct::per_distinct;
pub mod focus;
pub mod native;

use super::{assemble, first_failure, prepare_files, versions, Loaded, Scan, SupersededFile, ROW};
use crate::config::BillingOptions;
use crate::error::{Error, Location, Result};
use focus::{GPU_COUNT_RULE, REQUIRED, SPLIT_SKU_ROWS, UNUSED_COMMITMENT};
use native::{to_focus, Mappings};

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
/// format for every file; without it each file's format is detected from its header. An earlier
/// delivery of an AWS report whose newer delivery is also given is left out (`versions`), named in
/// the result's `superseded`.
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
    refuse_repeated_files(&files)?;
    let prepared = prepare_files(&files, prepare)?;
    let scans: Vec<Scan> = prepared.iter().map(|p| p.scan.clone()).collect();
    let superseded = versions::superseded(&files, &scans)?;
    let left_out: Vec<SupersededFile> = superseded
        .iter()
        .map(|s| SupersededFile {
            file: files[s.file].display.clone(),
            by: files[s.by].display.clone(),
            rows: s.rows,
        })
        .collect();
    let dropped: std::collections::BTreeSet<usize> = superseded.iter().map(|s| s.file).collect();
    let (files, prepared): (Vec<InputFile>, Vec<super::Prepared>) = files
        .into_iter()
        .zip(prepared)
        .enumerate()
        .filter(|(i, _)| !dropped.contains(i))
        .map(|(_, pair)| pair)
        .unzip();
    let in_parts: Vec<bool> = prepared.iter().map(|p| read_in_parts(&p.scan)).collect();
    let mut loaded = assemble("billing", files, prepared, REQUIRED, |s| canonical(s, opts))?;
    loaded.superseded = left_out;
    loaded.read_in_parts = in_parts;
    Ok(loaded)
}

/// Whether a slice of a billing file's canonical rows reads only that part of the file: a
/// Parquet file (read by row group; a CSV file is parsed from its start) without a native line
/// id, whose duplicate check (`duplicate_line_item`) compares each line with the whole file's.
fn read_in_parts(scan: &Scan) -> bool {
    scan.file.format == super::files::Format::Parquet && !scan.schema.contains(LINE_ITEM_ID)
}

/// Refuses (exit 3) billing input holding the same file content twice (same SHA-256: an export
/// delivered again, a re-run export job, a manual re-download into the same folder): every row of
/// it would count twice, and which copy is meant cannot be known. The error names both files.
fn refuse_repeated_files(files: &[InputFile]) -> Result<()> {
    let mut seen: std::collections::HashMap<&str, &InputFile> = Default::default();
    for file in files {
        if let Some(first) = seen.insert(&file.sha256, file) {
            return Err(Error::input(
                Location::file(&file.path),
                format!(
                    "same content (SHA-256) as billing file {}: a file given twice would count its \
                     usage twice; remove one of the two",
                    first.display
                ),
            ));
        }
    }
    Ok(())
}

/// The identification text columns, in priority order: `SkuPriceDetails`, the configured
/// instance-type columns, then the free-text columns.
pub fn id_columns(opts: &BillingOptions) -> Vec<String> {
    let sources = 1 + opts.instance_type_columns.len() + opts.text_columns.len();
    (0..sources).map(|i| format!("_id{i}")).collect()
}

/// The identification columns that state the instance type as a field (`SkuPriceDetails`, the
/// configured instance-type columns other than a meter name, which is SKU text), not in free text.
pub fn structured_columns(opts: &BillingOptions) -> Vec<String> {
    let all = id_columns(opts);
    let fields = std::iter::once(&"SkuPriceDetails".to_string())
        .chain(&opts.instance_type_columns)
        .map(|n| !n.to_lowercase().contains("meter"))
        .collect::<Vec<_>>();
    all.into_iter()
        .zip(fields)
        .filter_map(|(c, field)| field.then_some(c))
        .collect()
}

/// The identification columns that hold the SKU's own words (the configured `text_columns`), which
/// say whether a row bills an instance, one GPU or one component: those naming the SKU (`Sku...`
/// columns: `SkuId`, `SkuMeter`) and the free-text ones (`ChargeDescription`, `ResourceType`).
pub fn sku_text_columns(opts: &BillingOptions) -> (Vec<String>, Vec<String>) {
    let all = id_columns(opts);
    let text = &all[all.len() - opts.text_columns.len()..];
    let (mut sku, mut free) = (Vec::new(), Vec::new());
    for (c, name) in text.iter().zip(&opts.text_columns) {
        match name.to_lowercase().starts_with("sku") {
            true => sku.push(c.clone()),
            false => free.push(c.clone()),
        }
    }
    (sku, free)
}

/// The canonical billing columns of every row, built for the pass over the whole export: the
/// checks every row needs (only where the column's type lets a cell be bad: a Parquet timestamp
/// cannot fail to parse), typed times, quantities and costs; text columns as read, cleaned by
/// `finish` on the rows kept.
fn canonical(scan: &Scan, opts: &BillingOptions) -> Result<LazyFrame> {
    let c = Cols::labelled(&scan.schema, &scan.labels);
    refuse_nested(scan, opts)?;
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
        .then(consumed.clone())
        .otherwise(c.number("PricingQuantity"));
    // A consumed quantity without its unit (blank `ConsumedUnit`) takes the pricing unit where the
    // pricing quantity is the same number: the same measure, priced in that unit.
    let same_measure = c
        .number("PricingQuantity")
        .eq(consumed)
        .fill_null(lit(false));
    let consumed_unit = use_consumed.and(c.blank("ConsumedUnit").not().or(same_measure.not()));
    let unit = when(consumed_unit)
        .then(c.raw("ConsumedUnit"))
        .otherwise(c.raw("PricingUnit"));
    let start = c.timestamp("ChargePeriodStart");
    let end = c.timestamp("ChargePeriodEnd");

    let mut id_sources = vec![c.raw("SkuPriceDetails")];
    id_sources.extend(opts.instance_type_columns.iter().map(|n| c.raw(n)));
    id_sources.extend(opts.text_columns.iter().map(|n| c.raw(n)));

    let mut columns = vec![
        col(ROW),
        c.raw("BillingAccountId").alias("billing_account_id"),
        c.raw("SubAccountId").alias("sub_account_id"),
        c.raw("ChargeCategory").alias("charge_category"),
        c.raw("ChargeClass").alias("charge_class"),
        epoch_seconds(start.clone()).alias("start_s"),
        epoch_seconds(end.clone()).alias("end_s"),
        epoch_day(start.clone()).alias("day"),
        quantity.alias("quantity"),
        unit.alias("unit"),
        c.number("BilledCost").alias("billed_cost"),
        c.number("EffectiveCost").alias("effective_cost"),
        c.raw("BillingCurrency").alias("billing_currency"),
        c.raw("ResourceId").alias("resource_id"),
        c.raw("AvailabilityZone").alias("availability_zone"),
        c.raw("RegionId").alias("region_id"),
        c.raw("PricingCategory").alias("pricing_category"),
        c.blank("CommitmentDiscountId")
            .and(c.blank("CapacityReservationId"))
            .not()
            .alias("reserved_capacity"),
        unused(&c, "CommitmentDiscountStatus")
            .or(unused(&c, "CapacityReservationStatus"))
            .alias(UNUSED_COMMITMENT),
        c.raw("x_BilledPer")
            .str()
            .contains(lit(r"(?i)^\s*sku\s*$"), false)
            .fill_null(lit(false))
            .alias(SPLIT_SKU_ROWS),
    ];
    columns.extend(
        id_sources
            .into_iter()
            .zip(id_columns(opts))
            .map(|(e, name)| e.alias(name)),
    );
    columns.extend(first_failure(checks(&c, start, end, opts)?));
    Ok(scan.lf.clone().select(columns))
}

/// True where the status column `name` says `Unused` (any case, white space around it): FOCUS's
/// `CommitmentDiscountStatus` (hours of a commitment nobody used) and `CapacityReservationStatus`
/// (FOCUS 1.1+: the idle part of a capacity reservation, "MUST be Unused when the charge represents
/// the unused portion of a capacity reservation"). Either way nothing ran.
fn unused(c: &Cols, name: &str) -> Expr {
    c.raw(name)
        .str()
        .contains(lit(r"(?i)^\s*unused\s*$"), false)
        .fill_null(lit(false))
}

/// The columns the billing source reads as text or numbers, besides `REQUIRED` and the
/// configured identification columns.
const READ_COLUMNS: &[&str] = &[
    "SubAccountId",
    "ChargeClass",
    "ConsumedUnit",
    "PricingQuantity",
    "PricingUnit",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "ResourceId",
    "AvailabilityZone",
    "RegionId",
    "PricingCategory",
    "CommitmentDiscountId",
    "CapacityReservationId",
    "CommitmentDiscountStatus",
    "CapacityReservationStatus",
    "SkuPriceDetails",
    "x_BilledPer",
];

/// Refuses (exit 3, naming file and column) a column cipwatch reads that a Parquet file holds
/// as a list, map or struct: it is read as text (FOCUS writes `SkuPriceDetails` as a JSON string),
/// and a nested value has no text to read.
fn refuse_nested(scan: &Scan, opts: &BillingOptions) -> Result<()> {
    let read = REQUIRED
        .iter()
        .chain(READ_COLUMNS)
        .map(|n| n.to_string())
        .chain(opts.instance_type_columns.iter().cloned())
        .chain(opts.text_columns.iter().cloned());
    for name in read {
        if let Some(dt) = scan.schema.get(&name).filter(|dt| dt.is_nested()) {
            return Err(Error::input(
                Location::file(&scan.file.path).row(1).column(name.clone()),
                format!(
                    "column {} is a nested Parquet value ({dt}); cipwatch reads it as text: write it as a string (FOCUS writes SkuPriceDetails as JSON text)",
                    scan.labels.get(&name).unwrap_or(&name)
                ),
            ));
        }
    }
    Ok(())
}

/// FOCUS's `ChargeCategory` values (FOCUS 1.0 and later), lower case.
const CHARGE_CATEGORIES: &[&str] = &["adjustment", "credit", "purchase", "tax", "usage"];

/// Characters a charge category may carry around its word and still be it: white space and the
/// invisible ones a key loses (byte-order mark, zero-width spaces; `columns::clean_key_cell`).
pub const AROUND_CATEGORY: &str = r"[\s\x{feff}\x{200b}-\x{200d}\x{2060}]*";

/// A regex matching a `ChargeCategory` cell that is one of `words`, in any case, with only
/// [`AROUND_CATEGORY`] around it. Tested without copying the column (the pass reads every row).
pub fn category_pattern(words: &[&str]) -> String {
    format!(
        "(?i)^{AROUND_CATEGORY}({}){AROUND_CATEGORY}$",
        words.join("|")
    )
}

/// The checks of `ChargeCategory`: present (`missing_value`), and one of FOCUS's values
/// (`bad_value`; a cell of invisible characters only is one). A row that fails is quarantined,
/// never silently left out of the hours.
fn charge_category_checks(c: &Cols) -> [Check; 2] {
    let missing = c.blank("ChargeCategory");
    let known = c
        .raw("ChargeCategory")
        .str()
        .contains(lit(category_pattern(CHARGE_CATEGORIES)), false)
        .fill_null(lit(false));
    [
        (
            missing.clone(),
            "missing_value",
            format!("{} is empty", c.label("ChargeCategory")).into(),
        ),
        (
            missing.not().and(known.not()),
            "bad_value",
            c.quoted(
                &format!(
                    "{} must be one of {}, got",
                    c.label("ChargeCategory"),
                    CHARGE_CATEGORIES.join("|")
                ),
                "ChargeCategory",
            ),
        ),
    ]
}

/// The key columns of a billing row: an invisible character that cannot be removed quarantines
/// the row (`bad_key`).
const KEYS: &[&str] = &["BillingAccountId", "SubAccountId", "ResourceId"];

/// A native line's own id (AWS `identity/LineItemId`): with its time interval (`identity/TimeInterval`)
/// and charge period start, unique within one file (one id recurs for each hour of a resource); a
/// repeat is the same line again (`duplicate_line_item`).
const LINE_ITEM_ID: &str = "x_LineItemId";
/// The line's time interval, part of its identity with `LINE_ITEM_ID`.
const LINE_ITEM_INTERVAL: &str = "x_LineItemInterval";

/// The row checks, in precedence order. A typed (Parquet) column cannot fail to parse, so its
/// parse checks are constant.
fn checks(c: &Cols, start: Expr, end: Expr, opts: &BillingOptions) -> Result<Vec<Check>> {
    let mut checks = vec![(
        c.blank("BillingAccountId"),
        "missing_account",
        format!("{} is empty", c.label("BillingAccountId")).into(),
    )];
    checks.extend(KEYS.iter().map(|k| c.key_check(k)));
    checks.extend(charge_category_checks(c));
    for name in ["ChargePeriodStart", "ChargePeriodEnd"] {
        checks.push((
            c.blank(name),
            "missing_timestamp",
            format!("{} is empty", c.label(name)).into(),
        ));
        checks.push(super::columns::timestamp_check(c, name));
    }
    if c.has(LINE_ITEM_ID) {
        checks.push((
            c.blank(LINE_ITEM_ID).not().and(col(ROW).neq(first_line_of([
                c.as_read(LINE_ITEM_ID),
                c.as_read(LINE_ITEM_INTERVAL),
                c.as_read("ChargePeriodStart"),
            ])?)),
            "duplicate_line_item",
            format!(
                "{} repeats an earlier line of the same file in the same time interval",
                c.label(LINE_ITEM_ID)
            )
            .into(),
        ));
    }
    checks.push((
        end.lt_eq(start),
        "end_not_after_start",
        format!(
            "{} is not after {}",
            c.label("ChargePeriodEnd"),
            c.label("ChargePeriodStart")
        )
        .into(),
    ));
    for (name, max_abs) in [
        ("ConsumedQuantity", opts.max_abs_quantity),
        ("PricingQuantity", opts.max_abs_quantity),
        ("BilledCost", opts.max_abs_cost),
        ("EffectiveCost", opts.max_abs_cost),
    ] {
        checks.extend(c.number_checks(name, max_abs));
    }
    Ok(checks)
}

/// The first physical line (`ROW`) of the file's rows holding the same `identity` values.
fn first_line_of(identity: [Expr; 3]) -> Result<Expr> {
    col(ROW)
        .min()
        .over(identity)
        .map_err(|e| Error::internal("grouping line item ids", e))
}

/// The text columns of the kept rows (quarantined and accelerator candidates) made canonical:
/// trimmed, `NULL` as null, enumerations lower case, hours per unit, `SkuPriceDetails.GpuCount`
/// (`gpu_count`, only where plausible; see `gpu_count_columns`).
pub fn finish(kept: LazyFrame, max_gpu_count: f64) -> LazyFrame {
    let keys = ["billing_account_id", "sub_account_id", "resource_id"]
        .map(|name| clean_key(col(name)).alias(name));
    let cleaned = [
        "unit",
        "billing_currency",
        "availability_zone",
        "region_id",
        "pricing_category",
    ]
    .map(|name| clean(col(name)).alias(name));
    // Enumerations lose what a key loses (a byte-order mark, zero-width spaces) before they are
    // compared: `\u{feff}Correction` is a correction.
    let lowered = ["charge_category", "charge_class"]
        .map(|name| clean_key(col(name)).str().to_lowercase().alias(name));
    kept.with_columns(keys)
        .with_columns(cleaned)
        .with_columns(lowered)
        .with_column(hours_per_unit(col("unit")).alias("hours_per_unit"))
        .with_columns(gpu_count_columns(max_gpu_count))
}

/// Where `SkuPriceDetails` states a `GpuCount`: `gpu_count`, the count where it is a whole number
/// in `1..=max` (else null), and `GPU_COUNT_RULE`, `bad_number` where the value is not a finite
/// number and `out_of_range` where it is one outside that range (null where no `GpuCount` is
/// stated or it is plausible). A stated count is never replaced by a guess: an implausible one
/// quarantines the row.
fn gpu_count_columns(max: f64) -> [Expr; 2] {
    static GPU_COUNT: LazyLock<Option<regex::Regex>> =
        LazyLock::new(|| regex::Regex::new(r#"(?i)"gpucount"\s*:\s*"?([^,}"\s]*)"#).ok());
    let stated = per_distinct(col("_id0"), DataType::String, |details| {
        Some(GPU_COUNT.as_ref()?.captures(details)?[1].to_string())
    });
    let value = stated.clone().cast(DataType::Float64);
    let number = value.clone().is_finite().fill_null(lit(false));
    let plausible = number
        .clone()
        .and(value.clone().floor().eq(value.clone()))
        .and(value.clone().gt_eq(lit(1.0)))
        .and(value.clone().lt_eq(lit(max)));
    let rule = when(stated.is_null().or(plausible.clone()))
        .then(lit(NULL).cast(DataType::String))
        .when(number)
        .then(lit("out_of_range"))
        .otherwise(lit("bad_number"));
    [
        when(plausible)
            .then(value)
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias("gpu_count"),
        rule.alias(GPU_COUNT_RULE),
    ]
}

/// Hours per unit of a unit string, or null when the unit is not a time unit cipwatch knows
/// (`unit_hours`), worked out once per distinct unit text of a batch.
pub fn hours_per_unit(unit: Expr) -> Expr {
    per_distinct(unit, DataType::Float64, unit_hours)
}

/// The largest block size a unit may state ("10 Hours", "100 Hours", "1000 Hours" are what
/// exports write): beyond it, or at 0, the unit is not one cipwatch knows (`unknown_unit`), so a
/// planted "1000000000000 Hours" cannot multiply a row's hours unseen.
pub const MAX_UNIT_BLOCK: f64 = 10_000.0;

/// Hours in one `unit`: lower-cased and trimmed, a leading block size ("10 Hours", "1000 Requests";
/// 1 to [`MAX_UNIT_BLOCK`]) multiplies the unit, and the per-accelerator words ("GPU Hours", "GPU
/// Per Hour", "gpu-hours") are dropped to leave the time unit, looked up in `UNIT_HOURS`.
fn unit_hours(unit: &str) -> Option<f64> {
    static BLOCK: LazyLock<Option<regex::Regex>> =
        LazyLock::new(|| regex::Regex::new(r"^([0-9]+)(\s+|\s*/\s*)").ok());
    static PER_ACCELERATOR: LazyLock<Option<regex::Regex>> =
        LazyLock::new(|| regex::Regex::new(r"\b(gpus?|per)\b[\s/-]*").ok());
    let text = unit.to_lowercase();
    let text = text.trim();
    let (block, rest) = match BLOCK.as_ref()?.captures(text) {
        Some(m) => (
            m[1].parse::<f64>()
                .ok()
                .filter(|b| (1.0..=MAX_UNIT_BLOCK).contains(b))?,
            &text[m.get(0).map_or(0, |g| g.end())..],
        ),
        None => (1.0, text),
    };
    let key = PER_ACCELERATOR.as_ref()?.replace_all(rest, "");
    let key = key.trim();
    UNIT_HOURS
        .iter()
        .find(|(_, spellings)| spellings.contains(&key))
        .map(|(per_unit, _)| per_unit * block)
}

#[cfg(test)]
mod tests {
    use super::unit_hours;

    #[test]
    fn a_unit_block_multiplies_within_its_bounds_only() {
        assert_eq!(unit_hours("1 Hour"), Some(1.0));
        assert_eq!(unit_hours("100 Hours"), Some(100.0));
        assert_eq!(unit_hours("10000 GPU Hours"), Some(10_000.0));
        // Azure's "1/Hour", "10/Hour", "1/Day".
        assert_eq!(unit_hours("1/Hour"), Some(1.0));
        assert_eq!(unit_hours("10/Hour"), Some(10.0));
        assert_eq!(unit_hours("1/Day"), Some(24.0));
        for unknown in [
            "0 Hours",
            "10001 Hours",
            "1000000000000 Hours",
            "99999999999999999999999 Hours",
        ] {
            assert_eq!(unit_hours(unknown), None, "{unknown}");
        }
    }
}
