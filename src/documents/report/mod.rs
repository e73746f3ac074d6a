//! The AI-training report draft for one foreign account: the view model counsel's documents are
//! rendered from (and the `.json` document itself). Built from already-computed tables and from
//! registry rows that `documents::only` masked, so raw values never reach a template. Whatever the data lacks
//! is named (a CIP gap, a TO COMPLETE block, a failed checklist item), never left blank. The view
//! model carries facts and codes; the words counsel reads are in `templates/partials/words.tera`.

use serde::Serialize;

mod checklist;

pub use checklist::CheckItem;

use super::Common;
use crate::sources::answers::{AccountAnswers, FIELDS};
use crate::state::filings::{FieldChange, Filing};
use crate::transforms::rows::{AccessRow, CustomerRow, FlagRow, OwnerRow, RunRow, ScreeningRow};

pub const SCHEMA: &str = "cipwatch/ai-training-report/1";

#[derive(Debug, Serialize)]
pub struct ReportDoc {
    pub schema: &'static str,
    pub common: Common,
    pub reference: String,
    pub reportable: bool,
    pub status: String,
    pub level: String,
    pub reasons: Vec<String>,
    /// The reportable event (proposed § 7.308): trigger, dates, run that first flagged it, basis.
    pub event: EventView,
    /// Where the report goes and who submits it.
    pub submission: SubmissionView,
    pub knowledge_date: Option<String>,
    pub due_date: Option<String>,
    /// The day the data first crossed the operations threshold (may be earlier than knowledge).
    pub crossing_date: Option<String>,
    /// Days left to the due date, or OVERDUE (with the days), as of the run.
    pub deadline: Option<Deadline>,
    /// A WATCH account meeting every test but the operations total: projected crossing + period.
    pub provisional_due_date: Option<String>,
    /// The filing of this account's report, when `cipwatch filed` recorded one.
    pub filing: Option<FilingView>,
    /// Fields changed since the filed version (empty when not filed or unchanged).
    pub changelog: Vec<FieldChange>,
    pub reseller: Option<ResellerView>,
    pub customer: CustomerView,
    pub beneficial_owners: Vec<OwnerRow>,
    /// Which optional owner columns any owner has (the documents show only those).
    pub owner_columns: OwnerColumns,
    pub access_window: AccessWindow,
    pub access: Vec<AccessRow>,
    pub runs: Vec<RunRow>,
    /// Whether any run has training signals (`class_reasons`), listed in words below the runs.
    pub runs_signalled: bool,
    pub compute: ComputeView,
    /// The run segments' totals, which the checklist compares with the account's.
    pub run_totals: RunTotals,
    pub tests: Vec<TestView>,
    pub cip: CipView,
    pub to_complete: Vec<ToComplete>,
    pub checklist: Vec<CheckItem>,
    /// Sanctions screening candidates of the account (its customer, owners, reseller), for
    /// review: never a match. Absent without any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub screening: Vec<ScreeningRow>,
}

#[derive(Debug, Serialize)]
pub struct ResellerView {
    pub id: String,
    pub name: Option<String>,
    pub country: Option<String>,
    pub cip_on_file: Option<bool>,
    /// Whether the reseller is a foreign person (its country is not `US`).
    pub foreign: bool,
    /// When the foreign reseller's own report was received, and when it was forwarded.
    pub report_received: Fact,
    pub report_forwarded: Fact,
}

/// A fact of the report and where it came from: `data` (cipwatch's tables), `answers` (counsel's
/// answers file, which overrides the data) or `missing` (then the checklist names `key`, the
/// answers-file field to fill in).
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub value: Option<String>,
    pub source: String,
    pub key: String,
}

/// Counsel's answer to `key`, else `data`, else missing.
fn fact(answers: &AccountAnswers, key: &str, data: Option<String>) -> Fact {
    let (value, source) = match (answers.get(key), data) {
        (Some(a), _) => (Some(a.to_string()), "answers"),
        (None, Some(d)) => (Some(d), "data"),
        (None, None) => (None, "missing"),
    };
    Fact {
        value,
        source: source.into(),
        key: key.into(),
    }
}

