//! Typed views of input columns, whatever their physical type: text from CSV is trimmed, blanks and
//! `NULL` become null, numbers and timestamps are parsed leniently (a failed parse is null, and the
//! caller turns "text present but parse null" into a quarantine rule). A column absent from a file
//! reads as all null, so optional columns need no special cases downstream.

use polars::prelude::*;

pub use super::timestamps::ts_type;
use super::timestamps::{parse_column, typed_to_utc};

/// Column views over one file's schema.
pub struct Cols<'a> {
    pub schema: &'a Schema,
    labels: Option<&'a std::collections::BTreeMap<String, String>>,
}

impl<'a> Cols<'a> {
    pub fn new(schema: &'a Schema) -> Self {
        Cols {
            schema,
            labels: None,
        }
    }

    /// Views whose reasons name columns by `labels` where given (see `Scan::labels`).
    pub fn labelled(
        schema: &'a Schema,
        labels: &'a std::collections::BTreeMap<String, String>,
    ) -> Self {
        Cols {
            schema,
            labels: Some(labels),
        }
    }

    /// How a reason names the column `name`.
    pub fn label(&self, name: &str) -> String {
        self.labels
            .and_then(|l| l.get(name))
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    pub fn has(&self, name: &str) -> bool {
        self.schema.get(name).is_some()
    }

    /// True where the file holds the column as text (CSV, or a string column in Parquet): only
    /// then can a cell be blank-but-present or fail to parse.
    pub fn is_text(&self, name: &str) -> bool {
        matches!(self.schema.get(name), Some(DataType::String))
    }

    /// The column in the type the file holds it in (all null where absent), for grouping keys: a
    /// typed timestamp is compared as it is, not formatted to text row by row.
    pub fn as_read(&self, name: &str) -> Expr {
        match self.has(name) {
            true => col(name),
            false => lit(NULL).cast(DataType::String),
        }
    }

    /// Trimmed text; blank and `NULL` (as `NULL`, `Null` or `null`) are null.
    pub fn text(&self, name: &str) -> Expr {
        clean(self.raw(name))
    }

    /// The cell as text, untrimmed: what the pass over every billing row carries, so that only the
    /// few rows kept pay for `clean` (a cleaned copy of every cell would dominate the run).
    pub fn raw(&self, name: &str) -> Expr {
        match self.schema.get(name) {
            None => lit(NULL).cast(DataType::String),
            Some(DataType::String) => col(name),
            Some(dt) if dt.is_float() => float_text(col(name)),
            Some(_) => col(name).cast(DataType::String),
        }
    }

    /// True where the cell is empty (null, blank or `NULL`), without copying the column: one
    /// anchored regex that fails on the first character of an ordinary value.
    pub fn blank(&self, name: &str) -> Expr {
        match self.schema.get(name) {
            None => lit(true),
            Some(DataType::String) => col(name)
                .str()
                .contains(lit(BLANK), false)
                .fill_null(lit(true)),
            Some(_) => col(name).is_null(),
        }
    }

    /// Lower-cased text, for enumerations written in mixed case (`Usage-based`, `Usage-Based`).
    pub fn lower(&self, name: &str) -> Expr {
        self.text(name).str().to_lowercase()
    }

    /// A finite number, or null where the cell is empty, not a number, `NaN`, infinite or too
    /// large for a float (`1e400`).
    pub fn number(&self, name: &str) -> Expr {
        let n = match self.schema.get(name) {
            // Parquet exports commonly store costs and quantities as DECIMAL.
            Some(dt) if dt.is_primitive_numeric() || dt.is_decimal() => {
                col(name).cast(DataType::Float64)
            }
            _ => self.text(name).cast(DataType::Float64),
        };
        // NaN and infinities fail the comparison.
        when(n.clone().abs().lt_eq(lit(f64::MAX)))
            .then(n)
            .otherwise(lit(NULL).cast(DataType::Float64))
    }

    /// True where the cell holds something that is not a finite number (text that does not
    /// parse, `NaN`, `inf`, an overflow), in any physical type.
    pub fn bad_number(&self, name: &str) -> Expr {
        match self.schema.get(name) {
            None => lit(false),
            Some(_) => self.blank(name).not().and(self.number(name).is_null()),
        }
    }

    /// The `bad_number` and `out_of_range` checks of a numeric column: its magnitude must not
    /// exceed `max_abs` (the plausible range declared in the configuration).
    pub fn number_checks(&self, name: &str, max_abs: f64) -> [Check; 2] {
        [
            (
                self.bad_number(name),
                "bad_number",
                self.quoted(
                    &format!("{} is not a finite number:", self.label(name)),
                    name,
                ),
            ),
            (
                match self.has(name) {
                    true => self
                        .number(name)
                        .abs()
                        .gt(lit(max_abs))
                        .fill_null(lit(false)),
                    false => lit(false),
                },
                "out_of_range",
                self.quoted(
                    &format!(
                        "{} is beyond the plausible magnitude {max_abs:e}:",
                        self.label(name)
                    ),
                    name,
                ),
            ),
        ]
    }

    /// A UTC timestamp, or null where the cell is empty or not a timestamp: typed columns are
    /// converted (`timestamps::typed_to_utc`), text goes through the one parser.
    pub fn timestamp(&self, name: &str) -> Expr {
        if let Some(typed) = self
            .schema
            .get(name)
            .and_then(|dt| typed_to_utc(col(name), dt))
        {
            return typed;
        }
        self.raw(name).map(parse_column, |_, f| {
            Ok(Field::new(f.name().clone(), ts_type()))
        })
    }

    /// True where the cell holds something that is not a timestamp: for a typed timestamp, an
    /// instant outside years 1–9999 (`timestamps::typed_to_utc`).
    pub fn bad_timestamp(&self, name: &str) -> Expr {
        match self.schema.get(name) {
            None => lit(false),
            Some(dt) if dt.is_temporal() => {
                col(name).is_not_null().and(self.timestamp(name).is_null())
            }
            Some(_) => self.blank(name).not().and(self.timestamp(name).is_null()),
        }
    }

    /// A key (account, sub-account, resource, instance type, reseller): as `text`, with the
    /// invisible characters exports leave in keys removed (see `clean_key_cell`).
    pub fn key(&self, name: &str) -> Expr {
        clean_key(self.raw(name))
    }

    /// The check that a key holds no control, bidi or other invisible character once the removable
    /// ones are gone (such a key cannot be trusted to name the account it seems to).
    ///
    /// A key stored as a floating-point number (pandas writes an integer column with nulls so)
    /// reads as its whole number; one that is not a whole number below 2^53 cannot be the
    /// identifier it was meant to hold and fails this check.
    pub fn key_check(&self, name: &str) -> Check {
        if self.schema.get(name).is_some_and(|dt| dt.is_float()) {
            let v = col(name);
            return (
                v.clone().is_not_null().and(exact_whole(v).not()),
                "bad_key",
                format!(
                    "{} is a floating-point number that does not hold a whole identifier exactly",
                    self.label(name)
                )
                .into(),
            );
        }
        let bad = match self.has(name) {
            false => lit(false),
            true => self.raw(name).map(
                |c| {
                    let out: BooleanChunked = c
                        .str()?
                        .iter()
                        .map(|v| Some(v.is_some_and(|v| !key_is_clean(v))))
                        .collect();
                    Ok(out.with_name(c.name().clone()).into_column())
                },
                |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
            ),
        };
        (
            bad,
            "bad_key",
            format!(
                "{} holds a control or invisible character",
                self.label(name)
            )
            .into(),
        )
    }

    /// `"<what> '<value>'"`, for reasons that quote the offending cell (the column as read: it is
    /// made text only for the rows quarantined, see `sources::first_failure`).
    pub fn quoted(&self, what: &str, name: &str) -> Reason {
        Reason::Quoted {
            what: what.to_string(),
            value: self.as_read(name),
        }
    }
}

/// Why a row is quarantined: a fixed text, or a text quoting the offending cell (`value`, the
/// column as read; written only for the rows that break the check, see `first_failure`).
pub enum Reason {
    Fixed(String),
    Quoted { what: String, value: Expr },
}

impl From<&str> for Reason {
    fn from(s: &str) -> Reason {
        Reason::Fixed(s.to_string())
    }
}

impl From<String> for Reason {
    fn from(s: String) -> Reason {
        Reason::Fixed(s)
    }
}

/// A row check for `first_failure`: the condition that breaks it, the rule's name, the reason.
pub type Check = (Expr, &'static str, Reason);

/// What `Cols::blank` matches: only whitespace, optionally around `NULL`/`null`/`Null`.
const BLANK: &str = r"^\s*(?:NULL|null|Null)?\s*$";

/// Trimmed text of a string expression; blank and `NULL` (as `NULL`, `Null` or `null`) are null.
/// One pass that hands the column back untouched when no cell needs cleaning (the usual case):
/// copying every cell of every text column would be most of a run's work.
pub fn clean(text: Expr) -> Expr {
    text.map(clean_column, |_, f| {
        Ok(Field::new(f.name().clone(), DataType::String))
    })
}

/// A cell trimmed; blank and `NULL` (as `NULL`, `Null` or `null`) are `None`.
pub fn clean_cell(v: &str) -> Option<&str> {
    let t = v.trim();
    (!matches!(t, "" | "NULL" | "null" | "Null")).then_some(t)
}

fn clean_column(c: Column) -> PolarsResult<Column> {
    let ca = c.str()?;
    if ca.iter().flatten().all(|v| clean_cell(v) == Some(v)) {
        return Ok(c);
    }
    let out: StringChunked = ca.iter().map(|v| v.and_then(clean_cell)).collect();
    Ok(out.with_name(c.name().clone()).into_column())
}

/// Characters removed from keys wherever they appear: the byte-order mark (which Azure exports
/// repeat before the first data row), zero-width space, non-joiner, joiner and word joiner.
const REMOVED_FROM_KEYS: &[char] = &['\u{feff}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}'];
/// Non-breaking spaces, read as an ordinary space in keys.
const NBSP: &[char] = &['\u{a0}', '\u{2007}', '\u{202f}'];

/// A key cell cleaned: `REMOVED_FROM_KEYS` dropped, `NBSP` as a space, then as `clean_cell`. No
/// copy for an ASCII cell that needs no trimming (nearly all).
pub fn clean_key_cell(v: &str) -> Option<std::borrow::Cow<'_, str>> {
    if v.is_ascii() {
        return clean_cell(v).map(std::borrow::Cow::Borrowed);
    }
    let fixed: String = v
        .chars()
        .filter(|c| !REMOVED_FROM_KEYS.contains(c))
        .map(|c| if NBSP.contains(&c) { ' ' } else { c })
        .collect();
    clean_cell(&fixed).map(|t| std::borrow::Cow::Owned(t.to_string()))
}

/// True when a key, once cleaned, holds no control, format (bidi, soft hyphen) or line/paragraph
/// separator character.
pub fn key_is_clean(v: &str) -> bool {
    if v.is_ascii() {
        return !v.trim().bytes().any(|b| b.is_ascii_control());
    }
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{ad}' | '\u{61c}' | '\u{180e}' | '\u{200e}' | '\u{200f}'
                | '\u{2028}'..='\u{202e}' | '\u{2061}'..='\u{206f}' | '\u{fff9}'..='\u{fffb}')
    };
    clean_key_cell(v).is_none_or(|k| !k.chars().any(invisible))
}

