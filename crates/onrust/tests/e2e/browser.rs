//! A small WebDriver client (the W3C protocol over plain HTTP/1.1, JSON
//! bodies) for the console's browser tests: headless Chromium through
//! `chromedriver`, no other dependency. `ONRUST_CHROMEDRIVER` and
//! `ONRUST_CHROMIUM` name other binaries than the ones on `PATH`.

use onrust_testkit::{holds_within, wait_until};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::free_port;

/// The W3C key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver with one headless browser session.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

/// WebDriver's key codes.
pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";

impl Browser {
    pub fn start() -> Self {
        let port = free_port();
        let driver_bin = std::env::var("ONRUST_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("the console's browser tests need {driver_bin} (chromium-driver): {e}"));
        wait_until("chromedriver to start", Duration::from_secs(20), || {
            request(port, "GET", "/status", None).is_some_and(|v| v["value"]["ready"] == true)
        });
        let profile = tempfile::tempdir().expect("profile dir");
        let mut options = json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000", format!("--user-data-dir={}", profile.path().display()),
            ]
        });
        if let Ok(binary) = std::env::var("ONRUST_CHROMIUM") {
            options["binary"] = json!(binary);
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options, "pageLoadStrategy": "normal"
        } } });
        let answer = request(port, "POST", "/session", Some(&capabilities)).expect("new session");
        let session =
            answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}")).to_owned();
        let browser = Self { driver, port, session, _profile: profile };
        // A headless window on a busy machine can miss the focus it is given at
        // start, and then keys land on no element. Focus emulation makes the
        // page behave as the focused one whatever the window manager did.
        let focus = json!({ "cmd": "Emulation.setFocusEmulationEnabled", "params": { "enabled": true } });
        browser.call("POST", "/goog/cdp/execute", Some(&focus));
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let full = format!("/session/{}{path}", self.session);
        let answer = request(self.port, method, &full, body).unwrap_or_else(|| panic!("no answer to {method} {path}"));
        if answer["value"].get("error").is_some() {
            panic!("{method} {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap_or_default().to_owned()
    }

    pub fn title(&self) -> String {
        self.call("GET", "/title", None).as_str().unwrap_or_default().to_owned()
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        self.run("return document.body.innerText;").as_str().unwrap_or_default().to_owned()
    }

    /// The first element matching a CSS selector.
    pub fn find(&self, css: &str) -> String {
        let found = self.call("POST", "/element", Some(&json!({ "using": "css selector", "value": css })));
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}")).to_owned()
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/click"), Some(&json!({})));
    }

    /// Does `action`, which loads another page, and waits until the new page has loaded.
    pub fn navigating(&self, action: impl FnOnce(&Self)) {
        self.run("window.onrustOldPage = true;");
        action(self);
        let loaded = "return typeof window.onrustOldPage === 'undefined' && document.readyState === 'complete';";
        wait_until("the page to change", Duration::from_secs(10), || self.run(loaded) == true);
    }

    /// Waits until the page has loaded and holds the keyboard focus, so that a
    /// test pressing keys fails here, saying so, rather than at a later check.
    pub fn wait_for_keyboard(&self) {
        let ready = "return document.readyState === 'complete' && document.hasFocus();";
        let state = "return [document.readyState, document.hasFocus(), location.href].join(' ');";
        assert!(
            holds_within(Duration::from_secs(15), || self.run(ready) == true),
            "no keyboard focus: {}",
            self.run(state)
        );
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/clear"), Some(&json!({})));
        self.call("POST", &format!("/element/{element}/value"), Some(&json!({ "text": text })));
    }

    /// Presses keys on the keyboard, one after another (no mouse, no element chosen).
    pub fn keys(&self, keys: &[&str]) {
        let mut actions = Vec::new();
        for key in keys {
            for c in key.chars() {
                actions.push(json!({ "type": "keyDown", "value": c.to_string() }));
                actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
            }
        }
        let body = json!({ "actions": [{ "type": "key", "id": "toetsenbord", "actions": actions }] });
        self.call("POST", "/actions", Some(&body));
    }

    /// Runs a script in the page (WebDriver's own channel, outside the page's CSP).
    pub fn run(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(&json!({ "script": script, "args": [] })))
    }

    /// Runs axe-core in the page for WCAG 2.1 A and AA; the violations as `rule: targets` lines.
    pub fn axe_violations(&self, axe_source: &str) -> Vec<String> {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": format!("{axe_source}\nreturn typeof axe;"), "args": [] })),
        );
        let script = "const done = arguments[arguments.length - 1];\
            axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })\
              .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))\
              .catch(e => done(['axe failed: ' + e]));";
        let found = self.call("POST", "/execute/async", Some(&json!({ "script": script, "args": [] })));
        found.as_array().map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call("GET", "/screenshot", None);
        base64_decode(encoded.as_str().unwrap_or_default())
    }

    /// A PNG of the whole page: the window made as tall as the page (at most
    /// 6,000 pixels) for the picture, then back to its size.
    pub fn full_page_screenshot(&self) -> Vec<u8> {
        let height = self.run("return document.documentElement.scrollHeight;").as_u64().unwrap_or(1000);
        self.call("POST", "/window/rect", Some(&json!({ "width": 1280, "height": height.clamp(1000, 6000) + 140 })));
        let png = self.screenshot();
        self.call("POST", "/window/rect", Some(&json!({ "width": 1280, "height": 1000 })));
        png
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = request(self.port, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// One HTTP/1.1 request to chromedriver; the JSON answer.
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Option<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    // chromedriver keeps the connection open whatever the request says, so
    // read the head, then exactly Content-Length bytes.
    let mut response = Vec::new();
    let mut buffer = [0u8; 65536];
    let head_end = loop {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        response.extend_from_slice(&buffer[..n]);
        if let Some(at) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    while response.len() < head_end + length {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..n]);
    }
    serde_json::from_slice(&response[head_end..]).ok()
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let bits = chunk.iter().enumerate().fold(0u32, |acc, (i, &s)| acc | (u32::from(s) << (18 - 6 * i)));
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[test]
fn base64_round_trips_a_known_value() {
    assert_eq!(base64_decode("aVZCT1J3MEtHZ28="), b"iVBORw0KGgo");
    assert_eq!(base64_decode("TWFu"), b"Man");
    assert_eq!(base64_decode("TWE="), b"Ma");
}
