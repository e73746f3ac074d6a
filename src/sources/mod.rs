//! Sources: one module per input, each turning files into a canonical lazy frame whose rows carry
//! `_source_file`, `_row` and, where a row cannot be used, `_rule` and `_reason`. Nothing is dropped
//! here: the pipeline splits used rows from quarantined ones and counts both. This module holds what
//! every source shares: scanning CSV/CSV.gz/Parquet by column name, the required-column check, and
//! typed views of messy text columns (`NULL`, blanks, timestamps without `T`/`Z`).

pub mod answers;
pub mod billing;
pub mod columns;
pub mod files;
pub mod layout;
pub mod prepared_dataset;
pub mod registry;
pub mod telemetry;
pub mod timestamps;
pub mod versions;

use polars::prelude::*;
use std::io::Cursor;

use crate::error::{Error, Location, Result};
use files::{Format, InputFile};

/// A raw scan of one file: all columns as read (text for CSV), plus `_row`.
#[derive(Clone)]
pub struct Scan {
    pub file: InputFile,
    pub lf: LazyFrame,
    pub schema: Schema,
    /// How quarantine reasons name a column, where not by its own name: a native export's FOCUS
    /// column with the native column it came from (`ConsumedQuantity (Quantity)`).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// One input after its source has run: canonical rows (used and quarantine candidates together)
/// and the raw scans, kept to recover a quarantined row's original values.
#[derive(Clone)]
pub struct Loaded {
    pub name: &'static str,
    pub files: Vec<InputFile>,
    /// The format each file was read as (billing: `focus` or a native format).
    pub formats: Vec<String>,
    pub rows: LazyFrame,
    /// Each file's rows, in file order: the frames `rows` concatenates, for a pass that reads
    /// one file at a time.
    pub per_file: Vec<LazyFrame>,
    /// Per file: whether a slice of its rows reads only that part of the file (Parquet, whose
    /// row groups are read by position, and no check compares a row with others of the file),
    /// so that a pass may take the file a part at a time. Set by the source; false by default.
    pub read_in_parts: Vec<bool>,
    pub raw: Vec<Scan>,
    /// Files of the input left out because a newer delivery of the same report holds their
    /// lines (billing only: `versions`).
    pub superseded: Vec<SupersededFile>,
}

/// A file left out of an input as an earlier version of another: its name, the newer file's, and
/// its rows (for the manifest's `excluded`).
#[derive(Debug, Clone)]
pub struct SupersededFile {
    pub file: String,
    pub by: String,
    pub rows: u64,
}

/// The row number column: the physical line for CSV (header = line 1, a record spanning lines at
/// its first line, blank lines not records), the 1-based row for Parquet.
pub const ROW: &str = "_row";
/// The name a file's own `_row` column is read under, so that it does not clash with [`ROW`].
pub const ROW_AS_WRITTEN: &str = "_row_as_written";
pub const SOURCE_FILE: &str = "_source_file";
pub const RULE: &str = "_rule";
pub const REASON: &str = "_reason";

/// Scans one file lazily. CSV columns are all read as text so that validation, not the parser,
/// decides what a bad cell is; the literal `NULL` and empty cells are nulls. A CSV file with blank
/// lines is read from memory without them (so no blank line becomes a record), as is a gzip file.
/// A column of the file named like cipwatch's own line number (`_row`) is kept as
/// [`ROW_AS_WRITTEN`], an extra column like any other.
pub fn scan(file: &InputFile) -> Result<Scan> {
    let located = |e: PolarsError| Error::input(Location::file(&file.path), e);
    let layout = file.layout.clone().unwrap_or_default();
    let indexed = open(file, true).and_then(|mut lf| {
        lf.collect_schema().map_err(located)?;
        Ok(lf)
    });
    let lf = match indexed {
        Ok(lf) => lf,
        Err(e) => {
            let mut plain = open(file, false)?;
            if !plain.collect_schema().map_err(located)?.contains(ROW) {
                return Err(e);
            }
            let offset = if file.format == Format::Parquet { 1 } else { 2 };
            plain
                .rename([ROW], [ROW_AS_WRITTEN], true)
                .with_row_index(ROW, Some(offset))
        }
    };
    let mut lf = lf;
    let schema = lf.collect_schema().map_err(located)?;
    let (lf, schema) = strip_bom(lf, schema.as_ref().clone());
    let lf = lf.with_column(physical_line(col(ROW).cast(DataType::Int64), &layout));
    Ok(Scan {
        file: file.clone(),
        lf,
        schema,
        labels: Default::default(),
    })
}

/// The file's lazy frame, with cipwatch's line number (`ROW`: the physical line for CSV, the
/// row for Parquet) when `index`.
fn open(file: &InputFile, index: bool) -> Result<LazyFrame> {
    let path_str = file.path.to_string_lossy().to_string();
    let located = |e: PolarsError| Error::input(Location::file(&file.path), e);
    let layout = file.layout.clone().unwrap_or_default();
    let from_memory = |bytes: Vec<u8>| -> Result<LazyFrame> {
        Ok(CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .map_parse_options(|o| {
                o.with_null_values(Some(NullValues::AllColumnsSingle("NULL".into())))
            })
            .with_row_index(index.then(|| RowIndex {
                name: ROW.into(),
                offset: 2,
            }))
            .into_reader_with_file_handle(Cursor::new(layout.without_blank_lines(bytes)))
            .finish()
            .map_err(located)?
            .lazy())
    };
    let lf =
        match file.format {
            Format::Csv if layout.blank_ranges.is_empty() => {
                LazyCsvReader::new(PlRefPath::new(path_str))
                    .with_has_header(true)
                    .with_infer_schema_length(Some(0))
                    .with_null_values(Some(NullValues::AllColumnsSingle("NULL".into())))
                    .with_row_index(index.then(|| RowIndex {
                        name: ROW.into(),
                        offset: 2,
                    }))
                    .finish()
                    .map_err(located)?
            }
            Format::Csv => from_memory(std::fs::read(&file.path).map_err(|e| {
                Error::input(Location::file(&file.path), format!("cannot read: {e}"))
            })?)?,
            Format::CsvGz => from_memory(files::gunzip(&file.path)?)?,
            Format::Parquet => {
                let args = ScanArgsParquet {
                    row_index: index.then(|| RowIndex {
                        name: ROW.into(),
                        offset: 1,
                    }),
                    ..Default::default()
                };
                LazyFrame::scan_parquet(PlRefPath::new(path_str), args).map_err(located)?
            }
        };
    Ok(lf)
}

/// The physical line of each record from its record number (`record + 2`): unchanged for a
/// regular file, shifted by the layout's quoted newlines and blank lines otherwise.
fn physical_line(row: Expr, layout: &layout::CsvLayout) -> Expr {
    if layout.is_regular() {
        return row.alias(ROW);
    }
    let layout = layout.clone();
    row.map(
        move |c| {
            let out: Int64Chunked = c
                .i64()?
                .iter()
                .map(|r| r.map(|r| layout.line_of((r - 2) as u64) as i64))
                .collect();
            Ok(out.with_name(ROW.into()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Int64)),
    )
    .alias(ROW)
}

/// A UTF-8 byte-order mark ends up in the first column's name; take it off.
fn strip_bom(lf: LazyFrame, schema: Schema) -> (LazyFrame, Schema) {
    let Some((first, _)) = schema.get_at_index(0).map(|(n, d)| (n.clone(), d.clone())) else {
        return (lf, schema);
    };
    let Some(clean) = first.strip_prefix('\u{feff}') else {
        return (lf, schema);
    };
    let clean = clean.to_string();
    let mut fixed = schema.clone();
    fixed.rename(&first, clean.as_str().into());
    (lf.rename([first.as_str()], [clean.as_str()], true), fixed)
}

/// Rejects a file that lacks a required column, with a hint when the header looks like another
/// delimiter was used.
pub fn require(scan: &Scan, required: &[&str]) -> Result<()> {
    for column in required {
        if scan.schema.get(column).is_none() {
            let message = format!(
                "required column {column} is missing{}",
                delimiter_hint(scan)
            );
            return Err(Error::input(
                Location::file(&scan.file.path).row(1).column(*column),
                message,
            ));
        }
    }
    Ok(())
}

/// " (the header looks ';'-delimited ...)" when the file's single column name holds another
/// delimiter; empty otherwise.
pub fn delimiter_hint(scan: &Scan) -> String {
    let names: Vec<String> = scan
        .schema
        .iter_names()
        .filter(|n| n.as_str() != ROW)
        .map(|n| n.to_string())
        .collect();
    let [header] = names.as_slice() else {
        return String::new();
    };
    match [';', '\t', '|'].into_iter().find(|d| header.contains(*d)) {
        Some('\t') => {
            " (the header looks tab-delimited; cipwatch reads comma-separated CSV)".into()
        }
        Some(d) => {
            format!(" (the header looks '{d}'-delimited; cipwatch reads comma-separated CSV)")
        }
        None => String::new(),
    }
}

/// Builds the `_rule` and `_reason` columns from checks in precedence order: a row gets the first
/// rule it breaks; a row breaking none gets nulls. Over every row only the number of the first
/// broken check is computed (a small integer); the texts are written for the rows that break one.
pub fn first_failure(checks: Vec<columns::Check>) -> [Expr; 2] {
    let mut code = lit(NULL).cast(DataType::UInt32);
    for (i, (cond, _, _)) in checks.iter().enumerate().rev() {
        code = when(cond.clone())
            .then(lit(i as u32).cast(DataType::UInt32))
            .otherwise(code);
    }
    let names: Vec<&'static str> = checks.iter().map(|c| c.1).collect();
    let rule = code.clone().map(
        move |c| {
            let out: StringChunked = c
                .u32()?
                .iter()
                .map(|k| k.map(|k| names[k as usize]))
                .collect();
            Ok(out.with_name(RULE.into()).into_column())
        },
        |_, _| Ok(Field::new(RULE.into(), DataType::String)),
    );
    [rule.alias(RULE), reasons(code, checks).alias(REASON)]
}

/// The `_reason` texts for the check numbers in `code`.
fn reasons(code: Expr, checks: Vec<columns::Check>) -> Expr {
    // Per check: its fixed text, or (what, the input holding the quoted cell).
    let mut values = Vec::new();
    let texts: Vec<(String, Option<usize>)> = checks
        .into_iter()
        .map(|(_, _, why)| match why {
            columns::Reason::Fixed(text) => (text, None),
            columns::Reason::Quoted { what, value } => {
                values.push(value);
                (what, Some(values.len()))
            }
        })
        .collect();
    code.map_many(
        move |c: &mut [Column]| {
            let codes = c[0].u32()?;
            let quoted = quoted_cells(codes, &c[1..], &texts)?;
            let out: StringChunked = codes
                .iter()
                .enumerate()
                .map(|(row, k)| {
                    k.map(|k| match &texts[k as usize] {
                        (text, None) => text.clone(),
                        (what, Some(input)) => {
                            let cell = quoted.get(&(*input, row)).map_or("", |v| v.as_str());
                            format!("{what} '{cell}'")
                        }
                    })
                })
                .collect();
            Ok(out.with_name(REASON.into()).into_column())
        },
        &values,
        |_, _| Ok(Field::new(REASON.into(), DataType::String)),
    )
}

/// The cells that reasons quote, as cleaned text (`columns::clean_cell`, blank and `NULL` as ""),
/// by (input, row): only for the rows whose first failure quotes that input, so that the columns
/// (typed timestamps, decimals) are formatted as text for the few rows quarantined, never for all.
fn quoted_cells(
    codes: &UInt32Chunked,
    inputs: &[Column],
    texts: &[(String, Option<usize>)],
) -> PolarsResult<PlHashMap<(usize, usize), String>> {
    let mut rows: Vec<Vec<IdxSize>> = vec![Vec::new(); inputs.len()];
    for (row, k) in codes.iter().enumerate() {
        if let Some(input) = k.and_then(|k| texts[k as usize].1) {
            rows[input - 1].push(row as IdxSize);
        }
    }
    let mut out = PlHashMap::default();
    for (i, (column, rows)) in inputs.iter().zip(&rows).enumerate() {
        if rows.is_empty() {
            continue;
        }
        // An absent column arrives as one null cell for every row.
        let taken = match column.len() {
            1 => column.new_from_index(0, rows.len()),
            _ => column.take_slice(rows)?,
        }
        .cast(&DataType::String)?;
        for (row, v) in rows.iter().zip(taken.str()?.iter()) {
            let cell = v.and_then(columns::clean_cell).unwrap_or_default();
            out.insert((i + 1, *row as usize), cell.to_string());
        }
    }
    Ok(out)
}

/// Scans every file of an input, checks its required columns and makes its canonical frame.
pub fn load_all(
    name: &'static str,
    files: Vec<InputFile>,
    required: &[&str],
    canonical: impl Fn(&Scan) -> Result<LazyFrame>,
) -> Result<Loaded> {
    load_files(
        name,
        files,
        required,
        |s| Ok((s.clone(), "csv/parquet".to_string())),
        canonical,
    )
}

/// As `load_all`, with a `prepare` step that may rewrite each raw scan (a native billing export into
/// FOCUS columns) and names the format it found. Quarantined rows are recovered from the raw scan.
pub fn load_files(
    name: &'static str,
    files: Vec<InputFile>,
    required: &[&str],
    prepare: impl Fn(&Scan) -> Result<(Scan, String)>,
    canonical: impl Fn(&Scan) -> Result<LazyFrame>,
) -> Result<Loaded> {
    let prepared = prepare_files(&files, prepare)?;
    assemble(name, files, prepared, required, canonical)
}

/// A file scanned as read (`raw`), prepared (a native export mapped to FOCUS names) and the
/// format it was read as.
pub struct Prepared {
    pub raw: Scan,
    pub scan: Scan,
    pub format: String,
}

/// Scans and prepares each file (lazily: nothing is read beyond the header and layout).
pub fn prepare_files(
    files: &[InputFile],
    prepare: impl Fn(&Scan) -> Result<(Scan, String)>,
) -> Result<Vec<Prepared>> {
    files
        .iter()
        .map(|file| {
            let raw = scan(file)?;
            let (scan, format) = prepare(&raw)?;
            Ok(Prepared { raw, scan, format })
        })
        .collect()
}

/// The input of `files` (each with its prepared scan, in the same order): required columns
/// checked, canonical columns built, every file's rows in one lazy frame.
pub fn assemble(
    name: &'static str,
    files: Vec<InputFile>,
    prepared: Vec<Prepared>,
    required: &[&str],
    canonical: impl Fn(&Scan) -> Result<LazyFrame>,
) -> Result<Loaded> {
    let mut raw = Vec::with_capacity(files.len());
    let mut frames = Vec::with_capacity(files.len());
    let mut formats = Vec::with_capacity(files.len());
    for (file, p) in files.iter().zip(prepared) {
        require(&p.scan, required)?;
        frames.push(canonical(&p.scan)?.with_column(lit(file.display.clone()).alias(SOURCE_FILE)));
        raw.push(p.raw);
        formats.push(p.format);
    }
    let rows = concat(
        frames.clone(),
        UnionArgs {
            maintain_order: true,
            ..Default::default()
        },
    )
    .map_err(|e| Error::internal(format!("combining {name} files"), e))?;
    Ok(Loaded {
        name,
        files,
        formats,
        rows,
        read_in_parts: vec![false; frames.len()],
        per_file: frames,
        raw,
        superseded: Vec::new(),
    })
}

/// Quarantines every row whose `key` occurs more than once across all files of an input: which of
/// two conflicting records is right cannot be known, so neither is used (and the account is then
/// treated as having no CIP record, which fails safe: it counts as foreign).
pub fn flag_duplicates(mut loaded: Loaded, key: &str) -> Result<Loaded> {
    let count = col(key)
        .count()
        .over([col(key)])
        .map_err(|e| Error::internal("duplicate check", e))?;
    let dup = col(key).is_not_null().and(count.gt(lit(1)));
    let unset = col(RULE).is_null();
    let reason = concat_str(
        [
            lit(format!("{key} '")),
            col(key),
            lit("' occurs more than once"),
        ],
        "",
        true,
    );
    loaded.rows = loaded.rows.with_columns([
        when(unset.clone().and(dup.clone()))
            .then(lit("duplicate_key"))
            .otherwise(col(RULE))
            .alias(RULE),
        when(unset.and(dup))
            .then(reason)
            .otherwise(col(REASON))
            .alias(REASON),
    ]);
    Ok(loaded)
}
