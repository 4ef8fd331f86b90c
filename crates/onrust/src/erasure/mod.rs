//! Erasure on request (`onrust erase`, `POST /api/v1/erase`; issue 19, rule
//! L3): the daemon's side of [`onrust_web::erase`].
//!
//! A message erased on request leaves exactly as one deleted at its source
//! does, by the same path: a [`Deletion`] per message on
//! `onrust.deletions.v1`, which the archive applies at its next commit and
//! the alert stage applies to every alert's evidence (the counts stay) and
//! to the outbox before its next save. The request is answered once both
//! have acknowledged those deletions, so a search right after the answer no
//! longer finds the message.
//!
//! The embedded bus's dead letters hold whole messages too: those that
//! quote an erased id or link are removed with them.
//!
//! Before that, the erasure is made permanent in the [`tombstones`]: the ids
//! (and for an erasure by link, the link's digest) are written durably, and
//! the forwarder ([`crate::pipeline::ingest::forward`]) drops any message
//! they cover before it reaches the bus, so a feed that serves the item
//! again, a restart or `onrust replay` never brings it back.

pub mod tombstones;

use std::sync::{Arc, Weak};
use std::time::Duration;

use onrust_archive::{ArchiveReader, HeldMessage, Wanted};
use onrust_bus::{Publisher, Record};
use onrust_model::{Deletion, MessageId, SCHEMA_VERSION, SourceId, SourceKind};
use onrust_web::erase::{EraseBackend, EraseError, EraseFuture, EraseTarget, ErasureCounts, Survey};

use crate::pipeline::BusReceipts;
use crate::pipeline::alert::AlertHandle;
use tombstones::Tombstones;

/// How long an erasure waits for the archive and the alert stage to confirm
/// it; their commit and save intervals are seconds.
const CONFIRMED_WITHIN: Duration = Duration::from_secs(20);

/// The erasure backend of a daemon that runs the archive and alert stages.
pub struct Eraser {
    pub archive: Arc<ArchiveReader>,
    pub alerts: AlertHandle,
    pub tombstones: Arc<Tombstones>,
    /// The forwarder's deletions publisher, held weakly: the deletions topic
    /// must still close when intake stops, so shutdown can drain.
    pub deletions: Weak<dyn Publisher>,
    /// The configured sources' kinds, for the deletions' records.
    pub kinds: Vec<(String, SourceKind)>,
    /// The embedded bus's dead letters, which hold whole messages; `None` on
    /// Kafka, where they are a topic (its retention applies).
    pub dead_letters: Option<std::path::PathBuf>,
}

impl Eraser {
    async fn held(&self, wanted: Wanted) -> Result<Vec<HeldMessage>, EraseError> {
        let archive = Arc::clone(&self.archive);
        tokio::task::spawn_blocking(move || archive.held(&wanted))
            .await
            .map_err(|e| EraseError::unavailable("the archive lookup failed", e))?
            .map_err(|e| EraseError::unavailable("cannot read the archive", e))
    }

    async fn look(&self, target: &EraseTarget) -> Result<Survey, EraseError> {
        let unavailable =
            |e: anyhow::Error| EraseError::unavailable("cannot look up what the alert stage holds of it", e);
        let (target, held, mut ids) = match target {
            EraseTarget::Id(id) => {
                let held = self.held(Wanted::Id(id.clone())).await?;
                // Tombstoned even when nothing holds it: it may still come.
                (EraseTarget::Id(id.clone()), held, vec![id.clone()])
            }
            EraseTarget::Url(given) => {
                // The link as ingest keeps it (L2): only so can it match what was taken in.
                let url = onrust_ingest::links::item_url(given).ok_or_else(|| {
                    EraseError::BadTarget(
                        "the url is not an http or https link onrust could keep (one that names an account it \
                         never keeps)"
                            .to_owned(),
                    )
                })?;
                let held = self.held(Wanted::Url(url.clone())).await?;
                let ids = self.alerts.quoting_url(&url).map_err(unavailable)?;
                (EraseTarget::Url(url), held, ids)
            }
        };
        ids.extend(held.iter().map(|h| h.id.clone()));
        ids.sort();
        ids.dedup();
        let quoted = self.alerts.quoting(&ids).await.map_err(unavailable)?;
        let dead_letters = match &self.dead_letters {
            Some(path) => onrust_bus::dead_letters::count_quoting(path, &quoted_values(&target, &ids))
                .map_err(|e| EraseError::unavailable("cannot read the dead letters", e))?
                as u64,
            None => 0,
        };
        let counts = ErasureCounts {
            archive_documents: held.len() as u64,
            evidence_entries: quoted.evidence_entries,
            queued_notifications: quoted.queued_notifications,
            dead_letters,
        };
        Ok(Survey { target, message_ids: ids, counts })
    }

