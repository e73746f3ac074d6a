//! Tables as declared contracts, in the manner of dbt's model contracts: each table that leaves
//! the run (`flags`, `training_runs`, `usage_by_type`), and each query result a later stage reads
//! (the usage slots' columns, the certification's `cert_*` figures: `read by` in the declaration),
//! is declared once with [`table!`](crate::table), beside its row type in `rows/`, naming each
//! column's kind, null rule, meaning and the result column it is made from. From that one
//! declaration come the row
//! struct and its null handling, the published column order, renames and calendar conversions
//! ([`Table::present`]), the check that a query's planned result has every column the table is
//! made from or a stage reads ([`Table::check_schema`], exit 2 naming the column, before any
//! query runs), the checks on the published rows ([`Table::check_rows`]: key not null and unique, required columns
//! not null, accepted values), and the column tables of docs/outputs.md ([`Table::markdown`], a
//! test compares them).

use polars::prelude::*;

use crate::error::{Context, Error, Result};
use crate::transforms::rounding;

/// What a published column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Float,
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A UTC timestamp, `YYYY-MM-DDTHH:MM:SSZ`.
    Timestamp,
}

impl Kind {
    /// The kind as the docs name it.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Integer => "integer",
            Kind::Float => "float",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Timestamp => "timestamp",
        }
    }

    /// Whether a column of this Polars type can be published as this kind (an all-null column,
    /// typed `Null`, can be any).
    fn accepts(self, dt: &DataType) -> bool {
        match (self, dt) {
            (_, DataType::Null) => true,
            (Kind::Text, DataType::String) => true,
            (Kind::Integer, dt) => dt.is_integer(),
            (Kind::Float, dt) => dt.is_float(),
            (Kind::Boolean, DataType::Boolean) => true,
            (Kind::Date, DataType::Date) => true,
            (Kind::Timestamp, DataType::Datetime(..)) => true,
            _ => false,
        }
    }
}

/// How a published column is made from the result it is presented from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The result's column of the same name, as it is.
    Same,
    /// The result's column of this name, renamed.
    Renamed(&'static str),
    /// The result's column of this name, renamed and cast to a 64-bit integer.
    Integer(&'static str),
    /// A day number since 1970-01-01 (`*_day`), as a calendar date.
    Day(&'static str),
    /// Seconds since 1970-01-01 (`*_s`), as a UTC timestamp.
    Seconds(&'static str),
}

/// One declared column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub source: Source,
    /// Never null (a key, or a field read without a default).
    pub required: bool,
    pub doc: &'static str,
}

impl Column {
    /// The result column this one is made from.
    pub fn source_name(&self) -> &'static str {
        match self.source {
            Source::Same => self.name,
            Source::Renamed(s) | Source::Integer(s) | Source::Day(s) | Source::Seconds(s) => s,
        }
    }

    /// The expression that makes this column from the result.
    fn expr(&self) -> Expr {
        let source = col(self.source_name());
        match self.source {
            Source::Same => source,
            Source::Renamed(_) => source.alias(self.name),
            Source::Integer(_) => source.cast(DataType::Int64).alias(self.name),
            Source::Day(_) => source
                .cast(DataType::Int32)
                .cast(DataType::Date)
                .alias(self.name),
            Source::Seconds(_) => (source.cast(DataType::Int64) * lit(1_000_000i64))
                .cast(crate::sources::timestamps::ts_type())
                .alias(self.name),
        }
    }
}

/// One declared table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// The file stem it is published as (`flags` → `flags.csv`, `flags.parquet`), or for a query
    /// result a later stage reads without publishing it, the result's name.
    pub name: &'static str,
    /// The stage that reads it, for a table that is not published (`the certification`).
    pub read_by: Option<&'static str>,
    /// What it is presented from (a query's result, or a stage).
    pub from: &'static str,
    pub doc: &'static str,
    /// Its columns in published order.
    pub columns: &'static [Column],
    /// The columns that identify a row: not null, unique, and the published sort order. A table
    /// without a key keeps the order its stage made.
    pub key: &'static [&'static str],
    /// Columns whose values must be one of a list.
    pub accepted: &'static [(&'static str, &'static [&'static str])],
}

