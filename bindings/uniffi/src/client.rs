//! [`ImdsClient`]: each method runs one operation to completion over the foreign
//! transport, blocking or as a foreign coroutine; every call of one client shares
//! one identity token (and one IAM token cache per profile) through [`Share`]: the
//! driver's `ThreadTokens`, whose changes also wake waiting coroutines.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant as StdInstant};

use vpc_imds_driver::core::output::Output;
use vpc_imds_driver::core::response::Response;
use vpc_imds_driver::core::token::TokenCache;
use vpc_imds_driver::{
    authorized_key, user_data, Args, Driver, DriverConfig, Input, Instant, Operation, PageMerger,
    RequestId, Step, ThreadTokens, TokenShare, TrustedProfile,
};

use crate::{
    bad_response, AccessToken, Document, HttpRequest, HttpResponse, ImdsError, ImdsSettings,
    InputText, TransportError,
};

/// Sends one request and returns the whole response (blocking). Implemented by
/// the foreign side; Kotlin's default uses `java.net.http.HttpClient` with no proxy.
///
/// Connect within `request.connect_timeout`, give up after `request.timeout`
/// (throw `ResponseTimeout`), send exactly the headers given, follow no redirect.
#[uniffi::export(with_foreign)]
pub trait Transport: Send + Sync {
    /// Sends `request`; a failure before a whole response is a [`TransportError`].
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// The coroutine form of [`Transport`], for the `*_async` (Kotlin `suspend`) methods.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait AsyncTransport: Send + Sync {
    /// Sends `request` without blocking a thread (same rules as [`Transport::send`]).
    async fn send_async(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Suspends for `duration` (a backoff, or a slice of a wait for the shared token).
    async fn sleep(&self, duration: Duration);
}

/// A token share: the driver's `ThreadTokens` (threads wait on its condition
/// variable) plus the wakers of coroutines waiting for a change.
#[derive(Default)]
struct Share {
    tokens: ThreadTokens,
    wakers: Mutex<Vec<Waker>>,
}

impl TokenShare for Share {
    fn with<R>(&self, f: impl FnOnce(&mut TokenCache, u64) -> R) -> R {
        self.tokens.with(f)
    }

