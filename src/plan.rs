//! The plan: command-line flags, the configuration file, the rule profile and every override,
//! turned into one validated, typed value before any data is read (inputs resolved to files and
//! hashed, queries, templates and mappings loaded, the link key found), so a bad flag fails in
//! milliseconds with exit code 2. The pipeline hands each stage its part of the plan as typed
//! values; no stage reads flags or the configuration itself, and the environment only through the
//! variables `config::env` declares (the browser, diagnostic switches, debug-build test hooks).

use chrono::NaiveDate;
use std::path::{Path, PathBuf};

use crate::config::link_key::LinkKey;
use crate::config::{self, profile, BillingOptions, ConfigSource, Provider};
use crate::documents::{templates::Templates, Drafts};
use crate::error::{Error, Result};
use crate::sources::answers::Answers;
use crate::sources::billing::native::Mappings;
use crate::sources::files::{self, InputFile};
use crate::state::filings::FilingLog;
use crate::state::scenario;
use crate::transforms::queries::{self, QuerySet};
use crate::transforms::registry::RegistryFiles;

/// What the user asked for on the command line: the flags every pipeline command shares, each
/// defined once here (clap) and validated into a [`Plan`] by [`build`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PlanArgs {
    /// Configuration file (default: ./cipwatch.toml if present, else the embedded sample config).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// As-of date, YYYY-MM-DD (default: the latest charge date in the billing data).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Override a rule-profile parameter, e.g. --set training_ops=1e24 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// TOML file of rule-profile parameter overrides (below --set in precedence).
    #[arg(long = "params", value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// Folder of .sql files replacing embedded queries of the same name.
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Folder of Tera templates replacing embedded templates of the same name.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Which accounts get a report draft: reportable (default) or watch (REPORTABLE and WATCH).
    #[arg(long, value_enum, default_value_t = Drafts::Reportable)]
    pub drafts: Drafts,
    /// Run even if the CIP registry is older than allowed or the catalog lacks a peak figure
    /// (recorded in the manifest and shown on every document).
    #[arg(long)]
    pub allow_stale: bool,
    /// Output folder (default: the configuration's [output] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Publish as a what-if scenario under <out>/scenarios/NAME/ (implied by --set and --params;
    /// the default name derives from the overrides).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Also print every HTML document to PDF (needs Chromium: tests/browser/setup.sh).
    #[arg(long)]
    pub pdf: bool,
    /// Stage 2 only: take stage 1's result from this prepared dataset (made by `cipwatch stage1`
    /// or engines/spark/stage1.py) instead of reading the billing files.
    #[arg(long, value_name = "DIR")]
    pub prepared: Option<PathBuf>,
    /// Also write an UNMASKED copy of the filing documents (report drafts and certification) into
    /// filing-copy-UNMASKED/ of the run folder, for the filing itself (off by default).
    #[arg(long)]
    pub filing_copy: bool,
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
    /// Print every HTML document to PDF too (`--pdf`).
    pub pdf: bool,
    /// Write an unmasked copy of the filing documents (`--filing-copy`).
    pub filing_copy: bool,
    pub registry_max_age_days: i64,
    /// The registry's export date (`[registry] exported_at`), where the configuration gives one.
    pub registry_exported_at: Option<NaiveDate>,
    pub billing: BillingOptions,
    pub billing_format: Option<String>,
    pub mappings: Mappings,
    /// `--prepared`: the prepared dataset stage 1's result is read from (its files are then the
    /// billing inputs, as its parts record them).
    pub prepared: Option<PathBuf>,
    pub provider: Provider,
    /// The secret key of the account links; the manifest records its source and fingerprint.
    pub link_key: LinkKey,
    /// The folder the configuration's relative paths start from.
    pub config_base: PathBuf,
    /// Set for a what-if run (`--set`, `--params` or `--scenario`): its scenario name.
    pub scenario: Option<String>,
    /// Regulatory numbers in force that differ from the rule profile's (`training_ops 1e24 (rule: 1e26)`).
    pub rule_deviations: Vec<String>,
    /// Counsel's answers files, validated.
    pub answers: Answers,
    /// The filing log, `<out>/filings.jsonl`, with the keys of its tokens.
    pub filings: FilingLog,
    /// `[screening]`: the list snapshots, located and hashed; none without the section.
    pub screening: Option<crate::transforms::screening::ScreeningPlan>,
}

