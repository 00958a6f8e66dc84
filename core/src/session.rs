//! The session: one operation at a time, driven by the host.
//!
//! ```text
//!   start(op, now) ──► poll(now) ──► Send(request) ──► host does I/O ──┐
//!                        ▲   │                                         │
//!                        │   └─► Wait(until) ─► host sleeps ─┐         │
//!                        │                                   │         ▼
//!                        └───────────── Pending ◄──── on_response(id, ..) / on_transport_error(id, ..)
//!                                        Page(out)           │
//!                                                            ├─► Done(out)
//!                                                            └─► Failed(err)
//! ```
//!
//! Every request carries a [`RequestId`]; a response or error fed back for any
//! other id is [`Event::Stale`] and changes nothing. A failure is reported where it
//! happens *and* by the next [`Session::poll`], so a host that overlooks an
//! [`Event::Failed`] still meets it in its loop. Most hosts use the
//! `vpc-imds-driver` crate, which runs this loop once for all of them.
//!
//! Token acquisition, refresh after a 401 (exactly once), retries with backoff,
//! `Retry-After`, the operation deadline and pagination all happen inside; the
//! host only moves bytes and sleeps.
//!
//! See the crate documentation for a complete host loop over a `TcpStream`.

use core::fmt::Write as _;

use heapless::String;

use crate::config::Config;
use crate::error::{ApiError, Cause, Error, ErrorKind, InputError, TransportError};
use crate::model::{AccessToken, PageLinks};
use crate::operation::{Resource, Spec};
use crate::paging::next_target;
use crate::request::{Method, Request, RequestId};
use crate::response::{Response, ResponseError};
use crate::retry::Jitter;
use crate::time::Instant;
use crate::token::{Freshness, Lease, TokenCache};

pub use crate::operation::{Operation, TrustedProfile};
pub use crate::output::Output;
pub use crate::paging::MAX_PAGES;
pub use crate::request::{BODY_CAPACITY, TARGET_CAPACITY};

/// What the host should do next.
#[derive(Debug)]
#[must_use = "an action may be a failure, which must not be dropped"]
pub enum Action<'s> {
    /// Send this request and feed back its response or transport error.
    Send(Request<'s>),
    /// Call [`Session::poll`] again at this time (a backoff, or the deadline of the
    /// request in flight).
    Wait(Instant),
    /// The operation failed (its deadline passed).
    Failed(Error),
    /// No operation is running.
    Idle,
}

/// The outcome of feeding a response or a transport error.
#[derive(Debug)]
#[must_use = "an event may be the result or a failure, which must not be dropped"]
pub enum Event<'b> {
    /// Nothing for the caller yet; call [`Session::poll`].
    Pending,
    /// One page of a list; more follow, so call [`Session::poll`].
    Page(Output<'b>),
    /// The operation finished with this result.
    Done(Output<'b>),
    /// The operation failed (the next [`Session::poll`] reports it once more).
    Failed(Error),
    /// The response or error answers a request that is not the one awaited (it
    /// timed out, or another operation started since); it was ignored.
    Stale,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Ready to send the next request.
    Ready,
    /// A token request is in flight.
    AwaitingToken,
    /// The operation's own request is in flight.
    AwaitingMain,
    /// Backing off until then.
    Waiting(Instant),
}

/// How many of the pages last read a `next.href` is checked against.
const SEEN_PAGES: usize = 8;

/// FNV-1a of a request target (a repeat of a page, not a secret: collisions only
/// risk calling a listing of 2^64-odd targets a loop).
fn target_hash(target: &str) -> u64 {
    target.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Clone, Debug)]
struct Running {
    spec: &'static Spec,
    /// Follows `next.href`.
    paged: bool,
    phase: Phase,
    deadline: Instant,
    request_deadline: Instant,
    /// Attempts of the request currently being tried.
    attempts: u8,
    /// The one refresh a 401 may force has been used.
    refreshed_after_401: bool,
    /// A stale token is being refreshed; on failure the stale one may still serve.
    refreshing_stale: bool,
    /// Refreshing the stale token failed; use it while it lasts.
    use_stale: bool,
    pages: u32,
    /// Hashes of the last [`SEEN_PAGES`] pages' targets (the first page's included):
    /// a `next.href` back to one of them is a loop.
    seen: [u64; SEEN_PAGES],
    /// Lifetime asked for in the pending token request.
    token_lifetime: u32,
}

/// A client session: configuration, the cached identity token, and at most one
/// running operation. See the [module docs](self).
#[derive(Debug)]
pub struct Session {
    config: Config,
    tokens: TokenCache,
    jitter: Jitter,
    run: Option<Running>,
    target: String<TARGET_CAPACITY>,
    body: String<BODY_CAPACITY>,
    has_body: bool,
    token_target: String<64>,
    /// `{"expires_in":N}`, with `,"nonce":"..."` for an identity token that asks.
    token_body: String<TOKEN_BODY_CAPACITY>,
    /// Expiry of the token last exchanged with a shared cache (seeded or published).
    shared_seen: Option<Instant>,
    /// This session holds the shared cache's refresh lease.
    holds_lease: bool,
    /// The id the next request gets.
    next_id: u64,
    /// The request whose response is awaited.
    awaiting: Option<RequestId>,
    /// A failure not yet reported by `poll`.
    failed: Option<Error>,
}

/// What [`Session::seed_from`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seed {
    /// Go on: the session has the shared token, or refreshes nothing.
    Proceed,
    /// Go on: this session fetches the token for everyone; call
    /// [`Session::publish_to`] when it has one and [`Session::release_lease`] when
    /// the operation ends.
    ProceedLeased,
    /// Another session is fetching the token and none is usable: wait until the
    /// shared cache changes (or a short timeout), then call `seed_from` again.
    Wait,
}

