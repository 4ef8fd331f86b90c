//! `onrust run`: every stage in one process on the embedded bus.
//!
//! Start-up order makes failures loud and early: configuration, lexicons,
//! the archive lock (a second instance stops here, R7), the archive reader
//! and the tokens the search API needs, the HTTP listener;
//! only then do sources start. Shutdown runs the other way: intake stops,
//! the bus drains, the archive commits, sources store their cursors, and the
//! process exits 0 — or non-zero if any stage failed or the drain overran.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use onrust_archive::ArchiveReader;
use onrust_bus::{EmbeddedBus, EmbeddedOptions};
use onrust_ingest::cursor::CursorStore;
use onrust_ingest::fetch::{FetchLimits, Fetcher, FetcherOptions};
use onrust_ingest::pseudonym::PseudonymKeys;
use onrust_ingest::source::SourceContext;
use onrust_web::auth::Scope;
use onrust_web::{AccessControl, Credential, SearchLimits, SearchService, TokenHash, WebState};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::internal_events::{
    ArchiveSized, CoverageChanged, CoverageReported, KeysPurged, QueueDepth, Readiness, SourceConfigured,
};
use crate::pipeline::{self, TaskResult};
use crate::shutdown;

/// How long draining may take after a shutdown signal before onrust gives up.
pub(super) const DRAIN_BOUND: Duration = Duration::from_secs(30);

pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let metrics = install_metrics()?;
    super::prepare_to_run(&config)?;
    let classifier = Arc::new(super::load_classifier(&config)?);
    let writer = super::open_archive_writer(&config)?;
    let mandates = pipeline::mandates::start(&config)?;
    let access = Arc::new(access_control(&config)?);
    let search = search_service(&config, &mandates)?;
    let console = Arc::new(console(&config, true)?);
    let feeds = Arc::new(feeds(&config)?);
    crate::internal_events::describe_all();
    let listener = onrust_web::bind(config.http.listen).await?;
    let (stop_tx, stop_rx) = shutdown::on_signal().context("installing signal handlers")?;

    let bus = Arc::new(EmbeddedBus::new(EmbeddedOptions {
        capacity: config.bus.capacity,
        deadletter_path: Some(config.deadletter_path()),
    }));
    let mut tasks: JoinSet<TaskResult> = JoinSet::new();
    let mut settings = super::archive_settings(&config);
    let halt = open_halt_switch(&config, &stop_rx)?;
    let mut alerts = super::alert_settings(&config)?;
    alerts.halted = halt.halted();
    let region = region(&config, &alerts.names);
    crate::internal_events::register_counter_series(&classifier.theme_ids());
    let alert_handle = pipeline::alert::AlertHandle::open(&alerts)?;
    alert_handle.pause_rules(pipeline::mandates::paused_rules(&config.rules, &mandates.in_force()))?;
    tokio::spawn(pipeline::mandates::keep_time(
        Arc::clone(&mandates),
        Some((alert_handle.clone(), config.rules.clone())),
        stop_rx.clone(),
    ));
    let alert_backend: Arc<dyn onrust_web::alerts::AlertBackend> = Arc::new(alert_handle.clone());
    let tombstones = Arc::new(crate::erasure::tombstones::Tombstones::open(&config.data_dir)?);
    settings.erased = Some(Arc::clone(&tombstones));
    alert_handle.refuse_erased(Arc::clone(&tombstones))?;
    let eraser_alerts = alert_handle.clone();
    let lexicons = Some(Arc::clone(&classifier));
    let intake =
        pipeline::start_processing(&bus, &mut tasks, classifier, writer, settings, Some((alerts, alert_handle)))?;
    bus.seal();
    let eraser = eraser(&config, eraser_alerts, &tombstones, &intake)?;
    start_sources(&config, &mut tasks, intake, lexicons, &stop_rx, &mandates, halt.halted(), tombstones)?;

    let ready = Arc::new(AtomicBool::new(false));
    let (web_stop_tx, web_stop_rx) = tokio::sync::watch::channel(false);
    let web = tokio::spawn(onrust_web::serve(
        listener,
        WebState {
            metrics,
            ready: Arc::clone(&ready),
            access,
            audit_path: config.audit_path(),
            search: Some(search),
            alerts: Some(alert_backend),
            console,
            feeds,
            halt,
            erase: Some(eraser),
        },
        config.http.connection_limits(),
        shutdown::requested(web_stop_rx),
    ));
    let depth_reporter = tokio::spawn(report_queue_depths(Arc::clone(&bus)));
    let coverage_reporter = tokio::spawn(report_coverage(coverage_plan(&config, &region)));
    let size_reporter = tokio::spawn(report_archive_size(config.archive_dir()));
    ready.store(true, Ordering::SeqCst);
    Readiness { ready: true }.emit();
    tracing::info!(listen = %config.http.listen, sources = config.sources.iter().filter(|s| s.enabled).count(), "onrust is running");

    let failed = supervise(&mut tasks, &stop_tx, &stop_rx, &ready, || {}).await;
    depth_reporter.abort();
    coverage_reporter.abort();
    size_reporter.abort();
    Ok(stop_listener(web_stop_tx, web, failed).await)
}

