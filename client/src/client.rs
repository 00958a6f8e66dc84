//! [`Client`]: the core session driven over the std transport, one token shared by
//! every thread.

use std::hash::{BuildHasher, RandomState};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant as StdInstant};

use vpc_imds_core::config::{ApiVersion, Config, Endpoint, Scheme, Timeouts};
use vpc_imds_core::error::Cause;
use vpc_imds_core::retry::RetryPolicy;
use vpc_imds_core::session::{Action, Event, Operation, Seed, Session, TrustedProfile};
use vpc_imds_core::time::Instant;
use vpc_imds_core::token::TokenCache;
use vpc_imds_core::ErrorKind;

use crate::document::{kind, Document, Model};
use crate::error::{ConfigError, Error};
use crate::trace::{Trace, TraceHook};
use crate::transport::{Failure, Transport};
use crate::user_data::UserData;

/// The environment variable that overrides the endpoint.
pub const ENDPOINT_ENV: &str = "VPC_IMDS_ENDPOINT";
/// Default limit on one response body, in bytes.
pub const DEFAULT_MAX_RESPONSE: usize = 1024 * 1024;

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
    config: Config,
    endpoint: Endpoint,
    origin: StdInstant,
    transport: Transport,
    tokens: Mutex<TokenCache>,
    token_changed: Condvar,
    trace: Option<TraceHook>,
    max_response: usize,
    seeds: RandomState,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("transport", &self.transport)
            .field("max_response", &self.max_response)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
///
/// The endpoint is, in order: [`endpoint`](Self::endpoint), else the
/// `VPC_IMDS_ENDPOINT` environment variable (unless [`ignore_env`](Self::ignore_env)),
/// else `http://169.254.169.254` (or `https://api.metadata.cloud.ibm.com` with
/// [`https`](Self::https)). Proxy variables are never read.
#[derive(Clone)]
pub struct ClientBuilder {
    endpoint: Option<String>,
    use_env: bool,
    https: bool,
    version: Option<String>,
    token_lifetime: Option<u32>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    ca_file: Option<PathBuf>,
    trace: Option<TraceHook>,
    max_response: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoint: None,
            use_env: true,
            https: false,
            version: None,
            token_lifetime: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            ca_file: None,
            trace: None,
            max_response: DEFAULT_MAX_RESPONSE,
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("https", &self.https)
            .field("version", &self.version)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The service's base URL, `http://HOST[:PORT]` or `https://HOST[:PORT]`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Don't read `VPC_IMDS_ENDPOINT`.
    pub fn ignore_env(mut self) -> Self {
        self.use_env = false;
        self
    }

    /// Secure access: the default endpoint becomes `https://api.metadata.cloud.ibm.com`,
    /// and an `http://` endpoint is upgraded to `https://` on the same host and port.
    /// Needs the cargo feature `https`.
    pub fn https(mut self, on: bool) -> Self {
        self.https = on;
        self
    }

    /// The API version date, `YYYY-MM-DD` (default 2025-08-26). It also picks the
    /// identity path family (`/instance_identity/v1` before 2025-08-26).
    pub fn version(mut self, date: impl Into<String>) -> Self {
        self.version = Some(date.into());
        self
    }

    /// The identity token lifetime to ask for, 5..=3600 seconds (default 300).
    pub fn token_lifetime(mut self, seconds: u32) -> Self {
        self.token_lifetime = Some(seconds);
        self
    }

    /// All deadlines at once (defaults: connect 1 s, request 5 s, operation 15 s).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The deadline of a whole operation, retries included; also caps the connect
    /// and request timeouts.
    pub fn timeout(mut self, operation: Duration) -> Self {
        self.timeouts.operation = operation;
        self.timeouts.request = self.timeouts.request.min(operation);
        self.timeouts.connect = self.timeouts.connect.min(operation);
        self
    }

    /// Retry limits and backoff.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
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

