//! Whether the writer takes appends, and why not: what `/health` and the metrics report.
//!
//! A writer whose write or `fdatasync` failed stops taking appends (see the engines' docs). The
//! layers above must tell a full disk apart from every other storage failure — the operator's
//! remedy differs (free space, or look at the disk) — and must not find out by matching error
//! text, so the writer records its state here, typed, and every refused append carries the same
//! cause as a [`StoreError`] variant.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::StoreError;

/// Why the writer stopped taking appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopCause {
    /// The file system (or the user's disk quota) has no room: `ENOSPC` or `EDQUOT`.
    Full,
    /// Any other failed write or `fdatasync` (an I/O error of the disk, a lost device, ...).
    Failed,
}

impl StopCause {
    /// A label for metrics and `/health`: `full` or `failed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StopCause::Full => "full",
            StopCause::Failed => "failed",
        }
    }

    /// The cause of a failed write or sync.
    pub(crate) fn of(error: &std::io::Error) -> StopCause {
        if is_full(error) {
            StopCause::Full
        } else {
            StopCause::Failed
        }
    }
}

/// Whether an I/O error means "no room": `ENOSPC` (the file system is full) or `EDQUOT` (the
/// user's quota is).
pub(crate) fn is_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// The writer's state while it refuses appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// A full disk, or another failure.
    pub cause: StopCause,
    /// What failed, for the operator (positions, the operation, the operating system's error).
    pub what: String,
    /// Whether the store resumes by itself once the disk takes writes again (the segment log),
    /// or only when it is reopened, i.e. the server restarted (the sled engine).
    pub resumes_by_itself: bool,
}

impl Stopped {
    /// The error every append gets while the writer is in this state.
    pub fn error(&self) -> StoreError {
        match self.cause {
            StopCause::Full => StoreError::StorageFull(self.what.clone()),
            StopCause::Failed => StoreError::Failed(self.what.clone()),
        }
    }
}

/// The writer's condition, shared with whoever reports on it (`/health`, `/metrics`).
#[derive(Debug, Default)]
pub struct Condition {
    stopped: Mutex<Option<Stopped>>,
    full_writes: AtomicU64,
    failed_writes: AtomicU64,
    resumed: AtomicU64,
}

impl Condition {
    /// `Some` while the writer refuses appends.
    pub fn stopped(&self) -> Option<Stopped> {
        self.lock().clone()
    }

    /// Group commits whose write or sync failed since the store was opened, for `cause`.
    pub fn failed_writes(&self, cause: StopCause) -> u64 {
        match cause {
            StopCause::Full => self.full_writes.load(Ordering::Relaxed),
            StopCause::Failed => self.failed_writes.load(Ordering::Relaxed),
        }
    }

    /// How often the writer took appends again after it had stopped, since the store was opened.
    pub fn resumed(&self) -> u64 {
        self.resumed.load(Ordering::Relaxed)
    }

    /// Records a failed group commit and the state it leaves the writer in.
    pub(crate) fn stop(&self, stopped: Stopped) {
        match stopped.cause {
            StopCause::Full => &self.full_writes,
            StopCause::Failed => &self.failed_writes,
        }
        .fetch_add(1, Ordering::Relaxed);
        *self.lock() = Some(stopped);
    }

    /// The writer takes appends again.
    pub(crate) fn resume(&self) {
        if self.lock().take().is_some() {
            self.resumed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Stopped>> {
        self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
