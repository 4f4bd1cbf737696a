//! Mijn caseload: the team's open trajectories, what needs action first; search by pseudonym,
//! look up by BSN (POST only, never shown again), filter, sort and page — all through the API's
//! `caseload` and `subjectTrajectories`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::context::{Viewer, Web};
use crate::format;
use crate::forms::{Choice, Errors, Fields, Form as F, Input};
use crate::gql::{self, GqlError};
use crate::layout::{self, Page};
use jeugdpad_api::session::Role;

const QUERY: &str = "query($sort: CaseloadSort, $search: String, $mine: Boolean, $phase: Phase,
    $breaches: Boolean, $page: Int) {
  caseload(sort: $sort, search: $search, mine: $mine, phase: $phase, breachesOnly: $breaches,
           page: $page, pageSize: 50) {
    asOf total page pageSize scope { teams }
    rows { summary { trajectoryId subjectKey phase consultant urgency }
           daysSinceSignal openWaits openBreaches nextDeadline nextDeadlineMeasure } } }";

#[derive(Debug, Deserialize)]
struct Data {
    caseload: Caseload,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Caseload {
    as_of: String,
    total: usize,
    page: usize,
    page_size: usize,
    scope: Scope,
    rows: Vec<Row>,
}

#[derive(Debug, Deserialize)]
struct Scope {
    teams: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    summary: Summary,
    days_since_signal: i64,
    open_waits: usize,
    open_breaches: usize,
    next_deadline: Option<String>,
    next_deadline_measure: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub(crate) trajectory_id: String,
    pub(crate) subject_key: String,
    pub(crate) phase: String,
    pub(crate) consultant: Option<String>,
    pub(crate) urgency: String,
}

/// The caseload's URL parameters (Dutch names: they are in the address bar).
#[derive(Debug, Deserialize, Default, Clone)]
pub(crate) struct Params {
    zoek: Option<String>,
    fase: Option<String>,
    mijn: Option<String>,
    overschreden: Option<String>,
    sorteer: Option<String>,
    pagina: Option<usize>,
    /// Set after a transfer: the team that took a trajectory over.
    overgedragen: Option<String>,
}

/// Sort keys: (URL value, GraphQL value, column header).
const SORTS: &[(&str, &str, &str)] = &[
    ("aandacht", "ATTENTION", "Aandacht"),
    ("dagen", "DAYS_SINCE_SIGNAL", "Dagen sinds melding"),
    ("termijn", "DEADLINE", "Volgende termijn"),
    ("fase", "PHASE", "Fase"),
    ("jeugdige", "SUBJECT_KEY", "Jeugdige"),
];

const PHASES: &[&str] = &["SIGNALLED", "ASSESSED", "IN_HELP", "HELP_ENDED"];

impl Params {
    fn sort(&self) -> &'static (&'static str, &'static str, &'static str) {
        let wanted = self.sorteer.as_deref().unwrap_or("aandacht");
        SORTS.iter().find(|s| s.0 == wanted).unwrap_or(&SORTS[0])
    }

    fn phase(&self) -> Option<&'static str> {
        let wanted = self.fase.as_deref()?;
        PHASES.iter().copied().find(|p| format::code(p) == wanted)
    }

    /// This caseload's URL with some parameters changed.
    fn url(&self, sort: Option<&str>, page: Option<usize>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(zoek) = self.zoek.as_deref().filter(|z| !z.trim().is_empty()) {
            query.append_pair("zoek", zoek.trim());
        }
        if let Some(phase) = self.phase() {
            query.append_pair("fase", &format::code(phase));
        }
        if self.mijn.is_some() {
            query.append_pair("mijn", "ja");
        }
        if self.overschreden.is_some() {
            query.append_pair("overschreden", "ja");
        }
        query.append_pair("sorteer", sort.unwrap_or(self.sort().0));
        if let Some(page) = page.filter(|p| *p > 1) {
            query.append_pair("pagina", &page.to_string());
        }
        format!("/caseload?{}", query.finish())
    }
}

/// `GET /caseload`.
pub(crate) async fn page(
    State(web): State<Web>,
    viewer: Viewer,
    Query(params): Query<Params>,
) -> Response {
    render(&web, &viewer, &params, None, None).await
}

