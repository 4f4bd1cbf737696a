//! The stored form of events: `(type code, schema_version, JSON payload)`, and upcasting.
//!
//! The store knows nothing about trajectories; it keeps this triple in each envelope. Events are
//! never rewritten, so a payload written under an older schema stays old forever: [`Event::decode`]
//! upcasts it step by step to the current version every time it is read.
//!
//! ## Corrections
//!
//! `event_corrected` is stored as
//! `{"corrects": "<event id>", "occurred_on": "2024-03-01", "payload": {...}, "reason": "..."}`
//! with `occurred_on` and `payload` each left out when not replaced. The replacement payload is
//! self-describing — `{"type": "<step code>", "schema_version": 1, ...the step's own fields}` — so
//! it can be decoded (and upcast) without looking up the corrected event, and a replacement
//! written today still reads correctly after the step's schema moves on.
//! `event_retracted` is `{"retracts": "<event id>", "reason": "..."}`.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::codes::{EventType, Urgency};
use crate::event::{Correction, Event, Retraction, Step};
use crate::ids::{EventId, Reason};

/// The schema version every event type is written with today.
pub const CURRENT_SCHEMA_VERSION: u32 = 1;

/// An event in its stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedEvent {
    /// The type code, e.g. `"help_started"`.
    pub event_type: &'static str,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The payload.
    pub payload: Value,
}

