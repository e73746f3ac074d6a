//! The AI-training report draft for one foreign account: the view model counsel's documents are
//! rendered from (and the `.json` document itself). Built from already-computed tables and from
//! registry rows that `documents::only` masked, so raw values never reach a template. Whatever the data lacks
//! is named (a CIP gap, a TO COMPLETE block, a failed checklist item), never left blank.

use serde::Serialize;

use super::Common;
use crate::pii::is_invisible_control;
use crate::sinks::filings::{FieldChange, Filing};
use crate::sources::answers::{AccountAnswers, FIELDS};
use crate::transforms::rows::{AccessRow, CustomerRow, FlagRow, OwnerRow, RunRow};

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
    pub access_window: Window,
    pub access: Vec<AccessRow>,
    pub runs: Vec<RunRow>,
    pub compute: ComputeView,
    pub tests: Vec<TestView>,
    pub method: Vec<String>,
    pub cip: CipView,
    pub to_complete: Vec<ToComplete>,
    pub checklist: Vec<CheckItem>,
}

#[derive(Debug, Serialize)]
pub struct ResellerView {
    pub id: String,
    pub name: Option<String>,
    pub country: Option<String>,
    pub cip_on_file: Option<bool>,
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
    pub first_usage: Option<String>,
    pub last_usage: Option<String>,
}

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

#[derive(Debug, Serialize)]
pub struct ToComplete {
    /// The key of the block in the answers file.
    pub key: String,
    pub field: String,
    pub guidance: String,
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
}

/// The filed version of the report.
#[derive(Debug, Clone, Serialize)]
pub struct FilingView {
    pub reference: String,
    pub filed_on: String,
    pub run_id: String,
    pub as_of: String,
}

#[derive(Debug, Serialize)]
pub struct CheckItem {
    pub item: String,
    pub ok: bool,
    pub detail: String,
}

/// What the report builder needs about one account.
pub struct AccountFacts<'a> {
    pub flag: &'a FlagRow,
    pub customer: Option<&'a CustomerRow>,
    pub owners: Vec<OwnerRow>,
    pub access: Vec<AccessRow>,
    pub runs: Vec<RunRow>,
}

/// Days left (or overdue) from `as_of` to `due`, both YYYY-MM-DD; `None` if either is not a date.
pub fn deadline(as_of: &str, due: &str) -> Option<Deadline> {
    let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let days_left = (parse(due)? - parse(as_of)?).num_days();
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
    let window = Window {
        from: f
            .first_usage
            .clone()
            .unwrap_or_else(|| common.as_of.clone()),
        to: format!("{}T23:59:59Z", common.as_of),
    };
    let access: Vec<AccessRow> = facts
        .access
        .into_iter()
        .filter(|a| {
            a.accessed_at.as_str() >= window.from.as_str()
                && a.accessed_at.as_str() <= window.to.as_str()
        })
        .collect();
    let compute = ComputeView {
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
        first_usage: f.first_usage.clone(),
        last_usage: f.last_usage.clone(),
    };
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
        reseller: f.reseller_id.as_ref().map(|id| ResellerView {
            id: id.clone(),
            name: f.reseller_name.clone(),
            country: f.reseller_country.clone(),
            cip_on_file: f.reseller_cip_on_file,
        }),
        customer,
        beneficial_owners: facts.owners,
        access_window: window,
        access,
        runs: facts.runs,
        compute,
        tests: tests(common, f),
        method: method(common, f),
        cip,
        to_complete: to_complete(answers),
        checklist: Vec::new(),
        common: common.clone(),
    };
    doc.checklist = checklist(&doc);
    doc
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
        us_person: get(|c| &c.us_person),
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
        gaps.push(format!(
            "beneficial owner {} not verified",
            o.name.as_deref().unwrap_or("(unnamed)")
        ));
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
    vec![
        TestView {
            test: "Estimated operations of the training".into(),
            measured: Some(f.est_ops),
            comparison: "greater than".into(),
            threshold: p.training_ops,
            unit: "operations".into(),
            met: f.ops_met,
        },
        TestView {
            test: "Peak co-located compute (theoretical maximum)".into(),
            measured: f.peak_colocated_ops_per_s,
            comparison: "at least".into(),
            threshold: p.cluster_peak_ops_per_s,
            unit: "op/s".into(),
            met: f.peak_met,
        },
        TestView {
            test: "Cluster networking".into(),
            measured: f.max_interconnect_gbps,
            comparison: "greater than".into(),
            threshold: p.interconnect_gbps,
            unit: "Gbit/s".into(),
            met: f.interconnect_met,
        },
    ]
}

