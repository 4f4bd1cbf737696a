//! Aannemelijke datums: the one rule that bounds every date a step carries.
//!
//! A date after today is refused by [`crate::decide`] itself. This rule refuses the other
//! implausible dates, which are nearly always a typing error (`0000-01-01`, `1900-01-01`,
//! `9999-12-31`) that would otherwise bend every waiting time and every overdue list:
//!
//! - no step before the Jeugdwet came into force ([`JEUGDWET_IN_FORCE`], 1 January 2015): the
//!   municipalities' youth-care files start there. Older files are brought in with
//!   `jeugdpad import --historic`, which uses [`DateRule::historic`];
//! - no step before the youth's birth year, when the signal gives one;
//! - a PGB review due, or a decision taking effect, at most [`DateRule::ahead_years`] after the
//!   step that sets it; a decision valid for at most [`DateRule::validity_years`].
//!
//! The bounds are settings (a [`DateRule`] value), not constants spread over the rules: the
//! application layer holds one and passes it to every decision. Dates already stored are never
//! re-checked, so an installation that changes its bounds still reads its whole history.

use chrono::{Datelike, Months, NaiveDate};

use crate::error::DomainError;
use crate::event::Step;

/// 1 January 2015: the Jeugdwet came into force, and with it the municipalities' files.
pub const JEUGDWET_IN_FORCE: NaiveDate = match NaiveDate::from_ymd_opt(2015, 1, 1) {
    Some(date) => date,
    None => panic!("1 January 2015 is a date"),
};

/// The bounds of a plausible date. [`Default`] is what the API, the web app and `seed` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRule {
    /// No step before this date; `None` for a historic import.
    pub earliest: Option<NaiveDate>,
    /// How many years after its step a review may fall due or a decision take effect.
    pub ahead_years: u32,
    /// How many years a decision may run: youth care ends at 18 (23 at most, with verlengde
    /// jeugdhulp), so a longer one is a typing error.
    pub validity_years: u32,
}

impl Default for DateRule {
    fn default() -> DateRule {
        DateRule {
            earliest: Some(JEUGDWET_IN_FORCE),
            ahead_years: 3,
            validity_years: 18,
        }
    }
}

/// Which bound a date broke; carried by [`DomainError::ImplausibleDate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateBound {
    /// Before the earliest date the installation accepts (the Jeugdwet's start by default).
    Before(NaiveDate),
    /// In a year before the youth's birth year.
    BeforeBirthYear(i32),
    /// More than this many years after the date it is counted from.
    YearsAfter {
        /// The step's (or the decision's start) date.
        from: NaiveDate,
        /// The bound in years.
        years: u32,
    },
}

impl DateRule {
    /// The rule for importing files that predate the Jeugdwet: no earliest date; the other
    /// bounds stay.
    pub fn historic() -> DateRule {
        DateRule {
            earliest: None,
            ..DateRule::default()
        }
    }

    /// Checks the date a step happened on (`field` names it for the client: `occurredOn`, or
    /// `replacementOccurredOn` for a correction).
    pub(crate) fn check_occurred(
        &self,
        field: &'static str,
        on: NaiveDate,
        birth_year: Option<i32>,
    ) -> Result<(), DomainError> {
        if let Some(earliest) = self.earliest.filter(|earliest| on < *earliest) {
            return Err(implausible(field, on, DateBound::Before(earliest)));
        }
        if let Some(year) = birth_year.filter(|year| on.year() < *year) {
            return Err(implausible(field, on, DateBound::BeforeBirthYear(year)));
        }
        Ok(())
    }

    /// Checks the dates inside a step's payload, given the date of the step itself.
    pub(crate) fn check_step(
        &self,
        step: &Step,
        on: NaiveDate,
        birth_year: Option<i32>,
    ) -> Result<(), DomainError> {
        match step {
            Step::PgbReviewScheduled(review) => self.ahead("dueOn", review.due_on, on),
            Step::DecisionIssued(decision) => {
                self.check_occurred("validFrom", decision.valid_from, birth_year)?;
                self.ahead("validFrom", decision.valid_from, on)?;
                match decision.valid_until {
                    Some(until) => self.within(
                        "validUntil",
                        until,
                        decision.valid_from,
                        self.validity_years,
                    ),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// `date` at most [`DateRule::ahead_years`] after `from`.
    fn ahead(
        &self,
        field: &'static str,
        date: NaiveDate,
        from: NaiveDate,
    ) -> Result<(), DomainError> {
        self.within(field, date, from, self.ahead_years)
    }

    /// `date` at most `years` after `from`.
    fn within(
        &self,
        field: &'static str,
        date: NaiveDate,
        from: NaiveDate,
        years: u32,
    ) -> Result<(), DomainError> {
        let latest = from.checked_add_months(Months::new(years.saturating_mul(12)));
        if latest.is_some_and(|latest| date > latest) {
            return Err(implausible(
                field,
                date,
                DateBound::YearsAfter { from, years },
            ));
        }
        Ok(())
    }
}

fn implausible(field: &'static str, date: NaiveDate, bound: DateBound) -> DomainError {
    DomainError::ImplausibleDate { field, date, bound }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn occurred_on_is_after_the_jeugdwet_and_the_birth_year() {
        let rule = DateRule::default();
        let check = |on: &str, birth: Option<i32>, expected: Option<DateBound>| {
            let result = rule.check_occurred("occurredOn", day(on), birth);
            let bound = result.err().map(|e| match e {
                DomainError::ImplausibleDate { bound, .. } => bound,
                other => panic!("{other}"),
            });
            assert_eq!(bound, expected, "{on} {birth:?}");
        };
        check("2015-01-01", None, None);
        check(
            "2014-12-31",
            None,
            Some(DateBound::Before(JEUGDWET_IN_FORCE)),
        );
        check(
            "0000-01-01",
            None,
            Some(DateBound::Before(JEUGDWET_IN_FORCE)),
        );
        check("2020-01-01", Some(2020), None);
        check(
            "2019-12-31",
            Some(2020),
            Some(DateBound::BeforeBirthYear(2020)),
        );
        // A historic import keeps the birth-year bound only.
        let historic = DateRule::historic();
        assert!(historic
            .check_occurred("occurredOn", day("1900-01-01"), None)
            .is_ok());
        assert!(historic
            .check_occurred("occurredOn", day("2000-01-01"), Some(2001))
            .is_err());
    }

    #[test]
    fn dates_ahead_are_bounded_in_years() {
        let rule = DateRule::default();
        let from = day("2026-03-01");
        assert!(rule.ahead("dueOn", day("2029-03-01"), from).is_ok());
        assert_eq!(
            rule.ahead("dueOn", day("2029-03-02"), from),
            Err(implausible(
                "dueOn",
                day("2029-03-02"),
                DateBound::YearsAfter { from, years: 3 }
            ))
        );
        assert!(rule.ahead("dueOn", NaiveDate::MAX, from).is_err());
    }
}
