//! The verifier: header checks, key lookup with refetch, signature and claim validation.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Url;
use serde_json::{Map, Value};
use tokio::sync::{Mutex, RwLock};

use crate::error::{for_log, OidcError};
use crate::keys::{self, KeySet, Lookup};
use crate::{looks_like_jwt, JwksSource, OidcConfig, VerifiedClaims};

/// At most one JWKS refetch per this interval, however many unknown `kid`s arrive.
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Real ID tokens and access tokens are a few kilobytes; this bounds the work per request.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// A larger leeway would be a misconfiguration, not clock skew.
const MAX_LEEWAY_SECONDS: u64 = 3600;

/// Verifies bearer JWTs of one identity provider. Cheap to clone; clones share the key set.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: OidcConfig,
    keys: RwLock<Arc<KeySet>>,
    source: Source,
}

/// [`JwksSource`], ready to use.
enum Source {
    /// Read once at start-up, never re-read.
    File(PathBuf),
    Remote(Remote),
}

struct Remote {
    url: Url,
    client: reqwest::Client,
    /// When the last refetch started; the lock also keeps concurrent refetches to one.
    last_refetch: Mutex<Option<Instant>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.inner.config;
        f.debug_struct("Verifier")
            .field("issuer", &config.issuer)
            .field("audience", &config.audience)
            .field("jwks", &config.jwks)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Checks the configuration and loads the JWKS once: reads the file or GETs the URL.
    /// Fails on an insecure URL (`http://` to anything but loopback), an unreadable source,
    /// or a key set without a single usable RS256/ES256 signing key.
    pub async fn new(config: OidcConfig) -> Result<Verifier, OidcError> {
        check_config(&config)?;
        let source = source_for(&config.jwks)?;
        let json = match &source {
            Source::File(path) => keys::read_file(path).await?,
            Source::Remote(remote) => keys::fetch(&remote.client, &remote.url).await?,
        };
        Self::build(config, source, &json)
    }

    /// Like [`Verifier::new`], with the JWKS given as JSON instead of loaded from
    /// [`OidcConfig::jwks`]. With a URL source, that URL is still used to refetch on an unknown
    /// `kid`.
    pub fn from_jwks_json(config: OidcConfig, jwks_json: &str) -> Result<Verifier, OidcError> {
        check_config(&config)?;
        let source = source_for(&config.jwks)?;
        Self::build(config, source, jwks_json)
    }

    fn build(config: OidcConfig, source: Source, jwks_json: &str) -> Result<Verifier, OidcError> {
        let set = KeySet::parse(jwks_json)?;
        tracing::info!(issuer = %config.issuer, kids = ?set.kids(), "OIDC key set loaded");
        Ok(Verifier {
            inner: Arc::new(Inner {
                config,
                keys: RwLock::new(Arc::new(set)),
                source,
            }),
        })
    }

