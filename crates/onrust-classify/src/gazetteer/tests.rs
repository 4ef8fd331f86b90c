//! The gazetteer's rules on the shipped data and on small scratch files.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use onrust_model::{MunicipalityCode, PlaceTier};

use super::*;
use crate::error::Problems;
use crate::normalize::tokenize;

pub(super) fn shipped() -> &'static Gazetteer {
    static GAZETTEER: OnceLock<Gazetteer> = OnceLock::new();
    GAZETTEER.get_or_init(|| {
        let csv =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/gazetteer/woonplaatsen-gemeenten-2024.csv");
        let mut problems = Problems::default();
        let gazetteer = Gazetteer::load(&csv, &mut problems);
        assert!(problems.is_empty(), "{:?}", problems.0);
        gazetteer
    })
}

fn code(text: &str) -> MunicipalityCode {
    MunicipalityCode::new(text).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn hits(text: &str, source: Option<&str>) -> Vec<PlaceHit> {
    let source = source.map(code);
    shipped().match_places(text, &tokenize(text), source.as_ref())
}

/// The municipality codes a text resolves to, in order, without repeats.
pub(super) fn codes(text: &str, source: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for hit in hits(text, source) {
        let code = hit.place.municipality.as_str().to_owned();
        if !out.contains(&code) {
            out.push(code);
        }
    }
    out
}

fn only(text: &str) -> PlaceHit {
    let found = hits(text, None);
    assert_eq!(found.len(), 1, "{text}: {found:#?}");
    found.into_iter().next().unwrap_or_else(|| unreachable!())
}

#[test]
fn a_wijk_names_its_municipality_tier_span_and_why() {
    let text = "Vannacht rellen op het Kanaleneiland, meldt de politie";
    let hit = only(text);
    assert_eq!(hit.place.name, "Kanaleneiland");
    assert_eq!(hit.place.tier, PlaceTier::District);
    assert_eq!(hit.place.municipality, code("GM0344"));
    assert_eq!(hit.place.municipality_name, "Utrecht");
    assert_eq!(hit.span.and_then(|(s, e)| text.get(s..e)), Some("Kanaleneiland"));
    // Oosterhout has a buurt of that name; the wijk is the stronger tier.
    assert_eq!(hit.why, "Kanaleneiland (wijk, Utrecht): ook in 1 andere gemeente, daar als kleinere plek");
    assert_eq!(hit.place.label(), "Kanaleneiland (wijk, Utrecht)");
}

#[test]
fn hyphenated_woonplaatsen_are_reached_by_their_parts() {
    assert_eq!(codes("Kermis in Spakenburg", None), ["GM0313"]);
    assert_eq!(codes("Brand in Rijsenburg", None), ["GM1581"]);
    assert_eq!(codes("Brand in Driebergen", None), ["GM1581"]);
    assert_eq!(codes("Brand in Driebergen-Rijsenburg", None), ["GM1581"]);
}

#[test]
fn a_name_in_several_municipalities_needs_support() {
    // "Parkwijk": a buurt of Almere and (as Parkwijk-Noord/-Zuid) of Utrecht.
    assert!(codes("Onrust in de Parkwijk vannacht", None).is_empty());
    assert_eq!(codes("Onrust in de Parkwijk in Almere vannacht", None), ["GM0034"]);
    let hit = hits("Onrust in de Parkwijk in Almere", None).into_iter().next().expect("parkwijk");
    assert_eq!(hit.place.tier, PlaceTier::Neighbourhood);
    assert!(hit.why.ends_with("Almere wordt genoemd (Almere)"), "{}", hit.why);
    // The source's single municipality supports it too, marked so.
    let found = hits("Onrust in de Parkwijk vannacht", Some("GM0344"));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].place.municipality, code("GM0344"));
    assert!(found[0].why.ends_with("de bron gaat alleen over Utrecht"), "{}", found[0].why);
    // A street or buurt unique somewhere does not vouch for another name.
    let found = hits("Onrust in de Parkwijk bij de Tiberdreef", None);
    assert!(found.iter().all(|h| h.place.name != "Parkwijk"), "{found:#?}");
    assert_eq!(found.len(), 1, "the Tiberdreef itself: {found:#?}");
}

#[test]
fn a_well_known_place_gives_way_to_a_named_municipality() {
    // Marco Pololaan: curated in Utrecht, and a BAG street in Emmeloord and Hulst.
    assert_eq!(codes("Brand op de Marco Pololaan", None), ["GM0344"]);
    assert_eq!(codes("Brand op de Marco Pololaan in Emmeloord", None), ["GM0171"]);
}

