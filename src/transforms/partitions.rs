//! How one query runs: whole, or, when it declares a partition, on parts of whole values of its
//! column, each part in a SQL context of its own, the parts' results stacked in memory or written
//! to the run's staging folder a part at a time; and the same parts for aggregations outside SQL
//! (`per_account_part`).

use polars::prelude::*;
use polars::sql::SQLContext;

use super::billed;
use super::queries::Query;
use crate::error::{Error, Result};

/// The rows a part of a partitioned query's table holds at least (the last part may hold fewer),
/// when a run executes it ([`queries::Partition`]): small enough that a part's intermediate tables
/// are a fraction of the whole, large enough that planning each part costs nothing.
pub const ROWS_PER_PART: usize = 1_000_000;

/// Runs one query: on the whole of its tables, or, when it declares a partition, on parts of
/// `rows_per_part` rows or more of that table, each holding whole values of the column (whatever
/// the order of its rows), in the column's order, its null values last; the parts' results are
/// stacked (a table with no rows is one part): in memory, or, given a folder `on_disk`, written
/// there a part at a time (`NNNNNN.parquet`, private) and scanned in part order.
///
/// Errors: as [`execute_whole`]; internal (exit 1) when a part cannot be written.
pub(super) fn execute(
    ctx: &mut SQLContext,
    q: &Query,
    rows_per_part: usize,
    profile: Option<&std::ffi::OsStr>,
    on_disk: Option<&std::path::Path>,
) -> Result<LazyFrame> {
    let Some(p) = &q.partition else {
        return Ok(execute_whole(ctx, q, profile)?.lazy());
    };
    let what = || format!("query {} ({})", q.file_name(), q.origin);
    let mut wholes = Vec::new();
    for (table, column) in p.tables() {
        let whole = ctx
            .execute(&format!("SELECT * FROM {table}"))
            .map_err(|e| Error::config_caused(what(), e))?;
        wholes.push((table, column, whole));
    }
    let ranges = match wholes.first() {
        Some((_, column, whole)) => {
            parts(whole.clone(), column, rows_per_part).map_err(|e| Error::internal(what(), e))?
        }
        None => Vec::new(),
    };
    if ranges.is_empty() {
        return Ok(execute_whole(ctx, q, profile)?.lazy());
    }
    let mut stacked = Stacked::new(on_disk);
    for range in ranges {
        let mut part_ctx = own_copy(ctx).map_err(|e| Error::internal(what(), e))?;
        for (table, column, whole) in &wholes {
            part_ctx.register(table, whole.clone().filter(range.on(column)));
        }
        stacked.push(execute_whole(&mut part_ctx, q, profile)?, &what())?;
    }
    stacked.finish(&what())
}

/// A partitioned query's result, a part at a time: stacked in memory, or written to a folder.
enum Stacked<'a> {
    InMemory(Option<DataFrame>),
    OnDisk {
        folder: &'a std::path::Path,
        parts: usize,
    },
}

impl<'a> Stacked<'a> {
    fn new(on_disk: Option<&'a std::path::Path>) -> Stacked<'a> {
        match on_disk {
            Some(folder) => Stacked::OnDisk { folder, parts: 0 },
            None => Stacked::InMemory(None),
        }
    }

    fn push(&mut self, mut part: DataFrame, what: &str) -> Result<()> {
        match self {
            Stacked::InMemory(None) => *self = Stacked::InMemory(Some(part)),
            Stacked::InMemory(Some(s)) => s
                .vstack_mut_owned(part)
                .map(|_| ())
                .map_err(|e| Error::internal(what, e))?,
            Stacked::OnDisk { folder, parts } => {
                let file = folder.join(format!("{parts:06}.parquet"));
                billed::staged::write_private(&mut part, &file)?;
                *parts += 1;
            }
        }
        Ok(())
    }

    fn finish(self, what: &str) -> Result<LazyFrame> {
        match self {
            Stacked::InMemory(s) => Ok(rechunked(s.unwrap_or_default())
                .map_err(|e| Error::internal(what, e))?
                .lazy()),
            Stacked::OnDisk { folder, .. } => billed::staged::scan(&folder.join("*.parquet")),
        }
    }
}

/// `df` with every column in one chunk, copied a column at a time (each column's parts are
/// dropped once copied), so the stacked parts are never held twice.
fn rechunked(df: DataFrame) -> PolarsResult<DataFrame> {
    let height = df.height();
    let columns = df.into_columns().into_iter().map(|c| c.rechunk()).collect();
    DataFrame::new(height, columns)
}

/// The one value of an aggregation (`expr`, e.g. a column's sum) over `table`, null when the
/// table has no rows to aggregate.
///
/// Errors: internal (exit 1) naming `what` when the table cannot be read.
pub(crate) fn aggregate(table: &LazyFrame, expr: Expr, what: &str) -> Result<AnyValue<'static>> {
    let df = table
        .clone()
        .select([expr.alias("value")])
        .collect()
        .map_err(|e| Error::internal(what, e))?;
    let value = df
        .column("value")
        .and_then(|c| c.get(0))
        .map_err(|e| Error::internal(what, e))?;
    Ok(value.into_static())
}

