//! Quarantine: splitting each input's canonical rows into used and quarantined ones, counting both
//! (read = used + quarantined, per input and per rule), and writing every quarantined row with its
//! file, row number, rule, reason and original values, recovered from the raw file so that what
//! counsel or an engineer sees is exactly what the file said, but for payment and identity numbers,
//! masked by column and by value (`pii::mask_field`), in the original values and the reasons alike.
//! The [`Ledger`] gathers all of it over a run, with the rows a stage leaves out on purpose.

use polars::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::error::{Context, Result};
use crate::sources::files::InputFile;
use crate::sources::{Loaded, REASON, ROW, RULE, SOURCE_FILE};

/// Rows or values a stage leaves out on purpose (nothing is wrong with them, so they are not
/// quarantined), counted for the manifest's `excluded` list.
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    /// The stage that left them out (`billing`, `telemetry`, `entities`).
    pub stage: &'static str,
    /// What was left out, with its unit (`accelerator usage rows`, `identifier values`).
    pub what: &'static str,
    pub reason: String,
    pub count: u64,
}

/// One input's quarantine table, published as `quarantine/<input>.csv` (CSV only: it holds the
/// input's original text).
pub struct QuarantineTable {
    /// The input's name (`billing`, `customers`, ...).
    pub input: String,
    /// The rows as [`table`] makes them.
    pub rows: DataFrame,
}

/// What the stages leave out, gathered as they run: each input's counts (read = used +
/// quarantined), its quarantine table and the exclusions. One per run; the sinks write it.
#[derive(Default)]
pub struct Ledger {
    /// Input name → counts, for the manifest and the summary line.
    pub counts: BTreeMap<String, InputCount>,
    /// Each input's quarantined rows with their original values, in the order the inputs are read.
    pub quarantine: Vec<QuarantineTable>,
    pub excluded: Vec<Excluded>,
}

impl Ledger {
    /// Splits a small input into used and quarantined rows, records its counts (rows read counted
    /// on the files, apart from the split) and its quarantine table; returns (used, quarantined).
    pub fn split(&mut self, loaded: &Loaded) -> Result<(DataFrame, DataFrame)> {
        let (used, quarantined) = split(loaded)?;
        let read = rows_in_files(loaded)?;
        let count = InputCount::counted(read, used.height() as u64, &quarantined)?;
        self.record(loaded, count, &quarantined)?;
        Ok((used, quarantined))
    }

    /// Records an input's counts and quarantine table.
    pub fn record(
        &mut self,
        loaded: &Loaded,
        count: InputCount,
        quarantined: &DataFrame,
    ) -> Result<()> {
        self.record_table(loaded.name, count, table(loaded, quarantined)?);
        Ok(())
    }

    /// Records an input's counts and its quarantine table (as [`table`] makes it).
    pub fn record_table(&mut self, name: &str, count: InputCount, table: DataFrame) {
        self.counts.insert(name.to_string(), count);
        self.quarantine.push(QuarantineTable {
            input: name.to_string(),
            rows: table,
        });
    }

    /// Counts rows or values left out on purpose (nothing is recorded for a count of 0).
    pub fn exclude(&mut self, stage: &'static str, what: &'static str, reason: String, count: u64) {
        if count > 0 {
            self.excluded.push(Excluded {
                stage,
                what,
                reason,
                count,
            });
        }
    }

    /// Quarantined rows over every input.
    pub fn rows_quarantined(&self) -> u64 {
        self.counts.values().map(|c| c.rows_quarantined).sum()
    }
}

/// Row counts of one input, for the manifest and the run summary.
#[derive(Debug, Clone, Serialize)]
pub struct InputCount {
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_quarantined: u64,
    pub quarantined_by_rule: BTreeMap<String, u64>,
}

impl InputCount {
    /// Counts from three independent figures: the rows read from the files, the rows used and the
    /// quarantined rows (whose rules are tallied). `reconciles` then checks them against each other.
    pub fn counted(rows_read: u64, rows_used: u64, quarantine: &DataFrame) -> Result<InputCount> {
        Ok(InputCount {
            rows_used,
            ..InputCount::from_quarantine(rows_read, quarantine)?
        })
    }

    /// Whether every row read is either used or quarantined (read = used + quarantined).
    pub fn reconciles(&self) -> bool {
        self.rows_read == self.rows_used + self.rows_quarantined
    }

    /// Counts where the used rows are not counted apart: used = read − quarantined (billing, whose
    /// read count comes from its own pass over the files).
    pub fn from_quarantine(rows_read: u64, quarantine: &DataFrame) -> Result<InputCount> {
        let mut by_rule = BTreeMap::new();
        if quarantine.height() > 0 {
            let rules = quarantine
                .column(RULE)
                .and_then(|c| c.str().cloned())
                .or_internal("quarantine rules")?;
            for rule in rules.iter().flatten() {
                *by_rule.entry(rule.to_string()).or_insert(0u64) += 1;
            }
        }
        let q = quarantine.height() as u64;
        Ok(InputCount {
            rows_read,
            rows_used: rows_read.saturating_sub(q),
            rows_quarantined: q,
            quarantined_by_rule: by_rule,
        })
    }
}

