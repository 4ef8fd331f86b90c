//! Issue 18, as an attacker on this machine or on the listener would try it:
//! connections held open, a descriptor limit too small, files others can
//! read, a torn or cut audit log, a spoofed `$USER`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{FeedServer, Install, Reply, files_under, onrust_bin, rss};
use onrust_testkit::found_within_every;

fn feed(body: Vec<u8>) -> Reply {
    Reply::Feed { body, content_type: "application/rss+xml", etag: None }
}

/// The value of one sample on /metrics, by its exact name and labels as rendered.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// Finding 1: 600 clients that send half a request line and then nothing,
/// against a daemon that may open 400 descriptors. The listener serves 50
/// at a time until the head timeout and answers the rest 503; the archive
/// keeps archiving, health answers again, and the process stays up.
#[test]
fn clients_holding_connections_stop_neither_the_stages_nor_the_process() {
    let server = FeedServer::start();
    server.route("/regio.xml", feed(rss("voor", 5)));
    let install = Install::new(&[("regio", server.url("/regio.xml"))]);
    install.http_settings("max_connections = 50\nheader_timeout = \"1s\"\nidle_timeout = \"5s\"");
    let mut daemon = install.start_in_shell("ulimit -n 400");
    assert_eq!(install.wait_count("demonstratie", 5, Duration::from_secs(30)), 5);

    let mut held: Vec<TcpStream> = (0..600)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", install.port)).expect("connect");
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n");
            stream
        })
        .collect();
    // News arrives while they hold on: the next poll (every 10 s) must reach the archive.
    server.route("/regio.xml", feed(rss("na", 5)));
    let started = Instant::now();
    let healthy = found_within_every(Duration::from_secs(10), Duration::from_millis(100), || {
        matches!(daemon.get("/healthz"), Some((200, _))).then(|| started.elapsed())
    });
    let healthy = healthy.unwrap_or_else(|| panic!("/healthz never answered; stderr:\n{}", daemon.stderr()));
    assert!(healthy < Duration::from_secs(5), "health answered only after {healthy:?}");
    // Every held connection was closed by the daemon: beyond the limit at once, the rest at the head timeout.
    for stream in &mut held {
        stream.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
        let mut rest = Vec::new();
        match stream.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("a held connection is still open after the head timeout: {e}"),
        }
    }
    assert_eq!(install.wait_count("demonstratie", 10, Duration::from_secs(40)), 10, "the archive kept archiving");
    assert!(daemon.running(), "the process stayed up; stderr:\n{}", daemon.stderr());
    assert!(matches!(daemon.get("/readyz"), Some((200, _))), "still ready");
    let metrics = daemon.get("/metrics").map(|(_, body)| body).unwrap_or_default();
    let refused = sample(&metrics, "onrust_http_connections_closed_total{outcome=\"limit\"}").unwrap_or(0.0);
    let timed_out = sample(&metrics, "onrust_http_connections_closed_total{outcome=\"header_timeout\"}").unwrap_or(0.0);
    // How the 600 divide depends on the machine's speed: while they connect,
    // early ones already time out and free their slots. Every one is closed
    // one way or the other, some by the limit and some by the head timeout.
    assert!(
        refused + timed_out >= 600.0 && refused >= 1.0 && timed_out >= 40.0,
        "refused {refused}, timed out {timed_out}:\n{metrics}"
    );
    let stderr = daemon.stderr();
    assert!(stderr.contains("http connection limit reached"), "{stderr}");
    assert!(!stderr.contains("stage failed"), "{stderr}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0), "a clean stop after the attack");
}

/// The start-up check: a limit that cannot cover the connections and the
/// stages stops the daemon with the numbers and the ways out; a soft limit
/// below a hard one that covers them is raised.
#[test]
fn a_descriptor_limit_too_small_for_the_configuration_is_refused_or_raised() {
    let install = Install::new(&[]);
    install.http_settings("max_connections = 500");
    let daemon = install.spawn_in_shell("ulimit -n 300");
    let stderr_path = daemon.stderr_path.clone();
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)), Some(1));
    let stderr = std::fs::read_to_string(stderr_path).unwrap_or_default();
    assert!(
        stderr.contains("may open 300 files and connections")
            && stderr.contains("500 for http.max_connections")
            && stderr.contains("ulimit -n"),
        "{stderr}"
    );
    let daemon = install.start_in_shell("ulimit -Sn 300 && ulimit -Hn 2000");
    assert!(daemon.stderr().contains("raised the file-descriptor limit to the hard limit"), "{}", daemon.stderr());
    assert_eq!(daemon.terminate().0, Some(0));
}

