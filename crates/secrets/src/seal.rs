//! Free text sealed under a per-subject data key (crypto-shredding).
//!
//! Events are never rewritten, yet the AVG lets a person have their data erased. So free text
//! about a child is stored sealed under a key of that child alone; erasing means destroying the
//! key, after which every copy of the text — in the log, in projections, in backups — is noise,
//! while the events themselves (dates, codes, the figures built on them) stay intact.
//!
//! A sealed text reads `sealed:v1:` followed by unpadded base64url of `nonce || ciphertext`
//! (XChaCha20-Poly1305, a random 24-byte nonce, a 16-byte tag). The associated data is a label
//! and the subject key, so a sealed text copied into another child's trajectory does not open
//! there, even if both keys were somehow the same.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;

/// What every sealed text begins with; the version lets a later scheme live beside this one.
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// Binds the ciphertext to its purpose and version; NUL-terminated so the subject key that
/// follows cannot be read as part of the label.
const ASSOCIATED_LABEL: &[u8] = b"jeugdpad/free-text/v1\0";

/// XChaCha20's nonce: long enough (192 bits) that random nonces never repeat in practice, so no
/// counter has to be kept per key.
const NONCE_LEN: usize = 24;
/// Poly1305's tag.
const TAG_LEN: usize = 16;

/// The key that seals one subject's free text. Destroying it is erasing the text.
///
/// Not `Clone`, and `Debug` prints `DataKey(..)`.
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        DataKey(bytes)
    }

    /// A key read back from the key store (or fixed, in tests).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(bytes)
    }

    /// The raw key, for writing it to the key store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Why a sealed text could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The text does not begin with [`SEALED_PREFIX`].
    #[error("this text is not sealed")]
    NotSealed,
    /// Not valid base64url, too short to hold a nonce and a tag, or not UTF-8 once opened.
    #[error("the sealed text is damaged")]
    Malformed,
    /// The tag did not verify. The cipher cannot tell why, and neither can we.
    #[error(
        "the sealed text cannot be opened: the key does not fit, the text belongs to another \
         subject, or it was changed"
    )]
    Unreadable,
}

/// Seals `plaintext` for the subject `subject_key` under `key`. Two seals of the same text
/// differ (fresh nonce each time). The result is exactly
/// [`sealed_len_bound`]`(plaintext.len())` bytes long, all ASCII.
///
/// # Panics
///
/// Only if `plaintext` is longer than XChaCha20 can encrypt (256 GiB).
pub fn seal(key: &DataKey, subject_key: &str, plaintext: &str) -> String {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&key.0));
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let aad = associated_data(subject_key);
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext.as_bytes(),
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any text under 256 GiB");
    let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ciphertext);
    format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(blob))
}

/// Opens a text made by [`seal`] with the same key and subject key.
pub fn open(key: &DataKey, subject_key: &str, sealed: &str) -> Result<String, SealError> {
    let encoded = sealed
        .strip_prefix(SEALED_PREFIX)
        .ok_or(SealError::NotSealed)?;
    let blob = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| SealError::Malformed)?;
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&key.0));
    let aad = associated_data(subject_key);
    let plaintext = cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| SealError::Unreadable)?;
    String::from_utf8(plaintext).map_err(|_| SealError::Malformed)
}

/// Whether `text` is (or claims to be) sealed: a prefix check, no decryption.
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

/// The length in bytes of the sealed form of a plaintext of `plaintext_bytes` bytes (UTF-8
/// bytes, not characters). Exact, not just an upper bound: the prefix, then unpadded base64 of
/// nonce, ciphertext (as long as the plaintext) and tag.
///
/// The domain limits free text in characters, and a character is up to 4 bytes in UTF-8, so a
/// limit of 1000 characters needs room for `sealed_len_bound(4000)` = 5397 bytes once sealed.
pub const fn sealed_len_bound(plaintext_bytes: usize) -> usize {
    let blob = plaintext_bytes.saturating_add(NONCE_LEN + TAG_LEN);
    // Unpadded base64: ⌈4·blob / 3⌉, computed without overflowing for large inputs.
    let tail = match blob % 3 {
        0 => 0,
        1 => 2,
        _ => 3,
    };
    let encoded = (blob / 3).saturating_mul(4).saturating_add(tail);
    encoded.saturating_add(SEALED_PREFIX.len())
}

