//! The command line: subcommands and flags (clap), turned into a plan and handed to the library.
//! Kept apart from `main.rs` so tests can drive the same entry point.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

use crate::documents::Drafts;
use crate::error::Result;
use crate::plan::{self, PlanArgs};

#[derive(Debug, Parser)]
#[command(
    name = "cipwatch",
    version,
    about = "CIP and AI-training-run reporting for US IaaS providers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline and publish outputs to <out>/<as-of>/.
    Run(CommonArgs),
    /// Check configuration, rule profile, queries, catalog and inputs end to end; write nothing.
    Validate(CommonArgs),
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
    /// Output folder (default: the configuration's [output] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
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
            out: a.out.clone(),
        }
    }
}

/// Runs a parsed command line; returns the process exit code.
pub fn execute(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => {
            let plan = plan::build(&PlanArgs::from(&args))?;
            let outcome = crate::pipeline::run(&plan, true)?;
            eprintln!("{}", outcome.summary_line());
            Ok(crate::error::EXIT_OK)
        }
        Command::Validate(args) => {
            let plan = plan::build(&PlanArgs::from(&args))?;
            let outcome = crate::pipeline::run(&plan, false)?;
            eprintln!("valid: {}", outcome.summary_line());
            Ok(crate::error::EXIT_OK)
        }
    }
}
