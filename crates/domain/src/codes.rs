//! Code lists of the event catalogue (SPEC §2): stable lower_snake_case codes with Dutch labels.
//!
//! Codes are what the store, the API and the exports speak; they never change meaning. Labels are
//! for display only. Every list has `ALL` (in declaration order, handy for GraphQL enums and test
//! generators), `code()`, `label_nl()` and `from_code()`, and (de)serialises as its code.
//!
//! The help forms and their intensity ladder live in [`crate::ladder`]; the signal sources carry the
//! national iJw *verwijzer* code and therefore keep their own table here.

/// The error of `from_code` (and of deserialising) an unknown code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{code}' is not a known {list} code")]
pub struct UnknownCode {
    /// Which code list was asked.
    pub list: &'static str,
    /// The code that was not found (codes are not personal data, so echoing it is safe).
    pub code: String,
}

/// Implements `Display` and serde for a code list in terms of `code()` / `from_code()`, so the
/// code strings exist in exactly one place per list.
macro_rules! code_serde {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_code(&code).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::codes::UnknownCode;
            fn from_str(code: &str) -> Result<Self, $crate::codes::UnknownCode> {
                Self::from_code(code)
            }
        }
    };
}
pub(crate) use code_serde;

/// Declares a plain code list: the enum, its codes and Dutch labels, `ALL`, and serde.
macro_rules! code_list {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($list:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code used in the store, the API and exports.
            pub const fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Dutch label for display.
            pub const fn label_nl(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses a stable code.
            pub fn from_code(code: &str) -> Result<Self, $crate::codes::UnknownCode> {
                match code {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::codes::UnknownCode { list: $list, code: code.to_owned() }),
                }
            }
        }

        $crate::codes::code_serde!($name);
    };
}
pub(crate) use code_list;

code_list! {
    /// Zorg (zorgen): what the signal is worried about (SPEC §2.2).
    pub enum Concern ("concern") {
        /// Opvoeding.
        Parenting = "parenting", "Opvoeding";
        /// Ontwikkeling.
        Development = "development", "Ontwikkeling";
        /// Gedrag.
        Behaviour = "behaviour", "Gedrag";
        /// Psychische gezondheid.
        MentalHealth = "mental_health", "Psychische gezondheid";
        /// Schoolverzuim.
        SchoolAttendance = "school_attendance", "Schoolverzuim";
        /// Huiselijk geweld.
        DomesticViolence = "domestic_violence", "Huiselijk geweld";
        /// Financiële problemen.
        Financial = "financial", "Financiële problemen";
        /// Huisvesting.
        Housing = "housing", "Huisvesting";
        /// Verslaving.
        Addiction = "addiction", "Verslaving";
        /// Overig.
        Other = "other", "Overig";
    }
}

code_list! {
    /// Urgentie of a signal. Drives which waits a team lead looks at first.
    pub enum Urgency ("urgency") {
        /// Regulier.
        Regular = "regular", "Regulier";
        /// Spoed.
        Urgent = "urgent", "Spoed";
        /// Acuut (direct handelen).
        Acute = "acute", "Acuut";
    }
}

code_list! {
    /// Conclusie van het onderzoek (keukentafelgesprek): what the assessment found.
    pub enum AssessmentConclusion ("assessment conclusion") {
        /// Geen hulp nodig.
        NoHelpNeeded = "no_help_needed", "Geen hulp nodig";
        /// Lichte hulp.
        LightHelp = "light_help", "Lichte hulp";
        /// Specialistische hulp.
        SpecialistHelp = "specialist_help", "Specialistische hulp";
        /// Hulp buiten huis.
        OutOfHome = "out_of_home", "Hulp buiten huis";
        /// Zorg over de veiligheid.
        SafetyConcern = "safety_concern", "Zorg over veiligheid";
    }
}

code_list! {
    /// Financiering van een beschikking: in kind or as a personal budget.
    pub enum DecisionFunding ("decision funding") {
        /// Zorg in natura: the municipality contracts the provider.
        InKind = "in_kind", "Zorg in natura";
        /// Persoonsgebonden budget (pgb): the family buys the help itself.
        Pgb = "pgb", "Persoonsgebonden budget (pgb)";
    }
}

