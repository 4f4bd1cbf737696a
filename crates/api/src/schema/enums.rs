//! The code lists as GraphQL enums: the one place where domain codes meet the schema.
//!
//! Each enum mirrors a domain (or projections) type through async-graphql's `remote` derive,
//! which generates both `From` conversions as exhaustive matches: a code added in the domain
//! without its GraphQL value does not compile. GraphQL values are the stable codes in upper case
//! (`huisarts` → `HUISARTS`); a test checks that for every list. Dutch labels are not repeated
//! here: the `codeLists` query serves them from the domain's tables.

use async_graphql::Enum;

/// Declares a mirror enum of a domain code list.
macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident => $remote:literal { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[graphql(remote = $remote)]
        pub enum $name {
            $(#[allow(missing_docs)] $variant,)+
        }
    };
}

mirror! {
    /// Signaalbron: who raised the signal (docs/glossary.md).
    Source => "jeugdpad_domain::Source" {
        School, Huisarts, Jgz, PohGgzJeugd, VeiligThuis, Wijkteam, ParentsOrYouth, Police,
        GecertificeerdeInstelling, MedicalSpecialist, Court, Other,
    }
}

mirror! {
    /// Zorg: what a signal is worried about (docs/glossary.md).
    Concern => "jeugdpad_domain::Concern" {
        Parenting, Development, Behaviour, MentalHealth, SchoolAttendance, DomesticViolence,
        Financial, Housing, Addiction, Other,
    }
}

mirror! {
    /// Urgentie of a signal.
    Urgency => "jeugdpad_domain::Urgency" { Regular, Urgent, Acute }
}

mirror! {
    /// Conclusie van het onderzoek (keukentafelgesprek).
    AssessmentConclusion => "jeugdpad_domain::AssessmentConclusion" {
        NoHelpNeeded, LightHelp, SpecialistHelp, OutOfHome, SafetyConcern,
    }
}

mirror! {
    /// Financiering: zorg in natura (in kind) or persoonsgebonden budget (PGB).
    DecisionFunding => "jeugdpad_domain::DecisionFunding" { InKind, Pgb }
}

mirror! {
    /// Resultaat van een hulpepisode.
    HelpResult => "jeugdpad_domain::HelpResult" {
        GoalsMet, PartlyMet, NotMet, DroppedOut, Transferred,
    }
}

mirror! {
    /// The period a PGB amount covers.
    PgbPeriod => "jeugdpad_domain::PgbPeriod" { Week, Month, Year }
}

mirror! {
    /// Besluit na een pgb-controle.
    PgbReviewDecision => "jeugdpad_domain::PgbReviewDecision" { Continue, Adjust, Stop }
}

mirror! {
    /// Reden van afsluiten van het traject.
    CloseReason => "jeugdpad_domain::CloseReason" {
        GoalsMet, NoHelpNeeded, MovedAway, TransferredWlz, TransferredAdultCare, Refused, Other,
    }
}

mirror! {
    /// Soort pleegzorg: network (netwerkpleegzorg) or recruited (bestandspleegzorg).
    FosterKind => "jeugdpad_domain::FosterKind" { Network, Recruited }
}

mirror! {
    /// Vorm van pleegzorg.
    FosterMode => "jeugdpad_domain::FosterMode" { FullTime, PartTime, Crisis }
}

mirror! {
    /// Soort gebeurtenis: the event types of the catalogue (docs/glossary.md).
    EventType => "jeugdpad_domain::EventType" {
        SignalReceived, ConsultantAssigned, TeamTransferred, AssessmentCompleted, HelpRequested,
        DecisionIssued, HelpStarted, HelpEnded, PgbGranted, PgbReviewScheduled,
        PgbReviewCompleted, TrajectoryClosed, EventCorrected, EventRetracted,
    }
}

mirror! {
    /// Hulpvorm: a form of help; each has a level on the intensity ladder (docs/figures.md §5).
    HelpForm => "jeugdpad_domain::HelpForm" {
        WijkteamSupport, ParentingSupport, Mediation, PohGgz, SchoolSocialWork, OwnStrength,
        GroupProgramme, BuurtgezinPrevention, BuurtgezinAftercare, SpecialistAmbulant,
        YouthMentalHealth, YouthDisabilityCare, FosterCare, Residential, SecureResidential,
    }
}

