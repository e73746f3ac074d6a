//! `cipwatch explain ACCOUNT_ID`: the evidence behind one account's level, in plain words or JSON:
//! which billing rows (counts, date range, sample source rows) and catalog figures, the arithmetic
//! from hours to operations, the co-location peak, the runs, each threshold against its measured
//! value, and the CIP facts. It reads the run published for the as-of date (by default the latest),
//! so it explains what was published, under that run's parameters; `--rerun` reruns the pipeline on
//! today's inputs without publishing, and warns where the run published for that date was made
//! from other inputs or settings (naming a level that differs).

use serde::Serialize;

use clap::Args;

use super::Format;
use crate::config::profile::Params;
use crate::error::{Context, Error, Result, EXIT_OK};
use crate::pipeline;
use crate::plan::{self, PlanArgs};
use crate::progress::Progress;
use crate::state::published;
use crate::transforms::rows::{accounts_records, FlagRow, RunRow, UsageGroup};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The billing account to explain.
    pub account_id: String,
    #[command(flatten)]
    pub common: PlanArgs,
    /// Output format: text or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Rerun the pipeline on today's inputs instead of reading the published run (a warning
    /// says when the run published for that date was made from other inputs or settings).
    #[arg(long)]
    pub rerun: bool,
}

/// Runs listed in the text explanation.
const SHOWN_RUNS: usize = 5;

#[derive(Debug, Serialize)]
struct Explanation {
    account_id: String,
    as_of: String,
    run_id: String,
    /// The scenario the explained run was published as; absent for the filing run.
    #[serde(skip_serializing_if = "Option::is_none")]
    scenario: Option<String>,
    /// The profile's RULE NOT IN FORCE banner, when it is not in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_status: Option<String>,
    /// The regulatory numbers that were not the rule's.
    not_assessed_under_rule_thresholds: Vec<String>,
    level: String,
    reasons: Vec<String>,
    interval_low: Option<f64>,
    entity_id: Option<String>,
    entity_size: Option<i64>,
    foreign: ForeignFacts,
    usage: Vec<UsageGroup>,
    totals: Totals,
    tests: Vec<Test>,
    runs: Vec<RunRow>,
    dates: Dates,
}

#[derive(Debug, Serialize)]
struct ForeignFacts {
    is_foreign: bool,
    foreign_basis: String,
    cip_status: String,
    verification_method: Option<String>,
    reseller_id: Option<String>,
    reseller_country: Option<String>,
    reseller_cip_on_file: Option<bool>,
}

