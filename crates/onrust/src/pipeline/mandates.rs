//! Mandates at run time (rule L5): what is in force today, on Europe/
//! Amsterdam dates. At start the daemon records mandate changes in the audit
//! log and the first trial day in the data directory, and logs each mandate;
//! then a clock checks the date every [`TICK`]: a source runs only while its
//! mandate is in force (it waits for the start and stops at the end, keeping
//! its cursor), a rule is paused outside it, and `onrust_mandate_days_left`
//! and a daily warning from 14 days before the end tell the admin.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use tokio::sync::watch;

use crate::config::Config;
use crate::config::mandates::{self, Mandate, MandateRecord, Standing, amsterdam_date, warns};
use crate::internal_events::MandateDaysLeft;

/// How often the clock looks at the date: a day's change takes effect within this.
pub const TICK: Duration = Duration::from_secs(30);

/// Who the mandate records in the audit log are from.
pub const AUDIT_WHO: &str = "onrust:mandates";
/// The audit action of a mandate change.
pub const CHANGE_ACTION: &str = "mandate_change";

/// The configured mandates and which are in force, watched by sources.
pub struct MandateClock {
    mandates: Vec<Mandate>,
    trial_started: Option<NaiveDate>,
    in_force: watch::Sender<BTreeSet<String>>,
}

/// The ids of the mandates in force on `today`.
pub fn ids_in_force(mandates: &[Mandate], trial_started: Option<NaiveDate>, today: NaiveDate) -> BTreeSet<String> {
    mandates::in_force(mandates, trial_started, today).into_iter().map(|m| m.id.clone()).collect()
}

/// The rules (by name) whose mandate is not in force: the engine pauses them.
pub fn paused_rules(rules: &[onrust_alert::Rule], in_force: &BTreeSet<String>) -> Vec<String> {
    rules.iter().filter(|r| !in_force.contains(&r.mandate)).map(|r| r.name.clone()).collect()
}

impl MandateClock {
    /// The clock for `mandates`, in force as of `today`.
    pub fn new(mandates: Vec<Mandate>, trial_started: Option<NaiveDate>, today: NaiveDate) -> Self {
        let (in_force, _) = watch::channel(ids_in_force(&mandates, trial_started, today));
        Self { mandates, trial_started, in_force }
    }

    pub fn subscribe(&self) -> watch::Receiver<BTreeSet<String>> {
        self.in_force.subscribe()
    }

    pub fn in_force(&self) -> BTreeSet<String> {
        self.in_force.borrow().clone()
    }

    pub fn mandates(&self) -> &[Mandate] {
        &self.mandates
    }

    pub fn trial_started(&self) -> Option<NaiveDate> {
        self.trial_started
    }

    /// Looks at `today`: what came into force and what ended since the last look.
    fn tick(&self, today: NaiveDate) -> (Vec<String>, Vec<String>) {
        let now = ids_in_force(&self.mandates, self.trial_started, today);
        let before = self.in_force.borrow().clone();
        let started: Vec<String> = now.difference(&before).cloned().collect();
        let ended: Vec<String> = before.difference(&now).cloned().collect();
        if !started.is_empty() || !ended.is_empty() {
            self.in_force.send_replace(now);
        }
        (started, ended)
    }

    /// Sets the gauge and, when `warn`, logs each mandate near its end.
    fn report(&self, today: NaiveDate, warn: bool) {
        for mandate in &self.mandates {
            let (_, end) = mandate.window(self.trial_started, today);
            let days_left = (end - today).num_days();
            MandateDaysLeft { mandate: &mandate.id, days: days_left }.emit();
            if let Standing::InForce { days_left } = mandate.standing(self.trial_started, today)
                && warn
                && warns(days_left)
            {
                if mandate.is_trial() {
                    tracing::warn!(mandate = %mandate.id, ends = %end, days_left, "the trial mandate ends soon: record a mandate ([[mandates]] with purpose, legal_basis, decided_by, dpia, start and end) for its sources and rules, or they stop");
                } else {
                    tracing::warn!(mandate = %mandate.id, ends = %end, days_left, "mandate ends soon: its sources and rules stop after its last day unless a new mandate is recorded");
                }
            }
        }
    }
}

/// Which mandates in force cover an API search, for `onrust-web`.
pub struct SearchCoverage(pub Arc<MandateClock>);

impl onrust_web::SearchMandates for SearchCoverage {
    fn covering(&self, request: &onrust_archive::SearchRequest) -> Vec<String> {
        let clock = &self.0;
        mandates::covering_search(
            clock.mandates(),
            clock.trial_started(),
            amsterdam_date(Utc::now()),
            request.municipality.as_ref().map(onrust_model::MunicipalityCode::as_str),
            request.theme.as_deref(),
            request.source_kind.as_deref(),
        )
    }
}

