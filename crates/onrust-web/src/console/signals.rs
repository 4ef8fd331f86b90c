//! A message's explanation on the pages: the classifier's signals in Dutch,
//! and the words behind them marked in the message's own text.
//!
//! The explanation says which words made a signal fire (`bekogelen`,
//! `vuurwerk, cobra`, `gaan + bekogelen + politie`); those words are found
//! again in the title and text, as whole words and regardless of case, and
//! marked. The marking is byte ranges; the text itself stays text, escaped
//! piece by piece by `maud` (see [`super::search_page::marked`]).

use maud::{Markup, html};
use onrust_model::Signal;

/// Signals whose evidence is not words of the message: the deciding clause
/// (the whole sentence), places (an explanation of where), the season, the
/// language, emphasis (capitals and exclamation marks).
fn marks_words(signal: &str) -> bool {
    !(signal == "clause"
        || signal == "language"
        || signal == "emphasis"
        || signal.starts_with("place:")
        || signal.starts_with("season:"))
}

/// The Dutch name of a signal, as officers read it.
pub(crate) fn label(signal: &str) -> String {
    if let Some(theme) = signal.strip_prefix("theme:") {
        return format!("thema {theme}");
    }
    if let Some(code) = signal.strip_prefix("place:") {
        return format!("plaats in {code}");
    }
    if let Some(season) = signal.strip_prefix("season:") {
        return format!("tijd van het jaar ({season})");
    }
    let name = match signal {
        "call" => "oproep",
        "call_to_violence" => "oproep tot geweld",
        "clause" => "beslissende zin",
        "doxxing" | "doxxing_grammar" => "adres van een ambtsdrager",
        "emphasis" => "nadruk",
        "event_time" => "tijdstip van de actie",
        "future_time" => "tijd die nog komt",
        "gathering" => "oproep om samen te komen",
        "intent_to_harm" => "voornemen om schade te doen",
        "irony" => "ironie",
        "language" => "taal",
        "mobilisation" => "actie",
        "negation" => "ontkenning",
        "peaceful" => "vreedzaam",
        "question" => "vraag",
        "reporting" => "verslag achteraf",
        "target" => "doelwit",
        "threat" => "dreiging",
        "unrest_report" => "verslag van onrust",
        "weapon" => "wapen",
        other => other,
    };
    name.to_owned()
}

/// The words of a signal's evidence: `a, b` and `a + b` list several;
/// `(infinitief)` is the classifier's note, not a word.
fn words(evidence: &str) -> impl Iterator<Item = &str> {
    evidence
        .split(" + ")
        .flat_map(|piece| piece.split(", "))
        .map(|piece| piece.trim_end_matches(" (infinitief)").trim())
        .filter(|piece| !piece.is_empty())
}

/// Byte ranges in `text` of every signal's words, as whole words and ignoring
/// ASCII case, sorted and without overlaps.
pub(crate) fn spans(text: &str, explanation: &[Signal]) -> Vec<[usize; 2]> {
    let mut found: Vec<[usize; 2]> = Vec::new();
    for signal in explanation.iter().filter(|s| marks_words(&s.signal)) {
        for word in words(&signal.evidence) {
            found.extend(occurrences(text, word));
        }
    }
    found.sort_unstable();
    let mut merged: Vec<[usize; 2]> = Vec::with_capacity(found.len());
    for [start, end] in found {
        match merged.last_mut() {
            Some(last) if start <= last[1] => last[1] = last[1].max(end),
            _ => merged.push([start, end]),
        }
    }
    merged
}

/// Where `word` stands in `text` as a whole word, ignoring ASCII case.
fn occurrences(text: &str, word: &str) -> Vec<[usize; 2]> {
    let (haystack, needle) = (text.as_bytes(), word.as_bytes());
    if needle.is_empty() || needle.len() > haystack.len() {
        return Vec::new();
    }
    let boundary = |at: Option<char>| at.is_none_or(|c| !c.is_alphanumeric());
    let mut out = Vec::new();
    let mut start = 0;
    while start + needle.len() <= haystack.len() {
        let end = start + needle.len();
        if text.is_char_boundary(start)
            && text.is_char_boundary(end)
            && haystack[start..end].eq_ignore_ascii_case(needle)
            && boundary(text[..start].chars().next_back())
            && boundary(text[end..].chars().next())
        {
            out.push([start, end]);
            start = end;
        } else {
            start += 1;
        }
    }
    out
}

/// The signals as a list: name, the words behind it, its weight.
pub(crate) fn list(explanation: &[Signal]) -> Markup {
    html! {
        @if explanation.is_empty() {
            p class="meta" { "Geen uitleg bewaard bij dit bericht." }
        } @else {
            ul class="signals" {
                @for s in explanation.iter().filter(|s| s.signal != "clause") {
                    li {
                        (label(&s.signal))
                        @if !s.evidence.is_empty() { ": „" (s.evidence) "”" }
                        @if s.weight != 0.0 { " (gewicht " (format!("{:+.2}", s.weight).replace('.', ",")) ")" }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(name: &str, evidence: &str) -> Signal {
        Signal { signal: name.into(), evidence: evidence.into(), weight: 1.0 }
    }

    #[test]
    fn the_evidence_words_are_found_as_whole_words_in_any_case() {
        let text = "Morgen Bekogelen we de politie met vuurwerk; politiek is iets anders.";
        let explanation = [
            signal("call_to_violence", "bekogelen"),
            signal("intent_to_harm", "we + bekogelen (infinitief) + politie"),
            signal("theme:jaarwisseling", "vuurwerk, cobra"),
            signal("clause", "Morgen Bekogelen we de politie met vuurwerk"),
            signal("place:GM0344", "Utrecht (gemeente)"),
        ];
        let marked: Vec<&str> = spans(text, &explanation).iter().map(|[a, b]| &text[*a..*b]).collect();
        assert_eq!(marked, ["Bekogelen", "we", "politie", "vuurwerk"], "not `politiek`, not the clause");
        assert!(spans("é", &[signal("x", "e")]).is_empty());
        assert_eq!(spans("één rel, één", &[signal("x", "één")]), [[0, 5], [11, 16]]);
    }

    #[test]
    fn overlapping_words_merge() {
        let text = "neem zwaar vuurwerk mee";
        let explanation = [signal("weapon", "zwaar vuurwerk"), signal("theme:jaarwisseling", "vuurwerk")];
        assert_eq!(spans(text, &explanation), [[5, 19]]);
    }

    #[test]
    fn signals_read_in_dutch_and_escape() {
        assert_eq!(label("call_to_violence"), "oproep tot geweld");
        assert_eq!(label("theme:stikstof"), "thema stikstof");
        assert_eq!(label("unknown_signal"), "unknown_signal");
        let markup = list(&[signal("weapon", "<script>"), signal("clause", "zin")]).into_string();
        assert!(markup.contains("wapen: „&lt;script&gt;”") && !markup.contains("zin"), "{markup}");
        assert!(markup.contains("(gewicht +1,00)"), "{markup}");
    }
}
