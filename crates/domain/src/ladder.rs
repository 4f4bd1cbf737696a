//! The help forms and the intensity ladder (SPEC §2.3): the spine of the escalation figures.
//!
//! Everything known about a form (code, Dutch label, level, purpose) is one row of [`FORMS`], so
//! a policy change — a form moving up the ladder, a new form — is a one-line edit, and the
//! national CBS classification (SPEC §7) follows from the level instead of being a second list.

use crate::codes::UnknownCode;

/// Hulpvorm: a form of help that can be requested, decided and started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HelpForm {
    /// Ondersteuning door het sociaal wijkteam.
    WijkteamSupport,
    /// Opvoedondersteuning.
    ParentingSupport,
    /// Bemiddeling (mediation).
    Mediation,
    /// Praktijkondersteuner huisarts GGZ.
    PohGgz,
    /// Schoolmaatschappelijk werk.
    SchoolSocialWork,
    /// Eigen Kracht-conferentie / Eigenplan: the family's own network makes the plan.
    OwnStrength,
    /// Groepsprogramma (training, cursus).
    GroupProgramme,
    /// Buurtgezin als preventie: a neighbourhood family supports, to prevent foster care.
    BuurtgezinPrevention,
    /// Buurtgezin als nazorg: step-down support after foster care.
    BuurtgezinAftercare,
    /// Specialistische ambulante jeugdhulp.
    SpecialistAmbulant,
    /// Jeugd-ggz (youth mental health care).
    YouthMentalHealth,
    /// Jeugdhulp bij een beperking (youth disability care).
    YouthDisabilityCare,
    /// Pleegzorg (foster care); carries a [`crate::FosterPlacement`].
    FosterCare,
    /// Residentiële jeugdhulp (incl. gezinshuis).
    Residential,
    /// Gesloten jeugdzorg (secure residential care).
    SecureResidential,
}

/// Niveau op de intensiteitsladder. `None` (0) is "no help started"; a form is never level 0.
///
/// Ordered, so "the highest level" is a plain `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Level {
    /// 0: geen hulp gestart.
    #[default]
    None = 0,
    /// 1: lichte, normaliserende hulp.
    Light = 1,
    /// 2: specialistische jeugdhulp zonder verblijf.
    SpecialistWithoutStay = 2,
    /// 3: hulp buiten huis (jeugdhulp met verblijf).
    OutOfHome = 3,
}

/// Doel van een hulpvorm, where the ladder alone does not say it (SPEC §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormPurpose {
    /// Ordinary help at its level.
    Regular,
    /// Preventie: used to prevent out-of-home placement (`buurtgezin_prevention`).
    Prevention,
    /// Nazorg: step-down aftercare after an out-of-home placement (`buurtgezin_aftercare`).
    StepDownAftercare,
}

/// CBS Beleidsinformatie Jeugd classification (SPEC §7), derived from the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CbsCategory {
    /// Jeugdhulp zonder verblijf: level 2.
    WithoutStay,
    /// Jeugdhulp met verblijf (pleegzorg, gezinshuis, gesloten, overig residentieel): level 3.
    WithStay,
}

/// One row of the ladder.
#[derive(Debug)]
pub struct FormInfo {
    /// The form this row describes.
    pub form: HelpForm,
    /// Stable code.
    pub code: &'static str,
    /// Dutch label.
    pub label_nl: &'static str,
    /// Level on the intensity ladder.
    pub level: Level,
    /// Prevention, step-down aftercare or regular.
    pub purpose: FormPurpose,
}

const fn row(
    form: HelpForm,
    code: &'static str,
    label_nl: &'static str,
    level: Level,
    purpose: FormPurpose,
) -> FormInfo {
    FormInfo {
        form,
        code,
        label_nl,
        level,
        purpose,
    }
}

use FormPurpose::{Prevention, Regular, StepDownAftercare};
use HelpForm as F;
use Level::{Light, OutOfHome, SpecialistWithoutStay};

