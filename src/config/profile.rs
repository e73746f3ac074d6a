//! Rule profiles: every regulatory number and screening policy as versioned data. A profile is an
//! embedded TOML (`profiles/*.toml`) or a file; its `[parameters]` are then overridden, in order, by
//! the configuration's `[overrides]`, a `--params` file and `--set KEY=VALUE` flags. Each effective
//! value remembers where it came from, and an unknown key is an error that lists the valid ones.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

/// The profiles shipped in the binary, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("nprm-2024", include_str!("profiles/nprm-2024.toml")),
    (
        "bis-702.7-2024",
        include_str!("profiles/bis-702.7-2024.toml"),
    ),
    (
        "bis-d5-guidance-2025",
        include_str!("profiles/bis-d5-guidance-2025.toml"),
    ),
    (
        "eu-ai-act-gpai-2025",
        include_str!("profiles/eu-ai-act-gpai-2025.toml"),
    ),
];

const PRECISIONS: &[&str] = &["bf16", "fp16", "fp8", "fp32"];
/// Who a profile's tests apply to (`subject`).
pub const SUBJECTS: &[&str] = &["foreign", "country_group", "all"];
/// The kinds of deadline (`deadline`).
pub const DEADLINES: &[&str] = &["days", "quarterly", "none"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    version: String,
    title: String,
    source: String,
    status: String,
    #[serde(default)]
    status_date: String,
    #[serde(default)]
    status_source: String,
    #[serde(default)]
    filing: FilingInfo,
    parameters: toml::Table,
}

/// What a profile's `status` may say of the rule it encodes. Only `in force` binds a provider;
/// every other profile's documents and summary line carry the RULE NOT IN FORCE banner.
pub const STATUSES: [&str; 5] = ["in force", "proposed", "withdrawn", "guidance", "bill"];

/// Where the documents go and under which rule text: the profile's `[filing]` table (all text,
/// printed as written; empty when the profile gives none).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilingInfo {
    /// Who receives the report and the certification.
    #[serde(default)]
    pub addressee: String,
    /// The OMB control number of the collection, or a placeholder until one is assigned.
    #[serde(default)]
    pub omb_control_number: String,
    /// The rule text the AI-training report rests on.
    #[serde(default)]
    pub report_citation: String,
    /// The rule text the CIP certification rests on; empty (left out) when the rule has no annual
    /// certification, and then no certification is drafted.
    #[serde(default)]
    pub certification_citation: String,
    /// What the AI-training document is: `filing` (a report to the authority, the default),
    /// `memo` (an internal red-flag memo to the compliance file) or `advisory` (a letter advising
    /// the customer); one of [`DOCUMENTS`]. Left out of records when `filing`.
    #[serde(default = "default_document", skip_serializing_if = "is_filing")]
    pub document: String,
}

impl Default for FilingInfo {
    fn default() -> Self {
        FilingInfo {
            addressee: String::new(),
            omb_control_number: String::new(),
            report_citation: String::new(),
            certification_citation: String::new(),
            document: default_document(),
        }
    }
}

/// The kinds of AI-training document a profile's `[filing] document` may name.
pub const DOCUMENTS: &[&str] = &["filing", "memo", "advisory"];

fn default_document() -> String {
    "filing".to_string()
}

