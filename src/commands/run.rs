//! `cipwatch run` (one as-of date, or each date of a backfill, in order) and `cipwatch validate`.
//! A run takes the output folder's lock, runs and publishes, and appends a line to `runs.jsonl`
//! whatever the outcome once the plan is valid.

use chrono::NaiveDate;
use std::collections::BTreeMap;

use crate::error::{Error, Result, EXIT_OK};
use crate::pipeline;
use crate::plan::{self, Plan, PlanArgs};
use crate::progress::Progress;
use crate::state::history::{self, RunRecord};
use crate::state::lock::Lock;
use crate::state::status;
use clap::Args;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: PlanArgs,
    /// Backfill: first as-of date (with --to), each date run in order.
    #[arg(long, requires = "to", conflicts_with = "as_of")]
    pub from: Option<String>,
    /// Backfill: last as-of date (with --from).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Print the validated plan (inputs, profile, effective parameters, queries, templates) and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// A run dated before the latest filing run (a past --as-of, a backfill) is still a filing
    /// run: it republishes the filing folder and may move knowledge dates earlier (logged and in
    /// the manifest). Without it such a run is the scenario `backfill`.
    #[arg(long)]
    pub filing: bool,
    /// Exit 10 when a filing run finds an account REPORTABLE for the first time or an open report
    /// deadline falls within N days of the as-of date (`<out>/status.json` names them either way).
    #[arg(long, value_name = "N")]
    pub alert_exit: Option<u32>,
}

/// The alert window of `status.json` when `--alert-exit` does not set one, in days.
const DEFAULT_ALERT_DAYS: i64 = 5;

/// The name of the scenario a run dated before the latest filing run becomes.
pub const BACKFILL: &str = "backfill";

/// The knowledge clock moves only forward: a run of an as-of date before the latest filing run's
/// that is not already a scenario becomes the scenario [`BACKFILL`] unless `filing` (`--filing`).
///
/// Errors: usage, for `--filing-copy` on such a run without `--filing`.
fn forward_only(mut plan: Plan, filing: bool) -> Result<Plan> {
    let latest = history::latest_filing_as_of(&plan.output_dir);
    let before = matches!((plan.as_of, latest), (Some(d), Some(l)) if d < l);
    if plan.scenario.is_some() || filing || !before {
        return Ok(plan);
    }
    if plan.filing_copy {
        return Err(Error::Usage(format!(
            "--filing-copy: as-of {} is before the latest filing run's; add --filing to make this a filing run",
            plan.as_of.map(|d| d.to_string()).unwrap_or_default()
        )));
    }
    tracing::warn!(
        stage = "plan",
        "as-of date before the latest filing run's: published as the scenario '{BACKFILL}' (the knowledge clock only moves forward; --filing makes it a filing run)"
    );
    plan.scenario = Some(BACKFILL.to_string());
    Ok(plan)
}

/// Runs `cipwatch run`: each date of a backfill (or the one as-of date) in order; the last run
/// published is kept for the `run_finished` event (`last_published`).
pub fn run(args: &RunArgs) -> Result<i32> {
    let mut last = None;
    let result = run_dates(args, &mut last);
    if let Some(finished) = last {
        *LAST_PUBLISHED.lock().unwrap_or_else(|e| e.into_inner()) = Some(finished);
    }
    result
}

/// What the `run_finished` event says of the last run that published: its id, as-of date,
/// accounts per level and folder (relative to the configuration).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finished {
    pub run_id: String,
    pub as_of: String,
    pub levels: BTreeMap<String, u64>,
    pub path: String,
}

/// The last run this process published (`None` before one has, or for other commands).
static LAST_PUBLISHED: std::sync::Mutex<Option<Finished>> = std::sync::Mutex::new(None);

