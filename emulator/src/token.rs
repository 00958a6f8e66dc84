//! JWT-shaped tokens, random IDs, and the server-side record of issued tokens.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::lock_read;

/// Non-cryptographic unique randomness: splitmix64 over an atomic counter seeded
/// from the OS. Tokens here only need to be unique and unguessable-looking.
pub(crate) struct Ids {
    next: AtomicU64,
}

impl Ids {
    pub fn new() -> Self {
        let mut seed = [0u8; 8];
        // A time-based seed is good enough if the OS source is unavailable.
        if getrandom::fill(&mut seed).is_err() {
            seed = (crate::clock::system_now_ms() as u64).to_le_bytes();
        }
        Ids {
            next: AtomicU64::new(u64::from_le_bytes(seed)),
        }
    }

    pub fn u64(&self) -> u64 {
        let mut z = self
            .next
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn bytes(&self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// A random (version 4 shaped) UUID string, used for `trace` and `jti`.
    pub fn uuid(&self) -> String {
        let (a, b) = (self.u64(), self.u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// `base64url(header).base64url(payload).base64url(fake signature)`.
pub(crate) fn jwt(header: &Value, payload: &Value, signature: &[u8]) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        enc(header),
        enc(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// Adds the per-token claims to a claim template.
pub(crate) fn claims(template: &Map<String, Value>, extra: &[(&str, Value)]) -> Value {
    let mut m = template.clone();
    for (k, v) in extra {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unknown,
    Expired,
}

/// Issued identity tokens and their expiry (emulator-clock milliseconds).
#[derive(Default)]
pub(crate) struct TokenStore {
    map: RwLock<HashMap<String, i64>>,
}

/// Above this many remembered tokens, expired ones are forgotten on insert.
const PRUNE_ABOVE: usize = 4096;

impl TokenStore {
    pub fn insert(&self, token: String, expires_at_ms: i64, now_ms: i64) {
        let mut map = crate::lock_write(&self.map);
        if map.len() >= PRUNE_ABOVE {
            map.retain(|_, exp| *exp > now_ms);
        }
        map.insert(token, expires_at_ms);
    }

    pub fn check(&self, token: &str, now_ms: i64) -> Result<(), Refusal> {
        match lock_read(&self.map).get(token) {
            None => Err(Refusal::Unknown),
            Some(&exp) if exp <= now_ms => Err(Refusal::Expired),
            Some(_) => Ok(()),
        }
    }

    /// Every token issued so far is expired from now on (but still recognised).
    pub fn expire_all(&self, now_ms: i64) {
        for exp in crate::lock_write(&self.map).values_mut() {
            *exp = (*exp).min(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_uuid_shaped() {
        let ids = Ids::new();
        let a = ids.uuid();
        let b = ids.uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn store_tracks_expiry() {
        let s = TokenStore::default();
        s.insert("t".into(), 1000, 0);
        assert_eq!(s.check("t", 999), Ok(()));
        assert_eq!(s.check("t", 1000), Err(Refusal::Expired));
        assert_eq!(s.check("u", 0), Err(Refusal::Unknown));
        s.expire_all(10);
        assert_eq!(s.check("t", 10), Err(Refusal::Expired));
    }
}
