//! The CIP registry inside a run: loading and splitting its tables, registering them for the
//! queries, and the fail-closed check of its age.

use polars::prelude::*;

use chrono::NaiveDate;

use crate::config::calendar::days_since_epoch;
use crate::error::{Context, Error, Result};
use crate::sources::files::InputFile;
use crate::sources::{self, registry};
use crate::transforms::entities::EntityInputs;
use crate::transforms::quarantine::Ledger;

/// The CIP registry's files, one list per table.
pub struct RegistryFiles<'a> {
    pub customers: &'a [InputFile],
    pub beneficial_owners: &'a [InputFile],
    pub access_log: &'a [InputFile],
    pub resellers: &'a [InputFile],
}

/// How old the registry may be: its configured export date, the limit and `--allow-stale`.
pub struct AgeLimit {
    /// `[registry] exported_at`, where the configuration gives one.
    pub exported_at: Option<NaiveDate>,
    /// `[registry] max_age_days`.
    pub max_age_days: i64,
    pub allow_stale: bool,
}

/// The used rows of the CIP registry that the documents read after the queries.
pub struct Registry {
    pub customers: DataFrame,
    pub owners: DataFrame,
    pub access: DataFrame,
    /// The used reseller rows (screened by `transforms::screening`).
    pub resellers: DataFrame,
    /// The registry's tables as the queries read them, named as registered.
    pub for_queries: RegistryTables,
}

/// The CIP registry's tables for the queries (`transforms::QueryInputs`), their payment,
/// identity-number and telephone columns masked: no query reads them, and an override must not
/// publish them.
#[derive(Clone)]
pub struct RegistryTables {
    /// The used customer rows, with `opened_day`, `verified_day`, `closed_day`.
    pub customers: LazyFrame,
    pub beneficial_owners: LazyFrame,
    /// The account ids of quarantined customer rows (their CIP record is in doubt).
    pub quarantined_customer_accounts: LazyFrame,
    /// The account ids of quarantined beneficial-owner rows.
    pub quarantined_owner_accounts: LazyFrame,
    /// The used access events, with `accessed_day`.
    pub access_log: LazyFrame,
    pub resellers: LazyFrame,
}

impl Registry {
    /// What the entities stage reads: the registry's used rows and the accelerator usage.
    pub fn entity_inputs<'a>(&'a self, usage: &'a LazyFrame) -> EntityInputs<'a> {
        EntityInputs {
            customers: &self.customers,
            owners: &self.owners,
            access: &self.access,
            usage,
        }
    }

    /// Fails closed when the registry's date is more than `max_age_days` before the as-of date;
    /// with `--allow-stale` returns a warning. The registry's date is its export date
    /// (`[registry] exported_at`) where the configuration gives one, else its newest record (an
    /// access, an opening, a verification) dated on or before the as-of date: a record dated later
    /// cannot be true of that day, so it does not make the registry look fresh.
    pub fn check_age(&self, limit: &AgeLimit, as_of_day: i32) -> Result<Option<String>> {
        let (dated, what) = match limit.exported_at {
            Some(d) => (
                Some(days_since_epoch(d)),
                "export date (registry.exported_at)",
            ),
            None => (self.newest_record(as_of_day)?, "newest record"),
        };
        let max = limit.max_age_days;
        let stale = match dated.map(|d| as_of_day as i64 - d as i64) {
            Some(a) if a <= max => return Ok(None),
            Some(a) => format!(
                "the CIP registry's {what} is {a} days older than the as-of date (max_age_days = {max})"
            ),
            None => "the CIP registry holds no record dated on or before the as-of date, so its age is unknown".to_string(),
        };
        if limit.allow_stale {
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

/// The registry stage: loads and splits the CIP registry's tables (counts and quarantine into the
/// ledger) and prepares them for the queries ([`RegistryTables`]); logs one event with its counts.
/// The returned tables are as read (entity links compare keyed hashes of the raw values).
pub fn stage(files: &RegistryFiles, ledger: &mut Ledger) -> Result<Registry> {
    let accounts = |df: DataFrame| {
        df.lazy()
            .select([col("account_id")])
            .filter(col("account_id").is_not_null())
    };
    let loaded = registry::CUSTOMERS.load(files.customers.to_vec())?;
    let (customers, customers_quarantined) = ledger.split(&loaded)?;
    let customers = customers
        .lazy()
        .with_columns([
            day_of("opened_at", "opened_day"),
            day_of("verified_at", "verified_day"),
            day_of("closed_at", "closed_day"),
        ])
        .collect()
        .or_internal("customer days")?;
    let loaded = registry::BENEFICIAL_OWNERS.load(files.beneficial_owners.to_vec())?;
    let (owners, owners_quarantined) = ledger.split(&loaded)?;
    let loaded = registry::ACCESS_LOG.load(files.access_log.to_vec())?;
    let (access, _) = ledger.split(&loaded)?;
    let loaded = registry::RESELLERS.load(files.resellers.to_vec())?;
    let resellers = ledger.split(&loaded)?.0;
    tracing::info!(
        stage = "registry",
        customers = customers.height(),
        beneficial_owners = owners.height(),
        access_events = access.height(),
        "CIP registry loaded"
    );
    Ok(Registry {
        for_queries: RegistryTables {
            customers: for_queries(&customers)?,
            beneficial_owners: for_queries(&owners)?,
            quarantined_customer_accounts: accounts(customers_quarantined),
            quarantined_owner_accounts: accounts(owners_quarantined),
            access_log: access
                .clone()
                .lazy()
                .with_columns([day_of("accessed_at", "accessed_day")]),
            resellers: for_queries(&resellers)?,
        },
        customers,
        owners,
        access,
        resellers,
    })
}

fn for_queries(df: &DataFrame) -> Result<LazyFrame> {
    crate::pii::mask_identifier_columns(df)
        .map(DataFrame::lazy)
        .or_internal("masking the registry for the queries")
}

/// The epoch day of a timestamp column, as `alias`.
fn day_of(name: &str, alias: &str) -> Expr {
    sources::columns::epoch_day(col(name)).alias(alias)
}
