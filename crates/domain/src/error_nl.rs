//! De regels in het Nederlands: every [`DomainError`] and [`ValueError`] as the sentence a
//! consultant reads beside the field on the page.
//!
//! The English `Display` stays what the API answers by default (and what logs and import
//! reports quote); this is the same rule in Dutch, for the web app and for API clients that ask
//! `Accept-Language: nl`. Codes, slugs and field names do not change with the language. Dates
//! are written the Dutch way (`30-11-2026`), codes by their Dutch labels (the glossary's words),
//! and, as in English, a rejected value is never repeated (it may be a BSN).
//!
//! Both `match`es are exhaustive without a wildcard, so a new rule does not compile until it
//! has its Dutch sentence.

use chrono::NaiveDate;

use crate::codes::EventType;
use crate::dates::DateBound;
use crate::error::DomainError;
use crate::ids::{EpisodeId, ValueError};

/// `30-11-2026`: the date as the Dutch write it.
pub fn date_nl(date: NaiveDate) -> String {
    date.format("%d-%m-%Y").to_string()
}

/// The Dutch label of an event type code (`help_started` → "Hulp gestart"); the code itself if
/// it is not one (it always is: the domain's own codes).
fn step_nl(event_type: &str) -> &str {
    match EventType::from_code(event_type) {
        Ok(kind) => kind.label_nl(),
        Err(_) => event_type,
    }
}

/// The Dutch name of a date field of [`DomainError::ImplausibleDate`].
fn field_nl(field: &str) -> &str {
    match field {
        "occurredOn" => "de datum",
        "replacementOccurredOn" => "de nieuwe datum",
        "dueOn" => "de datum van de herbeoordeling",
        "validFrom" => "de ingangsdatum",
        "validUntil" => "de einddatum",
        other => other,
    }
}

/// Which bound a date broke, in Dutch.
fn bound_nl(bound: &DateBound) -> String {
    match bound {
        DateBound::Before(earliest) => format!(
            "die ligt vóór {}, de vroegste datum die Jeugdpad vastlegt (de Jeugdwet geldt sinds \
             1 januari 2015); controleer het jaar",
            date_nl(*earliest)
        ),
        DateBound::BeforeBirthYear(year) => {
            format!("die ligt vóór het geboortejaar van de jeugdige ({year}); controleer het jaar")
        }
        DateBound::YearsAfter { from, years } => format!(
            "die ligt meer dan {years} jaar na {}; controleer het jaar",
            date_nl(*from)
        ),
    }
}

