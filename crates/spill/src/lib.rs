//! Columns that spill to disk: append-only sequences of fixed-width values (`u32`, `u64`,
//! `i64`, or a caller's [`Fixed`] type) whose bulk lives in a scratch file rather than on the
//! heap.
//!
//! # Why
//!
//! The server's derived indexes (the store's, `crates/store/src/log/index.rs`, and the access
//! log's, `crates/access-index`) grow by a few bytes with every event the log takes. Held in
//! `Vec`s, that is resident memory that grows without end on a server that runs for years. A
//! [`Column`] keeps in memory only the values of its last, unfinished block and the first value
//! of every finished one (a *fence*, 1 in [`BLOCK`]); the rest is in a file whose pages the
//! kernel caches as it caches the log's segments — page cache, not the process's memory, given
//! back under pressure.
//!
//! # The scratch file
//!
//! Each column has one file, created with no name in a directory the caller gives (the
//! store's, so it is on the same disk as the data it indexes, never in a `tmpfs` that is RAM):
//! `O_TMPFILE` where the file system has it, otherwise created and unlinked at once. It is
//! never synced and never read back after a restart, so it cannot be stale, and it vanishes
//! with the process, however that ends. Values are read back with `pread`, so no mapping and
//! no `unsafe` code is needed.
//!
//! # Cost
//!
//! A push is a store into the tail; a full tail is written as one block, with one `pwrite`.
//! [`Column::get`] of a finished value is one `pread` of its few bytes (a page-cache hit
//! after the first). [`Column::partition_point`] searches the fences in memory, then reads
//! the one block that holds the answer.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Values per block: what a fence stands for, and what one `pwrite` writes.
pub const BLOCK: usize = 1024;

/// The widest value a column holds, in bytes.
pub const MAX_WIDTH: usize = 16;

/// A value of fixed width (at most [`MAX_WIDTH`] bytes), stored little-endian.
pub trait Fixed: Copy + std::fmt::Debug {
    /// Bytes per value, at most [`MAX_WIDTH`].
    const WIDTH: usize;
    /// Writes the value into `out` (`WIDTH` bytes).
    fn put(self, out: &mut [u8]);
    /// Reads a value from `bytes` (`WIDTH` bytes).
    fn take(bytes: &[u8]) -> Self;
}

macro_rules! fixed {
    ($($ty:ty),*) => {$(
        impl Fixed for $ty {
            const WIDTH: usize = std::mem::size_of::<$ty>();

            fn put(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }

            fn take(bytes: &[u8]) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$ty>()];
                raw.copy_from_slice(bytes);
                <$ty>::from_le_bytes(raw)
            }
        }
    )*};
}

fixed!(u32, u64, i64);

/// An append-only column of `T`. See the crate docs.
#[derive(Debug)]
pub struct Column<T: Fixed> {
    file: File,
    /// Values in the file: whole blocks, so always a multiple of [`BLOCK`].
    written: u64,
    /// The values after them: fewer than [`BLOCK`], unless a write failed.
    tail: Vec<T>,
    /// The first value of each block in the file.
    fences: Vec<T>,
}

impl<T: Fixed> Column<T> {
    /// An empty column whose scratch file is made, without a name, in `dir`.
    pub fn new_in(dir: &Path) -> io::Result<Column<T>> {
        Ok(Column::on(tempfile::tempfile_in(dir)?))
    }

    fn on(file: File) -> Column<T> {
        const { assert!(T::WIDTH > 0 && T::WIDTH <= MAX_WIDTH) };
        Column {
            file,
            written: 0,
            tail: Vec::with_capacity(BLOCK),
            fences: Vec::new(),
        }
    }

    /// How many values the column holds.
    pub fn len(&self) -> u64 {
        self.written + self.tail.len() as u64
    }

