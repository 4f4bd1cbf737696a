//! Beheer: teams, users, tokens (a new token is shown once; revoke), and the NEN 7513 inquiry —
//! who looked at which child's file, and when — by user, by youth (BSN or pseudonym), by
//! trajectory, by period. Everything through the API's admin queries and mutations, so each
//! change and each look at the access log is itself logged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{NaiveDate, TimeZone, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::context::{Viewer, Web};
use crate::format;
use crate::forms::{Choice, Errors, Fields, Form as F, Input};
use crate::gql::{self, GqlError};
use crate::layout::{self, Page};

#[derive(Debug, Deserialize)]
struct Team {
    code: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    name: String,
    role: String,
    team: Option<String>,
    active: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Token {
    token_id: String,
    user: String,
    label: Option<String>,
    expires_at: Option<String>,
    revoked: bool,
}

async fn teams(web: &Web, viewer: &Viewer) -> Result<Vec<Team>, GqlError> {
    #[derive(Deserialize)]
    struct Data {
        teams: Vec<Team>,
    }
    gql::run::<Data>(web, viewer, "{ teams { code name } }", json!({}))
        .await
        .map(|d| d.teams)
}

/// An admin mutation from a form: the CSRF check, the operation, then back to `to` (with a
/// notice), or the page again with the refusal beside the form.
async fn change(
    web: &Web,
    viewer: &Viewer,
    fields: &Fields,
    mutation: &str,
    variables: serde_json::Value,
) -> Result<serde_json::Value, Result<Response, String>> {
    if let Err(refused) = viewer.check_csrf(fields.get("_csrf")) {
        return Err(Ok(refused));
    }
    match gql::run::<serde_json::Value>(web, viewer, mutation, variables).await {
        Ok(data) => Ok(data),
        Err(error)
            if matches!(
                error.code.as_str(),
                "VALIDATION" | "INVALID_TRANSITION" | "NOT_FOUND"
            ) =>
        {
            Err(Err(crate::pages::capitalised(&error.message)))
        }
        Err(error) => Err(Ok(crate::pages::failure(viewer, &error))),
    }
}

/// `GET /beheer`: the teams.
pub(crate) async fn overview(State(web): State<Web>, viewer: Viewer) -> Response {
    teams_page(&web, &viewer, &Fields::default(), &Errors::default(), None).await
}

async fn teams_page(
    web: &Web,
    viewer: &Viewer,
    values: &Fields,
    errors: &Errors,
    notice: Option<&str>,
) -> Response {
    if viewer.session.role() != jeugdpad_api::session::Role::Admin {
        return crate::pages::not_for_role(viewer);
    }
    let teams = match teams(web, viewer).await {
        Ok(t) => t,
        Err(error) => return crate::pages::failure(viewer, &error),
    };
    let form = F { values, errors };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Page::new("Teams", Some(viewer)).status(status).render(html! {
        h1 { "Teams" }
        @if let Some(notice) = notice { (layout::alert("success", None, html! { p { (notice) } })) }
        (errors.summary())
        div class="jp-table-wrap" tabindex="0" role="region" aria-label={ (teams.len()) " teams" } {
            table {
                caption { (teams.len()) " teams" }
                thead { tr { th scope="col" { "Code" } th scope="col" { "Naam" } } }
                tbody { @for team in &teams { tr { td { (team.code) } td { (team.name) } } } }
            }
        }
        h2 { "Team toevoegen" }
        form class="jp-form" method="post" action="/beheer/teams" {
            (layout::csrf(viewer))
            (form.input("code", "Code", Input { hint: Some("Kleine letters, cijfers, - en _; bijvoorbeeld noord."), required: true, short: true, ..Input::default() }))
            (form.input("naam", "Naam", Input { hint: Some("Bijvoorbeeld Wijkteam Noord."), required: true, ..Input::default() }))
            div class="jp-form-actions" { button class="jp-button" type="submit" { "Team toevoegen" } }
        }
    })
}

/// `POST /beheer/teams`.
pub(crate) async fn add_team(
    State(web): State<Web>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    let mut errors = Errors::default();
    let (Some(code), Some(name)) = (fields.get("code"), fields.get("naam")) else {
        if fields.get("code").is_none() {
            errors.field("code", "vul de code van het team in");
        }
        if fields.get("naam").is_none() {
            errors.field("naam", "vul de naam van het team in");
        }
        return teams_page(&web, &viewer, &fields, &errors, None).await;
    };
    match change(
        &web,
        &viewer,
        &fields,
        "mutation($team: String!, $name: String!) { addTeam(team: $team, name: $name) }",
        json!({ "team": code, "name": name }),
    )
    .await
    {
        Ok(_) => {
            teams_page(
                &web,
                &viewer,
                &Fields::default(),
                &errors,
                Some("Het team is toegevoegd."),
            )
            .await
        }
        Err(Ok(response)) => response,
        Err(Err(message)) => {
            errors.field("code", message);
            teams_page(&web, &viewer, &fields, &errors, None).await
        }
    }
}

/// `GET /beheer/gebruikers`.
pub(crate) async fn users(State(web): State<Web>, viewer: Viewer) -> Response {
    users_page(&web, &viewer, &Fields::default(), &Errors::default(), None).await
}

async fn users_page(
    web: &Web,
    viewer: &Viewer,
    values: &Fields,
    errors: &Errors,
    notice: Option<&str>,
) -> Response {
    #[derive(Deserialize)]
    struct Data {
        users: Vec<User>,
        teams: Vec<Team>,
    }
    let data: Data = match gql::run(
        web,
        viewer,
        "{ users { id name role team active } teams { code name } }",
        json!({}),
    )
    .await
    {
        Ok(d) => d,
        Err(error) => return crate::pages::failure(viewer, &error),
    };
    let form = F { values, errors };
    let roles = ["CONSULTANT", "TEAM_LEAD", "ANALYST", "ADMIN"]
        .iter()
        .map(|r| Choice::new(*r, format::role(r)))
        .collect::<Vec<_>>();
    let team_choices = data
        .teams
        .iter()
        .map(|t| Choice::new(t.code.clone(), format!("{} ({})", t.name, t.code)))
        .collect::<Vec<_>>();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Page::new("Gebruikers", Some(viewer)).status(status).render(html! {
        h1 { "Gebruikers" }
        @if let Some(notice) = notice { (layout::alert("success", None, html! { p { (notice) } })) }
        (errors.summary())
        div class="jp-table-wrap" tabindex="0" role="region" aria-label={ (data.users.len()) " gebruikers" } {
            table {
                caption { (data.users.len()) " gebruikers" }
                thead { tr {
                    th scope="col" { "Gebruikersnaam" } th scope="col" { "Naam" } th scope="col" { "Rol" }
                    th scope="col" { "Team" } th scope="col" { "Status" } th scope="col" { "Actie" }
                } }
                tbody {
                    @for user in &data.users {
                        tr {
                            td { (user.id) } td { (user.name) } td { (format::role(&user.role)) }
                            td { (user.team.as_deref().unwrap_or("–")) }
                            td { @if user.active { "actief" } @else { span class="jp-badge" { "gedeactiveerd" } } }
                            td {
                                @if user.active {
                                    form method="post" action="/beheer/gebruikers/deactiveren" {
                                        (layout::csrf(viewer))
                                        input type="hidden" name="gebruiker" value=(user.id);
                                        button class="jp-button jp-button--secondary" type="submit" {
                                            "Deactiveren" span class="jp-visually-hidden" { " " (user.id) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Gebruiker toevoegen" }
        form class="jp-form" method="post" action="/beheer/gebruikers" {
            (layout::csrf(viewer))
            (form.input("gebruiker", "Gebruikersnaam", Input { hint: Some("Bijvoorbeeld j.jansen."), required: true, short: true, ..Input::default() }))
            (form.input("naam", "Naam", Input { required: true, ..Input::default() }))
            (form.radios("rol", "Rol", None, &roles, None, false))
            (form.select("team", "Team", Some("Alleen voor jeugdconsulenten en teamleiders."), &[(String::new(), team_choices)], None, false, None))
            div class="jp-form-actions" { button class="jp-button" type="submit" { "Gebruiker toevoegen" } }
        }
    })
}

/// `POST /beheer/gebruikers`.
pub(crate) async fn add_user(
    State(web): State<Web>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    let mut errors = Errors::default();
    for (name, message) in [
        ("gebruiker", "vul de gebruikersnaam in"),
        ("naam", "vul de naam in"),
        ("rol", "kies de rol"),
    ] {
        if fields.get(name).is_none() {
            errors.field(name, message);
        }
    }
    if !errors.is_empty() {
        return users_page(&web, &viewer, &fields, &errors, None).await;
    }
    match change(&web, &viewer, &fields,
        "mutation($user: String!, $name: String!, $role: Role!, $team: String) { addUser(user: $user, name: $name, role: $role, team: $team) }",
        json!({ "user": fields.get("gebruiker"), "name": fields.get("naam"), "role": fields.get("rol"), "team": fields.get("team") })).await {
        Ok(_) => users_page(&web, &viewer, &Fields::default(), &errors, Some("De gebruiker is toegevoegd. Maak een token aan onder Tokens.")).await,
        Err(Ok(response)) => response,
        Err(Err(message)) => {
            errors.general(message);
            users_page(&web, &viewer, &fields, &errors, None).await
        }
    }
}

/// `POST /beheer/gebruikers/deactiveren`.
pub(crate) async fn deactivate_user(
    State(web): State<Web>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    let mut errors = Errors::default();
    match change(
        &web,
        &viewer,
        &fields,
        "mutation($user: String!) { deactivateUser(user: $user) }",
        json!({ "user": fields.get("gebruiker") }),
    )
    .await
    {
        Ok(_) => {
            users_page(
                &web,
                &viewer,
                &Fields::default(),
                &errors,
                Some("De gebruiker is gedeactiveerd; geen van zijn tokens werkt nog."),
            )
            .await
        }
        Err(Ok(response)) => response,
        Err(Err(message)) => {
            errors.general(message);
            users_page(&web, &viewer, &Fields::default(), &errors, None).await
        }
    }
}

/// `GET /beheer/tokens`.
pub(crate) async fn tokens(State(web): State<Web>, viewer: Viewer) -> Response {
    tokens_page(&web, &viewer, &Fields::default(), &Errors::default(), None).await
}

async fn tokens_page(
    web: &Web,
    viewer: &Viewer,
    values: &Fields,
    errors: &Errors,
    created: Option<Markup>,
) -> Response {
    #[derive(Deserialize)]
    struct Data {
        tokens: Vec<Token>,
        users: Vec<User>,
    }
    let data: Data = match gql::run(
        web,
        viewer,
        "{ tokens { tokenId user label expiresAt revoked } users { id name role team active } }",
        json!({}),
    )
    .await
    {
        Ok(d) => d,
        Err(error) => return crate::pages::failure(viewer, &error),
    };
    let form = F { values, errors };
    let users = data
        .users
        .iter()
        .filter(|u| u.active)
        .map(|u| {
            Choice::new(
                u.id.clone(),
                format!("{} ({}, {})", u.name, u.id, format::role(&u.role)),
            )
        })
        .collect::<Vec<_>>();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Page::new("Tokens", Some(viewer)).status(status).render(html! {
        h1 { "Tokens" }
        @if let Some(created) = created { (created) }
        (errors.summary())
        h2 { "Token aanmaken" }
        form class="jp-form" method="post" action="/beheer/tokens" {
            (layout::csrf(viewer))
            (form.select("gebruiker", "Voor gebruiker", None, &[(String::new(), users)], None, true, None))
            (form.input("label", "Waarvoor", Input { hint: Some("Bijvoorbeeld laptop of Power BI."), ..Input::default() }))
            (form.input("dagen", "Geldig (dagen)", Input { kind: Some("number"), default: Some("90"), required: true, short: true, min: Some("1"), ..Input::default() }))
            div class="jp-form-actions" { button class="jp-button" type="submit" { "Token aanmaken" } }
        }
        h2 { "Alle tokens" }
        div class="jp-table-wrap" tabindex="0" role="region" aria-label={ "Alle tokens" } {
            table {
                caption class="jp-visually-hidden" { "Alle tokens" }
                thead { tr {
                    th scope="col" { "Token-id" } th scope="col" { "Gebruiker" } th scope="col" { "Waarvoor" }
                    th scope="col" { "Verloopt" } th scope="col" { "Status" } th scope="col" { "Actie" }
                } }
                tbody {
                    @for token in &data.tokens {
                        tr {
                            td { code { (token.token_id) } } td { (token.user) } td { (token.label.as_deref().unwrap_or("–")) }
                            td { (token.expires_at.as_deref().map(format::instant).unwrap_or_else(|| "nooit".into())) }
                            td { @if token.revoked { span class="jp-badge" { "ingetrokken" } } @else { "geldig" } }
                            td {
                                @if !token.revoked {
                                    form method="post" action="/beheer/tokens/intrekken" {
                                        (layout::csrf(viewer))
                                        input type="hidden" name="token" value=(token.token_id);
                                        button class="jp-button jp-button--danger" type="submit" {
                                            "Intrekken" span class="jp-visually-hidden" { " token " (token.token_id) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `POST /beheer/tokens`: the new token is shown on this one answer, never again.
pub(crate) async fn create_token(
    State(web): State<Web>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    let mut errors = Errors::default();
    let Some(user) = fields.get("gebruiker") else {
        errors.field("gebruiker", "kies de gebruiker");
        return tokens_page(&web, &viewer, &fields, &errors, None).await;
    };
    let days: i64 = match fields.get("dagen").unwrap_or("90").parse() {
        Ok(days) if days >= 1 => days,
        _ => {
            errors.field(
                "dagen",
                "schrijf het aantal dagen als een heel getal, 1 of meer",
            );
            return tokens_page(&web, &viewer, &fields, &errors, None).await;
        }
    };
    match change(&web, &viewer, &fields,
        "mutation($user: String!, $label: String, $days: Int!) { createToken(user: $user, label: $label, expiresInDays: $days) { tokenId token expiresAt } }",
        json!({ "user": user, "label": fields.get("label"), "days": days })).await {
        Ok(data) => {
            let token = data["createToken"]["token"].as_str().unwrap_or_default().to_owned();
            let shown = layout::alert("success", Some("Token aangemaakt"), html! {
                p { "Geef dit token aan " strong { (user) } ". Het wordt " strong { "maar één keer" } " getoond: bewaar het in een wachtwoordkluis." }
                code class="jp-token" { (token) }
            });
            let mut response = tokens_page(&web, &viewer, &Fields::default(), &errors, Some(shown)).await;
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(Ok(response)) => response,
        Err(Err(message)) => {
            errors.field("gebruiker", message);
            tokens_page(&web, &viewer, &fields, &errors, None).await
        }
    }
}

/// `POST /beheer/tokens/intrekken`.
pub(crate) async fn revoke_token(
    State(web): State<Web>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    match change(
        &web,
        &viewer,
        &fields,
        "mutation($id: String!) { revokeToken(tokenId: $id) }",
        json!({ "id": fields.get("token") }),
    )
    .await
    {
        Ok(_) => Redirect::to("/beheer/tokens").into_response(),
        Err(Ok(response)) => response,
        Err(Err(message)) => {
            let mut errors = Errors::default();
            errors.general(message);
            tokens_page(&web, &viewer, &Fields::default(), &errors, None).await
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEntry {
    at: String,
    action: String,
    outcome: String,
    operation: String,
    user: Option<String>,
    role: Option<String>,
    team: Option<String>,
    trajectory_id: Option<String>,
    subject_key: Option<String>,
    client_address: Option<String>,
    client_application: Option<String>,
    reason: Option<String>,
}

/// The first instant of a Dutch calendar day, in UTC.
fn day_start(date: NaiveDate) -> String {
    let midnight = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default());
    let offset = jeugdpad_app::amsterdam_time(midnight) - midnight.naive_utc();
    (midnight - offset).to_rfc3339()
}

/// `GET /beheer/toegangslog` (the latest entries) and `POST` (an inquiry: a BSN may be in it).
pub(crate) async fn access_log(State(web): State<Web>, viewer: Viewer) -> Response {
    log_page(&web, &viewer, &Fields::default()).await
}

async fn log_page(web: &Web, viewer: &Viewer, fields: &Fields) -> Response {
    let mut errors = Errors::default();
    let from = fields.get("van").map(|t| (t, format::parse_date_input(t)));
    let to = fields.get("tot").map(|t| (t, format::parse_date_input(t)));
    if let Some((_, None)) = from {
        errors.field("van", "schrijf de datum als dd-mm-jjjj");
    }
    if let Some((_, None)) = to {
        errors.field("tot", "schrijf de datum als dd-mm-jjjj");
    }
    if fields.get("bsn").is_some() && fields.get("pseudoniem").is_some() {
        errors.field("bsn", "zoek op het BSN óf op het pseudoniem, niet allebei");
    }
    let variables = json!({
        "user": fields.get("gebruiker"),
        "subjectKey": fields.get("pseudoniem"),
        "bsn": fields.get("bsn"),
        "trajectoryId": fields.get("traject"),
        "from": from.and_then(|(_, d)| d).map(day_start),
        "to": to.and_then(|(_, d)| d).and_then(|d| d.succ_opt()).map(day_start),
        // The page opens on the latest entries; an inquiry shows up to 200 a page.
        "first": if fields.submitted() { 200 } else { 50 },
        // "Oudere regels": the next page of the same inquiry.
        "after": fields.get("na"),
    });
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct LogPage {
        entries: Vec<LogEntry>,
        end_cursor: Option<String>,
        has_next_page: bool,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        access_log: LogPage,
    }
    let empty = || LogPage {
        entries: Vec::new(),
        end_cursor: None,
        has_next_page: false,
    };
    let page = if errors.is_empty() {
        match gql::run::<Data>(web, viewer,
            "query($user: String, $subjectKey: String, $bsn: String, $trajectoryId: ID, $from: DateTime, $to: DateTime, $first: Int!, $after: String) {
               accessLog(user: $user, subjectKey: $subjectKey, bsn: $bsn, trajectoryId: $trajectoryId, from: $from, to: $to, first: $first, after: $after) {
                 entries { at action outcome operation user role team trajectoryId subjectKey clientAddress clientApplication reason }
                 endCursor hasNextPage } }",
            variables).await {
            Ok(data) => data.access_log,
            Err(error) if error.code == "VALIDATION" => {
                let field = match error.field.as_deref() {
                    Some("bsn") => "bsn",
                    Some("subjectKey") => "pseudoniem",
                    Some("trajectoryId") => "traject",
                    Some("user") => "gebruiker",
                    _ => "van",
                };
                // A stale or altered "Oudere regels" form: say so above the form.
                if error.field.as_deref() == Some("after") {
                    errors.general(error.message);
                } else {
                    errors.field(field, error.message);
                }
                empty()
            }
            Err(error) => return crate::pages::failure(viewer, &error),
        }
    } else {
        empty()
    };
    let entries = &page.entries;
    let older = older_entries_form(
        viewer,
        fields,
        &page.entries,
        page.end_cursor.as_deref().filter(|_| page.has_next_page),
    );
    let values = Fields(
        fields
            .0
            .iter()
            .filter(|(k, _)| k != "bsn")
            .cloned()
            .collect(),
    );
    let form = F {
        values: &values,
        errors: &errors,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Page::new("Toegangslog", Some(viewer)).status(status).render(html! {
        h1 { "Toegangslog (NEN 7513)" }
        p class="jp-lead" { "Wie heeft welk dossier ingezien of gewijzigd, en wanneer. Ook deze raadpleging wordt vastgelegd." }
        (errors.summary())
        form class="jp-filters" method="post" action="/beheer/toegangslog" autocomplete="off" aria-label="Toegangslog doorzoeken" {
            (layout::csrf(viewer))
            p class="jp-hint" {
                "Zoek op gebruiker, op de jeugdige (pseudoniem, of een BSN dat niet wordt bewaard en niet opnieuw getoond), "
                "op traject en op periode (data als dd-mm-jjjj); alles is niet verplicht."
            }
            (form.input("gebruiker", "Gebruiker", Input { short: true, plain_label: true, ..Input::default() }))
            (form.input("pseudoniem", "Pseudoniem", Input { short: true, plain_label: true, ..Input::default() }))
            (form.input("bsn", "BSN", Input { inputmode: Some("numeric"), short: true, plain_label: true, bsn: true, no_echo: true, ..Input::default() }))
            (form.input("traject", "Traject-id", Input { short: true, plain_label: true, ..Input::default() }))
            (form.input("van", "Van", Input { kind: Some("date"), short: true, plain_label: true, ..Input::default() }))
            (form.input("tot", "Tot en met", Input { kind: Some("date"), short: true, plain_label: true, ..Input::default() }))
            div class="jp-field" { button class="jp-button" type="submit" { "Zoeken" } }
        }
        h2 {
            (entries.len()) " vermeldingen"
            @if fields.get("na").is_some() { " (oudere regels)" }
            @else if page.has_next_page { " (de nieuwste)" }
        }
        div class="jp-table-wrap" tabindex="0" role="region" aria-label={ "Vermeldingen in het toegangslog, nieuwste eerst" } {
            table {
                caption class="jp-visually-hidden" { "Vermeldingen in het toegangslog, nieuwste eerst" }
                thead { tr {
                    th scope="col" { "Wanneer" } th scope="col" { "Wat" } th scope="col" { "Uitkomst" }
                    th scope="col" { "Wie" } th scope="col" { "Traject / jeugdige" } th scope="col" { "Vanaf" }
                } }
                tbody {
                    @for entry in entries {
                        tr {
                            td { (format::instant(&entry.at)) }
                            td { (format::access_action(&entry.action)) br; span class="jp-muted" { (entry.operation) } }
                            td {
                                @if entry.outcome == "refused" {
                                    span class="jp-badge jp-badge--danger" { "geweigerd" }
                                    @if let Some(reason) = &entry.reason { br; span class="jp-muted" { (format::refusal(reason)) } }
                                } @else { "toegestaan" }
                            }
                            td {
                                (entry.user.as_deref().unwrap_or("onbekend"))
                                @if let Some(role) = &entry.role { br; span class="jp-muted" { (format::role(role)) @if let Some(team) = &entry.team { ", " (team) } } }
                            }
                            td {
                                @if let Some(id) = &entry.trajectory_id { code { (id) } br; }
                                (entry.subject_key.as_deref().unwrap_or(""))
                            }
                            td { (entry.client_address.as_deref().unwrap_or("–")) br; span class="jp-muted" { (entry.client_application.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
        @if older.is_some() || fields.get("na").is_some() {
            nav class="jp-pagination" aria-label="Paginering" {
                @if fields.get("na").is_some() {
                    a href="/beheer/toegangslog" { "Naar de nieuwste regels" }
                }
                @if let Some(older) = older { (older) }
            }
        }
    })
}

/// The "Oudere regels" button: the same inquiry again from `cursor` on, as a POST like the
/// inquiry itself. A BSN is never written back into the page: an inquiry by BSN continues by
/// the subject key every entry of its first page names.
fn older_entries_form(
    viewer: &Viewer,
    fields: &Fields,
    entries: &[LogEntry],
    cursor: Option<&str>,
) -> Option<Markup> {
    let cursor = cursor?;
    let subject = if fields.get("bsn").is_some() {
        Some(entries.first()?.subject_key.as_deref()?)
    } else {
        fields.get("pseudoniem")
    };
    let kept = [
        ("gebruiker", fields.get("gebruiker")),
        ("pseudoniem", subject),
        ("traject", fields.get("traject")),
        ("van", fields.get("van")),
        ("tot", fields.get("tot")),
        ("na", Some(cursor)),
    ];
    Some(html! {
        form method="post" action="/beheer/toegangslog" {
            (layout::csrf(viewer))
            @for (name, value) in kept {
                @if let Some(value) = value { input type="hidden" name=(name) value=(value); }
            }
            button class="jp-button jp-button--secondary" type="submit" { "Oudere regels" }
        }
    })
}

/// `POST /beheer/toegangslog`.
pub(crate) async fn access_log_inquiry(
    State(web): State<Web>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(refused) = viewer.check_csrf(fields.get("_csrf")) {
        return refused;
    }
    log_page(&web, &viewer, &fields).await
}
