//! `onrust feed add|list|revoke`: a secret feed address per recipient for
//! the Atom feed of alerts and the calendar of announced actions, which
//! calendar and feed readers can follow without a bearer header
//! (`onrust_web::subscriptions` says how they are kept). `add` shows the
//! address once; only its SHA-256 is stored, in `<data_dir>/feeds.json`. A
//! running daemon sees a change at the next request; no restart is needed.

use std::path::PathBuf;
use std::process::ExitCode;

use onrust_web::Role;
use onrust_web::subscriptions::{ALL_PLACES, FeedPlace, Subscription, SubscriptionFile};

/// Arguments of `onrust feed add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The configuration file (its data_dir holds the subscriptions).
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// Who gets the address, as the audit log names each use (`feed:<recipient>`): a-z, 0-9, '.', '_', '-'.
    #[arg(long)]
    recipient: String,
    /// What it shows: a CBS code (GM0344), regio (the region-wide alerts),
    /// onbekend (those without a known place) or alle (every alert in the region; supervisors).
    #[arg(long = "municipality")]
    place: String,
    /// officer (default) or supervisor.
    #[arg(long, default_value = "officer")]
    role: Role,
}

/// Arguments of `onrust feed list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
}

/// Arguments of `onrust feed revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// A subscription's id (onrust feed list), or a recipient: all of theirs.
    id: String,
}

pub fn add(args: &AddArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let place = FeedPlace::parse(&args.place).map_err(|e| anyhow::anyhow!("--municipality: {e}"))?;
    let names = crate::commands::municipality_names(&config)?;
    let name = match &place {
        FeedPlace::Municipality(code) => {
            let watched = if config.region.municipalities.is_empty() {
                names.iter().any(|(c, _)| c == code)
            } else {
                config.region.municipalities.iter().any(|c| c == code.as_str())
            };
            if !watched {
                anyhow::bail!(
                    "--municipality {code}: not a municipality of the region (region.municipalities); \
                     its feed would stay empty"
                );
            }
            names.iter().find(|(c, _)| c == code).map(|(_, n)| format!(" {n}")).unwrap_or_default()
        }
        _ => String::new(),
    };
    let path = config.feeds_path();
    let mut file = SubscriptionFile::open(&path)?;
    let new = file.add(&args.recipient, args.role, place, chrono::Utc::now())?;
    file.save()?;
    let feed = &new.subscription;
    println!(
        "feed subscription {} for {} ({}, {}{name}) added to {}",
        feed.id,
        feed.recipient,
        feed.role,
        feed.place.word(),
        path.display()
    );
    println!("Its addresses, shown this once (only their SHA-256 is kept): give them to {} alone.", feed.recipient);
    let paths = [format!("/feeds/{}/alerts.atom", new.token), format!("/feeds/{}/actions.ics", new.token)];
    match config.http.public_base() {
        Some(base) => {
            for p in &paths {
                println!("  {base}{p}");
            }
        }
        None => {
            for p in &paths {
                println!("  {p}");
            }
            println!(
                "Put the address where people reach onrust in front (set http.public_url to have it printed here)."
            );
        }
    }
    println!("Revoke it with: onrust feed revoke {}", feed.id);
    Ok(ExitCode::SUCCESS)
}

pub fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let file = SubscriptionFile::open(&config.feeds_path())?;
    if file.subscriptions().is_empty() {
        println!("no feed subscriptions");
    }
    // Never the hash: it is the secret's fingerprint, of no use to a reader.
    for feed in file.subscriptions() {
        println!("{}", line(feed));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn revoke(args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let path = config.feeds_path();
    let mut file = SubscriptionFile::open(&path)?;
    let revoked = file.revoke(&args.id, chrono::Utc::now())?;
    file.save()?;
    for feed in &revoked {
        println!("revoked: {}", line(feed));
    }
    Ok(ExitCode::SUCCESS)
}

/// One subscription on one line: id, recipient, role, place, since, revoked.
fn line(feed: &Subscription) -> String {
    let state = match feed.revoked_at {
        Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M UTC")),
        None => "active".to_owned(),
    };
    let place = if feed.place.word() == ALL_PLACES { "alle (every alert)" } else { feed.place.word() };
    format!(
        "{}  {:<24} {:<10} {:<20} since {}  {state}",
        feed.id,
        feed.recipient,
        feed.role.as_str(),
        place,
        feed.created_at.format("%Y-%m-%d %H:%M UTC")
    )
}
