//! Whether each source and rule is bound to a mandate that covers it (rule
//! L5): it names one, the mandate exists, covers its kind, municipalities
//! and themes, has not ended, and a trial's rules reach no recipient.

use chrono::NaiveDate;

use super::mandates::{Mandate, Standing};
use super::{Collector, RecipientConfig, RecipientScope, SourceConfig};

/// The mandates a source or rule is checked against, on `today`.
pub(super) struct Bound<'a> {
    pub mandates: &'a [Mandate],
    pub trial_started: Option<NaiveDate>,
    pub today: NaiveDate,
}

impl Bound<'_> {
    /// The mandate `named` by an entry of `what` ("source", "rule"), or the problem with it.
    fn mandate(&self, what: &str, named: Option<&str>) -> Result<&Mandate, String> {
        let ids = || self.mandates.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(", ");
        let Some(id) = named else {
            return Err(format!(
                "missing: every {what} names the mandate it runs under, mandate = \"id\" of a [[mandates]] entry ({})",
                ids()
            ));
        };
        let Some(mandate) = self.mandates.iter().find(|m| m.id == id) else {
            return Err(format!("{id:?} is no [[mandates]] entry (configured: {})", ids()));
        };
        if let Standing::Ended { ended } = mandate.standing(self.trial_started, self.today) {
            return Err(if mandate.is_trial() {
                format!(
                    "the trial mandate {id:?} ended on {ended}: record a mandate (a [[mandates]] entry with purpose, \
                     legal_basis, decided_by, dpia, start and end) and name it here"
                )
            } else {
                format!("mandate {id:?} ended on {ended}: this {what} may not run; record a new mandate or remove it")
            });
        }
        Ok(mandate)
    }

    /// Every problem of a source's mandate, by field.
    pub fn source_problems(&self, source: &SourceConfig) -> Vec<(&'static str, String)> {
        let mandate = match self.mandate("source", source.mandate.as_deref()) {
            Ok(m) => m,
            Err(problem) => return vec![("mandate", problem)],
        };
        let mut out = Vec::new();
        if !mandate.covers_kind(source.kind()) {
            let kinds: Vec<&str> = mandate.source_kinds.iter().map(|k| k.name()).collect();
            out.push((
                "kind",
                format!(
                    "{} is outside mandate {:?}, which covers {}",
                    source.kind().name(),
                    mandate.id,
                    kinds.join(", ")
                ),
            ));
        }
        if let Some(problem) = mandate.municipalities_outside(&source.municipalities) {
            out.push(("municipalities", problem));
        }
        out
    }

    /// Every problem of a rule's mandate, by field; a trial's rule may reach no recipient.
    pub fn rule_problems(
        &self,
        rule: &onrust_alert::RuleConfig,
        recipients: &[RecipientConfig],
    ) -> Vec<(&'static str, String)> {
        let mandate = match self.mandate("rule", rule.mandate.as_deref()) {
            Ok(m) => m,
            Err(problem) => return vec![("mandate", problem)],
        };
        let mut out = Vec::new();
        let codes: Vec<String> = rule
            .municipalities
            .iter()
            .map(|c| {
                onrust_model::MunicipalityCode::new(c.as_str()).map_or_else(|_| c.clone(), |m| m.as_str().to_owned())
            })
            .collect();
        if let Some(problem) = mandate.municipalities_outside(&codes) {
            out.push(("municipalities", problem));
        }
        if let Some(problem) = mandate.themes_outside(&rule.themes) {
            out.push(("themes", problem));
        }
        if mandate.is_trial() {
            let reached = recipients.iter().find(|r| {
                let reaches = match &r.scope {
                    RecipientScope::All => true,
                    RecipientScope::One(code) => codes.is_empty() || codes.iter().any(|c| c == code.as_str()),
                };
                reaches && !is_reserved_mailbox(r)
            });
            if let Some(r) = reached {
                out.push((
                    "mandate",
                    format!(
                        "runs under the trial mandate {:?}, whose alerts go to nobody, but a {} {} would receive them: \
                         record a mandate for this rule, or remove the recipient",
                        mandate.id,
                        r.role.as_str(),
                        match r.channel {
                            onrust_alert::Channel::Email => "mailbox",
                            onrust_alert::Channel::Webhook => "webhook",
                        }
                    ),
                ));
            }
        }
        out
    }
}

/// A mailbox under the reserved `.example` domain (RFC 2606), as in the
/// docker demo's mail sink: it can never reach a person, so a trial may use it.
fn is_reserved_mailbox(recipient: &RecipientConfig) -> bool {
    recipient.channel == onrust_alert::Channel::Email
        && recipient.address.rsplit_once('@').is_some_and(|(_, domain)| {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain == "example" || domain.ends_with(".example")
        })
}

impl Collector {
    /// Reads `[[mandates]]` entry by entry, each problem under `mandates[i].key`,
    /// and the data directory's record of its first trial day.
    pub(super) fn mandates(
        &mut self,
        table: &mut toml::Table,
        classify: &super::ClassifyConfig,
        data_dir: &std::path::Path,
    ) -> (Vec<Mandate>, Option<NaiveDate>) {
        let trial_started = match super::mandates::MandateRecord::load(data_dir) {
            Ok(record) => record.trial_started,
            Err(problem) => {
                self.push("data_dir", problem);
                None
            }
        };
        let entries = match table.remove("mandates") {
            None => return (Vec::new(), trial_started),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => {
                self.push("mandates", "must be an array of tables: [[mandates]]");
                return (Vec::new(), trial_started);
            }
        };
        let themes = super::mandates::theme_ids_in(&classify.themes_dir);
        let mut out: Vec<Mandate> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let Some(entry) = self.value::<super::mandates::MandateEntry>(&format!("mandates[{i}]"), entry) else {
                continue;
            };
            let mut problems = Vec::new();
            let places = &self.places;
            let unknown =
                |code: &str| onrust_model::MunicipalityCode::new(code.to_owned()).ok().and_then(|m| places.unknown(&m));
            let mandate = super::mandates::validate_entry(entry, themes.as_deref(), &unknown, &mut |field, message| {
                problems.push((format!("mandates[{i}].{field}"), message))
            });
            for (key, message) in problems {
                self.push(key, message);
            }
            let Some(mandate) = mandate else { continue };
            if out.iter().any(|m| m.id == mandate.id) {
                self.push(
                    format!("mandates[{i}].id"),
                    format!("{:?} is used by an earlier mandate; ids must be unique", mandate.id),
                );
                continue;
            }
            out.push(mandate);
        }
        (out, trial_started)
    }
}
