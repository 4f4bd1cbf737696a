//! Many appends in flight from a plain thread, so the store's group commit can put hundreds of
//! them into one flush.

use std::future::Future;

use jeugdpad_store::{AppendOutcome, StoreError};

/// A small runtime that waits for batches of appends together.
pub(crate) struct Batches {
    runtime: tokio::runtime::Runtime,
}

impl Batches {
    pub(crate) fn new() -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| StoreError::Storage(format!("cannot start a runtime: {e}")))?;
        Ok(Batches { runtime })
    }

    /// Polls every append of the batch at once (each is submitted to the store's writer on its
    /// first poll, so they share flushes) and waits for all; the first error, if any.
    pub(crate) fn run<F>(&self, appends: Vec<F>) -> Result<(), StoreError>
    where
        F: Future<Output = Result<AppendOutcome, StoreError>>,
    {
        self.runtime
            .block_on(futures_util::future::join_all(appends))
            .into_iter()
            .try_for_each(|result| result.map(|_| ()))
    }

    /// Waits for one future (e.g. a submitted import) on this thread.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
