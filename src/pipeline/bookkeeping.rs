//! The topology's bookkeeping between stages: the run's outcome assembled from the stages'
//! results, its identity and run id, the documents' inputs, the manifest and the publication, and
//! the knowledge clock a filing run moves. Only wiring: each part's logic is in its stage.

use chrono::NaiveDate;
use polars::prelude::*;
use serde_json::{json, Value};

use super::{Outcome, PublishedTables};
use crate::config::catalog::Catalog;
use crate::documents::{self, DocInputs, Setting};
use crate::error::{Context, Result};
use crate::plan::Plan;
use crate::sinks::manifest::{
    self, AnswersRecord, CatalogRecord, ConfigRecord, FileHash, FileOrigin, FileRecord,
    InputRecord, Manifest, MappingOrigin, PreparedRecord, POLARS_VERSION,
};
use crate::sinks::output::Publication;
use crate::sources::files::InputFile;
use crate::state::history::Knowledge;
use crate::transforms::billed::Billing;
use crate::transforms::findings::Findings;
use crate::transforms::quarantine::Ledger;
use crate::transforms::registry::Registry;
use crate::transforms::rows::FlagRow;
use crate::transforms::{QueryInputs, QueryResults};

/// Counts the identified accelerator usage rows charged after the as-of date: of the
/// `accelerator_rows` billing rows identified, those left out of `usage` (whose `source_rows` say
/// how many billing rows each row merges).
pub fn exclude_after_as_of(
    accelerator_rows: i64,
    usage: &LazyFrame,
    ledger: &mut Ledger,
) -> Result<()> {
    let kept = crate::transforms::billed::accelerator_rows(usage)?;
    ledger.exclude(
        "billing",
        "accelerator usage rows",
        "charged after the as-of date".into(),
        (accelerator_rows - kept).max(0) as u64,
    );
    Ok(())
}

/// The tables the queries read, from the stages before them ([`crate::transforms::QueryInputs`]).
#[allow(clippy::too_many_arguments)]
pub fn query_inputs(
    usage: LazyFrame,
    egress: &DataFrame,
    telemetry: DataFrame,
    registry: &Registry,
    entity_members: &DataFrame,
    prior_knowledge: DataFrame,
    screening_candidates: &DataFrame,
    params: DataFrame,
) -> QueryInputs {
    let r = registry.for_queries.clone();
    QueryInputs {
        accelerator_usage: usage,
        account_egress: egress.clone().lazy(),
        telemetry: telemetry.lazy(),
        customers: r.customers,
        beneficial_owners: r.beneficial_owners,
        quarantined_customer_accounts: r.quarantined_customer_accounts,
        quarantined_owner_accounts: r.quarantined_owner_accounts,
        access_log: r.access_log,
        resellers: r.resellers,
        entity_members: entity_members.clone().lazy(),
        prior_knowledge: prior_knowledge.lazy(),
        screening_candidates: screening_candidates.clone().lazy(),
        params: params.lazy(),
    }
}

/// The outcome of the stages up to the findings (documents, run id and publication come later).
pub fn outcome(
    billing: Billing,
    found: Findings,
    usage_by_type: DataFrame,
    entities: DataFrame,
    ledger: Ledger,
) -> Outcome {
    let tables = PublishedTables {
        flags: found.flags,
        training_runs: found.runs,
        usage_by_type,
        entities,
        screening: None,
        quarantine: ledger.quarantine,
    };
    Outcome {
        as_of: billing.as_of,
        as_of_source: billing.as_of_source.to_string(),
        counts: ledger.counts,
        levels: found.levels,
        tables,
        warnings: Vec::new(),
        catalog_gaps: billing.catalog_gaps,
        knowledge_moved: Vec::new(),
        deadlines_changed: Vec::new(),
        run_id: String::new(),
        flag_rows: found.flag_rows,
        billing_totals: billing.totals,
        billing_formats: billing.formats,
        excluded: ledger.excluded,
        documents: Vec::new(),
        pdfs: Vec::new(),
        unmatched_answers: Vec::new(),
        screening: None,
        published: None,
    }
}

