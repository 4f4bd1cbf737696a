//! Trends: the figures month by month (waiting times) and year by year (normalisation), for the
//! team lead's and the analyst's charts — one query each, from the aggregates.
//!
//! A month of a waiting-time trend is the report as of the month's last day (or `D`, for the
//! month that holds `D`), with one difference: its closed waits are those that **ended in that
//! month** — so the median and the within-norm share say how the waits of that month went,
//! rather than everything since the first signal. Open waits, open breaches and abandoned waits
//! are those at the month's last day, as in the report. A year of a normalisation trend is the
//! report for the cohort closed in that calendar year, as of `D`.

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use crate::normalisation::{Cohort, CohortQuery, Outcomes};
use crate::waits::{Measure, MeasureReport, WaitGrouping, WaitQuery, WaitStats};
use crate::Projections;

/// The most months a waiting-time trend covers (five years).
pub const MAX_TREND_MONTHS: u32 = 60;
/// The most years a normalisation trend covers.
pub const MAX_TREND_YEARS: u32 = 20;

/// One month of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrendMonth {
    /// The month's first day.
    pub from: NaiveDate,
    /// The month's last day, or `D` for the month that holds it: the reference date of the
    /// month's figures.
    pub to: NaiveDate,
}

impl TrendMonth {
    /// `YYYY-MM`.
    pub fn key(&self) -> String {
        format!("{:04}-{:02}", self.from.year(), self.from.month())
    }
}

/// One group's series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendGroup {
    /// The team code, source code, form code or `YYYY-MM` (as in the report).
    pub key: String,
    /// One entry per month, in month order; a month without waits of the group has zeros.
    pub months: Vec<WaitStats>,
}

/// One measure's series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureTrend {
    /// Which measure.
    pub measure: Measure,
    /// The norm applied.
    pub norm_days: Option<i64>,
    /// All waits that passed the filters, one entry per month.
    pub overall: Vec<WaitStats>,
    /// Per group (ordered by key), one entry per month.
    pub groups: Vec<TrendGroup>,
}

/// A waiting-time trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitTrend {
    /// The months, oldest first.
    pub months: Vec<TrendMonth>,
    /// The grouping applied.
    pub group_by: Option<WaitGrouping>,
    /// One series per requested measure.
    pub measures: Vec<MeasureTrend>,
}

/// One year of a normalisation trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendYear {
    /// The calendar year.
    pub year: i32,
    /// The report of the cohort closed that year, as of `D`.
    pub outcomes: Outcomes,
    /// Per group, as in the report.
    pub groups: Vec<crate::normalisation::OutcomeGroup>,
}

/// The `months` months up to and including the one that holds `d`, oldest first.
pub fn trend_months(d: NaiveDate, months: u32) -> Vec<TrendMonth> {
    let months = months.clamp(1, MAX_TREND_MONTHS);
    let first_of = |date: NaiveDate| date.with_day(1).unwrap_or(date);
    let mut list = Vec::new();
    let mut start = first_of(d);
    for _ in 0..months {
        let last = start
            .checked_add_months(chrono::Months::new(1))
            .and_then(|next| next.checked_sub_days(Days::new(1)))
            .unwrap_or(start);
        list.push(TrendMonth {
            from: start,
            to: last.min(d),
        });
        match start.checked_sub_months(chrono::Months::new(1)) {
            Some(previous) => start = previous,
            None => break,
        }
    }
    list.reverse();
    list
}

impl Projections {
    /// The waiting-time trend over the `months` months up to `query.as_of.date`, with the
    /// query's filters and grouping (see the module docs for what one month counts).
    pub fn waiting_time_trend(&self, query: &WaitQuery, months: u32) -> WaitTrend {
        let windows = trend_months(query.as_of.date, months);
        let ends: Vec<(NaiveDate, Option<NaiveDate>)> = windows
            .iter()
            .map(|month| (month.to, month.from.pred_opt()))
            .collect();
        let per_month: Vec<Vec<MeasureReport>> = self
            .measure_reports_windows(query, &ends)
            .unwrap_or_else(|| {
                ends.iter()
                    .map(|&(d, after)| self.measure_reports_by_scan(query, d, after))
                    .collect()
            });
        trend_of(windows, query.group_by, per_month)
    }

    /// [`Projections::waiting_time_trend`] by visiting every trajectory for every month: the
    /// definition the aggregates' answer is checked against.
    pub fn waiting_time_trend_by_scan(&self, query: &WaitQuery, months: u32) -> WaitTrend {
        let windows = trend_months(query.as_of.date, months);
        let per_month = windows
            .iter()
            .map(|month| self.measure_reports_by_scan(query, month.to, month.from.pred_opt()))
            .collect();
        trend_of(windows, query.group_by, per_month)
    }

    /// The normalisation outcomes of the cohorts closed in each of the `years` calendar years
    /// up to and including `D`'s, as of `D`: [`Projections::normalisation`] per year.
    pub fn normalisation_trend(&self, query: &CohortQuery, years: u32) -> Vec<TrendYear> {
        let d = query.as_of.date;
        let last = d.year();
        let first = last - i32::try_from(years.clamp(1, MAX_TREND_YEARS)).unwrap_or(1) + 1;
        (first..=last)
            .filter_map(|year| {
                let mut cohort = query.clone();
                cohort.cohort = Cohort::Closed;
                cohort.from = NaiveDate::from_ymd_opt(year, 1, 1)?;
                cohort.to = NaiveDate::from_ymd_opt(year, 12, 31)?;
                let report = self.normalisation(&cohort);
                Some(TrendYear {
                    year,
                    outcomes: report.overall,
                    groups: report.groups,
                })
            })
            .collect()
    }
}

/// Pivots per-month reports into one series per measure and group.
fn trend_of(
    months: Vec<TrendMonth>,
    group_by: Option<WaitGrouping>,
    per_month: Vec<Vec<MeasureReport>>,
) -> WaitTrend {
    let count = months.len();
    let mut measures: Vec<MeasureTrend> = Vec::new();
    for (m, reports) in per_month.into_iter().enumerate() {
        for (i, report) in reports.into_iter().enumerate() {
            if measures.len() <= i {
                measures.push(MeasureTrend {
                    measure: report.measure,
                    norm_days: report.norm_days,
                    overall: Vec::with_capacity(count),
                    groups: Vec::new(),
                });
            }
            let trend = &mut measures[i];
            trend.overall.push(report.overall);
            for group in report.groups {
                let at = match trend.groups.binary_search_by(|g| g.key.cmp(&group.key)) {
                    Ok(at) => at,
                    Err(at) => {
                        trend.groups.insert(
                            at,
                            TrendGroup {
                                key: group.key.clone(),
                                months: vec![WaitStats::default(); count],
                            },
                        );
                        at
                    }
                };
                trend.groups[at].months[m] = group.stats;
            }
        }
    }
    WaitTrend {
        months,
        group_by,
        measures,
    }
}
