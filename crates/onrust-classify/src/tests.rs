//! Tests over the shipped configuration and small temporary ones.

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use onrust_model::{Level, MunicipalityCode};

use super::*;

fn shipped_config() -> ClassifierConfig {
    let root = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../config");
    ClassifierConfig::in_dir(&root)
}

fn shipped() -> &'static Classifier {
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    CLASSIFIER.get_or_init(|| match Classifier::load(&shipped_config()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    })
}

fn classify(text: &str) -> Assessment {
    shipped().classify(&Input { text, ..Input::default() })
}

fn codes(a: &Assessment) -> Vec<&str> {
    a.municipalities.iter().map(MunicipalityCode::as_str).collect()
}

/// A scratch directory under the target dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("onrust-classify-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("themes")).unwrap();
        fs::create_dir_all(dir.join("gazetteer")).unwrap();
        fs::write(
            dir.join("gazetteer/places.csv"),
            "Woonplaatscode,Woonplaats,Gemeentecode,Gemeente,COROP-gebiedcode,COROP-gebied\n\
             2821,Zeist,0355,Zeist,17,Utrecht\n",
        )
        .unwrap();
        Self(dir)
    }

    fn theme(&self, name: &str, body: &str) -> &Self {
        fs::write(self.0.join("themes").join(name), body).unwrap();
        self
    }

    fn config(&self) -> ClassifierConfig {
        let shipped = shipped_config();
        ClassifierConfig {
            themes_dir: self.0.join("themes"),
            gazetteer_path: self.0.join("gazetteer/places.csv"),
            signals_dir: shipped.signals_dir,
            escalation_path: shipped.escalation_path,
            ..ClassifierConfig::default()
        }
    }

    fn problems(&self) -> Vec<String> {
        match Classifier::load(&self.config()) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const OK_THEME: &str = "id = \"a\"\nversion = 1\nlabel = \"A\"\n[[terms]]\nmatch = \"rellen\"\n";

#[test]
fn shipped_config_loads() {
    let c = shipped();
    let mut ids = c.theme_ids();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["asiel", "corona", "demonstratie", "jaarwisseling", "klimaat", "oekraine", "stikstof", "zwarte_piet"]
    );
    assert!(c.version().starts_with(concat!(env!("CARGO_PKG_VERSION"), "+themes:asiel@")), "{}", c.version());
    assert!(c.version().contains("stikstof@") && c.version().contains("+esc:"), "{}", c.version());
    assert!(c.gazetteer.name_count() > 2400);
}

#[test]
fn classifier_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Classifier>();
}

#[test]
fn deny_listed_term_is_rejected_naming_file_and_term() {
    let s = Scratch::new("deny");
    s.theme(
        "a.toml",
        "id = \"a\"\nversion = 1\nlabel = \"A\"\n[[terms]]\nmatch = \"PVV\"\n[[terms]]\nmatch = \"anti-vaxxers\"\n\
         [[terms]]\nmatch = \"Groen-Links\"\n[[terms]]\nmatch = \"tegen de partij voor de dieren\"\n[[terms]]\nmatch = \"rellen\"\n",
    );
    let problems = s.problems();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains("a.toml") && problems[0].contains("\"PVV\"") && problems[0].contains("deny-list"));
    assert!(problems[1].contains("anti-vaxxers"));
    assert!(problems[2].contains("Groen-Links"));
    assert!(problems[3].contains("partij voor de dieren"));
}

#[test]
fn configured_deny_terms_add_to_the_defaults() {
    let s = Scratch::new("deny-extra");
    s.theme("a.toml", OK_THEME);
    let mut cfg = s.config();
    cfg.deny_terms = vec!["rellen".into()];
    let err = Classifier::load(&cfg).unwrap_err();
    assert!(err.to_string().contains("rellen"), "{err}");
    // Emptying the list does not lift the defaults.
    s.theme("b.toml", "id = \"b\"\nversion = 1\nlabel = \"B\"\n[[terms]]\nmatch = \"sgp\"\n");
    cfg.deny_terms.clear();
    let err = Classifier::load(&cfg).unwrap_err();
    assert!(err.to_string().contains("b.toml") && err.to_string().contains("sgp"), "{err}");
}

#[test]
fn all_problems_are_reported_at_once() {
    let s = Scratch::new("many");
    s.theme("a.toml", "id = \"a\"\nversion = 1\nlabel = \"A\"\ncolour = \"red\"\n[[terms]]\nmatch = \"x\"\n");
    s.theme("b.toml", "id = \"b\"\nversion = 0\nlabel = \"B\"\n[[terms]]\nmatch = \"rellen\"\nweight = -1\n");
    s.theme("c.toml", OK_THEME);
    fs::write(
        s.0.join("gazetteer/places.csv"),
        "Woonplaatscode,Woonplaats,Gemeentecode,Gemeente\n1,Zeist,0355,Zeist\n2,Nergens,GM12345,Nergens\n3,\"kapot\n",
    )
    .unwrap();
    let mut cfg = s.config();
    cfg.languages.push("xx".into());
    let problems = match Classifier::load(&cfg) {
        Ok(_) => panic!("should fail"),
        Err(e) => e.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
    };
    let all = problems.join("\n");
    assert!(all.contains("languages: xx"), "{all}");
    assert!(all.contains("a.toml: line 4: unknown field `colour`"), "{all}");
    assert!(all.contains("b.toml: version"), "{all}");
    assert!(all.contains("b.toml: terms \"rellen\": weight -1"), "{all}");
    assert!(
        all.contains("c.toml: id: duplicate theme id \"a\"") || all.contains("c.toml: id: \"a\" must match"),
        "{all}"
    );
    assert!(all.contains("places.csv: line 3"), "{all}");
    assert!(all.contains("places.csv: line 4: unterminated quote"), "{all}");
}

#[test]
fn duplicate_theme_id_is_rejected() {
    let s = Scratch::new("dup");
    s.theme("a.toml", OK_THEME);
    fs::create_dir_all(s.0.join("themes2")).unwrap();
    // Same id in a file of another name: both the name rule and the duplicate rule fire.
    s.theme("z.toml", OK_THEME);
    let all = s.problems().join("\n");
    assert!(all.contains("z.toml: id: \"a\" must match the file name"), "{all}");
    assert!(all.contains("z.toml: id: duplicate theme id \"a\""), "{all}");
}

#[test]
fn bad_patterns_are_rejected() {
    let s = Scratch::new("patterns");
    s.theme(
        "a.toml",
        "id = \"a\"\nversion = 1\nlabel = \"A\"\n[[terms]]\nmatch = \"*x*\"\n[[terms]]\nmatch = \"ab*\"\n\
         [[terms]]\nmatch = \"twee woord*\"\n[[terms]]\nmatch = \"#tag\"\n[[terms]]\nmatch = \"rellen\"\n[[terms]]\nmatch = \"Rellen\"\n",
    );
    let problems = s.problems();
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(problems[4].contains("listed twice"));
}

#[test]
fn gazetteer_extras_are_checked() {
    let s = Scratch::new("extras");
    s.theme("a.toml", OK_THEME);
    fs::write(
        s.0.join("gazetteer/gazetteer.toml"),
        "capitalised_only = [\"Atlantis\"]\n[[aliases]]\nname = \"Zeist-Oost\"\nmunicipality = \"GM9999\"\n",
    )
    .unwrap();
    let all = s.problems().join("\n");
    assert!(all.contains("capitalised_only \"Atlantis\": not a name"), "{all}");
    assert!(all.contains("aliases \"Zeist-Oost\": GM9999 is not a municipality"), "{all}");
}

#[test]
fn stikstof_message() {
    let a = classify("Morgen weer trekkers op het Malieveld tegen de stikstofregels");
    assert_eq!(a.themes, ["stikstof"]);
    // Without a publication time "morgen" cannot be placed: no event time.
    // Whether the tractors announced for it make level 2 is the learned
    // mobilisation head's call (close to its threshold); it never escalates.
    assert_eq!(a.event_time, None);
    assert!(matches!(a.level, Level::Discussion | Level::Mobilisation), "{a:#?}");
    assert_eq!(codes(&a), ["GM0518"]);
    let signal = &a.explanation[0];
    assert_eq!(signal.signal, "theme:stikstof");
    assert_eq!(signal.evidence, "trekkers, stikstofregels");
    assert!(a.score > 0.0 && a.score < 1.0);
    assert_eq!(a.lang.as_deref(), Some("nl"));
}

