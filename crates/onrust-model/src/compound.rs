//! Splitting Dutch compounds into their parts: `vuurwerkbommen` → `vuurwerk`,
//! `bommen`; `stikstofbeleid` → `stikstof`, `beleid`.
//!
//! Dutch writes compounds as one word, so a search for `stikstof` would miss
//! `stikstofbeleid` and a lexicon term would miss the compound it ends. The
//! classifier (`Classifier::split_compound`, with its lexicons' words) and the
//! archive's Dutch analyzer (which indexes a compound's parts beside the
//! whole word) split the same way, with this one function; each brings its
//! own list of known parts. It lives here because both crates depend on
//! this one and on neither of each other.

/// Parts shorter than this are not split off a compound.
pub const MIN_COMPOUND_PART: usize = 3;

/// Splits `word` (lowercase) into the fewest parts that `is_part` knows,
/// on a tie the one whose last part is longest; a linking `s` or `e` stays
/// with the part before it (`stikstofs-`, `ziekte-`). Hyphens and
/// underscores split first (`azc-besluit`). A word that cannot be split
/// comes back whole; the word itself is never one of its own parts.
pub fn split_compound(word: &str, is_part: impl Fn(&str) -> bool) -> Vec<&str> {
    let mut out = Vec::new();
    for piece in word.split(['-', '_']).filter(|p| !p.is_empty()) {
        out.extend(split_piece(piece, &is_part));
    }
    if out.is_empty() {
        out.push(word);
    }
    out
}

fn split_piece<'w>(word: &'w str, is_part: &impl Fn(&str) -> bool) -> Vec<&'w str> {
    let n = word.len();
    if n < 2 * MIN_COMPOUND_PART {
        return vec![word];
    }
    let known = |s: &str| s.len() >= MIN_COMPOUND_PART && is_part(s);
    // best[i]: fewest parts covering word[..i], with the start of the last part.
    let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0));
    for end in MIN_COMPOUND_PART..=n {
        if !word.is_char_boundary(end) {
            continue;
        }
        for start in 0..=end - MIN_COMPOUND_PART {
            if start == 0 && end == n {
                continue; // the word itself is not one of its parts
            }
            let Some((count, _)) = best[start] else { continue };
            if !word.is_char_boundary(start) {
                continue;
            }
            let part = &word[start..end];
            // A linking s or e ("stikstofs", "ziekte") belongs to the part before it.
            let linked = part.len() > MIN_COMPOUND_PART
                && end < n
                && (part.ends_with('s') || part.ends_with('e'))
                && known(&part[..part.len() - 1]);
            if !(known(part) || linked) {
                continue;
            }
            let candidate = (count + 1, start);
            let better = match best[end] {
                None => true,
                // Fewer parts; on a tie the longer part here (a smaller start),
                // so the last part of the word is as long as it can be.
                Some((c, s)) => candidate.0 < c || (candidate.0 == c && start < s),
            };
            if better {
                best[end] = Some(candidate);
            }
        }
    }
    if best[n].is_none() {
        return vec![word];
    }
    let mut parts = Vec::new();
    let mut end = n;
    while end > 0 {
        let Some((_, start)) = best[end] else { return vec![word] };
        parts.push(&word[start..end]);
        end = start;
    }
    parts.reverse();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(words: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |s| words.contains(&s)
    }

    #[test]
    fn compounds_split_into_the_fewest_known_parts() {
        let parts = known(&["vuurwerk", "vuur", "werk", "bommen", "stikstof", "beleid", "azc", "besluit", "ziekte"]);
        assert_eq!(split_compound("vuurwerkbommen", &parts), ["vuurwerk", "bommen"], "fewest parts");
        assert_eq!(split_compound("stikstofbeleid", &parts), ["stikstof", "beleid"]);
        assert_eq!(split_compound("stikstofsbeleid", &parts), ["stikstofs", "beleid"], "the linking s stays");
        assert_eq!(split_compound("azc-besluit", &parts), ["azc", "besluit"]);
        assert_eq!(split_compound("vuurwerk", &parts), ["vuur", "werk"], "never the word itself");
        assert_eq!(split_compound("fiets", &parts), ["fiets"], "too short to split");
        assert_eq!(split_compound("xqzvbnmlk", &parts), ["xqzvbnmlk"], "nothing known: whole");
        assert_eq!(split_compound("stikstofxyz", &parts), ["stikstofxyz"], "a remainder nobody knows: whole");
        assert_eq!(split_compound("--", &parts), ["--"]);
        assert_eq!(split_compound("één-vuurwerkbommen", &parts), ["één", "vuurwerk", "bommen"], "not bytes: chars");
    }
}
