//! Vastleggen: load a trajectory, decide a command, encode the fact, append it.

use std::sync::Arc;

use chrono::NaiveDate;
use jeugdpad_domain::{
    decide, Command, Correction, DateRule, DecodeError, DomainError, EventId, RecordedFact,
    Retraction, Trajectory, TrajectoryId,
};
use jeugdpad_store::{
    AppendOutcome, EventStore, ExpectedVersion, ProposedEvent, RecordedEvent, StoreError,
};
use uuid::Uuid;

use crate::code::ErrorCode;
use crate::feed::to_fact;
use crate::free_text::FreeText;

/// How often a command without an expected version is decided again after another writer got
/// in first. The client did not pin a version, so deciding on the newer state is what it asked.
const CONFLICT_RETRIES: usize = 3;

/// Who records, when, and on behalf of which request: what the envelope carries besides the
/// fact itself.
#[derive(Debug, Clone)]
pub struct Context {
    /// The authenticated user (stored as `recorded_by`).
    pub recorded_by: String,
    /// Today's date in the municipality ([`crate::Clock::today`]): the domain refuses steps
    /// dated after it.
    pub today: NaiveDate,
    /// The bounds of a plausible date ([`DateRule::default`] unless an installation sets its
    /// own).
    pub dates: DateRule,
    /// The request that caused this, for tracing.
    pub correlation_id: Option<Uuid>,
}

/// One command for one trajectory, as a client sends it.
#[derive(Debug, Clone)]
pub struct Request {
    pub trajectory: TrajectoryId,
    pub command: Command,
    /// The version the client saw; a different current version is a conflict.
    pub expected_version: Option<u64>,
    /// A client-chosen id for the new event, which makes a retry idempotent.
    pub event_id: Option<Uuid>,
}

/// A step that is durable in its trajectory's stream.
#[derive(Debug, Clone)]
pub struct RecordedStep {
    pub outcome: AppendOutcome,
    /// The id of the event the command produced (the original one on an idempotent retry).
    pub event_id: Uuid,
    /// The trajectory as it stands after the append.
    pub trajectory: Trajectory,
}

/// Why a command was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The domain refused the command: the user's mistake, explained in its message.
    #[error(transparent)]
    Rejected(#[from] DomainError),
    /// Someone else recorded a step in this trajectory first; reload and try again.
    #[error(
        "this trajectory changed in the meantime (you saw version {expected}, it is now at \
         version {actual}); reload it and try again"
    )]
    Conflict { expected: u64, actual: u64 },
    /// The event id was already used for a different step.
    #[error("event id {0} was already used for another step; use a new id for a new step")]
    EventIdReused(Uuid),
    /// A stored event could not be read back: a bug or damage, never the user's fault.
    #[error("stored event at position {position} could not be read: {source}")]
    Undecodable {
        position: u64,
        #[source]
        source: DecodeError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl RecordError {
    /// The stable code clients see (GraphQL `extensions.code`).
    pub fn code(&self) -> ErrorCode {
        match self {
            // Steps for a trajectory that was never opened: there is no such trajectory.
            RecordError::Rejected(DomainError::NotOpened) => ErrorCode::NotFound,
            RecordError::Rejected(error) => error.kind().into(),
            RecordError::Conflict { .. } => ErrorCode::Conflict,
            RecordError::EventIdReused(_) => ErrorCode::Validation,
            RecordError::Store(store) => ErrorCode::of_store(store).unwrap_or(ErrorCode::Internal),
            RecordError::Undecodable { .. } => ErrorCode::Internal,
        }
    }
}

impl From<StoreError> for RecordError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict {
                expected, actual, ..
            } => RecordError::Conflict {
                expected: match expected {
                    ExpectedVersion::Exact(version) => version,
                    ExpectedVersion::NoStream | ExpectedVersion::Any => 0,
                },
                actual,
            },
            StoreError::EventIdReused { event_id, .. } => RecordError::EventIdReused(event_id),
            other => RecordError::Store(other),
        }
    }
}

/// A trajectory's stream as stored, and the state it folds into.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The stream's events in version order.
    pub events: Vec<RecordedEvent>,
    /// Their fold through the domain.
    pub trajectory: Trajectory,
}

/// Folds stored events of one stream (in version order) into the trajectory they make.
pub fn fold<'a>(
    events: impl IntoIterator<Item = &'a RecordedEvent>,
) -> Result<Trajectory, RecordError> {
    let facts = events
        .into_iter()
        .map(to_fact)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Trajectory::from_facts(facts))
}

/// Reads a trajectory's stream and folds it into its state. **Blocking** (reads the store):
/// for threads of their own; async code uses [`load`].
pub fn load_blocking<S: EventStore + ?Sized>(
    store: &S,
    trajectory: TrajectoryId,
) -> Result<Loaded, RecordError> {
    let events = store.read_stream(&trajectory.stream_id())?;
    let trajectory = fold(&events)?;
    Ok(Loaded { events, trajectory })
}

/// [`load_blocking`] off the async worker threads.
pub async fn load<S: EventStore>(
    store: &Arc<S>,
    trajectory: TrajectoryId,
) -> Result<Loaded, RecordError> {
    let reader = Arc::clone(store);
    tokio::task::spawn_blocking(move || load_blocking(reader.as_ref(), trajectory))
        .await
        .map_err(|join| RecordError::Store(StoreError::Storage(join.to_string())))?
}

/// A decided step, encoded: the envelope to append and the trajectory once it is stored.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The envelope for the store, to append at `trajectory.version() - 1` as expected version.
    pub event: ProposedEvent,
    /// The trajectory with the step applied.
    pub trajectory: Trajectory,
}

