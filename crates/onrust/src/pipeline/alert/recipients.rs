//! Who gets a notification and what it carries for them: the configured
//! addresses of its role and municipality, and each alert with what that
//! role was last told about it.

use std::collections::BTreeMap;

use onrust_alert::{Alert, Channel, RecipientRole};
use onrust_model::MunicipalityCode;
use onrust_notify::log::Item;

use super::state::told_key;
use crate::config::{RecipientConfig, RecipientScope};

/// The configured addresses for a notification, with their channel: its
/// role, and its municipality or `"*"`; a regional notification (no
/// municipality) goes to `"*"` only. Mailboxes only when there is a relay.
pub fn addresses<'a>(
    recipients: &'a [RecipientConfig],
    role: RecipientRole,
    municipality: Option<&MunicipalityCode>,
    email: bool,
) -> Vec<(Channel, &'a str)> {
    let mut out: Vec<(Channel, &str)> = recipients
        .iter()
        .filter(|r| r.role == role && (email || r.channel != Channel::Email))
        .filter(|r| match (&r.scope, municipality) {
            (RecipientScope::All, _) => true,
            (RecipientScope::One(code), Some(m)) => code == m,
            (RecipientScope::One(_), None) => false,
        })
        .map(|r| (r.channel, r.address.as_str()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The items of a notification: each alert with what the role was last
/// told about it (`told`; none for a digest), so the mail can say what
/// changed, and named by an id no other current alert shares (`current`:
/// the fingerprints the alerts API lists), so the `onrust alerts ack <id>`
/// the mail prints names one alert.
pub(super) fn items(
    alerts: &[Alert],
    told: Option<(RecipientRole, &BTreeMap<String, Alert>)>,
    current: &[String],
) -> Vec<Item> {
    alerts
        .iter()
        .map(|a| Item {
            alert: a.clone(),
            previous: told.and_then(|(role, told)| told.get(&told_key(role, &a.fingerprint)).cloned()),
            short_id: Some(
                onrust_alert::unique_short_id(&a.fingerprint, current.iter().map(String::as_str)).to_owned(),
            ),
        })
        .collect()
}
