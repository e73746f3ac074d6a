//! The run, stage by stage: catalog → sources (billing, telemetry, CIP registry) → quarantine split
//! → as-of date → accelerator identification → analytic queries → output tables → manifest →
//! publish. `validate` runs the same stages and stops before publishing, so whatever `validate`
//! accepts, `run` accepts.

use chrono::NaiveDate;
use polars::prelude::*;
use polars::sql::SQLContext;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::catalog::{self, Catalog};
use crate::documents;
use crate::error::{Context, Error, Result};
use crate::history;
use crate::manifest;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::publish::Staging;
use crate::quarantine::{self, InputCount};
use crate::sinks::tables;
use crate::sources::{self, billing, registry, telemetry, Loaded, REASON, RULE};
use crate::transforms::{self, identify::identify, RunValues};

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
    /// The identified, enriched accelerator usage rows (for `explain`).
    pub usage: DataFrame,
    /// Rendered documents by relative path.
    pub documents: Vec<(String, String)>,
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

/// Columns of the identified accelerator usage handed to the queries.
const USAGE_COLUMNS: &[&str] = &[
    "row_id",
    sources::SOURCE_FILE,
    sources::ROW,
    "billing_account_id",
    "sub_account_id",
    "resource_id",
    "availability_zone",
    "region_id",
    "start_s",
    "end_s",
    "day",
    "instance_type",
    "accelerator",
    "accelerators",
    "accelerator_hours",
    "interconnect_gbps",
    "peak_ops_per_s",
    "peak_precision_used",
    "charge_class",
    "pricing_category",
    "billed_cost",
    "effective_cost",
];

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
    let mut billed = BilledRows::collect(&bill, &catalog, &plan.billing.accelerator_hint_pattern)?;
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
        accelerator_rows = billed.accelerator.height(),
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
    ctx.register(
        "accelerator_usage",
        billed.usage_until(run.as_of_end_s)?.lazy(),
    );
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
    ctx.register("params", transforms::params_table(p, &run)?.lazy());
    let knowledge = history::load_knowledge(&plan.output_dir)?;
    let params_hash = history::params_hash(p);
    ctx.register(
        "prior_knowledge",
        history::prior_table(&knowledge, &params_hash, run.as_of_day)?.lazy(),
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
    let runs = present_runs(result("training_runs")?)?;
    let levels = count_levels(&flags)?;
    tracing::info!(
        stage = "queries",
        queries = results.len(),
        accounts = flags.height(),
        training_runs = runs.height(),
        "queries run"
    );
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
        usage: result("usage_enriched")?,
        billing_totals,
        billing_formats,
        published: None,
    };
    let mut doc = manifest::build(plan, &catalog, &outcome);
    outcome.run_id = manifest::run_id(&doc);
    doc["run_id"] = serde_json::Value::String(outcome.run_id.clone());
    progress.stage("documents");
    let common = documents::common(plan, &as_of.to_string(), &outcome.run_id, &outcome.warnings);
    let inputs = documents::DocInputs {
        flags: &outcome.tables[0].1,
        runs: &outcome.tables[1].1,
        customers: &registry.customers,
        owners: &registry.owners,
        access: &registry.access,
        results: &results,
        counts: &outcome.counts,
    };
    outcome.documents = documents::render_all(&plan.templates, &common, &inputs, plan.drafts)?;
    tracing::info!(
        stage = "documents",
        documents = outcome.documents.len(),
        "documents rendered"
    );
    if publish {
        progress.stage("publish");
        outcome.published = Some(write(plan, &outcome, doc)?);
        history::record_knowledge(
            &plan.output_dir,
            &params_hash,
            &reportable(&outcome.tables[0].1)?,
            &outcome.run_id,
        )?;
        tracing::info!(
            stage = "publish",
            files = outcome.documents.len() + 2 * outcome.tables.len(),
            "published"
        );
    }
    progress.finish();
    Ok(outcome)
}

