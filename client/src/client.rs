//! [`Client`]: the driver's loop over the std transport, one token shared by
//! every thread.

use std::hash::{BuildHasher, RandomState};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use vpc_imds_core::config::{Config, Scheme, Timeouts};
use vpc_imds_core::error::Cause;
use vpc_imds_core::retry::RetryPolicy;
use vpc_imds_core::session::{Operation, TrustedProfile};
use vpc_imds_core::time::Instant;
use vpc_imds_core::ErrorKind;
use vpc_imds_driver::{
    Answer, Driver, DriverConfig, Input, PageMerger, Settings, Step, ThreadTokens,
};

use crate::document::{kind, Document, Model};
use crate::error::{ConfigError, Error};
use crate::trace::{Trace, TraceHook};
use crate::transport::Transport;
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
    origin: StdInstant,
    transport: Transport,
    tokens: Arc<ThreadTokens>,
    trace: Option<TraceHook>,
    seeds: RandomState,
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
    /// The service's base URL, `http://HOST[:PORT]` or `https://HOST[:PORT]`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.settings.endpoint = Some(url.into());
        self
    }

    /// Don't read `VPC_IMDS_ENDPOINT`.
    pub fn ignore_env(mut self) -> Self {
        self.ignore_env = true;
        self
    }

    /// Secure access: the default endpoint becomes `https://api.metadata.cloud.ibm.com`,
    /// and an `http://` endpoint is upgraded to `https://` on the same host and port.
    /// Needs the cargo feature `https`.
    pub fn https(mut self, on: bool) -> Self {
        self.settings.secure = on;
        self
    }

    /// The API version date, `YYYY-MM-DD` (default 2025-08-26). It also picks the
    /// identity path family (`/instance_identity/v1` before 2025-08-26).
    pub fn version(mut self, date: impl Into<String>) -> Self {
        self.settings.version = Some(date.into());
        self
    }

    /// The identity token lifetime to ask for, 5..=3600 seconds (default 300).
    pub fn token_lifetime(mut self, seconds: u32) -> Self {
        self.settings.token_lifetime = Some(seconds);
        self
    }

    /// All deadlines at once (defaults: connect 1 s, request 5 s, operation 15 s).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.settings.timeout = Some(timeouts.operation);
        self.settings.request_timeout = Some(timeouts.request);
        self.settings.connect_timeout = Some(timeouts.connect);
        self
    }

    /// The deadline of a whole operation, retries included (1 ms..=1 day); also
    /// caps the connect and request timeouts.
    pub fn timeout(mut self, operation: Duration) -> Self {
        self.settings.timeout = Some(operation);
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

    /// Largest response accepted, in bytes (1 KiB..=256 MiB, default 1 MiB); larger
    /// ones fail as `bad_response`.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_response_bytes = Some(bytes);
        self
    }

    /// Builds the client. Nothing is sent yet.
    pub fn build(self) -> Result<Client, Error> {
        let mut settings = self.settings;
        if !self.ignore_env {
            settings.env_endpoint = std::env::var(ENDPOINT_ENV).ok();
        }
        let config = settings.build().map_err(ConfigError::Invalid)?;
        let transport = transport(&config, self.ca_file.as_deref())?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                origin: StdInstant::now(),
                transport,
                tokens: Arc::new(ThreadTokens::new()),
                trace: self.trace,
                seeds: RandomState::new(),
            }),
        })
    }
}

/// Refuses a host name when this build cannot resolve one.
fn check_resolvable(config: &DriverConfig) -> Result<(), Error> {
    let host = config.endpoint().host();
    if !cfg!(feature = "resolve") && crate::transport::ip_literal(host).is_none() {
        return Err(ConfigError::HostNamesUnsupported(host.to_owned()).into());
    }
    Ok(())
}

#[cfg(not(feature = "https"))]
fn transport(config: &DriverConfig, _: Option<&std::path::Path>) -> Result<Transport, Error> {
    check_resolvable(config)?;
    if config.endpoint().scheme() == Scheme::Https {
        return Err(ConfigError::HttpsUnsupported.into());
    }
    Ok(Transport::new(config.endpoint().clone()))
}

