//! Documents for counsel: one AI-training report draft per reportable foreign account (and, with
//! `--drafts watch`, per WATCH account), the annual CIP certification metrics, and the run summary,
//! each as Markdown and self-contained HTML from Tera templates, reports and certification also as
//! JSON (the view model itself, schema in README.md). View models are built from masked registry
//! rows, and every string is masked by value once more as it is rendered (`templates::shown`);
//! rendering is parallel (rayon) and deterministic (no clock: the as-of date and run id instead).

pub mod certification;
pub mod charts;
pub mod filters;
pub mod report;
pub mod summary;
pub mod templates;

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use crate::config::profile::{EffectiveProfile, Params, ProfileInfo};
use crate::config::Provider;
use crate::error::{Context, Result};
use crate::sinks::filings::Filing;
use crate::sources::answers::Answers;
use crate::transforms::quarantine::InputCount;
use crate::transforms::records::records;
use crate::transforms::rows::{AccessRow, CustomerRow, FlagRow, OwnerRow, RunRow};
use templates::Templates;

/// Which accounts get a report draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Drafts {
    /// REPORTABLE accounts only.
    #[default]
    Reportable,
    /// REPORTABLE and WATCH accounts (WATCH drafts are marked "not yet reportable").
    Watch,
}

/// What every document states about the run.
#[derive(Debug, Clone, Serialize)]
pub struct Common {
    pub provider: Provider,
    pub rule: ProfileInfo,
    pub params: Params,
    pub overrides: Vec<Override>,
    pub as_of: String,
    pub run_id: String,
    pub cipwatch_version: String,
    /// Set when `--allow-stale` let stale reference data through; shown on every document.
    pub warnings: Vec<String>,
    /// The scenario name of a what-if run (`None` for a filing run).
    pub scenario: Option<String>,
    /// Regulatory numbers in force that differ from the rule profile's.
    pub not_assessed: Vec<String>,
    /// What every page of every document says first and last: the SCENARIO banner and the
    /// NOT ASSESSED UNDER THE RULE'S THRESHOLDS banner, when they apply.
    pub banners: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Override {
    pub key: String,
    pub value: String,
    pub source: String,
}

/// The tables the documents are built from.
pub struct DocInputs<'a> {
    pub flags: &'a [FlagRow],
    pub runs: &'a [RunRow],
    pub customers: &'a DataFrame,
    pub owners: &'a DataFrame,
    pub access: &'a DataFrame,
    pub results: &'a [(String, DataFrame)],
    pub counts: &'a BTreeMap<String, InputCount>,
    /// Counsel's answers, merged into the report drafts.
    pub answers: &'a Answers,
    /// The latest filing of each account.
    pub filings: &'a BTreeMap<String, Filing>,
}

/// What the run's plan says that every document repeats: who files, under which rule profile and
/// parameters, and whether the run is a what-if scenario or departs from the rule's thresholds.
pub struct Setting<'a> {
    pub provider: &'a Provider,
    pub profile: &'a EffectiveProfile,
    pub scenario: Option<&'a str>,
    /// Regulatory numbers in force that differ from the rule profile's.
    pub rule_deviations: &'a [String],
}

/// The facts every document states about the run.
pub fn common(plan: &Setting, as_of: &str, run_id: &str, warnings: &[String]) -> Common {
    let profile_source = format!(
        "profile {}@{}",
        plan.profile.info.name, plan.profile.info.version
    );
    let overrides = plan
        .profile
        .provenance
        .iter()
        .filter(|(_, p)| p.source != profile_source)
        .map(|(k, p)| Override {
            key: k.clone(),
            value: p.display(),
            source: p.source.clone(),
        })
        .collect();
    Common {
        provider: plan.provider.clone(),
        rule: plan.profile.info.clone(),
        params: plan.profile.params.clone(),
        overrides,
        as_of: as_of.to_string(),
        run_id: run_id.to_string(),
        cipwatch_version: env!("CARGO_PKG_VERSION").to_string(),
        warnings: warnings.to_vec(),
        banners: banners(plan.scenario, plan.rule_deviations),
        scenario: plan.scenario.map(String::from),
        not_assessed: plan.rule_deviations.to_vec(),
    }
}