    fn changed(&self) {
        self.tokens.changed();
        let wakers = std::mem::take(&mut *self.wakers.lock().unwrap_or_else(|p| p.into_inner()));
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Share {
    /// Ready once the share changed after `generation`; otherwise wakes `cx` at the
    /// next change.
    fn poll_changed(&self, generation: u64, cx: &mut Context<'_>) -> Poll<()> {
        if self.tokens.generation() != generation {
            return Poll::Ready(());
        }
        self.wakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cx.waker().clone());
        // A change between the two looks would have found no waker.
        if self.tokens.generation() != generation {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// A client of the instance metadata service. Thread-safe: every call runs its own
/// driver, and all calls share one identity token, fetched by one call at a time.
#[derive(uniffi::Object)]
pub struct ImdsClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: DriverConfig,
    origin: StdInstant,
    tokens: Arc<Share>,
    /// One IAM token cache per trusted profile (id, CRN, name as given).
    iam: Mutex<HashMap<IamKey, Arc<Share>>>,
    transport: Option<Arc<dyn Transport>>,
    async_transport: Option<Arc<dyn AsyncTransport>>,
    seeds: RandomState,
}

/// Which trusted profile an IAM token cache holds tokens for.
type IamKey = (Option<String>, Option<String>, Option<String>);

impl Inner {
    /// The IAM token cache of this profile.
    fn iam_cache(&self, key: &IamKey) -> Arc<Share> {
        let mut caches = self.iam.lock().unwrap_or_else(|p| p.into_inner());
        caches.entry(key.clone()).or_default().clone()
    }

    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Time from now until `at` on the client's clock.
    fn left(&self, at: Instant) -> Duration {
        Duration::from_millis(at.since(self.now()).as_millis() as u64)
    }

    fn transport(&self) -> Result<&Arc<dyn Transport>, ImdsError> {
        self.transport
            .as_ref()
            .ok_or_else(|| ImdsError::misuse("this client has no blocking transport"))
    }

    fn async_transport(&self) -> Result<&Arc<dyn AsyncTransport>, ImdsError> {
        self.async_transport
            .as_ref()
            .ok_or_else(|| ImdsError::misuse("this client has no coroutine transport"))
    }
}

/// An operation, owned until it is started.
#[derive(Clone, Debug, Default)]
struct Op {
    name: &'static str,
    id: Option<String>,
    expires_in: Option<u32>,
    csr: Option<String>,
    path: Option<String>,
    all_pages: bool,
    /// A cached IAM token for this profile (id, CRN, name).
    iam: Option<IamKey>,
    /// `wait_until_ready` for at most this long.
    ready: Option<Duration>,
}

impl Op {
    fn named(name: &'static str) -> Op {
        Op {
            name,
            ..Op::default()
        }
    }

    fn with_id(name: &'static str, id: String) -> Op {
        Op {
            id: Some(id),
            ..Op::named(name)
        }
    }

    fn start(&self, driver: &mut Driver<Arc<Share>>, inner: &Inner) -> Result<(), ImdsError> {
        let now = inner.now();
        if let Some(max) = self.ready {
            return Ok(driver.start_wait_until_ready(max, now)?);
        }
        if let Some(key) = &self.iam {
            let (id, crn, name) = key;
            let profile =
                TrustedProfile::from_parts(id.as_deref(), crn.as_deref(), name.as_deref())?;
            return Ok(driver.start_cached_iam_token(profile, inner.iam_cache(key), now)?);
        }
        let args = Args {
            id: self.id.as_deref(),
            expires_in: self.expires_in,
            profile_id: None,
            profile_crn: None,
            profile_name: None,
            csr: self.csr.as_deref(),
            path: self.path.as_deref(),
            all_pages: self.all_pages,
        };
        Ok(driver.start(Operation::from_name(self.name, &args)?, now)?)
    }
}

/// What a call wants out of each reply besides its JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    Document,
    UserData,
    SshKeys,
}

/// A page or the result, owned.
enum Outcome {
    Page(Reply),
    Done(Reply),
}

/// A reply detached from the driver.
struct Reply {
    doc: Document,
    /// User data bytes, or `authorized_keys` lines joined by `\n`.
    extra: Vec<u8>,
}

/// What a step asks for, detached from the driver's borrow.
enum Next {
    Send(HttpRequest),
    Wait(Instant),
    WaitForToken(Instant, u64, bool),
    Tick,
    Outcome(Outcome),
    Failed(ImdsError),
}

fn reply(want: Want, r: &vpc_imds_driver::Reply<'_>) -> Result<Reply, ImdsError> {
    let extra = match (want, r.output()) {
        (Want::UserData, Output::Initialization(init)) => user_data(init)?,
        (Want::SshKeys, Output::Keys(page)) => {
            let mut lines = Vec::new();
            for key in page.keys.iter() {
                lines.extend_from_slice(authorized_key(key.public_key)?.as_bytes());
                lines.push(b'\n');
            }
            lines
        }
        (Want::Document, _) => Vec::new(),
        _ => return Err(bad_response("an unexpected output type")),
    };
    let doc = if want == Want::Document {
        Document::from_reply(r)?
    } else {
        Document {
            type_name: r.type_name().to_owned(),
            json: String::new(),
        }
    };
    Ok(Reply { doc, extra })
}

fn detach(want: Want, step: Step<'_>) -> Next {
    let outcome = |r: &vpc_imds_driver::Reply<'_>, page: bool| match reply(want, r) {
        Ok(r) if page => Next::Outcome(Outcome::Page(r)),
        Ok(r) => Next::Outcome(Outcome::Done(r)),
        Err(e) => Next::Failed(e),
    };
    match step {
        Step::Send(request) => Next::Send(HttpRequest::from_owned(request)),
        Step::Wait(until) => Next::Wait(until),
        Step::WaitForToken {
            until,
            generation,
            iam,
        } => Next::WaitForToken(until, generation, iam),
        Step::Page(r) => outcome(&r, true),
        Step::Done(r) => outcome(&r, false),
        Step::Failed(e) => Next::Failed(e.into()),
        Step::Read | Step::Stale => Next::Tick,
        Step::Idle => Next::Failed(ImdsError::misuse("the driver has no operation running")),
    }
}

/// Pending once, waking itself at once, then ready: the foreign caller polls
/// again (Kotlin's `uniffiRustCallAsync` resumes its continuation) only while its
/// coroutine is active.
fn yield_once() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

/// One operation in progress.
struct Run {
    inner: Arc<Inner>,
    driver: Driver<Arc<Share>>,
    want: Want,
    /// The IAM token cache of a cached IAM token operation.
    iam: Option<Arc<Share>>,
}

impl Run {
    fn start(inner: &Arc<Inner>, op: &Op, want: Want) -> Result<Run, ImdsError> {
        let seed = inner
            .seeds
            .hash_one((StdInstant::now(), std::thread::current().id()));
        let mut driver = Driver::new(inner.config.clone(), inner.tokens.clone(), seed);
        op.start(&mut driver, inner)?;
        Ok(Run {
            inner: inner.clone(),
            driver,
            want,
            iam: op.iam.as_ref().map(|key| inner.iam_cache(key)),
        })
    }

