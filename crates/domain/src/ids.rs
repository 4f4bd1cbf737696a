//! Validated value types: identifiers and bounded texts.
//!
//! Each is a newtype that can only hold a valid value: it is built with `parse` (or `TryFrom`),
//! and deserialising goes through the same check, so a payload read back from the store or sent
//! by a client can never smuggle in, say, a BSN as a subject key.
//!
//! Error messages never repeat the rejected input: it may be personal data and errors get logged.

use std::fmt;

use uuid::Uuid;

/// Why a value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Empty (or only whitespace).
    #[error("{what} must not be empty")]
    Empty {
        /// The kind of value.
        what: &'static str,
    },
    /// Too long.
    #[error("{what} is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// The kind of value.
        what: &'static str,
        /// Its length in characters.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// Contains a control character (or, for identifiers, surrounding whitespace).
    #[error("{what} contains control characters or surrounding spaces")]
    NotPrintable {
        /// The kind of value.
        what: &'static str,
    },
    /// A subject key that looks like a BSN.
    #[error(
        "a subject key must be a pseudonym and this one looks like a BSN (8 or 9 digits); \
         Jeugdpad never stores a BSN: use the youth's pseudonymous subject key"
    )]
    LooksLikeBsn,
    /// A text with a number in it that could be a BSN (`crate::contains_bsn`): refused
    /// without repeating it, because a BSN may only enter through the `bsn` fields.
    #[error(
        "{what} contains a number that could be a BSN (nine digits that pass the elfproef); \
         Jeugdpad never stores a BSN: leave the number out, or give it in the BSN field"
    )]
    ContainsBsn {
        /// The kind of value.
        what: &'static str,
    },
    /// A team code that is not a slug.
    #[error("a team code may only contain lowercase letters, digits, '-' and '_'")]
    NotASlug,
    /// A product category that is not two digits.
    #[error("an iJw product category is exactly two digits, e.g. \"40\"")]
    NotAProductCategory,
    /// Free text that starts like sealed text but is not.
    #[error(
        "a reason may not start with '{SEALED_TEXT_PREFIX}'; that prefix marks encrypted text"
    )]
    ForgedSeal,
    /// Not a UUID.
    #[error("{what} is not a valid UUID")]
    NotAUuid {
        /// The kind of value.
        what: &'static str,
    },
}

/// Checks the rules every text value shares: its shape ([`check_shape`]) and no BSN inside.
fn check_text(
    what: &'static str,
    value: &str,
    max: usize,
    multiline: bool,
) -> Result<(), ValueError> {
    check_shape(what, value, max, multiline)?;
    refuse_bsn(what, value)
}

/// Refuses a text that holds a number that could be a BSN (SPEC §3: a BSN is never stored).
fn refuse_bsn(what: &'static str, value: &str) -> Result<(), ValueError> {
    if crate::bsn_like::contains_bsn(value) {
        return Err(ValueError::ContainsBsn { what });
    }
    Ok(())
}

/// Identifiers (`multiline == false`) must be printable on one line with no surrounding
/// whitespace; free texts may contain line breaks and tabs.
fn check_shape(
    what: &'static str,
    value: &str,
    max: usize,
    multiline: bool,
) -> Result<(), ValueError> {
    if value.trim().is_empty() {
        return Err(ValueError::Empty { what });
    }
    let len = value.chars().count();
    if len > max {
        return Err(ValueError::TooLong { what, len, max });
    }
    let allowed_control = |c: char| multiline && (c == '\n' || c == '\t' || c == '\r');
    let surrounding_space = !multiline && value.trim() != value;
    if surrounding_space || value.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Err(ValueError::NotPrintable { what });
    }
    Ok(())
}

