//! JWT-shaped tokens, random IDs, and the server-side record of issued tokens.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

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
///
/// Expired tokens stay recognised (refused as expired, not unknown) while the
/// store is small; above [`PRUNE_ABOVE`] tokens, each insert forgets the tokens
/// that have expired by then, oldest expiry first, through a min-heap on
/// expiry: O(log n) amortised per token instead of a scan of the whole map.
#[derive(Default)]
pub(crate) struct TokenStore {
    inner: RwLock<Tokens>,
}

#[derive(Default)]
struct Tokens {
    /// Token -> expiry.
    map: HashMap<Arc<str>, i64>,
    /// (expiry, token), soonest first; one entry per token in `map`.
    by_expiry: BinaryHeap<Reverse<(i64, Arc<str>)>>,
}

/// Above this many remembered tokens, expired ones are forgotten on insert.
pub(crate) const PRUNE_ABOVE: usize = 4096;

impl TokenStore {
    pub fn insert(&self, token: String, expires_at_ms: i64, now_ms: i64) {
        let token: Arc<str> = token.into();
        let mut t = crate::lock_write(&self.inner);
        while t.map.len() >= PRUNE_ABOVE {
            match t.by_expiry.peek() {
                Some(Reverse((exp, _))) if *exp <= now_ms => {}
                _ => break,
            }
            if let Some(Reverse((_, old))) = t.by_expiry.pop() {
                t.map.remove(&old);
            }
        }
        // A repeated token (never in practice: 256 random bytes) keeps one heap entry.
        if t.map.insert(token.clone(), expires_at_ms).is_some() {
            t.by_expiry.retain(|Reverse((_, k))| *k != token);
        }
        t.by_expiry.push(Reverse((expires_at_ms, token)));
    }

    pub fn check(&self, token: &str, now_ms: i64) -> Result<(), Refusal> {
        match lock_read(&self.inner).map.get(token) {
            None => Err(Refusal::Unknown),
            Some(&exp) if exp <= now_ms => Err(Refusal::Expired),
            Some(_) => Ok(()),
        }
    }

    /// Every token issued so far is expired from now on (but still recognised).
    /// A control operation: rebuilds the expiry heap, O(n).
    pub fn expire_all(&self, now_ms: i64) {
        let mut t = crate::lock_write(&self.inner);
        let Tokens { map, by_expiry } = &mut *t;
        let mut entries = std::mem::take(by_expiry).into_vec();
        for Reverse((exp, token)) in &mut entries {
            *exp = (*exp).min(now_ms);
            if let Some(e) = map.get_mut(token) {
                *e = *exp;
            }
        }
        *by_expiry = BinaryHeap::from(entries);
    }

    /// How many tokens are remembered (live or recently expired).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let t = lock_read(&self.inner);
        debug_assert_eq!(t.map.len(), t.by_expiry.len());
        t.map.len()
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

    #[test]
    fn store_forgets_expired_tokens_and_stays_bounded() {
        let s = TokenStore::default();
        // Many rounds of short-lived tokens: each round's tokens have expired
        // by the next, so the store never holds much more than PRUNE_ABOVE.
        let round = PRUNE_ABOVE / 2;
        for r in 0..10_i64 {
            let now = r * 1000;
            for i in 0..round {
                s.insert(format!("r{r}-{i}"), now + 500, now);
            }
            assert!(s.len() <= PRUNE_ABOVE + round, "round {r}: {}", s.len());
        }
        let now = 9000;
        // The newest tokens are live; the oldest ones are forgotten; an expired
        // one that is still remembered is refused as expired, never accepted.
        assert_eq!(s.check("r9-0", now), Ok(()));
        assert_eq!(s.check("r0-0", now), Err(Refusal::Unknown));
        assert_eq!(s.check("r8-0", now), Err(Refusal::Expired));
        assert_eq!(s.check("r9-0", now + 500), Err(Refusal::Expired));
    }

    /// Issue 10 item 6: each insert used to scan the whole map once it held
    /// PRUNE_ABOVE tokens, so 40k live tokens cost ~40k visits per insert
    /// (O(n^2) to get here: tens of seconds in a debug build). Now: well under 1 s.
    #[test]
    fn insert_cost_does_not_grow_with_live_tokens() {
        let s = TokenStore::default();
        let started = std::time::Instant::now();
        for i in 0..40_000 {
            s.insert(format!("live{i}"), 3_600_000, 0);
        }
        for i in 0..4_000 {
            s.insert(format!("more{i}"), 3_600_000, 1000);
        }
        let took = started.elapsed();
        assert_eq!(s.len(), 44_000);
        assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    }

    #[test]
    fn store_keeps_live_tokens_and_prunes_in_expiry_order() {
        let s = TokenStore::default();
        // Live tokens are never forgotten, however many there are.
        for i in 0..PRUNE_ABOVE + 10 {
            s.insert(format!("live{i}"), 1_000_000, 0);
        }
        assert_eq!(s.len(), PRUNE_ABOVE + 10);
        // Expiry order, not insertion order, decides what goes first.
        s.insert("late".into(), 20, 0);
        s.insert("early".into(), 10, 0);
        s.insert("new".into(), 1_000_000, 15);
        assert_eq!(s.check("early", 15), Err(Refusal::Unknown));
        assert_eq!(s.check("late", 15), Ok(()));
        s.insert("newer".into(), 1_000_000, 25);
        assert_eq!(s.check("late", 25), Err(Refusal::Unknown));
        assert_eq!(s.len(), PRUNE_ABOVE + 12);
        // expire_all keeps the heap in step: the next insert forgets them all.
        s.expire_all(30);
        assert_eq!(s.check("live0", 30), Err(Refusal::Expired));
        s.insert("fresh".into(), 1000, 30);
        assert_eq!(s.len(), PRUNE_ABOVE);
        assert_eq!(s.check("fresh", 30), Ok(()));
    }
}
