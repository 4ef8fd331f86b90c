//! Places a message names, as the classifier resolved them: the words, what
//! kind of place they name, and the municipality that place lies in.

use serde::{Deserialize, Serialize};

use crate::MunicipalityCode;

/// What kind of place a name is. Serialised in Dutch, as officers read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PlaceTier {
    /// The municipality itself, or a common name for it ("Den Haag").
    #[serde(rename = "gemeente")]
    Municipality,
    /// A CBS woonplaats (town or village with its own addresses).
    #[serde(rename = "woonplaats")]
    Town,
    /// A district of a town (CBS wijk, or a named stadswijk).
    #[serde(rename = "wijk")]
    District,
    /// A CBS buurt.
    #[serde(rename = "buurt")]
    Neighbourhood,
    /// A village or hamlet that is no woonplaats of its own.
    #[serde(rename = "kern")]
    Village,
    #[serde(rename = "straat")]
    Street,
    #[serde(rename = "plein")]
    Square,
    #[serde(rename = "station")]
    Station,
    #[serde(rename = "stadion")]
    Stadium,
    /// A building, park, museum or other named spot.
    #[serde(rename = "landmark")]
    Landmark,
    /// A PC4 ("3525") or PC6 ("3511 AB") postcode.
    #[serde(rename = "postcode")]
    Postcode,
    /// Not in the text: the message's source covers only this municipality.
    #[serde(rename = "bron")]
    Source,
}

impl PlaceTier {
    pub const ALL: [PlaceTier; 12] = [
        Self::Municipality,
        Self::Town,
        Self::District,
        Self::Neighbourhood,
        Self::Village,
        Self::Street,
        Self::Square,
        Self::Station,
        Self::Stadium,
        Self::Landmark,
        Self::Postcode,
        Self::Source,
    ];

    /// The Dutch word, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Municipality => "gemeente",
            Self::Town => "woonplaats",
            Self::District => "wijk",
            Self::Neighbourhood => "buurt",
            Self::Village => "kern",
            Self::Street => "straat",
            Self::Square => "plein",
            Self::Station => "station",
            Self::Stadium => "stadion",
            Self::Landmark => "landmark",
            Self::Postcode => "postcode",
            Self::Source => "bron",
        }
    }

    /// The tier a word from [`PlaceTier::as_str`] names.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == word)
    }
}

impl std::fmt::Display for PlaceTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which part of the message a span is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    Title,
    Text,
}

/// Where a place is written: byte offsets into the message's title or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub field: TextField,
    pub start: usize,
    pub end: usize,
}

/// One place the message names (or, for [`PlaceTier::Source`], the one its
/// source covers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The place's name as the gazetteer spells it ("Kanaleneiland",
    /// "Station Utrecht Centraal", "3511 AB").
    pub name: String,
    pub tier: PlaceTier,
    pub municipality: MunicipalityCode,
    /// The municipality's name ("Utrecht"), so a reader needs no gazetteer.
    pub municipality_name: String,
    /// Where the name is written; `None` when inferred from the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

impl Place {
    /// "Kanaleneiland (wijk, Utrecht)"; "Utrecht (gemeente)" when the place is the
    /// municipality; "Utrecht (bron)" when inferred from the source.
    pub fn label(&self) -> String {
        if self.name == self.municipality_name && matches!(self.tier, PlaceTier::Municipality | PlaceTier::Source) {
            format!("{} ({})", self.name, self.tier)
        } else {
            format!("{} ({}, {})", self.name, self.tier, self.municipality_name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str, tier: PlaceTier, municipality: &str) -> Place {
        Place {
            name: name.to_owned(),
            tier,
            municipality: MunicipalityCode::new("GM0344").unwrap_or_else(|e| panic!("{e}")),
            municipality_name: municipality.to_owned(),
            span: None,
        }
    }

    #[test]
    fn labels_name_tier_and_municipality() {
        assert_eq!(place("Kanaleneiland", PlaceTier::District, "Utrecht").label(), "Kanaleneiland (wijk, Utrecht)");
        assert_eq!(place("Utrecht", PlaceTier::Municipality, "Utrecht").label(), "Utrecht (gemeente)");
        assert_eq!(place("Utrecht", PlaceTier::Town, "Utrecht").label(), "Utrecht (woonplaats, Utrecht)");
        assert_eq!(place("Utrecht", PlaceTier::Source, "Utrecht").label(), "Utrecht (bron)");
    }

    #[test]
    fn tiers_round_trip_in_dutch() -> Result<(), serde_json::Error> {
        for tier in PlaceTier::ALL {
            let json = serde_json::to_string(&tier)?;
            assert_eq!(json, format!("\"{}\"", tier.as_str()));
            assert_eq!(serde_json::from_str::<PlaceTier>(&json)?, tier);
            assert_eq!(PlaceTier::parse(tier.as_str()), Some(tier));
        }
        Ok(())
    }
}
