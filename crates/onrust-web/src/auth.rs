//! Who may do what: roles, permissions and bearer tokens (rules L8, S8, S9).
//!
//! One mechanism for every API: a request presents `Authorization: Bearer
//! <token>`; the token is hashed and compared, in constant time, with every
//! configured hash; the match gives a [`Principal`] (a name for the audit log
//! and a [`Role`]); [`allows`] decides whether that role holds the route's
//! [`Permission`]. Anything not granted in [`permissions`] is denied.
//!
//! Tokens exist only as SHA-256 hashes in the configuration
//! (`[[http.tokens]]`); `onrust token new` makes a token and prints its hash.
//! Who a request is comes from its token only, never from a header such as
//! `X-Forwarded-For` or a user name a proxy adds.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token holder is. The five roles of rule L8, plus the
/// `monitor` role of the `http.token_file` token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// On-duty information officer: alerts for their municipality (issue 5).
    Officer,
    /// Searches the archive.
    Analyst,
    /// Reviews alerts before they reach a mayor (issue 5, rule L10).
    Supervisor,
    /// The data protection officer (functionaris gegevensbescherming): the audit log only.
    Fg,
    /// Runs the installation: configuration and operations, never content.
    Admin,
    /// The `http.token_file` token (Prometheus, a load balancer): health,
    /// readiness and metrics. Not a role a `[[http.tokens]]` entry can have.
    #[serde(skip_deserializing)]
    Monitor,
}

impl Role {
    /// Every role, for tables and tests.
    pub const ALL: [Role; 6] = [Role::Officer, Role::Analyst, Role::Supervisor, Role::Fg, Role::Admin, Role::Monitor];

    /// The roles a `[[http.tokens]]` entry (and `onrust token new`) may give.
    pub const CONFIGURABLE: [Role; 5] = [Role::Officer, Role::Analyst, Role::Supervisor, Role::Fg, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Analyst => "analyst",
            Role::Supervisor => "supervisor",
            Role::Fg => "fg",
            Role::Admin => "admin",
            Role::Monitor => "monitor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    /// Parses a configurable role (not `monitor`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::CONFIGURABLE.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Role::CONFIGURABLE.iter().map(|r| r.as_str()).collect();
            format!("unknown role {s:?}; the roles are {}", names.join(", "))
        })
    }
}

/// What a route needs. Each route has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `/healthz`, `/readyz`, `/metrics`: operations, no content.
    Metrics,
    /// `GET /api/v1/search`: the archive's content.
    Search,
    /// `GET /api/v1/audit`, `GET /api/v1/audit/verify`: the audit log.
    ReadAudit,
    /// `GET /api/v1/alerts`, `GET /api/v1/alerts/{fingerprint}`, `GET /api/v1/silences`, and the
    /// municipality's Atom feed and calendar: alerts with their evidence.
    ReadAlerts,
    /// `POST /api/v1/alerts/{fingerprint}/ack`: acknowledge with a comment.
    Acknowledge,
    /// `POST /api/v1/alerts/{fingerprint}/confirm` and `…/dismiss`: decide whether an alert goes to the mayor (L10).
    Confirm,
    /// `POST /api/v1/silences`, `POST /api/v1/silences/{id}/expire`: hold back matching alerts for a while, or stop.
    Silence,
    /// `POST /api/v1/alerts/{fingerprint}/resend`: queue again the notifications that failed for good.
    Resend,
    /// `POST /api/v1/halt`, `POST /api/v1/resume`, `GET /api/v1/halt` and the console's
    /// `/stilleggen`: stop all ingestion and alerting, and start them again (rule L13).
    Halt,
    /// `POST /api/v1/erase`: erase a message on request, everywhere, for good.
    /// Shows no content: the answer is ids and counts.
    Erase,
    /// Any signed-in account: `POST /uitloggen`. Shows no content.
    SignedIn,
    /// Nobody needs to be signed in: the sign-in form and the stylesheet. Shows no content.
    Public,
}