#[test]
fn ordinary_words_need_a_capital_and_context() {
    assert_eq!(codes("Onrust in Lunetten", None), ["GM0344"]);
    assert!(codes("de lunetten van het fort", None).is_empty(), "lowercase");
    assert!(codes("Lunetten zijn oude verdedigingswerken.", None).is_empty(), "starts a sentence");
    assert!(codes("Wat een Lunetten daar", None).is_empty(), "capitalised but no 'in'/'op' before it");
    assert_eq!(codes("Wat een Lunetten daar", Some("GM0344")), ["GM0344"], "the source supports it");
    assert!(codes("Dat is echt dom van de gemeente", None).is_empty());
    assert_eq!(codes("Iedereen naar de Dom!", None), ["GM0344"]);
}

#[test]
fn alternate_names_are_weaker_than_official_ones() {
    // GeoNames lists "Maarssen" as an alternate name of Achttienhoven (De Bilt).
    assert_eq!(codes("Rellen in Maarssen", None), ["GM1904"]);
}

#[test]
fn postcodes_pc6_pc4_with_a_cue_and_never_years() {
    let hit = only("Inbraak aan de Kerkstraat, 3511 AB");
    assert_eq!((hit.place.name.as_str(), hit.place.tier), ("3511 AB", PlaceTier::Postcode));
    assert_eq!(hit.place.municipality, code("GM0344"));
    assert_eq!(codes("Overlast in postcode 3525 neemt toe", None), ["GM0344"]);
    assert!(codes("In 2026 komt er een nieuw azc", None).is_empty());
    assert!(codes("Het kost 3500 euro", None).is_empty());
    // A bare PC4 before a name counts when the name agrees.
    assert_eq!(codes("Inbraak op 3525 Utrecht", None), ["GM0344"]);
    assert_eq!(hits("Inbraak op 3525 Utrecht", None).len(), 2);
}

#[test]
fn the_source_lends_its_municipality_only_when_the_text_names_no_place() {
    let found = hits("Vannacht weer onrust, zegt de politie", Some("GM0344"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].place.tier, PlaceTier::Source);
    assert_eq!(found[0].span, None);
    assert_eq!(found[0].why, "Utrecht (bron): geen plaats in de tekst; de bron gaat alleen over Utrecht");
    assert_eq!(codes("Vannacht onrust in Zeist", Some("GM0344")), ["GM0355"], "never overrides the text");
}

#[test]
fn old_rules_still_hold() {
    assert_eq!(codes("Rellen in Utrecht", None), ["GM0344"]);
    assert!(codes("De provincie Utrecht betaalt", None).is_empty(), "the province");
    assert_eq!(codes("Op de Utrechtse Heuvelrug", None), ["GM1581"]);
    assert!(codes("Rellen in Bergen", None).is_empty(), "Bergen (L.) or Bergen (NH.)");
    assert!(codes("Het is best druk", None).is_empty(), "capitalised_only");
    assert!(codes("Henk van Buren", None).is_empty(), "a surname");
    assert_eq!(codes("Onrust in Hoorn", None), ["GM0405"], "the municipality beats the village on Terschelling");
}

#[test]
fn ordinary_words_in_lower_case_are_no_places_and_capitalised_they_are() {
    for text in [
        "we leiden de demonstratie naar het plein",
        "veel boeren kampen met schulden",
        "de helden van de brandweer verdienen beter",
        "vanavond gaan we ze meppen",
        "die jongens klimmen op de bushokjes",
        "de koplampen glimmen in het donker",
        "een hoorn van een ram",
        "op het plein zitten altijd duiven",
    ] {
        assert!(codes(text, None).is_empty(), "{text}: {:?}", codes(text, None));
    }
    assert_eq!(codes("Rellen in Leiden vannacht", None), ["GM0546"]);
    assert_eq!(codes("Boeren blokkeren de weg bij Kampen", None), ["GM0166"]);
    assert_eq!(codes("Boeren blokkeren de A12 bij Duiven", None), ["GM0226"]);
}

