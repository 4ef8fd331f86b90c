//! Feed subscriptions end to end (issue 16): `onrust feed add` gives a
//! recipient a secret address a calendar or feed reader follows without a
//! header; the daemon serves it, audits each use under the recipient's
//! name, never logs the secret, and stops at once when it is revoked. The
//! supervisors' address shows every alert in the region.

use onrust_testkit::{holds_within, holds_within_every};
use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, http_get};

/// A call to violence and an announced action in Utrecht, published now.
fn utrecht_feed() -> Vec<u8> {
    let now = chrono::Utc::now().to_rfc2822();
    let items = [
        (
            "oproep",
            "Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en steek de \
             containers in brand. Oorlog maken met de politie.",
        ),
        (
            "actie",
            "Morgen om 20:00 demonstratie op het Domplein in Utrecht tegen de opvang van asielzoekers. Kom allemaal!",
        ),
    ];
    let body: String = items
        .iter()
        .map(|(id, text)| {
            format!(
                "<item><guid>{id}</guid><title>Bericht</title><link>https://forum.example/{id}</link>\
                 <description>{text}</description><pubDate>{now}</pubDate></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Forum</title>\
         <link>https://forum.example/</link><description>t</description>{body}</channel></rss>"
    )
    .into_bytes()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The secret token in the addresses `onrust feed add` printed.
fn token_in(output: &str) -> String {
    let at = output.find("/feeds/").expect("an address") + "/feeds/".len();
    output[at..].split('/').next().expect("a token").to_owned()
}

#[test]
fn a_recipient_follows_a_secret_feed_address_until_it_is_revoked() {
    let server = FeedServer::start();
    server.route("/forum.xml", Reply::Feed { body: utrecht_feed(), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("forum-utrecht", server.url("/forum.xml"))]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let listen = format!("listen = \"127.0.0.1:{}\"\n", install.port);
    let config = config.replacen(&listen, &format!("{listen}public_url = \"https://onrust.regio.example\"\n"), 1);
    std::fs::write(
        &install.config,
        format!(
            "{config}[alerts]\nevaluate_interval = \"1s\"\nregion_name = \"Midden-Nederland\"\n\
             [region]\nmunicipalities = [\"GM0344\", \"GM0307\"]\n\
             [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\n\
             [[rules]]\nmandate = \"test\"\nname = \"aangekondigde-actie\"\nkind = \"announcement\"\ngroup_wait = \"0s\"\n"
        ),
    )
    .expect("config");

    let check = install.cli(&["check-config"]);
    assert!(check.status.success(), "{}", text(&check));
    let explained = String::from_utf8_lossy(&check.stdout);
    assert!(explained.contains("console:      https://onrust.regio.example"), "{explained}");
    // Valid, with warnings: nobody would hear of anything.
    assert!(
        explained.contains("WARNING:      no officer is told of the alerts in 2 of the 2 region municipalities: GM0344 Utrecht, GM0307 Amersfoort"),
        "{explained}"
    );
    assert!(explained.contains("WARNING:      region-wide alerts reach nobody"), "{explained}");

    let added = install.cli(&["feed", "add", "--recipient", "oov-utrecht", "--municipality", "GM0344"]);
    assert!(added.status.success(), "{}", text(&added));
    let printed = String::from_utf8_lossy(&added.stdout).into_owned();
    let officer = token_in(&printed);
    assert!(officer.starts_with("onrust_feed_") && officer.len() == 12 + 64, "{printed}");
    for address in [
        format!("https://onrust.regio.example/feeds/{officer}/alerts.atom"),
        format!("https://onrust.regio.example/feeds/{officer}/actions.ics"),
    ] {
        assert!(printed.contains(&address), "{address} in:\n{printed}");
    }
    let id = printed.split_whitespace().nth(2).expect("the id").to_owned();
    let chef = install.cli(&[
        "feed",
        "add",
        "--recipient",
        "chef-van-dienst",
        "--municipality",
        "alle",
        "--role",
        "supervisor",
    ]);
    assert!(chef.status.success(), "{}", text(&chef));
    let chef = token_in(&String::from_utf8_lossy(&chef.stdout));
    for (args, needle) in [
        (vec!["--recipient", "oov-regio", "--municipality", "alle"], "for supervisors"),
        (vec!["--recipient", "oov-almere", "--municipality", "GM0034"], "not a municipality of the region"),
        (vec!["--recipient", "oov-nergens", "--municipality", "nergens"], "not a feed's place"),
    ] {
        let mut all = vec!["feed", "add"];
        all.extend(args);
        let refused = install.cli(&all);
        assert!(!refused.status.success() && text(&refused).contains(needle), "{all:?}: {}", text(&refused));
    }
    let stored = std::fs::read_to_string(install.data_dir().join("feeds.json")).expect("feeds.json");
    assert!(!stored.contains(&officer) && !stored.contains(&officer[12..]), "only the hash is kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(install.data_dir().join("feeds.json")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let daemon = install.start();
    let atom = format!("/feeds/{officer}/alerts.atom");
    let mut feed = None;
    let both = holds_within_every(Duration::from_secs(30), Duration::from_millis(200), || {
        feed = http_get(install.port, &atom);
        feed.as_ref()
            .is_some_and(|(_, body)| body.contains("aangekondigde-actie") && body.contains("oproep-tot-geweld"))
    });
    assert!(both, "no alerts in the feed: {feed:?}; log:\n{}", daemon.stderr());
    assert_eq!(feed.map(|f| f.0), Some(200));
    let (status, ics) = http_get(install.port, &format!("/feeds/{officer}/actions.ics")).expect("calendar");
    assert_eq!(status, 200, "{ics}");
    assert!(ics.contains("BEGIN:VEVENT") && ics.contains("Domplein"), "{ics}");
    let (status, all) = http_get(install.port, &format!("/feeds/{chef}/alerts.atom")).expect("every alert");
    assert_eq!(status, 200, "{all}");
    assert!(all.contains("alle signalen in regio Midden-Nederland") && all.contains("oproep-tot-geweld"), "{all}");

    let listed = install.cli(&["feed", "list"]);
    let listed = text(&listed);
    assert!(listed.contains(&id) && listed.contains("oov-utrecht") && listed.contains("active"), "{listed}");
    assert!(!listed.contains(&officer[12..]) && !listed.contains("sha256"), "no secret in the list: {listed}");

    let revoked = install.cli(&["feed", "revoke", &id]);
    assert!(revoked.status.success(), "{}", text(&revoked));
    assert!(
        holds_within(Duration::from_secs(5), || http_get(install.port, &atom).map(|f| f.0) == Some(404)),
        "still served after revocation"
    );
    assert_eq!(
        http_get(install.port, &format!("/feeds/{chef}/alerts.atom")).map(|f| f.0),
        Some(200),
        "the others stay"
    );

    let audit = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("audit");
    assert!(audit.contains("\"feed:oov-utrecht\"") && audit.contains("\"feed:chef-van-dienst\""), "{audit}");
    assert!(audit.contains(&format!("\"subscription\":\"{id}\"")), "{audit}");
    let log_path = daemon.stderr_path.clone();
    assert_eq!(daemon.terminate().0, Some(0));
    let log = std::fs::read_to_string(log_path).expect("the daemon's log");
    for secret in [&officer, &chef] {
        assert!(!audit.contains(secret.as_str()), "no secret in the audit log");
        assert!(!log.contains(&secret[12..]), "no secret in the log:\n{log}");
    }
}
