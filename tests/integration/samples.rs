//! The default run on `data-samples/`: levels, reasons, dates, reruns, manifest, safety of outputs.

use crate::helpers::*;

const AS_OF: &str = "2026-11-26";

#[test]
fn sample_run_shows_every_level_with_its_reasons() {
    let out = tempfile::tempdir().unwrap();
    let o = run_samples(out.path(), &[]);
    let summary = stdout(&o);
    assert!(
        summary.contains("1 REPORTABLE, 0 WATCH, 4 CIP_GAP, 5 CLEAR"),
        "{summary}"
    );
    let flags = read_csv(&out.path().join(AS_OF).join("flags.csv"));
    assert_eq!(flags.len(), 10, "one row per account with accelerator use");

    let zephyr = flag(&flags, "420000000002");
    assert_eq!(zephyr["level"], "REPORTABLE");
    assert_eq!(
        zephyr["reasons"],
        "OPS_OVER_THRESHOLD;CLUSTER_PEAK_MET;INTERCONNECT_MET"
    );
    assert_eq!(
        zephyr["knowledge_date"], "2026-11-26",
        "the first run that found it REPORTABLE"
    );
    assert_eq!(zephyr["crossing_date"], "2026-11-21");
    assert_eq!(zephyr["report_due_date"], "2026-12-11");
    assert_eq!(zephyr["peak_colocated_accelerators"], "2048.0");
    // 256 instances x 8 H100 x 24 h x 19 days.
    assert_eq!(zephyr["accelerator_hours"], "933888.0");
    assert_eq!(
        zephyr["telemetry_accelerator_hours"], "933888.0",
        "telemetry covers every Zephyr resource"
    );

    let expect = [
        ("310000000001", "CLEAR", "false", "us_customer_and_owners"),
        ("310000000006", "CLEAR", "true", "foreign_beneficial_owner"),
        ("420000000005", "CIP_GAP", "true", "customer_foreign"),
        ("420000000007", "CIP_GAP", "true", "customer_foreign"),
        ("999000000008", "CIP_GAP", "true", "no_cip_record"),
        ("420000000010", "CIP_GAP", "true", "customer_foreign"),
    ];
    for (account, level, foreign, basis) in expect {
        let f = flag(&flags, account);
        assert_eq!(
            (
                f["level"].as_str(),
                f["is_foreign"].as_str(),
                f["foreign_basis"].as_str()
            ),
            (level, foreign, basis),
            "{account}"
        );
    }
    assert!(flag(&flags, "420000000005")["reasons"].contains("CIP_NOT_VERIFIED"));
    let lumen = flag(&flags, "420000000007");
    assert!(lumen["reasons"].contains("RESELLER_CIP_MISSING"));
    assert_eq!(
        (
            lumen["reseller_id"].as_str(),
            lumen["reseller_country"].as_str()
        ),
        ("RS-NL-01", "NL")
    );
    // The correction of -5 hours on Aurora's p4d (8 GPUs) is honoured: 8 x 8 x 120 - 40.
    assert_eq!(flag(&flags, "420000000005")["accelerator_hours"], "7640.0");
}

#[test]
fn flags_snapshot() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &[]);
    let text = std::fs::read_to_string(out.path().join(AS_OF).join("flags.csv")).unwrap();
    insta::assert_snapshot!("flags_csv", text);
    let runs = read_csv(&out.path().join(AS_OF).join("training_runs.csv"));
    let training: Vec<String> = runs
        .iter()
        .filter(|r| r["training_like"] == "true")
        .map(|r| {
            format!(
                "{} {} {} {}",
                r["account_id"], r["start"], r["end"], r["ongoing"]
            )
        })
        .collect();
    // Aurora (64 A100s, 5 days) and Lumen (128 L40S, 3 days) have training-like shapes too; only
    // Zephyr's is large enough to matter, and it is still running.
    assert_eq!(
        training,
        [
            "420000000002 2026-11-08T00:00:00Z 2026-11-27T00:00:00Z true",
            "420000000005 2026-11-05T00:00:00Z 2026-11-10T00:00:00Z false",
            "420000000007 2026-11-12T00:00:00Z 2026-11-15T00:00:00Z false",
        ]
    );
}

