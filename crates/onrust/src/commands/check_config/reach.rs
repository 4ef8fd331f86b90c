//! Who is told of what, and where nobody is (issue 16): `onrust check-config`
//! warns, without refusing the configuration, about the `[region]`
//! municipalities whose alerts reach no officer and about the kinds of alert
//! that would reach nobody at all. A configuration without recipients is
//! valid (the alert stage keeps its alerts); these say what that means.
//!
//! A recipient counts when it can be reached: a webhook, or a mailbox when
//! `[smtp]` is configured. Routing is the alert stage's
//! (`pipeline::alert::addresses`): a municipality's recipients and those
//! with `municipality = "*"`; region-wide and unplaced alerts only the latter.

use onrust_alert::{Channel, RecipientRole};
use onrust_alert::{RuleKind, Scope};
use onrust_model::MunicipalityCode;

use crate::config::{Config, RecipientConfig, RecipientScope};

/// The warnings, each one line of plain English for the operator.
pub(super) fn warnings(config: &Config, names: &[(MunicipalityCode, String)]) -> Vec<String> {
    if config.rules.is_empty() {
        return Vec::new();
    }
    let reachable: Vec<&RecipientConfig> =
        config.recipients.iter().filter(|r| r.channel == Channel::Webhook || config.smtp.is_some()).collect();
    let has = |role: RecipientRole, everywhere: bool| {
        reachable.iter().any(|r| r.role == role && (!everywhere || r.scope == RecipientScope::All))
    };
    let mut out = Vec::new();

    let region: Vec<&String> = config.region.municipalities.iter().collect();
    let without: Vec<String> = region
        .iter()
        .filter(|code| {
            !reachable.iter().any(|r| {
                r.role == RecipientRole::Officer
                    && match &r.scope {
                        RecipientScope::All => true,
                        RecipientScope::One(c) => c.as_str() == code.as_str(),
                    }
            })
        })
        .map(|code| match names.iter().find(|(c, _)| c.as_str() == code.as_str()) {
            Some((_, name)) => format!("{code} {name}"),
            None => (*code).clone(),
        })
        .collect();
    if !without.is_empty() {
        out.push(format!(
            "no officer is told of the alerts in {} of the {} region municipalities: {}",
            without.len(),
            region.len(),
            without.join(", ")
        ));
    } else if region.is_empty() && !has(RecipientRole::Officer, false) {
        out.push("no officer is told of any municipality's alerts".to_owned());
    }

    let single = config.rules.iter().any(|r| matches!(r.kind, RuleKind::Critical | RuleKind::Announcement));
    let regional = single || config.rules.iter().any(|r| r.per == Scope::Region);
    let mayor_bound = config.rules.iter().any(|r| matches!(r.kind, RuleKind::Critical | RuleKind::Announcement));
    let reviewed =
        config.rules.iter().any(|r| r.review && matches!(r.kind, RuleKind::Critical | RuleKind::Announcement));
    let escalating: Vec<&str> =
        config.rules.iter().filter(|r| r.escalate_after_secs.is_some()).map(|r| r.name.as_str()).collect();
    let kinds = [
        (regional && !has(RecipientRole::Officer, true), "region-wide alerts", "an officer with municipality \"*\""),
        (
            single && !has(RecipientRole::Officer, true) && !has(RecipientRole::Supervisor, true),
            "alerts without a known place (plaats onbekend)",
            "an officer or supervisor with municipality \"*\"",
        ),
        (
            reviewed && !has(RecipientRole::Supervisor, false),
            "review requests (so reviewed alerts never reach a mayor)",
            "a supervisor",
        ),
        (!escalating.is_empty() && !has(RecipientRole::Supervisor, false), "escalations", "a supervisor"),
        (mayor_bound && !has(RecipientRole::Mayor, false), "briefings and digests for mayors", "a mayor"),
    ];
    let how = if config.smtp.is_none() { " (a mailbox needs [smtp])" } else { "" };
    for (missing, what, who) in kinds {
        if missing {
            let rules =
                if what == "escalations" { format!(" (rules {})", escalating.join(", ")) } else { String::new() };
            out.push(format!("{what} reach nobody: configure {who}{how}{rules}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/test.toml");
        let text = format!(
            "[region]\nmunicipalities = [\"GM0344\", \"GM0307\", \"GM0034\"]\n\
             [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\nescalate_after = \"30m\"\n{extra}"
        );
        Config::parse(&path, &crate::config::mandates::with_test_mandate(&text)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn names() -> Vec<(MunicipalityCode, String)> {
        [("GM0344", "Utrecht"), ("GM0307", "Amersfoort"), ("GM0034", "Almere")]
            .map(|(c, n)| (MunicipalityCode::new(c).expect("code"), n.to_owned()))
            .to_vec()
    }

    const SMTP: &str = "[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"onrust@regio.example\"\n";

    fn recipient(municipality: &str, role: &str, email: &str) -> String {
        format!("[[recipients]]\nmunicipality = \"{municipality}\"\nrole = \"{role}\"\nemail = \"{email}\"\n")
    }

    #[test]
    fn municipalities_without_an_officer_and_kinds_that_reach_nobody_are_named() {
        let extra = format!("{SMTP}{}", recipient("GM0344", "officer", "oov@utrecht.example"));
        let warnings = warnings(&config(&extra), &names());
        assert_eq!(
            warnings,
            [
                "no officer is told of the alerts in 2 of the 3 region municipalities: GM0307 Amersfoort, GM0034 Almere",
                "region-wide alerts reach nobody: configure an officer with municipality \"*\"",
                "alerts without a known place (plaats onbekend) reach nobody: configure an officer or supervisor with municipality \"*\"",
                "review requests (so reviewed alerts never reach a mayor) reach nobody: configure a supervisor",
                "escalations reach nobody: configure a supervisor (rules oproep-tot-geweld)",
                "briefings and digests for mayors reach nobody: configure a mayor",
            ]
        );
    }

    #[test]
    fn a_region_covered_by_star_recipients_warns_of_nothing() {
        let extra = format!(
            "{SMTP}{}{}{}",
            recipient("*", "officer", "oov@regio.example"),
            recipient("*", "supervisor", "chef@regio.example"),
            recipient("GM0344", "mayor", "bm@utrecht.example"),
        );
        assert!(warnings(&config(&extra), &names()).is_empty(), "{:?}", warnings(&config(&extra), &names()));
    }

    #[test]
    fn a_mailbox_without_a_relay_reaches_nobody_and_a_webhook_does() {
        let mailbox_only = recipient("*", "officer", "oov@regio.example");
        let warnings_without_relay = warnings(&config(&mailbox_only), &names());
        assert!(warnings_without_relay[0].contains("3 of the 3"), "{warnings_without_relay:?}");
        assert!(
            warnings_without_relay.iter().any(|w| w.ends_with("(a mailbox needs [smtp])")),
            "{warnings_without_relay:?}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("hook.key");
        std::fs::write(&key, "sleutel").expect("key");
        // A signing key is its owner's only (S13).
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let hook = format!(
            "[[webhooks]]\nurl = \"https://crisis.example/hook\"\nsecret_file = {key:?}\nmunicipality = \"*\"\n"
        );
        let with_hook = warnings(&config(&hook), &names());
        assert!(!with_hook.iter().any(|w| w.starts_with("no officer")), "{with_hook:?}");
        assert!(!with_hook.iter().any(|w| w.starts_with("region-wide")), "{with_hook:?}");
    }
}
