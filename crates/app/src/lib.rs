//! Jeugdpad's application layer: the one place where the pure domain meets the durable store.
//!
//! Recording a step is always the same four moves, and they live here so that the API, the
//! importer and the tests cannot each do them slightly differently:
//!
//! 1. read the trajectory's stream and fold it into its state ([`load`]);
//! 2. ask the domain whether the command may be recorded ([`jeugdpad_domain::decide`]);
//! 3. encode the new facts into envelopes with their event ids;
//! 4. append them with the version the decision was based on as the expected version, so a
//!    concurrent writer turns into a [`RecordError::Conflict`] instead of a lost update.
//!
//! The three kinds of failure stay apart (STYLE.md): the user's mistake ([`RecordError::Rejected`]),
//! a conflict ([`RecordError::Conflict`]) and an infrastructure fault (everything else).

use std::sync::Arc;

use chrono::NaiveDate;
use jeugdpad_domain::{
    decide, Command, DecodeError, DomainError, Event, EventId, RecordedFact, Trajectory,
    TrajectoryId,
};
use jeugdpad_store::{
    AppendOutcome, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StoreError,
};
use uuid::Uuid;

pub mod admin;
mod free_text;

pub use free_text::{FreeText, Readable};

/// How often a command without an expected version is decided again after another writer got
/// in first. The client did not pin a version, so deciding on the newer state is what it asked.
const CONFLICT_RETRIES: usize = 3;

/// Who records, when, and on behalf of which request.
#[derive(Debug, Clone)]
pub struct Context {
    /// The authenticated user (stored as `recorded_by`).
    pub recorded_by: String,
    /// Today's date in the municipality: the domain refuses steps dated after it.
    pub today: NaiveDate,
    /// The request that caused this, for tracing.
    pub correlation_id: Option<Uuid>,
    /// Seals free text (reasons) under the subject's data key before it is stored.
    pub free_text: FreeText,
}

/// One command for one trajectory, as a client sends it.
#[derive(Debug, Clone)]
pub struct Request {
    pub trajectory: TrajectoryId,
    pub command: Command,
    /// The version the client saw; a different current version is a conflict.
    pub expected_version: Option<u64>,
    /// A client-chosen id for the (first) new event, which makes a retry idempotent.
    pub event_id: Option<Uuid>,
}

/// What was recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub outcome: AppendOutcome,
    /// The ids of the events the command produced (the original ones on an idempotent retry).
    pub event_ids: Vec<Uuid>,
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
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::Rejected(error) => error.code(),
            RecordError::Conflict { .. } => "CONFLICT",
            RecordError::EventIdReused(_) => "VALIDATION",
            RecordError::Undecodable { .. } | RecordError::Store(_) => "INTERNAL",
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

/// Turns a stored envelope back into a domain fact, upcasting old payload versions.
pub fn to_fact(event: &RecordedEvent) -> Result<RecordedFact, RecordError> {
    let decoded = Event::decode(&event.event_type, event.schema_version, &event.payload).map_err(
        |source| RecordError::Undecodable {
            position: event.position,
            source,
        },
    )?;
    Ok(RecordedFact {
        event_id: EventId::from_uuid(event.event_id),
        version: event.version,
        occurred_on: event.occurred_on,
        event: decoded,
    })
}

/// Reads a trajectory's stream and folds it into its state, returning the raw events as well.
///
/// Runs the blocking store read off the async worker threads.
pub async fn load<S: EventStore>(
    store: &Arc<S>,
    trajectory: TrajectoryId,
) -> Result<(Vec<RecordedEvent>, Trajectory), RecordError> {
    let reader = Arc::clone(store);
    let stream_id = trajectory.stream_id();
    let events = tokio::task::spawn_blocking(move || reader.read_stream(&stream_id))
        .await
        .map_err(|join| RecordError::Store(StoreError::Storage(join.to_string())))??;
    let facts = events.iter().map(to_fact).collect::<Result<Vec<_>, _>>()?;
    Ok((events, Trajectory::from_facts(facts)))
}

