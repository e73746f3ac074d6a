//! The rule profile's parameters, declared once (`parameters!`): each one's type, valid values,
//! default and meaning, and whether it is the rule's own (`#[regulatory]`) or cipwatch's screening
//! policy. From the declaration derive the typed `Params`, its serialisation, the range checks, the
//! SQL `params` table's cells and the docs' parameter table (`profile::markdown_table`). Profiles,
//! their layers and provenance are `config::profile`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The catalog precisions a peak figure may be read at (`peak_precision`).
pub const PRECISIONS: &[&str] = &["bf16", "fp16", "fp8", "fp32"];
/// Who a profile's tests apply to (`subject`).
pub const SUBJECTS: &[&str] = &["foreign", "country_group", "all"];
/// The kinds of deadline (`deadline`).
pub const DEADLINES: &[&str] = &["days", "quarterly", "none"];

/// The valid values of one parameter, declared next to its field in `Params` (the only list).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Valid {
    /// A finite number from `min` to `max` inclusive; `min` itself is excluded when `min_open`.
    /// `unit` is how the message names it (`days`, `a fraction`).
    Between {
        min: f64,
        min_open: bool,
        max: f64,
        unit: &'static str,
    },
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A list of `LINK_TYPES`.
    Links,
    /// A list of EAR country groups ([`crate::config::country_groups::GROUPS`]).
    CountryGroups,
    /// A list of assigned ISO 3166-1 alpha-2 country codes, upper case.
    Countries,
}

/// Whole days from 0 to ten years.
pub const DAYS: Valid = Valid::Between {
    min: 0.0,
    min_open: false,
    max: 3650.0,
    unit: "days",
};
/// Whole days from 1 to ten years.
const DAYS_AT_LEAST_ONE: Valid = Valid::Between {
    min: 1.0,
    min_open: false,
    max: 3650.0,
    unit: "days",
};
/// Hours from 0 to one year.
const HOURS: Valid = Valid::Between {
    min: 0.0,
    min_open: false,
    max: 8784.0,
    unit: "hours",
};
/// A fraction in [0, 1].
const FRACTION: Valid = Valid::Between {
    min: 0.0,
    min_open: false,
    max: 1.0,
    unit: "a fraction",
};
/// A fraction in (0, 1].
const POSITIVE_FRACTION: Valid = Valid::Between {
    min: 0.0,
    min_open: true,
    max: 1.0,
    unit: "a fraction",
};
/// A quantity from 0 to `max`.
const fn non_negative(max: f64, unit: &'static str) -> Valid {
    Valid::Between {
        min: 0.0,
        min_open: false,
        max,
        unit,
    }
}

/// Declares `Params` and, next to each field, its valid values and its meaning: `PARAMETERS` is
/// the one table of parameters, read by the range check, the SQL `params` table, `--set`'s list of
/// valid keys, `--dry-run` and docs/configuration.md's parameter table (a test compares them). Each profile
/// file gives every parameter's value.
macro_rules! parameters {
    (@default) => { None };
    (@default $d:literal) => { Some($d) };
    (@regulatory) => { false };
    (@regulatory regulatory) => { true };
    ($( $(#[$marker:ident])? $name:ident : $ty:ty $(= $default:literal)? => $valid:expr, $doc:literal; )*) => {
        /// The typed parameters every stage reads; see [`PARAMETERS`] for each one's meaning.
        #[derive(Debug, Clone, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct Params {
            $( #[doc = $doc] pub $name: $ty, )*
            /// Derived, not a parameter: the country codes of `subject_country_groups` (from the
            /// country-groups table, [`crate::config::country_groups`]) and `subject_countries`,
            /// sorted; set by [`resolve`] and [`EffectiveProfile::use_country_groups`].
            #[serde(skip)]
            pub subject_country_codes: Vec<String>,
        }

        /// Every parameter, in declaration order.
        pub const PARAMETERS: &[Parameter] = &[
            $( Parameter {
                name: stringify!($name),
                valid: $valid,
                kind: <$ty as Value>::KIND,
                doc: $doc,
                default: parameters!(@default $($default)?),
                regulatory: parameters!(@regulatory $($marker)?),
            }, )*
        ];

        /// Every parameter with its value, in declaration order. When every parameter that has a
        /// declared default is at it (a profile that uses none of them, as `nprm-2024`), those are
        /// left out, so its records (the run identity, the documents' JSON) are what they were
        /// before they were declared; otherwise every parameter is written.
        impl Serialize for Params {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let at_default = |default: Option<&'static str>, v: toml::Value| {
                    default.is_some_and(|d| v == parse_literal(d))
                };
                let legacy = true $( && {
                    let default: Option<&'static str> = parameters!(@default $($default)?);
                    default.is_none()
                        || at_default(default, toml::Value::try_from(&self.$name).map_err(serde::ser::Error::custom)?)
                } )*;
                let mut map = s.serialize_map(None)?;
                $(
                    let default: Option<&'static str> = parameters!(@default $($default)?);
                    if !(legacy && default.is_some()) {
                        map.serialize_entry(stringify!($name), &self.$name)?;
                    }
                )*
                if !self.subject_country_codes.is_empty() {
                    map.serialize_entry("subject_country_codes", &self.subject_country_codes)?;
                }
                map.end()
            }
        }

        impl Params {
            /// Each parameter's value checked against its declared range, in declaration order.
            pub(crate) fn check_ranges(&self) -> Result<()> {
                $( self.$name.check(concat!("parameter ", stringify!($name)), &$valid)?; )*
                Ok(())
            }

            /// Each parameter's name and value as one SQL cell, in declaration order (lists
            /// joined by commas), then the derived `subject_country_codes`.
            pub fn cells(&self) -> Vec<(&'static str, Cell)> {
                vec![ $( (stringify!($name), self.$name.cell()), )*
                    ("subject_country_codes", Cell::Text(self.subject_country_codes.join(","))) ]
            }
        }
    };
}