    /// Whether the column holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `value` at the end. Once the tail holds a whole block it is written to the
    /// file. A push never fails: if the file cannot be written (a full disk), the values stay
    /// on the heap and the write is tried again a block later, so an index is never wrong
    /// for want of scratch space, only larger in memory until the disk has room again.
    pub fn push(&mut self, value: T) {
        self.tail.push(value);
        if self.tail.len().is_multiple_of(BLOCK) {
            self.spill();
        }
    }

    /// Writes the tail's whole blocks to the file, as many as it takes.
    fn spill(&mut self) {
        let mut bytes = vec![0u8; BLOCK * T::WIDTH];
        let mut done = 0;
        for block in self.tail.chunks_exact(BLOCK) {
            for (value, out) in block.iter().zip(bytes.chunks_exact_mut(T::WIDTH)) {
                value.put(out);
            }
            let at = self.offset(self.written);
            if self.file.write_all_at(&bytes, at).is_err() {
                break;
            }
            self.fences.push(block[0]);
            self.written += BLOCK as u64;
            done += BLOCK;
        }
        self.tail.drain(..done);
        if self.tail.capacity() > 2 * BLOCK && self.tail.len() < BLOCK {
            // After a failure the tail grew; give the room back once it is written.
            self.tail.shrink_to(BLOCK);
        }
    }

    /// The value at `index`, or `None` past the end.
    pub fn get(&self, index: u64) -> io::Result<Option<T>> {
        if index >= self.written {
            let at = usize::try_from(index - self.written).unwrap_or(usize::MAX);
            return Ok(self.tail.get(at).copied());
        }
        let mut raw = [0u8; MAX_WIDTH];
        let raw = &mut raw[..T::WIDTH];
        self.file.read_exact_at(raw, self.offset(index))?;
        Ok(Some(T::take(raw)))
    }

