//! The PostgreSQL back end ([`PgStore`]): one log shared by several `jeugdpad serve` nodes.
//!
//! # Tables
//!
//! In one schema (default `jeugdpad`), created and migrated by the program (`schema.rs`):
//! `events` (one row per event: position, stream, version, event id, chain hash, and the
//! envelope bytes the chain covers — the segment log's binary envelope, so that a store copied
//! between back ends keeps every hash), `head` (one row: the chain head), `vault` (the
//! per-subject data keys, outside the chain), `restoring` (a row only while a restore copies
//! into the schema; no node opens it then) and `migrations`.
//!
//! # One global order, no gaps, no skips
//!
//! Every append transaction starts by locking the one `head` row (`SELECT … FOR UPDATE`), checks
//! its appends under that lock, inserts its events at the positions after the head, moves the
//! head and commits. So positions are given out by one transaction at a time, across every
//! node, and a transaction only gets the lock after the one before it has committed and become
//! visible (PostgreSQL releases row locks after the commit is visible). A follower that reads
//! `position > n` therefore sees a gapless prefix of the log: the classic skip — reading 11
//! before a slower transaction commits 10 — cannot happen, because 11 is not given out before 10
//! is committed. The price is that appends of all nodes are serialised on that row; each
//! node's writer task commits many appends per transaction (group commit, as the embedded
//! engines do), so the lock is taken once per group, not once per event.
//!
//! # Durability
//!
//! An append is acknowledged after its transaction's `COMMIT` returned. With PostgreSQL's
//! default `synchronous_commit = on` that is after the commit record was flushed to the
//! server's disk (and to synchronous standbys, if configured). `docs/operations.md` says which
//! server settings this relies on. A `COMMIT` that fails or whose answer is lost leaves the
//! outcome unknown ([`StoreError::Storage`]); a retry with the same event ids is safe, because
//! appends are idempotent by event id.
//!
//! # Other nodes' appends
//!
//! Each append transaction also sends `NOTIFY` on the schema's channel with its new head
//! position (delivered on commit). A listener task per node publishes the position each
//! notification carries, so a node passes other nodes' appends to its subscriptions (and so to
//! its read models) within moments; without a notification it reads the head row every half
//! second, so a notification lost with a dropped connection delays an event by at most that,
//! never loses it. The log is the truth, the notification only the wake-up.
//!
//! # The client
//!
//! `tokio-postgres` with `deadpool-postgres` for the readers' pool, not `sqlx`: the statements
//! are few and fixed, so compile-time checked queries against a live database would buy little
//! and cost every build a database; the plain client gives what this engine needs directly —
//! typed arrays for one-statement group inserts, the connection's message stream for `LISTEN`,
//! and pipelining on one connection. It runs on a small runtime of the store's own, so the
//! blocking methods of the [`EventStore`] contract work from any thread.
//!
//! # When the server is unreachable
//!
//! A group whose look-ups or writes fail is rolled back and answered "not stored"
//! ([`StoreError::Failed`]); one whose `COMMIT` fails or goes unanswered, "outcome unknown"
//! ([`StoreError::Storage`]). When the connection itself is lost, the writer reports itself
//! stopped ([`crate::Condition`]) and tries to reconnect before the next group and on a
//! back-off (1 s doubling to 30 s), taking appends again as soon as the server answers. Reads
//! fail with [`StoreError::Unreachable`] while the server is away and work again when it is
//! back; nothing needs a restart.

mod listener;
mod schema;
#[cfg(feature = "test-support")]
pub mod testing;
mod vault;
mod verify;
mod writer;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_postgres::NoTls;

use crate::check::{Job, Submitted};
use crate::log::record;
use crate::sled_store::HeadState;
use crate::subscription::ReadLog;
use crate::{
    validate_stream_id, AppendOutcome, Condition, EventStore, ExpectedVersion, ProposedEvent,
    RecordedEvent, StoreError, Subscription, Vault, VerifyReport, WriterTimings,
};

pub(crate) use schema::validate_schema;

