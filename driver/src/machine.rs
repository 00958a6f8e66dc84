//! [`Machine`]: the whole client as one state machine — any number of operations
//! at once, the tokens they share, the connections they use — over any host's I/O.
//!
//! quinn-proto's `Endpoint` is the model: the machine owns everything a client
//! decides (operations, the identity token and one IAM token per trusted profile,
//! single flight across all operations, which connection a request goes on, how
//! many stay open and for how long, the resend-once rule, merging, user data,
//! `authorized_keys` lines, waiting until the service is ready), and each operation
//! is stepped by whoever carries it out: one thread, task or promise per operation,
//! with the machine behind the host's lock. A host moves bytes, sleeps, reads one
//! monotonic clock and converts [`Record`]s and [`ErrorRecord`]s.
//!
//! [`ErrorRecord`]: crate::ErrorRecord

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use vpc_imds_core::error::{BodyError, Cause, Error, ErrorKind, TransportError};
use vpc_imds_core::operation::{Args, Operation, Spec, TrustedProfile};

use crate::by_name::NamedArgs;
use vpc_imds_core::output::Output;
use vpc_imds_core::response::{parse_retry_after, Response};
use vpc_imds_core::time::Instant;

use crate::documents::{authorized_key, user_data};
use crate::driver::{Answer, Driver, Input as DriverInput, Step as DriverStep};
use crate::json::every_host_reads_alike;
use crate::merge::PageMerger;
use crate::record::Record;
use crate::request::OwnedRequest;
use crate::settings::DriverConfig;
use crate::share::TokenShare;

/// How long `wait_until_ready` waits when the caller names no limit, in every host.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);
/// Idle connections kept open for reuse: at least this many, and as many as the
/// most operations that ran at once (a burst's connections serve the next burst),
/// up to [`MAX_CONNECTIONS`]; each still closes after [`IDLE_TIMEOUT`].
pub const MAX_IDLE_CONNECTIONS: usize = 4;
/// Idle connections kept open for reuse, at most, whatever the concurrency.
pub const MAX_CONNECTIONS: usize = 64;
/// How long an idle connection is kept for reuse.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Finished operations' drivers kept for reuse, at most.
const MAX_SPARE_DRIVERS: usize = 4;

/// One operation of a [`Machine`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

/// One connection a host keeps for a [`Machine`] (a socket host's map key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// A request to send, and on which connection.
#[derive(Clone, Debug)]
pub struct Transmit {
    /// The connection to write it on.
    pub conn: ConnId,
    /// `true`: connect `conn` first (within the request's connect timeout);
    /// `false`: `conn` is open and idle, from an earlier [`Step::Send`].
    pub fresh: bool,
    /// The request (bytes and parts, deadlines). Hosts with their own HTTP stack
    /// send its parts and ignore `conn`, `fresh` and [`Step::Close`].
    pub request: OwnedRequest,
}

/// What the host feeds [`Machine::step`] for one operation.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// Nothing new: the operation's wait ended, or the host wants the next step.
    Tick,
    /// Bytes read from the operation's connection; empty means the peer closed it.
    Bytes(&'a [u8]),
    /// A whole response from the host's own HTTP stack ([`Response::from_parts`]).
    Response(Response<'a>),
    /// The request failed in transport before a whole response arrived.
    Failed(TransportError),
}

impl<'a> Input<'a> {
    /// A whole response from a host's own HTTP stack, as its headers read: the
    /// status, the `Retry-After` value (seconds; a date or anything else is
    /// ignored), the `Transfer-Encoding` value (every line joined by `", "`; `None`
    /// when absent or when the stack hides it), and the de-chunked body. A coding
    /// the core's reader refuses fails the call as `bad_response`.
    pub fn response(
        status: u16,
        retry_after: Option<&str>,
        transfer_encoding: Option<&str>,
        body: &'a [u8],
    ) -> Self {
        let retry_after = retry_after.and_then(|v| parse_retry_after(v.as_bytes()));
        let te = transfer_encoding.map(str::as_bytes);
        Input::Response(Response::from_host(status, retry_after, te, body))
    }

    /// A transport failure by its name ([`TransportError::as_str`]); a name that is
    /// none of them counts as `connection_lost`.
    pub fn failed(name: &str) -> Self {
        Input::Failed(TransportError::from_name(name).unwrap_or(TransportError::ConnectionLost))
    }
}

/// What the host does next for one operation. Nothing borrows the machine.
#[derive(Debug)]
#[must_use = "a step may be the result or a failure, which must not be dropped"]
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// Send this request, then read its answer and feed it with [`Input::Bytes`]
    /// (or [`Input::Response`]), or report [`Input::Failed`].
    Send(Transmit),
    /// The answer is not complete: read more from the connection and feed it.
    Read,
    /// Close this connection (drop the host's socket), then step with [`Input::Tick`].
    Close(ConnId),
    /// Back off: sleep until then, then step with [`Input::Tick`].
    Backoff(Instant),
    /// Another operation is fetching the token this one needs: sleep until the
    /// machine wakes this operation ([`Machine::poll_woken`]) or until then, then
    /// step with [`Input::Tick`].
    AwaitToken(Instant),
    /// One page of a list; more follow: step with [`Input::Tick`] for the next.
    Page(Record),
    /// The result; the operation is over.
    Done(Record),
    /// The failure; the operation is over.
    Failed(Error),
}

