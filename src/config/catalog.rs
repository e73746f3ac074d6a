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
/// lower-case lookup keys, with Azure aliases (`Standard_ND96isr_H100_v5` is billed as
/// `ND96isr H100 v5` in meter names).
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
    let name = col("instance_type").str().to_lowercase();
    let bare = name.clone().str().strip_prefix(lit("standard_"));
    let spaced = bare.clone().str().replace_all(lit("_"), lit(" "), true);
    let inst = instances.lazy().select([
        col("provider"),
        col("instance_type"),
        col("accelerator"),
        col("accelerators_per_instance").cast(DataType::Float64),
        col("interconnect_gbps").cast(DataType::Float64),
        col("source_url").alias("instance_source"),
        concat_list([name, bare, spaced])
            .map_err(|e| Error::internal("catalog", e))?
            .alias("instance_key"),
    ]);
    inst.explode(
        by_name(["instance_key"], true, false),
        ExplodeOptions {
            empty_as_null: false,
            keep_nulls: false,
        },
    )
    .unique_stable(
        Some(by_name(["instance_key"], true, false)),
        UniqueKeepStrategy::First,
    )
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

/// `(?:^|[^a-z0-9])(key1|key2|...)(?:[^a-z0-9]|$)`, longest keys first so that a key never loses to
/// its own prefix.
fn key_pattern(keys: &[String]) -> String {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    sorted.dedup();
    let alternation: Vec<String> = sorted.iter().map(|k| regex::escape(k)).collect();
    format!("(?:^|[^a-z0-9])({})(?:[^a-z0-9]|$)", alternation.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // b300 has no accelerator row: the instance is known, its peak is not.
        assert_eq!(lookup(&cat, "p6-b300.48xlarge").3, None);
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
