//! Counsel's commands around the filing: `answers ACCOUNT` (a template answers file), `filed
//! ACCOUNT` (record a filing in `<out>/filings.jsonl`) and `scenarios` (the published what-if runs).

use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use super::Format;
use crate::config;
use crate::config::link_key::LinkKey;
use crate::documents::report_folder;
use crate::documents::templates::Templates;
use crate::error::{Context, Error, Result, EXIT_OK};
use crate::fingerprint::sha256_bytes;
use crate::sinks::publish::SUCCESS;
use crate::sources::answers;
use crate::state::filings::{self, Filing, FilingLog};
use crate::state::lock::Lock;
use crate::state::scenario;

/// Where a counsel command finds the output folder and the configuration.
#[derive(Debug, Args)]
pub struct OutArgs {
    /// Configuration file (default: ./cipwatch.toml if present, else the embedded sample config).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output folder (default: the configuration's [output] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AnswersArgs {
    /// The billing account whose answers file to create.
    pub account_id: String,
    #[command(flatten)]
    pub target: OutArgs,
}

#[derive(Debug, Args)]
pub struct FiledArgs {
    /// The billing account whose report was filed.
    pub account_id: String,
    /// The reference the authority gave the filing (kept by every later updated report).
    #[arg(long)]
    pub reference: String,
    /// The date the report was filed, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// The filing run whose draft was filed: an as-of date under the output folder (default: the
    /// latest filing run with a draft for the account).
    #[arg(long, value_name = "AS_OF")]
    pub run: Option<String>,
    #[command(flatten)]
    pub target: OutArgs,
}

