//! Native billing exports (AWS CUR and CUR 2.0, Azure cost details, GCP billing export, OCI cost
//! reports) read through declarative mappings (`queries/mappings/<format>.toml`, embedded, replaceable
//! from `<queries dir>/mappings/`) into FOCUS-named text columns, which then go through exactly the
//! same FOCUS validation, quarantine and accelerator identification as a FOCUS export. The format is
//! taken from the configuration or detected from each file's header.

use polars::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::sources::columns::{clean_key, ts_type, Cols};
use crate::sources::timestamps::{parse_column, typed_to_utc};
use crate::sources::{Scan, ROW};

const EMBEDDED: &[(&str, &str)] = &[
    (
        "aws-cur",
        include_str!("../../../queries/mappings/aws-cur.toml"),
    ),
    (
        "aws-cur2",
        include_str!("../../../queries/mappings/aws-cur2.toml"),
    ),
    (
        "azure",
        include_str!("../../../queries/mappings/azure.toml"),
    ),
    ("gcp", include_str!("../../../queries/mappings/gcp.toml")),
    ("oci", include_str!("../../../queries/mappings/oci.toml")),
];

/// FOCUS columns a mapping must produce.
const REQUIRED: &[&str] = &[
    "BillingAccountId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ConsumedQuantity",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub format: String,
    pub title: String,
    /// Header columns (case-insensitive) that all appear in this format's files.
    pub detect: Vec<String>,
    /// Which of the format's line types count as usage (consumption), and why the others do not:
    /// documentation that the mapping's `ChargeCategory` rule implements (checked by a test).
    pub usage_lines: UsageLines,
    pub columns: BTreeMap<String, Rule>,
}

/// The line types (values of the column the mapping reads `ChargeCategory` from) that count as
/// usage, and a note on every other line type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageLines {
    pub counted: Vec<String>,
    pub note: String,
}

/// How one FOCUS column is made from the native columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub from: Vec<String>,
    pub constant: Option<String>,
    pub extract: Option<String>,
    /// Shifts a timestamp (parsed by the one parser, `sources::timestamps`) by whole days.
    pub add_days: Option<i64>,
    pub map: Option<BTreeMap<String, String>>,
    pub default: Option<String>,
    pub note: Option<String>,
}

/// The formats cipwatch knows, by name.
pub struct Mappings {
    pub list: Vec<(Mapping, String)>,
    /// Format → SHA-256 of its mapping's text (for the manifest and the run id).
    pub hashes: Vec<(String, String)>,
}

