//! What an erasure on request (`onrust erase`) would take from the alert
//! stage: evidence entries of the alerts that quote the messages, and
//! notifications still waiting in the outbox that quote them. Counted for
//! the audit record before anything changes; the change itself comes as a
//! deletion on `onrust.deletions.v1`, the path a deletion at the source takes.

use std::sync::Arc;

use onrust_model::RawMessage;

use super::AlertHandle;
use super::state::StageState;
use crate::erasure::tombstones::Tombstones;

/// What the alert stage holds of some messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quoted {
    /// Evidence entries of the alerts (as the API shows them) that quote one of them.
    pub evidence_entries: u64,
    /// Notifications not yet sent, or failed and sendable again, that quote one of them.
    pub queued_notifications: u64,
}

impl StageState {
    /// Whether `message` was erased on request (by its id or its link): one
    /// that was past the forwarder when the erasure was made (L3).
    pub(super) fn is_erased(&self, message: &RawMessage) -> bool {
        self.erased.as_ref().is_some_and(|erased| erased.covers(message))
    }
}

impl AlertHandle {
    /// From now on the stage does not observe a message `tombstones` cover.
    pub fn refuse_erased(&self, tombstones: Arc<Tombstones>) -> anyhow::Result<()> {
        self.core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?.erased = Some(tombstones);
        Ok(())
    }

    /// How much of the alert state and the outbox quotes `message_ids`; changes nothing.
    pub async fn quoting(&self, message_ids: &[String]) -> anyhow::Result<Quoted> {
        let evidence_entries = {
            let core = self.core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
            core.mechanics
                .alerts()
                .flat_map(|alert| alert.evidence.iter())
                .filter(|e| message_ids.iter().any(|id| e.quotes(id)))
                .count() as u64
        };
        let queued_notifications = self.outbox.lock().await.quoting(message_ids) as u64;
        Ok(Quoted { evidence_entries, queued_notifications })
    }

    /// The message ids the alerts' evidence quotes with this link: an
    /// erasure by link also finds what the archive no longer holds.
    pub fn quoting_url(&self, url: &str) -> anyhow::Result<Vec<String>> {
        let core = self.core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
        let mut ids: Vec<String> = core
            .mechanics
            .alerts()
            .flat_map(|alert| alert.evidence.iter())
            .filter(|e| e.url.as_deref() == Some(url) && e.quotes(&e.message_id))
            .map(|e| e.message_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}
