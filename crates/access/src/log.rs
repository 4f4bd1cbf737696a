//! Het toegangslog (NEN 7513): one entry per access to a youth's file, and per refusal.
//!
//! Entries are events of the `access-log` stream in the same store as the trajectories, so they
//! are durable before the answer leaves the server, sit in the same hash chain (`jeugdpad
//! verify` covers them) and can be neither edited nor removed through any interface: the store
//! only appends. *When* is the envelope's `recorded_at`; everything else is here.

use jeugdpad_domain::{SubjectKey, TeamCode, TrajectoryId, UserId};
use serde::{Deserialize, Serialize};

use crate::principal::{Credential, Principal};
use crate::role::Role;

/// The stream that holds the access log.
pub const ACCESS_LOG_STREAM: &str = "access-log";
/// The event type of an entry.
pub const ACCESS_EVENT_TYPE: &str = "access_logged";
/// `recorded_by` of an entry whose caller could not be identified.
pub const ANONYMOUS: &str = "anonymous";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessAction {
    /// One trajectory's timeline, summary or events were read.
    Read,
    /// A list naming individual trajectories was read.
    List,
    /// A step was recorded.
    Record,
    /// Data left the system as an export.
    Export,
    /// A subject's personal fields were erased.
    Erase,
    /// Teams, users or tokens were changed.
    Administer,
    /// The access log itself was read.
    ReadAccessLog,
    /// Sign-in failed (no, unknown, expired or revoked credentials).
    FailedSignIn,
}

impl AccessAction {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            AccessAction::Read => "read",
            AccessAction::List => "list",
            AccessAction::Record => "record",
            AccessAction::Export => "export",
            AccessAction::Erase => "erase",
            AccessAction::Administer => "administer",
            AccessAction::ReadAccessLog => "read_access_log",
            AccessAction::FailedSignIn => "failed_sign_in",
        }
    }
}

/// Granted or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The access happened.
    Granted,
    /// The access was refused (a failed attempt).
    Refused,
}

/// One entry. Never holds a BSN, a token or free text: only pseudonyms and codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    /// What happened.
    pub action: AccessAction,
    /// Whether it was allowed.
    pub outcome: Outcome,
    /// The operation asked for (GraphQL field or command), e.g. `trajectory`.
    pub operation: String,
    /// The user, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// The role they acted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The team they acted for (on whose behalf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamCode>,
    /// How they signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    /// The trajectory concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trajectory: Option<TrajectoryId>,
    /// The youth concerned, by pseudonym.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_key: Option<SubjectKey>,
    /// The access point: the client's network address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
    /// The access point: the client application (`User-Agent`, shortened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_application: Option<String>,
    /// Why it was refused (a stable slug), for refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AccessEntry {
    /// An entry for `who` doing `action` through `operation`; the rest filled in by the caller.
    pub fn by(who: Option<&Principal>, action: AccessAction, operation: &str) -> AccessEntry {
        AccessEntry {
            action,
            outcome: Outcome::Granted,
            operation: operation.to_owned(),
            user: who.map(|p| p.user().clone()),
            role: who.map(Principal::role),
            team: who.and_then(|p| p.team().cloned()),
            credential: who.map(|p| p.credential().clone()),
            trajectory: None,
            subject_key: None,
            client_address: None,
            client_application: None,
            reason: None,
        }
    }

    /// Marks the entry as a refusal for `reason`.
    pub fn refused(mut self, reason: &str) -> AccessEntry {
        self.outcome = Outcome::Refused;
        self.reason = Some(reason.to_owned());
        self
    }

    /// The stored payload.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Reads a stored entry back.
    pub fn decode(payload: &serde_json::Value) -> Result<AccessEntry, String> {
        // From the borrowed value: no copy of the payload.
        <AccessEntry as serde::Deserialize>::deserialize(payload)
            .map_err(|e| format!("access-log entry cannot be read: {e}"))
    }

    /// [`AccessEntry::decode`] from the payload's JSON text, as the store keeps it. A text the
    /// direct read refuses is read again through a parsed tree, so that both read every payload
    /// alike (a derived type refuses a key given twice, where a tree keeps the last).
    pub fn decode_json(payload: &[u8]) -> Result<AccessEntry, String> {
        serde_json::from_slice(payload).or_else(|direct| {
            match serde_json::from_slice::<serde_json::Value>(payload) {
                Ok(tree) => AccessEntry::decode(&tree),
                Err(_) => Err(format!("access-log entry cannot be read: {direct}")),
            }
        })
    }

    /// `recorded_by` of the entry's envelope.
    pub fn recorded_by(&self) -> &str {
        self.user.as_ref().map_or(ANONYMOUS, UserId::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_leave_out_what_is_unknown() {
        let entry = AccessEntry::by(None, AccessAction::FailedSignIn, "trajectory")
            .refused("expired_token");
        let payload = entry.payload();
        assert_eq!(
            payload,
            serde_json::json!({"action": "failed_sign_in", "outcome": "refused", "operation": "trajectory", "reason": "expired_token"})
        );
        assert_eq!(AccessEntry::decode(&payload), Ok(entry.clone()));
        assert_eq!(entry.recorded_by(), ANONYMOUS);
        // From the JSON text as the store keeps it, the same entry.
        let text = serde_json::to_vec(&payload).expect("JSON");
        assert_eq!(AccessEntry::decode_json(&text), Ok(entry.clone()));
    }

    #[test]
    fn the_text_is_read_as_the_tree_is() {
        // A key given twice: the tree keeps the last, and so does the read from the text.
        let twice = br#"{"action": "failed_sign_in", "outcome": "refused", "operation": "x", "operation": "trajectory", "reason": "expired_token"}"#;
        let tree: serde_json::Value = serde_json::from_slice(twice).expect("JSON");
        let from_tree = AccessEntry::decode(&tree).expect("the tree reads it");
        assert_eq!(AccessEntry::decode_json(twice), Ok(from_tree));
        // Not JSON at all: refused, saying what it is.
        let error = AccessEntry::decode_json(b"{not json").expect_err("refused");
        assert!(
            error.starts_with("access-log entry cannot be read"),
            "{error}"
        );
    }
}
