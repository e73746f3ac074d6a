//! Stage 1 apart from stage 2: `cipwatch stage1` writes a prepared dataset, one part for
//! all files or one part per file (what each Spark task writes), and `run --prepared` runs stage 2
//! from it with the single-machine run's bytes; a dataset made under other definitions, by another
//! version or holding a file twice is refused (exit 4, saying which). The Spark driver itself is
//! checked against the single-machine run by `engines/spark/check.sh`, which `.ci/run` runs.

use std::path::{Path, PathBuf};

use crate::helpers::*;

/// The tables the two ways must agree on, byte for byte.
const SAME: [&str; 4] = [
    "flags.csv",
    "training_runs.csv",
    "entities.csv",
    "quarantine/billing.csv",
];

fn ok(o: std::process::Output) -> std::process::Output {
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

/// `cipwatch -q COMMAND --config CFG --prepared DIR` plus `extra`.
fn with_prepared(command: &str, cfg: &Path, dir: &Path, extra: &[&str]) -> std::process::Output {
    let (cfg, dir) = (cfg.to_str().unwrap(), dir.to_str().unwrap());
    let mut args = vec!["-q", command, "--config", cfg, "--prepared", dir];
    args.extend_from_slice(extra);
    cipwatch(&args)
}

/// `cipwatch stage1 --config CFG --prepared DIR` plus `extra`.
fn stage1(cfg: &Path, dir: &Path, extra: &[&str]) -> std::process::Output {
    with_prepared("stage1", cfg, dir, extra)
}

/// One part per billing file in `dir`, as the Spark driver makes them.
fn stage1_per_file(cfg: &Path, files: &[PathBuf], dir: &Path) {
    for f in files {
        ok(stage1(
            cfg,
            dir,
            &["--part", "--billing", f.to_str().unwrap()],
        ));
    }
}

/// `run` from the prepared dataset `dir` into `out`.
fn run_prepared(cfg: &Path, dir: &Path, out: &Path) -> std::process::Output {
    with_prepared("run", cfg, dir, &["--out", out.to_str().unwrap()])
}

fn assert_same_tables(a: &Path, b: &Path) {
    for table in SAME {
        let (x, y) = (
            std::fs::read(a.join(table)).unwrap(),
            std::fs::read(b.join(table)).unwrap(),
        );
        assert!(
            x == y,
            "{table} differs between the single-machine and the prepared run"
        );
    }
    let rows = |d: &Path| {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
        m["inputs"]["billing"]["rows"].clone()
    };
    assert_eq!(rows(a), rows(b));
}

fn sample_billing() -> Vec<PathBuf> {
    let dir = repo().join("data-samples/billing");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn stage_two_from_a_prepared_dataset_gives_the_single_machine_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo().join("data-samples/cipwatch.toml");
    let single = tmp.path().join("single");
    run_samples(&single, &[]);
    let (whole, per_file) = (tmp.path().join("whole"), tmp.path().join("per-file"));
    ok(stage1(&cfg, &whole, &[]));
    stage1_per_file(&cfg, &sample_billing(), &per_file);
    assert_eq!(
        std::fs::read_dir(per_file.join("parts")).unwrap().count(),
        2
    );
    // As the Spark driver ships a file: stage 1 reads a copy that is gone afterwards, named
    // with --source-name; the part records the original's place, where stage 2 finds it.
    let shipped = tmp.path().join("shipped");
    for f in sample_billing() {
        let copy = tmp.path().join("copy").join(f.file_name().unwrap());
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&f, &copy).unwrap();
        let (copy_s, name) = (copy.to_str().unwrap(), f.to_str().unwrap());
        ok(stage1(
            &cfg,
            &shipped,
            &["--part", "--billing", copy_s, "--source-name", name],
        ));
        std::fs::remove_file(&copy).unwrap();
    }
    for (name, dir) in [
        ("whole", &whole),
        ("per-file", &per_file),
        ("shipped", &shipped),
    ] {
        let out = tmp.path().join(format!("out-{name}"));
        ok(run_prepared(&cfg, dir, &out));
        assert_same_tables(&published(&single), &published(&out));
    }
    // Private: folders 0700, files 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let part = std::fs::read_dir(whole.join("parts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(mode(&part), 0o700);
    assert_eq!(mode(&part.join("accelerator_usage.parquet")), 0o600);
    // Running stage 1 again into the same folder leaves one part, the same bytes.
    let before = tree(&whole);
    ok(stage1(&cfg, &whole, &[]));
    let after = tree(&whole);
    let changed: Vec<&String> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(
        before.len() == after.len() && changed.is_empty(),
        "changed on rerun: {changed:?}"
    );
}

