//! Sinks: what a run leaves behind. Tables (CSV and Parquet) and rendered documents are written by
//! `output` into the staging folder that `publish` moves into place in one step, with the
//! `manifest`; the output folder's `lock`, the run `history` (runs.jsonl, the knowledge clock),
//! counsel's filing log (`filings`) and the scenario folders (`scenario`) live beside it. `pdf`
//! prints the HTML documents to PDF with headless Chromium.

pub mod archive;
pub mod filings;
pub mod history;
pub mod lock;
pub mod manifest;
pub mod output;
pub mod pdf;
pub mod prepared;
pub mod publish;
pub mod scenario;
pub mod status;
pub mod tables;
