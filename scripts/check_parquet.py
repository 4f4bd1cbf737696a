"""Reads Jeugdpad's Parquet exports back with a mainstream reader (pyarrow) and checks the column
types and the row counts against the CSV exports of the same store, and the summaries' list
columns (concerns, help_forms) against the CSV's ';'-joined cells.

Run by `cargo xtask parquet`, which seeds a small synthetic municipality, exports summaries and
events as CSV and Parquet into a directory, and calls: check_parquet.py DIRECTORY
"""
import csv, sys
import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1]
expected = {
    "summaries": {
        "trajectory_id": pa.string(), "subject_key": pa.string(), "team": pa.string(),
        "source": pa.string(), "ijw_verwijzer": pa.string(), "urgency": pa.string(),
        "birth_year": pa.int64(), "signal_on": pa.date32(), "signal_month": pa.string(),
        "phase": pa.string(), "highest_level": pa.int64(), "cbs_category": pa.string(),
        "escalations": pa.int64(), "step_downs": pa.int64(), "buurtgezin_prevention": pa.bool_(),
        "pathway_days": pa.int64(), "closed_on": pa.date32(), "close_reason": pa.string(),
        "signal_to_assessment_days": pa.int64(), "signal_to_assessment_status": pa.string(),
        "request_to_decision_days": pa.int64(), "request_to_decision_status": pa.string(),
        "decision_to_start_days": pa.int64(), "decision_to_start_status": pa.string(),
        "signal_to_first_help_days": pa.int64(), "signal_to_first_help_status": pa.string(),
        "as_of": pa.date32(), "known_on": pa.timestamp("us", tz="UTC"),
        "concerns": pa.list_(pa.field("item", pa.string(), nullable=False)),
        "assessment_conclusion": pa.string(),
        "help_forms": pa.list_(pa.field("item", pa.string(), nullable=False)),
    },
    "events": {
        "position": pa.int64(), "trajectory_id": pa.string(), "version": pa.int64(),
        "event_id": pa.string(), "type": pa.string(), "schema_version": pa.int64(),
        "occurred_on": pa.date32(), "recorded_at": pa.timestamp("us", tz="UTC"),
        "payload": pa.string(),
    },
}
for name, columns in expected.items():
    table = pq.read_table(f"{out}/{name}.parquet")
    got = {field.name: field.type for field in table.schema}
    assert list(got) == list(columns), f"{name}: columns {list(got)}"
    for column, kind in columns.items():
        assert got[column] == kind, f"{name}.{column}: {got[column]} != {kind}"
    with open(f"{out}/{name}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert table.num_rows == len(rows) > 0, f"{name}: {table.num_rows} parquet rows, {len(rows)} csv rows"
    assert table.column("trajectory_id")[0].as_py() == rows[0]["trajectory_id"], f"{name}: first row differs from the CSV"
    print(f"{name}.parquet: {table.num_rows} rows, {len(columns)} columns, types as documented")
summaries = pq.read_table(f"{out}/summaries.parquet")
assert set(summaries.column("ijw_verwijzer").to_pylist()) <= {"01", "02", "03", "04", "05", "06", "08"}
assert all(k.startswith("sk-synth-") for k in summaries.column("subject_key").to_pylist())
# The list columns hold the same codes as the CSV's ';'-joined cells, row by row.
with open(f"{out}/summaries.csv", newline="") as f:
    csv_rows = list(csv.DictReader(f))
for column in ("concerns", "help_forms"):
    lists = summaries.column(column).to_pylist()
    assert all(isinstance(v, list) for v in lists), f"{column}: a null list"
    joined = [";".join(v) for v in lists]
    assert joined == [row[column] for row in csv_rows], f"{column}: parquet lists differ from the CSV"
assert all(len(v) >= 1 for v in summaries.column("concerns").to_pylist()), "a signal without concerns"
assert any(len(v) >= 2 for v in summaries.column("help_forms").to_pylist()), "no trajectory with two forms of help"
assert summaries.column("known_on").null_count == summaries.num_rows, "known_on without --known-on"
print("parquet check passed")
