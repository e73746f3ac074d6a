//! Reading the list snapshots into one table of listed parties (list, entry, names, countries,
//! identity numbers, programs).
//!
//! Formats, as the publishers write them:
//! - the Consolidated Screening List's CSV (`consolidated.csv`, trade.gov): a header row naming
//!   `_id, source, entity_number, type, programs, name, title, addresses, federal_register_notice,
//!   start_date, end_date, standard_order, license_requirement, license_policy, call_sign,
//!   vessel_type, gross_tonnage, gross_registered_tonnage, vessel_flag, vessel_owner, remarks,
//!   source_list_url, alt_names, citizenships, dates_of_birth, nationalities, places_of_birth,
//!   source_information_url, ids`; lists within a cell separated by `;`, an address's parts by `,`
//!   (its country last), an id as `type, number, country`. Read by name: `source` and `name` are
//!   required, the others used when present;
//! - its JSON (`consolidated.json`): an array of records, or an object whose `results` is one, with
//!   the same fields (`alt_names`, `programs`, `nationalities`, `citizenships` arrays; `addresses`
//!   objects with `country`; `ids` objects with `type`, `number`, `country`);
//! - OFAC's legacy CSV files, without a header: `sdn.csv` (`ent_num, SDN_Name, SDN_Type, Program,
//!   Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks`), `alt.csv`
//!   (`ent_num, alt_num, alt_type, alt_name, alt_remarks`) and `add.csv` (`ent_num, add_num,
//!   address, city/state/postal, country, add_remarks`); `-0-` is an empty field; identity numbers
//!   are in the remarks (`Passport A1234567 (Iran); National ID No. 123456789 (Iran)`). The
//!   non-SDN files `cons_prim.csv`, `cons_alt.csv` and `cons_add.csv` have the same columns.
//!
//! A file cipwatch cannot tell the kind of, a row with too few fields, an `ent_num` that is not a
//! number or that an `alt.csv`/`add.csv` row names without its `sdn.csv` row, or a CSL record
//! without a name is exit 3, naming the file and line: a list is read whole or not at all.

use std::collections::BTreeMap;
use std::path::Path;

use super::names;
use crate::error::{Error, Location, Result};

/// One listed party: an entry of one list.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// `SDN` (OFAC's files) or the CSL's source, shortened to its code where it gives one
    /// (`Entity List (EL) - Bureau of Industry and Security` → `EL`).
    pub list: String,
    /// The entry's number on its list (`ent_num`, `entity_number`, else the CSL's `_id`).
    pub entry_id: String,
    /// The primary name first, then the alternative names.
    pub names: Vec<String>,
    /// ISO 3166-1 alpha-2 codes where cipwatch knows the country's name; other names upper case.
    pub countries: Vec<String>,
    /// (kind, number normalised by [`names::identifier`]).
    pub ids: Vec<(String, String)>,
    /// `;`-joined.
    pub programs: String,
}

/// What kind of list file a snapshot file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CslCsv,
    CslJson,
    OfacPrimary,
    OfacAlt,
    OfacAddress,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::CslCsv => "csl-csv",
            Kind::CslJson => "csl-json",
            Kind::OfacPrimary => "ofac-sdn",
            Kind::OfacAlt => "ofac-alt",
            Kind::OfacAddress => "ofac-add",
        }
    }
}

