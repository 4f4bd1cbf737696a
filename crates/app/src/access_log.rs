//! Het toegangslog (NEN 7513): one way to write an access-log entry, for the API's gate and the
//! command line alike.

use jeugdpad_access::{AccessEntry, ACCESS_EVENT_TYPE, ACCESS_LOG_STREAM};
use jeugdpad_store::{EventStore, ExpectedVersion, ProposedEvent, StoreError};
use uuid::Uuid;

use crate::clock::Clock;

/// The envelope of one access-log entry: dated today by `clock`, recorded by the entry's user,
/// correlated with the request that caused it.
pub fn entry_event(entry: &AccessEntry, clock: &Clock, request: Option<Uuid>) -> ProposedEvent {
    ProposedEvent {
        // Time-ordered ids: an inquiry over the log reads them in the order they happened.
        event_id: Uuid::now_v7(),
        event_type: ACCESS_EVENT_TYPE.to_owned(),
        schema_version: 1,
        occurred_on: clock.today(),
        recorded_by: entry.recorded_by().to_owned(),
        correlation_id: request,
        causation_id: None,
        payload: entry.payload(),
    }
}

/// Appends `entry` to the access log; durable on return.
pub async fn append<S: EventStore>(
    store: &S,
    entry: &AccessEntry,
    clock: &Clock,
    request: Option<Uuid>,
) -> Result<(), StoreError> {
    let event = entry_event(entry, clock, request);
    store
        .append(ACCESS_LOG_STREAM, ExpectedVersion::Any, vec![event])
        .await
        .map(|_| ())
}