/// The whole client (see the module docs). `S` is how the tokens are shared:
/// [`LocalMachine`] for one thread, `SyncMachine` (feature `std`) for threads.
pub struct Machine<S: TokenShare + Clone + Default> {
    config: DriverConfig,
    tokens: S,
    iam: Vec<(IamKey, S)>,
    ops: Vec<Op<S>>,
    spare: Vec<Driver<S>>,
    idle: Vec<(ConnId, Instant)>,
    next_op: u64,
    next_conn: u64,
    seed: u64,
    woken: VecDeque<OpId>,
    answer: Option<Answer>,
    /// The most operations that ran at once.
    peak: usize,
    /// Connections a cancelled operation had yet to ask the host to close.
    orphans: Vec<ConnId>,
    /// Typed documents are written as JSON text when they arrive.
    json_text: bool,
}

/// A machine for single-threaded hosts (JavaScript, one asyncio loop).
pub type LocalMachine = Machine<alloc::rc::Rc<crate::share::LocalTokens>>;
/// A machine for hosts whose operations run on several threads (behind a lock).
#[cfg(feature = "std")]
pub type SyncMachine = Machine<alloc::sync::Arc<crate::share::ThreadTokens>>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum IamKey {
    Default,
    Id(String),
    Crn(String),
    Name(String),
}

impl IamKey {
    fn of(profile: &TrustedProfile<'_>) -> Self {
        match *profile {
            TrustedProfile::Default => IamKey::Default,
            TrustedProfile::Id(s) => IamKey::Id(s.into()),
            TrustedProfile::Crn(s) => IamKey::Crn(s.into()),
            TrustedProfile::Name(s) => IamKey::Name(s.into()),
        }
    }
}

struct Op<S: TokenShare> {
    id: OpId,
    driver: Driver<S>,
    spec: &'static Spec,
    finish: Finish,
    live: Option<Live>,
    /// Connections to close before anything else (reported one per step).
    closes: Vec<ConnId>,
    /// A step held back until `closes` is drained.
    queued: Option<Step>,
    /// Waiting for a token: the share's change count then, and which share.
    waiting: Option<(u64, Option<usize>)>,
    /// The IAM token cache (an index into the machine's) of an `iam_token`.
    iam: Option<usize>,
}

/// What the operation makes of its pages and result.
enum Finish {
    Plain,
    UserData,
    SshKeys(Vec<String>),
    GetAll(PageMerger, Vec<u8>),
    Ready,
}

/// The connection carrying the operation's request.
#[derive(Clone, Copy, Debug)]
struct Live {
    conn: ConnId,
    reused: bool,
    received: bool,
    resent: bool,
}

impl<S: TokenShare + Clone + Default> Machine<S> {
    /// A machine with no operation; `seed` feeds retry jitter (use host entropy).
    pub fn new(config: DriverConfig, seed: u64) -> Self {
        Machine {
            config,
            tokens: S::default(),
            iam: Vec::new(),
            ops: Vec::new(),
            spare: Vec::new(),
            idle: Vec::new(),
            next_op: 1,
            next_conn: 1,
            seed,
            woken: VecDeque::new(),
            answer: None,
            peak: 0,
            orphans: Vec::new(),
            json_text: false,
        }
    }

