//! Signed-in sessions, CSRF tokens and the brake on guessing passwords.
//!
//! A session is a random 256-bit id in a cookie (`HttpOnly`, `SameSite=Strict`,
//! `Secure` unless the listener is loopback-only); the server keeps only the
//! id's SHA-256, so a memory dump or a log line never holds a usable cookie.
//! Each session carries its own CSRF token, which every form repeats in a
//! hidden `csrf` field; the router checks it before any page `POST` is
//! handled. Sessions end after [`SessionPolicy::idle`] without a request and
//! after [`SessionPolicy::lifetime`] in any case, and live in memory only: a
//! restart signs everyone out, which is the safe direction.
//!
//! Failed sign-ins are counted per name (known or not, so the brake says
//! nothing about which names exist): from [`LoginPolicy::slow_after`]
//! failures on, each answer waits longer, and after
//! [`LoginPolicy::lock_after`] the name is locked for
//! [`LoginPolicy::lock_for`], even for the right password.
//!
//! They are also counted per address the attempts come from, against
//! someone who tries one password on many names (which the brake per name
//! never sees): from [`LoginPolicy::address_slow_after`] failures within
//! [`LoginPolicy::address_window`] each answer to that address waits longer,
//! and at [`LoginPolicy::address_lock_after`] the address may not sign in for
//! [`LoginPolicy::lock_for`]. The address is the TCP peer's (never a header
//! a client sets), an IPv6 address counted by its /64, which one machine
//! usually has whole. Behind a reverse proxy every request comes from the
//! proxy's address, so the brake per address then slows and locks everyone
//! at once; its thresholds are high for that reason (a whole office behind
//! one address does not fail a hundred times in a quarter of an hour).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::auth::{Principal, Role, Scope};

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session ends after this long without a request.
    pub idle: Duration,
    /// A session ends this long after sign-in, however busy.
    pub lifetime: Duration,
    /// Whether cookies carry `Secure` (every listener that is not loopback-only).
    pub secure_cookies: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle: Duration::from_secs(30 * 60), lifetime: Duration::from_secs(12 * 3600), secure_cookies: true }
    }
}

/// The brake on repeated failed sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures before answers slow down.
    pub slow_after: u32,
    /// Extra wait per failure past `slow_after` (capped at [`LoginPolicy::max_delay`]).
    pub step: Duration,
    pub max_delay: Duration,
    /// Failures in a row that lock the name.
    pub lock_after: u32,
    /// How long a locked name or address stays locked.
    pub lock_for: Duration,
    /// Failures from one address within [`LoginPolicy::address_window`]
    /// before its answers slow down.
    pub address_slow_after: u32,
    /// Failures from one address within the window that lock it.
    pub address_lock_after: u32,
    pub address_window: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            slow_after: 3,
            step: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
            lock_after: 10,
            lock_for: Duration::from_secs(15 * 60),
            address_slow_after: 20,
            address_lock_after: 100,
            address_window: Duration::from_secs(15 * 60),
        }
    }
}

/// The cookie that carries the session id.
pub const SESSION_COOKIE: &str = "onrust_sessie";
/// The cookie that carries the sign-in form's CSRF token (double submit:
/// there is no session yet to keep it in).
pub const LOGIN_COOKIE: &str = "onrust_aanmelden";

/// One signed-in account.
#[derive(Debug, Clone)]
struct Session {
    principal: Principal,
    csrf: String,
    started: Instant,
    last_seen: Instant,
}

/// A signed-in request: who, and the CSRF token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub principal: Principal,
    pub csrf: String,
    /// The session id's hash, to end it on sign-out.
    pub(crate) key: [u8; 32],
}

/// How a failed or refused sign-in ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brake {
    /// Try again (after the wait already served).
    Wait(Duration),
    /// Locked for this much longer.
    Locked(Duration),
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

