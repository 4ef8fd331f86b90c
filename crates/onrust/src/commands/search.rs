//! `onrust search`: the archive from the command line, readable while the
//! daemon writes. Every search, refused ones included, is appended to the
//! audit log before results are shown (rule L7).
//!
//! Each hit shows the places it names, "Kanaleneiland (wijk, Utrecht)". The
//! archive stores only the municipalities (adding a field would make every
//! existing archive unreadable), so the places are found again from the
//! stored text with the configured gazetteer, keeping those in a
//! municipality the archive has for the message, the way `backtest` restores
//! explanations.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use onrust_archive::Hit;
use onrust_archive::{ArchiveError, ArchiveReader, SearchRequest, Sort};
use onrust_audit::{self as audit, AuditEntry};
use onrust_classify::{Classifier, Input};
use onrust_model::{Level, MunicipalityCode, Place};

/// Arguments of `onrust search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The configuration file.
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// Words, "phrases", AND/OR/NOT, field:value; empty or * for everything.
    query: String,
    /// Only messages about this municipality (CBS code, e.g. GM0344).
    #[arg(long)]
    municipality: Option<String>,
    /// Only messages with this theme id.
    #[arg(long)]
    theme: Option<String>,
    /// Only messages at this escalation level or above (0-3).
    #[arg(long)]
    min_level: Option<u8>,
    /// Published at or after (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    since: Option<String>,
    /// Published before (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    until: Option<String>,
    /// Only messages from this kind of source (feed, mastodon, ...).
    #[arg(long)]
    source_kind: Option<String>,
    /// Only messages in this language (nl, en, ...).
    #[arg(long)]
    lang: Option<String>,
    /// Hits to show, 1-100.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Skip this many hits first (paging), at most 10000.
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Newest first instead of most relevant first.
    #[arg(long, conflicts_with = "oldest")]
    newest: bool,
    /// Oldest first instead of most relevant first.
    #[arg(long)]
    oldest: bool,
    /// Also count the matches per municipality, theme, level and day.
    #[arg(long)]
    facets: bool,
    /// One JSON object per hit per line.
    #[arg(long, conflicts_with = "count")]
    json: bool,
    /// Print only the number of matching messages.
    #[arg(long)]
    count: bool,
}

pub(crate) fn parse_time(flag: &str, text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("--{flag} {text:?} is neither RFC 3339 nor YYYY-MM-DD"))?;
    Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

