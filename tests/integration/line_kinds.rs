//! Every kind of billing line that decides whether accelerator-hours count, in each export
//! format where the kind occurs: idle reserved capacity, corrections, TPU chip-hours, sizes billed
//! under meter or SKU spellings, accelerator-like rows the catalog does not know, and fee rows that
//! name a GPU. One billing folder holds a file per format (each detected from its header); each
//! case is its own billing account, so one run checks them all.

use crate::helpers::*;
use std::path::Path;

const FOCUS: &[&str] = &[
    "BillingAccountId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ConsumedQuantity",
    "ConsumedUnit",
    "BilledCost",
    "BillingCurrency",
    "AvailabilityZone",
    "ResourceId",
    "SkuId",
    "SkuMeter",
    "CapacityReservationStatus",
    "CommitmentDiscountStatus",
    "x_UsageType",
    "x_SkuMeterName",
];

const DAY: (&str, &str) = ("2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z");

/// A FOCUS row: account, category, class, description, quantity, unit, resource, SKU meter,
/// capacity-reservation status, usage type, meter name.
#[allow(clippy::too_many_arguments)]
fn focus<'a>(
    account: &'a str,
    class: &'a str,
    description: &'a str,
    quantity: &'a str,
    unit: &'a str,
    resource: &'a str,
    meter: &'a str,
    reservation: &'a str,
    usage_type: &'a str,
    meter_name: &'a str,
) -> Vec<&'a str> {
    vec![
        account,
        DAY.0,
        DAY.1,
        "Usage",
        class,
        description,
        quantity,
        unit,
        "10",
        "USD",
        "us-east-2a",
        resource,
        "SKU1",
        meter,
        reservation,
        "",
        usage_type,
        meter_name,
    ]
}

fn focus_file(dir: &Path) {
    let p5 = "USE2-BoxUsage:p5.48xlarge";
    write_csv(
        dir,
        "focus.csv",
        FOCUS,
        &[
            // Idle reserved capacity by FOCUS 1.1+'s status: 192, not 384.
            focus(
                "510000000001",
                "",
                "p5",
                "24",
                "Hours",
                "i-1",
                "",
                "Used",
                p5,
                "",
            ),
            focus(
                "510000000001",
                "",
                "p5",
                "24",
                "Hours",
                "cr-1",
                "",
                "Unused",
                p5,
                "",
            ),
            // The same by AWS's usage type alone (a FOCUS 1.0 export): 192.
            focus(
                "510000000002",
                "",
                "p5",
                "24",
                "Hours",
                "i-2",
                "",
                "",
                p5,
                "",
            ),
            focus(
                "510000000002",
                "",
                "idle",
                "24",
                "Hours",
                "cr-2",
                "",
                "",
                "USE2-UnusedBox:p5.48xlarge",
                "",
            ),
            // A correction nets: 24 h - 12 h = 12 instance-hours, 96 H100-hours.
            focus(
                "510000000003",
                "",
                "p5",
                "24",
                "Hours",
                "i-3",
                "",
                "",
                p5,
                "",
            ),
            focus(
                "510000000003",
                "Correction",
                "p5",
                "-12",
                "Hours",
                "i-3",
                "",
                "",
                p5,
                "",
            ),
            // TPU chip-hours under the SKU's spelling: 48 v6e chip-hours.
            focus(
                "510000000004",
                "",
                "TpuV6e running in Dallas",
                "48",
                "Hours",
                "tpu-4",
                "TpuV6e running in Dallas",
                "",
                "",
                "",
            ),
            // An Azure meter that is not the size's name: ND96asr A100 v4 = Standard_ND96asr_v4, 8 x A100.
            focus(
                "510000000005",
                "",
                "NDasr A100 v4 Series",
                "24",
                "Hours",
                "vm-5",
                "",
                "",
                "",
                "ND96asr A100 v4",
            ),
            // A GPU cloud's node type the catalog does not know, in GPU-hours: quarantined, not lost.
            focus(
                "510000000006",
                "",
                "xq-8xh100-custom node",
                "192",
                "GPU Hours",
                "node-6",
                "xq-8xh100-custom",
                "",
                "",
                "",
            ),
            // GPU clouds' node types: CoreWeave billed in GPU-hours (192), Lambda per instance-hour
            // of an 8 x H100 node (24 h, 192).
            focus(
                "510000000009",
                "",
                "GPU node",
                "192",
                "GPU Hours",
                "node-9",
                "gd-8xh100ib-i128",
                "",
                "",
                "",
            ),
            focus(
                "510000000010",
                "",
                "instance",
                "24",
                "Hours",
                "node-10",
                "gpu_8x_h100_sxm5",
                "",
                "",
                "",
            ),
            // A software licence billed by the hour, naming the GPU vendor: no hours, no false alarm.
            focus(
                "510000000008",
                "",
                "NVIDIA AI Enterprise license",
                "24",
                "Hours",
                "l-8",
                "NVIDIA AI Enterprise license",
                "",
                "",
                "",
            ),
            // A commitment fee naming a GPU: bought, not run; no hours and no false alarm.
            focus(
                "510000000007",
                "",
                "Commitment v1: Nvidia H100 80GB GPU in Americas for 1 Year",
                "24",
                "Hours",
                "c-7",
                "Commitment v1: Nvidia H100 80GB GPU in Americas for 1 Year",
                "",
                "",
                "",
            ),
        ],
    );
}

