//! Generated evasion scenarios under the unmodified rule (1e26 operations): each pattern of splitting
//! or structuring a large run must be caught with its reason code, and honest neighbours must not be
//! merged. Billing is one daily row per fleet (instance-hours of p5.48xlarge, 8 H100 each).

use crate::helpers::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const START: (i32, u32, u32) = (2026, 6, 1);

struct Customer {
    id: &'static str,
    card: &'static str,
    national_id: &'static str,
    address: &'static str,
    bank: &'static str,
    owner: &'static str,
    reseller: &'static str,
    ip: &'static str,
}

impl Customer {
    fn new(id: &'static str) -> Customer {
        Customer {
            id,
            card: "",
            national_id: "",
            address: "",
            bank: "",
            owner: "",
            reseller: "",
            ip: "",
        }
    }
}

/// A fleet of `instances` p5.48xlarge run by `account` in `zone` for each day in `days` (offsets
/// from START).
struct Fleet {
    account: &'static str,
    zone: &'static str,
    instances: u32,
    days: Vec<i64>,
}

fn day(offset: i64) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(START.0, START.1, START.2).unwrap()
        + chrono::Duration::days(offset)
}

/// Writes the inputs and a configuration under the unmodified nprm-2024 profile; runs cipwatch and
/// returns the published run folder.
fn run(dir: &Path, customers: &[Customer], fleets: &[Fleet]) -> PathBuf {
    run_with(dir, customers, fleets, "")
}

