//! The configuration file (`cipwatch.toml`) and the rule profiles. Both are read strictly
//! (`deny_unknown_fields`): a misspelt key is an error that names it, never a silent default.

pub mod calendar;
pub mod catalog;
pub mod country_groups;
pub mod env;
pub mod link_key;
pub mod parameters;
pub mod profile;

use chrono::NaiveDate;
use serde::Deserialize;
use std::path::{Path, PathBuf};

use profile::Valid;

use crate::error::{Error, Result};

/// The sample configuration, embedded so that a run with no `--config` and no `./cipwatch.toml`
/// reads `data-samples/` and writes `out/`.
pub const DEFAULT_CONFIG: &str = include_str!("../../data-samples/cipwatch.toml");
/// Folder the embedded default configuration's relative paths are resolved against.
pub const DEFAULT_CONFIG_BASE: &str = "data-samples";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Embedded profile name (`nprm-2024`, `bis-702.7-2024`) or a path to a profile TOML file.
    pub profile: String,
    /// Profile keys overridden by this configuration (below `--params` and `--set` in precedence).
    #[serde(default)]
    pub overrides: toml::Table,
    pub inputs: Inputs,
    pub output: Output,
    pub provider: Provider,
    #[serde(default)]
    pub billing: BillingOptions,
    #[serde(default)]
    pub registry: RegistryOptions,
    #[serde(default)]
    pub links: LinkOptions,
    #[serde(default)]
    pub answers: AnswersOptions,
    /// Sanctions and export screening against list snapshots; none without the section.
    #[serde(default)]
    pub screening: Option<ScreeningOptions>,
}

/// `[screening]`: the list snapshots every customer, beneficial owner and reseller is screened
/// against (`transforms::screening`), how old they may be and the candidate threshold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningOptions {
    /// The snapshot files, relative to the configuration: the Consolidated Screening List
    /// (`consolidated.csv` or `.json`) and/or OFAC's `sdn.csv`, `alt.csv`, `add.csv`.
    #[serde(default)]
    pub files: Vec<String>,
    /// The date (`YYYY-MM-DD`) the files were downloaded: the snapshot's date. Otherwise the oldest
    /// file's modification time stands in for it.
    #[serde(default)]
    pub downloaded_on: Option<String>,
    /// The run fails (exit 4) when the snapshot's date is more than this many days before the
    /// as-of date, unless `--allow-stale`. Valid: `ScreeningOptions::MAX_AGE_DAYS`.
    #[serde(default = "default_max_age_days")]
    pub max_age_days: i64,
    /// A score at or above this makes a candidate for review (`SANCTIONS_CANDIDATE`). Valid:
    /// `ScreeningOptions::MIN_SCORE`.
    #[serde(default = "default_min_score")]
    pub min_score: f64,
}

impl ScreeningOptions {
    /// The valid values of `max_age_days`: whole days, 0 to ten years.
    pub const MAX_AGE_DAYS: Valid = profile::DAYS;
    /// The valid values of `min_score`: a score from 0 to 1.
    pub const MIN_SCORE: Valid = Valid::Between {
        min: 0.0,
        min_open: false,
        max: 1.0,
        unit: "a score",
    };

    /// `downloaded_on` as a date; a config error naming the key when it is not one, and when no
    /// file is named.
    pub fn download_date(&self, source: &ConfigSource) -> Result<Option<NaiveDate>> {
        if self.files.is_empty() {
            return Err(Error::config(
                source.describe(),
                "screening.files is empty: name the list snapshots, or remove [screening]",
            ));
        }
        self.downloaded_on
            .as_deref()
            .map(|d| {
                iso_date(d).ok_or_else(|| {
                    Error::config(
                        source.describe(),
                        format!("screening.downloaded_on = '{d}' is not a date (YYYY-MM-DD)"),
                    )
                })
            })
            .transpose()
    }
}

fn default_min_score() -> f64 {
    0.9
}

/// Where counsel's answers files are (see `answers`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswersOptions {
    /// The folder of `<account_id>.toml` answers files, relative to the configuration
    /// (default `answers`).
    pub dir: Option<String>,
}

/// Where the secret key of the account links comes from (see `link_key`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOptions {
    /// A file holding the key, relative to the configuration (the environment's
    /// `CIPWATCH_LINK_KEY` and `CIPWATCH_LINK_KEY_FILE` come first).
    pub key_file: Option<String>,
}

