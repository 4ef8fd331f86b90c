//! Configuration errors: all problems at once, each naming where it is.

use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with the classifier configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file (or `languages` / `deny_terms` for the configuration itself).
    pub file: PathBuf,
    /// Where in the file: a key, a term, `line N`; empty when the whole file is meant.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.location, self.message)
        }
    }
}

/// Everything that stopped [`crate::Classifier::load`], collected in one pass
/// so a person can fix a lexicon in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifyConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ClassifyConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{n} problem{} in the classifier configuration:", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ClassifyConfigError {}

/// Collects problems while loading.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub Vec<ConfigProblem>);

impl Problems {
    pub fn push(&mut self, file: &Path, location: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem { file: file.to_path_buf(), location: location.into(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A TOML parse or schema error, with the line it points at.
    pub fn push_toml(&mut self, file: &Path, source: &str, err: &toml::de::Error) {
        let location = err.span().map(|span| format!("line {}", line_of(source, span.start))).unwrap_or_default();
        self.push(file, location, err.message().trim().to_owned());
    }
}

/// 1-based line number of a byte offset.
pub(crate) fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes().iter().take(offset).filter(|b| **b == b'\n').count() + 1
}
