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
    /// Fails closed when the registry's date is more than `max_age_days` before the as-of date;
    /// with `--allow-stale` returns a warning. The registry's date is its export date
    /// (`[registry] exported_at`) where the configuration gives one, else its newest record (an
    /// access, an opening, a verification) dated on or before the as-of date: a record dated later
    /// cannot be true of that day, so it does not make the registry look fresh.
    pub fn check_age(&self, plan: &Plan, as_of_day: i32) -> Result<Option<String>> {
        let (dated, what) = match plan.registry_exported_at {
            Some(d) => (
                Some(super::epoch_day(d)),
                "export date (registry.exported_at)",
            ),
            None => (self.newest_record(as_of_day)?, "newest record"),
        };
        let max = plan.registry_max_age_days;
        let stale = match dated.map(|d| as_of_day as i64 - d as i64) {
            Some(a) if a <= max => return Ok(None),
            Some(a) => format!(
                "the CIP registry's {what} is {a} days older than the as-of date (max_age_days = {max})"
            ),
            None => "the CIP registry holds no record dated on or before the as-of date, so its age is unknown".to_string(),
        };
        if plan.allow_stale {
            Ok(Some(format!("--allow-stale: {stale}")))
        } else {
            Err(Error::Reference(format!(
                "{stale}; refresh the registry export or run with --allow-stale"
            )))
        }
    }

    /// The epoch day of the newest registry record dated on or before `as_of_day`, if any.
    fn newest_record(&self, as_of_day: i32) -> Result<Option<i32>> {
        let newest = |df: &DataFrame, columns: &[&str]| -> Result<Option<i32>> {
            let exprs: Vec<Expr> = columns
                .iter()
                .map(|c| {
                    let day = sources::columns::epoch_day(col(*c));
                    day.clone().filter(day.lt_eq(lit(as_of_day))).max()
                })
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
        Ok([
            newest(&self.customers, &["opened_at", "verified_at"])?,
            newest(&self.access, &["accessed_at"])?,
        ]
        .into_iter()
        .flatten()
        .max())
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
    let (customers, customers_quarantined) = register_split(&loaded, counts, tables_out)?;
    ctx.register(
        "quarantined_customer_accounts",
        customers_quarantined
            .lazy()
            .select([col("account_id")])
            .filter(col("account_id").is_not_null()),
    );
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

/// Splits a small input, records its counts (rows read counted on the files, apart from the split)
/// and its quarantine table; returns (used, quarantined).
pub fn register_split(
    loaded: &Loaded,
    counts: &mut BTreeMap<String, InputCount>,
    tables_out: &mut Vec<(String, DataFrame)>,
) -> Result<(DataFrame, DataFrame)> {
    let (used, quarantined) = quarantine::split(loaded)?;
    let read = quarantine::rows_in_files(loaded)?;
    counts.insert(
        loaded.name.to_string(),
        InputCount::counted(read, used.height() as u64, &quarantined)?,
    );
    tables_out.push((
        format!("quarantine/{}", loaded.name),
        quarantine::table(loaded, &quarantined)?,
    ));
    Ok((used, quarantined))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn rows_read_are_counted_apart_so_a_lost_row_does_not_reconcile() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples");
        let file = crate::sources::files::inspect(&base.join("cip/access_log.csv"), &base).unwrap();
        let lines = std::fs::read_to_string(&file.path).unwrap().lines().count() as u64 - 1;
        let mut loaded = registry::load_access_log(vec![file]).unwrap();
        let (mut counts, mut tables) = (BTreeMap::new(), Vec::new());
        register_split(&loaded, &mut counts, &mut tables).unwrap();
        assert_eq!(counts["access_log"].rows_read, lines);
        assert!(counts["access_log"].reconciles());
        // A canonical frame that loses a row (a bug in a source) is caught by the count.
        loaded.rows = loaded.rows.slice(1, u32::MAX);
        register_split(&loaded, &mut counts, &mut tables).unwrap();
        let c = &counts["access_log"];
        assert_eq!(c.rows_read, lines);
        assert_eq!(c.rows_used + c.rows_quarantined, lines - 1);
        assert!(!c.reconciles());
    }
}
