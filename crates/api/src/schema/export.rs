//! De analistenexport over de API: pseudonymised trajectory summaries, page by page, with the
//! columns, names and values of `jeugdpad export --what summaries` (docs/export-columns.md) —
//! the same `jeugdpad_interchange::summarise` makes both. Analysts only; each page is an
//! export in the access log.

use async_graphql::{Context, Json, Object, SimpleObject};
use jeugdpad_access::Action;
use jeugdpad_interchange::SUMMARY_COLUMNS;
use jeugdpad_projections::{AsOf, ListingCursor, ListingQuery};

use super::errors::ApiError;
use super::scalars::Date;
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
    /// Analysts only; written to the access log as an export.
    async fn summary_export(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
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
        let d = as_of.map_or_else(|| state.today(), |d| d.0);
        let mut query = ListingQuery::new(AsOf::date(d), usize::try_from(first).unwrap_or(1));
        query.after = after;
        let page = state
            .query(move |p| p.list(&query))
            .await
            .map_err(|e| ApiError::internal("the export could not be made", &e, request))?;
        let mut rows = Vec::with_capacity(page.items.len());
        for item in &page.items {
            let id = item.summary.trajectory;
            let trajectory = jeugdpad_app::load(&state.store, id)
                .await
                .map_err(|e| ApiError::internal("the export could not be made", &e, request))?;
            if let Some(summary) = jeugdpad_interchange::summarise(id, &trajectory.trajectory, d) {
                rows.push(Json(summary.to_json_row()));
            }
        }
        Ok(SummaryExportPage {
            columns: SUMMARY_COLUMNS.iter().map(|c| c.name.to_owned()).collect(),
            rows,
            end_cursor: page.items.last().map(|item| item.cursor.encode()),
            has_next_page: page.has_next_page,
        })
    }
}
