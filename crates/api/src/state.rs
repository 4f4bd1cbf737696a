//! The server's shared state: the store, the read models, the projector's progress and the
//! settings every request needs.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use jeugdpad_access_index::{AccessIndex, Follower};
use jeugdpad_projections::{Norms, Projections};
use jeugdpad_store::{EventStore, Store, StoreError};
use tokio::sync::{broadcast, watch};

use jeugdpad_app::{Clock, FreeText};
use jeugdpad_oidc::{OidcConfig, OidcError, Verifier};
use jeugdpad_secrets::{InstallSecret, SecretError};

use crate::auth::Auth;
use crate::metrics::Metrics;
use crate::projector::{self, Committed};
use crate::session::{SessionOptions, Sessions};

/// The installation secret's file name in the data directory.
pub const SECRET_FILE: &str = "install-secret";

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
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where "today" comes from.
    pub clock: Clock,
    /// The waiting-time norms every report applies (the municipality's verordening).
    pub norms: Norms,
    /// Request limits.
    pub limits: Limits,
    /// Sign-in: identity provider, rate limit, installation secret.
    pub auth: AuthOptions,
    /// How long the web app's browser sessions last.
    pub sessions: SessionOptions,
}

/// How callers sign in and how fast they may go.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// The municipality's identity provider, if JWTs are accepted besides API tokens.
    pub oidc: Option<OidcConfig>,
    /// Requests per minute one token (or one identity-provider user) may make; bursts up to
    /// the same number.
    pub requests_per_minute: NonZeroU32,
    /// The installation secret behind BSN pseudonyms; default `<data>/install-secret`.
    pub secret_file: Option<PathBuf>,
    /// Make a new installation secret even though the store already holds subject keys made
    /// from a BSN with the missing one (their BSN look-ups then find nothing): only when the old
    /// one is lost for good.
    pub new_secret: bool,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            oidc: None,
            requests_per_minute: NonZeroU32::new(600).unwrap_or(NonZeroU32::MIN),
            secret_file: None,
            new_secret: false,
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
    /// The installation secret could not be read or created.
    #[error("the installation secret: {0}")]
    Secret(#[from] SecretError),
    /// The installation secret is missing while the store holds subject keys made with it.
    #[error(
        "the installation secret {} is missing, but this store holds subject keys made from a \
         BSN with it ({youths} in all): with a new secret no BSN would find its youth any \
         more. Restore the file from the backup kept apart from the data \
         directory (the municipality's password vault, docs/security.md \"Key material\"), \
         mode 0600; only if it is lost for good, start once with --new-secret (a BSN then \
         starts a new subject)",
        path.display()
    )]
    SecretMissing {
        /// Where the secret should be.
        path: PathBuf,
        /// How many youths have a subject key made from a BSN.
        youths: usize,
    },
    /// The identity provider's keys could not be loaded.
    #[error("the identity provider (OIDC): {0}")]
    Oidc(#[from] OidcError),
    /// The user registry (the `admin` stream) cannot be read.
    #[error("the user registry: {0}")]
    Registry(String),
    /// The access log's index could not make its scratch files in the data directory.
    #[error("the access-log index: {0}")]
    AccessIndex(#[from] jeugdpad_access_index::IndexError),
}

/// Makes the installation secret that is missing at `path` — unless the store already holds
/// subject keys made from a BSN with the lost one (`youths`) and the operator did not say
/// `--new-secret` (`forced`): a silent new secret would make every BSN look-up find nothing. A
/// store of synthetic or imported keys only (`seed --synthetic`) needs none and gets one.
fn new_secret(
    path: &std::path::Path,
    youths: usize,
    forced: bool,
) -> Result<InstallSecret, StartError> {
    if youths > 0 && !forced {
        return Err(StartError::SecretMissing {
            path: path.to_path_buf(),
            youths,
        });
    }
    let (secret, created) = InstallSecret::load_or_create(path)?;
    if created && youths > 0 {
        tracing::warn!(file = ?path, youths, "made a NEW installation secret although the store holds subject keys made from a BSN with the old one (--new-secret): those youths are no longer found by BSN; back the new secret up apart from the data (docs/security.md)");
    } else if created {
        tracing::warn!(file = ?path, "created the installation secret; back it up apart from the data (docs/security.md)");
    }
    Ok(secret)
}

/// Everything a request handler needs. Cheap to clone (all shared).
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) store: Arc<Store>,
    /// The live projector; it holds a subscription (and so the database) until it ends, which
    /// it does once the store is closed. Shutdown waits for it so the directory is free.
    pub(crate) projector: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    pub(crate) projections: Arc<RwLock<Projections>>,
    /// The global position up to which the projections include every event.
    pub(crate) applied: watch::Receiver<u64>,
    /// Every event after the projections applied it (for subscriptions).
    pub(crate) committed: broadcast::Sender<Arc<Committed>>,
    pub(crate) clock: Clock,
    pub(crate) limits: Limits,
    /// Sign-in and rate limits; the user registry.
    pub(crate) auth: Auth,
    /// Seals and opens free text per subject (crypto-shredding).
    pub(crate) free_text: FreeText,
    /// The installation secret: BSN → subject key.
    pub(crate) secret: Arc<InstallSecret>,
    /// The web app's browser sessions (`session.rs`).
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) metrics: Arc<Metrics>,
    /// The access log's index (NEN 7513 inquiries), caught up at start and kept current by the
    /// follower, which every access-log append nudges.
    pub(crate) access_index: Arc<AccessIndex>,
    pub(crate) access_follower: Arc<Follower>,
    /// Turns `true` when the server stops: subscriptions end, websockets close.
    pub(crate) stopping: watch::Receiver<bool>,
    stop: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// Rebuilds the read models from the whole log, starts the projector that keeps them current,
    /// and returns once they include every event that was durable at the start.
    pub async fn start(store: Store, options: Options) -> Result<AppState, StartError> {
        let secret_file = options
            .auth
            .secret_file
            .clone()
            .unwrap_or_else(|| store.dir().join(SECRET_FILE));
        // Read (and checked) now; made, if it is missing, only once the store is known to hold
        // no trajectory whose pseudonym it made.
        let existing = InstallSecret::load(&secret_file)?;
        let oidc = match options.auth.oidc.clone() {
            Some(config) => {
                let issuer = config.issuer.clone();
                Some((Verifier::new(config).await?, issuer))
            }
            None => None,
        };
        let free_text = FreeText::new(store.vault()?);
        let store = Arc::new(store);
        let metrics = Arc::new(Metrics::new(
            store.timings(),
            store.condition(),
            store.dir().to_path_buf(),
        ));
        // The read models keep what reports need and read raw facts from the store on demand.
        let facts = Arc::new(jeugdpad_app::feed::StoreFacts::new(&store));
        let projections = Arc::new(RwLock::new(Projections::with_source(options.norms, facts)));
        let started = std::time::Instant::now();
        // The access log's index is fed by the same read of the log as the read models.
        let access_index = Arc::new(AccessIndex::new_in(store.dir())?);
        let position = projector::catch_up(&store, &projections, &access_index).await?;
        let access_follower = Arc::new(Follower::start(&access_index, &store));
        metrics.startup_rebuild(started.elapsed().as_secs_f64());
        tracing::info!(
            position,
            trajectories = read(&projections).trajectory_count(),
            seconds = started.elapsed().as_secs_f64(),
            "read models rebuilt from the event log"
        );
        let youths = read(&projections).subjects_from_bsn();
        let secret = match existing {
            Some(secret) => secret,
            None => new_secret(&secret_file, youths, options.auth.new_secret)?,
        };
        let registry = {
            let store = Arc::clone(&store);
            tokio::task::spawn_blocking(move || {
                jeugdpad_app::admin::load_registry(store.as_ref(), position)
            })
            .await
            .map_err(|e| StartError::Registry(e.to_string()))?
            .map_err(|e| StartError::Registry(e.to_string()))?
        };
        if registry.users().is_empty() {
            tracing::warn!("no users yet: add one with `jeugdpad user add` and `jeugdpad token create` (docs/operator guide)");
        }
        let registry = Arc::new(RwLock::new(registry));
        let (applied_tx, applied) = watch::channel(position);
        let (committed, _) = broadcast::channel(1024);
        let (stop, stopping) = watch::channel(false);
        let projector = projector::spawn(
            store.subscribe(position + 1),
            Arc::downgrade(&store),
            Arc::clone(&projections),
            Arc::clone(&registry),
            applied_tx,
            committed.clone(),
            options.clock.clone(),
            Arc::clone(&metrics),
        );
        Ok(AppState {
            store,
            projector: Arc::new(std::sync::Mutex::new(Some(projector))),
            projections,
            applied,
            committed,
            clock: options.clock,
            limits: options.limits,
            auth: Auth::new(registry, oidc, options.auth.requests_per_minute),
            free_text,
            secret: Arc::new(secret),
            sessions: Arc::new(Sessions::new(options.sessions)),
            metrics,
            access_index,
            access_follower,
            stopping,
            stop: Arc::new(stop),
        })
    }

    /// The store (for health checks, tests and tools that run beside the API).
    pub fn store(&self) -> &Arc<Store> {
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

    /// The server's clock (for tools and tests that record beside it, such as admin changes).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Runs `query` on the read models on a blocking thread: a report over a million
    /// trajectories takes long enough that it must not hold up an async worker. `Err` when the
    /// query panicked (a bug) or when the store could not be read for a trajectory's facts
    /// while it ran (the answer could be incomplete, so it is not given).
    pub(crate) async fn query<T, F>(&self, query: F) -> Result<T, QueryError>
    where
        T: Send + 'static,
        F: FnOnce(&Projections) -> T + Send + 'static,
    {
        let projections = Arc::clone(&self.projections);
        tokio::task::spawn_blocking(move || answer(&read(&projections), query))
            .await
            .map_err(|e| QueryError::Panicked(e.to_string()))?
    }

    /// Runs a short `query` — one trajectory's snapshot — right here when the read models are
    /// free and the store is the segment log ([`Store::reads_are_short`]), and like
    /// [`AppState::query`] on a blocking thread otherwise (the projector is writing them, or the
    /// log is in sled or PostgreSQL). Such a look is tens of microseconds of work and a few
    /// reads of the log (from the page cache, as a rule); handing it to another thread and back
    /// cost more than that, and a timeline is what consultants open all day.
    pub(crate) async fn look_up<T, F>(&self, query: F) -> Result<T, QueryError>
    where
        T: Send + 'static,
        F: FnOnce(&Projections) -> T + Send + 'static,
    {
        if !self.store.reads_are_short() {
            return self.query(query).await;
        }
        match self.try_here(query) {
            Ok(answered) => answered,
            Err(query) => self.query(query).await,
        }
    }

    /// [`AppState::look_up`] on this thread, or `query` handed back when the lock is taken.
    fn try_here<T, F>(&self, query: F) -> Result<Result<T, QueryError>, F>
    where
        F: FnOnce(&Projections) -> T,
    {
        let projections = match self.projections.try_read() {
            Ok(projections) => projections,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(query),
        };
        // As on the blocking thread, a panic (a bug) answers this request only.
        Ok(
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| answer(&projections, query)))
                .unwrap_or_else(|panic| Err(QueryError::Panicked(panic_message(panic.as_ref())))),
        )
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