impl Session {
    /// A session with `config`; `seed` feeds retry jitter (use host entropy).
    pub fn new(config: Config, seed: u64) -> Self {
        let mut s = Session {
            config,
            tokens: TokenCache::new(),
            jitter: Jitter::new(seed),
            run: None,
            target: String::new(),
            body: String::new(),
            has_body: false,
            token_target: String::new(),
            token_body: String::new(),
            shared_seen: None,
            holds_lease: false,
            next_id: 0,
            awaiting: None,
            failed: None,
        };
        s.build_token_request(s.config.token_lifetime(), None);
        s
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sets the timeouts of the operations started from now on (a host's wait for
    /// readiness caps them to the time it has left, then puts them back). The token,
    /// the request ids and the jitter go on. `invalid_input` while an operation runs.
    pub fn set_timeouts(&mut self, timeouts: crate::config::Timeouts) -> Result<(), Error> {
        if self.run.is_some() {
            return Err(InputError::Busy.into());
        }
        self.config.timeouts = timeouts;
        Ok(())
    }

    /// The cached identity token (to share with other sessions).
    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// The cached identity token, mutably (to seed it from a host's shared cache).
    pub fn tokens_mut(&mut self) -> &mut TokenCache {
        &mut self.tokens
    }

    /// Whether an operation is running.
    pub fn is_busy(&self) -> bool {
        self.run.is_some()
    }

    /// Abandons the running operation, if any.
    pub fn cancel(&mut self) {
        self.run = None;
        self.awaiting = None;
        self.failed = None;
    }

    /// The request whose response the session awaits, if any.
    pub fn awaiting(&self) -> Option<RequestId> {
        self.awaiting
    }

    /// Tells the running operation that another holder of a host's shared token
    /// cache is already refreshing the token (its [`lease`](TokenCache::lease) said
    /// [`Lease::Use`] for a stale token): send the cached
    /// token while it is still valid instead of refreshing it too. An expired or
    /// missing token is still fetched, and a 401 still forces its one refresh.
    ///
    /// Does nothing when no operation is running.
    pub fn defer_refresh(&mut self) {
        if let Some(run) = self.run.as_mut().filter(|r| !r.is_identity_token()) {
            run.use_stale = true;
        }
    }

    /// Seeds the started operation from a cache shared by several sessions (threads,
    /// tasks), single-flight: at most one session refreshes the shared token while
    /// the others wait, or use the stale token while it is still valid.
    ///
    /// Call after [`start`](Self::start) and before the first [`poll`](Self::poll);
    /// after each event call [`publish_to`](Self::publish_to), and when the operation
    /// ends [`release_lease`](Self::release_lease). The host only adds the lock and
    /// the waiting. Every session sharing `shared` must use one clock with one origin
    /// (see [`token`](crate::token#one-clock-per-shared-cache)).
    pub fn seed_from(&mut self, shared: &mut TokenCache, now: Instant) -> Seed {
        let needs_token = self.run.as_ref().is_some_and(|r| !r.is_identity_token());
        if !needs_token {
            return Seed::Proceed;
        }
        if shared.freshness(now) == Freshness::Fresh {
            self.adopt(shared);
            // Should it turn stale during this operation, it is refreshed through the
            // next operation's lease (single flight, and within no hold), not here.
            self.defer_refresh();
            return Seed::Proceed;
        }
        match shared.lease(now) {
            Lease::Refresh => {
                // A stale token still serves if the refresh fails; an expired one is
                // replaced by the session.
                self.adopt(shared);
                self.holds_lease = true;
                Seed::ProceedLeased
            }
            Lease::Use => {
                self.adopt(shared);
                self.defer_refresh();
                Seed::Proceed
            }
            Lease::Wait => Seed::Wait,
        }
    }

    fn adopt(&mut self, shared: &TokenCache) {
        self.tokens.copy_from(shared);
        self.shared_seen = self.tokens.expires_at();
    }

    /// Copies a token this session obtained since it was seeded (or last published)
    /// into `shared`, if it outlives the shared one, and ends this session's lease.
    ///
    /// Returns whether `shared` changed, i.e. whether waiters should be woken.
    pub fn publish_to(&mut self, shared: &mut TokenCache, now: Instant) -> bool {
        shared.share_hold(&self.tokens);
        let expires = self.tokens.expires_at();
        if expires == self.shared_seen {
            return false;
        }
        self.shared_seen = expires;
        if self.tokens.token(now).is_none() {
            // Cleared after a 401: the replacement is published when it arrives.
            return false;
        }
        if shared.expires_at() < expires {
            shared.copy_from(&self.tokens);
        }
        if core::mem::take(&mut self.holds_lease) {
            shared.abandon_refresh();
        }
        true
    }

    /// Ends a lease whose refresh failed or was abandoned (call when an operation
    /// ends; harmless otherwise). Returns whether waiters should be woken.
    pub fn release_lease(&mut self, shared: &mut TokenCache) -> bool {
        // A hold set with no event after it (a refresh timed out in `poll`, then the
        // operation ended) still reaches the others.
        shared.share_hold(&self.tokens);
        if core::mem::take(&mut self.holds_lease) {
            shared.abandon_refresh();
            true
        } else {
            false
        }
    }

    /// Whether this session holds a shared cache's refresh lease.
    pub fn holds_lease(&self) -> bool {
        self.holds_lease
    }

    /// Starts `op` at `now`. Input is validated here; nothing is sent yet.
    pub fn start(&mut self, op: Operation<'_>, now: Instant) -> Result<(), Error> {
        if self.run.is_some() {
            return Err(InputError::Busy.into());
        }
        self.has_body = op.write_request(&self.config, &mut self.target, &mut self.body)?;
        self.failed = None;
        self.awaiting = None;
        let (token_lifetime, nonce) = match op {
            Operation::IdentityToken { expires_in, nonce } => {
                (expires_in.unwrap_or(self.config.token_lifetime()), nonce)
            }
            _ => (self.config.token_lifetime(), None),
        };
        self.build_token_request(token_lifetime, nonce);
        self.run = Some(Running {
            spec: op.spec(),
            paged: op.follows_pages(),
            phase: Phase::Ready,
            deadline: now + self.config.timeouts.operation,
            request_deadline: now,
            attempts: 0,
            refreshed_after_401: false,
            refreshing_stale: false,
            use_stale: false,
            pages: 0,
            seen: [0; SEEN_PAGES],
            token_lifetime,
        });
        Ok(())
    }

    /// What to do next at `now`.
    pub fn poll(&mut self, now: Instant) -> Action<'_> {
        let Some(run) = self.run.as_mut() else {
            return match self.failed.take() {
                Some(e) => Action::Failed(e),
                None => Action::Idle,
            };
        };
        match run.phase {
            Phase::AwaitingToken | Phase::AwaitingMain if now < run.request_deadline => {
                return Action::Wait(run.request_deadline)
            }
            Phase::AwaitingToken | Phase::AwaitingMain => {
                // The host let the request outlive its deadline: count it as a timeout.
                let timeout = TransportError::ResponseTimeout;
                let id = self.awaiting.unwrap_or(RequestId(u64::MAX));
                if let Event::Failed(e) = self.on_transport_error(id, timeout, now) {
                    self.failed = None;
                    return Action::Failed(e);
                }
                return self.poll(now);
            }
            Phase::Waiting(until) if now < until => return Action::Wait(until),
            Phase::Waiting(_) | Phase::Ready => {}
        }
        if now >= run.deadline {
            self.run = None;
            return Action::Failed(Error::new(ErrorKind::TimedOut, Cause::DeadlineExceeded));
        }
        let wants_token = match run.spec.resource {
            Resource::IdentityToken => true,
            _ => match self.tokens.freshness(now) {
                Freshness::Fresh => false,
                // After a failed refresh (this operation's, or within the hold a
                // failed one set) the stale token serves until it expires.
                Freshness::Stale => {
                    run.refreshing_stale = !run.use_stale && !self.tokens.refresh_held(now);
                    run.refreshing_stale
                }
                Freshness::Missing | Freshness::Expired => true,
            },
        };
        run.request_deadline = (now + self.config.timeouts.request).min(run.deadline);
        run.attempts = run.attempts.saturating_add(1);
        let deadline = run.request_deadline;
        let id = RequestId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        self.awaiting = Some(id);
        if wants_token {
            run.phase = Phase::AwaitingToken;
            Action::Send(Request {
                id,
                method: Method::Put,
                endpoint: self.config.endpoint(),
                target: &self.token_target,
                authorization: None,
                metadata_flavor: true,
                body: Some(&self.token_body),
                deadline,
            })
        } else {
            run.phase = Phase::AwaitingMain;
            let authorization = if run.is_identity_token() {
                None
            } else {
                self.tokens.token(now)
            };
            let spec = run.spec;
            Action::Send(Request {
                id,
                method: spec.method,
                endpoint: self.config.endpoint(),
                target: &self.target,
                authorization,
                metadata_flavor: spec.resource == Resource::IamToken,
                body: self.has_body.then_some(self.body.as_str()),
                deadline,
            })
        }
    }

    /// Feeds the response to request `id`.
    pub fn on_response<'b>(
        &mut self,
        id: RequestId,
        response: &Response<'b>,
        now: Instant,
    ) -> Event<'b> {
        if !self.take_awaited(id) {
            return Event::Stale;
        }
        let Some(run) = self.run.as_ref() else {
            return Event::Failed(misuse());
        };
        // An answer after the request's deadline is a timeout in every host, whether
        // its transport stopped waiting in time or not.
        if now > run.request_deadline {
            return self.transport_error(TransportError::ResponseTimeout, now);
        }
        // What the response reader would have refused (a host's HTTP stack took it).
        if let Some(error) = response.refused() {
            return self.response_error(error, now);
        }
        if response.body().len() > self.config.max_body_bytes {
            return self.response_error(ResponseError::BodyTooLarge, now);
        }
        match run.phase {
            Phase::AwaitingToken => self.on_token_response(response, now),
            Phase::AwaitingMain => self.on_main_response(response, now),
            _ => Event::Failed(misuse()),
        }
    }

    /// Reports that request `id` failed in transport.
    pub fn on_transport_error(
        &mut self,
        id: RequestId,
        error: TransportError,
        now: Instant,
    ) -> Event<'static> {
        if !self.take_awaited(id) {
            return Event::Stale;
        }
        self.transport_error(error, now)
    }

    /// The session counts `id` answered; false if it was not the one awaited.
    fn take_awaited(&mut self, id: RequestId) -> bool {
        if self.awaiting == Some(id) {
            self.awaiting = None;
            true
        } else {
            false
        }
    }

    fn transport_error(&mut self, error: TransportError, now: Instant) -> Event<'static> {
        let Some(run) = self.run.as_ref() else {
            return Event::Failed(misuse());
        };
        if !matches!(run.phase, Phase::AwaitingToken | Phase::AwaitingMain) {
            return Event::Failed(misuse());
        }
        let err = Error::new(error.kind(), Cause::Transport(error));
        if error.is_retryable() {
            self.retry_or_fail(err, None, now)
        } else {
            self.fail_or_fall_back(err, now)
        }
    }

    /// Reports that the response to request `id` could not be read.
    ///
    /// A connection lost mid-response is retried like a transport error; a malformed
    /// or oversized response fails the operation.
    pub fn on_response_error(
        &mut self,
        id: RequestId,
        error: ResponseError,
        now: Instant,
    ) -> Event<'static> {
        if !self.take_awaited(id) {
            return Event::Stale;
        }
        self.response_error(error, now)
    }

    fn response_error(&mut self, error: ResponseError, now: Instant) -> Event<'static> {
        if error.is_connection_loss() {
            return self.transport_error(TransportError::ConnectionLost, now);
        }
        if self.run.is_none() {
            return Event::Failed(misuse());
        }
        self.fail_or_fall_back(Error::new(ErrorKind::BadResponse, Cause::Http(error)), now)
    }

    fn on_token_response<'b>(&mut self, response: &Response<'b>, now: Instant) -> Event<'b> {
        let status = response.status();
        if !(200..300).contains(&status) {
            return self.on_error_status(response, now);
        }
        // A refresh of a stale token that brings no usable token is shrugged off
        // while the stale one is valid, as a refresh that failed otherwise is.
        let token = match AccessToken::parse(response.body()) {
            Ok(t) => t,
            Err(e) => {
                return self
                    .fail_or_fall_back(Error::new(ErrorKind::BadResponse, Cause::Body(e)), now)
            }
        };
        // The token goes into a header: only visible ASCII may pass (JWTs are base64url).
        let Some(secret) = token.header_safe_token() else {
            return self.fail_or_fall_back(
                protocol("the token response holds no usable access_token"),
                now,
            );
        };
        let Some(run) = self.run.as_mut() else {
            return Event::Failed(misuse());
        };
        // A lifetime under 2 s would expire before it could be used.
        // Never trust a lifetime beyond the service's maximum.
        let lifetime = token
            .lifetime_secs()
            .unwrap_or(run.token_lifetime)
            .min(crate::config::MAX_TOKEN_LIFETIME);
        if lifetime < 2 {
            return self
                .fail_or_fall_back(protocol("the token's lifetime is too short to use"), now);
        }
        // Checked before storing: a failed store has already cleared the stale token.
        if secret.expose().len() > crate::token::TOKEN_CAPACITY {
            return self
                .fail_or_fall_back(protocol("the token is longer than the token capacity"), now);
        }
        if self.tokens.store(secret.expose(), lifetime, now).is_err() {
            return self.finish_failed(protocol("the token is longer than the token capacity"));
        }
        if run.is_identity_token() {
            self.run = None;
            return Event::Done(Output::IdentityToken(token));
        }
        run.phase = Phase::Ready;
        run.attempts = 0;
        run.refreshing_stale = false;
        Event::Pending
    }

    fn on_main_response<'b>(&mut self, response: &Response<'b>, now: Instant) -> Event<'b> {
        let status = response.status();
        let Some(run) = self.run.as_mut() else {
            return Event::Failed(misuse());
        };
        if status == 401 && !run.refreshed_after_401 {
            run.refreshed_after_401 = true;
            run.phase = Phase::Ready;
            run.attempts = 0;
            self.tokens.clear();
            return Event::Pending;
        }
        if !(200..300).contains(&status) {
            return self.on_error_status(response, now);
        }
        let body = response.body();
        let (spec, paged) = (run.spec, run.paged);
        // The output is parsed into the event that carries it, never moved (an
        // instance is ~14 KB; a core on a small stack cannot afford copies). So the
        // next page is looked up first; its error counts only if the output parses.
        let more = if paged {
            self.next_page(body)
        } else {
            Ok(false)
        };
        let mut event = match more {
            Ok(true) => Event::Page(Output::Raw(b"")),
            _ => Event::Done(Output::Raw(b"")),
        };
        let (Event::Page(slot) | Event::Done(slot)) = &mut event else {
            return Event::Failed(misuse());
        };
        if let Err(e) = (spec.parse)(body, slot) {
            return self.finish_failed(Error::new(ErrorKind::BadResponse, Cause::Body(e)));
        }
        match more {
            Ok(true) => event,
            Ok(false) => {
                self.run = None;
                event
            }
            Err(e) => self.finish_failed(e),
        }
    }

    /// Prepares the next page's request; `Ok(false)` on the last page.
    fn next_page(&mut self, body: &[u8]) -> Result<bool, Error> {
        let links = PageLinks::parse(body)
            .map_err(|e| Error::new(ErrorKind::BadResponse, Cause::Body(e)))?;
        let Some(next) = links.next else {
            return Ok(false);
        };
        let Some(run) = self.run.as_mut() else {
            return Err(misuse());
        };
        // The page just read, by its target (`pages` counts the pages before it).
        run.seen[run.pages as usize % SEEN_PAGES] = target_hash(&self.target);
        run.pages += 1;
        if run.pages >= MAX_PAGES {
            return Err(protocol("pagination did not end"));
        }
        let mut target: String<TARGET_CAPACITY> = String::new();
        next_target(next.href, &self.config, &mut target)?;
        if target == self.target {
            return Err(protocol("the next page is the page just read"));
        }
        let hash = target_hash(&target);
        let read = (run.pages as usize).min(SEEN_PAGES);
        if run.seen[..read].contains(&hash) {
            return Err(protocol("the next page is a page already read"));
        }
        self.target = target;
        run.phase = Phase::Ready;
        run.attempts = 0;
        // Each page is a request of its own: a token that expires during a long
        // listing gets its one refresh on the page where it expired.
        run.refreshed_after_401 = false;
        Ok(true)
    }

    fn on_error_status<'b>(&mut self, response: &Response<'b>, now: Instant) -> Event<'b> {
        let status = response.status();
        let mut api = ApiError::from_body(status, response.body());
        api.retry_after = response.retry_after();
        // The service may quote the request's Authorization header back.
        let held = self.tokens.held();
        redact(&mut api.message, held);
        redact(&mut api.code, held);
        redact(&mut api.target, held);
        redact(&mut api.trace, held);
        let kind = match status {
            401 | 403 => ErrorKind::Unauthorized,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::ServerError,
            400..=499 => ErrorKind::Rejected,
            _ => ErrorKind::BadResponse,
        };
        let err = Error::new(kind, Cause::Api(api));
        match kind {
            ErrorKind::RateLimited | ErrorKind::ServerError => {
                let floor = response
                    .retry_after()
                    .map(|s| core::time::Duration::from_secs(s.into()));
                self.retry_or_fail(err, floor, now)
            }
            _ => self.fail_or_fall_back(err, now),
        }
    }

    /// Schedules another attempt after a backoff (at least `floor`), or fails when
    /// attempts or time run out.
    fn retry_or_fail<'b>(
        &mut self,
        err: Error,
        floor: Option<core::time::Duration>,
        now: Instant,
    ) -> Event<'b> {
        // A stale token's failed refresh is not retried: the stale token serves.
        if self.fall_back_to_stale(floor, now) {
            return Event::Pending;
        }
        let Some(run) = self.run.as_mut() else {
            return Event::Failed(misuse());
        };
        if !self.config.retry.allows_another(run.attempts) {
            return self.fail_or_fall_back(err, now);
        }
        let retry = u32::from(run.attempts.saturating_sub(1));
        let mut delay = self.config.retry.backoff(retry, self.jitter.next_u32());
        if let Some(floor) = floor {
            delay = delay.max(floor);
        }
        let until = now + delay;
        if until >= run.deadline {
            return self.fail_or_fall_back(err, now);
        }
        run.phase = Phase::Waiting(until);
        Event::Pending
    }

    /// Fails, unless a failed refresh of a stale (still valid) token can be
    /// shrugged off by using the stale token.
    fn fail_or_fall_back<'b>(&mut self, err: Error, now: Instant) -> Event<'b> {
        if self.fall_back_to_stale(None, now) {
            return Event::Pending;
        }
        self.finish_failed(err)
    }

    /// If the request that failed refreshed a stale token that is still valid: goes
    /// on with the stale token, and holds further refreshes for the request timeout,
    /// or `retry_after` when longer (the token cache carries the hold to later
    /// operations and, published, to every session sharing it).
    fn fall_back_to_stale(
        &mut self,
        retry_after: Option<core::time::Duration>,
        now: Instant,
    ) -> bool {
        let Some(run) = self.run.as_mut() else {
            return false;
        };
        let usable = run.phase == Phase::AwaitingToken
            && run.refreshing_stale
            && self.tokens.token(now).is_some();
        if usable {
            run.refreshing_stale = false;
            run.use_stale = true;
            run.phase = Phase::Ready;
            run.attempts = 0;
            let hold = retry_after
                .unwrap_or_default()
                .max(self.config.timeouts.request);
            self.tokens.hold_refresh(now + hold);
        }
        usable
    }

    fn finish_failed<'b>(&mut self, err: Error) -> Event<'b> {
        self.run = None;
        self.awaiting = None;
        self.failed = Some(err.clone());
        Event::Failed(err)
    }

    fn build_token_request(&mut self, lifetime: u32, nonce: Option<&str>) {
        let api = self.config.version().identity_api();
        self.token_target.clear();
        self.token_body.clear();
        // Both fit: the longest path is 27 bytes plus 19 of query; the body is at most
        // 20 bytes, and 12 more plus the nonce (validated: visible ASCII, each
        // escaped in at most 2 bytes).
        let _ = write!(
            self.token_target,
            "{}?version={}",
            api.token_path(),
            self.config.version()
        );
        let _ = write!(self.token_body, "{{\"expires_in\":{lifetime}");
        if let Some(nonce) = nonce {
            let _ = self.token_body.push_str(",\"nonce\":");
            let _ = crate::operation::push_json_string(&mut self.token_body, nonce);
        }
        let _ = self.token_body.push('}');
    }
}

