//! Support for the end-to-end tests: a local feed server, the onrust binary
//! started with a temporary configuration, and searches through its CLI.
//!
//! Everything binds to 127.0.0.1 and is torn down when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

// The SMTP sink, free ports and waiting with a deadline are the workspace's
// shared test support (crates/onrust-testkit).
pub use onrust_testkit::{Mail, SmtpSink, free_port, holds_within};
use onrust_testkit::{found_within, found_within_every, wait_until};

/// The onrust binary that cargo built for this test run.
pub fn onrust_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_onrust"))
}

/// The repository root (for the shipped config/ lexicons).
/// Today's date in Europe/Amsterdam, the time zone the reports and the
/// mandates read their dates in (after 23:00 UTC it is tomorrow there).
pub fn amsterdam_today() -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive()
}

pub fn repo_root() -> PathBuf {
    // Read at run time: cargo sets it for the test process, and a test binary
    // reused from another checkout with a shared target dir must still look here.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    // crates/onrust → the workspace root.
    manifest_dir.ancestors().nth(2).expect("repo root").to_path_buf()
}

/// The real recorded feeds in `tests/fixtures/feeds/feed-rs` (see the README there).
pub fn fixture_feeds() -> PathBuf {
    repo_root().join("tests/fixtures/feeds/feed-rs")
}

