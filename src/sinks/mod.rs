//! Sinks: machine-readable tables (CSV and Parquet). Documents are rendered from templates by the
//! documents sink. Every sink writes into the staging folder that `publish` later moves into place.

pub mod tables;
