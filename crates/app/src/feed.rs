//! De voeding: the way from the store's global log into the read models.
//!
//! A stored envelope becomes a domain fact here ([`to_fact`], upcasting old payload versions),
//! and a fact with its place in the log ([`logged_fact`]) is what
//! [`jeugdpad_projections::Projections`] take. The start-up rebuild ([`catch_up`]) and the live
//! projector of the API both go through these, and so do tools that build read models of their
//! own (benchmarks, tests).

use std::sync::{Arc, Weak};

use jeugdpad_access_index::{AccessIndex, Picked};
use jeugdpad_domain::{DecodeError, Event, EventId, RecordedFact, TrajectoryId};
use jeugdpad_projections::{FactSource, LoggedFact, Projections};
use jeugdpad_store::{EventStore, RecordedEvent, StoreError};

use crate::record::RecordError;

/// Events one catch-up read takes at most.
const CHUNK: usize = 4096;

/// What a reader thread hands on for one chunk: the read models' facts and, when the access
/// log's index is fed too, its entries.
type Chunk = (Vec<LoggedFact>, Option<Picked>);

/// A stored payload the domain can decode: parsed ([`RecordedEvent`]) or its JSON text
/// ([`jeugdpad_store::RawEvent`], what the start-up replay reads).
pub trait StoredPayload {
    /// The domain event this payload of `event_type` at `schema_version` holds.
    fn decode(&self, event_type: &str, schema_version: u32) -> Result<Event, DecodeError>;
}

impl StoredPayload for serde_json::Value {
    fn decode(&self, event_type: &str, schema_version: u32) -> Result<Event, DecodeError> {
        Event::decode(event_type, schema_version, self)
    }
}

impl StoredPayload for Vec<u8> {
    fn decode(&self, event_type: &str, schema_version: u32) -> Result<Event, DecodeError> {
        Event::decode_json(event_type, schema_version, self)
    }
}

/// Turns a stored envelope back into a domain fact, upcasting old payload versions.
pub fn to_fact<P: StoredPayload>(event: &RecordedEvent<P>) -> Result<RecordedFact, RecordError> {
    let decoded = event
        .payload
        .decode(&event.event_type, event.schema_version)
        .map_err(|source| RecordError::Undecodable {
            position: event.position,
            source,
        })?;
    Ok(RecordedFact {
        event_id: EventId::from_uuid(event.event_id),
        version: event.version,
        occurred_on: event.occurred_on,
        event: decoded,
    })
}

/// What the read models take of a stored event: `None` for an event of a stream that is not a
/// trajectory's (the `admin` registry, the access log), `Some(Err)` for one that cannot be
/// decoded (damage, or a newer schema than this build knows).
pub fn logged_fact<P: StoredPayload>(
    event: &RecordedEvent<P>,
) -> Option<Result<LoggedFact, RecordError>> {
    let trajectory = TrajectoryId::from_stream_id(&event.stream_id)?;
    Some(to_fact(event).map(|fact| LoggedFact {
        position: event.position,
        trajectory,
        recorded_at: event.recorded_at,
        fact,
    }))
}

/// [`logged_fact`] for a feed that must go on: an undecodable event is logged and left out
/// (`jeugdpad verify` and the log line tell the operator where it is), so one bad event cannot
/// stall every read model behind it.
pub fn logged_fact_or_skip<P: StoredPayload>(event: &RecordedEvent<P>) -> Option<LoggedFact> {
    match logged_fact(event)? {
        Ok(fact) => Some(fact),
        Err(error) => {
            tracing::error!(position = event.position, %error, "an event cannot be read into the read models; it is left out");
            None
        }
    }
}

/// Applies every event up to the store's durable head to `projections`; returns that head.
/// **Blocking**; uses one reader thread per core.
///
/// The log is cut into chunks of [`CHUNK`] positions, read and decoded by the reader threads
/// (reader `k` takes chunks `k`, `k + n`, …: reading and decoding the envelopes is most of a
/// rebuild's work), while this thread stores them in position order without deriving. Once
/// everything is stored, every touched trajectory is derived once, spread over the cores
/// ([`Projections::derive_pending`]). Events that become durable meanwhile are left to the
/// caller, which follows the log from the returned position on.
///
/// The readers take each payload from its JSON text straight into the domain's types
/// ([`EventStore::read_all_raw`]), so one whose text is not JSON is logged and left out like
/// any undecodable event, where [`EventStore::read_all`] would refuse it as damage.
pub fn catch_up<S: EventStore + ?Sized>(
    store: &S,
    projections: &mut Projections,
) -> Result<u64, StoreError> {
    replay(store, projections, None)
}