#[test]
fn the_unmodified_rule_makes_the_training_account_watch() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &UNMODIFIED_RULE);
    let run = out.path().join(UNMODIFIED_SCENARIO).join(AS_OF);
    let flags = read_csv(&run.join("flags.csv"));
    let zephyr = flag(&flags, "420000000002");
    assert_eq!(zephyr["level"], "WATCH");
    assert_eq!(zephyr["reasons"], "INTERCONNECT_MET;OPS_NEAR_THRESHOLD");
    assert_eq!(zephyr["knowledge_date"], "");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["parameters"]["training_ops"]["source"], "--set");
    assert_eq!(manifest["parameters"]["training_ops"]["value"], 1e26);
    assert_eq!(
        manifest["parameters"]["report_due_days"]["source"],
        "profile nprm-2024@2024-01-29.2"
    );
}

/// More billing rows than one Polars morsel (100,000) in one file: the November sample repeated
/// `copies` times, each copy's accounts renamed (`42…` → `5<copy>…`, outside the registry), so the
/// copies are distinct accounts rather than duplicates that any order would sum alike.
fn above_one_morsel(dir: &std::path::Path, copies: usize) -> std::path::PathBuf {
    let billing = dir.join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    let source =
        std::fs::read_to_string(repo().join("data-samples/billing/focus-2026-11.csv")).unwrap();
    let (header, body) = source.split_once('\n').unwrap();
    let mut text = header.to_string();
    let body = format!("\n{}", body.trim_end());
    text.push_str(&body);
    for copy in 1..copies {
        // Account ids start a line (BillingAccountId) or follow a comma (SubAccountId).
        let renamed = ["\n", ","].iter().fold(body.clone(), |b, sep| {
            b.replace(
                &format!("{sep}420000000"),
                &format!("{sep}5{copy:02}0000000"),
            )
        });
        text.push_str(&renamed);
    }
    text.push('\n');
    let rows = text.lines().count() - 1;
    assert!(rows > 100_000, "{rows} rows");
    std::fs::write(billing.join("focus-large.csv"), text).unwrap();
    config_with(dir, &[("billing", billing.to_str().unwrap())])
}

/// Asserts that two runs published the same files with the same bytes (`how` says what differed
/// between the runs, for the message).
fn assert_same_files(
    a: &std::collections::BTreeMap<String, Vec<u8>>,
    b: &std::collections::BTreeMap<String, Vec<u8>>,
    how: &str,
) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in a {
        assert!(bytes == &b[name], "{name} differs {how}");
    }
}

/// A run of `cfg` into a fresh output folder with `env` set: the files of its as-of folder, and
/// the folder (kept while the caller holds it).
fn run_with(
    cfg: &std::path::Path,
    env: &[(&str, &str)],
) -> (
    std::collections::BTreeMap<String, Vec<u8>>,
    tempfile::TempDir,
) {
    let out = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cipwatch"))
        .args(["-q", "run", "--config", cfg.to_str().unwrap()])
        .args(["--out", out.path().to_str().unwrap()])
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{env:?}: {}", stderr(&o));
    (tree(&out.path().join(AS_OF)), out)
}

#[test]
fn the_engine_does_not_change_a_byte() {
    let input = tempfile::tempdir().unwrap();
    let cfg = above_one_morsel(input.path(), 17);
    let run = |env: &[(&str, &str)]| run_with(&cfg, env);
    let (reference, _a) = run(&[("CIPWATCH_ENGINE", "in-memory")]);
    let flags = String::from_utf8(reference["flags.csv"].clone()).unwrap();
    assert!(
        flags.lines().filter(|l| l.starts_with("5")).count() >= 16,
        "the copies' accounts are flagged"
    );
    let profile = input.path().join("profile.tsv");
    for env in [
        [
            ("POLARS_MAX_THREADS", "1"),
            ("CIPWATCH_ENGINE", "streaming"),
            ("CIPWATCH_PROFILE", profile.to_str().unwrap()),
        ],
        [
            ("POLARS_MAX_THREADS", "4"),
            ("CIPWATCH_ENGINE", "streaming"),
            ("CIPWATCH_PROFILE", ""),
        ],
    ] {
        let (other, _b) = run(&env);
        assert_same_files(
            &reference,
            &other,
            &format!("between the in-memory engine and streaming with {env:?}"),
        );
    }
    // The profile (a diagnostic that changes no byte) gives every query's SQL planning time.
    let profile = std::fs::read_to_string(&profile).unwrap();
    let queries = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count();
    let planned: std::collections::BTreeSet<&str> = profile
        .lines()
        .filter(|l| l.split('\t').nth(1) == Some("sql planning"))
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(planned.len(), queries, "{profile}");
}