/// Why a stored event could not be read. Not a user's mistake: it means the store holds data this
/// build does not understand (a newer release wrote it, or it is damaged).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The type code is not in the catalogue.
    #[error("unknown event type '{event_type}'")]
    UnknownType {
        /// The stored type code.
        event_type: String,
    },
    /// Written by a newer release.
    #[error("{event_type} schema version {version} is newer than this build supports ({supported}); upgrade Jeugdpad")]
    VersionTooNew {
        /// The type code.
        event_type: String,
        /// The stored version.
        version: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// An old version without an upcaster.
    #[error("{event_type} schema version {version} never existed or can no longer be read")]
    UnknownVersion {
        /// The type code.
        event_type: String,
        /// The stored version.
        version: u32,
    },
    /// The payload does not match its schema.
    #[error("{event_type} payload (schema version {version}) is invalid: {message}")]
    InvalidPayload {
        /// The type code.
        event_type: String,
        /// The stored version.
        version: u32,
        /// What is wrong.
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
struct CorrectionWire {
    corrects: EventId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    occurred_on: Option<chrono::NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
    reason: Reason,
}

#[derive(Serialize, Deserialize)]
struct RetractionWire {
    retracts: EventId,
    reason: Reason,
}

fn to_value(value: impl Serialize) -> Value {
    // Payload types are plain structs of strings, numbers, booleans and dates: they always
    // serialise. `Null` is unreachable but keeps this path free of panics.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Step {
    fn payload(&self) -> Value {
        match self {
            Step::SignalReceived(p) => to_value(p),
            Step::ConsultantAssigned(p) => to_value(p),
            Step::TeamTransferred(p) => to_value(p),
            Step::AssessmentCompleted(p) => to_value(p),
            Step::HelpRequested(p) => to_value(p),
            Step::DecisionIssued(p) => to_value(p),
            Step::HelpStarted(p) => to_value(p),
            Step::HelpEnded(p) => to_value(p),
            Step::PgbGranted(p) => to_value(p),
            Step::PgbReviewScheduled(p) => to_value(p),
            Step::PgbReviewCompleted(p) => to_value(p),
            Step::TrajectoryClosed(p) => to_value(p),
        }
    }

    /// Decodes a step payload that has already been upcast to the current version.
    fn from_current(kind: EventType, payload: impl Source) -> Result<Step, String> {
        Ok(match kind {
            EventType::SignalReceived => Step::SignalReceived(payload.read()?),
            EventType::ConsultantAssigned => Step::ConsultantAssigned(payload.read()?),
            EventType::TeamTransferred => Step::TeamTransferred(payload.read()?),
            EventType::AssessmentCompleted => Step::AssessmentCompleted(payload.read()?),
            EventType::HelpRequested => Step::HelpRequested(payload.read()?),
            EventType::DecisionIssued => Step::DecisionIssued(payload.read()?),
            EventType::HelpStarted => Step::HelpStarted(payload.read()?),
            EventType::HelpEnded => Step::HelpEnded(payload.read()?),
            EventType::PgbGranted => Step::PgbGranted(payload.read()?),
            EventType::PgbReviewScheduled => Step::PgbReviewScheduled(payload.read()?),
            EventType::PgbReviewCompleted => Step::PgbReviewCompleted(payload.read()?),
            EventType::TrajectoryClosed => Step::TrajectoryClosed(payload.read()?),
            EventType::EventCorrected | EventType::EventRetracted => {
                return Err(
                    "a replacement payload must be a step, not a correction or retraction"
                        .to_owned(),
                )
            }
        })
    }
}

impl Event {
    /// The stored form, at [`CURRENT_SCHEMA_VERSION`].
    pub fn encode(&self) -> EncodedEvent {
        let payload = match self {
            Event::Step(step) => step.payload(),
            Event::Corrected(c) => to_value(CorrectionWire {
                corrects: c.corrects,
                occurred_on: c.occurred_on,
                payload: c.payload.as_ref().map(replacement_payload),
                reason: c.reason.clone(),
            }),
            Event::Retracted(r) => to_value(RetractionWire {
                retracts: r.retracts,
                reason: r.reason.clone(),
            }),
        };
        EncodedEvent {
            event_type: self.event_type(),
            schema_version: CURRENT_SCHEMA_VERSION,
            payload,
        }
    }

    /// Reads a stored event, upcasting older schema versions.
    pub fn decode(
        event_type: &str,
        schema_version: u32,
        payload: &Value,
    ) -> Result<Event, DecodeError> {
        let kind = kind_of(event_type)?;
        let payload = upcast(kind, schema_version, payload)?;
        decode_current(kind, event_type, schema_version, &*payload)
    }

    /// [`Event::decode`] from the payload's JSON text as the store keeps it: a current payload
    /// goes straight into its types (a replay decodes millions, and the `Value` tree in between
    /// cost as much as the rest), an older one through [`Event::decode`]'s upcasting.
    pub fn decode_json(
        event_type: &str,
        schema_version: u32,
        payload: &[u8],
    ) -> Result<Event, DecodeError> {
        let kind = kind_of(event_type)?;
        if schema_version == CURRENT_SCHEMA_VERSION {
            // A text the direct read refuses is read again through a parsed tree, so that both
            // read every payload alike (a derived type refuses a key given twice, where a tree
            // keeps the last); its errors are then the tree's too.
            return decode_current(kind, event_type, schema_version, payload).or_else(|direct| {
                match serde_json::from_slice::<Value>(payload) {
                    Ok(tree) => Event::decode(event_type, schema_version, &tree),
                    Err(_) => Err(direct),
                }
            });
        }
        if schema_version > CURRENT_SCHEMA_VERSION {
            // Said before the payload is looked at, as `decode` does.
            return Event::decode(event_type, schema_version, &Value::Null);
        }
        let value: Value =
            serde_json::from_slice(payload).map_err(|e| DecodeError::InvalidPayload {
                event_type: event_type.to_owned(),
                version: schema_version,
                message: e.to_string(),
            })?;
        Event::decode(event_type, schema_version, &value)
    }
}

/// The catalogue's type for a stored type code.
fn kind_of(event_type: &str) -> Result<EventType, DecodeError> {
    EventType::from_code(event_type).map_err(|_| DecodeError::UnknownType {
        event_type: event_type.to_owned(),
    })
}

/// A current payload of `kind` (read from `payload`) as an event.
fn decode_current(
    kind: EventType,
    event_type: &str,
    schema_version: u32,
    payload: impl Source,
) -> Result<Event, DecodeError> {
    let invalid = |message: String| DecodeError::InvalidPayload {
        event_type: event_type.to_owned(),
        version: schema_version,
        message,
    };
    match kind {
        EventType::EventCorrected => {
            let wire: CorrectionWire = payload.read().map_err(invalid)?;
            let replacement = match wire.payload {
                Some(value) => Some(
                    decode_replacement(value).map_err(|e| invalid(format!("replacement: {e}")))?,
                ),
                None => None,
            };
            Ok(Event::Corrected(Correction {
                corrects: wire.corrects,
                occurred_on: wire.occurred_on,
                payload: replacement,
                reason: wire.reason,
            }))
        }
        EventType::EventRetracted => {
            let wire: RetractionWire = payload.read().map_err(invalid)?;
            Ok(Event::Retracted(Retraction {
                retracts: wire.retracts,
                reason: wire.reason,
            }))
        }
        _ => Ok(Event::Step(
            Step::from_current(kind, payload).map_err(invalid)?,
        )),
    }
}

/// Where a current payload is read from: the parsed tree, or its JSON text.
trait Source: Copy {
    fn read<T: DeserializeOwned>(self) -> Result<T, String>;
}

impl Source for &Value {
    fn read<T: DeserializeOwned>(self) -> Result<T, String> {
        T::deserialize(self).map_err(|e| e.to_string())
    }
}

impl Source for &[u8] {
    fn read<T: DeserializeOwned>(self) -> Result<T, String> {
        serde_json::from_slice(self).map_err(|e| e.to_string())
    }
}

/// `{"type": code, "schema_version": n, ...fields}`.
fn replacement_payload(step: &Step) -> Value {
    let mut object = match step.payload() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    object.insert("type".to_owned(), Value::from(step.event_type()));
    object.insert(
        "schema_version".to_owned(),
        Value::from(CURRENT_SCHEMA_VERSION),
    );
    Value::Object(object)
}

fn decode_replacement(value: Value) -> Result<Step, DecodeError> {
    let Value::Object(mut object) = value else {
        return Err(DecodeError::InvalidPayload {
            event_type: "replacement".to_owned(),
            version: 0,
            message: "a replacement payload is a JSON object".to_owned(),
        });
    };
    let event_type = match object.remove("type") {
        Some(Value::String(code)) => code,
        _ => String::from("(missing type)"),
    };
    let version = object
        .remove("schema_version")
        .and_then(|v| v.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0);
    match Event::decode(&event_type, version, &Value::Object(object))? {
        Event::Step(step) => Ok(step),
        Event::Corrected(_) | Event::Retracted(_) => Err(DecodeError::InvalidPayload {
            event_type,
            version,
            message: "a replacement payload must be a step, not a correction or retraction"
                .to_owned(),
        }),
    }
}

/// Brings a payload from `version` up to [`CURRENT_SCHEMA_VERSION`], one version at a time.
/// A current payload is read where it is: nearly every stored event is current, and a replay
/// decodes millions of them.
///
/// Each arm is one historical schema change, kept forever: stored events are never rewritten.
fn upcast(kind: EventType, version: u32, payload: &Value) -> Result<Cow<'_, Value>, DecodeError> {
    let mut version = version;
    if version > CURRENT_SCHEMA_VERSION {
        return Err(DecodeError::VersionTooNew {
            event_type: kind.code().to_owned(),
            version,
            supported: CURRENT_SCHEMA_VERSION,
        });
    }
    if version == CURRENT_SCHEMA_VERSION {
        return Ok(Cow::Borrowed(payload));
    }
    let mut payload = payload.clone();
    while version < CURRENT_SCHEMA_VERSION {
        match (kind, version) {
            // v0 → v1: `signal_received` gained `urgency`. Before urgency was recorded every
            // signal went through the regular intake, so `regular` is what actually happened —
            // not a guess — and the waiting-time figures of old signals stay unchanged.
            (EventType::SignalReceived, 0) => {
                if let Value::Object(object) = &mut payload {
                    object
                        .entry("urgency")
                        .or_insert_with(|| Value::from(Urgency::Regular.code()));
                }
            }
            _ => {
                return Err(DecodeError::UnknownVersion {
                    event_type: kind.code().to_owned(),
                    version,
                })
            }
        }
        version += 1;
    }
    Ok(Cow::Owned(payload))
}