/// Declares a validated string newtype with `parse`, `as_str`, `Display`, `TryFrom<String>` and
/// serde through the same validation.
///
/// The text is shared (`Arc<str>`): a clone costs no allocation, so the read models can keep one
/// copy of a team code, consultant or subject key however many trajectories name it.
macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// Validates and wraps a value.
            pub fn parse(value: impl Into<String>) -> Result<Self, ValueError> {
                let value: String = value.into();
                let check: fn(&str) -> Result<(), ValueError> = $check;
                check(&value)?;
                Ok($name(value.into()))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(value: String) -> Result<Self, ValueError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// Subjectsleutel: the pseudonym that ties the trajectories of one youth together.
    ///
    /// Never a BSN (SPEC §3): anything that is 8 or 9 digits once spaces, dots and dashes are
    /// removed is refused, so a BSN typed into the wrong field cannot end up in the store. The API
    /// turns a real BSN into a key with a keyed hash before it reaches the domain.
    SubjectKey,
    |value| {
        check_shape("a subject key", value, 128, false)?;
        let digits: Vec<char> = value.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
        if (8..=9).contains(&digits.len()) && digits.iter().all(char::is_ascii_digit) {
            return Err(ValueError::LooksLikeBsn);
        }
        if is_keyed_pseudonym(value) {
            return Ok(());
        }
        refuse_bsn("a subject key", value)
    }
);

impl SubjectKey {
    /// Whether this key was made from a BSN with the installation secret (the `p-` shape of the
    /// keyed hash): without that secret the youth is no longer found by BSN. Keys given as they
    /// are (imported, synthetic `sk-synth-…`) need no secret.
    pub fn is_from_bsn(&self) -> bool {
        is_keyed_pseudonym(self.as_str())
    }
}

