//! Trajectoverzicht: the summary of one trajectory and the filtered, paged listing of many.
//!
//! The listing is ordered by (signal date, trajectory id) — stable, because neither changes
//! while a user pages (a correction of the signal date may move a trajectory, as it should).
//! The cursor is that key; [`ListingCursor::encode`] gives a plain string the API may wrap
//! (e.g. base64) to keep it opaque.

use std::ops::Bound;

use chrono::NaiveDate;
use jeugdpad_domain::{
    CloseReason, Level, Phase, Source, SubjectKey, TeamCode, TrajectoryId, Urgency, UserId,
};
use serde::Serialize;

use crate::dated::Dated;
use crate::waits::has_wait;
use crate::{AsOf, Norms, Projections, View};

/// Samenvatting of one trajectory as of `D`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The trajectory.
    pub trajectory: TrajectoryId,
    /// Where it stands at `D`.
    pub phase: Phase,
    /// Its team at `D`.
    pub team: TeamCode,
    /// The consultant assigned last by `D`.
    pub consultant: Option<UserId>,
    /// The youth's pseudonym.
    pub subject_key: SubjectKey,
    /// Signal date.
    pub signal_on: NaiveDate,
    /// Signal source.
    pub source: Source,
    /// Signal urgency.
    pub urgency: Urgency,
    /// Highest level among episodes open at `D` (0 when none).
    pub current_level: Level,
    /// Highest level of any help started by `D` (0 when none).
    pub highest_level: Level,
    /// Escalations by `D`.
    pub escalations: usize,
    /// Step-downs by `D`.
    pub step_downs: usize,
    /// Doorlooptijd: closed − signal, or `D` − signal while open.
    pub pathway_days: i64,
    /// Help episodes open at `D`.
    pub open_episodes: usize,
    /// Closure date, when closed by `D`.
    pub closed_on: Option<NaiveDate>,
    /// Closure reason, when closed by `D`.
    pub close_reason: Option<CloseReason>,
    /// Has a wait open at `D`.
    pub waiting: bool,
    /// Has a norm breach at `D`: an open wait over its norm or a closed wait that took longer.
    pub norm_breach: bool,
}

impl Summary {
    pub(crate) fn of(id: TrajectoryId, dated: &Dated, d: NaiveDate, norms: &Norms) -> Summary {
        let closure = dated.closure_at(d);
        Summary {
            trajectory: id,
            phase: dated.phase_at(d),
            team: dated.team_at(d).clone(),
            consultant: dated.consultant_at(d).cloned(),
            subject_key: dated.subject.clone(),
            signal_on: dated.signal_on,
            source: dated.source,
            urgency: dated.urgency,
            current_level: dated.current_level_at(d),
            highest_level: dated.highest_level_at(d),
            escalations: dated.escalations_at(d),
            step_downs: dated.step_downs_at(d),
            pathway_days: dated.pathway_days_at(d),
            open_episodes: dated.open_episodes_at(d).count(),
            closed_on: closure.map(|(on, _)| on),
            close_reason: closure.map(|(_, reason)| reason),
            waiting: has_wait(dated, d, norms, false),
            norm_breach: has_wait(dated, d, norms, true),
        }
    }
}

/// The position of an item in the listing's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ListingCursor {
    /// Signal date.
    pub signal_on: NaiveDate,
    /// Trajectory id.
    pub trajectory: TrajectoryId,
}

/// A cursor string that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this listing handed out")]
pub struct CursorError;

impl ListingCursor {
    /// `YYYY-MM-DD/<uuid>`.
    pub fn encode(&self) -> String {
        format!("{}/{}", self.signal_on, self.trajectory)
    }

    /// The inverse of [`ListingCursor::encode`].
    pub fn decode(text: &str) -> Result<ListingCursor, CursorError> {
        let (date, id) = text.split_once('/').ok_or(CursorError)?;
        Ok(ListingCursor {
            signal_on: date.parse().map_err(|_| CursorError)?,
            trajectory: TrajectoryId::parse(id).map_err(|_| CursorError)?,
        })
    }
}

