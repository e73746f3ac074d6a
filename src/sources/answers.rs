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

/// The keys of the TO COMPLETE blocks of the AI-training report, in the report's order. Their
/// titles and guidance are in `templates/partials/words.tera` (`field_title`, `field_guidance`).
pub const FIELDS: [&str; 3] = ["model_information", "cybersecurity_practices", "narrative"];

/// The keys of the report's short answers: facts the data does not hold (or that counsel
/// overrides), shown in place and listed as missing in the checklist until answered. Their
/// titles and guidance are the template's (`fact_title`, `field_guidance`).
pub const FACTS: [&str; 10] = [
    "knowledge_date",
    "trigger_type",
    "transaction_date",
    "anticipated_completion",
    "ip_window_from",
    "reseller_report_received",
    "reseller_report_forwarded",
    "submitter_name",
    "submitter_title",
    "submission_date",
];

/// The valid values of `trigger_type` (proposed § 7.308: a new transaction, or a change to an
/// existing arrangement).
pub const TRIGGERS: [&str; 2] = ["new_transaction", "changed_arrangement"];

/// The short answers that must be dates (YYYY-MM-DD).
const DATES: [&str; 7] = [
    "knowledge_date",
    "transaction_date",
    "anticipated_completion",
    "ip_window_from",
    "reseller_report_received",
    "reseller_report_forwarded",
    "submission_date",
];

/// One account's answers file. An empty (or blank) answer counts as missing.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountAnswers {
    pub model_information: Option<String>,
    pub cybersecurity_practices: Option<String>,
    pub narrative: Option<String>,
    /// The date from which counsel determines the provider has had knowledge of the transaction
    /// (YYYY-MM-DD): when given and not after the as-of date, the report's knowledge date and
    /// the due date count from it instead of the screening's first flag.
    pub knowledge_date: Option<String>,
    pub trigger_type: Option<String>,
    pub transaction_date: Option<String>,
    pub anticipated_completion: Option<String>,
    pub ip_window_from: Option<String>,
    pub reseller_report_received: Option<String>,
    pub reseller_report_forwarded: Option<String>,
    pub submitter_name: Option<String>,
    pub submitter_title: Option<String>,
    pub submission_date: Option<String>,
    /// The declaration above the submitter's signature; [`DEFAULT_DECLARATION`] when not given.
    pub declaration: Option<String>,
}

impl AccountAnswers {
    /// The answers as the masked documents show them: card numbers, identifier-like words and long
    /// digit runs that counsel typed are masked like the registry's free text (`pii::mask_field`);
    /// dates and codes are left as they are. The filing copy uses the answers as written.
    pub fn masked(&self) -> AccountAnswers {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        crate::pii::strings_mut(&mut value, &mut |v| {
            *v = crate::pii::mask_field("answer", v)
        });
        serde_json::from_value(value).unwrap_or_default()
    }

    /// The answer to the block with this key, when given and not blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        let value = match key {
            "model_information" => &self.model_information,
            "cybersecurity_practices" => &self.cybersecurity_practices,
            "narrative" => &self.narrative,
            "knowledge_date" => &self.knowledge_date,
            "trigger_type" => &self.trigger_type,
            "transaction_date" => &self.transaction_date,
            "anticipated_completion" => &self.anticipated_completion,
            "ip_window_from" => &self.ip_window_from,
            "reseller_report_received" => &self.reseller_report_received,
            "reseller_report_forwarded" => &self.reseller_report_forwarded,
            "submitter_name" => &self.submitter_name,
            "submitter_title" => &self.submitter_title,
            "submission_date" => &self.submission_date,
            "declaration" => &self.declaration,
            _ => &None,
        };
        value.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The first answer that is not valid: a date that is not YYYY-MM-DD, or an unknown trigger.
    fn invalid(&self) -> Option<String> {
        first_invalid(|k| self.get(k), ("trigger_type", &TRIGGERS), &DATES)
    }
}

/// The first of `get`'s answers that is not valid: `choice.0` not one of `choice.1`, or one of
/// `dates` not a YYYY-MM-DD date. The message names the key and its value (counsel's own text).
fn first_invalid<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    choice: (&str, &[&str]),
    dates: &[&str],
) -> Option<String> {
    let (key, allowed) = choice;
    if let Some(v) = get(key).filter(|v| !allowed.contains(v)) {
        return Some(format!(
            "{key} = '{v}' is not one of {}",
            allowed.join(", ")
        ));
    }
    dates.iter().find_map(|key| {
        let value = get(key)?;
        crate::config::iso_date(value)
            .is_none()
            .then(|| format!("{key} = '{value}' is not a date (YYYY-MM-DD)"))
    })
}

