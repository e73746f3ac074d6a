//! `cipwatch run` (one as-of date, or each date of a backfill, in order) and `cipwatch validate`.
//! A run takes the output folder's lock, runs and publishes, and appends a line to `runs.jsonl`
//! whatever the outcome once the plan is valid.

use chrono::NaiveDate;
use std::collections::BTreeMap;

use crate::error::{Error, Result, EXIT_OK};
use crate::pipeline;
use crate::plan::{self, Plan, PlanArgs};
use crate::progress::Progress;
use crate::sinks::history::{self, RunRecord};
use crate::sinks::lock::Lock;
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
}

pub fn run(args: &RunArgs) -> Result<i32> {
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
    for as_of in dates {
        let plan = plan::build(&PlanArgs {
            as_of,
            ..base.clone()
        })?;
        if plan.pdf {
            // Fails before the run (exit 4) rather than after its work.
            crate::sinks::pdf::browser()?;
        }
        let _lock = Lock::acquire(&plan.output_dir)?;
        crate::sinks::publish::recover(&plan.output_dir)?;
        let outcome = pipeline::run(&plan, true, &Progress::new(true));
        let record = record(&plan, &outcome);
        let root = plan.publish_root();
        std::fs::create_dir_all(&root)
            .map_err(|e| Error::internal(format!("creating {}", root.display()), e))?;
        history::append(&root, &record)?;
        println!("{}", outcome?.summary_line());
    }
    Ok(EXIT_OK)
}

pub fn validate(args: &PlanArgs) -> Result<i32> {
    let plan = plan::build(args)?;
    let outcome = pipeline::run(&plan, false, &Progress::new(true))?;
    println!("valid: {}", outcome.summary_line());
    Ok(EXIT_OK)
}

/// Every date from `from` to `to`, inclusive.
fn backfill_dates(from: &str, to: &str) -> Result<Vec<NaiveDate>> {
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

fn record(plan: &Plan, outcome: &Result<pipeline::Outcome>) -> RunRecord {
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
            exit_code: EXIT_OK,
            error: None,
        },
        Err(e) => RunRecord {
            run_id: None,
            as_of: plan.as_of.map(|d| d.to_string()),
            params_sha256,
            inputs,
            levels: BTreeMap::new(),
            exit_code: e.exit_code(),
            error: Some(e.kind().to_string()),
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
