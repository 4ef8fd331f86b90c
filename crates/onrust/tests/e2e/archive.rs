//! The archive under failure and over time: a full disk (R6) and retention (L6).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, rss};

/// A small tmpfs mounted on `dir` for the life of the guard. Mounting needs
/// root (or passwordless sudo); the test says so plainly rather than skip.
struct Tmpfs {
    dir: PathBuf,
    sudo: bool,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("mount point");
        let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        let sudo = !root;
        let mut cmd = if sudo { Command::new("sudo") } else { Command::new("mount") };
        if sudo {
            cmd.args(["-n", "mount"]);
        }
        let status = cmd.args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "this test mounts a small tmpfs to fill the disk for real: run the tests as root or with passwordless sudo"
        );
        Tmpfs { dir: dir.to_path_buf(), sudo }
    }

    fn free_bytes(&self) -> u64 {
        let out = Command::new("df").args(["-B1", "--output=avail"]).arg(&self.dir).output().expect("df");
        String::from_utf8_lossy(&out.stdout).lines().nth(1).and_then(|l| l.trim().parse().ok()).expect("df number")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let mut cmd = if self.sudo { Command::new("sudo") } else { Command::new("umount") };
        if self.sudo {
            cmd.args(["-n", "umount"]);
        }
        let _ = cmd.arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn a_full_disk_stops_the_daemon_plainly_and_nothing_is_lost_when_space_returns() {
    let server = FeedServer::start();
    let feeds = ["vol-a", "vol-b", "vol-c"];
    let mut sources = Vec::new();
    for name in feeds {
        let path = format!("/{name}.xml");
        server.route(&path, Reply::Feed { body: rss(name, 3000), content_type: "application/rss+xml", etag: None });
        sources.push((name, server.url(&path)));
    }
    let install = Install::new(&sources);
    let disk = Tmpfs::mount(&install.data_dir(), "24m");
    // Leave about 200 KB: enough to start, not enough for 9,000 messages.
    let ballast = install.data_dir().join("ballast");
    let keep = 200 * 1024;
    let fill = disk.free_bytes().saturating_sub(keep);
    let status = Command::new("fallocate").arg("-l").arg(fill.to_string()).arg(&ballast).status().expect("fallocate");
    assert!(status.success(), "fallocate");

    let daemon = install.start();
    let code = daemon_exit(daemon, &install);
    assert!(code.0.is_some_and(|c| c != 0), "a full disk must stop the daemon with a non-zero exit: {:?}", code.0);
    let stderr = code.1;
    assert!(
        stderr.contains("archive commit failed") || stderr.contains("archive write failed"),
        "a plain error naming the archive:\n{stderr}"
    );
    assert!(stderr.contains("stopping so that nothing unsaved is acknowledged"), "{stderr}");
    assert!(!stderr.contains("dead letter"), "a full disk is not a bad message:\n{stderr}");
    assert!(stderr.to_lowercase().contains("no space left on device"), "the cause, as the system says it:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Space returns: the sources are fetched again (their cursors were never
    // stored) and every message is archived exactly once.
    std::fs::remove_file(&ballast).expect("remove ballast");
    let daemon = install.start();
    assert_eq!(install.wait_count("volgnummer", 9000, Duration::from_secs(90)), 9000, "{}", daemon.stderr());
    for name in feeds {
        assert_eq!(install.count(&format!("source:{name}")), 3000, "{name}: none lost, none twice");
    }
    assert_eq!(daemon.terminate().0, Some(0));
}

/// Waits for a daemon that should stop on its own; returns its code and stderr.
fn daemon_exit(daemon: crate::support::Daemon, install: &Install) -> (Option<i32>, String) {
    let stderr_path = daemon.stderr_path.clone();
    let code = daemon.wait_exit(Duration::from_secs(60));
    let _ = install;
    (code, std::fs::read_to_string(stderr_path).unwrap_or_default())
}

#[test]
fn retention_deletes_old_buckets_with_a_record_and_status_lists_them() {
    // One source, so that a running daemon keeps its archive writer open.
    let server = FeedServer::start();
    server.route("/een.xml", Reply::Feed { body: rss("een", 1), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("een", server.url("/een.xml"))]);
    let lines = [
        r#"{"id":"b-1","text":"een bericht over boeren op de snelweg","published_at":"2026-11-28T09:00:00+01:00"}"#,
        r#"{"id":"b-2","text":"nog een bericht over boeren","published_at":"2026-11-28T10:00:00+01:00"}"#,
    ];
    let file = install.dir.path().join("replay.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("replay file");
    let out = install.cli(&["replay", file.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "replay: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(install.count("boeren"), 2);

    // A bucket from March 2020: a copy of this week's index under an old name.
    let buckets = install.data_dir().join("archive/buckets");
    let current = std::fs::read_dir(&buckets).expect("buckets").flatten().next().expect("one bucket").path();
    let old = buckets.join("week-2020-03-02");
    std::fs::create_dir_all(&old).expect("old bucket");
    for entry in std::fs::read_dir(&current).expect("bucket files").flatten() {
        std::fs::copy(entry.path(), old.join(entry.file_name())).expect("copy");
    }
    assert_eq!(install.count("boeren"), 4, "both buckets are searched");

    let out = install.cli(&["archive", "status"]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(status.contains("2 bucket(s)") && status.contains("week-2020-03-02"), "{status}");

    let out = install.cli(&["archive", "retention"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("deleted week-2020-03-02 (2 documents"), "{said}");
    assert!(!old.exists(), "deleted from disk");
    assert_eq!(install.count("boeren"), 2, "the current bucket is kept");
    let audit = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("audit log");
    let record = audit.lines().find(|l| l.contains("retention_delete")).expect("a deletion record");
    assert!(record.contains("week-2020-03-02") && record.contains("\"documents\":2"), "{record}");

    let again = install.cli(&["archive", "retention"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to delete"), "re-running deletes nothing more");
    assert_eq!(
        std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl"))
            .expect("audit")
            .matches("retention_delete")
            .count(),
        1,
        "and records nothing more"
    );
    assert!(install.cli(&["audit", "verify"]).status.success());

    // While the daemon runs it holds the archive: retention on demand is refused, plainly.
    let daemon = install.start();
    let out = install.cli(&["archive", "retention"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("applies retention itself"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(daemon.terminate().0, Some(0));
}