impl Permission {
    /// Every permission, for tables and tests.
    pub const ALL: [Permission; 12] = [
        Permission::Metrics,
        Permission::Search,
        Permission::ReadAudit,
        Permission::ReadAlerts,
        Permission::Acknowledge,
        Permission::Confirm,
        Permission::Silence,
        Permission::Resend,
        Permission::Halt,
        Permission::Erase,
        Permission::SignedIn,
        Permission::Public,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Metrics => "metrics",
            Permission::Search => "search",
            Permission::ReadAudit => "read_audit",
            Permission::ReadAlerts => "read_alerts",
            Permission::Acknowledge => "acknowledge",
            Permission::Confirm => "confirm",
            Permission::Silence => "silence",
            Permission::Resend => "resend",
            Permission::Halt => "halt",
            Permission::Erase => "erase",
            Permission::SignedIn => "signed_in",
            Permission::Public => "public",
        }
    }
}

/// The one place that decides what a role may do (rule L8). Default
/// deny: a permission not listed for a role is refused.
///
/// | role | may |
/// |---|---|
/// | officer | read and acknowledge alerts; search the archive within its municipalities |
/// | analyst | search the archive |
/// | supervisor | read, acknowledge and confirm alerts (for the mayor), add silences, send failed notifications again, halt and resume; search like an officer |
/// | fg | read and verify the audit log, erase a message on request; no content |
/// | admin | operational endpoints, sending failed notifications again once the relay is fixed, halt and resume, erasing a message on request; no content |
/// | monitor | operational endpoints |
pub const fn permissions(role: Role) -> &'static [Permission] {
    match role {
        Role::Officer => &[Permission::ReadAlerts, Permission::Acknowledge, Permission::Search],
        Role::Analyst => &[Permission::Search],
        Role::Supervisor => &[
            Permission::ReadAlerts,
            Permission::Acknowledge,
            Permission::Confirm,
            Permission::Silence,
            Permission::Resend,
            Permission::Halt,
            Permission::Search,
        ],
        // Erasure on request: the fg handles a data subject's request (AVG
        // art. 17) and the admin carries it out on the running installation.
        // Neither sees content by it: the answer is message ids and counts,
        // and who erased what and why is in the audit log the fg reads.
        Role::Fg => &[Permission::ReadAudit, Permission::Erase],
        // Sending again shows no content: what failed, to whom, why. Halting
        // shows none either, and whoever runs the installation must be able to
        // stop it (rule L13).
        Role::Admin => &[Permission::Metrics, Permission::Resend, Permission::Halt, Permission::Erase],
        Role::Monitor => &[Permission::Metrics],
    }
}

/// Whether `role` may do what `permission` guards.
pub fn allows(role: Role, permission: Permission) -> bool {
    permissions(role).contains(&permission)
}

/// A bearer token as stored: its SHA-256 digest only.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

/// A configured hash that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenHashError {
    #[error("this is a token, not its hash; put the token's sha256 here (onrust token new prints both)")]
    TokenItself,
    #[error("must be the SHA-256 of the token as 64 hexadecimal digits")]
    NotHex,
}

