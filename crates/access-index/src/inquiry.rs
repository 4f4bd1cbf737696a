//! An inquiry: which entries a filter asks for (the definition), and one page of them, newest
//! first, from the index — or, for comparison, from a scan of the whole stream.

use chrono::{DateTime, Utc};
use jeugdpad_access::{AccessEntry, ACCESS_LOG_STREAM};
use jeugdpad_domain::{SubjectKey, TrajectoryId, UserId};
use jeugdpad_store::{EventStore, RecordedEvent, StoreError};

use crate::index::AccessIndex;
use crate::IndexError;

/// What an inquiry asks for; every given part must hold (AND). `from` and `to` bound
/// `recorded_at`, both inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The user the entry names.
    pub user: Option<UserId>,
    /// The youth (pseudonym) the entry names.
    pub subject_key: Option<SubjectKey>,
    /// The trajectory the entry names.
    pub trajectory: Option<TrajectoryId>,
    /// Not recorded before this instant.
    pub from: Option<DateTime<Utc>>,
    /// Not recorded after this instant.
    pub to: Option<DateTime<Utc>>,
}

impl Filter {
    /// Whether `access` is one of the entries this filter asks for: the one definition, which
    /// the scan applies and which the index's answers are checked against.
    pub fn admits(&self, access: &LoggedAccess) -> bool {
        let entry = &access.entry;
        self.from.is_none_or(|from| access.recorded_at >= from)
            && self.to.is_none_or(|to| access.recorded_at <= to)
            && self
                .user
                .as_ref()
                .is_none_or(|u| entry.user.as_ref() == Some(u))
            && self
                .subject_key
                .as_ref()
                .is_none_or(|s| entry.subject_key.as_ref() == Some(s))
            && self.trajectory.is_none_or(|t| entry.trajectory == Some(t))
    }
}

/// One access-log entry with where and when the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedAccess {
    /// Its position in the event log.
    pub position: u64,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The entry.
    pub entry: AccessEntry,
}

impl LoggedAccess {
    /// The entry in a stored event; `None` for another stream's event or one that cannot be read.
    pub fn of(event: &RecordedEvent) -> Option<LoggedAccess> {
        if event.stream_id != ACCESS_LOG_STREAM {
            return None;
        }
        let entry = AccessEntry::decode(&event.payload).ok()?;
        Some(LoggedAccess {
            position: event.position,
            recorded_at: event.recorded_at,
            entry,
        })
    }
}

/// Where the next (older) page starts: the position of the last entry shown. Opaque to
/// clients; the same cursor continues any filter, because every page is in position order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(u64);

/// A cursor that this index did not give out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this cursor was not given out by accessLog; start again from the first page")]
pub struct CursorError;

const CURSOR_PREFIX: &str = "tl1.";

impl Cursor {
    /// The text a client passes back.
    pub fn encode(self) -> String {
        format!("{CURSOR_PREFIX}{:x}", self.0)
    }

    /// The inverse of [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        let hex = text.strip_prefix(CURSOR_PREFIX).ok_or(CursorError)?;
        if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CursorError);
        }
        match u64::from_str_radix(hex, 16) {
            Ok(position) if position > 0 => Ok(Cursor(position)),
            _ => Err(CursorError),
        }
    }
}

/// One page of an inquiry, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The entries.
    pub entries: Vec<LoggedAccess>,
    /// Whether older entries match the filter too.
    pub has_more: bool,
}

impl Page {
    /// The cursor of the next page (absent when the page is empty).
    pub fn end_cursor(&self) -> Option<Cursor> {
        self.entries.last().map(|access| Cursor(access.position))
    }

    fn of(mut entries: Vec<LoggedAccess>, first: usize) -> Page {
        let has_more = entries.len() > first;
        entries.truncate(first);
        Page { entries, has_more }
    }
}

impl AccessIndex {
    /// Catches up with `store`, then answers one page: the index's positions, each entry read
    /// from the store by position. **Blocking.**
    pub fn inquire<S: EventStore>(
        &self,
        store: &S,
        filter: &Filter,
        after: Option<Cursor>,
        first: usize,
    ) -> Result<Page, IndexError> {
        self.catch_up(store)?;
        self.page(store, filter, after, first)
    }

    /// One page from the index as it is now (call [`AccessIndex::catch_up`] first to include
    /// the latest entries). Each entry is checked against the filter once read; one the index
    /// names wrongly is left out with an error in the log rather than shown. **Blocking.**
    pub fn page<S: EventStore>(
        &self,
        store: &S,
        filter: &Filter,
        after: Option<Cursor>,
        first: usize,
    ) -> Result<Page, IndexError> {
        let first = first.max(1);
        // The read lock only while the positions are found; the entries are read without it.
        let positions =
            self.lists()
                .newest(filter, after.map(|Cursor(position)| position), first + 1)?;
        let mut entries = Vec::with_capacity(positions.len());
        for position in positions {
            let read = store.read_all(position, 1)?;
            match read
                .first()
                .filter(|e| e.position == position)
                .and_then(LoggedAccess::of)
            {
                Some(access) if filter.admits(&access) => entries.push(access),
                _ => tracing::error!(
                    position,
                    "the access-log index names an entry the log does not hold as such; \
                     restart the server to build the index again"
                ),
            }
        }
        Ok(Page::of(entries, first))
    }
}

/// The same page by reading the whole `access-log` stream: what `accessLog` did before the
/// index, kept as the definition the index is tested against. Never used to answer a request:
/// it reads every entry ever logged into memory. **Blocking.**
pub fn scan<S: EventStore>(
    store: &S,
    filter: &Filter,
    after: Option<Cursor>,
    first: usize,
) -> Result<Page, StoreError> {
    let first = first.max(1);
    let before = after.map_or(u64::MAX, |Cursor(position)| position);
    let entries = store
        .read_stream(ACCESS_LOG_STREAM)?
        .iter()
        .rev()
        .filter(|event| event.position < before)
        .filter_map(LoggedAccess::of)
        .filter(|access| filter.admits(access))
        .take(first + 1)
        .collect();
    Ok(Page::of(entries, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_others_are_refused() {
        for position in [1, 255, u64::MAX] {
            assert_eq!(
                Cursor::decode(&Cursor(position).encode()),
                Ok(Cursor(position))
            );
        }
        for bad in [
            "",
            "tl1.",
            "tl1.0",
            "tl1.xyz",
            "12",
            "tl1.-1",
            "tl1.+1",
            "tl1.10000000000000000",
            "2026-01-01/3f2a",
        ] {
            assert_eq!(Cursor::decode(bad), Err(CursorError), "{bad:?}");
        }
    }
}
