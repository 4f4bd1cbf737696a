//! Mutaties: one per event of the catalogue (SPEC §2).
//!
//! Every mutation is the same four moves, in [`record`]: parse the input into a domain command
//! (`VALIDATION` on bad input, nothing written), `jeugdpad_app::record` (load, decide, append —
//! durable when it returns), wait until the read models include the append (read-your-writes),
//! and answer the new version with the trajectory as the read models now show it.
//!
//! Idempotent retries: a client that sends its own `eventId` can resend the same mutation after a
//! timeout; the second call records nothing and answers `alreadyRecorded: true` with the original
//! positions. `openTrajectory` derives the trajectory id from the `eventId` when none is given,
//! so a retried open lands in the same trajectory.

use async_graphql::{Context, Object, SimpleObject, ID};
use axum::http::Method;
use jeugdpad_access::Action;
use jeugdpad_app::{Context as RecordContext, Request};
use jeugdpad_domain::{Command, Correction, DateRule, EventId, Reason, Retraction, TrajectoryId};
use jeugdpad_projections::AsOf;
use uuid::Uuid;

use super::enums::{AssessmentConclusion, CloseReason, HelpForm, HelpResult};
use super::errors::{parse, ApiError, ApiResult};
use super::inputs::{
    self, DecisionInput, HelpStartInput, PgbInput, PgbReviewResultInput, SignalInput, StepInput,
    SubjectOf,
};
use super::scalars::Date;
use super::types::Trajectory;
use super::{RequestId, Transport};
use crate::gate::{gate, permit, permit_trajectory, About, Pending};
use crate::state::AppState;

/// Namespace of trajectory ids derived from a client's event id (UUID v5), so a retried
/// `openTrajectory` without a trajectory id still lands in one trajectory.
const OPEN_NAMESPACE: Uuid = Uuid::from_u128(0x6a65_7567_6470_6164_8000_0000_0000_0001);

/// What a mutation recorded.
#[derive(Debug, SimpleObject)]
pub(crate) struct RecordPayload {
    /// The trajectory.
    trajectory_id: ID,
    /// The stream version after this step: pass it as `expectedVersion` next time.
    version: u64,
    /// Global position of the (last) recorded event.
    position: u64,
    /// True when this was a retry of a step already recorded with the same `eventId`: nothing
    /// new was written.
    already_recorded: bool,
    /// The recorded event's id (the original one on a retry): corrections and retractions
    /// name it.
    event_id: ID,
    /// The recorded event's id, as a list of one.
    #[graphql(deprecation = "every step records exactly one event: use eventId")]
    event_ids: Vec<ID>,
    /// The trajectory as it stands now, including this step.
    trajectory: Option<Trajectory>,
}

/// Every mutation.
#[derive(Debug, Default)]
pub struct CaseMutation;

/// Recording steps: one mutation per event of the catalogue. Each answers the new stream version and the trajectory including the step.
#[Object]
impl CaseMutation {
    /// Opens a trajectory from a signal (signaal ontvangen). Without `trajectoryId` the server
    /// chooses one (derived from `eventId` when given, so a retry is idempotent).
    async fn open_trajectory(
        &self,
        ctx: &Context<'_>,
        signal: SignalInput,
        occurred_on: Date,
        trajectory_id: Option<ID>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let event = event_uuid(event_id)?;
        let id = match (trajectory_id, event) {
            (Some(id), _) => trajectory(&id)?,
            (None, Some(event)) => {
                TrajectoryId::from_uuid(Uuid::new_v5(&OPEN_NAMESPACE, event.as_bytes()))
            }
            (None, None) => TrajectoryId::from_uuid(Uuid::now_v7()),
        };
        let signal = signal.into_domain(&subject_of(ctx))?;
        let pending = permit(
            ctx,
            Action::Record {
                owner: signal.team.clone(),
            },
            About::trajectory(id, Some(signal.subject_key.clone())),
        )
        .await?;
        let command = Command::OpenFromSignal {
            occurred_on: occurred_on.0,
            signal,
        };
        // No expected version: an existing id is refused by the domain with a clear message
        // ("already opened"), not as a version conflict.
        Ok(record(ctx, pending, id, command, None, event).await?)
    }

