//! What every handler shares (`Web`), who is looking (`Viewer`), and the response headers every
//! page carries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use jeugdpad_api::session::{self, Session, SessionEnded, SESSION_COOKIE};
use jeugdpad_api::{ApiSchema, AppState, ClientInfo};
use jeugdpad_domain::TeamCode;
use subtle::ConstantTimeEq;

use crate::oidc;

/// Settings of the web app.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// The address people reach Jeugdpad at, e.g. `https://jeugdpad.gemeente.nl` (behind the
    /// municipality's TLS proxy). An `https` URL marks the session cookie `Secure`; the OIDC
    /// redirect URI is built from it. Without it: `http` on the listening address, cookies
    /// without `Secure` (fine on 127.0.0.1, not on a network).
    pub public_url: Option<String>,
    /// Sign-in with the municipality's identity provider (authorisation-code flow with PKCE).
    pub oidc: Option<OidcClientOptions>,
    /// A municipality's theme: CSS served as `/static/thema.css` after the app's own, to set the
    /// custom properties (`--jp-accent`, …).
    pub theme_css: Option<String>,
}

/// The web app as a client of the identity provider.
#[derive(Debug, Clone)]
pub struct OidcClientOptions {
    /// The issuer (as for the API's token check); its discovery document gives the endpoints.
    pub issuer: String,
    /// The client id Jeugdpad is registered with at the provider.
    pub client_id: String,
    /// The client secret, for providers that require one on the token endpoint (confidential
    /// client); PKCE is used either way.
    pub client_secret: Option<String>,
    /// Overrides the discovery document's `authorization_endpoint`.
    pub authorization_endpoint: Option<String>,
    /// Overrides the discovery document's `token_endpoint`.
    pub token_endpoint: Option<String>,
    /// The scopes asked for (default `openid`).
    pub scopes: String,
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Web {
    pub(crate) state: AppState,
    pub(crate) schema: ApiSchema,
    pub(crate) options: Arc<WebOptions>,
    pub(crate) oidc: Option<Arc<oidc::Client>>,
    /// Sign-ins started with the identity provider and not yet returned, by `state`.
    pub(crate) pending: Arc<Mutex<HashMap<String, oidc::Pending>>>,
}

impl Web {
    pub(crate) fn new(
        state: AppState,
        options: WebOptions,
        oidc: Option<Arc<oidc::Client>>,
    ) -> Web {
        let schema = jeugdpad_api::build_schema(&state);
        Web {
            state,
            schema,
            options: Arc::new(options),
            oidc,
            pending: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub(crate) fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, oidc::Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether people reach us over https (so cookies get `Secure`).
    pub(crate) fn secure(&self) -> bool {
        self.options
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, `Secure` behind https.
    pub(crate) fn cookie(&self, name: &str, value: &str, max_age: Option<Duration>) -> String {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={}", age.as_secs()));
        }
        if self.secure() {
            cookie.push_str("; Secure");
        }
        cookie
    }

    /// A `Set-Cookie` value that removes cookie `name`.
    pub(crate) fn expired_cookie(&self, name: &str) -> String {
        self.cookie(name, "", Some(Duration::ZERO))
    }
}

/// The person looking at a page: a live session, the request's access point and method.
pub(crate) struct Viewer {
    pub(crate) session: Session,
    pub(crate) client: ClientInfo,
    pub(crate) method: Method,
    /// The path asked for (for the navigation's `aria-current`).
    pub(crate) path: String,
}

impl Viewer {
    /// The viewer's team (consultants and team leads).
    pub(crate) fn team(&self) -> Option<&TeamCode> {
        self.session.team()
    }

    /// `Ok` when the form's `_csrf` field is this session's token; the refusal page otherwise.
    pub(crate) fn check_csrf(&self, sent: Option<&str>) -> Result<(), Response> {
        let expected = self.session.csrf_token().as_bytes();
        match sent {
            Some(sent) if bool::from(sent.as_bytes().ct_eq(expected)) => Ok(()),
            _ => Err(crate::pages::forged_form()),
        }
    }
}

impl FromRequestParts<Web> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Viewer, Response> {
        let client = ClientInfo::of(parts);
        let path = parts.uri.path().to_owned();
        let to_sign_in = |ended: Option<SessionEnded>| -> Response {
            let mut target = format!(
                "/aanmelden?terug={}",
                form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
            );
            if matches!(
                ended,
                Some(SessionEnded::Idle | SessionEnded::Expired | SessionEnded::CredentialEnded)
            ) {
                target.push_str("&reden=verlopen");
            }
            let mut response = if parts.headers.contains_key("x-jeugdpad-fragment") {
                StatusCode::UNAUTHORIZED.into_response()
            } else {
                Redirect::to(&target).into_response()
            };
            if ended.is_some() {
                if let Ok(value) = HeaderValue::from_str(&web.expired_cookie(SESSION_COOKIE)) {
                    response.headers_mut().append(SET_COOKIE, value);
                }
            }
            response
        };
        let Some(cookie) = session::cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in(None));
        };
        let session = match session::resume(&web.state, &cookie, &client).await {
            Ok(session) => session,
            Err(ended) => return Err(to_sign_in(Some(ended))),
        };
        if parts.method == Method::POST && !same_origin_post(&parts.headers) {
            return Err(crate::pages::forged_form());
        }
        if let Err(wait) = session::check_rate(&web.state, &session) {
            return Err(crate::pages::too_many(wait));
        }
        Ok(Viewer {
            session,
            client,
            method: parts.method.clone(),
            path,
        })
    }
}

/// A POST is ours when the browser says it came from our own pages: `Origin` equal to the host,
/// or — for browsers that send no `Origin` — `Sec-Fetch-Site: same-origin`. Neither header
/// (a script, a test client): allowed, the CSRF token still has to match.
pub(crate) fn same_origin_post(headers: &HeaderMap) -> bool {
    if headers.contains_key(axum::http::header::ORIGIN) {
        return session::same_origin(headers);
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// The Content-Security-Policy of the app's pages: nothing from another origin, no inline
/// script or style, no framing, forms only to ourselves.
const CSP_PAGES: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
    form-action 'self'; base-uri 'none'; object-src 'none'";

/// GraphiQL's: its bundle sets inline styles and embeds its fonts as `data:` URLs.
const CSP_GRAPHIQL: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; \
    object-src 'none'";

/// Every response of the web app: a strict CSP, no sniffing, no framing, no referrer to other
/// sites (page URLs name trajectories; `same-origin` rather than `no-referrer`, because with the
/// latter browsers send `Origin: null` on our own form posts, and the same-origin check needs
/// it). HTML pages are never cached (they hold personal data, and the back
/// button after sign-out must not show them); assets set their own caching.
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let graphiql = request.uri().path() == "/graphiql";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = if graphiql { CSP_GRAPHIQL } else { CSP_PAGES };
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    let is_html = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html || !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
