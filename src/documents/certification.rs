//! The annual CIP certification metrics: customers and foreign beneficial owners by country, the
//! foreign resellers and their CIP status, the foreign accounts whose identity is not verified (by
//! status and age), verifications completed and failed in the period, the resolution log of failed
//! verifications, the time from opening to verification, and records retention (closed accounts
//! past their purge-eligible date). The figures come from the
//! `cert_*` queries; the attestations are blocks the provider signs.

use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::charts::{bars, Bar};
use super::report::Window;
use super::Common;
use crate::error::{Error, Result};
use crate::transforms::records::records;

pub const SCHEMA: &str = "cipwatch/cip-certification/1";

#[derive(Debug, Serialize)]
pub struct CertificationDoc {
    pub schema: &'static str,
    pub common: Common,
    pub period: Window,
    pub customers_by_country: Vec<CountryCustomers>,
    pub total_customers: i64,
    pub total_foreign_customers: i64,
    pub foreign_owners_by_country: Vec<CountryOwners>,
    pub foreign_resellers: Vec<Reseller>,
    pub unverified_foreign: Vec<Unverified>,
    pub total_unverified_foreign: i64,
    pub stats: Stats,
    pub failed_verifications: Vec<Failed>,
    /// Every closed account with its purge-eligible date (`retention_days` after it closed or was
    /// last accessed, whichever is later).
    pub closed_accounts: Vec<Retention>,
    /// The closed accounts whose purge-eligible date has passed by the as-of date.
    pub past_retention: Vec<Retention>,
    pub attestations: Vec<String>,
}

/// One closed account's retention dates (YYYY-MM-DD).
#[derive(Debug, Clone, Serialize)]
pub struct Retention {
    pub account_id: String,
    pub closed_date: String,
    pub last_access_date: Option<String>,
    pub purge_eligible_date: String,
}

/// A row of the `cert_retention` query (epoch days).
#[derive(Debug, Deserialize)]
struct RetentionRow {
    account_id: String,
    closed_day: i64,
    last_access_day: Option<i64>,
    purge_eligible_day: i64,
    past_retention: bool,
}

/// The retention rows as dates: (every closed account, those past retention).
fn retention(results: &[(String, DataFrame)]) -> Result<(Vec<Retention>, Vec<Retention>)> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let date = |d: i64| (epoch + chrono::Duration::days(d)).to_string();
    let rows: Vec<RetentionRow> = records(table(results, "cert_retention")?, "certification")?;
    let all: Vec<(bool, Retention)> = rows
        .into_iter()
        .map(|r| {
            (
                r.past_retention,
                Retention {
                    account_id: r.account_id,
                    closed_date: date(r.closed_day),
                    last_access_date: r.last_access_day.map(date),
                    purge_eligible_date: date(r.purge_eligible_day),
                },
            )
        })
        .collect();
    let past = all
        .iter()
        .filter(|(p, _)| *p)
        .map(|(_, r)| r.clone())
        .collect();
    Ok((all.into_iter().map(|(_, r)| r).collect(), past))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CountryCustomers {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub country: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub customers: i64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub foreign_customers: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CountryOwners {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub country: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub foreign_beneficial_owners: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Reseller {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub reseller_id: String,
    pub name: Option<String>,
    pub country: Option<String>,
    pub cip_on_file: Option<bool>,
    pub cip_attested_at: Option<String>,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub accounts: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Unverified {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub verification_status: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub age: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub accounts: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub customers: i64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub verified_in_period: i64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub failed_in_period: i64,
    pub median_days_to_verify: Option<f64>,
    pub p90_days_to_verify: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Failed {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub account_id: String,
    pub legal_name: Option<String>,
    pub country: Option<String>,
    pub opened_at: Option<String>,
    #[serde(default = "to_complete")]
    pub resolution: String,
    /// Whether `resolution` is counsel's answer (else it is the TO COMPLETE placeholder).
    #[serde(default)]
    pub answered: bool,
}

fn to_complete() -> String {
    "TO COMPLETE: how this failed verification was resolved".into()
}

fn table<'a>(results: &'a [(String, DataFrame)], name: &str) -> Result<&'a DataFrame> {
    results
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, df)| df)
        .ok_or_else(|| Error::config("queries", format!("no query produces the table '{name}'")))
}

