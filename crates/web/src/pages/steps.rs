//! The step forms: one per kind of step, few fields, code lists as choices with Dutch labels,
//! dates with a date picker (today by default), help forms grouped by intensity level.
//!
//! Every form carries the version the page showed (sent as `expectedVersion`: a stale page is
//! refused with a "reload" message, never a silent overwrite) and a fresh `eventId` (a double
//! click records once). A refusal of the domain comes back as its Dutch sentence and is shown
//! beside the field it concerns; nothing is written.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jeugdpad_domain::{HelpForm, Level};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::context::{Viewer, Web};
use crate::format;
use crate::forms::{Choice, Errors, Fields, Form as F, Input};
use crate::gql::{self, GqlError};
use crate::layout::{self, Page};
use crate::pages::trajectory::{self, may_record, Trajectory};

/// (GraphQL step, URL slug).
const SLUGS: &[(&str, &str)] = &[
    ("ASSIGN_CONSULTANT", "consulent-toewijzen"),
    ("TRANSFER_TEAM", "overdragen"),
    ("COMPLETE_ASSESSMENT", "onderzoek-afronden"),
    ("REQUEST_HELP", "hulp-aanvragen"),
    ("ISSUE_DECISION", "beschikking-afgeven"),
    ("START_HELP", "hulp-starten"),
    ("END_HELP", "hulp-beeindigen"),
    ("GRANT_PGB", "pgb-toekennen"),
    ("SCHEDULE_PGB_REVIEW", "pgb-heroverweging-plannen"),
    ("COMPLETE_PGB_REVIEW", "pgb-heroverweging-afronden"),
    ("CLOSE", "afsluiten"),
    ("CORRECT", "corrigeren"),
    ("RETRACT", "intrekken"),
];

/// The URL slug of a step.
pub(crate) fn slug(step: &str) -> Option<&'static str> {
    SLUGS
        .iter()
        .find(|(s, _)| *s == step)
        .map(|(_, slug)| *slug)
}

fn step_of(slug: &str) -> Option<&'static str> {
    SLUGS
        .iter()
        .find(|(_, s)| *s == slug)
        .map(|(step, _)| *step)
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct StepQuery {
    /// For a correction or retraction: the step it names.
    gebeurtenis: Option<String>,
}

