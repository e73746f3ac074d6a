//! Writes the sample inputs in `data-samples/`: a small, realistic and fully deterministic provider
//! (seeded, no clock) with every situation the pipeline must handle: US and foreign customers, a
//! foreign account training on 2,048 H100s for weeks, inference-like and bursty use, a pending CIP,
//! a US customer with a foreign beneficial owner, an account sold through a foreign reseller, an
//! account with no CIP record, and a few bad rows for quarantine. Not part of the production CLI.
//!
//! Usage: `cargo run --bin gen-samples -- <folder>` (the tests regenerate into a temporary folder and
//! compare with the committed `data-samples/` byte for byte).

use chrono::{Duration, NaiveDate, NaiveDateTime};
use std::path::Path;

/// splitmix64: a tiny seeded generator, so samples never change between machines or versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

/// A CSV table built in memory with RFC 4180 quoting.
struct Table {
    out: String,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        let mut t = Table { out: String::new() };
        t.row(header.iter().map(|s| s.to_string()).collect());
        t
    }
    fn row(&mut self, cells: Vec<String>) {
        let line: Vec<String> = cells
            .into_iter()
            .map(|c| {
                if c.contains([',', '"', '\n']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c
                }
            })
            .collect();
        self.out.push_str(&line.join(","));
        self.out.push('\n');
    }
}

const BILLING_HEADER: &[&str] = &[
    "BillingAccountId",
    "BillingAccountName",
    "SubAccountId",
    "SubAccountName",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingQuantity",
    "PricingUnit",
    "PricingCategory",
    "ListCost",
    "BilledCost",
    "EffectiveCost",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "RegionId",
    "AvailabilityZone",
    "ResourceId",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceDetails",
    "x_UsageType",
];

/// How a usage row names its instance type (providers differ; cipwatch must read them all).
#[derive(Clone, Copy)]
enum Naming {
    /// FOCUS 1.1+ `SkuPriceDetails` JSON with `InstanceType` and `GpuCount`.
    PriceDetails,
    /// Only the free-text `ChargeDescription` (as in FOCUS 1.0 exports).
    Description,
    /// The provider column `x_UsageType` (`BoxUsage:<type>`).
    UsageType,
}

struct Account {
    id: &'static str,
    name: &'static str,
    sub: &'static str,
}

struct Usage<'a> {
    account: &'a Account,
    instance: &'static str,
    gpus: u32,
    price: f64,
    region: &'static str,
    zone: &'static str,
    resource: String,
    start: NaiveDateTime,
    hours: f64,
    quantity: f64,
    unit: &'static str,
    naming: Naming,
    category: &'static str,
    class: &'static str,
}

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

struct Billing {
    october: Table,
    november: Table,
}

impl Billing {
    fn push(&mut self, u: &Usage) {
        let end = u.start + Duration::seconds((u.hours * 3600.0).round() as i64);
        let (period_start, period_end, table) = if u.start < day(2026, 11, 1) {
            (day(2026, 10, 1), day(2026, 11, 1), &mut self.october)
        } else {
            (day(2026, 11, 1), day(2026, 12, 1), &mut self.november)
        };
        let cost = u.quantity * u.price;
        let gpu = u.gpus > 0;
        let description = if gpu || u.instance.contains("large") {
            format!(
                "${:.3} per On Demand Linux {} Instance Hour",
                u.price, u.instance
            )
        } else {
            format!("${:.3} per {}", u.price, u.instance)
        };
        let details = match u.naming {
            Naming::PriceDetails if gpu => format!(
                "{{\"InstanceType\":\"{}\",\"GpuCount\":{}}}",
                u.instance, u.gpus
            ),
            Naming::PriceDetails => format!("{{\"InstanceType\":\"{}\"}}", u.instance),
            _ => String::new(),
        };
        let usage_type = match u.naming {
            Naming::UsageType => format!("BoxUsage:{}", u.instance),
            _ => String::new(),
        };
        let service = if u.instance.starts_with("S3") {
            ("Storage", "Amazon Simple Storage Service", "storage")
        } else {
            ("Compute", "Amazon Elastic Compute Cloud", "instance")
        };
        table.row(vec![
            u.account.id.into(),
            u.account.name.into(),
            u.account.sub.into(),
            format!("{} production", u.account.name),
            "USD".into(),
            ts(period_start),
            ts(period_end),
            ts(u.start),
            ts(end),
            u.category.into(),
            u.class.into(),
            description,
            "Usage-Based".into(),
            fmt(u.quantity),
            u.unit.into(),
            fmt(u.quantity),
            u.unit.into(),
            "Standard".into(),
            fmt(cost),
            fmt(cost),
            fmt(cost),
            "Example Cloud".into(),
            "Example Cloud".into(),
            "Example Cloud Corp.".into(),
            u.region.into(),
            u.zone.into(),
            u.resource.clone(),
            service.2.into(),
            service.0.into(),
            service.1.into(),
            format!("SKU{:08X}", hash(u.instance)),
            details,
            usage_type,
        ]);
    }
}

