//! What the transparency documents say, gathered once from the
//! configuration, the loaded classifier and the measured figures.

use std::path::Path;

use anyhow::Context;
use onrust_alert::RuleKind;
use onrust_alert::engine::duration_nl;
use onrust_alert::{Channel, RecipientRole};
use onrust_ingest::config::SourceParams;
use onrust_web::{Permission, Role};
use serde::Deserialize;

use crate::config::{Config, SourceKindConfig};

/// The classifier's measured quality, beside the configuration file. It is
/// copied from `docs/PERFORMANCE.md` when a round is measured; a test keeps
/// the two equal.
pub const FIGURES_FILE: &str = "classifier-figures.toml";

/// Everything the documents state, in Dutch where a reader sees it.
#[derive(Debug)]
pub struct Facts {
    /// The configuration file as given.
    pub config_file: String,
    /// The region's municipalities as "Utrecht (GM0344)"; empty: the whole gazetteer.
    pub municipalities: Vec<String>,
    pub sources: Vec<SourceFact>,
    pub themes: Vec<String>,
    pub classifier_version: String,
    pub languages: Vec<String>,
    pub rules: Vec<RuleFact>,
    pub recipients: RecipientCounts,
    pub retention: Retention,
    /// Per role: its name and what it may do, from the one permissions table.
    pub roles: Vec<(&'static str, String)>,
    pub figures: Option<Figures>,
    /// Where the figures were looked for.
    pub figures_file: String,
    /// The mandates the monitoring runs under (rule L5).
    pub mandates: Vec<super::mandates::MandateFact>,
}

#[derive(Debug)]
pub struct SourceFact {
    pub id: String,
    pub kind: &'static str,
    pub url: String,
    /// "elke 5 minuten", "doorlopend".
    pub pace: String,
    /// What it reads, and what it leaves alone.
    pub sees: &'static str,
    /// Hashtags or languages it is limited to, if any.
    pub limited_to: String,
    pub enabled: bool,
}

#[derive(Debug)]
pub struct RuleFact {
    pub name: String,
    pub version: String,
    /// "één bericht vanaf niveau 3".
    pub fires_on: String,
    pub severity: &'static str,
    pub themes: String,
    /// Who is told, and whether a person decides first (rule L10).
    pub told: &'static str,
}

#[derive(Debug, Default)]
pub struct RecipientCounts {
    pub officers: usize,
    pub supervisors: usize,
    pub mayors: usize,
    pub webhooks: usize,
    pub mail_configured: bool,
}

#[derive(Debug)]
pub struct Retention {
    /// `archive.retention` in words.
    pub archive: String,
    pub bucket: &'static str,
    /// `privacy.pseudonym_period` in words.
    pub pseudonym_period: String,
    /// The other data classes (`[retention]`): name, what it holds, the period in words.
    pub classes: Vec<(&'static str, &'static str, String)>,
}

/// `classifier-figures.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figures {
    /// When the figures were measured (a date as written).
    pub measured: String,
    /// What was measured: the build or round.
    pub build: String,
    pub splits: Vec<SplitFigures>,
    pub hatecheck: Option<HatecheckFigures>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitFigures {
    pub file: String,
    /// `blind`, `heldout` or `dev`.
    pub kind: SplitKind,
    pub messages: u32,
    pub level3_precision: f64,
    pub level3_recall: f64,
    pub level2_f1: f64,
    pub municipality_f1: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    Blind,
    Heldout,
    Dev,
}

impl SplitKind {
    pub fn dutch(self) -> &'static str {
        match self {
            Self::Blind => {
                "blind: van een schrijver wiens berichten nergens anders voor dienen, één keer per ronde gemeten"
            }
            Self::Heldout => "apart gehouden: nooit gebruikt om af te stellen",
            Self::Dev => "ontwikkelset: gebruikt om af te stellen",
        }
    }
}

/// The Dutch Multilingual HateCheck suite, as fractions (evaluation only).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HatecheckFigures {
    pub threats_at_level_3: f64,
    pub identity_at_level_2: f64,
    pub counter_speech_at_level_3: f64,
}

