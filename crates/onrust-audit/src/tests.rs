use std::path::{Path, PathBuf};

use super::*;

fn entry(query: &str) -> AuditEntry {
    AuditEntry {
        who: "cli:test".into(),
        action: "search".into(),
        query: Some(query.into()),
        filters: serde_json::json!({"municipality": "GM0344"}),
        hits: Some(3),
        refused: None,
        mandates: Vec::new(),
    }
}

/// A log of `n` records in a fresh folder.
fn log_of(n: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit/audit.jsonl");
    for i in 0..n {
        assert_eq!(append(&path, entry(&format!("q{i}"))).unwrap().seq, i);
    }
    (dir, path)
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
}

fn broken_line(result: Result<Verified, AuditError>) -> (u64, String) {
    match result {
        Err(AuditError::Broken { line, reason, .. }) => (line, reason),
        other => panic!("expected a broken log, got {other:?}"),
    }
}

#[test]
fn n_appends_give_n_verified_records() {
    let (_dir, path) = log_of(5);
    assert_eq!(verify(&path).unwrap(), 5);
    let report = verify_report(&path).unwrap();
    let last = tail(&path, 1).unwrap().remove(0);
    assert_eq!(report.checkpoint, Some(Checkpoint { seq: 4, hash: last.hash.clone() }), "every append seals");
    assert_eq!(report.last_hash, last.hash);
    assert_eq!(report.torn_line, None);
}

#[test]
fn a_long_log_with_multibyte_queries_keeps_appending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // Enough records that the 64 KiB tail window starts at every possible byte offset
    // inside the three-byte characters.
    for i in 0..400 {
        append(&path, entry(&format!("{} {i}", "één€".repeat(i % 7 + 20)))).unwrap();
    }
    assert_eq!(verify(&path).unwrap(), 400);
}

#[test]
fn tail_reads_the_last_records_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    assert!(tail(&path, 10).unwrap().is_empty(), "no log, no records");
    for i in 0..300 {
        // Long enough that the tail spans several read chunks.
        append(&path, entry(&format!("{} {i}", "q".repeat(500)))).unwrap();
    }
    let last: Vec<u64> = tail(&path, 150).unwrap().iter().map(|r| r.seq).collect();
    assert_eq!(last, (150..300).collect::<Vec<u64>>());
    assert_eq!(tail(&path, 1000).unwrap().len(), 300);
    assert!(tail(&path, 0).unwrap().is_empty());
}

#[test]
fn overlong_queries_are_recorded_cut_and_the_chain_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let record = append(&path, entry(&"(".repeat(100_000))).unwrap();
    let query = record.entry.query.unwrap();
    assert!(query.ends_with("[cut: 100000 characters in all]"), "{query}");
    assert!(query.len() < MAX_RECORDED_QUERY_CHARS + 100);
    append(&path, entry("next")).unwrap();
    assert_eq!(verify(&path).unwrap(), 2);
}

#[test]
fn tampering_breaks_the_chain_at_that_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    for i in 0..3 {
        append(&path, entry(&format!("rellen {i}"))).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("rellen 1", "rellen X", 1)).unwrap();
    assert_eq!(broken_line(verify_report(&path)).0, 2);
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    assert_eq!(broken_line(verify_report(&path)).0, 2, "a removed line is found");
}

/// What a check that goes on from a verified prefix finds.
fn from(path: &Path, known: &VerifiedPrefix) -> Result<Verified, AuditError> {
    verify_from(path, Some(known)).map(|(verified, _)| verified)
}

#[test]
fn going_on_from_a_verified_prefix_finds_what_a_full_check_finds() {
    let (_dir, path) = log_of(5);
    let (first, prefix) = verify_from(&path, None).unwrap();
    assert_eq!(first, verify_report(&path).unwrap());
    for i in 5..9 {
        append(&path, entry(&format!("q{i}"))).unwrap();
    }
    let (again, next) = verify_from(&path, Some(&prefix)).unwrap();
    assert_eq!(again, verify_report(&path).unwrap(), "the same report as from the start");
    assert_eq!(again.records, 9);
    // Nothing appended since: the prefix is the whole log and still holds.
    assert_eq!(from(&path, &next).unwrap(), again);
}

