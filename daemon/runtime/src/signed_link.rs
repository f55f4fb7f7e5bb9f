//! Signed links: a capability in a URL that names what it grants and when
//! it stops working, with an HMAC-SHA256 of those under a key only the
//! daemon holds. Nobody can make one for another alert, another ticket or
//! a later hour without the key.
//!
//! One key file per site (`<data_dir>/ack-link.key`, made at the first
//! start, readable by the daemon only); each kind of link signs under its
//! own key derived from it ([`LinkKey::derive`]), so a link of one kind
//! can never be passed off as another. Single use is the store's job: it
//! records a capability's [`Opened::id`] when the link is used.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// Bytes of the MAC kept in a link: 128 bits, short enough for a chat line.
pub const MAC_BYTES: usize = 16;

/// A key that signs links.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// Not a link this daemon makes.
    #[error("not a link this site makes")]
    Malformed,
    /// Its MAC does not match: made without the key, or changed.
    #[error("the link does not verify")]
    Forged,
    /// Past its expiry.
    #[error("the link has expired")]
    Expired,
}

/// A capability whose MAC verified: its claims, and the id a store records
/// when it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// What was signed.
    pub claims: String,
    /// The MAC, hex.
    pub id: String,
}

impl LinkKey {
    /// The site's key in `data_dir/ack-link.key` (32 bytes), made from the
    /// system's random source, readable by this user only, when missing.
    pub fn load_or_make(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("ack-link.key");
        match std::fs::read(&path) {
            Ok(bytes) => bytes.as_slice().try_into().map(Self).with_context(|| {
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
                Ok(Self(key))
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// A key from its bytes (tests and tools).
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// The key links of one `purpose` sign under: HMAC of the purpose
    /// under this key, so purposes never share signatures.
    pub fn derive(&self, purpose: &str) -> Self {
        Self(self.full_mac(purpose))
    }

    /// `claims` and their MAC, as one URL-safe capability.
    pub fn seal(&self, claims: &str) -> String {
        let full = self.full_mac(claims);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(claims.as_bytes()),
            URL_SAFE_NO_PAD.encode(&full[..MAC_BYTES])
        )
    }

    /// The claims of a capability [`seal`](Self::seal) made under this key.
    pub fn open(&self, capability: &str) -> Result<Opened, LinkRefusal> {
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
        let mut check = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(&self.0)
            .map_err(|_| LinkRefusal::Forged)?;
        check.update(claims.as_bytes());
        check
            .verify_truncated_left(&mac)
            .map_err(|_| LinkRefusal::Forged)?;
        Ok(Opened {
            claims,
            id: mac.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    fn full_mac(&self, data: &str) -> [u8; 32] {
        let mut mac = match <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this arm is never taken.
            Err(_) => return [0; 32],
        };
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The expiry claim (Unix seconds) checked against `now`.
pub fn unexpired(expires: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, LinkRefusal> {
    let expires = expires
        .parse::<i64>()
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .ok_or(LinkRefusal::Malformed)?;
    if now >= expires {
        return Err(LinkRefusal::Expired);
    }
    Ok(expires)
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

    #[test]
    fn a_sealed_capability_opens_only_under_its_key_and_purpose() {
        let site = LinkKey::from_bytes([7; 32]);
        let sealed = site.seal("42\nzhao.min\n1800000000");
        assert_eq!(
            site.open(&sealed).unwrap().claims,
            "42\nzhao.min\n1800000000"
        );
        let accept = site.derive("ticket acceptance");
        assert_eq!(accept.open(&sealed), Err(LinkRefusal::Forged));
        assert_eq!(
            LinkKey::from_bytes([8; 32]).open(&sealed),
            Err(LinkRefusal::Forged)
        );
        assert_eq!(site.open("nonsense"), Err(LinkRefusal::Malformed));
    }
}
