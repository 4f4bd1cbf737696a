//! Mijn caseload: a team's open trajectories as a consultant's worklist — searchable, sortable
//! and paged on the server, so a team of thousands of open cases costs one request, one look
//! at the read models and one access-log entry, and a page carries fifty rows, not thousands.
//!
//! Every figure comes from the read models' own definitions: the summary of each trajectory
//! (`Projections::list`) and the open waits with their norms (`Projections::open_waits`); this
//! module only joins, filters, sorts and cuts them.

use std::cmp::Ordering;
use std::collections::HashMap;

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::NaiveDate;
use jeugdpad_access::{effective_team, Action};
use jeugdpad_domain::{Phase as DomainPhase, TrajectoryId};
use jeugdpad_projections::{AsOf, ListingQuery, OpenWaitsQuery};

use super::enums::{Measure, Phase};
use super::errors::ApiError;
use super::reports::ReportScope;
use super::scalars::Date;
use super::types::TrajectorySummary;
use crate::gate::{allow, gate, About};
use crate::state::AppState;

/// Largest page of `caseload`.
const MAX_PAGE_SIZE: i32 = 200;
/// Rows per page when `pageSize` is not given.
const DEFAULT_PAGE_SIZE: i32 = 50;

/// The order of the caseload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
pub(crate) enum CaseloadSort {
    /// What needs action first: most open norm breaches, then the nearest deadline (the day an
    /// open wait reaches its norm), then the longest since the signal.
    #[default]
    Attention,
    /// Longest since the signal first.
    DaysSinceSignal,
    /// Nearest deadline first; trajectories without one last.
    Deadline,
    /// By phase (signalled, assessed, in help, help ended), then longest since the signal.
    Phase,
    /// By subject key (pseudonym), alphabetically.
    SubjectKey,
}

/// One row of the caseload.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct CaseloadRow {
    /// Where the trajectory stands.
    summary: TrajectorySummary,
    /// Days from the signal to the reference date.
    days_since_signal: i64,
    /// Open waits (docs/figures.md §3).
    open_waits: usize,
    /// Open waits already over their norm.
    open_breaches: usize,
    /// The earliest day an open wait with a norm reaches it (start + norm): the next deadline.
    /// In the past when a wait is already over its norm.
    next_deadline: Option<Date>,
    /// The measure of that wait.
    next_deadline_measure: Option<Measure>,
}

/// One page of a team's open trajectories.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct Caseload {
    /// The reference date.
    as_of: Date,
    /// Which team was listed: the caller's own.
    scope: ReportScope,
    /// Open trajectories matching the filters, on all pages.
    total: usize,
    /// This page (1 = first).
    page: usize,
    /// Rows per page.
    page_size: usize,
    /// The rows of this page.
    rows: Vec<CaseloadRow>,
}

/// The consultant's and team lead's worklist.
#[derive(Debug, Default)]
pub struct CaseloadQuery;

/// What a wait contributes to its trajectory's row.
#[derive(Default)]
struct Waits {
    open: usize,
    breaches: usize,
    deadline: Option<(NaiveDate, jeugdpad_projections::Measure)>,
}

