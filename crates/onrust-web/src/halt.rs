//! The halt switch (rule L13): one place that says whether onrust may take
//! in messages and send notifications, kept in `<data_dir>/halt.json`.
//!
//! # Why it is built this way
//!
//! - **A file in the data dir is the truth**, written through
//!   [`onrust_durable::write_atomic`] (temporary file, fsync, rename, folder
//!   fsync), so a halt survives a crash or a restart until someone resumes,
//!   and a daemon started while halted starts halted. The file holds the
//!   last change, halt or resume, with since when, by whom and why.
//! - **A `tokio::sync::watch` carries it to the stages** ([`HaltSwitch::halted`]):
//!   a receiver cannot lag or miss a change, and a task that starts later
//!   sees the current value at once. The source supervisor and the alert
//!   stage's delivery task observe it; the HTTP side reads it for `/readyz`,
//!   the API and the console's banner.
//! - **Every process polls the file each second** ([`HaltSwitch::follow_file`]),
//!   so processes that share a data dir (the roles of `onrust run --role …`
//!   on one machine) obey a halt made through any one of them within about a
//!   second. Processes on other machines have another data dir and do not
//!   see it (docs/ARCHITECTURE.md, "The halt switch").
//! - **A file that cannot be read is an error that names it**, never a
//!   panic and never a silent "not halted": at start the daemon refuses to
//!   run (someone halted it on purpose, and guessing could undo that); while
//!   running, the last state read stays in force and the problem is logged.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::internal_events::{HaltFileProblem, HaltStateChanged};

/// The file in the data dir.
pub const HALT_FILE: &str = "halt.json";

/// How often every process reads the file again.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The last change of the switch: halted or resumed, since when, by whom, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaltRecord {
    /// `true` after a halt, `false` after a resume.
    pub halted: bool,
    /// When this change was made.
    pub since: DateTime<Utc>,
    /// Who made it: the token's or account's name.
    pub by: String,
    /// Why, as they gave it.
    pub reason: String,
}

/// Why the halt file could not be read or written; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum HaltFileError {
    #[error("cannot read the halt file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "the halt file {path} is not a halt record ({source}); fix it, or remove it to run without a halt \
         (that resumes onrust)"
    )]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error("cannot write the halt file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Reads the halt file: `None` when there is none (never halted).
pub fn read_file(path: &Path) -> Result<Option<HaltRecord>, HaltFileError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(HaltFileError::Read { path: path.to_owned(), source }),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|source| HaltFileError::Corrupt { path: path.to_owned(), source })
}

/// Writes the halt file durably (see the module docs).
pub fn write_file(path: &Path, record: &HaltRecord) -> Result<(), HaltFileError> {
    let write = |source| HaltFileError::Write { path: path.to_owned(), source };
    let mut bytes = serde_json::to_vec_pretty(record).map_err(|e| write(std::io::Error::other(e)))?;
    bytes.push(b'\n');
    onrust_durable::write_atomic(path, &bytes).map_err(write)
}

/// The switch as one process holds it: the file, the last record read or
/// written, and the watch the stages observe.
#[derive(Debug)]
pub struct HaltSwitch {
    path: PathBuf,
    record: watch::Sender<Option<HaltRecord>>,
    halted: watch::Sender<bool>,
    /// One change at a time, so "already halted" is judged on the state the change replaces.
    changing: tokio::sync::Mutex<()>,
}

impl HaltSwitch {
    /// The switch of the data dir `data_dir`, as its file says now. A file
    /// that cannot be read is an error naming it.
    pub fn open(data_dir: &Path) -> Result<Self, HaltFileError> {
        let path = data_dir.join(HALT_FILE);
        let record = read_file(&path)?;
        Ok(Self::with(path, record))
    }

    /// A switch that is not halted and whose file is `path` (for tests and
    /// processes that cannot read a data dir).
    pub fn at(path: PathBuf) -> Self {
        Self::with(path, None)
    }

    fn with(path: PathBuf, record: Option<HaltRecord>) -> Self {
        let halted = record.as_ref().is_some_and(|r| r.halted);
        HaltStateChanged { record: record.as_ref(), at_start: true }.emit();
        Self {
            path,
            record: watch::Sender::new(record),
            halted: watch::Sender::new(halted),
            changing: tokio::sync::Mutex::new(()),
        }
    }