/// The reportable event. `trigger_type` is `new_transaction` or `changed_arrangement`.
#[derive(Debug, Serialize)]
pub struct EventView {
    /// Counsel's knowledge date (answers `knowledge_date`) once in force (not after the as-of
    /// date); missing until then. The report's knowledge and due dates count from it.
    pub knowledge_date: Fact,
    /// Whether this run's knowledge date is counsel's (`knowledge_date` answered and in force).
    pub knowledge_adopted: bool,
    /// Counsel's `knowledge_date` when answered but not in force (after the as-of date): the
    /// report says so, and lists the fact as still to complete.
    pub knowledge_date_not_in_force: Option<String>,
    pub trigger_type: Fact,
    /// Counsel's date, else the first billed accelerator usage (YYYY-MM-DD).
    pub transaction_date: Fact,
    /// The as-of date of the first filing run that found the account REPORTABLE.
    pub first_flagged: Option<String>,
    /// That run's id (this run's when it is the first).
    pub first_flagged_run: Option<String>,
    /// Counsel's date, else the end of the last run segment once it has ended.
    pub anticipated_completion: Fact,
    /// The rule text relied on (the profile's `[filing] report_citation`).
    pub citation: String,
}

/// The submission block: addressee and OMB number (profile), submitter (answers file).
#[derive(Debug, Serialize)]
pub struct SubmissionView {
    pub addressee: String,
    pub omb_control_number: String,
    pub submitter_name: Fact,
    pub submitter_title: Fact,
    pub submission_date: Fact,
    /// The declaration above the signature (answers file `declaration`, else the default).
    pub declaration: super::Declaration,
}

/// The optional beneficial-owner columns present for at least one owner.
#[derive(Debug, Serialize)]
pub struct OwnerColumns {
    pub address: bool,
    pub email: bool,
    pub phone: bool,
    pub payment_method: bool,
}

/// The customer as printed: identifiers masked, lists split.
#[derive(Debug, Serialize)]
pub struct CustomerView {
    pub account_id: String,
    pub on_file: bool,
    pub legal_name: Option<String>,
    pub customer_type: Option<String>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub payment_method: Option<String>,
    pub payment_identifier_masked: Option<String>,
    pub payment_source: Option<String>,
    pub national_id_masked: Option<String>,
    pub us_person: Option<String>,
    pub foreign_basis: String,
    pub sub_accounts: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub from: String,
    pub to: String,
}

/// The IP-address window of a report: `from` is counsel's `ip_window_from`, else the account's
/// opening, else its first usage, else the as-of date; `to` is the end of the as-of day.
#[derive(Debug, Serialize)]
pub struct AccessWindow {
    pub from: String,
    pub to: String,
    /// `answers`, `account_opened`, `first_usage` or `as_of`.
    pub from_source: String,
}

#[derive(Debug, Serialize)]
pub struct ComputeView {
    pub accelerators: Vec<String>,
    pub est_ops_low: Option<f64>,
    pub entity_id: Option<String>,
    pub entity_size: Option<i64>,
    pub entity_est_ops: Option<f64>,
    pub accelerator_hours: f64,
    pub est_ops: f64,
    pub upper_ops: f64,
    pub peak_colocated_ops_per_s: Option<f64>,
    pub peak_colocated_accelerators: Option<f64>,
    pub max_interconnect_gbps: Option<f64>,
    pub telemetry_share: f64,
    /// Operations-weighted utilisation measured by telemetry, where telemetry covers usage.
    pub measured_utilization: Option<f64>,
    /// The profile's assumed utilisation, used where telemetry does not cover usage.
    pub assumed_utilization: f64,
    pub first_usage: Option<String>,
    pub last_usage: Option<String>,
}

