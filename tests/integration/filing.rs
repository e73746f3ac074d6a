//! Filing-ready documents: every item of the report (proposed § 7.308) and of the
//! certification (§§ 7.302-7.303) present from the data or named as an answer to give, the
//! reconciliation, Markdown escaping, the PDFs and the unmasked filing copy.

use crate::helpers::*;
use crate::leaks::assert_masked;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const DAY: &str = "2026-11-26";
const ZEPHYR: &str = "420000000002";
const REPORT: &str = "reports/420000000002/ai-training-report";
const CERT: &str = "certification/cip-certification";

fn json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A configuration in `dir` over the samples, with `answers` written as
/// `answers/<file>.toml`; runs it and returns the run folder.
fn run_with(
    dir: &Path,
    inputs: &[(&str, &str)],
    answers: &[(&str, &str)],
    extra: &[&str],
) -> PathBuf {
    let cfg = config_in(dir, inputs);
    std::fs::create_dir_all(dir.join("answers")).unwrap();
    for (file, text) in answers {
        std::fs::write(dir.join("answers").join(format!("{file}.toml")), text).unwrap();
    }
    let mut args = vec!["run", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = cipwatch(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    dir.join("out").join(DAY)
}

/// The unmet checklist items of the `fact` code, by answers-file key.
fn missing_facts(report: &Value) -> Vec<String> {
    report["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "fact" && c["ok"] == false)
        .map(|c| c["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn report_event_comes_from_the_data_or_is_listed_to_answer() {
    let dir = tempfile::tempdir().unwrap();
    let day = run_with(dir.path(), &[], &[], &[]);
    let r = json(&day.join(format!("{REPORT}.json")));
    let e = &r["event"];
    assert_eq!(e["transaction_date"]["source"], "data");
    assert_eq!(
        e["transaction_date"]["value"],
        r["compute"]["first_usage"].as_str().unwrap()[..10]
    );
    assert_eq!(e["first_flagged"], r["knowledge_date"]);
    assert_eq!(
        e["first_flagged_run"], r["common"]["run_id"],
        "this run is the first"
    );
    assert!(e["citation"].as_str().unwrap().contains("7.308"));
    assert!(r["submission"]["addressee"]
        .as_str()
        .unwrap()
        .contains("Bureau of Industry and Security"));
    assert!(r["submission"]["omb_control_number"]
        .as_str()
        .unwrap()
        .contains("OMB"));
    assert_eq!(
        missing_facts(&r),
        [
            "knowledge_date",
            "trigger_type",
            "anticipated_completion",
            "submitter_name",
            "submitter_title",
            "submission_date"
        ],
        "an ongoing run has no completion yet either: {:?}",
        e["anticipated_completion"]
    );
    let md = read(&day.join(format!("{REPORT}.md")));
    for words in [
        // A neutral statement of what the screening found; knowledge is counsel's to determine.
        "Example Cloud Corp.'s screening first found this account",
        "is for counsel to determine before filing\n(answer knowledge_date)",
        "Knowledge date: TO COMPLETE: answer knowledge_date in the answers file",
        "Trigger: TO COMPLETE: answer trigger_type in the answers file",
        "Means of payment: wire transfer",
        "*I certify that, to the best of my knowledge and belief",
        "Signature: ____",
        "**CONFIDENTIAL: contains customer identifying information**",
    ] {
        assert!(md.contains(words), "{words}: {md}");
    }
    assert!(
        !md.contains(e["first_flagged_run"].as_str().unwrap()),
        "run ids are the annex's"
    );
    // The working papers are in the annex beside the report, not in the document to file.
    let annex = read(&day.join(format!("{REPORT}-annex.md")));
    assert!(
        annex.contains(&format!(
            "First flagged on 2026-11-26 by run {}.",
            e["first_flagged_run"].as_str().unwrap()
        )),
        "{annex}"
    );
    for words in [
        "**WORKING PAPER: not part of the document to file**",
        "## Method and assumptions",
        "## Pre-filing checklist",
        "## Glossary",
        "OPS_OVER_THRESHOLD: estimated operations exceed the threshold",
    ] {
        assert!(annex.contains(words), "{words}: {annex}");
        assert!(!md.contains(words), "{words} in the report: {md}");
    }
    assert!(
        md.contains("proposed 15 CFR 7.308"),
        "basis with its citation"
    );
    // A later run keeps the first run as the one that flagged the account.
    let cfg = dir.path().join("cipwatch.toml");
    let o = cipwatch(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--as-of",
        "2026-11-27",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let later = json(
        &dir.path()
            .join("out/2026-11-27")
            .join(format!("{REPORT}.json")),
    );
    assert_ne!(later["common"]["run_id"], r["common"]["run_id"]);
    assert_eq!(later["event"]["first_flagged"], "2026-11-26");
    assert_eq!(later["event"]["first_flagged_run"], r["common"]["run_id"]);
}

#[test]
fn answers_fill_the_report_facts_and_leave_the_checklist() {
    let dir = tempfile::tempdir().unwrap();
    let customers = read(&repo().join("data-samples/cip/customers.csv"));
    let zephyr = customers.lines().find(|l| l.starts_with(ZEPHYR)).unwrap();
    assert!(
        zephyr.ends_with(",,"),
        "no closing date, no reseller: {zephyr}"
    );
    let resold = format!("{zephyr}RS-NL-01");
    std::fs::write(
        dir.path().join("customers.csv"),
        customers.replace(zephyr, &resold),
    )
    .unwrap();
    let answers = "knowledge_date = \"2026-11-26\"\n\
                   trigger_type = \"new_transaction\"\n\
                   transaction_date = \"2026-11-07\"\n\
                   anticipated_completion = \"2026-12-20\"\n\
                   ip_window_from = \"2026-11-10\"\n\
                   reseller_report_received = \"2026-11-27\"\n\
                   submitter_name = \"Dana Counsel\"\n\
                   submitter_title = \"General Counsel\"\n\
                   submission_date = \"2026-11-30\"\n";
    let day = run_with(
        dir.path(),
        &[("customers", "customers.csv")],
        &[(ZEPHYR, answers)],
        &[],
    );
    let r = json(&day.join(format!("{REPORT}.json")));
    assert_eq!(r["event"]["trigger_type"]["source"], "answers");
    assert_eq!(r["event"]["transaction_date"]["value"], "2026-11-07");
    assert_eq!(r["event"]["anticipated_completion"]["value"], "2026-12-20");
    assert_eq!(r["submission"]["submitter_name"]["value"], "Dana Counsel");
    assert_eq!(r["access_window"]["from_source"], "answers");
    assert_eq!(r["access_window"]["from"], "2026-11-10T00:00:00Z");
    assert_eq!(
        r["access"].as_array().unwrap().len(),
        2,
        "the access of 2026-11-08 is before the window"
    );
    assert_eq!(r["reseller"]["report_received"]["value"], "2026-11-27");
    assert_eq!(
        missing_facts(&r),
        ["reseller_report_forwarded"],
        "the foreign reseller's chain"
    );
    let md = read(&day.join(format!("{REPORT}.md")));
    assert!(md.contains("Trigger: a new transaction"), "{md}");
    assert!(
        md.contains("Foreign reseller's own report received on:\n  2026-11-27"),
        "{md}"
    );

    // Without an answer the window starts at the account's opening.
    let plain = tempfile::tempdir().unwrap();
    let r = json(&run_with(plain.path(), &[], &[], &[]).join(format!("{REPORT}.json")));
    assert_eq!(r["access_window"]["from_source"], "account_opened");
    assert!(
        r["reseller"].is_null(),
        "a direct customer has no reseller chain"
    );
    assert!(!missing_facts(&r).contains(&"reseller_report_forwarded".to_string()));

    // A trigger that is not one of the two is a configuration error naming the file.
    let bad = tempfile::tempdir().unwrap();
    let cfg = config_in(bad.path(), &[]);
    std::fs::create_dir_all(bad.path().join("answers")).unwrap();
    std::fs::write(
        bad.path().join("answers").join(format!("{ZEPHYR}.toml")),
        "trigger_type = \"later\"\n",
    )
    .unwrap();
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("trigger_type") && stderr(&o).contains("new_transaction"));
}

#[test]
fn beneficial_owner_details_are_optional_registry_columns() {
    let dir = tempfile::tempdir().unwrap();
    let r = json(&run_with(dir.path(), &[], &[], &[]).join(format!("{REPORT}.json")));
    assert_eq!(
        r["owner_columns"],
        serde_json::json!({"address": false, "email": false, "phone": false, "payment_method": false}),
        "a registry without the optional columns still loads"
    );
    let owners = read(&repo().join("data-samples/cip/beneficial_owners.csv"));
    let mut lines = owners.lines();
    let mut text = format!(
        "{},address,email,phone,payment_method\n",
        lines.next().unwrap()
    );
    for line in lines {
        if line.contains("Arjun Menon") {
            text.push_str(&format!(
                "{line},\"8 Marina View, Singapore\",arjun@zephyr.example,+65 6555 0199,wire\n"
            ));
        } else {
            text.push_str(&format!("{line},,,,\n"));
        }
    }
    let with = tempfile::tempdir().unwrap();
    std::fs::write(with.path().join("owners.csv"), text).unwrap();
    let day = run_with(
        with.path(),
        &[("beneficial_owners", "owners.csv")],
        &[],
        &[],
    );
    let r = json(&day.join(format!("{REPORT}.json")));
    assert_eq!(r["owner_columns"]["email"], true);
    let md = read(&day.join(format!("{REPORT}.md")));
    assert!(
        md.contains("| Address | Email | Telephone | Means of payment |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| 8 Marina View, Singapore | arjun@zephyr.example | +65 6555 0199 | wire transfer |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| NOT ON FILE | NOT ON FILE | NOT ON FILE | NOT ON FILE |"),
        "Li Na has none: {md}"
    );
}

#[test]
fn measured_utilisation_stands_next_to_the_assumed_one() {
    let dir = tempfile::tempdir().unwrap();
    let day = run_with(dir.path(), &[], &[], &[]);
    let r = json(&day.join(format!("{REPORT}.json")));
    let measured = r["compute"]["measured_utilization"]
        .as_f64()
        .expect("telemetry covers Zephyr");
    assert!((0.40..0.43).contains(&measured), "{measured}");
    assert_eq!(r["compute"]["assumed_utilization"], 0.35);
    let md = read(&day.join(format!("{REPORT}.md")));
    assert!(md.contains("Utilisation: measured 4"), "{md}");
    assert!(
        md.contains("assumed\n35%") || md.contains("assumed 35%"),
        "{md}"
    );

    let none = tempfile::tempdir().unwrap();
    std::fs::write(none.path().join("telemetry.csv"), "resource_id,billing_account_id,period_start,period_end,instance_type,accelerator_count,avg_utilization,availability_zone,cluster_id\n").unwrap();
    let day = run_with(
        none.path(),
        &[("telemetry", "telemetry.csv")],
        &[],
        &["--drafts", "watch"],
    );
    let r = json(&day.join(format!("{REPORT}.json")));
    assert!(r["compute"]["measured_utilization"].is_null());
    assert!(read(&day.join(format!("{REPORT}.md"))).contains("no telemetry covers"));
}

#[test]
fn certification_reconciles_unverified_accounts_with_the_cip_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let day = run_with(dir.path(), &[], &[], &[]);
    let c = json(&day.join(format!("{CERT}.json")));
    let r = &c["reconciliation"];
    let flags = read_csv(&day.join("flags.csv"));
    let gaps = flags.iter().filter(|f| f["level"] == "CIP_GAP").count() as i64;
    assert_eq!(r["cip_gap"], gaps, "the same run's CIP_GAP count");
    assert_eq!(r["unverified_on_file"], c["total_unverified_foreign"]);
    let no_record = flags
        .iter()
        .filter(|f| f["foreign_basis"] == "no_cip_record")
        .count() as i64;
    let quarantined = ["310000000009", "310000000012"];
    let quarantined_with_use = flags
        .iter()
        .filter(|f| quarantined.contains(&f["account_id"].as_str()))
        .count() as i64;
    assert_eq!(
        r["unverified_no_cip_record"].as_i64().unwrap(),
        no_record - quarantined_with_use,
        "a quarantined customer's billing account is counted once: {r}"
    );
    assert_eq!(
        r["unverified_quarantined"], 2,
        "310000000009 (duplicated) and 310000000012 (bad us_person)"
    );
    assert_eq!(r["unexplained"], 0, "{r}");
    assert_eq!(
        r["unverified_total"],
        r["unverified_on_file"].as_i64().unwrap()
            + r["unverified_no_cip_record"].as_i64().unwrap()
            + r["unverified_quarantined"].as_i64().unwrap()
    );
    // One stated figure in the certification, with its parts; the arithmetic that relates it to
    // the summary's CIP_GAP accounts is in the annex, a working paper that is not filed.
    let cert = read(&day.join(format!("{CERT}.md")));
    assert!(
        cert.contains(&format!(
            "**{}** foreign account(s) whose identity is not verified",
            r["unverified_total"]
        )),
        "{cert}"
    );
    assert!(!cert.contains("Reconciliation"), "{cert}");
    let md = read(&day.join(format!("{CERT}-annex.md")));
    assert!(
        md.contains("WORKING PAPER: not part of the certification")
            && md.contains("Every difference is explained."),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "= {gaps} CIP_GAP account(s) in this run's summary"
        )),
        "{md}"
    );
}

#[test]
fn certification_items_come_from_answers_else_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let day = run_with(dir.path(), &[], &[], &[]);
    let c = json(&day.join(format!("{CERT}.json")));
    let missing: Vec<&str> = c["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        missing,
        [
            "certification_type",
            "last_certification_date",
            "identity_verification",
            "malicious_activity_resources",
            "reseller_oversight",
            "officer_name",
            "officer_title",
            "signature_date",
            "attestations"
        ]
    );
    let md = read(&day.join(format!("{CERT}.md")));
    assert!(
        md.contains("TO COMPLETE: Identity verification procedures"),
        "{md}"
    );
    assert!(
        md.contains("cip-officer@cloud.example, +1 703 555 0100"),
        "contact email and phone"
    );
    assert_eq!(
        md.matches("Signature: ___").count(),
        1,
        "one certifying officer's block"
    );

    let answered = tempfile::tempdir().unwrap();
    let answers = "certification_type = \"out_of_cycle\"\n\
                   trigger = \"New primary CIP contact\"\n\
                   last_certification_date = \"2026-01-31\"\n\
                   identity_verification = \"Documents checked by two reviewers.\"\n\
                   malicious_activity_resources = \"A 24/7 abuse desk.\"\n\
                   reseller_oversight = \"Annual reseller CIP review.\"\n\
                   officer_name = \"Pat Officer\"\n\
                   officer_title = \"Chief Compliance Officer\"\n\
                   signature_date = \"2026-11-30\"\n\
                   attestations = [\"reviewed\", \"services\", \"threats\", \"complies\", \"resolutions\"]\n";
    let day = run_with(answered.path(), &[], &[("certification", answers)], &[]);
    let c = json(&day.join(format!("{CERT}.json")));
    assert_eq!(c["missing"], serde_json::json!([]));
    assert_eq!(c["kind"]["certification_type"], "out_of_cycle");
    assert_eq!(c["days_since_last"], 299);
    let md = read(&day.join(format!("{CERT}.md")));
    for words in [
        "Type: out-of-cycle update",
        "Trigger: New primary CIP contact",
        "A 24/7 abuse desk.",
        "Name: Pat Officer",
    ] {
        assert!(md.contains(words), "{words}: {md}");
    }
}

#[test]
fn failed_verifications_are_limited_to_the_period_and_charts_to_what_they_add() {
    let dir = tempfile::tempdir().unwrap();
    let day = run_with(dir.path(), &[], &[], &[]);
    let c = json(&day.join(format!("{CERT}.json")));
    assert_eq!(
        c["failed_verifications"].as_array().unwrap().len() as i64,
        c["stats"]["failed_in_period"]
    );
    let failed = |c: &Value| -> Vec<String> {
        c["failed_verifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["account_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(failed(&c), ["420000000010"], "opened 2026-10-30, failed");
    assert_eq!(c["period_basis"], "profile");
    // After a certification on 2026-11-01 the period starts the next day: the account opened on
    // 2026-10-30 was the last certification's to count.
    let since = tempfile::tempdir().unwrap();
    let last = "certification_type = \"annual\"\nlast_certification_date = \"2026-11-01\"\n";
    let day = run_with(since.path(), &[], &[("certification", last)], &[]);
    let c = json(&day.join(format!("{CERT}.json")));
    assert_eq!(
        (
            &c["period"]["from"],
            &c["period_basis"],
            &c["days_since_last"]
        ),
        (
            &serde_json::json!("2026-11-02"),
            &serde_json::json!("since_last_certification"),
            &serde_json::json!(25)
        )
    );
    assert_eq!(c["stats"]["failed_in_period"], 0);
    assert_eq!(failed(&c), Vec::<String>::new());
    let md = read(&day.join(format!("{CERT}.md")));
    assert!(
        md.contains("Figures counted from 2026-11-02 to 2026-11-26\n  (from the day after the last certification)"),
        "{md}"
    );
    // A last certification on or after the as-of date (a run for an earlier day) leaves the
    // profile's period, and says why.
    let later = tempfile::tempdir().unwrap();
    let last = "last_certification_date = \"2026-12-01\"\n";
    let day = run_with(later.path(), &[], &[("certification", last)], &[]);
    let c = json(&day.join(format!("{CERT}.json")));
    assert_eq!(c["period_basis"], "profile_last_not_before");
    assert_eq!(failed(&c), ["420000000010"]);
    let md = read(&day.join(format!("{CERT}.md")));
    assert!(
        md.contains("2026-12-01 (not before the as-of date)")
            && md.contains("as the last certification is not before the as-of date)"),
        "{md}"
    );
    // Over the last 20 days the failed account (opened 27 days before) is out of the log too.
    let short = tempfile::tempdir().unwrap();
    run_with(
        short.path(),
        &[],
        &[],
        &["--set", "certification_period_days=20"],
    );
    let cert = tree(&short.path().join("out"))
        .into_keys()
        .find(|k| k.ends_with(&format!("{CERT}.json")))
        .expect("the scenario's certification");
    let c = json(&short.path().join("out").join(cert));
    assert_eq!(c["stats"]["failed_in_period"], 0);
    assert_eq!(failed(&c), Vec::<String>::new());
    let html = read(
        &dir.path()
            .join("out")
            .join(DAY)
            .join(format!("{CERT}.html")),
    );
    let svgs = html.matches("<svg").count();
    let cert = json(
        &dir.path()
            .join("out")
            .join(DAY)
            .join(format!("{CERT}.json")),
    );
    let countries = cert["customers_by_country"].as_array().unwrap();
    let drawn = countries.len() >= 3
        && countries
            .iter()
            .any(|c| c["customers"].as_i64().unwrap() >= 3);
    let backlog_peak = cert["unverified_foreign"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["accounts"].as_i64().unwrap())
        .max();
    assert!(
        backlog_peak.unwrap_or(0) < 3,
        "the sample's backlog has bars of 1 and 2"
    );
    assert_eq!(svgs, usize::from(drawn), "the backlog is not charted");
    if svgs > 0 {
        assert!(html.contains("chart-axis-label") && html.contains("chart-tick"));
    }
}

/// Every `.pdf` of a run folder, by relative path.
fn pdfs(day: &Path) -> Vec<(String, Vec<u8>)> {
    tree(day)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".pdf"))
        .collect()
}

fn pdftotext(path: &Path) -> String {
    let o = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (tests/browser/setup.sh installs it)");
    assert!(o.status.success(), "pdftotext {}", path.display());
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn pdf_documents_are_paginated_with_every_section_and_the_same_bytes_on_rerun() {
    ensure_pdf_tools();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    run_samples(a.path(), &["--pdf"]);
    run_samples(b.path(), &["--pdf"]);
    let (day_a, day_b) = (a.path().join(DAY), b.path().join(DAY));
    let first = pdfs(&day_a);
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "certification/cip-certification-annex.pdf",
            "certification/cip-certification.pdf",
            "reports/420000000002/ai-training-report-annex.pdf",
            "reports/420000000002/ai-training-report.pdf",
            "summary.pdf"
        ]
    );
    assert_eq!(first, pdfs(&day_b), "the same inputs give the same bytes");
    let manifest = json(&day_a.join("manifest.json"));
    for (name, _) in &first {
        assert!(
            manifest["outputs"][name]["sha256"].is_string(),
            "{name} in the manifest"
        );
    }
    let sections: [(&str, &[&str]); 4] = [
        (
            "reports/420000000002/ai-training-report.pdf",
            &[
                "1. Report",
                "The reportable event",
                "Reseller chain",
                "2. The foreign person",
                "3. The training run",
                "4. Customer Identification Program status",
                "5. To be completed by the provider",
                "6. Submission",
                "CIPW-AITR-420000000002-2026-11-26",
                "Placement",
                "Interconnect",
            ],
        ),
        (
            "certification/cip-certification.pdf",
            &[
                "Descriptions",
                "1. Customers by country",
                "5. Verifications in the period",
                "6. Attestations",
                "7. Certifying officer",
            ],
        ),
        (
            "reports/420000000002/ai-training-report-annex.pdf",
            &[
                "WORKING PAPER",
                "Method and assumptions",
                "Pre-filing checklist",
                "Glossary",
            ],
        ),
        ("summary.pdf", &["cipwatch run summary"]),
    ];
    for (name, titles) in sections {
        let text = pdftotext(&day_a.join(name));
        assert!(text.contains("Page 1 of "), "{name}: {text}");
        let pages = text.matches("Page ").filter(|_| true).count();
        assert!(pages >= 1);
        assert!(
            text.to_uppercase().contains("CONFIDENTIAL"),
            "{name}: the marking"
        );
        for title in titles {
            assert!(text.contains(title), "{name}: {title}");
        }
    }
    // The PDFs are private files, and their text is masked like every document.
    for (name, _) in &first {
        let path = day_a.join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
        assert_masked(name, &pdftotext(&path), &["DE89370400440532013000"]);
    }
}

