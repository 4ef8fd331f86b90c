//! onrust-alert: alert rules, windows, baselines, grouping, inhibition,
//! silences, acknowledgements, the notification log and the notifiers.
//!
//! The engine (rules, baselines, mechanics) turns scored messages into
//! [`alert::Alert`]s; [`notify`] renders them for people and feeds and
//! delivers them at least once, deduplicated, with every attempt logged.

pub mod alert;
pub mod notify;
