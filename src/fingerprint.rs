//! Fingerprints: the SHA-256 of inputs, queries, templates, profiles and parameters, as lower-case
//! hex. The manifest and the run identity record them; nothing here reads files.

use sha2::{Digest, Sha256};

/// The Polars version cipwatch is built with (pinned exactly in Cargo.toml; a test checks), part of
/// every run's identity and of the prepared dataset's generator.
pub const POLARS_VERSION: &str = "0.55.2";

/// The SHA-256 of `data` as 64 lower-case hex digits.
pub fn sha256_bytes(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
