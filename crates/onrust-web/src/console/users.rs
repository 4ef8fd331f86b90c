//! Console accounts: a name, a role, for officers and supervisors their
//! municipalities, and an argon2id hash of the password (never the password).
//!
//! The accounts live in one JSON file in the data folder (`users.json`, see
//! [`USERS_FILE`]), not in the configuration: the configuration is often
//! kept in version control or a configuration-management system, and
//! password hashes do not belong there. `onrust user add` and `onrust user
//! disable` change the file through [`UserFile`] (one atomic, durable write);
//! the daemon reads it again whenever it changed on disk, so a disabled
//! account cannot sign in and its open sessions end at their next request.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};

use crate::auth::{Role, Scope, check_token_name};

/// The accounts file's name inside the data folder.
pub const USERS_FILE: &str = "users.json";

/// Shortest password `onrust user add` accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (hashing an unbounded input is a denial of service).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// One account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The sign-in name, also the audit log's `who`: `[a-z0-9._-]`, unique.
    pub name: String,
    pub role: Role,
    /// CBS codes; present only for officers and supervisors limited to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipalities: Option<Vec<MunicipalityCode>>,
    /// The argon2id hash in PHC form (`$argon2id$v=19$m=…`).
    pub password_hash: String,
    /// A disabled account cannot sign in; its sessions end.
    #[serde(default)]
    pub disabled: bool,
}

impl Account {
    /// Which municipalities the account sees (the same [`Scope`] as a token's).
    pub fn scope(&self) -> Scope {
        match &self.municipalities {
            Some(codes) => Scope::Municipalities(codes.clone()),
            None => Scope::Region,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    users: Vec<Account>,
}

/// Why the accounts file or an account is not usable.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("accounts file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("accounts file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot hash the password: no randomness for the salt: {0}")]
    NoRandomness(#[source] getrandom::Error),
    /// The typed error is kept, though not as a `source()`: password-hash
    /// implements `std::error::Error` only with its `std` feature, which
    /// nothing else here needs.
    #[error("cannot hash the password: {0}")]
    Hash(argon2::password_hash::Error),
}

/// The accounts file: read, change, write.
#[derive(Debug)]
pub struct UserFile {
    path: PathBuf,
    users: Vec<Account>,
}

impl UserFile {
    /// The file in `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(USERS_FILE)
    }

    /// Reads the file; a missing file is no accounts. Every account is
    /// checked, and every problem is reported at once.
    pub fn open(path: &Path) -> Result<Self, UserError> {
        let users = crate::stored::read::<Stored>(path)
            .map_err(|e| match e {
                crate::stored::ReadError::Io(source) => UserError::Io { path: path.to_owned(), source },
                crate::stored::ReadError::Parse(source) => UserError::Parse { path: path.to_owned(), source },
            })?
            .users;
        let problems = crate::stored::entry_problems("users", "name", &users, |a| &a.name, check_account);
        if !problems.is_empty() {
            return Err(UserError::Invalid(format!("accounts file {}: {}", path.display(), problems.join("; "))));
        }
        Ok(Self { path: path.to_owned(), users })
    }

    pub fn accounts(&self) -> &[Account] {
        &self.users
    }

    /// Adds an account, or replaces one of the same name (a new password, role
    /// or municipalities; it is enabled again).
    pub fn upsert(&mut self, account: Account) -> Result<(), UserError> {
        check_account(&account).map_err(UserError::Invalid)?;
        match self.users.iter_mut().find(|a| a.name == account.name) {
            Some(existing) => *existing = account,
            None => self.users.push(account),
        }
        Ok(())
    }

    /// Disables the named account; an error when there is none.
    pub fn disable(&mut self, name: &str) -> Result<(), UserError> {
        let account = self
            .users
            .iter_mut()
            .find(|a| a.name == name)
            .ok_or_else(|| UserError::Invalid(format!("there is no account named {name:?}")))?;
        account.disabled = true;
        Ok(())
    }

    /// Writes the file atomically and durably, readable by its owner only.
    pub fn save(&self) -> Result<(), UserError> {
        crate::stored::write(&self.path, &Stored { users: self.users.clone() })
            .map_err(|source| UserError::Io { path: self.path.clone(), source })
    }
}

/// What an account must be: a well-formed name, a role the console serves,
/// municipalities only for officers and supervisors, an argon2id hash.
fn check_account(account: &Account) -> Result<(), String> {
    check_token_name(&account.name).map_err(|e| e.replace("token name", "account name"))?;
    if !matches!(account.role, Role::Officer | Role::Supervisor | Role::Analyst | Role::Fg) {
        return Err(format!(
            "the console has no pages for the role {}; accounts are officer, supervisor, analyst or fg",
            account.role
        ));
    }
    match &account.municipalities {
        Some(codes) if codes.is_empty() => {
            return Err("lists no municipality; leave the municipalities out for the whole region".into());
        }
        Some(_) if !matches!(account.role, Role::Officer | Role::Supervisor) => {
            return Err(format!(
                "municipalities limit alerts, so only for an officer or supervisor, not {}",
                account.role
            ));
        }
        _ => {}
    }
    let hash =
        PasswordHash::new(&account.password_hash).map_err(|_| "the password hash is not a PHC string".to_owned())?;
    if hash.algorithm.as_str() != "argon2id" {
        return Err("the password hash is not argon2id".into());
    }
    Ok(())
}

/// The argon2id parameters: OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password's length; the message says what is wrong.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("the password must be at least {MIN_PASSWORD_CHARS} characters long"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("the password must be at most {MAX_PASSWORD_CHARS} characters long"));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt, in PHC form.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(UserError::NoRandomness)?;
    let salt = SaltString::encode_b64(&salt).map_err(UserError::Hash)?;
    hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(UserError::Hash)
}

