//! The third round of hostile cases (`r3-*`), each rebuilt by its own `make.py` (copied with its
//! `expect.txt` under `tests/cases/hostile/r3-*/`) from `data-samples/` into a scratch folder, then
//! run as its `expect.txt` says, plus cases of the same kinds beyond the example: stage 1 never
//! removes what is not its own, a misconfigured answers folder is an error, cards written as
//! decimals are masked, query overrides read the registered tables only, the filing log keys on a
//! token of the raw id, stale prepared parts are refused, scenarios never replace one another,
//! names compare in one Unicode form, PDFs are printed privately and checked, input bombs are
//! refused within seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::leaks::{assert_masked, assert_private_and_masked};

const AS_OF: &str = "2026-11-26";
/// The cards `make.py` plants (C1–C4).
const CARDS: &[&str] = &[
    "4929000012345674",
    "5454540000111125",
    "6011000099887766",
    "371449635398431",
];

/// A handed case rebuilt in a scratch folder: the folder (kept alive) and the case's inputs.
struct Case {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Case {
    /// Runs `tests/cases/hostile/<name>/make.py` on the samples (stage 1 steps use this build).
    fn make(name: &str) -> Case {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("case");
        let script = repo()
            .join("tests/cases/hostile")
            .join(name)
            .join("make.py");
        let o = Command::new("python3")
            .arg(&script)
            .arg(repo().join("data-samples"))
            .arg(&dir)
            .env("CIPWATCH_BIN", env!("CARGO_BIN_EXE_cipwatch"))
            .output()
            .expect("python3");
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        Case { _tmp: tmp, dir }
    }

    /// Runs cipwatch in the case's folder.
    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cipwatch"))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(&self.dir)
            .output()
            .expect("run cipwatch")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// The output's runs: date folders that exist.
fn published_dates(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with("20"))
                .collect()
        })
        .unwrap_or_default()
}

// ---- r3-04: stage 1 removes only its own parts ------------------------------------------------