impl TokenHash {
    /// Hashes a token read from a secret file (surrounding whitespace ignored).
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.trim().as_bytes()).into())
    }

    /// Reads a hash as configured: 64 hexadecimal digits, either case.
    pub fn from_hex(text: &str) -> Result<Self, TokenHashError> {
        if text.starts_with(TOKEN_PREFIX) {
            return Err(TokenHashError::TokenItself);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| TokenHashError::NotHex)?;
        Ok(Self(bytes))
    }

    /// The hash as 64 lowercase hexadecimal digits, as the configuration holds it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Constant time: every byte is compared whatever the first difference.
    pub(crate) fn matches_digest(&self, presented: &[u8; 32]) -> bool {
        self.0.iter().zip(presented.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // The message never quotes the value: it may be a token pasted by mistake.
        TokenHash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// How every token `onrust token new` makes begins, so that a token is never
/// mistaken for a hash (both would otherwise be 64 hex digits) and secret
/// scanners can recognise one.
pub const TOKEN_PREFIX: &str = "onrust_";

/// Checks a token's name: 1 to 64 of `a-z`, `0-9`, `.`, `_`, `-`; `monitor` is
/// the `http.token_file` token's.
pub fn check_token_name(name: &str) -> Result<(), String> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if name.is_empty() || name.len() > 64 || !ok_chars {
        return Err(format!("token name {name:?} must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-'"));
    }
    if name == MONITOR_NAME {
        return Err(format!("the token name {MONITOR_NAME:?} is reserved for http.token_file"));
    }
    Ok(())
}

/// The name the `http.token_file` token goes by.
pub const MONITOR_NAME: &str = "monitor";

/// Which municipalities a token's alerts are about.
///
/// A municipality's officer sees its own alerts and the regional ones (a
/// regional alert concerns every municipality in the region), and may change
/// (acknowledge, confirm, dismiss, silence) only its own. Whoever else sees an
/// alert of another municipality is answered as if it did not exist (404),
/// so a scoped token cannot even learn that one is active.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// The whole region: every alert, regional ones included.
    #[default]
    Region,
    /// These municipalities (never empty).
    Municipalities(Vec<MunicipalityCode>),
}

impl Scope {
    /// Whether an alert about `municipality` (`None`: regional) may be read.
    pub fn may_read(&self, municipality: Option<&MunicipalityCode>) -> bool {
        match (self, municipality) {
            (Scope::Region, _) | (Scope::Municipalities(_), None) => true,
            (Scope::Municipalities(codes), Some(m)) => codes.contains(m),
        }
    }

    /// Whether an alert about `municipality` may be changed; a regional alert only region-wide.
    pub fn may_change(&self, municipality: Option<&MunicipalityCode>) -> bool {
        match (self, municipality) {
            (Scope::Region, _) => true,
            (Scope::Municipalities(_), None) => false,
            (Scope::Municipalities(codes), Some(m)) => codes.contains(m),
        }
    }

    /// The municipalities, when the scope is limited.
    pub fn municipalities(&self) -> Option<&[MunicipalityCode]> {
        match self {
            Scope::Region => None,
            Scope::Municipalities(codes) => Some(codes),
        }
    }
}

/// A configured token: who holds it, their role, the token's hash, and the
/// municipalities its alerts are limited to.
#[derive(Debug, Clone)]
pub struct Credential {
    pub name: String,
    pub role: Role,
    pub hash: TokenHash,
    pub scope: Scope,
}

/// Who a request comes from, as its token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name; the audit log's `who`.
    pub name: String,
    pub role: Role,
    /// Which municipalities' alerts the holder sees and changes.
    pub scope: Scope,
}

/// Why a set of tokens cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("{0}")]
    BadName(String),
    #[error("token name {0:?} is used twice; names must be unique")]
    DuplicateName(String),
    #[error("tokens {first:?} and {second:?} have the same hash; give each holder their own token")]
    DuplicateToken { first: String, second: String },
    #[error("token {0:?} is limited to no municipality; leave `municipalities` out for the whole region")]
    EmptyScope(String),
}

/// Every token the listener knows, hashed.
#[derive(Debug, Default)]
pub struct AccessControl {
    monitor: Option<TokenHash>,
    credentials: Vec<Credential>,
}

