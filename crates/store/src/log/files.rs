//! The few file operations the writer performs, behind a small trait so that tests can make
//! any of them fail on demand (a failed `fdatasync`, a full disk) and check what the store does.
//!
//! Reading and recovery use `std::fs` directly: only the writer's path needs fault injection.

use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// A segment file open for appending.
pub(crate) trait SegmentFile: Send + Debug {
    /// Writes all of `bytes` at the end of the file (one `write` call in the common case).
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// `fdatasync`: the written bytes and the file's length are durable when it returns `Ok`.
    fn sync_data(&mut self) -> io::Result<()>;
}

/// Creates and opens segment files.
pub(crate) trait LogFiles: Send + Sync + Debug {
    /// Creates `path` durably with `header` as its content: written to a temporary name, synced,
    /// renamed, and the directory synced, so that after a crash the file either is not there or
    /// holds the whole header.
    fn create(&self, path: &Path, header: &[u8]) -> io::Result<Box<dyn SegmentFile>>;
    /// Opens an existing segment for appending.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>>;
}

/// The real file system.
#[derive(Debug, Default)]
pub(crate) struct RealFiles;

#[derive(Debug)]
struct RealSegment(File);

impl SegmentFile for RealSegment {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl LogFiles for RealFiles {
    fn create(&self, path: &Path, header: &[u8]) -> io::Result<Box<dyn SegmentFile>> {
        write_durably(path, header)?;
        self.open_append(path)
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Box::new(RealSegment(file)))
    }
}

/// Makes a directory's entries (files created, renamed or removed in it) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `path` durably with `content` (temporary file, sync, rename, directory sync).
pub(crate) fn write_durably(path: &Path, content: &[u8]) -> io::Result<()> {
    let temporary = path.with_extension("tmp");
    {
        let mut file = File::create(&temporary)?;
        file.write_all(content)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// A file layer for tests that fails on command.
#[cfg(test)]
pub(crate) mod faulty {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;

    /// What to break. Shared between the test and every file the layer opened.
    #[derive(Debug, Default)]
    pub(crate) struct Faults {
        /// Every `fdatasync` from now on fails with EIO.
        pub(crate) fail_sync: AtomicBool,
        /// Bytes that still fit on the "disk"; a write past them writes what fits and then
        /// fails with ENOSPC, as a full file system does.
        pub(crate) space_left: AtomicU64,
        /// Counts `fdatasync` calls.
        pub(crate) syncs: AtomicU64,
    }

    impl Faults {
        pub(crate) fn new() -> Arc<Faults> {
            Arc::new(Faults {
                space_left: AtomicU64::new(u64::MAX),
                ..Faults::default()
            })
        }
    }

    #[derive(Debug)]
    pub(crate) struct FaultyFiles(pub(crate) Arc<Faults>);

    #[derive(Debug)]
    struct FaultySegment {
        inner: Box<dyn SegmentFile>,
        faults: Arc<Faults>,
    }

    impl SegmentFile for FaultySegment {
        fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
            let left = self.faults.space_left.load(Ordering::SeqCst);
            let fits = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
            self.faults
                .space_left
                .store(left - fits as u64, Ordering::SeqCst);
            self.inner.write_all(&bytes[..fits])?;
            if fits < bytes.len() {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            Ok(())
        }

        fn sync_data(&mut self) -> io::Result<()> {
            self.faults.syncs.fetch_add(1, Ordering::SeqCst);
            if self.faults.fail_sync.load(Ordering::SeqCst) {
                return Err(io::Error::from_raw_os_error(5)); // EIO
            }
            self.inner.sync_data()
        }
    }

    impl LogFiles for FaultyFiles {
        fn create(&self, path: &Path, header: &[u8]) -> io::Result<Box<dyn SegmentFile>> {
            let inner = RealFiles.create(path, header)?;
            Ok(Box::new(FaultySegment {
                inner,
                faults: Arc::clone(&self.0),
            }))
        }

        fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>> {
            let inner = RealFiles.open_append(path)?;
            Ok(Box::new(FaultySegment {
                inner,
                faults: Arc::clone(&self.0),
            }))
        }
    }
}