#[cfg(feature = "https")]
fn transport(config: &DriverConfig, ca_file: Option<&std::path::Path>) -> Result<Transport, Error> {
    check_resolvable(config)?;
    let tls = if config.endpoint().scheme() == Scheme::Https {
        Some(crate::tls::client_config(ca_file)?)
    } else {
        None
    };
    Ok(Transport::new(config.endpoint().clone(), tls))
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
        self.one(Operation::IdentityToken { expires_in: None })
    }

    /// Creates a new identity token living `seconds` (5..=3600).
    pub fn identity_token_for(&self, seconds: u32) -> Result<Document<kind::AccessToken>, Error> {
        self.one(Operation::IdentityToken {
            expires_in: Some(seconds),
        })
    }

    /// Exchanges the identity token for an IAM token of a trusted profile.
    pub fn iam_token(
        &self,
        profile: TrustedProfile<'_>,
    ) -> Result<Document<kind::AccessToken>, Error> {
        self.one(Operation::IamToken { profile })
    }

    /// `GET /metadata/v1/instance`.
    pub fn instance(&self) -> Result<Document<kind::Instance>, Error> {
        self.one(Operation::Instance)
    }

    /// `GET /metadata/v1/instance/initialization` (keys, user data, default profile).
    pub fn initialization(&self) -> Result<Document<kind::Initialization>, Error> {
        self.one(Operation::Initialization)
    }

    /// The user data as bytes (empty when the instance has none).
    pub fn user_data(&self) -> Result<UserData, Error> {
        let init = self.initialization()?;
        let view = init.get();
        Ok(UserData::new(vpc_imds_driver::user_data(&view)?))
    }

    /// `GET /metadata/v1/instance/network_interfaces`.
    pub fn network_interfaces(&self) -> Result<Document<kind::NetworkInterfaces>, Error> {
        self.one(Operation::NetworkInterfaces)
    }

    /// `GET /metadata/v1/instance/network_interfaces/{id}`.
    pub fn network_interface(&self, id: &str) -> Result<Document<kind::NetworkInterface>, Error> {
        self.one(Operation::NetworkInterface { id })
    }

    /// `GET /metadata/v1/instance/volume_attachments`.
    pub fn volume_attachments(&self) -> Result<Document<kind::VolumeAttachments>, Error> {
        self.one(Operation::VolumeAttachments)
    }

    /// `GET /metadata/v1/instance/volume_attachments/{id}`.
    pub fn volume_attachment(&self, id: &str) -> Result<Document<kind::VolumeAttachment>, Error> {
        self.one(Operation::VolumeAttachment { id })
    }

    /// `GET /metadata/v1/keys`, page by page (follows `next.href`).
    pub fn keys(&self) -> Pages<kind::Keys> {
        self.pages(Operation::Keys)
    }

    /// `GET /metadata/v1/keys/{id}`.
    pub fn key(&self, id: &str) -> Result<Document<kind::Key>, Error> {
        self.one(Operation::Key { id })
    }

    /// The public keys of every key, one OpenSSH `authorized_keys` line each.
    ///
    /// A key holding a line break or another control character fails the call as
    /// `bad_response` rather than inject a line into `authorized_keys`.
    pub fn ssh_keys(&self) -> Result<Vec<String>, Error> {
        let mut lines = Vec::new();
        for page in self.keys() {
            for key in page?.get().keys.iter() {
                lines.push(vpc_imds_driver::authorized_key(key.public_key)?);
            }
        }
        Ok(lines)
    }

    /// `GET /metadata/v1/placement_groups`, page by page.
    pub fn placement_groups(&self) -> Pages<kind::PlacementGroups> {
        self.pages(Operation::PlacementGroups)
    }

    /// `GET /metadata/v1/placement_groups/{id}`.
    pub fn placement_group(&self, id: &str) -> Result<Document<kind::PlacementGroup>, Error> {
        self.one(Operation::PlacementGroup { id })
    }

    /// Creates an identity certificate for a PEM certificate signing request.
    pub fn identity_certificate(
        &self,
        csr: &str,
        expires_in: Option<u32>,
    ) -> Result<Document<kind::IdentityCertificate>, Error> {
        self.one(Operation::IdentityCertificate { csr, expires_in })
    }

    /// `GET /metadata/v1/{path}` (path may carry a query, not `version`): the raw JSON.
    pub fn get(&self, path: &str) -> Result<Document<kind::Json>, Error> {
        self.one(Operation::Get {
            path,
            all_pages: false,
        })
    }

    /// Like [`get`](Self::get), following `next.href` page by page.
    pub fn get_pages(&self, path: &str) -> Pages<kind::Json> {
        self.pages(Operation::Get {
            path,
            all_pages: true,
        })
    }

    /// Like [`get`](Self::get), following every page and merging them into one
    /// document: the first page's members, every list concatenated, no `next`.
    /// To write a long list out as it arrives, feed [`get_pages`](Self::get_pages)
    /// to a [`PageMerger`] (as `vpc-imds get --all` does).
    pub fn get_all(&self, path: &str) -> Result<Vec<u8>, Error> {
        let mut merger = PageMerger::new();
        let mut out = Vec::new();
        for page in self.get_pages(path) {
            merger
                .push(page?.json(), &mut out)
                .map_err(|_| Error::bad_response("a page is not a JSON object"))?;
        }
        merger.finish(&mut out);
        Ok(out)
    }

    /// Waits until the service answers, for at most `max`: tries to create an
    /// identity token until one arrives (then it is shared by every call).
    ///
    /// Refusals, timeouts, dropped connections, 5xx and 429 mean "not yet" and are
    /// tried again after the configured backoff; any other error is returned at
    /// once. Running out of time is `timed_out`.
    pub fn wait_until_ready(&self, max: Duration) -> Result<(), Error> {
        let started = StdInstant::now();
        let mut run = Run::new(&self.inner);
        run.driver.start_wait_until_ready(max, self.inner.now())?;
        match run.finish() {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::TimedOut => Err(Error::not_ready(
                started.elapsed(),
                run.driver.last_attempt_error().cloned(),
            )),
            Err(e) => Err(e),
        }
    }

    fn one<M: Model>(&self, op: Operation<'_>) -> Result<Document<M>, Error> {
        let mut run = Run::new(&self.inner);
        run.driver.start(op, self.inner.now())?;
        Ok(Document::new(run.finish()?))
    }

    fn pages<M: Model>(&self, op: Operation<'_>) -> Pages<M> {
        let mut run = Run::new(&self.inner);
        let state = match run.driver.start(op, self.inner.now()) {
            Ok(()) => PagesState::Running(Box::new(run)),
            Err(e) => PagesState::Failed(e.into()),
        };
        Pages {
            state,
            model: PhantomData,
        }
    }
}

