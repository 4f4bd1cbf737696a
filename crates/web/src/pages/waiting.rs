//! The team lead's screens: *Wachtlijst* (every open wait by measure, days waited against the
//! norm, breaches first, with the trajectory's consultant) and *Wachttijden* (per measure the
//! count, median, p90, share within the norm and open breaches, a chart of the open waits with
//! the norm as a line, and the monthly median and within-norm share of the last 24 months).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::charts;
use crate::context::{Viewer, Web};
use crate::format;
use crate::gql::{self, GqlError};
use crate::layout::Page;

/// The measures, in the order of the process.
const MEASURES: &[&str] = &[
    "SIGNAL_TO_ASSESSMENT",
    "REQUEST_TO_DECISION",
    "DECISION_TO_START",
    "SIGNAL_TO_FIRST_HELP",
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenWait {
    trajectory_id: String,
    measure: String,
    form: Option<String>,
    started_on: String,
    days_waited: i64,
    norm_days: Option<i64>,
    breach: bool,
}

/// Every open wait of the viewer's team at `as_of`, longest first (the API's order), page by
/// page of 500.
async fn open_waits(
    web: &Web,
    viewer: &Viewer,
    as_of: Option<&str>,
) -> Result<Vec<OpenWait>, GqlError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        open_waits: Connection,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Connection {
        nodes: Vec<OpenWait>,
        page_info: PageInfo,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PageInfo {
        end_cursor: Option<String>,
        has_next_page: bool,
    }
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    // A team's open waits: a few thousand at most; the bound only guards against a loop.
    for _ in 0..40 {
        let data: Data = gql::run(
            web,
            viewer,
            "query($after: String, $asOf: Date) { openWaits(first: 500, after: $after, asOf: $asOf) {
               nodes { trajectoryId measure form startedOn daysWaited normDays breach }
               pageInfo { endCursor hasNextPage } } }",
            json!({ "after": after, "asOf": as_of }),
        )
        .await?;
        all.extend(data.open_waits.nodes);
        if !data.open_waits.page_info.has_next_page {
            break;
        }
        after = data.open_waits.page_info.end_cursor;
    }
    Ok(all)
}

