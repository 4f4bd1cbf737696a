//! The chain-head sidecar: a tiny file naming the last committed position and its chain hash.
//!
//! sled may end recovery at a damaged log message and silently drop everything after it; the
//! hash chain cannot notice a clean cut at its end. The writer therefore records, after every
//! successful flush, `position` and `hash` here, so that open and verify can say "the log ends at
//! N but positions up to M were committed".
//!
//! Written to `chain-head.tmp` and renamed over `chain-head`: a process killed at any instant
//! leaves either the old or the new content (the rename is atomic, the page cache survives the
//! process). No fsync: after a power loss the file may lag behind the log, never run ahead of what
//! was durable, because it is written only after sled's flush returned — and it may come back
//! empty or torn (the rename reached the disk, the data did not). A line checksum catches a torn
//! or hand-edited file; opening the store and `verify` both treat an unreadable sidecar as a
//! weakened check (a warning), not as damage of the log.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::envelope::HASH_LEN;

pub(crate) const FILE_NAME: &str = "chain-head";
const TMP_NAME: &str = "chain-head.tmp";
const MAGIC: &str = "jeugdpad-chain-head-v1";

/// The committed chain head as the sidecar records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChainHead {
    pub(crate) position: u64,
    pub(crate) hash: [u8; HASH_LEN],
}

fn body(head: &ChainHead) -> String {
    format!("{MAGIC} {} {}", head.position, hex::encode(head.hash))
}

fn checksum(body: &str) -> String {
    hex::encode(&Sha256::digest(body.as_bytes())[..8])
}

/// Writes the sidecar in `dir` (see the module docs for the crash behaviour).
#[derive(Debug)]
pub(crate) struct SidecarWriter {
    path: PathBuf,
    tmp: PathBuf,
}

impl SidecarWriter {
    pub(crate) fn new(dir: &Path) -> Self {
        SidecarWriter {
            path: dir.join(FILE_NAME),
            tmp: dir.join(TMP_NAME),
        }
    }

    pub(crate) fn write(&self, head: &ChainHead) -> io::Result<()> {
        let body = body(head);
        let line = format!("{body} {}\n", checksum(&body));
        let mut file = fs::File::create(&self.tmp)?;
        file.write_all(line.as_bytes())?;
        drop(file);
        fs::rename(&self.tmp, &self.path)
    }
}

/// Reads the sidecar: `Ok(None)` when there is none, `Err` when it exists but cannot be trusted.
pub(crate) fn read(dir: &Path) -> Result<Option<ChainHead>, String> {
    let text = match fs::read_to_string(dir.join(FILE_NAME)) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {FILE_NAME}: {e}")),
    };
    parse(&text).map(Some)
}

fn parse(text: &str) -> Result<ChainHead, String> {
    let bad = |why: &str| format!("{FILE_NAME} is damaged ({why}): {:?}", text.trim_end());
    let line = text.strip_suffix('\n').ok_or_else(|| bad("no line end"))?;
    let (body, check) = line.rsplit_once(' ').ok_or_else(|| bad("no checksum"))?;
    if checksum(body) != check {
        return Err(bad("checksum mismatch"));
    }
    let mut fields = body.split(' ');
    if fields.next() != Some(MAGIC) {
        return Err(bad("unknown format"));
    }
    let position = fields
        .next()
        .and_then(|p| p.parse::<u64>().ok())
        .ok_or_else(|| bad("no position"))?;
    let hash = fields
        .next()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|h| <[u8; HASH_LEN]>::try_from(h).ok())
        .ok_or_else(|| bad("no hash"))?;
    if fields.next().is_some() {
        return Err(bad("trailing fields"));
    }
    Ok(ChainHead { position, hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()), Ok(None));
        let head = ChainHead {
            position: 42,
            hash: [0xab; HASH_LEN],
        };
        SidecarWriter::new(dir.path()).write(&head).expect("write");
        assert_eq!(read(dir.path()), Ok(Some(head)));

        let path = dir.path().join(FILE_NAME);
        let text = fs::read_to_string(&path).expect("read");
        fs::write(&path, text.replace(" 42 ", " 43 ")).expect("write");
        assert!(read(dir.path()).is_err());
        fs::write(&path, &text[..10]).expect("write");
        assert!(read(dir.path()).is_err());
    }
}