/// `clean_key_cell` over a text expression.
pub fn clean_key(text: Expr) -> Expr {
    text.map(
        |c| {
            let ca = c.str()?;
            if ca
                .iter()
                .flatten()
                .all(|v| v.is_ascii() && clean_cell(v) == Some(v))
            {
                return Ok(c);
            }
            let out: StringChunked = ca
                .iter()
                .map(|v| v.and_then(clean_key_cell))
                .collect::<Vec<_>>()
                .iter()
                .map(|v| v.as_deref())
                .collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

/// Lower-cased `name` is one of `allowed` (null passes: emptiness is checked separately).
pub fn one_of(c: &Cols, name: &str, allowed: &[&str]) -> Expr {
    let v = c.lower(name);
    let hit = allowed
        .iter()
        .map(|a| v.clone().eq(lit(*a)))
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false));
    v.is_null().or(hit)
}

/// A check that `name` is one of `allowed`, for `first_failure`.
pub fn enum_check(c: &Cols, name: &str, allowed: &[&str]) -> Check {
    (
        one_of(c, name, allowed).not(),
        "bad_value",
        c.quoted(
            &format!("{name} must be one of {}, got", allowed.join("|")),
            name,
        ),
    )
}

/// A check that `name` holds an assigned ISO 3166-1 alpha-2 code, in any case (null passes): `UK`,
/// `XX` or `USA` is not one, whatever it was meant to say.
pub fn country_check(c: &Cols, name: &str) -> Check {
    let v = c.text(name).str().to_uppercase();
    (
        v.clone().is_not_null().and(is_country_code(v).not()),
        "bad_country",
        c.quoted(&format!("{name} is not an ISO 3166-1 alpha-2 code:"), name),
    )
}

/// True where the (upper-case) text is an assigned ISO 3166-1 alpha-2 code
/// (`config::country_groups::is_country_code`).
fn is_country_code(v: Expr) -> Expr {
    v.map(
        |c| {
            let out: BooleanChunked = c
                .str()?
                .iter()
                .map(|v| v.map(crate::config::country_groups::is_country_code))
                .collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

/// Checks that a column is present and parses as a timestamp where present.
pub fn timestamp_check(c: &Cols, name: &str) -> Check {
    let reason = match c.schema.get(name) {
        // A typed instant is not quoted: formatting one outside chrono's range panics.
        Some(dt) if dt.is_temporal() => {
            format!("{} is outside the years 1-9999", c.label(name)).into()
        }
        _ => c.quoted(&format!("{} is not a timestamp:", c.label(name)), name),
    };
    (c.bad_timestamp(name), "bad_timestamp", reason)
}

/// A check that `name` is not empty.
pub fn present_check(c: &Cols, name: &str) -> Check {
    (
        c.text(name).is_null(),
        "missing_value",
        format!("{name} is empty").into(),
    )
}

/// A boolean written as true/false, yes/no, y/n or 1/0 (any case); null where absent or unreadable.
pub fn boolean(c: &Cols, name: &str) -> Expr {
    let v = c.lower(name);
    let any = |words: &[&str]| {
        words
            .iter()
            .map(|w| v.clone().eq(lit(*w)))
            .reduce(|a, b| a.or(b))
            .unwrap()
    };
    when(any(&["true", "yes", "y", "1"]))
        .then(lit(true))
        .when(any(&["false", "no", "n", "0"]))
        .then(lit(false))
        .otherwise(lit(NULL).cast(DataType::Boolean))
}

/// A check that `name` reads as a boolean where present.
pub fn boolean_check(c: &Cols, name: &str) -> Check {
    (
        c.text(name).is_not_null().and(boolean(c, name).is_null()),
        "bad_value",
        c.quoted(&format!("{name} must be true or false, got"), name),
    )
}

/// Seconds since the Unix epoch of a timestamp expression.
pub fn epoch_seconds(ts: Expr) -> Expr {
    ts.cast(DataType::Int64).floor_div(lit(1_000_000i64))
}

/// Days since the Unix epoch of a timestamp expression (the UTC calendar day).
pub fn epoch_day(ts: Expr) -> Expr {
    ts.cast(DataType::Date).cast(DataType::Int32)
}

/// 2^53: every whole number below it is exactly a 64-bit float.
const EXACT_FLOAT_WHOLE: f64 = 9_007_199_254_740_992.0;

/// True where a float is a whole number below 2^53 (exactly held).
fn exact_whole(v: Expr) -> Expr {
    v.clone()
        .eq(v.clone().floor())
        .and(v.abs().lt(lit(EXACT_FLOAT_WHOLE)))
}

/// A float column as text: a whole number below 2^53 without a fraction (`420000000002`, not
/// `420000000002.0`: an id a writer stored as a float), anything else as Polars writes it.
fn float_text(v: Expr) -> Expr {
    when(exact_whole(v.clone()))
        .then(v.clone().cast(DataType::Int64).cast(DataType::String))
        .otherwise(v.cast(DataType::String))
}

/// A field that reads a null as its type's default (0, false, empty text): for the non-optional
/// fields of rows read back from a table or a query (`#[serde(deserialize_with = "...")]`). A
/// missing column is still an error.
pub fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messy_timestamps_and_nulls_parse() {
        let df = df!("t" => ["2024-09-24 02:00:00", "2026-10-01T00:00:00Z", "2026-10-01T01:30:00.250+00:00", "NULL", "", "yesterday", "2026-13-01"]).unwrap();
        let schema = df.schema().as_ref().clone();
        let c = Cols::new(&schema);
        let out = df
            .lazy()
            .select([
                c.timestamp("t").alias("ts"),
                c.bad_timestamp("t").alias("bad"),
            ])
            .collect()
            .unwrap();
        let ts = out.column("ts").unwrap();
        assert_eq!(ts.null_count(), 4);
        let bad: Vec<Option<bool>> = out.column("bad").unwrap().bool().unwrap().iter().collect();
        assert_eq!(
            bad,
            [
                Some(false),
                Some(false),
                Some(false),
                Some(false),
                Some(false),
                Some(true),
                Some(true)
            ]
        );
    }

    #[test]
    fn a_key_stored_as_a_float_reads_as_its_whole_number() {
        // pandas writes an integer id column with nulls as DOUBLE.
        let df = df!("account" => [Some(420000000002.0), Some(1.5), Some(1e17), None]).unwrap();
        let schema = df.schema().as_ref().clone();
        let c = Cols::new(&schema);
        let (bad, rule, _) = c.key_check("account");
        let out = df
            .lazy()
            .select([c.key("account").alias("key"), bad.alias("bad")])
            .collect()
            .unwrap();
        let key: Vec<Option<&str>> = out.column("key").unwrap().str().unwrap().iter().collect();
        assert_eq!(key[0], Some("420000000002"));
        assert_eq!(key[3], None);
        let bad: Vec<Option<bool>> = out.column("bad").unwrap().bool().unwrap().iter().collect();
        assert_eq!(bad, [Some(false), Some(true), Some(true), Some(false)]);
        assert_eq!(rule, "bad_key");
    }

    #[test]
    fn country_codes_are_the_assigned_ones() {
        let df =
            df!("country" => [Some("gb"), Some("US"), Some("UK"), Some("XX"), Some("USA"), None])
                .unwrap();
        let schema = df.schema().as_ref().clone();
        let c = Cols::new(&schema);
        let (bad, rule, _) = country_check(&c, "country");
        let out = df.lazy().select([bad.alias("bad")]).collect().unwrap();
        let bad: Vec<Option<bool>> = out.column("bad").unwrap().bool().unwrap().iter().collect();
        assert_eq!(
            bad,
            [
                Some(false),
                Some(false),
                Some(true),
                Some(true),
                Some(true),
                Some(false)
            ]
        );
        assert_eq!(rule, "bad_country");
    }

    #[test]
    fn numbers_and_missing_columns() {
        let df = df!("q" => ["1.000000000000000", " 2 ", "x", "NULL"]).unwrap();
        let schema = df.schema().as_ref().clone();
        let c = Cols::new(&schema);
        let out = df
            .lazy()
            .select([
                c.number("q").alias("q"),
                c.bad_number("q").alias("bad"),
                c.text("absent").alias("a"),
            ])
            .collect()
            .unwrap();
        let q: Vec<Option<f64>> = out.column("q").unwrap().f64().unwrap().iter().collect();
        assert_eq!(q, [Some(1.0), Some(2.0), None, None]);
        assert_eq!(
            out.column("bad")
                .unwrap()
                .bool()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            [Some(false), Some(false), Some(true), Some(false)]
        );
        assert_eq!(out.column("a").unwrap().null_count(), 4);
    }

    #[test]
    fn decimal_costs_are_numbers_and_clean_text_is_not_copied() {
        let cost = Series::new("cost".into(), &[32.77f64, 0.023])
            .cast(&DataType::Decimal(10, 3))
            .unwrap();
        let df = DataFrame::new(2, vec![cost.into_column()]).unwrap();
        let schema = df.schema().as_ref().clone();
        let c = Cols::new(&schema);
        let out = df
            .lazy()
            .select([
                c.number("cost").alias("n"),
                c.bad_number("cost").alias("bad"),
            ])
            .collect()
            .unwrap();
        let n: Vec<Option<f64>> = out.column("n").unwrap().f64().unwrap().iter().collect();
        assert_eq!(n, [Some(32.77), Some(0.023)]);
        assert!(!out.column("bad").unwrap().bool().unwrap().any());

        let clean_text = Column::new("t".into(), &["a", "b c"]);
        let same = clean_column(clean_text.clone()).unwrap();
        assert!(same
            .as_materialized_series()
            .equals(clean_text.as_materialized_series()));
        let messy = clean_column(Column::new("t".into(), &[" a ", "NULL"])).unwrap();
        let v: Vec<Option<&str>> = messy.str().unwrap().iter().collect();
        assert_eq!(v, [Some("a"), None]);
    }
}