/// A Parquet billing read in passes of a few thousand rows, across two files, gives the bytes of
/// one pass per file: `row_id` runs on from pass to pass, partial aggregates add up exactly, and
/// the quarantined and accelerator rows keep the billing's order.
#[test]
fn passes_of_a_few_rows_give_the_bytes_of_one_pass() {
    use polars::prelude::*;
    let input = tempfile::tempdir().unwrap();
    let cfg = above_one_morsel(input.path(), 17);
    let billing = input.path().join("billing");
    let csv = billing.join("focus-large.csv");
    let all = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(csv.clone()))
        .unwrap()
        .finish()
        .unwrap();
    std::fs::remove_file(&csv).unwrap();
    let first = all.height() * 2 / 5;
    for (name, mut part) in [
        ("focus-a.parquet", all.slice(0, first)),
        ("focus-b.parquet", all.slice(first as i64, all.height())),
    ] {
        ParquetWriter::new(std::fs::File::create(billing.join(name)).unwrap())
            .with_row_group_size(Some(10_000))
            .finish(&mut part)
            .unwrap();
    }
    drop(all);
    let run = |env: &[(&str, &str)]| run_with(&cfg, env);
    let (whole, _a) = run(&[]);
    let flags = String::from_utf8(whole["flags.csv"].clone()).unwrap();
    assert!(
        flags.lines().filter(|l| l.starts_with("5")).count() >= 16,
        "the copies' accounts are flagged"
    );
    let (passes, _b) = run(&[("CIPWATCH_ROWS_PER_PASS", "7777")]);
    assert_same_files(
        &whole,
        &passes,
        "between one pass per file and passes of 7,777 rows",
    );
    // A pass size that is not a whole number from 1 is a usage error naming the variable.
    for bad in ["0", "abc"] {
        let out = tempfile::tempdir().unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_cipwatch"))
            .args(["-q", "run", "--config", cfg.to_str().unwrap()])
            .args(["--out", out.path().to_str().unwrap()])
            .env("CIPWATCH_ROWS_PER_PASS", bad)
            .current_dir(repo())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("CIPWATCH_ROWS_PER_PASS"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn reruns_give_the_same_bytes_and_replace_the_previous_outputs() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_samples(a.path(), &[]);
    run_samples(b.path(), &[]);
    run_samples(b.path(), &[]);
    let (ta, tb) = (tree(&a.path().join(AS_OF)), tree(&b.path().join(AS_OF)));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (name, bytes) in &ta {
        assert!(bytes == &tb[name], "{name} differs between identical runs");
    }
    let mut entries: Vec<String> = std::fs::read_dir(b.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [AS_OF, "knowledge.json", "runs.jsonl", "status.json"],
        "no staging, replaced or lock file is left behind"
    );
    assert!(ta.contains_key("_SUCCESS"));
}

#[test]
fn manifest_reconciles_rows_and_records_hashes() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &[]);
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join(AS_OF).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let billing_lines: usize = ["focus-2026-10.csv", "focus-2026-11.csv"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(repo().join("data-samples/billing").join(f))
                .unwrap()
                .lines()
                .count()
                - 1
        })
        .sum();
    assert_eq!(
        m["inputs"]["billing"]["rows"]["rows_read"],
        billing_lines as u64
    );
    for (name, input) in m["inputs"].as_object().unwrap() {
        let rows = &input["rows"];
        let (read, used, q) = (
            rows["rows_read"].as_u64().unwrap(),
            rows["rows_used"].as_u64().unwrap(),
            rows["rows_quarantined"].as_u64().unwrap(),
        );
        assert_eq!(read, used + q, "{name}: read = used + quarantined");
        let by_rule: u64 = rows["quarantined_by_rule"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(by_rule, q, "{name}");
        for f in input["files"].as_array().unwrap() {
            assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
        }
    }
    let rules = &m["inputs"]["billing"]["rows"]["quarantined_by_rule"];
    for rule in [
        "bad_timestamp",
        "negative_quantity",
        "unknown_unit",
        "unrecognised_accelerator",
        "end_not_after_start",
        "missing_account",
    ] {
        assert_eq!(rules[rule], 1, "{rule}");
    }
    assert_eq!(
        m["inputs"]["customers"]["rows"]["quarantined_by_rule"]["duplicate_key"],
        2
    );
    assert_eq!(m["outputs"]["flags.csv"]["rows"], 10);
    assert_eq!(m["queries"].as_array().unwrap().len(), 18);
}

