//! The example of `docs/store-format.md`: a segment header and one record, built by the real
//! encoder, so that a test can hold the page's hex dump to the bytes this code writes.

use chrono::{DateTime, NaiveDate};
use uuid::Uuid;

use crate::envelope::{self, GENESIS};
use crate::log::record::{self, COMMIT};
use crate::log::segment::Header;
use crate::RecordedEvent;

/// The example event: the first event of a new store.
pub(crate) fn event() -> RecordedEvent {
    RecordedEvent {
        position: 1,
        stream_id: "trajectory-1".into(),
        version: 1,
        event_id: Uuid::from_u128(0x0193_8a4e_51c0_7000_8000_0000_0000_0001),
        event_type: "signal_received".into(),
        schema_version: 1,
        occurred_on: NaiveDate::from_ymd_opt(2026, 1, 5).expect("a valid date"),
        recorded_at: DateTime::from_timestamp(1_767_605_400, 0).expect("a valid time"),
        recorded_by: "consultant-1".into(),
        correlation_id: None,
        causation_id: None,
        payload: serde_json::json!({ "team": "T1" }),
    }
}

/// The first segment's header and the event's framed record.
pub(crate) fn bytes() -> (Vec<u8>, Vec<u8>) {
    let header = Header {
        number: 1,
        first_position: 1,
        previous_hash: GENESIS,
    }
    .encode();
    let envelope = record::encode_envelope(&event()).expect("the example encodes");
    let hash = envelope::chain(&GENESIS, &envelope);
    let mut framed = Vec::new();
    record::frame(&mut framed, COMMIT, &hash, &envelope);
    (header, framed)
}

/// The hex dumps in a fenced block of the page, after the line `marker`: the bytes listed,
/// each line being an offset followed by up to 16 bytes.
fn dump_after(page: &str, marker: &str) -> Vec<u8> {
    let start = page.find(marker).expect("the page has the marker");
    let block = page[start..]
        .split("```")
        .nth(1)
        .expect("a fenced block follows the marker");
    block
        .lines()
        .filter_map(|line| line.split_once("  "))
        .flat_map(|(_, bytes)| bytes.split_whitespace())
        .map(|byte| u8::from_str_radix(byte, 16).expect("a hex byte"))
        .collect()
}

#[test]
fn the_format_page_shows_the_bytes_this_code_writes() {
    let page = include_str!("../../../../docs/store-format.md");
    let (header, record) = bytes();
    assert_eq!(dump_after(page, "<!-- segment header -->"), header);
    assert_eq!(dump_after(page, "<!-- record -->"), record);
}