/// The last run this process published, for the final `run_finished` event.
pub fn last_published() -> Option<Finished> {
    LAST_PUBLISHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

fn run_dates(args: &RunArgs, last: &mut Option<Finished>) -> Result<i32> {
    let base = args.common.clone();
    if args.dry_run {
        let plan = plan::build(&base)?;
        print!("{}", plan.describe());
        return Ok(EXIT_OK);
    }
    let dates: Vec<Option<String>> = match (&args.from, &args.to) {
        (Some(from), Some(to)) => backfill_dates(from, to)?
            .into_iter()
            .map(|d| Some(d.to_string()))
            .collect(),
        _ => vec![base.as_of.clone()],
    };
    let mut code = EXIT_OK;
    for as_of in dates {
        let plan = forward_only(
            plan::build(&PlanArgs {
                as_of,
                ..base.clone()
            })?,
            args.filing,
        )?;
        if plan.pdf {
            // Fails before the run (exit 4) rather than after its work.
            crate::sinks::pdf::browser()?;
        }
        let _lock = Lock::acquire(&plan.output_dir)?;
        crate::sinks::publish::recover(&plan.output_dir)?;
        let started = Started::now();
        let outcome = pipeline::run(&plan, true, &Progress::new(true));
        let record = record(&plan, &outcome, &started);
        // Owner-only, like every folder cipwatch makes, also when the run failed.
        let root = plan.publish_root();
        crate::sinks::publish::create_private_dir(&root)?;
        history::append(&root, &record)?;
        let outcome = outcome?;
        println!("{}{}", outcome.summary_line(), not_in_force(&plan));
        code = graver(code, report_catalog_gap(&plan, &outcome));
        if plan.scenario.is_none() {
            code = graver(code, status(&plan, &outcome, args.alert_exit)?);
        }
        *last = Some(Finished {
            run_id: outcome.run_id.clone(),
            as_of: outcome.as_of.to_string(),
            levels: outcome.levels.clone(),
            path: outcome
                .published
                .as_ref()
                .map(|p| plan.relative(&p.display().to_string()))
                .unwrap_or_default(),
        });
    }
    Ok(code)
}

/// The exit code of two runs of a backfill: a failure (1–5) before the alert (10), the alert before
/// success.
fn graver(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        EXIT_OK => 0,
        status::EXIT_ALERT => 1,
        other => 2 + other,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

/// Writes the filing run's `status.json` and returns [`status::EXIT_ALERT`] when `--alert-exit`
/// is given and the status holds an alert, else 0.
fn status(plan: &Plan, outcome: &pipeline::Outcome, alert_exit: Option<u32>) -> Result<i32> {
    let days = alert_exit.map_or(DEFAULT_ALERT_DAYS, i64::from);
    let filed = plan.filings.as_of(Some(outcome.as_of));
    let status = status::Status::of(
        &outcome.run_id,
        outcome.as_of,
        &outcome.flag_rows,
        &filed,
        days,
    );
    status.write(&plan.publish_root())?;
    if status.alerts() {
        tracing::warn!(
            new_reportable = status.new_reportable.len(),
            deadlines = status.deadlines_within.len(),
            "alert: see status.json"
        );
    }
    Ok(match alert_exit.is_some() && status.alerts() {
        true => status::EXIT_ALERT,
        false => EXIT_OK,
    })
}

/// When a run started: the wall-clock time for `runs.jsonl`, the monotonic one for its duration.
struct Started {
    at: chrono::DateTime<chrono::Utc>,
    clock: std::time::Instant,
}

impl Started {
    fn now() -> Started {
        Started {
            at: chrono::Utc::now(),
            clock: std::time::Instant::now(),
        }
    }
}

pub fn validate(args: &PlanArgs) -> Result<i32> {
    let plan = plan::build(args)?;
    let outcome = pipeline::run(&plan, false, &Progress::new(true))?;
    println!("valid: {}{}", outcome.summary_line(), not_in_force(&plan));
    Ok(report_catalog_gap(&plan, &outcome))
}

/// What the summary line adds under a profile whose rule is not in force.
fn not_in_force(plan: &Plan) -> String {
    let info = &plan.profile.info;
    match info.in_force() {
        true => String::new(),
        false => format!(
            "; RULE NOT IN FORCE: profile {} is {}",
            info.name,
            info.standing()
        ),
    }
}

/// Logs a catalog gap (a warning) and returns the run's exit code (`Outcome::exit_code`).
fn report_catalog_gap(plan: &Plan, outcome: &pipeline::Outcome) -> i32 {
    if let Some(message) = outcome.catalog_gap_message() {
        tracing::warn!(stage = "billing", "{message}");
        eprintln!("cipwatch: reference data missing: {message}");
    }
    outcome.exit_code(plan.allow_stale)
}

/// Every date from `from` to `to`, inclusive.
/// The dates of `--from`..`--to`, both included, in order.
///
/// Errors: usage, for a date that is not YYYY-MM-DD or `to` before `from`.
pub(crate) fn backfill_dates(from: &str, to: &str) -> Result<Vec<NaiveDate>> {
    let parse = |s: &str| {
        crate::config::iso_date(s)
            .ok_or_else(|| Error::Usage(format!("'{s}' is not a date (YYYY-MM-DD)")))
    };
    let (from, to) = (parse(from)?, parse(to)?);
    if to < from {
        return Err(Error::Usage(format!("--to {to} is before --from {from}")));
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

fn record(plan: &Plan, outcome: &Result<pipeline::Outcome>, started: &Started) -> RunRecord {
    let timing = history::Timing {
        started_at: started
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_s: (started.clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        host: crate::state::lock::host(),
    };
    let inputs: BTreeMap<String, Vec<String>> = plan
        .inputs
        .named()
        .into_iter()
        .map(|(name, files)| {
            (
                name.to_string(),
                files.iter().map(|f| f.sha256.clone()).collect(),
            )
        })
        .collect();
    let params_sha256 = history::params_hash(&plan.profile.params);
    match outcome {
        Ok(o) => RunRecord {
            run_id: Some(o.run_id.clone()),
            as_of: Some(o.as_of.to_string()),
            params_sha256,
            inputs,
            levels: o.levels.clone(),
            exit_code: o.exit_code(plan.allow_stale),
            error: None,
            timing: timing.clone(),
        },
        Err(e) => RunRecord {
            run_id: None,
            as_of: plan.as_of.map(|d| d.to_string()),
            params_sha256,
            inputs,
            levels: BTreeMap::new(),
            exit_code: e.exit_code(),
            error: Some(e.kind().to_string()),
            timing,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backfill_covers_every_day_in_order() {
        let d = backfill_dates("2026-11-29", "2026-12-02").unwrap();
        assert_eq!(
            d.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            ["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]
        );
        assert!(backfill_dates("2026-12-02", "2026-11-29").is_err());
    }
}
