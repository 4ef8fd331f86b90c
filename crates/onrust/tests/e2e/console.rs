//! The console in a real browser (headless Chromium through chromedriver):
//! accounts made with `onrust user add`, sign-in with the keyboard only, the
//! overview, an alert opened and confirmed for the mayor with a reason (and
//! the mayor's mail arriving on a real SMTP server), silences set from the
//! alert's page and from the silences page and lifted (and seen by the alert
//! stage), a search with filters, a municipality's page, the audit log for
//! the fg with those records and the retention per bucket, a feed item with
//! `<script>` that shows as text and never runs, and axe-core (vendored in
//! tests/fixtures/axe) with no WCAG 2.1 A or AA violation on any page. With
//! `ONRUST_CONSOLE_SCREENSHOTS=<folder>` each page is saved there as a PNG
//! (docs/console/ holds the ones in the documentation).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::browser::{Browser, ENTER, TAB};
use crate::support::{FeedServer, Install, Reply, SmtpSink, onrust_bin, repo_root};
use onrust_testkit::found_within_every;

/// The mayor of Utrecht, who is mailed only after a supervisor confirms (L10).
const MAYOR: &str = "burgemeester@utrecht.example";
const OFFICER: &str = "oov@utrecht.example";

/// What the feed item's script would do if it ran.
const XSS: &str = "<script>document.title='gehackt';window.onrustXss=1</script>";