/// At start: compares the configured mandates with the ones the data
/// directory last ran with, records every change in the audit log
/// (`mandate_change`, before the record is updated, so none is lost), fixes
/// the first trial day, and logs each mandate. Returns the clock.
pub fn start(config: &Config) -> anyhow::Result<Arc<MandateClock>> {
    let today = amsterdam_date(Utc::now());
    let before = MandateRecord::load(&config.data_dir).map_err(anyhow::Error::msg)?;
    let (changes, after) = before.update(&config.mandates, today);
    for change in &changes {
        let described = config.mandates.iter().find(|m| m.id == change.id);
        let entry = onrust_audit::AuditEntry {
            who: AUDIT_WHO.to_owned(),
            action: CHANGE_ACTION.to_owned(),
            query: None,
            filters: change_details(change, described, after.trial_started, today),
            hits: None,
            refused: None,
            mandates: vec![change.id.clone()],
        };
        onrust_audit::append(&config.audit_path(), entry)
            .with_context(|| format!("recording the change of mandate {} in the audit log", change.id))?;
    }
    if after != before {
        after.save(&config.data_dir).map_err(anyhow::Error::msg)?;
    }
    let clock = MandateClock::new(config.mandates.clone(), after.trial_started, today);
    for mandate in clock.mandates() {
        let (start, end) = mandate.window(clock.trial_started, today);
        let standing = mandate.standing(clock.trial_started, today);
        let sources = config.sources.iter().filter(|s| s.mandate.as_deref() == Some(&mandate.id)).count();
        let rules = config.rules.iter().filter(|r| r.mandate == mandate.id).count();
        match standing {
            Standing::InForce { days_left } if mandate.is_trial() => tracing::warn!(
                mandate = %mandate.id, since = %start, ends = %end, days_left, sources, rules,
                "this is a TRIAL mandate: public news and authorities only, nothing is mailed; it ends on {end}, \
                 after that onrust refuses its sources until a mandate is recorded"
            ),
            Standing::InForce { days_left } => {
                tracing::info!(mandate = %mandate.id, ends = %end, days_left, sources, rules, "mandate in force")
            }
            Standing::NotYet { starts } => {
                tracing::info!(mandate = %mandate.id, starts = %starts, sources, rules, "mandate not in force yet: its sources and rules wait for its start")
            }
            Standing::Ended { ended } => {
                tracing::warn!(mandate = %mandate.id, ended = %ended, "mandate has ended: nothing runs under it")
            }
        }
    }
    clock.report(today, true);
    Ok(Arc::new(clock))
}

/// What a `mandate_change` record says: the change and the mandate as configured now.
fn change_details(
    change: &mandates::MandateChange,
    mandate: Option<&Mandate>,
    trial_started: Option<NaiveDate>,
    today: NaiveDate,
) -> serde_json::Value {
    let Some(m) = mandate else {
        return serde_json::json!({ "mandate": change.id, "change": change.change });
    };
    let (start, end) = m.window(trial_started, today);
    serde_json::json!({
        "mandate": m.id,
        "change": change.change,
        "purpose": m.purpose,
        "legal_basis": m.legal_basis,
        "decided_by": m.decided_by,
        "dpia": m.dpia,
        "start": start.to_string(),
        "end": end.to_string(),
        "trial": m.is_trial(),
        "scope": m.scope_line(),
    })
}

/// Keeps time until `stop`: moves sources and rules with the date, sets
/// `onrust_mandate_days_left`, and warns once a day about mandates near their end.
pub async fn keep_time(
    clock: Arc<MandateClock>,
    alerts: Option<(crate::pipeline::alert::AlertHandle, Vec<onrust_alert::Rule>)>,
    mut stop: watch::Receiver<bool>,
) {
    let mut warned = amsterdam_date(Utc::now());
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(TICK) => {}
        }
        let today = amsterdam_date(Utc::now());
        let (started, ended) = clock.tick(today);
        for id in &started {
            tracing::info!(mandate = %id, "mandate in force from today: its sources and rules start");
        }
        for id in &ended {
            tracing::warn!(mandate = %id, "mandate ended: its sources stop (their cursors are kept) and its rules make no more alerts");
        }
        if (!started.is_empty() || !ended.is_empty())
            && let Some((handle, rules)) = &alerts
            && let Err(e) = handle.pause_rules(paused_rules(rules, &clock.in_force()))
        {
            tracing::error!(error = %format!("{e:#}"), "cannot pause the rules of an ended mandate");
        }
        clock.report(today, today != warned);
        warned = today;
    }
}

/// Runs a source only while `mandate` is in force: waits for it, starts the
/// source with its own stop signal, stops it when the mandate ends (the
/// source stores its cursor as on any stop) and waits again. `hold` are the
/// hand-overs to the forwarder, kept open until the daemon stops, so a
/// stopped source does not end the pipeline.
pub async fn while_in_force<H: Send>(
    mandate: String,
    mut in_force: watch::Receiver<BTreeSet<String>>,
    mut stop: watch::Receiver<bool>,
    mut start: impl FnMut(watch::Receiver<bool>) -> anyhow::Result<super::ingest::SourceTask> + Send,
    hold: H,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            seen = in_force.wait_for(|ids| ids.contains(&mandate)) => if seen.is_err() { break },
        }
        let (source_stop, source_stop_rx) = watch::channel(false);
        let mut task = start(source_stop_rx)?;
        // Whether to wait for the mandate again: only when it ended, not
        // when the daemon stops or the source ended on its own.
        let mandate_ended = tokio::select! {
            () = &mut task => break,
            _ = stop.wait_for(|s| *s) => false,
            _ = in_force.wait_for(|ids| !ids.contains(&mandate)) => true,
        };
        source_stop.send_replace(true);
        task.await;
        if !mandate_ended || *stop.borrow() {
            break;
        }
    }
    drop(hold);
    Ok(())
}

#[cfg(test)]
mod tests;
