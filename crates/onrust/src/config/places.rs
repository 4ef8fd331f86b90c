//! `[region]` and the municipalities an entry may name.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Deserialize;

use super::{ClassifyConfig, Collector};

/// `[region]`: the municipalities this installation watches. Coverage, the
/// dashboards' regional overview and the `municipality` label of metrics are
/// per one of these; a message about a municipality outside the region is
/// counted as `other`. Empty: every municipality in the gazetteer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// CBS codes (`GM0344`).
    #[serde(default)]
    pub municipalities: Vec<String>,
}

impl RegionConfig {
    /// Each code a CBS code, listed once, known to the gazetteer.
    pub(super) fn validate(&self, c: &mut Collector) {
        let mut seen = HashSet::new();
        for code in &self.municipalities {
            if onrust_model::MunicipalityCode::new(code.clone()).is_err() {
                c.push("region.municipalities", format!("{code:?} is not a CBS code such as \"GM0344\""));
            } else if !seen.insert(code) {
                c.push("region.municipalities", format!("{code} is listed twice"));
            } else if let Some(problem) = c.places.not_in_gazetteer(code) {
                c.push("region.municipalities", problem);
            }
        }
    }
}

/// CBS codes as onrust writes them ("0344" is GM0344); what is not a code
/// stays as written for the checks to name.
pub(super) fn normalise(codes: &mut [String]) {
    for code in codes.iter_mut() {
        if let Ok(m) = onrust_model::MunicipalityCode::new(code.clone()) {
            *code = m.as_str().to_owned();
        }
    }
}

/// The municipalities a recipient, webhook, token, rule or source may name
/// (issue 16: a recipient for GM9999 reaches nobody, quietly): those of
/// `[region]`, or without one every municipality in the gazetteer. The
/// region's own codes must be in the gazetteer.
#[derive(Debug, Default)]
pub(super) struct Places {
    /// `region.municipalities`, as onrust writes the codes.
    region: Vec<String>,
    /// The gazetteer's file and its municipality codes; `None` when it cannot
    /// be read (that is reported as `classify.gazetteer` on its own).
    gazetteer: Option<(PathBuf, HashSet<String>)>,
}

impl Places {
    pub(super) fn load(classify: &ClassifyConfig, region: &RegionConfig) -> Self {
        let file = classify.gazetteer.clone();
        let gazetteer = onrust_classify::municipality_names(&file)
            .ok()
            .map(|names| (file, names.into_iter().map(|(code, _)| code.as_str().to_owned()).collect()));
        Self { region: region.municipalities.clone(), gazetteer }
    }

    /// Why `code` (as onrust writes it) names no municipality the gazetteer knows.
    pub(super) fn not_in_gazetteer(&self, code: &str) -> Option<String> {
        match &self.gazetteer {
            Some((file, codes)) if !codes.contains(code) => {
                Some(format!("{code} is no municipality: the gazetteer {} does not know it", file.display()))
            }
            _ => None,
        }
    }

    /// Why an entry may not name `code`: outside the region, or (without a
    /// region) unknown to the gazetteer.
    pub(super) fn unknown(&self, code: &onrust_model::MunicipalityCode) -> Option<String> {
        if self.region.is_empty() {
            self.not_in_gazetteer(code.as_str())
        } else {
            (!self.region.iter().any(|r| r == code.as_str())).then(|| format!("{code} is not in region.municipalities"))
        }
    }
}
