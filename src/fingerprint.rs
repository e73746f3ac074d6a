//! Fingerprints: the SHA-256 of inputs, queries, templates, profiles and parameters, as lower-case
//! hex. The manifest and the run identity record them; nothing here opens files (`sha256_reader`
//! hashes what its caller opened, streaming).

use sha2::{Digest, Sha256};

/// The Polars version cipwatch is built with (pinned exactly in Cargo.toml; a test checks), part of
/// every run's identity and of the prepared dataset's generator.
pub const POLARS_VERSION: &str = "0.55.2";

/// The SHA-256 of `data` as 64 lower-case hex digits.
pub fn sha256_bytes(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of everything `reader` yields, read in chunks (a file larger than memory is fine).
pub fn sha256_reader(mut reader: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