/// The schema the tables live in unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "jeugdpad";

/// How a [`PgStore`] is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// A libpq connection URL, `postgres://user@host:port/database` (TLS is not supported: use
    /// a local socket, a private network, or a TLS-terminating proxy beside the node).
    pub url: String,
    /// The schema that holds the tables (created if missing). Several installations can share
    /// one database in schemas of their own.
    pub schema: String,
    /// This node's own directory: where the installation secret (by default) and the server's
    /// address note live. Nothing in it is the log.
    pub local_dir: PathBuf,
    /// The most connections readers open (the writer and the listener have one each).
    pub pool_size: usize,
    /// For tests of the ordering guarantee only (`None` in service): every `n`-th transaction
    /// of this node waits this long between inserting its events and committing, as a slow
    /// client's would, holding the head lock meanwhile.
    pub slow_transactions: Option<(u32, Duration)>,
}

impl PgOptions {
    /// Options for `url` with the default schema and pool, keeping this node's files in
    /// `local_dir`.
    pub fn new(url: impl Into<String>, local_dir: impl Into<PathBuf>) -> Self {
        PgOptions {
            url: url.into(),
            schema: DEFAULT_SCHEMA.to_owned(),
            local_dir: local_dir.into(),
            pool_size: 16,
            slow_transactions: None,
        }
    }

    /// The URL as it may be shown and logged: without its password.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }

    /// The connection settings, with the schema as the search path.
    fn config(&self) -> Result<tokio_postgres::Config, StoreError> {
        validate_schema(&self.schema)?;
        let mut config: tokio_postgres::Config = self.url.parse().map_err(|e| {
            StoreError::InvalidLocation(format!(
                "{} is not a PostgreSQL connection URL ({e}); write postgres://USER@HOST:PORT/DATABASE",
                redact(&self.url)
            ))
        })?;
        // Custom plans always: the statements are prepared once per connection, and a generic
        // plan cached while the log was small (a sequential scan) would stay as it grows.
        let ours = format!(
            "-c search_path={} -c plan_cache_mode=force_custom_plan",
            self.schema
        );
        let options = match config.get_options() {
            Some(given) => format!("{given} {ours}"),
            None => ours,
        };
        config.options(&options);
        if config.get_application_name().is_none() {
            config.application_name("jeugdpad");
        }
        config.connect_timeout(Duration::from_secs(5));
        Ok(config)
    }
}

/// `url` without its password, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Turns a client error into the store's error: a lost or refused connection is
/// [`StoreError::Unreachable`], anything the server answered is [`StoreError::Storage`].
pub(crate) fn error(context: &str, e: &tokio_postgres::Error) -> StoreError {
    if e.code().is_none() {
        StoreError::Unreachable(format!("{context}: {e}"))
    } else {
        StoreError::storage(context, e)
    }
}

pub(crate) fn pool_error(e: &deadpool_postgres::PoolError) -> StoreError {
    StoreError::Unreachable(format!("no connection to PostgreSQL: {e}"))
}

/// Opens one connection and drives it on the current runtime until it closes.
pub(crate) async fn connect(
    config: &tokio_postgres::Config,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The store's own small runtime. It drives the connections, the writer and the listener, and
/// answers the blocking methods ([`Runtime::block_on`]), which therefore work from any thread —
/// a plain one, `spawn_blocking`, or (blocking it, as a file read would) an async worker.
#[derive(Debug)]
struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn new() -> Result<Self, StoreError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("jeugdpad-pg")
            .enable_all()
            .build()
            .map(|runtime| Runtime(Some(runtime)))
            .map_err(|e| StoreError::storage("cannot start the PostgreSQL runtime", e))
    }

    fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(tokio::runtime::Runtime::handle)
    }

    /// Runs `work` on this runtime and waits for it on the calling thread.
    fn block_on<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let handle = self.handle().ok_or(StoreError::Closed)?;
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        handle.spawn(async move {
            let _ = answer.send(work.await);
        });
        answered.recv().unwrap_or(Err(StoreError::Closed))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropping a runtime blocks until its threads end, which tokio forbids inside another
        // runtime; the last handle on a store may well be dropped there.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// What the writer and the listener tasks share with the handles. It does not own the runtime,
