//! The embedded bus's dead letters: one JSON line per refused record in a
//! file of the data directory (on Kafka they are a topic, whose retention
//! is the topic's). The file holds whole messages, so it has a retention of
//! its own (rule L6): [`expire`] removes the letters refused before the
//! cut-off, after the caller has recorded what goes. Appends and the cut
//! take the file's lock; the cut renames a new file over the old one, and a
//! writer that waited meanwhile appends to the new one
//! (`onrust_durable::open_locked_append`).

use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// Appends one dead letter (its payload as one line) and syncs it.
pub(crate) fn append(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        onrust_durable::create_private_dir_all(parent)?;
    }
    let created = !path.exists();
    let mut file = onrust_durable::open_locked_append(path)?;
    let mut line = Vec::with_capacity(payload.len() + 1);
    line.extend(payload.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()?;
    if created && let Some(parent) = parent {
        // A new file's directory entry is durable only once the directory is synced.
        onrust_durable::sync_dir(parent)?;
    }
    Ok(())
}

/// What [`expire`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeadLetterExpiry {
    /// Letters refused before the cut-off, removed.
    pub removed: usize,
    /// Letters without a date (written before dates were kept), dated now so
    /// that they go one period from now.
    pub dated: usize,
}

/// Why the record of a removal could not be written (the caller's error,
/// kept whole so its cause is still there when the failure is logged).
pub type RecordError = Box<dyn std::error::Error + Send + Sync>;

/// Why the dead letters' retention did nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("dead letters {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the removal of {letters} dead letter(s) could not be recorded, so none was removed")]
    NotRecorded {
        letters: usize,
        #[source]
        source: RecordError,
    },
}

/// Removes the dead letters refused before `before` from the file at
/// `path`, calling `record` with how many go first: if it fails, nothing is
/// removed. A letter without a date is dated `now` instead; a line that is
/// not a letter (torn by a crash) is kept as it is. Nothing to do, no file:
/// nothing is written and `record` is not called.
pub fn expire(
    path: &Path,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
    record: impl FnOnce(usize) -> Result<(), RecordError>,
) -> Result<DeadLetterExpiry, DeadLetterError> {
    let io = |source| DeadLetterError::Io { path: path.to_owned(), source };
    let Some((file, lines)) = locked_lines(path).map_err(io)? else {
        return Ok(DeadLetterExpiry::default());
    };
    let mut kept = Vec::new();
    let mut expiry = DeadLetterExpiry::default();
    for line in lines {
        match serde_json::from_slice::<serde_json::Value>(&line) {
            Ok(serde_json::Value::Object(mut letter)) => {
                let at = letter.get("at").and_then(|at| at.as_str()).and_then(|at| at.parse::<DateTime<Utc>>().ok());
                match at {
                    Some(at) if at < before => {
                        expiry.removed += 1;
                        continue;
                    }
                    Some(_) => kept.extend_from_slice(&line),
                    None => {
                        letter.insert("at".into(), serde_json::Value::String(now.to_rfc3339()));
                        let dated = serde_json::to_vec(&letter).map_err(|e| io(std::io::Error::other(e)))?;
                        kept.extend_from_slice(&dated);
                        expiry.dated += 1;
                    }
                }
            }
            _ => kept.extend_from_slice(&line),
        }
        kept.push(b'\n');
    }
    if expiry.removed == 0 && expiry.dated == 0 {
        return Ok(expiry);
    }
    if expiry.removed > 0 {
        record(expiry.removed).map_err(|source| DeadLetterError::NotRecorded { letters: expiry.removed, source })?;
    }
    // Replaced while the old file is still locked: a writer waiting for it opens the new one.
    onrust_durable::write_atomic(path, &kept).map_err(io)?;
    drop(file);
    Ok(expiry)
}