/// The sample November file with one more row charged on 9999-12-30: stage 2 quarantines it as an
/// implausible date, reading the billing file again for its original values; once the file is gone
/// that is exit 4, saying why the file is needed.
#[test]
fn implausible_dates_are_quarantined_from_a_prepared_dataset_as_in_a_single_run() {
    let tmp = tempfile::tempdir().unwrap();
    let billing = tmp.path().join("billing");
    std::fs::create_dir(&billing).unwrap();
    let files = sample_billing();
    std::fs::copy(&files[0], billing.join("a.csv")).unwrap();
    let text = std::fs::read_to_string(&files[1]).unwrap();
    let header = split(text.lines().next().unwrap());
    let cell = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut row = split(text.lines().nth(1).unwrap());
    row[cell("ChargePeriodStart")] = "9999-12-30T00:00:00Z".into();
    row[cell("ChargePeriodEnd")] = "9999-12-30T01:00:00Z".into();
    let row: Vec<&str> = row.iter().map(String::as_str).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut rows: Vec<Vec<String>> = text.lines().skip(1).map(split).collect();
    rows.push(row.iter().map(|s| s.to_string()).collect());
    let rows: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    write_csv(&billing, "b.csv", &header, &rows);
    let cfg = billing_config(tmp.path(), &billing, None);
    let single = tmp.path().join("single");
    ok(cipwatch(&[
        "-q",
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        single.to_str().unwrap(),
    ]));
    let quarantine =
        std::fs::read_to_string(published(&single).join("quarantine/billing.csv")).unwrap();
    assert!(quarantine.contains("implausible_date"), "{quarantine}");
    let prepared = tmp.path().join("prepared");
    stage1_per_file(
        &cfg,
        &[billing.join("a.csv"), billing.join("b.csv")],
        &prepared,
    );
    let out = tmp.path().join("out");
    ok(run_prepared(&cfg, &prepared, &out));
    assert_same_tables(&published(&single), &published(&out));
    // Its billing file gone, the part is stale (stage 2 would read it again for the implausible
    // charge days): refused naming the part and the file.
    std::fs::remove_file(billing.join("b.csv")).unwrap();
    let o = run_prepared(&cfg, &prepared, &tmp.path().join("out-2"));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("billing/b.csv") && stderr(&o).contains("is stale"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_prepared_dataset_made_otherwise_is_refused_saying_how() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo().join("data-samples/cipwatch.toml");
    let refused = |dir: &Path, cfg: &Path, expected: &str| {
        let o = run_prepared(cfg, dir, &tmp.path().join("out"));
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{expected}: {}", stderr(&o));
    };
    // Another catalog figure (the profile's peak precision) at stage 1.
    let fp8 = tmp.path().join("fp8");
    ok(stage1(&cfg, &fp8, &["--set", "peak_precision=fp8"]));
    refused(&fp8, &cfg, "catalog differ");
    // Another [billing] option in the configuration at stage 2.
    let prepared = tmp.path().join("prepared");
    ok(stage1(&cfg, &prepared, &[]));
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("../out", "out");
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let other_cfg = config_with(&other, &[]);
    let with_option = format!(
        "{}\n[billing]\nmax_gpu_count = 17\n",
        std::fs::read_to_string(&other_cfg).unwrap()
    );
    assert!(
        !text.contains("[billing]"),
        "the sample config has no [billing] table"
    );
    std::fs::write(&other_cfg, with_option).unwrap();
    refused(&prepared, &other_cfg, "billing_options differ");
    // Another contract version.
    let part = std::fs::read_dir(prepared.join("parts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let manifest = std::fs::read_to_string(part.join("part.json")).unwrap();
    std::fs::write(
        part.join("part.json"),
        manifest.replace(
            &format!(
                "\"version\": {}",
                cipwatch::sources::prepared_dataset::VERSION
            ),
            "\"version\": 99",
        ),
    )
    .unwrap();
    refused(&prepared, &cfg, "version 99");
    // A part whose row count was edited (part.json is not hashed): not consistent with its tables.
    let edited = tmp.path().join("edited");
    ok(stage1(&cfg, &edited, &[]));
    let part = std::fs::read_dir(edited.join("parts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(part.join("part.json")).unwrap()).unwrap();
    m["rows_read"] = serde_json::json!(m["rows_read"].as_u64().unwrap() - 10);
    std::fs::write(part.join("part.json"), m.to_string()).unwrap();
    refused(&edited, &cfg, "is not consistent");
    // No dataset at all.
    refused(&tmp.path().join("none"), &cfg, "cannot list parts/");
    // A part whose writing did not finish, and a table replaced after stage 1.
    let damaged = tmp.path().join("damaged");
    stage1_per_file(&cfg, &sample_billing(), &damaged);
    let mut parts: Vec<PathBuf> = std::fs::read_dir(damaged.join("parts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    std::fs::copy(
        parts[0].join("egress.parquet"),
        parts[1].join("accelerator_usage.parquet"),
    )
    .unwrap();
    refused(&damaged, &cfg, "is not the table its part.json records");
    std::fs::remove_file(parts[0].join("_SUCCESS")).unwrap();
    refused(&damaged, &cfg, "is incomplete");
}

/// A billing file given twice is rejected input (exit 3) whether stage 1 ran whole or per file.
#[test]
fn the_same_billing_file_in_two_parts_is_rejected_input_as_in_a_single_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo().join("data-samples/cipwatch.toml");
    let twice = tmp.path().join("twice");
    let copy = tmp.path().join("copy.csv");
    std::fs::copy(&sample_billing()[0], &copy).unwrap();
    stage1_per_file(&cfg, &[sample_billing()[0].clone(), copy], &twice);
    let o = run_prepared(&cfg, &twice, &tmp.path().join("out"));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("same content (SHA-256)"),
        "{}",
        stderr(&o)
    );
    // --prepared naming a file is a usage error.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = stage1(&cfg, &file, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// The prepared dataset does not depend on how the configuration's path is spelled: a relative
/// catalog folder and a relative `--config` at stage 1, an absolute one at stage 2 (and the
/// files are recorded by absolute path, so stage 2 finds them from any folder).
#[test]
fn a_prepared_dataset_does_not_depend_on_the_spelling_of_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = config_with(dir, &[]);
    copy_dir(&repo().join("src/config/catalog"), &dir.join("catalog"));
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replacen("\nbilling = ", "\ncatalog = \"catalog\"\nbilling = ", 1);
    std::fs::write(&cfg, text).unwrap();
    let prepared = dir.join("prepared");
    ok(cipwatch_in(
        dir,
        &[
            "-q",
            "stage1",
            "--config",
            "cipwatch.toml",
            "--prepared",
            "prepared",
        ],
    ));
    let manifest = first_part_manifest(&prepared);
    for file in manifest["files"].as_array().unwrap() {
        assert!(file["path"].as_str().unwrap().starts_with('/'), "{file}");
    }
    ok(run_prepared(&cfg, &prepared, &dir.join("out")));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn stage1_needs_a_dataset_or_a_spark_job_and_the_job_names_the_definitions_of_the_parts() {
    let o = cipwatch(&["-q", "stage1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo().join("data-samples/cipwatch.toml");
    let job = tmp.path().join("job");
    ok(cipwatch(&[
        "-q",
        "stage1",
        "--dialect",
        "spark",
        "--config",
        cfg.to_str().unwrap(),
        "--emit",
        job.to_str().unwrap(),
    ]));
    let job: serde_json::Value =
        serde_json::from_slice(&std::fs::read(job.join("job.json")).unwrap()).unwrap();
    let command: Vec<&str> = job["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        command.contains(&"{billing}") && command.contains(&"{prepared}"),
        "{command:?}"
    );
    // A part made by that command line carries the job's fingerprints.
    let prepared = tmp.path().join("prepared");
    let file = sample_billing()[0].display().to_string();
    let argv: Vec<String> = command[1..]
        .iter()
        .map(|c| {
            c.replace("{billing}", &file)
                .replace("{prepared}", prepared.to_str().unwrap())
        })
        .collect();
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    ok(cipwatch(&argv));
    let manifest = first_part_manifest(&prepared);
    assert_eq!(manifest["parameters"], job["parameters"]);
    assert_eq!(manifest["generator"], job["generator"]);
}

/// The `part.json` of the first part of the prepared dataset `dir`.
fn first_part_manifest(dir: &Path) -> serde_json::Value {
    let part = std::fs::read_dir(dir.join("parts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    serde_json::from_slice(&std::fs::read(part.join("part.json")).unwrap()).unwrap()
}
