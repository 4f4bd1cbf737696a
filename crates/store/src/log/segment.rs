//! Segment files: naming, the header, and the scan that checks one segment record by record.
//!
//! ```text
//! segment := header | frame*
//! header  := magic "JPSEGv01" | segment number u64 LE | first position u64 LE
//!          | chain hash before the first position [32] | crc32c of the preceding 56 bytes u32 LE
//! ```
//!
//! The header makes every segment self-describing: its first position and the chain hash it
//! continues from, so a segment can be checked on its own and a missing one is noticed.

use std::path::{Path, PathBuf};

use crate::envelope::{self, HASH_LEN};
use crate::log::record::{self, Unreadable, COMMIT, FRAME_HEADER};
use crate::sidecar::ChainHead;

/// The segment header's length in bytes.
pub(crate) const HEADER_LEN: usize = 8 + 8 + 8 + HASH_LEN + 4;
const MAGIC: &[u8; 8] = b"JPSEGv01";
/// Segment files end in this.
const EXTENSION: &str = "seg";

/// What a segment header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) number: u64,
    pub(crate) first_position: u64,
    pub(crate) previous_hash: [u8; HASH_LEN],
}

impl Header {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.number.to_le_bytes());
        out.extend_from_slice(&self.first_position.to_le_bytes());
        out.extend_from_slice(&self.previous_hash);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Header, String> {
        let header = bytes
            .get(..HEADER_LEN)
            .ok_or_else(|| format!("{} bytes are too short for a segment header", bytes.len()))?;
        if &header[..8] != MAGIC {
            return Err("the file does not start with a segment header".into());
        }
        let (body, crc) = header.split_at(HEADER_LEN - 4);
        let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32c::crc32c(body) != want {
            return Err("the segment header's checksum does not match".into());
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&body[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let mut previous_hash = [0u8; HASH_LEN];
        previous_hash.copy_from_slice(&body[24..24 + HASH_LEN]);
        Ok(Header {
            number: u64_at(8),
            first_position: u64_at(16),
            previous_hash,
        })
    }
}

/// The file name of segment `number`.
pub(crate) fn path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:010}.{EXTENSION}"))
}

/// The segment files in `dir`, ordered by number. Leftover temporary files (a creation that a
/// crash interrupted before its rename) are not segments and are ignored.
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
            continue;
        }
        let number = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(number) = number {
            segments.push((number, path));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Damage that makes a segment unusable: acknowledged data would be lost or altered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    /// The first position that cannot be trusted.
    pub(crate) position: u64,
    /// Byte offset in the segment.
    pub(crate) offset: u64,
    pub(crate) what: String,
}

/// Bytes at the end of a segment that do not complete a group commit: a write that stopped
/// part-way, never acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tail {
    /// Where the kept part of the segment ends.
    pub(crate) at: u64,
    /// How many bytes follow.
    pub(crate) bytes: u64,
    /// The first position in them (possibly complete records of an unfinished group).
    pub(crate) position: u64,
    pub(crate) why: String,
}

/// A checked segment.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// Offset of every kept record, in position order.
    pub(crate) offsets: Vec<u32>,
    /// The chain head after the last kept record (the previous head if none).
    pub(crate) head: ChainHead,
    /// Bytes kept.
    pub(crate) end: u64,
    /// What follows the last complete group, if anything.
    pub(crate) tail: Option<Tail>,
}

/// Checks a whole segment: its header continues `previous`, and every record has a good
/// checksum, the next position and the right chain hash. Records after the last one flagged
/// [`COMMIT`] belong to a group whose write did not finish: they are reported as the tail, as
/// are bytes that end part-way through a frame or a damaged last frame. A damaged frame with
/// anything but zeros after it is [`Damage`].
pub(crate) fn scan(bytes: &[u8], previous: ChainHead) -> Result<Scanned, Damage> {
    let damage = |position: u64, offset: usize, what: String| Damage {
        position,
        offset: offset as u64,
        what,
    };
    let header = Header::decode(bytes).map_err(|what| damage(previous.position + 1, 0, what))?;
    if header.first_position != previous.position + 1 || header.previous_hash != previous.hash {
        return Err(damage(
            previous.position + 1,
            0,
            format!(
                "segment {} starts at position {} but the log before it ends at {} (or with another hash)",
                header.number, header.first_position, previous.position
            ),
        ));
    }
    let mut at = HEADER_LEN;
    let mut head = previous;
    let mut offsets = Vec::new();
    let (mut kept, mut kept_head, mut kept_end) = (0, head, at);
    let mut why_cut = None;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let position = head.position + 1;
        let record = match record::parse_frame(rest) {
            Ok(record) => record,
            Err(Unreadable::Short) => {
                why_cut = Some(format!("a record ends part-way at byte {}", bytes.len()));
                break;
            }
            Err(Unreadable::Damaged(what)) => {
                let last =
                    record::announced_len(rest).is_ok_and(|len| FRAME_HEADER + len == rest.len());
                if last || rest.iter().all(|b| *b == 0) {
                    why_cut = Some(format!("the last record is damaged ({what})"));
                    break;
                }
                return Err(damage(position, at, what));
            }
        };
        let named = record::envelope_position(record.envelope);
        if named != Some(position) {
            return Err(damage(
                position,
                at,
                format!("the record here says it is position {named:?}"),
            ));
        }
        let hash = envelope::chain(&head.hash, record.envelope);
        if hash != record.hash {
            return Err(damage(
                position,
                at,
                "the chain hash does not match the record's bytes".into(),
            ));
        }
        let offset = u32::try_from(at)
            .map_err(|_| damage(position, at, "the segment is larger than 4 GiB".into()))?;
        offsets.push(offset);
        head = ChainHead { position, hash };
        at += record.frame_len;
        if record.flags & COMMIT != 0 {
            (kept, kept_head, kept_end) = (offsets.len(), head, at);
        }
    }
    let tail = (kept_end < bytes.len()).then(|| Tail {
        at: kept_end as u64,
        bytes: (bytes.len() - kept_end) as u64,
        position: kept_head.position + 1,
        why: why_cut.unwrap_or_else(|| "the last group commit is incomplete".into()),
    });
    offsets.truncate(kept);
    Ok(Scanned {
        offsets,
        head: kept_head,
        end: kept_end as u64,
        tail,
    })
}
