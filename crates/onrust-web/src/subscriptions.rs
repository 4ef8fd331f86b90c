//! Feed subscriptions: a secret address per recipient for the Atom feed of
//! alerts and the iCalendar of announced actions (issue 16).
//!
//! Calendar and feed readers cannot send a bearer header, so the secret is
//! the address itself: `/feeds/<token>/alerts.atom` and
//! `/feeds/<token>/actions.ics`, with a token of 256 random bits
//! (`onrust_feed_` and 64 hex digits). Each recipient gets their own, so one
//! can be revoked without the others and the audit log says whose address
//! was used (`feed:<recipient>`).
//!
//! Only the token's SHA-256 is kept, in `<data_dir>/feeds.json` (mode 0600,
//! beside the console's accounts and for the same reason: not in the
//! configuration, which is often in version control). `onrust feed add`
//! prints the token once; `onrust feed revoke` marks a subscription revoked
//! (kept for the record); the daemon reads the file again when it changes,
//! so a revoked address answers 404 at its next use. A presented token is
//! hashed and compared with every stored hash in constant time, and never
//! written to a log, an error or the audit log.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{Role, Scope, TokenHash, check_token_name};

/// The subscriptions file's name inside the data folder.
pub const FEEDS_FILE: &str = "feeds.json";

/// How every feed token begins: recognisable to secret scanners, and never
/// mistaken for an API token (`onrust_` and 64 hex digits).
pub const FEED_TOKEN_PREFIX: &str = "onrust_feed_";

/// The place word of the feed of every alert in the region (supervisors only).
pub const ALL_PLACES: &str = "alle";

/// What a subscription shows: one municipality's alerts, the region-wide
/// ones (`regio`), those without a known place (`onbekend`), or every alert
/// in the region (`alle`, for supervisors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedPlace {
    Municipality(MunicipalityCode),
    Region,
    Unplaced,
    All,
}

impl FeedPlace {
    /// Reads a place word: a CBS code (`GM0344`, `0344`), `regio`, `onbekend` or `alle`.
    pub fn parse(word: &str) -> Result<Self, String> {
        match word {
            "regio" => Ok(Self::Region),
            onrust_alert::UNPLACED_LABEL => Ok(Self::Unplaced),
            ALL_PLACES => Ok(Self::All),
            _ => MunicipalityCode::new(word.to_owned()).map(Self::Municipality).map_err(|_| {
                format!(
                    "{word:?} is not a feed's place: a CBS code such as GM0344, regio, {} or {ALL_PLACES}",
                    onrust_alert::UNPLACED_LABEL
                )
            }),
        }
    }

    /// The word the place is written as.
    pub fn word(&self) -> &str {
        match self {
            Self::Municipality(code) => code.as_str(),
            Self::Region => "regio",
            Self::Unplaced => onrust_alert::UNPLACED_LABEL,
            Self::All => ALL_PLACES,
        }
    }

    /// The alert renderers' view of it, with the municipality's name.
    pub fn for_feed<'a>(&'a self, name: &'a str) -> onrust_alert::render::FeedPlace<'a> {
        use onrust_alert::render::FeedPlace as P;
        match self {
            Self::Municipality(code) => P::Municipality(code, name),
            Self::Region => P::Region,
            Self::Unplaced => P::Unplaced,
            Self::All => P::All,
        }
    }

    /// Which alerts a holder of this subscription may read (the same [`Scope`] as a token's).
    pub fn scope(&self) -> Scope {
        match self {
            Self::Municipality(code) => Scope::Municipalities(vec![code.clone()]),
            Self::Region | Self::Unplaced | Self::All => Scope::Region,
        }
    }
}

impl Serialize for FeedPlace {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.word())
    }
}

impl<'de> Deserialize<'de> for FeedPlace {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        Self::parse(&word).map_err(serde::de::Error::custom)
    }
}

/// One subscription as stored: whose, what it shows, and the token's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// A short random id to list and revoke it by (never part of the address).
    pub id: String,
    /// Who holds the address: `[a-z0-9._-]`; the audit log's `who` is `feed:<recipient>`.
    pub recipient: String,
    /// `officer` or `supervisor`.
    pub role: Role,
    pub place: FeedPlace,
    /// SHA-256 of the token, 64 hex digits.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Set by `onrust feed revoke`: the address answers 404 from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Subscription {
    /// The audit log's `who` for a use of this address.
    pub fn who(&self) -> String {
        format!("feed:{}", self.recipient)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    feeds: Vec<Subscription>,
}

