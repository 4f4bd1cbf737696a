//! Output types of one trajectory: summary, timeline, corrected history, stored events.
//!
//! Most are thin wrappers around the projections' own structs, so a figure is defined once (in
//! `jeugdpad-projections`) and only renamed here.

use async_graphql::{Context, Json, Object, ID};
use jeugdpad_app::Readable;
use jeugdpad_domain::{self as d, Event, SubjectKey, TrajectoryId};
use jeugdpad_projections::{self as p, AsOf, Projections};

use super::allowed::{AllowedStep, WaitOfTrajectory};
use super::enums::{CloseReason, EventType, Level, Phase, Source, Urgency};
use super::errors::{ApiError, ApiResult};
use super::scalars::{Date, DateTime};
use super::RequestId;
use crate::state::AppState;

/// Een traject as one moment sees it: its summary, timeline and corrected history, all taken
/// from one consistent snapshot of the read models.
#[derive(Debug)]
pub(crate) struct Trajectory {
    id: TrajectoryId,
    as_of: AsOf,
    summary: Option<p::Summary>,
    timeline: p::Timeline,
    /// The installation's norms, for the trajectory's own waits.
    norms: p::Norms,
}

/// What a reason reads after its subject was erased.
const ERASED: &str = "[gewist]";
/// What a reason reads when its sealed text does not open (damage).
const UNREADABLE: &str = "[onleesbaar]";

impl Trajectory {
    /// The youth's pseudonym (from the summary at `asOf`).
    fn subject(&self) -> Option<SubjectKey> {
        self.summary.as_ref().map(|s| s.subject_key.clone())
    }

    /// The snapshot of `id` as of `as_of` (the timeline reads the trajectory's stream from the
    /// store; see [`AppState::look_up`]); `None` when the trajectory is unknown (or was not
    /// recorded yet at the knownOn instant).
    pub(crate) async fn fetch(
        state: &AppState,
        id: TrajectoryId,
        as_of: AsOf,
        request: Option<uuid::Uuid>,
    ) -> ApiResult<Option<Self>> {
        state
            .look_up(move |p| Trajectory::load(p, id, as_of))
            .await
            .map_err(|e| ApiError::internal("the trajectory could not be read", &e, request))
    }

    /// [`Trajectory::fetch`] on a read lock already held.
    fn load(projections: &Projections, id: TrajectoryId, as_of: AsOf) -> Option<Self> {
        let timeline = projections.timeline(id, Some(as_of.date), as_of.known_on)?;
        if timeline.facts.is_empty() {
            return None;
        }
        Some(Trajectory {
            id,
            as_of,
            summary: projections.summary(id, as_of),
            timeline,
            norms: projections.norms(),
        })
    }
}

/// Een jeugdhulptraject.
#[Object(name = "Trajectory")]
impl Trajectory {
    /// The trajectory id (its stream is `trajectory-<id>`).
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The stream version: how many events it holds (as known at `knownOn`). Pass it as
    /// `expectedVersion` to record only if nobody changed the trajectory in between.
    async fn version(&self) -> u64 {
        self.timeline
            .facts
            .iter()
            .map(|f| f.version)
            .max()
            .unwrap_or(0)
    }

    /// The reference date this view was taken at.
    async fn as_of(&self) -> Date {
        self.as_of.date.into()
    }

    /// The knownOn instant of this view, when one was asked.
    async fn known_on(&self) -> Option<DateTime> {
        self.as_of.known_on.map(DateTime)
    }

    /// Where the trajectory stands at `asOf`; null when it was not signalled by then.
    async fn summary(&self) -> Option<TrajectorySummary> {
        self.summary.clone().map(TrajectorySummary)
    }

    /// Every recorded event in recording order, corrections and retractions shown as such.
    async fn timeline(&self) -> Vec<TimelineEntry> {
        self.timeline
            .facts
            .iter()
            .cloned()
            .map(|fact| TimelineEntry(fact, self.subject()))
            .collect()
    }

    /// The corrected history (corrections applied, retracted steps left out), ordered by
    /// (occurredOn, version), up to `asOf`. Every figure counts this history.
    async fn history(&self) -> Vec<HistoryEntry> {
        self.timeline
            .effective()
            .into_iter()
            .map(HistoryEntry)
            .collect()
    }

    /// The raw stored events of this trajectory's stream, with their full envelopes.
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StoredEvent>> {
        Ok(stored_events(ctx, self.id).await?)
    }

    /// The steps the rules allow now, each with the choices its form needs (docs/rules.md):
    /// the domain's one answer, which the web app's buttons show too. Taken from every step
    /// recorded (by `knownOn`, when asked), whatever `asOf`: it is about what can be recorded
    /// today. A closed trajectory allows only corrections and retractions.
    async fn allowed_steps(&self) -> Vec<AllowedStep> {
        d::allowed_steps(&self.domain())
            .into_iter()
            .map(AllowedStep)
            .collect()
    }