code_list! {
    /// Resultaat van een hulpepisode.
    pub enum HelpResult ("help result") {
        /// Doelen behaald.
        GoalsMet = "goals_met", "Doelen behaald";
        /// Doelen deels behaald.
        PartlyMet = "partly_met", "Doelen deels behaald";
        /// Doelen niet behaald.
        NotMet = "not_met", "Doelen niet behaald";
        /// Voortijdig gestopt (uitval).
        DroppedOut = "dropped_out", "Voortijdig gestopt";
        /// Overgedragen aan een andere aanbieder.
        Transferred = "transferred", "Overgedragen";
    }
}

code_list! {
    /// Periode waarop een pgb-bedrag betrekking heeft.
    pub enum PgbPeriod ("PGB period") {
        /// Per week.
        Week = "week", "Per week";
        /// Per maand.
        Month = "month", "Per maand";
        /// Per jaar.
        Year = "year", "Per jaar";
    }
}

code_list! {
    /// Besluit na een pgb-controle (proactieve toets op kwaliteit en rechtmatigheid).
    pub enum PgbReviewDecision ("PGB review decision") {
        /// Voortzetten.
        Continue = "continue", "Voortzetten";
        /// Aanpassen.
        Adjust = "adjust", "Aanpassen";
        /// Stoppen.
        Stop = "stop", "Stoppen";
    }
}

code_list! {
    /// Reden van afsluiten van het traject.
    pub enum CloseReason ("close reason") {
        /// Doelen behaald.
        GoalsMet = "goals_met", "Doelen behaald";
        /// Geen hulp nodig.
        NoHelpNeeded = "no_help_needed", "Geen hulp nodig";
        /// Verhuisd naar een andere gemeente.
        MovedAway = "moved_away", "Verhuisd";
        /// Overgedragen naar de Wet langdurige zorg.
        TransferredWlz = "transferred_wlz", "Overgedragen naar Wlz";
        /// Overgedragen naar volwassenenzorg (18+).
        TransferredAdultCare = "transferred_adult_care", "Overgedragen naar volwassenenzorg (18+)";
        /// Hulp geweigerd.
        Refused = "refused", "Hulp geweigerd";
        /// Overig.
        Other = "other", "Overig";
    }
}

code_list! {
    /// Soort pleegzorg.
    pub enum FosterKind ("foster kind") {
        /// Netwerkpleegzorg: foster parents from the child's own network.
        Network = "network", "Netwerkpleegzorg";
        /// Bestandspleegzorg: recruited foster parents.
        Recruited = "recruited", "Bestandspleegzorg";
    }
}

code_list! {
    /// Vorm van pleegzorg.
    pub enum FosterMode ("foster mode") {
        /// Voltijdpleegzorg.
        FullTime = "full_time", "Voltijd";
        /// Deeltijdpleegzorg (weekend, vakantie).
        PartTime = "part_time", "Deeltijd";
        /// Crisispleegzorg.
        Crisis = "crisis", "Crisisopvang";
    }
}

code_list! {
    /// Soort gebeurtenis: the 14 event types of the catalogue (SPEC §2), labelled for timelines.
    pub enum EventType ("event type") {
        /// Signaal ontvangen: opens the trajectory.
        SignalReceived = "signal_received", "Signaal ontvangen";
        /// Consulent toegewezen.
        ConsultantAssigned = "consultant_assigned", "Consulent toegewezen";
        /// Overgedragen aan een ander team.
        TeamTransferred = "team_transferred", "Overgedragen aan ander team";
        /// Onderzoek (keukentafelgesprek) afgerond.
        AssessmentCompleted = "assessment_completed", "Onderzoek afgerond";
        /// Aanvraag voor een voorziening.
        HelpRequested = "help_requested", "Hulp aangevraagd";
        /// Beschikking / toewijzing afgegeven.
        DecisionIssued = "decision_issued", "Beschikking afgegeven";
        /// Hulp gestart.
        HelpStarted = "help_started", "Hulp gestart";
        /// Hulp beëindigd.
        HelpEnded = "help_ended", "Hulp beëindigd";
        /// Pgb toegekend.
        PgbGranted = "pgb_granted", "Pgb toegekend";
        /// Pgb-controle gepland.
        PgbReviewScheduled = "pgb_review_scheduled", "Pgb-controle gepland";
        /// Pgb-controle afgerond.
        PgbReviewCompleted = "pgb_review_completed", "Pgb-controle afgerond";
        /// Traject afgesloten.
        TrajectoryClosed = "trajectory_closed", "Traject afgesloten";
        /// Gebeurtenis gecorrigeerd.
        EventCorrected = "event_corrected", "Gebeurtenis gecorrigeerd";
        /// Gebeurtenis ingetrokken.
        EventRetracted = "event_retracted", "Gebeurtenis ingetrokken";
    }
}

