//! Sanctions and export screening (`[screening]`): the sample registry, with a few owners and a
//! reseller renamed, screened against invented list snapshots in the publishers' formats
//! (`tests/cases/screening/`): an exact name (a customer on the Entity List), a misspelt and a
//! transliterated owner (OFAC SDN, via its alt names), a reordered reseller name, an identity number
//! written differently, owners' listed shares summed to 50% or more, and a customer's owner who only
//! shares a common name, shown below the threshold. Candidates add reasons, never a level. A stale
//! snapshot (by its configured date, or by its files' modification time) is exit 4; a malformed or
//! unknown list file is exit 3 naming the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::helpers::{
    cipwatch_in, config_in, flag, manifest_of, published, read_csv, repo, stderr,
    SAMPLE_REGISTRY_EXPORT,
};

const LISTS: [&str; 4] = ["consolidated.csv", "sdn.csv", "alt.csv", "add.csv"];

/// The sample registry in `dir`, with account 420000000002's owners replaced (a misspelt and a
/// transliterated listed person, 30% and 25%), account 420000000005's owner renamed to a common
/// name a listed person shares in part, and reseller RS-NL-01 renamed to a listed name reordered.
fn registry(dir: &Path) {
    let samples = repo().join("data-samples/cip");
    for f in ["customers.csv", "access_log.csv"] {
        std::fs::copy(samples.join(f), dir.join(f)).unwrap();
    }
    let owners = std::fs::read_to_string(samples.join("beneficial_owners.csv"))
        .unwrap()
        .replace(
            "420000000002,Arjun Menon,SG,55,true,verified\n420000000002,Li Na,CN,30,false,verified\n",
            "420000000002,Arjun Menon,SG,45,true,verified\n\
             420000000002,Mohamad Reza Karimy,IR,30,false,verified\n\
             420000000002,Сергей Николаевич Волков,RU,25,false,verified\n",
        )
        .replace(
            "420000000005,Oliver Grant,GB,100",
            "420000000005,Ahmed Hassan,GB,100",
        );
    assert!(owners.contains("Karimy") && owners.contains("Ahmed Hassan"));
    std::fs::write(dir.join("beneficial_owners.csv"), owners).unwrap();
    let resellers = std::fs::read_to_string(samples.join("resellers.csv"))
        .unwrap()
        .replace("Meridian Cloud Services B.V.", "Shipping Northern Star LLC");
    std::fs::write(dir.join("resellers.csv"), resellers).unwrap();
}

/// A configuration in `dir` over that registry, with `screening` appended (none: no screening).
fn config(dir: &Path, screening: Option<&str>) -> PathBuf {
    registry(dir);
    let cfg = config_in(
        dir,
        &[
            ("customers", "customers.csv"),
            ("beneficial_owners", "beneficial_owners.csv"),
            ("access_log", "access_log.csv"),
            ("resellers", "resellers.csv"),
        ],
    );
    let mut text = std::fs::read_to_string(&cfg).unwrap() + SAMPLE_REGISTRY_EXPORT;
    if let Some(s) = screening {
        text += s;
    }
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// `[screening]` naming the fixture files (absolute paths) with `extra` lines.
fn section(files: &[PathBuf], extra: &str) -> String {
    let list: Vec<String> = files
        .iter()
        .map(|f| format!("\"{}\"", f.display()))
        .collect();
    format!("\n[screening]\nfiles = [{}]\n{extra}", list.join(", "))
}

fn fixtures() -> Vec<PathBuf> {
    LISTS
        .iter()
        .map(|f| repo().join("tests/cases/screening").join(f))
        .collect()
}

fn run(dir: &Path, cfg: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    cipwatch_in(dir, &args)
}

/// The rows of `screening.csv` for `party_name` (its best first).
fn rows_of<'a>(
    rows: &'a [BTreeMap<String, String>],
    party_name: &str,
) -> Vec<&'a BTreeMap<String, String>> {
    rows.iter()
        .filter(|r| r["party_name"] == party_name)
        .collect()
}

