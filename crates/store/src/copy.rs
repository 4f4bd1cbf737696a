//! A store copied into another with every position, event id and hash kept — the one door for
//! `jeugdpad migrate` (between the data directory and PostgreSQL), `jeugdpad backup` (a running
//! store into a new directory, up to the head at its start) and `jeugdpad restore` (a backup into
//! the store a server will use).
//!
//! The copy carries each event's stored envelope byte for byte ([`Store::read_envelopes`],
//! [`Store::import_envelopes_blocking`]), and the target recomputes every chain link from those
//! bytes; the copy is accepted only when its hash at the last copied position equals the one the
//! source stores there. That comparison is what makes the copy evidence rather than a promise: a
//! single byte copied wrong, reordered or left out gives another hash.
//!
//! Because the bytes are kept, a copy of the earlier sled format (format 1, whose hashes cover a
//! canonical JSON envelope) keeps its hashes too: the segment log and PostgreSQL store those
//! envelopes as they are. That is how `jeugdpad upgrade` turns a format-1 directory into a
//! segment log.
//!
//! # A backup directory
//!
//! A backup is a segment-log data directory (so `jeugdpad verify` and even `jeugdpad serve` read
//! it as it is) plus the file [`MANIFEST_FILE`], written last and durably: a directory without it
//! is an interrupted backup, and `restore` refuses it. The manifest names the head position and
//! hash the copy ends at; `restore` checks the backup against it before it copies anything.
//! The installation secret is never part of a backup (`docs/security.md`, "Key material": with
//! the data it links pseudonyms to BSNs, so it is kept apart).

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

use crate::{EventStore, Store, StoreError, VerifyReport, MAX_EVENTS_PER_APPEND};

/// Events read and imported per step: half the largest import, so that one step's memory stays
/// small (a few MB) while the fsync per step is amortised over thousands of events.
const CHUNK: usize = MAX_EVENTS_PER_APPEND / 2;
/// Vault entries copied per step.
const VAULT_CHUNK: usize = 1_000;
/// The file that makes a directory a complete backup.
pub const MANIFEST_FILE: &str = "BACKUP";
/// The file a restore into a data directory writes before it copies anything and removes once
/// the copy is checked: a directory that still holds it was left by a restore that failed
/// half-way, and no store opens it — a shorter log must never pass for the restored one.
pub const RESTORING_FILE: &str = "RESTORING";
/// The first line of a manifest, with its version.
const MANIFEST_MAGIC: &str = "jeugdpad backup 1";

/// What a copy is made of, for messages and the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The last position copied (0: the source was empty).
    pub head_position: u64,
    /// The chain hash at that position (hex), equal in source and copy.
    pub head_hash: String,
    /// Vault entries (per-subject keys) copied.
    pub vault_keys: u64,
}

/// Why a copy, backup or restore was not made. Nothing is left half-written that could be
/// mistaken for a good copy: a failed backup has no manifest, and a failed copy's target is
/// reported as not the same.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target already holds events.
    #[error("{target} already holds {events} events: a copy goes into an empty store only")]
    TargetNotEmpty {
        /// The target, as the caller names it.
        target: String,
        /// How many events it holds.
        events: u64,
    },
    /// The backup directory exists and is not empty.
    #[error("{0} exists and is not empty: give a new directory for the backup")]
    DirectoryNotEmpty(PathBuf),
    /// The copy does not end at the source's hash.
    #[error(
        "the copy's hash at position {position} is {copy}, but the source stores {original}: the \
         copy is not the same and must not be used"
    )]
    HashDiffers {
        /// The last copied position.
        position: u64,
        /// The source's hash there.
        original: String,
        /// The copy's.
        copy: String,
    },
    /// The restored store does not verify to the backup's head.
    #[error("the restored store is not the backup: {why}")]
    RestoredDiffers {
        /// What `verify` found, or where the two end.
        why: String,
    },
    /// The target's vault holds another value under a name the source's vault uses.
    #[error("the target's vault already holds another value under a name the source uses")]
    VaultClash,
    /// The directory is no complete backup (no manifest, or one this build cannot read).
    #[error("{dir} is not a complete Jeugdpad backup: {why}")]
    NotABackup {
        /// The directory given.
        dir: PathBuf,
        /// What is missing or wrong.
        why: String,
    },
    /// The backup does not verify, or does not end where its manifest says.
    #[error("the backup in {dir} is damaged: {why}. Use another backup")]
    Damaged {
        /// The backup directory.
        dir: PathBuf,
        /// What `verify` or the manifest check found.
        why: String,
    },
    /// Writing or reading the backup's files failed.
    #[error("{what} {path}: {error}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies events `1..=up_to` of `source`, then every vault entry, into the empty `target`
