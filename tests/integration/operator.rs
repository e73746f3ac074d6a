//! What a scheduler and an operator read: a reader that closes the pipe early never makes a
//! command fail, `--log-format json` is JSON on every line and ends in one `run_finished` event,
//! and `runs.jsonl` says when, for how long and where each run ran.

use crate::helpers::*;
use std::process::{Command, Stdio};

/// Runs `cipwatch <args>` from the repository root with its stdout closed before it writes.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cipwatch"))
        .args(args)
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cipwatch");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for cipwatch")
}

#[test]
fn a_closed_pipe_ends_every_printing_command_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_samples(&out, &["-q"]);
    run_samples(&out, &["-q", "--as-of", "2026-11-25", "--filing"]);
    let out = out.to_str().unwrap();
    let commands: [&[&str]; 7] = [
        &["-q", "run", "--dry-run", "--out", out],
        &["-q", "run", "--out", out],
        &["-q", "validate"],
        &["-q", "explain", "420000000002", "--out", out],
        &["-q", "diff", "--out", out],
        &["-q", "scenarios", "--out", out],
        &["-q", "catalog"],
    ];
    for args in commands {
        let o = with_closed_stdout(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
}

/// Every stderr line of a JSON-logging command parses as JSON, errors included, and the last is
/// the one `run_finished` event with the outcome.
fn json_events(o: &std::process::Output) -> Vec<serde_json::Value> {
    let events: Vec<serde_json::Value> = stderr(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "run_finished")
        .collect();
    assert_eq!(finished.len(), 1, "{events:?}");
    assert_eq!(events.last().unwrap()["event"], "run_finished");
    events
}

#[test]
fn json_logs_are_json_on_every_line_and_end_in_run_finished() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = cipwatch(&[
        "--log-format",
        "json",
        "run",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let events = json_events(&o);
    let last = events.last().unwrap();
    assert_eq!(last["exit_code"], 0);
    assert_eq!(last["as_of"], "2026-11-26");
    assert_eq!(last["run_id"].as_str().unwrap().len(), 16);
    assert!(
        last["path"].as_str().unwrap().ends_with("2026-11-26"),
        "{last}"
    );
    assert!(
        last["levels"].as_str().unwrap().contains("REPORTABLE"),
        "{last}"
    );
    assert!(last["duration_s"].as_f64().unwrap() > 0.0);

    let o = cipwatch(&[
        "--log-format",
        "json",
        "run",
        "--config",
        "/no/such/cipwatch.toml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let events = json_events(&o);
    let error = &events[events.len() - 2];
    assert_eq!(
        (error["level"].as_str(), error["kind"].as_str()),
        (Some("ERROR"), Some("config"))
    );
    assert_eq!(events.last().unwrap()["exit_code"], 2);
}

#[test]
fn runs_jsonl_records_start_duration_and_host() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_samples(&out, &["-q"]);
    let line = std::fs::read_to_string(out.join("runs.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    let started = record["started_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(started).is_ok(),
        "{started}"
    );
    assert!(record["duration_s"].as_f64().unwrap() > 0.0, "{record}");
    assert!(!record["host"].as_str().unwrap().is_empty(), "{record}");
}

/// A filing run writes `status.json` (0600): the account it found REPORTABLE for the first time and
/// its open deadline; `--alert-exit N` exits 10 for them, and the scenario of a what-if writes none.
#[test]
fn status_json_and_alert_exit_tell_a_scheduler_what_to_act_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let run = cipwatch(&["-q", "run", "--out", o, "--alert-exit", "20"]);
    assert_eq!(run.status.code(), Some(10), "{}", stderr(&run));
    let status: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("status.json")).unwrap()).unwrap();
    assert_eq!(status["as_of"], "2026-11-26");
    assert_eq!(
        status["new_reportable"],
        serde_json::json!(["420000000002"])
    );
    assert_eq!(status["deadlines_within"][0]["account"], "420000000002");
    assert_eq!(
        status["deadlines_within"][0]["report_due_date"],
        "2026-12-11"
    );
    assert_eq!(status["deadlines_within"][0]["days_left"], 15);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("status.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A window shorter than the 15 days left and no new account: no alert.
    let again = cipwatch(&[
        "-q",
        "run",
        "--out",
        o,
        "--alert-exit",
        "3",
        "--as-of",
        "2026-11-27",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
}

/// `explain` reads the published run, so today's changed inputs do not change its answer;
/// `explain --rerun` reruns on today's inputs and, when the run published for that date was made
/// from other inputs, says so on stderr, naming the level that differs.
#[test]
fn explain_reads_the_published_run_and_a_rerun_warns_when_its_inputs_differ() {
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("billing");
    std::fs::create_dir(&billing).unwrap();
    for f in ["focus-2026-10.csv", "focus-2026-11.csv"] {
        std::fs::copy(repo().join("data-samples/billing").join(f), billing.join(f)).unwrap();
    }
    let cfg = config_with(dir.path(), &[("billing", billing.to_str().unwrap())]);
    let cfg = cfg.to_str().unwrap();
    let run = cipwatch(&["-q", "run", "--config", cfg]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let same = cipwatch(&["-q", "explain", "420000000002", "--config", cfg]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(!stderr(&same).contains("warning"), "{}", stderr(&same));
    // Today's November file lost most of the training account's rows.
    let path = billing.join("focus-2026-11.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut seen = 0;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let theirs = l.contains("420000000002");
            seen += usize::from(theirs);
            !theirs || seen % 10 == 0
        })
        .collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    let published = cipwatch(&["-q", "explain", "420000000002", "--config", cfg]);
    assert_eq!(
        stdout(&published),
        stdout(&same),
        "the published run, not today's inputs"
    );
    assert!(
        !stderr(&published).contains("warning"),
        "{}",
        stderr(&published)
    );
    let other = cipwatch(&[
        "-q",
        "explain",
        "420000000002",
        "--config",
        cfg,
        "--as-of",
        "2026-11-26",
        "--rerun",
    ]);
    assert!(
        stderr(&other).contains("was made from other inputs or settings than this explanation"),
        "{}",
        stderr(&other)
    );
    assert!(
        stderr(&other).contains("the published level was REPORTABLE"),
        "{}",
        stderr(&other)
    );
}

/// The embedded profiles encode rules that were withdrawn: the summary line says so (every
/// document's banner is in the document snapshots).
#[test]
fn a_run_under_a_withdrawn_rule_says_so_on_its_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_samples(&dir.path().join("out"), &["-q"]);
    assert!(
        stdout(&o).contains("; RULE NOT IN FORCE: profile nprm-2024 is withdrawn (2025-12)"),
        "{}",
        stdout(&o)
    );
}

/// A due date on a weekend or a US federal holiday is noted for counsel, never moved: as of
/// 2026-11-21 the training account's report is due on Sunday 2026-12-06.
#[test]
fn a_due_date_on_a_sunday_is_noted_and_not_moved() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_samples(&out, &["-q", "--as-of", "2026-11-21"]);
    let report =
        std::fs::read_to_string(out.join("2026-11-21/reports/420000000002/ai-training-report.md"))
            .unwrap();
    assert!(report.contains("**2026-12-06**"), "{report}");
    assert!(
        report.contains(
            "(the due date falls on a Sunday; the rule counts calendar days and does not move it)"
        ),
        "{report}"
    );
}

/// `diff` names its `--change` threshold and lists, beyond levels and estimates, the CIP facts of
/// accounts in both runs, the input files that changed and the quarantine counts.
#[test]
fn diff_shows_cip_facts_inputs_and_names_its_threshold() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_samples(&a.path().join("out"), &["-q"]);
    let customers = b.path().join("customers.csv");
    let text = std::fs::read_to_string(repo().join("data-samples/cip/customers.csv")).unwrap();
    let changed: Vec<String> = text
        .lines()
        .map(|l| match l.starts_with("420000000002,") {
            true => l.replace(
                ",foreign,verified,documentary,",
                ",foreign,pending,documentary,",
            ),
            false => l.to_string(),
        })
        .collect();
    std::fs::write(&customers, changed.join("\n") + "\n").unwrap();
    let cfg = config_with(b.path(), &[("customers", customers.to_str().unwrap())]);
    let run = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let (ra, rb) = (
        a.path().join("out/2026-11-26"),
        b.path().join("out/2026-11-26"),
    );
    let o = cipwatch(&[
        "diff",
        ra.to_str().unwrap(),
        rb.to_str().unwrap(),
        "--change",
        "0.25",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("--change 0.25 (a relative change above 25%)"),
        "{text}"
    );
    assert!(
        text.contains("420000000002 cip_status: verified -> pending"),
        "{text}"
    );
    assert!(text.contains("run customers files (SHA-256)"), "{text}");
    let json = cipwatch(&[
        "diff",
        ra.to_str().unwrap(),
        rb.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(v["change_threshold"], 0.1);
    assert!(v["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["fact"] == "cip_status"));
}

/// `backtest` runs the profile and a candidate over each date with their own clocks: a candidate
/// threshold above the sample's compute never makes the account REPORTABLE, so the baseline flags
/// it first on 2026-11-21 and the candidate not at all; the daily counts say the same per date,
/// and nothing of the filing run is written.
#[test]
fn backtest_compares_first_flagged_dates_and_leaves_the_filing_run_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = cipwatch(&[
        "-q",
        "backtest",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-22",
        "--set",
        "training_ops=1e28",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let folder = out.join("backtests/2026-11-20_2026-11-22_training_ops-1e28");
    assert_eq!(stdout(&o).trim(), folder.to_str().unwrap());
    let accounts = read_csv(&folder.join("accounts.csv"));
    let a = flag(&accounts, "420000000002");
    assert_eq!(a["baseline_first_reportable"], "2026-11-21", "{a:?}");
    assert_eq!(a["candidate_first_reportable"], "", "{a:?}");
    assert_eq!(a["reportable_days_earlier"], "", "{a:?}");
    assert_eq!(a["baseline_last_level"], "REPORTABLE", "{a:?}");
    assert_ne!(a["candidate_last_level"], "REPORTABLE", "{a:?}");
    let daily = read_csv(&folder.join("daily_levels.csv"));
    assert_eq!(daily.len(), 6, "{daily:?}");
    let reportable: Vec<(&str, &str, &str)> = daily
        .iter()
        .map(|r| {
            (
                r["as_of"].as_str(),
                r["side"].as_str(),
                r["reportable"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        reportable,
        [
            ("2026-11-20", "baseline", "0"),
            ("2026-11-20", "candidate", "0"),
            ("2026-11-21", "baseline", "1"),
            ("2026-11-21", "candidate", "0"),
            ("2026-11-22", "baseline", "1"),
            ("2026-11-22", "candidate", "0"),
        ]
    );
    assert!(std::fs::read_to_string(folder.join("daily_levels.svg"))
        .unwrap()
        .starts_with("<svg"));
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["backtests"],
        "a backtest publishes no run and moves no clock"
    );
    let no_candidate = cipwatch(&[
        "-q",
        "backtest",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-21",
    ]);
    assert_eq!(
        no_candidate.status.code(),
        Some(2),
        "{}",
        stderr(&no_candidate)
    );
}

/// `explain` reads only what was published under the output folder: a scenario's run with
/// `--set` (and says it is a scenario), `--as-of` only as `<out>/<date>` (never a folder of that
/// name elsewhere); `--rerun` names a due date that differs from the published one; a full
/// standard output is exit 1 with a message, not a panic.
#[test]
fn explain_reads_only_the_output_folder_names_scenarios_and_due_date_changes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[]);
    let cfg = cfg.to_str().unwrap();
    let run = |extra: &[&str]| cipwatch(&[&["-q", "run", "--config", cfg][..], extra].concat());
    assert!(run(&[]).status.success());
    let set = ["--set", "training_ops=1e25"];
    assert!(run(&set).status.success());
    let scenario = cipwatch(
        &[
            &["-q", "explain", "420000000002", "--config", cfg][..],
            &set,
        ]
        .concat(),
    );
    assert!(scenario.status.success(), "{}", stderr(&scenario));
    assert!(
        stdout(&scenario).contains("SCENARIO "),
        "{}",
        stdout(&scenario)
    );
    // A copy of a run folder named like a date beside the working directory is not read.
    let elsewhere = tempfile::tempdir().unwrap();
    let published = dir.path().join("out/2026-11-26");
    assert!(std::process::Command::new("cp")
        .args([
            "-r",
            published.to_str().unwrap(),
            elsewhere.path().join("2026-11-19").to_str().unwrap()
        ])
        .status()
        .unwrap()
        .success());
    let o = cipwatch_in(
        elsewhere.path(),
        &[
            "-q",
            "explain",
            "420000000002",
            "--config",
            cfg,
            "--as-of",
            "2026-11-19",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("no run is published for 2026-11-19"),
        "{}",
        stderr(&o)
    );
    // Counsel's knowledge date moves today's due date: a rerun names the published one.
    let answers = dir.path().join("answers");
    std::fs::create_dir_all(&answers).unwrap();
    std::fs::write(
        answers.join("420000000002.toml"),
        "knowledge_date = \"2026-11-21\"\n",
    )
    .unwrap();
    let o = cipwatch(&["-q", "explain", "420000000002", "--config", cfg, "--rerun"]);
    assert!(
        stderr(&o).contains("the published due date was 2026-12-11, this rerun finds 2026-12-06"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("republishes"),
        "a rerun publishes nothing: {}",
        stderr(&o)
    );
    if std::path::Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_cipwatch"))
            .args(["-q", "explain", "420000000002", "--config", cfg])
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).starts_with("cipwatch: ") && !stderr(&o).contains("panicked"),
            "{}",
            stderr(&o)
        );
    }
}
