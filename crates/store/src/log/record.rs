//! The bytes of one record in a segment: a checksummed frame around a compact binary envelope.
//!
//! ```text
//! frame    := length u32 LE | crc32c u32 LE | body            (length = body length)
//! body     := flags u8 | chain hash [32] | envelope           (crc32c covers the whole body)
//! envelope := format u8 (=1) | position u64 LE | version u64 LE | event id [16]
//!           | schema version u32 LE | occurred_on i32 LE (days since 0001-01-01, day 1 = 1)
//!           | recorded_at seconds i64 LE | recorded_at nanoseconds u32 LE
//!           | ids u8 (bit 0: correlation id follows, bit 1: causation id follows)
//!           | [correlation id [16]] | [causation id [16]]
//!           | stream id (u16 LE length, UTF-8) | type (u16 LE length, UTF-8)
//!           | recorded by (u16 LE length, UTF-8) | payload (u32 LE length, JSON)
//! ```
//!
//! The chain hash is `SHA-256(previous hash ‖ envelope)`: it covers exactly the stored envelope
//! bytes, never a re-serialisation. The flags live outside the envelope on purpose: bit 0
//! (`COMMIT`) marks the last record of one group commit, which depends on how appends happened to
//! be grouped; were it hashed, an imported copy of a log would get other hashes.
//! `docs/store-format.md` walks through a hex dump of one record.
//!
//! A second envelope kind exists for directories upgraded from format 1 (sled): there the chain
//! covers the canonical JSON envelope of [`crate::envelope`], so an upgrade keeps those bytes
//! as they are and every hash stays the same. Such an envelope starts with `{`; the binary one
//! with its format byte `1`. Everything that reads an envelope goes through [`index_entry`],
//! [`envelope_position`] and [`decode_envelope`], which tell the two apart by that first byte.

use chrono::{DateTime, NaiveDate};
use uuid::Uuid;

use crate::envelope::HASH_LEN;
use crate::{RecordedEvent, StoreError, MAX_EVENT_BYTES};

/// Length and checksum in front of every body.
pub(crate) const FRAME_HEADER: usize = 8;
/// Flag: the last record of a group commit. Recovery keeps a log only up to such a record, so
/// that an append is never half there.
pub(crate) const COMMIT: u8 = 1;
/// The envelope layout this code writes.
const ENVELOPE_FORMAT: u8 = 1;
/// Fixed part of the envelope, up to and including the `ids` byte.
const ENVELOPE_FIXED: usize = 1 + 8 + 8 + 16 + 4 + 4 + 8 + 4 + 1;
/// The smallest possible body: flags, hash, fixed envelope, four empty length-prefixed fields.
const MIN_BODY: usize = 1 + HASH_LEN + ENVELOPE_FIXED + 2 + 2 + 2 + 4;
/// The largest body a frame may announce: anything larger is damage, not a record.
pub(crate) const MAX_BODY: usize = 1 + HASH_LEN + MAX_EVENT_BYTES;