/// so a task never holds the last reference to it.
#[derive(Debug)]
pub(crate) struct Published {
    /// The highest position known committed: this node's own commits and, through the listener,
    /// everyone else's.
    head: watch::Sender<HeadState>,
    timings: Arc<WriterTimings>,
    condition: Arc<Condition>,
    /// Set when the store closes; the listener stops on it.
    closing: AtomicBool,
    config: tokio_postgres::Config,
    schema: String,
}

impl Published {
    /// Publishes `position` as committed, if it is news.
    fn publish(&self, position: u64) {
        self.head.send_if_modified(|head| {
            let newer = position > head.position;
            if newer {
                head.position = position;
            }
            newer
        });
    }

    /// The notification channel of this schema.
    fn channel(&self) -> String {
        format!("jeugdpad_{}", self.schema)
    }
}

pub(crate) type Pool = deadpool_postgres::Pool;

/// What the handles (store, subscriptions, vaults) share.
#[derive(Debug)]
pub(crate) struct Shared {
    pool: Pool,
    local_dir: PathBuf,
    published: Arc<Published>,
    runtime: Runtime,
}

impl Shared {
    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_log(from_position, max, decode_row)
    }

    /// Up to `max` rows of the log from `from_position` on, each `(position, envelope)` made
    /// into a `T` by `each`.
    fn read_log<T: Send + 'static>(
        &self,
        from_position: u64,
        max: usize,
        each: fn(&tokio_postgres::Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let pool = self.pool.clone();
        let from = i64::try_from(from_position.max(1)).unwrap_or(i64::MAX);
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            let statement = client
                .prepare_cached(
                    "SELECT position, envelope FROM events WHERE position >= $1 ORDER BY position LIMIT $2",
                )
                .await
                .map_err(|e| error("cannot read the log", &e))?;
            let rows = client
                .query(&statement, &[&from, &limit])
                .await
                .map_err(|e| error("cannot read the log", &e))?;
            rows.iter().map(each).collect()
        })
    }

    fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_stream_with(stream_id, decode_row)
    }

    /// One stream's events, each row decoded by `each` (the payload parsed, or kept as text).
    fn read_stream_with<P: Send + 'static>(
        &self,
        stream_id: &str,
        each: fn(&tokio_postgres::Row) -> Result<RecordedEvent<P>, StoreError>,
    ) -> Result<Vec<RecordedEvent<P>>, StoreError> {
        if validate_stream_id(stream_id).is_err() {
            return Ok(Vec::new());
        }
        let pool = self.pool.clone();
        let stream_id = stream_id.to_owned();
        self.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            let statement = client
                .prepare_cached(
                    "SELECT position, envelope FROM events WHERE stream_id = $1 ORDER BY version",
                )
                .await
                .map_err(|e| error("cannot read a stream", &e))?;
            let rows = client
                .query(&statement, &[&stream_id])
                .await
                .map_err(|e| error("cannot read a stream", &e))?;
            rows.iter().map(each).collect()
        })
    }
}

/// Decodes a `(position, envelope)` row, checking that the envelope is the row's.
pub(crate) fn decode_row(row: &tokio_postgres::Row) -> Result<RecordedEvent, StoreError> {
    row_event(row, record::decode_envelope)
}

/// [`decode_row`] with the payload as its stored JSON text (see [`EventStore::read_all_raw`]).
fn decode_row_raw(row: &tokio_postgres::Row) -> Result<crate::RawEvent, StoreError> {
    row_event(row, record::decode_envelope_raw)
}

