use std::path::Path;
use std::process::ExitCode;

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
    println!("  bus:          {:?}", config.bus.kind);
    println!("  classifier:   {} (languages {})", classifier.version(), config.classify.languages.join(", "));
    println!("  themes:       {}", classifier.theme_ids().join(", "));
    println!(
        "  archive:      commit every {} or {} messages; one index per {:?}, kept {} after fetching, then deleted",
        humantime::format_duration(config.archive.commit_interval.0),
        config.archive.commit_max_docs,
        config.archive.bucket,
        humantime::format_duration(config.archive.retention.0),
    );
    println!("  pseudonyms:   new key every {}", humantime::format_duration(config.privacy.pseudonym_period.0));
    if !config.ingest.allow_hosts.is_empty() {
        println!("  WARNING:      the private-address guard is lifted for {}", config.ingest.allow_hosts.join(", "));
    }
    println!("  sources:      {}", config.sources.len());
    for source in &config.sources {
        let state = if source.enabled { "" } else { " (disabled)" };
        println!(
            "    {:<24} {:?} every {:<6} {}{state}",
            source.id,
            source.kind,
            humantime::format_duration(source.interval.0).to_string(),
            source.url
        );
    }
    Ok(ExitCode::SUCCESS)
}
