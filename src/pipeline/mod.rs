//! The run as a list of stages, wired here and nowhere else (the topology): catalog → billing →
//! telemetry → CIP registry → entities → queries → findings → documents → manifest → publish. Each
//! stage lives in its folder (`sources/`, `transforms/`, `documents/`, `sinks/`), takes typed
//! values, returns a typed value and logs one event with its counts; what it leaves out goes into
//! the run's [`Ledger`] with a reason. `validate` runs the same stages and stops before publishing,
//! so whatever `validate` accepts, `run` accepts.

mod bookkeeping;

use chrono::NaiveDate;
use polars::prelude::*;
use polars::sql::SQLContext;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::calendar::days_since_epoch;
use crate::config::catalog;
use crate::error::Result;
use crate::plan::{Plan, Stage1Plan};
use crate::progress::Progress;
use crate::sinks::output::{self, OutputTable};
use crate::sources::prepared_dataset;
use crate::state::history;
use crate::transforms::billed::{self, BillingInput};
use crate::transforms::quarantine::{Excluded, InputCount, Ledger, QuarantineTable};
use crate::transforms::registry::{self, AgeLimit};
use crate::transforms::rows::FlagRow;
use crate::transforms::{self, entities, findings, telemetry, CertificationPeriod, RunValues};

/// What a run found, for the summary line, the manifest, `explain` and the tests.
pub struct Outcome {
    pub as_of: NaiveDate,
    /// `--as-of`, or `latest charge date in billing`.
    pub as_of_source: String,
    /// Input name → counts (read = used + quarantined).
    pub counts: BTreeMap<String, InputCount>,
    /// Level → number of accounts.
    pub levels: BTreeMap<String, u64>,
    /// The tables it publishes.
    pub tables: PublishedTables,
    /// Why this run's results are qualified (`--allow-stale` let a stale input through).
    pub warnings: Vec<String>,
    /// Instance types estimated at the catalog-gap bound (`billed::catalog_gap_bound`): the run
    /// publishes, then ends with exit 4 so the operator adds the figures.
    pub catalog_gaps: Vec<String>,
    /// Knowledge dates this filing run moves earlier (`bookkeeping::clock_changes`; a run that
    /// publishes only).
    pub knowledge_moved: Vec<String>,
    /// Due dates that differ from those of the folder this run republishes.
    pub deadlines_changed: Vec<String>,
    pub run_id: String,
    /// The flags table as typed rows, parsed once for documents, audit and `explain`.
    pub flag_rows: Vec<FlagRow>,
    /// Per currency: rows, billed cost and quantity of all billing rows read (reconciliation).
    pub billing_totals: Vec<serde_json::Value>,
    /// The format each billing file was read as.
    pub billing_formats: BTreeMap<String, String>,
    /// Rows and values stages left out on purpose, with the reason.
    pub excluded: Vec<Excluded>,
    /// Rendered documents by relative path.
    pub documents: Vec<(String, String)>,
    /// The PDF documents by relative path (`--pdf`).
    pub pdfs: Vec<(String, Vec<u8>)>,
    /// Counsel's answers no document shows ([`bookkeeping::unmatched_answers`]).
    pub unmatched_answers: Vec<String>,
    /// The sanctions screening's manifest record (its table is `tables.screening`); none without
    /// `[screening]`.
    pub screening: Option<crate::transforms::screening::ScreeningRecord>,
    pub published: Option<PathBuf>,
}

/// The tables a run publishes, each as CSV and Parquet but the quarantine tables (CSV).
pub struct PublishedTables {
    /// One row per account with accelerator use (`rows::FLAGS`).
    pub flags: DataFrame,
    /// One row per run segment (`rows::TRAINING_RUNS`).
    pub training_runs: DataFrame,
    /// Per account and instance type (`rows::USAGE_BY_TYPE`).
    pub usage_by_type: DataFrame,
    /// Each entity of linked accounts and its link evidence (`rows::ENTITIES`).
    pub entities: DataFrame,
    /// The sanctions screening's candidates (with `[screening]`, `rows::SCREENING`).
    pub screening: Option<DataFrame>,
    /// Each input's quarantined rows, in the order the inputs are read.
    pub quarantine: Vec<QuarantineTable>,
}

