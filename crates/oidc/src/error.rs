//! Why a token was refused, or why the verifier could not be set up.

/// Everything that can go wrong. The server answers UNAUTHENTICATED to each of them and logs
/// [`OidcError::reason`]; the messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    // --- The token ---
    /// Not a compact JWT, or its header or payload is not base64url JSON.
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    /// `alg` is missing or is not RS256/ES256 (e.g. `none` or `HS256`).
    #[error("the token is signed with {alg:?}; only RS256 and ES256 are accepted")]
    UnsupportedAlgorithm {
        /// The header's `alg`, shortened if long.
        alg: String,
    },
    /// The header names no key.
    #[error("the token header carries no key id (kid)")]
    MissingKeyId,
    /// No key with this `kid` in the JWKS, even after a refetch where allowed.
    #[error("the token names key {kid:?}, which is not in the identity provider's key set")]
    UnknownKey {
        /// The header's `kid`, shortened if long.
        kid: String,
    },
    /// The `kid` exists but belongs to the other algorithm (an RSA key with `ES256` or vice versa).
    #[error("the token's algorithm {alg} does not fit key {kid:?}")]
    AlgorithmMismatch {
        /// The header's `alg`.
        alg: String,
        /// The header's `kid`, shortened if long.
        kid: String,
    },
    /// The signature does not verify under the named key.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// `exp` lies further in the past than the leeway allows.
    #[error("the token has expired")]
    Expired,
    /// `nbf` lies further in the future than the leeway allows.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another identity provider")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token was issued for another application (audience)")]
    WrongAudience,
    /// A required claim (`exp`, `iss`, `aud` or `sub`) is absent or empty.
    #[error("the token lacks the required claim {0:?}")]
    MissingClaim(String),
    /// A claim is present with the wrong type (e.g. `nbf` that is not a number).
    #[error("the token's claim {0:?} has the wrong type")]
    InvalidClaim(String),

    // --- Setting up or refreshing the key set ---
    /// The configuration cannot work (empty issuer or audience, unparsable URL).
    #[error("the OIDC configuration is invalid: {0}")]
    InvalidConfig(String),
    /// A JWKS URL that is neither `https://` nor `http://` to a loopback address.
    #[error("the JWKS URL {0:?} must use https (plain http only to a loopback address)")]
    InsecureJwksUrl(String),
    /// The JWKS file or URL could not be read.
    #[error("the identity provider's key set could not be read: {0}")]
    JwksUnavailable(String),
    /// The JWKS is not a JSON object with a `keys` array.
    #[error("the identity provider's key set is not a valid JWK Set: {0}")]
    InvalidJwks(String),
    /// The JWKS holds no RS256 or ES256 signing key with a `kid`.
    #[error("the identity provider's key set holds no usable RS256 or ES256 signing key")]
    EmptyKeySet,
}

impl OidcError {
    /// A stable slug for logs and metrics, e.g. `expired` or `unknown_key`.
    pub fn reason(&self) -> &'static str {
        match self {
            OidcError::Malformed => "malformed",
            OidcError::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            OidcError::MissingKeyId => "missing_kid",
            OidcError::UnknownKey { .. } => "unknown_key",
            OidcError::AlgorithmMismatch { .. } => "algorithm_mismatch",
            OidcError::BadSignature => "bad_signature",
            OidcError::Expired => "expired",
            OidcError::NotYetValid => "not_yet_valid",
            OidcError::WrongIssuer => "wrong_issuer",
            OidcError::WrongAudience => "wrong_audience",
            OidcError::MissingClaim(_) => "missing_claim",
            OidcError::InvalidClaim(_) => "invalid_claim",
            OidcError::InvalidConfig(_) => "invalid_config",
            OidcError::InsecureJwksUrl(_) => "insecure_jwks_url",
            OidcError::JwksUnavailable(_) => "jwks_unavailable",
            OidcError::InvalidJwks(_) => "invalid_jwks",
            OidcError::EmptyKeySet => "empty_key_set",
        }
    }
}

/// A header value fit for a log line: attacker-chosen, so kept short and printable.
pub(crate) fn for_log(value: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = value
        .chars()
        .take(MAX)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    out
}
