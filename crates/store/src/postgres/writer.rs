//! The node's writer: one task that commits every waiting append in one transaction.
//!
//! Per group: `BEGIN`, lock the head row, look up the durable versions of every stream and the
//! stored events of every id the group names (two queries, whatever the group's size), check
//! each request in arrival order ([`Group::check`], shared with the embedded engines), insert
//! the accepted events in one statement, move the head, `NOTIFY`, `COMMIT`. Only after the
//! commit returned are the waiters answered and the head published.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;
use uuid::Uuid;

use crate::check::{gather, Durable, Group, Job, Reply};
use crate::condition::{StopCause, Stopped};
use crate::envelope::HASH_LEN;
use crate::log::record;
use crate::postgres::{connect, decode_row, error, Published};
use crate::sidecar::ChainHead;
use crate::{AppendOutcome, RecordedEvent, StoreError};

/// The first wait before a writer whose server went away tries again, and the longest.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// The durable state a group is checked against, fetched under the head lock.
struct Fetched {
    versions: HashMap<String, u64>,
    events: HashMap<Uuid, RecordedEvent>,
}

impl Durable for Fetched {
    fn durable_version(&mut self, stream_id: &str) -> Result<u64, StoreError> {
        Ok(self.versions.get(stream_id).copied().unwrap_or(0))
    }

    fn durable_event(&mut self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        Ok(self.events.get(&event_id).cloned())
    }

    fn canonical(&self, event: &RecordedEvent) -> Result<Vec<u8>, StoreError> {
        record::encode_envelope(event)
    }
}

/// How a group's transaction failed.
enum Failure {
    /// Before `COMMIT` was sent: nothing of the group is stored.
    NotStored(StoreError),
    /// `COMMIT` itself failed or its answer was lost: the outcome is unknown.
    Unknown(StoreError),
}

/// The writer's connection and its prepared statements.
pub(crate) type Connection = (tokio_postgres::Client, Statements);

/// Connects and prepares the writer's statements.
pub(crate) async fn open_connection(
    config: &tokio_postgres::Config,
) -> Result<Connection, tokio_postgres::Error> {
    let client = connect(config).await?;
    let statements = Statements::prepare(&client).await?;
    Ok((client, statements))
}

pub(crate) struct PgWriter {
    published: Arc<Published>,
    client: Option<Connection>,
    requests: mpsc::UnboundedReceiver<Job>,
    /// How long to wait before the next reconnection attempt, and when it is due.
    retry_after: Duration,
    next_retry: Instant,
    /// Groups committed or tried, and the test knob [`crate::PgOptions::slow_transactions`].
    groups: u64,
    slow: Option<(u32, Duration)>,
}

impl PgWriter {
    pub(crate) fn new(
        published: Arc<Published>,
        client: Connection,
        requests: mpsc::UnboundedReceiver<Job>,
        slow: Option<(u32, Duration)>,
    ) -> Self {
        PgWriter {
            published,
            client: Some(client),
            requests,
            retry_after: FIRST_RETRY,
            next_retry: Instant::now(),
            groups: 0,
            slow,
        }
    }

    pub(crate) async fn run(mut self) {
        while let Some(first) = self.next_request().await {
            let group = gather(first, || self.requests.try_recv().ok());
            self.commit(group).await;
        }
        tracing::debug!("PostgreSQL writer stopped");
    }

    /// The next request; without a connection, waking up on the back-off to reconnect.
    async fn next_request(&mut self) -> Option<Job> {
        loop {
            if self.client.is_some() {
                return self.requests.recv().await;
            }
            let wait = self.next_retry.saturating_duration_since(Instant::now());
            match tokio::time::timeout(wait, self.requests.recv()).await {
                Ok(job) => return job,
                Err(_) => self.reconnect().await,
            }
        }
    }

    async fn reconnect(&mut self) {
        match open_connection(&self.published.config).await {
            Ok(client) => {
                tracing::info!("the PostgreSQL server answers again; taking appends");
                self.client = Some(client);
                self.retry_after = FIRST_RETRY;
                self.published.condition.resume();
            }
            Err(e) => {
                tracing::debug!(error = %e, "PostgreSQL still unreachable");
                self.next_retry = Instant::now() + self.retry_after;
                self.retry_after = (self.retry_after * 2).min(LAST_RETRY);
            }
        }
    }