/// Records one command: load, decide, append — durable when it returns `Ok`.
pub async fn record<S: EventStore>(
    store: &Arc<S>,
    request: &Request,
    context: &Context,
) -> Result<Recorded, RecordError> {
    let mut attempt = 0;
    loop {
        match record_once(store, request, context).await {
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
    request: &Request,
    context: &Context,
) -> Result<Recorded, RecordError> {
    let (stored, state) = load(store, request.trajectory).await?;

    // A retry of an append that already succeeded: answer as the first time did, without
    // deciding again (the state now contains the step, so `decide` would refuse it).
    if let Some(first) = request.event_id {
        let ours: Vec<&RecordedEvent> = (0..)
            .map(|i| event_id(first, i))
            .map_while(|id| stored.iter().find(|event| event.event_id == id))
            .collect();
        if let (Some(head), Some(tail)) = (ours.first(), ours.last()) {
            return Ok(Recorded {
                outcome: AppendOutcome {
                    first_position: head.position,
                    last_position: tail.position,
                    stream_version: tail.version,
                    already_stored: true,
                },
                event_ids: ours.iter().map(|event| event.event_id).collect(),
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

    let mut decided = decide(&state, &request.command, context.today)?;
    seal_free_text(&mut decided, &state, &context.free_text).await?;
    let first_id = request.event_id.unwrap_or_else(Uuid::new_v4);
    let envelopes: Vec<NewEvent> = decided
        .iter()
        .enumerate()
        .map(|(i, new)| {
            let encoded = new.event.encode();
            NewEvent {
                event_id: event_id(first_id, i),
                event_type: encoded.event_type.to_owned(),
                schema_version: encoded.schema_version,
                occurred_on: new.occurred_on,
                recorded_by: context.recorded_by.clone(),
                correlation_id: context.correlation_id,
                causation_id: None,
                payload: encoded.payload,
            }
        })
        .collect();
    let event_ids: Vec<Uuid> = envelopes.iter().map(|event| event.event_id).collect();

    let outcome = store
        .append(
            &request.trajectory.stream_id(),
            ExpectedVersion::Exact(state.version()),
            envelopes,
        )
        .await?;

    let mut trajectory = state;
    for (i, new) in decided.into_iter().enumerate() {
        let fact = RecordedFact {
            event_id: EventId::from_uuid(event_ids[i]),
            version: outcome.stream_version - (event_ids.len() - 1 - i) as u64,
            occurred_on: new.occurred_on,
            event: new.event,
        };
        trajectory = jeugdpad_domain::evolve(trajectory, &fact);
    }
    Ok(Recorded {
        outcome,
        event_ids,
        trajectory,
    })
}

/// Replaces the free text of new events by its sealed form, under the trajectory's subject's
/// data key (created durably on first use), before anything is appended.
async fn seal_free_text(
    decided: &mut [jeugdpad_domain::NewEvent],
    state: &Trajectory,
    free_text: &FreeText,
) -> Result<(), RecordError> {
    let has_text = |event: &Event| matches!(event, Event::Corrected(_) | Event::Retracted(_));
    if !decided.iter().any(|new| has_text(&new.event)) {
        return Ok(());
    }
    let Some(subject) = state.subject_key().cloned() else {
        // No signal yet: `decide` refuses amendments before a signal, so this cannot happen.
        return Ok(());
    };
    let free_text = free_text.clone();
    let events: Vec<Event> = decided.iter().map(|new| new.event.clone()).collect();
    let sealed = tokio::task::spawn_blocking(move || {
        events
            .into_iter()
            .map(|mut event| {
                match &mut event {
                    Event::Corrected(c) => c.reason = free_text.seal(&subject, &c.reason)?,
                    Event::Retracted(r) => r.reason = free_text.seal(&subject, &r.reason)?,
                    Event::Step(_) => {}
                }
                Ok(event)
            })
            .collect::<Result<Vec<Event>, StoreError>>()
    })
    .await
    .map_err(|join| RecordError::Store(StoreError::Storage(join.to_string())))??;
    for (new, event) in decided.iter_mut().zip(sealed) {
        new.event = event;
    }
    Ok(())
}

/// The id of the `index`-th event of one command: the client's id for the first, ids derived
/// from it (UUID v5) for any further ones, so a retry of a multi-event command reuses them all.
fn event_id(first: Uuid, index: usize) -> Uuid {
    if index == 0 {
        first
    } else {
        Uuid::new_v5(&first, &index.to_be_bytes())
    }
}