/// Why the subscriptions file or a subscription is not usable.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error("feed subscriptions file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("feed subscriptions file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("no randomness for a feed token: {0}")]
    Random(#[source] getrandom::Error),
}

/// A new subscription and its token, which exists only until it is shown.
#[derive(Debug)]
pub struct NewSubscription {
    pub subscription: Subscription,
    /// `onrust_feed_` and 64 hex digits; shown once, never stored.
    pub token: String,
}

/// The subscriptions file: read, change, write (`onrust feed`).
#[derive(Debug)]
pub struct SubscriptionFile {
    path: PathBuf,
    feeds: Vec<Subscription>,
}

impl SubscriptionFile {
    /// The file in `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(FEEDS_FILE)
    }

    /// Reads the file; a missing file is no subscriptions. Every entry is
    /// checked, and every problem is reported at once.
    pub fn open(path: &Path) -> Result<Self, SubscriptionError> {
        let feeds = crate::stored::read::<Stored>(path)
            .map_err(|e| match e {
                crate::stored::ReadError::Io(source) => SubscriptionError::Io { path: path.to_owned(), source },
                crate::stored::ReadError::Parse(source) => SubscriptionError::Parse { path: path.to_owned(), source },
            })?
            .feeds;
        let problems = crate::stored::entry_problems("feeds", "id", &feeds, |f| &f.id, check);
        if !problems.is_empty() {
            return Err(SubscriptionError::Invalid(format!(
                "feed subscriptions file {}: {}",
                path.display(),
                problems.join("; ")
            )));
        }
        Ok(Self { path: path.to_owned(), feeds })
    }

    pub fn subscriptions(&self) -> &[Subscription] {
        &self.feeds
    }

    /// Makes a subscription for `recipient` with a fresh token. The caller
    /// saves the file and shows the token once.
    pub fn add(
        &mut self,
        recipient: &str,
        role: Role,
        place: FeedPlace,
        now: DateTime<Utc>,
    ) -> Result<NewSubscription, SubscriptionError> {
        let token = format!("{FEED_TOKEN_PREFIX}{}", hex::encode(random::<32>()?));
        let mut id = hex::encode(random::<4>()?);
        while self.feeds.iter().any(|f| f.id == id) {
            id = hex::encode(random::<4>()?);
        }
        let subscription = Subscription {
            id,
            recipient: recipient.to_owned(),
            role,
            place,
            sha256: TokenHash::of(&token).to_hex(),
            created_at: now,
            revoked_at: None,
        };
        check(&subscription).map_err(SubscriptionError::Invalid)?;
        self.feeds.push(subscription.clone());
        Ok(NewSubscription { subscription, token })
    }

    /// Revokes the subscription `id`, or every one of the recipient `id`
    /// names; returns those revoked now (an error when none matches).
    pub fn revoke(&mut self, id: &str, now: DateTime<Utc>) -> Result<Vec<Subscription>, SubscriptionError> {
        let mut revoked = Vec::new();
        for feed in self.feeds.iter_mut().filter(|f| f.id == id || f.recipient == id) {
            if feed.revoked_at.is_none() {
                feed.revoked_at = Some(now);
                revoked.push(feed.clone());
            }
        }
        if revoked.is_empty() {
            let known = self.feeds.iter().any(|f| f.id == id || f.recipient == id);
            return Err(SubscriptionError::Invalid(if known {
                format!("the feed subscriptions of {id:?} are revoked already")
            } else {
                format!("there is no feed subscription with id or recipient {id:?} (onrust feed list shows them)")
            }));
        }
        Ok(revoked)
    }

    /// Writes the file atomically and durably, readable by its owner only.
    pub fn save(&self) -> Result<(), SubscriptionError> {
        crate::stored::write(&self.path, &Stored { feeds: self.feeds.clone() })
            .map_err(|source| SubscriptionError::Io { path: self.path.clone(), source })
    }
}