/// Finding 5: under `umask 000` the daemon and the CLI still create every
/// file 0600 in 0700 folders, and a data dir left open by hand is tightened
/// at start, with a log line.
#[test]
fn the_data_dir_is_its_owners_only_whatever_the_umask() {
    let server = FeedServer::start();
    server.route("/regio.xml", feed(rss("perm", 3)));
    let install = Install::new(&[("regio", server.url("/regio.xml"))]);
    let data = install.data_dir();
    std::fs::create_dir_all(data.join("oud")).expect("dirs");
    std::fs::write(data.join("oud/notities.txt"), "van een oudere versie").expect("file");
    for (path, mode) in [(data.clone(), 0o755), (data.join("oud"), 0o755), (data.join("oud/notities.txt"), 0o644)] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let daemon = install.start_in_shell("umask 000");
    assert_eq!(install.wait_count("demonstratie", 3, Duration::from_secs(30)), 3);
    // The CLI under the same umask: its audit record goes into the same private log.
    let searched = Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" search demonstratie --count --config \"$1\""])
        .arg(onrust_bin())
        .arg(&install.config)
        .output()
        .expect("search");
    assert!(searched.status.success(), "{}", String::from_utf8_lossy(&searched.stderr));
    let stderr = daemon.stderr();
    assert_eq!(daemon.terminate().0, Some(0));
    assert!(stderr.contains("they are now its owner's only"), "the tightening is logged:\n{stderr}");

    let files = files_under(&data);
    for expected in ["audit/audit.jsonl", "audit/audit.jsonl.head", "oud/notities.txt"] {
        assert!(files.contains(&data.join(expected)), "{expected} in {files:?}");
    }
    for part in ["archive", "cursors", "alerts"] {
        assert!(files.iter().any(|f| f.starts_with(data.join(part))), "files under {part}: {files:?}");
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
        let mut dir = file.parent();
        while let Some(folder) = dir.filter(|d| d.starts_with(&data)) {
            assert_eq!(mode(folder), 0o700, "{}", folder.display());
            dir = folder.parent();
        }
    }
}

/// Finding 5: a token file others can read is refused by check-config and
/// run alike, naming the file, its mode and the fix.
#[test]
fn check_config_and_run_refuse_a_token_file_others_can_read() {
    let install = Install::new(&[]);
    let token = install.dir.path().join("monitor.token");
    std::fs::write(&token, "monitor-token-van-voldoende-lengte\n").expect("token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    install.http_settings(&format!("token_file = {token:?}"));
    let expected = format!("http.token_file: {} has mode 0644", token.display());
    let checked = install.cli(&["check-config"]);
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(!checked.status.success() && stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains(&format!("chmod 600 {}", token.display())), "{stderr}");
    let daemon = install.spawn_in_shell("true");
    let stderr_path = daemon.stderr_path.clone();
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)), Some(1));
    let stderr = std::fs::read_to_string(stderr_path).unwrap_or_default();
    assert!(stderr.contains(&expected), "{stderr}");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let checked = install.cli(&["check-config"]);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
}

/// Finding 3: a torn last audit line no longer blocks searching: `run` moves
/// it aside at start with a record; and removing the newest records is
/// reported by `onrust audit verify`, with the line.
#[test]
fn a_torn_audit_line_is_moved_aside_at_start_and_a_cut_log_fails_verify() {
    let install = Install::new(&[]);
    let analyst = install.add_token("analist-utrecht", "analyst");
    // A first run makes the archive, which the CLI searches.
    assert_eq!(install.start().terminate().0, Some(0));
    for _ in 0..3 {
        assert_eq!(install.count("rellen"), 0);
    }
    let log = install.data_dir().join("audit/audit.jsonl");
    let mut text = std::fs::read_to_string(&log).expect("log");
    text.push_str(r#"{"seq":3,"at":"2026-12-06T1"#);
    std::fs::write(&log, &text).expect("tear the last line");

    let daemon = install.start();
    let stderr = daemon.stderr();
    assert!(stderr.contains("moved it aside"), "{stderr}");
    let (status, body) = daemon.get_as("/api/v1/search?q=rellen", Some(&analyst)).expect("search");
    assert_eq!(status, 200, "{body}");
    assert_eq!(install.count("rellen"), 0, "the CLI searches too");
    assert_eq!(daemon.terminate().0, Some(0));
    let torn: Vec<_> = files_under(&install.data_dir().join("audit"))
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("audit.jsonl.torn-")))
        .collect();
    assert_eq!(torn.len(), 1, "{torn:?}");
    assert_eq!(std::fs::read_to_string(&torn[0]).expect("torn"), r#"{"seq":3,"at":"2026-12-06T1"#);
    let verified = install.cli(&["audit", "verify"]);
    let out = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success() && out.contains("7 records, chain intact"), "{out}");

    // Deleting the newest two records still leaves a valid chain; the checkpoint finds it.
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&log, lines[..lines.len() - 2].join("\n") + "\n").expect("cut");
    let verified = install.cli(&["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&verified.stderr);
    assert!(!verified.status.success(), "a cut log does not verify");
    assert!(stderr.contains("line 6:") && stderr.contains("the last 2 records were removed"), "{stderr}");
}

/// Finding 8: the CLI's audit identity is the account running it, whatever
/// `$USER` and `$LOGNAME` say, newline and all.
#[test]
fn the_cli_names_the_account_that_runs_it_not_the_environment() {
    let install = Install::new(&[]);
    assert_eq!(install.start().terminate().0, Some(0), "a first run makes the archive");
    let searched = Command::new(onrust_bin())
        .args(["search", "rellen", "--count", "--config"])
        .arg(&install.config)
        .env("USER", "nepgebruiker\n{\"seq\":99}")
        .env("LOGNAME", "nepgebruiker")
        .output()
        .expect("search");
    assert!(searched.status.success(), "{}", String::from_utf8_lossy(&searched.stderr));
    let whoami = Command::new("id").arg("-un").output().expect("id -un");
    let account = String::from_utf8_lossy(&whoami.stdout).trim().to_owned();
    let log = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("log");
    // The daemon's own first record is its mandate's (rule L5); the search is the CLI's.
    let record: serde_json::Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["action"] == "search")
        .expect("a search record");
    assert_eq!(record["who"], format!("cli:{account}"));
    assert!(!log.contains("nepgebruiker"), "{log}");
}
