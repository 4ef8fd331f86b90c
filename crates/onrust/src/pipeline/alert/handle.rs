//! The alert state as the alerts API and the CLI reach it: every change is
//! saved under the lock the stage saves under before it is answered.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{DateTime, Utc};
use onrust_alert::{Alert, Mechanics, Silence, SilenceRequest, Undelivered};
use onrust_model::MunicipalityCode;
use onrust_notify::log::Outbox;
use onrust_web::alerts::{AlertBackend, AlertBackendError, BackendFuture, Names};
use tokio::sync::Notify;

use super::state::{StageState, load_state, save_state};
use super::{Clock, Settings};
use crate::internal_events::AlertAcknowledged;

/// The alert state shared by the stage and the alerts API: every change the
/// API makes is saved (under the same lock the stage saves under) before it
/// is answered, and told at the stage's next round. It holds the outbox too,
/// so a person can send a failed notification again through the API.
#[derive(Clone)]
pub struct AlertHandle {
    pub(super) core: Arc<Mutex<StageState>>,
    pub(super) dir: PathBuf,
    pub(super) names: Names,
    pub(super) clock: Clock,
    pub(super) outbox: Arc<tokio::sync::Mutex<Outbox>>,
    /// Wakes the delivery task when something is due at once.
    pub(super) wake: Arc<Notify>,
    /// The municipalities a silence may name: the region's, or without a
    /// `[region]` every one the gazetteer knows.
    pub(super) places: Vec<MunicipalityCode>,
}

impl AlertHandle {
    /// Pauses exactly these rules (by name): their mandate is not in force
    /// (rule L5). Their alerts resolve at the next evaluation.
    pub fn pause_rules(&self, names: Vec<String>) -> anyhow::Result<()> {
        let mut core = self.core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
        core.engine.set_paused_rules(names);
        Ok(())
    }

    /// Restores the persisted state (or starts empty), opens the outbox (one
    /// owner at a time, R7) and names the municipalities.
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        onrust_durable::create_private_dir_all(&settings.dir)
            .with_context(|| format!("cannot create the alerts folder {}", settings.dir.display()))?;
        let mut core = load_state(&settings.dir, &settings.rules, settings.clock.now())?;
        core.engine.set_municipality_names(settings.names.clone());
        core.engine.set_region(settings.region.iter().cloned(), [settings.region_name.clone()]);
        let names = Names { region: settings.region_name.clone(), municipalities: settings.names.clone() };
        let outbox = Outbox::open(&settings.dir, settings.retry).context("opening the alert outbox")?;
        let places = if settings.region.is_empty() {
            settings.names.iter().map(|(code, _)| code.clone()).collect()
        } else {
            settings.region.clone()
        };
        Ok(Self {
            core: Arc::new(Mutex::new(core)),
            dir: settings.dir.clone(),
            names,
            clock: settings.clock.clone(),
            outbox: Arc::new(tokio::sync::Mutex::new(outbox)),
            wake: Arc::new(Notify::new()),
            places,
        })
    }

    /// A silence's `municipality` value as the alerts carry it: a CBS code of
    /// the region (written as onrust writes it), `onbekend` for the alerts
    /// without a known place, or empty for the region-wide ones. Anything
    /// else would silence nothing, quietly: refused.
    fn silence_place(&self, value: &str) -> Result<String, AlertBackendError> {
        if value.is_empty() || value == onrust_alert::UNPLACED_LABEL {
            return Ok(value.to_owned());
        }
        match MunicipalityCode::new(value.to_owned()) {
            Ok(code) if self.places.contains(&code) => Ok(code.as_str().to_owned()),
            _ => Err(onrust_alert::MechanicsError::UnknownMunicipality(value.to_owned()).into()),
        }
    }

    fn change<T>(
        &self,
        f: impl FnOnce(&mut Mechanics, DateTime<Utc>) -> Result<T, onrust_alert::MechanicsError>,
    ) -> Result<T, AlertBackendError> {
        let mut core = self.core.lock().map_err(|_| AlertBackendError::unavailable("alert state lock poisoned"))?;
        let out = f(&mut core.mechanics, self.clock.now())?;
        save_state(&self.dir, &core).map_err(AlertBackendError::unavailable)?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Mechanics) -> T) -> Result<T, AlertBackendError> {
        let core = self.core.lock().map_err(|_| AlertBackendError::unavailable("alert state lock poisoned"))?;
        Ok(f(&core.mechanics))
    }
}

impl AlertBackend for AlertHandle {
    fn list(&self) -> Result<Vec<Alert>, AlertBackendError> {
        self.read(|m| {
            let mut alerts: Vec<Alert> = m.alerts().cloned().collect();
            alerts.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
            alerts
        })
    }
    fn show(&self, fingerprint: &str) -> Result<Option<Alert>, AlertBackendError> {
        self.read(|m| m.alert(fingerprint).cloned())
    }
    fn confirm(&self, fingerprint: &str, who: &str, reason: &str) -> Result<Alert, AlertBackendError> {
        self.change(|m, now| m.confirm(fingerprint, who, reason, now))
    }
    fn acknowledge(&self, fingerprint: &str, who: &str, comment: &str) -> Result<Alert, AlertBackendError> {
        let alert = self.change(|m, now| m.acknowledge(fingerprint, who, comment, now))?;
        AlertAcknowledged { rule: &alert.rule, severity: alert.severity.as_str() }.emit();
        Ok(alert)
    }
    fn silence(&self, mut request: SilenceRequest) -> Result<String, AlertBackendError> {
        for matcher in request.matchers.iter_mut().filter(|m| m.label == "municipality") {
            matcher.value = self.silence_place(&matcher.value)?;
        }
        self.change(|m, now| m.add_silence(request, now))
    }
    fn dismiss(&self, fingerprint: &str, who: &str, reason: &str) -> Result<Alert, AlertBackendError> {
        self.change(|m, now| m.dismiss(fingerprint, who, reason, now))
    }
    fn silences(&self) -> Result<Vec<Silence>, AlertBackendError> {
        let now = self.clock.now();
        self.read(|m| m.silences().filter(|s| s.ends_at > now).cloned().collect())
    }
    fn expire_silence(&self, id: &str) -> Result<Silence, AlertBackendError> {
        self.change(|m, _| m.expire_silence(id))
    }
    fn names(&self) -> Names {
        self.names.clone()
    }
    fn undelivered(&self) -> BackendFuture<'_, Vec<Undelivered>> {
        Box::pin(async move { Ok(self.outbox.lock().await.undelivered()) })
    }
    fn resend<'a>(
        &'a self,
        fingerprint: &'a str,
        who: &'a str,
        reason: &'a str,
    ) -> BackendFuture<'a, Vec<Undelivered>> {
        Box::pin(async move {
            let resent =
                self.outbox.lock().await.resend(fingerprint, who, reason).map_err(|e| {
                    AlertBackendError::unavailable(anyhow::Error::new(e).context("the notification log"))
                })?;
            if !resent.is_empty() {
                self.wake.notify_one();
            }
            Ok(resent)
        })
    }
}
