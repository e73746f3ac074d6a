//! The one integration-test binary: end-to-end runs of the `cipwatch` binary on `data-samples/`,
//! on the FinOps Foundation's public FOCUS sample (copied under `tests/reference/`), and on broken
//! inputs made per test. Snapshots (insta) are reviewed by hand; volatile values are filtered.

mod architecture;
mod bad_input;
mod clock;
mod counsel;
mod documents;
mod evasion;
mod exports;
mod filing;
mod finops;
mod helpers;
mod hostile;
mod input_kinds;
mod leaks;
mod line_kinds;
mod native;
mod operator;
mod pii;
mod profiles;
mod query_cases;
mod robust;
mod round3;
mod samples;
mod screening;
mod stage1;
mod workflow;
