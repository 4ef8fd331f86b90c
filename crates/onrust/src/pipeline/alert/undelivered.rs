//! A notification that fails for good is told to the supervisors through
//! another channel (issue 16): a mail that bounces reaches the supervisors'
//! webhook, a webhook that refuses reaches their mailboxes.
//!
//! Who hears of it: every supervisor mailbox and webhook configured for the
//! failed notification's municipality or for `"*"`, except the very
//! recipient that failed. Sent over every such channel at once rather than
//! one after another, because whether a channel works shows only when it is
//! tried, and a failure notice that waits for another failure first comes
//! too late. A notice that fails itself is told to nobody (counted and
//! logged as `notice_failed`), so a relay that refuses everything cannot
//! make notices about notices. Nobody else to tell is counted and logged as
//! `nobody`. The failure itself is counted as
//! `onrust_alert_deliveries_total{outcome="failed"}` and watched by the
//! shipped Prometheus rule, as before: that is how the admin hears of it.

use onrust_alert::RecipientRole;
use onrust_model::MunicipalityCode;
use onrust_notify::log::{LogError, Notification, Outbox};

use super::{Clock, addresses};
use crate::config::RecipientConfig;
use crate::internal_events::DeliveryFailureTold;

/// Whom the supervisors' notices go to, and the clock they are dated by.
#[derive(Clone)]
pub(super) struct FailureNotices {
    pub recipients: Vec<RecipientConfig>,
    /// A relay is configured, so mailboxes can be told.
    pub email: bool,
    pub clock: Clock,
}

impl FailureNotices {
    /// The notices about `failed`, which failed for good with this answer:
    /// one per supervisor mailbox or webhook for its municipality or `"*"`,
    /// the failed recipient excepted. None for a failure notice itself.
    pub fn notices(&self, failed: &Notification, code: Option<u16>, message: &str) -> Vec<Notification> {
        if failed.is_failure_notice() {
            return Vec::new();
        }
        let failure = failed.failure(code, message, self.clock.now());
        addresses(&self.recipients, RecipientRole::Supervisor, place(failed), self.email)
            .into_iter()
            .filter(|(channel, address)| !(*channel == failed.channel && *address == failed.address))
            .map(|(channel, address)| failed.failure_notice(failure.clone(), channel, address))
            .collect()
    }

    /// Queues the notices about `failed` before its failure is recorded, so a
    /// crash in between sends the notification again rather than lose the
    /// notices (the same failure makes the same notices, which the outbox
    /// keeps once), and says what was done.
    pub fn tell(&self, outbox: &mut Outbox, failed: &Notification, code: Option<u16>, message: &str) {
        let outcome = |outcome, notices| DeliveryFailureTold {
            channel: failed.channel,
            outcome,
            notices,
            fingerprint: &failed.fingerprint,
        };
        if failed.is_failure_notice() {
            outcome("notice_failed", 0).emit();
            return;
        }
        let notices = self.notices(failed, code, message);
        if notices.is_empty() {
            outcome("nobody", 0).emit();
            return;
        }
        let now = self.clock.now();
        let mut queued = 0;
        for notice in notices {
            match outbox.enqueue(notice, now) {
                Ok(_) => queued += 1,
                // The failure is logged and counted all the same; the rest are tried.
                Err(e @ LogError::Io { .. }) => {
                    tracing::error!(error = %e, "cannot queue the notice about a failed notification")
                }
                Err(e) => tracing::warn!(error = %e, "a notice about a failed notification was refused"),
            }
        }
        if queued == 0 {
            outcome("nobody", 0).emit();
        } else {
            outcome("told", queued).emit();
        }
    }
}

