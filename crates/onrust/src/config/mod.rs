//! The configuration file: strict TOML, one validation pass that reports
//! every problem at once, each naming the file, the key and what is wrong.
//!
//! Sections are deserialised one by one from a parsed TOML table, so an
//! unknown key in `[http]` does not hide a bad URL in `[[sources]]`. Each
//! section is its own file with its type, defaults and checks; this file
//! composes them in the order the checks need (what names municipalities
//! after what says which there are). Every relative path is relative to
//! the config file's folder (`paths`), resolved as the file is read.

use std::path::{Path, PathBuf};

use onrust_model::Problem;

mod alerts;
mod archive;
mod bus;
mod checks;
mod classify;
mod duration;
mod http;
mod ingest;
mod mandate_checks;
pub mod mandates;
mod paths;
mod places;
mod privacy;
mod problems;
mod recipients;
mod retention;
mod smtp;
mod sources;

pub use alerts::AlertsConfig;
pub use archive::ArchiveConfig;
pub use bus::{BusConfig, BusKind};
pub use checks::read_monitor_token;
pub use classify::ClassifyConfig;
pub use duration::HumanDuration;
pub use http::HttpConfig;
pub use ingest::IngestConfig;
pub use mandates::Mandate;
pub use places::RegionConfig;
pub use privacy::PrivacyConfig;
pub use problems::ConfigErrors;
pub use recipients::{RecipientConfig, RecipientScope, WebhookConfig};
pub use retention::RetentionConfig;
pub use smtp::SmtpSection;
pub use sources::{SourceConfig, SourceKindConfig};

use places::Places;
use problems::Collector;

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    /// All state: archive, cursors, keys, audit log, dead letters; absolute
    /// (resolved against the config file's folder when it was read).
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub bus: BusConfig,
    pub ingest: IngestConfig,
    pub classify: ClassifyConfig,
    pub archive: ArchiveConfig,
    pub privacy: PrivacyConfig,
    /// `[retention]`: how long the other data classes are kept (L6).
    pub retention: RetentionConfig,
    pub sources: Vec<SourceConfig>,
    /// `[smtp]`: the relay alert mail goes through; none means nothing is mailed.
    pub smtp: Option<SmtpSection>,
    /// `[[recipients]]` and `[[webhooks]]`: who is told, by municipality, role and channel.
    pub recipients: Vec<RecipientConfig>,
    /// `[[webhooks]]`: the receivers' keys and timeouts (their routing is in `recipients`).
    pub webhooks: Vec<WebhookConfig>,
    /// The validated rules, every default filled in.
    pub rules: Vec<onrust_alert::Rule>,
    /// `[alerts]`: how the alert stage runs.
    pub alerts: AlertsConfig,
    /// `[region]`: the municipalities this installation watches.
    pub region: RegionConfig,
    /// `[[mandates]]`: what makes the monitoring lawful (rule L5); every source and rule names one.
    pub mandates: Vec<Mandate>,
    /// The first day this data directory ran under a trial mandate (its `mandates.json`), if it has.
    pub trial_started: Option<chrono::NaiveDate>,
}

