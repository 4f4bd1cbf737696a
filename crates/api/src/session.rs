//! Browser sessions: how the web app signs a person in once and then runs GraphQL operations as
//! them — through the same schema, the same gate and the same access log as every API client.
//!
//! The gate (`gate::Gate`) stays crate-private and unforgeable: the only way to obtain a
//! [`Session`] is [`sign_in`] with credentials the API itself accepts (an API token, or a JWT of
//! the configured identity provider), and the only thing a `Session` can do is [`execute`] an
//! operation as its principal. Nothing here reads the store or the read models; every look at a
//! child's file goes through a resolver and is logged there, once.
//!
//! A session is named by a 256-bit random value that travels only in the `jeugdpad_sessie`
//! cookie (HttpOnly, SameSite=Strict; set by the web crate). The server keeps only its SHA-256,
//! so a memory dump or a debug print never holds a usable cookie. Sessions end after
//! [`SessionOptions::idle`] without a request, after [`SessionOptions::absolute`] whatever
//! happens, on sign-out, when the server restarts (they live in memory), and as soon as the
//! credential they were opened with stops working (an API token revoked or expired, the user
//! deactivated: checked on every request, as for API clients). A session opened with an
//! identity provider's JWT outlives that token (typically minutes) up to the session's own
//! limits: the provider proved who the person is at sign-in, and the web app has no refresh
//! token to ask again.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::http::Method;
use chrono::{DateTime, Utc};
use jeugdpad_access::{AccessAction, AccessEntry, Credential, Principal};

/// A session's role (the access crate's, re-exported so the web app names it).
pub use jeugdpad_access::Role;
use jeugdpad_domain::{TeamCode, UserId};
use jeugdpad_projections::{AsOf, ListingQuery, SummaryRow};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{rate_key, AuthFailure};
use crate::gate::{log_access, log_failed_sign_in, ClientInfo, Gate};
use crate::schema::{in_dutch, ApiSchema, RequestId, Transport};
use crate::state::AppState;

/// The cookie that names a browser session: set by the web app, read there and by the
/// websocket upgrade (a browser cannot set headers on a websocket, but it sends the cookie).
pub const SESSION_COOKIE: &str = "jeugdpad_sessie";

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    /// A session without a request for this long ends (default 30 minutes: a consultant's
    /// screen left open in an empty room).
    pub idle: Duration,
    /// A session ends this long after sign-in, however busy (default 10 hours: a working day).
    pub absolute: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(10 * 60 * 60),
        }
    }
}

/// The SHA-256 of a session's cookie value: how the server names a session.
pub(crate) type Key = [u8; 32];

