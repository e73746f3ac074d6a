//! Trust under hostile and broken input: nulls from SQL, empty registries, parameter and
//! config ranges, registry freshness, report folders, the lock and the output folder, and the
//! handed hostile cases (inputs copied under `tests/cases/hostile/`).

use crate::helpers::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DAY: &str = "2026-11-26";

fn cases() -> PathBuf {
    repo().join("tests/cases")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// A copy of `data-samples/` in `dir` writing to `dir/out`, with a hostile case's `cip/` laid over
/// it when `case` is given. Returns the configuration's path.
fn samples_with(dir: &Path, case: Option<&str>) -> PathBuf {
    copy_tree(&repo().join("data-samples"), dir);
    if let Some(case) = case {
        copy_tree(
            &cases().join("hostile").join(case).join("cip"),
            &dir.join("cip"),
        );
    }
    let cfg = dir.join("cipwatch.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("dir = \"../out\"", "dir = \"out\"");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// Appends TOML to the configuration (a new table, e.g. `[registry]`).
fn append_config(cfg: &Path, extra: &str) {
    let mut text = std::fs::read_to_string(cfg).unwrap();
    text.push('\n');
    text.push_str(extra);
    std::fs::write(cfg, text).unwrap();
}

fn no_panic(o: &Output) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && !err.contains("internal error") && o.status.code() != Some(1),
        "exit {:?}: {err}",
        o.status.code()
    );
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Keeps the header line of each named registry file, dropping every data row.
fn header_only(dir: &Path, files: &[&str]) {
    for f in files {
        let p = dir.join("cip").join(format!("{f}.csv"));
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("{}\n", text.lines().next().unwrap())).unwrap();
    }
}

// ---- kind 4: nulls, and a registry with no rows -------------------------------------------------

/// Hostile case 09: a header-only customers.csv. Every account has no CIP record, so every account
/// with accelerator use is foreign (`no_cip_record`), CIP_GAP or above where its use is material
/// (`material_accelerator_hours`, 100); certification counts are 0.
#[test]
fn hostile_09_header_only_customers_is_valid_input() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = samples_with(dir.path(), Some("09-header-only-customers"));
    let customers = std::fs::read_to_string(dir.path().join("cip/customers.csv")).unwrap();
    assert_eq!(
        customers.lines().count(),
        1,
        "the case's customers.csv is header-only"
    );
    let o = cipwatch_in(dir.path(), &["run", "--config", cfg.to_str().unwrap()]);
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    every_account_is_foreign_without_cip(&dir.path().join("out").join(DAY));
}

fn every_account_is_foreign_without_cip(day: &Path) {
    let flags = read_csv(&day.join("flags.csv"));
    assert!(!flags.is_empty());
    for f in &flags {
        assert_eq!(f["is_foreign"], "true", "{f:?}");
        assert_eq!(f["foreign_basis"], "no_cip_record", "{f:?}");
        // Foreign with material use and no verified identity: at least CIP_GAP.
        if f["accelerator_hours"].parse::<f64>().unwrap() >= 100.0 {
            assert_ne!(f["level"], "CLEAR", "{f:?}");
        }
    }
    assert!(flags.iter().any(|f| f["level"] == "CIP_GAP"));
    let cert = json(&day.join("certification/cip-certification.json"));
    assert_eq!(cert["total_customers"], 0);
    assert_eq!(cert["total_foreign_customers"], 0);
    assert_eq!(cert["stats"]["customers"], 0);
    assert_eq!(cert["stats"]["verified_in_period"], 0);
    assert_eq!(cert["stats"]["failed_in_period"], 0);
}

/// Every registry file header-only: valid input. With no dated record the registry's age is
/// unknown, so the run fails closed (exit 4) unless the export date is configured.
#[test]
fn an_entirely_empty_registry_is_valid_input() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = samples_with(dir.path(), None);
    header_only(
        dir.path(),
        &["customers", "beneficial_owners", "access_log", "resellers"],
    );
    let cfg_s = cfg.to_str().unwrap();
    let o = cipwatch_in(dir.path(), &["run", "--config", cfg_s]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("age is unknown"), "{}", stderr(&o));
    append_config(&cfg, &format!("[registry]\nexported_at = \"{DAY}\"\n"));
    let o = cipwatch_in(dir.path(), &["run", "--config", cfg_s]);
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    every_account_is_foreign_without_cip(&dir.path().join("out").join(DAY));
}