parameters! {
    #[regulatory] training_ops: f64 => non_negative(1e40, "operations"),
        "The rule's test: estimated operations must be greater than this (0: no floor, every subject with accelerator use meets it).";
    #[regulatory] cluster_peak_ops_per_s: f64 => non_negative(1e30, "op/s"),
        "The rule's test: the co-located cluster's theoretical peak must be at least this (0: no cluster test).";
    #[regulatory] interconnect_gbps: f64 => non_negative(1e6, "Gbit/s"),
        "The rule's test: the cluster's interconnect must be faster than this (0: no interconnect test, an unknown one included).";
    #[regulatory] subject: String = "\"foreign\"" => Valid::OneOf(SUBJECTS),
        "Who the rule's tests apply to: `foreign` (the customer, or a beneficial owner, is foreign; unknown counts as foreign), `country_group` (headquarters or ultimate parent in `subject_country_groups` or `subject_countries`; no headquarters on file counts as in), `all` (every customer).";
    #[regulatory] subject_country_groups: Vec<String> = "[]" => Valid::CountryGroups,
        "With `subject = country_group`: the EAR country groups (`src/config/country-groups.csv`) whose countries make a customer a subject.";
    #[regulatory] subject_countries: Vec<String> = "[]" => Valid::Countries,
        "With `subject = country_group`: further countries (ISO 3166-1 alpha-2) that make a customer a subject.";
    #[regulatory] deadline: String = "\"days\"" => Valid::OneOf(DEADLINES),
        "The deadline's kind: `days` (`report_due_days` after knowledge), `quarterly` (`after_quarter_days` after the calendar quarter of knowledge ends), `none` (no due date).";
    #[regulatory] report_due_days: i64 => DAYS,
        "With `deadline = days`: a report is due this many days after the provider has knowledge.";
    #[regulatory] after_quarter_days: i64 = "15" => DAYS,
        "With `deadline = quarterly`: a report is due this many days after the calendar quarter of knowledge ends.";
    peak_precision: String => Valid::OneOf(PRECISIONS),
        "The catalog's peak figure that counts as peak (`peak_dense_<p>_tflops`).";
    peak_precision_fallback: String => Valid::OneOf(PRECISIONS),
        "The precision used where an accelerator has no figure at `peak_precision`.";
    assumed_utilization: f64 => POSITIVE_FRACTION,
        "Utilisation assumed where no telemetry covers a resource.";
    watch_fraction: f64 => POSITIVE_FRACTION,
        "WATCH from this fraction of `training_ops`.";
    projection_horizon_days: i64 => DAYS,
        "WATCH when the trailing burn rate crosses `training_ops` within this many days.";
    burn_window_days: i64 => DAYS_AT_LEAST_ONE,
        "The trailing window of the burn rate.";
    segment_gap_hours: f64 => HOURS,
        "A pause up to this long does not end a training-run segment.";
    training_min_hours: f64 => non_negative(87_840.0, "hours"),
        "A segment is training-like from this duration ...";
    training_min_accelerators: f64 => non_negative(1e7, "accelerators"),
        "... and this many co-located accelerators at its peak.";
    material_accelerator_hours: f64 => non_negative(1e12, "accelerator-hours"),
        "CIP_GAP needs at least this much accelerator use.";
    certification_period_days: i64 => DAYS_AT_LEAST_ONE,
        "The annual certification covers this many days up to the as-of date.";
    retention_days: i64 => DAYS_AT_LEAST_ONE,
        "CIP records are kept this long after an account closes or is last accessed.";
    utilization_low: f64 => FRACTION,
        "Low end of the estimate interval where utilisation is assumed.";
    plausible_run_days: f64 => non_negative(3650.0, "days"),
        "Rate test: the current burn rate held this long.";
    training_interconnect_gbps: f64 => non_negative(1e6, "Gbit/s"),
        "A fabric at least this fast is a training signal.";
    steady_fraction: f64 => FRACTION,
        "A run is steady when its mean fleet is at least this fraction of its peak.";
    min_report_confidence: f64 => FRACTION,
        "REPORTABLE needs a training-like run at least this confident; else WATCH.";
    link_window_days: f64 => non_negative(3650.0, "days"),
        "Accounts using one IP address within this many days of each other are linked.";
    link_max_accounts: i64 => Valid::Between { min: 2.0, min_open: false, max: 1e6, unit: "accounts" },
        "A value shared by more accounts than this links nobody (a NAT address, a placeholder).";
    strong_links: Vec<String> => Valid::Links,
        "Link types that join accounts into one entity.";
    weak_links: Vec<String> => Valid::Links,
        "Link types that only put accounts up for review.";
    sync_tolerance_hours: f64 => HOURS,
        "Runs of linked accounts starting this close together, in one placement, are synchronised.";
    handover_gap_hours: f64 => HOURS,
        "A linked account's run starting this soon after another's ends is a handover ...";
    handover_size_tolerance: f64 => FRACTION,
        "... with a peak fleet within this fraction of the first.";
    low_egress_gb_per_accelerator_hour: f64 => non_negative(1e9, "GB per accelerator-hour"),
        "LOW_EGRESS signal: billed internet egress at most this per accelerator-hour.";
}

