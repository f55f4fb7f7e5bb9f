//! Duty-console sign-in: people's own passwords (argon2), sessions held in
//! memory behind an HttpOnly, SameSite=Strict cookie, a CSRF token per
//! session for every form, and a brake on guessing.
//!
//! Sessions live as long as the daemon (a restart signs everyone out: the
//! console is a few screens on a site, not a web shop) and at most
//! [`SESSION_LIFETIME`]. Machines keep using bearer tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sitewarden_model::catalog::Catalog;
use sitewarden_model::vocab::ApiRole;

/// The session cookie's name.
pub const COOKIE: &str = "sitewarden_session";
/// How long a sign-in lasts: one shift and a half.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions held at most; past it the oldest gives way.
const MAX_SESSIONS: usize = 1_000;
/// Failed sign-ins one person id may have in [`GUESS_WINDOW`].
const MAX_FAILURES: u32 = 5;
/// The window failed sign-ins are counted in.
const GUESS_WINDOW: Duration = Duration::from_secs(300);

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    /// Their `[[people]]` id (what the audit trail records).
    pub person: String,
    /// What they may do.
    pub role: ApiRole,
    /// The token every form of this session carries.
    pub csrf: String,
    expires: Instant,
}

/// The sessions of this daemon, and recent failed sign-ins by person id.
#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Sessions {
    /// Starts a session; the cookie value to set.
    pub fn start(&self, person: &str, role: ApiRole) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut open = lock(&self.open);
        open.retain(|_, s| s.expires > now);
        if open.len() >= MAX_SESSIONS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            open.remove(&oldest);
        }
        open.insert(
            token.clone(),
            Session {
                person: person.to_owned(),
                role,
                csrf: random_token(),
                expires: now + SESSION_LIFETIME,
            },
        );
        token
    }

    /// The session the request's cookie names, if it is current.
    pub fn of(&self, headers: &HeaderMap) -> Option<Session> {
        let token = cookie(headers)?;
        let open = lock(&self.open);
        open.get(token)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    /// Ends the request's session.
    pub fn end(&self, headers: &HeaderMap) {
        if let Some(token) = cookie(headers) {
            lock(&self.open).remove(token);
        }
    }

    /// True when `person` has failed to sign in too often lately.
    pub fn throttled(&self, person: &str) -> bool {
        lock(&self.failures)
            .get(person)
            .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < GUESS_WINDOW)
    }

    /// Counts a failed sign-in of `person` (one of the site's people: the
    /// caller does not count made-up ids, so the map stays small).
    pub fn failed(&self, person: &str) {
        let mut failures = lock(&self.failures);
        failures.retain(|_, (_, since)| since.elapsed() < GUESS_WINDOW);
        let entry = failures
            .entry(person.to_owned())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
    }

    /// Forgets `person`'s failures after a good sign-in.
    pub fn succeeded(&self, person: &str) {
        lock(&self.failures).remove(person);
    }
}

/// Whether `password` is `person`'s (a person without a sign-in never is).
/// Slow on purpose (argon2): run it off the async workers.
pub fn verify_password(catalog: &Catalog, person: &str, password: &str) -> Option<ApiRole> {
    use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
    let login = catalog
        .alerts
        .people
        .iter()
        .find(|p| p.id == person)
        .and_then(|p| p.login.as_ref())?;
    let hash = PasswordHash::new(&login.password_hash).ok()?;
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .ok()
        .map(|()| login.role)
}

/// The argon2 hash to put in `[[people]] password_hash`.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    let salt =
        SaltString::encode_b64(&bytes).map_err(|e| anyhow::anyhow!("cannot make a salt: {e}"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, `Secure`
/// when the console is reached over https.
pub fn set_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs()
    )
}

/// `Set-Cookie` that ends the session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The form when it parsed and carries the session's CSRF token.
pub(super) fn checked<T: HasCsrf>(
    ctx: &super::ApiContext,
    session: &Session,
    form: Result<axum::Form<T>, axum::extract::rejection::FormRejection>,
) -> Option<T> {
    match form {
        Ok(axum::Form(f)) if f.csrf() == session.csrf => Some(f),
        _ => {
            ctx.metrics
                .api_rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            None
        }
    }
}

/// Forms that carry the session's CSRF token.
pub(super) trait HasCsrf {
    fn csrf(&self) -> &str;
}

/// Runs a command as the signed-in person, with their role's rights.
pub(super) async fn run(
    ctx: &super::ApiContext,
    session: &Session,
    command: crate::control::Command,
) -> Result<(), String> {
    let caller = crate::control::Caller {
        name: session.person.clone(),
        role: session.role,
    };
    ctx.control
        .execute(&caller, command)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_ends() {
        let sessions = Sessions::default();
        let token = sessions.start("chen.jing", ApiRole::Engineer);
        let headers = with_cookie(&format!("theme=dark; {COOKIE}={token}"));
        let session = sessions.of(&headers).unwrap();
        assert_eq!(
            (session.person.as_str(), session.role),
            ("chen.jing", ApiRole::Engineer)
        );
        assert!(
            sessions
                .of(&with_cookie(&format!("{COOKIE}=forged")))
                .is_none()
        );
        sessions.end(&headers);
        assert!(sessions.of(&headers).is_none());
    }

    #[test]
    fn guessing_is_braked_per_person() {
        let sessions = Sessions::default();
        for _ in 0..MAX_FAILURES {
            assert!(!sessions.throttled("zhao.min"));
            sessions.failed("zhao.min");
        }
        assert!(sessions.throttled("zhao.min"));
        assert!(!sessions.throttled("chen.jing"));
        sessions.succeeded("zhao.min");
        assert!(!sessions.throttled("zhao.min"));
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let parsed = argon2::password_hash::PasswordHash::new(&hash).unwrap();
        use argon2::password_hash::PasswordVerifier as _;
        assert!(
            argon2::Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            argon2::Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }
}
