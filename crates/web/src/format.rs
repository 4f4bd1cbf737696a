//! Dutch ways of writing things: dates as `30-11-2026`, numbers with a decimal comma, shares as
//! percentages, and the Dutch label of every code the API answers (GraphQL spells codes in
//! UPPER_SNAKE_CASE; the labels are the domain's own tables, the glossary's words).

use chrono::{DateTime, NaiveDate, Utc};
use jeugdpad_domain as d;

/// `2026-11-30` → `30-11-2026`; anything else unchanged.
pub(crate) fn date(iso: &str) -> String {
    parse_iso(iso).map_or_else(|| iso.to_owned(), d::date_nl)
}

/// A date from the API (`YYYY-MM-DD`).
pub(crate) fn parse_iso(iso: &str) -> Option<NaiveDate> {
    // Exactly `YYYY-MM-DD`: chrono alone would read `30-11-26` as the year 30.
    let shaped = iso.len() == 10 && iso.as_bytes()[4] == b'-' && iso.as_bytes()[7] == b'-';
    shaped
        .then(|| NaiveDate::parse_from_str(iso, "%Y-%m-%d").ok())
        .flatten()
}

/// A date a person typed or a date input sent: `YYYY-MM-DD` (what `<input type="date">`
/// sends) or the Dutch `DD-MM-YYYY` / `D-M-YYYY` (also with `/` or `.`).
pub(crate) fn parse_date_input(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Some(date) = parse_iso(text) {
        return Some(date);
    }
    let parts: Vec<&str> = text.split(['-', '/', '.']).collect();
    if let [day, month, year] = parts.as_slice() {
        if year.len() == 4 {
            return NaiveDate::from_ymd_opt(
                year.parse().ok()?,
                month.parse().ok()?,
                day.parse().ok()?,
            );
        }
    }
    None
}

/// An instant from the API (RFC 3339, UTC) in Dutch time: `30-11-2026 14:05`.
pub(crate) fn instant(rfc3339: &str) -> String {
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(at) => jeugdpad_app::amsterdam_time(at.with_timezone(&Utc))
            .format("%d-%m-%Y %H:%M")
            .to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}

/// A share in [0, 1] as a Dutch percentage: `0.4567` → `45,7%`; `None` → `–`.
pub(crate) fn percent(share: Option<f64>) -> String {
    share.map_or_else(
        || "–".to_owned(),
        |s| format!("{:.1}%", s * 100.0).replace('.', ","),
    )
}

/// A number of days: `1 dag`, `12 dagen`; `None` → `–`.
pub(crate) fn days(n: Option<i64>) -> String {
    match n {
        None => "–".to_owned(),
        Some(1) | Some(-1) => format!("{n} dag", n = n.unwrap_or(1)),
        Some(n) => format!("{n} dagen"),
    }
}

/// An optional whole number; `–` for none.
pub(crate) fn number(n: Option<i64>) -> String {
    n.map_or_else(|| "–".to_owned(), |n| n.to_string())
}

/// Euro cents as `€ 1.234,56`.
pub(crate) fn euros(cents: i64) -> String {
    let negative = cents < 0;
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!(
        "{}€ {grouped},{:02}",
        if negative { "-" } else { "" },
        cents % 100
    )
}

/// An amount in euros as a person types it (`1.234,56`, `1234.56`, `1234`) → cents.
pub(crate) fn parse_euros(text: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches('€').trim().replace(' ', "");
    if text.is_empty() {
        return None;
    }
    // The last ',' or '.' followed by one or two digits is the decimal separator.
    let (whole, fraction) = match text.rfind([',', '.']) {
        Some(at) if text.len() - at - 1 <= 2 && text.len() - at > 1 => {
            (&text[..at], &text[at + 1..])
        }
        _ => (text.as_str(), ""),
    };
    let whole: String = whole.chars().filter(|c| *c != '.' && *c != ',').collect();
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(fraction)
}

/// The domain code of a GraphQL enum value: `FOSTER_CARE` → `foster_care`.
pub(crate) fn code(graphql: &str) -> String {
    graphql.to_ascii_lowercase()
}

/// The GraphQL enum value of a domain code: `foster_care` → `FOSTER_CARE`.
pub(crate) fn graphql(code: &str) -> String {
    code.to_ascii_uppercase()
}

