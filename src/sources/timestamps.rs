//! The one timestamp parser of cipwatch: every text timestamp of every input (FOCUS billing, each
//! native mapping, telemetry, the CIP registry) goes through `parse_micros`, and every typed
//! timestamp (Parquet `Date`, `Datetime` in any unit, with or without a time zone, INT96) through
//! `typed_to_utc`. The result is microseconds since the Unix epoch, UTC.
//!
//! Accepted text forms (surrounding whitespace ignored):
//! - a date, ISO `YYYY-MM-DD` or the US `M/D/YYYY` that Azure and OCI write (month and day padded
//!   or not); a date alone is midnight UTC;
//! - followed by `T` or one or more spaces and a time `H:MM`, `H:MM:SS` or `H:MM:SS.fraction`
//!   (up to nine fraction digits), optionally `AM`/`PM` (12-hour clock);
//! - followed by nothing (UTC assumed), `Z`, `UTC` or `GMT` (with or without a space before it), or
//!   a numeric offset `+HH:MM`, `+HHMM` or `+HH` (either sign), which is subtracted to give UTC.
//!
//! Anything else (other orders, month names, impossible dates, a zone name, an offset beyond
//! ±18 hours) is `None`, which the sources quarantine as `bad_timestamp`, naming the column.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use polars::prelude::*;

/// Microseconds since the Unix epoch (UTC) of a text timestamp in one of the accepted forms.
pub fn parse_micros(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t.find(['T', 't', ' ']).unwrap_or(t.len());
    let date = parse_date(&t[..split])?;
    let rest = t[split..]
        .strip_prefix(['T', 't'])
        .unwrap_or(&t[split..])
        .trim_start();
    let (time, offset_s) = match (rest.is_empty(), split < t.len()) {
        (true, true) => return None, // a separator with no time after it
        (true, false) => (NaiveTime::MIN, 0),
        (false, _) => parse_time_and_zone(rest)?,
    };
    let local = NaiveDateTime::new(date, time);
    Some(local.and_utc().timestamp_micros() - offset_s * 1_000_000)
}

/// `YYYY-MM-DD` or `M/D/YYYY` (one or two digits for month and day).
fn parse_date(s: &str) -> Option<NaiveDate> {
    let (y, m, d) = if let Some((y, md)) = s.split_once('-') {
        let (m, d) = md.split_once('-')?;
        (number(y, 4, 4)?, number(m, 1, 2)?, number(d, 1, 2)?)
    } else {
        let (m, dy) = s.split_once('/')?;
        let (d, y) = dy.split_once('/')?;
        (number(y, 4, 4)?, number(m, 1, 2)?, number(d, 1, 2)?)
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// A run of `min..=max` ASCII digits as a number.
fn number(s: &str, min: usize, max: usize) -> Option<u32> {
    let ok = (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

/// `H:MM[:SS[.f]]`, an optional `AM`/`PM`, then the zone: returns the wall time and the zone's
/// offset east of UTC in seconds.
fn parse_time_and_zone(s: &str) -> Option<(NaiveTime, i64)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.' || c == ','))
        .unwrap_or(s.len());
    let (clock, zone) = (&s[..end], s[end..].trim_start());
    let mut parts = clock.splitn(3, ':');
    let hour = number(parts.next()?, 1, 2)?;
    let minute = number(parts.next()?, 2, 2)?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, fraction) = match sec.split_once(['.', ',']) {
                Some((w, f)) => (w, Some(f)),
                None => (sec, None),
            };
            let nanos = match fraction {
                None => 0,
                Some(f) => number(f, 1, 9)? * 10u32.pow(9 - f.len() as u32),
            };
            (number(whole, 2, 2)?, nanos)
        }
    };
    let (hour, zone) = twelve_hour(hour, zone)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some((time, zone_offset(zone)?))
}

/// Applies an `AM`/`PM` marker at the start of `zone` (hours 1-12 only); returns the 24-hour hour
/// and what follows the marker.
fn twelve_hour(hour: u32, zone: &str) -> Option<(u32, &str)> {
    let upper = zone.get(..2).map(|m| m.to_ascii_uppercase());
    let pm = match upper.as_deref() {
        Some("AM") => false,
        Some("PM") => true,
        _ => return Some((hour, zone)),
    };
    if !(1..=12).contains(&hour) {
        return None;
    }
    Some((
        (hour % 12) + if pm { 12 } else { 0 },
        zone[2..].trim_start(),
    ))
}