impl Running {
    fn is_identity_token(&self) -> bool {
        self.spec.resource == Resource::IdentityToken
    }
}

/// Room for the identity token request's body: `{"expires_in":3600,"nonce":""}` and
/// a nonce of [`MAX_NONCE_LEN`](crate::validate::MAX_NONCE_LEN) bytes, each escaped
/// in at most two.
const TOKEN_BODY_CAPACITY: usize = 32 + 2 * crate::validate::MAX_NONCE_LEN;

/// Shortest run of a token that is redacted (a shorter one could be any word).
const REDACT_MIN: usize = 8;

/// Hides the parts of `secret` that `text` quotes: in each run of token characters,
/// from the first [`REDACT_MIN`] characters that occur in the secret to the run's end
/// (so `token=eyJ…`, a token cut short, or one ending a sentence with `.`) becomes
/// `<redacted>`. A text that no longer fits its capacity ends at the last piece that did.
fn redact<const N: usize>(text: &mut String<N>, secret: &str) {
    let mut out: String<N> = String::new();
    let mut full = false;
    if redact_into(text, secret, &mut |piece| {
        // A `<redacted>` longer than what it hides may not fit: the text ends there.
        full = full || out.push_str(piece).is_err();
    }) {
        *text = out;
    }
}

/// [`redact`]'s work, once for every capacity: hands `text` to `push` in pieces, with
/// the secret's runs replaced; false (and nothing pushed) when there is nothing to hide.
fn redact_into(text: &str, secret: &str, push: &mut dyn FnMut(&str)) -> bool {
    let token_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/' | '=');
    if secret.len() < REDACT_MIN || !text.contains(token_char) {
        return false;
    }
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(token_char).unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(start);
        let end = tail.find(|c| !token_char(c)).unwrap_or(tail.len());
        let (run, after) = tail.split_at(end);
        push(plain);
        // From the first 8 characters that occur in the secret to the end of the run.
        let from = (0..run.len()).find(|&i| {
            run.get(i..i + REDACT_MIN)
                .is_some_and(|window| secret.contains(window))
        });
        match from {
            // A run is ASCII (token characters), so `at` is a character boundary.
            Some(at) => {
                push(run.get(..at).unwrap_or_default());
                push("<redacted>");
            }
            None => push(run),
        }
        rest = after;
    }
    true
}

