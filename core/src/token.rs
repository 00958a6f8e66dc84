//! Identity token lifetime and refresh policy.
//!
//! A token's life is measured on the host's monotonic clock from the moment its
//! response was received, using `expires_in` (or `expires_at - created_at`), never
//! the wall clock: instances often boot with a wrong clock.
//!
//! # Refresh margin
//!
//! A token is *fresh* until `lifetime - margin`, where
//! `margin = clamp(lifetime / 5, 1 s, 300 s)`; after that it is *stale* (still valid,
//! but a refresh should start), and it is *expired* one second before the
//! lifetime ends. Why:
//! - 20 % of the lifetime is the point IBM's own SDK cores refresh at, and it
//!   scales: a 5 s token refreshes after 4 s, a 60 s token after 48 s;
//! - the floor of 1 s covers the whole-second resolution of `expires_in` and up to
//!   a second the response spent in flight (the service started the clock first;
//!   lifetimes are judged from receipt, so a slower answer eats into the margin);
//! - the cap of 5 minutes stops an hour-long token being replaced 12 minutes early
//!   for no benefit.
//!
//! # A failed refresh
//!
//! When refreshing a stale token fails (an error status, a timeout, a lost
//! connection, a token response that cannot be used) the stale token serves at
//! once: the refresh is not retried, which would spend the operation's time on a
//! token that still works. No refresh starts again for the request timeout, or the
//! `Retry-After` when longer ([`TokenCache::hold_refresh`]), in this operation or a
//! later one, and in every session sharing the cache; an expired token is fetched
//! whatever the hold.
//!
//! # Single flight
//!
//! [`TokenCache::lease`] tells each caller either to use the token, to refresh it
//! (and from then on the cache knows a refresh is in flight), or to wait for the
//! refresh somebody else started. Multi-threaded hosts keep one cache behind a lock
//! and wait on a condition variable when told to.
//!
//! # One clock per shared cache
//!
//! Token times are instants on the host's clock. Every session that shares a cache
//! must read the same monotonic clock with the same origin; a session whose clock
//! starts elsewhere would judge a shared token fresh long after it expired (or
//! expired at once). The `vpc-imds-driver` crate checks this in debug builds (a
//! shared token received "after now" fails an assertion).

use core::fmt;
use core::time::Duration;

use heapless::String;

use crate::time::Instant;

/// Longest token kept, in bytes (identity tokens are about 1 to 2 KiB).
pub const TOKEN_CAPACITY: usize = 4096;

/// A token that never shows itself in `Debug` or `Display`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret<'a>(&'a str);

impl<'a> Secret<'a> {
    /// Wraps a token.
    pub const fn new(token: &'a str) -> Self {
        Secret(token)
    }

    /// The token itself. Call this only to put it on the wire or hand it to the user.
    pub const fn expose(&self) -> &'a str {
        self.0
    }

    /// Length of the token in bytes.
    pub const fn len(&self) -> usize {
        self.0.len()
    }

    /// True if the token is empty.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted, {} bytes>)", self.0.len())
    }
}

impl fmt::Display for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How usable the cached token is at some moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// No token is cached.
    Missing,
    /// Valid and not yet due for refresh.
    Fresh,
    /// Still valid, but due for refresh.
    Stale,
    /// Past its usable life; must not be sent.
    Expired,
}

/// What a caller should do about the token right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lease {
    /// Use the cached token.
    Use,
    /// Fetch a new token; the cache now records a refresh in flight until
    /// [`TokenCache::store`] or [`TokenCache::abandon_refresh`].
    Refresh,
    /// Another caller is refreshing and there is no usable token: wait for it.
    Wait,
}

/// Times the refresh policy derives from a lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// From receipt until a refresh should start.
    pub refresh_after: Duration,
    /// From receipt until the token must no longer be sent.
    pub expire_after: Duration,
}