fn method(common: &Common, f: &FlagRow) -> Vec<String> {
    let p = &common.params;
    let share = if f.accelerator_hours > 0.0 {
        f.telemetry_accelerator_hours / f.accelerator_hours * 100.0
    } else {
        0.0
    };
    vec![
        "Accelerator-hours are the billed hours of each accelerator instance multiplied by its number of accelerators, \
         taken from the billing row (SkuPriceDetails GpuCount) or else from the accelerator catalog."
            .into(),
        format!(
            "The upper bound multiplies accelerator-hours by each accelerator's peak dense rate at {} precision \
             (falling back to {} where no {} figure is published), without sparsity, as listed in the catalog with its source.",
            p.peak_precision, p.peak_precision_fallback, p.peak_precision
        ),
        format!(
            "The estimate multiplies the upper bound by the utilisation actually achieved: measured by telemetry for \
             {share:.0}% of the accelerator-hours, and assumed to be {} for the rest (published training runs achieve 0.3 to 0.45).",
            p.assumed_utilization
        ),
        "Peak co-located compute is the largest number of accelerators the account ran at the same time within one \
         co-location group (a placement group or cluster from telemetry, else an availability zone), times their peak rate."
            .into(),
        "Cluster networking is the best network bandwidth of the instance types used, from the catalog (for AWS, the \
         instance's baseline network bandwidth)."
            .into(),
        format!(
            "The knowledge date is the as-of date of the first published filing run (not a scenario) that found the \
             account REPORTABLE under these parameters{}; the due date adds the rule profile's reporting period ({} days). \
             The day the data first crossed the operations threshold is shown beside it ({}); it is not used as the \
             knowledge date, because the provider learns of the crossing from a run. A backfill runs each past date in \
             order under this same rule.",
            f.knowledge_date
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default(),
            p.report_due_days,
            f.crossing_date.as_deref().unwrap_or("not crossed")
        ),
        format!(
            "All figures are estimates from billing and telemetry, not measurements of the customer's model; they cover \
             usage up to the as-of date {}.",
            common.as_of
        ),
    ]
}

fn to_complete(answers: &AccountAnswers) -> Vec<ToComplete> {
    FIELDS
        .iter()
        .map(|(key, field, guidance)| ToComplete {
            key: key.to_string(),
            field: field.to_string(),
            guidance: guidance.to_string(),
            answer: answers.get(key).map(String::from),
        })
        .collect()
}

/// The pre-filing checklist: required fields present, text printable, totals consistent.
fn checklist(doc: &ReportDoc) -> Vec<CheckItem> {
    let mut items = Vec::new();
    let mut present = |item: &str, ok: bool, missing: &str| {
        items.push(CheckItem {
            item: item.into(),
            ok,
            detail: if ok { "present".into() } else { missing.into() },
        })
    };
    let c = &doc.customer;
    present(
        "Provider legal name, address and CIP contact",
        !doc.common.provider.legal_name.is_empty()
            && !doc.common.provider.address.is_empty()
            && !doc.common.provider.cip_contact.is_empty(),
        "missing from configuration",
    );
    present("Customer legal name", c.legal_name.is_some(), "missing");
    present("Customer address", c.address.is_some(), "missing");
    present("Customer country", c.country.is_some(), "missing");
    present("Customer email", !c.emails.is_empty(), "missing");
    present("Customer telephone", !c.phones.is_empty(), "missing");
    present(
        "Means and source of payment",
        c.payment_method.is_some() && c.payment_source.is_some(),
        "missing",
    );
    present(
        "Beneficial owners",
        !doc.beneficial_owners.is_empty() || c.customer_type.as_deref() == Some("individual"),
        "none on file",
    );
    present(
        "IP addresses with access times",
        !doc.access.is_empty(),
        "none in the access log for the report window",
    );
    present(
        "Training run details",
        !doc.runs.is_empty(),
        "no run segments",
    );
    present(
        "Knowledge date and due date",
        doc.knowledge_date.is_some() && doc.due_date.is_some(),
        "not reportable yet",
    );
    let unprintable = unprintable_fields(doc);
    items.push(CheckItem {
        item: "No non-printable, bidirectional or zero-width characters".into(),
        ok: unprintable.is_empty(),
        detail: if unprintable.is_empty() {
            "none found".into()
        } else {
            format!("found in: {}", unprintable.join(", "))
        },
    });
    let run_ops: f64 = doc.runs.iter().map(|r| r.est_ops).sum();
    let run_hours: f64 = doc.runs.iter().map(|r| r.accelerator_hours).sum();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let ok = close(run_ops, doc.compute.est_ops) && close(run_hours, doc.compute.accelerator_hours);
    items.push(CheckItem {
        item: "Totals equal the detail rows".into(),
        ok,
        detail: format!(
            "runs sum to {} operations and {} accelerator-hours; account totals {} and {}",
            super::filters::sci(run_ops),
            super::filters::grouped(run_hours),
            super::filters::sci(doc.compute.est_ops),
            super::filters::grouped(doc.compute.accelerator_hours)
        ),
    });
    for t in &doc.to_complete {
        items.push(CheckItem {
            item: format!("Counsel's answer: {}", t.field),
            ok: t.answer.is_some(),
            detail: match t.answer {
                Some(_) => "answered".into(),
                None => format!(
                    "missing: answer `{}` in answers/{}.toml (cipwatch answers {} writes a template)",
                    t.key, c.account_id, c.account_id
                ),
            },
        });
    }
    items
}

/// Paths (`customer.legal_name`, `beneficial_owners[1].name`) of every text field of the report
/// holding a control character (other than newline and tab), a bidirectional control or a
/// zero-width character: what the document shows written out as `[U+XXXX]`.
fn unprintable_fields(doc: &ReportDoc) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(value) = serde_json::to_value(doc) {
        unprintable_paths(&value, String::new(), &mut found);
    }
    found
}

fn unprintable_paths(value: &serde_json::Value, path: String, found: &mut Vec<String>) {
    let odd = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_invisible_control(c);
    match value {
        serde_json::Value::String(s) if s.chars().any(odd) => found.push(path),
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                unprintable_paths(v, format!("{path}[{i}]"), found);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                unprintable_paths(v, p, found);
            }
        }
        _ => {}
    }
}
