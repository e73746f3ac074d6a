//! The filing log, `<out>/filings.jsonl`: one line per report filed with the authority (`cipwatch
//! filed`), holding the account, the reference and date of the filing, the run whose draft was
//! filed, the SHA-256 of its documents and the report's facts as filed (masked, as the documents
//! show them). Later runs read it to mark a report as filed and, when the facts have changed since,
//! to draft an updated report with a field-level changelog. The file is rewritten atomically
//! (temporary file, fsync, rename) under the output folder's lock; scenario runs never write it.
//!
//! A filing is keyed by a token of the raw account id: HMAC-SHA-256 under the deployment's link
//! key (`config::link_key`), or, where none is configured, under the output folder's own random
//! key ([`FOLDER_KEY`], 0600, made by the first `cipwatch filed`). The account id the log shows
//! is masked by value, as in every output, so two ids that mask alike (same first 6 / last 4
//! digits) never share a filing. Lines written before tokens (no `account_token`) still count for
//! ids that masking leaves as they are. A run shows only the filings of drafts drafted on or
//! before its as-of date (the filed run's as-of), so a backfill of an earlier date does not show a
//! report as filed before it was even drafted.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::config::link_key::LinkKey;
use crate::error::{Context, Error, Result};

pub const FILINGS: &str = "filings.jsonl";

/// The output folder's own key of the filing log's tokens, used where no link key is configured.
pub const FOLDER_KEY: &str = "filings.key";

/// What a token's HMAC is computed for (kept apart from the link key's other uses).
const TOKEN_PURPOSE: &str = "cipwatch filing log account";

/// Bytes of a new folder key.
const FOLDER_KEY_BYTES: usize = 32;

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
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Filing {
    /// The account id as the documents show it (masked by value).
    pub account_id: String,
    /// The key of the filing: a token of the raw account id ([`FilingLog::token`]); absent from
    /// lines written before tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_token: Option<String>,
    pub reference: String,
    /// The date the report was filed, YYYY-MM-DD.
    pub filed_on: String,
    pub run_id: String,
    pub as_of: String,
    /// Document path (relative to the run folder) → SHA-256.
    pub documents: BTreeMap<String, String>,
    /// The report's facts as filed: flattened field path → value.
    pub facts: BTreeMap<String, String>,
    /// Where the filed documents are kept (`filings/<reference>`, `state::archive`), with each
    /// archived file's SHA-256; absent from lines written before the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub archived: BTreeMap<String, String>,
    /// True when the reference was filed before: this filing corrects that one.
    #[serde(default)]
    pub correction: bool,
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

/// The filing log as a run or `cipwatch filed` reads it: every filing recorded, and the keys its
/// tokens may be made under (the configured link key, the output folder's own key).
#[derive(Debug, Clone, Default)]
pub struct FilingLog {
    filings: Vec<Filing>,
    keys: Vec<LinkKey>,
}

impl FilingLog {
    /// Reads `<out>/filings.jsonl` and the keys its tokens may be under: `link_key` unless it is
    /// ephemeral, and `<out>/filings.key` where it exists.
    ///
    /// Errors: as [`load`], and configuration (exit 2) when the folder key cannot be read.
    pub fn open(out: &Path, link_key: &LinkKey) -> Result<FilingLog> {
        let mut keys: Vec<LinkKey> = Some(link_key.clone())
            .filter(|k| !k.is_ephemeral())
            .into_iter()
            .collect();
        keys.extend(folder_key(out)?);
        Ok(FilingLog {
            filings: load(out)?,
            keys,
        })
    }

    /// The token of `account` (its raw id) under the key new filings are recorded with: the link
    /// key where configured, else the folder key (`None` until `filed` has made one).
    pub fn token(&self, account: &str) -> Option<String> {
        self.keys.first().map(|k| k.token(TOKEN_PURPOSE, account))
    }

    /// The latest filing of each account whose filed draft is of a run as of `as_of` or earlier
    /// (every filing for `None`).
    pub fn as_of(&self, as_of: Option<NaiveDate>) -> Filed {
        let known = |f: &&Filing| match (as_of, crate::config::iso_date(&f.as_of)) {
            (Some(day), Some(drafted)) => drafted <= day,
            (Some(_), None) => false,
            (None, _) => true,
        };
        Filed {
            latest: self
                .filings
                .iter()
                .filter(known)
                .map(|f| (slot(f), f.clone()))
                .collect(),
            keys: self.keys.clone(),
        }
    }
}

/// The latest filing of each account a run shows ([`FilingLog::as_of`]); look an account up by
/// its raw id with [`Filed::of`].
#[derive(Debug, Clone, Default)]
pub struct Filed {
    latest: BTreeMap<String, Filing>,
    keys: Vec<LinkKey>,
}

impl Filed {
    /// The latest filing of `account` (its id as the data holds it): the one under its token,
    /// else a line written before tokens under the same id, when masking leaves that id as it is.
    pub fn of(&self, account: &str) -> Option<&Filing> {
        self.keys
            .iter()
            .find_map(|k| {
                self.latest
                    .get(&token_slot(&k.token(TOKEN_PURPOSE, account)))
            })
            .or_else(|| {
                let plain = crate::pii::redact(account) == account;
                plain
                    .then(|| self.latest.get(&legacy_slot(account)))
                    .flatten()
            })
    }

    /// Every filing shown, in key order.
    pub fn records(&self) -> impl Iterator<Item = &Filing> {
        self.latest.values()
    }
}

/// Where a filing sits in [`Filed`]'s map: under its token, or (a line without one) its id.
fn slot(filing: &Filing) -> String {
    match &filing.account_token {
        Some(token) => token_slot(token),
        None => legacy_slot(&filing.account_id),
    }
}

fn token_slot(token: &str) -> String {
    format!("token:{token}")
}

fn legacy_slot(account_id: &str) -> String {
    format!("id:{account_id}")
}

/// The output folder's own key of the filing log, where it exists.
///
/// Errors: configuration (exit 2) naming the file when it exists but cannot be read, is not a
/// regular file or is too short.
fn folder_key(out: &Path) -> Result<Option<LinkKey>> {
    let path = out.join(FOLDER_KEY);
    let problem = |what: String| Error::config(path.display(), what);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(problem(e.to_string())),
        Ok(m) if !m.file_type().is_file() => {
            return Err(problem("not a regular file".into()));
        }
        Ok(_) => {}
    }
    let secret = std::fs::read(&path).map_err(|e| problem(e.to_string()))?;
    if secret.len() < crate::config::link_key::MIN_KEY_BYTES {
        return Err(problem(format!(
            "{} bytes; the key is damaged",
            secret.len()
        )));
    }
    Ok(Some(LinkKey::from_secret(
        secret,
        "the output folder's filing key".into(),
    )))
}