#[test]
fn riot_with_fireworks_in_amersfoort() {
    let a = classify("Vannacht zware rellen met vuurwerk in Amersfoort");
    // Riots without a cause named are unrest without a theme; fireworks alone are not the jaarwisseling.
    assert!(a.themes.is_empty(), "{a:?}");
    assert_eq!(a.level, Level::Discussion);
    assert!(a.explanation.iter().any(|s| s.signal == "unrest_report" && s.evidence.contains("rellen")), "{a:?}");
    assert_eq!(codes(&a), ["GM0307"]);
    assert!(
        a.explanation
            .iter()
            .any(|s| s.signal == "place:GM0307" && s.evidence == "Amersfoort (gemeente): de enige plek met die naam"),
        "{a:?}"
    );
}

#[test]
fn demonstration_in_zeist() {
    let a = classify("Demonstratie bij het gemeentehuis van Zeist");
    assert_eq!(a.themes, ["demonstratie"]);
    assert_eq!(codes(&a), ["GM0355"]);
    assert_eq!(a.explanation[0].evidence, "Demonstratie");
}

#[test]
fn hashtag_is_segmented() {
    let a = classify("#avondklokrellen in Urk");
    assert!(a.themes.contains(&"corona".to_owned()), "{a:?}");
    assert_eq!(codes(&a), ["GM0184"]);
    let corona = a.explanation.iter().find(|s| s.signal == "theme:corona").unwrap();
    // The whole tag matches the prefix term avondklok*, quoted as written.
    assert_eq!(corona.evidence, "avondklokrellen");
    // Only segmentation finds a word in the middle of a tag.
    let a = classify("#nooitmeerlockdown");
    assert_eq!(a.themes, ["corona"]);
    assert_eq!(a.explanation[0].evidence, "lockdown");
    // Outside a hashtag, words are not split.
    assert!(classify("nooitmeerlockdown").themes.is_empty());
}

#[test]
fn english_is_english() {
    let a = classify("Dutch farmers protest against the nitrogen rules, tractors are blocking the highway again");
    assert_eq!(a.lang.as_deref(), Some("en"));
    assert!(a.themes.contains(&"stikstof".to_owned()), "{a:?}");
}

#[test]
fn short_dutch_is_dutch_not_afrikaans() {
    for text in [
        "Het is vandaag erg druk in de stad.",
        "Morgen gaan we naar het strand.",
        "Ik heb geen zin meer in dit gedoe",
        "Wat een mooie dag was het vandaag",
        "De politie is er al met heel veel busjes.",
    ] {
        assert_eq!(classify(text).lang.as_deref(), Some("nl"), "{text}");
    }
    // Too short to tell, and no hint: no language rather than a wrong one.
    assert_eq!(classify("De politie is er al.").lang, None);
}

#[test]
fn lang_hint_is_used_when_unsure() {
    let c = shipped();
    let a = c.classify(&Input { text: "ok 👍", lang_hint: Some("nl-NL"), ..Input::default() });
    assert_eq!(a.lang.as_deref(), Some("nl"));
    let a = c.classify(&Input { text: "ok 👍", lang_hint: Some("af"), ..Input::default() });
    assert_eq!(a.lang, None);
}

#[test]
fn weather_is_nothing() {
    let a = classify("Morgen wordt het zonnig en droog met in de middag een graad of achttien.");
    assert_eq!(a.level, Level::None);
    assert!(a.themes.is_empty() && a.municipalities.is_empty() && a.explanation.is_empty(), "{a:?}");
    assert!(a.score < 0.1, "no evidence, only the bias: {}", a.score);
    assert_eq!(a.event_time, None);
}

#[test]
fn title_counts_and_urls_do_not() {
    let c = shipped();
    let a = c.classify(&Input {
        text: "Lees meer: https://example.nl/asiel/azc-zeist @[user]",
        title: Some("Bewoners boos over nieuw azc in Nieuwegein"),
        ..Input::default()
    });
    assert_eq!(a.themes, ["asiel"]);
    assert_eq!(a.explanation[0].evidence, "azc");
    assert_eq!(codes(&a), ["GM0356"]);
}

#[test]
fn multi_word_and_longest_names() {
    let a = classify("Onrust in Wijk bij Duurstede en de Utrechtse Heuvelrug, later ook in Den Haag");
    assert_eq!(codes(&a), ["GM0352", "GM1581", "GM0518"]);
    let a = classify("De Utrechtse politie greep in");
    assert_eq!(codes(&a), ["GM0344"]);
    let a = classify("Het provinciehuis van de provincie Utrecht");
    assert!(codes(&a).is_empty());
}

#[test]
fn ordinary_words_need_a_capital() {
    assert!(codes(&classify("dat is de beste oplossing, het best voor de buren")).is_empty());
    assert!(codes(&classify("Best plan ooit")).is_empty());
    assert_eq!(codes(&classify("Onrust in Best vannacht")), ["GM0753"]);
    assert!(codes(&classify("Jan van Buren zei het")).is_empty());
    assert!(codes(&classify("Een protest op de Dam")).is_empty());
    assert!(
        codes(&classify("Bewoners van de wijk zijn bang, net als de anderen in het noorden van Nederland")).is_empty()
    );
    assert_eq!(codes(&classify("Onrust in De Wijk")), ["GM1690"]);
}

#[test]
fn ambiguous_names_need_another_mention() {
    // Bergen: Bergen (L.) and Bergen (NH.).
    assert!(codes(&classify("Demonstratie in Bergen")).is_empty());
    assert_eq!(codes(&classify("Demonstratie in Bergen, gemeente Bergen (NH.), bij Alkmaar")), ["GM0373", "GM0361"]);
    // Hoorn is the municipality, not the village on Terschelling.
    assert_eq!(codes(&classify("Rellen in Hoorn")), ["GM0405"]);
    // Places are listed once, in order of first mention.
    assert_eq!(codes(&classify("Zeist, Utrecht, Den Dolder en nog eens Zeist")), ["GM0355", "GM0344"]);
}

#[test]
fn elongations_and_diacritics() {
    let a = classify("RELLENNNN in Zeist!!! Oekraïners opgevangen");
    assert!(a.themes.contains(&"oekraine".to_owned()));
    assert_eq!(a.explanation.iter().find(|s| s.signal == "unrest_report").unwrap().evidence, "RELLENNNN");
}

#[test]
fn repetition_does_not_inflate() {
    let once = classify("rellen");
    let many = classify("rellen rellen rellen rellen");
    assert_eq!(once.score, many.score);
    // More distinct evidence scores higher.
    let more = classify("rellen, ongeregeldheden en de mobiele eenheid");
    assert!(more.score > once.score);
    let report = more.explanation.iter().find(|s| s.signal == "unrest_report").unwrap();
    assert_eq!(report.evidence, "rellen, ongeregeldheden");
}

#[test]
fn shipped_lexicons_contain_no_viewpoint_cues() {
    // Loading enforces it; this guards against the deny-list itself shrinking.
    for term in ["pvv", "groenlinks", "forum voor democratie", "bbb", "50plus"] {
        assert!(DEFAULT_DENY_TERMS.contains(&term));
    }
}

#[test]
fn many_messages_classify_quickly_enough_to_not_notice() {
    // Not a benchmark (the lead benches); makes sure nothing is accidentally quadratic.
    let c = shipped();
    let texts = [
        "Vannacht zware rellen met vuurwerk in Amersfoort, ME ingezet bij het station",
        "Morgen weer trekkers op het Malieveld tegen de stikstofregels #boerenprotest",
        "Leuke dag gehad in het park met de kinderen, het weer was prima",
    ];
    let mut n = 0;
    for i in 0..3000 {
        let a = c.classify(&Input { text: texts[i % 3], ..Input::default() });
        n += a.themes.len();
    }
    assert!(n > 0);
}