/// The rows of every file of an input, counted on the raw scans (apart from the canonical rows, so
/// that a row lost between reading and splitting shows as a difference).
pub fn rows_in_files(loaded: &Loaded) -> Result<u64> {
    let mut total = 0u64;
    for scan in &loaded.raw {
        let n = scan
            .lf
            .clone()
            .select([len().alias("n")])
            .collect()
            .or_internal(format!("counting the rows of {}", scan.file.display))?;
        total += n
            .column("n")
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0);
    }
    Ok(total)
}

/// Splits a small input completely: returns (used rows without the rule columns, quarantined rows).
pub fn split(loaded: &Loaded) -> Result<(DataFrame, DataFrame)> {
    let all = loaded
        .rows
        .clone()
        .collect()
        .or_internal(format!("reading {}", loaded.name))?;
    let used = all
        .clone()
        .lazy()
        .filter(col(RULE).is_null())
        .drop(by_name([RULE, REASON], true, false))
        .collect()
        .or_internal(format!("splitting {}", loaded.name))?;
    let quarantined = all
        .lazy()
        .filter(col(RULE).is_not_null())
        .collect()
        .or_internal(format!("splitting {}", loaded.name))?;
    Ok((used, quarantined))
}

/// The `quarantine/<input>.csv` table: `source_file, row, rule, reason, original_values` (a JSON
/// object of the raw cells, in file column order), sorted by file and row.
pub fn table(loaded: &Loaded, quarantined: &DataFrame) -> Result<DataFrame> {
    let keys = quarantined
        .select([SOURCE_FILE, ROW, RULE, REASON])
        .or_internal("quarantine keys")?;
    let mut originals: Vec<DataFrame> = Vec::new();
    for scan in &loaded.raw {
        let rows = keys
            .clone()
            .lazy()
            .filter(col(SOURCE_FILE).eq(lit(scan.file.display.clone())))
            .select([col(ROW)])
            .unique(None, UniqueKeepStrategy::First)
            .collect()
            .or_internal("quarantine keys")?;
        if rows.height() == 0 {
            continue; // nothing to re-read: a clean file is not scanned again
        }
        let rows = rows.lazy();
        let raw = scan
            .lf
            .clone()
            .join(rows, [col(ROW)], [col(ROW)], JoinArgs::new(JoinType::Inner))
            .collect()
            .or_internal(format!(
                "re-reading quarantined rows of {}",
                scan.file.display
            ))?;
        originals.push(as_json(&raw, &scan.file)?);
    }
    let originals = if originals.is_empty() {
        DataFrame::empty_with_schema(&originals_schema())
    } else {
        concat(
            originals.into_iter().map(|d| d.lazy()).collect::<Vec<_>>(),
            UnionArgs::default(),
        )
        .and_then(|lf| lf.collect())
        .or_internal("combining quarantine originals")?
    };
    keys.lazy()
        .join(
            originals.lazy(),
            [col(SOURCE_FILE), col(ROW)],
            [col(SOURCE_FILE), col(ROW)],
            JoinArgs::new(JoinType::Left),
        )
        .sort([SOURCE_FILE, ROW], Default::default())
        .select([
            col(SOURCE_FILE).alias("source_file"),
            col(ROW).alias("row"),
            col(RULE).alias("rule"),
            col(REASON).alias("reason"),
            col("original_values"),
        ])
        .collect()
        .or_internal("quarantine table")
        .and_then(masked_reasons)
}

/// A raw cell as JSON, masked by its column's kind and by value (`pii::mask_field`).
fn cell(column: &str, value: &str) -> serde_json::Value {
    serde_json::Value::String(crate::pii::mask_field(column, value))
}

/// The reasons column with quoted values masked as free text.
fn masked_reasons(table: DataFrame) -> Result<DataFrame> {
    mask_reasons(table, "reason")
}

/// `table` with its `column` of quarantine reasons masked by value (a reason may quote a cell:
/// `unit '…' is not a time unit`), as every reason cipwatch writes.
pub fn mask_reasons(table: DataFrame, column: &str) -> Result<DataFrame> {
    let mut table = table;
    let reasons = table
        .column(column)
        .and_then(|c| c.str().cloned())
        .or_internal("quarantine reasons")?
        .apply_values(|r| crate::pii::mask_field("reason", r).into());
    table
        .with_column(reasons.into_series().into())
        .or_internal("quarantine reasons")?;
    Ok(table)
}

fn originals_schema() -> Schema {
    Schema::from_iter([
        Field::new(SOURCE_FILE.into(), DataType::String),
        Field::new(ROW.into(), DataType::Int64),
        Field::new("original_values".into(), DataType::String),
    ])
}

