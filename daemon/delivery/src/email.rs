//! E-mail over SMTP (lettre). The queued payload is an [`Envelope`]; the
//! delivery key becomes the `Message-ID`, so a mail server or reader that
//! already has the message can tell a retry from a new alert.

use serde::{Deserialize, Serialize};

use super::{Deliver, Pending, Refusal};
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
}

impl Email {
    /// A transport with the channel's security, credentials and timeout.
    pub fn new(s: &SmtpSettings, timeout: std::time::Duration) -> anyhow::Result<Self> {
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
        })
    }
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
        let mail = builder
            .body(envelope.text)
            .map_err(|e| Refusal::permanent(e.to_string()))?;
        // The SMTP reply decides: 5xx is for good (bad password, unknown
        // mailbox), 4xx and a lost connection pass with time.
        match self.transport.send(mail).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Refusal::permanent(e.to_string())),
            Err(e) => Err(Refusal::temporary(e.to_string())),
        }
    }
}
