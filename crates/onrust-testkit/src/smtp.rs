//! A real SMTP server for the mail tests: `smtp_sink.py` (python3 with
//! aiosmtpd) on a loopback port. A test that needs it and cannot start it
//! fails and says what to install; it never skips.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait::{found_within, holds_within};

/// The sink's program, carried in the test binary and written beside the
/// mails, so that it runs the same from any checkout or target dir.
const SCRIPT: &str = include_str!("../smtp_sink.py");

/// How long the sink may take to listen (a cold Python on a busy machine).
const START_WITHIN: Duration = Duration::from_secs(20);

/// A running SMTP sink; the process is killed when this is dropped.
///
/// Options, as `smtp_sink.py` takes them: `--fail-first N` answers the
/// first N DATA commands with `--fail-code CODE` (default 451);
/// `--tls-cert CERT --tls-key KEY` offers and requires STARTTLS;
/// `--auth-reject` offers AUTH and rejects every login.
#[derive(Debug)]
pub struct SmtpSink {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

/// One mail the sink accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Envelope and headers: `mail_from`, `rcpt_tos`, `subject` (decoded),
    /// `subject_count`, `headers` (names in order), `message_id`.
    pub meta: serde_json::Value,
    /// The decoded text/plain part.
    pub text: String,
    /// The decoded text/html part (empty without one).
    pub html: String,
    /// The message as received.
    pub raw: String,
}

impl Mail {
    /// The envelope recipients.
    pub fn rcpt_tos(&self) -> Vec<String> {
        self.meta["rcpt_tos"]
            .as_array()
            .map(|all| all.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// The decoded subject.
    pub fn subject(&self) -> &str {
        self.meta["subject"].as_str().unwrap_or_default()
    }
}

impl SmtpSink {
    /// Starts the sink on a free loopback port with `options` (see above).
    pub fn start(options: &[&str]) -> Self {
        Self::start_on(crate::free_port(), options)
    }

    /// Starts the sink on `port` (a relay that comes back after being down);
    /// returns once the port accepts connections.
    pub fn start_on(port: u16, options: &[&str]) -> Self {
        let python = crate::python_with("aiosmtpd").unwrap_or_else(|| {
            panic!(
                "this test needs python3 with aiosmtpd (a real SMTP server), which is not installed: \
                 apt-get install python3-aiosmtpd, or set ONRUST_TEST_PYTHON to a python3 that has it \
                 (scripts/bootstrap installs it)"
            )
        });
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary folder for the SMTP sink: {e}"));
        let script = dir.path().join("smtp_sink.py");
        let mails = dir.path().join("mails");
        let log = dir.path().join("sink.log");
        std::fs::write(&script, SCRIPT).unwrap_or_else(|e| panic!("cannot write {}: {e}", script.display()));
        std::fs::create_dir(&mails).unwrap_or_else(|e| panic!("cannot create {}: {e}", mails.display()));
        // Its output goes to a file, not a pipe nobody reads: a pipe that
        // fills up would stall the sink in the middle of a test.
        let stderr = std::fs::File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let child = Command::new(&python)
            .arg(&script)
            .args(["127.0.0.1", &port.to_string()])
            .arg(&mails)
            .args(options)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the SMTP sink with {python}: {e}"));
        let mut sink = Self { child, port, dir };
        let listening = holds_within(START_WITHIN, || {
            sink.exited() || TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok()
        });
        if !listening || sink.exited() {
            panic!(
                "the SMTP sink did not listen on 127.0.0.1:{port} within {START_WITHIN:?} ({}); its output:\n{}",
                if sink.exited() { "it exited" } else { "still starting" },
                sink.log()
            );
        }
        sink
    }

    /// What the sink wrote to its standard error.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sink.log")).unwrap_or_default()
    }

    /// The folder the accepted mails are stored in (`NNN.eml`, `.txt`, `.html`, `.json`).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().join("mails")
    }

