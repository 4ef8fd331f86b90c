//! Which place a name is, when it is several, and why.
//!
//! 1. Of the places the writing admits, the strongest win (see
//!    [`Strength`]: official names before alternates and parts, a
//!    municipality or woonplaats before anything inside one, then a curated
//!    well-known place, then wijk, kern, buurt, station, stadion, landmark,
//!    plein, straat). The name resolves on its own when they lie in one
//!    municipality and either no other municipality has the name, or the
//!    winner is a municipality or woonplaats ("Hoorn"), or a curated
//!    well-known place ("Oudegracht"), or a wijk or kern that at most
//!    [`FEW_OTHERS`] other municipalities know as something weaker
//!    ("Kanaleneiland", a buurt in Oosterhout too).
//! 2. Otherwise (a "Kerkstraat" in forty municipalities, a "Schildersbuurt"
//!    that is a wijk in one and a buurt in sixteen, an ordinary word without
//!    "in"/"op" before it, an alternate name, a bare PC4) it needs support: a place
//!    resolved in step 1 whose tier vouches for a municipality (see
//!    [`Tier::supports`]: a municipality, woonplaats, wijk, kern, station or
//!    postcode), or the source's single municipality. The strongest admitted
//!    place in a supported municipality wins; a tie between two supported
//!    municipalities resolves nothing. Support also beats a woonplaats or a
//!    place inside a municipality that won over namesakes elsewhere: "de
//!    Marco Pololaan in Emmeloord" is Emmeloord's, though the curated one is
//!    Utrecht's; "de wijk Vollenhove in Zeist" is Zeist's, not the woonplaats
//!    in Steenwijkerland. A municipality's own name never gives way.
//! 3. A municipality's inhabitants ("Utrechters", "Almeerders") name it
//!    only when the message names no place: they are dropped beside one
//!    ("Utrechters, kom naar Amersfoort" is Amersfoort's), and never vouch
//!    for another name.
//! 4. A message that names no place at all (inhabitants count as named)
//!    takes its source's single municipality, marked as inferred.

use onrust_model::{MunicipalityCode, PlaceTier};

use super::Gazetteer;
use super::matching::{Admission, Found, Mention};
use super::tiers::{Entry, Strength, Tier};

/// How many other municipalities may know a wijk's or kern's name (as a
/// buurt, street, …) before the name needs support.
pub(crate) const FEW_OTHERS: usize = 2;

/// Why a place won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// No other place has this name.
    Only,
    /// Other places of the name are of a weaker tier, alternates or parts.
    Strongest { others: usize },
    /// The curated well-known place of its tier.
    WellKnown { others: usize },
    /// Other places of the name elsewhere; this municipality is named in the message.
    Named { others: usize, by: String },
    /// Other places of the name elsewhere; the source covers only this municipality.
    Source { others: usize },
    /// No place in the text; the source covers only this municipality.
    Inferred,
}

/// One resolved place.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub name: String,
    pub tier: PlaceTier,
    pub municipality: u16,
    /// Byte span in the text; `None` when inferred from the source.
    pub span: Option<(usize, usize)>,
    pub reason: Reason,
    pub alternate: bool,
}

/// One admitted place of a mention.
#[derive(Debug, Clone, Copy)]
struct Candidate<'g> {
    municipality: u16,
    tier: Tier,
    entry: Option<&'g Entry>,
    admission: Admission,
}

impl Candidate<'_> {
    fn strength(&self) -> Strength {
        self.entry.map_or(Strength::of(self.tier, false, false), Entry::strength)
    }
}

impl Gazetteer {
    fn candidates<'g>(&'g self, mention: &Mention<'g>) -> Vec<Candidate<'g>> {
        match mention.found {
            Found::Name(ids, bare_ids, bare) => {
                let with = ids.iter().map(|&id| (id, mention.surface));
                with.chain(bare_ids.iter().map(|&id| (id, bare)))
                    .filter_map(|(id, surface)| self.entries.get(id as usize).map(|e| (e, surface)))
                    .map(|(e, surface)| Candidate {
                        municipality: e.municipality,
                        tier: e.tier,
                        entry: Some(e),
                        admission: surface.admits(e),
                    })
                    .filter(|c| c.admission != Admission::No)
                    .collect()
            }
            Found::Postcode { municipalities, alone, .. } => municipalities
                .iter()
                .map(|&m| Candidate {
                    municipality: m,
                    tier: Tier::Postcode,
                    entry: None,
                    admission: if alone { Admission::Alone } else { Admission::WithSupport },
                })
                .collect(),
        }
    }

