//! Dates and instants as GraphQL scalars.
//!
//! `Date` is a calendar date `YYYY-MM-DD` (the day a step happened in the world; no time zone).
//! `DateTime` is an RFC 3339 instant (when the store accepted an event; always UTC on output).
//! Parse errors say which form is expected, with an example, and never echo the input. They carry
//! `extensions.code` `VALIDATION` and `extensions.reason` ([`DATE_FORMAT`], [`INSTANT_FORMAT`]);
//! the HTTP handler uses that reason to drop async-graphql's `Failed to parse "Date": ` prefix, so
//! a consultant who typed the Dutch `30-11-2026` reads what to type instead.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, NaiveDate, SecondsFormat, Utc};

use super::errors::ErrorCode;

/// `extensions.reason` of a value that is not a date as `YYYY-MM-DD`.
pub(crate) const DATE_FORMAT: &str = "date_format";
/// `extensions.reason` of a value that is not an RFC 3339 instant.
pub(crate) const INSTANT_FORMAT: &str = "instant_format";

/// What a date looks like, for every message about one.
const EXPECTED_DATE: &str = "expected a date as YYYY-MM-DD, e.g. 2026-11-30";

/// A calendar date, `YYYY-MM-DD` (e.g. `2025-03-14`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A refused scalar value: the sentence, `VALIDATION`, and the reason slug.
fn refused<T: async_graphql::InputType>(reason: &str, message: &str) -> InputValueError<T> {
    InputValueError::custom(message)
        .with_extension("code", ErrorCode::Validation.as_str())
        .with_extension("reason", reason)
}

/// A calendar date in ISO 8601 form `YYYY-MM-DD`, e.g. `2025-03-14`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = value else {
            return Err(refused(DATE_FORMAT, EXPECTED_DATE));
        };
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shaped {
            // Most often a Dutch date (30-11-2026) or a slash form: say which form is meant.
            return Err(refused(
                DATE_FORMAT,
                &format!("{EXPECTED_DATE} (year first)"),
            ));
        }
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(Date)
            .map_err(|_| {
                refused(
                    DATE_FORMAT,
                    &format!("there is no such day; {EXPECTED_DATE}"),
                )
            })
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Date(date)
    }
}

/// An instant, RFC 3339 (e.g. `2025-03-14T09:30:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub ChronoDateTime<Utc>);

/// An instant in RFC 3339 form with a UTC offset, e.g. `2025-03-14T09:30:00Z` or
/// `2025-03-14T10:30:00+01:00`. Output is always UTC.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        const EXPECTED: &str =
            "expected an instant in RFC 3339 form with an offset, e.g. 2026-11-30T09:30:00Z";
        let Value::String(text) = value else {
            return Err(refused(INSTANT_FORMAT, EXPECTED));
        };
        ChronoDateTime::parse_from_rfc3339(&text)
            .map(|instant| DateTime(instant.with_timezone(&Utc)))
            .map_err(|_| refused(INSTANT_FORMAT, EXPECTED))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl From<ChronoDateTime<Utc>> for DateTime {
    fn from(instant: ChronoDateTime<Utc>) -> Self {
        DateTime(instant)
    }
}