/// The halt switch of the data dir (rule L13), followed each second so a
/// halt through another process that shares the data dir counts here too.
/// A halt file that cannot be read stops the start, naming the file.
pub(super) fn open_halt_switch(
    config: &Config,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Arc<onrust_web::halt::HaltSwitch>> {
    let halt = Arc::new(onrust_web::halt::HaltSwitch::open(&config.data_dir)?);
    tokio::spawn(Arc::clone(&halt).follow_file(stop.clone()));
    Ok(halt)
}

/// Erasure on request over this process's archive, alert stage and
/// forwarder (`crate::erasure`). Its own archive reader: a lookup by link
/// reads every document and should not take a search slot.
fn eraser(
    config: &Config,
    alerts: pipeline::alert::AlertHandle,
    tombstones: &Arc<crate::erasure::tombstones::Tombstones>,
    intake: &pipeline::Intake,
) -> anyhow::Result<Arc<dyn onrust_web::erase::EraseBackend>> {
    Ok(Arc::new(crate::erasure::Eraser {
        archive: Arc::new(ArchiveReader::open(&config.archive_dir())?),
        alerts,
        tombstones: Arc::clone(tombstones),
        deletions: Arc::downgrade(&intake.deletions),
        kinds: config.sources.iter().map(|s| (s.id.clone(), s.kind().message_kind())).collect(),
        dead_letters: Some(config.deadletter_path()),
    }))
}

/// Stops the HTTP listener after the stages, and says how the process ends.
pub(super) async fn stop_listener(
    stop: tokio::sync::watch::Sender<bool>,
    web: tokio::task::JoinHandle<()>,
    failed: bool,
) -> ExitCode {
    stop.send_replace(true);
    if let Err(e) = web.await {
        tracing::error!(error = %e, "http listener panicked");
    }
    if failed {
        return ExitCode::FAILURE;
    }
    tracing::info!("stopped cleanly");
    ExitCode::SUCCESS
}

/// Watches the stages until they have all ended after a shutdown signal, or
/// one failed (which starts the shutdown). `on_stop` runs once when shutdown
/// begins, after readiness is withdrawn; the drain is bounded by
/// [`DRAIN_BOUND`]. Returns whether anything failed.
pub(super) async fn supervise(
    tasks: &mut JoinSet<TaskResult>,
    stop_tx: &tokio::sync::watch::Sender<bool>,
    stop_rx: &tokio::sync::watch::Receiver<bool>,
    ready: &AtomicBool,
    mut on_stop: impl FnMut(),
) -> bool {
    let mut failed = false;
    let mut stop = stop_rx.clone();
    // Set when shutdown begins: draining is under way exactly while this is some.
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            joined = tasks.join_next(), if !tasks.is_empty() => {
                let Some(joined) = joined else { continue };
                match joined {
                    Ok((stage, Ok(()))) => tracing::debug!(stage, "stage finished"),
                    Ok((stage, Err(e))) => {
                        tracing::error!(stage, error = %format!("{e:#}"), "stage failed; shutting down");
                        failed = true;
                        stop_tx.send_replace(true);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "stage panicked; shutting down");
                        failed = true;
                        stop_tx.send_replace(true);
                    }
                }
            }
            () = std::future::ready(()), if tasks.is_empty() => {
                if drain_deadline.is_some() {
                    break;
                }
                // No source is active (or this process runs none): keep
                // serving health and metrics until told to stop.
                tracing::warn!("no stage is running; serving health and metrics until stopped");
                shutdown::requested(stop_rx.clone()).await;
                break;
            }
            _ = stop.wait_for(|s| *s), if drain_deadline.is_none() => {
                ready.store(false, Ordering::SeqCst);
                Readiness { ready: false }.emit();
                on_stop();
                drain_deadline = Some(tokio::time::Instant::now() + DRAIN_BOUND);
            }
            () = shutdown::sleep_until(drain_deadline) => {
                tracing::error!(bound_secs = DRAIN_BOUND.as_secs(), "drain did not finish in time; exiting, unacknowledged messages will be fetched again");
                failed = true;
                tasks.abort_all();
                break;
            }
        }
    }
    failed
}

