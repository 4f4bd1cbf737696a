//! Een exportregel: one pseudonymised row per trajectory for analysts — the columns of
//! `summaries.csv` / `.parquet` (`docs/export-columns.md` explains each) and the rows of the
//! API's `summaryExport`, defined once here, with no file format attached (the CSV and Parquet
//! writers are `jeugdpad-interchange`'s). Every figure of a row is the read models' own
//! ([`TrajectoryFigures`]): the files, the API and the reports share one definition.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use jeugdpad_domain::TrajectoryId;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::figures::{TrajectoryFigures, TrajectoryWait, WaitStatus};
use crate::{AsOf, Measure, Projections};

impl Projections {
    /// The export row of trajectory `id` as of `as_of` (with knownOn: as known then), from the
    /// read models; `None` when it is unknown or not yet signalled (or known) then.
    pub fn summary_row(&self, id: TrajectoryId, as_of: AsOf) -> Option<SummaryRow> {
        let figures = self.figures(id, as_of)?;
        Some(SummaryRow::of(&figures, as_of))
    }
}

/// The type of a column: Parquet/Arrow type and CSV text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// UTF-8 text (`string`).
    Text,
    /// A calendar date (`date32`; CSV `YYYY-MM-DD`).
    Date,
    /// A whole number (`int64`).
    Int,
    /// A UTC instant (`timestamp[us, tz=UTC]`, microseconds; CSV RFC 3339 to the nanosecond).
    Timestamp,
    /// `true`/`false` (`bool`).
    Bool,
    /// A list of codes (Parquet `list<string>` with non-null items; CSV the codes joined by
    /// `;`, empty for an empty list; JSON an array of strings).
    TextList,
}

/// What joins the codes of a [`ColumnKind::TextList`] in a CSV cell. No code contains it.
pub const LIST_SEPARATOR: char = ';';

/// One export column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header / field name.
    pub name: &'static str,
    /// Its type.
    pub kind: ColumnKind,
    /// May be empty (CSV) / null (Parquet).
    pub nullable: bool,
}

pub const fn col(name: &'static str, kind: ColumnKind, nullable: bool) -> Column {
    Column {
        name,
        kind,
        nullable,
    }
}

use ColumnKind::{Bool, Date, Int, Text, TextList, Timestamp};

/// The columns of `summaries.csv` / `summaries.parquet`, in order.
pub const SUMMARY_COLUMNS: &[Column] = &[
    col("trajectory_id", Text, false),
    col("subject_key", Text, false),
    col("team", Text, false),
    col("source", Text, false),
    col("ijw_verwijzer", Text, false),
    col("urgency", Text, false),
    col("birth_year", Int, true),
    col("signal_on", Date, false),
    col("signal_month", Text, false),
    col("phase", Text, false),
    col("highest_level", Int, false),
    col("cbs_category", Text, true),
    col("escalations", Int, false),
    col("step_downs", Int, false),
    col("buurtgezin_prevention", Bool, false),
    col("pathway_days", Int, false),
    col("closed_on", Date, true),
    col("close_reason", Text, true),
    col("signal_to_assessment_days", Int, true),
    col("signal_to_assessment_status", Text, true),
    col("request_to_decision_days", Int, true),
    col("request_to_decision_status", Text, true),
    col("decision_to_start_days", Int, true),
    col("decision_to_start_status", Text, true),
    col("signal_to_first_help_days", Int, true),
    col("signal_to_first_help_status", Text, true),
    col("as_of", Date, false),
    col("known_on", Timestamp, true),
    col("concerns", TextList, false),
    col("assessment_conclusion", Text, true),
    col("help_forms", TextList, false),
];

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Date(Option<NaiveDate>),
    Int(Option<i64>),
    Timestamp(Option<DateTime<Utc>>),
    Bool(Option<bool>),
    TextList(Vec<String>),
}

