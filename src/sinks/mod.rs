//! Sinks: machine-readable tables (CSV and Parquet) and the PDF copies of the HTML documents
//! (`pdf`, printed by headless Chromium). Documents are rendered from templates by `documents`.
//! Every output is written into the staging folder that `publish` later moves into place.

pub mod pdf;
pub mod tables;