/// The kind of `path` from its name and first line: JSON is the CSL's; a CSV whose first line
/// names `_id`, `source` and `name` is the CSL's; else OFAC's by file name (`sdn.csv`,
/// `cons_prim.csv`; `alt.csv`, `cons_alt.csv`; `add.csv`, `cons_add.csv`).
pub fn kind(path: &Path, text: &str) -> Result<Kind> {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if file.ends_with(".json") {
        return Ok(Kind::CslJson);
    }
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    let header: Vec<String> = first
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_lowercase())
        .collect();
    if ["_id", "source", "name"]
        .iter()
        .all(|c| header.iter().any(|h| h == c))
    {
        return Ok(Kind::CslCsv);
    }
    let stem = file.trim_end_matches(".csv");
    match stem {
        s if s.ends_with("sdn") || s.ends_with("prim") => Ok(Kind::OfacPrimary),
        s if s.ends_with("alt") => Ok(Kind::OfacAlt),
        s if s.ends_with("add") => Ok(Kind::OfacAddress),
        _ => Err(Error::input(
            Location::file(path),
            "not a screening list cipwatch reads: expected the Consolidated Screening List \
             (consolidated.csv with its header, or consolidated.json) or OFAC's sdn.csv, alt.csv, \
             add.csv (cons_prim.csv, cons_alt.csv, cons_add.csv)",
        )),
    }
}

/// The text of a list file: UTF-8, else Latin-1 (OFAC's legacy files are not always UTF-8); a BOM
/// and the end-of-file character (`0x1A`) OFAC's files end with are dropped.
pub fn text(bytes: &[u8]) -> String {
    let s = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|b| *b as char).collect(),
    };
    s.trim_start_matches('\u{feff}')
        .replace('\u{1a}', "")
        .to_string()
}

/// Reads every file (path, kind, text) into listed parties, OFAC's three files joined on
/// `ent_num`.
pub fn read(files: &[(std::path::PathBuf, Kind, String)]) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    let mut ofac: BTreeMap<(String, String), Listed> = BTreeMap::new();
    // The primary files first, so that alt and add rows find their entry.
    let mut order: Vec<&(std::path::PathBuf, Kind, String)> = files.iter().collect();
    order.sort_by_key(|(_, k, _)| !matches!(k, Kind::OfacPrimary));
    for (path, kind, text) in order {
        match kind {
            Kind::CslCsv => out.extend(csl_csv(path, text)?),
            Kind::CslJson => out.extend(csl_json(path, text)?),
            Kind::OfacPrimary => ofac_primary(path, text, &mut ofac)?,
            Kind::OfacAlt | Kind::OfacAddress => ofac_secondary(path, *kind, text, &mut ofac)?,
        }
    }
    out.extend(ofac.into_values());
    for l in &mut out {
        l.countries.sort();
        l.countries.dedup();
        l.ids.sort();
        l.ids.dedup();
    }
    Ok(out)
}

/// OFAC's null field.
fn cell(s: &str) -> &str {
    match s.trim() {
        "-0-" => "",
        t => t,
    }
}

fn bad(path: &Path, line: u64, message: impl std::fmt::Display) -> Error {
    Error::input(Location::file(path).row(line), message)
}

/// The physical line (1-based) a record starts on: its byte offset's line, blank lines counted.
fn line_at(text: &str, position: Option<&csv::Position>) -> u64 {
    let bytes = text.as_bytes();
    let mut byte = position.map_or(0, |p| p.byte() as usize).min(bytes.len());
    // After a CRLF the reader's position is at its LF: the record starts after it.
    while byte < bytes.len() && matches!(bytes[byte], b'\r' | b'\n') {
        byte += 1;
    }
    1 + bytes[..byte].iter().filter(|b| **b == b'\n').count() as u64
}

/// The records of a header-less CSV, each with its line, blank records skipped.
fn headerless(path: &Path, text: &str) -> Result<Vec<(u64, csv::StringRecord)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    records(&mut reader, path, text)
}

/// The records `reader` has left, each with its line; blank records skipped. Errors: input (exit
/// 3) naming the file and line of a record that is not CSV.
fn records(
    reader: &mut csv::Reader<&[u8]>,
    path: &Path,
    text: &str,
) -> Result<Vec<(u64, csv::StringRecord)>> {
    let mut out = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| {
            let line = line_at(text, e.position());
            bad(path, line, format!("not CSV: {e}"))
        })?;
        let line = line_at(text, r.position());
        if r.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        out.push((line, r));
    }
    Ok(out)
}