#[derive(Debug, Args)]
pub struct ScenariosArgs {
    #[command(flatten)]
    pub target: OutArgs,
    /// Output format: text or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The report draft's files, relative to its account folder.
const REPORT_FILES: [&str; 3] = [
    "ai-training-report.md",
    "ai-training-report.html",
    "ai-training-report.json",
];

/// The output folder: `--out`, else the configuration's `[output] dir`.
pub fn output_dir(target: &OutArgs) -> Result<PathBuf> {
    match &target.out {
        Some(o) => Ok(o.clone()),
        None => {
            let (cfg, _, _, base) = config::load(target.config.as_deref())?;
            Ok(base.join(cfg.output.dir))
        }
    }
}

pub fn answers(args: &AnswersArgs) -> Result<i32> {
    let (cfg, _, _, base) = config::load(args.target.config.as_deref())?;
    let dir = base.join(cfg.answers.dir.as_deref().unwrap_or("answers"));
    let path = write_template(&dir, &args.account_id)?;
    println!(
        "wrote {}: fill in the answers; every run merges them into the report draft",
        crate::pii::redact(&path.display().to_string())
    );
    Ok(EXIT_OK)
}

pub fn filed(args: &FiledArgs) -> Result<i32> {
    let filed_on = crate::config::iso_date(&args.date).ok_or_else(|| {
        Error::Usage(format!("--date '{}' is not a date (YYYY-MM-DD)", args.date))
    })?;
    let today = chrono::Utc::now().date_naive();
    if filed_on > today + chrono::Days::new(1) {
        return Err(Error::Usage(format!(
            "--date {filed_on} is after today ({today}): record a filing once it is made"
        )));
    }
    if args.reference.trim().is_empty() {
        return Err(Error::Usage("--reference is empty".into()));
    }
    let out = output_dir(&args.target)?;
    let _lock = Lock::acquire(&out)?;
    let folder = format!("reports/{}", report_folder(&args.account_id));
    let run = filed_run(&out, args.run.as_deref(), &folder)?;
    let mut documents = BTreeMap::new();
    for file in REPORT_FILES {
        let rel = format!("{folder}/{file}");
        let bytes = std::fs::read(run.join(&rel)).or_internal(format!("reading {rel}"))?;
        documents.insert(rel, sha256_bytes(&bytes));
    }
    let read_json = |rel: &str| -> Result<serde_json::Value> {
        let bytes = std::fs::read(run.join(rel)).or_internal(format!("reading {rel}"))?;
        serde_json::from_slice(&bytes).or_internal(format!("parsing {rel}"))
    };
    let report = read_json(&format!("{folder}/ai-training-report.json"))?;
    let manifest = read_json("manifest.json")?;
    let as_of = manifest["as_of"].as_str().and_then(crate::config::iso_date);
    if let Some(as_of) = as_of.filter(|d| filed_on < *d) {
        return Err(Error::Usage(format!(
            "--date {filed_on} is before the filed draft's as-of date {as_of}: a report cannot be filed before the run that drafted it"
        )));
    }
    // Only now, the filing being valid, may the folder's key be made.
    let token = filing_log(&args.target, &out)?
        .token(&args.account_id)
        .ok_or_else(|| Error::bug("the filing log has no key"))?;
    let reference = crate::pii::redact(args.reference.trim()).into_owned();
    let mut filing = Filing {
        // The log holds ids and references masked by value, as every output does, and keys the
        // filing on a token of the raw id.
        account_id: crate::pii::redact(&args.account_id).into_owned(),
        account_token: Some(token),
        reference,
        filed_on: args.date.clone(),
        run_id: manifest["run_id"].as_str().unwrap_or("").to_string(),
        as_of: manifest["as_of"].as_str().unwrap_or("").to_string(),
        documents,
        facts: filings::facts(&report),
        ..Filing::default()
    };
    filings::check_reference(&filings::load(&out)?, &filing)?;
    let copy = format!("{}/{folder}", crate::documents::FILING_COPY);
    let archived = crate::state::archive::archive(
        &out,
        &run,
        &[folder.clone(), copy],
        &crate::documents::report_folder(&filing.reference),
    )?;
    filing.archive = Some(archived.folder.clone());
    filing.archived = archived.documents;
    filing.correction = archived.correction;
    filings::append(&out, &filing)?;
    println!(
        "recorded: report of run {} (as of {}) filed on {} under reference {}{} in {}; the filed documents are kept in {}",
        filing.run_id,
        filing.as_of,
        filing.filed_on,
        filing.reference,
        if filing.correction { " (a correction of the earlier filing of that reference)" } else { "" },
        out.join(filings::FILINGS).display(),
        out.join(&archived.folder).display()
    );
    Ok(EXIT_OK)
}

/// The filing log of `out` under the deployment's link key (resolved as a run resolves it); where
/// none is configured, under the output folder's own key, made here if needed. The caller holds
/// the output folder's lock.
fn filing_log(target: &OutArgs, out: &Path) -> Result<FilingLog> {
    let (cfg, source, _, base) = config::load(target.config.as_deref())?;
    let key_file = cfg.links.key_file.as_ref().map(|f| base.join(f));
    let link_key = LinkKey::resolve(key_file.as_deref(), &source.describe())?;
    if link_key.is_ephemeral() {
        filings::ensure_folder_key(out)?;
    }
    FilingLog::open(out, &link_key)
}

/// The filing run whose draft was filed: the one named (by its as-of date: a scenario's run is
/// never a filing run), else the latest with a draft in `folder`.
fn filed_run(out: &Path, run: Option<&str>, folder: &str) -> Result<PathBuf> {
    let has_draft = |dir: &Path| {
        dir.join(SUCCESS).is_file() && dir.join(folder).join(REPORT_FILES[2]).is_file()
    };
    if let Some(as_of) = run {
        if NaiveDate::parse_from_str(as_of, "%Y-%m-%d").is_err() || as_of.len() != 10 {
            return Err(Error::Usage(format!(
                "--run '{as_of}' is not the as-of date (YYYY-MM-DD) of a filing run under {}: a scenario's draft is not for filing",
                out.display()
            )));
        }
        let dir = out.join(as_of);
        return match has_draft(&dir) {
            true => Ok(dir),
            false => Err(Error::Usage(format!(
                "{} holds no complete run with a report draft for this account",
                dir.display()
            ))),
        };
    }
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| Error::Usage(format!("{}: {e}", out.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string());
            name.is_some_and(|n| NaiveDate::parse_from_str(&n, "%Y-%m-%d").is_ok())
        })
        .filter(|p| has_draft(p))
        .collect();
    runs.sort();
    runs.pop().ok_or_else(|| {
        Error::Usage(format!(
            "no filing run in {} has a report draft for this account: run `cipwatch run` first",
            out.display()
        ))
    })
}

