//! Accelerator identification: which billing usage rows are accelerator instances, of which type
//! and how many accelerators. The instance type is the first catalog name found in the row's
//! identification columns, in priority order (`SkuPriceDetails`, the configured `x_` columns, then
//! `SkuId`/`SkuMeter`/`ChargeDescription`/`ResourceType`); the count is
//! `SkuPriceDetails.GpuCount` where the provider states it, else the catalog's; one where the row
//! is billed per accelerator (a GPU SKU row, a per-GPU meter), and a row billing one component of
//! the instance (vCPU-hours, GiB-hours) is not accelerator usage at all (`Basis`). A usage row that
//! looks like an accelerator but names no catalog instance type is quarantined, never guessed.
//! Accelerator rows are also where quantities must make sense (a time unit, not negative unless a
//! correction); other rows do not enter the estimate, so their oddities are not quarantined (real
//! exports carry negative storage refunds on plain usage rows).

use polars::prelude::*;
use regex::Regex;
use std::sync::Arc;

use crate::config::catalog::Catalog;
use crate::distinct::per_text;
use crate::error::{Error, Result};
use crate::sources::billing::focus::{GPU_COUNT_RULE, SPLIT_SKU_ROWS, UNUSED_COMMITMENT};
use crate::sources::{REASON, RULE};

/// Consumption row: `ChargeCategory` is `Usage` in any case, white space and invisible
/// characters around it aside (`sources::billing::category_pattern`; tested without copying the
/// column), and the row is not an unused commitment (`CommitmentDiscountStatus = Unused`, see
/// `sources::billing`), which FOCUS files as usage although nothing ran.
pub fn is_usage() -> Expr {
    col("charge_category")
        .str()
        .contains(
            lit(crate::sources::billing::category_pattern(&["usage"])),
            false,
        )
        .fill_null(lit(false))
        .and(col(UNUSED_COMMITMENT).not())
}

/// What `mark` writes in `instance_key`, followed by the text that matched, for a row whose text
/// names no catalog instance type but hints at an accelerator (never a catalog key: those are
/// instance names and spellings, none starting with it).
const HINT: &str = "?";

fn compile(pattern: &str) -> Result<Arc<Regex>> {
    Regex::new(&format!("(?i){pattern}"))
        .map(Arc::new)
        .map_err(|e| Error::bug(format!("pattern {pattern}: {e}")))
}

/// The text columns of a UDF's inputs, from `first` on (a column absent from the file arrives as
/// one null cell; it names nothing and is skipped).
fn texts(c: &[Column], first: usize, rows: usize) -> PolarsResult<Vec<&StringChunked>> {
    let mut out = Vec::new();
    for column in &c[first..] {
        if column.len() == rows {
            out.push(column.str()?);
        }
    }
    Ok(out)
}

/// The catalog key named by the identification text (the first column, in priority order, that
/// names one, lower case), else `HINT` and the hinting text (`?NC24rs v3`) of the first column that
/// hints at an accelerator, else null.
fn key_or_hint(columns: &[String], key: Arc<Regex>, hint: Arc<Regex>) -> Expr {
    let found = move |v: &str| match key.captures(v).and_then(|m| m.get(1)) {
        Some(m) => Some(m.as_str().to_lowercase()),
        None => hint.find(v).map(|m| format!("{HINT}{}", m.as_str())),
    };
    let found = move |v: &str| found(&strip_invisible(v));
    let inputs: Vec<Expr> = columns.iter().map(|c| col(c.as_str())).collect();
    inputs[0].clone().map_many(
        move |c: &mut [Column]| {
            let rows = c.iter().map(Column::len).max().unwrap_or(0);
            let per_column: Vec<_> = texts(c, 0, rows)?
                .into_iter()
                .map(|t| per_text(t, |_| true, &found))
                .collect();
            let out: StringChunked = (0..rows)
                .map(|row| {
                    let mut hinted = None;
                    for (index, results) in &per_column {
                        match index[row].and_then(|i| results[i as usize].as_deref()) {
                            Some(hint) if hint.starts_with(HINT) => hinted = hinted.or(Some(hint)),
                            Some(key) => return Some(key),
                            None => {}
                        }
                    }
                    hinted
                })
                .collect();
            Ok(out.with_name("instance_key".into()).into_column())
        },
        &inputs[1..],
        |_, _| Ok(Field::new("instance_key".into(), DataType::String)),
    )
}