fn ent_num(path: &Path, line: u64, s: &str) -> Result<String> {
    let s = s.trim();
    match !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        true => Ok(s.to_string()),
        false => Err(bad(
            path,
            line,
            format!("ent_num '{}' is not a number", crate::pii::mask_value(s)),
        )),
    }
}

fn ofac_primary(
    path: &Path,
    text: &str,
    out: &mut BTreeMap<(String, String), Listed>,
) -> Result<()> {
    let list = "SDN".to_string();
    for (line, r) in headerless(path, text)? {
        if r.len() < 12 {
            return Err(bad(
                path,
                line,
                format!(
                    "{} fields, sdn.csv has 12 (ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks)",
                    r.len()
                ),
            ));
        }
        let id = ent_num(path, line, &r[0])?;
        let name = cell(&r[1]);
        if name.is_empty() {
            return Err(bad(path, line, "SDN_Name is empty"));
        }
        let remarks = cell(&r[11]);
        let mut entry = Listed {
            list: list.clone(),
            entry_id: id.clone(),
            names: vec![name.to_string()],
            programs: cell(&r[3])
                .trim_matches(|c| c == '[' || c == ']')
                .replace("] [", ";"),
            ..Listed::default()
        };
        remark_facts(remarks, &mut entry);
        if let Some(flag) = country(cell(&r[9])) {
            entry.countries.push(flag);
        }
        out.insert((list.clone(), id), entry);
    }
    Ok(())
}

fn ofac_secondary(
    path: &Path,
    kind: Kind,
    text: &str,
    out: &mut BTreeMap<(String, String), Listed>,
) -> Result<()> {
    let (fields, what) = match kind {
        Kind::OfacAlt => (
            5,
            "alt.csv has 5 (ent_num, alt_num, alt_type, alt_name, alt_remarks)",
        ),
        _ => (
            6,
            "add.csv has 6 (ent_num, add_num, address, city/state/postal, country, add_remarks)",
        ),
    };
    for (line, r) in headerless(path, text)? {
        if r.len() < fields {
            return Err(bad(path, line, format!("{} fields, {what}", r.len())));
        }
        let id = ent_num(path, line, &r[0])?;
        let Some(entry) = out.get_mut(&("SDN".to_string(), id.clone())) else {
            return Err(bad(
                path,
                line,
                format!("ent_num {id} has no row in the primary file (sdn.csv or cons_prim.csv): name the files of one download together"),
            ));
        };
        match kind {
            Kind::OfacAlt => {
                let name = cell(&r[3]);
                if !name.is_empty() {
                    entry.names.push(name.to_string());
                }
            }
            _ => {
                if let Some(c) = country(cell(&r[4])) {
                    entry.countries.push(c);
                }
            }
        }
    }
    Ok(())
}

/// The identity numbers and nationalities OFAC writes in an entry's remarks, `;`-separated:
/// `Passport A1234567 (Iran)`, `National ID No. 0012345678 (Iran)`, `nationality Iran`.
fn remark_facts(remarks: &str, entry: &mut Listed) {
    for part in remarks.split(';').map(str::trim) {
        let part = part.trim_end_matches('.');
        let lower = part.to_lowercase();
        for prefix in ["nationality ", "citizen "] {
            if let Some(rest) = lower.strip_prefix(prefix) {
                if let Some(c) = country(&part[part.len() - rest.len()..]) {
                    entry.countries.push(c);
                }
            }
        }
        if let Some((kind, number, place)) = remark_id(part) {
            if let Some(id) = names::identifier(&number) {
                entry.ids.push((kind, id));
            }
            if let Some(c) = place.as_deref().and_then(country) {
                entry.countries.push(c);
            }
        }
    }
}

