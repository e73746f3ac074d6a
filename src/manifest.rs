//! The run manifest: everything needed to know what a run saw and decided, and to recognise an
//! identical rerun: inputs with SHA-256 and row counts (read = used + quarantined), the profile and
//! every effective parameter with its source, catalog and query fingerprints, versions, as-of date,
//! and the report folder of each account with a report draft (`report_folders`).
//! No wall-clock time and no absolute paths, so the same inputs and parameters give the same bytes.

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
            .map(|f| json!({ "path": f.display, "sha256": f.sha256, "bytes": f.bytes }))
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
        "config": { "source": plan.config_source.describe(), "sha256": plan.config_sha256 },
        "provider": plan.provider,
        "profile": plan.profile.info,
        "parameters": plan.profile.provenance,
        "catalog": { "origin": catalog.origin, "files": catalog.files.iter().map(|(n, h)| json!({"file": n, "sha256": h})).collect::<Vec<_>>() },
        "queries": plan.queries.queries.iter().map(|q| json!({"file": q.file_name(), "origin": q.origin, "sha256": q.sha256})).collect::<Vec<_>>(),
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

/// A run id: the hash of the manifest's deterministic content (version, inputs, parameters,
/// catalog, queries, as-of, counts), so identical reruns share it.
pub fn run_id(doc: &Value) -> String {
    sha256_bytes(doc.to_string().as_bytes())[..16].to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn polars_version_matches_the_pin() {
        let cargo = include_str!("../Cargo.toml");
        assert!(cargo.contains(&format!("version = \"={}\"", super::POLARS_VERSION)));
    }
}