struct Entry {
    principal: Principal,
    csrf: String,
    started: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

/// Every live session of this server, by the hash of its cookie value.
pub(crate) struct Sessions {
    entries: Mutex<HashMap<Key, Entry>>,
    options: SessionOptions,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    pub(crate) fn new(options: SessionOptions) -> Sessions {
        Sessions {
            entries: Mutex::new(HashMap::new()),
            options,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the session named `key` still exists (for live subscriptions: a sign-out ends
    /// them too). Does not count as activity.
    pub(crate) fn is_live(&self, key: &Key) -> bool {
        self.entries().contains_key(key)
    }
}

/// A signed-in person in a browser. Only [`sign_in`] and [`resume`] make one.
#[derive(Clone)]
pub struct Session {
    key: Key,
    principal: Principal,
    csrf: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", self.principal.user())
            .field("role", &self.principal.role())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Who is signed in.
    pub fn user(&self) -> &UserId {
        self.principal.user()
    }

    /// Their role.
    pub fn role(&self) -> Role {
        self.principal.role()
    }

    /// Their team (consultants and team leads).
    pub fn team(&self) -> Option<&TeamCode> {
        self.principal.team()
    }

    /// Signed in with the municipality's identity provider (rather than an API token).
    pub fn via_identity_provider(&self) -> bool {
        matches!(self.principal.credential(), Credential::Oidc { .. })
    }

    /// The gate of a request this session makes from `client`.
    pub(crate) fn gate(&self, client: ClientInfo) -> Gate {
        Gate {
            principal: self.principal.clone(),
            client,
            expires_at: None,
            session: Some(self.key),
            logged: crate::gate::LoggedAccesses::default(),
        }
    }

    /// The session's anti-forgery token: every form the web app serves carries it, and a form
    /// without it is refused. Random per session, never in a cookie.
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }
}

/// A session just opened, and the cookie value that names it (given out once, never kept).
#[derive(Debug)]
pub struct SignedIn {
    /// The session.
    pub session: Session,
    /// The value of the [`SESSION_COOKIE`].
    pub cookie: String,
}

/// Why a sign-in was refused. The access log holds the same reason.
#[derive(Debug, Clone)]
pub enum SignInRefused {
    /// The credential did not sign in (its reason slug, e.g. `unknown_token`).
    Credential {
        /// The access log's reason slug.
        reason: String,
        /// What the person is told, in Dutch.
        message_nl: &'static str,
    },
    /// Too many failed attempts from this address; try again after this long.
    RateLimited(Duration),
}

/// Why a session cannot be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnded {
    /// No such session (never was, signed out, or the server restarted).
    Unknown,
    /// No request for longer than the idle time.
    Idle,
    /// Signed in longer ago than the absolute lifetime.
    Expired,
    /// The credential it was opened with stopped working (revoked, expired, deactivated).
    CredentialEnded,
}

/// Opens a session for the holder of `token` — a Jeugdpad API token or a JWT of the
/// configured identity provider, checked exactly as the API checks a bearer token. A refusal is
/// written to the access log (operation `web_sign_in`) with the API's reason slug, and failed
/// attempts are rate-limited per address like the API's.
pub async fn sign_in(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<SignedIn, SignInRefused> {
    let now = state.clock.now();
    let bearer = format!("Bearer {}", token.trim());
    match state.auth.sign_in_bearer(&bearer, now).await {
        Ok(signed_in) => {
            let mut value = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut value);
            let cookie = hex::encode(value);
            let mut csrf = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut csrf);
            let key = key_of(&cookie);
            let session = Session {
                key,
                principal: signed_in.principal,
                csrf: hex::encode(csrf),
            };
            state.sessions.entries().insert(
                key,
                Entry {
                    principal: session.principal.clone(),
                    csrf: session.csrf.clone(),
                    started: now,
                    last_seen: now,
                },
            );
            Ok(SignedIn { session, cookie })
        }
        Err(failure) => {
            state.metrics.sign_in_failed("web", &failure.reason());
            let address_key = format!("addr:{}", client.address.as_deref().unwrap_or("unknown"));
            if let Err(wait) = state.auth.check_rate(&address_key) {
                state.metrics.rate_limited("failed_sign_ins");
                return Err(SignInRefused::RateLimited(wait));
            }
            log_failed_sign_in(state, client, "web_sign_in", &failure.reason(), None).await;
            Err(SignInRefused::Credential {
                reason: failure.reason(),
                message_nl: failure_nl(&failure),
            })
        }
    }
}

/// What a person is told when a sign-in fails.
fn failure_nl(failure: &AuthFailure) -> &'static str {
    use jeugdpad_access::TokenProblem;
    match failure {
        AuthFailure::Missing | AuthFailure::Malformed => "Vul uw token in.",
        AuthFailure::Unrecognised | AuthFailure::Token(TokenProblem::Unknown) => {
            "Dit token kennen we niet. Controleer of u het helemaal hebt gekopieerd, of vraag \
             uw beheerder om een nieuw token."
        }
        AuthFailure::Token(TokenProblem::Expired) => {
            "Dit token is verlopen. Vraag uw beheerder om een nieuw token."
        }
        AuthFailure::Token(TokenProblem::Revoked) => {
            "Dit token is ingetrokken. Vraag uw beheerder om een nieuw token."
        }
        AuthFailure::Token(TokenProblem::UserDeactivated) => {
            "Uw account is gedeactiveerd. Vraag uw beheerder als u weer toegang nodig hebt."
        }
        AuthFailure::Oidc(_) | AuthFailure::OidcNotConfigured => {
            "De aanmelding bij uw organisatie is niet geaccepteerd. Meld u opnieuw aan; gebeurt \
             dit vaker, vraag het dan uw beheerder."
        }
        AuthFailure::SessionEnded => "Uw sessie is beëindigd. Meld u opnieuw aan.",
        AuthFailure::Claims(_) => {
            "Uw aanmelding geeft u geen rol in Jeugdpad (consulent, teamleider, \
             beleidsmedewerker of beheerder). Vraag uw beheerder om een rol."
        }
    }
}