/// Whether `password` matches `phc` (constant time inside argon2).
pub fn verify_password(phc: &str, password: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    PasswordHash::new(phc).is_ok_and(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash no password matches, verified for unknown names so that a wrong
/// name takes as long as a wrong password (no account enumeration by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that is never used").unwrap_or_default())
}

/// The accounts as the daemon sees them: the file, read again when it changes.
#[derive(Debug)]
pub struct Users {
    path: Option<PathBuf>,
    cache: Mutex<(Option<SystemTime>, Vec<Account>)>,
}

impl Users {
    /// The accounts in `path`, read now (so a broken file stops the start).
    pub fn load(path: &Path) -> Result<Self, UserError> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let users = UserFile::open(path)?.users;
        Ok(Self { path: Some(path.to_owned()), cache: Mutex::new((modified, users)) })
    }

    /// Fixed accounts, never read from a file (tests).
    pub fn fixed(users: Vec<Account>) -> Self {
        Self { path: None, cache: Mutex::new((None, users)) }
    }

    /// No accounts: nobody signs in.
    pub fn none() -> Self {
        Self::fixed(Vec::new())
    }

    /// The names of every account (for the start-up check against token names).
    pub fn names(&self) -> Vec<String> {
        self.current().into_iter().map(|a| a.name).collect()
    }

    /// The accounts now: re-read when the file's modification time changed. A
    /// file that became unreadable keeps no one signed in (fail closed).
    fn current(&self) -> Vec<Account> {
        let Ok(mut cache) = self.cache.lock() else { return Vec::new() };
        let Some(path) = &self.path else { return cache.1.clone() };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified != cache.0 {
            match UserFile::open(path) {
                Ok(file) => *cache = (modified, file.users),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the accounts file; nobody can sign in until it is fixed");
                    *cache = (modified, Vec::new());
                }
            }
        }
        cache.1.clone()
    }

    /// The enabled account of this name, if any.
    pub fn enabled(&self, name: &str) -> Option<Account> {
        self.current().into_iter().find(|a| a.name == name && !a.disabled)
    }

    /// The enabled account whose name and password these are. Slow on purpose
    /// (argon2id); call it off the async threads.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<Account> {
        match self.enabled(name) {
            Some(account) if verify_password(&account.password_hash, password) => Some(account),
            Some(_) => None,
            None => {
                let _ = verify_password(decoy_hash(), password);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, role: Role, password: &str) -> Account {
        Account {
            name: name.into(),
            role,
            municipalities: None,
            password_hash: hash_password(password).unwrap(),
            disabled: false,
        }
    }

    #[test]
    fn passwords_are_stored_as_argon2id_and_verified() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batter"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(hash, hash_password("correct horse battery").unwrap(), "every hash has its own salt");
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        assert!(check_password("twelve chars").is_ok());
    }

    #[test]
    fn the_file_round_trips_and_a_changed_file_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = UserFile::path_in(dir.path());
        let mut file = UserFile::open(&path).unwrap();
        assert!(file.accounts().is_empty(), "no file, no accounts");
        let mut officer = account("oov-utrecht", Role::Officer, "wachtwoord-utrecht");
        officer.municipalities = Some(vec![MunicipalityCode::new("GM0344").unwrap()]);
        file.upsert(officer.clone()).unwrap();
        file.save().unwrap();
        let users = Users::load(&path).unwrap();
        assert_eq!(users.authenticate("oov-utrecht", "wachtwoord-utrecht").map(|a| a.scope()), Some(officer.scope()));
        assert_eq!(users.authenticate("oov-utrecht", "wachtwoord-amersfoort"), None);
        assert_eq!(users.authenticate("niemand", "wachtwoord-utrecht"), None);

        // Disabling takes effect without a restart (the modification time changes).
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut file = UserFile::open(&path).unwrap();
        file.disable("oov-utrecht").unwrap();
        file.save().unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert_eq!(users.authenticate("oov-utrecht", "wachtwoord-utrecht"), None, "disabled");
        assert!(file.disable("niemand").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_accounts_are_refused_with_every_problem_named() {
        let mut file = UserFile::open(Path::new("/nonexistent-dir/users.json")).unwrap();
        let admin = account("beheer", Role::Admin, "wachtwoord-beheer");
        assert!(file.upsert(admin).unwrap_err().to_string().contains("no pages for the role admin"));
        let mut analyst = account("analist", Role::Analyst, "wachtwoord-analist");
        analyst.municipalities = Some(vec![MunicipalityCode::new("GM0344").unwrap()]);
        assert!(file.upsert(analyst).unwrap_err().to_string().contains("only for an officer or supervisor"));
        let mut plain = account("Hoofdletter", Role::Fg, "wachtwoord-fg-fg");
        assert!(file.upsert(plain.clone()).unwrap_err().to_string().contains("account name"));
        plain.name = "fg".into();
        plain.password_hash = "plain text".into();
        assert!(file.upsert(plain).unwrap_err().to_string().contains("PHC"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(USERS_FILE);
        let hash = hash_password("wachtwoord-fg-fg").unwrap();
        std::fs::write(
            &path,
            serde_json::json!({"users": [
                {"name": "fg", "role": "fg", "password_hash": hash},
                {"name": "fg", "role": "fg", "password_hash": hash},
                {"name": "x", "role": "admin", "password_hash": hash},
            ]})
            .to_string(),
        )
        .unwrap();
        let message = UserFile::open(&path).unwrap_err().to_string();
        assert!(message.contains("users[1]: the name \"fg\" is used twice"), "{message}");
        assert!(message.contains("users[2] (\"x\")"), "{message}");
        std::fs::write(&path, r#"{"users": [], "extra": 1}"#).unwrap();
        assert!(matches!(UserFile::open(&path), Err(UserError::Parse { .. })));
    }
}
