//! `cipwatch backtest`: how a candidate set of thresholds (`--set`, `--params`) would have flagged
//! accounts over a range of as-of dates, against the baseline (the configured rule profile), so
//! an analyst sees in one table which accounts a change flags earlier or later, and by how many
//! days, instead of opening one scenario folder per date.
//!
//! Each date is run twice (baseline, candidate) with the inputs as of that date. Both keep their
//! own clock: the runs read no state of the output folder (no knowledge dates of filing runs, no
//! filings), so "first flagged" is the first date of the range at which the run itself flagged the
//! account. Nothing is written to the filing run or its scenarios: the results go to
//! `<out>/backtests/<from>_<to>_<name>/`, published as a whole like a run folder:
//! - `accounts.csv`: per account, the first date at WATCH or above and at REPORTABLE under each,
//!   the days the candidate is earlier (positive) or later (negative), and the last date's levels;
//! - `daily_levels.csv`: per date and side, the number of accounts at each level;
//! - `daily_levels.svg`: REPORTABLE and WATCH-or-above accounts per date, both sides.

use chrono::NaiveDate;
use clap::Args;
use polars::prelude::*;
use std::collections::BTreeMap;

use crate::error::{Context, Error, Result, EXIT_OK};
use crate::pipeline;
use crate::plan::{self, PlanArgs};
use crate::progress::Progress;
use crate::sinks::publish::Staging;
use crate::sinks::tables;
use crate::state::lock::Lock;
use crate::state::scenario;
use crate::transforms::rows::Level;

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The configuration, inputs and candidate overrides (`--set`, `--params`); `--as-of` and
    /// `--scenario` do not apply.
    #[command(flatten)]
    pub common: PlanArgs,
    /// First as-of date of the range (YYYY-MM-DD).
    #[arg(long)]
    pub from: String,
    /// Last as-of date of the range (YYYY-MM-DD).
    #[arg(long)]
    pub to: String,
}

/// The two sides of a backtest, in the order the tables write them.
const SIDES: [&str; 2] = ["baseline", "candidate"];

/// The longest range a backtest runs (each date is two pipeline runs).
pub const MAX_DAYS: usize = 366;

/// Each account's levels per date, per side: `levels[side][date][account]`.
type Levels = [BTreeMap<NaiveDate, BTreeMap<String, Level>>; 2];

/// Runs `cipwatch backtest`; prints the published folder.
///
/// Errors: usage (exit 2) without a candidate override, with `--as-of`/`--scenario`, a bad or
/// too long range; then as `run` (input 3, reference data 4, lock 5).
pub fn backtest(args: &BacktestArgs) -> Result<i32> {
    let base = &args.common;
    if base.sets.is_empty() && base.params_file.is_none() {
        return Err(Error::Usage(
            "backtest compares a candidate with the rule profile: give --set KEY=VALUE or --params FILE".into(),
        ));
    }
    if base.as_of.is_some() || base.scenario.is_some() {
        return Err(Error::Usage(
            "backtest runs each date of --from..--to: --as-of and --scenario do not apply".into(),
        ));
    }
    let dates = super::run::backfill_dates(&args.from, &args.to)?;
    if dates.len() > MAX_DAYS {
        return Err(Error::Usage(format!(
            "--from {} --to {}: {} dates; a backtest runs at most {MAX_DAYS}",
            args.from,
            args.to,
            dates.len()
        )));
    }
    let name = format!(
        "{}_{}_{}",
        args.from,
        args.to,
        scenario::name(None, &base.sets, base.params_file.as_deref())?.unwrap_or_default()
    );
    let output_dir = plan::build(base)?.output_dir;
    let levels = run_dates(base, &dates)?;
    let _lock = Lock::acquire(&output_dir)?;
    let staging = Staging::begin(&output_dir.join("backtests"), &name)?;
    let files = [
        ("accounts.csv", tables::csv_bytes(&accounts(&levels)?)?),
        ("daily_levels.csv", tables::csv_bytes(&daily(&levels)?)?),
        ("daily_levels.svg", chart(&levels).into_bytes()),
    ];
    for (file, bytes) in &files {
        tables::write_bytes(bytes, &staging.path(file)?)?;
    }
    let expected: Vec<String> = files.iter().map(|(f, _)| f.to_string()).collect();
    let published = staging.commit(&expected)?;
    println!("{}", published.display());
    Ok(EXIT_OK)
}

