//! Verification of a segment-log store: the whole log, the stream versions an index built
//! from it must find (opening refuses a log without them, so `verify` does too), and for an
//! open store the indexes in memory, compared with that fresh index.

use std::path::Path;

use crate::envelope::GENESIS;
use crate::log::index::Index;
use crate::log::open;
use crate::log::record;
use crate::log::segment;
use crate::log::{holds_log_store, Shared, FORMAT_FILE, SEGMENTS_DIR};
use crate::sidecar::ChainHead;
use crate::verify::VerifyReport;
use crate::StoreError;

/// Checks every segment in `dir` up to `limit` positions: header, checksums, positions, chain,
/// and each record against the index being built (see [`IndexCheck`]). A torn tail is a
/// warning (it was never acknowledged; the next open cuts it).
fn check_log(
    dir: &Path,
    limit: Option<u64>,
    index: &mut IndexCheck<'_>,
    at: Option<u64>,
) -> VerifyReport {
    let mut report = VerifyReport::empty();
    let segments_dir = dir.join(SEGMENTS_DIR);
    let listed = match segment::list(&segments_dir) {
        Ok(listed) => listed,
        Err(e) => {
            report.problem(None, format!("cannot list {segments_dir:?}: {e}"));
            return report;
        }
    };
    let mut head = ChainHead {
        position: 0,
        hash: GENESIS,
    };
    let count = listed.len();
    for (i, (number, path)) in listed.iter().enumerate() {
        if *number != i as u64 + 1 {
            report.problem(
                Some(head.position + 1),
                format!("segment {} is missing", i + 1),
            );
            break;
        }
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                report.problem(
                    Some(head.position + 1),
                    format!("cannot read {path:?}: {e}"),
                );
                break;
            }
        };
        let scanned = match segment::scan(&bytes, head) {
            Ok(scanned) => scanned,
            Err(damage) => {
                report.problem(
                    Some(damage.position),
                    format!("{path:?} at byte {}: {}", damage.offset, damage.what),
                );
                break;
            }
        };
        for (n, offset) in scanned.offsets.iter().enumerate() {
            let position = head.position + 1 + n as u64;
            if limit.is_some_and(|limit| position > limit) {
                break;
            }
            check_record(&mut report, &bytes[*offset as usize..], position, index);
            if at == Some(position) {
                report.hash_at = Some((position, report.head_hash.clone()));
            }
        }
        if let Some(tail) = &scanned.tail {
            let what = format!(
                "{path:?} ends with {} bytes from byte {} on that are not a complete group commit ({}); never acknowledged, the next open cuts them",
                tail.bytes, tail.at, tail.why
            );
            if i + 1 == count || limit.is_some() {
                report.warnings.push(what);
            } else {
                report.problem(Some(tail.position), what);
            }
        }
        head = scanned.head;
        if limit.is_some_and(|limit| head.position >= limit) {
            break;
        }
    }
    report
}

/// How many streams' ends are compared under one hold of the live index's lock: the writer
/// waits for the lock, so `verify` lets go of it now and then.
const STREAMS_PER_LOCK: usize = 10_000;

/// The index `verify` builds from the log as opening does, and (for an open store) the live
/// one to compare it with. Opening refuses a log whose stream versions do not follow on, so a
/// closed store's verdict must say so too.
struct IndexCheck<'a> {
    /// `None` after the first entry it refused: every later position would be refused too.
    fresh: Option<Index>,
    live: Option<&'a Shared>,
}

