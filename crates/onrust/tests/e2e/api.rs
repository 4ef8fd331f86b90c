use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, http_get_with, rss};
use onrust_testkit::found_within_every;

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not json ({e}): {body}"))
}

#[test]
fn an_analyst_searches_the_running_daemon_over_http_and_every_search_is_audited() {
    let server = FeedServer::start();
    server.route("/api.xml", Reply::Feed { body: rss("api", 3), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("api", server.url("/api.xml"))]);
    let analyst = install.add_token("analist-utrecht", "analyst");
    let fg = install.add_token("fg-regio", "fg");
    let check = install.cli(&["check-config"]);
    let explained = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(explained.contains("analist-utrecht") && explained.contains("analyst"), "{explained}");
    let config = std::fs::read_to_string(&install.config).expect("config");
    assert!(!config.contains(&analyst) && !explained.contains(&analyst), "the token itself is stored nowhere");
    let daemon = install.start();

    // Poll through the API until the feed is archived; every call is a search.
    let mut searches = 0;
    let mut body = String::new();
    let hits = found_within_every(Duration::from_secs(30), Duration::from_millis(200), || {
        let status;
        (status, body) = daemon.get_as("/api/v1/search?q=volgnummer&limit=10", Some(&analyst)).expect("answer");
        searches += 1;
        assert_eq!(status, 200, "{body}");
        Some(json(&body)).filter(|results| results["total"] == 3)
    });
    let hits = hits.unwrap_or_else(|| panic!("not archived in time: {body}\n{}", daemon.stderr()));
    let titles: Vec<&str> = hits["hits"].as_array().expect("hits").iter().filter_map(|h| h["title"].as_str()).collect();
    assert!(titles.contains(&"Bericht 0 van api"), "{hits}");
    assert!(hits["took_ms"].is_u64());

    // No token, a wrong one, a spoofed proxy header: 401, and not a search, but each on record.
    assert_eq!(daemon.get_as("/api/v1/search?q=volgnummer", None).map(|r| r.0), Some(401));
    assert_eq!(daemon.get_as("/api/v1/search?q=volgnummer", Some("onrust_wrong")).map(|r| r.0), Some(401));
    let port = install.port;
    let spoofed = http_get_with(port, "/api/v1/search?q=volgnummer", &[("X-Forwarded-For", "127.0.0.1")]);
    assert_eq!(spoofed.map(|r| r.0), Some(401));
    let unauthenticated = 3;
    // The wrong role: 403, and on record. A bad query: 400, and on record.
    assert_eq!(daemon.get_as("/api/v1/search?q=volgnummer", Some(&fg)).map(|r| r.0), Some(403));
    searches += 1;
    let (status, body) = daemon.get_as("/api/v1/search?q=author:x", Some(&analyst)).expect("answer");
    searches += 1;
    assert_eq!(status, 400, "{body}");
    assert!(json(&body)["error"].as_str().is_some_and(|e| e.contains("author")), "{body}");

    // The fg reads the log through the API; the CLI verifies the same chain.
    let (status, body) = daemon.get_as("/api/v1/audit?limit=1000", Some(&fg)).expect("answer");
    assert_eq!(status, 200, "{body}");
    let records = json(&body)["records"].as_array().expect("records").clone();
    // And one of the installation's mandate, added at the daemon's first start (rule L5).
    let mandate_changes = records.iter().filter(|r| r["action"] == "mandate_change").count();
    assert_eq!(mandate_changes, 1, "{body}");
    assert_eq!(
        records.len(),
        searches + unauthenticated + mandate_changes,
        "one record per search and per 401: {body}"
    );
    let anonymous = records.iter().filter(|r| r["who"] == "http:unauthenticated" && r["hits"].is_null()).count();
    assert_eq!(anonymous, unauthenticated, "{body}");
    assert!(records.iter().filter(|r| r["who"] == "analist-utrecht").all(|r| r["action"] == "search"));
    assert!(records.iter().any(|r| r["who"] == "analist-utrecht" && r["query"] == "volgnummer" && r["hits"] == 3));
    assert!(records.iter().any(|r| r["query"] == "author:x" && r["refused"].is_string()));
    assert!(records.iter().any(|r| r["who"] == "fg-regio" && r["refused"].is_string()), "the forbidden attempt");
    let (_, body) = daemon.get_as("/api/v1/audit/verify", Some(&fg)).expect("answer");
    assert_eq!(json(&body)["ok"], true, "{body}");
    // The fg's read and verification are on record too.
    let recorded = searches + unauthenticated + mandate_changes + 2;
    let out = install.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{recorded} records")));

    assert_eq!(daemon.terminate().0, Some(0));
    let logs = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("audit log");
    assert!(!logs.contains(&analyst) && !logs.contains(&fg), "tokens never reach the audit log");
}
