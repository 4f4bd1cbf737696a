//! The canonical bytes of a stored event and the hash chain over them.
//!
//! A log record is `hash_n ‖ canonical_n`, where `canonical_n` is the JSON of [`Envelope`] with
//! a fixed field order, and `hash_n = SHA-256(hash_{n-1} ‖ canonical_n)` with `hash_0` = 32 zero
//! bytes. The hash covers the exact stored bytes (never a re-serialisation), so any change to a
//! stored record, including one that still parses, breaks the chain at that record.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::RecordedEvent;

/// Length of a chain hash.
pub(crate) const HASH_LEN: usize = 32;
/// The chain hash before the first event.
pub(crate) const GENESIS: [u8; HASH_LEN] = [0u8; HASH_LEN];

/// The stored envelope. The field order is the byte order of the canonical JSON: never reorder,
/// rename or remove fields; add new ones only as optional fields at the end with a new `format`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    /// Record format, so that a future layout can be told apart.
    format: u32,
    position: u64,
    #[serde(borrow)]
    stream_id: std::borrow::Cow<'a, str>,
    version: u64,
    event_id: Uuid,
    #[serde(borrow)]
    event_type: std::borrow::Cow<'a, str>,
    schema_version: u32,
    occurred_on: NaiveDate,
    recorded_at: DateTime<Utc>,
    #[serde(borrow)]
    recorded_by: std::borrow::Cow<'a, str>,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    payload: serde_json::Value,
}

const FORMAT: u32 = 1;

/// The canonical bytes of an event (without the hash).
pub(crate) fn canonical_bytes(event: &RecordedEvent) -> Result<Vec<u8>, String> {
    let envelope = Envelope {
        format: FORMAT,
        position: event.position,
        stream_id: event.stream_id.as_str().into(),
        version: event.version,
        event_id: event.event_id,
        event_type: event.event_type.as_str().into(),
        schema_version: event.schema_version,
        occurred_on: event.occurred_on,
        recorded_at: event.recorded_at,
        recorded_by: event.recorded_by.as_str().into(),
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        payload: event.payload.clone(),
    };
    // Cannot fail in practice (a `Value` has only string keys and finite numbers), but a library
    // on a request path reports rather than panics.
    serde_json::to_vec(&envelope).map_err(|e| format!("envelope does not serialise: {e}"))
}

/// `SHA-256(previous ‖ canonical)`.
pub(crate) fn chain(previous: &[u8; HASH_LEN], canonical: &[u8]) -> [u8; HASH_LEN] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(canonical);
    hasher.finalize().into()
}

/// The stored record: `hash ‖ canonical`.
pub(crate) fn record(hash: &[u8; HASH_LEN], canonical: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(HASH_LEN + canonical.len());
    value.extend_from_slice(hash);
    value.extend_from_slice(canonical);
    value
}

/// Splits a stored record into its chain hash and canonical bytes.
pub(crate) fn split_record(value: &[u8]) -> Result<([u8; HASH_LEN], &[u8]), String> {
    if value.len() <= HASH_LEN {
        return Err(format!("record is only {} bytes long", value.len()));
    }
    let (hash, canonical) = value.split_at(HASH_LEN);
    let hash: [u8; HASH_LEN] = hash
        .try_into()
        .map_err(|_| "record hash has the wrong length".to_string())?;
    Ok((hash, canonical))
}

/// Parses canonical bytes back into an event.
pub(crate) fn decode(canonical: &[u8]) -> Result<RecordedEvent, String> {
    let envelope: Envelope<'_> =
        serde_json::from_slice(canonical).map_err(|e| format!("envelope does not parse: {e}"))?;
    if envelope.format != FORMAT {
        return Err(format!("unknown envelope format {}", envelope.format));
    }
    Ok(RecordedEvent {
        position: envelope.position,
        stream_id: envelope.stream_id.into_owned(),
        version: envelope.version,
        event_id: envelope.event_id,
        event_type: envelope.event_type.into_owned(),
        schema_version: envelope.schema_version,
        occurred_on: envelope.occurred_on,
        recorded_at: envelope.recorded_at,
        recorded_by: envelope.recorded_by.into_owned(),
        correlation_id: envelope.correlation_id,
        causation_id: envelope.causation_id,
        payload: envelope.payload,
    })
}

/// Decodes a whole stored record, checking that the envelope names the position it is stored at.
pub(crate) fn decode_record(position: u64, value: &[u8]) -> Result<RecordedEvent, String> {
    let (_, canonical) = split_record(value)?;
    let event = decode(canonical)?;
    if event.position != position {
        return Err(format!(
            "record stored at position {position} says it is position {}",
            event.position
        ));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> RecordedEvent {
        RecordedEvent {
            position: 3,
            stream_id: "trajectory-1".into(),
            version: 2,
            event_id: Uuid::from_u128(5),
            event_type: "consultant_assigned".into(),
            schema_version: 1,
            occurred_on: NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid date"),
            recorded_at: DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("valid time"),
            recorded_by: "user-\"quoted\"".into(),
            correlation_id: Some(Uuid::from_u128(9)),
            causation_id: None,
            payload: serde_json::json!({"z": 1, "a": [1.5, "x\u{0}y"], "nested": {"b": null}}),
        }
    }

    #[test]
    fn canonical_bytes_round_trip_and_are_stable() {
        let original = event();
        let bytes = canonical_bytes(&original).expect("serialises");
        let decoded = decode(&bytes).expect("decodes");
        assert_eq!(decoded, original);
        assert_eq!(canonical_bytes(&decoded).expect("serialises"), bytes);
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.starts_with(r#"{"format":1,"position":3,"stream_id":"trajectory-1""#));
    }

    #[test]
    fn chain_depends_on_previous_and_bytes() {
        let a = chain(&GENESIS, b"x");
        assert_ne!(a, chain(&GENESIS, b"y"));
        assert_ne!(a, chain(&[1u8; 32], b"x"));
        let stored = record(&a, b"x");
        assert_eq!(split_record(&stored).expect("splits"), (a, &b"x"[..]));
        assert!(split_record(&[0u8; 32]).is_err());
    }

    #[test]
    fn record_at_wrong_position_is_rejected() {
        let e = event();
        let value = record(&GENESIS, &canonical_bytes(&e).expect("serialises"));
        assert!(decode_record(3, &value).is_ok());
        assert!(decode_record(4, &value).is_err());
    }
}