/// A scratch gazetteer directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, extras: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("onrust-gazetteer-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let write = |file: &str, body: &str| fs::write(dir.join(file), body).unwrap_or_else(|e| panic!("{e}"));
        write(
            "places.csv",
            "Woonplaatscode,Woonplaats,Gemeentecode,Gemeente\n1,Zeist,0355,Zeist\n2,Utrecht,0344,Utrecht\n3,De Meern,0344,Utrecht\n",
        );
        write(EXTRAS_FILE, extras);
        for (file, body) in files {
            write(file, body);
        }
        Scratch(dir)
    }

    fn load(&self) -> (Gazetteer, Vec<String>) {
        let mut problems = Problems::default();
        let gazetteer = Gazetteer::load(&self.0.join("places.csv"), &mut problems);
        (gazetteer, problems.0.iter().map(ToString::to_string).collect())
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const PLACES: &str = "[[places]]\nfile = \"p.tsv\"\nvintage = \"test\"\n";

#[test]
fn every_problem_in_the_place_files_is_reported_at_once() {
    let s = Scratch::new(
        "bad",
        &format!(
            "{PLACES}[[places]]\nfile = \"missing.tsv\"\nvintage = \"x\"\n[postcodes]\nfile = \"pc.tsv\"\nvintage = \"x\"\n"
        ),
        &[
            (
                "p.tsv",
                "# comment\nmunicipality\ttier\tname\tflags\n\
                 GM0344\twijk\tKanaleneiland\t\n\
                 GM0344\tdorp\tX\t\n\
                 GM9999\twijk\tY\t\n\
                 GM0344\twijk\tZ\tq\n\
                 GM0344\twijk\n",
            ),
            ("pc.tsv", "postcode\tmunicipalities\n3511\tGM0344\n35\tGM0344\n3512\tGM0344,GM7777\n"),
        ],
    );
    let (gazetteer, problems) = s.load();
    let all = problems.join("\n");
    assert!(all.contains("p.tsv: line 4: tier \"dorp\" is not one of"), "{all}");
    assert!(all.contains("p.tsv: line 5: GM9999 is not a municipality in the gazetteer CSV"), "{all}");
    assert!(all.contains("p.tsv: line 6: flag 'q' is not one of a, p, w"), "{all}");
    assert!(all.contains("p.tsv: line 7: expected 4 tab-separated columns, found 2"), "{all}");
    assert!(all.contains("missing.tsv: cannot read this file"), "{all}");
    assert!(all.contains("pc.tsv: line 3: \"35\" is not a postcode"), "{all}");
    assert!(all.contains("pc.tsv: line 4: \"GM7777\" is not a municipality"), "{all}");
    assert_eq!(problems.len(), 7, "{all}");
    // What was good still loaded.
    let text = "Rellen in Kanaleneiland";
    assert_eq!(gazetteer.match_places(text, &tokenize(text), None).len(), 1);
    let _ = s.path();
}

#[test]
fn a_place_file_needs_its_header() {
    let s = Scratch::new("header", PLACES, &[("p.tsv", "GM0344\twijk\tKanaleneiland\t\n")]);
    let (_, problems) = s.load();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("p.tsv: line 1: the header must be"), "{problems:?}");
}

#[test]
fn check_config_sees_tiers_sizes_and_vintage() {
    let s = Scratch::new(
        "summary",
        PLACES,
        &[(
            "p.tsv",
            "municipality\ttier\tname\tflags\nGM0344\twijk\tKanaleneiland\t\nGM0344\tbuurt\tLombok-Oost\t\nGM0344\tbuurt\tLombok-West\t\n",
        )],
    );
    let (gazetteer, problems) = s.load();
    assert!(problems.is_empty(), "{problems:?}");
    let files = gazetteer.summaries();
    assert_eq!(files.len(), 2, "{files:?}");
    // A woonplaats of the municipality's own name is counted once, as the municipality.
    assert_eq!(files[0].counts, [(PlaceTier::Municipality, 2), (PlaceTier::Town, 1)]);
    assert_eq!((files[1].file.as_str(), files[1].vintage.as_str()), ("p.tsv", "test"));
    assert_eq!(files[1].counts, [(PlaceTier::District, 1), (PlaceTier::Neighbourhood, 2)]);
}

#[test]
fn the_shipped_gazetteer_has_every_tier() {
    let files = shipped().summaries();
    let tiers: Vec<PlaceTier> = files.iter().flat_map(|f| f.counts.iter().map(|(t, _)| *t)).collect();
    for tier in PlaceTier::ALL.into_iter().filter(|t| *t != PlaceTier::Source) {
        assert!(tiers.contains(&tier), "no {tier} in {files:#?}");
    }
}

