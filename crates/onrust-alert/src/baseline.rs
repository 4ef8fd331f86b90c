//! The count model behind `burst` rules.
//!
//! # Why this model
//!
//! Counts per municipality × theme × hour are small: 0, 1, 3, sometimes 12.
//! A z-score on such numbers is meaningless (the normal approximation fails
//! and a baseline of 0 gives a zero standard deviation), and a plain Poisson
//! test with the baseline mean as the rate is overconfident: four weeks of
//! history do not pin a rate down. So the rate itself is uncertain, and the
//! model says so.
//!
//! # The formulas
//!
//! The baseline is the count in the same window (same weekday, same hours) in
//! each of the previous `n = baseline_weeks` weeks: `c₁ … cₙ`, `S = Σ cᵢ`.
//!
//! * Counts are Poisson with an unknown rate `λ` per window.
//! * Prior `λ ~ Gamma(a₀ = ½, b₀ = 0)` (shape, rate; the Jeffreys prior), so
//!   the posterior after the baseline is `λ ~ Gamma(a = S + ½, b = n)`.
//! * The posterior predictive of the current window's count `X` is negative
//!   binomial with `r = a` and `p = b / (b + 1)`:
//!   `P(X = k) = Γ(k + r) / (k! Γ(r)) · pʳ · (1 − p)ᵏ`,
//!   with mean `E[X] = r(1 − p)/p = (S + ½)/n` (the *expected* count) and a
//!   variance larger than the mean (the uncertainty of `λ`).
//! * The p-value of an observed count `x` is the upper tail
//!   `P(X ≥ x) = Σ_{k ≥ x} P(X = k)`, computed from the log-gamma function,
//!   as `1 − Σ_{k < x} P(X = k)` near the body and by summing the tail
//!   directly far out, where subtracting from 1 would lose all precision.
//!
//! Example (the unit test): weeks `[2, 3, 1, 2]` give `r = 8.5`, `p = 0.8`,
//! expected 2.125; `P(X ≥ 3) = 0.352` (ordinary), `P(X ≥ 12) = 7.2·10⁻⁵`
//! (a burst).
//!
//! # Seasons
//!
//! Some weeks are not like the weeks before them. Between 24 December and
//! 2 January (Europe/Amsterdam) the [`Season::Jaarwisseling`] applies: the
//! count is compared with the *same dates of previous years* when those are
//! given (the archive may not reach back that far), because comparing New
//! Year's Eve with four ordinary December weeks would fire every year. With
//! `m` years of seasonal counts the same model is used with `n = m`.
//!
//! # Many cells at once
//!
//! One evaluation round tests every municipality × theme cell: 38
//! municipalities × 8 themes is over 300 tests, and at a 5% level some
//! fifteen would fire by chance alone. The p-values of one round are
//! corrected with Benjamini–Hochberg, which bounds the expected share of
//! false alerts among the fired ones (the false-discovery rate) by `alpha`:
//! sort the `m` p-values `p₍₁₎ ≤ … ≤ p₍ₘ₎`, adjust `q₍ᵢ₎ = min_{j ≥ i} m·p₍ⱼ₎/j`
//! (capped at 1), and reject (fire) every cell with `q ≤ alpha`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Messages in one municipality × theme × level cell of a past window, as the
/// archive's `ArchiveReader::counts` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountCell {
    /// CBS code; `None` for messages that name no municipality.
    pub municipality: Option<String>,
    /// Theme id; `None` for messages with no theme.
    pub theme: Option<String>,
    pub level: u8,
    pub messages: u64,
}

/// Past counts for baselines. The daemon implements this over the archive
/// (`ArchiveReader::counts`, counting by `published_at`); tests implement it
/// over a vector.
pub trait BaselineSource {
    /// Counts per municipality × theme × level of messages published in
    /// `[since, until)` with level ≥ `min_level`; `None` when the source does
    /// not cover that period (before the archive began, or deleted by
    /// retention), so an absent week is never read as a quiet one.
    fn counts(&self, since: DateTime<Utc>, until: DateTime<Utc>, min_level: u8) -> Option<Vec<CountCell>>;
}

/// A source that knows no past: bursts cannot be judged (and do not fire).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBaseline;

impl BaselineSource for NoBaseline {
    fn counts(&self, _: DateTime<Utc>, _: DateTime<Utc>, _: u8) -> Option<Vec<CountCell>> {
        None
    }
}