/// The sums of the run segments' operations and accelerator-hours.
#[derive(Debug, Serialize)]
pub struct RunTotals {
    pub est_ops: f64,
    pub accelerator_hours: f64,
}

/// One test of the profile: `test` is `ops`, `peak` or `interconnect`; `comparison` is `gt`
/// (greater than) or `ge` (at least), as the rule words the threshold.
#[derive(Debug, Serialize)]
pub struct TestView {
    pub test: String,
    pub measured: Option<f64>,
    pub comparison: String,
    pub threshold: f64,
    pub unit: String,
    pub met: bool,
}

#[derive(Debug, Serialize)]
pub struct CipView {
    pub verification_status: String,
    pub verification_method: Option<String>,
    pub verified_at: Option<String>,
    pub gaps: Vec<String>,
}

/// One block counsel answers; its title and guidance are the template's (`field_title`).
#[derive(Debug, Serialize)]
pub struct ToComplete {
    /// The key of the block in the answers file.
    pub key: String,
    /// Counsel's answer from `answers/<account_id>.toml`, when given.
    pub answer: Option<String>,
}

/// Where the report stands against its due date.
#[derive(Debug, Clone, Serialize)]
pub struct Deadline {
    pub due_date: String,
    /// Negative once overdue.
    pub days_left: i64,
    pub overdue: bool,
    /// `12 days left`, `due today` or `OVERDUE by 3 days`.
    pub text: String,
    /// Where the due date falls on a weekend or a US federal holiday (`config::calendar`).
    pub note: Option<String>,
}

/// The filed version of the report.
#[derive(Debug, Clone, Serialize)]
pub struct FilingView {
    pub reference: String,
    pub filed_on: String,
    pub run_id: String,
    pub as_of: String,
}

/// What the report builder needs about one account.
pub struct AccountFacts<'a> {
    pub flag: &'a FlagRow,
    /// The run that first found the account REPORTABLE, when an earlier run did.
    pub first_run: Option<String>,
    /// Operations-weighted measured utilisation (`usage_slots`, telemetry rows).
    pub measured_utilization: Option<f64>,
    pub customer: Option<&'a CustomerRow>,
    pub owners: Vec<OwnerRow>,
    pub access: Vec<AccessRow>,
    pub runs: Vec<RunRow>,
    /// The account's screening candidates.
    pub screening: Vec<ScreeningRow>,
}

/// Days left (or overdue) from `as_of` to `due`, both YYYY-MM-DD; `None` if either is not a date.
pub fn deadline(as_of: &str, due: &str) -> Option<Deadline> {
    let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let due_day = parse(due)?;
    let days_left = (due_day - parse(as_of)?).num_days();
    let text = match days_left {
        d if d < 0 => format!("OVERDUE by {} day{}", -d, if d == -1 { "" } else { "s" }),
        0 => "due today".to_string(),
        d => format!("{d} day{} left", if d == 1 { "" } else { "s" }),
    };
    Some(Deadline {
        due_date: due.to_string(),
        days_left,
        overdue: days_left < 0,
        text,
        note: crate::config::calendar::due_date_note(due_day),
    })
}

impl ReportDoc {
    /// Marks the report as filed: the filed reference is kept, and the status says whether the facts
    /// changed since (an updated report draft, with `changelog`) or not.
    pub fn set_filing(&mut self, filed: &Filing, changelog: Vec<FieldChange>) {
        self.reference = filed.reference.clone();
        self.status = if changelog.is_empty() {
            format!(
                "FILED on {} under reference {}: no change since the filed version",
                filed.filed_on, filed.reference
            )
        } else {
            format!(
                "UPDATED REPORT draft: {} field(s) changed since the report filed on {} under reference {}",
                changelog.len(),
                filed.filed_on,
                filed.reference
            )
        };
        if let Some(name) = &self.common.scenario {
            self.status = format!("SCENARIO {name}, not for filing. {}", self.status);
        }
        self.filing = Some(FilingView {
            reference: filed.reference.clone(),
            filed_on: filed.filed_on.clone(),
            run_id: filed.run_id.clone(),
            as_of: filed.as_of.clone(),
        });
        self.changelog = changelog;
    }
}