/// The intensity ladder: every help form exactly once, in declaration order (checked at compile
/// time), with its level and purpose.
#[rustfmt::skip]
pub static FORMS: &[FormInfo] = &[
    row(F::WijkteamSupport, "wijkteam_support", "Ondersteuning door het wijkteam", Light, Regular),
    row(F::ParentingSupport, "parenting_support", "Opvoedondersteuning", Light, Regular),
    row(F::Mediation, "mediation", "Bemiddeling", Light, Regular),
    row(F::PohGgz, "poh_ggz", "POH-GGZ", Light, Regular),
    row(F::SchoolSocialWork, "school_social_work", "Schoolmaatschappelijk werk", Light, Regular),
    row(F::OwnStrength, "own_strength", "Eigen Kracht / Eigenplan", Light, Regular),
    row(F::GroupProgramme, "group_programme", "Groepsprogramma", Light, Regular),
    row(F::BuurtgezinPrevention, "buurtgezin_prevention", "Buurtgezin (preventie)", Light, Prevention),
    row(F::BuurtgezinAftercare, "buurtgezin_aftercare", "Buurtgezin (nazorg)", Light, StepDownAftercare),
    row(F::SpecialistAmbulant, "specialist_ambulant", "Specialistische ambulante hulp", SpecialistWithoutStay, Regular),
    row(F::YouthMentalHealth, "youth_mental_health", "Jeugd-ggz", SpecialistWithoutStay, Regular),
    row(F::YouthDisabilityCare, "youth_disability_care", "Jeugdhulp bij beperking", SpecialistWithoutStay, Regular),
    row(F::FosterCare, "foster_care", "Pleegzorg", OutOfHome, Regular),
    row(F::Residential, "residential", "Residentiële jeugdhulp", OutOfHome, Regular),
    row(F::SecureResidential, "secure_residential", "Gesloten jeugdzorg", OutOfHome, Regular),
];

const _: () = {
    let mut i = 0;
    while i < FORMS.len() {
        assert!(
            FORMS[i].form as usize == i,
            "FORMS must list every form once, in declaration order"
        );
        assert!(FORMS[i].level as u8 >= 1, "a help form is at least level 1");
        i += 1;
    }
};

impl HelpForm {
    /// Every form, in ladder order.
    pub const ALL: &'static [HelpForm] = &[
        F::WijkteamSupport,
        F::ParentingSupport,
        F::Mediation,
        F::PohGgz,
        F::SchoolSocialWork,
        F::OwnStrength,
        F::GroupProgramme,
        F::BuurtgezinPrevention,
        F::BuurtgezinAftercare,
        F::SpecialistAmbulant,
        F::YouthMentalHealth,
        F::YouthDisabilityCare,
        F::FosterCare,
        F::Residential,
        F::SecureResidential,
    ];

    /// This form's row of [`FORMS`].
    pub fn info(self) -> &'static FormInfo {
        // In range and in order: checked at compile time above.
        &FORMS[self as usize]
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// The Dutch label.
    pub fn label_nl(self) -> &'static str {
        self.info().label_nl
    }

    /// The level on the intensity ladder.
    pub fn level(self) -> Level {
        self.info().level
    }

    /// Prevention, step-down aftercare or regular.
    pub fn purpose(self) -> FormPurpose {
        self.info().purpose
    }

    /// The CBS classification; `None` for light help, which CBS does not count as either.
    pub fn cbs_category(self) -> Option<CbsCategory> {
        self.level().cbs_category()
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Result<Self, UnknownCode> {
        FORMS
            .iter()
            .find(|row| row.code == code)
            .map(|row| row.form)
            .ok_or_else(|| UnknownCode {
                list: "help form",
                code: code.to_owned(),
            })
    }
}

crate::codes::code_serde!(HelpForm);

