//! De projector: keeps the read models in step with the durable log.
//!
//! One task owns every write to the projections. At start-up [`catch_up`] applies the whole log
//! in batches (one derivation per touched trajectory); then [`spawn`] follows the store's
//! subscription from the next position, applies each event, publishes the applied position on a
//! `watch` (mutations wait on it for read-your-writes) and broadcasts the event to subscriptions
//! — after applying, so a subscriber that queries on notification sees the event.
//!
//! An event the projector cannot decode (damage, or a newer schema than this build knows) is
//! logged and counted, and its position still counts as applied: one bad event must not stall
//! every mutation behind it. `jeugdpad verify` and the log tell the operator where it is.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::FutureExt;
use jeugdpad_access::{AdminEvent, Registry, ACCESS_LOG_STREAM, ADMIN_STREAM};
use jeugdpad_domain::{EventId, TeamCode, TrajectoryId};
use jeugdpad_projections::{AsOf, Projections, Recorded};
use jeugdpad_store::{EventStore, RecordedEvent, SledStore, StoreError, Subscription};
use tokio::sync::{broadcast, watch};

use crate::clock::Clock;
use crate::metrics::Metrics;

/// How many events one catch-up read (and one live batch) takes at most.
const BATCH: usize = 4096;

/// An event the projections have applied, as subscriptions deliver it.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub(crate) position: u64,
    pub(crate) trajectory: TrajectoryId,
    pub(crate) version: u64,
    pub(crate) event_id: EventId,
    pub(crate) event_type: String,
    pub(crate) occurred_on: NaiveDate,
    pub(crate) recorded_at: DateTime<Utc>,
    /// The trajectory's team before and after the event (two teams for a transfer, so both the
    /// handing-over and the receiving team hear of it).
    pub(crate) teams: Vec<TeamCode>,
}

/// Applies every durable event to `projections`; returns the position applied up to.
///
/// The log up to the durable head at the start is cut into chunks of [`BATCH`] positions, read
/// and decoded by one reader thread per core (reader `k` takes chunks `k`, `k + n`, …: reading
/// and decoding the envelopes is most of a rebuild's work), while this thread stores them in
/// position order without deriving. Once everything is stored, every touched trajectory is
/// derived once, spread over the cores ([`Projections::derive_pending`]). The write lock is held
/// throughout: nobody queries the read models before `AppState::start` returns. Events that
/// become durable meanwhile are left to the live projector, which subscribes from the returned
/// position on.
pub(crate) async fn catch_up(
    store: &Arc<SledStore>,
    projections: &Arc<RwLock<Projections>>,
) -> Result<u64, StoreError> {
    let (store, projections) = (Arc::clone(store), Arc::clone(projections));
    tokio::task::spawn_blocking(move || catch_up_blocking(&store, &projections))
        .await
        .map_err(|e| StoreError::Storage(format!("catch-up task: {e}")))?
}