impl Mappings {
    /// The embedded mappings, each replaced by `<dir>/mappings/<format>.toml` where present.
    pub fn load(queries_dir: Option<&Path>) -> Result<Mappings> {
        let mut list = Vec::new();
        let mut hashes = Vec::new();
        for (name, text) in EMBEDDED {
            let override_path =
                queries_dir.map(|d| d.join("mappings").join(format!("{name}.toml")));
            let (text, origin) = match override_path.filter(|p| p.is_file()) {
                Some(p) => (
                    std::fs::read_to_string(&p).map_err(|e| Error::config(p.display(), e))?,
                    p.display().to_string(),
                ),
                None => (text.to_string(), "embedded".to_string()),
            };
            let mapping: Mapping = toml::from_str(&text)
                .map_err(|e| Error::config(format!("mapping {name} ({origin})"), e.message()))?;
            for column in REQUIRED {
                if !mapping.columns.contains_key(*column) {
                    return Err(Error::config(
                        format!("mapping {name} ({origin})"),
                        format!("does not map the FOCUS column {column}"),
                    ));
                }
            }
            for (column, rule) in &mapping.columns {
                if let Some(pattern) = &rule.extract {
                    regex::Regex::new(pattern).map_err(|e| {
                        Error::config(format!("mapping {name}, column {column}"), e)
                    })?;
                }
            }
            hashes.push((
                name.to_string(),
                crate::fingerprint::sha256_bytes(text.as_bytes()),
            ));
            list.push((mapping, origin));
        }
        Ok(Mappings { list, hashes })
    }

    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|(m, _)| m.format.as_str()).collect()
    }

    pub fn get(&self, format: &str) -> Option<&Mapping> {
        self.list
            .iter()
            .map(|(m, _)| m)
            .find(|m| m.format == format)
    }

    /// The format of a file from its header: `focus` when it has FOCUS's required columns, else the
    /// first mapping whose `detect` columns are all present, else `focus` when it has some of FOCUS's
    /// columns (so that the missing one is named), else an error listing what each format expects.
    pub fn detect(&self, scan: &Scan) -> Result<String> {
        let header: Vec<String> = scan.schema.iter_names().map(|n| n.to_lowercase()).collect();
        let has = |c: &str| header.iter().any(|h| h == &c.to_lowercase());
        if super::focus::REQUIRED.iter().all(|c| has(c)) {
            return Ok("focus".into());
        }
        if let Some((m, _)) = self
            .list
            .iter()
            .find(|(m, _)| m.detect.iter().all(|c| has(c)))
        {
            return Ok(m.format.clone());
        }
        // Some FOCUS columns but not all: a FOCUS file with a column missing, which the FOCUS
        // source then reports by name.
        if super::focus::REQUIRED.iter().any(|c| has(c)) {
            return Ok("focus".into());
        }
        let expected: Vec<String> =
            std::iter::once(format!("focus: {}", super::focus::REQUIRED.join(", ")))
                .chain(
                    self.list
                        .iter()
                        .map(|(m, _)| format!("{}: {}", m.format, m.detect.join(", "))),
                )
                .collect();
        Err(Error::input(
            Location::file(&scan.file.path).row(1),
            format!(
                "the header matches no billing format cipwatch knows{}; expected the columns of one of: {}",
                crate::sources::delimiter_hint(scan),
                expected.join("; ")
            ),
        ))
    }
}

