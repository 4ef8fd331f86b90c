//! Messages per level per day as a stacked bar chart: server-rendered SVG, no
//! script, with a title and a description for screen readers and the same
//! numbers as a table beside it (WCAG 1.1.1: the table is the text
//! alternative; 1.4.1: the levels differ in more than colour, they are
//! stacked in one order and named in the legend and the table).

use chrono::{Datelike, NaiveDate, TimeDelta};
use maud::{Markup, html};
use onrust_archive::FacetCount;

use super::html::{counted, level_name};

/// One day's messages at levels 1, 2 and 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DayLevels {
    pub date: NaiveDate,
    pub counts: [u64; 3],
}

impl DayLevels {
    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The `days` local days up to and including `today`, each with its
/// messages per level, from the day facets of three searches: at least
/// level 1, at least 2, at least 3.
pub(crate) fn from_facets(today: NaiveDate, days: u32, at_least: [&[FacetCount]; 3]) -> Vec<DayLevels> {
    let count = |facets: &[FacetCount], date: NaiveDate| {
        let label = date.format("%Y-%m-%d").to_string();
        facets.iter().find(|f| f.value == label).map_or(0, |f| f.count)
    };
    (0..days)
        .rev()
        .filter_map(|back| today.checked_sub_signed(TimeDelta::days(i64::from(back))))
        .map(|date| {
            let [one, two, three] = at_least.map(|facets| count(facets, date));
            DayLevels { date, counts: [one.saturating_sub(two), two.saturating_sub(three), three] }
        })
        .collect()
}

const WEEKDAYS: [&str; 7] = ["ma", "di", "wo", "do", "vr", "za", "zo"];
const MONTHS: [&str; 12] = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"];

/// `ma 30 nov`.
pub(crate) fn short_day(date: NaiveDate) -> String {
    let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    let month = MONTHS[date.month0() as usize];
    format!("{weekday} {} {month}", date.day())
}

/// Chart geometry, in the SVG's own units.
const WIDTH: u64 = 640;
const PLOT_TOP: u64 = 24;
const PLOT_HEIGHT: u64 = 150;
const LEFT: u64 = 40;

/// The chart and its table. `id` keeps the title and description ids unique on the page.
pub(crate) fn chart(id: &str, heading: &str, days: &[DayLevels]) -> Markup {
    let max = days.iter().map(DayLevels::total).max().unwrap_or(0);
    let scale = nice_ceiling(max);
    let slot = if days.is_empty() { 0 } else { (WIDTH - LEFT) / days.len() as u64 };
    let bar = slot * 3 / 5;
    let total: u64 = days.iter().map(DayLevels::total).sum();
    let per_level: [u64; 3] = [0, 1, 2].map(|i| days.iter().map(|d| d.counts[i]).sum());
    let busiest = days.iter().max_by_key(|d| (d.total(), d.date));
    let description = match busiest {
        Some(day) if total > 0 => format!(
            "{} op niveau 1 en hoger in {}: {} op niveau 1, {} op niveau 2, {} op niveau 3. \
             De drukste dag was {} met {}.",
            counted(total, "bericht", "berichten"),
            counted(days.len() as u64, "dag", "dagen"),
            per_level[0],
            per_level[1],
            per_level[2],
            short_day(day.date),
            day.total()
        ),
        _ => format!("Geen berichten op niveau 1 en hoger in {}.", counted(days.len() as u64, "dag", "dagen")),
    };
    let title_id = format!("{id}-titel");
    let desc_id = format!("{id}-beschrijving");
    let y = |value: u64| PLOT_TOP + PLOT_HEIGHT - value.min(scale) * PLOT_HEIGHT / scale.max(1);
    let bars: Vec<Bar<'_>> = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let x = LEFT + i as u64 * slot + (slot - bar) / 2;
            let mut base = 0;
            let mut segments = Vec::new();
            for (level, &count) in day.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                let top = y(base + count);
                segments.push(Segment { level, top, height: (y(base) - top).max(1), count });
                base += count;
            }
            Bar { x, day, segments }
        })
        .collect();
    html! {
        figure class="levels" {
            svg class="chart" viewBox={ "0 0 " (WIDTH) " 226" } role="img" aria-labelledby={ (title_id) " " (desc_id) } {
                title id=(title_id) { (heading) }
                desc id=(desc_id) { (description) }
                @for tick in [0, scale / 2, scale] {
                    line class="grid" x1=(LEFT) x2=(WIDTH) y1=(y(tick)) y2=(y(tick)) {}
                    text class="axis" x=(LEFT - 6) y=(y(tick) + 4) text-anchor="end" { (tick) }
                }
                @for b in &bars {
                    @for s in &b.segments {
                        rect class={ "lvl" (s.level + 1) } x=(b.x) y=(s.top) width=(bar) height=(s.height) {
                            title { (short_day(b.day.date)) ": " (s.count) " op niveau " (s.level + 1) " (" (level_name(s.level as u8 + 1)) ")" }
                        }
                    }
                    text class="axis" x=(b.x + bar / 2) y=(PLOT_TOP + PLOT_HEIGHT + 16) text-anchor="middle" { (short_day(b.day.date)) }
                }
                @for level in 0..3u64 {
                    rect class={ "lvl" (level + 1) } x=(LEFT + level * 150) y="206" width="12" height="12" {}
                    text class="axis" x=(LEFT + level * 150 + 18) y="216" { "niveau " (level + 1) " – " (level_name(level as u8 + 1)) }
                }
            }
            figcaption { (description) }
        }
        details class="as-table" {
            summary { "Dezelfde cijfers als tabel" }
            table {
                caption { (heading) }
                thead { tr {
                    th scope="col" { "Dag" }
                    @for level in 1..=3u8 { th scope="col" { "Niveau " (level) " (" (level_name(level)) ")" } }
                    th scope="col" { "Samen" }
                } }
                tbody {
                    @for day in days {
                        tr {
                            th scope="row" { (short_day(day.date)) }
                            @for count in day.counts { td { (count) } }
                            td { (day.total()) }
                        }
                    }
                }
            }
        }
    }
}