impl Cell {
    /// The cell as CSV text (empty for null).
    pub fn csv(&self) -> String {
        match self {
            Cell::Text(v) => v.clone().unwrap_or_default(),
            Cell::Date(v) => v.map(|d| d.to_string()).unwrap_or_default(),
            Cell::Int(v) => v.map(|n| n.to_string()).unwrap_or_default(),
            Cell::Timestamp(v) => v
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .unwrap_or_default(),
            Cell::Bool(v) => v.map(|b| b.to_string()).unwrap_or_default(),
            Cell::TextList(v) => v.join(&LIST_SEPARATOR.to_string()),
        }
    }
}

/// The first wait of one measure: its status and length in days (`None` when abandoned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitFigure {
    /// Closed, open or abandoned.
    pub status: WaitStatus,
    /// Days: closed length or days so far; `None` when abandoned.
    pub days: Option<i64>,
}

impl From<&TrajectoryWait> for WaitFigure {
    fn from(wait: &TrajectoryWait) -> Self {
        WaitFigure {
            status: wait.status,
            days: wait.days,
        }
    }
}

/// Samenvatting for analysts: one trajectory as of `D`, without free text and without staff.
/// The columns are documented in `docs/export-columns.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryRow {
    pub trajectory_id: TrajectoryId,
    pub subject_key: String,
    pub team: String,
    pub source: &'static str,
    pub ijw_verwijzer: &'static str,
    pub urgency: String,
    pub birth_year: Option<i32>,
    pub signal_on: NaiveDate,
    pub signal_month: String,
    pub phase: String,
    pub highest_level: u8,
    pub cbs_category: Option<&'static str>,
    pub escalations: usize,
    pub step_downs: usize,
    pub buurtgezin_prevention: bool,
    pub pathway_days: i64,
    pub closed_on: Option<NaiveDate>,
    pub close_reason: Option<String>,
    pub signal_to_assessment: Option<WaitFigure>,
    pub request_to_decision: Option<WaitFigure>,
    pub decision_to_start: Option<WaitFigure>,
    pub signal_to_first_help: Option<WaitFigure>,
    pub as_of: NaiveDate,
    /// The knownOn instant `T` the row was made for (`None`: everything known now).
    pub known_on: Option<DateTime<Utc>>,
    /// The signal's concern codes, as corrected.
    pub concerns: Vec<&'static str>,
    /// The first assessment's conclusion code, when one was completed by `D`.
    pub assessment_conclusion: Option<&'static str>,
    /// The form codes of the help episodes started by `D`, in start order.
    pub help_forms: Vec<&'static str>,
}

impl SummaryRow {
    /// The row of a trajectory with `figures` as of `as_of` (the reference date the figures were
    /// computed for, and the knownOn instant written into the row). A measure's column holds the
    /// trajectory's **first** wait of that measure ([`TrajectoryFigures::first`]).
    pub fn of(figures: &TrajectoryFigures, as_of: AsOf) -> SummaryRow {
        let summary = &figures.summary;
        let first = |measure| figures.first(measure).map(WaitFigure::from);
        SummaryRow {
            trajectory_id: summary.trajectory,
            subject_key: summary.subject_key.as_str().to_owned(),
            team: summary.team.as_str().to_owned(),
            source: summary.source.code(),
            ijw_verwijzer: summary.source.ijw_verwijzer(),
            urgency: summary.urgency.to_string(),
            birth_year: figures.birth_year,
            signal_on: summary.signal_on,
            signal_month: format!(
                "{:04}-{:02}",
                summary.signal_on.year(),
                summary.signal_on.month()
            ),
            phase: summary.phase.to_string(),
            highest_level: summary.highest_level as u8,
            cbs_category: summary.highest_level.cbs_category().map(|c| match c {
                jeugdpad_domain::CbsCategory::WithoutStay => "without_stay",
                jeugdpad_domain::CbsCategory::WithStay => "with_stay",
            }),
            escalations: summary.escalations,
            step_downs: summary.step_downs,
            buurtgezin_prevention: figures.buurtgezin_prevention,
            pathway_days: summary.pathway_days,
            closed_on: summary.closed_on,
            close_reason: summary.close_reason.map(|reason| reason.to_string()),
            signal_to_assessment: first(Measure::SignalToAssessment),
            request_to_decision: first(Measure::RequestToDecision),
            decision_to_start: first(Measure::DecisionToStart),
            signal_to_first_help: first(Measure::SignalToFirstHelp),
            as_of: as_of.date,
            known_on: as_of.known_on,
            concerns: figures.concerns.iter().map(|c| c.code()).collect(),
            assessment_conclusion: figures.assessment_conclusion.map(|c| c.code()),
            help_forms: figures.help_forms.iter().map(|f| f.code()).collect(),
        }
    }

