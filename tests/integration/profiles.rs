//! Each embedded rule profile on the samples: who is a subject, the levels, the deadline kind and
//! the document kind. The sample registry is given headquarters and ultimate-parent countries
//! (`headquarters_country`, `ultimate_parent_country`): a US-incorporated customer with a Chinese
//! (D:5) parent, a Japanese customer with a Macau parent, an individual in China, and a customer
//! with no headquarters on file (the worst case: in the groups).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::helpers::*;

const AS_OF: &str = "2026-11-26";

/// Headquarters and ultimate parent of each sample customer (`""`: not on file).
const HEADQUARTERS: &[(&str, &str, &str)] = &[
    ("310000000001", "US", ""),
    ("420000000002", "SG", ""),
    ("420000000003", "DE", ""),
    ("420000000004", "EE", ""),
    ("420000000005", "GB", ""),
    ("310000000006", "US", "CN"),
    ("420000000007", "JP", "MO"),
    ("310000000009", "US", ""),
    ("420000000010", "", ""),
    ("420000000011", "CN", ""),
    ("310000000012", "US", ""),
];

/// The sample customers with the two optional columns, written in `dir`.
fn customers_with_headquarters(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("data-samples/cip/customers.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!(
        "{},headquarters_country,ultimate_parent_country\n",
        lines.next().unwrap()
    );
    for line in lines {
        let id = line.split(',').next().unwrap();
        let (_, hq, parent) = HEADQUARTERS.iter().find(|(a, _, _)| *a == id).unwrap();
        out += &format!("{line},{hq},{parent}\n");
    }
    let path = dir.join("customers.csv");
    std::fs::write(&path, out).unwrap();
    path
}

/// Runs `profile` on the samples (customers with headquarters) with `overrides` in place of the
/// sample configuration's; returns the run folder.
fn run_profile(dir: &Path, profile: &str, overrides: &str) -> PathBuf {
    let customers = customers_with_headquarters(dir);
    let config = config_with(dir, &[("customers", customers.to_str().unwrap())]);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "profile = \"nprm-2024\"",
            &format!("profile = \"{profile}\""),
        )
        .replace(
            "[overrides]\ntraining_ops = 1e24\ncluster_peak_ops_per_s = 1e18\n",
            &format!("[overrides]\n{overrides}"),
        );
    assert!(text.contains(&format!("profile = \"{profile}\"")));
    std::fs::write(&config, text).unwrap();
    let o = cipwatch(&["run", "--config", config.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "{profile}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    dir.join("out").join(AS_OF)
}

/// account → (level, reasons, report_due_date).
fn levels(run: &Path) -> BTreeMap<String, (String, String, String)> {
    read_csv(&run.join("flags.csv"))
        .into_iter()
        .map(|r| {
            (
                r["account_id"].clone(),
                (
                    r["level"].clone(),
                    r["reasons"].clone(),
                    r["report_due_date"].clone(),
                ),
            )
        })
        .collect()
}

fn level(l: &BTreeMap<String, (String, String, String)>, account: &str) -> String {
    l[account].0.clone()
}

/// The default profile is unchanged by the new registry columns: foreign customers only, a
/// 15-day deadline, a filing.
#[test]
fn nprm_2024_foreign_customers_15_days_filing() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_profile(
        dir.path(),
        "nprm-2024",
        "training_ops = 1e24\ncluster_peak_ops_per_s = 1e18\n",
    );
    let l = levels(&run);
    assert_eq!(level(&l, "420000000002"), "REPORTABLE");
    assert_eq!(l["420000000002"].2, "2026-12-11");
    assert_eq!(l["310000000001"].1, "US_PERSON");
    assert_eq!(level(&l, "310000000006"), "CLEAR");
    let report =
        std::fs::read_to_string(run.join("reports/420000000002/ai-training-report.md")).unwrap();
    assert!(report.contains("# Report of a transaction that could train a large AI model"));
    assert!(report.contains("15 days after the knowledge date"));
    assert!(report.contains("## 2. The foreign person"));
    // The NPRM has an annual CIP certification: it is drafted.
    assert!(run.join("certification/cip-certification.md").is_file());
}

/// BIS's 702.7 proposal: every account is a subject (no foreign test), the 300 Gbit/s cluster
/// test, and a quarterly deadline: knowledge on 2026-11-26 (Q4) is due 15 January 2027.
#[test]
fn bis_702_7_all_accounts_quarterly_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_profile(
        dir.path(),
        "bis-702.7-2024",
        "training_ops = 1e24\ncluster_peak_ops_per_s = 1e18\n",
    );
    let l = levels(&run);
    assert_eq!(level(&l, "420000000002"), "REPORTABLE");
    assert_eq!(l["420000000002"].2, "2027-01-15");
    let report =
        std::fs::read_to_string(run.join("reports/420000000002/ai-training-report.md")).unwrap();
    assert!(
        report.contains("**2027-01-15**")
            && report.contains("15 days after the calendar quarter of the knowledge date ends"),
        "{report}"
    );
    assert!(
        !run.join("certification").exists(),
        "702.7 is a reporting rule without a CIP certification"
    );
    // No foreign test: a US customer meeting every number is flagged (WATCH: it has no
    // training-like run to make it REPORTABLE).
    let dir = tempfile::tempdir().unwrap();
    let run = run_profile(
        dir.path(),
        "bis-702.7-2024",
        "training_ops = 1e21\ncluster_peak_ops_per_s = 1e15\ninterconnect_gbps = 10.0\n",
    );
    let l = levels(&run);
    assert_eq!(
        level(&l, "310000000001"),
        "WATCH",
        "{:?}",
        l["310000000001"]
    );
    assert!(
        l["310000000001"].1.starts_with(
            "US_PERSON;OPS_OVER_THRESHOLD;CLUSTER_PEAK_MET;INTERCONNECT_MET;LOW_CONFIDENCE_CLASS"
        ),
        "{:?}",
        l["310000000001"]
    );
}