fn is_filing(document: &String) -> bool {
    document == "filing"
}

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
    /// A list of ISO 3166-1 alpha-2 country codes (two upper-case letters).
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
            fn check_ranges(&self) -> Result<()> {
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
    /// the rule (`sinks::scenario::deviations`).
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

/// docs/configuration.md's parameter table (Markdown): one row per parameter of [`PARAMETERS`]
/// with its type, valid values, each embedded profile's value and its meaning. A test checks
/// docs/configuration.md holds it.
pub fn markdown_table() -> Result<String> {
    let profiles: Vec<(&str, toml::Table)> = EMBEDDED
        .iter()
        .map(|(name, _)| load(name, Path::new(".")).map(|(_, table)| (*name, table)))
        .collect::<Result<_>>()?;
    let names: Vec<String> = profiles.iter().map(|(n, _)| format!("`{n}`")).collect();
    let mut out = format!(
        "| parameter | type | valid | {} | meaning |\n|---|---|---|{}---|\n",
        names.join(" | "),
        "---|".repeat(profiles.len())
    );
    for p in PARAMETERS {
        let values: Vec<String> = profiles
            .iter()
            .map(|(_, t)| match (t.get(p.name), p.default) {
                (Some(v), _) => cell_text(v),
                (None, Some(d)) => cell_text(&parse_literal(d)),
                (None, None) => String::new(),
            })
            .collect();
        let rule = if p.regulatory { "**The rule's.** " } else { "" };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {rule}{} |\n",
            p.name,
            p.kind.describe(),
            p.valid.describe(),
            values.join(" | "),
            p.doc
        ));
    }
    Ok(out)
}

/// A profile value as docs/configuration.md shows it: `1e26`, `bf16`, lists comma-separated.
fn cell_text(v: &toml::Value) -> String {
    match v {
        toml::Value::Array(items) => items.iter().map(cell_text).collect::<Vec<_>>().join(", "),
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) if f.abs() >= 1e6 => format!("{f:e}"),
        other => other.to_string(),
    }
}

/// A profile's identity, as recorded in the manifest and documents.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileInfo {
    pub name: String,
    pub version: String,
    pub title: String,
    pub source: String,
    /// One of [`STATUSES`].
    pub status: String,
    /// When the status was reached (`2025-12`, `2025-12-16`), as the source dates it.
    pub status_date: String,
    /// Where the status is stated (a Federal Register notice, the Unified Agenda, a secondary source).
    pub status_source: String,
    /// `embedded` or the file it was read from.
    pub origin: String,
    pub filing: FilingInfo,
    /// Under `subject = country_group`: the country-groups table the subject test read, as cited
    /// (source and date; [`crate::config::country_groups::CountryGroups::citation`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_groups: Option<String>,
}

/// One effective parameter value and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub value: toml::Value,
    pub source: String,
}

/// The profile after every override: typed values plus their provenance.
#[derive(Debug, Clone, Serialize)]
pub struct EffectiveProfile {
    pub info: ProfileInfo,
    pub params: Params,
    pub provenance: BTreeMap<String, Provenance>,
}

impl Provenance {
    /// The value as a person reads it (`1e24`, not `1000000000000000000000000.0`).
    pub fn display(&self) -> String {
        let shown = match &self.value {
            toml::Value::Float(f) if f.abs() >= 1e6 => format!("{f:e}"),
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // A card typed into `--set` is shown masked, also in scientific notation.
        crate::pii::mask_value(&shown)
    }
}

/// One layer of overrides, applied in the order given.
pub struct Layer {
    pub source: String,
    pub values: toml::Table,
}

/// Reads a profile by embedded name or path (relative to `base`).
pub fn load(spec: &str, base: &Path) -> Result<(ProfileInfo, toml::Table)> {
    let (text, origin) = match EMBEDDED.iter().find(|(name, _)| *name == spec) {
        Some((_, text)) => (text.to_string(), "embedded".to_string()),
        None => {
            let path = base.join(spec);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                let names: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
                Error::config(
                    format!("profile {spec}"),
                    format!(
                        "not an embedded profile ({}) and not a readable file: {e}",
                        names.join(", ")
                    ),
                )
            })?;
            (text, path.display().to_string())
        }
    };
    let file: ProfileFile =
        toml::from_str(&text).map_err(|e| Error::toml(format!("profile {spec}"), &text, &e))?;
    if !STATUSES.contains(&file.status.as_str()) {
        return Err(Error::config(
            format!("profile {spec}"),
            format!(
                "status '{}' is not one of: {}",
                file.status,
                STATUSES.join(", ")
            ),
        ));
    }
    if !DOCUMENTS.contains(&file.filing.document.as_str()) {
        return Err(Error::config(
            format!("profile {spec}"),
            format!(
                "[filing] document '{}' is not one of: {}",
                file.filing.document,
                DOCUMENTS.join(", ")
            ),
        ));
    }
    let info = ProfileInfo {
        name: file.name,
        version: file.version,
        title: file.title,
        source: file.source,
        status: file.status,
        status_date: file.status_date,
        status_source: file.status_source,
        origin,
        filing: file.filing,
        country_groups: None,
    };
    Ok((info, file.parameters))
}

