//! [`Client`]: the driver's client machine over the std transport. Every thread
//! steps its own operation; the machine (behind one lock) decides everything else.

use std::hash::{BuildHasher, RandomState};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant as StdInstant};

use vpc_imds_core::config::{Config, Timeouts};
use vpc_imds_core::error::TransportError;
use vpc_imds_core::operation::Args;
use vpc_imds_core::retry::RetryPolicy;
use vpc_imds_core::session::TrustedProfile;
use vpc_imds_core::time::Instant;
use vpc_imds_driver::{
    Answer, ConnId, DriverConfig, MachineInput as Input, MachineStep as Step, OpId, Record,
    Settings, SharedMachine, Transmit,
};

use crate::document::{kind, Document, Model};
use crate::error::{ConfigError, Error};
use crate::trace::{Trace, TraceHook};
use crate::transport::{Conn, Failure, Transport};
use crate::user_data::UserData;

pub use vpc_imds_driver::ENDPOINT_ENV;

/// Default limit on one response body, in bytes.
pub const DEFAULT_MAX_RESPONSE: usize = vpc_imds_driver::settings::DEFAULT_RESPONSE_BYTES;

/// A client of the instance metadata service.
///
/// Cheap to clone (clones share everything) and `Send + Sync`: threads share one
/// identity token, and only one of them fetches it at a time. Each method runs one
/// operation to completion, retries and token refreshes included, within the
/// operation deadline.
///
/// ```no_run
/// let client = vpc_imds::Client::builder().endpoint("http://127.0.0.1:8080").build()?;
/// let instance = client.instance()?;
/// println!("instance {}", instance.get().id);
/// # Ok::<(), vpc_imds::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: DriverConfig,
    transport: Transport,
    /// The machine every thread steps, and its clock.
    machine: SharedMachine,
    /// Open idle connections, for the machine to hand out again.
    idle: Mutex<Idle>,
    trace: Option<TraceHook>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", self.config.core())
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
///
/// The endpoint is, in order: [`endpoint`](Self::endpoint), else the
/// `VPC_IMDS_ENDPOINT` environment variable (unless [`ignore_env`](Self::ignore_env)),
/// else `http://169.254.169.254` (or `https://api.metadata.cloud.ibm.com` with
/// [`https`](Self::https)). Proxy variables are never read. Every value is checked
/// by [`build`](Self::build), with the same limits as every binding.
#[derive(Clone, Default)]
pub struct ClientBuilder {
    settings: Settings,
    ignore_env: bool,
    ca_file: Option<PathBuf>,
    trace: Option<TraceHook>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("settings", &self.settings)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Don't read `VPC_IMDS_ENDPOINT`.
    pub fn ignore_env(mut self) -> Self {
        self.ignore_env = true;
        self
    }

    /// All deadlines at once (defaults: connect 1 s, request 5 s, operation 15 s).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.settings.timeout = Some(timeouts.operation);
        self.settings.request_timeout = Some(timeouts.request);
        self.settings.connect_timeout = Some(timeouts.connect);
        self
    }

    /// Retry limits and backoff.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.settings.max_attempts = Some(policy.max_attempts.into());
        self.settings.base_delay = Some(policy.base_delay);
        self.settings.max_delay = Some(policy.max_delay);
        self
    }

    /// Trust only the CA certificates in this PEM file for HTTPS (instead of the
    /// built-in web PKI roots), e.g. the emulator's self-signed certificate.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Calls `hook` for every step on the wire (see [`Trace`]; never a token).
    pub fn trace(mut self, hook: impl Fn(&Trace<'_>) + Send + Sync + 'static) -> Self {
        self.trace = Some(Arc::new(hook));
        self
    }

    /// Builds the client. Nothing is sent yet.
    pub fn build(self) -> Result<Client, Error> {
        let mut settings = self.settings;
        if !self.ignore_env {
            // Not UTF-8: kept (U+FFFD in place of the bad bytes) for the settings to
            // refuse, not read as unset.
            settings.env_endpoint =
                std::env::var_os(ENDPOINT_ENV).map(|v| v.to_string_lossy().into_owned());
        }
        let config = settings.build().map_err(ConfigError::Invalid)?;
        let transport = Transport::new(config.endpoint(), self.ca_file.as_deref())?;
        let seed = RandomState::new().hash_one(StdInstant::now());
        Ok(Client {
            inner: Arc::new(Inner {
                machine: SharedMachine::new(config.clone(), seed),
                config,
                transport,
                idle: Mutex::new(Idle(Vec::new())),
                trace: self.trace,
            }),
        })
    }
}

