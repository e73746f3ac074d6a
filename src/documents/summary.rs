//! The run summary: counts per level, the REPORTABLE and WATCH accounts with their reasons and due
//! dates, quarantine counts, the rule profile and the overrides in force, and a chart of the top
//! accounts' estimated operations against the threshold.

use serde::Serialize;
use std::collections::BTreeMap;

use super::charts::{bars, Bar};
use super::filters::sci;
use super::report::deadline;
use super::Common;
use crate::state::filings::Filed;
use crate::transforms::quarantine::InputCount;
use crate::transforms::rows::FlagRow;

const LEVELS: [&str; 4] = ["REPORTABLE", "WATCH", "CIP_GAP", "CLEAR"];
/// Accounts shown in the chart.
const TOP: usize = 10;

#[derive(Debug, Serialize)]
pub struct SummaryDoc {
    pub common: Common,
    pub levels: Vec<LevelCount>,
    pub accounts: usize,
    pub flagged: Vec<FlagRow>,
    pub cip_gaps: Vec<FlagRow>,
    pub inputs: Vec<InputLine>,
    pub quarantined: u64,
    /// Every REPORTABLE account (and WATCH account with a provisional due date) against its deadline.
    pub deadlines: Vec<DeadlineLine>,
    /// The levels and reason codes the tables above show, sorted: the summary's legend puts each
    /// in words (`words.tera`).
    pub codes: Vec<String>,
}

/// One row of the deadlines table.
#[derive(Debug, Serialize)]
pub struct DeadlineLine {
    pub account_id: String,
    pub level: String,
    pub knowledge_date: Option<String>,
    pub crossing_date: Option<String>,
    pub due_date: String,
    /// `provisional` for a WATCH account's projected due date, else `due`.
    pub kind: String,
    pub days_left: i64,
    pub deadline: String,
    /// `filed <date> (<reference>)`, `filed, updated report due` or `open`.
    pub filing: String,
}

#[derive(Debug, Serialize)]
pub struct LevelCount {
    pub level: String,
    pub accounts: usize,
}

#[derive(Debug, Serialize)]
pub struct InputLine {
    pub input: String,
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_quarantined: u64,
    pub rules: String,
}

pub fn build(
    common: &Common,
    flags: &[FlagRow],
    counts: &BTreeMap<String, InputCount>,
    filings: &Filed,
) -> SummaryDoc {
    let levels = LEVELS
        .iter()
        .map(|l| LevelCount {
            level: l.to_string(),
            accounts: flags.iter().filter(|f| f.level == *l).count(),
        })
        .collect();
    let of = |level: &str| {
        let readable = |f: &FlagRow| FlagRow {
            reasons: f.reasons.as_ref().map(|r| r.replace(';', "; ")),
            ..f.clone()
        };
        flags
            .iter()
            .filter(|f| f.level == level)
            .map(readable)
            .collect::<Vec<_>>()
    };
    let mut flagged = of("REPORTABLE");
    flagged.extend(of("WATCH"));
    let inputs: Vec<InputLine> = counts
        .iter()
        .map(|(name, c)| InputLine {
            input: name.clone(),
            rows_read: c.rows_read,
            rows_used: c.rows_used,
            rows_quarantined: c.rows_quarantined,
            rules: c
                .quarantined_by_rule
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let cip_gaps = of("CIP_GAP");
    SummaryDoc {
        common: common.clone(),
        levels,
        accounts: flags.len(),
        codes: codes(&flagged, &cip_gaps),
        flagged,
        cip_gaps,
        deadlines: deadlines(common, flags, filings),
        quarantined: inputs.iter().map(|i| i.rows_quarantined).sum(),
        inputs,
    }
}

/// The levels and reason codes of the listed accounts, each once, sorted.
fn codes(flagged: &[FlagRow], cip_gaps: &[FlagRow]) -> Vec<String> {
    let mut codes = std::collections::BTreeSet::new();
    for f in flagged.iter().chain(cip_gaps) {
        codes.insert(f.level.to_string());
        let reasons = f.reasons.as_deref().unwrap_or("");
        codes.extend(
            reasons
                .split(';')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(String::from),
        );
    }
    codes.into_iter().collect()
}

/// The deadlines table: REPORTABLE accounts by due date, then WATCH accounts with a provisional one.
fn deadlines(common: &Common, flags: &[FlagRow], filings: &Filed) -> Vec<DeadlineLine> {
    let mut lines: Vec<DeadlineLine> = flags
        .iter()
        .filter_map(|f| {
            let (due, kind) = match (&f.report_due_date, &f.provisional_due_date) {
                (Some(d), _) if f.level == "REPORTABLE" => (d, "due"),
                (_, Some(d)) if f.level == "WATCH" => (d, "provisional"),
                _ => return None,
            };
            let left = deadline(&common.as_of, due)?;
            Some(DeadlineLine {
                account_id: f.account_id.clone(),
                level: f.level.to_string(),
                knowledge_date: f.knowledge_date.clone(),
                crossing_date: f.crossing_date.clone(),
                due_date: due.clone(),
                kind: kind.into(),
                days_left: left.days_left,
                deadline: left.text,
                filing: filings
                    .of(&f.account_id)
                    .map(|x| format!("filed {} ({})", x.filed_on, x.reference))
                    .unwrap_or_else(|| "open".into()),
            })
        })
        .collect();
    lines.sort_by(|a, b| {
        (&a.kind, &a.due_date, &a.account_id).cmp(&(&b.kind, &b.due_date, &b.account_id))
    });
    lines
}

/// The top accounts by estimated operations against the operations threshold, on a log scale.
pub fn charts(flags: &[FlagRow], common: &Common) -> BTreeMap<String, String> {
    let mut all: Vec<&FlagRow> = flags.iter().collect();
    all.sort_by(|a, b| {
        b.est_ops
            .total_cmp(&a.est_ops)
            .then(a.account_id.cmp(&b.account_id))
    });
    let top: Vec<Bar> = all
        .iter()
        .take(TOP)
        .map(|f| Bar {
            label: f.account_id.clone(),
            value: f.est_ops,
        })
        .collect();
    let chart = bars(
        "Estimated operations of the top accounts",
        &top,
        true,
        Some((common.params.training_ops, "threshold")),
        "estimated operations",
        &|v| sci(v),
    );
    BTreeMap::from([("top_accounts".to_string(), chart)])
}
