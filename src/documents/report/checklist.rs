//! The report's pre-filing checklist: the fields the rule asks for present, every text printable,
//! the totals consistent, and each of counsel's answers and short-answer facts given.

use serde::Serialize;

use super::{Fact, ReportDoc};
use crate::pii::is_invisible_control;
use crate::sources::answers::FACTS;

/// One item of the pre-filing checklist, by code (its words are the template's `check_label`).
#[derive(Debug, Serialize)]
pub struct CheckItem {
    pub code: String,
    pub ok: bool,
    /// The answers-file key of an `answer` item.
    pub key: Option<String>,
    /// Where a `printable` item found odd characters (field paths).
    pub found: Vec<String>,
}

/// The pre-filing checklist: required fields present, text printable, totals consistent.
pub(super) fn checklist(doc: &ReportDoc) -> Vec<CheckItem> {
    let item = |code: &str, ok: bool| CheckItem {
        code: code.into(),
        ok,
        key: None,
        found: Vec::new(),
    };
    let c = &doc.customer;
    let provider = &doc.common.provider;
    let mut items = vec![
        item(
            "provider",
            !provider.legal_name.is_empty()
                && !provider.address.is_empty()
                && !provider.cip_contact.is_empty(),
        ),
        item("legal_name", c.legal_name.is_some()),
        item("address", c.address.is_some()),
        item("country", c.country.is_some()),
        item("email", !c.emails.is_empty()),
        item("phone", !c.phones.is_empty()),
        item(
            "payment",
            c.payment_method.is_some() && c.payment_source.is_some(),
        ),
        item(
            "owners",
            !doc.beneficial_owners.is_empty() || c.customer_type.as_deref() == Some("individual"),
        ),
        item("access", !doc.access.is_empty()),
        item("runs", !doc.runs.is_empty()),
        item(
            "dates",
            doc.knowledge_date.is_some() && doc.due_date.is_some(),
        ),
    ];
    let found = unprintable_fields(doc);
    items.push(CheckItem {
        ok: found.is_empty(),
        found,
        ..item("printable", true)
    });
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let t = &doc.run_totals;
    items.push(item(
        "totals",
        close(t.est_ops, doc.compute.est_ops)
            && close(t.accelerator_hours, doc.compute.accelerator_hours),
    ));
    for t in &doc.to_complete {
        items.push(CheckItem {
            key: Some(t.key.clone()),
            ..item("answer", t.answer.is_some())
        });
    }
    for fact in facts_of(doc) {
        items.push(CheckItem {
            key: Some(fact.key.clone()),
            ..item("fact", fact.value.is_some())
        });
    }
    items
}

/// The report's short-answer facts, in the answers file's order (the reseller's only when the
/// account was sold through a foreign reseller).
fn facts_of(doc: &ReportDoc) -> Vec<&Fact> {
    let e = &doc.event;
    let s = &doc.submission;
    let mut all = vec![
        &e.knowledge_date,
        &e.trigger_type,
        &e.transaction_date,
        &e.anticipated_completion,
    ];
    if let Some(r) = doc.reseller.as_ref().filter(|r| r.foreign) {
        all.extend([&r.report_received, &r.report_forwarded]);
    }
    all.extend([&s.submitter_name, &s.submitter_title, &s.submission_date]);
    debug_assert!(all.iter().all(|f| FACTS.contains(&f.key.as_str())));
    all
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
