//! One thing wrong with a configuration, the same type wherever one is
//! validated (the configuration file, the classifier's lexicons, the alert
//! rules, a source kind's keys): where it is and what is wrong, so every
//! problem can be collected and reported at once.

use std::fmt;
use std::path::PathBuf;

/// One problem: the file it is in (when known), the place in it, and what is wrong.
///
/// Shown as `file: key: message`; the file and the key are left out when
/// there is none, so a lexicon file as a whole reads `file: message` and a
/// problem found before its file is known reads `key: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file; `None` while the problem is not yet tied to one (a rule or a
    /// source kind checked on its own, whose caller adds the file).
    pub file: Option<PathBuf>,
    /// Where in the file: a key (`sources[2].url`), a term, `line N`; empty
    /// when the whole file is meant.
    pub key: String,
    /// What is wrong, and where it helps, what to do instead.
    pub message: String,
}

impl Problem {
    /// A problem at `key`, not yet tied to a file.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: None, key: key.into(), message: message.into() }
    }

    /// A problem at `key` in `file`.
    pub fn in_file(file: impl Into<PathBuf>, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: Some(file.into()), key: key.into(), message: message.into() }
    }

    /// The same problem found inside `prefix` (`sources[3]` for a source kind's
    /// `url`) of `file`: its key becomes `sources[3].url`.
    pub fn within(self, file: impl Into<PathBuf>, prefix: &str) -> Self {
        let key = match (prefix.is_empty(), self.key.is_empty()) {
            (true, _) => self.key,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{}", self.key),
        };
        Self { file: Some(file.into()), key, message: self.message }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// "1 problem" or "3 problems": the head line of a list of problems.
pub fn problem_count(n: usize) -> String {
    format!("{n} problem{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_names_its_file_and_key_when_it_has_them() {
        assert_eq!(
            Problem::in_file("onrust.toml", "data_dir", "is gone").to_string(),
            "onrust.toml: data_dir: is gone"
        );
        assert_eq!(Problem::in_file("themes/a.toml", "", "cannot read").to_string(), "themes/a.toml: cannot read");
        assert_eq!(Problem::new("rules[0].name", "bad").to_string(), "rules[0].name: bad");
    }

    #[test]
    fn a_problem_found_inside_an_entry_gets_the_entry_as_prefix() {
        let inner = Problem::new("url", "has no host").within("onrust.toml", "sources[3]");
        assert_eq!(inner.to_string(), "onrust.toml: sources[3].url: has no host");
        let whole = Problem::new("", "unknown variant").within("onrust.toml", "sources[3]");
        assert_eq!(whole.to_string(), "onrust.toml: sources[3]: unknown variant");
        assert_eq!((problem_count(1), problem_count(2)), ("1 problem".to_owned(), "2 problems".to_owned()));
    }
}
