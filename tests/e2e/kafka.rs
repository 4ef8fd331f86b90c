//! Distributed mode end to end (issue 6): tansu, a real Kafka-protocol
//! broker over TCP, and every role as its own `onrust` process — ingest,
//! two classify, archive, alert. Ten thousand messages; one classify and the
//! archive are killed with SIGKILL mid-stream and started again; in the end
//! every message is in the archive exactly once and no group lags behind.

use std::time::{Duration, Instant};

use onrust_tests::{Broker, Daemon, FeedServer, Install, Reply, rss};

const FEEDS: usize = 10;
const PER_FEED: usize = 1000;

/// `onrust_bus_consumer_lag{stage="…"}` as the process reports it.
fn lag(daemon: &Daemon, stage: &str) -> Option<f64> {
    let (_, body) = daemon.get("/metrics")?;
    let prefix = format!("onrust_bus_consumer_lag{{stage=\"{stage}\"}} ");
    body.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok())
}

/// Messages in the archive (ids are unique there: a repeat replaces, never adds).
fn documents(install: &Install) -> u64 {
    let out = install.cli(&["search", "*", "--count"]);
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}

#[test]
fn every_role_its_own_process_survives_sigkill_and_archives_every_message_once() {
    let broker = Broker::start();
    let server = FeedServer::start();
    let mut sources = Vec::new();
    for f in 0..FEEDS {
        let path = format!("/feed{f}.xml");
        server.route(
            &path,
            Reply::Feed { body: rss(&format!("f{f}-"), PER_FEED), content_type: "application/rss+xml", etag: None },
        );
        sources.push((format!("feed{f}"), server.url(&path)));
    }
    let refs: Vec<(&str, String)> = sources.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let install = Install::new(&refs);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let config = config.replacen(
        "[http]",
        &format!(
            "[bus]\nkind = \"kafka\"\nbrokers = \"{}\"\npartitions = 4\n\
             [bus.consumer]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n[http]",
            broker.brokers()
        ),
        1,
    );
    std::fs::write(&install.config, config).expect("config");

    let archive = install.start_roles(&["archive"]);
    let alert = install.start_roles(&["alert"]);
    let classify_a = install.start_roles(&["classify"]);
    let classify_b = install.start_roles(&["classify"]);
    let ingest = install.start_roles(&["ingest"]);

    // Mid-stream: some messages archived, not all.
    let start = Instant::now();
    while documents(&install) < 1000 {
        assert!(start.elapsed() < Duration::from_secs(120), "nothing archived; archive log:\n{}", archive.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = documents(&install);
    classify_a.kill();
    archive.kill();
    let archive = install.start_roles(&["archive"]);
    let classify_a = install.start_roles(&["classify"]);

    let total = (FEEDS * PER_FEED) as u64;
    let start = Instant::now();
    while documents(&install) < total {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "{} of {total} archived (had {before} at the kill); archive log:\n{}",
            documents(&install),
            archive.stderr()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(documents(&install), total, "every message once: none lost, none twice");
    assert_eq!(install.count("*"), total as usize);

    // Every group catches up.
    let start = Instant::now();
    for (daemon, stage) in
        [(&classify_a, "classify"), (&classify_b, "classify"), (&archive, "archive"), (&alert, "alert")]
    {
        while lag(daemon, stage) != Some(0.0) {
            assert!(start.elapsed() < Duration::from_secs(60), "{stage} lags: {:?}", lag(daemon, stage));
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    for daemon in [ingest, classify_a, classify_b, archive, alert] {
        let log = daemon.stderr();
        assert_eq!(daemon.terminate().0, Some(0), "a clean stop:\n{log}");
    }
}
