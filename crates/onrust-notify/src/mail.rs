//! The MIME message of a rendered mail, and the address checks config
//! validation uses (S6). The text itself is `onrust_alert::render::email`'s;
//! this is the part that needs lettre.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use onrust_alert::render::email::{EmailError, RenderedEmail, check_header};

/// Builds the MIME message (multipart/alternative) after checking every
/// header value for CR, LF and NUL (S6). `message_id` is a system value such
/// as `<fingerprint.seq.role@onrust>` so a receiver can deduplicate too.
pub fn build_message(from: &str, to: &str, message_id: &str, mail: &RenderedEmail) -> Result<Message, EmailError> {
    check_header("From", from)?;
    check_header("To", to)?;
    check_header("Message-ID", message_id)?;
    check_header("Subject", &mail.subject)?;
    let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| EmailError::address("From", e))?;
    let to: Mailbox = to.parse().map_err(|e: lettre::address::AddressError| EmailError::address("To", e))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(message_id.to_owned()))
        .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
        .map_err(|e| EmailError::Build(Box::new(e)))
}

/// Checks a recipient or sender address as config validation should (S6):
/// no CR, LF or NUL, and one plain mailbox.
pub fn check_address(header: &'static str, address: &str) -> Result<(), EmailError> {
    check_header(header, address)?;
    address.parse::<Mailbox>().map(|_| ()).map_err(|e| EmailError::address(header, e))
}

#[cfg(test)]
mod tests {
    use onrust_alert::RecipientRole;
    use onrust_alert::fixtures;
    use onrust_alert::render::email::{MailContext, MailItem, render_alert};

    use super::*;

    fn ctx(role: RecipientRole) -> MailContext {
        MailContext { role, region_name: "Midden-Nederland".to_owned(), contact: None, console_url: None }
    }

    fn item(a: &onrust_alert::Alert) -> MailItem<'_> {
        MailItem::of(a)
    }

    #[test]
    fn bcc_in_a_title_stays_in_the_body() {
        let mut a = fixtures::alert();
        a.evidence[0].title = Some("Demo\r\nBcc: x@example.org".to_owned());
        a.evidence[0].excerpt = "tekst\r\nBcc: y@example.org\r\n\r\nnieuwe body".to_owned();
        let m = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        assert!(!m.subject.contains("Bcc"));
        assert!(m.text.lines().all(|l| !l.starts_with("Bcc:")), "a text line starts a header-like line");
        let msg = build_message("onrust@gemeente.example", "oov@utrecht.example", "<a.1.officer@onrust>", &m).unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert_eq!(headers.lines().filter(|l| l.to_ascii_lowercase().starts_with("subject:")).count(), 1);
        assert!(!headers.to_ascii_lowercase().contains("bcc"), "{headers}");
        assert!(msg.envelope().to().iter().all(|t| t.to_string() == "oov@utrecht.example"));
    }

    #[test]
    fn header_values_with_cr_lf_nul_are_refused() {
        let mut a = fixtures::alert();
        a.municipality_name = Some("Utrecht\r\nBcc: x@example.org".to_owned());
        let err = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap_err();
        assert!(matches!(err, EmailError::HeaderInjection { header: "Subject" }), "{err:?}");
        assert_eq!(err.to_string(), "header Subject contains a CR, LF or NUL character; refused");
        let m = render_alert(item(&fixtures::alert()), &ctx(RecipientRole::Officer)).unwrap();
        for (from, to, id, header) in [
            ("onrust@gemeente.example\r\nBcc: x@example.org", "a@b.example", "<i@onrust>", "From"),
            ("onrust@gemeente.example", "a@b.example\nBcc: x@example.org", "<i@onrust>", "To"),
            ("onrust@gemeente.example", "a@b.example", "<i@onrust>\0", "Message-ID"),
        ] {
            let err = build_message(from, to, id, &m).unwrap_err();
            assert!(matches!(err, EmailError::HeaderInjection { header: h } if h == header), "{err:?}");
        }
        let mut bad_rule = fixtures::alert();
        bad_rule.rule = "regel\0".to_owned();
        assert!(matches!(
            render_alert(item(&bad_rule), &ctx(RecipientRole::Officer)),
            Err(EmailError::HeaderInjection { .. })
        ));
    }

    /// An address that is no mailbox is refused saying why, and the mail
    /// library's own error stays the cause.
    #[test]
    fn a_bad_address_keeps_the_parsers_error() {
        let err = check_address("To", "geen adres").unwrap_err();
        assert!(err.to_string().starts_with("invalid To address: "), "{err}");
        let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<lettre::address::AddressError>());
        assert!(source.is_some(), "{err:?}");
        let m = render_alert(item(&fixtures::alert()), &ctx(RecipientRole::Officer)).unwrap();
        let err = build_message("onrust@gemeente.example", "a@@b", "<i@onrust>", &m).unwrap_err();
        assert!(matches!(err, EmailError::Address { header: "To", .. }), "{err:?}");
        assert!(std::error::Error::source(&err).is_some_and(|s| s.is::<lettre::address::AddressError>()), "{err:?}");
    }
}
