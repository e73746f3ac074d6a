//! cipwatch: a batch pipeline that finds the foreign customers of a US IaaS provider whose
//! accelerator use meets or approaches a rule profile's large-AI-training test, joins that with the
//! Customer Identification Program registry, and publishes the tables and manifest counsel and
//! analysts work from. Stages: `plan` → `sources` → `transforms` → `sinks` → `publish`.

pub mod answers;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod documents;
pub mod error;
pub mod filings;
pub mod history;
pub mod lock;
pub mod manifest;
pub mod pii;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod publish;
pub mod quarantine;
pub mod scenario;
pub mod sinks;
pub mod sources;
pub mod transforms;