fn misuse() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        Cause::Misuse("no request of this session is awaiting a response"),
    )
}

fn protocol(what: &'static str) -> Error {
    Error::new(ErrorKind::BadResponse, Cause::Protocol(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Response;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn sends_token_request(session: &mut Session, now: Instant) -> bool {
        match session.poll(now) {
            Action::Send(r) => r.method() == Method::Put,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn token_response(session: &mut Session, token: &[u8], now: Instant) {
        let event = session.on_response(
            session.awaiting().expect("a request is awaited"),
            &Response::from_parts(200, None, token),
            now,
        );
        assert!(matches!(event, Event::Pending), "{event:?}");
    }

    #[test]
    fn shared_cache_is_single_flight() {
        let mut shared = TokenCache::new();
        let (mut a, mut b) = (
            Session::new(Config::default(), 1),
            Session::new(Config::default(), 2),
        );
        a.start(Operation::Instance, at(0)).unwrap();
        b.start(Operation::Instance, at(0)).unwrap();
        assert_eq!(a.seed_from(&mut shared, at(0)), Seed::ProceedLeased);
        assert_eq!(b.seed_from(&mut shared, at(0)), Seed::Wait);
        assert!(sends_token_request(&mut a, at(0)));
        assert!(
            !a.publish_to(&mut shared, at(1)),
            "nothing new before the token arrives"
        );
        token_response(
            &mut a,
            br#"{"access_token":"eyJa","expires_in":300}"#,
            at(1),
        );
        assert!(a.publish_to(&mut shared, at(1)));
        assert!(!a.holds_lease() && !shared.is_refreshing());
        assert_eq!(b.seed_from(&mut shared, at(2)), Seed::Proceed);
        assert!(
            !sends_token_request(&mut b, at(2)),
            "b uses the published token"
        );
        assert!(!a.release_lease(&mut shared));
    }

    /// A cache holding a 60 s token received at 0, and two sessions to share it.
    fn sharing_a_60_s_token() -> (TokenCache, Session, Session) {
        let mut shared = TokenCache::new();
        shared.store("eyJold", 60, at(0)).unwrap();
        let sessions = (
            Session::new(Config::default(), 1),
            Session::new(Config::default(), 2),
        );
        (shared, sessions.0, sessions.1)
    }

    #[test]
    fn stale_shared_token_serves_while_one_session_refreshes() {
        let (mut shared, mut a, mut b) = sharing_a_60_s_token();
        a.start(Operation::Instance, at(50_000)).unwrap();
        b.start(Operation::Instance, at(50_000)).unwrap();
        assert_eq!(a.seed_from(&mut shared, at(50_000)), Seed::ProceedLeased);
        assert_eq!(b.seed_from(&mut shared, at(50_000)), Seed::Proceed);
        assert!(sends_token_request(&mut a, at(50_000)));
        assert!(!sends_token_request(&mut b, at(50_000)));
        // a's refresh fails: its lease ends so another session may try.
        a.cancel();
        assert!(a.release_lease(&mut shared));
        assert!(!shared.is_refreshing());
    }

    #[test]
    fn a_failed_stale_refresh_holds_every_session_sharing_the_token() {
        let (mut shared, mut a, mut b) = sharing_a_60_s_token();
        a.start(Operation::Instance, at(50_000)).unwrap();
        assert_eq!(a.seed_from(&mut shared, at(50_000)), Seed::ProceedLeased);
        assert!(sends_token_request(&mut a, at(50_000)));
        let event = a.on_response(
            a.awaiting().expect("the token request is awaited"),
            &Response::from_parts(503, None, b"{}"),
            at(50_001),
        );
        assert!(matches!(event, Event::Pending), "{event:?}");
        a.publish_to(&mut shared, at(50_001));
        assert!(
            !sends_token_request(&mut a, at(50_001)),
            "the stale token serves"
        );
        assert!(a.release_lease(&mut shared));
        assert!(shared.refresh_held(at(55_000)) && !shared.refresh_held(at(55_001)));
        // Within the hold another session uses the stale token; after it, it refreshes.
        b.start(Operation::Instance, at(55_000)).unwrap();
        assert_eq!(b.seed_from(&mut shared, at(55_000)), Seed::Proceed);
        assert!(!sends_token_request(&mut b, at(55_000)));
        b.cancel();
        b.start(Operation::Instance, at(55_001)).unwrap();
        assert_eq!(b.seed_from(&mut shared, at(55_001)), Seed::ProceedLeased);
        assert!(sends_token_request(&mut b, at(55_001)));
    }

    fn answer(session: &mut Session, status: u16, now: Instant) -> Event<'static> {
        let id = session.awaiting().expect("a request is awaited");
        match session.on_response(id, &Response::from_parts(status, None, b"{}"), now) {
            Event::Pending => Event::Pending,
            Event::Failed(e) => Event::Failed(e),
            other => panic!("expected pending or a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_token_that_turns_stale_during_an_operation_waits_for_a_lease() {
        let mut shared = TokenCache::new();
        shared.store("eyJold", 60, at(0)).unwrap();
        let mut b = Session::new(Config::default(), 2);
        // Seeded while fresh (no lease); stale (after 48 s) by its retry.
        b.start(Operation::Instance, at(47_900)).unwrap();
        assert_eq!(b.seed_from(&mut shared, at(47_900)), Seed::Proceed);
        assert!(!sends_token_request(&mut b, at(47_900)));
        assert!(matches!(answer(&mut b, 503, at(47_950)), Event::Pending));
        let retry = match b.poll(at(47_950)) {
            Action::Wait(until) => until,
            other => panic!("expected a backoff, got {other:?}"),
        };
        assert!(retry > at(48_000));
        assert!(
            !sends_token_request(&mut b, retry),
            "no refresh outside a lease"
        );
        assert!(!shared.is_refreshing());
    }

    #[test]
    fn a_hold_set_in_poll_reaches_the_shared_cache_when_the_operation_ends() {
        let mut shared = TokenCache::new();
        shared.store("eyJold", 60, at(0)).unwrap();
        let mut a = Session::new(Config::default(), 1);
        a.start(Operation::Instance, at(50_000)).unwrap();
        assert_eq!(a.seed_from(&mut shared, at(50_000)), Seed::ProceedLeased);
        assert!(sends_token_request(&mut a, at(50_000)));
        // The refresh's deadline passes in poll (no event): the stale token serves.
        assert!(!sends_token_request(&mut a, at(55_000)));
        a.cancel();
        assert!(a.release_lease(&mut shared));
        assert!(
            shared.refresh_held(at(59_000)),
            "held until 55 s + the request timeout"
        );
    }

    #[test]
    fn a_new_token_ends_a_hold_and_a_hold_never_moves_to_another_token() {
        let mut old = TokenCache::new();
        old.store("eyJold", 60, at(0)).unwrap();
        old.hold_refresh(at(58_000));
        assert_eq!(old.lease(at(50_000)), Lease::Use);
        let mut newer = TokenCache::new();
        newer.store("eyJnew", 60, at(49_000)).unwrap();
        assert!(!newer.share_hold(&old), "another token's hold");
        assert!(!newer.refresh_held(at(50_000)));
        old.store("eyJnew", 60, at(50_000)).unwrap();
        assert!(
            !old.refresh_held(at(50_001)),
            "a stored token ends the hold"
        );
    }

    #[test]
    fn a_token_cleared_by_a_401_is_not_published() {
        let mut shared = TokenCache::new();
        shared.store("eyJold", 300, at(0)).unwrap();
        let mut a = Session::new(Config::default(), 1);
        a.start(Operation::Instance, at(10)).unwrap();
        assert_eq!(a.seed_from(&mut shared, at(10)), Seed::Proceed);
        assert!(!sends_token_request(&mut a, at(10)));
        let event = a.on_response(
            a.awaiting().expect("a request is awaited"),
            &Response::from_parts(401, None, b""),
            at(11),
        );
        assert!(matches!(event, Event::Pending), "{event:?}");
        assert!(
            !a.publish_to(&mut shared, at(11)),
            "a cleared token is not published"
        );
        assert!(
            shared.token(at(11)).is_some(),
            "the shared cache keeps its token"
        );
        assert!(sends_token_request(&mut a, at(11)));
        token_response(
            &mut a,
            br#"{"access_token":"eyJnew","expires_in":300}"#,
            at(12),
        );
        assert!(a.publish_to(&mut shared, at(12)));
        assert_eq!(shared.token(at(12)).map(|t| t.expose()), Some("eyJnew"));
    }

    #[test]
    fn identity_token_operations_never_lease() {
        let mut shared = TokenCache::new();
        let mut a = Session::new(Config::default(), 1);
        a.start(
            Operation::IdentityToken {
                expires_in: None,
                nonce: None,
            },
            at(0),
        )
        .unwrap();
        assert_eq!(a.seed_from(&mut shared, at(0)), Seed::Proceed);
        assert!(!shared.is_refreshing());
    }

    #[test]
    fn defer_refresh_uses_a_stale_token_until_it_expires() {
        let mut session = Session::new(Config::default(), 1);
        session.tokens_mut().store("tok", 60, at(0)).unwrap();
        // At 50 s the 60 s token is stale (refresh after 48 s) but valid until 59 s.
        session.start(Operation::Instance, at(50_000)).unwrap();
        session.defer_refresh();
        assert!(!sends_token_request(&mut session, at(50_000)));
        let done = session.on_response(
            session.awaiting().expect("a request is awaited"),
            &Response::from_parts(200, None, b"{\"id\":\"i\"}"),
            at(50_001),
        );
        assert!(matches!(done, Event::Done(Output::Instance(_))));

        // Without it, the stale token is refreshed first.
        session.start(Operation::Instance, at(50_000)).unwrap();
        assert!(sends_token_request(&mut session, at(50_000)));
        session.cancel();

        // An expired token is fetched even when deferring.
        session.start(Operation::Instance, at(59_500)).unwrap();
        session.defer_refresh();
        assert!(sends_token_request(&mut session, at(59_500)));
    }

    #[test]
    fn a_late_answer_to_a_timed_out_request_is_stale() {
        let mut s = Session::new(Config::default(), 1);
        s.start(
            Operation::IdentityToken {
                expires_in: None,
                nonce: None,
            },
            at(0),
        )
        .unwrap();
        let first = match s.poll(at(0)) {
            Action::Send(r) => r.id(),
            other => panic!("expected a request, got {other:?}"),
        };
        // Past the 5 s request deadline the session counts a timeout and backs off.
        let until = match s.poll(at(5_000)) {
            Action::Wait(until) => until,
            other => panic!("expected a backoff, got {other:?}"),
        };
        let second = match s.poll(until) {
            Action::Send(r) => r.id(),
            other => panic!("expected a retry, got {other:?}"),
        };
        assert_ne!(first, second);
        let token = br#"{"access_token":"eyJlate","expires_in":300}"#;
        let late = s.on_response(first, &Response::from_parts(200, None, token), until);
        assert!(matches!(late, Event::Stale), "{late:?}");
        assert_eq!(s.awaiting(), Some(second), "still waiting for the retry");
        assert!(
            s.tokens().token(until).is_none(),
            "the late token was not taken"
        );
        let done = s.on_response(second, &Response::from_parts(200, None, token), until);
        assert!(matches!(done, Event::Done(Output::IdentityToken(_))));
    }

    #[test]
    fn a_failure_fed_back_is_reported_again_by_poll() {
        let mut s = Session::new(Config::default(), 1);
        s.start(Operation::Instance, at(0)).unwrap();
        let id = match s.poll(at(0)) {
            Action::Send(r) => r.id(),
            other => panic!("expected a request, got {other:?}"),
        };
        // A host that drops this event (as a careless loop would) ...
        let dropped = s.on_transport_error(id, TransportError::Refused, at(1));
        assert!(matches!(dropped, Event::Failed(_)));
        // ... still meets the failure at its next poll, once.
        match s.poll(at(2)) {
            Action::Failed(e) => assert_eq!(e.kind(), ErrorKind::Refused),
            other => panic!("expected the failure, got {other:?}"),
        }
        assert!(matches!(s.poll(at(3)), Action::Idle));
        // Answers for a request of a finished operation are stale.
        let again = s.on_transport_error(id, TransportError::Refused, at(4));
        assert!(matches!(again, Event::Stale));
    }

    #[test]
    fn echoed_tokens_are_redacted() {
        let secret = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let mut m: String<256> = String::new();
        m.push_str("bad header Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl and eyJhbGciOiJub25lIn0.eyJz")
            .unwrap();
        redact(&mut m, secret);
        assert_eq!(
            m,
            "bad header Authorization: Bearer <redacted> and <redacted>"
        );
        let mut m: String<256> = String::new();
        m.push_str("token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl, Bearer eyJhbGciOiJub25lIn0.eyJzdWIi.")
            .unwrap();
        redact(&mut m, secret);
        assert_eq!(m, "token=<redacted>, Bearer <redacted>");
        // Parts without the token's start: the payload glued to a word, the signature
        // ending a sentence, the tail shown after an ellipsis.
        let mut m: String<256> = String::new();
        m.push_str(
            "sub=eyJzdWIiOiJ4In0.c2lnbmF0dXJl; signature c2lnbmF0dXJl. token ...In0.c2lnbmF0dXJl",
        )
        .unwrap();
        redact(&mut m, secret);
        assert_eq!(
            m,
            "sub=<redacted>; signature <redacted> token ...<redacted>"
        );
        // A marker that does not fit ends the text: nothing after it is kept.
        let mut m: String<27> = String::new();
        m.push_str("0123456789 Bearer eyJhbGci)").unwrap();
        redact(&mut m, secret);
        assert_eq!(m, "0123456789 Bearer ");
        let mut m: String<256> = String::new();
        m.push_str("The token is expired.").unwrap();
        redact(&mut m, secret);
        assert_eq!(m, "The token is expired.");
    }

    #[test]
    fn a_page_that_does_not_parse_ends_the_run_even_with_a_next_link() {
        let mut s = Session::new(Config::default(), 3);
        s.start(Operation::Keys, at(0)).unwrap();
        assert!(sends_token_request(&mut s, at(0)));
        token_response(
            &mut s,
            br#"{"access_token":"eyJa","expires_in":300}"#,
            at(1),
        );
        assert!(matches!(s.poll(at(1)), Action::Send(_)));
        // A `next` link, but a key without its required public_key.
        let body = br#"{"keys":[{"id":"k1"}],"next":{"href":"http://169.254.169.254/metadata/v1/keys?start=x"}}"#;
        let id = s.awaiting().unwrap();
        match s.on_response(id, &Response::from_parts(200, None, body), at(2)) {
            Event::Failed(e) => assert_eq!(e.kind(), ErrorKind::BadResponse),
            other => panic!("expected a failure, got {other:?}"),
        }
        // Reported once more by poll, then nothing: the next page is never asked for.
        assert!(matches!(s.poll(at(3)), Action::Failed(_)));
        assert!(matches!(s.poll(at(4)), Action::Idle));
    }

    #[test]
    fn a_host_stack_response_with_a_refused_coding_fails_as_the_reader_would() {
        // A token that would be accepted, under `Transfer-Encoding: gzip, chunked`.
        let body = br#"{"access_token":"eyJa","expires_in":300}"#;
        let mut s = Session::new(Config::default(), 4);
        s.start(Operation::Instance, at(0)).unwrap();
        assert!(sends_token_request(&mut s, at(0)));
        let id = s.awaiting().unwrap();
        let response = Response::from_host(200, None, Some(b"gzip, chunked"), body);
        match s.on_response(id, &response, at(1)) {
            Event::Failed(e) => {
                assert_eq!(e.kind(), ErrorKind::BadResponse);
                assert_eq!(
                    e.cause(),
                    &Cause::Http(ResponseError::BadFraming("unsupported Transfer-Encoding"))
                );
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        // `chunked` alone is what the host's stack removed: accepted.
        let mut s = Session::new(Config::default(), 5);
        s.start(Operation::Instance, at(0)).unwrap();
        assert!(sends_token_request(&mut s, at(0)));
        let id = s.awaiting().unwrap();
        let response = Response::from_host(200, None, Some(b"chunked"), body);
        assert!(matches!(
            s.on_response(id, &response, at(1)),
            Event::Pending
        ));
    }
}