/// Subject key and consultant of the team's trajectories with an open wait.
async fn waiting_trajectories(
    web: &Web,
    viewer: &Viewer,
) -> Result<HashMap<String, (String, Option<String>)>, GqlError> {
    #[derive(Deserialize)]
    struct Data {
        trajectories: Connection,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Connection {
        nodes: Vec<Node>,
        page_info: PageInfo,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Node {
        trajectory_id: String,
        subject_key: String,
        consultant: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PageInfo {
        end_cursor: Option<String>,
        has_next_page: bool,
    }
    let mut found = HashMap::new();
    let mut after: Option<String> = None;
    for _ in 0..40 {
        let data: Data = gql::run(
            web,
            viewer,
            "query($after: String) { trajectories(first: 500, after: $after, filter: { waiting: true }) {
               nodes { trajectoryId subjectKey consultant } pageInfo { endCursor hasNextPage } } }",
            json!({ "after": after }),
        )
        .await?;
        for node in data.trajectories.nodes {
            found.insert(node.trajectory_id, (node.subject_key, node.consultant));
        }
        if !data.trajectories.page_info.has_next_page {
            break;
        }
        after = data.trajectories.page_info.end_cursor;
    }
    Ok(found)
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ListQuery {
    maat: Option<String>,
    overschreden: Option<String>,
}

/// `GET /wachtlijst`.
pub(crate) async fn waiting_list(
    State(web): State<Web>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Response {
    let waits = match open_waits(&web, &viewer, None).await {
        Ok(waits) => waits,
        Err(error) => return crate::pages::failure(&viewer, &error),
    };
    let who = match waiting_trajectories(&web, &viewer).await {
        Ok(who) => who,
        Err(error) => return crate::pages::failure(&viewer, &error),
    };
    let only_breaches = query.overschreden.is_some();
    let measure = query
        .maat
        .as_deref()
        .and_then(|m| MEASURES.iter().find(|x| format::code(x) == m));
    let team = viewer
        .team()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_default();
    let today = web.state.today();
    let content = html! {
        h1 { "Wachtlijst" }
        p class="jp-lead" {
            "Alle lopende wachttijden van team " (team) " op " (jeugdpad_domain::date_nl(today))
            ", per wachttijd de langste eerst: overschrijdingen staan bovenaan."
        }
        form class="jp-filters" method="get" action="/wachtlijst" aria-label="Wachtlijst filteren" {
            div class="jp-field" {
                label class="jp-label" for="veld-maat" { "Wachttijd" }
                select id="veld-maat" name="maat" {
                    option value="" { "Alle wachttijden" }
                    @for m in MEASURES {
                        option value=(format::code(m)) selected[measure == Some(m)] { (format::measure(m)) }
                    }
                }
            }
            div class="jp-field" {
                div class="jp-choice" {
                    input type="checkbox" id="veld-overschreden" name="overschreden" value="ja" checked[only_breaches];
                    label for="veld-overschreden" { "Alleen overschreden" }
                }
            }
            div class="jp-field" { button class="jp-button jp-button--secondary" type="submit" { "Filteren" } }
        }
        @for m in MEASURES.iter().filter(|m| measure.is_none_or(|x| x == *m)) {
            @let rows: Vec<&OpenWait> = waits.iter().filter(|w| w.measure == *m && (!only_breaches || w.breach)).collect();
            section class="jp-measure" aria-labelledby={ "maat-" (format::code(m)) } {
                h2 id={ "maat-" (format::code(m)) } {
                    (format::measure(m))
                    " — " (rows.len()) " lopend"
                    @let breaches = rows.iter().filter(|w| w.breach).count();
                    @if breaches > 0 { ", " (breaches) " overschreden" }
                }
                @if rows.is_empty() {
                    p { "Geen lopende wachttijden." }
                } @else {
                    div class="jp-table-wrap" tabindex="0" role="region" aria-label={ "Lopende wachttijden " (format::measure(m)) ", langste eerst" } {
                        table {
                            caption class="jp-visually-hidden" { "Lopende wachttijden " (format::measure(m)) ", langste eerst" }
                            thead {
                                tr {
                                    th scope="col" { "Jeugdige" }
                                    th scope="col" { "Hulpvorm" }
                                    th scope="col" { "Wacht sinds" }
                                    th scope="col" class="jp-num" { "Dagen gewacht" }
                                    th scope="col" { "Norm" }
                                    th scope="col" { "Consulent" }
                                }
                            }
                            tbody {
                                @for wait in rows { (wait_row(wait, who.get(&wait.trajectory_id))) }
                            }
                        }
                    }
                }
            }
        }
    };
    Page::new("Wachtlijst", Some(&viewer)).render(content)
}

fn wait_row(wait: &OpenWait, who: Option<&(String, Option<String>)>) -> Markup {
    html! {
        tr {
            td {
                a href={ "/traject/" (wait.trajectory_id) } {
                    (who.map_or("traject", |w| w.0.as_str()))
                }
            }
            td { (wait.form.as_deref().map(format::form).unwrap_or_else(|| "–".into())) }
            td { (format::date(&wait.started_on)) }
            td class="jp-num" { (wait.days_waited) }
            td {
                @match wait.norm_days {
                    Some(norm) => {
                        (norm) " dagen "
                        @if wait.breach {
                            span class="jp-badge jp-badge--danger" { "overschreden met " (format::days(Some(wait.days_waited - norm))) }
                        } @else {
                            span class="jp-badge jp-badge--ok" { "binnen de norm" }
                        }
                    }
                    None => { "geen norm" }
                }
            }
            td { (who.and_then(|w| w.1.as_deref()).unwrap_or("–")) }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    as_of: String,
    scope: Scope,
    measures: Vec<MeasureReport>,
}

#[derive(Debug, Deserialize)]
struct Scope {
    teams: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MeasureReport {
    measure: String,
    norm_days: Option<i64>,
    overall: Stats,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Stats {
    closed: i64,
    open: i64,
    median: Option<i64>,
    p90: Option<i64>,
    within_norm: Option<f64>,
    open_breaches: i64,
}

/// One month of a measure's trend.
#[derive(Debug, Clone)]
struct MonthPoint {
    /// `YYYY-MM`.
    month: String,
    closed: i64,
    median: Option<i64>,
    within_norm: Option<f64>,
}

/// The monthly series of the last 24 months per measure (oldest first): `waitingTimeTrend`,
/// answered from the aggregates — a month's figures are those of the waits that ended in it,
/// each month as of its last day (the reference month as of the reference date).
async fn monthly_trend(
    web: &Web,
    viewer: &Viewer,
    as_of: NaiveDate,
) -> Result<BTreeMap<String, Vec<MonthPoint>>, GqlError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        waiting_time_trend: Trend,
    }
    #[derive(Deserialize)]
    struct Trend {
        months: Vec<Month>,
        measures: Vec<MeasureSeries>,
    }
    #[derive(Deserialize)]
    struct Month {
        month: String,
    }
    #[derive(Deserialize)]
    struct MeasureSeries {
        measure: String,
        overall: Vec<Stats>,
    }
    let data: Data = gql::run(
        web,
        viewer,
        "query($asOf: Date) { waitingTimeTrend(asOf: $asOf, months: 24) { months { month }
           measures { measure overall { closed open median p90 withinNorm openBreaches } } } }",
        json!({ "asOf": as_of.to_string() }),
    )
    .await?;
    let trend = data.waiting_time_trend;
    Ok(trend
        .measures
        .into_iter()
        .map(|m| {
            let points = trend
                .months
                .iter()
                .zip(m.overall)
                .map(|(month, stats)| MonthPoint {
                    month: month.month.clone(),
                    closed: stats.closed,
                    median: stats.median,
                    within_norm: stats.within_norm,
                })
                .collect();
            (m.measure, points)
        })
        .collect())
}

/// "2026-03" → "mrt 26".
fn month_label(key: &str) -> String {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
    ];
    let (year, month) = key.split_once('-').unwrap_or((key, "1"));
    let month: usize = month.parse().unwrap_or(1);
    format!(
        "{} {}",
        NAMES[(month.clamp(1, 12)) - 1],
        &year[year.len().saturating_sub(2)..]
    )
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct TimesQuery {
    peildatum: Option<String>,
}

/// `GET /wachttijden`.
pub(crate) async fn waiting_times(
    State(web): State<Web>,
    viewer: Viewer,
    Query(query): Query<TimesQuery>,
) -> Response {
    let as_of = query
        .peildatum
        .as_deref()
        .and_then(format::parse_date_input)
        .unwrap_or_else(|| web.state.today());
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        waiting_times: Report,
    }
    let report: Data = match gql::run(
        &web,
        &viewer,
        "query($asOf: Date) { waitingTimes(asOf: $asOf) { asOf scope { teams }
           measures { measure normDays overall { closed open median p90 withinNorm openBreaches } } } }",
        json!({ "asOf": as_of.to_string() }),
    )
    .await
    {
        Ok(report) => report,
        Err(error) => return crate::pages::failure(&viewer, &error),
    };
    let trend = match monthly_trend(&web, &viewer, as_of).await {
        Ok(trend) => trend,
        Err(error) => return crate::pages::failure(&viewer, &error),
    };
    let waits = match open_waits(&web, &viewer, Some(&as_of.to_string())).await {
        Ok(waits) => waits,
        Err(error) => return crate::pages::failure(&viewer, &error),
    };
    let report = report.waiting_times;
    let content = html! {
        h1 { "Wachttijden" }
        p class="jp-lead" {
            "Team " (report.scope.teams.join(", ")) ", peildatum " (format::date(&report.as_of)) "."
        }
        form class="jp-filters" method="get" action="/wachttijden" {
            p class="jp-hint" id="datum-uitleg" { "Datum als dd-mm-jjjj." }
            div class="jp-field" {
                label class="jp-label" for="veld-peildatum" { "Peildatum" }
                input type="text" id="veld-peildatum" name="peildatum" class="jp-input--short" inputmode="numeric" data-date aria-describedby="datum-uitleg" value=(jeugdpad_domain::date_nl(as_of));
            }
            div class="jp-field" { button class="jp-button jp-button--secondary" type="submit" { "Tonen" } }
        }
        div class="jp-table-wrap" tabindex="0" role="region" aria-label={ "Wachttijden per maat (afgeronde wachttijden; lopende en overschreden op de peildatum)" } {
            table {
                caption { "Wachttijden per maat (afgeronde wachttijden; lopende en overschreden op de peildatum)" }
                thead {
                    tr {
                        th scope="col" { "Wachttijd" }
                        th scope="col" class="jp-num" { "Norm" }
                        th scope="col" class="jp-num" { "Afgerond" }
                        th scope="col" class="jp-num" { "Mediaan" }
                        th scope="col" class="jp-num" { "p90" }
                        th scope="col" class="jp-num" { "Binnen norm" }
                        th scope="col" class="jp-num" { "Lopend" }
                        th scope="col" class="jp-num" { "Open overschrijdingen" }
                    }
                }
                tbody {
                    @for m in &report.measures {
                        tr {
                            th scope="row" { (format::measure(&m.measure)) }
                            td class="jp-num" { (m.norm_days.map_or_else(|| "geen".to_owned(), |n| format!("{n} dagen"))) }
                            td class="jp-num" { (m.overall.closed) }
                            td class="jp-num" { (format::days(m.overall.median)) }
                            td class="jp-num" { (format::days(m.overall.p90)) }
                            td class="jp-num" { (format::percent(m.overall.within_norm)) }
                            td class="jp-num" { (m.overall.open) }
                            td class="jp-num" {
                                @if m.overall.open_breaches > 0 {
                                    span class="jp-badge jp-badge--danger" { (m.overall.open_breaches) " overschreden" }
                                } @else { "0" }
                            }
                        }
                    }
                }
            }
        }
        @for m in &report.measures {
            (measure_section(m, trend.get(&m.measure).map(Vec::as_slice).unwrap_or_default(), &waits))
        }
        p class="jp-muted" {
            "Mediaan en p90: de middelste en de 90e-percentielwaarde (nearest rank) van de afgeronde wachttijden. "
            "Binnen norm: het deel van de afgeronde wachttijden dat niet langer duurde dan de norm. "
            "De maandcijfers tellen de wachttijden die in die maand afliepen."
        }
    };
    Page::new("Wachttijden", Some(&viewer)).render(content)
}

