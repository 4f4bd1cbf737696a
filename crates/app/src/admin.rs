//! Beheer: changes to teams, users, tokens and erasures, recorded in the `admin` stream the same
//! way a step is recorded in a trajectory — load, check, append with the version checked
//! against — so the command line and the API cannot differ.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jeugdpad_access::{AdminError, AdminEvent, Registry, ADMIN_STREAM};
use jeugdpad_store::{AppendOutcome, EventStore, ExpectedVersion, ProposedEvent, StoreError};
use uuid::Uuid;

use crate::clock::Clock;
use crate::code::ErrorCode;

/// Why an admin change was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum AdminChangeError {
    /// The change breaks a rule of the registry.
    #[error(transparent)]
    Refused(#[from] AdminError),
    /// Someone else changed the registry at the same moment: try again.
    #[error("the user registry changed in the meantime; try again")]
    Conflict,
    /// A stored admin event cannot be read (damage or a newer version).
    #[error("the user registry cannot be read: {0}")]
    Undecodable(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl AdminChangeError {
    /// The stable code clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            AdminChangeError::Refused(_) => ErrorCode::Validation,
            AdminChangeError::Conflict => ErrorCode::Conflict,
            AdminChangeError::Store(store) => {
                ErrorCode::of_store(store).unwrap_or(ErrorCode::Internal)
            }
            AdminChangeError::Undecodable(_) => ErrorCode::Internal,
        }
    }
}

impl From<StoreError> for AdminChangeError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { .. } => AdminChangeError::Conflict,
            other => AdminChangeError::Store(other),
        }
    }
}

/// The registry as the `admin` stream's events up to global position `up_to` make it
/// (`u64::MAX`: every event). The one replay of the registry: the command line, the admin
/// mutations and the server's start all read it here. **Blocking.**
pub fn load_registry<S: EventStore + ?Sized>(
    store: &S,
    up_to: u64,
) -> Result<Registry, AdminChangeError> {
    let mut registry = Registry::default();
    for event in store.read_stream(ADMIN_STREAM)? {
        if event.position > up_to {
            break;
        }
        let admin = AdminEvent::decode(&event.event_type, &event.payload)
            .map_err(AdminChangeError::Undecodable)?;
        registry.apply(&admin);
    }
    Ok(registry)
}

/// Checks `event` against the registry as stored and appends it, durable on return. `by` is
/// the admin (or `local` operator) who made the change.
pub async fn change<S: EventStore>(
    store: &Arc<S>,
    event: AdminEvent,
    by: &str,
    clock: &Clock,
) -> Result<AppendOutcome, AdminChangeError> {
    let reader = Arc::clone(store);
    let registry = tokio::task::spawn_blocking(move || load_registry(reader.as_ref(), u64::MAX))
        .await
        .map_err(|join| AdminChangeError::Store(StoreError::Storage(join.to_string())))??;
    registry.check(&event, clock.now())?;
    let envelope = ProposedEvent {
        event_id: Uuid::new_v4(),
        event_type: event.event_type().to_owned(),
        schema_version: 1,
        occurred_on: clock.today(),
        recorded_by: by.to_owned(),
        correlation_id: None,
        causation_id: None,
        payload: event.payload(),
    };
    Ok(store
        .append(
            ADMIN_STREAM,
            ExpectedVersion::Exact(registry.version()),
            vec![envelope],
        )
        .await?)
}

/// Creates an API token for `user` and records its hash; the returned token text is the only
/// copy there will ever be (show it once).
pub async fn create_token<S: EventStore>(
    store: &Arc<S>,
    user: jeugdpad_domain::UserId,
    label: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    by: &str,
    clock: &Clock,
) -> Result<(jeugdpad_secrets::MintedToken, AppendOutcome), AdminChangeError> {
    let minted = mint_for_people();
    let event = AdminEvent::TokenCreated {
        token: minted.id.to_string(),
        user,
        hash: minted.hash.to_hex(),
        expires_at,
        label,
    };
    let outcome = change(store, event, by, clock).await?;
    Ok((minted, outcome))
}

/// A new token whose id holds no number that could be a BSN. People type a token's id to
/// revoke it, and every identifier they type is refused when it holds such a number (75 of
/// 20,000 random ids did: twelve hex characters carry a run of nine digits often enough), so
/// such an id is drawn again.
fn mint_for_people() -> jeugdpad_secrets::MintedToken {
    loop {
        let minted = jeugdpad_secrets::mint();
        if !jeugdpad_domain::contains_bsn(minted.id.as_str()) {
            return minted;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mint_for_people;

    #[test]
    fn no_token_id_holds_a_number_that_could_be_a_bsn() {
        // Plain draws give such ids often enough that 20,000 of them hold some (the chance of
        // none is far below one in a million), so this fails without the redraw.
        let plain = (0..20_000)
            .filter(|_| jeugdpad_domain::contains_bsn(jeugdpad_secrets::mint().id.as_str()))
            .count();
        assert!(
            plain > 0,
            "no plain draw held a BSN-like number: the test proves nothing"
        );
        for _ in 0..20_000 {
            assert!(!jeugdpad_domain::contains_bsn(
                mint_for_people().id.as_str()
            ));
        }
    }
}
