//! De analistenexport over de API: pseudonymised trajectory summaries, page by page, with the
//! columns, names and values of `jeugdpad export --what summaries` (docs/export-columns.md) —
//! the same row ([`jeugdpad_projections::SummaryRow`]) makes both, here straight from the read
//! models. Analysts only; each page is an export in the access log.

use async_graphql::{Context, Json, Object, SimpleObject};
use jeugdpad_access::Action;
use jeugdpad_projections::{AsOf, ListingCursor, ListingQuery, SUMMARY_COLUMNS};

use super::errors::ApiError;
use super::scalars::{Date, DateTime};
use super::RequestId;
use crate::gate::{allow, About};
use crate::state::AppState;

/// Largest page of `summaryExport`.
const MAX_PAGE: i32 = 2000;

/// One page of the summary export.
#[derive(Debug, SimpleObject)]
pub(crate) struct SummaryExportPage {
    /// The column names, in the export's order (docs/export-columns.md).
    columns: Vec<String>,
    /// One JSON object per trajectory, keyed by column name; empty cells are null.
    rows: Vec<Json<serde_json::Map<String, serde_json::Value>>>,
    /// Pass as `after` for the next page.
    end_cursor: Option<String>,
    /// More rows follow.
    has_next_page: bool,
}

/// The analyst's export.
#[derive(Debug, Default)]
pub struct ExportQuery;

#[Object]
impl ExportQuery {
    /// Pseudonymised trajectory summaries as of `asOf` (default today), every team, in
    /// signal-date order — the rows of `summaries.csv`: no names, no free text, no staff ids.
    /// With `knownOn`, every row is the trajectory exactly as the system knew it at that
    /// instant: only steps and corrections recorded at or before it count, and trajectories
    /// recorded later are not there (the `known_on` column repeats the instant). Analysts only;
    /// written to the access log as an export.
    async fn summary_export(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        known_on: Option<DateTime>,
        #[graphql(default = 500)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<SummaryExportPage> {
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(
                ApiError::invalid("first", format!("must be between 1 and {MAX_PAGE}")).into(),
            );
        }
        let after = after
            .as_deref()
            .map(ListingCursor::decode)
            .transpose()
            .map_err(|e| ApiError::invalid("after", e))?;
        allow(ctx, Action::Export, About::default()).await?;
        let state = ctx.data_unchecked::<AppState>();
        let request = ctx.data_opt::<RequestId>().map(|r| r.0);
        let failed = |e: &dyn std::fmt::Display| {
            ApiError::internal("the export could not be made", e, request)
        };
        let as_of = AsOf {
            date: as_of.map_or_else(|| state.today(), |d| d.0),
            known_on: known_on.map(|t| t.0),
        };
        // The listing as known at `knownOn` gives the trajectories and their signal-date order
        // then; each row comes from the same read models, in the same consistent snapshot.
        let mut query = ListingQuery::new(as_of, usize::try_from(first).unwrap_or(1));
        query.after = after;
        let (page, rows) = state
            .query(move |p| {
                let page = p.list(&query);
                let rows: Vec<_> = page
                    .items
                    .iter()
                    .filter_map(|item| p.summary_row(item.summary.trajectory, as_of))
                    .map(|row| Json(row.to_json_row()))
                    .collect();
                (page, rows)
            })
            .await
            .map_err(|e| failed(&e))?;
        Ok(SummaryExportPage {
            columns: SUMMARY_COLUMNS.iter().map(|c| c.name.to_owned()).collect(),
            rows,
            end_cursor: page.items.last().map(|item| item.cursor.encode()),
            has_next_page: page.has_next_page,
        })
    }
}