/// How many dead letters quote one of `values` (a message id or link) as
/// a JSON string in their payload: what [`remove_quoting`] would remove.
pub fn count_quoting(path: &Path, values: &[String]) -> Result<usize, DeadLetterError> {
    let io = |source| DeadLetterError::Io { path: path.to_owned(), source };
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes.split(|&b| b == b'\n').filter(|line| quotes(line, values)).count()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io(e)),
    }
}

/// Removes the dead letters that quote one of `values` (erasure on request:
/// a dead letter holds the whole message), under the file's lock; returns
/// how many went. Nothing to remove: nothing is written.
pub fn remove_quoting(path: &Path, values: &[String]) -> Result<usize, DeadLetterError> {
    let io = |source| DeadLetterError::Io { path: path.to_owned(), source };
    let Some((file, lines)) = locked_lines(path).map_err(io)? else {
        return Ok(0);
    };
    let mut kept = Vec::new();
    let mut removed = 0;
    for line in lines {
        if quotes(&line, values) {
            removed += 1;
        } else {
            kept.extend_from_slice(&line);
            kept.push(b'\n');
        }
    }
    if removed > 0 {
        onrust_durable::write_atomic(path, &kept).map_err(io)?;
    }
    drop(file);
    Ok(removed)
}

/// The file, locked (held until the returned file is dropped, so a rewrite
/// replaces what was read), and its non-empty lines; `None` without a file.
fn locked_lines(path: &Path) -> std::io::Result<Option<(std::fs::File, Vec<Vec<u8>>)>> {
    if !path.exists() {
        return Ok(None);
    }
    let mut file = onrust_durable::open_locked_append(path)?;
    file.seek(SeekFrom::Start(0))?;
    let lines = BufReader::new(&file).split(b'\n').filter(|line| line.as_ref().map_or(true, |l| !l.is_empty()));
    let lines = lines.collect::<std::io::Result<Vec<_>>>()?;
    Ok(Some((file, lines)))
}

