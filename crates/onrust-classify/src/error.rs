//! Configuration errors: all problems at once, each naming where it is.

use std::fmt;
use std::path::Path;

/// One thing wrong with the classifier configuration: the file (or
/// `languages` / `deny_terms` for the configuration itself), where in it (a
/// key, a term, `line N`; empty for the whole file) and what is wrong.
pub use onrust_model::Problem as ConfigProblem;

/// Everything that stopped [`crate::Classifier::load`], collected in one pass
/// so a person can fix a lexicon in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifyConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ClassifyConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in the classifier configuration:", onrust_model::problem_count(self.problems.len()))?;
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
        self.0.push(ConfigProblem::in_file(file, location, message));
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
