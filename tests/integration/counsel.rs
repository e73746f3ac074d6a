//! Counsel's workflow end to end: what-if scenarios kept apart from the filing run, the
//! threshold-honesty banner, deadlines and the knowledge date, reproducible run ids, answers files
//! and the filing log with its updated-report changelog.

use crate::helpers::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ZEPHYR: &str = "420000000002";
const REPORT_MD: &str = "reports/420000000002/ai-training-report.md";
const REPORT_JSON: &str = "reports/420000000002/ai-training-report.json";
const RULE_BANNER: &str =
    "NOT ASSESSED UNDER THE RULE'S THRESHOLDS: training_ops 1e24 (rule: 1e26); cluster_peak_ops_per_s 1e18 (rule: 1e20)";

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "cipwatch failed: {}", stderr(&o));
    o
}

/// A scratch folder with a sample configuration (outputs in `<dir>/out`) and its path.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[]);
    (dir, cfg)
}

fn run_cfg(cfg: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["-q", "run", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(cipwatch(&args))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// The rendered documents (Markdown and HTML) of a run folder, path → text.
fn documents(run: &Path) -> BTreeMap<String, String> {
    tree(run)
        .into_iter()
        .filter(|(p, _)| p.ends_with(".md") || p.ends_with(".html"))
        .map(|(p, b)| (p, text_of(&String::from_utf8(b).unwrap())))
        .collect()
}

fn run_ids(out: &Path) -> Vec<String> {
    read(&out.join("runs.jsonl"))
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["run_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn a_scenario_leaves_the_filing_run_byte_identical() {
    let (dir, cfg) = workspace();
    let out = dir.path().join("out");
    run_cfg(&cfg, &[]);
    let filed = [
        "filed",
        ZEPHYR,
        "--reference",
        "BIS-1",
        "--date",
        "2026-11-27",
        "--config",
    ];
    ok(cipwatch(&[&filed[..], &[cfg.to_str().unwrap()]].concat()));
    let before = tree(&out);
    assert!(before.contains_key("filings.jsonl") && before.contains_key("knowledge.json"));

    // The README's what-if: the unmodified rule with WATCH drafts.
    let o = run_cfg(
        &cfg,
        &[&UNMODIFIED_RULE[..], &["--drafts", "watch"]].concat(),
    );
    let name = "training_ops-1e26_cluster_peak_ops_per_s-1e20";
    let scenario = out.join("scenarios").join(name).join("2026-11-26");
    assert!(
        stdout(&o).contains(&scenario.display().to_string()),
        "{}",
        stdout(&o)
    );
    let after: BTreeMap<String, Vec<u8>> = tree(&out)
        .into_iter()
        .filter(|(p, _)| !p.starts_with("scenarios/"))
        .collect();
    assert_eq!(
        before, after,
        "the filing run's files, knowledge clock and filing log are untouched"
    );

    // Every scenario document says so, and the scenario draft is not a filing draft.
    let docs = documents(&scenario);
    assert!(docs.len() >= 6, "{:?}", docs.keys());
    for (path, text) in &docs {
        assert!(text.contains(&format!("SCENARIO {name}")), "{path}");
    }
    let report = json(&scenario.join(REPORT_JSON));
    assert_eq!(report["level"], "WATCH");
    assert_eq!(report["common"]["scenario"], name);

    // A named scenario, the listing, and diff between the filing run and a scenario.
    run_cfg(
        &cfg,
        &["--set", "training_ops=5e23", "--scenario", "low-ops"],
    );
    assert!(out.join("scenarios/low-ops/2026-11-26/_SUCCESS").is_file());
    let o = ok(cipwatch(&["scenarios", "--out", out.to_str().unwrap()]));
    assert!(
        stdout(&o).contains(name) && stdout(&o).contains("low-ops"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("training_ops=1e26"), "{}", stdout(&o));
    let o = ok(cipwatch(&[
        "diff",
        "2026-11-26",
        &format!("scenarios/{name}/2026-11-26"),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["accounts"][0]["account_id"], ZEPHYR);
    assert_eq!(d["accounts"][0]["change"], "became WATCH");
    // The plain diff still compares filing runs only: scenarios are not "the latest run".
    let o = cipwatch(&["diff", "--out", out.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "one filing run only: {}",
        stdout(&o)
    );
}

#[test]
fn the_threshold_banner_appears_under_overridden_thresholds_only() {
    // The sample configuration lowers the rule's thresholds in its [overrides].
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &["-q"]);
    let run = out.path().join("2026-11-26");
    let docs = documents(&run);
    for (path, text) in &docs {
        if path.starts_with("certification/") {
            // None of the certification's figures depends on the compute thresholds.
            assert!(!text.contains(RULE_BANNER), "{path}");
            continue;
        }
        let times = text.matches(RULE_BANNER).count();
        assert!(
            times >= 2,
            "{path}: the banner heads and closes every page ({times})"
        );
        assert!(
            !text.to_lowercase().contains("reportable under the rule"),
            "{path} claims what the run did not test"
        );
    }
    let html = &docs[&REPORT_MD.replace(".md", ".html")];
    assert!(
        html.contains("<thead><tr><td><p class=\"banner\">"),
        "repeated on printed pages"
    );
    assert_eq!(
        json(&run.join(REPORT_JSON))["common"]["not_assessed"][0],
        "training_ops 1e24 (rule: 1e26)"
    );

    // The same data under the rule's own numbers: no banner anywhere.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[]);
    let text = read(&cfg)
        .replace("training_ops = 1e24\n", "")
        .replace("cluster_peak_ops_per_s = 1e18\n", "");
    std::fs::write(&cfg, text).unwrap();
    run_cfg(&cfg, &["--drafts", "watch"]);
    let run = dir.path().join("out/2026-11-26");
    let docs = documents(&run);
    assert!(docs.contains_key(REPORT_MD), "the WATCH draft is rendered");
    for (path, text) in &docs {
        assert!(!text.contains("NOT ASSESSED"), "{path}");
        assert!(
            !text.contains("SCENARIO"),
            "{path}: a configuration's own numbers are a filing run"
        );
    }
}

#[test]
fn overdue_appears_after_the_due_date() {
    let (dir, cfg) = workspace();
    // Runs after the data's last day need a registry allowed to be that old.
    std::fs::write(&cfg, read(&cfg) + "\n[registry]\nmax_age_days = 400\n").unwrap();
    run_cfg(&cfg, &["--as-of", "2026-11-22"]);
    let first = dir.path().join("out/2026-11-22");
    let report = json(&first.join(REPORT_JSON));
    assert_eq!(report["due_date"], "2026-12-07");
    assert_eq!(report["deadline"]["text"], "15 days left");
    run_cfg(&cfg, &["--as-of", "2026-12-10"]);
    let late = dir.path().join("out/2026-12-10");
    let report = json(&late.join(REPORT_JSON));
    assert_eq!(
        report["knowledge_date"], "2026-11-22",
        "the clock kept the first run's date"
    );
    assert_eq!(report["deadline"]["days_left"], -3);
    assert!(read(&late.join(REPORT_MD)).contains("**OVERDUE by 3 days**"));
    let summary = read(&late.join("summary.md"));
    let row = summary
        .lines()
        .find(|l| l.starts_with(&format!("| {ZEPHYR} | REPORTABLE | 2026-11-22")))
        .unwrap_or_else(|| panic!("no deadlines row:\n{summary}"));
    assert!(
        row.contains("**2026-12-07** | OVERDUE by 3 days | open"),
        "{row}"
    );
}

#[test]
fn the_knowledge_date_is_the_first_filing_run_that_found_the_account_reportable() {
    let (dir, cfg) = workspace();
    let out = dir.path().join("out");
    // WATCH on 20 November (with a provisional due date: every test but the total is met).
    run_cfg(&cfg, &["--as-of", "2026-11-20"]);
    let watch = flag(&read_csv(&out.join("2026-11-20/flags.csv")), ZEPHYR);
    assert_eq!(watch["level"], "WATCH");
    assert_eq!(watch["knowledge_date"], "");
    assert_eq!(watch["provisional_due_date"], "2026-12-06");
    // A scenario on 23 November finds it REPORTABLE: the filing clock does not move.
    run_cfg(
        &cfg,
        &["--as-of", "2026-11-23", "--set", "watch_fraction=0.02"],
    );
    assert!(
        !out.join("knowledge.json").exists(),
        "scenarios never touch the clock"
    );
    // First filing run that finds it REPORTABLE: 24 November (the data crossed on the 21st).
    run_cfg(&cfg, &["--as-of", "2026-11-24"]);
    let first = flag(&read_csv(&out.join("2026-11-24/flags.csv")), ZEPHYR);
    assert_eq!(
        (
            first["level"].as_str(),
            first["knowledge_date"].as_str(),
            first["crossing_date"].as_str(),
            first["report_due_date"].as_str()
        ),
        ("REPORTABLE", "2026-11-24", "2026-11-21", "2026-12-09")
    );
    // A later run keeps that knowledge date; the report shows both dates.
    run_cfg(&cfg, &[]);
    let report = json(&out.join("2026-11-26").join(REPORT_JSON));
    assert_eq!(report["knowledge_date"], "2026-11-24");
    assert_eq!(report["crossing_date"], "2026-11-21");
    assert_eq!(report["due_date"], "2026-12-09");
    assert_eq!(report["deadline"]["text"], "13 days left");
}

/// Counsel adopts a knowledge date by answering `knowledge_date`: the report states it as
/// counsel's determination and the due date counts from it, while the screening's clock (the
/// first run that flagged the account, `first_flagged_date`) stays where the screening put it.
/// A date after the as-of date is not yet in force and is said to be.
#[test]
fn counsel_adopts_a_knowledge_date_by_answering_and_the_due_date_follows() {
    let (dir, cfg) = workspace();
    let out = dir.path().join("out");
    run_cfg(&cfg, &["--as-of", "2026-11-24"]);
    let clock = read(&out.join("knowledge.json"));
    let answers = dir.path().join("answers");
    std::fs::create_dir_all(&answers).unwrap();
    let answer = |date: &str| {
        std::fs::write(
            answers.join(format!("{ZEPHYR}.toml")),
            format!("knowledge_date = \"{date}\"\n"),
        )
        .unwrap()
    };
    answer("2026-11-21");
    run_cfg(&cfg, &[]);
    let run = out.join("2026-11-26");
    let f = flag(&read_csv(&run.join("flags.csv")), ZEPHYR);
    assert_eq!(
        (
            f["knowledge_date"].as_str(),
            f["first_flagged_date"].as_str(),
            f["report_due_date"].as_str()
        ),
        ("2026-11-21", "2026-11-24", "2026-12-06"),
        "the due date counts from counsel's date"
    );
    assert_eq!(
        read(&out.join("knowledge.json")),
        clock,
        "the screening's clock is unmoved"
    );
    let report = prose_of(&read(&run.join(REPORT_MD)));
    assert!(
        report.contains("Counsel has determined that Example Cloud Corp. has had knowledge of this transaction since 2026-11-21")
            && report.contains("first found this account REPORTABLE under the parameters above on 2026-11-24"),
        "{report}"
    );
    let checklist = prose_of(&read(
        &run.join("reports/420000000002/ai-training-report-annex.md"),
    ));
    assert!(!checklist.contains("answer knowledge_date"), "{checklist}");
    // A date after the as-of date is not knowledge yet: the screening's date stands.
    answer("2026-11-30");
    run_cfg(&cfg, &[]);
    let f = flag(&read_csv(&run.join("flags.csv")), ZEPHYR);
    assert_eq!(f["knowledge_date"], "2026-11-24");
    let report = prose_of(&read(&run.join(REPORT_MD)));
    assert!(
        report.contains(
            "the date answered, 2026-11-30, is after the as-of date and not yet in force"
        ),
        "{report}"
    );
    // Without an answer the report leaves knowledge to counsel and lists the answer to give.
    std::fs::remove_file(answers.join(format!("{ZEPHYR}.toml"))).unwrap();
    run_cfg(&cfg, &[]);
    let report = prose_of(&read(&run.join(REPORT_MD)));
    assert!(
        report.contains("is for counsel to determine before filing (answer knowledge_date)"),
        "{report}"
    );
}

#[test]
fn the_same_run_id_from_a_plain_run_a_backfill_and_two_working_directories() {
    let (dir, cfg) = workspace();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    // Plain run from the configuration's folder, relative path.
    ok(cipwatch_in(
        dir.path(),
        &[
            "-q",
            "run",
            "--config",
            "cipwatch.toml",
            "--out",
            a.to_str().unwrap(),
        ],
    ));
    // Backfill of the same day from the repository root, absolute path.
    run_cfg(
        &cfg,
        &[
            "--from",
            "2026-11-26",
            "--to",
            "2026-11-26",
            "--out",
            b.to_str().unwrap(),
        ],
    );
    // Plain run from yet another folder.
    let elsewhere = tempfile::tempdir().unwrap();
    ok(cipwatch_in(
        elsewhere.path(),
        &[
            "-q",
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            c.to_str().unwrap(),
        ],
    ));
    let ids: Vec<String> = [&a, &b, &c].iter().flat_map(|o| run_ids(o)).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    // The manifest's paths are relative to the configuration file.
    let m = json(&a.join("2026-11-26/manifest.json"));
    assert_eq!(m["config"]["source"], "cipwatch.toml");
    assert_eq!(m["answers"]["dir"], "answers");
    assert_eq!(
        read(&a.join("2026-11-26/manifest.json")),
        read(&c.join("2026-11-26/manifest.json")),
        "the same manifest from two working folders"
    );

    // An overridden template is hashed into the manifest and changes the run id.
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    let summary = read(&repo().join("templates/summary.md")) + "\nLocal note.\n";
    std::fs::write(templates.join("summary.md"), summary).unwrap();
    run_cfg(
        &cfg,
        &[
            "--templates",
            templates.to_str().unwrap(),
            "--out",
            a.to_str().unwrap(),
        ],
    );
    let m = json(&a.join("2026-11-26/manifest.json"));
    let entry = m["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["file"] == "summary.md")
        .unwrap()
        .clone();
    assert_eq!(entry["origin"], "templates/summary.md");
    assert_ne!(run_ids(&a)[1], ids[0], "another template, another run");
}

#[test]
fn answers_survive_a_rerun_and_complete_the_checklist() {
    let (dir, cfg) = workspace();
    let out = dir.path().join("out");
    let c = cfg.to_str().unwrap();
    let o = ok(cipwatch(&["answers", ZEPHYR, "--config", c]));
    let file = dir.path().join("answers").join(format!("{ZEPHYR}.toml"));
    assert!(
        stdout(&o).contains(&file.display().to_string()),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        cipwatch(&["answers", ZEPHYR, "--config", c]).status.code(),
        Some(2),
        "an existing answers file is never overwritten"
    );
    run_cfg(&cfg, &[]);
    let checklist = |out: &Path| -> BTreeMap<String, bool> {
        json(&out.join("2026-11-26").join(REPORT_JSON))["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["code"] == "answer")
            .map(|c| {
                (
                    c["key"].as_str().unwrap().to_string(),
                    c["ok"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let empty = checklist(&out);
    assert_eq!(empty.len(), 3);
    assert!(
        empty.values().all(|ok| !ok),
        "the template's blanks are missing: {empty:?}"
    );
    let first_id = run_ids(&out)[0].clone();

    let text = read(&file)
        .replace(
            "model_information = \"\"",
            "model_information = \"A 70B-parameter language model.\"",
        )
        .replace(
            "cybersecurity_practices = \"\"",
            "cybersecurity_practices = \"Weights encrypted at rest.\"",
        )
        .replace(
            "narrative = \"\"",
            "narrative = \"\"\"\nFound by the nightly run.\nConfirmed by the account team.\"\"\"",
        );
    std::fs::write(&file, text).unwrap();
    for _ in 0..2 {
        run_cfg(&cfg, &[]);
        let done = checklist(&out);
        assert!(done.values().all(|ok| *ok), "{done:?}");
        let md = read(&out.join("2026-11-26").join(REPORT_MD));
        assert!(
            md.contains("A 70B-parameter language model.")
                && md.contains("Confirmed by the account team.")
        );
        assert!(
            !md.contains("TO COMPLETE: Narrative"),
            "answered blocks are not left blank"
        );
    }
    let ids = run_ids(&out);
    assert_ne!(
        ids[1], first_id,
        "the answers are part of the run's identity"
    );
    assert_eq!(ids[1], ids[2]);
    let m = json(&out.join("2026-11-26/manifest.json"));
    assert_eq!(
        m["answers"]["files"][format!("{ZEPHYR}.toml")]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(m["answers"]["unmatched"], serde_json::json!([]));

    // The certification's resolution log is answered the same way.
    ok(cipwatch(&["answers", "certification", "--config", c]));
    let cert_file = dir.path().join("answers/certification.toml");
    std::fs::write(
        &cert_file,
        read(&cert_file) + "\"420000000010\" = \"Account suspended; documents re-requested.\"\n",
    )
    .unwrap();
    run_cfg(&cfg, &[]);
    let cert = read(&out.join("2026-11-26/certification/cip-certification.md"));
    assert!(
        cert.contains("| 420000000010 |")
            && cert.contains("Account suspended; documents re-requested. |"),
        "{cert}"
    );
    assert!(!cert.contains("TO COMPLETE: how this failed verification was resolved"));
    // A resolution for an account with no failed verification in the period shows nowhere: listed.
    std::fs::write(
        &cert_file,
        read(&cert_file) + "\"42000000010\" = \"Misspelt id.\"\n",
    )
    .unwrap();
    let o = run_cfg(&cfg, &[]);
    let m = json(&out.join("2026-11-26/manifest.json"));
    assert_eq!(
        m["answers"]["unmatched"],
        serde_json::json!(["certification.toml resolutions.42000000010"])
    );
    assert!(stderr(&o).contains("no failed verification of the period"));

    // A file named for no account of the run (a misspelt id) is listed and logged, never silent.
    let misspelt = dir.path().join("answers/42000000002.toml");
    std::fs::copy(&file, &misspelt).unwrap();
    let o = run_cfg(&cfg, &[]);
    let m = json(&out.join("2026-11-26/manifest.json"));
    assert_eq!(
        m["answers"]["unmatched"],
        serde_json::json!([
            "42000000002.toml",
            "certification.toml resolutions.42000000010"
        ])
    );
    assert!(
        stderr(&o).contains("answers name no account of this run")
            && !stderr(&o).contains("42000000002"),
        "a count in the log, no account id: {}",
        stderr(&o)
    );
    std::fs::remove_file(&misspelt).unwrap();

    // A misspelt key is an error naming the valid ones.
    std::fs::write(&file, "narative = \"x\"\n").unwrap();
    let o = cipwatch(&["-q", "run", "--config", c]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("narative")
            && stderr(&o).contains("model_information, cybersecurity_practices, narrative"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn filed_then_a_changed_input_yields_an_updated_draft_with_its_changelog() {
    let (dir, cfg) = workspace();
    let out = dir.path().join("out");
    let c = cfg.to_str().unwrap();
    run_cfg(&cfg, &[]);
    // A filing date before the drafted run, or in the future, is refused.
    for date in ["2026-11-01", "0000-01-01", "2999-01-01"] {
        let o = cipwatch(&[
            "filed",
            ZEPHYR,
            "--reference",
            "R",
            "--date",
            date,
            "--config",
            c,
        ]);
        assert_eq!(o.status.code(), Some(2), "{date}: {}", stderr(&o));
    }
    assert!(!out.join("filings.jsonl").exists());
    let o = ok(cipwatch(&[
        "filed",
        ZEPHYR,
        "--reference",
        "BIS-2026-0042",
        "--date",
        "2026-11-28",
        "--config",
        c,
    ]));
    assert!(stdout(&o).contains("BIS-2026-0042"));
    let log: serde_json::Value =
        serde_json::from_str(read(&out.join("filings.jsonl")).trim()).unwrap();
    let manifest = json(&out.join("2026-11-26/manifest.json"));
    assert_eq!(log["run_id"], manifest["run_id"]);
    assert_eq!(
        log["documents"][REPORT_JSON], manifest["outputs"][REPORT_JSON]["sha256"],
        "the filed documents' hashes"
    );

    // Same facts: shown as filed, under the filed reference.
    run_cfg(&cfg, &[]);
    let report = json(&out.join("2026-11-26").join(REPORT_JSON));
    assert_eq!(report["reference"], "BIS-2026-0042");
    assert!(
        report["status"]
            .as_str()
            .unwrap()
            .starts_with("FILED on 2026-11-28"),
        "{}",
        report["status"]
    );
    assert_eq!(report["changelog"].as_array().unwrap().len(), 0);
    let summary = read(&out.join("2026-11-26/summary.md"));
    assert!(
        summary.contains("filed 2026-11-28 (BIS-2026-0042)"),
        "{summary}"
    );

    // The customer moved: an updated report with a field-level changelog, same reference.
    let customers = dir.path().join("customers.csv");
    let text = read(&repo().join("data-samples/cip/customers.csv")).replace(
        "1 Raffles Place #40-01, Singapore 048616",
        "8 Marina View #20-01, Singapore 018960",
    );
    std::fs::write(&customers, text).unwrap();
    let cfg = config_with(dir.path(), &[("customers", customers.to_str().unwrap())]);
    run_cfg(&cfg, &[]);
    let report = json(&out.join("2026-11-26").join(REPORT_JSON));
    assert_eq!(
        report["reference"], "BIS-2026-0042",
        "a filed report's reference never changes"
    );
    assert!(
        report["status"]
            .as_str()
            .unwrap()
            .starts_with("UPDATED REPORT draft"),
        "{}",
        report["status"]
    );
    let changes = report["changelog"].as_array().unwrap();
    let address = changes
        .iter()
        .find(|c| c["field"] == "customer.address")
        .unwrap_or_else(|| panic!("{changes:?}"));
    assert_eq!(address["filed"], "1 Raffles Place #40-01, Singapore 048616");
    assert_eq!(address["now"], "8 Marina View #20-01, Singapore 018960");
    assert!(read(&out.join("2026-11-26").join(REPORT_MD))
        .contains("## 7. Changes since the filed report"));

    // Another reference for the same account is refused.
    let o = cipwatch(&[
        "filed",
        ZEPHYR,
        "--reference",
        "BIS-OTHER",
        "--date",
        "2026-12-01",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(read(&out.join("filings.jsonl")).lines().count(), 1);
}

#[test]
fn a_newcomer_is_told_what_to_do() {
    // From a folder with no configuration: pass --config.
    let empty = tempfile::tempdir().unwrap();
    let o = cipwatch_in(empty.path(), &["-q", "run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pass --config FILE"), "{}", stderr(&o));

    // Editing data-samples/cipwatch.toml has an effect (the embedded copy is only a fallback).
    let root = tempfile::tempdir().unwrap();
    let copy = Command::new("cp")
        .args(["-r", repo().join("data-samples").to_str().unwrap()])
        .arg(root.path())
        .status()
        .unwrap();
    assert!(copy.success());
    let sample = root.path().join("data-samples/cipwatch.toml");
    std::fs::write(
        &sample,
        read(&sample).replace("Example Cloud Corp.", "Edited Cloud LLC"),
    )
    .unwrap();
    ok(cipwatch_in(root.path(), &["-q", "run"]));
    let summary = read(&root.path().join("out/2026-11-26/summary.md"));
    assert!(
        summary.contains("Edited Cloud LLC"),
        "the edited sample configuration was read"
    );

    // diff with one run says how to get two; explain rejects csv.
    let o = cipwatch_in(root.path(), &["diff"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cipwatch run --as-of"),
        "{}",
        stderr(&o)
    );
    let o = cipwatch_in(root.path(), &["-q", "explain", ZEPHYR, "--format", "csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).is_empty() && stderr(&o).contains("not csv"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_certification_lists_closed_accounts_past_retention() {
    let dir = tempfile::tempdir().unwrap();
    let customers = dir.path().join("customers.csv");
    // 420000000003 closed on 1 February (no access logged), 420000000004 on 20 November.
    let mut lines: Vec<String> = read(&repo().join("data-samples/cip/customers.csv"))
        .lines()
        .map(String::from)
        .collect();
    for (account, closed) in [
        ("420000000003", "2026-02-01T00:00:00Z"),
        ("420000000004", "2026-11-20T00:00:00Z"),
    ] {
        let line = lines.iter_mut().find(|l| l.starts_with(account)).unwrap();
        let mut cells = split(line);
        cells[16] = closed.to_string();
        *line = cells
            .iter()
            .map(|c| {
                if c.contains(',') {
                    format!("\"{c}\"")
                } else {
                    c.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",");
    }
    std::fs::write(&customers, lines.join("\n") + "\n").unwrap();
    let cfg = config_with(dir.path(), &[("customers", customers.to_str().unwrap())]);
    // The retention is a profile parameter; 30 days here.
    std::fs::write(
        &cfg,
        read(&cfg).replace("[overrides]\n", "[overrides]\nretention_days = 30\n"),
    )
    .unwrap();
    run_cfg(&cfg, &[]);
    let run = dir.path().join("out/2026-11-26/certification");
    let cert = json(&run.join("cip-certification.json"));
    let dates: Vec<(&str, &str)> = cert["closed_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["account_id"].as_str().unwrap(),
                r["purge_eligible_date"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        dates,
        [
            ("420000000003", "2026-03-03"),
            ("420000000004", "2026-12-20")
        ]
    );
    let past = cert["past_retention"].as_array().unwrap();
    assert_eq!(past.len(), 1);
    assert_eq!(past[0]["account_id"], "420000000003");
    let md = read(&run.join("cip-certification.md"));
    assert!(
        md.contains("| 420000000003 | 2026-02-01 | NOT ON FILE | 2026-03-03 |"),
        "{md}"
    );
}

/// An account id too long to name a file is a usage error (exit 2), not an internal one.
#[test]
fn an_answers_file_for_a_300_character_account_id_has_a_bounded_name() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(300);
    let cfg = config_with(dir.path(), &[]);
    let o = ok(cipwatch(&[
        "answers",
        &long,
        "--config",
        cfg.to_str().unwrap(),
    ]));
    let names: Vec<String> = std::fs::read_dir(dir.path().join("answers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].len() <= 62 + ".toml".len(), "{names:?}");
    assert!(stdout(&o).contains(&names[0]), "{}", stdout(&o));
    let o = cipwatch(&["answers", "", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// An unmasked filing copy belongs to a filing run: a what-if scenario refuses it (exit 2).
#[test]
fn a_scenario_refuses_an_unmasked_filing_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = cipwatch(&[
        "run",
        "--out",
        out,
        "--set",
        "training_ops=1e24",
        "--filing-copy",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--filing-copy is for filing runs"),
        "{}",
        stderr(&o)
    );
}

/// The certification's attestations print TO CONFIRM until the officer confirms them in the
/// answers file, and its declaration above the signature is counsel's wording once given (the
/// default, marked for review, before); an unknown attestation code is a configuration error.
#[test]
fn certification_attestations_are_to_confirm_until_answered_and_the_declaration_is_counsels() {
    let (dir, cfg) = workspace();
    let out = dir.path().join("out");
    let c = cfg.to_str().unwrap();
    run_cfg(&cfg, &[]);
    let cert_md = out.join("2026-11-26/certification/cip-certification.md");
    let before = read(&cert_md);
    assert_eq!(before.matches("**TO CONFIRM**").count(), 5, "{before}");
    assert!(before.contains("Declaration (default wording, to be reviewed by counsel"));
    ok(cipwatch(&["answers", "certification", "--config", c]));
    let cert_file = dir.path().join("answers/certification.toml");
    let template = read(&cert_file);
    assert!(template.contains("attestations = []"), "{template}");
    let answered = template
        .replace(
            "attestations = []",
            "attestations = [\"reviewed\", \"services\"]",
        )
        .replace(
            "declaration = \"\"",
            "declaration = \"I, the officer, declare this certification true.\"",
        );
    std::fs::write(&cert_file, &answered).unwrap();
    run_cfg(&cfg, &[]);
    let after = read(&cert_md);
    assert_eq!(after.matches("**TO CONFIRM**").count(), 3, "{after}");
    assert!(after.contains("1. The CIP has been reviewed during the period."));
    assert!(after.contains("*I, the officer, declare this certification true.*"));
    assert!(!after.contains("Declaration (default wording"));
    std::fs::write(
        &cert_file,
        answered.replace("\"services\"]", "\"servces\"]"),
    )
    .unwrap();
    let o = cipwatch(&["-q", "run", "--config", c]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'servces' is not one of"),
        "{}",
        stderr(&o)
    );
}