/// (`target_name` names it in messages), and checks that both store the same hash at `up_to`.
/// `progress` is told the number of events copied so far after every step. Blocking: call it
/// from a blocking thread. `source` may take appends meanwhile; they are not copied.
///
/// The vault is copied after the log, so it holds every key an event up to `up_to` was sealed
/// with (keys are durable before their first event), except those erased before the copy
/// reached them — as they should be. A key made after `up_to` may come along; it seals nothing
/// in the copy.
pub fn copy_into(
    source: &Store,
    target: &Store,
    target_name: &str,
    up_to: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied, CopyError> {
    if target.head() > 0 {
        return Err(CopyError::TargetNotEmpty {
            target: target_name.to_owned(),
            events: target.head(),
        });
    }
    let mut next = 1;
    while next <= up_to {
        let wanted = CHUNK.min(usize::try_from(up_to - next + 1).unwrap_or(CHUNK));
        let envelopes = source.read_envelopes(next, wanted)?;
        let Some(last) = envelopes.last().map(|envelope| envelope.position) else {
            return Err(StoreError::Corrupt {
                position: Some(next),
                what: "the source has no event at a position below its head".into(),
            }
            .into());
        };
        target.import_envelopes_blocking(envelopes.into_iter().map(|e| e.bytes).collect())?;
        progress(last);
        next = last + 1;
    }

    let (from_vault, to_vault) = (source.vault()?, target.vault()?);
    let mut vault_keys = 0u64;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let entries = from_vault.entries_after(after.as_deref(), VAULT_CHUNK)?;
        let Some((last, _)) = entries.last() else {
            break;
        };
        after = Some(last.clone());
        for (name, value) in &entries {
            if to_vault.get_or_insert(name, value)? != *value {
                return Err(CopyError::VaultClash);
            }
            vault_keys += 1;
        }
    }

    let head_hash = if up_to == 0 {
        hex::encode(crate::envelope::GENESIS)
    } else {
        let (original, copy) = (source.hash_at(up_to)?, target.hash_at(up_to)?);
        if original != copy {
            return Err(CopyError::HashDiffers {
                position: up_to,
                original,
                copy,
            });
        }
        copy
    };
    Ok(Copied {
        head_position: up_to,
        head_hash,
        vault_keys,
    })
}

/// `Corrupt` when `dir` holds the [`RESTORING_FILE`] of a restore that did not finish: every
/// open and `verify` refuse such a directory.
pub(crate) fn refuse_unfinished_restore(dir: &Path) -> Result<(), StoreError> {
    if !dir.join(RESTORING_FILE).exists() {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        position: None,
        what: format!(
            "a restore into {} did not finish (it holds {RESTORING_FILE}): its log may be cut \
             short. Remove the store's files from it — FORMAT, LOCK, {RESTORING_FILE}, segments/ \
             and index/ (a sled store: {RESTORING_FILE}, sled/ and chain-head) — but keep \
             install-secret, and run the restore again",
            dir.display()
        ),
    })
}

/// What [`MANIFEST_FILE`] records of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The last position in the backup.
    pub head_position: u64,
    /// The chain hash at that position (hex).
    pub head_hash: String,
    /// Vault entries in the backup.
    pub vault_keys: u64,
    /// When the copy was complete.
    pub taken_at: DateTime<Utc>,
}