/// Words that start a remark holding a number that is not an identity document.
const NOT_IDS: &[&str] = &[
    "dob",
    "pob",
    "phone",
    "telephone",
    "fax",
    "website",
    "email",
    "executive order",
    "additional sanctions",
    "organization established",
    "secondary sanctions",
    "transactions",
    "effective date",
    "listing date",
    "gender",
    "vessel year",
    "aircraft",
];

/// `kind number (place)` of one remark, where the number holds a digit.
fn remark_id(part: &str) -> Option<(String, String, Option<String>)> {
    let lower = part.to_lowercase();
    if NOT_IDS.iter().any(|w| lower.starts_with(w)) || lower.starts_with("a.k.a") {
        return None;
    }
    let (body, place) = match part.strip_suffix(')').and_then(|p| p.rsplit_once(" (")) {
        Some((b, p)) => (b.trim(), Some(p.trim().to_string())),
        None => (part, None),
    };
    let (kind, number) = body.rsplit_once(' ')?;
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let kind_ok = kind.chars().next().is_some_and(char::is_alphabetic);
    (digits >= 3 && kind_ok).then(|| (kind.trim().to_string(), number.to_string(), place))
}

/// A CSL source's code: the text in parentheses (`Entity List (EL) - ...` → `EL`), else the source.
fn source_code(source: &str) -> String {
    source
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(code, _)| code.trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| source.trim().to_string())
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(';').map(str::trim).filter(|p| !p.is_empty())
}

fn csl_csv(path: &Path, text: &str) -> Result<Vec<Listed>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(path, 1, format!("not CSV: {e}")))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let at = |name: &str| headers.iter().position(|h| h == name);
    let (Some(source), Some(name)) = (at("source"), at("name")) else {
        return Err(Error::input(
            Location::file(path).row(1),
            "the Consolidated Screening List's header must name source and name",
        ));
    };
    let mut out = Vec::new();
    for (line, r) in records(&mut reader, path, text)? {
        let get = |i: Option<usize>| i.and_then(|i| r.get(i)).unwrap_or("").trim();
        let primary = get(Some(name));
        if primary.is_empty() {
            return Err(bad(path, line, "column name is empty"));
        }
        let entry_id = match get(at("entity_number")) {
            "" => get(at("_id")),
            n => n,
        };
        let mut l = Listed {
            list: source_code(get(Some(source))),
            entry_id: entry_id.to_string(),
            names: std::iter::once(primary)
                .chain(split_list(get(at("alt_names"))))
                .map(String::from)
                .collect(),
            programs: split_list(get(at("programs")))
                .collect::<Vec<_>>()
                .join(";"),
            ..Listed::default()
        };
        for address in split_list(get(at("addresses"))) {
            if let Some(c) = address.rsplit(',').next().and_then(|c| country(c.trim())) {
                l.countries.push(c);
            }
        }
        for column in ["nationalities", "citizenships"] {
            l.countries
                .extend(split_list(get(at(column))).filter_map(country));
        }
        for id in split_list(get(at("ids"))) {
            let parts: Vec<&str> = id.split(',').map(str::trim).collect();
            let (kind, number, place) = match parts.as_slice() {
                [kind, number, place, ..] => (*kind, *number, Some(*place)),
                [kind, number] => (*kind, *number, None),
                [number] => ("", *number, None),
                [] => continue,
            };
            if let Some(n) = names::identifier(number) {
                l.ids.push((kind.to_string(), n));
            }
            if let Some(c) = place.and_then(country) {
                l.countries.push(c);
            }
        }
        out.push(l);
    }
    Ok(out)
}

