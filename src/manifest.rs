//! The run manifest: everything needed to know what a run saw and decided, and to recognise an
//! identical rerun: inputs with SHA-256 and row counts (read = used + quarantined), the profile and
//! every effective parameter with its source, catalog and query fingerprints, versions, as-of date,
//! and the report folder of each account with a report draft (`report_folders`). No wall-clock
//! time, and paths relative to the configuration file. The run id is the hash of the run's
//! *identity* only (contents, effective values, answers, version), never of paths or of how the run
//! was invoked, so a plain run and a backfill of the same day share it.

use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::pipeline::Outcome;
use crate::plan::Plan;
use crate::sources::files::{sha256_bytes, InputFile};

/// The Polars version cipwatch is built against (pinned exactly in Cargo.toml; a test checks).
pub const POLARS_VERSION: &str = "0.55.2";

pub fn build(plan: &Plan, catalog: &Catalog, outcome: &Outcome) -> Value {
    let files = |list: &[InputFile]| -> Value {
        list.iter()
            .map(|f| json!({ "path": plan.relative(&f.path.display().to_string()), "sha256": f.sha256, "bytes": f.bytes }))
            .collect()
    };
    let mut inputs = serde_json::Map::new();
    for (name, list) in plan.inputs.named() {
        let mut entry = json!({ "files": files(list) });
        if let Some(count) = outcome.counts.get(name) {
            entry["rows"] = serde_json::to_value(count).unwrap_or(Value::Null);
        }
        if name == "billing" {
            entry["formats"] = json!(outcome.billing_formats);
            entry["totals_by_currency"] = json!(outcome.billing_totals);
        }
        inputs.insert(name.to_string(), entry);
    }
    json!({
        "cipwatch_version": env!("CARGO_PKG_VERSION"),
        "polars_version": POLARS_VERSION,
        "run_id": "",
        "as_of": outcome.as_of.to_string(),
        "as_of_source": outcome.as_of_source,
        "config": { "source": plan.config_source.short(), "sha256": plan.config_sha256 },
        "scenario": plan.scenario,
        "not_assessed_under_rule_thresholds": plan.rule_deviations,
        "provider": plan.provider,
        "profile": plan.profile.info,
        "parameters": plan.profile.provenance,
        "catalog": { "origin": catalog.origin, "files": catalog.files.iter().map(|(n, h)| json!({"file": n, "sha256": h})).collect::<Vec<_>>() },
        "queries": plan.queries.queries.iter().map(|q| json!({"file": q.file_name(), "origin": origin(plan, &q.origin), "sha256": q.sha256})).collect::<Vec<_>>(),
        "templates": plan.templates.origins.iter().zip(&plan.templates.hashes).map(|((n, o), (_, h))| json!({"file": n, "origin": origin(plan, o), "sha256": h})).collect::<Vec<_>>(),
        "mappings": plan.mappings.list.iter().zip(&plan.mappings.hashes).map(|((_, o), (n, h))| json!({"format": n, "origin": origin(plan, o), "sha256": h})).collect::<Vec<_>>(),
        "answers": { "dir": plan.relative(&plan.answers.dir.display().to_string()), "files": plan.answers.hashes() },
        "inputs": inputs,
        "levels": outcome.levels,
        "link_key": plan.link_key.info,
        "report_folders": report_folders(plan, outcome),
        "allow_stale": plan.allow_stale,
        "warnings": outcome.warnings,
    })
}

/// Account → `reports/<folder>` of every account with a report draft (folder names are sanitised
/// and may carry a hash, so the mapping is kept here).
fn report_folders(plan: &Plan, outcome: &Outcome) -> Value {
    let map: serde_json::Map<String, Value> =
        crate::documents::drafted(&outcome.flag_rows, plan.drafts)
            .into_iter()
            .map(|f| {
                let folder = crate::documents::report_folder(&f.account_id);
                (
                    crate::pii::redact(&f.account_id).into_owned(),
                    Value::String(format!("reports/{folder}")),
                )
            })
            .collect();
    Value::Object(map)
}

/// What makes a run the run it is: versions, as-of date, input contents, effective parameter
/// values, catalog, queries, templates, mappings, answers, the configuration's non-path settings and
/// the link key's fingerprint, and the filings the documents mention. No paths, no sources of values, nothing about the invocation.
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
    json!({
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
        "filed": plan.filings.values().map(|f| (&f.account_id, &f.reference, &f.filed_on, &f.run_id)).collect::<Vec<_>>(),
        "provider": plan.provider,
        "billing": plan.billing,
        "billing_format": plan.billing_format,
        "registry_max_age_days": plan.registry_max_age_days,
        "link_key": plan.link_key.info.fingerprint,
        "allow_stale": plan.allow_stale,
        "drafts": format!("{:?}", plan.drafts),
    })
}

/// A run id: the first 16 hex digits of the hash of the run's [`identity`], so identical reruns
/// share it whatever the paths, the working folder or the command (plain run or backfill).
pub fn run_id(identity: &Value) -> String {
    sha256_bytes(identity.to_string().as_bytes())[..16].to_string()
}

/// An override's origin relative to the configuration (`embedded` stays).
fn origin(plan: &Plan, origin: &str) -> String {
    match origin {
        "embedded" => origin.to_string(),
        path => plan.relative(path),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn polars_version_matches_the_pin() {
        let cargo = include_str!("../Cargo.toml");
        assert!(cargo.contains(&format!("version = \"={}\"", super::POLARS_VERSION)));
    }
}
