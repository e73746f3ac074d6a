//! The run, stage by stage: catalog → sources (billing, telemetry, CIP registry) → quarantine split
//! → as-of date → accelerator identification → analytic queries → output tables → manifest →
//! publish. `validate` runs the same stages and stops before publishing, so whatever `validate`
//! accepts, `run` accepts.

use chrono::NaiveDate;
use polars::prelude::*;
use polars::sql::SQLContext;
use std::collections::BTreeMap;
use std::path::PathBuf;

mod billed;
mod output;
mod registry_stage;

use billed::BilledRows;
use output::{count_levels, present_flags, present_runs, write};
use registry_stage::{load_registry, register_split};

use crate::catalog;
use crate::documents;
use crate::documents::records::records;
use crate::documents::rows::{FlagRow, RunRow};
use crate::error::{Context, Error, Result};
use crate::history;
use crate::manifest;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::quarantine::{self, InputCount};
use crate::sinks::tables;
use crate::sources::{self, billing, telemetry};
use crate::transforms::{self, RunValues};

/// What a run found, for the summary line, the manifest and the tests.
pub struct Outcome {
    pub as_of: NaiveDate,
    pub as_of_source: String,
    pub counts: BTreeMap<String, InputCount>,
    pub levels: BTreeMap<String, u64>,
    /// Output tables by file stem (`flags`, `training_runs`, `quarantine/billing`, ...).
    pub tables: Vec<(String, DataFrame)>,
    /// Why this run's results are qualified (`--allow-stale` let a stale input through).
    pub warnings: Vec<String>,
    pub run_id: String,
    /// Per currency: rows, billed cost and quantity of all billing rows read (reconciliation).
    pub billing_totals: Vec<serde_json::Value>,
    /// The format each billing file was read as.
    pub billing_formats: BTreeMap<String, String>,
    /// The flags and training-run tables as typed rows, parsed once for documents, audit and `explain`.
    pub flag_rows: Vec<FlagRow>,
    pub run_rows: Vec<RunRow>,
    /// The identified, enriched accelerator usage rows (for `explain`).
    pub usage: DataFrame,
    /// Rendered documents by relative path.
    pub documents: Vec<(String, String)>,
    /// The PDF documents by relative path (`--pdf`).
    pub pdfs: Vec<(String, Vec<u8>)>,
    pub published: Option<PathBuf>,
}

impl Outcome {
    pub fn summary_line(&self) -> String {
        let levels: Vec<String> = ["REPORTABLE", "WATCH", "CIP_GAP", "CLEAR"]
            .iter()
            .map(|l| format!("{} {l}", self.levels.get(*l).copied().unwrap_or(0)))
            .collect();
        let quarantined: u64 = self.counts.values().map(|c| c.rows_quarantined).sum();
        let accounts: u64 = self.levels.values().sum();
        let mut line = format!(
            "as-of {} ({}), run {}: {accounts} accounts with accelerator use: {}; {quarantined} input rows quarantined",
            self.as_of,
            self.as_of_source,
            self.run_id,
            levels.join(", ")
        );
        if let Some(dir) = &self.published {
            line.push_str(&format!("; published {}", dir.display()));
        }
        line
    }
}