impl IndexCheck<'_> {
    /// Adds the record to the fresh index and compares the live index's entries for it.
    fn record(&mut self, report: &mut VerifyReport, entry: &record::IndexEntry<'_>) {
        let position = entry.position;
        let Some(fresh) = &mut self.fresh else {
            return;
        };
        if let Err(refused) = fresh.add(entry) {
            let what = match refused {
                StoreError::Corrupt { what, .. } => what,
                other => other.to_string(),
            };
            report.problem(
                Some(position),
                format!("the stream index cannot be built: {what}"),
            );
            self.fresh = None;
            return;
        }
        let Some(shared) = self.live else {
            return;
        };
        let live = shared.index();
        match live.event_candidates(entry.event_id) {
            Ok(candidates) if candidates.contains(&position) => {}
            Ok(_) => report.problem(
                Some(position),
                format!(
                    "the event-id index does not point event {} here",
                    entry.event_id
                ),
            ),
            Err(error) => report.problem(Some(position), error.to_string()),
        }
        let (expected, found) = match (fresh.previous(position), live.previous(position)) {
            (Ok(expected), Ok(found)) => (expected, found),
            (Err(error), _) | (_, Err(error)) => {
                return report.problem(Some(position), error.to_string());
            }
        };
        if live.indexed() < position || found != expected {
            report.problem(
                Some(position),
                format!(
                    "the stream index does not link {:?} v{} to its version before (at {expected:?})",
                    entry.stream_id, entry.version
                ),
            );
        }
    }

    /// Whether the live index ends every stream, as of `limit`, where the log does, and holds
    /// no stream the log does not.
    fn streams(&self, report: &mut VerifyReport, limit: u64) {
        let (Some(fresh), Some(shared)) = (&self.fresh, self.live) else {
            return;
        };
        let ends: Vec<_> = fresh.stream_ends().collect();
        for chunk in ends.chunks(STREAMS_PER_LOCK) {
            let live = shared.index();
            for (key, last, version) in chunk {
                let found = match live.end_at(*key, limit) {
                    Ok(found) => found,
                    Err(error) => {
                        report.problem(Some(*last), error.to_string());
                        continue;
                    }
                };
                if found != Some((*last, *version)) {
                    let found =
                        found.map_or("nowhere".into(), |(at, v)| format!("at position {at} v{v}"));
                    report.problem(
                        Some(*last),
                        format!(
                            "the stream index ends the stream of this event {found}; the log ends it here, v{version}"
                        ),
                    );
                }
            }
        }
        // Every stream of the log is there; now that the index holds no other. Appends may go
        // on meanwhile: the streams they began are counted from the index's own steps, under
        // the same lock as its count.
        let live = shared.index();
        let begun = match live.streams_begun_after(limit) {
            Ok(begun) => begun,
            Err(error) => return report.problem(None, error.to_string()),
        };
        let expected = fresh.stream_count() + begun;
        if live.stream_count() != expected {
            report.problem(
                None,
                format!(
                    "the stream index holds {} streams, the log {expected}",
                    live.stream_count()
                ),
            );
        }
    }
}

/// Counts one record into the report and checks its index entries.
fn check_record(
    report: &mut VerifyReport,
    bytes: &[u8],
    position: u64,
    index: &mut IndexCheck<'_>,
) {
    // A record that cannot be read is not in the fresh index either: without it, every later
    // position would be reported again as "the index expected …", so the index check stops.
    let Ok(frame) = record::parse_frame(bytes) else {
        report.problem(Some(position), "the record does not parse on a second read");
        index.fresh = None;
        return;
    };
    let entry = match record::index_entry(frame.envelope) {
        Ok(entry) => entry,
        Err(what) => {
            report.problem(Some(position), what);
            index.fresh = None;
            return;
        }
    };
    if let Err(what) = record::decode_envelope(frame.envelope) {
        report.problem(Some(position), what);
    }
    report.events += 1;
    report.head_position = position;
    report.head_hash = hex::encode(frame.hash);
    if entry.version == 1 {
        report.streams += 1;
    }
    index.record(report, &entry);
}

/// Verifies an open store up to its durable head, indexes included.
pub(crate) fn verify_open(shared: &Shared) -> Result<VerifyReport, StoreError> {
    let limit = shared.durable_head();
    let mut check = IndexCheck {
        fresh: Some(shared.index().sibling()?),
        live: Some(shared),
    };
    let mut report = check_log(&shared.dir, Some(limit), &mut check, None);
    if report.events != limit {
        report.problem(
            Some(report.events + 1),
            format!(
                "the log holds {} of {limit} durable positions",
                report.events
            ),
        );
    }
    // Only a whole, sound log says where each stream ends; after damage the streams' ends
    // would be compared with a log cut short and named before the damage.
    if report.is_ok() {
        check.streams(&mut report, limit);
    }
    Ok(report)
}

/// Verifies a closed segment-log store without changing it (what [`crate::verify_dir`] runs for
/// one): a torn tail is reported, not cut, and the stream versions are checked as opening
/// checks them (the indexes themselves live only in an open store's memory). `Locked` while a
/// process has it open.
pub(crate) fn verify_log_dir(dir: &Path, at: Option<u64>) -> Result<VerifyReport, StoreError> {
    if !holds_log_store(dir) {
        return Err(StoreError::NotAStore(dir.to_path_buf()));
    }
    let _lock = open::lock(dir)?;
    // A format this build does not read is not damage found in the log: nothing was checked,
    // and the server would refuse to open it (as it does here).
    let path = dir.join(FORMAT_FILE);
    let format = std::fs::read_to_string(&path)
        .map_err(|e| StoreError::storage(&format!("cannot read {path:?}"), e))
        .and_then(|text| open::check_format_text(&path, &text));
    if let Err(why) = format {
        let mut report = VerifyReport::empty();
        report.unreadable = true;
        report.problem(None, why.to_string());
        return Ok(report);
    }
    // The index built to check the log spills to the system's temporary directory: a verify
    // leaves the store's own directory as it found it (it may be a read-only copy).
    let mut check = IndexCheck {
        fresh: Some(Index::new_in(&std::env::temp_dir())?),
        live: None,
    };
    Ok(check_log(dir, None, &mut check, at))
}