    fn tick(&mut self) -> Next {
        let now = self.inner.now();
        detach(self.want, self.driver.step(now, Input::Tick))
    }

    /// Feeds the transport's answer to request `id`.
    fn feed(&mut self, id: u64, answer: Result<HttpResponse, TransportError>) -> Next {
        let now = self.inner.now();
        let id = RequestId(id);
        let step = match &answer {
            Ok(r) => {
                let response = Response::from_parts(r.status, r.retry_after_secs(), &r.body);
                self.driver.step(now, Input::Response(id, response))
            }
            Err(e) => self.driver.step(now, Input::TransportError(id, e.kind())),
        };
        detach(self.want, step)
    }

    fn share(&self, iam: bool) -> &Share {
        match &self.iam {
            Some(cache) if iam => cache,
            _ => &self.inner.tokens,
        }
    }

    /// Runs until a page, the result or an error, blocking this thread.
    fn next(&mut self) -> Result<Outcome, ImdsError> {
        let transport = self.inner.transport()?.clone();
        let mut next = self.tick();
        loop {
            next = match next {
                Next::Send(request) => {
                    let id = request.id;
                    let answer = transport.send(request);
                    self.feed(id, answer)
                }
                Next::Wait(until) => {
                    std::thread::sleep(self.inner.left(until));
                    self.tick()
                }
                Next::WaitForToken(until, generation, iam) => {
                    let left = self.inner.left(until);
                    self.share(iam).tokens.wait(generation, left);
                    self.tick()
                }
                Next::Tick => self.tick(),
                Next::Outcome(outcome) => return Ok(outcome),
                Next::Failed(e) => return Err(e),
            };
        }
    }

    /// Runs until a page, the result or an error, suspending the coroutine.
    async fn next_async(&mut self) -> Result<Outcome, ImdsError> {
        let transport = self.inner.async_transport()?.clone();
        // Nothing is sent in the first poll: the caller learns there whether its
        // coroutine is still active (a cancelled one frees this future instead
        // of polling it again), so a call made in a cancelled coroutine sends
        // nothing.
        yield_once().await;
        let mut next = self.tick();
        loop {
            next = match next {
                Next::Send(request) => {
                    let id = request.id;
                    let answer = transport.send_async(request).await;
                    self.feed(id, answer)
                }
                Next::Wait(until) => {
                    let left = self.inner.left(until);
                    if !left.is_zero() {
                        transport.sleep(left).await;
                    }
                    self.tick()
                }
                Next::WaitForToken(until, generation, iam) => {
                    // Until the share changes (its waker) or `until` (the foreign
                    // sleep, cancelled when the change comes first).
                    let left = self.inner.left(until);
                    if !left.is_zero() {
                        let share = self.share(iam);
                        let mut sleep = transport.sleep(left);
                        std::future::poll_fn(|cx| match share.poll_changed(generation, cx) {
                            Poll::Ready(()) => Poll::Ready(()),
                            Poll::Pending => sleep.as_mut().poll(cx),
                        })
                        .await;
                    }
                    self.tick()
                }
                Next::Tick => self.tick(),
                Next::Outcome(outcome) => return Ok(outcome),
                Next::Failed(e) => return Err(e),
            };
        }
    }

