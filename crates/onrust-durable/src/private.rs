//! Files and folders only their owner may read: everything onrust keeps in
//! its data dir (the archive, the audit log, alert state, accounts, cursors,
//! keys) and the secrets it is given (tokens, passwords, signing keys).
//!
//! Modes are set explicitly, not left to the umask: a file is created 0600
//! and a folder 0700 whatever umask the process runs under, and
//! [`tighten_tree`] takes group and other access away from a data dir made
//! by an older version or by hand. On systems without Unix modes these
//! functions create and open as usual and check nothing.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Mode of every file onrust creates in its data dir: read and write for the owner only.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of every folder onrust creates in its data dir.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parents as 0700 folders. Folders that
/// already exist keep their mode ([`tighten_tree`] is for those).
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(dir)?;
    // The umask may have taken bits from the owner too; the mode is exactly 0700.
    set_mode(dir, PRIVATE_DIR_MODE)
}

/// Opens `path` for reading and appending, creating it as a 0600 file. An
/// existing file that group or others may read is made 0600 too.
pub fn open_private_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).read(true).append(true);
    open_private(path, &mut options)
}

/// Creates (or truncates) `path` for writing as a 0600 file.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).write(true).truncate(true);
    open_private(path, &mut options)
}

/// Creates `path` for writing as a 0600 file; fails if it exists.
pub fn create_private_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create_new(true).write(true);
    open_private(path, &mut options)
}

fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(PRIVATE_FILE_MODE);
        let file = options.open(path)?;
        if file.metadata()?.permissions().mode() & 0o777 != PRIVATE_FILE_MODE {
            file.set_permissions(std::fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        options.open(path)
    }
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// What [`tighten_tree`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tightened {
    /// Files and folders whose group and other access was taken away.
    pub changed: u64,
    /// Files and folders looked at.
    pub seen: u64,
}

/// Takes group and other access away from `dir` and everything below it:
/// a folder becomes 0700, a file keeps only its owner's bits (0644 becomes
/// 0600). Symbolic links are neither followed nor changed. A missing `dir`
/// is nothing to do.
pub fn tighten_tree(dir: &Path) -> io::Result<Tightened> {
    let mut tightened = Tightened::default();
    let mut pending: Vec<PathBuf> = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        let metadata = match std::fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(with_path(e, &path)),
        };
        if metadata.file_type().is_symlink() {
            continue;
        }
        tightened.seen += 1;
        if metadata.is_dir() {
            if tighten_one(&path, &metadata, PRIVATE_DIR_MODE)? {
                tightened.changed += 1;
            }
            for entry in std::fs::read_dir(&path).map_err(|e| with_path(e, &path))? {
                pending.push(entry.map_err(|e| with_path(e, &path))?.path());
            }
        } else if tighten_one(&path, &metadata, owner_bits(&metadata))? {
            tightened.changed += 1;
        }
    }
    Ok(tightened)
}

#[cfg(unix)]
fn owner_bits(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o700
}

#[cfg(not(unix))]
fn owner_bits(_metadata: &std::fs::Metadata) -> u32 {
    PRIVATE_FILE_MODE
}

/// Sets `mode` on `path` when group or others have any access; says whether it did.
fn tighten_one(path: &Path, metadata: &std::fs::Metadata, mode: u32) -> io::Result<bool> {
    if mode_of(metadata) & 0o077 == 0 {
        return Ok(false);
    }
    set_mode(path, mode).map_err(|e| with_path(e, path))?;
    Ok(true)
}

#[cfg(unix)]
fn mode_of(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode_of(_metadata: &std::fs::Metadata) -> u32 {
    0
}

/// Names the path in an i/o error, keeping its kind (callers match on it)
/// and the error itself as the source.
fn with_path(error: io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), PathError { path: path.to_owned(), source: error })
}

/// An i/o error on one path: `<path>: <error>`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
struct PathError {
    path: PathBuf,
    source: io::Error,
}

/// Why a file holding a secret (a token, a password, a signing key) is not used.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("{path} is not a file")]
    NotAFile { path: PathBuf },
    /// Group or others may read (or write) it.
    #[error(
        "{path} has mode {mode:04o}, so other users on this machine can read the secret in it; \
         make it readable by its owner only: chmod 600 {path}"
    )]
    Exposed { path: PathBuf, mode: u32 },
}

/// Where Docker, Compose and Kubernetes mount a container's secrets.
pub const CONTAINER_SECRETS_DIR: &str = "/run/secrets";

/// Checks that the secret file at `path` exists, is a file and is not open
/// to group or others (rule S13). A symbolic link is judged by the file it
/// points to (secrets are often mounted that way).
///
/// One exception: a file directly in [`CONTAINER_SECRETS_DIR`] may be
/// readable (never writable) by others. Compose mounts a secret there as the
/// file is on the host, so one secret read by two containers' users (the
/// monitor token: onrust and Prometheus) must be readable by others; the
/// container is the boundary there, and `docker/make-secrets` keeps the
/// host's copies in a 0700 folder.
pub fn check_secret_file(path: &Path) -> Result<(), SecretFileError> {
    let metadata =
        std::fs::metadata(path).map_err(|source| SecretFileError::Unreadable { path: path.to_owned(), source })?;
    if !metadata.is_file() {
        return Err(SecretFileError::NotAFile { path: path.to_owned() });
    }
    let mode = mode_of(&metadata);
    if exposed(path, mode) {
        return Err(SecretFileError::Exposed { path: path.to_owned(), mode });
    }
    Ok(())
}

