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
    /// The municipality's inhabitants ("Utrechters", "Almeerders"): it names
    /// the municipality more weakly than a place does.
    #[serde(rename = "inwoners")]
    Demonym,
}

impl PlaceTier {
    pub const ALL: [PlaceTier; 13] = [
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
        Self::Demonym,
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
            Self::Demonym => "inwoners",
        }
    }

    /// How precisely a place of this tier says where something happens:
    /// the municipality (or its inhabitants) least, a woonplaats or kern
    /// more, a wijk, buurt or postcode more again, and a street, square,
    /// station, stadium or landmark most. [`most_specific`] picks by it;
    /// `None` for a place inferred from the source, which is not written in
    /// the message.
    pub fn specificity(self) -> Option<u8> {
        Some(match self {
            Self::Municipality | Self::Demonym => 0,
            Self::Town | Self::Village => 1,
            Self::Postcode => 2,
            Self::District => 3,
            Self::Neighbourhood => 4,
            Self::Street | Self::Square | Self::Station | Self::Stadium | Self::Landmark => 5,
            Self::Source => return None,
        })
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
    /// municipality; "Utrecht (bron)" when inferred from the source;
    /// "Utrechters (inwoners, Utrecht)".
    pub fn label(&self) -> String {
        let alone =
            self.name == self.municipality_name && matches!(self.tier, PlaceTier::Municipality | PlaceTier::Source);
        let tier = self.tier.as_str();
        // Pushed, not formatted: every placed message writes its labels.
        let mut label = String::with_capacity(self.name.len() + tier.len() + self.municipality_name.len() + 5);
        label.push_str(&self.name);
        label.push_str(" (");
        label.push_str(tier);
        if !alone {
            label.push_str(", ");
            label.push_str(&self.municipality_name);
        }
        label.push(')');
        label
    }
}

/// The most specific place the message writes (see [`PlaceTier::specificity`]),
/// in `municipality` when given; of equally specific ones the first written.
/// A place inferred from the source is never it. Alerts name it as
/// [`Place::label`] writes it: "Kanaleneiland (wijk, Utrecht)".
pub fn most_specific<'p>(places: &'p [Place], municipality: Option<&MunicipalityCode>) -> Option<&'p Place> {
    let mut best: Option<(u8, &Place)> = None;
    for place in places.iter().filter(|p| municipality.is_none_or(|m| &p.municipality == m)) {
        let Some(rank) = place.tier.specificity() else { continue };
        if best.is_none_or(|(b, _)| rank > b) {
            best = Some((rank, place));
        }
    }
    best.map(|(_, place)| place)
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
        assert_eq!(place("Utrechters", PlaceTier::Demonym, "Utrecht").label(), "Utrechters (inwoners, Utrecht)");
    }

    #[test]
    fn the_most_specific_written_place_in_a_municipality_wins() {
        let written = |mut p: Place| {
            p.span = Some(Span { field: TextField::Text, start: 0, end: 1 });
            p
        };
        let mut amersfoort = written(place("Schothorst", PlaceTier::District, "Amersfoort"));
        amersfoort.municipality = MunicipalityCode::new("GM0307").unwrap_or_else(|e| panic!("{e}"));
        let places = vec![
            written(place("Utrecht", PlaceTier::Municipality, "Utrecht")),
            written(place("De Meern", PlaceTier::Town, "Utrecht")),
            written(place("Kanaleneiland", PlaceTier::District, "Utrecht")),
            written(place("3526", PlaceTier::Postcode, "Utrecht")),
            amersfoort,
            written(place("Hoograven", PlaceTier::District, "Utrecht")),
        ];
        let utrecht = MunicipalityCode::new("GM0344").unwrap_or_else(|e| panic!("{e}"));
        let best = most_specific(&places, Some(&utrecht)).map(Place::label);
        assert_eq!(
            best.as_deref(),
            Some("Kanaleneiland (wijk, Utrecht)"),
            "a wijk before a woonplaats or PC4, first of two"
        );
        let street = written(place("Marco Pololaan", PlaceTier::Street, "Utrecht"));
        let with_street = [places.clone(), vec![street]].concat();
        assert_eq!(most_specific(&with_street, Some(&utrecht)).map(|p| p.name.as_str()), Some("Marco Pololaan"));
        assert_eq!(most_specific(&places[..1], Some(&utrecht)).map(|p| p.tier), Some(PlaceTier::Municipality));
        // Anywhere, without a municipality: the first wijk written.
        assert_eq!(most_specific(&places, None).map(|p| p.name.as_str()), Some("Kanaleneiland"));
        // A place inferred from the source is not in the message.
        assert_eq!(most_specific(&[place("Utrecht", PlaceTier::Source, "Utrecht")], None), None);
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
