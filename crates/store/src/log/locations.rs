//! Where every record is: per segment, its first position and the byte offset of each record.
//!
//! Kept in memory (4 bytes per event: 80 MB at 20 million events) because it is the one map
//! every read needs, and it is rebuilt for free by the scan that checks the log on open. Reads
//! take the lock only to look up a byte range, then read with `pread` outside it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use crate::log::record::{self, Unreadable};
use crate::StoreError;

/// How many bytes one read of a run of records fetches at most.
const MAX_READ_BYTES: usize = 4 << 20;

/// One segment as the readers see it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) number: u64,
    pub(crate) first_position: u64,
    pub(crate) file: Arc<File>,
    /// Offset of each record, the first being `first_position`'s.
    pub(crate) offsets: Vec<u32>,
    /// Where the last durable record ends.
    pub(crate) end: u64,
}

/// A run of consecutive records inside one segment.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) file: Arc<File>,
    pub(crate) first_position: u64,
    pub(crate) count: usize,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// Every segment, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Locations {
    pub(crate) segments: Vec<Segment>,
}

impl Locations {
    /// Up to `max` records from `position` on, within one segment and about
    /// [`MAX_READ_BYTES`] (at least one record).
    pub(crate) fn run(&self, position: u64, max: usize) -> Option<Run> {
        let index = self
            .segments
            .partition_point(|s| s.first_position <= position)
            .checked_sub(1)?;
        let segment = &self.segments[index];
        let first = usize::try_from(position - segment.first_position).ok()?;
        let start = u64::from(*segment.offsets.get(first)?);
        let available = segment.offsets.len() - first;
        let mut count = max.min(available).max(1);
        let end_of = |count: usize| {
            segment
                .offsets
                .get(first + count)
                .map_or(segment.end, |offset| u64::from(*offset))
        };
        while count > 1 && end_of(count) - start > MAX_READ_BYTES as u64 {
            count /= 2;
        }
        Some(Run {
            file: Arc::clone(&segment.file),
            first_position: position,
            count,
            start,
            end: end_of(count),
        })
    }
}

impl Run {
    /// Reads the run's bytes and calls `each` with every record's position and envelope, after
    /// checking its checksum and that it is the position expected.
    pub(crate) fn read(
        &self,
        mut each: impl FnMut(u64, &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.read_records(|position, record| each(position, record.envelope))
    }

    /// [`Run::read`], with the whole record (its flags and chain hash too).
    pub(crate) fn read_records(
        &self,
        mut each: impl FnMut(u64, &record::Record<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let corrupt = |position: u64, what: String| StoreError::Corrupt {
            position: Some(position),
            what,
        };
        let len = usize::try_from(self.end - self.start)
            .map_err(|_| corrupt(self.first_position, "a run longer than memory".into()))?;
        let mut bytes = vec![0u8; len];
        self.file
            .read_exact_at(&mut bytes, self.start)
            .map_err(|e| StoreError::storage("reading a segment", e))?;
        let mut at = 0;
        for position in (self.first_position..).take(self.count) {
            let record = record::parse_frame(&bytes[at..]).map_err(|why| match why {
                Unreadable::Short => corrupt(position, "the record is cut short".into()),
                Unreadable::Damaged(what) => corrupt(position, what),
            })?;
            if record::envelope_position(record.envelope) != Some(position) {
                return Err(corrupt(
                    position,
                    "the record names another position".into(),
                ));
            }
            each(position, &record)?;
            at += record.frame_len;
        }
        Ok(())
    }

    /// The run's events, each envelope decoded by `decode`.
    pub(crate) fn decoded<E>(
        &self,
        out: &mut Vec<E>,
        decode: fn(&[u8]) -> Result<E, String>,
    ) -> Result<(), StoreError> {
        self.read(|position, envelope| {
            let event = decode(envelope).map_err(|what| StoreError::Corrupt {
                position: Some(position),
                what,
            })?;
            out.push(event);
            Ok(())
        })
    }
}