    fn finish(mut self) -> Result<Reply, ImdsError> {
        loop {
            if let Outcome::Done(r) = self.next()? {
                return Ok(r);
            }
        }
    }

    async fn finish_async(mut self) -> Result<Reply, ImdsError> {
        loop {
            if let Outcome::Done(r) = self.next_async().await? {
                return Ok(r);
            }
        }
    }
}

impl ImdsClient {
    fn one(&self, op: Op) -> Result<Document, ImdsError> {
        Ok(Run::start(&self.inner, &op, Want::Document)?.finish()?.doc)
    }

    async fn one_async(&self, op: Op) -> Result<Document, ImdsError> {
        Ok(Run::start(&self.inner, &op, Want::Document)?
            .finish_async()
            .await?
            .doc)
    }

    fn token(&self, op: Op) -> Result<Arc<AccessToken>, ImdsError> {
        Ok(Arc::new(AccessToken::from_document(&self.one(op)?)?))
    }

    async fn token_async(&self, op: Op) -> Result<Arc<AccessToken>, ImdsError> {
        Ok(Arc::new(AccessToken::from_document(
            &self.one_async(op).await?,
        )?))
    }

    fn pages(&self, op: Op) -> Arc<Pages> {
        let state = match Run::start(&self.inner, &op, Want::Document) {
            Ok(run) => PagesState::Running(Box::new(run)),
            Err(e) => PagesState::Failed(e),
        };
        Arc::new(Pages {
            state: Mutex::new(state),
        })
    }

    fn ssh_op() -> Op {
        Op::named("keys")
    }

    fn get_op(path: String, all_pages: bool) -> Op {
        Op {
            path: Some(path),
            all_pages,
            ..Op::named("get")
        }
    }

    fn iam_op(
        profile_id: Option<InputText>,
        profile_crn: Option<InputText>,
        profile_name: Option<InputText>,
    ) -> Op {
        Op {
            iam: Some((
                profile_id.map(String::from),
                profile_crn.map(String::from),
                profile_name.map(String::from),
            )),
            ..Op::named("iam_token")
        }
    }

    fn certificate_op(csr: String, expires_in: Option<u32>) -> Op {
        Op {
            csr: Some(csr),
            expires_in,
            ..Op::named("identity_certificate")
        }
    }
}

fn lines(extra: &[u8], out: &mut Vec<String>) {
    out.extend(
        String::from_utf8_lossy(extra)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned),
    );
}

fn merge(merger: &mut PageMerger, out: &mut Vec<u8>, page: &Document) -> Result<(), ImdsError> {
    merger
        .push(page.json.as_bytes(), out)
        .map_err(|_| bad_response("a page is not a JSON object"))
}

fn merged(out: Vec<u8>) -> Result<String, ImdsError> {
    String::from_utf8(out).map_err(|_| bad_response("a page is not UTF-8"))
}

#[uniffi::export]
impl ImdsClient {
    /// A client; nothing is sent yet. `settings` is checked here. `transport` serves
    /// the blocking methods, `async_transport` the `*_async` ones (Kotlin's
    /// default transport is both); a method whose transport is missing fails as
    /// `invalid_input`.
    #[uniffi::constructor(default(transport = None, async_transport = None))]
    pub fn new(
        settings: ImdsSettings,
        transport: Option<Arc<dyn Transport>>,
        async_transport: Option<Arc<dyn AsyncTransport>>,
    ) -> Result<Arc<Self>, ImdsError> {
        Ok(Arc::new(ImdsClient {
            inner: Arc::new(Inner {
                config: settings.build()?,
                origin: StdInstant::now(),
                tokens: Arc::new(Share::default()),
                iam: Mutex::new(HashMap::new()),
                transport,
                async_transport,
                seeds: RandomState::new(),
            }),
        }))
    }

    /// The endpoint in force, e.g. `http://169.254.169.254`.
    pub fn endpoint(&self) -> String {
        self.inner.config.endpoint().to_string()
    }