fn key_of(cookie: &str) -> Key {
    Sha256::digest(cookie.as_bytes()).into()
}

/// The session named by a cookie value, if it is still live; counts as activity. A session
/// whose credential stopped working is ended here, and that is written to the access log.
pub async fn resume(
    state: &AppState,
    cookie: &str,
    client: &ClientInfo,
) -> Result<Session, SessionEnded> {
    let key = key_of(cookie);
    let now = state.clock.now();
    let options = state.sessions.options;
    let (principal, csrf) = {
        let mut entries = state.sessions.entries();
        let Some(entry) = entries.get_mut(&key) else {
            return Err(SessionEnded::Unknown);
        };
        let idle = chrono::Duration::from_std(options.idle).unwrap_or(chrono::Duration::MAX);
        let absolute =
            chrono::Duration::from_std(options.absolute).unwrap_or(chrono::Duration::MAX);
        let ended = if now - entry.started > absolute {
            Some(SessionEnded::Expired)
        } else if now - entry.last_seen > idle {
            Some(SessionEnded::Idle)
        } else {
            None
        };
        if let Some(ended) = ended {
            entries.remove(&key);
            return Err(ended);
        }
        entry.last_seen = now;
        (entry.principal.clone(), entry.csrf.clone())
    };
    if let Err(failure) = state.auth.still_signed_in(&principal, None, now) {
        state.sessions.entries().remove(&key);
        state.metrics.sign_in_failed("web", &failure.reason());
        let entry = client.stamp(
            AccessEntry::by(Some(&principal), AccessAction::FailedSignIn, "web_session")
                .refused(&failure.reason()),
        );
        if let Err(error) = log_access(state, entry, None).await {
            tracing::error!(error = %error.message(), "an ended session could not be written to the access log");
        }
        return Err(SessionEnded::CredentialEnded);
    }
    Ok(Session {
        key,
        principal,
        csrf,
    })
}

/// Ends the session named by a cookie value (sign-out). Live subscriptions it opened end with
/// their next event.
pub fn sign_out(state: &AppState, cookie: &str) {
    state.sessions.entries().remove(&key_of(cookie));
}

/// `Err(wait)` when this person has used up their requests for now: the API's per-token (or
/// per identity-provider user) rate limit, so a browser and a script with the same token share
/// it. The web app asks once per page, not once per operation.
pub fn check_rate(state: &AppState, session: &Session) -> Result<(), Duration> {
    state.auth.check_rate(&rate_key(&session.principal))
}

/// Runs one GraphQL operation as the session's person, answered in Dutch where a Dutch sentence
/// is known. `method` is the page request's: a BSN in the variables is accepted only when the
/// page received it in a POST body, as over HTTP.
pub async fn execute(
    schema: &ApiSchema,
    session: &Session,
    client: &ClientInfo,
    method: Method,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let request = request
        .data(session.gate(client.clone()))
        .data(RequestId(Uuid::now_v7()))
        .data(Transport(method));
    let mut response = schema.execute(request).await;
    in_dutch(&mut response);
    response
}

/// Why a download was not given.
#[derive(Debug, Clone)]
pub enum ExportRefused {
    /// The policy refused (the refusal is in the access log): the sentence in Dutch.
    Forbidden(String),
    /// Our fault: the access log could not be written or the read models failed (details in
    /// the server log).
    Failed,
}

/// Rows the summary download reads under one look at the read models: small enough that the
/// projector is never kept waiting long, large enough that a million rows take a hundred looks.
const EXPORT_PAGE: usize = 10_000;

