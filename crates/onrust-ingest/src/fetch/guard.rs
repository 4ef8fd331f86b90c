//! The egress guard (rule S1): which addresses a fetch may connect to.
//!
//! The check runs *before* connecting. IP literals in the URL are checked
//! directly (the `url` crate already turns `http://2130706433/` and
//! `http://0x7f.1/` into `127.0.0.1`). Names are resolved once by
//! [`GuardedResolver`], which rejects the name if *any* address is disallowed
//! and hands reqwest exactly the addresses it checked, so the connection goes
//! to a checked address (no second lookup that could answer differently).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why an address or URL is refused; carried through reqwest's error chain.
#[derive(Debug, Clone, thiserror::Error)]
#[error("host {host} is not allowed: {reason}")]
pub struct Blocked {
    /// The host as written in the URL.
    pub host: String,
    /// What is wrong with it, e.g. "127.0.0.1 is a loopback address".
    pub reason: String,
}

/// The private-address guard with its explicit allow-list.
#[derive(Debug, Clone, Default)]
pub struct EgressGuard {
    allow_hosts: HashSet<String>,
}

impl EgressGuard {
    /// A guard that exempts exactly these hosts (names or IP literals, compared case-insensitively).
    pub fn new(allow_hosts: &[String]) -> Self {
        let allow_hosts = allow_hosts
            .iter()
            .map(|h| h.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        Self { allow_hosts }
    }

    /// Is this host explicitly exempt?
    pub fn is_allowed_host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.allow_hosts.contains(&host)
    }

    /// Checks the scheme and, for IP literals, the address. Names are checked when resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), UrlRefusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlRefusal::Scheme(url.scheme().to_owned()));
        }
        let host = match url.host() {
            None => return Err(UrlRefusal::Blocked(Blocked { host: String::new(), reason: "url has no host".into() })),
            Some(host) => host,
        };
        let ip = match host {
            Host::Domain(_) => return Ok(()),
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
        };
        if self.is_allowed_host(&ip.to_string()) {
            return Ok(());
        }
        check_ip(ip).map_err(|reason| UrlRefusal::Blocked(Blocked { host: ip.to_string(), reason }))
    }

    /// Resolves `host` once and returns its addresses with `port`, only if
    /// every one is allowed (or the host is in the allow-list). The caller
    /// connects to exactly these addresses, so a second lookup cannot answer
    /// differently. IP literals (without brackets) resolve to themselves and
    /// are checked the same way.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        let addrs: Vec<SocketAddr> =
            tokio::net::lookup_host((host, port)).await.map_err(ResolveError::Lookup)?.collect();
        if addrs.is_empty() {
            return Err(ResolveError::Blocked(Blocked {
                host: host.to_owned(),
                reason: "name resolved to no address".into(),
            }));
        }
        if !self.is_allowed_host(host) {
            for addr in &addrs {
                if let Err(reason) = check_ip(addr.ip()) {
                    return Err(ResolveError::Blocked(Blocked { host: host.to_owned(), reason }));
                }
            }
        }
        Ok(addrs)
    }
}

/// Why [`EgressGuard::resolve`] gave no address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The name could not be resolved.
    #[error("could not resolve the host: {0}")]
    Lookup(#[source] std::io::Error),
    /// An address is disallowed.
    #[error(transparent)]
    Blocked(Blocked),
}

/// Why [`EgressGuard::check_url`] refused a URL.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UrlRefusal {
    /// Not http or https.
    #[error("scheme {0:?} is not allowed, only http and https")]
    Scheme(String),
    /// A disallowed address.
    #[error(transparent)]
    Blocked(Blocked),
}

/// Checks one address; `Err` names the reason it is disallowed.
pub fn check_ip(ip: IpAddr) -> Result<(), String> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4),
        IpAddr::V6(v6) => check_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn check_v4(ip: Ipv4Addr) -> Result<(), String> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "a 'this network' address"),
        ([10, 0, 0, 0], 8, "a private address"),
        ([100, 64, 0, 0], 10, "a carrier-grade nat address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([169, 254, 0, 0], 16, "a link-local address"),
        ([172, 16, 0, 0], 12, "a private address"),
        ([192, 0, 0, 0], 24, "an ietf protocol assignment address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([192, 88, 99, 0], 24, "a 6to4 relay anycast address"),
        ([192, 168, 0, 0], 16, "a private address"),
        ([198, 18, 0, 0], 15, "a benchmarking address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved address"),
    ];
    for (net, prefix, what) in RANGES {
        if in_v4(ip, *net, *prefix) {
            return Err(format!("{ip} is {what}"));
        }
    }
    Ok(())
}

