//! Het beheerregister: teams, users and API tokens, event-sourced in the `admin` stream.
//!
//! Every change to who may sign in is an event like any step of a trajectory — appended to one
//! stream, hash-chained, never edited — so "who gave this person access, and when?" is answered
//! by the log itself. [`Registry::check`] holds the rules, [`Registry::apply`] folds an accepted
//! event in; the API and the `jeugdpad user|token|team` commands use the same two.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use jeugdpad_domain::{contains_bsn, SubjectKey, TeamCode, UserId};
use serde::{Deserialize, Serialize};

use crate::principal::{Credential, Principal};
use crate::role::Role;

/// The stream that holds the registry's events.
pub const ADMIN_STREAM: &str = "admin";

/// An event of the `admin` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum AdminEvent {
    /// A team (wijkteam) exists from now on.
    TeamAdded {
        /// Its code, as trajectories name it.
        team: TeamCode,
        /// Its name, for people.
        name: String,
    },
    /// A user may be given tokens from now on.
    UserAdded {
        /// The user id (also `recorded_by` of what they record).
        user: UserId,
        /// Their display name.
        name: String,
        /// What they are.
        role: Role,
        /// Their team, for a consultant or team lead.
        team: Option<TeamCode>,
    },
    /// The user may no longer sign in with any token.
    UserDeactivated {
        /// Who.
        user: UserId,
    },
    /// An API token for a user. Only the SHA-256 of the token is kept.
    TokenCreated {
        /// The token's public id.
        token: String,
        /// Whose.
        user: UserId,
        /// SHA-256 of the whole token text, hex.
        hash: String,
        /// After this moment the token no longer works.
        expires_at: Option<DateTime<Utc>>,
        /// What it is for ("laptop Jan", "Power BI").
        label: Option<String>,
    },
    /// The token no longer works.
    TokenRevoked {
        /// Which.
        token: String,
    },
    /// A subject's personal fields were erased (crypto-shredding, AVG art. 17).
    SubjectErased {
        /// The subject's pseudonym; the figures keep counting it.
        subject_key: SubjectKey,
    },
}

impl AdminEvent {
    /// The stable event type stored in the envelope.
    pub fn event_type(&self) -> &'static str {
        match self {
            AdminEvent::TeamAdded { .. } => "team_added",
            AdminEvent::UserAdded { .. } => "user_added",
            AdminEvent::UserDeactivated { .. } => "user_deactivated",
            AdminEvent::TokenCreated { .. } => "token_created",
            AdminEvent::TokenRevoked { .. } => "token_revoked",
            AdminEvent::SubjectErased { .. } => "subject_erased",
        }
    }

    /// The payload as stored (the envelope carries the type).
    pub fn payload(&self) -> serde_json::Value {
        let mut tagged = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        tagged
            .get_mut("payload")
            .map(serde_json::Value::take)
            .unwrap_or(serde_json::Value::Null)
    }

    /// Reads a stored event back.
    pub fn decode(event_type: &str, payload: &serde_json::Value) -> Result<AdminEvent, String> {
        serde_json::from_value(serde_json::json!({"type": event_type, "payload": payload}))
            .map_err(|e| format!("admin event '{event_type}' cannot be read: {e}"))
    }
}