fn at(text: &str, published: &str) -> Assessment {
    let published_at = chrono::DateTime::parse_from_rfc3339(published).ok();
    shipped().classify(&Input { text, published_at, ..Input::default() })
}

#[test]
fn reporting_calling_and_their_look_alikes() {
    // Published on Saturday 28 November 2026, 09:00.
    let p = "2026-11-28T09:00:00+01:00";
    let cases: [(&str, Level); 14] = [
        ("Agenten bekogeld met stenen in Kanaleneiland", Level::Discussion),
        ("Morgen stenen gooien naar de ME in Kanaleneiland", Level::Escalation),
        ("dit jaar geen rellen in Veenendaal, zegt de burgemeester", Level::Discussion),
        ("we gaan NIET slopen, we demonstreren vreedzaam maandag op de Neude", Level::Mobilisation),
        ("Komen er weer rellen in Urk?", Level::Discussion),
        ("Op Telegram werd opgeroepen de politie aan te vallen, meldt de politie", Level::Discussion),
        ("haha ja laten we het gemeentehuis maar in de fik steken /s", Level::Discussion),
        ("de wethouder woont op de Dorpsstraat 12 in Bunschoten, ga daar maar eens langs", Level::Escalation),
        ("burgemeester, we weten waar je woont", Level::Escalation),
        ("cobra's en zwaar vuurwerk mee naar het azc in Amersfoort vanavond!!", Level::Escalation),
        (
            "Boeren rijden maandag met trekkers naar het provinciehuis in Utrecht tegen de stikstofregels",
            Level::Mobilisation,
        ),
        ("Kom allemaal naar de braderie in Nijkerk, maandag!", Level::None),
        ("Die Russische supermarkt: ruiten eruit en in de fik. Wie doet mee?", Level::Escalation),
        ("Het weer wordt morgen zonnig in Utrecht", Level::None),
    ];
    for (text, level) in cases {
        let a = at(text, p);
        assert_eq!(a.level, level, "{text}: {a:#?}");
    }
}

#[test]
fn announcements_carry_their_time_and_reports_do_not() {
    let a = at(
        "Zaterdag 14.00 uur demonstratie op de Neude in Utrecht tegen de sluiting van het buurthuis",
        "2026-11-25T09:00:00+01:00",
    );
    assert_eq!(a.level, Level::Mobilisation);
    assert_eq!(a.event_time.map(|t| t.to_rfc3339()), Some("2026-11-28T14:00:00+01:00".to_owned()));
    assert!(a.explanation.iter().any(|s| s.signal == "event_time" && s.evidence.contains("14.00")));
    let r = at(
        "Zaterdag demonstreerden honderden mensen op de Neude, meldt de politie. Het verliep rustig.",
        "2026-11-29T09:00:00+01:00",
    );
    assert!(r.level <= Level::Discussion, "{r:#?}");
    assert_eq!(r.event_time, None);
    // A report of an announcement keeps its time ahead.
    let n = at(
        "Boerenorganisaties hebben voor zaterdag een protestrit met trekkers aangekondigd, meldt de provincie.",
        "2026-11-25T09:00:00+01:00",
    );
    assert_eq!(n.level, Level::Mobilisation, "{n:#?}");
    assert_eq!(n.event_time.map(|t| t.date_naive().to_string()), Some("2026-11-28".to_owned()));
}

#[test]
fn disorder_on_new_years_eve_is_about_the_jaarwisseling() {
    let a = at("vanavond de ME bekogelen bij het Stationsplein, neem alles mee", "2026-12-31T16:00:00+01:00");
    assert_eq!(a.level, Level::Escalation);
    assert!(a.themes.contains(&"jaarwisseling".to_owned()), "{a:#?}");
    let quiet = at("Fijne jaarwisseling gewenst namens de redactie", "2026-12-31T16:00:00+01:00");
    assert!(quiet.level <= Level::Discussion);
}

#[test]
fn scores_explain_themselves_and_are_deterministic() {
    let text = "Morgen om 20:00 verzamelen bij het gemeentehuis in Zeist, stenen mee, we slopen die tent!!";
    let a = at(text, "2026-11-28T09:00:00+01:00");
    let b = at(text, "2026-11-28T09:00:00+01:00");
    assert_eq!(a, b, "same input, same output");
    assert_eq!(a.level, Level::Escalation);
    for signal in ["call_to_violence", "weapon", "target", "future_time", "event_time"] {
        assert!(a.explanation.iter().any(|s| s.signal == signal && !s.evidence.is_empty()), "{signal} missing: {a:#?}");
    }
    // Logistic over the listed contributions (themes and places add nothing).
    let z: f32 = -2.4 + a.explanation.iter().map(|s| s.weight).filter(|w| *w != 0.0).sum::<f32>()
        - a.explanation.iter().filter(|s| s.signal.starts_with("theme:")).map(|s| s.weight).sum::<f32>();
    let expected = 1.0 / (1.0 + (-z).exp());
    assert!((a.score - expected).abs() < 0.01, "{} vs {expected}", a.score);
}

#[test]
fn no_input_makes_it_panic() {
    // Multibyte characters, digits, colons, hashtags, emoji and huge numbers in every arrangement.
    let parts = [
        "é",
        "ß",
        "🔥",
        "🚜",
        "#",
        "@",
        ":",
        "12",
        "31-12",
        "99999999999",
        "om",
        "uur",
        "vannacht",
        "?",
        "!",
        " ",
        "\n",
        "geen",
        "ME",
        "azc",
        "Zeist",
        "\u{202e}",
        "'s",
        "-",
    ];
    let mut seed = 7u64;
    for _ in 0..2000 {
        let mut text = String::new();
        for _ in 0..(seed % 24) {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            text.push_str(parts[(seed >> 33) as usize % parts.len()]);
        }
        let _ = at(&text, "2026-12-31T23:59:59+01:00");
        let _ = classify(&text);
    }
}

#[test]
fn other_languages_are_marked_as_partly_read() {
    let a = at(
        "Samstag fahren wir nach Ter Apel. Steine mitbringen, das Asyllager muss brennen.",
        "2026-08-27T20:00:00+02:00",
    );
    assert_eq!(a.lang.as_deref(), Some("de"));
    assert!(a.explanation.iter().any(|s| s.signal == "language" && s.evidence.starts_with("de:")), "{a:#?}");
    let tractors = at("Zaterdag 🚜🚜 naar het provinciehuis in Lelystad!", "2026-11-25T09:00:00+01:00");
    assert_eq!(tractors.level, Level::Mobilisation, "{tractors:#?}");
}

#[test]
fn everyday_phrases_do_not_escalate() {
    let p = "2026-11-28T09:00:00+01:00";
    let cases: [(&str, Level); 9] = [
        ("Morgen zware storm!! 🔥", Level::None),
        ("mijn oma woont op de 3e verdieping in Zeist", Level::None),
        ("er wordt afgerekend bij de kassa, afrekenen met pin kan ook", Level::None),
        ("Ik weet hoe het voelt om te verhuizen naar Almere", Level::None),
        ("Actie! Morgen 50% korting op alle fietsen in Utrecht", Level::None),
        ("Zaterdag 14:00 demonstratie tegen de oorlog in Oekraïne op de Dam", Level::Mobilisation),
        ("Nieuwegein viert tweede paasdag met een eierzoektocht in het Park Oudegein.", Level::None),
        ("burgemeester, we weten waar je woont 😂", Level::Escalation),
        ("Morgen slopen we het gemeentehuis in Zeist, kom allemaal https://x.example/a?b=1", Level::Escalation),
    ];
    for (text, level) in cases {
        let a = at(text, p);
        assert_eq!(a.level, level, "{text}: {a:#?}");
    }
}

#[test]
fn themes_do_not_raise_the_level() {
    // A theme word may name a group (rule L11): it makes a message about
    // a topic, never more escalated.
    let p = "2026-11-28T09:00:00+01:00";
    let without = at("morgen slopen, kom", p);
    let with = at("morgen slopen, kom, vluchtelingen asielzoekers migranten", p);
    assert_eq!(without.score, with.score);
    assert_eq!(without.level, with.level);
}

