//! Aanmelden: turns the `Authorization: Bearer …` header (or a websocket's `connection_init`
//! payload) into a verified [`Principal`], and limits how fast one caller may go.
//!
//! Two kinds of bearer token are accepted, told apart by their shape: Jeugdpad's own API tokens
//! (`jpt_<id>_<secret>`, created by an admin, stored only as a SHA-256 hash in the `admin`
//! stream) and JWTs from the municipality's identity provider (verified by `jeugdpad-oidc`
//! against its JWKS; role and team come from configured claims). Whatever goes wrong, the caller
//! hears `UNAUTHENTICATED`, a plain sentence that says what to do about it (send the header, the
//! token is unknown, revoked or expired, the account is deactivated) and the same stable reason
//! the access log keeps. Telling these apart gives nothing away: revoked, expired and deactivated
//! are only ever reported for a token whose secret matched, so only its holder learns them.

use std::num::NonZeroU32;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jeugdpad_access::{Credential, Principal, Registry, Role, TokenProblem};
use jeugdpad_domain::{TeamCode, UserId};
use jeugdpad_oidc::Verifier;
use jeugdpad_secrets::TokenHash;

/// Why a request could not be signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No credentials at all.
    Missing,
    /// An `Authorization` value that is not `Bearer <token>` (another scheme, no token, not
    /// text).
    Malformed,
    /// `Bearer <token>` as it should be, but the token is neither a Jeugdpad API token nor a
    /// JWT: mostly a token copied in part, or something else pasted by mistake.
    Unrecognised,
    /// An API token that does not work.
    Token(TokenProblem),
    /// A JWT that does not verify (the slug from `jeugdpad-oidc`).
    Oidc(&'static str),
    /// A JWT whose role or team claims do not make a usable caller.
    Claims(String),
    /// A JWT while no identity provider is configured.
    OidcNotConfigured,
    /// The browser session a live subscription was opened in has ended (signed out, expired).
    SessionEnded,
}

impl AuthFailure {
    /// The stable reason kept in the access log.
    pub(crate) fn reason(&self) -> String {
        match self {
            AuthFailure::Missing => "no_credentials".into(),
            AuthFailure::Malformed => "malformed_credentials".into(),
            AuthFailure::Unrecognised => "unrecognised_token".into(),
            AuthFailure::Token(problem) => problem.reason().into(),
            AuthFailure::Oidc(slug) => format!("oidc_{slug}"),
            AuthFailure::Claims(_) => "oidc_claims".into(),
            AuthFailure::OidcNotConfigured => "oidc_not_configured".into(),
            AuthFailure::SessionEnded => "session_ended".into(),
        }
    }

    /// What the caller is told.
    pub(crate) fn message(&self) -> String {
        match self {
            AuthFailure::Missing => "sign in first: send 'Authorization: Bearer <token>' with every request".into(),
            AuthFailure::Malformed => "the Authorization header must be 'Bearer <token>' with a Jeugdpad API token or a token from your organisation's sign-in".into(),
            AuthFailure::Token(TokenProblem::Expired) => "your token has expired; ask your administrator for a new one".into(),
            AuthFailure::Token(TokenProblem::Revoked) => "your token has been revoked; ask your administrator for a new one".into(),
            AuthFailure::Unrecognised => "this token is unknown: it is neither a Jeugdpad API token (jpt_…) nor a sign-in token; check that you copied all of it".into(),
            AuthFailure::Token(TokenProblem::UserDeactivated) => "your account has been deactivated; ask your administrator if you need access again".into(),
            AuthFailure::Token(TokenProblem::Unknown) => "this token is unknown; check that you copied all of it, or ask your administrator for a new one".into(),
            AuthFailure::Oidc("expired") => "your sign-in has expired; sign in again".into(),
            AuthFailure::Oidc(_) => "your sign-in token was not accepted; sign in again, and if it keeps happening tell your administrator".into(),
            AuthFailure::Claims(why) => format!("your sign-in does not give you a usable role in Jeugdpad: {why}"),
            AuthFailure::OidcNotConfigured => "this server does not accept sign-in tokens from an identity provider; use a Jeugdpad API token".into(),
            AuthFailure::SessionEnded => "your session has ended; sign in again".into(),
        }
    }
}

