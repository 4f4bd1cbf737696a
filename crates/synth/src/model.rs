//! The scenario compiled for generation: weighted tables ready to sample, the validated values
//! every case reuses (team codes, consultant ids, providers, reasons), and the few fixed data
//! tables that only need to look plausible. Built once per cohort, so planning a case does no
//! parsing or validation of its own.

use chrono::{Datelike, Days, NaiveDate};
use jeugdpad_domain::{
    Concern, EpisodeId, HelpForm, ProductCategory, Provider, Reason, Source, TeamCode, Urgency,
    UserId, MAX_BIRTH_YEARS_AGO,
};
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::scenario::{Pathway, Scenario, ScenarioError};

/// Concerns a signal names, with relative weights. Not in the scenario: no figure groups by
/// concern, so they only need to look plausible.
const CONCERNS: &[(Concern, f64)] = &[
    (Concern::Parenting, 0.26),
    (Concern::Development, 0.12),
    (Concern::Behaviour, 0.18),
    (Concern::MentalHealth, 0.16),
    (Concern::SchoolAttendance, 0.10),
    (Concern::DomesticViolence, 0.07),
    (Concern::Financial, 0.04),
    (Concern::Housing, 0.03),
    (Concern::Addiction, 0.02),
    (Concern::Other, 0.02),
];

/// The iJw productcategorie a decision on each heavier form carries (code list of the iJw
/// standard): 45 jeugdhulp ambulant, 41 dagbehandeling, 44 verblijf excl. behandeling (where
/// pleegzorg is declared), 43 verblijf incl. behandeling. Light help needs no decision.
fn product_category(form: HelpForm) -> &'static str {
    match form {
        HelpForm::YouthDisabilityCare => "41",
        HelpForm::FosterCare => "44",
        HelpForm::Residential | HelpForm::SecureResidential => "43",
        _ => "45",
    }
}

/// Fictitious providers per level: obviously invented names, so no real organisation appears in
/// synthetic data.
const PROVIDERS: [&[&str]; 3] = [
    &[
        "Wijkhulp Synthetica",
        "Opvoedpunt Voorbeeld",
        "Buurtgezinnen Fictief",
    ],
    &[
        "Jeugd-ggz Synthetica",
        "Ambulant Voorbeeld B.V.",
        "Zorgboog Fictief",
    ],
    &[
        "Pleegzorg Synthetica",
        "Residentie Voorbeeld",
        "Huize Fictief",
    ],
];

const CORRECTION_REASON: &str =
    "Datum van het onderzoek verkeerd overgenomen uit het verslag; gecorrigeerd (synthetisch).";
const RETRACTION_REASON: &str = "Onderzoek dubbel geregistreerd (synthetisch).";

/// A weighted table compiled once for fast sampling.
#[derive(Debug)]
pub(crate) struct Table<T> {
    items: Vec<T>,
    index: WeightedIndex<f64>,
}

impl<T: Clone> Table<T> {
    fn new(
        field: &'static str,
        rows: impl IntoIterator<Item = (T, f64)>,
    ) -> Result<Self, ScenarioError> {
        let (items, weights): (Vec<T>, Vec<f64>) = rows.into_iter().unzip();
        let index = WeightedIndex::new(weights).map_err(|_| ScenarioError::BadWeights { field })?;
        Ok(Table { items, index })
    }

    pub(crate) fn pick(&self, rng: &mut ChaCha8Rng) -> T {
        self.items[self.index.sample(rng)].clone()
    }
}

/// The scenario compiled for generation: samplers and the validated values every case reuses.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) scenario: Scenario,
    /// Indexes into `teams`.
    pub(crate) team: Table<usize>,
    pub(crate) teams: Vec<TeamCode>,
    /// Per team, its consultants.
    pub(crate) consultants: Vec<Vec<UserId>>,
    pub(crate) sources: Table<Source>,
    pub(crate) urgency: Table<Urgency>,
    pub(crate) pathways: Table<Pathway>,
    pub(crate) concerns: Table<Concern>,
    pub(crate) light_forms: Table<HelpForm>,
    pub(crate) specialist_forms: Table<HelpForm>,
    pub(crate) out_of_home_forms: Table<HelpForm>,
    pub(crate) providers: [Vec<Provider>; 3],
    pub(crate) correction_reason: Reason,
    pub(crate) retraction_reason: Reason,
    /// The oldest birth year the domain accepts today.
    pub(crate) oldest_birth_year: i32,
}

impl Model {
    pub(crate) fn new(scenario: &Scenario, today: NaiveDate) -> Result<Model, ScenarioError> {
        let teams: Vec<TeamCode> = scenario.teams.keys().cloned().collect();
        let consultants = teams
            .iter()
            .map(|team| {
                (1..=scenario.consultants_per_team)
                    .map(|n| user(&format!("consulent-{team}-{n:02}")))
                    .collect()
            })
            .collect();
        let providers = PROVIDERS.map(|names| names.iter().map(|name| provider(name)).collect());
        Ok(Model {
            team: Table::new("teams", scenario.teams.values().copied().enumerate())?,
            teams,
            consultants,
            sources: Table::new("sources", scenario.sources.clone())?,
            urgency: Table::new("urgency", scenario.urgency.clone())?,
            pathways: Table::new("pathways", scenario.pathways.clone())?,
            concerns: Table::new("concerns", CONCERNS.iter().copied())?,
            light_forms: Table::new("light_forms", scenario.light_forms.clone())?,
            specialist_forms: Table::new("specialist_forms", scenario.specialist_forms.clone())?,
            out_of_home_forms: Table::new("out_of_home_forms", scenario.out_of_home_forms.clone())?,
            providers,
            correction_reason: reason(CORRECTION_REASON),
            retraction_reason: reason(RETRACTION_REASON),
            oldest_birth_year: today.year() - MAX_BIRTH_YEARS_AGO,
            scenario: scenario.clone(),
        })
    }
}

// The constructors below take texts built in this module, which are valid by construction.
pub(crate) fn user(id: &str) -> UserId {
    UserId::parse(id).expect("consultant ids built from a team slug are valid")
}

pub(crate) fn provider(name: &str) -> Provider {
    Provider::parse(name).expect("the fictitious provider names are valid")
}

pub(crate) fn reason(text: &str) -> Reason {
    Reason::parse(text).expect("the fixed reasons are valid")
}

pub(crate) fn episode_id(n: u32) -> EpisodeId {
    EpisodeId::parse(format!("ep-{n}")).expect("`ep-<n>` is a valid episode id")
}

pub(crate) fn category(form: HelpForm) -> ProductCategory {
    ProductCategory::parse(product_category(form)).expect("the category table holds two digits")
}

pub(crate) fn plus(on: NaiveDate, days: i64) -> NaiveDate {
    // Spans are validated non-negative where they are added; the bound keeps dates in range.
    on + Days::new(days.max(0) as u64)
}

pub(crate) fn random_uuid(rng: &mut ChaCha8Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid()
}
