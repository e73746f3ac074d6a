//! Rule profiles: every regulatory number and screening policy as versioned data. A profile is an
//! embedded TOML (`profiles/*.toml`) or a file; its `[parameters]` are then overridden, in order, by
//! the configuration's `[overrides]`, a `--params` file and `--set KEY=VALUE` flags. Each effective
//! value remembers where it came from, and an unknown key is an error that lists the valid ones.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

// The parameters' declaration, checks and SQL cells live in `config::parameters`; re-exported here
// so that `profile::PARAMETERS`, `profile::Params` and the rest keep their paths.
pub use super::parameters::*;

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

/// A profile's identity, as recorded in the manifest and documents (and read back from a
/// published manifest by `explain`).
#[derive(Debug, Clone, Serialize, Deserialize)]
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
/// The parameters a run recorded in its manifest (`parameters`: name → `{value, source}`), with
/// the declared defaults for those it did not record (a profile at them leaves them out), checked
/// for kind as a profile's are: what `explain` reads a published run under.
///
/// Errors: configuration (exit 2) naming `what` for a value of the wrong kind or a missing one.
pub fn recorded(parameters: &serde_json::Value, what: &str) -> Result<Params> {
    let mut table = toml::Table::new();
    for p in PARAMETERS {
        let value = match parameters.get(p.name) {
            Some(v) => toml::Value::try_from(&v["value"])
                .map_err(|e| Error::config(what, format!("parameter {}: {e}", p.name)))?,
            None => match p.default {
                Some(d) => parse_literal(d),
                None => continue,
            },
        };
        table.insert(p.name.to_string(), value);
    }
    check_kinds(&mut table)?;
    Params::deserialize(toml::Value::Table(table)).map_err(|e| Error::config(what, e.message()))
}

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
