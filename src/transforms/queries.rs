//! The SQL files of `queries/`: embedded in the binary, replaceable one by one from a folder
//! (`--queries DIR`, where a file named like an embedded one replaces it; any other `.sql` file
//! there is an error, so a misspelt override never goes unnoticed). Every file must carry the
//! header comment (Purpose, Inputs, Output) and hold one statement, a `SELECT` (or `WITH`) that
//! reads tables by name only: Polars SQL's table functions (`read_csv('/any/file')`,
//! `read_parquet`, `read_ipc`, `read_json`) and every other source that is not a table, and
//! statements that change the tables (`CREATE TABLE`, `DROP`, …), are refused, so an override
//! cannot read anything the run did not register (names it does not know fail when it plans).
//!
//! A header may also declare `Partition: TABLE.COLUMN`: the query is then run on parts of that
//! table, each holding whole values of the column, and the results are stacked. It is true of a
//! query whose every result row comes from rows of one value of that column (`02_usage_slots`:
//! a slot lies within one UTC day), and it bounds what the query holds at once to one part.
//! More tables may follow, comma-separated (`Partition: usage_slots.billing_account_id,
//! colocation_sweep.billing_account_id`): each is cut by the same ranges of values of its own
//! column, which is true of a query that joins them to the first on that column (a row of a
//! later table whose value the first table does not hold is in no part, so it is not read).

use sqlparser::ast::{Statement, TableFactor, Visit, Visitor};
use std::ops::ControlFlow;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fingerprint::sha256_bytes;

/// The embedded queries, in the order they run. The number prefix is the order; the rest is the
/// name under which the result is registered.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "01_resource_telemetry",
        include_str!("../../queries/01_resource_telemetry.sql"),
    ),
    (
        "02_usage_slots",
        include_str!("../../queries/02_usage_slots.sql"),
    ),
    (
        "03_colocation_sweep",
        include_str!("../../queries/03_colocation_sweep.sql"),
    ),
    (
        "04_colocation_peak",
        include_str!("../../queries/04_colocation_peak.sql"),
    ),
    (
        "05_training_runs",
        include_str!("../../queries/05_training_runs.sql"),
    ),
    (
        "06_daily_ops",
        include_str!("../../queries/06_daily_ops.sql"),
    ),
    (
        "07_account_compute",
        include_str!("../../queries/07_account_compute.sql"),
    ),
    (
        "08_foreign_status",
        include_str!("../../queries/08_foreign_status.sql"),
    ),
    (
        "09_entity_compute",
        include_str!("../../queries/09_entity_compute.sql"),
    ),
    ("10_flags", include_str!("../../queries/10_flags.sql")),
    (
        "11_cert_customers_by_country",
        include_str!("../../queries/11_cert_customers_by_country.sql"),
    ),
    (
        "12_cert_foreign_owners_by_country",
        include_str!("../../queries/12_cert_foreign_owners_by_country.sql"),
    ),
    (
        "13_cert_unverified_foreign",
        include_str!("../../queries/13_cert_unverified_foreign.sql"),
    ),
    (
        "14_cert_verification_stats",
        include_str!("../../queries/14_cert_verification_stats.sql"),
    ),
    (
        "15_cert_foreign_resellers",
        include_str!("../../queries/15_cert_foreign_resellers.sql"),
    ),
    (
        "16_cert_failed_verifications",
        include_str!("../../queries/16_cert_failed_verifications.sql"),
    ),
    (
        "17_cert_retention",
        include_str!("../../queries/17_cert_retention.sql"),
    ),
    (
        "18_cert_reconciliation",
        include_str!("../../queries/18_cert_reconciliation.sql"),
    ),
];

pub struct Query {
    /// The table name the result is registered under (file stem without the order prefix).
    pub name: String,
    pub stem: String,
    pub sql: String,
    /// `embedded` or the override file's path.
    pub origin: String,
    pub sha256: String,
    /// The header's `Partition: TABLE.COLUMN[, TABLE.COLUMN…]`, if any (see the module header).
    pub partition: Option<Partition>,
}