fn fmt(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn hash(s: &str) -> u32 {
    s.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ b as u32).wrapping_mul(16_777_619)
    })
}

/// One kind of instance an account runs: everything a usage row needs but resource and time.
#[derive(Clone, Copy)]
struct Fleet<'a> {
    account: &'a Account,
    instance: &'static str,
    gpus: u32,
    price: f64,
    region: &'static str,
    zone: &'static str,
    naming: Naming,
}

impl<'a> Fleet<'a> {
    fn usage(&self, resource: String, start: NaiveDateTime, hours: f64) -> Usage<'a> {
        Usage {
            account: self.account,
            instance: self.instance,
            gpus: self.gpus,
            price: self.price,
            region: self.region,
            zone: self.zone,
            resource,
            start,
            hours,
            quantity: hours,
            unit: "Hours",
            naming: self.naming,
            category: "Usage",
            class: "",
        }
    }

    /// For each resource in turn, one row of `hours` starting at each of `starts`.
    fn rows(
        &self,
        billing: &mut Billing,
        resources: &[String],
        starts: &[NaiveDateTime],
        hours: f64,
    ) {
        for r in resources {
            for s in starts {
                billing.push(&self.usage(r.clone(), *s, hours));
            }
        }
    }
}

/// Midnights from `from` (inclusive) to `to` (exclusive), every `step` days.
fn days(from: NaiveDateTime, to: NaiveDateTime, step: i64) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    let mut d = from;
    while d < to {
        out.push(d);
        d += Duration::days(step);
    }
    out
}

fn names(count: usize, make: impl Fn(usize) -> String) -> Vec<String> {
    (0..count).map(make).collect()
}

