//! The three documents, each built from the same sections so that every one
//! names every source, theme, rule and retention period the configuration has.

use std::fmt::Write;

use super::facts::{Facts, Figures};
use crate::commands::markdown_cell as cell;

const TO_FILL: &str = "**In te vullen**";

/// An entry for the government's Algoritmeregister, in the register's parts
/// (general information, responsible use, how it works) and fields.
pub fn algoritmeregister(facts: &Facts) -> String {
    let mut out =
        header("Algoritmeregister: onrust, vroegsignalering van maatschappelijke onrust", "algoritmeregister", facts);
    out.push_str("## Algemene informatie\n\n| Veld | Inhoud |\n|---|---|\n");
    let rows = [
        ("Naam", "onrust".to_owned()),
        ("Organisatie", format!("{TO_FILL} (de organisatie die onrust inzet)")),
        ("Korte omschrijving", SUMMARY.to_owned()),
        ("Type algoritme", KIND_OF_ALGORITHM.to_owned()),
        ("Werkingsgebied", area(facts)),
        ("Status", format!("{TO_FILL} (in ontwikkeling, in gebruik of buiten gebruik)")),
        ("Begindatum", TO_FILL.to_owned()),
        ("Contact", TO_FILL.to_owned()),
        ("Broncode", "open source, onder de EUPL-1.2".to_owned()),
    ];
    for (field, value) in rows {
        let _ = writeln!(out, "| {field} | {} |", cell(&value));
    }
    out.push_str("\n## Verantwoord gebruik\n\n### Doel en impact\n\n");
    out.push_str(PURPOSE);
    out.push_str("\n### Afwegingen\n\n");
    out.push_str(SAFEGUARDS);
    out.push_str("\n### Menselijke tussenkomst\n\n");
    human_decision(&mut out, facts);
    out.push_str("\n### Risicobeheer\n\n");
    out.push_str(RISKS);
    out.push('\n');
    figures(&mut out, facts);
    out.push_str("\n### Wettelijke basis\n\n");
    super::mandates::section(&mut out, &facts.mandates);
    out.push_str("\n### Impacttoetsen\n\n");
    out.push_str(
        "- Gegevensbeschermingseffectbeoordeling (DPIA): gemaakt met `onrust docs dpia`; \
         vastgesteld op: **In te vullen**.\n\
         - Impact Assessment Mensenrechten en Algoritmes (IAMA): gemaakt met `onrust docs fria`; \
         vastgesteld op: **In te vullen**.\n",
    );
    out.push_str("\n### Bezwaarprocedure\n\n");
    let _ = writeln!(out, "{TO_FILL}. {ERASURE}");
    out.push_str("\n## Werking\n\n### Gegevens\n\n");
    sources(&mut out, facts);
    out.push_str("\n### Technische werking\n\n");
    classifier(&mut out, facts);
    out.push('\n');
    rules(&mut out, facts);
    out.push_str("\n### Bewaartermijnen\n\n");
    retention(&mut out, facts);
    out.push_str("\n### Rollen en rechten\n\n");
    roles(&mut out, facts);
    out.push_str("\n### Externe leverancier\n\nGeen: de organisatie draait onrust zelf, op een eigen server.\n");
    out
}

