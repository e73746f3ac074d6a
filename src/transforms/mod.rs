//! Transforms: what happens between reading the inputs and writing the outputs. The per-row stage
//! (`billed`: row checks and quarantine, accelerator identification, compaction, totals), the
//! telemetry and registry stages, entities, the analytic steps (readable SQL in `queries/`, run
//! here in order through Polars SQL, each result registered under its name for the queries after
//! it) and the findings. Parameters reach SQL only as the one-row `params` table, never by
//! formatting text into a statement. What a stage leaves out is counted in the run's `Ledger`.

pub mod billed;
pub mod contracts;
pub mod entities;
pub mod findings;
mod partitions;
pub mod quarantine;
pub mod queries;
pub mod registry;
pub mod rounding;
pub mod rows;
pub mod screening;
pub mod telemetry;

use polars::prelude::*;
use polars::sql::SQLContext;

use chrono::NaiveDate;
use std::collections::BTreeMap;

use crate::config::profile::{Cell, Params};
use crate::error::{Error, Result};
use queries::{Query, QuerySet};
use rows::certification as cert;

pub use partitions::ROWS_PER_PART;
pub(crate) use partitions::{aggregate, parts, per_account_part};
use partitions::{execute, own_copy};

/// The run-time values the queries may read besides the profile parameters.
pub struct RunValues {
    /// The as-of date as days since the Unix epoch.
    pub as_of_day: i32,
    /// The exclusive end of the as-of day, in seconds since the Unix epoch.
    pub as_of_end_s: i64,
    /// The first day of the certification period ([`CertificationPeriod`]), as days since the
    /// Unix epoch; the period ends with the as-of day.
    pub certification_from_day: i32,
}

/// The window the certification's figures count, up to and including the as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificationPeriod {
    /// The first day counted.
    pub from: NaiveDate,
    pub basis: PeriodBasis,
}

/// Where the certification period starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodBasis {
    /// The day after counsel's `last_certification_date` (before the as-of date): nothing since the
    /// last certification goes uncounted, nothing it covered is counted twice.
    SinceLastCertification,
    /// The profile's `certification_period_days` up to the as-of date: no last certification is
    /// given (an initial certification).
    Profile,
    /// The profile's period, because the last certification given is on or after the as-of date
    /// (a run for an earlier date, e.g. a backfill).
    ProfileLastNotBefore,
}

impl CertificationPeriod {
    /// The period of a run as of `as_of`: from the day after `last_certification` when that is
    /// before `as_of`, else the `period_days` (≥ 1) ending with `as_of`.
    ///
    /// Errors: usage (exit 2) when `period_days` reaches before the first date chrono represents.
    pub fn of(
        as_of: NaiveDate,
        period_days: i64,
        last_certification: Option<NaiveDate>,
    ) -> Result<CertificationPeriod> {
        if let Some(last) = last_certification.filter(|d| *d < as_of) {
            return Ok(CertificationPeriod {
                from: last + chrono::Days::new(1),
                basis: PeriodBasis::SinceLastCertification,
            });
        }
        let from = u64::try_from(period_days - 1)
            .ok()
            .and_then(|days| as_of.checked_sub_days(chrono::Days::new(days)))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "parameter certification_period_days = {period_days} reaches before the first date cipwatch can represent"
                ))
            })?;
        let basis = match last_certification {
            Some(_) => PeriodBasis::ProfileLastNotBefore,
            None => PeriodBasis::Profile,
        };
        Ok(CertificationPeriod { from, basis })
    }
}

