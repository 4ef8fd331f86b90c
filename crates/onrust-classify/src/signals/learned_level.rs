//! The learned layer's say over the rules' level, and its explanation.
//!
//! The layer adds, per head, the weights of the features a message has
//! (see `features`) and raises the rules' level when a head's probability
//! reaches its threshold. It never lowers a level (rule L11).
//!
//! Speed: the layer runs on every message and explains one in three or so
//! of the bench's, so the explanation is built from the weights found while
//! summing, and only the listed contributions get names and numbers as
//! text. Naming every feature of a message (a `String` each) before sorting
//! cost about a tenth of classifying it.

use std::cmp::Ordering;
use std::fmt::Write as _;

use onrust_model::{Level, Signal};

use super::features::Features;
use super::{Assessed, Context, Escalation, event_time, round3};
use crate::learned::{ESCALATION, MOBILISATION, sigmoid};
use crate::time::TimeMention;

/// How many of the learned layer's contributions an explanation lists one by one, per head.
const LISTED_CONTRIBUTIONS: usize = 8;

/// The two heads as the explanation names them.
const HEADS: [(usize, &str); 2] = [(ESCALATION, "escalation"), (MOBILISATION, "mobilisation")];

/// One feature of the message that the model has weights for.
#[derive(Clone, Copy)]
struct Weighted<'f> {
    /// The feature's name in two parts: `("rule", "threat")`, `("word", "kapot")`.
    prefix: &'f str,
    name: &'f str,
    value: f32,
    weights: [f32; 2],
}

impl Weighted<'_> {
    fn contribution(&self, head: usize) -> f32 {
        self.value * self.weights[head]
    }

    /// Orders by the name `prefix:name` without writing it out.
    fn cmp_name(&self, other: &Self) -> Ordering {
        let name = |w: &Self| w.prefix.bytes().chain(*b":").chain(w.name.bytes());
        name(self).cmp(name(other))
    }
}

impl Escalation {
    /// The learned layer's level: level 3 when the escalation head says so,
    /// else 2 when the mobilisation head does, and never below the rules'
    /// level. The contributions are listed when the layer reaches level 2 or
    /// changes the rules' level.
    /// A threat the writer only quotes (`mentioned`) it never makes level 3.
    pub(super) fn learned_level(
        &self,
        cx: &Context<'_>,
        mut rule: Assessed,
        found: &Features<'_>,
        mentioned: bool,
    ) -> Assessed {
        let learned = &self.learned;
        let mut z = [f64::from(learned.heads[ESCALATION].bias), f64::from(learned.heads[MOBILISATION].bias)];
        let mut weighted: Vec<Weighted<'_>> = Vec::with_capacity(found.named.len() + found.words.len());
        let mut add = |prefix: &'static str, name, value: f32, weights: Option<&[f32; 2]>| {
            if let Some(&weights) = weights {
                z[ESCALATION] += f64::from(weights[ESCALATION] * value);
                z[MOBILISATION] += f64::from(weights[MOBILISATION] * value);
                weighted.push(Weighted { prefix, name, value, weights });
            }
        };
        let mut key = String::with_capacity(64);
        for &(prefix, name, value) in &found.named {
            key.clear();
            key.push_str(prefix);
            key.push(':');
            key.push_str(name);
            add(prefix, name, value, learned.named_weights(&key));
        }
        // Words are most of the features: looked up without building a key.
        for word in &found.words {
            add("word", word, 1.0, learned.word_weights(word));
        }
        let p = [sigmoid(z[ESCALATION]), sigmoid(z[MOBILISATION])];
        let says = |head: usize| {
            let h = &learned.heads[head];
            p[head] >= f64::from(if rule.level == Level::None { h.threshold_at_level_0 } else { h.threshold })
        };
        // The layer raises and never lowers: it finds what the rules' words
        // missed. It leaves alone what the rules read as a joke (irony
        // marks); it makes mobilisation only of a message the rules find about
        // unrest, and escalation of one they find nothing in only from a
        // higher threshold ("Morgen zware storm!! 🔥" is weather).
        let joke = found.named.iter().any(|(prefix, name, _)| {
            matches!((*prefix, *name), ("rule", "irony") | ("context", "irony_marks") | ("group", "irony"))
        });
        let level = if joke {
            rule.level
        } else if says(ESCALATION) && !mentioned {
            Level::Escalation
        } else if says(MOBILISATION) && rule.level >= Level::Discussion {
            Level::Mobilisation.max(rule.level)
        } else {
            rule.level
        };
        if level == rule.level && level < Level::Mobilisation {
            return rule;
        }
        for (head, name) in HEADS {
            explain_head(&mut rule.explanation, head, name, p[head], z[head], learned, &weighted);
        }
        if level != rule.level {
            rule.score = round3(match level {
                Level::Escalation => p[ESCALATION] as f32,
                Level::Mobilisation => p[MOBILISATION] as f32,
                _ => rule.score.min(self.levels.mobilisation),
            });
        }
        if level >= Level::Mobilisation && rule.event_time.is_none() {
            let future: Vec<&TimeMention> = cx.times.iter().filter(|t| !t.past).collect();
            if let Some((at, evidence)) = event_time(&future) {
                rule.explanation.push(Signal { signal: "event_time".into(), evidence, weight: 0.0 });
                rule.event_time = Some(at);
            }
        }
        if level < Level::Mobilisation {
            rule.event_time = None;
            rule.explanation.retain(|s| s.signal != "event_time");
        }
        rule.disorder |= level == Level::Escalation;
        rule.level = level;
        rule
    }
}

