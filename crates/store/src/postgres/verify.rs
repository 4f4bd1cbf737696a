//! Verification of the PostgreSQL log: every row in position order against the chain, its own
//! envelope and its stream, and the head row against the last row.
//!
//! It reads up to the head committed when it starts, in chunks inside one `REPEATABLE READ`
//! transaction (one snapshot, however long the walk takes), so appends may go on meanwhile.

use std::collections::HashMap;

use crate::envelope::{self, GENESIS, HASH_LEN};
use crate::log::record;
use crate::postgres::{error, Pool};
use crate::verify::VerifyReport;
use crate::StoreError;

/// Rows read per query.
const CHUNK: i64 = 10_000;

pub(crate) async fn verify(pool: &Pool, at: Option<u64>) -> Result<VerifyReport, StoreError> {
    let mut client = pool
        .get()
        .await
        .map_err(|e| StoreError::Unreachable(format!("no connection to PostgreSQL: {e}")))?;
    let failed = |e: tokio_postgres::Error| error("cannot read the log", &e);
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(failed)?;
    let head_row = tx
        .query_one("SELECT position, hash FROM head", &[])
        .await
        .map_err(failed)?;
    let head_position = u64::try_from(head_row.get::<_, i64>(0)).unwrap_or(0);
    let head_hash: Vec<u8> = head_row.get(1);

    let mut report = VerifyReport::empty();
    let mut previous = GENESIS;
    let mut expected = 1u64;
    let mut versions: HashMap<String, u64> = HashMap::new();
    loop {
        let rows = tx
            .query(
                "SELECT position, stream_id, version, event_id, hash, envelope FROM events
                 WHERE position >= $1 ORDER BY position LIMIT $2",
                &[&i64::try_from(expected).unwrap_or(i64::MAX), &CHUNK],
            )
            .await
            .map_err(failed)?;
        for row in &rows {
            let position = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
            if position != expected {
                report.problem(
                    Some(expected),
                    format!("positions {expected}..{position} are missing"),
                );
                return Ok(report);
            }
            let stored: &[u8] = row.get(4);
            let canonical: &[u8] = row.get(5);
            let hash = envelope::chain(&previous, canonical);
            if stored != hash {
                report.problem(
                    Some(position),
                    "the chain hash does not match the event's bytes and the hash before it",
                );
                return Ok(report);
            }
            match record::decode_envelope(canonical) {
                Err(what) => report.problem(Some(position), what),
                Ok(event) => {
                    let stream_id: &str = row.get(1);
                    let version = u64::try_from(row.get::<_, i64>(2)).unwrap_or(0);
                    let event_id: uuid::Uuid = row.get(3);
                    if event.position != position
                        || event.stream_id != stream_id
                        || event.version != version
                        || event.event_id != event_id
                    {
                        report.problem(
                            Some(position),
                            "the row's columns disagree with its stored envelope",
                        );
                    }
                    let current = versions.entry(event.stream_id).or_insert(0);
                    if event.version != *current + 1 {
                        report.problem(
                            Some(position),
                            format!(
                                "version {} follows version {} in its stream",
                                event.version, current
                            ),
                        );
                    }
                    *current = event.version;
                    if event.version == 1 {
                        report.streams += 1;
                    }
                }
            }
            report.events += 1;
            report.head_position = position;
            previous = hash;
            if at == Some(position) {
                report.hash_at = Some((position, hex::encode(hash)));
            }
            expected = position + 1;
        }
        if rows.len() < CHUNK as usize {
            break;
        }
    }
    report.head_hash = hex::encode(previous);
    if head_position != report.head_position || head_hash.as_slice() != &previous[..HASH_LEN] {
        report.problem(
            Some(head_position.min(report.head_position) + 1),
            format!(
                "the head row says position {head_position}, but the log ends at position {} with another hash",
                report.head_position
            ),
        );
    }
    report.require_hash_at(at);
    Ok(report)
}
