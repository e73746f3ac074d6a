//! Documents for counsel: one AI-training report draft per reportable foreign account (and, with
//! `--drafts watch`, per WATCH account), the CIP certification, and the run summary, each as
//! Markdown and self-contained HTML from Tera templates, reports and certification also as JSON
//! (the view model itself, schema in docs/documents.md); with `--pdf` every HTML document also as PDF
//! (`sinks::pdf`), and with `--filing-copy` an unmasked copy of the filing documents under
//! [`FILING_COPY`]. View models carry facts and codes; the words are the templates'
//! (`templates/partials/words.tera`). View models are built from masked registry rows, and every
//! string is masked by value once more as it is rendered (`templates::shown`), but for the filing
//! copy; rendering is parallel (rayon) and deterministic (no clock: the as-of date and run id).

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
use std::path::Path;

use crate::config::profile::{EffectiveProfile, Params, ProfileInfo};
use crate::config::Provider;
use crate::error::{Context, Result};
use crate::sources::answers::Answers;
use crate::state::filings::Filed;
use crate::transforms::quarantine::InputCount;
use crate::transforms::rows::{accounts_records, records};
use crate::transforms::rows::{AccessRow, CustomerRow, FlagRow, OwnerRow, RunRow, ScreeningRow};
use crate::transforms::QueryResults;
use templates::{Masking, Templates};

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
    /// The published `training_runs` table (typed rows are read for the accounts a document shows).
    pub runs: &'a DataFrame,
    pub customers: &'a DataFrame,
    pub owners: &'a DataFrame,
    pub access: &'a DataFrame,
    pub results: &'a QueryResults,
    pub counts: &'a BTreeMap<String, InputCount>,
    /// Counsel's answers, merged into the report drafts.
    pub answers: &'a Answers,
    /// The latest filing of each account made on or before the as-of date.
    pub filings: &'a Filed,
    /// The run that first found each account REPORTABLE under these parameters, by the account's
    /// knowledge key (`history::knowledge_key`), from `knowledge.json` before this run.
    pub first_runs: BTreeMap<String, String>,
    /// `screening.csv` (with `[screening]`): its candidates are shown in their accounts' reports.
    pub screening: Option<&'a DataFrame>,
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
pub fn common(
    plan: &Setting,
    as_of: &str,
    run_id: &str,
    warnings: &[String],
    catalog_gaps: &[String],
) -> Common {
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
        banners: banners(plan, catalog_gaps),
        scenario: plan.scenario.map(String::from),
        not_assessed: plan.rule_deviations.to_vec(),
    }
}

/// The opening words of the banners about the compute estimate (thresholds other than the rule's,
/// a catalog gap): documents none of whose figures depend on the estimate (the certification) leave
/// them out.
pub const COMPUTE_BANNERS: [&str; 2] = [NOT_ASSESSED, CATALOG_GAP_BANNER];
const NOT_ASSESSED: &str = "NOT ASSESSED UNDER THE RULE'S THRESHOLDS";
const CATALOG_GAP_BANNER: &str = "CATALOG GAP";

/// The banners of a run under a profile whose rule is not in force, of a scenario run, of a run
/// under thresholds other than the rule's, and of a run that estimated an accelerator the catalog
/// has no figure for at the conservative bound.
fn banners(plan: &Setting, catalog_gaps: &[String]) -> Vec<String> {
    let (scenario, deviations) = (plan.scenario, plan.rule_deviations);
    let mut out: Vec<String> = plan
        .profile
        .info
        .not_in_force_banner()
        .into_iter()
        .collect();
    if let Some(name) = scenario {
        out.push(format!(
            "SCENARIO {name}: a what-if run (other parameters than the configuration's, or an as-of date before the latest filing run's); not a filing run, not for filing"
        ));
    }
    if !deviations.is_empty() {
        out.push(format!("{NOT_ASSESSED}: {}", deviations.join("; ")));
    }
    if !catalog_gaps.is_empty() {
        out.push(format!(
            "{CATALOG_GAP_BANNER}: no peak figure for {}; estimated at the conservative bound (accounts marked CATALOG_GAP)",
            catalog_gaps.join(", ")
        ));
    }
    out
}

/// What a run asks of the documents beyond the default masked set.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// `--filing-copy`: an unmasked copy of the filing documents under [`FILING_COPY`].
    pub filing_copy: bool,
    /// `--pdf`: a PDF of every HTML document (`sinks::pdf`), printed in a scratch folder made
    /// inside this folder (the run's publish root).
    pub pdf: Option<&'a Path>,
}

