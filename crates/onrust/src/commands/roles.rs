//! `onrust run --role R…` on Kafka: each stage a role, each role a consumer
//! group, as many processes as the load needs (issue 6).
//!
//! | role | consumes | produces | state |
//! |---|---|---|---|
//! | `ingest` | the sources | `onrust.raw.v1` | cursors, pseudonym keys |
//! | `classify` | `onrust.raw.v1` (group `classify`) | `onrust.scored.v1` | none: run as many as there are partitions |
//! | `archive` | `onrust.scored.v1` (group `archive`) | — | the tantivy archive (one writer per data dir) |
//! | `alert` | `onrust.scored.v1` (group `alert`) | `onrust.alerts.v1`, mail, webhooks | alert state, outbox |
//! | `web` | — | — | search over the archive on this machine |
//!
//! Every process serves `/healthz`, `/readyz` and its own `/metrics` on
//! `http.listen` (`--listen` sets another per process); the alerts API is
//! served by the process that runs the `alert` role.
//!
//! Why it is safe to kill any of them (rule R1–R3): an offset is stored
//! only after the effect downstream is durable (`onrust_bus::kafka`), so a
//! killed process's records are read again by whoever takes its partitions,
//! and the sinks are idempotent — the archive upserts by message id and
//! resumes from the positions in its last commit, the outbox knows every
//! notification key. Run exactly one `alert` process: its windows must see
//! every scored message, and reviews, acknowledgements and the outbox live
//! in its state (docs/ARCHITECTURE.md, "On Kafka").
//!
//! Shutdown: intake stops, every subscriber ends after the record it is
//! handing out, each stage finishes its batch (the archive commits, the
//! alert stage saves), the producer is flushed, and the consumers commit
//! their stored offsets as they close.

use std::path::Path;
use std::process::ExitCode;

use crate::config::BusKind;

/// What one `onrust run` process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Role {
    /// Poll the sources onto `onrust.raw.v1`.
    Ingest,
    /// Score raw messages onto `onrust.scored.v1`.
    Classify,
    /// Keep scored messages in the tantivy archive.
    Archive,
    /// Turn scored messages into alerts, mail and webhooks.
    Alert,
    /// Serve the HTTP API, health and metrics.
    Web,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Ingest, Role::Classify, Role::Archive, Role::Alert, Role::Web];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Classify => "classify",
            Role::Archive => "archive",
            Role::Alert => "alert",
            Role::Web => "web",
        }
    }
}

/// Runs the given roles (all when none is given) on the configured bus;
/// `listen` overrides `http.listen` (several processes on one machine).
pub async fn run(config_path: &Path, roles: &[Role], listen: Option<std::net::SocketAddr>) -> anyhow::Result<ExitCode> {
    let mut config = super::load_config(config_path)?;
    if let Some(listen) = listen {
        config.http.listen_on(listen).map_err(anyhow::Error::msg)?;
    }
    let mut roles = if roles.is_empty() { Role::ALL.to_vec() } else { roles.to_vec() };
    roles.sort_unstable();
    roles.dedup();
    match config.bus.kind {
        BusKind::Embedded if roles != Role::ALL => {
            let given: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            anyhow::bail!(
                "--role {}: on the embedded bus every role runs in one process; roles need bus.kind = \"kafka\"",
                given.join(",")
            )
        }
        BusKind::Embedded => super::run::run(config).await,
        BusKind::Kafka => on_kafka(config, &roles).await,
    }
}

#[cfg(feature = "kafka")]
use on_kafka::on_kafka;

#[cfg(not(feature = "kafka"))]
async fn on_kafka(_config: crate::config::Config, _roles: &[Role]) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "bus.kind = \"kafka\", but this onrust was built without Kafka: build it with \
         `cargo build --release --features kafka`"
    )
}

#[cfg(feature = "kafka")]
mod on_kafka {
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use anyhow::Context;
    use onrust_bus::kafka::KafkaBus;
    use onrust_bus::{Bus, Topic};
    use tokio::task::JoinSet;

    use super::Role;
    use crate::config::Config;
    use crate::internal_events::Readiness;
    use crate::pipeline::{self, TaskResult};
    use crate::shutdown;

