//! Codelijsten: the code lists with their Dutch labels, straight from the domain's tables, so a
//! client can show "Pleegzorg" for `FOSTER_CARE` without keeping its own copy.

use async_graphql::{Object, SimpleObject};
use jeugdpad_domain::{self as d, CbsCategory, FormPurpose};

use super::enums::{HelpForm, Level, Source};

/// A code with its Dutch label.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct CodeLabel {
    /// The stable lower-case code (the GraphQL enum value is the same in upper case).
    code: &'static str,
    /// The Dutch label for display.
    label: &'static str,
}

/// A help form with its place on the intensity ladder.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct HelpFormInfo {
    /// The form.
    form: HelpForm,
    /// Its code.
    code: &'static str,
    /// Its Dutch label.
    label: &'static str,
    /// Its level.
    level: Level,
    /// Its level as a number (1–3).
    level_number: u8,
    /// `regular`, `prevention` (buurtgezin as prevention) or `step_down_aftercare`.
    purpose: &'static str,
    /// CBS Beleidsinformatie Jeugd: `without_stay` (level 2), `with_stay` (level 3), or null.
    cbs_category: Option<&'static str>,
}

/// A signal source with the national iJw verwijzer code (COD327).
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct SourceInfo {
    /// The source.
    source: Source,
    /// Its code.
    code: &'static str,
    /// Its Dutch label.
    label: &'static str,
    /// The iJw code verwijzer it maps to.
    ijw_verwijzer: &'static str,
}

/// Every code list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeLists;

macro_rules! labels {
    ($list:ty) => {
        <$list>::ALL
            .iter()
            .map(|v| CodeLabel {
                code: v.code(),
                label: v.label_nl(),
            })
            .collect()
    };
}

/// Codelijsten: every code list with its Dutch labels.
#[Object]
impl CodeLists {
    /// Help forms and the intensity ladder.
    async fn help_forms(&self) -> Vec<HelpFormInfo> {
        d::HelpForm::ALL
            .iter()
            .map(|&form| HelpFormInfo {
                form: form.into(),
                code: form.code(),
                label: form.label_nl(),
                level: form.level().into(),
                level_number: form.level().number(),
                purpose: match form.purpose() {
                    FormPurpose::Regular => "regular",
                    FormPurpose::Prevention => "prevention",
                    FormPurpose::StepDownAftercare => "step_down_aftercare",
                },
                cbs_category: form.cbs_category().map(|c| match c {
                    CbsCategory::WithoutStay => "without_stay",
                    CbsCategory::WithStay => "with_stay",
                }),
            })
            .collect()
    }

    /// Signal sources.
    async fn sources(&self) -> Vec<SourceInfo> {
        d::Source::ALL
            .iter()
            .map(|&source| SourceInfo {
                source: source.into(),
                code: source.code(),
                label: source.label_nl(),
                ijw_verwijzer: source.ijw_verwijzer(),
            })
            .collect()
    }

    /// Concerns.
    async fn concerns(&self) -> Vec<CodeLabel> {
        labels!(d::Concern)
    }

    /// Urgencies.
    async fn urgencies(&self) -> Vec<CodeLabel> {
        labels!(d::Urgency)
    }

    /// Assessment conclusions.
    async fn assessment_conclusions(&self) -> Vec<CodeLabel> {
        labels!(d::AssessmentConclusion)
    }

    /// Help results.
    async fn help_results(&self) -> Vec<CodeLabel> {
        labels!(d::HelpResult)
    }

    /// Reasons for closing.
    async fn close_reasons(&self) -> Vec<CodeLabel> {
        labels!(d::CloseReason)
    }

    /// PGB review decisions.
    async fn pgb_review_decisions(&self) -> Vec<CodeLabel> {
        labels!(d::PgbReviewDecision)
    }

    /// Event types.
    async fn event_types(&self) -> Vec<CodeLabel> {
        labels!(d::EventType)
    }

    /// Phases.
    async fn phases(&self) -> Vec<CodeLabel> {
        labels!(d::Phase)
    }
}
