//! The plan: command-line flags, the configuration file, the rule profile and every override,
//! turned into one validated, typed value before any data is read. Stages read the plan, never
//! flags or files of their own, so a bad flag fails in milliseconds with exit code 2.

use chrono::NaiveDate;
use std::path::{Path, PathBuf};

use crate::config::link_key::LinkKey;
use crate::config::{self, profile, BillingOptions, ConfigSource, Provider};
use crate::documents::{templates::Templates, Drafts};
use crate::error::{Error, Result};
use crate::sources::files::{self, InputFile};
use crate::sources::native::Mappings;
use crate::transforms::queries::{self, QuerySet};

/// What the user asked for, as parsed by the command line.
#[derive(Debug, Clone, Default)]
pub struct PlanArgs {
    pub config: Option<PathBuf>,
    pub as_of: Option<String>,
    pub sets: Vec<String>,
    pub params_file: Option<PathBuf>,
    pub queries: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub drafts: Drafts,
    pub allow_stale: bool,
    pub out: Option<PathBuf>,
}

/// Every input, resolved to files and fingerprinted.
#[derive(Debug)]
pub struct PlannedInputs {
    pub billing: Vec<InputFile>,
    pub telemetry: Vec<InputFile>,
    pub customers: Vec<InputFile>,
    pub beneficial_owners: Vec<InputFile>,
    pub access_log: Vec<InputFile>,
    pub resellers: Vec<InputFile>,
}

pub struct Plan {
    pub config_source: ConfigSource,
    pub config_sha256: String,
    pub inputs: PlannedInputs,
    pub catalog_dir: Option<PathBuf>,
    pub output_dir: PathBuf,
    pub profile: profile::EffectiveProfile,
    pub as_of: Option<NaiveDate>,
    pub queries: QuerySet,
    pub templates: Templates,
    pub drafts: Drafts,
    pub allow_stale: bool,
    pub registry_max_age_days: i64,
    /// The registry's export date (`[registry] exported_at`), where the configuration gives one.
    pub registry_exported_at: Option<NaiveDate>,
    pub billing: BillingOptions,
    pub billing_format: Option<String>,
    pub mappings: Mappings,
    pub provider: Provider,
    /// The secret key of the account links; the manifest records its source and fingerprint.
    pub link_key: LinkKey,
}

impl PlannedInputs {
    /// The inputs by name, in a fixed order.
    pub fn named(&self) -> Vec<(&'static str, &[InputFile])> {
        vec![
            ("billing", &self.billing),
            ("telemetry", &self.telemetry),
            ("customers", &self.customers),
            ("beneficial_owners", &self.beneficial_owners),
            ("access_log", &self.access_log),
            ("resellers", &self.resellers),
        ]
    }
}

impl Plan {
    /// The validated plan in plain text, for `run --dry-run`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "config: {} (sha256 {})",
            self.config_source.describe(),
            self.config_sha256
        ));
        line(format!("output: {}", self.output_dir.display()));
        line(format!(
            "as-of: {}",
            self.as_of
                .map(|d| d.to_string())
                .unwrap_or_else(|| "latest charge date in billing".into())
        ));
        line("inputs:".into());
        for (name, files) in self.inputs.named() {
            for f in files {
                line(format!(
                    "  {name}: {} ({} bytes, sha256 {})",
                    f.display, f.bytes, f.sha256
                ));
            }
            if files.is_empty() {
                line(format!("  {name}: none"));
            }
        }
        line(format!(
            "catalog: {}",
            self.catalog_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "embedded".into())
        ));
        let info = &self.profile.info;
        line(format!(
            "profile: {} version {} ({}): {}",
            info.name, info.version, info.origin, info.title
        ));
        line("parameters:".into());
        for (key, p) in &self.profile.provenance {
            line(format!("  {key} = {} ({})", p.display(), p.source));
        }
        line("queries:".into());
        for q in &self.queries.queries {
            line(format!("  {} ({})", q.file_name(), q.origin));
        }
        line("templates:".into());
        for (name, origin) in &self.templates.origins {
            line(format!("  {name} ({origin})"));
        }
        line(format!(
            "drafts: {:?}; allow stale: {}; registry max age: {} days; registry exported at: {}",
            self.drafts,
            self.allow_stale,
            self.registry_max_age_days,
            self.registry_exported_at
                .map(|d| d.to_string())
                .unwrap_or_else(|| "not given (newest record up to the as-of date)".into())
        ));
        out
    }
}

