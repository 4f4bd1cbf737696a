//! Vragen: every query reads the read models only (one read lock, one consistent snapshot), except
//! `events`, which reads one stream from the store off the async workers.
//!
//! Every figure takes a reference date `asOf` (default: today) and optionally a `knownOn`
//! instant: the figure exactly as the system could have shown it then (SPEC §4).

use std::collections::BTreeSet;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, OneofObject, ID};
use jeugdpad_access::{effective_team, Action};
use jeugdpad_domain::TeamCode;
use jeugdpad_projections::{
    AsOf, CohortQuery, ListingCursor, ListingQuery, OpenWaitCursor, OpenWaitsQuery, PgbQuery,
    Projections, WaitQuery,
};

use super::codes::CodeLists;
use super::enums::{CohortGrouping, HelpForm, Level, Measure, Phase, Source, WaitGrouping};
use super::errors::{ApiError, ApiResult};
use super::inputs;
use super::mutation::trajectory;
use super::reports::{
    Irregularity, ListFields, NormalisationReport, NormalisationTrend, OpenWait, PgbOverdueReport,
    ReportScope, WaitingTimeReport, WaitingTimeTrend,
};
use super::scalars::{Date, DateTime};
use super::types::{stored_events, StoredEvent, Trajectory, TrajectorySummary};
use super::RequestId;
use crate::gate::{allow, allow_trajectory, gate, About};
use crate::state::{read, AppState};

/// Largest page of `trajectories` and `openWaits`.
const MAX_PAGE: i32 = 500;
/// Page size when `first` is not given.
const DEFAULT_PAGE: i32 = 50;

/// Filters of the trajectory listing; all given filters must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub(crate) struct TrajectoryFilter {
    /// Owning team at the reference date.
    team: Option<String>,
    /// Phase at the reference date.
    phase: Option<Phase>,
    /// Current level: the highest level among open help episodes.
    level: Option<Level>,
    /// Highest level of any help started.
    highest_level: Option<Level>,
    /// Has (true) or has no (false) open wait.
    waiting: Option<bool>,
    /// Has (true) or has no (false) norm breach at the reference date: an open wait already
    /// over its norm, or a closed wait that took longer than its norm.
    norm_breach: Option<bool>,
    /// Responsible consultant.
    consultant: Option<String>,
}

/// An inclusive period.
#[derive(Debug, Clone, InputObject)]
pub(crate) struct DateRange {
    /// First day.
    from: Date,
    /// Last day (inclusive).
    to: Date,
}

/// How a normalisation cohort is drawn: exactly one of the two.
#[derive(Debug, Clone, OneofObject)]
pub(crate) enum CohortInput {
    /// Trajectories closed in the period.
    ClosedBetween(DateRange),
    /// Trajectories signalled in the period (open ones included).
    SignalledBetween(DateRange),
}

/// Every query.
#[derive(Debug, Default)]
pub struct CaseQuery;

/// Reading trajectories and figures. Reports take `asOf` (reference date, default today) and optionally `knownOn` (the report as the system could have shown it at that instant).
#[Object]
impl CaseQuery {
    /// One trajectory: summary, timeline, corrected history and raw events. `NOT_FOUND` when
    /// there is no such trajectory (or it was not recorded yet at `knownOn`).
    async fn trajectory(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<Date>,
        known_on: Option<DateTime>,
    ) -> async_graphql::Result<Trajectory> {
        let state = ctx.data_unchecked::<AppState>();
        let id = trajectory(&id)?;
        allow_trajectory(ctx, id).await?;
        let as_of = as_of_of(state, as_of, known_on);
        let request = ctx.data_opt::<RequestId>().map(|r| r.0);
        Trajectory::fetch(state, id, as_of, request)
            .await?
            .ok_or_else(|| ApiError::not_found("there is no trajectory with this id").into())
    }

