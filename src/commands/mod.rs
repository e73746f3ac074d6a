//! The subcommands: `run` (and backfill, dry run, validate), `explain`, `diff` and counsel's
//! `answers`, `filed` and `scenarios`, `catalog` (what the accelerator catalog recognises in the
//! billing), `backtest` (candidate thresholds against the profile over a range of dates), and `stage1` (the per-row stage alone, for a
//! distributed engine). Each turns its
//! flags into a plan and calls the library; results go to stdout, logs to stderr.

pub mod backtest;
pub mod catalog;
pub mod counsel;
pub mod diff;
pub mod explain;
pub mod run;
pub mod stage1;

use clap::ValueEnum;

/// Log format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}

/// Logs go to stderr: human-readable lines, or one JSON object per line for schedulers. They carry
/// stages and counts only, never customer data.
pub fn init_logging(format: LogFormat, quiet: bool) {
    let level = if quiet {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false);
    let _ = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