/// (account, knowledge date) of the REPORTABLE accounts in the flags table.
fn reportable(flags: &DataFrame) -> Result<Vec<(String, String)>> {
    let rows: Vec<documents::rows::FlagRow> = documents::records::records(flags, "flags")?;
    Ok(rows
        .into_iter()
        .filter(|f| f.level == "REPORTABLE")
        .filter_map(|f| f.knowledge_date.map(|d| (f.account_id, d)))
        .collect())
}

/// Billing rows after identification: the quarantined ones and the identified accelerator rows.
struct BilledRows {
    rows_read: u64,
    /// Per currency: rows, billed cost and quantity of every billing row (used or quarantined), to
    /// reconcile with the source files.
    totals: DataFrame,
    latest_day: Option<i32>,
    quarantined: DataFrame,
    accelerator: DataFrame,
}

impl BilledRows {
    /// Two passes over the billing files: one counting rows and finding the latest usable charge
    /// day, one keeping only quarantined and accelerator rows (a small minority of a real export).
    fn collect(bill: &Loaded, catalog: &Catalog, hint: &str) -> Result<BilledRows> {
        let rows = identify(bill.rows.clone(), catalog, hint).with_row_index("row_id", None);
        let stats = rows
            .clone()
            .select([
                len().cast(DataType::UInt64).alias("read"),
                col("day")
                    .filter(col(RULE).is_null())
                    .max()
                    .alias("latest_day"),
            ])
            .collect()
            .map_err(|e| input_error(bill, e))?;
        let totals = bill
            .rows
            .clone()
            .group_by([col("billing_currency")])
            .agg([
                len().cast(DataType::Int64).alias("rows"),
                col("billed_cost").sum(),
                col("quantity").sum(),
            ])
            .sort(["billing_currency"], Default::default())
            .collect()
            .map_err(|e| input_error(bill, e))?;
        let kept = rows
            .filter(col(RULE).is_not_null().or(col("is_accelerator")))
            .collect()
            .map_err(|e| input_error(bill, e))?;
        let quarantined = kept
            .clone()
            .lazy()
            .filter(col(RULE).is_not_null())
            .collect()
            .or_internal("billing quarantine")?;
        let accelerator = kept
            .lazy()
            .filter(col(RULE).is_null())
            .drop(by_name([RULE, REASON], true, false))
            .collect()
            .or_internal("billing usage")?;
        let scalar = |name: &str| {
            stats
                .column(name)
                .ok()
                .and_then(|c| c.get(0).ok())
                .map(|v| v.into_static())
        };
        Ok(BilledRows {
            totals: tables::stable(totals)?,
            rows_read: scalar("read").and_then(|v| v.extract::<u64>()).unwrap_or(0),
            latest_day: scalar("latest_day").and_then(|v| v.extract::<i32>()),
            quarantined,
            accelerator,
        })
    }

    fn latest_day(&self) -> Result<NaiveDate> {
        let day = self.latest_day.ok_or_else(|| {
            Error::input(
                crate::error::Location::file("billing"),
                "no usable billing row, so no as-of date can be taken from the data (give --as-of or fix the input)",
            )
        })?;
        Ok(NaiveDate::from_num_days_from_ce_opt(day + 719_163).expect("epoch day in range"))
    }

