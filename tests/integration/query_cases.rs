//! Query cases (`tests/queries/<query>/<case>/`, see the README there): each runs one query file
//! alone on a few typed CSV rows per input table and the `params` table of a rule profile with the
//! case's overrides, and compares the result with `expected.csv`. One test runs every case and
//! reports every failing case by folder, with a cell-by-cell diff and the rows the query returned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Deserialize;

use cipwatch::config::profile::{self, Layer};
use cipwatch::transforms::{self, queries, CertificationPeriod, RunValues};

use crate::helpers::repo;

/// `case.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// The query file that runs, e.g. `10_flags.sql`.
    query: String,
    /// One line: what the case shows.
    description: String,
    /// Embedded profile name or path (relative to the case folder); default `nprm-2024`.
    profile: Option<String>,
    /// The run's as-of date (`params.as_of_day`, `params.as_of_end_s`); default 2026-11-26.
    as_of: Option<String>,
    /// Overrides of the profile's parameters.
    #[serde(default)]
    params: toml::Table,
}

/// The column types a typed CSV header names (`name:type`).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Ty {
    Str,
    I32,
    I64,
    F64,
    Bool,
    Date,
    Datetime,
}

/// One cell: dates as epoch days, datetimes as epoch microseconds.
#[derive(Clone, PartialEq, Debug)]
enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

/// A typed CSV table: columns (name, type) and rows of cells.
struct Table {
    columns: Vec<(String, Ty)>,
    rows: Vec<Vec<Cell>>,
}

/// Relative tolerance for floats: seven significant digits written by hand match.
const FLOAT_TOLERANCE: f64 = 1e-6;
const DEFAULT_AS_OF: &str = "2026-11-26";