/// Encodes the envelope of an event. `InvalidAppend` when a text field does not fit its length
/// prefix (such an event would be over [`MAX_EVENT_BYTES`] anyway).
pub(crate) fn encode_envelope(event: &RecordedEvent) -> Result<Vec<u8>, StoreError> {
    let payload = serde_json::to_vec(&event.payload)
        .map_err(|e| StoreError::Storage(format!("the payload does not serialise: {e}")))?;
    let mut out = Vec::with_capacity(
        ENVELOPE_FIXED
            + 32
            + event.stream_id.len()
            + event.event_type.len()
            + event.recorded_by.len()
            + payload.len()
            + 10,
    );
    out.push(ENVELOPE_FORMAT);
    out.extend_from_slice(&event.position.to_le_bytes());
    out.extend_from_slice(&event.version.to_le_bytes());
    out.extend_from_slice(event.event_id.as_bytes());
    out.extend_from_slice(&event.schema_version.to_le_bytes());
    out.extend_from_slice(&chrono::Datelike::num_days_from_ce(&event.occurred_on).to_le_bytes());
    out.extend_from_slice(&event.recorded_at.timestamp().to_le_bytes());
    out.extend_from_slice(&event.recorded_at.timestamp_subsec_nanos().to_le_bytes());
    let ids =
        u8::from(event.correlation_id.is_some()) | (u8::from(event.causation_id.is_some()) << 1);
    out.push(ids);
    for id in [event.correlation_id, event.causation_id]
        .into_iter()
        .flatten()
    {
        out.extend_from_slice(id.as_bytes());
    }
    for (what, text) in [
        ("stream id", &event.stream_id),
        ("type", &event.event_type),
        ("recorded_by", &event.recorded_by),
    ] {
        let len = u16::try_from(text.len()).map_err(|_| {
            StoreError::InvalidAppend(format!(
                "event {}: its {what} is {} bytes long",
                event.event_id,
                text.len()
            ))
        })?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    let len = u32::try_from(payload.len()).map_err(|_| {
        StoreError::InvalidAppend(format!(
            "event {}: the payload is too large",
            event.event_id
        ))
    })?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The first byte of a format-1 (JSON) envelope.
const JSON_ENVELOPE: u8 = b'{';

/// Whether `envelope` is a format-1 JSON envelope kept by an upgrade.
pub(crate) fn is_json_envelope(envelope: &[u8]) -> bool {
    envelope.first() == Some(&JSON_ENVELOPE)
}

/// The position an envelope names (bytes 1..9 of a binary one), without decoding the rest.
pub(crate) fn envelope_position(envelope: &[u8]) -> Option<u64> {
    if is_json_envelope(envelope) {
        return json_position(envelope);
    }
    envelope
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
}

/// How every canonical JSON envelope of format 1 begins (its fields have a fixed order).
const JSON_POSITION_PREFIX: &[u8] = br#"{"format":1,"position":"#;

/// The position of a JSON envelope, read from its fixed beginning without parsing the rest (the
/// payload can be large, and every open checks every record's position); an envelope that does
/// not begin as format 1 writes it is parsed in full.
fn json_position(envelope: &[u8]) -> Option<u64> {
    let Some(rest) = envelope.strip_prefix(JSON_POSITION_PREFIX) else {
        return json_index_entry(envelope).ok().map(|entry| entry.position);
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b',') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// What the derived indexes need of an envelope: stream id, version and event id, read without
/// parsing the payload.
#[derive(Debug)]
pub(crate) struct IndexEntry<'a> {
    pub(crate) position: u64,
    pub(crate) stream_id: std::borrow::Cow<'a, str>,
    pub(crate) version: u64,
    pub(crate) event_id: Uuid,
}

/// The index fields of a JSON envelope; the payload is skipped, not built.
fn json_index_entry(envelope: &[u8]) -> Result<IndexEntry<'_>, String> {
    #[derive(serde::Deserialize)]
    struct Fields<'a> {
        position: u64,
        #[serde(borrow)]
        stream_id: std::borrow::Cow<'a, str>,
        version: u64,
        event_id: Uuid,
    }
    let fields: Fields<'_> = serde_json::from_slice(envelope)
        .map_err(|e| format!("the JSON envelope does not parse: {e}"))?;
    Ok(IndexEntry {
        position: fields.position,
        stream_id: fields.stream_id,
        version: fields.version,
        event_id: fields.event_id,
    })
}

/// Reads an envelope field by field; every read is bounds-checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        let end =
            end.ok_or_else(|| format!("the envelope ends inside a field at byte {}", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        self.take(N)?
            .try_into()
            .map_err(|_| "a fixed field has the wrong length".to_string())
    }

    fn u16(&mut self) -> Result<u16, String> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.array().map(u64::from_le_bytes)
    }

    fn text(&mut self, len: usize) -> Result<&'a str, String> {
        std::str::from_utf8(self.take(len)?).map_err(|e| format!("a text field is not UTF-8: {e}"))
    }
}

