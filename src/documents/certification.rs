//! The annual CIP certification metrics: customers and foreign beneficial owners by country, the
//! foreign resellers and their CIP status, the foreign accounts whose identity is not verified (by
//! status and age), verifications completed and failed in the period, the resolution log of failed
//! verifications, the time from opening to verification, and records retention (closed accounts
//! past their purge-eligible date), and the reconciliation of the unverified foreign accounts with
//! the customers on file and the run's CIP_GAP count. The figures come from the `cert_*` queries;
//! the type, narratives and certifying officer from counsel's `answers/certification.toml`; the
//! attestations are codes whose words are the template's.

use serde::Serialize;
use std::collections::BTreeMap;

use super::charts::{bars, worth_drawing, Bar};
use super::report::Window;
use super::Common;
use super::Declaration;
use crate::error::{Error, Result};
use crate::sources::answers::{CertificationAnswers, ATTESTATIONS, CERTIFICATION_KEYS};
use crate::transforms::rows::certification::{
    CountryCustomers, CountryOwners, FailedVerification, ReconciliationCounts, Reseller,
    RetentionRow, Stats, Unverified,
};
use crate::transforms::rows::records;
use crate::transforms::{CertificationPeriod, PeriodBasis, QueryResults};

pub const SCHEMA: &str = "cipwatch/cip-certification/1";

#[derive(Debug, Serialize)]
pub struct CertificationDoc {
    pub schema: &'static str,
    pub common: Common,
    /// The rule text the certification rests on (the profile's `[filing] certification_citation`).
    pub citation: String,
    /// Initial, annual or out-of-cycle, its trigger, and the last certification's date.
    pub kind: Kind,
    /// The window the figures count, up to the as-of date: from the day after the last
    /// certification, else the profile's certification period.
    pub period: Window,
    /// Where `period` starts ([`PeriodBasis`]).
    pub period_basis: PeriodBasis,
    /// The days from the last certification to the as-of date, when its date is known and before
    /// the as-of date.
    pub days_since_last: Option<i64>,
    /// The three descriptions the rule asks for, by answers-file key.
    pub narratives: Vec<Narrative>,
    pub officer: Officer,
    pub reconciliation: Reconciliation,
    /// The answers-file keys still to answer (the documents list them).
    pub missing: Vec<String>,
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
    /// The attestations the provider signs, in order, each with whether the officer has confirmed
    /// it (answers file `attestations`); the words are the template's `attestation`.
    pub attestations: Vec<Attestation>,
    /// The declaration above the signature: counsel's (`declaration`), else the default.
    pub declaration: Declaration,
}

/// One attestation: its code and whether the answers confirm it.
#[derive(Debug, Serialize)]
pub struct Attestation {
    pub code: String,
    pub confirmed: bool,
}

/// The certification's type (`initial`, `annual`, `out_of_cycle`), trigger and last date.
#[derive(Debug, Serialize)]
pub struct Kind {
    pub certification_type: Option<String>,
    pub trigger: Option<String>,
    pub last_certification_date: Option<String>,
}

/// One narrative block: `key` is `identity_verification`, `malicious_activity_resources` or
/// `reseller_oversight`; its title and guidance are the template's.
#[derive(Debug, Serialize)]
pub struct Narrative {
    pub key: String,
    pub answer: Option<String>,
}

/// The one certifying officer.
#[derive(Debug, Serialize)]
pub struct Officer {
    pub name: Option<String>,
    pub title: Option<String>,
    pub signature_date: Option<String>,
}

/// The `cert_reconciliation` row, and what it does not explain.
#[derive(Debug, Default, Serialize)]
pub struct Reconciliation {
    #[serde(flatten)]
    pub counts: ReconciliationCounts,
    /// CIP_GAP minus what the explained differences give from the unverified total (0 when every
    /// difference is explained).
    pub unexplained: i64,
}