    /// With `on`, each typed document is also written as JSON text when it arrives,
    /// from the model the machine has just read: [`Record::write_json`] then copies
    /// that text instead of parsing the body a second time. For hosts that take
    /// documents as JSON text (the record machine's; feature `records`).
    #[cfg(feature = "records")]
    pub fn write_json_on_arrival(&mut self, on: bool) {
        self.json_text = on;
    }

    /// The configuration.
    pub fn config(&self) -> &DriverConfig {
        &self.config
    }

    /// What became of the last answer fed to any operation, for hosts that trace
    /// (status and length, never the body).
    pub fn last_answer(&self) -> Option<Answer> {
        self.answer
    }

    /// Operations in progress.
    pub fn operations(&self) -> usize {
        self.ops.len()
    }

    /// Starts the operation `name` with `args`: a core operation
    /// ([`Operation::from_name`]: `identity_token`, `iam_token`, `instance`, ...,
    /// `get`), or one of the machine's own: `user_data` (bytes), `ssh_keys`
    /// (`authorized_keys` lines of every key, every page) and `get_all` (`path`'s
    /// pages merged into one document). IAM tokens are cached per trusted profile.
    /// Bad input fails here, with nothing sent.
    pub fn start(&mut self, name: &str, args: &Args<'_>, now: Instant) -> Result<OpId, Error> {
        let (core_name, finish) = match name {
            "user_data" => ("initialization", Finish::UserData),
            "ssh_keys" => ("keys", Finish::SshKeys(Vec::new())),
            "get_all" => ("get", Finish::GetAll(PageMerger::new(), Vec::new())),
            other => (other, Finish::Plain),
        };
        let mut args = *args;
        if matches!(finish, Finish::GetAll(..)) {
            args.all_pages = true;
        }
        let op = Operation::from_name(core_name, &args)?;
        let mut driver = self.driver();
        let mut iam = None;
        let mut new_cache = false;
        let started = match op {
            Operation::IamToken { profile } => {
                let known = self.iam.len();
                let (index, cache) = self.iam_cache(&profile);
                (iam, new_cache) = (Some(index), self.iam.len() > known);
                driver.start_cached_iam_token(profile, cache, now)
            }
            op => driver.start(op, now),
        };
        if let Err(e) = started {
            if new_cache {
                // A profile refused (too long, say) keeps no cache of its own.
                self.iam.pop();
            }
            self.recycle(driver);
            return Err(e);
        }
        let id = self.insert(driver, op.spec(), finish);
        if let Some(op) = self.ops.last_mut() {
            op.iam = iam;
        }
        Ok(id)
    }

    /// Starts operation `name` with arguments given by name, as hosts hold them:
    /// `wait_until_ready` (its `max`) as well as every [`start`](Self::start) takes.
    pub fn start_named(
        &mut self,
        name: &str,
        args: &NamedArgs,
        now: Instant,
    ) -> Result<OpId, Error> {
        if name == "wait_until_ready" {
            return self.start_wait_until_ready(args.max, now);
        }
        self.start(name, &args.args(), now)
    }

    /// Starts waiting until the service answers, for at most `max` ([`DEFAULT_WAIT`]
    /// when `None`): identity token requests with backoff (and the service's
    /// `Retry-After`) between attempts. A refusal, a timeout, a lost connection, a
    /// 5xx or a 429 means "not yet"; any other failure ends the wait at once.
    /// Running out of time fails as `timed_out` with the last attempt's cause.
    pub fn start_wait_until_ready(
        &mut self,
        max: Option<Duration>,
        now: Instant,
    ) -> Result<OpId, Error> {
        let mut driver = self.driver();
        if let Err(e) = driver.start_wait_until_ready(max.unwrap_or(DEFAULT_WAIT), now) {
            self.recycle(driver);
            return Err(e);
        }
        let spec = Operation::IdentityToken {
            expires_in: None,
            nonce: None,
        }
        .spec();
        Ok(self.insert(driver, spec, Finish::Ready))
    }