/// How fresh the CIP registry must be.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryOptions {
    /// The run fails (exit 4) when the registry's date (below) is more than this many days before
    /// the as-of date, unless `--allow-stale` is given. Valid: `RegistryOptions::MAX_AGE_DAYS`.
    #[serde(default = "default_max_age_days")]
    pub max_age_days: i64,
    /// The date (`YYYY-MM-DD`) the registry files were exported. Where given it is the registry's
    /// date; otherwise the newest record dated on or before the as-of date stands in for it.
    #[serde(default)]
    pub exported_at: Option<String>,
}

impl RegistryOptions {
    /// The valid values of `max_age_days`: whole days, 0 to ten years.
    pub const MAX_AGE_DAYS: Valid = profile::DAYS;

    /// `exported_at` as a date; a config error naming the key when it is not one.
    pub fn export_date(&self, source: &ConfigSource) -> Result<Option<NaiveDate>> {
        self.exported_at
            .as_deref()
            .map(|d| {
                iso_date(d).ok_or_else(|| {
                    Error::config(
                        source.describe(),
                        format!("registry.exported_at = '{d}' is not a date (YYYY-MM-DD)"),
                    )
                })
            })
            .transpose()
    }
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            max_age_days: default_max_age_days(),
            exported_at: None,
        }
    }
}

/// A date written exactly `YYYY-MM-DD` (four, two and two digits), for the dates people type —
/// counsel's answers and `--as-of` — which documents print as written: `2026-1-5` is refused, not
/// printed in a second form. `None` for any other text or an impossible date.
pub fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
}

fn default_max_age_days() -> i64 {
    7
}

/// A numeric configuration key: its name, its valid values (declared beside its field), its TOML
/// kind, and its value in a configuration (`None` when its table is absent).
pub struct NumericKey {
    pub key: &'static str,
    pub valid: Valid,
    pub kind: profile::Kind,
    pub value: fn(&ConfigFile) -> Option<f64>,
}

/// Every numeric configuration key: the one list the range check ([`ConfigFile`]'s parse) and
/// its test read.
pub const NUMERIC_KEYS: &[NumericKey] = &[
    NumericKey {
        key: "registry.max_age_days",
        valid: RegistryOptions::MAX_AGE_DAYS,
        kind: profile::Kind::Integer,
        value: |c| Some(c.registry.max_age_days as f64),
    },
    NumericKey {
        key: "screening.max_age_days",
        valid: ScreeningOptions::MAX_AGE_DAYS,
        kind: profile::Kind::Integer,
        value: |c| c.screening.as_ref().map(|s| s.max_age_days as f64),
    },
    NumericKey {
        key: "screening.min_score",
        valid: ScreeningOptions::MIN_SCORE,
        kind: profile::Kind::Float,
        value: |c| c.screening.as_ref().map(|s| s.min_score),
    },
    NumericKey {
        key: "billing.max_gpu_count",
        valid: BillingOptions::MAX_GPU_COUNT,
        kind: profile::Kind::Float,
        value: |c| Some(c.billing.max_gpu_count),
    },
    NumericKey {
        key: "billing.catalog_gap_factor",
        valid: BillingOptions::CATALOG_GAP_FACTOR,
        kind: profile::Kind::Float,
        value: |c| Some(c.billing.catalog_gap_factor),
    },
    NumericKey {
        key: "billing.max_abs_quantity",
        valid: BillingOptions::MAX_ABS,
        kind: profile::Kind::Float,
        value: |c| Some(c.billing.max_abs_quantity),
    },
    NumericKey {
        key: "billing.max_abs_cost",
        valid: BillingOptions::MAX_ABS,
        kind: profile::Kind::Float,
        value: |c| Some(c.billing.max_abs_cost),
    },
    NumericKey {
        key: "billing.max_date_gap_days",
        valid: BillingOptions::MAX_DATE_GAP_DAYS,
        kind: profile::Kind::Integer,
        value: |c| Some(c.billing.max_date_gap_days as f64),
    },
    NumericKey {
        key: "billing.max_outlier_share",
        valid: BillingOptions::MAX_OUTLIER_SHARE,
        kind: profile::Kind::Float,
        value: |c| Some(c.billing.max_outlier_share),
    },
];