/// One row of the parameter table.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    pub name: &'static str,
    pub valid: Valid,
    pub kind: Kind,
    /// What the parameter means, in one sentence.
    pub doc: &'static str,
    /// The value (a TOML literal) a profile that does not give the parameter takes; `None` for a
    /// parameter every profile must give.
    pub default: Option<&'static str>,
    /// The rule's own (marked `#[regulatory]`: its thresholds, who its tests apply to, its
    /// deadline), not cipwatch's screening policy: a run that changes one is not assessed under
    /// the rule (`state::scenario::deviations`).
    pub regulatory: bool,
}

/// A parameter's value as one cell of the SQL `params` table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Integer(i64),
    Float(f64),
    Text(String),
}

/// The TOML type a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Integer,
    Float,
    Text,
    /// An array of text.
    List,
}

impl Kind {
    /// The type in words, for messages and docs/configuration.md's table.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Integer => "a whole number",
            Kind::Float => "a number",
            Kind::Text => "text",
            Kind::List => "a list of text",
        }
    }
}

/// A parameter's value type: checks a value against its declared `Valid`.
trait Value {
    const KIND: Kind;
    /// Ok, or a usage error naming `key`, the value and the valid values.
    fn check(&self, key: &str, valid: &Valid) -> Result<()>;
    fn cell(&self) -> Cell;
}

impl Value for f64 {
    const KIND: Kind = Kind::Float;
    fn check(&self, key: &str, valid: &Valid) -> Result<()> {
        valid.check_number(key, *self)
    }
    fn cell(&self) -> Cell {
        Cell::Float(*self)
    }
}

impl Value for i64 {
    const KIND: Kind = Kind::Integer;
    fn check(&self, key: &str, valid: &Valid) -> Result<()> {
        // The ranges are far inside the integers an f64 holds exactly.
        valid.check_number(key, *self as f64)
    }
    fn cell(&self) -> Cell {
        Cell::Integer(*self)
    }
}