impl PlannedInputs {
    /// The CIP registry's files.
    pub fn registry(&self) -> RegistryFiles<'_> {
        RegistryFiles {
            customers: &self.customers,
            beneficial_owners: &self.beneficial_owners,
            access_log: &self.access_log,
            resellers: &self.resellers,
        }
    }

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
    /// Where this run publishes: the output folder, or `<out>/scenarios/<name>` for a scenario.
    pub fn publish_root(&self) -> PathBuf {
        scenario::publish_root(&self.output_dir, self.scenario.as_deref())
    }

    /// A path as the manifest shows it: relative to the configuration's folder when inside it.
    pub fn relative(&self, path: &str) -> String {
        if let Ok(rel) = Path::new(path).strip_prefix(&self.config_base) {
            return rel.display().to_string();
        }
        let (Ok(base), Ok(full)) = (
            std::fs::canonicalize(&self.config_base),
            std::fs::canonicalize(path),
        ) else {
            return path.to_string();
        };
        full.strip_prefix(&base)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.to_string())
    }

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
        for key in profile::PARAMETERS.iter().map(|p| p.name) {
            if let Some(p) = self.profile.provenance.get(key) {
                line(format!("  {key} = {} ({})", p.display(), p.source));
            }
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
        if let Some(s) = &self.screening {
            line(format!(
                "screening: {} list files; snapshot date {}; max age {} days; candidates from score {}",
                s.files.len(),
                s.downloaded_on
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "the oldest file's modification time".into()),
                s.max_age_days,
                s.min_score
            ));
            for f in &s.files {
                line(format!(
                    "  {} ({} bytes, sha256 {}, modified {})",
                    f.file, f.bytes, f.sha256, f.modified
                ));
            }
        }
        line(format!(
            "publishes to: {}{}",
            self.publish_root().display(),
            match &self.scenario {
                Some(n) => format!(" (scenario {n}: the filing run's outputs are not touched)"),
                None => " (filing run)".into(),
            }
        ));
        for d in &self.rule_deviations {
            line(format!("NOT ASSESSED UNDER THE RULE'S THRESHOLDS: {d}"));
        }
        line(format!(
            "answers: {} ({} files)",
            self.answers.dir.display(),
            self.answers.accounts.len()
        ));
        out
    }
}

/// The validated plan of a run that may publish: a scenario folder holding a what-if made with
/// other overrides is refused ([`scenario::check_same_overrides`]).
///
/// Errors: usage or configuration (exit 2), reference data (exit 4), as each check's.
pub fn build(args: &PlanArgs) -> Result<Plan> {
    build_with(args, true)
}

/// The plan of a command that reads what was published and publishes nothing (`explain`): a
/// scenario folder is read whatever overrides made it.
///
/// Errors: as [`build`]'s, less the scenario folder's.
pub fn build_for_reading(args: &PlanArgs) -> Result<Plan> {
    build_with(args, false)
}