/// The banners of a scenario run and of a run under thresholds other than the rule's.
fn banners(scenario: Option<&str>, deviations: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(name) = scenario {
        out.push(format!(
            "SCENARIO {name}: a what-if run with parameters other than the configuration's; not a filing run, not for filing"
        ));
    }
    if !deviations.is_empty() {
        out.push(format!(
            "NOT ASSESSED UNDER THE RULE'S THRESHOLDS: {}",
            deviations.join("; ")
        ));
    }
    out
}

/// Renders every document; returns (relative path, content) pairs in a stable order.
pub fn render_all(
    templates: &Templates,
    common: &Common,
    inputs: &DocInputs,
    drafts: Drafts,
) -> Result<Vec<(String, String)>> {
    let flags = inputs.flags;
    let wanted = drafted(flags, drafts);
    let accounts: Vec<String> = wanted.iter().map(|f| f.account_id.clone()).collect();
    let customers: HashMap<String, CustomerRow> = records::<CustomerRow>(
        &only(inputs.customers, &accounts, "account_id")?,
        "customers",
    )?
    .into_iter()
    .map(|c| (c.account_id.clone(), c))
    .collect();
    let owners = group(
        records::<OwnerRow>(
            &only(inputs.owners, &accounts, "account_id")?,
            "beneficial owners",
        )?,
        |o| o.account_id.clone(),
    );
    let mut access = group(
        records::<AccessRow>(&only(inputs.access, &accounts, "account_id")?, "access log")?,
        |a| a.account_id.clone(),
    );
    for list in access.values_mut() {
        list.sort_by(|a, b| (&a.accessed_at, &a.ip_address).cmp(&(&b.accessed_at, &b.ip_address)));
    }
    let runs = group(
        inputs
            .runs
            .iter()
            .filter(|r| accounts.contains(&r.account_id))
            .cloned()
            .collect(),
        |r: &RunRow| r.account_id.clone(),
    );

    let reports: Vec<Vec<(String, String)>> = wanted
        .par_iter()
        .map(|f| {
            let facts = report::AccountFacts {
                flag: f,
                customer: customers.get(&f.account_id),
                owners: owners.get(&f.account_id).cloned().unwrap_or_default(),
                access: access.get(&f.account_id).cloned().unwrap_or_default(),
                runs: runs.get(&f.account_id).cloned().unwrap_or_default(),
            };
            let mut doc = report::build(common, facts, &inputs.answers.of(&f.account_id));
            if let Some(filed) = inputs.filings.get(&f.account_id) {
                let now = crate::sinks::filings::facts(&templates::shown(&doc)?);
                doc.set_filing(filed, crate::sinks::filings::changelog(&filed.facts, &now));
            }
            let dir = format!("reports/{}", report_folder(&f.account_id));
            render_three(
                templates,
                &doc,
                &format!("{dir}/ai-training-report"),
                "ai-training-report",
                &BTreeMap::new(),
            )
        })
        .collect::<Result<_>>()?;
    let mut out: Vec<(String, String)> = reports.into_iter().flatten().collect();

    let cert = certification::build(
        common,
        inputs.results,
        &inputs.answers.certification.resolutions,
    )?;
    out.extend(render_three(
        templates,
        &cert,
        "certification/cip-certification",
        "cip-certification",
        &certification::charts(&cert),
    )?);
    let sum = summary::build(common, flags, inputs.counts, inputs.filings);
    let charts = summary::charts(flags, common);
    for ext in ["md", "html"] {
        out.push((
            format!("summary.{ext}"),
            templates.render_with(&format!("summary.{ext}"), &sum, &charts)?,
        ));
    }
    Ok(out)
}