/// As `run`, with `extra` billing lines (in the same columns) appended.
fn run_with(dir: &Path, customers: &[Customer], fleets: &[Fleet], extra: &str) -> PathBuf {
    let mut billing = String::from(
        "BillingAccountId,SubAccountId,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ConsumedQuantity,ConsumedUnit,BilledCost,BillingCurrency,AvailabilityZone,ResourceId,SkuPriceDetails\n",
    );
    for f in fleets {
        for d in &f.days {
            let hours = f.instances * 24;
            billing += &format!(
                "{},{}-main,{}T00:00:00Z,{}T00:00:00Z,Usage,{hours},Hours,{},USD,{},fleet-{}-{},\"{{\"\"InstanceType\"\":\"\"p5.48xlarge\"\"}}\"\n",
                f.account, f.account, day(*d), day(*d + 1), hours as f64 * 98.32, f.zone, f.account, f.zone
            );
        }
    }
    billing += extra;
    let mut cust = String::from("account_id,legal_name,customer_type,country,address,email,phone,payment_method,payment_identifier,payment_source,national_id,us_person,verification_status,verification_method,verified_at,opened_at,closed_at,reseller_id\n");
    let mut owners = String::from(
        "account_id,name,country,ownership_pct,substantial_control,verification_status\n",
    );
    let mut access = String::from("account_id,ip_address,accessed_at,action\n");
    for c in customers {
        cust += &format!(
            "{},Customer {},entity,SG,\"{}\",ops@{}.example,+65 6000 0000,card,{},\"{}\",{},foreign,verified,documentary,2026-05-01T00:00:00Z,2026-04-30T00:00:00Z,,{}\n",
            c.id, c.id, c.address, c.id, c.card, c.bank, c.national_id, c.reseller
        );
        if !c.owner.is_empty() {
            owners += &format!("{},{},SG,60,true,verified\n", c.id, c.owner);
        }
        let ip = if c.ip.is_empty() {
            format!(
                "198.51.100.{}",
                c.id.len() + c.id.bytes().map(|b| b as usize).sum::<usize>() % 200
            )
        } else {
            c.ip.to_string()
        };
        let last = fleets
            .iter()
            .flat_map(|f| f.days.iter())
            .max()
            .copied()
            .unwrap_or(0);
        access += &format!("{},{ip},{}T09:00:00Z,admin\n", c.id, day(last));
    }
    let resellers = "reseller_id,name,country,cip_on_file,cip_attested_at\nRS-X,Offshore Compute Ltd,VG,false,\n";
    for (name, text) in [
        ("billing.csv", billing),
        ("customers.csv", cust),
        ("owners.csv", owners),
        ("access.csv", access),
        ("resellers.csv", resellers.to_string()),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let config = "profile = \"nprm-2024\"\n[inputs]\nbilling = \"billing.csv\"\ncustomers = \"customers.csv\"\nbeneficial_owners = \"owners.csv\"\naccess_log = \"access.csv\"\nresellers = \"resellers.csv\"\n[output]\ndir = \"out\"\n[provider]\nlegal_name = \"P\"\naddress = \"A\"\ncip_contact = \"C\"\n".to_string();
    std::fs::write(dir.join("cipwatch.toml"), config).unwrap();
    let o = cipwatch_env(
        &[
            "-q",
            "run",
            "--config",
            dir.join("cipwatch.toml").to_str().unwrap(),
        ],
        &[("CIPWATCH_LINK_KEY", "evasion-tests-secret-link-key")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let last = fleets
        .iter()
        .flat_map(|f| f.days.iter())
        .max()
        .copied()
        .unwrap();
    dir.join("out").join(day(last).to_string())
}

fn days(from: i64, count: i64) -> Vec<i64> {
    (from..from + count).collect()
}

/// Asserts that every account of `ids` is WATCH in an entity of `size` with each of `codes`.
fn assert_caught(run: &Path, ids: &[&str], size: &str, codes: &[&str]) {
    for id in ids {
        let (level, why, entity_size) = reasons(run, id);
        assert_eq!(
            (level.as_str(), entity_size.as_str()),
            ("WATCH", size),
            "{id}: {why}"
        );
        for code in codes {
            assert!(
                why.split(';').any(|c| c == *code),
                "{id}: {code} missing from {why}"
            );
        }
    }
}

/// A fleet in `zone` on each day of `days`.
fn fleet(account: &'static str, zone: &'static str, instances: u32, days: Vec<i64>) -> Fleet {
    Fleet {
        account,
        zone,
        instances,
        days,
    }
}

/// The link types of `entities.csv` (strong, weak). Every link reads `kind:Ln->account`: a type,
/// an opaque link id and the counterpart, never a hash or value (checked here too).
fn link_kinds(run: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let kinds = |column: &str| -> BTreeSet<String> {
        read_csv(&run.join("entities.csv"))
            .iter()
            .flat_map(|e| {
                e[column]
                    .split([';', '|'])
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .map(|link| {
                let (kind, rest) = link.split_once(':').expect("kind:Ln->account");
                let (id, _account) = rest.split_once("->").expect("kind:Ln->account");
                assert!(
                    id.starts_with('L') && id[1..].chars().all(|c| c.is_ascii_digit()),
                    "opaque link id, no hash: {link}"
                );
                kind.to_string()
            })
            .collect()
    };
    (kinds("strong_links"), kinds("weak_links"))
}

fn set(kinds: &[&str]) -> BTreeSet<String> {
    kinds.iter().map(|k| k.to_string()).collect()
}

fn reasons(run: &Path, account: &str) -> (String, String, String) {
    let flags = read_csv(&run.join("flags.csv"));
    let f = flag(&flags, account);
    (
        f["level"].clone(),
        f["reasons"].clone(),
        f["entity_size"].clone(),
    )
}

#[test]
fn a_run_split_over_four_accounts_sharing_a_card_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ["A-1", "A-2", "A-3", "A-4"];
    let customers: Vec<Customer> = ids
        .iter()
        .map(|id| Customer {
            card: "4111 1111 1111 1111",
            ..Customer::new(id)
        })
        .collect();
    // 4 x 1,253 p5.48xlarge (10,024 H100 each) for 100 days: about 3e25 each, 1.2e26 together.
    let fleets: Vec<Fleet> = ids
        .iter()
        .map(|id| fleet(id, "us-east-2b", 1253, days(0, 100)))
        .collect();
    let run = run(dir.path(), &customers, &fleets);
    assert_caught(
        &run,
        &ids,
        "4",
        &[
            "ENTITY_OPS_OVER_THRESHOLD",
            "SPLIT_ACROSS_ACCOUNTS",
            "SYNCHRONIZED_RUNS",
        ],
    );
    for id in ids {
        let (_, why, _) = reasons(&run, id);
        assert!(
            !why.split(';').any(|c| c == "OPS_OVER_THRESHOLD"),
            "no member crosses alone: {why}"
        );
    }
    let entities = read_csv(&run.join("entities.csv"));
    assert_eq!(entities.len(), 1);
    assert_eq!(entities[0]["members"], "A-1;A-2;A-3;A-4");
    assert_eq!(link_kinds(&run), (set(&["payment_instrument"]), set(&[])));
    let all = std::fs::read_to_string(run.join("entities.csv")).unwrap();
    assert!(
        !all.contains("4111"),
        "links show their type and counterpart, never the card number"
    );
}

#[test]
fn a_run_split_over_two_regions_through_a_shared_owner_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let customers = [
        Customer {
            owner: "Wei  Zhang",
            ..Customer::new("R-1")
        },
        Customer {
            owner: "WEI ZHANG",
            ..Customer::new("R-2")
        },
    ];
    let fleets = [
        fleet("R-1", "us-east-1a", 2507, days(0, 100)),
        fleet("R-2", "eu-west-1a", 2507, days(0, 100)),
    ];
    let run = run(dir.path(), &customers, &fleets);
    assert_caught(&run, &["R-1", "R-2"], "2", &["SPLIT_ACROSS_ACCOUNTS"]);
    assert_eq!(link_kinds(&run), (set(&["beneficial_owner"]), set(&[])));
    let (_, why, _) = reasons(&run, "R-1");
    assert!(
        !why.contains("SYNCHRONIZED_RUNS"),
        "different placements are not synchronised: {why}"
    );
}

#[test]
fn a_run_split_through_a_reseller_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let address = "Suite 9, 1 Harbour Road, Road Town, Tortola";
    let customers = [
        Customer {
            address,
            reseller: "RS-X",
            ..Customer::new("V-1")
        },
        Customer {
            address: "suite 9 1 HARBOUR ROAD road town tortola",
            reseller: "RS-X",
            ..Customer::new("V-2")
        },
    ];
    let fleets = [
        fleet("V-1", "us-west-2a", 2507, days(0, 100)),
        fleet("V-2", "us-west-2b", 2507, days(0, 100)),
    ];
    let run = run(dir.path(), &customers, &fleets);
    assert_caught(
        &run,
        &["V-1", "V-2"],
        "2",
        &["SPLIT_ACROSS_ACCOUNTS", "RESELLER_CIP_MISSING"],
    );
    assert_eq!(link_kinds(&run), (set(&["address"]), set(&[])));
}

#[test]
fn a_fleet_handed_over_between_accounts_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let customers = [
        Customer {
            national_id: "UEN-2020-77",
            ..Customer::new("H-1")
        },
        Customer {
            national_id: "uen202077",
            ..Customer::new("H-2")
        },
    ];
    // 3,500 p5.48xlarge for 60 days, then the same fleet for 60 more days under the other account.
    let fleets = [
        fleet("H-1", "us-east-2b", 3500, days(0, 60)),
        fleet("H-2", "us-east-2b", 3500, days(60, 60)),
    ];
    let run = run(dir.path(), &customers, &fleets);
    assert_caught(
        &run,
        &["H-1", "H-2"],
        "2",
        &["FLEET_HANDOVER", "SPLIT_ACROSS_ACCOUNTS"],
    );
    assert_eq!(link_kinds(&run), (set(&["national_id"]), set(&[])));
}

#[test]
fn sequential_bursts_are_caught_by_the_rate_test_before_the_total_crosses() {
    let dir = tempfile::tempdir().unwrap();
    let customers = [Customer::new("B-1")];
    // 9,000 p5.48xlarge in 10-day bursts with 5-day pauses: three bursts so far, about 6.5e25.
    let bursts: Vec<i64> = [0, 15, 30].iter().flat_map(|s| days(*s, 10)).collect();
    let fleets = [fleet("B-1", "us-east-2b", 9000, bursts)];
    let run = run(dir.path(), &customers, &fleets);
    let (level, why, _) = reasons(&run, "B-1");
    assert_eq!(level, "WATCH", "{why}");
    assert!(
        why.split(';').any(|c| c == "RATE_TEST")
            && !why.split(';').any(|c| c == "OPS_OVER_THRESHOLD"),
        "{why}"
    );
    let flags = read_csv(&run.join("flags.csv"));
    let est: f64 = flag(&flags, "B-1")["est_ops"].parse().unwrap();
    assert!(est < 1e26, "the total has not crossed yet: {est}");
}

#[test]
fn honest_neighbours_sharing_a_bank_and_a_cloud_ip_range_are_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let customers = [
        Customer {
            bank: "HSBC UK Bank plc",
            ip: "203.0.113.10",
            card: "4000 0566 5566 5556",
            ..Customer::new("N-1")
        },
        Customer {
            bank: "HSBC UK Bank plc",
            ip: "203.0.113.11",
            card: "5105 1051 0510 5100",
            ..Customer::new("N-2")
        },
    ];
    let fleets = [
        fleet("N-1", "us-east-2b", 1253, days(0, 100)),
        fleet("N-2", "us-east-2b", 1253, days(0, 100)),
    ];
    let run = run(dir.path(), &customers, &fleets);
    for id in ["N-1", "N-2"] {
        let (_, why, size) = reasons(&run, id);
        assert_eq!(size, "1", "{id} merged: {why}");
        for code in ["SPLIT_ACROSS_ACCOUNTS", "SYNCHRONIZED_RUNS", "ENTITY_"] {
            assert!(!why.contains(code), "{id}: {why}");
        }
        assert!(
            why.contains("WEAK_LINK_REVIEW"),
            "the shared bank is a weak link, for review only: {why}"
        );
    }
    assert_eq!(link_kinds(&run), (set(&[]), set(&["payment_source"])));
}