    /// Trajectories in signal-date order (oldest first), filtered, as a Relay connection.
    /// Forward pagination only: pass the last `endCursor` as `after`. `scope` says which teams
    /// the list is limited to; `filter.team` must name a known team (`NOT_FOUND` otherwise).
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize * child_complexity"
    )]
    async fn trajectories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        as_of: Option<Date>,
        known_on: Option<DateTime>,
        filter: Option<TrajectoryFilter>,
    ) -> async_graphql::Result<Connection<String, TrajectorySummary, ListFields>> {
        let state = ctx.data_unchecked::<AppState>();
        let first = page("first", first)?;
        let filter = filter.unwrap_or_default();
        let mut query = ListingQuery::new(as_of_of(state, as_of, known_on), first);
        let scope = scope(ctx, "filter.team", filter.team, Reading::List).await?;
        query.team = scope.team;
        query.phase = filter.phase.map(Into::into);
        query.current_level = filter.level.map(Into::into);
        query.highest_level = filter.highest_level.map(Into::into);
        query.waiting = filter.waiting;
        query.norm_breach = filter.norm_breach;
        query.consultant = filter
            .consultant
            .map(|c| inputs::user("filter.consultant", c))
            .transpose()?;
        query.after = after
            .as_deref()
            .map(ListingCursor::decode)
            .transpose()
            .map_err(|e| ApiError::invalid("after", e))?;
        let paging = query.after.is_some();
        let listing = run(ctx, move |p| p.list(&query)).await?;
        let mut connection = Connection::with_additional_fields(
            paging,
            listing.has_next_page,
            ListFields {
                scope: scope.report,
            },
        );
        connection.edges.extend(
            listing
                .items
                .into_iter()
                .map(|item| Edge::new(item.cursor.encode(), TrajectorySummary(item.summary))),
        );
        Ok(connection)
    }

    /// Wachttijden: closed and open waits per measure with the norm applied (docs/figures.md §3).
    /// `scope` says which teams were counted: a team lead always gets their own team's figures;
    /// an analyst all teams' unless `team` names one, which must be a known team (`NOT_FOUND`
    /// with the known teams otherwise).
    #[allow(clippy::too_many_arguments)]
    async fn waiting_times(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        known_on: Option<DateTime>,
        measure: Option<Measure>,
        group_by: Option<WaitGrouping>,
        team: Option<String>,
        source: Option<Source>,
        form: Option<HelpForm>,
    ) -> async_graphql::Result<WaitingTimeReport> {
        let state = ctx.data_unchecked::<AppState>();
        let mut query = WaitQuery::new(as_of_of(state, as_of, known_on));
        query.measure = measure.map(Into::into);
        query.group_by = group_by.map(Into::into);
        let scope = scope(ctx, "team", team, Reading::Figures).await?;
        query.team = scope.team;
        query.source = source.map(Into::into);
        query.form = form.map(Into::into);
        let report = run(ctx, move |p| p.waiting_times(&query)).await?;
        Ok(WaitingTimeReport::new(report, scope.report))
    }

    /// Wachttijden per maand: for each of the last `months` months (default 24, at most 60) up
    /// to `asOf`, per measure: the waits that **ended in that month** (count, mean, median, p90,
    /// max, share within the norm) and the waits open, over the norm and abandoned at the
    /// month's last day (docs/figures.md §3.7). The same filters, grouping and `scope` as
    /// `waitingTimes`; counted from the read models' aggregates.
    #[allow(clippy::too_many_arguments)]
    async fn waiting_time_trend(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        months: Option<i32>,
        measure: Option<Measure>,
        group_by: Option<WaitGrouping>,
        team: Option<String>,
        source: Option<Source>,
        form: Option<HelpForm>,
    ) -> async_graphql::Result<WaitingTimeTrend> {
        let state = ctx.data_unchecked::<AppState>();
        let months = counted("months", months, 24, jeugdpad_projections::MAX_TREND_MONTHS)?;
        let mut query = WaitQuery::new(as_of_of(state, as_of, None));
        query.measure = measure.map(Into::into);
        query.group_by = group_by.map(Into::into);
        let scope = scope(ctx, "team", team, Reading::Figures).await?;
        query.team = scope.team;
        query.source = source.map(Into::into);
        query.form = form.map(Into::into);
        let trend = run(ctx, move |p| p.waiting_time_trend(&query, months)).await?;
        Ok(WaitingTimeTrend::new(trend, scope.report))
    }

    /// Lopende wachttijden: every wait open at `asOf`, longest first, as a Relay connection
    /// (`nodes` or `edges { cursor node }`, `pageInfo { endCursor hasNextPage }`). Pass the last
    /// `endCursor` as `after` for the next page: the cursor names a place in the order (start
    /// date, trajectory, measure, form), not a row number, so it stays valid when new waits
    /// appear or a day passes between pages, and no wait is listed twice. Equal lengths are
    /// ordered by trajectory id, then measure and form. `first`: page size (default 50, at most
    /// 500). `scope` says which team was listed: a consultant's or team lead's own.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize * child_complexity"
    )]
    async fn open_waits(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        known_on: Option<DateTime>,
        team: Option<String>,
        measure: Option<Measure>,
        breaches_only: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, OpenWait, ListFields>> {
        let state = ctx.data_unchecked::<AppState>();
        let mut query = OpenWaitsQuery::new(as_of_of(state, as_of, known_on));
        query.limit = Some(page("first", first)?);
        query.after = after
            .as_deref()
            .map(OpenWaitCursor::decode)
            .transpose()
            .map_err(|e| ApiError::invalid("after", e))?;
        let scope = scope(ctx, "team", team, Reading::List).await?;
        query.team = scope.team;
        query.measure = measure.map(Into::into);
        query.breaches_only = breaches_only.unwrap_or(false);
        let paging = query.after.is_some();
        let waits = run(ctx, move |p| p.open_waits_page(&query)).await?;
        let mut connection = Connection::with_additional_fields(
            paging,
            waits.has_next_page,
            ListFields {
                scope: scope.report,
            },
        );
        connection.edges.extend(
            waits
                .items
                .into_iter()
                .map(|item| Edge::new(item.cursor.encode(), OpenWait::from(item.wait))),
        );
        Ok(connection)
    }

    /// Normalisatie: outcomes of a cohort — light resolution, escalation, out-of-home, foster
    /// care prevented, recurrence within 12 months, pathway lengths (docs/figures.md §6). `scope` says
    /// which teams were counted (see `waitingTimes`).
    async fn normalisation(
        &self,
        ctx: &Context<'_>,
        cohort: CohortInput,
        as_of: Option<Date>,
        known_on: Option<DateTime>,
        group_by: Option<CohortGrouping>,
        team: Option<String>,
    ) -> async_graphql::Result<NormalisationReport> {
        let state = ctx.data_unchecked::<AppState>();
        let (kind, range) = match cohort {
            CohortInput::ClosedBetween(range) => (jeugdpad_projections::Cohort::Closed, range),
            CohortInput::SignalledBetween(range) => {
                (jeugdpad_projections::Cohort::Signalled, range)
            }
        };
        if range.to < range.from {
            return Err(ApiError::invalid("cohort", "the period ends before it starts").into());
        }
        let scope = scope(ctx, "team", team, Reading::Figures).await?;
        let query = CohortQuery {
            as_of: as_of_of(state, as_of, known_on),
            cohort: kind,
            from: range.from.0,
            to: range.to.0,
            group_by: group_by.map(Into::into),
            team: scope.team,
        };
        let report = run(ctx, move |p| p.normalisation(&query)).await?;
        Ok(NormalisationReport::new(report, scope.report))
    }

    /// Normalisatie per jaar: the outcomes of the cohorts closed in each of the last `years`
    /// calendar years (default 5, at most 20) up to and including `asOf`'s, each counted as of
    /// `asOf` (docs/figures.md §6.3). Grouping and `scope` as in `normalisation`.
    async fn normalisation_trend(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        years: Option<i32>,
        group_by: Option<CohortGrouping>,
        team: Option<String>,
    ) -> async_graphql::Result<NormalisationTrend> {
        let state = ctx.data_unchecked::<AppState>();
        let years = counted("years", years, 5, jeugdpad_projections::MAX_TREND_YEARS)?;
        let scope = scope(ctx, "team", team, Reading::Figures).await?;
        let d = as_of_of(state, as_of, None);
        let group_by = group_by.map(Into::into);
        let query = CohortQuery {
            as_of: d,
            cohort: jeugdpad_projections::Cohort::Closed,
            from: d.date,
            to: d.date,
            group_by,
            team: scope.team,
        };
        let years = run(ctx, move |p| p.normalisation_trend(&query, years)).await?;
        Ok(NormalisationTrend::new(
            d.date,
            group_by,
            years,
            scope.report,
        ))
    }

    /// Achterstallige pgb-controles: reviews past due without a result, with counts per team.
    /// `scope` says which team was counted: a consultant's or team lead's own.
    async fn pgb_overdue_reviews(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        known_on: Option<DateTime>,
        team: Option<String>,
    ) -> async_graphql::Result<PgbOverdueReport> {
        let state = ctx.data_unchecked::<AppState>();
        let scope = scope(ctx, "team", team, Reading::List).await?;
        let query = PgbQuery {
            as_of: as_of_of(state, as_of, known_on),
            team: scope.team,
        };
        let report = run(ctx, move |p| p.pgb_overdue(&query)).await?;
        Ok(PgbOverdueReport::new(report, scope.report))
    }

    /// Completed PGB reviews that suspected an irregularity (rechtmatigheid / care fraud).
    async fn pgb_irregularities(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        known_on: Option<DateTime>,
        team: Option<String>,
    ) -> async_graphql::Result<Vec<Irregularity>> {
        let state = ctx.data_unchecked::<AppState>();
        let query = PgbQuery {
            as_of: as_of_of(state, as_of, known_on),
            team: scope(ctx, "team", team, Reading::List).await?.team,
        };
        let list = run(ctx, move |p| p.pgb_irregularities(&query)).await?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    /// The raw stored events of one trajectory's stream, with their envelopes.
    async fn events(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
    ) -> async_graphql::Result<Vec<StoredEvent>> {
        let id = trajectory(&trajectory_id)?;
        allow_trajectory(ctx, id).await?;
        let events = stored_events(ctx, id).await?;
        if events.is_empty() {
            return Err(ApiError::not_found("there is no trajectory with this id").into());
        }
        Ok(events)
    }

    /// De trajecten van één jeugdige: the trajectories of one youth, by `subjectKey` or by `bsn`
    /// (POST only; turned into the subject key at once, never stored or logged), oldest first.
    /// Consultants and team leads see those of their own team; the lookup is in the access log.
    async fn subject_trajectories(
        &self,
        ctx: &Context<'_>,
        subject_key: Option<String>,
        bsn: Option<String>,
        as_of: Option<Date>,
    ) -> async_graphql::Result<Vec<TrajectorySummary>> {
        let subject = super::mutation::subject_of(ctx).resolve(subject_key, bsn)?;
        let team = effective_team(&gate(ctx)?.principal, None);
        let about = About {
            trajectory: None,
            subject: Some(subject.clone()),
        };
        allow(ctx, Action::ListTrajectories { team: team.clone() }, about).await?;
        let state = ctx.data_unchecked::<AppState>();
        let as_of = as_of_of(state, as_of, None);
        let found = run(ctx, move |p| p.subject_trajectories(&subject, as_of)).await?;
        Ok(found
            .into_iter()
            .filter(|summary| team.as_ref().is_none_or(|t| &summary.team == t))
            .map(TrajectorySummary)
            .collect())
    }

    /// The code lists with their Dutch labels, the ladder levels and national codes.
    async fn code_lists(&self) -> CodeLists {
        CodeLists
    }

    /// The server's today: the default reference date and the latest date a step may have.
    async fn today(&self, ctx: &Context<'_>) -> Date {
        ctx.data_unchecked::<AppState>().today().into()
    }
}

/// Runs a read-model query off the async workers (see [`AppState::query`]).
async fn run<T, F>(ctx: &Context<'_>, query: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Projections) -> T + Send + 'static,
{
    let state = ctx.data_unchecked::<AppState>();
    state.query(query).await.map_err(|error| {
        ApiError::internal(
            "something went wrong on our side while computing this; please try again",
            &error,
            ctx.data_opt::<RequestId>().map(|r| r.0),
        )
    })
}

fn as_of_of(state: &AppState, as_of: Option<Date>, known_on: Option<DateTime>) -> AsOf {
    AsOf {
        date: as_of.map_or_else(|| state.today(), |d| d.0),
        known_on: known_on.map(|t| t.0),
    }
}

/// What a report or list is about to read, for the gate.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// A list that names trajectories ([`Action::ListTrajectories`]).
    List,
    /// Aggregated figures ([`Action::Figures`]).
    Figures,
}

/// The teams one report or list counts: what the read-model query is limited to, and what the
/// answer says it counted.
struct Scope {
    /// `None`: every team.
    team: Option<TeamCode>,
    /// The answer's `scope`.
    report: ReportScope,
}

/// The one place every report and list decides which teams it counts (docs/security.md): the team asked
/// for (`field`), or a team-bound caller's own team when they name none, or all teams for an
/// analyst who names none. The gate decides first (so a refusal never depends on what exists);
/// then a team that was named must be one Jeugdpad knows — registered, or named by a
/// trajectory — or the answer is `NOT_FOUND` with the known teams: a mistyped team code must
/// not answer zeros. A known team without trajectories answers zeros: that is a real answer.
async fn scope(
    ctx: &Context<'_>,
    field: &'static str,
    asked: Option<String>,
    reading: Reading,
) -> ApiResult<Scope> {
    let asked = asked.map(|t| inputs::team(field, t)).transpose()?;
    let team = effective_team(&gate(ctx)?.principal, asked.clone());
    let action = match reading {
        Reading::List => Action::ListTrajectories { team: team.clone() },
        Reading::Figures => Action::Figures { team: team.clone() },
    };
    allow(ctx, action, About::default()).await?;
    let state = ctx.data_unchecked::<AppState>();
    if let Some(asked) = &asked {
        known_team(state, field, asked)?;
    }
    let report = match &team {
        Some(team) => ReportScope {
            all_teams: false,
            teams: vec![team.to_string()],
        },
        None => ReportScope {
            all_teams: true,
            teams: known_teams(state),
        },
    };
    Ok(Scope { team, report })
}

/// `NOT_FOUND`, listing the known teams, unless `team` is registered or named by a trajectory.
/// The message does not repeat the code asked for (a mistyped value may be anything).
fn known_team(state: &AppState, field: &'static str, team: &TeamCode) -> ApiResult<()> {
    // One lock at a time: the projector takes these two locks as a writer.
    let registered = state.auth.registry().has_team(team);
    if registered || read(&state.projections).names_team(team) {
        return Ok(());
    }
    let known = known_teams(state);
    let message = if known.is_empty() {
        format!("{field}: there is no team with this code; no teams have been added yet")
    } else {
        format!(
            "{field}: there is no team with this code; the teams are: {}",
            known.join(", ")
        )
    };
    Err(ApiError::not_found(message).on_field(field))
}

/// Every team Jeugdpad knows, sorted: the registry's and any other a trajectory names.
fn known_teams(state: &AppState) -> Vec<String> {
    let mut teams: BTreeSet<String> = state
        .auth
        .registry()
        .teams()
        .keys()
        .map(ToString::to_string)
        .collect();
    teams.extend(read(&state.projections).teams().map(ToString::to_string));
    teams.into_iter().collect()
}

/// A count argument (`months`, `years`): `default` when absent, `VALIDATION` outside 1..=`max`.
fn counted(field: &'static str, value: Option<i32>, default: u32, max: u32) -> ApiResult<u32> {
    let value = value.map_or(Ok(default), |v| u32::try_from(v).map_err(|_| ()));
    match value {
        Ok(v) if (1..=max).contains(&v) => Ok(v),
        _ => Err(ApiError::invalid(
            field,
            format!("give a number from 1 to {max}"),
        )),
    }
}

fn page(field: &'static str, first: Option<i32>) -> ApiResult<usize> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(ApiError::invalid(
            field,
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    Ok(usize::try_from(first).unwrap_or(1))
}