#[test]
fn outputs_are_private_neutralised_and_masked() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &[]);
    let customers = std::fs::read_to_string(repo().join("data-samples/cip/customers.csv")).unwrap();
    let secrets: Vec<String> = customers
        .lines()
        .skip(1)
        .flat_map(|l| {
            let cells = split(l);
            [cells[8].clone(), cells[10].clone()]
        })
        .filter(|s| s.len() > 4)
        .collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    // Every file of the output folder (runs.jsonl and knowledge.json too), Parquet decoded.
    crate::leaks::assert_private_and_masked(out.path(), &secrets);
    let flags = std::fs::read_to_string(out.path().join(AS_OF).join("flags.csv")).unwrap();
    assert!(
        flags.contains("\"'=HYPERLINK("),
        "formula in a text cell is neutralised"
    );
    assert!(!flags.contains(",=HYPERLINK") && !flags.contains("\"=HYPERLINK"));
}

#[test]
fn validate_checks_everything_and_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let o = cipwatch(&["validate", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("valid: as-of 2026-11-26"));
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn as_of_limits_the_window() {
    let out = tempfile::tempdir().unwrap();
    run_samples(out.path(), &["--as-of", "2026-11-15"]);
    let flags = read_csv(&out.path().join("2026-11-15").join("flags.csv"));
    let zephyr = flag(&flags, "420000000002");
    // 8 days (8-15 Nov) of 2,048 H100s.
    assert_eq!(zephyr["accelerator_hours"], "393216.0");
    assert_eq!(zephyr["level"], "WATCH", "{zephyr:?}");
    assert!(zephyr["reasons"].contains("PROJECTED_CROSSING"));
    assert_eq!(zephyr["projected_crossing_date"], "2026-11-21");
}

#[test]
fn generator_reproduces_the_committed_samples() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gen-samples"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let generated = tree(dir.path());
    let committed = tree(&repo().join("data-samples"));
    for (name, bytes) in &generated {
        assert!(
            committed.get(name) == Some(bytes),
            "data-samples/{name} differs from the generator's output"
        );
    }
    assert_eq!(
        generated.len() + 1,
        committed.len(),
        "only cipwatch.toml is not generated"
    );
}

#[test]
fn the_manifest_counts_usage_rows_left_out_after_the_as_of_date() {
    let dir = tempfile::tempdir().unwrap();
    let excluded = |as_of: Option<&str>| -> Vec<serde_json::Value> {
        let out = dir.path().join(as_of.unwrap_or("latest"));
        let mut extra = vec![];
        if let Some(d) = as_of {
            extra.extend(["--as-of", d]);
        }
        run_samples(&out, &extra);
        let folder = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("manifest.json").is_file())
            .expect("a published run");
        let text = std::fs::read_to_string(folder.join("manifest.json")).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
        manifest["excluded"].as_array().unwrap().clone()
    };
    let billing = |list: &[serde_json::Value]| -> u64 {
        list.iter()
            .filter(|e| e["stage"] == "billing" && e["reason"] == "charged after the as-of date")
            .map(|e| e["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        billing(&excluded(None)),
        0,
        "nothing is after the latest charge date"
    );
    let earlier = excluded(Some("2026-11-20"));
    assert!(billing(&earlier) > 0, "{earlier:?}");
}
