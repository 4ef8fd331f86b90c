//! What `check-config` must refuse because `run` would fail on it, or be
//! harmed by it, although the types accept it: a source URL the egress guard
//! will block (S1), one without a host, one with a password in it (which
//! must then never be echoed, S9), a token file that is missing, empty or
//! readable by others (S13), a data folder in a kernel file system.

use std::path::{Component, Path, PathBuf};

use onrust_ingest::fetch::guard::{EgressGuard, UrlRefusal};

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

/// `text` with any user name and password between `scheme://` and the host
/// cut out, for messages: a URL as written is echoed only this way.
pub fn redacted(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://…@{}", &rest[at + 1..]),
        None => text.to_owned(),
    }
}

/// The problems of a source URL that parsed: no host as written, a user
/// name or password, a host the egress guard refuses at run time.
pub fn source_url(text: &str, url: &url::Url, allow_hosts: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    // The url crate reads "http:///x" as host "x": what was written has no host.
    let written_host = text.split_once("://").map(|(_, rest)| {
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        authority.rsplit_once('@').map_or(authority, |(_, host)| host).to_owned()
    });
    if written_host.as_deref().is_none_or(str::is_empty) || url.host_str().is_none_or(str::is_empty) {
        problems.push("has no host: write it as scheme://host/path".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        problems.push(
            "carries a user name or password; sources are public and read without logging in (rule L4), \
             so remove the part before @"
                .to_owned(),
        );
    }
    if let Some(reason) = guard_refusal(url, allow_hosts) {
        problems.push(format!(
            "{reason}: the egress guard refuses it at run time (rule S1); list the host in ingest.allow_hosts \
             only for a test or an intranet feed"
        ));
    }
    problems
}

/// Why the run-time guard would refuse `url`'s host, as far as it can be
/// known without resolving it: an address literal in a special range, or a
/// name that only ever resolves to one.
fn guard_refusal(url: &url::Url, allow_hosts: &[String]) -> Option<String> {
    let guard = EgressGuard::new(allow_hosts);
    let host = url.host_str()?;
    if guard.is_allowed_host(host) {
        return None;
    }
    // The guard checks literals for http and https; ws and wss are checked the same way.
    let mut as_http = url.clone();
    if as_http.set_scheme("https").is_err() {
        return None;
    }
    if let Err(UrlRefusal::Blocked(blocked)) = guard.check_url(&as_http) {
        return Some(blocked.reason);
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    let under = |suffix: &str| name == suffix || name.ends_with(&format!(".{suffix}"));
    if under("localhost") {
        Some(format!("{host} is a loopback name"))
    } else if under("internal") {
        // Cloud metadata services live here (metadata.google.internal).
        Some(format!("{host} is a private-use name (.internal), such as a cloud metadata service"))
    } else if under("local") || under("home.arpa") {
        Some(format!("{host} is a local network name"))
    } else {
        None
    }
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
    fn credentials_are_cut_out_of_echoed_urls() {
        assert_eq!(redacted("https://jan:geheim@example.org/feed"), "https://…@example.org/feed");
        assert_eq!(redacted("https://a@b@example.org/x?y=@z"), "https://…@example.org/x?y=@z");
        assert_eq!(redacted("https://example.org/a@b"), "https://example.org/a@b", "an @ in the path is no login");
        assert_eq!(redacted("not a url"), "not a url");
    }

    #[test]
    fn hosts_the_guard_refuses_are_named_with_the_reason() {
        let refused = |text: &str| {
            let url = url::Url::parse(text).expect("url");
            guard_refusal(&url, &[])
        };
        for (text, reason) in [
            ("http://127.0.0.1:8080/feed", "127.0.0.1 is a loopback address"),
            ("https://10.1.2.3/x", "a private address"),
            ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
            ("http://[fe80::1]/", "a link-local address"),
            ("http://[::ffff:192.168.1.1]/", "a private address"),
            ("wss://localhost:9000/subscribe", "a loopback name"),
            ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
            ("https://nas.local/feed", "a local network name"),
        ] {
            let got = refused(text).unwrap_or_default();
            assert!(got.contains(reason), "{text}: {got:?}");
        }
        assert_eq!(refused("https://feeds.nos.nl/nosnieuwsalgemeen"), None);
        assert_eq!(refused("https://8.8.8.8/"), None);
        let allowed = url::Url::parse("http://127.0.0.1:8080/feed").expect("url");
        assert_eq!(guard_refusal(&allowed, &["127.0.0.1".to_owned()]), None, "the allow-list still exempts");
    }

    #[test]
    fn data_dirs_in_kernel_file_systems_are_refused() {
        for path in ["/proc/self", "/sys/kernel", "/dev/shm/onrust", "/tmp/../proc/x", "/dev/fd/../onrust"] {
            assert!(data_dir(Path::new(path)).is_some(), "{path}");
        }
        assert_eq!(data_dir(Path::new("/var/lib/onrust/data")), None);
        assert_eq!(data_dir(Path::new("data")), None, "relative to the working directory");
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
