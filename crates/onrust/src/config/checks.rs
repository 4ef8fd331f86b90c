//! What `check-config` must refuse because `run` would fail on it, or be
//! harmed by it, although the types accept it: a token file that is
//! missing, empty or readable by others (S13), a data folder in a kernel
//! file system. (What a source URL must be is its kind's check, in
//! `onrust_ingest::config`.)

use std::path::{Component, Path, PathBuf};

/// The shortest monitor token `run` accepts.
const MIN_TOKEN_CHARS: usize = 16;

/// Reads the monitor token from `http.token_file`, as `run` does; the error
/// names the file and what is wrong, never the token.
pub fn read_monitor_token(path: &Path) -> Result<String, String> {
    // A token others on this machine can read is anyone's token (S13).
    if let Err(exposed @ onrust_durable::SecretFileError::Exposed { .. }) = onrust_durable::check_secret_file(path) {
        return Err(exposed.to_string());
    }
    let token = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(format!("{} is empty; it must hold the monitor token", path.display()));
    }
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!("{}: the token must be at least {MIN_TOKEN_CHARS} characters", path.display()));
    }
    Ok(token.to_owned())
}

/// Kernel file systems: onrust's archive, keys and audit log there would
/// fail, or write into the kernel's files.
const KERNEL_DIRS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// Why `data_dir` cannot hold onrust's state, if it cannot.
pub fn data_dir(path: &Path) -> Option<String> {
    let absolute = match std::env::current_dir() {
        Ok(cwd) => cwd.join(path),
        Err(_) => path.to_path_buf(),
    };
    let resolved = resolve_existing(&lexically_normal(&absolute));
    let kernel = KERNEL_DIRS.iter().find(|dir| resolved.starts_with(dir))?;
    let shown = if resolved == path {
        path.display().to_string()
    } else {
        format!("{} (that is {})", path.display(), resolved.display())
    };
    Some(format!(
        "{shown} is under {kernel}, a kernel file system; the archive, keys and audit log need a folder on a disk"
    ))
}

/// `path` without `.` and with each `..` applied.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` with its longest existing ancestor's symbolic links resolved, so
/// `/dev/fd/..` or a link into /proc is seen for what it is.
fn resolve_existing(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |acc: PathBuf, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// True for `localhost` and loopback IP literals; no name is resolved.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dirs_in_kernel_file_systems_are_refused() {
        for path in ["/proc/self", "/sys/kernel", "/dev/shm/onrust", "/tmp/../proc/x", "/dev/fd/../onrust"] {
            assert!(data_dir(Path::new(path)).is_some(), "{path}");
        }
        assert_eq!(data_dir(Path::new("/var/lib/onrust/data")), None);
        assert_eq!(
            data_dir(Path::new("data")),
            None,
            "a relative path (the loader resolves them first) is not refused"
        );
        assert!(data_dir(Path::new("/proc/self")).is_some_and(|m| m.contains("under /proc")));
    }

    #[test]
    fn the_monitor_token_must_be_there_long_enough_and_its_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            path
        };
        let missing = dir.path().join("missing");
        assert!(read_monitor_token(&missing).is_err_and(|e| e.contains("cannot read") && e.contains("missing")));
        let empty = secret("empty", "\n");
        assert!(read_monitor_token(&empty).is_err_and(|e| e.contains("is empty")));
        let short = secret("short", "kort-geheim\n");
        let err = read_monitor_token(&short).expect_err("too short");
        assert!(err.contains("at least 16") && !err.contains("kort-geheim"), "{err}");
        let good = secret("good", "0123456789abcdef0123\n");
        assert_eq!(read_monitor_token(&good).as_deref(), Ok("0123456789abcdef0123"));
        std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let err = read_monitor_token(&good).expect_err("group may read it");
        assert!(err.contains("mode 0640") && err.contains("chmod 600") && !err.contains("0123456789"), "{err}");
    }
}