/// One day's bar: where it stands and its levels stacked from level 1 up.
struct Bar<'d> {
    x: u64,
    day: &'d DayLevels,
    segments: Vec<Segment>,
}

/// One level's part of a bar (`level` 0 is level 1).
struct Segment {
    level: usize,
    top: u64,
    height: u64,
    count: u64,
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `n` (at least 2, so the middle tick is whole).
fn nice_ceiling(n: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let candidate = m * step;
            if candidate >= n.max(2) {
                return candidate;
            }
        }
        step = step.saturating_mul(10);
        if step == u64::MAX {
            return u64::MAX;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facet(day: &str, count: u64) -> FacetCount {
        FacetCount { value: day.into(), count }
    }

    #[test]
    fn levels_per_day_come_from_the_at_least_facets() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let one = [facet("2026-12-31", 10), facet("2026-12-29", 4), facet("2026-12-01", 99)];
        let two = [facet("2026-12-31", 3)];
        let three = [facet("2026-12-31", 1)];
        let days = from_facets(today, 7, [&one, &two, &three]);
        assert_eq!(days.len(), 7);
        assert_eq!(days[0].date, NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(), "oldest first");
        assert_eq!(days[6].counts, [7, 2, 1]);
        assert_eq!(days[4].counts, [4, 0, 0]);
        assert_eq!(days.iter().map(DayLevels::total).sum::<u64>(), 14, "days outside the week are left out");
    }

    #[test]
    fn the_chart_has_a_title_a_description_a_bar_per_level_and_a_table() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let days = vec![
            DayLevels { date: today - TimeDelta::days(1), counts: [2, 0, 0] },
            DayLevels { date: today, counts: [5, 3, 1] },
        ];
        let svg = chart("niveaus", "Berichten per niveau per dag", &days).into_string();
        assert!(svg.contains("aria-labelledby=\"niveaus-titel niveaus-beschrijving\""), "{svg}");
        assert!(svg.contains("<title id=\"niveaus-titel\">Berichten per niveau per dag</title>"));
        assert!(
            svg.contains("11 berichten op niveau 1 en hoger in 2 dagen: 7 op niveau 1, 3 op niveau 2, 1 op niveau 3")
        );
        assert!(svg.contains("De drukste dag was ma 30 nov met 9."), "{svg}");
        assert_eq!(svg.matches("<rect class=\"lvl").count(), 4 + 3, "four bars and three legend keys");
        assert!(svg.contains("<th scope=\"row\">ma 30 nov</th><td>5</td><td>3</td><td>1</td><td>9</td>"), "{svg}");
        assert!(!svg.contains("<script"));
        let empty = chart("x", "Leeg", &[]).into_string();
        assert!(empty.contains("Geen berichten op niveau 1 en hoger in 0 dagen."));
    }

    #[test]
    fn the_scale_is_round() {
        assert_eq!([0, 1, 2, 3, 7, 10, 11, 49, 51, 999].map(nice_ceiling), [2, 2, 2, 5, 10, 10, 20, 50, 100, 1000]);
    }
}
