//! What-if runs kept apart from the filing run. A run whose parameters come from `--set` or
//! `--params` (or that is named with `--scenario`) is a scenario: it publishes under
//! `<out>/scenarios/<name>/<as-of>/` with its own `runs.jsonl`, never replaces the filing run's
//! folder and never writes the knowledge clock or the filing log. A scenario's folder holds the
//! runs of one set of overrides: a run whose name is taken by a scenario made with other overrides
//! (two `--params` files of one name, `--scenario` naming another run's scenario) is refused
//! ([`check_same_overrides`]) rather than replacing it, and an explicit name holding a card
//! number (which would be masked, so that two such names would share a folder) is refused. Also:
//! the threshold-honesty check (regulatory numbers in force that differ from the rule profile's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::profile::Provenance;
use crate::error::{Error, Result};
use crate::fingerprint::sha256_bytes;
use crate::sinks::publish::SUCCESS;

/// The folder, under the output folder, that holds every scenario.
pub const SCENARIOS: &str = "scenarios";
/// Longest default scenario name before it is shortened with a hash.
const MAX_NAME: usize = 64;

/// The scenario name of a run, or `None` for a filing run: `explicit` (checked), else one derived
/// from the `--set` flags and the `--params` file when any is given.
///
/// Errors: usage, when an explicit name has characters other than letters, digits, `.`, `_`, `-`,
/// starts with `.`, or holds a card number.
pub fn name(
    explicit: Option<&str>,
    sets: &[String],
    params: Option<&Path>,
) -> Result<Option<String>> {
    if let Some(n) = explicit {
        let ok = !n.is_empty()
            && !n.starts_with('.')
            && n.len() <= 128
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(Error::Usage(format!(
                "--scenario '{n}': use letters, digits, '.', '_' and '-' only (not starting with '.')"
            )));
        }
        // Masked, two names differing in a card's hidden digits would share one folder.
        if crate::pii::redact(n) != n {
            return Err(Error::Usage(format!(
                "--scenario '{}': a scenario name must not hold a card number",
                crate::pii::redact(n)
            )));
        }
        return Ok(Some(derived(n)));
    }
    let mut parts: Vec<String> = sets.iter().map(|s| s.replace('=', "-")).collect();
    if let Some(p) = params {
        let stem = p.file_stem().map(|s| s.to_string_lossy().to_string());
        parts.insert(0, format!("params-{}", stem.unwrap_or_default()));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(derived(&crate::pii::redact(&parts.join("_")))))
}

/// A filesystem-safe name from free text; long names keep a prefix and gain a hash suffix.
fn derived(raw: &str) -> String {
    let safe: String = raw
        .chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') => c,
            '+' => 'p',
            _ => '_',
        })
        .collect();
    let safe = safe.trim_start_matches('.').to_string();
    if safe.len() <= MAX_NAME {
        return safe;
    }
    format!(
        "{}-{}",
        &safe[..MAX_NAME - 9],
        &sha256_bytes(raw.as_bytes())[..8]
    )
}

/// Where a run publishes: the output folder itself, or its scenario's folder.
pub fn publish_root(output_dir: &Path, scenario: Option<&str>) -> PathBuf {
    match scenario {
        Some(n) => output_dir.join(SCENARIOS).join(n),
        None => output_dir.to_path_buf(),
    }
}

/// The regulatory numbers in force that differ from the rule profile's, as
/// `training_ops 1e24 (rule: 1e26)`.
pub fn deviations(rule: &toml::Table, effective: &BTreeMap<String, Provenance>) -> Vec<String> {
    let number = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
    crate::config::profile::PARAMETERS
        .iter()
        .filter(|p| p.regulatory)
        .map(|p| p.name)
        .filter_map(|key| {
            let was = rule
                .get(key)
                .cloned()
                .or_else(|| crate::config::profile::default_value(key))?;
            let (now, was) = (effective.get(key)?, &was);
            let same = match (number(&now.value), number(was)) {
                (Some(a), Some(b)) => a == b,
                _ => now.value == *was,
            };
            if same {
                return None;
            }
            let shown = |v: &toml::Value| {
                Provenance {
                    value: v.clone(),
                    source: String::new(),
                }
                .display()
            };
            Some(format!("{key} {} (rule: {})", now.display(), shown(was)))
        })
        .collect()
}