impl Value for String {
    const KIND: Kind = Kind::Text;
    fn check(&self, key: &str, valid: &Valid) -> Result<()> {
        match valid {
            Valid::OneOf(words) if words.contains(&self.as_str()) => Ok(()),
            _ => Err(valid.refusal(key, &format!("'{self}'"))),
        }
    }
    fn cell(&self) -> Cell {
        Cell::Text(self.clone())
    }
}

impl Value for Vec<String> {
    const KIND: Kind = Kind::List;
    fn check(&self, key: &str, valid: &Valid) -> Result<()> {
        match valid {
            Valid::Links if self.iter().all(|l| LINK_TYPES.contains(&l.as_str())) => Ok(()),
            Valid::CountryGroups
                if self
                    .iter()
                    .all(|g| crate::config::country_groups::GROUPS.contains(&g.as_str())) =>
            {
                Ok(())
            }
            Valid::Countries
                if self
                    .iter()
                    .all(|c| crate::config::country_groups::is_country_code(c)) =>
            {
                Ok(())
            }
            _ => Err(valid.refusal(key, &format!("{self:?}"))),
        }
    }
    fn cell(&self) -> Cell {
        Cell::Text(self.join(","))
    }
}

impl Valid {
    fn admits_number(&self, v: f64) -> bool {
        match *self {
            Valid::Between {
                min, min_open, max, ..
            } => v.is_finite() && v <= max && (v > min || (!min_open && v == min)),
            _ => false,
        }
    }

    /// The valid values in words: `[0, 3650] days`, `(0, 1] (a fraction)`, `one of bf16, fp16`.
    pub fn describe(&self) -> String {
        match self {
            Valid::Between {
                min,
                min_open,
                max,
                unit,
            } => {
                let open = if *min_open { '(' } else { '[' };
                let n = |v: f64| match v.abs() >= 1e6 {
                    true => format!("{v:e}"),
                    false => v.to_string(),
                };
                format!("{open}{}, {}] ({unit})", n(*min), n(*max))
            }
            Valid::OneOf(words) => format!("one of {}", words.join(", ")),
            Valid::Links => format!("a list of {}", LINK_TYPES.join(", ")),
            Valid::CountryGroups => format!(
                "a list of {}",
                crate::config::country_groups::GROUPS.join(", ")
            ),
            Valid::Countries => "a list of ISO 3166-1 alpha-2 codes".to_string(),
        }
    }

    /// Ok when `v` is a valid number here; else a usage error naming `key`, `v` and the range.
    pub fn check_number(&self, key: &str, v: f64) -> Result<()> {
        match self.admits_number(v) {
            true => Ok(()),
            false => Err(self.refusal(key, &v.to_string())),
        }
    }

    fn refusal(&self, key: &str, value: &str) -> Error {
        Error::Usage(format!(
            "{key} = {value} is out of range: must be {}",
            self.describe()
        ))
    }

    /// Values just outside the valid ones, of the parameter's TOML type (for tests).
    pub fn outside(&self, kind: Kind) -> Vec<toml::Value> {
        match (*self, kind) {
            (Valid::Between { min, max, .. }, Kind::Integer) => vec![
                toml::Value::Integer(min as i64 - 1),
                toml::Value::Integer(max as i64 + 1),
            ],
            (
                Valid::Between {
                    min, min_open, max, ..
                },
                _,
            ) => vec![
                toml::Value::Float(if min_open { min } else { min - 1.0 }),
                toml::Value::Float(max * 2.0 + 1.0),
                toml::Value::Float(f64::NAN),
            ],
            (_, Kind::List) => vec![toml::Value::Array(vec![toml::Value::String(
                "no_such_value".into(),
            )])],
            _ => vec![toml::Value::String("no_such_value".into())],
        }
    }
}

/// The link types entities can be built from.
pub const LINK_TYPES: &[&str] = &[
    "payment_instrument",
    "national_id",
    "beneficial_owner",
    "address",
    "admin_ip",
    "access_ip",
    "payment_source",
    "sub_account",
];

/// A TOML literal (`1e26`, `"bf16"`, `[]`) as a value; text that is no literal stays text.
pub(crate) fn parse_literal(raw: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or(toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}
