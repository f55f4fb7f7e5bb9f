//! E-mail over SMTP (lettre). The queued payload is an [`Envelope`]; the
//! delivery key becomes the `Message-ID`, so a mail server or reader that
//! already has the message can tell a retry from a new alert.

use serde::{Deserialize, Serialize};

use super::{Deliver, Pending, Refusal};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use sitewarden_model::catalog::{SmtpSecurity, SmtpSettings};

/// What an e-mail delivery carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Addresses.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
}

/// One SMTP server.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
    /// The site's zone: the `Date` header is the site's local time.
    zone: jiff::tz::TimeZone,
}

impl Email {
    /// A transport with the channel's security, credentials and timeout,
    /// dating its messages in `zone` (the site's).
    pub fn new(
        s: &SmtpSettings,
        timeout: std::time::Duration,
        zone: jiff::tz::TimeZone,
    ) -> anyhow::Result<Self> {
        let mut builder = match s.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)?,
        }
        .port(s.port)
        .timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&s.username, &s.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        let from: Mailbox = s.from.parse()?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport: builder.build(),
            from,
            domain,
            zone,
        })
    }
}

/// `Date: Wed, 02 Dec 2026 22:00:19 +0800`: now, in the site's local
/// time with its offset (RFC 5322 allows any offset), so a mail client
/// that shows the header as written shows the site's time.
fn local_date(zone: &jiff::tz::TimeZone) -> String {
    let now = sitewarden_runtime::clock::now().to_zoned(zone.clone());
    now.strftime("%a, %d %b %Y %H:%M:%S %z").to_string()
}

impl Deliver for Email {
    async fn deliver(&mut self, message: &Pending) -> Result<(), Refusal> {
        let envelope: Envelope = serde_json::from_slice(&message.payload)
            .map_err(|e| Refusal::permanent(format!("unreadable e-mail envelope: {e}")))?;
        if envelope.to.is_empty() {
            // Nobody with an address among the recipients: nothing to send.
            return Ok(());
        }
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(envelope.subject)
            .message_id(Some(format!("<{}@{}>", message.key, self.domain)))
            .header(ContentType::TEXT_PLAIN);
        for to in &envelope.to {
            builder = builder.to(to
                .parse()
                .map_err(|e| Refusal::permanent(format!("bad address {to}: {e}")))?);
        }
        let mut mail = builder
            .body(envelope.text)
            .map_err(|e| Refusal::permanent(e.to_string()))?;
        let date = HeaderValue::new(
            HeaderName::new_from_ascii_str("Date"),
            local_date(&self.zone),
        );
        mail.headers_mut().insert_raw(date);
        // The SMTP reply decides: 5xx is for good (bad password, unknown
        // mailbox), 4xx and a lost connection pass with time.
        match self.transport.send(mail).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Refusal::permanent(e.to_string())),
            Err(e) => Err(Refusal::temporary(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_header_is_the_site_local_time_with_its_offset() {
        let zone = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        let text = local_date(&zone);
        assert!(text.ends_with(" +0800"), "{text}");
        assert_eq!(
            text.len(),
            "Wed, 02 Dec 2026 22:00:19 +0800".len(),
            "{text}"
        );
    }
}