fn random<const N: usize>() -> Result<[u8; N], SubscriptionError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(SubscriptionError::Random)?;
    Ok(bytes)
}

/// What a subscription must be: a well-formed recipient name, the role of
/// someone who reads alerts, the feed of every alert for supervisors only,
/// a hash.
fn check(feed: &Subscription) -> Result<(), String> {
    check_token_name(&feed.recipient).map_err(|e| e.replace("token name", "recipient"))?;
    if !matches!(feed.role, Role::Officer | Role::Supervisor) {
        return Err(format!("feeds are for officers and supervisors, not {}", feed.role));
    }
    if feed.place == FeedPlace::All && feed.role != Role::Supervisor {
        return Err(format!("the feed of every alert in the region ({ALL_PLACES}) is for supervisors"));
    }
    TokenHash::from_hex(&feed.sha256).map_err(|e| format!("sha256: {e}"))?;
    if feed.id.is_empty() || !feed.id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the id is hexadecimal digits".into());
    }
    Ok(())
}

/// The subscriptions as the daemon sees them: the file, read again when it
/// changes (a revocation takes effect without a restart).
#[derive(Debug)]
pub struct Subscriptions {
    path: Option<PathBuf>,
    cache: Mutex<(Option<SystemTime>, Vec<Subscription>)>,
}

