//! Dates and instants as GraphQL scalars.
//!
//! `Date` is a calendar date `YYYY-MM-DD` (the day a step happened in the world; no time zone).
//! `DateTime` is an RFC 3339 instant (when the store accepted an event; always UTC on output).
//! Parse errors describe the expected form and never echo the input.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, NaiveDate, SecondsFormat, Utc};

/// A calendar date, `YYYY-MM-DD` (e.g. `2025-03-14`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date in ISO 8601 form `YYYY-MM-DD`, e.g. `2025-03-14`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = value else {
            return Err(InputValueError::custom(
                "a date is a string in the form YYYY-MM-DD",
            ));
        };
        if text.len() != 10 {
            return Err(InputValueError::custom(
                "a date is written YYYY-MM-DD, e.g. 2025-03-14",
            ));
        }
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(Date)
            .map_err(|_| InputValueError::custom("not an existing date in the form YYYY-MM-DD"))
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
        let Value::String(text) = value else {
            return Err(InputValueError::custom(
                "an instant is an RFC 3339 string, e.g. 2025-03-14T09:30:00Z",
            ));
        };
        ChronoDateTime::parse_from_rfc3339(&text)
            .map(|instant| DateTime(instant.with_timezone(&Utc)))
            .map_err(|_| {
                InputValueError::custom(
                    "not an RFC 3339 instant with offset, e.g. 2025-03-14T09:30:00Z",
                )
            })
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
