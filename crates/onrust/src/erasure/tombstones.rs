//! The erasure tombstones: `<data_dir>/erased.jsonl`, one line per message
//! id or link that was erased on request (`onrust erase`), so that a source
//! serving the item again, a restart or a replay never takes it in again
//! (rule L3).
//!
//! Unlike the deletions the archive and the alert stage remember (bounded,
//! because a source deletes only what it just delivered), these are kept
//! for good: a person asked, and the answer must hold however late the item
//! comes back. They hold no content: a message id (`<source>:<hex>`, itself a
//! digest) or the SHA-256 of a link as ingest normalised it, never the link.
//!
//! The file is rewritten whole on every erasure with
//! [`onrust_durable::write_atomic`] (erasures are rare and the file small),
//! so it is always complete. A line that cannot be read stops the daemon at
//! start with the file and line: without its tombstones onrust could take
//! back what it was asked to erase, so it fails closed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use anyhow::Context;
use onrust_model::RawMessage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The file's name in the data dir.
pub const FILE: &str = "erased.jsonl";

/// One line: exactly one of the two.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url_sha256: Option<String>,
}

#[derive(Debug, Default)]
struct Known {
    ids: HashSet<String>,
    urls: HashSet<String>,
}

/// The tombstones in memory, and their file.
#[derive(Debug)]
pub struct Tombstones {
    path: PathBuf,
    known: RwLock<Known>,
    /// One erasure writes the file at a time; readers are not held up by it.
    writing: Mutex<()>,
}

/// The hex SHA-256 of a link, as the file keeps it.
pub fn url_digest(url: &str) -> String {
    hex::encode(Sha256::digest(url.as_bytes()))
}

impl Tombstones {
    /// Reads the tombstones in `data_dir` (none when the file is missing).
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(FILE);
        let known = match std::fs::read_to_string(&path) {
            Ok(text) => parse(&path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Known::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read the erasure tombstones {}", path.display())),
        };
        Ok(Self { path, known: RwLock::new(known), writing: Mutex::new(()) })
    }