impl Subscriptions {
    /// The subscriptions in `path`, read now (so a broken file stops the start).
    pub fn load(path: &Path) -> Result<Self, SubscriptionError> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let feeds = SubscriptionFile::open(path)?.feeds;
        Ok(Self { path: Some(path.to_owned()), cache: Mutex::new((modified, feeds)) })
    }

    /// Fixed subscriptions, never read from a file (tests).
    pub fn fixed(feeds: Vec<Subscription>) -> Self {
        Self { path: None, cache: Mutex::new((None, feeds)) }
    }

    /// No subscriptions: every feed address answers 404.
    pub fn none() -> Self {
        Self::fixed(Vec::new())
    }

    /// The subscriptions now: read again when the file's modification time
    /// changed. A file that became unreadable serves nobody (fail closed).
    fn current(&self) -> Vec<Subscription> {
        let Ok(mut cache) = self.cache.lock() else { return Vec::new() };
        let Some(path) = &self.path else { return cache.1.clone() };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified != cache.0 {
            match SubscriptionFile::open(path) {
                Ok(file) => *cache = (modified, file.feeds),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the feed subscriptions; no feed address works until it is fixed");
                    *cache = (modified, Vec::new());
                }
            }
        }
        cache.1.clone()
    }

    /// The subscription whose token `presented` is, unless revoked. Every
    /// stored hash is compared, each in constant time, whichever matches.
    pub fn find(&self, presented: &str) -> Option<Subscription> {
        if !presented.starts_with(FEED_TOKEN_PREFIX) {
            return None;
        }
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for feed in self.current() {
            let matches = TokenHash::from_hex(&feed.sha256).is_ok_and(|hash| hash.matches_digest(&digest));
            if matches && feed.revoked_at.is_none() && found.is_none() {
                found = Some(feed);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utrecht() -> FeedPlace {
        FeedPlace::Municipality(MunicipalityCode::new("GM0344").unwrap())
    }

    #[test]
    fn a_token_is_shown_once_kept_as_its_hash_and_found_until_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let path = SubscriptionFile::path_in(dir.path());
        let mut file = SubscriptionFile::open(&path).unwrap();
        assert!(file.subscriptions().is_empty(), "no file, no subscriptions");
        let now = Utc::now();
        let officer = file.add("oov-utrecht", Role::Officer, utrecht(), now).unwrap();
        let chef = file.add("chef-van-dienst", Role::Supervisor, FeedPlace::All, now).unwrap();
        file.save().unwrap();
        assert!(officer.token.starts_with(FEED_TOKEN_PREFIX) && officer.token.len() == FEED_TOKEN_PREFIX.len() + 64);
        assert_ne!(officer.token, chef.token);
        let stored = std::fs::read_to_string(&path).unwrap();
        assert!(!stored.contains(&officer.token) && !stored.contains(&officer.token[FEED_TOKEN_PREFIX.len()..]));
        assert!(stored.contains(&TokenHash::of(&officer.token).to_hex()), "{stored}");
        assert!(stored.contains("\"place\": \"GM0344\"") && stored.contains("\"place\": \"alle\""), "{stored}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }

        let feeds = Subscriptions::load(&path).unwrap();
        let found = feeds.find(&officer.token).unwrap();
        assert_eq!((found.recipient.as_str(), found.who()), ("oov-utrecht", "feed:oov-utrecht".to_owned()));
        assert_eq!(found.place.scope(), Scope::Municipalities(vec![MunicipalityCode::new("GM0344").unwrap()]));
        assert_eq!(feeds.find(&chef.token).map(|f| f.place), Some(FeedPlace::All));
        assert!(feeds.find("onrust_feed_0000").is_none());
        assert!(feeds.find(&officer.token[..officer.token.len() - 1]).is_none(), "exact tokens only");
        assert!(feeds.find(&TokenHash::of(&officer.token).to_hex()).is_none(), "the hash is no token");

        // Revoked by the CLI in another process: the daemon sees it at the next use.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut file = SubscriptionFile::open(&path).unwrap();
        let revoked = file.revoke(&officer.subscription.id, Utc::now()).unwrap();
        assert_eq!(revoked.len(), 1);
        file.save().unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert!(feeds.find(&officer.token).is_none(), "revoked");
        assert!(feeds.find(&chef.token).is_some(), "the others are untouched");
        let again = file.revoke(&officer.subscription.id, Utc::now()).unwrap_err().to_string();
        assert!(again.contains("revoked already"), "{again}");
        assert!(file.revoke("niemand", Utc::now()).unwrap_err().to_string().contains("no feed subscription"));
        // By recipient: all of theirs.
        file.add("chef-van-dienst", Role::Supervisor, FeedPlace::Region, Utc::now()).unwrap();
        assert_eq!(file.revoke("chef-van-dienst", Utc::now()).unwrap().len(), 2);
    }

    #[test]
    fn bad_subscriptions_are_refused_with_every_problem_named() {
        let mut file = SubscriptionFile::open(Path::new("/nonexistent-dir/feeds.json")).unwrap();
        let now = Utc::now();
        let all = file.add("oov-regio", Role::Officer, FeedPlace::All, now).unwrap_err().to_string();
        assert!(all.contains("is for supervisors"), "{all}");
        let analyst = file.add("analist", Role::Analyst, FeedPlace::Region, now).unwrap_err().to_string();
        assert!(analyst.contains("for officers and supervisors"), "{analyst}");
        let name = file.add("Oov Utrecht", Role::Officer, utrecht(), now).unwrap_err().to_string();
        assert!(name.contains("recipient"), "{name}");
        assert!(file.subscriptions().is_empty(), "nothing refused was added");
        for (word, place) in [("0344", utrecht()), ("regio", FeedPlace::Region), ("onbekend", FeedPlace::Unplaced)] {
            assert_eq!(FeedPlace::parse(word).unwrap(), place);
        }
        assert!(FeedPlace::parse("utrecht").unwrap_err().contains("CBS code"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FEEDS_FILE);
        let hash = TokenHash::of("onrust_feed_x").to_hex();
        let entry = |id: &str, role: &str, place: &str| {
            serde_json::json!({"id": id, "recipient": "oov", "role": role, "place": place, "sha256": hash,
                "created_at": "2026-12-30T20:00:00Z"})
        };
        std::fs::write(
            &path,
            serde_json::json!({"feeds": [entry("aa", "officer", "GM0344"), entry("aa", "officer", "regio"),
                entry("bb", "officer", "alle")]})
            .to_string(),
        )
        .unwrap();
        let message = SubscriptionFile::open(&path).unwrap_err().to_string();
        assert!(message.contains("feeds[1]: the id \"aa\" is used twice"), "{message}");
        assert!(message.contains("feeds[2] (\"bb\")") && message.contains("for supervisors"), "{message}");
        std::fs::write(&path, r#"{"feeds": [], "extra": 1}"#).unwrap();
        assert!(matches!(SubscriptionFile::open(&path), Err(SubscriptionError::Parse { .. })));
    }
}