    /// The row's cells, in [`SUMMARY_COLUMNS`] order.
    pub fn cells(&self) -> Vec<Cell> {
        let text = |v: &str| Cell::Text(Some(v.to_owned()));
        let int = |v: i64| Cell::Int(Some(v));
        let mut cells = vec![
            text(&self.trajectory_id.to_string()),
            text(&self.subject_key),
            text(&self.team),
            text(self.source),
            text(self.ijw_verwijzer),
            text(&self.urgency),
            Cell::Int(self.birth_year.map(i64::from)),
            Cell::Date(Some(self.signal_on)),
            text(&self.signal_month),
            text(&self.phase),
            int(i64::from(self.highest_level)),
            Cell::Text(self.cbs_category.map(str::to_owned)),
            int(self.escalations as i64),
            int(self.step_downs as i64),
            Cell::Bool(Some(self.buurtgezin_prevention)),
            int(self.pathway_days),
            Cell::Date(self.closed_on),
            Cell::Text(self.close_reason.clone()),
        ];
        for wait in [
            self.signal_to_assessment,
            self.request_to_decision,
            self.decision_to_start,
            self.signal_to_first_help,
        ] {
            cells.push(Cell::Int(wait.and_then(|w| w.days)));
            cells.push(Cell::Text(wait.map(|w| w.status.code().to_owned())));
        }
        cells.push(Cell::Date(Some(self.as_of)));
        cells.push(Cell::Timestamp(self.known_on));
        let list = |codes: &[&str]| Cell::TextList(codes.iter().map(|&c| c.to_owned()).collect());
        cells.push(list(&self.concerns));
        cells.push(Cell::Text(self.assessment_conclusion.map(str::to_owned)));
        cells.push(list(&self.help_forms));
        cells
    }

    /// The row keyed by the export's column names ([`SUMMARY_COLUMNS`]); empty cells are `null`,
    /// dates `YYYY-MM-DD`, instants RFC 3339 in UTC (`…Z`, as in the CSV), lists arrays.
    pub fn to_json_row(&self) -> Map<String, Value> {
        SUMMARY_COLUMNS
            .iter()
            .zip(self.cells())
            .map(|(column, cell)| (column.name.to_owned(), json(cell)))
            .collect()
    }
}

fn json(cell: Cell) -> Value {
    match cell {
        Cell::Text(v) => v.map_or(Value::Null, Value::String),
        Cell::Date(v) => v.map_or(Value::Null, |d| Value::String(d.to_string())),
        Cell::Int(v) => v.map_or(Value::Null, Value::from),
        Cell::Timestamp(v) => v.map_or(Value::Null, |t| {
            Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        }),
        Cell::Bool(v) => v.map_or(Value::Null, Value::Bool),
        Cell::TextList(v) => Value::Array(v.into_iter().map(Value::String).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_json_values() {
        assert_eq!(json(Cell::Text(None)), Value::Null);
        assert_eq!(json(Cell::Int(Some(3))), Value::from(3));
        assert_eq!(
            json(Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 1, 5))),
            Value::from("2026-01-05")
        );
        assert_eq!(json(Cell::Bool(Some(true))), Value::Bool(true));
        assert_eq!(
            json(Cell::TextList(vec!["parenting".into(), "housing".into()])),
            serde_json::json!(["parenting", "housing"])
        );
        assert_eq!(json(Cell::TextList(Vec::new())), serde_json::json!([]));
    }
}
