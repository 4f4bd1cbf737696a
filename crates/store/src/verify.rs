//! Verification of a whole store: positions, hash chain, indexes, stream versions, sidecar.
//!
//! Verification reports; it never repairs and never panics on damaged data (a panic inside sled
//! is caught and reported). Problems name the position they concern, so that the first broken
//! position can be read off ([`VerifyReport::first_broken_position`]).

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::envelope::{self, GENESIS, HASH_LEN};
use crate::keys;
use crate::sidecar::{self, ChainHead};
use crate::sled_store::{holds_store, map_open_error, sled_config, SLED_DIR};
use crate::StoreError;

/// At most this many problems are listed; the rest are only counted.
const MAX_PROBLEMS: usize = 200;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The position concerned (damaged, missing, or first missing), when one can be named.
    pub position: Option<u64>,
    /// What is wrong, as a sentence.
    pub what: String,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Log records read and checked.
    pub events: u64,
    /// Streams seen (events with version 1).
    pub streams: u64,
    /// The last position read.
    pub head_position: u64,
    /// The chain hash stored with that position (hex). Record it elsewhere to detect a
    /// recomputed chain later.
    pub head_hash: String,
    /// Everything found wrong, in the order found (at most 200; see `more_problems`).
    pub problems: Vec<Problem>,
    /// Problems found beyond those listed.
    pub more_problems: u64,
    /// Findings that are not damage but weaken the check (e.g. no sidecar).
    pub warnings: Vec<String>,
    /// The position asked for with [`verify_dir_at`] and the chain hash stored with it (hex);
    /// `None` when none was asked for or the log does not reach it.
    pub hash_at: Option<(u64, String)>,
    /// sled could not open the store at all (its `conf` or log unreadable): nothing could be
    /// checked, which `jeugdpad verify` reports as unreadable (exit 2), not as damage found.
    pub unreadable: bool,
}

impl VerifyReport {
    /// No problems found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The lowest position any problem names.
    pub fn first_broken_position(&self) -> Option<u64> {
        self.problems.iter().filter_map(|p| p.position).min()
    }

    pub(crate) fn empty() -> Self {
        VerifyReport {
            events: 0,
            streams: 0,
            head_position: 0,
            head_hash: hex::encode(GENESIS),
            problems: Vec::new(),
            more_problems: 0,
            warnings: Vec::new(),
            hash_at: None,
            unreadable: false,
        }
    }

    /// A position asked for (`verify --at`) that the walk never reached is a problem: the log
    /// ends before it.
    pub(crate) fn require_hash_at(&mut self, at: Option<u64>) {
        if let Some(at) = at {
            if self.hash_at.is_none() {
                self.problem(
                    Some(at),
                    format!(
                        "position {at} was asked for, but the log ends at position {}",
                        self.head_position
                    ),
                );
            }
        }
    }

    pub(crate) fn problem(&mut self, position: Option<u64>, what: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                position,
                what: what.into(),
            });
        } else {
            self.more_problems += 1;
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} in {}; head position {} hash {}",
            count(self.events, "event", "events"),
            count(self.streams, "stream", "streams"),
            self.head_position,
            self.head_hash
        )?;
        if let Some((position, hash)) = &self.hash_at {
            writeln!(f, "hash at position {position}: {hash}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        if self.is_ok() {
            return writeln!(f, "OK: no problems found");
        }
        if let Some(position) = self.first_broken_position() {
            writeln!(f, "FIRST BROKEN POSITION: {position}")?;
        }
        for problem in &self.problems {
            match problem.position {
                Some(p) => writeln!(f, "position {p}: {}", problem.what)?,
                None => writeln!(f, "{}", problem.what)?,
            }
        }
        if self.more_problems > 0 {
            let more = count(self.more_problems, "more problem", "more problems");
            writeln!(f, "... and {more}")?;
        }
        Ok(())
    }
}

