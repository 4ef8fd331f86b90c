//! `onrust search`: the archive from the command line, readable while the
//! daemon writes. Every search, refused ones included, is appended to the
//! audit log before results are shown (GUARDRAILS L7).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use onrust_archive::{ArchiveError, ArchiveReader, SearchRequest, Sort};
use onrust_model::{Level, MunicipalityCode};
use onrust_web::audit::{self, AuditEntry};

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
    let record = |hits: Option<u64>, refused: Option<String>| {
        audit::append(
            &audit_path,
            AuditEntry {
                who: super::cli_user(),
                action: "search".into(),
                query: Some(args.query.clone()),
                filters: filters.clone(),
                hits,
                refused,
            },
        )
        .context("cannot write the audit log; refusing to search without a record")
    };
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
    if args.json {
        for hit in &results.hits {
            println!("{}", serde_json::to_string(hit)?);
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