impl ProfileInfo {
    /// True when the rule the profile encodes binds a provider (`status = "in force"`).
    pub fn in_force(&self) -> bool {
        self.status == "in force"
    }

    /// The status with its date: `withdrawn (2025-12)`.
    pub fn standing(&self) -> String {
        match self.status_date.as_str() {
            "" => self.status.clone(),
            d => format!("{} ({d})", self.status),
        }
    }

    /// The banner of a profile that is not in force (`None` for one that is): the rule, its status
    /// with date and source, and what its numbers are good for.
    pub fn not_in_force_banner(&self) -> Option<String> {
        (!self.in_force()).then(|| {
            format!(
                "RULE NOT IN FORCE: profile {} ({}) is {}{}; its numbers serve internal screening, not a legal obligation",
                self.name,
                self.title,
                self.standing(),
                match self.status_source.as_str() {
                    "" => String::new(),
                    src => format!("; source: {src}"),
                }
            )
        })
    }
}

/// Applies the override layers to the profile's parameters and checks the result.
pub fn resolve(info: ProfileInfo, base: toml::Table, layers: &[Layer]) -> Result<EffectiveProfile> {
    let origin = format!("profile {}@{}", info.name, info.version);
    let mut provenance: BTreeMap<String, Provenance> = base
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Provenance {
                    value: v.clone(),
                    source: origin.clone(),
                },
            )
        })
        .collect();
    let mut table = base;
    for p in PARAMETERS {
        if let (None, Some(d)) = (table.get(p.name), p.default) {
            table.insert(p.name.to_string(), parse_literal(d));
        }
    }
    for layer in layers {
        for (key, value) in &layer.values {
            if !PARAMETERS.iter().any(|p| p.name == key) {
                let valid: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
                return Err(Error::Usage(format!(
                    "unknown parameter '{key}' (from {}); valid keys: {}",
                    layer.source,
                    valid.join(", ")
                )));
            }
            table.insert(key.clone(), value.clone());
            provenance.insert(
                key.clone(),
                Provenance {
                    value: value.clone(),
                    source: layer.source.clone(),
                },
            );
        }
    }
    check_kinds(&mut table)?;
    let params = Params::deserialize(toml::Value::Table(table))
        .map_err(|e| Error::config(format!("profile {} parameters", info.name), e.message()))?;
    params.check_ranges()?;
    if params.subject == "country_group"
        && params.subject_country_groups.is_empty()
        && params.subject_countries.is_empty()
    {
        return Err(Error::Usage(
            "parameter subject = country_group names no country: give subject_country_groups or subject_countries".into(),
        ));
    }
    let mut profile = EffectiveProfile {
        info,
        params,
        provenance,
    };
    profile.use_country_groups(crate::config::country_groups::embedded());
    Ok(profile)
}

impl EffectiveProfile {
    /// Expands the subject's country groups with `groups` (the embedded table, or the one the
    /// configuration names) into `params.subject_country_codes`, and records the table's citation
    /// in the profile's identity when the subject test reads it.
    pub fn use_country_groups(&mut self, groups: &crate::config::country_groups::CountryGroups) {
        let p = &mut self.params;
        let uses = p.subject == "country_group";
        p.subject_country_codes = match uses {
            true => groups.expand(&p.subject_country_groups, &p.subject_countries),
            false => Vec::new(),
        };
        self.info.country_groups = (uses && !p.subject_country_groups.is_empty())
            .then(|| format!("{} [{}]", groups.citation(), groups.origin));
    }
}

