//! The characters onrust never keeps in text from outside: the one list the
//! ingest's text normaliser strips (rule S4) and the API refuses in what
//! people write (comments, reasons) and in who they are (a CLI user name).

/// C0 and C1 control characters except `\n` and `\t`, and the bidi
/// embedding, override, isolate and mark characters: what can hide or
/// reorder text on a screen or forge a line in a log or a terminal.
pub fn is_hidden_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_hidden_newlines_tabs_and_letters_are_not() {
        for c in ['\u{0}', '\u{7}', '\r', '\u{1b}', '\u{7f}', '\u{85}', '\u{202e}', '\u{2066}', '\u{200f}', '\u{61c}'] {
            assert!(is_hidden_char(c), "{:?}", c);
        }
        for c in ['\n', '\t', ' ', 'a', 'é', '€', '\u{200d}'] {
            assert!(!is_hidden_char(c), "{:?}", c);
        }
    }
}