/// `n` with the noun that fits it: "1 stream", "2 streams".
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Verifies the store in `dir` (what `jeugdpad verify --data DIR` runs). Never panics on a
/// damaged store: whatever sled does (an error, a panic, a silently shortened log) ends up in the
/// report, naming the first damaged or missing position where it can.
///
/// A segment-log store (format 2) is checked in place by `log::verify_log_dir`: reading its
/// segments changes nothing. For a sled store (format 1) the rest of this paragraph applies.
///
/// **Leaves the store untouched.** Opening a sled database runs sled's recovery, which (measured
/// on 0.34.7) zeroes everything from the first damaged log message on and extends the file: the
/// evidence would be destroyed. So this function takes sled's lock (refusing a store that a
/// running process holds), copies sled's files into a temporary directory inside `dir` (or the
/// system temp dir when `dir` is read-only), and verifies the copy, which it then removes. That
/// needs free space the size of the store.
///
/// `Err` only when the directory holds no store ([`StoreError::NotAStore`]), the store is in use,
/// or the copy cannot be made.
pub fn verify_dir(dir: &Path) -> Result<VerifyReport, StoreError> {
    verify_dir_at(dir, None)
}

/// [`verify_dir`], also reporting the chain hash stored with position `at`
/// ([`VerifyReport::hash_at`]): an operator who kept a head hash from an earlier run checks that
/// the log still carries it at that position. A position beyond the log is a problem.
pub fn verify_dir_at(dir: &Path, at: Option<u64>) -> Result<VerifyReport, StoreError> {
    let mut report = verify_any_dir(dir, at)?;
    report.require_hash_at(at);
    Ok(report)
}

fn verify_any_dir(dir: &Path, at: Option<u64>) -> Result<VerifyReport, StoreError> {
    crate::copy::refuse_unfinished_restore(dir)?;
    if crate::log::holds_log_store(dir) {
        return crate::log::verify_log_dir(dir, at);
    }
    if !holds_store(dir) {
        return Err(StoreError::NotAStore(dir.to_path_buf()));
    }
    let sled_dir = dir.join(SLED_DIR);
    let db_file = sled_dir.join("db");
    let sidecar = sidecar::read(dir);
    let committed = match &sidecar {
        Ok(Some(head)) => head.position,
        _ => 0,
    };
    let copy = {
        let lock = std::fs::File::open(&db_file)
            .map_err(|e| StoreError::storage(&format!("cannot open {db_file:?}"), e))?;
        fs2::FileExt::try_lock_exclusive(&lock)
            .map_err(|_| StoreError::Locked(dir.to_path_buf()))?;
        let copy = ScratchDir::new(dir)?;
        copy_tree(&sled_dir, &copy.path.join(SLED_DIR))
            .map_err(|e| StoreError::storage("cannot copy the store for verification", e))?;
        copy
        // `lock` is released here: the copy is consistent.
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| match sled_config(&copy.path).open() {
        Ok(db) => verify_tree(&db, None, sidecar.clone(), at),
        Err(e) => {
            let error = map_open_error(dir, e);
            let mut report = VerifyReport::empty();
            report.unreadable = true;
            report.problem(
                    (committed > 0).then_some(1),
                    format!(
                        "sled cannot open the store ({error}); {} records positions 1..={committed} as committed, none can be read",
                        sidecar::FILE_NAME
                    ),
                );
            report
        }
    }));
    Ok(outcome.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let mut report = VerifyReport::empty();
        report.problem(
            (committed > 0).then_some(1),
            format!("sled panicked while opening or reading the store: {message}"),
        );
        report
    }))
}