fn build_with(args: &PlanArgs, publishes: bool) -> Result<Plan> {
    let (cfg, config_source, text, base) = config::load(args.config.as_deref())?;
    let as_of = args.as_of.as_deref().map(parse_date).transpose()?;
    let (mut profile, rule) = resolve_profile(&cfg, &config_source, &base, args)?;
    if let Some(file) = &cfg.inputs.country_groups {
        profile.use_country_groups(&config::country_groups::load(&base.join(file))?);
    }
    let rule_deviations = scenario::deviations(&rule, &profile.provenance);
    let scenario = scenario::name(
        args.scenario.as_deref(),
        &args.sets,
        args.params_file.as_deref(),
    )?;
    if scenario.is_some() && args.filing_copy {
        return Err(Error::Usage(
            "--filing-copy is for filing runs: a what-if scenario (--set, --params or --scenario) is not for filing".into(),
        ));
    }
    let answers = Answers::load(&base.join(cfg.answers.dir.as_deref().unwrap_or("answers")))?;
    let queries = queries::load(args.queries.as_deref())?;
    let templates = Templates::load(args.templates.as_deref())?;
    let mappings = billing_definitions(&cfg, &config_source, args)?;
    let registry_exported_at = cfg.registry.export_date(&config_source)?;
    let output_dir = args
        .out
        .clone()
        .unwrap_or_else(|| base.join(&cfg.output.dir));
    check_output_dir(&output_dir, &config_source, args.out.is_some())?;
    if let Some(name) = scenario.as_ref().filter(|_| publishes) {
        let parameters = serde_json::to_value(&profile.provenance)
            .map_err(|e| Error::internal("the effective parameters", e))?;
        scenario::check_same_overrides(
            &scenario::publish_root(&output_dir, Some(name)),
            &parameters,
        )?;
    }
    let inputs = planned_inputs(&cfg.inputs, &base, args.prepared.as_deref())?;
    let catalog_dir = catalog_dir(&cfg.inputs, &base)?;
    let link_key = LinkKey::resolve(
        cfg.links.key_file.as_ref().map(|f| base.join(f)).as_deref(),
        &config_source.describe(),
    )?;
    let filings = FilingLog::open(&output_dir, &link_key)?;
    let screening = match &cfg.screening {
        Some(s) => Some(crate::transforms::screening::ScreeningPlan::resolve(
            &base,
            &s.files,
            s.download_date(&config_source)?,
            s.max_age_days,
            s.min_score,
        )?),
        None => None,
    };
    Ok(Plan {
        screening,
        link_key,
        config_base: base.clone(),
        scenario,
        rule_deviations,
        answers,
        filings,
        config_sha256: crate::fingerprint::sha256_bytes(text.as_bytes()),
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
        pdf: args.pdf,
        filing_copy: args.filing_copy,
        registry_max_age_days: cfg.registry.max_age_days,
        registry_exported_at,
        billing: cfg.billing,
        billing_format: cfg.inputs.billing_format.clone(),
        mappings,
        prepared: args.prepared.clone(),
        provider: cfg.provider,
    })
}

/// What stage 1 alone needs (`cipwatch stage1`): the billing files, how to read them, the catalog
/// and the profile's peak precision. Nothing else of the configuration is resolved, so stage 1
/// runs where only the billing files are (a Spark executor).
pub struct Stage1Plan {
    pub billing_files: Vec<InputFile>,
    pub billing: BillingOptions,
    pub billing_format: Option<String>,
    pub mappings: Mappings,
    pub catalog_dir: Option<PathBuf>,
    pub profile: profile::EffectiveProfile,
}

/// Which billing files a stage 1 plan reads.
pub enum Stage1Billing<'a> {
    /// None (the Spark job: its files are the driver's to find).
    None,
    /// Files, folders or globs relative to the current folder (the configuration's when empty);
    /// `known_as`: the one file's name where it was copied from (a path or a URI), which the
    /// prepared dataset records in its place.
    Named {
        specs: &'a [String],
        known_as: Option<&'a str>,
    },
}

