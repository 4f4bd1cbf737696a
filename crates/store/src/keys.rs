//! The key layout of the one sled tree that holds everything.
//!
//! Everything lives in **one** tree because `Tree::apply_batch` is atomic only within a tree: an
//! append writes its log records, stream index entries, event-id index entries and the new chain
//! head in one batch, so after a crash either all of them exist or none.
//!
//! | key | value |
//! |---|---|
//! | `L` ‖ position (u64 BE) | record: chain hash (32 bytes) ‖ canonical envelope JSON |
//! | `S` ‖ stream id ‖ `0x00` ‖ version (u64 BE) | position (u64 BE) |
//! | `E` ‖ event id (16 bytes) | position (u64 BE) |
//! | `H` | chain head: position (u64 BE) ‖ chain hash (32 bytes) |
//!
//! Numbers are big-endian and fixed-width, so sled's byte order equals numeric order: reading the
//! log from a position is one range scan, and a stream's current version is the last key under its
//! prefix (one reverse scan). Stream ids never contain NUL (see [`crate::validate_stream_id`]), so
//! the `0x00` terminator keeps the prefix of stream `a` from matching stream `a-1`.

use uuid::Uuid;

pub(crate) const LOG: u8 = b'L';
pub(crate) const STREAM: u8 = b'S';
pub(crate) const EVENT_ID: u8 = b'E';
/// The chain head key.
pub(crate) const HEAD: &[u8] = b"H";

pub(crate) fn log_key(position: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = LOG;
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

/// The position a log key names, or `None` when the key is not a log key.
pub(crate) fn position_of_log_key(key: &[u8]) -> Option<u64> {
    match key {
        [LOG, rest @ ..] => be_u64(rest),
        _ => None,
    }
}

/// The prefix under which all of a stream's index entries live.
pub(crate) fn stream_prefix(stream_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream_id.len() + 2);
    key.push(STREAM);
    key.extend_from_slice(stream_id.as_bytes());
    key.push(0);
    key
}

pub(crate) fn stream_key(stream_id: &str, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream_id);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// The version a stream index key names (its last 8 bytes).
pub(crate) fn version_of_stream_key(key: &[u8]) -> Option<u64> {
    key.len()
        .checked_sub(8)
        .and_then(|start| be_u64(&key[start..]))
}

pub(crate) fn event_id_key(event_id: Uuid) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = EVENT_ID;
    key[1..].copy_from_slice(event_id.as_bytes());
    key
}

pub(crate) fn encode_position(position: u64) -> [u8; 8] {
    position.to_be_bytes()
}

/// Decodes an 8-byte big-endian number; `None` for any other length.
pub(crate) fn be_u64(bytes: &[u8]) -> Option<u64> {
    let array: [u8; 8] = bytes.try_into().ok()?;
    Some(u64::from_be_bytes(array))
}

pub(crate) fn encode_head(position: u64, hash: &[u8; 32]) -> [u8; 40] {
    let mut value = [0u8; 40];
    value[..8].copy_from_slice(&position.to_be_bytes());
    value[8..].copy_from_slice(hash);
    value
}

pub(crate) fn decode_head(value: &[u8]) -> Option<(u64, [u8; 32])> {
    if value.len() != 40 {
        return None;
    }
    let position = be_u64(&value[..8])?;
    let hash: [u8; 32] = value[8..].try_into().ok()?;
    Some((position, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_is_numeric_order() {
        let positions = [0u64, 1, 255, 256, 65_535, 1 << 40, u64::MAX];
        for pair in positions.windows(2) {
            assert!(log_key(pair[0]) < log_key(pair[1]));
            assert!(stream_key("s", pair[0]) < stream_key("s", pair[1]));
        }
    }

    #[test]
    fn stream_prefixes_do_not_overlap() {
        let a = stream_key("a", 7);
        assert!(a.starts_with(&stream_prefix("a")));
        assert!(!a.starts_with(&stream_prefix("a-1")));
        assert!(!stream_key("a-1", 1).starts_with(&stream_prefix("a")));
        assert_eq!(version_of_stream_key(&a), Some(7));
    }

    #[test]
    fn keys_round_trip() {
        assert_eq!(position_of_log_key(&log_key(42)), Some(42));
        assert_eq!(position_of_log_key(b"S123"), None);
        let hash = [7u8; 32];
        assert_eq!(decode_head(&encode_head(9, &hash)), Some((9, hash)));
        assert_eq!(decode_head(b"short"), None);
    }
}