/// Documents by relative path: text (Markdown, HTML, JSON) and PDF bytes.
pub type Rendered = (Vec<(String, String)>, Vec<(String, Vec<u8>)>);

/// Every document of a run: the text documents (masked, plus the unmasked filing copy when
/// asked) and the PDFs (relative path → bytes) when asked.
///
/// Errors: as [`render_all`]; reference data (exit 4) when PDFs are asked and there is no browser.
pub fn render_outputs(
    templates: &Templates,
    common: &Common,
    inputs: &DocInputs,
    drafts: Drafts,
    extras: Extras<'_>,
) -> Result<Rendered> {
    let mut texts = render_all(templates, common, inputs, drafts, Masking::Masked)?;
    if extras.filing_copy {
        let mut unmasked = common.clone();
        unmasked.banners.insert(0, UNMASKED_BANNER.to_string());
        texts.extend(render_all(
            templates,
            &unmasked,
            inputs,
            drafts,
            Masking::Unmasked,
        )?);
    }
    let pdfs = match extras.pdf {
        Some(scratch) => crate::sinks::pdf::print_all(&texts, &common.as_of, scratch)?,
        None => Vec::new(),
    };
    Ok((texts, pdfs))
}

/// The banner on every page of the unmasked filing copy.
pub const UNMASKED_BANNER: &str =
    "UNMASKED FILING COPY: personal data in full, for the filing only; keep it as the filing itself";

/// The folder of the unmasked filing copy inside a run folder (`run --filing-copy`).
pub const FILING_COPY: &str = "filing-copy-UNMASKED";