    pub(super) async fn on_kafka(config: Config, roles: &[Role]) -> anyhow::Result<ExitCode> {
        let has = |r: Role| roles.contains(&r);
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        let metrics = super::super::run::install_metrics()?;
        super::super::prepare_to_run(&config)?;
        crate::internal_events::describe_all();
        let mandates = pipeline::mandates::start(&config)?;
        let gazetteer = crate::commands::municipality_names(&config)?;
        let region = super::super::run::region(&config, &gazetteer);
        let bus = KafkaBus::connect(config.bus.kafka_options()).await.context("kafka")?;
        let (stop_tx, stop_rx) = shutdown::on_signal().context("installing signal handlers")?;
        let mut tasks: JoinSet<TaskResult> = JoinSet::new();
        // Every process follows the halt file of its data dir (rule L13): the
        // ingest and alert roles obey it, every role's API can change it.
        let halt = super::super::run::open_halt_switch(&config, &stop_rx)?;
        let mut reporters: Vec<tokio::task::JoinHandle<()>> = Vec::new();
        let ready = Arc::new(AtomicBool::new(false));
        let (web_stop_tx, web_stop_rx) = tokio::sync::watch::channel(false);

        // The classify role's lexicons also filter Bluesky posts when both roles run here.
        let mut lexicons = None;
        if has(Role::Classify) {
            let classifier = Arc::new(super::super::load_classifier(&config)?);
            crate::internal_events::register_counter_series(&classifier.theme_ids());
            lexicons = Some(Arc::clone(&classifier));
            let input = bus.subscribe(Topic::Raw, "classify")?;
            let (out, dead) = (bus.publisher(Topic::Scored)?, bus.publisher(Topic::DeadLetter)?);
            tasks.spawn(async move { ("classify", pipeline::classify::run(input, out, dead, classifier).await) });
        }
        if has(Role::Archive) {
            let writer = super::super::open_archive_writer(&config)?;
            let mut settings = super::super::archive_settings(&config);
            settings.erased = Some(Arc::new(crate::erasure::tombstones::Tombstones::open(&config.data_dir)?));
            reporters.push(tokio::spawn(super::super::run::report_archive_size(config.archive_dir())));
            let input = pipeline::scored_and_deletions(&bus, "archive")?;
            let dead = bus.publisher(Topic::DeadLetter)?;
            tasks.spawn(async move { ("archive", pipeline::archive::run(input, dead, writer, settings).await) });
        }
        let mut alert_backend: Option<Arc<dyn onrust_web::alerts::AlertBackend>> = None;
        // The alert role's rules, paused while their mandate is not in force.
        let mut paused_with = None;
        if has(Role::Alert) {
            let mut settings = super::super::alert_settings(&config)?;
            settings.halted = halt.halted();
            if !config.archive_dir().is_dir() {
                // Baselines need the archive; without it on this machine bursts cannot be judged.
                tracing::warn!(archive = %config.archive_dir().display(), "no archive here: burst rules have no baseline");
                settings.archive_dir = None;
            }
            let handle = pipeline::alert::AlertHandle::open(&settings)?;
            handle.pause_rules(pipeline::mandates::paused_rules(&config.rules, &mandates.in_force()))?;
            paused_with = Some((handle.clone(), config.rules.clone()));
            handle.refuse_erased(Arc::new(crate::erasure::tombstones::Tombstones::open(&config.data_dir)?))?;
            alert_backend = Some(Arc::new(handle.clone()));
            let ends = pipeline::alert::AlertTopics {
                input: pipeline::scored_and_deletions(&bus, "alert")?,
                dead: bus.publisher(Topic::DeadLetter)?,
                alerts: Some(bus.publisher(Topic::Alerts)?),
            };
            tasks.spawn(async move { ("alert", pipeline::alert::run(ends, settings, handle).await) });
        }
        if has(Role::Ingest) {
            // Coverage is the sources' health, which lives where they run.
            let plan = super::super::run::coverage_plan(&config, &region);
            reporters.push(tokio::spawn(super::super::run::report_coverage(plan)));
            let intake =
                pipeline::Intake { raw: bus.publisher(Topic::Raw)?, deletions: bus.publisher(Topic::Deletions)? };
            // Erasures are made by the single-process daemon; here the tombstones are read at start.
            let erased = Arc::new(crate::erasure::tombstones::Tombstones::open(&config.data_dir)?);
            super::super::run::start_sources(
                &config,
                &mut tasks,
                intake,
                lexicons.take(),
                &stop_rx,
                &mandates,
                halt.halted(),
                erased,
            )?;
        }
        // Every process keeps its mandates' time: the ingest role's sources and the alert role's rules follow it.
        reporters.push(tokio::spawn(pipeline::mandates::keep_time(
            Arc::clone(&mandates),
            paused_with,
            stop_rx.clone(),
        )));
        // Every process serves health, readiness and its own metrics (consumer
        // lag, its stages); the `web` role adds search over the local archive,
        // the `alert` role the alerts API over its state.
        let access = Arc::new(super::super::run::access_control(&config)?);
        let search = if has(Role::Web) { Some(super::super::run::search_service(&config, &mandates)?) } else { None };
        let listener = onrust_web::bind(config.http.listen).await?;
        let state = onrust_web::WebState {
            metrics,
            ready: Arc::clone(&ready),
            access,
            audit_path: config.audit_path(),
            search,
            alerts: alert_backend,
            console: Arc::new(super::super::run::console(&config, has(Role::Ingest))?),
            feeds: Arc::new(super::super::run::feeds(&config)?),
            halt,
            // On Kafka the archive, the alert stage and the sources may be three processes: not yet.
            erase: None,
        };
        let limits = config.http.connection_limits();
        let web = tokio::spawn(onrust_web::serve(listener, state, limits, shutdown::requested(web_stop_rx)));
        ready.store(true, Ordering::SeqCst);
        Readiness { ready: true }.emit();
        tracing::info!(roles = ?names, brokers = %config.bus.brokers.as_deref().unwrap_or_default(), "onrust is running on kafka");

        // Intake stops with the signal; the consumers end after the record in hand.
        let mut failed = super::super::run::supervise(&mut tasks, &stop_tx, &stop_rx, &ready, || bus.close()).await;
        if let Err(e) = tokio::task::block_in_place(|| bus.flush(std::time::Duration::from_secs(10))) {
            tracing::error!(error = %e, "records not confirmed by the broker; their sources fetch them again");
            failed = true;
        }
        Ok(super::super::run::stop_listener(web_stop_tx, web, failed).await)
    }
}