#[Object]
impl CaseloadQuery {
    /// Mijn caseload: the open trajectories of the caller's own team (consultants and team
    /// leads) at `asOf` (default today), with their open waits, breaches and next deadline;
    /// filtered, sorted and cut into pages here. `search` finds subject keys (pseudonyms) and
    /// trajectory ids containing the text (case-insensitive; never a BSN: look a youth up by
    /// BSN with `subjectTrajectories`). `mine`: only those the caller is the consultant of.
    /// `page` counts from 1; a page past the end is empty. Written to the access log as one
    /// list of the team's trajectories.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "page_size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize * child_complexity"
    )]
    async fn caseload(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        search: Option<String>,
        mine: Option<bool>,
        phase: Option<Phase>,
        breaches_only: Option<bool>,
        sort: Option<CaseloadSort>,
        page: Option<i32>,
        page_size: Option<i32>,
    ) -> async_graphql::Result<Caseload> {
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(ApiError::invalid(
                "pageSize",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            )
            .into());
        }
        let page = page.unwrap_or(1);
        if page < 1 {
            return Err(ApiError::invalid("page", "pages count from 1").into());
        }
        let principal = gate(ctx)?.principal.clone();
        let team = effective_team(&principal, None);
        allow(
            ctx,
            Action::ListTrajectories { team: team.clone() },
            About::default(),
        )
        .await?;
        let state = ctx.data_unchecked::<AppState>();
        let as_of = AsOf::date(as_of.map_or_else(|| state.today(), |d| d.0));
        let me = principal.user().clone();
        let search = search
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        let sort = sort.unwrap_or_default();
        let phase = phase.map(DomainPhase::from);
        let listing_team = team.clone();
        let found = state
            .query(move |p| {
                let mut listing = ListingQuery::new(as_of, usize::MAX);
                listing.team = listing_team.clone();
                listing.phase = phase;
                if mine == Some(true) {
                    listing.consultant = Some(me);
                }
                let summaries = p.list(&listing).items;
                let mut waits_query = OpenWaitsQuery::new(as_of);
                waits_query.team = listing_team;
                let mut waits: HashMap<TrajectoryId, Waits> = HashMap::new();
                for wait in p.open_waits(&waits_query) {
                    let entry = waits.entry(wait.trajectory).or_default();
                    entry.open += 1;
                    entry.breaches += usize::from(wait.breach);
                    if let Some(norm) = wait.norm_days {
                        let due = wait.started_on + chrono::Duration::days(norm);
                        if entry.deadline.is_none_or(|(d, _)| due < d) {
                            entry.deadline = Some((due, wait.measure));
                        }
                    }
                }
                let mut rows: Vec<(CaseloadRow, String)> = summaries
                    .into_iter()
                    .map(|item| item.summary)
                    .filter(|s| s.phase != DomainPhase::Closed)
                    .filter(|s| {
                        search.as_deref().is_none_or(|text| {
                            s.subject_key.as_str().to_lowercase().contains(text)
                                || s.trajectory.to_string().contains(text)
                        })
                    })
                    .map(|s| {
                        let w = waits.remove(&s.trajectory).unwrap_or_default();
                        let key = s.subject_key.as_str().to_lowercase();
                        let row = CaseloadRow {
                            days_since_signal: (as_of.date - s.signal_on).num_days(),
                            open_waits: w.open,
                            open_breaches: w.breaches,
                            next_deadline: w.deadline.map(|(d, _)| Date(d)),
                            next_deadline_measure: w.deadline.map(|(_, m)| m.into()),
                            summary: TrajectorySummary(s),
                        };
                        (row, key)
                    })
                    .filter(|(row, _)| breaches_only != Some(true) || row.open_breaches > 0)
                    .collect();
                rows.sort_by(|a, b| order(sort, a, b));
                rows
            })
            .await
            .map_err(|error| {
                ApiError::internal(
                    "something went wrong on our side while listing the caseload; please try again",
                    &error,
                    None,
                )
            })?;
        let total = found.len();
        let size = usize::try_from(page_size).unwrap_or(1);
        let skip = usize::try_from(page - 1).unwrap_or(0).saturating_mul(size);
        let rows = found
            .into_iter()
            .skip(skip)
            .take(size)
            .map(|(row, _)| row)
            .collect();
        Ok(Caseload {
            as_of: as_of.date.into(),
            scope: ReportScope {
                all_teams: false,
                teams: team.iter().map(ToString::to_string).collect(),
            },
            total,
            page: usize::try_from(page).unwrap_or(1),
            page_size: size,
            rows,
        })
    }
}

/// The caseload's order for `sort`; ties by trajectory id, so pages never overlap.
fn order(sort: CaseloadSort, a: &(CaseloadRow, String), b: &(CaseloadRow, String)) -> Ordering {
    let (x, y) = (&a.0, &b.0);
    // `None` deadlines last.
    let deadline = |r: &CaseloadRow| r.next_deadline.map_or(NaiveDate::MAX, |d| d.0);
    let primary = match sort {
        CaseloadSort::Attention => y
            .open_breaches
            .cmp(&x.open_breaches)
            .then_with(|| deadline(x).cmp(&deadline(y)))
            .then_with(|| y.days_since_signal.cmp(&x.days_since_signal)),
        CaseloadSort::DaysSinceSignal => y.days_since_signal.cmp(&x.days_since_signal),
        CaseloadSort::Deadline => deadline(x)
            .cmp(&deadline(y))
            .then_with(|| y.days_since_signal.cmp(&x.days_since_signal)),
        CaseloadSort::Phase => x
            .summary
            .0
            .phase
            .cmp(&y.summary.0.phase)
            .then_with(|| y.days_since_signal.cmp(&x.days_since_signal)),
        CaseloadSort::SubjectKey => a.1.cmp(&b.1),
    };
    primary.then_with(|| x.summary.0.trajectory.cmp(&y.summary.0.trajectory))
}
