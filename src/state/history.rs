//! What outlives one run in `<out>/`: `runs.jsonl`, one line per run (run id, as-of, parameters hash,
//! input hashes, counts per level, exit code), and `knowledge.json`, the first knowledge date of every
//! account found REPORTABLE under a given set of parameters, so that the reporting clock never
//! restarts when a later run recomputes the date. Both are written under the output folder's lock
//! and flushed to disk (file and folder) before the run goes on.

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::config::calendar::days_since_epoch;
use crate::config::profile::Params;
use crate::error::{Context, Error, Result};
use crate::fingerprint::sha256_bytes;

pub const RUNS: &str = "runs.jsonl";
pub const KNOWLEDGE: &str = "knowledge.json";

/// One line of `runs.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: Option<String>,
    pub as_of: Option<String>,
    pub params_sha256: String,
    pub inputs: BTreeMap<String, Vec<String>>,
    pub levels: BTreeMap<String, u64>,
    pub exit_code: i32,
    pub error: Option<String>,
    /// When and where the run ran (absent from lines written before these were recorded).
    #[serde(flatten, default)]
    pub timing: Timing,
}

/// When a run started (UTC, RFC 3339), how long it took (seconds) and on which host.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timing {
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub duration_s: f64,
    #[serde(default)]
    pub host: String,
}

/// The hash of the effective parameter values (not their sources).
pub fn params_hash(p: &Params) -> String {
    sha256_bytes(serde_json::to_string(p).unwrap_or_default().as_bytes())
}

/// Appends one record to `runs.jsonl` (created owner-only) and flushes it to disk.
pub fn append(out: &Path, record: &RunRecord) -> Result<()> {
    let path = out.join(RUNS);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A link planted in the output folder is refused, not followed.
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options
        .open(&path)
        .or_internal(format!("opening {}", path.display()))?;
    #[cfg(unix)]
    {
        // A history file made by someone else keeps no wider mode than ours.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .or_internal(format!("making {} private", path.display()))?;
    }
    let line = crate::pii::masked_json(record, false).or_internal("run record")? + "\n";
    file.write_all(line.as_bytes())
        .and_then(|_| file.sync_all())
        .or_internal(format!("appending to {}", path.display()))?;
    crate::sinks::publish::sync_dir(out)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Known {
    pub knowledge_date: String,
    pub first_run_id: String,
}

/// Parameters hash → account → first knowledge.
pub type KnowledgeState = BTreeMap<String, BTreeMap<String, Known>>;

pub fn load_knowledge(out: &Path) -> Result<KnowledgeState> {
    match std::fs::read(out.join(KNOWLEDGE)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Error::config(out.join(KNOWLEDGE).display(), e)),
        Err(_) => Ok(KnowledgeState::new()),
    }
}

/// The knowledge dates earlier filing runs recorded under this run's parameters.
pub struct Knowledge {
    state: KnowledgeState,
    /// [`params_hash`] of the run's parameters.
    params: String,
}

impl Knowledge {
    /// Reads `<out>/knowledge.json` (none yet: empty). Errors: an unreadable state (exit 2).
    pub fn load(out: &Path, p: &Params) -> Result<Knowledge> {
        Ok(Knowledge {
            state: load_knowledge(out)?,
            params: params_hash(p),
        })
    }

    /// [`prior_table`] of the accounts of `members` (a table with an `account_id` column), with
    /// the knowledge dates counsel adopted in `adopted` (account id → YYYY-MM-DD).
    pub fn prior_table(
        &self,
        as_of_day: i32,
        members: &DataFrame,
        adopted: &BTreeMap<String, String>,
    ) -> Result<DataFrame> {
        let accounts: Vec<String> = members
            .column("account_id")
            .and_then(|c| c.str().cloned())
            .or_internal("entity members")?
            .iter()
            .flatten()
            .map(String::from)
            .collect();
        prior_table(&self.state, &self.params, as_of_day, &accounts, adopted)
    }