impl AccessControl {
    /// `monitor` is the `http.token_file` token: when set, the operational
    /// endpoints need it (or another token allowed [`Permission::Metrics`]).
    pub fn new(monitor: Option<TokenHash>, credentials: Vec<Credential>) -> Result<Self, AccessError> {
        let mut names = HashSet::new();
        let mut hashes: Vec<(&str, &TokenHash)> = monitor.iter().map(|h| (MONITOR_NAME, h)).collect();
        for credential in &credentials {
            check_token_name(&credential.name).map_err(AccessError::BadName)?;
            if credential.scope.municipalities().is_some_and(<[_]>::is_empty) {
                return Err(AccessError::EmptyScope(credential.name.clone()));
            }
            if !names.insert(credential.name.as_str()) {
                return Err(AccessError::DuplicateName(credential.name.clone()));
            }
            if let Some((first, _)) = hashes.iter().find(|(_, h)| **h == credential.hash) {
                return Err(AccessError::DuplicateToken {
                    first: (*first).to_owned(),
                    second: credential.name.clone(),
                });
            }
            hashes.push((&credential.name, &credential.hash));
        }
        Ok(Self { monitor, credentials })
    }

    /// Whether `/healthz`, `/readyz` and `/metrics` need a token (a monitor
    /// token is configured: the listener is not loopback-only).
    pub fn operations_need_token(&self) -> bool {
        self.monitor.is_some()
    }

