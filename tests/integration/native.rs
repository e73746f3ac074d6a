//! Native billing exports read through the declarative mappings: the public native samples load
//! without a rejected row and reconcile with their own totals; a hand-made GPU row in each native
//! format is identified with the right accelerator and count.

use crate::helpers::*;
use std::collections::BTreeMap;
use std::path::Path;

fn native_dir() -> std::path::PathBuf {
    reference().join("focus-samples/finopsfoundation-focus-converters-native-inputs")
}

/// A configuration reading `billing` with the sample registry and no telemetry.
fn config_for(dir: &Path, billing: &Path, format: Option<&str>) -> std::path::PathBuf {
    let cfg = config_with(dir, &[("billing", billing.to_str().unwrap())]);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let mut text: String = text
        .lines()
        .filter(|l| !l.starts_with("telemetry ="))
        .map(|l| format!("{l}\n"))
        .collect();
    if let Some(f) = format {
        text = text.replace(
            "[inputs]\n",
            &format!("[inputs]\nbilling_format = \"{f}\"\n"),
        );
    }
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn manifest(out: &Path) -> serde_json::Value {
    let day = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("_SUCCESS").is_file())
        .expect("a published run");
    serde_json::from_slice(&std::fs::read(day.join("manifest.json")).unwrap()).unwrap()
}

/// Per currency: (rows, cost, quantity) summed straight from a native CSV.
fn native_totals(
    file: &Path,
    currency: &str,
    cost: &str,
    quantity: &str,
) -> BTreeMap<String, (u64, f64, f64)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let header = split(lines.next().unwrap());
    let at = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let (c, k, q) = (at(currency), at(cost), at(quantity));
    let mut totals: BTreeMap<String, (u64, f64, f64)> = BTreeMap::new();
    for line in lines {
        let cells = split(line);
        let e = totals.entry(cells[c].clone()).or_default();
        e.0 += 1;
        e.1 += cells[k].parse::<f64>().unwrap_or(0.0);
        e.2 += cells[q].parse::<f64>().unwrap_or(0.0);
    }
    totals
}