/// The file of the certification's answers, in the same folder.
pub const CERTIFICATION: &str = "certification";

/// The certification's answers: its type and the last certification, the three narratives the
/// rule asks for, the certifying officer, and how each failed verification was resolved (by
/// account id). An empty (or blank) answer counts as missing.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CertificationAnswers {
    /// `initial`, `annual` or `out_of_cycle` (see [`CERTIFICATION_TYPES`]).
    pub certification_type: Option<String>,
    /// What prompted an out-of-cycle certification.
    pub trigger: Option<String>,
    /// The date (YYYY-MM-DD) of the last certification: the period starts the day after.
    pub last_certification_date: Option<String>,
    pub identity_verification: Option<String>,
    pub malicious_activity_resources: Option<String>,
    pub reseller_oversight: Option<String>,
    pub officer_name: Option<String>,
    pub officer_title: Option<String>,
    pub signature_date: Option<String>,
    /// The declaration above the officer's signature; [`DEFAULT_DECLARATION`] when not given.
    pub declaration: Option<String>,
    /// The attestations the officer has confirmed, by code ([`ATTESTATIONS`]); the others are
    /// shown "to confirm".
    #[serde(default)]
    pub attestations: Vec<String>,
    #[serde(default)]
    pub resolutions: BTreeMap<String, String>,
}

/// The annual certification's attestations (proposed § 7.303), by code, in order; their words are
/// the template's (`words.tera`, `attestation`).
pub const ATTESTATIONS: [&str; 5] = ["reviewed", "services", "threats", "complies", "resolutions"];

/// The declaration above a signature (the report's submitter, the certifying officer) when the
/// answers give none; counsel may replace it with `declaration` in the answers file.
pub const DEFAULT_DECLARATION: &str = "I certify that, to the best of my knowledge and belief after reasonable inquiry, the information in this document is true, accurate and complete.";

/// The valid certification types (proposed § 7.302: initial, annual, out-of-cycle update).
pub const CERTIFICATION_TYPES: [&str; 3] = ["initial", "annual", "out_of_cycle"];

/// The keys of `certification.toml`, in the order the template lists them.
pub const CERTIFICATION_KEYS: [&str; 12] = [
    "certification_type",
    "trigger",
    "last_certification_date",
    "identity_verification",
    "malicious_activity_resources",
    "reseller_oversight",
    "officer_name",
    "officer_title",
    "signature_date",
    "declaration",
    "attestations",
    "resolutions",
];

