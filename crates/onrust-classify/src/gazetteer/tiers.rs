//! The kinds of names the gazetteer knows, how strong each is, and one known
//! place as it is kept in memory.

use onrust_model::PlaceTier;

/// Where a name comes from. The order is the strength: when one name is
/// several places, the strongest tier decides ("Hoorn" is the municipality,
/// not the village on Terschelling; "Kanaleneiland" the wijk in Utrecht, not
/// the buurt in Oosterhout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Tier {
    /// A name from `gazetteer.toml` for a municipality ("Den Haag", "Utrechtse").
    Alias,
    Municipality,
    /// A woonplaats as CBS writes it ("Bergen L").
    Town,
    /// A woonplaats without its province qualifier ("Bergen"), or one part of
    /// a hyphenated woonplaats ("Spakenburg").
    TownPart,
    District,
    Village,
    Neighbourhood,
    Station,
    Stadium,
    Landmark,
    Square,
    Street,
    Postcode,
    /// The inhabitants of a municipality, from `gazetteer.toml` ("Utrechters"):
    /// the weakest, named only when no place is.
    Demonym,
}

impl Tier {
    /// The tier a place file names in its `tier` column (only the sub-municipal ones).
    pub fn from_file_word(word: &str) -> Option<Tier> {
        Some(match PlaceTier::parse(word)? {
            PlaceTier::District => Tier::District,
            PlaceTier::Neighbourhood => Tier::Neighbourhood,
            PlaceTier::Village => Tier::Village,
            PlaceTier::Street => Tier::Street,
            PlaceTier::Square => Tier::Square,
            PlaceTier::Station => Tier::Station,
            PlaceTier::Stadium => Tier::Stadium,
            PlaceTier::Landmark => Tier::Landmark,
            PlaceTier::Municipality
            | PlaceTier::Town
            | PlaceTier::Postcode
            | PlaceTier::Source
            | PlaceTier::Demonym => return None,
        })
    }

    /// The words a place file may use in its `tier` column.
    pub const FILE_WORDS: &str = "wijk, buurt, kern, straat, plein, station, stadion, landmark";

    pub fn public(self) -> PlaceTier {
        match self {
            Tier::Alias | Tier::Municipality => PlaceTier::Municipality,
            Tier::Town | Tier::TownPart => PlaceTier::Town,
            Tier::District => PlaceTier::District,
            Tier::Village => PlaceTier::Village,
            Tier::Neighbourhood => PlaceTier::Neighbourhood,
            Tier::Station => PlaceTier::Station,
            Tier::Stadium => PlaceTier::Stadium,
            Tier::Landmark => PlaceTier::Landmark,
            Tier::Square => PlaceTier::Square,
            Tier::Street => PlaceTier::Street,
            Tier::Postcode => PlaceTier::Postcode,
            Tier::Demonym => PlaceTier::Demonym,
        }
    }

    /// Whether a place of this tier, once certain, lends its municipality to
    /// the ambiguous names beside it. A municipality, woonplaats, wijk,
    /// village, station or postcode says where a message is; a street or
    /// buurt that is unique somewhere is too weak to vouch for another, and
    /// so are a municipality's inhabitants.
    pub fn supports(self) -> bool {
        self <= Tier::Station || self == Tier::Postcode
    }
}

/// The order in which places of one name compete: official names before
/// alternates and parts; municipalities and woonplaatsen before anything
/// inside a municipality; inside one, a curated well-known place first, then
/// the tier (wijk, kern, buurt, station, stadion, landmark, plein, straat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Strength {
    weak: bool,
    town_level: Tier,
    not_well_known: bool,
    pub tier: Tier,
}

impl Strength {
    pub fn of(tier: Tier, weak: bool, well_known: bool) -> Strength {
        let town_level = if tier <= Tier::TownPart { tier } else { Tier::District };
        Strength { weak, town_level, not_well_known: !well_known, tier }
    }

    pub fn well_known(self) -> bool {
        !self.not_well_known
    }
}

/// Bits of [`Entry::flags`].
pub(crate) mod flag {
    /// An alternate name: weaker than every official name ("Meern" for De Meern).
    pub const ALTERNATE: u8 = 1;
    /// A part of a longer official name ("Neude" of "Domplein, Neude, Janskerkhof"): weak like an alternate.
    pub const PART: u8 = 2;
    /// Every word of the name is an ordinary word ("Lunetten", "Het Zand"):
    /// matched only capitalised (never in lowercase, not even after "in"),
    /// and on its own only after "in", "op", "bij", … (see `Surface::admits`).
    pub const ORDINARY: u8 = 4;
    /// Listed in `capitalised_only` of `gazetteer.toml` (the curated rule for
    /// municipalities and woonplaatsen that are ordinary words: "Houten",
    /// "Huizen"): matched only capitalised and not in a surname; starting a
    /// sentence only with support or as a dateline (see `Surface::admits`).
    pub const CAPITALISED_ONLY: u8 = 8;
    /// From a curated file: the well-known place of that name wins its tier
    /// ("Oudegracht" is Utrecht's, though Alkmaar has one too).
    pub const WELL_KNOWN: u8 = 16;
    /// From a file that covers only part of the country (the BAG streets of
    /// five provinces): resolves only with support.
    pub const PARTIAL: u8 = 32;
}

/// One known place: a name, what kind of place it is and its municipality.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// As the source spells it, for the output.
    pub name: Box<str>,
    /// Index into the gazetteer's municipalities.
    pub municipality: u16,
    pub tier: Tier,
    pub flags: u8,
}

impl Entry {
    pub fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }

    /// Alternates and parts are weaker than official names of any tier.
    pub fn weak(&self) -> bool {
        self.has(flag::ALTERNATE | flag::PART)
    }

    /// How strong the entry is when its name is several places; lower wins.
    pub fn strength(&self) -> Strength {
        Strength::of(self.tier, self.weak(), self.has(flag::WELL_KNOWN))
    }
}

/// One file of places and what `check-config` says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierSummary {
    /// The file, relative to the gazetteer directory.
    pub file: String,
    /// Where and when its data comes from, as `gazetteer.toml` says.
    pub vintage: String,
    /// Places per tier, strongest tier first.
    pub counts: Vec<(PlaceTier, usize)>,
}

impl TierSummary {
    pub(crate) fn count(&mut self, tier: PlaceTier) {
        match self.counts.iter_mut().find(|(t, _)| *t == tier) {
            Some((_, n)) => *n += 1,
            None => {
                self.counts.push((tier, 1));
                self.counts.sort();
            }
        }
    }
}
