//! `vpc_imds._core.TokenStore`: one token shared by every operation of a client
//! (and every thread), with the core's single-flight lease deciding who fetches.
//!
//! Two uses:
//! - the identity token of a client's sessions: `acquire`, `publish` and `release`
//!   lock the cache and call the core session's `seed_from`, `publish_to` and
//!   `release_lease` (all the policy is the core's), waking waiters when it says so;
//! - any other token (the IAM token of the IBM SDK adapter): `lease`, `token`,
//!   `store`, `abandon`.
//!
//! Blocking waits (`wait`) release the GIL; asyncio hosts wait on their own event
//! and use only the non-blocking methods.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use pyo3::prelude::*;
use vpc_imds_core::session::Seed;
use vpc_imds_core::time::Instant;
use vpc_imds_core::token::{Freshness, Lease, TokenCache};

use crate::session::Session;

/// `acquire`: the session may run; it holds no lease.
pub(crate) const PROCEED: u8 = 0;
/// `acquire`: the session may run and must refresh the token (it holds the lease).
pub(crate) const PROCEED_LEASED: u8 = 1;
/// `acquire` and `lease`: another caller is fetching the token; wait, then retry.
pub(crate) const WAIT: u8 = 2;
/// `lease`: use the cached token.
pub(crate) const USE: u8 = 0;
/// `lease`: fetch a new token, then `store` it (or `abandon`).
pub(crate) const REFRESH: u8 = 1;

/// A token cache shared by threads; see the module docs.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct TokenStore {
    cache: Mutex<TokenCache>,
    changed: Condvar,
}

impl TokenStore {
    fn lock(&self) -> MutexGuard<'_, TokenCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl TokenStore {
    #[new]
    fn new() -> Self {
        TokenStore {
            cache: Mutex::new(TokenCache::new()),
            changed: Condvar::new(),
        }
    }

    /// Seeds `session` (whose operation has started) with the shared token at `now_ms`
    /// (the core's `Session::seed_from`).
    ///
    /// Returns `PROCEED` (0), `PROCEED_LEASED` (1: this session fetches the token for
    /// everyone; `publish` after each exchange, `release` when the operation ends) or
    /// `WAIT` (2: `wait`, then call again).
    fn acquire(&self, mut session: PyRefMut<'_, Session>, now_ms: u64) -> u8 {
        let now = Instant::from_millis(now_ms);
        match session.core.seed_from(&mut self.lock(), now) {
            Seed::Proceed => PROCEED,
            Seed::ProceedLeased => PROCEED_LEASED,
            Seed::Wait => WAIT,
        }
    }

    /// Publishes a token `session` obtained since it was seeded or last published,
    /// ending its lease (the core's `Session::publish_to`). Returns whether the
    /// shared token changed (waiters are woken).
    fn publish(&self, mut session: PyRefMut<'_, Session>, now_ms: u64) -> bool {
        let now = Instant::from_millis(now_ms);
        let changed = session.core.publish_to(&mut self.lock(), now);
        if changed {
            self.changed.notify_all();
        }
        changed
    }

    /// Ends `session`'s lease, if it still holds one (its refresh failed or was
    /// abandoned; the core's `Session::release_lease`). Returns whether waiters were
    /// woken.
    fn release(&self, mut session: PyRefMut<'_, Session>) -> bool {
        let released = session.core.release_lease(&mut self.lock());
        if released {
            self.changed.notify_all();
        }
        released
    }

    /// Blocks (without the GIL) until the token changes or `timeout` seconds pass.
    fn wait(&self, py: Python<'_>, timeout: f64) {
        let timeout = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX);
        py.detach(|| {
            let guard = self.lock();
            if !guard.is_refreshing() {
                return;
            }
            let _ = self.changed.wait_timeout(guard, timeout);
        });
    }

    /// Single-flight decision at `now_ms`: `USE` (0), `REFRESH` (1: fetch, then
    /// `store` or `abandon`) or `WAIT` (2).
    fn lease(&self, now_ms: u64) -> u8 {
        match self.lock().lease(Instant::from_millis(now_ms)) {
            Lease::Use => USE,
            Lease::Refresh => REFRESH,
            Lease::Wait => WAIT,
        }
    }

    /// The token, if it may still be sent at `now_ms`.
    fn token(&self, now_ms: u64) -> Option<String> {
        self.lock()
            .token(Instant::from_millis(now_ms))
            .map(|t| t.expose().to_owned())
    }

    /// Stores a token received at `now_ms` that lives `lifetime` seconds, ending the
    /// refresh in flight. Returns `False` (and keeps nothing) if the token is longer
    /// than the core's capacity (4 KiB).
    fn store(&self, token: &str, lifetime: u32, now_ms: u64) -> bool {
        let ok = self
            .lock()
            .store(token, lifetime, Instant::from_millis(now_ms))
            .is_ok();
        if !ok {
            self.lock().abandon_refresh();
        }
        self.changed.notify_all();
        ok
    }

    /// Ends a refresh that failed; the next `lease` may start another.
    fn abandon(&self) {
        self.lock().abandon_refresh();
        self.changed.notify_all();
    }

    /// Forgets the token.
    fn clear(&self) {
        self.lock().clear();
    }

    /// `missing`, `fresh`, `stale` or `expired` at `now_ms`.
    fn freshness(&self, now_ms: u64) -> &'static str {
        match self.lock().freshness(Instant::from_millis(now_ms)) {
            Freshness::Missing => "missing",
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
            Freshness::Expired => "expired",
        }
    }

    /// When a refresh is due (ms on the session clock), if a token is cached.
    #[getter]
    fn refresh_at_ms(&self) -> Option<u64> {
        self.lock().refresh_at().map(Instant::as_millis)
    }

    /// When the token stops being usable (ms), if one is cached.
    #[getter]
    fn expires_at_ms(&self) -> Option<u64> {
        self.lock().expires_at().map(Instant::as_millis)
    }

    /// Whether a refresh is in flight.
    #[getter]
    fn refreshing(&self) -> bool {
        self.lock().is_refreshing()
    }

    fn __repr__(&self) -> String {
        format!("TokenStore({:?})", *self.lock())
    }
}
