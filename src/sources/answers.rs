//! Counsel's answers: the TO COMPLETE blocks of a report draft, kept in
//! `answers/<account_id>.toml` beside the configuration file (`[answers] dir` moves the folder), and
//! the certification's resolution log in `answers/certification.toml`, so they survive the nightly
//! rerun. Files are read strictly: an unknown key is an error listing the
//! valid ones. Answers are merged into the report when it renders, and each file's SHA-256 goes
//! into the manifest and the run id.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fingerprint::sha256_bytes;

/// The TO COMPLETE blocks of the AI-training report: (answers-file key, title, guidance).
pub const FIELDS: [(&str, &str, &str); 3] = [
    (
        "model_information",
        "Model information",
        "What is known of the model being trained (purpose, architecture, parameters), from the customer or the account record.",
    ),
    (
        "cybersecurity_practices",
        "Customer cybersecurity practices",
        "The customer's practices to protect the model weights and the training infrastructure, as stated by the customer.",
    ),
    (
        "narrative",
        "Narrative",
        "A description of the transaction and of how the provider learned of it, in the provider's own words.",
    ),
];

/// One account's answers file. An empty (or blank) answer counts as missing.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountAnswers {
    pub model_information: Option<String>,
    pub cybersecurity_practices: Option<String>,
    pub narrative: Option<String>,
}

impl AccountAnswers {
    /// The answer to the block with this key, when given and not blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        let value = match key {
            "model_information" => &self.model_information,
            "cybersecurity_practices" => &self.cybersecurity_practices,
            "narrative" => &self.narrative,
            _ => &None,
        };
        value.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

/// The file of the certification's answers, in the same folder.
pub const CERTIFICATION: &str = "certification";

/// The certification's narrative items: how each failed verification was resolved, by account id.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CertificationAnswers {
    #[serde(default)]
    pub resolutions: BTreeMap<String, String>,
}

/// Every answers file of the folder: account id (the file stem) → answers and the file's SHA-256,
/// and the certification's answers (`certification.toml`).
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub dir: PathBuf,
    pub accounts: BTreeMap<String, (AccountAnswers, String)>,
    pub certification: CertificationAnswers,
    pub certification_sha256: Option<String>,
}

impl Answers {
    /// Reads and validates every `*.toml` of `dir` (a missing folder holds no answers).
    ///
    /// Errors: configuration (exit 2) naming the file, for unreadable or invalid TOML and unknown keys.
    pub fn load(dir: &Path) -> Result<Answers> {
        let mut answers = Answers {
            dir: dir.to_path_buf(),
            ..Answers::default()
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(answers);
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::config(path.display(), format!("cannot read: {e}")))?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let sha = sha256_bytes(text.as_bytes());
            if stem == CERTIFICATION {
                answers.certification = parse(&path, &text, &["resolutions"])?;
                answers.certification_sha256 = Some(sha);
            } else {
                answers
                    .accounts
                    .insert(stem, (parse(&path, &text, &keys())?, sha));
            }
        }
        Ok(answers)
    }

    /// The answers of one account (none when it has no file).
    pub fn of(&self, account: &str) -> AccountAnswers {
        self.accounts
            .get(account)
            .map(|(a, _)| a.clone())
            .unwrap_or_default()
    }

    /// File name → SHA-256, for the manifest and the run id.
    pub fn hashes(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .accounts
            .iter()
            .map(|(account, (_, sha))| (format!("{account}.toml"), sha.clone()))
            .collect();
        if let Some(sha) = &self.certification_sha256 {
            out.insert(format!("{CERTIFICATION}.toml"), sha.clone());
        }
        out
    }
}

/// One answers file, read strictly.
fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str, valid: &[&str]) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        Error::config(
            path.display(),
            format!("{} (valid keys: {})", e.message(), valid.join(", ")),
        )
    })
}

/// The valid keys of an answers file.
pub fn keys() -> Vec<&'static str> {
    FIELDS.iter().map(|(k, _, _)| *k).collect()
}

/// The template `cipwatch answers certification` writes.
fn certification_template() -> String {
    "# Counsel's answers for the annual CIP certification.\n\
     # [resolutions]: how each failed identity verification was resolved, by billing account id,\n\
     # e.g. \"420000000011\" = \"Account closed on 2026-10-02 after the documents could not be verified.\"\n\
     [resolutions]\n"
        .to_string()
}

/// The template `cipwatch answers ACCOUNT` writes: every block with its guidance as a comment and an
/// empty answer (`certification` gives the certification's template).
pub fn template(account: &str) -> String {
    if account == CERTIFICATION {
        return certification_template();
    }
    let mut text = format!(
        "# Counsel's answers for the AI-training report of billing account {account}.\n\
         # Merged into the report draft by every run; an empty answer is shown as TO COMPLETE.\n\
         # Multi-line answers: use TOML's triple quotes (\"\"\"...\"\"\").\n"
    );
    for (key, title, guidance) in FIELDS {
        text.push_str(&format!("\n# {title}: {guidance}\n{key} = \"\"\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_and_unknown_keys_are_listed() {
        let parsed: AccountAnswers = toml::from_str(&template("1")).unwrap();
        assert_eq!(parsed.get("narrative"), None, "blank answers are missing");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("7.toml"), "narative = \"x\"\n").unwrap();
        let err = Answers::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("narative") && err.contains("cybersecurity_practices"),
            "{err}"
        );
    }
}
