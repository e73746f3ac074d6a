//! The run summary: counts per level, the REPORTABLE and WATCH accounts with their reasons and due
//! dates, quarantine counts, the rule profile and the overrides in force, and a chart of the top
//! accounts' estimated operations against the threshold.

use serde::Serialize;
use std::collections::BTreeMap;

use super::charts::{bars, Bar};
use super::filters::sci;
use super::rows::FlagRow;
use super::Common;
use crate::quarantine::InputCount;

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
    SummaryDoc {
        common: common.clone(),
        levels,
        accounts: flags.len(),
        flagged,
        cip_gaps: of("CIP_GAP"),
        quarantined: inputs.iter().map(|i| i.rows_quarantined).sum(),
        inputs,
    }
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
        &|v| sci(v),
    );
    BTreeMap::from([("top_accounts".to_string(), chart)])
}