    /// Largest response accepted, in bytes (default 1 MiB); larger ones fail as
    /// `bad_response`.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response = bytes.max(1024);
        self
    }

    /// Builds the client. Nothing is sent yet.
    pub fn build(self) -> Result<Client, Error> {
        let mut endpoint = match (&self.endpoint, self.use_env) {
            (Some(url), _) => parse_endpoint(url, "endpoint")?,
            (None, true) => match std::env::var(ENDPOINT_ENV) {
                Ok(url) if !url.is_empty() => parse_endpoint(&url, ENDPOINT_ENV)?,
                _ => default_endpoint(self.https),
            },
            (None, false) => default_endpoint(self.https),
        };
        if self.https && endpoint.scheme() == Scheme::Http {
            endpoint = upgrade(&endpoint)?;
        }
        let mut config = Config::default();
        config.set_endpoint(endpoint.clone());
        if let Some(v) = &self.version {
            config.set_version(ApiVersion::parse(v).map_err(ConfigError::Version)?);
        }
        if let Some(s) = self.token_lifetime {
            config
                .set_token_lifetime(s)
                .map_err(ConfigError::TokenLifetime)?;
        }
        for (what, d) in [
            ("connect", self.timeouts.connect),
            ("request", self.timeouts.request),
            ("operation", self.timeouts.operation),
        ] {
            if d < Duration::from_millis(1) {
                return Err(ConfigError::ZeroTimeout(what).into());
            }
        }
        config.timeouts = self.timeouts;
        config.retry = self.retry;
        let transport = self.transport(&endpoint)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                endpoint,
                origin: StdInstant::now(),
                transport,
                tokens: Mutex::new(TokenCache::new()),
                token_changed: Condvar::new(),
                trace: self.trace,
                max_response: self.max_response,
                seeds: RandomState::new(),
            }),
        })
    }

    #[cfg(not(feature = "https"))]
    fn transport(&self, endpoint: &Endpoint) -> Result<Transport, Error> {
        if endpoint.scheme() == Scheme::Https {
            return Err(ConfigError::HttpsUnsupported.into());
        }
        Ok(Transport::new(self.timeouts.connect))
    }

    #[cfg(feature = "https")]
    fn transport(&self, endpoint: &Endpoint) -> Result<Transport, Error> {
        let tls = if endpoint.scheme() == Scheme::Https {
            Some(crate::tls::client_config(self.ca_file.as_deref())?)
        } else {
            None
        };
        Ok(Transport::new(self.timeouts.connect, tls))
    }
}

fn parse_endpoint(url: &str, source: &'static str) -> Result<Endpoint, Error> {
    Endpoint::parse(url).map_err(|error| ConfigError::Endpoint { source, error }.into())
}

fn default_endpoint(https: bool) -> Endpoint {
    if https {
        Endpoint::secure()
    } else {
        Endpoint::plain()
    }
}