impl Client {
    /// A client with the defaults (see [`ClientBuilder`]).
    pub fn new() -> Result<Client, Error> {
        ClientBuilder::default().build()
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The configuration in force (endpoint, version, deadlines, retries, size limit).
    pub fn config(&self) -> &Config {
        self.inner.config.core()
    }

    /// Creates a new identity token (and caches it for the other operations).
    pub fn identity_token(&self) -> Result<Document<kind::AccessToken>, Error> {
        self.one("identity_token", &Args::default())
    }

    /// Creates a new identity token living `seconds` (5..=3600).
    pub fn identity_token_for(&self, seconds: u32) -> Result<Document<kind::AccessToken>, Error> {
        self.identity_token_with(Some(seconds), None)
    }

    /// Creates a new identity token living `expires_in` seconds (5..=3600; `None`:
    /// the configured lifetime) that carries `nonce` (1..=256 visible ASCII bytes):
    /// the service echoes it in the response and as the JWT's `nonce` claim, so a
    /// relying party can tell the token was made for its challenge.
    pub fn identity_token_with(
        &self,
        expires_in: Option<u32>,
        nonce: Option<&str>,
    ) -> Result<Document<kind::AccessToken>, Error> {
        let args = Args {
            expires_in,
            nonce,
            ..Args::default()
        };
        self.one("identity_token", &args)
    }

    /// An IAM token of a trusted profile, in exchange for the identity token. Each
    /// profile's token is cached and shared until it is due for refresh.
    pub fn iam_token(
        &self,
        profile: TrustedProfile<'_>,
    ) -> Result<Document<kind::AccessToken>, Error> {
        let mut args = Args::default();
        match profile {
            TrustedProfile::Id(id) => args.profile_id = Some(id),
            TrustedProfile::Crn(crn) => args.profile_crn = Some(crn),
            TrustedProfile::Name(name) => args.profile_name = Some(name),
            _ => {}
        }
        self.one("iam_token", &args)
    }

    /// The user data as bytes (empty when the instance has none).
    pub fn user_data(&self) -> Result<UserData, Error> {
        let record = self.run("user_data", &Args::default())?;
        Ok(UserData::new(record.into_body()))
    }

    /// The public keys of every key, one OpenSSH `authorized_keys` line each.
    ///
    /// A key holding a line break or another control character fails the call as
    /// `bad_response` rather than inject a line into `authorized_keys`.
    pub fn ssh_keys(&self) -> Result<Vec<String>, Error> {
        let record = self.run("ssh_keys", &Args::default())?;
        Ok(record.lines().map(<[String]>::to_vec).unwrap_or_default())
    }

    /// Like [`get`](Self::get), following every page and merging them into one
    /// document: the first page's members, every list concatenated, no `next`.
    /// To write a long list out as it arrives, use [`get_all_parts`](Self::get_all_parts).
    pub fn get_all(&self, path: &str) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        for part in self.get_all_parts(path) {
            out.extend_from_slice(&part?);
        }
        Ok(out)
    }

    /// [`get_all`](Self::get_all)'s document in parts, each handed out as soon as it
    /// is merged (memory holds about one page, whatever the number of pages): the
    /// parts concatenated are the document.
    pub fn get_all_parts(&self, path: &str) -> impl Iterator<Item = Result<Vec<u8>, Error>> {
        let args = Args {
            path: Some(path),
            all_pages: true,
            ..Args::default()
        };
        let parts: Pages<kind::Json> = self.pages("get_all", &args);
        parts.map(|part| part.map(Document::into_json))
    }

