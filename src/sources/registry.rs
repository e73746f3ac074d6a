//! The CIP registry: customers, beneficial owners, the access log and resellers. Each table is
//! declared once ([`registered!`]): its columns with what each holds, whether the file must have
//! it and whether a row must fill it, and what it means. From that declaration come the columns a
//! file must have, the checks (an enumeration is checked, so a typo in `us_person` must not make a
//! foreign customer look American; dates parsed; country codes checked), the canonical columns,
//! the row struct the documents read, and the tables of docs/inputs.md (a test compares them).
//! Duplicated keys are quarantined on every copy.

use polars::prelude::*;

use super::columns::{
    boolean, boolean_check, country_check, enum_check, present_check, timestamp_check, Check, Cols,
};
use super::files::InputFile;
use super::{first_failure, flag_duplicates, load_all, Loaded, Scan, ROW};
use crate::error::Result;

/// What a registry column holds, and so how it is checked and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// An identifier: invisible characters removed, refused when it holds a control character.
    Key,
    /// Text, trimmed.
    Text,
    /// Text, read lower-cased.
    Lower,
    /// One of these words (any case; read lower-cased).
    OneOf(&'static [&'static str]),
    /// An ISO 3166-1 alpha-2 country code (any case; read upper-cased).
    Country,
    /// A timestamp (an ISO 8601 instant or date, or a typed Parquet timestamp), read as UTC.
    Timestamp,
    /// A number from 0 to 100.
    Percent,
    /// true/false, yes/no, y/n or 1/0 (any case).
    Boolean,
    /// An IPv4 or IPv6 address, read in one spelling ([`canonical_ip`]).
    Ip,
}

/// Whether a file must have a column and a row must fill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// In every file, never blank (a blank cell quarantines the row `missing_value`).
    Required,
    /// In every file; a cell may be blank.
    Expected,
    /// May be absent from a file (an older registry); read as blank then.
    Optional,
}

/// One declared registry column.
#[derive(Debug, Clone, Copy)]
pub struct RegistryColumn {
    pub name: &'static str,
    pub value: Value,
    pub presence: Presence,
    pub doc: &'static str,
}

/// One declared registry table.
#[derive(Debug, Clone, Copy)]
pub struct RegistryTable {
    /// The input's name (`customers`; the configuration's `[registry]` key).
    pub name: &'static str,
    pub doc: &'static str,
    /// The column each row is identified by: a value on two rows quarantines both
    /// `duplicate_key`.
    pub unique: Option<&'static str>,
    pub columns: &'static [RegistryColumn],
}