/// Builds the one-row `params` table: every profile parameter (`config::profile::PARAMETERS`,
/// lists joined by commas), the run values (`as_of_day`, `as_of_end_s`, `certification_from_day`)
/// and `watch_ops`.
///
/// `watch_ops` is `watch_fraction × training_ops` as the double nearest the decimal product (rounded
/// to [`rounding::SIG_DIGITS`] significant digits): the floating-point product of 0.01 and 1e26 is
/// 1.0000000000000001e24, so an estimate of exactly 1e24 would fail a test that the profile states as
/// "at least 1% of training_ops".
pub fn params_table(p: &Params, run: &RunValues) -> Result<DataFrame> {
    let mut columns: Vec<Column> = p
        .cells()
        .into_iter()
        .map(|(name, cell)| match cell {
            Cell::Integer(v) => Column::new(name.into(), [v]),
            Cell::Float(v) => Column::new(name.into(), [v]),
            Cell::Text(v) => Column::new(name.into(), [v]),
        })
        .collect();
    columns.push(Column::new("as_of_day".into(), [run.as_of_day as i64]));
    columns.push(Column::new("as_of_end_s".into(), [run.as_of_end_s]));
    columns.push(Column::new(
        "certification_from_day".into(),
        [run.certification_from_day as i64],
    ));
    let watch_ops = rounding::round_sig(p.watch_fraction * p.training_ops);
    columns.push(Column::new("watch_ops".into(), [watch_ops]));
    DataFrame::new(1, columns).map_err(|e| Error::internal("params table", e))
}

