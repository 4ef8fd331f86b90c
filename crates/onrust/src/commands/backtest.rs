//! `onrust backtest`: the alerts a set of rules would have sent over a past
//! period of the archive, with their lead times, so a rule can be judged
//! before it goes live.
//!
//! # Exactly the daemon's decisions
//!
//! The archive's messages of the period are replayed in the order they
//! arrived through the same [`Engine`] and [`Mechanics`] the alert stage
//! (`pipeline::alert`) drives, with the same calls at the same simulated
//! times:
//!
//! * every message is observed with `now` = its **fetch time**. The daemon
//!   observes a message when it arrives, which is its fetch time give or take
//!   the pipeline's latency, and the archive is bucketed and scanned by fetch
//!   time. The publication time would be wrong twice over: a feed gives it
//!   late, wrong or not at all, and a message published on Monday but fetched
//!   on Tuesday could not have warned anyone on Monday. The engine itself
//!   still counts windows by publication time (clamped to `now`), as it does
//!   in the daemon;
//! * transitions go through [`Mechanics::apply`] and due notifications are
//!   taken with [`Mechanics::tick`] at once when a message changed an alert
//!   (the daemon does the same when there is someone to mail);
//! * every `[alerts] evaluate_interval` of simulated time, from `--since`,
//!   [`Engine::evaluate`] runs with baselines from the archive (the daemon's
//!   own [`ArchiveBaselines`]), then the mechanics tick, the summaries ahead
//!   of announced actions and the mayors' daily digest, as in the daemon.
//!   The engine asks only for windows of earlier weeks and years, so a
//!   baseline never counts the simulated present or future. It does count
//!   messages that were fetched later but published in those weeks, which
//!   the daemon would not yet have had; with the usual minutes of feed delay
//!   that is noise.
//!
//! The engine and the mechanics start empty at `--since`, as a daemon
//! started then would; a window that reaches back before `--since` is empty
//! for its first minutes. The replay stops at `--until`: an alert still
//! firing then is reported as such.
//!
//! Silences, acknowledgements and review decisions are human actions and do
//! not exist in a backtest: nothing is silenced or acknowledged, so repeats
//! and escalations go out as if nobody answered, and nothing a rule keeps
//! for review (`review = true`, the default) ever reaches a mayor. The
//! output says so.
//!
//! # What the archive does not keep
//!
//! The archive keeps each message's text and the classifier's level, score,
//! themes, municipalities and event time, but not the explanation (signals
//! and the words behind them). The engine uses the explanation for the
//! signals in an alert's reasons and for the place of an announced action,
//! which keeps two actions on one day apart. The backtest recomputes it with
//! the configured classifier from the stored title and text; everything the
//! rules decide on is the archive's, as the daemon saw it.
//!
//! # Privacy
//!
//! Alerts carry no author or pseudonym (rule L1); nothing here groups
//! by one. A backtest reads the archive's content, so like `onrust search`
//! it appends an audit record (action `backtest`) before it reads a stored
//! message, and refuses to run without one (L7).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Europe::Amsterdam;
use onrust_alert::{
    Alert, AlertStatus, BaselineSource, Engine, Evidence, Mechanics, Notification, NotifyReason, Role, Round, Rule,
    RuleConfig, RuleKind, Severity, Transition, TransitionKind,
};
use onrust_archive::{ArchiveReader, ScanRequest};
use onrust_audit::{self as audit, AuditEntry};
use onrust_classify::{Classifier, Input};
use onrust_model::{Level, MunicipalityCode, ScoredMessage};
use serde::{Deserialize, Serialize};

use crate::pipeline::alert::{ArchiveBaselines, region_codes};

/// The longest period one backtest replays.
const MAX_PERIOD_DAYS: i64 = 366;
/// Characters of the first evidence excerpt shown in the human output.
const EXCERPT_SHOWN: usize = 120;

/// Arguments of `onrust backtest`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The archive's messages fetched in [--since, --until) are replayed in arrival order through the \
daemon's own alert engine and notification mechanics, evaluating every [alerts] evaluate_interval \
of simulated time with baselines from the archive. Silences, acknowledgements and review \
decisions are human actions and are not simulated. The run is recorded in the audit log.

Exit status: 0 done (also when no alert would have been sent), 2 bad arguments, configuration \
or rules file, 1 anything else.