/// The FinOps Foundation's FOCUS sample with a registry whose records hold no usable date: the
/// certification queries produce nulls (SUM over no rows, no median), and the run must read them,
/// not end in "internal error: reading certification: invalid type: null" (exit 1 before). Without
/// `--allow-stale` the registry's age is unknown: exit 4.
#[test]
fn the_focus_sample_with_an_undated_registry_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = samples_with(dir.path(), None);
    std::fs::remove_dir_all(dir.path().join("billing")).unwrap();
    std::fs::create_dir(dir.path().join("billing")).unwrap();
    std::fs::copy(
        reference().join("focus-samples/finops-foundation-focus-sample-data-1.0/focus_sample.csv"),
        dir.path().join("billing/focus_sample.csv"),
    )
    .unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("telemetry ="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cfg, text).unwrap();
    // No usable date: every customer record is quarantined (bad_timestamp), so the certification
    // queries aggregate no rows and their SUMs are null.
    set_columns(
        &dir.path().join("cip/customers.csv"),
        &["verified_at", "opened_at"],
        "n/a",
    );
    header_only(dir.path(), &["access_log"]);
    let cfg_s = cfg.to_str().unwrap();
    for extra in [&["--allow-stale"][..], &[]] {
        let mut args = vec!["run", "--config", cfg_s];
        args.extend_from_slice(extra);
        let o = cipwatch_in(dir.path(), &args);
        no_panic(&o);
        let expected = if extra.is_empty() { 4 } else { 0 };
        assert_eq!(o.status.code(), Some(expected), "{}", stderr(&o));
    }
    let cert = json(
        &dir.path()
            .join("out/2024-09-30/certification/cip-certification.json"),
    );
    let m = json(&dir.path().join("out/2024-09-30/manifest.json"));
    assert_eq!(m["inputs"]["customers"]["rows"]["rows_used"], 0);
    assert_eq!(cert["stats"]["customers"], 0);
    assert_eq!(cert["total_customers"], 0);
    assert_eq!(cert["stats"]["verified_in_period"], 0);
    assert!(cert["stats"]["median_days_to_verify"].is_null());
}