#[test]
fn clauses_reports_and_openings() {
    let p = "2026-11-25T09:00:00+01:00";
    let reported =
        at("In een Telegramgroep werd opgeroepen de noodopvang in brand te steken, meldt de politie. Kom niet.", p);
    assert_eq!(reported.level, Level::Discussion, "{reported:#?}");
    let conjunction = at("Maandag om 6 uur varen de kotters niet uit en blokkeren we de sluis van Urk", p);
    assert_eq!(conjunction.level, Level::Mobilisation, "a negation does not cross 'en': {conjunction:#?}");
    let opening = at("Zondag om 3 uur 's middags stille tocht door Zeist voor de brandweerman die werd aangevallen", p);
    assert_eq!(opening.level, Level::Mobilisation, "{opening:#?}");
    assert_eq!(opening.event_time.map(|t| t.to_rfc3339()), Some("2026-11-29T15:00:00+01:00".to_owned()));
}

#[test]
fn a_day_and_a_later_clock_time_make_one_event_time() {
    let a = at(
        "Komende donderdag blokkeren melkveehouders de A12 bij Woerden. Start 7.00 uur bij de afrit.",
        "2026-09-14T08:00:00+02:00",
    );
    assert_eq!(a.level, Level::Mobilisation, "{a:#?}");
    assert_eq!(a.event_time.map(|t| t.to_rfc3339()), Some("2026-09-17T07:00:00+02:00".to_owned()));
    let recent =
        at("Vrijdag 20 februari bezetten studenten het bestuursgebouw in Utrecht.", "2026-02-23T17:00:00+01:00");
    assert_eq!(recent.event_time, None, "a date three days ago is not next year's: {recent:#?}");
}

#[test]
fn places_carry_their_tier_municipality_and_span_in_title_or_text() {
    use onrust_model::{PlaceTier, TextField};
    let title = "  Onrust op het Kanaleneiland";
    let text = "Ook bij de Neude in Utrecht";
    let a = shipped().classify(&Input { text, title: Some(title), ..Input::default() });
    assert_eq!(codes(&a), ["GM0344"]);
    let written: Vec<(&str, PlaceTier, &str)> = a
        .places
        .iter()
        .map(|p| {
            let span = p.span.expect("written");
            let field = if span.field == TextField::Title { title } else { text };
            (&field[span.start..span.end], p.tier, p.municipality.as_str())
        })
        .collect();
    assert_eq!(
        written,
        [
            ("Kanaleneiland", PlaceTier::District, "GM0344"),
            ("Neude", PlaceTier::Square, "GM0344"),
            ("Utrecht", PlaceTier::Municipality, "GM0344")
        ]
    );
    // One signal for the municipality names every place in it, its tier and why.
    let signal = a.explanation.iter().find(|s| s.signal == "place:GM0344").expect("place signal");
    assert!(signal.evidence.starts_with("Kanaleneiland (wijk, Utrecht): "), "{}", signal.evidence);
    assert!(signal.evidence.contains("; Neude (plein, Utrecht): "), "{}", signal.evidence);
}

#[test]
fn the_source_hint_fills_in_only_when_the_text_names_no_place() {
    let utrecht = MunicipalityCode::new("GM0344").unwrap();
    let hinted = |text| shipped().classify(&Input { text, source_municipality: Some(&utrecht), ..Input::default() });
    let a = hinted("Vannacht weer onrust, zegt de politie");
    assert_eq!(codes(&a), ["GM0344"]);
    assert_eq!(a.places[0].tier, onrust_model::PlaceTier::Source);
    assert_eq!(a.places[0].span, None);
    assert_eq!(codes(&hinted("Vannacht onrust in Zeist")), ["GM0355"]);
    assert!(codes(&classify("Vannacht weer onrust, zegt de politie")).is_empty());
}

fn level_of(text: &str) -> Level {
    at(text, "2026-11-28T09:00:00+01:00").level
}

/// The threat grammar's signal in the explanation of `text`.
fn grammar_of(text: &str) -> Signal {
    let a = classify(text);
    a.explanation.into_iter().find(|s| s.signal == "intent_to_harm").expect("the grammar explains itself")
}

/// Asserts that every text is level 3, showing the assessment of one that is not.
fn assert_escalation(texts: &[&str]) {
    for text in texts {
        assert_eq!(level_of(text), Level::Escalation, "{text}: {:#?}", classify(text));
    }
}

/// Asserts that no text is level 3, showing the assessment of one that is.
fn assert_below_escalation(texts: &[&str]) {
    for text in texts {
        assert!(level_of(text) < Level::Escalation, "{text}: {:#?}", classify(text));
    }
}

#[test]
fn threats_are_read_as_people_write_them() {
    let threats = [
        // First person, present and future, separable verbs apart.
        "Ik ga alle moslims in Utrecht vermoorden.",
        "Ik schiet de burgemeester van Utrecht neer.",
        "Ik steek die wethouder neer als ik hem zie.",
        "kga die wethouder verm00rden",
        // Imperative, modal, passive, incitement of others.
        "knal ze allemaal neer",
        "Zet die bus in de fik, jongens",
        "Die wethouder moet neergeschoten worden",
        "iemand moet dat azc eens in de fik steken",
        "die wethouder moet 🔥🔥",
        // Veiled, conditional, hypothetical.
        "burgemeester, we komen je binnenkort eens opzoeken",
        "als dat besluit erdoor komt, gebeurt er wat met dat pand",
        "wat zou er gebeuren als die loods vannacht afbrandt, puur hypothetisch",
        // Sabotage.
        "Iemand moet die bovenleiding bij Amersfoort eens doorknippen",
        "steek die hoogspanningskast in de fik",
        // English.
        "I will kill the mayor of Utrecht",
    ];
    for text in threats {
        let a = at(text, "2026-11-28T09:00:00+01:00");
        assert_eq!(a.level, Level::Escalation, "{text}: {a:#?}");
    }
    let grammar = grammar_of("Ik schiet de burgemeester van Utrecht neer.");
    assert!(grammar.evidence.contains("Ik") && grammar.evidence.contains("burgemeester"), "{grammar:?}");
    assert!(grammar.evidence.contains("schiet … neer"), "{grammar:?}");
}

#[test]
fn doxxing_needs_no_word_for_address() {
    let dox = "De burgemeester zit op de Dorpsstraat 12 in Zeist. Ga maar even langs 😈";
    assert_eq!(level_of(dox), Level::Escalation);
    let postcode = "hij woont hier: Kerkweg 8, 3701 AB Zeist 👀";
    assert_eq!(level_of(postcode), Level::Escalation);
    // The town hall's street address in an invitation is no doxxing.
    let invitation = "Kom allemaal zaterdag naar het gemeentehuis, Dorpsstraat 12 in Zeist, voor de open dag";
    assert!(level_of(invitation) < Level::Escalation);
}

#[test]
fn hard_negatives_stay_below_escalation() {
    for text in [
        "zondag gaan we ze inmaken",
        "de kip ging bijna in vlammen op op de barbecue",
        "ik lach me kapot om die wethouder",
        "ik kan hem wel wurgen, die buurman met zijn bladblazer",
        "brandstichting bij een opvang is laf en crimineel",
        "De politie waarschuwt: wie vuurwerk naar hulpverleners gooit, wordt opgepakt",
        "In GTA steek ik die hele stad in de fik haha",
        "Ik ga vanavond de tijd doden met een film",
        "In de film schiet de held de burgemeester neer",
        "Het oude gemeentehuis moet gesloopt worden voor nieuwbouw",
        "ik kom je morgen opzoeken in het ziekenhuis",
        "Agenten bekogeld in Zuilen, meldt de politie.",
        "Wie de ME aanvalt, hoort in de cel",
    ] {
        let a = at(text, "2026-11-28T09:00:00+01:00");
        assert!(a.level < Level::Escalation, "{text}: {a:#?}");
    }
}