/// `GET /traject/{id}/stap/{step}`.
pub(crate) async fn form(
    State(web): State<Web>,
    viewer: Viewer,
    Path((id, step_slug)): Path<(String, String)>,
    Query(query): Query<StepQuery>,
) -> Response {
    let Some(step) = step_of(&step_slug) else {
        return crate::pages::not_found_page();
    };
    let trajectory = match trajectory::load(&web, &viewer, &id).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    let mut values = Fields::default();
    if let Some(event) = query.gebeurtenis {
        values.0.push(("gebeurtenis".into(), event));
    }
    render(
        &web,
        &viewer,
        &trajectory,
        step,
        &values,
        &Errors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Renders the form of `step` for `trajectory` with `values` and `errors`. `version`: the one
/// the person's page showed when the form was sent (kept on a refusal, so a stale form stays
/// stale until reloaded); `None` for a fresh form.
#[allow(clippy::too_many_arguments)]
async fn render(
    web: &Web,
    viewer: &Viewer,
    trajectory: &Trajectory,
    step: &str,
    values: &Fields,
    errors: &Errors,
    version: Option<&str>,
    status: StatusCode,
) -> Response {
    let label = trajectory
        .allowed(step)
        .map(|a| a.label.clone())
        .unwrap_or_else(|| label_of(step).to_owned());
    let title = format!("{label} — {}", trajectory.name());
    let back = format!("/traject/{}", trajectory.id);
    let Some(allowed) = trajectory
        .allowed(step)
        .filter(|_| may_record(viewer, step))
    else {
        return Page::new(title, Some(viewer))
            .status(StatusCode::CONFLICT)
            .render(html! {
                h1 { (label) }
                (layout::alert("warning", Some("Deze stap kan nu niet"), html! {
                    @if may_record(viewer, step) {
                        p { "De regels staan deze stap in dit traject nu niet toe. Er is niets vastgelegd." }
                    } @else {
                        p { "Deze stap legt uw rol niet vast." }
                    }
                }))
                p { a href=(back) { "Terug naar het traject" } }
            });
    };
    let today = web.state.today().to_string();
    let form = F { values, errors };
    let fields = match step {
        "ASSIGN_CONSULTANT" => form.input(
            "consulent",
            "Consulent (gebruikersnaam)",
            Input {
                hint: Some("De gebruikersnaam van de consulent die het traject krijgt."),
                default: Some(viewer.session.user().as_str()),
                required: true,
                ..Input::default()
            },
        ),
        "TRANSFER_TEAM" => {
            let teams = teams(web, viewer).await;
            let current = trajectory
                .summary
                .as_ref()
                .map(|s| s.team.clone())
                .unwrap_or_default();
            let choices: Vec<Choice> = teams
                .into_iter()
                .filter(|(code, _)| *code != current)
                .map(|(code, name)| Choice::new(code.clone(), format!("{name} ({code})")))
                .collect();
            form.select(
                "team",
                "Naar team",
                Some("Het ontvangende team is vanaf de datum eigenaar van het traject."),
                &[(String::new(), choices)],
                None,
                true,
                None,
            )
        }
        "COMPLETE_ASSESSMENT" => form.radios(
            "conclusie",
            "Conclusie van het onderzoek",
            None,
            &codes(
                jeugdpad_domain::AssessmentConclusion::ALL
                    .iter()
                    .map(|c| (c.code(), c.label_nl())),
            ),
            None,
            false,
        ),
        "REQUEST_HELP" => form.select(
            "hulpvorm",
            "Gevraagde hulpvorm",
            None,
            &help_forms(None),
            None,
            true,
            None,
        ),
        "ISSUE_DECISION" => html! {
            (form.select("hulpvorm", "Hulpvorm", Some("Alleen hulpvormen met een openstaande aanvraag: de beschikking beantwoordt de oudste."),
                &help_forms(Some(&allowed.forms)), allowed.forms.first().map(|f| format::code(f)).as_deref(), true,
                Some(("pleegzorg", "foster_care"))))
            (form.radios("toegekend", "Besluit", None,
                &[Choice::new("ja", "Toegekend"), Choice::new("nee", "Afgewezen")], Some("ja"), true))
            (form.radios("financiering", "Financiering", None,
                &codes(jeugdpad_domain::DecisionFunding::ALL.iter().map(|c| (c.code(), c.label_nl()))), Some("in_kind"), false))
            (form.input("geldig_vanaf", "Geldig vanaf", Input { kind: Some("date"), default: Some(&today), required: true, short: true, hint: Some("dd-mm-jjjj"), ..Input::default() }))
            (form.input("geldig_tot", "Geldig tot", Input { kind: Some("date"), short: true, hint: Some("dd-mm-jjjj; leeg als de beschikking niet afloopt"), ..Input::default() }))
            (form.input("productcategorie", "iJw-productcategorie", Input { hint: Some("Twee cijfers, bijvoorbeeld 40."), short: true, inputmode: Some("numeric"), ..Input::default() }))
            (form.input("aanbieder", "Aanbieder", Input::default()))
            (foster_fields(&form, false))
        },
        "START_HELP" => html! {
            (form.select("hulpvorm", "Hulpvorm", Some("Gegroepeerd naar niveau op de intensiteitsladder."),
                &help_forms(None), None, true, Some(("pleegzorg", "foster_care"))))
            (form.input("episode", "Naam van de hulpepisode", Input {
                hint: Some("Uniek in dit traject; bij het beëindigen kiest u deze naam."),
                default: allowed.suggested_episode_id.as_deref(),
                required: true, short: true, ..Input::default()
            }))
            (form.input("aanbieder", "Aanbieder", Input::default()))
            (foster_fields(&form, true))
        },
        "END_HELP" => html! {
            (form.select("episode", "Hulpepisode", None,
                &[(String::new(), allowed.episode_ids.iter().map(|e| Choice::new(e.clone(), episode_label(trajectory, e))).collect())],
                allowed.episode_ids.first().map(String::as_str), true, None))
            (form.radios("resultaat", "Resultaat", None,
                &codes(jeugdpad_domain::HelpResult::ALL.iter().map(|c| (c.code(), c.label_nl()))), None, false))
        },
        "GRANT_PGB" => html! {
            (form.input("bedrag", "Bedrag in euro", Input { hint: Some("Bijvoorbeeld 1.250,00"), required: true, short: true, inputmode: Some("decimal"), ..Input::default() }))
            (form.select("periode", "Per", None,
                &[(String::new(), codes(jeugdpad_domain::PgbPeriod::ALL.iter().map(|c| (c.code(), c.label_nl()))))],
                Some("month"), true, None))
            (form.input("productcategorie", "iJw-productcategorie", Input { hint: Some("Twee cijfers, bijvoorbeeld 40."), required: true, short: true, inputmode: Some("numeric"), ..Input::default() }))
        },
        "SCHEDULE_PGB_REVIEW" => form.input(
            "uiterlijk",
            "Uiterlijk af op",
            Input {
                kind: Some("date"),
                required: true,
                short: true,
                hint: Some("dd-mm-jjjj: de datum waarop de heroverweging af moet zijn"),
                ..Input::default()
            },
        ),
        "COMPLETE_PGB_REVIEW" => html! {
            (form.radios("besluit", "Besluit", None,
                &codes(jeugdpad_domain::PgbReviewDecision::ALL.iter().map(|c| (c.code(), c.label_nl()))), None, false))
            (form.checkbox("kwaliteit", "Er is zorg over de kwaliteit van de ingekochte hulp"))
            (form.checkbox("onrechtmatigheid", "Er is een vermoeden van onrechtmatigheid (fraudesignaal)"))
        },
        "CLOSE" => form.radios(
            "reden_afsluiten",
            "Reden van afsluiten",
            None,
            &codes(
                jeugdpad_domain::CloseReason::ALL
                    .iter()
                    .map(|c| (c.code(), c.label_nl())),
            ),
            None,
            false,
        ),
        "CORRECT" | "RETRACT" => amend_fields(&form, trajectory, allowed, step == "CORRECT"),
        _ => html! {},
    };
    let date_label = match step {
        "CORRECT" => "Datum van de correctie",
        "RETRACT" => "Datum van de intrekking",
        _ => "Datum",
    };
    let version = version.map_or_else(|| trajectory.version.to_string(), str::to_owned);
    let event_id = values
        .get("eventId")
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let team = trajectory
        .summary
        .as_ref()
        .map(|s| s.team.clone())
        .unwrap_or_default();
    let content = html! {
        div data-live-trajectory=(trajectory.id) data-live-team=(team) data-version=(version) data-live-form {
            p { a href=(back) { "← Terug naar het traject" } }
            h1 { (label) span class="jp-visually-hidden" { " — " (trajectory.name()) } }
            p class="jp-lead" { (trajectory.name())
                @if let Some(s) = &trajectory.summary { ", " (format::phase(&s.phase).to_lowercase()) } }
            div id="live-melding" class="jp-alert jp-alert--warning" role="status" hidden { p {} }
            (errors.summary())
            form class="jp-form" method="post" action={ "/traject/" (trajectory.id) "/stap/" (slug(step).unwrap_or_default()) } novalidate {
                (layout::csrf(viewer))
                input type="hidden" name="versie" value=(version);
                input type="hidden" name="eventId" value=(event_id);
                (form.input("datum", date_label, Input {
                    kind: Some("date"), default: Some(&today), max: Some(&today), required: true, short: true,
                    hint: Some("dd-mm-jjjj; vandaag of eerder, nooit in de toekomst"),
                    ..Input::default()
                }))
                (fields)
                div class="jp-form-actions" {
                    button class={ "jp-button" @if step == "RETRACT" { " jp-button--danger" } } type="submit" { (label) }
                    a href=(back) { "Annuleren" }
                }
            }
        }
    };
    Page::new(title, Some(viewer))
        .status(status)
        .render(content)
}

fn label_of(step: &str) -> &'static str {
    jeugdpad_domain::StepKind::ALL
        .iter()
        .find(|k| format::graphql(k.code()) == step)
        .map_or("Stap", |k| k.label_nl())
}

fn codes<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<Choice> {
    items
        .map(|(code, label)| Choice::new(code, label))
        .collect()
}

/// The help forms grouped by level on the ladder; only `only` (GraphQL values) when given.
fn help_forms(only: Option<&[String]>) -> Vec<(String, Vec<Choice>)> {
    [Level::Light, Level::SpecialistWithoutStay, Level::OutOfHome]
        .into_iter()
        .map(|level| {
            let choices = HelpForm::ALL
                .iter()
                .filter(|f| f.level() == level)
                .filter(|f| {
                    only.is_none_or(|only| only.iter().any(|o| format::code(o) == f.code()))
                })
                .map(|f| Choice::new(f.code(), f.label_nl()))
                .collect::<Vec<_>>();
            (
                format!(
                    "Niveau {} — {}",
                    level.number(),
                    level.label_nl().to_lowercase()
                ),
                choices,
            )
        })
        .filter(|(_, choices)| !choices.is_empty())
        .collect()
}

fn foster_fields(form: &F<'_>, required: bool) -> Markup {
    html! {
        fieldset id="pleegzorg" class="jp-panel" {
            legend { "Alleen bij pleegzorg" }
            p class="jp-hint" {
                @if required { "Bij pleegzorg zijn soort en vorm verplicht; bij andere hulp blijven ze leeg." }
                @else { "Bij pleegzorg mag u soort en vorm vastleggen (allebei of geen van beide)." }
            }
            (form.select("pleegzorg_soort", "Soort pleegzorg", None,
                &[(String::new(), codes(jeugdpad_domain::FosterKind::ALL.iter().map(|c| (c.code(), c.label_nl()))))], None, false, None))
            (form.select("pleegzorg_vorm", "Vorm van pleegzorg", None,
                &[(String::new(), codes(jeugdpad_domain::FosterMode::ALL.iter().map(|c| (c.code(), c.label_nl()))))], None, false, None))
        }
    }
}

fn episode_label(trajectory: &Trajectory, episode: &str) -> String {
    let started = trajectory.timeline.iter().find(|e| {
        e.kind == "HELP_STARTED"
            && e.retracted_by.is_none()
            && e.payload.get("episode_id").and_then(Value::as_str) == Some(episode)
    });
    match started {
        Some(entry) => {
            let form = entry
                .payload
                .get("form")
                .and_then(Value::as_str)
                .map(format::form)
                .unwrap_or_default();
            format!(
                "{episode}: {form}, gestart {}",
                format::date(trajectory.current_date(entry))
            )
        }
        None => episode.to_owned(),
    }
}

fn amend_fields(
    form: &F<'_>,
    trajectory: &Trajectory,
    allowed: &trajectory::Allowed,
    correct: bool,
) -> Markup {
    let choices: Vec<Choice> = allowed
        .event_ids
        .iter()
        .map(|id| Choice::new(id.clone(), trajectory.describe(id)))
        .collect();
    let chosen = form
        .values
        .get("gebeurtenis")
        .and_then(|id| trajectory.entry(id));
    html! {
        (form.select("gebeurtenis", if correct { "Welke stap corrigeert u?" } else { "Welke stap trekt u in?" }, None,
            &[(String::new(), choices)], None, true, None))
        @if correct {
            (form.input("nieuwe_datum", "Juiste datum van die stap", Input {
                kind: Some("date"), short: true,
                hint: Some("dd-mm-jjjj; leeg als de datum goed was"),
                ..Input::default()
            }))
            @if let Some(entry) = chosen {
                @match entry.kind.as_str() {
                    "ASSESSMENT_COMPLETED" => (form.select("nieuwe_conclusie", "Juiste conclusie", None,
                        &[(String::new(), codes(jeugdpad_domain::AssessmentConclusion::ALL.iter().map(|c| (c.code(), c.label_nl()))))], None, false, None)),
                    "HELP_REQUESTED" => (form.select("nieuwe_hulpvorm", "Juiste hulpvorm", None, &help_forms(None), None, false, None)),
                    "TRAJECTORY_CLOSED" => (form.select("nieuwe_reden", "Juiste reden van afsluiten", None,
                        &[(String::new(), codes(jeugdpad_domain::CloseReason::ALL.iter().map(|c| (c.code(), c.label_nl()))))], None, false, None)),
                    _ => {}
                }
            }
        }
        (form.textarea("reden", if correct { "Reden van de correctie" } else { "Reden van de intrekking" },
            Some("Wordt versleuteld bewaard en in de tijdlijn getoond."), true))
    }
}

/// The teams a trajectory can go to.
async fn teams(web: &Web, viewer: &Viewer) -> Vec<(String, String)> {
    #[derive(Deserialize)]
    struct Teams {
        teams: Vec<Team>,
    }
    #[derive(Deserialize)]
    struct Team {
        code: String,
        name: String,
    }
    gql::run::<Teams>(web, viewer, "{ teams { code name } }", json!({}))
        .await
        .map(|t| t.teams.into_iter().map(|t| (t.code, t.name)).collect())
        .unwrap_or_default()
}

/// `POST /traject/{id}/stap/{step}`: the form becomes one mutation.
pub(crate) async fn submit(
    State(web): State<Web>,
    viewer: Viewer,
    Path((id, step_slug)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(refused) = viewer.check_csrf(fields.get("_csrf")) {
        return refused;
    }
    let Some(step) = step_of(&step_slug) else {
        return crate::pages::not_found_page();
    };
    let mut errors = Errors::default();
    let mutation = build(step, &fields, &mut errors);
    let version = fields.get("versie").and_then(|v| v.parse::<u64>().ok());
    if version.is_none() {
        errors.general("Het formulier mist de versie van het traject. Vernieuw de pagina.");
    }
    if errors.is_empty() {
        if let (Some((field, arguments, mut variables)), Some(version)) = (mutation, version) {
            variables.insert("trajectoryId".into(), json!(id));
            variables.insert("expectedVersion".into(), json!(version));
            variables.insert("eventId".into(), json!(fields.get("eventId")));
            let query = format!(
                "mutation($trajectoryId: ID!, $expectedVersion: Int, $eventId: ID{declarations}) {{
                   {field}(trajectoryId: $trajectoryId, expectedVersion: $expectedVersion, eventId: $eventId{arguments}) {{ eventId }} }}",
                declarations = arguments.iter().map(|(name, ty)| format!(", ${name}: {ty}")).collect::<String>(),
                arguments = arguments.iter().map(|(name, _)| format!(", {name}: ${name}")).collect::<String>(),
            );
            #[derive(Deserialize)]
            struct Recorded {
                #[serde(rename = "eventId")]
                event_id: String,
            }
            let answer: Result<Map<String, Value>, GqlError> =
                gql::run(&web, &viewer, &query, Value::Object(variables)).await;
            match answer {
                Ok(_) if step == "TRANSFER_TEAM" => {
                    // The trajectory is the other team's now: its page is no longer ours to show.
                    let team = fields.get("team").unwrap_or_default();
                    return Redirect::to(&format!(
                        "/caseload?overgedragen={}",
                        form_urlencoded::byte_serialize(team.as_bytes()).collect::<String>()
                    ))
                    .into_response();
                }
                Ok(data) => {
                    let event = data
                        .get(field)
                        .cloned()
                        .and_then(|v| serde_json::from_value::<Recorded>(v).ok())
                        .map(|r| r.event_id)
                        .unwrap_or_default();
                    return Redirect::to(&format!(
                        "/traject/{id}?vastgelegd={event}#gebeurtenis-{event}"
                    ))
                    .into_response();
                }
                Err(error) if error.code == "CONFLICT" => {
                    errors.general(format!(
                        "{}. Vernieuw de pagina om te zien wat er is vastgelegd; uw stap is niet vastgelegd.",
                        crate::pages::capitalised(error.message.trim_end_matches('.'))
                    ));
                }
                Err(error)
                    if matches!(error.code.as_str(), "VALIDATION" | "INVALID_TRANSITION") =>
                {
                    match field_of(&error) {
                        Some(name) => errors.field(name, error.message.clone()),
                        None => errors.general(crate::pages::capitalised(&error.message)),
                    }
                }
                Err(error) => return crate::pages::failure(&viewer, &error),
            }
        }
    }
    let trajectory = match trajectory::load(&web, &viewer, &id).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    let status = if errors
        .general
        .iter()
        .any(|e| e.contains("Vernieuw de pagina"))
    {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        &web,
        &viewer,
        &trajectory,
        step,
        &fields,
        &errors,
        fields.get("versie"),
        status,
    )
    .await
}

