//! `jeugdpad export`: events and trajectory summaries as JSON Lines, CSV or Parquet.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use jeugdpad_domain::TrajectoryId;
use jeugdpad_projections::AsOf;
use jeugdpad_store::{EventStore, RecordedEvent, Store};
use serde_json::Value;

use jeugdpad_projections::{Cell, SummaryRow, SUMMARY_COLUMNS};

use crate::columns::{Sink, EVENT_COLUMNS};
use crate::wire::EventLine;
use crate::Error;

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// JSON Lines: one JSON object per line.
    Jsonl,
    /// CSV with a header row (RFC 4180, UTF-8).
    Csv,
    /// Apache Parquet (Snappy-compressed), for pandas, DuckDB, R, Spark, Power BI.
    Parquet,
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
        }
    }
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportWhat {
    /// Every event. JSON Lines: the complete envelope (the migration and `import` form, with
    /// free text and staff ids: **not** an analyst export). CSV/Parquet: the analyst's form.
    Events,
    /// One pseudonymised summary row per trajectory as of a date.
    Summaries,
}

/// An export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The format.
    pub format: ExportFormat,
    /// What.
    pub what: ExportWhat,
    /// The directory to write into (created if missing); the file is `events.<ext>` or
    /// `summaries.<ext>`.
    pub out: PathBuf,
    /// The reference date `D` of the summaries.
    pub as_of: NaiveDate,
    /// The knownOn instant `T` of the summaries: when given, every trajectory as the system knew
    /// it then (only events recorded at or before `T`). Not used for events.
    pub known_on: Option<DateTime<Utc>>,
    /// Replace the file when it exists; otherwise an existing file is [`Error::Exists`] and
    /// stays as it is.
    pub overwrite: bool,
}

impl ExportOptions {
    /// The file this export writes: `events.<ext>` or `summaries.<ext>` in [`Self::out`].
    pub fn path(&self) -> PathBuf {
        let name = match self.what {
            ExportWhat::Events => "events",
            ExportWhat::Summaries => "summaries",
        };
        self.out.join(format!("{name}.{}", self.format.extension()))
    }

    /// [`Error::Exists`] when the file exists and may not be replaced: for callers that want to
    /// know before they start (the command line asks before it writes the access log).
    /// [`export`] checks again as it creates the file.
    pub fn refuse_existing(&self) -> Result<(), Error> {
        let path = self.path();
        if !self.overwrite && path.exists() {
            return Err(Error::Exists { path });
        }
        Ok(())
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// The file.
    pub path: PathBuf,
    /// Rows (lines) written, header not counted.
    pub rows: u64,
}

/// Writes one export file. **Blocking.** `progress` is called with the number of log events
/// read.
///
/// Streams: events go from the log to the file in position order, one page of the log at a
/// time; summaries come from [`crate::for_each_summary`], one trajectory at a time; CSV and
/// JSON Lines rows are written as they come, Parquet rows in row groups of 65,536. Only
/// trajectory streams (`trajectory-…`) are exported: whatever else the store holds (`admin`,
/// `access-log`) is skipped. Everything up to the store's head at the start is exported.
///
/// An existing file is replaced only with [`ExportOptions::overwrite`]; otherwise it is
/// [`Error::Exists`] and nothing is written.
pub fn export(
    store: &Store,
    options: &ExportOptions,
    progress: &dyn Fn(u64),
) -> Result<ExportReport, Error> {
    std::fs::create_dir_all(&options.out).map_err(|e| Error::io(&options.out, e))?;
    let path = options.path();
    let file = create(&path, options.overwrite)?;
    let head = store.head();
    let mut rows = 0;
    let as_of = AsOf {
        date: options.as_of,
        known_on: options.known_on,
    };
    match (options.what, options.format) {
        (ExportWhat::Events, ExportFormat::Jsonl) => {
            let mut out = BufWriter::new(file);
            crate::for_each_event(store, head, |event| {
                progress(1);
                if TrajectoryId::from_stream_id(&event.stream_id).is_some() {
                    write_line(&mut out, &path, &EventLine::from(event))?;
                    rows += 1;
                }
                Ok(())
            })?;
            out.flush().map_err(|e| Error::io(&path, e))?;
        }
        (ExportWhat::Events, format) => {
            let mut sink = sink(file, &path, format, EVENT_COLUMNS)?;
            crate::for_each_event(store, head, |event| {
                progress(1);
                if TrajectoryId::from_stream_id(&event.stream_id).is_some() {
                    sink.push(event_cells(&event))?;
                    rows += 1;
                }
                Ok(())
            })?;
            sink.finish()?;
        }
        (ExportWhat::Summaries, ExportFormat::Jsonl) => {
            let mut out = BufWriter::new(file);
            crate::for_each_summary(store, as_of, progress, |summary| {
                rows += 1;
                write_line(&mut out, &path, &summary)
            })?;
            out.flush().map_err(|e| Error::io(&path, e))?;
        }
        (ExportWhat::Summaries, format) => {
            let mut sink = sink(file, &path, format, SUMMARY_COLUMNS)?;
            crate::for_each_summary(store, as_of, progress, |summary| {
                rows += 1;
                sink.push(summary.cells())
            })?;
            sink.finish()?;
        }
    }
    Ok(ExportReport { path, rows })
}

/// Creates the export file; an existing one only when `overwrite` (`create_new` otherwise, so a
/// file that appeared since [`ExportOptions::refuse_existing`] is not replaced either).
fn create(path: &Path, overwrite: bool) -> Result<File, Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Exists {
            path: path.to_path_buf(),
        },
        _ => Error::io(path, e),
    })
}

