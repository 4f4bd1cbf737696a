//! Pgb-controles: overdue reviews of personal budgets and the irregularity list for the
//! care-fraud (rechtmatigheid) review (SPEC §4).
//!
//! Overdue at `D`: scheduled by `D`, `due_on < D` (strictly: a review due today is not late
//! yet), not completed by `D`, and the trajectory not closed by `D`. Days overdue = `D − due_on`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use jeugdpad_domain::{PgbReviewDecision, TeamCode, TrajectoryId};
use serde::Serialize;

use crate::dated::days;
use crate::{AsOf, Projections};

/// Which reviews to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgbQuery {
    /// `D` and optional knownOn `T`.
    pub as_of: AsOf,
    /// Only this team (at `D`).
    pub team: Option<TeamCode>,
}

/// One overdue review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueReview {
    /// The trajectory.
    pub trajectory: TrajectoryId,
    /// Its team at `D`.
    pub team: TeamCode,
    /// When the review was scheduled.
    pub scheduled_on: NaiveDate,
    /// When it was due.
    pub due_on: NaiveDate,
    /// `D − due_on`.
    pub days_overdue: i64,
}

/// A count per team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamCount {
    /// The team (at `D`).
    pub team: TeamCode,
    /// How many.
    pub count: usize,
}

/// Overdue PGB reviews at `D`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgbOverdueReport {
    /// `D`.
    pub as_of: NaiveDate,
    /// `T`, when asked.
    pub known_on: Option<DateTime<Utc>>,
    /// Most overdue first; ties by trajectory id, then due date.
    pub overdue: Vec<OverdueReview>,
    /// Per team, ordered by team code; teams without overdue reviews are left out.
    pub per_team: Vec<TeamCount>,
}

/// A completed review that raised a rechtmatigheid / fraud signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Irregularity {
    /// The trajectory.
    pub trajectory: TrajectoryId,
    /// Its team at `D`.
    pub team: TeamCode,
    /// When the review was due.
    pub due_on: NaiveDate,
    /// When it was completed.
    pub completed_on: NaiveDate,
    /// Continue, adjust or stop.
    pub decision: PgbReviewDecision,
    /// The review also doubted the quality of the help bought.
    pub quality_concern: bool,
}

impl Projections {
    /// Overdue PGB reviews at `D`, listed and counted per team.
    pub fn pgb_overdue(&self, query: &PgbQuery) -> PgbOverdueReport {
        let d = query.as_of.date;
        let mut overdue = Vec::new();
        for view in self.views_with_reviews(query.team.as_ref(), query.as_of) {
            let dated = &*view.dated;
            let team = dated.team_at(d);
            if dated.closed_by(d) {
                continue;
            }
            for review in dated.reviews.iter() {
                let completed = review.completion.as_ref().is_some_and(|c| c.on <= d);
                if review.scheduled_on <= d && review.due_on < d && !completed {
                    overdue.push(OverdueReview {
                        trajectory: view.id,
                        team: team.clone(),
                        scheduled_on: review.scheduled_on,
                        due_on: review.due_on,
                        days_overdue: days(review.due_on, d),
                    });
                }
            }
        }
        overdue.sort_by(|a, b| {
            b.days_overdue
                .cmp(&a.days_overdue)
                .then(a.trajectory.cmp(&b.trajectory))
                .then(a.due_on.cmp(&b.due_on))
        });
        let mut counts: BTreeMap<&TeamCode, usize> = BTreeMap::new();
        for review in &overdue {
            *counts.entry(&review.team).or_default() += 1;
        }
        let per_team = counts
            .into_iter()
            .map(|(team, count)| TeamCount {
                team: team.clone(),
                count,
            })
            .collect();
        PgbOverdueReport {
            as_of: d,
            known_on: query.as_of.known_on,
            overdue,
            per_team,
        }
    }

    /// Completed reviews (by `D`) with `irregularity_suspected`, newest completion first; ties by
    /// trajectory id.
    pub fn pgb_irregularities(&self, query: &PgbQuery) -> Vec<Irregularity> {
        let d = query.as_of.date;
        let mut list = Vec::new();
        for view in self.views_with_reviews(query.team.as_ref(), query.as_of) {
            let dated = &*view.dated;
            let team = dated.team_at(d);
            for review in dated.reviews.iter() {
                let Some(c) = review.completion.as_ref() else {
                    continue;
                };
                if c.irregularity_suspected && c.on <= d {
                    list.push(Irregularity {
                        trajectory: view.id,
                        team: team.clone(),
                        due_on: review.due_on,
                        completed_on: c.on,
                        decision: c.decision,
                        quality_concern: c.quality_concern,
                    });
                }
            }
        }
        list.sort_by(|a, b| {
            b.completed_on
                .cmp(&a.completed_on)
                .then(a.trajectory.cmp(&b.trajectory))
                .then(a.due_on.cmp(&b.due_on))
        });
        list
    }
}