/// The value a parameter takes when no profile or layer gives it (`None` for a parameter every
/// profile must give, and for a name that is no parameter).
pub fn default_value(name: &str) -> Option<toml::Value> {
    PARAMETERS
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.default)
        .map(parse_literal)
}

/// Checks each parameter's TOML type before the typed read, so a mistyped value is refused with
/// its key and valid range (an integer given for a number is taken as that number).
fn check_kinds(table: &mut toml::Table) -> Result<()> {
    for Parameter {
        name: key,
        valid,
        kind,
        ..
    } in PARAMETERS
    {
        let Some(value) = table.get_mut(*key) else {
            continue;
        };
        let fits = match (kind, &*value) {
            (Kind::Integer, toml::Value::Integer(_)) => true,
            (Kind::Float, toml::Value::Float(_)) => true,
            (Kind::Float, toml::Value::Integer(i)) => {
                *value = toml::Value::Float(*i as f64);
                true
            }
            (Kind::Text, toml::Value::String(_)) => true,
            (Kind::List, toml::Value::Array(items)) => items.iter().all(|v| v.is_str()),
            _ => false,
        };
        if !fits {
            return Err(Error::Usage(format!(
                "parameter {key} = {value} is not {}: must be {}",
                kind.describe(),
                valid.describe()
            )));
        }
    }
    Ok(())
}

/// Parses `KEY=VALUE` flags into an override layer. Values are TOML literals (`1e24`, `15`,
/// `"bf16"`); a bare word that is not a TOML literal is taken as a string.
pub fn parse_sets(sets: &[String]) -> Result<toml::Table> {
    let mut table = toml::Table::new();
    for set in sets {
        let (key, raw) = set
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--set expects KEY=VALUE, got '{set}'")))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(Error::Usage(format!("--set has an empty key in '{set}'")));
        }
        table.insert(key.to_string(), parse_literal(raw.trim()));
    }
    Ok(table)
}

