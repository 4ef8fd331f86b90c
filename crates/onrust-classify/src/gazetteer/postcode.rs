//! Dutch postcodes: PC4 ("3525") and PC6 ("3511 AB", "3511AB").
//!
//! Every PC4 is known with the municipalities it lies in; PC6 only where its
//! PC4 straddles a municipal border (elsewhere the PC4 says it all). A bare
//! four-digit number is a year or an amount far more often than a postcode,
//! so it counts only after "postcode", after "in" when it cannot be a recent
//! year ("woont in 3822"), or before a capitalised name ("3525 Utrecht", and
//! then only when that name agrees).

use rustc_hash::FxHashMap;

use crate::normalize::Token;

/// Letter pairs PostNL never gives out.
const UNUSED_LETTERS: [&str; 3] = ["sa", "sd", "ss"];

/// Words that say the next number is a postcode.
const CUES: [&str; 4] = ["postcode", "postcodegebied", "pc4", "pc"];

/// Words after which a number from 2100 up is a postcode ("woont in 3822"):
/// it cannot be a recent year, and earlier years are rarely written so.
const LOCATIVES: [&str; 6] = ["in", "rond", "rondom", "uit", "nabij", "omgeving"];

/// A postcode as a number: PC4 is 1000..=9999, PC6 is above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Postcode(u32);

impl Postcode {
    pub fn pc4(digits: u32) -> Option<Postcode> {
        (1000..=9999).contains(&digits).then_some(Postcode(digits))
    }

    /// `letters` lowercase ASCII, two of them.
    pub fn pc6(digits: u32, letters: &[u8]) -> Option<Postcode> {
        let [a, b] = letters else { return None };
        if !a.is_ascii_lowercase() || !b.is_ascii_lowercase() {
            return None;
        }
        Postcode::pc4(digits)?;
        Some(Postcode(10_000 + digits * 676 + u32::from(a - b'a') * 26 + u32::from(b - b'a')))
    }

    /// The PC4 of a PC6, or itself.
    pub fn area(self) -> Postcode {
        if self.0 < 10_000 { self } else { Postcode((self.0 - 10_000) / 676) }
    }

    /// Parses "3511", "3511AB", "3511 AB" (any case; the caller checks capitals in text).
    pub fn parse(text: &str) -> Option<Postcode> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let digits = compact.get(..4)?.parse::<u32>().ok()?;
        let letters = compact.get(4..)?.to_ascii_lowercase();
        match letters.len() {
            0 => Postcode::pc4(digits),
            2 => Postcode::pc6(digits, letters.as_bytes()),
            _ => None,
        }
    }
}

impl std::fmt::Display for Postcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 < 10_000 {
            return write!(f, "{}", self.0);
        }
        let rest = self.0 - 10_000;
        let letters = rest % 676;
        let first = char::from(b'A' + (letters / 26) as u8);
        let second = char::from(b'A' + (letters % 26) as u8);
        write!(f, "{} {first}{second}", rest / 676)
    }
}

/// Postcodes → municipality indices.
#[derive(Debug, Default)]
pub(crate) struct Postcodes {
    /// Postcode → range in `municipalities`.
    codes: FxHashMap<Postcode, (u32, u32)>,
    municipalities: Vec<u16>,
    pub pc4_count: usize,
    pub pc6_count: usize,
}

impl Postcodes {
    pub fn insert(&mut self, code: Postcode, municipalities: &[u16]) {
        let start = self.municipalities.len() as u32;
        self.municipalities.extend_from_slice(municipalities);
        if self.codes.insert(code, (start, self.municipalities.len() as u32)).is_none() {
            if code.area() == code {
                self.pc4_count += 1;
            } else {
                self.pc6_count += 1;
            }
        }
    }

    /// The municipalities of a postcode; a PC6 not listed falls back to its PC4.
    pub fn municipalities(&self, code: Postcode) -> &[u16] {
        let range = self.codes.get(&code).or_else(|| self.codes.get(&code.area()));
        range.and_then(|&(start, end)| self.municipalities.get(start as usize..end as usize)).unwrap_or_default()
    }
}