impl PublishedTables {
    /// The tables in the manifest's order, each with its path stem in the run folder.
    pub fn outputs(&self) -> Vec<OutputTable<'_>> {
        use crate::transforms::rows::{ENTITIES, FLAGS, SCREENING, TRAINING_RUNS, USAGE_BY_TYPE};
        let named = [
            (FLAGS.name, Some(&self.flags)),
            (TRAINING_RUNS.name, Some(&self.training_runs)),
            (USAGE_BY_TYPE.name, Some(&self.usage_by_type)),
            (ENTITIES.name, Some(&self.entities)),
            (SCREENING.name, self.screening.as_ref()),
        ];
        let tables = named.into_iter().filter_map(|(stem, rows)| {
            rows.map(|rows| OutputTable {
                stem: stem.to_string(),
                rows,
                parquet: true,
            })
        });
        let quarantine = self.quarantine.iter().map(|q| OutputTable {
            stem: format!("quarantine/{}", q.input),
            rows: &q.rows,
            parquet: false,
        });
        tables.chain(quarantine).collect()
    }
}

impl Outcome {
    /// The exit code of a run that published: 0, or 4 (reference data missing) when some
    /// accelerator was estimated at the catalog-gap bound and `--allow-stale` did not accept it,
    /// so a scheduler sees that the catalog needs a figure although every account was published.
    pub fn exit_code(&self, allow_stale: bool) -> i32 {
        match self.catalog_gaps.is_empty() || allow_stale {
            true => crate::error::EXIT_OK,
            false => crate::error::EXIT_REFERENCE,
        }
    }

    /// The operator's message for a catalog gap (`None` without one).
    pub fn catalog_gap_message(&self) -> Option<String> {
        (!self.catalog_gaps.is_empty()).then(|| {
            format!(
                "the catalog has no peak op/s at the profile's precision for {}: estimated at the conservative bound and published, those accounts marked CATALOG_GAP; add the figures to the catalog ([inputs] catalog)",
                self.catalog_gaps.join(", ")
            )
        })
    }

