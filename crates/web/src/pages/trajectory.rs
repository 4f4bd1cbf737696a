//! Het trajectscherm: the timeline on the left (newest or oldest first; corrections shown as
//! "gecorrigeerd op … door …: was …", retractions struck through with their reason), the
//! summary, the waits against their norms, and the buttons of the steps the rules allow now on
//! the right. One `trajectory` query, so one look at the file and one access-log entry.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::context::{Viewer, Web};
use crate::format;
use crate::gql;
use crate::layout::{self, Page};
use crate::pages::steps::slug;

/// Everything the trajectory page and the step forms show.
pub(crate) const QUERY: &str = "query($id: ID!) { trajectory(id: $id) {
    id version birthYear
    summary { subjectKey team consultant phase signalOn source urgency currentLevel
              highestLevel escalations stepDowns pathwayDays openEpisodes closedOn closeReason }
    timeline { eventId version type label occurredOn recordedAt payload corrects retracts
               reason correctedBy retractedBy }
    events { eventId recordedBy }
    allowedSteps { step label forms episodeIds eventIds suggestedEpisodeId }
    waits { measure form startedOn status days normDays dueOn breach } } }";

#[derive(Debug, Deserialize)]
pub(crate) struct Data {
    pub(crate) trajectory: Trajectory,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Trajectory {
    pub(crate) id: String,
    pub(crate) version: u64,
    pub(crate) birth_year: Option<i32>,
    pub(crate) summary: Option<Summary>,
    pub(crate) timeline: Vec<Entry>,
    pub(crate) events: Vec<EventMeta>,
    pub(crate) allowed_steps: Vec<Allowed>,
    pub(crate) waits: Vec<Wait>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub(crate) subject_key: String,
    pub(crate) team: String,
    pub(crate) consultant: Option<String>,
    pub(crate) phase: String,
    pub(crate) signal_on: String,
    pub(crate) source: String,
    pub(crate) urgency: String,
    pub(crate) current_level: String,
    pub(crate) highest_level: String,
    pub(crate) escalations: u32,
    pub(crate) step_downs: u32,
    pub(crate) pathway_days: i64,
    pub(crate) open_episodes: u32,
    pub(crate) closed_on: Option<String>,
    pub(crate) close_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    pub(crate) event_id: String,
    pub(crate) version: u64,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) label: String,
    pub(crate) occurred_on: String,
    pub(crate) recorded_at: String,
    pub(crate) payload: Value,
    pub(crate) corrects: Option<String>,
    pub(crate) retracts: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) corrected_by: Vec<String>,
    pub(crate) retracted_by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventMeta {
    pub(crate) event_id: String,
    pub(crate) recorded_by: String,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Allowed {
    pub(crate) step: String,
    pub(crate) label: String,
    pub(crate) forms: Vec<String>,
    pub(crate) episode_ids: Vec<String>,
    pub(crate) event_ids: Vec<String>,
    pub(crate) suggested_episode_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Wait {
    pub(crate) measure: String,
    pub(crate) form: Option<String>,
    pub(crate) started_on: String,
    pub(crate) status: String,
    pub(crate) days: Option<i64>,
    pub(crate) norm_days: Option<i64>,
    pub(crate) due_on: Option<String>,
    pub(crate) breach: bool,
}

impl Trajectory {
    /// The step the page offers, if the rules allow it now.
    pub(crate) fn allowed(&self, step: &str) -> Option<&Allowed> {
        self.allowed_steps.iter().find(|a| a.step == step)
    }

    /// "Traject sk-… " — how the page title names it: the youth's pseudonym (never a BSN).
    pub(crate) fn name(&self) -> String {
        match &self.summary {
            Some(s) => format!("Traject {}", s.subject_key),
            None => "Traject".to_owned(),
        }
    }

    /// An entry by event id.
    pub(crate) fn entry(&self, event_id: &str) -> Option<&Entry> {
        self.timeline.iter().find(|e| e.event_id == event_id)
    }

    /// The date a step counts with now: its last correction's replacement date, or its own.
    pub(crate) fn current_date<'a>(&'a self, entry: &'a Entry) -> &'a str {
        entry
            .corrected_by
            .iter()
            .rev()
            .filter_map(|id| self.entry(id))
            .find_map(|c| c.payload.get("occurred_on").and_then(Value::as_str))
            .unwrap_or(&entry.occurred_on)
    }

    /// A step's name in a list of choices: "Hulp gestart op 03-03-2026".
    pub(crate) fn describe(&self, event_id: &str) -> String {
        match self.entry(event_id) {
            Some(entry) => format!(
                "{} op {}",
                entry.label,
                format::date(self.current_date(entry))
            ),
            None => event_id.to_owned(),
        }
    }
}

/// Loads the trajectory as the viewer (a logged look at the file).
pub(crate) async fn load(web: &Web, viewer: &Viewer, id: &str) -> Result<Trajectory, Response> {
    match gql::run::<Data>(web, viewer, QUERY, json!({ "id": id })).await {
        Ok(data) => Ok(data.trajectory),
        Err(error) => Err(crate::pages::failure(viewer, &error)),
    }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct PageQuery {
    /// `oud`: oldest first (default newest first).
    volgorde: Option<String>,
    /// The event just recorded (after a step form).
    vastgelegd: Option<String>,
}

/// `GET /traject/{id}`.
pub(crate) async fn page(
    State(web): State<Web>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let trajectory = match load(&web, &viewer, &id).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    let team = trajectory
        .summary
        .as_ref()
        .map(|s| s.team.clone())
        .unwrap_or_default();
    let content = html! {
        div data-live-trajectory=(trajectory.id) data-live-team=(team)
            data-version=(trajectory.version)
            data-refresh={ "/traject/" (trajectory.id) "/inhoud" @if query.volgorde.as_deref() == Some("oud") { "?volgorde=oud" } } {
            h1 { (trajectory.name()) }
            div id="live-melding" class="jp-alert jp-alert--info" role="status" hidden { p {} }
            @if let Some(recorded) = &query.vastgelegd {
                @if let Some(entry) = trajectory.entry(recorded) {
                    (layout::alert("success", None, html! {
                        p { "Vastgelegd: " (entry.label) " op " (format::date(&entry.occurred_on)) "." }
                    }))
                }
            }
            (content(&trajectory, &viewer, &query))
        }
    };
    Page::new(trajectory.name(), Some(&viewer)).render(content)
}

/// `GET /traject/{id}/inhoud`: the page's changing part alone, for the live update (`app.js`
/// fetches it when the subscription hears of a new step). A new look, logged as one.
pub(crate) async fn fragment(
    State(web): State<Web>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    match load(&web, &viewer, &id).await {
        Ok(trajectory) => Html(content(&trajectory, &viewer, &query).into_string()).into_response(),
        Err(response) => response,
    }
}

fn content(trajectory: &Trajectory, viewer: &Viewer, query: &PageQuery) -> Markup {
    let oldest_first = query.volgorde.as_deref() == Some("oud");
    html! {
        div id="traject-inhoud" class="jp-columns" {
            section aria-labelledby="tijdlijn-titel" {
                h2 id="tijdlijn-titel" { "Tijdlijn" }
                p {
                    @if oldest_first {
                        "Oudste stap eerst. " a href={ "/traject/" (trajectory.id) } { "Nieuwste eerst tonen" }
                    } @else {
                        "Nieuwste stap eerst. " a href={ "/traject/" (trajectory.id) "?volgorde=oud" } { "Oudste eerst tonen" }
                    }
                }
                (timeline(trajectory, oldest_first, query.vastgelegd.as_deref()))
            }
            div {
                (steps_panel(trajectory, viewer))
                (summary_panel(trajectory))
                (waits_panel(trajectory))
            }
        }
    }
}

fn summary_panel(trajectory: &Trajectory) -> Markup {
    let Some(s) = &trajectory.summary else {
        return html! { p { "Dit traject heeft op deze datum nog geen melding." } };
    };
    html! {
        section class="jp-panel" aria-labelledby="samenvatting-titel" {
            h2 id="samenvatting-titel" { "Samenvatting" }
            dl class="jp-summary" {
                dt { "Jeugdige" } dd { (s.subject_key) @if let Some(year) = trajectory.birth_year { " (geboren " (year) ")" } }
                dt { "Team" } dd { (s.team) }
                dt { "Consulent" } dd { (s.consultant.as_deref().unwrap_or("nog niet toegewezen")) }
                dt { "Fase" } dd { (format::phase(&s.phase)) }
                dt { "Melding" } dd { (format::date(&s.signal_on)) ", " (format::source(&s.source)) ", " (format::urgency(&s.urgency).to_lowercase()) }
                dt { "Hoogste niveau" } dd { (format::level(&s.highest_level)) }
                dt { "Huidig niveau" } dd { (format::level(&s.current_level)) }
                dt { "Opschalingen" } dd { (s.escalations) }
                dt { "Afschalingen" } dd { (s.step_downs) }
                dt { "Lopende hulp" } dd { (s.open_episodes) " episode" @if s.open_episodes != 1 { "s" } }
                dt { "Doorlooptijd" } dd { (format::days(Some(s.pathway_days))) }
                @if let Some(closed) = &s.closed_on {
                    dt { "Afgesloten" } dd {
                        (format::date(closed))
                        @if let Some(reason) = &s.close_reason { ", " (format::close_reason(reason).to_lowercase()) }
                    }
                }
            }
        }
    }
}

fn waits_panel(trajectory: &Trajectory) -> Markup {
    let open: Vec<&Wait> = trajectory
        .waits
        .iter()
        .filter(|w| w.status == "OPEN")
        .collect();
    html! {
        section class="jp-panel" aria-labelledby="wachttijden-titel" {
            h2 id="wachttijden-titel" { "Open wachttijden" }
            @if open.is_empty() {
                p { "Er loopt geen wachttijd." }
            } @else {
                table {
                    caption class="jp-visually-hidden" { "Open wachttijden tegen de norm" }
                    thead { tr { th scope="col" { "Wacht op" } th scope="col" class="jp-num" { "Dagen" } th scope="col" { "Norm" } } }
                    tbody {
                        @for wait in open {
                            tr {
                                td {
                                    (format::measure(&wait.measure))
                                    @if let Some(form) = &wait.form { br; span class="jp-muted" { (format::form(form)) } }
                                    br; span class="jp-muted" { "sinds " (format::date(&wait.started_on)) }
                                }
                                td class="jp-num" { (format::number(wait.days)) }
                                td {
                                    @match (wait.norm_days, &wait.due_on) {
                                        (Some(norm), Some(due)) => {
                                            (norm) " dagen (" (format::date(due)) ")"
                                            @if wait.breach {
                                                br; span class="jp-badge jp-badge--danger" { "overschreden" }
                                            }
                                        }
                                        _ => { "geen norm" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn steps_panel(trajectory: &Trajectory, viewer: &Viewer) -> Markup {
    let steps: Vec<&Allowed> = trajectory
        .allowed_steps
        .iter()
        .filter(|a| may_record(viewer, &a.step))
        .collect();
    html! {
        section class="jp-panel" aria-labelledby="stappen-titel" {
            h2 id="stappen-titel" { "Volgende stap" }
            @if steps.is_empty() {
                p {
                    @if trajectory.allowed_steps.is_empty() { "Er kan nu geen stap worden vastgelegd." }
                    @else { "Uw rol legt in dit traject geen stappen vast." }
                }
            } @else {
                p class="jp-muted" { "Alleen de stappen die de regels nu toestaan." }
                ul class="jp-button-group" {
                    @for step in steps {
                        @if let Some(slug) = slug(&step.step) {
                            li {
                                a class={ "jp-button" @if matches!(step.step.as_str(), "CORRECT" | "RETRACT") { " jp-button--secondary" } }
                                    href={ "/traject/" (trajectory.id) "/stap/" (slug) } { (step.label) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether the viewer's role records this kind of step (the gate decides for real; this only
/// keeps buttons that would certainly be refused off the screen): consultants every step, team
/// leads the transfer.
pub(crate) fn may_record(viewer: &Viewer, step: &str) -> bool {
    use jeugdpad_api::session::Role;
    match viewer.session.role() {
        Role::Consultant => true,
        Role::TeamLead => step == "TRANSFER_TEAM",
        Role::Analyst | Role::Admin => false,
    }
}

fn timeline(trajectory: &Trajectory, oldest_first: bool, recorded: Option<&str>) -> Markup {
    let by: HashMap<&str, &str> = trajectory
        .events
        .iter()
        .map(|e| (e.event_id.as_str(), e.recorded_by.as_str()))
        .collect();
    let mut steps: Vec<&Entry> = trajectory
        .timeline
        .iter()
        .filter(|e| e.corrects.is_none() && e.retracts.is_none())
        .collect();
    steps.sort_by(|a, b| {
        (trajectory.current_date(a), a.version).cmp(&(trajectory.current_date(b), b.version))
    });
    if !oldest_first {
        steps.reverse();
    }
    let amendable = |kind: &str, id: &str| {
        trajectory
            .allowed(kind)
            .is_some_and(|a| a.event_ids.iter().any(|e| e == id))
    };
    html! {
        ol class="jp-timeline" {
            @for entry in steps {
                @let retracted = entry.retracted_by.is_some();
                @let amended = !entry.corrected_by.is_empty() || retracted;
                li id={ "gebeurtenis-" (entry.event_id) }
                    class={ @if retracted { "jp-event--retracted " } @if amended { "jp-event--amendment " }
                            @if recorded.is_some_and(|r| r == entry.event_id || entry.corrected_by.iter().any(|c| c == r) || entry.retracted_by.as_deref() == Some(r)) { "jp-event--new" } } {
                    p class="jp-event-title" {
                        (entry.label) " — " (format::date(trajectory.current_date(entry)))
                        @if retracted { span class="jp-visually-hidden" { " (ingetrokken)" } }
                    }
                    (details(&entry.kind, &entry.payload))
                    p class="jp-event-meta" {
                        "Vastgelegd op " (format::instant(&entry.recorded_at)) " door "
                        (by.get(entry.event_id.as_str()).copied().unwrap_or("onbekend"))
                    }
                    @for correction_id in &entry.corrected_by {
                        @if let Some(correction) = trajectory.entry(correction_id) {
                            (correction_note(trajectory, entry, correction, by.get(correction_id.as_str()).copied()))
                        }
                    }
                    @if let Some(retraction) = entry.retracted_by.as_deref().and_then(|id| trajectory.entry(id)) {
                        p class="jp-amend" {
                            strong { "Ingetrokken" } " op " (format::date(&retraction.occurred_on))
                            " door " (by.get(retraction.event_id.as_str()).copied().unwrap_or("onbekend"))
                            ". Reden: " (retraction.reason.as_deref().unwrap_or("–"))
                        }
                    }
                    @if amendable("CORRECT", &entry.event_id) || amendable("RETRACT", &entry.event_id) {
                        p {
                            @if amendable("CORRECT", &entry.event_id) {
                                a href={ "/traject/" (trajectory.id) "/stap/corrigeren?gebeurtenis=" (entry.event_id) } {
                                    "Corrigeren" span class="jp-visually-hidden" { ": " (entry.label) " van " (format::date(trajectory.current_date(entry))) }
                                }
                            }
                            @if amendable("CORRECT", &entry.event_id) && amendable("RETRACT", &entry.event_id) { " · " }
                            @if amendable("RETRACT", &entry.event_id) {
                                a href={ "/traject/" (trajectory.id) "/stap/intrekken?gebeurtenis=" (entry.event_id) } {
                                    "Intrekken" span class="jp-visually-hidden" { ": " (entry.label) " van " (format::date(trajectory.current_date(entry))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// "Gecorrigeerd op … door …: was …".
fn correction_note(
    trajectory: &Trajectory,
    step: &Entry,
    correction: &Entry,
    by: Option<&str>,
) -> Markup {
    // What the step was just before this correction: its original, with earlier corrections.
    let mut date = step.occurred_on.clone();
    let mut payload = step.payload.clone();
    for earlier in step
        .corrected_by
        .iter()
        .take_while(|id| **id != correction.event_id)
    {
        if let Some(c) = trajectory.entry(earlier) {
            if let Some(d) = c.payload.get("occurred_on").and_then(Value::as_str) {
                date = d.to_owned();
            }
            if let Some(p) = c.payload.get("payload") {
                payload = p.clone();
            }
        }
    }
    let new_date = correction
        .payload
        .get("occurred_on")
        .and_then(Value::as_str);
    let new_payload = correction.payload.get("payload");
    html! {
        div class="jp-amend" {
            p {
                strong { "Gecorrigeerd" } " op " (format::date(&correction.occurred_on)) " door " (by.unwrap_or("onbekend")) ": "
                @if let Some(new_date) = new_date {
                    "datum was " (format::date(&date)) ", nu " (format::date(new_date)) ". "
                }
                @if new_payload.is_some() { "inhoud was:" }
            }
            @if new_payload.is_some() { (details(&step.kind, &payload)) }
            p { "Reden: " (correction.reason.as_deref().unwrap_or("–")) }
        }
    }
}

/// The content of a step in Dutch (its stored payload, codes as labels).
pub(crate) fn details(kind: &str, payload: &Value) -> Markup {
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
    let upper = |key: &str| text(key).map(|v| format::graphql(&v));
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut push = |label: &'static str, value: Option<String>| {
        if let Some(value) = value {
            rows.push((label, value));
        }
    };
    match kind {
        "SIGNAL_RECEIVED" => {
            push("Bron", upper("source").map(|v| format::source(&v)));
            let concerns = payload
                .get("concerns")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(format::concern)
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            push("Zorgen", concerns);
            push("Urgentie", upper("urgency").map(|v| format::urgency(&v)));
            push("Team", text("team"));
            push(
                "Geboortejaar",
                payload
                    .get("birth_year")
                    .and_then(Value::as_i64)
                    .map(|y| y.to_string()),
            );
        }
        "CONSULTANT_ASSIGNED" => push("Consulent", text("consultant")),
        "TEAM_TRANSFERRED" => push("Naar team", text("team")),
        "ASSESSMENT_COMPLETED" => push(
            "Conclusie",
            upper("conclusion").map(|v| format::conclusion(&v)),
        ),
        "HELP_REQUESTED" => push("Hulpvorm", upper("form").map(|v| format::form(&v))),
        "DECISION_ISSUED" => {
            push(
                "Besluit",
                payload
                    .get("granted")
                    .and_then(Value::as_bool)
                    .map(|g| if g { "toegekend" } else { "afgewezen" }.to_owned()),
            );
            push("Hulpvorm", upper("form").map(|v| format::form(&v)));
            push(
                "Financiering",
                upper("funding").map(|v| format::funding(&v)),
            );
            push("Geldig vanaf", text("valid_from").map(|d| format::date(&d)));
            push("Geldig tot", text("valid_until").map(|d| format::date(&d)));
            push("Productcategorie", text("product_category"));
            push("Aanbieder", text("provider"));
            push("Pleegzorg", foster(payload));
        }
        "HELP_STARTED" => {
            push(
                "Hulpvorm",
                upper("form").map(|v| {
                    let level = jeugdpad_domain::HelpForm::from_code(&format::code(&v))
                        .map(|f| format!(" (niveau {})", f.level().number()))
                        .unwrap_or_default();
                    format!("{}{level}", format::form(&v))
                }),
            );
            push("Episode", text("episode_id"));
            push("Aanbieder", text("provider"));
            push("Pleegzorg", foster(payload));
        }
        "HELP_ENDED" => {
            push("Episode", text("episode_id"));
            push("Resultaat", upper("result").map(|v| format::result(&v)));
        }
        "PGB_GRANTED" => {
            push(
                "Bedrag",
                payload
                    .get("amount_cents")
                    .and_then(Value::as_i64)
                    .map(format::euros),
            );
            push(
                "Periode",
                upper("period").map(|v| format::pgb_period(&v).to_lowercase()),
            );
            push("Productcategorie", text("product_category"));
        }
        "PGB_REVIEW_SCHEDULED" => push("Uiterlijk", text("due_on").map(|d| format::date(&d))),
        "PGB_REVIEW_COMPLETED" => {
            push(
                "Besluit",
                upper("decision").map(|v| format::review_decision(&v)),
            );
            let flag = |key: &str| {
                payload
                    .get(key)
                    .and_then(Value::as_bool)
                    .map(|b| if b { "ja" } else { "nee" }.to_owned())
            };
            push("Zorg over kwaliteit", flag("quality_concern"));
            push(
                "Vermoeden van onrechtmatigheid",
                flag("irregularity_suspected"),
            );
        }
        "TRAJECTORY_CLOSED" => push("Reden", upper("reason").map(|v| format::close_reason(&v))),
        _ => {}
    }
    html! {
        @if !rows.is_empty() {
            ul class="jp-event-details" {
                @for (label, value) in rows { li { (label) ": " (value) } }
            }
        }
    }
}

fn foster(payload: &Value) -> Option<String> {
    let kind = payload.get("foster_kind").and_then(Value::as_str)?;
    let mode = payload.get("foster_mode").and_then(Value::as_str)?;
    Some(format!(
        "{}, {}",
        format::foster_kind(&format::graphql(kind)),
        format::foster_mode(&format::graphql(mode)).to_lowercase()
    ))
}
