//! The BSN (burgerservicenummer, citizen service number) and the pseudonym made from it.
//!
//! A BSN may only pass through memory on its way to [`subject_key`]: it is never stored, logged,
//! or printed. The types here are shaped so that mistakes are hard: [`Bsn`] has no `Display`, no
//! `Serialize` and no `Clone`, its `Debug` is masked, and [`BsnError`] never repeats the digits it
//! rejected (an error message ends up in logs and on screens far more easily than a value does).
//!
//! No zeroize-on-drop: doing it reliably needs volatile writes (the `zeroize` crate or `unsafe`),
//! and the workspace has neither. The digits live only as long as one request.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::InstallSecret;

/// Every subject key starts with this, so a pseudonym can never be mistaken for (or validated
/// as) a BSN, whatever its remaining characters are.
pub const SUBJECT_KEY_PREFIX: &str = "p-";

/// Domain separation: the install secret could one day key another HMAC too; this label (with
/// its version and a terminating NUL, so no label is a prefix of another) keeps the two apart.
const SUBJECT_KEY_LABEL: &[u8] = b"jeugdpad/subject-key/v1\0";

/// How many bytes of the HMAC-SHA-256 tag the subject key keeps.
const SUBJECT_KEY_BYTES: usize = 20;

/// A citizen service number that passed the elfproef.
///
/// Holds the nine ASCII digits, with a leading zero restored if it was left off. The only thing
/// you can do with one is make a [`subject_key`] from it.
pub struct Bsn([u8; 9]);

/// Why a text is not a BSN. The messages never contain the digits that were offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BsnError {
    /// Nothing but separators (or nothing at all) was given.
    #[error("no BSN was given")]
    Empty,
    /// Something other than digits, spaces, dots or dashes.
    #[error("this is not a valid BSN: it may contain only digits")]
    NotDigits,
    /// Not nine digits, nor eight plain ones (see [`Bsn::parse`] for why eight digits with
    /// separators count as too few).
    #[error(
        "this is not a valid BSN: a BSN has nine digits (or eight, without spaces, dots or dashes, \
         when its leading zero was left off)"
    )]
    Length,
    /// `000000000` passes the elfproef but is never issued.
    #[error("this is not a valid BSN: it is all zeros")]
    AllZeros,
    /// The weighted sum is not a multiple of eleven: most often a typing error.
    #[error(
        "this is not a valid BSN: it fails the elfproef (eleven test); check for a typing error"
    )]
    Elfproef,
}

impl BsnError {
    /// The mistake in Dutch, for the consultant's screen (never repeating the digits).
    pub fn message_nl(self) -> &'static str {
        match self {
            BsnError::Empty => "er is geen BSN ingevuld",
            BsnError::NotDigits => "dit is geen geldig BSN: een BSN bestaat alleen uit cijfers",
            BsnError::Length => {
                "dit is geen geldig BSN: een BSN heeft negen cijfers (of acht zonder spaties, \
                 punten of streepjes, als de voorloopnul is weggevallen)"
            }
            BsnError::AllZeros => "dit is geen geldig BSN: het bestaat alleen uit nullen",
            BsnError::Elfproef => {
                "dit is geen geldig BSN: het voldoet niet aan de elfproef; controleer of er een \
                 cijfer verkeerd is getypt"
            }
        }
    }

    /// A stable slug per kind of mistake, for clients that react to it (the API sends it as
    /// `extensions.reason`): `bsn_empty`, `bsn_not_digits` and `bsn_length` mean the number is
    /// written wrongly, `bsn_all_zeros` and `bsn_elfproef` that it is written correctly but is
    /// not a BSN (most often a mistyped digit).
    pub fn reason(self) -> &'static str {
        match self {
            BsnError::Empty => "bsn_empty",
            BsnError::NotDigits => "bsn_not_digits",
            BsnError::Length => "bsn_length",
            BsnError::AllZeros => "bsn_all_zeros",
            BsnError::Elfproef => "bsn_elfproef",
        }
    }
}