    /// The whole-operation deadline in force.
    pub fn timeout(&self) -> Duration {
        self.inner.config.timeouts().operation
    }

    /// The connect timeout in force (for the transport's HTTP client).
    pub fn connect_timeout(&self) -> Duration {
        self.inner.config.timeouts().connect
    }

    /// How many times the shared identity token changed (a new token, or a refresh
    /// that ended): with the emulator's counters, proves calls share one token.
    pub fn token_generation(&self) -> u64 {
        self.inner.tokens.tokens.generation()
    }

    /// Creates a new identity token (5..=3600 s; default: the configured lifetime)
    /// and shares it with the other calls.
    #[uniffi::method(default(expires_in = None))]
    pub fn identity_token(&self, expires_in: Option<u32>) -> Result<Arc<AccessToken>, ImdsError> {
        self.token(Op {
            expires_in,
            ..Op::named("identity_token")
        })
    }

    /// An IAM token for the instance's default trusted profile or the one given
    /// (at most one of id, CRN and name), from the client's IAM token cache while
    /// it is fresh.
    #[uniffi::method(default(profile_id = None, profile_crn = None, profile_name = None))]
    pub fn iam_token(
        &self,
        profile_id: Option<InputText>,
        profile_crn: Option<InputText>,
        profile_name: Option<InputText>,
    ) -> Result<Arc<AccessToken>, ImdsError> {
        self.token(Self::iam_op(profile_id, profile_crn, profile_name))
    }

    /// `GET /metadata/v1/instance`.
    pub fn instance(&self) -> Result<Document, ImdsError> {
        self.one(Op::named("instance"))
    }

    /// `GET /metadata/v1/instance/initialization`.
    pub fn initialization(&self) -> Result<Document, ImdsError> {
        self.one(Op::named("initialization"))
    }

    /// The user data as bytes (binary and gzip kept as they are; empty when none).
    pub fn user_data(&self) -> Result<Vec<u8>, ImdsError> {
        Ok(
            Run::start(&self.inner, &Op::named("initialization"), Want::UserData)?
                .finish()?
                .extra,
        )
    }

    /// `GET /metadata/v1/instance/network_interfaces`.
    pub fn network_interfaces(&self) -> Result<Document, ImdsError> {
        self.one(Op::named("network_interfaces"))
    }

    /// `GET /metadata/v1/instance/network_interfaces/{id}`.
    pub fn network_interface(&self, id: InputText) -> Result<Document, ImdsError> {
        self.one(Op::with_id("network_interface", id.into()))
    }

    /// `GET /metadata/v1/instance/volume_attachments`.
    pub fn volume_attachments(&self) -> Result<Document, ImdsError> {
        self.one(Op::named("volume_attachments"))
    }

    /// `GET /metadata/v1/instance/volume_attachments/{id}`.
    pub fn volume_attachment(&self, id: InputText) -> Result<Document, ImdsError> {
        self.one(Op::with_id("volume_attachment", id.into()))
    }

    /// `GET /metadata/v1/keys`, page by page (follows `next.href`).
    pub fn keys(&self) -> Arc<Pages> {
        self.pages(Op::named("keys"))
    }

    /// `GET /metadata/v1/keys/{id}`.
    pub fn key(&self, id: InputText) -> Result<Document, ImdsError> {
        self.one(Op::with_id("key", id.into()))
    }

    /// Every key's public key as one OpenSSH `authorized_keys` line (a key holding
    /// a line break fails the call as `bad_response`).
    pub fn ssh_keys(&self) -> Result<Vec<String>, ImdsError> {
        let mut run = Run::start(&self.inner, &Self::ssh_op(), Want::SshKeys)?;
        let mut out = Vec::new();
        loop {
            match run.next()? {
                Outcome::Page(r) => lines(&r.extra, &mut out),
                Outcome::Done(r) => {
                    lines(&r.extra, &mut out);
                    return Ok(out);
                }
            }
        }
    }

    /// `GET /metadata/v1/placement_groups`, page by page.
    pub fn placement_groups(&self) -> Arc<Pages> {
        self.pages(Op::named("placement_groups"))
    }