/// The screening stage's result into the outcome: its warning (`--allow-stale`), and
/// `screening.csv` published after `entities` with its manifest record.
pub fn screening(outcome: &mut Outcome, screened: crate::transforms::screening::Screened) {
    outcome.warnings.extend(screened.warning);
    if let (Some(table), Some(record)) = (screened.table, screened.record) {
        outcome.tables.screening = Some(table);
        outcome.screening = Some(record);
    }
}

/// Counsel's answers that reach no document, most likely because an account id is misspelt: each
/// answers file named for no account with accelerator use in this run (the flags' accounts), as
/// its file name, and each certification resolution for no failed verification of the period, as
/// `certification.toml resolutions.<account id>`. Logged as a count (logs hold no customer values)
/// and listed in the manifest (`answers.unmatched`).
///
/// Errors: internal when the failed verifications' table lacks its columns.
pub fn unmatched_answers(
    plan: &Plan,
    flags: &[FlagRow],
    results: &QueryResults,
) -> Result<Vec<String>> {
    let known: std::collections::HashSet<String> = flags
        .iter()
        .flat_map(|f| [f.account_id.clone(), documents::answers_name(&f.account_id)])
        .collect();
    let failed = documents::certification::failed_accounts(results)?;
    let mut unmatched: Vec<String> = plan
        .answers
        .orphans(|account| known.contains(account))
        .into_iter()
        .map(|account| format!("{account}.toml"))
        .collect();
    unmatched.extend(
        plan.answers
            .certification
            .resolutions
            .keys()
            .filter(|account| !failed.contains(account.as_str()))
            .map(|account| format!("certification.toml resolutions.{account}")),
    );
    if !unmatched.is_empty() {
        tracing::warn!(
            stage = "documents",
            answers = unmatched.len(),
            "answers name no account of this run (answers file) or no failed verification of the period (resolution), so no document shows them (manifest: answers.unmatched)"
        );
    }
    Ok(unmatched)
}

/// Renders every document of the run, and with `--pdf` prints the HTML ones (logs one event).
pub fn documents(
    plan: &Plan,
    outcome: &Outcome,
    registry: &Registry,
    results: &QueryResults,
    knowledge: &Knowledge,
) -> Result<documents::Rendered> {
    let setting = Setting {
        provider: &plan.provider,
        profile: &plan.profile,
        scenario: plan.scenario.as_deref(),
        rule_deviations: &plan.rule_deviations,
    };
    let as_of = outcome.as_of.to_string();
    let common = documents::common(
        &setting,
        &as_of,
        &outcome.run_id,
        &outcome.warnings,
        &outcome.catalog_gaps,
    );
    // A backfill shows the filings known on its as-of date, not later ones.
    let filed = plan.filings.as_of(Some(outcome.as_of));
    let inputs = DocInputs {
        flags: &outcome.flag_rows,
        runs: &outcome.tables.training_runs,
        customers: &registry.customers,
        owners: &registry.owners,
        access: &registry.access,
        results,
        counts: &outcome.counts,
        answers: &plan.answers,
        filings: &filed,
        first_runs: knowledge.first_runs(),
        screening: outcome.tables.screening.as_ref(),
    };
    let root = plan.publish_root();
    let extras = documents::Extras {
        filing_copy: plan.filing_copy,
        pdf: plan.pdf.then_some(root.as_path()),
    };
    let rendered =
        documents::render_outputs(&plan.templates, &common, &inputs, plan.drafts, extras)?;
    tracing::info!(
        stage = "documents",
        documents = rendered.0.len() + rendered.1.len(),
        "documents rendered"
    );
    Ok(rendered)
}

/// What the publishing sink writes, and where.
pub fn publication<'a>(root: &'a std::path::Path, outcome: &'a Outcome) -> Publication<'a> {
    Publication {
        root,
        name: outcome.as_of.to_string(),
        tables: outcome.tables.outputs(),
        documents: &outcome.documents,
        pdfs: &outcome.pdfs,
        counts: &outcome.counts,
    }
}

