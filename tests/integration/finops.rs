//! The FinOps Foundation's public FOCUS 1.0 sample (copied under `tests/reference/focus-samples/`): nulls as
//! `NULL`, timestamps without `T`/`Z`, mixed-case enumerations, an un-prefixed `Id` column. It must
//! load, its g5.4xlarge rows must be identified from `ChargeDescription`, and its g3.4xlarge rows
//! (an accelerator the catalog lacks) must be reported, not guessed.

use crate::helpers::*;

#[test]
fn finops_sample_loads_and_its_gpu_rows_are_identified() {
    let sample =
        reference().join("focus-samples/finops-foundation-focus-sample-data-1.0/focus_sample.csv");
    assert!(
        sample.is_file(),
        "the reference sample is missing: {}",
        sample.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = billing_config(dir.path(), &sample, None);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text + SAMPLE_REGISTRY_EXPORT).unwrap();
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let day = dir.path().join("out/2024-09-30");

    // Expected from the file itself: the g5.4xlarge hours (1 A10G each).
    let raw = std::fs::read_to_string(&sample).unwrap();
    let mut lines = raw.lines();
    let header = split(lines.next().unwrap());
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (desc, qty) = (at("ChargeDescription"), at("ConsumedQuantity"));
    let mut g5_hours = 0.0;
    let mut g5_rows = 0;
    for l in lines {
        let cells = split(l);
        if cells[desc].contains("g5.4xlarge") {
            g5_hours += cells[qty].parse::<f64>().unwrap();
            g5_rows += 1;
        }
    }
    assert_eq!(g5_rows, 8);
    let flags = read_csv(&day.join("flags.csv"));
    assert_eq!(flags.len(), 1);
    let hours: f64 = flags[0]["accelerator_hours"].parse().unwrap();
    assert!((hours - g5_hours).abs() < 1e-9, "{hours} vs {g5_hours}");
    assert_eq!(flags[0]["accelerators"], "nvidia-a10g");

    let q = read_csv(&day.join("quarantine/billing.csv"));
    let unrecognised: Vec<&String> = q
        .iter()
        .filter(|r| r["rule"] == "unrecognised_accelerator")
        .map(|r| &r["original_values"])
        .collect();
    assert_eq!(unrecognised.len(), 2);
    assert!(unrecognised.iter().all(|v| v.contains("g3.4xlarge")));
    assert_eq!(
        q.len(),
        2,
        "nothing else in the sample is quarantined: {q:?}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(day.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["inputs"]["billing"]["rows"]["rows_read"], 1000);
}