/// Why an admin change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The team code is taken.
    #[error("team '{0}' already exists")]
    TeamExists(String),
    /// No such team.
    #[error("team '{0}' does not exist; add it first (jeugdpad team add)")]
    UnknownTeam(String),
    /// The user id is taken.
    #[error("user '{0}' already exists")]
    UserExists(String),
    /// No such user.
    #[error("user '{0}' does not exist")]
    UnknownUser(String),
    /// The user is deactivated.
    #[error("user '{0}' is deactivated")]
    UserDeactivated(String),
    /// Role and team do not fit.
    #[error("{0}")]
    RoleTeam(String),
    /// The token id is taken (practically impossible with random ids).
    #[error("token '{0}' already exists")]
    TokenExists(String),
    /// No such token.
    #[error("token '{0}' does not exist")]
    UnknownToken(String),
    /// Already revoked.
    #[error("token '{0}' is already revoked")]
    AlreadyRevoked(String),
    /// The expiry lies in the past.
    #[error("the expiry moment {0} has already passed")]
    ExpiryPassed(DateTime<Utc>),
    /// A name or label that is empty or too long.
    #[error("{0}")]
    Text(String),
    /// A name, label or token id with a number in it that could be a BSN
    /// ([`jeugdpad_domain::contains_bsn`]); never repeated.
    #[error(
        "{0} contains a number that could be a BSN (nine digits that pass the elfproef); \
         Jeugdpad never stores a BSN: leave the number out"
    )]
    ContainsBsn(&'static str),
}

impl AdminError {
    /// Why, in Dutch (the web app's admin pages, `Accept-Language: nl`). The two variants that
    /// carry an English sentence of their own get a Dutch one of their kind.
    pub fn message_nl(&self) -> String {
        match self {
            AdminError::TeamExists(team) => format!("team '{team}' bestaat al"),
            AdminError::UnknownTeam(team) => {
                format!("team '{team}' bestaat niet; voeg het eerst toe")
            }
            AdminError::UserExists(user) => format!("gebruiker '{user}' bestaat al"),
            AdminError::UnknownUser(user) => format!("gebruiker '{user}' bestaat niet"),
            AdminError::UserDeactivated(user) => format!("gebruiker '{user}' is gedeactiveerd"),
            AdminError::RoleTeam(_) => "rol en team passen niet bij elkaar: een jeugdconsulent \
                of teamleider hoort bij precies één team, een beleidsmedewerker of beheerder bij \
                geen"
                .into(),
            AdminError::TokenExists(token) => format!("token '{token}' bestaat al"),
            AdminError::UnknownToken(token) => format!("token '{token}' bestaat niet"),
            AdminError::AlreadyRevoked(token) => format!("token '{token}' is al ingetrokken"),
            AdminError::ExpiryPassed(_) => "de vervaldatum ligt al in het verleden".into(),
            AdminError::Text(_) => {
                "een naam of omschrijving mag niet leeg zijn en niet te lang".into()
            }
            AdminError::ContainsBsn(what) => format!(
                "{} bevat een nummer dat een BSN kan zijn (negen cijfers die de elfproef \
                 doorstaan); Jeugdpad bewaart nooit een BSN: laat het nummer weg",
                what_nl(what)
            ),
        }
    }
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Its name.
    pub name: String,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// Their team (team-bound roles only).
    pub team: Option<TeamCode>,
    /// Whether they may still sign in.
    pub active: bool,
}

/// An API token, as far as the server knows it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Whose.
    pub user: UserId,
    /// SHA-256 of the token text, hex.
    pub hash: String,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it is for.
    pub label: Option<String>,
    /// Revoked tokens stay listed, so the access log can still name them.
    pub revoked: bool,
}

/// Why a presented API token does not sign anyone in. The caller only ever hears
/// "UNAUTHENTICATED"; the access log keeps the slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    /// No token with that id, or the secret part does not match.
    #[error("the token is not known")]
    Unknown,
    /// Revoked by an admin.
    #[error("the token has been revoked")]
    Revoked,
    /// Past its expiry.
    #[error("the token has expired")]
    Expired,
    /// Its user was deactivated.
    #[error("the token's user is deactivated")]
    UserDeactivated,
}

impl TokenProblem {
    /// A stable slug for the access log.
    pub fn reason(self) -> &'static str {
        match self {
            TokenProblem::Unknown => "unknown_token",
            TokenProblem::Revoked => "revoked_token",
            TokenProblem::Expired => "expired_token",
            TokenProblem::UserDeactivated => "user_deactivated",
        }
    }
}

