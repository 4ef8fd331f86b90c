use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use onrust_model::{Level, MessageId, MunicipalityCode, Pseudonym, ScoredMessage, SourceKind};
use onrust_testkit::scored_message;
use tempfile::TempDir;

use crate::{ArchiveError, ArchiveOptions, ArchiveReader, ArchiveWriter, SearchRequest, Sort};

const CANARY: &str = "c0ffee00canarypseudonym00c0ffee";

fn at(day: u32, hour: u32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(2024, 12, day, hour, 0, 0).unwrap()
}

fn msg(id: &str, title: &str, text: &str) -> ScoredMessage {
    scored_message(id)
        .source("rtvutrecht")
        .title(title)
        .text(text)
        .published_at(at(1, 12))
        .fetched_at(Utc.with_ymd_and_hms(2024, 12, 20, 11, 30, 0).unwrap())
        .author(CANARY)
        .lang_hint("nl")
        .level(Level::Discussion)
        .score(0.4)
        .theme("stikstof")
        .municipality("GM0344")
        .build()
}

fn with(mut m: ScoredMessage, f: impl FnOnce(&mut ScoredMessage)) -> ScoredMessage {
    f(&mut m);
    m
}

fn open_writer(dir: &TempDir) -> ArchiveWriter {
    ArchiveWriter::open(dir.path(), &ArchiveOptions::default()).unwrap()
}

fn ids(reader: &ArchiveReader, req: &SearchRequest) -> Vec<String> {
    reader.search(req).unwrap().hits.into_iter().map(|h| h.id).collect()
}

fn q(query: &str) -> SearchRequest {
    SearchRequest::new(query)
}

#[test]
fn upsert_never_duplicates() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let m = msg("a1", "Boeren protest", "trekkers op de snelweg");
    // Twice within one uncommitted batch.
    w.upsert(&m).unwrap();
    w.upsert(&with(m.clone(), |m| m.message.text = "trekkers bij het provinciehuis".into())).unwrap();
    let info = w.commit().unwrap();
    assert_eq!((info.docs, info.total_docs), (2, 1));
    // Again in a later commit.
    w.upsert(&m).unwrap();
    assert_eq!(w.commit().unwrap().total_docs, 1);

    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(r.doc_count(), 1);
    let res = r.search(&q("trekkers")).unwrap();
    assert_eq!(res.total, 1);
    assert_eq!(res.hits[0].text, "trekkers op de snelweg", "the last upsert wins");
}

#[test]
fn a_message_deleted_at_its_source_is_removed_and_not_archived_later() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    // Three buckets (weeks): the deletion finds the message wherever it lives.
    let old = with(msg("old", "Blokkade", "trekkers bij de A12"), |m| {
        m.message.fetched_at = Utc.with_ymd_and_hms(2024, 11, 20, 11, 0, 0).unwrap();
    });
    w.upsert(&old).unwrap();
    w.upsert(&msg("keep", "Blokkade", "trekkers bij de A28")).unwrap();
    w.upsert(&msg("pending", "Blokkade", "trekkers bij de A27")).unwrap();
    w.commit().unwrap();
    assert_eq!(w.buckets().len(), 2);
    // One committed in an older bucket, one only pending in this batch.
    w.upsert(&with(msg("pending", "Blokkade", "trekkers bij de A27, update"), |_| {})).unwrap();
    assert_eq!(w.remove(&MessageId::new("old").unwrap()).unwrap(), 1);
    assert_eq!(w.remove(&MessageId::new("pending").unwrap()).unwrap(), 1);
    assert_eq!(w.remove(&MessageId::new("never-seen").unwrap()).unwrap(), 0);
    w.commit().unwrap();

    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(ids(&r, &q("trekkers")), ["keep"]);

    // The deleted message arrives again (it was still on its way): refused.
    w.upsert(&old).unwrap();
    w.upsert(&msg("never-seen", "Blokkade", "trekkers bij de A1")).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(ids(&r, &q("trekkers")), ["keep"]);
    assert_eq!(r.doc_count(), 1);

    // A restart remembers the deletions: the late copy is still refused.
    drop(w);
    let mut w = open_writer(&dir);
    w.upsert(&old).unwrap();
    w.commit().unwrap();
    assert_eq!(ArchiveReader::open(dir.path()).unwrap().doc_count(), 1);
    // A damaged tombstone file stops the writer rather than forget what was deleted.
    drop(w);
    std::fs::write(dir.path().join(crate::writer::TOMBSTONES_FILE), b"{not json").unwrap();
    let err = ArchiveWriter::open(dir.path(), &ArchiveOptions::default()).unwrap_err().to_string();
    assert!(err.contains("tombstones.json") && err.contains("move it aside"), "{err}");
}

#[test]
fn finds_words_in_title_and_text_with_dutch_analysis() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    w.upsert(&msg("t1", "Demonstratie op het Domplein", "protesten zijn rustig verlopen")).unwrap();
    w.upsert(&msg("t2", "Nieuws", "De politie sprak van een café vol relschoppers")).unwrap();
    w.upsert(&msg("t3", "Anders", "iets heel anders")).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(ids(&r, &q("domplein")), ["t1"]);
    assert_eq!(ids(&r, &q("relschoppers")), ["t2"]);
    assert_eq!(ids(&r, &q("protest")), ["t1"], "Dutch stemming");
    assert_eq!(ids(&r, &q("cafe")), ["t2"], "accent folding");
    assert_eq!(ids(&r, &q("politie relschoppers")), ["t2"]);
    assert!(ids(&r, &q("politie domplein")).is_empty(), "AND is the default");
    assert_eq!(ids(&r, &q("politie OR domplein")).len(), 2);
    assert_eq!(ids(&r, &q("title:nieuws")), ["t2"]);
    assert_eq!(ids(&r, &q("\"cafe vol\"")), ["t2"]);
    assert_eq!(ids(&r, &q("auto's")), Vec::<String>::new(), "apostrophes do not break the parser");
    assert_eq!(r.search(&q("")).unwrap().total, 3);
    assert_eq!(r.search(&q("*")).unwrap().total, 3);
}