/// The report's status line before any filing: never "reportable under the rule" when the run
/// did not apply the rule's numbers, and never "for filing" in a scenario.
fn status(common: &Common, reportable: bool) -> String {
    let rule_numbers = common.not_assessed.is_empty();
    let base: String = match (&common.scenario, reportable, rule_numbers) {
        (_, false, _) => "DRAFT, NOT YET REPORTABLE (WATCH): for review only".into(),
        (Some(_), true, _) => "REPORTABLE under this scenario's parameters: what-if draft".into(),
        (None, true, true) => "DRAFT for filing: reportable under the rule profile".into(),
        (None, true, false) => "DRAFT: REPORTABLE ONLY UNDER THE THRESHOLDS IN FORCE, which are not the rule profile's (see the banner)".into(),
    };
    match &common.scenario {
        Some(name) => format!("SCENARIO {name}, not for filing. {base}"),
        None => base,
    }
}

pub fn build(common: &Common, facts: AccountFacts, answers: &AccountAnswers) -> ReportDoc {
    let f = facts.flag;
    let reportable = f.level == "REPORTABLE";
    let customer = customer_view(f, facts.customer);
    let event = event_view(common, &facts, answers);
    let window = access_window(common, f, facts.customer, answers);
    let access: Vec<AccessRow> = facts
        .access
        .into_iter()
        .filter(|a| {
            a.accessed_at.as_str() >= window.from.as_str()
                && a.accessed_at.as_str() <= window.to.as_str()
        })
        .collect();
    let cip = cip_view(f, facts.customer, &facts.owners);
    let mut doc = ReportDoc {
        schema: SCHEMA,
        reference: format!(
            "CIPW-AITR-{}-{}",
            f.account_id,
            f.knowledge_date.as_deref().unwrap_or(&common.as_of)
        ),
        reportable,
        status: status(common, reportable),
        level: f.level.to_string(),
        reasons: split(&f.reasons),
        event,
        submission: submission_view(common, answers),
        knowledge_date: f.knowledge_date.clone(),
        due_date: f.report_due_date.clone(),
        crossing_date: f.crossing_date.clone(),
        deadline: f
            .report_due_date
            .as_deref()
            .and_then(|due| deadline(&common.as_of, due)),
        provisional_due_date: f.provisional_due_date.clone(),
        filing: None,
        changelog: Vec::new(),
        reseller: reseller_view(f, answers),
        customer,
        owner_columns: OwnerColumns {
            address: facts.owners.iter().any(|o| o.address.is_some()),
            email: facts.owners.iter().any(|o| o.email.is_some()),
            phone: facts.owners.iter().any(|o| o.phone.is_some()),
            payment_method: facts.owners.iter().any(|o| o.payment_method.is_some()),
        },
        access_window: window,
        access,
        compute: compute_view(common, f, facts.measured_utilization),
        run_totals: RunTotals {
            est_ops: facts.runs.iter().map(|r| r.est_ops).sum(),
            accelerator_hours: facts.runs.iter().map(|r| r.accelerator_hours).sum(),
        },
        beneficial_owners: facts.owners,
        tests: tests(common, f),
        runs_signalled: facts
            .runs
            .iter()
            .any(|r| r.class_reasons.as_deref().is_some_and(|c| !c.is_empty())),
        runs: facts.runs,
        cip,
        to_complete: to_complete(answers),
        checklist: Vec::new(),
        screening: facts.screening,
        common: common.clone(),
    };
    doc.checklist = checklist::checklist(&doc);
    doc
}