/// Signaalbron / verwijzer: who raised the signal (SPEC §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// School.
    School,
    /// Huisarts (GP).
    Huisarts,
    /// Jeugdgezondheidszorg / jeugdarts.
    Jgz,
    /// Praktijkondersteuner huisarts GGZ jeugd.
    PohGgzJeugd,
    /// Veilig Thuis (advies- en meldpunt huiselijk geweld en kindermishandeling).
    VeiligThuis,
    /// Sociaal wijkteam.
    Wijkteam,
    /// Ouders of jeugdige zelf (zelfmelding).
    ParentsOrYouth,
    /// Politie.
    Police,
    /// Gecertificeerde instelling (GI).
    GecertificeerdeInstelling,
    /// Medisch specialist.
    MedicalSpecialist,
    /// Rechter, Raad voor de Kinderbescherming, officier van justitie.
    Court,
    /// Overig.
    Other,
}

/// One row of the source table: code, Dutch label and the iJw verwijzer code (COD327, SPEC §7).
#[derive(Debug)]
struct SourceInfo {
    source: Source,
    code: &'static str,
    label_nl: &'static str,
    /// Every source the municipal access team handles itself refers as the municipality (`01`).
    ijw_verwijzer: &'static str,
}

/// The one place where sources are mapped to their codes and to the national verwijzer code.
/// Rows are in declaration order; a compile-time check below keeps it that way.
#[rustfmt::skip]
static SOURCES: &[SourceInfo] = &[
    SourceInfo { source: Source::School, code: "school", label_nl: "School", ijw_verwijzer: "01" },
    SourceInfo { source: Source::Huisarts, code: "huisarts", label_nl: "Huisarts", ijw_verwijzer: "02" },
    SourceInfo { source: Source::Jgz, code: "jgz", label_nl: "Jeugdgezondheidszorg (jeugdarts)", ijw_verwijzer: "03" },
    SourceInfo { source: Source::PohGgzJeugd, code: "poh_ggz_jeugd", label_nl: "POH-GGZ jeugd", ijw_verwijzer: "02" },
    SourceInfo { source: Source::VeiligThuis, code: "veilig_thuis", label_nl: "Veilig Thuis", ijw_verwijzer: "01" },
    SourceInfo { source: Source::Wijkteam, code: "wijkteam", label_nl: "Sociaal wijkteam", ijw_verwijzer: "01" },
    SourceInfo { source: Source::ParentsOrYouth, code: "parents_or_youth", label_nl: "Ouders of jeugdige zelf", ijw_verwijzer: "06" },
    SourceInfo { source: Source::Police, code: "police", label_nl: "Politie", ijw_verwijzer: "01" },
    SourceInfo { source: Source::GecertificeerdeInstelling, code: "gecertificeerde_instelling", label_nl: "Gecertificeerde instelling", ijw_verwijzer: "04" },
    SourceInfo { source: Source::MedicalSpecialist, code: "medical_specialist", label_nl: "Medisch specialist", ijw_verwijzer: "05" },
    SourceInfo { source: Source::Court, code: "court", label_nl: "Rechter of Raad voor de Kinderbescherming", ijw_verwijzer: "08" },
    SourceInfo { source: Source::Other, code: "other", label_nl: "Overig", ijw_verwijzer: "01" },
];

const _: () = {
    let mut i = 0;
    while i < SOURCES.len() {
        assert!(
            SOURCES[i].source as usize == i,
            "SOURCES must list every source in declaration order"
        );
        i += 1;
    }
};

/// iJw verwijzer code `07` (onbekend): only for imported data that has no source at all.
pub const IJW_VERWIJZER_UNKNOWN: &str = "07";