/// `aggregate` (an aggregation whose key holds the account) of `table`'s rows, run on parts of
/// [`ROWS_PER_PART`] rows or more holding whole accounts (`billing_account_id`), each read and
/// aggregated in memory, the results stacked: the same rows as over the whole table (each
/// group's rows are the same, in the same order), while only a part's rows are held at a time.
///
/// Errors: internal (exit 1) naming `what`.
pub(crate) fn per_account_part(
    table: &LazyFrame,
    what: &str,
    aggregate: impl Fn(LazyFrame) -> LazyFrame,
) -> Result<DataFrame> {
    const ACCOUNT: &str = "billing_account_id";
    let ranges =
        parts(table.clone(), ACCOUNT, ROWS_PER_PART).map_err(|e| Error::internal(what, e))?;
    let mut stacked = Stacked::new(None);
    for range in &ranges {
        let part = aggregate(table.clone().filter(range.on(ACCOUNT)));
        stacked.push(part.collect().map_err(|e| Error::internal(what, e))?, what)?;
    }
    if ranges.is_empty() {
        stacked.push(
            aggregate(table.clone())
                .collect()
                .map_err(|e| Error::internal(what, e))?,
            what,
        )?;
    }
    stacked
        .finish(what)?
        .collect()
        .map_err(|e| Error::internal(what, e))
}

/// A context of its own holding `ctx`'s tables. A `SQLContext`'s clone shares its tables with
/// the original, so a table registered in a clone (a part, a planned schema) would replace the
/// whole one for every query after.
pub(super) fn own_copy(ctx: &SQLContext) -> PolarsResult<SQLContext> {
    let mut reader = ctx.clone();
    let own = SQLContext::new();
    for name in ctx.get_tables() {
        own.register(&name, reader.execute(&format!("SELECT * FROM \"{name}\""))?);
    }
    Ok(own)
}

/// One part of a partitioned table: a range of values (both ends held), or the nulls. The ends
/// are scalars, so a scan prunes the row groups (and files) outside the range by their
/// statistics.
pub(crate) enum Range {
    Values(Scalar, Scalar),
    Nulls,
}

impl Range {
    /// The filter that keeps the part's rows of a table by its `column`.
    pub(crate) fn on(&self, column: &str) -> Expr {
        match self {
            Range::Values(lo, hi) => col(column)
                .gt_eq(lit(lo.clone()))
                .and(col(column).lt_eq(lit(hi.clone()))),
            Range::Nulls => col(column).is_null(),
        }
    }
}

/// The ranges that cut `table` into parts of at least `rows` rows each holding whole values of
/// `column`: ranges of its values in order, then its nulls.
pub(crate) fn parts(table: LazyFrame, column: &str, rows: usize) -> PolarsResult<Vec<Range>> {
    let counts = table
        .group_by([col(column)])
        .agg([len().cast(DataType::UInt64).alias("_rows")])
        .sort(
            [column],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()?;
    let values = counts.column(column)?.as_materialized_series().clone();
    let sizes = counts.column("_rows")?.u64()?.clone();
    let mut filters = Vec::new();
    let (mut first, mut held) = (None::<usize>, 0u64);
    for (i, n) in sizes.into_no_null_iter().enumerate() {
        let value = values.get(i)?;
        if value.is_null() {
            filters.push(Range::Nulls);
            continue;
        }
        let start = *first.get_or_insert(i);
        held += n;
        let last = i + 1 == values.len() || values.get(i + 1)?.is_null();
        if held >= rows as u64 || last {
            let scalar = |at: usize| -> PolarsResult<Scalar> {
                Ok(Scalar::new(
                    values.dtype().clone(),
                    values.get(at)?.into_static(),
                ))
            };
            filters.push(Range::Values(scalar(start)?, scalar(i)?));
            (first, held) = (None, 0);
        }
    }
    Ok(filters)
}

/// Plans, runs and materialises one query against the context's tables: planning (parse,
/// tables, columns, types) fails as configuration, running as internal with the engine's cause.
fn execute_whole(
    ctx: &mut SQLContext,
    q: &Query,
    profile: Option<&std::ffi::OsStr>,
) -> Result<DataFrame> {
    let what = || format!("query {} ({})", q.file_name(), q.origin);
    let started = std::time::Instant::now();
    let mut plan = ctx
        .execute(&q.sql)
        .map_err(|e| Error::config_caused(what(), e))?;
    plan.collect_schema()
        .map_err(|e| Error::config_caused(what(), e))?;
    let planned = started.elapsed();
    match profile {
        None => plan.collect(),
        Some(file) => plan.profile().and_then(|(df, timings)| {
            append_timings(file, &q.name, planned, &timings)?;
            Ok(df)
        }),
    }
    .map_err(|e| Error::internal(what(), e))
}

/// Appends a query's profile to `file`, one `query<TAB>node<TAB>µs` line each: the time its SQL
/// took to plan (node `sql planning`: parsing and resolving tables, columns and types, which
/// Polars' profile does not count; one line per part of a partitioned query), then each of
/// Polars' plan nodes with its time (its `end` minus its `start`).
fn append_timings(
    file: &std::ffi::OsStr,
    query: &str,
    planning: std::time::Duration,
    timings: &DataFrame,
) -> PolarsResult<()> {
    use std::io::Write;
    let nodes = timings.column("node")?.str()?;
    let (start, end) = (
        timings.column("start")?.u64()?,
        timings.column("end")?.u64()?,
    );
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    writeln!(out, "{query}\tsql planning\t{}", planning.as_micros())?;
    for i in 0..timings.height() {
        let took = end
            .get(i)
            .unwrap_or(0)
            .saturating_sub(start.get(i).unwrap_or(0));
        writeln!(out, "{query}\t{}\t{took}", nodes.get(i).unwrap_or(""))?;
    }
    Ok(())
}