#[test]
fn filters_narrow_the_results() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let base = msg("f0", "Protest", "protest tegen de plannen");
    w.upsert(&base).unwrap();
    w.upsert(&with(base.clone(), |m| {
        m.message.id = MessageId::new("f1").unwrap();
        m.assessment.municipalities =
            vec![MunicipalityCode::new("GM0307").unwrap(), MunicipalityCode::new("GM0344").unwrap()];
        m.assessment.themes = vec!["klimaat".into(), "demonstratie".into()];
        m.assessment.level = Level::Mobilisation;
        m.message.published_at = Some(at(5, 12));
    }))
    .unwrap();
    w.upsert(&with(base.clone(), |m| {
        m.message.id = MessageId::new("f2").unwrap();
        m.assessment.municipalities = vec![MunicipalityCode::new("GM0307").unwrap()];
        m.assessment.level = Level::Escalation;
        m.message.published_at = Some(at(10, 12));
    }))
    .unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let sorted = |req: SearchRequest| {
        let mut v = ids(&r, &req);
        v.sort();
        v
    };
    let gm = |c: &str| Some(MunicipalityCode::new(c).unwrap());

    assert_eq!(sorted(SearchRequest { municipality: gm("GM0307"), ..q("protest") }), ["f1", "f2"]);
    assert_eq!(sorted(SearchRequest { municipality: gm("GM0344"), ..q("") }), ["f0", "f1"]);
    assert_eq!(sorted(SearchRequest { theme: Some("klimaat".into()), ..q("") }), ["f1"]);
    assert_eq!(sorted(SearchRequest { min_level: Some(Level::Mobilisation), ..q("") }), ["f1", "f2"]);
    assert_eq!(sorted(SearchRequest { min_level: Some(Level::Escalation), ..q("") }), ["f2"]);
    let since = Some(at(5, 12).to_utc());
    let until = Some(at(10, 12).to_utc());
    assert_eq!(sorted(SearchRequest { since, ..q("") }), ["f1", "f2"]);
    assert_eq!(sorted(SearchRequest { until, ..q("") }), ["f0", "f1"], "until is exclusive");
    assert_eq!(sorted(SearchRequest { since, until, ..q("") }), ["f1"]);
    assert_eq!(
        sorted(SearchRequest { municipality: gm("GM0307"), min_level: Some(Level::Escalation), ..q("") }),
        ["f2"]
    );
    assert_eq!(sorted(SearchRequest { query: "themes:demonstratie".into(), ..q("") }), ["f1"]);
    assert_eq!(sorted(SearchRequest { query: "level:3".into(), ..q("") }), ["f2"]);

    // Sort newest, and paging.
    let newest = SearchRequest { sort: Sort::Newest, ..q("protest") };
    assert_eq!(ids(&r, &newest), ["f2", "f1", "f0"]);
    let page = r.search(&SearchRequest { limit: 1, offset: 1, ..newest }).unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["f1"]);
}

/// A feed's date far in the future (year 2200) is no publication time: the
/// fetch time stands in and says it is estimated; a clock an hour off is
/// clamped to the fetch and still counts as given.
#[test]
fn a_publication_time_far_in_the_future_is_the_fetch_time_estimated() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let fetched = Utc.with_ymd_and_hms(2024, 12, 20, 11, 30, 0).unwrap();
    let future = FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(2200, 1, 1, 0, 0, 0).unwrap();
    let skewed = (fetched + chrono::Duration::hours(1)).fixed_offset();
    w.upsert(&with(msg("far", "Verre toekomst", "jaartal tweeduizendtweehonderd"), |m| {
        m.message.published_at = Some(future);
    }))
    .unwrap();
    w.upsert(&with(msg("skew", "Klok voor", "klok een uur voor"), |m| m.message.published_at = Some(skewed))).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let far = r.search(&q("tweeduizendtweehonderd")).unwrap().hits.remove(0);
    assert_eq!((far.published_at, far.published_at_estimated), (fetched, true));
    let skew = r.search(&q("klok")).unwrap().hits.remove(0);
    assert_eq!((skew.published_at, skew.published_at_estimated), (fetched, false));
}

#[test]
fn hits_carry_the_fields_and_never_the_author() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let m = with(msg("h1", "Oproep", "morgen verzamelen op het Jaarbeursplein"), |m| {
        m.assessment.event_time = Some(at(2, 20));
        m.assessment.score = 0.75;
        m.assessment.level = Level::Mobilisation;
    });
    w.upsert(&m).unwrap();
    w.upsert(&with(msg("h2", "Zonder datum", "geen publicatietijd"), |m| m.message.published_at = None)).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();

    let res = r.search(&q("")).unwrap();
    let json = serde_json::to_string(&res).unwrap();
    assert!(!json.contains(CANARY), "the pseudonym leaked: {json}");
    assert!(!json.contains("author"), "{json}");

    let h1 = r.search(&q("jaarbeursplein")).unwrap().hits.remove(0);
    assert_eq!(h1.url.as_deref(), Some("https://example.org/h1"));
    assert_eq!(h1.source, "rtvutrecht");
    assert_eq!(h1.source_kind, "feed");
    assert_eq!(h1.lang.as_deref(), Some("nl"));
    assert_eq!(h1.level, 2);
    assert!((h1.score - 0.75).abs() < 1e-6);
    assert_eq!(h1.published_at, at(1, 12).to_utc());
    assert!(!h1.published_at_estimated);
    assert_eq!(h1.event_time, Some(at(2, 20).to_utc()));
    assert_eq!(h1.themes, ["stikstof"]);
    assert_eq!(h1.municipalities, ["GM0344"]);

    let h2 = r.search(&q("publicatietijd")).unwrap().hits.remove(0);
    assert!(h2.published_at_estimated);
    assert_eq!(h2.published_at, m.message.fetched_at);

    // The stored document itself holds no pseudonym either.
    let searcher = r.searchers().remove(0);
    for segment in searcher.segment_readers() {
        let store = segment.get_store_reader(1).unwrap();
        for doc in store.iter::<tantivy::TantivyDocument>(None) {
            let doc = doc.unwrap();
            let json = tantivy::Document::to_json(&doc, &searcher.schema().clone());
            assert!(!json.contains(CANARY), "{json}");
        }
    }
}

#[test]
fn bad_queries_are_refused_quickly() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    w.upsert(&msg("b1", "iets", "iets")).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let cases: Vec<(SearchRequest, &str)> = vec![
        (SearchRequest { limit: 0, ..q("iets") }, "limit"),
        (SearchRequest { limit: 101, ..q("iets") }, "limit"),
        (SearchRequest { offset: 10_001, ..q("iets") }, "offset"),
        (q(&"(".repeat(10_000)), "1000"),
        (q(&format!("{}iets{}", "(".repeat(9), ")".repeat(9))), "nested"),
        (q("*foo"), "wildcard"),
        (q("/re.*/"), "regular expression"),
        (q("foo~2"), "fuzzy"),
        (q("author:abc"), "searching by author is not allowed"),
        (q("iets AND author:abc"), "searching by author is not allowed"),
        (q("url:example"), "fields you can search are"),
        (q("level:hoog"), "cannot read the query"),
        (q("iets AND"), "cannot read the query"),
        (q("published_at:[gisteren TO morgen]"), "published_at takes a time such as 2026-11-01T00:00:00Z"),
        (q("event_time:>volgende-week"), "event_time takes a time"),
        (q("published_at:2026-13-45"), "not \"2026-13-45\""),
        (SearchRequest { since: Some(at(2, 0).to_utc()), until: Some(at(1, 0).to_utc()), ..q("") }, "since"),
    ];
    for (req, expect) in cases {
        let started = Instant::now();
        let result = r.search(&req);
        let elapsed = started.elapsed();
        match result {
            Err(ArchiveError::BadQuery(message)) => {
                assert!(message.contains(expect), "{:.40?}: {message:?} lacks {expect:?}", req.query);
                let shown = ArchiveError::BadQuery(message).to_string();
                assert!(!shown.ends_with('.') && shown.starts_with("bad query: "), "{shown}");
            }
            other => panic!("{:.40?} was not refused: {other:?}", req.query),
        }
        assert!(elapsed < Duration::from_millis(100), "{:.40?} took {elapsed:?}", req.query);
    }
}

#[test]
fn second_writer_is_locked_out() {
    let dir = TempDir::new().unwrap();
    let _w = open_writer(&dir);
    let err = ArchiveWriter::open(dir.path(), &ArchiveOptions::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("in use by another onrust process"), "{err}");
    drop(_w);
    assert!(ArchiveWriter::open(dir.path(), &ArchiveOptions::default()).is_ok(), "the lock goes with the writer");
}