/// The Prometheus recorder every metric goes to, with the buckets of our `_seconds` histograms.
pub(super) fn install_metrics() -> anyhow::Result<metrics_exporter_prometheus::PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            &[0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0],
        )?
        .install_recorder()
        .context("installing the metrics recorder")
}

/// Starts every enabled source and the forwarder onto the bus. A Bluesky
/// source filters on the classifier's lexicons: `classifier` is the one the
/// process already loaded, if any; it is loaded here only when needed.
/// While `halted` is true the sources are stopped, and they start again on
/// the resume (rule L13, [`pipeline::halting`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn start_sources(
    config: &Config,
    tasks: &mut JoinSet<TaskResult>,
    intake: pipeline::Intake,
    classifier: Option<Arc<onrust_classify::Classifier>>,
    stop: &tokio::sync::watch::Receiver<bool>,
    mandates: &Arc<pipeline::mandates::MandateClock>,
    halted: tokio::sync::watch::Receiver<bool>,
    erased: Arc<crate::erasure::tombstones::Tombstones>,
) -> anyhow::Result<()> {
    let limits = FetchLimits {
        connect_timeout: config.ingest.connect_timeout.0,
        total_timeout: config.ingest.total_timeout.0,
        min_rate_bytes_per_sec: config.ingest.min_rate_bytes_per_sec,
        max_compressed_bytes: config.ingest.max_compressed_bytes,
        max_decoded_bytes: config.ingest.max_decoded_bytes,
        ..FetchLimits::default()
    };
    let user_agent = format!("onrust/{} (+{})", env!("CARGO_PKG_VERSION"), config.ingest.contact_url);
    let fetcher = Fetcher::new(FetcherOptions {
        limits,
        user_agent,
        allow_hosts: config.ingest.allow_hosts.clone(),
        min_host_interval: config.ingest.min_host_interval.0,
        max_requests_per_host: config.ingest.max_requests_per_host,
    })?;
    let keys = Arc::new(PseudonymKeys::new(config.key_dir(), config.privacy.pseudonym_period.0)?);
    tokio::spawn(purge_old_keys(Arc::clone(&keys), stop.clone()));
    let context = SourceContext::new(Arc::new(fetcher), keys, Arc::new(CursorStore::new(config.cursor_dir())?));
    let (to_forwarder, from_sources) = mpsc::channel(pipeline::ingest::HANDOVER);
    let (to_deletions, deletions) = mpsc::channel(pipeline::ingest::HANDOVER);
    let streams = config.sources.iter().any(|s| s.enabled && s.params.streams());
    let relevance: Option<Arc<dyn onrust_ingest::bluesky::Relevance>> = if streams {
        let classifier = match classifier {
            Some(loaded) => loaded,
            None => Arc::new(super::load_classifier(config)?),
        };
        Some(Arc::new(pipeline::ingest::LexiconRelevance::new(classifier, &config.region.municipalities)))
    } else {
        None
    };
    for source in config.sources.iter().filter(|s| s.enabled) {
        SourceConfigured { source: &source.id, kind: source.kind().name(), interval: source.interval.0 }.emit();
        let (context, messages, deletions, relevance) =
            (context.clone(), to_forwarder.clone(), to_deletions.clone(), relevance.clone());
        let (source, hold) = (source.clone(), (to_forwarder.clone(), to_deletions.clone()));
        let mandate = source.mandate.clone().unwrap_or_default();
        // The configuration was validated: a source the kind cannot build is refused now, not at its mandate's start.
        drop(pipeline::ingest::source_task(
            &source,
            pipeline::ingest::SourceEnds {
                context: context.clone(),
                messages: messages.clone(),
                deletions: deletions.clone(),
                stop: tokio::sync::watch::channel(true).1,
                relevance: relevance.clone(),
            },
        )?);
        let id = source.id.clone();
        let build: pipeline::halting::Build = Arc::new(move |source_stop| {
            let ends = pipeline::ingest::SourceEnds {
                context: context.clone(),
                messages: messages.clone(),
                deletions: deletions.clone(),
                stop: source_stop,
                relevance: relevance.clone(),
            };
            pipeline::ingest::source_task(&source, ends)
        });
        // Inside its mandate's time, the source runs only while onrust is not halted (L13).
        let build = pipeline::halting::obeying(halted.clone(), id, build);
        let gate = pipeline::mandates::while_in_force(mandate, mandates.subscribe(), stop.clone(), build, hold);
        tasks.spawn(async move { ("ingest", gate.await) });
    }
    drop(to_forwarder);
    drop(to_deletions);
    tasks.spawn(async move { ("ingest", pipeline::ingest::forward(from_sources, deletions, intake, erased).await) });
    Ok(())
}