/// One CSV line, quoting the cells that need it.
fn csv_line(cells: &[String]) -> String {
    cells
        .iter()
        .map(|c| match c.contains([',', '"', '\n']) {
            true => format!("\"{}\"", c.replace('"', "\"\"")),
            false => c.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Sets the named columns of every row of a CSV (one record per line) to `value`.
fn set_columns(path: &Path, columns: &[&str], value: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let at: Vec<usize> = split(&header)
        .iter()
        .enumerate()
        .filter(|(_, h)| columns.contains(&h.as_str()))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), columns.len());
    let mut out = vec![header];
    for l in lines {
        let mut cells = split(l);
        for i in &at {
            cells[*i] = value.to_string();
        }
        out.push(csv_line(&cells));
    }
    std::fs::write(path, out.join("\n") + "\n").unwrap();
}

// ---- kind 6: parameter and config ranges --------------------------------------------------------

/// Every profile parameter, each with values just outside its declared range (and of the wrong
/// type), is refused with exit 2 naming the key and the range, before any data is read.
#[test]
fn every_parameter_out_of_range_is_exit_2_naming_the_key() {
    use cipwatch::config::profile::{Kind, PARAMETERS};
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    let mut tried = 0;
    for p in PARAMETERS {
        let (key, valid, kind) = (p.name, &p.valid, &p.kind);
        let mut values = valid.outside(*kind);
        if *kind != Kind::Text {
            values.push(toml::Value::String("soon".into()));
        }
        for value in values {
            let set = format!("{key}={value}");
            let o = cipwatch(&["run", "--dry-run", "--out", out_s, "--set", &set]);
            no_panic(&o);
            assert_eq!(o.status.code(), Some(2), "--set {set}: {}", stderr(&o));
            let err = stderr(&o);
            assert!(
                err.contains(&format!("parameter {key} ")) && err.contains(&valid.describe()),
                "--set {set}: {err}"
            );
            tried += 1;
        }
    }
    assert!(tried >= 2 * PARAMETERS.len());
}

/// Every numeric configuration key out of range is exit 2 naming the file, the key and the range.
#[test]
fn every_config_number_out_of_range_is_exit_2_naming_the_key() {
    for k in cipwatch::config::NUMERIC_KEYS {
        let (key, valid) = (k.key, k.valid);
        let (table, field) = key.split_once('.').unwrap();
        for value in valid.outside(k.kind) {
            let dir = tempfile::tempdir().unwrap();
            let cfg = samples_with(dir.path(), None);
            append_config(&cfg, &format!("[{table}]\n{field} = {value}\n"));
            let o = cipwatch_in(
                dir.path(),
                &["run", "--dry-run", "--config", cfg.to_str().unwrap()],
            );
            no_panic(&o);
            assert_eq!(o.status.code(), Some(2), "{key} = {value}: {}", stderr(&o));
            assert!(
                stderr(&o).contains(key) && stderr(&o).contains(&valid.describe()),
                "{}",
                stderr(&o)
            );
            assert!(
                stderr(&o).contains("config:") && stderr(&o).contains("cipwatch.toml"),
                "names the configuration file: {}",
                stderr(&o)
            );
        }
    }
}

/// Hostile case 21, and its sibling: day counts that overflowed Polars' date arithmetic (a panic)
/// are refused with exit 2; the largest valid values run to the end.
#[test]
fn hostile_21_huge_day_counts_are_refused_and_the_largest_valid_ones_run() {
    for key in ["report_due_days", "certification_period_days"] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = samples_with(dir.path(), None);
        let set = format!("{key}=100000000");
        let o = cipwatch_in(
            dir.path(),
            &["run", "--config", cfg.to_str().unwrap(), "--set", &set],
        );
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "parameter {key} = 100000000 is out of range: must be ["
            )),
            "{}",
            stderr(&o)
        );
    }
    // The largest valid values, as the configuration's own overrides (a filing run, not a
    // scenario: its outputs are the date's folder).
    let dir = tempfile::tempdir().unwrap();
    let cfg = samples_with(dir.path(), None);
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[overrides]\n",
        "[overrides]\nreport_due_days = 3650\ncertification_period_days = 3650\nprojection_horizon_days = 3650\nburn_window_days = 3650\nlink_window_days = 3650\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let args = vec!["run", "--config", cfg.to_str().unwrap()];
    let o = cipwatch_in(dir.path(), &args);
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let z = flag(
        &read_csv(&dir.path().join("out").join(DAY).join("flags.csv")),
        "420000000002",
    );
    assert_eq!(
        z["knowledge_date"], "2026-11-26",
        "the first filing run's as-of date"
    );
    assert_eq!(
        z["report_due_date"], "2036-11-23",
        "3650 days after the knowledge date"
    );
}

// ---- kind 7: registry freshness -----------------------------------------------------------------

/// Hostile case 16: an access-log row dated 2099 does not make a registry that is 101 days old
/// look fresh on 2027-03-01.
#[test]
fn hostile_16_a_future_record_does_not_make_the_registry_fresh() {
    for case in [None, Some("16-future-access-defeats-stale-check")] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = samples_with(dir.path(), case);
        let o = cipwatch_in(
            dir.path(),
            &[
                "validate",
                "--config",
                cfg.to_str().unwrap(),
                "--as-of",
                "2027-03-01",
            ],
        );
        no_panic(&o);
        assert_eq!(o.status.code(), Some(4), "{case:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("days older than the as-of date"),
            "{}",
            stderr(&o)
        );
    }
    let access = std::fs::read_to_string(
        cases().join("hostile/16-future-access-defeats-stale-check/cip/access_log.csv"),
    )
    .unwrap();
    assert!(
        access.contains("2099-01-01"),
        "the case holds the future row"
    );
}