fn write_line(
    out: &mut BufWriter<File>,
    path: &Path,
    value: &impl serde::Serialize,
) -> Result<(), Error> {
    serde_json::to_writer(&mut *out, value).map_err(|e| Error::write(path, e))?;
    out.write_all(b"\n").map_err(|e| Error::io(path, e))
}

fn sink<W: Write + Send>(
    file: W,
    path: &Path,
    format: ExportFormat,
    columns: &'static [crate::Column],
) -> Result<Sink<W>, Error> {
    if format == ExportFormat::Parquet {
        Sink::parquet(file, path, columns)
    } else {
        Sink::csv(file, path, columns)
    }
}

/// The analyst's form of an event: the envelope without `recorded_by`, correlation and
/// causation ids, and the payload without free text and staff ids (see [`redact`]).
fn event_cells(event: &RecordedEvent) -> Vec<Cell> {
    let mut payload = event.payload.clone();
    redact(&event.event_type, &mut payload);
    vec![
        Cell::Int(i64::try_from(event.position).ok()),
        // Only trajectory streams are exported (see the callers).
        Cell::Text(TrajectoryId::from_stream_id(&event.stream_id).map(|id| id.to_string())),
        Cell::Int(i64::try_from(event.version).ok()),
        Cell::Text(Some(event.event_id.to_string())),
        Cell::Text(Some(event.event_type.clone())),
        Cell::Int(Some(i64::from(event.schema_version))),
        Cell::Date(Some(event.occurred_on)),
        Cell::Timestamp(Some(event.recorded_at)),
        Cell::Text(Some(payload.to_string())),
    ]
}

/// Payload fields an analyst export leaves out: free text a consultant typed (a correction's or
/// retraction's `reason`, a `provider` name — both may name people) and staff ids
/// (`consultant`). A trajectory's close `reason` is a code and stays.
pub(crate) fn redact(event_type: &str, payload: &mut Value) {
    let Value::Object(fields) = payload else {
        return;
    };
    fields.remove("provider");
    fields.remove("consultant");
    if matches!(event_type, "event_corrected" | "event_retracted") {
        fields.remove("reason");
        if let Some(replacement) = fields.get_mut("payload") {
            let kind = replacement
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            redact(&kind, replacement);
        }
    }
}

/// Summary rows as the bytes of one file in `format` — exactly what [`export`] writes for
/// [`ExportWhat::Summaries`] (header, columns, encodings) — for a download that is not written
/// to disk (the web app's). `name` is the file's name in errors.
pub fn summaries_file(
    rows: &[SummaryRow],
    format: ExportFormat,
    name: &str,
) -> Result<Vec<u8>, Error> {
    let path = Path::new(name);
    match format {
        ExportFormat::Jsonl => {
            let mut out = Vec::new();
            for row in rows {
                serde_json::to_writer(&mut out, row).map_err(|e| Error::write(path, e))?;
                out.push(b'\n');
            }
            Ok(out)
        }
        format => {
            let mut sink = sink(Vec::new(), path, format, SUMMARY_COLUMNS)?;
            for row in rows {
                sink.push(row.cells())?;
            }
            sink.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_and_staff_ids_are_left_out() {
        let mut closed = serde_json::json!({"reason": "goals_met"});
        redact("trajectory_closed", &mut closed);
        assert_eq!(closed, serde_json::json!({"reason": "goals_met"}));
        let mut corrected = serde_json::json!({
            "corrects": "x", "reason": "typed the wrong provider",
            "payload": {"type": "help_started", "provider": "Zorg BV", "form": "residential"}
        });
        redact("event_corrected", &mut corrected);
        assert_eq!(
            corrected,
            serde_json::json!({"corrects": "x", "payload": {"type": "help_started", "form": "residential"}})
        );
        let mut assigned = serde_json::json!({"consultant": "consulent-noord-01"});
        redact("consultant_assigned", &mut assigned);
        assert_eq!(assigned, serde_json::json!({}));
    }
}
