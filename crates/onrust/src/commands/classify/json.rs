//! The output line of `onrust classify`, written field by field.
//!
//! Through serde, writing a line was about a tenth of the command's time:
//! every key and every string of the explanation (some fifty signals a
//! message) is escaped byte by byte. Here the keys are written as they are,
//! and a string goes out in one copy when it has nothing to escape (almost
//! all do); numbers, times and anything that needs escaping are still
//! written by `serde_json`. The result is byte for byte what
//! `serde_json` writes for the id followed by the assessment's own fields
//! (`Output` in the tests, with `#[serde(flatten)]`); the tests hold the
//! two together.

use onrust_model::{Assessment, Place, Signal, TextField};
use serde::Serialize;

/// Appends `{"id": …, <the assessment's fields>}` to `out`, as
/// `serde_json::to_writer(out, &Output { id, assessment })` would.
pub(super) fn write_output(
    out: &mut Vec<u8>,
    id: &serde_json::Value,
    assessment: &Assessment,
) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"id\":");
    serde(out, id)?;
    out.extend_from_slice(b",\"lang\":");
    match &assessment.lang {
        Some(lang) => string(out, lang)?,
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"level\":");
    serde(out, &assessment.level)?;
    out.extend_from_slice(b",\"score\":");
    serde(out, &assessment.score)?;
    out.extend_from_slice(b",\"themes\":");
    strings(out, assessment.themes.iter().map(String::as_str))?;
    out.extend_from_slice(b",\"municipalities\":");
    strings(out, assessment.municipalities.iter().map(|code| code.as_str()))?;
    out.extend_from_slice(b",\"places\":");
    array(out, &assessment.places, write_place)?;
    out.extend_from_slice(b",\"event_time\":");
    serde(out, &assessment.event_time)?;
    out.extend_from_slice(b",\"explanation\":");
    array(out, &assessment.explanation, write_signal)?;
    out.extend_from_slice(b",\"classifier_version\":");
    string(out, &assessment.classifier_version)?;
    out.push(b'}');
    Ok(())
}

/// One signal of the explanation as its `Serialize` writes it.
fn write_signal(out: &mut Vec<u8>, signal: &Signal) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"signal\":");
    string(out, &signal.signal)?;
    out.extend_from_slice(b",\"evidence\":");
    string(out, &signal.evidence)?;
    out.extend_from_slice(b",\"weight\":");
    serde(out, &signal.weight)?;
    out.push(b'}');
    Ok(())
}

/// One place as its `Serialize` writes it: the tier by the name serde
/// renames it to (`PlaceTier::as_str`, held together by a test), the span
/// only when there is one.
fn write_place(out: &mut Vec<u8>, place: &Place) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"name\":");
    string(out, &place.name)?;
    out.extend_from_slice(b",\"tier\":");
    string(out, place.tier.as_str())?;
    out.extend_from_slice(b",\"municipality\":");
    string(out, place.municipality.as_str())?;
    out.extend_from_slice(b",\"municipality_name\":");
    string(out, &place.municipality_name)?;
    if let Some(span) = &place.span {
        out.extend_from_slice(b",\"span\":{\"field\":");
        out.extend_from_slice(match span.field {
            TextField::Title => b"\"title\"",
            TextField::Text => b"\"text\"",
        });
        out.extend_from_slice(b",\"start\":");
        serde(out, &span.start)?;
        out.extend_from_slice(b",\"end\":");
        serde(out, &span.end)?;
        out.push(b'}');
    }
    out.push(b'}');
    Ok(())
}

fn serde(out: &mut Vec<u8>, value: &impl Serialize) -> serde_json::Result<()> {
    serde_json::to_writer(out, value)
}