/// Runs the pipeline; publishes the outputs when `publish` is set (the caller holds the lock).
pub fn run(plan: &Plan, publish: bool, progress: &Progress) -> Result<Outcome> {
    let p = &plan.profile.params;
    let mut warnings = Vec::new();
    progress.stage("catalog");
    let catalog = catalog::load(
        plan.catalog_dir.as_deref(),
        &p.peak_precision,
        &p.peak_precision_fallback,
    )?;
    let mut counts = BTreeMap::new();
    let mut tables_out: Vec<(String, DataFrame)> = Vec::new();

    progress.stage("billing");
    let bill = billing::load(
        plan.inputs.billing.clone(),
        &plan.billing,
        &plan.mappings,
        plan.billing_format.as_deref(),
    )?;
    let mut billed = BilledRows::collect(&bill, &catalog, &plan.billing)?;
    let (as_of, as_of_source) = match plan.as_of {
        Some(d) => (d, "--as-of".to_string()),
        None => (
            billed.latest_day()?,
            "latest charge date in billing".to_string(),
        ),
    };
    let run = RunValues {
        as_of_day: epoch_day(as_of),
        as_of_end_s: (epoch_day(as_of) as i64 + 1) * 86_400,
    };
    if let Some(gap) = billed.check_reference(plan.allow_stale)? {
        warnings.push(gap);
    }
    let billing_count = InputCount::from_quarantine(billed.rows_read, &billed.quarantined)?;
    tracing::info!(
        stage = "billing",
        files = bill.files.len(),
        rows_read = billing_count.rows_read,
        rows_quarantined = billing_count.rows_quarantined,
        accelerator_rows = billed.accelerator_rows(),
        "billing loaded"
    );
    counts.insert("billing".to_string(), billing_count);
    let billing_totals =
        documents::records::records::<serde_json::Value>(&billed.totals, "billing totals")?;
    let billing_formats = bill
        .files
        .iter()
        .zip(&bill.formats)
        .map(|(f, fmt)| (f.display.clone(), fmt.clone()))
        .collect();
    tables_out.push((
        "quarantine/billing".into(),
        quarantine::table(&bill, &billed.quarantined)?,
    ));

    let mut ctx = SQLContext::new();
    let usage = billed.usage_until(run.as_of_end_s)?;
    ctx.register("account_egress", billed.egress.clone().lazy());
    ctx.register("accelerator_usage", usage.clone().lazy());
    progress.stage("telemetry");
    let telemetry_used = match plan.inputs.telemetry.is_empty() {
        true => DataFrame::empty_with_schema(&telemetry_schema()),
        false => {
            let loaded = telemetry::load(plan.inputs.telemetry.clone())?;
            let (used, _) = register_split(&loaded, &mut counts, &mut tables_out)?;
            used.lazy()
                .filter(col("start_s").lt(lit(run.as_of_end_s)))
                .collect()
                .or_internal("telemetry window")?
        }
    };
    tracing::info!(
        stage = "telemetry",
        rows_used = telemetry_used.height(),
        "telemetry loaded"
    );
    ctx.register("telemetry", telemetry_used.lazy());
    progress.stage("registry");
    let registry = load_registry(plan, &mut ctx, &mut counts, &mut tables_out)?;
    if let Some(stale) = registry.check_age(plan, run.as_of_day)? {
        warnings.push(stale);
    }
    tracing::info!(
        stage = "registry",
        customers = registry.customers.height(),
        beneficial_owners = registry.owners.height(),
        access_events = registry.access.height(),
        "CIP registry loaded"
    );
    progress.stage("entities");
    let (members, entities) = transforms::entities::build(
        &transforms::entities::EntityInputs {
            customers: &registry.customers,
            owners: &registry.owners,
            access: &registry.access,
            usage: &usage,
        },
        p,
        &plan.link_key,
    )?;
    tracing::info!(
        stage = "entities",
        linked_entities = entities.height(),
        "entities built"
    );
    ctx.register("entity_members", members.clone().lazy());
    ctx.register("params", transforms::params_table(p, &run)?.lazy());
    let knowledge = history::load_knowledge(&plan.output_dir)?;
    let params_hash = history::params_hash(p);
    let accounts: Vec<String> = members
        .column("account_id")
        .and_then(|c| c.str().cloned())
        .or_internal("entity members")?
        .iter()
        .flatten()
        .map(String::from)
        .collect();
    ctx.register(
        "prior_knowledge",
        history::prior_table(&knowledge, &params_hash, run.as_of_day, &accounts)?.lazy(),
    );

    progress.stage("queries");
    let results = transforms::run_all(&mut ctx, &plan.queries)?;
    let result = |name: &str| {
        results
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, df)| df.clone())
            .ok_or_else(|| {
                Error::config("queries", format!("no query produces the table '{name}'"))
            })
    };
    let flags = present_flags(result("flags")?)?;
    reconcile(&usage, &flags)?;
    let runs = present_runs(result("training_runs")?)?;
    let flag_rows: Vec<FlagRow> = records(&flags, "flags")?;
    let run_rows: Vec<RunRow> = records(&runs, "training runs")?;
    let levels = count_levels(&flag_rows);
    tracing::info!(
        stage = "queries",
        queries = results.len(),
        accounts = flags.height(),
        training_runs = runs.height(),
        "queries run"
    );
    tables_out.insert(0, ("entities".into(), tables::stable(entities)?));
    tables_out.insert(0, ("training_runs".into(), runs));
    tables_out.insert(0, ("flags".into(), flags));

    let mut outcome = Outcome {
        as_of,
        as_of_source,
        counts,
        levels,
        tables: tables_out,
        warnings,
        run_id: String::new(),
        documents: Vec::new(),
        pdfs: Vec::new(),
        usage: result("usage_enriched")?,
        flag_rows,
        run_rows,
        billing_totals,
        billing_formats,
        published: None,
    };
    let mut doc = manifest::build(plan, &catalog, &outcome);
    outcome.run_id = manifest::run_id(&manifest::identity(plan, &catalog, &as_of.to_string()));
    doc["run_id"] = serde_json::Value::String(outcome.run_id.clone());
    progress.stage("documents");
    let common = documents::common(plan, &as_of.to_string(), &outcome.run_id, &outcome.warnings);
    let inputs = documents::DocInputs {
        flags: &outcome.flag_rows,
        runs: &outcome.run_rows,
        customers: &registry.customers,
        owners: &registry.owners,
        access: &registry.access,
        results: &results,
        counts: &outcome.counts,
        answers: &plan.answers,
        filings: &plan.filings,
        first_runs: history::first_runs(&knowledge, &params_hash),
    };
    let extras = documents::Extras {
        filing_copy: plan.filing_copy,
        pdf: plan.pdf,
    };
    (outcome.documents, outcome.pdfs) =
        documents::render_outputs(&plan.templates, &common, &inputs, plan.drafts, extras)?;
    tracing::info!(
        stage = "documents",
        documents = outcome.documents.len(),
        "documents rendered"
    );
    if publish {
        progress.stage("publish");
        outcome.published = Some(write(plan, &outcome, doc)?);
        crate::publish::pause_at("published");
        // A scenario never moves the filing run's knowledge clock.
        if plan.scenario.is_none() {
            history::record_knowledge(
                &plan.output_dir,
                &params_hash,
                &reportable(&outcome.flag_rows),
                &outcome.run_id,
            )?;
        }
        crate::publish::pause_at("knowledge_saved");
        tracing::info!(
            stage = "publish",
            files = outcome.documents.len() + 2 * outcome.tables.len(),
            "published"
        );
    }
    progress.finish();
    Ok(outcome)
}