#[test]
fn every_kind_of_candidate_is_found_scored_and_shown_never_as_a_match() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        Some(&section(&fixtures(), "downloaded_on = \"2026-11-25\"\n")),
    );
    let o = run(dir.path(), &cfg, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let day = published(&dir.path().join("out"));
    let rows = read_csv(&day.join("screening.csv"));
    let best = |name: &str| {
        let r = rows_of(&rows, name);
        assert!(!r.is_empty(), "no screening row for {name}: {rows:#?}");
        r[0].clone()
    };
    // Exact: the customer is on the Entity List under its own name, country matching.
    let kestrel = best("Kestrel Vision GmbH");
    assert_eq!(
        (
            kestrel["list"].as_str(),
            kestrel["score"].as_str(),
            kestrel["country"].as_str(),
            kestrel["candidate"].as_str(),
            kestrel["account_id"].as_str()
        ),
        ("EL", "1.0", "match", "true", "420000000003")
    );
    // Misspelt: "Mohamad Reza Karimy" against SDN 36001 "KARIMI, Mohammad Reza".
    let karimy = best("Mohamad Reza Karimy");
    assert_eq!(
        (karimy["list"].as_str(), karimy["entry_id"].as_str()),
        ("SDN", "36001")
    );
    let score: f64 = karimy["score"].parse().unwrap();
    assert!((0.9..1.0).contains(&score), "{karimy:?}");
    assert_eq!(karimy["candidate"], "true");
    assert_eq!(karimy["country"], "match");
    // Transliterated: the Cyrillic spelling against SDN 36002 "VOLKOV, Sergei Nikolaevich".
    let volkov = best("Сергей Николаевич Волков");
    assert_eq!(
        (
            volkov["entry_id"].as_str(),
            volkov["name_score"].as_str(),
            volkov["candidate"].as_str()
        ),
        ("36002", "1.0", "true")
    );
    // Reordered: the reseller "Shipping Northern Star LLC" against SDN 36004, for the account
    // sold through it; its country (NL) is not the entry's (AE), which lowers the score a little.
    let reseller = best("Shipping Northern Star LLC");
    assert_eq!(
        (
            reseller["party"].as_str(),
            reseller["entry_id"].as_str(),
            reseller["name_score"].as_str(),
            reseller["country"].as_str(),
            reseller["score"].as_str(),
            reseller["account_id"].as_str()
        ),
        (
            "reseller",
            "36004",
            "1.0",
            "mismatch",
            "0.95",
            "420000000007"
        )
    );
    // An identity number: Chen Wei's national ID P-E12345678 is the DPL entry's passport
    // "PE 12345678", whatever the names.
    let chen = best("Chen Wei");
    assert_eq!(
        (
            chen["list"].as_str(),
            chen["basis"].as_str(),
            chen["id_match"].as_str(),
            chen["score"].as_str(),
            chen["candidate"].as_str()
        ),
        ("DPL", "id", "true", "1.0", "true")
    );
    // The number itself is never written: only the kind of document the list names.
    let text = std::fs::read_to_string(day.join("screening.csv")).unwrap();
    assert!(!text.contains("12345678") && chen["id_kind"] == "Passport");
    // A common name: "Ahmed Hassan" shares two of the three names of SDN 36003 "HASSAN, Ahmed
    // Mohamed": shown, scored below the threshold, not a candidate.
    let hassan = best("Ahmed Hassan");
    let score: f64 = hassan["score"].parse().unwrap();
    assert!((0.75..0.9).contains(&score), "{hassan:?}");
    assert_eq!(
        (hassan["entry_id"].as_str(), hassan["candidate"].as_str()),
        ("36003", "false")
    );
    // Aggregated ownership: the two listed owners of 420000000002 hold 30% + 25%.
    let owned: Vec<_> = rows
        .iter()
        .filter(|r| r["basis"] == "owned_50pct")
        .collect();
    assert_eq!(owned.len(), 1, "{owned:?}");
    assert_eq!(
        (
            owned[0]["account_id"].as_str(),
            owned[0]["ownership_pct"].as_str()
        ),
        ("420000000002", "55.0")
    );
    // Nobody else of the registry is a candidate.
    let mut candidates: Vec<&str> = rows
        .iter()
        .filter(|r| r["candidate"] == "true")
        .map(|r| r["account_id"].as_str())
        .collect();
    candidates.dedup();
    assert_eq!(
        candidates,
        [
            "420000000002",
            "420000000003",
            "420000000007",
            "420000000011"
        ]
    );
    // Reasons on the flags; levels as without screening.
    let flags = read_csv(&day.join("flags.csv"));
    for account in [
        "420000000002",
        "420000000003",
        "420000000007",
        "420000000011",
    ] {
        assert!(
            flag(&flags, account)["reasons"].contains("SANCTIONS_CANDIDATE"),
            "{account}"
        );
    }
    assert!(
        flag(&flags, "420000000002")["reasons"].ends_with("SANCTIONS_CANDIDATE;OWNED_50PCT_LISTED")
    );
    assert!(!flag(&flags, "420000000005")["reasons"].contains("SANCTIONS"));
    let plain = tempfile::tempdir().unwrap();
    let cfg_plain = config(plain.path(), None);
    let o = run(plain.path(), &cfg_plain, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plain_day = published(&plain.path().join("out"));
    assert!(!plain_day.join("screening.csv").exists());
    let levels = |rows: &[BTreeMap<String, String>]| -> Vec<(String, String)> {
        rows.iter()
            .map(|r| (r["account_id"].clone(), r["level"].clone()))
            .collect()
    };
    assert_eq!(
        levels(&flags),
        levels(&read_csv(&plain_day.join("flags.csv")))
    );
    // The report draft of the REPORTABLE account lists its candidates, as candidates.
    let report =
        std::fs::read_to_string(day.join("reports/420000000002/ai-training-report.md")).unwrap();
    for text in [
        "### Sanctions screening candidates",
        "Candidates for review, not matches",
        "KARIMI, Mohammad Reza",
        "| SDN | 36001 |",
        "VOLKOV, Sergei Nikolaevich",
        "OWNED_50PCT_LISTED",
        "2026-11-25",
    ] {
        assert!(report.contains(text), "{text} not in the report:\n{report}");
    }
    let html =
        std::fs::read_to_string(day.join("reports/420000000002/ai-training-report.html")).unwrap();
    assert!(html.contains("<h3>Sanctions screening candidates</h3>"));
    let plain_report =
        std::fs::read_to_string(plain_day.join("reports/420000000002/ai-training-report.md"))
            .unwrap();
    assert!(!plain_report.contains("Sanctions screening"));
    // The manifest records the snapshot.
    let m = manifest_of(&dir.path().join("out"));
    let s = &m["screening"];
    assert_eq!(s["snapshot_date"], "2026-11-25");
    assert_eq!(s["snapshot_date_source"], "screening.downloaded_on");
    assert_eq!(s["files"].as_array().unwrap().len(), 4);
    assert_eq!(s["files"][1]["sha256"].as_str().unwrap().len(), 64);
    assert!(manifest_of(&plain.path().join("out"))
        .get("screening")
        .is_none());
    assert!(m["outputs"].to_string().contains("screening.csv"));
}

#[test]
fn a_stale_snapshot_is_exit_4_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        Some(&section(
            &fixtures(),
            "downloaded_on = \"2026-10-01\"\nmax_age_days = 30\n",
        )),
    );
    let o = run(dir.path(), &cfg, &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "screening lists' snapshot (screening.downloaded_on 2026-10-01) is 56 days older"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("out/2026-11-26").exists());
    let o = run(dir.path(), &cfg, &["--allow-stale"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest_of(&dir.path().join("out"));
    assert!(m["warnings"]
        .to_string()
        .contains("screening lists' snapshot"));
    // Without downloaded_on the oldest file's modification time is the snapshot's date.
    let copy = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = fixtures()
        .iter()
        .map(|f| {
            let to = copy.path().join(f.file_name().unwrap());
            std::fs::copy(f, &to).unwrap();
            to
        })
        .collect();
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000); // 2026-05-28
    std::fs::File::options()
        .write(true)
        .open(&files[2])
        .unwrap()
        .set_modified(old)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), Some(&section(&files, "")));
    let o = run(dir.path(), &cfg, &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("oldest file's modification time 2026-05-28"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_malformed_or_unknown_list_file_is_exit_3_naming_file_and_line() {
    let lists = tempfile::tempdir().unwrap();
    let sdn = lists.path().join("sdn.csv");
    let good = std::fs::read_to_string(repo().join("tests/cases/screening/sdn.csv")).unwrap();
    std::fs::write(&sdn, good.replace("\x1a", "") + "36009,\"SHORT ROW\"\r\n").unwrap();
    let unknown = lists.path().join("watchlist.csv");
    std::fs::write(&unknown, "1,Someone\n").unwrap();
    let bad_ent = lists.path().join("alt.csv");
    std::fs::write(&bad_ent, "36999,5009,\"a.k.a.\",\"NOBODY\",-0- \r\n").unwrap();
    for (files, expect) in [
        (
            vec![sdn.clone()],
            "sdn.csv, row 5: 2 fields, sdn.csv has 12",
        ),
        (
            vec![unknown.clone()],
            "watchlist.csv: not a screening list cipwatch reads",
        ),
        (
            vec![
                repo().join("tests/cases/screening/sdn.csv"),
                bad_ent.clone(),
            ],
            "alt.csv, row 1: ent_num 36999 has no row in the primary file",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(
            dir.path(),
            Some(&section(&files, "downloaded_on = \"2026-11-25\"\n")),
        );
        let o = run(dir.path(), &cfg, &[]);
        assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{expect}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
}