    /// `GET /metadata/v1/placement_groups/{id}`.
    pub fn placement_group(&self, id: InputText) -> Result<Document, ImdsError> {
        self.one(Op::with_id("placement_group", id.into()))
    }

    /// Creates an identity certificate for a PEM certificate signing request.
    #[uniffi::method(default(expires_in = None))]
    pub fn identity_certificate(
        &self,
        csr: InputText,
        expires_in: Option<u32>,
    ) -> Result<Document, ImdsError> {
        self.one(Self::certificate_op(csr.into(), expires_in))
    }

    /// `GET /metadata/v1/{path}` (a query may follow, not `version`): the JSON as received.
    pub fn get(&self, path: InputText) -> Result<Document, ImdsError> {
        self.one(Self::get_op(path.into(), false))
    }

    /// Like `get`, page by page (follows `next.href`).
    pub fn get_pages(&self, path: InputText) -> Arc<Pages> {
        self.pages(Self::get_op(path.into(), true))
    }

    /// Like `get`, every page merged into one document (the first page's members,
    /// every list concatenated, no `next`).
    pub fn get_all(&self, path: InputText) -> Result<String, ImdsError> {
        let mut run = Run::start(
            &self.inner,
            &Self::get_op(path.into(), true),
            Want::Document,
        )?;
        let mut merger = PageMerger::new();
        let mut out = Vec::new();
        loop {
            match run.next()? {
                Outcome::Page(r) => merge(&mut merger, &mut out, &r.doc)?,
                Outcome::Done(r) => {
                    merge(&mut merger, &mut out, &r.doc)?;
                    merger.finish(&mut out);
                    return merged(out);
                }
            }
        }
    }

    /// Waits until the service answers, for at most `max` (identity token requests
    /// with backoff; refusals, timeouts, 5xx and 429 mean "not yet").
    pub fn wait_until_ready(&self, max: Duration) -> Result<(), ImdsError> {
        let op = Op {
            ready: Some(max),
            ..Op::named("identity_token")
        };
        Run::start(&self.inner, &op, Want::Document)?.finish()?;
        Ok(())
    }

    /// `identity_token` as a coroutine.
    #[uniffi::method(default(expires_in = None))]
    pub async fn identity_token_async(
        &self,
        expires_in: Option<u32>,
    ) -> Result<Arc<AccessToken>, ImdsError> {
        self.token_async(Op {
            expires_in,
            ..Op::named("identity_token")
        })
        .await
    }

    /// `iam_token` as a coroutine.
    #[uniffi::method(default(profile_id = None, profile_crn = None, profile_name = None))]
    pub async fn iam_token_async(
        &self,
        profile_id: Option<InputText>,
        profile_crn: Option<InputText>,
        profile_name: Option<InputText>,
    ) -> Result<Arc<AccessToken>, ImdsError> {
        self.token_async(Self::iam_op(profile_id, profile_crn, profile_name))
            .await
    }

    /// `instance` as a coroutine.
    pub async fn instance_async(&self) -> Result<Document, ImdsError> {
        self.one_async(Op::named("instance")).await
    }

    /// `initialization` as a coroutine.
    pub async fn initialization_async(&self) -> Result<Document, ImdsError> {
        self.one_async(Op::named("initialization")).await
    }

    /// `user_data` as a coroutine.
    pub async fn user_data_async(&self) -> Result<Vec<u8>, ImdsError> {
        Ok(
            Run::start(&self.inner, &Op::named("initialization"), Want::UserData)?
                .finish_async()
                .await?
                .extra,
        )
    }

    /// `network_interfaces` as a coroutine.
    pub async fn network_interfaces_async(&self) -> Result<Document, ImdsError> {
        self.one_async(Op::named("network_interfaces")).await
    }

    /// `network_interface` as a coroutine.
    pub async fn network_interface_async(&self, id: InputText) -> Result<Document, ImdsError> {
        self.one_async(Op::with_id("network_interface", id.into()))
            .await
    }

    /// `volume_attachments` as a coroutine.
    pub async fn volume_attachments_async(&self) -> Result<Document, ImdsError> {
        self.one_async(Op::named("volume_attachments")).await
    }

