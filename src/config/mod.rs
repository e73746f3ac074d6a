//! The configuration file (`cipwatch.toml`) and the rule profiles. Both are read strictly
//! (`deny_unknown_fields`): a misspelt key is an error that names it, never a silent default.

pub mod link_key;
pub mod profile;

use serde::Deserialize;
use std::path::{Path, PathBuf};

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
    /// The run fails (exit 4) when the registry's newest record is older than this many days
    /// before the as-of date, unless `--allow-stale` is given.
    #[serde(default = "default_max_age_days")]
    pub max_age_days: i32,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            max_age_days: default_max_age_days(),
        }
    }
}

fn default_max_age_days() -> i32 {
    7
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
}

impl Default for BillingOptions {
    fn default() -> Self {
        BillingOptions {
            instance_type_columns: default_instance_type_columns(),
            text_columns: default_text_columns(),
            accelerator_hint_pattern: default_hint_pattern(),
            egress_pattern: default_egress_pattern(),
        }
    }
}

fn default_instance_type_columns() -> Vec<String> {
    ["x_InstanceType", "x_UsageType", "x_SkuMeterName"]
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
        r"|(?-u:\b)(p[2-9][a-z]*|g[2-9][a-z]*|trn[0-9][a-z]*|inf[0-9][a-z]*|dl[0-9][a-z]*)(-[a-z0-9]+)?\.[a-z0-9]*large(?-u:\b)",
        r"|(?-u:\b)BM\.GPU|(?-u:\b)VM\.GPU|(?-u:\b)Standard_N[CDV]"
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
        toml::from_str(&text).map_err(|e| Error::config(source.describe(), e.message()))?;
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
