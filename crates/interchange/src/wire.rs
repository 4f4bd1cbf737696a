//! The JSON Lines form of one event: the envelope of SPEC §1, field for field.

use chrono::{DateTime, NaiveDate, Utc};
use jeugdpad_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One line of `events.jsonl`: what `jeugdpad export --format jsonl --what events` writes and
/// `jeugdpad import` reads.
///
/// On import, `position`, `recorded_at` and `recorded_by` may be left out (history from another
/// system has none): the store then gives the next position, the import's time and the
/// importing operator. Every other field is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLine {
    pub event_id: Uuid,
    pub stream_id: String,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u32,
    pub occurred_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
    #[serde(default)]
    pub correlation_id: Option<Uuid>,
    #[serde(default)]
    pub causation_id: Option<Uuid>,
    pub payload: serde_json::Value,
}

impl From<RecordedEvent> for EventLine {
    fn from(event: RecordedEvent) -> Self {
        EventLine {
            event_id: event.event_id,
            stream_id: event.stream_id,
            version: event.version,
            position: Some(event.position),
            event_type: event.event_type,
            schema_version: event.schema_version,
            occurred_on: event.occurred_on,
            recorded_at: Some(event.recorded_at),
            recorded_by: Some(event.recorded_by),
            correlation_id: event.correlation_id,
            causation_id: event.causation_id,
            payload: event.payload,
        }
    }
}