/// A data protection impact assessment, in the parts of the Rijksdienst's model DPIA.
pub fn dpia(facts: &Facts) -> String {
    let mut out = header("DPIA: onrust, vroegsignalering van maatschappelijke onrust", "dpia", facts);
    out.push_str("## Deel A. Beschrijving van de verwerking\n\n### 1. Voorstel\n\n");
    let _ = writeln!(out, "{SUMMARY}\n\nWerkingsgebied: {}.", area(facts));
    out.push_str("\n### 2. Persoonsgegevens\n\n");
    out.push_str(PERSONAL_DATA);
    let _ = writeln!(
        out,
        "\nDe sleutel waarmee een auteur een pseudoniem wordt, wisselt elke {}; oudere sleutels worden \
         gewist, zodat oude pseudoniemen niet meer aan een naam of aan nieuwere pseudoniemen te koppelen zijn.",
        facts.retention.pseudonym_period
    );
    out.push_str("\n### 3. Verwerkingen en bronnen\n\n");
    out.push_str(PIPELINE);
    out.push('\n');
    sources(&mut out, facts);
    out.push_str("\n### 4. Doeleinden\n\n");
    out.push_str(PURPOSE);
    out.push('\n');
    super::mandates::section(&mut out, &facts.mandates);
    out.push_str("\n### 5. Betrokken partijen en rollen\n\n");
    roles(&mut out, facts);
    out.push('\n');
    recipients(&mut out, facts);
    out.push_str("\n### 6. Belangen\n\n");
    let _ = writeln!(out, "{TO_FILL}: de belangen van de organisatie en van de mensen wier berichten onrust leest.");
    out.push_str("\n### 7. Verwerkingslocatie\n\n");
    out.push_str(
        "Alle gegevens staan op de eigen server van de organisatie, in de gegevensmap van onrust. \
         Niets gaat naar een derde, behalve de meldingen zelf: per e-mail via de ingestelde mailserver \
         en, waar ingesteld, via ondertekende webhooks.\n",
    );
    out.push_str("\n### 8. Technieken en methoden\n\n");
    classifier(&mut out, facts);
    out.push('\n');
    rules(&mut out, facts);
    out.push('\n');
    figures(&mut out, facts);
    out.push_str("\n### 9. Juridisch en beleidsmatig kader\n\n");
    let _ = writeln!(out, "{TO_FILL}.");
    out.push_str("\n### 10. Bewaartermijnen\n\n");
    retention(&mut out, facts);
    out.push_str("\n## Deel B. Rechtmatigheid\n\n### 11. Grondslag\n\n");
    super::mandates::section(&mut out, &facts.mandates);
    out.push_str("\n### 12. Bijzondere persoonsgegevens\n\n");
    out.push_str(SPECIAL_DATA);
    out.push_str("\n### 13. Doelbinding\n\n");
    out.push_str(NO_PERSON);
    out.push_str("\n### 14. Noodzaak en evenredigheid\n\n");
    let _ = writeln!(out, "{TO_FILL}, met wat onrust daarvoor doet:\n");
    out.push_str(SAFEGUARDS);
    out.push_str("\n### 15. Rechten van betrokkenen\n\n");
    let _ = writeln!(out, "{ERASURE}");
    out.push_str("\n## Deel C. Risico's\n\n");
    out.push_str(RISKS);
    out.push_str("\n## Deel D. Maatregelen\n\n");
    out.push_str(MEASURES);
    out
}

/// A fundamental-rights impact assessment, in the four parts of the IAMA.
pub fn fria(facts: &Facts) -> String {
    let mut out = header("IAMA: onrust, vroegsignalering van maatschappelijke onrust", "fria", facts);
    out.push_str("## Deel 1. Waarom: doel en publieke waarden\n\n");
    out.push_str(PURPOSE);
    out.push('\n');
    super::mandates::section(&mut out, &facts.mandates);
    out.push_str("\n## Deel 2. Wat: gegevens en algoritme\n\n");
    sources(&mut out, facts);
    out.push('\n');
    classifier(&mut out, facts);
    out.push('\n');
    figures(&mut out, facts);
    out.push_str("\n## Deel 3. Hoe: gebruik en menselijke tussenkomst\n\n");
    human_decision(&mut out, facts);
    out.push('\n');
    rules(&mut out, facts);
    out.push('\n');
    roles(&mut out, facts);
    out.push('\n');
    retention(&mut out, facts);
    out.push_str("\n## Deel 4. Grondrechten\n\n");
    out.push_str(RIGHTS);
    out
}

fn header(title: &str, command: &str, facts: &Facts) -> String {
    format!(
        "# {title}\n\n_Gemaakt met `onrust docs {command}` uit de configuratie `{}`. Alles hieronder komt uit \
         die configuratie en uit de gemeten cijfers; wat de configuratie niet kan weten, staat er als \
         {TO_FILL}._\n\n",
        facts.config_file
    )
}

fn area(facts: &Facts) -> String {
    match facts.municipalities.len() {
        0 => "alle gemeenten van Nederland (de configuratie beperkt de regio niet)".to_owned(),
        1 => format!("1 gemeente: {}", facts.municipalities.join(", ")),
        n => format!("{n} gemeenten: {}", facts.municipalities.join(", ")),
    }
}

fn sources(out: &mut String, facts: &Facts) {
    let _ = writeln!(out, "onrust leest {} bronnen:\n", facts.sources.len());
    out.push_str(
        "| Bron | Soort | Adres | Hoe vaak | Wat onrust leest | Beperkt tot | Aan |\n|---|---|---|---|---|---|---|\n",
    );
    for s in &facts.sources {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&s.id),
            s.kind,
            cell(&s.url),
            s.pace,
            s.sees,
            cell(&s.limited_to),
            if s.enabled { "ja" } else { "nee" }
        );
    }
    out.push('\n');
    out.push_str(NOT_SEEN);
}