#[test]
fn reader_sees_commits_only() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    w.upsert(&msg("r1", "eerste", "gecommit bericht")).unwrap();
    w.commit().unwrap();
    w.upsert(&msg("r2", "tweede", "nog niet gecommit")).unwrap();

    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(r.doc_count(), 1);
    assert_eq!(ids(&r, &q("")), ["r1"]);
    assert!(ids(&r, &q("tweede")).is_empty());

    w.commit().unwrap();
    r.reload().unwrap();
    assert_eq!(r.doc_count(), 2);
    assert_eq!(ids(&r, &q("tweede")), ["r2"]);
}

#[test]
fn missing_archive_is_not_found() {
    let dir = TempDir::new().unwrap();
    let err = ArchiveReader::open(&dir.path().join("nothing")).unwrap_err();
    assert!(matches!(err, ArchiveError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("has onrust run yet?"), "{err}");
    std::fs::create_dir_all(dir.path().join("index")).unwrap();
    assert!(matches!(ArchiveReader::open(dir.path()), Err(ArchiveError::NotFound { .. })));
}

#[test]
fn commit_payload_round_trips() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    assert_eq!(w.last_payload(), None);
    w.upsert(&msg("p1", "x", "y")).unwrap();
    w.commit_with_payload(r#"{"onrust.scored.v1":{"0":42}}"#).unwrap();
    assert_eq!(w.last_payload().as_deref(), Some(r#"{"onrust.scored.v1":{"0":42}}"#));
    // A plain commit keeps the last payload rather than erasing it.
    w.upsert(&msg("p2", "x", "y")).unwrap();
    w.commit().unwrap();
    drop(w);
    let w = open_writer(&dir);
    assert_eq!(w.last_payload().as_deref(), Some(r#"{"onrust.scored.v1":{"0":42}}"#));
}

#[test]
fn rollback_drops_the_batch() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    w.upsert(&msg("k1", "x", "y")).unwrap();
    w.commit().unwrap();
    w.upsert(&msg("k2", "x", "y")).unwrap();
    w.rollback().unwrap();
    assert_eq!(w.pending(), 0);
    assert_eq!(w.commit().unwrap().total_docs, 1);
}

#[test]
fn bad_options_are_refused() {
    let dir = TempDir::new().unwrap();
    let zero = ArchiveOptions { writer_threads: 0, ..ArchiveOptions::default() };
    assert!(matches!(ArchiveWriter::open(dir.path(), &zero), Err(ArchiveError::Options(_))));
}

#[test]
fn dates_beyond_what_tantivy_holds_neither_panic_nor_wrap() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let far = FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap();
    w.upsert(&with(msg("far", "Toekomst", "bericht uit de verre toekomst"), |m| {
        m.message.published_at = Some(far);
        m.assessment.event_time = Some(far);
    }))
    .unwrap();
    w.commit().unwrap();
    let reader = ArchiveReader::open(dir.path()).unwrap();
    reader.reload().unwrap();
    let hits = reader.search(&q("toekomst")).unwrap().hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].published_at, Utc.with_ymd_and_hms(2024, 12, 20, 11, 30, 0).unwrap(), "no later than the fetch");
    assert!(
        hits[0].event_time.unwrap().timestamp() > Utc.with_ymd_and_hms(2200, 1, 1, 0, 0, 0).unwrap().timestamp(),
        "clamped, not wrapped"
    );
    let mut req = q("toekomst");
    req.since = Some(Utc.with_ymd_and_hms(3000, 1, 1, 0, 0, 0).unwrap());
    assert!(reader.search(&req).is_ok(), "a far bound is clamped too");
}

fn fetched(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// A message fetched at `t` and published an hour before.
fn msg_at(id: &str, text: &str, t: DateTime<Utc>) -> ScoredMessage {
    with(msg(id, "", text), |m| {
        m.message.title = None;
        m.message.fetched_at = t;
        m.message.published_at = Some((t - chrono::Duration::hours(1)).fixed_offset());
    })
}

fn lang(m: ScoredMessage, code: &str) -> ScoredMessage {
    with(m, |m| m.assessment.lang = Some(code.into()))
}

fn bucket_names(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("buckets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn words_are_analysed_per_language() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    w.upsert(&msg("nl1", "Rel in de binnenstad", "relschoppers gooiden stenen naar de politie")).unwrap();
    w.upsert(&msg("nl2", "Jaarwisseling", "oud en nieuw verliep rustig, geen rellen")).unwrap();
    w.upsert(&msg("nl3", "Azc", "protest tegen het azc in Utrecht")).unwrap();
    w.upsert(&msg("nl4", "Azc", "open dag bij het azc")).unwrap();
    w.upsert(&lang(msg("en1", "Riots", "rioters were throwing stones"), "en")).unwrap();
    w.upsert(&lang(msg("de1", "Krawalle", "die Polizei meldet Krawalle in der Stadt"), "de")).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let sorted = |query: &str| {
        let mut v = ids(&r, &q(query));
        v.sort();
        v
    };
    assert_eq!(sorted("rellen"), ["nl1", "nl2"], "rellen and rel share the stem rel");
    assert_eq!(sorted("rel"), ["nl1", "nl2"]);
    assert_eq!(sorted("relschopper"), ["nl1"], "relschoppers is found by its stem");
    assert_eq!(sorted("riot"), ["en1"], "English stemming for English messages");
    assert_eq!(sorted("rioter"), ["en1"]);
    assert_eq!(sorted("krawalle"), ["de1"], "other languages match plainly");
    assert!(sorted("krawall").is_empty(), "and are not stemmed");
    assert_eq!(sorted("\"oud en nieuw\""), ["nl2"], "a phrase across a Dutch stop word");
    assert_eq!(sorted("oud en nieuw"), ["nl2"], "a stop word does not demand itself");
    assert_eq!(sorted("de politie"), ["nl1"], "Dutch stop words drop, the rest still counts");
    assert_eq!(sorted("die polizei"), ["de1"], "German 'die' is a word, not a Dutch stop word");
    assert_eq!(sorted("tegen azc"), ["nl3"], "tegen is kept: it carries meaning here");
    assert_eq!(sorted("azc -tegen"), ["nl4"]);
    assert_eq!(sorted("geen rellen"), ["nl2"], "geen is kept");
    assert_eq!(sorted("politei~1"), ["de1", "nl1"], "fuzzy distance one: politie, and Polizei too");
    assert_eq!(sorted("relschop*"), ["nl1"], "prefix");
    assert_eq!(sorted("text:stenen"), ["nl1"]);
    assert!(sorted("title:stenen").is_empty());
    assert_eq!(sorted("title:rel"), ["nl1"]);
    assert!(sorted("vanavond 20:00").is_empty(), "a clock time is words, not a field");
    assert!(sorted("de").is_empty(), "only stop words asks for nothing in Dutch");
}

#[test]
fn filters_by_source_kind_and_language_and_sorts_oldest_first() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let t = fetched(2024, 12, 20, 12, 0);
    w.upsert(&msg_at("s1", "noodverordening afgekondigd", t)).unwrap();
    w.upsert(&with(msg_at("s2", "noodverordening gevraagd", t + chrono::Duration::hours(2)), |m| {
        m.message.source_kind = SourceKind::Mastodon;
    }))
    .unwrap();
    w.upsert(&lang(msg_at("s3", "noodverordening emergency order", t + chrono::Duration::hours(1)), "en")).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let kind = SearchRequest { source_kind: Some("mastodon".into()), ..q("noodverordening") };
    assert_eq!(ids(&r, &kind), ["s2"]);
    let en = SearchRequest { lang: Some("en".into()), ..q("") };
    assert_eq!(ids(&r, &en), ["s3"]);
    let oldest = SearchRequest { sort: Sort::Oldest, ..q("noodverordening") };
    assert_eq!(ids(&r, &oldest), ["s1", "s3", "s2"]);
}

#[test]
fn facets_count_every_match_not_just_the_page() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let t = fetched(2024, 12, 20, 12, 0);
    for i in 0..5 {
        w.upsert(&msg_at(&format!("u{i}"), "demonstratie op het plein", t)).unwrap();
    }
    w.upsert(&with(msg_at("a1", "demonstratie in Amersfoort", t - chrono::Duration::days(2)), |m| {
        m.assessment.municipalities = vec![MunicipalityCode::new("GM0307").unwrap()];
        m.assessment.themes = vec!["klimaat".into(), "demonstratie".into()];
        m.assessment.level = Level::Escalation;
    }))
    .unwrap();
    w.upsert(&msg_at("x1", "iets anders", t)).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let res = r.search(&SearchRequest { facets: true, limit: 2, ..q("demonstratie") }).unwrap();
    assert_eq!(res.total, 6);
    assert_eq!(res.hits.len(), 2);
    let facets = res.facets.unwrap();
    let pairs = |v: &[crate::FacetCount]| v.iter().map(|c| (c.value.clone(), c.count)).collect::<Vec<_>>();
    assert_eq!(pairs(&facets.municipalities), [("GM0344".into(), 5), ("GM0307".into(), 1)]);
    assert_eq!(
        pairs(&facets.themes),
        [("stikstof".into(), 5), ("demonstratie".into(), 1), ("klimaat".into(), 1)],
        "by count, then by name"
    );
    assert_eq!(pairs(&facets.levels), [("0".into(), 0), ("1".into(), 5), ("2".into(), 0), ("3".into(), 1)]);
    // Published an hour before 12:00 UTC: local dates in Europe/Amsterdam.
    assert_eq!(pairs(&facets.days), [("2024-12-18".into(), 1), ("2024-12-20".into(), 5)]);
    assert!(r.search(&q("demonstratie")).unwrap().facets.is_none(), "only when asked");
}

#[test]
fn snippets_mark_the_words_found() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let text = "Gisteravond bleef het lang onrustig. Later gooiden relschoppers stenen naar agenten bij het station.";
    w.upsert(&msg("sn1", "Onrust bij station", text)).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let hit = r.search(&q("relschopper stenen")).unwrap().hits.remove(0);
    let snippet = hit.snippet.expect("a snippet");
    let marked: Vec<&str> = snippet.highlights.iter().map(|[a, b]| &snippet.text[*a..*b]).collect();
    assert_eq!(marked, ["relschoppers", "stenen"]);
    assert!(r.search(&q("")).unwrap().hits[0].snippet.is_none(), "no words, no snippet");
    let title_only = r.search(&q("title:onrust")).unwrap().hits.remove(0).snippet.expect("from the title");
    assert_eq!(title_only.text, "Onrust bij station");
}