/// A temporary directory that removes itself.
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn new(store: &Path) -> Result<Self, StoreError> {
        let name = format!(
            ".verify-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        let candidates = [store.join(&name), std::env::temp_dir().join(&name)];
        let mut last_error = None;
        for path in candidates {
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(ScratchDir { path }),
                Err(e) => last_error = Some(e),
            }
        }
        Err(StoreError::Storage(format!(
            "cannot create a scratch directory for verification: {last_error:?}"
        )))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(path = ?self.path, error = %e, "cannot remove the verification copy");
        }
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Walks the log (up to `limit` if given: a live store is checked up to its head) and the indexes.
pub(crate) fn verify_tree(
    db: &sled::Db,
    limit: Option<u64>,
    sidecar: Result<Option<ChainHead>, String>,
    at: Option<u64>,
) -> VerifyReport {
    let mut report = VerifyReport::empty();
    let end = limit.unwrap_or(u64::MAX);
    let mut expected = 1u64;
    let mut previous: Option<[u8; HASH_LEN]> = Some(GENESIS);
    let mut log_intact = true;

    for item in db.range(keys::log_key(0)..=keys::log_key(end)) {
        let (key, value) = match item {
            Ok(entry) => entry,
            Err(e) => {
                report.problem(
                    Some(expected),
                    format!("position {expected} and everything after it cannot be read: sled reports {e}"),
                );
                log_intact = false;
                break;
            }
        };
        let Some(position) = keys::position_of_log_key(&key) else {
            report.problem(Some(expected), "malformed log key");
            continue;
        };
        if position != expected {
            if position > expected {
                report.problem(
                    Some(expected),
                    format!("positions {expected}..={} are missing", position - 1),
                );
            } else {
                report.problem(Some(position), "unexpected log position");
            }
        }
        expected = position + 1;
        report.head_position = position;
        report.events += 1;
        let (stored_hash, canonical) = match envelope::split_record(&value) {
            Ok(parts) => parts,
            Err(why) => {
                report.problem(Some(position), why);
                previous = None;
                continue;
            }
        };
        // Chain from the *stored* previous hash, so that one damaged record is named alone
        // instead of breaking every link after it.
        if let Some(previous) = previous {
            if envelope::chain(&previous, canonical) != stored_hash {
                report.problem(
                    Some(position),
                    "chain hash mismatch: the record's bytes are not the ones written",
                );
            }
        }
        previous = Some(stored_hash);
        report.head_hash = hex::encode(stored_hash);
        if at == Some(position) {
            report.hash_at = Some((position, report.head_hash.clone()));
        }
        match envelope::decode(canonical) {
            Ok(event) if event.position != position => report.problem(
                Some(position),
                format!("the record says it is position {}", event.position),
            ),
            Ok(event) => check_indexes(db, &mut report, position, &event),
            Err(why) => report.problem(Some(position), why),
        }
    }

    let last = report.head_position;
    if log_intact && limit.is_none() {
        check_head_key(db, &mut report, last);
    }
    check_index_counts(db, &mut report, limit, log_intact);
    check_sidecar(db, &mut report, sidecar, expected);
    report
}

fn check_indexes(
    db: &sled::Db,
    report: &mut VerifyReport,
    position: u64,
    event: &crate::RecordedEvent,
) {
    let lookup = |key: &[u8]| db.get(key).map(|v| v.and_then(|v| keys::be_u64(&v)));
    match lookup(&keys::stream_key(&event.stream_id, event.version)) {
        Ok(Some(p)) if p == position => {}
        Ok(found) => report.problem(
            Some(position),
            format!(
                "stream index entry {:?} v{} points to {found:?}",
                event.stream_id, event.version
            ),
        ),
        Err(e) => report.problem(Some(position), format!("stream index unreadable: {e}")),
    }
    match event.version {
        0 => report.problem(Some(position), "stream version 0"),
        1 => report.streams += 1,
        version => match lookup(&keys::stream_key(&event.stream_id, version - 1)) {
            Ok(Some(p)) if p < position => {}
            Ok(found) => report.problem(
                Some(position),
                format!(
                    "stream {:?} v{version}: version {} is at {found:?}, not before it",
                    event.stream_id,
                    version - 1
                ),
            ),
            Err(e) => report.problem(Some(position), format!("stream index unreadable: {e}")),
        },
    }
    match lookup(&keys::event_id_key(event.event_id)) {
        Ok(Some(p)) if p == position => {}
        Ok(found) => report.problem(
            Some(position),
            format!(
                "event-id index entry {} points to {found:?}",
                event.event_id
            ),
        ),
        Err(e) => report.problem(Some(position), format!("event-id index unreadable: {e}")),
    }
}