    /// Waits until the service answers, for at most `max` (60 s when `None`, as in
    /// every binding): tries to create an identity token until one arrives (then it
    /// is shared by every call).
    ///
    /// Refusals, timeouts, dropped connections, 5xx and 429 mean "not yet" and are
    /// tried again after the configured backoff, or after the service's
    /// `Retry-After`; any other error is returned at once. Running out of time is
    /// `timed_out`.
    pub fn wait_until_ready(&self, max: impl Into<Option<Duration>>) -> Result<(), Error> {
        let op = self.inner.machine.start_wait_until_ready(max.into())?;
        Running::new(&self.inner, op).finish().map(drop)
    }

    fn run(&self, name: &str, args: &Args<'_>) -> Result<Record, Error> {
        self.begin(name, args)?.finish()
    }

    fn one<M: Model>(&self, name: &str, args: &Args<'_>) -> Result<Document<M>, Error> {
        Ok(Document::new(self.run(name, args)?.into_body()))
    }

    fn begin(&self, name: &str, args: &Args<'_>) -> Result<Running, Error> {
        let op = self.inner.machine.start(name, args)?;
        Ok(Running::new(&self.inner, op))
    }

    fn pages<M: Model>(&self, name: &str, args: &Args<'_>) -> Pages<M> {
        Pages {
            op: Some(self.begin(name, args)),
            model: PhantomData,
        }
    }
}

include!("client_api.rs");

/// The pages of a list, each an owned [`Document`]; ends after the last page or
/// the first error. The operation deadline covers all pages.
pub struct Pages<M: Model> {
    /// `None` once over.
    op: Option<Result<Running, Error>>,
    model: PhantomData<fn() -> M>,
}

impl<M: Model> std::fmt::Debug for Pages<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

impl<M: Model> Iterator for Pages<M> {
    type Item = Result<Document<M>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut op = match self.op.take()? {
            Ok(op) => op,
            Err(e) => return Some(Err(e)),
        };
        let page = op.next();
        if matches!(page, Ok((_, false))) {
            self.op = Some(Ok(op));
        }
        Some(page.map(|(record, _)| Document::new(record.into_body())))
    }
}

/// Open idle connections by the machine's ids: a few at a time, so a list (a hash
/// map's code costs the static binary more than its lookups save).
struct Idle(Vec<(ConnId, Conn)>);

impl Idle {
    fn insert(&mut self, id: ConnId, conn: Conn) {
        self.remove(&id);
        self.0.push((id, conn));
    }

    fn remove(&mut self, id: &ConnId) -> Option<Conn> {
        let at = self.0.iter().position(|(c, _)| c == id)?;
        Some(self.0.swap_remove(at).1)
    }
}

/// What to feed the machine next.
enum Feed {
    Tick,
    Bytes(usize),
    Failed(TransportError),
}

/// One operation, stepped by the calling thread: it does the I/O the machine
/// asks for, outside the lock.
struct Running {
    inner: Arc<Inner>,
    id: OpId,
    /// The connection carrying the request in flight, and its deadline.
    conn: Option<(ConnId, Conn)>,
    deadline: StdInstant,
    sent: StdInstant,
    buf: Box<[u8; READ_CHUNK]>,
    /// Done or failed: the machine has forgotten the operation.
    over: bool,
}

const READ_CHUNK: usize = 64 * 1024;

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("id", &self.id).finish()
    }
}

impl Inner {
    /// `at` on the machine's clock as a `std` instant (at most a day away).
    fn to_std(&self, at: Instant) -> StdInstant {
        let left = self.machine.left(at).min(Duration::from_secs(86_400));
        StdInstant::now() + left
    }

    fn idle(&self) -> MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn trace(&self, event: &Trace<'_>) {
        if let Some(hook) = &self.trace {
            hook(event);
        }
    }
}

impl Running {
    fn new(inner: &Arc<Inner>, id: OpId) -> Running {
        Running {
            inner: inner.clone(),
            id,
            conn: None,
            deadline: StdInstant::now(),
            sent: StdInstant::now(),
            buf: Box::new([0; READ_CHUNK]),
            over: false,
        }
    }

    /// Runs to the end; a single-document operation.
    fn finish(&mut self) -> Result<Record, Error> {
        loop {
            if let (record, true) = self.next()? {
                return Ok(record);
            }
        }
    }