    /// Every wait of this trajectory that started by `asOf`, with its status there, its days
    /// and the norm applied (docs/figures.md §3): the very waits the waiting-time report and the
    /// open-waits list count for it.
    async fn waits(&self) -> Vec<WaitOfTrajectory> {
        p::trajectory_figures_of(self.id, &self.domain(), self.as_of.date, &self.norms)
            .map(|figures| {
                figures
                    .waits
                    .into_iter()
                    .map(|wait| WaitOfTrajectory::new(wait, &self.norms))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The signal's birth year, when it gave one (as corrected).
    async fn birth_year(&self) -> Option<i32> {
        self.domain().signal().and_then(|s| s.details.birth_year)
    }
}

impl Trajectory {
    /// The domain's trajectory from the facts of this view (recorded by `knownOn`).
    fn domain(&self) -> d::Trajectory {
        d::Trajectory::from_facts(self.timeline.recorded())
    }
}

/// Reads one stream from the store, off the async workers.
pub(crate) async fn stored_events(
    ctx: &Context<'_>,
    id: TrajectoryId,
) -> Result<Vec<StoredEvent>, ApiError> {
    let state = ctx.data_unchecked::<AppState>();
    let request_id = ctx.data_opt::<RequestId>().map(|r| r.0);
    let store = std::sync::Arc::clone(&state.store);
    let stream = id.stream_id();
    let read = tokio::task::spawn_blocking(move || {
        jeugdpad_store::EventStore::read_stream(&*store, &stream)
    })
    .await;
    let failed = |detail: &dyn std::fmt::Display| {
        ApiError::internal(
            "something went wrong on our side while reading the events; please try again",
            detail,
            request_id,
        )
    };
    match read {
        Ok(Ok(events)) => Ok(events.into_iter().map(StoredEvent).collect()),
        Ok(Err(error)) => Err(failed(&error)),
        Err(join) => Err(failed(&join)),
    }
}

/// Samenvatting: where one trajectory stands at the reference date.
#[derive(Debug, Clone)]
pub(crate) struct TrajectorySummary(pub(crate) p::Summary);

/// Samenvatting: where one trajectory stands at the reference date.
#[Object]
impl TrajectorySummary {
    /// The trajectory id.
    async fn trajectory_id(&self) -> ID {
        ID(self.0.trajectory.to_string())
    }
    /// Its phase.
    async fn phase(&self) -> Phase {
        self.0.phase.into()
    }
    /// The owning team.
    async fn team(&self) -> &str {
        self.0.team.as_str()
    }
    /// The responsible consultant, once assigned.
    async fn consultant(&self) -> Option<&str> {
        self.0.consultant.as_ref().map(d::UserId::as_str)
    }
    /// The youth's pseudonymous subject key.
    async fn subject_key(&self) -> &str {
        self.0.subject_key.as_str()
    }
    /// When the signal came in.
    async fn signal_on(&self) -> Date {
        self.0.signal_on.into()
    }
    /// Who raised the signal.
    async fn source(&self) -> Source {
        self.0.source.into()
    }
    /// The signal's urgency.
    async fn urgency(&self) -> Urgency {
        self.0.urgency.into()
    }
    /// The highest level among open help episodes (NONE when none is open).
    async fn current_level(&self) -> Level {
        self.0.current_level.into()
    }
    /// The highest level of any help started.
    async fn highest_level(&self) -> Level {
        self.0.highest_level.into()
    }
    /// How many help starts were escalations.
    async fn escalations(&self) -> usize {
        self.0.escalations
    }
    /// How many help starts were step-downs.
    async fn step_downs(&self) -> usize {
        self.0.step_downs
    }
    /// Days from the signal to the closure, or to the reference date while open.
    async fn pathway_days(&self) -> i64 {
        self.0.pathway_days
    }
    /// How many help episodes are open.
    async fn open_episodes(&self) -> usize {
        self.0.open_episodes
    }
    /// When it closed.
    async fn closed_on(&self) -> Option<Date> {
        self.0.closed_on.map(Date)
    }
    /// Why it closed.
    async fn close_reason(&self) -> Option<CloseReason> {
        self.0.close_reason.map(Into::into)
    }
    /// Whether any wait is open.
    async fn waiting(&self) -> bool {
        self.0.waiting
    }
    /// Whether the trajectory breached a norm by the reference date: an open wait already over
    /// its norm, or a closed wait that took longer than its norm.
    async fn norm_breach(&self) -> bool {
        self.0.norm_breach
    }
}

/// Eén gebeurtenis op de tijdlijn, as recorded.
#[derive(Debug, Clone)]
pub(crate) struct TimelineEntry(p::TimelineFact, Option<SubjectKey>);

/// Eén gebeurtenis op de tijdlijn, as recorded; corrections and retractions are entries of their own.
#[Object]
impl TimelineEntry {
    /// Global log position.
    async fn position(&self) -> u64 {
        self.0.position
    }
    /// Stream version.
    async fn version(&self) -> u64 {
        self.0.version
    }
    /// The event id (corrections and retractions name it).
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    /// The event type.
    async fn r#type(&self) -> EventType {
        self.0.event.kind().into()
    }
    /// The Dutch label of the event type.
    async fn label(&self) -> &'static str {
        self.0.event.kind().label_nl()
    }
    /// The date as recorded (a later correction may replace it; see `history`).
    async fn occurred_on(&self) -> Date {
        self.0.occurred_on.into()
    }
    /// When the store accepted it.
    async fn recorded_at(&self) -> DateTime {
        self.0.recorded_at.into()
    }
    /// The payload as recorded (the stored JSON form).
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.event.encode().payload)
    }
    /// For a correction: the event it corrects.
    async fn corrects(&self) -> Option<ID> {
        match self.0.amends {
            Some(p::Amendment::Corrects(id)) => Some(ID(id.to_string())),
            _ => None,
        }
    }
    /// For a retraction: the event it retracts.
    async fn retracts(&self) -> Option<ID> {
        match self.0.amends {
            Some(p::Amendment::Retracts(id)) => Some(ID(id.to_string())),
            _ => None,
        }
    }
    /// For a correction or retraction: why it was made. Stored sealed under the youth's data
    /// key; after an erasure (AVG art. 17) this reads `[gewist]`.
    async fn reason(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let reason = match &self.0.event {
            Event::Corrected(c) => c.reason.clone(),
            Event::Retracted(r) => r.reason.clone(),
            Event::Step(_) => return Ok(None),
        };
        let Some(subject) = self.1.clone() else {
            return Ok(Some(ERASED.to_owned()));
        };
        let state = ctx.data_unchecked::<AppState>();
        let free_text = state.free_text.clone();
        let opened = tokio::task::spawn_blocking(move || free_text.open(&subject, &reason))
            .await
            .map_err(|e| ApiError::internal("the reason could not be read", &e, None))?
            .map_err(|e| ApiError::internal("the reason could not be read", &e, None))?;
        Ok(Some(match opened {
            Readable::Text(text) => text,
            Readable::Erased => ERASED.to_owned(),
            Readable::Unreadable => UNREADABLE.to_owned(),
        }))
    }
    /// For a step: the corrections of it, in recording order.
    async fn corrected_by(&self) -> Vec<ID> {
        self.0
            .corrected_by
            .iter()
            .map(|id| ID(id.to_string()))
            .collect()
    }
    /// For a step: the retraction of it, if any.
    async fn retracted_by(&self) -> Option<ID> {
        self.0.retracted_by.map(|id| ID(id.to_string()))
    }
}