/// `[registry] exported_at` is the registry's date where given: an old export is stale however
/// new its records look, a recent one is fresh; a value that is not a date is exit 2.
#[test]
fn the_export_date_decides_the_registry_age() {
    for (exported, code) in [
        ("2026-11-01", Some(4)),
        ("2026-11-20", Some(0)),
        ("last week", Some(2)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = samples_with(dir.path(), None);
        append_config(&cfg, &format!("[registry]\nexported_at = \"{exported}\"\n"));
        let o = cipwatch_in(dir.path(), &["validate", "--config", cfg.to_str().unwrap()]);
        no_panic(&o);
        assert_eq!(o.status.code(), code, "{exported}: {}", stderr(&o));
        if code == Some(4) {
            assert!(stderr(&o).contains("export date"), "{}", stderr(&o));
        }
        if code == Some(2) {
            assert!(
                stderr(&o).contains("registry.exported_at"),
                "{}",
                stderr(&o)
            );
        }
    }
}

// ---- kind 8: report folders ---------------------------------------------------------------------

/// Renames an account in every account column of billing and telemetry (the registry comes from
/// the case, or is renamed too), writing a copy of its rows under `copy` as well.
fn rename_account(dir: &Path, old: &str, new: &str, copy: Option<&str>, registry: bool) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("billing"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(dir.join("telemetry/accelerator-usage.csv"));
    if registry {
        for f in ["customers", "beneficial_owners", "access_log"] {
            files.push(dir.join("cip").join(format!("{f}.csv")));
        }
    }
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines = text.lines();
        let header = split(lines.next().unwrap());
        let ids: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, h)| {
                ["BillingAccountId", "billing_account_id", "account_id"].contains(&h.as_str())
            })
            .map(|(i, _)| i)
            .collect();
        let mut out = vec![csv_line(&header)];
        for l in lines {
            let cells = split(l);
            if !ids.iter().any(|i| cells[*i] == old) {
                out.push(l.to_string());
                continue;
            }
            for id in std::iter::once(new).chain(copy) {
                let row: Vec<String> = cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match ids.contains(&i) && c == old {
                        true => id.to_string(),
                        false => c.clone(),
                    })
                    .collect();
                out.push(csv_line(&row));
            }
        }
        std::fs::write(&p, out.join("\n") + "\n").unwrap();
    }
}

/// The report folders of a run: account → folder, from the manifest, checked against the files.
fn report_folders(day: &Path) -> BTreeMap<String, String> {
    let m = json(&day.join("manifest.json"));
    let map: BTreeMap<String, String> = m["report_folders"]
        .as_object()
        .expect("manifest report_folders")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    for (account, folder) in &map {
        let report = json(&day.join(folder).join("ai-training-report.json"));
        assert_eq!(&report["customer"]["account_id"], account, "{folder}");
        for ext in ["md", "html"] {
            assert!(day
                .join(folder)
                .join(format!("ai-training-report.{ext}"))
                .is_file());
        }
    }
    map
}

/// Hostile case 01: accounts `Z/1` and `Z_1` sanitise alike; each gets its own report folder.
#[test]
fn hostile_01_accounts_that_sanitise_alike_get_their_own_report_folders() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = samples_with(dir.path(), Some("01-report-folder-collision"));
    rename_account(dir.path(), "420000000002", "Z/1", Some("Z_1"), false);
    let o = cipwatch_in(dir.path(), &["run", "--config", cfg.to_str().unwrap()]);
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let day = dir.path().join("out").join(DAY);
    let reportable: Vec<String> = read_csv(&day.join("flags.csv"))
        .into_iter()
        .filter(|f| f["level"] == "REPORTABLE")
        .map(|f| f["account_id"].clone())
        .collect();
    assert_eq!(reportable, ["Z/1", "Z_1"]);
    let folders = report_folders(&day);
    assert_eq!(folders.keys().cloned().collect::<Vec<_>>(), reportable);
    assert_ne!(folders["Z/1"], folders["Z_1"]);
    assert_eq!(std::fs::read_dir(day.join("reports")).unwrap().count(), 2);
}

/// A 300-character account id gets a bounded folder name and its report.
#[test]
fn a_300_character_account_id_gets_a_bounded_report_folder() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = samples_with(dir.path(), None);
    let long = format!("42{}", "7".repeat(298));
    rename_account(dir.path(), "420000000002", &long, None, true);
    let o = cipwatch_in(dir.path(), &["run", "--config", cfg.to_str().unwrap()]);
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let folders = report_folders(&dir.path().join("out").join(DAY));
    let folder = &folders[&long];
    assert!(folder.len() <= "reports/".len() + 62, "{folder}");
}