/// Refuses (exit 3) a header with two columns that a mapping's source name matches (names are
/// matched ignoring case): which one to read cannot be known, and reading the first would count
/// whatever it holds (`quantity` beside `Quantity`).
fn refuse_ambiguous(scan: &Scan, names: &[String]) -> Result<()> {
    for name in names {
        let matching: Vec<&str> = scan
            .schema
            .iter_names()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .map(|n| n.as_str())
            .collect();
        if matching.len() > 1 {
            return Err(Error::input(
                Location::file(&scan.file.path).row(1).column(matching[1]),
                format!(
                    "duplicate column name: {} all name the column {name} (names are matched ignoring case)",
                    matching.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Rewrites a native scan as a FOCUS-shaped scan (text columns named as FOCUS, plus `_row`).
pub fn to_focus(scan: &Scan, mapping: &Mapping) -> Result<Scan> {
    let c = Cols::new(&scan.schema);
    let resolve = |name: &str| {
        scan.schema
            .iter_names()
            .find(|n| n.eq_ignore_ascii_case(name))
            .map(|n| n.to_string())
    };
    let mut exprs = vec![col(ROW)];
    let mut labels = std::collections::BTreeMap::new();
    for (focus, rule) in &mapping.columns {
        refuse_ambiguous(scan, &rule.from)?;
        let sources: Vec<String> = rule.from.iter().filter_map(|f| resolve(f)).collect();
        if rule.constant.is_none() && sources.is_empty() && REQUIRED.contains(&focus.as_str()) {
            return Err(Error::input(
                Location::file(&scan.file.path)
                    .row(1)
                    .column(rule.from.join(" or ")),
                format!(
                    "{} export: the column that gives FOCUS {focus} is missing",
                    mapping.format
                ),
            ));
        }
        if !sources.is_empty() {
            labels.insert(focus.clone(), format!("{focus} ({})", sources.join(" or ")));
        }
        exprs.push(expression(&c, rule, &sources).alias(focus.as_str()));
    }
    let mut lf = scan.lf.clone().select(exprs);
    let schema = lf
        .collect_schema()
        .map_err(|e| Error::input(Location::file(&scan.file.path), e))?
        .as_ref()
        .clone();
    Ok(Scan {
        file: scan.file.clone(),
        lf,
        schema,
        labels,
    })
}

fn expression(c: &Cols, rule: &Rule, sources: &[String]) -> Expr {
    let null = || lit(NULL).cast(DataType::String);
    let mut e = match &rule.constant {
        Some(v) => lit(v.clone()),
        None if sources.is_empty() => null(),
        None => coalesce(&sources.iter().map(|s| text(c, s)).collect::<Vec<_>>()),
    };
    if let Some(pattern) = &rule.extract {
        e = e.str().extract(lit(pattern.clone()), 1);
    }
    if let Some(days) = rule.add_days {
        e = shift_days(e, days);
    }
    if let Some(map) = &rule.map {
        // The source value as a key is read (a byte-order mark or zero-width space removed,
        // trimmed); an empty one stays empty, for the FOCUS checks to quarantine, never mapped to
        // the default.
        let key = clean_key(e.clone()).str().to_lowercase();
        let mut mapped = match &rule.default {
            Some(d) if d.is_empty() => null(),
            Some(d) => lit(d.clone()),
            None => e.clone(),
        };
        for (from, to) in map.iter().rev() {
            let value = if to.is_empty() {
                null()
            } else {
                lit(to.clone())
            };
            mapped = when(key.clone().eq(lit(from.to_lowercase())))
                .then(value)
                .otherwise(mapped);
        }
        e = when(key.is_null()).then(null()).otherwise(mapped);
    }
    e
}

/// A native column as FOCUS text: text as it is; a typed timestamp converted to UTC
/// (`timestamps::typed_to_utc`) and written as ISO 8601, for the FOCUS validation to read back.
fn text(c: &Cols, name: &str) -> Expr {
    match c
        .schema
        .get(name)
        .and_then(|dt| typed_to_utc(col(name), dt))
    {
        Some(utc) => utc.dt().strftime(ISO),
        None => c.text(name),
    }
}

/// ISO 8601 in UTC with microseconds, as the one timestamp parser reads it.
const ISO: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Parses `e` with the one timestamp parser, shifts it by `days` and writes it as ISO 8601; a
/// value that does not parse is kept as it was, for the FOCUS validation to quarantine.
fn shift_days(e: Expr, days: i64) -> Expr {
    let parsed = e.clone().map(parse_column, |_, f| {
        Ok(Field::new(f.name().clone(), ts_type()))
    });
    let shifted =
        parsed + lit(days * 86_400_000_000).cast(DataType::Duration(TimeUnit::Microseconds));
    coalesce(&[shifted.dt().strftime(ISO), e])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_mappings_parse_and_cover_the_required_columns() {
        let m = Mappings::load(None).unwrap();
        assert_eq!(m.names(), ["aws-cur", "aws-cur2", "azure", "gcp", "oci"]);
    }

    /// Each mapping's `usage_lines.counted` is exactly the set of line types its `ChargeCategory`
    /// rule maps to `Usage` without marking them an unused commitment.
    #[test]
    fn each_mapping_says_which_line_types_count_as_usage() {
        let m = Mappings::load(None).unwrap();
        for (mapping, _) in &m.list {
            let rule = &mapping.columns["ChargeCategory"];
            let unused: Vec<String> = mapping
                .columns
                .get("CommitmentDiscountStatus")
                .and_then(|r| r.map.as_ref())
                .map(|m| m.keys().map(|k| k.to_lowercase()).collect())
                .unwrap_or_default();
            let mut counted: Vec<String> = match (&rule.constant, &rule.map) {
                (Some(c), _) if c == "Usage" => vec!["*".to_string()],
                (_, Some(map)) => map
                    .iter()
                    .filter(|(k, v)| *v == "Usage" && !unused.contains(&k.to_lowercase()))
                    .map(|(k, _)| k.to_lowercase())
                    .collect(),
                _ => Vec::new(),
            };
            let mut said: Vec<String> = mapping
                .usage_lines
                .counted
                .iter()
                .map(|k| k.to_lowercase())
                .collect();
            counted.sort();
            said.sort();
            assert_eq!(counted, said, "{}", mapping.format);
        }
    }
}
