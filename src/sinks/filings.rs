//! The filing log, `<out>/filings.jsonl`: one line per report filed with the authority (`cipwatch
//! filed`), holding the account, the reference and date of the filing, the run whose draft was
//! filed, the SHA-256 of its documents and the report's facts as filed (masked, as the documents
//! show them). Later runs read it to mark a report as filed and, when the facts have changed since,
//! to draft an updated report with a field-level changelog. The file is rewritten atomically
//! (temporary file, fsync, rename) under the output folder's lock; scenario runs never write it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Context, Error, Result};

pub const FILINGS: &str = "filings.jsonl";

/// Report fields that are not facts about the account: they change with every run (run id,
/// as-of, deadline) or are the filing's own state.
const NOT_FACTS: &[&str] = &[
    "schema",
    "common",
    "status",
    "reference",
    "filing",
    "changelog",
    "deadline",
    "checklist",
    "method",
    "submission",
    "to_complete",
    "access_window",
];

/// One line of `filings.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Filing {
    pub account_id: String,
    pub reference: String,
    /// The date the report was filed, YYYY-MM-DD.
    pub filed_on: String,
    pub run_id: String,
    pub as_of: String,
    /// Document path (relative to the run folder) → SHA-256.
    pub documents: BTreeMap<String, String>,
    /// The report's facts as filed: flattened field path → value.
    pub facts: BTreeMap<String, String>,
}

/// One field that changed since the filed version.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub filed: String,
    pub now: String,
}

/// Every filing, in the order recorded (a missing file holds none).
///
/// Errors: configuration (exit 2) naming the file and line when a line is not a filing.
pub fn load(out: &Path) -> Result<Vec<Filing>> {
    let path = out.join(FILINGS);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::config(format!("{}, line {}", path.display(), i + 1), e))
        })
        .collect()
}

/// The latest filing of each account, keyed by the account id as the log holds it: masked by value
/// ([`crate::sinks::history::knowledge_key`]), so that an id that is a card number is never
/// written out. Look an account up with [`of`].
pub fn latest(filings: &[Filing]) -> BTreeMap<String, Filing> {
    filings
        .iter()
        .map(|f| (key(&f.account_id).into_owned(), f.clone()))
        .collect()
}

/// The latest filing of `account` (its id as the data holds it) in [`latest`]'s map.
pub fn of<'a>(latest: &'a BTreeMap<String, Filing>, account: &str) -> Option<&'a Filing> {
    latest.get(key(account).as_ref())
}

/// An account's key in the filing log: its id masked by value, as in `knowledge.json`.
pub fn key(account: &str) -> std::borrow::Cow<'_, str> {
    crate::sinks::history::knowledge_key(account)
}

/// Appends a filing: the whole log is rewritten to a temporary file, synced and renamed into place,
/// so a reader sees the old log or the new one, never half a line.
///
/// Errors: usage when the account was filed before under another reference (a filed report's
/// reference never changes); internal when the file cannot be written.
pub fn append(out: &Path, filing: &Filing) -> Result<()> {
    let mut all = load(out)?;
    if let Some(earlier) = all.iter().find(|f| f.account_id == filing.account_id) {
        if earlier.reference != filing.reference {
            return Err(Error::Usage(format!(
                "this account's report was filed on {} under reference {}; an updated report keeps that reference",
                earlier.filed_on, earlier.reference
            )));
        }
    }
    all.push(filing.clone());
    let mut text = String::new();
    for f in &all {
        text.push_str(&crate::pii::masked_json(f, false).or_internal("filing record")?);
        text.push('\n');
    }
    let tmp = out.join(format!(".{FILINGS}.{}", std::process::id()));
    crate::sinks::tables::write_bytes(text.as_bytes(), &tmp)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .or_internal("syncing the filing log")?;
    std::fs::rename(&tmp, out.join(FILINGS)).or_internal("saving the filing log")?;
    if let Ok(dir) = std::fs::File::open(out) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The facts of a report (its `.json` document, as shown): every leaf outside [`NOT_FACTS`], by path.
pub fn facts(report: &serde_json::Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(map) = report.as_object() {
        for (k, v) in map.iter().filter(|(k, _)| !NOT_FACTS.contains(&k.as_str())) {
            flatten(v, k.clone(), &mut out);
        }
    }
    out
}

fn flatten(value: &serde_json::Value, path: String, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(v, format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => {
            out.insert(path, s.clone());
        }
        other => {
            out.insert(path, other.to_string());
        }
    }
}

/// The fields that differ between the filed facts and the current ones (added and removed fields
/// included, shown as `(none)`), in field order.
pub fn changelog(
    filed: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<FieldChange> {
    let none = || "(none)".to_string();
    let mut fields: Vec<&String> = filed.keys().chain(now.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| filed.get(*f) != now.get(*f))
        .map(|f| FieldChange {
            field: f.clone(),
            filed: filed.get(f).cloned().unwrap_or_else(none),
            now: now.get(f).cloned().unwrap_or_else(none),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_listed_by_field_and_the_reference_is_kept() {
        let a = facts(
            &serde_json::json!({"customer": {"address": "1 A St", "emails": ["x"]}, "common": {"run_id": "r"}}),
        );
        let b = facts(
            &serde_json::json!({"customer": {"address": "2 B St", "emails": ["x", "y"]}, "common": {"run_id": "s"}}),
        );
        let log = changelog(&a, &b);
        let fields: Vec<&str> = log.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["customer.address", "customer.emails[1]"]);
        assert_eq!(log[1].filed, "(none)");
        let dir = tempfile::tempdir().unwrap();
        let filing = Filing {
            account_id: "1".into(),
            reference: "R-1".into(),
            filed_on: "2026-12-01".into(),
            run_id: "r".into(),
            as_of: "2026-11-26".into(),
            documents: BTreeMap::new(),
            facts: a,
        };
        append(dir.path(), &filing).unwrap();
        let other = Filing {
            reference: "R-2".into(),
            ..filing.clone()
        };
        assert!(append(dir.path(), &other).is_err());
        append(dir.path(), &filing).unwrap();
        assert_eq!(load(dir.path()).unwrap().len(), 2);
    }
}