/// After a filing run is published, the knowledge dates of its REPORTABLE accounts are recorded;
/// a scenario never moves the filing run's knowledge clock.
pub fn knowledge(plan: &Plan, knowledge: &Knowledge, outcome: &Outcome) -> Result<()> {
    crate::sinks::publish::pause_at("published");
    if plan.scenario.is_none() {
        knowledge.record(
            &plan.output_dir,
            &reportable(&outcome.flag_rows),
            &outcome.run_id,
        )?;
    }
    crate::sinks::publish::pause_at("knowledge_saved");
    tracing::info!(
        stage = "publish",
        files = outcome.documents.len()
            + outcome.pdfs.len()
            + outcome
                .tables
                .outputs()
                .iter()
                .map(|t| t.formats().len())
                .sum::<usize>(),
        "published"
    );
    Ok(())
}

/// The changes a filing run makes to what counsel relies on, set on `outcome` for the manifest
/// and logged as warnings (counts only; the manifest holds the masked ids): knowledge dates moved
/// earlier (a filing run dated before the one that recorded them, `run --filing`), and due dates
/// that differ from those of the folder this run republishes.
pub fn clock_changes(plan: &Plan, knowledge: &Knowledge, outcome: &mut Outcome) -> Result<()> {
    if plan.scenario.is_some() {
        return Ok(());
    }
    outcome.knowledge_moved = knowledge.moved_earlier(&reportable(&outcome.flag_rows));
    if !outcome.knowledge_moved.is_empty() {
        tracing::warn!(
            stage = "publish",
            accounts = outcome.knowledge_moved.len(),
            "KNOWLEDGE DATE MOVED EARLIER by a filing run dated before the one that recorded it: the due dates move earlier too (see the manifest's knowledge_moved)"
        );
    }
    let previous = plan.publish_root().join(outcome.as_of.to_string());
    outcome.deadlines_changed = deadline_changes(&previous, &outcome.flag_rows)?;
    if !outcome.deadlines_changed.is_empty() {
        tracing::warn!(
            stage = "publish",
            accounts = outcome.deadlines_changed.len(),
            "this run republishes its as-of date with other due dates than the folder it replaces (see the manifest's deadlines_changed)"
        );
    }
    Ok(())
}

/// The due date a published `flags` table gave an account (its other columns are not read, so a
/// folder published by an older version compares too).
#[derive(serde::Deserialize)]
struct PublishedDue {
    account_id: String,
    report_due_date: Option<String>,
}

/// Where the due dates of `flags` differ from those of the `flags` table published in the run
/// folder `previous` (none when it holds none), as `masked id: old -> new` (`none` for no due
/// date).
///
/// Errors: usage (exit 2) when that table is not one cipwatch wrote (the folder was edited): the
/// message says to move the folder aside.
fn deadline_changes(previous: &std::path::Path, flags: &[FlagRow]) -> Result<Vec<String>> {
    if !previous.join("flags.parquet").is_file() {
        return Ok(Vec::new());
    }
    let before: std::collections::BTreeMap<String, Option<String>> =
        crate::state::published::table::<PublishedDue>(previous, "flags")
            .map_err(|e| {
                crate::error::Error::Usage(format!(
                    "{e}; this run would replace that folder: move it aside, then run again"
                ))
            })?
            .into_iter()
            .map(|d| (d.account_id, d.report_due_date))
            .collect();
    let shown = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".into());
    Ok(flags
        .iter()
        .filter_map(|f| {
            let id = crate::pii::redact(&f.account_id).into_owned();
            let old = before.get(&id).cloned().flatten();
            (old != f.report_due_date)
                .then(|| format!("{id}: {} -> {}", shown(&old), shown(&f.report_due_date)))
        })
        .collect())
}

/// (account, first-flagged date) of the REPORTABLE accounts: the screening's clock, which
/// counsel's adopted knowledge dates do not move.
fn reportable(flags: &[FlagRow]) -> Vec<(String, String)> {
    flags
        .iter()
        .filter(|f| f.level == "REPORTABLE")
        .filter_map(|f| {
            f.first_flagged_date
                .clone()
                .map(|d| (f.account_id.clone(), d))
        })
        .collect()
}