/// A thread about oudjaarsavond in Utrecht that a critical rule fires on, and
/// a message whose text carries a script tag (escaped in the feed, so it
/// reaches the archive as literal text).
fn feed() -> Vec<u8> {
    let items = [
        (
            "c1",
            "Oproep voor oudjaarsavond",
            "Oudjaarsavond om 23:00 iedereen naar het Vredenburgplein in Utrecht. We gaan de politie bekogelen met \
             zwaar vuurwerk, neem cobra's mee."
                .to_owned(),
        ),
        (
            "c2",
            "Vuurwerk op de ME",
            format!(
                "Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en steek de \
                 containers in brand. {}",
                XSS.replace('<', "&amp;lt;").replace('>', "&amp;gt;")
            ),
        ),
    ];
    let now = chrono::Utc::now().to_rfc2822();
    let mut body = String::new();
    for (id, title, text) in items {
        body.push_str(&format!(
            "<item><guid>{id}</guid><title>{title}</title><link>https://forum.example/{id}</link>\
             <description>{text}</description><pubDate>{now}</pubDate></item>"
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Forum Utrecht</title>\
         <link>https://forum.example/</link><description>test</description>{body}</channel></rss>"
    )
    .into_bytes()
}

/// `onrust user add` with the password on standard input.
fn add_user(install: &Install, name: &str, role: &str, municipalities: &[&str]) -> String {
    let password = format!("wachtwoord-{name}-2026");
    let mut command = Command::new(onrust_bin());
    command.args(["user", "add", "--config"]).arg(&install.config).args(["--name", name, "--role", role]);
    for m in municipalities {
        command.args(["--municipality", m]);
    }
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("password");
    let out = child.wait_with_output().expect("user add");
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    password
}

struct Console {
    browser: Browser,
    base: String,
    axe: String,
    screenshots: Option<std::path::PathBuf>,
}

impl Console {
    /// Checks the page with axe-core and saves a screenshot under `name`.
    fn check_page(&self, name: &str) {
        let violations = self.browser.axe_violations(&self.axe);
        assert!(violations.is_empty(), "{name}: WCAG 2.1 A/AA violations: {violations:#?}");
        assert_eq!(self.browser.run("return document.querySelectorAll('script').length;"), 0, "{name}: no script");
        assert_eq!(self.browser.run("return document.documentElement.lang;"), "nl", "{name}");
        if let Some(dir) = &self.screenshots {
            std::fs::create_dir_all(dir).expect("screenshot folder");
            std::fs::write(dir.join(format!("{name}.png")), self.browser.full_page_screenshot()).expect("screenshot");
        }
    }

    fn go(&self, path: &str) {
        self.browser.go(&format!("{}{path}", self.base));
    }

    /// Signs in with the keyboard only: Tab from the top of the page to the
    /// name field, type, Tab to the password, type, Enter.
    fn sign_in_by_keyboard(&self, name: &str, password: &str) {
        self.go("/login");
        self.browser.wait_for_keyboard();
        self.browser.keys(&[TAB]);
        assert_eq!(self.focused(), "A:Naar de inhoud", "the skip link comes first");
        self.browser.keys(&[TAB]);
        assert_eq!(self.focused(), "INPUT:name");
        self.browser.keys(&[name, TAB]);
        assert_eq!(self.focused(), "INPUT:password");
        self.browser.keys(&[password, TAB]);
        assert_eq!(self.focused(), "BUTTON:Aanmelden");
        self.browser.navigating(|b| b.keys(&[ENTER]));
    }

    /// The focused element as `TAG:name or text`.
    fn focused(&self) -> String {
        let script = "const e = document.activeElement; return e.tagName + ':' + (e.name || e.textContent.trim());";
        self.browser.run(script).as_str().unwrap_or_default().to_owned()
    }
}

#[test]
fn the_console_in_a_real_browser() {
    let sink = SmtpSink::start(&[]);
    let server = FeedServer::start();
    server.route("/forum.xml", Reply::Feed { body: feed(), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("forum", server.url("/forum.xml"))]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let extra = format!(
        "[alerts]\nevaluate_interval = \"1s\"\nregion_name = \"Midden-Nederland\"\n\
         [region]\nmunicipalities = [\"GM0344\", \"GM0307\", \"GM0345\"]\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"onrust@regio.example\"\ntimeout = \"5s\"\n\
         [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n\
         [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"mayor\"\nemail = \"{MAYOR}\"\n\
         [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\ngroup_wait = \"0s\"\n",
        sink.port
    );
    std::fs::write(&install.config, format!("{config}{extra}")).expect("config");
    let supervisor = add_user(&install, "sv-regio", "supervisor", &[]);
    let officer = add_user(&install, "oov-amersfoort", "officer", &["GM0307"]);
    let fg = add_user(&install, "fg-regio", "fg", &[]);
    let users = std::fs::read_to_string(install.data_dir().join("users.json")).expect("users file");
    assert!(users.contains("$argon2id$") && !users.contains(&supervisor), "only the hash is stored");
    let token = install.add_token("monitor-alerts", "supervisor");
    let daemon = install.start();

    // Wait for the alert the critical rule raises on the feed.
    let mut body = String::new();
    let fingerprint = found_within_every(Duration::from_secs(30), Duration::from_millis(300), || {
        body = daemon.get_as("/api/v1/alerts", Some(&token)).expect("alerts").1;
        let alerts: serde_json::Value = serde_json::from_str(&body).expect("json");
        // The alert whose evidence is the message with the script in it.
        let with_script = alerts["alerts"].as_array().into_iter().flatten().find(|a| {
            a["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["excerpt"].as_str().is_some_and(|t| t.contains("onrustXss")))
        });
        with_script.and_then(|a| a["fingerprint"].as_str()).map(str::to_owned)
    });
    let fingerprint = fingerprint.unwrap_or_else(|| panic!("no alert: {body}\n{}", daemon.stderr()));

    let console = Console {
        browser: Browser::start(),
        base: format!("http://127.0.0.1:{}", install.port),
        axe: std::fs::read_to_string(repo_root().join("tests/fixtures/axe/axe.min.js")).expect("axe-core"),
        screenshots: std::env::var_os("ONRUST_CONSOLE_SCREENSHOTS").map(Into::into),
    };
    let browser = &console.browser;

    // Signed out, every page leads to the sign-in form.
    console.go("/meldingen");
    assert!(browser.url().ends_with("/login"), "{}", browser.url());
    console.check_page("aanmelden");

    // A wrong password says so, and the form keeps working by keyboard.
    console.sign_in_by_keyboard("sv-regio", "niet-het-wachtwoord");
    assert!(browser.text().contains("klopt niet"), "{}", browser.text());
    console.sign_in_by_keyboard("sv-regio", &supervisor);
    assert_eq!(browser.url(), format!("{}/", console.base));
    let overview = browser.text();
    assert!(overview.contains("Overzicht") && overview.contains("Utrecht (GM0344)"), "{overview}");
    assert!(overview.contains("Amersfoort (GM0307)") && overview.contains(" kritiek"), "{overview}");
    console.check_page("overzicht");

    // The alerts list, filtered, and the alert itself.
    console.go("/meldingen?ernst=kritiek&status=actief");
    assert!(browser.text().contains("oproep-tot-geweld"), "{}", browser.text());
    console.check_page("meldingen");
    browser.navigating(|b| b.click(&format!("a[href='/meldingen/{fingerprint}']")));
    let detail = browser.text();
    assert!(detail.contains("Waarom") && detail.contains("Onderbouwing"), "{detail}");
    assert!(detail.contains(XSS), "the script is shown as text: {detail}");
    assert!(!browser.title().contains("gehackt"), "and it never ran");
    assert_eq!(browser.run("return typeof window.onrustXss;"), "undefined");
    console.check_page("melding");

    // The mayor has had nothing yet (L10); the officer has been told.
    assert!(
        sink.wait_for(Duration::from_secs(30), |m| m.rcpt_tos() == [OFFICER]).is_some(),
        "the officer is mailed at once: {}",
        daemon.stderr()
    );
    assert!(sink.mails().iter().all(|m| !m.rcpt_tos().iter().any(|r| r == MAYOR)), "the mayor waits for a supervisor");

    // Confirm it for the mayor, with a reason, and the mayor's mail arrives.
    browser.type_into("#reden-doorsturen", "Ernstige oproep, burgemeester informeren.");
    browser.navigating(|b| b.click("form[action$='/doorsturen'] button"));
    assert!(browser.text().contains("Beoordeeld voor de burgemeester door sv-regio"), "{}", browser.text());
    assert!(browser.text().contains("bevestigd voor de burgemeester door sv-regio"), "the decision is in the history");
    let mayor = sink.wait_for(Duration::from_secs(30), |m| m.rcpt_tos() == [MAYOR]);
    let mayor = mayor.unwrap_or_else(|| panic!("no mail for the mayor after the confirmation:\n{}", daemon.stderr()));
    let briefing = mayor.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(briefing.contains("door sv-regio") && briefing.contains("burgemeester informeren"), "{briefing}");
    assert!(briefing.contains("Vredenburgplein"), "{briefing}");
    console.check_page("melding-bevestigd");

    // Silence this alert's place and rule from the alert page itself: the form
    // comes filled in with Utrecht and the rule.
    browser.type_into("#stilte-reden", "Burgemeester ingelicht, verder via de politie.");
    browser.navigating(|b| b.click("form.silence button"));
    assert!(browser.url().ends_with("/stiltes"), "{}", browser.url());
    let rows = || browser.run("return document.querySelector('main table tbody')?.innerText ?? '';");
    let silences = rows().as_str().unwrap_or_default().to_owned();
    assert!(silences.contains("Utrecht (GM0344)") && silences.contains("verder via de politie"), "{silences}");
    assert!(silences.contains("oproep-tot-geweld"), "{silences}");

    // And Amersfoort's alerts of this rule from the silences page; the alert stage has both.
    browser.click("#stilte-gemeente option[value='GM0307']");
    browser.type_into("#stilte-regel", "oproep-tot-geweld");
    browser.type_into("#stilte-reden", "Aangemelde demonstratie, politie ter plaatse.");
    browser.navigating(|b| b.click("form.silence button"));
    assert!(browser.url().ends_with("/stiltes"), "{}", browser.url());
    let silences = rows().as_str().unwrap_or_default().to_owned();
    assert!(silences.contains("Amersfoort (GM0307)") && silences.contains("politie ter plaatse"), "{silences}");
    assert!(silences.contains("Utrecht (GM0344)"), "{silences}");
    console.check_page("stiltes");
    let (_, listed) = daemon.get_as("/api/v1/silences", Some(&token)).expect("silences api");
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("json");
    let listed = listed["silences"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|s| s["owner"] == "sv-regio"), "{listed:?}");
    let mut reasons: Vec<&str> = listed.iter().filter_map(|s| s["reason"].as_str()).collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        ["Aangemelde demonstratie, politie ter plaatse.", "Burgemeester ingelicht, verder via de politie."]
    );
    for _ in 0..2 {
        browser.navigating(|b| b.click("form[action$='/opheffen'] button"));
    }
    assert!(browser.text().contains("Er geldt nu geen stilte"), "{}", browser.text());
    let (_, listed) = daemon.get_as("/api/v1/silences", Some(&token)).expect("silences api");
    assert!(listed.contains("\"silences\":[]"), "lifted: {listed}");

    // A search with filters, through the form.
    console.go("/zoeken");
    browser.type_into("#q", "vuurwerk");
    browser.click("#niveau option[value='3']");
    browser.click("#volgorde option[value='nieuwste']");
    browser.navigating(|b| b.click("form[role='search'] button"));
    assert!(browser.url().contains("q=vuurwerk") && browser.url().contains("niveau=3"), "{}", browser.url());
    let results = browser.text();
    assert!(results.contains("2 berichten gevonden"), "{results}");
    assert!(results.contains("Utrecht (GM0344)") && results.contains("Vuurwerk op de ME"), "{results}");
    assert_eq!(browser.run("return document.querySelectorAll('mark').length > 0;"), true, "the words are marked");
    assert_eq!(browser.run("return typeof window.onrustXss;"), "undefined");
    console.check_page("zoeken");

    console.go("/gemeente/GM0344");
    let municipality = browser.text();
    assert!(municipality.contains("Utrecht (GM0344)") && municipality.contains(XSS), "{municipality}");
    assert!(municipality.contains("Berichten per niveau") && municipality.contains("Agenda van aangekondigde acties"));
    assert!(municipality.contains("Dekking per bron") && municipality.contains("forum"), "{municipality}");
    assert_eq!(browser.run("return document.querySelectorAll('svg[role=img] title').length > 0;"), true);
    assert_eq!(browser.run("return document.querySelectorAll('.hits mark').length > 0;"), true, "signals marked");
    assert_eq!(browser.run("return typeof window.onrustXss;"), "undefined");
    console.check_page("gemeente");

    // Halt from the console (rule L13): every page says so, with when, who
    // and why, and readiness stays 200 so the console stays reachable; resume.
    console.go("/stilleggen");
    assert!(browser.text().contains("onrust draait"), "{}", browser.text());
    console.check_page("stilleggen");
    browser.type_into("#reden", "Mandaat verlopen, DPIA wordt herzien.");
    browser.navigating(|b| b.click("form[action='/stilleggen'] button"));
    let halted = browser.text();
    assert!(halted.contains("onrust staat stil.") && halted.contains("door sv-regio"), "{halted}");
    assert!(halted.contains("Mandaat verlopen, DPIA wordt herzien."), "{halted}");
    console.check_page("stilgelegd");
    console.go("/meldingen");
    assert!(browser.text().contains("onrust staat stil."), "the banner is on every page: {}", browser.text());
    let (status, ready) = daemon.get("/readyz").expect("readyz");
    assert!(status == 200 && ready.contains("halted since"), "{status} {ready}");
    console.go("/stilleggen");
    browser.type_into("#reden", "DPIA goedgekeurd.");
    browser.navigating(|b| b.click("form[action='/hervatten'] button"));
    assert!(!browser.text().contains("onrust staat stil."), "{}", browser.text());
    assert!(browser.text().contains("Laatst hervat op") && browser.text().contains("DPIA goedgekeurd."));
    assert_eq!(daemon.get("/readyz").expect("readyz"), (200, "ready\n".to_owned()));

    // Sign out by keyboard as well: the button is in the header.
    browser.navigating(|b| b.click("form.signout button"));
    assert!(browser.url().ends_with("/login"));

    // An officer for Amersfoort does not see Utrecht's alert.
    console.sign_in_by_keyboard("oov-amersfoort", &officer);
    console.go(&format!("/meldingen/{fingerprint}"));
    assert!(browser.text().contains("bestaat niet"), "{}", browser.text());
    browser.navigating(|b| b.click("form.signout button"));

    // The fg sees who did what.
    console.sign_in_by_keyboard("fg-regio", &fg);
    assert!(browser.url().ends_with("/audit"), "{}", browser.url());
    let audit = browser.text();
    assert!(audit.contains("De hashketen is in orde"), "{audit}");
    for expected in [
        "sign_in",
        "sign_out",
        "alerts_confirm",
        "Ernstige oproep",
        "search",
        "oov-amersfoort",
        "Mandaat verlopen",
        "DPIA goedgekeurd",
    ] {
        assert!(audit.contains(expected), "{expected} in the audit page: {audit}");
    }
    assert!(audit.contains("Bewaartermijn per bucket") && audit.contains("week-"), "{audit}");
    console.check_page("audit");
    console.go("/audit?soort=stiltes");
    let rows = browser.run("return document.querySelector('table.audit tbody').innerText;");
    let silences = rows.as_str().unwrap_or_default().to_owned();
    for expected in ["silence_expire", "politie ter plaatse", "sv-regio"] {
        assert!(silences.contains(expected), "{expected} in the silences' records: {silences}");
    }
    assert!(!silences.contains("sign_in"), "only silences: {silences}");
    console.go("/audit?soort=stilleggen");
    let rows = browser.run("return document.querySelector('table.audit tbody').innerText;");
    let halts = rows.as_str().unwrap_or_default().to_owned();
    for expected in ["halt", "resume", "Mandaat verlopen", "DPIA goedgekeurd", "sv-regio"] {
        assert!(halts.contains(expected), "{expected} in the halts' records: {halts}");
    }
    assert!(!halts.contains("silence"), "only halts and resumes: {halts}");
    drop(daemon);
}