/// Runs baseline and candidate at each date; each run reads an empty output folder, so it keeps
/// no clock but its own.
fn run_dates(base: &PlanArgs, dates: &[NaiveDate]) -> Result<Levels> {
    let clockless = tempfile::tempdir().or_internal("a scratch folder for the backtest's runs")?;
    let mut levels: Levels = Default::default();
    for date in dates {
        for (side, found) in levels.iter_mut().enumerate() {
            let args = PlanArgs {
                as_of: Some(date.to_string()),
                sets: if side == 0 {
                    Vec::new()
                } else {
                    base.sets.clone()
                },
                params_file: if side == 0 {
                    None
                } else {
                    base.params_file.clone()
                },
                pdf: false,
                filing_copy: false,
                ..base.clone()
            };
            let mut plan = plan::build(&args)?;
            plan.output_dir = clockless.path().to_path_buf();
            let outcome = pipeline::run(&plan, false, &Progress::hidden())?;
            tracing::info!(
                stage = "backtest",
                side = SIDES[side],
                as_of = %date,
                accounts = outcome.flag_rows.len(),
                "date run"
            );
            found.insert(
                *date,
                outcome
                    .flag_rows
                    .iter()
                    .map(|f| (f.account_id.clone(), f.level))
                    .collect(),
            );
        }
    }
    Ok(levels)
}

/// The first date at which `side` put `account` at `level` or above.
fn first_at(levels: &Levels, side: usize, account: &str, level: Level) -> Option<NaiveDate> {
    levels[side]
        .iter()
        .find(|(_, accounts)| accounts.get(account).is_some_and(|l| *l <= level))
        .map(|(date, _)| *date)
}

/// Days `candidate` is before `baseline` (negative: after); `None` unless both are dates.
fn days_earlier(baseline: Option<NaiveDate>, candidate: Option<NaiveDate>) -> Option<i64> {
    Some((baseline? - candidate?).num_days())
}