/// A verified caller, and until when the credential holds (identity-provider tokens expire; API
/// tokens are checked against the registry each time).
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub(crate) principal: Principal,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// Authentication and rate limiting, shared by every request.
#[derive(Clone)]
pub(crate) struct Auth {
    pub(crate) registry: Arc<RwLock<Registry>>,
    oidc: Option<Verifier>,
    /// The identity provider's issuer (for the access log).
    issuer: String,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("oidc", &self.oidc.is_some())
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub(crate) fn new(
        registry: Arc<RwLock<Registry>>,
        oidc: Option<(Verifier, String)>,
        per_minute: NonZeroU32,
    ) -> Auth {
        let (oidc, issuer) = match oidc {
            Some((verifier, issuer)) => (Some(verifier), issuer),
            None => (None, String::new()),
        };
        Auth {
            registry,
            oidc,
            issuer,
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        }
    }

    /// A read lock on the registry.
    pub(crate) fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Signs in the caller of an HTTP request.
    pub(crate) async fn sign_in_headers(
        &self,
        headers: &HeaderMap,
        now: DateTime<Utc>,
    ) -> Result<SignedIn, AuthFailure> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(AuthFailure::Missing);
        };
        let value = value.to_str().map_err(|_| AuthFailure::Malformed)?;
        self.sign_in_bearer(value, now).await
    }

    /// Signs in from an `Authorization` value (`Bearer <token>`).
    pub(crate) async fn sign_in_bearer(
        &self,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedIn, AuthFailure> {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthFailure::Malformed)?;
        if let Some(id) = jeugdpad_secrets::parse_presented(token) {
            let presented = TokenHash::of(token);
            let principal = self
                .registry()
                .sign_in(
                    id.as_str(),
                    |stored| TokenHash::from_hex(stored).is_ok_and(|h| h == presented),
                    now,
                )
                .map_err(AuthFailure::Token)?;
            return Ok(SignedIn {
                principal,
                expires_at: None,
            });
        }
        if jeugdpad_oidc::looks_like_jwt(token) {
            let verifier = self.oidc.as_ref().ok_or(AuthFailure::OidcNotConfigured)?;
            let claims = verifier
                .verify(token)
                .await
                .map_err(|e| AuthFailure::Oidc(e.reason()))?;
            let expires_at = Some(claims.expires_at);
            let principal = principal_from_claims(&self.issuer, claims)?;
            return Ok(SignedIn {
                principal,
                expires_at,
            });
        }
        Err(AuthFailure::Unrecognised)
    }

    /// Whether a caller signed in earlier (a websocket) may still be served: their API token not
    /// revoked or expired and their user active, or their identity-provider token not expired.
    pub(crate) fn still_signed_in(
        &self,
        who: &Principal,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthFailure> {
        if expires_at.is_some_and(|at| at <= now) {
            return Err(AuthFailure::Oidc("expired"));
        }
        match who.credential() {
            Credential::ApiToken { token } => self
                .registry()
                .token_status(token, now)
                .map_err(AuthFailure::Token),
            Credential::Oidc { .. } | Credential::Local => Ok(()),
        }
    }

    /// `Err(wait)` when `who` has used up their requests for now.
    pub(crate) fn check_rate(&self, key: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The rate-limit key of a caller: per token (API tokens) or per user (identity provider).
pub(crate) fn rate_key(who: &Principal) -> String {
    match who.credential() {
        Credential::ApiToken { token } => format!("token:{token}"),
        Credential::Oidc { issuer } => format!("oidc:{issuer}:{}", who.user()),
        Credential::Local => format!("local:{}", who.user()),
    }
}

fn principal_from_claims(
    issuer: &str,
    claims: jeugdpad_oidc::VerifiedClaims,
) -> Result<Principal, AuthFailure> {
    let roles: Vec<Role> = claims.roles.iter().filter_map(|r| r.parse().ok()).collect();
    let role = match roles.as_slice() {
        [role] => *role,
        [] => {
            return Err(AuthFailure::Claims(
                "no Jeugdpad role (consultant, team_lead, analyst or admin) in the token".into(),
            ))
        }
        _ => {
            return Err(AuthFailure::Claims(
                "more than one Jeugdpad role in the token; ask for one role per account".into(),
            ))
        }
    };
    let team = match (&claims.team, role.is_team_bound()) {
        (Some(team), true) => Some(
            TeamCode::parse(team.as_str())
                .map_err(|e| AuthFailure::Claims(format!("the team claim: {e}")))?,
        ),
        _ => None,
    };
    let user = UserId::parse(claims.subject.as_str())
        .map_err(|e| AuthFailure::Claims(format!("the subject: {e}")))?;
    Principal::new(
        user,
        role,
        team,
        Credential::Oidc {
            issuer: issuer.to_owned(),
        },
    )
    .map_err(|e| AuthFailure::Claims(e.to_string()))
}