Example:
  onrust backtest --since 2026-12-01 --until 2027-01-02 --rules candidate.toml")]
pub struct BacktestArgs {
    /// The configuration file.
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// Start of the period, by arrival (RFC 3339 or YYYY-MM-DD, UTC midnight).
    #[arg(long)]
    since: String,
    /// End of the period, exclusive (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    until: String,
    /// A TOML file with [[rules]] to try instead of the configuration's.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Only this rule (by name); repeat for more. Default: all rules.
    #[arg(long = "rule", value_name = "NAME")]
    rule: Vec<String>,
    /// Only report alerts about this municipality (CBS code, e.g. GM0344);
    /// the rules still see the whole archive, as the daemon does.
    #[arg(long, value_name = "CODE")]
    municipality: Option<String>,
    /// One JSON object per alert per line.
    #[arg(long)]
    json: bool,
}

/// A refusal of the arguments, the configuration or the rules: exit status 2.
#[derive(Debug)]
struct Refused(String);

pub fn run(args: BacktestArgs) -> anyhow::Result<ExitCode> {
    let setup = match prepare(&args) {
        Ok(setup) => setup,
        Err(Refused(message)) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    let config = &setup.config;
    let reader = ArchiveReader::open(&config.archive_dir())?;
    let min_level = setup.rules.iter().map(|r| r.min_level).min().unwrap_or(Level::Escalation);
    let scan = reader.scan(&ScanRequest { since: setup.since, until: setup.until, min_level: Some(min_level) })?;
    // A backtest reads archived messages, so it runs under the mandates in
    // force that cover it, like a search (rule L5); none: refused, on record.
    let covering = crate::config::mandates::covering_search(
        &config.mandates,
        config.trial_started,
        crate::config::mandates::amsterdam_date(chrono::Utc::now()),
        setup.municipality.as_ref().map(MunicipalityCode::as_str),
        None,
        None,
    );
    let refused = covering.is_empty().then(|| {
        "no mandate in force covers this backtest (rule L5): its municipality is outside every mandate, or none is \
         in force today; see onrust check-config"
            .to_owned()
    });
    // Only columns have been read so far; the record comes before any stored message.
    audit::append(
        &config.audit_path(),
        AuditEntry {
            who: crate::identity::cli_user()?,
            action: "backtest".into(),
            query: None,
            filters: serde_json::json!({
                "since": setup.since, "until": setup.until,
                "rules": setup.rules.iter().map(|r| format!("{}@{}", r.name, r.version)).collect::<Vec<_>>(),
                "rules_file": args.rules.as_ref().map(|p| p.display().to_string()),
                "municipality": args.municipality,
            }),
            hits: refused.is_none().then_some(scan.total() as u64),
            refused: refused.clone(),
            mandates: covering,
        },
    )
    .context("cannot write the audit log; refusing to read the archive without a record")?;
    if let Some(why) = refused {
        eprintln!("error: {why}");
        return Ok(ExitCode::from(2));
    }
    let classifier = super::load_classifier(config)?;
    let names = classifier.municipality_names();
    let baselines = ArchiveBaselines::open(&config.archive_dir())?;
    let interval = TimeDelta::from_std(config.alerts.evaluate_interval.0).context("evaluate_interval")?;
    let summary_lead = TimeDelta::from_std(config.alerts.summary_lead.0).context("summary_lead")?;
    let mut sim = Simulation::new(setup.rules.clone(), names, setup.since, interval);
    // The daemon's region: what makes a single message's alert region-wide (pipeline::alert::Settings).
    sim.engine.set_region(region_codes(&config.region.municipalities), [config.alerts.region_name.clone()]);
    sim.summary_lead = summary_lead;
    sim.digest_hour = config.alerts.digest_hour;
    let messages = scan.total();
    for message in scan {
        let mut message = message?;
        restore_explanation(&classifier, &mut message);
        sim.observe(&message, &baselines);
    }
    sim.finish(setup.until, &baselines);
    let report = sim.report(setup.since, setup.until, setup.municipality.as_ref());
    if args.json {
        for alert in &report.alerts {
            println!("{}", serde_json::to_string(alert)?);
        }
    } else {
        print_human(&setup, &report, messages, interval);
    }
    Ok(ExitCode::SUCCESS)
}

/// What a run needs once its arguments are accepted.
struct Setup {
    config: crate::config::Config,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    rules: Vec<Rule>,
    municipality: Option<MunicipalityCode>,
}

fn prepare(args: &BacktestArgs) -> Result<Setup, Refused> {
    let config = super::load_config(&args.config).map_err(|e| Refused(format!("{e:#}")))?;
    let since = super::search::parse_time("since", &args.since).map_err(|e| Refused(format!("{e:#}")))?;
    let until = super::search::parse_time("until", &args.until).map_err(|e| Refused(format!("{e:#}")))?;
    if since >= until {
        return Err(Refused(format!("--since {} must be before --until {}", args.since, args.until)));
    }
    if until - since > TimeDelta::days(MAX_PERIOD_DAYS) {
        return Err(Refused(format!("the period is longer than {MAX_PERIOD_DAYS} days; backtest it in parts")));
    }
    let municipality = args
        .municipality
        .clone()
        .map(MunicipalityCode::new)
        .transpose()
        .map_err(|e| Refused(format!("--municipality: {e}")))?;
    let (rules, from) = match &args.rules {
        Some(path) => (load_rules(path)?, path.display().to_string()),
        None => (config.rules.clone(), config.path.display().to_string()),
    };
    let rules = select(rules, &args.rule, &from)?;
    Ok(Setup { config, since, until, rules, municipality })
}

/// Reads `[[rules]]` from a file of their own and validates them all at
/// once, each problem named by the rule's place and name.
fn load_rules(path: &Path) -> Result<Vec<Rule>, Refused> {
    let text = std::fs::read_to_string(path).map_err(|e| Refused(format!("cannot read {}: {e}", path.display())))?;
    parse_rules(&text).map_err(|problems| {
        Refused(format!(
            "the rules in {} are not valid:\n{}",
            path.display(),
            problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
        ))
    })
}

/// The rules of a rules file, or every problem with it.
fn parse_rules(text: &str) -> Result<Vec<Rule>, Vec<String>> {
    let mut table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| vec![e.message().trim_end_matches('.').to_owned()])?;
    let mut problems = Vec::new();
    let entries = match table.remove("rules") {
        Some(toml::Value::Array(entries)) => entries,
        Some(_) => return Err(vec!["rules: must be an array of tables: [[rules]]".to_owned()]),
        None => Vec::new(),
    };
    for key in table.keys() {
        problems.push(format!("{key}: unknown key; a rules file holds [[rules]] only"));
    }
    let label = |i: usize, entry: &toml::Value| match entry.get("name").and_then(toml::Value::as_str) {
        Some(name) => format!("rules[{i}] ({name:?})"),
        None => format!("rules[{i}]"),
    };
    let mut configs = Vec::new();
    let mut labels = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let name = label(i, &entry);
        match RuleConfig::deserialize(entry) {
            Ok(config) => {
                configs.push(config);
                labels.push(name);
            }
            Err(e) => problems.push(format!("{name}: {}", e.message().trim_end_matches('.'))),
        }
    }
    match onrust_alert::validate(&configs) {
        Ok(rules) if problems.is_empty() => {
            if rules.is_empty() {
                return Err(vec!["no [[rules]] in the file".to_owned()]);
            }
            Ok(rules)
        }
        Ok(_) => Err(problems),
        Err(found) => {
            for p in found {
                // `rules[2].window` of the parsed rules → `rules[5] ("name").window` by place in the file.
                let (n, rest) = p
                    .key
                    .strip_prefix("rules[")
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(n, rest)| n.parse::<usize>().ok().map(|n| (n, rest)))
                    .unwrap_or((usize::MAX, p.key.as_str()));
                let name = labels.get(n).cloned().unwrap_or_default();
                problems.push(format!("{name}{rest}: {}", p.message));
            }
            Err(problems)
        }
    }
}