    /// Assigns a consultant (consulent toegewezen).
    async fn assign_consultant(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        consultant: String,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::AssignConsultant {
            occurred_on: occurred_on.0,
            consultant: inputs::user("consultant", consultant)?,
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Transfers the trajectory to another team, which owns it from then on. The owning team's
    /// consultants and its team lead may.
    async fn transfer_team(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        team: String,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let team = inputs::team("team", team)?;
        let known = ctx
            .data_unchecked::<AppState>()
            .auth
            .registry()
            .has_team(&team);
        if !known {
            return Err(ApiError::invalid(
                "team",
                format!("there is no team '{team}'; an administrator adds teams"),
            )
            .into());
        }
        let command = Command::TransferTeam {
            occurred_on: occurred_on.0,
            team,
        };
        let id = trajectory(&trajectory_id)?;
        let event = event_uuid(event_id)?;
        let (_, pending) = permit_trajectory(ctx, id, |owner| Action::Transfer { owner }).await?;
        Ok(record(ctx, pending, id, command, expected_version, event).await?)
    }

    /// Records a completed assessment (onderzoek / keukentafelgesprek).
    async fn complete_assessment(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        conclusion: AssessmentConclusion,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::CompleteAssessment {
            occurred_on: occurred_on.0,
            conclusion: conclusion.into(),
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Records a request for a form of help (aanvraag); starts the decision clock.
    async fn request_help(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        form: HelpForm,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::RequestHelp {
            occurred_on: occurred_on.0,
            form: form.into(),
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Records a decision (beschikking) answering the earliest open request of its form.
    async fn issue_decision(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        decision: DecisionInput,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::IssueDecision {
            occurred_on: occurred_on.0,
            decision: decision.into_domain()?,
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Records the start of help (a new help episode).
    async fn start_help(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        help: HelpStartInput,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::StartHelp {
            occurred_on: occurred_on.0,
            help: help.into_domain()?,
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Records the end of a help episode.
    #[allow(clippy::too_many_arguments)]
    async fn end_help(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        episode_id: String,
        result: HelpResult,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::EndHelp {
            occurred_on: occurred_on.0,
            episode_id: inputs::episode(episode_id)?,
            result: result.into(),
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Records a granted personal budget (pgb).
    async fn grant_pgb(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        pgb: PgbInput,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::GrantPgb {
            occurred_on: occurred_on.0,
            pgb: pgb.into_domain()?,
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Schedules a PGB review (proactive quality and rechtmatigheid check).
    async fn schedule_pgb_review(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        due_on: Date,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::SchedulePgbReview {
            occurred_on: occurred_on.0,
            due_on: due_on.0,
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Records the outcome of the earliest open PGB review.
    async fn complete_pgb_review(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        review: PgbReviewResultInput,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::CompletePgbReview {
            occurred_on: occurred_on.0,
            review: review.into_domain(),
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Closes the trajectory (no help episode may still be open).
    async fn close_trajectory(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        reason: CloseReason,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let command = Command::Close {
            occurred_on: occurred_on.0,
            reason: reason.into(),
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Corrects an earlier step: a new date (`replacementOccurredOn`), a new payload
    /// (`replacement`, of the same type), or both. The stream keeps the original; every figure
    /// counts the correction. `occurredOn` is the day the correction is made.
    #[allow(clippy::too_many_arguments)]
    async fn correct_event(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        corrects: ID,
        reason: String,
        replacement_occurred_on: Option<Date>,
        replacement: Option<StepInput>,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let correction = Correction {
            corrects: parse("corrects", EventId::parse(&corrects))?,
            occurred_on: replacement_occurred_on.map(|d| d.0),
            payload: replacement
                .map(|step| step.into_domain(&subject_of(ctx)))
                .transpose()?,
            reason: parse("reason", Reason::parse(reason))?,
        };
        let command = Command::CorrectEvent {
            occurred_on: occurred_on.0,
            correction,
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }

    /// Retracts an earlier step that did not happen (recorded in error, wrong file). It stays
    /// in the stream but no longer counts anywhere.
    #[allow(clippy::too_many_arguments)]
    async fn retract_event(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        occurred_on: Date,
        retracts: ID,
        reason: String,
        expected_version: Option<u64>,
        event_id: Option<ID>,
    ) -> async_graphql::Result<RecordPayload> {
        let retraction = Retraction {
            retracts: parse("retracts", EventId::parse(&retracts))?,
            reason: parse("reason", Reason::parse(reason))?,
        };
        let command = Command::RetractEvent {
            occurred_on: occurred_on.0,
            retraction,
        };
        step(ctx, &trajectory_id, command, expected_version, event_id).await
    }
}

/// A step in an existing trajectory.
async fn step(
    ctx: &Context<'_>,
    trajectory_id: &ID,
    command: Command,
    expected_version: Option<u64>,
    event_id: Option<ID>,
) -> async_graphql::Result<RecordPayload> {
    let id = trajectory(trajectory_id)?;
    let event = event_uuid(event_id)?;
    let (_, pending) = permit_trajectory(ctx, id, |owner| Action::Record { owner }).await?;
    Ok(record(ctx, pending, id, command, expected_version, event).await?)
}

/// Load, decide, append, and log the outcome (`pending`: the access the gate granted); then
/// wait for the read models and answer from them.
async fn record(
    ctx: &Context<'_>,
    pending: Pending,
    id: TrajectoryId,
    command: Command,
    expected_version: Option<u64>,
    event_id: Option<Uuid>,
) -> ApiResult<RecordPayload> {
    let state = ctx.data_unchecked::<AppState>();
    let request_id = ctx.data_opt::<RequestId>().map(|r| r.0);
    let caller = gate(ctx)?;
    let today = state.today();
    let request = Request {
        trajectory: id,
        command,
        expected_version,
        event_id,
    };
    let context = RecordContext {
        recorded_by: caller.principal.user().to_string(),
        today,
        dates: DateRule::default(),
        correlation_id: request_id,
    };
    let recorded = jeugdpad_app::record(&state.store, &state.free_text, &request, &context)
        .await
        .map_err(|error| ApiError::from_record(error, request_id));
    let recorded = pending.settle(state, recorded).await?;
    let outcome = recorded.outcome;
    if !outcome.already_stored {
        state.metrics.appended.inc();
    }
    // The access-log entry came after the step: wait for the read models to pass it too, so
    // that what this answer reports (and `/health`) is the store as this request left it.
    let written = outcome.last_position.max(state.store_head());
    if !state.wait_applied(written).await {
        // Recorded and durable, only not visible yet: say exactly that, so nobody records it twice.
        return Err(ApiError::internal(
            &format!(
                "the step was recorded (version {}), but the overviews are not up to date yet; \
                 reload the trajectory in a moment instead of recording it again",
                outcome.stream_version
            ),
            &"the read models did not reach the append's position in time",
            request_id,
        ));
    }
    let as_of = AsOf::date(today);
    let trajectory = Trajectory::fetch(state, id, as_of, request_id).await?;
    Ok(RecordPayload {
        trajectory_id: ID(id.to_string()),
        version: outcome.stream_version,
        position: outcome.last_position,
        already_recorded: outcome.already_stored,
        event_id: ID(recorded.event_id.to_string()),
        event_ids: vec![ID(recorded.event_id.to_string())],
        trajectory,
    })
}

/// How this request turns a `bsn` into a subject key.
pub(crate) fn subject_of<'a>(ctx: &Context<'a>) -> SubjectOf<'a> {
    SubjectOf {
        secret: &ctx.data_unchecked::<AppState>().secret,
        in_body: ctx
            .data_opt::<Transport>()
            .is_some_and(|t| t.0 != Method::GET),
    }
}

pub(crate) fn trajectory(id: &ID) -> ApiResult<TrajectoryId> {
    parse("trajectoryId", TrajectoryId::parse(id))
}

fn event_uuid(id: Option<ID>) -> ApiResult<Option<Uuid>> {
    id.map(|id| parse("eventId", EventId::parse(&id)).map(|e| e.as_uuid()))
        .transpose()
}
