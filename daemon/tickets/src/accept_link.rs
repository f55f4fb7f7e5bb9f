//! Acceptance links: the requester who phoned in a repair gets, when it is
//! done, a link where they accept it or say what is still wrong — no
//! account, no call back to the desk.
//!
//! A link is `<public_url>/r/<capability>`. The capability names one ticket,
//! the round of work it is for (the number of reworks so far, so a link
//! sent before a rework cannot accept the rework) and when it stops
//! working; it is signed under a key derived from the site's link key for
//! this purpose only (see [`sitewarden_runtime::signed_link`]), so an
//! alert's acknowledgement link can never accept a repair. Each works once:
//! the store records its MAC in the same transaction as the answer.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use sitewarden_runtime::signed_link::unexpired;
pub use sitewarden_runtime::signed_link::{LinkKey, LinkRefusal};

/// What the acceptance key is derived for.
// for engineers: a key-derivation label, never shown.
const PURPOSE: &str = "sitewarden ticket acceptance v1";

/// Makes and checks the site's acceptance links.
pub struct AcceptLinks {
    base: String,
    key: LinkKey,
    valid_for: Duration,
}

impl std::fmt::Debug for AcceptLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AcceptLinks({})", self.base)
    }
}

/// What a valid capability grants: answering for `ticket`'s `round`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptGrant {
    /// The ticket.
    pub ticket: i64,
    /// The reworks it had when the link was sent.
    pub round: i64,
    /// When it stops working.
    pub expires: Timestamp,
    /// Its MAC, hex: what the store records when it is used.
    pub id: String,
}

impl AcceptLinks {
    /// Links under `public_url`, valid for `valid_for`, signed under a key
    /// derived from `data_dir/ack-link.key` (made, mode 0600, when missing).
    pub fn open(public_url: &str, data_dir: &Path, valid_for: Duration) -> anyhow::Result<Self> {
        Ok(Self::with_site_key(
            public_url,
            &LinkKey::load_or_make(data_dir)?,
            valid_for,
        ))
    }

    /// Links signed under the acceptance key derived from `site_key`.
    pub fn with_site_key(public_url: &str, site_key: &LinkKey, valid_for: Duration) -> Self {
        Self {
            base: public_url.trim_end_matches('/').to_owned(),
            key: site_key.derive(PURPOSE),
            valid_for,
        }
    }

    /// The link that answers for `ticket` after `round` reworks, working
    /// from `now` for the configured time.
    pub fn link(&self, ticket: i64, round: i64, now: Timestamp) -> String {
        let expires = now
            .as_second()
            .saturating_add(self.valid_for.as_secs() as i64);
        let capability = self.key.seal(&format!("{ticket}\n{round}\n{expires}"));
        format!("{}/r/{capability}", self.base)
    }

    /// The grant of `capability` (the part after `/r/`), if it verifies
    /// and has not expired at `now`.
    pub fn verify(&self, capability: &str, now: Timestamp) -> Result<AcceptGrant, LinkRefusal> {
        let opened = self.key.open(capability)?;
        let mut parts = opened.claims.split('\n');
        let (Some(ticket), Some(round), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkRefusal::Malformed);
        };
        let ticket = ticket.parse().map_err(|_| LinkRefusal::Malformed)?;
        let round = round.parse().map_err(|_| LinkRefusal::Malformed)?;
        let expires = unexpired(expires, now)?;
        Ok(AcceptGrant {
            ticket,
            round,
            expires,
            id: opened.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> AcceptLinks {
        let key = LinkKey::from_bytes([7; 32]);
        AcceptLinks::with_site_key("https://site.example/", &key, Duration::from_secs(3600))
    }

    fn capability(link: &str) -> &str {
        link.strip_prefix("https://site.example/r/").unwrap()
    }

    #[test]
    fn a_link_answers_for_its_ticket_and_round_until_it_expires() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let link = links().link(12, 1, now);
        let granted = links().verify(capability(&link), now).unwrap();
        assert_eq!((granted.ticket, granted.round), (12, 1));
        let later = now + Duration::from_secs(3600);
        assert_eq!(
            links().verify(capability(&link), later),
            Err(LinkRefusal::Expired)
        );
    }

    #[test]
    fn an_acknowledgement_signature_does_not_accept_a_repair() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let site = LinkKey::from_bytes([7; 32]);
        // The same claims sealed under the site key itself, as alert links are.
        let expires = now.as_second() + 3600;
        let alert_style = site.seal(&format!("12\n1\n{expires}"));
        assert_eq!(links().verify(&alert_style, now), Err(LinkRefusal::Forged));
    }
}