/// The search API's archive and limits. The archive stops a search past
/// `http.search_budget` itself (a 400 asking to narrow it down); the API's
/// own wall-clock bound is a little later and catches what the archive's
/// clock checks cannot (a 503).
pub(super) fn search_service(
    config: &Config,
    mandates: &Arc<pipeline::mandates::MandateClock>,
) -> anyhow::Result<SearchService> {
    let budget = config.http.search_budget.0;
    // The writer created the archive if it was missing; the API reads it without a lock.
    let reader = ArchiveReader::open(&config.archive_dir())?.with_budget(budget);
    let outer = budget + (budget / 4).max(Duration::from_millis(250));
    let limits = SearchLimits { concurrency: config.http.search_concurrency, queue_wait: budget, budget: outer };
    let coverage = Arc::new(pipeline::mandates::SearchCoverage(Arc::clone(mandates)));
    Ok(SearchService::new(Arc::new(reader), limits).with_mandates(coverage))
}

/// The console: the accounts file, sessions as `[http]` says, the region's
/// municipalities and every municipality's name, the archive's retention,
/// and, in a process that runs the sources (`with_sources`), their coverage.
/// An account may not share its name with a token, so the audit log's `who`
/// names one holder.
pub(super) fn console(config: &Config, with_sources: bool) -> anyhow::Result<onrust_web::console::Console> {
    use onrust_web::console::{Clock, Console, CoverageView, LoginPolicy, SessionPolicy, Sessions, Users};
    let users = Users::load(&config.users_path())?;
    for name in users.names() {
        if config.http.tokens.iter().any(|t| t.name == name) {
            anyhow::bail!(
                "the account {name:?} has the name of an [[http.tokens]] entry; give one of them another name"
            );
        }
    }
    let names = crate::commands::municipality_names(config)?;
    let region_codes = region_codes(config, &names);
    let coverage =
        with_sources.then(|| Arc::new(SourcesCoverage(coverage_plan(config, &region_codes))) as Arc<dyn CoverageView>);
    let region = region_codes.iter().filter_map(|c| onrust_model::MunicipalityCode::new(c.clone()).ok()).collect();
    let policy = SessionPolicy {
        idle: config.http.session_idle.0,
        lifetime: config.http.session_lifetime.0,
        secure_cookies: !config.http.listen.ip().is_loopback(),
    };
    Ok(Console {
        users,
        sessions: Sessions::new(policy, LoginPolicy::default()),
        region_name: config.alerts.region_name.clone(),
        region,
        names,
        clock: Clock::system(),
        coverage,
        retention: Some(config.archive.retention.0),
        data_classes: crate::pipeline::retention::periods(config)
            .into_iter()
            .map(|(class, keep)| {
                let (name, holds) = crate::pipeline::retention::described(class);
                onrust_web::console::DataClass { name: name.to_owned(), holds: holds.to_owned(), keep }
            })
            .collect(),
    })
}

