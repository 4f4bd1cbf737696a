//! The key material of one Jeugdpad installation.
//!
//! Jeugdpad records youth-care pathways about children, so the few things that could tie a record
//! to a person live here, in one small crate that does nothing else. An installation holds three
//! kinds of secret, and each fails differently:
//!
//! 1. **The install secret** ([`InstallSecret`], one 32-byte file per installation). It keys the
//!    HMAC that turns a BSN (burgerservicenummer) into a `subject_key` pseudonym
//!    ([`subject_key`]). There are fewer than 10^9 BSNs, so an unkeyed hash could be reversed by
//!    trying them all; the key is what makes the pseudonym a pseudonym.
//!    - *Lost:* the same BSN now yields a different subject key, so existing trajectories can no
//!      longer be found by BSN. Nothing already stored becomes unreadable and every figure stays
//!      the same, but the link from a child to their history is gone. Back the file up, apart
//!      from the event store.
//!    - *Leaked:* whoever also holds the data can re-identify every pseudonym by hashing all
//!      valid BSNs. Treat it like a database password: mode 0600, never in a log or a backup of
//!      the data.
//! 2. **API token hashes** ([`TokenHash`]). The server keeps only the SHA-256 of each token it
//!    minted ([`mint`]); the token text is shown to the operator once.
//!    - *Lost:* every client must be given a new token; no data is lost.
//!    - *Leaked:* harmless on its own: a token holds 256 random bits, so the hash cannot be
//!      turned back into a token. A leaked *token text* is revoked by its [`TokenId`].
//! 3. **Per-subject data keys** ([`DataKey`]). Free text about a child is sealed ([`seal`]) under
//!    a key of that child alone, so honouring an erasure request (AVG art. 17) means destroying
//!    one key (crypto-shredding): the text becomes unreadable everywhere, backups included, while
//!    the events and the figures built on them stay as they were.
//!    - *Lost:* that child's free text is unreadable for good — exactly what erasure does on
//!      purpose. Losing the key store therefore loses all free text; back it up.
//!    - *Leaked:* that child's free text can be read by whoever holds the sealed events.
//!
//! This crate does no logging and exposes no way to print a secret: `Debug` of every secret type
//! is redacted, and errors about a BSN never repeat its digits.
//!
//! Error messages (the `Display` of every error type here) are plain sentences in the same
//! language as every other error of the API, because consultants and operators read them.

mod bsn;
mod seal;
mod secret;
mod token;

pub use bsn::{subject_key, Bsn, BsnError, SUBJECT_KEY_PREFIX};
pub use seal::{is_sealed, open, seal, sealed_len_bound, DataKey, SealError, SEALED_PREFIX};
pub use secret::{InstallSecret, SecretError};
pub use token::{mint, parse_presented, MintedToken, TokenError, TokenHash, TokenId, TOKEN_PREFIX};