    async fn apply(&self, survey: &Survey) -> Result<(), EraseError> {
        let url = match &survey.target {
            EraseTarget::Url(url) => Some(url.clone()),
            EraseTarget::Id(_) => None,
        };
        let (stones, ids) = (Arc::clone(&self.tombstones), survey.message_ids.clone());
        tokio::task::spawn_blocking(move || stones.add(&ids, url.as_deref()))
            .await
            .map_err(|e| EraseError::unavailable("the tombstone write failed", e))?
            .map_err(|e| EraseError::unavailable("cannot write the tombstone", e))?;
        let Some(deletions) = self.deletions.upgrade() else {
            return Err(EraseError::unavailable(
                "cannot publish the deletions",
                "the daemon is stopping; the tombstone is written, the archive and alerts are cleared at the next \
                 start by asking again",
            ));
        };
        let mut receipts = BusReceipts::default();
        for id in &survey.message_ids {
            let deletion = self.deletion(id)?;
            let (after, receipt) = BusReceipts::ack();
            let record = Record::json(deletion.source.as_str(), &deletion)
                .map_err(|e| EraseError::unavailable("cannot encode a deletion", e))?;
            deletions
                .publish(record, after)
                .await
                .map_err(|e| EraseError::unavailable("cannot publish a deletion", e))?;
            receipts.extend(receipt);
        }
        drop(deletions);
        if let Some(path) = self.dead_letters.clone() {
            let values = quoted_values(&survey.target, &survey.message_ids);
            tokio::task::spawn_blocking(move || onrust_bus::dead_letters::remove_quoting(&path, &values))
                .await
                .map_err(|e| EraseError::unavailable("the dead letters' cleanup failed", e))?
                .map_err(|e| EraseError::unavailable("cannot remove the dead letters quoting it", e))?;
        }
        receipts
            .wait(CONFIRMED_WITHIN, "the archive and the alert stage did not confirm the erasure in time")
            .await
            .map_err(|e| EraseError::unavailable("the erasure is not confirmed", e))?;
        tracing::info!(
            messages = survey.message_ids.len(),
            archive_documents = survey.counts.archive_documents,
            evidence_entries = survey.counts.evidence_entries,
            queued_notifications = survey.counts.queued_notifications,
            dead_letters = survey.counts.dead_letters,
            "erased on request"
        );
        Ok(())
    }

    /// The deletion record for message `id`. Its stages read only the id; the
    /// source is the id's own prefix (`<source>:<hex>`), the kind the configured one.
    fn deletion(&self, id: &str) -> Result<Deletion, EraseError> {
        let id = MessageId::new(id.to_owned()).map_err(|e| EraseError::BadTarget(e.to_string()))?;
        let source = id
            .as_str()
            .rsplit_once(':')
            .and_then(|(source, _)| SourceId::new(source).ok())
            .or_else(|| SourceId::new("erased").ok())
            .ok_or_else(|| EraseError::unavailable("cannot build a deletion", "no source id for it"))?;
        let source_kind =
            self.kinds.iter().find(|(s, _)| s == source.as_str()).map_or(SourceKind::Replay, |(_, kind)| *kind);
        Ok(Deletion { schema: SCHEMA_VERSION, id, source, source_kind, deleted_at: chrono::Utc::now() })
    }
}

/// What a dead letter of an erased message would quote: its ids, and the link asked for.
fn quoted_values(target: &EraseTarget, ids: &[String]) -> Vec<String> {
    let mut values = ids.to_vec();
    if let EraseTarget::Url(url) = target {
        values.push(url.clone());
    }
    values
}

impl EraseBackend for Eraser {
    fn survey<'a>(&'a self, target: &'a EraseTarget) -> EraseFuture<'a, Survey> {
        Box::pin(self.look(target))
    }

    fn erase<'a>(&'a self, survey: &'a Survey) -> EraseFuture<'a, ()> {
        Box::pin(self.apply(survey))
    }
}