/// Filters (AND) and page of a listing. Level filters are exact matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingQuery {
    /// `D` and optional knownOn `T`.
    pub as_of: AsOf,
    /// Team at `D`.
    pub team: Option<TeamCode>,
    /// Phase at `D`.
    pub phase: Option<Phase>,
    /// Current level at `D` (highest level among open episodes).
    pub current_level: Option<Level>,
    /// Highest level ever started by `D`.
    pub highest_level: Option<Level>,
    /// Has (true) or has no (false) open wait at `D`.
    pub waiting: Option<bool>,
    /// Has (true) or has no (false) norm breach at `D` (see [`Summary::norm_breach`]).
    pub norm_breach: Option<bool>,
    /// Consultant at `D`.
    pub consultant: Option<UserId>,
    /// Start after this cursor.
    pub after: Option<ListingCursor>,
    /// Page size.
    pub first: usize,
}

impl ListingQuery {
    /// No filters, first page of `first`.
    pub fn new(as_of: AsOf, first: usize) -> Self {
        ListingQuery {
            as_of,
            team: None,
            phase: None,
            current_level: None,
            highest_level: None,
            waiting: None,
            norm_breach: None,
            consultant: None,
            after: None,
            first,
        }
    }

    fn matches(&self, s: &Summary) -> bool {
        self.team.as_ref().is_none_or(|t| *t == s.team)
            && self.phase.is_none_or(|p| p == s.phase)
            && self.current_level.is_none_or(|l| l == s.current_level)
            && self.highest_level.is_none_or(|l| l == s.highest_level)
            && self.waiting.is_none_or(|w| w == s.waiting)
            && self.norm_breach.is_none_or(|b| b == s.norm_breach)
            && self
                .consultant
                .as_ref()
                .is_none_or(|c| Some(c) == s.consultant.as_ref())
    }
}

/// One row of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingItem {
    /// Where it sits in the order: pass as `after` for the next page.
    pub cursor: ListingCursor,
    /// The trajectory as of `D`.
    pub summary: Summary,
}

/// One page of the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingPage {
    /// At most `first` items.
    pub items: Vec<ListingItem>,
    /// More matching items follow.
    pub has_next_page: bool,
}

impl Projections {
    /// The summary of one trajectory as of `as_of`; `None` when it is unknown or not yet
    /// signalled (or not yet known) then.
    pub fn summary(&self, trajectory: TrajectoryId, as_of: AsOf) -> Option<Summary> {
        let view = self.view(trajectory, as_of)?;
        Some(Summary::of(view.id, &view.dated, as_of.date, &self.norms))
    }

    /// One page of trajectories matching every filter, in (signal date, id) order.
    ///
    /// Without knownOn the (signal date, id) index is walked from the cursor and the walk stops
    /// at the first signal after `D` or when the page is full; with knownOn every trajectory's
    /// view at `T` is built and sorted, as signal dates may have differed then.
    pub fn list(&self, query: &ListingQuery) -> ListingPage {
        let d = query.as_of.date;
        let mut items = Vec::new();
        let mut has_next_page = false;
        let mut take = |view: View<'_>| -> bool {
            let summary = Summary::of(view.id, &view.dated, d, &self.norms);
            if !query.matches(&summary) {
                return true;
            }
            if items.len() == query.first {
                has_next_page = true;
                return false;
            }
            let cursor = ListingCursor {
                signal_on: summary.signal_on,
                trajectory: summary.trajectory,
            };
            items.push(ListingItem { cursor, summary });
            true
        };
        let after = |key: (NaiveDate, TrajectoryId)| {
            query
                .after
                .is_none_or(|c| key > (c.signal_on, c.trajectory))
        };
        match query.as_of.known_on {
            None => {
                let from = match query.after {
                    Some(c) => Bound::Excluded((c.signal_on, c.trajectory)),
                    None => Bound::Unbounded,
                };
                for &(signal_on, id) in self.by_signal.range((from, Bound::Unbounded)) {
                    if signal_on > d {
                        break;
                    }
                    let Some(view) = self.view(id, query.as_of) else {
                        continue;
                    };
                    if !take(view) {
                        break;
                    }
                }
            }
            Some(_) => {
                let mut views: Vec<View<'_>> = self
                    .views(query.as_of)
                    .filter(|v| after((v.dated.signal_on, v.id)))
                    .collect();
                views.sort_by_key(|v| (v.dated.signal_on, v.id));
                for view in views {
                    if !take(view) {
                        break;
                    }
                }
            }
        }
        ListingPage {
            items,
            has_next_page,
        }
    }
}