    async fn commit(&mut self, jobs: Vec<Job>) {
        // A connection the server closed while the writer was idle (a restart of the database)
        // is replaced before the group, not after the group failed on it.
        if self
            .client
            .as_ref()
            .is_some_and(|(client, _)| client.is_closed())
        {
            tracing::info!("the connection to PostgreSQL was closed; reconnecting");
            self.client = None;
        }
        if self.client.is_none() {
            self.reconnect().await;
        }
        let Some((client, statements)) = self.client.as_ref() else {
            let stopped = self.published.condition.stopped().unwrap_or_else(|| {
                let stopped = Stopped {
                    cause: StopCause::Failed,
                    what: "the PostgreSQL server cannot be reached; appends are refused until it answers again".into(),
                    resumes_by_itself: true,
                };
                self.published.condition.stop(stopped.clone());
                stopped
            });
            let error = stopped.error();
            for job in jobs {
                let (reply, submitted) = job.into_reply();
                answer(&self.published, reply, submitted, Err(copy(&error)));
            }
            return;
        };
        self.groups += 1;
        let slow = self
            .slow
            .filter(|(every, _)| *every > 0 && self.groups.is_multiple_of(u64::from(*every)))
            .map(|(_, delay)| delay);
        match transaction(client, statements, &self.published, &jobs, slow).await {
            Ok((answers, head)) => {
                if let Some(head) = head {
                    self.published.publish(head);
                }
                for (job, result) in jobs.into_iter().zip(answers) {
                    let (reply, submitted) = job.into_reply();
                    answer(&self.published, reply, submitted, result);
                }
            }
            Err(failure) => {
                let (error, what) = match failure {
                    Failure::NotStored(e) => {
                        let what = format!("{e}; those appends were not stored");
                        (StoreError::Failed(what.clone()), what)
                    }
                    Failure::Unknown(e) => {
                        let what = format!("{e}; whether those appends were stored is unknown (a retry with the same event ids is safe)");
                        (StoreError::Storage(what.clone()), what)
                    }
                };
                tracing::error!(%what, "PostgreSQL append failed");
                if client.is_closed() {
                    self.client = None;
                    self.next_retry = Instant::now() + self.retry_after;
                    self.published.condition.stop(Stopped {
                        cause: StopCause::Failed,
                        what: format!("the connection to PostgreSQL was lost ({what}); appends are refused until the server answers again"),
                        resumes_by_itself: true,
                    });
                }
                for job in jobs {
                    let (reply, submitted) = job.into_reply();
                    answer(&self.published, reply, submitted, Err(copy(&error)));
                }
            }
        }
    }
}

/// The writer's statements, prepared once per connection: a statement sent as text is parsed
/// anew every time, which costs a round trip of its own.
pub(crate) struct Statements {
    lock: Statement,
    versions: Statement,
    ids: Statement,
    insert: Statement,
    head: Statement,
    notify: Statement,
}

impl Statements {
    pub(crate) async fn prepare(
        client: &tokio_postgres::Client,
    ) -> Result<Statements, tokio_postgres::Error> {
        let (lock, versions, ids, insert, head, notify) = tokio::try_join!(
            client.prepare("SELECT position, hash, recorded_at FROM head FOR UPDATE"),
            client.prepare(
                "SELECT stream_id, max(version) FROM events WHERE stream_id = ANY($1) GROUP BY stream_id"
            ),
            client.prepare("SELECT position, envelope FROM events WHERE event_id = ANY($1)"),
            client.prepare(
                "INSERT INTO events (position, stream_id, version, event_id, hash, envelope)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::bytea[], $6::bytea[])"
            ),
            client.prepare("UPDATE head SET position = $1, hash = $2, recorded_at = $3"),
            client.prepare("SELECT pg_notify($1, $2)"),
        )?;
        Ok(Statements {
            lock,
            versions,
            ids,
            insert,
            head,
            notify,
        })
    }
}

