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
    /// Whether `bytes` more fit on the disk of `dir`: reserves them in a probe file (removed
    /// again) and fails with `ENOSPC` or `EDQUOT` when they do not.
    fn reserve(&self, dir: &Path, bytes: u64) -> io::Result<()>;
}

/// The probe file of [`LogFiles::reserve`]: a `.tmp` file, so that opening removes one a crash
/// left behind.
const PROBE: &str = "reserve-probe.tmp";

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

    fn reserve(&self, dir: &Path, bytes: u64) -> io::Result<()> {
        // `posix_fallocate` allocates the blocks (quota included) without writing them, or
        // writes zeros where the file system cannot allocate.
        let path = dir.join(PROBE);
        let reserved = File::create(&path).and_then(|file| fs2::FileExt::allocate(&file, bytes));
        let removed = std::fs::remove_file(&path);
        reserved.and(removed)
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

/// A file layer for tests that fails on command (also for other crates' tests, with the
/// `test-support` feature: `crate::faults`).
#[cfg(any(test, feature = "test-support"))]
pub(crate) mod faulty {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;

    /// What to break. Shared between the test and every file the layer opened.
    #[derive(Debug, Default)]
    pub struct Faults {
        /// Every `fdatasync` from now on fails with EIO.
        pub(crate) fail_sync: AtomicBool,
        /// Bytes that still fit on the "disk"; a write past them writes what fits and then
        /// fails with ENOSPC, as a full file system does.
        pub(crate) space_left: AtomicU64,
        /// Counts `fdatasync` calls.
        pub(crate) syncs: AtomicU64,
    }

    impl Faults {
        /// A disk with room and syncs that work, until told otherwise.
        pub fn new() -> Arc<Faults> {
            Arc::new(Faults {
                space_left: AtomicU64::new(u64::MAX),
                ..Faults::default()
            })
        }

        /// Only `bytes` more fit on the "disk" (0: it is full).
        pub fn set_space_left(&self, bytes: u64) {
            self.space_left.store(bytes, Ordering::SeqCst);
        }

        /// Makes every `fdatasync` from now on fail with EIO (`true`), or work again.
        pub fn set_failing_syncs(&self, failing: bool) {
            self.fail_sync.store(failing, Ordering::SeqCst);
        }

        /// How many `fdatasync`s the layer was asked for.
        pub fn syncs(&self) -> u64 {
            self.syncs.load(Ordering::SeqCst)
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

        fn reserve(&self, dir: &Path, bytes: u64) -> io::Result<()> {
            if self.0.space_left.load(Ordering::SeqCst) < bytes {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            RealFiles.reserve(dir, bytes)
        }
    }
}

/// A file layer for tests that simulates a power cut: it keeps apart, per segment file, what
/// was written and what was `fdatasync`ed; after a countdown of operations the "power" goes off
/// (every further write and sync fails), and [`power_cut::Power::cut`] then throws away what
/// was not synced — a random part of it, as a disk that persisted some pages and not others.
#[cfg(test)]
pub(crate) mod power_cut {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, PoisonError};

    use rand::Rng;

    use super::*;

    #[derive(Debug, Default)]
    struct State {
        /// Operations left before the power goes off.
        left: u64,
        /// Per file: bytes written, bytes synced.
        files: HashMap<PathBuf, (u64, u64)>,
    }

    /// The power supply of one simulated machine.
    #[derive(Debug, Clone)]
    pub(crate) struct Power(Arc<Mutex<State>>);

    fn off() -> io::Error {
        io::Error::other("the power is off")
    }

    impl Power {
        /// Power that goes off after `operations` writes or syncs.
        pub(crate) fn new(operations: u64) -> Power {
            Power(Arc::new(Mutex::new(State {
                left: operations,
                files: HashMap::new(),
            })))
        }

        fn state(&self) -> std::sync::MutexGuard<'_, State> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Takes one operation's worth of power, or fails once it is off.
        fn spend(&self) -> io::Result<()> {
            let mut state = self.state();
            if state.left == 0 {
                return Err(off());
            }
            state.left -= 1;
            Ok(())
        }

        /// After the store is closed: cuts every file back to its synced length plus a random
        /// part of what was written after the last sync.
        pub(crate) fn cut(&self, rng: &mut impl Rng) -> io::Result<()> {
            for (path, (written, synced)) in &self.state().files {
                let kept = rng.gen_range(*synced..=*written);
                OpenOptions::new().write(true).open(path)?.set_len(kept)?;
            }
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Segment {
        inner: Box<dyn SegmentFile>,
        path: PathBuf,
        power: Power,
    }

    impl SegmentFile for Segment {
        fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.power.spend()?;
            self.inner.write_all(bytes)?;
            if let Some(file) = self.power.state().files.get_mut(&self.path) {
                file.0 += bytes.len() as u64;
            }
            Ok(())
        }

        fn sync_data(&mut self) -> io::Result<()> {
            self.power.spend()?;
            self.inner.sync_data()?;
            if let Some(file) = self.power.state().files.get_mut(&self.path) {
                file.1 = file.0;
            }
            Ok(())
        }
    }

    impl LogFiles for Power {
        fn create(&self, path: &Path, header: &[u8]) -> io::Result<Box<dyn SegmentFile>> {
            // Creation is durable (synced, renamed, directory synced) or does not happen.
            self.spend()?;
            let inner = RealFiles.create(path, header)?;
            let len = header.len() as u64;
            self.state().files.insert(path.to_path_buf(), (len, len));
            Ok(Box::new(Segment {
                inner,
                path: path.to_path_buf(),
                power: self.clone(),
            }))
        }

        fn reserve(&self, dir: &Path, bytes: u64) -> io::Result<()> {
            self.spend()?;
            RealFiles.reserve(dir, bytes)
        }

        fn open_append(&self, path: &Path) -> io::Result<Box<dyn SegmentFile>> {
            let inner = RealFiles.open_append(path)?;
            let len = std::fs::metadata(path)?.len();
            self.state().files.insert(path.to_path_buf(), (len, len));
            Ok(Box::new(Segment {
                inner,
                path: path.to_path_buf(),
                power: self.clone(),
            }))
        }
    }
}