// ---- kind 11: files -----------------------------------------------------------------------------

/// An output path that is a regular file (or lies under one) is exit 2 naming `output.dir`.
#[test]
fn an_output_path_that_is_a_file_is_exit_2_naming_output_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    std::fs::write(&file, "not a folder").unwrap();
    for out in [file.clone(), file.join("below")] {
        let o = cipwatch(&["run", "--out", out.to_str().unwrap()]);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("output.dir"), "{}", stderr(&o));
    }
    let cfg = samples_with(&dir.path().join("case"), None);
    std::fs::write(dir.path().join("case/out"), "").unwrap();
    let o = cipwatch_in(
        &dir.path().join("case"),
        &["run", "--config", cfg.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("output.dir:"), "{}", stderr(&o));
}

/// Tests that stop a run at a named step: the pause hook (`CIPWATCH_TEST_PAUSE_AT`) exists in debug
/// builds only.
#[cfg(debug_assertions)]
mod paused {
    use super::*;

    /// The output folder's lock: 0600 while held, a second run exits 5 naming the holder's process and
    /// host, and the lock file a killed run leaves behind does not stop the next run.
    #[test]
    fn the_lock_is_private_names_its_holder_and_a_killed_holder_releases_it() {
        let out = tempfile::tempdir().unwrap();
        let out_s = out.path().to_str().unwrap();
        let mut child = paused_run(out.path(), "staged", &[], false);
        let lock = out.path().join(".cipwatch.lock");
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&lock).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode, 0o600);
        let second = cipwatch(&["run", "--out", out_s]);
        assert_eq!(second.status.code(), Some(5), "{}", stderr(&second));
        assert!(
            stderr(&second).contains(&format!("pid={} host=", child.id())),
            "{}",
            stderr(&second)
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(lock.exists(), "kill -9 leaves the lock file behind");
        run_samples(out.path(), &["-q"]);
        assert!(!lock.exists(), "the next run took it over and released it");
    }

    // ---- kill -9 at each named step of the publish --------------------------------------------------

    /// Starts `cipwatch run` on the samples into `out` with `extra` flags, to pause at the publish
    /// step `step` (a debug-build test hook).
    fn spawn_paused(
        out: &Path,
        step: &str,
        extra: &[&str],
        no_exchange: bool,
    ) -> std::process::Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cipwatch"));
        cmd.args(["-q", "run", "--out", out.to_str().unwrap()])
            .args(extra)
            .env("CIPWATCH_TEST_PAUSE_AT", step)
            .current_dir(repo())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if no_exchange {
            cmd.env("CIPWATCH_TEST_NO_EXCHANGE", "1");
        }
        cmd.spawn().unwrap()
    }

    /// Waits until `child` says it is paused at `step` (Ok), or ends first (Err: its exit code and
    /// stderr).
    fn wait_paused(
        child: &mut std::process::Child,
        step: &str,
    ) -> Result<(), (Option<i32>, String)> {
        use std::io::BufRead;
        let lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        for line in lines.map_while(|l| l.ok()) {
            if line.contains(&format!("paused at {step}")) {
                return Ok(());
            }
            seen.push(line);
        }
        Err((child.wait().unwrap().code(), seen.join("\n")))
    }

    /// A run paused at `step`.
    fn paused_run(
        out: &Path,
        step: &str,
        extra: &[&str],
        no_exchange: bool,
    ) -> std::process::Child {
        let mut child = spawn_paused(out, step, extra, no_exchange);
        if let Err(ended) = wait_paused(&mut child, step) {
            panic!("the run ended before {step}: {ended:?}");
        }
        child
    }

    /// Four runs started together on an output folder holding a lock file left by a dead run (one
    /// naming a live process id, as after reuse): exactly one takes the lock, the others exit 5.
    #[test]
    fn racing_runs_over_a_left_lock_file_let_exactly_one_in() {
        let out = tempfile::tempdir().unwrap();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        std::fs::write(
            out.path().join(".cipwatch.lock"),
            format!("pid={} host={}\n", std::process::id(), host.trim()),
        )
        .unwrap();
        let mut runs: Vec<std::process::Child> = (0..4)
            .map(|_| spawn_paused(out.path(), "staged", &[], false))
            .collect();
        let (mut holders, mut refused) = (Vec::new(), 0);
        for child in runs.iter_mut() {
            match wait_paused(child, "staged") {
                Ok(()) => holders.push(child.id()),
                Err((Some(5), err)) => {
                    assert!(err.contains("locked by another cipwatch run"), "{err}");
                    refused += 1;
                }
                Err(other) => panic!("{other:?}"),
            }
        }
        for child in runs.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert_eq!((holders.len(), refused), (1, 3), "{holders:?}");
    }

    /// Whether `day` is a complete published run: `_SUCCESS` and every output its manifest lists,
    /// with the listed SHA-256.
    fn complete(day: &Path) -> bool {
        if !day.join("_SUCCESS").is_file() {
            return false;
        }
        let m = json(&day.join("manifest.json"));
        m["outputs"].as_object().unwrap().iter().all(|(rel, o)| {
            std::fs::read(day.join(rel)).is_ok_and(|bytes| {
                Some(cipwatch::fingerprint::sha256_bytes(&bytes).as_str()) == o["sha256"].as_str()
            })
        })
    }

    fn names(dir: &Path, hidden: bool) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with('.') == hidden)
            .collect();
        v.sort();
        v
    }

    /// kill -9 at every named publish step, with the atomic exchange and with the two-rename fallback:
    /// the date's folder is the previous run intact or the new run complete; where the fallback is
    /// killed between its renames the previous run is aside, intact, and the next run that takes the
    /// lock puts it back. The lock the killed run leaves behind never stops the next run.
    #[test]
    fn kill_9_at_each_publish_step_leaves_the_previous_run_or_the_new_one() {
        use cipwatch::sinks::publish::PAUSE_STEPS;
        // (step, fallback, what the date's folder then holds)
        let plan = [
            ("staged", false, "previous"),
            ("success", false, "previous"),
            ("swapped", false, "new"),
            ("published", false, "new"),
            ("knowledge_saved", false, "new"),
            ("staged", true, "previous"),
            ("success", true, "previous"),
            ("moved_aside", true, "aside"),
            ("renamed_in", true, "new"),
            ("swapped", true, "new"),
        ];
        for step in PAUSE_STEPS {
            assert!(
                plan.iter().any(|(s, _, _)| s == step),
                "{step} is not killed at"
            );
        }
        // The new run differs by its configuration's own override (a filing run; `--set` would
        // make it a scenario, published elsewhere).
        let cfg_dir = tempfile::tempdir().unwrap();
        let cfg = config_with(cfg_dir.path(), &[]);
        let text = std::fs::read_to_string(&cfg).unwrap().replacen(
            "[overrides]\n",
            "[overrides]\nwatch_fraction = 0.02\n",
            1,
        );
        std::fs::write(&cfg, text).unwrap();
        let new_params = ["--config", cfg.to_str().unwrap()];
        for (step, fallback, expect) in plan {
            let out = tempfile::tempdir().unwrap();
            run_samples(out.path(), &["-q"]);
            let day = out.path().join(DAY);
            let previous = tree(&day);
            let mut child = paused_run(out.path(), step, &new_params, fallback);
            child.kill().unwrap();
            child.wait().unwrap();
            let what = format!("killed at {step} (fallback: {fallback})");
            match expect {
                "previous" => assert!(tree(&day) == previous, "{what}: previous run changed"),
                "new" => {
                    assert!(complete(&day), "{what}: the new run is incomplete");
                    let m = json(&day.join("manifest.json"));
                    assert_eq!(m["parameters"]["watch_fraction"]["value"], 0.02, "{what}");
                }
                _ => {
                    assert!(!day.exists(), "{what}");
                    let aside: Vec<String> = names(out.path(), true)
                        .into_iter()
                        .filter(|n| n.starts_with(&format!(".replaced-{DAY}-")))
                        .collect();
                    assert_eq!(aside.len(), 1, "{what}");
                    assert!(tree(&out.path().join(&aside[0])) == previous, "{what}");
                    // The next run to take the lock restores it, even one that then fails (stale registry).
                    let o = cipwatch(&[
                        "run",
                        "--out",
                        out.path().to_str().unwrap(),
                        "--as-of",
                        "2027-01-31",
                    ]);
                    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
                    assert!(tree(&day) == previous, "{what}: not restored");
                }
            }
            for n in names(out.path(), false) {
                assert!(
                    [DAY, "knowledge.json", "runs.jsonl", "status.json"].contains(&n.as_str()),
                    "{what}: {n}"
                );
            }
            // The next run takes over the lock left behind, sweeps the hidden folders and publishes.
            run_samples(out.path(), &["-q"]);
            assert!(complete(&day), "{what}");
            assert_eq!(names(out.path(), true), Vec::<String>::new(), "{what}");
        }
    }
}