#[test]
fn pdf_without_chromium_is_a_clear_error_naming_the_setup_script() {
    let out = tempfile::tempdir().unwrap();
    let o = cipwatch_env(
        &["run", "--out", out.path().to_str().unwrap(), "--pdf"],
        &[("CIPWATCH_CHROMIUM", "/nonexistent/chromium")],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("tests/browser/setup.sh"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn filing_copy_is_unmasked_in_its_own_folder_and_default_documents_stay_masked() {
    let raw = "DE89370400440532013000";
    let plain = tempfile::tempdir().unwrap();
    run_samples(plain.path(), &[]);
    assert!(
        !plain.path().join(DAY).join("filing-copy-UNMASKED").exists(),
        "off by default"
    );

    let out = tempfile::tempdir().unwrap();
    let o = run_samples(out.path(), &["--filing-copy"]);
    assert_masked("stderr", &stderr(&o), &[raw]);
    assert_masked("stdout", &stdout(&o), &[raw]);
    let day = out.path().join(DAY);
    let copy = day.join("filing-copy-UNMASKED");
    let report = read(&copy.join(format!("{REPORT}.md")));
    assert!(
        report.contains(raw),
        "the filing copy holds the full payment identifier"
    );
    assert!(read(&copy.join(format!("{REPORT}.json"))).contains(raw));
    assert!(copy.join(format!("{CERT}.md")).is_file());
    assert!(!copy.join("summary.md").exists(), "filing documents only");
    let manifest = json(&day.join("manifest.json"));
    let rel = format!("filing-copy-UNMASKED/{REPORT}.md");
    assert!(
        manifest["outputs"][&rel]["sha256"].is_string(),
        "recorded in the manifest"
    );
    assert!(!read(&day.join("manifest.json")).contains(raw));
    let mode = std::fs::metadata(copy.join(format!("{REPORT}.md")))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Everything outside the copy stays masked.
    for (name, bytes) in tree(&day) {
        if !name.starts_with("filing-copy-UNMASKED/") {
            assert_masked(&name, &String::from_utf8_lossy(&bytes), &[raw]);
        }
    }
}

/// A browser that runs but prints nothing is reference data at fault (exit 4, naming the setup
/// script), not a bug in cipwatch.
#[test]
fn a_browser_that_prints_no_pdf_is_exit_4_naming_the_setup_script() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-chromium");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("out");
    let o = cipwatch_env(
        &["run", "--out", out.to_str().unwrap(), "--pdf"],
        &[("CIPWATCH_CHROMIUM", fake.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("printed no PDF"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("tests/browser/setup.sh"),
        "{}",
        stderr(&o)
    );
}
