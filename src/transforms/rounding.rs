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
///
/// A double whose shortest decimal form has at most `SIG_DIGITS` digits (a count, whole hours,
/// most prices) is its own rounding: that decimal is within half a unit of the double's last bit,
/// so it is the nearest decimal of `SIG_DIGITS` digits too. Only the others go through the exact,
/// much slower, formatting to `SIG_DIGITS` digits.
pub fn round_sig(x: f64) -> f64 {
    if !x.is_finite() || shortest_digits(x) <= SIG_DIGITS as usize {
        return x;
    }
    exact_round_sig(x)
}

/// The significant digits of `x`'s shortest decimal form (`{:e}`: `1.5832e16` has 5).
fn shortest_digits(x: f64) -> usize {
    let text = format!("{x:e}");
    let mantissa = text.split('e').next().unwrap_or_default();
    mantissa.bytes().filter(u8::is_ascii_digit).count()
}

/// `x` (finite) formatted to `SIG_DIGITS` significant digits and read back.
fn exact_round_sig(x: f64) -> f64 {
    format!("{:.*e}", (SIG_DIGITS - 1) as usize, x)
        .parse()
        .unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The shortcut for short decimals gives the exact rounding's double, bit for bit.
        #[test]
        fn the_shortcut_agrees_with_the_exact_rounding(
            bits in proptest::prelude::any::<u64>(),
            digits in 1u32..=17,
            exponent in -30i32..30,
        ) {
            let any = f64::from_bits(bits);
            let short = format!("{:.*e}", digits as usize - 1, any).parse::<f64>().unwrap_or(0.0);
            for x in [any, short, short * 10f64.powi(exponent), (bits % 1_000_000_000_000_000) as f64] {
                if x.is_finite() {
                    proptest::prop_assert_eq!(round_sig(x).to_bits(), exact_round_sig(x).to_bits(), "{}", x);
                }
            }
        }
    }

    #[test]
    fn rounding_is_to_the_nearest_short_decimal() {
        assert_eq!(round_sig(1.5831999999999998e16), 1.5832e16);
        assert_eq!(round_sig(0.1 + 0.2), 0.3);
        assert_eq!(round_sig(-3.0), -3.0);
    }
}