/// Which field of the form a refusal concerns: by the rule's slug, else by the API's field.
fn field_of(error: &GqlError) -> Option<&'static str> {
    let by_reason = match error.reason.as_deref() {
        Some(
            "in_the_future"
            | "before_signal"
            | "after_closure"
            | "episode_ends_before_start"
            | "no_open_review",
        ) => Some("datum"),
        Some("no_open_request") => Some("hulpvorm"),
        Some("episode_id_in_use" | "episode_not_started" | "episode_already_ended") => {
            Some("episode")
        }
        Some("foster_details_missing" | "foster_details_not_allowed") => Some("pleegzorg_soort"),
        Some("validity_ends_before_start") => Some("geldig_tot"),
        Some("amount_not_positive") => Some("bedrag"),
        Some("review_due_before_scheduled") => Some("uiterlijk"),
        Some("same_team") => Some("team"),
        Some("same_consultant") => Some("consulent"),
        Some("empty_correction") => Some("nieuwe_datum"),
        Some("unknown_event" | "target_is_amendment" | "target_retracted") => Some("gebeurtenis"),
        _ => None,
    };
    by_reason.or(match error.field.as_deref() {
        Some("episodeId") => Some("episode"),
        Some("provider") => Some("aanbieder"),
        Some("productCategory") => Some("productcategorie"),
        Some("reason") => Some("reden"),
        Some("consultant") => Some("consulent"),
        Some("team") => Some("team"),
        Some("fosterKind") => Some("pleegzorg_soort"),
        Some("corrects" | "retracts") => Some("gebeurtenis"),
        _ => None,
    })
}