/// A known season with its own reference period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Season {
    /// 24 December – 2 January.
    Jaarwisseling,
}

impl Season {
    /// The season a local (Europe/Amsterdam) date falls in, if any.
    pub fn of(date: NaiveDate) -> Option<Season> {
        match (date.month(), date.day()) {
            (12, d) if d >= 24 => Some(Season::Jaarwisseling),
            (1, d) if d <= 2 => Some(Season::Jaarwisseling),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Season::Jaarwisseling => "jaarwisseling",
        }
    }
}

/// What the observed count was compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Basis {
    /// The same hours of the previous weeks (counts, most recent first).
    Weeks(Vec<u64>),
    /// The same dates of previous years in a season (counts, most recent first).
    Season(Season, Vec<u64>),
}

/// The verdict on one cell before correction for multiple testing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub observed: u64,
    /// The posterior predictive mean `(S + ½)/n`.
    pub expected: f64,
    /// `P(X ≥ observed)` under the baseline.
    pub p_value: f64,
    pub basis: Basis,
}

/// Judges an observed count against its reference: the seasonal counts when
/// in a season and some are given, else the weekly counts. `None` without any
/// reference period.
pub fn judge(observed: u64, weeks: &[u64], season: Option<(Season, &[u64])>) -> Option<Judgement> {
    let basis = match season {
        Some((s, years)) if !years.is_empty() => Basis::Season(s, years.to_vec()),
        _ if !weeks.is_empty() => Basis::Weeks(weeks.to_vec()),
        _ => return None,
    };
    let counts = match &basis {
        Basis::Weeks(c) | Basis::Season(_, c) => c,
    };
    let n = counts.len() as f64;
    let sum: u64 = counts.iter().sum();
    let r = sum as f64 + 0.5;
    let p = n / (n + 1.0);
    Some(Judgement { observed, expected: r / n, p_value: upper_tail(observed, r, p), basis })
}