/// A query's declared partitioning: it may run on parts of `table`, each holding whole values of
/// `column`, and its result is the parts' results stacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub table: String,
    pub column: String,
    /// Further tables and their columns, each cut by the same ranges of values (see the module
    /// header).
    pub with: Vec<(String, String)>,
}

impl Partition {
    /// Every table cut into parts with its column: the first, then `with`.
    pub fn tables(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once((self.table.as_str(), self.column.as_str()))
            .chain(self.with.iter().map(|(t, c)| (t.as_str(), c.as_str())))
    }
}

impl Query {
    pub fn file_name(&self) -> String {
        format!("{}.sql", self.stem)
    }
}

pub struct QuerySet {
    pub queries: Vec<Query>,
}

/// Loads the embedded queries, replacing any that `dir` overrides.
pub fn load(dir: Option<&Path>) -> Result<QuerySet> {
    let mut queries: Vec<Query> = EMBEDDED
        .iter()
        .map(|(stem, sql)| make(stem, sql.to_string(), "embedded".to_string()))
        .collect::<Result<_>>()?;
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::config(dir.display(), format!("cannot list: {e}")))?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let slot = queries.iter_mut().find(|q| q.stem == stem).ok_or_else(|| {
                let known: Vec<String> = EMBEDDED.iter().map(|(s, _)| format!("{s}.sql")).collect();
                Error::config(
                    path.display(),
                    format!("not one of the queries ({})", known.join(", ")),
                )
            })?;
            let sql =
                std::fs::read_to_string(&path).map_err(|e| Error::config(path.display(), e))?;
            *slot = make(&stem, sql, path.display().to_string())?;
        }
    }
    Ok(QuerySet { queries })
}

fn make(stem: &str, sql: String, origin: String) -> Result<Query> {
    check_header(stem, &sql, &origin)?;
    reads_tables_only(&sql)
        .map_err(|problem| Error::config(format!("query {stem}.sql ({origin})"), problem))?;
    let partition = partition(&sql)
        .and_then(|p| read_by(p, &sql))
        .map_err(|problem| Error::config(format!("query {stem}.sql ({origin})"), problem))?;
    let name = stem
        .split_once('_')
        .map(|(_, n)| n)
        .unwrap_or(stem)
        .to_string();
    let sha256 = sha256_bytes(sql.as_bytes());
    Ok(Query {
        name,
        stem: stem.to_string(),
        sql,
        origin,
        sha256,
        partition,
    })
}

/// The header's `Partition: TABLE.COLUMN[, TABLE.COLUMN…]` line, if any; the error says what is
/// wrong with it.
fn partition(sql: &str) -> std::result::Result<Option<Partition>, String> {
    let mut header = sql
        .lines()
        .take_while(|l| l.trim_start().starts_with("--"))
        .map(|l| l.trim_start().trim_start_matches('-').trim());
    let Some(mut spec) = header
        .find_map(|l| l.strip_prefix("Partition:"))
        .map(String::from)
    else {
        return Ok(None);
    };
    // A list ending in a comma goes on on the next header line.
    while spec.trim_end().ends_with(',') {
        match header.next() {
            Some(more) => spec = format!("{spec} {more}"),
            None => break,
        }
    }
    let name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut pairs = Vec::new();
    for item in spec.split(',') {
        match item.trim().split_once('.') {
            Some((table, column)) if name(table) && name(column) => {
                pairs.push((table.to_string(), column.to_string()))
            }
            _ => {
                return Err(format!(
                    "its header's 'Partition: {}' is not TABLE.COLUMN (or a comma-separated list of them)",
                    spec.trim()
                ))
            }
        }
    }
    let mut pairs = pairs.into_iter();
    let (table, column) = pairs.next().unwrap_or_default();
    Ok(Some(Partition {
        table,
        column,
        with: pairs.collect(),
    }))
}