/// A mutation: the field, its extra arguments `(name, GraphQL type)`, and their values.
type Mutation = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Map<String, Value>,
);

/// The mutation of `step` from the form, or the errors of fields filled in wrongly (checked
/// here only for what the API cannot be sent at all: missing choices, unreadable dates and
/// amounts; every rule is the domain's).
fn build(step: &str, fields: &Fields, errors: &mut Errors) -> Option<Mutation> {
    let mut variables = Map::new();
    let mut arguments: Vec<(&'static str, &'static str)> = vec![("occurredOn", "Date!")];
    let date = required_date(fields, errors, "datum", "vul de datum in");
    variables.insert("occurredOn".into(), json!(date));
    let upper = |v: Option<String>| v.map(|v| format::graphql(&v));
    let field = match step {
        "ASSIGN_CONSULTANT" => {
            arguments.push(("consultant", "String!"));
            variables.insert(
                "consultant".into(),
                json!(required(
                    fields,
                    errors,
                    "consulent",
                    "vul de gebruikersnaam van de consulent in"
                )),
            );
            "assignConsultant"
        }
        "TRANSFER_TEAM" => {
            arguments.push(("team", "String!"));
            variables.insert(
                "team".into(),
                json!(required(
                    fields,
                    errors,
                    "team",
                    "kies het team dat het traject overneemt"
                )),
            );
            "transferTeam"
        }
        "COMPLETE_ASSESSMENT" => {
            arguments.push(("conclusion", "AssessmentConclusion!"));
            variables.insert(
                "conclusion".into(),
                json!(upper(required(
                    fields,
                    errors,
                    "conclusie",
                    "kies de conclusie van het onderzoek"
                ))),
            );
            "completeAssessment"
        }
        "REQUEST_HELP" => {
            arguments.push(("form", "HelpForm!"));
            variables.insert(
                "form".into(),
                json!(upper(required(
                    fields,
                    errors,
                    "hulpvorm",
                    "kies de gevraagde hulpvorm"
                ))),
            );
            "requestHelp"
        }
        "ISSUE_DECISION" => {
            let form = upper(required(
                fields,
                errors,
                "hulpvorm",
                "kies de hulpvorm van de beschikking",
            ));
            let granted = required(fields, errors, "toegekend", "kies toegekend of afgewezen")
                .map(|v| v == "ja");
            let funding = upper(Some(
                fields.get("financiering").unwrap_or("in_kind").to_owned(),
            ));
            let valid_from =
                required_date(fields, errors, "geldig_vanaf", "vul de ingangsdatum in");
            let valid_until = optional_date(fields, errors, "geldig_tot");
            let mut decision = json!({
                "granted": granted, "form": form, "funding": funding,
                "validFrom": valid_from, "validUntil": valid_until,
                "productCategory": fields.get("productcategorie"),
                "provider": fields.get("aanbieder"),
            });
            add_foster(&mut decision, fields);
            arguments.push(("decision", "DecisionInput!"));
            variables.insert("decision".into(), decision);
            "issueDecision"
        }
        "START_HELP" => {
            let mut help = json!({
                "form": upper(required(fields, errors, "hulpvorm", "kies de hulpvorm")),
                "episodeId": required(fields, errors, "episode", "geef de hulpepisode een naam"),
                "provider": fields.get("aanbieder"),
            });
            add_foster(&mut help, fields);
            arguments.push(("help", "HelpStartInput!"));
            variables.insert("help".into(), help);
            "startHelp"
        }
        "END_HELP" => {
            arguments.push(("episodeId", "String!"));
            arguments.push(("result", "HelpResult!"));
            variables.insert(
                "episodeId".into(),
                json!(required(
                    fields,
                    errors,
                    "episode",
                    "kies de hulpepisode die eindigt"
                )),
            );
            variables.insert(
                "result".into(),
                json!(upper(required(
                    fields,
                    errors,
                    "resultaat",
                    "kies het resultaat"
                ))),
            );
            "endHelp"
        }
        "GRANT_PGB" => {
            let amount = match fields.get("bedrag") {
                None => {
                    errors.field("bedrag", "vul het bedrag in");
                    None
                }
                Some(text) => match format::parse_euros(text) {
                    Some(cents) => Some(cents),
                    None => {
                        errors.field(
                            "bedrag",
                            "schrijf het bedrag als euro's, bijvoorbeeld 1.250,00",
                        );
                        None
                    }
                },
            };
            let pgb = json!({
                "amountCents": amount,
                "period": upper(Some(fields.get("periode").unwrap_or("month").to_owned())),
                "productCategory": required(fields, errors, "productcategorie", "vul de iJw-productcategorie in (twee cijfers)"),
            });
            arguments.push(("pgb", "PgbInput!"));
            variables.insert("pgb".into(), pgb);
            "grantPgb"
        }
        "SCHEDULE_PGB_REVIEW" => {
            let due = required_date(
                fields,
                errors,
                "uiterlijk",
                "vul de datum in waarop de heroverweging af moet zijn",
            );
            arguments.push(("dueOn", "Date!"));
            variables.insert("dueOn".into(), json!(due));
            "schedulePgbReview"
        }
        "COMPLETE_PGB_REVIEW" => {
            let review = json!({
                "decision": upper(required(fields, errors, "besluit", "kies het besluit")),
                "qualityConcern": fields.get("kwaliteit").is_some(),
                "irregularitySuspected": fields.get("onrechtmatigheid").is_some(),
            });
            arguments.push(("review", "PgbReviewResultInput!"));
            variables.insert("review".into(), review);
            "completePgbReview"
        }
        "CLOSE" => {
            arguments.push(("reason", "CloseReason!"));
            variables.insert(
                "reason".into(),
                json!(upper(required(
                    fields,
                    errors,
                    "reden_afsluiten",
                    "kies de reden van afsluiten"
                ))),
            );
            "closeTrajectory"
        }
        "CORRECT" => {
            let target = required(
                fields,
                errors,
                "gebeurtenis",
                "kies de stap die u corrigeert",
            );
            let reason = required(fields, errors, "reden", "schrijf waarom u corrigeert");
            let new_date = optional_date(fields, errors, "nieuwe_datum");
            let replacement = if let Some(conclusion) = fields.get("nieuwe_conclusie") {
                Some(
                    json!({ "assessmentCompleted": { "conclusion": format::graphql(conclusion) } }),
                )
            } else if let Some(form) = fields.get("nieuwe_hulpvorm") {
                Some(json!({ "helpRequested": { "form": format::graphql(form) } }))
            } else {
                fields.get("nieuwe_reden").map(
                    |reason| json!({ "trajectoryClosed": { "reason": format::graphql(reason) } }),
                )
            };
            arguments.extend([
                ("corrects", "ID!"),
                ("reason", "String!"),
                ("replacementOccurredOn", "Date"),
                ("replacement", "StepInput"),
            ]);
            variables.insert("corrects".into(), json!(target));
            variables.insert("reason".into(), json!(reason));
            variables.insert("replacementOccurredOn".into(), json!(new_date));
            variables.insert("replacement".into(), replacement.unwrap_or(Value::Null));
            "correctEvent"
        }
        "RETRACT" => {
            arguments.extend([("retracts", "ID!"), ("reason", "String!")]);
            variables.insert(
                "retracts".into(),
                json!(required(
                    fields,
                    errors,
                    "gebeurtenis",
                    "kies de stap die u intrekt"
                )),
            );
            variables.insert(
                "reason".into(),
                json!(required(
                    fields,
                    errors,
                    "reden",
                    "schrijf waarom u deze stap intrekt"
                )),
            );
            "retractEvent"
        }
        _ => return None,
    };
    Some((field, arguments, variables))
}