/// Whether `mode` lets group or others at the secret file at `path`.
fn exposed(path: &Path, mode: u32) -> bool {
    let allowed = if mounted_by_a_container_runtime(path) { 0o055 } else { 0 };
    mode & 0o077 & !allowed != 0
}

/// `/run/secrets/<name>`, written without `..` or `.` (which could lead out of it).
fn mounted_by_a_container_runtime(path: &Path) -> bool {
    use std::path::Component;
    path.parent() == Some(Path::new(CONTAINER_SECRETS_DIR))
        && path.components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn an_error_on_a_path_names_it_and_keeps_its_kind_and_cause() {
        let cause = io::Error::new(io::ErrorKind::PermissionDenied, "denied");
        let error = with_path(cause, Path::new("/data/keys"));
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "callers match on the kind");
        assert_eq!(error.to_string(), "/data/keys: denied");
        let inner = error.get_ref().and_then(|inner| inner.source()).expect("the cause is kept");
        assert_eq!(inner.to_string(), "denied");
        assert!(inner.is::<io::Error>());
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn files_are_0600_and_folders_0700_whatever_the_umask_allows() {
        // The test runs under the caller's umask (022 as a rule), which would give 0644 and 0755.
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("a/b/c");
        create_private_dir_all(&nested).expect("create");
        for folder in [dir.path().join("a"), dir.path().join("a/b"), nested.clone()] {
            assert_eq!(mode(&folder), 0o700, "{}", folder.display());
        }
        let log = nested.join("log.jsonl");
        open_private_append(&log).expect("open").write_all(b"x\n").expect("write");
        assert_eq!(mode(&log), 0o600);
        let fresh = nested.join("fresh");
        create_private(&fresh).expect("create");
        assert_eq!(mode(&fresh), 0o600);
        assert!(create_private_new(&fresh).is_err(), "create_new refuses an existing file");
        // An existing file that others could read is tightened when it is opened to append.
        let open = nested.join("open.jsonl");
        std::fs::write(&open, b"x").expect("write");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        open_private_append(&open).expect("open");
        assert_eq!(mode(&open), 0o600);
    }

    #[test]
    fn tighten_tree_takes_group_and_other_access_away_and_counts_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("archive/week")).expect("dirs");
        std::fs::write(root.join("archive/week/segment"), b"x").expect("file");
        std::fs::write(root.join("state.json"), b"{}").expect("file");
        std::fs::write(root.join("private"), b"x").expect("file");
        std::fs::set_permissions(root.join("private"), std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::set_permissions(root.join("state.json"), std::fs::Permissions::from_mode(0o664)).expect("chmod");
        std::os::unix::fs::symlink("state.json", root.join("link")).expect("symlink");
        for folder in [&root, &root.join("archive"), &root.join("archive/week")] {
            std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let tightened = tighten_tree(&root).expect("tighten");
        assert_eq!(tightened, Tightened { changed: 5, seen: 6 });
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("archive/week")), 0o700);
        assert_eq!(mode(&root.join("archive/week/segment")), 0o600);
        assert_eq!(mode(&root.join("state.json")), 0o600);
        assert_eq!(mode(&root.join("link")), 0o777, "a link is neither followed nor changed");
        assert_eq!(tighten_tree(&root).expect("again"), Tightened { changed: 0, seen: 6 }, "nothing left to do");
        assert_eq!(tighten_tree(&dir.path().join("absent")).expect("absent"), Tightened::default());
    }

    #[test]
    fn a_secret_file_others_can_read_is_refused_with_its_mode_and_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = dir.path().join("smtp-password");
        std::fs::write(&secret, b"geheim").expect("write");
        for exposed in [0o644, 0o640, 0o604, 0o666, 0o660] {
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(exposed)).expect("chmod");
            let message = check_secret_file(&secret).expect_err("exposed").to_string();
            assert!(message.contains(&format!("mode {exposed:04o}")), "{message}");
            assert!(message.contains(&format!("chmod 600 {}", secret.display())), "{message}");
            assert!(!message.contains("geheim"), "the secret itself is never quoted");
        }
        for private in [0o600, 0o400] {
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(private)).expect("chmod");
            check_secret_file(&secret).expect("owner only");
        }
        let missing = check_secret_file(&dir.path().join("absent")).expect_err("missing").to_string();
        assert!(missing.starts_with("cannot read"), "{missing}");
        let folder = check_secret_file(dir.path()).expect_err("a folder").to_string();
        assert!(folder.ends_with("is not a file"), "{folder}");
    }

    /// A container's mounted secret may be readable by the other containers'
    /// users, never writable; nothing outside `/run/secrets/` gets that.
    #[test]
    fn only_a_container_secret_mount_may_be_readable_by_others() {
        let mounted = Path::new("/run/secrets/http-token");
        assert!(!exposed(mounted, 0o644) && !exposed(mounted, 0o444) && !exposed(mounted, 0o600));
        assert!(exposed(mounted, 0o666) && exposed(mounted, 0o646) && exposed(mounted, 0o664), "writable by others");
        for elsewhere in [
            "/etc/onrust/http-token",
            "/run/secrets/../../etc/http-token",
            "/run/secrets/sub/http-token",
            "/run/secretsx/http-token",
            "run/secrets/http-token",
            "/run/secrets",
        ] {
            let path = Path::new(elsewhere);
            assert!(exposed(path, 0o644) && exposed(path, 0o640), "{elsewhere}");
            assert!(!exposed(path, 0o600), "{elsewhere}");
        }
    }
}
