//! The US federal holidays a report's due date is checked against (`calendar/us-federal-holidays.csv`,
//! data beside the code: each row's date, the holiday's name as 5 U.S.C. 6103 names it and the
//! source). The rule counts calendar days and says nothing of a deadline on a day the agency is
//! closed, so cipwatch never moves a due date: it adds a note for counsel. Also the one home of
//! the day numbers the queries count in (days since 1970-01-01) and their calendar dates.

use chrono::{Datelike, NaiveDate, Weekday};
use std::sync::LazyLock;

const HOLIDAYS: &str = include_str!("calendar/us-federal-holidays.csv");

/// Date → holiday name, from the embedded table (the observed day where the holiday falls on a
/// weekend).
static TABLE: LazyLock<Vec<(NaiveDate, String)>> = LazyLock::new(|| {
    HOLIDAYS
        .lines()
        .skip(1)
        .filter_map(|line| {
            let date = NaiveDate::parse_from_str(line.get(..10)?, "%Y-%m-%d").ok()?;
            let name = line.get(11..)?.strip_prefix('"')?.split('"').next()?;
            Some((date, name.to_string()))
        })
        .collect()
});

/// The years the table covers, first and last.
pub fn years() -> (i32, i32) {
    let years = TABLE.iter().map(|(d, _)| d.year());
    (years.clone().min().unwrap_or(0), years.max().unwrap_or(0))
}

/// A note for a due date on a weekend or a US federal holiday (`None` on a working day, and for a
/// year the table does not cover other than by weekday).
pub fn due_date_note(date: NaiveDate) -> Option<String> {
    if let Some((_, name)) = TABLE.iter().find(|(d, _)| *d == date) {
        return Some(format!(
            "falls on a US federal holiday ({name}); the rule counts calendar days and does not move it"
        ));
    }
    match date.weekday() {
        Weekday::Sat => {
            Some("falls on a Saturday; the rule counts calendar days and does not move it".into())
        }
        Weekday::Sun => {
            Some("falls on a Sunday; the rule counts calendar days and does not move it".into())
        }
        _ => None,
    }
}

/// Days since the Unix epoch (1970-01-01 is day 0) of a calendar date, as the queries count days.
pub fn days_since_epoch(d: chrono::NaiveDate) -> i32 {
    d.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

/// The calendar date of a day number since the Unix epoch ([`days_since_epoch`]'s inverse), or
/// `None` beyond the dates chrono represents.
pub fn date_of_day(day: i64) -> Option<chrono::NaiveDate> {
    i32::try_from(day)
        .ok()?
        .checked_add(EPOCH_DAYS_FROM_CE)
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
}

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekends_and_federal_holidays_get_a_note_working_days_none() {
        assert_eq!(years(), (2024, 2030));
        assert!(due_date_note(day("2026-11-26"))
            .unwrap()
            .contains("Thanksgiving Day"));
        // Independence Day 2026 is a Saturday: observed on Friday 3 July, and the 4th is a Saturday.
        assert!(due_date_note(day("2026-07-03"))
            .unwrap()
            .contains("Independence Day"));
        assert!(due_date_note(day("2026-07-04"))
            .unwrap()
            .contains("Saturday"));
        assert!(due_date_note(day("2026-12-06")).unwrap().contains("Sunday"));
        assert!(due_date_note(day("2026-01-19"))
            .unwrap()
            .contains("Martin Luther King, Jr."));
        assert_eq!(due_date_note(day("2026-12-11")), None);
    }
}
