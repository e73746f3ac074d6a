//! cipwatch: a batch pipeline that finds the foreign customers of a US IaaS provider whose
//! accelerator use meets or approaches a rule profile's large-AI-training test, joins that with the
//! Customer Identification Program registry, and publishes the tables and manifest counsel and
//! analysts work from. `cli` parses flags into `commands`, which build a validated `plan`;
//! `pipeline` wires the stages: `sources` (reading inputs) → `transforms` (the per-row stage,
//! entities, queries, findings) → `documents` → `sinks` (tables, manifest, atomic publish);
//! `state` is the output folder's lasting state (lock, history, filings, scenarios).
//! Lower layers never import higher ones (a test checks there are no import cycles).

pub mod cli;
pub mod commands;
pub mod config;
pub mod distinct;
pub mod documents;
pub mod error;
pub mod fingerprint;
pub mod pii;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod sinks;
pub mod sources;
pub mod state;
pub mod transforms;