/// Rule of `Surface::admits`: a name that is also an ordinary word counts only
/// with a capital. In lowercase it is the word, even after "in" or "op" and
/// even where another place would vouch for it; a name that is no ordinary
/// word counts in lowercase too.
#[test]
fn a_lowercase_ordinary_word_is_no_place_even_with_support() {
    // Pillars and "here", though a street in Groningen and a wijk of Maastricht carry those names.
    let found = hits("Het dak rust op zuilen, in Groningen", None);
    assert!(found.iter().all(|h| h.place.name != "Zuilen"), "{found:#?}");
    let found = hits("carnaval hier boven de rivieren stelt niks voor vergeleken met Maastricht", None);
    assert!(found.iter().all(|h| h.place.name != "Hier"), "{found:#?}");
    let found = hits("rellen in zuilen vannacht", Some("GM0344"));
    assert!(found.iter().all(|h| h.place.tier == PlaceTier::Source), "only the source says where: {found:#?}");
    // Written as a name it is the wijk; a name that is no word counts in lowercase.
    assert_eq!(codes("Vannacht rellen in Zuilen", None), ["GM0344"]);
    assert_eq!(codes("rellen in overvecht vannacht", None), ["GM0344"]);
    assert_eq!(codes("kanaleneiland gaat vanavond los", None), ["GM0344"]);
}

/// "houten" is an adjective; Houten the municipality is written with a capital,
/// and at the start of a sentence needs a place beside it, the source or a dateline.
#[test]
fn houten_the_adjective_is_no_place_and_houten_the_municipality_is() {
    for text in [
        "een houten bank in het park",
        "Wie heeft er nog een oude houten tafel over?",
        "Ze lagen in houten kisten",
        "Houten zet extra politie in",
        "Henk van Houten zegt dat het rustig blijft",
        "Blauw-gele kaarsen zijn welkom",
    ] {
        assert!(hits(text, None).is_empty(), "{text}: {:#?}", hits(text, None));
    }
    for text in [
        "Stille tocht in Houten",
        "Het gemeentehuis van Houten gaat dicht",
        "HOUTEN - De politie grijpt vannacht in",
        "Houten: stille tocht zaterdag",
        "Houten zet extra politie in na de onrust in Schalkwijk",
    ] {
        assert_eq!(codes(text, None), ["GM0321"], "{text}");
    }
    // The source lends its municipality to "Houten" at the start of a sentence, as a place of the text.
    let found = hits("Houten zet extra politie in", Some("GM0321"));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].place.tier, found[0].place.municipality.as_str()), (PlaceTier::Municipality, "GM0321"));
    // An alternate name only Houten has: the support is all the explanation says.
    let found = hits("Rellen in Hauten", Some("GM0321"));
    assert_eq!(
        found.iter().map(|h| h.why.as_str()).collect::<Vec<_>>(),
        ["Hauten (kern, Houten) (andere naam, of deel van een naam): de bron gaat alleen over Houten"]
    );
    // The same for the other word-like municipalities: "van" after a noun is no surname.
    assert_eq!(codes("De burgemeester van Huizen zegt dat het rustig blijft", None), ["GM0406"]);
}

/// Inhabitants name their municipality, more weakly than a place does.
#[test]
fn inhabitants_name_their_municipality_more_weakly_than_a_place() {
    for (text, code) in [
        ("Utrechters, kom allemaal!", "GM0344"),
        ("Amersfoorters laten zich niet wegjagen", "GM0307"),
        ("de almeerders zijn er klaar mee", "GM0034"),
        ("Hilversummers, zaterdag gaan we los", "GM0402"),
    ] {
        assert_eq!(codes(text, None), [code], "{text}");
    }
    let hit = only("Utrechters, kom allemaal!");
    assert_eq!(hit.place.tier, PlaceTier::Demonym);
    assert_eq!(hit.place.label(), "Utrechters (inwoners, Utrecht)");
    // A place in the text wins: the action is in Amersfoort, or on the Kanaleneiland.
    assert_eq!(codes("Utrechters, kom zaterdag naar Amersfoort", None), ["GM0307"]);
    let found = hits("Utrechters, kom naar het Kanaleneiland", None);
    assert_eq!(found.iter().map(|h| h.place.name.as_str()).collect::<Vec<_>>(), ["Kanaleneiland"]);
    // They beat the source, and vouch for no other name.
    assert_eq!(codes("Almeerders opgelet", Some("GM0344")), ["GM0034"]);
    let found = hits("Almeerders, kom naar de Parkwijk", None);
    assert!(found.iter().all(|h| h.place.name != "Parkwijk"), "{found:#?}");
}