#[test]
fn buckets_split_by_fetch_week_and_are_searched_as_one() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    // 2024-12-02, -09 and -16 are Mondays.
    w.upsert(&msg_at("w1", "boeren blokkeren de snelweg", fetched(2024, 12, 3, 10, 0))).unwrap();
    w.upsert(&msg_at("w2", "boeren en trekkers bij het provinciehuis", fetched(2024, 12, 10, 10, 0))).unwrap();
    w.commit().unwrap();
    w.upsert(&msg_at("w3", "boeren boeren boeren", fetched(2024, 12, 17, 10, 0))).unwrap();
    w.commit().unwrap();
    assert_eq!(bucket_names(&dir), ["week-2024-12-02", "week-2024-12-09", "week-2024-12-16"]);
    assert_eq!(w.total_docs(), 3);
    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(r.doc_count(), 3);
    assert_eq!(ids(&r, &SearchRequest { sort: Sort::Newest, ..q("boeren") }), ["w3", "w2", "w1"]);
    assert_eq!(ids(&r, &q("boeren"))[0], "w3", "one ranking across buckets: most mentions first");
    let page = r.search(&SearchRequest { sort: Sort::Newest, limit: 1, offset: 1, ..q("boeren") }).unwrap();
    assert_eq!((page.total, page.hits[0].id.as_str()), (3, "w2"));
    let since = SearchRequest { since: Some(fetched(2024, 12, 9, 0, 0)), ..q("boeren") };
    let mut found = ids(&r, &since);
    found.sort();
    assert_eq!(found, ["w2", "w3"]);
    let buckets = r.buckets().unwrap();
    assert_eq!(buckets.iter().map(|b| b.documents).collect::<Vec<_>>(), [1, 1, 1]);
    assert!(buckets.iter().all(|b| b.bytes > 0));
}

#[test]
fn an_id_stays_in_one_bucket_across_the_turn_of_a_week() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let sunday = fetched(2024, 12, 15, 23, 59);
    let monday = fetched(2024, 12, 16, 0, 5);
    // Within one batch: the repeat goes where the first copy waits.
    w.upsert(&msg_at("d1", "eerste versie", sunday)).unwrap();
    w.upsert(&msg_at("d1", "tweede versie", monday)).unwrap();
    // Across commits: a re-fetch after a crash, early in the new week.
    w.upsert(&msg_at("d2", "eerste", sunday)).unwrap();
    w.commit().unwrap();
    w.upsert(&msg_at("d2", "opnieuw opgehaald", monday)).unwrap();
    // Late in the new week an id is not looked up any more.
    w.upsert(&msg_at("d3", "later", fetched(2024, 12, 19, 12, 0))).unwrap();
    w.commit().unwrap();
    assert_eq!(w.total_docs(), 3);
    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(ids(&r, &q("versie")), ["d1"]);
    assert_eq!(r.search(&q("versie")).unwrap().hits[0].text, "tweede versie");
    assert_eq!(ids(&r, &q("opgehaald")), ["d2"]);
    let docs: Vec<u64> = r.buckets().unwrap().iter().map(|b| b.documents).collect();
    assert_eq!(docs, [2, 1], "d1 and d2 in the Sunday bucket, d3 in the Monday one");
}

#[test]
fn retention_deletes_whole_buckets_records_them_and_is_idempotent() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    for (i, day) in [2, 9, 16, 23].into_iter().enumerate() {
        for j in 0..=i {
            w.upsert(&msg_at(&format!("r{i}-{j}"), "bericht", fetched(2024, 12, day, 10, 0))).unwrap();
        }
    }
    w.commit().unwrap();
    let reader = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(reader.doc_count(), 10);
    // Fourteen days before 2024-12-31 is 12-17: the weeks ending 12-09 and 12-16 lie wholly before it.
    let now = fetched(2024, 12, 31, 0, 0);
    let mut records = Vec::new();
    let deleted = w
        .apply_retention(now, Duration::from_secs(14 * 86_400), |d| {
            records.push(d.clone());
            Ok::<(), String>(())
        })
        .unwrap();
    assert_eq!(deleted, records, "recorded before deleting");
    assert_eq!(
        records.iter().map(|d| (d.bucket.as_str(), d.documents)).collect::<Vec<_>>(),
        [("week-2024-12-02", 1), ("week-2024-12-09", 2)]
    );
    assert!(records.iter().all(|d| d.bytes > 0 && d.deleted_at == now));
    assert_eq!(records[0].period_end, fetched(2024, 12, 9, 0, 0));
    assert_eq!(bucket_names(&dir), ["week-2024-12-16", "week-2024-12-23"], "gone from disk");
    assert_eq!(w.total_docs(), 7);
    reader.reload().unwrap();
    assert_eq!(reader.doc_count(), 7, "a running reader lets go of deleted buckets");
    assert!(ids(&reader, &q("")).iter().all(|id| id.starts_with("r2") || id.starts_with("r3")));

    let again = w.apply_retention(now, Duration::from_secs(14 * 86_400), |_| Err("must not be called")).unwrap();
    assert!(again.is_empty(), "re-running finds nothing to do");

    // A failing record stops retention with nothing deleted.
    let later = fetched(2025, 2, 1, 0, 0);
    let err = w.apply_retention(later, Duration::from_secs(14 * 86_400), |_| Err("disk full")).unwrap_err();
    assert!(err.to_string().contains("cannot record the deletion: disk full"), "{err}");
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("disk full"), "the recorder's error is kept as the source");
    assert_eq!(bucket_names(&dir).len(), 2);
}

