//! The run manifest: everything needed to know what a run saw and decided, and to recognise an
//! identical rerun: inputs with SHA-256 and row counts (read = used + quarantined), the rows a stage
//! left out on purpose and why (`excluded`), the profile and every effective parameter with its
//! source, catalog, query, template and mapping fingerprints, versions, the as-of date, the report
//! folder of each account with a report draft (`report_folders`) and every output's SHA-256. No
//! wall-clock time; input paths are relative to the configuration file when inside its folder, and
//! absolute otherwise. The run id is the hash of the run's *identity* only (contents, effective
//! values, answers, version; built by `Plan::identity`), never of paths or of how the run was
//! invoked, so a plain run and a backfill of the same day share it.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::config::link_key::LinkKeyInfo;
use crate::config::profile::{ProfileInfo, Provenance};
use crate::config::Provider;
use crate::fingerprint::sha256_bytes;
use crate::transforms::quarantine::{Excluded, InputCount};

/// The Polars version, where the manifest's readers have always found it.
pub use crate::fingerprint::POLARS_VERSION;

/// `manifest.json`, field by field in the order it is written.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub cipwatch_version: &'static str,
    pub polars_version: &'static str,
    /// See [`run_id`].
    pub run_id: String,
    /// YYYY-MM-DD.
    pub as_of: String,
    /// `--as-of`, or `latest charge date in billing`.
    pub as_of_source: String,
    pub config: ConfigRecord,
    pub scenario: Option<String>,
    pub not_assessed_under_rule_thresholds: Vec<String>,
    pub provider: Provider,
    pub profile: ProfileInfo,
    /// Every effective parameter with its value and source.
    pub parameters: BTreeMap<String, Provenance>,
    pub catalog: CatalogRecord,
    pub queries: Vec<FileOrigin>,
    pub templates: Vec<FileOrigin>,
    pub mappings: Vec<MappingOrigin>,
    pub answers: AnswersRecord,
    /// Input name (`billing`, `telemetry`, `customers`, ...) → its files and row counts, in the
    /// order the run reads them.
    pub inputs: Vec<(String, InputRecord)>,
    /// Set when stage 1's result came from a prepared dataset (`run --prepared`): its folder and
    /// contract version (its parts were made by this cipwatch under this run's definitions, or the
    /// run would have stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepared: Option<PreparedRecord>,
    /// With `[screening]`: the list snapshots (file, SHA-256, bytes, modification date), the
    /// snapshot's date and its source, the limits and the counts screened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screening: Option<crate::transforms::screening::ScreeningRecord>,
    /// Level → number of accounts.
    pub levels: BTreeMap<String, u64>,
    pub link_key: LinkKeyInfo,
    /// Masked account id → `reports/<folder>`, in the order of `flags.csv`.
    pub report_folders: Vec<(String, String)>,
    pub allow_stale: bool,
    pub warnings: Vec<String>,
    /// Instance types whose accelerator has no peak figure, estimated at the catalog-gap bound.
    pub catalog_gaps: Vec<String>,
    /// Knowledge dates this filing run moved earlier (`masked id: old -> new`).
    pub knowledge_moved: Vec<String>,
    /// Due dates that differ from those of the folder this run replaced (`masked id: old -> new`).
    pub deadlines_changed: Vec<String>,
    /// Rows and values a stage left out on purpose, with the reason (never a quarantine: those
    /// are in `inputs.*.rows`).
    pub excluded: Vec<Excluded>,
    /// Output path → rows (tables) and SHA-256, filled in by the publishing sink.
    pub outputs: Vec<(String, OutputRecord)>,
}

#[derive(Debug, Serialize)]
pub struct PreparedRecord {
    pub dir: String,
    pub contract_version: u32,
}

#[derive(Debug, Serialize)]
pub struct ConfigRecord {
    /// The configuration file's name, or `embedded`.
    pub source: String,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct CatalogRecord {
    /// `embedded` or the folder.
    pub origin: String,
    pub files: Vec<FileHash>,
}

#[derive(Debug, Serialize)]
pub struct FileHash {
    pub file: String,
    pub sha256: String,
}

/// A query or template file: `embedded`, or the override's path.
#[derive(Debug, Serialize)]
pub struct FileOrigin {
    pub file: String,
    pub origin: String,
    pub sha256: String,
}

/// A native export's mapping.
#[derive(Debug, Serialize)]
pub struct MappingOrigin {
    pub format: String,
    pub origin: String,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct AnswersRecord {
    pub dir: String,
    /// Answers file name → SHA-256.
    pub files: BTreeMap<String, String>,
    /// The answers files named for no account with accelerator use in the run (their answers are
    /// in no report draft: a misspelt account id?), by file name.
    pub unmatched: Vec<String>,
}

/// One input file as read: path, SHA-256 and size in bytes.
#[derive(Debug, Serialize)]
pub struct FileRecord {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct InputRecord {
    pub files: Vec<FileRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<InputCount>,
    /// Billing only: the format each file was read as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formats: Option<BTreeMap<String, String>>,
    /// Billing only: per currency, rows, billed cost and quantity of every row read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals_by_currency: Option<Vec<Value>>,
}

#[derive(Debug, Serialize)]
pub struct OutputRecord {
    /// Tables only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    pub sha256: String,
}

impl Manifest {
    /// The manifest as published: pretty JSON with a final newline, masked by value like every
    /// output (a card planted in a currency code, an account id or a file name does not reach it;
    /// hashes and numbers are left alone).
    pub fn to_text(&self) -> String {
        let value = ordered(self);
        // Strings and keys are masked by value before they are escaped; a whole number that is a
        // card becomes its mask as a string, other numbers stay numbers (a mask written into a JSON
        // number's digits would leave a file no reader can parse).
        crate::pii::masked_json(&value, true).unwrap_or_default() + "\n"
    }
}

/// Serialises `manifest`, writing the `(key, value)` lists as JSON objects in list order.
fn ordered(manifest: &Manifest) -> Value {
    let mut value = serde_json::to_value(manifest).unwrap_or(Value::Null);
    for field in ["inputs", "report_folders", "outputs"] {
        if let Some(list) = value.get_mut(field) {
            *list = pairs_to_object(list.take());
        }
    }
    value
}

fn pairs_to_object(list: Value) -> Value {
    let mut map = Map::new();
    if let Value::Array(items) = list {
        for item in items {
            if let Value::Array(mut kv) = item {
                if let (Some(v), Some(Value::String(k))) = (kv.pop(), kv.pop()) {
                    map.insert(k, v);
                }
            }
        }
    }
    Value::Object(map)
}

/// A run id: the first 16 hex digits of the hash of the run's identity (`Plan::identity`), so
/// identical reruns share it whatever the paths, the working folder or the command (plain run or
/// backfill).
pub fn run_id(identity: &Value) -> String {
    sha256_bytes(identity.to_string().as_bytes())[..16].to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn polars_version_matches_the_pin() {
        let cargo = include_str!("../../Cargo.toml");
        assert!(cargo.contains(&format!("version = \"={}\"", super::POLARS_VERSION)));
    }
}
