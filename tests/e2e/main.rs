//! End-to-end tests: the real `onrust` binary against local feed servers.
//! One test binary, small helpers in `onrust_tests` (ripgrep style).

mod alerts;
mod api;
mod archive;
mod bad_sources;
mod cli;
mod metrics;
mod pipeline;