/// An address's failures within the window, oldest first (at most the lock threshold).
#[derive(Debug, Default)]
struct AddressFailures {
    recent: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// The key an address's failures are counted under: IPv4 as is (also when
/// mapped into IPv6), IPv6 by its /64.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Most names whose failures are remembered; past it the oldest are forgotten
/// (a flood of made-up names cannot exhaust memory).
const MAX_TRACKED_NAMES: usize = 10_000;

/// Every session and the failure counts, in memory.
#[derive(Debug)]
pub struct Sessions {
    policy: SessionPolicy,
    login: LoginPolicy,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<IpAddr, AddressFailures>>,
}

/// 32 random bytes as hex.
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

fn key_of(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Constant-time comparison of two tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Sessions {
    pub fn new(policy: SessionPolicy, login: LoginPolicy) -> Self {
        Self { policy, login, sessions: Mutex::default(), failures: Mutex::default(), addresses: Mutex::default() }
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// Starts a session; returns the id for the cookie. `None` when the
    /// system has no randomness (nobody signs in then).
    pub fn start(&self, name: &str, role: Role, scope: Scope) -> Option<String> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = Instant::now();
        let principal = Principal { name: name.to_owned(), role, scope };
        let mut sessions = self.sessions.lock().ok()?;
        let policy = self.policy;
        sessions.retain(|_, s| alive(&policy, s, now));
        sessions.insert(key_of(&id), Session { principal, csrf, started: now, last_seen: now });
        Some(id)
    }

    /// The session of this cookie value, if it is alive; touching it restarts its idle time.
    pub fn find(&self, id: &str) -> Option<SignedIn> {
        let key = key_of(id);
        let now = Instant::now();
        let mut sessions = self.sessions.lock().ok()?;
        let session = sessions.get_mut(&key)?;
        if !alive(&self.policy, session, now) {
            sessions.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(SignedIn { principal: session.principal.clone(), csrf: session.csrf.clone(), key })
    }

    /// Ends a session (sign-out, or its account is gone).
    pub fn end(&self, signed_in: &SignedIn) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(&signed_in.key);
        }
    }

    /// Whether `name` may try now; `Err` with how long it stays locked.
    pub fn check_lock(&self, name: &str) -> Result<(), Duration> {
        let Ok(failures) = self.failures.lock() else { return Err(self.login.lock_for) };
        let now = Instant::now();
        match failures.get(name).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure for `name`; says how long to wait before answering, or that it is now locked.
    pub fn failed(&self, name: &str) -> Brake {
        let Ok(mut failures) = self.failures.lock() else { return Brake::Locked(self.login.lock_for) };
        if failures.len() >= MAX_TRACKED_NAMES && !failures.contains_key(name) {
            let now = Instant::now();
            failures.retain(|_, f| f.locked_until.is_some_and(|until| until > now));
        }
        let entry = failures.entry(name.to_owned()).or_default();
        if entry.locked_until.is_some_and(|until| until <= Instant::now()) {
            *entry = Failures::default();
        }
        entry.count += 1;
        if entry.count >= self.login.lock_after {
            entry.locked_until = Some(Instant::now() + self.login.lock_for);
            return Brake::Locked(self.login.lock_for);
        }
        let past = entry.count.saturating_sub(self.login.slow_after);
        Brake::Wait(self.login.step.saturating_mul(past).min(self.login.max_delay))
    }

    /// Whether `address` may try now; `Err` with how long it stays locked.
    pub fn check_address_lock(&self, address: IpAddr) -> Result<(), Duration> {
        let Ok(addresses) = self.addresses.lock() else { return Err(self.login.lock_for) };
        let now = Instant::now();
        match addresses.get(&address_key(address)).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure from `address`; how long to wait before answering, or that it is now locked.
    /// A successful sign-in does not clear it: failures leave the count when they are older than the window.
    pub fn address_failed(&self, address: IpAddr) -> Brake {
        let Ok(mut addresses) = self.addresses.lock() else { return Brake::Locked(self.login.lock_for) };
        let now = Instant::now();
        let window = self.login.address_window;
        if addresses.len() >= MAX_TRACKED_NAMES && !addresses.contains_key(&address_key(address)) {
            addresses.retain(|_, f| {
                f.locked_until.is_some_and(|until| until > now)
                    || f.recent.back().is_some_and(|last| now.duration_since(*last) < window)
            });
        }
        let entry = addresses.entry(address_key(address)).or_default();
        if entry.locked_until.is_some_and(|until| until <= now) {
            *entry = AddressFailures::default();
        }
        while entry.recent.front().is_some_and(|first| now.duration_since(*first) >= window) {
            entry.recent.pop_front();
        }
        entry.recent.push_back(now);
        let count = u32::try_from(entry.recent.len()).unwrap_or(u32::MAX);
        if count >= self.login.address_lock_after {
            entry.locked_until = Some(now + self.login.lock_for);
            entry.recent.clear();
            return Brake::Locked(self.login.lock_for);
        }
        let past = count.saturating_sub(self.login.address_slow_after);
        Brake::Wait(self.login.step.saturating_mul(past).min(self.login.max_delay))
    }

    /// A successful sign-in clears the name's failures.
    pub fn succeeded(&self, name: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(name);
        }
    }

    /// The `Set-Cookie` value for a new session.
    pub fn session_cookie(&self, id: &str) -> String {
        cookie(SESSION_COOKIE, id, "/", Some(self.policy.lifetime), self.policy.secure_cookies)
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_session_cookie(&self) -> String {
        cookie(SESSION_COOKIE, "", "/", Some(Duration::ZERO), self.policy.secure_cookies)
    }

    /// The `Set-Cookie` value for the sign-in form's CSRF token.
    pub fn login_cookie(&self, token: &str) -> String {
        cookie(LOGIN_COOKIE, token, "/login", Some(Duration::from_secs(3600)), self.policy.secure_cookies)
    }
}

fn alive(policy: &SessionPolicy, session: &Session, now: Instant) -> bool {
    now.duration_since(session.last_seen) < policy.idle && now.duration_since(session.started) < policy.lifetime
}

fn cookie(name: &str, value: &str, path: &str, max_age: Option<Duration>, secure: bool) -> String {
    let mut cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The value of cookie `name` in a `Cookie` header, if present.
pub(crate) fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(idle_ms: u64, lifetime_ms: u64) -> Sessions {
        let policy = SessionPolicy {
            idle: Duration::from_millis(idle_ms),
            lifetime: Duration::from_millis(lifetime_ms),
            secure_cookies: false,
        };
        Sessions::new(policy, LoginPolicy::default())
    }

    #[test]
    fn a_session_is_found_by_its_id_only_and_ends_when_idle_or_old() {
        let store = sessions(200, 10_000);
        let id = store.start("oov-utrecht", Role::Officer, Scope::Region).unwrap();
        let found = store.find(&id).unwrap();
        assert_eq!(found.principal.name, "oov-utrecht");
        assert_eq!(found.csrf.len(), 64);
        assert!(store.find(&format!("{id}0")).is_none());
        assert!(store.find("").is_none());
        std::thread::sleep(Duration::from_millis(250));
        assert!(store.find(&id).is_none(), "idle too long");

        let store = sessions(150, 400);
        let id = store.start("oov-utrecht", Role::Officer, Scope::Region).unwrap();
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(100));
            if store.find(&id).is_none() {
                break;
            }
        }
        assert!(store.find(&id).is_none(), "busy, but past its lifetime");

        let store = sessions(10_000, 10_000);
        let id = store.start("a", Role::Fg, Scope::Region).unwrap();
        let signed_in = store.find(&id).unwrap();
        store.end(&signed_in);
        assert!(store.find(&id).is_none(), "signed out");
    }

    #[test]
    fn failures_slow_down_then_lock_even_the_right_password() {
        let store = sessions(1000, 1000);
        let policy = LoginPolicy::default();
        let brakes: Vec<Brake> = (0..policy.lock_after).map(|_| store.failed("oov-utrecht")).collect();
        assert_eq!(brakes[0], Brake::Wait(Duration::ZERO));
        assert_eq!(brakes[2], Brake::Wait(Duration::ZERO));
        assert_eq!(brakes[3], Brake::Wait(Duration::from_secs(1)));
        assert_eq!(brakes[8], Brake::Wait(Duration::from_secs(5)), "capped");
        assert_eq!(brakes[9], Brake::Locked(policy.lock_for));
        assert!(store.check_lock("oov-utrecht").is_err());
        assert!(store.check_lock("someone-else").is_ok(), "per name");
        store.succeeded("someone-else");
        assert!(store.check_lock("oov-utrecht").is_err());
    }

    #[test]
    fn failures_from_one_address_slow_down_then_lock_it_whatever_the_names() {
        let policy = LoginPolicy {
            address_slow_after: 2,
            address_lock_after: 4,
            address_window: Duration::from_secs(60),
            ..LoginPolicy::default()
        };
        let store = Sessions::new(SessionPolicy::default(), policy);
        let spray: IpAddr = "203.0.113.7".parse().unwrap();
        let brakes: Vec<Brake> = (0..4).map(|_| store.address_failed(spray)).collect();
        assert_eq!(
            brakes,
            [
                Brake::Wait(Duration::ZERO),
                Brake::Wait(Duration::ZERO),
                Brake::Wait(Duration::from_secs(1)),
                Brake::Locked(policy.lock_for)
            ]
        );
        assert!(store.check_address_lock(spray).is_err());
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert!(store.check_address_lock(mapped).is_err(), "the same address mapped into IPv6");
        assert!(store.check_address_lock("203.0.113.8".parse().unwrap()).is_ok(), "per address");
        assert!(store.check_lock("any-name").is_ok(), "no name is locked by it");

        let v6: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        for _ in 0..4 {
            store.address_failed(v6);
        }
        assert!(store.check_address_lock("2001:db8:1:2:ffff::9".parse().unwrap()).is_err(), "one /64");
        assert!(store.check_address_lock("2001:db8:1:3::1".parse().unwrap()).is_ok());

        let short = LoginPolicy { address_window: Duration::from_millis(50), ..policy };
        let store = Sessions::new(SessionPolicy::default(), short);
        for _ in 0..3 {
            store.address_failed(spray);
        }
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(store.address_failed(spray), Brake::Wait(Duration::ZERO), "old failures leave the window");
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_off_loopback() {
        let store = sessions(1000, 1000);
        let cookie = store.session_cookie("abc");
        assert!(cookie.starts_with("onrust_sessie=abc; Path=/; HttpOnly; SameSite=Strict"), "{cookie}");
        assert!(!cookie.contains("Secure"), "loopback");
        let secure = Sessions::new(SessionPolicy::default(), LoginPolicy::default());
        assert!(secure.session_cookie("abc").ends_with("; Secure"));
        assert!(secure.login_cookie("t").contains("Path=/login; HttpOnly; SameSite=Strict"));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, "a=1; onrust_sessie=xyz; b=2".parse().unwrap());
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie_value(&headers, "c"), None);
    }
}