#[test]
fn a_record_changed_inside_a_verified_prefix_is_still_found() {
    let (_dir, path) = log_of(5);
    let (_, prefix) = verify_from(&path, None).unwrap();
    append(&path, entry("q5")).unwrap();
    // The same length, other content: only the prefix's digest can tell.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"q1\"", "\"qX\"", 1)).unwrap();
    assert_eq!(broken_line(from(&path, &prefix)).0, 2);
}

#[test]
fn records_removed_after_a_verified_prefix_are_still_found() {
    let (_dir, path) = log_of(5);
    let (_, prefix) = verify_from(&path, None).unwrap();
    for i in 5..10 {
        append(&path, entry(&format!("q{i}"))).unwrap();
    }
    let kept = lines_of(&path)[..7].join("\n") + "\n";
    std::fs::write(&path, kept).unwrap();
    let (line, reason) = broken_line(from(&path, &prefix));
    assert_eq!(line, 8, "the first missing line");
    assert!(reason.contains("the last 3 records were removed"), "{reason}");
    // Cut back into the prefix itself: found as well.
    let kept = lines_of(&path)[..3].join("\n") + "\n";
    std::fs::write(&path, kept).unwrap();
    assert!(matches!(from(&path, &prefix), Err(AuditError::Broken { .. })));
}

#[test]
fn removing_the_newest_records_is_found_by_verify() {
    let (_dir, path) = log_of(100);
    let kept = lines_of(&path)[..50].join("\n") + "\n";
    std::fs::write(&path, kept).unwrap();
    let (line, reason) = broken_line(verify_report(&path));
    assert_eq!(line, 51, "the first missing line");
    assert!(
        reason.contains("record 99 was written") && reason.contains("the last 50 records were removed"),
        "{reason}"
    );
    // Emptied altogether, or removed.
    std::fs::write(&path, "").unwrap();
    let (line, reason) = broken_line(verify_report(&path));
    assert_eq!(line, 1);
    assert!(reason.contains("the last 100 records were removed"), "{reason}");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(broken_line(verify_report(&path)).0, 1, "a removed log beside its checkpoint");
}

#[test]
fn a_rewritten_newest_record_is_found_even_when_its_chain_holds() {
    let (_dir, path) = log_of(3);
    let mut lines = lines_of(&path);
    let mut last: AuditRecord = serde_json::from_str(&lines[2]).unwrap();
    last.entry.query = Some("iets anders".into());
    last.hash = record_hash(last.seq, &last.at, &last.entry, &last.prev);
    lines[2] = serde_json::to_string(&last).unwrap();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (line, reason) = broken_line(verify_report(&path));
    assert_eq!(line, 3);
    assert!(reason.contains("not the one the checkpoint sealed"), "{reason}");
}

#[test]
fn after_a_truncation_the_next_append_records_the_gap_and_verify_keeps_reporting_it() {
    let (_dir, path) = log_of(100);
    let kept = lines_of(&path)[..50].join("\n") + "\n";
    std::fs::write(&path, kept).unwrap();
    let record = append(&path, entry("daarna")).unwrap();
    assert_eq!(record.seq, 51, "the gap's record comes first");
    let gap = &tail(&path, 2).unwrap()[0];
    assert_eq!((gap.entry.who.as_str(), gap.entry.action.as_str()), (SELF_WHO, TRUNCATED));
    assert_eq!(gap.entry.filters["checkpoint"]["seq"], 99);
    assert_eq!(gap.entry.filters["found_seq"], 49);
    let (line, reason) = broken_line(verify_report(&path));
    assert_eq!(line, 51);
    assert!(reason.contains("records 50 to 99 were removed"), "{reason}");
    // The checkpoint moved on with the chain: the next append finds nothing new to record.
    let next = append(&path, entry("nog later")).unwrap();
    assert_eq!(next.seq, 52);
}