fn classifier(out: &mut String, facts: &Facts) {
    let _ = writeln!(
        out,
        "Elk bericht krijgt een niveau van 0 (niets aan de hand) tot 3 (oproep tot geweld, bedreiging of \
         doxing), de thema's en de gemeenten waar het over gaat, en een uitleg van wat meewoog. \
         Woordenlijsten en regels: versie `{}`. Talen: {}. Thema's ({}): {}.",
        facts.classifier_version,
        facts.languages.join(", "),
        facts.themes.len(),
        facts.themes.join(", ")
    );
}

fn rules(out: &mut String, facts: &Facts) {
    let _ = writeln!(out, "Meldregels ({}):\n", facts.rules.len());
    out.push_str("| Regel | Versie | Gaat af bij | Ernst | Thema's | Wie hoort het |\n|---|---|---|---|---|---|\n");
    for r in &facts.rules {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&r.name),
            cell(&r.version),
            r.fires_on,
            r.severity,
            cell(&r.themes),
            r.told
        );
    }
}

fn recipients(out: &mut String, facts: &Facts) {
    let r = &facts.recipients;
    let _ = writeln!(
        out,
        "Ontvangers van meldingen (per rol geteld, nooit met adres): {} informatieofficieren, {} supervisors, \
         {} burgemeesters per e-mail{}; {} webhooks.",
        r.officers,
        r.supervisors,
        r.mayors,
        if r.mail_configured { "" } else { " (er is geen mailserver ingesteld: er wordt niets gemaild)" },
        r.webhooks
    );
}

fn human_decision(out: &mut String, facts: &Facts) {
    out.push_str(
        "onrust neemt zelf geen besluit over mensen of maatregelen: het meldt, en mensen beslissen. \
         Een kritieke melding of een aankondiging bereikt een burgemeester pas nadat een supervisor \
         haar heeft beoordeeld en bevestigd, met een reden; wie wat besloot, wanneer en waarom, staat \
         in het auditlog.",
    );
    let unreviewed: Vec<&str> =
        facts.rules.iter().filter(|r| r.told.contains("niet beoordeeld")).map(|r| r.name.as_str()).collect();
    match unreviewed.as_slice() {
        [] => out.push_str(" Elke meldregel van deze configuratie wacht op die beoordeling.\n"),
        names => {
            let _ = writeln!(
                out,
                " Zonder beoordeling, gemarkeerd als niet beoordeeld, gaan de meldingen van: {}.",
                names.join(", ")
            );
        }
    }
}

fn retention(out: &mut String, facts: &Facts) {
    let r = &facts.retention;
    let _ = writeln!(
        out,
        "- Archief van berichten: per {} in één index; een index wordt {} na het ophalen van zijn berichten \
         als geheel gewist, en dat wissen staat in het auditlog.\n\
         - Sleutels voor pseudoniemen: een nieuwe sleutel elke {}; sleutels van vóór de vorige periode worden gewist.",
        r.bucket, r.archive, r.pseudonym_period
    );
    for (name, holds, keep) in &r.classes {
        let _ = writeln!(
            out,
            "- {} ({holds}): {keep}; wat ouder is, wordt elk uur verwijderd, en dat staat eerst in het auditlog.",
            capitalised(name)
        );
    }
}

/// `name` with its first letter a capital, to begin a list item.
fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn roles(out: &mut String, facts: &Facts) {
    out.push_str("Wie wat mag (een rol mag niets wat hier niet staat):\n\n| Rol | Mag |\n|---|---|\n");
    for (role, may) in &facts.roles {
        let _ = writeln!(out, "| {role} | {may} |");
    }
}

fn figures(out: &mut String, facts: &Facts) {
    let Some(figures) = &facts.figures else {
        let _ = writeln!(
            out,
            "Gemeten kwaliteit: er zijn geen cijfers bij deze configuratie ({} ontbreekt).",
            facts.figures_file
        );
        return;
    };
    measured(out, figures);
}