fn csl_json(path: &Path, text: &str) -> Result<Vec<Listed>> {
    use serde_json::Value;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Error::input(
            Location::file(path).row(e.line() as u64),
            format!("not JSON: {e}"),
        )
    })?;
    let records = match &value {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("results") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(Error::input(
                    Location::file(path),
                    "expected an array of records, or an object whose results is one",
                ))
            }
        },
        _ => {
            return Err(Error::input(
                Location::file(path),
                "expected an array of records, or an object whose results is one",
            ))
        }
    };
    let text_of = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a.iter().map(|x| text_of(Some(x))).collect(),
            Some(Value::String(s)) => split_list(s).map(String::from).collect(),
            _ => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let name = text_of(r.get("name"));
        if name.is_empty() {
            return Err(Error::input(
                Location::file(path),
                format!("record {} has no name", i + 1),
            ));
        }
        let entry_id = [r.get("entity_number"), r.get("id"), r.get("_id")]
            .into_iter()
            .map(text_of)
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        let mut l = Listed {
            list: source_code(&text_of(r.get("source"))),
            entry_id,
            names: std::iter::once(name)
                .chain(strings(r.get("alt_names")))
                .filter(|n| !n.is_empty())
                .collect(),
            programs: strings(r.get("programs")).join(";"),
            ..Listed::default()
        };
        if let Some(Value::Array(addresses)) = r.get("addresses") {
            l.countries.extend(
                addresses
                    .iter()
                    .filter_map(|a| country(&text_of(a.get("country")))),
            );
        }
        for column in ["nationalities", "citizenships"] {
            l.countries
                .extend(strings(r.get(column)).iter().filter_map(|c| country(c)));
        }
        if let Some(Value::Array(ids)) = r.get("ids") {
            for id in ids {
                if let Some(n) = names::identifier(&text_of(id.get("number"))) {
                    l.ids.push((text_of(id.get("type")), n));
                }
                l.countries.extend(country(&text_of(id.get("country"))));
            }
        }
        out.push(l);
    }
    Ok(out)
}