impl Reconciliation {
    fn of(counts: ReconciliationCounts) -> Reconciliation {
        let c = &counts;
        let from_unverified = c.unverified_total
            - c.unverified_no_usage
            - c.unverified_below_material
            - c.unverified_more_severe
            + c.cip_gap_not_unverified;
        Reconciliation {
            unexplained: c.cip_gap - from_unverified,
            counts,
        }
    }
}

/// The narrative blocks of the certification (proposed § 7.302), in order.
const NARRATIVES: [&str; 3] = [
    "identity_verification",
    "malicious_activity_resources",
    "reseller_oversight",
];

/// One closed account's retention dates (YYYY-MM-DD).
#[derive(Debug, Clone, Serialize)]
pub struct Retention {
    pub account_id: String,
    pub closed_date: String,
    pub last_access_date: Option<String>,
    pub purge_eligible_date: String,
}

/// The retention rows as dates: (every closed account, those past retention).
fn retention(results: &QueryResults) -> Result<(Vec<Retention>, Vec<Retention>)> {
    let date = |d: i64| {
        crate::config::calendar::date_of_day(d)
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let rows: Vec<RetentionRow> = records(&results.cert_retention, "certification")?;
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

/// A failed verification of the period with its resolution.
#[derive(Debug, Serialize)]
pub struct Failed {
    #[serde(flatten)]
    pub verification: FailedVerification,
    /// Counsel's answer, else the TO COMPLETE placeholder.
    pub resolution: String,
    /// Whether `resolution` is counsel's answer.
    pub answered: bool,
}

/// The certification's answers still to give: every key but `resolutions`, and `trigger` only
/// for an out-of-cycle certification.
fn missing(answers: &CertificationAnswers) -> Vec<String> {
    CERTIFICATION_KEYS
        .iter()
        .filter(|k| !matches!(**k, "resolutions" | "declaration" | "attestations"))
        .filter(|k| **k != "trigger" || answers.get("certification_type") == Some("out_of_cycle"))
        .filter(|k| answers.get(k).is_none())
        .map(|k| k.to_string())
        .chain(
            ATTESTATIONS
                .iter()
                .any(|a| !answers.attestations.iter().any(|c| c == a))
                .then(|| "attestations".to_string()),
        )
        .collect()
}

/// The run's facts as the certification shows them: its banners without those about the
/// compute estimate (thresholds other than the rule's, a catalog gap), on which no figure of the
/// certification depends.
fn certification_common(common: &Common) -> Common {
    let mut common = common.clone();
    common
        .banners
        .retain(|b| !super::COMPUTE_BANNERS.iter().any(|p| b.starts_with(p)));
    common
}

/// The resolution a failed verification shows until counsel answers it.
const TO_COMPLETE: &str = "TO COMPLETE: how this failed verification was resolved";

/// The accounts of the period's failed verifications (`cert_failed_verifications`), whose
/// resolutions counsel answers.
///
/// Errors: configuration when no query produces the table; internal when it lacks a column.
pub fn failed_accounts(results: &QueryResults) -> Result<std::collections::BTreeSet<String>> {
    Ok(
        records::<FailedVerification>(&results.cert_failed_verifications, "certification")?
            .into_iter()
            .map(|f| f.account_id)
            .collect(),
    )
}

/// The failed verifications of the period, each with counsel's resolution where answered.
fn failed_verifications(
    results: &QueryResults,
    answers: &CertificationAnswers,
) -> Result<Vec<Failed>> {
    let failed =
        records::<FailedVerification>(&results.cert_failed_verifications, "certification")?;
    Ok(failed
        .into_iter()
        .map(|verification| {
            let answer = answers
                .resolutions
                .get(&verification.account_id)
                .map(|r| r.trim())
                .filter(|r| !r.is_empty());
            Failed {
                resolution: answer.unwrap_or(TO_COMPLETE).to_string(),
                answered: answer.is_some(),
                verification,
            }
        })
        .collect())
}

/// Builds the certification; counsel's answers give its type, narratives and officer, and their
/// `resolutions` (account id → text) fill the resolution log of failed verifications.
///
/// Errors: configuration when a `cert_*` table is missing, internal when one lacks a column, usage
/// when the period reaches before the first representable date.
pub fn build(
    common: &Common,
    results: &QueryResults,
    answers: &CertificationAnswers,
) -> Result<CertificationDoc> {
    let customers_by_country: Vec<CountryCustomers> =
        records(&results.cert_customers_by_country, "certification")?;
    let unverified_foreign: Vec<Unverified> =
        records(&results.cert_unverified_foreign, "certification")?;
    let stats: Vec<Stats> = records(&results.cert_verification_stats, "certification")?;
    // No customers: the statistics are all zero.
    let stats = stats.into_iter().next().unwrap_or_default();
    let as_of = chrono::NaiveDate::parse_from_str(&common.as_of, "%Y-%m-%d")
        .map_err(|e| Error::internal("as-of", e))?;
    let period = CertificationPeriod::of(
        as_of,
        common.params.certification_period_days,
        answers.last_certification(),
    )?;
    let (closed_accounts, past_retention) = retention(results)?;
    let reconciliation = Reconciliation::of(
        records::<ReconciliationCounts>(&results.cert_reconciliation, "certification")?
            .into_iter()
            .next()
            .unwrap_or_default(),
    );
    let get = |key: &str| answers.get(key).map(String::from);
    let days_since_last = answers
        .last_certification()
        .filter(|d| *d < as_of)
        .map(|d| (as_of - d).num_days());
    Ok(CertificationDoc {
        citation: common.rule.filing.certification_citation.clone(),
        kind: Kind {
            certification_type: get("certification_type"),
            trigger: get("trigger"),
            last_certification_date: get("last_certification_date"),
        },
        days_since_last,
        narratives: NARRATIVES
            .iter()
            .map(|k| Narrative {
                key: k.to_string(),
                answer: get(k),
            })
            .collect(),
        officer: Officer {
            name: get("officer_name"),
            title: get("officer_title"),
            signature_date: get("signature_date"),
        },
        reconciliation,
        missing: missing(answers),
        closed_accounts,
        past_retention,
        schema: SCHEMA,
        period: Window {
            from: period.from.to_string(),
            to: common.as_of.clone(),
        },
        period_basis: period.basis,
        total_customers: customers_by_country.iter().map(|c| c.customers).sum(),
        total_foreign_customers: customers_by_country
            .iter()
            .map(|c| c.foreign_customers)
            .sum(),
        customers_by_country,
        foreign_owners_by_country: records(
            &results.cert_foreign_owners_by_country,
            "certification",
        )?,
        foreign_resellers: records(&results.cert_foreign_resellers, "certification")?,
        total_unverified_foreign: unverified_foreign.iter().map(|u| u.accounts).sum(),
        unverified_foreign,
        stats,
        failed_verifications: failed_verifications(results, answers)?,
        attestations: ATTESTATIONS
            .iter()
            .map(|code| Attestation {
                code: code.to_string(),
                confirmed: answers.attestations.iter().any(|a| a == code),
            })
            .collect(),
        declaration: Declaration::of(answers.get("declaration")),
        common: certification_common(common),
    })
}

/// The HTML charts: customers by country and the verification backlog, each only where it adds
/// something to its table (`charts::worth_drawing`; else the chart is empty and not shown).
pub fn charts(doc: &CertificationDoc) -> BTreeMap<String, String> {
    let count = |v: f64| format!("{v:.0}");
    let chart = |title: &str, bars_of: Vec<Bar>, axis: &str| {
        if worth_drawing(&bars_of) {
            bars(title, &bars_of, false, None, axis, &count)
        } else {
            String::new()
        }
    };
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
            chart("Customers by country", by_country, "customers"),
        ),
        (
            "backlog".to_string(),
            chart(
                "Foreign accounts not verified, by status and age",
                backlog,
                "accounts",
            ),
        ),
    ])
}