/// [`catch_up`], and the access log's index fed from the same read of the log: the reader
/// threads pick its entries out of each chunk ([`Picked`]) and this thread adds them in position
/// order, so a server's start reads its log once. The index then covers the returned position.
/// Should it refuse a run (it is full), that is logged and its own next catch-up says so.
pub fn catch_up_with_access<S: EventStore + ?Sized>(
    store: &S,
    projections: &mut Projections,
    access: &AccessIndex,
) -> Result<u64, StoreError> {
    replay(store, projections, Some(access))
}

fn replay<S: EventStore + ?Sized>(
    store: &S,
    projections: &mut Projections,
    mut access: Option<&AccessIndex>,
) -> Result<u64, StoreError> {
    let head = store.head();
    let chunk = CHUNK as u64;
    let chunks = head.div_ceil(chunk);
    let readers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, usize::try_from(chunks).unwrap_or(1).max(1));
    std::thread::scope(|scope| {
        let mut inboxes = Vec::with_capacity(readers);
        let mut handles = Vec::with_capacity(readers);
        for reader in 0..readers {
            // Two chunks in flight per reader: both threads busy, little memory.
            let (sender, inbox) = std::sync::mpsc::sync_channel::<Chunk>(2);
            inboxes.push(inbox);
            handles.push(scope.spawn(move || -> Result<(), StoreError> {
                let mut index = reader as u64;
                while index < chunks {
                    let from = index * chunk + 1;
                    let max = chunk.min(head + 1 - from);
                    // Payloads as their text: decoded straight into the domain's types.
                    let events = store.read_all_raw(from, usize::try_from(max).unwrap_or(CHUNK))?;
                    // Positions are gapless, so this chunk is exactly `from..from + max`.
                    let batch: Vec<LoggedFact> = events
                        .iter()
                        .filter(|event| event.position < from + max)
                        .filter_map(logged_fact_or_skip)
                        .collect();
                    let picked = access.map(|_| Picked::of(from, from + max - 1, &events));
                    if sender.send((batch, picked)).is_err() {
                        return Ok(());
                    }
                    index += readers as u64;
                }
                Ok(())
            }));
        }
        let mut received = 0;
        for index in 0..chunks {
            match inboxes[(index % readers as u64) as usize].recv() {
                Ok((batch, picked)) => {
                    projections.extend_deferred(batch);
                    if let (Some(index), Some(picked)) = (access, picked) {
                        if let Err(error) = index.add_picked(picked) {
                            // Once: the rest of the replay no longer feeds it.
                            tracing::error!(%error, "the access-log index cannot take more entries");
                            access = None;
                        }
                    }
                }
                // The reader stopped early: its error is reported below.
                Err(_) => break,
            }
            received += 1;
        }
        drop(inboxes);
        for handle in handles {
            match handle.join() {
                Ok(result) => result?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        if received < chunks {
            return Err(StoreError::Storage(
                "a catch-up reader stopped before the end of the log".into(),
            ));
        }
        projections.derive_pending();
        Ok(head)
    })
}

/// The store as the read models' [`FactSource`]: one stream read per trajectory, so the read
/// models need not keep a million trajectories' raw facts in memory. Payloads are read from
/// their stored text, as at replay (every timeline look reads its stream this way).
///
/// Holds the store weakly: the read models live as long as the server's state, and must not
/// keep the store open when the server closes it.
#[derive(Debug)]
pub struct StoreFacts<S>(Weak<S>);

impl<S> StoreFacts<S> {
    /// The facts of `store`, for as long as it is open.
    pub fn new(store: &Arc<S>) -> StoreFacts<S> {
        StoreFacts(Arc::downgrade(store))
    }
}

impl<S: EventStore + std::fmt::Debug> FactSource for StoreFacts<S> {
    fn facts(&self, trajectory: TrajectoryId) -> Result<Vec<LoggedFact>, String> {
        let store = self.0.upgrade().ok_or("the event store is closed")?;
        let events = store
            .read_stream_raw(&trajectory.stream_id())
            .map_err(|e| e.to_string())?;
        events
            .iter()
            .filter_map(logged_fact)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }
}