/// A raw column as the text its cells were written with, whatever its type: text as it is; a
/// whole float without its `.0` (`4112502830217073`, so a card stored as a number is masked like
/// text); bytes as UTF-8 (lossy); lists, maps and structs as Polars prints them; other types
/// cast.
fn original_text(c: &Column) -> PolarsResult<StringChunked> {
    let dtype = c.dtype();
    if dtype.is_float() {
        let values = c.cast(&DataType::Float64)?;
        let cast = c.cast(&DataType::String)?;
        let (values, cast) = (values.f64()?, cast.str()?);
        return Ok(values
            .iter()
            .zip(cast.iter())
            .map(|(v, t)| match v {
                Some(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e19 => {
                    Some(format!("{}", v as i128))
                }
                _ => t.map(String::from),
            })
            .collect::<StringChunked>()
            .with_name(c.name().clone()));
    }
    if let Some(micros) = typed_micros(c)? {
        // Formatted here, not by a cast: an instant outside chrono's range panics there.
        return Ok(micros
            .iter()
            .zip(
                c.as_materialized_series()
                    .cast(&DataType::Int64)?
                    .i64()?
                    .iter(),
            )
            .map(
                |(us, raw)| match us.and_then(chrono::DateTime::from_timestamp_micros) {
                    Some(t) => Some(t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()),
                    None => raw.map(|r| r.to_string()),
                },
            )
            .collect::<StringChunked>()
            .with_name(c.name().clone()));
    }
    if dtype.is_nested() || matches!(dtype, DataType::Binary | DataType::BinaryOffset) {
        let shown: StringChunked = (0..c.len())
            .map(|i| {
                c.get(i).ok().and_then(|v| match v {
                    AnyValue::Null => None,
                    AnyValue::Binary(b) => Some(String::from_utf8_lossy(b).into_owned()),
                    AnyValue::BinaryOwned(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                    other => Some(other.to_string()),
                })
            })
            .collect();
        return Ok(shown.with_name(c.name().clone()));
    }
    Ok(c.cast(&DataType::String)?.str()?.clone())
}

/// A date or datetime column as microseconds since the Unix epoch (null outside years 1–9999,
/// `timestamps::typed_to_utc`); `None` for any other type.
fn typed_micros(c: &Column) -> PolarsResult<Option<Int64Chunked>> {
    let Some(utc) = crate::sources::timestamps::typed_to_utc(col(c.name().clone()), c.dtype())
    else {
        return Ok(None);
    };
    let df = DataFrame::new(c.len(), vec![c.clone()])?;
    let out = df
        .lazy()
        .select([utc.cast(DataType::Int64).alias("us")])
        .collect()?;
    Ok(Some(out.column("us")?.i64()?.clone()))
}

/// Turns raw rows into (`_source_file`, `_row`, `original_values` JSON).
fn as_json(raw: &DataFrame, file: &InputFile) -> Result<DataFrame> {
    let names: Vec<String> = raw
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .filter(|n| n != ROW)
        .collect();
    let columns: Vec<StringChunked> = names
        .iter()
        .map(|n| raw.column(n).and_then(original_text))
        .collect::<PolarsResult<_>>()
        .or_internal("quarantine originals as text")?;
    let json: Vec<String> = (0..raw.height())
        .map(|i| {
            let object: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .zip(&columns)
                .map(|(n, c)| {
                    (
                        n.clone(),
                        c.get(i).map_or(serde_json::Value::Null, |v| cell(n, v)),
                    )
                })
                .collect();
            serde_json::Value::Object(object).to_string()
        })
        .collect();
    let rows = raw.column(ROW).or_internal("quarantine rows")?.clone();
    DataFrame::new(
        raw.height(),
        vec![
            Column::new(SOURCE_FILE.into(), vec![file.display.clone(); raw.height()]),
            rows.with_name(ROW.into()),
            Column::new("original_values".into(), json),
        ],
    )
    .or_internal("quarantine originals frame")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn rows_read_are_counted_apart_so_a_lost_row_does_not_reconcile() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples");
        let file = crate::sources::files::inspect(&base.join("cip/access_log.csv"), &base).unwrap();
        let lines = std::fs::read_to_string(&file.path).unwrap().lines().count() as u64 - 1;
        let mut loaded = crate::sources::registry::ACCESS_LOG
            .load(vec![file])
            .unwrap();
        let mut ledger = Ledger::default();
        ledger.split(&loaded).unwrap();
        assert_eq!(ledger.counts["access_log"].rows_read, lines);
        assert!(ledger.counts["access_log"].reconciles());
        // A canonical frame that loses a row (a bug in a source) is caught by the count.
        loaded.rows = loaded.rows.slice(1, u32::MAX);
        ledger.split(&loaded).unwrap();
        let c = &ledger.counts["access_log"];
        assert_eq!(c.rows_read, lines);
        assert_eq!(c.rows_used + c.rows_quarantined, lines - 1);
        assert!(!c.reconciles());
    }
}