/// The accounts: (billing account, display name, sub-account).
const ACCOUNTS: [(&str, &str, &str); 11] = [
    ("310000000001", "Northwind Analytics", "310000000001-01"),
    ("420000000002", "Zephyr Frontier AI", "420000000002-train"),
    ("420000000003", "Kestrel Vision", "420000000003-01"),
    ("420000000004", "Baltic Render", "420000000004-01"),
    ("420000000005", "Aurora Quant", "420000000005-01"),
    ("310000000006", "Harbor Robotics", "310000000006-01"),
    ("420000000007", "Lumen Labs", "420000000007-01"),
    (
        "999000000008",
        "Unregistered account",
        "=HYPERLINK(\"http://evil.example\",\"open\")",
    ),
    ("310000000009", "Prairie Health", "310000000009-01"),
    ("420000000010", "Script Holdings", "420000000010-01"),
    ("420000000011", "Chen Wei", "420000000011-01"),
];

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data-samples".to_string());
    let dir = Path::new(&dir);
    for sub in ["billing", "telemetry", "cip"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create sample folders");
    }
    let mut rng = Rng(0x00C1_F0A7_C400_2026);
    let mut billing = Billing {
        october: Table::new(BILLING_HEADER),
        november: Table::new(BILLING_HEADER),
    };
    let mut telemetry = Table::new(cipwatch::sources::telemetry::REQUIRED);
    let accounts: Vec<Account> = ACCOUNTS
        .iter()
        .map(|(id, name, sub)| Account { id, name, sub })
        .collect();
    let [northwind, zephyr, kestrel, baltic, aurora, harbor, lumen, orphan, _, script, chen] =
        &accounts[..]
    else {
        unreachable!("eleven accounts")
    };
    let fleet = |account, instance, gpus, price, region, zone, naming| Fleet {
        account,
        instance,
        gpus,
        price,
        region,
        zone,
        naming,
    };
    let (october, end) = (day(2026, 10, 1), day(2026, 11, 27));

    // Every account but the unregistered one has ordinary compute and storage: rows that are used
    // but are not accelerators.
    for (n, acct) in accounts.iter().filter(|a| a.id != orphan.id).enumerate() {
        let cpu = fleet(
            acct,
            "m5.xlarge",
            0,
            0.192,
            "us-east-1",
            "us-east-1a",
            Naming::PriceDetails,
        );
        let s3 = fleet(
            acct,
            "S3 Standard storage GB-Month",
            0,
            0.023,
            "us-east-1",
            "",
            Naming::Description,
        );
        for d in days(october, end, 1) {
            billing.push(&cpu.usage(format!("i-cpu{n:02}"), d, 24.0));
            let mut storage = s3.usage(format!("arn:aws:s3:::bucket-{n:02}"), d, 24.0);
            storage.quantity = (rng.range(50.0, 500.0) * 10.0).round() / 10.0;
            storage.unit = "GB-Mo";
            billing.push(&storage);
        }
    }

    // Northwind (US): steady inference on 4 x g5.12xlarge, daily rows.
    fleet(
        northwind,
        "g5.12xlarge",
        4,
        5.672,
        "us-east-1",
        "us-east-1a",
        Naming::Description,
    )
    .rows(
        &mut billing,
        &names(4, |i| format!("i-nw-g5-{i}")),
        &days(october, end, 1),
        24.0,
    );

    // Zephyr (SG): 256 x p5.48xlarge = 2,048 H100s, one placement group, 8 Nov to 26 Nov, daily
    // rows, with telemetry at 40-44% utilisation.
    let p5 = fleet(
        zephyr,
        "p5.48xlarge",
        8,
        98.32,
        "us-east-2",
        "us-east-2b",
        Naming::PriceDetails,
    );
    for resource in names(256, |i| format!("i-zf-p5-{i:03}")) {
        for d in days(day(2026, 11, 8), end, 1) {
            billing.push(&p5.usage(resource.clone(), d, 24.0));
            let util = (rng.range(0.40, 0.44) * 1000.0).round() / 1000.0;
            telemetry.row(telemetry_row(&resource, zephyr.id, d, &util.to_string()));
        }
    }

    // Kestrel (DE): inference-like, 3 x g6.xlarge in office hours on weekdays, hourly rows.
    let g6 = fleet(
        kestrel,
        "g6.xlarge",
        1,
        0.805,
        "eu-central-1",
        "eu-central-1a",
        Naming::Description,
    );
    for d in days(day(2026, 10, 5), end, 1) {
        if chrono::Datelike::weekday(&d).number_from_monday() <= 5 {
            for i in 0..3 {
                for h in 8..18 {
                    let mut u = g6.usage(format!("i-kv-g6-{i}"), d + Duration::hours(h), 1.0);
                    u.quantity = (rng.range(0.5, 1.0) * 100.0).round() / 100.0;
                    billing.push(&u);
                }
            }
        }
    }

    // Baltic (EE): bursty rendering on 4 x p4d.24xlarge, five 6-hour bursts.
    let p4d = fleet(
        baltic,
        "p4d.24xlarge",
        8,
        32.77,
        "eu-north-1",
        "eu-north-1a",
        Naming::Description,
    );
    for burst in [
        day(2026, 10, 3),
        day(2026, 10, 17),
        day(2026, 10, 29),
        day(2026, 11, 9),
        day(2026, 11, 21),
    ] {
        let hours: Vec<NaiveDateTime> = (0..6).map(|h| burst + Duration::hours(14 + h)).collect();
        p4d.rows(
            &mut billing,
            &names(4, |i| format!("i-br-p4d-{i}")),
            &hours,
            1.0,
        );
    }

    // Aurora (GB, CIP pending): 8 x p4d.24xlarge for 5 days, then a correction taking back 5 hours.
    let aq = fleet(
        aurora,
        "p4d.24xlarge",
        8,
        32.77,
        "us-west-2",
        "us-west-2c",
        Naming::PriceDetails,
    );
    aq.rows(
        &mut billing,
        &names(8, |i| format!("i-aq-p4d-{i}")),
        &days(day(2026, 11, 5), day(2026, 11, 10), 1),
        24.0,
    );
    let mut correction = aq.usage("i-aq-p4d-0".into(), day(2026, 11, 9), 24.0);
    correction.quantity = -5.0;
    correction.class = "Correction";
    billing.push(&correction);

    // Harbor (US person, 40% foreign owner): 2 x p5.48xlarge for 10 days in October.
    fleet(
        harbor,
        "p5.48xlarge",
        8,
        98.32,
        "us-east-1",
        "us-east-1b",
        Naming::UsageType,
    )
    .rows(
        &mut billing,
        &names(2, |i| format!("i-hr-p5-{i}")),
        &days(day(2026, 10, 20), day(2026, 10, 30), 1),
        24.0,
    );
    // Lumen (JP, through a foreign reseller with no CIP on file): 16 x g6e.48xlarge for 3 days.
    fleet(
        lumen,
        "g6e.48xlarge",
        8,
        30.131,
        "ap-northeast-1",
        "ap-northeast-1a",
        Naming::UsageType,
    )
    .rows(
        &mut billing,
        &names(16, |i| format!("i-ll-g6e-{i:02}")),
        &days(day(2026, 11, 12), day(2026, 11, 15), 1),
        24.0,
    );
    // No CIP record at all: 1 x g5.xlarge for 200 hours.
    fleet(
        orphan,
        "g5.xlarge",
        1,
        1.006,
        "us-east-1",
        "us-east-1c",
        Naming::Description,
    )
    .rows(
        &mut billing,
        &["i-or-g5-0".into()],
        &days(day(2026, 11, 1), day(2026, 11, 26), 1),
        8.0,
    );
    // Script Holdings (CY, verification failed): 150 hours of g5.2xlarge.
    fleet(
        script,
        "g5.2xlarge",
        1,
        1.212,
        "eu-west-1",
        "eu-west-1a",
        Naming::Description,
    )
    .rows(
        &mut billing,
        &["i-sh-g5-0".into()],
        &days(day(2026, 11, 3), day(2026, 11, 18), 1),
        10.0,
    );
    // Chen Wei (individual, CN): a few hours on a T4.
    fleet(
        chen,
        "g4dn.xlarge",
        1,
        0.526,
        "us-west-2",
        "us-west-2a",
        Naming::Description,
    )
    .rows(
        &mut billing,
        &["i-cw-g4-0".into()],
        &days(day(2026, 11, 2), day(2026, 11, 20), 3),
        3.0,
    );

    // Bad rows: each must be quarantined with its reason, none silently dropped.
    let nobody = Account {
        id: "",
        name: "",
        sub: "",
    };
    let bad = |mutate: &dyn Fn(&mut Usage)| {
        let mut u = p4d.usage("i-br-p4d-9".into(), day(2026, 11, 14), 1.0);
        mutate(&mut u);
        u
    };
    for u in [
        bad(&|u| u.quantity = -3.0),
        bad(&|u| u.unit = "Bananas"),
        bad(&|u| u.instance = "p7.96xlarge"),
        bad(&|u| u.hours = -2.0),
        Usage {
            account: &nobody,
            ..bad(&|_| {})
        },
    ] {
        billing.push(&u);
    }
    billing
        .november
        .out
        .push_str(&billing_line_with_bad_timestamp());

    write(dir, "billing/focus-2026-10.csv", &billing.october.out);
    write(dir, "billing/focus-2026-11.csv", &billing.november.out);
    // One telemetry row with an impossible utilisation.
    telemetry.row(telemetry_row(
        "i-zf-p5-000",
        zephyr.id,
        day(2026, 11, 26),
        "1.7",
    ));
    write(dir, "telemetry/accelerator-usage.csv", &telemetry.out);
    write_registry(dir);
}

