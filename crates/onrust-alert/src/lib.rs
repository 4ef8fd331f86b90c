//! onrust-alert: the alert engine.
//!
//! Work in progress; see the module docs.

pub mod alert;
pub mod baseline;
pub mod calendar;
pub mod engine;
pub mod rule;

pub use alert::{Alert, AlertStatus, EXCERPT_MAX_CHARS, Evidence, RuleKind, Severity, excerpt, fingerprint};
pub use rule::{Label, Rule, RuleConfig, RuleProblem, Scope, validate};