impl CertificationAnswers {
    /// The answer to `key` (not `resolutions`), when given and not blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        let value = match key {
            "certification_type" => &self.certification_type,
            "trigger" => &self.trigger,
            "last_certification_date" => &self.last_certification_date,
            "identity_verification" => &self.identity_verification,
            "malicious_activity_resources" => &self.malicious_activity_resources,
            "reseller_oversight" => &self.reseller_oversight,
            "officer_name" => &self.officer_name,
            "officer_title" => &self.officer_title,
            "signature_date" => &self.signature_date,
            "declaration" => &self.declaration,
            _ => &None,
        };
        value.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The last certification's date, when answered (validated as YYYY-MM-DD when read).
    pub fn last_certification(&self) -> Option<chrono::NaiveDate> {
        self.get("last_certification_date")
            .and_then(crate::config::iso_date)
    }

    /// The first answer that is not valid: an unknown type, a date that is not YYYY-MM-DD or an
    /// attestation code that is not one of [`ATTESTATIONS`].
    fn invalid(&self) -> Option<String> {
        if let Some(code) = self
            .attestations
            .iter()
            .find(|c| !ATTESTATIONS.contains(&c.as_str()))
        {
            return Some(format!(
                "attestations: '{code}' is not one of {}",
                ATTESTATIONS.join(", ")
            ));
        }
        first_invalid(
            |k| self.get(k),
            ("certification_type", &CERTIFICATION_TYPES),
            &["last_certification_date", "signature_date"],
        )
    }
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
    /// The knowledge dates counsel adopted (`knowledge_date`), by account id.
    pub fn knowledge_dates(&self) -> BTreeMap<String, String> {
        self.accounts
            .iter()
            .filter_map(|(account, (a, _))| {
                Some((account.clone(), a.get("knowledge_date")?.to_string()))
            })
            .collect()
    }

    /// Reads and validates every `*.toml` of `dir` (a missing folder holds no answers).
    ///
    /// Errors: configuration (exit 2) naming `answers.dir` when `dir` is not a folder or cannot be
    /// listed ([`check_dir`]); naming the file, for unreadable or invalid TOML and unknown keys.
    pub fn load(dir: &Path) -> Result<Answers> {
        let mut answers = Answers {
            dir: dir.to_path_buf(),
            ..Answers::default()
        };
        if !check_dir(dir)? {
            return Ok(answers);
        }
        let entries = std::fs::read_dir(dir).map_err(|e| dir_error(dir, e))?;
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
                let parsed: CertificationAnswers = parse(&path, &text, &CERTIFICATION_KEYS)?;
                if let Some(problem) = parsed.invalid() {
                    return Err(Error::config(path.display(), problem));
                }
                answers.certification = parsed;
                answers.certification_sha256 = Some(sha);
            } else {
                let parsed: AccountAnswers = parse(&path, &text, &keys())?;
                if let Some(problem) = parsed.invalid() {
                    return Err(Error::config(path.display(), problem));
                }
                answers.accounts.insert(stem, (parsed, sha));
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

    /// The account ids of answers files that `known` does not know, in file-name order: a file
    /// named for no account of the run (a misspelt id, or an account with no accelerator use) whose
    /// answers would otherwise go unshown without a word.
    pub fn orphans(&self, known: impl Fn(&str) -> bool) -> Vec<&str> {
        self.accounts
            .keys()
            .map(String::as_str)
            .filter(|account| !known(account))
            .collect()
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

/// Whether the answers folder `dir` exists (a missing one holds no answers yet).
///
/// Errors: configuration (exit 2) naming `answers.dir` when `dir` is a file or anything else but
/// a folder, or cannot be inspected: taken silently as "no answers", every TO COMPLETE block of
/// every report would stay open.
pub fn check_dir(dir: &Path) -> Result<bool> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(_) => Err(Error::config(
            "answers.dir",
            format!("{} is a file, not a folder", dir.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(dir_error(dir, e)),
    }
}

/// The answers folder cannot be read.
fn dir_error(dir: &Path, err: std::io::Error) -> Error {
    Error::config("answers.dir", format!("{}: {err}", dir.display()))
}

/// One answers file, read strictly.
fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str, valid: &[&str]) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let mut message = e.message().trim_end().replace('\n', " ");
        // A TOML date written bare (`key = 2026-11-20`) is a TOML datetime, which serde reads
        // as a map: say how to write it.
        if message.contains("invalid type: map") {
            message.push_str(
                ": an answer is text, so a date is written in quotes (key = \"YYYY-MM-DD\")",
            );
        }
        Error::config(
            path.display(),
            format!(
                "{}{message} (valid keys: {})",
                crate::error::toml_place(text, &e),
                valid.join(", ")
            ),
        )
    })
}

/// The valid keys of an answers file.
pub fn keys() -> Vec<&'static str> {
    FIELDS
        .iter()
        .chain(FACTS.iter())
        .copied()
        .chain(["declaration"])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_date_must_be_written_yyyy_mm_dd() {
        let loose = AccountAnswers {
            transaction_date: Some("2026-1-5".into()),
            ..AccountAnswers::default()
        };
        assert_eq!(
            loose.invalid().as_deref(),
            Some("transaction_date = '2026-1-5' is not a date (YYYY-MM-DD)")
        );
        let exact = AccountAnswers {
            transaction_date: Some(" 2026-01-05 ".into()),
            ..AccountAnswers::default()
        };
        assert_eq!(
            exact.invalid(),
            None,
            "surrounding blanks are not part of the answer"
        );
    }

    #[test]
    fn a_bare_toml_date_is_told_to_be_quoted() {
        let e = parse::<AccountAnswers>(
            Path::new("a.toml"),
            "knowledge_date = 2026-11-20\n",
            &keys(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("a date is written in quotes"), "{e}");
        let ok: AccountAnswers = parse(
            Path::new("a.toml"),
            "knowledge_date = \"2026-11-20\"\n",
            &keys(),
        )
        .unwrap();
        assert_eq!(ok.get("knowledge_date"), Some("2026-11-20"));
    }
}
