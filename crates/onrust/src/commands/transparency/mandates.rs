//! The documents' section on mandates (rules L5, L12): every configured
//! mandate with its purpose, legal basis, the office that decided it, its
//! DPIA, its dates and scope, and the sources and rules that run under it.

use std::fmt::Write;

use crate::commands::markdown_cell as cell;
use crate::config::Config;
use crate::config::mandates::{Mandate, MandatePeriod, amsterdam_date};

/// One mandate as the documents describe it.
#[derive(Debug)]
pub struct MandateFact {
    pub id: String,
    pub purpose: String,
    pub legal_basis: String,
    pub decided_by: String,
    pub dpia: String,
    /// "1 januari 2027 tot en met 30 juni 2027", or the trial's days.
    pub period: String,
    pub trial: bool,
    pub municipalities: String,
    pub themes: String,
    pub source_kinds: String,
    pub sources: Vec<String>,
    pub rules: Vec<String>,
}

/// The mandates of `config`, with what runs under each.
pub fn gather(config: &Config) -> Vec<MandateFact> {
    let today = amsterdam_date(chrono::Utc::now());
    config.mandates.iter().map(|m| fact(config, m, today)).collect()
}

fn fact(config: &Config, m: &Mandate, today: chrono::NaiveDate) -> MandateFact {
    let all =
        |items: Vec<String>, everything: &str| if items.is_empty() { everything.to_owned() } else { items.join(", ") };
    let (start, end) = m.window(config.trial_started, today);
    let period = match m.period {
        MandatePeriod::Dated { .. } => format!("{} tot en met {}", start.format("%d-%m-%Y"), end.format("%d-%m-%Y")),
        MandatePeriod::Trial { days } => format!(
            "proef van {days} dagen: {} tot en met {}{}",
            start.format("%d-%m-%Y"),
            end.format("%d-%m-%Y"),
            if config.trial_started.is_none() { " (vanaf de eerste dag dat onrust draait)" } else { "" }
        ),
    };
    MandateFact {
        id: m.id.clone(),
        purpose: m.purpose.clone(),
        legal_basis: m.legal_basis.clone(),
        decided_by: m.decided_by.clone(),
        dpia: m.dpia.clone(),
        period,
        trial: m.is_trial(),
        municipalities: all(m.municipalities.clone(), "alle gemeenten van de regio"),
        themes: all(m.themes.clone(), "alle thema's"),
        source_kinds: all(m.source_kinds.iter().map(|k| k.name().to_owned()).collect(), "alle soorten"),
        sources: config.sources.iter().filter(|s| s.mandate.as_deref() == Some(&m.id)).map(|s| s.id.clone()).collect(),
        rules: config.rules.iter().filter(|r| r.mandate == m.id).map(|r| r.name.clone()).collect(),
    }
}

/// The section: one table per mandate, or, without any, what must be recorded.
pub fn section(out: &mut String, mandates: &[MandateFact]) {
    if mandates.is_empty() {
        let _ = writeln!(
            out,
            "**In te vullen**: er is geen mandaat vastgelegd. Zonder mandaat draait onrust geen bron en geen regel \
             (regel L5)."
        );
        return;
    }
    let _ = writeln!(
        out,
        "onrust kijkt alleen mee onder een vastgelegd mandaat (regel L5): elke bron en elke regel noemt het mandaat \
         waaronder ze draaien, en draaien alleen tussen de begin- en einddatum ervan. onrust controleert dat zelf; \
         na de einddatum stoppen de bronnen en regels van het mandaat.\n"
    );
    for m in mandates {
        let _ = writeln!(out, "#### Mandaat `{}`{}\n", m.id, if m.trial { " (proef)" } else { "" });
        out.push_str("| Veld | Inhoud |\n|---|---|\n");
        let rows = [
            ("Doel", m.purpose.clone()),
            ("Wettelijke grondslag", m.legal_basis.clone()),
            ("Besloten door", m.decided_by.clone()),
            ("DPIA", m.dpia.clone()),
            ("Geldig", m.period.clone()),
            ("Gemeenten", m.municipalities.clone()),
            ("Thema's", m.themes.clone()),
            ("Soorten bronnen", m.source_kinds.clone()),
            ("Bronnen", if m.sources.is_empty() { "geen".to_owned() } else { m.sources.join(", ") }),
            ("Regels", if m.rules.is_empty() { "geen".to_owned() } else { m.rules.join(", ") }),
        ];
        for (field, value) in rows {
            let _ = writeln!(out, "| {field} | {} |", cell(&value));
        }
        if m.trial {
            out.push_str(
                "\nDit is een proefmandaat: het geldt hoogstens 30 dagen, alleen voor openbaar nieuws en \
                 publicaties van de overheid, en de regels melden aan niemand (signalen staan alleen in de \
                 console en de API). Daarna weigert onrust deze bronnen tot er een echt mandaat is vastgelegd.\n",
            );
        }
        out.push('\n');
    }
}