/// The fixed fields and the text fields of an envelope, borrowed.
struct Parts<'a> {
    position: u64,
    version: u64,
    event_id: Uuid,
    schema_version: u32,
    occurred_on: i32,
    seconds: i64,
    nanos: u32,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    stream_id: &'a str,
    event_type: &'a str,
    recorded_by: &'a str,
    payload: &'a [u8],
}

fn parts(envelope: &[u8]) -> Result<Parts<'_>, String> {
    let mut c = Cursor {
        bytes: envelope,
        at: 0,
    };
    let format = c.array::<1>()?[0];
    if format != ENVELOPE_FORMAT {
        return Err(format!("unknown envelope format {format}"));
    }
    let position = c.u64()?;
    let version = c.u64()?;
    let event_id = Uuid::from_bytes(c.array()?);
    let schema_version = c.u32()?;
    let occurred_on = i32::from_le_bytes(c.array()?);
    let seconds = i64::from_le_bytes(c.array()?);
    let nanos = c.u32()?;
    let ids = c.array::<1>()?[0];
    if ids & !0b11 != 0 {
        return Err(format!("unknown id flags {ids:#04x}"));
    }
    let correlation_id = if ids & 1 != 0 {
        Some(Uuid::from_bytes(c.array()?))
    } else {
        None
    };
    let causation_id = if ids & 2 != 0 {
        Some(Uuid::from_bytes(c.array()?))
    } else {
        None
    };
    let len = usize::from(c.u16()?);
    let stream_id = c.text(len)?;
    let len = usize::from(c.u16()?);
    let event_type = c.text(len)?;
    let len = usize::from(c.u16()?);
    let recorded_by = c.text(len)?;
    let len = c.u32()? as usize;
    let payload = c.take(len)?;
    if c.at != envelope.len() {
        return Err(format!(
            "{} bytes follow the envelope's last field",
            envelope.len() - c.at
        ));
    }
    Ok(Parts {
        position,
        version,
        event_id,
        schema_version,
        occurred_on,
        seconds,
        nanos,
        correlation_id,
        causation_id,
        stream_id,
        event_type,
        recorded_by,
        payload,
    })
}

/// The index fields of an envelope (no payload parsing).
pub(crate) fn index_entry(envelope: &[u8]) -> Result<IndexEntry<'_>, String> {
    if is_json_envelope(envelope) {
        return json_index_entry(envelope);
    }
    let p = parts(envelope)?;
    Ok(IndexEntry {
        position: p.position,
        stream_id: p.stream_id.into(),
        version: p.version,
        event_id: p.event_id,
    })
}

/// Decodes a whole envelope, of either kind.
pub(crate) fn decode_envelope(envelope: &[u8]) -> Result<RecordedEvent, String> {
    if is_json_envelope(envelope) {
        return crate::envelope::decode(envelope);
    }
    let p = parts(envelope)?;
    let payload =
        serde_json::from_slice(p.payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    with_fields(&p, payload)
}

/// [`decode_envelope`] with the payload as JSON text (see [`crate::EventStore::read_all_raw`]):
/// a binary envelope's payload bytes as they lie (whether they are JSON is the reader's to find
/// out as it decodes them), a format-1 JSON envelope's parsed payload written back out.
pub(crate) fn decode_envelope_raw(envelope: &[u8]) -> Result<crate::RawEvent, String> {
    if is_json_envelope(envelope) {
        let event = crate::envelope::decode(envelope)?;
        let payload = serde_json::to_vec(&event.payload).map_err(|e| e.to_string())?;
        return Ok(event.with_payload(payload));
    }
    let p = parts(envelope)?;
    with_fields(&p, p.payload.to_vec())
}

/// The event of the binary envelope `p`, with `payload`.
fn with_fields<P>(p: &Parts<'_>, payload: P) -> Result<RecordedEvent<P>, String> {
    let occurred_on = NaiveDate::from_num_days_from_ce_opt(p.occurred_on)
        .ok_or_else(|| format!("day {} is not a date", p.occurred_on))?;
    let recorded_at = DateTime::from_timestamp(p.seconds, p.nanos)
        .ok_or_else(|| format!("{}s {}ns is not a time", p.seconds, p.nanos))?;
    Ok(RecordedEvent {
        position: p.position,
        stream_id: p.stream_id.to_owned(),
        version: p.version,
        event_id: p.event_id,
        event_type: p.event_type.to_owned(),
        schema_version: p.schema_version,
        occurred_on,
        recorded_at,
        recorded_by: p.recorded_by.to_owned(),
        correlation_id: p.correlation_id,
        causation_id: p.causation_id,
        payload,
    })
}

/// Appends the frame of one record to `out`.
pub(crate) fn frame(out: &mut Vec<u8>, flags: u8, hash: &[u8; HASH_LEN], envelope: &[u8]) {
    let body_len = 1 + HASH_LEN + envelope.len();
    let mut crc = crc32c::crc32c(&[flags]);
    crc = crc32c::crc32c_append(crc, hash);
    crc = crc32c::crc32c_append(crc, envelope);
    // MAX_EVENT_BYTES keeps every body far below 4 GiB.
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.push(flags);
    out.extend_from_slice(hash);
    out.extend_from_slice(envelope);
}

/// One record read back from a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub(crate) flags: u8,
    pub(crate) hash: [u8; HASH_LEN],
    pub(crate) envelope: &'a [u8],
    /// Bytes the whole frame takes.
    pub(crate) frame_len: usize,
}