impl Config {
    /// Reads and validates `path`; every problem is reported at once.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![Problem::in_file(path, "-", format!("cannot read: {e}"))]))?;
        Self::parse(path, &text)
    }

    /// Validates `text` as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let mut c = Collector::new(path);
        let mut table: toml::Table = match text.parse() {
            Ok(table) => table,
            Err(e) => {
                c.push("-", format!("not valid TOML: {}", e.to_string().trim_end()));
                return Err(c.into_errors());
            }
        };
        let data_dir = match table.remove("data_dir") {
            None => PathBuf::from("data"),
            Some(value) => c.value::<PathBuf>("data_dir", value).unwrap_or_else(|| PathBuf::from("data")),
        };
        let data_dir = c.paths.resolve(&data_dir);
        // First what says which municipalities there are, so every entry
        // that names one is checked against them as it is read.
        let mut classify: ClassifyConfig = c.section(&mut table, "classify");
        classify.resolve_paths(&c.paths);
        let mut region: RegionConfig = c.section(&mut table, "region");
        places::normalise(&mut region.municipalities);
        c.places = Places::load(&classify, &region);
        let (mandates, trial_started) = c.mandates(&mut table, &classify, &data_dir);
        let tokens = c.tokens(&mut table);
        let mut http: HttpConfig = c.section(&mut table, "http");
        http.tokens = tokens;
        c.paths.resolve_in_place(&mut http.token_file);
        let mut bus: BusConfig = c.section(&mut table, "bus");
        c.paths.resolve_in_place(&mut bus.ca_file);
        c.paths.resolve_in_place(&mut bus.sasl_password_file);
        let ingest: IngestConfig = c.section(&mut table, "ingest");
        let archive: ArchiveConfig = c.section(&mut table, "archive");
        let privacy: PrivacyConfig = c.section(&mut table, "privacy");
        let retention: RetentionConfig = c.section(&mut table, "retention");
        let sources = c.sources(&mut table);
        let mut smtp: Option<SmtpSection> = table.remove("smtp").and_then(|v| c.value("smtp", v));
        if let Some(smtp) = &mut smtp {
            c.paths.resolve_in_place(&mut smtp.password_file);
            c.paths.resolve_in_place(&mut smtp.ca_file);
        }
        let alerts: AlertsConfig = c.section(&mut table, "alerts");
        let (recipients, webhooks) = c.recipients_and_webhooks(&mut table);
        let today = mandates::amsterdam_date(chrono::Utc::now());
        let bound = mandate_checks::Bound { mandates: &mandates, trial_started, today };
        let rules = c.rules(&mut table, &bound, &recipients);
        sources.check_mandates(&bound, &mut c);
        for key in table.keys() {
            c.push(key.clone(), "unknown key");
        }

        let config = Config {
            path: path.to_owned(),
            data_dir,
            http,
            bus,
            ingest,
            classify,
            archive,
            privacy,
            retention,
            sources: sources.entries,
            smtp,
            recipients,
            webhooks,
            rules,
            alerts,
            region,
            mandates,
            trial_started,
        };
        config.validate(&mut c, &sources.positions);
        c.finish(config)
    }

    /// The checks that look at a section once it is read, or at several sections together.
    fn validate(&self, c: &mut Collector, source_positions: &[usize]) {
        if let Some(problem) = checks::data_dir(&self.data_dir) {
            c.push("data_dir", problem);
        }
        self.http.validate(c);
        self.bus.validate(c);
        self.ingest.validate(c);
        self.archive.validate(c);
        self.privacy.validate(c);
        self.retention.validate(c);
        sources::validate(&self.sources, source_positions, &self.ingest, c);
        self.region.validate(c);
        if let Some(smtp) = &self.smtp {
            smtp.validate(c);
        }
        self.alerts.validate(c);
        self.classify.validate(c);
    }

    /// The folder the config file is in, as an absolute path: every
    /// relative path in it is relative to this folder (and was resolved
    /// when it was read), as is `classifier-figures.toml` beside it.
    pub fn config_dir(&self) -> PathBuf {
        paths::PathBase::of(&self.path).dir().to_path_buf()
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.data_dir.join("archive")
    }
    pub fn cursor_dir(&self) -> PathBuf {
        self.data_dir.join("cursors")
    }
    pub fn key_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
    pub fn audit_path(&self) -> PathBuf {
        self.data_dir.join("audit").join("audit.jsonl")
    }
    /// The console's accounts (`onrust user add`): names, roles, argon2id hashes.
    pub fn users_path(&self) -> PathBuf {
        onrust_web::console::users::UserFile::path_in(&self.data_dir)
    }
    /// The feed subscriptions (`onrust feed add`): recipients, places, token hashes.
    pub fn feeds_path(&self) -> PathBuf {
        onrust_web::subscriptions::SubscriptionFile::path_in(&self.data_dir)
    }
    pub fn deadletter_path(&self) -> PathBuf {
        self.data_dir.join("deadletter.jsonl")
    }
    /// Alert state, the outbox and the notification log.
    pub fn alerts_dir(&self) -> PathBuf {
        self.data_dir.join("alerts")
    }
}

pub(crate) use checks::is_loopback_host;

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests;