#[test]
fn a_threat_against_a_group_is_one_because_of_the_threat() {
    // rule L11: the noun is never read; the threat is.
    for group in ["moslims", "mensen", "fietsers", "boeren"] {
        let text = format!("Ik ga alle {group} in Utrecht vermoorden.");
        assert_eq!(level_of(&text), Level::Escalation, "{text}");
        let kind = format!("Ik hou van alle {group} in Utrecht.");
        assert!(level_of(&kind) <= Level::Discussion, "{kind}");
    }
}

#[test]
fn a_call_after_a_report_is_a_call_and_its_clause_is_named() {
    let a = shipped().classify(&Input {
        title: Some("Onrust in Kanaleneiland rond jaarwisseling"),
        text: "In Utrecht Kanaleneiland zijn gisteravond autobranden en vuurwerk naar de politie gegooid. \
               Op oudejaarsavond gaan we de ME weer aanvallen, neem zwaar vuurwerk mee.",
        published_at: chrono::DateTime::parse_from_rfc3339("2026-12-20T10:00:00+01:00").ok(),
        ..Input::default()
    });
    assert_eq!(a.level, Level::Escalation, "{a:#?}");
    let clause = a.explanation.iter().find(|s| s.signal == "clause").expect("the deciding clause is named");
    assert!(clause.evidence.starts_with("Op oudejaarsavond gaan we de ME weer aanvallen"), "{clause:?}");
    // Irony and reporting stay in their clause.
    assert_eq!(level_of("haha wat een dag. Morgen steken we het gemeentehuis in Zeist in de fik!!"), Level::Escalation);
    assert_eq!(level_of("Morgen steken we het gemeentehuis in Zeist in de fik, haha grapje /s"), Level::Discussion);
}

#[test]
fn social_media_spelling_is_read() {
    assert_eq!(level_of("#ZetHetAzcInDeFik vanavond!!"), Level::Escalation);
    let gun = classify("die wethouder 🔫🔫");
    assert!(gun.explanation.iter().any(|s| s.signal == "weapon" && s.evidence == "🔫"), "{gun:#?}");
    assert_eq!(
        level_of("die wethouder 🔫🔫 morgen bij het stadhuis"),
        Level::Escalation,
        "a weapon at an official, ahead"
    );
    let a = classify("bekogel die agenten morgen bij het station");
    assert!(a.explanation.iter().any(|s| s.signal == "call_to_violence" && s.evidence == "bekogel"), "{a:#?}");
    let report = classify("Agenten bekogelden gisteren de relschoppers niet, zegt de politie");
    assert!(!report.explanation.iter().any(|s| s.signal == "call_to_violence"), "a past form is no call: {report:#?}");
}

#[test]
fn compounds_split_for_the_archive() {
    let c = shipped();
    assert_eq!(c.split_compound("vuurwerkbommen"), ["vuurwerk", "bommen"]);
    assert_eq!(c.split_compound("azc-besluit"), ["azc", "besluit"]);
    assert_eq!(c.split_compound("stikstofbeleid"), ["stikstof", "beleid"]);
}

#[test]
fn normative_threats_are_escalation_and_their_look_alikes_are_not() {
    assert_escalation(&[
        "Die raadsleden moeten dood, stuk voor stuk.",
        "die moeten allemaal kapot, niemand uitgezonderd",
        "ze verdienen de kogel, die hele club op het stadhuis",
        "hang ze op aan de lantaarnpaal voor het gemeentehuis",
        "Die wethouder moet gewoon dood.",
        "moeten ze allemaal dood, die zakkenvullers",
    ]);
    assert_below_escalation(&[
        "De tomatenplanten moeten dood door de vorst, jammer",
        "Die oude printer mag wat mij betreft kapot, ik koop een nieuwe",
        "Hang de was op voordat het gaat regenen",
        "ik lach me dood om die nieuwe serie",
        "Die wethouder moet niet dood, die moet gewoon weg bij de verkiezingen",
    ]);
}

#[test]
fn threats_against_groups_are_escalation_as_people_write_them() {
    // Direct threats with verbs of killing, torture and eradication, their
    // inflections (a participle with a diaeresis), separable verbs around
    // their object, wishes, and normative threats in the conditional.
    assert_escalation(&[
        "Vrouwen zouden geëxecuteerd moeten worden.",
        "We moeten die transgenders uitroeien.",
        "Ik zal elke gehandicapte die ik zie pijn doen.",
        "Ik doe elke homo pijn die ik tegenkom.",
        "Ik ga die feministen martelen.",
        "We gaan alle joden vergassen.",
        "Christenen moeten uitgeroeid worden.",
        "Alle homo's zouden gemarteld moeten worden.",
        "Ik hoop dat alle moslims creperen.",
        "Hopelijk verrekken ze allemaal, die vluchtelingen.",
        "Ik maak alle homo's af.",
        "Ik draai die burgemeester de nek om.",
        "Ik zal alle asielzoekers laten lijden.",
        "Die journalisten moeten tegen de muur gezet worden.",
        "Ik ga elke Marokkaan die ik tegenkom doodslaan.",
        "Zwarten horen vergast te worden.",
        // Dying wished on people, infinitives and imperatives after a comma, relative clauses, collectives.
        "Die Polen moeten allemaal sterven.",
        "Hoe eerder die vluchtelingen creperen, hoe beter.",
        "Ophangen die asielzoekers, allemaal.",
        "Die homo's horen hier niet, sla ze dood.",
        "Agenten die ons tegenhouden moeten gewoon neergeschoten worden.",
        "Dat moslimtuig moet uitgeroeid worden.",
    ]);
    let grammar = grammar_of("Ik hoop dat alle moslims creperen.");
    assert!(grammar.evidence.contains("hoop") && grammar.evidence.contains("alle moslims"), "{grammar:?}");
}

#[test]
fn harm_to_people_approved_of_is_escalation_and_names_the_approval() {
    assert_escalation(&[
        "Het is prima om vrouwen te vermoorden.",
        "Het is geen probleem om die homo's af te slachten.",
        "Het zou mooi zijn als die moskee in de fik ging.",
        "Ik vind het terecht als ze die asielzoekers in elkaar slaan.",
        "Het zou goed zijn als ze allemaal werden afgemaakt.",
        "Het is prima als immigranten worden vermoord.",
        "Die mensen zijn het waard om vermoord te worden.",
        // Seen or let suffer, and a passive wished.
        "Ik wil joden zien lijden.",
        "Ik hoop dat moslims worden vermoord.",
    ]);
    let grammar = grammar_of("Het is prima om vrouwen te vermoorden.");
    assert!(grammar.evidence.starts_with("prima + vermoorden"), "{grammar:?}");
}

#[test]
fn a_plural_at_a_verb_that_kills_or_does_is_people_unless_it_is_what_else_the_verb_is_said_of() {
    assert_escalation(&[
        "Ik ga alle christenen afmaken.",
        "Ik ga hindoes afmaken.",
        "Alle christenen moeten opgehangen worden.",
        "Wallah ik maak die hindoes af.",
        // Coordinated, wished without rest, paid for with life, the solution.
        "Ik ga hindoes opsporen en vermoorden.",
        "Ik zal niet rusten tot alle christenen dood zijn.",
        "Jullie hindoes zullen boeten met jullie leven.",
        "Christenen vermoorden is de enige oplossing.",
    ]);
    assert_below_escalation(&[
        "Ik ga alle opdrachten afmaken.",
        "We gaan die taarten afmaken.",
        "Ik ga mijn huiswerkopdrachten afmaken.",
        "Die wolven moeten afgeschoten worden.",
        "De kippen moeten worden afgemaakt vanwege de vogelgriep.",
        "Ik ga alle foto's ophangen.",
        "Morgen hangen we de kerstballen op.",
        "Geweld is nooit de oplossing.",
        "Vermoorden is geen oplossing.",
        "Zij betaalden met hun leven.",
    ]);
}

