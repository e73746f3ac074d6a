//! The output folder's lasting state, read before a run and written after it: the `lock` that
//! keeps two runs apart, the run `history` (runs.jsonl and the knowledge clock), counsel's filing
//! log (`filings`) and the archive of what was filed (`archive`), the scenario folders
//! (`scenario`), `status.json` for a scheduler (`status`) and the published run folders read back
//! (`published`). The plan reads it; the pipeline and the sinks update it. Files here are written
//! atomically by `sinks::publish`.

pub mod archive;
pub mod filings;
pub mod history;
pub mod lock;
pub mod published;
pub mod scenario;
pub mod status;
