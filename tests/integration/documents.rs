//! The documents counsel files: report drafts, certification metrics and the run summary.

use crate::helpers::*;
use std::path::Path;

const DAY: &str = "2026-11-26";
const REPORT: &str = "reports/420000000002/ai-training-report";

fn snapshot(name: &str, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    insta::with_settings!({ filters => vec![(r"run [0-9a-f]{16}", "run [RUN_ID]"), (r#""run_id": "[0-9a-f]{16}""#, r#""run_id": "[RUN_ID]""#), (r#""first_flagged_run": "[0-9a-f]{16}""#, r#""first_flagged_run": "[RUN_ID]""#)] }, {
        insta::assert_snapshot!(name, text);
    });
}

/// The checklist items of a report that are not satisfied: their code, and `answer:KEY` for
/// counsel's answers.
fn failed_checks(json: &serde_json::Value) -> Vec<String> {
    let items = json["checklist"].as_array().expect("checklist");
    items
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| match c["key"].as_str() {
            Some(key) => format!("{}:{key}", c["code"].as_str().unwrap()),
            None => c["code"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[test]
fn sample_documents_snapshots() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &[]);
    let day = out.path().join(DAY);
    snapshot("report_md", &day.join(format!("{REPORT}.md")));
    snapshot("report_json", &day.join(format!("{REPORT}.json")));
    snapshot(
        "certification_md",
        &day.join("certification/cip-certification.md"),
    );
    snapshot("summary_md", &day.join("summary.md"));
    let reports: Vec<String> = std::fs::read_dir(day.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        reports,
        ["420000000002"],
        "one report per REPORTABLE account, none for the others"
    );
}

#[test]
fn html_is_self_contained_printable_and_escaped() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &[]);
    let day = out.path().join(DAY);
    for doc in [
        format!("{REPORT}.html"),
        "certification/cip-certification.html".into(),
        "summary.html".into(),
    ] {
        let html = std::fs::read_to_string(day.join(&doc)).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{doc}");
        assert!(
            html.contains("@media print") && html.contains("break-inside: avoid"),
            "{doc}: print CSS"
        );
        for remote in ["src=\"http", "href=\"http", "@import", "<link", "<script"] {
            assert!(!html.contains(remote), "{doc} contains {remote}");
        }
    }
    let cert = std::fs::read_to_string(day.join("certification/cip-certification.html")).unwrap();
    assert!(
        cert.contains("&lt;script&gt;alert(1)&lt;/script&gt; Holdings Ltd"),
        "customer name printed, escaped"
    );
    assert!(
        !cert.contains("Foreign accounts not verified, by status and age"),
        "the backlog's bars of 1 are not charted"
    );
    let summary = std::fs::read_to_string(day.join("summary.html")).unwrap();
    assert!(summary.contains("<svg") && summary.contains("threshold: 1e24"));
}

#[test]
fn markdown_shows_a_hostile_name_as_written_with_markdown_escapes() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &[]);
    let day = out.path().join(DAY);
    let md = std::fs::read_to_string(day.join("certification/cip-certification.md")).unwrap();
    assert!(
        md.contains("\\<script\\>alert(1)\\</script\\> Holdings Ltd"),
        "name as written, its markup escaped: {md}"
    );
    assert!(
        !md.contains("&lt;") && !md.contains("&gt;"),
        "no HTML entity"
    );
    let report = std::fs::read_to_string(day.join(format!("{REPORT}.md"))).unwrap();
    assert!(!report.contains("&amp;") && !report.contains("&quot;"));
    assert!(
        report.contains(&md_mask("******************3000")),
        "the payment identifier stays masked"
    );
    let html = std::fs::read_to_string(day.join("certification/cip-certification.html")).unwrap();
    assert!(html.contains("&lt;script&gt;") && !html.contains("\\<script"));
}

#[test]
fn a_line_break_in_a_value_never_ends_a_markdown_table_row() {
    let dir = tempfile::tempdir().unwrap();
    let owners = std::fs::read_to_string(repo().join("data-samples/cip/beneficial_owners.csv"))
        .unwrap()
        .replace(
            "420000000002,Li Na,",
            "420000000002,\"Li Na\r\n| Forged Owner | US | 99% | true | verified |\nNext\",",
        );
    std::fs::write(dir.path().join("beneficial_owners.csv"), owners).unwrap();
    let own = dir.path().join("beneficial_owners.csv");
    let cfg = config_with(dir.path(), &[("beneficial_owners", own.to_str().unwrap())]);
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(
        dir.path()
            .join("out")
            .join(DAY)
            .join(format!("{REPORT}.md")),
    )
    .unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| Li Na"))
        .unwrap_or_else(|| panic!("the owner's row: {md}"));
    assert!(
        row.starts_with(
            "| Li Na<br>\\| Forged Owner \\| US \\| 99% \\| true \\| verified \\|<br>Next |"
        ),
        "one row, its line breaks as <br> and its pipes escaped: {row}"
    );
    assert!(!md
        .lines()
        .any(|l| l.starts_with("| Forged") || l.starts_with("Next")));
}

