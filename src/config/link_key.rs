//! The secret key of the keyed hashes that link accounts (`transforms::entities`). Identifiers are
//! compared as HMAC-SHA-256 values so that no raw card, ID, address or IP is held side by side;
//! with a public key anyone could test guesses against such a value, so a key must be secret and
//! is never written anywhere: the manifest records only its source and a fingerprint.
//!
//! Where the key comes from, first found wins: the environment variable `CIPWATCH_LINK_KEY`, the
//! file named by `CIPWATCH_LINK_KEY_FILE`, the configuration's `[links] key_file`. Without any, the
//! run draws a fresh random key from the operating system (`getrandom`) that lives only in memory:
//! links compare hashes for equality within one run and no hash is ever published, so the outputs
//! are the same bytes whatever the key; the manifest then says `ephemeral` and has no fingerprint.
//! A key that is given but unreadable or shorter than 16 bytes is a configuration error (exit 2).

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::path::Path;

use crate::error::{Error, Result};

/// The environment variable holding the key itself.
pub const KEY_ENV: &str = super::env::LINK_KEY;
/// The environment variable naming a file that holds the key.
pub const KEY_FILE_ENV: &str = super::env::LINK_KEY_FILE;
/// Fewest bytes a key may have.
pub const MIN_KEY_BYTES: usize = 16;
/// Bytes of a per-run random key.
const EPHEMERAL_KEY_BYTES: usize = 32;

/// The link key, with where it came from.
#[derive(Clone)]
pub struct LinkKey {
    secret: Vec<u8>,
    /// What the manifest says about the key: its source and fingerprint.
    pub info: LinkKeyInfo,
}

/// The manifest's record of the key: never the key itself.
#[derive(Debug, Clone, Serialize)]
pub struct LinkKeyInfo {
    /// `environment CIPWATCH_LINK_KEY`, `file named by …` or `ephemeral (…)`: no path, so the
    /// run id does not depend on where the key file lives.
    pub source: String,
    /// The first 16 hex digits of HMAC-SHA-256(key, "cipwatch link key fingerprint"): tells two
    /// keys apart without revealing either. `None` for an ephemeral key (it changes every run).
    pub fingerprint: Option<String>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkKey").field("info", &self.info).finish()
    }
}

impl LinkKey {
    /// The key for a run. `key_file` is the configuration's `[links] key_file`, resolved against
    /// the configuration's folder; `config` names the configuration in messages.
    ///
    /// Errors: `Error::Config` when a key file cannot be read or a key is shorter than
    /// [`MIN_KEY_BYTES`]; `Error::Internal` when the operating system has no randomness to give.
    pub fn resolve(key_file: Option<&Path>, config: &str) -> Result<LinkKey> {
        if let Some(key) = super::env::get(KEY_ENV) {
            let key = key.into_encoded_bytes();
            return LinkKey::checked(key, format!("environment {KEY_ENV}"), config);
        }
        let file = super::env::get(KEY_FILE_ENV)
            .filter(|f| !f.is_empty())
            .map(|f| {
                (
                    std::path::PathBuf::from(f),
                    format!("file named by {KEY_FILE_ENV}"),
                )
            })
            .or_else(|| {
                key_file.map(|f| (f.to_path_buf(), "file named by [links] key_file".into()))
            });
        if let Some((path, source)) = file {
            let bytes = std::fs::read(&path).map_err(|e| {
                Error::config(config, format!("link key file {}: {e}", path.display()))
            })?;
            let key = bytes.trim_ascii_end().to_vec();
            return LinkKey::checked(key, source, config);
        }
        let mut key = vec![0u8; EPHEMERAL_KEY_BYTES];
        getrandom::getrandom(&mut key)
            .map_err(|e| Error::bug(format!("drawing an ephemeral link key: {e}")))?;
        let mut key = LinkKey::new(
            key,
            "ephemeral (random, this run only; no key configured)".into(),
        );
        key.info.fingerprint = None;
        Ok(key)
    }

    fn checked(secret: Vec<u8>, source: String, config: &str) -> Result<LinkKey> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(Error::config(
                config,
                format!(
                    "the link key from {source} has {} bytes; at least {MIN_KEY_BYTES} are needed",
                    secret.len()
                ),
            ));
        }
        Ok(LinkKey::new(secret, source))
    }

    fn new(secret: Vec<u8>, source: String) -> LinkKey {
        let mut key = LinkKey {
            secret,
            info: LinkKeyInfo {
                source,
                fingerprint: None,
            },
        };
        let fp = key
            .mac()
            .chain_update(b"cipwatch link key fingerprint")
            .finalize();
        key.info.fingerprint = Some(hex(&fp.into_bytes())[..16].to_string());
        key
    }

    /// A key of the caller's own (the filing log's key of an output folder, `state::filings`),
    /// with its fingerprint.
    pub fn from_secret(secret: Vec<u8>, source: String) -> LinkKey {
        LinkKey::new(secret, source)
    }

    /// True for a per-run random key (no key configured): a hash under it means nothing to the
    /// next run.
    pub fn is_ephemeral(&self) -> bool {
        self.info.fingerprint.is_none()
    }

    /// Lower-case hex of HMAC-SHA-256 under this key of `purpose`, a NUL byte and `value`: a token
    /// of `value` that cannot be reversed without the key (`purpose` keeps tokens of one value
    /// for different uses apart).
    pub fn token(&self, purpose: &str, value: &str) -> String {
        let mac = self
            .mac()
            .chain_update(purpose.as_bytes())
            .chain_update([0u8])
            .chain_update(value.as_bytes())
            .finalize();
        hex(&mac.into_bytes())
    }

    /// A fresh HMAC-SHA-256 state under this key: clone it for each message.
    pub fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC takes a key of any length")
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let key = LinkKey::new(b"Jefe".to_vec(), "test".into());
        let mac = key
            .mac()
            .chain_update(b"what do ya want for nothing?")
            .finalize();
        assert_eq!(
            hex(&mac.into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn fingerprints_tell_keys_apart_without_showing_them() {
        let a = LinkKey::new(b"0123456789abcdef-one".to_vec(), "a".into());
        let b = LinkKey::new(b"0123456789abcdef-two".to_vec(), "b".into());
        assert_ne!(a.info.fingerprint, b.info.fingerprint);
        assert_eq!(a.info.fingerprint.as_deref().map(str::len), Some(16));
        assert!(!format!("{a:?}").contains("0123456789"));
    }
}
