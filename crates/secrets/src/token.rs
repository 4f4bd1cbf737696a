//! API tokens that an operator mints for a client application.
//!
//! A token reads `jpt_<id>_<secret>`: `jpt_` so a leaked token is recognisable (secret scanners,
//! log scrubbers), a 12-hex-character [`TokenId`] that names it in `token list` and
//! `token revoke` and lets the server find its record without a search over secrets, and 32
//! random bytes in unpadded base64url. The server stores only the SHA-256 of the whole text
//! ([`TokenHash`]); the text itself is shown once, at minting.
//!
//! A plain hash (no salt, no slow KDF) is enough because the token is 256 random bits, not a
//! password a person chose: there is nothing to guess.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every token begins with this.
pub const TOKEN_PREFIX: &str = "jpt_";

const ID_BYTES: usize = 6;
const ID_LEN: usize = ID_BYTES * 2;
const SECRET_BYTES: usize = 32;
/// Unpadded base64 of 32 bytes: ⌈32·4/3⌉.
const SECRET_LEN: usize = 43;
/// `jpt_` + id + `_` + secret.
const TOKEN_LEN: usize = TOKEN_PREFIX.len() + ID_LEN + 1 + SECRET_LEN;

/// Why a token id or token hash was refused (when read from storage, configuration or a command
/// line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not 12 lowercase hexadecimal characters.
    #[error("this is not a token id: a token id is twelve characters 0-9 and a-f")]
    InvalidId,
    /// Not 64 lowercase hexadecimal characters.
    #[error("this is not a token hash: a token hash is sixty-four characters 0-9 and a-f")]
    InvalidHash,
}

/// The public name of a token: 12 lowercase hex characters (48 random bits).
///
/// Not secret — it is printed in lists and logs and used to revoke the token — and not enough to
/// use the token. 48 bits make an accidental clash between the tokens of one installation
/// negligible; the server should still refuse to store a second token with an id it already has.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenId(String);

impl TokenId {
    /// Accepts exactly 12 lowercase hexadecimal characters.
    pub fn parse(text: &str) -> Result<TokenId, TokenError> {
        if text.len() == ID_LEN && is_lower_hex(text.as_bytes()) {
            Ok(TokenId(text.to_owned()))
        } else {
            Err(TokenError::InvalidId)
        }
    }

    /// The id as text, e.g. `3f9a0c12d4e5`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TokenId {
    type Err = TokenError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TokenId::parse(text)
    }
}

impl TryFrom<String> for TokenId {
    type Error = TokenError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        TokenId::parse(&text)
    }
}

impl From<TokenId> for String {
    fn from(id: TokenId) -> String {
        id.0
    }
}

/// SHA-256 of a token's full text: what the server stores instead of the token.
///
/// Equality (`==` and [`TokenHash::matches`]) runs in constant time, so comparing a presented
/// token does not leak through timing how much of its hash was right. Serialised as 64 lowercase
/// hex characters.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token_text`, exactly as given (no trimming).
    pub fn of(token_text: &str) -> TokenHash {
        TokenHash(Sha256::digest(token_text.as_bytes()).into())
    }

    /// Whether `presented` is the token this hash was made from. Constant time in the hash
    /// comparison; look the record up by [`parse_presented`] first.
    pub fn matches(&self, presented: &str) -> bool {
        bool::from(TokenHash::of(presented).0.ct_eq(&self.0))
    }

    /// 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Accepts exactly 64 lowercase hex characters, as [`TokenHash::to_hex`] writes them.
    pub fn from_hex(text: &str) -> Result<TokenHash, TokenError> {
        if text.len() != 64 || !is_lower_hex(text.as_bytes()) {
            return Err(TokenError::InvalidHash);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| TokenError::InvalidHash)?;
        Ok(TokenHash(bytes))
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for TokenHash {}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

impl TryFrom<String> for TokenHash {
    type Error = TokenError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        TokenHash::from_hex(&text)
    }
}

impl From<TokenHash> for String {
    fn from(hash: TokenHash) -> String {
        hash.to_hex()
    }
}