#[test]
fn a_torn_last_line_is_moved_aside_with_a_record_and_no_longer_blocks() {
    let (dir, path) = log_of(99);
    let torn = r#"{"seq":99,"at":"2026-12-06T1"#;
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(torn);
    std::fs::write(&path, &text).unwrap();
    // Readers skip it; verify names it.
    assert_eq!(tail(&path, 1000).unwrap().len(), 99);
    let report = verify_report(&path).unwrap();
    assert_eq!((report.records, report.torn_line), (99, Some(100)));
    // The next writer moves it aside, says so, and goes on.
    let record = append(&path, entry("na de crash")).unwrap();
    assert_eq!(record.seq, 100);
    let records = tail(&path, 2).unwrap();
    let moved = &records[0];
    assert_eq!((moved.entry.who.as_str(), moved.entry.action.as_str()), (SELF_WHO, TAIL_MOVED));
    assert_eq!(moved.entry.filters["line"], 100);
    assert_eq!(moved.entry.filters["bytes"], torn.len());
    let aside = dir.path().join("audit").join(moved.entry.filters["file"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(&aside).unwrap(), torn, "the torn bytes are kept, not lost");
    assert!(aside.file_name().unwrap().to_string_lossy().starts_with("audit.jsonl.torn-"));
    let report = verify_report(&path).unwrap();
    assert_eq!((report.records, report.torn_line), (101, None));
}

#[test]
fn recover_at_start_moves_a_torn_line_that_ends_in_a_newline_too() {
    let (_dir, path) = log_of(3);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"seq\":3,\0\0\0\0\n");
    std::fs::write(&path, &text).unwrap();
    assert_eq!(tail(&path, 10).unwrap().len(), 3);
    let recovered = recover(&path).unwrap();
    let moved = recovered.tail_moved.expect("moved");
    assert_eq!(moved.line, 4);
    assert_eq!(recovered.truncation, None, "a write that never finished was never sealed");
    assert_eq!(verify(&path).unwrap(), 4);
    assert_eq!(recover(&path).unwrap(), Recovered::default(), "nothing left to do");
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(recover(&empty.path().join("audit.jsonl")).unwrap(), Recovered::default());
    assert!(!empty.path().join("audit.jsonl").exists(), "recovering no log makes none");
}

#[test]
fn a_log_without_a_checkpoint_is_sealed_at_start() {
    let (_dir, path) = log_of(3);
    std::fs::remove_file(checkpoint_path(&path)).unwrap();
    assert_eq!(verify_report(&path).unwrap().checkpoint, None);
    assert!(recover(&path).unwrap().sealed_now);
    assert_eq!(verify_report(&path).unwrap().checkpoint.map(|c| c.seq), Some(2));
}