/// The IP-address window: counsel's start, else the account's opening, else its first usage.
fn access_window(
    common: &Common,
    f: &FlagRow,
    customer: Option<&CustomerRow>,
    answers: &AccountAnswers,
) -> AccessWindow {
    let opened = customer.and_then(|c| c.opened_at.clone());
    let (from, from_source) = match (answers.get("ip_window_from"), opened, &f.first_usage) {
        (Some(day), _, _) => (format!("{day}T00:00:00Z"), "answers"),
        (None, Some(opened), _) => (opened, "account_opened"),
        (None, None, Some(first)) => (first.clone(), "first_usage"),
        (None, None, None) => (format!("{}T00:00:00Z", common.as_of), "as_of"),
    };
    AccessWindow {
        from,
        to: format!("{}T23:59:59Z", common.as_of),
        from_source: from_source.into(),
    }
}

fn event_view(common: &Common, facts: &AccountFacts, answers: &AccountAnswers) -> EventView {
    let f = facts.flag;
    let day = |s: &str| s.get(..10).unwrap_or(s).to_string();
    let last = facts.runs.iter().max_by(|a, b| a.end.cmp(&b.end));
    let ended = last.filter(|r| !r.ongoing).map(|r| day(&r.end));
    let answered = answers.get("knowledge_date").map(String::from);
    let knowledge_adopted = answered.is_some() && answered == f.knowledge_date;
    let knowledge_date = match knowledge_adopted {
        true => fact(answers, "knowledge_date", None),
        false => fact(&AccountAnswers::default(), "knowledge_date", None),
    };
    EventView {
        knowledge_adopted,
        knowledge_date,
        knowledge_date_not_in_force: answered.filter(|_| !knowledge_adopted),
        trigger_type: fact(answers, "trigger_type", None),
        transaction_date: fact(
            answers,
            "transaction_date",
            f.first_usage.as_deref().map(day),
        ),
        first_flagged: f.first_flagged_date.clone(),
        first_flagged_run: f.first_flagged_date.as_ref().map(|_| {
            facts
                .first_run
                .clone()
                .unwrap_or_else(|| common.run_id.clone())
        }),
        anticipated_completion: fact(answers, "anticipated_completion", ended),
        citation: common.rule.filing.report_citation.clone(),
    }
}

fn submission_view(common: &Common, answers: &AccountAnswers) -> SubmissionView {
    SubmissionView {
        addressee: common.rule.filing.addressee.clone(),
        omb_control_number: common.rule.filing.omb_control_number.clone(),
        submitter_name: fact(answers, "submitter_name", None),
        submitter_title: fact(answers, "submitter_title", None),
        submission_date: fact(answers, "submission_date", None),
        declaration: super::Declaration::of(answers.get("declaration")),
    }
}

fn reseller_view(f: &FlagRow, answers: &AccountAnswers) -> Option<ResellerView> {
    let id = f.reseller_id.as_ref()?;
    Some(ResellerView {
        id: id.clone(),
        name: f.reseller_name.clone(),
        country: f.reseller_country.clone(),
        cip_on_file: f.reseller_cip_on_file,
        foreign: f.reseller_country.as_deref() != Some("US"),
        report_received: fact(answers, "reseller_report_received", None),
        report_forwarded: fact(answers, "reseller_report_forwarded", None),
    })
}

fn compute_view(common: &Common, f: &FlagRow, measured: Option<f64>) -> ComputeView {
    ComputeView {
        accelerators: split(&f.accelerators),
        est_ops_low: f.est_ops_low,
        entity_id: f.entity_id.clone(),
        entity_size: f.entity_size,
        entity_est_ops: f.entity_est_ops,
        accelerator_hours: f.accelerator_hours,
        est_ops: f.est_ops,
        upper_ops: f.upper_ops,
        peak_colocated_ops_per_s: f.peak_colocated_ops_per_s,
        peak_colocated_accelerators: f.peak_colocated_accelerators,
        max_interconnect_gbps: f.max_interconnect_gbps,
        telemetry_share: if f.accelerator_hours > 0.0 {
            f.telemetry_accelerator_hours / f.accelerator_hours
        } else {
            0.0
        },
        measured_utilization: measured,
        assumed_utilization: common.params.assumed_utilization,
        first_usage: f.first_usage.clone(),
        last_usage: f.last_usage.clone(),
    }
}

