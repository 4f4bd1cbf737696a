//! The server's shared state: the store, the read models, the projector's progress and the
//! settings every request needs.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use jeugdpad_projections::{Norms, Projections};
use jeugdpad_store::{EventStore, SledStore, StoreError};
use tokio::sync::{broadcast, watch};

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::projector::{self, Committed};

/// Who is making the request: the seam where authentication plugs in.
///
/// Today the handler puts the configured operator identity into every request; the auth issue
/// replaces that one line with the user from the verified token (and adds role and team).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Stored as `recorded_by` on every event this caller records.
    pub user: String,
}

/// Protective limits of the GraphQL endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub body_bytes: usize,
    /// Deepest selection nesting accepted (GraphiQL's introspection query needs about 13).
    pub depth: usize,
    /// Highest query complexity accepted (each field costs 1; lists multiply by `first`).
    pub complexity: usize,
    /// How long a mutation waits for the read models to include its own write before it says so.
    pub read_your_writes: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 256 * 1024,
            depth: 16,
            complexity: 10_000,
            read_your_writes: Duration::from_secs(10),
        }
    }
}

/// Installation settings for [`AppState::start`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Where "today" comes from.
    pub clock: Clock,
    /// The waiting-time norms every report applies (the municipality's verordening).
    pub norms: Norms,
    /// The identity recorded as `recorded_by` until authentication arrives.
    pub operator: String,
    /// Request limits.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Clock::system(),
            norms: Norms::default(),
            operator: "local".to_owned(),
            limits: Limits::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or read while rebuilding the read models.
    #[error("the event store could not be read: {0}")]
    Store(#[from] StoreError),
    /// The listening socket could not be set up.
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    /// The operator identity is not a valid user id.
    #[error("the operator identity is not usable: {0}")]
    Operator(String),
}

/// Everything a request handler needs. Cheap to clone (all shared).
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) store: Arc<SledStore>,
    pub(crate) projections: Arc<RwLock<Projections>>,
    /// The global position up to which the projections include every event.
    pub(crate) applied: watch::Receiver<u64>,
    /// Every event after the projections applied it (for subscriptions).
    pub(crate) committed: broadcast::Sender<Arc<Committed>>,
    pub(crate) clock: Clock,
    pub(crate) operator: Caller,
    pub(crate) limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
    /// Turns `true` when the server stops: subscriptions end, websockets close.
    pub(crate) stopping: watch::Receiver<bool>,
    stop: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// Rebuilds the read models from the whole log, starts the projector that keeps them current,
    /// and returns once they include every event that was durable at the start.
    pub async fn start(store: SledStore, options: Options) -> Result<AppState, StartError> {
        jeugdpad_domain::UserId::parse(options.operator.as_str())
            .map_err(|e| StartError::Operator(e.to_string()))?;
        let store = Arc::new(store);
        let metrics = Arc::new(Metrics::new());
        let projections = Arc::new(RwLock::new(Projections::new(options.norms)));
        let started = std::time::Instant::now();
        let position = projector::catch_up(&store, &projections).await?;
        tracing::info!(
            position,
            trajectories = read(&projections).trajectory_count(),
            seconds = started.elapsed().as_secs_f64(),
            "read models rebuilt from the event log"
        );
        let (applied_tx, applied) = watch::channel(position);
        let (committed, _) = broadcast::channel(1024);
        let (stop, stopping) = watch::channel(false);
        projector::spawn(
            store.subscribe(position + 1),
            Arc::clone(&projections),
            applied_tx,
            committed.clone(),
            options.clock.clone(),
            Arc::clone(&metrics),
        );
        Ok(AppState {
            store,
            projections,
            applied,
            committed,
            clock: options.clock,
            operator: Caller {
                user: options.operator,
            },
            limits: options.limits,
            metrics,
            stopping,
            stop: Arc::new(stop),
        })
    }

    /// The store (for health checks, tests and tools that run beside the API).
    pub fn store(&self) -> &Arc<SledStore> {
        &self.store
    }

    /// A read lock on the read models. Hold it briefly: the projector waits for it.
    pub fn projections(&self) -> RwLockReadGuard<'_, Projections> {
        read(&self.projections)
    }

    /// The global position up to which the read models include every event.
    pub fn applied_position(&self) -> u64 {
        *self.applied.borrow()
    }

    /// The store's durable head.
    pub fn store_head(&self) -> u64 {
        self.store.head()
    }

    /// Today's date by the server's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today()
    }

    /// Runs `query` on the read models on a blocking thread: a report over a million
    /// trajectories takes long enough that it must not hold up an async worker. `Err` only if
    /// the query panicked (a bug).
    pub(crate) async fn query<T, F>(&self, query: F) -> Result<T, tokio::task::JoinError>
    where
        T: Send + 'static,
        F: FnOnce(&Projections) -> T + Send + 'static,
    {
        let projections = Arc::clone(&self.projections);
        tokio::task::spawn_blocking(move || query(&read(&projections))).await
    }

    /// Waits until the read models include `position` (read-your-writes). `false` when that did
    /// not happen within the configured time (or the projector stopped).
    pub async fn wait_applied(&self, position: u64) -> bool {
        let mut applied = self.applied.clone();
        let waited = tokio::time::timeout(
            self.limits.read_your_writes,
            applied.wait_for(|applied| *applied >= position),
        )
        .await;
        matches!(waited, Ok(Ok(_)))
    }

    /// Tells subscriptions, websockets and the projector that the server is stopping.
    pub(crate) fn signal_stop(&self) {
        self.stop.send_replace(true);
    }
}

/// A read lock that survives a panicked writer: the read models are rebuilt from the log on the
/// next start anyway, and refusing every read would be worse than serving them.
pub(crate) fn read(projections: &RwLock<Projections>) -> RwLockReadGuard<'_, Projections> {
    projections.read().unwrap_or_else(PoisonError::into_inner)
}
