//! The renderers: how an alert reads in a mail, an Atom feed and a calendar.
//!
//! They are pure: they take alerts and return text, so their escaping can be
//! tested without any network. Delivery (SMTP, webhooks, the outbox and the
//! notification log) is `onrust-notify`'s; it renders a mail with [`email`]
//! and sends it.
//!
//! Two rules hold everywhere here: no author or pseudonym is ever rendered
//! (L1, L2; [`crate::alert::Evidence`] carries none), and no header or
//! subject is built from message text (S6).

pub mod atom;
pub mod email;
pub mod ics;

/// Which alerts a feed or calendar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedPlace<'a> {
    /// One municipality's alerts (its code and name).
    Municipality(&'a onrust_model::MunicipalityCode, &'a str),
    /// The region-wide ones (no municipality, but a place).
    Region,
    /// Those without a known place ("plaats onbekend").
    Unplaced,
    /// Every alert in the region: each municipality's, the region-wide and
    /// the unplaced ones (the supervisors' overview).
    All,
}

impl FeedPlace<'_> {
    /// Whether the alert belongs in this feed.
    pub fn admits(&self, alert: &crate::Alert) -> bool {
        match self {
            Self::Municipality(code, _) => alert.municipality.as_ref() == Some(*code),
            Self::Region => alert.municipality.is_none() && !alert.unplaced,
            Self::Unplaced => alert.municipality.is_none() && alert.unplaced,
            Self::All => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures;

    /// L1, L2: what a notifier receives has no place for a person. If someone
    /// adds an author or pseudonym to the alert, this fails before any mail,
    /// webhook body or feed can carry it.
    #[test]
    fn alerts_carry_no_author_or_pseudonym() {
        fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        out.push(k.to_ascii_lowercase());
                        keys(v, out);
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        keys(&serde_json::to_value(fixtures::alert()).unwrap(), &mut all);
        for k in &all {
            for banned in ["author", "pseudonym", "handle", "user", "account", "profile"] {
                assert!(!k.contains(banned), "alert field {k} looks like a person");
            }
        }
    }
}
