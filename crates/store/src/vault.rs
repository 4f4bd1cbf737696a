//! De kluis: small mutable secrets kept beside the immutable log — today the per-subject data
//! keys that seal free text (crypto-shredding).
//!
//! The log can never forget, so whatever must be forgettable lives here, outside the hash
//! chain, where an entry can be removed: in the embedded engines a separate sled tree in the
//! same database, in PostgreSQL the `vault` table. Every change is durable before it returns
//! (sled: flush plus the same `fdatasync` the writer does; PostgreSQL: its commit), so a key is
//! on disk before the first event sealed with it is appended, and a removal is on disk before an
//! erasure is confirmed.
//!
//! What removal does *not* do: sled is log-structured, so the removed bytes stay in its files
//! until sled rewrites that segment; PostgreSQL keeps a deleted row's bytes until `VACUUM`
//! reclaims them (and in its write-ahead log until that is recycled); and every backup taken
//! before the removal still holds them. `docs/security.md` says what that means for erasure and
//! backups.

use std::path::Path;
use std::sync::Arc;

use crate::StoreError;

/// The name of the tree.
const TREE: &str = "vault";

/// One entry of the vault: its name and its value.
pub type VaultEntry = (Vec<u8>, Vec<u8>);

/// A handle on the kluis of one store. Cheap to clone; blocking (call from blocking threads).
#[derive(Debug, Clone)]
pub struct Vault(Backend);

#[derive(Debug, Clone)]
enum Backend {
    Sled(SledVault),
    Postgres(Arc<crate::postgres::Shared>),
}

/// The vault of the embedded engines.
#[derive(Debug, Clone)]
struct SledVault {
    tree: sled::Tree,
    db: sled::Db,
    log: Arc<std::fs::File>,
    /// The store this vault belongs to: while a vault lives, its store's files stay open.
    _owner: Arc<dyn std::fmt::Debug + Send + Sync>,
}

impl Vault {
    /// The vault in sled database `db`, whose files are in `sled_dir` (its log file `db` is
    /// what each change `fdatasync`s).
    pub(crate) fn open(
        db: &sled::Db,
        sled_dir: &Path,
        owner: Arc<dyn std::fmt::Debug + Send + Sync>,
    ) -> Result<Vault, StoreError> {
        let tree = db
            .open_tree(TREE)
            .map_err(|e| StoreError::storage("cannot open the vault", e))?;
        let path = sled_dir.join("db");
        let log = std::fs::File::open(&path)
            .map_err(|e| StoreError::storage(&format!("cannot open {path:?}"), e))?;
        Ok(Vault(Backend::Sled(SledVault {
            tree,
            db: db.clone(),
            log: Arc::new(log),
            _owner: owner,
        })))
    }

    /// The vault in the PostgreSQL store's `vault` table.
    pub(crate) fn postgres(shared: Arc<crate::postgres::Shared>) -> Vault {
        Vault(Backend::Postgres(shared))
    }

    /// The value stored under `name`.
    pub fn get(&self, name: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.0 {
            Backend::Sled(vault) => vault.get(name),
            Backend::Postgres(shared) => shared.vault_get(name),
        }
    }

    /// Stores `value` under `name` unless something is stored there already; returns what is
    /// stored afterwards (so two callers racing to create a key agree on one). Durable on return.
    pub fn get_or_insert(&self, name: &[u8], value: &[u8]) -> Result<Vec<u8>, StoreError> {
        match &self.0 {
            Backend::Sled(vault) => vault.get_or_insert(name, value),
            Backend::Postgres(shared) => shared.vault_get_or_insert(name, value),
        }
    }

    /// Up to `max` entries with a name after `after` (from the first with `None`), in name
    /// order: how a whole vault is copied (`jeugdpad migrate`) without holding it in memory.
    pub fn entries_after(
        &self,
        after: Option<&[u8]>,
        max: usize,
    ) -> Result<Vec<VaultEntry>, StoreError> {
        match &self.0 {
            Backend::Sled(vault) => vault.entries_after(after, max),
            Backend::Postgres(shared) => shared.vault_entries_after(after, max),
        }
    }

    /// Removes `name`; `true` if it was there. Durable on return.
    pub fn remove(&self, name: &[u8]) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Sled(vault) => vault.remove(name),
            Backend::Postgres(shared) => shared.vault_remove(name),
        }
    }
}

impl SledVault {
    fn get(&self, name: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.tree
            .get(name)
            .map(|value| value.map(|v| v.to_vec()))
            .map_err(|e| StoreError::storage("cannot read the vault", e))
    }

    fn get_or_insert(&self, name: &[u8], value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let swapped = self
            .tree
            .compare_and_swap(name, None as Option<&[u8]>, Some(value))
            .map_err(|e| StoreError::storage("cannot write the vault", e))?;
        let stored = match swapped {
            Ok(()) => value.to_vec(),
            Err(current) => current.current.map(|v| v.to_vec()).unwrap_or_default(),
        };
        self.sync()?;
        Ok(stored)
    }

    fn entries_after(
        &self,
        after: Option<&[u8]>,
        max: usize,
    ) -> Result<Vec<VaultEntry>, StoreError> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |name| Bound::Excluded(name.to_vec()));
        self.tree
            .range::<Vec<u8>, _>((from, Bound::Unbounded))
            .take(max)
            .map(|entry| {
                entry
                    .map(|(name, value)| (name.to_vec(), value.to_vec()))
                    .map_err(|e| StoreError::storage("cannot read the vault", e))
            })
            .collect()
    }

    fn remove(&self, name: &[u8]) -> Result<bool, StoreError> {
        let removed = self
            .tree
            .remove(name)
            .map_err(|e| StoreError::storage("cannot write the vault", e))?;
        self.sync()?;
        Ok(removed.is_some())
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db
            .flush()
            .map_err(|e| StoreError::storage("cannot flush the vault", e))?;
        self.log
            .sync_data()
            .map_err(|e| StoreError::storage("cannot fdatasync the vault", e))
    }
}