#[test]
fn the_writer_behind_an_auxiliary_the_readers_told_they_hang_and_a_good_one_dead_are_escalation() {
    assert_escalation(&[
        // The writer's auxiliary of intent far from the verb at the end.
        "Wij zullen jullie christenen een voor een afslachten.",
        "Dan zou ik al die hindoes neermaaien.",
        // The readers told they hang or burn, or get a bullet from the writer.
        "Jullie christenen gaan allemaal hangen.",
        "Jullie hindoes krijgen van ons een kogel.",
        "Een goede christen is een dode christen.",
        // An aside before the colon is the writer's own.
        "ff zeggen: ik ga die hindoes vannacht neersteken",
    ]);
    assert_below_escalation(&[
        // The readers as the subject of their own plans.
        "Jullie gaan morgen de slingers hangen.",
        "Jullie krijgen van ons een cadeau.",
        "Ik zou nooit iemand vermoorden.",
        // A threat quoted in the news, as a report of it.
        "Politie onderzoekt dreigbrief aan kerk in Zeist: 'jullie gaan allemaal branden'",
        "De man zei: ik ga die hindoes neersteken.",
    ]);
}

#[test]
fn life_denied_eradication_of_people_duties_and_a_shot_given_are_escalation_and_pests_are_not() {
    assert_escalation(&[
        "Christenen horen niet te leven.",
        "Er zou geen enkele hindoe mogen bestaan.",
        "Die mensen mogen niet meer bestaan.",
        "We moeten christenen uitroeien voordat het te laat is.",
        "Vergassen, al die hindoes.",
        "Geef die christenen allemaal een nekschot.",
        "Christenen afmaken is een burgerplicht.",
        "Die burgemeester zou levend begraven moeten worden.",
    ]);
    assert_below_escalation(&[
        "Dieren horen niet in een kooi te leven.",
        "Kinderen horen niet te leven in armoede.",
        "Zulke regels mogen niet bestaan.",
        "We moeten alle ziektes uitroeien.",
        "Die wespen moeten allemaal uitgeroeid worden, ik word gek.",
        "Geef die kinderen een cadeautje.",
        "Dat christenen moeten worden afgemaakt, is haatpraat.",
    ]);
}

#[test]
fn the_gallows_wished_and_a_killing_proposed_as_a_question_are_escalation() {
    assert_escalation(&[
        "Ik zeg: christenen aan de galg.",
        "Die hindoes aan de hoogste boom.",
        "Rutte aan de galg",
        "Waarom schieten we die christenen niet gewoon dood?",
    ]);
    assert_below_escalation(&[
        "Hij hing het bord aan de galg.",
        "Vroeger werden dieven aan de galg gehangen.",
        "Waarom slaan we niet terug?",
        "Waarom gaan we niet gewoon naar huis?",
        "Ik schiet die duiven dood.",
        "Waarom schieten we die duiven niet gewoon dood?",
    ]);
}

#[test]
fn a_broken_neck_an_attack_on_a_plural_eradication_with_te_and_death_soon_are_escalation() {
    assert_escalation(&[
        "Ik breek de nek van elke christen die ik zie.",
        "Ik ga hindoes aanvallen.",
        "Het is tijd om christenen uit te roeien.",
        "Het is tijd om die hindoes af te maken.",
        "Ik zal christenen allemaal een voor een afmaken.",
        "Hindoes moeten van de aardbodem verdwijnen.",
        "Jullie christenen zijn straks allemaal dood.",
    ]);
    assert_below_escalation(&[
        "Het is tijd om alle ziektes uit te roeien.",
        "Het is tijd om die opdrachten af te maken.",
        "Jullie zijn straks dood moe.",
        "Jullie zijn morgen allemaal welkom.",
    ]);
}

#[test]
fn harm_named_as_a_noun_threatens_when_approved_or_begun_and_only_people_after_its_van() {
    assert_escalation(&[
        "Het afmaken van christenen is geen misdaad maar een plicht.",
        "Het doden van hindoes zou gewoon legaal moeten zijn.",
        "Wanneer beginnen we eindelijk met het afschieten van christenen?",
        "Het vermoorden van hen is prima.",
    ]);
    assert_below_escalation(&[
        "Het afmaken van je huiswerk is een plicht.",
        "Het afschieten van wolven is nodig.",
        "Het vermoorden van christenen is verschrikkelijk.",
        "Het vermoorden van hindoes is geen oplossing.",
        "Het doden van christenen moet stoppen.",
    ]);
}

#[test]
fn a_pointed_at_object_after_the_modal_is_no_subject_of_a_normative_threat() {
    // "die" before a noun after the modal points at the object: game is no person.
    let a = classify("We moeten die ganzen afschieten.");
    assert!(!a.explanation.iter().any(|s| s.signal == "intent_to_harm"), "{a:#?}");
    // People there still are, and "die" alone is still the subject.
    assert!(grammar_of("We moeten die christenen afschieten.").evidence.contains("die christenen"));
    assert!(grammar_of("Die moeten allemaal dood.").evidence.starts_with("Die"));
}

#[test]
fn approval_negated_asked_or_of_the_past_stays_below_escalation() {
    assert_below_escalation(&[
        "Het is niet oké om vrouwen te vermoorden.",
        "Het is nooit goed om homo's af te slachten.",
        "Is het normaal dat de politie bij een demo zomaar mensen in elkaar slaat?",
        "Vind jij het oké om immigranten te vermoorden?",
        "Het is goed dat de politie die man neerschoot.",
        "Het is goed om te weten dat niemand is vermoord.",
        "Het is goed om te vechten voor je rechten.",
        "Elke dag worden vrouwen vermoord.",
    ]);
}

#[test]
fn the_look_alikes_of_group_threats_stay_below_escalation() {
    assert_below_escalation(&[
        // Eradication of evils, pests and weeds, in the singular.
        "We moeten racisme uitroeien.",
        "Racisme moet uitgeroeid worden.",
        "Armoede moeten we samen uitroeien.",
        "We moeten deze ziekte uitroeien.",
        "We moeten het onkruid uitroeien.",
        // Pain, torture and death of oneself, in idioms and wishes for the good.
        "Mijn rug doet pijn na het sporten.",
        "Ik wil niemand pijn doen.",
        "Ik doe je geen pijn, beloofd.",
        "Ik martel mezelf met die examens.",
        "Deze quiz is echt een marteling.",
        "Ik hoop dat mijn oma niet sterft.",
        "Ik hoop dat de vluchtelingen niet verdrinken onderweg.",
        "Ik hoop dat alle moslims een fijne ramadan hebben.",
        // Things between a separable verb's parts.
        "Blaas die ballonnen op voor het feest.",
        "Ik maak die pizza wel af.",
        "Ik draai de kraan om.",
        // Somebody else's words, condemned.
        "Wie zegt dat moslims uitgeroeid moeten worden, hoort niet in onze stad.",
        "Iedereen die zegt dat homo's vergast moeten worden, moet zich schamen.",
        // History, neutral and positive mentions.
        "In de film worden alle soldaten geëxecuteerd.",
        "Transgenders verdienen respect.",
        "Vrouwen verdienen gelijk loon.",
        "Ik zal elke gehandicapte die ik zie helpen.",
        "We moeten allemaal ooit sterven.",
        // The writer dying, and a report of what others blow up.
        "Ik ga dood van de hitte vandaag.",
        "Voor die pizza van de Italiaan ga ik echt even dood.",
        "Ik hoop dat ze niet sterven in die storm.",
        "De oude watertoren wordt morgen opgeblazen, ik ga met mijn zoon kijken.",
    ]);
}

#[test]
fn killings_foretold_and_chat_spellings_are_escalation() {
    // The passive of a verb of killing with people as its subject, the
    // writer's wish, `dood aan` / `death to`, English desert, a separable
    // verb with the particle "dood", and stems written without their d.
    assert_escalation(&[
        "Die wethouder wordt binnenkort afgemaakt, reken maar.",
        "Ze worden allemaal opgeknoopt, die verraders.",
        "Jullie zullen een voor een opgehangen worden.",
        "Straks worden alle bestuurders vergast.",
        "Als het aan mij ligt worden die bestuurders geëxecuteerd.",
        "Dood aan alle verraders!",
        "death to the mayor and his council",
        "that alderman deserves a bullet",
        "Ik rij die agent dood als ik de kans krijg.",
        "ik snij ze allemaal open",
        // Whoever comes next, the council as a whole, burning, wanting to, beating.
        "Ik schiet de volgende verrader die ik zie dood.",
        "Ik steek de eerste de beste agent die me aanraakt neer.",
        "De hele raad mag wat mij betreft dood.",
        "Die verraders moeten allemaal branden.",
        "Ik krijg zin om die agenten met mijn auto te rammen.",
        "Vanavond gaan we die demonstranten in elkaar meppen.",
    ]);
    let grammar = grammar_of("Ze worden allemaal opgeknoopt, die verraders.");
    assert!(grammar.evidence.contains("Ze") && grammar.evidence.contains("opgeknoopt"), "{grammar:?}");
}