/// Coverage per source for the console: the plan and the sources' health now.
struct SourcesCoverage(CoveragePlan);

impl onrust_web::console::CoverageView for SourcesCoverage {
    fn sources(&self, municipality: &onrust_model::MunicipalityCode) -> Vec<onrust_web::console::SourceCoverage> {
        let Some((_, covering)) = self.0.municipalities.iter().find(|(m, _)| m == municipality.as_str()) else {
            return Vec::new();
        };
        let health = onrust_ingest::source_health();
        let now = unix_now();
        let at = |secs: Option<f64>| secs.and_then(|s| chrono::DateTime::from_timestamp_millis((s * 1000.0) as i64));
        covering
            .iter()
            .map(|id| {
                let h = health.get(id);
                onrust_web::console::SourceCoverage {
                    source: id.clone(),
                    delivering: delivering(&self.0, &health, id, now),
                    up: h.is_some_and(|h| h.up),
                    last_success: at(h.and_then(|h| h.last_success)),
                    last_gap: at(h.and_then(|h| h.last_gap)),
                }
            })
            .collect()
    }
}

/// Seconds since the Unix epoch, as the sources' health counts time.
fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// The feed subscriptions (`onrust feed add`), read again whenever they change.
pub(super) fn feeds(config: &Config) -> anyhow::Result<onrust_web::subscriptions::Subscriptions> {
    Ok(onrust_web::subscriptions::Subscriptions::load(&config.feeds_path())?)
}

/// The monitor token (`http.token_file`) and the API tokens (`[[http.tokens]]`).
pub(super) fn access_control(config: &Config) -> anyhow::Result<AccessControl> {
    let monitor = read_token(config)?;
    let credentials = config
        .http
        .tokens
        .iter()
        .map(|t| Credential {
            name: t.name.clone(),
            role: t.role,
            hash: t.sha256.clone(),
            scope: match &t.municipalities {
                Some(codes) => Scope::Municipalities(codes.clone()),
                None => Scope::Region,
            },
        })
        .collect();
    AccessControl::new(monitor, credentials).context("http tokens")
}

fn read_token(config: &Config) -> anyhow::Result<Option<TokenHash>> {
    let Some(path) = &config.http.token_file else { return Ok(None) };
    let token =
        crate::config::read_monitor_token(path).map_err(|problem| anyhow::anyhow!("http.token_file: {problem}"))?;
    Ok(Some(TokenHash::of(&token)))
}

