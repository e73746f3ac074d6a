//! The knowledge clock moves only forward: README's examples in README's order (the nightly
//! run, then a backfill over the past week) leave the filing run's due dates, references and run
//! id as they were; a backfill publishes as the scenario `backfill`. With `--filing` a past run may
//! move a knowledge date earlier, and says so in the log and the manifest; the folder republished
//! afterwards names its changed due dates (and one whose flags table was edited is not replaced).

use crate::helpers::*;
use std::path::Path;

fn due_dates(day: &Path) -> Vec<(String, String, String)> {
    read_csv(&day.join("flags.csv"))
        .into_iter()
        .map(|r| {
            (
                r["account_id"].clone(),
                r["knowledge_date"].clone(),
                r["report_due_date"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_backfill_after_the_nightly_run_moves_no_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    run_samples(&out, &["-q"]);
    let day = out.join("2026-11-26");
    let before = (due_dates(&day), manifest_of(&out)["run_id"].clone());
    let knowledge = std::fs::read(out.join("knowledge.json")).unwrap();
    let reports = tree(&day.join("reports"));
    assert!(
        before.0.iter().any(|(_, _, due)| !due.is_empty()),
        "a due date to keep"
    );

    let run = cipwatch(&[
        "-q",
        "run",
        "--out",
        o,
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-26",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(due_dates(&day), before.0);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(day.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["run_id"], before.1, "the same run id");
    assert_eq!(
        tree(&day.join("reports")),
        reports,
        "the same reports and references"
    );
    assert_eq!(
        std::fs::read(out.join("knowledge.json")).unwrap(),
        knowledge
    );
    assert!(out.join("scenarios/backfill/2026-11-21/_SUCCESS").is_file());
    assert!(
        !out.join("2026-11-21").exists(),
        "the past dates are not filing runs"
    );
}

#[test]
fn a_filing_backfill_moves_knowledge_earlier_loudly_and_the_republished_folder_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    run_samples(&out, &["-q"]);
    let day = out.join("2026-11-26");
    let before = due_dates(&day);

    let past = cipwatch(&["run", "--out", o, "--as-of", "2026-11-21", "--filing"]);
    assert_eq!(past.status.code(), Some(0), "{}", stderr(&past));
    assert!(out.join("2026-11-21/_SUCCESS").is_file());
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("2026-11-21/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        m["knowledge_moved"],
        serde_json::json!(["420000000002: 2026-11-26 -> 2026-11-21"])
    );
    assert!(
        stderr(&past).contains("KNOWLEDGE DATE MOVED EARLIER"),
        "{}",
        stderr(&past)
    );

    let again = cipwatch(&["-q", "run", "--out", o, "--as-of", "2026-11-26"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(day.join("manifest.json")).unwrap()).unwrap();
    let after = due_dates(&day);
    assert_ne!(after, before);
    // Exactly the accounts whose due date moved, each with its old and new date.
    let shown = |d: &str| {
        if d.is_empty() {
            "none".to_string()
        } else {
            d.to_string()
        }
    };
    let moved: Vec<String> = after
        .iter()
        .filter_map(|(id, _, due)| {
            let old = before.iter().find(|(b, _, _)| b == id).map_or("", |b| &b.2);
            (old != due).then(|| format!("{id}: {} -> {}", shown(old), shown(due)))
        })
        .collect();
    assert!(!moved.is_empty());
    assert_eq!(m["deadlines_changed"], serde_json::json!(moved), "{m}");

    // A folder whose flags table cipwatch did not write is not replaced blindly: exit 2 saying
    // what to do, and the folder stays as it was.
    std::fs::write(day.join("flags.parquet"), b"not parquet").unwrap();
    let edited = cipwatch(&["-q", "run", "--out", o, "--as-of", "2026-11-26"]);
    assert_eq!(edited.status.code(), Some(2), "{}", stderr(&edited));
    assert!(
        stderr(&edited).contains("move it aside"),
        "{}",
        stderr(&edited)
    );
    assert_eq!(
        std::fs::read(day.join("flags.parquet")).unwrap(),
        b"not parquet"
    );
}

/// `filed` keeps what was filed: the draft's documents under `filings/<reference>/`, owner-only,
/// byte-identical after three more nightly runs and a backfill; the same reference filed again is
/// archived beside it as a correction and recorded as one.
#[test]
fn a_filed_draft_is_archived_and_outlives_reruns_and_backfills() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    run_samples(&out, &["-q"]);
    let report = out.join("2026-11-26/reports/420000000002");
    let drafted = tree(&report);
    let filed = |reference: &str| {
        cipwatch(&[
            "-q",
            "filed",
            "420000000002",
            "--reference",
            reference,
            "--date",
            "2026-11-28",
            "--out",
            o,
        ])
    };
    let f = filed("BIS-2026-0042");
    assert_eq!(f.status.code(), Some(0), "{}", stderr(&f));
    let archive = out.join("filings/BIS-2026-0042");
    let kept = tree(&archive.join("reports/420000000002"));
    assert_eq!(kept, drafted, "the exact documents of the filed draft");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&archive), 0o700);
        assert_eq!(
            mode(&archive.join("reports/420000000002/ai-training-report.md")),
            0o600
        );
    }
    let log = std::fs::read_to_string(out.join("filings.jsonl")).unwrap();
    assert!(
        log.contains("\"archive\":\"filings/BIS-2026-0042\""),
        "{log}"
    );

    let later: [&[&str]; 4] = [
        &[],
        &[],
        &["--as-of", "2026-11-27"],
        &["--from", "2026-11-20", "--to", "2026-11-26"],
    ];
    for extra in later {
        let mut args = vec!["-q", "run", "--out", o];
        args.extend_from_slice(extra);
        let r = cipwatch(&args);
        assert_eq!(r.status.code(), Some(0), "{extra:?}: {}", stderr(&r));
    }
    assert_eq!(
        tree(&archive.join("reports/420000000002")),
        kept,
        "kept through reruns"
    );

    let again = filed("BIS-2026-0042");
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(archive
        .join("correction-1/reports/420000000002/ai-training-report.md")
        .is_file());
    let log = std::fs::read_to_string(out.join("filings.jsonl")).unwrap();
    assert!(
        log.lines().last().unwrap().contains("\"correction\":true"),
        "{log}"
    );
    assert_eq!(
        tree(&archive.join("reports/420000000002")),
        kept,
        "the first filing untouched"
    );
}

/// The unmasked filing copy states the same filing status as the masked report (both compare the
/// masked view with the filed facts) and says it is unmasked on every page.
#[test]
fn the_unmasked_copy_states_the_masked_reports_status_and_says_it_is_unmasked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    run_samples(&out, &["-q", "--filing-copy"]);
    let f = cipwatch(&[
        "-q",
        "filed",
        "420000000002",
        "--reference",
        "BIS-2026-0042",
        "--date",
        "2026-11-28",
        "--out",
        o,
    ]);
    assert_eq!(f.status.code(), Some(0), "{}", stderr(&f));
    run_samples(&out, &["-q", "--filing-copy"]);
    let day = out.join("2026-11-26");
    let status = |path: &Path| -> String {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        json["status"].to_string()
    };
    let masked = status(&day.join("reports/420000000002/ai-training-report.json"));
    let copy = day.join("filing-copy-UNMASKED/reports/420000000002");
    let unmasked = status(&copy.join("ai-training-report.json"));
    assert!(masked.contains("FILED"), "{masked}");
    assert_eq!(unmasked, masked);
    let md = std::fs::read_to_string(copy.join("ai-training-report.md")).unwrap();
    assert!(
        md.matches("**UNMASKED FILING COPY").count() >= 2,
        "at the top and the end: {md}"
    );
    let html = std::fs::read_to_string(copy.join("ai-training-report.html")).unwrap();
    assert!(html.contains("UNMASKED FILING COPY"), "every printed page");
}
