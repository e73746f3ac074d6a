//! The command line: subcommands and flags (clap), validated into plans and handed to the
//! commands. Kept apart from `main.rs` so tests can drive the same entry point.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

use crate::commands;
use crate::documents::Drafts;
use crate::error::Result;
use crate::plan::PlanArgs;

#[derive(Debug, Parser)]
#[command(
    name = "cipwatch",
    version,
    about = "CIP and AI-training-run reporting for US IaaS providers"
)]
pub struct Cli {
    /// Log format on stderr: human, or json (one object per line) for schedulers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Log warnings and errors only.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline and publish outputs to <out>/<as-of>/ (or each date of --from/--to).
    Run(RunArgs),
    /// Check configuration, rule profile, queries, templates, catalog and inputs end to end; write nothing.
    Validate(CommonArgs),
    /// Explain one account's level: the rows, catalog figures, arithmetic, thresholds and CIP facts.
    Explain(ExplainArgs),
    /// Compare two published runs (default: the two latest in the output folder).
    Diff(DiffArgs),
    /// Write a template answers file (answers/ACCOUNT.toml) for counsel's TO COMPLETE blocks.
    Answers(AnswersArgs),
    /// Record that an account's report was filed (appends to <out>/filings.jsonl).
    Filed(FiledArgs),
    /// List the published what-if scenarios.
    Scenarios(ScenariosArgs),
}

#[derive(Debug, Args)]
pub struct CommonArgs {
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
    /// Also write an UNMASKED copy of the filing documents (report drafts and certification) into
    /// filing-copy-UNMASKED/ of the run folder, for the filing itself (off by default).
    #[arg(long)]
    pub filing_copy: bool,
}

/// Where a counsel command finds the output folder and the configuration.
#[derive(Debug, Args)]
pub struct OutArgs {
    /// Configuration file (default: ./cipwatch.toml if present, else the embedded sample config).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output folder (default: the configuration's [output] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AnswersArgs {
    /// The billing account whose answers file to create.
    pub account_id: String,
    #[command(flatten)]
    pub target: OutArgs,
}

#[derive(Debug, Args)]
pub struct FiledArgs {
    /// The billing account whose report was filed.
    pub account_id: String,
    /// The reference the authority gave the filing (kept by every later updated report).
    #[arg(long)]
    pub reference: String,
    /// The date the report was filed, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// The filing run whose draft was filed: an as-of date under the output folder (default: the
    /// latest filing run with a draft for the account).
    #[arg(long, value_name = "AS_OF")]
    pub run: Option<String>,
    #[command(flatten)]
    pub target: OutArgs,
}

#[derive(Debug, Args)]
pub struct ScenariosArgs {
    #[command(flatten)]
    pub target: OutArgs,
    /// Output format: text or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Backfill: first as-of date (with --to), each date run in order.
    #[arg(long, requires = "to", conflicts_with = "as_of")]
    pub from: Option<String>,
    /// Backfill: last as-of date (with --from).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Print the validated plan (inputs, profile, effective parameters, queries, templates) and exit.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The billing account to explain.
    pub account_id: String,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output format: text or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older run: a folder, or an as-of date under the output folder (default: second latest).
    pub run_a: Option<String>,
    /// The newer run (default: the latest).
    pub run_b: Option<String>,
    /// Configuration file, for its output folder.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output folder holding the runs (default: the configuration's [output] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Report accounts whose estimate changed by more than this fraction.
    #[arg(long, default_value_t = 0.1)]
    pub change: f64,
    /// Output format: text, csv or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl From<&CommonArgs> for PlanArgs {
    fn from(a: &CommonArgs) -> Self {
        PlanArgs {
            config: a.config.clone(),
            as_of: a.as_of.clone(),
            sets: a.sets.clone(),
            params_file: a.params_file.clone(),
            queries: a.queries.clone(),
            templates: a.templates.clone(),
            drafts: a.drafts,
            allow_stale: a.allow_stale,
            out: a.out.clone(),
            scenario: a.scenario.clone(),
            pdf: a.pdf,
            filing_copy: a.filing_copy,
        }
    }
}

/// Runs a parsed command line; returns the process exit code.
pub fn execute(cli: Cli) -> Result<i32> {
    commands::init_logging(cli.log_format, cli.quiet);
    match cli.command {
        Command::Run(args) => commands::run::run(&args),
        Command::Validate(args) => commands::run::validate(&args),
        Command::Explain(args) => commands::explain::explain(&args),
        Command::Diff(args) => commands::diff::diff(&args),
        Command::Answers(args) => commands::counsel::answers(&args),
        Command::Filed(args) => commands::counsel::filed(&args),
        Command::Scenarios(args) => commands::counsel::scenarios(&args),
    }
}