mirror! {
    /// Soort stap: a step recorded in an opened trajectory, as `allowedSteps` offers it.
    StepKind => "jeugdpad_domain::StepKind" {
        AssignConsultant, TransferTeam, CompleteAssessment, RequestHelp, IssueDecision,
        StartHelp, EndHelp, GrantPgb, SchedulePgbReview, CompletePgbReview, Close, Correct,
        Retract,
    }
}

mirror! {
    /// Fase van het traject.
    Phase => "jeugdpad_domain::Phase" { Signalled, Assessed, InHelp, HelpEnded, Closed }
}

mirror! {
    /// Niveau op de intensiteitsladder: NONE (0, no help started), LIGHT (1),
    /// SPECIALIST_WITHOUT_STAY (2), OUT_OF_HOME (3).
    Level => "jeugdpad_domain::Level" { None, Light, SpecialistWithoutStay, OutOfHome }
}

mirror! {
    /// Wachttijdmaat: which wait is measured (docs/figures.md §3).
    Measure => "jeugdpad_projections::Measure" {
        SignalToAssessment, RequestToDecision, DecisionToStart, SignalToFirstHelp,
    }
}

mirror! {
    /// Grouping of a waiting-time report.
    WaitGrouping => "jeugdpad_projections::WaitGrouping" { Team, Source, Form, SignalMonth }
}

mirror! {
    /// Grouping of a normalisation report.
    CohortGrouping => "jeugdpad_projections::CohortGrouping" { Team, Source }
}

mirror! {
    /// How a normalisation cohort is drawn.
    Cohort => "jeugdpad_projections::Cohort" { Closed, Signalled }
}

#[cfg(test)]
mod tests {
    use async_graphql::resolver_utils::EnumType;

    use super::*;

    /// Every GraphQL value is the domain code in upper case, and every domain value has one.
    fn check<M, D>(all: &[D], code: impl Fn(D) -> &'static str)
    where
        M: EnumType + Copy + Into<D>,
        D: Copy + PartialEq + std::fmt::Debug + Into<M>,
    {
        let items = M::items();
        assert_eq!(items.len(), all.len(), "{}", std::any::type_name::<M>());
        for item in items {
            let domain: D = item.value.into();
            assert_eq!(item.name.to_lowercase(), code(domain), "{domain:?}");
        }
        for &value in all {
            let mirrored: M = value.into();
            let back: D = mirrored.into();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn graphql_values_are_the_domain_codes() {
        use jeugdpad_domain as d;
        use jeugdpad_projections as p;
        check::<Source, _>(d::Source::ALL, d::Source::code);
        check::<Concern, _>(d::Concern::ALL, d::Concern::code);
        check::<Urgency, _>(d::Urgency::ALL, d::Urgency::code);
        check::<AssessmentConclusion, _>(
            d::AssessmentConclusion::ALL,
            d::AssessmentConclusion::code,
        );
        check::<DecisionFunding, _>(d::DecisionFunding::ALL, d::DecisionFunding::code);
        check::<HelpResult, _>(d::HelpResult::ALL, d::HelpResult::code);
        check::<PgbPeriod, _>(d::PgbPeriod::ALL, d::PgbPeriod::code);
        check::<PgbReviewDecision, _>(d::PgbReviewDecision::ALL, d::PgbReviewDecision::code);
        check::<CloseReason, _>(d::CloseReason::ALL, d::CloseReason::code);
        check::<FosterKind, _>(d::FosterKind::ALL, d::FosterKind::code);
        check::<FosterMode, _>(d::FosterMode::ALL, d::FosterMode::code);
        check::<EventType, _>(d::EventType::ALL, d::EventType::code);
        check::<HelpForm, _>(d::HelpForm::ALL, d::HelpForm::code);
        check::<Phase, _>(d::Phase::ALL, d::Phase::code);
        check::<StepKind, _>(d::StepKind::ALL, d::StepKind::code);
        check::<Measure, _>(p::Measure::ALL, p::Measure::code);
    }
}
