//! `onrust audit report`: the fg's report over a period, from the audit log
//! the running daemon wrote, per account and role, in Dutch (Markdown and CSV).

use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, amsterdam_today, rss};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_fg_report_counts_searches_per_account_and_role_and_lists_what_was_refused() {
    let server = FeedServer::start();
    server
        .route("/nieuws.xml", Reply::Feed { body: rss("rapport", 3), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("nieuws", server.url("/nieuws.xml"))]);
    let analyst = install.add_token("analist-utrecht", "analyst");
    let fg = install.add_token("fg-regio", "fg");
    let daemon = install.start();
    install.wait_count("*", 3, Duration::from_secs(30));
    for query in ["demonstratie", "vuurwerk"] {
        let answer = daemon.get_as(&format!("/api/v1/search?q={query}"), Some(&analyst)).expect("answer");
        assert_eq!(answer.0, 200, "{answer:?}");
    }
    let refused = daemon.get_as("/api/v1/search?q=author:iemand", Some(&analyst)).expect("answer");
    assert_eq!(refused.0, 400, "{refused:?}");
    assert_eq!(daemon.get_as("/api/v1/audit/verify", Some(&fg)).map(|r| r.0), Some(200));
    drop(daemon);

    let today = amsterdam_today();
    let (since, until) = ((today - chrono::Days::new(1)).to_string(), (today + chrono::Days::new(1)).to_string());
    let out = install.cli(&["audit", "report", "--since", &since, "--until", &until]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = stdout(&out);
    assert!(report.contains("De hashketen is in orde"), "{report}");
    let row = report.lines().find(|l| l.starts_with("| analist-utrecht |")).unwrap_or_else(|| panic!("{report}"));
    assert_eq!(row, "| analist-utrecht | analyst | 3 | 0 | 1 |", "three searches, one refused");
    assert!(report.contains("author:iemand"), "the refused query is listed: {report}");
    let reads = report.lines().find(|l| l.starts_with("| fg-regio |")).unwrap_or_else(|| panic!("{report}"));
    assert!(reads.contains("| fg |") && reads.ends_with("| 1 |"), "{reads}");

    // The report itself is on record, as `cli:<account>` (rule L7); the next report counts it.
    let out = install.cli(&["audit", "report", "--since", &since, "--until", &until]);
    let again = stdout(&out);
    let reads = again.split("## Inzage in het auditlog").nth(1).unwrap_or_else(|| panic!("{again}"));
    let reader = reads.lines().find(|l| l.starts_with("| cli:")).unwrap_or_else(|| panic!("{again}"));
    assert!(reader.contains("| opdrachtregel |") && reader.ends_with("| 1 |"), "the first report: {reader}");

    // A period before any of it: nothing, and says so.
    let out = install.cli(&["audit", "report", "--since", "2020-01-01", "--until", "2020-01-31"]);
    let empty = stdout(&out);
    assert!(empty.contains("0 records in deze periode") && empty.contains("Geen zoekopdrachten"), "{empty}");

    // CSV: a header and one row per record, each cell quoted and defused.
    let out = install.cli(&["audit", "report", "--since", &since, "--until", &until, "--csv"]);
    let csv = stdout(&out);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "\"tijd\";\"account\";\"rol\";\"actie\";\"zoekvraag\";\"treffers\";\"geweigerd\";\"reden\";\"mandaten\";\"toelichting\""
        )
    );
    let searches: Vec<&str> =
        lines.clone().filter(|l| l.contains("\"analist-utrecht\";\"analyst\";\"search\"")).collect();
    assert_eq!(searches.len(), 3, "{csv}");
    // Each search names the mandate it ran under (rule L5).
    assert!(searches.iter().all(|l| l.ends_with(";\"test\";\"\"")), "{csv}");

    // Bad dates are named.
    let out = install.cli(&["audit", "report", "--since", "gisteren", "--until", &until]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since \"gisteren\""), "{out:?}");
    let out = install.cli(&["audit", "report", "--since", &until, "--until", &since]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("lies before"), "{out:?}");
}