/// The text without the invisible characters exports leave in keys (a zero-width space inside
/// `p5.48xlarge` must not hide the instance type); no copy when there is none.
fn strip_invisible(v: &str) -> std::borrow::Cow<'_, str> {
    match v.is_ascii() {
        true => std::borrow::Cow::Borrowed(v),
        false => crate::sources::columns::clean_key_cell(v).unwrap_or_default(),
    }
}

/// True where `only` holds and any of `columns` matches `pattern` (case-insensitive); the
/// pattern runs only on the rows where `only` holds.
pub fn matches_where(only: Expr, columns: &[String], pattern: &str) -> Result<Expr> {
    let re = compile(pattern)?;
    let inputs: Vec<Expr> = columns.iter().map(|c| col(c.as_str())).collect();
    Ok(only.map_many(
        move |c: &mut [Column]| {
            let rows = c.iter().map(Column::len).max().unwrap_or(0);
            let only = c[0].bool()?.clone();
            let wanted = |row: usize| only.get(if only.len() == 1 { 0 } else { row }) == Some(true);
            let per_column: Vec<_> = texts(c, 1, rows)?
                .into_iter()
                .map(|t| per_text(t, wanted, |v| re.is_match(v)))
                .collect();
            let out: BooleanChunked =
                (0..rows)
                    .map(|row| {
                        Some(per_column.iter().any(|(index, results)| {
                            index[row].is_some_and(|i| results[i as usize])
                        }))
                    })
                    .collect();
            Ok(out.with_name("matches".into()).into_column())
        },
        &inputs,
        |_, _| Ok(Field::new("matches".into(), DataType::Boolean)),
    ))
}

/// The pass over every billing row: `instance_key` (the catalog key named by the identification
/// text, or `HINT`), `_hint`, and `_keep`: the rows that go on to `identify` (quarantined, or a
/// usage row that names or hints at an accelerator). Case-insensitive patterns on the columns as
/// read, once per distinct text: no lower-cased or joined copy of the text is made for the rows
/// dropped, nearly all of them.
pub fn mark(
    rows: LazyFrame,
    catalog: &Catalog,
    id_columns: &[String],
    hint_pattern: &str,
) -> Result<LazyFrame> {
    let found = key_or_hint(
        id_columns,
        compile(&catalog.key_pattern)?,
        compile(hint_pattern)?,
    );
    Ok(rows.with_column(found.alias("instance_key")).with_columns([
        col("instance_key")
            .str()
            .starts_with(lit(HINT))
            .fill_null(lit(false))
            .alias("_hint"),
        col(RULE)
            .is_not_null()
            .or(is_usage().and(col("instance_key").is_not_null()))
            .alias("_keep"),
    ]))
}

/// How a row's quantity is to be read, from its unit and SKU identity (`Basis::from_patterns`).
pub struct Basis {
    /// The row is billed per accelerator (a GPU SKU row, a per-GPU meter): its quantity is
    /// already accelerator-time.
    pub per_accelerator: Expr,
    /// The row bills one component of an instance (vCPU-hours, GiB-hours), or, in a format that
    /// bills a VM as one row per SKU, anything but a GPU SKU: it is neither instance- nor
    /// accelerator-time and never counts.
    pub component: Expr,
    /// The row's SKU or usage type says it bills capacity nobody ran (`USE2-UnusedBox:...`,
    /// `Unused Reservation`): never accelerator time, as `CapacityReservationStatus = Unused`.
    pub unused_capacity: Expr,
}

/// The patterns `Basis::from_patterns` reads a row's unit and SKU identity with.
pub struct BasisPatterns<'a> {
    /// Unit or SKU text of a row billed per accelerator (`GPU Hours`, GCP's `... GPU running in`).
    pub per_accelerator: &'a str,
    /// Unit of a component row (`vCPU Hours`, `GiB Hours`, `OCPU Hours`, bytes).
    pub component_unit: &'a str,
    /// SKU text of a component row (GCP's `A3 Instance Core running in ...`).
    pub component_sku: &'a str,
    /// The catalog's instance-type pattern, to tell where a structured column names the type.
    pub instance_key: &'a str,
    /// Usage type or SKU text of idle reserved capacity (`UnusedBox`, `Unused Reservation`).
    pub unused_capacity: &'a str,
}

