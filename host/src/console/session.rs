//! Console sessions and CSRF tokens (issue 16). Logging in trades an API
//! key for a random session token in an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` behind TLS); the key itself never leaves the login
//! request, and the server keeps only its SHA-256, so every request is
//! authorised again by the key's current role ([`caller_for_hash`]): a key
//! removed from the store ends its sessions.
//!
//! Sessions live in this process's memory with an expiry; a restart logs
//! everyone out, which is what an operator restarting a host expects.
//! Each session has its own CSRF token, which every state-changing form
//! carries; the login form, which has no session yet, is protected by a
//! double-submit cookie.
//!
//! [`caller_for_hash`]: crate::serve::auth::caller_for_hash

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};

/// Cookie names and lifetimes.
pub mod limits {
    /// The session cookie.
    pub const SESSION_COOKIE: &str = "memwarden_session";
    /// The login form's double-submit CSRF cookie.
    pub const LOGIN_COOKIE: &str = "memwarden_login";
    /// How long a session lasts after login, in seconds (a working day).
    pub const SESSION_SECONDS: u64 = 8 * 3600;
    /// How long a login form stays valid, in seconds.
    pub const LOGIN_FORM_SECONDS: u64 = 3600;
    /// The most sessions kept at once; the oldest go first beyond it, so
    /// a flood of logins cannot grow memory without bound.
    pub const MAX_SESSIONS: usize = 10_000;
}

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 (hex) of the key that logged in; never the key.
    pub key_sha256: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    expires: Instant,
}

/// The sessions of this process.
#[derive(Debug, Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

/// Why no session could be made.
#[derive(Debug, thiserror::Error)]
#[error("no entropy for a session token: {0}")]
pub struct NoEntropyError(getrandom::Error);

impl Sessions {
    /// Opens a session for the key with this hash; returns its token.
    pub fn open(&self, key_sha256: String) -> Result<String, NoEntropyError> {
        let token = random_token()?;
        let csrf = random_token()?;
        let expires = Instant::now() + Duration::from_secs(limits::SESSION_SECONDS);
        let mut sessions = self.lock();
        let now = Instant::now();
        sessions.retain(|_, session| session.expires > now);
        if sessions.len() >= limits::MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.expires).map(|(t, _)| t.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(token.clone(), Session { key_sha256, csrf, expires });
        Ok(token)
    }

    /// The live session of `token`.
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut sessions = self.lock();
        match sessions.get(token) {
            Some(session) if session.expires > Instant::now() => Some(session.clone()),
            Some(_) => {
                sessions.remove(token);
                None
            }
            None => None,
        }
    }

    /// Ends the session of `token`.
    pub fn close(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the map cannot leave it half-updated (each
        // change is one call), so a poisoned lock is still usable.
        self.by_token.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// 32 random bytes, hex.
pub fn random_token() -> Result<String, NoEntropyError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(NoEntropyError)?;
    Ok(hex::encode(bytes))
}

/// Whether two tokens are equal, in time that does not depend on where
/// they first differ.
pub fn same_token(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && !expected.is_empty()
        && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the browser reached us over TLS: `serve` speaks plain HTTP, so
/// TLS is a proxy's, which says so in `X-Forwarded-Proto`. The header only
/// ever adds `Secure`, so a forged one cannot weaken a cookie.
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, path `/ui`,
/// `Secure` when `secure`; `max_age_seconds` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/ui; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure}");
    // INVARIANT: names are constants and values are hex tokens: always a
    // valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("memwarden_invalid=1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_token_until_closed() {
        let sessions = Sessions::default();
        let token = sessions.open("abc".to_string()).expect("token");
        let session = sessions.get(&token).expect("live");
        assert_eq!(session.key_sha256, "abc");
        assert_eq!(session.csrf.len(), 64);
        assert!(sessions.get("not-a-token").is_none());
        sessions.close(&token);
        assert!(sessions.get(&token).is_none());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abcd", "abcd"));
        assert!(!same_token("abce", "abcd"));
        assert!(!same_token("abc", "abcd"));
        assert!(!same_token("", ""));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("xmemwarden_session=1; memwarden_session=2"));
        assert_eq!(cookie(&headers, limits::SESSION_COOKIE), Some("2"));
        let value = set_cookie(limits::SESSION_COOKIE, "t", 60, true);
        let text = value.to_str().expect("text");
        assert!(text.contains("HttpOnly") && text.contains("SameSite=Strict") && text.ends_with("Secure"));
    }
}
