//! Normalisatie, the analyst's screen: a cohort (closed in a period, or signalled in a period),
//! by team or by source, as of a reference date — the outcomes as numbers and as bars, the same
//! shares for each of the last five calendar years, and the pseudonymised summaries to download
//! as CSV or Parquet (the command line's export, through the gate and the access log).

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use jeugdpad_api::session::{self, ExportRefused};
use jeugdpad_interchange::ExportFormat;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::charts;
use crate::context::{Viewer, Web};
use crate::format;
use crate::gql::{self, GqlError};
use crate::layout::{self, Page};

/// One cohort's report (with [`OUTCOMES`]).
const REPORT: &str = "query($cohort: CohortInput!, $asOf: Date, $groupBy: CohortGrouping) {
  normalisation(cohort: $cohort, asOf: $asOf, groupBy: $groupBy) {
    asOf scope { allTeams teams } from to
    overall { ...outcomes }
    groups { key outcomes { ...outcomes } } } }";

/// The outcome fields every report on this page asks for.
const OUTCOMES: &str = "fragment outcomes on Outcomes {
  trajectories resolvedLight escalated outOfHome buurtgezinPrevention fosterPrevented
  recurrenceBase recurrence12M closed medianPathwayDays
  byHighestLevel { level closed medianPathwayDays } }";

#[derive(Debug, Deserialize)]
struct Data {
    normalisation: Report,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    as_of: String,
    scope: Scope,
    from: String,
    to: String,
    overall: Outcomes,
    groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Scope {
    all_teams: bool,
    teams: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Group {
    key: String,
    outcomes: Outcomes,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Outcomes {
    trajectories: i64,
    resolved_light: Option<f64>,
    escalated: Option<f64>,
    out_of_home: Option<f64>,
    buurtgezin_prevention: i64,
    foster_prevented: Option<f64>,
    recurrence_base: i64,
    #[serde(rename = "recurrence12M")]
    recurrence_12m: Option<f64>,
    closed: i64,
    median_pathway_days: Option<i64>,
    by_highest_level: Vec<LevelMedian>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LevelMedian {
    level: String,
    closed: i64,
    median_pathway_days: Option<i64>,
}

/// The shares a chart shows: (label, pick).
type Share = (&'static str, fn(&Outcomes) -> Option<f64>);

const SHARES: &[Share] = &[
    ("Licht opgelost", |o| o.resolved_light),
    ("Opgeschaald", |o| o.escalated),
    ("Uithuisplaatsing", |o| o.out_of_home),
    ("Pleegzorg voorkomen door Buurtgezin", |o| {
        o.foster_prevented
    }),
    ("Terug binnen 12 maanden", |o| o.recurrence_12m),
];

#[derive(Debug, Deserialize, Default, Clone)]
pub(crate) struct Params {
    /// `afgesloten` (default) or `gemeld`.
    cohort: Option<String>,
    van: Option<String>,
    tot: Option<String>,
    /// `team`, `bron` or nothing.
    per: Option<String>,
    peildatum: Option<String>,
}

struct Chosen {
    signalled: bool,
    from: NaiveDate,
    to: NaiveDate,
    group_by: Option<&'static str>,
    as_of: NaiveDate,
}

fn choose(params: &Params, today: NaiveDate) -> Chosen {
    let date = |text: &Option<String>| text.as_deref().and_then(format::parse_date_input);
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    Chosen {
        signalled: params.cohort.as_deref() == Some("gemeld"),
        from: date(&params.van).unwrap_or(year_start),
        to: date(&params.tot).unwrap_or(today),
        group_by: match params.per.as_deref() {
            Some("team") => Some("TEAM"),
            Some("bron") => Some("SOURCE"),
            _ => None,
        },
        as_of: date(&params.peildatum).unwrap_or(today),
    }
}

fn cohort(signalled: bool, from: NaiveDate, to: NaiveDate) -> serde_json::Value {
    let range = json!({ "from": from.to_string(), "to": to.to_string() });
    if signalled {
        json!({ "signalledBetween": range })
    } else {
        json!({ "closedBetween": range })
    }
}

async fn report(
    web: &Web,
    viewer: &Viewer,
    cohort: serde_json::Value,
    as_of: NaiveDate,
    group_by: Option<&str>,
) -> Result<Report, GqlError> {
    gql::run::<Data>(
        web,
        viewer,
        &format!("{REPORT} {OUTCOMES}"),
        json!({ "cohort": cohort, "asOf": as_of.to_string(), "groupBy": group_by }),
    )
    .await
    .map(|d| d.normalisation)
}

/// The same cohort kind for each of the last five calendar years, up to the reference date,
/// oldest first: for closed cohorts one `normalisationTrend` (answered from the aggregates), for
/// signalled cohorts one report per year.
async fn per_year(
    web: &Web,
    viewer: &Viewer,
    chosen: &Chosen,
) -> Result<Vec<(String, Outcomes)>, GqlError> {
    const YEARS: i32 = 5;
    if !chosen.signalled {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            normalisation_trend: Trend,
        }
        #[derive(Deserialize)]
        struct Trend {
            years: Vec<Year>,
        }
        #[derive(Deserialize)]
        struct Year {
            year: i32,
            overall: Outcomes,
        }
        let data: Data = gql::run(
            web,
            viewer,
            &format!(
                "query($asOf: Date) {{ normalisationTrend(asOf: $asOf, years: {YEARS}) {{
                   years {{ year overall {{ ...outcomes }} }} }} }} {OUTCOMES}"
            ),
            json!({ "asOf": chosen.as_of.to_string() }),
        )
        .await?;
        return Ok(data
            .normalisation_trend
            .years
            .into_iter()
            .map(|y| (y.year.to_string(), y.overall))
            .collect());
    }
    let mut years = Vec::new();
    for year in (chosen.as_of.year() - (YEARS - 1))..=chosen.as_of.year() {
        let (Some(from), Some(end)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            continue;
        };
        let r = report(
            web,
            viewer,
            cohort(true, from, end.min(chosen.as_of)),
            chosen.as_of,
            None,
        )
        .await?;
        years.push((year.to_string(), r.overall));
    }
    Ok(years)
}