impl Basis {
    /// The unit decides first: a per-GPU unit is accelerator-time, a component unit (`OCPU Hours`,
    /// `GiB Hours`) never counts, whatever the SKU text says. Then the SKU's identity: the
    /// `sku_id` columns (`SkuId`, `SkuMeter`: Azure's `ND96isr H100 v5 vCPU` meter) always, the
    /// free-text `description` columns (`ChargeDescription`, `ResourceType`) only for a row whose
    /// instance type no `structured` column states (`SkuPriceDetails`, `x_InstanceType`,
    /// `x_UsageType`) or whose format bills a VM as one row per SKU (`SPLIT_SKU_ROWS`, GCP, whose
    /// SKU description is its SKU's name). So a description's free words ("Tensor Core GPU",
    /// "192 vCPUs, 2 TiB memory", "GPU running") never turn an instance-hour row into a component
    /// or a per-GPU row. In a split-SKU format only GPU SKU rows count; every other row tagged
    /// with the machine type (cores, RAM, licences, commitments, disks) is a component.
    pub fn from_patterns(
        sku_id: &[String],
        description: &[String],
        structured: &[String],
        p: &BasisPatterns,
    ) -> Result<Basis> {
        let unit = ["unit".to_string()];
        let in_unit = |p: &str| matches_where(lit(true), &unit, p);
        let split = col(SPLIT_SKU_ROWS);
        let described = split
            .clone()
            .or(matches_where(lit(true), structured, p.instance_key)?.not());
        let in_sku = |p: &str| -> Result<Expr> {
            Ok(
                matches_where(lit(true), sku_id, p)?.or(described.clone().and(matches_where(
                    lit(true),
                    description,
                    p,
                )?)),
            )
        };
        let unit_component = in_unit(p.component_unit)?;
        let sku_component = in_sku(p.component_sku)?;
        // A component or fee SKU ("Commitment v1: Nvidia H100 80GB GPU running in ...") is never
        // accelerator time, whatever GPU words it carries.
        let per_accelerator = in_unit(p.per_accelerator)?
            .or(in_sku(p.per_accelerator)?.and(unit_component.clone().not()))
            .and(sku_component.clone().not());
        let component = per_accelerator
            .clone()
            .not()
            .and(unit_component.or(sku_component).or(split));
        let every_text: Vec<String> = sku_id
            .iter()
            .chain(description)
            .chain(structured)
            .cloned()
            .collect();
        Ok(Basis {
            per_accelerator,
            component,
            unused_capacity: matches_where(lit(true), &every_text, p.unused_capacity)?,
        })
    }
}