/// A query must open with a comment naming its purpose, inputs and output, and hold one statement.
fn check_header(stem: &str, sql: &str, origin: &str) -> Result<()> {
    let header: String = sql
        .lines()
        .take_while(|l| l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for part in ["Purpose:", "Inputs:", "Output:"] {
        if !header.contains(part) {
            return Err(Error::config(
                format!("query {stem}.sql ({origin})"),
                format!(
                    "header comment lacks '{part}' (every query states purpose, inputs and output)"
                ),
            ));
        }
    }
    let body: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    if outside_strings(&body)
        .trim()
        .trim_end_matches(';')
        .contains(';')
    {
        return Err(Error::config(
            format!("query {stem}.sql ({origin})"),
            "holds more than one statement",
        ));
    }
    Ok(())
}

/// `partition` when `sql` reads its table (a query run on parts of a table it does not read would
/// return its whole result once per part); text that does not parse is left for planning.
fn read_by(
    partition: Option<Partition>,
    sql: &str,
) -> std::result::Result<Option<Partition>, String> {
    let Some(p) = partition else {
        return Ok(None);
    };
    let Ok(statements) = parse(sql) else {
        return Ok(Some(p));
    };
    let mut named = TablesNamed(Vec::new());
    for statement in &statements {
        let _ = statement.visit(&mut named);
    }
    let unread = p
        .tables()
        .find(|(t, _)| !named.0.iter().any(|n| n == t))
        .map(|(table, column)| format!("{table}.{column}"));
    match unread {
        None => Ok(Some(p)),
        Some(name) => Err(format!(
            "its header's Partition: {name} names a table it does not read"
        )),
    }
}

/// Collects the names of the tables a statement reads (and of its CTEs).
struct TablesNamed(Vec<String>);

impl Visitor for TablesNamed {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, .. } = factor {
            self.0.push(name.to_string());
        }
        ControlFlow::Continue(())
    }
}

/// `sql` parsed as Polars' parser does (the same one, with the same options).
fn parse(sql: &str) -> std::result::Result<Vec<Statement>, sqlparser::parser::ParserError> {
    let options = sqlparser::parser::ParserOptions {
        trailing_commas: true,
        ..Default::default()
    };
    sqlparser::parser::Parser::new(&sqlparser::dialect::GenericDialect)
        .with_options(options)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
}

/// Checks that `sql` is one query that reads tables by name only; the error says what else it
/// does (a table function, another kind of source, another kind of statement). Text Polars'
/// parser (the same one, with the same options) cannot parse is left for planning to report.
fn reads_tables_only(sql: &str) -> std::result::Result<(), String> {
    let Ok(statements) = parse(sql) else {
        return Ok(());
    };
    for statement in &statements {
        if !matches!(statement, Statement::Query(_)) {
            let text = statement.to_string();
            let words: Vec<&str> = text.split_whitespace().take(2).collect();
            return Err(format!(
                "a query file holds one SELECT (or WITH) statement, not {}",
                words.join(" ")
            ));
        }
        if let ControlFlow::Break(problem) = statement.visit(&mut TablesOnly) {
            return Err(problem);
        }
    }
    Ok(())
}

/// Breaks at the first source of rows that is not a table named plainly (a table function, or a
/// function, JSON or XML table): each could read a file or compute rows outside the inputs.
struct TablesOnly;

impl Visitor for TablesOnly {
    type Break = String;

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        let refused = match factor {
            TableFactor::Table { name, args, .. } => args.as_ref().map(|_| name.to_string()),
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. }
            | TableFactor::Pivot { .. }
            | TableFactor::Unpivot { .. } => None,
            other => Some(other.to_string().chars().take(40).collect()),
        };
        match refused {
            None => ControlFlow::Continue(()),
            Some(what) => ControlFlow::Break(format!(
                "reads from {what}(…): a query reads the registered tables only (table functions such as read_csv, read_parquet, read_ipc and read_json are refused)"
            )),
        }
    }
}