/// The rules named with `--rule` (all when none), refusing unknown names.
fn select(rules: Vec<Rule>, names: &[String], from: &str) -> Result<Vec<Rule>, Refused> {
    let unknown: Vec<&str> =
        names.iter().filter(|n| !rules.iter().any(|r| &r.name == *n)).map(String::as_str).collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        return Err(Refused(format!(
            "no rule named {} in {from} (it has: {})",
            unknown.join(", "),
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        )));
    }
    let rules: Vec<Rule> = rules.into_iter().filter(|r| names.is_empty() || names.contains(&r.name)).collect();
    if rules.is_empty() {
        return Err(Refused(format!("no [[rules]] in {from}; give some there or with --rules FILE")));
    }
    Ok(rules)
}

/// The archive does not store the classifier's explanation: recompute it
/// from the stored text, keeping every field the archive has.
fn restore_explanation(classifier: &Classifier, message: &mut ScoredMessage) {
    let input = Input {
        text: &message.message.text,
        title: message.message.title.as_deref(),
        lang_hint: message.assessment.lang.as_deref(),
        published_at: message.message.published_at,
        source_municipality: classifier.source_municipality(message.message.source.as_str()),
    };
    let fresh = classifier.classify(&input);
    message.assessment.explanation = fresh.explanation;
    message.assessment.places = fresh.places;
    message.assessment.classifier_version = fresh.classifier_version;
}

