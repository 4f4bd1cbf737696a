//! What waits for a writer thread, and how a group of it is checked.
//!
//! Both back ends commit in groups on one writer thread and check each request in arrival order
//! against the durable state *plus* the requests accepted earlier in the same group (expected
//! version, event-id idempotency, import fit). That checking does not depend on where the bytes
//! go, so it lives here once; a back end only says how it looks up durable state ([`Durable`])
//! and what the stored bytes of an event are, then writes whatever [`Group::staged`] holds.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::envelope::{self, HASH_LEN};
use crate::sidecar::ChainHead;
use crate::{
    AppendOutcome, ExpectedVersion, ProposedEvent, RecordedEvent, StoreError, MAX_EVENT_BYTES,
};

/// At most this many requests share one commit, so one group's latency stays bounded.
pub(crate) const MAX_GROUP_REQUESTS: usize = 1024;
/// At most this many events share one commit.
pub(crate) const MAX_GROUP_EVENTS: usize = 20_000;

pub(crate) type Reply = oneshot::Sender<Result<AppendOutcome, StoreError>>;

/// Work waiting for the writer: an ordinary append, or an import of events with their envelopes.
#[derive(Debug)]
pub(crate) enum Job {
    Append(Request),
    Import(Import),
}

impl Job {
    pub(crate) fn len(&self) -> usize {
        match self {
            Job::Append(request) => request.events.len(),
            Job::Import(import) => import.events.len(),
        }
    }

    /// Its answer channel and when it was handed to the writer.
    pub(crate) fn into_reply(self) -> (Reply, Instant) {
        match self {
            Job::Append(request) => (request.reply, request.submitted),
            Job::Import(import) => (import.reply, import.submitted),
        }
    }
}

/// An import waiting for the writer (see `SledStore::import_batch`).
#[derive(Debug)]
pub(crate) struct Import {
    pub(crate) events: Vec<RecordedEvent>,
    /// The stored bytes of each event, kept as they are by a copy of a log (so that every chain
    /// hash stays the same, whatever envelope kind the source wrote); `None`: the engine
    /// encodes each event its own way.
    pub(crate) envelopes: Option<Vec<Vec<u8>>>,
    pub(crate) reply: Reply,
    /// When it was handed to the writer (for [`crate::WriterTimings::append`]).
    pub(crate) submitted: Instant,
}

/// One append waiting for the writer.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) stream_id: String,
    pub(crate) expected: ExpectedVersion,
    pub(crate) events: Vec<ProposedEvent>,
    pub(crate) reply: Reply,
    /// When it was handed to the writer (for [`crate::WriterTimings::append`]).
    pub(crate) submitted: Instant,
}

/// One group for a writer: `first` and whatever else is already waiting (`next` answers
/// without blocking), up to [`MAX_GROUP_REQUESTS`] requests and about [`MAX_GROUP_EVENTS`]
/// events.
pub(crate) fn gather(first: Job, mut next: impl FnMut() -> Option<Job>) -> Vec<Job> {
    let mut events = first.len();
    let mut group = vec![first];
    while group.len() < MAX_GROUP_REQUESTS && events < MAX_GROUP_EVENTS {
        let Some(job) = next() else { break };
        events += job.len();
        group.push(job);
    }
    group
}

/// An engine handle's way to its writer: the sending end of the writer's queue, `None` once
/// the handle closed it. Implemented for the two kinds of queue the writers read (a thread's,
/// a task's), so that every engine submits through [`Submitted`].
pub(crate) trait Inbox {
    /// Hands `job` to the writer; [`StoreError::Closed`] when it is gone.
    fn post(&self, job: Job) -> Result<(), StoreError>;
}

impl Inbox for Option<std::sync::mpsc::Sender<Job>> {
    fn post(&self, job: Job) -> Result<(), StoreError> {
        self.as_ref()
            .ok_or(StoreError::Closed)?
            .send(job)
            .map_err(|_| StoreError::Closed)
    }
}

