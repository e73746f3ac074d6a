//! `cipwatch explain ACCOUNT_ID`: the evidence behind one account's level, in plain words or JSON:
//! which billing rows (counts, date range, sample source rows) and catalog figures, the arithmetic
//! from hours to operations, the co-location peak, the runs, each threshold against its measured
//! value, and the CIP facts. It reruns the pipeline without publishing, so it explains exactly what
//! a run with the same flags would decide; where the run published for that date was made from
//! other inputs or settings, it warns (and names a level that differs).

use polars::prelude::*;
use serde::Serialize;

use clap::Args;

use super::Format;
use crate::config::profile::Params;
use crate::error::{Context, Error, Result, EXIT_OK};
use crate::pipeline;
use crate::plan::{self, PlanArgs};
use crate::progress::Progress;
use crate::sources::{ROW, SOURCE_FILE};
use crate::transforms::records::records;
use crate::transforms::rows::{FlagRow, RunRow};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The billing account to explain.
    pub account_id: String,
    #[command(flatten)]
    pub common: PlanArgs,
    /// Output format: text or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs listed in the text explanation.
const SHOWN_RUNS: usize = 5;

#[derive(Debug, Serialize)]
struct Explanation {
    account_id: String,
    as_of: String,
    run_id: String,
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

/// The billing rows of one instance type and how they become operations.
#[derive(Debug, Serialize, serde::Deserialize)]
struct UsageGroup {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    instance_type: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    accelerator: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    rows: i64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    first_start: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    last_end: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    sample_rows: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    accelerators_per_instance: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    accelerator_hours: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    peak_ops_per_s: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    peak_precision_used: String,
    interconnect_gbps: Option<f64>,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    telemetry_accelerator_hours: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    mean_utilization: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    upper_ops: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    est_ops: f64,
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
    knowledge_date: Option<String>,
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
    let plan = plan::build(&args.common)?;
    let outcome =
        pipeline::run_explaining(&plan, false, &Progress::hidden(), Some(&args.account_id))?;
    let flag = outcome
        .flag_rows
        .iter()
        .find(|f| f.account_id == args.account_id)
        .cloned()
        .ok_or_else(|| {
            Error::Usage(format!(
            "account {} has no identified accelerator usage up to {}: it has no level to explain",
            shown_id(&args.account_id), outcome.as_of
        ))
        })?;
    warn_if_published_differs(&plan, &outcome, &flag);
    let usage = usage_groups(&outcome.usage, &outcome.usage_rows, &flag.account_id)?;
    let runs: Vec<RunRow> = outcome
        .run_rows
        .iter()
        .filter(|&r| r.account_id == flag.account_id)
        .cloned()
        .collect();
    let p = &plan.profile.params;
    let e = explanation(&flag, &outcome, usage, runs, p);
    let printed = match args.format {
        // JSON is masked value by value before it is escaped; masking its text again could
        // write a mask into a number's digits.
        Format::Json => crate::pii::masked_json(&e, true).or_internal("explanation")? + "\n",
        Format::Text | Format::Csv => crate::pii::redact(&text(&e, &plan)?).into_owned(),
    };
    print!("{printed}");
    Ok(EXIT_OK)
}

/// `explain` reruns the pipeline on today's inputs: where a run of the same as-of date was
/// published from other inputs or settings (another run id), the explanation may not be of what was
/// published. Says so on stderr, and names a level that differs (no customer values).
fn warn_if_published_differs(plan: &plan::Plan, outcome: &pipeline::Outcome, flag: &FlagRow) {
    let folder = plan.publish_root().join(outcome.as_of.to_string());
    let Ok(text) = std::fs::read_to_string(folder.join("manifest.json")) else {
        return;
    };
    let published: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let Some(id) = published["run_id"]
        .as_str()
        .filter(|id| *id != outcome.run_id)
    else {
        return;
    };
    let level = published_level(&folder, &flag.account_id)
        .filter(|l| l != flag.level.as_str())
        .map(|l| {
            format!(
                "; the published level was {l}, this rerun finds {}",
                flag.level.as_str()
            )
        })
        .unwrap_or_default();
    eprintln!(
        "cipwatch: warning: the run published for {} (run {id}) was made from other inputs or settings than this explanation (run {}){level}",
        outcome.as_of, outcome.run_id
    );
}

/// The level `flags.csv` of a published run folder gives an account (ids compared masked, as
/// published).
fn published_level(folder: &std::path::Path, account: &str) -> Option<String> {
    let flags = crate::sinks::tables::read_text_csv(&folder.join("flags.csv")).ok()?;
    let ids = flags.column("account_id").ok()?.str().ok()?.clone();
    let levels = flags.column("level").ok()?.str().ok()?.clone();
    let masked = crate::pii::redact(account).into_owned();
    let found = ids
        .iter()
        .zip(levels.iter())
        .find(|(id, _)| *id == Some(masked.as_str()))
        .and_then(|(_, l)| l.map(String::from));
    found
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

/// The explanation of one account's flags row against the parameters in force.
fn explanation(
    flag: &FlagRow,
    outcome: &pipeline::Outcome,
    usage: Vec<UsageGroup>,
    runs: Vec<RunRow>,
    p: &Params,
) -> Explanation {
    Explanation {
        account_id: flag.account_id.clone(),
        as_of: outcome.as_of.to_string(),
        run_id: outcome.run_id.clone(),
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
        usage,
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
        runs,
        dates: Dates {
            knowledge_date: flag.knowledge_date.clone(),
            crossing_date: flag.crossing_date.clone(),
            report_due_date: flag.report_due_date.clone(),
            projected_crossing_date: flag.projected_crossing_date.clone(),
            days_to_crossing: flag.days_to_crossing,
        },
    }
}

/// The account's usage grouped by instance type, with the arithmetic's inputs: sums from its
/// usage slots, and the first three usage rows in time (file:row) from its own rows.
fn usage_groups(slots: &DataFrame, rows: &DataFrame, account: &str) -> Result<Vec<UsageGroup>> {
    let by_type = [col("instance_type"), col("accelerator")];
    let sample = concat_str(
        [col(SOURCE_FILE), lit(":"), col(ROW).cast(DataType::String)],
        "",
        true,
    );
    let samples = rows
        .clone()
        .lazy()
        .sort(["start_s", "row_id"], Default::default())
        .group_by(by_type.clone())
        .agg([sample
            .head(Some(3))
            .str()
            .join(", ", true)
            .alias("sample_rows")]);
    let df = slots
        .clone()
        .lazy()
        .filter(col("billing_account_id").eq(lit(account)))
        .group_by(by_type.clone())
        .agg([
            col("source_rows").sum().alias("rows"),
            col("start_s").min().alias("first_s"),
            col("end_s").max().alias("last_s"),
            (col("accelerators").sum().cast(DataType::Float64)
                / col("merged_rows").sum().cast(DataType::Float64))
            .alias("accelerators_per_instance"),
            col("accelerator_hours").sum(),
            col("peak_ops_per_s").first(),
            col("peak_precision_used").first(),
            col("interconnect_gbps").first(),
            col("accelerator_hours")
                .filter(col("utilization_source").eq(lit("telemetry")))
                .sum()
                .alias("telemetry_accelerator_hours"),
            (col("est_ops").sum() / col("upper_ops").sum()).alias("mean_utilization"),
            col("upper_ops").sum(),
            col("est_ops").sum(),
        ])
        .join(
            samples,
            by_type.clone(),
            by_type,
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([iso("first_s", "first_start"), iso("last_s", "last_end")])
        .sort(["instance_type", "accelerator"], Default::default())
        .collect()
        .or_internal("explaining usage")?;
    records(&df, "usage")
}

fn iso(seconds: &str, alias: &str) -> Expr {
    (col(seconds) * lit(1_000_000i64))
        .cast(crate::sources::columns::ts_type())
        .dt()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .alias(alias)
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
fn text(e: &Explanation, plan: &plan::Plan) -> Result<String> {
    let p = &plan.profile.params;
    let mut runs: Vec<&RunRow> = e.runs.iter().collect();
    runs.sort_by(|a, b| b.est_ops.total_cmp(&a.est_ops).then(a.start.cmp(&b.start)));
    let view = TextView {
        explanation: e,
        banners: &plan.rule_deviations,
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
        let g: super::UsageGroup = crate::transforms::records::all_null::read();
        assert_eq!((g.rows, g.est_ops), (0, 0.0));
    }
}