    /// Abandons `op`. Returns the connection the host must close, if the operation
    /// had a request in flight (its state on the wire is unknown).
    pub fn cancel(&mut self, op: OpId) -> Option<ConnId> {
        let index = self.ops.iter().position(|o| o.id == op)?;
        let op = self.ops.swap_remove(index);
        self.release(op)
    }

    /// Lets go of everything `op` held (its driver's request, token lease and
    /// connections); returns the connection the host must close, if any.
    fn release(&mut self, mut op: Op<S>) -> Option<ConnId> {
        op.driver.cancel();
        self.recycle(op.driver);
        self.woken.retain(|&w| w != op.id);
        // Closes it had yet to report: the next step of any operation reports them.
        self.orphans.extend(op.closes);
        self.wake_waiters();
        match op.queued {
            // A request still queued behind those closes was never handed to the
            // host: a new connection was never opened, but a reused one is open
            // (idle in the host's pool), and no one else will close it.
            Some(Step::Send(t)) => (!t.fresh).then_some(t.conn),
            _ => op.live.map(|l| l.conn),
        }
    }

    /// The next operation whose token wait ended (a token arrived, or the refresh
    /// it waited for failed): step it with [`Input::Tick`] now.
    pub fn poll_woken(&mut self) -> Option<OpId> {
        self.woken.pop_front()
    }

    /// Idle connections past [`IDLE_TIMEOUT`] at `now`, and those a cancelled
    /// operation left, forgotten by the machine: the host closes them (hosts that
    /// keep sockets call this when they like; steps report them too).
    pub fn expire_idle(&mut self, now: Instant) -> Vec<ConnId> {
        let mut expired = core::mem::take(&mut self.orphans);
        self.idle.retain(|&(conn, since)| {
            let keep = now.since(since) < IDLE_TIMEOUT;
            if !keep {
                expired.push(conn);
            }
            keep
        });
        expired
    }

    /// Every idle connection, and those cancelled operations left, forgotten by the
    /// machine: the host closes them (a client's `close` that keeps it usable). A
    /// connection an operation is using is not among them.
    pub fn close_idle(&mut self) -> Vec<ConnId> {
        let mut closed = core::mem::take(&mut self.orphans);
        closed.extend(self.idle.drain(..).map(|(conn, _)| conn));
        closed
    }

    /// Advances `op` with `input` at `now` and says what to do next for it.
    pub fn step(&mut self, op: OpId, now: Instant, input: Input<'_>) -> Step {
        let Some(index) = self.ops.iter().position(|o| o.id == op) else {
            return Step::Failed(misuse("no such operation (it ended or was cancelled)"));
        };
        // Stepped now, a wake still queued for it is spent: `poll_woken` must not
        // name it after it has gone on (its request may be in flight).
        self.woken.retain(|&w| w != op);
        let step = self.step_at(index, now, input);
        self.wake_waiters();
        if matches!(step, Step::Done(_) | Step::Failed(_)) {
            let op = self.ops.swap_remove(index);
            if op.driver.is_busy() {
                // Ended by a misuse (an answer fed with no request in flight): what it
                // held is let go of as a cancel does, its connection closed later.
                let conn = self.release(op);
                self.orphans.extend(conn);
            } else {
                self.woken.retain(|&w| w != op.id);
                self.recycle(op.driver);
            }
        }
        step
    }

