//! De kluis: small mutable secrets kept beside the immutable log — today the per-subject data
//! keys that seal free text (crypto-shredding).
//!
//! The log can never forget, so whatever must be forgettable lives here: a separate sled tree
//! in the same database, outside the hash chain, where an entry can be removed. Every change is
//! durable before it returns (sled flush plus the same `fdatasync` the writer does), so a key is
//! on disk before the first event sealed with it is appended, and a removal is on disk before an
//! erasure is confirmed.
//!
//! What removal does *not* do: sled is log-structured, so the removed bytes stay in its files
//! until sled rewrites that segment, and every backup taken before the removal still holds
//! them. `docs/security.md` says what that means for erasure and backups.

use std::path::Path;
use std::sync::Arc;

use crate::sled_store::Shared;
use crate::StoreError;

/// The name of the tree.
const TREE: &str = "vault";

/// A handle on the kluis of one store. Cheap to clone; blocking (call from blocking threads).
#[derive(Debug, Clone)]
pub struct Vault {
    tree: sled::Tree,
    shared: Arc<Shared>,
    log: Arc<std::fs::File>,
}

impl Vault {
    pub(crate) fn open(shared: Arc<Shared>, dir: &Path) -> Result<Vault, StoreError> {
        let tree = shared
            .db
            .open_tree(TREE)
            .map_err(|e| StoreError::storage("cannot open the vault", e))?;
        let path = dir.join(crate::sled_store::SLED_DIR).join("db");
        let log = std::fs::File::open(&path)
            .map_err(|e| StoreError::storage(&format!("cannot open {path:?}"), e))?;
        Ok(Vault {
            tree,
            shared,
            log: Arc::new(log),
        })
    }

    /// The value stored under `name`.
    pub fn get(&self, name: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.tree
            .get(name)
            .map(|value| value.map(|v| v.to_vec()))
            .map_err(|e| StoreError::storage("cannot read the vault", e))
    }

    /// Stores `value` under `name` unless something is stored there already; returns what is
    /// stored afterwards (so two callers racing to create a key agree on one). Durable on return.
    pub fn get_or_insert(&self, name: &[u8], value: &[u8]) -> Result<Vec<u8>, StoreError> {
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

    /// Removes `name`; `true` if it was there. Durable on return.
    pub fn remove(&self, name: &[u8]) -> Result<bool, StoreError> {
        let removed = self
            .tree
            .remove(name)
            .map_err(|e| StoreError::storage("cannot write the vault", e))?;
        self.sync()?;
        Ok(removed.is_some())
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.shared
            .db
            .flush()
            .map_err(|e| StoreError::storage("cannot flush the vault", e))?;
        self.log
            .sync_data()
            .map_err(|e| StoreError::storage("cannot fdatasync the vault", e))
    }
}
