//! Accelerator identification: which billing usage rows are accelerator instances, of which type
//! and how many accelerators. The instance type is the first catalog name found in the row's
//! identification text (assembled by the billing source in priority order: `SkuPriceDetails`, the
//! configured `x_` columns, then `SkuId`/`SkuMeter`/`ChargeDescription`/`ResourceType`); the count is
//! `SkuPriceDetails.GpuCount` where the provider states it, else the catalog's. A usage row that
//! looks like an accelerator but names no catalog instance type is quarantined, never guessed.
//! Accelerator rows are also where quantities must make sense (a time unit, not negative unless a
//! correction); other rows do not enter the estimate, so their oddities are not quarantined (real
//! exports carry negative storage refunds on plain usage rows).

use polars::prelude::*;
use regex::Regex;
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::sources::{REASON, RULE};

/// Usage row: `ChargeCategory` is `Usage` in any case, tested without copying the column.
pub fn is_usage() -> Expr {
    col("charge_category")
        .str()
        .contains(lit(r"(?i)^\s*usage\s*$"), false)
        .fill_null(lit(false))
}

/// Distinct texts remembered per batch. Identification texts repeat (one description per SKU),
/// so a batch of rows holds few of them and each pattern runs once per distinct text, not per row;
/// past this many distinct texts in a batch the rest are matched directly.
const CACHE_LIMIT: usize = 1 << 14;

fn compile(pattern: &str) -> Result<Arc<Regex>> {
    Regex::new(&format!("(?i){pattern}"))
        .map(Arc::new)
        .map_err(|e| Error::Internal(format!("pattern {pattern}: {e}")))
}

/// `f` of each text cell of a column, computed once per distinct text of the batch.
fn per_text<T: Clone>(c: &StringChunked, f: impl Fn(&str) -> T) -> Vec<Option<T>> {
    let mut seen: PlHashMap<&str, T> = PlHashMap::default();
    c.iter()
        .map(|v| {
            let v = v?;
            if let Some(t) = seen.get(v) {
                return Some(t.clone());
            }
            let t = f(v);
            if seen.len() < CACHE_LIMIT {
                seen.insert(v, t.clone());
            }
            Some(t)
        })
        .collect()
}

/// True where the text column `name` matches `re` (false where null).
fn matches(name: &str, re: Arc<Regex>) -> Expr {
    col(name).map(
        move |c| {
            let hits = per_text(c.str()?, |v| re.is_match(v));
            let out: BooleanChunked = hits.into_iter().map(|h| Some(h.unwrap_or(false))).collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

/// The first group of `re` in the text column `name`, lower case, or null.
fn extract_lower(name: &str, re: Arc<Regex>) -> Expr {
    col(name).map(
        move |c| {
            let keys = per_text(c.str()?, |v| {
                re.captures(v)
                    .and_then(|m| m.get(1))
                    .map(|m| m.as_str().to_lowercase())
            });
            let out: StringChunked = keys.into_iter().map(Option::flatten).collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// True where any of `columns` matches `pattern` (case-insensitive).
pub fn any_matches(columns: &[String], pattern: &str) -> Result<Expr> {
    let re = compile(pattern)?;
    Ok(columns
        .iter()
        .map(|c| matches(c, re.clone()))
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false)))
}

/// The pass over every billing row: the catalog key named by the identification text (the first
/// column, in priority order, that names one), whether the text hints at an accelerator, and
/// `_keep`: the rows that go on to `identify` (quarantined, or a usage row that names or hints at
/// an accelerator). Case-insensitive patterns on the columns as read, once per distinct text: no
/// lower-cased or joined copy of the text is made for the rows dropped, nearly all of them.
pub fn mark(
    rows: LazyFrame,
    catalog: &Catalog,
    id_columns: &[String],
    hint_pattern: &str,
) -> Result<LazyFrame> {
    let key_re = compile(&catalog.key_pattern)?;
    let extracts: Vec<Expr> = id_columns
        .iter()
        .map(|c| extract_lower(c, key_re.clone()))
        .collect();
    Ok(rows
        .with_columns([
            coalesce(&extracts).alias("instance_key"),
            any_matches(id_columns, hint_pattern)?.alias("_hint"),
        ])
        .with_column(
            col(RULE)
                .is_not_null()
                .or(is_usage().and(col("instance_key").is_not_null().or(col("_hint"))))
                .alias("_keep"),
        ))
}

/// On the kept rows (cleaned by the billing source): adds the catalog columns, `is_accelerator`,
/// `accelerators` and `accelerator_hours`, and sets the identification rules on rows that have no
/// rule yet.
pub fn identify(rows: LazyFrame, catalog: &Catalog) -> LazyFrame {
    let catalog_cols = catalog.instances.clone().lazy().select([
        col("instance_key"),
        col("instance_type"),
        col("accelerator"),
        col("accelerators_per_instance"),
        col("interconnect_gbps"),
        col("peak_ops_per_s"),
        col("peak_precision_used"),
    ]);
    let is_usage = col("charge_category").eq(lit("usage"));
    let known = col("accelerator").is_not_null();
    let is_accel = is_usage.clone().and(known.clone());
    let hint = col("_hint");
    let unset = col(RULE).is_null();
    let correction = col("charge_class")
        .eq(lit("correction"))
        .fill_null(lit(false));
    let checks: [(Expr, &str, Expr); 4] = [
        (is_accel.clone().and(col("quantity").is_null()), "missing_quantity", lit("accelerator usage row has no quantity")),
        (
            is_accel.clone().and(col("quantity").lt(lit(0.0))).and(correction.not()),
            "negative_quantity",
            lit("negative quantity on an accelerator usage row whose ChargeClass is not Correction"),
        ),
        (
            is_accel.clone().and(col("hours_per_unit").is_null()),
            "unknown_unit",
            concat_str([lit("unit '"), col("unit").fill_null(lit("")), lit("' is not a time unit cipwatch knows")], "", false),
        ),
        (
            is_usage.and(known.not()).and(hint),
            "unrecognised_accelerator",
            lit("usage row looks like an accelerator instance but names no instance type in the catalog"),
        ),
    ];
    let (mut rule, mut reason) = (col(RULE), col(REASON));
    for (cond, name, why) in checks.into_iter().rev() {
        let fire = unset.clone().and(cond);
        rule = when(fire.clone()).then(lit(name)).otherwise(rule);
        reason = when(fire).then(why).otherwise(reason);
    }
    rows.join(
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
        coalesce(&[col("gpu_count"), col("accelerators_per_instance")]).alias("accelerators"),
    ])
    .with_columns([
        (col("quantity") * col("hours_per_unit") * col("accelerators")).alias("accelerator_hours"),
        rule.alias(RULE),
        reason.alias(REASON),
    ])
    .drop(by_name(["_hint", "_keep"], true, false))
}