/// One alert's life in the backtest: from its first transition to its resolution.
#[derive(Debug, Clone, Serialize)]
struct Episode {
    fingerprint: String,
    rule: String,
    rule_version: String,
    kind: RuleKind,
    severity: Severity,
    municipality: Option<MunicipalityCode>,
    municipality_name: Option<String>,
    /// No municipality and not the region: the messages name no place ("plaats onbekend").
    unplaced: bool,
    theme: Option<String>,
    event: Option<String>,
    /// When the condition first held (pending), if it did before firing.
    pending_at: Option<DateTime<Utc>>,
    fired_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    /// `firing` or `resolved` at the end of the period.
    status_at_end: AlertStatus,
    /// The first notification about it to anyone (often the supervisor's
    /// review request, before the officer's grouped mail): when someone would have known.
    first_notified_at: Option<DateTime<Utc>>,
    /// Notifications about it, by reason and role, in order.
    notifications: Vec<Told>,
    /// The most messages it counted (critical: matching messages; announcement:
    /// announcements; threshold and burst: the window's count at its peak).
    observed: u64,
    /// Burst: the expected count and corrected p-value at that peak.
    expected: Option<f64>,
    p_value: Option<f64>,
    threshold: Option<u64>,
    window_secs: u64,
    /// Announcements: when the action takes place, and where.
    event_time: Option<DateTime<Utc>>,
    event_place: Option<String>,
    /// Announcements: event time − first notification, in seconds.
    lead_time_secs: Option<i64>,
    /// Announcements: event time − the first announcement's arrival, in seconds.
    first_seen_lead_time_secs: Option<i64>,
    /// The engine's Dutch reasons, as the mail would have carried them.
    reasons: Vec<String>,
    /// Representative messages (ids, sources, short excerpts; never an author).
    evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize)]
struct Told {
    at: DateTime<Utc>,
    role: Role,
    reason: NotifyReason,
}

impl Episode {
    fn new(alert: &Alert) -> Self {
        Episode {
            fingerprint: alert.fingerprint.clone(),
            rule: alert.rule.clone(),
            rule_version: alert.rule_version.clone(),
            kind: alert.kind,
            severity: alert.severity,
            municipality: alert.municipality.clone(),
            municipality_name: alert.municipality_name.clone(),
            unplaced: alert.unplaced,
            theme: alert.theme.clone(),
            event: alert.event.clone(),
            pending_at: None,
            fired_at: None,
            resolved_at: None,
            status_at_end: alert.status,
            first_notified_at: None,
            notifications: Vec::new(),
            observed: 0,
            expected: None,
            p_value: None,
            threshold: None,
            window_secs: 0,
            event_time: None,
            event_place: None,
            lead_time_secs: None,
            first_seen_lead_time_secs: None,
            reasons: Vec::new(),
            evidence: Vec::new(),
        }
    }