    fn step_at(&mut self, index: usize, now: Instant, input: Input<'_>) -> Step {
        // Answers are fed before anything else; a tick may report an orphan first
        // (taken only then: an orphan taken beside an answer would be lost).
        if matches!(input, Input::Tick) {
            if let Some(conn) = self.orphans.pop() {
                return Step::Close(conn);
            }
        }
        let keep_idle = self.peak.clamp(MAX_IDLE_CONNECTIONS, MAX_CONNECTIONS);
        let Machine {
            ops,
            idle,
            next_conn,
            answer,
            json_text,
            ..
        } = self;
        let text = *json_text;
        let Op {
            driver,
            spec,
            finish,
            live,
            closes,
            queued,
            waiting,
            iam,
            ..
        } = &mut ops[index];
        if let Some(conn) = closes.pop() {
            return Step::Close(conn);
        }
        if let Some(step) = queued.take() {
            return step;
        }
        *waiting = None;
        let spec: &'static Spec = spec;
        let mut driven = match (input, *live, driver.awaiting()) {
            (Input::Tick, Some(_), _) => return Step::Read,
            (Input::Tick, None, _) => own(driver.step(now, DriverInput::Tick), spec, finish, text),
            (_, None, _) | (_, _, None) => {
                return Step::Failed(misuse("an answer fed with no request in flight"))
            }
            (Input::Bytes(data), Some(mut this), Some(id)) => {
                if data.is_empty() && this.may_resend() {
                    // No answer came: a tracer must not show the one before.
                    *answer = None;
                    return resend(driver, live, queued, next_conn, this.conn);
                }
                this.received |= !data.is_empty();
                *live = Some(this);
                let driven = own(
                    driver.step(now, DriverInput::Bytes(id, data)),
                    spec,
                    finish,
                    text,
                );
                if !matches!(driven, Driven::Read) {
                    *answer = driver.last_answer();
                    // The answer is complete (or unreadable): the connection is free.
                    *live = None;
                    if driver.keep_alive() {
                        idle.push((this.conn, now));
                        if idle.len() > keep_idle {
                            closes.push(idle.remove(0).0);
                        }
                    } else {
                        closes.push(this.conn);
                    }
                }
                driven
            }
            (Input::Response(response), Some(_), Some(id)) => {
                *live = None;
                *answer = Some(Answer::Response {
                    status: response.status(),
                    body_len: response.body().len(),
                });
                own(
                    driver.step(now, DriverInput::Response(id, response)),
                    spec,
                    finish,
                    text,
                )
            }
            (Input::Failed(error), Some(this), Some(id)) => {
                *answer = None;
                if error == TransportError::ConnectionLost && this.may_resend() {
                    return resend(driver, live, queued, next_conn, this.conn);
                }
                *live = None;
                closes.push(this.conn);
                own(
                    driver.step(now, DriverInput::TransportError(id, error)),
                    spec,
                    finish,
                    text,
                )
            }
        };
        let next = loop {
            break match driven {
                Driven::Step(step) => step,
                Driven::Read => Step::Read,
                Driven::Send(request) => {
                    let (conn, fresh) = take_conn(idle, closes, next_conn, now);
                    *live = Some(Live {
                        conn,
                        reused: !fresh,
                        received: false,
                        resent: false,
                    });
                    Step::Send(Transmit {
                        conn,
                        fresh,
                        request,
                    })
                }
                Driven::AwaitToken {
                    until,
                    generation,
                    iam: for_iam,
                } => {
                    *waiting = Some((generation, if for_iam { *iam } else { None }));
                    Step::AwaitToken(until)
                }
                Driven::Again => {
                    driven = own(driver.step(now, DriverInput::Tick), spec, finish, text);
                    continue;
                }
                Driven::Abandon(e) => {
                    driver.cancel();
                    Step::Failed(e)
                }
            };
        };
        match closes.pop() {
            Some(conn) => {
                *queued = Some(next);
                Step::Close(conn)
            }
            None => next,
        }
    }

    /// Keeps a finished operation's driver for the next one (its buffers are
    /// reused), a few at most: each holds up to one response's pages.
    fn recycle(&mut self, driver: Driver<S>) {
        // A busy driver would refuse its next start.
        if self.spare.len() < MAX_SPARE_DRIVERS && !driver.is_busy() {
            self.spare.push(driver);
        }
    }

    fn driver(&mut self) -> Driver<S> {
        self.spare.pop().unwrap_or_else(|| {
            self.seed = splitmix(self.seed);
            Driver::new(self.config.clone(), self.tokens.clone(), self.seed)
        })
    }

    /// The IAM token cache of `profile` (each profile has its own token).
    fn iam_cache(&mut self, profile: &TrustedProfile<'_>) -> (usize, S) {
        let key = IamKey::of(profile);
        if let Some(i) = self.iam.iter().position(|(k, _)| *k == key) {
            return (i, self.iam[i].1.clone());
        }
        let share = S::default();
        self.iam.push((key, share.clone()));
        (self.iam.len() - 1, share)
    }

