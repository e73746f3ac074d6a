//! The CIP registry inside a run: loading and splitting its tables, registering them for the
//! queries, and the fail-closed check of its age.

use polars::prelude::*;
use polars::sql::SQLContext;
use std::collections::BTreeMap;

use super::day_of;
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use crate::quarantine::{self, InputCount};
use crate::sources::{self, registry, Loaded};

/// The used rows of the CIP registry that the documents read after the queries.
pub struct Registry {
    pub customers: DataFrame,
    pub owners: DataFrame,
    pub access: DataFrame,
}

impl Registry {
    /// Fails closed when the newest record of the registry (an access, an opening, a verification)
    /// is older than `max_age_days` before the as-of date; with `--allow-stale` returns a warning.
    pub fn check_age(&self, plan: &Plan, as_of_day: i32) -> Result<Option<String>> {
        let newest = |df: &DataFrame, columns: &[&str]| -> Result<Option<i32>> {
            let exprs: Vec<Expr> = columns
                .iter()
                .map(|c| sources::columns::epoch_day(col(*c)).max())
                .collect();
            let row = df
                .clone()
                .lazy()
                .select([polars::lazy::dsl::max_horizontal(exprs)
                    .or_internal("registry age")?
                    .alias("d")])
                .collect()
                .or_internal("registry age")?;
            Ok(row
                .column("d")
                .ok()
                .and_then(|c| c.get(0).ok())
                .and_then(|v| v.extract::<i32>()))
        };
        let newest = [
            newest(&self.customers, &["opened_at", "verified_at"])?,
            newest(&self.access, &["accessed_at"])?,
        ]
        .into_iter()
        .flatten()
        .max();
        let age = newest.map(|d| as_of_day - d);
        let max = plan.registry_max_age_days;
        let stale = match age {
            Some(a) if a <= max => return Ok(None),
            Some(a) => format!("the CIP registry's newest record is {a} days older than the as-of date (max_age_days = {max})"),
            None => "the CIP registry holds no dated record, so its age is unknown".to_string(),
        };
        if plan.allow_stale {
            Ok(Some(format!("--allow-stale: {stale}")))
        } else {
            Err(Error::Reference(format!(
                "{stale}; refresh the registry export or run with --allow-stale"
            )))
        }
    }
}

/// Loads and splits the CIP registry and registers its tables for the queries.
pub fn load_registry(
    plan: &Plan,
    ctx: &mut SQLContext,
    counts: &mut BTreeMap<String, InputCount>,
    tables_out: &mut Vec<(String, DataFrame)>,
) -> Result<Registry> {
    let loaded = registry::load_customers(plan.inputs.customers.clone())?;
    let (customers, _) = register_split(&loaded, counts, tables_out)?;
    let customers = customers
        .lazy()
        .with_columns([
            day_of("opened_at", "opened_day"),
            day_of("verified_at", "verified_day"),
            day_of("closed_at", "closed_day"),
        ])
        .collect()
        .or_internal("customer days")?;
    ctx.register("customers", customers.clone().lazy());
    let loaded = registry::load_beneficial_owners(plan.inputs.beneficial_owners.clone())?;
    let (owners, owners_quarantined) = register_split(&loaded, counts, tables_out)?;
    ctx.register("beneficial_owners", owners.clone().lazy());
    let doubtful = owners_quarantined
        .lazy()
        .select([col("account_id")])
        .filter(col("account_id").is_not_null());
    ctx.register("quarantined_owner_accounts", doubtful);
    let loaded = registry::load_access_log(plan.inputs.access_log.clone())?;
    let (access, _) = register_split(&loaded, counts, tables_out)?;
    ctx.register(
        "access_log",
        access
            .clone()
            .lazy()
            .with_columns([day_of("accessed_at", "accessed_day")]),
    );
    let loaded = registry::load_resellers(plan.inputs.resellers.clone())?;
    ctx.register(
        "resellers",
        register_split(&loaded, counts, tables_out)?.0.lazy(),
    );
    Ok(Registry {
        customers,
        owners,
        access,
    })
}

/// Splits a small input, records its counts and quarantine table; returns (used, quarantined).
pub fn register_split(
    loaded: &Loaded,
    counts: &mut BTreeMap<String, InputCount>,
    tables_out: &mut Vec<(String, DataFrame)>,
) -> Result<(DataFrame, DataFrame)> {
    let (used, quarantined) = quarantine::split(loaded)?;
    let read = (used.height() + quarantined.height()) as u64;
    counts.insert(
        loaded.name.to_string(),
        InputCount::from_quarantine(read, &quarantined)?,
    );
    tables_out.push((
        format!("quarantine/{}", loaded.name),
        quarantine::table(loaded, &quarantined)?,
    ));
    Ok((used, quarantined))
}
