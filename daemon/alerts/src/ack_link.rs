//! Acknowledgement links: a guard woken at 3 a.m. by a WeCom message taps
//! a link and presses one button, with no sign-in and no curl.
//!
//! A link is `<public_url>/a/<capability>`. The capability names one alert
//! and one person and when it stops working, signed with the site's link
//! key (see [`sitewarden_runtime::signed_link`]): nobody can make one for
//! another alert, another person or a later hour without the key. Each
//! works once (the store records its MAC when it is used).

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use sitewarden_runtime::signed_link::unexpired;
pub use sitewarden_runtime::signed_link::{LinkKey, LinkRefusal};

/// Makes and checks the site's acknowledgement links.
pub struct AckLinks {
    base: String,
    key: LinkKey,
    valid_for: Duration,
}

impl std::fmt::Debug for AckLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AckLinks({})", self.base)
    }
}

/// What a valid capability grants: acknowledging `alert` as `person`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    /// The alert it acknowledges.
    pub alert: i64,
    /// The `[[people]]` id it acknowledges as.
    pub person: String,
    /// When it stops working.
    pub expires: Timestamp,
    /// Its MAC, hex: what the store records when it is used.
    pub id: String,
}

impl AckLinks {
    /// Links under `public_url`, valid for `valid_for`, signed with the key
    /// in `data_dir/ack-link.key` (made, mode 0600, when missing).
    pub fn open(public_url: &str, data_dir: &Path, valid_for: Duration) -> anyhow::Result<Self> {
        Ok(Self::with_key(
            public_url,
            LinkKey::load_or_make(data_dir)?,
            valid_for,
        ))
    }

    /// Links signed with `key` (tests and tools). Acknowledgement links
    /// sign under the site key itself, as they did before other kinds of
    /// link derived their own.
    pub fn with_key(public_url: &str, key: LinkKey, valid_for: Duration) -> Self {
        Self {
            base: public_url.trim_end_matches('/').to_owned(),
            key,
            valid_for,
        }
    }

    /// The link that lets `person` acknowledge `alert`, working from `now`
    /// for the configured time.
    pub fn link(&self, alert: i64, person: &str, now: Timestamp) -> String {
        let expires = now
            .as_second()
            .saturating_add(self.valid_for.as_secs() as i64);
        let capability = self.key.seal(&format!("{alert}\n{person}\n{expires}"));
        format!("{}/a/{capability}", self.base)
    }

    /// The grant of `capability` (the part after `/a/`), if it verifies
    /// and has not expired at `now`.
    pub fn verify(&self, capability: &str, now: Timestamp) -> Result<Capability, LinkRefusal> {
        let opened = self.key.open(capability)?;
        let mut parts = opened.claims.split('\n');
        let (Some(alert), Some(person), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkRefusal::Malformed);
        };
        let alert = alert.parse().map_err(|_| LinkRefusal::Malformed)?;
        let expires = unexpired(expires, now)?;
        Ok(Capability {
            alert,
            person: person.to_owned(),
            expires,
            id: opened.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sitewarden_runtime::signed_link::MAC_BYTES;

    fn links() -> AckLinks {
        AckLinks::with_key(
            "https://site.example/",
            LinkKey::from_bytes([7; 32]),
            Duration::from_secs(3600),
        )
    }

    fn capability(link: &str) -> &str {
        link.strip_prefix("https://site.example/a/").unwrap()
    }

    #[test]
    fn a_link_grants_its_alert_and_person_until_it_expires() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let link = links().link(42, "zhao.min", now);
        let granted = links().verify(capability(&link), now).unwrap();
        assert_eq!((granted.alert, granted.person.as_str()), (42, "zhao.min"));
        assert_eq!(granted.id.len(), MAC_BYTES * 2);
        let later = now + Duration::from_secs(3600);
        assert_eq!(
            links().verify(capability(&link), later),
            Err(LinkRefusal::Expired)
        );
    }

    #[test]
    fn a_changed_or_foreign_link_is_refused() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let link = links().link(42, "zhao.min", now);
        let (_, mac) = capability(&link).split_once('.').unwrap();
        let other = URL_SAFE_NO_PAD.encode(format!("43\nzhao.min\n{}", now.as_second() + 3600));
        assert_eq!(
            links().verify(&format!("{other}.{mac}"), now),
            Err(LinkRefusal::Forged),
            "another alert under the same MAC"
        );
        let foreign = AckLinks::with_key(
            "https://site.example",
            LinkKey::from_bytes([8; 32]),
            Duration::from_secs(3600),
        );
        assert_eq!(
            foreign.verify(capability(&link), now),
            Err(LinkRefusal::Forged),
            "another site's key"
        );
        assert_eq!(links().verify("nonsense", now), Err(LinkRefusal::Malformed));
        assert_eq!(links().verify("a.b", now), Err(LinkRefusal::Malformed));
    }
}