#[test]
fn low_billed_egress_is_a_training_signal_and_heavy_egress_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let customers = [Customer::new("T-1"), Customer::new("S-1")];
    let fleets = [
        fleet("T-1", "us-east-2b", 100, days(0, 10)),
        fleet("S-1", "us-east-2c", 100, days(0, 10)),
    ];
    // 192,000 accelerator-hours each: T-1 sends 50 GB a day out, S-1 (serving) 40 TB a day.
    let mut extra = String::new();
    for (account, gb) in [("T-1", 50.0), ("S-1", 40000.0)] {
        for d in 0..10 {
            extra += &format!(
                "{account},{account}-main,{}T00:00:00Z,{}T00:00:00Z,Usage,{gb},GB,{},USD,,nat-{account},\"{{\"\"Description\"\":\"\"Data Transfer Out to Internet\"\"}}\"\n",
                day(d), day(d + 1), gb * 0.09
            );
        }
    }
    let run = run_with(dir.path(), &customers, &fleets, &extra);
    let runs = read_csv(&run.join("training_runs.csv"));
    let reasons =
        |a: &str| runs.iter().find(|r| r["account_id"] == a).unwrap()["class_reasons"].clone();
    assert!(reasons("T-1").contains("LOW_EGRESS"), "{}", reasons("T-1"));
    assert!(!reasons("S-1").contains("LOW_EGRESS"), "{}", reasons("S-1"));
}