/// One group's transaction: the answer for each job and, when something was stored, the new head.
///
/// Two round trips to the server, whatever the group's size: `BEGIN`, the head lock and both
/// look-ups pipelined (sent together; the server runs them in order, the look-ups under the
/// lock); then the insert, the head's move, the `NOTIFY` and the `COMMIT`, pipelined. The
/// writer's timings call the first part (and the checks) `flush` and the second `fsync`.
async fn transaction(
    client: &tokio_postgres::Client,
    sql: &Statements,
    published: &Published,
    jobs: &[Job],
    slow: Option<Duration>,
) -> Result<(Vec<Result<AppendOutcome, StoreError>>, Option<u64>), Failure> {
    let started = Instant::now();
    let (streams, ids) = named(jobs);
    let (by_stream, by_id): (&[&(dyn ToSql + Sync)], &[&(dyn ToSql + Sync)]) =
        (&[&streams], &[&ids]);
    let (begun, head, version_rows, id_rows) = tokio::join!(
        client.batch_execute("BEGIN"),
        client.query_one(&sql.lock, &[]),
        client.query(&sql.versions, by_stream),
        client.query(&sql.ids, by_id),
    );
    let read = (|| {
        begun.map_err(|e| error("cannot begin", &e))?;
        let head = head.map_err(|e| error("cannot lock the head", &e))?;
        let version_rows = version_rows.map_err(|e| error("cannot read stream versions", &e))?;
        let id_rows = id_rows.map_err(|e| error("cannot look up event ids", &e))?;
        let position = u64::try_from(head.get::<_, i64>(0)).unwrap_or(0);
        let hash: [u8; HASH_LEN] =
            head.get::<_, &[u8]>(1)
                .try_into()
                .map_err(|_| StoreError::Corrupt {
                    position: Some(position),
                    what: "the head row's hash is not 32 bytes".into(),
                })?;
        let last_at: Option<DateTime<Utc>> = head.get(2);
        let mut fetched = Fetched {
            versions: HashMap::with_capacity(version_rows.len()),
            events: HashMap::with_capacity(id_rows.len()),
        };
        for row in &version_rows {
            let version: i64 = row.get(1);
            fetched
                .versions
                .insert(row.get(0), u64::try_from(version).unwrap_or(0));
        }
        for row in &id_rows {
            let event = decode_row(row)?;
            fetched.events.insert(event.event_id, event);
        }
        Ok((ChainHead { position, hash }, last_at, fetched))
    })();
    let (head, last_at, mut fetched) = match read {
        Ok(read) => read,
        Err(e) => return Err(abandon(client, e).await),
    };

    let mut group = Group::new(head, last_at);
    let answers: Vec<_> = jobs
        .iter()
        .map(|job| group.check(&mut fetched, job))
        .collect();
    if group.staged.is_empty() {
        // Only rejections and retries: nothing to write.
        return match client.batch_execute("ROLLBACK").await {
            Ok(()) => Ok((answers, None)),
            Err(e) => Err(Failure::NotStored(error("cannot roll back", &e))),
        };
    }

    let count = group.staged.len();
    let mut positions = Vec::with_capacity(count);
    let mut streams = Vec::with_capacity(count);
    let mut versions = Vec::with_capacity(count);
    let mut event_ids = Vec::with_capacity(count);
    let mut hashes = Vec::with_capacity(count);
    let mut envelopes = Vec::with_capacity(count);
    for staged in &group.staged {
        positions.push(as_i64(staged.event.position));
        streams.push(staged.event.stream_id.as_str());
        versions.push(as_i64(staged.event.version));
        event_ids.push(staged.event.event_id);
        hashes.push(&staged.hash[..]);
        envelopes.push(staged.canonical.as_slice());
    }
    let new_head = group.head.position;
    let (head_position, head_hash) = (as_i64(new_head), &group.head.hash[..]);
    let (channel, payload) = (published.channel(), new_head.to_string());
    let rows: &[&(dyn ToSql + Sync)] = &[
        &positions, &streams, &versions, &event_ids, &hashes, &envelopes,
    ];
    let moved_to: &[&(dyn ToSql + Sync)] = &[&head_position, &head_hash, &group.last_at];
    let notice: &[&(dyn ToSql + Sync)] = &[&channel, &payload];
    if let Some(delay) = slow {
        // The test knob: the writes, then a pause holding the lock, then the commit.
        let (inserted, moved, notified) = tokio::join!(
            client.execute(&sql.insert, rows),
            client.execute(&sql.head, moved_to),
            client.execute(&sql.notify, notice),
        );
        if let Err(e) = written(inserted, moved, notified) {
            return Err(abandon(client, e).await);
        }
        tokio::time::sleep(delay).await;
        let committing = Instant::now();
        published.timings.flush.record(committing - started);
        client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| Failure::Unknown(error("COMMIT failed", &e)))?;
        published.timings.fsync.record(committing.elapsed());
        return Ok((answers, Some(new_head)));
    }
    // The writes and the `COMMIT` in one round trip. If a write fails, the transaction is
    // aborted and PostgreSQL answers the `COMMIT` with a rollback (not an error): the failed
    // write's own error says the group was not stored. Only when every write succeeded does the
    // `COMMIT`'s answer decide.
    let writing = Instant::now();
    published.timings.flush.record(writing - started);
    let (inserted, moved, notified, committed) = tokio::join!(
        client.execute(&sql.insert, rows),
        client.execute(&sql.head, moved_to),
        client.execute(&sql.notify, notice),
        client.batch_execute("COMMIT"),
    );
    if let Err(e) = written(inserted, moved, notified) {
        // The `COMMIT` rolled back (or never reached a live connection); make sure.
        return Err(abandon(client, e).await);
    }
    committed.map_err(|e| Failure::Unknown(error("COMMIT failed", &e)))?;
    published.timings.fsync.record(writing.elapsed());
    Ok((answers, Some(new_head)))
}

