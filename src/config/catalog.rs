//! The accelerator catalog: which instance types carry which accelerators, how many, on what
//! interconnect, and each accelerator's peak dense op/s per precision, every figure with its source.
//! Provider facts live here (data, overridable by a folder), regulatory numbers in the rule profile.
//! The catalog also yields the one regular expression that finds a catalog instance type inside a
//! billing row's free text, so identification is one vectorised pass plus a small join.

use polars::prelude::*;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

const EMBEDDED_ACCELERATORS: &[u8] = include_bytes!("catalog/accelerators.csv");
const EMBEDDED_INSTANCES: &[u8] = include_bytes!("catalog/instance-types.csv");

/// Columns each catalog file must have.
const ACCELERATOR_COLUMNS: &[&str] = &["accelerator", "source_url"];
const INSTANCE_COLUMNS: &[&str] = &[
    "provider",
    "instance_type",
    "accelerator",
    "accelerators_per_instance",
    "interconnect_gbps",
    "source_url",
];

/// The loaded catalog, ready to join against billing rows on `instance_key`.
pub struct Catalog {
    /// One row per instance-type key (names and aliases, lower case): `instance_key, instance_type,
    /// provider, accelerator, accelerators_per_instance, interconnect_gbps, peak_ops_per_s,
    /// peak_precision_used, instance_source, accelerator_source`.
    pub instances: DataFrame,
    /// Regular expression whose group 1 is a catalog key, for lower-cased free text.
    pub key_pattern: String,
    /// Where the catalog came from (`embedded` or the folder) and the SHA-256 of each file.
    pub origin: String,
    pub files: Vec<(String, String)>,
}

/// Loads the embedded catalog or the one in `folder`, taking peak op/s at `precision` (falling back
/// to `fallback` where the accelerator has no figure at `precision`).
pub fn load(folder: Option<&Path>, precision: &str, fallback: &str) -> Result<Catalog> {
    let (acc_bytes, inst_bytes, origin, acc_name, inst_name) = match folder {
        None => (
            EMBEDDED_ACCELERATORS.to_vec(),
            EMBEDDED_INSTANCES.to_vec(),
            "embedded".to_string(),
            PathBuf::from("embedded:accelerators.csv"),
            PathBuf::from("embedded:instance-types.csv"),
        ),
        Some(dir) => {
            let (a, i) = (dir.join("accelerators.csv"), dir.join("instance-types.csv"));
            (read(&a)?, read(&i)?, dir.display().to_string(), a, i)
        }
    };
    let files = vec![
        (
            acc_name.display().to_string(),
            crate::fingerprint::sha256_bytes(&acc_bytes),
        ),
        (
            inst_name.display().to_string(),
            crate::fingerprint::sha256_bytes(&inst_bytes),
        ),
    ];
    let accelerators = read_csv(acc_bytes, &acc_name, ACCELERATOR_COLUMNS)?;
    let instances = read_csv(inst_bytes, &inst_name, INSTANCE_COLUMNS)?;
    let joined = join(accelerators, instances, precision, fallback)?;
    let keys: Vec<String> = joined
        .column("instance_key")
        .and_then(|c| c.str().cloned())
        .map_err(|e| Error::internal("catalog keys", e))?
        .iter()
        .flatten()
        .map(String::from)
        .collect();
    Ok(Catalog {
        instances: joined,
        key_pattern: key_pattern(&keys),
        origin,
        files,
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::Reference(format!("{}: cannot read catalog file: {e}", path.display())))
}

fn read_csv(bytes: Vec<u8>, name: &Path, required: &[&str]) -> Result<DataFrame> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| Error::Reference(format!("{}: {e}", name.display())))?;
    for column in required {
        if df.schema().get(column).is_none() {
            return Err(Error::Reference(format!(
                "{}: missing column {column}",
                Location::file(name)
            )));
        }
    }
    Ok(df)
}