/// Country names as the lists write them → ISO 3166-1 alpha-2; two capital letters are taken as a
/// code. Other names are kept upper case (compared with nothing: the country part is then
/// `unknown`, never a mismatch).
const COUNTRIES: &[(&str, &str)] = &[
    ("afghanistan", "AF"),
    ("albania", "AL"),
    ("algeria", "DZ"),
    ("argentina", "AR"),
    ("armenia", "AM"),
    ("australia", "AU"),
    ("austria", "AT"),
    ("azerbaijan", "AZ"),
    ("bahrain", "BH"),
    ("bangladesh", "BD"),
    ("belarus", "BY"),
    ("belgium", "BE"),
    ("bolivia", "BO"),
    ("bosnia and herzegovina", "BA"),
    ("brazil", "BR"),
    ("bulgaria", "BG"),
    ("burma", "MM"),
    ("myanmar", "MM"),
    ("cambodia", "KH"),
    ("canada", "CA"),
    ("central african republic", "CF"),
    ("chile", "CL"),
    ("china", "CN"),
    ("colombia", "CO"),
    ("congo democratic republic of the", "CD"),
    ("cuba", "CU"),
    ("cyprus", "CY"),
    ("czech republic", "CZ"),
    ("czechia", "CZ"),
    ("denmark", "DK"),
    ("ecuador", "EC"),
    ("egypt", "EG"),
    ("eritrea", "ER"),
    ("estonia", "EE"),
    ("ethiopia", "ET"),
    ("finland", "FI"),
    ("france", "FR"),
    ("georgia", "GE"),
    ("germany", "DE"),
    ("ghana", "GH"),
    ("greece", "GR"),
    ("haiti", "HT"),
    ("hong kong", "HK"),
    ("hungary", "HU"),
    ("india", "IN"),
    ("indonesia", "ID"),
    ("iran", "IR"),
    ("iraq", "IQ"),
    ("ireland", "IE"),
    ("israel", "IL"),
    ("italy", "IT"),
    ("japan", "JP"),
    ("jordan", "JO"),
    ("kazakhstan", "KZ"),
    ("kenya", "KE"),
    ("korea north", "KP"),
    ("north korea", "KP"),
    ("korea south", "KR"),
    ("south korea", "KR"),
    ("kosovo", "XK"),
    ("kuwait", "KW"),
    ("kyrgyzstan", "KG"),
    ("laos", "LA"),
    ("latvia", "LV"),
    ("lebanon", "LB"),
    ("libya", "LY"),
    ("liechtenstein", "LI"),
    ("lithuania", "LT"),
    ("luxembourg", "LU"),
    ("macau", "MO"),
    ("malaysia", "MY"),
    ("mali", "ML"),
    ("malta", "MT"),
    ("mexico", "MX"),
    ("moldova", "MD"),
    ("mongolia", "MN"),
    ("montenegro", "ME"),
    ("morocco", "MA"),
    ("netherlands", "NL"),
    ("new zealand", "NZ"),
    ("nicaragua", "NI"),
    ("nigeria", "NG"),
    ("north macedonia", "MK"),
    ("norway", "NO"),
    ("oman", "OM"),
    ("pakistan", "PK"),
    ("panama", "PA"),
    ("paraguay", "PY"),
    ("peru", "PE"),
    ("philippines", "PH"),
    ("poland", "PL"),
    ("portugal", "PT"),
    ("qatar", "QA"),
    ("romania", "RO"),
    ("russia", "RU"),
    ("russian federation", "RU"),
    ("saudi arabia", "SA"),
    ("serbia", "RS"),
    ("seychelles", "SC"),
    ("singapore", "SG"),
    ("slovakia", "SK"),
    ("slovenia", "SI"),
    ("somalia", "SO"),
    ("south africa", "ZA"),
    ("south sudan", "SS"),
    ("spain", "ES"),
    ("sri lanka", "LK"),
    ("sudan", "SD"),
    ("sweden", "SE"),
    ("switzerland", "CH"),
    ("syria", "SY"),
    ("taiwan", "TW"),
    ("tajikistan", "TJ"),
    ("tanzania", "TZ"),
    ("thailand", "TH"),
    ("tunisia", "TN"),
    ("turkey", "TR"),
    ("turkiye", "TR"),
    ("turkmenistan", "TM"),
    ("uganda", "UG"),
    ("ukraine", "UA"),
    ("united arab emirates", "AE"),
    ("united kingdom", "GB"),
    ("united states", "US"),
    ("uruguay", "UY"),
    ("uzbekistan", "UZ"),
    ("venezuela", "VE"),
    ("vietnam", "VN"),
    ("yemen", "YE"),
    ("zimbabwe", "ZW"),
];

/// A list's country text as an ISO code where known (see [`COUNTRIES`]); `None` for an empty one.
pub fn country(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.len() == 2 && t.chars().all(|c| c.is_ascii_uppercase()) {
        return Some(t.to_string());
    }
    let folded = names::fold(t)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some(
        COUNTRIES
            .iter()
            .find(|(n, _)| *n == folded)
            .map(|(_, c)| c.to_string())
            .unwrap_or_else(|| t.to_uppercase()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ofac_remarks_give_identity_numbers_and_countries() {
        let mut l = Listed::default();
        remark_facts(
            "DOB 01 Jan 1960; POB Tehran, Iran; nationality Iran; Passport A1234567 (Iran); National ID No. 001-234-5678 (Iran); Phone Number 98211234567.",
            &mut l,
        );
        assert_eq!(
            l.ids,
            vec![
                ("Passport".to_string(), "A1234567".to_string()),
                ("National ID No.".to_string(), "0012345678".to_string())
            ]
        );
        assert!(l.countries.iter().all(|c| c == "IR"), "{:?}", l.countries);
        assert_eq!(
            source_code("Entity List (EL) - Bureau of Industry and Security"),
            "EL"
        );
        assert_eq!(country("Korea, North").as_deref(), Some("KP"));
        assert_eq!(country("Atlantis").as_deref(), Some("ATLANTIS"));
    }
}