impl Facts {
    pub fn gather(config: &Config, classifier: &onrust_classify::Classifier) -> anyhow::Result<Facts> {
        let names = crate::commands::municipality_names(config)?;
        let municipalities = config
            .region
            .municipalities
            .iter()
            .map(|code| match names.iter().find(|(c, _)| c.as_str() == code) {
                Some((_, name)) => format!("{name} ({code})"),
                None => code.clone(),
            })
            .collect();
        let figures_path = config.config_dir().join(FIGURES_FILE);
        Ok(Facts {
            config_file: config.path.display().to_string(),
            municipalities,
            sources: config.sources.iter().map(source_fact).collect(),
            themes: classifier.theme_ids().into_iter().map(str::to_owned).collect(),
            classifier_version: classifier.version().to_owned(),
            languages: config.classify.languages.clone(),
            rules: config.rules.iter().map(rule_fact).collect(),
            recipients: recipient_counts(config),
            retention: Retention {
                archive: duration_nl(config.archive.retention.0.as_secs()),
                bucket: match config.archive.bucket {
                    onrust_archive::Period::Day => "dag",
                    onrust_archive::Period::Week => "week",
                    onrust_archive::Period::Month => "maand",
                },
                pseudonym_period: duration_nl(config.privacy.pseudonym_period.0.as_secs()),
                classes: crate::pipeline::retention::periods_beside_archive(config)
                    .into_iter()
                    .map(|(class, keep)| {
                        let (name, holds) = crate::pipeline::retention::described(class);
                        (name, holds, duration_nl(keep.as_secs()))
                    })
                    .collect(),
            },
            roles: Role::ALL.iter().map(|&role| (role_name(role), role_may(role))).collect(),
            figures: read_figures(&figures_path)?,
            figures_file: figures_path.display().to_string(),
            mandates: super::mandates::gather(config),
        })
    }
}

/// The figures beside the configuration; none when the file is absent (the
/// documents then say that nothing was measured), an error when it is unreadable.
pub fn read_figures(path: &Path) -> anyhow::Result<Option<Figures>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let figures: Figures = toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
    let fractions = figures.splits.iter().flat_map(|s| {
        [s.level3_precision, s.level3_recall, s.level2_f1, s.municipality_f1].map(move |v| (s.file.as_str(), v))
    });
    let hatecheck = figures.hatecheck.iter().flat_map(|h| {
        [h.threats_at_level_3, h.identity_at_level_2, h.counter_speech_at_level_3].map(|v| ("hatecheck", v))
    });
    for (what, value) in fractions.chain(hatecheck) {
        anyhow::ensure!(
            (0.0..=1.0).contains(&value),
            "{}: {what}: {value} is not a fraction between 0 and 1",
            path.display()
        );
    }
    Ok(Some(figures))
}

fn source_fact(source: &crate::config::SourceConfig) -> SourceFact {
    let (kind, sees) = match source.kind() {
        SourceKindConfig::Feed => {
            ("feed", "de openbare berichten van een RSS-, Atom- of JSON-feed: titel, tekst, link en tijd")
        }
        SourceKindConfig::Reddit => (
            "reddit",
            "de openbare RSS-feed van een subreddit: titel, tekst, link en tijd; geen reacties achter een login",
        ),
        SourceKindConfig::Youtube => {
            ("youtube", "de openbare videofeed van een kanaal: titel en beschrijving; geen beeld, geluid of reacties")
        }
        SourceKindConfig::Authority => {
            ("overheid", "publicaties van de overheid zelf (politie, gemeenteblad): titel, tekst, link en tijd")
        }
        SourceKindConfig::Mastodon => (
            "mastodon",
            "openbare berichten onder de ingestelde hashtags op één server; berichten die niet openbaar \
             zijn, van accounts die niet gevonden willen worden en boosts slaat onrust over",
        ),
        SourceKindConfig::Bluesky => (
            "bluesky",
            "openbare berichten uit de Jetstream-stroom in de ingestelde talen, alleen als ze over een \
             plaats of thema van de regio gaan; een verwijderd bericht verdwijnt ook uit het archief",
        ),
        SourceKindConfig::Telegram => (
            "telegram",
            "de openbare webweergave van een openbaar kanaal: alleen de eigen berichten van het kanaal; \
             geen groepen en geen namen van doorgestuurde afzenders",
        ),
    };
    let limited_to = match &source.params {
        SourceParams::Mastodon(mastodon) => format!("hashtags #{}", mastodon.tags.join(", #")),
        SourceParams::Bluesky(bluesky) => format!("talen {}", bluesky.languages().join(", ")),
        _ => String::new(),
    };
    let pace = match source.params.streams() {
        true => "doorlopend".to_owned(),
        false => format!("elke {}", duration_nl(source.interval.0.as_secs())),
    };
    SourceFact {
        id: source.id.clone(),
        kind,
        url: source.url().to_owned(),
        pace,
        sees,
        limited_to,
        enabled: source.enabled,
    }
}

