//! The Python that the tests' outside programs run on.

use std::process::{Command, Stdio};

/// The first Python that can import `module`: `ONRUST_TEST_PYTHON`, else the
/// system one (Debian's packages install for /usr/bin/python3, which a venv
/// or pyenv `python3` on `PATH` may shadow), else `python3`. `None` when no
/// candidate has it; the caller says what to install.
pub fn python_with(module: &str) -> Option<String> {
    let candidates =
        [std::env::var("ONRUST_TEST_PYTHON").ok(), Some("/usr/bin/python3".into()), Some("python3".into())];
    candidates.into_iter().flatten().find(|candidate| {
        Command::new(candidate)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}