    /// Verifies `token` (the bearer value, without `Bearer `) and returns its claims.
    /// See the crate documentation for every check, in order: shape, `alg`, `kid`, signature,
    /// `exp`/`nbf`, `iss`, `aud`, `sub`.
    pub async fn verify(&self, token: &str) -> Result<VerifiedClaims, OidcError> {
        if token.len() > MAX_TOKEN_BYTES || !looks_like_jwt(token) {
            return Err(OidcError::Malformed);
        }
        let (alg, kid) = read_header(token)?;
        let key = self.key_for(&kid, alg).await?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation(alg))
            .map_err(|e| from_jwt_error(e.kind(), alg))?;
        claims_from(&data.claims, &self.inner.config)
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let config = &self.inner.config;
        let mut validation = Validation::new(alg);
        validation.leeway = config.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation
    }

    /// The key `kid` names, refetching the JWKS once per [`REFETCH_INTERVAL`] when it is
    /// unknown and the source is a URL.
    async fn key_for(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, OidcError> {
        if let Some(key) = self.cached(kid, alg).await? {
            return Ok(key);
        }
        let unknown = || OidcError::UnknownKey { kid: for_log(kid) };
        let Source::Remote(remote) = &self.inner.source else {
            return Err(unknown());
        };
        let mut last_refetch = remote.last_refetch.lock().await;
        // Another request may have refetched while this one waited for the lock.
        if let Some(key) = self.cached(kid, alg).await? {
            return Ok(key);
        }
        if last_refetch.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return Err(unknown());
        }
        *last_refetch = Some(Instant::now());
        let fetched = match keys::fetch(&remote.client, &remote.url).await {
            Ok(json) => KeySet::parse(&json),
            Err(e) => Err(e),
        };
        match fetched {
            Ok(set) => {
                tracing::info!(kids = ?set.kids(), "OIDC key set refetched for an unknown key id");
                *self.inner.keys.write().await = Arc::new(set);
            }
            Err(e) => {
                tracing::warn!(reason = e.reason(), error = %e, "OIDC key set refetch failed; keeping the old keys");
                return Err(e);
            }
        }
        drop(last_refetch);
        self.cached(kid, alg).await?.ok_or_else(unknown)
    }

    async fn cached(&self, kid: &str, alg: Algorithm) -> Result<Option<DecodingKey>, OidcError> {
        let set = Arc::clone(&*self.inner.keys.read().await);
        match set.lookup(kid, alg) {
            Lookup::Found(key) => Ok(Some(key.clone())),
            Lookup::WrongAlgorithm => Err(OidcError::AlgorithmMismatch {
                alg: format!("{alg:?}"),
                kid: for_log(kid),
            }),
            Lookup::Unknown => Ok(None),
        }
    }
}

fn check_config(config: &OidcConfig) -> Result<(), OidcError> {
    let invalid = |what: &str| Err(OidcError::InvalidConfig(what.to_owned()));
    if config.issuer.trim().is_empty() {
        return invalid("the issuer is empty");
    }
    if config.audience.trim().is_empty() {
        return invalid("the audience is empty");
    }
    if config.role_claim.is_empty() || config.team_claim.is_empty() {
        return invalid("the role or team claim name is empty");
    }
    if config.leeway_seconds > MAX_LEEWAY_SECONDS {
        return invalid("the leeway is more than an hour");
    }
    Ok(())
}

fn source_for(jwks: &JwksSource) -> Result<Source, OidcError> {
    match jwks {
        JwksSource::File(path) => Ok(Source::File(path.clone())),
        JwksSource::Url(url) => {
            let url = keys::check_url(url)?;
            let client = keys::http_client(&url)?;
            Ok(Source::Remote(Remote {
                url,
                client,
                last_refetch: Mutex::new(None),
            }))
        }
    }
}

/// Reads `alg` and `kid` from the (still untrusted) header. Parsed here rather than by
/// `jsonwebtoken::decode_header`, whose `Algorithm` cannot even represent `none`: every
/// algorithm but RS256 and ES256 is refused by name, before any key is touched.
fn read_header(token: &str) -> Result<(Algorithm, String), OidcError> {
    #[derive(serde::Deserialize)]
    struct RawHeader {
        alg: Option<Value>,
        kid: Option<Value>,
        crit: Option<Value>,
    }
    let encoded = token.split('.').next().ok_or(OidcError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| OidcError::Malformed)?;
    let header: RawHeader = serde_json::from_slice(&bytes).map_err(|_| OidcError::Malformed)?;
    let alg = match header.alg {
        Some(Value::String(alg)) if alg == "RS256" => Algorithm::RS256,
        Some(Value::String(alg)) if alg == "ES256" => Algorithm::ES256,
        Some(Value::String(alg)) => {
            return Err(OidcError::UnsupportedAlgorithm { alg: for_log(&alg) })
        }
        Some(other) => {
            return Err(OidcError::UnsupportedAlgorithm {
                alg: for_log(&other.to_string()),
            })
        }
        None => {
            return Err(OidcError::UnsupportedAlgorithm {
                alg: "(none given)".to_owned(),
            })
        }
    };
    // RFC 7515 §4.1.11: extensions marked critical must be understood; this verifier knows none.
    if header.crit.is_some() {
        return Err(OidcError::Malformed);
    }
    match header.kid {
        Some(Value::String(kid)) if !kid.is_empty() => Ok((alg, kid)),
        _ => Err(OidcError::MissingKeyId),
    }
}

