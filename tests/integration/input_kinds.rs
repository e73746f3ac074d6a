//! Each kind of real-export quirk and of broken billing input (numbers, CSV
//! reader errors, implausible dates), in every format it applies to: FOCUS and the five native
//! formats, built here row by row from one GPU usage row per format, plus telemetry and the
//! registry where the kind applies to them.

use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// An account that is not in the sample registry (foreign, no CIP record): flagged when it uses
/// accelerators.
const ACCOUNT: &str = "777000000001";

/// One billing format: its header and one GPU usage row of `ACCOUNT`, and the columns that hold
/// each meaning (`None` where the format has no such column).
pub struct Fmt {
    pub name: &'static str,
    cells: Vec<(&'static str, &'static str)>,
    account: &'static str,
    start: &'static str,
    end: Option<&'static str>,
    line_type: Option<&'static str>,
    quantity: &'static str,
    sku: &'static str,
    /// Accelerator-hours of the default row.
    pub hours: f64,
}

impl Fmt {
    /// The default row with some columns replaced.
    pub fn row(&self, set: &[(&str, &str)]) -> Vec<String> {
        self.cells
            .iter()
            .map(|(k, v)| {
                set.iter()
                    .find(|(c, _)| c == k)
                    .map_or(v.to_string(), |(_, s)| s.to_string())
            })
            .collect()
    }

    fn header(&self) -> Vec<&str> {
        self.cells.iter().map(|(k, _)| *k).collect()
    }

    /// Writes the rows as `<name>.csv` in `dir`.
    pub fn write(&self, dir: &Path, rows: &[Vec<String>]) -> PathBuf {
        let rows: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect();
        write_csv(dir, &format!("{}.csv", self.name), &self.header(), &rows)
    }
}

pub fn formats() -> Vec<Fmt> {
    vec![
        Fmt {
            name: "focus",
            cells: vec![
                ("BillingAccountId", ACCOUNT),
                ("ChargePeriodStart", "2026-11-20T00:00:00Z"),
                ("ChargePeriodEnd", "2026-11-20T10:00:00Z"),
                ("ChargeCategory", "Usage"),
                ("ChargeDescription", "p5.48xlarge Instance Hour"),
                ("ConsumedQuantity", "10"),
                ("ConsumedUnit", "Hours"),
                ("BilledCost", "983.2"),
                ("BillingCurrency", "USD"),
                ("ResourceId", "i-0001"),
                ("x_InstanceType", "p5.48xlarge"),
                ("SkuPriceDetails", ""),
                ("CommitmentDiscountStatus", ""),
            ],
            account: "BillingAccountId",
            start: "ChargePeriodStart",
            end: Some("ChargePeriodEnd"),
            line_type: Some("ChargeCategory"),
            quantity: "ConsumedQuantity",
            sku: "ChargeDescription",
            hours: 80.0,
        },
        Fmt {
            name: "aws-cur",
            cells: vec![
                ("identity/LineItemId", ""),
                ("bill/PayerAccountId", ACCOUNT),
                ("lineItem/UsageAccountId", "222222222222"),
                ("lineItem/LineItemType", "Usage"),
                ("lineItem/UsageStartDate", "2026-11-20T00:00:00Z"),
                ("lineItem/UsageEndDate", "2026-11-20T10:00:00Z"),
                ("lineItem/UsageType", "USE2-BoxUsage:p5.48xlarge"),
                ("lineItem/UsageAmount", "10"),
                ("pricing/unit", "Hrs"),
                (
                    "lineItem/LineItemDescription",
                    "$98.32 per On Demand Linux p5.48xlarge Instance Hour",
                ),
                ("lineItem/UnblendedCost", "983.2"),
                ("lineItem/CurrencyCode", "USD"),
                ("lineItem/AvailabilityZone", "us-east-2b"),
                ("lineItem/ResourceId", "i-0001"),
            ],
            account: "bill/PayerAccountId",
            start: "lineItem/UsageStartDate",
            end: Some("lineItem/UsageEndDate"),
            line_type: Some("lineItem/LineItemType"),
            quantity: "lineItem/UsageAmount",
            sku: "lineItem/LineItemDescription",
            hours: 80.0,
        },
        Fmt {
            name: "aws-cur2",
            cells: vec![
                ("identity_line_item_id", ""),
                ("bill_payer_account_id", ACCOUNT),
                ("line_item_usage_account_id", "222222222222"),
                ("line_item_line_item_type", "Usage"),
                ("line_item_usage_type", "USE2-BoxUsage:p5.48xlarge"),
                ("line_item_usage_start_date", "2026-11-20 00:00:00"),
                ("line_item_usage_end_date", "2026-11-20 10:00:00"),
                ("product_instance_type", "p5.48xlarge"),
                ("line_item_usage_amount", "10"),
                ("pricing_unit", "Hrs"),
                (
                    "line_item_line_item_description",
                    "$98.32 per On Demand Linux p5.48xlarge Instance Hour",
                ),
                ("line_item_unblended_cost", "983.2"),
                ("line_item_currency_code", "USD"),
                ("line_item_resource_id", "i-0001"),
            ],
            account: "bill_payer_account_id",
            start: "line_item_usage_start_date",
            end: Some("line_item_usage_end_date"),
            line_type: Some("line_item_line_item_type"),
            quantity: "line_item_usage_amount",
            sku: "line_item_line_item_description",
            hours: 80.0,
        },
        Fmt {
            name: "azure",
            cells: vec![
                ("BillingAccountId", ACCOUNT),
                ("SubscriptionId", "e18e1552-c6dd-45d1-973c-999999999999"),
                ("Date", "11/20/2026"),
                ("MeterName", "ND96isr H100 v5"),
                ("ChargeType", "Usage"),
                ("UnitOfMeasure", "1 Hour"),
                ("Quantity", "24"),
                ("CostInBillingCurrency", "2359.68"),
                ("BillingCurrencyCode", "USD"),
                (
                    "AdditionalInfo",
                    r#"{"ServiceType":"Standard_ND96isr_H100_v5","VCPUs":96}"#,
                ),
                ("ResourceId", "/subscriptions/x/vm-1"),
            ],
            account: "BillingAccountId",
            start: "Date",
            end: None,
            line_type: Some("ChargeType"),
            quantity: "Quantity",
            sku: "MeterName",
            hours: 192.0,
        },
        Fmt {
            name: "gcp",
            cells: vec![
                ("billing_account_id", ACCOUNT),
                ("project.id", "frontier-lab"),
                ("usage_start_time", "2026-11-20T00:00:00Z"),
                ("usage_end_time", "2026-11-20T10:00:00Z"),
                ("cost_type", "regular"),
                (
                    "sku.description",
                    "Nvidia H100 80GB GPU running in Americas",
                ),
                ("usage.amount_in_pricing_units", "80"),
                ("usage.pricing_unit", "hour"),
                ("cost", "880.0"),
                ("currency", "USD"),
                (
                    "system_labels",
                    r#"[{"key":"compute.googleapis.com/machine_spec","value":"a3-highgpu-8g"}]"#,
                ),
                ("location.zone", "us-central1-a"),
                ("resource.name", "vm-a3-01"),
            ],
            account: "billing_account_id",
            start: "usage_start_time",
            end: Some("usage_end_time"),
            line_type: Some("cost_type"),
            quantity: "usage.amount_in_pricing_units",
            sku: "sku.description",
            hours: 80.0,
        },
        Fmt {
            name: "oci",
            cells: vec![
                ("lineItem/tenantId", "ocid1.tenancy.oc1..aaaa"),
                ("lineItem/intervalUsageStart", "2026-11-20T00:00Z"),
                ("lineItem/intervalUsageEnd", "2026-11-20T08:00Z"),
                ("cost/subscriptionId", ACCOUNT),
                ("cost/productSku", "B98415"),
                ("product/Description", "Compute - GPU - BM.GPU.H100.8"),
                ("usage/billedQuantity", "64"),
                ("cost/skuUnitDescription", "GPU Per Hour"),
                ("cost/myCost", "640.0"),
                ("cost/currencyCode", "USD"),
                ("lineItem/isCorrection", "false"),
                ("product/resourceId", "ocid1.instance.oc1..cccc"),
            ],
            account: "cost/subscriptionId",
            start: "lineItem/intervalUsageStart",
            end: Some("lineItem/intervalUsageEnd"),
            line_type: None,
            quantity: "usage/billedQuantity",
            sku: "product/Description",
            hours: 64.0,
        },
    ]
}

