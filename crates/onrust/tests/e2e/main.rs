//! End-to-end tests: the real `onrust` binary against local feed servers.
//! One test binary, small helpers in `support` (ripgrep style); the binary
//! under test is the one cargo built for this run (`CARGO_BIN_EXE_onrust`).

mod services;
mod support;

mod alert_flows;
mod alerts;
mod api;
mod archive;
mod backtest;
mod bad_sources;
mod browser;
mod cli;
mod console;
mod delivery;
mod docker;
mod erase;
mod fg_report;
mod halt;
mod hardening;
mod health;
mod kafka;
mod links;
mod mandates;
mod metrics;
mod pipeline;
mod places;
mod repository;
mod retention;
mod sources;
mod subscriptions;
mod transparency;