    /// The holder of `presented`, if it is a known token. Every stored hash
    /// is compared, each in constant time, whichever matches.
    pub fn identify(&self, presented: &str) -> Option<Principal> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        if let Some(monitor) = &self.monitor
            && monitor.matches_digest(&digest)
        {
            found = Some(Principal { name: MONITOR_NAME.to_owned(), role: Role::Monitor, scope: Scope::Region });
        }
        for credential in &self.credentials {
            if credential.hash.matches_digest(&digest) && found.is_none() {
                found = Some(Principal {
                    name: credential.name.clone(),
                    role: credential.role,
                    scope: credential.scope.clone(),
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(name: &str, role: Role, token: &str) -> Credential {
        Credential { name: name.into(), role, hash: TokenHash::of(token), scope: Scope::Region }
    }

    #[test]
    fn default_deny_matrix() {
        use Permission::*;
        use Role::*;
        let granted: Vec<(Role, Permission)> = Role::ALL
            .into_iter()
            .flat_map(|r| Permission::ALL.into_iter().map(move |p| (r, p)))
            .filter(|&(r, p)| allows(r, p))
            .collect();
        assert_eq!(
            granted,
            [
                (Officer, Search),
                (Officer, ReadAlerts),
                (Officer, Acknowledge),
                (Analyst, Search),
                (Supervisor, Search),
                (Supervisor, ReadAlerts),
                (Supervisor, Acknowledge),
                (Supervisor, Confirm),
                (Supervisor, Silence),
                (Supervisor, Resend),
                (Supervisor, Halt),
                (Fg, ReadAudit),
                (Fg, Erase),
                (Admin, Metrics),
                (Admin, Resend),
                (Admin, Halt),
                (Admin, Erase),
                (Monitor, Metrics)
            ]
        );
        assert!(!allows(Admin, Search) && !allows(Admin, ReadAudit), "admin sees no content");
        for role in [Analyst, Fg, Admin, Monitor] {
            assert!(!allows(role, ReadAlerts) && !allows(role, Confirm), "{role} has no part in alerts");
        }
        assert!(!allows(Officer, Confirm) && !allows(Officer, Silence), "an officer does not review or silence");
        assert!(!allows(Fg, Search), "the fg reads the audit log and erases on request, and searches nothing");
        for role in [Officer, Analyst, Supervisor, Monitor] {
            assert!(!allows(role, Erase), "{role} does not handle a data subject's request");
        }
        for role in [Officer, Analyst, Fg, Monitor] {
            assert!(!allows(role, Halt), "{role} cannot halt onrust (L13)");
        }
    }

    #[test]
    fn roles_parse_from_config_words_but_monitor_is_not_configurable() {
        for role in Role::CONFIGURABLE {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let err = "monitor".parse::<Role>().unwrap_err();
        assert!(err.contains("officer, analyst, supervisor, fg, admin"), "{err}");
        #[derive(Debug, Deserialize)]
        struct T {
            #[allow(dead_code)]
            role: Role,
        }
        assert!(serde_json::from_str::<T>(r#"{"role": "fg"}"#).is_ok());
        assert!(serde_json::from_str::<T>(r#"{"role": "monitor"}"#).is_err());
    }

    #[test]
    fn identifies_by_token_only() {
        let access = AccessControl::new(
            Some(TokenHash::of("monitor-token-0123456789")),
            vec![credential("analist-utrecht", Role::Analyst, "a-token"), credential("fg.regio", Role::Fg, "f-token")],
        )
        .unwrap();
        assert_eq!(
            access.identify("a-token"),
            Some(Principal { name: "analist-utrecht".into(), role: Role::Analyst, scope: Scope::Region })
        );
        assert_eq!(access.identify("f-token").map(|p| p.role), Some(Role::Fg));
        assert_eq!(access.identify("monitor-token-0123456789").map(|p| p.role), Some(Role::Monitor));
        assert_eq!(access.identify("a-token "), None, "presented tokens are exact");
        assert_eq!(access.identify(""), None);
        assert!(access.operations_need_token());
        assert!(!AccessControl::default().operations_need_token());
    }

    #[test]
    fn a_municipal_scope_reads_its_own_and_regional_alerts_and_changes_only_its_own() {
        let utrecht = MunicipalityCode::new("GM0344").unwrap();
        let almere = MunicipalityCode::new("GM0034").unwrap();
        let scoped = Scope::Municipalities(vec![utrecht.clone()]);
        assert!(scoped.may_read(Some(&utrecht)) && scoped.may_change(Some(&utrecht)));
        assert!(!scoped.may_read(Some(&almere)) && !scoped.may_change(Some(&almere)));
        assert!(scoped.may_read(None), "a regional alert concerns every municipality");
        assert!(!scoped.may_change(None), "only a region-wide token changes a regional alert");
        assert!(Scope::Region.may_read(Some(&almere)) && Scope::Region.may_change(None));
        let mut empty = credential("oov-utrecht", Role::Officer, "t1");
        empty.scope = Scope::Municipalities(vec![]);
        assert_eq!(AccessControl::new(None, vec![empty]).unwrap_err(), AccessError::EmptyScope("oov-utrecht".into()));
        let mut officer = credential("oov-utrecht", Role::Officer, "t2");
        officer.scope = scoped.clone();
        let access = AccessControl::new(None, vec![officer]).unwrap();
        assert_eq!(access.identify("t2").map(|p| p.scope), Some(scoped), "the principal carries the token's scope");
    }

    #[test]
    fn names_and_tokens_must_be_unique_and_well_formed() {
        let dup_name =
            AccessControl::new(None, vec![credential("a", Role::Analyst, "t1"), credential("a", Role::Fg, "t2")]);
        assert_eq!(dup_name.unwrap_err(), AccessError::DuplicateName("a".into()));
        let dup_token = AccessControl::new(Some(TokenHash::of("t1")), vec![credential("a", Role::Analyst, "t1")]);
        assert!(matches!(dup_token, Err(AccessError::DuplicateToken { .. })));
        for bad in ["", "Analist", "a b", "a/b", "monitor", &"x".repeat(65)] {
            assert!(check_token_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_token_name("analist-utrecht.2_b").is_ok());
    }

    #[test]
    fn hashes_read_from_hex_and_refuse_the_token_itself() {
        let hash = TokenHash::of("onrust_abc");
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Ok(hash.clone()));
        assert_eq!(TokenHash::from_hex(&hash.to_hex().to_uppercase()), Ok(hash));
        assert_eq!(
            TokenHash::from_hex(&format!("{TOKEN_PREFIX}{}", "ab".repeat(32))),
            Err(TokenHashError::TokenItself)
        );
        assert_eq!(TokenHash::from_hex("abc"), Err(TokenHashError::NotHex));
        assert_eq!(TokenHash::from_hex(&"zz".repeat(32)), Err(TokenHashError::NotHex));
        assert_eq!(format!("{:?}", TokenHash::of("abc")), "TokenHash(<redacted>)");
    }
}