/// Why the bytes at some offset are not a record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// The bytes end before the frame does (a write that stopped part-way).
    Short,
    /// The frame is complete but wrong (length out of range or checksum mismatch).
    Damaged(String),
}

/// The body length a frame header announces, if the header is there and plausible.
pub(crate) fn announced_len(bytes: &[u8]) -> Result<usize, Unreadable> {
    let header: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(Unreadable::Short)?;
    let len = u32::from_le_bytes(header) as usize;
    if !(MIN_BODY..=MAX_BODY).contains(&len) {
        return Err(Unreadable::Damaged(format!(
            "the frame announces {len} bytes, outside {MIN_BODY}..={MAX_BODY}"
        )));
    }
    Ok(len)
}

/// Reads the frame at the start of `bytes`, checking its length and checksum.
pub(crate) fn parse_frame(bytes: &[u8]) -> Result<Record<'_>, Unreadable> {
    let len = announced_len(bytes)?;
    let frame = bytes.get(..FRAME_HEADER + len).ok_or(Unreadable::Short)?;
    let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let body = &frame[FRAME_HEADER..];
    let actual = crc32c::crc32c(body);
    if actual != crc {
        return Err(Unreadable::Damaged(format!(
            "checksum {actual:08x} instead of {crc:08x}"
        )));
    }
    let mut hash = [0u8; HASH_LEN];
    hash.copy_from_slice(&body[1..1 + HASH_LEN]);
    Ok(Record {
        flags: body[0],
        hash,
        envelope: &body[1 + HASH_LEN..],
        frame_len: frame.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn event() -> RecordedEvent {
        RecordedEvent {
            position: 3,
            stream_id: "trajectory-ë".into(),
            version: 2,
            event_id: Uuid::from_u128(5),
            event_type: "consultant_assigned".into(),
            schema_version: 1,
            occurred_on: NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid date"),
            recorded_at: DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("valid time"),
            recorded_by: "user-\"quoted\"".into(),
            correlation_id: None,
            causation_id: Some(Uuid::from_u128(9)),
            payload: serde_json::json!({"z": 1, "a": [1.5, "x\u{0}y"], "nested": {"b": null}}),
        }
    }

    #[test]
    fn an_envelope_round_trips_with_and_without_optional_ids() {
        let mut original = event();
        for (correlation, causation) in [(None, None), (Some(7), None), (Some(7), Some(8))] {
            original.correlation_id = correlation.map(Uuid::from_u128);
            original.causation_id = causation.map(Uuid::from_u128);
            let bytes = encode_envelope(&original).expect("encodes");
            assert_eq!(decode_envelope(&bytes).expect("decodes"), original);
            // Raw: the same envelope, the payload as the JSON text written.
            let raw = decode_envelope_raw(&bytes).expect("decodes raw");
            assert_eq!(
                raw.payload,
                serde_json::to_vec(&original.payload).expect("JSON")
            );
            assert_eq!(raw.with_payload(original.payload.clone()), original);
            assert_eq!(envelope_position(&bytes), Some(3));
            let entry = index_entry(&bytes).expect("index fields");
            assert_eq!(
                (entry.stream_id.as_ref(), entry.version, entry.event_id),
                ("trajectory-ë", 2, original.event_id)
            );
        }
    }

    /// A directory upgraded from format 1 keeps its canonical JSON envelopes: every reader of
    /// an envelope takes them as well, escaped text included.
    #[test]
    fn a_format_1_json_envelope_is_read_like_a_binary_one() {
        let mut original = event();
        original.stream_id = "trajectory-\"ë\"\\".into();
        original.correlation_id = Some(Uuid::from_u128(7));
        let json = crate::envelope::canonical_bytes(&original).expect("canonical JSON");
        assert!(is_json_envelope(&json));
        assert!(!is_json_envelope(
            &encode_envelope(&original).expect("encodes")
        ));
        assert_eq!(decode_envelope(&json).expect("decodes"), original);
        let raw = decode_envelope_raw(&json).expect("decodes raw");
        let payload: serde_json::Value = serde_json::from_slice(&raw.payload).expect("JSON text");
        assert_eq!(raw.with_payload(payload), original);
        assert_eq!(envelope_position(&json), Some(3));
        let entry = index_entry(&json).expect("index fields");
        assert_eq!(
            (entry.stream_id.as_ref(), entry.version, entry.event_id),
            (original.stream_id.as_str(), 2, original.event_id)
        );
        let mut broken = json.clone();
        broken.truncate(json.len() - 1);
        assert!(decode_envelope(&broken).is_err());
        assert!(decode_envelope_raw(&broken).is_err());
        assert!(index_entry(&broken).is_err());
        // The position is read from the fixed beginning, and agrees with the full parse.
        for position in [1, 3, 1_234_567, u64::MAX] {
            original.position = position;
            let json = crate::envelope::canonical_bytes(&original).expect("canonical JSON");
            assert_eq!(envelope_position(&json), Some(position));
            assert_eq!(json_index_entry(&json).expect("parses").position, position);
        }
        assert_eq!(envelope_position(br#"{"format":1,"position":x,"#), None);
        assert_eq!(envelope_position(br#"{"format":1,"position":,"#), None);
    }

    #[test]
    fn an_envelope_with_trailing_or_missing_bytes_is_refused() {
        let bytes = encode_envelope(&event()).expect("encodes");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_envelope(&longer).is_err());
        assert!(decode_envelope(&bytes[..bytes.len() - 1]).is_err());
        let mut other_format = bytes;
        other_format[0] = 2;
        assert!(decode_envelope(&other_format).is_err());
    }

    #[test]
    fn a_frame_round_trips_and_every_flipped_bit_is_caught() {
        let envelope = encode_envelope(&event()).expect("encodes");
        let mut bytes = Vec::new();
        frame(&mut bytes, COMMIT, &[7u8; HASH_LEN], &envelope);
        let record = parse_frame(&bytes).expect("parses");
        assert_eq!(record.flags, COMMIT);
        assert_eq!(record.hash, [7u8; HASH_LEN]);
        assert_eq!(record.envelope, &envelope[..]);
        assert_eq!(record.frame_len, bytes.len());
        for byte in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[byte] ^= 0x10;
            assert!(
                parse_frame(&damaged).is_err(),
                "flip in byte {byte} unnoticed"
            );
        }
        assert_eq!(
            parse_frame(&bytes[..bytes.len() - 1]),
            Err(Unreadable::Short)
        );
        assert_eq!(parse_frame(&bytes[..3]), Err(Unreadable::Short));
    }
}