fn measured(out: &mut String, figures: &Figures) {
    let _ = writeln!(
        out,
        "Gemeten kwaliteit ({}, {}), op gelabelde berichten die de makers zelf schreven:\n",
        figures.measured, figures.build
    );
    out.push_str(
        "| Set | Berichten | Soort | Precisie niveau 3 | Recall niveau 3 | F1 niveau 2 of hoger | F1 gemeente |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for s in &figures.splits {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&s.file),
            s.messages,
            s.kind.dutch(),
            decimal(s.level3_precision),
            decimal(s.level3_recall),
            decimal(s.level2_f1),
            decimal(s.municipality_f1)
        );
    }
    out.push_str(
        "\nRecall niveau 3: het deel van de echte oproepen en bedreigingen dat onrust op niveau 3 zet; \
         precisie: het deel van wat onrust op niveau 3 zet dat dat ook echt is.\n",
    );
    if let Some(h) = &figures.hatecheck {
        let _ = writeln!(
            out,
            "\nOp de Nederlandse Multilingual HateCheck (alleen om te meten, nooit om af te stellen): \
             {} van de bedreigingen op niveau 3; {} van de neutrale en positieve berichten over een groep \
             op niveau 2 of hoger; {} van de tegenspraak op niveau 3.",
            percent(h.threats_at_level_3),
            percent(h.identity_at_level_2),
            percent(h.counter_speech_at_level_3)
        );
    }
}

/// 0.794 → "0,794".
fn decimal(value: f64) -> String {
    format!("{value:.3}").replace('.', ",")
}

/// 0.062 → "6,2%".
fn percent(value: f64) -> String {
    format!("{:.1}%", value * 100.0).replace('.', ",")
}

const SUMMARY: &str = "onrust leest openbare online bronnen en schat per bericht in of het oproept tot geweld, \
    iemand bedreigt of een actie aankondigt, per thema en per gemeente. Bij een ernstig bericht krijgt de \
    informatieofficier van die gemeente een melding; mensen beslissen wat er daarna gebeurt.";

const KIND_OF_ALGORITHM: &str = "regels en woordenlijsten, met een aangeleerde laag (logistische regressie) die \
    het niveau bijstelt; elke inschatting zegt welke woorden en regels meewogen. Geen gezichts- of \
    stemherkenning, geen profielen van personen.";

const PURPOSE: &str = "Gemeenten, politie en Openbaar Ministerie willen op tijd zien wanneer een maatschappelijk \
    debat online overgaat in oproepen tot geweld, bedreigingen of acties die de wet overschrijden, zodat zij \
    zich kunnen voorbereiden en als één overheid kunnen optreden. onrust telt en meldt per gemeente, thema en \
    tijd, nooit per persoon. Het recht om te demonstreren blijft onaangetast: een mening of een aangekondigde \
    demonstratie is op zichzelf geen reden voor een melding.\n";

const SAFEGUARDS: &str = "- Alleen openbare bronnen, zonder in te loggen; wie niet gevonden wil worden, wordt \
    overgeslagen (regel L4).\n\
    - Geen persoon als onderwerp: niets in onrust zoekt, toont, telt of volgt een auteur (regel L1).\n\
    - Zo weinig mogelijk gegevens: titel, tekst, tijden, taal, link en een wisselend pseudoniem (regels L2 en L3).\n\
    - De woordenlijsten beschrijven wanorde, geen meningen: termen met een partijnaam of met \"anti\" weigert \
    onrust (regel L11).\n\
    - Elke melding legt uit waarom (regel L9), en elk gebruik van de inhoud staat vooraf in het auditlog (regel L7).\n";

const RISKS: &str = "- Gemiste oproepen: onrust ziet niet alles; de gemeten cijfers in dit document zeggen hoeveel het mist. \
    Een melding vervangt het oordeel van de informatieofficier niet.\n\
    - Onterechte meldingen: een bericht kan te zwaar worden ingeschat; een supervisor beoordeelt wat een \
    burgemeester bereikt.\n\
    - Verkeerde plaats: een straatnaam die in meer gemeenten voorkomt, telt alleen mee met steun in hetzelfde \
    bericht; de melding noemt de plaats en waarom die gekozen is.\n\
    - Misbruik: een rol mag alleen wat de tabel met rollen in dit document zegt, en elke zoekopdracht staat in een auditlog \
    met een hashketen die de functionaris gegevensbescherming controleert.\n";

const PIPELINE: &str = "Berichten gaan in vier stappen door onrust: ophalen uit de bronnen (auteur wordt \
    pseudoniem, accountnamen in tekst en links worden weggelaten), inschatten (niveau, thema's, gemeenten, \
    uitleg), archiveren (doorzoekbaar voor wie dat mag) en melden (volgens de meldregels).\n";

const NOT_SEEN: &str = "Wat onrust bij geen enkele bron ziet: besloten groepen, privéberichten, berichten achter \
    een login, profielen, volgers, foto's en video's. De naam van een auteur wordt bij binnenkomst een \
    pseudoniem dat niet doorzoekbaar is en nergens wordt getoond; namen van accounts in tekst en links worden \
    vervangen door [user].\n";

