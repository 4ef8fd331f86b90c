//! Collecting the configuration's problems: every one is kept, with the
//! file and the key, so a person can fix the whole file in one go.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use onrust_model::Problem;
use serde::de::DeserializeOwned;

use super::paths::PathBase;
use super::places::Places;

/// Every problem found, in file order, each with the file and a key (`-`
/// for the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} in the configuration:", onrust_model::problem_count(self.0.len()))?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// What one validation pass has found so far, and what the checks need to know.
pub(super) struct Collector {
    file: PathBuf,
    problems: Vec<Problem>,
    /// The municipalities an entry may name.
    pub places: Places,
    /// What relative paths are relative to.
    pub paths: PathBase,
}

impl Collector {
    pub fn new(file: &Path) -> Self {
        Self { file: file.to_owned(), problems: Vec::new(), places: Places::default(), paths: PathBase::of(file) }
    }

    pub fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::in_file(self.file.clone(), key, message));
    }

    /// Records `problem`, found inside the entry `prefix` (`sources[3]`), under that entry.
    pub fn push_within(&mut self, prefix: &str, problem: Problem) {
        self.problems.push(problem.within(self.file.clone(), prefix));
    }

    /// `value` of `key` must lie within `min..=max`.
    pub fn duration_within(&mut self, key: &str, value: Duration, min: Duration, max: Duration) {
        if value < min || value > max {
            self.push(
                key,
                format!("must be between {} and {}", humantime::format_duration(min), humantime::format_duration(max)),
            );
        }
    }

    /// Deserialises one section, recording its error instead of stopping.
    pub fn section<T: DeserializeOwned + Default>(&mut self, table: &mut toml::Table, key: &str) -> T {
        match table.remove(key) {
            None => T::default(),
            Some(value) => self.value(key, value).unwrap_or_default(),
        }
    }

    pub fn value<T: DeserializeOwned>(&mut self, key: &str, value: toml::Value) -> Option<T> {
        match T::deserialize(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(key, e.message().trim_end_matches('.').to_owned());
                None
            }
        }
    }

    /// Takes the array of tables `[[key]]` out of `table`, each entry to be
    /// read on its own; anything else under `key` is reported.
    pub fn entries(&mut self, table: &mut toml::Table, key: &str) -> Vec<toml::Value> {
        match table.remove(key) {
            None => Vec::new(),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => {
                self.push(key, format!("must be an array of tables: [[{key}]]"));
                Vec::new()
            }
        }
    }

    pub fn into_errors(self) -> ConfigErrors {
        ConfigErrors(self.problems)
    }

    /// The configuration when nothing was found wrong, else every problem.
    pub fn finish<T>(self, config: T) -> Result<T, ConfigErrors> {
        if self.problems.is_empty() { Ok(config) } else { Err(self.into_errors()) }
    }
}
