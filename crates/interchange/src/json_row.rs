//! A summary row as JSON: how the API's analyst export (`summaryExport`) answers — the same
//! columns, names and values as `summaries.csv`, from the same [`Summary`].

use serde_json::{Map, Value};

use crate::columns::{Cell, SUMMARY_COLUMNS};
use crate::summary::Summary;

impl Summary {
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
