use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use onrust_model::{
    Assessment, Level, MessageId, MunicipalityCode, Pseudonym, RawMessage, SCHEMA_VERSION, ScoredMessage, SourceId,
    SourceKind,
};
use tempfile::TempDir;

use crate::{ArchiveError, ArchiveOptions, ArchiveReader, ArchiveWriter, SearchRequest, Sort};

const CANARY: &str = "c0ffee00canarypseudonym00c0ffee";

fn at(day: u32, hour: u32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(2024, 12, day, hour, 0, 0).unwrap()
}

fn msg(id: &str, title: &str, text: &str) -> ScoredMessage {
    ScoredMessage {
        schema: SCHEMA_VERSION,
        message: RawMessage {
            schema: SCHEMA_VERSION,
            id: MessageId::new(id).unwrap(),
            source: SourceId::new("rtvutrecht").unwrap(),
            source_kind: SourceKind::Feed,
            url: Some(format!("https://example.org/{id}")),
            title: Some(title.to_owned()),
            text: text.to_owned(),
            published_at: Some(at(1, 12)),
            fetched_at: Utc.with_ymd_and_hms(2024, 12, 1, 11, 30, 0).unwrap(),
            author: Some(Pseudonym::from_digest_hex(CANARY.to_owned())),
            lang_hint: Some("nl".into()),
        },
        assessment: Assessment {
            lang: Some("nl".into()),
            level: Level::Discussion,
            score: 0.4,
            themes: vec!["stikstof".into()],
            municipalities: vec![MunicipalityCode::new("GM0344").unwrap()],
            event_time: None,
            explanation: vec![],
            classifier_version: "test".into(),
        },
    }
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
    let searcher = r.reader.searcher();
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
        (q("published_at:[gisteren TO morgen]"), "cannot read the query"),
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
    assert!(
        hits[0].published_at.timestamp() > Utc.with_ymd_and_hms(2200, 1, 1, 0, 0, 0).unwrap().timestamp(),
        "clamped, not wrapped"
    );
    let mut req = q("toekomst");
    req.since = Some(Utc.with_ymd_and_hms(3000, 1, 1, 0, 0, 0).unwrap());
    assert!(reader.search(&req).is_ok(), "a far bound is clamped too");
}
