//! The install secret: 32 random bytes, made once per installation, that key the BSN pseudonyms.
//!
//! It lives in a file of its own (64 lowercase hex characters and a newline) so an operator can
//! back it up apart from the data, and so the data without it cannot be re-identified.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use rand::RngCore;

/// The per-installation secret that keys [`subject_key`](crate::subject_key).
///
/// Not `Clone`: share it behind an `Arc`, so there is one copy in memory. `Debug` prints
/// `InstallSecret(..)`, never the bytes.
pub struct InstallSecret([u8; 32]);

/// Why the install secret could not be read or made. The messages name the file, never its
/// contents.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file system said no: a missing directory, a full disk, no permission.
    #[error("the installation secret {} cannot be read or created: {source}", path.display())]
    Io {
        /// The secret's file.
        path: PathBuf,
        /// What the operating system reported.
        source: io::Error,
    },
    /// The path exists but is a directory or some other non-regular file.
    #[error("the installation secret {} is not a regular file", path.display())]
    NotAFile {
        /// The secret's file.
        path: PathBuf,
    },
    /// The file does not hold exactly 64 lowercase hex characters and a newline.
    #[error(
        "the installation secret {} is unreadable: the file must hold exactly 64 lowercase hex \
         characters (0-9, a-f) and a newline. Restore it from the backup; do not make a new \
         one, or existing trajectories can no longer be found by BSN",
        path.display()
    )]
    Malformed {
        /// The secret's file.
        path: PathBuf,
    },
    /// Group or others may read or write the file.
    #[error(
        "the installation secret {} can be read by others (mode {mode:03o}); restrict it with: \
         chmod 600 {}",
        path.display(),
        path.display()
    )]
    TooOpen {
        /// The secret's file.
        path: PathBuf,
        /// The permission bits found (e.g. `0o644`).
        mode: u32,
    },
}

/// Bytes in the file: 64 hex characters and a newline.
const FILE_LEN: usize = 65;

impl InstallSecret {
    /// Reads the secret at `path`, or makes a new one there if there is no file yet.
    ///
    /// Returns the secret and whether it was created now (the caller should then tell the
    /// operator to back it up). An existing file is refused when it is malformed, and on Unix
    /// when group or others have any access to it: a secret readable by others is not secret,
    /// and silently fixing the mode would hide that it has been exposed.
    ///
    /// A new file is never visible half-written: the secret is written and fsynced under a
    /// temporary name (created with mode 0600 from the start, not chmod-ed afterwards), then
    /// hard-linked to `path`, which fails if `path` already exists, and the directory is fsynced.
    /// When two processes race, exactly one link succeeds; the other reads the winner's file, so
    /// both end with the same secret. A crash leaves either no secret or a whole one.
    pub fn load_or_create(path: &Path) -> Result<(InstallSecret, bool), SecretError> {
        if let Some(secret) = read(path)? {
            return Ok((secret, false));
        }
        let secret = InstallSecret::generate();
        match create_exclusive(path, &secret) {
            Ok(()) => Ok((secret, true)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match read(path)? {
                Some(existing) => Ok((existing, false)),
                // Created and removed again between our two looks: odd enough to report.
                None => Err(io_error(path, e)),
            },
            Err(e) => Err(io_error(path, e)),
        }
    }

    /// Reads the secret at `path`; `None` if there is no file (the caller decides whether a
    /// new one may be made: not for a store whose pseudonyms came from a lost one). The same
    /// checks as [`InstallSecret::load_or_create`] on a file that is there.
    pub fn load(path: &Path) -> Result<Option<InstallSecret>, SecretError> {
        read(path)
    }

    /// A fresh secret from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        InstallSecret(bytes)
    }

    /// A secret with known bytes, for tests and for restoring from another store.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        InstallSecret(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for InstallSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InstallSecret(..)")
    }
}

fn io_error(path: &Path, source: io::Error) -> SecretError {
    SecretError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The secret at `path`, or `None` if there is no file.
fn read(path: &Path) -> Result<Option<InstallSecret>, SecretError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, e)),
    };
    // Checks go through the open handle, so they are about the file we actually read.
    let metadata = file.metadata().map_err(|e| io_error(path, e))?;
    if !metadata.is_file() {
        return Err(SecretError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    // Read one byte more than a good file has, so a longer file is noticed without reading a
    // huge one whole.
    let mut contents = Vec::with_capacity(FILE_LEN + 1);
    file.take(FILE_LEN as u64 + 1)
        .read_to_end(&mut contents)
        .map_err(|e| io_error(path, e))?;
    parse_file(&contents)
        .map(Some)
        .ok_or_else(|| SecretError::Malformed {
            path: path.to_path_buf(),
        })
}

fn parse_file(contents: &[u8]) -> Option<InstallSecret> {
    let hex_text = contents.strip_suffix(b"\n")?;
    let lowercase_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if hex_text.len() != 64 || !hex_text.iter().all(lowercase_hex) {
        return None;
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut bytes).ok()?;
    Some(InstallSecret(bytes))
}

/// Writes `secret` to `path` unless `path` exists (then `AlreadyExists`), never leaving a
/// partly written file at `path`.
fn create_exclusive(path: &Path, secret: &InstallSecret) -> io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "het pad noemt geen bestand"))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut nonce = [0u8; 8];
    OsRng.fill_bytes(&mut nonce);
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        hex::encode(nonce)
    ));

    let linked = write_private(&temporary, secret).and_then(|()| fs::hard_link(&temporary, path));
    let removed = fs::remove_file(&temporary);
    linked?;
    // The link succeeded, so the secret is in place; a second name for it left behind is still
    // worth an error, since it is a copy of the secret nobody knows about.
    removed?;
    sync_dir(dir)
}

