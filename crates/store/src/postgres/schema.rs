//! The tables of the PostgreSQL back end, created and migrated by the program itself.
//!
//! Every migration runs once, in order, inside one transaction that holds an advisory lock on
//! the schema's name, so that two nodes starting at the same moment do not both create the
//! tables. `migrations` records what ran. A schema migrated by a newer release (a version this
//! one does not know) is refused: an older program must not write into a layout it does not
//! understand.

use tokio_postgres::Client;

use crate::StoreError;

/// Each migration: its version and the SQL that takes the schema from the version before to it.
/// Never edit one that has shipped; add the next.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r"
    -- The log: one row per event. `envelope` holds exactly the bytes the chain hashes (the
    -- segment log's binary envelope), so a store copied between back ends keeps its hashes;
    -- the other columns repeat what the envelope says, for the indexes and the checks.
    CREATE TABLE events (
        position  bigint PRIMARY KEY,
        stream_id text   NOT NULL,
        version   bigint NOT NULL,
        event_id  uuid   NOT NULL UNIQUE,
        hash      bytea  NOT NULL,
        envelope  bytea  NOT NULL,
        UNIQUE (stream_id, version)
    );
    -- The chain head: one row. Every append locks it first (`FOR UPDATE`), so positions are
    -- given out one transaction at a time and a lower position is always committed first.
    CREATE TABLE head (
        singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        position    bigint      NOT NULL,
        hash        bytea       NOT NULL,
        recorded_at timestamptz
    );
    INSERT INTO head (position, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');
    -- De kluis: the only removable data (per-subject data keys), outside the chain.
    CREATE TABLE vault (
        name  bytea PRIMARY KEY,
        value bytea NOT NULL
    );
    ",
    ),
    (
        2,
        r"
    -- A restore that has not finished: one row while `jeugdpad restore` copies into this
    -- schema, removed once the copy verifies to the backup's head. No node opens the schema
    -- while it is there, so a log cut short by a crash cannot pass for the restored one.
    CREATE TABLE restoring (
        singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
        since     timestamptz NOT NULL DEFAULT now()
    );
    ",
    ),
];

/// Creates `schema` if needed and brings it to the newest version this release knows.
pub(crate) async fn migrate(client: &mut Client, schema: &str) -> Result<(), StoreError> {
    let failed = |e: tokio_postgres::Error| super::error("cannot create or migrate the tables", &e);
    let tx = client.transaction().await.map_err(failed)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('jeugdpad-schema:' || $1))",
        &[&schema],
    )
    .await
    .map_err(failed)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(failed)?;
    let applied: i32 = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {schema}.migrations"),
            &[],
        )
        .await
        .map_err(failed)?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if applied > known {
        return Err(StoreError::Storage(format!(
            "the tables in schema {schema} are at version {applied}, written by a newer Jeugdpad; \
             this one knows up to version {known}: run the newer release"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        tx.batch_execute(&format!("SET LOCAL search_path TO {schema}; {sql}"))
            .await
            .map_err(failed)?;
        tx.execute(
            &format!("INSERT INTO {schema}.migrations (version) VALUES ($1)"),
            &[version],
        )
        .await
        .map_err(failed)?;
        tracing::info!(schema, version, "migrated the PostgreSQL tables");
    }
    tx.commit().await.map_err(failed)
}

/// Checks a schema name: it is spliced into SQL, so only lower-case letters, digits and `_`,
/// starting with a letter or `_`, at most 50 bytes (PostgreSQL's limit is 63; the rest is for
/// the notification channel's name).
pub(crate) fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 50 {
        Ok(())
    } else {
        Err(StoreError::InvalidLocation(format!(
            "{schema:?} is not a usable schema name: use lower-case letters, digits and _ \
             (at most 50), starting with a letter"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::validate_schema;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["jeugdpad", "_t1", "regio_zaanstreek_2"] {
            assert!(validate_schema(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Jeugdpad",
            "1abc",
            "a-b",
            "a;drop table x",
            &"a".repeat(51),
        ] {
            assert!(validate_schema(bad).is_err(), "{bad}");
        }
    }
}
