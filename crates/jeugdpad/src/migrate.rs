//! `jeugdpad migrate`: the whole store copied between the data directory and PostgreSQL, with
//! every position, event id and hash kept, checked by verifying both sides.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use jeugdpad_store::{EventStore, Format, MAX_EVENTS_PER_APPEND};

use crate::cli::MigrateArgs;
use crate::interchange::{bar, count};
use crate::store::{Location, Missing, STOP_THE_SERVER};

/// Events read and imported per step.
const CHUNK: usize = MAX_EVENTS_PER_APPEND / 2;
/// Vault entries copied per step.
const VAULT_CHUNK: usize = 1_000;

/// `data` is `--data` (this node's directory, beside a PostgreSQL side), `schema` is
/// `--store-schema` (the schema of a PostgreSQL side).
pub fn run(data: &Path, schema: &str, args: &MigrateArgs) -> Result<ExitCode, Box<dyn Error>> {
    let from = place(&args.from, data, schema)?;
    let to = place(&args.to, data, schema)?;
    if from.postgres.is_some() && from.postgres == to.postgres {
        return Err("--from and --to name the same PostgreSQL schema".into());
    }
    if from.postgres.is_none() && to.postgres.is_none() && from.data == to.data {
        return Err("--from and --to name the same data directory".into());
    }
    let source = crate::store::open(&from, Missing::Refuse, STOP_THE_SERVER)?;
    if source.format() == Format::Sled {
        return Err(format!(
            "{from} holds the earlier sled format (format 1), whose hashes cover other bytes than \
             the segment log's and PostgreSQL's: a copy could not keep its head hash. Copy it with \
             `jeugdpad export --what events --format jsonl` and `jeugdpad import` instead (positions \
             and ids are kept, the hashes are new; the vault is not copied that way)"
        )
        .into());
    }
    let target = crate::store::open(&to, Missing::Create, STOP_THE_SERVER)?;
    if target.head() > 0 {
        return Err(format!(
            "{to} already holds {}: migrate copies into an empty store only",
            count(target.head(), "event", "events")
        )
        .into());
    }

    let head = source.head();
    println!(
        "Copying {} from {from} to {to} …",
        count(head, "event", "events")
    );
    let progress = bar(Some(head), "events");
    let runtime = tokio::runtime::Runtime::new()?;
    let mut next = 1;
    while next <= head {
        let wanted = CHUNK.min(usize::try_from(head - next + 1).unwrap_or(CHUNK));
        let events = source.read_all(next, wanted)?;
        let Some(last) = events.last().map(|event| event.position) else {
            return Err(format!("{from} has no event at position {next}").into());
        };
        runtime.block_on(target.import_batch(events))?;
        progress.inc(last + 1 - next);
        next = last + 1;
    }
    progress.finish_and_clear();

    let (from_vault, to_vault) = (source.vault()?, target.vault()?);
    let mut keys = 0u64;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let entries = from_vault.entries_after(after.as_deref(), VAULT_CHUNK)?;
        let Some((last, _)) = entries.last() else {
            break;
        };
        after = Some(last.clone());
        for (name, value) in &entries {
            if to_vault.get_or_insert(name, value)? != *value {
                return Err(format!("{to} already holds another value under a vault name").into());
            }
            keys += 1;
        }
    }
    drop((from_vault, to_vault));

    println!("Verifying both …");
    let (source_report, target_report) = (source.verify()?, target.verify()?);
    source.close()?;
    target.close()?;
    print!("source: {source_report}");
    print!("copy:   {target_report}");
    let same = source_report.is_ok()
        && target_report.is_ok()
        && source_report.head_position == target_report.head_position
        && source_report.head_hash == target_report.head_hash;
    if !same {
        println!(
            "NOT THE SAME: the copy does not verify to the source's head. Do not use it; keep \
             the source as it is."
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "Copied {} and {}: head position {} and head hash {} on both sides. Give the new \
         place's nodes the installation secret of the old one.",
        count(head, "event", "events"),
        count(keys, "vault key", "vault keys"),
        target_report.head_position,
        target_report.head_hash
    );
    Ok(ExitCode::SUCCESS)
}

/// A `--from`/`--to` value: a postgres:// URL (in `schema`, with this node's data directory
/// `data`) or a data directory.
fn place(value: &str, data: &Path, schema: &str) -> Result<Location, String> {
    if value.contains("://") {
        Location::new(data, Some(value), schema)
    } else {
        Location::new(Path::new(value), None, schema)
    }
}