/// Declares a registry table: its row struct (every field reads a null as `None` or its type's
/// default) and the [`RegistryTable`] naming each column's value, presence and meaning.
macro_rules! registered {
    (
        $(#[doc = $doc:literal])*
        $decl:ident: $row:ident = $name:literal $(, unique $unique:literal)? {
            $( $col:ident: $ty:ty [$value:ident $(($arg:expr))?] $presence:ident, $cdoc:literal; )*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
        pub struct $row {
            $(
                #[doc = $cdoc]
                #[serde(deserialize_with = "crate::sources::columns::null_as_default")]
                pub $col: $ty,
            )*
        }

        #[doc = concat!("The declaration of `", $name, "` (see [`", stringify!($row), "`]).")]
        pub const $decl: RegistryTable = RegistryTable {
            name: $name,
            doc: concat!($($doc, " "),*),
            unique: registered!(@unique $($unique)?),
            columns: &[ $(
                RegistryColumn {
                    name: stringify!($col),
                    value: Value::$value $(($arg))?,
                    presence: Presence::$presence,
                    doc: $cdoc,
                },
            )* ],
        };
    };
    (@unique) => { None };
    (@unique $unique:literal) => { Some($unique) };
}

/// The statuses a CIP verification can be in (`verification_status` of customers and owners).
pub const VERIFICATION_STATUSES: &[&str] =
    &["verified", "pending", "failed", "not_required", "exempt"];

registered! {
    /// A CIP customer record: one per billing account.
    CUSTOMERS: CustomerRow = "customers", unique "account_id" {
        account_id: String [Key] Required, "The billing account the customer holds.";
        legal_name: Option<String> [Text] Expected, "The customer's name as verified.";
        customer_type: Option<String> [OneOf(&["individual", "entity"])] Expected, "A natural person or a legal entity.";
        country: Option<String> [Country] Expected, "The country of the customer's address.";
        address: Option<String> [Text] Expected, "The customer's address.";
        email: Option<String> [Text] Expected, "The customer's email address.";
        phone: Option<String> [Text] Expected, "The customer's telephone number.";
        payment_method: Option<String> [Text] Expected, "How the customer pays (`card`, `wire`, ...).";
        payment_identifier: Option<String> [Text] Expected, "The card or account number paid from (masked in every output).";
        payment_source: Option<String> [Text] Expected, "Who the payment comes from.";
        national_id: Option<String> [Text] Expected, "A government identification number (masked in every output).";
        us_person: String [OneOf(&["us", "foreign", "unknown"])] Required, "Whether the customer is a United States person; `unknown` counts as foreign.";
        verification_status: Option<String> [OneOf(VERIFICATION_STATUSES)] Expected, "Where the CIP verification of the customer stands.";
        verification_method: Option<String> [OneOf(&["documentary", "non_documentary"])] Expected, "How the customer's identity was verified.";
        verified_at: Option<String> [Timestamp] Expected, "When the verification was completed.";
        opened_at: Option<String> [Timestamp] Expected, "When the account was opened.";
        closed_at: Option<String> [Timestamp] Expected, "When the account was closed.";
        reseller_id: Option<String> [Key] Expected, "The reseller the account was sold through (`resellers.reseller_id`).";
        headquarters_country: Option<String> [Country] Optional, "The country of the customer's headquarters, read by a profile whose subject test is `country_group` (no value counts as in the named groups).";
        ultimate_parent_country: Option<String> [Country] Optional, "The country of its ultimate parent's headquarters, read by the same test (no value counts as no parent).";
    }
}

registered! {
    /// A beneficial owner of a customer: one row per owner and account.
    BENEFICIAL_OWNERS: OwnerRow = "beneficial_owners" {
        account_id: String [Key] Required, "The billing account of the customer owned.";
        name: String [Text] Required, "The owner's name.";
        country: Option<String> [Country] Expected, "The owner's country.";
        ownership_pct: Option<f64> [Percent] Expected, "The share of the customer the owner holds, percent.";
        substantial_control: Option<bool> [Boolean] Expected, "Whether the owner exercises substantial control.";
        verification_status: Option<String> [OneOf(VERIFICATION_STATUSES)] Expected, "Where the CIP verification of the owner stands.";
        address: Option<String> [Text] Optional, "The owner's address (the report shows the columns any owner has).";
        email: Option<String> [Text] Optional, "The owner's email address.";
        phone: Option<String> [Text] Optional, "The owner's telephone number.";
        payment_method: Option<String> [Lower] Optional, "How the owner pays, where it pays for the account.";
    }
}

registered! {
    /// An access to an account: the IP addresses the CIP records.
    ACCESS_LOG: AccessRow = "access_log" {
        account_id: String [Key] Required, "The billing account accessed.";
        ip_address: String [Ip] Required, "The address it was accessed from.";
        accessed_at: String [Timestamp] Required, "When.";
        action: Option<String> [OneOf(&["access", "admin"])] Expected, "An ordinary access or an administrative one.";
    }
}

registered! {
    /// A reseller accounts are sold through, and whether it runs its own CIP.
    RESELLERS: ResellerRow = "resellers", unique "reseller_id" {
        reseller_id: String [Key] Required, "The reseller's identifier.";
        name: Option<String> [Text] Expected, "The reseller's name.";
        country: Option<String> [Country] Expected, "The reseller's country: other than `US` makes it a foreign reseller.";
        cip_on_file: Option<bool> [Boolean] Expected, "Whether the reseller's own CIP is on file.";
        cip_attested_at: Option<String> [Timestamp] Expected, "When the reseller last attested it.";
    }
}

/// Every registry table, in the order they are loaded.
pub const REGISTRY: [&RegistryTable; 4] = [&CUSTOMERS, &BENEFICIAL_OWNERS, &ACCESS_LOG, &RESELLERS];

impl RegistryTable {
    /// Loads the table's files: each must have every column not [`Presence::Optional`]; each row
    /// is checked column by column in declared order (the first failure is its quarantine rule)
    /// and read into the canonical columns; with a unique column, duplicates are quarantined.
    ///
    /// Errors: input (exit 3) naming the file and a missing column; as `sources::load_all`.
    pub fn load(&self, files: Vec<InputFile>) -> Result<Loaded> {
        let in_file: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| c.presence != Presence::Optional)
            .map(|c| c.name)
            .collect();
        let loaded = load_all(self.name, files, &in_file, |scan| self.canonical(scan))?;
        match self.unique {
            Some(key) => flag_duplicates(loaded, key),
            None => Ok(loaded),
        }
    }

    /// One file's rows as the canonical columns, with the first failed check's rule and reason.
    fn canonical(&self, scan: &Scan) -> Result<LazyFrame> {
        let c = Cols::new(&scan.schema);
        let checks = self.columns.iter().flat_map(|col| col.checks(&c)).collect();
        let [rule, reason] = first_failure(checks);
        let mut select = vec![col(ROW)];
        select.extend(self.columns.iter().map(|col| col.read(&c).alias(col.name)));
        select.extend([rule, reason]);
        Ok(scan.lf.clone().select(select))
    }

    /// The table for docs/inputs.md: what it is, then its columns (column, whether the file must
    /// have it, what it holds, meaning).
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "{}\n\n| column | in the file | holds | meaning |\n|---|---|---|---|\n",
            self.doc.trim()
        );
        for c in self.columns {
            let unique = match self.unique == Some(c.name) {
                true => ", unique",
                false => "",
            };
            out.push_str(&format!(
                "| `{}` | {}{unique} | {} | {} |\n",
                c.name,
                c.presence.word(),
                c.value.word(),
                c.doc.replace('|', "\\|")
            ));
        }
        out
    }
}