/// The text with the contents of single-quoted string literals removed.
fn outside_strings(sql: &str) -> String {
    let mut in_string = false;
    sql.chars()
        .filter(|c| {
            if *c == '\'' {
                in_string = !in_string;
            }
            !in_string && *c != '\''
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_queries_have_headers_and_names() {
        let set = load(None).unwrap();
        assert_eq!(set.queries.len(), EMBEDDED.len());
        assert!(set.queries.iter().any(|q| q.name == "flags"));
    }

    #[test]
    fn overrides_replace_by_name_and_typos_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let sql = "-- Purpose: x\n-- Inputs: y\n-- Output: z\nSELECT 1 AS one";
        std::fs::write(dir.path().join("04_colocation_peak.sql"), sql).unwrap();
        let set = load(Some(dir.path())).unwrap();
        let q = set
            .queries
            .iter()
            .find(|q| q.name == "colocation_peak")
            .unwrap();
        assert!(q.origin.ends_with("04_colocation_peak.sql"));
        std::fs::write(dir.path().join("04_colocation_peek.sql"), sql).unwrap();
        assert!(load(Some(dir.path())).is_err());
    }

    #[test]
    fn a_partition_is_table_dot_column() {
        let with = |line: &str| {
            format!("-- Purpose: p\n-- Inputs: t\n-- Output: o\n{line}\nSELECT 1 FROM t")
        };
        assert_eq!(
            partition(&with("-- Partition: t.day")).unwrap(),
            Some(Partition {
                table: "t".into(),
                column: "day".into(),
                with: Vec::new(),
            })
        );
        assert_eq!(
            partition(&with("-- Partition: t.a, u.b")).unwrap(),
            Some(Partition {
                table: "t".into(),
                column: "a".into(),
                with: vec![("u".into(), "b".into())],
            })
        );
        assert!(partition(&with("-- Partition: t.a, b")).is_err());
        assert_eq!(
            partition(&with("-- Partition: t.a,\n--   u.b\n-- more")).unwrap(),
            partition(&with("-- Partition: t.a, u.b")).unwrap()
        );
        assert_eq!(partition(&with("")).unwrap(), None);
        assert!(partition(&with("-- Partition: day"))
            .unwrap_err()
            .contains("not TABLE.COLUMN"));
        assert!(make("02_x", with("-- Partition: t.d; DROP"), "o".into()).is_err());
        assert!(make("02_x", with("-- Partition: t.d"), "o".into()).is_ok());
        let also = make("02_x", with("-- Partition: t.d, u.d"), "o".into());
        assert!(also
            .err()
            .unwrap()
            .to_string()
            .contains("Partition: u.d names a table it does not read"));
        let other = make("02_x", with("-- Partition: u.d"), "o".into());
        assert!(other
            .err()
            .unwrap()
            .to_string()
            .contains("a table it does not read"));
    }

    #[test]
    fn headerless_or_multi_statement_queries_are_rejected() {
        assert!(make("01_x", "SELECT 1".into(), "t".into()).is_err());
        let two = "-- Purpose: a\n-- Inputs: b\n-- Output: c\nSELECT 1; SELECT 2";
        assert!(make("01_x", two.into(), "t".into()).is_err());
        let literal =
            "-- Purpose: a\n-- Inputs: b\n-- Output: c\nSELECT STRING_AGG(x, ';') FROM t;";
        assert!(make("01_x", literal.into(), "t".into()).is_ok());
    }

    #[test]
    fn table_functions_and_other_statements_are_refused() {
        let header = "-- Purpose: a\n-- Inputs: b\n-- Output: c\n";
        for body in [
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT * FROM READ_PARQUET('x.parquet') AS p",
            "SELECT a.x FROM params AS a JOIN read_ipc('x.arrow') AS b ON a.x = b.x",
            "SELECT * FROM (SELECT * FROM read_json('x.json')) AS t",
            "WITH t AS (SELECT * FROM read_csv('s.csv')) SELECT * FROM t",
            "SELECT (SELECT COUNT(*) FROM read_csv('s.csv')) AS n FROM params",
            "SELECT * FROM params WHERE x IN (SELECT x FROM read_csv('s.csv'))",
            "CREATE TABLE t AS SELECT * FROM params",
            "DROP TABLE params",
        ] {
            let err = make("01_x", format!("{header}{body}"), "t".into());
            assert!(err.is_err(), "{body}");
        }
        let ok = format!("{header}WITH t AS (SELECT * FROM params) SELECT * FROM t, telemetry");
        assert!(make("01_x", ok, "t".into()).is_ok());
    }
}
