//! What every source URL must be, whatever its kind: a URL with a host as
//! written, without a user name or password (rule L4), on a host the
//! egress guard lets through at run time (rule S1); and echoed in a
//! message only without its credentials (rule S9).

use onrust_model::Problem;
use url::Url;

use crate::fetch::guard::{EgressGuard, UrlRefusal};

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

/// The URL `text` of a source of kind `kind`, when it parses with a scheme
/// from `schemes`; every problem with it goes to `problems` under the key `url`.
pub(crate) fn check(
    text: &str,
    kind: &str,
    schemes: &[&str],
    allow_hosts: &[String],
    problems: &mut Vec<Problem>,
) -> Option<Url> {
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(e) => {
            problems.push(Problem::new("url", format!("{:?} is not a URL: {e}", redacted(text))));
            return None;
        }
    };
    if !schemes.contains(&url.scheme()) {
        let allowed = schemes.join(" or ");
        problems.push(Problem::new(
            "url",
            format!("scheme {:?} is not allowed for kind {kind}; use {allowed}", url.scheme()),
        ));
        return None;
    }
    problems.extend(source_url(text, &url, allow_hosts).into_iter().map(|message| Problem::new("url", message)));
    Some(url)
}

/// The problems of a source URL that parsed: no host as written, a user
/// name or password, a host the egress guard refuses at run time.
fn source_url(text: &str, url: &Url, allow_hosts: &[String]) -> Vec<String> {
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
fn guard_refusal(url: &Url, allow_hosts: &[String]) -> Option<String> {
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
}