macro_rules! labeller {
    ($(#[$meta:meta])* $name:ident, $list:ty) => {
        $(#[$meta])*
        pub(crate) fn $name(value: &str) -> String {
            <$list>::from_code(&code(value))
                .map_or_else(|_| value.to_owned(), |v| v.label_nl().to_owned())
        }
    };
}

labeller!(
    /// Fase.
    phase,
    d::Phase
);
labeller!(
    /// Bron van het signaal.
    source,
    d::Source
);
labeller!(
    /// Zorg.
    concern,
    d::Concern
);
labeller!(
    /// Urgentie.
    urgency,
    d::Urgency
);
labeller!(
    /// Conclusie van het onderzoek.
    conclusion,
    d::AssessmentConclusion
);
labeller!(
    /// Hulpvorm.
    form,
    d::HelpForm
);
labeller!(
    /// Resultaat van hulp.
    result,
    d::HelpResult
);
labeller!(
    /// Reden van afsluiten.
    close_reason,
    d::CloseReason
);
labeller!(
    /// Financiering.
    funding,
    d::DecisionFunding
);
labeller!(
    /// Pgb-periode.
    pgb_period,
    d::PgbPeriod
);
labeller!(
    /// Besluit na een pgb-heroverweging.
    review_decision,
    d::PgbReviewDecision
);
labeller!(
    /// Soort pleegzorg.
    foster_kind,
    d::FosterKind
);
labeller!(
    /// Vorm van pleegzorg.
    foster_mode,
    d::FosterMode
);

/// Niveau op de intensiteitsladder (`LIGHT`, or a number).
pub(crate) fn level(value: &str) -> String {
    let level = match value {
        "NONE" | "0" => Some(d::Level::None),
        "LIGHT" | "1" => Some(d::Level::Light),
        "SPECIALIST_WITHOUT_STAY" | "2" => Some(d::Level::SpecialistWithoutStay),
        "OUT_OF_HOME" | "3" => Some(d::Level::OutOfHome),
        _ => None,
    };
    level.map_or_else(|| value.to_owned(), |l| l.label_nl().to_owned())
}

/// Wachttijdmaat.
pub(crate) fn measure(value: &str) -> &'static str {
    match value {
        "SIGNAL_TO_ASSESSMENT" => "Melding → onderzoek",
        "REQUEST_TO_DECISION" => "Aanvraag → beschikking",
        "DECISION_TO_START" => "Beschikking → start hulp",
        "SIGNAL_TO_FIRST_HELP" => "Melding → eerste hulp",
        _ => "Wachttijd",
    }
}

/// Rol.
pub(crate) fn role(value: &str) -> &'static str {
    match value {
        "CONSULTANT" | "consultant" => "Jeugdconsulent",
        "TEAM_LEAD" | "team_lead" => "Teamleider",
        "ANALYST" | "analyst" => "Beleidsmedewerker",
        "ADMIN" | "admin" => "Beheerder",
        _ => "Onbekende rol",
    }
}

/// What an access-log entry records.
pub(crate) fn access_action(value: &str) -> &'static str {
    match value {
        "read" => "Dossier ingezien",
        "list" => "Lijst van trajecten",
        "record" => "Stap vastgelegd",
        "export" => "Export",
        "erase" => "Gewist",
        "administer" => "Beheer",
        "read_access_log" => "Toegangslog ingezien",
        "failed_sign_in" => "Mislukte aanmelding",
        _ => "Overig",
    }
}

/// Why an access was refused (the access log's slug), in words.
pub(crate) fn refusal(slug: &str) -> String {
    let words = match slug {
        "other_team" => "ander team",
        "role" => "niet voor deze rol",
        "all_teams" => "alle teams gevraagd",
        "no_credentials" => "niet aangemeld",
        "malformed_credentials" | "unrecognised_token" | "unknown_token" => "onbekend token",
        "expired_token" => "token verlopen",
        "revoked_token" => "token ingetrokken",
        "user_deactivated" => "account gedeactiveerd",
        "session_ended" => "sessie beëindigd",
        other if other.starts_with("oidc_") => "aanmelding organisatie geweigerd",
        _ => "",
    };
    if words.is_empty() {
        slug.to_owned()
    } else {
        format!("{words} ({slug})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_the_dutch_way_both_ways() {
        assert_eq!(date("2026-11-30"), "30-11-2026");
        for typed in ["2026-11-30", "30-11-2026", "30/11/2026", "30.11.2026"] {
            assert_eq!(
                parse_date_input(typed),
                NaiveDate::from_ymd_opt(2026, 11, 30),
                "{typed}"
            );
        }
        assert_eq!(parse_date_input("31-02-2026"), None);
        assert_eq!(parse_date_input("30-11-26"), None);
    }

    #[test]
    fn money_and_shares() {
        assert_eq!(euros(123_456), "€ 1.234,56");
        assert_eq!(euros(5), "€ 0,05");
        for (typed, cents) in [
            ("1.234,56", Some(123_456)),
            ("1234,5", Some(123_450)),
            ("1234.56", Some(123_456)),
            ("€ 1.200", Some(120_000)),
            ("12", Some(1_200)),
            ("twaalf", None),
            ("", None),
        ] {
            assert_eq!(parse_euros(typed), cents, "{typed}");
        }
        assert_eq!(percent(Some(0.4567)), "45,7%");
        assert_eq!(percent(None), "–");
        assert_eq!(days(Some(1)), "1 dag");
        assert_eq!(days(Some(12)), "12 dagen");
    }

    #[test]
    fn labels_come_from_the_domain() {
        assert_eq!(form("FOSTER_CARE"), "Pleegzorg");
        assert_eq!(phase("IN_HELP"), "In hulp");
        assert_eq!(source("PARENTS_OR_YOUTH"), "Ouders of jeugdige zelf");
        assert_eq!(level("OUT_OF_HOME"), "Hulp buiten huis (met verblijf)");
    }
}