/// Joins instance types to accelerators and derives `peak_ops_per_s` (per accelerator) and the
/// lower-case lookup keys (`lookup_keys`).
fn join(
    accelerators: DataFrame,
    instances: DataFrame,
    precision: &str,
    fallback: &str,
) -> Result<DataFrame> {
    let acc_schema = accelerators.schema().clone();
    let tflops = |p: &str| {
        let name = format!("peak_dense_{p}_tflops");
        if acc_schema.get(&name).is_some() {
            col(name).cast(DataType::Float64)
        } else {
            lit(NULL).cast(DataType::Float64)
        }
    };
    let acc = accelerators.lazy().select([
        col("accelerator"),
        (coalesce(&[tflops(precision), tflops(fallback)]) * lit(1e12)).alias("peak_ops_per_s"),
        when(tflops(precision).is_not_null())
            .then(lit(precision))
            .when(tflops(fallback).is_not_null())
            .then(lit(fallback))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("peak_precision_used"),
        col("source_url").alias("accelerator_source"),
    ]);
    let keys = lookup_keys(&instances)?;
    let inst = instances.lazy().with_row_index("_entry", None).select([
        col("_entry"),
        col("provider"),
        col("instance_type"),
        col("accelerator"),
        col("accelerators_per_instance").cast(DataType::Float64),
        col("interconnect_gbps").cast(DataType::Float64),
        col("source_url").alias("instance_source"),
    ]);
    keys.lazy()
        .join(
            inst,
            [col("_entry")],
            [col("_entry")],
            JoinArgs::new(JoinType::Inner),
        )
        .drop(by_name(["_entry"], true, false))
        .join(
            acc,
            [col("accelerator")],
            [col("accelerator")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["instance_key"], Default::default())
        .collect()
        .map_err(|e| Error::Reference(format!("catalog: {e}")))
}

/// The lookup keys of each instance-type entry, lower case: its name, the name without Azure's
/// `Standard_` prefix, that with `_` as spaces (`Standard_ND96isr_H100_v5` is billed as the meter
/// `ND96isr H100 v5`), and every spelling in the optional `aliases` column (`;`-separated: the
/// meter, SKU or product names a provider bills the size under, such as `ND96asr A100 v4` for
/// `Standard_ND96asr_v4` or `TpuV5p` for a TPU v5p chip). Returns `(_entry, instance_key)` rows.
///
/// Errors: exit 4 when one key would name two entries with different accelerators or counts (a
/// billing row would then be read by whichever came first).
fn lookup_keys(instances: &DataFrame) -> Result<DataFrame> {
    let text = |name: &str| -> Result<Vec<Option<String>>> {
        Ok(match instances.column(name) {
            Ok(c) => c
                .str()
                .map_err(|e| Error::Reference(format!("catalog column {name}: {e}")))?
                .iter()
                .map(|v| v.map(String::from))
                .collect(),
            Err(_) => vec![None; instances.height()],
        })
    };
    let (names, aliases) = (text("instance_type")?, text("aliases")?);
    let meaning: Vec<(Option<String>, Option<String>)> = text("accelerator")?
        .into_iter()
        .zip(text("accelerators_per_instance")?)
        .collect();
    let mut owner: std::collections::BTreeMap<String, u32> = Default::default();
    for (entry, name) in names.iter().enumerate() {
        let name = name.as_deref().unwrap_or_default().trim().to_lowercase();
        let bare = name.strip_prefix("standard_").unwrap_or(&name).to_string();
        let spaced = bare.replace('_', " ");
        let extra = aliases[entry].as_deref().unwrap_or_default().split(';');
        let spellings = [name.clone(), bare, spaced]
            .into_iter()
            .chain(extra.map(|a| a.trim().to_lowercase()));
        for key in spellings.filter(|k| !k.is_empty()) {
            match owner.get(&key) {
                Some(&first) if meaning[first as usize] != meaning[entry] => {
                    return Err(Error::Reference(format!(
                        "catalog: the spelling '{key}' names both {} and {name} with other accelerators",
                        names[first as usize].as_deref().unwrap_or_default()
                    )))
                }
                Some(_) => {}
                None => {
                    owner.insert(key, entry as u32);
                }
            }
        }
    }
    let (keys, entries): (Vec<String>, Vec<u32>) = owner.into_iter().unzip();
    DataFrame::new(
        keys.len(),
        vec![
            Column::new("_entry".into(), entries),
            Column::new("instance_key".into(), keys),
        ],
    )
    .map_err(|e| Error::Reference(format!("catalog keys: {e}")))
}

/// `(?:^|[^a-z0-9])(key1|key2|...)(?:[^a-z0-9]|$)`, longest keys first so that a key never loses to
/// its own prefix.
fn key_pattern(keys: &[String]) -> String {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    sorted.dedup();
    let alternation: Vec<String> = sorted.iter().map(|k| regex::escape(k)).collect();
    format!("(?:^|[^a-z0-9])({})(?:[^a-z0-9]|$)", alternation.join("|"))
}

/// The catalog's coverage as a Markdown table: one row per accelerator, one column per provider
/// (alphabetical), each cell the number of instance types and SKU entries of that provider
/// carrying it. docs/inputs.md's coverage table is this text (checked by a test).
pub fn coverage_markdown(catalog: &Catalog) -> Result<String> {
    let text = |name: &str| -> Result<Vec<String>> {
        Ok(catalog
            .instances
            .column(name)
            .and_then(|c| c.str().cloned())
            .map_err(|e| Error::internal("catalog coverage", e))?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let (providers, types, accelerators) = (
        text("provider")?,
        text("instance_type")?,
        text("accelerator")?,
    );
    let mut entries: std::collections::BTreeSet<(String, String, String)> = Default::default();
    let mut columns: Vec<String> = Vec::new();
    for i in 0..providers.len() {
        if !columns.contains(&providers[i]) {
            columns.push(providers[i].clone());
        }
        entries.insert((
            accelerators[i].clone(),
            providers[i].clone(),
            types[i].clone(),
        ));
    }
    columns.sort();
    let mut rows: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (accelerator, provider, _) in &entries {
        let at = columns.iter().position(|c| c == provider).unwrap_or(0);
        rows.entry(accelerator.as_str())
            .or_insert_with(|| vec![0; columns.len()])[at] += 1;
    }
    let mut out = format!(
        "| accelerator | {} |\n|---|{}\n",
        columns.join(" | "),
        "---|".repeat(columns.len())
    );
    for (accelerator, counts) in rows {
        let cells: Vec<String> = counts
            .iter()
            .map(|n| match n {
                0 => String::new(),
                n => n.to_string(),
            })
            .collect();
        out.push_str(&format!("| {accelerator} | {} |\n", cells.join(" | ")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling of every catalog entry (its name, Azure's meter form, each alias), found in
    /// billing text as identification finds it, leads back to an entry with the same accelerator
    /// and count: each accelerator is reachable from every spelling of each provider selling it.
    #[test]
    fn every_spelling_of_the_catalog_reaches_its_own_entry() {
        let cat = load(None, "bf16", "fp16").unwrap();
        let re = regex::Regex::new(&format!("(?i){}", cat.key_pattern)).unwrap();
        let column = |name: &str| -> Vec<String> {
            let c = cat
                .instances
                .column(name)
                .unwrap()
                .cast(&DataType::String)
                .unwrap();
            c.str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect()
        };
        let (keys, accelerators, counts) = (
            column("instance_key"),
            column("accelerator"),
            column("accelerators_per_instance"),
        );
        let meaning = |key: &str| {
            let i = keys.iter().position(|k| k == key).unwrap();
            (accelerators[i].clone(), counts[i].clone())
        };
        for (i, key) in keys.iter().enumerate() {
            for text in [
                format!("{key} running in Americas"),
                format!("USE2-BoxUsage:{key}"),
            ] {
                let found = re
                    .captures(&text)
                    .and_then(|m| m.get(1))
                    .map(|m| m.as_str().to_lowercase());
                let found = found.unwrap_or_else(|| panic!("'{text}' names no catalog entry"));
                assert_eq!(
                    meaning(&found),
                    (accelerators[i].clone(), counts[i].clone()),
                    "'{text}' reads as {found}"
                );
            }
        }
    }

    /// The catalog coverage table in docs/inputs.md is the catalog's own (`coverage_markdown`).
    #[test]
    fn docs_state_the_catalogs_coverage() {
        let cat = load(None, "bf16", "fp16").unwrap();
        let table = coverage_markdown(&cat).unwrap();
        let doc =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/inputs.md"))
                .unwrap();
        assert!(
            doc.contains(&table),
            "docs/inputs.md's coverage table is not:\n{table}"
        );
    }

    fn lookup(cat: &Catalog, key: &str) -> (String, f64, Option<f64>, Option<f64>) {
        let df = cat
            .instances
            .clone()
            .lazy()
            .filter(col("instance_key").eq(lit(key)))
            .collect()
            .unwrap();
        assert_eq!(df.height(), 1, "{key}");
        let s = |c: &str| df.column(c).unwrap().get(0).unwrap();
        (
            s("accelerator").get_str().unwrap().to_string(),
            s("accelerators_per_instance").extract::<f64>().unwrap(),
            s("interconnect_gbps").extract::<f64>(),
            s("peak_ops_per_s").extract::<f64>(),
        )
    }

    #[test]
    fn embedded_catalog_has_h100_instances_with_their_sources() {
        let cat = load(None, "bf16", "fp16").unwrap();
        let (acc, n, ic, peak) = lookup(&cat, "p5.48xlarge");
        assert_eq!(
            (acc.as_str(), n, ic),
            ("nvidia-h100-sxm", 8.0, Some(3200.0))
        );
        assert_eq!(peak, Some(989.5e12));
        // Azure alias as billed in meter names.
        assert_eq!(lookup(&cat, "nd96isr h100 v5").0, "nvidia-h100-sxm");
        // V100 has no bf16 figure: the fp16 fallback applies.
        assert_eq!(lookup(&cat, "p3.2xlarge").3, Some(125e12));
        // Meter spellings that are not the size's name come from the catalog's aliases.
        assert_eq!(lookup(&cat, "nd96asr a100 v4").0, "nvidia-a100-40gb");
        assert_eq!(lookup(&cat, "tpuv5p").0, "google-tpu-v5p");
    }

    #[test]
    fn key_pattern_prefers_the_longest_key_and_respects_boundaries() {
        let re = regex::Regex::new(&key_pattern(&[
            "p4d.24xlarge".into(),
            "p4de.24xlarge".into(),
        ]))
        .unwrap();
        let hit = |t: &str| re.captures(t).map(|c| c[1].to_string());
        assert_eq!(
            hit("boxusage:p4de.24xlarge").as_deref(),
            Some("p4de.24xlarge")
        );
        assert_eq!(hit("ml.p4d.24xlarge hour").as_deref(), Some("p4d.24xlarge"));
        assert_eq!(hit("xp4d.24xlarge"), None);
    }
}