fn fmt(name: &str) -> Fmt {
    formats().into_iter().find(|f| f.name == name).unwrap()
}

/// Runs the billing file `billing` (telemetry optional) with the sample registry.
fn run(dir: &Path, billing: &Path, telemetry: Option<&Path>, extra: &[&str]) -> Output {
    let cfg = billing_config(dir, billing, telemetry);
    let mut args = vec![
        "-q",
        "run",
        "--allow-stale",
        "--config",
        cfg.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    cipwatch(&args)
}

/// Runs and returns the run folder, asserting exit 0 and that read = used + quarantined.
fn run_ok(dir: &Path, billing: &Path, telemetry: Option<&Path>) -> PathBuf {
    let o = run(dir, billing, telemetry, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = manifest_of(&dir.join("out"));
    for (input, c) in m["inputs"].as_object().unwrap() {
        let rows = &c["rows"];
        if rows.is_null() {
            continue; // an input not configured (telemetry)
        }
        assert_eq!(
            rows["rows_read"].as_u64(),
            Some(rows["rows_used"].as_u64().unwrap() + rows["rows_quarantined"].as_u64().unwrap()),
            "{input}"
        );
    }
    published(&dir.join("out"))
}

fn quarantine(day: &Path, input: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    read_csv(&day.join(format!("quarantine/{input}.csv")))
}

fn rules(day: &Path, input: &str) -> Vec<String> {
    quarantine(day, input)
        .into_iter()
        .map(|r| r["rule"].clone())
        .collect()
}

// --- kind 1: invisible characters in keys ---------------------------------------------

#[test]
fn invisible_characters_in_billing_keys_are_removed_in_every_format() {
    for f in formats() {
        let dir = tempfile::tempdir().unwrap();
        let bom = format!("\u{feff}{ACCOUNT}");
        let zw = format!("{}\u{200b}{}\u{a0}", &ACCOUNT[..3], &ACCOUNT[3..]);
        let bidi = format!("{ACCOUNT}\u{202e}");
        let rows = [
            f.row(&[]),
            f.row(&[(f.account, &bom)]),
            f.row(&[(f.account, &zw)]),
            f.row(&[(f.account, &bidi)]),
        ];
        let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
        let flags = read_csv(&day.join("flags.csv"));
        assert_eq!(flags.len(), 1, "{}: one account: {flags:?}", f.name);
        assert_eq!(hours_of(&day, ACCOUNT), 3.0 * f.hours, "{}", f.name);
        assert_eq!(rules(&day, "billing"), ["bad_key"], "{}", f.name);
    }
}

#[test]
fn invisible_characters_in_registry_and_telemetry_keys_are_removed_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let cip = repo().join("data-samples/cip");
    // The REPORTABLE sample account's customer record, with a BOM and a zero-width space in its
    // key, must still be its record; an access-log row with a bidi control in its key is
    // quarantined.
    let customers = std::fs::read_to_string(cip.join("customers.csv"))
        .unwrap()
        .replacen("\n420000000002,", "\n\u{feff}4200\u{200b}00000002,", 1);
    std::fs::write(dir.path().join("customers.csv"), customers).unwrap();
    let access = std::fs::read_to_string(cip.join("access_log.csv"))
        .unwrap()
        .replacen("\n420000000007,", "\n420000000007\u{2066},", 1);
    std::fs::write(dir.path().join("access_log.csv"), access).unwrap();
    let tel_path = repo().join("data-samples/telemetry/accelerator-usage.csv");
    let telemetry = std::fs::read_to_string(&tel_path).unwrap();
    let mut lines: Vec<String> = telemetry.lines().map(String::from).collect();
    lines[1] = format!("\u{200b}{}", lines[1]);
    lines[2] = lines[2].replacen(',', "\u{202e},", 1);
    std::fs::write(dir.path().join("telemetry.csv"), lines.join("\n") + "\n").unwrap();
    let cfg = config_in(
        dir.path(),
        &[
            ("customers", "customers.csv"),
            ("access_log", "access_log.csv"),
            ("telemetry", "telemetry.csv"),
        ],
    );
    let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let day = published(&dir.path().join("out"));
    let f = flag(&read_csv(&day.join("flags.csv")), "420000000002");
    assert_ne!(f["foreign_basis"], "no_cip_record", "{f:?}");
    assert_eq!(f["level"], "REPORTABLE");
    let base = tempfile::tempdir().unwrap();
    run_samples(base.path(), &[]);
    let base = published(base.path());
    assert_eq!(rules(&day, "customers"), rules(&base, "customers"));
    let added = |input: &str| {
        let before = quarantine(&base, input);
        quarantine(&day, input)
            .into_iter()
            .filter(|r| !before.iter().any(|b| b["row"] == r["row"]))
            .map(|r| format!("{}:{}", r["row"], r["rule"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(added("access_log"), ["6:bad_key"]);
    assert_eq!(added("telemetry"), ["3:bad_key"]);
}

// --- kind 2: one timestamp parser ----------------------------------------------------

#[test]
fn odd_timestamp_forms_parse_in_every_format_and_others_are_bad_timestamp() {
    for f in formats() {
        let dir = tempfile::tempdir().unwrap();
        // The same interval in other spellings: a numeric offset, a " UTC" suffix, no seconds.
        let (start, end) = match f.end {
            Some(_) => ("2026-11-19T16:00:00-0800", "2026-11-20 10:00 UTC"),
            None => ("2026-11-20", ""),
        };
        let mut set = vec![(f.start, start)];
        if let Some(e) = f.end {
            set.push((e, end));
        }
        let bad = [(f.start, "20.11.2026")];
        let rows = [f.row(&[]), f.row(&set), f.row(&bad)];
        let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
        assert_eq!(hours_of(&day, ACCOUNT), 2.0 * f.hours, "{}", f.name);
        let q = quarantine(&day, "billing");
        assert_eq!(q.len(), 1, "{}: {q:?}", f.name);
        assert_eq!(q[0]["rule"], "bad_timestamp", "{}", f.name);
        assert!(
            q[0]["reason"].contains("ChargePeriodStart"),
            "{}",
            q[0]["reason"]
        );
        assert_eq!(q[0]["row"], "4", "{}", f.name);
    }
}

#[test]
fn zone_aware_parquet_timestamps_are_converted_to_utc() {
    use polars::prelude::*;
    // 2026-11-20 00:00 and 10:00 UTC, stored as instants of a UTC zone (as pyarrow and Spark write
    // FOCUS Parquet) and of a New York zone.
    let start_us = 1_795_132_800_000_000i64;
    let text = |name: &str, v: &str| Column::new(name.into(), &[v]);
    for zone_name in ["UTC", "America/New_York"] {
        let dir = tempfile::tempdir().unwrap();
        let zone = TimeZone::opt_try_new(Some(zone_name)).unwrap();
        let ts = |name: &str, v: i64| {
            Int64Chunked::new(name.into(), &[v])
                .into_datetime(TimeUnit::Microseconds, zone.clone())
                .into_series()
                .into_column()
        };
        let mut df = DataFrame::new(
            1,
            vec![
                text("BillingAccountId", ACCOUNT),
                ts("ChargePeriodStart", start_us),
                ts("ChargePeriodEnd", start_us + 10 * 3_600_000_000),
                text("ChargeCategory", "Usage"),
                Column::new("ConsumedQuantity".into(), &[10.0f64]),
                text("ConsumedUnit", "Hours"),
                text("x_InstanceType", "p5.48xlarge"),
            ],
        )
        .unwrap();
        let path = dir.path().join("focus.parquet");
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        let day = run_ok(dir.path(), &path, None);
        assert!(
            day.ends_with("2026-11-20"),
            "{zone_name}: {}",
            day.display()
        );
        assert_eq!(hours_of(&day, ACCOUNT), 80.0, "{zone_name}");
        let f = flag(&read_csv(&day.join("flags.csv")), ACCOUNT);
        assert!(
            f["first_usage"].starts_with("2026-11-20"),
            "{zone_name}: {f:?}"
        );
        assert!(
            f["last_usage"].starts_with("2026-11-20T10"),
            "{zone_name}: {f:?}"
        );
    }

    // A native (GCP) Parquet export with millisecond timestamps of a Tokyo zone.
    let tokyo = TimeZone::opt_try_new(Some("Asia/Tokyo")).unwrap();
    let ms = |name: &str, v: i64| {
        Int64Chunked::new(name.into(), &[v / 1_000])
            .into_datetime(TimeUnit::Milliseconds, tokyo.clone())
            .into_series()
            .into_column()
    };
    let gcp = fmt("gcp");
    let mut columns: Vec<Column> = gcp
        .header()
        .iter()
        .zip(gcp.row(&[]))
        .filter(|(h, _)| !h.starts_with("usage_"))
        .map(|(h, v)| text(h, &v))
        .collect();
    columns.push(ms("usage_start_time", start_us));
    columns.push(ms("usage_end_time", start_us + 10 * 3_600_000_000));
    let mut df = DataFrame::new(1, columns).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gcp.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let day = run_ok(dir.path(), &path, None);
    assert!(day.ends_with("2026-11-20"), "{}", day.display());
    assert_eq!(hours_of(&day, ACCOUNT), gcp.hours);
}

#[test]
fn registry_and_telemetry_timestamps_use_the_same_parser() {
    let dir = tempfile::tempdir().unwrap();
    let cip = repo().join("data-samples/cip");
    let customers = std::fs::read_to_string(cip.join("customers.csv")).unwrap();
    // Rewrite every ISO timestamp of the customers file as "YYYY-MM-DD HH:MM:SS UTC".
    let re = regex::Regex::new(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})Z").unwrap();
    let rewritten = re.replace_all(&customers, "${1} ${2} UTC").to_string();
    assert_ne!(rewritten, customers, "the sample has ISO timestamps");
    std::fs::write(dir.path().join("customers.csv"), rewritten).unwrap();
    let tel = std::fs::read_to_string(repo().join("data-samples/telemetry/accelerator-usage.csv"))
        .unwrap();
    let re_t = regex::Regex::new(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}):00Z").unwrap();
    std::fs::write(
        dir.path().join("telemetry.csv"),
        re_t.replace_all(&tel, "${1}T${2}+00:00").to_string(),
    )
    .unwrap();
    let cfg = config_in(
        dir.path(),
        &[
            ("customers", "customers.csv"),
            ("telemetry", "telemetry.csv"),
        ],
    );
    let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let day = published(&dir.path().join("out"));
    let baseline = tempfile::tempdir().unwrap();
    run_samples(baseline.path(), &[]);
    let base_day = published(baseline.path());
    assert_eq!(
        rules(&day, "customers"),
        rules(&base_day, "customers"),
        "no new quarantine"
    );
    assert_eq!(rules(&day, "telemetry"), rules(&base_day, "telemetry"));
    assert_eq!(
        std::fs::read(day.join("flags.csv")).unwrap(),
        std::fs::read(base_day.join("flags.csv")).unwrap(),
        "the same flags as the ISO spelling"
    );
}

// --- kind 4: native line types count usage once --------------------------------------

#[test]
fn native_line_types_count_usage_once_in_every_format() {
    // (format, [(line type, counted?)])
    let cases: &[(&str, &[(&str, bool)])] = &[
        (
            "aws-cur",
            &[
                ("Usage", true),
                ("DiscountedUsage", true),
                ("SavingsPlanCoveredUsage", true),
                ("SavingsPlanNegation", false),
                ("SavingsPlanRecurringFee", false),
                ("SavingsPlanUpfrontFee", false),
                ("RIFee", false),
                ("Credit", false),
                ("Refund", false),
                ("Tax", false),
                ("EdpDiscount", false),
            ],
        ),
        (
            "aws-cur2",
            &[
                ("Usage", true),
                ("DiscountedUsage", true),
                ("SavingsPlanCoveredUsage", true),
                ("SavingsPlanNegation", false),
                ("SavingsPlanRecurringFee", false),
                ("RIFee", false),
                ("Credit", false),
                ("Refund", false),
                ("Tax", false),
            ],
        ),
        (
            "azure",
            &[
                ("Usage", true),
                ("Purchase", false),
                ("Refund", false),
                ("UnusedReservation", false),
                ("UnusedSavingsPlan", false),
                ("Tax", false),
            ],
        ),
        (
            "gcp",
            &[
                ("regular", true),
                ("tax", false),
                ("credit", false),
                // A correction of usage billed earlier: its quantity is netted (here positive).
                ("adjustment", true),
                ("rounding_error", false),
            ],
        ),
        (
            "focus",
            &[
                ("Usage", true),
                ("Purchase", false),
                ("Credit", false),
                ("Tax", false),
            ],
        ),
    ];
    for (name, lines) in cases {
        let f = fmt(name);
        let column = f.line_type.unwrap();
        let rows: Vec<Vec<String>> = lines.iter().map(|(t, _)| f.row(&[(column, t)])).collect();
        let dir = tempfile::tempdir().unwrap();
        let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
        let counted = lines.iter().filter(|(_, c)| *c).count() as f64;
        assert_eq!(hours_of(&day, ACCOUNT), counted * f.hours, "{name}");
        assert!(
            rules(&day, "billing").is_empty(),
            "{name}: {:?}",
            rules(&day, "billing")
        );
        // The manifest's totals still reconcile every row with the file.
        let m = manifest_of(&dir.path().join("out"));
        let totals = &m["inputs"]["billing"]["totals_by_currency"][0];
        assert_eq!(totals["rows"].as_u64(), Some(lines.len() as u64), "{name}");
    }
}

#[test]
fn aws_unused_capacity_reservation_lines_are_not_usage() {
    // The idle instances of an On-Demand Capacity Reservation are Usage lines whose usage type is
    // UnusedBox/UnusedDed: reserved, not run, like Azure UnusedReservation.
    for (name, usage_type) in [
        ("aws-cur", "lineItem/UsageType"),
        ("aws-cur2", "line_item_usage_type"),
    ] {
        let f = fmt(name);
        let rows = [
            f.row(&[]),
            f.row(&[(usage_type, "USE2-UnusedBox:p5.48xlarge")]),
            f.row(&[(usage_type, "UnusedDed:p5.48xlarge")]),
        ];
        let dir = tempfile::tempdir().unwrap();
        let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
        assert_eq!(hours_of(&day, ACCOUNT), f.hours, "{name}");
        assert!(rules(&day, "billing").is_empty(), "{name}");
    }
}

#[test]
fn an_implausible_gpu_count_is_quarantined_never_replaced() {
    let f = fmt("focus");
    let details = |count: &str| format!(r#"{{"InstanceType":"p5.48xlarge","GpuCount":{count}}}"#);
    let (good, bad) = (
        details("8"),
        ["1e20", "0", "8.5", "-8", "\"eight\"", "NaN", "5000"],
    );
    let mut rows = vec![f.row(&[("SkuPriceDetails", &good)])];
    rows.extend(
        bad.iter()
            .map(|c| f.row(&[("SkuPriceDetails", &details(c))])),
    );
    let dir = tempfile::tempdir().unwrap();
    let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
    assert_eq!(hours_of(&day, ACCOUNT), f.hours);
    let mut got = rules(&day, "billing");
    got.sort();
    assert_eq!(
        got,
        [
            "bad_number",
            "bad_number",
            "out_of_range",
            "out_of_range",
            "out_of_range",
            "out_of_range",
            "out_of_range"
        ]
    );
    assert!(quarantine(&day, "billing")
        .iter()
        .all(|r| r["reason"].contains("GpuCount")));
}

#[test]
fn the_same_billing_file_twice_is_refused_naming_both() {
    for f in formats() {
        let dir = tempfile::tempdir().unwrap();
        let billing = dir.path().join("billing");
        std::fs::create_dir(&billing).unwrap();
        let first = f.write(&billing, &[f.row(&[])]);
        std::fs::copy(&first, billing.join("redelivered.csv")).unwrap();
        let o = run(dir.path(), &billing, None, &[]);
        assert_eq!(o.status.code(), Some(3), "{}: {}", f.name, stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("redelivered.csv") && e.contains(&format!("{}.csv", f.name)),
            "{e}"
        );
        assert!(e.contains("SHA-256"), "{e}");
    }
}

#[test]
fn a_repeated_aws_line_item_id_is_quarantined_as_duplicate_line_item() {
    for (name, id) in [
        ("aws-cur", "identity/LineItemId"),
        ("aws-cur2", "identity_line_item_id"),
    ] {
        let f = fmt(name);
        let rows = [
            f.row(&[(id, "li1")]),
            f.row(&[(id, "li2")]),
            f.row(&[(id, "li1")]),
            f.row(&[(id, "")]),
            f.row(&[(id, "")]),
            // The same id in the next hours of the resource is another line.
            f.row(&[
                (id, "li1"),
                (f.start, "2026-11-21T00:00:00Z"),
                (f.end.unwrap(), "2026-11-21T10:00:00Z"),
            ]),
        ];
        let dir = tempfile::tempdir().unwrap();
        let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
        assert_eq!(hours_of(&day, ACCOUNT), 5.0 * f.hours, "{name}");
        let q = quarantine(&day, "billing");
        assert_eq!(q.len(), 1, "{name}: {q:?}");
        assert_eq!(q[0]["rule"], "duplicate_line_item");
        assert_eq!(q[0]["row"], "4", "{name}: the repeat's physical line");
    }
}

#[test]
fn gpu_instance_types_missing_from_the_catalog_are_unrecognised_accelerators() {
    let f = fmt("focus");
    let types = ["g7.2xlarge", "dl2q.24xlarge", "Standard_NG32ads_V620_v1"];
    let mut rows = vec![f.row(&[])];
    rows.extend(types.iter().map(|t| {
        let description = format!("$10.00 per On Demand Linux {t} Instance Hour");
        f.row(&[("x_InstanceType", t), ("ChargeDescription", &description)])
    }));
    let dir = tempfile::tempdir().unwrap();
    let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
    assert_eq!(rules(&day, "billing"), ["unrecognised_accelerator"; 3]);
    assert_eq!(hours_of(&day, ACCOUNT), f.hours);
}

#[test]
fn a_focus_unused_commitment_row_is_not_usage() {
    let f = fmt("focus");
    let rows = [
        f.row(&[]),
        f.row(&[
            ("CommitmentDiscountStatus", "Unused"),
            ("ConsumedQuantity", ""),
        ]),
        f.row(&[("CommitmentDiscountStatus", "Used")]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
    assert_eq!(hours_of(&day, ACCOUNT), 2.0 * f.hours);
}

// --- kind 5: a resource billed as several rows ---------------------------------------

#[test]
fn component_rows_never_count_and_gpu_rows_are_gpu_hours() {
    // (format, rows as column overrides, expected accelerator-hours)
    type Rows<'a> = Vec<Vec<(&'a str, &'a str)>>;
    let cases: Vec<(&str, Rows, f64)> = vec![
        (
            "gcp",
            vec![
                vec![
                    ("sku.description", "A3 Instance Core running in Americas"),
                    ("usage.amount_in_pricing_units", "4992"),
                ],
                vec![
                    ("sku.description", "A3 Instance Ram running in Americas"),
                    ("usage.amount_in_pricing_units", "44928"),
                    ("usage.pricing_unit", "gibibyte hour"),
                ],
                vec![("usage.amount_in_pricing_units", "192")],
            ],
            192.0,
        ),
        (
            "azure",
            vec![
                vec![
                    ("MeterName", "ND96isr H100 v5 GPU"),
                    ("UnitOfMeasure", "1 GPU Hour"),
                    ("Quantity", "192"),
                ],
                vec![("MeterName", "ND96isr H100 v5 vCPU"), ("Quantity", "2304")],
                vec![("UnitOfMeasure", "GPUs/Hour"), ("Quantity", "8")],
            ],
            200.0,
        ),
        (
            "oci",
            vec![
                vec![],
                vec![
                    ("cost/skuUnitDescription", "OCPU Per Hour"),
                    ("usage/billedQuantity", "896"),
                ],
            ],
            64.0,
        ),
        (
            "focus",
            vec![
                // A fractional GPU billed per GPU-hour.
                vec![
                    ("ChargeDescription", "NVIDIA H100 GPU slice"),
                    ("ConsumedQuantity", "0.5"),
                    ("ConsumedUnit", "GPU Hours"),
                ],
                vec![
                    ("ChargeDescription", "p5.48xlarge memory"),
                    ("ConsumedQuantity", "20480"),
                    ("ConsumedUnit", "GiB Hours"),
                ],
            ],
            0.5,
        ),
    ];
    for (name, rows, want) in cases {
        let f = fmt(name);
        let rows: Vec<Vec<String>> = rows.iter().map(|set| f.row(set)).collect();
        let dir = tempfile::tempdir().unwrap();
        let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
        assert_eq!(hours_of(&day, ACCOUNT), want, "{name}");
        assert!(
            rules(&day, "billing").is_empty(),
            "{name}: {:?}",
            rules(&day, "billing")
        );
    }
}

#[test]
fn instance_hour_rows_count_whatever_words_their_description_holds() {
    // An instance-hour row (a time unit, the instance type in a structured column) is never a
    // component row nor a per-GPU row because of free words in its description.
    let descriptions = [
        "p5.48xlarge (NVIDIA H100 Tensor Core GPU) Instance Hour",
        "p5.48xlarge Instance Hour, 192 vCPUs, 2 TiB memory",
        "p5.48xlarge memory-optimized instance hour",
        "p5.48xlarge instance hour incl. 30 TB NVMe storage bytes",
        "8x NVIDIA H100 80GB GPU running in US-East (p5.48xlarge instance)",
        "p5.48xlarge On Demand instance hour, GPU running",
    ];
    for name in ["focus", "aws-cur", "aws-cur2"] {
        let f = fmt(name);
        let rows: Vec<Vec<String>> = descriptions.iter().map(|d| f.row(&[(f.sku, d)])).collect();
        let dir = tempfile::tempdir().unwrap();
        let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
        assert_eq!(
            hours_of(&day, ACCOUNT),
            descriptions.len() as f64 * f.hours,
            "{name}"
        );
        assert!(rules(&day, "billing").is_empty(), "{name}");
    }
}

#[test]
fn gcp_rows_tagged_with_a_gpu_machine_count_only_as_gpu_skus() {
    // GCP bills a VM per SKU; licences, commitments and disks carry the machine type label too,
    // and are neither instance- nor accelerator-hours.
    let f = fmt("gcp");
    let others = [
        "Licensing Fee for NVIDIA RTX Virtual Workstation on GPU",
        "Licensing Fee for NVIDIA GRID Virtual Workstation (GPU cost)",
        "Licensing Fee for Red Hat Enterprise Linux 9 Server",
        "Commitment v1: Nvidia H100 80GB GPU in Americas for 1 Year",
        "Local SSD provisioned space",
        "A3 Instance Core running in Americas",
    ];
    let mut rows = vec![f.row(&[])];
    rows.extend(others.iter().map(|d| f.row(&[(f.sku, d)])));
    let dir = tempfile::tempdir().unwrap();
    let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
    assert_eq!(hours_of(&day, ACCOUNT), f.hours);
    assert!(rules(&day, "billing").is_empty());
}

// --- kind 6: physical lines and blank lines -----------------------------------------

#[test]
fn quarantine_rows_are_physical_lines_and_blank_lines_are_not_records() {
    for f in formats() {
        let dir = tempfile::tempdir().unwrap();
        // Line 2 a row, lines 3-4 a row with a quoted newline in its SKU text, line 5 blank,
        // line 6 a row with a bad quantity, line 7 a trailing CRLF blank line.
        let sku = format!(
            "{}\nsecond line",
            f.row(&[])[f.header().iter().position(|h| *h == f.sku).unwrap()]
        );
        let bad = f.row(&[(f.quantity, "abc")]);
        let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
        let path = f.write(dir.path(), &[f.row(&[]), f.row(&[(f.sku, &sku)])]);
        let bad_line = std::fs::read_to_string(write_csv(dir.path(), "x", &f.header(), &[bad]))
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap() + "\n" + &bad_line + "\r\n\r\n";
        std::fs::write(&path, text).unwrap();
        let day = run_ok(dir.path(), &path, None);
        let q = quarantine(&day, "billing");
        assert_eq!(q.len(), 1, "{}: {q:?}", f.name);
        assert_eq!(q[0]["rule"], "bad_number", "{}", f.name);
        assert_eq!(q[0]["row"], "6", "{}", f.name);
        let m = manifest_of(&dir.path().join("out"));
        assert_eq!(m["inputs"]["billing"]["rows"]["rows_read"], 3, "{}", f.name);
    }
}

#[test]
fn registry_rows_are_physical_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cip = repo().join("data-samples/cip");
    let owners = std::fs::read_to_string(cip.join("beneficial_owners.csv")).unwrap();
    let mut lines: Vec<String> = owners.lines().map(String::from).collect();
    let header = split(&lines[0]);
    let name = header.iter().position(|h| h == "name").unwrap();
    let pct = header.iter().position(|h| h == "ownership_pct").unwrap();
    let quote = |cells: Vec<String>| {
        cells
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut first = split(&lines[1]);
    first[name] = format!("{}\nof two lines", first[name]);
    lines[1] = quote(first);
    let mut second = split(&lines[2]);
    second[pct] = "lots".into();
    lines[2] = quote(second);
    std::fs::write(dir.path().join("owners.csv"), lines.join("\n") + "\n").unwrap();
    let cfg = config_in(dir.path(), &[("beneficial_owners", "owners.csv")]);
    let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let q: Vec<_> = quarantine(&published(&dir.path().join("out")), "beneficial_owners")
        .into_iter()
        .filter(|r| r["rule"] == "bad_number")
        .collect();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(
        (q[0]["rule"].as_str(), q[0]["row"].as_str()),
        ("bad_number", "4")
    );
}

#[test]
fn telemetry_rows_are_physical_lines() {
    let dir = tempfile::tempdir().unwrap();
    let tel = std::fs::read_to_string(repo().join("data-samples/telemetry/accelerator-usage.csv"))
        .unwrap();
    let mut lines: Vec<String> = tel.lines().map(String::from).collect();
    let header = split(&lines[0]);
    let at = |n: &str| header.iter().position(|h| h == n).unwrap();
    // Line 2 a blank line; lines 3-4 one record (a quoted newline in its zone); line 5 a record
    // with a bad utilisation.
    let mut multi = split(&lines[1]);
    let zone = at("availability_zone");
    multi[zone] = format!("\"{}\nsecond line\"", multi[zone]);
    let mut bad = split(&lines[2]);
    bad[at("avg_utilization")] = "x".into();
    lines[1] = format!("\n{}", multi.join(","));
    lines[2] = bad.join(",");
    std::fs::write(dir.path().join("t.csv"), lines.join("\n") + "\n").unwrap();
    let cfg = config_in(dir.path(), &[("telemetry", "t.csv")]);
    let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let q = quarantine(&published(&dir.path().join("out")), "telemetry");
    assert_eq!(
        (q[0]["rule"].as_str(), q[0]["row"].as_str()),
        ("bad_number", "5"),
        "{q:?}"
    );
}

// --- kind 3: numbers -----------------------------------------------------------------

#[test]
fn nan_inf_overflow_and_implausible_magnitudes_are_quarantined() {
    for f in formats() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [
            f.row(&[]),
            f.row(&[(f.quantity, "NaN")]),
            f.row(&[(f.quantity, "inf")]),
            f.row(&[(f.quantity, "-Infinity")]),
            f.row(&[(f.quantity, "1e400")]),
            f.row(&[(f.quantity, "1e13")]),
        ];
        let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
        assert_eq!(hours_of(&day, ACCOUNT), f.hours, "{}", f.name);
        assert_eq!(
            rules(&day, "billing"),
            [
                "bad_number",
                "bad_number",
                "bad_number",
                "bad_number",
                "out_of_range"
            ],
            "{}",
            f.name
        );
        let q = quarantine(&day, "billing");
        assert!(q.iter().all(|r| r["reason"].contains("Quantity")), "{q:?}");
    }
}

#[test]
fn a_huge_cost_is_quarantined_and_counted_not_dropped_from_the_totals() {
    let f = fmt("focus");
    let rows = [f.row(&[]), f.row(&[("BilledCost", "1e308")])];
    let dir = tempfile::tempdir().unwrap();
    let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
    assert_eq!(rules(&day, "billing"), ["out_of_range"]);
    assert!(quarantine(&day, "billing")[0]["reason"].contains("BilledCost"));
    let m = manifest_of(&dir.path().join("out"));
    let t = &m["inputs"]["billing"]["totals_by_currency"][0];
    assert_eq!(t["rows"], 2);
    assert_eq!(t["rows_out_of_range"], 1);
    assert_eq!(t["billed_cost"].as_f64(), Some(983.2));
}

#[test]
fn telemetry_numbers_are_checked_like_billing() {
    let dir = tempfile::tempdir().unwrap();
    let tel = std::fs::read_to_string(repo().join("data-samples/telemetry/accelerator-usage.csv"))
        .unwrap();
    let mut lines: Vec<String> = tel.lines().map(String::from).collect();
    let header = split(&lines[0]);
    let count = header
        .iter()
        .position(|h| h == "accelerator_count")
        .unwrap();
    let util = header.iter().position(|h| h == "avg_utilization").unwrap();
    let set = |line: &str, i: usize, v: &str| {
        let mut c = split(line);
        c[i] = v.to_string();
        c.join(",")
    };
    lines[1] = set(&lines[1], count, "NaN");
    lines[2] = set(&lines[2], util, "inf");
    lines[3] = set(&lines[3], count, "1e12");
    std::fs::write(dir.path().join("t.csv"), lines.join("\n") + "\n").unwrap();
    let cfg = config_in(dir.path(), &[("telemetry", "t.csv")]);
    let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let q = quarantine(&published(&dir.path().join("out")), "telemetry");
    // (The sample's own out-of-range rows are further down.)
    let got: Vec<(&str, &str)> = q
        .iter()
        .take(3)
        .map(|r| (r["row"].as_str(), r["rule"].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("2", "bad_number"),
            ("3", "bad_number"),
            ("4", "out_of_range")
        ]
    );
}

// --- kind 5: CSV reader errors ---------------------------------------------------------

/// A cell value that must never reach stderr.
const PLANTED: &str = "PLANTED-CELL-7731";

#[test]
fn csv_reader_errors_exit_3_naming_file_and_line_in_billing_and_registry() {
    let f = fmt("focus");
    let good = f.row(&[(f.sku, PLANTED)]).join(",");
    let header = f.header().join(",");
    let broken = [
        (
            "ragged",
            format!("{header}\n{good}\n{good},{PLANTED}\n"),
            "row 3",
        ),
        (
            "unclosed",
            format!("{header}\n{good}\n{good}\n\"{PLANTED},x\n{good}\n"),
            "row 4",
        ),
        (
            "duplicate",
            format!("{header},ChargeCategory\n{good},Usage\n"),
            "row 1",
        ),
    ];
    for (what, text, line) in &broken {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{what}.csv"));
        std::fs::write(&path, text).unwrap();
        let o = run(dir.path(), &path, None, &[]);
        assert_eq!(o.status.code(), Some(3), "billing {what}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{what}.csv")) && err.contains(line),
            "{what}: {err}"
        );
        assert!(
            !err.contains(PLANTED),
            "{what}: a cell value on stderr: {err}"
        );
    }
    // The same three in the registry (customers).
    let customers = std::fs::read_to_string(repo().join("data-samples/cip/customers.csv")).unwrap();
    let (head, body) = customers.split_once('\n').unwrap();
    let first = body.lines().next().unwrap();
    let broken = [
        ("ragged", format!("{head}\n{first},{PLANTED}\n"), "row 2"),
        (
            "unclosed",
            format!("{head}\n{first}\n\"{PLANTED}\n"),
            "row 3",
        ),
        ("duplicate", format!("{head},email\n{first},x@y\n"), "row 1"),
    ];
    for (what, text, line) in &broken {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("customers-{what}.csv"));
        std::fs::write(&path, text).unwrap();
        let cfg = config_with(dir.path(), &[("customers", path.to_str().unwrap())]);
        let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(3), "customers {what}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("customers-{what}.csv")) && err.contains(line),
            "{err}"
        );
        assert!(!err.contains(PLANTED), "{what}: {err}");
    }
}

// --- kind 7 (billing): implausible dates --------------------------------------------

#[test]
fn a_far_future_billing_row_is_quarantined_not_the_as_of_date() {
    let f = fmt("focus");
    // 100 plausible rows: the far-future one is a small share of the data.
    let mut rows = vec![f.row(&[]); 100];
    rows.extend([
        f.row(&[
            ("ChargePeriodStart", "9999-12-30T00:00:00Z"),
            ("ChargePeriodEnd", "9999-12-30T10:00:00Z"),
        ]),
        f.row(&[
            ("ChargePeriodStart", "1999-12-30T00:00:00Z"),
            ("ChargePeriodEnd", "1999-12-30T10:00:00Z"),
        ]),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let day = run_ok(dir.path(), &f.write(dir.path(), &rows), None);
    assert!(
        day.ends_with("2026-11-20"),
        "as-of from the plausible rows: {}",
        day.display()
    );
    let q = quarantine(&day, "billing");
    let got: Vec<(&str, &str)> = q
        .iter()
        .map(|r| (r["row"].as_str(), r["rule"].as_str()))
        .collect();
    assert_eq!(
        got,
        [("102", "implausible_date"), ("103", "implausible_date")]
    );
    assert!(q[0]["reason"].contains("ChargePeriodStart"));
    assert_eq!(hours_of(&day, ACCOUNT), 100.0 * f.hours);
}

// --- kind 3: used means counted --------------------------------------------------------

/// A query that loses an account's rows (here a replaced `07_account_compute.sql` that drops one
/// account) makes the in-run reconciliation fail: exit 1, naming the difference, nothing published.
#[test]
fn hours_that_reach_no_account_fail_the_run_with_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries");
    std::fs::create_dir(&queries).unwrap();
    let sql = std::fs::read_to_string(repo().join("queries/07_account_compute.sql")).unwrap();
    let lossy = sql.replace(
        "LEFT JOIN runs AS r ON t.billing_account_id = r.billing_account_id",
        "LEFT JOIN runs AS r ON t.billing_account_id = r.billing_account_id\nWHERE t.billing_account_id <> '420000000003'",
    );
    assert_ne!(lossy, sql);
    std::fs::write(queries.join("07_account_compute.sql"), lossy).unwrap();
    let out = dir.path().join("out");
    let o = cipwatch(&[
        "run",
        "--out",
        out.to_str().unwrap(),
        "--queries",
        queries.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("reconciliation failed") && err.contains("difference"),
        "{err}"
    );
    assert!(!out.join("2026-11-26").exists(), "nothing published");
}