#[test]
fn messages_older_than_the_retention_are_not_archived() {
    let dir = TempDir::new().unwrap();
    let opts = ArchiveOptions { retention: Some(Duration::from_secs(30 * 86_400)), ..ArchiveOptions::default() };
    let mut w = ArchiveWriter::open(dir.path(), &opts).unwrap();
    let now = Utc::now();
    w.upsert(&msg_at("old", "oud bericht", now - chrono::Duration::days(60))).unwrap();
    w.upsert(&msg_at("new", "nieuw bericht", now)).unwrap();
    w.commit().unwrap();
    assert_eq!(w.total_docs(), 1);
    assert_eq!(bucket_names(&dir).len(), 1, "no bucket made for an expired message");
}

#[test]
fn the_payload_lives_in_the_newest_bucket() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    w.upsert(&msg_at("p1", "x", fetched(2024, 12, 3, 10, 0))).unwrap();
    w.commit_with_payload("one").unwrap();
    w.upsert(&msg_at("p2", "x", fetched(2024, 12, 10, 10, 0))).unwrap();
    w.upsert(&msg_at("p3", "x", fetched(2024, 12, 4, 10, 0))).unwrap();
    w.commit_with_payload("two").unwrap();
    // An old bucket touched alone keeps the newest bucket's payload.
    w.upsert(&msg_at("p4", "x", fetched(2024, 12, 5, 10, 0))).unwrap();
    w.commit().unwrap();
    drop(w);
    let w = open_writer(&dir);
    assert_eq!(w.last_payload().as_deref(), Some("two"));
    assert_eq!(w.total_docs(), 4);
}

#[test]
fn counts_per_municipality_theme_and_level_with_distinct_authors() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let t = fetched(2024, 12, 20, 12, 0);
    let author = |m: &mut ScoredMessage, a: &str| m.message.author = Some(Pseudonym::from_digest_hex(a.repeat(8)));
    w.upsert(&with(msg_at("c1", "x", t), |m| author(m, "aaaa"))).unwrap();
    w.upsert(&with(msg_at("c2", "x", t), |m| author(m, "aaaa"))).unwrap();
    w.upsert(&with(msg_at("c3", "x", t), |m| author(m, "bbbb"))).unwrap();
    w.upsert(&with(msg_at("c4", "x", t), |m| {
        author(m, "cccc");
        m.assessment.level = Level::Mobilisation;
        m.assessment.municipalities =
            vec![MunicipalityCode::new("GM0344").unwrap(), MunicipalityCode::new("GM0307").unwrap()];
        m.assessment.themes = vec![];
    }))
    .unwrap();
    w.upsert(&msg_at("c5", "buiten het venster", t - chrono::Duration::days(3))).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let window = crate::CountRequest { since: t - chrono::Duration::hours(6), until: t, min_level: None };
    let rows = r.counts(&window).unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|row| (row.municipality.as_deref(), row.theme.as_deref(), row.level, row.messages, row.distinct_authors))
        .collect();
    assert_eq!(
        got,
        [(Some("GM0307"), None, 2, 1, 1), (Some("GM0344"), None, 2, 1, 1), (Some("GM0344"), Some("stikstof"), 1, 3, 2),]
    );
    let mobilisation = crate::CountRequest { min_level: Some(Level::Mobilisation), ..window.clone() };
    assert_eq!(r.counts(&mobilisation).unwrap().len(), 2);
    assert!(!serde_json::to_string(&rows).unwrap().contains("aaaa"), "counts, never who");
    assert!(r.counts(&crate::CountRequest { since: t, until: t, min_level: None }).is_err());
}

#[test]
fn a_search_past_its_budget_is_stopped() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    w.upsert(&msg("tb1", "x", "tijdsbudget")).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap().with_budget(Duration::ZERO);
    let err = r.search(&q("tijdsbudget")).unwrap_err();
    assert!(matches!(err, ArchiveError::TooSlow { budget_ms: 0 }), "{err:?}");
    assert!(err.to_string().contains("narrow it down"), "{err}");
    let window = crate::CountRequest { since: fetched(2024, 1, 1, 0, 0), until: Utc::now(), min_level: None };
    assert!(matches!(r.counts(&window), Err(ArchiveError::TooSlow { .. })));
}

#[test]
fn the_old_single_index_layout_is_refused() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("index")).unwrap();
    std::fs::write(dir.path().join("index/meta.json"), "{}").unwrap();
    let err = ArchiveWriter::open(dir.path(), &ArchiveOptions::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::SchemaMismatch { .. }), "{err:?}");
    assert!(matches!(ArchiveReader::open(dir.path()), Err(ArchiveError::SchemaMismatch { .. })));
}

fn scan_ids(r: &ArchiveReader, req: &crate::ScanRequest) -> Vec<String> {
    r.scan(req).unwrap().map(|m| m.unwrap().message.id.as_str().to_owned()).collect()
}

/// The scan gives a period's messages in arrival order (fetch time, not
/// publication time), across buckets, including one routed into the bucket
/// before its fetch week, each once with its latest version.
#[test]
fn scan_reads_a_period_in_arrival_order_across_buckets() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let sunday = fetched(2024, 12, 15, 23, 59);
    let monday = fetched(2024, 12, 16, 0, 5);
    // Published in the opposite order of arrival.
    w.upsert(&with(msg_at("late", "kwam laat", fetched(2024, 12, 17, 9, 0)), |m| {
        m.message.published_at = Some(at(1, 12));
    }))
    .unwrap();
    w.upsert(&msg_at("first", "eerst", fetched(2024, 12, 10, 8, 0))).unwrap();
    w.upsert(&msg_at("d2", "eerste", sunday)).unwrap();
    w.commit().unwrap();
    // Re-fetched on Monday: stored in the Sunday bucket, with Monday's fetch time.
    w.upsert(&msg_at("d2", "opnieuw opgehaald", monday)).unwrap();
    w.upsert(&msg_at("outside", "te laat", fetched(2024, 12, 18, 0, 0))).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let req =
        crate::ScanRequest { since: fetched(2024, 12, 10, 8, 0), until: fetched(2024, 12, 18, 0, 0), min_level: None };
    assert_eq!(scan_ids(&r, &req), ["first", "d2", "late"], "since inclusive, until exclusive, by fetch time");
    let scan = r.scan(&req).unwrap();
    assert_eq!(scan.total(), 3);
    let d2 = scan.map(|m| m.unwrap()).find(|m| m.message.id.as_str() == "d2").unwrap();
    assert_eq!((d2.message.text.as_str(), d2.message.fetched_at), ("opnieuw opgehaald", monday));
    // A period that starts right at Monday still finds d2, which lives in the Sunday bucket.
    let monday_on = crate::ScanRequest { since: monday, ..req.clone() };
    assert_eq!(scan_ids(&r, &monday_on), ["d2", "late"]);
    let empty =
        crate::ScanRequest { since: fetched(2025, 3, 1, 0, 0), until: fetched(2025, 3, 2, 0, 0), min_level: None };
    assert!(scan_ids(&r, &empty).is_empty());
    assert!(matches!(
        r.scan(&crate::ScanRequest { since: req.until, until: req.since, min_level: None }),
        Err(ArchiveError::BadQuery(_))
    ));
}