/// `P(X ≥ x)` for a negative binomial with `r > 0` and success probability `0 < p < 1`
/// (`P(X = k) = Γ(k+r)/(k! Γ(r)) pʳ (1−p)ᵏ`).
pub fn upper_tail(x: u64, r: f64, p: f64) -> f64 {
    if x == 0 {
        return 1.0;
    }
    let q = 1.0 - p;
    let mean = r * q / p;
    if (x as f64) <= mean + 1.0 {
        // Near the body: 1 − the lower sum, by the recurrence P(k+1) = P(k)·(k+r)/(k+1)·q.
        let mut term = (r * p.ln()).exp();
        let mut lower = 0.0;
        for k in 0..x {
            lower += term;
            term *= (k as f64 + r) / (k as f64 + 1.0) * q;
        }
        (1.0 - lower).clamp(0.0, 1.0)
    } else {
        // Far out: sum the tail itself, starting from P(x) via log-gamma.
        let xf = x as f64;
        let mut term = (ln_gamma(xf + r) - ln_gamma(xf + 1.0) - ln_gamma(r) + r * p.ln() + xf * q.ln()).exp();
        let mut sum = 0.0;
        let mut k = xf;
        for _ in 0..1_000_000 {
            sum += term;
            term *= (k + r) / (k + 1.0) * q;
            k += 1.0;
            if term <= sum * 1e-17 {
                break;
            }
        }
        sum.clamp(0.0, 1.0)
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; relative error below 1e-13).
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return pi.ln() - (pi * x).sin().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let mut a = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Benjamini–Hochberg adjusted p-values (`q`), in the order given. A cell
/// fires at false-discovery rate `alpha` when its `q ≤ alpha`.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![1.0; m];
    let mut running = 1.0_f64;
    for rank in (0..m).rev() {
        let i = order[rank];
        let q = (p_values[i] * m as f64 / (rank + 1) as f64).min(1.0);
        running = running.min(q);
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!(ln_gamma(1.0).abs() < 1e-12 && ln_gamma(2.0).abs() < 1e-12);
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-12));
        assert!(close(ln_gamma(101.0), 363.739_375_555_563_5, 1e-12));
    }

    #[test]
    fn twelve_against_a_quiet_baseline_is_a_burst_and_three_is_not() {
        // Hand-checked: r = 8.5, p = 0.8, P(X ≥ 3) = 0.35249, P(X ≥ 12) = 7.1835e-5.
        let weeks = [2, 3, 1, 2];
        let j = judge(12, &weeks, None).unwrap();
        assert!(close(j.expected, 2.125, 1e-12));
        assert!(close(j.p_value, 7.183_518e-5, 1e-5), "{}", j.p_value);
        assert!(j.p_value < 0.001);
        let j = judge(3, &weeks, None).unwrap();
        assert!(close(j.p_value, 0.352_491_18, 1e-6), "{}", j.p_value);
        assert!(judge(0, &weeks, None).unwrap().p_value == 1.0);
        assert!(close(judge(8, &weeks, None).unwrap().p_value, 0.005_491_356, 1e-6));
    }

    #[test]
    fn both_tail_methods_agree_where_they_meet() {
        // x just above mean + 1 uses the direct tail; compare with the lower-sum method by hand.
        let (r, p) = (8.5, 0.8);
        let direct = upper_tail(5, r, p);
        let mut term = (r * f64::ln(p)).exp();
        let mut lower = 0.0;
        for k in 0..5u32 {
            lower += term;
            term *= (f64::from(k) + r) / (f64::from(k) + 1.0) * (1.0 - p);
        }
        assert!(close(direct, 1.0 - lower, 1e-10));
        assert!(close(direct, 0.085_303_753_7, 1e-8));
    }

    #[test]
    fn an_empty_baseline_still_judges_small_counts_sensibly() {
        // Four silent weeks: r = 0.5, p = 0.8; P(X ≥ 3) = 0.0027, P(X ≥ 1) is far from significant.
        let j = judge(3, &[0, 0, 0, 0], None).unwrap();
        assert!(close(j.p_value, 0.002_713_682, 1e-6), "{}", j.p_value);
        assert!(judge(1, &[0, 0, 0, 0], None).unwrap().p_value > 0.05);
        assert!(judge(5, &[], None).is_none());
    }

    #[test]
    fn the_season_replaces_ordinary_weeks_when_given() {
        // New Year's Eve: 12 messages is a burst against quiet December weeks,
        // ordinary against the same night of the three previous years.
        let weeks = [2, 3, 1, 2];
        let years = [10, 14, 11];
        let j = judge(12, &weeks, Some((Season::Jaarwisseling, &years))).unwrap();
        assert_eq!(j.basis, Basis::Season(Season::Jaarwisseling, years.to_vec()));
        assert!(close(j.p_value, 0.505_458_7, 1e-5), "{}", j.p_value);
        let j = judge(30, &weeks, Some((Season::Jaarwisseling, &years))).unwrap();
        assert!(j.p_value < 0.001);
        // No seasonal data: back to the weeks.
        assert!(matches!(judge(12, &weeks, Some((Season::Jaarwisseling, &[]))).unwrap().basis, Basis::Weeks(_)));
    }

    #[test]
    fn season_dates() {
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(Season::of(d(12, 23)), None);
        assert_eq!(Season::of(d(12, 24)), Some(Season::Jaarwisseling));
        assert_eq!(Season::of(d(1, 2)), Some(Season::Jaarwisseling));
        assert_eq!(Season::of(d(1, 3)), None);
    }

    #[test]
    fn benjamini_hochberg_known_example() {
        // Sorted 0.005, 0.01, 0.03, 0.04 (m = 4): m·p/rank = 0.02, 0.02, 0.04, 0.04.
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (a, b) in q.iter().zip(want) {
            assert!(close(*a, b, 1e-12), "{q:?}");
        }
        // The classic step-up: 0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205 (m = 8):
        // at alpha 0.05 only the first two survive (0.039·8/3 = 0.104 > 0.05).
        let p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205];
        let q = benjamini_hochberg(&p);
        let fired: Vec<bool> = q.iter().map(|q| *q <= 0.05).collect();
        assert_eq!(fired, [true, true, false, false, false, false, false, false]);
        assert!(close(q[0], 0.008, 1e-12) && close(q[1], 0.032, 1e-12));
        // Monotone, capped at 1.
        assert!(benjamini_hochberg(&[0.9, 0.99]).iter().all(|q| *q <= 1.0));
        assert!(benjamini_hochberg(&[]).is_empty());
    }
}