async fn render(
    web: &Web,
    viewer: &Viewer,
    params: &Params,
    lookup: Option<(Errors, Option<String>)>,
    status: Option<StatusCode>,
) -> Response {
    let variables = json!({
        "sort": params.sort().1,
        "search": params.zoek.as_deref().map(str::trim).filter(|z| !z.is_empty()),
        "mine": params.mijn.is_some(),
        "phase": params.phase(),
        "breaches": params.overschreden.is_some(),
        "page": params.pagina.unwrap_or(1).max(1),
    });
    let data: Data = match gql::run(web, viewer, QUERY, variables).await {
        Ok(data) => data,
        Err(error) => return crate::pages::failure(viewer, &error),
    };
    let caseload = data.caseload;
    let title = if viewer.session.role() == Role::TeamLead {
        "Trajecten van het team"
    } else {
        "Mijn caseload"
    };
    let pages = caseload.total.div_ceil(caseload.page_size.max(1)).max(1);
    let (lookup_errors, lookup_notice) = lookup.unwrap_or_default();
    let lookup_values = Fields::default();
    let lookup_form = F {
        values: &lookup_values,
        errors: &lookup_errors,
    };
    let filter_values = Fields(
        [
            ("zoek", params.zoek.clone()),
            ("fase", params.phase().map(format::code)),
            ("mijn", params.mijn.clone()),
            ("overschreden", params.overschreden.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect(),
    );
    let no_errors = Errors::default();
    let filters = F {
        values: &filter_values,
        errors: &no_errors,
    };
    let phase_choices = vec![(
        String::new(),
        PHASES
            .iter()
            .map(|p| Choice::new(format::code(p), format::phase(p)))
            .collect::<Vec<_>>(),
    )];
    let content = html! {
        h1 { (title) }
        p class="jp-lead" {
            "Open trajecten van team " (caseload.scope.teams.join(", ")) " op "
            (format::date(&caseload.as_of)) ": eerst wat aandacht vraagt."
        }
        (lookup_errors.summary())
        @if let Some(team) = &params.overgedragen {
            (layout::alert("success", None, html! { p { "Het traject is overgedragen aan team " (team) "." } }))
        }
        @if let Some(notice) = &lookup_notice {
            (layout::alert("info", None, html! { p { (notice) } }))
        }
        div class="jp-panel" {
            h2 { "Jeugdige zoeken op BSN" }
            form class="jp-filters" method="post" action="/caseload/bsn" autocomplete="off" {
                (layout::csrf(viewer))
                (lookup_form.input("bsn", "BSN", Input {
                    hint: Some("Negen cijfers. Het BSN wordt niet bewaard en niet opnieuw getoond."),
                    required: true,
                    inputmode: Some("numeric"),
                    autocomplete: Some("off"),
                    short: true,
                    bsn: true,
                    no_echo: true,
                    ..Input::default()
                }))
                div class="jp-field" { button class="jp-button" type="submit" { "Zoeken" } }
            }
        }
        form class="jp-filters" method="get" action="/caseload" role="search" aria-label="Caseload filteren" {
            (filters.input("zoek", "Zoek op pseudoniem of traject-id", Input {
                kind: Some("search"),
                ..Input::default()
            }))
            (filters.select("fase", "Fase", None, &phase_choices, None, false, None))
            (filters.checkbox("mijn", "Alleen mijn trajecten"))
            (filters.checkbox("overschreden", "Alleen met overschreden norm"))
            input type="hidden" name="sorteer" value=(params.sort().0);
            div class="jp-field" { button class="jp-button jp-button--secondary" type="submit" { "Filteren" } }
        }
        p { strong { (caseload.total) } " open trajecten" @if pages > 1 { ", pagina " (caseload.page) " van " (pages) } "." }
        @if caseload.rows.is_empty() {
            p { "Geen open trajecten gevonden." }
        } @else {
            div class="jp-table-wrap" tabindex="0" role="region" aria-label={ (title) ", gesorteerd op " (params.sort().2.to_lowercase()) } {
                table {
                    caption class="jp-visually-hidden" { (title) ", gesorteerd op " (params.sort().2.to_lowercase()) }
                    thead {
                        tr {
                            (sort_header(params, "jeugdige", "Jeugdige", false))
                            (sort_header(params, "fase", "Fase", false))
                            (sort_header(params, "dagen", "Dagen sinds melding", true))
                            th scope="col" class="jp-num" { "Lopende wachttijden" }
                            (sort_header(params, "aandacht", "Overschreden", false))
                            (sort_header(params, "termijn", "Volgende termijn", false))
                            th scope="col" { "Consulent" }
                        }
                    }
                    tbody {
                        @for row in &caseload.rows { (caseload_row(row, &caseload.as_of)) }
                    }
                }
            }
            @if pages > 1 {
                nav class="jp-pagination" aria-label="Paginering" {
                    @if caseload.page > 1 {
                        a href=(params.url(None, Some(caseload.page - 1))) rel="prev" { "← Vorige pagina" }
                    }
                    span { "Pagina " (caseload.page) " van " (pages) }
                    @if caseload.page < pages {
                        a href=(params.url(None, Some(caseload.page + 1))) rel="next" { "Volgende pagina →" }
                    }
                }
            }
        }
    };
    let mut response = Page::new(title, Some(viewer)).render(content);
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    response
}

fn sort_header(params: &Params, key: &str, label: &str, numeric: bool) -> Markup {
    let active = params.sort().0 == key;
    html! {
        th scope="col" class=[numeric.then_some("jp-num")]
            aria-sort=[active.then_some(if key == "jeugdige" || key == "termijn" || key == "fase" { "ascending" } else { "descending" })] {
            a href=(params.url(Some(key), None)) {
                (label)
                @if active { span class="jp-visually-hidden" { " (gesorteerd)" } " ▾" }
            }
        }
    }
}

fn caseload_row(row: &Row, as_of: &str) -> Markup {
    let s = &row.summary;
    let today = format::parse_iso(as_of);
    let deadline = row.next_deadline.as_deref().and_then(format::parse_iso);
    let remaining = deadline.zip(today).map(|(d, t)| (d - t).num_days());
    html! {
        tr {
            td {
                a href={ "/traject/" (s.trajectory_id) } { (s.subject_key) }
                @if s.urgency != "REGULAR" {
                    " " span class="jp-badge jp-badge--warning" { (format::urgency(&s.urgency)) }
                }
            }
            td { (format::phase(&s.phase)) }
            td class="jp-num" { (row.days_since_signal) }
            td class="jp-num" { (row.open_waits) }
            td {
                @if row.open_breaches > 0 {
                    span class="jp-badge jp-badge--danger" { (row.open_breaches) " overschreden" }
                } @else {
                    "geen"
                }
            }
            td {
                @if let (Some(date), Some(left)) = (&row.next_deadline, remaining) {
                    (format::date(date))
                    @if let Some(measure) = &row.next_deadline_measure {
                        br; span class="jp-muted" { (format::measure(measure)) }
                    }
                    br;
                    @if left < 0 {
                        span class="jp-badge jp-badge--danger" { (format::days(Some(-left))) " over de norm" }
                    } @else if left <= 7 {
                        span class="jp-badge jp-badge--warning" { "nog " (format::days(Some(left))) }
                    } @else {
                        span class="jp-muted" { "nog " (format::days(Some(left))) }
                    }
                } @else {
                    "–"
                }
            }
            td { (s.consultant.as_deref().unwrap_or("–")) }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Found {
    subject_trajectories: Vec<FoundTrajectory>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FoundTrajectory {
    trajectory_id: String,
    subject_key: String,
    phase: String,
    signal_on: String,
}

/// `POST /caseload/bsn`: look a youth up by BSN. The BSN arrives in the POST body, goes to the
/// API in the variables of an in-process request, and is never written back: not in the page,
/// not in a URL, not in a log.
pub(crate) async fn bsn_lookup(
    State(web): State<Web>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(refused) = viewer.check_csrf(fields.get("_csrf")) {
        return refused;
    }
    let mut errors = Errors::default();
    let Some(bsn) = fields.get("bsn") else {
        errors.field("bsn", "vul een BSN in");
        return render(
            &web,
            &viewer,
            &Params::default(),
            Some((errors, None)),
            Some(StatusCode::UNPROCESSABLE_ENTITY),
        )
        .await;
    };
    let query = "query($bsn: String!) { subjectTrajectories(bsn: $bsn) {
        trajectoryId subjectKey phase signalOn } }";
    let found: Result<Found, GqlError> =
        gql::run(&web, &viewer, query, json!({ "bsn": bsn })).await;
    match found {
        Ok(found) => match found.subject_trajectories.as_slice() {
            [] => {
                let notice = "Geen trajecten van uw team gevonden voor dit BSN.".to_owned();
                render(&web, &viewer, &Params::default(), Some((errors, Some(notice))), None).await
            }
            [one] => Redirect::to(&format!("/traject/{}", one.trajectory_id)).into_response(),
            several => Page::new("Trajecten van deze jeugdige", Some(&viewer)).render(html! {
                h1 { "Trajecten van deze jeugdige" }
                p { "Pseudoniem " strong { (several[0].subject_key) } ": " (several.len()) " trajecten van uw team." }
                div class="jp-table-wrap" tabindex="0" role="region" aria-label={ "Trajecten van deze jeugdige" } {
                    table {
                        caption class="jp-visually-hidden" { "Trajecten van deze jeugdige" }
                        thead { tr { th scope="col" { "Melding" } th scope="col" { "Fase" } th scope="col" { "Traject" } } }
                        tbody {
                            @for t in several {
                                tr {
                                    td { (format::date(&t.signal_on)) }
                                    td { (format::phase(&t.phase)) }
                                    td { a href={ "/traject/" (t.trajectory_id) } { "Traject openen" } }
                                }
                            }
                        }
                    }
                }
            }),
        },
        Err(error) if error.code == "VALIDATION" => {
            errors.field("bsn", error.message);
            render(&web, &viewer, &Params::default(), Some((errors, None)), Some(StatusCode::UNPROCESSABLE_ENTITY)).await
        }
        Err(error) => crate::pages::failure(&viewer, &error),
    }
}
