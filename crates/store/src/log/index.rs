//! The derived indexes: stream → (version → position) and event id → position, in sled.
//!
//! They are written *without their own sync*: the segment log is the only thing that must be
//! durable before an append is acknowledged, and everything here can be recomputed from it. The
//! checkpoint (the last position indexed) is written in the same atomic `apply_batch` as the
//! entries, so on open the store knows exactly which positions to catch up from the log.
//!
//! Why sled rather than memory: at 20 million events and a million streams, an in-memory map
//! of event ids alone would take several hundred megabytes and would have to be rebuilt from
//! the whole log on every start; sled keeps them on disk with a bounded cache and needs only
//! the positions past its checkpoint. The keys are today's layout (`keys.rs`), minus the log.

use std::path::Path;

use uuid::Uuid;

use crate::keys;
use crate::log::record::IndexEntry;
use crate::StoreError;

/// The key of the checkpoint: the last position whose entries are in the index.
const CHECKPOINT: &[u8] = b"C";

/// The index database (also home to the vault's tree).
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub(crate) db: sled::Db,
}

fn failed(context: &str, error: sled::Error) -> StoreError {
    match &error {
        sled::Error::Io(io) if crate::condition::is_full(io) => {
            StoreError::StorageFull(format!("{context}: {error}"))
        }
        _ => StoreError::storage(context, error),
    }
}

impl Index {
    /// Opens the index in `dir` of the store in `store`. sled's own lock on it can outlive the
    /// previous opener's close by a moment (its threads let go afterwards): that is
    /// [`StoreError::Locked`], which callers already wait out.
    pub(crate) fn open(store: &Path, dir: &Path, cache_bytes: u64) -> Result<Index, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| match &e {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked(store.to_path_buf())
                }
                _ => failed(&format!("cannot open the index in {dir:?}"), e),
            })?;
        Ok(Index { db })
    }

    /// The last position indexed (0: none).
    pub(crate) fn checkpoint(&self) -> Result<u64, StoreError> {
        let value = self
            .db
            .get(CHECKPOINT)
            .map_err(|e| failed("reading the index checkpoint", e))?;
        Ok(value.as_deref().and_then(keys::be_u64).unwrap_or(0))
    }

    /// Forgets every entry (the vault's tree is another tree and stays).
    pub(crate) fn clear(&self) -> Result<(), StoreError> {
        self.db.clear().map_err(|e| failed("clearing the index", e))
    }

    /// Adds the entries of consecutive positions and moves the checkpoint to `checkpoint`, in
    /// one atomic batch. No flush: see the module docs.
    pub(crate) fn add<'a>(
        &self,
        entries: impl IntoIterator<Item = IndexEntry<'a>>,
        checkpoint: u64,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in entries {
            let position = keys::encode_position(entry.position);
            batch.insert(
                keys::stream_key(&entry.stream_id, entry.version),
                &position[..],
            );
            batch.insert(&keys::event_id_key(entry.event_id)[..], &position[..]);
        }
        batch.insert(CHECKPOINT, &keys::encode_position(checkpoint)[..]);
        self.db
            .apply_batch(batch)
            .map_err(|e| failed("writing the index", e))
    }

    /// The positions of a stream's events, by version.
    pub(crate) fn stream(&self, stream_id: &str) -> Result<Vec<(u64, u64)>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix(keys::stream_prefix(stream_id)) {
            let (key, value) = item.map_err(|e| failed("reading the stream index", e))?;
            let version = keys::version_of_stream_key(&key);
            let position = keys::be_u64(&value);
            match version.zip(position) {
                Some(pair) => out.push(pair),
                None => {
                    return Err(StoreError::Corrupt {
                        position: None,
                        what: format!("malformed stream index entry for {stream_id:?}"),
                    })
                }
            }
        }
        Ok(out)
    }

    /// The position of one version of a stream (one point read, for verification).
    pub(crate) fn stream_position(
        &self,
        stream_id: &str,
        version: u64,
    ) -> Result<Option<u64>, StoreError> {
        let value = self
            .db
            .get(keys::stream_key(stream_id, version))
            .map_err(|e| failed("reading the stream index", e))?;
        Ok(value.as_deref().and_then(keys::be_u64))
    }

    /// The stream's last indexed version (0: none), by one reverse scan.
    pub(crate) fn last_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let last = self
            .db
            .scan_prefix(keys::stream_prefix(stream_id))
            .keys()
            .next_back()
            .transpose()
            .map_err(|e| failed("reading the stream index", e))?;
        Ok(last
            .as_deref()
            .and_then(keys::version_of_stream_key)
            .unwrap_or(0))
    }

    /// The position of the event with this id.
    pub(crate) fn event(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        let value = self
            .db
            .get(keys::event_id_key(event_id))
            .map_err(|e| failed("reading the event-id index", e))?;
        Ok(value.as_deref().and_then(keys::be_u64))
    }

    /// How many event-id entries there are (for verification).
    pub(crate) fn event_count(&self) -> usize {
        self.db.scan_prefix([keys::EVENT_ID]).count()
    }
}