impl Schedule {
    /// The schedule for a token living `lifetime_secs` seconds (see the module docs).
    ///
    /// ```
    /// use core::time::Duration;
    /// use vpc_imds_core::token::Schedule;
    /// let s = Schedule::for_lifetime(300);
    /// assert_eq!(s.refresh_after, Duration::from_secs(240));
    /// assert_eq!(s.expire_after, Duration::from_secs(299));
    /// ```
    pub fn for_lifetime(lifetime_secs: u32) -> Schedule {
        let life = u64::from(lifetime_secs) * 1000;
        let margin = (life / 5).clamp(1000, 300_000);
        Schedule {
            refresh_after: Duration::from_millis(life.saturating_sub(margin)),
            expire_after: Duration::from_millis(life.saturating_sub(1000)),
        }
    }
}

/// The cached identity token and its schedule.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenCache {
    token: String<TOKEN_CAPACITY>,
    received_at: Instant,
    lifetime_secs: u32,
    refreshing: bool,
    /// A refresh of this (stale) token failed: none starts before this instant.
    hold_until: Instant,
}

/// A token longer than [`TOKEN_CAPACITY`] was offered to the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenTooLong;

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new()
    }
}

impl TokenCache {
    /// An empty cache.
    pub const fn new() -> Self {
        TokenCache {
            token: String::new(),
            received_at: Instant::ZERO,
            lifetime_secs: 0,
            refreshing: false,
            hold_until: Instant::ZERO,
        }
    }

    /// How usable the token is at `now`.
    pub fn freshness(&self, now: Instant) -> Freshness {
        if self.token.is_empty() {
            return Freshness::Missing;
        }
        let age = now.since(self.received_at);
        let schedule = Schedule::for_lifetime(self.lifetime_secs);
        if age >= schedule.expire_after {
            Freshness::Expired
        } else if age >= schedule.refresh_after {
            Freshness::Stale
        } else {
            Freshness::Fresh
        }
    }