impl RegistryColumn {
    /// The column's checks, in order: filled (when required), a clean key, a readable value.
    fn checks(&self, c: &Cols) -> Vec<Check> {
        let n = self.name;
        let mut checks = Vec::new();
        if self.presence == Presence::Required {
            checks.push(present_check(c, n));
        }
        match self.value {
            Value::Key => checks.push(c.key_check(n)),
            Value::Text | Value::Lower => {}
            Value::OneOf(allowed) => checks.push(enum_check(c, n, allowed)),
            Value::Country => checks.push(country_check(c, n)),
            Value::Timestamp => checks.push(timestamp_check(c, n)),
            Value::Boolean => checks.push(boolean_check(c, n)),
            Value::Percent => {
                let pct = c.number(n);
                checks.push((
                    c.bad_number(n),
                    "bad_number",
                    c.quoted(&format!("{n} is not a number:"), n),
                ));
                checks.push((
                    pct.clone().lt(lit(0.0)).or(pct.gt(lit(100.0))),
                    "out_of_range",
                    c.quoted(&format!("{n} must be between 0 and 100, got"), n),
                ));
            }
            Value::Ip => checks.push((
                c.text(n).is_not_null().and(ip_addresses(c, n).is_null()),
                "bad_value",
                c.quoted(&format!("{n} is not an IP address:"), n),
            )),
        }
        checks
    }

    /// The column as read: cleaned and typed by its value.
    fn read(&self, c: &Cols) -> Expr {
        let n = self.name;
        match self.value {
            Value::Key => c.key(n),
            Value::Text => c.text(n),
            Value::Lower | Value::OneOf(_) => c.lower(n),
            Value::Country => c.text(n).str().to_uppercase(),
            Value::Timestamp => c.timestamp(n),
            Value::Percent => c.number(n),
            Value::Boolean => boolean(c, n),
            Value::Ip => ip_addresses(c, n),
        }
    }
}

impl Value {
    /// What the column holds, as the docs say it.
    pub fn word(self) -> String {
        match self {
            Value::Key => "identifier".into(),
            Value::Text => "text".into(),
            Value::Lower => "text (read lower-cased)".into(),
            Value::OneOf(words) => format!("one of {}", words.join("\\|")),
            Value::Country => "ISO 3166-1 alpha-2 code".into(),
            Value::Timestamp => "timestamp".into(),
            Value::Percent => "number, 0–100".into(),
            Value::Boolean => "true/false (yes/no, y/n, 1/0)".into(),
            Value::Ip => "IPv4 or IPv6 address".into(),
        }
    }
}

impl Presence {
    /// Whether the file must have the column, as the docs say it.
    pub fn word(self) -> &'static str {
        match self {
            Presence::Required => "required, never blank",
            Presence::Expected => "required",
            Presence::Optional => "optional",
        }
    }
}

/// The column `name` as canonical IP addresses ([`canonical_ip`]); null where not an address.
fn ip_addresses(c: &Cols, name: &str) -> Expr {
    c.text(name).map(canonical_ips, |_, f| {
        Ok(Field::new(f.name().clone(), DataType::String))
    })
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
