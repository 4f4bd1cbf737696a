//! Nieuwe melding: opens a trajectory from a signal — the youth by pseudonym or by BSN (checked
//! with the elfproef in the page and by the API, turned into the pseudonym there and never
//! shown again), source, concerns and urgency from the API's `codeLists`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jeugdpad_api::session::Role;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use crate::context::{Viewer, Web};
use crate::format;
use crate::forms::{Choice, Errors, Fields, Form as F, Input};
use crate::gql;
use crate::layout::{self, Page};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lists {
    code_lists: CodeLists,
    today: String,
}

#[derive(Debug, Deserialize)]
struct CodeLists {
    sources: Vec<Code>,
    concerns: Vec<Code>,
    urgencies: Vec<Code>,
}

#[derive(Debug, Deserialize)]
struct Code {
    code: String,
    label: String,
}

fn choices(codes: &[Code]) -> Vec<Choice> {
    codes
        .iter()
        .map(|c| Choice::new(c.code.clone(), c.label.clone()))
        .collect()
}

/// `GET /melding`.
pub(crate) async fn form(State(web): State<Web>, viewer: Viewer) -> Response {
    render(
        &web,
        &viewer,
        &Fields::default(),
        &Errors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render(
    web: &Web,
    viewer: &Viewer,
    values: &Fields,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    if viewer.session.role() != Role::Consultant {
        return crate::pages::not_for_role(viewer);
    }
    let lists: Lists = match gql::run(
        web,
        viewer,
        "{ codeLists { sources { code label } concerns { code label } urgencies { code label } } today }",
        json!({}),
    )
    .await
    {
        Ok(lists) => lists,
        Err(error) => return crate::pages::failure(viewer, &error),
    };
    let form = F { values, errors };
    let team = viewer
        .team()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_default();
    let event_id = values
        .get("eventId")
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let content = html! {
        h1 { "Nieuwe melding" }
        p class="jp-lead" { "Een melding opent een nieuw traject voor team " (team) "." }
        (errors.summary())
        form class="jp-form" method="post" action="/melding" novalidate autocomplete="off" {
            (layout::csrf(viewer))
            input type="hidden" name="eventId" value=(event_id);
            fieldset class="jp-panel" {
                legend { "Jeugdige" }
                p class="jp-hint" { "Vul het pseudoniem in, of het BSN. Een BSN wordt meteen omgezet in het pseudoniem en nergens bewaard." }
                (form.input("pseudoniem", "Pseudoniem", Input {
                    hint: Some("Bijvoorbeeld sk-2024-0113. Nooit een BSN in dit veld."),
                    ..Input::default()
                }))
                (form.input("bsn", "BSN", Input {
                    hint: Some("Negen cijfers; wordt gecontroleerd met de elfproef."),
                    inputmode: Some("numeric"), autocomplete: Some("off"), short: true,
                    bsn: true, no_echo: true,
                    ..Input::default()
                }))
                (form.input("geboortejaar", "Geboortejaar", Input {
                    kind: Some("number"), short: true, inputmode: Some("numeric"),
                    ..Input::default()
                }))
            }
            (form.input("datum", "Datum van de melding", Input {
                kind: Some("date"), default: Some(&lists.today), max: Some(&lists.today),
                required: true, short: true, hint: Some("dd-mm-jjjj; vandaag of eerder"),
                ..Input::default()
            }))
            (form.select("bron", "Bron van de melding", None,
                &[(String::new(), choices(&lists.code_lists.sources))], None, true, None))
            (form.checkboxes("zorgen", "Zorgen", Some("Kies er ten minste één."), &choices(&lists.code_lists.concerns)))
            (form.radios("urgentie", "Urgentie", None, &choices(&lists.code_lists.urgencies), Some("regular"), true))
            div class="jp-form-actions" {
                button class="jp-button" type="submit" { "Melding registreren" }
                a href="/caseload" { "Annuleren" }
            }
        }
    };
    Page::new("Nieuwe melding", Some(viewer))
        .status(status)
        .render(content)
}

/// `POST /melding`: `openTrajectory`, then on to the new trajectory's page.
pub(crate) async fn submit(
    State(web): State<Web>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(refused) = viewer.check_csrf(fields.get("_csrf")) {
        return refused;
    }
    let mut errors = Errors::default();
    let subject = fields.get("pseudoniem");
    let bsn = fields.get("bsn");
    match (subject, bsn) {
        (None, None) => errors.field(
            "pseudoniem",
            "vul het pseudoniem of het BSN van de jeugdige in",
        ),
        (Some(_), Some(_)) => errors.field("bsn", "vul het pseudoniem óf het BSN in, niet allebei"),
        _ => {}
    }
    let date = match fields.get("datum").map(format::parse_date_input) {
        Some(Some(date)) => Some(date.to_string()),
        Some(None) => {
            errors.field(
                "datum",
                "schrijf de datum als dd-mm-jjjj, bijvoorbeeld 30-11-2026",
            );
            None
        }
        None => {
            errors.field("datum", "vul de datum van de melding in");
            None
        }
    };
    let source = fields.get("bron");
    if source.is_none() {
        errors.field("bron", "kies de bron van de melding");
    }
    let concerns: Vec<String> = fields
        .all("zorgen")
        .iter()
        .map(|c| format::graphql(c))
        .collect();
    if concerns.is_empty() {
        errors.field("zorgen", "kies ten minste één zorg");
    }
    let birth_year = match fields.get("geboortejaar") {
        None => None,
        Some(text) => match text.parse::<i32>() {
            Ok(year) => Some(year),
            Err(_) => {
                errors.field(
                    "geboortejaar",
                    "schrijf het geboortejaar als vier cijfers, bijvoorbeeld 2014",
                );
                None
            }
        },
    };
    if !errors.is_empty() {
        return render(
            &web,
            &viewer,
            &without_bsn(&fields),
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let team = viewer
        .team()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_default();
    let signal = json!({
        "subjectKey": subject,
        "bsn": bsn,
        "team": team,
        "source": source.map(format::graphql),
        "concerns": concerns,
        "urgency": format::graphql(fields.get("urgentie").unwrap_or("regular")),
        "birthYear": birth_year,
    });
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Opened {
        open_trajectory: Recorded,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Recorded {
        trajectory_id: String,
        event_id: String,
    }
    let opened: Result<Opened, _> = gql::run(
        &web,
        &viewer,
        "mutation($on: Date!, $signal: SignalInput!, $eventId: ID) {
           openTrajectory(occurredOn: $on, signal: $signal, eventId: $eventId) { trajectoryId eventId } }",
        json!({ "on": date, "signal": signal, "eventId": fields.get("eventId") }),
    )
    .await;
    match opened {
        Ok(opened) => Redirect::to(&format!(
            "/traject/{}?vastgelegd={}",
            opened.open_trajectory.trajectory_id, opened.open_trajectory.event_id
        ))
        .into_response(),
        Err(error) if matches!(error.code.as_str(), "VALIDATION" | "INVALID_TRANSITION") => {
            let field = match (error.reason.as_deref(), error.field.as_deref()) {
                (Some("in_the_future" | "before_signal" | "implausible_date"), _) => Some("datum"),
                (Some("no_concerns" | "duplicate_concern"), _) => Some("zorgen"),
                (Some("implausible_birth_year"), _) => Some("geboortejaar"),
                (_, Some("bsn")) => Some("bsn"),
                (_, Some("subjectKey")) => Some("pseudoniem"),
                _ => None,
            };
            match field {
                Some(field) => errors.field(field, error.message),
                None => errors.general(crate::pages::capitalised(&error.message)),
            }
            render(
                &web,
                &viewer,
                &without_bsn(&fields),
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => crate::pages::failure(&viewer, &error),
    }
}

/// The form's values without the BSN: it is never written back into a page.
fn without_bsn(fields: &Fields) -> Fields {
    Fields(
        fields
            .0
            .iter()
            .filter(|(k, _)| k != "bsn")
            .cloned()
            .collect(),
    )
}
