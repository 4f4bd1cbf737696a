//! Verification of a segment-log store: the whole log, and (for an open store) the indexes in
//! memory, against a fresh computation from the log.

use std::collections::HashMap;
use std::path::Path;

use crate::envelope::GENESIS;
use crate::log::open;
use crate::log::record;
use crate::log::segment;
use crate::log::{holds_log_store, Shared, FORMAT_FILE, SEGMENTS_DIR};
use crate::sidecar::ChainHead;
use crate::verify::VerifyReport;
use crate::StoreError;

/// Checks every segment in `dir` up to `limit` positions: header, checksums, positions, chain.
/// Returns the report and the offsets' worth of events checked. A torn tail is a warning (it
/// was never acknowledged; the next open cuts it).
fn check_log(
    dir: &Path,
    limit: Option<u64>,
    mut index: Option<&mut IndexCheck<'_>>,
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
            check_record(
                &mut report,
                &bytes[*offset as usize..],
                position,
                index.as_deref_mut(),
            );
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

/// What `verify` knows of the indexes of an open store: the store, and each stream's last
/// event as the log itself says, up to the record being checked.
struct IndexCheck<'a> {
    shared: &'a Shared,
    streams: HashMap<String, (u64, u64)>,
}

impl IndexCheck<'_> {
    /// Whether the index's event-id and stream entries for this record are the log's.
    fn record(&mut self, report: &mut VerifyReport, entry: &record::IndexEntry<'_>) {
        let position = entry.position;
        let index = self.shared.index();
        if !index.event_candidates(entry.event_id).contains(&position) {
            report.problem(
                Some(position),
                format!(
                    "the event-id index does not point event {} here",
                    entry.event_id
                ),
            );
        }
        let expected = self
            .streams
            .get(entry.stream_id.as_ref())
            .map(|(last, _)| *last);
        if index.previous(position) != expected || index.indexed() < position {
            report.problem(
                Some(position),
                format!(
                    "the stream index does not link {:?} v{} to its version before (at {expected:?})",
                    entry.stream_id, entry.version
                ),
            );
        }
        self.streams
            .insert(entry.stream_id.to_string(), (position, entry.version));
    }

    /// Whether the index knows every stream's last event up to `limit` as the log does.
    fn streams(&self, report: &mut VerifyReport, limit: u64) {
        let index = self.shared.index();
        for (stream_id, (last, version)) in &self.streams {
            let Some((mut at, mut at_version)) = index.last_of(stream_id) else {
                report.problem(
                    Some(*last),
                    format!("the stream index has no {stream_id:?}"),
                );
                continue;
            };
            // Events appended since the check began come first: step back past them.
            while at > limit {
                match index.previous(at) {
                    Some(previous) => (at, at_version) = (previous, at_version - 1),
                    None => break,
                }
            }
            if (at, at_version) != (*last, *version) {
                report.problem(
                    Some(*last),
                    format!(
                        "the stream index ends {stream_id:?} at position {at} v{at_version}, the log at {last} v{version}"
                    ),
                );
            }
        }
    }
}

/// Counts one record into the report and checks its index entries.
fn check_record(
    report: &mut VerifyReport,
    bytes: &[u8],
    position: u64,
    index: Option<&mut IndexCheck<'_>>,
) {
    let Ok(frame) = record::parse_frame(bytes) else {
        report.problem(Some(position), "the record does not parse on a second read");
        return;
    };
    let entry = match record::index_entry(frame.envelope) {
        Ok(entry) => entry,
        Err(what) => {
            report.problem(Some(position), what);
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
    if let Some(index) = index {
        index.record(report, &entry);
    }
}

/// Verifies an open store up to its durable head, indexes included.
pub(crate) fn verify_open(shared: &Shared) -> Result<VerifyReport, StoreError> {
    let limit = shared.durable_head();
    let mut check = IndexCheck {
        shared,
        streams: HashMap::new(),
    };
    let mut report = check_log(&shared.dir, Some(limit), Some(&mut check), None);
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
/// one) (a torn tail is reported, not cut;
/// the indexes are derived and not checked). `Locked` while a process has it open.
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
    Ok(check_log(dir, None, None, at))
}