/// A postcode as written in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WrittenPostcode {
    pub(crate) code: Postcode,
    /// How many tokens it spans ("3511 AB" is two).
    pub(crate) tokens: usize,
    /// It stands on its own (a PC6, or a PC4 after a cue word) rather than
    /// needing a name beside it that agrees.
    pub(crate) alone: bool,
}

/// The postcode written at `tokens[at]`, if one is.
pub(crate) fn read(text: &str, tokens: &[Token], at: usize) -> Option<WrittenPostcode> {
    let token = tokens.get(at)?;
    let norm = token.norm.as_bytes();
    if norm.len() < 4 || !norm[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = token.norm.get(..4)?.parse::<u32>().ok()?;
    if norm.len() == 6 {
        let letters = &norm[4..];
        if UNUSED_LETTERS.iter().any(|u| u.as_bytes() == letters) {
            return None;
        }
        return Postcode::pc6(digits, letters).map(|code| WrittenPostcode { code, tokens: 1, alone: true });
    }
    if norm.len() != 4 {
        return None;
    }
    if let Some(next) = tokens.get(at + 1)
        && next.norm.len() == 2
        && !next.sentence_start
        && text.get(next.start..next.end).is_some_and(|w| w.bytes().all(|b| b.is_ascii_uppercase()))
    {
        if UNUSED_LETTERS.contains(&next.norm.as_ref()) {
            return None;
        }
        return Postcode::pc6(digits, next.norm.as_bytes()).map(|code| WrittenPostcode {
            code,
            tokens: 2,
            alone: true,
        });
    }
    let before = at.checked_sub(1).and_then(|p| tokens.get(p)).map(|p| p.norm.as_ref());
    // "woont ergens in 3822": after a locative, a number that cannot be a recent year.
    let cue =
        before.is_some_and(|p| CUES.contains(&p)) || (before.is_some_and(|p| LOCATIVES.contains(&p)) && digits >= 2100);
    let before_name = tokens.get(at + 1).is_some_and(|n| n.capitalised && !n.hashtag && !n.sentence_start);
    if cue || before_name {
        Postcode::pc4(digits).map(|code| WrittenPostcode { code, tokens: 1, alone: cue })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::tokenize;

    fn read_in(text: &str, at: usize) -> Option<(String, usize, bool)> {
        read(text, &tokenize(text), at).map(|written| (written.code.to_string(), written.tokens, written.alone))
    }

    #[test]
    fn reads_pc6_and_pc4_only_with_a_cue_or_a_name() {
        assert_eq!(read_in("3511 AB Utrecht", 0), Some(("3511 AB".into(), 2, true)));
        assert_eq!(read_in("3511ab", 0), Some(("3511 AB".into(), 1, true)));
        assert_eq!(read_in("postcode 3525 vooral", 1), Some(("3525".into(), 1, true)));
        assert_eq!(read_in("3525 Utrecht", 0), Some(("3525".into(), 1, false)), "needs the name to agree");
        assert_eq!(read_in("in 2026 de boel", 1), None, "a year");
        assert_eq!(read_in("woont ergens in 3822 hoor", 3), Some(("3822".into(), 1, true)));
        assert_eq!(read_in("sinds 3822 hoor", 1), None);
        assert_eq!(read_in("2026 en verder", 0), None, "lowercase letters after a number are a word");
        assert_eq!(read_in("3511 SS", 0), None, "SS is never given out");
        assert_eq!(read_in("0800 1234", 0), None);
    }

    #[test]
    fn pc6_falls_back_to_its_pc4() {
        let mut codes = Postcodes::default();
        let pc4 = Postcode::parse("3511").expect("pc4");
        let straddling = Postcode::parse("3511AB").expect("pc6");
        codes.insert(pc4, &[1, 2]);
        codes.insert(straddling, &[2]);
        assert_eq!(codes.municipalities(straddling), [2]);
        assert_eq!(codes.municipalities(Postcode::parse("3511 XY").expect("pc6")), [1, 2]);
        assert!(codes.municipalities(Postcode::parse("9999").expect("pc4")).is_empty());
        assert_eq!((codes.pc4_count, codes.pc6_count), (1, 1));
        assert_eq!(straddling.area(), pc4);
    }
}