fn required(fields: &Fields, errors: &mut Errors, name: &str, message: &str) -> Option<String> {
    let value = fields.get(name).map(str::to_owned);
    if value.is_none() {
        errors.field(name, message);
    }
    value
}

fn add_foster(input: &mut Value, fields: &Fields) {
    if let Value::Object(map) = input {
        if let Some(kind) = fields.get("pleegzorg_soort") {
            map.insert("fosterKind".into(), json!(format::graphql(kind)));
        }
        if let Some(mode) = fields.get("pleegzorg_vorm") {
            map.insert("fosterMode".into(), json!(format::graphql(mode)));
        }
    }
}

fn required_date(
    fields: &Fields,
    errors: &mut Errors,
    name: &str,
    missing: &str,
) -> Option<String> {
    match fields.get(name) {
        None => {
            errors.field(name, missing);
            None
        }
        Some(text) => match format::parse_date_input(text) {
            Some(date) => Some(date.to_string()),
            None => {
                errors.field(
                    name,
                    "schrijf de datum als dd-mm-jjjj, bijvoorbeeld 30-11-2026",
                );
                None
            }
        },
    }
}

fn optional_date(fields: &Fields, errors: &mut Errors, name: &str) -> Option<String> {
    let text = fields.get(name)?;
    match format::parse_date_input(text) {
        Some(date) => Some(date.to_string()),
        None => {
            errors.field(
                name,
                "schrijf de datum als dd-mm-jjjj, bijvoorbeeld 30-11-2026",
            );
            None
        }
    }
}
