//! One module per subcommand.

pub mod audit;
pub mod check_config;
pub mod classify;
pub mod eval;
pub mod replay;
pub mod run;
pub mod search;
pub mod token;

use std::path::Path;

use anyhow::Context;
use onrust_classify::{Classifier, ClassifierConfig};

use crate::config::Config;

/// Reads and validates the configuration, printing every problem at once.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|errors| anyhow::anyhow!("{}", errors.to_string().trim_end()))
}

/// Builds the classifier from the lexicons the configuration names.
pub fn load_classifier(config: &Config) -> anyhow::Result<Classifier> {
    let dir = config.config_dir();
    let classifier_config = ClassifierConfig {
        languages: config.classify.languages.clone(),
        themes_dir: dir.join(&config.classify.themes_dir),
        gazetteer_path: dir.join(&config.classify.gazetteer),
        deny_terms: config.classify.deny_terms.clone(),
        signals_dir: dir.join(&config.classify.signals_dir),
        escalation_path: dir.join(&config.classify.escalation),
    };
    Classifier::load(&classifier_config)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("loading the classifier's lexicons")
}

/// Who runs a CLI command, for the audit log.
pub fn cli_user() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}
