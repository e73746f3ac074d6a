//! Sinks: what a run leaves behind. Tables (CSV and Parquet) and rendered documents are written by
//! `output` into the staging folder that `publish` moves into place in one step, with the
//! `manifest`; `prepared` writes a part of a prepared
//! dataset. `pdf` prints the HTML documents to PDF with headless Chromium. The output folder's
//! lasting state (lock, history, filings, scenarios, status.json) is `crate::state`.

pub mod manifest;
pub mod output;
pub mod pdf;
pub mod prepared_part;
pub mod publish;
pub mod tables;