fn check_v6(ip: Ipv6Addr) -> Result<(), String> {
    let seg = ip.segments();
    let embedded =
        |v4: Ipv4Addr, form: &str| check_v4(v4).map_err(|reason| format!("{ip} embeds {form} ipv4 address: {reason}"));
    if ip.is_unspecified() {
        return Err(format!("{ip} is the unspecified address"));
    }
    if ip.is_loopback() {
        return Err(format!("{ip} is a loopback address"));
    }
    if seg[0] & 0xff00 == 0xff00 {
        return Err(format!("{ip} is a multicast address"));
    }
    if seg[0] & 0xffc0 == 0xfe80 {
        return Err(format!("{ip} is a link-local address"));
    }
    if seg[0] & 0xffc0 == 0xfec0 {
        return Err(format!("{ip} is a deprecated site-local address"));
    }
    if seg[0] & 0xfe00 == 0xfc00 {
        return Err(format!("{ip} is a unique local address"));
    }
    // Documentation: 2001:db8::/32 (RFC 3849) and 3fff::/20 (RFC 9637).
    if (seg[0] == 0x2001 && seg[1] == 0x0db8) || (seg[0] == 0x3fff && seg[1] & 0xf000 == 0) {
        return Err(format!("{ip} is a documentation address"));
    }
    // NAT64 local-use 64:ff9b:1::/48 (RFC 8215): the embedded IPv4 address sits at a
    // prefix-dependent position (RFC 6052), and any such translator is a local network device.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1 {
        return Err(format!("{ip} is a local-use nat64 address"));
    }
    let low_v4 = Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
    // IPv4-mapped ::ffff:a.b.c.d — always an IPv4 destination in disguise.
    if seg[..5] == [0, 0, 0, 0, 0] && seg[5] == 0xffff {
        return embedded(low_v4, "a mapped");
    }
    // IPv4-compatible ::a.b.c.d (deprecated) and IPv4-translated ::ffff:0:a.b.c.d.
    if seg[..6] == [0, 0, 0, 0, 0, 0] || (seg[..4] == [0, 0, 0, 0] && seg[4] == 0xffff && seg[5] == 0) {
        return embedded(low_v4, "a compatible");
    }
    // NAT64 well-known prefix 64:ff9b::/96: the IPv4 address is the low 32 bits.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return embedded(low_v4, "a nat64");
    }
    // 6to4 2002:V4ADDR::/48.
    if seg[0] == 0x2002 {
        let v4 = Ipv4Addr::new((seg[1] >> 8) as u8, seg[1] as u8, (seg[2] >> 8) as u8, seg[2] as u8);
        return embedded(v4, "a 6to4");
    }
    // Teredo 2001:0::/32: the client address is the last 32 bits, inverted.
    if seg[0] == 0x2001 && seg[1] == 0 {
        let client = Ipv4Addr::from(!u32::from(low_v4));
        let server = Ipv4Addr::new((seg[2] >> 8) as u8, seg[2] as u8, (seg[3] >> 8) as u8, seg[3] as u8);
        embedded(server, "a teredo server")?;
        return embedded(client, "a teredo client");
    }
    // Other IETF special-purpose blocks (2001::/23 outside Teredo, discard 100::/64).
    if seg[0] == 0x0100 && seg[1..4] == [0, 0, 0] {
        return Err(format!("{ip} is a discard-only address"));
    }
    if seg[0] == 0x2001 && seg[1] < 0x0200 {
        return Err(format!("{ip} is an ietf protocol assignment address"));
    }
    Ok(())
}

/// A `reqwest` DNS resolver that resolves with tokio, rejects names with any
/// disallowed address, and returns only the checked addresses (pinning).
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: Arc<EgressGuard>,
}

impl GuardedResolver {
    /// A resolver enforcing `guard`.
    pub fn new(guard: Arc<EgressGuard>) -> Self {
        Self { guard }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = guard.resolve(&host, 0).await.map_err(|error| -> Box<dyn std::error::Error + Send + Sync> {
                match error {
                    ResolveError::Lookup(error) => Box::new(error),
                    ResolveError::Blocked(blocked) => Box::new(blocked),
                }
            })?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        EgressGuard::default().check_url(&Url::parse(url).unwrap()).is_err()
    }

    #[test]
    fn special_addresses_are_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://100.64.1.1/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[::1]/",
            "http://[::]/",
            "http://0.0.0.0/",
            "http://10.1.2.3/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::127.0.0.1]/",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
            "https://198.51.100.7/",
            "file:///etc/passwd",
            "ftp://example.org/feed.xml",
            "gopher://example.org/",
        ] {
            assert!(refused(url), "{url} should be refused");
        }
    }

    #[test]
    fn nat64_local_use_and_documentation_v6_are_refused() {
        let guard = EgressGuard::default();
        for url in [
            // 64:ff9b:1::/48 with 127.0.0.1 in bits 48..87 (a /56 translator prefix, RFC 6052).
            "http://[64:ff9b:1:7f:0:1::]/",
            // A public IPv4 address in the low bits does not make the local-use prefix acceptable.
            "http://[64:ff9b:1::5db8:d822]/",
            "http://[3fff::1]/",
            "http://[3fff:fff:ffff::1]/",
            "http://[2001:db8::1]/",
        ] {
            let err = guard.check_url(&Url::parse(url).unwrap()).unwrap_err();
            assert!(!err.to_string().contains("embeds"), "{url}: {err}");
        }
        // Just outside 3fff::/20 and the well-known NAT64 prefix with a public address pass.
        for url in ["http://[3fff:1000::1]/", "http://[64:ff9b::5db8:d822]/"] {
            assert!(guard.check_url(&Url::parse(url).unwrap()).is_ok(), "{url} should pass");
        }
    }

    #[test]
    fn public_addresses_and_names_pass_the_check() {
        for url in ["http://93.184.216.34/", "https://[2606:2800:220:1::1]/", "https://example.org/feed"] {
            assert!(!refused(url), "{url} should pass");
        }
    }

    #[test]
    fn allow_list_is_the_only_exemption() {
        let guard = EgressGuard::new(&["127.0.0.1".into(), "[::1]".into()]);
        assert!(guard.check_url(&Url::parse("http://127.0.0.1:8080/").unwrap()).is_ok());
        assert!(guard.check_url(&Url::parse("http://[::1]/").unwrap()).is_ok());
        assert!(guard.check_url(&Url::parse("http://127.0.0.2/").unwrap()).is_err());
    }

    #[test]
    fn refusal_names_the_reason() {
        let err =
            EgressGuard::default().check_url(&Url::parse("http://[::ffff:169.254.169.254]/").unwrap()).unwrap_err();
        assert!(err.to_string().contains("link-local"), "{err}");
    }
}