fn rule_fact(rule: &onrust_alert::Rule) -> RuleFact {
    let level = rule.min_level.as_u8();
    let window = duration_nl(rule.window_secs);
    let fires_on = match rule.kind {
        RuleKind::Critical => format!("één bericht vanaf niveau {level}"),
        RuleKind::Announcement => format!("een nieuw aangekondigde actie vanaf niveau {level}"),
        RuleKind::Threshold => {
            let messages = if rule.count == 1 { "bericht" } else { "berichten" };
            format!("{} {messages} vanaf niveau {level} binnen {window}", rule.count)
        }
        RuleKind::Burst => format!(
            "ongewoon veel berichten vanaf niveau {level} binnen {window}, vergeleken met de {} weken ervoor",
            rule.baseline_weeks
        ),
    };
    // As the mechanics route them: critical and announcement alerts reach a
    // mayor in real time, after review unless the rule says otherwise; the
    // others reach a mayor only in the daily digest.
    let real_time = matches!(rule.kind, RuleKind::Critical | RuleKind::Announcement);
    let told = match (real_time, rule.review) {
        (true, true) => {
            "de informatieofficier direct; de burgemeester pas nadat een supervisor de melding heeft beoordeeld"
        }
        (true, false) => "de informatieofficier en de burgemeester direct, gemarkeerd als niet beoordeeld",
        (false, true) => "alleen de informatieofficier",
        (false, false) => "de informatieofficier; de burgemeester in het dagoverzicht, gemarkeerd als niet beoordeeld",
    };
    RuleFact {
        name: rule.name.clone(),
        version: rule.version.clone(),
        fires_on,
        severity: match rule.severity {
            onrust_alert::Severity::Info => "informatief",
            onrust_alert::Severity::Warning => "waarschuwing",
            onrust_alert::Severity::Critical => "kritiek",
        },
        themes: if rule.themes.is_empty() { "alle thema's".to_owned() } else { rule.themes.join(", ") },
        told,
    }
}

fn recipient_counts(config: &Config) -> RecipientCounts {
    let mut counts = RecipientCounts { mail_configured: config.smtp.is_some(), ..RecipientCounts::default() };
    for recipient in &config.recipients {
        match (recipient.channel, recipient.role) {
            (Channel::Webhook, _) => counts.webhooks += 1,
            (Channel::Email, RecipientRole::Officer) => counts.officers += 1,
            (Channel::Email, RecipientRole::Supervisor) => counts.supervisors += 1,
            (Channel::Email, RecipientRole::Mayor) => counts.mayors += 1,
        }
    }
    counts
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Officer => "informatieofficier (officer)",
        Role::Analyst => "analist (analyst)",
        Role::Supervisor => "supervisor (supervisor)",
        Role::Fg => "functionaris gegevensbescherming (fg)",
        Role::Admin => "beheerder (admin)",
        Role::Monitor => "monitoring (monitor)",
    }
}

/// What a role may do, read from the one permissions table (rule L8).
fn role_may(role: Role) -> String {
    let may: Vec<&str> = onrust_web::auth::permissions(role)
        .iter()
        .filter_map(|permission| match permission {
            Permission::Metrics => Some("gezondheid en metrics van de dienst zien"),
            Permission::Search => Some("zoeken in het archief (een officier alleen binnen de eigen gemeenten)"),
            Permission::ReadAudit => Some("het auditlog lezen en controleren"),
            Permission::ReadAlerts => Some("meldingen lezen"),
            Permission::Acknowledge => Some("meldingen in behandeling nemen"),
            Permission::Confirm => Some("meldingen voor de burgemeester bevestigen of afwijzen"),
            Permission::Silence => Some("meldingen tijdelijk stilzetten"),
            Permission::Resend => Some("mislukte berichten opnieuw versturen"),
            Permission::Halt => Some("al het ophalen en alle meldingen stilleggen en weer hervatten"),
            Permission::Erase => Some("een bericht op verzoek wissen"),
            Permission::SignedIn | Permission::Public => None,
        })
        .collect();
    if may.is_empty() { "niets".to_owned() } else { may.join("; ") }
}