/// Renders every document; returns (relative path, content) pairs in a stable order. Unmasked
/// (the filing copy), only the filing documents are rendered (report drafts and certification),
/// under [`FILING_COPY`].
pub fn render_all(
    templates: &Templates,
    common: &Common,
    inputs: &DocInputs,
    drafts: Drafts,
    masking: Masking,
) -> Result<Vec<(String, String)>> {
    let flags = inputs.flags;
    let wanted = drafted(flags, drafts);
    let mut out = render_reports(templates, common, inputs, &wanted, masking)?;
    // Only a profile whose rule has an annual certification (`[filing] certification_citation`)
    // gets one: guidance, an advisory or a reporting rule without a CIP has none.
    if !common.rule.filing.certification_citation.trim().is_empty() {
        let cert = certification::build(common, inputs.results, &inputs.answers.certification)?;
        out.extend(render_three(
            templates,
            &cert,
            "certification/cip-certification",
            "cip-certification",
            &certification::charts(&cert),
            masking,
        )?);
        // The working paper beside it (not filed): the reconciliation with the run's summary.
        out.extend(render_annex(
            templates,
            &cert,
            "certification/cip-certification-annex",
            "cip-certification-annex",
            masking,
        )?);
    }
    if masking == Masking::Unmasked {
        return Ok(out
            .into_iter()
            .map(|(rel, text)| (format!("{FILING_COPY}/{rel}"), text))
            .collect());
    }
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

/// The registry rows of the drafted accounts, as the documents show them (masked or not).
struct RegistryViews {
    customers: HashMap<String, CustomerRow>,
    owners: HashMap<String, Vec<OwnerRow>>,
    access: HashMap<String, Vec<AccessRow>>,
    screening: HashMap<String, Vec<ScreeningRow>>,
}

impl RegistryViews {
    fn of(inputs: &DocInputs, accounts: &[String], masking: Masking) -> Result<RegistryViews> {
        let rows = |df: &DataFrame| only(df, accounts, "account_id", masking);
        let customers = records::<CustomerRow>(&rows(inputs.customers)?, "customers")?
            .into_iter()
            .map(|c| (c.account_id.clone(), c))
            .collect();
        let owners = group(
            records::<OwnerRow>(&rows(inputs.owners)?, "beneficial owners")?,
            |o| o.account_id.clone(),
        );
        let mut access = group(
            records::<AccessRow>(&rows(inputs.access)?, "access log")?,
            |a| a.account_id.clone(),
        );
        for list in access.values_mut() {
            list.sort_by(|a, b| {
                (&a.accessed_at, &a.ip_address).cmp(&(&b.accessed_at, &b.ip_address))
            });
        }
        let screening = match inputs.screening {
            Some(table) => {
                let candidates = table
                    .clone()
                    .lazy()
                    .filter(col("candidate"))
                    .collect()
                    .or_internal("screening candidates")?;
                group(
                    records::<ScreeningRow>(&rows(&candidates)?, "screening")?,
                    |s| s.account_id.clone().unwrap_or_default(),
                )
            }
            None => HashMap::new(),
        };
        Ok(RegistryViews {
            customers,
            owners,
            access,
            screening,
        })
    }
}

/// The report drafts of the `wanted` accounts, each as Markdown, HTML and JSON. A filed account's
/// status (FILED, or UPDATED REPORT with its changelog) compares the masked view with the filed
/// facts, which are masked: the unmasked filing copy states the same status as the masked report.
fn render_reports(
    templates: &Templates,
    common: &Common,
    inputs: &DocInputs,
    wanted: &[&FlagRow],
    masking: Masking,
) -> Result<Vec<(String, String)>> {
    let accounts: Vec<String> = wanted.iter().map(|f| f.account_id.clone()).collect();
    let views = RegistryViews::of(inputs, &accounts, masking)?;
    let masked_views = match masking {
        Masking::Masked => None,
        Masking::Unmasked => Some(RegistryViews::of(inputs, &accounts, Masking::Masked)?),
    };
    let account_ids: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let runs = group(
        accounts_records(inputs.runs, &account_ids, "training runs")?,
        |r: &RunRow| r.account_id.clone(),
    );
    let measured = measured_utilization(inputs.results)?;
    let build = |f: &FlagRow, views: &RegistryViews, masking: Masking| {
        let key = crate::state::history::knowledge_key(&f.account_id);
        let facts = report::AccountFacts {
            flag: f,
            first_run: inputs.first_runs.get(key.as_ref()).cloned(),
            measured_utilization: measured.get(&f.account_id).copied(),
            customer: views.customers.get(&f.account_id),
            owners: views.owners.get(&f.account_id).cloned().unwrap_or_default(),
            access: views.access.get(&f.account_id).cloned().unwrap_or_default(),
            runs: runs.get(&f.account_id).cloned().unwrap_or_default(),
            screening: views
                .screening
                .get(&f.account_id)
                .cloned()
                .unwrap_or_default(),
        };
        let answers = match masking {
            Masking::Masked => answers_of(inputs.answers, &f.account_id).masked(),
            Masking::Unmasked => answers_of(inputs.answers, &f.account_id),
        };
        report::build(common, facts, &answers)
    };
    let reports: Vec<Vec<(String, String)>> = wanted
        .par_iter()
        .map(|f| {
            let mut doc = build(f, &views, masking);
            if let Some(filed) = inputs.filings.of(&f.account_id) {
                // Filed facts are masked: compared as shown in the masked documents.
                let masked = match &masked_views {
                    Some(v) => templates::shown(&build(f, v, Masking::Masked))?,
                    None => templates::shown(&doc)?,
                };
                let now = crate::state::filings::facts(&masked);
                doc.set_filing(filed, crate::state::filings::changelog(&filed.facts, &now));
            }
            let dir = format!("reports/{}", report_folder(&f.account_id));
            let mut out = render_three(
                templates,
                &doc,
                &format!("{dir}/ai-training-report"),
                "ai-training-report",
                &BTreeMap::new(),
                masking,
            )?;
            // The working papers beside the document to file: method, checklist, glossary.
            if masking == Masking::Masked {
                out.extend(render_annex(
                    templates,
                    &doc,
                    &format!("{dir}/ai-training-report-annex"),
                    "ai-training-report-annex",
                    masking,
                )?);
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    Ok(reports.into_iter().flatten().collect())
}

/// Each account's utilisation measured by telemetry, weighted by operations: the estimated over
/// the upper-bound operations of its `usage_slots` rows whose utilisation came from telemetry
/// (`utilization_source = 'telemetry'`, queries/02). Accounts without telemetry are absent.
///
/// Errors: configuration when no query produces `usage_slots`; internal when it lacks a column.
fn measured_utilization(results: &QueryResults) -> Result<HashMap<String, f64>> {
    let sums = crate::transforms::per_account_part(
        &results.usage_slots,
        "measured utilisation",
        |part| {
            part.filter(col("utilization_source").eq(lit("telemetry")))
                .group_by([col("billing_account_id")])
                .agg([col("est_ops").sum(), col("upper_ops").sum()])
        },
    )?;
    let ids = sums
        .column("billing_account_id")
        .and_then(|c| c.cast(&DataType::String))
        .or_internal("measured utilisation")?;
    let est = sums.column("est_ops").or_internal("measured utilisation")?;
    let upper = sums
        .column("upper_ops")
        .or_internal("measured utilisation")?;
    let (ids, est, upper) = (
        ids.str().or_internal("measured utilisation")?,
        est.f64().or_internal("measured utilisation")?,
        upper.f64().or_internal("measured utilisation")?,
    );
    Ok(ids
        .iter()
        .zip(est.iter().zip(upper.iter()))
        .filter_map(|(id, (e, u))| match (id, e, u) {
            // Rounded as the tables are: the sums' order, and so their last bits, vary by run.
            (Some(id), Some(e), Some(u)) if u > 0.0 => Some((
                id.to_string(),
                crate::transforms::rounding::round_sig(e / u),
            )),
            _ => None,
        })
        .collect())
}

/// Markdown, HTML and JSON of one view model.
fn render_three<T: Serialize>(
    templates: &Templates,
    doc: &T,
    stem: &str,
    template: &str,
    charts: &BTreeMap<String, String>,
    masking: Masking,
) -> Result<Vec<(String, String)>> {
    let mut shown = templates::shown_as(doc, masking)?;
    if masking == Masking::Masked {
        // A whole number that is a card (`--set training_ops=<card>`) becomes its mask, as text.
        crate::pii::redact_json(&mut shown);
    }
    let json = serde_json::to_string_pretty(&shown).or_internal("document JSON")? + "\n";
    let render =
        |ext: &str| templates.render_as(&format!("{template}.{ext}"), doc, charts, masking);
    Ok(vec![
        (format!("{stem}.md"), render("md")?),
        (format!("{stem}.html"), render("html")?),
        (format!("{stem}.json"), json),
    ])
}

/// The declaration above a signature: counsel's answer (`declaration`), else the default wording
/// (`answers::DEFAULT_DECLARATION`), and whether it is counsel's.
#[derive(Debug, Clone, Serialize)]
pub struct Declaration {
    pub text: String,
    pub answered: bool,
}

impl Declaration {
    /// The declaration from an answer, when given.
    pub fn of(answer: Option<&str>) -> Declaration {
        Declaration {
            text: answer
                .unwrap_or(crate::sources::answers::DEFAULT_DECLARATION)
                .to_string(),
            answered: answer.is_some(),
        }
    }
}

/// Markdown and HTML of a document's annex (working papers, not filed: no JSON, the document's
/// own JSON holds its data) from the `template` pair, as `stem.md` and `stem.html`.
fn render_annex<T: Serialize>(
    templates: &Templates,
    doc: &T,
    stem: &str,
    template: &str,
    masking: Masking,
) -> Result<Vec<(String, String)>> {
    ["md", "html"]
        .iter()
        .map(|ext| {
            let text = templates.render_as(
                &format!("{template}.{ext}"),
                doc,
                &BTreeMap::new(),
                masking,
            )?;
            Ok((format!("{stem}.{ext}"), text))
        })
        .collect()
}

/// Rows of `df` whose `key` is one of `values`, masked for a document (`pii::mask_frame`): the
/// registry's raw values never reach a view model, but for the unmasked filing copy.
fn only(df: &DataFrame, values: &[String], key: &str, masking: Masking) -> Result<DataFrame> {
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
    match masking {
        Masking::Masked => crate::pii::mask_frame(&rows).or_internal("masking document rows"),
        Masking::Unmasked => Ok(rows),
    }
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

/// The name of an account's answers file, without `.toml`: its report folder's name
/// ([`report_folder`]), which is the account id itself for an id of at most 62 letters, digits, `.`,
/// `_` and `-` (`420000000002`), and a bounded, sanitised name with a hash otherwise (an Azure
/// billing account `8611abcd-1234:5678ef_2019-05-31`).
pub fn answers_name(account: &str) -> String {
    report_folder(account)
}

/// Counsel's answers for `account`: its file [`answers_name`], or one named by the id itself.
pub fn answers_of(answers: &Answers, account: &str) -> crate::sources::answers::AccountAnswers {
    match answers.accounts.contains_key(account) {
        true => answers.of(account),
        false => answers.of(&answers_name(account)),
    }
}

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