    /// The mails accepted so far, in the order they came.
    pub fn mails(&self) -> Vec<Mail> {
        let dir = self.dir();
        let mut metas: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read the sink's folder {}: {e}", dir.display()))
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|x| x == "json"))
            .collect();
        metas.sort();
        metas.iter().map(|meta| read_mail(meta)).collect()
    }

    /// The first mail that matches `matches`, waiting up to `timeout` for it.
    pub fn wait_for(&self, timeout: Duration, matches: impl Fn(&Mail) -> bool) -> Option<Mail> {
        found_within(timeout, || self.mails().into_iter().find(|mail| matches(mail)))
    }

    /// The mails accepted, once there are at least `n` or `timeout` passed
    /// (then fewer: the caller's assertion on them says what is missing).
    pub fn wait_for_mails(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        found_within(timeout, || Some(self.mails()).filter(|mails| mails.len() >= n)).unwrap_or_else(|| self.mails())
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stored mail by its `NNN.json`; the sink writes every part before it (renamed into place).
fn read_mail(meta: &Path) -> Mail {
    let read = |path: PathBuf| std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let meta_bytes = read(meta.to_path_buf());
    Mail {
        meta: serde_json::from_slice(&meta_bytes)
            .unwrap_or_else(|e| panic!("{} is not the sink's JSON: {e}", meta.display())),
        text: String::from_utf8_lossy(&read(meta.with_extension("txt"))).into_owned(),
        html: String::from_utf8_lossy(&read(meta.with_extension("html"))).into_owned(),
        raw: String::from_utf8_lossy(&read(meta.with_extension("eml"))).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    /// A plain SMTP dialogue, as a relay client speaks it.
    fn send(port: u16, from: &str, to: &str, message: &str) -> Vec<String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut writer = stream;
        let mut replies = Vec::new();
        let mut reply = |reader: &mut BufReader<TcpStream>| loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("a reply");
            // A multi-line reply continues with "250-".
            if line.as_bytes().get(3) != Some(&b'-') {
                replies.push(line.trim_end().to_owned());
                break;
            }
        };
        reply(&mut reader);
        for command in ["EHLO test.example".to_owned(), format!("MAIL FROM:<{from}>"), format!("RCPT TO:<{to}>")] {
            write!(writer, "{command}\r\n").expect("send");
            reply(&mut reader);
        }
        write!(writer, "DATA\r\n").expect("send");
        reply(&mut reader);
        write!(writer, "{message}\r\n.\r\n").expect("send");
        reply(&mut reader);
        write!(writer, "QUIT\r\n").expect("send");
        reply(&mut reader);
        replies
    }

    const MESSAGE: &str = "Subject: =?utf-8?q?Melding_Utrecht?=\r\nMessage-ID: <1@test.example>\r\n\
                           Content-Type: text/plain; charset=utf-8\r\n\r\nEr is een oproep.";

    #[test]
    fn the_sink_listens_when_started_stores_what_it_accepts_and_stops_when_dropped() {
        let sink = SmtpSink::start(&[]);
        assert!(sink.mails().is_empty());
        let replies = send(sink.port, "onrust@regio.example", "oov@utrecht.example", MESSAGE);
        assert!(replies[5].starts_with("250"), "stored: {replies:?}");
        let mail = sink.wait_for(Duration::from_secs(10), |m| m.subject() == "Melding Utrecht").expect("the mail");
        assert_eq!(mail.rcpt_tos(), ["oov@utrecht.example"]);
        assert_eq!(mail.meta["mail_from"], "onrust@regio.example");
        assert_eq!(mail.text.trim(), "Er is een oproep.");
        assert!(mail.raw.contains("Message-ID: <1@test.example>"), "{}", mail.raw);
        assert_eq!(sink.wait_for_mails(1, Duration::from_secs(1)).len(), 1);

        let port = sink.port;
        drop(sink);
        assert!(
            holds_within(Duration::from_secs(5), || TcpStream::connect(("127.0.0.1", port)).is_err()),
            "the sink still listens after it was dropped"
        );
    }

    #[test]
    fn the_sink_answers_the_first_deliveries_with_the_code_it_was_given() {
        let sink = SmtpSink::start(&["--fail-first", "1", "--fail-code", "554"]);
        let refused = send(sink.port, "a@x.example", "b@y.example", MESSAGE);
        assert!(refused[5].starts_with("554"), "{refused:?}");
        let accepted = send(sink.port, "a@x.example", "b@y.example", MESSAGE);
        assert!(accepted[5].starts_with("250"), "{accepted:?}");
        assert_eq!(sink.wait_for_mails(1, Duration::from_secs(10)).len(), 1, "only the accepted one is stored");
    }

    #[test]
    fn a_sink_that_cannot_start_fails_with_its_own_words() {
        let failure = std::panic::catch_unwind(|| SmtpSink::start(&["--no-such-option"])).expect_err("it cannot start");
        let message = failure.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("did not listen") && message.contains("it exited"), "{message}");
        assert!(message.contains("--no-such-option"), "argparse's complaint is shown: {message}");
    }
}
