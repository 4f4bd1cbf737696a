//! De projector: keeps the read models in step with the durable log.
//!
//! One task owns every write to the projections. At start-up [`catch_up`] applies the whole log
//! through the application layer's feed (one derivation per touched trajectory); then [`spawn`] follows the store's
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
use jeugdpad_access::{AdminEvent, Registry, ADMIN_STREAM};
use jeugdpad_access_index::AccessIndex;
use jeugdpad_app::Clock;
use jeugdpad_domain::{EventId, TeamCode, TrajectoryId};
use jeugdpad_projections::{AsOf, Projections};
use jeugdpad_store::{RecordedEvent, Store, StoreError, Subscription};
use tokio::sync::{broadcast, watch};

use crate::metrics::Metrics;
use crate::state::read;

/// How many events one live batch takes at most.
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

/// Applies every durable event to `projections` and to the access log's index, in one read of
/// the log (the application layer's start-up rebuild,
/// [`jeugdpad_app::feed::catch_up_with_access`]), after removing the index an earlier build kept
/// on disk; returns the position applied up to. The write lock is held throughout: nobody
/// queries the read models before `AppState::start` returns.
pub(crate) async fn catch_up(
    store: &Arc<Store>,
    projections: &Arc<RwLock<Projections>>,
    access: &Arc<AccessIndex>,
) -> Result<u64, StoreError> {
    let (store, projections, access) = (
        Arc::clone(store),
        Arc::clone(projections),
        Arc::clone(access),
    );
    tokio::task::spawn_blocking(move || {
        jeugdpad_access_index::remove_old_index(store.dir());
        jeugdpad_app::feed::catch_up_with_access(store.as_ref(), &mut write(&projections), &access)
    })
    .await
    .map_err(|e| StoreError::Storage(format!("catch-up task: {e}")))?
}

/// Starts the live projector task. It ends when the store closes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn(
    mut subscription: Subscription,
    store: std::sync::Weak<Store>,
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
            // A batch of access-log entries alone (every timeline look appends one) leaves the
            // read models as they are: no write lock that looks at a trajectory would wait for,
            // no blocking thread.
            let touches_read_models = batch
                .iter()
                .any(|event| TrajectoryId::from_stream_id(&event.stream_id).is_some());
            if !touches_read_models {
                applied.send_replace(last);
                continue;
            }
            // Applying reads each touched trajectory's stream from the store: off the workers.
            let task = {
                let (projections, clock, metrics) = (
                    Arc::clone(&projections),
                    clock.clone(),
                    Arc::clone(&metrics),
                );
                tokio::task::spawn_blocking(move || apply(&projections, &batch, &clock, &metrics))
            };
            let delivered = match task.await {
                Ok(delivered) => delivered,
                Err(error) => {
                    tracing::error!(%error, "applying events to the read models stopped unexpectedly");
                    metrics.projection_errors.inc();
                    Vec::new()
                }
            };
            // A trajectory whose stream could not be read is still pending: the batch does not
            // count as applied (no answer may claim it) until a retry derives it.
            settle(&projections, &store, &metrics).await;
            applied.send_replace(last);
            for event in delivered {
                // No receivers is fine: nobody is subscribed.
                let _ = committed.send(Arc::new(event));
            }
        }
        tracing::info!("projector stopped");
    })
}

/// Waits until no trajectory is pending in the read models, retrying the derivation once a
/// second while the store cannot be read (and giving up once the store is closed: the server
/// is stopping, and the next start rebuilds the read models from the log).
async fn settle(
    projections: &Arc<RwLock<Projections>>,
    store: &std::sync::Weak<Store>,
    metrics: &Metrics,
) {
    loop {
        let pending = read(projections).pending_count();
        if pending == 0 || store.strong_count() == 0 {
            return;
        }
        tracing::error!(
            pending,
            "trajectories could not be read from the store for the read models; retrying"
        );
        metrics.projection_errors.inc();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let projections = Arc::clone(projections);
        let retried =
            tokio::task::spawn_blocking(move || write(&projections).derive_pending()).await;
        if let Err(error) = retried {
            tracing::error!(%error, "retrying the read models' derivation stopped unexpectedly");
        }
    }
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
        let recorded = match jeugdpad_app::feed::logged_fact(event) {
            None => continue, // the registry, the access log: not the read models'
            Some(Ok(recorded)) => recorded,
            Some(Err(error)) => {
                tracing::error!(position = event.position, %error, "an event cannot be read into the read models; it is left out");
                metrics.projection_errors.inc();
                continue;
            }
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

fn write(projections: &RwLock<Projections>) -> std::sync::RwLockWriteGuard<'_, Projections> {
    projections.write().unwrap_or_else(PoisonError::into_inner)
}