impl Inbox for Option<tokio::sync::mpsc::UnboundedSender<Job>> {
    fn post(&self, job: Job) -> Result<(), StoreError> {
        self.as_ref()
            .ok_or(StoreError::Closed)?
            .send(job)
            .map_err(|_| StoreError::Closed)
    }
}

/// An append or import validated and handed to the writer — or why not. It is submitted when
/// this exists: dropping it (or the future awaiting it) does not cancel it, and closing the
/// store first answers everything submitted.
pub(crate) struct Submitted(
    Result<oneshot::Receiver<Result<AppendOutcome, StoreError>>, StoreError>,
);

impl Submitted {
    /// Validates an append and hands it to the writer behind `inbox`.
    pub(crate) fn append(
        inbox: &impl Inbox,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Submitted {
        Submitted(
            crate::sled_store::validate_append(stream_id, &events).and_then(|()| {
                let (reply, answer) = oneshot::channel();
                inbox.post(Job::Append(Request {
                    stream_id: stream_id.to_owned(),
                    expected,
                    events,
                    reply,
                    submitted: Instant::now(),
                }))?;
                Ok(answer)
            }),
        )
    }

    /// Validates an import and hands it to the writer behind `inbox`.
    pub(crate) fn import(inbox: &impl Inbox, events: Vec<RecordedEvent>) -> Submitted {
        Submitted(crate::sled_store::validate_import(&events).and_then(|()| {
            let (reply, answer) = oneshot::channel();
            inbox.post(Job::Import(Import {
                events,
                envelopes: None,
                reply,
                submitted: Instant::now(),
            }))?;
            Ok(answer)
        }))
    }

    /// Decodes envelopes with the engine's `decode` (so that the bytes and the event checked
    /// against the store can never disagree), validates them as an import and hands them to
    /// the writer behind `inbox`, to be stored byte for byte.
    pub(crate) fn import_envelopes(
        inbox: &impl Inbox,
        envelopes: Vec<Vec<u8>>,
        decode: fn(&[u8]) -> Result<RecordedEvent, String>,
    ) -> Submitted {
        let events = envelopes
            .iter()
            .map(|bytes| {
                decode(bytes).map_err(|what| {
                    StoreError::InvalidAppend(format!(
                        "an envelope to import does not decode: {what}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>();
        Submitted(events.and_then(|events| {
            crate::sled_store::validate_import(&events)?;
            let (reply, answer) = oneshot::channel();
            inbox.post(Job::Import(Import {
                events,
                envelopes: Some(envelopes),
                reply,
                submitted: Instant::now(),
            }))?;
            Ok(answer)
        }))
    }

    /// The writer's answer.
    pub(crate) async fn answer(self) -> Result<AppendOutcome, StoreError> {
        self.0?.await.unwrap_or(Err(StoreError::Closed))
    }

    /// The writer's answer, blocking the calling thread (not an async worker's).
    pub(crate) fn wait(self) -> Result<AppendOutcome, StoreError> {
        self.0?.blocking_recv().unwrap_or(Err(StoreError::Closed))
    }
}

/// How a back end answers the checks' questions about what is already durable, and what bytes
/// it stores for an event (the chain hashes exactly those).
pub(crate) trait Durable {
    /// The stream's durable version (0: no such stream).
    fn durable_version(&mut self, stream_id: &str) -> Result<u64, StoreError>;
    /// The durable event with this id.
    fn durable_event(&mut self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError>;
    /// The stored (hashed) bytes of an event; `InvalidAppend` when the event cannot be stored.
    fn canonical(&self, event: &RecordedEvent) -> Result<Vec<u8>, StoreError>;
    /// The last position the back end can hold. An event past it is refused with its append
    /// (as a full store: nothing is stored, and the writer goes on), before it reaches the disk.
    fn last_position(&self) -> u64 {
        u64::MAX
    }
}

/// One checked event, ready to be written.
#[derive(Debug)]
pub(crate) struct Staged {
    pub(crate) event: RecordedEvent,
    /// The chain hash after this event.
    pub(crate) hash: [u8; HASH_LEN],
    /// The stored bytes the hash covers.
    pub(crate) canonical: Vec<u8>,
}

/// The state of one group while it is being checked. Nothing here reaches the writer's own state
/// unless the group's commit succeeds.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) head: ChainHead,
    /// The group's clock reading: appended events get this, or the last staged `recorded_at`
    /// when an import staged a later one.
    now: DateTime<Utc>,
    /// `recorded_at` of the last event staged (or committed, before the first).
    pub(crate) last_at: Option<DateTime<Utc>>,
    /// Stream versions as they will be once the group is durable.
    pub(crate) versions: HashMap<String, u64>,
    /// Events staged in this group, in position order.
    pub(crate) staged: Vec<Staged>,
    staged_ids: HashMap<Uuid, usize>,
}

impl Group {
    /// An empty group on top of the durable `head`.
    pub(crate) fn new(head: ChainHead, last_at: Option<DateTime<Utc>>) -> Self {
        Group {
            head,
            now: Utc::now(),
            last_at,
            versions: HashMap::new(),
            staged: Vec::new(),
            staged_ids: HashMap::new(),
        }
    }

    /// Checks one job against `durable` plus this group and, if accepted, stages its events.
    pub(crate) fn check(
        &mut self,
        durable: &mut impl Durable,
        job: &Job,
    ) -> Result<AppendOutcome, StoreError> {
        match job {
            Job::Append(request) => self.check_append(durable, request),
            Job::Import(import) => {
                self.check_import(durable, &import.events, import.envelopes.as_deref())
            }
        }
    }

    fn check_append(
        &mut self,
        durable: &mut impl Durable,
        request: &Request,
    ) -> Result<AppendOutcome, StoreError> {
        if let Some(outcome) = self.idempotent_outcome(durable, request)? {
            return Ok(outcome);
        }
        let stream_id = request.stream_id.as_str();
        let current = match self.versions.get(stream_id) {
            Some(version) => *version,
            None => durable.durable_version(stream_id)?,
        };
        if !request.expected.admits(current) {
            return Err(StoreError::Conflict {
                stream_id: stream_id.to_owned(),
                expected: request.expected,
                actual: current,
            });
        }

        // Build everything first, so that an error leaves the group untouched.
        let recorded_at = self.last_at.map_or(self.now, |last| last.max(self.now));
        let mut head = self.head;
        let mut staged = Vec::with_capacity(request.events.len());
        for (offset, new) in (1u64..).zip(&request.events) {
            let event = RecordedEvent {
                position: head.position + 1,
                stream_id: stream_id.to_owned(),
                version: current + offset,
                event_id: new.event_id,
                event_type: new.event_type.clone(),
                schema_version: new.schema_version,
                occurred_on: new.occurred_on,
                recorded_at,
                recorded_by: new.recorded_by.clone(),
                correlation_id: new.correlation_id,
                causation_id: new.causation_id,
                payload: new.payload.clone(),
            };
            let next = seal(durable, event, None, &head.hash)?;
            head = ChainHead {
                position: next.event.position,
                hash: next.hash,
            };
            staged.push(next);
        }

        let outcome = AppendOutcome {
            first_position: self.head.position + 1,
            last_position: head.position,
            stream_version: current + request.events.len() as u64,
            already_stored: false,
        };
        self.versions
            .insert(stream_id.to_owned(), outcome.stream_version);
        self.stage(staged, head);
        Ok(outcome)
    }

    /// Checks an import: every event must fit exactly (next position, next stream version,
    /// unused id, `recorded_at` not before the event before it). Nothing is staged when one
    /// event does not fit.
    fn check_import(
        &mut self,
        durable: &mut impl Durable,
        events: &[RecordedEvent],
        envelopes: Option<&[Vec<u8>]>,
    ) -> Result<AppendOutcome, StoreError> {
        let invalid = |what: String| Err(StoreError::InvalidAppend(what));
        let mut head = self.head;
        let mut last_at = self.last_at;
        let mut versions: HashMap<&str, u64> = HashMap::new();
        let mut ids = std::collections::HashSet::with_capacity(events.len());
        let mut staged = Vec::with_capacity(events.len());
        for (at, event) in events.iter().enumerate() {
            if event.position != head.position + 1 {
                return invalid(format!(
                    "imported event {} has position {}, but the next position is {}",
                    event.event_id,
                    event.position,
                    head.position + 1
                ));
            }
            let current = match versions.get(event.stream_id.as_str()) {
                Some(version) => *version,
                None => match self.versions.get(&event.stream_id) {
                    Some(version) => *version,
                    None => durable.durable_version(&event.stream_id)?,
                },
            };
            if event.version != current + 1 {
                return Err(StoreError::Conflict {
                    stream_id: event.stream_id.clone(),
                    expected: ExpectedVersion::Exact(event.version.saturating_sub(1)),
                    actual: current,
                });
            }
            if !ids.insert(event.event_id) || self.find_event(durable, event.event_id)?.is_some() {
                return Err(StoreError::EventIdReused {
                    event_id: event.event_id,
                    reason: "an import never stores an event id the store already holds".into(),
                });
            }
            if last_at.is_some_and(|last| event.recorded_at < last) {
                return invalid(format!(
                    "imported event {} was recorded at {}, before the event before it; \
                     recorded_at never decreases along the log",
                    event.event_id, event.recorded_at
                ));
            }
            let stored = envelopes.and_then(|envelopes| envelopes.get(at)).cloned();
            let next = seal(durable, event.clone(), stored, &head.hash)?;
            head = ChainHead {
                position: event.position,
                hash: next.hash,
            };
            last_at = Some(event.recorded_at);
            versions.insert(&event.stream_id, event.version);
            staged.push(next);
        }
        let outcome = AppendOutcome {
            first_position: self.head.position + 1,
            last_position: head.position,
            stream_version: events.last().map_or(0, |event| event.version),
            already_stored: false,
        };
        for (stream_id, version) in versions {
            self.versions.insert(stream_id.to_owned(), version);
        }
        self.stage(staged, head);
        Ok(outcome)
    }

    /// `Some(original outcome)` when the request is a retry of an append that is stored (or
    /// staged earlier in this group); `None` when none of its ids is known; `EventIdReused` for
    /// anything in between.
    fn idempotent_outcome(
        &self,
        durable: &mut impl Durable,
        request: &Request,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let mut found = Vec::new();
        for new in &request.events {
            if let Some(existing) = self.find_event(durable, new.event_id)? {
                found.push((new, existing));
            }
        }
        let Some((first_new, first_existing)) = found.first() else {
            return Ok(None);
        };
        let reused =
            |event_id: Uuid, reason: String| StoreError::EventIdReused { event_id, reason };
        if found.len() < request.events.len() {
            return Err(reused(
                first_new.event_id,
                format!(
                    "{} of the append's {} event ids are already stored (this one at position {} in stream {:?}); a retry must repeat exactly the original append",
                    found.len(),
                    request.events.len(),
                    first_existing.position,
                    first_existing.stream_id
                ),
            ));
        }
        for (new, existing) in &found {
            if existing.stream_id != request.stream_id {
                return Err(reused(
                    new.event_id,
                    format!(
                        "it is stored in stream {:?} at position {}, not in {:?}",
                        existing.stream_id, existing.position, request.stream_id
                    ),
                ));
            }
            if let Some(field) = differing_field(existing, new) {
                return Err(reused(
                    new.event_id,
                    format!(
                        "the event stored at position {} has a different {field}",
                        existing.position
                    ),
                ));
            }
        }
        let positions = found.iter().map(|(_, e)| e.position);
        Ok(Some(AppendOutcome {
            first_position: positions.clone().min().unwrap_or(0),
            last_position: positions.max().unwrap_or(0),
            stream_version: found.iter().map(|(_, e)| e.version).max().unwrap_or(0),
            already_stored: true,
        }))
    }

    /// The stored or staged event with this id.
    fn find_event(
        &self,
        durable: &mut impl Durable,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        if let Some(index) = self.staged_ids.get(&event_id) {
            return Ok(self.staged.get(*index).map(|staged| staged.event.clone()));
        }
        durable.durable_event(event_id)
    }

    /// Adds checked events to the group and moves its head and clock past them.
    fn stage(&mut self, events: Vec<Staged>, head: ChainHead) {
        for staged in events {
            self.last_at = Some(staged.event.recorded_at);
            self.staged_ids
                .insert(staged.event.event_id, self.staged.len());
            self.staged.push(staged);
        }
        self.head = head;
    }
}

/// Encodes an event (or keeps the bytes an import brought, `stored`), checks its stored size
/// and chains it after `previous`.
fn seal(
    durable: &impl Durable,
    event: RecordedEvent,
    stored: Option<Vec<u8>>,
    previous: &[u8; HASH_LEN],
) -> Result<Staged, StoreError> {
    let last = durable.last_position();
    if event.position > last {
        return Err(StoreError::StorageFull(format!(
            "the store holds at most {last} events; move on to a new store"
        )));
    }
    let canonical = match stored {
        Some(bytes) => bytes,
        None => durable.canonical(&event)?,
    };
    if canonical.len() > MAX_EVENT_BYTES {
        return Err(StoreError::InvalidAppend(format!(
            "event {} is {} bytes stored; at most {MAX_EVENT_BYTES} are allowed",
            event.event_id,
            canonical.len()
        )));
    }
    let hash = envelope::chain(previous, &canonical);
    Ok(Staged {
        event,
        hash,
        canonical,
    })
}

/// Which field of a stored event differs from a retried one, if any. Correlation and causation
/// ids are left out: a retried request may carry a new request id.
fn differing_field(stored: &RecordedEvent, new: &ProposedEvent) -> Option<&'static str> {
    if stored.event_type != new.event_type {
        Some("type")
    } else if stored.schema_version != new.schema_version {
        Some("schema version")
    } else if stored.occurred_on != new.occurred_on {
        Some("occurred_on")
    } else if stored.recorded_by != new.recorded_by {
        Some("recorded_by")
    } else if stored.payload != new.payload {
        Some("payload")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A back end that holds nothing and can hold `last` positions.
    struct Small {
        last: u64,
    }

    impl Durable for Small {
        fn durable_version(&mut self, _: &str) -> Result<u64, StoreError> {
            Ok(0)
        }

        fn durable_event(&mut self, _: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
            Ok(None)
        }

        fn canonical(&self, event: &RecordedEvent) -> Result<Vec<u8>, StoreError> {
            Ok(event.event_id.as_bytes().to_vec())
        }

        fn last_position(&self) -> u64 {
            self.last
        }
    }

    fn append(stream_id: &str, events: usize) -> Job {
        let (reply, _answer) = oneshot::channel();
        Job::Append(Request {
            stream_id: stream_id.to_owned(),
            expected: ExpectedVersion::Any,
            events: (0..events)
                .map(|_| ProposedEvent {
                    event_id: Uuid::new_v4(),
                    event_type: "signal_received".into(),
                    schema_version: 1,
                    occurred_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
                    recorded_by: "consulent-1".into(),
                    correlation_id: None,
                    causation_id: None,
                    payload: serde_json::json!({}),
                })
                .collect(),
            reply,
            submitted: Instant::now(),
        })
    }

    /// An append that would pass the last position is refused on its own, as a full store,
    /// and stages nothing of itself; the group takes what still fits.
    #[test]
    fn an_append_past_the_last_position_is_refused_as_a_full_store() {
        let mut durable = Small { last: 3 };
        let head = ChainHead {
            position: 1,
            hash: envelope::GENESIS,
        };
        let mut group = Group::new(head, None);
        let refused = group.check(&mut durable, &append("a", 3));
        assert!(
            matches!(&refused, Err(StoreError::StorageFull(why)) if why.contains("at most 3 events")),
            "{refused:?}"
        );
        assert!(group.staged.is_empty());
        assert_eq!(group.head.position, 1);
        let outcome = group.check(&mut durable, &append("b", 2)).expect("fits");
        assert_eq!((outcome.first_position, outcome.last_position), (2, 3));
        assert!(matches!(
            group.check(&mut durable, &append("c", 1)),
            Err(StoreError::StorageFull(_))
        ));
        assert_eq!(group.staged.len(), 2);
    }
}