    fn update(&mut self, alert: &Alert) {
        self.status_at_end = alert.status;
        if alert.observed >= self.observed {
            // The peak, with its baseline: a counting alert's window slides
            // down again before it resolves.
            self.observed = alert.observed;
            self.expected = alert.expected;
            self.p_value = alert.p_value;
        }
        self.threshold = alert.threshold;
        self.window_secs = alert.window_secs;
        self.event_time = alert.event_time;
        self.event_place.clone_from(&alert.event_place);
        self.first_seen_lead_time_secs = alert.lead_time_secs;
        if alert.status != AlertStatus::Resolved || self.reasons.is_empty() {
            self.reasons.clone_from(&alert.reasons);
        } else if let Some(last) = alert.reasons.last() {
            // Keep the reasons it fired with, plus the de-escalation.
            self.reasons.push(last.clone());
        }
        if !alert.evidence.is_empty() {
            self.evidence.clone_from(&alert.evidence);
        }
    }

    fn municipality_label(&self) -> String {
        match (&self.municipality, &self.municipality_name) {
            (Some(code), Some(name)) => format!("{name} ({code})"),
            (Some(code), None) => code.to_string(),
            (None, _) if self.unplaced => "no known place (plaats onbekend)".to_owned(),
            (None, _) => "the region".to_owned(),
        }
    }
}

/// The daemon's alert stage without the I/O: engine, mechanics, clock by hand.
struct Simulation {
    engine: Engine,
    mechanics: Mechanics,
    interval: TimeDelta,
    /// `[alerts] summary_lead` and `digest_hour`, as the daemon has them.
    summary_lead: TimeDelta,
    digest_hour: u32,
    next_eval: DateTime<Utc>,
    last_digest: Option<NaiveDate>,
    episodes: Vec<Episode>,
    /// Fingerprint → index of its latest episode.
    latest: BTreeMap<String, usize>,
    /// Notifications by role and reason (digests and summaries included).
    told: BTreeMap<(Role, String), u64>,
    cycles: u64,
}

impl Simulation {
    fn new(
        rules: Vec<Rule>,
        names: Vec<(MunicipalityCode, String)>,
        since: DateTime<Utc>,
        interval: TimeDelta,
    ) -> Self {
        let mechanics = Mechanics::new(&rules);
        let mut engine = Engine::new(rules);
        engine.set_municipality_names(names);
        Simulation {
            engine,
            mechanics,
            interval,
            summary_lead: TimeDelta::hours(24),
            digest_hour: 7,
            next_eval: since + interval,
            // Like a first start: the first digest goes out the morning after.
            last_digest: Some(since.with_timezone(&Amsterdam).date_naive()),
            episodes: Vec::new(),
            latest: BTreeMap::new(),
            told: BTreeMap::new(),
            cycles: 0,
        }
    }

    /// One arriving message: first the evaluations due before it, then it.
    fn observe(&mut self, message: &ScoredMessage, baselines: &dyn BaselineSource) {
        let now = message.message.fetched_at;
        while self.next_eval <= now {
            let at = self.next_eval;
            self.cycle(at, baselines);
            self.next_eval = at + self.interval;
        }
        let transitions = self.engine.observe(message, now);
        if !transitions.is_empty() {
            self.mechanics.apply(&transitions, now);
            self.record(&transitions, now);
            let notifications = self.mechanics.tick(now);
            self.tell(&notifications);
        }
    }

    /// The evaluations left up to the end of the period.
    fn finish(&mut self, until: DateTime<Utc>, baselines: &dyn BaselineSource) {
        while self.next_eval < until {
            let at = self.next_eval;
            self.cycle(at, baselines);
            self.next_eval = at + self.interval;
        }
    }

    /// What the alert stage does every `evaluate_interval`: the daemon's own [`Round`].
    fn cycle(&mut self, now: DateTime<Utc>, baselines: &dyn BaselineSource) {
        self.cycles += 1;
        let round = Round { baselines, summary_lead: self.summary_lead, digest_hour: self.digest_hour };
        let decided = round.decide(&mut self.engine, &mut self.mechanics, &mut self.last_digest, now);
        self.record(&decided.transitions, now);
        self.tell(&decided.notifications);
    }

    fn record(&mut self, transitions: &[Transition], now: DateTime<Utc>) {
        for t in transitions {
            let fp = &t.alert.fingerprint;
            let open = self.latest.get(fp).copied().filter(|&i| self.episodes[i].resolved_at.is_none());
            let i = match open {
                Some(i) => i,
                None if t.kind == TransitionKind::Resolved => continue,
                None => {
                    self.episodes.push(Episode::new(&t.alert));
                    self.latest.insert(fp.clone(), self.episodes.len() - 1);
                    self.episodes.len() - 1
                }
            };
            let episode = &mut self.episodes[i];
            match t.kind {
                TransitionKind::Pending => {
                    episode.pending_at.get_or_insert(now);
                }
                TransitionKind::Firing => {
                    episode.fired_at.get_or_insert(now);
                }
                TransitionKind::Updated => {}
                TransitionKind::Resolved => episode.resolved_at = Some(now),
            }
            episode.update(&t.alert);
        }
    }

