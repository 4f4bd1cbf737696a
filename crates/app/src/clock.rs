//! Vandaag: the one definition of "today" — for the server, the command line and every tool.
//!
//! `today` is what the domain refuses steps after, the default reference date (`asOf`) of every
//! figure and export, and the `occurred_on` of admin changes and access-log entries. A
//! municipality works in Dutch local time: a Veilig Thuis consultant recording a step at 00:30 in
//! the night must not be told that today's date "lies in the future" because the machine's UTC
//! date is still yesterday — and `jeugdpad export` on a server whose system time zone is UTC
//! must give the same `as_of` as the API's `summaryExport`. So the system clock answers the
//! calendar date in Europe/Amsterdam (CET, CEST under the EU summer-time rule) whatever the
//! machine's time zone, computed here without a time-zone database: the rule has been fixed since
//! 1996.
//!
//! Instants (`now`: token expiry, sign-in checks) are UTC. A fixed clock pins the calendar date
//! only; its instants stay real, because the store stamps `recorded_at` from its own reading.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

/// Where "today" comes from. Cheap to clone; clones of a fixed clock share its date.
#[derive(Debug, Clone)]
pub struct Clock(Source);

#[derive(Debug, Clone)]
enum Source {
    System,
    Fixed(Arc<Mutex<NaiveDate>>),
}

impl Clock {
    /// The real date in the Netherlands.
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock that says `date` until [`Clock::set`] moves it (tests, demos, replays).
    pub fn fixed(date: NaiveDate) -> Clock {
        Clock(Source::Fixed(Arc::new(Mutex::new(date))))
    }

    /// Moves a fixed clock (and every clone of it) to `date`. No effect on the system clock.
    pub fn set(&self, date: NaiveDate) {
        if let Source::Fixed(fixed) = &self.0 {
            *fixed.lock().unwrap_or_else(PoisonError::into_inner) = date;
        }
    }

    /// The current instant (UTC), for expiry checks. Real on every clock: a fixed clock pins
    /// only the date.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Today's date in the municipality.
    pub fn today(&self) -> NaiveDate {
        match &self.0 {
            Source::System => amsterdam_date(Utc::now()),
            Source::Fixed(fixed) => *fixed.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

/// The calendar date in Europe/Amsterdam at `now`: UTC+2 from the last Sunday of March 01:00 UTC
/// until the last Sunday of October 01:00 UTC, UTC+1 otherwise.
pub(crate) fn amsterdam_date(now: DateTime<Utc>) -> NaiveDate {
    amsterdam_time(now).date()
}

/// The wall-clock time in Europe/Amsterdam at `now` (the same rule as "today"), for showing an
/// instant to people — the web app's "recorded at".
pub fn amsterdam_time(now: DateTime<Utc>) -> chrono::NaiveDateTime {
    let year = now.year();
    let switch = |month| {
        Utc.from_utc_datetime(
            &last_sunday(year, month)
                .and_hms_opt(1, 0, 0)
                .unwrap_or_default(),
        )
    };
    let offset = if now >= switch(3) && now < switch(10) {
        2
    } else {
        1
    };
    (now + Duration::hours(offset)).naive_utc()
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    // The last Sunday of a month is among its last seven days.
    (25..=31)
        .rev()
        .filter_map(|day| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| date.weekday() == Weekday::Sun)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(utc: &str, expected: &str) {
        let now: DateTime<Utc> = utc.parse().expect("test instant");
        assert_eq!(amsterdam_date(now).to_string(), expected, "at {utc}");
    }

    #[test]
    fn amsterdam_dates() {
        // Winter: UTC+1.
        check("2025-01-15T22:59:59Z", "2025-01-15");
        check("2025-01-15T23:00:00Z", "2025-01-16");
        // Summer: UTC+2.
        check("2025-07-01T21:59:59Z", "2025-07-01");
        check("2025-07-01T22:00:00Z", "2025-07-02");
        // 2025's switches: 30 March and 26 October, at 01:00 UTC.
        assert_eq!(last_sunday(2025, 3).to_string(), "2025-03-30");
        assert_eq!(last_sunday(2025, 10).to_string(), "2025-10-26");
        check("2025-12-31T23:30:00Z", "2026-01-01");
    }

    #[test]
    fn fixed_clocks_share_their_date() {
        let clock = Clock::fixed(NaiveDate::from_ymd_opt(2025, 3, 1).expect("date"));
        let clone = clock.clone();
        clock.set(NaiveDate::from_ymd_opt(2025, 4, 1).expect("date"));
        assert_eq!(clone.today().to_string(), "2025-04-01");
    }
}