/// Builds the certification; `resolutions` (account id → text, from counsel's answers) fill the
/// resolution log of failed verifications.
pub fn build(
    common: &Common,
    results: &[(String, DataFrame)],
    resolutions: &BTreeMap<String, String>,
) -> Result<CertificationDoc> {
    let customers_by_country: Vec<CountryCustomers> = records(
        table(results, "cert_customers_by_country")?,
        "certification",
    )?;
    let unverified_foreign: Vec<Unverified> =
        records(table(results, "cert_unverified_foreign")?, "certification")?;
    let stats: Vec<Stats> = records(table(results, "cert_verification_stats")?, "certification")?;
    // No customers: the statistics are all zero.
    let stats = stats.into_iter().next().unwrap_or_default();
    let as_of = chrono::NaiveDate::parse_from_str(&common.as_of, "%Y-%m-%d")
        .map_err(|e| Error::internal("as-of", e))?;
    let period = common.params.certification_period_days - 1;
    let from = u64::try_from(period)
        .ok()
        .and_then(|days| as_of.checked_sub_days(chrono::Days::new(days)))
        .ok_or_else(|| {
            Error::Usage(format!(
                "parameter certification_period_days = {} reaches before the first date cipwatch can represent",
                common.params.certification_period_days
            ))
        })?;
    let (closed_accounts, past_retention) = retention(results)?;
    Ok(CertificationDoc {
        closed_accounts,
        past_retention,
        schema: SCHEMA,
        period: Window { from: from.to_string(), to: common.as_of.clone() },
        total_customers: customers_by_country.iter().map(|c| c.customers).sum(),
        total_foreign_customers: customers_by_country.iter().map(|c| c.foreign_customers).sum(),
        customers_by_country,
        foreign_owners_by_country: records(table(results, "cert_foreign_owners_by_country")?, "certification")?,
        foreign_resellers: records(table(results, "cert_foreign_resellers")?, "certification")?,
        total_unverified_foreign: unverified_foreign.iter().map(|u| u.accounts).sum(),
        unverified_foreign,
        stats,
        failed_verifications: records::<Failed>(table(results, "cert_failed_verifications")?, "certification")?
            .into_iter()
            .map(|f| match resolutions.get(&f.account_id).map(|r| r.trim()).filter(|r| !r.is_empty()) {
                Some(r) => Failed { resolution: r.to_string(), answered: true, ..f },
                None => f,
            })
            .collect(),
        attestations: [
            "The CIP has been reviewed during the period.",
            "The CIP has been updated for changes in the provider's services.",
            "The CIP has been updated for changes in the threats it addresses.",
            "The provider complies with the CIP regulations.",
            "Each case of unverified identity since the last certification has been resolved as logged above.",
        ]
        .map(String::from)
        .to_vec(),
        common: common.clone(),
    })
}

/// The HTML charts: customers by country and the verification backlog.
pub fn charts(doc: &CertificationDoc) -> BTreeMap<String, String> {
    let count = |v: f64| format!("{v:.0}");
    let by_country: Vec<Bar> = doc
        .customers_by_country
        .iter()
        .map(|c| Bar {
            label: c.country.clone(),
            value: c.customers as f64,
        })
        .collect();
    let backlog: Vec<Bar> = doc
        .unverified_foreign
        .iter()
        .map(|u| Bar {
            label: format!("{} ({})", u.verification_status, u.age),
            value: u.accounts as f64,
        })
        .collect();
    BTreeMap::from([
        (
            "by_country".to_string(),
            bars("Customers by country", &by_country, false, None, &count),
        ),
        (
            "backlog".to_string(),
            bars(
                "Foreign accounts not verified, by status and age",
                &backlog,
                false,
                None,
                &count,
            ),
        ),
    ])
}

#[cfg(test)]
mod null_rows {
    use super::*;
    use crate::transforms::records::all_null;
    use crate::transforms::rows::*;

    #[test]
    fn every_row_type_read_from_a_query_accepts_nulls() {
        // Every field but the level, which is never null (a null level is refused).
        let flag: FlagRow = all_null::read_with(&[("level", "WATCH")]);
        assert_eq!((flag.accelerator_hours, flag.ops_met), (0.0, false));
        assert_eq!(flag.level, Level::Watch);
        let null_level = polars::prelude::df!("level" => [None::<&str>]).unwrap();
        assert!(crate::transforms::records::records::<FlagRow>(&null_level, "flags").is_err());
        all_null::read::<RunRow>();
        all_null::read::<CustomerRow>();
        all_null::read::<OwnerRow>();
        all_null::read::<AccessRow>();
        all_null::read::<CountryCustomers>();
        all_null::read::<CountryOwners>();
        all_null::read::<Reseller>();
        all_null::read::<Unverified>();
        let stats: Stats = all_null::read();
        assert_eq!(stats.customers, 0);
        all_null::read::<Failed>();
    }
}