fn associated_data(subject_key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(ASSOCIATED_LABEL.len() + subject_key.len());
    aad.extend_from_slice(ASSOCIATED_LABEL);
    aad.extend_from_slice(subject_key.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUBJECT: &str = "p-7485f7fcdd33fa62ece4154eefc6e09ce7259bd2";
    const OTHER_SUBJECT: &str = "p-0000000000000000000000000000000000000000";

    fn key(byte: u8) -> DataKey {
        DataKey::from_bytes([byte; 32])
    }

    #[track_caller]
    fn round_trip(text: &str) {
        let sealed = seal(&key(1), SUBJECT, text);
        assert!(is_sealed(&sealed));
        assert!(sealed.is_ascii());
        assert_eq!(sealed.len(), sealed_len_bound(text.len()));
        assert_eq!(open(&key(1), SUBJECT, &sealed).as_deref(), Ok(text));
    }

    #[test]
    fn round_trips() {
        round_trip("");
        round_trip("Gesprek met moeder en school; vervolgafspraak over drie weken.");
        round_trip("Zoë’s ’s-Hertogenbosch — 😀 中文 \u{0}");
        // The domain's limit: 1000 characters of four bytes each.
        let widest = "😀".repeat(1000);
        assert_eq!(widest.len(), 4000);
        round_trip(&widest);
    }

    #[test]
    fn the_bound_for_a_thousand_wide_characters() {
        assert_eq!(sealed_len_bound(4000), 5397);
        assert_eq!(sealed_len_bound(0), SEALED_PREFIX.len() + 54);
        assert_eq!(sealed_len_bound(usize::MAX), usize::MAX);
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = seal(&key(1), SUBJECT, "vertrouwelijk");
        assert_eq!(open(&key(2), SUBJECT, &sealed), Err(SealError::Unreadable));
    }

    #[test]
    fn another_subject_fails() {
        let sealed = seal(&key(1), SUBJECT, "vertrouwelijk");
        assert_eq!(
            open(&key(1), OTHER_SUBJECT, &sealed),
            Err(SealError::Unreadable)
        );
        assert_eq!(open(&key(1), "", &sealed), Err(SealError::Unreadable));
    }

    #[test]
    fn tampering_anywhere_fails() {
        let sealed = seal(&key(1), SUBJECT, "vertrouwelijk");
        let blob = URL_SAFE_NO_PAD
            .decode(&sealed[SEALED_PREFIX.len()..])
            .expect("base64");
        for i in 0..blob.len() {
            let mut tampered = blob.clone();
            tampered[i] ^= 0x01;
            let text = format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(&tampered));
            assert_eq!(
                open(&key(1), SUBJECT, &text),
                Err(SealError::Unreadable),
                "byte {i}"
            );
        }
        // Cut short or lengthened.
        let mut shorter = blob.clone();
        shorter.pop();
        let mut longer = blob.clone();
        longer.push(0);
        for changed in [shorter, longer] {
            let text = format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(&changed));
            assert_eq!(open(&key(1), SUBJECT, &text), Err(SealError::Unreadable));
        }
    }

    #[test]
    fn two_seals_of_the_same_text_differ() {
        let a = seal(&key(1), SUBJECT, "vertrouwelijk");
        let b = seal(&key(1), SUBJECT, "vertrouwelijk");
        assert_ne!(a, b);
        assert_eq!(open(&key(1), SUBJECT, &a), open(&key(1), SUBJECT, &b));
    }

    #[test]
    fn malformed_and_unsealed_texts() {
        assert_eq!(
            open(&key(1), SUBJECT, "gewone tekst"),
            Err(SealError::NotSealed)
        );
        assert_eq!(
            open(&key(1), SUBJECT, "sealed:v2:AAAA"),
            Err(SealError::NotSealed)
        );
        assert!(!is_sealed("gewone tekst"));
        assert!(is_sealed("sealed:v1:"));
        for body in ["", "AAAA", "!!!!", "AAAA=", &"A".repeat(53)] {
            let text = format!("{SEALED_PREFIX}{body}");
            assert_eq!(
                open(&key(1), SUBJECT, &text),
                Err(SealError::Malformed),
                "{body:?}"
            );
        }
    }

    #[test]
    fn non_utf8_plaintext_is_malformed() {
        // Only someone holding the key can make this; still, it must not panic or pass.
        let cipher = XChaCha20Poly1305::new(Key::from_slice(key(1).as_bytes()));
        let nonce = [9u8; NONCE_LEN];
        let aad = associated_data(SUBJECT);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &[0xff, 0xfe],
                    aad: &aad,
                },
            )
            .expect("encrypt");
        let text = format!(
            "{SEALED_PREFIX}{}",
            URL_SAFE_NO_PAD.encode([&nonce[..], &ciphertext].concat())
        );
        assert_eq!(open(&key(1), SUBJECT, &text), Err(SealError::Malformed));
    }

    #[test]
    fn debug_of_a_key_is_redacted() {
        assert_eq!(format!("{:?}", key(0xab)), "DataKey(..)");
        assert_ne!(
            DataKey::generate().as_bytes(),
            DataKey::generate().as_bytes()
        );
    }

    proptest! {
        #[test]
        fn any_text_round_trips(text in any::<String>(), subject in "p-[0-9a-f]{40}") {
            let k = key(3);
            let sealed = seal(&k, &subject, &text);
            prop_assert_eq!(sealed.len(), sealed_len_bound(text.len()));
            prop_assert_eq!(open(&k, &subject, &sealed), Ok(text));
        }
    }
}