fn episodes_nl(ids: &[EpisodeId]) -> String {
    ids.iter()
        .map(EpisodeId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl DomainError {
    /// The rule in Dutch, for the consultant's screen.
    pub fn message_nl(&self) -> String {
        use DomainError::*;
        match self {
            InvalidValue(value) => value.message_nl(),
            InTheFuture { date, today } => format!(
                "de datum {} ligt na vandaag ({}); een stap wordt vastgelegd als die gebeurd is",
                date_nl(*date),
                date_nl(*today)
            ),
            NoConcerns => "een melding heeft ten minste één zorg nodig".into(),
            DuplicateConcern(concern) => {
                format!("de zorg '{}' staat er twee keer in", concern.label_nl())
            }
            ImplausibleBirthYear {
                birth_year,
                this_year,
            } => format!(
                "geboortejaar {birth_year} is niet aannemelijk voor jeugdhulp in {this_year}"
            ),
            ImplausibleDate { field, date, bound } => format!(
                "{} {} is niet aannemelijk: {}",
                field_nl(field),
                date_nl(*date),
                bound_nl(bound)
            ),
            FosterDetailsMissing => {
                "pleegzorg vraagt om de soort pleegzorg (netwerk- of bestandspleegzorg) en de \
                 vorm (voltijd, deeltijd of crisisopvang)"
                    .into()
            }
            FosterDetailsNotAllowed(form) => format!(
                "de soort en vorm van pleegzorg horen alleen bij pleegzorg, niet bij {}",
                form.label_nl()
            ),
            ValidityEndsBeforeStart {
                valid_from,
                valid_until,
            } => format!(
                "de beschikking loopt tot {}, vóór de ingangsdatum {}",
                date_nl(*valid_until),
                date_nl(*valid_from)
            ),
            AmountNotPositive(_) => "een pgb-bedrag moet meer dan nul zijn".into(),
            ReviewDueBeforeScheduled {
                scheduled_on,
                due_on,
            } => format!(
                "een pgb-heroverweging die op {} is gepland kan niet eerder, op {}, moeten \
                 plaatsvinden",
                date_nl(*scheduled_on),
                date_nl(*due_on)
            ),
            EmptyCorrection => {
                "een correctie vervangt de datum, de inhoud of allebei; er is niets ingevuld om \
                 te vervangen"
                    .into()
            }
            CorrectionChangesType {
                corrected,
                replacement,
                ..
            } => format!(
                "deze stap is '{}' en kan niet worden gecorrigeerd tot '{}'",
                step_nl(corrected),
                step_nl(replacement)
            ),
            NotOpened => {
                "dit traject is niet geopend: het begint altijd met een melding (signaal)".into()
            }
            AlreadyOpened { opened_on } => format!(
                "dit traject is al op {} geopend met een melding; een nieuwe melding opent een \
                 nieuw traject",
                date_nl(*opened_on)
            ),
            Closed { closed_on } => format!(
                "het traject is op {} afgesloten; er kunnen alleen nog correcties en intrekkingen \
                 worden vastgelegd",
                date_nl(*closed_on)
            ),
            AfterClosure {
                event_type,
                occurred_on,
                closed_on,
            } => format!(
                "'{}' op {} zou na de afsluiting van het traject op {} komen",
                step_nl(event_type),
                date_nl(*occurred_on),
                date_nl(*closed_on)
            ),
            BeforeSignal {
                event_type,
                occurred_on,
                signal_on,
            } => format!(
                "'{}' op {} zou vóór de melding komen waarmee het traject op {} begon",
                step_nl(event_type),
                date_nl(*occurred_on),
                date_nl(*signal_on)
            ),
            SameConsultant(user) => format!("{user} is al de consulent van dit traject"),
            SameTeam(team) => format!("het traject hoort al bij team {team}"),
            EpisodeIdInUse(id) => format!(
                "hulpepisode {id} bestaat al in dit traject; elke episode krijgt een eigen naam"
            ),
            EpisodeNotStarted(id) => {
                format!("hulpepisode {id} is nooit gestart en kan dus niet eindigen")
            }
            EpisodeEndsBeforeStart {
                episode_id,
                started_on,
                ended_on,
            } => format!(
                "hulpepisode {episode_id} zou op {} eindigen, vóór de start op {}",
                date_nl(*ended_on),
                date_nl(*started_on)
            ),
            EpisodeAlreadyEnded {
                episode_id,
                ended_on,
            } => format!(
                "hulpepisode {episode_id} is al beëindigd op {}",
                date_nl(*ended_on)
            ),
            HelpStillOpen(ids) => format!(
                "het traject kan niet worden afgesloten zolang er nog hulp loopt (episode {})",
                episodes_nl(ids)
            ),
            NoOpenRequest { form, decided_on } => format!(
                "de beschikking van {} heeft geen openstaande aanvraag voor {} om op te antwoorden",
                date_nl(*decided_on),
                form.label_nl()
            ),
            NoOpenReview { completed_on } => format!(
                "er is op {} geen geplande pgb-heroverweging die nog openstaat om af te ronden",
                date_nl(*completed_on)
            ),
            UnknownEvent(_) => "deze stap hoort niet bij dit traject".into(),
            TargetIsAmendment(_) => {
                "deze stap is zelf een correctie of intrekking; corrigeer of trek de oorspronkelijke \
                 stap in"
                    .into()
            }
            TargetRetracted(_) => {
                "deze stap is ingetrokken; een ingetrokken stap kan niet opnieuw worden \
                 gecorrigeerd of ingetrokken"
                    .into()
            }
            CorrectionBreaksRule { source, .. } => format!(
                "deze correctie zou een regel breken: {}",
                source.message_nl()
            ),
            RetractionBreaksRule { source, .. } => format!(
                "deze intrekking zou een regel breken: {}",
                source.message_nl()
            ),
        }
    }
}

impl ValueError {
    /// The problem in Dutch (never repeating the value).
    pub fn message_nl(&self) -> String {
        match self {
            ValueError::Empty { what } => format!("{} mag niet leeg zijn", what_nl(what)),
            ValueError::TooLong { what, len, max } => format!(
                "{} is {len} tekens lang; er mogen er hoogstens {max} zijn",
                what_nl(what)
            ),
            ValueError::NotPrintable { what } => format!(
                "{} bevat stuurtekens of spaties aan het begin of eind",
                what_nl(what)
            ),
            ValueError::LooksLikeBsn => {
                "een pseudoniem mag geen BSN zijn en dit lijkt op een BSN (8 of 9 cijfers); \
                 Jeugdpad bewaart nooit een BSN: vul het BSN in het BSN-veld in"
                    .into()
            }
            ValueError::ContainsBsn { what } => format!(
                "{} bevat een nummer dat een BSN kan zijn (negen cijfers die de elfproef \
                 doorstaan); Jeugdpad bewaart nooit een BSN: laat het nummer weg, of vul het BSN \
                 in het BSN-veld in",
                what_nl(what)
            ),
            ValueError::NotASlug => {
                "een teamcode bestaat alleen uit kleine letters, cijfers, '-' en '_'".into()
            }
            ValueError::NotAProductCategory => {
                "een iJw-productcategorie bestaat uit precies twee cijfers, bijvoorbeeld \"40\""
                    .into()
            }
            ValueError::ForgedSeal => {
                "een reden mag niet beginnen met 'sealed:'; dat voorvoegsel markeert versleutelde \
                 tekst"
                    .into()
            }
            ValueError::NotAUuid { what } => {
                format!("{} is geen geldige UUID", what_nl(what))
            }
        }
    }
}

/// The Dutch name of a kind of value (the `what` of a [`ValueError`]).
fn what_nl(what: &str) -> &str {
    match what {
        "a subject key" => "Het pseudoniem",
        "a team code" => "De teamcode",
        "a user id" => "De gebruikersnaam",
        "an episode id" => "De naam van de hulpepisode",
        "a provider" => "De aanbieder",
        "a reason" => "De reden",
        "a trajectory id" => "Het traject-id",
        "an event id" => "Het id van de stap",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Concern;
    use crate::ids::{EventId, TeamCode, UserId};
    use crate::ladder::HelpForm;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    /// One of every rule, so each Dutch sentence is read at least once here.
    fn every_error() -> Vec<DomainError> {
        let ep = || EpisodeId::parse("hulp-1").unwrap();
        let event = EventId::parse("0190b6c4-8a3e-7000-8000-000000000001").unwrap();
        vec![
            DomainError::InvalidValue(ValueError::NotASlug),
            DomainError::InTheFuture {
                date: day(20),
                today: day(10),
            },
            DomainError::NoConcerns,
            DomainError::DuplicateConcern(Concern::Parenting),
            DomainError::ImplausibleBirthYear {
                birth_year: 1907,
                this_year: 2026,
            },
            DomainError::ImplausibleDate {
                field: "occurredOn",
                date: day(1),
                bound: DateBound::Before(day(2)),
            },
            DomainError::FosterDetailsMissing,
            DomainError::FosterDetailsNotAllowed(HelpForm::Mediation),
            DomainError::ValidityEndsBeforeStart {
                valid_from: day(10),
                valid_until: day(5),
            },
            DomainError::AmountNotPositive(0),
            DomainError::ReviewDueBeforeScheduled {
                scheduled_on: day(10),
                due_on: day(5),
            },
            DomainError::EmptyCorrection,
            DomainError::CorrectionChangesType {
                event_id: event,
                corrected: "help_started",
                replacement: "help_ended",
            },
            DomainError::NotOpened,
            DomainError::AlreadyOpened { opened_on: day(1) },
            DomainError::Closed { closed_on: day(9) },
            DomainError::AfterClosure {
                event_type: "assessment_completed",
                occurred_on: day(12),
                closed_on: day(9),
            },
            DomainError::BeforeSignal {
                event_type: "help_started",
                occurred_on: day(1),
                signal_on: day(3),
            },
            DomainError::SameConsultant(UserId::parse("j.jansen").unwrap()),
            DomainError::SameTeam(TeamCode::parse("noord").unwrap()),
            DomainError::EpisodeIdInUse(ep()),
            DomainError::EpisodeNotStarted(ep()),
            DomainError::EpisodeEndsBeforeStart {
                episode_id: ep(),
                started_on: day(10),
                ended_on: day(4),
            },
            DomainError::EpisodeAlreadyEnded {
                episode_id: ep(),
                ended_on: day(4),
            },
            DomainError::HelpStillOpen(vec![ep()]),
            DomainError::NoOpenRequest {
                form: HelpForm::FosterCare,
                decided_on: day(4),
            },
            DomainError::NoOpenReview {
                completed_on: day(4),
            },
            DomainError::UnknownEvent(event),
            DomainError::TargetIsAmendment(event),
            DomainError::TargetRetracted(event),
            DomainError::CorrectionBreaksRule {
                event_id: event,
                source: Box::new(DomainError::HelpStillOpen(vec![ep()])),
            },
            DomainError::RetractionBreaksRule {
                event_id: event,
                source: Box::new(DomainError::EpisodeNotStarted(ep())),
            },
        ]
    }

    /// Words that give away an English sentence; none may appear in a Dutch one.
    const ENGLISH: &[&str] = &[
        " the ",
        " would ",
        " cannot ",
        " before ",
        " after ",
        " already ",
        " must ",
        " is not ",
    ];

    /// `every_error` holds one example per rule; the implausible date has three bounds and five
    /// fields, each with its Dutch words.
    #[test]
    fn every_implausible_date_in_dutch() {
        let bounds = [
            DateBound::Before(day(2)),
            DateBound::BeforeBirthYear(2026),
            DateBound::YearsAfter {
                from: day(2),
                years: 3,
            },
        ];
        let fields = [
            "occurredOn",
            "replacementOccurredOn",
            "dueOn",
            "validFrom",
            "validUntil",
        ];
        for (bound, field) in bounds.iter().cycle().zip(fields) {
            let error = DomainError::ImplausibleDate {
                field,
                date: day(1),
                bound: *bound,
            };
            let padded = format!(" {} ", error.message_nl());
            assert!(
                padded.contains("01-03-2026") && !padded.contains(field),
                "{padded}"
            );
            for word in ENGLISH {
                assert!(!padded.contains(word), "{padded}");
            }
        }
    }

    #[test]
    fn every_rule_has_a_dutch_sentence_with_dutch_dates() {
        let errors = every_error();
        let mut reasons: Vec<&str> = errors.iter().map(DomainError::reason).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), errors.len(), "one example per rule");
        for error in &errors {
            let dutch = error.message_nl();
            assert!(!dutch.is_empty());
            assert_ne!(dutch, error.to_string(), "{}", error.reason());
            let padded = format!(" {dutch} ");
            for word in ENGLISH {
                assert!(!padded.contains(word), "{}: {dutch}", error.reason());
            }
            // Dates appear as dd-mm-jjjj, never as the ISO form the English text uses.
            assert!(!dutch.contains("2026-03-"), "{}: {dutch}", error.reason());
        }
        assert_eq!(
            DomainError::EpisodeEndsBeforeStart {
                episode_id: EpisodeId::parse("hulp-1").unwrap(),
                started_on: day(10),
                ended_on: day(4),
            }
            .message_nl(),
            "hulpepisode hulp-1 zou op 04-03-2026 eindigen, vóór de start op 10-03-2026"
        );
    }

    #[test]
    fn labels_replace_codes() {
        let dutch = DomainError::BeforeSignal {
            event_type: "help_started",
            occurred_on: day(1),
            signal_on: day(3),
        }
        .message_nl();
        assert!(dutch.contains("'Hulp gestart'"), "{dutch}");
        assert!(!dutch.contains("help_started"), "{dutch}");
        let dutch = DomainError::NoOpenRequest {
            form: HelpForm::FosterCare,
            decided_on: day(4),
        }
        .message_nl();
        assert!(dutch.contains("Pleegzorg"), "{dutch}");
    }

    #[test]
    fn value_errors_name_the_value_in_dutch_and_never_repeat_it() {
        let errors = [
            ValueError::Empty { what: "a reason" },
            ValueError::TooLong {
                what: "an episode id",
                len: 70,
                max: 64,
            },
            ValueError::NotPrintable { what: "a user id" },
            ValueError::LooksLikeBsn,
            ValueError::ContainsBsn { what: "a provider" },
            ValueError::NotASlug,
            ValueError::NotAProductCategory,
            ValueError::ForgedSeal,
            ValueError::NotAUuid {
                what: "an event id",
            },
        ];
        for error in errors {
            let dutch = error.message_nl();
            assert!(!dutch.contains(" a "), "{dutch}");
            assert!(!dutch.contains(" an "), "{dutch}");
            assert_ne!(dutch, error.to_string());
        }
        assert_eq!(
            ValueError::Empty { what: "a reason" }.message_nl(),
            "De reden mag niet leeg zijn"
        );
    }
}