/// Markdown, HTML and JSON of one view model.
fn render_three<T: Serialize>(
    templates: &Templates,
    doc: &T,
    stem: &str,
    template: &str,
    charts: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>> {
    let json =
        serde_json::to_string_pretty(&templates::shown(doc)?).or_internal("document JSON")? + "\n";
    Ok(vec![
        (
            format!("{stem}.md"),
            templates.render_with(&format!("{template}.md"), doc, charts)?,
        ),
        (
            format!("{stem}.html"),
            templates.render_with(&format!("{template}.html"), doc, charts)?,
        ),
        (format!("{stem}.json"), json),
    ])
}

/// Rows of `df` whose `key` is one of `values`, masked for a document (`pii::mask_frame`): the
/// registry's raw values never reach a view model.
fn only(df: &DataFrame, values: &[String], key: &str) -> Result<DataFrame> {
    let wanted = DataFrame::new(values.len(), vec![Column::new(key.into(), values.to_vec())])
        .or_internal("document accounts")?;
    let rows = df
        .clone()
        .lazy()
        .join(
            wanted.lazy(),
            [col(key)],
            [col(key)],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()
        .or_internal("selecting document rows")?;
    crate::pii::mask_frame(&rows).or_internal("masking document rows")
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut map: HashMap<String, Vec<T>> = HashMap::new();
    for r in rows {
        map.entry(key(&r)).or_default().push(r);
    }
    map
}

/// Longest report folder name: a sanitised id is cut to `FOLDER_PREFIX` characters before the hash.
const FOLDER_PREFIX: usize = 48;

/// An account id as a folder name, unique per id and at most 62 characters. Letters, digits, `.`,
/// `_` and `-` are kept and anything else becomes `_`; where that changed the id, or it is longer
/// than 48 characters or starts with `.`, the (cut) name gets `~` and the first 12 hex digits of the
/// id's SHA-256. `~` never survives sanitising, so a hashed name cannot equal an unchanged one, and
/// two ids that sanitise alike (`Z/1`, `Z_1`) get different folders.
///
/// An id holding a card-like number is masked first (`pii::redact`) and hashed masked: a hash of
/// the raw card could be reversed by trying the hidden digits. Two such ids with the same mask
/// would share a folder; the audit before publishing fails such a run rather than overwrite a draft.
pub fn report_folder(id: &str) -> String {
    let masked = crate::pii::redact(id);
    let id = masked.as_ref();
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s == id && !s.is_empty() && !s.starts_with('.') && s.len() <= FOLDER_PREFIX {
        return s;
    }
    let mut prefix: String = s.chars().take(FOLDER_PREFIX).collect();
    if prefix.is_empty() || prefix.starts_with('.') {
        prefix.insert(0, '_');
    }
    let hash = crate::fingerprint::sha256_bytes(id.as_bytes());
    format!("{prefix}~{}", &hash[..12])
}

/// The accounts that get a report draft: REPORTABLE, and WATCH with `--drafts watch`.
pub fn drafted(flags: &[FlagRow], drafts: Drafts) -> Vec<&FlagRow> {
    flags
        .iter()
        .filter(|f| f.level == "REPORTABLE" || (drafts == Drafts::Watch && f.level == "WATCH"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::report_folder;

    #[test]
    fn account_ids_cannot_escape_the_reports_folder() {
        for id in [
            "../../etc",
            "/providers/Microsoft.Billing/billingAccounts/8611537",
            ".",
            "",
        ] {
            let f = report_folder(id);
            assert!(
                !f.contains('/') && !f.starts_with('.') && !f.is_empty(),
                "{f}"
            );
        }
        assert!(report_folder("../../etc").starts_with("_.._.._etc~"));
        assert_eq!(report_folder("420000000002"), "420000000002");
    }

    #[test]
    fn report_folders_are_unique_and_bounded() {
        let long = "A".repeat(300);
        let ids = [
            "Z/1",
            "Z_1",
            "Z:1",
            "z_1",
            long.as_str(),
            &long[..299],
            "x~1",
        ];
        let folders: Vec<String> = ids.iter().map(|i| report_folder(i)).collect();
        let unique: std::collections::BTreeSet<&String> = folders.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{folders:?}");
        assert!(folders.iter().all(|f| f.len() <= 62), "{folders:?}");
        assert_eq!(
            report_folder("Z_1"),
            "Z_1",
            "an id that needs no change keeps its name"
        );
    }
}
