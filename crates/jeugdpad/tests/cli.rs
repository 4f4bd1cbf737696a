//! The `jeugdpad` command as an operator uses it: the real binary, real data directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::NaiveDate;
use jeugdpad_store::{EventStore, ExpectedVersion, ProposedEvent, SledStore};
use uuid::Uuid;

const EVENTS: u64 = 40;

fn jeugdpad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jeugdpad"))
        .args(args)
        .env_remove("JEUGDPAD_DATA")
        .output()
        .expect("the jeugdpad binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The marker that lets a test find event `n`'s bytes inside sled's files.
fn marker(n: u64) -> String {
    format!("synthetic-marker-{n:04}-zzzzzzzzzzzzzzzz")
}

/// A store holding `EVENTS` events, one append each (so each lands in its own flush), in a few
/// streams, closed cleanly.
fn populated_store(dir: &Path) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let store = SledStore::open(dir).expect("store opens");
        for n in 1..=EVENTS {
            let event = ProposedEvent {
                event_id: Uuid::new_v4(),
                event_type: "consultant_assigned".to_owned(),
                schema_version: 1,
                occurred_on: NaiveDate::from_ymd_opt(2026, 1, 5).expect("a valid date"),
                recorded_by: "consultant-test".to_owned(),
                correlation_id: None,
                causation_id: None,
                payload: serde_json::json!({ "consultant": marker(n) }),
            };
            store
                .append(
                    &format!("trajectory-{}", n % 4),
                    ExpectedVersion::Any,
                    vec![event],
                )
                .await
                .expect("append succeeds");
        }
        store.close().expect("store closes cleanly");
    });
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy dir");
    for entry in std::fs::read_dir(from).expect("read store dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Every file under `dir` with the offsets where `needle` occurs.
fn occurrences(dir: &Path, needle: &[u8]) -> Vec<(PathBuf, usize)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            found.extend(occurrences(&path, needle));
        } else {
            let bytes = std::fs::read(&path).expect("read file");
            found.extend(
                bytes
                    .windows(needle.len())
                    .enumerate()
                    .filter(|(_, window)| *window == needle)
                    .map(|(offset, _)| (path.clone(), offset)),
            );
        }
    }
    found
}

#[test]
fn verify_reports_an_intact_store_as_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    populated_store(&data);

    let output = jeugdpad(&["verify", "--data", data.to_str().expect("utf-8 path")]);

    assert!(output.status.success(), "verify failed: {output:?}");
    assert!(
        stdout(&output).contains(&format!("{EVENTS} events")),
        "{}",
        stdout(&output)
    );
}

#[test]
fn verify_names_the_position_of_a_single_flipped_byte_in_a_copied_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    populated_store(&data);

    let damaged = 23;
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let hits = occurrences(&copy, marker(damaged).as_bytes());
    assert!(
        !hits.is_empty(),
        "event {damaged}'s bytes were not found in the store files"
    );
    // Flip one byte in the middle of the marker, in the first place sled wrote it.
    let (file, offset) = &hits[0];
    let mut bytes = std::fs::read(file).expect("read store file");
    bytes[offset + 10] ^= 0x01;
    std::fs::write(file, bytes).expect("write damaged file");

    let output = jeugdpad(&["verify", "--data", copy.to_str().expect("utf-8 path")]);

    assert_eq!(
        output.status.code(),
        Some(1),
        "verify must report damage: {output:?}"
    );
    assert!(
        stdout(&output).contains(&format!("position {damaged}")),
        "verify must name position {damaged}:\n{}",
        stdout(&output)
    );
    // The original is untouched and still verifies.
    let original = jeugdpad(&["verify", "--data", data.to_str().expect("utf-8 path")]);
    assert!(original.status.success(), "{original:?}");
}

#[test]
fn verify_of_a_missing_directory_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nowhere");

    let output = jeugdpad(&["verify", "--data", missing.to_str().expect("utf-8 path")]);

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("does not hold a Jeugdpad event store"),
        "{stderr}"
    );
    assert!(!missing.exists(), "verify must not create a data directory");
}

#[test]
fn help_explains_the_data_directory() {
    let output = jeugdpad(&["--help"]);
    let help = stdout(&output);
    assert!(output.status.success());
    for expected in ["serve", "verify", "JEUGDPAD_DATA", "./jeugdpad-data"] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
}

#[test]
fn seed_fills_an_empty_directory_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let args = [
        "--data",
        data,
        "seed",
        "--synthetic",
        "--trajectories",
        "50",
        "--today",
        "2026-06-30",
    ];
    let first = jeugdpad(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout(&first).contains("Recorded 50 trajectories"));
    let second = jeugdpad(&args);
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already holds"));
    let out = dir.path().join("out");
    let export = jeugdpad(&[
        "--data",
        data,
        "export",
        "--format",
        "csv",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--as-of",
        "2026-06-30",
    ]);
    assert!(export.status.success());
    let csv = std::fs::read_to_string(out.join("summaries.csv")).expect("written");
    assert_eq!(csv.lines().count(), 51);
    assert!(
        !csv.contains("consulent-"),
        "no staff ids in the analyst export"
    );
    // As known on an instant before the seed ran, nothing existed yet: the header alone.
    let before = dir.path().join("before");
    let export = jeugdpad(&[
        "--data",
        data,
        "export",
        "--format",
        "csv",
        "--out",
        before.to_str().expect("utf-8 path"),
        "--as-of",
        "2026-06-30",
        "--known-on",
        "2020-01-01T00:00:00Z",
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let csv = std::fs::read_to_string(before.join("summaries.csv")).expect("written");
    assert_eq!(csv.lines().count(), 1, "{csv}");
    // Events carry their own recorded_at: --known-on is refused there, not ignored.
    let events = jeugdpad(&[
        "--data",
        data,
        "export",
        "--what",
        "events",
        "--out",
        before.to_str().expect("utf-8 path"),
        "--known-on",
        "2020-01-01T00:00:00Z",
    ]);
    assert_eq!(events.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&events.stderr).contains("--known-on applies to"));
    assert!(jeugdpad(&["--data", data, "verify"]).status.success());
}