    fn insert(&mut self, driver: Driver<S>, spec: &'static Spec, finish: Finish) -> OpId {
        let id = OpId(self.next_op);
        self.next_op += 1;
        self.ops.push(Op {
            id,
            driver,
            spec,
            finish,
            live: None,
            closes: Vec::new(),
            queued: None,
            waiting: None,
            iam: None,
        });
        self.peak = self.peak.max(self.ops.len());
        id
    }

    /// Moves the operations whose token share changed since they began waiting to
    /// the woken queue.
    fn wake_waiters(&mut self) {
        for op in &mut self.ops {
            let Some((generation, iam)) = op.waiting else {
                continue;
            };
            let share = match iam {
                Some(i) => self.iam.get(i).map(|(_, s)| s),
                None => Some(&self.tokens),
            };
            let now_generation = share.map_or(generation.wrapping_add(1), |s| s.with(|_, g| g));
            if now_generation != generation {
                op.waiting = None;
                self.woken.push_back(op.id);
            }
        }
    }
}

impl Live {
    /// Whether a close now may be answered by sending again: a reused connection
    /// that gave no byte of the answer, not resent before.
    fn may_resend(&self) -> bool {
        self.reused && !self.received && !self.resent
    }
}

impl Finish {
    fn page(&mut self, output: &Output<'_>, body: &[u8]) -> Result<(), Error> {
        match self {
            Finish::SshKeys(lines) => {
                if let Output::Keys(keys) = output {
                    for key in keys.keys.iter() {
                        lines.push(authorized_key(key.public_key)?);
                    }
                }
                Ok(())
            }
            Finish::GetAll(merger, out) => merger.push(body, out).map_err(Error::from),
            Finish::Plain | Finish::UserData | Finish::Ready => Ok(()),
        }
    }

    fn done(
        mut self,
        spec: &'static Spec,
        output: &Output<'_>,
        body: &[u8],
        text: bool,
    ) -> Result<Record, Error> {
        self.page(output, body)?;
        Ok(match self {
            Finish::Plain => Record::document(spec, body, Some(output).filter(|_| text)),
            Finish::UserData => match output {
                Output::Initialization(init) => Record::bytes(user_data(init)?),
                _ => return Err(bad_response("not an initialization document")),
            },
            Finish::SshKeys(lines) => Record::from_lines(lines),
            Finish::GetAll(merger, mut out) => {
                merger.finish(&mut out);
                Record::json(out)
            }
            Finish::Ready => Record::ready(),
        })
    }
}

/// The most recently used idle connection, else a new one; idle ones past
/// [`IDLE_TIMEOUT`] go to `closes`.
fn take_conn(
    idle: &mut Vec<(ConnId, Instant)>,
    closes: &mut Vec<ConnId>,
    next: &mut u64,
    now: Instant,
) -> (ConnId, bool) {
    // Oldest first: the expired ones are a prefix.
    let expired = idle
        .iter()
        .take_while(|(_, since)| now.since(*since) >= IDLE_TIMEOUT)
        .count();
    closes.extend(idle.drain(..expired).map(|(conn, _)| conn));
    if let Some((conn, _)) = idle.pop() {
        return (conn, false);
    }
    let conn = ConnId(*next);
    *next += 1;
    (conn, true)
}

/// The reused connection closed before a byte of the answer: most likely the
/// service closed it idle as the request went out (though it may have read the
/// request), so it goes again at once, once, on a new connection (after the host
/// closes the old one), outside the retry count. A POST resent this way may mint a
/// second IAM token or certificate, as its retry would.
fn resend<S: TokenShare>(
    driver: &Driver<S>,
    live: &mut Option<Live>,
    queued: &mut Option<Step>,
    next: &mut u64,
    old: ConnId,
) -> Step {
    let Some(request) = driver.in_flight().cloned() else {
        return Step::Failed(misuse("no request in flight"));
    };
    let conn = ConnId(*next);
    *next += 1;
    *live = Some(Live {
        conn,
        reused: false,
        received: false,
        resent: true,
    });
    *queued = Some(Step::Send(Transmit {
        conn,
        fresh: true,
        request,
    }));
    Step::Close(old)
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A driver's page or result without an output (it cannot happen: the driver makes
/// replies of pages and results only).
fn no_output() -> Error {
    misuse("a reply without an output")
}

fn misuse(what: &'static str) -> Error {
    Error::new(ErrorKind::InvalidInput, Cause::Misuse(what))
}

fn bad_response(what: &'static str) -> Error {
    Error::new(ErrorKind::BadResponse, Cause::Protocol(what))
}

impl<S: TokenShare + Clone + Default> core::fmt::Debug for Machine<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Machine")
            .field("endpoint", self.config.endpoint())
            .field("operations", &self.ops.len())
            .field("idle_connections", &self.idle.len())
            .finish_non_exhaustive()
    }
}

