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
    text.push_str(SAMPLE_REGISTRY_EXPORT);
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
            // The manifest masks card-like digit runs, file names included (this OCI sample's
            // name holds a Luhn-valid 16-digit run).
            billing["formats"][cipwatch::pii::redact(path.to_str().unwrap()).as_ref()],
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

/// A GPU row in each native format (the rows of `input_kinds::formats`): detected from its header,
/// identified with the right accelerator and accelerator-hours.
#[test]
fn gpu_rows_in_each_native_format_are_identified() {
    for f in crate::input_kinds::formats()
        .into_iter()
        .filter(|f| f.name != "focus")
    {
        let dir = tempfile::tempdir().unwrap();
        let billing = f.write(dir.path(), &[f.row(&[])]);
        let o = cipwatch(&[
            "-q",
            "run",
            "--allow-stale",
            "--config",
            config_for(dir.path(), &billing, None).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}: {}", f.name, stderr(&o));
        let m = manifest(&dir.path().join("out"));
        let formats: Vec<&serde_json::Value> = m["inputs"]["billing"]["formats"]
            .as_object()
            .unwrap()
            .values()
            .collect();
        assert_eq!(formats, [f.name], "{}: detected from the header", f.name);
        let day = dir.path().join("out").join(m["as_of"].as_str().unwrap());
        let flags = read_csv(&day.join("flags.csv"));
        assert_eq!(flags.len(), 1, "{}: {flags:?}", f.name);
        assert_eq!(flags[0]["accelerators"], "nvidia-h100-sxm", "{}", f.name);
        assert_eq!(
            flags[0]["accelerator_hours"].parse::<f64>().unwrap(),
            f.hours,
            "{}",
            f.name
        );
    }
}

#[test]
fn an_unknown_header_lists_the_formats_and_a_bad_forced_format_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let billing = write_csv(
        dir.path(),
        "mystery.csv",
        &["when", "who", "cost"],
        &[vec!["2026-11-20", "x", "1"]],
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
