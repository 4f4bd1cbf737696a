//! The provider's public keys: reading a JWK Set, keeping only what may verify a token, and
//! fetching it from a file or URL.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;

use crate::error::OidcError;

/// A JWKS larger than this is refused: real ones are a few kilobytes.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// One verification key, bound to the single algorithm it may be used with.
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) decoding: DecodingKey,
}

/// The usable keys of one JWKS. A handful of keys: a linear scan is the right index.
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    keys: Vec<Key>,
}

/// The outcome of looking a header's `kid` and `alg` up.
pub(crate) enum Lookup<'a> {
    Found(&'a DecodingKey),
    WrongAlgorithm,
    Unknown,
}

impl KeySet {
    /// Parses a JWK Set, skipping (with a debug line) every key that cannot verify an RS256 or
    /// ES256 token: no `kid`, `use: enc`, symmetric, other curves, or an `alg` other than the one
    /// its type implies. Skipping instead of failing matters: providers publish encryption keys
    /// and key types this crate has no use for next to their signing keys.
    pub(crate) fn parse(json: &str) -> Result<KeySet, OidcError> {
        #[derive(serde::Deserialize)]
        struct RawSet {
            keys: Vec<serde_json::Value>,
        }
        let raw: RawSet =
            serde_json::from_str(json).map_err(|e| OidcError::InvalidJwks(e.to_string()))?;
        let mut set = KeySet::default();
        for (index, value) in raw.keys.into_iter().enumerate() {
            match usable_key(value) {
                Ok(key)
                    if set
                        .keys
                        .iter()
                        .any(|k| k.kid == key.kid && k.alg == key.alg) =>
                {
                    tracing::warn!(kid = %key.kid, "JWKS lists key id twice; keeping the first");
                }
                Ok(key) => set.keys.push(key),
                Err(why) => tracing::debug!(index, why, "skipping JWKS key"),
            }
        }
        if set.keys.is_empty() {
            return Err(OidcError::EmptyKeySet);
        }
        Ok(set)
    }

    pub(crate) fn lookup(&self, kid: &str, alg: Algorithm) -> Lookup<'_> {
        let mut kid_known = false;
        for key in self.keys.iter().filter(|k| k.kid == kid) {
            if key.alg == alg {
                return Lookup::Found(&key.decoding);
            }
            kid_known = true;
        }
        if kid_known {
            Lookup::WrongAlgorithm
        } else {
            Lookup::Unknown
        }
    }

    pub(crate) fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }
}

fn usable_key(value: serde_json::Value) -> Result<Key, &'static str> {
    let jwk: Jwk = serde_json::from_value(value).map_err(|_| "not a JWK this crate can read")?;
    let kid = jwk.common.key_id.clone().ok_or("no kid")?;
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("an encryption key");
    }
    let (alg, implied) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        _ => return Err("neither RSA nor EC P-256"),
    };
    if jwk.common.key_algorithm.is_some_and(|a| a != implied) {
        return Err("its alg is neither RS256 nor ES256");
    }
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| "unreadable key material")?;
    Ok(Key { kid, alg, decoding })
}

/// Checks a JWKS URL: `https`, or `http` to a loopback address.
pub(crate) fn check_url(url: &str) -> Result<Url, OidcError> {
    let parsed =
        Url::parse(url).map_err(|e| OidcError::InvalidConfig(format!("JWKS URL {url:?}: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        _ => Err(OidcError::InsecureJwksUrl(url.to_owned())),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An HTTP client for one JWKS URL: a timeout, redirects only to URLs that pass
/// [`check_url`], and no proxy for a loopback address (a proxy could not reach it).
pub(crate) fn http_client(url: &Url) -> Result<reqwest::Client, OidcError> {
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 3 {
            attempt.error("too many redirects")
        } else if check_url(attempt.url().as_str()).is_err() {
            attempt.error("redirect to a URL that is not https")
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(redirects)
        .user_agent(concat!("jeugdpad-oidc/", env!("CARGO_PKG_VERSION")));
    if is_loopback(url) {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| OidcError::InvalidConfig(format!("HTTP client: {e}")))
}

pub(crate) async fn read_file(path: &Path) -> Result<String, OidcError> {
    tokio::fs::read_to_string(path)
        .await
        .map_err(|e| OidcError::JwksUnavailable(format!("{}: {e}", path.display())))
}

pub(crate) async fn fetch(client: &reqwest::Client, url: &Url) -> Result<String, OidcError> {
    let unavailable = |e: &dyn std::fmt::Display| OidcError::JwksUnavailable(format!("{url}: {e}"));
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unavailable(&e))?;
    if !response.status().is_success() {
        return Err(unavailable(&format!("HTTP status {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(&e))? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(unavailable(&"response larger than 1 MiB"));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|e| unavailable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        for (url, ok) in [
            ("https://idp.gemeente.example/jwks", true),
            ("http://127.0.0.1:8080/jwks", true),
            ("http://127.1.2.3/jwks", true),
            ("http://[::1]:9000/jwks", true),
            ("http://localhost/jwks", true),
            ("http://idp.gemeente.example/jwks", false),
            ("http://10.0.0.1/jwks", false),
            ("ftp://idp.gemeente.example/jwks", false),
            ("file:///etc/jwks.json", false),
        ] {
            assert_eq!(check_url(url).is_ok(), ok, "{url}");
        }
        assert_eq!(
            check_url("not a url").map_err(|e| e.reason()).err(),
            Some("invalid_config")
        );
        assert_eq!(
            check_url("http://idp.example/jwks")
                .map_err(|e| e.reason())
                .err(),
            Some("insecure_jwks_url")
        );
    }

    #[test]
    fn skips_keys_it_cannot_use() {
        let json = r#"{"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "pss", "alg": "PS256", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AQAB", "y": "AQAB"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AQAB"},
            {"kty": "weird", "kid": "w"},
            {"kty": "RSA", "kid": "good", "use": "sig", "n": "AQAB", "e": "AQAB"}
        ]}"#;
        let set = KeySet::parse(json).map_err(|e| e.to_string());
        assert_eq!(set.map(|s| s.kids().join(",")), Ok("good".to_owned()));
    }

    #[test]
    fn refuses_empty_or_invalid_sets() {
        for (json, reason) in [
            (r#"{"keys": []}"#, "empty_key_set"),
            (
                r#"{"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}"#,
                "empty_key_set",
            ),
            (r#"{"no_keys": []}"#, "invalid_jwks"),
            ("[]", "invalid_jwks"),
            ("", "invalid_jwks"),
        ] {
            let got = KeySet::parse(json).map(|_| ()).map_err(|e| e.reason());
            assert_eq!(got, Err(reason), "{json}");
        }
    }
}