impl Manifest {
    fn text(&self) -> String {
        format!(
            "{MANIFEST_MAGIC}\nhead position: {}\nhead hash: {}\nvault keys: {}\ntaken at: {}\n",
            self.head_position,
            self.head_hash,
            self.vault_keys,
            self.taken_at.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }

    /// Reads the manifest of the backup in `dir`.
    pub fn read(dir: &Path) -> Result<Manifest, CopyError> {
        let not_a_backup = |why: String| CopyError::NotABackup {
            dir: dir.to_path_buf(),
            why,
        };
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|error| {
            not_a_backup(if error.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "it has no {MANIFEST_FILE} file (a backup that was interrupted, or another \
                     directory)"
                )
            } else {
                format!("cannot read {}: {error}", path.display())
            })
        })?;
        let mut lines = text.lines();
        if lines.next() != Some(MANIFEST_MAGIC) {
            return Err(not_a_backup(format!(
                "{MANIFEST_FILE} does not begin with {MANIFEST_MAGIC:?} (made by another release?)"
            )));
        }
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
                .ok_or_else(|| not_a_backup(format!("{MANIFEST_FILE} lacks {name:?}")))
        };
        let number = |name: &str| {
            field(name)?
                .parse::<u64>()
                .map_err(|_| not_a_backup(format!("{MANIFEST_FILE}'s {name:?} is not a number")))
        };
        let head_hash = field("head hash")?.to_owned();
        if head_hash.len() != 64 || !head_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_a_backup(format!(
                "{MANIFEST_FILE}'s head hash is not 64 hex digits"
            )));
        }
        Ok(Manifest {
            head_position: number("head position")?,
            head_hash,
            vault_keys: number("vault keys")?,
            taken_at: DateTime::parse_from_rfc3339(field("taken at")?)
                .map_err(|_| not_a_backup(format!("{MANIFEST_FILE}'s \"taken at\" is no time")))?
                .with_timezone(&Utc),
        })
    }
}

impl fmt::Display for Manifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "head position {}, head hash {}, {} vault keys, taken at {}",
            self.head_position,
            self.head_hash,
            self.vault_keys,
            self.taken_at.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// Copies `source` as it is now into the new directory `to` (missing or empty), verifies the
/// copy and writes its manifest. `source` keeps taking appends meanwhile: the backup ends at
/// the head it had when the backup started. Blocking.
pub fn backup(
    source: &Store,
    to: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Manifest, CopyError> {
    prepare_backup(to)?;
    let io = |what, error| CopyError::Io {
        what,
        path: to.to_path_buf(),
        error,
    };
    let up_to = source.head();
    let target = Store::open(to)?;
    let copied = copy_into(source, &target, &to.display().to_string(), up_to, progress);
    let checked = copied.and_then(|copied| {
        let report = target.verify()?;
        if !report.is_ok() || report.head_position != up_to || report.head_hash != copied.head_hash
        {
            return Err(CopyError::Damaged {
                dir: to.to_path_buf(),
                why: format!("the fresh copy does not verify: {report}"),
            });
        }
        Ok(copied)
    });
    let closed = target.close();
    let copied = checked?;
    closed?;
    let manifest = Manifest {
        head_position: copied.head_position,
        head_hash: copied.head_hash,
        vault_keys: copied.vault_keys,
        // Whole seconds: what the manifest keeps.
        taken_at: Utc::now().trunc_subsecs(0),
    };
    crate::log::write_durably(&to.join(MANIFEST_FILE), manifest.text().as_bytes())
        .map_err(|e| io("cannot write the manifest in", e))?;
    Ok(manifest)
}

/// Makes sure a backup can be made into `to`: it is created when missing and refused when it
/// holds anything. Called before the backup is logged as an access, so that a refused one is not.
pub fn prepare_backup(to: &Path) -> Result<(), CopyError> {
    let io = |what, error| CopyError::Io {
        what,
        path: to.to_path_buf(),
        error,
    };
    match std::fs::read_dir(to) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(CopyError::DirectoryNotEmpty(to.to_path_buf()));
            }
            Ok(())
        }
        // 0700: a backup holds the log and the vault's keys.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::os::unix::fs::DirBuilderExt::mode(
                std::fs::DirBuilder::new().recursive(true),
                0o700,
            )
            .create(to)
            .map_err(|e| io("cannot create", e))
        }
        Err(error) => Err(io("cannot read", error)),
    }
}

/// What a finished restore checked: the backup's manifest and the restored store's own
/// verification, which ends at the manifest's position and hash.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// The restored store, verified after the copy (once: callers print it, not verify again).
    pub report: VerifyReport,
}