const CUR: &[&str] = &[
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/PayerAccountId",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/UsageType",
    "lineItem/AvailabilityZone",
    "lineItem/ResourceId",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedCost",
    "lineItem/LineItemDescription",
    "pricing/unit",
];

fn cur_row<'a>(
    id: &'a str,
    account: &'a str,
    usage_type: &'a str,
    resource: &'a str,
) -> Vec<&'a str> {
    vec![
        id,
        "2026-11-24T00:00:00Z/2026-11-25T00:00:00Z",
        account,
        "111122223333",
        "Usage",
        DAY.0,
        DAY.1,
        usage_type,
        "us-east-2a",
        resource,
        "24",
        "USD",
        "100",
        "instance hours",
        "Hrs",
    ]
}

fn cur_file(dir: &Path) {
    write_csv(
        dir,
        "cur.csv",
        CUR,
        &[
            // Idle reserved capacity in the legacy CUR: 192.
            cur_row("l1", "520000000001", "USE2-BoxUsage:p5.48xlarge", "i-1"),
            cur_row("l2", "520000000001", "USE2-UnusedBox:p5.48xlarge", "cr-1"),
            // An instance type of a GPU family the catalog does not know: quarantined.
            cur_row(
                "l3",
                "520000000002",
                "USE2-BoxUsage:p9-x900.48xlarge",
                "i-2",
            ),
        ],
    );
}

const GCP: &[&str] = &[
    "billing_account_id",
    "sku.description",
    "usage_start_time",
    "usage_end_time",
    "system_labels",
    "location.zone",
    "cost",
    "currency",
    "usage.amount_in_pricing_units",
    "usage.pricing_unit",
    "cost_type",
    "resource.name",
];

fn gcp_row<'a>(
    account: &'a str,
    sku: &'a str,
    labels: &'a str,
    hours: &'a str,
    cost_type: &'a str,
) -> Vec<&'a str> {
    vec![
        account,
        sku,
        DAY.0,
        DAY.1,
        labels,
        "us-central1-a",
        "10",
        "USD",
        hours,
        "hour",
        cost_type,
        "vm-1",
    ]
}