/// A JSON string: copied between quotes when nothing in it needs escaping
/// (a control character, `"` or `\`, the only bytes `serde_json` escapes).
fn string(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if needs_escaping(s.as_bytes()) {
        return serde(out, &s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Whether any byte is one `serde_json` escapes. Read to the end without
/// stopping at the first find, so the compiler checks many bytes per
/// instruction: the explanation's strings almost never hold one, and a
/// byte-by-byte search with an early exit was a twentieth of the command.
fn needs_escaping(bytes: &[u8]) -> bool {
    let escaped = |found: bool, &b: &u8| found | (b < 0x20) | (b == b'"') | (b == b'\\');
    // Sixteen bytes at a time, each block read whole: one vector compare per check.
    let blocks = bytes.chunks_exact(16);
    let tail = blocks.remainder();
    blocks.fold(false, |found, block| found | block.iter().fold(false, escaped)) || tail.iter().fold(false, escaped)
}

fn strings<'s>(out: &mut Vec<u8>, items: impl Iterator<Item = &'s str>) -> serde_json::Result<()> {
    array(out, items, string)
}

/// A JSON array of `items`, each written by `write_item`.
fn array<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut write_item: impl FnMut(&mut Vec<u8>, T) -> serde_json::Result<()>,
) -> serde_json::Result<()> {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_item(out, item)?;
    }
    out.push(b']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use onrust_model::{Level, MunicipalityCode, Place, PlaceTier, Signal, Span, TextField};
    use proptest::prelude::*;

    use super::*;

    /// The line as serde writes it: the reference.
    #[derive(Serialize)]
    struct Output<'a> {
        id: &'a serde_json::Value,
        #[serde(flatten)]
        assessment: &'a Assessment,
    }

    fn by_serde(id: &serde_json::Value, assessment: &Assessment) -> String {
        serde_json::to_string(&Output { id, assessment }).unwrap_or_else(|e| format!("serde failed: {e}"))
    }

    fn by_hand(id: &serde_json::Value, assessment: &Assessment) -> String {
        let mut out = Vec::new();
        match write_output(&mut out, id, assessment) {
            Ok(()) => String::from_utf8(out).unwrap_or_else(|e| format!("not UTF-8: {e}")),
            Err(e) => format!("failed: {e}"),
        }
    }

    fn place(span: Option<Span>) -> Place {
        Place {
            name: "Kanaleneiland".into(),
            tier: PlaceTier::District,
            municipality: MunicipalityCode::new("GM0344").unwrap_or_else(|e| panic!("{e}")),
            municipality_name: "Utrecht".into(),
            span,
        }
    }

    fn assessment(texts: [&str; 4], weights: [f32; 2], full: bool) -> Assessment {
        let [signal, evidence, theme, version] = texts;
        Assessment {
            lang: full.then(|| "nl".to_owned()),
            level: if full { Level::Escalation } else { Level::None },
            score: weights[0],
            themes: if full { vec![theme.to_owned(), "asiel".into()] } else { Vec::new() },
            municipalities: if full {
                vec![MunicipalityCode::new("GM0344").unwrap_or_else(|e| panic!("{e}"))]
            } else {
                Vec::new()
            },
            places: if full {
                vec![place(Some(Span { field: TextField::Title, start: 3, end: 16 })), place(None)]
            } else {
                Vec::new()
            },
            event_time: full
                .then(|| DateTime::parse_from_rfc3339("2026-12-31T23:30:00+01:00").unwrap_or_else(|e| panic!("{e}"))),
            explanation: vec![
                Signal { signal: signal.into(), evidence: evidence.into(), weight: weights[1] },
                Signal { signal: "clause".into(), evidence: String::new(), weight: 0.0 },
            ],
            classifier_version: version.into(),
        }
    }

    #[test]
    fn a_line_is_what_serde_writes() {
        let texts = [
            ["call_to_violence", "in de fik, 🔥", "jaarwisseling", "0.9.0+abc"],
            ["quote\"d", "back\\slash", "tab\tand\nnewline", "\u{1}\u{1f}\u{7f}"],
            ["", "é ü ß 😀 \u{2028}", "", ""],
        ];
        let ids =
            [serde_json::json!("m-1"), serde_json::json!(17), serde_json::json!(null), serde_json::json!({"a": [1]})];
        let weights = [[0.909, -3.545], [1.0, 0.0], [f32::NAN, f32::INFINITY], [1e-7, -1e20]];
        for (text, (id, weight)) in texts.iter().cycle().zip(ids.iter().zip(weights)) {
            for full in [true, false] {
                let a = assessment(*text, weight, full);
                assert_eq!(by_hand(id, &a), by_serde(id, &a), "{text:?} {weight:?} {full}");
            }
        }
    }

    #[test]
    fn every_tier_field_and_name_of_a_place_is_written_as_serde_writes_it() {
        let spans = [
            Some(Span { field: TextField::Title, start: 0, end: 7 }),
            Some(Span { field: TextField::Text, start: 12_345, end: usize::MAX }),
            None,
        ];
        for tier in PlaceTier::ALL {
            for span in spans {
                for name in ["Kanaleneiland", "De \"Bilt\"\\x", "Bunschoten-Spakenburg é 😀\t"] {
                    let mut a = assessment(["s", "e", "t", "v"], [0.5, 1.0], true);
                    a.places = vec![Place { name: name.into(), tier, span, ..place(None) }, place(span)];
                    let id = serde_json::json!("id");
                    assert_eq!(by_hand(&id, &a), by_serde(&id, &a), "{tier:?} {span:?} {name}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_strings_and_weights_are_written_as_serde_writes_them(
            signal in any::<String>(),
            evidence in "[a-z \"\\\\\u{0}-\u{1f}é😀]{0,80}",
            weight in any::<f32>(),
            score in any::<f32>(),
        ) {
            let a = assessment([&signal, &evidence, &evidence, &signal], [score, weight], true);
            let id = serde_json::json!("id");
            prop_assert_eq!(by_hand(&id, &a), by_serde(&id, &a));
        }

        /// The whole-string check finds what a byte-by-byte search finds,
        /// wherever in a long string the one byte to escape stands.
        #[test]
        fn the_escape_check_finds_what_a_byte_search_finds(
            s in "[a-z é😀]{0,100}[\"\\\\\u{0}-\u{1f}]?[a-z é]{0,100}",
        ) {
            let by_search = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(needs_escaping(s.as_bytes()), by_search);
        }
    }
}