/// `GET /normalisatie`.
pub(crate) async fn page(
    State(web): State<Web>,
    viewer: Viewer,
    Query(params): Query<Params>,
) -> Response {
    let today = web.state.today();
    let chosen = choose(&params, today);
    let mut problems = Vec::new();
    if chosen.to < chosen.from {
        problems.push("De periode eindigt vóór zij begint: kies een einddatum na de begindatum.");
    }
    let main = if problems.is_empty() {
        match report(
            &web,
            &viewer,
            cohort(chosen.signalled, chosen.from, chosen.to),
            chosen.as_of,
            chosen.group_by,
        )
        .await
        {
            Ok(report) => Some(report),
            Err(error) => return crate::pages::failure(&viewer, &error),
        }
    } else {
        None
    };
    let years = match per_year(&web, &viewer, &chosen).await {
        Ok(years) => years,
        Err(error) => return crate::pages::failure(&viewer, &error),
    };
    let export_query = |formaat: &str| {
        format!(
            "/normalisatie/export?formaat={formaat}&peildatum={}",
            chosen.as_of
        )
    };
    let content = html! {
        h1 { "Normalisatie" }
        p class="jp-lead" {
            "Hoeveel trajecten worden met lichte hulp opgelost, hoeveel schalen op, hoe lang duren ze en hoeveel jeugdigen komen terug?"
        }
        form class="jp-filters" method="get" action="/normalisatie" aria-label="Cohort kiezen" {
            p class="jp-hint" id="datum-uitleg" { "Data als dd-mm-jjjj." }
            fieldset class="jp-field" {
                legend { "Cohort" }
                div class="jp-choices jp-choices--inline" {
                    div class="jp-choice" {
                        input type="radio" id="cohort-afgesloten" name="cohort" value="afgesloten" checked[!chosen.signalled];
                        label for="cohort-afgesloten" { "Afgesloten in de periode" }
                    }
                    div class="jp-choice" {
                        input type="radio" id="cohort-gemeld" name="cohort" value="gemeld" checked[chosen.signalled];
                        label for="cohort-gemeld" { "Gemeld in de periode" }
                    }
                }
            }
            div class="jp-field" {
                label class="jp-label" for="veld-van" { "Van" }
                input type="text" id="veld-van" name="van" class="jp-input--short" inputmode="numeric" data-date aria-describedby="datum-uitleg" value=(jeugdpad_domain::date_nl(chosen.from));
            }
            div class="jp-field" {
                label class="jp-label" for="veld-tot" { "Tot en met" }
                input type="text" id="veld-tot" name="tot" class="jp-input--short" inputmode="numeric" data-date aria-describedby="datum-uitleg" value=(jeugdpad_domain::date_nl(chosen.to));
            }
            div class="jp-field" {
                label class="jp-label" for="veld-per" { "Uitsplitsen per" }
                select id="veld-per" name="per" {
                    option value="" selected[chosen.group_by.is_none()] { "Niet uitsplitsen" }
                    option value="team" selected[chosen.group_by == Some("TEAM")] { "Team" }
                    option value="bron" selected[chosen.group_by == Some("SOURCE")] { "Bron van de melding" }
                }
            }
            div class="jp-field" {
                label class="jp-label" for="veld-peildatum" { "Peildatum" }
                input type="text" id="veld-peildatum" name="peildatum" class="jp-input--short" inputmode="numeric" data-date aria-describedby="datum-uitleg" value=(jeugdpad_domain::date_nl(chosen.as_of));
            }
            div class="jp-field" { button class="jp-button jp-button--secondary" type="submit" { "Tonen" } }
        }
        @for problem in &problems { (layout::alert("error", None, html! { p { (problem) } })) }
        @if let Some(report) = &main {
            p {
                (if chosen.signalled { "Gemeld" } else { "Afgesloten" }) " van " (format::date(&report.from))
                " tot en met " (format::date(&report.to)) ", peildatum " (format::date(&report.as_of)) "; "
                @if report.scope.all_teams { "alle teams." } @else { "team " (report.scope.teams.join(", ")) "." }
            }
            (outcomes_table("Uitkomsten van het cohort", &[("Totaal".to_owned(), &report.overall)], &report.groups, chosen.group_by))
            @if !report.groups.is_empty() {
                h2 { "Per " (if chosen.group_by == Some("TEAM") { "team" } else { "bron" }) }
                div class="jp-grid" {
                    @for (i, (label, pick)) in SHARES.iter().enumerate().take(3) {
                        figure class="jp-chart" {
                            figcaption { (label) }
                            (charts::share_bars(&format!("groep-{i}"), &format!("{label} per groep"),
                                "Het aandeel per groep; de cijfers staan in de tabel hierboven.",
                                &report.groups.iter().map(|g| (group_label(&g.key, chosen.group_by), pick(&g.outcomes))).collect::<Vec<_>>()))
                        }
                    }
                }
            }
        }
        h2 { "Per jaar" }
        p class="jp-muted" { (if chosen.signalled { "Gemeld" } else { "Afgesloten" }) " per kalenderjaar, alle teams die u mag zien, peildatum " (jeugdpad_domain::date_nl(chosen.as_of)) "." }
        div class="jp-grid" {
            @for (i, (label, pick)) in SHARES.iter().enumerate() {
                figure class="jp-chart" {
                    figcaption { (label) " per jaar" }
                    (charts::share_bars(&format!("jaar-{i}"), &format!("{label} per jaar"),
                        "Het aandeel per kalenderjaar; de cijfers staan in de tabel hieronder.",
                        &years.iter().map(|(year, o)| (year.clone(), pick(o))).collect::<Vec<_>>()))
                }
            }
        }
        (outcomes_table("Uitkomsten per jaar", &years.iter().map(|(y, o)| (y.clone(), o)).collect::<Vec<_>>(), &[], None))
        (definitions())
        h2 { "Downloaden" }
        p {
            "De gepseudonimiseerde samenvattingen van alle trajecten op de peildatum (één rij per traject; "
            "kolommen zoals in de exportbeschrijving). Elke download staat in het toegangslog."
        }
        ul class="jp-button-group" {
            li { a class="jp-button jp-button--secondary" href=(export_query("csv")) download { "Samenvattingen als CSV" } }
            li { a class="jp-button jp-button--secondary" href=(export_query("parquet")) download { "Samenvattingen als Parquet" } }
        }
    };
    Page::new("Normalisatie", Some(&viewer)).render(content)
}

