//! `jeugdpad upgrade`: a format-1 (sled) data directory turned into a segment log in place, with
//! every position, event id, chain hash and vault key kept.
//!
//! The hashes of format 1 cover each event's canonical JSON envelope. The segment log stores
//! those envelopes byte for byte (its second envelope kind, `docs/store-format.md`), so the copy
//! ([`crate::copy::copy_into`]) gives the same chain, and the upgrade is accepted only when the
//! new log verifies and ends at the old head's position and hash. Events appended afterwards get
//! the binary envelope and continue the same chain.
//!
//! # Steps, and what a crash at any moment leaves
//!
//! 0. The old store is opened, which locks it, and stays open until the switch (step 3), so
//!    that no server can take appends into it meanwhile; it is verified first, so that damage
//!    in it is named as such.
//! 1. The new store is built in `DIR/upgrade.new/` beside the old one, then verified. If this
//!    fails, what was built is removed again.
//! 2. Its `segments/` and `index/` are moved into `DIR` (a directory without `FORMAT` is still
//!    read as format 1, so a crash here leaves the old store in charge; the next run removes the
//!    half-moved parts and starts again).
//! 3. `FORMAT` is moved into `DIR`: from this rename on, `DIR` is a segment log. This is the one
//!    switch, and a rename is atomic.
//! 4. The old `sled/` and `chain-head` are moved into `DIR/format-1/`, kept for the operator to
//!    remove once the server runs on the upgraded store. A crash before this step leaves them in
//!    place, harmless (a segment log ignores them); running `upgrade` again moves them.

use std::path::{Path, PathBuf};

use crate::copy::{self, CopyError};
use crate::log::{sync_dir, FORMAT_FILE, INDEX_DIR, SEGMENTS_DIR};
use crate::sled_store::SLED_DIR;
use crate::{EventStore, Format, Store, StoreError};

/// Where the new store is built before it is moved into place.
pub const STAGING_DIR: &str = "upgrade.new";
/// Where the format-1 files are kept after an upgrade.
pub const KEPT_DIR: &str = "format-1";

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upgraded {
    /// The directory was in format 1 and is now a segment log.
    Done {
        /// The last position, the same before and after.
        head_position: u64,
        /// The chain hash there, the same before and after (hex).
        head_hash: String,
        /// Vault keys copied.
        vault_keys: u64,
        /// Where the format-1 files are kept.
        kept: PathBuf,
    },
    /// The directory was already a segment log (format 2); format-1 files an earlier,
    /// interrupted upgrade left in place are moved to `kept` when there were any.
    Already {
        /// Where left-over format-1 files were moved, if any were found.
        kept: Option<PathBuf>,
    },
}