/// A day of telemetry for one Zephyr p5.48xlarge in its placement group.
fn telemetry_row(resource: &str, account: &str, d: NaiveDateTime, util: &str) -> Vec<String> {
    [
        resource,
        account,
        &ts(d),
        &ts(d + Duration::days(1)),
        "p5.48xlarge",
        "8",
        util,
        "us-east-2b",
        "us-east-2b/pg-zephyr-a",
    ]
    .map(String::from)
    .to_vec()
}

/// A row whose charge period start is not a timestamp (appended as text, exactly as a broken
/// export would write it).
fn billing_line_with_bad_timestamp() -> String {
    let mut cells = vec![String::new(); BILLING_HEADER.len()];
    let set = |cells: &mut Vec<String>, name: &str, value: &str| {
        let i = BILLING_HEADER.iter().position(|h| *h == name).unwrap();
        cells[i] = value.to_string();
    };
    for (k, v) in [
        ("BillingAccountId", "420000000004"),
        ("ChargePeriodStart", "2026-11-31 25:00"),
        ("ChargePeriodEnd", "2026-11-20T01:00:00Z"),
        ("ChargeCategory", "Usage"),
        ("ConsumedQuantity", "1"),
        ("ConsumedUnit", "Hours"),
        ("PricingQuantity", "1"),
        ("PricingUnit", "Hours"),
        ("BilledCost", "32.77"),
        ("EffectiveCost", "32.77"),
        (
            "ChargeDescription",
            "$32.770 per On Demand Linux p4d.24xlarge Instance Hour",
        ),
    ] {
        set(&mut cells, k, v);
    }
    let mut s = cells.join(",");
    s.push('\n');
    s
}