impl Level {
    /// Every level, lowest first.
    pub const ALL: &'static [Level] = &[
        Level::None,
        Level::Light,
        Level::SpecialistWithoutStay,
        Level::OutOfHome,
    ];

    /// The number on the ladder: 0 to 3.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The level with this number.
    pub fn from_number(number: u8) -> Option<Level> {
        Level::ALL.get(usize::from(number)).copied()
    }

    /// The Dutch label.
    pub const fn label_nl(self) -> &'static str {
        match self {
            Level::None => "Geen hulp",
            Level::Light => "Lichte hulp",
            Level::SpecialistWithoutStay => "Specialistische hulp zonder verblijf",
            Level::OutOfHome => "Hulp buiten huis (met verblijf)",
        }
    }

    /// CBS: level 2 is youth care without stay, level 3 with stay; lower levels are neither.
    pub const fn cbs_category(self) -> Option<CbsCategory> {
        match self {
            Level::SpecialistWithoutStay => Some(CbsCategory::WithoutStay),
            Level::OutOfHome => Some(CbsCategory::WithStay),
            Level::None | Level::Light => None,
        }
    }
}

/// A level is written as its number (0–3), as the figures of SPEC §4 speak of it.
impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

impl<'de> serde::Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        Level::from_number(n).ok_or_else(|| {
            serde::de::Error::custom(format!("level {n} is not on the ladder (0 to 3)"))
        })
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_covers_every_form_exactly_once() {
        assert_eq!(FORMS.len(), HelpForm::ALL.len());
        for &form in HelpForm::ALL {
            assert_eq!(
                FORMS.iter().filter(|row| row.form == form).count(),
                1,
                "{form:?}"
            );
            assert_eq!(HelpForm::from_code(form.code()), Ok(form));
            let json = serde_json::to_value(form).unwrap();
            assert_eq!(serde_json::from_value::<HelpForm>(json).unwrap(), form);
        }
        let codes: std::collections::HashSet<_> = FORMS.iter().map(|row| row.code).collect();
        assert_eq!(codes.len(), FORMS.len());
    }

    #[test]
    fn ladder_matches_spec_section_2_3() {
        let check = |level: Level, codes: &[&str]| {
            let mut actual: Vec<_> = FORMS
                .iter()
                .filter(|row| row.level == level)
                .map(|row| row.code)
                .collect();
            let mut expected = codes.to_vec();
            actual.sort();
            expected.sort();
            assert_eq!(actual, expected, "level {level}");
        };
        check(
            Level::Light,
            &[
                "wijkteam_support",
                "parenting_support",
                "mediation",
                "poh_ggz",
                "school_social_work",
                "own_strength",
                "group_programme",
                "buurtgezin_prevention",
                "buurtgezin_aftercare",
            ],
        );
        check(
            Level::SpecialistWithoutStay,
            &[
                "specialist_ambulant",
                "youth_mental_health",
                "youth_disability_care",
            ],
        );
        check(
            Level::OutOfHome,
            &["foster_care", "residential", "secure_residential"],
        );
        assert_eq!(
            HelpForm::BuurtgezinPrevention.purpose(),
            FormPurpose::Prevention
        );
        assert_eq!(
            HelpForm::BuurtgezinAftercare.purpose(),
            FormPurpose::StepDownAftercare
        );
        assert_eq!(HelpForm::Mediation.purpose(), FormPurpose::Regular);
    }

    #[test]
    fn cbs_classification_follows_the_level() {
        assert_eq!(
            HelpForm::YouthMentalHealth.cbs_category(),
            Some(CbsCategory::WithoutStay)
        );
        assert_eq!(
            HelpForm::FosterCare.cbs_category(),
            Some(CbsCategory::WithStay)
        );
        assert_eq!(HelpForm::OwnStrength.cbs_category(), None);
    }

    #[test]
    fn level_is_a_number_in_json() {
        assert_eq!(serde_json::to_string(&Level::OutOfHome).unwrap(), "3");
        assert_eq!(serde_json::from_str::<Level>("0").unwrap(), Level::None);
        assert!(serde_json::from_str::<Level>("4").is_err());
        assert!(Level::None < Level::Light && Level::SpecialistWithoutStay < Level::OutOfHome);
    }
}
