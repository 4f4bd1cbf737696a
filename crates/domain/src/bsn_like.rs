//! Een BSN op de verkeerde plek: finding a number inside any text that could be a BSN.
//!
//! A BSN belongs in the `bsn` fields only, where it is turned into a pseudonym at once (SPEC §3).
//! Typed into a provider's name, an episode id, a user id, a token label or a reason, it would be
//! stored as it is, in the data files, the backups and the exports. So every text a person or a
//! file can put into Jeugdpad is checked with [`contains_bsn`] — the one definition, used by the
//! validated value types here (and through them by the API, the web app, `import` and `seed`)
//! and by the registry of teams, users and tokens — and refused when it holds one.
//!
//! What counts as a BSN here is what [`passes_elfproef`] accepts written the ways people write it:
//! nine digits, bare or in groups separated by single spaces, dots or dashes (`111 222 333`,
//! `1112.22.333`), and eight bare digits (a BSN whose leading zero a spreadsheet dropped). Eight
//! digits *in groups* are not taken for a BSN, as `Bsn::parse` in `jeugdpad-secrets` does not:
//! that is how dates are written (`15.01.2024`), and hand-typed groups do not lose a zero. About
//! one in eleven nine-digit numbers passes the elfproef by chance; such a number in an id is
//! refused as well, which costs the writer a different id and keeps every BSN out.

/// The separators people put between the groups of a BSN.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '\u{a0}')
}

/// The elfproef of a BSN written as nine ASCII digits: `9·d1 + 8·d2 + … + 2·d8 − 1·d9` is a
/// multiple of eleven. All zeros passes the sum but is never issued, so it does not pass here.
pub fn passes_elfproef(digits: &[u8; 9]) -> bool {
    if digits.iter().any(|d| !d.is_ascii_digit()) || digits.iter().all(|d| *d == b'0') {
        return false;
    }
    let sum: i64 = digits
        .iter()
        .zip([9i64, 8, 7, 6, 5, 4, 3, 2, -1])
        .map(|(d, weight)| i64::from(d - b'0') * weight)
        .sum();
    sum.rem_euclid(11) == 0
}

/// Whether `text` contains a number that could be a BSN (see the module's doc for exactly
/// which). Never returns the number: callers refuse the whole text without repeating it.
pub fn contains_bsn(text: &str) -> bool {
    number_chains(text)
        .iter()
        .any(|groups| chain_holds_bsn(groups))
}

/// The chains of digit groups in `text`: runs of ASCII digits joined by exactly one separator.
fn number_chains(text: &str) -> Vec<Vec<&str>> {
    let mut chains: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_ascii_digit() {
            let mut end = start + 1;
            while let Some(&(i, d)) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                end = i + 1;
                chars.next();
            }
            current.push(&text[start..end]);
            // One separator followed by a digit continues the chain; anything else ends it.
            let joined = match chars.peek() {
                Some(&(i, s)) if is_separator(s) => text[i + s.len_utf8()..]
                    .chars()
                    .next()
                    .is_some_and(|next| next.is_ascii_digit()),
                _ => false,
            };
            if joined {
                chars.next();
            } else {
                chains.push(std::mem::take(&mut current));
            }
        }
    }
    chains
}

/// Whether some consecutive groups of one chain spell a BSN: nine digits in one or more groups,
/// or eight in a single group. Every window is tried, so a BSN after a year or a house number
/// (`2024 111 222 333`) is found too.
fn chain_holds_bsn(groups: &[&str]) -> bool {
    (0..groups.len()).any(|first| {
        let mut digits = String::new();
        for (last, group) in groups.iter().enumerate().skip(first) {
            digits.push_str(group);
            let single = last == first;
            let spelled = match digits.len() {
                9 => digits.as_bytes().try_into().ok(),
                8 if single => format!("0{digits}").as_bytes().try_into().ok(),
                _ => None,
            };
            if spelled.is_some_and(|nine: [u8; 9]| passes_elfproef(&nine)) {
                return true;
            }
            if digits.len() >= 9 {
                break;
            }
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `111222333` passes the elfproef (66 = 6·11); `111222334` does not; `12345611` is the
    /// eight-digit form of `012345611`, which passes.
    #[test]
    fn finds_a_bsn_however_it_is_written_and_wherever_it_stands() {
        let check = |text: &str, expected: bool| {
            assert_eq!(contains_bsn(text), expected, "{text:?}");
        };
        check("111222333", true);
        check("Zorg BV 111222333", true);
        check("bsn-111222333", true);
        check("ep111222333x", true);
        check("111.222.333", true);
        check("111 222 333", true);
        check("1112.22.333", true);
        check("111-222-333", true);
        check("111\u{a0}222\u{a0}333", true);
        check("12345611", true);
        check("2024 111 222 333", true);
        check("111222333 2024", true);
        // Not a BSN: the elfproef fails, too few or too many digits, eight digits in groups
        // (a date), separators doubled, all zeros.
        check("111222334", false);
        check("1112223", false);
        check("1112223330", false);
        check("0612345678", false);
        check("1234.56.11", false);
        check("15.01.2024", false);
        check("111  222  333", false);
        check("111..222.333", false);
        check("000000000", false);
        check("", false);
        check("Zorg Noord, team 3", false);
    }

    #[test]
    fn the_elfproef() {
        assert!(passes_elfproef(b"111222333"));
        assert!(passes_elfproef(b"271839454"));
        assert!(!passes_elfproef(b"111222334"));
        assert!(!passes_elfproef(b"000000000"));
        assert!(!passes_elfproef(b"11122233x"));
    }
}
