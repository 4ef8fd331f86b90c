//! Baselines for the burst rules, from the archive's counts.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use onrust_alert::{BaselineSource, CountCell};
use onrust_archive::{ArchiveReader, CountRequest};
use onrust_model::Level;

/// Baselines from the archive's counts. A period that begins before the
/// archive's oldest bucket is not covered: `None`, never a quiet week.
pub struct ArchiveBaselines {
    pub(super) reader: ArchiveReader,
}

impl ArchiveBaselines {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let reader = ArchiveReader::open(dir)
            .with_context(|| format!("cannot open the archive {} for baselines", dir.display()))?
            .with_budget(Duration::from_secs(10));
        Ok(Self { reader })
    }
}

impl BaselineSource for ArchiveBaselines {
    fn counts(&self, since: DateTime<Utc>, until: DateTime<Utc>, min_level: u8) -> Option<Vec<CountCell>> {
        let oldest = match self.reader.oldest_start() {
            Ok(oldest) => oldest?,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list archive buckets for a baseline");
                return None;
            }
        };
        if since < oldest {
            return None;
        }
        let min_level = Level::try_from(min_level).ok()?;
        match self.reader.counts(&CountRequest { since, until, min_level: Some(min_level) }) {
            Ok(rows) => Some(
                rows.into_iter()
                    .map(|r| CountCell {
                        municipality: r.municipality,
                        theme: r.theme,
                        level: r.level,
                        messages: r.messages,
                    })
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count archive messages for a baseline");
                None
            }
        }
    }
}