    /// The token, if it may still be sent at `now`.
    pub fn token(&self, now: Instant) -> Option<Secret<'_>> {
        match self.freshness(now) {
            Freshness::Fresh | Freshness::Stale => Some(Secret(&self.token)),
            Freshness::Missing | Freshness::Expired => None,
        }
    }

    /// When the token was received, if one is cached (on the clock of whoever stored it).
    pub fn received_at(&self) -> Option<Instant> {
        (!self.token.is_empty()).then_some(self.received_at)
    }

    /// When a refresh should start, if a token is cached.
    pub fn refresh_at(&self) -> Option<Instant> {
        (!self.token.is_empty())
            .then(|| self.received_at + Schedule::for_lifetime(self.lifetime_secs).refresh_after)
    }

    /// When the token stops being usable, if one is cached.
    pub fn expires_at(&self) -> Option<Instant> {
        (!self.token.is_empty())
            .then(|| self.received_at + Schedule::for_lifetime(self.lifetime_secs).expire_after)
    }

    /// Whether a refresh is in flight.
    pub fn is_refreshing(&self) -> bool {
        self.refreshing
    }

    /// Decides, single-flight, what the caller should do at `now`.
    ///
    /// A stale token is used while someone else refreshes it, and until the
    /// [hold](Self::hold_refresh) after a failed refresh ends.
    pub fn lease(&mut self, now: Instant) -> Lease {
        match (self.freshness(now), self.refreshing) {
            (Freshness::Fresh, _) | (Freshness::Stale, true) => Lease::Use,
            (Freshness::Stale, false) if self.refresh_held(now) => Lease::Use,
            (Freshness::Missing | Freshness::Expired, true) => Lease::Wait,
            (_, false) => {
                self.refreshing = true;
                Lease::Refresh
            }
        }
    }

    /// Ends a refresh that failed; the next lease may start another.
    pub fn abandon_refresh(&mut self) {
        self.refreshing = false;
    }

    /// A refresh of the stale token failed: use it, without starting another
    /// refresh, before `until` (while it stays valid). Holds only grow; a new token
    /// ends the hold.
    pub fn hold_refresh(&mut self, until: Instant) {
        self.hold_until = self.hold_until.max(until);
    }

    /// Whether a [hold](Self::hold_refresh) keeps the token from being refreshed at `now`.
    pub fn refresh_held(&self, now: Instant) -> bool {
        now < self.hold_until
    }

    /// Stores a token received at `received_at` that lives `lifetime_secs` seconds,
    /// and ends any refresh in flight.
    pub fn store(
        &mut self,
        token: &str,
        lifetime_secs: u32,
        received_at: Instant,
    ) -> Result<(), TokenTooLong> {
        self.refreshing = false;
        self.token.clear();
        self.token.push_str(token).map_err(|_| {
            self.token.clear();
            TokenTooLong
        })?;
        self.received_at = received_at;
        self.lifetime_secs = lifetime_secs;
        self.hold_until = Instant::ZERO;
        Ok(())
    }

    /// Copies another cache's token (e.g. from a host's shared cache into a session).
    pub fn copy_from(&mut self, other: &TokenCache) {
        self.token.clone_from(&other.token);
        self.received_at = other.received_at;
        self.lifetime_secs = other.lifetime_secs;
        self.hold_until = other.hold_until;
    }

    /// Takes on `other`'s hold if it holds the same token (one received at the same
    /// instant) and holds it longer; returns whether the hold grew.
    pub fn share_hold(&mut self, other: &TokenCache) -> bool {
        let grows = other.hold_until > self.hold_until
            && !self.token.is_empty()
            && other.received_at == self.received_at;
        if grows {
            self.hold_until = other.hold_until;
        }
        grows
    }

    /// The token held, usable or not (to redact it from text the service sends back).
    pub(crate) fn held(&self) -> &str {
        &self.token
    }

    /// Forgets the token (e.g. after the service rejected it).
    pub fn clear(&mut self) {
        self.token.clear();
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("token", &Secret(&self.token))
            .field("received_at", &self.received_at)
            .field("lifetime_secs", &self.lifetime_secs)
            .field("refreshing", &self.refreshing)
            .field("hold_until", &self.hold_until)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn schedule_for_documented_lifetimes() {
        let cases = [
            (5, 4_000, 4_000),
            (60, 48_000, 59_000),
            (300, 240_000, 299_000),
            (3600, 3_300_000, 3_599_000),
        ];
        for (life, refresh, expire) in cases {
            let s = Schedule::for_lifetime(life);
            assert_eq!(s.refresh_after, Duration::from_millis(refresh), "{life}");
            assert_eq!(s.expire_after, Duration::from_millis(expire), "{life}");
        }
    }

    #[test]
    fn freshness_follows_the_clock_from_receipt() {
        let mut c = TokenCache::new();
        assert_eq!(c.freshness(at(0)), Freshness::Missing);
        c.store("t", 60, at(1_000)).unwrap();
        assert_eq!(c.freshness(at(48_999)), Freshness::Fresh);
        assert_eq!(c.freshness(at(49_000)), Freshness::Stale);
        assert!(c.token(at(59_999)).is_some());
        assert_eq!(c.freshness(at(60_000)), Freshness::Expired);
        assert!(c.token(at(60_000)).is_none());
    }

    #[test]
    fn lease_is_single_flight() {
        let mut c = TokenCache::new();
        assert_eq!(c.lease(at(0)), Lease::Refresh);
        assert_eq!(c.lease(at(0)), Lease::Wait);
        c.store("t", 60, at(10)).unwrap();
        assert_eq!(c.lease(at(20)), Lease::Use);
        assert_eq!(c.lease(at(50_000)), Lease::Refresh);
        assert_eq!(
            c.lease(at(50_001)),
            Lease::Use,
            "stale token is used while refreshing"
        );
        c.abandon_refresh();
        assert_eq!(c.lease(at(70_000)), Lease::Refresh);
    }

    #[test]
    fn debug_redacts() {
        let mut c = TokenCache::new();
        c.store("eyJsecret", 60, at(0)).unwrap();
        let mut s: String<256> = String::new();
        core::fmt::write(&mut s, format_args!("{c:?} {}", Secret::new("eyJsecret"))).unwrap();
        assert!(!s.contains("eyJsecret"), "{s}");
    }
}
