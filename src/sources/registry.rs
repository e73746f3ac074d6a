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
pub const BENEFICIAL_OWNERS: &[&str] = &[
    "account_id",
    "name",
    "country",
    "ownership_pct",
    "substantial_control",
    "verification_status",
];
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
        rule,
        reason,
    ]))
}

fn access_log(scan: &Scan) -> Result<LazyFrame> {
    let c = Cols::new(&scan.schema);
    let ip = c.text("ip_address");
    let ipv4 = r"^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$";
    let ipv6 = r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$";
    let valid_ip = ip
        .clone()
        .str()
        .contains(lit(ipv4), false)
        .or(ip.clone().str().contains(lit(ipv6), false));
    let checks = vec![
        present_check(&c, "account_id"),
        c.key_check("account_id"),
        present_check(&c, "ip_address"),
        (
            ip.clone().is_not_null().and(valid_ip.not()),
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
        ip.alias("ip_address"),
        c.timestamp("accessed_at").alias("accessed_at"),
        c.lower("action").alias("action"),
        rule,
        reason,
    ]))
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