pub fn build(args: &PlanArgs) -> Result<Plan> {
    let (cfg, config_source, text, base) = config::load(args.config.as_deref())?;
    let as_of = args.as_of.as_deref().map(parse_date).transpose()?;
    let profile = resolve_profile(&cfg, &config_source, &base, args)?;
    for (key, pattern) in [
        (
            "billing.accelerator_hint_pattern",
            &cfg.billing.accelerator_hint_pattern,
        ),
        ("billing.egress_pattern", &cfg.billing.egress_pattern),
        (
            "billing.per_accelerator_pattern",
            &cfg.billing.per_accelerator_pattern,
        ),
        ("billing.component_pattern", &cfg.billing.component_pattern),
        (
            "billing.component_sku_pattern",
            &cfg.billing.component_sku_pattern,
        ),
    ] {
        regex::Regex::new(&format!("(?i){pattern}"))
            .map_err(|e| Error::config(config_source.describe(), format!("{key}: {e}")))?;
    }
    cfg.billing
        .validate()
        .map_err(|e| Error::config(config_source.describe(), e))?;
    let queries = queries::load(args.queries.as_deref())?;
    let templates = Templates::load(args.templates.as_deref())?;
    let mappings = Mappings::load(args.queries.as_deref())?;
    if let Some(f) = &cfg.inputs.billing_format {
        if f != "focus" && mappings.get(f).is_none() {
            return Err(Error::config(
                config_source.describe(),
                format!(
                    "inputs.billing_format '{f}' is not one of: focus, {}",
                    mappings.names().join(", ")
                ),
            ));
        }
    }
    let registry_exported_at = cfg.registry.export_date(&config_source)?;
    let output_dir = args
        .out
        .clone()
        .unwrap_or_else(|| base.join(&cfg.output.dir));
    check_output_dir(&output_dir, &config_source, args.out.is_some())?;
    let inputs = PlannedInputs {
        billing: input(&base, &cfg.inputs.billing)?,
        telemetry: match &cfg.inputs.telemetry {
            Some(spec) => input(&base, spec)?,
            None => Vec::new(),
        },
        customers: input(&base, &cfg.inputs.customers)?,
        beneficial_owners: input(&base, &cfg.inputs.beneficial_owners)?,
        access_log: input(&base, &cfg.inputs.access_log)?,
        resellers: input(&base, &cfg.inputs.resellers)?,
    };
    let catalog_dir = cfg.inputs.catalog.as_ref().map(|c| base.join(c));
    if let Some(dir) = &catalog_dir {
        if !dir.is_dir() {
            return Err(Error::Reference(format!(
                "{}: catalog folder not found",
                dir.display()
            )));
        }
    }
    let link_key = LinkKey::resolve(
        cfg.links.key_file.as_ref().map(|f| base.join(f)).as_deref(),
        &config_source.describe(),
    )?;
    Ok(Plan {
        link_key,
        config_sha256: files::sha256_bytes(text.as_bytes()),
        config_source,
        inputs,
        catalog_dir,
        output_dir,
        profile,
        as_of,
        queries,
        templates,
        drafts: args.drafts,
        allow_stale: args.allow_stale,
        registry_max_age_days: cfg.registry.max_age_days,
        registry_exported_at,
        billing: cfg.billing,
        billing_format: cfg.inputs.billing_format.clone(),
        mappings,
        provider: cfg.provider,
    })
}

/// The output folder, or the nearest of its parents that exists, must be a folder: a regular file
/// there is a configuration error (exit 2) naming `output.dir`.
fn check_output_dir(dir: &Path, source: &ConfigSource, from_flag: bool) -> Result<()> {
    let Some(existing) = dir.ancestors().find(|a| a.exists()) else {
        return Ok(());
    };
    if existing.is_dir() {
        return Ok(());
    }
    let key = if from_flag {
        "output.dir (--out)"
    } else {
        "output.dir"
    };
    let what = if existing == dir {
        format!("{} is a file, not a folder", dir.display())
    } else {
        format!(
            "{} lies under {}, which is a file",
            dir.display(),
            existing.display()
        )
    };
    Err(Error::config(source.describe(), format!("{key}: {what}")))
}

fn resolve_profile(
    cfg: &config::ConfigFile,
    source: &ConfigSource,
    base: &Path,
    args: &PlanArgs,
) -> Result<profile::EffectiveProfile> {
    let (info, params) = profile::load(&cfg.profile, base)?;
    let mut layers = vec![profile::Layer {
        source: format!("config {}", source.describe()),
        values: cfg.overrides.clone(),
    }];
    if let Some(path) = &args.params_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("--params {}: {e}", path.display())))?;
        let values: toml::Table =
            toml::from_str(&text).map_err(|e| Error::config(path.display(), e.message()))?;
        layers.push(profile::Layer {
            source: format!("params {}", path.display()),
            values,
        });
    }
    layers.push(profile::Layer {
        source: "--set".into(),
        values: profile::parse_sets(&args.sets)?,
    });
    profile::resolve(info, params, &layers)
}

fn input(base: &Path, spec: &str) -> Result<Vec<InputFile>> {
    files::resolve(base, spec)?
        .iter()
        .map(|p| files::inspect(p, base))
        .collect()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| Error::Usage(format!("--as-of '{s}' is not a date (YYYY-MM-DD)")))
}