/// The registry: the fold of the `admin` stream.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    teams: BTreeMap<TeamCode, Team>,
    users: BTreeMap<UserId, User>,
    tokens: BTreeMap<String, Token>,
    erased: BTreeSet<SubjectKey>,
    version: u64,
}

const MAX_NAME: usize = 200;

impl Registry {
    /// The `admin` stream's version this registry includes (the expected version of the next
    /// append).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether `event` may be appended now (`now` for expiry checks).
    pub fn check(&self, event: &AdminEvent, now: DateTime<Utc>) -> Result<(), AdminError> {
        match event {
            AdminEvent::TeamAdded { team, name } => {
                text("a team name", name)?;
                if self.teams.contains_key(team) {
                    return Err(AdminError::TeamExists(team.to_string()));
                }
            }
            AdminEvent::UserAdded {
                user,
                name,
                role,
                team,
            } => {
                text("a user name", name)?;
                if self.users.contains_key(user) {
                    return Err(AdminError::UserExists(user.to_string()));
                }
                Principal::new(user.clone(), *role, team.clone(), Credential::Local)
                    .map_err(|e| AdminError::RoleTeam(e.to_string()))?;
                if let Some(team) = team {
                    self.known_team(team)?;
                }
            }
            AdminEvent::UserDeactivated { user } => {
                if !self.active_user(user)?.active {
                    return Err(AdminError::UserDeactivated(user.to_string()));
                }
            }
            AdminEvent::TokenCreated {
                token,
                user,
                expires_at,
                label,
                ..
            } => {
                if !self.active_user(user)?.active {
                    return Err(AdminError::UserDeactivated(user.to_string()));
                }
                if self.tokens.contains_key(token) {
                    return Err(AdminError::TokenExists(token.clone()));
                }
                if let Some(at) = expires_at {
                    if *at <= now {
                        return Err(AdminError::ExpiryPassed(*at));
                    }
                }
                if let Some(label) = label {
                    text("a token label", label)?;
                }
            }
            AdminEvent::TokenRevoked { token } => match self.tokens.get(token) {
                // A token id is generated, not made up: an unknown one that holds a number
                // that could be a BSN is someone's number typed in, and saying so must not
                // repeat it. (A known one is revoked: ids drawn before such ids were drawn
                // again can hold one, and it is in the log already.)
                None if contains_bsn(token) => return Err(AdminError::ContainsBsn("a token id")),
                None => return Err(AdminError::UnknownToken(token.clone())),
                Some(t) if t.revoked => return Err(AdminError::AlreadyRevoked(token.clone())),
                Some(_) => {}
            },
            // Repeatable: text recorded after an erasure is new data, which a later request may
            // erase again.
            AdminEvent::SubjectErased { .. } => {}
        }
        Ok(())
    }

    /// Folds in an event of the `admin` stream (already checked when it was appended; applied
    /// as stored on replay).
    pub fn apply(&mut self, event: &AdminEvent) {
        self.version += 1;
        match event.clone() {
            AdminEvent::TeamAdded { team, name } => {
                self.teams.insert(team, Team { name });
            }
            AdminEvent::UserAdded {
                user,
                name,
                role,
                team,
            } => {
                self.users.insert(
                    user,
                    User {
                        name,
                        role,
                        team,
                        active: true,
                    },
                );
            }
            AdminEvent::UserDeactivated { user } => {
                if let Some(user) = self.users.get_mut(&user) {
                    user.active = false;
                }
            }
            AdminEvent::TokenCreated {
                token,
                user,
                hash,
                expires_at,
                label,
            } => {
                self.tokens.insert(
                    token,
                    Token {
                        user,
                        hash,
                        expires_at,
                        label,
                        revoked: false,
                    },
                );
            }
            AdminEvent::TokenRevoked { token } => {
                if let Some(token) = self.tokens.get_mut(&token) {
                    token.revoked = true;
                }
            }
            AdminEvent::SubjectErased { subject_key } => {
                self.erased.insert(subject_key);
            }
        }
    }

