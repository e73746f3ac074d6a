//! The EAR country groups (15 CFR part 740, Supplement No. 1: D:1, D:4, D:5, E:1, E:2) as dated
//! reference data beside the code (`country-groups.csv`: each row's group, ISO 3166-1 alpha-2 code,
//! country name, source, the date of the version transcribed and a note). A profile whose subject
//! test is `country_group` names groups (`subject_country_groups`) and countries
//! (`subject_countries`); [`CountryGroups::expand`] turns them into the one list of country codes
//! the queries read (`params.subject_country_codes`). The configuration's `[inputs] country_groups`
//! replaces the embedded table with a file of the same columns.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;

use crate::error::{Error, Result};

const EMBEDDED: &str = include_str!("country-groups.csv");

/// The groups a profile may name (`subject_country_groups`): every group the table must hold.
pub const GROUPS: &[&str] = &["D:1", "D:4", "D:5", "E:1", "E:2"];

/// The header of a country-groups file.
const HEADER: [&str; 6] = [
    "group",
    "country",
    "country_name",
    "source",
    "as_of",
    "note",
];

/// A country-groups table: its rows and where it came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CountryGroups {
    /// `embedded` or the file it was read from.
    pub origin: String,
    /// The sources the rows cite, and the dates of the versions transcribed (distinct values, `; `-joined).
    pub source: String,
    pub as_of: String,
    #[serde(skip)]
    rows: Vec<(String, String)>,
}

static TABLE: LazyLock<CountryGroups> = LazyLock::new(|| {
    parse(EMBEDDED, "embedded").expect("the embedded country-groups.csv is valid (a test checks)")
});

/// The embedded table.
pub fn embedded() -> &'static CountryGroups {
    &TABLE
}

/// Reads a country-groups file (the columns of the embedded one).
///
/// Errors: reference data (exit 4) when unreadable; configuration (exit 2) when malformed.
pub fn load(path: &Path) -> Result<CountryGroups> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Reference(format!(
            "{}: country groups file not readable: {e}",
            path.display()
        ))
    })?;
    parse(&text, &path.display().to_string())
}

fn parse(text: &str, origin: &str) -> Result<CountryGroups> {
    let bad = |line: usize, why: String| {
        Error::config(
            format!("country groups {origin}"),
            format!("line {line}: {why}"),
        )
    };
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| split(l)).unwrap_or_default();
    if header != HEADER {
        return Err(bad(1, format!("the header must be {}", HEADER.join(","))));
    }
    let (mut rows, mut sources, mut dates) = (Vec::new(), BTreeSet::new(), BTreeSet::new());
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let cells = split(line);
        if cells.len() != HEADER.len() {
            return Err(bad(
                i + 1,
                format!("{} cells, not {}", cells.len(), HEADER.len()),
            ));
        }
        let (group, country) = (cells[0].trim(), cells[1].trim());
        if !GROUPS.contains(&group) {
            return Err(bad(
                i + 1,
                format!("group '{group}' is not one of {}", GROUPS.join(", ")),
            ));
        }
        if !is_country_code(country) {
            return Err(bad(
                i + 1,
                format!("'{country}' is not an ISO 3166-1 alpha-2 code"),
            ));
        }
        rows.push((group.to_string(), country.to_string()));
        sources.insert(cells[3].trim().to_string());
        dates.insert(cells[4].trim().to_string());
    }
    if let Some(missing) = GROUPS.iter().find(|g| !rows.iter().any(|(r, _)| r == *g)) {
        return Err(bad(0, format!("group {missing} has no country")));
    }
    let join = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join("; ");
    Ok(CountryGroups {
        origin: origin.to_string(),
        source: join(sources),
        as_of: join(dates),
        rows,
    })
}

/// One CSV line's cells (double quotes around a cell that holds a comma; no quote inside one).
fn split(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// An assigned ISO 3166-1 alpha-2 code, upper case (`isocountry`): what the registry's country
/// columns, the country groups and `subject_countries` are checked for. `UK` and `XX` are not.
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2
        && s.bytes().all(|b| b.is_ascii_uppercase())
        && isocountry::CountryCode::for_alpha2(s).is_ok()
}

impl CountryGroups {
    /// The country codes of `groups` together with `countries`, sorted and distinct.
    pub fn expand(&self, groups: &[String], countries: &[String]) -> Vec<String> {
        let mut codes: BTreeSet<String> = countries.iter().cloned().collect();
        codes.extend(
            self.rows
                .iter()
                .filter(|(g, _)| groups.contains(g))
                .map(|(_, c)| c.clone()),
        );
        codes.into_iter().collect()
    }

    /// The table as a document cites it: `<source> (as of <date>)`.
    pub fn citation(&self) -> String {
        format!("{} (as of {})", self.source, self.as_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_assigned_upper_case_iso_codes() {
        for code in ["GB", "US", "SG", "MO"] {
            assert!(is_country_code(code), "{code}");
        }
        for code in ["UK", "XX", "gb", "USA", "G", ""] {
            assert!(!is_country_code(code), "{code}");
        }
    }

    #[test]
    fn the_embedded_table_holds_every_group_with_source_and_date() {
        let t = embedded();
        assert_eq!(t.origin, "embedded");
        assert!(t.source.contains("Supplement No. 1"), "{}", t.source);
        assert_eq!(t.as_of, "2025-05-13");
        let d5 = t.expand(&["D:5".into()], &["MO".into()]);
        for code in ["CN", "HK", "RU", "IR", "KP", "MO", "VE"] {
            assert!(
                d5.contains(&code.to_string()),
                "{code} missing from D:5 + MO"
            );
        }
        assert!(!d5.contains(&"SG".to_string()) && !d5.contains(&"US".to_string()));
        assert_eq!(
            t.expand(&[], &["MO".into(), "MO".into()]),
            vec!["MO".to_string()]
        );
    }

    #[test]
    fn a_malformed_table_is_refused() {
        let head = HEADER.join(",");
        for (text, why) in [
            ("group,country\n".to_string(), "header"),
            (
                format!("{head}\nD:9,CN,China,s,2025-01-01,\n"),
                "not one of",
            ),
            (
                format!("{head}\nD:5,China,China,s,2025-01-01,\n"),
                "alpha-2",
            ),
            (
                format!("{head}\nD:5,CN,China,s,2025-01-01,\n"),
                "has no country",
            ),
        ] {
            let e = parse(&text, "test").unwrap_err().to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
    }
}