impl ConfigFile {
    /// Checks every numeric key against its declared range (exit 2 naming key, value and range;
    /// the caller names the file).
    fn check_ranges(&self) -> Result<()> {
        for k in NUMERIC_KEYS {
            if let Some(v) = (k.value)(self) {
                k.valid.check_number(k.key, v)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    pub billing: String,
    /// `focus` or a native format (`aws-cur`, `aws-cur2`, `azure`, `gcp`, `oci`); detected per file
    /// from its header when absent.
    pub billing_format: Option<String>,
    pub telemetry: Option<String>,
    pub customers: String,
    pub beneficial_owners: String,
    pub access_log: String,
    pub resellers: String,
    /// A folder holding `accelerators.csv` and `instance-types.csv`; the embedded catalog if absent.
    pub catalog: Option<String>,
    /// A country-groups file (the columns of `src/config/country-groups.csv`); the embedded table
    /// if absent. Read only by a profile whose `subject` is `country_group`.
    pub country_groups: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    pub dir: String,
}

/// The reporting provider's identity, printed in the manifest and the documents.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub legal_name: String,
    pub address: String,
    pub cip_contact: String,
    #[serde(default)]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// The confidentiality marking printed at the top and bottom of every page of every document
    /// (the template's default when not given).
    #[serde(default)]
    pub confidentiality_marking: Option<String>,
}

/// How billing rows are read and accelerators identified.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BillingOptions {
    /// Provider columns that may hold the instance type, tried in order after `SkuPriceDetails`.
    #[serde(default = "default_instance_type_columns")]
    pub instance_type_columns: Vec<String>,
    /// Columns searched for a catalog instance-type name when no column names it outright.
    #[serde(default = "default_text_columns")]
    pub text_columns: Vec<String>,
    /// A row whose text matches this (case-insensitive) but whose instance type is not in the
    /// catalog is quarantined as an unrecognised accelerator rather than guessed.
    #[serde(default = "default_hint_pattern")]
    pub accelerator_hint_pattern: String,
    /// Usage rows whose text matches this (case-insensitive) and whose unit is a data unit are
    /// internet egress, for the low-egress training signal.
    #[serde(default = "default_egress_pattern")]
    pub egress_pattern: String,
    /// An accelerator row whose unit or SKU text (`text_columns`) matches this is billed per
    /// accelerator (a GPU SKU row, a per-GPU meter): its quantity is already accelerator-hours.
    #[serde(default = "default_per_accelerator_pattern")]
    pub per_accelerator_pattern: String,
    /// A row whose unit matches this (and not `per_accelerator_pattern`) bills one component of
    /// an instance (vCPU-hours, GiB-hours): never instance- or accelerator-hours.
    #[serde(default = "default_component_pattern")]
    pub component_pattern: String,
    /// A row whose SKU text matches this bills one component (GCP's `A3 Instance Core running
    /// in ...`), read only where no structured column states the instance type or the format
    /// bills a VM per SKU: a description's free words never decide.
    #[serde(default = "default_component_sku_pattern")]
    pub component_sku_pattern: String,
    /// A usage row whose usage type or SKU text matches this bills reserved capacity nobody ran
    /// (AWS `USE2-UnusedBox:p5.48xlarge`, `Unused Reservation`): it counts no hours, as a FOCUS
    /// row with `CapacityReservationStatus` or `CommitmentDiscountStatus = Unused`.
    #[serde(default = "default_unused_capacity_pattern")]
    pub unused_capacity_pattern: String,
    /// The largest plausible `SkuPriceDetails.GpuCount` (accelerators per instance). A stated
    /// count that is not a whole number in `1..=max_gpu_count` quarantines the row
    /// (`out_of_range`; `bad_number` where it is not a number). Must be in [1, 1e6].
    #[serde(default = "default_max_gpu_count")]
    pub max_gpu_count: f64,
    /// An accelerator the catalog lists without a peak figure at the profile's precision is
    /// estimated at this multiple of the catalog's highest peak (`transforms::billed::catalog_gap_bound`),
    /// its accounts marked `CATALOG_GAP`. Must be in [1, 100].
    #[serde(default = "default_catalog_gap_factor")]
    pub catalog_gap_factor: f64,
    /// The plausible magnitude of a quantity (`ConsumedQuantity`, `PricingQuantity`); beyond it a
    /// row is quarantined as `out_of_range`. Must be > 0.
    #[serde(default = "default_max_abs")]
    pub max_abs_quantity: f64,
    /// The plausible magnitude of a cost (`BilledCost`, `EffectiveCost`), as `max_abs_quantity`.
    #[serde(default = "default_max_abs")]
    pub max_abs_cost: f64,
    /// Charge dates before this (YYYY-MM-DD) are implausible (`implausible_date`).
    #[serde(default = "default_earliest_charge_date")]
    pub earliest_charge_date: String,
    /// Charge days cut off from the rest of the billing data by more than this many days without
    /// a charge are implausible, when they hold at most `max_outlier_share` of the rows. Must be >= 1.
    #[serde(default = "default_max_date_gap_days")]
    pub max_date_gap_days: i32,
    /// See `max_date_gap_days`; a fraction in [0, 1].
    #[serde(default = "default_max_outlier_share")]
    pub max_outlier_share: f64,
}

impl Default for BillingOptions {
    fn default() -> Self {
        BillingOptions {
            instance_type_columns: default_instance_type_columns(),
            text_columns: default_text_columns(),
            accelerator_hint_pattern: default_hint_pattern(),
            egress_pattern: default_egress_pattern(),
            per_accelerator_pattern: default_per_accelerator_pattern(),
            component_pattern: default_component_pattern(),
            component_sku_pattern: default_component_sku_pattern(),
            unused_capacity_pattern: default_unused_capacity_pattern(),
            max_gpu_count: default_max_gpu_count(),
            catalog_gap_factor: default_catalog_gap_factor(),
            max_abs_quantity: default_max_abs(),
            max_abs_cost: default_max_abs(),
            earliest_charge_date: default_earliest_charge_date(),
            max_date_gap_days: default_max_date_gap_days(),
            max_outlier_share: default_max_outlier_share(),
        }
    }
}

impl BillingOptions {
    /// The valid values of `max_gpu_count`: accelerators per instance.
    pub const MAX_GPU_COUNT: Valid = Valid::Between {
        min: 1.0,
        min_open: false,
        max: 1e6,
        unit: "accelerators",
    };
    /// The valid values of `catalog_gap_factor`: a multiple of the catalog's highest peak.
    pub const CATALOG_GAP_FACTOR: Valid = Valid::Between {
        min: 1.0,
        min_open: false,
        max: 100.0,
        unit: "a multiple",
    };
    /// The valid values of `max_abs_quantity` and `max_abs_cost`: sums are exact as integers of
    /// whole units, so one value must stay far below what an i64 holds.
    pub const MAX_ABS: Valid = Valid::Between {
        min: 0.0,
        min_open: true,
        max: 1e15,
        unit: "units",
    };
    /// The valid values of `max_date_gap_days`: whole days, 1 to a hundred years.
    pub const MAX_DATE_GAP_DAYS: Valid = Valid::Between {
        min: 1.0,
        min_open: false,
        max: 36_500.0,
        unit: "days",
    };
    /// The valid values of `max_outlier_share`: a fraction.
    pub const MAX_OUTLIER_SHARE: Valid = Valid::Between {
        min: 0.0,
        min_open: false,
        max: 1.0,
        unit: "a fraction",
    };

