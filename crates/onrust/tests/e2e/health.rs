//! `onrust health` against the real daemon: exit 0 when it is ready, 1 with
//! one line that says why when it is not (the container healthcheck).

use std::net::TcpListener;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{Install, write_secret};

fn said(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn health_is_0_while_the_daemon_is_ready_and_1_with_the_reason_when_it_is_gone() {
    let install = Install::new(&[]);
    let daemon = install.start();
    let out = install.cli(&["health"]);
    let (stdout, stderr) = said(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stdout.trim(), format!("ready: onrust at 127.0.0.1:{}", install.port));

    assert_eq!(daemon.terminate().0, Some(0));
    let out = install.cli(&["health"]);
    let (stdout, stderr) = said(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.starts_with(&format!("not ready: cannot reach onrust at 127.0.0.1:{}; is it running?", install.port)),
        "{stderr}"
    );
}

#[test]
fn health_presents_the_monitor_token_and_says_when_it_is_refused() {
    let install = Install::new(&[]);
    let token = install.dir.path().join("monitor-token");
    write_secret(&token, "monitor-token-of-this-test-0123456789\n");
    let config = std::fs::read_to_string(&install.config).expect("config");
    let with_token = config.replace("[http]\n", &format!("[http]\ntoken_file = {:?}\n", token));
    std::fs::write(&install.config, &with_token).expect("config");
    let _daemon = install.start_with_token(&token);

    // The same configuration as the daemon: its token, so ready.
    let out = install.cli(&["health"]);
    let (stdout, stderr) = said(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");

    // Another token: refused, and the message says which file to look at, never the token.
    let wrong = install.dir.path().join("wrong-token");
    write_secret(&wrong, "not-the-monitor-token-0123456789");
    let other = install.dir.path().join("other.toml");
    std::fs::write(&other, config.replace("[http]\n", &format!("[http]\ntoken_file = {:?}\n", wrong))).expect("config");
    let out = install.cli_with(&other, &["health"]);
    let (_, stderr) = said(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("answered 401: it refused the token in http.token_file"), "{stderr}");
    assert!(!stderr.contains("not-the-monitor-token"), "the token is never printed: {stderr}");

    // No token at all: the daemon wants one.
    let bare = install.dir.path().join("bare.toml");
    std::fs::write(&bare, &config).expect("config");
    let out = install.cli_with(&bare, &["health"]);
    let (_, stderr) = said(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("answered 401: it wants the monitor token; set http.token_file"), "{stderr}");
}

#[test]
fn health_gives_up_on_a_listener_that_does_not_answer() {
    // Accepts connections (the kernel does) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    let install = Install::new(&[]);
    let started = Instant::now();
    let out = install.cli(&["health", "--listen", &addr.to_string(), "--timeout", "500ms"]);
    let (_, stderr) = said(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with(&format!("not ready: onrust at {addr} did not answer within 500ms")), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "it gave up in time");
}
