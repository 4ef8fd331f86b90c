//! The municipality names every part of onrust shows come from the
//! gazetteer's own reader: one parse of the CBS CSV, quoted fields and all,
//! the same list whether the classifier is loaded or not.

use std::path::{Path, PathBuf};

use onrust_classify::{Classifier, ClassifierConfig, municipality_names};
use onrust_model::MunicipalityCode;

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn code(text: &str) -> MunicipalityCode {
    MunicipalityCode::new(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_loaded_classifier_and_the_csv_alone_name_the_same_municipalities() {
    let dir = config_dir();
    let from_csv =
        municipality_names(&dir.join("gazetteer/woonplaatsen-gemeenten-2024.csv")).expect("the shipped gazetteer");
    assert!(from_csv.len() > 300, "{}", from_csv.len());
    assert!(from_csv.contains(&(code("GM0344"), "Utrecht".to_owned())), "{:?}", &from_csv[..3]);
    assert!(from_csv.windows(2).all(|w| w[0].0 < w[1].0), "one entry per code, ordered by code");
    let classifier = Classifier::load(&ClassifierConfig::in_dir(&dir)).expect("the shipped classifier");
    assert_eq!(classifier.municipality_names(), from_csv);
}

/// A quoted name with a comma in it is one field (a `split(',')` read it as two
/// and shifted every column after it); a file without the CBS header is
/// refused, naming the file, rather than read as no municipalities.
#[test]
fn quoted_names_are_one_field_and_a_wrong_header_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("gemeenten.csv");
    std::fs::write(
        &csv,
        "Woonplaatscode,Woonplaats,Gemeentecode,Gemeente\n\
         1,\"Duin, Zand\",GM9998,\"Zee, Duin en Zand\"\n\
         2,Utrecht,GM0344,Utrecht\n\
         3,Vleuten,GM0344,Utrecht\n",
    )
    .expect("write");
    let names = municipality_names(&csv).expect("names");
    assert_eq!(names, [(code("GM0344"), "Utrecht".to_owned()), (code("GM9998"), "Zee, Duin en Zand".to_owned())]);

    std::fs::write(&csv, "Gemeente,Gemeentecode\nUtrecht,GM0344\n").expect("write");
    let err = municipality_names(&csv).expect_err("not the CBS header").to_string();
    assert!(err.contains("gemeenten.csv") && err.contains("header"), "{err}");
}