    /// Checks `earliest_charge_date` (the numbers are checked with every numeric key,
    /// [`NUMERIC_KEYS`]); the error names the key and value.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.earliest_day().map(|_| ())
    }

    /// `earliest_charge_date` as days since the Unix epoch.
    pub fn earliest_day(&self) -> std::result::Result<i32, String> {
        chrono::NaiveDate::parse_from_str(&self.earliest_charge_date, "%Y-%m-%d")
            .map(crate::config::calendar::days_since_epoch)
            .map_err(|e| {
                format!(
                    "billing.earliest_charge_date '{}' is not YYYY-MM-DD: {e}",
                    self.earliest_charge_date
                )
            })
    }
}

fn default_per_accelerator_pattern() -> String {
    // "GPU Hours", "GPU Per Hour", "gpu-hours", GCP's "... GPU running in ..."; not a bare "GPU"
    // category word ("Compute - GPU - BM.GPU.H100.8").
    // TPUs are billed per chip-hour ("TpuV5p running in Sao Paulo", "TPU7x running in Americas",
    // "TpuV5e attached to Spot Preemptible VMs running in Singapore", "Tpu v5 lite pod running"):
    // a TPU generation followed by the SKU's running/attached words.
    concat!(
        r"(?-u:\b)gpus?(?:\s*[-/]\s*|\s+)(?:per\s+)?(?:hours?|hrs?|seconds?|minutes?|days?|running|attached)(?-u:\b)",
        r"|(?-u:\b)tpu[ _-]?v?[0-9]+[a-z]*(?:[ _-](?:lite|pod))*\s+(?:[a-z ]+\s+)?(?:running|attached)(?-u:\b)",
        r"|(?-u:\b)(?:chip|tpu)[ _-]?(?:hours?|hrs?)(?-u:\b)"
    )
    .to_string()
}

