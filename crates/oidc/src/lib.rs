//! Verifies bearer JWTs issued by a municipality's identity provider (OpenID Connect) and turns
//! them into the few claims Jeugdpad maps to a role and a team.
//!
//! The server calls [`looks_like_jwt`] to route a bearer token: a JWT goes to [`Verifier::verify`],
//! anything else (Jeugdpad's own API tokens look like `jpt_<id>_<secret>`) to the token store.
//! Every [`OidcError`] means "not authenticated"; the server logs [`OidcError::reason`], a stable
//! slug, and never the token itself. This crate does not log tokens or claims either.
//!
//! # What a token must carry
//!
//! - header `alg`: `RS256` or `ES256`, nothing else (see below);
//! - header `kid`: the id of a key in the provider's JWK Set (JWKS);
//! - a signature that verifies under that key;
//! - `iss`: a string exactly equal to [`OidcConfig::issuer`];
//! - `aud`: a string or an array that contains [`OidcConfig::audience`];
//! - `exp`: required; the token is refused once `exp` lies more than
//!   [`OidcConfig::leeway_seconds`] in the past;
//! - `nbf`: optional; when present the token is refused until `nbf` minus the leeway;
//! - `sub`: a non-empty string, the person's stable id at the provider.
//!
//! Read but never required: the role claim ([`OidcConfig::role_claim`], default `jeugdpad_role`),
//! the team claim ([`OidcConfig::team_claim`], default `jeugdpad_team`), and `name` (falling back
//! to `preferred_username`). Whether a subject without a role may do anything is the server's
//! decision, not this crate's: [`VerifiedClaims::roles`] is then empty.
//!
//! # Why only RS256 and ES256 ("algorithm confusion")
//!
//! The header, `alg` included, is chosen by whoever made the token. A verifier that trusts it can
//! be told `alg: none` (no signature at all) or `alg: HS256` with the provider's *public* key as
//! the HMAC secret, which anyone can compute. So the accepted algorithms are fixed here, each key
//! in the JWKS is bound to exactly one of them by its type (RSA → RS256, EC P-256 → ES256), and a
//! token whose `alg` does not fit the key its `kid` names is refused before any signature check.
//! Symmetric keys (`kty: oct`), encryption keys (`use: enc`) and other curves in the JWKS are
//! skipped when the set is loaded.
//!
//! # Key rotation
//!
//! The JWKS is loaded once by [`Verifier::new`], from a file or over HTTPS (plain `http://` only
//! to a loopback address, for local development and tests). A provider rotates by publishing the
//! new key next to the old one and then signing with it; when a token names a `kid` the verifier
//! does not know and the source is a URL, the verifier fetches the JWKS again — at most once per
//! 60 seconds, so a stream of made-up `kid`s cannot turn the server into a load generator against
//! the provider — and then either finds the key or refuses the token. A file source is read only
//! at start-up: replacing the file means restarting the server.
//!
//! # Example
//!
//! ```no_run
//! use jeugdpad_oidc::{looks_like_jwt, JwksSource, OidcConfig, Verifier};
//!
//! # async fn example(bearer: &str) -> Result<(), jeugdpad_oidc::OidcError> {
//! let config = OidcConfig {
//!     role_claim: "realm_access.roles".to_owned(),
//!     ..OidcConfig::new(
//!         "https://login.gemeente.example/realms/jeugd",
//!         "jeugdpad",
//!         JwksSource::Url(
//!             "https://login.gemeente.example/realms/jeugd/protocol/openid-connect/certs".to_owned(),
//!         ),
//!     )
//! };
//! let verifier = Verifier::new(config).await?; // once, at start-up
//! if looks_like_jwt(bearer) {
//!     match verifier.verify(bearer).await {
//!         Ok(claims) => println!("{} acts as {:?} in {:?}", claims.subject, claims.roles, claims.team),
//!         Err(refused) => tracing::info!(reason = refused.reason(), "bearer token refused"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod error;
mod keys;
mod verifier;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

pub use error::OidcError;
pub use verifier::Verifier;

/// The default [`OidcConfig::role_claim`].
pub const DEFAULT_ROLE_CLAIM: &str = "jeugdpad_role";
/// The default [`OidcConfig::team_claim`].
pub const DEFAULT_TEAM_CLAIM: &str = "jeugdpad_team";
/// The default [`OidcConfig::leeway_seconds`].
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;

/// How to reach one identity provider and where its claims live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The exact `iss` of the provider's tokens, e.g. `https://login.gemeente.example/realms/jeugd`.
    pub issuer: String,
    /// The value that must be in `aud` (a string or an array): the client id Jeugdpad has at the
    /// provider. Without this check a token the provider issued for another application would do.
    pub audience: String,
    /// Where the provider's public keys are.
    pub jwks: JwksSource,
    /// The claim holding the role(s): a top-level name (`jeugdpad_role`) or a dotted path into
    /// nested objects (`realm_access.roles`). A name that exists literally at the top level wins
    /// over the path reading, so namespaced claims like `https://jeugdpad.example/role` work too.
    /// A string gives one role, an array gives each of its strings, in order.
    pub role_claim: String,
    /// The claim holding the team, read like [`OidcConfig::role_claim`]. A string, or an array
    /// with exactly one string; anything else (several teams) gives no team, since picking one
    /// would be a guess.
    pub team_claim: String,
    /// Allowed clock skew, in seconds, when checking `exp` and `nbf`.
    pub leeway_seconds: u64,
}

impl OidcConfig {
    /// A configuration with the default claim names and leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, jwks: JwksSource) -> Self {
        OidcConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks,
            role_claim: DEFAULT_ROLE_CLAIM.to_owned(),
            team_claim: DEFAULT_TEAM_CLAIM.to_owned(),
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
        }
    }
}

/// Where the JWK Set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JSON file, read once at start-up.
    File(PathBuf),
    /// The provider's `jwks_uri`: `https://…`, or `http://` to a loopback address only.
    Url(String),
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// `sub`: the bearer's stable id at the provider.
    pub subject: String,
    /// Every string found at [`OidcConfig::role_claim`], in token order; empty when absent.
    pub roles: Vec<String>,
    /// The string found at [`OidcConfig::team_claim`], if exactly one.
    pub team: Option<String>,
    /// `exp`: the server should not keep a session from this token past this moment.
    pub expires_at: DateTime<Utc>,
    /// `name`, or else `preferred_username`: for display and the access log only, never for
    /// deciding access.
    pub name: Option<String>,
}

/// Whether `token` has the shape of a JWT in compact form: three base64url segments separated by
/// dots, the first two non-empty. The third (the signature) may be empty, so that an unsigned
/// `alg: none` token is routed to the verifier and refused there for what it is.
///
/// Only a routing hint: it says nothing about validity. Jeugdpad's own API tokens
/// (`jpt_<id>_<secret>`) have no dots and never look like a JWT.
pub fn looks_like_jwt(token: &str) -> bool {
    let is_b64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => {
            !header.is_empty()
                && !payload.is_empty()
                && is_b64url(header)
                && is_b64url(payload)
                && is_b64url(signature)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_jwt;

    #[test]
    fn jwt_shape() {
        for (token, expected) in [
            ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", true),
            ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", true),
            ("jpt_0190a1b2c3_s3cr3t-XYZ", false),
            ("", false),
            ("a.b", false),
            ("a.b.c.d", false),
            (".b.c", false),
            ("a..c", false),
            ("a.b+/.c", false),
            ("a.b.c=", false),
            ("a b.c.d", false),
        ] {
            assert_eq!(looks_like_jwt(token), expected, "{token:?}");
        }
    }
}
