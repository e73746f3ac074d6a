//! Turning result tables into typed rows for the view models: dates and timestamps become ISO text,
//! numbers stay numbers, nulls become `None`. SQL can give a null in any column (a `SUM` over no
//! rows, an outer join, a NaN), so every field of a typed row is either an `Option` or reads a null
//! as its type's default (`null_as_default`: 0, false, empty text). Only the few rows a document
//! needs are converted; the tables themselves stay in Polars.

use polars::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Number, Value};

use crate::error::{Context, Error, Result};

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

/// A field that reads a null as its type's default (0, false, empty text): for the non-optional
/// fields of rows read back from a query (`#[serde(deserialize_with = "...")]`). A missing column is
/// still an error.
pub fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
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
pub(crate) mod all_null {
    use super::*;

    /// The columns `T` requires: an empty object is read and each field serde reports missing is
    /// added as null, until `T` reads it (a field that cannot take a null fails here).
    fn required_columns<T: DeserializeOwned>() -> Vec<String> {
        let mut object = Map::new();
        loop {
            match serde_json::from_value::<T>(Value::Object(object.clone())) {
                Ok(_) => return object.keys().cloned().collect(),
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
    pub(crate) fn read<T: DeserializeOwned>() -> T {
        let columns: Vec<Column> = required_columns::<T>()
            .iter()
            .map(|name| Column::full_null(name.as_str().into(), 1, &DataType::Null))
            .collect();
        let df = DataFrame::new(1, columns).unwrap();
        records::<T>(&df, "all nulls").unwrap().remove(0)
    }
}

#[cfg(test)]
mod tests {
    use super::all_null;
    use crate::documents::certification::*;
    use crate::documents::rows::*;

    #[test]
    fn every_row_type_read_from_a_query_accepts_nulls() {
        let flag: FlagRow = all_null::read();
        assert_eq!((flag.accelerator_hours, flag.ops_met), (0.0, false));
        all_null::read::<RunRow>();
        all_null::read::<CustomerRow>();
        all_null::read::<OwnerRow>();
        all_null::read::<AccessRow>();
        all_null::read::<CountryCustomers>();
        all_null::read::<CountryOwners>();
        all_null::read::<Reseller>();
        all_null::read::<Unverified>();
        let stats: Stats = all_null::read();
        assert_eq!(stats.customers, 0);
        all_null::read::<Failed>();
    }
}