/// The analyst's pseudonymised summaries of every trajectory as of `as_of` — the rows of
/// `jeugdpad export --what summaries` (docs/export-columns.md), from the read models, in
/// signal-date order — for a file download. Through the gate: analysts only, written to the
/// access log as one export (operation `summaryExportFile`) before a row is read; a refusal is
/// logged too. The file's encoding is the caller's (the web app uses `jeugdpad-interchange`),
/// so this crate stays free of Arrow and Parquet.
///
/// The rows are read a page at a time; a trajectory recorded while the download runs is in it
/// when its signal date sorts after the page being read, as with `summaryExport`'s pages.
pub async fn export_summaries(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
    as_of: chrono::NaiveDate,
) -> Result<Vec<SummaryRow>, ExportRefused> {
    let request = Uuid::now_v7();
    let gate = session.gate(client.clone());
    crate::gate::check(
        state,
        &gate,
        "summaryExportFile",
        jeugdpad_access::Action::Export,
        crate::gate::About::default(),
        Some(request),
    )
    .await
    .map_err(|error| match error.code() {
        crate::ErrorCode::Forbidden => {
            ExportRefused::Forbidden(error.dutch_message().unwrap_or_default())
        }
        _ => ExportRefused::Failed,
    })?;
    let as_of = AsOf::date(as_of);
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let mut query = ListingQuery::new(as_of, EXPORT_PAGE);
        query.after = after.take();
        let (page, cursor, more) = state
            .query(move |p| {
                let page = p.list(&query);
                let rows: Vec<SummaryRow> = page
                    .items
                    .iter()
                    .filter_map(|item| p.summary_row(item.summary.trajectory, as_of))
                    .collect();
                let cursor = page.items.last().map(|item| item.cursor);
                (rows, cursor, page.has_next_page)
            })
            .await
            .map_err(|error| {
                tracing::error!(request_id = %request, %error, "the summary export could not be made");
                ExportRefused::Failed
            })?;
        rows.extend(page);
        match cursor {
            Some(cursor) if more => after = Some(cursor),
            _ => return Ok(rows),
        }
    }
}

/// The session a websocket upgrade's cookie names, if it is live and the upgrade came from this
/// server's own pages (its `Origin` is the `Host` it was sent to): a page of another site cannot
/// ride on the cookie. The websocket then signs in at `connection_init` without a token.
pub(crate) async fn from_upgrade(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    client: &ClientInfo,
) -> Option<Session> {
    let cookie = cookie_value(headers, SESSION_COOKIE)?;
    if !same_origin(headers) {
        return None;
    }
    resume(state, &cookie, client).await.ok()
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// Whether a request's `Origin` names the host it was sent to (scheme aside: behind a TLS proxy
/// the scheme differs, the host does not).
pub fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (
        header(axum::http::header::ORIGIN),
        header(axum::http::header::HOST),
    ) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cookies_are_found_by_name() {
        let map = headers(&[("cookie", "a=1; jeugdpad_sessie=abc"), ("cookie", "b=2")]);
        assert_eq!(cookie_value(&map, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie_value(&map, "b").as_deref(), Some("2"));
        assert_eq!(cookie_value(&map, "jeugdpad"), None);
    }

    #[test]
    fn only_our_own_pages_are_the_same_origin() {
        let check = |origin: Option<&'static str>, host: &'static str, expected: bool| {
            let mut pairs = vec![("host", host)];
            if let Some(origin) = origin {
                pairs.push(("origin", origin));
            }
            assert_eq!(same_origin(&headers(&pairs)), expected, "{origin:?} {host}");
        };
        check(Some("http://127.0.0.1:8080"), "127.0.0.1:8080", true);
        check(
            Some("https://jeugdpad.gemeente.nl"),
            "jeugdpad.gemeente.nl",
            true,
        );
        check(Some("https://evil.example"), "jeugdpad.gemeente.nl", false);
        check(Some("http://127.0.0.1:9090"), "127.0.0.1:8080", false);
        check(None, "127.0.0.1:8080", false);
    }
}
