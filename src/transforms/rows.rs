//! Typed rows of the tables the documents read. Unknown columns are ignored, so a table may grow
//! without breaking a document; a missing column is an error naming the table.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An account's level, most severe first (`10_flags.sql`); written as in the tables
/// (`REPORTABLE`, `WATCH`, `CIP_GAP`, `CLEAR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// Foreign, and the profile's tests are met: a report is due.
    Reportable,
    /// Foreign, approaching the tests or showing signs of splitting a run: for review.
    Watch,
    /// Foreign, material accelerator use, and the CIP record is not verified.
    CipGap,
    /// None of these.
    Clear,
}

impl Level {
    /// Every level, most severe first.
    pub const ALL: [Level; 4] = [Level::Reportable, Level::Watch, Level::CipGap, Level::Clear];

    /// The level as the tables write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Reportable => "REPORTABLE",
            Level::Watch => "WATCH",
            Level::CipGap => "CIP_GAP",
            Level::Clear => "CLEAR",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `level == "REPORTABLE"`: compares with the level's name as the tables write it.
impl PartialEq<str> for Level {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Level {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FlagRow {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub account_id: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub is_foreign: bool,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub foreign_basis: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub cip_status: String,
    pub verification_method: Option<String>,
    pub reseller_id: Option<String>,
    pub reseller_name: Option<String>,
    pub reseller_country: Option<String>,
    pub reseller_cip_on_file: Option<bool>,
    pub accelerators: Option<String>,
    pub sub_accounts: Option<String>,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub accelerator_hours: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub telemetry_accelerator_hours: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub est_ops: f64,
    pub est_ops_low: Option<f64>,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub upper_ops: f64,
    pub training_confidence: Option<f64>,
    pub entity_id: Option<String>,
    pub entity_size: Option<i64>,
    pub entity_est_ops: Option<f64>,
    pub peak_colocated_ops_per_s: Option<f64>,
    pub peak_colocated_accelerators: Option<f64>,
    pub max_interconnect_gbps: Option<f64>,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub ops_met: bool,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub peak_met: bool,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub interconnect_met: bool,
    /// Never null: `10_flags.sql` gives every account a level.
    pub level: Level,
    pub reasons: Option<String>,
    /// Counsel's adopted knowledge date, else `first_flagged_date` (REPORTABLE accounts).
    pub knowledge_date: Option<String>,
    /// The as-of date of the first filing run that found the account REPORTABLE: the screening's
    /// clock (`knowledge.json`).
    pub first_flagged_date: Option<String>,
    pub report_due_date: Option<String>,
    pub projected_crossing_date: Option<String>,
    /// The day the data first crossed the operations threshold (REPORTABLE accounts).
    pub crossing_date: Option<String>,
    /// Projected crossing plus the reporting period, for a WATCH account meeting every other test.
    pub provisional_due_date: Option<String>,
    pub days_to_crossing: Option<f64>,
    pub first_usage: Option<String>,
    pub last_usage: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RunRow {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub account_id: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub colocation_group: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub run: i64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub start: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub end: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub ongoing: bool,
    pub class: Option<String>,
    pub confidence: Option<f64>,
    pub class_reasons: Option<String>,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub training_like: bool,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub duration_hours: f64,
    pub accelerators: Option<String>,
    pub instance_types: Option<String>,
    pub peak_accelerators: Option<f64>,
    pub peak_ops_per_s: Option<f64>,
    pub max_interconnect_gbps: Option<f64>,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub accelerator_hours: f64,
    pub est_ops_low: Option<f64>,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub est_ops: f64,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub upper_ops: f64,
}

/// A CIP customer record, raw: it never reaches a template (see `report::CustomerView`).
#[derive(Debug, Clone, Deserialize)]
pub struct CustomerRow {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub account_id: String,
    pub legal_name: Option<String>,
    pub customer_type: Option<String>,
    pub country: Option<String>,
    pub address: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub payment_method: Option<String>,
    pub payment_identifier: Option<String>,
    pub payment_source: Option<String>,
    pub national_id: Option<String>,
    pub us_person: Option<String>,
    pub verification_status: Option<String>,
    pub verification_method: Option<String>,
    pub verified_at: Option<String>,
    pub opened_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OwnerRow {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub account_id: String,
    pub name: Option<String>,
    pub country: Option<String>,
    pub ownership_pct: Option<f64>,
    pub substantial_control: Option<bool>,
    pub verification_status: Option<String>,
    /// Optional registry columns (absent from older registries).
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub payment_method: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AccessRow {
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub account_id: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub ip_address: String,
    #[serde(deserialize_with = "crate::transforms::records::null_as_default")]
    pub accessed_at: String,
    pub action: Option<String>,
}
