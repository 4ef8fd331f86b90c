//! Every program outside the repository that the end-to-end tests start, in
//! one place. Each finder returns the program to run, or fails the test with
//! what is missing and how to get it: a test that needs a service never
//! skips silently. `scripts/bootstrap` installs all of them. The SMTP sink
//! (python3 with aiosmtpd) is the workspace's shared one,
//! `onrust_testkit::SmtpSink`, which says the same when it cannot start.

use std::path::PathBuf;

use onrust_testkit::python_with;

/// A program on `PATH`, or where an installer puts it.
fn find(name: &str, also: &[PathBuf]) -> Option<PathBuf> {
    let on_path =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|c| c.is_file()));
    on_path.or_else(|| also.iter().find(|c| c.is_file()).cloned())
}

fn missing(what: &str, how: &str) -> ! {
    panic!("this test needs {what}, which is not installed: {how} (scripts/bootstrap installs it)")
}

/// tansu, a Kafka-protocol broker (`TANSU` overrides).
pub fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU") {
        return PathBuf::from(path);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let installed: Vec<PathBuf> = cargo_home.map(|c| c.join("bin/tansu")).into_iter().collect();
    find("tansu", &installed)
        .unwrap_or_else(|| missing("the tansu broker", "cargo install tansu --locked --features dynostore"))
}

/// Prometheus, the real server the metrics tests scrape with.
pub fn prometheus() -> PathBuf {
    find("prometheus", &[]).unwrap_or_else(|| missing("prometheus", "apt-get install prometheus"))
}

/// promtool, which checks the shipped Prometheus configuration and rules.
pub fn promtool() -> PathBuf {
    find("promtool", &[]).unwrap_or_else(|| missing("promtool", "apt-get install prometheus"))
}

/// The Python that has PyYAML, which reads docker/compose.yaml as Compose
/// does (anchors, merge keys): `ONRUST_TEST_PYTHON`, else the system one,
/// else `python3`.
pub fn python_with_yaml() -> String {
    python_with("yaml").unwrap_or_else(|| missing("python3 with PyYAML", "apt-get install python3-yaml"))
}