#[test]
fn r3_04_stage1_removes_only_parts_and_refuses_a_linked_parts_folder() {
    let case = Case::make("r3-04-stage1-deletes-foreign-folders");
    // A folder that looks half like a part (no _SUCCESS) is not a part either.
    let half = case.path("lake/parts/half");
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(half.join("part.json"), "{}").unwrap();
    let o = case.run(&["stage1", "--config", "cipwatch.toml", "--prepared", "lake"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(case
        .path("lake/parts/2026-10-invoices/invoice.txt")
        .is_file());
    assert!(half.join("part.json").is_file());
    // A second stage 1 of other files replaces the first one's part (a real part), not the rest.
    let first: Vec<_> = std::fs::read_dir(case.path("lake/parts"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("_SUCCESS").is_file())
        .map(|e| e.path())
        .collect();
    assert_eq!(first.len(), 1);
    let o = case.run(&[
        "stage1",
        "--config",
        "cipwatch.toml",
        "--prepared",
        "lake",
        "--billing",
        "billing/focus-2026-10.csv",
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(!first[0].exists(), "the previous part is replaced");
    assert!(case
        .path("lake/parts/2026-10-invoices/invoice.txt")
        .is_file());

    for extra in [&[][..], &["--part"][..]] {
        let mut args = vec!["stage1", "--config", "cipwatch.toml", "--prepared", "prep2"];
        args.extend_from_slice(extra);
        let o = case.run(&args);
        assert_eq!(code(&o), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
        assert!(case.path("victim/important/data.txt").is_file());
        let victim: Vec<_> = std::fs::read_dir(case.path("victim")).unwrap().collect();
        assert_eq!(victim.len(), 1, "nothing written through the link");
    }
}

// ---- r3-29: the answers folder ------------------------------------------------------------------

#[test]
fn r3_29_an_answers_dir_naming_a_file_is_a_configuration_error() {
    let case = Case::make("r3-29-answers-dir-is-a-file");
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("answers.dir"), "{}", stderr(&o));
    assert!(published_dates(&case.path("out")).is_empty());
    let o = case.run(&["answers", "420000000002", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("answers.dir"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("this is a bug"), "{}", stderr(&o));
}

#[test]
fn answers_for_an_id_with_control_characters_leave_every_later_run_working() {
    let case = Case::make("r3-29-answers-dir-is-a-file");
    let cfg = std::fs::read_to_string(case.path("cipwatch.toml")).unwrap();
    let cfg = cfg.replace("dir = \"cipwatch.toml\"", "dir = \"answers\"");
    std::fs::write(case.path("cipwatch.toml"), cfg).unwrap();
    for id in [
        "42\n[x]\nnarrative = 1",
        "42\r\u{1b}[2J\u{7f}",
        "42\u{202e}1",
    ] {
        let o = case.run(&["answers", id, "--config", "cipwatch.toml"]);
        assert_eq!(code(&o), Some(0), "{id:?}: {}", stderr(&o));
    }
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
}

// ---- r3-03: cards written as decimals -----------------------------------------------------------

#[test]
fn r3_03_cards_written_as_decimals_in_registry_fields_are_masked() {
    let case = Case::make("r3-03-card-as-decimal-in-registry");
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert_masked("stdout", &stdout(&o), CARDS);
    assert_masked("stderr", &stderr(&o), CARDS);
    let out = case.path("out");
    assert!(out
        .join(AS_OF)
        .join("reports/420000000002/ai-training-report.md")
        .is_file());
    assert_private_and_masked(&out, CARDS);
}

#[test]
fn a_card_typed_into_set_reaches_neither_the_plan_nor_the_documents() {
    let case = Case::make("r3-03-card-as-decimal-in-registry");
    let set = "--set=watch_fraction=4929000012345674";
    let o = case.run(&["run", "--config", "cipwatch.toml", "--dry-run", set]);
    assert_masked("dry-run stdout", &stdout(&o), CARDS);
    assert_masked("dry-run stderr", &stderr(&o), CARDS);
    let o = case.run(&[
        "run",
        "--config",
        "cipwatch.toml",
        "--set=report_due_days=4929000012345674",
    ]);
    assert_masked("run stderr", &stderr(&o), CARDS);
    assert_masked("run stdout", &stdout(&o), CARDS);
    if case.path("out").exists() {
        assert_private_and_masked(&case.path("out"), CARDS);
    }
}

// ---- r3-11: query overrides read the registered tables only -------------------------------------

#[test]
fn r3_11_a_query_reading_a_file_is_refused_and_nothing_is_published() {
    let case = Case::make("r3-11-query-read-csv-any-file");
    let o = case.run(&["run", "--config", "cipwatch.toml", "--queries", "q"]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("11_cert_customers_by_country.sql"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("SECRET-TOKEN"), "{}", stderr(&o));
    assert!(published_dates(&case.path("out")).is_empty());
    // Other table functions, other queries, other commands.
    let original = std::fs::read_to_string(repo().join("queries/10_flags.sql")).unwrap();
    let header: String = original
        .lines()
        .take_while(|l| l.starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect();
    let secret = case.path("secret.csv").display().to_string();
    for body in [
        format!("SELECT * FROM read_parquet('{secret}')"),
        format!("SELECT * FROM training_runs AS t JOIN read_ipc('{secret}') AS s ON t.x = s.x"),
        format!("SELECT * FROM training_runs WHERE x IN (SELECT x FROM read_json('{secret}'))"),
        "CREATE TABLE flags AS SELECT * FROM params".to_string(),
    ] {
        let q = case.path("q2");
        std::fs::create_dir_all(&q).unwrap();
        std::fs::write(q.join("10_flags.sql"), format!("{header}{body}\n")).unwrap();
        for command in ["run", "validate"] {
            let o = case.run(&[command, "--config", "cipwatch.toml", "--queries", "q2"]);
            assert_eq!(code(&o), Some(2), "{command} {body}: {}", stderr(&o));
            assert!(stderr(&o).contains("10_flags.sql"), "{}", stderr(&o));
        }
    }
    assert!(published_dates(&case.path("out")).is_empty());
}

#[test]
fn a_query_override_selecting_identifiers_publishes_only_their_masks() {
    let case = Case::make("r3-11-query-read-csv-any-file");
    let customers = std::fs::read_to_string(case.path("cip/customers.csv")).unwrap();
    let secrets: Vec<String> = customers
        .lines()
        .skip(1)
        .flat_map(|l| {
            let cells = split(l);
            [cells[8].clone(), cells[10].clone()]
        })
        .filter(|s| s.chars().filter(char::is_ascii_digit).count() > 6)
        .collect();
    assert!(!secrets.is_empty());
    let sql = std::fs::read_to_string(case.path("q/11_cert_customers_by_country.sql")).unwrap();
    let header: String = sql
        .lines()
        .take_while(|l| l.starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect();
    let body = "SELECT c.national_id || ' ' || c.payment_identifier AS country, \
                1 AS customers, 0 AS foreign_customers FROM customers AS c";
    std::fs::write(
        case.path("q/11_cert_customers_by_country.sql"),
        format!("{header}{body}\n"),
    )
    .unwrap();
    let o = case.run(&["run", "--config", "cipwatch.toml", "--queries", "q"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let cert = case
        .path("out")
        .join(AS_OF)
        .join("certification/cip-certification.json");
    assert!(std::fs::read_to_string(cert).unwrap().contains("****"));
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    for (name, bytes) in tree(&case.path("out")) {
        let text = String::from_utf8_lossy(&bytes);
        for secret in &secrets {
            assert!(!text.contains(secret), "{name} holds {secret}");
        }
    }
}

// ---- r3-13: the filing log keys on a token of the raw id ----------------------------------------

fn filed(case: &Case, account: &str, reference: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "filed",
        account,
        "--reference",
        reference,
        "--date",
        "2026-11-28",
        "--config",
        "cipwatch.toml",
    ];
    args.extend_from_slice(extra);
    case.run(&args)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn r3_13_ids_that_mask_alike_keep_their_own_filings() {
    let (a, b) = ("4929000012345674", "4929000000045674");
    let case = Case::make("r3-13-filing-key-collision");
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let o = filed(&case, a, "BIS-2026-0042", &[]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let log = std::fs::read_to_string(case.path("out/filings.jsonl")).unwrap();
    assert_masked("filings.jsonl", &log, &[a, b]);
    for sub in ["billing", "telemetry", "cip"] {
        copy_tree(&case.path(&format!("later/{sub}")), &case.path(sub));
    }
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let day = case.path("out").join(AS_OF);
    let summary = std::fs::read_to_string(day.join("summary.md")).unwrap();
    assert!(!summary.contains("BIS-2026-0042"), "{summary}");
    for entry in std::fs::read_dir(day.join("reports")).unwrap().flatten() {
        let report = std::fs::read_to_string(entry.path().join("ai-training-report.json")).unwrap();
        assert!(!report.contains("BIS-2026-0042"), "{report}");
        assert!(!report.contains("FILED on"), "{report}");
    }
    let o = filed(&case, b, "BIS-2026-0099", &[]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert_private_and_masked(&case.path("out"), &[a, b]);
}

#[test]
fn filed_refuses_a_scenario_draft_and_backfills_do_not_show_later_filings() {
    let case = Case::make("r3-13-filing-key-collision");
    let a = "4929000012345674";
    let key = [("CIPWATCH_LINK_KEY", "a-deployment-link-key-0123456789")];
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--config", "cipwatch.toml"];
        args.extend_from_slice(extra);
        let o = case.run_env(&args, &key);
        assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    };
    run(&["--scenario", "what-if"]);
    let scenario_run = format!("scenarios/what-if/{AS_OF}");
    let o = filed(&case, a, "R-1", &["--run", &scenario_run]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(!case.path("out/filings.jsonl").exists());
    run(&[]);
    let o = case.run_env(
        &[
            "filed",
            a,
            "--reference",
            "R-1",
            "--date",
            "2026-11-28",
            "--config",
            "cipwatch.toml",
        ],
        &key,
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(
        !case.path("out/filings.key").exists(),
        "the link key is used"
    );
    run(&[]);
    // A run as of an earlier date may publish beside the filing runs or as a backfill scenario.
    let summary = |date: &str| {
        let day = ["out", "out/scenarios/backfill"]
            .iter()
            .map(|root| case.path(root).join(date).join("summary.md"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("no run as of {date}"));
        std::fs::read_to_string(day).unwrap()
    };
    assert!(summary(AS_OF).contains("filed 2026-11-28 (R-1)"));
    run(&["--as-of", "2026-11-24", "--allow-stale"]);
    assert!(
        !summary("2026-11-24").contains("R-1"),
        "{}",
        summary("2026-11-24")
    );
}

// ---- r3-07 / r3-08: prepared datasets -----------------------------------------------------------

#[test]
fn r3_07_a_stale_part_is_refused_naming_it() {
    let case = Case::make("r3-07-prepared-stale-part-double-count");
    let o = case.run(&["run", "--config", "cipwatch.toml", "--prepared", "prep"]);
    assert_eq!(code(&o), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stale") && stderr(&o).contains("billing/focus-2026-11.csv"),
        "{}",
        stderr(&o)
    );
    assert!(published_dates(&case.path("out")).is_empty());
}

#[test]
fn a_part_of_a_file_staged_again_after_it_changed_is_refused() {
    let case = Case::make("r3-08-source-name-read-path");
    let stage = |file: &str| {
        let o = case.run(&[
            "stage1",
            "--config",
            "cipwatch.toml",
            "--prepared",
            "prep",
            "--part",
            "--billing",
            file,
        ]);
        assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    };
    stage("billing/focus-2026-10.csv");
    stage("billing/focus-2026-11.csv");
    let o = case.run(&["run", "--config", "cipwatch.toml", "--prepared", "prep"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // November re-issued in place with fewer rows, and staged again: the old part is stale.
    let path = case.path("billing/focus-2026-11.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..lines.len() - 10].join("\n") + "\n").unwrap();
    stage("billing/focus-2026-11.csv");
    let o = case.run(&["run", "--config", "cipwatch.toml", "--prepared", "prep"]);
    assert_eq!(code(&o), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("stale"), "{}", stderr(&o));
}

fn part_manifest(dir: &Path) -> serde_json::Value {
    let parts = dir.join("parts");
    let part = std::fs::read_dir(&parts)
        .unwrap()
        .flatten()
        .find(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .unwrap()
        .path();
    serde_json::from_slice(&std::fs::read(part.join("part.json")).unwrap()).unwrap()
}

#[test]
fn r3_08_source_name_only_names_the_file_read() {
    let case = Case::make("r3-08-source-name-read-path");
    let eleven = case.path("billing/focus-2026-11.csv").display().to_string();
    for (prep, name) in [
        ("prep", "s3a://lake/focus/focus-2026-10.csv"),
        ("prep2", eleven.as_str()),
    ] {
        let o = case.run(&[
            "stage1",
            "--config",
            "cipwatch.toml",
            "--prepared",
            prep,
            "--part",
            "--billing",
            "scratch/in/focus-2026-10.csv",
            "--source-name",
            name,
        ]);
        assert_eq!(code(&o), Some(0), "{name}: {}", stderr(&o));
        assert!(stdout(&o).contains("1436 rows read"), "{}", stdout(&o));
        let manifest = part_manifest(&case.path(prep));
        assert_eq!(manifest["rows_read"], 1436);
        let display = manifest["files"][0]["display"].as_str().unwrap();
        assert!(name.ends_with(display), "{display}");
    }
}

// ---- r3-18: scenarios never replace one another -------------------------------------------------

#[test]
fn r3_18_a_scenario_made_with_other_overrides_is_not_replaced() {
    let case = Case::make("r3-18-scenario-name-collision");
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--config", "cipwatch.toml"];
        all.extend_from_slice(args);
        case.run(&all)
    };
    let o = run(&["--params", "what-if.toml"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let o = run(&["--params", "what-if.toml"]);
    assert_eq!(code(&o), Some(0), "the same what-if again: {}", stderr(&o));
    let o = run(&["--params", "board/what-if.toml"]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--scenario"), "{}", stderr(&o));
    let o = run(&[
        "--params",
        "board/what-if.toml",
        "--scenario",
        "board-what-if",
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // A name equal to another run's derived name, and names that differ in a masked card.
    let o = run(&["--scenario", "params-what-if"]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    let o = run(&["--scenario", "s4929000012345674"]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert_masked("stderr", &stderr(&o), CARDS);
    let o = case.run(&["scenarios", "--config", "cipwatch.toml"]);
    let list = stdout(&o);
    assert!(
        list.contains("training_ops=1e25") && list.contains("training_ops=1e20"),
        "{list}"
    );
}

#[test]
fn a_failed_scenario_run_leaves_only_private_folders() {
    let case = Case::make("r3-18-scenario-name-collision");
    // A registry far older than the as-of date: the run fails (exit 4) after its plan.
    let o = case.run(&[
        "run",
        "--config",
        "cipwatch.toml",
        "--params",
        "what-if.toml",
        "--as-of",
        "2027-06-01",
    ]);
    assert_eq!(code(&o), Some(4), "{}", stderr(&o));
    assert!(case
        .path("out/scenarios/params-what-if/runs.jsonl")
        .is_file());
    assert_private_and_masked(&case.path("out"), CARDS);
}

#[test]
fn an_existing_group_shared_output_folder_is_left_as_it_is() {
    use std::os::unix::fs::PermissionsExt;
    let case = Case::make("r3-18-scenario-name-collision");
    let out = case.path("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o2770);
    assert!(stderr(&o).contains("left as it is"), "{}", stderr(&o));
    let day = std::fs::metadata(out.join(AS_OF))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(day & 0o777, 0o700);
}

// ---- r3-15: names compare in one Unicode form ---------------------------------------------------

#[test]
fn r3_15_nfc_nfd_and_full_width_spellings_of_one_owner_link() {
    let case = Case::make("r3-15-unicode-normalisation-links");
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let rows = read_csv(&case.path("out").join(AS_OF).join("entities.csv"));
    for (x, y) in [
        ("420000000003", "420000000004"),
        ("420000000002", "420000000005"),
    ] {
        let linked = rows.iter().any(|r| {
            let members: Vec<&str> = r["members"].split(';').collect();
            members.contains(&x)
                && members.contains(&y)
                && r["strong_links"].contains("beneficial_owner")
        });
        assert!(
            linked,
            "{x} and {y} not linked by beneficial_owner: {rows:?}"
        );
    }
}

// ---- r3-19: input bombs -------------------------------------------------------------------------

#[test]
fn r3_19_a_gzip_bomb_cell_is_refused_within_seconds_naming_file_and_line() {
    let case = Case::make("r3-19-gz-enormous-record");
    let start = Instant::now();
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("extra-2026-11.csv.gz") && stderr(&o).contains("row 2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn long_lines_and_a_million_columns_are_refused_within_seconds() {
    let case = Case::make("r3-18-scenario-name-collision");
    let long = format!("a,b\n1,{}\n", "x".repeat(40 << 20));
    let wide = format!("{}\n", vec!["c"; 1_000_000].join(","));
    for (name, text, line) in [("long.csv", long, "row 2"), ("wide.csv", wide, "row 1")] {
        std::fs::write(case.path("billing").join(name), text).unwrap();
        let start = Instant::now();
        let o = case.run(&["run", "--config", "cipwatch.toml"]);
        assert!(start.elapsed() < Duration::from_secs(60), "{name}");
        assert_eq!(code(&o), Some(3), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(name) && stderr(&o).contains(line),
            "{}",
            stderr(&o)
        );
        std::fs::remove_file(case.path("billing").join(name)).unwrap();
    }
}

#[test]
fn a_small_parquet_declaring_a_huge_cell_is_refused_naming_the_file() {
    use polars::prelude::*;
    let case = Case::make("r3-18-scenario-name-collision");
    let huge = "A".repeat(50 << 20);
    let mut df = DataFrame::new(
        1,
        vec![
            Column::new("BillingAccountId".into(), &["420000000002"]),
            Column::new("ChargeDescription".into(), &[huge.as_str()]),
        ],
    )
    .unwrap();
    let path = case.path("billing/bomb.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let o = case.run(&["run", "--config", "cipwatch.toml"]);
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bomb.parquet") && stderr(&o).contains("row group 1"),
        "{}",
        stderr(&o)
    );
}

// ---- r3-01 / r3-22: PDFs (need Chromium: tests/browser/setup.sh) ---------------------------------

/// True when Chromium and poppler are installed; the PDF tests say so and pass otherwise.
fn have_browser() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v chromium && command -v pdftotext"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: Chromium or pdftotext missing (bash tests/browser/setup.sh)");
    }
    found
}

#[test]
fn r3_01_pdfs_print_in_private_folders_and_the_scratch_is_removed() {
    if !have_browser() {
        return;
    }
    let case = Case::make("r3-01-pdf-scratch-world-readable");
    let tmp = case.path("tmp");
    let args = ["run", "--config", "cipwatch.toml", "--pdf", "--filing-copy"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_cipwatch"))
        .args(args)
        .env("TMPDIR", &tmp)
        .current_dir(&case.dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = case.path("out");
    let mut seen = 0;
    while child.try_wait().unwrap().is_none() {
        seen += assert_no_shared_document(&out) + assert_no_shared_document(&tmp);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.wait().unwrap().success());
    assert!(seen > 0, "no scratch folder was seen while printing");
    assert_no_shared_document(&out);
    let hidden: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .collect();
    assert!(hidden.is_empty(), "scratch left behind");
}

/// Fails on a folder under `root` (hidden ones included) or a printed page or PDF (`document.*`)
/// that group or others may read or search; returns how many scratch folders were seen.
fn assert_no_shared_document(root: &Path) -> usize {
    use std::os::unix::fs::PermissionsExt;
    let mut scratch = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if name.starts_with(".staging-pdf") {
                scratch += 1;
            }
            let own = name.starts_with("document.") || name.starts_with(".staging");
            if own || (meta.is_dir() && dir != root) {
                assert_eq!(
                    meta.permissions().mode() & 0o077,
                    0,
                    "{} is shared",
                    entry.path().display()
                );
            }
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    scratch
}

#[test]
fn r3_22_a_tmpdir_with_a_hash_still_prints_the_documents() {
    if !have_browser() {
        return;
    }
    let case = Case::make("r3-22-pdf-tmpdir-url");
    // Also an output folder whose path needs percent-encoding in a URL.
    let cfg = std::fs::read_to_string(case.path("cipwatch.toml")).unwrap();
    let cfg = cfg.replace("dir = \"out\"", "dir = \"out#1 %41\"");
    std::fs::write(case.path("cipwatch.toml"), cfg).unwrap();
    let o = case.run_env(
        &["run", "--config", "cipwatch.toml", "--pdf"],
        &[("TMPDIR", case.path("tmp#1").to_str().unwrap())],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let pdf = case.path("out#1 %41").join(AS_OF).join("summary.pdf");
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        stdout(&text).contains("cipwatch run summary"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn a_template_override_cannot_embed_a_local_file_into_a_pdf() {
    if !have_browser() {
        return;
    }
    let case = Case::make("r3-22-pdf-tmpdir-url");
    let secret = case.path("secret.txt");
    std::fs::write(&secret, "SECRET-LOCAL-FILE-TEXT\n").unwrap();
    let url = format!("file://{}", secret.display());
    let base = std::fs::read_to_string(repo().join("templates/base.html")).unwrap();
    let embed = format!(
        "<body><object data=\"{url}\"></object><iframe src=\"{url}\"></iframe><img src=\"{url}\">"
    );
    let templates = case.path("t");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(
        templates.join("base.html"),
        base.replacen("<body>", &embed, 1),
    )
    .unwrap();
    let o = case.run(&[
        "run",
        "--config",
        "cipwatch.toml",
        "--pdf",
        "--templates",
        "t",
    ]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let pdf = case.path("out").join(AS_OF).join("summary.pdf");
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = stdout(&text);
    assert!(text.contains("cipwatch run summary"), "{text}");
    assert!(!text.contains("SECRET-LOCAL-FILE-TEXT"), "{text}");
}

#[test]
fn a_broken_browser_or_a_damaged_scenario_manifest_is_not_a_bug() {
    let case = Case::make("r3-18-scenario-name-collision");
    let browser = case.path("chromium");
    std::fs::write(&browser, "#!/bin/sh\n").unwrap();
    let env = [("CIPWATCH_CHROMIUM", browser.to_str().unwrap())];
    let o = case.run_env(&["run", "--config", "cipwatch.toml", "--pdf"], &env);
    assert_eq!(code(&o), Some(4), "not executable: {}", stderr(&o));
    assert!(!stderr(&o).contains("this is a bug"), "{}", stderr(&o));
    for params in ["what-if.toml", "board/what-if.toml"] {
        let name = params.replace('/', "-");
        let o = case.run(&[
            "run",
            "--config",
            "cipwatch.toml",
            "--params",
            params,
            "--scenario",
            &name,
        ]);
        assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    }
    let a = case.path(&format!("out/scenarios/what-if.toml/{AS_OF}"));
    let b = case.path(&format!("out/scenarios/board-what-if.toml/{AS_OF}"));
    std::fs::write(a.join("manifest.json"), "{ damaged").unwrap();
    let o = case.run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("manifest.json"), "{}", stderr(&o));
}