fn default_component_pattern() -> String {
    r"(?-u:\b)(cores?|vcpus?|cpus?|ocpus?|ram|memory|gib|gb|gibibytes?|gigabytes?|bytes?|byte-seconds)(?-u:\b)"
        .to_string()
}

/// AWS usage types `UnusedBox`/`UnusedDed` (EC2 user guide, "billing and usage reports": "the
/// unused reserved instance time for Capacity Reservations") and the words of such SKUs.
fn default_unused_capacity_pattern() -> String {
    r"(?-u:\b)unused[ _-]?(?:box|ded|dedicated|reservation|reserved|capacity)".to_string()
}

fn default_component_sku_pattern() -> String {
    // GCP's SKU naming: "A3 Instance Core running in Americas", "N1 Predefined Instance Ram ...",
    // "Custom Instance Core"; not a spec list ("192 vCPUs, 2 TiB memory") or "Tensor Core GPU".
    // A meter named after its component ("ND96isr H100 v5 vCPU") ends with the component word.
    concat!(
        r"(?-u:\b)(?:instance\s+(?:cores?|ram)|(?:cores?|ram|memory)\s+running\s+in)(?-u:\b)",
        r"|(?-u:\b)(?:vcpus?|ocpus?|cores?|ram|memory)\s*$",
        // A commitment or reservation fee names the GPU it buys ("Commitment v1: Nvidia H100 80GB
        // GPU in Americas for 1 Year", "... recurring fee"): bought, not run.
        r"|^\s*commitment(?-u:\b)|(?-u:\b)(?:commitment|upfront|recurring|reservation)\s+fee(?-u:\b)",
        // A software licence billed by the hour beside a GPU ("NVIDIA AI Enterprise license",
        // "Licensing Fee for NVIDIA RTX Virtual Workstation"): not accelerator time.
        r"|(?-u:\b)licen[cs](?:e|es|ing)(?-u:\b)"
    )
    .to_string()
}

/// A new generation has so far at most doubled the dense peak of the one before (V100 125, A100
/// 312, H100 989.5, B200 2250 dense BF16 TFLOPS: catalog `accelerators.csv`).
fn default_catalog_gap_factor() -> f64 {
    2.0
}

fn default_max_gpu_count() -> f64 {
    // The largest catalog entry holds 2048 accelerators (a TPU slice billed as one unit).
    4096.0
}

fn default_max_abs() -> f64 {
    1e12
}

fn default_earliest_charge_date() -> String {
    "2000-01-01".to_string()
}

fn default_max_date_gap_days() -> i32 {
    366
}

fn default_max_outlier_share() -> f64 {
    0.01
}

fn default_instance_type_columns() -> Vec<String> {
    // x_SkuDetails: Microsoft's FOCUS export states the ARM size there (`"ServiceType":
    // "Standard_ND96asr_v4"`) where the meter name is not the size (`ND96asr A100 v4`).
    [
        "x_InstanceType",
        "x_UsageType",
        "x_SkuMeterName",
        "x_SkuDetails",
    ]
    .map(String::from)
    .to_vec()
}

fn default_text_columns() -> Vec<String> {
    ["SkuId", "SkuMeter", "ChargeDescription", "ResourceType"]
        .map(String::from)
        .to_vec()
}

fn default_egress_pattern() -> String {
    r"data ?transfer ?out|datatransfer-out|internet egress|egress|-out-bytes".to_string()
}