/// Eén stap van de gecorrigeerde geschiedenis.
#[derive(Debug, Clone)]
pub(crate) struct HistoryEntry(d::EffectiveFact);

/// Eén stap van de gecorrigeerde geschiedenis: a step as every figure counts it.
#[Object]
impl HistoryEntry {
    /// The original event's id.
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    /// The original event's version (orders steps of one day).
    async fn version(&self) -> u64 {
        self.0.version
    }
    /// The step's type.
    async fn r#type(&self) -> EventType {
        self.0.step.kind().into()
    }
    /// The Dutch label of the step's type.
    async fn label(&self) -> &'static str {
        self.0.step.kind().label_nl()
    }
    /// The date it counts with (the latest correction's, or the original).
    async fn occurred_on(&self) -> Date {
        self.0.occurred_on.into()
    }
    /// The payload it counts with (the latest correction's, or the original).
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(Event::Step(self.0.step.clone()).encode().payload)
    }
    /// The corrections applied to it.
    async fn corrected_by(&self) -> Vec<ID> {
        self.0
            .corrected_by
            .iter()
            .map(|id| ID(id.to_string()))
            .collect()
    }
}

/// Een opgeslagen gebeurtenis with its full envelope, exactly as stored (docs/export-columns.md).
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent(jeugdpad_store::RecordedEvent);

/// Een opgeslagen gebeurtenis with its full envelope, exactly as stored (docs/export-columns.md).
#[Object]
impl StoredEvent {
    /// Global position.
    async fn position(&self) -> u64 {
        self.0.position
    }
    /// The stream.
    async fn stream_id(&self) -> &str {
        &self.0.stream_id
    }
    /// Stream version.
    async fn version(&self) -> u64 {
        self.0.version
    }
    /// The event id.
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    /// The stored type code, e.g. `help_started`.
    async fn r#type(&self) -> &str {
        &self.0.event_type
    }
    /// The payload's schema version (older versions are upcast when read).
    async fn schema_version(&self) -> u32 {
        self.0.schema_version
    }
    /// The day it happened in the world, as recorded.
    async fn occurred_on(&self) -> Date {
        self.0.occurred_on.into()
    }
    /// When the store accepted it.
    async fn recorded_at(&self) -> DateTime {
        self.0.recorded_at.into()
    }
    /// Who recorded it.
    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }
    /// The request that caused it.
    async fn correlation_id(&self) -> Option<ID> {
        self.0.correlation_id.map(|id| ID(id.to_string()))
    }
    /// The event that caused it.
    async fn causation_id(&self) -> Option<ID> {
        self.0.causation_id.map(|id| ID(id.to_string()))
    }
    /// The stored payload.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
}