    /// The file this switch keeps.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last change, if there ever was one.
    pub fn current(&self) -> Option<HaltRecord> {
        self.record.borrow().clone()
    }

    /// The halt in force, if onrust is halted now.
    pub fn halt(&self) -> Option<HaltRecord> {
        self.current().filter(|r| r.halted)
    }

    /// Whether onrust is halted, as a watch: `true` while halted.
    pub fn halted(&self) -> watch::Receiver<bool> {
        self.halted.subscribe()
    }

    /// Begins a change: changes are made one at a time, so whether one
    /// changes anything is judged on the state it replaces. The guard is
    /// held across the audit append and the file write on purpose: it
    /// guards nothing but the order of changes (the follower only tries it),
    /// and a halt is recorded before it takes effect (rule L7).
    pub async fn begin(&self) -> HaltChange<'_> {
        HaltChange { switch: self, _one_at_a_time: self.changing.lock().await }
    }

    /// Takes `record` as the state now, telling the stages if halted-ness changed.
    fn apply(&self, record: Option<HaltRecord>) {
        if *self.record.borrow() == record {
            return;
        }
        HaltStateChanged { record: record.as_ref(), at_start: false }.emit();
        self.halted.send_replace(record.as_ref().is_some_and(|r| r.halted));
        self.record.send_replace(record);
    }

    /// Reads the file every [`POLL_INTERVAL`] until `stop` is true, and takes
    /// a change made by another process that shares the data dir. A file
    /// that cannot be read leaves the last state in force and is logged once
    /// per distinct problem.
    pub async fn follow_file(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_problem: Option<String> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let path = self.path.clone();
            let read = tokio::task::spawn_blocking(move || read_file(&path)).await;
            let read = match read {
                Ok(read) => read,
                Err(e) => Err(HaltFileError::Read { path: self.path.clone(), source: std::io::Error::other(e) }),
            };
            // Only this process's own writes are serialised; a change being
            // written here now is applied by `change` itself.
            let Ok(_not_changing) = self.changing.try_lock() else { continue };
            match read {
                Ok(record) => {
                    last_problem = None;
                    self.apply(record);
                }
                Err(error) => {
                    let problem = error.to_string();
                    if last_problem.as_deref() != Some(problem.as_str()) {
                        HaltFileProblem { error: &error }.emit();
                        last_problem = Some(problem);
                    }
                }
            }
        }
    }
}

/// A change under way ([`HaltSwitch::begin`]).
pub struct HaltChange<'a> {
    switch: &'a HaltSwitch,
    _one_at_a_time: tokio::sync::MutexGuard<'a, ()>,
}

impl HaltChange<'_> {
    /// Whether onrust is halted now.
    pub fn halted_now(&self) -> bool {
        *self.switch.halted.borrow()
    }

    /// The last change, if there ever was one.
    pub fn current(&self) -> Option<HaltRecord> {
        self.switch.current()
    }

    /// Halts (`halted`) or resumes onrust, by `by` for `reason`: writes the
    /// file durably, then tells the stages. A write that fails changes nothing.
    pub async fn make(self, halted: bool, by: &str, reason: &str) -> Result<HaltRecord, HaltFileError> {
        let record = HaltRecord { halted, since: Utc::now(), by: by.to_owned(), reason: reason.to_owned() };
        let (path, written) = (self.switch.path.clone(), record.clone());
        tokio::task::spawn_blocking(move || write_file(&path, &written))
            .await
            .map_err(|e| HaltFileError::Write { path: self.switch.path.clone(), source: std::io::Error::other(e) })??;
        self.switch.apply(Some(record.clone()));
        Ok(record)
    }
}

/// Waits until `halted` is false; returns `false` if `stop` came first (or
/// the switch is gone while halted).
pub async fn until_running(halted: &mut watch::Receiver<bool>, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        running = halted.wait_for(|h| !*h) => running.is_ok(),
        _ = stop.wait_for(|s| *s) => false,
    }
}

