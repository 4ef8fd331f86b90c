//! `[classify]`: the lexicons, the gazetteer, the escalation model and the languages.

use std::path::PathBuf;

use serde::Deserialize;

use super::Collector;
use super::paths::PathBase;

/// `[classify]`: lexicons and languages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyConfig {
    /// Languages the detector may answer (ISO 639-1).
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// Folder of theme lexicons, relative to the config file's folder.
    #[serde(default = "default_themes_dir")]
    pub themes_dir: PathBuf,
    /// The woonplaats → municipality table, relative to the config file's folder.
    #[serde(default = "default_gazetteer")]
    pub gazetteer: PathBuf,
    /// Extra terms no lexicon may contain (rule L11), on top of the built-in list.
    #[serde(default)]
    pub deny_terms: Vec<String>,
    /// Folder of escalation signal lexicons, relative to the config file's folder.
    #[serde(default = "default_signals_dir")]
    pub signals_dir: PathBuf,
    /// The escalation model (weights, level thresholds), relative to the config file's folder.
    #[serde(default = "default_escalation")]
    pub escalation: PathBuf,
}

fn default_languages() -> Vec<String> {
    ["nl", "en", "de", "fr"].map(str::to_owned).to_vec()
}
fn default_themes_dir() -> PathBuf {
    PathBuf::from("themes")
}
fn default_signals_dir() -> PathBuf {
    PathBuf::from("signals")
}
fn default_escalation() -> PathBuf {
    PathBuf::from("escalation.toml")
}
fn default_gazetteer() -> PathBuf {
    PathBuf::from("gazetteer/woonplaatsen-gemeenten-2024.csv")
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        Self {
            languages: default_languages(),
            themes_dir: default_themes_dir(),
            gazetteer: default_gazetteer(),
            deny_terms: Vec::new(),
            signals_dir: default_signals_dir(),
            escalation: default_escalation(),
        }
    }
}

impl ClassifyConfig {
    /// Makes every path absolute against the config file's folder.
    pub(super) fn resolve_paths(&mut self, base: &PathBase) {
        for path in [&mut self.themes_dir, &mut self.gazetteer, &mut self.signals_dir, &mut self.escalation] {
            *path = base.resolve(path);
        }
    }

    /// The lexicon folders and files exist (what is in them the classifier checks when it loads).
    pub(super) fn validate(&self, c: &mut Collector) {
        let folders = [("classify.themes_dir", &self.themes_dir), ("classify.signals_dir", &self.signals_dir)];
        for (key, path) in folders {
            if !path.is_dir() {
                c.push(key, format!("{} is not a folder", path.display()));
            }
        }
        let files = [("classify.escalation", &self.escalation), ("classify.gazetteer", &self.gazetteer)];
        for (key, path) in files {
            if !path.is_file() {
                c.push(key, format!("{} is not a file", path.display()));
            }
        }
    }
}