#[derive(Debug, Serialize)]
struct Totals {
    accelerator_hours: f64,
    upper_ops: f64,
    est_ops: f64,
    peak_colocated_accelerators: Option<f64>,
    peak_colocated_ops_per_s: Option<f64>,
    max_interconnect_gbps: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Test {
    test: &'static str,
    /// `operations`, `op/s` or `Gbit/s`.
    unit: &'static str,
    measured: Option<f64>,
    comparison: &'static str,
    threshold: f64,
    met: bool,
}

#[derive(Debug, Serialize)]
struct Dates {
    /// Counsel's adopted knowledge date, else `first_flagged_date`.
    knowledge_date: Option<String>,
    /// The as-of date of the first filing run that found the account REPORTABLE.
    first_flagged_date: Option<String>,
    /// The day the data first crossed the operations threshold.
    crossing_date: Option<String>,
    report_due_date: Option<String>,
    projected_crossing_date: Option<String>,
    days_to_crossing: Option<f64>,
}

pub fn explain(args: &ExplainArgs) -> Result<i32> {
    if args.format == Format::Csv {
        return Err(Error::Usage(
            "explain prints text or json (--format text|json), not csv".into(),
        ));
    }
    let plan = plan::build_for_reading(&args.common)?;
    let evidence = match args.rerun {
        true => rerun(&plan, &args.account_id)?,
        false => published_evidence(&plan, &args.account_id)?,
    };
    let e = explanation(&evidence);
    let printed = match args.format {
        // JSON is masked value by value before it is escaped; masking its text again could
        // write a mask into a number's digits.
        Format::Json => crate::pii::masked_json(&e, true).or_internal("explanation")? + "\n",
        Format::Text | Format::Csv => crate::pii::redact(&text(&e, &evidence, &plan)?).into_owned(),
    };
    print!("{printed}");
    Ok(EXIT_OK)
}

/// What an explanation is made from: one run's flags row, training runs and usage by instance
/// type for the account, with the as-of date, run id, parameters and banners of that run.
struct Evidence {
    as_of: String,
    run_id: String,
    flag: FlagRow,
    runs: Vec<RunRow>,
    usage: Vec<UsageGroup>,
    params: Params,
    /// The scenario the run was published as (`None`: the filing run).
    scenario: Option<String>,
    /// The profile's RULE NOT IN FORCE banner, when it is not in force.
    rule_status: Option<String>,
    /// The regulatory numbers that were not the rule's (`not_assessed_under_rule_thresholds`).
    not_assessed: Vec<String>,
}

/// The evidence of the run published for the plan's as-of date (`--as-of`), else of the latest
/// run published under the plan's output folder (a scenario's with `--scenario` or `--set`), as
/// published: ids masked as in its tables, parameters as its manifest records them.
///
/// Errors: usage (exit 2) when no such run is published, the account has no level in it, or its
/// tables are not those of this version (`--rerun` explains today's inputs instead).
fn published_evidence(plan: &plan::Plan, account: &str) -> Result<Evidence> {
    let rerun_hint = "or explain today's inputs with --rerun";
    let folder = published_folder(plan)?;
    let manifest = published::manifest(&folder)?;
    let what = folder.join("manifest.json").display().to_string();
    let params = crate::config::profile::recorded(&manifest["parameters"], &what)?;
    let not_assessed: Vec<String> = manifest["not_assessed_under_rule_thresholds"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|b| b.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let profile =
        serde_json::from_value::<crate::config::profile::ProfileInfo>(manifest["profile"].clone())
            .map_err(|e| Error::config(&what, format!("profile: {e}")))?;
    // Published ids are masked by value (an id that is a card number); compare them masked.
    let wanted = crate::pii::redact(account).into_owned();
    let mine = [wanted.as_str()];
    let mut flags: Vec<FlagRow> = published::account_table(&folder, "flags", &mine)?;
    let as_of = manifest["as_of"].as_str().unwrap_or_default().to_string();
    let flag = match (flags.pop(), flags.is_empty()) {
        (Some(flag), true) => flag,
        (None, _) => return Err(no_level(account, &as_of)),
        (Some(_), false) => {
            return Err(Error::Usage(format!(
                "several accounts of the run published in {} share the masked id {}: {rerun_hint}",
                folder.display(),
                shown_id(&wanted)
            )))
        }
    };
    let usage: Vec<UsageGroup> = published::account_table(&folder, "usage_by_type", &mine)
        .map_err(|e| {
            Error::Usage(format!(
                "{e}: published by an earlier version; {rerun_hint}"
            ))
        })?;
    Ok(Evidence {
        run_id: manifest["run_id"].as_str().unwrap_or_default().to_string(),
        as_of,
        runs: published::account_table::<RunRow>(&folder, "training_runs", &mine)?,
        usage,
        flag,
        params,
        scenario: manifest["scenario"].as_str().map(String::from),
        rule_status: profile.not_in_force_banner(),
        not_assessed,
    })
}

/// The run folder `explain` reads: `<root>/<--as-of>` (only there), else the latest complete run
/// under the plan's publishing root (a scenario's folder with `--scenario` or `--set`).
///
/// Errors: usage (exit 2) when that run is not published, saying how to publish it or to rerun.
fn published_folder(plan: &plan::Plan) -> Result<std::path::PathBuf> {
    let root = plan.publish_root();
    let publish = match &plan.scenario {
        Some(name) => {
            format!("`cipwatch run` with the same --set, --params or --scenario ({name})")
        }
        None => "`cipwatch run`".to_string(),
    };
    match plan.as_of {
        Some(day) => {
            let folder = root.join(day.to_string());
            match folder.join(crate::sinks::publish::SUCCESS).is_file() {
                true => Ok(folder),
                false => Err(Error::Usage(format!(
                    "no run is published for {day} in {}: {publish} with --as-of {day} publishes one (a backfill's past days are under --scenario backfill), or explain today's inputs with --rerun",
                    root.display()
                ))),
            }
        }
        None => published::runs(&root)
            .unwrap_or_default()
            .pop()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no run is published in {} yet: {publish} publishes one, or explain today's inputs with --rerun",
                    root.display()
                ))
            }),
    }
}