pub fn run(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let filters = serde_json::json!({
        "municipality": args.municipality, "theme": args.theme, "min_level": args.min_level,
        "since": args.since, "until": args.until, "source_kind": args.source_kind, "lang": args.lang,
        "limit": args.limit, "offset": args.offset, "newest": args.newest, "oldest": args.oldest,
        "facets": args.facets, "count": args.count,
    });
    let audit_path = config.audit_path();
    let who = crate::identity::cli_user()?;
    // The mandates in force whose scope covers this search (rule L5); none: refused, and recorded.
    let covering = crate::config::mandates::covering_search(
        &config.mandates,
        config.trial_started,
        crate::config::mandates::amsterdam_date(Utc::now()),
        args.municipality
            .as_deref()
            .map(|m| {
                onrust_model::MunicipalityCode::new(m.to_owned())
                    .map_or_else(|_| m.to_owned(), |c| c.as_str().to_owned())
            })
            .as_deref(),
        args.theme.as_deref(),
        args.source_kind.as_deref(),
    );
    let record = |hits: Option<u64>, refused: Option<String>| {
        audit::append(
            &audit_path,
            AuditEntry {
                who: who.clone(),
                action: "search".into(),
                query: Some(args.query.clone()),
                filters: filters.clone(),
                hits,
                refused,
                mandates: covering.clone(),
            },
        )
        .context("cannot write the audit log; refusing to search without a record")
    };
    if covering.is_empty() {
        let why = "no mandate in force covers this search (rule L5): its municipality, theme or source kind is \
                   outside every mandate, or none is in force today; see onrust check-config";
        record(None, Some(why.to_owned()))?;
        eprintln!("error: {why}");
        return Ok(ExitCode::from(2));
    }
    let request = match build_request(&args) {
        Ok(request) => request,
        Err(e) => {
            record(None, Some(format!("{e:#}")))?;
            return Err(e);
        }
    };
    let reader = ArchiveReader::open(&config.archive_dir())?;
    let results = match reader.search(&request) {
        Ok(results) => results,
        Err(e @ ArchiveError::BadQuery(_)) => {
            record(None, Some(e.to_string()))?;
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    record(Some(results.total as u64), None)?;
    if args.count {
        println!("{}", results.total);
        return Ok(ExitCode::SUCCESS);
    }
    // Without a loadable classifier the hits still show, without their places.
    let classifier = super::load_classifier(&config).inspect_err(|e| eprintln!("note: places not shown: {e:#}")).ok();
    let places = |hit: &Hit| classifier.as_ref().map(|c| places_of(c, hit)).unwrap_or_default();
    if args.json {
        for hit in &results.hits {
            let mut value = serde_json::to_value(hit)?;
            if let Some(object) = value.as_object_mut() {
                object.insert("places".to_owned(), serde_json::to_value(places(hit))?);
            }
            println!("{value}");
        }
        if let Some(facets) = &results.facets {
            println!("{}", serde_json::json!({ "facets": facets }));
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} hit(s){}",
        results.total,
        if results.total > results.hits.len() { format!(", showing {}", results.hits.len()) } else { String::new() }
    );
    for hit in &results.hits {
        println!();
        println!(
            "{}  level {}  {}  [{}] [{}]",
            hit.published_at,
            hit.level,
            hit.source,
            hit.themes.join(", "),
            hit.municipalities.join(", ")
        );
        let labels: Vec<String> = places(hit).iter().map(Place::label).collect();
        if !labels.is_empty() {
            println!("  places: {}", labels.join(", "));
        }
        if let Some(title) = &hit.title {
            println!("  {title}");
        }
        match &hit.snippet {
            Some(snippet) => println!("  {}", marked(snippet)),
            None => println!("  {}", hit.text.chars().take(240).collect::<String>()),
        }
        if let Some(url) = &hit.url {
            println!("  {url}");
        }
    }
    if let Some(facets) = &results.facets {
        println!();
        let line = |name: &str, counts: &[onrust_archive::FacetCount]| {
            let shown: Vec<String> = counts.iter().take(12).map(|c| format!("{} {}", c.value, c.count)).collect();
            println!("{name:<15} {}", shown.join(", "));
        };
        line("municipalities", &facets.municipalities);
        line("themes", &facets.themes);
        line("levels", &facets.levels);
        line("days", &facets.days);
    }
    Ok(ExitCode::SUCCESS)
}

/// The places a hit names, in a municipality the archive has for it, each once.
fn places_of(classifier: &Classifier, hit: &Hit) -> Vec<Place> {
    let input = Input {
        text: &hit.text,
        title: hit.title.as_deref(),
        lang_hint: hit.lang.as_deref(),
        source_municipality: classifier.source_municipality(&hit.source),
        ..Input::default()
    };
    let mut out: Vec<Place> = Vec::new();
    for place in classifier.places(&input) {
        let archived = hit.municipalities.iter().any(|m| m == place.municipality.as_str());
        if archived && !out.iter().any(|p| p.name == place.name && p.municipality == place.municipality) {
            out.push(place);
        }
    }
    out
}

/// The snippet with its highlighted words in [brackets].
fn marked(snippet: &onrust_archive::Snippet) -> String {
    let mut out = String::with_capacity(snippet.text.len() + 8);
    let mut at = 0;
    for &[start, end] in &snippet.highlights {
        let (Some(before), Some(word)) = (snippet.text.get(at..start), snippet.text.get(start..end)) else { break };
        out.push_str(before);
        out.push('[');
        out.push_str(word);
        out.push(']');
        at = end;
    }
    out.push_str(snippet.text.get(at..).unwrap_or_default());
    out
}

fn build_request(args: &SearchArgs) -> anyhow::Result<SearchRequest> {
    let municipality = args.municipality.clone().map(MunicipalityCode::new).transpose()?;
    let min_level = args.min_level.map(Level::try_from).transpose().map_err(|e| anyhow::anyhow!("--min-level: {e}"))?;
    Ok(SearchRequest {
        query: args.query.clone(),
        municipality,
        theme: args.theme.clone(),
        min_level,
        since: args.since.as_deref().map(|t| parse_time("since", t)).transpose()?,
        until: args.until.as_deref().map(|t| parse_time("until", t)).transpose()?,
        source_kind: args.source_kind.clone(),
        lang: args.lang.clone(),
        facets: args.facets,
        limit: args.limit,
        offset: args.offset,
        sort: match (args.newest, args.oldest) {
            (true, _) => Sort::Newest,
            (_, true) => Sort::Oldest,
            _ => Sort::Relevance,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> Classifier {
        let config = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut cfg = onrust_classify::ClassifierConfig::in_dir(&config);
        cfg.source_municipalities.insert("rtvutrecht".into(), MunicipalityCode::new("GM0344").expect("code"));
        Classifier::load(&cfg).expect("shipped lexicons load")
    }

    fn hit(source: &str, text: &str, municipalities: &[&str]) -> Hit {
        Hit {
            id: "x".into(),
            source: source.into(),
            source_kind: "feed".into(),
            url: None,
            title: None,
            text: text.into(),
            lang: Some("nl".into()),
            published_at: chrono::Utc::now(),
            published_at_estimated: false,
            event_time: None,
            level: 1,
            score: 0.5,
            themes: vec![],
            municipalities: municipalities.iter().map(|m| (*m).to_owned()).collect(),
            snippet: None,
            explanation: vec![],
        }
    }

    fn labels(classifier: &Classifier, hit: &Hit) -> Vec<String> {
        places_of(classifier, hit).iter().map(Place::label).collect()
    }

    #[test]
    fn hits_show_their_places_in_the_archived_municipalities() {
        let c = classifier();
        let text = "Vuurwerk op agenten op het Kanaleneiland en bij de Neude, ook in Zeist";
        assert_eq!(
            labels(&c, &hit("nos", text, &["GM0344", "GM0355"])),
            ["Kanaleneiland (wijk, Utrecht)", "Neude (plein, Utrecht)", "Zeist (gemeente)"]
        );
        // A place whose municipality the archive does not have for the message is not shown
        // (the gazetteer may have changed since it was archived).
        assert_eq!(labels(&c, &hit("nos", text, &["GM0355"])), ["Zeist (gemeente)"]);
        // The source's single municipality, when the text names no place.
        assert_eq!(labels(&c, &hit("rtvutrecht", "Vuurwerk op agenten", &["GM0344"])), ["Utrecht (bron)"]);
    }
}