/// The event of a `(position, envelope)` row, its envelope decoded by `decode`.
fn row_event<P>(
    row: &tokio_postgres::Row,
    decode: fn(&[u8]) -> Result<RecordedEvent<P>, String>,
) -> Result<RecordedEvent<P>, StoreError> {
    let position: i64 = row.get(0);
    let envelope: &[u8] = row.get(1);
    let position = u64::try_from(position).unwrap_or(0);
    let event = decode(envelope).map_err(|what| StoreError::Corrupt {
        position: Some(position),
        what,
    })?;
    if event.position != position {
        return Err(StoreError::Corrupt {
            position: Some(position),
            what: format!("the row holds the envelope of position {}", event.position),
        });
    }
    Ok(event)
}

impl ReadLog for Shared {
    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        Shared::read_all(self, from_position, max)
    }
}

/// `Corrupt` when the schema is the target of a restore that did not finish (see
/// [`PgStore::begin_restore`]): every open, and so `verify`, refuses it.
async fn refuse_unfinished_restore(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<(), StoreError> {
    let row = client
        .query_opt("SELECT since FROM restoring", &[])
        .await
        .map_err(|e| error("cannot look for an unfinished restore", &e))?;
    let Some(row) = row else {
        return Ok(());
    };
    let since: chrono::DateTime<chrono::Utc> = row.get(0);
    Err(StoreError::Corrupt {
        position: None,
        what: format!(
            "a restore into schema {schema} began at {since} and did not finish: its log may \
             be cut short. Drop the schema (DROP SCHEMA {schema} CASCADE) and run the restore \
             again"
        ),
    })
}

/// The PostgreSQL event store. See the module docs.
#[derive(Debug)]
pub struct PgStore {
    shared: Arc<Shared>,
    requests: Option<mpsc::UnboundedSender<Job>>,
    writer: Option<tokio::task::JoinHandle<()>>,
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl PgStore {
    /// Connects, creates or migrates the tables, and starts this node's writer and listener.
    /// Blocking (from any thread).
    pub fn open(options: &PgOptions) -> Result<Self, StoreError> {
        let config = options.config()?;
        std::fs::create_dir_all(&options.local_dir).map_err(|e| {
            StoreError::storage(
                &format!(
                    "cannot create this node's directory {:?}",
                    options.local_dir
                ),
                e,
            )
        })?;
        let runtime = Runtime::new()?;
        let schema = options.schema.clone();
        let (writer_client, position) = runtime.block_on({
            let config = config.clone();
            let url = options.url.clone();
            async move {
                let mut client = connect(&config).await.map_err(|e| unreachable(&url, &e))?;
                schema::migrate(&mut client, &schema).await?;
                refuse_unfinished_restore(&client, &schema).await?;
                let head = client
                    .query_one("SELECT position FROM head", &[])
                    .await
                    .map_err(|e| error("cannot read the head", &e))?;
                let statements = writer::Statements::prepare(&client)
                    .await
                    .map_err(|e| error("cannot prepare the writer's statements", &e))?;
                Ok((
                    (client, statements),
                    u64::try_from(head.get::<_, i64>(0)).unwrap_or(0),
                ))
            }
        })?;
        let pool = deadpool_postgres::Pool::builder(deadpool_postgres::Manager::from_config(
            config.clone(),
            NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        ))
        .max_size(options.pool_size.max(1))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| StoreError::storage("cannot build the connection pool", e))?;
        let (head, _) = watch::channel(HeadState {
            position,
            closed: false,
        });
        let published = Arc::new(Published {
            head,
            timings: Arc::new(WriterTimings::default()),
            condition: Arc::new(Condition::default()),
            closing: AtomicBool::new(false),
            config,
            schema: options.schema.clone(),
        });
        let handle = runtime.handle().ok_or(StoreError::Closed)?.clone();
        let (requests, receiver) = mpsc::unbounded_channel();
        let writer = handle.spawn(
            writer::PgWriter::new(
                Arc::clone(&published),
                writer_client,
                receiver,
                options.slow_transactions,
            )
            .run(),
        );
        let listener = handle.spawn(listener::run(Arc::clone(&published)));
        tracing::info!(
            url = %redact(&options.url),
            schema = %options.schema,
            head = position,
            format = "postgresql",
            "event store opened"
        );
        Ok(PgStore {
            shared: Arc::new(Shared {
                pool,
                local_dir: options.local_dir.clone(),
                published,
                runtime,
            }),
            requests: Some(requests),
            writer: Some(writer),
            listener: Some(listener),
        })
    }

    /// Opens only a store whose tables exist: a mistyped schema or database is
    /// [`StoreError::NotAStore`], not a new, empty store.
    pub fn open_existing(options: &PgOptions) -> Result<Self, StoreError> {
        let config = options.config()?;
        let runtime = Runtime::new()?;
        let (url, schema) = (options.url.clone(), options.schema.clone());
        let exists = runtime.block_on(async move {
            let client = connect(&config).await.map_err(|e| unreachable(&url, &e))?;
            let row = client
                .query_one(
                    "SELECT to_regclass($1) IS NOT NULL",
                    &[&format!("{schema}.head")],
                )
                .await
                .map_err(|e| error("cannot look for the tables", &e))?;
            Ok(row.get::<_, bool>(0))
        })?;
        if !exists {
            return Err(StoreError::NotAStore(PathBuf::from(format!(
                "{} (schema {})",
                options.display_url(),
                options.schema
            ))));
        }
        PgStore::open(options)
    }

    /// Walks the whole log in position order (positions, chain, envelope against columns,
    /// stream versions, the head row) and reports what is wrong; with `at`, also the hash
    /// stored at that position. Blocking; safe while appends go on.
    pub fn verify_at(&self, at: Option<u64>) -> Result<VerifyReport, StoreError> {
        let pool = self.shared.pool.clone();
        self.shared
            .runtime
            .block_on(async move { verify::verify(&pool, at).await })
    }

    /// See [`crate::LogStore::hash_at`]. Blocking.
    pub fn hash_at(&self, position: u64) -> Result<String, StoreError> {
        let pool = self.shared.pool.clone();
        let at = i64::try_from(position).unwrap_or(i64::MAX);
        self.shared.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            let row = client
                .query_opt("SELECT hash FROM events WHERE position = $1", &[&at])
                .await
                .map_err(|e| error("cannot read the log", &e))?;
            let hash: Vec<u8> = row
                .ok_or(StoreError::Corrupt {
                    position: Some(position),
                    what: "no event is stored at this position".into(),
                })?
                .get(0);
            Ok(hex::encode(hash))
        })
    }

    /// See [`crate::LogStore::append_blocking`].
    pub fn append_blocking(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::append(&self.requests, stream_id, expected, events).wait()
    }

    /// See [`crate::SledStore::import_batch`]: the same contract.
    pub fn import_batch(
        &self,
        events: Vec<RecordedEvent>,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        Submitted::import(&self.requests, events).answer()
    }

    /// [`PgStore::import_batch`], blocking the calling thread.
    pub fn import_batch_blocking(
        &self,
        events: Vec<RecordedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::import(&self.requests, events).wait()
    }

    /// See [`crate::LogStore::import_envelopes_blocking`].
    pub fn import_envelopes_blocking(
        &self,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<AppendOutcome, StoreError> {
        Submitted::import_envelopes(&self.requests, envelopes, record::decode_envelope).wait()
    }

    /// See [`crate::Store::read_envelopes`].
    pub fn read_envelopes(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<crate::StoredEnvelope>, StoreError> {
        self.shared.read_log(from_position, max, |row| {
            let position: i64 = row.get(0);
            Ok(crate::StoredEnvelope {
                position: u64::try_from(position).map_err(|_| StoreError::Corrupt {
                    position: None,
                    what: format!("a negative position {position}"),
                })?,
                bytes: row.get(1),
            })
        })
    }

    /// Marks the schema as the target of a restore that has not finished (durably, before
    /// the first event is copied): until [`PgStore::finish_restore`], no node opens it.
    pub fn begin_restore(&self) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO restoring DEFAULT VALUES",
            "cannot mark the restore as begun",
        )
    }

    /// Whether the schema holds the mark of [`PgStore::begin_restore`].
    pub fn restore_unfinished(&self) -> Result<bool, StoreError> {
        let pool = self.shared.pool.clone();
        self.shared.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            let row = client
                .query_one("SELECT EXISTS (SELECT 1 FROM restoring)", &[])
                .await
                .map_err(|e| error("cannot look for an unfinished restore", &e))?;
            Ok(row.get(0))
        })
    }

    /// Removes the mark of [`PgStore::begin_restore`]: the restore has verified.
    pub fn finish_restore(&self) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM restoring",
            "cannot mark the restore as finished",
        )
    }

    /// Runs one statement in a transaction of its own.
    fn execute(&self, sql: &'static str, context: &'static str) -> Result<(), StoreError> {
        let pool = self.shared.pool.clone();
        self.shared.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            client
                .execute(sql, &[])
                .await
                .map_err(|e| error(context, &e))?;
            Ok(())
        })
    }

    /// Stops the writer after it answered every submitted append, and the listener.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.shutdown()
    }

    /// The kluis in the `vault` table (see [`Vault`]).
    pub fn vault(&self) -> Result<Vault, StoreError> {
        Ok(Vault::postgres(Arc::clone(&self.shared)))
    }

    /// How long appends, transactions (`flush`) and commits (`fsync`) take.
    pub fn timings(&self) -> Arc<WriterTimings> {
        Arc::clone(&self.shared.published.timings)
    }

    /// Whether the writer takes appends (not while the server is unreachable).
    pub fn condition(&self) -> Arc<Condition> {
        Arc::clone(&self.shared.published.condition)
    }

    /// This node's own directory (see [`PgOptions::local_dir`]).
    pub fn dir(&self) -> &Path {
        &self.shared.local_dir
    }

    /// The schema the tables live in.
    pub fn schema(&self) -> &str {
        &self.shared.published.schema
    }

    fn shutdown(&mut self) -> Result<(), StoreError> {
        drop(self.requests.take());
        let mut result = Ok(());
        let published = &self.shared.published;
        if let Some(writer) = self.writer.take() {
            let joined = self
                .shared
                .runtime
                .block_on(async move { Ok(writer.await) });
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the event store writer task failed");
                result = Err(StoreError::Storage("the writer task failed".into()));
            }
        }
        published.closing.store(true, Ordering::Relaxed);
        if let Some(listener) = self.listener.take() {
            listener.abort();
        }
        published.head.send_modify(|head| head.closed = true);
        result
    }
}

