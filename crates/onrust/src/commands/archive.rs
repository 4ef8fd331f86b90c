//! `onrust archive status|retention|migrate`: what the archive holds, per
//! bucket, and retention on demand, for the data protection officer (rule
//! L6); and converting an archive of an older format to this build's.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use onrust_archive::{ArchiveError, ArchiveReader};

/// Lists the buckets and when each one goes.
pub fn status(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let reader = ArchiveReader::open(&config.archive_dir())?;
    let buckets = reader.buckets()?;
    let retention = chrono::TimeDelta::from_std(config.archive.retention.0).unwrap_or(chrono::TimeDelta::MAX);
    println!(
        "archive {}: {} bucket(s), retention {} after fetching",
        config.archive_dir().display(),
        buckets.len(),
        humantime::format_duration(config.archive.retention.0)
    );
    println!("{:<20} {:>10} {:>12}  fetched                    deleted after", "bucket", "documents", "bytes");
    for b in &buckets {
        let deleted_after = b.end.checked_add_signed(retention).map_or_else(|| "never".to_owned(), |t| t.to_string());
        println!(
            "{:<20} {:>10} {:>12}  {} .. {}  {}",
            b.name,
            b.documents,
            b.bytes,
            b.start.format("%Y-%m-%d"),
            b.end.format("%Y-%m-%d"),
            deleted_after
        );
    }
    let (docs, bytes): (u64, u64) = buckets.iter().fold((0, 0), |(d, s), b| (d + b.documents, s + b.bytes));
    println!("{:<20} {:>10} {:>12}", "total", docs, bytes);
    Ok(ExitCode::SUCCESS)
}

/// Applies retention now. Needs the writer's lock, so it refuses while the daemon runs.
pub fn retention(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let mut writer = match super::open_archive_writer(&config) {
        Ok(writer) => writer,
        Err(e) if matches!(e.downcast_ref::<ArchiveError>(), Some(ArchiveError::Locked { .. })) => {
            return Err(e.context("the running daemon applies retention itself, hourly; no need to run this now"));
        }
        Err(e) => return Err(e),
    };
    let audit_path = config.audit_path();
    let deleted = writer
        .apply_retention(Utc::now(), config.archive.retention.0, |d| {
            crate::pipeline::archive::record_deletion(&audit_path, d)
        })
        .context("retention failed")?;
    if deleted.is_empty() {
        println!("nothing to delete: every bucket is younger than the retention");
    }
    for d in &deleted {
        println!(
            "deleted {} ({} documents, {} bytes, fetched {} .. {}); recorded in {}",
            d.bucket,
            d.documents,
            d.bytes,
            d.period_start.format("%Y-%m-%d"),
            d.period_end.format("%Y-%m-%d"),
            audit_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Converts the archive to this build's format. Needs the writer's lock, so it refuses while the daemon runs.
pub fn migrate(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let dir = config.archive_dir();
    let done = onrust_archive::migrate(&dir, &super::archive_options(&config), |bucket, documents| {
        println!("converted {bucket}: {documents} documents");
    })
    .map_err(|e| match e {
        ArchiveError::Locked { .. } => anyhow::Error::new(e).context("stop the daemon first: it holds the archive"),
        other => anyhow::Error::new(other),
    })?;
    if done.converted.is_empty() && done.from == onrust_archive::FORMAT_VERSION {
        println!("the archive at {} is already in format {}", dir.display(), onrust_archive::FORMAT_VERSION);
    } else {
        let documents: u64 = done.converted.iter().map(|(_, d)| d).sum();
        println!(
            "the archive at {} is now in format {} (was {}): {} bucket(s), {documents} documents",
            dir.display(),
            onrust_archive::FORMAT_VERSION,
            done.from,
            done.converted.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
