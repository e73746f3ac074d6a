//! Progress for people at a terminal: a bar over the pipeline's stages on stderr, drawn only when
//! stderr is a terminal (a scheduler's log or a pipe gets none of it). Every stage is also logged
//! through `tracing` with its counts, never with customer data.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// The stages a run goes through, in order.
pub const STAGES: &[&str] = &[
    "catalog",
    "billing",
    "telemetry",
    "registry",
    "screening",
    "entities",
    "queries",
    "documents",
    "publish",
];

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar when stderr is a terminal and `enabled`; otherwise nothing is drawn.
    pub fn new(enabled: bool) -> Progress {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar =
            ProgressBar::with_draw_target(Some(STAGES.len() as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        Progress { bar: Some(bar) }
    }

    /// No output at all (tests, validate in scripts).
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    /// Marks the start of a stage.
    pub fn stage(&self, name: &str) {
        if let Some(bar) = &self.bar {
            let done = STAGES.iter().position(|s| *s == name).unwrap_or(0) as u64;
            bar.set_position(done);
            bar.set_message(name.to_string());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