/// The CIP registry is hand-written (a dozen customers, each there for a reason named in
/// `main`), so it is kept as text: Prairie Health is registered twice (duplicate key), Granite Ledger
/// has an invalid `us_person`, one owner holds 140%, one IP address is impossible, and Script
/// Holdings carries markup and a spreadsheet formula for the escaping tests.
fn write_registry(dir: &Path) {
    write(dir, "cip/customers.csv", CUSTOMERS);
    write(dir, "cip/beneficial_owners.csv", BENEFICIAL_OWNERS);
    write(dir, "cip/access_log.csv", ACCESS_LOG);
    write(dir, "cip/resellers.csv", RESELLERS);
}

const CUSTOMERS: &str = r#"account_id,legal_name,customer_type,country,address,email,phone,payment_method,payment_identifier,payment_source,national_id,us_person,verification_status,verification_method,verified_at,opened_at,closed_at,reseller_id
310000000001,Northwind Analytics Inc.,entity,US,"500 Lake Shore Dr, Chicago, IL 60611",it@northwind.example,+1 312 555 0101,card,4111111111111111,Northwind Analytics Inc. operating account,,us,verified,documentary,2025-03-02T10:00:00Z,2025-02-27T09:00:00Z,,
420000000002,Zephyr Frontier AI Pte. Ltd.,entity,SG,"1 Raffles Place #40-01, Singapore 048616",ops@zephyr.example,+65 6555 0102,wire,DE89370400440532013000,"Zephyr Frontier AI Pte. Ltd., DBS Bank",UEN-201912345K,foreign,verified,documentary,2026-09-20T08:30:00Z,2026-09-15T08:00:00Z,,
420000000003,Kestrel Vision GmbH,entity,DE,"Torstrasse 49, 10119 Berlin",cloud@kestrel.example,+49 30 5550103,card,5500005555555559,Kestrel Vision GmbH,HRB-201234,foreign,verified,documentary,2026-01-12T12:00:00Z,2026-01-10T12:00:00Z,,
420000000004,Baltic Render OU,entity,EE,"Narva mnt 5, 10117 Tallinn",render@baltic.example,+372 555 0104,card,378282246310005,Baltic Render OU,EE-14567890,foreign,verified,non_documentary,2026-04-03T15:00:00Z,2026-04-01T15:00:00Z,,
420000000005,Aurora Quant Ltd,entity,GB,"10 Finsbury Square, London EC2A 1AF",tech@aurora.example,+44 20 5550 0105,card,4012888888881881,Aurora Quant Ltd,GB-12345678,foreign,pending,,,2026-10-28T10:00:00Z,,
310000000006,Harbor Robotics LLC,entity,US,"200 Pier Ave, Seattle, WA 98101",infra@harbor.example,+1 206 555 0106,ach,000123456789,"Harbor Robotics LLC, First Bank",EIN-91-1234567,us,verified,documentary,2025-11-04T09:00:00Z,2025-11-01T09:00:00Z,,
420000000007,Lumen Labs KK,entity,JP,"1-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005",admin@lumen.example,+81 3 5550 0107,reseller_invoice,RS-NL-01/INV-7781,Meridian Cloud Services B.V.,JP-0100-01-123456,foreign,verified,non_documentary,2026-10-30T02:00:00Z,2026-10-29T02:00:00Z,,RS-NL-01
310000000009,Prairie Health Systems,entity,US,"12 Main St, Omaha, NE 68102",it@prairie.example,+1 402 555 0109,card,6011111111111117,Prairie Health Systems,,us,verified,documentary,2024-05-05T09:00:00Z,2024-05-01T09:00:00Z,,
310000000009,Prairie Health Systems Inc,entity,US,"12 Main Street, Omaha, NE 68102",it@prairie.example,+1 402 555 0109,card,6011111111111117,Prairie Health Systems,,us,verified,documentary,2024-05-05T09:00:00Z,2024-05-01T09:00:00Z,,
420000000010,<script>alert(1)</script> Holdings Ltd,entity,CY,"=HYPERLINK(""http://evil.example"",""address"")",x@script.example,+357 22 555010,card,5105105105105100,Script Holdings Ltd,CY-HE-123456,foreign,failed,documentary,,2026-10-30T10:00:00Z,,
420000000011,Chen Wei,individual,CN,"88 Century Ave, Pudong, Shanghai",chen.wei@mail.example,+86 21 5550 0111,card,4000056655665556,personal card,P-E12345678,foreign,verified,non_documentary,2026-06-01T03:00:00Z,2026-05-30T03:00:00Z,,
310000000012,Granite Ledger Co,entity,US,"9 Wall St, New York, NY 10005",it@granite.example,+1 212 555 0112,card,4111111111111111,Granite Ledger Co,,maybe,verified,documentary,2025-01-01T00:00:00Z,2024-12-30T00:00:00Z,,RS-US-02
"#;

