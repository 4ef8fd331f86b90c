//! The alert stage's state and its file: the engine's and the mechanics'
//! state, the notification sequences, what each role was told and the
//! messages deleted at their source, saved atomically before anything
//! observed is acknowledged (R1).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use onrust_alert::{Alert, AlertState, Engine, Mechanics, RecipientRole, Rule};
use serde::{Deserialize, Serialize};

use crate::internal_events::AlertEvidenceWithdrawn;

pub const STATE_FILE: &str = "state.json";

/// The persisted state file: the engine's and the mechanics' state, plus how
/// many notifications each fingerprint has had (the outbox key's sequence).
/// Nested, not flattened: serde's flatten reads the state's integer map keys as strings.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateFile {
    pub state: AlertState,
    #[serde(default)]
    pub sequences: BTreeMap<String, u64>,
    /// The day (Europe/Amsterdam) of the last mayors' digest.
    #[serde(default)]
    pub last_digest: Option<NaiveDate>,
    /// The alert as each role was last told about it (`role:fingerprint`),
    /// so the next mail can say what changed since; dropped with the alert.
    #[serde(default)]
    pub told: BTreeMap<String, Alert>,
    /// Messages deleted at their source, with when, oldest first: one that
    /// arrives after its deletion (it was still being classified) is not observed.
    #[serde(default)]
    pub withdrawn: Withdrawn,
}

/// How many deleted message ids the stage remembers, and for how long: a
/// message is classified within seconds, so a week is ample.
const WITHDRAWN_MAX: usize = 10_000;
const WITHDRAWN_FOR: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Message ids deleted at their source, oldest first, bounded in number and age.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "VecDeque<DeletedMessage>", into = "VecDeque<DeletedMessage>")]
pub struct Withdrawn {
    order: VecDeque<DeletedMessage>,
    ids: HashSet<String>,
}

/// A message deleted at its source, and when the stage heard of it. On disk
/// a pair `[id, at]`, as the state file has always had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(String, DateTime<Utc>)", into = "(String, DateTime<Utc>)")]
pub struct DeletedMessage {
    pub id: String,
    pub at: DateTime<Utc>,
}

impl From<(String, DateTime<Utc>)> for DeletedMessage {
    fn from((id, at): (String, DateTime<Utc>)) -> Self {
        Self { id, at }
    }
}

impl From<DeletedMessage> for (String, DateTime<Utc>) {
    fn from(deleted: DeletedMessage) -> Self {
        (deleted.id, deleted.at)
    }
}

impl Withdrawn {
    pub(super) fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    pub(super) fn insert(&mut self, id: &str, now: DateTime<Utc>) {
        if self.ids.insert(id.to_owned()) {
            self.order.push_back(DeletedMessage { id: id.to_owned(), at: now });
        }
        while self.order.len() > WITHDRAWN_MAX || self.order.front().is_some_and(|d| now - d.at > WITHDRAWN_FOR) {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old.id);
            }
        }
    }
}

impl From<VecDeque<DeletedMessage>> for Withdrawn {
    fn from(order: VecDeque<DeletedMessage>) -> Self {
        let ids = order.iter().map(|d| d.id.clone()).collect();
        Self { order, ids }
    }
}

impl From<Withdrawn> for VecDeque<DeletedMessage> {
    fn from(withdrawn: Withdrawn) -> Self {
        withdrawn.order
    }
}

/// What the stage holds in memory between rounds, under one lock: the
/// engine and the mechanics, and what the state file keeps besides them.
pub(super) struct StageState {
    pub(super) engine: Engine,
    pub(super) mechanics: Mechanics,
    pub(super) sequences: BTreeMap<String, u64>,
    pub(super) last_digest: Option<NaiveDate>,
    pub(super) told: BTreeMap<String, Alert>,
    pub(super) withdrawn: Withdrawn,
    /// What was erased on request (`erasure`): not observed when it arrives.
    pub(super) erased: Option<Arc<crate::erasure::tombstones::Tombstones>>,
}

impl StageState {
    /// Whether the message `id` was deleted at its source before it got here.
    pub(super) fn is_withdrawn(&self, id: &str) -> bool {
        self.withdrawn.contains(id)
    }

    /// A message deleted at its source leaves the evidence of every alert,
    /// announced action and what each role was told (its counts stay), and
    /// is remembered so a copy that arrives later is not observed.
    pub(super) fn forget_message(&mut self, id: &str, now: DateTime<Utc>) {
        self.withdrawn.insert(id, now);
        let found = self.engine.forget_message(id) | self.mechanics.forget_message(id);
        let mut told = false;
        for alert in self.told.values_mut() {
            told |= alert.withdraw_message(id);
        }
        AlertEvidenceWithdrawn { found: found || told }.emit();
    }
}

/// The key of [`StateFile::told`].
pub(super) fn told_key(role: RecipientRole, fingerprint: &str) -> String {
    format!("{}:{fingerprint}", role.as_str())
}

/// Reads the persisted state, or starts empty when there is none.
pub(super) fn load_state(dir: &Path, rules: &[Rule], now: DateTime<Utc>) -> anyhow::Result<StageState> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let file: StateFile = serde_json::from_slice(&bytes)
                .with_context(|| format!("alert state {} is not readable", path.display()))?;
            let (engine, mechanics) = file
                .state
                .restore(rules.to_vec())
                .with_context(|| format!("alert state {} cannot be restored", path.display()))?;
            Ok(StageState {
                engine,
                mechanics,
                sequences: file.sequences,
                last_digest: file.last_digest,
                told: file.told,
                withdrawn: file.withdrawn,
                erased: None,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The first digest goes out the morning after the first start, not at once.
            let today = now.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
            Ok(StageState {
                engine: Engine::new(rules.to_vec()),
                mechanics: Mechanics::new(rules),
                sequences: BTreeMap::new(),
                last_digest: Some(today),
                told: BTreeMap::new(),
                withdrawn: Withdrawn::default(),
                erased: None,
            })
        }
        Err(e) => Err(e).with_context(|| format!("cannot read alert state {}", path.display())),
    }
}

/// Writes the state atomically and durably (`onrust_durable::write_atomic`).
pub(super) fn save_state(dir: &Path, core: &StageState) -> anyhow::Result<()> {
    let file = StateFile {
        state: AlertState::capture(&core.engine, &core.mechanics),
        sequences: core.sequences.clone(),
        last_digest: core.last_digest,
        told: core.told.clone(),
        withdrawn: core.withdrawn.clone(),
    };
    let body = serde_json::to_vec(&file).context("serialising alert state")?;
    let path = dir.join(STATE_FILE);
    onrust_durable::write_atomic(&path, &body).with_context(|| format!("cannot save {}", path.display()))
}