/// The `H` key, written in the same batch as the last record, must name it.
fn check_head_key(db: &sled::Db, report: &mut VerifyReport, last: u64) {
    let stored = db
        .get(keys::HEAD)
        .map(|v| v.and_then(|v| keys::decode_head(&v)));
    let hash = report.head_hash.clone();
    match stored {
        Ok(Some((position, stored_hash))) => {
            if position != last || hex::encode(stored_hash) != hash {
                report.problem(
                    Some(last.min(position) + 1),
                    format!("the log ends at position {last} but the chain head key names position {position} (or another hash)"),
                );
            }
        }
        Ok(None) if last > 0 => report.problem(None, "the chain head key is missing"),
        Ok(None) => {}
        Err(e) => report.problem(None, format!("the chain head key is unreadable: {e}")),
    }
}

/// Every index entry must belong to a log record. Each record's own entries were checked, so it
/// is enough to count the entries that point into the checked range; entries pointing past the end
/// of a verified (not live) log are named.
fn check_index_counts(
    db: &sled::Db,
    report: &mut VerifyReport,
    limit: Option<u64>,
    log_intact: bool,
) {
    let last = report.head_position;
    for (prefix, name) in [(keys::STREAM, "stream"), (keys::EVENT_ID, "event-id")] {
        let mut within = 0u64;
        let mut beyond: Option<u64> = None;
        for item in db.scan_prefix([prefix]) {
            match item {
                Ok((_, value)) => match keys::be_u64(&value) {
                    Some(p) if p <= last => within += 1,
                    Some(p) => beyond = Some(beyond.map_or(p, |b| b.min(p))),
                    None => report.problem(None, format!("malformed {name} index entry")),
                },
                Err(e) => {
                    report.problem(None, format!("the {name} index cannot be read: {e}"));
                    return;
                }
            }
        }
        if within != report.events {
            report.problem(
                None,
                format!(
                    "{within} {name} index entries point into the log's {} records: some entries belong to no event",
                    report.events
                ),
            );
        }
        if let (Some(p), None, true) = (beyond, limit, log_intact) {
            report.problem(
                Some(last + 1),
                format!("{name} index entries point to position {p} and later, past the end of the log at {last}: the log's tail is missing"),
            );
        }
    }
}

/// The sidecar's committed position must exist in the log with the recorded hash.
fn check_sidecar(
    db: &sled::Db,
    report: &mut VerifyReport,
    sidecar: Result<Option<ChainHead>, String>,
    next_expected: u64,
) {
    let recorded = match sidecar {
        Ok(Some(recorded)) => recorded,
        Ok(None) => {
            if report.events > 0 {
                report.warnings.push(format!(
                    "no {} sidecar: a log cut at its end could not be detected",
                    sidecar::FILE_NAME
                ));
            }
            return;
        }
        // The same verdict as opening the store: the sidecar is written without a sync, so
        // after a power cut it is often empty or torn. That weakens the check, it is not damage
        // of the log (the server rewrites the sidecar on its next start).
        Err(why) => {
            report.warnings.push(format!(
                "{why}; a log cut at its end could not be detected (after a power cut this is \
                 expected: the file is written without a sync, and the next start rewrites it)"
            ));
            return;
        }
    };
    if recorded.position == 0 {
        return;
    }
    let stored = db.get(keys::log_key(recorded.position)).map(|value| {
        value
            .as_deref()
            .and_then(|v| envelope::split_record(v).ok().map(|(hash, _)| hash))
    });
    match stored {
        Ok(Some(hash)) if hash == recorded.hash => {}
        Ok(Some(_)) => report.problem(
            Some(recorded.position),
            format!(
                "the chain hash at position {} differs from the one {} recorded at commit",
                recorded.position,
                sidecar::FILE_NAME
            ),
        ),
        Ok(None) | Err(_) => {
            let first_missing = next_expected.min(recorded.position);
            report.problem(
                Some(first_missing),
                format!(
                    "the log ends at position {} but {} records position {} as committed: positions {first_missing}..={} are missing",
                    first_missing - 1,
                    sidecar::FILE_NAME,
                    recorded.position,
                    recorded.position
                ),
            );
        }
    }
}