fn parse_literal(raw: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or(toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nprm() -> (ProfileInfo, toml::Table) {
        load("nprm-2024", Path::new(".")).unwrap()
    }

    /// A profile states its rule's status from a fixed list; one not in force has a banner.
    #[test]
    fn a_profile_states_its_status_and_a_withdrawn_one_has_a_banner() {
        let (info, _) = nprm();
        assert!(!info.in_force());
        assert_eq!(info.standing(), "withdrawn (2025-12)");
        assert!(info
            .not_in_force_banner()
            .unwrap()
            .starts_with("RULE NOT IN FORCE: profile nprm-2024"));
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string("src/config/profiles/nprm-2024.toml")
            .unwrap()
            .replace("status = \"withdrawn\"", "status = \"probably fine\"");
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).unwrap();
        let e = load(path.to_str().unwrap(), Path::new(".")).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        assert!(
            e.to_string()
                .contains("status 'probably fine' is not one of"),
            "{e}"
        );
    }

    #[test]
    fn embedded_profiles_parse_with_the_rule_numbers() {
        let (info, base) = nprm();
        let p = resolve(info, base, &[]).unwrap();
        assert_eq!(p.params.training_ops, 1e26);
        assert_eq!(p.params.cluster_peak_ops_per_s, 1e20);
        assert_eq!(p.params.interconnect_gbps, 100.0);
        assert_eq!(p.params.report_due_days, 15);
        let (info, base) = load("bis-702.7-2024", Path::new(".")).unwrap();
        let b = resolve(info, base, &[]).unwrap();
        assert_eq!(b.params.interconnect_gbps, 300.0);
    }

    /// A profile file without the subject and deadline parameters takes their defaults and its
    /// records leave them out; the new profiles state theirs; a country-group subject names a country.
    #[test]
    fn subject_and_deadline_default_and_the_new_profiles_state_theirs() {
        let (info, base) = nprm();
        assert!(!base.contains_key("subject"));
        let p = resolve(info, base, &[]).unwrap();
        assert_eq!(
            (p.params.subject.as_str(), p.params.deadline.as_str()),
            ("foreign", "days")
        );
        assert_eq!(p.info.filing.document, "filing");
        let json = serde_json::to_value(&p.params).unwrap();
        assert!(json.get("subject").is_none() && json.get("deadline").is_none());
        assert!(json.get("report_due_days").is_some());
        let (info, base) = load("bis-d5-guidance-2025", Path::new(".")).unwrap();
        let d5 = resolve(info, base, &[]).unwrap();
        assert_eq!(d5.params.subject, "country_group");
        assert!(d5.params.subject_country_codes.contains(&"CN".to_string()));
        assert!(d5.params.subject_country_codes.contains(&"MO".to_string()));
        assert_eq!(d5.info.filing.document, "memo");
        assert!(d5
            .info
            .country_groups
            .as_deref()
            .unwrap()
            .contains("2025-05-13"));
        let json = serde_json::to_value(&d5.params).unwrap();
        assert_eq!(json["deadline"], "none");
        let (info, base) = load("bis-702.7-2024", Path::new(".")).unwrap();
        let b = resolve(info, base, &[]).unwrap();
        assert_eq!(
            (b.params.subject.as_str(), b.params.deadline.as_str()),
            ("all", "quarterly")
        );
        assert_eq!(b.params.after_quarter_days, 15);
        let (info, base) = load("eu-ai-act-gpai-2025", Path::new(".")).unwrap();
        let eu = resolve(info, base, &[]).unwrap();
        assert_eq!(
            (eu.params.training_ops, eu.params.report_due_days),
            (1e25, 14)
        );
        assert_eq!(eu.info.filing.document, "advisory");
        for (sets, why) in [
            (vec!["subject=country_group"], "names no country"),
            (vec!["subject_country_groups=[\"D:9\"]"], "out of range"),
            (vec!["subject_countries=[\"Macau\"]"], "out of range"),
            (vec!["deadline=monthly"], "out of range"),
        ] {
            let (info, base) = nprm();
            let sets: Vec<String> = sets.into_iter().map(String::from).collect();
            let layers = [Layer {
                source: "--set".into(),
                values: parse_sets(&sets).unwrap(),
            }];
            let e = resolve(info, base, &layers).unwrap_err().to_string();
            assert!(e.contains(why), "{sets:?}: {e}");
        }
    }

    #[test]
    fn later_layers_win_and_record_their_source() {
        let (info, base) = nprm();
        let layers = [
            Layer {
                source: "config".into(),
                values: parse_sets(&["training_ops=1e24".into()]).unwrap(),
            },
            Layer {
                source: "--set".into(),
                values: parse_sets(&["training_ops=5e24".into()]).unwrap(),
            },
        ];
        let p = resolve(info, base, &layers).unwrap();
        assert_eq!(p.params.training_ops, 5e24);
        assert_eq!(p.provenance["training_ops"].source, "--set");
        assert!(p.provenance["interconnect_gbps"]
            .source
            .starts_with("profile nprm-2024@"));
    }

    #[test]
    fn unknown_key_lists_valid_keys() {
        let (info, base) = nprm();
        let layers = [Layer {
            source: "--set".into(),
            values: parse_sets(&["trainin_ops=1".into()]).unwrap(),
        }];
        let err = resolve(info, base, &layers).unwrap_err().to_string();
        assert!(
            err.contains("trainin_ops") && err.contains("training_ops"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_and_mistyped_values_are_rejected() {
        for set in [
            "assumed_utilization=1.5",
            "report_due_days=soon",
            "peak_precision=int4",
            "burn_window_days=0",
        ] {
            let (info, base) = nprm();
            let layers = [Layer {
                source: "--set".into(),
                values: parse_sets(&[set.into()]).unwrap(),
            }];
            assert!(resolve(info, base, &layers).is_err(), "{set} accepted");
        }
        assert!(parse_sets(&["no_equals_sign".into()]).is_err());
    }
}
