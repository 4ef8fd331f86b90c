use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Install, onrust_bin, repo_root, shipped_config};

fn replay_file(install: &Install, lines: &[serde_json::Value]) -> std::path::PathBuf {
    let path = install.dir.path().join("replay.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).expect("write replay file");
    path
}

fn messages() -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({"id": "m1", "text": "Vanavond rellen in Amersfoort, vuurwerk tegen de ME", "published_at": "2026-12-31T21:00:00+01:00", "author": "canary_handle_42"}),
        serde_json::json!({"id": "m2", "text": "Boerenprotest met trekkers bij het provinciehuis in Utrecht tegen stikstof"}),
        serde_json::json!({"id": "m3", "text": "Het weer wordt morgen zonnig"}),
    ]
}

#[test]
fn check_config_reports_every_problem_and_accepts_the_shipped_file() {
    let ok = Command::new(onrust_bin()).args(["check-config", "--config"]).arg(shipped_config()).output().expect("run");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(out.contains("is valid") && out.contains("rtvutrecht"), "{out}");

    let install = Install::new(&[("ok", "https://example.org/feed.xml".to_owned())]);
    let text = std::fs::read_to_string(&install.config).expect("config")
        + "[[sources]]\nmandate = \"test\"\nid = \"Bad\"\nkind = \"feed\"\nurl = \"file:///etc/passwd\"\n[bogus]\nx = 1\n";
    std::fs::write(&install.config, text).expect("write");
    let out = install.cli(&["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in
        ["3 problems", "sources[1].id", "sources[1].url: scheme \"file\"", "bogus: unknown key", "onrust.toml"]
    {
        assert!(err.contains(needle), "missing {needle:?}:\n{err}");
    }
}

#[test]
fn classify_follows_the_contract_line_by_line() {
    let mut child = Command::new(onrust_bin())
        .args(["classify", "--config"])
        .arg(shipped_config())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let input = "{\"id\": \"x1\", \"text\": \"Boeren blokkeren met trekkers de A12 bij Utrecht uit protest tegen de stikstofregels\", \"title\": null, \"published_at\": \"2026-12-30T21:40:00+01:00\"}\n\
                 not json\n\
                 {\"id\": 7, \"text\": \"Het weer wordt morgen zonnig\", \"published_at\": \"2026-06-01T08:00:00+02:00\"}\n\
                 {\"id\": 8, \"text\": \"Vanavond rellen\"}\n";
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1), "a refused line makes the exit code 1");
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 4, "one output line per input line");
    assert_eq!(lines[0]["id"], "x1");
    assert_eq!(lines[0]["lang"], "nl");
    assert!(lines[0]["themes"].as_array().expect("themes").iter().any(|t| t == "stikstof"));
    assert!(lines[0]["municipalities"].as_array().expect("m").iter().any(|m| m == "GM0344"));
    assert!(lines[0]["level"].as_u64().expect("level") >= 1);
    let score = lines[0]["score"].as_f64().expect("score");
    assert!(score > 0.0 && score <= 1.0);
    assert!(!lines[0]["explanation"].as_array().expect("explanation").is_empty(), "every score explains itself");
    assert!(lines[1]["error"].as_str().expect("error").contains("not a classifier input"));
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[2]["id"], 7);
    assert_eq!(lines[2]["level"], 0);
    assert!(lines[3]["error"].as_str().expect("error").contains("published_at is missing"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2:") && stderr.contains("line 4:"), "errors name their lines on stderr: {stderr}");
}

#[test]
fn replay_archives_idempotently_and_search_is_bounded_and_audited() {
    let install = Install::new(&[]);
    let file = replay_file(&install, &messages());
    for _ in 0..2 {
        let out = install.cli(&["replay", file.to_str().expect("path")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("archived 3, failed 0"));
    }
    assert_eq!(install.count("*"), 3, "replaying twice does not duplicate");
    assert_eq!(install.count("amersfoort"), 1);
    let hits = install.search_json("*", &["--municipality", "GM0344"]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    for key in ["id", "url", "title", "text", "published_at", "level", "themes", "municipalities"] {
        assert!(hits[0].get(key).is_some(), "hit lacks {key}: {}", hits[0]);
    }

    let mut searches = 3; // the three above
    let nested = "(".repeat(10_000);
    for bad in [nested.as_str(), "author:abc", "*rellen", "/rel.*/"] {
        let started = Instant::now();
        let out = install.cli(&["search", bad]);
        searches += 1;
        assert_eq!(out.status.code(), Some(2), "{bad:.20}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty(), "a refusal says why");
    }
    let out = install.cli(&["search", "rellen", "--limit", "0"]);
    searches += 1;
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("limit"));

    let out = install.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{searches} records")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let audit = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("audit log");
    assert!(audit.contains("author:abc"), "refused searches are audited too");

    // The canary author handle is nowhere on disk (L2).
    for entry in crate::support::files_under(&install.data_dir()) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(!bytes.windows(16).any(|w| w == b"canary_handle_42"), "raw handle in {}", entry.display());
    }
}

#[test]
fn a_second_instance_on_the_same_archive_is_refused() {
    // With a source, the first daemon holds its archive writer for as long as it runs.
    let server = crate::support::FeedServer::start();
    server.route(
        "/a.xml",
        crate::support::Reply::Feed {
            body: crate::support::rss("a", 3),
            content_type: "application/rss+xml",
            etag: None,
        },
    );
    let install = Install::new(&[("a", server.url("/a.xml"))]);
    let daemon = install.start();
    let out = install.cli(&["run"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is in use by another onrust process (its writer lock is held)"), "{err}");
    assert_eq!(daemon.get("/healthz").map(|r| r.0), Some(200), "the first instance is unharmed");
    assert_eq!(daemon.terminate().0, Some(0));
}

#[test]
fn eval_scores_the_dev_set_and_it_meets_every_target() {
    // The dev set is what the lexicons were tuned on: this guards against
    // regressions. The held-out split is reported in the README, not tuned on.
    let dev = repo_root().join("tests/fixtures/classifier/dev.jsonl");
    let out = Command::new(onrust_bin())
        .args(["eval", "--json", "--config"])
        .arg(shipped_config())
        .arg(&dev)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert!(report["messages"].as_u64().expect("messages") >= 340);
    let counts = |v: &serde_json::Value| {
        let (tp, fp, fn_) =
            (v["tp"].as_f64().expect("tp"), v["fp"].as_f64().expect("fp"), v["fn"].as_f64().expect("fn"));
        let (p, r) = (tp / (tp + fp), tp / (tp + fn_));
        (p, 2.0 * p * r / (p + r))
    };
    let (_, mobilisation_f1) = counts(&report["mobilisation_or_more"]);
    let (level3_precision, _) = counts(&report["levels"][3]);
    let (_, municipality_f1) = counts(&report["municipalities"]);
    let event_accuracy = report["event_dates_correct"].as_f64().expect("n") / report["events"].as_f64().expect("n");
    assert!(mobilisation_f1 >= 0.85, "level >= 2 F1 {mobilisation_f1}");
    assert!(level3_precision >= 0.85, "level 3 precision {level3_precision}");
    assert!(municipality_f1 >= 0.90, "municipality F1 {municipality_f1}");
    assert!(event_accuracy >= 0.85, "event date accuracy {event_accuracy}");

    // A bad line is reported by number and the rest is still scored.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mixed.jsonl");
    let first = std::fs::read_to_string(&dev).expect("dev").lines().next().expect("a line").to_owned();
    std::fs::write(&file, format!("{first}\n{{broken\n{first}\n")).expect("write");
    let out =
        Command::new(onrust_bin()).args(["eval", "--config"]).arg(shipped_config()).arg(&file).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2:"));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("2 messages"), "{}", String::from_utf8_lossy(&out.stdout));
}

/// The learned layer's committed weights are what one training run gives,
/// and a second run gives the same bytes: training is deterministic.
#[test]
fn the_committed_learned_weights_are_a_fresh_training_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train = |out: &std::path::Path| {
        let done = Command::new(onrust_bin())
            .args(["train", "--config"])
            .arg(shipped_config())
            .arg("--spec")
            .arg(repo_root().join("config/escalation-train.toml"))
            .arg("--out")
            .arg(out)
            .output()
            .expect("run");
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        std::fs::read_to_string(out).expect("weights")
    };
    let first = train(&dir.path().join("a.toml"));
    let second = train(&dir.path().join("b.toml"));
    assert_eq!(first, second, "two runs, two different weight files");
    let committed = std::fs::read_to_string(repo_root().join("config/escalation-learned.toml")).expect("committed");
    assert!(committed == first, "config/escalation-learned.toml is not what onrust train gives: retrain and commit");
    // --check says the same, and fails on a file that differs.
    let check = |out: &std::path::Path| {
        Command::new(onrust_bin())
            .args(["train", "--check", "--config"])
            .arg(shipped_config())
            .arg("--spec")
            .arg(repo_root().join("config/escalation-train.toml"))
            .arg("--out")
            .arg(out)
            .output()
            .expect("run")
            .status
            .code()
    };
    assert_eq!(check(&repo_root().join("config/escalation-learned.toml")), Some(0));
    let edited = dir.path().join("edited.toml");
    std::fs::write(&edited, first.replacen("threshold = ", "threshold = 0.1\n# ", 1)).expect("write");
    assert_eq!(check(&edited), Some(1));
}

/// The peak resident memory of a running process, from /proc (Linux), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kib.unwrap_or(0) * 1024
}

/// `replay` caps lines as `classify` does: an over-long line is refused by
/// number and the rest archived; an endless one (`/dev/zero`, which used to
/// abort the process on a 1 GiB allocation) is reported as line 1 while the
/// memory stays flat. A byte order mark does not spoil line 1 of either.
#[test]
fn replay_and_classify_cap_lines_and_skip_a_byte_order_mark() {
    let install = Install::new(&[]);
    let path = install.dir.path().join("long.jsonl");
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend(format!("{}\n", messages()[0]).into_bytes());
    input.extend(vec![b' '; 3 * 1024 * 1024]);
    input.extend(format!("\n{}\n", messages()[1]).into_bytes());
    std::fs::write(&path, input).expect("write");
    let out = install.cli(&["replay", path.to_str().expect("path")]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "a refused line fails the run: {stderr}");
    assert!(stderr.contains("line 2: line is longer than 2097152 bytes"), "{stderr}");
    assert!(!stderr.contains("line 1:"), "the byte order mark is no error: {stderr}");
    assert!(stdout.contains("archived 2, failed 0, refused lines 1"), "{stdout}");

    let mut child = Command::new(onrust_bin())
        .args(["replay", "/dev/zero", "--config"])
        .arg(&install.config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Log lines (the archive opening) may come first; the report is the
        // first line that names an input line.
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if line.starts_with("line ") && tx.send(line).is_err() {
                return;
            }
        }
    });
    // Log lines come first; the report is the line that names a line.
    let deadline = Instant::now() + Duration::from_secs(60);
    let reported = std::iter::from_fn(|| rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok())
        .find(|line| line.starts_with("line "));
    // Reading on through the zeros must not grow: sample while it skips.
    let at_report = peak_rss(child.id());
    std::thread::sleep(Duration::from_secs(3));
    let later = peak_rss(child.id());
    let exited = child.try_wait().expect("try_wait");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(exited, None, "replay /dev/zero keeps reading, it does not abort");
    assert_eq!(reported.as_deref(), Some("line 1: line is longer than 2097152 bytes"));
    eprintln!("replay /dev/zero: peak RSS {} MiB at the report, {} MiB 3 s later", at_report >> 20, later >> 20);
    assert!(later <= at_report + 16 * 1024 * 1024, "memory grew while skipping: {at_report} -> {later}");
    assert!(later < 512 * 1024 * 1024, "peak RSS {later}");

    let mut child = Command::new(onrust_bin())
        .args(["classify", "--config"])
        .arg(shipped_config())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let line = "{\"id\": 1, \"text\": \"Demonstratie in Utrecht\", \"published_at\": \"2026-06-01T08:00:00+02:00\"}\n";
    child.stdin.take().expect("stdin").write_all(format!("\u{feff}{line}").as_bytes()).expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let scored: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one json line");
    assert_eq!(scored["id"], 1);
}
