//! The command line: subcommands and flags (clap), validated into plans and handed to the
//! commands. Kept apart from `main.rs` so tests can drive the same entry point.

use clap::{Parser, Subcommand};

use crate::commands;
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
    #[arg(long, global = true, value_enum, default_value_t = commands::LogFormat::Human)]
    pub log_format: commands::LogFormat,
    /// Log warnings and errors only.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline and publish outputs to <out>/<as-of>/ (or each date of --from/--to).
    Run(commands::run::RunArgs),
    /// Check configuration, rule profile, queries, templates, catalog and inputs end to end; write nothing.
    Validate(PlanArgs),
    /// Explain one account's level: the rows, catalog figures, arithmetic, thresholds and CIP facts.
    ///
    /// Reads the run published for --as-of (default: the latest run published under the output
    /// folder; a scenario's with --scenario or --set); --rerun reruns on today's inputs instead.
    /// Flags that only shape a publishing run (--pdf, --filing-copy, --drafts, --filing) have no
    /// effect here.
    Explain(commands::explain::ExplainArgs),
    /// Compare two published runs (default: the two latest in the output folder).
    Diff(commands::diff::DiffArgs),
    /// Write a template answers file (answers/ACCOUNT.toml) for counsel's TO COMPLETE blocks.
    Answers(commands::counsel::AnswersArgs),
    /// Record that an account's report was filed (appends to <out>/filings.jsonl).
    Filed(commands::counsel::FiledArgs),
    /// List the published what-if scenarios.
    Scenarios(commands::counsel::ScenariosArgs),
    /// List which instance types and SKUs of the billing the accelerator catalog recognises, and which not (CSV).
    Catalog(PlanArgs),
    /// Run baseline and candidate thresholds (--set/--params) over each as-of date of --from..--to
    /// and write which accounts each flags first, and when, to <out>/backtests/ (CSV and a chart).
    Backtest(commands::backtest::BacktestArgs),
    /// Stage 1 alone: write a prepared dataset (run stage 2 with `run --prepared`), or the Spark job.
    Stage1(commands::stage1::Stage1Args),
    /// The screening benchmark (benches/screening.sh): synthetic customers screened by name
    /// against synthetic list entries; prints the time of each step.
    #[command(hide = true)]
    ScreeningBench(ScreeningBenchArgs),
}

/// `cipwatch screening-bench`: sizes and seed of the synthetic data.
#[derive(Debug, clap::Args)]
pub struct ScreeningBenchArgs {
    /// Customer names to screen.
    #[arg(long, default_value_t = 100_000)]
    pub customers: usize,
    /// Listed entries (each with 0-3 alternative names).
    #[arg(long, default_value_t = 20_000)]
    pub entries: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
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
        Command::Catalog(args) => commands::catalog::catalog(&args),
        Command::Backtest(args) => commands::backtest::backtest(&args),
        Command::Stage1(args) => commands::stage1::stage1(&args),
        Command::ScreeningBench(a) => {
            let report = crate::transforms::screening::bench::run(a.customers, a.entries, a.seed);
            println!("{}", report.text());
            Ok(crate::error::EXIT_OK)
        }
    }
}
