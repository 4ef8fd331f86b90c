//! Coverage on the pages: which sources cover a municipality and whether each
//! is delivering (rule R10: silence is never read as calm). The daemon knows
//! its sources' health; the console sees it through [`CoverageView`], which a
//! process without sources (the `web` role on Kafka) does not have.

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use onrust_model::MunicipalityCode;

use super::html::time;

/// One source that covers a municipality, as the daemon last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCoverage {
    /// The source's id from the configuration.
    pub source: String,
    /// Delivering: up, succeeded recently, no sign of missed messages recently.
    pub delivering: bool,
    /// Whether its last poll succeeded.
    pub up: bool,
    pub last_success: Option<DateTime<Utc>>,
    /// When it last showed it may have missed messages.
    pub last_gap: Option<DateTime<Utc>>,
}

/// The sources covering each municipality, and how each is doing.
pub trait CoverageView: Send + Sync {
    /// Every enabled source that covers `municipality`.
    fn sources(&self, municipality: &MunicipalityCode) -> Vec<SourceCoverage>;
}

/// `3 van 4 bronnen leveren`, or that no source covers it.
pub(crate) fn summary(sources: &[SourceCoverage]) -> String {
    let delivering = sources.iter().filter(|s| s.delivering).count();
    match (sources.len(), delivering) {
        (0, _) => "geen bron volgt deze gemeente".to_owned(),
        (1, 1) => "de enige bron levert".to_owned(),
        (1, _) => "de enige bron levert niet".to_owned(),
        (n, d) if d == n => format!("alle {n} bronnen leveren"),
        (n, 1) => format!("1 van {n} bronnen levert"),
        (n, d) => format!("{d} van {n} bronnen leveren"),
    }
}

/// `text` with a capital, to open a sentence.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The tile's line: the summary, marked when not every source delivers.
pub(crate) fn tile_line(view: Option<&dyn CoverageView>, code: &MunicipalityCode) -> Markup {
    let Some(view) = view else { return html! { "niet bekend in dit proces" } };
    let sources = view.sources(code);
    let complete = !sources.is_empty() && sources.iter().all(|s| s.delivering);
    html! {
        @if complete { (summary(&sources)) } @else { strong class="gap" { (summary(&sources)) } }
    }
}

/// The table of sources on a municipality's page.
pub(crate) fn table(view: Option<&dyn CoverageView>, code: &MunicipalityCode) -> Markup {
    let Some(view) = view else {
        return html! { p class="notice" { "Dit proces haalt zelf geen bronnen op, dus de dekking is hier niet bekend." } };
    };
    let sources = view.sources(code);
    html! {
        p { (sentence(&summary(&sources))) "." @if sources.iter().any(|s| !s.delivering) { " Stilte is geen rust: wat een bron niet levert, ontbreekt hier." } }
        @if !sources.is_empty() {
            table {
                caption class="skip" { "Dekking per bron" }
                thead { tr { th scope="col" { "Bron" } th scope="col" { "Levert" } th scope="col" { "Laatste geslaagde ophaalbeurt" } th scope="col" { "Laatste gat" } } }
                tbody {
                    @for s in &sources {
                        tr {
                            th scope="row" { (s.source) }
                            td {
                                @if s.delivering { "ja" }
                                @else if !s.up { strong class="gap" { "nee: ophalen mislukt" } }
                                @else if s.last_success.is_none() { strong class="gap" { "nee: nog niets opgehaald" } }
                                @else { strong class="gap" { "nee: te lang stil of berichten gemist" } }
                            }
                            td { @match s.last_success { Some(at) => (time(at)), None => "–" } }
                            td { @match s.last_gap { Some(at) => (time(at)), None => "–" } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(delivering: bool) -> SourceCoverage {
        SourceCoverage { source: "s".into(), delivering, up: delivering, last_success: None, last_gap: None }
    }

    #[test]
    fn the_summary_counts_in_dutch() {
        assert_eq!(summary(&[]), "geen bron volgt deze gemeente");
        assert_eq!(summary(&[source(true)]), "de enige bron levert");
        assert_eq!(summary(&[source(false)]), "de enige bron levert niet");
        assert_eq!(summary(&[source(true), source(true)]), "alle 2 bronnen leveren");
        assert_eq!(summary(&[source(true), source(false), source(false)]), "1 van 3 bronnen levert");
        assert_eq!(summary(&[source(true), source(true), source(false)]), "2 van 3 bronnen leveren");
        assert_eq!(sentence("de enige bron levert"), "De enige bron levert");
    }
}
