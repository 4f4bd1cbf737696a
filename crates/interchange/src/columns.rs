//! The export columns: one definition for CSV, Parquet and the column dictionary
//! (`docs/export-columns.md` explains each; a test keeps the two in step).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::Error;

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

const fn col(name: &'static str, kind: ColumnKind, nullable: bool) -> Column {
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

/// The columns of `events.csv` / `events.parquet` (the analyst's form), in order.
pub const EVENT_COLUMNS: &[Column] = &[
    col("position", Int, false),
    col("trajectory_id", Text, false),
    col("version", Int, false),
    col("event_id", Text, false),
    col("type", Text, false),
    col("schema_version", Int, false),
    col("occurred_on", Date, false),
    col("recorded_at", Timestamp, false),
    col("payload", Text, false),
];

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(Option<String>),
    Date(Option<NaiveDate>),
    Int(Option<i64>),
    Timestamp(Option<DateTime<Utc>>),
    Bool(Option<bool>),
    TextList(Vec<String>),
}

impl Cell {
    fn csv(&self) -> String {
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

/// Where rows go: a CSV or a Parquet file with the given columns.
pub(crate) enum Sink {
    Csv {
        path: PathBuf,
        writer: Box<csv::Writer<File>>,
    },
    Parquet {
        path: PathBuf,
        columns: &'static [Column],
        schema: Arc<Schema>,
        writer: Box<ArrowWriter<File>>,
        rows: Vec<Vec<Cell>>,
    },
}

/// Rows per Parquet row group (and per Arrow batch).
const BATCH_ROWS: usize = 65_536;

impl Sink {
    /// A CSV sink writing `file`, which is `path`.
    pub(crate) fn csv(file: File, path: &Path, columns: &'static [Column]) -> Result<Sink, Error> {
        let mut writer = csv::Writer::from_writer(file);
        writer
            .write_record(columns.iter().map(|c| c.name))
            .map_err(|e| Error::write(path, e))?;
        Ok(Sink::Csv {
            path: path.to_path_buf(),
            writer: Box::new(writer),
        })
    }

    /// A Parquet sink writing `file`, which is `path`.
    pub(crate) fn parquet(
        file: File,
        path: &Path,
        columns: &'static [Column],
    ) -> Result<Sink, Error> {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| Field::new(c.name, data_type(c.kind), c.nullable))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(BATCH_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
            .map_err(|e| Error::write(path, e))?;
        Ok(Sink::Parquet {
            path: path.to_path_buf(),
            columns,
            schema,
            writer: Box::new(writer),
            rows: Vec::with_capacity(BATCH_ROWS),
        })
    }

    pub(crate) fn push(&mut self, row: Vec<Cell>) -> Result<(), Error> {
        match self {
            Sink::Csv { path, writer } => writer
                .write_record(row.iter().map(Cell::csv))
                .map_err(|e| Error::write(path, e)),
            Sink::Parquet { rows, .. } => {
                rows.push(row);
                if rows.len() >= BATCH_ROWS {
                    self.flush_batch()?;
                }
                Ok(())
            }
        }
    }

    fn flush_batch(&mut self) -> Result<(), Error> {
        let Sink::Parquet {
            path,
            columns,
            schema,
            writer,
            rows,
        } = self
        else {
            return Ok(());
        };
        if rows.is_empty() {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = (0..columns.len())
            .map(|i| array(columns[i].kind, rows.iter().map(|row| &row[i])))
            .collect();
        let batch =
            RecordBatch::try_new(Arc::clone(schema), arrays).map_err(|e| Error::write(path, e))?;
        writer.write(&batch).map_err(|e| Error::write(path, e))?;
        rows.clear();
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<(), Error> {
        self.flush_batch()?;
        match self {
            Sink::Csv { path, mut writer } => writer.flush().map_err(|e| Error::io(&path, e)),
            Sink::Parquet { path, writer, .. } => {
                writer.close().map_err(|e| Error::write(&path, e))?;
                Ok(())
            }
        }
    }
}

fn data_type(kind: ColumnKind) -> DataType {
    match kind {
        Text => DataType::Utf8,
        Date => DataType::Date32,
        Int => DataType::Int64,
        Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Bool => DataType::Boolean,
        TextList => DataType::List(list_item()),
    }
}

/// The item field of a [`ColumnKind::TextList`] column: `item`, a string, never null.
fn list_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8, false))
}

/// Days from 1970-01-01, Arrow's `date32`.
fn epoch_days(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((date - epoch).num_days()).unwrap_or(i32::MAX)
}

fn array<'a>(kind: ColumnKind, cells: impl Iterator<Item = &'a Cell>) -> ArrayRef {
    match kind {
        Text => {
            let mut b = StringBuilder::new();
            for cell in cells {
                match cell {
                    Cell::Text(Some(v)) => b.append_value(v),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Date => {
            let mut b = Date32Builder::new();
            for cell in cells {
                b.append_option(match cell {
                    Cell::Date(v) => v.map(epoch_days),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        Int => {
            let mut b = Int64Builder::new();
            for cell in cells {
                b.append_option(match cell {
                    Cell::Int(v) => *v,
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        Timestamp => {
            let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            for cell in cells {
                b.append_option(match cell {
                    Cell::Timestamp(v) => v.map(|t| t.timestamp_micros()),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        Bool => {
            let mut b = BooleanBuilder::new();
            for cell in cells {
                b.append_option(match cell {
                    Cell::Bool(v) => *v,
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        TextList => {
            let mut b = ListBuilder::new(StringBuilder::new()).with_field(list_item());
            for cell in cells {
                match cell {
                    Cell::TextList(codes) => {
                        for code in codes {
                            b.values().append_value(code);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_dictionary_documents_every_column() {
        let dictionary = include_str!("../../../docs/export-columns.md");
        for column in SUMMARY_COLUMNS.iter().chain(EVENT_COLUMNS) {
            assert!(
                dictionary.contains(&format!("| `{}` |", column.name)),
                "docs/export-columns.md does not describe `{}`",
                column.name
            );
        }
    }
}