/// The evidence of a rerun of the pipeline on today's inputs (`--rerun`), without publishing; where
/// the run published for that date was made from other inputs or settings, a warning says so.
///
/// Errors: as `run`'s; usage (exit 2) when the account has no level.
fn rerun(plan: &plan::Plan, account: &str) -> Result<Evidence> {
    let outcome = pipeline::run(plan, false, &Progress::hidden())?;
    let flag = outcome
        .flag_rows
        .iter()
        .find(|f| f.account_id == account)
        .cloned()
        .ok_or_else(|| no_level(account, &outcome.as_of.to_string()))?;
    warn_if_published_differs(plan, &outcome, &flag);
    let by_type = &outcome.tables.usage_by_type;
    Ok(Evidence {
        as_of: outcome.as_of.to_string(),
        run_id: outcome.run_id.clone(),
        usage: accounts_records(by_type, &[account], "usage by type")?,
        runs: accounts_records(&outcome.tables.training_runs, &[account], "training runs")?,
        flag,
        params: plan.profile.params.clone(),
        scenario: plan.scenario.clone(),
        rule_status: plan.profile.info.not_in_force_banner(),
        not_assessed: plan.rule_deviations.clone(),
    })
}

fn no_level(account: &str, as_of: &str) -> Error {
    Error::Usage(format!(
        "account {} has no identified accelerator usage up to {as_of}: it has no level to explain",
        shown_id(account)
    ))
}

/// `explain --rerun` reruns the pipeline on today's inputs: where a run of the same as-of date was
/// published from other inputs or settings (another run id), the explanation may not be of what was
/// published. Says so on stderr, and names a level or a due date that differs (no customer values).
fn warn_if_published_differs(plan: &plan::Plan, outcome: &pipeline::Outcome, flag: &FlagRow) {
    let folder = plan.publish_root().join(outcome.as_of.to_string());
    let Ok(published) = published::manifest(&folder) else {
        return;
    };
    let Some(id) = published["run_id"]
        .as_str()
        .filter(|id| *id != outcome.run_id)
    else {
        return;
    };
    let published = published_flag(&folder, &flag.account_id);
    let mut differs = String::new();
    if let Some(p) = published.as_ref().filter(|p| p.level != flag.level) {
        differs.push_str(&format!(
            "; the published level was {}, this rerun finds {}",
            p.level, flag.level
        ));
    }
    if let Some(p) = published
        .as_ref()
        .filter(|p| p.report_due_date != flag.report_due_date)
    {
        let shown = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".into());
        differs.push_str(&format!(
            "; the published due date was {}, this rerun finds {}",
            shown(&p.report_due_date),
            shown(&flag.report_due_date)
        ));
    }
    eprintln!(
        "cipwatch: warning: the run published for {} (run {id}) was made from other inputs or settings than this explanation (run {}){differs}",
        outcome.as_of, outcome.run_id
    );
}

/// The flags row a published run folder holds for an account (ids compared masked, as
/// published).
fn published_flag(folder: &std::path::Path, account: &str) -> Option<FlagRow> {
    let masked = crate::pii::redact(account).into_owned();
    published::table::<FlagRow>(folder, "flags")
        .ok()?
        .into_iter()
        .find(|f| f.account_id == masked)
}

/// An account id from the command line as a message may print it: invisible and control
/// characters (a terminal escape) written out as `[U+XXXX]`.
fn shown_id(id: &str) -> String {
    crate::pii::visible(id)
        .chars()
        .map(|c| match c.is_control() {
            true => format!("[U+{:04X}]", c as u32),
            false => c.to_string(),
        })
        .collect()
}