    fn tell(&mut self, notifications: &[Notification]) {
        for n in notifications {
            *self.told.entry((n.recipients_role, serde_plain(&n.reason))).or_insert(0) += 1;
            if matches!(n.reason, NotifyReason::Digest | NotifyReason::Summary) {
                continue;
            }
            for alert in &n.alerts {
                let Some(&i) = self.latest.get(&alert.fingerprint) else { continue };
                let episode = &mut self.episodes[i];
                episode.first_notified_at.get_or_insert(n.at);
                episode.notifications.push(Told { at: n.at, role: n.recipients_role, reason: n.reason });
            }
        }
    }

    /// The alerts that fired in the period (sorted by when someone would have
    /// known), and what the summary needs.
    fn report(mut self, since: DateTime<Utc>, until: DateTime<Utc>, only: Option<&MunicipalityCode>) -> Report {
        let pending_only = self.episodes.iter().filter(|e| e.fired_at.is_none()).count();
        let mut alerts: Vec<Episode> = std::mem::take(&mut self.episodes)
            .into_iter()
            .filter(|e| e.fired_at.is_some_and(|t| t >= since && t < until))
            .filter(|e| only.is_none_or(|m| e.municipality.as_ref() == Some(m)))
            .map(|mut e| {
                if let (Some(event), Some(told)) = (e.event_time, e.first_notified_at) {
                    e.lead_time_secs = Some((event - told).num_seconds());
                }
                e
            })
            .collect();
        alerts.sort_by(|a, b| {
            (a.first_notified_at.or(a.fired_at), &a.rule, &a.fingerprint).cmp(&(
                b.first_notified_at.or(b.fired_at),
                &b.rule,
                &b.fingerprint,
            ))
        });
        Report { alerts, pending_only, told: self.told, cycles: self.cycles }
    }
}

struct Report {
    alerts: Vec<Episode>,
    /// Alerts whose condition held but not for the rule's `pending` period.
    pending_only: usize,
    told: BTreeMap<(Role, String), u64>,
    cycles: u64,
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Amsterdam).format("%Y-%m-%d %H:%M:%S %:z").to_string()
}

/// `2d 3h 10m`, `45m`, `-1h 5m` (a negative lead time: told after the event).
fn span(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(if parts.is_empty() && m == 0 { format!("{}s", s % 60) } else { format!("{m}m") });
    }
    format!("{sign}{}", parts.join(" "))
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => values.get(n / 2).copied(),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= EXCERPT_SHOWN {
        return one_line;
    }
    let mut out: String = one_line.chars().take(EXCERPT_SHOWN - 1).collect();
    out.push('…');
    out
}