/// Deletes pseudonym keys of periods before the previous one, hourly: once a
/// key is gone, nobody can link that period's pseudonyms to a handle or to the
/// next period's pseudonyms (rule L2).
async fn purge_old_keys(keys: Arc<PseudonymKeys>, stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown::requested(stop.clone()) => return,
        }
        let keys = Arc::clone(&keys);
        let purged = tokio::task::spawn_blocking(move || keys.purge_older_than(2, chrono::Utc::now())).await;
        match purged {
            Ok(Ok(removed)) => KeysPurged { removed: removed.len(), error: None }.emit(),
            Ok(Err(e)) => KeysPurged { removed: 0, error: Some(e.to_string()) }.emit(),
            Err(e) => KeysPurged { removed: 0, error: Some(e.to_string()) }.emit(),
        }
    }
}

async fn report_queue_depths(bus: Arc<EmbeddedBus>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        for (_topic, group, depth) in bus.queue_depths() {
            QueueDepth { stage: group, depth }.emit();
        }
    }
}

/// Which enabled sources cover each municipality of the region, and how long
/// each may stay silent before it counts as not delivering.
pub(super) struct CoveragePlan {
    /// Per municipality: the ids of the sources that cover it.
    municipalities: Vec<(String, Vec<String>)>,
    /// Per source: the longest age of its last success that still counts as delivering.
    max_age: std::collections::BTreeMap<String, f64>,
}

/// The region's municipalities, which are the metric labels (set here for
/// every event); without a `[region]`, every municipality in the gazetteer.
pub(super) fn region(config: &Config, names: &[(onrust_model::MunicipalityCode, String)]) -> Vec<String> {
    crate::internal_events::set_region(&config.region.municipalities);
    region_codes(config, names)
}

/// The region's municipalities: `region.municipalities`, or every one the gazetteer names.
fn region_codes(config: &Config, names: &[(onrust_model::MunicipalityCode, String)]) -> Vec<String> {
    if config.region.municipalities.is_empty() {
        names.iter().map(|(code, _)| code.as_str().to_owned()).collect()
    } else {
        config.region.municipalities.clone()
    }
}

pub(super) fn coverage_plan(config: &Config, region: &[String]) -> CoveragePlan {
    let sources: Vec<_> = config.sources.iter().filter(|s| s.enabled).collect();
    let municipalities = region
        .iter()
        .map(|m| {
            let covering = sources
                .iter()
                .filter(|s| s.municipalities.is_empty() || s.municipalities.contains(m))
                .map(|s| s.id.clone())
                .collect();
            (m.clone(), covering)
        })
        .collect();
    // Three poll intervals plus a fetch's total timeout: a source that missed
    // more than two polls in a row is not delivering, even if it never said so.
    let slack = config.ingest.total_timeout.0.as_secs_f64();
    let max_age = sources.iter().map(|s| (s.id.clone(), 3.0 * s.interval.0.as_secs_f64() + slack)).collect();
    CoveragePlan { municipalities, max_age }
}

/// The share of its sources that are delivering, per municipality, every 5 s (rule R10).
/// A source that has not succeeded since start does not cover anything yet.
fn coverage(
    plan: &CoveragePlan,
    health: &std::collections::BTreeMap<String, onrust_ingest::SourceHealth>,
    now: f64,
) -> Vec<(String, f64)> {
    plan.municipalities
        .iter()
        .map(|(m, covering)| {
            let up = covering.iter().filter(|id| delivering(plan, health, id, now)).count();
            let share = if covering.is_empty() { 0.0 } else { up as f64 / covering.len() as f64 };
            (m.clone(), share)
        })
        .collect()
}

/// Whether a source is delivering: up, succeeded recently, and no sign of
/// missed messages recently (a gap in a channel's ids, a stream resumed past
/// its backlog).
fn delivering(
    plan: &CoveragePlan,
    health: &std::collections::BTreeMap<String, onrust_ingest::SourceHealth>,
    id: &str,
    now: f64,
) -> bool {
    let max_age = plan.max_age.get(id).copied().unwrap_or(0.0);
    health.get(id).is_some_and(|h| {
        h.up && h.last_success.is_some_and(|t| now - t <= max_age) && h.last_gap.is_none_or(|t| now - t > max_age)
    })
}