impl Source {
    /// Every source, in declaration order.
    pub const ALL: &'static [Source] = &[
        Source::School,
        Source::Huisarts,
        Source::Jgz,
        Source::PohGgzJeugd,
        Source::VeiligThuis,
        Source::Wijkteam,
        Source::ParentsOrYouth,
        Source::Police,
        Source::GecertificeerdeInstelling,
        Source::MedicalSpecialist,
        Source::Court,
        Source::Other,
    ];

    fn info(self) -> &'static SourceInfo {
        // In range and in order: checked at compile time above.
        &SOURCES[self as usize]
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// The Dutch label.
    pub fn label_nl(self) -> &'static str {
        self.info().label_nl
    }

    /// The iJw code verwijzer (COD327) analysts compare with national figures (SPEC §7).
    pub fn ijw_verwijzer(self) -> &'static str {
        self.info().ijw_verwijzer
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Result<Self, UnknownCode> {
        SOURCES
            .iter()
            .find(|row| row.code == code)
            .map(|row| row.source)
            .ok_or_else(|| UnknownCode {
                list: "source",
                code: code.to_owned(),
            })
    }
}

code_serde!(Source);

#[cfg(test)]
mod tests {
    use super::*;

    fn check_list<
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    >(
        all: &[T],
        code: impl Fn(T) -> &'static str,
        label: impl Fn(T) -> &'static str,
        from_code: impl Fn(&str) -> Result<T, UnknownCode>,
    ) {
        let mut seen = std::collections::HashSet::new();
        for &value in all {
            let c = code(value);
            assert!(seen.insert(c), "duplicate code {c}");
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{c} is not snake_case"
            );
            assert!(!label(value).is_empty());
            assert_eq!(from_code(c), Ok(value));
            let json = serde_json::to_value(value).unwrap();
            assert_eq!(json, serde_json::Value::String(c.to_owned()));
            assert_eq!(serde_json::from_value::<T>(json).unwrap(), value);
        }
        assert!(from_code("no_such_code").is_err());
    }

    #[test]
    fn every_code_list_round_trips() {
        check_list(
            Concern::ALL,
            Concern::code,
            Concern::label_nl,
            Concern::from_code,
        );
        check_list(
            Urgency::ALL,
            Urgency::code,
            Urgency::label_nl,
            Urgency::from_code,
        );
        check_list(
            AssessmentConclusion::ALL,
            AssessmentConclusion::code,
            AssessmentConclusion::label_nl,
            AssessmentConclusion::from_code,
        );
        check_list(
            DecisionFunding::ALL,
            DecisionFunding::code,
            DecisionFunding::label_nl,
            DecisionFunding::from_code,
        );
        check_list(
            HelpResult::ALL,
            HelpResult::code,
            HelpResult::label_nl,
            HelpResult::from_code,
        );
        check_list(
            PgbPeriod::ALL,
            PgbPeriod::code,
            PgbPeriod::label_nl,
            PgbPeriod::from_code,
        );
        check_list(
            PgbReviewDecision::ALL,
            PgbReviewDecision::code,
            PgbReviewDecision::label_nl,
            PgbReviewDecision::from_code,
        );
        check_list(
            CloseReason::ALL,
            CloseReason::code,
            CloseReason::label_nl,
            CloseReason::from_code,
        );
        check_list(
            FosterKind::ALL,
            FosterKind::code,
            FosterKind::label_nl,
            FosterKind::from_code,
        );
        check_list(
            FosterMode::ALL,
            FosterMode::code,
            FosterMode::label_nl,
            FosterMode::from_code,
        );
        check_list(
            EventType::ALL,
            EventType::code,
            EventType::label_nl,
            EventType::from_code,
        );
        check_list(
            Source::ALL,
            Source::code,
            Source::label_nl,
            Source::from_code,
        );
        assert_eq!(Source::ALL.len(), SOURCES.len());
        assert_eq!(EventType::ALL.len(), 14);
    }

    #[test]
    fn ijw_verwijzer_follows_spec_section_7() {
        let expected = [
            ("huisarts", "02"),
            ("poh_ggz_jeugd", "02"),
            ("jgz", "03"),
            ("gecertificeerde_instelling", "04"),
            ("medical_specialist", "05"),
            ("parents_or_youth", "06"),
            ("court", "08"),
            ("school", "01"),
            ("veilig_thuis", "01"),
            ("wijkteam", "01"),
            ("police", "01"),
            ("other", "01"),
        ];
        assert_eq!(expected.len(), Source::ALL.len());
        for (code, verwijzer) in expected {
            assert_eq!(
                Source::from_code(code).unwrap().ijw_verwijzer(),
                verwijzer,
                "{code}"
            );
        }
    }

    #[test]
    fn unknown_code_is_a_clear_error() {
        let err = serde_json::from_str::<Urgency>("\"later\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("'later' is not a known urgency code"),
            "{err}"
        );
    }
}