    /// Resolves the mentions of one message (see the module documentation).
    pub(crate) fn resolve(
        &self,
        text: &str,
        mentions: &[Mention<'_>],
        source: Option<&MunicipalityCode>,
    ) -> Vec<Resolved> {
        let source = source.and_then(|code| self.municipality_index(code));
        let all: Vec<Vec<Candidate<'_>>> = mentions.iter().map(|m| self.candidates(m)).collect();
        let mut picked: Vec<Option<(Candidate<'_>, Reason)>> = all.iter().map(|c| alone(c)).collect();
        // Municipalities vouched for by what resolved alone, with the words that did it.
        let supported: Vec<(u16, &str)> = picked
            .iter()
            .zip(mentions)
            .filter_map(|(p, m)| p.as_ref().filter(|(c, _)| c.tier.supports()).map(|(c, _)| (c.municipality, m)))
            .map(|(municipality, m)| (municipality, text.get(m.start..m.end).unwrap_or_default()))
            .collect();
        for (slot, candidates) in picked.iter_mut().zip(&all) {
            // A woonplaats or a place inside a municipality that won over namesakes
            // elsewhere gives way when the message names one of those namesakes'
            // municipalities ("de wijk Vollenhove in Zeist"); a municipality's own
            // name never does.
            let beaten_by_support = slot.as_ref().is_some_and(|(c, reason)| {
                matches!(reason, Reason::WellKnown { .. } | Reason::Strongest { .. })
                    && c.tier > Tier::Municipality
                    && !supported.iter().any(|(m, _)| *m == c.municipality)
                    && source != Some(c.municipality)
            });
            if slot.is_none() || beaten_by_support {
                let supported_pick = with_support(candidates, &supported, source);
                if supported_pick.is_some() || slot.is_none() {
                    *slot = supported_pick;
                }
            }
        }
        let mut out = Vec::new();
        for (pick, mention) in picked.into_iter().zip(mentions) {
            let Some((candidate, reason)) = pick else { continue };
            let name = match (candidate.entry, mention.found) {
                (Some(entry), _) => entry.name.to_string(),
                (None, Found::Postcode { code, .. }) => code.to_string(),
                (None, Found::Name(..)) => text.get(mention.start..mention.end).unwrap_or_default().to_owned(),
            };
            out.push(Resolved {
                name,
                tier: candidate.tier.public(),
                municipality: candidate.municipality,
                span: Some((mention.start, mention.end)),
                reason,
                alternate: candidate.entry.is_some_and(Entry::weak),
            });
        }
        // Inhabitants name their municipality only when no place does:
        // "Utrechters, kom zaterdag naar Amersfoort" is about Amersfoort.
        if out.iter().any(|r| r.tier != PlaceTier::Demonym) {
            out.retain(|r| r.tier != PlaceTier::Demonym);
        }
        if out.is_empty()
            && let Some(municipality) = source
        {
            out.push(Resolved {
                name: self.municipality_name(municipality).to_owned(),
                tier: PlaceTier::Source,
                municipality,
                span: None,
                reason: Reason::Inferred,
                alternate: false,
            });
        }
        out
    }
}

/// The municipalities among `candidates`, without repeats.
fn distinct(candidates: impl Iterator<Item = u16>) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::new();
    for m in candidates {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// Step 1: the strongest places that count on their own, if they lie in one municipality.
fn alone<'g>(candidates: &[Candidate<'g>]) -> Option<(Candidate<'g>, Reason)> {
    let best = candidates.iter().filter(|c| c.admission == Admission::Alone).map(Candidate::strength).min()?;
    let top: Vec<&Candidate<'g>> = candidates.iter().filter(|c| c.strength() == best).collect();
    let [_] = distinct(top.iter().map(|c| c.municipality))[..] else { return None };
    let winner = **top.first()?;
    let others = distinct(candidates.iter().map(|c| c.municipality)).len() - 1;
    let reason = if others == 0 {
        Reason::Only
    } else if best.tier <= Tier::TownPart {
        Reason::Strongest { others }
    } else if best.well_known() {
        Reason::WellKnown { others }
    } else if matches!(best.tier, Tier::District | Tier::Village) && others <= FEW_OTHERS {
        Reason::Strongest { others }
    } else {
        return None;
    };
    Some((winner, reason))
}

/// Step 2: the strongest admitted place in a supported municipality, if only one municipality qualifies.
fn with_support<'g>(
    candidates: &[Candidate<'g>],
    supported: &[(u16, &str)],
    source: Option<u16>,
) -> Option<(Candidate<'g>, Reason)> {
    let vouched =
        |c: &&Candidate<'g>| supported.iter().any(|(m, _)| *m == c.municipality) || source == Some(c.municipality);
    let best = candidates.iter().filter(vouched).map(Candidate::strength).min()?;
    let top: Vec<&Candidate<'g>> = candidates.iter().filter(vouched).filter(|c| c.strength() == best).collect();
    let [municipality] = distinct(top.iter().map(|c| c.municipality))[..] else { return None };
    let winner = **top.first()?;
    let others = distinct(candidates.iter().map(|c| c.municipality)).len() - 1;
    let reason = match supported.iter().find(|(m, _)| *m == municipality) {
        Some((_, by)) => Reason::Named { others, by: (*by).to_owned() },
        None => Reason::Source { others },
    };
    Some((winner, reason))
}