#[test]
fn errors_name_the_line_as_an_editor_counts_it() {
    let (_dir, path) = log_of(60);
    let mut lines = lines_of(&path);
    lines[36] = "{not a record".into();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    assert_eq!(broken_line(verify_report(&path)).0, 37);
    match tail(&path, 1000) {
        Err(AuditError::Broken { line, .. }) => assert_eq!(line, 37),
        other => panic!("expected a broken log, got {other:?}"),
    }
    // The newest record unreadable after the torn line is moved: the writer names its line.
    let (_dir, path) = log_of(5);
    let mut lines = lines_of(&path);
    lines[4] = "{\"kapot\": true}".into();
    lines.push("{\"half".into());
    std::fs::write(&path, lines.join("\n")).unwrap();
    match append(&path, entry("x")) {
        Err(AuditError::Broken { line, reason, .. }) => {
            assert_eq!(line, 5, "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_unreadable_record_keeps_the_parsers_error_as_its_source() {
    let (_dir, path) = log_of(3);
    let mut lines = lines_of(&path);
    lines[1] = "{not a record".into();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    // Each way in (verify, tail, expire) reads the record and keeps why it could not.
    let before = chrono::Utc::now() + chrono::Duration::days(1);
    let refusals = [verify_report(&path).map(|_| ()), tail(&path, 10).map(|_| ()), expire(&path, before).map(|_| ())];
    for refused in refusals {
        let error = refused.expect_err("the log is broken");
        let message = error.to_string();
        assert!(message.contains("line 2: unreadable record: key must be a string"), "{message}");
        let source = std::error::Error::source(&error).expect("the parser's error is kept");
        assert!(source.is::<serde_json::Error>(), "{source:?}");
        assert!(message.ends_with(&source.to_string()), "{message} / {source}");
    }
    // A broken chain has no underlying error to keep.
    let mut lines = lines_of(&path);
    lines[1] = lines[2].clone();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let error = verify_report(&path).expect_err("the chain is broken");
    assert!(matches!(error, AuditError::Broken { cause: None, .. }), "{error}");
    assert!(std::error::Error::source(&error).is_none());
}

#[cfg(unix)]
#[test]
fn the_log_its_checkpoint_and_a_moved_tail_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = log_of(2);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"half");
    std::fs::write(&path, &text).unwrap();
    append(&path, entry("x")).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("audit")), 0o700);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&checkpoint_path(&path)), 0o600);
    for file in std::fs::read_dir(dir.path().join("audit")).unwrap() {
        let file = file.unwrap().path();
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn entry_strategy() -> impl Strategy<Value = AuditEntry> {
        (
            "[a-z0-9._:-]{1,24}",
            prop_oneof![Just("search"), Just("alerts_ack"), Just("audit_read"), Just("backtest")],
            proptest::option::of(any::<String>().prop_map(|q| q.chars().take(2600).collect::<String>())),
            proptest::collection::btree_map("[a-z_]{1,12}", any::<String>(), 0..4),
            proptest::option::of(any::<u64>()),
            proptest::option::of("\\PC{0,80}"),
        )
            .prop_map(|(who, action, query, filters, hits, refused)| AuditEntry {
                who,
                action: action.to_owned(),
                query,
                filters: serde_json::to_value(filters).unwrap(),
                hits,
                refused,
                mandates: Vec::new(),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        /// Whatever is recorded reads back exactly (a long query cut as
        /// `append` cuts it), the chain verifies, and the checkpoint seals
        /// the newest record; cutting any number of newest lines then fails
        /// verify at the first missing line.
        #[test]
        fn what_is_appended_reads_back_verifies_and_cannot_be_cut_unseen(
            entries in proptest::collection::vec(entry_strategy(), 1..6),
            cut in 1usize..6,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("audit.jsonl");
            let mut written = Vec::new();
            for entry in &entries {
                let record = append(&path, entry.clone()).unwrap();
                let mut expected = entry.clone();
                if let Some(query) = &expected.query
                    && query.chars().count() > MAX_RECORDED_QUERY_CHARS
                {
                    expected.query = record.entry.query.clone();
                    prop_assert!(record.entry.query.as_deref().unwrap_or_default().contains("[cut: "));
                }
                prop_assert_eq!(&record.entry, &expected);
                written.push(record);
            }
            let n = written.len();
            prop_assert_eq!(tail(&path, n).unwrap(), written.clone());
            let report = verify_report(&path).unwrap();
            prop_assert_eq!(report.records, n as u64);
            let newest = written.last().unwrap();
            prop_assert_eq!(report.checkpoint, Some(Checkpoint { seq: newest.seq, hash: newest.hash.clone() }));

            let cut = cut.min(n);
            let text = std::fs::read_to_string(&path).unwrap();
            let kept: Vec<&str> = text.lines().take(n - cut).collect();
            let rest = if kept.is_empty() { String::new() } else { kept.join("\n") + "\n" };
            std::fs::write(&path, rest).unwrap();
            match verify_report(&path) {
                Err(AuditError::Broken { line, .. }) => prop_assert_eq!(line, (n - cut) as u64 + 1),
                other => prop_assert!(false, "a cut of {} records went unseen: {:?}", cut, other),
            }
        }
    }
}

/// The moment after everything written so far, for a cut between two appends.
fn a_moment_later() -> chrono::DateTime<chrono::Utc> {
    std::thread::sleep(std::time::Duration::from_millis(5));
    let now = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    now
}

#[test]
fn retention_cuts_the_head_records_the_cut_and_the_rest_still_verifies() {
    let (_dir, path) = log_of(3);
    let before = a_moment_later();
    append(&path, entry("q3")).unwrap();
    append(&path, entry("q4")).unwrap();

    let cut = expire(&path, before).unwrap().expect("three records are older");
    assert_eq!((cut.records, cut.first_seq, cut.through_seq, cut.gaps), (3, 0, 2, 0));
    let lines = lines_of(&path);
    assert_eq!(lines.len(), 3, "two kept and the record of the cut");
    let first: AuditRecord = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!((first.seq, first.prev.as_str()), (3, cut.anchor.as_str()));
    let last: AuditRecord = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!((last.entry.action.as_str(), last.entry.who.as_str()), (RETENTION_DELETE, RETENTION_WHO));
    assert_eq!(last.entry.hits, Some(3));
    let report = verify_report(&path).unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(report.checkpoint.map(|c| c.seq), Some(5), "the cut's record is sealed");

    assert_eq!(expire(&path, before).unwrap(), None, "nothing older is left: nothing written");
    assert_eq!(lines_of(&path).len(), 3);
    append(&path, entry("q6")).unwrap();
    assert_eq!(verify(&path).unwrap(), 4, "the chain goes on after a cut");

    // A second cut removes the first cut's record too; the new one explains the new head.
    let second = expire(&path, a_moment_later()).unwrap().expect("all four are older");
    assert_eq!((second.records, second.first_seq, second.through_seq), (4, 3, 6));
    assert_eq!(verify(&path).unwrap(), 1);
}

#[test]
fn head_records_removed_without_a_record_of_a_cut_are_found() {
    let (_dir, path) = log_of(5);
    let kept = lines_of(&path)[2..].join("\n") + "\n";
    std::fs::write(&path, kept).unwrap();
    let (line, reason) = broken_line(verify_report(&path));
    assert_eq!(line, 1);
    assert!(reason.contains("starts at record 2") && reason.contains("removed from its start"), "{reason}");

    // After a real cut, removing one more record from the head is found as well.
    let (_dir, path) = log_of(3);
    expire(&path, a_moment_later()).unwrap().expect("a cut");
    append(&path, entry("after")).unwrap();
    let kept = lines_of(&path)[1..].join("\n") + "\n";
    std::fs::write(&path, kept).unwrap();
    let (line, reason) = broken_line(verify_report(&path));
    assert_eq!(line, 1);
    assert!(reason.contains("starts at record 4"), "{reason}");
}

#[test]
fn a_truncation_cut_away_by_retention_still_fails_verification() {
    let (_dir, path) = log_of(3);
    let kept = lines_of(&path)[..2].join("\n") + "\n";
    std::fs::write(&path, kept).unwrap();
    append(&path, entry("after the loss")).unwrap();
    assert!(verify(&path).is_err(), "the truncation is on record");
    let cut = expire(&path, a_moment_later()).unwrap().expect("a cut");
    assert_eq!(cut.gaps, 1);
    let (_, reason) = broken_line(verify_report(&path));
    assert!(reason.contains("the gap stays"), "{reason}");
}

#[test]
fn appends_during_cuts_land_in_the_log_that_stays() {
    let (_dir, path) = log_of(1);
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                append(&path, entry(&format!("w{i}"))).unwrap();
            }
        })
    };
    let mut cut_away = 0;
    let mut cuts = 0;
    while !writer.is_finished() {
        if let Some(cut) = expire(&path, chrono::Utc::now()).unwrap() {
            cut_away += cut.records;
            cuts += 1;
        }
        // Hourly in the daemon; here as often as the writer can bear, not a spin that starves it.
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    writer.join().unwrap();
    let left = verify(&path).unwrap();
    assert!(cuts > 0, "the test cut while appending");
    assert_eq!(cut_away + left, 1 + 200 + cuts, "every record is in the log or counted by a cut: none was lost");
}

/// A record without `mandates` (written before mandates existed) reads and
/// hashes as before; one with them carries them and keeps the chain valid.
#[test]
fn mandates_are_recorded_and_old_records_without_them_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    append(&path, entry("oud")).unwrap();
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(!first.contains("mandates"), "an empty list is left out: {first}");
    let with = AuditEntry { mandates: vec!["jaarwisseling".into()], ..entry("nieuw") };
    let record = append(&path, with).unwrap();
    assert_eq!(record.entry.mandates, ["jaarwisseling"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.lines().nth(1).unwrap().contains("\"mandates\":[\"jaarwisseling\"]"), "{text}");
    verify(&path).unwrap();
    let read: Vec<AuditRecord> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(read[0].entry.mandates.is_empty());
}