/// The explanation of one account's flags row against the parameters of its run.
fn explanation(ev: &Evidence) -> Explanation {
    let (flag, p) = (&ev.flag, &ev.params);
    Explanation {
        account_id: flag.account_id.clone(),
        as_of: ev.as_of.clone(),
        run_id: ev.run_id.clone(),
        scenario: ev.scenario.clone(),
        rule_status: ev.rule_status.clone(),
        not_assessed_under_rule_thresholds: ev.not_assessed.clone(),
        level: flag.level.to_string(),
        reasons: flag
            .reasons
            .as_deref()
            .unwrap_or("")
            .split(';')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        interval_low: flag.est_ops_low,
        entity_id: flag.entity_id.clone(),
        entity_size: flag.entity_size,
        foreign: ForeignFacts {
            is_foreign: flag.is_foreign,
            foreign_basis: flag.foreign_basis.clone(),
            cip_status: flag.cip_status.clone(),
            verification_method: flag.verification_method.clone(),
            reseller_id: flag.reseller_id.clone(),
            reseller_country: flag.reseller_country.clone(),
            reseller_cip_on_file: flag.reseller_cip_on_file,
        },
        usage: ev.usage.clone(),
        totals: Totals {
            accelerator_hours: flag.accelerator_hours,
            upper_ops: flag.upper_ops,
            est_ops: flag.est_ops,
            peak_colocated_accelerators: flag.peak_colocated_accelerators,
            peak_colocated_ops_per_s: flag.peak_colocated_ops_per_s,
            max_interconnect_gbps: flag.max_interconnect_gbps,
        },
        tests: vec![
            Test {
                test: "estimated operations",
                unit: "operations",
                measured: Some(flag.est_ops),
                comparison: ">",
                threshold: p.training_ops,
                met: flag.ops_met,
            },
            Test {
                test: "peak co-located op/s",
                unit: "op/s",
                measured: flag.peak_colocated_ops_per_s,
                comparison: ">=",
                threshold: p.cluster_peak_ops_per_s,
                met: flag.peak_met,
            },
            Test {
                test: "interconnect Gbit/s",
                unit: "Gbit/s",
                measured: flag.max_interconnect_gbps,
                comparison: ">",
                threshold: p.interconnect_gbps,
                met: flag.interconnect_met,
            },
        ],
        runs: ev.runs.clone(),
        dates: Dates {
            knowledge_date: flag.knowledge_date.clone(),
            first_flagged_date: flag.first_flagged_date.clone(),
            crossing_date: flag.crossing_date.clone(),
            report_due_date: flag.report_due_date.clone(),
            projected_crossing_date: flag.projected_crossing_date.clone(),
            days_to_crossing: flag.days_to_crossing,
        },
    }
}

/// What `explain.txt` renders: the explanation, the banners, the runs shown (largest first, at
/// most `SHOWN_RUNS`) and the parameters the sentences name.
#[derive(Serialize)]
struct TextView<'a> {
    #[serde(flatten)]
    explanation: &'a Explanation,
    banners: &'a [String],
    shown_runs: Vec<&'a RunRow>,
    more_runs: usize,
    watch_fraction: f64,
    /// The profile's deadline: its kind and the days of each kind.
    deadline: &'a str,
    report_due_days: i64,
    after_quarter_days: i64,
}

/// The explanation in plain words, from the `explain.txt` template.
fn text(e: &Explanation, ev: &Evidence, plan: &plan::Plan) -> Result<String> {
    let p = &ev.params;
    let mut runs: Vec<&RunRow> = e.runs.iter().collect();
    runs.sort_by(|a, b| b.est_ops.total_cmp(&a.est_ops).then(a.start.cmp(&b.start)));
    let view = TextView {
        explanation: e,
        banners: &ev.not_assessed,
        more_runs: runs.len().saturating_sub(SHOWN_RUNS),
        shown_runs: runs.into_iter().take(SHOWN_RUNS).collect(),
        watch_fraction: p.watch_fraction,
        deadline: &p.deadline,
        report_due_days: p.report_due_days,
        after_quarter_days: p.after_quarter_days,
    };
    plan.templates
        .render_with("explain.txt", &view, &Default::default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn usage_groups_accept_nulls() {
        let g: crate::transforms::rows::UsageGroup =
            crate::transforms::rows::read::all_null::read();
        assert_eq!((g.rows, g.est_ops), (0, 0.0));
    }
}