    /// Steps the operation until a page, the result (`true`: the last), or an error.
    fn next(&mut self) -> Result<(Record, bool), Error> {
        let inner = self.inner.clone();
        let mut feed = Feed::Tick;
        loop {
            let input = match feed {
                Feed::Tick => Input::Tick,
                Feed::Bytes(n) => Input::Bytes(self.buf.get(..n).unwrap_or_default()),
                Feed::Failed(e) => Input::Failed(e),
            };
            let answered = matches!(feed, Feed::Bytes(_) | Feed::Failed(_));
            let conn = &mut self.conn;
            let (step, answer) = inner.machine.step_then(self.id, input, |m, step| {
                let over = answered && !matches!(step, Step::Read);
                // The answer is complete (or failed): the connection goes back to the
                // idle set under the machine's lock, before another thread can be
                // handed it (or told to close it).
                if let Some((id, c)) = conn.take_if(|_| over) {
                    inner.idle().insert(id, c);
                }
                over.then(|| m.last_answer())
            });
            if let Some(answer) = answer {
                self.answered(answer);
            }
            feed = Feed::Tick;
            match step {
                Step::Read => feed = self.read(),
                Step::Send(transmit) => feed = self.send(transmit),
                Step::Close(conn) => {
                    inner.idle().remove(&conn);
                }
                Step::Backoff(until) => {
                    let pause = inner.machine.left(until);
                    if !pause.is_zero() {
                        inner.trace(&Trace::Backoff(pause));
                        std::thread::sleep(pause);
                    }
                }
                Step::AwaitToken(until) => inner.machine.wait_woken(self.id, until),
                Step::Page(record) => return Ok((record, false)),
                Step::Done(record) => {
                    self.over = true;
                    return Ok((record, true));
                }
                Step::Failed(e) => {
                    self.over = true;
                    return Err(e.into());
                }
            }
        }
    }

    /// Traces a complete (or failed) answer.
    fn answered(&self, answer: Option<Answer>) {
        match answer {
            Some(Answer::Response { status, body_len }) => self.inner.trace(&Trace::Response {
                status,
                body_len,
                elapsed: self.sent.elapsed(),
            }),
            Some(Answer::Unreadable(e)) => self.inner.trace(&Trace::ResponseError(e)),
            None => {}
        }
    }

    fn send(&mut self, t: Transmit) -> Feed {
        let inner = &*self.inner;
        inner.trace(&Trace::Request(&t.request));
        self.deadline = inner.to_std(t.request.deadline());
        self.sent = StdInstant::now();
        let conn = if t.fresh {
            let trace = |e: &Trace<'_>| inner.trace(e);
            inner
                .transport
                .connect(t.request.connect_timeout(), self.deadline, &trace)
        } else {
            inner
                .idle()
                .remove(&t.conn)
                .ok_or(Failure::new(TransportError::ConnectionLost, None))
        };
        let sent = conn.and_then(|mut conn| {
            crate::transport::send(&mut conn, t.request.wire(), self.deadline)?;
            Ok(conn)
        });
        match sent {
            Ok(conn) => {
                self.conn = Some((t.conn, conn));
                Feed::Tick
            }
            Err(failure) => self.failed(failure),
        }
    }

    fn read(&mut self) -> Feed {
        let Some((_, conn)) = self.conn.as_mut() else {
            return Feed::Failed(TransportError::ConnectionLost);
        };
        match crate::transport::read(conn, &mut self.buf[..], self.deadline) {
            Ok(n) => Feed::Bytes(n),
            Err(failure) => self.failed(failure),
        }
    }

    fn failed(&mut self, failure: Failure) -> Feed {
        self.inner.trace(&Trace::TransportError {
            error: failure.error,
            detail: failure.detail.as_ref(),
        });
        Feed::Failed(failure.error)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.over {
            return;
        }
        // An operation dropped before its end (a `Pages` left early): the machine
        // forgets it, and a connection with a request in flight is closed.
        if let Some(conn) = self.inner.machine.cancel(self.id) {
            self.inner.idle().remove(&conn);
        }
    }
}
