//! End-to-end tests: the real `onrust` binary against local feed servers.
//! One test binary, small helpers in `onrust_tests` (ripgrep style).

mod alert_flows;
mod alerts;
mod api;
mod archive;
mod backtest;
mod bad_sources;
mod cli;
mod kafka;
mod metrics;
mod pipeline;
mod sources;
