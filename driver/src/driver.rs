//! [`Driver`]: one operation at a time, from start to its result, over any host's I/O.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use vpc_imds_core::error::{Cause, Error, ErrorKind, InputError, TransportError};
use vpc_imds_core::model::AccessToken;
use vpc_imds_core::operation::Operation;
use vpc_imds_core::operation::TrustedProfile;
use vpc_imds_core::output::Output;
use vpc_imds_core::request::RequestId;
use vpc_imds_core::response::{Progress, Response, ResponseError, ResponseReader};
use vpc_imds_core::retry::Jitter;
use vpc_imds_core::session::{Action, Event, Seed, Session};
use vpc_imds_core::text::Decimal;
use vpc_imds_core::time::Instant;
use vpc_imds_core::token::{Lease, TokenCache};

use crate::reply::Reply;
use crate::request::OwnedRequest;
use crate::settings::DriverConfig;
use crate::share::TokenShare;

/// What the host feeds [`Driver::step`].
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// Nothing new: the time to wake has come, or the host wants the next step.
    Tick,
    /// Bytes received for request `id` (HTTP/1.1, as read from the connection);
    /// empty means the peer closed the connection.
    Bytes(RequestId, &'a [u8]),
    /// A whole response to request `id`, from the host's own HTTP stack: status,
    /// `Retry-After` and the de-chunked body ([`Response::from_parts`]).
    Response(RequestId, Response<'a>),
    /// Request `id` failed before a whole response arrived.
    TransportError(RequestId, TransportError),
}

/// What the host does next. Every outcome comes out here, failures included.
#[derive(Debug)]
#[must_use = "a step may be the result or a failure, which must not be dropped"]
// `Failed` (~0.5 KB) is the largest variant now that replies are boxed; it ends the
// operation, so it is not worth an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Step<'a> {
    /// Send this request (connect within its `connect_timeout`, finish by its
    /// `deadline`), then feed back what came of it with its id.
    Send(&'a OwnedRequest),
    /// The response is not complete: read more bytes and feed them.
    Read,
    /// Sleep until then (a backoff), then step with [`Input::Tick`].
    Wait(Instant),
    /// Another operation is fetching the shared token: sleep until the share
    /// changes after `generation`, or until `until`, then step with [`Input::Tick`].
    WaitForToken {
        /// The latest time to wake.
        until: Instant,
        /// The share's change count when this was decided.
        generation: u64,
        /// Which share: the IAM token cache given to
        /// [`Driver::start_cached_iam_token`] (`true`) or the identity token's.
        iam: bool,
    },
    /// One page of a list; more follow: step with [`Input::Tick`] for the next.
    Page(Reply<'a>),
    /// The operation's result; the driver is idle again.
    Done(Reply<'a>),
    /// The operation failed; the driver is idle again.
    Failed(Error),
    /// The input answered a request that is no longer awaited (it timed out, or
    /// another operation started since); it was ignored. Carry on.
    Stale,
    /// No operation is running.
    Idle,
}

/// The answer to the last request, as far as it was read (for hosts that trace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A whole response: its status and body length (the body itself may hold a
    /// token and is never reported).
    Response {
        /// HTTP status.
        status: u16,
        /// Body length in bytes.
        body_len: usize,
    },
    /// The bytes could not be read as a response (cut off, too large, not HTTP).
    Unreadable(ResponseError),
}

/// Runs one operation at a time (a host keeps several drivers for concurrent
/// operations) over a [`TokenShare`] that every driver of one client shares.
///
/// See the crate documentation for the loop a host writes around it.
pub struct Driver<S: TokenShare> {
    machine: Machine<S>,
    io: Io,
}

/// The reader's first buffer, in bytes (a token or instance answer fits).
const MIN_BUFFER: usize = 8 * 1024;

/// The response reader and its buffer: only the bytes path uses them.
struct Io {
    /// What became of the last response fed.
    answer: Option<Answer>,
    /// The request whose response is being read.
    reading: Option<RequestId>,
    reader: ResponseReader,
    buf: Vec<u8>,
    keep_alive: bool,
}

struct Machine<S: TokenShare> {
    config: DriverConfig,
    share: S,
    session: Box<Session>,
    request: OwnedRequest,
    state: State,
    /// The operation's deadline (the core keeps its own; the driver needs it to
    /// bound waiting for the shared token).
    deadline: Instant,
    jitter: Jitter,
    ready: Option<Ready>,
    /// The IAM token cache of a cached IAM token operation.
    iam: Option<S>,
    /// This operation refreshes the IAM token cache's token.
    iam_refreshing: bool,
    /// A cached IAM token dressed as a response body.
    cached: Vec<u8>,
    /// The latest time seen, to catch a clock that runs backwards (debug builds).
    last_now: Instant,
    /// A request was handed out since the last step.
    sent: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// Started; the shared token's lease is not settled yet.
    Seeding,
    Running,
    /// `wait_until_ready`: backing off until then before the next attempt.
    Retrying(Instant),
    /// A cached IAM token operation: the cache's lease is not settled yet.
    IamLease,
}

/// `wait_until_ready` in progress.
#[derive(Clone, Debug)]
struct Ready {
    end: Instant,
    /// The wait's limit, for the error when it runs out.
    max: Duration,
    attempts: u32,
    /// Why the last attempt failed.
    last: Option<Error>,
}

impl<S: TokenShare> Driver<S> {
    /// An idle driver; `seed` feeds retry jitter (use host entropy).
    pub fn new(config: DriverConfig, share: S, seed: u64) -> Self {
        let session = Box::new(Session::new(config.core().clone(), seed));
        Driver {
            machine: Machine {
                config,
                share,
                session,
                request: OwnedRequest::new(),
                state: State::Idle,
                deadline: Instant::ZERO,
                jitter: Jitter::new(seed ^ 0x9E37_79B9_7F4A_7C15),
                ready: None,
                iam: None,
                iam_refreshing: false,
                cached: Vec::new(),
                last_now: Instant::ZERO,
                sent: false,
            },
            io: Io {
                answer: None,
                reading: None,
                reader: ResponseReader::new(),
                buf: Vec::new(),
                keep_alive: false,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DriverConfig {
        &self.machine.config
    }

    /// The shared token this driver uses.
    pub fn share(&self) -> &S {
        &self.machine.share
    }

    /// Whether an operation is running.
    pub fn is_busy(&self) -> bool {
        self.machine.state != State::Idle
    }

    /// Whether the connection that carried the last complete response (fed as
    /// bytes) may carry another request.
    pub fn keep_alive(&self) -> bool {
        self.io.keep_alive
    }

    /// The request whose answer is awaited, if any.
    pub fn awaiting(&self) -> Option<RequestId> {
        self.machine.session.awaiting()
    }

    /// What became of the last response fed to the driver, for tracing.
    pub fn last_answer(&self) -> Option<Answer> {
        self.io.answer
    }

    /// The request in flight (the last [`Step::Send`]), while its answer is awaited.
    pub fn in_flight(&self) -> Option<&OwnedRequest> {
        let request = &self.machine.request;
        (self.awaiting() == Some(request.id())).then_some(request)
    }

    /// Starts `op` at `now`; its input is checked here (nothing is sent yet). An
    /// operation still running is not disturbed: the start fails as `invalid_input`.
    pub fn start(&mut self, op: Operation<'_>, now: Instant) -> Result<(), Error> {
        if self.is_busy() {
            return Err(InputError::Busy.into());
        }
        self.machine.ready = None;
        self.machine.iam = None;
        self.machine.begin(op, now)
    }

    /// Starts an IAM token operation for `profile` answered from `cache` (an IAM
    /// token cache every operation of a client shares for this one profile: a cache
    /// holds one token, so each profile needs its own; not the identity token's)
    /// while its token is fresh, by the core's policy: refreshed after
    /// `lifetime - clamp(lifetime/5, 1 s, 300 s)`, by one operation at a time while
    /// the others use the still-valid token or wait when there is none; a failed
    /// refresh falls back to the old token while it is valid.
    pub fn start_cached_iam_token(
        &mut self,
        profile: TrustedProfile<'_>,
        cache: S,
        now: Instant,
    ) -> Result<(), Error> {
        if self.is_busy() {
            return Err(InputError::Busy.into());
        }
        self.machine.ready = None;
        self.machine.begin(Operation::IamToken { profile }, now)?;
        self.machine.iam = Some(cache);
        self.machine.state = State::IamLease;
        Ok(())
    }

    /// Starts waiting until the service answers, for at most `max`: identity
    /// token requests, with the core's backoff (or the service's longer
    /// `Retry-After`) between attempts, until one succeeds (the token is then
    /// shared). A refusal, a timeout, a lost connection, a 5xx or a 429 means "not
    /// yet"; any other failure ends the wait at once. Running out of time, or a
    /// wait that would pass the end, fails as `timed_out` with the last attempt's
    /// cause.
    pub fn start_wait_until_ready(&mut self, max: Duration, now: Instant) -> Result<(), Error> {
        if self.is_busy() {
            return Err(InputError::Busy.into());
        }
        let end = now + max;
        self.machine.ready = Some(Ready {
            end,
            max,
            attempts: 0,
            last: None,
        });
        self.machine.attempt_ready(now)
    }

    /// Abandons the running operation, if any (ending its claim on the shared token).
    pub fn cancel(&mut self) {
        self.machine.session.cancel();
        self.machine.finish();
    }

    /// Advances the operation with `input` at `now` and says what to do next.
    pub fn step<'a>(&'a mut self, now: Instant, input: Input<'a>) -> Step<'a> {
        let Driver { machine, io } = self;
        machine.observe(now);
        if core::mem::take(&mut machine.sent) {
            // A new request's answer is read from its first byte (`wait_until_ready`
            // starts a new session per attempt, whose request ids start again at 0).
            io.reading = None;
        }
        let mut body: &[u8] = &[];
        let event = match input {
            Input::Tick => return machine.advance(now),
            Input::Bytes(id, data) => {
                if machine.session.awaiting() != Some(id) {
                    return Step::Stale;
                }
                match io.feed(id, machine.config.max_response_bytes(), data) {
                    Fed::More => return Step::Read,
                    Fed::Complete(response) => {
                        body = response.body();
                        machine.session.on_response(id, &response, now)
                    }
                    Fed::Error(e) => machine.session.on_response_error(id, e, now),
                }
            }
            Input::Response(id, response) => {
                body = response.body();
                io.answer = Some(Answer::Response {
                    status: response.status(),
                    body_len: body.len(),
                });
                machine.session.on_response(id, &response, now)
            }
            Input::TransportError(id, error) => machine.session.on_transport_error(id, error, now),
        };
        machine.publish(now);
        match event {
            Event::Pending => machine.advance(now),
            Event::Stale => Step::Stale,
            Event::Failed(e) => machine.failed(e, now),
            // Boxed as it is, so the output is not copied on the way (see `Reply`).
            Event::Page(_) => Step::Page(Reply::new(Box::new(event), body)),
            Event::Done(ref output) => {
                if let (true, Some(cache), Some(token)) =
                    (machine.iam_refreshing, &machine.iam, output.token())
                {
                    let lifetime = match output {
                        Output::IamToken(t) => t.lifetime_secs(),
                        _ => None,
                    };
                    // Without a lifetime the token cannot be judged: not cached. Nor
                    // trusted for longer than an IAM token lives (an hour).
                    let stored =
                        lifetime
                            .map(|s| s.min(MAX_IAM_TOKEN_LIFETIME))
                            .is_some_and(|secs| {
                                cache.with(|c, _| c.store(token.expose(), secs, now).is_ok())
                            });
                    if !stored {
                        cache.with(|c, _| c.abandon_refresh());
                    }
                    cache.changed();
                    machine.iam_refreshing = false;
                }
                machine.finish();
                Step::Done(Reply::new(Box::new(event), body))
            }
        }
    }
}

/// The longest an IAM token is cached, in seconds, whatever lifetime it states
/// (IBM's IAM tokens live an hour).
pub const MAX_IAM_TOKEN_LIFETIME: u32 = 3600;

impl<S: TokenShare> Drop for Driver<S> {
    fn drop(&mut self) {
        self.machine.finish();
    }
}

impl<S: TokenShare> core::fmt::Debug for Driver<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Driver")
            .field("endpoint", self.machine.config.endpoint())
            .field("state", &self.machine.state)
            .finish_non_exhaustive()
    }
}

enum Fed<'b> {
    More,
    Complete(Response<'b>),
    Error(ResponseError),
}

impl Io {
    /// Copies `data` for request `id` into the reader's buffer, which grows as bytes
    /// arrive up to the response limit; the first bytes of a request start a new
    /// response.
    fn feed(&mut self, id: RequestId, limit: usize, data: &[u8]) -> Fed<'_> {
        if self.reading != Some(id) {
            self.answer = None;
            self.reading = Some(id);
            self.reader = ResponseReader::with_limit(limit);
            self.keep_alive = false;
        }
        let Io {
            reader,
            buf,
            keep_alive,
            answer,
            ..
        } = self;
        if data.is_empty() {
            let fed = match reader.advance(buf, 0) {
                Ok(Progress::Complete(r)) => Fed::Complete(r),
                Ok(Progress::NeedMore) => Fed::Error(ResponseError::Truncated),
                Err(e) => Fed::Error(e),
            };
            *answer = Some(match &fed {
                Fed::Complete(r) => Answer::Response {
                    status: r.status(),
                    body_len: r.body().len(),
                },
                Fed::Error(e) => Answer::Unreadable(*e),
                Fed::More => return fed,
            });
            return fed;
        }
        let mut rest = data;
        let complete = loop {
            // Room for what came, doubling: a small answer never allocates (and
            // zeroes) the whole limit, which a host's allocator may not map lazily.
            // At the limit there is nothing to grow: no need to ask for the room.
            if buf.len() < limit {
                let room = reader.unfilled(buf).map_or(0, |s| s.len());
                if room < rest.len() {
                    let need = buf.len() + (rest.len() - room);
                    let grown = need.max(buf.len() * 2).max(MIN_BUFFER).min(limit);
                    buf.resize(grown, 0);
                }
            }
            let space = match reader.unfilled(buf) {
                Ok(space) => space,
                Err(e) => {
                    *answer = Some(Answer::Unreadable(e));
                    return Fed::Error(e);
                }
            };
            let n = space.len().min(rest.len());
            space[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            match reader.advance(buf, n) {
                Ok(Progress::NeedMore) if rest.is_empty() => return Fed::More,
                Ok(Progress::NeedMore) => continue,
                Ok(Progress::Complete(r)) => {
                    // The reader puts the body at the buffer's start.
                    break (r.status(), r.retry_after(), r.body().len(), r.keep_alive());
                }
                Err(e) => {
                    *answer = Some(Answer::Unreadable(e));
                    return Fed::Error(e);
                }
            }
        };
        let (status, retry_after, len, keep) = complete;
        *answer = Some(Answer::Response {
            status,
            body_len: len,
        });
        // Bytes past the response: the connection cannot be trusted again.
        *keep_alive = keep && rest.is_empty();
        Fed::Complete(Response::from_parts(
            status,
            retry_after,
            buf.get(..len).unwrap_or_default(),
        ))
    }
}

impl<S: TokenShare> Machine<S> {
    fn observe(&mut self, now: Instant) {
        debug_assert!(
            now >= self.last_now,
            "the host's clock ran backwards: every driver of one share must use one monotonic clock with one origin"
        );
        self.last_now = self.last_now.max(now);
    }

    fn begin(&mut self, op: Operation<'_>, now: Instant) -> Result<(), Error> {
        self.observe(now);
        // The configured timeouts: a `wait_until_ready` before may have capped them.
        self.session.set_timeouts(self.config.core().timeouts)?;
        self.session.start(op, now)?;
        self.deadline = now + self.config.timeouts().operation;
        self.state = State::Seeding;
        Ok(())
    }

    /// One `wait_until_ready` attempt: an identity token, within what is left.
    fn attempt_ready(&mut self, now: Instant) -> Result<(), Error> {
        let Some(end) = self.ready.as_ref().map(|r| r.end) else {
            return Ok(());
        };
        let left = end.since(now);
        let capped = self.config.capped(left);
        // The same session (its request ids go on: a late answer to an earlier
        // attempt stays stale), with its timeouts cut to what is left.
        self.session.set_timeouts(capped.core().timeouts)?;
        self.session.start(
            Operation::IdentityToken {
                expires_in: None,
                nonce: None,
            },
            now,
        )?;
        self.deadline = now + capped.timeouts().operation;
        self.state = State::Seeding;
        Ok(())
    }

    fn advance(&mut self, now: Instant) -> Step<'_> {
        loop {
            match self.state {
                State::Idle => return Step::Idle,
                State::IamLease => {
                    let Some(cache) = self.iam.as_ref() else {
                        self.state = State::Seeding;
                        continue;
                    };
                    let (lease, generation) = cache.with(|c, g| (c.lease(now), g));
                    match lease {
                        Lease::Use => {
                            if self.answer_from_cache(now) {
                                return self.cached_answer();
                            }
                            // Expired between the two looks: ask again.
                        }
                        Lease::Refresh => {
                            self.iam_refreshing = true;
                            self.state = State::Seeding;
                        }
                        // Whoever refreshes is taking too long: fetch one uncached.
                        Lease::Wait if now >= self.deadline => self.state = State::Seeding,
                        Lease::Wait => {
                            return Step::WaitForToken {
                                until: self.deadline,
                                generation,
                                iam: true,
                            }
                        }
                    }
                }
                State::Retrying(until) if now < until => return Step::Wait(until),
                State::Retrying(_) => {
                    let out_of_time = self.ready.as_ref().filter(|r| now >= r.end);
                    if let Some(ready) = out_of_time {
                        let cause = ready
                            .last
                            .as_ref()
                            .map_or(Cause::DeadlineExceeded, |e| e.cause().clone());
                        let error = Error::not_ready(ready.max, cause);
                        self.finish();
                        return Step::Failed(error);
                    }
                    if let Err(e) = self.attempt_ready(now) {
                        self.finish();
                        return Step::Failed(e);
                    }
                }
                State::Seeding => {
                    let Machine { session, share, .. } = self;
                    let (seed, generation) = share.with(|cache, generation| {
                        debug_assert!(
                            cache.received_at().is_none_or(|at| at <= now),
                            "the shared token was received after `now`: the drivers sharing it use different clock origins"
                        );
                        (session.seed_from(cache, now), generation)
                    });
                    if seed != Seed::Wait {
                        self.state = State::Running;
                        continue;
                    }
                    if now >= self.deadline {
                        self.session.cancel();
                        self.finish();
                        return Step::Failed(Error::new(
                            ErrorKind::TimedOut,
                            Cause::DeadlineExceeded,
                        ));
                    }
                    return Step::WaitForToken {
                        until: self.deadline,
                        generation,
                        iam: false,
                    };
                }
                State::Running => {
                    let connect = self.config.timeouts().connect;
                    return match self.session.poll(now) {
                        Action::Send(request) => {
                            self.request.fill(&request, now, connect);
                            self.sent = true;
                            Step::Send(&self.request)
                        }
                        Action::Wait(until) => Step::Wait(until),
                        Action::Failed(e) => return self.failed(e, now),
                        Action::Idle => {
                            self.finish();
                            Step::Idle
                        }
                    };
                }
            }
        }
    }

    /// Ends the IAM token operation with the cache's token, if it may still be
    /// sent (then [`cached_answer`](Self::cached_answer) is the result).
    fn answer_from_cache(&mut self, now: Instant) -> bool {
        let Some(cache) = self.iam.as_ref() else {
            return false;
        };
        let cached = &mut self.cached;
        if !cache.with(|c, _| answer_body(c, now, cached)) {
            return false;
        }
        self.session.cancel();
        self.finish();
        true
    }

    /// The cached IAM token as a token response of its remaining lifetime.
    fn cached_answer(&self) -> Step<'_> {
        match AccessToken::parse(&self.cached) {
            Ok(token) => Step::Done(Reply::new(
                Box::new(Event::Done(Output::IamToken(token))),
                &self.cached,
            )),
            Err(e) => Step::Failed(Error::new(ErrorKind::BadResponse, Cause::Body(e))),
        }
    }

    /// The operation failed: `wait_until_ready` tries again if it may, else the end.
    fn failed(&mut self, error: Error, now: Instant) -> Step<'_> {
        if core::mem::take(&mut self.iam_refreshing) {
            if let Some(cache) = self.iam.as_ref() {
                cache.with(|c, _| c.abandon_refresh());
                cache.changed();
                // A failed refresh of a still-valid token: the old token serves.
                if self.answer_from_cache(now) {
                    return self.cached_answer();
                }
            }
        }
        if let Some(ready) = self.ready.as_mut() {
            let not_yet = matches!(
                error.kind(),
                ErrorKind::Refused
                    | ErrorKind::TimedOut
                    | ErrorKind::ConnectionLost
                    | ErrorKind::ServerError
                    | ErrorKind::RateLimited
            );
            ready.last = Some(error.clone());
            if not_yet && now < ready.end {
                let retry = self.config.core().retry;
                let backoff = retry.backoff(ready.attempts, self.jitter.next_u32());
                // The service's own `Retry-After` is honoured here too.
                let asked = error
                    .api()
                    .and_then(|a| a.retry_after)
                    .map_or(Duration::ZERO, |s| Duration::from_secs(s.into()));
                let delay = backoff.max(asked);
                ready.attempts = ready.attempts.saturating_add(1);
                let until = now + delay;
                // A wait that would pass the end fails at once, as the core's does.
                if until < ready.end {
                    self.release();
                    self.state = State::Retrying(until);
                    return Step::Wait(until);
                }
            }
            if not_yet {
                let error = Error::not_ready(ready.max, error.cause().clone());
                self.finish();
                return Step::Failed(error);
            }
        }
        self.finish();
        Step::Failed(error)
    }

    /// Shares a token this operation obtained and wakes whoever waits for it.
    fn publish(&mut self, now: Instant) {
        let Machine { session, share, .. } = self;
        if share.with(|cache, _| session.publish_to(cache, now)) {
            share.changed();
        }
    }

    fn release(&mut self) {
        let Machine { session, share, .. } = self;
        if share.with(|cache, _| session.release_lease(cache)) {
            share.changed();
        }
    }

    fn finish(&mut self) {
        // An IAM token refresh that ends without a token (cancelled) lets the next
        // caller refresh, and wakes whoever waits for it.
        if core::mem::take(&mut self.iam_refreshing) {
            if let Some(cache) = self.iam.as_ref() {
                cache.with(|c, _| c.abandon_refresh());
                cache.changed();
            }
        }
        self.release();
        self.state = State::Idle;
    }
}

/// Writes `{"access_token":..,"expires_in":..}` for the cached token into `out`,
/// with the seconds it has left; false if no token may be sent at `now`.
fn answer_body(cache: &TokenCache, now: Instant, out: &mut Vec<u8>) -> bool {
    let (Some(token), Some(expires)) = (cache.token(now), cache.expires_at()) else {
        return false;
    };
    out.clear();
    out.extend_from_slice(b"{\"access_token\":\"");
    out.extend_from_slice(token.expose().as_bytes());
    out.extend_from_slice(b"\",\"expires_in\":");
    let left = expires.since(now).as_secs().max(1);
    out.extend_from_slice(Decimal::new(left).as_str().as_bytes());
    out.push(b'}');
    true
}