/// The first failure among a group's three writes, named.
fn written(
    inserted: Result<u64, tokio_postgres::Error>,
    moved: Result<u64, tokio_postgres::Error>,
    notified: Result<u64, tokio_postgres::Error>,
) -> Result<(), StoreError> {
    inserted.map_err(|e| error("cannot insert the events", &e))?;
    moved.map_err(|e| error("cannot move the head", &e))?;
    notified.map_err(|e| error("cannot notify the other nodes", &e))?;
    Ok(())
}

/// Rolls back after `cause` (best effort: on a lost connection there is nothing to roll back)
/// and reports the group as not stored.
async fn abandon(client: &tokio_postgres::Client, cause: StoreError) -> Failure {
    if let Err(e) = client.batch_execute("ROLLBACK").await {
        tracing::debug!(error = %e, "ROLLBACK after a failed group failed too");
    }
    Failure::NotStored(cause)
}

/// Every stream and event id the group's jobs name.
fn named(jobs: &[Job]) -> (Vec<String>, Vec<Uuid>) {
    let mut streams = HashSet::new();
    let mut ids = Vec::new();
    for job in jobs {
        match job {
            Job::Append(request) => {
                streams.insert(request.stream_id.clone());
                ids.extend(request.events.iter().map(|event| event.event_id));
            }
            Job::Import(import) => {
                for event in &import.events {
                    streams.insert(event.stream_id.clone());
                    ids.push(event.event_id);
                }
            }
        }
    }
    (streams.into_iter().collect(), ids)
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The same error again, for every waiter of a failed group.
fn copy(error: &StoreError) -> StoreError {
    match error {
        StoreError::Failed(what) => StoreError::Failed(what.clone()),
        StoreError::StorageFull(what) => StoreError::StorageFull(what.clone()),
        StoreError::Storage(what) => StoreError::Storage(what.clone()),
        other => StoreError::Storage(other.to_string()),
    }
}

fn answer(
    published: &Published,
    reply: Reply,
    submitted: Instant,
    result: Result<AppendOutcome, StoreError>,
) {
    published.timings.append.record(submitted.elapsed());
    // A waiter that gave up is no reason to stop.
    let _ = reply.send(result);
}