    /// Signs in with an API token: `matches` compares the stored hash with the presented token
    /// (in constant time; the caller owns the hashing). Unknown id and wrong secret look the same.
    pub fn sign_in(
        &self,
        token_id: &str,
        matches: impl FnOnce(&str) -> bool,
        now: DateTime<Utc>,
    ) -> Result<Principal, TokenProblem> {
        let token = self.tokens.get(token_id).ok_or(TokenProblem::Unknown)?;
        if !matches(&token.hash) {
            return Err(TokenProblem::Unknown);
        }
        if token.revoked {
            return Err(TokenProblem::Revoked);
        }
        if token.expires_at.is_some_and(|at| at <= now) {
            return Err(TokenProblem::Expired);
        }
        let user = self.users.get(&token.user).ok_or(TokenProblem::Unknown)?;
        if !user.active {
            return Err(TokenProblem::UserDeactivated);
        }
        Principal::new(
            token.user.clone(),
            user.role,
            user.team.clone(),
            Credential::ApiToken {
                token: token_id.to_owned(),
            },
        )
        .map_err(|_| TokenProblem::Unknown)
    }

    /// Whether a token that signed someone in earlier still does (not revoked, not expired,
    /// user still active): long-lived connections ask this before each delivery.
    pub fn token_status(&self, token_id: &str, now: DateTime<Utc>) -> Result<(), TokenProblem> {
        let token = self.tokens.get(token_id).ok_or(TokenProblem::Unknown)?;
        if token.revoked {
            return Err(TokenProblem::Revoked);
        }
        if token.expires_at.is_some_and(|at| at <= now) {
            return Err(TokenProblem::Expired);
        }
        match self.users.get(&token.user) {
            Some(user) if user.active => Ok(()),
            Some(_) => Err(TokenProblem::UserDeactivated),
            None => Err(TokenProblem::Unknown),
        }
    }

    /// The teams, by code.
    pub fn teams(&self) -> &BTreeMap<TeamCode, Team> {
        &self.teams
    }

    /// The users, by id.
    pub fn users(&self) -> &BTreeMap<UserId, User> {
        &self.users
    }

    /// The tokens, by id.
    pub fn tokens(&self) -> &BTreeMap<String, Token> {
        &self.tokens
    }

    /// Whether the team exists.
    pub fn has_team(&self, team: &TeamCode) -> bool {
        self.teams.contains_key(team)
    }

    /// Whether the subject's personal fields were erased.
    pub fn is_erased(&self, subject_key: &SubjectKey) -> bool {
        self.erased.contains(subject_key)
    }

    fn known_team(&self, team: &TeamCode) -> Result<(), AdminError> {
        if self.teams.contains_key(team) {
            Ok(())
        } else {
            Err(AdminError::UnknownTeam(team.to_string()))
        }
    }

    fn active_user(&self, user: &UserId) -> Result<&User, AdminError> {
        self.users
            .get(user)
            .ok_or_else(|| AdminError::UnknownUser(user.to_string()))
    }
}

/// The Dutch name of what [`text`] checks.
fn what_nl(what: &str) -> &str {
    match what {
        "a team name" => "De naam van het team",
        "a user name" => "De naam van de gebruiker",
        "a token label" => "De omschrijving van het token",
        "a token id" => "Het token-id",
        other => other,
    }
}