/// The error of a first connection, saying where and what to check.
fn unreachable(url: &str, e: &tokio_postgres::Error) -> StoreError {
    let cause = std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string);
    StoreError::Unreachable(format!(
        "{} answers no connection ({cause}); is PostgreSQL running there (`pg_isready`), and may this user connect?",
        redact(url)
    ))
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if self.requests.is_some() || self.writer.is_some() {
            if let Err(e) = self.shutdown() {
                tracing::error!(error = %e, "closing the event store failed");
            }
        }
    }
}

impl EventStore for PgStore {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        Submitted::append(&self.requests, stream_id, expected, events).answer()
    }

    fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        self.shared.read_stream(stream_id)
    }

    fn read_stream_raw(&self, stream_id: &str) -> Result<Vec<crate::RawEvent>, StoreError> {
        self.shared.read_stream_with(stream_id, decode_row_raw)
    }

    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.shared.read_all(from_position, max)
    }

    fn read_all_raw(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<crate::RawEvent>, StoreError> {
        self.shared.read_log(from_position, max, decode_row_raw)
    }

    fn head(&self) -> u64 {
        self.shared.published.head.borrow().position
    }

    fn subscribe(&self, from_position: u64) -> Subscription {
        let head = self.shared.published.head.subscribe();
        Subscription::new(Arc::clone(&self.shared) as _, head, from_position)
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            redact("postgres://jp:geheim@db.example:5432/test"),
            "postgres://jp:***@db.example:5432/test"
        );
        assert_eq!(
            redact("postgres://root@127.0.0.1/test"),
            "postgres://root@127.0.0.1/test"
        );
        assert_eq!(redact("host=x"), "host=x");
    }
}
