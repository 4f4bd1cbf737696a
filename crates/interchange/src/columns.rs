//! The export columns: one definition for CSV, Parquet and the column dictionary
//! (`docs/export-columns.md` explains each; a test keeps the two in step).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use jeugdpad_projections::{col, Cell, Column, ColumnKind};

use crate::Error;

use ColumnKind::{Bool, Date, Int, Text, TextList, Timestamp};

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

/// Where rows go: CSV or Parquet with the given columns, into a file or a buffer (`path` names
/// it in errors).
pub(crate) enum Sink<W: Write + Send> {
    Csv {
        path: PathBuf,
        writer: Box<csv::Writer<W>>,
    },
    Parquet {
        path: PathBuf,
        columns: &'static [Column],
        schema: Arc<Schema>,
        writer: Box<ArrowWriter<W>>,
        rows: Vec<Vec<Cell>>,
    },
}

/// Rows per Parquet row group (and per Arrow batch).
const BATCH_ROWS: usize = 65_536;

impl<W: Write + Send> Sink<W> {
    /// A CSV sink writing `file`, which is `path`.
    pub(crate) fn csv(file: W, path: &Path, columns: &'static [Column]) -> Result<Self, Error> {
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
    pub(crate) fn parquet(file: W, path: &Path, columns: &'static [Column]) -> Result<Self, Error> {
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

    /// Writes what is buffered and the format's trailer; gives back the writer.
    pub(crate) fn finish(mut self) -> Result<W, Error> {
        self.flush_batch()?;
        match self {
            Sink::Csv { path, writer } => writer
                .into_inner()
                .map_err(|e| Error::io(&path, e.into_error())),
            Sink::Parquet { path, writer, .. } => {
                writer.into_inner().map_err(|e| Error::write(&path, e))
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
    use jeugdpad_projections::SUMMARY_COLUMNS;

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