fn split(list: &Option<String>) -> Vec<String> {
    list.as_deref()
        .map(|s| {
            s.split(';')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn customer_view(f: &FlagRow, c: Option<&CustomerRow>) -> CustomerView {
    let get = |pick: fn(&CustomerRow) -> &Option<String>| c.and_then(|c| pick(c).clone());
    CustomerView {
        account_id: f.account_id.clone(),
        on_file: c.is_some(),
        legal_name: get(|c| &c.legal_name),
        customer_type: get(|c| &c.customer_type),
        address: get(|c| &c.address),
        country: get(|c| &c.country),
        emails: split(&get(|c| &c.email)),
        phones: split(&get(|c| &c.phone)),
        payment_method: get(|c| &c.payment_method),
        payment_identifier_masked: get(|c| &c.payment_identifier),
        payment_source: get(|c| &c.payment_source),
        national_id_masked: get(|c| &c.national_id),
        us_person: c.map(|c| c.us_person.clone()),
        foreign_basis: f.foreign_basis.clone(),
        sub_accounts: split(&f.sub_accounts),
    }
}

fn cip_view(f: &FlagRow, c: Option<&CustomerRow>, owners: &[OwnerRow]) -> CipView {
    let mut gaps = Vec::new();
    match c {
        None => gaps.push("no CIP record for this billing account".to_string()),
        Some(c) => {
            let fields: [(&str, &Option<String>); 8] = [
                ("legal name", &c.legal_name),
                ("address", &c.address),
                ("country", &c.country),
                ("email", &c.email),
                ("telephone", &c.phone),
                ("means of payment", &c.payment_method),
                ("source of payment", &c.payment_source),
                ("verification method", &c.verification_method),
            ];
            gaps.extend(
                fields
                    .iter()
                    .filter(|(_, v)| v.is_none())
                    .map(|(n, _)| format!("{n} missing")),
            );
            if c.customer_type.as_deref() == Some("entity") && owners.is_empty() {
                gaps.push("no beneficial owner on file for an entity".into());
            }
        }
    }
    if !matches!(f.cip_status.as_str(), "verified" | "exempt") {
        gaps.push(format!("identity not verified (status: {})", f.cip_status));
    }
    for o in owners
        .iter()
        .filter(|o| o.verification_status.as_deref() != Some("verified"))
    {
        gaps.push(format!("beneficial owner {} not verified", o.name));
    }
    if f.reseller_id.is_some() && f.reseller_cip_on_file != Some(true) {
        gaps.push("sold through a reseller with no CIP on file".into());
    }
    CipView {
        verification_status: f.cip_status.clone(),
        verification_method: c.and_then(|c| c.verification_method.clone()),
        verified_at: c.and_then(|c| c.verified_at.clone()),
        gaps,
    }
}

fn tests(common: &Common, f: &FlagRow) -> Vec<TestView> {
    let p = &common.params;
    let test = |code: &str, measured, comparison: &str, threshold, unit: &str, met| TestView {
        test: code.into(),
        measured,
        comparison: comparison.into(),
        threshold,
        unit: unit.into(),
        met,
    };
    vec![
        test(
            "ops",
            Some(f.est_ops),
            "gt",
            p.training_ops,
            "operations",
            f.ops_met,
        ),
        test(
            "peak",
            f.peak_colocated_ops_per_s,
            "ge",
            p.cluster_peak_ops_per_s,
            "op/s",
            f.peak_met,
        ),
        test(
            "interconnect",
            f.max_interconnect_gbps,
            "gt",
            p.interconnect_gbps,
            "Gbit/s",
            f.interconnect_met,
        ),
    ]
}

fn to_complete(answers: &AccountAnswers) -> Vec<ToComplete> {
    FIELDS
        .iter()
        .map(|key| ToComplete {
            key: key.to_string(),
            answer: answers.get(key).map(String::from),
        })
        .collect()
}
