//! Turning result tables into typed rows for the view models: dates and timestamps become ISO text,
//! numbers stay numbers, nulls become `None`. SQL can give a null in any column (a `SUM` over no
//! rows, an outer join, a NaN), so every field of a typed row is either an `Option` or reads a null
//! as its type's default (`null_as_default`: 0, false, empty text). Only the few rows a document
//! needs are converted; the tables themselves stay in Polars.

use polars::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

use crate::error::{Context, Error, Result};

/// The rows of `table` whose `account_id` is one of `accounts`, as typed records: what a document
/// or `explain` needs of a large table (a GPU cloud's month has hundreds of thousands of run
/// segments; a report shows one account's).
///
/// Errors: internal when the table has no `account_id` column or its rows are not `T`.
pub fn accounts_records<T: DeserializeOwned>(
    table: &DataFrame,
    accounts: &[&str],
    what: &str,
) -> Result<Vec<T>> {
    let wanted = Series::new("accounts".into(), accounts);
    let df = table
        .clone()
        .lazy()
        .filter(col("account_id").is_in(lit(wanted).implode(false), false))
        .collect()
        .or_internal(what)?;
    records(&df, what)
}

/// The rows of `df` as typed records.
pub fn records<T: DeserializeOwned>(df: &DataFrame, what: &str) -> Result<Vec<T>> {
    let text = as_text_dates(df, what)?;
    let columns = text.columns();
    (0..text.height())
        .map(|i| {
            let mut object = Map::new();
            for c in columns {
                let v = c.get(i).or_internal(what)?;
                object.insert(c.name().to_string(), json(v));
            }
            serde_json::from_value(Value::Object(object))
                .map_err(|e| Error::internal(format!("reading {what}"), e))
        })
        .collect()
}

fn as_text_dates(df: &DataFrame, what: &str) -> Result<DataFrame> {
    let exprs: Vec<Expr> = df
        .schema()
        .iter()
        .map(|(name, dt)| match dt {
            DataType::Datetime(_, _) => col(name.clone()).dt().strftime("%Y-%m-%dT%H:%M:%SZ"),
            DataType::Date => col(name.clone()).dt().strftime("%Y-%m-%d"),
            _ => col(name.clone()),
        })
        .collect();
    df.clone().lazy().select(exprs).collect().or_internal(what)
}

fn json(v: AnyValue) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::String(s) => Value::String(s.to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Float64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        AnyValue::Float32(f) => Number::from_f64(f as f64).map_or(Value::Null, Value::Number),
        other => match other.extract::<i64>() {
            Some(i) => Value::Number(i.into()),
            None => Value::String(other.to_string()),
        },
    }
}

/// For tests of typed rows: reads a one-row table whose every column is null.
#[cfg(test)]
pub mod all_null {
    use super::*;

    /// The columns `T` requires beyond `fixed` (given as text): each field serde reports missing
    /// is added as null, until `T` reads it (a field that cannot take a null fails here).
    fn required_columns<T: DeserializeOwned>(fixed: &Map<String, Value>) -> Vec<String> {
        let mut object = fixed.clone();
        loop {
            match serde_json::from_value::<T>(Value::Object(object.clone())) {
                Ok(_) => {
                    return object
                        .keys()
                        .filter(|k| !fixed.contains_key(*k))
                        .cloned()
                        .collect()
                }
                Err(e) => {
                    let message = e.to_string();
                    let field = message
                        .strip_prefix("missing field `")
                        .and_then(|rest| rest.split('`').next())
                        .unwrap_or_else(|| panic!("{}: {message}", std::any::type_name::<T>()));
                    object.insert(field.to_string(), Value::Null);
                }
            }
        }
    }

    /// One `T` read through `records` from a table of `T`'s columns, all null.
    pub fn read<T: DeserializeOwned>() -> T {
        read_with::<T>(&[])
    }

    /// One `T` read through `records` from a table whose `fixed` columns hold the given text and
    /// whose every other column is null.
    pub fn read_with<T: DeserializeOwned>(fixed: &[(&str, &str)]) -> T {
        let fixed_map: Map<String, Value> = fixed
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        let mut columns: Vec<Column> = fixed
            .iter()
            .map(|(k, v)| Column::new((*k).into(), [*v]))
            .collect();
        columns.extend(
            required_columns::<T>(&fixed_map)
                .iter()
                .map(|name| Column::full_null(name.as_str().into(), 1, &DataType::Null)),
        );
        let df = DataFrame::new(1, columns).unwrap();
        records::<T>(&df, "all nulls").unwrap().remove(0)
    }
}