#[test]
fn reserved_capacity_is_a_training_signal() {
    let dir = tempfile::tempdir().unwrap();
    let mut billing = String::from("BillingAccountId,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ConsumedQuantity,ConsumedUnit,AvailabilityZone,ResourceId,SkuPriceDetails,CapacityReservationId\n");
    for (account, reservation) in [("C-1", "cr-0a1b2c"), ("C-2", "")] {
        for d in 0..10 {
            billing += &format!(
                "{account},{}T00:00:00Z,{}T00:00:00Z,Usage,2400,Hours,us-east-2b,fleet-{account},\"{{\"\"InstanceType\"\":\"\"p5.48xlarge\"\"}}\",{reservation}\n",
                day(d),
                day(d + 1)
            );
        }
    }
    std::fs::write(dir.path().join("billing.csv"), billing).unwrap();
    let cfg = config_in(dir.path(), &[("billing", "billing.csv")]);
    let o = cipwatch(&[
        "-q",
        "run",
        "--allow-stale",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = read_csv(
        &dir.path()
            .join("out")
            .join(day(9).to_string())
            .join("training_runs.csv"),
    );
    let reasons =
        |a: &str| runs.iter().find(|r| r["account_id"] == a).unwrap()["class_reasons"].clone();
    assert!(reasons("C-1").contains("COMMITTED"), "{}", reasons("C-1"));
    assert!(!reasons("C-2").contains("COMMITTED"), "{}", reasons("C-2"));
}