    /// Fails closed when an identified accelerator has no peak figure at the profile's precision.
    /// Fails closed when an identified accelerator has no peak figure at the profile's precision;
    /// with `--allow-stale` its rows are quarantined instead and a warning is returned.
    fn check_reference(&mut self, allow_stale: bool) -> Result<Option<String>> {
        let no_peak = col("peak_ops_per_s").is_null();
        let missing = self
            .accelerator
            .clone()
            .lazy()
            .filter(no_peak.clone())
            .select([concat_str(
                [
                    col("instance_type"),
                    lit(" ("),
                    col("accelerator"),
                    lit(")"),
                ],
                "",
                true,
            )
            .alias("what")])
            .unique_stable(None, UniqueKeepStrategy::First)
            .collect()
            .or_internal("catalog check")?;
        if missing.height() == 0 {
            return Ok(None);
        }
        let list: Vec<String> = missing
            .column("what")
            .or_internal("catalog check")?
            .str()
            .or_internal("catalog check")?
            .iter()
            .flatten()
            .map(String::from)
            .collect();
        let message = format!(
            "the catalog has no peak op/s at the profile's precision for accelerators seen in billing: {}",
            list.join(", ")
        );
        if !allow_stale {
            return Err(Error::Reference(format!(
                "{message} (--allow-stale quarantines their rows instead)"
            )));
        }
        let moved = self
            .accelerator
            .clone()
            .lazy()
            .filter(no_peak.clone())
            .with_columns([
                lit("catalog_missing_peak").alias(RULE),
                lit("the catalog has no peak op/s for this accelerator at the profile's precision")
                    .alias(REASON),
            ]);
        let order: Vec<Expr> = self
            .quarantined
            .get_column_names()
            .iter()
            .map(|c| col(c.as_str()))
            .collect();
        self.quarantined = concat(
            [self.quarantined.clone().lazy(), moved],
            UnionArgs {
                diagonal: true,
                ..Default::default()
            },
        )
        .and_then(|lf| lf.select(order).collect())
        .or_internal("quarantining rows without a peak figure")?;
        self.accelerator = self
            .accelerator
            .clone()
            .lazy()
            .filter(no_peak.not())
            .collect()
            .or_internal("catalog check")?;
        Ok(Some(format!(
            "--allow-stale: {message}; their rows were quarantined"
        )))
    }