/// Whether a letter's line quotes one of `values`: in the payload (a JSON
/// text kept as a string) a value stands as `\"value\"`, escaped twice.
/// Matched on the line's bytes, so a letter whose payload was cut (or is not
/// JSON) is still found when the value is in it.
fn quotes(line: &[u8], values: &[String]) -> bool {
    values.iter().any(|value| {
        let once = serde_json::to_string(value).unwrap_or_default();
        let twice = serde_json::to_string(&once).unwrap_or_default();
        let needle = twice.as_bytes().get(1..twice.len().saturating_sub(1)).unwrap_or_default();
        !needle.is_empty() && line.windows(needle.len()).any(|w| w == needle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(reason: &str, at: Option<&str>) -> String {
        let mut value = serde_json::json!({
            "schema": 1, "reason": reason, "origin": {"topic": "onrust.raw.v1", "partition": 0, "offset": 1},
            "key": "k", "payload": "{\"text\": \"een heel bericht\"}"
        });
        if let Some(at) = at {
            value["at"] = at.into();
        }
        value.to_string()
    }

    fn reasons(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .expect("letters")
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).map(|v| v["reason"].to_string()).unwrap_or(l.to_owned())
            })
            .collect()
    }

    #[test]
    fn old_letters_go_after_their_record_undated_ones_are_dated_and_nothing_goes_unrecorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deadletter.jsonl");
        let lines = [
            letter("oud", Some("2026-01-01T00:00:00Z")),
            letter("zonder datum", None),
            letter("nieuw", Some("2026-12-01T00:00:00Z")),
            "{\"schema\": 1, \"reas".to_owned(),
        ];
        std::fs::write(&path, lines.join("\n") + "\n").expect("letters");
        let (before, now): (DateTime<Utc>, DateTime<Utc>) =
            ("2026-11-01T00:00:00Z".parse().expect("time"), "2026-12-07T00:00:00Z".parse().expect("time"));

        let full = || std::io::Error::new(std::io::ErrorKind::StorageFull, "the audit log is full");
        let refused = expire(&path, before, now, |_| Err(full().into())).expect_err("not recorded");
        assert!(matches!(refused, DeadLetterError::NotRecorded { letters: 1, .. }), "{refused}");
        // The record's own error stays the cause, whole, for the log to show.
        let cause = std::error::Error::source(&refused).expect("the record's error is the source");
        let cause = cause.downcast_ref::<std::io::Error>().expect("the record's own error type");
        assert_eq!(
            (cause.kind(), cause.to_string()),
            (std::io::ErrorKind::StorageFull, "the audit log is full".into())
        );
        assert_eq!(reasons(&path).len(), 4, "nothing removed without its record");

        let mut recorded = None;
        let done = expire(&path, before, now, |n| {
            recorded = Some(n);
            Ok(())
        })
        .expect("retention");
        assert_eq!((done, recorded), (DeadLetterExpiry { removed: 1, dated: 1 }, Some(1)));
        assert_eq!(reasons(&path), ["\"zonder datum\"", "\"nieuw\"", "{\"schema\": 1, \"reas"]);
        let dated: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&path).expect("letters").lines().next().expect("line"))
                .expect("json");
        assert_eq!(dated["at"], now.to_rfc3339());

        let again = expire(&path, before, now, |_| panic!("nothing to record")).expect("again");
        assert_eq!(again, DeadLetterExpiry::default(), "nothing more to do");
        // One period after it was dated, the undated letter goes too.
        let later: DateTime<Utc> = "2027-02-01T00:00:00Z".parse().expect("time");
        let done = expire(&path, later, later, |_| Ok(())).expect("later");
        assert_eq!(done.removed, 2);
        assert_eq!(reasons(&path), ["{\"schema\": 1, \"reas"]);
    }

    #[test]
    fn letters_quoting_an_erased_message_or_link_are_counted_and_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deadletter.jsonl");
        let payload = |id: &str, url: &str| {
            serde_json::json!({ "schema": 1, "id": id, "url": url, "text": "een heel bericht" }).to_string()
        };
        let line = |payload: &str| {
            serde_json::json!({
                "schema": 1, "reason": "r", "origin": {"topic": "onrust.raw.v1", "partition": 0, "offset": 1},
                "key": "forum", "payload": payload
            })
            .to_string()
        };
        let lines = [
            line(&payload("forum:aa", "https://forum.example/t/1")),
            line(&payload("forum:bb", "https://forum.example/t/10")),
            // Cut at the cap: not JSON any more, the id still in it.
            line("{\"schema\": 1, \"id\": \"forum:cc\", \"text\": \"afgebro"),
        ];
        std::fs::write(&path, lines.join("\n") + "\n").expect("letters");
        let link = ["https://forum.example/t/1".to_owned()];
        assert_eq!(count_quoting(&path, &link).expect("count"), 1, "t/10 is another link");
        let ids = ["forum:cc".to_owned(), "forum:zz".to_owned()];
        assert_eq!(count_quoting(&path, &ids).expect("count"), 1);
        assert_eq!(remove_quoting(&path, &link).expect("remove"), 1);
        assert_eq!(remove_quoting(&path, &ids).expect("remove"), 1);
        let left = std::fs::read_to_string(&path).expect("letters");
        assert_eq!(left.lines().count(), 1);
        assert!(left.contains("forum:bb"), "{left}");
        assert_eq!(remove_quoting(&path, &ids).expect("again"), 0);
        assert_eq!(count_quoting(&dir.path().join("none.jsonl"), &ids).expect("no file"), 0);
    }

    #[test]
    fn letters_are_appended_as_one_line_each() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dead/deadletter.jsonl");
        append(&path, b"{\"a\":\n1}").expect("append");
        append(&path, b"{\"b\":2}").expect("append");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "{\"a\": 1}\n{\"b\":2}\n");
    }
}