/// A scanned message carries what the archive stores: assessment fields,
/// times as indexed, never the author; below `min_level` nothing is loaded.
#[test]
fn scan_returns_the_stored_assessment_and_skips_lower_levels() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let t = fetched(2024, 12, 20, 11, 30);
    let event = at(21, 14);
    w.upsert(&with(msg("hot", "Oproep", "vuurwerk op de politie"), |m| {
        m.message.fetched_at = t;
        m.message.published_at = None;
        m.assessment.level = Level::Escalation;
        m.assessment.score = 0.9;
        m.assessment.themes = vec!["jaarwisseling".into(), "demonstratie".into()];
        m.assessment.event_time = Some(event);
        m.assessment.explanation =
            vec![onrust_model::Signal { signal: "call_to_violence".into(), evidence: "vuurwerk".into(), weight: 0.6 }];
    }))
    .unwrap();
    w.upsert(&with(msg("calm", "Nieuws", "rustig"), |m| {
        m.message.fetched_at = t + chrono::Duration::minutes(1);
        m.assessment.level = Level::None;
    }))
    .unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let req = crate::ScanRequest {
        since: t - chrono::Duration::hours(1),
        until: t + chrono::Duration::hours(1),
        min_level: Some(Level::Mobilisation),
    };
    let got: Vec<ScoredMessage> = r.scan(&req).unwrap().map(Result::unwrap).collect();
    assert_eq!(got.len(), 1, "the level-0 message is skipped");
    let m = &got[0];
    assert_eq!(m.message.id.as_str(), "hot");
    assert_eq!(m.message.source.as_str(), "rtvutrecht");
    assert_eq!(m.message.source_kind, SourceKind::Feed);
    assert_eq!(m.message.url.as_deref(), Some("https://example.org/hot"));
    assert_eq!(m.message.title.as_deref(), Some("Oproep"));
    assert_eq!(m.message.fetched_at, t);
    assert_eq!(m.message.published_at, None, "an estimated publication time is not passed off as given");
    assert_eq!(m.message.author, None, "never the author (L1)");
    assert_eq!(m.assessment.level, Level::Escalation);
    assert!((m.assessment.score - 0.9).abs() < 1e-6);
    assert_eq!(m.assessment.themes, ["jaarwisseling", "demonstratie"]);
    assert_eq!(m.assessment.municipalities, [MunicipalityCode::new("GM0344").unwrap()]);
    assert_eq!(m.assessment.event_time.map(|e| e.to_utc()), Some(event.to_utc()));
    assert_eq!(m.assessment.lang.as_deref(), Some("nl"));
    assert!(m.assessment.explanation.is_empty(), "the scan leaves the explanation out (the backtest recomputes it)");
    let all = crate::ScanRequest { min_level: None, ..req };
    assert_eq!(scan_ids(&r, &all), ["hot", "calm"]);
}

#[test]
fn oldest_start_is_the_first_buckets_period_start() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(r.oldest_start().unwrap(), None, "an empty archive covers nothing");
    w.upsert(&msg_at("b", "later", fetched(2024, 12, 18, 9, 0))).unwrap();
    w.upsert(&msg_at("a", "earlier", fetched(2024, 12, 4, 9, 0))).unwrap();
    w.commit().unwrap();
    r.reload().unwrap();
    assert_eq!(r.oldest_start().unwrap(), Some(fetched(2024, 12, 2, 0, 0)), "the Monday of the first week");
}

/// The query language's date ranges (issue 17): RFC 3339 bounds, `*` for an
/// open end, `>`/`<`, dates as midnight UTC, a date alone as its day; and a
/// bound that is not a time is refused by name.
#[test]
fn date_ranges_in_the_query_language_work() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    for (id, day, event) in [("d1", 1, None), ("d5", 5, Some(at(6, 20))), ("d10", 10, Some(at(12, 14)))] {
        w.upsert(&with(msg(id, "Protest", "protest op het plein"), |m| {
            m.message.published_at = Some(at(day, 12));
            m.assessment.event_time = event;
        }))
        .unwrap();
    }
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let sorted = |query: &str| {
        let mut v = ids(&r, &q(query));
        v.sort();
        v
    };
    assert_eq!(sorted("published_at:[2024-12-05T00:00:00Z TO *]"), ["d10", "d5"], "open upper end");
    assert_eq!(sorted("published_at:[* TO 2024-12-05T00:00:00Z]"), ["d1"], "open lower end");
    assert_eq!(sorted("published_at:[2024-12-02 TO 2024-12-10]"), ["d5"], "dates are midnight UTC");
    assert_eq!(sorted("published_at:[2024-12-02 TO 2024-12-10T11:00:00Z]"), ["d10", "d5"], "11:00 UTC is 12:00 CET");
    assert_eq!(sorted("published_at:{2024-12-05T11:00:00Z TO *]"), ["d10"], "an exclusive bound");
    assert_eq!(sorted("published_at:>2024-12-04T00:00:00Z"), ["d10", "d5"]);
    assert_eq!(sorted("published_at:<2024-12-04"), ["d1"]);
    assert_eq!(sorted("published_at:2024-12-05"), ["d5"], "a date alone is that day");
    assert_eq!(sorted("published_at:[2024-12-01T12:00:00+01:00 TO 2024-12-01T12:00:00+01:00]"), ["d1"], "offsets");
    assert_eq!(sorted("protest AND event_time:[2024-12-06 TO *]"), ["d10", "d5"], "with words");
    assert_eq!(sorted("event_time:[2024-12-10 TO 2024-12-31]"), ["d10"]);
    assert!(sorted("published_at:[2025-01-01 TO *]").is_empty());
}