/// Makes the output folder's filing key (random, 0600) unless it exists; called under the lock.
///
/// Errors: internal when the system has no randomness or the file cannot be written.
pub fn ensure_folder_key(out: &Path) -> Result<()> {
    if folder_key(out)?.is_some() {
        return Ok(());
    }
    let mut secret = vec![0u8; FOLDER_KEY_BYTES];
    getrandom::getrandom(&mut secret)
        .map_err(|e| Error::bug(format!("drawing the filing key: {e}")))?;
    crate::sinks::tables::write_bytes(&secret, &out.join(FOLDER_KEY))
}

/// Appends a filing: the whole log is rewritten to a temporary file, synced and renamed into place,
/// so a reader sees the old log or the new one, never half a line.
///
/// Errors: usage when the account was filed before under another reference (a filed report's
/// reference never changes); internal when the file cannot be written.
pub fn append(out: &Path, filing: &Filing) -> Result<()> {
    let mut all = load(out)?;
    check_reference(&all, filing)?;
    all.push(filing.clone());
    let mut text = String::new();
    for f in &all {
        text.push_str(&crate::pii::masked_json(f, false).or_internal("filing record")?);
        text.push('\n');
    }
    crate::sinks::publish::write_atomically(out, FILINGS, text.as_bytes())
}

/// Refuses (usage, exit 2) a filing of an account already filed under another reference: an
/// updated report keeps its reference. Run before anything of the filing is written.
pub fn check_reference(log: &[Filing], filing: &Filing) -> Result<()> {
    let same = |f: &&Filing| slot(f) == slot(filing);
    match log.iter().find(same) {
        Some(earlier) if earlier.reference != filing.reference => Err(Error::Usage(format!(
            "this account's report was filed on {} under reference {}; an updated report keeps that reference",
            earlier.filed_on, earlier.reference
        ))),
        _ => Ok(()),
    }
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
            account_token: None,
            reference: "R-1".into(),
            filed_on: "2026-12-01".into(),
            run_id: "r".into(),
            as_of: "2026-11-26".into(),
            documents: BTreeMap::new(),
            facts: a,
            ..Filing::default()
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

    #[test]
    fn ids_that_mask_alike_have_their_own_filings_and_backfills_do_not_show_later_ones() {
        let dir = tempfile::tempdir().unwrap();
        let key = LinkKey::from_secret(b"0123456789abcdef-test".to_vec(), "test".into());
        let log = FilingLog::open(dir.path(), &key).unwrap();
        let (a, b) = ("4929000012345674", "4929000000045674");
        assert_eq!(crate::pii::redact(a), crate::pii::redact(b));
        let filing = Filing {
            account_id: crate::pii::redact(a).into_owned(),
            account_token: log.token(a),
            reference: "R-1".into(),
            filed_on: "2026-11-28".into(),
            run_id: "r".into(),
            as_of: "2026-11-26".into(),
            documents: BTreeMap::new(),
            facts: BTreeMap::new(),
            ..Filing::default()
        };
        append(dir.path(), &filing).unwrap();
        let other = Filing {
            account_token: log.token(b),
            reference: "R-2".into(),
            ..filing.clone()
        };
        append(dir.path(), &other).unwrap();
        let log = FilingLog::open(dir.path(), &key).unwrap();
        let filed = log.as_of(None);
        assert_eq!(filed.of(a).map(|f| f.reference.as_str()), Some("R-1"));
        assert_eq!(filed.of(b).map(|f| f.reference.as_str()), Some("R-2"));
        let rerun = log.as_of(crate::config::iso_date("2026-11-26"));
        assert!(
            rerun.of(a).is_some(),
            "a rerun of the filed run's date shows it"
        );
        let before = log.as_of(crate::config::iso_date("2026-11-25"));
        assert!(
            before.of(a).is_none(),
            "a backfill before the draft does not"
        );
        let text = std::fs::read_to_string(dir.path().join(FILINGS)).unwrap();
        assert!(!text.contains(a) && !text.contains(b), "{text}");
    }
}