#[test]
fn public_native_samples_load_and_reconcile() {
    let cases = [
        (
            "aws-cur-legacy-sample-anonymous-aws-export-dataset.csv",
            "aws-cur",
            "lineItem/CurrencyCode",
            "lineItem/UnblendedCost",
            "lineItem/UsageAmount",
        ),
        (
            "azure-ea-sample-anonymous-ea-export-dataset.csv",
            "azure",
            "BillingCurrencyCode",
            "CostInBillingCurrency",
            "Quantity",
        ),
        (
            "oci-cost-report-reports_cost-csv_0000000030000269.csv",
            "oci",
            "cost/currencyCode",
            "cost/myCost",
            "usage/billedQuantity",
        ),
    ];
    for (file, format, currency, cost, quantity) in cases {
        let path = native_dir().join(file);
        assert!(
            path.is_file(),
            "the native sample is missing: {}",
            path.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let o = cipwatch(&[
            "-q",
            "run",
            "--config",
            config_for(dir.path(), &path, None).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let m = manifest(&dir.path().join("out"));
        let billing = &m["inputs"]["billing"];
        assert_eq!(
            billing["formats"][path.to_str().unwrap()],
            format,
            "{file}: detected format"
        );
        assert_eq!(
            billing["rows"]["rows_quarantined"], 0,
            "{file}: {}",
            billing["rows"]
        );
        let expected = native_totals(&path, currency, cost, quantity);
        let got = billing["totals_by_currency"].as_array().unwrap();
        assert_eq!(got.len(), expected.len(), "{file}: currencies");
        for t in got {
            let (rows, c, q) = expected[t["billing_currency"].as_str().unwrap()];
            assert_eq!(t["rows"].as_u64(), Some(rows), "{file}");
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
            assert!(
                close(t["billed_cost"].as_f64().unwrap(), c),
                "{file}: cost {} vs {c}",
                t["billed_cost"]
            );
            assert!(
                close(t["quantity"].as_f64().unwrap(), q),
                "{file}: quantity {} vs {q}",
                t["quantity"]
            );
        }
    }
}

/// Writes a one-row native CSV from (column, value) pairs.
fn one_row(dir: &Path, name: &str, cells: &[(&str, &str)]) -> std::path::PathBuf {
    let quote = |v: &str| {
        if v.contains([',', '"']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    };
    let header: Vec<String> = cells.iter().map(|(k, _)| quote(k)).collect();
    let row: Vec<String> = cells.iter().map(|(_, v)| quote(v)).collect();
    let path = dir.join(name);
    std::fs::write(&path, format!("{}\n{}\n", header.join(","), row.join(","))).unwrap();
    path
}

/// (format, native columns and values, expected accelerator, expected accelerator-hours).
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, f64);

#[test]
fn gpu_rows_in_each_native_format_are_identified() {
    let cases: Vec<Case> = vec![
        (
            "aws-cur",
            vec![
                ("identity/LineItemId", "x"),
                ("bill/PayerAccountId", "111111111111"),
                ("lineItem/UsageAccountId", "222222222222"),
                ("lineItem/LineItemType", "Usage"),
                ("lineItem/UsageStartDate", "2026-11-20T00:00:00Z"),
                ("lineItem/UsageEndDate", "2026-11-20T10:00:00Z"),
                ("lineItem/UsageType", "USE2-BoxUsage:p5.48xlarge"),
                ("lineItem/UsageAmount", "10"),
                ("pricing/unit", "Hrs"),
                ("lineItem/UnblendedCost", "983.2"),
                ("lineItem/CurrencyCode", "USD"),
                ("lineItem/AvailabilityZone", "us-east-2b"),
            ],
            "nvidia-h100-sxm",
            80.0,
        ),
        (
            "aws-cur2",
            vec![
                ("bill_payer_account_id", "111111111111"),
                ("line_item_usage_account_id", "222222222222"),
                ("line_item_line_item_type", "DiscountedUsage"),
                ("line_item_usage_start_date", "2026-11-20 00:00:00"),
                ("line_item_usage_end_date", "2026-11-20 05:00:00"),
                ("product_instance_type", "p4d.24xlarge"),
                ("line_item_usage_type", "USW2-BoxUsage:p4d.24xlarge"),
                ("line_item_usage_amount", "5"),
                ("pricing_unit", "Hrs"),
                ("line_item_unblended_cost", "163.85"),
                ("line_item_currency_code", "USD"),
            ],
            "nvidia-a100-40gb",
            40.0,
        ),
        (
            "azure",
            vec![
                ("BillingAccountId", "12345678"),
                ("SubscriptionId", "e18e1552-c6dd-45d1-973c-999999999999"),
                ("Date", "11/20/2026"),
                ("MeterName", "ND96isr H100 v5"),
                ("ChargeType", "Usage"),
                ("UnitOfMeasure", "10 Hours"),
                ("Quantity", "2.4"),
                ("CostInBillingCurrency", "2352.0"),
                ("BillingCurrencyCode", "USD"),
                (
                    "AdditionalInfo",
                    r#"{"ServiceType":"Standard_ND96isr_H100_v5","VCPUs":96}"#,
                ),
            ],
            "nvidia-h100-sxm",
            192.0,
        ),
        (
            "gcp",
            vec![
                ("billing_account_id", "01ABCD-234567-89EFGH"),
                ("project.id", "frontier-lab"),
                ("usage_start_time", "2026-11-20T00:00:00Z"),
                ("usage_end_time", "2026-11-21T00:00:00Z"),
                ("cost_type", "regular"),
                (
                    "sku.description",
                    "Nvidia H100 80GB GPU running in Americas",
                ),
                ("usage.amount_in_pricing_units", "192"),
                ("usage.pricing_unit", "hour"),
                ("cost", "2118.0"),
                ("currency", "USD"),
                (
                    "system_labels",
                    r#"[{"key":"compute.googleapis.com/machine_spec","value":"a3-highgpu-8g"}]"#,
                ),
                ("location.zone", "us-central1-a"),
            ],
            "nvidia-h100-sxm",
            192.0,
        ),
        (
            "oci",
            vec![
                ("lineItem/tenantId", "ocid1.tenancy.oc1..aaaa"),
                ("lineItem/intervalUsageStart", "2026-11-20T00:00Z"),
                ("lineItem/intervalUsageEnd", "2026-11-20T08:00Z"),
                (
                    "cost/subscriptionId",
                    "ocid1.organizationssubscription.oc1..bbbb",
                ),
                ("cost/productSku", "B98415"),
                ("product/Description", "Compute - GPU - BM.GPU.H100.8"),
                ("usage/billedQuantity", "64"),
                ("cost/skuUnitDescription", "GPU Per Hour"),
                ("cost/myCost", "640.0"),
                ("cost/currencyCode", "USD"),
                ("lineItem/isCorrection", "false"),
            ],
            "nvidia-h100-sxm",
            64.0,
        ),
    ];
    for (format, cells, accelerator, hours) in cases {
        let dir = tempfile::tempdir().unwrap();
        let billing = one_row(dir.path(), &format!("{format}.csv"), &cells);
        let o = cipwatch(&[
            "-q",
            "run",
            "--allow-stale",
            "--config",
            config_for(dir.path(), &billing, None).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        let m = manifest(&dir.path().join("out"));
        let formats: Vec<&serde_json::Value> = m["inputs"]["billing"]["formats"]
            .as_object()
            .unwrap()
            .values()
            .collect();
        assert_eq!(formats, [format], "{format}: detected from the header");
        let day = dir.path().join("out").join(m["as_of"].as_str().unwrap());
        let flags = read_csv(&day.join("flags.csv"));
        assert_eq!(
            flags.len(),
            1,
            "{format}: {flags:?} / {:?}",
            std::fs::read_to_string(day.join("quarantine/billing.csv"))
        );
        assert_eq!(flags[0]["accelerators"], accelerator, "{format}");
        assert_eq!(
            flags[0]["accelerator_hours"].parse::<f64>().unwrap(),
            hours,
            "{format}"
        );
    }
}

#[test]
fn an_unknown_header_lists_the_formats_and_a_bad_forced_format_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let billing = one_row(
        dir.path(),
        "mystery.csv",
        &[("when", "2026-11-20"), ("who", "x"), ("cost", "1")],
    );
    let o = cipwatch(&[
        "run",
        "--config",
        config_for(dir.path(), &billing, None).to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    for needle in [
        "mystery.csv",
        "matches no billing format",
        "aws-cur:",
        "azure:",
        "gcp:",
        "oci:",
        "focus:",
    ] {
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
    }
    let o = cipwatch(&[
        "run",
        "--config",
        config_for(dir.path(), &billing, Some("aws"))
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("billing_format 'aws'"),
        "{}",
        stderr(&o)
    );
}