/// The pages of a list, each an owned [`Document`]; ends after the last page or
/// the first error. The operation deadline covers all pages.
pub struct Pages<M: Model> {
    state: PagesState,
    model: PhantomData<fn() -> M>,
}

enum PagesState {
    Running(Box<Run>),
    Failed(Error),
    Finished,
}

impl<M: Model> std::fmt::Debug for Pages<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

impl<M: Model> Iterator for Pages<M> {
    type Item = Result<Document<M>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match std::mem::replace(&mut self.state, PagesState::Finished) {
            PagesState::Finished => None,
            PagesState::Failed(e) => Some(Err(e)),
            PagesState::Running(mut run) => match run.next() {
                Ok(Outcome::Page(body)) => {
                    self.state = PagesState::Running(run);
                    Some(Ok(Document::new(body)))
                }
                Ok(Outcome::Done(body)) => Some(Ok(Document::new(body))),
                Err(e) => Some(Err(e)),
            },
        }
    }
}

/// A page or the result, owned.
enum Outcome {
    Page(Vec<u8>),
    Done(Vec<u8>),
}

/// What a step asks the host to do, detached from the driver's borrow.
enum Next {
    Send,
    Wait(Instant),
    WaitForToken(Instant, u64),
    Tick,
    Outcome(Outcome),
    Failed(Error),
}

fn detach(step: Step<'_>) -> Next {
    match step {
        Step::Send(_) => Next::Send,
        Step::Wait(until) => Next::Wait(until),
        Step::WaitForToken {
            until, generation, ..
        } => Next::WaitForToken(until, generation),
        Step::Page(reply) => Next::Outcome(Outcome::Page(reply.body().to_vec())),
        Step::Done(reply) => Next::Outcome(Outcome::Done(reply.body().to_vec())),
        Step::Failed(e) => Next::Failed(e.into()),
        Step::Read | Step::Stale => Next::Tick,
        Step::Idle => Next::Failed(misuse("the driver has no operation running").into()),
    }
}