/// Why a query on the read models gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum QueryError {
    /// A bug.
    #[error("the query stopped unexpectedly: {0}")]
    Panicked(String),
    /// The store could not be read for a trajectory's facts meanwhile.
    #[error("a trajectory's events could not be read from the store")]
    Unreadable,
}

/// `query`'s answer, unless the store could not be read for a trajectory's facts meanwhile.
fn answer<T>(
    projections: &Projections,
    query: impl FnOnce(&Projections) -> T,
) -> Result<T, QueryError> {
    let failures = projections.source_failures();
    let answer = query(projections);
    if projections.source_failures() == failures {
        Ok(answer)
    } else {
        Err(QueryError::Unreadable)
    }
}

/// What a caught panic said, for the log.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// A read lock that survives a panicked writer: the read models are rebuilt from the log on the
/// next start anyway, and refusing every read would be worse than serving them.
pub(crate) fn read(projections: &RwLock<Projections>) -> RwLockReadGuard<'_, Projections> {
    projections.read().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A look at one trajectory is answered on the spot while the read models are free, waits
    /// on a blocking thread while the projector writes them, and a panic in it answers that
    /// look alone. One async thread: a look that waited on it would hold up the test itself
    /// until the writer gives up (5 s), and so be seen answering too early.
    #[tokio::test(flavor = "current_thread")]
    async fn a_look_up_waits_for_the_projector_and_a_panic_ends_only_itself() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store opens");
        let state = AppState::start(store, Options::default())
            .await
            .expect("state");
        let count = state
            .look_up(Projections::trajectory_count)
            .await
            .expect("answered");
        assert_eq!(count, 0);

        // The projector's part: the write lock, held on a thread of its own until released.
        let (held, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let writer = std::thread::spawn({
            let projections = Arc::clone(&state.projections);
            move || {
                let _writing = projections.write().expect("write lock");
                held.0.send(()).expect("held");
                let _ = release.1.recv_timeout(std::time::Duration::from_secs(5));
            }
        });
        held.1.recv().expect("the write lock is held");
        let look = tokio::spawn({
            let state = state.clone();
            async move { state.look_up(|_| 7).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!look.is_finished(), "answered while the projector wrote");
        release.0.send(()).expect("released");
        writer.join().expect("the writer ends");
        assert_eq!(look.await.expect("joined").expect("answered"), 7);

        let panicked = state.look_up(|_| -> u8 { panic!("a bug") }).await;
        assert!(
            matches!(&panicked, Err(QueryError::Panicked(message)) if message == "a bug"),
            "{panicked:?}"
        );
        assert_eq!(state.look_up(|_| 8).await.expect("answered"), 8);
        state.signal_stop();
    }
}