const PERSONAL_DATA: &str = "Een bericht wordt bewaard als titel, tekst, tijden, taal, link en een pseudoniem \
    van de auteur. Het pseudoniem dient alleen om per gemeente en thema te tellen hoeveel verschillende auteurs \
    er zijn; het is niet doorzoekbaar en wordt nergens getoond. Namen, accountnamen, profielfoto's, \
    biografieën en aantallen volgers leest onrust niet. Van wie met onrust werkt (accounts van de console en \
    van de API) bewaart het de naam, de rol en wat die persoon deed, in het auditlog.\n";

const SPECIAL_DATA: &str = "Openbare berichten over maatschappelijke onrust kunnen bijzondere persoonsgegevens bevatten, zoals \
    een politieke of religieuze overtuiging. onrust zoekt daar niet naar en ordent er niet op: de \
    woordenlijsten beschrijven geweld, bedreiging en mobilisatie, geen overtuigingen, en een woord dat een \
    groep noemt, mag een niveau nooit verhogen (regel L11).\n";

const NO_PERSON: &str = "onrust gebruikt berichten alleen om per gemeente, thema en tijd te signaleren. Per \
    persoon zoeken, tellen, rangschikken of volgen kan niet: de zoekfunctie weigert een zoekopdracht op een \
    auteur, en geen scherm, melding of metriek noemt er een (regel L1).\n";

const ERASURE: &str = "Een bericht op verzoek wissen kan met `onrust erase` (de FG of een beheerder, met een \
    reden): het bericht verdwijnt uit het archief, uit de meldingen en uit wat nog verstuurd moet worden, en \
    komt niet meer binnen; het wissen staat in het auditlog. Een bericht dat bij de bron (Bluesky) wordt \
    verwijderd, verdwijnt op dezelfde manier.";

const MEASURES: &str = "Gebouwd, elk met een test die faalt als de regel breekt (zie `docs/RULES.md`): geen \
    persoon als onderwerp (L1), pseudoniemen met wisselende sleutels (L2), zo weinig mogelijk gegevens (L3), \
    alleen openbare bronnen en opt-outs gerespecteerd (L4), toezicht alleen onder een vastgelegd mandaat met \
    doel, grondslag, besluit, DPIA en einddatum (L5), een bewaartermijn met fysiek wissen voor elke soort \
    gegevens (L6), elk gebruik in het auditlog (L7), rollen die standaard niets mogen (L8), meldingen die \
    zeggen waarom (L9), een mens beslist wat een burgemeester bereikt (L10), woordenlijsten zonder meningen \
    (L11), deze documenten uit de configuratie (L12) en een schakelaar waarmee een supervisor of beheerder \
    binnen 5 seconden al het ophalen en alle meldingen stillegt, met reden in het auditlog (L13).\n";

const RIGHTS: &str = "| Grondrecht | Hoe onrust het raakt | Wat onrust doet |\n|---|---|---|\n\
    | Vrijheid van meningsuiting (art. 7 Grondwet, art. 10 EVRM, art. 11 Handvest) | Overheden lezen mee met \
    openbare berichten; dat kan mensen ervan weerhouden zich te uiten. | Alleen openbare bronnen; geen \
    persoon als onderwerp (L1); woordenlijsten zonder meningen (L11). |\n\
    | Vrijheid van vergadering en betoging (art. 9 Grondwet, art. 11 EVRM, art. 12 Handvest) | Een \
    aangekondigde actie kan tot een melding leiden. | Een aankondiging bereikt een burgemeester pas na \
    beoordeling door een supervisor (L10); de melding legt uit waarom (L9). |\n\
    | Persoonlijke levenssfeer en bescherming van persoonsgegevens (art. 10 Grondwet, art. 8 EVRM, art. 7 en \
    8 Handvest) | Berichten worden opgeslagen en doorzocht. | Pseudoniemen (L2), zo weinig mogelijk gegevens \
    (L3), bewaartermijn (L6), elk gebruik in het auditlog (L7), rollen (L8). |\n\
    | Gelijke behandeling (art. 1 Grondwet, art. 14 EVRM, art. 21 Handvest) | Een bericht over een groep kan \
    ten onrechte zwaarder worden ingeschat. | Een woord dat een groep noemt, mag een niveau niet verhogen \
    (L11); gemeten op neutrale en positieve berichten over groepen (zie de cijfers). |\n\
    | Verbod op het voorspellen van strafbaar gedrag van personen op basis van profilering (AI-verordening, \
    art. 5) | Niet: onrust beoordeelt berichten, geen personen. | Geen persoon als onderwerp (L1). |\n";