/// A name or label: one line, not empty, not too long, no BSN in it.
fn text(what: &'static str, value: &str) -> Result<(), AdminError> {
    if contains_bsn(value) {
        return Err(AdminError::ContainsBsn(what));
    }
    if value.trim().is_empty() {
        return Err(AdminError::Text(format!("{what} must not be empty")));
    }
    if value.chars().count() > MAX_NAME || value.chars().any(char::is_control) {
        return Err(AdminError::Text(format!(
            "{what} must be one line of at most {MAX_NAME} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_admin_refusal_has_a_dutch_sentence() {
        let errors = [
            AdminError::TeamExists("noord".into()),
            AdminError::UnknownTeam("noord".into()),
            AdminError::UserExists("j.jansen".into()),
            AdminError::UnknownUser("j.jansen".into()),
            AdminError::UserDeactivated("j.jansen".into()),
            AdminError::RoleTeam("an analyst works for all teams".into()),
            AdminError::TokenExists("abc".into()),
            AdminError::UnknownToken("abc".into()),
            AdminError::AlreadyRevoked("abc".into()),
            AdminError::ExpiryPassed(Utc::now()),
            AdminError::Text("a name must not be empty".into()),
            AdminError::ContainsBsn("a token label"),
        ];
        for error in errors {
            let dutch = error.message_nl();
            assert_ne!(dutch, error.to_string());
            for english in [" already ", " does not ", " must ", " is deactivated"] {
                assert!(!format!(" {dutch} ").contains(english), "{dutch}");
            }
        }
        assert_eq!(
            AdminError::TeamExists("noord".into()).message_nl(),
            "team 'noord' bestaat al"
        );
    }

    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap()
    }

    fn team(code: &str) -> TeamCode {
        TeamCode::parse(code).unwrap()
    }

    fn user(id: &str) -> UserId {
        UserId::parse(id).unwrap()
    }

    /// Checks then applies each event; returns the registry or the first refusal.
    fn run(events: &[AdminEvent]) -> Result<Registry, AdminError> {
        let mut registry = Registry::default();
        for event in events {
            registry.check(event, now())?;
            registry.apply(event);
        }
        Ok(registry)
    }

    fn setup() -> Vec<AdminEvent> {
        vec![
            AdminEvent::TeamAdded {
                team: team("noord"),
                name: "Wijkteam Noord".into(),
            },
            AdminEvent::UserAdded {
                user: user("jan"),
                name: "Jan (synthetisch)".into(),
                role: Role::Consultant,
                team: Some(team("noord")),
            },
            AdminEvent::TokenCreated {
                token: "t1".into(),
                user: user("jan"),
                hash: "aa".into(),
                expires_at: Some(now() + chrono::Duration::days(30)),
                label: None,
            },
        ]
    }

    fn with(extra: AdminEvent) -> Result<Registry, AdminError> {
        let mut events = setup();
        events.push(extra);
        run(&events)
    }

    #[test]
    fn rules() {
        let refused = |event: AdminEvent, expected: AdminError| {
            assert_eq!(with(event).unwrap_err(), expected);
        };
        refused(
            AdminEvent::TeamAdded {
                team: team("noord"),
                name: "x".into(),
            },
            AdminError::TeamExists("noord".into()),
        );
        refused(
            AdminEvent::UserAdded {
                user: user("piet"),
                name: "P".into(),
                role: Role::TeamLead,
                team: Some(team("zuid")),
            },
            AdminError::UnknownTeam("zuid".into()),
        );
        refused(
            AdminEvent::UserAdded {
                user: user("jan"),
                name: "J".into(),
                role: Role::Analyst,
                team: None,
            },
            AdminError::UserExists("jan".into()),
        );
        assert!(matches!(
            with(AdminEvent::UserAdded {
                user: user("an"),
                name: "A".into(),
                role: Role::Analyst,
                team: Some(team("noord"))
            }),
            Err(AdminError::RoleTeam(_))
        ));
        refused(
            AdminEvent::TokenCreated {
                token: "t2".into(),
                user: user("nobody"),
                hash: "bb".into(),
                expires_at: None,
                label: None,
            },
            AdminError::UnknownUser("nobody".into()),
        );
        refused(
            AdminEvent::TokenCreated {
                token: "t2".into(),
                user: user("jan"),
                hash: "bb".into(),
                expires_at: Some(now()),
                label: None,
            },
            AdminError::ExpiryPassed(now()),
        );
        // A BSN (`111222333` passes the elfproef) in a name, a label or a token id.
        refused(
            AdminEvent::TeamAdded {
                team: team("zuid"),
                name: "Zuid 111.222.333".into(),
            },
            AdminError::ContainsBsn("a team name"),
        );
        refused(
            AdminEvent::UserAdded {
                user: user("piet"),
                name: "Piet 111 222 333".into(),
                role: Role::Analyst,
                team: None,
            },
            AdminError::ContainsBsn("a user name"),
        );
        refused(
            AdminEvent::TokenCreated {
                token: "t2".into(),
                user: user("jan"),
                hash: "bb".into(),
                expires_at: None,
                label: Some("laptop 111222333".into()),
            },
            AdminError::ContainsBsn("a token label"),
        );
        refused(
            AdminEvent::TokenRevoked {
                token: "111222333".into(),
            },
            AdminError::ContainsBsn("a token id"),
        );
        refused(
            AdminEvent::TokenRevoked { token: "t9".into() },
            AdminError::UnknownToken("t9".into()),
        );
        // A token whose id happens to hold such a number is ours, and can be revoked.
        let mut events = setup();
        events.push(AdminEvent::TokenCreated {
            token: "111222333abc".into(),
            user: user("jan"),
            hash: "cc".into(),
            expires_at: None,
            label: None,
        });
        events.push(AdminEvent::TokenRevoked {
            token: "111222333abc".into(),
        });
        let revoked = run(&events).expect("a known token is revoked");
        assert_eq!(
            revoked.token_status("111222333abc", now()),
            Err(TokenProblem::Revoked)
        );
        assert!(matches!(
            with(AdminEvent::TeamAdded {
                team: team("zuid"),
                name: " ".into()
            }),
            Err(AdminError::Text(_))
        ));
    }

    #[test]
    fn signing_in() {
        let registry = run(&setup()).unwrap();
        let principal = registry.sign_in("t1", |hash| hash == "aa", now()).unwrap();
        assert_eq!(principal.role(), Role::Consultant);
        assert_eq!(principal.team(), Some(&team("noord")));
        assert_eq!(
            registry.sign_in("t1", |_| false, now()),
            Err(TokenProblem::Unknown)
        );
        assert_eq!(
            registry.sign_in("t0", |_| true, now()),
            Err(TokenProblem::Unknown)
        );
        let later = now() + chrono::Duration::days(30);
        assert_eq!(
            registry.sign_in("t1", |_| true, later),
            Err(TokenProblem::Expired)
        );

        assert_eq!(registry.token_status("t1", now()), Ok(()));
        assert_eq!(
            registry.token_status("t1", later),
            Err(TokenProblem::Expired)
        );
        let revoked = with(AdminEvent::TokenRevoked { token: "t1".into() }).unwrap();
        assert_eq!(
            revoked.sign_in("t1", |_| true, now()),
            Err(TokenProblem::Revoked)
        );
        assert_eq!(
            revoked.token_status("t1", now()),
            Err(TokenProblem::Revoked)
        );
        let gone = with(AdminEvent::UserDeactivated { user: user("jan") }).unwrap();
        assert_eq!(
            gone.sign_in("t1", |_| true, now()),
            Err(TokenProblem::UserDeactivated)
        );
        assert_eq!(
            gone.token_status("t1", now()),
            Err(TokenProblem::UserDeactivated)
        );
    }

    #[test]
    fn events_round_trip_through_the_stored_form() {
        let mut events = setup();
        events.push(AdminEvent::SubjectErased {
            subject_key: SubjectKey::parse("p-1").unwrap(),
        });
        for event in events {
            let payload = event.payload();
            assert!(
                payload.get("type").is_none(),
                "the envelope carries the type"
            );
            assert_eq!(AdminEvent::decode(event.event_type(), &payload), Ok(event));
        }
        assert!(AdminEvent::decode("user_added", &serde_json::json!({})).is_err());
    }
}