/// The stage 1 plan for `billing`.
///
/// Errors: as [`build`]'s for the parts it shares (config 2, input 3); `known_as` with other than
/// one file (usage, 2).
pub fn build_stage1(args: &PlanArgs, billing: Stage1Billing) -> Result<Stage1Plan> {
    let (cfg, config_source, _, base) = config::load(args.config.as_deref())?;
    let (profile, _) = resolve_profile(&cfg, &config_source, &base, args)?;
    let mappings = billing_definitions(&cfg, &config_source, args)?;
    let billing_files =
        match billing {
            Stage1Billing::None => Vec::new(),
            Stage1Billing::Named { specs: [], .. } => input(&base, &cfg.inputs.billing)?,
            Stage1Billing::Named { specs, known_as } => {
                let mut files = named_billing(specs, &base)?;
                if let Some(name) = known_as {
                    match files.as_mut_slice() {
                        [one] => known_as_name(one, name, &base),
                        _ => return Err(Error::Usage(
                            "--source-name names one billing file: give one --billing file with it"
                                .into(),
                        )),
                    }
                }
                files
            }
        };
    Ok(Stage1Plan {
        billing_files,
        catalog_dir: catalog_dir(&cfg.inputs, &base)?,
        billing: cfg.billing,
        billing_format: cfg.inputs.billing_format.clone(),
        mappings,
        profile,
    })
}