/// Waits until `halted` is true; never returns if the switch is gone.
pub async fn until_halted(halted: &mut watch::Receiver<bool>) {
    if halted.wait_for(|h| *h).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(halted: bool) -> HaltRecord {
        HaltRecord {
            halted,
            since: "2026-12-07T05:40:00Z".parse().unwrap(),
            by: "supervisor-utrecht".into(),
            reason: "DPIA herzien".into(),
        }
    }

    #[test]
    fn the_file_round_trips_and_a_missing_one_is_not_halted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HALT_FILE);
        assert_eq!(read_file(&path).unwrap(), None);
        write_file(&path, &record(true)).unwrap();
        assert_eq!(read_file(&path).unwrap(), Some(record(true)));
        let switch = HaltSwitch::open(dir.path()).unwrap();
        assert_eq!(switch.halt(), Some(record(true)), "a daemon started while halted starts halted");
        assert!(*switch.halted().borrow());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "owner-only, like every file in the data dir");
        }
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HALT_FILE);
        for bad in [&b"{\"halted\": tru"[..], b"", b"\xff\xfe", b"{\"halted\": true}", b"[1,2]"] {
            std::fs::write(&path, bad).unwrap();
            let error = HaltSwitch::open(dir.path()).unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, HaltFileError::Corrupt { .. }), "{message}");
            assert!(message.contains(&path.display().to_string()), "names the file: {message}");
            assert!(message.contains("remove it"), "says what to do: {message}");
        }
        let unknown =
            serde_json::json!({"halted": true, "since": "2026-12-07T05:40:00Z", "by": "x", "reason": "y", "extra": 1});
        std::fs::write(&path, unknown.to_string()).unwrap();
        assert!(matches!(read_file(&path), Err(HaltFileError::Corrupt { .. })), "unknown fields are refused");
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let message = read_file(&path).unwrap_err().to_string();
        assert!(message.starts_with("cannot read the halt file") && message.contains(HALT_FILE), "{message}");
    }

    #[tokio::test]
    async fn halt_and_resume_change_the_file_then_the_watch() {
        let dir = tempfile::tempdir().unwrap();
        let switch = HaltSwitch::open(dir.path()).unwrap();
        let mut halted = switch.halted();
        assert!(!*halted.borrow_and_update());
        let change = switch.begin().await;
        assert!(!change.halted_now());
        let made = change.make(true, "supervisor-utrecht", "DPIA herzien").await.unwrap();
        assert!(made.halted && made.by == "supervisor-utrecht");
        assert!(halted.has_changed().unwrap() && *halted.borrow_and_update());
        assert_eq!(read_file(switch.path()).unwrap(), Some(made.clone()), "durable before it is told");
        assert!(switch.begin().await.halted_now());
        assert_eq!(switch.halt(), Some(made));
        let resumed = switch.begin().await.make(false, "admin", "DPIA goedgekeurd").await.unwrap();
        assert!(!resumed.halted && !*halted.borrow_and_update());
        assert_eq!(switch.halt(), None);
        assert_eq!(read_file(switch.path()).unwrap(), Some(resumed));
    }

    #[tokio::test]
    async fn a_write_that_fails_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let switch = HaltSwitch::at(dir.path().join("absent").join(HALT_FILE));
        let error = switch.begin().await.make(true, "admin", "x").await.unwrap_err();
        assert!(error.to_string().contains("cannot write the halt file"), "{error}");
        assert!(switch.halt().is_none() && !*switch.halted().borrow());
    }

    #[tokio::test]
    async fn a_change_by_another_process_is_followed_and_a_broken_file_keeps_the_last_state() {
        let dir = tempfile::tempdir().unwrap();
        let switch = Arc::new(HaltSwitch::open(dir.path()).unwrap());
        let (stop_tx, stop_rx) = watch::channel(false);
        let follower = tokio::spawn(Arc::clone(&switch).follow_file(stop_rx));
        let mut halted = switch.halted();
        // Another process sharing the data dir halts.
        write_file(switch.path(), &record(true)).unwrap();
        tokio::time::timeout(Duration::from_secs(5), halted.wait_for(|h| *h)).await.unwrap().unwrap();
        assert_eq!(switch.halt(), Some(record(true)));
        std::fs::write(switch.path(), b"not json").unwrap();
        tokio::time::sleep(POLL_INTERVAL * 2).await;
        assert!(*halted.borrow(), "a broken file does not resume");
        write_file(switch.path(), &record(false)).unwrap();
        tokio::time::timeout(Duration::from_secs(5), halted.wait_for(|h| !*h)).await.unwrap().unwrap();
        stop_tx.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), follower).await.unwrap().unwrap();
    }
}