/// A driver step, owned (the driver is free again), with pages and results
/// already turned into records.
enum Driven {
    Step(Step),
    Read,
    Send(OwnedRequest),
    AwaitToken {
        until: Instant,
        generation: u64,
        iam: bool,
    },
    /// Step the driver again (a page consumed by the operation, a stale input).
    Again,
    /// The operation fails and its driver is stopped.
    Abandon(Error),
}

/// `text`: a typed document is written as JSON text too
/// ([`Machine::write_json_on_arrival`]).
fn own(step: DriverStep<'_>, spec: &'static Spec, finish: &mut Finish, text: bool) -> Driven {
    // A typed model holds only the numbers it declares (a number too large for one
    // fails its parse); a JSON document goes to the host as it is, once every
    // host's own parser would read it alike.
    if let DriverStep::Page(reply) | DriverStep::Done(reply) = &step {
        let json = matches!(reply.output(), Some(Output::Raw(_)));
        if json && !every_host_reads_alike(reply.body()) {
            return Driven::Abandon(Error::new(
                ErrorKind::BadResponse,
                Cause::Body(BodyError {
                    what: spec.output,
                    reason: "a number does not fit a double, or a string is not Unicode",
                }),
            ));
        }
    }
    match step {
        DriverStep::Send(request) => Driven::Send(request.clone()),
        DriverStep::Read => Driven::Read,
        DriverStep::Wait(until) => Driven::Step(Step::Backoff(until)),
        DriverStep::WaitForToken {
            until,
            generation,
            iam,
        } => Driven::AwaitToken {
            until,
            generation,
            iam,
        },
        DriverStep::Stale => Driven::Again,
        DriverStep::Idle => Driven::Step(Step::Failed(misuse("the operation is not running"))),
        DriverStep::Failed(e) => Driven::Step(Step::Failed(e)),
        DriverStep::Page(reply) => match finish {
            Finish::Plain => Driven::Step(Step::Page(Record::document(
                spec,
                reply.body(),
                reply.output().filter(|_| text),
            ))),
            finish => match reply
                .output()
                .map_or(Err(no_output()), |o| finish.page(o, reply.body()))
            {
                Ok(()) => match finish {
                    // The merged document so far goes out at once: memory holds
                    // about one page, whatever the number of pages.
                    Finish::GetAll(_, out) if !out.is_empty() => {
                        Driven::Step(Step::Page(Record::json(core::mem::take(out))))
                    }
                    _ => Driven::Again,
                },
                Err(e) => Driven::Abandon(e),
            },
        },
        DriverStep::Done(reply) => {
            let finish = core::mem::replace(finish, Finish::Plain);
            let done = reply.output().map_or(Err(no_output()), |o| {
                finish.done(spec, o, reply.body(), text)
            });
            Driven::Step(match done {
                Ok(record) => Step::Done(record),
                Err(e) => Step::Failed(e),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vpc_imds_core::operation::Args;

    #[test]
    fn a_refused_profile_keeps_no_iam_cache() {
        let settings = crate::Settings {
            endpoint: Some("http://127.0.0.1:9".into()),
            ..crate::Settings::default()
        };
        let mut m = LocalMachine::new(settings.build().unwrap(), 1);
        let long = "p".repeat(10_000);
        let args = |id| Args {
            profile_id: Some(id),
            ..Args::default()
        };
        let now = Instant::from_millis(0);
        assert!(m.start("iam_token", &args(&long), now).is_err());
        assert!(m.iam.is_empty());
        assert!(m.start("iam_token", &args("Profile-1"), now).is_ok());
        assert_eq!(m.iam.len(), 1);
    }
}
