//! One module per subcommand.

pub mod alerts;
pub mod archive;
pub mod audit;
pub mod audit_report;
pub mod backtest;
pub mod check_config;
pub mod classify;
pub mod erase;
pub mod eval;
pub mod feed;
pub mod halt;
pub mod health;
pub mod lines;
pub mod local_http;
pub mod replay;
pub mod roles;
pub mod run;
pub mod search;
pub mod token;
pub mod train;
pub mod transparency;
pub mod user;

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
    Classifier::load(&classifier_config(config))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("loading the classifier's lexicons")
}

/// Municipality names by CBS code, as the gazetteer the configuration names
/// has them (its CSV alone, read by the classifier's own reader), for the
/// commands that name places but do not classify.
pub fn municipality_names(config: &Config) -> anyhow::Result<Vec<(onrust_model::MunicipalityCode, String)>> {
    // Resolved against the config file's folder when the file was read.
    let csv = &config.classify.gazetteer;
    onrust_classify::municipality_names(csv)
        .with_context(|| format!("cannot read the municipality names of the gazetteer {}", csv.display()))
}

/// The classifier's rules without the learned layer (for `onrust train`).
pub fn load_rules(config: &Config) -> anyhow::Result<Classifier> {
    Classifier::load_rules_only(&classifier_config(config))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("loading the classifier's lexicons")
}

fn classifier_config(config: &Config) -> ClassifierConfig {
    // The paths were resolved against the config file's folder when it was read.
    ClassifierConfig {
        languages: config.classify.languages.clone(),
        themes_dir: config.classify.themes_dir.clone(),
        gazetteer_path: config.classify.gazetteer.clone(),
        deny_terms: config.classify.deny_terms.clone(),
        signals_dir: config.classify.signals_dir.clone(),
        escalation_path: config.classify.escalation.clone(),
        source_municipalities: source_municipalities(config),
    }
}

/// The sources that cover exactly one municipality, with it: the classifier
/// lends it to their messages that name no place.
fn source_municipalities(config: &Config) -> std::collections::BTreeMap<String, onrust_model::MunicipalityCode> {
    config
        .sources
        .iter()
        .filter_map(|source| match source.municipalities.as_slice() {
            [only] => onrust_model::MunicipalityCode::new(only.as_str()).ok().map(|code| (source.id.to_string(), code)),
            _ => None,
        })
        .collect()
}

/// Before `onrust run` starts anything: the data dir exists and is its
/// owner's only (an older data dir is tightened, and the log says so), the
/// audit log is whole (a torn last line moved aside, a removed tail recorded;
/// `onrust_audit::recover`), and the process may open the descriptors the
/// configuration needs ([`crate::descriptors`]).
pub fn prepare_to_run(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    onrust_durable::create_private_dir_all(dir).with_context(|| format!("cannot create data dir {}", dir.display()))?;
    let tightened = onrust_durable::tighten_tree(dir)
        .with_context(|| format!("cannot make data dir {} its owner's only", dir.display()))?;
    crate::internal_events::DataDirTightened { data_dir: dir, tightened }.emit();
    let audit = config.audit_path();
    let recovered = onrust_audit::recover(&audit).context("the audit log")?;
    crate::internal_events::AuditRecovered { path: &audit, recovered: &recovered }.emit();
    let budget = crate::descriptors::Budget::of(config);
    let limit = crate::descriptors::ensure(budget)?;
    crate::internal_events::DescriptorsChecked { limit, needed: budget.total() }.emit();
    Ok(())
}

/// The archive's writer settings as the configuration says.
pub fn archive_options(config: &Config) -> onrust_archive::ArchiveOptions {
    onrust_archive::ArchiveOptions {
        writer_memory_bytes: config.archive.writer_memory_bytes,
        writer_threads: config.archive.writer_threads,
        bucket: config.archive.bucket,
        retention: Some(config.archive.retention.0),
    }
}

/// Opens the archive for writing as the configuration says.
pub fn open_archive_writer(config: &Config) -> anyhow::Result<onrust_archive::ArchiveWriter> {
    Ok(onrust_archive::ArchiveWriter::open(&config.archive_dir(), &archive_options(config))?)
}

/// The alert stage's settings: rules, recipients, relay, names, where its state lives.
pub fn alert_settings(config: &Config) -> anyhow::Result<crate::pipeline::alert::Settings> {
    let names = municipality_names(config)?;
    Ok(crate::pipeline::alert::Settings {
        rules: config.rules.clone(),
        recipients: config.recipients.clone(),
        webhooks: config.webhooks.clone(),
        smtp: config.smtp.as_ref().map(crate::config::SmtpSection::to_notifier),
        region_name: config.alerts.region_name.clone(),
        region: crate::pipeline::alert::region_codes(&config.region.municipalities),
        contact: config.alerts.contact.clone(),
        console_url: config.http.public_base(),
        sources: config.sources.iter().filter(|s| s.enabled).map(|s| s.id.clone()).collect(),
        evaluate_interval: config.alerts.evaluate_interval.0,
        digest_hour: config.alerts.digest_hour,
        summary_lead: chrono::TimeDelta::from_std(config.alerts.summary_lead.0).unwrap_or(chrono::TimeDelta::hours(24)),
        dir: config.alerts_dir(),
        archive_dir: Some(config.archive_dir()),
        names,
        retry: onrust_notify::log::RetryPolicy::default(),
        retention: Some(crate::pipeline::alert::AlertRetention {
            alert_state: config.retention.alert_state.0,
            notification_log: config.retention.notification_log.0,
            outbox: config.retention.outbox.0,
            audit_path: config.audit_path(),
        }),
        ack_within: config.archive.commit_interval.0,
        clock: crate::pipeline::alert::Clock::system(),
        // Never halted unless the caller hands in the switch's watch.
        halted: tokio::sync::watch::channel(false).1,
    })
}

/// The archive stage's commit and retention settings.
pub fn archive_settings(config: &Config) -> crate::pipeline::archive::Settings {
    use crate::pipeline::archive::{CommitPolicy, Retention, Settings};
    Settings {
        policy: CommitPolicy { interval: config.archive.commit_interval.0, max_docs: config.archive.commit_max_docs },
        retention: Some(Retention {
            max_age: config.archive.retention.0,
            audit_path: config.audit_path(),
            audit_log: Some(config.retention.audit_log.0),
            // On Kafka the dead letters are a topic: the topic's retention applies there.
            dead_letters: (config.bus.kind == crate::config::BusKind::Embedded)
                .then(|| (config.deadletter_path(), config.retention.dead_letters.0)),
        }),
        // The daemon gives it the tombstones its erasures write (`onrust::erasure`).
        erased: None,
    }
}

/// Writes a whole document to standard output. Written, not printed: a
/// closed pipe (`| head`) is an error to report, not a panic.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).context("cannot write to standard output")
}

/// A value fit for one Markdown table cell.
pub fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