    /// `volume_attachment` as a coroutine.
    pub async fn volume_attachment_async(&self, id: InputText) -> Result<Document, ImdsError> {
        self.one_async(Op::with_id("volume_attachment", id.into()))
            .await
    }

    /// `key` as a coroutine.
    pub async fn key_async(&self, id: InputText) -> Result<Document, ImdsError> {
        self.one_async(Op::with_id("key", id.into())).await
    }

    /// `ssh_keys` as a coroutine.
    pub async fn ssh_keys_async(&self) -> Result<Vec<String>, ImdsError> {
        let mut run = Run::start(&self.inner, &Self::ssh_op(), Want::SshKeys)?;
        let mut out = Vec::new();
        loop {
            match run.next_async().await? {
                Outcome::Page(r) => lines(&r.extra, &mut out),
                Outcome::Done(r) => {
                    lines(&r.extra, &mut out);
                    return Ok(out);
                }
            }
        }
    }

    /// `placement_group` as a coroutine.
    pub async fn placement_group_async(&self, id: InputText) -> Result<Document, ImdsError> {
        self.one_async(Op::with_id("placement_group", id.into()))
            .await
    }

    /// `identity_certificate` as a coroutine.
    #[uniffi::method(default(expires_in = None))]
    pub async fn identity_certificate_async(
        &self,
        csr: InputText,
        expires_in: Option<u32>,
    ) -> Result<Document, ImdsError> {
        self.one_async(Self::certificate_op(csr.into(), expires_in))
            .await
    }

    /// `get` as a coroutine.
    pub async fn get_async(&self, path: InputText) -> Result<Document, ImdsError> {
        self.one_async(Self::get_op(path.into(), false)).await
    }

    /// `get_all` as a coroutine.
    pub async fn get_all_async(&self, path: InputText) -> Result<String, ImdsError> {
        let mut run = Run::start(
            &self.inner,
            &Self::get_op(path.into(), true),
            Want::Document,
        )?;
        let mut merger = PageMerger::new();
        let mut out = Vec::new();
        loop {
            match run.next_async().await? {
                Outcome::Page(r) => merge(&mut merger, &mut out, &r.doc)?,
                Outcome::Done(r) => {
                    merge(&mut merger, &mut out, &r.doc)?;
                    merger.finish(&mut out);
                    return merged(out);
                }
            }
        }
    }

    /// `wait_until_ready` as a coroutine.
    pub async fn wait_until_ready_async(&self, max: Duration) -> Result<(), ImdsError> {
        let op = Op {
            ready: Some(max),
            ..Op::named("identity_token")
        };
        Run::start(&self.inner, &op, Want::Document)?
            .finish_async()
            .await?;
        Ok(())
    }
}

/// The pages of a list, fetched one `next` at a time; the operation deadline
/// covers them all. After the last page (or an error) `next` returns `None`.
#[derive(uniffi::Object)]
pub struct Pages {
    state: Mutex<PagesState>,
}

enum PagesState {
    Running(Box<Run>),
    Failed(ImdsError),
    Finished,
}

impl Pages {
    fn take(&self) -> PagesState {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *state, PagesState::Finished)
    }

    fn put(&self, run: Box<Run>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = PagesState::Running(run);
    }
}

#[uniffi::export]
impl Pages {
    /// The next page, blocking; `None` after the last.
    pub fn next(&self) -> Result<Option<Document>, ImdsError> {
        match self.take() {
            PagesState::Finished => Ok(None),
            PagesState::Failed(e) => Err(e),
            PagesState::Running(mut run) => match run.next()? {
                Outcome::Page(r) => {
                    self.put(run);
                    Ok(Some(r.doc))
                }
                Outcome::Done(r) => Ok(Some(r.doc)),
            },
        }
    }

    /// The next page as a coroutine; `None` after the last.
    pub async fn next_async(&self) -> Result<Option<Document>, ImdsError> {
        match self.take() {
            PagesState::Finished => Ok(None),
            PagesState::Failed(e) => Err(e),
            PagesState::Running(mut run) => match run.next_async().await? {
                Outcome::Page(r) => {
                    self.put(run);
                    Ok(Some(r.doc))
                }
                Outcome::Done(r) => Ok(Some(r.doc)),
            },
        }
    }
}