/// Whether `value` has the exact shape of the pseudonym `jeugdpad-secrets` makes from a BSN:
/// `p-` and forty lowercase hex digits of an HMAC. Those digits are random, so about one key in
/// two hundred holds a run that passes the elfproef by chance; the shape is what the keyed hash
/// makes, so such a key is not scanned for a BSN.
fn is_keyed_pseudonym(value: &str) -> bool {
    value.strip_prefix("p-").is_some_and(|hex| {
        hex.len() == 40
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

text_type!(
    /// Teamcode: the (sociaal wijk)team that owns a trajectory, as a slug like `wijkteam-noord`.
    TeamCode,
    |value| {
        check_text("a team code", value, 64, false)?;
        if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') {
            return Err(ValueError::NotASlug);
        }
        Ok(())
    }
);

text_type!(
    /// Gebruikers-id: a consultant (jeugdconsulent) or other user, as the identity provider names them.
    UserId,
    |value| check_text("a user id", value, 128, false)
);

text_type!(
    /// Episode-id: names one help episode within a trajectory, so `help_ended` can say which
    /// episode ends. Unique within the trajectory.
    EpisodeId,
    |value| check_text("an episode id", value, 64, false)
);

text_type!(
    /// Productcategorie: the iJw product category code of a decision or PGB, exactly two digits
    /// (e.g. `"40"`), passed through to exports untouched.
    ProductCategory,
    |value| {
        if value.len() == 2 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(ValueError::NotAProductCategory)
        }
    }
);

text_type!(
    /// Aanbieder: the name of a care provider, as free text on one line.
    Provider,
    |value| check_text("a provider", value, 200, false)
);

/// The prefix of free text sealed under a subject's data key (`jeugdpad-secrets`): what is
/// stored in place of the text, so that erasing the key erases the text (crypto-shredding).
pub const SEALED_TEXT_PREFIX: &str = "sealed:v1:";

/// The longest sealed text accepted: a 1000-character reason of 4-byte characters, plus nonce
/// and tag, in base64.
const MAX_SEALED_LEN: usize = 6000;

text_type!(
    /// Reden / toelichting: why a correction or retraction was made. Required, so the audit
    /// trail always explains itself; bounded, so it stays a note and not a file.
    ///
    /// It may name people, so it is stored *sealed*: the application layer replaces the text by
    /// [`SEALED_TEXT_PREFIX`] + ciphertext before the event is appended, and the read side opens
    /// it for display. The domain never reads a reason, so both forms are valid here; typed text
    /// that merely looks sealed is refused.
    Reason,
    |value| match value.strip_prefix(SEALED_TEXT_PREFIX) {
        Some(sealed) => {
            let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            if sealed.is_empty() || value.len() > MAX_SEALED_LEN || !sealed.bytes().all(base64url) {
                return Err(ValueError::ForgedSeal);
            }
            Ok(())
        }
        None if value.starts_with("sealed:") => Err(ValueError::ForgedSeal),
        None => check_text("a reason", value, 1000, true),
    }
);

impl Reason {
    /// Whether this is sealed text rather than the text itself.
    pub fn is_sealed(&self) -> bool {
        self.0.starts_with(SEALED_TEXT_PREFIX)
    }
}

/// Declares a UUID newtype.
macro_rules! uuid_type {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID (the caller generates it: the domain has no randomness).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }

            /// The UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the textual UUID form.
            pub fn parse(value: &str) -> Result<Self, ValueError> {
                Uuid::parse_str(value).map($name).map_err(|_| ValueError::NotAUuid { what: $what })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                $name(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_type!(
    /// Traject-id: identifies one trajectory and therefore its stream `trajectory-<id>`.
    TrajectoryId,
    "a trajectory id"
);

uuid_type!(
    /// Gebeurtenis-id: identifies one stored event; corrections and retractions name it.
    EventId,
    "an event id"
);

/// The prefix of every trajectory's stream name: `trajectory-<uuid>`. The store holds other
/// streams too (`admin`, `access-log`); this prefix is how a trajectory's stream is told apart.
pub const TRAJECTORY_STREAM_PREFIX: &str = "trajectory-";

impl TrajectoryId {
    /// The name of this trajectory's stream: `trajectory-<uuid>`.
    pub fn stream_id(&self) -> String {
        format!("{TRAJECTORY_STREAM_PREFIX}{}", self.0)
    }

    /// The trajectory whose stream is `stream_id`, the inverse of [`TrajectoryId::stream_id`];
    /// `None` for every stream that is not `trajectory-<uuid>`.
    pub fn from_stream_id(stream_id: &str) -> Option<TrajectoryId> {
        let id = stream_id.strip_prefix(TRAJECTORY_STREAM_PREFIX)?;
        Uuid::parse_str(id).ok().map(TrajectoryId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: fmt::Debug>(parsed: Result<T, ValueError>, expected: Result<(), ValueError>) {
        assert_eq!(parsed.map(|_| ()), expected);
    }

    #[test]
    fn subject_key() {
        check(SubjectKey::parse("sk-4f2a9c"), Ok(()));
        check(SubjectKey::parse("1234567"), Ok(()));
        check(SubjectKey::parse("1234567890"), Ok(()));
        check(SubjectKey::parse("12345678"), Err(ValueError::LooksLikeBsn));
        check(
            SubjectKey::parse("123456782"),
            Err(ValueError::LooksLikeBsn),
        );
        check(
            SubjectKey::parse("1234.56.782"),
            Err(ValueError::LooksLikeBsn),
        );
        check(
            SubjectKey::parse("123 456 782"),
            Err(ValueError::LooksLikeBsn),
        );
        check(
            SubjectKey::parse(""),
            Err(ValueError::Empty {
                what: "a subject key",
            }),
        );
        check(
            SubjectKey::parse(" sk"),
            Err(ValueError::NotPrintable {
                what: "a subject key",
            }),
        );
        check(
            SubjectKey::parse("s\u{7}k"),
            Err(ValueError::NotPrintable {
                what: "a subject key",
            }),
        );
        check(SubjectKey::parse("x".repeat(128)), Ok(()));
        check(
            SubjectKey::parse("x".repeat(129)),
            Err(ValueError::TooLong {
                what: "a subject key",
                len: 129,
                max: 128,
            }),
        );
        assert!(!ValueError::LooksLikeBsn.to_string().contains("123"));
    }

    #[test]
    fn team_code() {
        check(TeamCode::parse("wijkteam-noord_2"), Ok(()));
        check(TeamCode::parse("Noord"), Err(ValueError::NotASlug));
        check(
            TeamCode::parse(" noord"),
            Err(ValueError::NotPrintable {
                what: "a team code",
            }),
        );
        check(TeamCode::parse("a b"), Err(ValueError::NotASlug));
        check(
            TeamCode::parse("t".repeat(65)),
            Err(ValueError::TooLong {
                what: "a team code",
                len: 65,
                max: 64,
            }),
        );
    }

    #[test]
    fn other_texts() {
        check(UserId::parse("consulent@purmerend.nl"), Ok(()));
        check(
            UserId::parse("a\nb"),
            Err(ValueError::NotPrintable { what: "a user id" }),
        );
        check(EpisodeId::parse("E-7"), Ok(()));
        check(
            EpisodeId::parse("  "),
            Err(ValueError::Empty {
                what: "an episode id",
            }),
        );
        check(ProductCategory::parse("40"), Ok(()));
        check(
            ProductCategory::parse("4"),
            Err(ValueError::NotAProductCategory),
        );
        check(
            ProductCategory::parse("４０"),
            Err(ValueError::NotAProductCategory),
        );
        check(Reason::parse("typed the wrong date,\nsee file"), Ok(()));
        check(
            Reason::parse(" \n"),
            Err(ValueError::Empty { what: "a reason" }),
        );
        check(
            Reason::parse("r".repeat(1001)),
            Err(ValueError::TooLong {
                what: "a reason",
                len: 1001,
                max: 1000,
            }),
        );
        check(Reason::parse("sealed:v1:AbC-_09"), Ok(()));
        assert!(Reason::parse("sealed:v1:AbC").unwrap().is_sealed());
        assert!(!Reason::parse("typed wrong").unwrap().is_sealed());
        check(Reason::parse("sealed:v1:"), Err(ValueError::ForgedSeal));
        check(
            Reason::parse("sealed:v1:not base64!"),
            Err(ValueError::ForgedSeal),
        );
        check(Reason::parse("sealed:v2:abc"), Err(ValueError::ForgedSeal));
        check(
            Reason::parse(format!("sealed:v1:{}", "a".repeat(6000))),
            Err(ValueError::ForgedSeal),
        );
        check(Provider::parse("Parlan"), Ok(()));
    }

    /// Every text type refuses a BSN inside it, bare, dotted or spaced (`111222333` passes the
    /// elfproef), and still takes the pseudonym shape the keyed hash makes.
    #[test]
    fn no_text_holds_a_bsn() {
        for bsn in ["111222333", "111.222.333", "111 222 333"] {
            let inside = format!("x{bsn}x");
            let bsn_of = |what| Err(ValueError::ContainsBsn { what });
            check(
                SubjectKey::parse(format!("bsn-{bsn}")),
                bsn_of("a subject key"),
            );
            check(
                TeamCode::parse(format!("team-{}", bsn.replace(['.', ' '], "-"))),
                bsn_of("a team code"),
            );
            check(UserId::parse(inside.clone()), bsn_of("a user id"));
            check(EpisodeId::parse(inside.clone()), bsn_of("an episode id"));
            check(
                Provider::parse(format!("Zorg {bsn} BV")),
                bsn_of("a provider"),
            );
            check(Reason::parse(format!("zie BSN {bsn}")), bsn_of("a reason"));
        }
        let pseudonym = format!("p-abcdef111222333{}", "a".repeat(25));
        check(SubjectKey::parse(pseudonym.clone()), Ok(()));
        check(
            SubjectKey::parse(format!("{pseudonym}0")),
            Err(ValueError::ContainsBsn {
                what: "a subject key",
            }),
        );
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<SubjectKey>("\"123456782\"").is_err());
        let key: SubjectKey = serde_json::from_str("\"sk-1\"").unwrap();
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"sk-1\"");
    }

    #[test]
    fn uuids() {
        let id = TrajectoryId::parse("6f1c1a52-3d0e-4b43-9a51-0c1f2d3e4f50").unwrap();
        assert_eq!(
            id.stream_id(),
            "trajectory-6f1c1a52-3d0e-4b43-9a51-0c1f2d3e4f50"
        );
        assert_eq!(TrajectoryId::from_stream_id(&id.stream_id()), Some(id));
        for other in [
            "admin",
            "access-log",
            "trajectory-",
            "trajectory-nope",
            "6f1c1a52-3d0e-4b43-9a51-0c1f2d3e4f50",
        ] {
            assert_eq!(TrajectoryId::from_stream_id(other), None, "{other}");
        }
        check(
            EventId::parse("nope"),
            Err(ValueError::NotAUuid {
                what: "an event id",
            }),
        );
    }
}