#[test]
fn the_look_alikes_of_foretold_killings_stay_below_escalation() {
    assert_below_escalation(&[
        // Things hung up, finished and fired, in the passive.
        "De schilderijen worden morgen opgehangen in het stadhuis.",
        "Het werk wordt volgende week afgemaakt door de aannemer.",
        "Vanavond wordt het vuurwerk afgeschoten bij de haven.",
        "Alle slingers worden morgen opgehangen voor het feest.",
        // Negated, an idea wished dead, a film, a row.
        "Ze worden niet opgehangen, ze worden gewoon berecht.",
        "Dood aan het fascisme.",
        "death to the patriarchy",
        "In de film worden alle soldaten geëxecuteerd.",
        "We staan in de rij door de drukte bij de kassa.",
        "Ik ga dood van de hitte vandaag.",
        // Finishing work, the next time, candles, wanting to dance, advice, irony mid-message.
        "Ik maak die opdracht morgen af.",
        "Ik maak de volgende opdracht morgen af.",
        "De volgende keer schiet ik raak bij het schieten.",
        "De kaarsen moeten de hele nacht branden.",
        "De schilderijen moeten hangen voor de opening.",
        "Ik heb zin om te dansen vanavond.",
        "Ik geef je een goede raad: ga slapen.",
        "Ja hoor, gooi die hele raad maar in de gracht, dan is het opgelost /s. Of we gaan gewoon stemmen.",
        // The writer as the object, a lamp hung up, nobody beaten, a negation before the modal.
        "Dat examen maakt me af, ik heb nog niks geleerd.",
        "Zal ik die lamp boven de tafel ophangen of bij het raam?",
        "We gaan niemand slaan, we blijven rustig.",
        // A participle after an auxiliary reports what was done, though it is also a stem.
        "Elke dag worden er in Oekraïne burgers vermoord.",
        "In die stad is vorige week een journalist vermoord.",
        "Ik vind dat je ze niet moet aanvallen, ook al ben je boos.",
    ]);
}

#[test]
fn phrases_for_people_bare_plurals_and_deaths_foretold_to_the_reader_are_escalation() {
    // People named by a phrase headed by a word for people, a bare plural at
    // a verb that harms people only, the writer seeing to a death, the
    // readers told they will die, and a killing wished in the conditional.
    assert_escalation(&[
        "Zwarte mensen moeten allemaal worden opgehangen.",
        "Mensen met een beperking verdienen het om te sterven.",
        "Ik schiet de volgende trans personen die ik zie neer.",
        "Ik ga vluchtelingen vermoorden.",
        "Ik steek homo's neer, reken maar.",
        "Ik ga gehandicapten pijn doen.",
        "Ik zal moslims laten lijden.",
        "Ik ga ervoor zorgen dat alle Polen sterven.",
        "Jullie linkse types gaan allemaal dood.",
        "Jullie joden zullen creperen.",
        "Het zou goed zijn als alle journalisten werden vermoord.",
        // Suffering and death wished, dreamt of, waited for; a slogan; a
        // hospital as the harm, not as a frame.
        "Ik wil al die bestuurders zien lijden.",
        "Ik droom ervan om journalisten te vermoorden.",
        "Ik kan niet wachten tot alle verraders dood zijn.",
        "Ik wil vluchtelingen dood zien.",
        "Asielzoekers horen in een massagraf.",
        "De enige goede agent is een dode agent.",
        "Ik schop elke demonstrant het ziekenhuis in.",
        // Chat spelling of the modal, the verb-final cluster, English desert.
        "Die verraders motte branden",
        "Journalisten zouden na hun eerste artikel al opgehangen moeten worden.",
        "Zulke figuren horen aan een lantaarnpaal te hangen.",
        "Politicians like him deserve to hang.",
    ]);
    let grammar = grammar_of("Zwarte mensen verdienen de dood.");
    assert!(grammar.evidence.contains("Zwarte mensen"), "the phrase is named whole: {grammar:?}");
}

#[test]
fn the_look_alikes_of_people_phrases_and_foretold_deaths_stay_below_escalation() {
    assert_below_escalation(&[
        // Everybody dies some day; a phrase for people with no harm.
        "Alle mensen moeten ooit sterven.",
        "Zwarte mensen moeten gelijke kansen krijgen.",
        "Mensen met een beperking moeten beter beschermd worden.",
        // Another subject after "zorgen dat", a negation; own muscles, a pet spared.
        "Ik ga ervoor zorgen dat mijn planten niet sterven.",
        "De hittegolf zorgt ervoor dat veel ouderen sterven.",
        "Ik ga mijn spieren pijn doen in de sportschool.",
        "Ik laat mijn hond niet lijden.",
        "Ik wil niemand pijn doen.",
        // Dying of a cause, a condition, a negation, an ordinary future.
        "Jullie gaan dood van het lachen bij deze film.",
        "Jullie gaan niet dood van een beetje regen.",
        "Jullie politici gaan het nooit snappen.",
        "Jullie moslims gaan zaterdag naar de moskee.",
        // The conditional wish of things, and of a good thing.
        "Het zou goed zijn als alle schilderijen werden opgehangen.",
        "Het zou goed zijn als meer mensen werden gevaccineerd.",
        // Suffering as anger or fate, waiting, hospitals, a good thing that is dead.
        "Die politici moeten lijden voor wat ze gedaan hebben.",
        "Veel mensen lijden onder de inflatie.",
        "Ik kan niet wachten tot de vakantie begint.",
        "Mijn oma ligt in het ziekenhuis, ik ga haar morgen opzoeken.",
        "Ik ga morgen het ziekenhuis in voor een operatie.",
        "De enige goede film van dit jaar is over een dode rockster.",
        "Ik droom ervan om ooit naar Japan te gaan.",
        // A game, weeds and pests, how often.
        "Ik ga je zo hard afmaken in FIFA vanavond.",
        "Dat onkruid tussen de tegels moet echt dood, welke verdelger werkt?",
        "Die mieren in de keuken moeten uitgeroeid worden, welke verdelger raden jullie aan?",
        "Elke dag worden er in Oekraïne burgers vermoord.",
        // Somebody else's words after a colon.
        "De politie zegt dat de man dreigde: jullie joden gaan dood.",
        "Hij schreeuwde: ik maak jullie allemaal dood!",
        "Op Telegram schreef iemand: we gaan die moskee in de fik steken.",
    ]);
    // The writer's own words after a colon stay his.
    assert_eq!(level_of("Ik zeg het nog één keer: ik maak jullie allemaal dood."), Level::Escalation);
}

#[test]
fn inverted_subjects_torture_adverbs_and_wished_stonings_are_escalation_and_reported_speech_is_not() {
    assert_escalation(&[
        // The subject after the modal, behind a fronted phrase.
        "Eerlijk gezegd zouden fietsers stuk voor stuk opgehangen moeten worden.",
        "Wat mij betreft mogen tandartsen dood.",
        "Volgens mij moeten vegetariërs dood.",
        // Torture and bleeding, wished on a bare plural.
        "Ik wil tandartsen zien bloeden.",
        "Ik droom ervan om fietsers dood te martelen.",
        "Ik ga tandartsen martelen.",
        // A bare plural a few adverbs before its verb, beheading, a stoning wished in the past tense.
        "Ik ga tandartsen langzaam vermoorden.",
        "Ik ga fietsers een voor een vermoorden.",
        "Iemand moet ze eens de kop afhakken.",
        "Als het aan mij lag, werden ze gestenigd.",
        // The readers told they get the bullet; a plural with an apostrophe after the modal.
        "Jullie tandartsen gaan de kogel krijgen, reken maar.",
        "Voor mij horen dj's aan de galg.",
        // The writer's own words and threats stay his.
        "Ik zeg dat de burgemeester moet branden.",
        "Ik dreig de burgemeester neer te steken.",
        // A call to come of its own after what others say.
        "Ze zeggen dat we de ME moeten aanvallen, dus morgen om 8 uur allemaal naar het plein met stenen.",
    ]);
    assert_below_escalation(&[
        // Somebody else's opinion, swatting, somebody else's words.
        "Volgens de boer moeten varkens geslacht worden.",
        "Ik ga muggen dood slaan.",
        "Ik ga muggen een voor een doodslaan.",
        "In Iran werden twee vrouwen gestenigd.",
        "Als het aan mij lag, werden de schilderijen opgehangen.",
        "Hij zei dat de burgemeester moet branden.",
        "Wie roept dat fietsers moeten branden, hoort niet in onze vereniging.",
        "De man die dreigde tandartsen neer te steken, is veroordeeld tot een jaar cel.",
    ]);
}