/// The output folder: a folder every user may write to is refused (not made private behind the
/// back of its other users); links planted in it are not followed; a history file made by someone
/// else ends owner-only.
#[test]
fn a_shared_output_folder_is_refused_and_planted_links_are_not_followed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let o = cipwatch(&["run", "--out", shared.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("output.dir"), "{}", stderr(&o));
    let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o1777, "a refused folder is left as it was");

    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, out.join(".cipwatch.lock")).unwrap();
    let o = cipwatch(&["run", "--out", out.to_str().unwrap()]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "a planted lock link stops the run"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");

    std::fs::remove_file(out.join(".cipwatch.lock")).unwrap();
    std::fs::write(out.join("runs.jsonl"), "").unwrap();
    std::fs::set_permissions(
        out.join("runs.jsonl"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let o = cipwatch(&["run", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = std::fs::metadata(out.join("runs.jsonl"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn what_is_not_cipwatch_s_own_in_the_output_folder_is_left_alone() {
    // Found cases: a file where the run folder goes was swapped into a hidden folder; a symbolic
    // link as runs.jsonl or as the lock made a run publish, then fail as an internal error.
    let hidden = |out: &Path| -> Vec<String> {
        std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".staging") || n.starts_with(".replaced"))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[]);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join(DAY), b"counsel's notes").unwrap();
    let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not a run folder"), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join(DAY)).unwrap(), b"counsel's notes");
    assert_eq!(hidden(&out), Vec::<String>::new());
    std::fs::remove_file(out.join(DAY)).unwrap();

    let elsewhere = dir.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, b"kept").unwrap();
    for own in ["runs.jsonl", ".cipwatch.lock"] {
        let _ = std::fs::remove_file(out.join(own));
        std::os::unix::fs::symlink(&elsewhere, out.join(own)).unwrap();
        let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{own}: {}", stderr(&o));
        assert!(stderr(&o).contains("a symbolic link"), "{}", stderr(&o));
        assert!(!out.join(DAY).exists(), "{own}: nothing is published");
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"kept");
        std::fs::remove_file(out.join(own)).unwrap();
    }
    let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn an_account_id_that_is_no_file_name_gets_counsel_s_answers() {
    // Found case: an Azure billing-account id with ':' could not name an answers file, so its
    // report stayed TO COMPLETE. `answers` names the file as the report folder.
    let dir = tempfile::tempdir().unwrap();
    let cfg = samples_with(dir.path(), None);
    let id = "8611abcd-1234:5678ef_2019-05-31";
    rename_account(dir.path(), "420000000002", id, None, true);
    let c = cfg.to_str().unwrap();
    let o = cipwatch_in(dir.path(), &["answers", id, "--config", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let answers = dir.path().join("answers");
    let file = std::fs::read_dir(&answers)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "narrative = \"\"",
        "narrative = \"Answered for a colon id.\"",
    );
    std::fs::write(&file, text).unwrap();
    let o = cipwatch_in(dir.path(), &["-q", "run", "--config", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let day = dir.path().join("out").join(DAY);
    let folder = &report_folders(&day)[id];
    let md = std::fs::read_to_string(day.join(folder).join("ai-training-report.md")).unwrap();
    assert!(md.contains("Answered for a colon id."), "{md}");
    assert_eq!(
        json(&day.join("manifest.json"))["answers"]["unmatched"],
        serde_json::json!([])
    );
}