/// Checks the backup in `from` against its manifest (the whole log verified, the head position
/// and hash the manifest names) and copies it into the empty `target`. Blocking.
///
/// A copy that does not verify to the manifest's head is [`CopyError::RestoredDiffers`] (or
/// [`CopyError::HashDiffers`] from the copy itself), and the target keeps its mark of an
/// unfinished restore (a directory's `RESTORING` file, a schema's `restoring` row), so that no
/// server opens it.
pub fn restore(
    from: &Path,
    target: &Store,
    target_name: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored, CopyError> {
    let manifest = Manifest::read(from)?;
    if target.head() > 0 {
        return Err(CopyError::TargetNotEmpty {
            target: target_name.to_owned(),
            events: target.head(),
        });
    }
    let damaged = |why: String| CopyError::Damaged {
        dir: from.to_path_buf(),
        why,
    };
    // Checked read-only first: opening the backup could cut a damaged last group as if it were
    // a torn write, and a backup must never be changed by reading it.
    let report = crate::verify::verify_dir(from)?;
    if !report.is_ok() {
        return Err(damaged(format!("verify says {report}")));
    }
    if report.head_position != manifest.head_position || report.head_hash != manifest.head_hash {
        return Err(damaged(format!(
            "it ends at position {} with hash {}, but its {MANIFEST_FILE} says position {} with \
             hash {}",
            report.head_position, report.head_hash, manifest.head_position, manifest.head_hash
        )));
    }
    let source = Store::open_existing(from)?;
    let checked = (|| {
        // From here on the target changes: until the copy is checked, it is marked unfinished.
        begin_restore(target)?;
        let copied = copy_into(
            &source,
            target,
            target_name,
            manifest.head_position,
            progress,
        )?;
        if copied.vault_keys != manifest.vault_keys {
            return Err(damaged(format!(
                "its vault holds {} keys, but its {MANIFEST_FILE} says {}",
                copied.vault_keys, manifest.vault_keys
            )));
        }
        let restored = target.verify()?;
        if !restored.is_ok() {
            return Err(CopyError::RestoredDiffers {
                why: format!("verify says {}", restored.to_string().trim_end()),
            });
        }
        if restored.head_position != manifest.head_position
            || restored.head_hash != manifest.head_hash
        {
            return Err(CopyError::RestoredDiffers {
                why: format!(
                    "it ends at position {} with hash {}, the backup at position {} with hash {}",
                    restored.head_position,
                    restored.head_hash,
                    manifest.head_position,
                    manifest.head_hash
                ),
            });
        }
        Ok((copied, restored))
    })();
    let closed = source.close();
    let (copied, report) = checked?;
    closed?;
    debug_assert_eq!(copied.head_hash, manifest.head_hash);
    finish_restore(target)?;
    Ok(Restored { manifest, report })
}

/// Marks the target as holding a restore that has not finished, durably, before the first event
/// is copied: the [`RESTORING_FILE`] of a directory, the `restoring` row of a PostgreSQL schema.
/// Every open and `verify` refuses a marked target.
fn begin_restore(target: &Store) -> Result<(), CopyError> {
    match target {
        Store::Log(_) | Store::Sled(_) => {
            let marker = target.dir().join(RESTORING_FILE);
            crate::log::write_durably(&marker, b"a restore into this directory has not finished\n")
                .map_err(|error| CopyError::Io {
                    what: "cannot write",
                    path: marker,
                    error,
                })
        }
        Store::Postgres(store) => Ok(store.begin_restore()?),
    }
}

/// Removes the mark of [`begin_restore`], durably, once the copy is checked.
fn finish_restore(target: &Store) -> Result<(), CopyError> {
    match target {
        Store::Log(_) | Store::Sled(_) => {
            let marker = target.dir().join(RESTORING_FILE);
            std::fs::remove_file(&marker)
                .and_then(|()| crate::log::sync_dir(target.dir()))
                .map_err(|error| CopyError::Io {
                    what: "cannot remove",
                    path: marker,
                    error,
                })
        }
        Store::Postgres(store) => Ok(store.finish_restore()?),
    }
}