#[test]
fn the_sarcasm_tag_is_read_where_it_stands_and_not_inside_units() {
    use crate::signals::has_irony_marks;
    assert!(has_irony_marks("steek het maar in de fik /s"));
    assert!(has_irony_marks("steek het maar in de fik/s"));
    assert!(has_irony_marks("gooi ze in de gracht /s. Of we gaan stemmen"));
    assert!(has_irony_marks("gooi ze in de gracht /s, of niet"));
    assert!(!has_irony_marks("de wind haalde 30 km/s vandaag, niet normaal"));
    assert!(!has_irony_marks("zie https://example.org/site/s1 voor meer"));
    assert!(!has_irony_marks("gewoon een zin zonder teken"));
    // The laughing emoji mark irony too; fire does not.
    assert!(has_irony_marks("steek het maar in de fik 😂"));
    assert!(has_irony_marks("ja hoor, ik ga ze allemaal slopen 🙃"));
    assert!(has_irony_marks("🤣🤣 gooi ze in de gracht"));
    assert!(!has_irony_marks("steek het maar in de fik 🔥💣"));
}

/// Words that name a group, for rule L11.
const GROUP_WORDS: [&str; 8] =
    ["moslims", "joden", "asielzoekers", "vluchtelingen", "marokkanen", "polen", "homo", "boeren"];

#[test]
fn group_words_never_raise_the_level_or_the_learned_score() {
    // Rule L11 for the learned layer: adding words that name a group to a
    // message never raises its level or its score, and no weight of the
    // shipped learned layer on such a word is positive.
    let c = shipped();
    for word in GROUP_WORDS {
        assert!(c.never_learned(word), "{word} must never be a feature the learned layer can raise a level with");
    }
    let p = "2026-11-28T09:00:00+01:00";
    for base in [
        "Wat een mooie dag in Utrecht",
        "Morgen om 14 uur demonstratie op het Malieveld, kom allemaal",
        "ik ga ze allemaal vermoorden",
        "Er wonen veel mensen in Zeist",
        "Walgelijk wat er gisteren in Amersfoort gebeurde",
    ] {
        let without = at(base, p);
        for word in GROUP_WORDS {
            let with = at(&format!("{base} {word}"), p);
            // A theme word makes a message about its theme (level 1), never more.
            assert!(with.level <= without.level.max(Level::Discussion), "{word} raised {base:?}: {with:#?}");
            if without.level >= Level::Discussion {
                assert!(with.level <= without.level, "{word} raised {base:?}: {with:#?}");
                assert!(with.score <= without.score + 1e-6, "{word} raised the score of {base:?}: {with:#?}");
            }
            let z = |a: &Assessment| a.explanation.iter().find(|s| s.signal == "learned:escalation").map(|s| s.weight);
            if let (Some(before), Some(after)) = (z(&without), z(&with)) {
                assert!(after <= before + 1e-3, "{word} pushed the escalation head up on {base:?}: {with:#?}");
            }
        }
    }
}

#[test]
fn a_learned_weight_that_lets_a_group_word_raise_a_level_is_refused() {
    let shipped_cfg = shipped_config();
    let dir = std::env::temp_dir().join(format!("onrust-learned-l11-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::copy(&shipped_cfg.escalation_path, dir.join("escalation.toml")).unwrap();
    let learned = fs::read_to_string(shipped_cfg.escalation_path.with_file_name(learned::LEARNED_FILE)).unwrap();
    let raised = learned.replacen("[escalation.weights]\n", "[escalation.weights]\n\"word:moslims\" = 0.5\n", 1);
    fs::write(dir.join(learned::LEARNED_FILE), raised).unwrap();
    let cfg = ClassifierConfig { escalation_path: dir.join("escalation.toml"), ..shipped_cfg.clone() };
    let problems = match Classifier::load(&cfg) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    };
    assert!(problems.iter().any(|p| p.contains("word:moslims") && p.contains("L11")), "{problems:?}");
    // A lowering weight on such a word is allowed.
    let lowered = learned.replacen("[escalation.weights]\n", "[escalation.weights]\n\"word:moslims\" = -0.5\n", 1);
    fs::write(dir.join(learned::LEARNED_FILE), lowered).unwrap();
    assert!(Classifier::load(&cfg).is_ok());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_learned_contributions_are_listed_and_add_up() {
    // A message the learned layer puts at level 2 or 3 lists both heads'
    // probabilities, the bias, the largest features with weight and value,
    // and the rest as one sum: together they add up to the head's z.
    let a = at("ik ga ze allemaal vermoorden", "2026-11-28T09:00:00+01:00");
    assert_eq!(a.level, Level::Escalation, "{a:#?}");
    let head = a.explanation.iter().find(|s| s.signal == "learned:escalation").expect("the head is listed");
    assert!(head.evidence.starts_with("p = "), "{head:?}");
    let parts: Vec<&Signal> = a.explanation.iter().filter(|s| s.signal.starts_with("learned:escalation:")).collect();
    assert!(parts.iter().any(|s| s.signal == "learned:escalation:bias"), "{parts:#?}");
    let sum: f32 = parts.iter().map(|s| s.weight).sum();
    assert!((sum - head.weight).abs() < 0.01 * parts.len() as f32 + 0.01, "contributions {sum} vs z {}", head.weight);
    assert!(parts.iter().all(|s| s.evidence.contains(" × ")), "{parts:#?}");
    let listed: Vec<&&Signal> = parts
        .iter()
        .filter(|s| s.signal != "learned:escalation:bias" && s.signal != "learned:escalation:others")
        .collect();
    assert!(!listed.is_empty() && listed.len() <= 8, "{parts:#?}");
    // Largest first, and none of the rest is larger than the smallest listed.
    assert!(listed.windows(2).all(|w| w[0].weight.abs() >= w[1].weight.abs() - 0.001), "{listed:#?}");
}

#[test]
fn a_long_message_lists_its_largest_learned_contributions_and_sums_the_rest() {
    let text = "Vanavond gaan we met z'n allen naar het plein, neem stenen en vuurwerk mee en laat de ME maar komen, \
                we pakken ze allemaal, iedereen moet komen want dit pikken we niet langer, de burgemeester gaat eraan \
                en de wethouder ook, kom allemaal, neem je vrienden mee, we laten ons niet wegsturen dit keer";
    let a = at(text, "2026-11-28T09:00:00+01:00");
    assert!(a.level >= Level::Mobilisation, "{a:#?}");
    let parts: Vec<&Signal> = a.explanation.iter().filter(|s| s.signal.starts_with("learned:escalation:")).collect();
    let others = parts.iter().find(|s| s.signal == "learned:escalation:others").expect("the rest, summed");
    assert!(others.evidence.contains("smaller features"), "{others:?}");
    assert_eq!(parts.len(), 8 + 2, "bias, eight listed and the rest: {parts:#?}");
    let head = a.explanation.iter().find(|s| s.signal == "learned:escalation").expect("the head");
    let sum: f32 = parts.iter().map(|s| s.weight).sum();
    assert!((sum - head.weight).abs() < 0.02, "contributions {sum} vs z {}", head.weight);
}