fn gcp_file(dir: &Path) {
    let ct5p = r#"[{"key":"compute.googleapis.com/machine_spec","value":"ct5p-hightpu-4t"}]"#;
    let unused = r#"[{"key":"compute.googleapis.com/machine_spec","value":"ct5p-hightpu-4t"},{"key":"compute.googleapis.com/is_unused_reservation","value":"true"}]"#;
    write_csv(
        dir,
        "gcp.csv",
        GCP,
        &[
            // TPU chip-hours on a TPU machine type: per chip already, 96 (never x 4, never 0).
            gcp_row(
                "530000000001",
                "TpuV5p running in Sao Paulo",
                ct5p,
                "96",
                "regular",
            ),
            // A commitment fee naming a GPU, no machine type: no hours, no false alarm.
            gcp_row(
                "530000000002",
                "Commitment v1: Nvidia H100 80GB GPU in Americas for 1 Year",
                "[]",
                "24",
                "regular",
            ),
            // Idle reserved capacity, as the system label marks it: 96 - only the used row counts.
            gcp_row(
                "530000000004",
                "TpuV5p running in Sao Paulo",
                ct5p,
                "96",
                "regular",
            ),
            gcp_row(
                "530000000004",
                "TpuV5p running in Sao Paulo",
                unused,
                "96",
                "regular",
            ),
            // A usage correction: 96 - 48 = 48 chip-hours.
            gcp_row(
                "530000000003",
                "TpuV5e running in Singapore",
                "[]",
                "96",
                "regular",
            ),
            gcp_row(
                "530000000003",
                "TpuV5e running in Singapore",
                "[]",
                "-48",
                "adjustment",
            ),
        ],
    );
}

const AZURE: &[&str] = &[
    "SubscriptionId",
    "Date",
    "MeterName",
    "UnitOfMeasure",
    "Quantity",
    "CostInBillingCurrency",
    "ResourceId",
    "AdditionalInfo",
    "ChargeType",
    "BillingAccountId",
    "BillingCurrencyCode",
];

fn azure_row<'a>(account: &'a str, meter: &'a str, charge: &'a str) -> Vec<&'a str> {
    vec![
        "sub-1",
        "2026-11-24",
        meter,
        "1 Hour",
        "24",
        "10",
        "vm-1",
        "{}",
        charge,
        account,
        "USD",
    ]
}

fn azure_file(dir: &Path) {
    write_csv(
        dir,
        "azure.csv",
        AZURE,
        &[
            // The meter spelling of Standard_ND96asr_v4: 192 A100-hours.
            azure_row("540000000001", "ND96asr A100 v4", "Usage"),
            // An unused reservation of H100s: nothing ran.
            azure_row("540000000002", "ND96isr H100 v5", "UnusedReservation"),
            // An NCv3 size by its meter: 4 x V100, 96.
            azure_row("540000000003", "NC24rs v3", "Usage"),
            // An N-series meter the catalog does not know: quarantined.
            azure_row("540000000004", "NC99zz v9", "Usage"),
        ],
    );
}

const CUR2: &[&str] = &[
    "identity_line_item_id",
    "identity_time_interval",
    "bill_payer_account_id",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_usage_type",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_currency_code",
    "line_item_unblended_cost",
    "line_item_line_item_description",
    "pricing_unit",
];

fn cur2_file(dir: &Path) {
    let row = |id: &'static str, account: &'static str, usage_type: &'static str| {
        let mut r = cur_row(id, account, usage_type, id);
        r.remove(8);
        r
    };
    write_csv(
        dir,
        "cur2.csv",
        CUR2,
        &[
            // Idle reserved capacity in CUR 2.0: 192.
            row("m1", "560000000001", "USE2-BoxUsage:p5.48xlarge"),
            row("m2", "560000000001", "USE2-UnusedBox:p5.48xlarge"),
            // A new GPU generation the catalog now has: 8 x B300, 192.
            row("m3", "560000000002", "USE2-BoxUsage:p6-b300.48xlarge"),
        ],
    );
}

const OCI: &[&str] = &[
    "cost/subscriptionId",
    "lineItem/tenantId",
    "lineItem/intervalUsageStart",
    "lineItem/intervalUsageEnd",
    "lineItem/isCorrection",
    "product/Description",
    "cost/productSku",
    "usage/billedQuantity",
    "cost/skuUnitDescription",
    "cost/myCost",
    "cost/currencyCode",
    "product/resourceId",
];

