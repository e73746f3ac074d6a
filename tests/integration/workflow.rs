//! Analysts' and schedulers' workflow: explain, diff, backfill, history and the knowledge clock,
//! override precedence, dry runs, the lock, kill -9 during a run, stale inputs, logs without PII.

use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DAY: &str = "2026-11-26";

fn out_arg(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn redact(text: &str) -> String {
    let re = regex::Regex::new(r"run [0-9a-f]{16}").unwrap();
    let text = re.replace_all(text, "run [RUN_ID]").to_string();
    text.replace(env!("CARGO_MANIFEST_DIR"), "[REPO]")
}

#[test]
fn run_prints_one_summary_line_on_stdout() {
    let out = tempfile::tempdir().unwrap();
    let o = run_samples(out.path(), &["-q"]);
    insta::assert_snapshot!(
        "run_stdout",
        redact(&stdout(&o)).replace(&out_arg(out.path()), "[OUT]")
    );
}

/// `explain` reads the published run: the same text as a rerun on the same inputs, which it
/// explains without rerunning (no warning, no run logged).
#[test]
fn explain_a_reportable_and_a_clear_account() {
    let dir = tempfile::tempdir().unwrap();
    run_samples(dir.path(), &["-q"]);
    let out = out_arg(dir.path());
    let explain = |extra: &[&str]| {
        let o = cipwatch(&[&["explain", "-q", "--out", &out][..], extra].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let reportable = explain(&["420000000002"]);
    insta::assert_snapshot!("explain_reportable", redact(&reportable));
    assert_eq!(explain(&["420000000002", "--rerun"]), reportable);
    insta::assert_snapshot!("explain_clear", redact(&explain(&["420000000003"])));
    let json: serde_json::Value =
        serde_json::from_str(&explain(&["420000000002", "--format", "json"]))
            .expect("explain --format json is JSON");
    assert_eq!(json["level"], "REPORTABLE");
    assert_eq!(json["usage"][0]["rows"], 4864);
    assert_eq!(json["usage"][0]["instance_type"], "p5.48xlarge");
    let o = cipwatch(&["explain", "310000000009", "-q", "--out", &out]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "no accelerator use: nothing to explain"
    );
}

/// Without a published run there is nothing to read: `explain` says how to publish one, or to
/// rerun.
#[test]
fn explain_without_a_published_run_says_to_run_or_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let o = cipwatch(&["explain", "420000000002", "--out", &out_arg(dir.path())]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cipwatch run") && stderr(&o).contains("--rerun"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn diff_two_runs_with_different_thresholds() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_samples(a.path(), &["-q"]);
    run_samples(b.path(), &[&["-q"][..], &UNMODIFIED_RULE].concat());
    let (ra, rb) = (
        a.path().join(DAY),
        b.path().join(UNMODIFIED_SCENARIO).join(DAY),
    );
    let o = cipwatch(&["diff", ra.to_str().unwrap(), rb.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o)
        .replace(ra.to_str().unwrap(), "[A]")
        .replace(rb.to_str().unwrap(), "[B]");
    insta::assert_snapshot!("diff_text", text);
    let o = cipwatch(&[
        "diff",
        ra.to_str().unwrap(),
        rb.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["accounts"][0]["change"], "became WATCH");
    let params: Vec<&str> = json["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["parameter"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["cluster_peak_ops_per_s", "training_ops"]);
    let o = cipwatch(&[
        "diff",
        ra.to_str().unwrap(),
        rb.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(stdout(&o).starts_with("account_id,change,level_a,level_b"));
}

#[test]
fn backfill_runs_each_date_records_history_and_diffs_the_latest_two() {
    let out = tempfile::tempdir().unwrap();
    let o = run_samples(
        out.path(),
        &["-q", "--from", "2026-11-24", "--to", "2026-11-26"],
    );
    assert_eq!(stdout(&o).lines().count(), 3);
    for d in ["2026-11-24", "2026-11-25", "2026-11-26"] {
        assert!(out.path().join(d).join("_SUCCESS").is_file(), "{d}");
    }
    let runs: Vec<serde_json::Value> = std::fs::read_to_string(out.path().join("runs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dates: Vec<&str> = runs.iter().map(|r| r["as_of"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-11-24", "2026-11-25", "2026-11-26"]);
    assert!(runs
        .iter()
        .all(|r| r["exit_code"] == 0 && r["run_id"].as_str().unwrap().len() == 16));
    // The same inputs and parameters on a rerun give the same run id.
    run_samples(out.path(), &["-q", "--as-of", "2026-11-26"]);
    let last = std::fs::read_to_string(out.path().join("runs.jsonl")).unwrap();
    let ids: Vec<String> = last
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["run_id"].to_string())
        .collect();
    assert_eq!(ids[2], ids[3]);
    let o = cipwatch(&["diff", "--out", &out_arg(out.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("2026-11-25") && stdout(&o).contains("2026-11-26"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_knowledge_date_survives_later_runs() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &["-q"]);
    let runs = std::fs::read_to_string(out.path().join("runs.jsonl")).unwrap();
    let params = serde_json::from_str::<serde_json::Value>(runs.lines().next().unwrap()).unwrap()
        ["params_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("knowledge.json")).unwrap()).unwrap();
    assert_eq!(
        state[&params]["420000000002"]["knowledge_date"],
        "2026-11-26"
    );
    // An earlier run (say, on richer data) had found the account on 19 November: the clock keeps that.
    let earlier = serde_json::json!({ &params: { "420000000002": { "knowledge_date": "2026-11-19", "first_run_id": "0000000000000000" } } });
    std::fs::write(out.path().join("knowledge.json"), earlier.to_string()).unwrap();
    run_samples(out.path(), &["-q"]);
    let flags = read_csv(&out.path().join(DAY).join("flags.csv"));
    let z = flag(&flags, "420000000002");
    assert_eq!(
        (z["knowledge_date"].as_str(), z["report_due_date"].as_str()),
        ("2026-11-19", "2026-12-04")
    );
}

#[test]
fn override_precedence_profile_config_params_file_flag() {
    let dir = tempfile::tempdir().unwrap();
    let params = dir.path().join("params.toml");
    std::fs::write(&params, "training_ops = 2e24\nwatch_fraction = 0.02\n").unwrap();
    let out = dir.path().join("out");
    let o = cipwatch(&[
        "-q",
        "run",
        "--out",
        &out_arg(&out),
        "--params",
        params.to_str().unwrap(),
        "--set",
        "training_ops=3e24",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            out.join("scenarios/params-params_training_ops-3e24")
                .join(DAY)
                .join("manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let p = &m["parameters"];
    assert_eq!(
        (
            p["training_ops"]["value"].as_f64(),
            p["training_ops"]["source"].as_str()
        ),
        (Some(3e24), Some("--set"))
    );
    assert_eq!(
        p["watch_fraction"]["source"].as_str().unwrap(),
        "params params.toml"
    );
    assert!(p["cluster_peak_ops_per_s"]["source"]
        .as_str()
        .unwrap()
        .starts_with("config "));
    assert!(p["report_due_days"]["source"]
        .as_str()
        .unwrap()
        .starts_with("profile nprm-2024@"));
    std::fs::write(&params, "training_opps = 2e24\n").unwrap();
    let o = cipwatch(&[
        "run",
        "--out",
        &out_arg(&out),
        "--params",
        params.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("training_opps") && stderr(&o).contains("valid keys"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let o = cipwatch(&[
        "run",
        "--dry-run",
        "--out",
        &out_arg(out.path()),
        "--set",
        "training_ops=5e25",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "billing/focus-2026-11.csv",
        "profile: nprm-2024",
        "training_ops = 5e25 (--set)",
        "10_flags.sql (embedded)",
        "summary.html (embedded)",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn a_held_lock_stops_a_second_run_and_a_stale_one_does_not() {
    let out = tempfile::tempdir().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let lock = out.path().join(".cipwatch.lock");
    let held = cipwatch::state::lock::Lock::acquire(out.path()).unwrap();
    let o = cipwatch(&["run", "--out", &out_arg(out.path())]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("pid={} host={host}", std::process::id())),
        "names the holder: {}",
        stderr(&o)
    );
    drop(held);
    // A lock file naming a live process (this one, as after process-id reuse) that nobody holds.
    std::fs::write(&lock, format!("pid={} host={host}\n", std::process::id())).unwrap();
    run_samples(out.path(), &["-q"]);
    assert!(!lock.exists(), "the lock is released");
}

/// A configuration whose billing is `copies` copies of the November sample (same dates, more rows),
/// so that a run lasts long enough to be interrupted. Each copy ends with a different number of
/// blank lines (not records): the same content twice would be refused as a repeated file.
fn large_input(dir: &Path, copies: usize) -> PathBuf {
    let billing = dir.join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    let source = std::fs::read(repo().join("data-samples/billing/focus-2026-11.csv")).unwrap();
    for i in 0..copies {
        let mut copy = source.clone();
        copy.extend(std::iter::repeat_n(b'\n', i));
        std::fs::write(billing.join(format!("part-{i:03}.csv")), copy).unwrap();
    }
    config_with(dir, &[("billing", billing.to_str().unwrap())])
}

fn spawn(cfg: &Path, out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cipwatch"))
        .args([
            "-q",
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn concurrent_runs_on_one_output_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = large_input(dir.path(), 12);
    let out = dir.path().join("out");
    let mut first = spawn(&cfg, &out);
    let started = Instant::now();
    while !out.join(".cipwatch.lock").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = cipwatch(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        &out_arg(&out),
    ]);
    assert_eq!(
        first.try_wait().unwrap(),
        None,
        "the first run was still running when the second started"
    );
    assert_eq!(second.status.code(), Some(5), "{}", stderr(&second));
    assert!(stderr(&second).contains("locked by another cipwatch run"));
    assert!(first.wait().unwrap().success());
}

/// Waits until `ready` holds while `child` runs; fails if it ends first.
fn wait_for(child: &mut std::process::Child, what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert_eq!(
            child.try_wait().unwrap(),
            None,
            "the run ended before {what}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The staging folder of the run with process id `pid`.
fn staging(out: &Path, pid: u32) -> Option<PathBuf> {
    let path = out.join(format!(".staging-{DAY}-{pid}"));
    path.is_dir().then_some(path)
}

/// A moment of a run, and how to see that it has come (given the run's process id).
type KillPoint<'a> = (&'a str, Box<dyn Fn(u32) -> bool + 'a>);

#[test]
fn kill_9_during_a_run_leaves_the_previous_outputs_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_samples(&out, &["-q"]);
    let before = tree(&out.join(DAY));
    let cfg = large_input(dir.path(), 12);
    let lock = out.join(".cipwatch.lock");
    // The lock names this run: a lock file left by the previous kill does not count.
    let locked_by = |pid: u32| {
        std::fs::read_to_string(&lock).is_ok_and(|h| h.starts_with(&format!("pid={pid} ")))
    };
    let points: [KillPoint; 5] = [
        ("the lock is taken", Box::new(locked_by)),
        (
            "the billing is being read",
            Box::new(|pid| {
                locked_by(pid) && {
                    std::thread::sleep(Duration::from_millis(300));
                    true
                }
            }),
        ),
        (
            "staging begins",
            Box::new(|pid| staging(&out, pid).is_some()),
        ),
        (
            "tables are staged",
            Box::new(|pid| staging(&out, pid).is_some_and(|s| s.join("flags.csv").is_file())),
        ),
        (
            "the manifest is staged",
            Box::new(|pid| staging(&out, pid).is_some_and(|s| s.join("manifest.json").is_file())),
        ),
    ];
    for (what, ready) in points {
        let mut child = spawn(&cfg, &out);
        let pid = child.id();
        wait_for(&mut child, what, || ready(pid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            tree(&out.join(DAY)) == before,
            "outputs changed after kill -9 when {what}"
        );
        let mut visible: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| !n.starts_with('.'))
            .collect();
        visible.sort();
        assert_eq!(
            visible,
            [DAY, "knowledge.json", "runs.jsonl", "status.json"],
            "no half-written folder is visible"
        );
    }
    // The next run sweeps the dead runs' staging folders and takes over their stale lock.
    run_samples(&out, &["-q"]);
    let hidden: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert_eq!(hidden, Vec::<String>::new());
}

#[test]
fn a_stale_registry_fails_closed_unless_allowed() {
    let out = tempfile::tempdir().unwrap();
    let o = cipwatch(&[
        "run",
        "--out",
        &out_arg(out.path()),
        "--as-of",
        "2027-01-31",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("days older than the as-of date"),
        "{}",
        stderr(&o)
    );
    let runs = std::fs::read_to_string(out.path().join("runs.jsonl")).unwrap();
    assert!(
        runs.contains("\"exit_code\":4") && runs.contains("\"error\":\"reference\""),
        "{runs}"
    );
    run_samples(
        out.path(),
        &["-q", "--as-of", "2027-01-31", "--allow-stale"],
    );
    let day = out.path().join("2027-01-31");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(day.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["allow_stale"], true);
    assert!(m["warnings"][0].as_str().unwrap().contains("days older"));
    for doc in [
        "summary.md",
        "summary.html",
        "certification/cip-certification.md",
    ] {
        assert!(
            std::fs::read_to_string(day.join(doc))
                .unwrap()
                .contains("STALE INPUT ACCEPTED"),
            "{doc}"
        );
    }
}

#[test]
fn json_logs_carry_stages_and_counts_but_no_customer_data() {
    let out = tempfile::tempdir().unwrap();
    let o = cipwatch(&["--log-format", "json", "run", "--out", &out_arg(out.path())]);
    assert!(o.status.success());
    let logs = stderr(&o);
    let events: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
        .collect();
    let stages: Vec<&str> = events.iter().filter_map(|e| e["stage"].as_str()).collect();
    assert_eq!(
        stages,
        [
            "billing",
            "telemetry",
            "registry",
            "entities",
            "queries",
            "documents",
            "publish"
        ]
    );
    assert!(events.iter().any(|e| e["rows_read"] == 7683));
    let customers = std::fs::read_to_string(repo().join("data-samples/cip/customers.csv")).unwrap();
    let access = std::fs::read_to_string(repo().join("data-samples/cip/access_log.csv")).unwrap();
    let mut private: Vec<String> = Vec::new();
    for line in customers.lines().skip(1) {
        let c = split(line);
        // account, legal name, address, email, phone, payment number and source, national ID
        private.extend([
            c[0].clone(),
            c[1].clone(),
            c[4].clone(),
            c[5].clone(),
            c[6].clone(),
            c[8].clone(),
            c[9].clone(),
            c[10].clone(),
        ]);
    }
    private.extend(access.lines().skip(1).map(|l| split(l)[1].clone()));
    for value in private.iter().filter(|v| v.len() > 3) {
        assert!(
            !logs.contains(value.as_str()),
            "the log contains customer data: {value}"
        );
    }
}

/// An account id with a terminal escape in it is written out in the error, never sent raw.
#[test]
fn explain_writes_out_control_characters_of_an_unknown_account_id() {
    let dir = tempfile::tempdir().unwrap();
    run_samples(dir.path(), &["-q"]);
    let o = cipwatch(&["explain", "no\u{1b}[31mSUCH", "--out", &out_arg(dir.path())]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains('\u{1b}'), "{}", stderr(&o));
    assert!(stderr(&o).contains("no[U+001B][31mSUCH"), "{}", stderr(&o));
}