#[test]
fn report_states_dates_masks_numbers_and_marks_what_to_complete() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &[]);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join(DAY).join(format!("{REPORT}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(json["schema"], "cipwatch/ai-training-report/1");
    assert_eq!(
        json["knowledge_date"], "2026-11-26",
        "the first run that found it REPORTABLE"
    );
    assert_eq!(json["crossing_date"], "2026-11-21");
    assert_eq!(json["due_date"], "2026-12-11");
    assert_eq!(
        json["customer"]["payment_identifier_masked"],
        "******************3000"
    );
    assert_eq!(json["customer"]["national_id_masked"], "**********345K");
    assert!(
        json["customer"].get("payment_identifier").is_none(),
        "no raw identifier in the view model"
    );
    assert_eq!(json["to_complete"].as_array().unwrap().len(), 3);
    assert_eq!(
        json["access"].as_array().unwrap().len(),
        3,
        "access within the report window"
    );
    let failed = failed_checks(&json);
    assert_eq!(
        failed,
        [
            "answer:model_information",
            "answer:cybersecurity_practices",
            "answer:narrative",
            "fact:knowledge_date",
            "fact:trigger_type",
            "fact:anticipated_completion",
            "fact:submitter_name",
            "fact:submitter_title",
            "fact:submission_date"
        ]
    );
}

#[test]
fn a_missing_cip_field_becomes_a_listed_gap() {
    let dir = tempfile::tempdir().unwrap();
    let customers = std::fs::read_to_string(repo().join("data-samples/cip/customers.csv")).unwrap();
    let edited = customers
        .replace("ops@zephyr.example", "")
        .replace("+65 6555 0102", "");
    std::fs::write(dir.path().join("customers.csv"), edited).unwrap();
    let cfg = config_in(dir.path(), &[("customers", "customers.csv")]);
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = dir
        .path()
        .join("out")
        .join(DAY)
        .join(format!("{REPORT}.json"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let gaps: Vec<&str> = json["cip"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert_eq!(gaps, ["email missing", "telephone missing"]);
    let failed = failed_checks(&json);
    assert!(
        failed.contains(&"email".to_string()) && failed.contains(&"phone".to_string()),
        "{failed:?}"
    );
    let md = std::fs::read_to_string(report.with_extension("md")).unwrap();
    assert!(md.contains("Email addresses: NOT ON FILE") && md.contains("**email missing**"));
    let annex =
        std::fs::read_to_string(report.with_file_name("ai-training-report-annex.md")).unwrap();
    assert!(
        annex.contains("- [ ] **Customer email**: missing"),
        "the checklist's words come from the template, in the report's annex"
    );
}

#[test]
fn watch_drafts_are_marked_not_yet_reportable() {
    let out = tempfile::tempdir().unwrap();
    run_samples(
        out.path(),
        &[&UNMODIFIED_RULE[..], &["--drafts", "watch"]].concat(),
    );
    let md = std::fs::read_to_string(
        out.path()
            .join(UNMODIFIED_SCENARIO)
            .join(DAY)
            .join(format!("{REPORT}.md")),
    )
    .unwrap();
    assert!(md.contains("DRAFT, NOT YET REPORTABLE (WATCH): for review only**"));
    assert!(md.contains("Date first flagged: not reportable yet"));
    let out2 = tempfile::tempdir().unwrap();
    run_samples(out2.path(), &UNMODIFIED_RULE);
    let scenario = out2.path().join(UNMODIFIED_SCENARIO).join(DAY);
    assert!(scenario.join("_SUCCESS").is_file());
    assert!(
        !scenario.join("reports").exists(),
        "no drafts for WATCH accounts by default"
    );
}

#[test]
fn template_errors_name_the_template_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run_with_summary = |template: &str| {
        std::fs::write(dir.path().join("summary.md"), template).unwrap();
        let templates = dir.path().to_str().unwrap();
        cipwatch(&[
            "run",
            "--templates",
            templates,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = run_with_summary("# Summary\n\n{{ doc.accounts | }}\nline four\n");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("summary.md:3"),
        "file and line: {}",
        stderr(&o)
    );

    let o = run_with_summary("# Summary\n{{ doc.no_such_field }}\n");
    assert_eq!(
        o.status.code(),
        Some(2),
        "undefined values are errors: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("summary.md"), "{}", stderr(&o));
    assert!(
        !out.join(DAY).exists(),
        "nothing published after a template error"
    );
}