/// One operation in progress: the driver and the connection's reads.
struct Run {
    inner: Arc<Inner>,
    driver: Driver<Arc<ThreadTokens>>,
    /// The request's bytes, kept while the driver is fed its answer.
    wire: Vec<u8>,
}

impl Inner {
    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn to_std(&self, at: Instant) -> StdInstant {
        let far = StdInstant::now() + Duration::from_secs(86_400);
        self.origin
            .checked_add(Duration::from_millis(at.as_millis()))
            .map_or(far, |t| t.min(far))
    }

    fn trace(&self, event: &Trace<'_>) {
        if let Some(hook) = &self.trace {
            hook(event);
        }
    }
}

impl Run {
    fn new(inner: &Arc<Inner>) -> Run {
        let seed = inner
            .seeds
            .hash_one((StdInstant::now(), std::thread::current().id()));
        Run {
            inner: inner.clone(),
            driver: Driver::new(inner.config.clone(), inner.tokens.clone(), seed),
            wire: Vec::new(),
        }
    }

    /// Runs to the end; a single-document operation.
    fn finish(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            if let Outcome::Done(body) = self.next()? {
                return Ok(body);
            }
        }
    }

    /// Drives the operation until a page, the result, or an error.
    fn next(&mut self) -> Result<Outcome, Error> {
        let inner = self.inner.clone();
        let mut next = detach(self.driver.step(inner.now(), Input::Tick));
        loop {
            next = match next {
                Next::Send => self.exchange(),
                Next::Wait(until) => {
                    let pause = inner
                        .to_std(until)
                        .saturating_duration_since(StdInstant::now());
                    if !pause.is_zero() {
                        inner.trace(&Trace::Backoff(pause));
                        std::thread::sleep(pause);
                    }
                    detach(self.driver.step(inner.now(), Input::Tick))
                }
                Next::WaitForToken(until, generation) => {
                    let left = inner
                        .to_std(until)
                        .saturating_duration_since(StdInstant::now());
                    inner.tokens.wait(generation, left);
                    detach(self.driver.step(inner.now(), Input::Tick))
                }
                Next::Tick => detach(self.driver.step(inner.now(), Input::Tick)),
                Next::Outcome(outcome) => return Ok(outcome),
                Next::Failed(e) => return Err(e),
            };
        }
    }

    /// Sends the request in flight and feeds back what comes of it.
    fn exchange(&mut self) -> Next {
        let Run {
            inner,
            driver,
            wire,
        } = self;
        let inner = &**inner;
        let Some(request) = driver.in_flight() else {
            return Next::Failed(misuse("no request in flight").into());
        };
        inner.trace(&Trace::Request(request));
        let id = request.id();
        let deadline = inner.to_std(request.deadline());
        let connect_timeout = request.connect_timeout();
        wire.clear();
        wire.extend_from_slice(request.wire());
        let sent = StdInstant::now();
        let trace = |t: &Trace<'_>| inner.trace(t);
        let mut exchange = match inner
            .transport
            .send(wire, connect_timeout, deadline, &trace)
        {
            Ok(exchange) => exchange,
            Err(failure) => return failed(inner, driver, id, failure),
        };
        loop {
            let data = match exchange.read(deadline) {
                Ok(data) => data,
                Err(failure) => return failed(inner, driver, id, failure),
            };
            let next = match driver.step(inner.now(), Input::Bytes(id, data)) {
                Step::Read => continue,
                step => detach(step),
            };
            match driver.last_answer() {
                Some(Answer::Response { status, body_len }) => inner.trace(&Trace::Response {
                    status,
                    body_len,
                    elapsed: sent.elapsed(),
                }),
                Some(Answer::Unreadable(e)) => inner.trace(&Trace::ResponseError(e)),
                None => {}
            }
            exchange.finish(driver.keep_alive());
            return next;
        }
    }
}

/// Tells the driver that request `id` failed in transport.
fn failed(
    inner: &Inner,
    driver: &mut Driver<Arc<ThreadTokens>>,
    id: vpc_imds_driver::RequestId,
    failure: crate::transport::Failure,
) -> Next {
    inner.trace(&Trace::TransportError {
        error: failure.error,
        detail: failure.detail.as_ref(),
    });
    detach(driver.step(inner.now(), Input::TransportError(id, failure.error)))
}

fn misuse(what: &'static str) -> vpc_imds_core::Error {
    vpc_imds_core::Error::new(ErrorKind::InvalidInput, Cause::Misuse(what))
}