/// The run id of a plan's run on an as-of date ([`manifest::run_id`] of [`identity`]).
pub fn run_id(plan: &Plan, catalog: &Catalog, as_of: NaiveDate, facts: &RunFacts) -> String {
    let mut identity = identity(plan, catalog, &as_of.to_string());
    identity["earlier_knowledge"] = json!(facts.earlier_knowledge);
    if !facts.prepared_tables.is_empty() {
        identity["prepared_tables"] = json!(facts.prepared_tables);
    }
    manifest::run_id(&identity)
}

/// What a run's identity takes from the run itself, beyond the plan: the knowledge dates earlier
/// runs recorded ([`earlier_knowledge`]) and, for a run from a prepared dataset, its parts' table
/// hashes (absent from a single run's identity, so both share an id when nothing was changed).
pub struct RunFacts {
    pub earlier_knowledge: String,
    pub prepared_tables: Vec<String>,
}

/// The knowledge dates earlier filing runs recorded before `as_of_day` for this run's accounts,
/// as text (`account:day` lines, sorted): they change the documents' due dates, so they are part
/// of the run's identity. A date this run records itself (the as-of day) is not, so a rerun keeps
/// its id.
pub fn earlier_knowledge(prior: &DataFrame, as_of_day: i32) -> Result<String> {
    let earlier = prior
        .clone()
        .lazy()
        .filter(col("knowledge_day").lt(lit(as_of_day as i64)))
        .sort(["account_id"], Default::default())
        .collect()
        .or_internal("prior knowledge")?;
    let ids = earlier.column("account_id").and_then(|c| c.str().cloned());
    let days = earlier
        .column("knowledge_day")
        .and_then(|c| c.i64().cloned());
    let (Ok(ids), Ok(days)) = (ids, days) else {
        return Ok(String::new());
    };
    Ok(ids
        .iter()
        .zip(days.iter())
        .map(|(a, d)| format!("{}:{}", a.unwrap_or_default(), d.unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// What makes a run the run it is: versions, as-of date, input contents, effective parameter
/// values, catalog, queries, templates, mappings, answers, the configuration's non-path settings and
/// the link key's fingerprint, and the filings the documents mention. No paths, no sources of
/// values, nothing about the invocation.
pub fn identity(plan: &Plan, catalog: &Catalog, as_of: &str) -> Value {
    let inputs: serde_json::Map<String, Value> = plan
        .inputs
        .named()
        .into_iter()
        .map(|(name, files)| {
            let mut hashes: Vec<&str> = files.iter().map(|f| f.sha256.as_str()).collect();
            hashes.sort();
            (name.to_string(), json!(hashes))
        })
        .collect();
    let mut identity = json!({
        "cipwatch_version": env!("CARGO_PKG_VERSION"),
        "polars_version": POLARS_VERSION,
        "as_of": as_of,
        "inputs": inputs,
        "profile": { "name": plan.profile.info.name, "version": plan.profile.info.version },
        "parameters": plan.profile.params,
        "catalog": catalog.files,
        "queries": plan.queries.queries.iter().map(|q| &q.sha256).collect::<Vec<_>>(),
        "templates": plan.templates.hashes,
        "mappings": plan.mappings.hashes,
        "answers": plan.answers.hashes(),
        "filed": plan.filings.as_of(crate::config::iso_date(as_of)).records().map(|f| (&f.account_id, &f.reference, &f.filed_on, &f.run_id)).collect::<Vec<_>>(),
        "provider": plan.provider,
        "billing": plan.billing,
        "billing_format": plan.billing_format,
        "registry_max_age_days": plan.registry_max_age_days,
        "link_key": plan.link_key.info.fingerprint,
        "allow_stale": plan.allow_stale,
        "drafts": format!("{:?}", plan.drafts),
    });
    if let Some(s) = &plan.screening {
        identity["screening"] = json!({
            "files": s.files.iter().map(|f| &f.sha256).collect::<Vec<_>>(),
            "downloaded_on": s.downloaded_on.map(|d| d.to_string()),
            "max_age_days": s.max_age_days,
            "min_score": s.min_score,
        });
    }
    identity
}

/// The manifest of a run, from the plan, the catalog and the outcome (outputs are added by the
/// publishing sink).
pub fn manifest(plan: &Plan, catalog: &Catalog, outcome: &Outcome) -> Manifest {
    Manifest {
        cipwatch_version: env!("CARGO_PKG_VERSION"),
        polars_version: POLARS_VERSION,
        run_id: outcome.run_id.clone(),
        as_of: outcome.as_of.to_string(),
        as_of_source: outcome.as_of_source.clone(),
        config: ConfigRecord {
            source: plan.config_source.short(),
            sha256: plan.config_sha256.clone(),
        },
        scenario: plan.scenario.clone(),
        not_assessed_under_rule_thresholds: plan.rule_deviations.clone(),
        provider: plan.provider.clone(),
        profile: plan.profile.info.clone(),
        parameters: plan.profile.provenance.clone(),
        catalog: CatalogRecord {
            origin: catalog.origin.clone(),
            files: catalog
                .files
                .iter()
                .map(|(file, sha256)| FileHash {
                    file: file.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
        },
        queries: plan
            .queries
            .queries
            .iter()
            .map(|q| FileOrigin {
                file: q.file_name(),
                origin: origin(plan, &q.origin),
                sha256: q.sha256.clone(),
            })
            .collect(),
        templates: plan
            .templates
            .origins
            .iter()
            .zip(&plan.templates.hashes)
            .map(|((n, o), (_, h))| FileOrigin {
                file: n.clone(),
                origin: origin(plan, o),
                sha256: h.clone(),
            })
            .collect(),
        mappings: plan
            .mappings
            .list
            .iter()
            .zip(&plan.mappings.hashes)
            .map(|((_, o), (n, h))| MappingOrigin {
                format: n.clone(),
                origin: origin(plan, o),
                sha256: h.clone(),
            })
            .collect(),
        answers: AnswersRecord {
            dir: plan.relative(&plan.answers.dir.display().to_string()),
            files: plan.answers.hashes(),
            unmatched: outcome.unmatched_answers.clone(),
        },
        inputs: inputs(plan, outcome),
        prepared: plan.prepared.as_ref().map(|dir| PreparedRecord {
            dir: plan.relative(&dir.display().to_string()),
            contract_version: crate::sources::prepared_dataset::VERSION,
        }),
        screening: outcome.screening.clone(),
        levels: outcome.levels.clone(),
        link_key: plan.link_key.info.clone(),
        report_folders: report_folders(plan, outcome),
        allow_stale: plan.allow_stale,
        warnings: outcome.warnings.clone(),
        catalog_gaps: outcome.catalog_gaps.clone(),
        knowledge_moved: outcome.knowledge_moved.clone(),
        deadlines_changed: outcome.deadlines_changed.clone(),
        excluded: outcome.excluded.clone(),
        outputs: Vec::new(),
    }
}

/// Each input's files and counts, in the order the run reads them.
fn inputs(plan: &Plan, outcome: &Outcome) -> Vec<(String, InputRecord)> {
    let files = |list: &[InputFile]| -> Vec<FileRecord> {
        list.iter()
            .map(|f| FileRecord {
                path: plan.relative(&f.path.display().to_string()),
                sha256: f.sha256.clone(),
                bytes: f.bytes,
            })
            .collect()
    };
    plan.inputs
        .named()
        .into_iter()
        .map(|(name, list)| {
            let billing = name == "billing";
            let record = InputRecord {
                files: files(list),
                rows: outcome.counts.get(name).cloned(),
                formats: billing.then(|| outcome.billing_formats.clone()),
                totals_by_currency: billing.then(|| outcome.billing_totals.clone()),
            };
            (name.to_string(), record)
        })
        .collect()
}

/// Account (masked by value) → `reports/<folder>` of every account with a report draft (folder
/// names are sanitised and may carry a hash, so the mapping is kept).
fn report_folders(plan: &Plan, outcome: &Outcome) -> Vec<(String, String)> {
    documents::drafted(&outcome.flag_rows, plan.drafts)
        .into_iter()
        .map(|f| {
            let folder = documents::report_folder(&f.account_id);
            (
                crate::pii::redact(&f.account_id).into_owned(),
                format!("reports/{folder}"),
            )
        })
        .collect()
}

/// An override's origin relative to the configuration (`embedded` stays).
fn origin(plan: &Plan, origin: &str) -> String {
    match origin {
        "embedded" => origin.to_string(),
        path => plan.relative(path),
    }
}