/// BIS's May 2025 guidance: subjects are customers headquartered (or whose ultimate parent is) in
/// D:5 or Macau, or with no headquarters on file; no compute floor, training-likeness decides;
/// a red-flag memo with no deadline.
#[test]
fn bis_d5_guidance_country_groups_no_floor_memo() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_profile(dir.path(), "bis-d5-guidance-2025", "");
    let l = levels(&run);
    // A Japanese customer whose ultimate parent is in Macau, with a training-like run: the memo.
    assert_eq!(level(&l, "420000000007"), "REPORTABLE");
    assert!(
        l["420000000007"].1.starts_with("PARENT_IN_GROUP;"),
        "{:?}",
        l["420000000007"]
    );
    assert_eq!(l["420000000007"].2, "", "no deadline");
    // A US-incorporated customer whose ultimate parent is in China (D:5), no training-like run.
    assert_eq!(level(&l, "310000000006"), "WATCH");
    assert!(l["310000000006"].1.contains("PARENT_IN_GROUP"));
    assert!(l["310000000006"].1.contains("LOW_CONFIDENCE_CLASS"));
    // Headquartered in China; no headquarters on file (worst case); no CIP record at all.
    assert_eq!(level(&l, "420000000011"), "WATCH");
    assert!(l["420000000011"].1.starts_with("HEADQUARTERS_IN_GROUP"));
    assert_eq!(level(&l, "420000000010"), "WATCH");
    assert!(l["420000000010"].1.starts_with("HEADQUARTERS_UNKNOWN"));
    assert_eq!(level(&l, "999000000008"), "WATCH");
    // Not subjects, whatever their compute: Singapore (the sample's largest run), US, EU, UK.
    for a in [
        "420000000002",
        "310000000001",
        "420000000003",
        "420000000004",
        "420000000005",
    ] {
        assert_eq!(level(&l, a), "CLEAR", "{a}");
        assert!(l[a].1.contains("NOT_IN_COUNTRY_GROUP"), "{a}");
    }
    let report =
        std::fs::read_to_string(run.join("reports/420000000007/ai-training-report.md")).unwrap();
    assert!(report.contains("# Red-flag memo"), "{report}");
    assert!(report.contains("- Addressee: Export compliance file (internal)"));
    assert!(report.contains("none: the rule profile sets no deadline"));
    // Guidance has no annual certification: none is drafted.
    assert!(!run.join("certification").exists());
    let manifest = manifest_of(&dir.path().join("out"));
    let cited = manifest["profile"]["country_groups"].as_str().unwrap();
    assert!(
        cited.contains("Supplement No. 1") && cited.contains("2025-05-13"),
        "{cited}"
    );
}

/// The EU AI Act's 1e25 FLOP threshold: every customer is a subject; an advisory letter to the
/// customer, due two weeks after knowledge.
#[test]
fn eu_ai_act_all_customers_advisory() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_profile(dir.path(), "eu-ai-act-gpai-2025", "training_ops = 1e23\n");
    let l = levels(&run);
    assert_eq!(level(&l, "420000000002"), "REPORTABLE");
    assert_eq!(l["420000000002"].2, "2026-12-10");
    // US customers are subjects too: near the (lowered) threshold.
    assert_eq!(level(&l, "310000000001"), "WATCH");
    assert!(l["310000000001"].1.contains("US_PERSON;"));
    assert_eq!(level(&l, "310000000006"), "WATCH");
    let report =
        std::fs::read_to_string(run.join("reports/420000000002/ai-training-report.md")).unwrap();
    assert!(
        report.contains("# Advisory letter to the customer"),
        "{report}"
    );
    assert!(report.contains("- Addressee: The customer, as the model's developer"));
    assert!(report.contains("14 days after the knowledge date"));
    assert!(
        !run.join("certification").exists(),
        "an advisory has no certification"
    );
    // Without the override, the sample's largest run (1.4e24) is WATCH with a provisional date.
    let dir = tempfile::tempdir().unwrap();
    let run = run_profile(dir.path(), "eu-ai-act-gpai-2025", "");
    let zephyr = flag(&read_csv(&run.join("flags.csv")), "420000000002");
    assert_eq!(zephyr["level"], "WATCH");
    assert_ne!(zephyr["provisional_due_date"], "");
}

/// A headquarters or parent country that is not an ISO code is quarantined like `country`.
#[test]
fn a_bad_headquarters_country_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let customers = customers_with_headquarters(dir.path());
    let text = std::fs::read_to_string(&customers)
        .unwrap()
        .replace(",US,CN\n", ",US,China\n");
    std::fs::write(&customers, text).unwrap();
    let config = config_with(dir.path(), &[("customers", customers.to_str().unwrap())]);
    let o = cipwatch(&["run", "--config", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = std::fs::read_to_string(
        dir.path()
            .join("out")
            .join(AS_OF)
            .join("quarantine/customers.csv"),
    )
    .unwrap();
    assert!(
        q.contains("bad_country") && q.contains("ultimate_parent_country"),
        "{q}"
    );
}