/// Declares [`QueryInputs`], every table the stages before the queries produce for them, and
/// [`REGISTERED_TABLES`], their names: [`QueryInputs::register`] is the one place a table is
/// registered, under its field's name (the names the queries' `Inputs:` headers use; a test
/// checks).
macro_rules! query_inputs {
    ($( $(#[doc = $doc:literal])* $name:ident, )*) => {
        /// The tables the queries read, each registered under its field's name.
        pub struct QueryInputs {
            $( $(#[doc = $doc])* pub $name: LazyFrame, )*
        }

        /// The names of [`QueryInputs`]' fields.
        pub const REGISTERED_TABLES: &[&str] = &[$(stringify!($name)),*];

        impl QueryInputs {
            /// Registers every table in `ctx`.
            pub fn register(self, ctx: &mut SQLContext) {
                $( ctx.register(stringify!($name), self.$name); )*
            }
        }
    };
}

query_inputs! {
    /// The identified, compacted accelerator usage up to the as-of date (released after its last
    /// reader by [`run_all`]).
    accelerator_usage,
    /// Internet egress per account.
    account_egress,
    /// The used telemetry rows up to the as-of date.
    telemetry,
    /// The CIP registry's tables, masked ([`registry::RegistryTables`]).
    customers,
    beneficial_owners,
    quarantined_customer_accounts,
    quarantined_owner_accounts,
    access_log,
    resellers,
    /// Each account's entity and link evidence.
    entity_members,
    /// The knowledge dates of earlier filing runs and counsel's ([`crate::state::history::prior_table`]).
    prior_knowledge,
    /// The screening stage's candidates (empty without `[screening]`).
    screening_candidates,
    /// The one-row table of parameters and run values ([`params_table`]).
    params,
}

/// Declares [`QueryResults`], the query results read after the queries run (findings, documents,
/// `explain`), and [`READ_AFTER_QUERIES`], their names: every other result, and every registered
/// table, is released once no later query reads it. A stage reads a result through its field, so
/// the list cannot fall out of date.
macro_rules! query_results {
    ($( $(#[doc = $doc:literal])* $name:ident: $ty:ty, )*) => {
        /// The query results read after the queries, each filled once by name by [`run_all`].
        pub struct QueryResults {
            $( $(#[doc = $doc])* pub $name: $ty, )*
        }

        /// The names of [`QueryResults`]' fields.
        pub const READ_AFTER_QUERIES: &[&str] = &[$(stringify!($name)),*];

        impl QueryResults {
            /// The results by name, each taken once.
            ///
            /// Errors: configuration (exit 2) when no query produces one of them; internal
            /// (exit 1) when one cannot be read.
            fn take(mut named: BTreeMap<String, LazyFrame>) -> Result<QueryResults> {
                let mut take = |name: &str| {
                    named.remove(name).ok_or_else(|| {
                        Error::config("queries", format!("no query produces the table '{name}'"))
                    })
                };
                Ok(QueryResults { $( $name: Taken::taken(take(stringify!($name))?, stringify!($name))?, )* })
            }
        }
    };
}

/// How [`QueryResults`] holds a result: a table in memory, or a plan that reads it (a large
/// result written to disk by [`run_all`], aggregated a part of whole accounts at a time:
/// [`per_account_part`]).
trait Taken: Sized {
    fn taken(result: LazyFrame, name: &str) -> Result<Self>;
}

impl Taken for DataFrame {
    fn taken(result: LazyFrame, name: &str) -> Result<Self> {
        result
            .collect()
            .map_err(|e| Error::internal(format!("reading the query result {name}"), e))
    }
}

impl Taken for LazyFrame {
    fn taken(result: LazyFrame, _name: &str) -> Result<Self> {
        Ok(result)
    }
}

query_results! {
    /// Usage slots (`02_usage_slots.sql`): `usage_by_type` and the reports' measured utilisation
    /// (a scan of its files when the run has a scratch folder: the largest result).
    usage_slots: LazyFrame,
    /// One row per account (`10_flags.sql`): the published `flags` table.
    flags: DataFrame,
    /// One row per run segment (`05_training_runs.sql`): the published `training_runs` table.
    training_runs: DataFrame,
    cert_customers_by_country: DataFrame,
    cert_foreign_owners_by_country: DataFrame,
    cert_unverified_foreign: DataFrame,
    cert_verification_stats: DataFrame,
    cert_foreign_resellers: DataFrame,
    cert_failed_verifications: DataFrame,
    cert_retention: DataFrame,
    cert_reconciliation: DataFrame,
}

/// The contracts of the query results published or read after the queries (the usage slots, the
/// certification's figures), each named as the query it is made from: checked against the planned
/// result before any query runs.
const CONTRACTS: &[&contracts::Table] = &[
    &rows::USAGE_SLOTS,
    &rows::FLAGS,
    &rows::TRAINING_RUNS,
    &cert::CERT_CUSTOMERS_BY_COUNTRY,
    &cert::CERT_FOREIGN_OWNERS_BY_COUNTRY,
    &cert::CERT_UNVERIFIED_FOREIGN,
    &cert::CERT_VERIFICATION_STATS,
    &cert::CERT_FOREIGN_RESELLERS,
    &cert::CERT_FAILED_VERIFICATIONS,
    &cert::CERT_RETENTION,
    &cert::CERT_RECONCILIATION,
];

/// Runs every query of the set in order against the registered tables; each result is materialised
/// once and registered under the query's name: a partitioned query's in `scratch` (a private
/// folder, when given), written a part at a time and read back by whoever needs it (the usage
/// slots and the co-location sweep are the run's largest tables after the usage), every other in
/// memory. Returns the results [`QueryResults`] holds,
/// after checking the contracts of the results published or read later (`CONTRACTS`) on the
/// planned queries ([`check_contracts`]).
///
/// A table (registered, or a result) is unregistered and dropped as soon as no later query's text
/// names it and nothing after the queries reads it: the accelerator usage, the largest input, is
/// held only until `usage_slots` is built from it. A query that names a table in a comment
/// keeps it alive, never the reverse.
///
/// `CIPWATCH_PROFILE=FILE` (a diagnostic switch, like `CIPWATCH_ENGINE`) runs each query under
/// Polars' profiler and appends its planning time and its plan nodes' times to FILE, one
/// `query<TAB>node<TAB>µs` line each ([`append_timings`]).
///
/// Errors: a query that does not plan (unknown table or column, bad syntax) is a configuration
/// error naming the file (exit 2); a failure while executing one (out of memory, a compute error)
/// is internal (exit 1) and keeps Polars' error as its cause.
pub fn run_all(
    ctx: &mut SQLContext,
    set: &QuerySet,
    scratch: Option<&std::path::Path>,
) -> Result<QueryResults> {
    check_contracts(ctx, set)?;
    let profile = crate::config::env::get(crate::config::env::PROFILE);
    let words: Vec<std::collections::HashSet<String>> =
        set.queries.iter().map(|q| words(&q.sql)).collect();
    let mut results = BTreeMap::new();
    for (i, q) in set.queries.iter().enumerate() {
        let on_disk = scratch.map(|dir| dir.join("results").join(&q.name));
        let result = execute(
            ctx,
            q,
            ROWS_PER_PART,
            profile.as_deref(),
            on_disk.as_deref(),
        )?;
        ctx.register(&q.name, result.clone());
        results.insert(q.name.clone(), result);
        let read_later = |name: &str| {
            READ_AFTER_QUERIES.contains(&name) || words[i + 1..].iter().any(|w| w.contains(name))
        };
        for name in ctx.get_tables() {
            if !read_later(&name) {
                ctx.unregister(&name);
            }
        }
        results.retain(|name, _| read_later(name));
    }
    QueryResults::take(results)
}

/// Plans every query of the set in order, each on the schemas of the results before it (nothing
/// runs), and checks the planned result of each query in `CONTRACTS` (a published table is made
/// from it, or a later stage reads it) against its contract ([`contracts::Table::check_schema`]):
/// a query override that drops or retypes such a column fails here, before the queries run.
///
/// Errors: configuration (exit 2) naming the query file and the column; a query that does not
/// plan, as [`run_all`].
fn check_contracts(ctx: &SQLContext, set: &QuerySet) -> Result<()> {
    let mut planned = own_copy(ctx).map_err(|e| Error::internal("planning the queries", e))?;
    for q in &set.queries {
        let what = format!("query {} ({})", q.file_name(), q.origin);
        let mut plan = planned
            .execute(&q.sql)
            .map_err(|e| Error::config_caused(&what, e))?;
        let schema = plan
            .collect_schema()
            .map_err(|e| Error::config_caused(&what, e))?;
        if let Some(table) = CONTRACTS.iter().find(|t| t.name == q.name) {
            table.check_schema(&schema, &what)?;
        }
        if let Some(p) = &q.partition {
            check_partition(&planned, p, &what)?;
        }
        // The next queries plan against an empty table of this schema, not this plan: plans
        // that nest every earlier one grow past what planning can afford.
        planned.register(&q.name, DataFrame::empty_with_schema(&schema).lazy());
    }
    Ok(())
}

/// Each column of a declared partition is in its table, of a type whose values order (numbers,
/// text, dates, times, booleans), and of the first column's type (its ranges cut every table).
///
/// Errors: configuration (exit 2) naming the query file, the table and the column.
fn check_partition(planned: &SQLContext, p: &queries::Partition, what: &str) -> Result<()> {
    let mut first: Option<DataType> = None;
    for (table, column) in p.tables() {
        let declared = format!("its header's Partition: {table}.{column}");
        let schema = planned
            .clone()
            .execute(&format!("SELECT {column} FROM {table}"))
            .and_then(|mut lf| lf.collect_schema())
            .map_err(|e| Error::config(what, format!("{declared} ({e})")))?;
        for (_, dt) in schema.iter() {
            let ordered = dt.is_primitive_numeric()
                || matches!(
                    dt,
                    DataType::String
                        | DataType::Boolean
                        | DataType::Date
                        | DataType::Datetime(..)
                        | DataType::Null
                );
            if !ordered {
                return Err(Error::config(
                    what,
                    format!("{declared}: the column's values do not order (a number, text, date or time)"),
                ));
            }
            match &first {
                None => first = Some(dt.clone()),
                Some(t) if t == dt => {}
                Some(t) => {
                    return Err(Error::config(
                        what,
                        format!("{declared}: the column is {dt}, the first partition column {t}"),
                    ))
                }
            }
        }
    }
    Ok(())
}

/// The lower-cased words of a statement (runs of letters, digits and `_`), the names it may read.
fn words(sql: &str) -> std::collections::HashSet<String> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Runs one query alone on the given tables, each registered under its name (the `params` table
/// among them when the query reads it, e.g. from [`params_table`]), and returns its result. The
/// query cases of `tests/queries/` check each query file this way, on a few rows per input table.
/// Errors as [`run_all`].
pub fn run_one(query: &Query, tables: &BTreeMap<String, DataFrame>) -> Result<DataFrame> {
    let mut ctx = SQLContext::new();
    for (name, df) in tables {
        ctx.register(name, df.clone().lazy());
    }
    let what = || format!("query {} ({})", query.file_name(), query.origin);
    execute(&mut ctx, query, 1, None, None)?
        .collect()
        .map_err(|e| Error::internal(what(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contract bears the name of an embedded query and says it is made from it, so a
    /// renamed query cannot leave its contract unchecked.
    #[test]
    fn every_contract_is_named_as_its_query() {
        let set = queries::load(None).unwrap();
        for table in CONTRACTS {
            assert!(
                set.queries.iter().any(|q| q.name == table.name),
                "no query named {}",
                table.name
            );
            assert_eq!(table.from, format!("query {}", table.name));
        }
    }

    /// A query run in parts of two tables (cut by the same accounts) gives the whole query's
    /// rows, and leaves both tables whole for the queries after it.
    #[test]
    fn partitioned_queries_leave_their_tables_whole() {
        let mut ctx = SQLContext::new();
        ctx.register(
            "usage",
            df!("account" => ["a", "b", "b", "c"], "hours" => [1.0, 2.0, 3.0, 4.0])
                .unwrap()
                .lazy(),
        );
        ctx.register(
            "egress",
            df!("account" => ["a", "b", "c", "d"], "gb" => [10.0, 20.0, 30.0, 40.0])
                .unwrap()
                .lazy(),
        );
        let sql = "SELECT u.account, SUM(u.hours) AS hours, MAX(e.gb) AS gb FROM usage AS u \
                   LEFT JOIN egress AS e ON u.account = e.account GROUP BY u.account";
        let query = queries::Query {
            name: "per_account".into(),
            stem: "99_per_account".into(),
            sql: sql.into(),
            origin: "test".into(),
            sha256: String::new(),
            partition: Some(queries::Partition {
                table: "usage".into(),
                column: "account".into(),
                with: vec![("egress".into(), "account".into())],
            }),
        };
        let parted = execute(&mut ctx, &query, 1, None, None)
            .unwrap()
            .sort(["account"], Default::default())
            .collect()
            .unwrap();
        let whole = ctx
            .execute(sql)
            .unwrap()
            .sort(["account"], Default::default())
            .collect()
            .unwrap();
        assert_eq!(parted, whole);
        assert_eq!(parted.height(), 3);
        for (table, rows) in [("usage", 4), ("egress", 4)] {
            let n = ctx
                .execute(&format!("SELECT * FROM {table}"))
                .unwrap()
                .collect()
                .unwrap()
                .height();
            assert_eq!(n, rows, "{table} after the partitioned query");
        }
    }

    /// Parts hold whole values of the column, in order, at least `rows` rows each (the last may
    /// hold fewer), and the nulls apart; every row is in exactly one part.
    #[test]
    fn parts_hold_whole_values_in_order_and_the_nulls_apart() {
        let table = df!("day" => [Some(2i32), Some(0), Some(2), Some(0), None, Some(5)])
            .unwrap()
            .lazy();
        let days_of = |rows: usize| -> Vec<Vec<Option<i32>>> {
            parts(table.clone(), "day", rows)
                .unwrap()
                .into_iter()
                .map(|f| {
                    let part = table.clone().filter(f.on("day")).collect().unwrap();
                    let mut days: Vec<Option<i32>> =
                        part.column("day").unwrap().i32().unwrap().iter().collect();
                    days.sort();
                    days
                })
                .collect()
        };
        assert_eq!(
            days_of(1),
            [
                vec![Some(0), Some(0)],
                vec![Some(2), Some(2)],
                vec![Some(5)],
                vec![None]
            ]
        );
        assert_eq!(
            days_of(3),
            [
                vec![Some(0), Some(0), Some(2), Some(2)],
                vec![Some(5)],
                vec![None]
            ]
        );
        assert_eq!(
            days_of(100),
            [
                vec![Some(0), Some(0), Some(2), Some(2), Some(5)],
                vec![None]
            ]
        );
    }
}
