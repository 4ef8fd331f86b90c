//! Secrets read from files: the SMTP password, the webhooks' signing keys (S9).

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret read from a file (S9): it prints `<redacted>` in every `Debug`
/// and `Display`, so it cannot leak through logs, errors or panics.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Reads a secret from a file; one trailing newline is removed because
    /// `echo pw > file` is how most people write one.
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let raw =
            std::fs::read_to_string(path).map_err(|source| SecretError::Read { path: path.to_path_buf(), source })?;
        let value = raw.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(&raw);
        if value.is_empty() {
            return Err(SecretError::Empty { path: path.to_path_buf() });
        }
        Ok(Self(value.to_owned()))
    }

    /// The secret itself, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("secret file {path} is empty")]
    Empty { path: PathBuf },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("canary-pw-8b1f");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "canary-pw-8b1f");
    }

    #[test]
    fn secret_from_file_strips_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "geheim\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "geheim");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(Secret::from_file(&p), Err(SecretError::Empty { .. })));
    }
}