pub use crate::sources::columns::null_as_default;

/// Whether a row field's type holds a null ([`Option`]); the `table!` declarations derive each
/// column's null rule from it.
pub trait Nullable {
    const NULLABLE: bool = false;
}

impl<T> Nullable for Option<T> {
    const NULLABLE: bool = true;
}
impl Nullable for String {}
impl Nullable for f64 {}
impl Nullable for i64 {}
impl Nullable for bool {}

/// Declares a published table, or a query result a later stage reads (`read by "the stage"`): its
/// row struct (fields in published order; `default` after a column reads a null as the type's
/// default, an `Option` field reads it as `None`, any other field must not be null; `derive
/// [...]` adds derives) and the [`Table`] constant naming each column's kind, source and meaning.
#[macro_export]
macro_rules! table {
    (
        $(#[doc = $doc:literal])*
        $decl:ident: $row:ident = $name:literal from $from:literal
            $(, read by $reader:literal)? $(, derive [$($derive:ident),*])?,
        key [$($key:literal),*], accepted [$(($acol:literal, [$($aval:literal),*])),*] {
            $( $col:ident: $ty:ty [$kind:ident $(, $how:ident $src:literal)?] $($rule:ident)?, $cdoc:literal; )*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, serde::Deserialize, serde::Serialize $($(, $derive)*)?)]
        pub struct $row {
            $(
                #[doc = $cdoc]
                $( #[doc = concat!("\n\nA null reads as the type's ", stringify!($rule), ".")]
                   #[serde(deserialize_with = "crate::transforms::contracts::null_as_default")] )?
                pub $col: $ty,
            )*
        }

        #[doc = concat!("The declaration of `", $name, "` (see [`", stringify!($row), "`]).")]
        pub const $decl: $crate::transforms::contracts::Table = $crate::transforms::contracts::Table {
            name: $name,
            read_by: $crate::table!(@reader $($reader)?),
            from: $from,
            doc: concat!($($doc, " "),*),
            columns: &[ $(
                $crate::transforms::contracts::Column {
                    name: stringify!($col),
                    kind: $crate::transforms::contracts::Kind::$kind,
                    source: $crate::table!(@source $col $($how $src)?),
                    required: !<$ty as $crate::transforms::contracts::Nullable>::NULLABLE
                        && $crate::table!(@reads_null $($rule)?) == false,
                    doc: $cdoc,
                },
            )* ],
            key: &[$($key),*],
            accepted: &[$(($acol, &[$($aval),*])),*],
        };
    };
    (@source $col:ident) => { $crate::transforms::contracts::Source::Same };
    (@source $col:ident renamed $src:literal) => { $crate::transforms::contracts::Source::Renamed($src) };
    (@source $col:ident integer $src:literal) => { $crate::transforms::contracts::Source::Integer($src) };
    (@source $col:ident day $src:literal) => { $crate::transforms::contracts::Source::Day($src) };
    (@source $col:ident seconds $src:literal) => { $crate::transforms::contracts::Source::Seconds($src) };
    (@reader) => { None };
    (@reader $reader:literal) => { Some($reader) };
    (@reads_null) => { false };
    (@reads_null default) => { true };
}

impl Table {
    /// Checks a planned result's schema (`what` names the query) against the columns this table
    /// is made from: each must be there, of a type its kind accepts.
    ///
    /// Errors: configuration (exit 2) naming `what`, the missing or mistyped result column and
    /// the published column made from it.
    pub fn check_schema(&self, schema: &Schema, what: &str) -> Result<()> {
        for c in self.columns {
            let source = c.source_name();
            let Some(dt) = schema.get(source) else {
                return Err(Error::config(
                    what,
                    format!("its result has no column '{source}': {}", self.made_into(c)),
                ));
            };
            let convertible = match c.source {
                Source::Day(_) | Source::Seconds(_) | Source::Integer(_) => {
                    dt.is_primitive_numeric() || dt == &DataType::Null
                }
                Source::Same | Source::Renamed(_) => c.kind.accepts(dt),
            };
            if !convertible {
                return Err(Error::config(
                    what,
                    format!(
                        "its result's column '{source}' is {dt}, which does not fit: {}",
                        self.made_into(c)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What a result column becomes, for errors: the published column made from it, or the
    /// stage that reads it.
    fn made_into(&self, c: &Column) -> String {
        match self.read_by {
            None => format!(
                "the published {} table's column '{}' ({}) is made from it (docs/outputs.md)",
                self.name,
                c.name,
                c.kind.word()
            ),
            Some(reader) => format!(
                "read by {reader} as the {} column '{}' ({})",
                self.name,
                c.name,
                c.kind.word()
            ),
        }
    }

    /// The published table from `result`: the declared columns in order (renamed and converted),
    /// sorted by the key (if any), floats made stable ([`rounding::stable`]), then [`Table::check_rows`].
    ///
    /// Errors: as [`Table::check_schema`] and [`Table::check_rows`]; internal when Polars fails.
    pub fn present(&self, result: DataFrame, what: &str) -> Result<DataFrame> {
        self.check_schema(result.schema(), what)?;
        let mut lf = result
            .lazy()
            .select(self.columns.iter().map(Column::expr).collect::<Vec<_>>());
        if !self.key.is_empty() {
            lf = lf.sort(self.key.to_vec(), Default::default());
        }
        let df = lf
            .collect()
            .or_internal(format!("the {} table", self.name))?;
        let df = rounding::stable(df)?;
        self.check_rows(&df, what)?;
        Ok(df)
    }

    /// The checks on the published rows: key columns and required columns not null, the key
    /// unique, accepted values only.
    ///
    /// Errors: configuration (exit 2) naming `what`, the column and what is wrong.
    pub fn check_rows(&self, df: &DataFrame, what: &str) -> Result<()> {
        let fail =
            |message: String| Error::config(what, format!("the {} table: {message}", self.name));
        for c in self
            .columns
            .iter()
            .filter(|c| c.required || self.key.contains(&c.name))
        {
            let nulls = df.column(c.name).map(|s| s.null_count()).unwrap_or(0);
            if nulls > 0 {
                return Err(fail(format!(
                    "column '{}' must not be null ({nulls} nulls)",
                    c.name
                )));
            }
        }
        if !self.key.is_empty() && df.height() > 0 {
            let distinct = df
                .clone()
                .lazy()
                .select(self.key.iter().map(|k| col(*k)).collect::<Vec<_>>())
                .unique(None, UniqueKeepStrategy::Any)
                .collect()
                .or_internal(format!("the {} table's key", self.name))?
                .height();
            if distinct != df.height() {
                return Err(fail(format!(
                    "its key ({}) is not unique: {} rows, {distinct} distinct keys",
                    self.key.join(", "),
                    df.height()
                )));
            }
        }
        for (column, values) in self.accepted {
            let Ok(s) = df.column(column).and_then(|c| c.str().cloned()) else {
                continue;
            };
            let bad = s
                .iter()
                .flatten()
                .find(|v| !values.contains(v))
                .map(String::from);
            if let Some(bad) = bad {
                return Err(fail(format!(
                    "column '{column}' holds '{}', not one of {}",
                    crate::pii::mask_value(&bad),
                    values.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The column table of docs/outputs.md: column, kind, whether it may be null, meaning.
    pub fn markdown(&self) -> String {
        let mut out = String::from("| column | kind | null | meaning |\n|---|---|---|---|\n");
        for c in self.columns {
            let null = match c.required || self.key.contains(&c.name) {
                true => "never",
                false => "may be",
            };
            out.push_str(&format!(
                "| `{}` | {} | {null} | {} |\n",
                c.name,
                c.kind.word(),
                c.doc.replace('|', "\\|")
            ));
        }
        out
    }
}