fn catch_up_blocking(
    store: &SledStore,
    projections: &RwLock<Projections>,
) -> Result<u64, StoreError> {
    let mut projections = write(projections);
    let head = store.head();
    let chunk = BATCH as u64;
    let chunks = head.div_ceil(chunk);
    let readers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, usize::try_from(chunks).unwrap_or(1).max(1));
    std::thread::scope(|scope| {
        let mut inboxes = Vec::with_capacity(readers);
        let mut handles = Vec::with_capacity(readers);
        for reader in 0..readers {
            // Two chunks in flight per reader: both threads busy, little memory.
            let (sender, inbox) = std::sync::mpsc::sync_channel::<Vec<Recorded>>(2);
            inboxes.push(inbox);
            handles.push(scope.spawn(move || -> Result<(), StoreError> {
                let mut index = reader as u64;
                while index < chunks {
                    let from = index * chunk + 1;
                    let max = chunk.min(head + 1 - from);
                    let events = store.read_all(from, usize::try_from(max).unwrap_or(BATCH))?;
                    // Positions are gapless, so this chunk is exactly `from..from + max`.
                    let batch: Vec<Recorded> = events
                        .iter()
                        .filter(|event| event.position < from + max)
                        .filter_map(decode)
                        .collect();
                    if sender.send(batch).is_err() {
                        return Ok(());
                    }
                    index += readers as u64;
                }
                Ok(())
            }));
        }
        let mut received = 0;
        'chunks: for index in 0..chunks {
            match inboxes[(index % readers as u64) as usize].recv() {
                Ok(batch) => projections.extend_deferred(batch),
                // The reader stopped early: its error is reported below.
                Err(_) => break 'chunks,
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

/// Starts the live projector task. It ends when the store closes.
pub(crate) fn spawn(
    mut subscription: Subscription,
    projections: Arc<RwLock<Projections>>,
    registry: Arc<RwLock<Registry>>,
    applied: watch::Sender<u64>,
    committed: broadcast::Sender<Arc<Committed>>,
    clock: Clock,
    metrics: Arc<Metrics>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Runs until the store closes, not merely until the server starts stopping: mutations
        // still in flight during a graceful shutdown wait for it (read-your-writes).
        loop {
            let Some(first) = subscription.next().await else {
                break;
            };
            let mut batch = Vec::new();
            let mut next = Some(first);
            // Take whatever else is ready right now, so a burst costs one lock, not one per event.
            while let Some(item) = next {
                match item {
                    Ok(event) => batch.push(event),
                    Err(error) => {
                        // The subscription retries from the same position on the next call.
                        tracing::error!(%error, "reading the event log for the read models failed; retrying");
                        metrics.projection_errors.inc();
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                }
                if batch.len() >= BATCH {
                    break;
                }
                next = subscription.next().now_or_never().flatten();
            }
            if batch.is_empty() {
                continue;
            }
            let last = batch.last().map_or(0, |event| event.position);
            apply_admin(&registry, &batch, &metrics);
            let delivered = apply(&projections, &batch, &clock, &metrics);
            applied.send_replace(last);
            for event in delivered {
                // No receivers is fine: nobody is subscribed.
                let _ = committed.send(Arc::new(event));
            }
        }
        tracing::info!("projector stopped");
    })
}

/// The user registry as of `position`: the `admin` stream's events up to it (the live
/// projector applies the later ones).
pub(crate) fn registry_up_to(store: &SledStore, position: u64) -> Result<Registry, String> {
    let mut registry = Registry::default();
    for event in store.read_stream(ADMIN_STREAM).map_err(|e| e.to_string())? {
        if event.position > position {
            break;
        }
        registry.apply(&AdminEvent::decode(&event.event_type, &event.payload)?);
    }
    Ok(registry)
}

/// Folds the batch's `admin` events into the registry (before the batch counts as applied, so
/// an admin change is in force when its mutation answers).
fn apply_admin(registry: &RwLock<Registry>, batch: &[RecordedEvent], metrics: &Metrics) {
    let mut admin = batch
        .iter()
        .filter(|e| e.stream_id == ADMIN_STREAM)
        .peekable();
    if admin.peek().is_none() {
        return;
    }
    let mut registry = registry.write().unwrap_or_else(PoisonError::into_inner);
    for event in admin {
        match AdminEvent::decode(&event.event_type, &event.payload) {
            Ok(change) => registry.apply(&change),
            Err(error) => {
                tracing::error!(position = event.position, %error, "an admin event cannot be read; the registry leaves it out");
                metrics.projection_errors.inc();
            }
        }
    }
}

/// Applies a batch under one write lock and returns what subscriptions should hear.
fn apply(
    projections: &RwLock<Projections>,
    batch: &[RecordedEvent],
    clock: &Clock,
    metrics: &Metrics,
) -> Vec<Committed> {
    let today = clock.today();
    let mut projections = write(projections);
    let mut delivered = Vec::with_capacity(batch.len());
    for event in batch {
        if matches!(event.stream_id.as_str(), ADMIN_STREAM | ACCESS_LOG_STREAM) {
            continue;
        }
        let Some(recorded) = decode(event) else {
            metrics.projection_errors.inc();
            continue;
        };
        let id = recorded.trajectory;
        let as_of = AsOf::date(today.max(event.occurred_on));
        let before = projections.summary(id, as_of).map(|s| s.team);
        projections.apply(recorded);
        let after = projections.summary(id, as_of).map(|s| s.team);
        let mut teams: Vec<TeamCode> = before.into_iter().collect();
        if let Some(after) = after {
            if !teams.contains(&after) {
                teams.push(after);
            }
        }
        delivered.push(Committed {
            position: event.position,
            trajectory: id,
            version: event.version,
            event_id: EventId::from_uuid(event.event_id),
            event_type: event.event_type.clone(),
            occurred_on: event.occurred_on,
            recorded_at: event.recorded_at,
            teams,
        });
    }
    metrics
        .projection_position
        .set(i64::try_from(projections.position()).unwrap_or(i64::MAX));
    delivered
}

/// Turns a stored envelope into what the projections take; `None` (logged) when it cannot.
fn decode(event: &RecordedEvent) -> Option<Recorded> {
    if matches!(event.stream_id.as_str(), ADMIN_STREAM | ACCESS_LOG_STREAM) {
        return None;
    }
    let Some(trajectory) = trajectory_of(&event.stream_id) else {
        tracing::warn!(
            position = event.position,
            "skipping an event of a stream that is not a trajectory"
        );
        return None;
    };
    match jeugdpad_app::to_fact(event) {
        Ok(fact) => Some(Recorded {
            position: event.position,
            trajectory,
            recorded_at: event.recorded_at,
            fact,
        }),
        Err(error) => {
            tracing::error!(position = event.position, %error, "an event cannot be read into the read models; it is left out");
            None
        }
    }
}

/// `trajectory-<uuid>` → the id.
pub(crate) fn trajectory_of(stream_id: &str) -> Option<TrajectoryId> {
    TrajectoryId::parse(stream_id.strip_prefix("trajectory-")?).ok()
}

fn write(projections: &RwLock<Projections>) -> std::sync::RwLockWriteGuard<'_, Projections> {
    projections.write().unwrap_or_else(PoisonError::into_inner)
}
