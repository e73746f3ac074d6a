//! Rule profiles: every regulatory number and screening policy as versioned data. A profile is an
//! embedded TOML (`profiles/*.toml`) or a file; its `[parameters]` are then overridden, in order, by
//! the configuration's `[overrides]`, a `--params` file and `--set KEY=VALUE` flags. Each effective
//! value remembers where it came from, and an unknown key is an error that lists the valid ones.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

/// The profiles shipped in the binary, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("nprm-2024", include_str!("profiles/nprm-2024.toml")),
    (
        "bis-702.7-2024",
        include_str!("profiles/bis-702.7-2024.toml"),
    ),
];

const PRECISIONS: &[&str] = &["bf16", "fp16", "fp8", "fp32"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    version: String,
    title: String,
    source: String,
    status: String,
    parameters: toml::Table,
}

/// The typed parameters every stage reads. Field docs are in the profile files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub training_ops: f64,
    pub cluster_peak_ops_per_s: f64,
    pub interconnect_gbps: f64,
    pub report_due_days: i64,
    pub peak_precision: String,
    pub peak_precision_fallback: String,
    pub assumed_utilization: f64,
    pub watch_fraction: f64,
    pub projection_horizon_days: i64,
    pub burn_window_days: i64,
    pub segment_gap_hours: f64,
    pub training_min_hours: f64,
    pub training_min_accelerators: f64,
    pub material_accelerator_hours: f64,
    pub certification_period_days: i64,
    pub retention_days: i64,
    pub utilization_low: f64,
    pub plausible_run_days: f64,
    pub training_interconnect_gbps: f64,
    pub steady_fraction: f64,
    pub min_report_confidence: f64,
    pub link_window_days: f64,
    pub strong_links: String,
    pub weak_links: String,
    pub sync_tolerance_hours: f64,
    pub handover_gap_hours: f64,
    pub handover_size_tolerance: f64,
    pub low_egress_gb_per_accelerator_hour: f64,
}

/// The link types entities can be built from.
pub const LINK_TYPES: &[&str] = &[
    "payment_instrument",
    "national_id",
    "beneficial_owner",
    "address",
    "admin_ip",
    "access_ip",
    "payment_source",
    "sub_account",
];

impl Params {
    /// The link types named in `strong_links` or `weak_links`.
    pub fn links(list: &str) -> Vec<String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }
}

/// A profile's identity, as recorded in the manifest and documents.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileInfo {
    pub name: String,
    pub version: String,
    pub title: String,
    pub source: String,
    pub status: String,
    /// `embedded` or the file it was read from.
    pub origin: String,
}

/// One effective parameter value and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub value: toml::Value,
    pub source: String,
}

/// The profile after every override: typed values plus their provenance.
#[derive(Debug, Clone, Serialize)]
pub struct EffectiveProfile {
    pub info: ProfileInfo,
    pub params: Params,
    pub provenance: BTreeMap<String, Provenance>,
}

impl Provenance {
    /// The value as a person reads it (`1e24`, not `1000000000000000000000000.0`).
    pub fn display(&self) -> String {
        match &self.value {
            toml::Value::Float(f) if f.abs() >= 1e6 => format!("{f:e}"),
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// One layer of overrides, applied in the order given.
pub struct Layer {
    pub source: String,
    pub values: toml::Table,
}

/// Reads a profile by embedded name or path (relative to `base`).
pub fn load(spec: &str, base: &Path) -> Result<(ProfileInfo, toml::Table)> {
    let (text, origin) = match EMBEDDED.iter().find(|(name, _)| *name == spec) {
        Some((_, text)) => (text.to_string(), "embedded".to_string()),
        None => {
            let path = base.join(spec);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                let names: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
                Error::config(
                    format!("profile {spec}"),
                    format!(
                        "not an embedded profile ({}) and not a readable file: {e}",
                        names.join(", ")
                    ),
                )
            })?;
            (text, path.display().to_string())
        }
    };
    let file: ProfileFile =
        toml::from_str(&text).map_err(|e| Error::config(format!("profile {spec}"), e.message()))?;
    let info = ProfileInfo {
        name: file.name,
        version: file.version,
        title: file.title,
        source: file.source,
        status: file.status,
        origin,
    };
    Ok((info, file.parameters))
}

/// Applies the override layers to the profile's parameters and checks the result.
pub fn resolve(info: ProfileInfo, base: toml::Table, layers: &[Layer]) -> Result<EffectiveProfile> {
    let origin = format!("profile {}@{}", info.name, info.version);
    let mut provenance: BTreeMap<String, Provenance> = base
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Provenance {
                    value: v.clone(),
                    source: origin.clone(),
                },
            )
        })
        .collect();
    let mut table = base;
    for layer in layers {
        for (key, value) in &layer.values {
            if !table.contains_key(key) {
                let valid: Vec<&str> = table.keys().map(String::as_str).collect();
                return Err(Error::Usage(format!(
                    "unknown parameter '{key}' (from {}); valid keys: {}",
                    layer.source,
                    valid.join(", ")
                )));
            }
            table.insert(key.clone(), value.clone());
            provenance.insert(
                key.clone(),
                Provenance {
                    value: value.clone(),
                    source: layer.source.clone(),
                },
            );
        }
    }
    let params = Params::deserialize(toml::Value::Table(table))
        .map_err(|e| Error::config(format!("profile {} parameters", info.name), e.message()))?;
    check(&params)?;
    Ok(EffectiveProfile {
        info,
        params,
        provenance,
    })
}