fn oci_row<'a>(
    subscription: &'a str,
    correction: &'a str,
    description: &'a str,
    sku: &'a str,
    quantity: &'a str,
) -> Vec<&'a str> {
    vec![
        subscription,
        "ocid1.tenancy.oc1..t",
        DAY.0,
        DAY.1,
        correction,
        description,
        sku,
        quantity,
        "GPU Per Hour",
        "10",
        "USD",
        "ocid1.instance.oc1..a",
    ]
}

fn oci_file(dir: &Path) {
    write_csv(
        dir,
        "oci.csv",
        OCI,
        &[
            // A per-GPU SKU described without its shape: 192 GPU-hours.
            oci_row(
                "550000000001",
                "false",
                "Compute - GPU - H100",
                "B98415",
                "192",
            ),
            // A correction nets: 192 - 96.
            oci_row(
                "550000000002",
                "false",
                "Compute - GPU - H100",
                "B98415",
                "192",
            ),
            oci_row(
                "550000000002",
                "true",
                "Compute - GPU - H100",
                "B98415",
                "-96",
            ),
            // A GPU shape the catalog does not know: quarantined.
            oci_row("550000000003", "false", "BM.GPU.X9.8", "B99999", "192"),
        ],
    );
}

/// The FOCUS file's rows again as Parquet (every column text, as a lake writes a CSV it took in),
/// under accounts 57... instead of 51....
fn focus_parquet(dir: &Path) {
    use polars::prelude::*;
    let text = std::fs::read_to_string(dir.join("focus.csv"))
        .unwrap()
        .replace(",5100000000", ",5700000000");
    let text = text.replace("\n5100000000", "\n5700000000");
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(std::io::Cursor::new(text.into_bytes()))
        .finish()
        .unwrap();
    ParquetWriter::new(std::fs::File::create(dir.join("focus.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
}

/// Runs `billing` (a folder) with the sample registry as of 2026-11-26 (`--allow-stale`: the
/// registry's date does not matter here).
fn run_as_of_2026_11_26(dir: &Path, billing: &Path) -> std::process::Output {
    let cfg = billing_config(dir, billing, None);
    cipwatch(&[
        "-q",
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--as-of",
        "2026-11-26",
        "--allow-stale",
    ])
}

#[test]
fn every_kind_of_line_counts_or_is_quarantined_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    focus_file(&billing);
    focus_parquet(&billing);
    cur_file(&billing);
    cur2_file(&billing);
    gcp_file(&billing);
    azure_file(&billing);
    oci_file(&billing);
    let o = run_as_of_2026_11_26(dir.path(), &billing);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let day = published(&dir.path().join("out"));
    for (account, hours) in [
        ("510000000001", 192.0),
        ("510000000002", 192.0),
        ("510000000003", 96.0),
        ("510000000004", 48.0),
        ("510000000005", 192.0),
        ("510000000006", 0.0),
        ("510000000007", 0.0),
        ("510000000008", 0.0),
        ("510000000009", 192.0),
        ("510000000010", 192.0),
        ("520000000001", 192.0),
        ("520000000002", 0.0),
        ("530000000001", 96.0),
        ("530000000002", 0.0),
        ("530000000003", 48.0),
        ("530000000004", 96.0),
        ("540000000001", 192.0),
        ("540000000002", 0.0),
        ("540000000003", 96.0),
        ("540000000004", 0.0),
        ("550000000001", 192.0),
        ("550000000002", 96.0),
        ("550000000003", 0.0),
        ("560000000001", 192.0),
        ("560000000002", 192.0),
    ] {
        assert_eq!(hours_of(&day, account), hours, "{account}");
        let parquet_twin = account.replacen("51", "57", 1);
        if account.starts_with("51") {
            assert_eq!(hours_of(&day, &parquet_twin), hours, "{parquet_twin}");
        }
    }
    let q = read_csv(&day.join("quarantine/billing.csv"));
    let mut unrecognised: Vec<(String, String)> = q
        .iter()
        .map(|r| {
            (
                r["source_file"].rsplit('/').next().unwrap().to_string(),
                r["rule"].clone(),
            )
        })
        .collect();
    unrecognised.sort();
    let expected = |file: &str| (file.to_string(), "unrecognised_accelerator".to_string());
    assert_eq!(
        unrecognised,
        [
            expected("azure.csv"),
            expected("cur.csv"),
            expected("focus.csv"),
            expected("focus.parquet"),
            expected("oci.csv"),
        ],
        "{q:?}"
    );
}

/// `cipwatch catalog` on the same billing: each instance type recognised with its accelerator and
/// hours, and each accelerator-like text the catalog does not know, quoting that text.
#[test]
fn catalog_lists_what_was_recognised_and_what_was_not() {
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    cur_file(&billing);
    azure_file(&billing);
    let cfg = billing_config(dir.path(), &billing, None);
    let o = cipwatch(&["-q", "catalog", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "status,instance_type,accelerator,peak,billing_rows,accelerator_hours,detail"
    );
    assert!(
        out.contains("recognised,p5.48xlarge,nvidia-h100-sxm,bf16,1,192.0,"),
        "{out}"
    );
    assert!(
        out.contains("recognised,Standard_ND96asr_v4,nvidia-a100-40gb,bf16,1,192.0,"),
        "{out}"
    );
    let unknown: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("unrecognised"))
        .collect();
    assert_eq!(unknown.len(), 2, "{out}");
    assert!(out.contains("p9-x900.48xlarge"), "{out}");
    assert!(out.contains("NC99zz v9"), "{out}");
    assert!(
        !out.contains("UnusedBox"),
        "idle capacity is no accelerator use: {out}"
    );
}

/// AWS re-delivers a cumulative report many times a month: an earlier delivery kept beside the
/// newest is left out whole (the manifest names it and its rows), in the legacy CUR and CUR 2.0;
/// two parts of one delivery (no line in common) are both read.
#[test]
fn an_earlier_delivery_of_an_aws_report_is_superseded_by_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    let day2 = |mut r: Vec<&'static str>| {
        r[1] = "2026-11-25T00:00:00Z/2026-11-26T00:00:00Z";
        r[5] = "2026-11-25T00:00:00Z";
        r[6] = "2026-11-26T00:00:00Z";
        r
    };
    let p5 = "USE2-BoxUsage:p5.48xlarge";
    // Legacy CUR: delivery 1 has day 1; delivery 2, cumulative, days 1 and 2; a second part of
    // delivery 2 holds another resource's line.
    write_csv(
        &billing,
        "cur-v1.csv",
        CUR,
        &[cur_row("a1", "580000000001", p5, "i-1")],
    );
    write_csv(
        &billing,
        "cur-v2-1.csv",
        CUR,
        &[
            cur_row("a1", "580000000001", p5, "i-1"),
            day2(cur_row("a2", "580000000001", p5, "i-1")),
        ],
    );
    write_csv(
        &billing,
        "cur-v2-2.csv",
        CUR,
        &[cur_row("a3", "580000000001", p5, "i-2")],
    );
    let o = run_as_of_2026_11_26(dir.path(), &billing);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = dir.path().join("out");
    let day = published(&out);
    // i-1 on two days and i-2 on one, 8 H100s each: 3 x 192.
    assert_eq!(hours_of(&day, "580000000001"), 576.0);
    let m = manifest_of(&out);
    let excluded = m["excluded"].to_string();
    assert!(
        excluded
            .contains("cur-v1.csv is an earlier delivery of the report in billing/cur-v2-1.csv"),
        "{excluded}"
    );
    assert_eq!(
        m["inputs"]["billing"]["rows"]["rows_read"], 3,
        "{}",
        m["inputs"]["billing"]
    );
}
