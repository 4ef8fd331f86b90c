use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a string is not a valid identifier.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("source id {0:?} must be 1 to 64 characters of a-z, 0-9, '_' or '-'")]
    Source(String),
    #[error("municipality code {0:?} must be \"GM\" followed by four digits, such as GM0344")]
    Municipality(String),
    #[error("message id {0:?} must be 1 to 128 characters of a-z, A-Z, 0-9, '_', '-', ':' or '.'")]
    Message(String),
}

/// The stable id of a configured source: `[a-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceId(String);

impl SourceId {
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        let valid = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid { Ok(Self(id)) } else { Err(IdError::Source(id)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SourceId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<SourceId> for String {
    fn from(value: SourceId) -> Self {
        value.0
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A CBS municipality code such as `GM0344` (Utrecht).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MunicipalityCode(String);

impl MunicipalityCode {
    /// Accepts `GM0344`, and the bare CBS number `0344` or `344` as CBS tables print it.
    pub fn new(code: impl Into<String>) -> Result<Self, IdError> {
        let code = code.into();
        let digits = code.strip_prefix("GM").unwrap_or(&code);
        if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::Municipality(code));
        }
        Ok(Self(format!("GM{digits:0>4}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MunicipalityCode {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<MunicipalityCode> for String {
    fn from(value: MunicipalityCode) -> Self {
        value.0
    }
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stable id of a message: the same item from the same source always has
/// the same id, so every sink can be idempotent by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageId(String);

impl MessageId {
    /// An id given from outside (replay files, the classifier contract).
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        let valid = !id.is_empty()
            && id.len() <= 128
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'));
        if valid { Ok(Self(id)) } else { Err(IdError::Message(id)) }
    }

    /// The id of an item from a source, derived from the source id and the
    /// item's own dedup key: `<source>:<first 24 hex digits of sha256>`.
    pub fn derive(source: &SourceId, dedup_key: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(source.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(dedup_key.as_bytes());
        let digest = hasher.finalize();
        Self(format!("{}:{}", source.as_str(), &hex::encode(digest)[..24]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MessageId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<MessageId> for String {
    fn from(value: MessageId) -> Self {
        value.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A keyed pseudonym of an author (rule L2): hex of
/// `HMAC-SHA256(period key, platform:author)`. Only ingest makes these; the
/// raw handle never leaves it. Used only to count distinct authors.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pseudonym(String);

impl Pseudonym {
    /// Wraps an already computed pseudonym (hex digest).
    pub fn from_digest_hex(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print even the pseudonym in debug output; logs must not carry it.
        f.write_str("Pseudonym(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_ids_are_restricted() {
        assert!(SourceId::new("rtv-utrecht_1").is_ok());
        assert!(SourceId::new("").is_err());
        assert!(SourceId::new("RTV").is_err());
        assert!(SourceId::new("a b").is_err());
        assert!(SourceId::new("a".repeat(65)).is_err());
    }

    #[test]
    fn municipality_codes_are_normalised() {
        assert_eq!(MunicipalityCode::new("344").map(|c| c.0), Ok("GM0344".to_owned()));
        assert_eq!(MunicipalityCode::new("GM0344").map(|c| c.0), Ok("GM0344".to_owned()));
        assert!(MunicipalityCode::new("GM").is_err());
        assert!(MunicipalityCode::new("GM03444").is_err());
        assert!(MunicipalityCode::new("utrecht").is_err());
    }

    #[test]
    fn derived_message_ids_are_stable_and_distinct() -> Result<(), IdError> {
        let a = SourceId::new("a")?;
        let b = SourceId::new("b")?;
        assert_eq!(MessageId::derive(&a, "x"), MessageId::derive(&a, "x"));
        assert_ne!(MessageId::derive(&a, "x"), MessageId::derive(&b, "x"));
        assert_ne!(MessageId::derive(&a, "x"), MessageId::derive(&a, "y"));
        assert!(MessageId::new(MessageId::derive(&a, "x").0).is_ok());
        Ok(())
    }

    #[test]
    fn pseudonym_debug_is_opaque() {
        let p = Pseudonym::from_digest_hex("abcdef".into());
        assert!(!format!("{p:?}").contains("abcdef"));
    }
}