/// One head's part of the explanation: its probability, the bias, the
/// largest contributions one by one and the rest as one sum. Listing every
/// word of a long message buried what decided.
fn explain_head(
    explanation: &mut Vec<Signal>,
    head: usize,
    head_name: &str,
    probability: f64,
    z: f64,
    learned: &crate::learned::Learned,
    weighted: &[Weighted<'_>],
) {
    // Names and numbers are pushed into buffers: `format!` was a tenth of
    // the explanation's cost.
    let name = |suffix: &str| crate::concat(["learned:", head_name, suffix]);
    let mut evidence = String::with_capacity(32);
    evidence.push_str("p = ");
    push_three_decimals(&mut evidence, probability);
    evidence.push_str(", threshold ");
    // The threshold as `{}` writes it (shortest form); it is one number per head.
    let _ = write!(evidence, "{}", learned.heads[head].threshold);
    explanation.push(Signal { signal: name(""), evidence, weight: round3(z as f32) });
    explanation.push(Signal {
        signal: name(":bias"),
        evidence: "1 × bias".into(),
        weight: round3(learned.heads[head].bias),
    });
    // Largest contribution first; equal ones by name, so the list is the same
    // on every run. Only the listed ones are put in order: the rest is a sum.
    let order = |a: &&Weighted<'_>, b: &&Weighted<'_>| {
        b.contribution(head).abs().total_cmp(&a.contribution(head).abs()).then_with(|| a.cmp_name(b))
    };
    let mut contributing: Vec<&Weighted<'_>> = weighted.iter().filter(|w| w.weights[head] != 0.0).collect();
    let listed = contributing.len().min(LISTED_CONTRIBUTIONS);
    if listed > 0 && listed < contributing.len() {
        contributing.select_nth_unstable_by(listed - 1, order);
    }
    let (top, rest) = contributing.split_at_mut(listed);
    top.sort_by(order);
    for feature in top.iter() {
        let signal = crate::concat(["learned:", head_name, ":", feature.prefix, ":", feature.name]);
        let mut evidence = String::with_capacity(24);
        push_four_decimals(&mut evidence, feature.value);
        evidence.push_str(" × ");
        push_four_decimals(&mut evidence, feature.weights[head]);
        explanation.push(Signal { signal, evidence, weight: round3(feature.contribution(head)) });
    }
    if !rest.is_empty() {
        // Summed in f64, so the order the selection left them in does not show.
        let sum: f64 = rest.iter().map(|w| f64::from(w.contribution(head))).sum();
        let mut evidence = String::with_capacity(40);
        let _ = write!(evidence, "{}", rest.len());
        evidence.push_str(" smaller features × their weights");
        explanation.push(Signal { signal: name(":others"), evidence, weight: round3(sum as f32) });
    }
}

/// Appends a probability with three decimals, as `{:.3}` writes it: by
/// hand where the rounding is plain, through `{:.3}` itself where the value
/// lies within a hair of a tie (its exact rounding decides there) or
/// outside 0..=1.
fn push_three_decimals(out: &mut String, probability: f64) {
    let scaled = probability * 1000.0;
    let near_tie = (scaled - scaled.floor() - 0.5).abs() < 1e-6;
    if !(0.0..=1.0).contains(&probability) || near_tie {
        let _ = write!(out, "{probability:.3}");
        return;
    }
    let thousandths = scaled.round() as u32;
    let digits = [
        b'0' + (thousandths / 1000) as u8,
        b'.',
        b'0' + (thousandths / 100 % 10) as u8,
        b'0' + (thousandths / 10 % 10) as u8,
        b'0' + (thousandths % 10) as u8,
    ];
    // Only ASCII digits and '.' were written, so this always holds.
    if let Ok(written) = std::str::from_utf8(&digits) {
        out.push_str(written);
    }
}

/// Appends `value` with at most four decimals and no trailing zeros
/// ("1.8", "-0.0406", "1"), as the weights file writes them. Digits by
/// hand into one buffer, appended at once: the shortest-float formatting
/// of `{}` was a tenth of classifying a message the learned layer explains,
/// and pushing the digits one `char` at a time a twentieth.
fn push_four_decimals(out: &mut String, value: f32) {
    let scaled = (f64::from(value) * 10_000.0).round();
    if !scaled.is_finite() || scaled.abs() >= 1e15 {
        out.push_str(&value.to_string());
        return;
    }
    let scaled = scaled as i64;
    // Written from the back: at most 15 digits, a point and a sign.
    let mut buffer = [0u8; 24];
    let mut at = buffer.len();
    let mut rest = scaled.unsigned_abs();
    let mut put = |digit: u8| {
        at -= 1;
        buffer[at] = digit;
    };
    let mut fraction = rest % 10_000;
    rest /= 10_000;
    if fraction > 0 {
        let mut places = 4;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            places -= 1;
        }
        for _ in 0..places {
            put(b'0' + (fraction % 10) as u8);
            fraction /= 10;
        }
        put(b'.');
    }
    loop {
        put(b'0' + (rest % 10) as u8);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if scaled < 0 {
        put(b'-');
    }
    // Only ASCII digits, '.' and '-' were written, so this always holds.
    if let Ok(written) = std::str::from_utf8(&buffer[at..]) {
        out.push_str(written);
    }
}

#[cfg(test)]
mod tests {
    use super::{push_four_decimals, push_three_decimals};

    fn three_decimals(probability: f64) -> String {
        let mut out = String::new();
        push_three_decimals(&mut out, probability);
        out
    }

    #[test]
    fn three_decimals_write_probabilities_as_the_format_does_at_ties_and_edges() {
        // Exact ties (0.0625 is "0.062": ties go to the even digit), the ends, outside.
        for probability in [0.0, 1.0, 0.0625, 0.1875, 0.5, 0.9995, 0.0005, 0.999_999, -0.25, 1.5, f64::NAN] {
            assert_eq!(three_decimals(probability), format!("{probability:.3}"), "{probability}");
        }
    }

    fn four_decimals(value: f32) -> String {
        let mut out = String::new();
        push_four_decimals(&mut out, value);
        out
    }

    #[test]
    fn four_decimals_writes_weights_as_the_weights_file_does() {
        let cases = [
            (1.8, "1.8"),
            (-0.0406, "-0.0406"),
            (1.0, "1"),
            (0.0, "0"),
            (0.8, "0.8"),
            (-2.915, "-2.915"),
            (12.5, "12.5"),
            (0.0001, "0.0001"),
            (-0.5, "-0.5"),
            (3.0102, "3.0102"),
            (0.05, "0.05"),
            (1234.5, "1234.5"),
            (-10.0, "-10"),
        ];
        for (value, written) in cases {
            assert_eq!(four_decimals(value), written, "{value}");
        }
        assert_eq!(four_decimals(0.00004), "0", "below the fourth decimal rounds away");
        assert_eq!(four_decimals(-0.00004), "0", "no minus sign on what rounds to zero");
        assert_eq!(four_decimals(f32::NAN), "NaN");
    }

    /// The same digits as the plain way of writing them: the whole part,
    /// a point and four decimals, with the trailing zeros taken off.
    fn written_plainly(value: f32) -> String {
        let scaled = (f64::from(value) * 10_000.0).round() as i64;
        let sign = if scaled < 0 { "-" } else { "" };
        let plain = format!("{sign}{}.{:04}", scaled.unsigned_abs() / 10_000, scaled.unsigned_abs() % 10_000);
        plain.trim_end_matches('0').trim_end_matches('.').to_owned()
    }

    proptest::proptest! {
        #[test]
        fn three_decimals_are_what_the_format_writes(probability in 0.0f64..=1.0) {
            proptest::prop_assert_eq!(three_decimals(probability), format!("{probability:.3}"));
        }

        #[test]
        fn three_decimals_of_thousandths_and_their_neighbours_are_what_the_format_writes(thousandths in 0u32..=2000, nudge in -2i64..=2) {
            let probability = f64::from(thousandths) / 2000.0 + nudge as f64 * f64::EPSILON;
            proptest::prop_assert_eq!(three_decimals(probability), format!("{probability:.3}"));
        }

        #[test]
        fn four_decimals_are_the_plainly_written_digits(value in -1.0e9f32..1.0e9f32) {
            proptest::prop_assert_eq!(four_decimals(value), written_plainly(value));
        }

        #[test]
        fn four_decimals_of_small_weights_are_the_plainly_written_digits(value in -20.0f32..20.0f32) {
            proptest::prop_assert_eq!(four_decimals(value), written_plainly(value));
        }
    }
}
