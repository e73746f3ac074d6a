//! Rounding of result floats to `SIG_DIGITS` significant digits before they are published: a
//! parallel sum's last-bit wobble must not change an output's bytes, and no figure cipwatch
//! publishes is known to more digits than that.

use polars::prelude::*;

use crate::error::{Context, Result};

/// Significant digits kept in float outputs.
pub const SIG_DIGITS: i32 = 12;

/// Rounds floats to `SIG_DIGITS` significant digits, for both CSV and Parquet. The rounding goes
/// through decimal text, so the result is the double nearest the rounded decimal and prints as it.
pub fn stable(mut df: DataFrame) -> Result<DataFrame> {
    let floats: Vec<String> = df
        .schema()
        .iter()
        .filter(|(_, dt)| matches!(dt, DataType::Float64 | DataType::Float32))
        .map(|(n, _)| n.to_string())
        .collect();
    for name in floats {
        let rounded = df
            .column(&name)
            .and_then(|c| c.cast(&DataType::Float64))
            .and_then(|c| c.f64().map(|ca| ca.apply_values(round_sig)))
            .or_internal("rounding output floats")?;
        df.with_column(rounded.into_series().into())
            .or_internal("rounding output floats")?;
    }
    Ok(df)
}

/// `x` rounded to `SIG_DIGITS` significant digits.
pub fn round_sig(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{:.*e}", (SIG_DIGITS - 1) as usize, x)
        .parse()
        .unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_to_the_nearest_short_decimal() {
        assert_eq!(round_sig(1.5831999999999998e16), 1.5832e16);
        assert_eq!(round_sig(0.1 + 0.2), 0.3);
        assert_eq!(round_sig(-3.0), -3.0);
    }
}
