//! The CIP registry: customers, beneficial owners, the access log and resellers. Enumerations are
//! checked (a typo in `us_person` must not make a foreign customer look American), dates parsed,
//! country codes checked, and duplicated keys quarantined on every copy.

use polars::prelude::*;

use super::columns::{
    boolean, boolean_check, country_check, enum_check, present_check, timestamp_check, Cols,
};
use super::files::InputFile;
use super::{first_failure, flag_duplicates, load_all, Loaded, Scan, ROW};
use crate::error::Result;

pub const CUSTOMERS: &[&str] = &[
    "account_id",
    "legal_name",
    "customer_type",
    "country",
    "address",
    "email",
    "phone",
    "payment_method",
    "payment_identifier",
    "payment_source",
    "national_id",
    "us_person",
    "verification_status",
    "verification_method",
    "verified_at",
    "opened_at",
    "closed_at",
    "reseller_id",
];
/// Optional columns of `customers`: the country (ISO 3166-1 alpha-2) of the customer's headquarters
/// and of its ultimate parent, read by a profile whose subject test is `country_group`
/// (`queries/08_foreign_status.sql`). Checked like `country`; a registry without them still loads
/// (every headquarters is then unknown, which that test counts as in the groups).
pub const CUSTOMERS_OPTIONAL: &[&str] = &["headquarters_country", "ultimate_parent_country"];
pub const BENEFICIAL_OWNERS: &[&str] = &[
    "account_id",
    "name",
    "country",
    "ownership_pct",
    "substantial_control",
    "verification_status",
];
/// Optional columns of `beneficial_owners` (a registry without them still loads; the report shows
/// them where present).
pub const BENEFICIAL_OWNERS_OPTIONAL: &[&str] = &["address", "email", "phone", "payment_method"];
pub const ACCESS_LOG: &[&str] = &["account_id", "ip_address", "accessed_at", "action"];
pub const RESELLERS: &[&str] = &[
    "reseller_id",
    "name",
    "country",
    "cip_on_file",
    "cip_attested_at",
];

pub const VERIFICATION_STATUSES: &[&str] =
    &["verified", "pending", "failed", "not_required", "exempt"];

pub fn load_customers(files: Vec<InputFile>) -> Result<Loaded> {
    flag_duplicates(
        load_all("customers", files, CUSTOMERS, customers)?,
        "account_id",
    )
}

pub fn load_beneficial_owners(files: Vec<InputFile>) -> Result<Loaded> {
    load_all(
        "beneficial_owners",
        files,
        BENEFICIAL_OWNERS,
        beneficial_owners,
    )
}

pub fn load_access_log(files: Vec<InputFile>) -> Result<Loaded> {
    load_all("access_log", files, ACCESS_LOG, access_log)
}

pub fn load_resellers(files: Vec<InputFile>) -> Result<Loaded> {
    flag_duplicates(
        load_all("resellers", files, RESELLERS, resellers)?,
        "reseller_id",
    )
}

fn customers(scan: &Scan) -> Result<LazyFrame> {
    let c = Cols::new(&scan.schema);
    let mut checks = vec![
        present_check(&c, "account_id"),
        c.key_check("account_id"),
        c.key_check("reseller_id"),
        present_check(&c, "us_person"),
    ];
    checks.push(enum_check(&c, "customer_type", &["individual", "entity"]));
    checks.push(enum_check(&c, "us_person", &["us", "foreign", "unknown"]));
    checks.push(enum_check(&c, "verification_status", VERIFICATION_STATUSES));
    checks.push(enum_check(
        &c,
        "verification_method",
        &["documentary", "non_documentary"],
    ));
    checks.push(country_check(&c, "country"));
    for name in CUSTOMERS_OPTIONAL {
        checks.push(country_check(&c, name));
    }
    for name in ["verified_at", "opened_at", "closed_at"] {
        checks.push(timestamp_check(&c, name));
    }
    let [rule, reason] = first_failure(checks);
    let text = |n: &str| c.text(n).alias(n);
    let lower = |n: &str| c.lower(n).alias(n);
    let stamp = |n: &str| c.timestamp(n).alias(n);
    Ok(scan.lf.clone().select([
        col(ROW),
        c.key("account_id").alias("account_id"),
        text("legal_name"),
        lower("customer_type"),
        c.text("country").str().to_uppercase().alias("country"),
        text("address"),
        text("email"),
        text("phone"),
        text("payment_method"),
        text("payment_identifier"),
        text("payment_source"),
        text("national_id"),
        lower("us_person"),
        lower("verification_status"),
        lower("verification_method"),
        stamp("verified_at"),
        stamp("opened_at"),
        stamp("closed_at"),
        c.key("reseller_id").alias("reseller_id"),
        c.text("headquarters_country")
            .str()
            .to_uppercase()
            .alias("headquarters_country"),
        c.text("ultimate_parent_country")
            .str()
            .to_uppercase()
            .alias("ultimate_parent_country"),
        rule,
        reason,
    ]))
}