    /// The one line `run` prints: as-of date, run id, accounts per level, quarantined rows and
    /// where the run was published.
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

/// The billing stage, from the billing files or from the prepared dataset (`--prepared`), with
/// the prepared parts' table hashes (none from files).
fn billing_stage(
    plan: &Plan,
    catalog: &catalog::Catalog,
    publish: bool,
    ledger: &mut Ledger,
) -> Result<(billed::Billing, Vec<String>)> {
    let input = billing_input(plan, catalog, publish);
    match plan.prepared.as_deref() {
        Some(dir) => {
            let parts = prepared_dataset::read(dir)?;
            let billing = billed::stage_prepared(&input, &parts, ledger)?;
            Ok((billing, billed::parts::table_hashes(&parts)))
        }
        None => Ok((billed::stage(&input, ledger)?, Vec::new())),
    }
}

/// Runs the pipeline; publishes the outputs when `publish` is set (the caller holds the lock).
///
/// Errors: as each stage's (usage or config 2, input 3, reference data 4, internal 1).
pub fn run(plan: &Plan, publish: bool, progress: &Progress) -> Result<Outcome> {
    let p = &plan.profile.params;
    let mut ledger = Ledger::default();
    let mut ctx = SQLContext::new();
    progress.stage("catalog");
    let catalog = load_catalog(plan.catalog_dir.as_deref(), p)?;
    progress.stage("billing");
    let (billing, part_tables) = billing_stage(plan, &catalog, publish, &mut ledger)?;
    let run = RunValues::of(billing.as_of, &certification_period(plan, billing.as_of)?);
    let accelerator_rows = billing.rows.accelerator_rows()?;
    // From here on the usage up to the as-of date stands for it (a scan of its staged files).
    let usage = billing.rows.usage_until(run.as_of_end_s);
    bookkeeping::exclude_after_as_of(accelerator_rows, &usage, &mut ledger)?;
    let identified = findings::accelerator_hours(&usage, "usage")?;
    let samples = findings::sample_rows(&usage)?;
    progress.stage("telemetry");
    let telemetry = telemetry::stage(&plan.inputs.telemetry, run.as_of_end_s, &mut ledger)?;
    progress.stage("registry");
    let registry = registry::stage(&plan.inputs.registry(), &mut ledger)?;
    let stale_registry = registry.check_age(&age_limit(plan), run.as_of_day)?;
    progress.stage("screening");
    let screened = transforms::screening::stage(
        plan.screening.as_ref(),
        &registry,
        run.as_of_day,
        plan.allow_stale,
    )?;
    progress.stage("entities");
    let links = entities::stage(
        &registry.entity_inputs(&usage),
        p,
        &plan.link_key,
        &mut ledger,
    )?;
    progress.stage("queries");
    let knowledge = history::Knowledge::load(&plan.output_dir, p)?;
    let prior_knowledge = knowledge.prior_table(
        run.as_of_day,
        &links.members,
        &plan.answers.knowledge_dates(),
    )?;
    let prior_fingerprint = bookkeeping::earlier_knowledge(&prior_knowledge, run.as_of_day)?;
    bookkeeping::query_inputs(
        usage,
        &billing.rows.egress,
        telemetry,
        &registry,
        &links.members,
        prior_knowledge,
        &screened.candidates,
        transforms::params_table(p, &run)?,
    )
    .register(&mut ctx);
    // The large query results are written here and read until the documents are made.
    let staging = billing.rows.staging.clone();
    let results = transforms::run_all(&mut ctx, &plan.queries, Some(staging.folder()))?;
    let found = findings::stage(&results, identified, plan.queries.queries.len())?;
    let by_type = findings::usage_by_type(&results.usage_slots, samples)?;
    let mut outcome = bookkeeping::outcome(billing, found, by_type, links.entities, ledger);
    outcome.warnings.extend(stale_registry);
    bookkeeping::screening(&mut outcome, screened);
    outcome.unmatched_answers = bookkeeping::unmatched_answers(plan, &outcome.flag_rows, &results)?;
    outcome.run_id = bookkeeping::run_id(
        plan,
        &catalog,
        outcome.as_of,
        &bookkeeping::RunFacts {
            earlier_knowledge: prior_fingerprint,
            prepared_tables: part_tables,
        },
    );
    if publish {
        bookkeeping::clock_changes(plan, &knowledge, &mut outcome)?;
    }
    progress.stage("documents");
    (outcome.documents, outcome.pdfs) =
        bookkeeping::documents(plan, &outcome, &registry, &results, &knowledge)?;
    if publish {
        progress.stage("publish");
        let manifest = bookkeeping::manifest(plan, &catalog, &outcome);
        outcome.published = Some(output::publish(
            &bookkeeping::publication(&plan.publish_root(), &outcome),
            manifest,
        )?);
        bookkeeping::knowledge(plan, &knowledge, &outcome)?;
    }
    progress.finish();
    Ok(outcome)
}

/// What `cipwatch stage1` wrote: the part's folder and its counts.
pub struct Stage1Outcome {
    pub part: PathBuf,
    pub files: usize,
    pub rows_read: u64,
    pub rows_quarantined: usize,
    pub accelerator_rows: i64,
}

/// Stage 1 alone (`cipwatch stage1`): the catalog, one streaming pass over the plan's billing
/// files, and the result written as one part of the prepared dataset in `dir` (the only part when
/// `only`). Stage 2 (`run --prepared`) takes it from there.
///
/// Errors: as the billing stage's (input 3, reference 4); writing the part (internal 1).
pub fn stage1(plan: &Stage1Plan, dir: &std::path::Path, only: bool) -> Result<Stage1Outcome> {
    let catalog = load_catalog(plan.catalog_dir.as_deref(), &plan.profile.params)?;
    let input = stage1_input(plan, &catalog);
    let bill = billed::load(&input)?;
    let scanned = billed::Scanned::collect(&bill, &catalog, &plan.billing, None)?;
    let table = transforms::quarantine::table(&bill, &scanned.quarantined)?;
    let manifest = billed::parts::manifest(&input, &bill.files, &bill.formats, scanned.rows_read);
    let name = billed::parts::part_name(&manifest.files);
    let outcome = Stage1Outcome {
        part: PathBuf::new(),
        files: bill.files.len(),
        rows_read: scanned.rows_read,
        rows_quarantined: scanned.quarantined.height(),
        accelerator_rows: billed::accelerator_rows(&scanned.accelerator)?,
    };
    let mut tables = scanned.part_tables(table)?;
    let part = crate::sinks::prepared_part::write_part(dir, &name, &manifest, &mut tables, only)?;
    tracing::info!(
        stage = "stage1",
        files = outcome.files,
        rows_read = outcome.rows_read,
        rows_quarantined = outcome.rows_quarantined,
        accelerator_rows = outcome.accelerator_rows,
        "prepared part written"
    );
    Ok(Stage1Outcome { part, ..outcome })
}

/// The catalog of `dir` (or the embedded one) with the peak figures at the profile's precision.
pub fn load_catalog(
    dir: Option<&std::path::Path>,
    p: &crate::config::profile::Params,
) -> Result<catalog::Catalog> {
    catalog::load(dir, &p.peak_precision, &p.peak_precision_fallback)
}

/// What stage 1 alone is given: the stage 1 plan's files and definitions (no as-of date: stage 2
/// takes it; the catalog-gap bound is stage 2's).
pub fn stage1_input<'a>(plan: &'a Stage1Plan, catalog: &'a catalog::Catalog) -> BillingInput<'a> {
    BillingInput {
        files: &plan.billing_files,
        options: &plan.billing,
        mappings: &plan.mappings,
        format: plan.billing_format.as_deref(),
        catalog,
        as_of: None,
        scratch: None,
    }
}

fn billing_input<'a>(
    plan: &'a Plan,
    catalog: &'a catalog::Catalog,
    publish: bool,
) -> BillingInput<'a> {
    BillingInput {
        files: &plan.inputs.billing,
        options: &plan.billing,
        mappings: &plan.mappings,
        format: plan.billing_format.as_deref(),
        catalog,
        as_of: plan.as_of,
        // Only a publishing run holds the output folder's lock (and sweeps dead runs' folders).
        scratch: publish.then_some(plan.output_dir.as_path()),
    }
}

fn age_limit(plan: &Plan) -> AgeLimit {
    AgeLimit {
        exported_at: plan.registry_exported_at,
        max_age_days: plan.registry_max_age_days,
        allow_stale: plan.allow_stale,
    }
}

/// The certification period of a run as of `as_of`: from the day after counsel's last
/// certification, else the profile's period. Errors as [`CertificationPeriod::of`].
pub fn certification_period(plan: &Plan, as_of: NaiveDate) -> Result<CertificationPeriod> {
    CertificationPeriod::of(
        as_of,
        plan.profile.params.certification_period_days,
        plan.answers.certification.last_certification(),
    )
}

impl RunValues {
    /// The run values of an as-of date and its certification period.
    pub fn of(as_of: NaiveDate, period: &CertificationPeriod) -> RunValues {
        let day = days_since_epoch(as_of);
        RunValues {
            as_of_day: day,
            as_of_end_s: (day as i64 + 1) * 86_400,
            certification_from_day: days_since_epoch(period.from),
        }
    }
}