/// Parses `KEY=VALUE` flags into an override layer. Values are TOML literals (`1e24`, `15`,
/// `"bf16"`); a bare word that is not a TOML literal is taken as a string.
pub fn parse_sets(sets: &[String]) -> Result<toml::Table> {
    let mut table = toml::Table::new();
    for set in sets {
        let (key, raw) = set
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--set expects KEY=VALUE, got '{set}'")))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(Error::Usage(format!("--set has an empty key in '{set}'")));
        }
        table.insert(key.to_string(), parse_literal(raw.trim()));
    }
    Ok(table)
}

fn parse_literal(raw: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or(toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn check(p: &Params) -> Result<()> {
    let bad = |key: &str, why: &str| Err(Error::Usage(format!("parameter {key}: {why}")));
    for (key, v) in [
        ("training_ops", p.training_ops),
        ("cluster_peak_ops_per_s", p.cluster_peak_ops_per_s),
        ("interconnect_gbps", p.interconnect_gbps),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return bad(key, "must be a positive number");
        }
    }
    for (key, v) in [
        ("assumed_utilization", p.assumed_utilization),
        ("watch_fraction", p.watch_fraction),
    ] {
        if !(v > 0.0 && v <= 1.0) {
            return bad(key, "must be in (0, 1]");
        }
    }
    for (key, v) in [
        ("report_due_days", p.report_due_days),
        ("projection_horizon_days", p.projection_horizon_days),
    ] {
        if v < 0 {
            return bad(key, "must not be negative");
        }
    }
    for (key, v) in [
        ("burn_window_days", p.burn_window_days),
        ("certification_period_days", p.certification_period_days),
        ("retention_days", p.retention_days),
    ] {
        if v < 1 {
            return bad(key, "must be at least 1");
        }
    }
    for (key, v) in [
        ("segment_gap_hours", p.segment_gap_hours),
        ("training_min_hours", p.training_min_hours),
        ("training_min_accelerators", p.training_min_accelerators),
        ("material_accelerator_hours", p.material_accelerator_hours),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return bad(key, "must be a non-negative number");
        }
    }
    for (key, v) in [
        ("utilization_low", p.utilization_low),
        ("steady_fraction", p.steady_fraction),
        ("min_report_confidence", p.min_report_confidence),
        ("handover_size_tolerance", p.handover_size_tolerance),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return bad(key, "must be in [0, 1]");
        }
    }
    for (key, v) in [
        ("plausible_run_days", p.plausible_run_days),
        ("training_interconnect_gbps", p.training_interconnect_gbps),
        ("link_window_days", p.link_window_days),
        ("sync_tolerance_hours", p.sync_tolerance_hours),
        ("handover_gap_hours", p.handover_gap_hours),
        (
            "low_egress_gb_per_accelerator_hour",
            p.low_egress_gb_per_accelerator_hour,
        ),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return bad(key, "must be a non-negative number");
        }
    }
    for (key, list) in [
        ("strong_links", &p.strong_links),
        ("weak_links", &p.weak_links),
    ] {
        if let Some(unknown) = Params::links(list)
            .into_iter()
            .find(|l| !LINK_TYPES.contains(&l.as_str()))
        {
            return bad(
                key,
                &format!("'{unknown}' is not a link type ({})", LINK_TYPES.join(", ")),
            );
        }
    }
    for (key, v) in [
        ("peak_precision", &p.peak_precision),
        ("peak_precision_fallback", &p.peak_precision_fallback),
    ] {
        if !PRECISIONS.contains(&v.as_str()) {
            return bad(key, &format!("must be one of {}", PRECISIONS.join(", ")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nprm() -> (ProfileInfo, toml::Table) {
        load("nprm-2024", Path::new(".")).unwrap()
    }

    #[test]
    fn embedded_profiles_parse_with_the_rule_numbers() {
        let (info, base) = nprm();
        let p = resolve(info, base, &[]).unwrap();
        assert_eq!(p.params.training_ops, 1e26);
        assert_eq!(p.params.cluster_peak_ops_per_s, 1e20);
        assert_eq!(p.params.interconnect_gbps, 100.0);
        assert_eq!(p.params.report_due_days, 15);
        let (info, base) = load("bis-702.7-2024", Path::new(".")).unwrap();
        let b = resolve(info, base, &[]).unwrap();
        assert_eq!(b.params.interconnect_gbps, 300.0);
    }

    #[test]
    fn later_layers_win_and_record_their_source() {
        let (info, base) = nprm();
        let layers = [
            Layer {
                source: "config".into(),
                values: parse_sets(&["training_ops=1e24".into()]).unwrap(),
            },
            Layer {
                source: "--set".into(),
                values: parse_sets(&["training_ops=5e24".into()]).unwrap(),
            },
        ];
        let p = resolve(info, base, &layers).unwrap();
        assert_eq!(p.params.training_ops, 5e24);
        assert_eq!(p.provenance["training_ops"].source, "--set");
        assert!(p.provenance["interconnect_gbps"]
            .source
            .starts_with("profile nprm-2024@"));
    }

    #[test]
    fn unknown_key_lists_valid_keys() {
        let (info, base) = nprm();
        let layers = [Layer {
            source: "--set".into(),
            values: parse_sets(&["trainin_ops=1".into()]).unwrap(),
        }];
        let err = resolve(info, base, &layers).unwrap_err().to_string();
        assert!(
            err.contains("trainin_ops") && err.contains("training_ops"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_and_mistyped_values_are_rejected() {
        for set in [
            "assumed_utilization=1.5",
            "report_due_days=soon",
            "peak_precision=int4",
            "burn_window_days=0",
        ] {
            let (info, base) = nprm();
            let layers = [Layer {
                source: "--set".into(),
                values: parse_sets(&[set.into()]).unwrap(),
            }];
            assert!(resolve(info, base, &layers).is_err(), "{set} accepted");
        }
        assert!(parse_sets(&["no_equals_sign".into()]).is_err());
    }
}