fn print_human(setup: &Setup, report: &Report, messages: usize, interval: TimeDelta) {
    let names: Vec<String> = setup.rules.iter().map(|r| format!("{} ({})", r.name, r.kind.as_str())).collect();
    println!(
        "backtest {} .. {}: {} archived message(s) replayed through {} rule(s): {}",
        local(setup.since),
        local(setup.until),
        messages,
        setup.rules.len(),
        names.join(", ")
    );
    println!("evaluated every {} ({} rounds)", span(interval.num_seconds()), report.cycles);
    if let Some(m) = &setup.municipality {
        println!("showing alerts about {m} only");
    }
    println!(
        "not simulated: silences, acknowledgements and review decisions are human actions; \
         nothing is silenced or acknowledged, and mail a rule keeps for review never reaches a mayor"
    );
    if messages == 0 {
        println!();
        println!("no archived messages in this period at the rules' levels; nothing to replay");
    }
    for a in &report.alerts {
        println!();
        let when = a.first_notified_at.or(a.fired_at).map(local).unwrap_or_default();
        println!(
            "{when}  {}  {} ({})  {}  {}",
            a.severity.as_str(),
            a.rule,
            a.kind.as_str(),
            a.municipality_label(),
            a.theme.as_deref().unwrap_or("any theme")
        );
        let mut life = Vec::new();
        if let Some(t) = a.pending_at {
            life.push(format!("pending {}", local(t)));
        }
        if let Some(t) = a.fired_at {
            life.push(format!("fired {}", local(t)));
        }
        match a.resolved_at {
            Some(t) => life.push(format!("resolved {}", local(t))),
            None => life.push("still firing at the end".to_owned()),
        }
        println!("    {}", life.join(", "));
        match a.first_notified_at {
            Some(t) => {
                let roles: BTreeSet<&str> = a.notifications.iter().map(|n| n.role.as_str()).collect();
                let first =
                    a.notifications.first().map(|n| format!(" ({}, {})", n.role.as_str(), serde_plain(&n.reason)));
                println!(
                    "    first told {}{}; {} notification(s) to {}",
                    local(t),
                    first.unwrap_or_default(),
                    a.notifications.len(),
                    roles.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            None => println!(
                "    never told (held back: inhibited by a regional alert, not explaining itself, \
                 or resolved before its group was due)"
            ),
        }
        match a.kind {
            RuleKind::Announcement => {
                if let Some(event) = a.event_time {
                    let place = a.event_place.as_deref().map(|p| format!(" at {p}")).unwrap_or_default();
                    let lead = a.lead_time_secs.map(span).unwrap_or_else(|| "none (never told)".to_owned());
                    println!(
                        "    announced for {}{place}; lead time {lead}; {} announcement(s)",
                        local(event),
                        a.observed
                    );
                }
            }
            RuleKind::Burst => println!(
                "    observed {} vs expected {} (p = {})",
                a.observed,
                a.expected.map(|e| format!("{e:.2}")).unwrap_or_else(|| "-".into()),
                a.p_value.map(|p| format!("{p:.2e}")).unwrap_or_else(|| "-".into())
            ),
            RuleKind::Threshold => println!(
                "    observed {} in {} (threshold {})",
                a.observed,
                span(a.window_secs as i64),
                a.threshold.unwrap_or_default()
            ),
            RuleKind::Critical => println!("    {} matching message(s)", a.observed),
        }
        if let Some(e) = a.evidence.first() {
            println!("    e.g. {}: \"{}\"", e.source, excerpt(&e.excerpt));
        }
    }
    println!();
    println!("summary");
    println!("  alerts that would have fired: {}", report.alerts.len());
    let mut per_rule: BTreeMap<&str, u64> = setup.rules.iter().map(|r| (r.name.as_str(), 0)).collect();
    let mut per_place: BTreeMap<String, u64> = BTreeMap::new();
    for a in &report.alerts {
        *per_rule.entry(a.rule.as_str()).or_insert(0) += 1;
        *per_place.entry(a.municipality_label()).or_insert(0) += 1;
    }
    let rules: Vec<String> = per_rule.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("  per rule: {}", rules.join(", "));
    if !per_place.is_empty() {
        let mut places: Vec<(&String, &u64)> = per_place.iter().collect();
        places.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let places: Vec<String> = places.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  per municipality: {}", places.join(", "));
    }
    let leads: Vec<i64> = report.alerts.iter().filter_map(|a| a.lead_time_secs).collect();
    if let Some(m) = median(leads.clone()) {
        println!("  median lead time of {} announcement(s): {}", leads.len(), span(m));
    }
    if report.pending_only > 0 {
        println!("  held but never fired (shorter than the rule's pending period): {}", report.pending_only);
    }
    if !report.told.is_empty() {
        let told: Vec<String> =
            report.told.iter().map(|((role, reason), n)| format!("{} {reason} {n}", role.as_str())).collect();
        println!("  notifications: {}", told.join(", "));
    }
}

/// The snake_case name serde gives a reason (`review_requested`).
fn serde_plain(reason: &NotifyReason) -> String {
    serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rules_file_names_every_bad_rule_by_place_and_name() {
        let text = r#"
[[rules]]
name = "goed"
kind = "critical"
min_level = 3

[[rules]]
name = "slecht"
kind = "threshold"
window = "eeuwig"

[[rules]]
name = "typo"
kind = "critical"
min_levle = 3
"#;
        let problems = parse_rules(text).expect_err("two bad rules");
        assert!(problems.iter().any(|p| p.starts_with("rules[1] (\"slecht\").window:")), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.starts_with("rules[2] (\"typo\"):") && p.contains("min_levle")),
            "{problems:?}"
        );
        assert!(!problems.iter().any(|p| p.contains("goed")), "{problems:?}");
        let rules = parse_rules("[[rules]]\nname = \"a\"\nkind = \"critical\"\n").expect("valid");
        assert_eq!(rules[0].name, "a");
        assert!(parse_rules("").is_err(), "an empty file has no rules to test");
        assert!(parse_rules("[alerts]\n[[rules]]\nname = \"a\"\nkind = \"critical\"\n").is_err());
    }

    /// A call to violence in Utrecht, replayed: no link, no publication time.
    fn critical(id: &str, fetched: DateTime<Utc>) -> ScoredMessage {
        onrust_testkit::scored_message(id)
            .source_kind(onrust_model::SourceKind::Replay)
            .no_url()
            .unpublished()
            .text("vuurwerk naar de politie")
            .fetched_at(fetched)
            .level(Level::Escalation)
            .score(0.9)
            .theme("jaarwisseling")
            .municipality("GM0344")
            .build()
    }

    /// The same alert firing again after it resolved is a second alert in the
    /// report, each with its own life and notifications; one still firing at
    /// the end says so.
    #[test]
    fn an_alert_that_fires_again_after_resolving_is_reported_twice() {
        use chrono::TimeZone;
        let rules = onrust_alert::validate(&[RuleConfig {
            name: "oproep".into(),
            kind: Some(RuleKind::Critical),
            min_level: Some(3),
            review: Some(false),
            ..RuleConfig::default()
        }])
        .expect("rule");
        let t = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, 3, h, m, 0).single().expect("time");
        let mut sim = Simulation::new(rules, vec![], t(0, 0), TimeDelta::seconds(15));
        let none = onrust_alert::NoBaseline;
        sim.observe(&critical("a", t(10, 0)), &none);
        sim.observe(&critical("b", t(14, 0)), &none);
        sim.finish(t(14, 30), &none);
        let report = sim.report(t(0, 0), t(14, 30), None);
        assert_eq!(report.alerts.len(), 2);
        let (first, second) = (&report.alerts[0], &report.alerts[1]);
        assert_eq!(first.fingerprint, second.fingerprint, "the same alert identity");
        assert_eq!((first.fired_at, first.resolved_at), (Some(t(10, 0)), Some(t(11, 0))));
        assert_eq!(first.status_at_end, AlertStatus::Resolved);
        assert_eq!((second.fired_at, second.resolved_at), (Some(t(14, 0)), None));
        assert_eq!(second.status_at_end, AlertStatus::Firing, "still firing at the end of the period");
        // review = false: the mayor is told too, marked unreviewed; at once, as
        // a critical rule waits for no group unless it says so.
        let roles: BTreeSet<Role> = first.notifications.iter().map(|n| n.role).collect();
        assert_eq!(roles, BTreeSet::from([Role::Officer, Role::Mayor]));
        assert_eq!(first.first_notified_at, Some(t(10, 0)));
        assert_eq!(second.notifications.len(), 2, "officer and mayor, once each: {:?}", second.notifications);
        // Only alerts about the municipality asked for.
        let other = MunicipalityCode::new("GM0034").expect("code");
        let mut sim = Simulation::new(
            onrust_alert::validate(&[RuleConfig {
                name: "oproep".into(),
                kind: Some(RuleKind::Critical),
                ..RuleConfig::default()
            }])
            .expect("rule"),
            vec![],
            t(0, 0),
            TimeDelta::seconds(15),
        );
        sim.observe(&critical("a", t(10, 0)), &none);
        assert!(sim.report(t(0, 0), t(14, 30), Some(&other)).alerts.is_empty());
    }

    #[test]
    fn spans_and_medians() {
        assert_eq!(span(2 * 86_400 + 3 * 3600 + 600), "2d 3h 10m");
        assert_eq!(span(45 * 60), "45m");
        assert_eq!(span(-3900), "-1h 5m");
        assert_eq!(span(30), "30s");
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
        assert_eq!(median(vec![]), None);
    }
}