/// Word boundaries are ASCII (`(?-u:\b)`): a Unicode `\b` would keep the regex engine off its fast
/// automata and make this test dominate the run on large exports.
fn default_hint_pattern() -> String {
    concat!(
        r"(?-u:\b)(gpu|nvidia|tesla|tpu|accelerat|h100|h200|a100|b200|gb200|mi300|gaudi|trainium|inferentia)",
        // AWS GPU families (gr6 and gr6f are G6 variants with NVIDIA L4); every Azure N-series size
        // (NC, ND, NV, NG: AMD Radeon Pro V620) has GPUs.
        r"|(?-u:\b)(p[2-9][a-z]*|g[2-9][a-z]*|gr[0-9][a-z]*|trn[0-9][a-z]*|inf[0-9][a-z]*|dl[0-9][a-z]*)(-[a-z0-9]+)?\.[a-z0-9]*large(?-u:\b)",
        r"|(?-u:\b)BM\.GPU|(?-u:\b)VM\.GPU|(?-u:\b)Standard_N[A-Z]",
        // Azure N-series meter spellings: "NC24rs v3", "ND96asr A100 v4", "ND128isrNDRGB200v6".
        r"|(?-u:\b)N[CDGV]C?[0-9]+[a-z0-9]*?(?:[ _][a-z0-9]+)*?[ _]?v[0-9](?-u:\b)",
        // GPU-hour units and GPU clouds' per-GPU products ("8xH100", "gpu_8x_h100").
        r"|(?-u:\b)(?:l4|l40s?|t4|v100|a10g?|b300|gb300|mi[0-9]{3}x?|rtx)(?-u:\b)",
        r"|(?-u:\b)[0-9]+x[_-]?(?:h100|h200|a100|b200|b300|gb200|l40s)"
    )
    .to_string()
}

/// Where the configuration came from, for the manifest and error messages.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    File(PathBuf),
    Embedded,
}

impl ConfigSource {
    /// The file name alone (or the embedded default's description): what the manifest and the
    /// documents print, so they do not depend on the folder the run was started from.
    pub fn short(&self) -> String {
        match self {
            ConfigSource::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| p.display().to_string()),
            ConfigSource::Embedded => self.describe(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ConfigSource::File(p) => p.display().to_string(),
            ConfigSource::Embedded => "embedded default (data-samples/cipwatch.toml)".to_string(),
        }
    }
}

/// Reads the configuration: the given file, else `./cipwatch.toml`, else `./data-samples/cipwatch.toml`
/// (so editing the sample configuration has an effect), else the embedded copy of it when
/// `./data-samples/` exists without one. Returns the parsed file, its source, its text and the folder
/// its relative paths start from.
///
/// Errors: usage (exit 2) when there is no configuration here at all, saying to pass `--config`;
/// configuration errors naming the file.
pub fn load(explicit: Option<&Path>) -> Result<(ConfigFile, ConfigSource, String, PathBuf)> {
    let sample = Path::new(DEFAULT_CONFIG_BASE).join("cipwatch.toml");
    let (source, text, base) = match explicit {
        Some(path) => (
            ConfigSource::File(path.to_path_buf()),
            read(path)?,
            parent(path),
        ),
        None if Path::new("cipwatch.toml").is_file() => {
            let path = Path::new("cipwatch.toml");
            (
                ConfigSource::File(path.to_path_buf()),
                read(path)?,
                PathBuf::from("."),
            )
        }
        None if sample.is_file() => (
            ConfigSource::File(sample.clone()),
            read(&sample)?,
            PathBuf::from(DEFAULT_CONFIG_BASE),
        ),
        None if Path::new(DEFAULT_CONFIG_BASE).is_dir() => (
            ConfigSource::Embedded,
            DEFAULT_CONFIG.to_string(),
            PathBuf::from(DEFAULT_CONFIG_BASE),
        ),
        None => {
            let here = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| ".".into());
            return Err(Error::Usage(format!(
                "no cipwatch.toml in {here} (nor data-samples/cipwatch.toml): pass --config FILE, \
                 or run from the repository root to use the samples"
            )));
        }
    };
    let parsed: ConfigFile =
        toml::from_str(&text).map_err(|e| Error::toml(source.describe(), &text, &e))?;
    parsed.check_ranges().map_err(|e| match e {
        Error::Usage(message) => Error::config(source.describe(), message),
        other => other,
    })?;
    Ok((parsed, source, text, base))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::config(path.display(), format!("cannot read: {e}")))
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn dates_people_type_are_exactly_yyyy_mm_dd() {
        assert_eq!(
            iso_date("2026-01-05").map(|d| d.to_string()).as_deref(),
            Some("2026-01-05")
        );
        for loose in [
            "2026-1-5",
            "2026-01-5",
            "26-01-05",
            " 2026-01-05",
            "2026/01/05",
            "2026-02-30",
            "+2026-01-0",
        ] {
            assert_eq!(iso_date(loose), None, "{loose}");
        }
    }
}