    /// The values at `from..to` (as many of them as the column holds), with at most one read
    /// of the file.
    pub fn read(&self, from: u64, to: u64) -> io::Result<Vec<T>> {
        let to = to.min(self.len());
        if from >= to {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(usize::try_from(to - from).unwrap_or(0));
        let in_file = to.min(self.written);
        if from < in_file {
            let count = usize::try_from(in_file - from).map_err(io::Error::other)?;
            let mut bytes = vec![0u8; count * T::WIDTH];
            self.file.read_exact_at(&mut bytes, self.offset(from))?;
            out.extend(bytes.chunks_exact(T::WIDTH).map(T::take));
        }
        let start = usize::try_from(from.max(self.written) - self.written).unwrap_or(usize::MAX);
        let end = usize::try_from(to - self.written.min(to)).unwrap_or(0);
        if start < end {
            out.extend_from_slice(&self.tail[start..end]);
        }
        Ok(out)
    }

    /// The last value, if any.
    pub fn last(&self) -> io::Result<Option<T>> {
        match self.len() {
            0 => Ok(None),
            len => self.get(len - 1),
        }
    }

    /// The index of the first value for which `holds` is false, as
    /// [`slice::partition_point`]: the column must hold `holds` for a prefix of its values and
    /// not after (a sorted column and a bound, say). One block is read from the file at most.
    pub fn partition_point(&self, holds: impl Fn(&T) -> bool) -> io::Result<u64> {
        // Blocks whose first value holds: the answer lies in the last of them, or after.
        let blocks = self.fences.partition_point(&holds);
        let tail_holds = self.tail.first().is_some_and(&holds);
        if blocks == self.fences.len() && (tail_holds || blocks == 0) {
            return Ok(self.written + self.tail.partition_point(&holds) as u64);
        }
        let Some(block) = blocks.checked_sub(1) else {
            // The first value already fails.
            return Ok(0);
        };
        let from = (block * BLOCK) as u64;
        let values = self.read(from, from + BLOCK as u64)?;
        Ok(from + values.partition_point(&holds) as u64)
    }

    /// The bytes the column holds on the heap, from capacities: its tail and its fences.
    pub fn heap_bytes(&self) -> usize {
        (self.tail.capacity() + self.fences.capacity()) * std::mem::size_of::<T>()
    }

    fn offset(&self, index: u64) -> u64 {
        index * T::WIDTH as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn column_of<T: Fixed>(values: &[T]) -> Column<T> {
        let mut column = Column::new_in(&std::env::temp_dir()).expect("a scratch file");
        for &value in values {
            column.push(value);
        }
        column
    }

    #[test]
    fn values_come_back_from_the_tail_and_from_the_file() {
        let values: Vec<u64> = (0..3 * BLOCK as u64 + 17).map(|n| n * 7 + 3).collect();
        let column = column_of(&values);
        assert_eq!(column.len(), values.len() as u64);
        for (at, value) in values.iter().enumerate() {
            assert_eq!(column.get(at as u64).expect("read"), Some(*value));
        }
        assert_eq!(column.get(values.len() as u64).expect("read"), None);
        assert_eq!(column.last().expect("read"), values.last().copied());
        // Only the tail and the fences are on the heap: a block's worth, not three.
        assert!(
            column.heap_bytes() < (BLOCK + 16) * 8,
            "{}",
            column.heap_bytes()
        );
    }

    #[test]
    fn values_that_cannot_be_written_stay_on_the_heap_and_are_still_found() {
        // A file open for reading only: every write fails.
        let file = File::open("/dev/null").expect("/dev/null");
        let mut column = Column::on(file);
        let values: Vec<u32> = (0..3 * BLOCK as u32 + 5).map(|n| n * 2).collect();
        for &value in &values {
            column.push(value);
        }
        assert_eq!(column.written, 0);
        for (at, value) in values.iter().enumerate() {
            assert_eq!(column.get(at as u64).expect("read"), Some(*value));
        }
        assert_eq!(column.partition_point(|&v| v < 4001).expect("read"), 2001);
        assert!(column.heap_bytes() >= values.len() * 4);
    }

    #[test]
    fn runs_are_read_across_the_file_and_the_tail() {
        let values: Vec<u32> = (0..2 * BLOCK as u32 + 9).collect();
        let column = column_of(&values);
        let len = values.len() as u64;
        for (from, to) in [
            (0, len),
            (5, 6),
            (1000, 1100),
            (2040, 2050),
            (2050, 9999),
            (7, 3),
            (len, len + 4),
        ] {
            let expected = values
                .get(from as usize..(to.min(len) as usize).max(from as usize))
                .unwrap_or(&[])
                .to_vec();
            assert_eq!(
                column.read(from, to).expect("read"),
                expected,
                "{from}..{to}"
            );
        }
    }

    #[test]
    fn an_empty_column_has_nothing() {
        let column = column_of::<i64>(&[]);
        assert!(column.is_empty());
        assert_eq!(column.last().expect("read"), None);
        assert_eq!(column.partition_point(|_| true).expect("read"), 0);
    }

    #[test]
    fn the_scratch_file_has_no_name() {
        let dir = tempfile::tempdir().expect("a directory");
        let mut column = Column::new_in(dir.path()).expect("a scratch file");
        for n in 0..2 * BLOCK as u32 {
            column.push(n);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert!(names.is_empty(), "{names:?}");
    }

    proptest! {
        #[test]
        fn partition_points_agree_with_a_slices(
            steps in proptest::collection::vec(0u32..4, 0..5 * BLOCK),
            bound in 0u32..12_000,
        ) {
            // A sorted column with runs of equal values, across block edges.
            let values: Vec<u32> = steps
                .iter()
                .scan(0u32, |sum, step| { *sum += step; Some(*sum) })
                .collect();
            let column = column_of(&values);
            for bound in [bound, 0, values.last().copied().unwrap_or(0)] {
                prop_assert_eq!(
                    column.partition_point(|&v| v < bound).expect("read"),
                    values.partition_point(|&v| v < bound) as u64
                );
                prop_assert_eq!(
                    column.partition_point(|&v| v <= bound).expect("read"),
                    values.partition_point(|&v| v <= bound) as u64
                );
            }
        }
    }
}
