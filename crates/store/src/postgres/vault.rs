//! The kluis in PostgreSQL: the `vault` table (see [`crate::Vault`]). Each change is its own
//! transaction, durable when its commit returns.

use crate::postgres::{error, pool_error, Shared};
use crate::vault::VaultEntry;
use crate::StoreError;

impl Shared {
    pub(crate) fn vault_get(&self, name: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let pool = self.pool.clone();
        let name = name.to_vec();
        self.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            let row = client
                .query_opt("SELECT value FROM vault WHERE name = $1", &[&name])
                .await
                .map_err(|e| error("cannot read the vault", &e))?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    pub(crate) fn vault_get_or_insert(
        &self,
        name: &[u8],
        value: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let pool = self.pool.clone();
        let (name, value) = (name.to_vec(), value.to_vec());
        self.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            // One statement: a racing insert of the same name makes this one a no-op, and the
            // value both callers read back is the one that won.
            let inserted = client
                .query_opt(
                    "INSERT INTO vault (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO NOTHING RETURNING value",
                    &[&name, &value],
                )
                .await
                .map_err(|e| error("cannot write the vault", &e))?;
            if let Some(row) = inserted {
                return Ok(row.get(0));
            }
            let row = client
                .query_one("SELECT value FROM vault WHERE name = $1", &[&name])
                .await
                .map_err(|e| error("cannot read the vault", &e))?;
            Ok(row.get(0))
        })
    }

    pub(crate) fn vault_entries_after(
        &self,
        after: Option<&[u8]>,
        max: usize,
    ) -> Result<Vec<VaultEntry>, StoreError> {
        let pool = self.pool.clone();
        let after = after.map(<[u8]>::to_vec);
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            let rows = client
                .query(
                    "SELECT name, value FROM vault WHERE $1::bytea IS NULL OR name > $1
                     ORDER BY name LIMIT $2",
                    &[&after, &limit],
                )
                .await
                .map_err(|e| error("cannot read the vault", &e))?;
            Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
        })
    }

    pub(crate) fn vault_remove(&self, name: &[u8]) -> Result<bool, StoreError> {
        let pool = self.pool.clone();
        let name = name.to_vec();
        self.runtime.block_on(async move {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            let removed = client
                .execute("DELETE FROM vault WHERE name = $1", &[&name])
                .await
                .map_err(|e| error("cannot write the vault", &e))?;
            Ok(removed > 0)
        })
    }
}