impl Bsn {
    /// Checks `input` and returns the BSN it spells.
    ///
    /// Spaces (any whitespace), dots and dashes are ignored, so `"1112.22.333"` and
    /// `" 111 222 333 "` are accepted. What remains must be nine ASCII digits, or eight: a BSN
    /// that begins with 0 often loses that zero on its way through a spreadsheet, so eight digits
    /// are taken to be such a number and a `0` is put back in front before the elfproef.
    ///
    /// Eight digits count as a lost zero only when written as one plain run (whitespace around
    /// it allowed). A spreadsheet or a numeric field that drops the zero also drops any
    /// grouping, so eight digits *with* spaces, dots or dashes between them (`"1234 5678"`) were
    /// typed by hand, and one of them is missing: that is a [`BsnError::Length`] (written
    /// wrongly), not an elfproef failure of a number the writer never meant.
    ///
    /// The elfproef: with digits d1..d9, `9·d1 + 8·d2 + 7·d3 + 6·d4 + 5·d5 + 4·d6 + 3·d7 + 2·d8
    /// − 1·d9` must be a multiple of 11; all zeros is refused although it passes.
    pub fn parse(input: &str) -> Result<Bsn, BsnError> {
        let mut digits = [b'0'; 9];
        let mut count = 0usize;
        let mut grouped = false;
        for c in input.trim().chars() {
            if c.is_whitespace() || c == '.' || c == '-' {
                grouped = true;
                continue;
            }
            if !c.is_ascii_digit() {
                return Err(BsnError::NotDigits);
            }
            // Keep counting past nine so "too long" is told apart from "letters further on".
            if count < digits.len() {
                digits[count] = c as u8;
            }
            count += 1;
        }
        match count {
            0 => return Err(BsnError::Empty),
            9 => {}
            8 if !grouped => {
                digits.copy_within(0..8, 1);
                digits[0] = b'0';
            }
            _ => return Err(BsnError::Length),
        }
        if digits.iter().all(|&d| d == b'0') {
            return Err(BsnError::AllZeros);
        }
        if !passes_elfproef(&digits) {
            return Err(BsnError::Elfproef);
        }
        Ok(Bsn(digits))
    }
}

fn passes_elfproef(digits: &[u8; 9]) -> bool {
    let weighted: i32 = digits
        .iter()
        .zip([9, 8, 7, 6, 5, 4, 3, 2, -1])
        .map(|(&d, weight)| i32::from(d - b'0') * weight)
        .sum();
    weighted.rem_euclid(11) == 0
}

impl fmt::Debug for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bsn(*********)")
    }
}