pub fn scenarios(args: &ScenariosArgs) -> Result<i32> {
    let out = output_dir(&args.target)?;
    let list = scenario::list(&out)?;
    match args.format {
        Format::Json => {
            println!(
                "{}",
                crate::pii::masked_json(&list, true).or_internal("scenarios")?
            )
        }
        Format::Text if list.is_empty() => println!(
            "no scenarios in {}: a run with --set, --params or --scenario publishes one",
            out.join(scenario::SCENARIOS).display()
        ),
        Format::Text => {
            for s in &list {
                println!(
                    "{}\t{}\trun {}\t{}\t{}",
                    s.scenario,
                    s.as_of,
                    s.run_id,
                    s.overrides.join(", "),
                    s.path.display()
                );
            }
        }
        Format::Csv => {
            return Err(Error::Usage(
                "scenarios prints text or json, not csv".into(),
            ))
        }
    }
    Ok(EXIT_OK)
}

/// Writes the template for `account` into `dir`; returns its path.
///
/// The file is `<answers_name>.toml` (`documents::answers_name`: the id itself when it is a plain,
/// short file name, else its report folder's name).
///
/// Errors: usage when the account id is empty or the file already exists; configuration (exit
/// 2) naming `answers.dir` when `dir` is not a folder; internal when the folder or file cannot be
/// written.
pub fn write_template(dir: &Path, account: &str) -> Result<PathBuf> {
    if account.trim().is_empty() {
        return Err(Error::Usage("the account id is empty".into()));
    }
    answers::check_dir(dir)?;
    // The account's own id where it is a plain, short file name; its report folder's name
    // otherwise (bounded, sanitised, with a hash).
    let name = match account == answers::CERTIFICATION {
        true => account.to_string(),
        false => crate::documents::answers_name(account),
    };
    let path = dir.join(format!("{name}.toml"));
    if path.exists() {
        return Err(Error::Usage(format!(
            "{} already exists: edit it, or remove it to start again",
            path.display()
        )));
    }
    crate::sinks::publish::create_private_dir(dir)?;
    crate::sinks::tables::write_bytes(template(account)?.as_bytes(), &path)?;
    Ok(path)
}

/// The template `cipwatch answers certification` writes.
fn certification_template(templates: &Templates) -> Result<String> {
    templates.render_plain(
        "answers-certification.toml",
        &serde_json::json!({ "keys": &answers::CERTIFICATION_KEYS[..answers::CERTIFICATION_KEYS.len() - 1] }),
    )
}

/// The template `cipwatch answers ACCOUNT` writes (`templates/answers.toml`): every block with
/// its guidance as a comment and an empty answer (`certification` gives the certification's
/// template).
///
/// Errors: internal, when the embedded templates do not render.
pub fn template(account: &str) -> Result<String> {
    let templates = Templates::load(None)?;
    if account == answers::CERTIFICATION {
        return certification_template(&templates);
    }
    templates.render_plain(
        "answers.toml",
        &serde_json::json!({ "account": comment_safe(account), "keys": answers::keys() }),
    )
}

/// `text` as it may stand in a TOML comment: every control character (a line break would end the
/// comment, and TOML refuses the others) and invisible control written out as `[U+XXXX]`.
fn comment_safe(text: &str) -> String {
    text.chars()
        .map(
            |c| match c.is_control() || crate::pii::is_invisible_control(c) {
                true => format!("[U+{:04X}]", c as u32),
                false => c.to_string(),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::answers::{AccountAnswers, Answers};

    #[test]
    fn the_template_parses_and_unknown_keys_are_listed() {
        let text = template("1").unwrap();
        assert!(
            text.contains("# Model information:\n# What is known"),
            "{text}"
        );
        let parsed: AccountAnswers = toml::from_str(&text).unwrap();
        assert_eq!(parsed.get("narrative"), None, "blank answers are missing");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("7.toml"), "narative = \"x\"\n").unwrap();
        let err = Answers::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("narative") && err.contains("cybersecurity_practices"),
            "{err}"
        );
        // A syntax error names its line and column, on one line.
        std::fs::write(
            dir.path().join("7.toml"),
            "# answers\nnarrative = \"unterminated\n",
        )
        .unwrap();
        let err = Answers::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 2, column"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn an_id_with_control_characters_still_gives_a_template_that_parses() {
        for id in [
            "42\n[x]",
            "42\r\n#",
            "42\u{0}\u{7f}",
            "42\u{202E}1",
            "42\t1",
        ] {
            let text = template(id).unwrap();
            let parsed: std::result::Result<AccountAnswers, _> = toml::from_str(&text);
            assert!(parsed.is_ok(), "{id:?}: {text}");
        }
    }
}
