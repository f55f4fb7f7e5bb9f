//! Acknowledgement links: a guard woken at 3 a.m. by a WeCom message taps
//! a link and presses one button, with no sign-in and no curl.
//!
//! A link is `<public_url>/a/<capability>`. The capability names one alert
//! and one person and when it stops working, and carries an HMAC-SHA256 of
//! those under the site's link key (`<data_dir>/ack-link.key`, made at the
//! first start, readable by the daemon only): nobody can make one for
//! another alert, another person or a later hour without the key. Each
//! works once (the store records its MAC when it is used).

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use jiff::Timestamp;
use sha2::Sha256;

/// Bytes of the MAC kept in a link: 128 bits, short enough for a chat line.
const MAC_BYTES: usize = 16;

/// Makes and checks the site's acknowledgement links.
pub struct AckLinks {
    base: String,
    key: [u8; 32],
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

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// Not a link this daemon makes.
    #[error("not an acknowledgement link")]
    Malformed,
    /// Its MAC does not match: made without the key, or changed.
    #[error("the link does not verify")]
    Forged,
    /// Past its expiry.
    #[error("the link has expired")]
    Expired,
}

impl AckLinks {
    /// Links under `public_url`, valid for `valid_for`, signed with the key
    /// in `data_dir/ack-link.key` (made, mode 0600, when missing).
    pub fn open(public_url: &str, data_dir: &Path, valid_for: Duration) -> anyhow::Result<Self> {
        Ok(Self::with_key(
            public_url,
            load_or_make_key(data_dir)?,
            valid_for,
        ))
    }

    /// Links signed with `key` (tests and tools).
    pub fn with_key(public_url: &str, key: [u8; 32], valid_for: Duration) -> Self {
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
        let claims = format!("{alert}\n{person}\n{expires}");
        let mac = self.mac(&claims);
        let capability = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(claims.as_bytes()),
            URL_SAFE_NO_PAD.encode(mac)
        );
        format!("{}/a/{capability}", self.base)
    }

    /// The grant of `capability` (the part after `/a/`), if it verifies
    /// and has not expired at `now`.
    pub fn verify(&self, capability: &str, now: Timestamp) -> Result<Capability, LinkRefusal> {
        let (claims, mac) = capability.split_once('.').ok_or(LinkRefusal::Malformed)?;
        let claims = URL_SAFE_NO_PAD
            .decode(claims)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(LinkRefusal::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| LinkRefusal::Malformed)?;
        if mac.len() != MAC_BYTES {
            return Err(LinkRefusal::Forged);
        }
        let mut check = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(&self.key)
            .map_err(|_| LinkRefusal::Forged)?;
        check.update(claims.as_bytes());
        check
            .verify_truncated_left(&mac)
            .map_err(|_| LinkRefusal::Forged)?;
        let mut parts = claims.split('\n');
        let (Some(alert), Some(person), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkRefusal::Malformed);
        };
        let alert = alert.parse().map_err(|_| LinkRefusal::Malformed)?;
        let expires = expires
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or(LinkRefusal::Malformed)?;
        if now >= expires {
            return Err(LinkRefusal::Expired);
        }
        Ok(Capability {
            alert,
            person: person.to_owned(),
            expires,
            id: mac.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    fn mac(&self, claims: &str) -> [u8; MAC_BYTES] {
        let mut mac = match <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this arm is never taken.
            Err(_) => return [0; MAC_BYTES],
        };
        mac.update(claims.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }
}

/// Reads `data_dir/ack-link.key` (32 bytes), or makes it from the system's
/// random source, readable by this user only.
fn load_or_make_key(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join("ack-link.key");
    match std::fs::read(&path) {
        Ok(bytes) => bytes.as_slice().try_into().with_context(|| {
            format!(
                "{} is not a 32-byte key; delete it to make a new one (links sent so far stop working)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::fill(&mut key);
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            write_private(&path, &key)?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private(path: &Path, key: &[u8; 32]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(key)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> AckLinks {
        AckLinks::with_key("https://site.example/", [7; 32], Duration::from_secs(3600))
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
        let foreign =
            AckLinks::with_key("https://site.example", [8; 32], Duration::from_secs(3600));
        assert_eq!(
            foreign.verify(capability(&link), now),
            Err(LinkRefusal::Forged),
            "another site's key"
        );
        assert_eq!(links().verify("nonsense", now), Err(LinkRefusal::Malformed));
        assert_eq!(links().verify("a.b", now), Err(LinkRefusal::Malformed));
    }
}