/// Billing files named on the command line (relative to the current folder), shown relative to
/// the configuration's folder where they lie inside it, as the configuration's own would be.
fn named_billing(specs: &[String], base: &Path) -> Result<Vec<InputFile>> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Usage(format!("the current folder cannot be read: {e}")))?;
    let canonical_base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
    let mut files = Vec::new();
    for spec in specs {
        for path in files::resolve(&cwd, spec)? {
            let full = std::fs::canonicalize(&path).unwrap_or(path);
            files.push(files::inspect(&full, &canonical_base)?);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Records `file` under the name it was copied from: a local path or `file:` URI is shown as the
/// configuration's own files are (relative to its folder); another URI (`s3a://...`) as it is.
/// Stage 1 reads the file given (the copy), whose SHA-256 and size the part records; the part
/// records the name as the file's place (`origin`), where stage 2 finds it again.
fn known_as_name(file: &mut InputFile, name: &str, base: &Path) {
    let local = name
        .strip_prefix("file://")
        .or_else(|| name.strip_prefix("file:"))
        .or_else(|| (!name.contains("://")).then_some(name));
    match local {
        Some(path) => {
            let canonical_base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
            let path = Path::new(path);
            file.display = path
                .strip_prefix(&canonical_base)
                .unwrap_or(path)
                .display()
                .to_string();
            file.origin = Some(path.to_path_buf());
        }
        None => {
            file.display = name.to_string();
            file.origin = Some(PathBuf::from(name));
        }
    }
}

/// The billing definitions checked (patterns compile, values valid, a forced format exists) and
/// the mappings loaded.
fn billing_definitions(
    cfg: &config::ConfigFile,
    config_source: &ConfigSource,
    args: &PlanArgs,
) -> Result<Mappings> {
    check_billing_options(&cfg.billing, config_source)?;
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
    Ok(mappings)
}

/// The billing options' patterns compile and their values are valid (exit 2 otherwise).
fn check_billing_options(billing: &BillingOptions, source: &ConfigSource) -> Result<()> {
    for (key, pattern) in [
        (
            "billing.accelerator_hint_pattern",
            &billing.accelerator_hint_pattern,
        ),
        ("billing.egress_pattern", &billing.egress_pattern),
        (
            "billing.per_accelerator_pattern",
            &billing.per_accelerator_pattern,
        ),
        ("billing.component_pattern", &billing.component_pattern),
        (
            "billing.component_sku_pattern",
            &billing.component_sku_pattern,
        ),
        (
            "billing.unused_capacity_pattern",
            &billing.unused_capacity_pattern,
        ),
    ] {
        regex::Regex::new(&format!("(?i){pattern}"))
            .map_err(|e| Error::config(source.describe(), format!("{key}: {e}")))?;
    }
    billing
        .validate()
        .map_err(|e| Error::config(source.describe(), e))
}

/// Every input of the configuration resolved to files and fingerprinted.
///
/// With a prepared dataset, the billing files are those its parts record (not read, not hashed
/// again: they may live where only stage 1 ran).
fn planned_inputs(
    inputs: &config::Inputs,
    base: &Path,
    prepared: Option<&Path>,
) -> Result<PlannedInputs> {
    Ok(PlannedInputs {
        billing: match prepared {
            Some(dir) => crate::sources::prepared_dataset::billing_files(dir)?,
            None => input(base, &inputs.billing)?,
        },
        telemetry: match &inputs.telemetry {
            Some(spec) => input(base, spec)?,
            None => Vec::new(),
        },
        customers: input(base, &inputs.customers)?,
        beneficial_owners: input(base, &inputs.beneficial_owners)?,
        access_log: input(base, &inputs.access_log)?,
        resellers: input(base, &inputs.resellers)?,
    })
}

/// The configured catalog folder, which must exist (exit 4); `None` for the embedded catalog.
fn catalog_dir(inputs: &config::Inputs, base: &Path) -> Result<Option<PathBuf>> {
    let dir = inputs.catalog.as_ref().map(|c| base.join(c));
    match &dir {
        Some(d) if !d.is_dir() => Err(Error::Reference(format!(
            "{}: catalog folder not found",
            d.display()
        ))),
        _ => Ok(dir),
    }
}

/// The output folder, or the nearest of its parents that exists, must be a folder: a regular file
/// there is a configuration error (exit 2) naming `output.dir`.
fn check_output_dir(dir: &Path, source: &ConfigSource, from_flag: bool) -> Result<()> {
    let Some(existing) = dir.ancestors().find(|a| a.exists()) else {
        return Ok(());
    };
    if existing.is_dir() {
        return match existing == dir {
            true => shared_folder_refused(dir, source, from_flag),
            false => Ok(()),
        };
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

/// An existing output folder that every user may write to (`/tmp`, mode 1777) is refused: cipwatch
/// makes its output folder owner-only, and must not change a shared folder or let other users
/// plant files (links, runs) in it.
fn shared_folder_refused(dir: &Path, source: &ConfigSource, from_flag: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_or(0, |m| m.permissions().mode());
        if mode & 0o1002 != 0 {
            let key = if from_flag {
                "output.dir (--out)"
            } else {
                "output.dir"
            };
            return Err(Error::config(
                source.describe(),
                format!(
                    "{key}: {} is writable by every user (mode {:o}); give cipwatch a folder of its own",
                    dir.display(),
                    mode & 0o7777
                ),
            ));
        }
    }
    Ok(())
}

fn resolve_profile(
    cfg: &config::ConfigFile,
    source: &ConfigSource,
    base: &Path,
    args: &PlanArgs,
) -> Result<(profile::EffectiveProfile, toml::Table)> {
    let (info, params) = profile::load(&cfg.profile, base)?;
    let rule = params.clone();
    let mut layers = vec![profile::Layer {
        source: format!("config {}", source.short()),
        values: cfg.overrides.clone(),
    }];
    if let Some(path) = &args.params_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Usage(format!("--params {}: {e}", path.display())))?;
        let values: toml::Table =
            toml::from_str(&text).map_err(|e| Error::toml(path.display(), &text, &e))?;
        let name = path.file_name().unwrap_or(path.as_os_str());
        layers.push(profile::Layer {
            source: format!("params {}", name.to_string_lossy()),
            values,
        });
    }
    layers.push(profile::Layer {
        source: "--set".into(),
        values: profile::parse_sets(&args.sets)?,
    });
    Ok((profile::resolve(info, params, &layers)?, rule))
}

fn input(base: &Path, spec: &str) -> Result<Vec<InputFile>> {
    files::resolve(base, spec)?
        .iter()
        .map(|p| files::inspect(p, base))
        .collect()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    crate::config::iso_date(s)
        .ok_or_else(|| Error::Usage(format!("--as-of '{s}' is not a date (YYYY-MM-DD)")))
}