/// The pseudonym of the person with this BSN in this installation: `"p-"` and 40 lowercase hex
/// characters (42 in all).
///
/// It is HMAC-SHA-256, keyed with the install secret, over the label
/// `b"jeugdpad/subject-key/v1\0"` and the nine digits. Keyed, because the BSN space is tiny
/// (about 10^9 numbers, under 10^8 of which pass the elfproef): an unkeyed hash would be reversed
/// by hashing them all in seconds. Deterministic, because the same child must find the same
/// trajectories again.
///
/// Truncating the 256-bit tag to 160 bits is safe: the chance that any two of n subjects share a
/// key is about n² / 2^161. Even for 10^8 subjects — more than every valid BSN there is — that is
/// about 3·10^-33. Guessing a BSN from a key still means knowing the secret; a shorter key only
/// keeps URLs and exports readable.
///
/// The prefix makes sure a key never looks like a BSN (it is never eight or nine digits), so a
/// validator or a log scrubber that hunts for BSNs does not flag pseudonyms.
pub fn subject_key(secret: &InstallSecret, bsn: &Bsn) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA-256 accepts a key of any length");
    mac.update(SUBJECT_KEY_LABEL);
    mac.update(&bsn.0);
    let tag = mac.finalize().into_bytes();
    format!(
        "{SUBJECT_KEY_PREFIX}{}",
        hex::encode(&tag[..SUBJECT_KEY_BYTES])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic numbers that pass the elfproef; none belongs to a real person we know of.
    const VALID: &[&str] = &["111222333", "123456782", "012345611"];

    #[track_caller]
    fn check(input: &str, expected: Result<&str, BsnError>) {
        let got = Bsn::parse(input).map(|bsn| String::from_utf8_lossy(&bsn.0).into_owned());
        assert_eq!(got.as_deref().map_err(|e| *e), expected, "input {input:?}");
    }

    #[test]
    fn elfproef_table() {
        check("111222333", Ok("111222333"));
        check("123456782", Ok("123456782"));
        check("012345611", Ok("012345611"));
        // Wrong check digit: one off either way.
        check("111222334", Err(BsnError::Elfproef));
        check("123456781", Err(BsnError::Elfproef));
        // Two digits swapped, the typing error the elfproef is made to catch.
        check("121222333", Err(BsnError::Elfproef));
        // Eight digits: the leading zero was dropped.
        check("12345611", Ok("012345611"));
        check("12345612", Err(BsnError::Elfproef));
        check(" 12345611\n", Ok("012345611"));
        // Eight digits with separators were typed by hand and miss one: written wrongly, not a
        // failed elfproef (even when the zero-restored number would pass).
        check("1234 5678", Err(BsnError::Length));
        check("1234 5611", Err(BsnError::Length));
        check("123.45.611", Err(BsnError::Length));
        check("12-345-611", Err(BsnError::Length));
        // Formatting.
        check("1112.22.333", Ok("111222333"));
        check(" 111 222 333 ", Ok("111222333"));
        check("123-456-782", Ok("123456782"));
        check("\t123456782\n", Ok("123456782"));
        // Not digits.
        check("11122233a", Err(BsnError::NotDigits));
        check("abcdefghi", Err(BsnError::NotDigits));
        check("111222333x", Err(BsnError::NotDigits));
        check("١١١٢٢٢٣٣٣", Err(BsnError::NotDigits));
        check("+31111222333", Err(BsnError::NotDigits));
        // Length.
        check("1112223330", Err(BsnError::Length));
        check("1234567", Err(BsnError::Length));
        check("1", Err(BsnError::Length));
        check("", Err(BsnError::Empty));
        check(" .- ", Err(BsnError::Empty));
        // All zeros passes the arithmetic but is refused.
        check("000000000", Err(BsnError::AllZeros));
        check("00000000", Err(BsnError::AllZeros));
        check("000.000.000", Err(BsnError::AllZeros));
    }

    #[test]
    fn errors_and_debug_never_show_digits() {
        let inputs = [
            "111222334",
            "1112223330",
            "11122233a",
            "1234567",
            "000000000",
            "",
        ];
        for input in inputs {
            let error = Bsn::parse(input).expect_err(input);
            for text in [
                error.to_string(),
                format!("{error:?}"),
                format!("{error:#?}"),
            ] {
                assert!(
                    !text.chars().any(|c| c.is_ascii_digit()),
                    "{text:?} shows a digit"
                );
            }
        }
        for input in VALID {
            let bsn = Bsn::parse(input).expect(input);
            assert_eq!(format!("{bsn:?}"), "Bsn(*********)");
            assert_eq!(format!("{bsn:#?}"), "Bsn(*********)");
        }
    }

    #[test]
    fn every_message_names_the_bsn_without_digits() {
        let all = [
            BsnError::Empty,
            BsnError::NotDigits,
            BsnError::Length,
            BsnError::AllZeros,
            BsnError::Elfproef,
        ];
        let mut reasons = std::collections::BTreeSet::new();
        for error in all {
            let text = error.to_string();
            assert!(text.contains("BSN"), "{text}");
            assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
            assert!(error.reason().starts_with("bsn_"), "{error:?}");
            reasons.insert(error.reason());
        }
        assert_eq!(reasons.len(), all.len(), "one slug per kind of mistake");
    }

    fn key(secret: [u8; 32], bsn: &str) -> String {
        let bsn = Bsn::parse(bsn).expect("a valid synthetic BSN");
        subject_key(&InstallSecret::from_bytes(secret), &bsn)
    }

    #[test]
    fn subject_key_is_deterministic_per_secret() {
        assert_eq!(key([7; 32], "111222333"), key([7; 32], "111222333"));
        // The same number written differently is the same person.
        assert_eq!(key([7; 32], "111222333"), key([7; 32], "1112.22.333"));
        assert_eq!(key([7; 32], "012345611"), key([7; 32], "12345611"));
    }

    #[test]
    fn subject_key_differs_across_secrets_and_bsns() {
        assert_ne!(key([7; 32], "111222333"), key([8; 32], "111222333"));
        assert_ne!(key([7; 32], "111222333"), key([7; 32], "123456782"));
    }

    #[test]
    fn subject_key_format() {
        for input in VALID {
            let k = key([42; 32], input);
            assert_eq!(k.len(), 42, "{k}");
            let hex = k.strip_prefix("p-").expect("the prefix");
            assert!(hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert!(Bsn::parse(&k).is_err());
            assert!(!k.contains(&input[..]), "{k} contains the BSN");
        }
    }

    #[test]
    fn subject_key_matches_a_known_value() {
        // Pins the construction (label, digits, truncation) so a refactor cannot silently move
        // every child to a new pseudonym. Computed independently with Python's hmac module.
        assert_eq!(key([0; 32], "111222333"), EXPECTED_ZERO_SECRET_111222333);
    }

    const EXPECTED_ZERO_SECRET_111222333: &str = "p-7485f7fcdd33fa62ece4154eefc6e09ce7259bd2";
}