/// Dutch compounds are found by their parts (issue 17): `vuurwerk` finds
/// "Vuurwerkbommen", `stikstof` "stikstofbeleid", also with other words and
/// in phrases; the compound itself still finds only the compound; the
/// snippet marks the part.
#[test]
fn dutch_compounds_are_found_by_their_parts() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    w.upsert(&msg("c1", "Vuurwerkbommen gevonden", "de politie vond vuurwerkbommen in een schuur")).unwrap();
    w.upsert(&msg("c2", "Boeren", "het stikstofbeleid jaagt de trekkers de weg op")).unwrap();
    w.upsert(&msg("c3", "Vuurwerk", "vuurwerk afsteken mag vanaf 18 uur")).unwrap();
    w.upsert(&lang(msg("c4", "Fireworks", "vuurwerkbommen in English text are not split"), "en")).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let sorted = |query: &str| {
        let mut v = ids(&r, &q(query));
        v.sort();
        v
    };
    assert_eq!(sorted("vuurwerk"), ["c1", "c3"], "the part finds the compound");
    assert_eq!(sorted("stikstof"), ["c2"]);
    assert_eq!(sorted("stikstof AND trekkers"), ["c2"], "the issue's query");
    assert_eq!(sorted("bom"), ["c1"], "the last part, stemmed");
    assert_eq!(sorted("vuurwerkbommen"), ["c1", "c4"], "the compound finds itself, not its parts elsewhere");
    assert_eq!(sorted("\"vond vuurwerk\""), ["c1"], "a part keeps the compound's position");
    assert_eq!(sorted("title:vuurwerk"), ["c1", "c3"]);
    assert_eq!(sorted("stikst*"), ["c2"], "a prefix meets the parts too");
    let hit = r.search(&q("vuurwerk")).unwrap().hits.into_iter().find(|h| h.id == "c1").unwrap();
    let snippet = hit.snippet.unwrap();
    let marked: Vec<&str> = snippet.highlights.iter().map(|[a, b]| &snippet.text[*a..*b]).collect();
    assert_eq!(marked, ["vuurwerk"], "the part is marked, not the whole compound: {snippet:?}");
}

/// An archive of another format is refused with the way out, by the writer
/// and by readers; a new archive gets this build's format.
#[test]
fn an_archive_in_another_format_is_refused_with_the_way_out() {
    let dir = TempDir::new().unwrap();
    drop(open_writer(&dir));
    let format = std::fs::read_to_string(dir.path().join("format")).unwrap();
    assert_eq!(format, format!("onrust-archive {}\n", crate::FORMAT_VERSION));
    ArchiveReader::open(dir.path()).unwrap();

    // Format 1 had no format file: buckets without one are format 1.
    let old = TempDir::new().unwrap();
    let mut w = open_writer(&old);
    w.upsert(&msg("o1", "oud", "oud bericht")).unwrap();
    w.commit().unwrap();
    drop(w);
    std::fs::remove_file(old.path().join("format")).unwrap();
    for err in [open_writer_err(&old), ArchiveReader::open(old.path()).unwrap_err()] {
        assert!(matches!(err, ArchiveError::Format { found: 1, .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("format 1") && message.contains("onrust archive migrate"), "{message}");
    }
    std::fs::write(old.path().join("format"), "onrust-archive 9\n").unwrap();
    let newer = ArchiveReader::open(old.path()).unwrap_err().to_string();
    assert!(newer.contains("newer onrust"), "{newer}");
}

fn open_writer_err(dir: &TempDir) -> ArchiveError {
    ArchiveWriter::open(dir.path(), &ArchiveOptions::default()).unwrap_err()
}

/// The explanation is stored as the classifier gave it and comes back with the hit.
#[test]
fn hits_carry_the_explanation_as_scored() {
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let explanation = vec![
        onrust_model::Signal { signal: "call_to_violence".into(), evidence: "bekogelen".into(), weight: 1.8 },
        onrust_model::Signal { signal: "theme:jaarwisseling".into(), evidence: "vuurwerk".into(), weight: 0.0 },
    ];
    w.upsert(&with(msg("e1", "Oproep", "we gaan de politie bekogelen met vuurwerk"), |m| {
        m.assessment.explanation = explanation.clone();
    }))
    .unwrap();
    w.upsert(&msg("e2", "Stil", "niets aan de hand")).unwrap();
    w.commit().unwrap();
    let r = ArchiveReader::open(dir.path()).unwrap();
    let hits = r.search(&SearchRequest { sort: Sort::Oldest, ..q("") }).unwrap().hits;
    assert_eq!(hits[0].explanation, explanation);
    assert!(hits[1].explanation.is_empty());
    assert!(!serde_json::to_string(&hits).unwrap().contains(CANARY));
}

/// A bucket as format 1 wrote it: this schema without the explanation field,
/// holding `msgs`, committed with `payload`.
fn format_1_bucket(archive: &std::path::Path, bucket: &str, msgs: &[ScoredMessage], payload: &str) {
    let (current, fields) = crate::schema::build_schema();
    let mut builder = tantivy::schema::Schema::builder();
    for (_, entry) in current.fields() {
        if entry.name() != crate::schema::EXPLANATION {
            builder.add_field(entry.clone());
        }
    }
    let old = builder.build();
    let path = archive.join("buckets").join(bucket);
    std::fs::create_dir_all(&path).unwrap();
    let index = tantivy::Index::create_in_dir(&path, old.clone()).unwrap();
    crate::schema::register_tokenizers(&index);
    let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
    for m in msgs {
        let named = tantivy::Document::to_named_doc(&crate::schema::to_document(&fields, m), &current);
        writer.add_document(tantivy::TantivyDocument::convert_named_doc(&old, named).unwrap()).unwrap();
    }
    let mut prepared = writer.prepare_commit().unwrap();
    prepared.set_payload(payload);
    prepared.commit().unwrap();
}

/// `onrust archive migrate`: an archive of format 1 is refused until it is
/// converted; then every document is there with its fields, its author
/// column (for the distinct-author counts) and its bucket's payload, the
/// Dutch compounds are found by their parts, and a second run does nothing.
/// A swap a crash interrupted is finished on the next run.
#[test]
fn an_archive_of_format_1_is_migrated_in_place_and_loses_nothing() {
    let dir = TempDir::new().unwrap();
    let fetched_at = fetched(2024, 12, 18, 9, 0);
    let first = with(msg("m1", "Vuurwerkbommen", "vuurwerkbommen gevonden in de schuur"), |m| {
        m.message.fetched_at = fetched_at;
    });
    let second = with(msg("m2", "Zonder tijd", "stikstofbeleid"), |m| {
        m.message.fetched_at = fetched_at;
        m.message.published_at = None;
        m.message.author = None;
        m.assessment.level = Level::Mobilisation;
    });
    format_1_bucket(dir.path(), "week-2024-12-16", &[first, second], "positions-1");
    assert!(matches!(ArchiveReader::open(dir.path()), Err(ArchiveError::Format { found: 1, .. })));
    assert!(matches!(open_writer_err(&dir), ArchiveError::Format { found: 1, .. }), "no writes into format 1");

    let mut seen = Vec::new();
    let done =
        crate::migrate(dir.path(), &ArchiveOptions::default(), |bucket, docs| seen.push((bucket.to_owned(), docs)))
            .unwrap();
    assert_eq!((done.from, done.converted.clone()), (1, vec![("week-2024-12-16".to_owned(), 2)]));
    assert_eq!(seen, done.converted);
    let r = ArchiveReader::open(dir.path()).unwrap();
    assert_eq!(ids(&r, &q("vuurwerk")), ["m1"], "the new analyzer indexed the old text");
    assert_eq!(ids(&r, &q("stikstof")), ["m2"]);
    let m2 = r.search(&q("stikstofbeleid")).unwrap().hits.remove(0);
    assert!(m2.published_at_estimated && m2.level == 2, "{m2:?}");
    let window = crate::CountRequest { since: at(1, 0).to_utc(), until: at(2, 0).to_utc(), min_level: None };
    let counts = r.counts(&window).unwrap();
    assert_eq!(counts.iter().map(|c| c.distinct_authors).sum::<u64>(), 1, "the author column came along");
    drop(r);
    let w = open_writer(&dir);
    assert_eq!(w.last_payload().as_deref(), Some("positions-1"), "the bus positions came along (R3)");
    drop(w);
    let again = crate::migrate(dir.path(), &ArchiveOptions::default(), |_, _| {}).unwrap();
    assert!(again.converted.is_empty(), "nothing left to do");

    // A crash between moving the old bucket aside and moving the new one in.
    let buckets = dir.path().join("buckets");
    std::fs::rename(buckets.join("week-2024-12-16"), buckets.join(".migrating-week-2024-12-16")).unwrap();
    std::fs::create_dir_all(buckets.join(".premigration-week-2024-12-16")).unwrap();
    std::fs::remove_file(dir.path().join("format")).unwrap();
    crate::migrate(dir.path(), &ArchiveOptions::default(), |_, _| {}).unwrap();
    assert_eq!(bucket_names(&dir), ["week-2024-12-16"], "the swap was finished");
    assert_eq!(ArchiveReader::open(dir.path()).unwrap().doc_count(), 2);
}

/// The query parser under arbitrary input (rules S7, L1): the check refuses
/// or passes it on, and whatever it passes on is searched without a panic,
/// within the character limit, and never by author.
mod query_properties {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::*;

    /// Queries made of the language's own pieces, so that most of them get past the first check.
    fn query_strategy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("boeren"),
            Just("rellen"),
            Just("auto's"),
            Just("20:00"),
            Just("\""),
            Just("("),
            Just(")"),
            Just("["),
            Just("]"),
            Just("{"),
            Just("}"),
            Just(" TO "),
            Just(" AND "),
            Just(" OR "),
            Just(" NOT "),
            Just("+"),
            Just("-"),
            Just("~"),
            Just("~1"),
            Just("~3"),
            Just("*"),
            Just("?"),
            Just(":"),
            Just("\\"),
            Just("^2"),
            Just("title:"),
            Just("text:"),
            Just("themes:"),
            Just("municipalities:"),
            Just("level:"),
            Just("published_at:"),
            Just("IN "),
            Just("2024-01-01T00:00:00Z"),
            Just("é"),
            Just("ß"),
            Just("İ"),
            Just(" "),
        ];
        prop_oneof![proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat()), "\\PC{0,60}",]
    }

    /// An archive with a protest "bij auto's" (p1) and fireworks at level 3 (p2).
    fn two_messages() -> (TempDir, ArchiveWriter, ArchiveReader) {
        let dir = TempDir::new().unwrap();
        let mut w = open_writer(&dir);
        w.upsert(&msg("p1", "Boeren protest", "trekkers op de snelweg, 20:00 bij auto's")).unwrap();
        w.upsert(&with(msg("p2", "Rellen", "vuurwerk"), |m| m.assessment.level = Level::Escalation)).unwrap();
        w.commit().unwrap();
        let reader = ArchiveReader::open(dir.path()).unwrap();
        (dir, w, reader)
    }

    /// Found by the property test below: a negated word that the analyzer
    /// splits into two tokens ("auto's" → auto, s) becomes an excluded phrase,
    /// and tantivy's phrase scorer asserted an order that the exclusion does
    /// not keep. The query must be answered, and answered right.
    #[test]
    fn an_excluded_phrase_is_answered_right() {
        let (_dir, mut w, reader) = two_messages();
        assert_eq!(ids(&reader, &q("-auto's")), vec!["p2".to_string()]);
        // And again over two segments.
        w.upsert(&msg("p3", "Auto's", "vuurwerk bij de auto's")).unwrap();
        w.commit().unwrap();
        reader.reload().unwrap();
        assert_eq!(ids(&reader, &q("-auto's")), vec!["p2".to_string()]);
        assert_eq!(ids(&reader, &q("vuurwerk -\"bij de auto's\"")), vec!["p2".to_string()]);
        let mut found = ids(&reader, &q("auto's"));
        found.sort();
        assert_eq!(found, vec!["p1".to_string(), "p3".to_string()]);
    }

    #[test]
    fn any_query_is_refused_or_searched_and_never_panics() {
        let (_dir, _w, reader) = two_messages();
        let mut runner = TestRunner::new(Config { cases: 512, ..Config::default() });
        let searched = std::cell::Cell::new(0u32);
        runner
            .run(&query_strategy(), |query| {
                if let Ok(Some(passed)) = crate::query::validate_query(&query) {
                    searched.set(searched.get() + 1);
                    prop_assert!(passed.chars().count() <= crate::MAX_QUERY_CHARS + passed.matches('\\').count());
                    let lower = passed.to_lowercase();
                    prop_assert!(!lower.replace(['\\', ' '], "").contains("author:"), "{}", passed);
                }
                let searched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.search(&q(&query))));
                match searched {
                    Ok(Ok(_) | Err(ArchiveError::BadQuery(_) | ArchiveError::TooSlow { .. })) => Ok(()),
                    Ok(Err(other)) => Err(TestCaseError::fail(format!("{query:?}: {other}"))),
                    Err(_) => Err(TestCaseError::fail(format!("{query:?} panicked"))),
                }
            })
            .unwrap();
        // The pieces are chosen so that many queries get past the check and reach the index.
        assert!(searched.get() >= 50, "only {} of 512 queries reached the index", searched.get());
    }

    proptest! {
        /// `author:` is refused however it is written: any case, spaces or
        /// escapes before the colon, anything around it.
        #[test]
        fn author_is_refused_in_any_spelling(
            before in "\\PC{0,20}",
            case in proptest::collection::vec(any::<bool>(), 6),
            gap in "[ \\\\]{0,3}",
            after in "\\PC{0,20}",
        ) {
            let author: String = "author"
                .chars()
                .zip(case)
                .map(|(c, upper)| if upper { c.to_ascii_uppercase() } else { c })
                .collect();
            let query = format!("{before} {author}{gap}:{after}");
            let refused = crate::query::validate_query(&query);
            prop_assert!(refused.is_err(), "{:?} was accepted", query);
        }
    }
}