    /// How many ids and link digests are kept.
    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        let known = self.read();
        (known.ids.len(), known.urls.len())
    }

    /// Whether `message` was erased: by its id, or by its link.
    pub fn covers(&self, message: &RawMessage) -> bool {
        let known = self.read();
        known.ids.contains(message.id.as_str())
            || (!known.urls.is_empty() && message.url.as_deref().is_some_and(|u| known.urls.contains(&url_digest(u))))
    }

    /// Adds `ids` and the link `url` (normalised; kept as its digest), durably:
    /// the file is replaced before this returns, and only then do they count.
    /// Blocking: call it off the async threads.
    pub fn add(&self, ids: &[String], url: Option<&str>) -> anyhow::Result<()> {
        let _writing = self.writing.lock().map_err(|_| anyhow::anyhow!("tombstone writer lock poisoned"))?;
        let digest = url.map(url_digest);
        let (ids, urls, body) = {
            let known = self.read();
            let new_ids: Vec<String> = ids.iter().filter(|id| !known.ids.contains(*id)).cloned().collect();
            let new_url = digest.filter(|d| !known.urls.contains(d));
            if new_ids.is_empty() && new_url.is_none() {
                return Ok(());
            }
            let mut lines: Vec<Line> =
                known.ids.iter().map(|id| Line { id: Some(id.clone()), url_sha256: None }).collect();
            lines.extend(known.urls.iter().map(|d| Line { id: None, url_sha256: Some(d.clone()) }));
            lines.extend(new_ids.iter().map(|id| Line { id: Some(id.clone()), url_sha256: None }));
            lines.extend(new_url.iter().map(|d| Line { id: None, url_sha256: Some(d.clone()) }));
            let mut body = String::new();
            for line in &lines {
                body.push_str(&serde_json::to_string(line).context("serialising a tombstone")?);
                body.push('\n');
            }
            (new_ids, new_url, body)
        };
        onrust_durable::write_atomic(&self.path, body.as_bytes())
            .with_context(|| format!("cannot write the erasure tombstones {}", self.path.display()))?;
        let mut known = self.known.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        known.ids.extend(ids);
        known.urls.extend(urls);
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        // Plain sets, changed only after the file is written: a panic elsewhere cannot leave them half-done.
        self.known.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Every line of the file, or the first problem with its line number as an editor counts.
fn parse(path: &Path, text: &str) -> anyhow::Result<Known> {
    let mut known = Known::default();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let problem = |what: String| {
            anyhow::anyhow!(
                "the erasure tombstones {} line {}: {what}; each line is {{\"id\": ...}} or {{\"url_sha256\": ...}}. \
                 onrust does not start without them, so that nothing erased comes back: repair the line",
                path.display(),
                n + 1
            )
        };
        let line: Line = serde_json::from_str(raw).map_err(|e| problem(format!("not a tombstone ({e})")))?;
        match (line.id, line.url_sha256) {
            (Some(id), None) if onrust_model::MessageId::new(id.clone()).is_ok() => {
                known.ids.insert(id);
            }
            (None, Some(d)) if d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
                known.urls.insert(d.to_ascii_lowercase());
            }
            (Some(_), None) => return Err(problem("the id is not a message id".into())),
            (None, Some(_)) => return Err(problem("url_sha256 is not 64 hexadecimal digits".into())),
            _ => return Err(problem("it must hold exactly one of id and url_sha256".into())),
        }
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use onrust_model::{MessageId, SCHEMA_VERSION, SourceId, SourceKind};

    use super::*;

    fn message(id: &str, url: Option<&str>) -> RawMessage {
        RawMessage {
            schema: SCHEMA_VERSION,
            id: MessageId::new(id).expect("id"),
            source: SourceId::new("nieuws").expect("source"),
            source_kind: SourceKind::Feed,
            url: url.map(str::to_owned),
            title: None,
            text: "tekst".into(),
            published_at: None,
            fetched_at: chrono::Utc::now(),
            author: None,
            lang_hint: None,
        }
    }

    #[test]
    fn tombstones_hold_ids_and_link_digests_durably_and_never_the_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stones = Tombstones::open(dir.path()).expect("no file yet: none");
        assert_eq!(stones.len(), (0, 0));
        let link = "https://example.org/nieuws/geheim-adres";
        stones.add(&["nieuws:aa01".into(), "nieuws:bb02".into()], Some(link)).expect("add");
        stones.add(&["nieuws:aa01".into()], Some(link)).expect("again: nothing new");
        assert!(stones.covers(&message("nieuws:aa01", None)));
        assert!(stones.covers(&message("nieuws:cc03", Some(link))), "another id with the erased link");
        assert!(!stones.covers(&message("nieuws:cc03", Some("https://example.org/nieuws/ander"))));
        assert!(stones.covers(&message("nieuws:bb02", None)));

        let text = std::fs::read_to_string(dir.path().join(FILE)).expect("file");
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.contains("example.org"), "a digest, never the link: {text}");
        let reopened = Tombstones::open(dir.path()).expect("reopen");
        assert_eq!(reopened.len(), (2, 1), "they survive a restart");
        assert!(reopened.covers(&message("nieuws:dd04", Some(link))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE)).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the owner's only (S13)");
        }
    }

    #[test]
    fn a_corrupt_tombstone_file_is_refused_naming_the_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        for (text, line, says) in [
            ("{\"id\": \"a:1\"}\n{\"id\": \n", 2, "not a tombstone"),
            ("\n{\"id\": \"a:1\"}\n{\"url_sha256\": \"abc\"}\n", 3, "not 64 hexadecimal digits"),
            ("{\"id\": \"a b\"}\n", 1, "not a message id"),
            ("{\"id\": \"a:1\", \"url_sha256\": null, \"text\": \"x\"}\n", 1, "unknown field"),
            ("{}\n", 1, "exactly one of id and url_sha256"),
            ("\u{0}\u{ff}garbage", 1, "not a tombstone"),
        ] {
            std::fs::write(&path, text).expect("write");
            let error = format!("{:#}", Tombstones::open(dir.path()).expect_err(text));
            assert!(error.contains(&format!("{} line {line}:", path.display())), "{text:?}: {error}");
            assert!(error.contains(says), "{text:?}: {error}");
        }
    }
}
