mod reach;

use std::path::Path;
use std::process::ExitCode;

use onrust_ingest::config::SourceParams;

/// `onrust check-config`: validates everything `run` would load and says what it will do.
pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let classifier = super::load_classifier(&config)?;
    println!("configuration {} is valid", config.path.display());
    println!("  data dir:     {}", config.data_dir.display());
    println!(
        "  http:         {} (health and metrics: {}; /api: bearer tokens by role)",
        config.http.listen,
        if config.http.token_file.is_some() { "monitor token required" } else { "loopback, no token" }
    );
    let budget = crate::descriptors::Budget::of(&config);
    let limit = crate::descriptors::Limit::current();
    println!(
        "  connections:  at most {}, head within {}, closed after {} silent; needs {} file descriptors \
         ({} for the stages), the limit here is {}",
        config.http.max_connections,
        humantime::format_duration(config.http.header_timeout.0),
        humantime::format_duration(config.http.idle_timeout.0),
        budget.total(),
        budget.stages,
        limit,
    );
    println!(
        "  search api:   {} at once, {} budget each, every search audited in {}",
        config.http.search_concurrency,
        humantime::format_duration(config.http.search_budget.0),
        config.audit_path().display()
    );
    // Names and roles only: never a hash, never a token.
    println!("  api tokens:   {}", config.http.tokens.len());
    for token in &config.http.tokens {
        println!("    {:<24} {}", token.name, token.role);
    }
    match config.bus.kind {
        crate::config::BusKind::Embedded => {
            println!("  bus:          embedded, {} records per topic", config.bus.capacity)
        }
        crate::config::BusKind::Kafka => {
            let k = config.bus.kafka_options();
            println!(
                "  bus:          Kafka at {}, {} partitions, replication {}, {}, {}",
                k.brokers,
                k.partitions,
                k.replication,
                k.security_protocol,
                if cfg!(feature = "kafka") { "this build runs it" } else { "this build lacks it (--features kafka)" }
            );
            let remote = k
                .brokers
                .split(',')
                .filter_map(|b| b.trim().rsplit_once(':').map(|(h, _)| h))
                .any(|h| !crate::config::is_loopback_host(h));
            if remote && !k.security_protocol.ends_with("ssl") {
                println!(
                    "  NOTE:         {} to brokers off this machine: messages and offsets cross the network unencrypted; \
                     use ssl or sasl_ssl outside a private network",
                    k.security_protocol
                );
            }
        }
    }
    println!("  classifier:   {} (languages {})", classifier.version(), config.classify.languages.join(", "));
    println!("  themes:       {}", classifier.theme_ids().join(", "));
    explain_gazetteer(&classifier);
    println!(
        "  archive:      commit every {} or {} messages; one index per {:?}, kept {} after fetching, then deleted",
        humantime::format_duration(config.archive.commit_interval.0),
        config.archive.commit_max_docs,
        config.archive.bucket,
        in_days(config.archive.retention.0),
    );
    println!("  pseudonyms:   new key every {}", humantime::format_duration(config.privacy.pseudonym_period.0));
    let kept: Vec<String> = crate::pipeline::retention::periods_beside_archive(&config)
        .into_iter()
        .map(|(class, keep)| format!("{class} {}", in_days(keep)))
        .collect();
    println!("  retention:    {} (then deleted hourly, each deletion recorded first)", kept.join(", "));
    if !config.ingest.allow_hosts.is_empty() {
        println!("  WARNING:      the private-address guard is lifted for {}", config.ingest.allow_hosts.join(", "));
    }
    match config.region.municipalities.len() {
        0 => println!("  region:       not set: every municipality in the gazetteer"),
        n => println!("  region:       {n} municipalities"),
    }
    explain_mandates(&config);
    println!("  sources:      {}", config.sources.len());
    for source in &config.sources {
        let state = if source.enabled { "" } else { " (disabled)" };
        let covers = match source.municipalities.len() {
            0 => String::new(),
            n => format!(" (covers {n} municipalities)"),
        };
        let reads = match &source.params {
            SourceParams::Mastodon(mastodon) => format!(" #{}", mastodon.tags.join(" #")),
            SourceParams::Bluesky(bluesky) => format!(" in {}", bluesky.languages().join(", ")),
            _ => String::new(),
        };
        let pace = match source.params.streams() {
            true => "streaming   ".to_owned(),
            false => format!("every {:<6}", humantime::format_duration(source.interval.0).to_string()),
        };
        let mandate = source.mandate.as_deref().unwrap_or("-");
        println!(
            "    {:<24} {:<9} {pace} {}{reads}{covers}{state} (mandate {mandate})",
            source.id,
            source.kind().name(),
            source.url()
        );
    }
    explain_alerts(&config);
    let names = crate::commands::municipality_names(&config)?;
    // Valid, but worth knowing: who would never hear of what (not errors:
    // a configuration without recipients keeps its alerts).
    for warning in reach::warnings(&config, &names) {
        println!("  WARNING:      {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Each mandate (rule L5): what it is for, on what basis, its scope, its dates and the days left.
fn explain_mandates(config: &crate::config::Config) {
    use crate::config::mandates::{Standing, amsterdam_date};
    let today = amsterdam_date(chrono::Utc::now());
    println!("  mandates:     {}", config.mandates.len());
    for mandate in &config.mandates {
        let (start, end) = mandate.window(config.trial_started, today);
        let when = match mandate.standing(config.trial_started, today) {
            Standing::InForce { days_left } => format!("in force {start} to {end}, {days_left} days left"),
            Standing::NotYet { starts } => {
                format!("not in force yet: from {starts} to {end}; its sources and rules wait")
            }
            Standing::Ended { ended } => format!("ended on {ended}"),
        };
        let kind = if mandate.is_trial() {
            let first = match config.trial_started {
                Some(day) => format!("since {day}"),
                None => "from the first run of this data directory".to_owned(),
            };
            format!(
                "TRIAL ({first}): public news and authorities only, no one is told; it ends on {end}, then record a mandate"
            )
        } else {
            format!("decided by {}, legal basis {}, DPIA {}", mandate.decided_by, mandate.legal_basis, mandate.dpia)
        };
        println!("    {:<24} {when}", mandate.id);
        println!("      {kind}");
        println!("      purpose: {}", mandate.purpose);
        println!("      scope: {}", mandate.scope_line());
    }
}

/// The gazetteer's files: places per tier and where they come from.
fn explain_gazetteer(classifier: &onrust_classify::Classifier) {
    let files = classifier.gazetteer_files();
    let total: usize = files.iter().flat_map(|f| f.counts.iter().map(|(_, n)| n)).sum();
    println!("  gazetteer:    {total} places and postcodes in {} files", files.len());
    for file in files {
        let counts: Vec<String> = file.counts.iter().map(|(tier, n)| format!("{n} {tier}")).collect();
        println!("    {:<34} {} ({})", file.file, counts.join(", "), file.vintage);
    }
}

/// Rules, recipients (counted per role, never listed by address) and the relay (never the password).
fn explain_alerts(config: &crate::config::Config) {
    use onrust_alert::{Channel, RecipientRole};
    println!(
        "  alerts:       {} rules, evaluated every {}; state in {}",
        config.rules.len(),
        humantime::format_duration(config.alerts.evaluate_interval.0),
        config.alerts_dir().display()
    );
    for rule in &config.rules {
        let window = onrust_alert::engine::duration_nl(rule.window_secs);
        let what = match rule.kind {
            onrust_alert::RuleKind::Critical => format!("one message at level >= {}", rule.min_level.as_u8()),
            onrust_alert::RuleKind::Announcement => {
                format!("a new announced action at level >= {}", rule.min_level.as_u8())
            }
            onrust_alert::RuleKind::Threshold => {
                format!("{} messages at level >= {} within {window}", rule.count, rule.min_level.as_u8())
            }
            onrust_alert::RuleKind::Burst => format!(
                "unusual counts at level >= {} within {window} against {} weeks (fdr {})",
                rule.min_level.as_u8(),
                rule.baseline_weeks,
                rule.alpha
            ),
        };
        let mut themes = if rule.themes.is_empty() { "all themes".to_owned() } else { rule.themes.join(", ") };
        if !rule.source_kinds.is_empty() {
            let kinds: Vec<&str> = rule.source_kinds.iter().map(|k| k.as_str()).collect();
            themes.push_str(&format!(" from {}", kinds.join(", ")));
        }
        // As the mechanics route them: critical and announcement alerts reach a
        // mayor in real time after review; the others only unreviewed, in the digest.
        let real_time = matches!(rule.kind, onrust_alert::RuleKind::Critical | onrust_alert::RuleKind::Announcement);
        let review = match (real_time, rule.review) {
            (true, true) => "mayor after review",
            (true, false) => "mayor unreviewed",
            (false, true) => "officers only",
            (false, false) => "officers; mayor in the digest, unreviewed",
        };
        println!(
            "    {:<24} {:<12} {:<8} {what}; {themes}; {review} (version {}, mandate {})",
            rule.name,
            rule.kind.as_str(),
            rule.severity.as_str(),
            rule.version,
            rule.mandate
        );
    }
    let count = |role: RecipientRole| {
        config.recipients.iter().filter(|r| r.role == role && r.channel == Channel::Email).count()
    };
    println!(
        "  recipients:   {} officers, {} supervisors, {} mayors",
        count(RecipientRole::Officer),
        count(RecipientRole::Supervisor),
        count(RecipientRole::Mayor)
    );
    match &config.smtp {
        Some(smtp) => println!(
            "  smtp:         {}:{} tls {:?}, from {}{}",
            smtp.host,
            smtp.port,
            smtp.tls,
            smtp.from,
            match &smtp.username {
                Some(user) => format!(
                    ", login {user} (password from {})",
                    smtp.password_file.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
                ),
                None => String::new(),
            }
        ),
        None => println!("  smtp:         not configured: alerts are kept, nothing is mailed"),
    }
    // Receivers by URL host only: a path may carry a receiver's own token.
    for w in &config.recipients {
        if w.channel == Channel::Webhook {
            let host = url::Url::parse(&w.address).ok().and_then(|u| u.host_str().map(str::to_owned));
            let place = match &w.scope {
                crate::config::RecipientScope::All => "*".to_owned(),
                crate::config::RecipientScope::One(code) => code.to_string(),
            };
            println!("  webhook:      {} for {} {place}, signed", host.unwrap_or_else(|| "?".into()), w.role.as_str());
        }
    }
    if config.smtp.is_some() && !config.recipients.iter().any(|r| r.channel == Channel::Email) {
        println!("  NOTE:         no [[recipients]]: alerts are kept, nothing is mailed");
    }
    match config.http.public_base() {
        Some(base) => {
            println!("  console:      {base} (mail links to an alert there; onrust feed add prints addresses)")
        }
        None => println!("  NOTE:         no http.public_url: mail carries no link to the alert in the console"),
    }
}

/// A period as a person sets it: whole days as days ("90 days"), anything else as humantime writes it.
fn in_days(period: std::time::Duration) -> String {
    const DAY: u64 = 24 * 3600;
    match period.as_secs() {
        secs if secs % DAY == 0 && period.subsec_nanos() == 0 => format!("{} days", secs / DAY),
        _ => humantime::format_duration(period).to_string(),
    }
}