fn beneficial_owners(scan: &Scan) -> Result<LazyFrame> {
    let c = Cols::new(&scan.schema);
    let pct = c.number("ownership_pct");
    let checks = vec![
        present_check(&c, "account_id"),
        c.key_check("account_id"),
        present_check(&c, "name"),
        country_check(&c, "country"),
        (
            c.bad_number("ownership_pct"),
            "bad_number",
            c.quoted("ownership_pct is not a number:", "ownership_pct"),
        ),
        (
            pct.clone().lt(lit(0.0)).or(pct.clone().gt(lit(100.0))),
            "out_of_range",
            c.quoted(
                "ownership_pct must be between 0 and 100, got",
                "ownership_pct",
            ),
        ),
        boolean_check(&c, "substantial_control"),
        enum_check(&c, "verification_status", VERIFICATION_STATUSES),
    ];
    let [rule, reason] = first_failure(checks);
    Ok(scan.lf.clone().select([
        col(ROW),
        c.key("account_id").alias("account_id"),
        c.text("name").alias("name"),
        c.text("country").str().to_uppercase().alias("country"),
        pct.alias("ownership_pct"),
        boolean(&c, "substantial_control").alias("substantial_control"),
        c.lower("verification_status").alias("verification_status"),
        c.text("address").alias("address"),
        c.text("email").alias("email"),
        c.text("phone").alias("phone"),
        c.lower("payment_method").alias("payment_method"),
        rule,
        reason,
    ]))
}

fn access_log(scan: &Scan) -> Result<LazyFrame> {
    let c = Cols::new(&scan.schema);
    let ip = c.text("ip_address");
    let canonical = ip.clone().map(canonical_ips, |_, f| {
        Ok(Field::new(f.name().clone(), DataType::String))
    });
    let checks = vec![
        present_check(&c, "account_id"),
        c.key_check("account_id"),
        present_check(&c, "ip_address"),
        (
            ip.clone().is_not_null().and(canonical.clone().is_null()),
            "bad_value",
            c.quoted("ip_address is not an IP address:", "ip_address"),
        ),
        present_check(&c, "accessed_at"),
        timestamp_check(&c, "accessed_at"),
        enum_check(&c, "action", &["access", "admin"]),
    ];
    let [rule, reason] = first_failure(checks);
    Ok(scan.lf.clone().select([
        col(ROW),
        c.key("account_id").alias("account_id"),
        canonical.alias("ip_address"),
        c.timestamp("accessed_at").alias("accessed_at"),
        c.lower("action").alias("action"),
        rule,
        reason,
    ]))
}

/// An IP address in one spelling (`std::net::IpAddr`: every IPv6 spelling of an address is one
/// value, and an IPv4-mapped IPv6 address is its IPv4 address); `None` for text that is not one.
pub fn canonical_ip(text: &str) -> Option<std::net::IpAddr> {
    match text.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V6(v6) => Some(
            v6.to_ipv4_mapped()
                .map(std::net::IpAddr::V4)
                .unwrap_or(std::net::IpAddr::V6(v6)),
        ),
        v4 => Some(v4),
    }
}

/// The `ip_address` column in canonical spelling ([`canonical_ip`]); null where not an address.
fn canonical_ips(c: Column) -> PolarsResult<Column> {
    let out: StringChunked = c
        .str()?
        .iter()
        .map(|v| v.and_then(canonical_ip).map(|ip| ip.to_string()))
        .collect();
    Ok(out.with_name(c.name().clone()).into_column())
}

fn resellers(scan: &Scan) -> Result<LazyFrame> {
    let c = Cols::new(&scan.schema);
    let checks = vec![
        present_check(&c, "reseller_id"),
        c.key_check("reseller_id"),
        country_check(&c, "country"),
        boolean_check(&c, "cip_on_file"),
        timestamp_check(&c, "cip_attested_at"),
    ];
    let [rule, reason] = first_failure(checks);
    Ok(scan.lf.clone().select([
        col(ROW),
        c.key("reseller_id").alias("reseller_id"),
        c.text("name").alias("name"),
        c.text("country").str().to_uppercase().alias("country"),
        boolean(&c, "cip_on_file").alias("cip_on_file"),
        c.timestamp("cip_attested_at").alias("cip_attested_at"),
        rule,
        reason,
    ]))
}