/// "Used means counted": the accelerator-hours of the identified usage rows must equal the sum
/// over the accounts' flags rows, else a row was used but reached no account (an internal error,
/// exit 1, with the difference).
fn reconcile(usage: &DataFrame, flags: &DataFrame) -> Result<()> {
    let total = |df: &DataFrame, what: &str| -> Result<f64> {
        df.column("accelerator_hours")
            .and_then(|c| c.cast(&DataType::Float64))
            .map(|c| c.f64().map(|v| v.sum().unwrap_or(0.0)).unwrap_or(0.0))
            .or_internal(format!("reconciliation: {what}"))
    };
    let (identified, accounts) = (total(usage, "usage")?, total(flags, "flags")?);
    let difference = identified - accounts;
    // Flags are rounded to 12 significant digits per account.
    if difference.abs() > 1e-9 * identified.abs().max(1.0) {
        return Err(Error::Internal(format!(
            "reconciliation failed: identified accelerator usage holds {identified} accelerator-hours, \
             the accounts' totals {accounts} (difference {difference})"
        )));
    }
    Ok(())
}

/// (account, knowledge date) of the REPORTABLE accounts.
fn reportable(flags: &[FlagRow]) -> Vec<(String, String)> {
    flags
        .iter()
        .filter(|f| f.level == "REPORTABLE")
        .filter_map(|f| f.knowledge_date.clone().map(|d| (f.account_id.clone(), d)))
        .collect()
}

fn telemetry_schema() -> Schema {
    Schema::from_iter([
        Field::new("_row".into(), DataType::Int64),
        Field::new("resource_id".into(), DataType::String),
        Field::new("billing_account_id".into(), DataType::String),
        Field::new("start_s".into(), DataType::Int64),
        Field::new("end_s".into(), DataType::Int64),
        Field::new("instance_type".into(), DataType::String),
        Field::new("accelerator_count".into(), DataType::Float64),
        Field::new("avg_utilization".into(), DataType::Float64),
        Field::new("availability_zone".into(), DataType::String),
        Field::new("cluster_id".into(), DataType::String),
        Field::new(sources::SOURCE_FILE.into(), DataType::String),
    ])
}

fn epoch_day(d: NaiveDate) -> i32 {
    d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
        .num_days() as i32
}

/// The epoch day of a timestamp column, as `alias`.
fn day_of(name: &str, alias: &str) -> Expr {
    sources::columns::epoch_day(col(name)).alias(alias)
}

fn as_date(name: &str) -> Expr {
    col(name)
        .cast(DataType::Int32)
        .cast(DataType::Date)
        .alias(name.replace("_day", "_date"))
}

fn as_timestamp(name: &str, alias: &str) -> Expr {
    (col(name).cast(DataType::Int64) * lit(1_000_000i64))
        .cast(sources::columns::ts_type())
        .alias(alias)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciliation_fails_with_the_difference_when_hours_reach_no_account() {
        let usage = df!("accelerator_hours" => [192.0, 192.0, 16.0]).unwrap();
        let flags = df!("account_id" => ["a", "b"], "accelerator_hours" => [384.0, 16.0]).unwrap();
        assert!(reconcile(&usage, &flags).is_ok());
        let lost = df!("account_id" => ["a"], "accelerator_hours" => [384.0]).unwrap();
        let err = reconcile(&usage, &lost).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_INTERNAL);
        assert!(err.to_string().contains("difference 16"), "{err}");
    }
}
