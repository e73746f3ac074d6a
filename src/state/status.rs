//! `<out>/status.json`: what a scheduler acts on after a filing run, without parsing stdout. It
//! names the run, the accounts this run found REPORTABLE for the first time and the open report
//! deadlines (not yet filed) within the alert window, with masked ids only; `run --alert-exit N`
//! turns the same facts into an exit code.

use chrono::NaiveDate;
use serde::Serialize;
use std::path::Path;

use crate::error::{Context, Result};
use crate::state::filings::Filed;
use crate::transforms::rows::FlagRow;

/// The exit code of `run --alert-exit N` when status.json holds an alert (distinct from 0–5).
pub const EXIT_ALERT: i32 = 10;

/// The file's name in the filing run's output folder.
pub const STATUS: &str = "status.json";

/// One open deadline: the masked account, its due date and the days left from the as-of date.
#[derive(Debug, Serialize, PartialEq)]
pub struct Deadline {
    pub account: String,
    pub report_due_date: String,
    pub days_left: i64,
}

/// The contents of `status.json`.
#[derive(Debug, Serialize)]
pub struct Status {
    pub run_id: String,
    pub as_of: String,
    pub alert_days: i64,
    /// Accounts (masked) REPORTABLE with this run's as-of date as their knowledge date.
    pub new_reportable: Vec<String>,
    /// Open (not filed) report deadlines no more than `alert_days` after the as-of date, overdue
    /// ones included.
    pub deadlines_within: Vec<Deadline>,
}

impl Status {
    /// The status of a filing run as of `as_of`, with deadlines within `alert_days`.
    pub fn of(
        run_id: &str,
        as_of: NaiveDate,
        flags: &[FlagRow],
        filed: &Filed,
        alert_days: i64,
    ) -> Status {
        let day = as_of.to_string();
        let new_reportable = flags
            .iter()
            .filter(|f| {
                f.level == "REPORTABLE" && f.first_flagged_date.as_deref() == Some(day.as_str())
            })
            .map(|f| crate::pii::redact(&f.account_id).into_owned())
            .collect();
        let deadlines_within = flags
            .iter()
            .filter(|f| f.level == "REPORTABLE" && filed.of(&f.account_id).is_none())
            .filter_map(|f| {
                let due = f.report_due_date.as_deref()?;
                let days_left = (crate::config::iso_date(due)? - as_of).num_days();
                (days_left <= alert_days).then(|| Deadline {
                    account: crate::pii::redact(&f.account_id).into_owned(),
                    report_due_date: due.to_string(),
                    days_left,
                })
            })
            .collect();
        Status {
            run_id: run_id.to_string(),
            as_of: day,
            alert_days,
            new_reportable,
            deadlines_within,
        }
    }

    /// True when a scheduler should be told: a new REPORTABLE account or a deadline in the window.
    pub fn alerts(&self) -> bool {
        !self.new_reportable.is_empty() || !self.deadlines_within.is_empty()
    }

    /// Writes `<out>/status.json` (0600) atomically: a temporary file, flushed, renamed.
    pub fn write(&self, out: &Path) -> Result<()> {
        let text = crate::pii::masked_json(self, true).or_internal("status")? + "\n";
        crate::sinks::publish::write_atomically(out, STATUS, text.as_bytes())
    }
}