fn group_label(key: &str, group_by: Option<&str>) -> String {
    match group_by {
        Some("SOURCE") => format::source(key),
        _ => key.to_owned(),
    }
}

fn outcomes_table(
    caption: &str,
    overall: &[(String, &Outcomes)],
    groups: &[Group],
    group_by: Option<&str>,
) -> Markup {
    let rows: Vec<(String, &Outcomes)> = overall
        .iter()
        .map(|(l, o)| (l.clone(), *o))
        .chain(
            groups
                .iter()
                .map(|g| (group_label(&g.key, group_by), &g.outcomes)),
        )
        .collect();
    html! {
        div class="jp-table-wrap" tabindex="0" role="region" aria-label={ (caption) } {
            table {
                caption { (caption) }
                thead {
                    tr {
                        th scope="col" { "" span class="jp-visually-hidden" { "Groep" } }
                        th scope="col" class="jp-num" { "Trajecten" }
                        th scope="col" class="jp-num" { "Licht opgelost" }
                        th scope="col" class="jp-num" { "Opgeschaald" }
                        th scope="col" class="jp-num" { "Uithuis­plaatsing" }
                        th scope="col" class="jp-num" { "Pleegzorg voorkomen" }
                        th scope="col" class="jp-num" { "Terug ≤ 12 mnd" }
                        th scope="col" class="jp-num" { "Mediane doorlooptijd" }
                    }
                }
                tbody {
                    @for (label, o) in &rows {
                        tr {
                            th scope="row" { (label) }
                            td class="jp-num" { (o.trajectories) }
                            td class="jp-num" { (format::percent(o.resolved_light)) }
                            td class="jp-num" { (format::percent(o.escalated)) }
                            td class="jp-num" { (format::percent(o.out_of_home)) }
                            td class="jp-num" { (format::percent(o.foster_prevented)) br; span class="jp-muted" { "van " (o.buurtgezin_prevention) } }
                            td class="jp-num" { (format::percent(o.recurrence_12m)) br; span class="jp-muted" { "van " (o.recurrence_base) } }
                            td class="jp-num" { (format::days(o.median_pathway_days)) br; span class="jp-muted" { (o.closed) " afgesloten" } }
                        }
                    }
                }
            }
        }
        details {
            summary { (caption) ": mediane doorlooptijd per hoogste niveau" }
            div class="jp-table-wrap" tabindex="0" role="region" aria-label={ (caption) ", doorlooptijd per hoogste niveau" } {
                table {
                    caption class="jp-visually-hidden" { (caption) ", mediane doorlooptijd per hoogste niveau (afgesloten trajecten)" }
                    thead {
                        tr {
                            th scope="col" { "" span class="jp-visually-hidden" { "Groep" } }
                            @for level in ["NONE", "LIGHT", "SPECIALIST_WITHOUT_STAY", "OUT_OF_HOME"] {
                                th scope="col" class="jp-num" { (format::level(level)) }
                            }
                        }
                    }
                    tbody {
                        @for (label, o) in &rows {
                            tr {
                                th scope="row" { (label) }
                                @for level in ["NONE", "LIGHT", "SPECIALIST_WITHOUT_STAY", "OUT_OF_HOME"] {
                                    @let found = o.by_highest_level.iter().find(|l| l.level == level);
                                    td class="jp-num" {
                                        (format::days(found.and_then(|l| l.median_pathway_days)))
                                        br; span class="jp-muted" { (found.map_or(0, |l| l.closed)) " afgesloten" }
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

fn definitions() -> Markup {
    html! {
        details {
            summary { "Wat betekenen deze cijfers?" }
            dl class="jp-summary" {
                dt { "Licht opgelost" } dd { "Afgesloten met doelen behaald of geen hulp nodig, zonder hulp boven niveau 1 (lichte hulp)." }
                dt { "Opgeschaald" } dd { "Minstens één keer hulp gestart op een hoger niveau dan alle hulp ervoor (de eerste hulp telt niet)." }
                dt { "Uithuisplaatsing" } dd { "Hoogste niveau 3: pleegzorg, residentiële of gesloten jeugdzorg." }
                dt { "Pleegzorg voorkomen" } dd { "Van de trajecten met Buurtgezin als preventie: het deel zonder hulp op niveau 3." }
                dt { "Terug binnen 12 maanden" } dd { "Van de trajecten die minstens een jaar vóór de peildatum sloten: het deel waarvan de jeugdige binnen 365 dagen opnieuw is gemeld." }
                dt { "Doorlooptijd" } dd { "Van melding tot afsluiting, in dagen; mediaan van de afgesloten trajecten." }
                dt { "Peildatum" } dd { "Alleen stappen met een datum op of vóór de peildatum tellen, met alle correcties die nu bekend zijn." }
            }
            p class="jp-muted" { "De volledige definities staan in docs/figures.md van Jeugdpad." }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExportParams {
    formaat: Option<String>,
    peildatum: Option<String>,
}

/// `GET /normalisatie/export?formaat=csv|parquet&peildatum=…`: the file, through the gate.
pub(crate) async fn export(
    State(web): State<Web>,
    viewer: Viewer,
    Query(params): Query<ExportParams>,
) -> Response {
    let format = match params.formaat.as_deref() {
        Some("parquet") => ExportFormat::Parquet,
        _ => ExportFormat::Csv,
    };
    let as_of = params
        .peildatum
        .as_deref()
        .and_then(format::parse_date_input)
        .unwrap_or_else(|| web.state.today());
    let file =
        match session::export_summaries(&web.state, &viewer.session, &viewer.client, as_of).await {
            Ok(rows) => encode(rows, format).await,
            Err(refused) => Err(refused),
        };
    match file {
        Ok(bytes) => {
            let (content_type, extension) = match format {
                ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
                _ => ("application/vnd.apache.parquet", "parquet"),
            };
            (
                [
                    (CONTENT_TYPE, content_type.to_owned()),
                    (
                        CONTENT_DISPOSITION,
                        format!("attachment; filename=\"samenvattingen-{as_of}.{extension}\""),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Err(ExportRefused::Forbidden(message)) => crate::pages::failure(
            &viewer,
            &GqlError {
                code: "FORBIDDEN".into(),
                reason: None,
                field: None,
                message,
            },
        ),
        Err(ExportRefused::Failed) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "De export kon niet worden gemaakt.",
        )
            .into_response(),
    }
}

/// The rows as the file `jeugdpad export --what summaries` writes, encoded off the async workers.
async fn encode(
    rows: Vec<jeugdpad_interchange::SummaryRow>,
    format: ExportFormat,
) -> Result<Vec<u8>, ExportRefused> {
    let made = tokio::task::spawn_blocking(move || {
        jeugdpad_interchange::summaries_file(&rows, format, "summaries")
    })
    .await;
    match made {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => {
            tracing::error!(%error, "the summary download could not be encoded");
            Err(ExportRefused::Failed)
        }
        Err(error) => {
            tracing::error!(%error, "encoding the summary download panicked");
            Err(ExportRefused::Failed)
        }
    }
}