/// A token just made: show `secret` to the operator once, store `id` and `hash`.
pub struct MintedToken {
    /// The token's public name.
    pub id: TokenId,
    /// The full token text, `jpt_<id>_<secret>`. Never store or log it.
    pub secret: String,
    /// SHA-256 of `secret`: what the server keeps.
    pub hash: TokenHash,
}

impl fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedToken")
            .field("id", &self.id)
            .field("secret", &"..")
            .field("hash", &self.hash)
            .finish()
    }
}

/// Makes a new token from the operating system's random source.
pub fn mint() -> MintedToken {
    let mut id_bytes = [0u8; ID_BYTES];
    let mut secret_bytes = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut id_bytes);
    OsRng.fill_bytes(&mut secret_bytes);
    let id = TokenId(hex::encode(id_bytes));
    let secret = format!(
        "{TOKEN_PREFIX}{id}_{}",
        URL_SAFE_NO_PAD.encode(secret_bytes)
    );
    let hash = TokenHash::of(&secret);
    MintedToken { id, secret, hash }
}

/// The id of a well-formed token, or `None`.
///
/// Only the shape is checked (prefix, id, separator, 43 characters of canonical base64url that
/// decode to 32 bytes); whether the token is real is for [`TokenHash::matches`] against the
/// record stored under the id. Note the secret part may itself contain `_` and `-`. The text is
/// taken as is: strip `Bearer ` before calling, but not whitespace a client might have added.
pub fn parse_presented(text: &str) -> Option<TokenId> {
    if text.len() != TOKEN_LEN {
        return None;
    }
    let rest = text.strip_prefix(TOKEN_PREFIX)?;
    // Every byte checked below is ASCII, so the splits fall on character boundaries; `get`
    // keeps a non-ASCII text from panicking before it is refused.
    let id = rest.get(..ID_LEN)?;
    let secret = rest.get(ID_LEN..)?.strip_prefix('_')?;
    let id = TokenId::parse(id).ok()?;
    let decoded = URL_SAFE_NO_PAD.decode(secret).ok()?;
    (decoded.len() == SECRET_BYTES).then_some(id)
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn minted_tokens_have_the_documented_shape() {
        let token = mint();
        assert_eq!(token.secret.len(), TOKEN_LEN);
        assert_eq!(token.secret.len(), 60);
        let expected_start = format!("jpt_{}_", token.id);
        assert!(
            token.secret.starts_with(&expected_start),
            "{}",
            token.secret
        );
        assert_eq!(parse_presented(&token.secret), Some(token.id.clone()));
        assert_eq!(token.hash, TokenHash::of(&token.secret));
    }

    #[test]
    fn minted_tokens_are_unique() {
        let tokens: Vec<_> = (0..200).map(|_| mint()).collect();
        let ids: HashSet<_> = tokens.iter().map(|t| t.id.clone()).collect();
        let secrets: HashSet<_> = tokens.iter().map(|t| t.secret.clone()).collect();
        let hashes: HashSet<_> = tokens.iter().map(|t| t.hash.to_hex()).collect();
        assert_eq!((ids.len(), secrets.len(), hashes.len()), (200, 200, 200));
    }

    #[test]
    fn debug_of_a_minted_token_hides_the_secret() {
        let token = mint();
        let text = format!("{token:?}");
        let secret_part = &token.secret[TOKEN_PREFIX.len() + ID_LEN + 1..];
        assert!(!text.contains(secret_part), "{text}");
        assert!(text.contains(token.id.as_str()), "{text}");
    }

    /// A fixed, well-formed token: id `0123456789ab`, secret 32 bytes of 0xfb (base64url `-_…`).
    fn fixed() -> String {
        format!("jpt_0123456789ab_{}", URL_SAFE_NO_PAD.encode([0xfb; 32]))
    }

    #[test]
    fn parse_presented_accepts_well_formed_tokens() {
        let token = fixed();
        assert!(token.contains('-') && token[17..].contains('_'), "{token}");
        assert_eq!(
            parse_presented(&token).map(String::from),
            Some("0123456789ab".to_owned())
        );
    }

    #[test]
    fn parse_presented_refuses_malformed_tokens() {
        let good = fixed();
        let secret = &good[17..];
        let bad = [
            String::new(),
            "jpt_".to_owned(),
            format!("JPT_0123456789ab_{secret}"),
            format!("jpx_0123456789ab_{secret}"),
            format!("jpt_0123456789AB_{secret}"), // upper-case id
            format!("jpt_0123456789ag_{secret}"), // not hex
            format!("jpt_0123456789a_{secret}A"), // short id
            format!("jpt_0123456789ab-{secret}"), // wrong separator
            format!("jpt_0123456789ab_{}", &secret[1..]), // short secret
            format!("{good}A"),                   // long secret
            format!(" {}", &good[1..]),
            format!("{}=", &good[..good.len() - 1]), // padding
            format!("jpt_0123456789ab_{}+", &secret[..42]), // standard, not url, alphabet
            // Last character with non-zero trailing bits: not canonical base64.
            format!("jpt_0123456789ab_{}B", &secret[..42]),
            format!("jpt_0123456789ab_{}é", &secret[..41]),
            format!("jpt_é123456789a_{secret}"),
            format!("Bearer {good}"),
        ];
        for text in bad {
            assert_eq!(parse_presented(&text), None, "{text:?}");
        }
    }

    #[test]
    fn hash_matches_only_the_exact_text() {
        let token = mint();
        assert!(token.hash.matches(&token.secret));
        let mut last_changed = token.secret.clone();
        let last = last_changed.pop().expect("non-empty");
        last_changed.push(if last == 'A' { 'B' } else { 'A' });
        let others = [
            last_changed,
            format!("{} ", token.secret),
            format!(" {}", token.secret),
            token.secret.to_uppercase(),
            token.secret[..token.secret.len() - 1].to_owned(),
            String::new(),
            mint().secret,
        ];
        for other in others {
            assert!(!token.hash.matches(&other), "{other:?}");
        }
    }

    #[test]
    fn token_hash_hex_round_trip() {
        let hash = mint().hash;
        let hex_text = hash.to_hex();
        assert_eq!(hex_text.len(), 64);
        assert_eq!(TokenHash::from_hex(&hex_text), Ok(hash));
        assert_eq!(
            TokenHash::from_hex(&hex_text.to_uppercase()),
            Err(TokenError::InvalidHash)
        );
        assert_eq!(
            TokenHash::from_hex(&hex_text[..62]),
            Err(TokenError::InvalidHash)
        );
        assert_eq!(TokenHash::from_hex(""), Err(TokenError::InvalidHash));
    }

    #[test]
    fn token_hash_of_known_text() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn serde_uses_strings_and_validates() {
        let token = mint();
        let json = serde_json::to_string(&(&token.id, &token.hash)).expect("serialise");
        assert_eq!(
            json,
            format!("[\"{}\",\"{}\"]", token.id, token.hash.to_hex())
        );
        let (id, hash): (TokenId, TokenHash) = serde_json::from_str(&json).expect("deserialise");
        assert_eq!((id, hash), (token.id, token.hash));
        assert!(serde_json::from_str::<TokenId>("\"0123456789AB\"").is_err());
        assert!(serde_json::from_str::<TokenId>("\"0123456789a\"").is_err());
        assert!(serde_json::from_str::<TokenHash>("\"00\"").is_err());
    }

    #[test]
    fn token_id_parse_display_and_from_str() {
        let id: TokenId = "0123456789ab".parse().expect("valid");
        assert_eq!(id.to_string(), "0123456789ab");
        assert_eq!(id.as_str(), "0123456789ab");
        for bad in [
            "",
            "0123456789a",
            "0123456789abc",
            "0123456789aB",
            "0123456789a_",
        ] {
            assert_eq!(TokenId::parse(bad), Err(TokenError::InvalidId), "{bad:?}");
        }
    }
}