fn from_jwt_error(kind: &ErrorKind, alg: Algorithm) -> OidcError {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::Crypto(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => OidcError::BadSignature,
        ErrorKind::ExpiredSignature => OidcError::Expired,
        ErrorKind::ImmatureSignature => OidcError::NotYetValid,
        ErrorKind::InvalidIssuer => OidcError::WrongIssuer,
        ErrorKind::InvalidAudience => OidcError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => OidcError::MissingClaim(claim.clone()),
        // Not reachable after `read_header` and the key lookup; refused all the same.
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            OidcError::UnsupportedAlgorithm {
                alg: format!("{alg:?}"),
            }
        }
        _ => OidcError::Malformed,
    }
}

/// The claims after `jsonwebtoken` checked signature, `exp`, `nbf`, `iss` membership and `aud`.
/// Tightens what it leaves loose: `iss` must be a string (not an array containing ours), `sub`
/// non-empty, `nbf` a number when present.
fn claims_from(
    claims: &Map<String, Value>,
    config: &OidcConfig,
) -> Result<VerifiedClaims, OidcError> {
    match claims.get("iss") {
        Some(Value::String(iss)) if *iss == config.issuer => {}
        _ => return Err(OidcError::WrongIssuer),
    }
    let subject = match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
        _ => return Err(OidcError::MissingClaim("sub".to_owned())),
    };
    let expires_at = claims
        .get("exp")
        .and_then(timestamp)
        .ok_or_else(|| OidcError::InvalidClaim("exp".to_owned()))?;
    if claims
        .get("nbf")
        .is_some_and(|nbf| timestamp(nbf).is_none())
    {
        return Err(OidcError::InvalidClaim("nbf".to_owned()));
    }
    let roles = match claim(claims, &config.role_claim) {
        Some(Value::String(role)) => vec![role.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let team = match claim(claims, &config.team_claim) {
        Some(Value::String(team)) => Some(team.clone()),
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::String(team)] => Some(team.clone()),
            _ => None,
        },
        _ => None,
    };
    let name = ["name", "preferred_username"]
        .iter()
        .find_map(|key| claims.get(*key).and_then(Value::as_str))
        .map(str::to_owned);
    Ok(VerifiedClaims {
        subject,
        roles: roles.into_iter().filter(|r| !r.is_empty()).collect(),
        team: team.filter(|t| !t.is_empty()),
        expires_at,
        name,
    })
}

/// A claim by literal top-level name, or else by dotted path through nested objects.
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// A NumericDate (seconds since the epoch, possibly fractional).
fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    let seconds = match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.floor() as i64))?,
        _ => return None,
    };
    DateTime::from_timestamp(seconds, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn claim_paths() {
        let claims = object(json!({
            "jeugdpad_role": "consultant",
            "realm_access": {"roles": ["team_lead", "offline_access"]},
            "https://jeugdpad.example/team": "noord",
            "a": {"b": "not an object"},
        }));
        for (path, expected) in [
            ("jeugdpad_role", Some(json!("consultant"))),
            (
                "realm_access.roles",
                Some(json!(["team_lead", "offline_access"])),
            ),
            ("https://jeugdpad.example/team", Some(json!("noord"))),
            ("realm_access.missing", None),
            ("a.b.c", None),
            ("missing", None),
        ] {
            assert_eq!(claim(&claims, path).cloned(), expected, "{path}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(&json!(10)), DateTime::from_timestamp(10, 0));
        assert_eq!(timestamp(&json!(10.7)), DateTime::from_timestamp(10, 0));
        assert_eq!(timestamp(&json!("10")), None);
        assert_eq!(timestamp(&json!(u64::MAX)), None);
    }

    #[test]
    fn verifier_is_shareable() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<Verifier>();
    }
}