fn measure_section(m: &MeasureReport, trend: &[MonthPoint], waits: &[OpenWait]) -> Markup {
    let code = format::code(&m.measure);
    let name = format::measure(&m.measure);
    let open: Vec<i64> = waits
        .iter()
        .filter(|w| w.measure == m.measure)
        .map(|w| w.days_waited)
        .collect();
    let width = 7;
    let mut bins: BTreeMap<i64, usize> = BTreeMap::new();
    for days in &open {
        *bins.entry(days / width).or_default() += 1;
    }
    let bins: Vec<(i64, i64, usize)> = bins
        .into_iter()
        .map(|(bin, count)| (bin * width, bin * width + width - 1, count))
        .collect();
    let breaches = waits
        .iter()
        .filter(|w| w.measure == m.measure && w.breach)
        .count();
    let medians: Vec<(String, Option<f64>)> = trend
        .iter()
        .map(|p| (month_label(&p.month), p.median.map(|v| v as f64)))
        .collect();
    let shares: Vec<(String, Option<f64>)> = trend
        .iter()
        .map(|p| (month_label(&p.month), p.within_norm))
        .collect();
    html! {
        section class="jp-measure" aria-labelledby={ "grafiek-" (code) } {
            h2 id={ "grafiek-" (code) } { (name) }
            div class="jp-grid" {
                figure class="jp-chart" {
                    figcaption { "Lopende wachttijden: verdeling per week gewacht" }
                    (charts::histogram(&format!("verdeling-{code}"),
                        &format!("Verdeling van de lopende wachttijden {name}"),
                        &format!("{} lopende wachttijden, waarvan {breaches} langer dan de norm{}.", open.len(),
                            m.norm_days.map_or(String::new(), |n| format!(" van {n} dagen"))),
                        &bins, m.norm_days))
                    details {
                        summary { "Verdeling als tabel" }
                        table {
                            caption class="jp-visually-hidden" { "Verdeling van de lopende wachttijden " (name) }
                            thead { tr { th scope="col" { "Dagen gewacht" } th scope="col" class="jp-num" { "Aantal" } } }
                            tbody {
                                @for (from, to, count) in &bins {
                                    tr { td { (from) "–" (to) } td class="jp-num" { (count) } }
                                }
                                @if bins.is_empty() { tr { td colspan="2" { "Geen lopende wachttijden." } } }
                            }
                        }
                    }
                }
                figure class="jp-chart" {
                    figcaption { "Mediaan per maand (laatste 24 maanden)" }
                    (charts::month_line(&format!("mediaan-{code}"),
                        &format!("Mediaan {name} per maand"),
                        "De mediaan van de wachttijden die in de maand afliepen; de stippellijn is de norm.",
                        &medians, None,
                        m.norm_days.map(|n| (n as f64, format!("norm {n} dagen"))),
                        &|v| format!("{v:.0}")))
                }
                @if m.norm_days.is_some() {
                    figure class="jp-chart" {
                        figcaption { "Binnen de norm per maand" }
                        (charts::month_line(&format!("binnen-{code}"),
                            &format!("Binnen de norm {name} per maand"),
                            "Het deel van de wachttijden die in de maand afliepen dat binnen de norm bleef.",
                            &shares, Some(1.0), None,
                            &|v| format!("{:.0}%", v * 100.0)))
                    }
                }
            }
            details {
                summary { "Maandcijfers als tabel" }
                div class="jp-table-wrap" tabindex="0" role="region" aria-label={ (name) " per maand" } {
                    table {
                        caption class="jp-visually-hidden" { (name) " per maand" }
                        thead { tr {
                            th scope="col" { "Maand" }
                            th scope="col" class="jp-num" { "Afgerond" }
                            th scope="col" class="jp-num" { "Mediaan" }
                            th scope="col" class="jp-num" { "Binnen norm" }
                        } }
                        tbody {
                            @for p in trend {
                                tr {
                                    td { (month_label(&p.month)) }
                                    td class="jp-num" { (p.closed) }
                                    td class="jp-num" { (format::days(p.median)) }
                                    td class="jp-num" { (format::percent(p.within_norm)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_labelled_in_dutch() {
        assert_eq!(month_label("2026-03"), "mrt 26");
        assert_eq!(month_label("1999-12"), "dec 99");
    }
}