/// Seconds east of UTC of a zone designator: empty, `Z`, `UTC`, `GMT`, or `±HH[:MM]`/`±HHMM`.
fn zone_offset(zone: &str) -> Option<i64> {
    if zone.is_empty()
        || ["Z", "UTC", "GMT"]
            .iter()
            .any(|z| zone.eq_ignore_ascii_case(z))
    {
        return Some(0);
    }
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = zone[1..].replace(':', "");
    let (h, m) = match digits.len() {
        2 => (number(&digits, 2, 2)?, 0),
        4 => (
            number(digits.get(..2)?, 2, 2)?,
            number(digits.get(2..)?, 2, 2)?,
        ),
        _ => return None,
    };
    (h <= 18 && m < 60).then_some(sign * (h as i64 * 3600 + m as i64 * 60))
}

/// Microsecond, time-zone-naive UTC: the one timestamp type inside cipwatch.
pub fn ts_type() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, None)
}

/// A typed temporal column as UTC microseconds (`ts_type`), or `None` when `dtype` is not temporal.
/// A zone-aware `Datetime` holds UTC instants physically, so its physical value is rescaled rather
/// than formatted to text and parsed back; naive ones (and INT96, read as naive nanoseconds) are
/// taken as UTC.
///
/// A value outside years 1–9999 (`MIN_MICROS`..=`MAX_MICROS`, checked before any rescaling can
/// overflow) is null: the checks then quarantine its row, and nothing downstream formats an instant
/// chrono cannot represent (which panics).
pub fn typed_to_utc(e: Expr, dtype: &DataType) -> Option<Expr> {
    let physical = e.cast(DataType::Int64);
    let (micros, per_micro, micros_per) = match dtype {
        DataType::Date => (
            physical.clone() * lit(86_400_000_000i64),
            1i64,
            86_400_000_000i64,
        ),
        DataType::Datetime(TimeUnit::Nanoseconds, _) => {
            (physical.clone().floor_div(lit(1_000i64)), 1_000, 1)
        }
        DataType::Datetime(TimeUnit::Microseconds, _) => (physical.clone(), 1, 1),
        DataType::Datetime(TimeUnit::Milliseconds, _) => {
            (physical.clone() * lit(1_000i64), 1, 1_000)
        }
        _ => return None,
    };
    // The bounds in the column's own unit: MIN_MICROS × per_micro / micros_per, saturating.
    let bound = |m: i64| {
        (m as i128 * per_micro as i128 / micros_per as i128)
            .clamp(i64::MIN as i128, i64::MAX as i128) as i64
    };
    let plausible = physical
        .clone()
        .gt_eq(lit(bound(MIN_MICROS)))
        .and(physical.lt_eq(lit(bound(MAX_MICROS))));
    Some(
        when(plausible)
            .then(micros)
            .otherwise(lit(NULL).cast(DataType::Int64))
            .cast(ts_type()),
    )
}

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds since the Unix epoch: the
/// instants a typed timestamp may hold.
pub const MIN_MICROS: i64 = -62_135_596_800_000_000;
pub const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// `parse_micros` over a text column, as `ts_type`.
pub fn parse_column(c: Column) -> PolarsResult<Column> {
    let out: Int64Chunked = c.str()?.iter().map(|v| v.and_then(parse_micros)).collect();
    out.with_name(c.name().clone())
        .into_column()
        .cast(&ts_type())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micro: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_micro_opt(h, mi, s, micro)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    /// Every form real exports write, and forms that must be refused.
    #[test]
    fn one_parser_accepts_the_export_forms_and_refuses_the_rest() {
        let midnight = at(2026, 11, 24, 0, 0, 0, 0);
        let table: &[(&str, Option<i64>)] = &[
            ("2026-11-24T00:00:00Z", Some(midnight)),
            ("2026-11-24 00:00:00", Some(midnight)),
            ("2026-11-24T00:00:00", Some(midnight)),
            ("2026-11-24 00:00:00 UTC", Some(midnight)),
            ("2026-11-24T00:00:00UTC", Some(midnight)),
            ("2026-11-24 00:00:00 GMT", Some(midnight)),
            ("2026-11-24t00:00:00z", Some(midnight)),
            ("2026-11-24T00:00:00+00:00", Some(midnight)),
            ("2026-11-24T00:00:00+0000", Some(midnight)),
            ("2026-11-24T00:00:00-00:00", Some(midnight)),
            ("2026-11-23T16:00:00-0800", Some(midnight)),
            ("2026-11-23T16:00:00-08:00", Some(midnight)),
            ("2026-11-23T16:00:00 -08:00", Some(midnight)),
            ("2026-11-24T05:30:00+05:30", Some(midnight)),
            ("2026-11-24T02:00:00+02", Some(midnight)),
            ("2026-11-24T00:00Z", Some(midnight)),
            ("2026-11-24 00:00", Some(midnight)),
            (
                "2026-11-24T01:30:00.250Z",
                Some(at(2026, 11, 24, 1, 30, 0, 250_000)),
            ),
            (
                "2026-11-24T01:30:00.123456789Z",
                Some(at(2026, 11, 24, 1, 30, 0, 123_456)),
            ),
            (
                "2026-11-24 01:30:00.5 UTC",
                Some(at(2026, 11, 24, 1, 30, 0, 500_000)),
            ),
            (
                "2026-11-24T01:30:00,5Z",
                Some(at(2026, 11, 24, 1, 30, 0, 500_000)),
            ),
            ("2026-11-24", Some(midnight)),
            ("  2026-11-24  ", Some(midnight)),
            ("11/24/2026", Some(midnight)),
            ("1/2/2026", Some(at(2026, 1, 2, 0, 0, 0, 0))),
            ("01/02/2026", Some(at(2026, 1, 2, 0, 0, 0, 0))),
            ("11/24/2026 13:05", Some(at(2026, 11, 24, 13, 5, 0, 0))),
            ("11/24/2026 1:05:09 PM", Some(at(2026, 11, 24, 13, 5, 9, 0))),
            ("11/24/2026 12:00:00 AM", Some(midnight)),
            ("2026-11-24 9:00:00", Some(at(2026, 11, 24, 9, 0, 0, 0))),
            ("2024-02-29T23:59:59Z", Some(at(2024, 2, 29, 23, 59, 59, 0))),
            (
                "2026-11-24T23:00:00-01:00",
                Some(at(2026, 11, 25, 0, 0, 0, 0)),
            ),
            // refused
            ("", None),
            ("yesterday", None),
            ("2026-13-01", None),
            ("2026-02-30", None),
            ("24/11/2026", None),
            ("2026/11/24", None),
            ("26-11-24", None),
            ("2026-11-24T25:00:00Z", None),
            ("2026-11-24T00:00:00 PST", None),
            ("2026-11-24T00:00:00+25:00", None),
            ("2026-11-24T00:00:00+1", None),
            ("2026-11-24T13:00:00 PM", None),
            ("Nov 24 2026", None),
            ("2026-11-24T", None),
            ("1764000000", None),
            ("2026-11-24T00:00:00.1234567890Z", None),
        ];
        assert!(table.len() >= 30);
        for (text, want) in table {
            assert_eq!(parse_micros(text), *want, "{text:?}");
        }
    }

    #[test]
    fn zone_aware_parquet_timestamps_are_converted_not_reformatted() {
        let micros = at(2026, 11, 24, 0, 0, 0, 0);
        let zone = TimeZone::opt_try_new(Some("America/Los_Angeles")).unwrap();
        for (unit, raw) in [
            (TimeUnit::Nanoseconds, micros * 1_000),
            (TimeUnit::Microseconds, micros),
            (TimeUnit::Milliseconds, micros / 1_000),
        ] {
            let tz = DataType::Datetime(unit, zone.clone());
            let s = Int64Chunked::new("t".into(), &[raw]).into_datetime(unit, zone.clone());
            let df = DataFrame::new(1, vec![s.into_series().into_column()]).unwrap();
            let out = df
                .lazy()
                .select([typed_to_utc(col("t"), &tz).unwrap().cast(DataType::Int64)])
                .collect()
                .unwrap();
            assert_eq!(out.column("t").unwrap().i64().unwrap().get(0), Some(micros));
        }
    }
}