const BENEFICIAL_OWNERS: &str = r#"account_id,name,country,ownership_pct,substantial_control,verification_status
310000000001,Dana Whitfield,US,60,true,verified
310000000001,Marcus Lee,US,40,false,verified
420000000002,Arjun Menon,SG,55,true,verified
420000000002,Li Na,CN,30,false,verified
420000000005,Oliver Grant,GB,100,true,pending
310000000006,Sam Ortiz,US,60,true,verified
310000000006,Zhang Min,CN,40,false,verified
420000000007,Haruto Sato,JP,70,true,verified
310000000009,Ruth Olsen,US,140,true,verified
"#;

const ACCESS_LOG: &str = r#"account_id,ip_address,accessed_at,action
420000000002,203.0.113.24,2026-11-08T01:12:00Z,admin
420000000002,203.0.113.24,2026-11-15T02:40:00Z,access
420000000002,2001:db8:42::17,2026-11-20T11:05:00Z,admin
420000000005,198.51.100.7,2026-11-05T09:00:00Z,admin
420000000007,192.0.2.77,2026-11-12T00:30:00Z,access
310000000001,198.51.100.200,2026-11-02T14:00:00Z,access
420000000010,999.1.1.1,2026-11-03T10:00:00Z,access
"#;

const RESELLERS: &str = r#"reseller_id,name,country,cip_on_file,cip_attested_at
RS-NL-01,Meridian Cloud Services B.V.,NL,false,
RS-US-02,Keystone Cloud Partners LLC,US,true,2026-02-01T00:00:00Z
"#;

fn write(dir: &Path, relative: &str, text: &str) {
    std::fs::write(dir.join(relative), text).unwrap_or_else(|e| panic!("writing {relative}: {e}"));
}