/// `accounts.csv`: one row per account either side flagged (WATCH or above) on some date, by id.
fn accounts(levels: &Levels) -> Result<DataFrame> {
    let mut ids: Vec<&String> = levels
        .iter()
        .flat_map(|side| side.values())
        .flat_map(|accounts| accounts.iter())
        .filter(|(_, l)| **l <= Level::Watch)
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    ids.dedup();
    let date = |side, id: &str, level| first_at(levels, side, id, level);
    let last = |side: usize, id: &str| {
        levels[side]
            .values()
            .next_back()
            .and_then(|a| a.get(id))
            .map(|l| l.as_str())
    };
    let dates = |side, level| -> Vec<Option<NaiveDate>> {
        ids.iter()
            .map(|id| date(side, id.as_str(), level))
            .collect()
    };
    let earlier = |level| -> Vec<Option<i64>> {
        ids.iter()
            .map(|id| days_earlier(date(0, id, level), date(1, id, level)))
            .collect()
    };
    let columns = vec![
        Column::new(
            "account_id".into(),
            ids.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ),
        date_column("baseline_first_watch", dates(0, Level::Watch)),
        date_column("candidate_first_watch", dates(1, Level::Watch)),
        Column::new("watch_days_earlier".into(), earlier(Level::Watch)),
        date_column("baseline_first_reportable", dates(0, Level::Reportable)),
        date_column("candidate_first_reportable", dates(1, Level::Reportable)),
        Column::new("reportable_days_earlier".into(), earlier(Level::Reportable)),
        Column::new(
            "baseline_last_level".into(),
            ids.iter().map(|id| last(0, id)).collect::<Vec<_>>(),
        ),
        Column::new(
            "candidate_last_level".into(),
            ids.iter().map(|id| last(1, id)).collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new_infer_height(columns).or_internal("the backtest's account table")
}

/// A date column from optional dates (written `YYYY-MM-DD`).
fn date_column(name: &str, dates: Vec<Option<NaiveDate>>) -> Column {
    let text: Vec<Option<String>> = dates.iter().map(|d| d.map(|d| d.to_string())).collect();
    Column::new(name.into(), text)
}

/// `daily_levels.csv`: per date and side, the accounts at each level.
fn daily(levels: &Levels) -> Result<DataFrame> {
    let rows: Vec<(NaiveDate, &str, &BTreeMap<String, Level>)> = levels[0]
        .keys()
        .flat_map(|date| {
            SIDES
                .iter()
                .enumerate()
                .filter_map(move |(side, name)| levels[side].get(date).map(|a| (*date, *name, a)))
        })
        .collect();
    let mut columns = vec![
        date_column("as_of", rows.iter().map(|r| Some(r.0)).collect()),
        Column::new("side".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
    ];
    for level in Level::ALL {
        let counts: Vec<u32> = rows
            .iter()
            .map(|r| r.2.values().filter(|l| **l == level).count() as u32)
            .collect();
        columns.push(Column::new(level.as_str().to_lowercase().into(), counts));
    }
    DataFrame::new_infer_height(columns).or_internal("the backtest's daily table")
}

/// `daily_levels.svg`: accounts at REPORTABLE and at WATCH or above per date, both sides.
fn chart(levels: &Levels) -> String {
    let dates: Vec<NaiveDate> = levels[0].keys().copied().collect();
    let count = |side: usize, level: Level| -> Vec<f64> {
        dates
            .iter()
            .map(|d| {
                levels[side]
                    .get(d)
                    .map(|a| a.values().filter(|l| **l <= level).count() as f64)
                    .unwrap_or(0.0)
            })
            .collect()
    };
    let series = [
        ("baseline REPORTABLE", count(0, Level::Reportable)),
        ("candidate REPORTABLE", count(1, Level::Reportable)),
        ("baseline WATCH or above", count(0, Level::Watch)),
        ("candidate WATCH or above", count(1, Level::Watch)),
    ];
    let labels: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
    crate::documents::charts::lines(
        "Accounts flagged per as-of date: baseline and candidate",
        &labels,
        &series,
        "accounts",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn levels() -> Levels {
        let mut levels: Levels = Default::default();
        let a = |l: Level| BTreeMap::from([("a".to_string(), l)]);
        levels[0].insert(day(1), a(Level::Clear));
        levels[0].insert(day(2), a(Level::Watch));
        levels[0].insert(day(3), a(Level::Reportable));
        levels[1].insert(day(1), a(Level::Watch));
        levels[1].insert(day(2), a(Level::Reportable));
        levels[1].insert(day(3), a(Level::Reportable));
        levels
    }

    #[test]
    fn first_flagged_dates_and_days_earlier_per_side() {
        let l = levels();
        assert_eq!(first_at(&l, 0, "a", Level::Watch), Some(day(2)));
        assert_eq!(first_at(&l, 1, "a", Level::Watch), Some(day(1)));
        assert_eq!(first_at(&l, 0, "a", Level::Reportable), Some(day(3)));
        assert_eq!(first_at(&l, 1, "a", Level::Reportable), Some(day(2)));
        assert_eq!(first_at(&l, 0, "b", Level::Watch), None);
        assert_eq!(days_earlier(Some(day(3)), Some(day(2))), Some(1));
        assert_eq!(days_earlier(Some(day(1)), Some(day(3))), Some(-2));
        assert_eq!(days_earlier(None, Some(day(3))), None);
    }

    #[test]
    fn the_tables_count_each_side_and_level() {
        let l = levels();
        let accounts = accounts(&l).unwrap();
        assert_eq!(accounts.height(), 1);
        let earlier = accounts.column("reportable_days_earlier").unwrap();
        assert_eq!(earlier.i64().unwrap().get(0), Some(1));
        let daily = daily(&l).unwrap();
        assert_eq!(daily.height(), 6);
        let reportable: Vec<Option<u32>> = daily
            .column("reportable")
            .unwrap()
            .u32()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(reportable, [0, 0, 0, 1, 1, 1].map(Some).to_vec());
        assert!(chart(&l).starts_with("<svg"));
    }
}