/// `http://h:p` to `https://h:p`; the default port 80 becomes 443.
fn upgrade(endpoint: &Endpoint) -> Result<Endpoint, Error> {
    let url = if endpoint.has_default_port() {
        format!("https://{}", endpoint.host())
    } else {
        format!("https://{}:{}", endpoint.host(), endpoint.port())
    };
    parse_endpoint(&url, "endpoint")
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

    /// The configuration in force (endpoint, version, deadlines, retries).
    pub fn config(&self) -> &Config {
        &self.inner.config
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
        let Some(text) = view.user_data else {
            return Ok(UserData::new(Vec::new()));
        };
        // Decoded text is never longer than its escaped form, and the core's rule
        // decides whether it stands for binary (gzip) bytes or UTF-8 text.
        let mut buf = vec![0u8; text.raw().len()];
        let bytes = text
            .user_data_into(&mut buf)
            .ok_or_else(|| Error::bad_response("user_data holds an invalid escape"))?;
        Ok(UserData::new(bytes.to_vec()))
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
            let page = page?;
            for key in page.get().keys.iter() {
                let line: String = key
                    .public_key
                    .chars()
                    .collect::<Result<_, _>>()
                    .map_err(|_| Error::bad_response("a public key holds an invalid escape"))?;
                let line = line.trim();
                if line.is_empty() || line.chars().any(char::is_control) {
                    return Err(Error::bad_response(
                        "a public key is empty or holds a control character",
                    ));
                }
                lines.push(line.to_owned());
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
    pub fn get_all(&self, path: &str) -> Result<Vec<u8>, Error> {
        let pages = self.get_pages(path).collect::<Result<Vec<_>, _>>()?;
        let bodies: Vec<&[u8]> = pages.iter().map(Document::json).collect();
        crate::json::merge_pages(&bodies)
            .map_err(|_| Error::bad_response("a page is not a JSON object"))
    }

    /// Waits until the service answers, for at most `max`: tries to create an
    /// identity token until one arrives (then it is cached).
    ///
    /// Refusals, timeouts, dropped connections, 5xx and 429 mean "not yet" and are
    /// tried again with a growing pause (100 ms to 1 s); any other error is returned at
    /// once. Running out of time is `timed_out`.
    pub fn wait_until_ready(&self, max: Duration) -> Result<(), Error> {
        let started = StdInstant::now();
        let end = started + max;
        let mut pause = Duration::from_millis(100);
        let mut last = None;
        loop {
            let left = end.saturating_duration_since(StdInstant::now());
            if left < Duration::from_millis(1) {
                return Err(Error::not_ready(started.elapsed(), last));
            }
            let mut config = self.inner.config.clone();
            let t = &mut config.timeouts;
            t.operation = t.operation.min(left);
            t.request = t.request.min(left);
            t.connect = t.connect.min(left);
            let op = Operation::IdentityToken { expires_in: None };
            match Run::start(&self.inner, op, config).and_then(|mut run| run.finish()) {
                Ok(_) => return Ok(()),
                Err(e) => match e.kind() {
                    ErrorKind::Refused
                    | ErrorKind::TimedOut
                    | ErrorKind::ConnectionLost
                    | ErrorKind::ServerError
                    | ErrorKind::RateLimited => last = e.core().cloned(),
                    _ => return Err(e),
                },
            }
            let left = end.saturating_duration_since(StdInstant::now());
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    fn one<M: Model>(&self, op: Operation<'_>) -> Result<Document<M>, Error> {
        let mut run = Run::start(&self.inner, op, self.inner.config.clone())?;
        Ok(Document::new(run.finish()?))
    }

    fn pages<M: Model>(&self, op: Operation<'_>) -> Pages<M> {
        match Run::start(&self.inner, op, self.inner.config.clone()) {
            Ok(run) => Pages {
                state: PagesState::Running(Box::new(run)),
                model: PhantomData,
            },
            Err(e) => Pages {
                state: PagesState::Failed(e),
                model: PhantomData,
            },
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
            PagesState::Running(mut run) => match run.step() {
                Ok(Step::Page(body)) => {
                    self.state = PagesState::Running(run);
                    Some(Ok(Document::new(body)))
                }
                Ok(Step::Done(body)) => Some(Ok(Document::new(body))),
                Err(e) => Some(Err(e)),
            },
        }
    }
}

enum Step {
    Page(Vec<u8>),
    Done(Vec<u8>),
}

/// One operation in progress: its session, buffers and token lease.
struct Run {
    inner: Arc<Inner>,
    session: Box<Session>,
    buf: Vec<u8>,
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

    fn lock_tokens(&self) -> MutexGuard<'_, TokenCache> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seeds `session` from the shared cache; the core decides, single-flight, who
    /// refreshes and who uses a stale token. Waits while another caller fetches.
    fn acquire(&self, session: &mut Session, deadline: StdInstant) -> Result<(), Error> {
        let mut shared = self.lock_tokens();
        loop {
            match session.seed_from(&mut shared, self.now()) {
                Seed::Proceed | Seed::ProceedLeased => return Ok(()),
                Seed::Wait => {
                    let left = deadline.saturating_duration_since(StdInstant::now());
                    if left.is_zero() {
                        return Err(vpc_imds_core::Error::new(
                            ErrorKind::TimedOut,
                            Cause::DeadlineExceeded,
                        )
                        .into());
                    }
                    shared = self
                        .token_changed
                        .wait_timeout(shared, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}

impl Run {
    fn start(inner: &Arc<Inner>, op: Operation<'_>, config: Config) -> Result<Run, Error> {
        let deadline = StdInstant::now() + config.timeouts.operation;
        let seed = inner
            .seeds
            .hash_one((StdInstant::now(), std::thread::current().id()));
        let mut session = Box::new(Session::new(config, seed));
        session.start(op, inner.now())?;
        inner.acquire(&mut session, deadline)?;
        Ok(Run {
            inner: inner.clone(),
            session,
            buf: vec![0; inner.max_response],
            wire: Vec::new(),
        })
    }

    /// Runs to the end; a single-document operation.
    fn finish(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            if let Step::Done(body) = self.step()? {
                return Ok(body);
            }
        }
    }

    /// Drives the session until a page, the result, or an error.
    fn step(&mut self) -> Result<Step, Error> {
        loop {
            let now = self.inner.now();
            let deadline = match self.session.poll(now) {
                Action::Send(request) => {
                    self.inner.trace(&Trace::Request(&request));
                    self.wire.clear();
                    self.wire.resize(request.encoded_len(), 0);
                    if request.write_into(&mut self.wire).is_none() {
                        return Err(misuse("request did not fit its own length"));
                    }
                    self.inner.to_std(request.deadline())
                }
                Action::Wait(until) => {
                    let pause = self
                        .inner
                        .to_std(until)
                        .saturating_duration_since(StdInstant::now());
                    if !pause.is_zero() {
                        self.inner.trace(&Trace::Backoff(pause));
                        std::thread::sleep(pause);
                    }
                    continue;
                }
                Action::Failed(e) => return Err(e.into()),
                Action::Idle => return Err(misuse("the session has no operation running")),
            };
            let inner = &*self.inner;
            let session = &mut self.session;
            let sent = StdInstant::now();
            let result = inner.transport.exchange(
                &inner.endpoint,
                &self.wire,
                deadline,
                &mut self.buf,
                &|t: &Trace<'_>| inner.trace(t),
                |response| {
                    inner.trace(&Trace::Response {
                        status: response.status(),
                        body_len: response.body().len(),
                        elapsed: sent.elapsed(),
                    });
                    match session.on_response(response, inner.now()) {
                        Event::Pending => Ok(None),
                        Event::Page(_) => Ok(Some(Step::Page(response.body().to_vec()))),
                        Event::Done(_) => Ok(Some(Step::Done(response.body().to_vec()))),
                        Event::Failed(e) => Err(Error::from(e)),
                    }
                },
            );
            let outcome = match result {
                Ok(outcome) => outcome,
                Err(Failure::Transport(error, detail)) => {
                    inner.trace(&Trace::TransportError {
                        error,
                        detail: detail.as_ref(),
                    });
                    pending(session.on_transport_error(error, inner.now()))
                }
                Err(Failure::Response(error)) => {
                    inner.trace(&Trace::ResponseError(error));
                    pending(session.on_response_error(error, inner.now()))
                }
            };
            self.sync_tokens();
            match outcome {
                Ok(None) => continue,
                Ok(Some(step)) => return Ok(step),
                Err(e) => return Err(e),
            }
        }
    }

    /// Publishes a token the session obtained to the shared cache (ending this
    /// run's lease) and wakes the callers waiting for it.
    fn sync_tokens(&mut self) {
        let changed = self
            .session
            .publish_to(&mut self.inner.lock_tokens(), self.inner.now());
        if changed {
            self.inner.token_changed.notify_all();
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // A refresh this run was trusted with and did not finish ends here.
        if self.session.release_lease(&mut self.inner.lock_tokens()) {
            self.inner.token_changed.notify_all();
        }
    }
}

fn pending(event: Event<'static>) -> Result<Option<Step>, Error> {
    match event {
        Event::Failed(e) => Err(e.into()),
        _ => Ok(None),
    }
}

fn misuse(what: &'static str) -> Error {
    vpc_imds_core::Error::new(ErrorKind::InvalidInput, Cause::Misuse(what)).into()
}
