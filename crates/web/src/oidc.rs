//! Signing in with the municipality's identity provider: the OpenID Connect authorisation-code
//! flow with PKCE (RFC 7636, `S256`).
//!
//! 1. `/aanmelden/oidc` draws a `state` and a code verifier, keeps them server-side for ten
//!    minutes (bound to a short-lived cookie holding the `state`), and sends the browser to the
//!    provider's authorisation endpoint with the verifier's SHA-256 as `code_challenge`.
//! 2. The provider sends the browser back to `/aanmelden/oidc/terug?code=…&state=…`; the state
//!    must be pending *and* equal the cookie's (a code injected into someone else's browser is
//!    refused), and is used once.
//! 3. The code and the verifier go to the token endpoint (with the client secret, for a
//!    confidential client). The answer's access token (or, when that is not a JWT, its ID
//!    token) is then signed in exactly like an API bearer JWT — issuer, audience, signature by
//!    the configured JWKS, role and team claims — by `jeugdpad_api::session::sign_in`.
//!
//! The endpoints come from the issuer's discovery document
//! (`<issuer>/.well-known/openid-configuration`) unless both are given.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::context::OidcClientOptions;

/// How long a started sign-in may take at the provider.
pub(crate) const PENDING_FOR: Duration = Duration::from_secs(600);

/// The cookie holding the pending sign-in's `state` (SameSite=Lax: the provider's redirect back
/// is a cross-site navigation, which a Strict cookie would not accompany).
pub(crate) const STATE_COOKIE: &str = "jeugdpad_oidc";

/// Why the identity provider could not be set up at start-up.
#[derive(Debug)]
pub struct OidcSetupError(pub String);

impl std::fmt::Display for OidcSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the identity provider's sign-in could not be set up: {}",
            self.0
        )
    }
}

impl std::error::Error for OidcSetupError {}

/// The web app as a client of the identity provider.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) authorization_endpoint: String,
    token_endpoint: String,
    client_id: String,
    client_secret: Option<String>,
    scopes: String,
    http: reqwest::Client,
}

/// A sign-in sent to the provider and not yet back.
#[derive(Debug)]
pub(crate) struct Pending {
    verifier: String,
    redirect_uri: String,
    pub(crate) return_to: String,
    started: Instant,
}

impl Client {
    /// The client, with the endpoints from `options` or else from the discovery document.
    pub(crate) async fn discover(options: &OidcClientOptions) -> Result<Client, OidcSetupError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| OidcSetupError(e.to_string()))?;
        let (authorization_endpoint, token_endpoint) =
            match (&options.authorization_endpoint, &options.token_endpoint) {
                (Some(a), Some(t)) => (a.clone(), t.clone()),
                _ => {
                    let url = format!(
                        "{}/.well-known/openid-configuration",
                        options.issuer.trim_end_matches('/')
                    );
                    let document: serde_json::Value = http
                        .get(&url)
                        .send()
                        .await
                        .and_then(reqwest::Response::error_for_status)
                        .map_err(|e| OidcSetupError(format!("{url}: {e}")))?
                        .json()
                        .await
                        .map_err(|e| OidcSetupError(format!("{url}: {e}")))?;
                    let field = |name: &str| {
                        document[name]
                            .as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| OidcSetupError(format!("{url} has no {name}")))
                    };
                    (
                        options
                            .authorization_endpoint
                            .clone()
                            .map_or_else(|| field("authorization_endpoint"), Ok)?,
                        options
                            .token_endpoint
                            .clone()
                            .map_or_else(|| field("token_endpoint"), Ok)?,
                    )
                }
            };
        Ok(Client {
            authorization_endpoint,
            token_endpoint,
            client_id: options.client_id.clone(),
            client_secret: options.client_secret.clone(),
            scopes: if options.scopes.trim().is_empty() {
                "openid".to_owned()
            } else {
                options.scopes.clone()
            },
            http,
        })
    }

    /// Starts a sign-in: the pending entry (to keep under its `state`), the `state`, and the
    /// provider URL to send the browser to.
    pub(crate) fn start(&self, redirect_uri: &str, return_to: String) -> (String, Pending, String) {
        let state = random();
        let verifier = random();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.scopes)
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let separator = if self.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{separator}{query}", self.authorization_endpoint);
        let pending = Pending {
            verifier,
            redirect_uri: redirect_uri.to_owned(),
            return_to,
            started: Instant::now(),
        };
        (state, pending, url)
    }

    /// Trades the code for tokens; the token to sign in with.
    pub(crate) async fn exchange(&self, code: &str, pending: &Pending) -> Result<String, String> {
        if pending.started.elapsed() > PENDING_FOR {
            return Err("the sign-in took longer than ten minutes".into());
        }
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", pending.redirect_uri.as_str()),
            ("client_id", self.client_id.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let answer: serde_json::Value = self
            .http
            .post(&self.token_endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("the token endpoint could not be reached: {e}"))?
            .error_for_status()
            .map_err(|e| format!("the token endpoint refused the code: {e}"))?
            .json()
            .await
            .map_err(|e| format!("the token endpoint's answer is not JSON: {e}"))?;
        let jwt = |name: &str| {
            answer[name]
                .as_str()
                .filter(|t| t.split('.').count() == 3)
                .map(str::to_owned)
        };
        jwt("access_token")
            .or_else(|| jwt("id_token"))
            .ok_or_else(|| "the token endpoint answered no JWT".to_owned())
    }
}

/// 256 random bits, base64url without padding (a `state` or a PKCE verifier: 43 characters).
fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Drops pending sign-ins older than [`PENDING_FOR`].
pub(crate) fn prune(pending: &mut std::collections::HashMap<String, Pending>) {
    pending.retain(|_, p| p.started.elapsed() <= PENDING_FOR);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B: the verifier's S256 challenge.
    #[test]
    fn the_challenge_is_rfc_7636_s256() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_authorisation_url_carries_state_and_challenge() {
        let client = Client {
            authorization_endpoint: "https://idp.example/auth".into(),
            token_endpoint: "https://idp.example/token".into(),
            client_id: "jeugdpad".into(),
            client_secret: None,
            scopes: "openid".into(),
            http: reqwest::Client::new(),
        };
        let (state, pending, url) = client.start(
            "http://127.0.0.1:8080/aanmelden/oidc/terug",
            "/caseload".into(),
        );
        assert!(url.starts_with("https://idp.example/auth?response_type=code&client_id=jeugdpad"));
        assert!(url.contains(&format!("state={state}")));
        assert!(url.contains("code_challenge_method=S256"));
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        assert!(url.contains(&format!("code_challenge={challenge}")));
        assert!(
            !url.contains(&pending.verifier),
            "the verifier never leaves the server"
        );
        assert_eq!(state.len(), 43);
    }
}
