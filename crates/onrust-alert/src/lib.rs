//! onrust-alert: alert rules, windows, baselines, grouping, inhibition,
//! silences, acknowledgements, the notification log and the notifiers.
//!
//! Not built yet: this crate holds its place in the flow of DESIGN.md
//! (scored → alert engine → email, webhook, Atom, ICS) so the workspace
//! shows the whole flow. Nothing depends on it and the daemon does not
//! start an alert stage until it exists.