/// Why an upgrade did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The directory holds no store at all.
    #[error("{0} holds no event store (neither a FORMAT file nor a sled/ directory)")]
    NotAStore(PathBuf),
    /// The new store does not end where the old one does.
    #[error(
        "the upgraded copy does not verify to the old head ({why}); nothing was changed, the \
         directory is still in format 1"
    )]
    NotTheSame {
        /// What differs.
        why: String,
    },
    /// The old store does not verify: it is damaged, and copying it would keep the damage.
    #[error(
        "the store in format 1 does not verify, so it was not upgraded (nothing was changed): \
         {report}. Run `jeugdpad verify` on it and see docs/operations.md, \"Verify\""
    )]
    SourceDamaged {
        /// What `verify` found.
        report: String,
    },
    /// The directory was switched to the segment log, but what follows the switch failed.
    #[error(
        "the directory IS upgraded (head position {head_position}, head hash {head_hash}, as \
         before), but moving the format-1 files aside failed: {why}. Run `jeugdpad upgrade` \
         again to finish; the server may be started meanwhile"
    )]
    AfterSwitch {
        /// The head, as before the upgrade.
        head_position: u64,
        /// Its hash (hex).
        head_hash: String,
        /// What failed.
        why: String,
    },
    /// Moving a file or directory failed.
    #[error("cannot move {from} to {to}: {error}")]
    Move {
        /// What was moved.
        from: PathBuf,
        /// Where to.
        to: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// Another file operation failed.
    #[error("{what} {path}: {error}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The copy failed.
    #[error(transparent)]
    Copy(#[from] CopyError),
    /// The store failed (`Locked` while a server runs on it).
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn moving(from: &Path, to: &Path) -> impl FnOnce(std::io::Error) -> UpgradeError {
    let (from, to) = (from.to_path_buf(), to.to_path_buf());
    move |error| UpgradeError::Move { from, to, error }
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> UpgradeError {
    let path = path.to_path_buf();
    move |error| UpgradeError::Io { what, path, error }
}

/// Upgrades the store in `dir` (see the module docs). `progress` is told `(copied, of)` events.
/// Blocking; the directory must not be open anywhere else (a running server makes this
/// [`StoreError::Locked`]).
pub fn upgrade(dir: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<Upgraded, UpgradeError> {
    match Format::of(dir) {
        None => return Err(UpgradeError::NotAStore(dir.to_path_buf())),
        Some(Format::Log | Format::Postgres) => {
            // Opened (and closed) so that a running server is noticed before anything moves.
            Store::open_existing(dir)?.close()?;
            let kept = keep_format_1_files(dir)?;
            remove_if_there(&dir.join(STAGING_DIR))?;
            return Ok(Upgraded::Already { kept });
        }
        Some(Format::Sled) => {}
    }
    // The old store stays open (and so locked) until the switch: a server started meanwhile
    // must not open the directory as format 1 and take appends the new log would not have.
    let source = Store::open_existing(dir)?;
    let staging = dir.join(STAGING_DIR);
    let switched = build(dir, &source, progress).and_then(|built| {
        switch(dir, &staging)?;
        Ok(built)
    });
    if switched.is_err() && !dir.join(FORMAT_FILE).exists() {
        // Never switched: what was built is only in the way (and takes the disk's space).
        let _ = remove_if_there(&staging);
        let _ = remove_if_there(&dir.join(SEGMENTS_DIR));
        let _ = remove_if_there(&dir.join(INDEX_DIR));
    }
    let closed = source.close();
    let (head_position, head_hash, vault_keys) = switched?;
    tracing::info!(dir = ?dir, head_position, %head_hash, "upgraded to the segment log (format 2)");
    let after_switch = |error: UpgradeError| UpgradeError::AfterSwitch {
        head_position,
        head_hash: head_hash.clone(),
        why: error.to_string(),
    };
    closed.map_err(|error| after_switch(error.into()))?;
    let kept = keep_format_1_files(dir)
        .and_then(|kept| remove_if_there(&staging).map(|()| kept))
        .map_err(after_switch)?
        .unwrap_or_else(|| dir.join(KEPT_DIR));
    Ok(Upgraded::Done {
        head_position,
        head_hash,
        vault_keys,
        kept,
    })
}

/// Moves the built store's `segments/` and `index/` into `dir`, then its `FORMAT` file: the
/// switch.
fn switch(dir: &Path, staging: &Path) -> Result<(), UpgradeError> {
    for part in [SEGMENTS_DIR, INDEX_DIR, FORMAT_FILE] {
        if part == FORMAT_FILE {
            // Everything else must be in place (and durably so) before the switch.
            sync_dir(dir).map_err(io("cannot sync", dir))?;
            sync_dir(staging).map_err(io("cannot sync", staging))?;
        }
        let (from, to) = (staging.join(part), dir.join(part));
        std::fs::rename(&from, &to).map_err(moving(&from, &to))?;
    }
    sync_dir(dir).map_err(io("cannot sync", dir))
}

/// Builds and verifies the new store in `DIR/upgrade.new`, after removing what an interrupted
/// run left. Returns the head position and hash and the vault keys copied.
fn build(
    dir: &Path,
    source: &Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(u64, String, u64), UpgradeError> {
    // Without FORMAT these can only be an interrupted upgrade's.
    for leftover in [STAGING_DIR, SEGMENTS_DIR, INDEX_DIR] {
        remove_if_there(&dir.join(leftover))?;
    }
    // The old log is checked first, so that damage in it is named as such, not as a bad copy.
    let old = source.verify()?;
    if !old.is_ok() {
        return Err(UpgradeError::SourceDamaged {
            report: old.to_string().trim_end().to_owned(),
        });
    }
    let head = source.head();
    let staging = dir.join(STAGING_DIR);
    let target = Store::open(&staging)?;
    let copied = copy::copy_into(source, &target, "the upgraded store", head, &mut |done| {
        progress(done, head);
    });
    let checked = copied.map_err(UpgradeError::from).and_then(|copied| {
        let report = target.verify()?;
        let old_hash = if head == 0 {
            report.head_hash.clone()
        } else {
            source.hash_at(head)?
        };
        if !report.is_ok() || report.head_position != head || report.head_hash != old_hash {
            return Err(UpgradeError::NotTheSame {
                why: format!(
                    "the old store ends at position {head} with hash {old_hash}; the copy: {}",
                    report.to_string().trim_end()
                ),
            });
        }
        debug_assert!(head == 0 || copied.head_hash == old_hash);
        Ok((head, report.head_hash, copied.vault_keys))
    });
    let closed = target.close();
    let built = checked?;
    closed?;
    Ok(built)
}

/// Moves `sled/` and `chain-head` into `DIR/format-1/`; `None` when neither is there.
fn keep_format_1_files(dir: &Path) -> Result<Option<PathBuf>, UpgradeError> {
    let old: Vec<&str> = [SLED_DIR, crate::sidecar::FILE_NAME]
        .into_iter()
        .filter(|name| dir.join(name).exists())
        .collect();
    if old.is_empty() {
        return Ok(None);
    }
    let kept = dir.join(KEPT_DIR);
    std::fs::create_dir_all(&kept).map_err(io("cannot create", &kept))?;
    for name in old {
        let (from, to) = (dir.join(name), kept.join(name));
        std::fs::rename(&from, &to).map_err(moving(&from, &to))?;
    }
    sync_dir(&kept).map_err(io("cannot sync", &kept))?;
    sync_dir(dir).map_err(io("cannot sync", dir))?;
    Ok(Some(kept))
}

fn remove_if_there(path: &Path) -> Result<(), UpgradeError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(UpgradeError::Io {
            what: "cannot remove",
            path: path.to_path_buf(),
            error,
        }),
    }
}