#[test]
fn every_query_case_gives_its_expected_rows() {
    let root = repo().join("tests/queries");
    let cases = case_dirs(&root);
    assert!(!cases.is_empty(), "no query cases under {}", root.display());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|dir| {
            run_case(dir).err().map(|e| {
                let name = dir.strip_prefix(&root).unwrap_or(dir).display();
                format!("--- case {name}\n{e}")
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} query cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_query_file_has_a_case() {
    let root = repo().join("tests/queries");
    let set = queries::load(None).unwrap();
    let covered: Vec<String> = case_dirs(&root)
        .iter()
        .filter_map(|d| read_case(d).ok().map(|c| c.query))
        .collect();
    let missing: Vec<String> = set
        .queries
        .iter()
        .map(|q| q.file_name())
        .filter(|f| !covered.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "query files without a case: {missing:?}"
    );
}

#[test]
fn a_wrong_expected_value_or_an_unlisted_input_fails_its_case() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path();
    std::fs::write(
        case.join("case.toml"),
        "query = \"16_cert_failed_verifications.sql\"\ndescription = \"a wrong expectation\"\n",
    )
    .unwrap();
    std::fs::write(
        case.join("customers.csv"),
        "account_id:str,legal_name:str,country:str,opened_at:datetime,opened_day:i32,verification_status:str\n\
         a1,Alpha,DE,2026-01-02 00:00:00,20455,failed\na2,Beta,US,2026-01-03 00:00:00,20456,verified\n",
    )
    .unwrap();
    let expected = "account_id:str,legal_name:str,country:str,opened_at:datetime\n";
    std::fs::write(
        case.join("expected.csv"),
        format!("{expected}a1,Alpha,FR,2026-01-02 00:00:00\n"),
    )
    .unwrap();
    let err = run_case(case).unwrap_err();
    assert!(
        err.contains("row 1, column country: expected FR, got DE"),
        "{err}"
    );
    std::fs::write(
        case.join("expected.csv"),
        format!("{expected}a1,Alpha,DE,2026-01-02 00:00:00\n"),
    )
    .unwrap();
    run_case(case).unwrap();
    // A table the query's header does not list among its inputs is refused.
    std::fs::write(case.join("telemetry.csv"), "resource_id:str\nr1\n").unwrap();
    let err = run_case(case).unwrap_err();
    assert!(
        err.contains("does not list telemetry among its Inputs"),
        "{err}"
    );
}

/// Every folder under `root` holding a `case.toml`, sorted.
fn case_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|q| std::fs::read_dir(q.path()).into_iter().flatten().flatten())
        .map(|c| c.path())
        .filter(|c| c.join("case.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn read_case(dir: &Path) -> Result<CaseFile, String> {
    let text = std::fs::read_to_string(dir.join("case.toml")).map_err(|e| e.to_string())?;
    toml::from_str(&text).map_err(|e| format!("case.toml: {e}"))
}

/// Runs one case; the error is the readable diff.
fn run_case(dir: &Path) -> Result<(), String> {
    let case = read_case(dir)?;
    if case.description.trim().is_empty() {
        return Err("case.toml: the description is empty".into());
    }
    let set = queries::load(None).map_err(|e| e.to_string())?;
    let query = set
        .queries
        .iter()
        .find(|q| q.file_name() == case.query)
        .ok_or_else(|| format!("case.toml: no query file named {}", case.query))?;
    let mut tables =
        std::collections::BTreeMap::from([("params".to_string(), params(dir, &case)?)]);
    let inputs = header_inputs(&query.sql);
    for (name, path) in input_files(dir)? {
        if !inputs.contains(&name) {
            return Err(format!(
                "{name}.csv: the header of {} does not list {name} among its Inputs",
                case.query
            ));
        }
        let table = read_table(&path)?;
        let frame = to_frame(&table).map_err(|e| format!("{path:?}: {e}"))?;
        tables.insert(name, frame);
    }
    let out = transforms::run_one(query, &tables).map_err(|e| e.to_string())?;
    let expected = read_table(&dir.join("expected.csv"))?;
    compare(&expected, &out, ordered(&query.sql))
}

/// The table names the query's header lists under `Inputs:` (up to `Output:`), so a case cannot
/// feed a table the header does not admit to reading.
fn header_inputs(sql: &str) -> Vec<String> {
    let header: String = sql
        .lines()
        .take_while(|l| l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let inputs = header
        .split_once("Inputs:")
        .map(|(_, rest)| rest.split("Output:").next().unwrap_or(""))
        .unwrap_or("");
    inputs
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// The `params` table: the profile with the case's overrides, at the case's as-of date.
fn params(dir: &Path, case: &CaseFile) -> Result<DataFrame, String> {
    let spec = case.profile.as_deref().unwrap_or("nprm-2024");
    let (info, base) = profile::load(spec, dir).map_err(|e| e.to_string())?;
    let layer = Layer {
        source: "case.toml [params]".into(),
        values: case.params.clone(),
    };
    let effective = profile::resolve(info, base, &[layer]).map_err(|e| e.to_string())?;
    let as_of = NaiveDate::parse_from_str(case.as_of.as_deref().unwrap_or(DEFAULT_AS_OF), "%F")
        .map_err(|e| format!("case.toml as_of: {e}"))?;
    let day = epoch_day(as_of);
    let period = CertificationPeriod::of(as_of, effective.params.certification_period_days, None)
        .map_err(|e| e.to_string())?;
    let run = RunValues {
        as_of_day: day as i32,
        as_of_end_s: (day + 1) * 86_400,
        certification_from_day: epoch_day(period.from) as i32,
    };
    transforms::params_table(&effective.params, &run).map_err(|e| e.to_string())
}

/// The input tables: every `.csv` of the folder but `expected.csv`, named by file stem.
fn input_files(dir: &Path) -> Result<BTreeMap<String, PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    Ok(entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .filter(|p| p.file_name().is_some_and(|n| n != "expected.csv"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().to_string(), p))
        .collect())
}

/// Reads a CSV with a typed header (`name:type`); an empty cell is null.
fn read_table(path: &Path) -> Result<Table, String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut reader = csv::Reader::from_path(path).map_err(|e| format!("{name}: {e}"))?;
    let columns = reader
        .headers()
        .map_err(|e| format!("{name}: {e}"))?
        .iter()
        .map(|h| header(h).map_err(|e| format!("{name}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("{name}: {e}"))?;
        let row = columns
            .iter()
            .zip(record.iter())
            .map(|((c, ty), v)| {
                parse(v, *ty).map_err(|e| format!("{name} row {}, {c}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(row);
    }
    Ok(Table { columns, rows })
}

fn header(h: &str) -> Result<(String, Ty), String> {
    let (name, ty) = h.split_once(':').ok_or_else(|| {
        format!("column '{h}' has no type (name:str|i32|i64|f64|bool|date|datetime)")
    })?;
    let ty = match ty.trim() {
        "str" => Ty::Str,
        "i32" => Ty::I32,
        "i64" => Ty::I64,
        "f64" => Ty::F64,
        "bool" => Ty::Bool,
        "date" => Ty::Date,
        "datetime" => Ty::Datetime,
        other => return Err(format!("column '{name}': unknown type '{other}'")),
    };
    Ok((name.trim().to_string(), ty))
}

fn parse(v: &str, ty: Ty) -> Result<Cell, String> {
    if v.is_empty() {
        return Ok(Cell::Null);
    }
    let bad = |e: &dyn std::fmt::Display| format!("'{v}' is not {ty:?}: {e}");
    Ok(match ty {
        Ty::Str => Cell::Str(v.to_string()),
        Ty::I32 | Ty::I64 => Cell::Int(v.parse().map_err(|e| bad(&e))?),
        Ty::F64 => Cell::Float(v.parse().map_err(|e| bad(&e))?),
        Ty::Bool => Cell::Bool(v.parse().map_err(|e| bad(&e))?),
        Ty::Date => Cell::Int(epoch_day(
            NaiveDate::parse_from_str(v, "%F").map_err(|e| bad(&e))?,
        )),
        Ty::Datetime => {
            let t = chrono::NaiveDateTime::parse_from_str(v, "%F %T").map_err(|e| bad(&e))?;
            Cell::Int(t.and_utc().timestamp_micros())
        }
    })
}

fn epoch_day(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::default()).num_days()
}

/// The table as a frame with the header's types.
fn to_frame(t: &Table) -> PolarsResult<DataFrame> {
    let columns = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            let cells: Vec<&Cell> = t.rows.iter().map(|r| &r[i]).collect();
            let name = PlSmallStr::from(name.as_str());
            let ints: Vec<Option<i64>> = cells.iter().map(|c| as_int(c)).collect();
            let s = match ty {
                Ty::Str => Series::new(name, cells.iter().map(|c| as_str(c)).collect::<Vec<_>>()),
                Ty::I32 => Series::new(name, ints).cast(&DataType::Int32)?,
                Ty::I64 => Series::new(name, ints),
                Ty::F64 => Series::new(name, cells.iter().map(|c| as_float(c)).collect::<Vec<_>>()),
                Ty::Bool => Series::new(name, cells.iter().map(|c| as_bool(c)).collect::<Vec<_>>()),
                Ty::Date => Series::new(name, ints)
                    .cast(&DataType::Int32)?
                    .cast(&DataType::Date)?,
                Ty::Datetime => Series::new(name, ints)
                    .cast(&DataType::Datetime(TimeUnit::Microseconds, None))?,
            };
            Ok(Column::from(s))
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(t.rows.len(), columns)
}

fn as_int(c: &Cell) -> Option<i64> {
    match c {
        Cell::Int(i) => Some(*i),
        _ => None,
    }
}
fn as_float(c: &Cell) -> Option<f64> {
    match c {
        Cell::Float(f) => Some(*f),
        _ => None,
    }
}
fn as_bool(c: &Cell) -> Option<bool> {
    match c {
        Cell::Bool(b) => Some(*b),
        _ => None,
    }
}
fn as_str(c: &Cell) -> Option<String> {
    match c {
        Cell::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// The query's output as cells, in the columns (and types) that `expected` names.
fn actual(expected: &Table, out: &DataFrame) -> Result<Table, String> {
    let mut columns = Vec::new();
    for (name, ty) in &expected.columns {
        let col = out.column(name).map_err(|_| {
            let have: Vec<&str> = out.get_column_names().iter().map(|n| n.as_str()).collect();
            format!(
                "the query returns no column '{name}' (it returns: {})",
                have.join(", ")
            )
        })?;
        columns.push(cells(col, name, *ty)?);
    }
    let rows = (0..out.height())
        .map(|i| columns.iter().map(|c| c[i].clone()).collect())
        .collect();
    Ok(Table {
        columns: expected.columns.clone(),
        rows,
    })
}

/// A column's values as cells, after checking its type belongs to the family the header names.
fn cells(col: &Column, name: &str, ty: Ty) -> Result<Vec<Cell>, String> {
    let dtype = col.dtype();
    let fits = match ty {
        Ty::Str => dtype == &DataType::String,
        Ty::I32 | Ty::I64 => dtype.is_integer(),
        Ty::F64 => dtype.is_float(),
        Ty::Bool => dtype == &DataType::Boolean,
        Ty::Date => dtype == &DataType::Date,
        Ty::Datetime => matches!(dtype, DataType::Datetime(_, _)),
    };
    if !fits {
        return Err(format!(
            "column {name} is {dtype} in the output, not {ty:?}"
        ));
    }
    let target = match ty {
        Ty::Str => DataType::String,
        Ty::F64 => DataType::Float64,
        Ty::Bool => DataType::Boolean,
        Ty::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
        _ => DataType::Int64,
    };
    let s = col
        .cast(&target)
        .and_then(|c| match ty {
            Ty::Datetime | Ty::Date => c.cast(&DataType::Int64),
            _ => Ok(c),
        })
        .map_err(|e| format!("column {name}: {e}"))?;
    let s = s.as_materialized_series();
    let cells = match ty {
        Ty::Str => s
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(|x| Cell::Str(x.into())))
            .collect::<Vec<_>>(),
        Ty::F64 => s
            .f64()
            .unwrap()
            .iter()
            .map(|v| v.map(Cell::Float))
            .collect(),
        Ty::Bool => s
            .bool()
            .unwrap()
            .iter()
            .map(|v| v.map(Cell::Bool))
            .collect(),
        _ => s.i64().unwrap().iter().map(|v| v.map(Cell::Int)).collect(),
    };
    Ok(cells.into_iter().map(|c| c.unwrap_or(Cell::Null)).collect())
}

/// Whether the query's outermost statement ends with an ORDER BY (one inside parentheses, as in a
/// window or an aggregate, does not count): then rows compare in order, else both sides sorted.
fn ordered(sql: &str) -> bool {
    let body: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        .to_uppercase();
    body.rfind("ORDER BY")
        .is_some_and(|i| !body[i..].contains(')'))
}

fn compare(expected: &Table, out: &DataFrame, in_order: bool) -> Result<(), String> {
    let mut got = actual(expected, out)?;
    let mut want = expected.rows.clone();
    if !in_order {
        got.rows.sort_by_key(|r| sort_key(r));
        want.sort_by_key(|r| sort_key(r));
    }
    let mut diffs = Vec::new();
    if got.rows.len() != want.len() {
        diffs.push(format!(
            "expected {} rows, got {}",
            want.len(),
            got.rows.len()
        ));
    }
    for (i, (w, g)) in want.iter().zip(&got.rows).enumerate() {
        for (((name, ty), wc), gc) in expected.columns.iter().zip(w).zip(g) {
            if !same(wc, gc) {
                diffs.push(format!(
                    "row {}, column {name}: expected {}, got {}",
                    i + 1,
                    render(wc, *ty),
                    render(gc, *ty)
                ));
            }
        }
    }
    if diffs.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}\nthe query returned{}:\n{}",
        diffs.join("\n"),
        if in_order { "" } else { " (sorted)" },
        to_csv(&got)
    ))
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Float(x), Cell::Float(y)) => {
            x == y || (x - y).abs() <= FLOAT_TOLERANCE * x.abs().max(y.abs())
        }
        _ => a == b,
    }
}

fn sort_key(row: &[Cell]) -> Vec<String> {
    row.iter()
        .map(|c| match c {
            Cell::Float(f) => format!("{f:.5e}"),
            other => format!("{other:?}"),
        })
        .collect()
}

fn render(c: &Cell, ty: Ty) -> String {
    match (c, ty) {
        (Cell::Null, _) => String::new(),
        (Cell::Int(d), Ty::Date) => {
            (NaiveDate::default() + chrono::Days::new(*d as u64)).to_string()
        }
        (Cell::Int(us), Ty::Datetime) => chrono::DateTime::from_timestamp_micros(*us)
            .map(|t| t.format("%F %T").to_string())
            .unwrap_or_default(),
        (Cell::Int(i), _) => i.to_string(),
        (Cell::Float(f), _) => f.to_string(),
        (Cell::Bool(b), _) => b.to_string(),
        (Cell::Str(s), _) => s.clone(),
    }
}

/// The table in the case's own CSV format, ready to paste into `expected.csv` once checked.
fn to_csv(t: &Table) -> String {
    let ty_name = |ty: &Ty| format!("{ty:?}").to_lowercase();
    let mut lines = vec![t
        .columns
        .iter()
        .map(|(n, ty)| format!("{n}:{}", ty_name(ty)))
        .collect::<Vec<_>>()
        .join(",")];
    for row in &t.rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&t.columns)
            .map(|(c, (_, ty))| render(c, *ty))
            .collect();
        lines.push(cells.join(","));
    }
    lines.join("\n")
}