/// What a route of the [`FeedServer`] answers.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this body and content type; 304 when If-None-Match matches `etag`.
    Feed { body: Vec<u8>, content_type: &'static str, etag: Option<String> },
    /// Any status with extra headers and a body.
    Status { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// 200 with a gzip `Content-Encoding` body as given (already compressed).
    Gzip(Vec<u8>),
    /// Sends headers, then one byte per second, forever.
    SlowDrip,
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    /// When the request was answered.
    pub at: Instant,
    pub headers: HashMap<String, String>,
    pub method: String,
    /// The request body (as long as its Content-Length, at most 1 MiB).
    pub body: Vec<u8>,
}

/// A small HTTP/1.1 server on 127.0.0.1 with fixed routes.
pub struct FeedServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl FeedServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, st) = (Arc::clone(&routes), Arc::clone(&seen), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (r, s, st) = (Arc::clone(&r), Arc::clone(&s), Arc::clone(&st));
                thread::spawn(move || handle(stream, &r, &s, &st));
            }
        });
        Self { addr, routes, seen, stop }
    }

    /// Answers `path` with `reply`; a path without a query also answers requests with one.
    pub fn route(&self, path: &str, reply: Reply) {
        self.routes.lock().expect("routes").insert(path.to_owned(), reply);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The requests whose path (with its query) starts with `prefix`.
    pub fn seen_under(&self, prefix: &str) -> Vec<Seen> {
        self.seen.lock().expect("seen").iter().filter(|s| s.path.starts_with(prefix)).cloned().collect()
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.seen.lock().expect("seen").iter().filter(|s| s.path == path).cloned().collect()
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn handle(stream: TcpStream, routes: &Mutex<HashMap<String, Reply>>, seen: &Mutex<Vec<Seen>>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let method = request_line.split_whitespace().next().unwrap_or("GET").to_owned();
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let length = headers.get("content-length").and_then(|l| l.parse::<usize>().ok()).unwrap_or(0).min(1 << 20);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        body.clear();
    }
    seen.lock().expect("seen").push(Seen {
        path: path.clone(),
        at: Instant::now(),
        headers: headers.clone(),
        method,
        body,
    });
    // The exact path and query first, else the path alone (an API asked with parameters).
    let reply = {
        let routes = routes.lock().expect("routes");
        routes.get(&path).or_else(|| routes.get(path.split('?').next().unwrap_or_default())).cloned()
    };
    let mut stream = stream;
    let reply = reply.unwrap_or(Reply::Status { status: 404, headers: vec![], body: b"not found".to_vec() });
    respond(&mut stream, reply, &headers, stop);
}

fn respond(stream: &mut TcpStream, reply: Reply, request: &HashMap<String, String>, stop: &AtomicBool) {
    match reply {
        Reply::Feed { body, content_type, etag } => {
            if let Some(etag) = &etag
                && request.get("if-none-match") == Some(etag)
            {
                let _ = write!(stream, "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n");
                return;
            }
            let etag_header = etag.map(|e| format!("ETag: {e}\r\n")).unwrap_or_default();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{etag_header}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
        Reply::Status { status, headers, body } => {
            let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
        Reply::Gzip(body) => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            for chunk in body.chunks(16 * 1024) {
                if write!(stream, "{:x}\r\n", chunk.len()).is_err()
                    || stream.write_all(chunk).is_err()
                    || stream.write_all(b"\r\n").is_err()
                {
                    return;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        Reply::SlowDrip => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n"
            );
            for _ in 0..120 {
                if stop.load(Ordering::SeqCst) || stream.write_all(b"<").is_err() {
                    return;
                }
                thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// An RSS 2.0 document with `n` items whose guids start with `prefix`.
pub fn rss(prefix: &str, n: usize) -> Vec<u8> {
    let mut items = String::new();
    for i in 0..n {
        items.push_str(&format!(
            "<item><guid>{prefix}-{i}</guid><title>Bericht {i} van {prefix}</title><link>https://example.org/{prefix}/{i}</link>\
             <description>Demonstratie in Utrecht, volgnummer {prefix}{i}</description><pubDate>Sat, 28 Nov 2026 10:00:00 +0100</pubDate></item>"
        ));
    }
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{prefix}</title><link>https://example.org/</link><description>test</description>{items}</channel></rss>")
        .into_bytes()
}

/// Every file below `dir`, in subfolders too.
pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

/// Writes a secret (a token, a key) readable by its owner only, as onrust
/// requires of every secret file (S13).
pub fn write_secret(path: &std::path::Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).expect("write secret");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// The `[[rules]]` table named `name` in the shipped config/onrust.toml, as it is written there.
pub fn shipped_rule(name: &str) -> String {
    let config = std::fs::read_to_string(repo_root().join("config/onrust.toml")).expect("config/onrust.toml");
    let start = config.find(&format!("[[rules]]\nname = \"{name}\"\n")).expect("the shipped rule");
    let end = config[start + 9..].find("\n[[rules]]").map_or(config.len(), |i| i + start + 9);
    // Under the test installation's mandate, not the shipped trial (whose rules reach nobody).
    let rule = config[start..end].trim_end().replace("mandate = \"trial\"", "mandate = \"test\"");
    format!("{rule}\n")
}

/// The id of the mandate every [`Install`] has, in force from 2020 to 2099.
pub const TEST_MANDATE: &str = "test";

/// A `[[mandates]]` table with this id and these dates (`YYYY-MM-DD`), and
/// extra lines (scope) as given.
pub fn mandate_block(id: &str, start: &str, end: &str, extra: &str) -> String {
    format!(
        "[[mandates]]\nid = {id:?}\npurpose = \"Openbare orde: test\"\nlegal_basis = \"Gemeentewet art. 172\"\n\
         decided_by = \"de burgemeester van Utrecht\"\ndpia = \"DPIA-TEST-1\"\nstart = {start}\nend = {end}\n{extra}"
    )
}

/// The shipped `[region]` table (the 38 municipalities of Midden-Nederland).
pub fn shipped_region() -> String {
    let config = std::fs::read_to_string(repo_root().join("config/onrust.toml")).expect("config/onrust.toml");
    let start = config.find("\n[region]\n").expect("a [region]") + 1;
    let end = config[start..].find("\n]\n").expect("end of the region") + start + 3;
    config[start..end].to_owned()
}

/// `onrust run` on a copy of the shipped config/ folder in `dir/config`, as
/// the README's first command runs it from the repository (so its
/// `data_dir = "../data"`, relative to the config file's folder, is
/// `dir/data`), listening on `port`; waits until /readyz answers 200.
pub fn run_shipped_in(dir: &std::path::Path, port: u16) -> Daemon {
    copy_dir(&repo_root().join("config"), &dir.join("config"));
    let stderr_path = dir.join(format!("stderr-shipped-{port}.log"));
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let child = Command::new(onrust_bin())
        .args(["run", "--config"])
        .arg(dir.join("config/onrust.toml"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("ONRUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn onrust run");
    let daemon = Daemon { child, port, stderr_path };
    daemon.wait_ready(Duration::from_secs(60), None);
    daemon
}

/// The shipped config/onrust.toml, in a copy of config/ made once per test
/// run under the target's temporary folder: its `data_dir = "../data"` is
/// relative to the file's folder, and must be the tests' own, never the
/// repository's `data/` (where a developer's own daemon keeps its state).
pub fn shipped_config() -> PathBuf {
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shipped-config");
        let _ = std::fs::remove_dir_all(&root);
        copy_dir(&repo_root().join("config"), &root.join("config"));
        root.join("config/onrust.toml")
    })
    .clone()
}

pub use onrust_testkit::copy_dir;

/// A temporary onrust installation: config file, data dir and listener port.
pub struct Install {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub port: u16,
}

impl Install {
    /// Writes a config with these `[[sources]]` as (id, url) pairs; extra TOML is appended at the top level.
    pub fn new(sources: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let root = repo_root();
        let mut toml = format!(
            "data_dir = {data:?}\n[http]\nlisten = \"127.0.0.1:{port}\"\n[ingest]\nallow_hosts = [\"127.0.0.1\"]\nmin_host_interval = \"10ms\"\ntotal_timeout = \"10s\"\nconnect_timeout = \"2s\"\nmin_rate_bytes_per_sec = 200\n\
             [classify]\nthemes_dir = {themes:?}\ngazetteer = {gaz:?}\nsignals_dir = {signals:?}\nescalation = {escalation:?}\n[archive]\ncommit_interval = \"300ms\"\nwriter_memory_bytes = 20000000\n{mandate}",
            data = dir.path().join("data"),
            themes = root.join("config/themes"),
            gaz = root.join("config/gazetteer/woonplaatsen-gemeenten-2024.csv"),
            signals = root.join("config/signals"),
            escalation = root.join("config/escalation.toml"),
            mandate = mandate_block(TEST_MANDATE, "2020-01-01", "2099-12-31", ""),
        );
        for (id, url) in sources {
            toml.push_str(&format!(
                "[[sources]]\nmandate = \"test\"\nid = {id:?}\nkind = \"feed\"\nurl = {url:?}\ninterval = \"10s\"\n"
            ));
        }
        let config = dir.path().join("onrust.toml");
        std::fs::write(&config, toml).expect("write config");
        Self { dir, config, port }
    }

    /// `onrust token new --name NAME --role ROLE`, appends the printed
    /// `[[http.tokens]]` entry to the config, and returns the token.
    pub fn add_token(&self, name: &str, role: &str) -> String {
        let out = Command::new(onrust_bin())
            .args(["token", "new", "--name", name, "--role", role])
            .output()
            .expect("run onrust token new");
        assert!(out.status.success(), "token new failed: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let token = stdout.lines().find(|l| l.starts_with("onrust_")).expect("a token line").to_owned();
        let entry = &stdout[stdout.find("[[http.tokens]]").expect("a [[http.tokens]] entry")..];
        let config = std::fs::read_to_string(&self.config).expect("read config");
        std::fs::write(&self.config, format!("{config}{entry}\n")).expect("write config");
        token
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts `onrust run` and waits until /readyz answers 200.
    pub fn start(&self) -> Daemon {
        self.start_presenting(None)
    }

    /// Starts `onrust run` with `http.token_file` set to `token_file`: waits
    /// until /readyz answers 200 to that monitor token.
    pub fn start_with_token(&self, token_file: &std::path::Path) -> Daemon {
        let token = std::fs::read_to_string(token_file).expect("token file");
        self.start_presenting(Some(token.trim()))
    }

    fn start_presenting(&self, token: Option<&str>) -> Daemon {
        let stderr_path = self.dir.path().join(format!("stderr-{}.log", Instant::now().elapsed().as_nanos()));
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let child = Command::new(onrust_bin())
            .args(["run", "--config"])
            .arg(&self.config)
            .env("ONRUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn onrust run");
        let daemon = Daemon { child, port: self.port, stderr_path };
        daemon.wait_ready(Duration::from_secs(30), token);
        daemon
    }

    /// `onrust run` after `shell` in a POSIX shell (`ulimit -n 400`, `umask 000`),
    /// which then becomes onrust (`exec`); does not wait for readiness.
    pub fn spawn_in_shell(&self, shell: &str) -> Daemon {
        let stderr_path = self.dir.path().join(format!("stderr-shell-{}.log", free_port()));
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("{shell} && exec \"$0\" run --config \"$1\""))
            .arg(onrust_bin())
            .arg(&self.config)
            .env("ONRUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn sh -c onrust run");
        Daemon { child, port: self.port, stderr_path }
    }

    /// [`Install::spawn_in_shell`], then waits until /readyz answers 200.
    pub fn start_in_shell(&self, shell: &str) -> Daemon {
        let daemon = self.spawn_in_shell(shell);
        daemon.wait_ready(Duration::from_secs(30), None);
        daemon
    }

    /// Appends the shipped alert chain: the region, its name, mail through the
    /// relay on `smtp_port`, the `[[recipients]]` given as TOML and the shipped
    /// critical rule; `check-config` must accept the result.
    pub fn shipped_alert_chain(&self, smtp_port: u16, recipients: &str) {
        let config = std::fs::read_to_string(&self.config).expect("config");
        std::fs::write(
            &self.config,
            format!(
                "{config}{region}[alerts]\nregion_name = \"Midden-Nederland\"\n\
                 [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\nfrom = \"onrust@regio.example\"\n\
                 {recipients}{rule}",
                region = shipped_region(),
                rule = shipped_rule("oproep-tot-geweld"),
            ),
        )
        .expect("config");
        let check = self.cli(&["check-config"]);
        assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    }

    /// Adds `lines` to the `[http]` section of the config.
    /// Puts the bus on the Kafka broker at `brokers` with `partitions` per
    /// topic, one record per producer batch: tansu 0.6 answers a fetch at an
    /// offset inside a record batch with nothing (Kafka returns the batch and
    /// the client skips ahead), so a consumer resuming mid-batch after a
    /// SIGKILL would stall there. Resuming mid-batch is covered against
    /// librdkafka's mock broker (onrust-bus, kafka::tests).
    pub fn use_kafka(&self, brokers: &str, partitions: u32) {
        let config = std::fs::read_to_string(&self.config).expect("config");
        let config = config.replacen(
            "[http]",
            &format!(
                "[bus]\nkind = \"kafka\"\nbrokers = \"{brokers}\"\npartitions = {partitions}\n\
                 [bus.consumer]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n\
                 [bus.producer]\n\"batch.num.messages\" = \"1\"\n[http]"
            ),
            1,
        );
        std::fs::write(&self.config, config).expect("config");
    }

    pub fn http_settings(&self, lines: &str) {
        let config = std::fs::read_to_string(&self.config).expect("read config");
        std::fs::write(&self.config, config.replacen("[http]\n", &format!("[http]\n{lines}\n"), 1))
            .expect("write config");
    }

    /// `onrust run --role R… --listen 127.0.0.1:<free port>` (Kafka roles); waits until ready.
    pub fn start_roles(&self, roles: &[&str]) -> Daemon {
        let port = free_port();
        let name: String = roles.join("-");
        let stderr_path = self.dir.path().join(format!("stderr-{name}-{port}.log"));
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut command = Command::new(onrust_bin());
        command.args(["run", "--config"]).arg(&self.config).args(["--listen", &format!("127.0.0.1:{port}")]);
        for role in roles {
            command.args(["--role", role]);
        }
        let child =
            command.env("ONRUST_LOG", "info").stdout(Stdio::null()).stderr(stderr).spawn().expect("spawn onrust run");
        let daemon = Daemon { child, port, stderr_path };
        daemon.wait_ready(Duration::from_secs(60), None);
        daemon
    }

    /// `onrust <args> --config <this config>`.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with(&self.config, args)
    }

    /// `onrust <args> --config <config>`: another configuration beside this one.
    pub fn cli_with(&self, config: &std::path::Path, args: &[&str]) -> Output {
        Command::new(onrust_bin()).args(args).arg("--config").arg(config).output().expect("run onrust")
    }

    /// The number of archived messages matching `query`.
    pub fn count(&self, query: &str) -> usize {
        let out = self.cli(&["search", query, "--count"]);
        assert!(out.status.success(), "search failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("count")
    }

    /// Hits as JSON objects.
    pub fn search_json(&self, query: &str, extra: &[&str]) -> Vec<serde_json::Value> {
        let mut args = vec!["search", query, "--json", "--limit", "100"];
        args.extend_from_slice(extra);
        let out = self.cli(&args);
        assert!(out.status.success(), "search failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json hit")).collect()
    }

    /// Polls until `count(query) == n` or the timeout passes; returns the last count.
    /// Every 200 ms: each count is a CLI run, and each run is an audit record.
    pub fn wait_count(&self, query: &str, n: usize, timeout: Duration) -> usize {
        found_within_every(timeout, Duration::from_millis(200), || Some(n).filter(|n| self.count(query) == *n))
            .unwrap_or_else(|| self.count(query))
    }
}

/// A Kafka-protocol broker for the tests: tansu, in memory, on a free loopback port.
pub struct Broker {
    child: Child,
    pub port: u16,
}

impl Broker {
    pub fn start() -> Self {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(crate::services::tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tansu");
        let broker = Self { child, port };
        wait_until(&format!("tansu to listen on {port}"), Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        broker
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `onrust run`.
pub struct Daemon {
    child: Child,
    port: u16,
    pub stderr_path: PathBuf,
}

impl Daemon {
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.port, path)
    }

    /// GET with `Authorization: Bearer <token>` when a token is given.
    pub fn get_as(&self, path: &str, token: Option<&str>) -> Option<(u16, String)> {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http_get_with(self.port, path, &headers)
    }

    /// POST a JSON body with `Authorization: Bearer <token>`: (status, body).
    pub fn post_as(&self, path: &str, token: &str, body: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split_whitespace().nth(1)?.parse().ok()?;
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        Some((status, body))
    }

    fn wait_ready(&self, timeout: Duration, token: Option<&str>) {
        let ready = holds_within(timeout, || matches!(self.get_as("/readyz", token), Some((200, _))));
        assert!(ready, "onrust did not become ready; stderr:\n{}", self.stderr());
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status().expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// SIGTERM; returns the exit code and how long the shutdown took.
    pub fn terminate(mut self) -> (Option<i32>, Duration) {
        let start = Instant::now();
        self.signal("TERM");
        let status = self.child.wait().expect("wait");
        (status.code(), start.elapsed())
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the daemon to exit on its own; its exit code, or `None` after `timeout`.
    pub fn wait_exit(mut self, timeout: Duration) -> Option<i32> {
        found_within(timeout, || self.child.try_wait().ok().flatten()).and_then(|status| status.code())
    }

    /// SIGKILL: no chance to drain or commit.
    pub fn kill(mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain GET on loopback: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_get_with(port, path, &[])
}

/// A GET on loopback with extra headers (`Authorization`, ...): (status, body).
pub fn http_get_with(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}