    fn usage_until(&self, end_s: i64) -> Result<DataFrame> {
        self.accelerator
            .clone()
            .lazy()
            .filter(col("start_s").lt(lit(end_s)))
            .select(USAGE_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
            .with_column(col("row_id").cast(DataType::Int64))
            .collect()
            .or_internal("accelerator usage")
    }
}

fn input_error(bill: &Loaded, e: PolarsError) -> Error {
    let files: Vec<String> = bill.files.iter().map(|f| f.display.clone()).collect();
    Error::input(crate::error::Location::file(files.join(", ")), e)
}

/// The used rows of the CIP registry that the documents read after the queries.
struct Registry {
    customers: DataFrame,
    owners: DataFrame,
    access: DataFrame,
}

impl Registry {
    /// Fails closed when the newest record of the registry (an access, an opening, a verification)
    /// is older than `max_age_days` before the as-of date; with `--allow-stale` returns a warning.
    fn check_age(&self, plan: &Plan, as_of_day: i32) -> Result<Option<String>> {
        let newest = |df: &DataFrame, columns: &[&str]| -> Result<Option<i32>> {
            let exprs: Vec<Expr> = columns
                .iter()
                .map(|c| sources::columns::epoch_day(col(*c)).max())
                .collect();
            let row = df
                .clone()
                .lazy()
                .select([polars::lazy::dsl::max_horizontal(exprs)
                    .or_internal("registry age")?
                    .alias("d")])
                .collect()
                .or_internal("registry age")?;
            Ok(row
                .column("d")
                .ok()
                .and_then(|c| c.get(0).ok())
                .and_then(|v| v.extract::<i32>()))
        };
        let newest = [
            newest(&self.customers, &["opened_at", "verified_at"])?,
            newest(&self.access, &["accessed_at"])?,
        ]
        .into_iter()
        .flatten()
        .max();
        let age = newest.map(|d| as_of_day - d);
        let max = plan.registry_max_age_days;
        let stale = match age {
            Some(a) if a <= max => return Ok(None),
            Some(a) => format!("the CIP registry's newest record is {a} days older than the as-of date (max_age_days = {max})"),
            None => "the CIP registry holds no dated record, so its age is unknown".to_string(),
        };
        if plan.allow_stale {
            Ok(Some(format!("--allow-stale: {stale}")))
        } else {
            Err(Error::Reference(format!(
                "{stale}; refresh the registry export or run with --allow-stale"
            )))
        }
    }
}

/// Loads and splits the CIP registry and registers its tables for the queries.
fn load_registry(
    plan: &Plan,
    ctx: &mut SQLContext,
    counts: &mut BTreeMap<String, InputCount>,
    tables_out: &mut Vec<(String, DataFrame)>,
) -> Result<Registry> {
    let loaded = registry::load_customers(plan.inputs.customers.clone())?;
    let (customers, _) = register_split(&loaded, counts, tables_out)?;
    let customers = customers
        .lazy()
        .with_columns([
            day_of("opened_at", "opened_day"),
            day_of("verified_at", "verified_day"),
        ])
        .collect()
        .or_internal("customer days")?;
    ctx.register("customers", customers.clone().lazy());
    let loaded = registry::load_beneficial_owners(plan.inputs.beneficial_owners.clone())?;
    let (owners, owners_quarantined) = register_split(&loaded, counts, tables_out)?;
    ctx.register("beneficial_owners", owners.clone().lazy());
    let doubtful = owners_quarantined
        .lazy()
        .select([col("account_id")])
        .filter(col("account_id").is_not_null());
    ctx.register("quarantined_owner_accounts", doubtful);
    let loaded = registry::load_access_log(plan.inputs.access_log.clone())?;
    let (access, _) = register_split(&loaded, counts, tables_out)?;
    let loaded = registry::load_resellers(plan.inputs.resellers.clone())?;
    ctx.register(
        "resellers",
        register_split(&loaded, counts, tables_out)?.0.lazy(),
    );
    Ok(Registry {
        customers,
        owners,
        access,
    })
}

/// Splits a small input, records its counts and quarantine table; returns (used, quarantined).
fn register_split(
    loaded: &Loaded,
    counts: &mut BTreeMap<String, InputCount>,
    tables_out: &mut Vec<(String, DataFrame)>,
) -> Result<(DataFrame, DataFrame)> {
    let (used, quarantined) = quarantine::split(loaded)?;
    let read = (used.height() + quarantined.height()) as u64;
    counts.insert(
        loaded.name.to_string(),
        InputCount::from_quarantine(read, &quarantined)?,
    );
    tables_out.push((
        format!("quarantine/{}", loaded.name),
        quarantine::table(loaded, &quarantined)?,
    ));
    Ok((used, quarantined))
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

/// Flags with dates and timestamps in calendar form, the columns first, sorted by account.
fn present_flags(flags: DataFrame) -> Result<DataFrame> {
    let first = [
        "account_id",
        "is_foreign",
        "foreign_basis",
        "cip_status",
        "reseller_id",
        "accelerator_hours",
        "est_ops",
        "upper_ops",
        "peak_colocated_ops_per_s",
        "max_interconnect_gbps",
        "level",
        "reasons",
    ];
    let mut exprs: Vec<Expr> = first.iter().map(|c| col(*c)).collect();
    exprs.extend([
        as_date("knowledge_day"),
        as_date("report_due_day"),
        as_date("projected_crossing_day"),
    ]);
    let skip = [
        "knowledge_day",
        "report_due_day",
        "projected_crossing_day",
        "first_usage_s",
        "last_usage_s",
    ];
    let rest: Vec<String> = flags
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !first.contains(&c.as_str()) && !skip.contains(&c.as_str()))
        .collect();
    exprs.extend(rest.iter().map(|c| col(c.as_str())));
    exprs.extend([
        as_timestamp("first_usage_s", "first_usage"),
        as_timestamp("last_usage_s", "last_usage"),
    ]);
    let df = flags
        .lazy()
        .select(exprs)
        .sort(["account_id"], Default::default())
        .collect()
        .or_internal("flags table")?;
    tables::stable(df)
}

fn present_runs(runs: DataFrame) -> Result<DataFrame> {
    let df = runs
        .lazy()
        .sort(
            ["billing_account_id", "colocation_group", "run_seq"],
            Default::default(),
        )
        .select([
            col("billing_account_id").alias("account_id"),
            col("colocation_group"),
            col("run_seq").cast(DataType::Int64).alias("run"),
            as_timestamp("run_start_s", "start"),
            as_timestamp("run_end_s", "end"),
            col("ongoing"),
            col("training_like"),
            col("duration_hours"),
            col("accelerators"),
            col("instance_types"),
            col("peak_accelerators"),
            col("peak_ops_per_s"),
            col("max_interconnect_gbps"),
            col("accelerator_hours"),
            col("est_ops"),
            col("upper_ops"),
        ])
        .collect()
        .or_internal("training runs table")?;
    tables::stable(df)
}

fn count_levels(flags: &DataFrame) -> Result<BTreeMap<String, u64>> {
    let mut levels = BTreeMap::new();
    let col = flags
        .column("level")
        .and_then(|c| c.str().cloned())
        .or_internal("levels")?;
    for level in col.iter().flatten() {
        *levels.entry(level.to_string()).or_insert(0) += 1;
    }
    Ok(levels)
}

/// Writes every table (CSV and Parquet) and the manifest into staging, then publishes.
fn write(plan: &Plan, outcome: &Outcome, mut doc: serde_json::Value) -> Result<PathBuf> {
    let staging = Staging::begin(&plan.output_dir, &outcome.as_of.to_string())?;
    let mut expected = Vec::new();
    let mut outputs = serde_json::Map::new();
    for (stem, df) in &outcome.tables {
        let formats: &[&str] = if stem.starts_with("quarantine/") {
            &["csv"]
        } else {
            &["csv", "parquet"]
        };
        for ext in formats {
            let rel = format!("{stem}.{ext}");
            let path = staging.path(&rel)?;
            match *ext {
                "csv" => tables::write_csv(df, &path)?,
                _ => tables::write_parquet(df, &path)?,
            }
            let sha = crate::sources::files::sha256_bytes(
                &std::fs::read(&path).or_internal("hashing output")?,
            );
            outputs.insert(
                rel.clone(),
                serde_json::json!({ "rows": df.height(), "sha256": sha }),
            );
            expected.push(rel);
        }
    }
    for (rel, text) in &outcome.documents {
        tables::write_bytes(text.as_bytes(), &staging.path(rel)?)?;
        let sha = crate::sources::files::sha256_bytes(text.as_bytes());
        outputs.insert(rel.clone(), serde_json::json!({ "sha256": sha }));
        expected.push(rel.clone());
    }
    doc["outputs"] = serde_json::Value::Object(outputs);
    let text = serde_json::to_string_pretty(&doc).or_internal("manifest")? + "\n";
    tables::write_bytes(text.as_bytes(), &staging.path("manifest.json")?)?;
    expected.push("manifest.json".into());
    audit(&staging.dir, outcome, plan)?;
    staging.commit(&expected)
}

/// The audit before publishing: every staged CSV has as many rows as its table, every account that
/// needs a report draft has one, and the input counts reconcile (read = used + quarantined).
fn audit(dir: &std::path::Path, outcome: &Outcome, plan: &Plan) -> Result<()> {
    let fail = |what: String| {
        Err(Error::Internal(format!(
            "audit before publishing failed: {what}; nothing published"
        )))
    };
    for (stem, df) in &outcome.tables {
        let staged = CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(dir.join(format!("{stem}.csv"))))
            .and_then(|r| r.finish())
            .or_internal(format!("audit: reading back {stem}.csv"))?;
        if staged.height() != df.height() {
            return fail(format!(
                "{stem}.csv has {} rows, its table {}",
                staged.height(),
                df.height()
            ));
        }
    }
    let drafted: Vec<&str> = ["REPORTABLE", "WATCH"][..if plan.drafts == documents::Drafts::Watch {
        2
    } else {
        1
    }]
        .to_vec();
    let flags: Vec<documents::rows::FlagRow> =
        documents::records::records(&outcome.tables[0].1, "flags")?;
    for f in flags.iter().filter(|f| drafted.contains(&f.level.as_str())) {
        let stem = format!(
            "reports/{}/ai-training-report",
            documents::safe_name(&f.account_id)
        );
        for ext in ["md", "html", "json"] {
            if !dir.join(format!("{stem}.{ext}")).is_file() {
                return fail(format!("{stem}.{ext} was not rendered"));
            }
        }
    }
    for (name, c) in &outcome.counts {
        if c.rows_read != c.rows_used + c.rows_quarantined {
            return fail(format!(
                "{name}: {} read != {} used + {} quarantined",
                c.rows_read, c.rows_used, c.rows_quarantined
            ));
        }
    }
    Ok(())
}