/// The municipality all of a notification's alerts are about, if they share
/// one: its supervisors are told as well as the region's (`"*"`).
fn place(n: &Notification) -> Option<&MunicipalityCode> {
    let mut places = n.content.items().iter().map(|i| i.alert.municipality.as_ref());
    let first = places.next()??;
    places.all(|p| p == Some(first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use onrust_alert::Channel;
    use onrust_notify::log::{Content, Item};

    use super::*;
    use crate::config::RecipientScope;

    fn recipient(scope: RecipientScope, role: RecipientRole, address: &str) -> RecipientConfig {
        let channel = if address.starts_with("https://") { Channel::Webhook } else { Channel::Email };
        RecipientConfig { scope, role, channel, address: address.to_owned() }
    }

    fn utrecht() -> MunicipalityCode {
        MunicipalityCode::new("GM0344").expect("code")
    }

    /// The shared test alert (`onrust_alert::fixtures`), placed in `code`.
    fn alert_in(code: Option<MunicipalityCode>) -> onrust_alert::Alert {
        onrust_alert::Alert {
            municipality_name: code.as_ref().map(|_| "Utrecht".to_owned()),
            municipality: code,
            ..onrust_alert::fixtures::alert()
        }
    }

    fn failed(channel: Channel, address: &str, code: Option<MunicipalityCode>) -> Notification {
        let alert = alert_in(code);
        Notification {
            fingerprint: alert.fingerprint.clone(),
            sequence: 3,
            rule: alert.rule.clone(),
            channel,
            role: RecipientRole::Officer,
            address: address.to_owned(),
            content: Content::Alerts { items: vec![Item::new(alert, None)] },
        }
    }

    fn teller(recipients: Vec<RecipientConfig>, email: bool) -> FailureNotices {
        FailureNotices { recipients, email, clock: Clock::system() }
    }

    fn targets(notices: &[Notification]) -> Vec<(Channel, &str)> {
        notices.iter().map(|n| (n.channel, n.address.as_str())).collect()
    }

    #[test]
    fn a_failure_is_told_to_the_supervisors_of_its_place_through_every_other_channel() {
        let t = teller(
            vec![
                recipient(RecipientScope::One(utrecht()), RecipientRole::Officer, "oov@utrecht.example"),
                recipient(RecipientScope::One(utrecht()), RecipientRole::Supervisor, "chef@utrecht.example"),
                recipient(RecipientScope::All, RecipientRole::Supervisor, "chef@regio.example"),
                recipient(RecipientScope::All, RecipientRole::Supervisor, "https://crisis.example/hook"),
                recipient(
                    RecipientScope::One(MunicipalityCode::new("GM0307").expect("code")),
                    RecipientRole::Supervisor,
                    "chef@amersfoort.example",
                ),
                recipient(RecipientScope::All, RecipientRole::Mayor, "bm@regio.example"),
            ],
            true,
        );
        // A bounced mail: the supervisors' webhook and mailboxes, Utrecht's and the region's.
        let mail = failed(Channel::Email, "oov@utrecht.example", Some(utrecht()));
        let notices = t.notices(&mail, Some(550), "5.1.1 no such user\r\nBcc: x@example.org");
        assert_eq!(
            targets(&notices),
            [
                (Channel::Email, "chef@regio.example"),
                (Channel::Email, "chef@utrecht.example"),
                (Channel::Webhook, "https://crisis.example/hook")
            ]
        );
        let notice = &notices[0];
        assert!(notice.is_failure_notice() && notice.role == RecipientRole::Supervisor);
        let onrust_notify::log::Content::Undelivered { failure, items } = &notice.content else {
            panic!("not a failure notice: {notice:?}")
        };
        assert_eq!(
            (failure.channel, failure.recipient.as_str(), failure.code),
            (Channel::Email, "oov@utrecht.example", Some(550))
        );
        assert!(!failure.message.contains('\n'), "the answer on one line: {:?}", failure.message);
        assert_eq!(items[0].alert.fingerprint, mail.fingerprint, "the alert it carried");
        assert_ne!(notice.fingerprint, mail.fingerprint, "a key of its own");
        assert_eq!(
            notice.fingerprint,
            t.notices(&mail, Some(550), "later")[0].fingerprint,
            "the same failure, the same notice"
        );

        // A refused webhook: the supervisors' mailboxes (not that webhook itself).
        let hook = failed(Channel::Webhook, "https://crisis.example/hook", None);
        assert_eq!(
            targets(&t.notices(&hook, Some(410), "gone")),
            [(Channel::Email, "chef@regio.example")],
            "a regional alert: the region's supervisors only"
        );
        // Without a relay, the mailboxes cannot be told.
        let no_relay = teller(t.recipients.clone(), false);
        assert_eq!(
            targets(&no_relay.notices(&mail, Some(550), "x")),
            [(Channel::Webhook, "https://crisis.example/hook")]
        );
        assert!(no_relay.notices(&hook, Some(410), "gone").is_empty(), "nobody else to tell");
    }

    /// No loop: a notice that fails is told to nobody, whatever is configured.
    #[test]
    fn a_failed_notice_makes_no_notice() {
        let t = teller(
            vec![
                recipient(RecipientScope::All, RecipientRole::Supervisor, "chef@regio.example"),
                recipient(RecipientScope::All, RecipientRole::Supervisor, "https://crisis.example/hook"),
            ],
            true,
        );
        let mail = failed(Channel::Email, "oov@utrecht.example", Some(utrecht()));
        for notice in t.notices(&mail, Some(550), "no such user") {
            assert!(t.notices(&notice, Some(554), "relay refuses everything").is_empty(), "{notice:?}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut outbox = Outbox::open(dir.path(), onrust_notify::log::RetryPolicy::default()).expect("outbox");
        t.tell(&mut outbox, &mail, Some(550), "no such user");
        assert_eq!(outbox.pending().len(), 2, "both supervisor channels");
        let notices: Vec<Notification> = outbox.pending().into_iter().cloned().collect();
        for notice in &notices {
            t.tell(&mut outbox, notice, Some(554), "refused");
        }
        t.tell(&mut outbox, &mail, Some(550), "no such user, again");
        assert_eq!(outbox.pending().len(), 2, "no notice about a notice, and the same failure once");
    }
}
