//! The key layout. Everything lives in sled's default tree, so the keys of a batch of entries and
//! the checkpoint after them are one atomic `apply_batch`.
//!
//! | key | what it lists |
//! |---|---|
//! | `C` | the checkpoint: position (u64 BE) ‖ event id (16 bytes) of the last position looked at |
//! | `P` ‖ position | every indexed entry |
//! | `T` ‖ instant ‖ position | every entry by `recorded_at` (turns a period into positions) |
//! | `U` ‖ user id ‖ `0x00` ‖ position | the entries of one user |
//! | `S` ‖ subject key ‖ `0x00` ‖ position | the entries about one youth |
//! | `R` ‖ trajectory id (16 bytes) ‖ position | the entries about one trajectory |
//!
//! Values are empty: a key *is* the fact "this position is in this list". Positions are
//! big-endian and last, so one list is one key range in position order and reading it backwards
//! is newest first. User ids and subject keys never hold control characters (the domain refuses
//! them), so `0x00` ends them unambiguously.

use chrono::{DateTime, Utc};
use jeugdpad_access::AccessEntry;
use jeugdpad_domain::{SubjectKey, TrajectoryId, UserId};

pub(crate) const CHECKPOINT: &[u8] = b"C";
const ALL: u8 = b'P';
const TIME: u8 = b'T';
const USER: u8 = b'U';
const SUBJECT: u8 = b'S';
const TRAJECTORY: u8 = b'R';

/// The prefix of the list of every entry.
pub(crate) fn all() -> Vec<u8> {
    vec![ALL]
}

/// The prefix of one user's entries.
pub(crate) fn user(user: &UserId) -> Vec<u8> {
    text(USER, user.as_str())
}

/// The prefix of one youth's entries.
pub(crate) fn subject(subject: &SubjectKey) -> Vec<u8> {
    text(SUBJECT, subject.as_str())
}

/// The prefix of one trajectory's entries.
pub(crate) fn trajectory(trajectory: TrajectoryId) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + 16 + 8);
    key.push(TRAJECTORY);
    key.extend_from_slice(trajectory.as_uuid().as_bytes());
    key
}

fn text(kind: u8, value: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + value.len() + 1 + 8);
    key.push(kind);
    key.extend_from_slice(value.as_bytes());
    key.push(0);
    key
}

/// `prefix` ‖ `position`.
pub(crate) fn at(prefix: &[u8], position: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 8);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// The position a key of any list ends with.
pub(crate) fn position_of(key: &[u8]) -> Option<u64> {
    let tail = key.len().checked_sub(8).map(|start| &key[start..])?;
    tail.try_into().ok().map(u64::from_be_bytes)
}

/// The first key of the time list at or after `instant`.
pub(crate) fn time_from(instant: DateTime<Utc>) -> Vec<u8> {
    time(instant, 0)
}

/// The last possible key of the time list at `instant`.
pub(crate) fn time_to(instant: DateTime<Utc>) -> Vec<u8> {
    time(instant, u64::MAX)
}

/// The first key of the time list.
pub(crate) fn time_start() -> Vec<u8> {
    vec![TIME]
}

/// The first key after the time list.
pub(crate) fn time_end() -> Vec<u8> {
    vec![TIME + 1]
}

fn time(instant: DateTime<Utc>, position: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + 8 + 8);
    key.push(TIME);
    key.extend_from_slice(&instant_bytes(instant));
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// Nanoseconds since 1970 with the sign bit flipped, so byte order is time order. Instants
/// outside 1677–2262 (which `recorded_at` never is) clamp to the ends, where a period that
/// reaches past them still finds everything inside.
fn instant_bytes(instant: DateTime<Utc>) -> [u8; 8] {
    let nanos = instant
        .timestamp_nanos_opt()
        .unwrap_or(if instant.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        });
    ((nanos as u64) ^ (1 << 63)).to_be_bytes()
}

/// Every key of the entry at `position`.
pub(crate) fn of_entry(
    position: u64,
    recorded_at: DateTime<Utc>,
    entry: &AccessEntry,
) -> impl Iterator<Item = Vec<u8>> {
    let lists = [
        Some(all()),
        entry.user.as_ref().map(user),
        entry.subject_key.as_ref().map(subject),
        entry.trajectory.map(trajectory),
    ];
    lists
        .into_iter()
        .flatten()
        .map(move |prefix| at(&prefix, position))
        .chain(std::iter::once(time(recorded_at, position)))
}

/// The checkpoint's value.
pub(crate) fn checkpoint_value(position: u64, event_id: uuid::Uuid) -> [u8; 24] {
    let mut value = [0; 24];
    value[..8].copy_from_slice(&position.to_be_bytes());
    value[8..].copy_from_slice(event_id.as_bytes());
    value
}

/// Reads the checkpoint's value back.
pub(crate) fn checkpoint_of(value: &[u8]) -> Option<(u64, uuid::Uuid)> {
    let position = value.get(..8)?.try_into().ok().map(u64::from_be_bytes)?;
    let id = uuid::Uuid::from_slice(value.get(8..24)?).ok()?;
    Some((position, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_as_time_and_then_position() {
        let early: DateTime<Utc> = "1969-12-31T23:59:59.999999999Z".parse().expect("date");
        let epoch: DateTime<Utc> = "1970-01-01T00:00:00Z".parse().expect("date");
        let later: DateTime<Utc> = "2026-11-30T12:00:00.000000001Z".parse().expect("date");
        let mut keys = vec![
            time(later, 1),
            time(epoch, 9),
            time(early, 10),
            time(epoch, 2),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                time(early, 10),
                time(epoch, 2),
                time(epoch, 9),
                time(later, 1)
            ]
        );
        assert!(time_start() < time_from(early) && time_to(later) < time_end());
    }

    #[test]
    fn positions_come_back_from_every_list() {
        let user = UserId::parse("consulent-1").expect("user");
        for prefix in [
            all(),
            self::user(&user),
            trajectory(TrajectoryId::from_uuid(uuid::Uuid::nil())),
        ] {
            assert_eq!(position_of(&at(&prefix, 258)), Some(258));
        }
        let id = uuid::Uuid::now_v7();
        assert_eq!(checkpoint_of(&checkpoint_value(7, id)), Some((7, id)));
    }
}