/// On the kept rows (cleaned by the billing source): adds the catalog columns, `is_accelerator`,
/// `accelerators` and `accelerator_hours`, and sets the identification rules on rows that have no
/// rule yet. A row's accelerators per unit of quantity are 1 where `basis` says it is billed per
/// accelerator, else `SkuPriceDetails.GpuCount` or the catalog's per instance; a component row
/// (vCPU-hours, GiB-hours of an accelerator instance) is not an accelerator row.
pub fn identify(rows: LazyFrame, catalog: &Catalog, basis: Basis) -> LazyFrame {
    let catalog_cols = catalog.instances.clone().lazy().select([
        col("instance_key"),
        col("instance_type"),
        col("accelerator"),
        col("accelerators_per_instance"),
        col("interconnect_gbps"),
        col("peak_ops_per_s"),
        col("peak_precision_used"),
    ]);
    let is_usage = col("charge_category")
        .eq(lit("usage"))
        .and(col(UNUSED_COMMITMENT).not())
        .and(col("_unused_capacity").not());
    let known = col("accelerator").is_not_null();
    let is_accel = is_usage
        .clone()
        .and(known.clone())
        .and(col("_component").not());
    let (rule, reason) = identification_rules(is_usage, is_accel.clone(), known);
    rows.with_columns([
        basis.per_accelerator.alias("_per_accelerator"),
        basis.component.alias("_component"),
        basis.unused_capacity.alias("_unused_capacity"),
        col("instance_key")
            .str()
            .strip_prefix(lit(HINT))
            .alias("_hint_text"),
    ])
    .with_column(
        when(col("_hint"))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(col("instance_key"))
            .alias("instance_key"),
    )
    .join(
        catalog_cols,
        [col("instance_key")],
        [col("instance_key")],
        JoinArgs {
            maintain_order: MaintainOrderJoin::Left,
            ..JoinArgs::new(JoinType::Left)
        },
    )
    .with_columns([
        is_accel.alias("is_accelerator"),
        when(col("_per_accelerator"))
            .then(lit(1.0))
            .otherwise(coalesce(&[
                col("gpu_count"),
                col("accelerators_per_instance"),
            ]))
            .alias("accelerators"),
    ])
    .with_columns([
        (col("quantity") * col("hours_per_unit") * col("accelerators")).alias("accelerator_hours"),
        rule.alias(RULE),
        reason.alias(REASON),
    ])
    .drop(by_name(
        [
            "_hint",
            "_keep",
            "_per_accelerator",
            "_component",
            "_unused_capacity",
            "_hint_text",
            SPLIT_SKU_ROWS,
            GPU_COUNT_RULE,
        ],
        true,
        false,
    ))
}

/// The identification rules as `(_rule, _reason)` expressions: a row that has no rule yet gets
/// the first of these that applies (an accelerator usage row without a quantity, with a negative
/// one that is not a correction, in a unit that is not time, with a bad `GpuCount`; a usage row
/// that looks like an accelerator instance the catalog does not know and is not a component or
/// fee row).
fn identification_rules(is_usage: Expr, is_accel: Expr, known: Expr) -> (Expr, Expr) {
    let hint = col("_hint");
    let unset = col(RULE).is_null();
    let correction = col("charge_class")
        .eq(lit("correction"))
        .fill_null(lit(false));
    let gpu_count_rule = col(GPU_COUNT_RULE);
    let checks: [(Expr, &str, Expr); 6] = [
        (is_accel.clone().and(col("quantity").is_null()), "missing_quantity", lit("accelerator usage row has no quantity")),
        (
            is_accel.clone().and(col("quantity").lt(lit(0.0))).and(correction.not()),
            "negative_quantity",
            lit("negative quantity on an accelerator usage row whose ChargeClass is not Correction"),
        ),
        (
            is_accel.clone().and(col("hours_per_unit").is_null()),
            "unknown_unit",
            concat_str([lit("unit '"), col("unit").fill_null(lit("")), lit(format!("' is not a time unit cipwatch knows (a block size, as in '10 Hours', is 1 to {})", crate::sources::billing::MAX_UNIT_BLOCK))], "", false),
        ),
        (
            is_accel.clone().and(gpu_count_rule.clone().eq(lit("bad_number")).fill_null(lit(false))),
            "bad_number",
            lit("SkuPriceDetails GpuCount is not a number"),
        ),
        (
            is_accel.clone().and(gpu_count_rule.eq(lit("out_of_range")).fill_null(lit(false))),
            "out_of_range",
            lit("SkuPriceDetails GpuCount is not a whole number of accelerators within [billing] max_gpu_count"),
        ),
        (
            is_usage.and(known.not()).and(hint).and(col("_component").not()),
            "unrecognised_accelerator",
            concat_str(
                [
                    lit("usage row looks like an accelerator ('"),
                    col("_hint_text").fill_null(lit("")),
                    lit("') but names no instance type or SKU spelling in the catalog"),
                ],
                "",
                false,
            ),
        ),
    ];
    let (mut rule, mut reason) = (col(RULE), col(REASON));
    for (cond, name, why) in checks.into_iter().rev() {
        let fire = unset.clone().and(cond);
        rule = when(fire.clone()).then(lit(name)).otherwise(rule);
        reason = when(fire).then(why).otherwise(reason);
    }
    (rule, reason)
}