pub(super) async fn report_coverage(plan: CoveragePlan) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut covered: std::collections::BTreeMap<String, bool> = std::collections::BTreeMap::new();
    loop {
        tick.tick().await;
        let now = unix_now();
        let (mut lost, mut restored) = (Vec::new(), Vec::new());
        for (municipality, share) in coverage(&plan, &onrust_ingest::source_health(), now) {
            let is_covered = share > 0.0;
            match covered.insert(municipality.clone(), is_covered) {
                Some(true) if !is_covered => lost.push(municipality.clone()),
                Some(false) if is_covered => restored.push(municipality.clone()),
                _ => {}
            }
            let label = crate::internal_events::municipality_label(
                onrust_model::MunicipalityCode::new(municipality).ok().as_ref(),
            );
            CoverageReported { municipality: label, coverage: share }.emit();
        }
        CoverageChanged { lost: &lost, restored: &restored }.emit();
    }
}

/// The archive's size on disk, every minute (walking the bucket folders is not free).
pub(super) async fn report_archive_size(dir: std::path::PathBuf) {
    let reader = match ArchiveReader::open(&dir) {
        Ok(reader) => Arc::new(reader),
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the archive to report its size");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let reading = Arc::clone(&reader);
        let Ok(Ok(buckets)) = tokio::task::spawn_blocking(move || reading.buckets()).await else { continue };
        let bytes = buckets.iter().map(|b| b.bytes).sum();
        let largest_bucket_bytes = buckets.iter().map(|b| b.bytes).max().unwrap_or(0);
        ArchiveSized { bytes, largest_bucket_bytes }.emit();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use onrust_ingest::SourceHealth;

    use super::*;

    #[test]
    fn a_source_covers_while_it_delivers_and_shows_no_gap() {
        let plan = CoveragePlan {
            municipalities: vec![
                ("GM0344".to_owned(), vec!["regio".to_owned(), "utrecht".to_owned()]),
                ("GM0307".to_owned(), vec!["regio".to_owned()]),
                ("GM0034".to_owned(), vec![]),
            ],
            max_age: [("regio".to_owned(), 600.0), ("utrecht".to_owned(), 600.0)].into(),
        };
        let now = 10_000.0;
        let health = |up, last_success: Option<f64>, last_gap: Option<f64>| SourceHealth { up, last_success, last_gap };
        let mut sources: BTreeMap<String, SourceHealth> = BTreeMap::new();
        sources.insert("regio".into(), health(true, Some(now - 60.0), None));
        sources.insert("utrecht".into(), health(true, Some(now - 60.0), None));
        assert_eq!(
            coverage(&plan, &sources, now),
            [("GM0344".to_owned(), 1.0), ("GM0307".to_owned(), 1.0), ("GM0034".to_owned(), 0.0)]
        );
        // A gap a minute ago: it may have missed messages, so it does not count for now.
        sources.insert("utrecht".into(), health(true, Some(now - 60.0), Some(now - 60.0)));
        assert_eq!(coverage(&plan, &sources, now)[0], ("GM0344".to_owned(), 0.5));
        // Long enough ago, it counts again; a stale success or a failing source does not.
        sources.insert("utrecht".into(), health(true, Some(now - 60.0), Some(now - 3600.0)));
        sources.insert("regio".into(), health(true, Some(now - 3600.0), None));
        assert_eq!(coverage(&plan, &sources, now)[0], ("GM0344".to_owned(), 0.5));
        sources.insert("regio".into(), health(false, Some(now - 1.0), None));
        assert_eq!(coverage(&plan, &sources, now)[1], ("GM0307".to_owned(), 0.0));
    }
}