/// Refuses (usage, exit 2) a run that would publish into the scenario folder `root` when its
/// latest complete run was made with other overrides than `parameters` (the run's effective
/// parameters as the manifest records them): the folder's runs would silently mix two what-ifs.
///
/// Errors: usage naming the folder and both sets of overrides.
pub fn check_same_overrides(root: &Path, parameters: &serde_json::Value) -> Result<()> {
    let Some(latest) = sorted_dirs(root)
        .into_iter()
        .rev()
        .find(|run| run.join(SUCCESS).is_file())
    else {
        return Ok(());
    };
    let theirs = overrides(&read_manifest(&latest)["parameters"]);
    let ours = overrides(parameters);
    if theirs == ours {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "scenario folder {} holds a what-if made with other overrides ({}; this run: {}): name this one with --scenario NAME, or remove that folder",
        crate::pii::redact(&root.display().to_string()),
        listed(&theirs),
        listed(&ours)
    )))
}

/// Overrides as `key=value`, a card in a value masked (also in scientific notation).
fn shown(overrides: &[(String, String)]) -> Vec<String> {
    overrides
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::pii::mask_value(v)))
        .collect()
}

/// A list of overrides as messages show it.
fn listed(overrides: &[(String, String)]) -> String {
    match overrides.is_empty() {
        true => "none".into(),
        false => shown(overrides).join(", "),
    }
}

/// A run's manifest, or JSON null when it cannot be read.
fn read_manifest(run: &Path) -> serde_json::Value {
    std::fs::read(run.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The overrides among a manifest's `parameters` (values from `--set` or a `--params` file), as
/// key and value (as written, unmasked: for comparing), in key order.
fn overrides(parameters: &serde_json::Value) -> Vec<(String, String)> {
    let Some(params) = parameters.as_object() else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = params
        .iter()
        .filter(|(_, p)| {
            let source = p["source"].as_str().unwrap_or("");
            source == "--set" || source.starts_with("params ")
        })
        .map(|(k, p)| {
            let value = match p["value"].as_f64() {
                Some(v) if v.abs() >= 1e6 => format!("{v:e}"),
                _ => p["value"].to_string(),
            };
            (k.clone(), value)
        })
        .collect();
    out.sort();
    out
}

/// One published scenario run, for `cipwatch scenarios`.
#[derive(Debug, serde::Serialize)]
pub struct Listed {
    pub scenario: String,
    pub as_of: String,
    pub run_id: String,
    pub overrides: Vec<String>,
    pub path: PathBuf,
}

/// Every complete scenario run under the output folder, by name then as-of date.
pub fn list(output_dir: &Path) -> Result<Vec<Listed>> {
    let mut found = Vec::new();
    for scenario in sorted_dirs(&output_dir.join(SCENARIOS)) {
        let name = file_name(&scenario);
        for run in sorted_dirs(&scenario) {
            if !run.join(SUCCESS).is_file() {
                continue;
            }
            let manifest = read_manifest(&run);
            let overrides = shown(&overrides(&manifest["parameters"]));
            found.push(Listed {
                scenario: name.clone(),
                as_of: file_name(&run),
                run_id: manifest["run_id"].as_str().unwrap_or("").to_string(),
                overrides,
                path: run,
            });
        }
    }
    Ok(found)
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir() && !file_name(p).starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_in_a_scenario_name_is_masked() {
        let sets = ["training_ops=4716283910475366".to_string()];
        assert_eq!(
            name(None, &sets, None).unwrap().as_deref(),
            Some("training_ops-471628______5366")
        );
        assert!(
            name(Some("sc-6011873645210984"), &[], None).is_err(),
            "names that mask alike would share a folder"
        );
    }

    #[test]
    fn a_scenario_is_named_from_its_overrides() {
        assert_eq!(name(None, &[], None).unwrap(), None);
        assert_eq!(
            name(None, &["training_ops=1e26".into()], None).unwrap(),
            Some("training_ops-1e26".into())
        );
        assert_eq!(
            name(None, &["x=a/b".into()], Some(Path::new("/t/what-if.toml"))).unwrap(),
            Some("params-what-if_x-a_b".into())
        );
        let long = name(None, &["a".repeat(200)], None).unwrap().unwrap();
        assert!(long.len() <= MAX_NAME, "{long}");
        assert!(name(Some("../x"), &[], None).is_err());
        assert_eq!(
            name(Some("low-1e24"), &[], None).unwrap(),
            Some("low-1e24".into())
        );
    }
}