/// An erasure on request finds its messages by id, or every one with a link,
/// across buckets, each once and without their text.
#[test]
fn held_messages_are_found_by_id_or_by_link_in_every_bucket() {
    use crate::{HeldMessage, Wanted};
    let dir = TempDir::new().unwrap();
    let mut w = open_writer(&dir);
    let shared = "https://example.org/gedeeld";
    w.upsert(&msg("a1", "Een", "eerste bericht")).unwrap();
    w.upsert(&with(msg("a2", "Twee", "tweede bericht"), |m| m.message.url = Some(shared.into()))).unwrap();
    // The same link a week later, in another bucket.
    w.upsert(&with(msg("a3", "Drie", "derde bericht"), |m| {
        m.message.url = Some(shared.into());
        m.message.fetched_at = Utc.with_ymd_and_hms(2024, 12, 28, 9, 0, 0).unwrap();
    }))
    .unwrap();
    w.commit().unwrap();
    assert_eq!(w.buckets().len(), 2);
    let r = ArchiveReader::open(dir.path()).unwrap();
    let held = |id: &str| HeldMessage { id: id.into(), source: "rtvutrecht".into(), source_kind: "feed".into() };
    assert_eq!(r.held(&Wanted::Id("a1".into())).unwrap(), [held("a1")]);
    assert_eq!(r.held(&Wanted::Url(shared.into())).unwrap(), [held("a2"), held("a3")]);
    assert!(r.held(&Wanted::Id("onbekend".into())).unwrap().is_empty());
    assert!(r.held(&Wanted::Url("https://example.org/elders".into())).unwrap().is_empty());
}