/// Decides `command` on `state` under `event_id` and encodes the accepted fact as the envelope
/// the store appends. Pure: no store, no clock. The one way from a command to a stored event —
/// recording through the API, seeding, and the benchmarks all go through here.
pub fn decide_and_encode(
    state: &Trajectory,
    command: &Command,
    event_id: EventId,
    context: &Context,
) -> Result<Decided, DomainError> {
    let decision = decide(state, command, event_id, context.today, &context.dates)?;
    Ok(Decided {
        event: encode(&decision.fact, context),
        trajectory: decision.trajectory,
    })
}

/// A whole new stream decided command by command from the empty trajectory (a synthetic case,
/// a benchmark's case): its envelopes in version order, to append with `NoStream`. `Err`
/// names the (0-based) command the domain refused.
pub fn decide_stream<'a>(
    steps: impl IntoIterator<Item = (&'a Command, EventId)>,
    context: &Context,
) -> Result<Vec<ProposedEvent>, (usize, DomainError)> {
    let mut state = Trajectory::default();
    let mut events = Vec::new();
    for (index, (command, event_id)) in steps.into_iter().enumerate() {
        let decided =
            decide_and_encode(&state, command, event_id, context).map_err(|e| (index, e))?;
        events.push(decided.event);
        state = decided.trajectory;
    }
    Ok(events)
}

/// The envelope of a decided fact.
fn encode(fact: &RecordedFact, context: &Context) -> ProposedEvent {
    let encoded = fact.event.encode();
    ProposedEvent {
        event_id: fact.event_id.as_uuid(),
        event_type: encoded.event_type.to_owned(),
        schema_version: encoded.schema_version,
        occurred_on: fact.occurred_on,
        recorded_by: context.recorded_by.clone(),
        correlation_id: context.correlation_id,
        causation_id: None,
        payload: encoded.payload,
    }
}

/// Records one command: load, decide, append — durable when it returns `Ok`.
///
/// A command without an expected version is decided again (up to three times) when another
/// writer got in first; one with an expected version gets [`RecordError::Conflict`]. A retry
/// whose event id is already in the stream is answered with the original position without
/// deciding again. Free text (correction and retraction reasons) is sealed under the youth's
/// data key before anything is decided or appended.
pub async fn record<S: EventStore>(
    store: &Arc<S>,
    free_text: &FreeText,
    request: &Request,
    context: &Context,
) -> Result<RecordedStep, RecordError> {
    let mut attempt = 0;
    loop {
        match record_once(store, free_text, request, context).await {
            Err(RecordError::Conflict { .. })
                if request.expected_version.is_none() && attempt < CONFLICT_RETRIES =>
            {
                attempt += 1;
                tracing::debug!(
                    attempt,
                    "conflict without an expected version: deciding again"
                );
            }
            result => return result,
        }
    }
}

async fn record_once<S: EventStore>(
    store: &Arc<S>,
    free_text: &FreeText,
    request: &Request,
    context: &Context,
) -> Result<RecordedStep, RecordError> {
    let Loaded {
        events: stored,
        trajectory: state,
    } = load(store, request.trajectory).await?;

    // A retry of an append that already succeeded: answer as the first time did, without
    // deciding again (the state now contains the step, so `decide` would refuse it).
    if let Some(id) = request.event_id {
        if let Some(earlier) = stored.iter().find(|event| event.event_id == id) {
            return Ok(RecordedStep {
                outcome: AppendOutcome {
                    first_position: earlier.position,
                    last_position: earlier.position,
                    stream_version: earlier.version,
                    already_stored: true,
                },
                event_id: id,
                trajectory: state,
            });
        }
    }

    if let Some(expected) = request.expected_version {
        if expected != state.version() {
            return Err(RecordError::Conflict {
                expected,
                actual: state.version(),
            });
        }
    }

    let command = seal_free_text(&request.command, &state, free_text).await?;
    let event_id = EventId::from_uuid(request.event_id.unwrap_or_else(Uuid::new_v4));
    let decided = decide_and_encode(&state, &command, event_id, context)?;
    let outcome = store
        .append(
            &request.trajectory.stream_id(),
            ExpectedVersion::Exact(state.version()),
            vec![decided.event],
        )
        .await?;
    Ok(RecordedStep {
        outcome,
        event_id: event_id.as_uuid(),
        trajectory: decided.trajectory,
    })
}

/// The command with its free text sealed under the trajectory's subject's data key (created
/// durably on first use), so the decided fact is exactly what is stored. Commands without free
/// text, and commands on a trajectory without a signal (which `decide` refuses), pass as they are.
async fn seal_free_text(
    command: &Command,
    state: &Trajectory,
    free_text: &FreeText,
) -> Result<Command, RecordError> {
    let reason = match command {
        Command::CorrectEvent { correction, .. } => &correction.reason,
        Command::RetractEvent { retraction, .. } => &retraction.reason,
        _ => return Ok(command.clone()),
    };
    let Some(subject) = state.subject_key().cloned() else {
        return Ok(command.clone());
    };
    let (free_text, reason) = (free_text.clone(), reason.clone());
    let sealed = tokio::task::spawn_blocking(move || free_text.seal(&subject, &reason))
        .await
        .map_err(|join| RecordError::Store(StoreError::Storage(join.to_string())))??;
    Ok(match command.clone() {
        Command::CorrectEvent {
            occurred_on,
            correction,
        } => Command::CorrectEvent {
            occurred_on,
            correction: Correction {
                reason: sealed,
                ..correction
            },
        },
        Command::RetractEvent {
            occurred_on,
            retraction,
        } => Command::RetractEvent {
            occurred_on,
            retraction: Retraction {
                reason: sealed,
                ..retraction
            },
        },
        other => other,
    })
}
