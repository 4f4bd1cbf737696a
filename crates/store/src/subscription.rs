//! Catch-up-then-live subscriptions over the global log.
//!
//! A subscription is a cursor plus a `watch` receiver of the durable head. It reads the log in
//! chunks from its cursor up to the head it last saw, and when it has caught up it waits for the
//! head to move. Because the writer publishes a head only after the flush, and readers never read
//! past the published head, there is no separate "live" channel whose hand-over could miss or
//! duplicate an event: catch-up and live are the same loop, and the cursor advances by exactly one
//! position per delivered event.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::watch;

use crate::sled_store::HeadState;
use crate::{RecordedEvent, StoreError};

/// What a subscription reads from: a back end's durable log.
pub(crate) trait ReadLog: Send + Sync + std::fmt::Debug + 'static {
    /// Like [`crate::EventStore::read_all`] (blocking).
    fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError>;
}

/// How many events one catch-up read fetches.
const CHUNK: usize = 512;

/// A subscription to the global log from a position on (see [`crate::EventStore::subscribe`]).
///
/// Call [`Subscription::next`] from a tokio runtime (sled reads run in `spawn_blocking`).
/// `next` is cancel-safe: a cancelled call loses nothing, the next call delivers the same event.
/// To use it as a `Stream`, wrap it: `futures::stream::unfold(sub, |mut s| async move { s.next().await.map(|e| (e, s)) })`.
#[derive(Debug)]
pub struct Subscription {
    shared: Arc<dyn ReadLog>,
    head: watch::Receiver<HeadState>,
    /// The next position to deliver.
    cursor: u64,
    buffer: VecDeque<RecordedEvent>,
}

impl Subscription {
    pub(crate) fn new(
        shared: Arc<dyn ReadLog>,
        head: watch::Receiver<HeadState>,
        from_position: u64,
    ) -> Self {
        Subscription {
            shared,
            head,
            cursor: from_position.max(1),
            buffer: VecDeque::new(),
        }
    }

    /// The position of the next event this subscription will deliver.
    pub fn position(&self) -> u64 {
        self.cursor
    }

    /// The next event, waiting for it if needed. `None` once the store is closed and every
    /// durable event has been delivered. An `Err` does not end the subscription: the next call
    /// retries from the same position.
    pub async fn next(&mut self) -> Option<Result<RecordedEvent, StoreError>> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.cursor = event.position + 1;
                return Some(Ok(event));
            }
            let head = *self.head.borrow_and_update();
            if self.cursor <= head.position {
                if let Err(e) = self.fill().await {
                    return Some(Err(e));
                }
            } else if head.closed || self.head.changed().await.is_err() {
                return None;
            }
        }
    }

    /// Reads the next chunk into the buffer, checking that it starts at the cursor and has no gap.
    async fn fill(&mut self) -> Result<(), StoreError> {
        let shared = Arc::clone(&self.shared);
        let from = self.cursor;
        let events = tokio::task::spawn_blocking(move || shared.read_all(from, CHUNK))
            .await
            .map_err(|e| StoreError::storage("subscription read task", e))??;
        for (expected, event) in (from..).zip(&events) {
            if event.position != expected {
                return Err(StoreError::Corrupt {
                    position: Some(expected),
                    what: "a durable position is missing from the log".into(),
                });
            }
        }
        if events.is_empty() {
            return Err(StoreError::Corrupt {
                position: Some(from),
                what: "a durable position is missing from the log".into(),
            });
        }
        self.buffer.extend(events);
        Ok(())
    }
}