fn write_private(path: &Path, secret: &InstallSecret) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let mut contents = hex::encode(secret.as_bytes());
    contents.push('\n');
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Makes the new directory entry durable, so a crash right after start-up cannot lose a secret
/// the operator was already told to back up.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

// The tests check Unix file modes, which is where the installation runs.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// Writes `contents` as a 0600 file, the way a restored backup would arrive.
    fn write_file(path: &Path, contents: &[u8]) {
        fs::write(path, contents).expect("write");
        set_mode(path, 0o600);
    }

    #[test]
    fn creates_a_0600_file_and_reloads_the_same_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("install-secret");

        let (first, created) = InstallSecret::load_or_create(&path).expect("create");
        assert!(created);
        assert_eq!(mode_of(&path), 0o600);
        let contents = fs::read_to_string(&path).expect("read");
        assert_eq!(contents, format!("{}\n", hex::encode(first.as_bytes())));

        let (second, created) = InstallSecret::load_or_create(&path).expect("load");
        assert!(!created);
        assert_eq!(first.as_bytes(), second.as_bytes());

        // No temporary file is left next to it.
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("install-secret")]);
    }

    #[test]
    fn reads_a_restored_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        let hex_text = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        write_file(&path, format!("{hex_text}\n").as_bytes());
        let (secret, created) = InstallSecret::load_or_create(&path).expect("load");
        assert!(!created);
        assert_eq!(hex::encode(secret.as_bytes()), hex_text);
    }

    #[test]
    fn refuses_a_file_others_can_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        InstallSecret::load_or_create(&path).expect("create");
        for mode in [0o644, 0o640, 0o604, 0o660, 0o606] {
            set_mode(&path, mode);
            let error = InstallSecret::load_or_create(&path).expect_err("too open");
            assert!(
                matches!(error, SecretError::TooOpen { mode: m, .. } if m == mode),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(
                message.contains(&format!("chmod 600 {}", path.display())),
                "{message}"
            );
        }
        // Owner-only modes stricter than 0600 are fine.
        set_mode(&path, 0o400);
        InstallSecret::load_or_create(&path).expect("read-only for the owner is fine");
    }

    #[test]
    fn refuses_malformed_content() {
        let good = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\n".to_vec(),
            good.as_bytes().to_vec(),                          // no newline
            format!("{good}\n\n").into_bytes(),                // extra line
            format!("{good} \n").into_bytes(),                 // trailing space
            format!("{}\n", good.to_uppercase()).into_bytes(), // upper case
            format!("{}\n", &good[..62]).into_bytes(),         // too short
            format!("{good}00\n").into_bytes(),                // too long
            format!("{}g\n", &good[..63]).into_bytes(),        // not hex
            format!("{good}\r\n").into_bytes(),                // Windows line end
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, contents) in cases.iter().enumerate() {
            let path = dir.path().join(format!("secret-{i}"));
            write_file(&path, contents);
            let error = InstallSecret::load_or_create(&path).expect_err("malformed");
            assert!(
                matches!(error, SecretError::Malformed { .. }),
                "case {i}: {error:?}"
            );
            // The file is left alone for the operator to look at.
            assert_eq!(&fs::read(&path).expect("read"), contents, "case {i}");
        }
    }

    #[test]
    fn refuses_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = InstallSecret::load_or_create(dir.path()).expect_err("a directory");
        assert!(matches!(error, SecretError::NotAFile { .. }), "{error:?}");
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent").join("secret");
        let error = InstallSecret::load_or_create(&path).expect_err("no directory");
        assert!(matches!(error, SecretError::Io { .. }), "{error:?}");
    }

    #[test]
    fn racing_creators_end_with_one_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = Arc::new(dir.path().join("secret"));
        let racers = 8;
        let barrier = Arc::new(Barrier::new(racers));
        let handles: Vec<_> = (0..racers)
            .map(|_| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    InstallSecret::load_or_create(&path).expect("load_or_create")
                })
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
        let first = results[0].0.as_bytes();
        assert!(results.iter().all(|(s, _)| s.as_bytes() == first));
        let (on_disk, _) = InstallSecret::load_or_create(&path).expect("load");
        assert_eq!(on_disk.as_bytes(), first);
    }

    #[test]
    fn debug_never_shows_the_bytes() {
        let secret = InstallSecret::from_bytes([0xab; 32]);
        assert_eq!(format!("{secret:?}"), "InstallSecret(..)");
        assert_eq!(format!("{secret:#?}"), "InstallSecret(..)");
    }

    #[test]
    fn generated_secrets_differ() {
        assert_ne!(
            InstallSecret::generate().as_bytes(),
            InstallSecret::generate().as_bytes()
        );
    }
}