    /// The run that first found each account REPORTABLE under these parameters, by knowledge key.
    pub fn first_runs(&self) -> BTreeMap<String, String> {
        self.state
            .get(&self.params)
            .map(|known| {
                known
                    .iter()
                    .map(|(k, v)| (k.clone(), v.first_run_id.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The accounts whose recorded knowledge date `reportable` (account, date) would move
    /// earlier (a filing run dated before the one that recorded it), as `masked id: old → new`.
    pub fn moved_earlier(&self, reportable: &[(String, String)]) -> Vec<String> {
        let Some(known) = self.state.get(&self.params) else {
            return Vec::new();
        };
        reportable
            .iter()
            .filter_map(|(account, date)| {
                let key = knowledge_key(account);
                let old = known.get(key.as_ref())?;
                (date < &old.knowledge_date)
                    .then(|| format!("{key}: {} -> {date}", old.knowledge_date))
            })
            .collect()
    }

    /// Records the knowledge dates of a filing run's REPORTABLE accounts ([`record_knowledge`]).
    pub fn record(&self, out: &Path, reportable: &[(String, String)], run_id: &str) -> Result<()> {
        record_knowledge(out, &self.params, reportable, run_id)
    }
}

/// The prior knowledge dates for these parameters of the given accounts, as the queries'
/// `prior_knowledge(account_id, knowledge_day, adopted_day)` table: `knowledge_day` the as-of day
/// of the first filing run that found the account REPORTABLE (the state, keyed by
/// [`knowledge_key`]), `adopted_day` the knowledge date counsel adopted in the account's answers
/// file; either may be null, and dates after the as-of day are left out (that run had not
/// happened yet; counsel's date is not yet knowledge).
pub fn prior_table(
    state: &KnowledgeState,
    params: &str,
    as_of_day: i32,
    accounts: &[String],
    adopted: &BTreeMap<String, String>,
) -> Result<DataFrame> {
    let known = state.get(params);
    let day = |date: &str| crate::config::iso_date(date).map(|d| days_since_epoch(d) as i64);
    let until_as_of = |d: Option<i64>| d.filter(|d| *d <= as_of_day as i64);
    let (mut ids, mut days, mut adopted_days) = (Vec::new(), Vec::new(), Vec::new());
    for account in accounts {
        let screening = known
            .and_then(|k| k.get(knowledge_key(account).as_ref()))
            .and_then(|k| until_as_of(day(&k.knowledge_date)));
        let counsel = adopted.get(account).and_then(|d| until_as_of(day(d)));
        if screening.is_some() || counsel.is_some() {
            ids.push(account.clone());
            days.push(screening);
            adopted_days.push(counsel);
        }
    }
    df!("account_id" => ids, "knowledge_day" => days, "adopted_day" => adopted_days)
        .or_internal("prior knowledge")
}

/// The as-of date of the latest filing run that succeeded, from `<out>/runs.jsonl` (a scenario
/// keeps its own history under its folder), or `None` before the first.
pub fn latest_filing_as_of(out: &Path) -> Option<chrono::NaiveDate> {
    let text = std::fs::read_to_string(out.join(RUNS)).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<RunRecord>(l).ok())
        .filter(|r| r.run_id.is_some())
        .filter_map(|r| r.as_of.as_deref().and_then(crate::config::iso_date))
        .max()
}

/// An account's key in `knowledge.json`: the account id, masked by value (`pii::redact`) so that
/// an id that is a card number is not written out. Two such ids with the same mask share a clock,
/// the earlier date winning: never a later due date.
pub fn knowledge_key(account: &str) -> std::borrow::Cow<'_, str> {
    crate::pii::redact(account)
}

/// Records the knowledge dates of this run's REPORTABLE accounts that are not known yet (or are
/// earlier than what is known), and writes the state atomically.
pub fn record_knowledge(
    out: &Path,
    params: &str,
    reportable: &[(String, String)],
    run_id: &str,
) -> Result<()> {
    let mut state = load_knowledge(out)?;
    let known = state.entry(params.to_string()).or_default();
    let mut changed = false;
    for (account, date) in reportable {
        let key = knowledge_key(account).into_owned();
        let earlier = known.get(&key).is_none_or(|k| date < &k.knowledge_date);
        if earlier {
            known.insert(
                key,
                Known {
                    knowledge_date: date.clone(),
                    first_run_id: run_id.into(),
                },
            );
            changed = true;
        }
    }
    if !changed {
        return Ok(());
    }
    let text = crate::pii::masked_json(&state, true).or_internal("knowledge state")? + "\n";
    crate::sinks::publish::write_atomically(out, KNOWLEDGE, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_knowledge_date_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        record_knowledge(dir.path(), "p", &[("A".into(), "2026-11-21".into())], "r1").unwrap();
        record_knowledge(
            dir.path(),
            "p",
            &[
                ("A".into(), "2026-11-25".into()),
                ("B".into(), "2026-11-25".into()),
            ],
            "r2",
        )
        .unwrap();
        let state = load_knowledge(dir.path()).unwrap();
        assert_eq!(
            state["p"]["A"],
            Known {
                knowledge_date: "2026-11-21".into(),
                first_run_id: "r1".into()
            }
        );
        assert_eq!(state["p"]["B"].first_run_id, "r2");
        let accounts = ["A".to_string(), "B".to_string(), "C".to_string()];
        let day = |d: &str| days_since_epoch(crate::config::iso_date(d).unwrap());
        assert_eq!(
            prior_table(&state, "p", day("2026-11-22"), &accounts, &BTreeMap::new())
                .unwrap()
                .height(),
            1,
            "B was not known yet on 22 Nov"
        );
        assert_eq!(
            prior_table(
                &state,
                "other",
                day("2026-11-30"),
                &accounts,
                &BTreeMap::new()
            )
            .unwrap()
            .height(),
            0,
            "other parameters, other clock"
        );
        let adopted = BTreeMap::from([
            ("C".to_string(), "2026-11-10".to_string()),
            ("A".to_string(), "2026-12-31".to_string()),
        ]);
        let prior = prior_table(&state, "p", day("2026-11-22"), &accounts, &adopted).unwrap();
        let rows: Vec<(Option<&str>, Option<i64>, Option<i64>)> = prior
            .column("account_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .zip(prior.column("knowledge_day").unwrap().i64().unwrap().iter())
            .zip(prior.column("adopted_day").unwrap().i64().unwrap().iter())
            .map(|((a, k), d)| (a, k, d))
            .collect();
        let (a, c) = (day("2026-11-21") as i64, day("2026-11-10") as i64);
        assert_eq!(
            rows,
            [(Some("A"), Some(a), None), (Some("C"), None, Some(c))],
            "counsel's date beside the clock; one after the as-of date is not yet knowledge"
        );
    }

    #[test]
    fn an_account_id_that_is_a_card_number_is_kept_masked_and_its_clock_still_runs() {
        let dir = tempfile::tempdir().unwrap();
        let card = "4000000000000002".to_string();
        record_knowledge(
            dir.path(),
            "p",
            &[(card.clone(), "2026-11-21".into())],
            "r1",
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join(KNOWLEDGE)).unwrap();
        assert!(
            !text.contains(&card) && text.contains("400000******0002"),
            "{text}"
        );
        let state = load_knowledge(dir.path()).unwrap();
        let prior = prior_table(&state, "p", 30_000, &[card], &BTreeMap::new()).unwrap();
        assert_eq!(prior.height(), 1, "the next run finds the clock");
    }
}
