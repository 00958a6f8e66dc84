//! [`ImdsClient`]: one driver client machine per client ([`SharedMachine`]), shared
//! by every thread and coroutine calling it. Each call steps its own operation: a
//! blocking call on its thread (token waits block in the machine), a `suspend` call
//! from its coroutine (token waits until the machine wakes the operation, or the
//! step's deadline). The transport moves the requests; the machine decides
//! everything else. A blocking call asks its [`Interruption`] while it waits and
//! after a failed send, and ends as `interrupted` when the thread was interrupted.

use std::future::{poll_fn, Future};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant as StdInstant};

use serde::de::{Deserialize, DeserializeOwned};
use serde_json::Value as Json;
use vpc_imds_driver::{
    MachineInput as Input, MachineStep as Step, NamedArgs, OpId, Record, SharedMachine, Value,
};

use crate::{
    bad_response, interrupted, lock, misuse, AccessToken, Document, HttpRequest, HttpResponse,
    ImdsError, ImdsSettings, TransportError,
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

    /// Suspends for `duration` (a backoff, or the longest wait for a token).
    async fn sleep(&self, duration: Duration);
}

/// Whether the calling thread was asked to stop. A blocking call asks while it
/// waits (for a token, a backoff: every [`WAIT_SLICE`]) and after a failed send,
/// and ends as [`ImdsError::Interrupted`]; Kotlin's `ThreadInterruption` reads
/// `Thread.currentThread().isInterrupted` (leaving the flag set).
#[uniffi::export(with_foreign)]
pub trait Interruption: Send + Sync {
    /// Whether the thread making the call was interrupted.
    fn interrupted(&self) -> bool;
}

/// The longest a blocking call waits between two questions to its [`Interruption`].
const WAIT_SLICE: Duration = Duration::from_millis(50);

/// A client of the instance metadata service. Thread-safe: all calls share one
/// machine, so one identity token (and one IAM token per trusted profile),
/// fetched by one call at a time.
#[derive(uniffi::Object)]
pub struct ImdsClient {
    inner: Arc<Inner>,
}

struct Inner {
    machine: SharedMachine,
    transport: Option<Arc<dyn Transport>>,
    async_transport: Option<Arc<dyn AsyncTransport>>,
    interruption: Option<Arc<dyn Interruption>>,
    /// The client's `max_response_bytes`, for the transport.
    max_bytes: usize,
}

/// What to feed the machine: nothing new, or the transport's answer.
fn input(answer: &Option<Result<HttpResponse, TransportError>>) -> Input<'_> {
    match answer {
        None => Input::Tick,
        Some(Ok(r)) => r.input(),
        Some(Err(e)) => Input::Failed(e.kind()),
    }
}

/// Pending once, waking itself at once, then ready: the foreign caller polls
/// again (Kotlin's `uniffiRustCallAsync` resumes its continuation) only while its
/// coroutine is active, so a call made in a cancelled coroutine sends nothing.
fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    poll_fn(move |cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

/// One operation of the machine, stepped by its caller; dropped before its end
/// (a cancelled coroutine, pages left early), it is cancelled in the machine.
pub(crate) struct Run {
    inner: Arc<Inner>,
    op: OpId,
    /// Done or failed: the machine has forgotten the operation.
    over: bool,
}

impl Run {
    /// A page or the result (then `over`), blocking this thread.
    fn next(&mut self) -> Result<Record, ImdsError> {
        let inner = self.inner.clone();
        let transport = inner.transport.clone();
        let transport = transport.ok_or_else(|| misuse("this client has no blocking transport"))?;
        let check = || match &inner.interruption {
            Some(i) if i.interrupted() => Err(interrupted()),
            _ => Ok(()),
        };
        let slice = match inner.interruption {
            Some(_) => WAIT_SLICE,
            None => Duration::MAX,
        };
        let mut answer = None;
        loop {
            let step = inner
                .machine
                .step_blocking_with(self.op, input(&answer), slice, &check)?;
            answer = None;
            match step {
                Step::Send(t) => {
                    let request = HttpRequest::from_owned(&t.request, inner.max_bytes);
                    let sent = transport.send(request);
                    if sent.is_err() {
                        check()?; // an interrupted send is not a lost connection to retry
                    }
                    answer = Some(sent);
                }
                Step::Backoff(until) => loop {
                    let left = inner.machine.left(until);
                    if left.is_zero() {
                        break;
                    }
                    check()?;
                    std::thread::sleep(left.min(slice));
                },
                // Connections are the transport's.
                Step::Close(_) | Step::Read => {}
                step => return self.end(step),
            }
        }
    }

    /// A page or the result (then `over`), suspending the coroutine.
    async fn next_async(&mut self) -> Result<Record, ImdsError> {
        let inner = self.inner.clone();
        let transport = inner.async_transport.clone();
        let transport =
            transport.ok_or_else(|| misuse("this client has no coroutine transport"))?;
        yield_once().await;
        let mut answer = None;
        loop {
            let step = inner.machine.step(self.op, input(&answer));
            answer = None;
            match step {
                Step::Send(t) => {
                    let request = HttpRequest::from_owned(&t.request, inner.max_bytes);
                    answer = Some(transport.send_async(request).await);
                }
                Step::Backoff(until) => transport.sleep(inner.machine.left(until)).await,
                Step::AwaitToken(until) => {
                    let mut sleep = transport.sleep(inner.machine.left(until));
                    let op = self.op;
                    poll_fn(|cx| match inner.machine.poll_woken(op, cx) {
                        Poll::Ready(()) => Poll::Ready(()),
                        Poll::Pending => sleep.as_mut().poll(cx),
                    })
                    .await;
                }
                Step::Close(_) | Step::Read => {}
                step => return self.end(step),
            }
        }
    }

    /// A page or the end.
    fn end(&mut self, step: Step) -> Result<Record, ImdsError> {
        match step {
            Step::Page(record) => Ok(record),
            Step::Done(record) => {
                self.over = true;
                Ok(record)
            }
            Step::Failed(e) => {
                self.over = true;
                Err(e.into())
            }
            _ => Err(misuse("an unexpected step")),
        }
    }

    pub(crate) fn finish(mut self) -> Result<Vec<Record>, ImdsError> {
        let mut records = Vec::new();
        while !self.over {
            records.push(self.next()?);
        }
        Ok(records)
    }

    pub(crate) async fn finish_async(mut self) -> Result<Vec<Record>, ImdsError> {
        let mut records = Vec::new();
        while !self.over {
            records.push(self.next_async().await?);
        }
        Ok(records)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.over {
            return;
        }
        self.inner.machine.cancel(self.op);
    }
}

/// The operation's result: its last record.
pub(crate) fn last(mut records: Vec<Record>) -> Result<Record, ImdsError> {
    records
        .pop()
        .ok_or_else(|| misuse("an operation without a result"))
}

// The conversions of an operation's records, named by the generated methods.

pub(crate) fn document(records: Vec<Record>) -> Result<Document, ImdsError> {
    Document::new(&last(records)?)
}

pub(crate) fn token(records: Vec<Record>) -> Result<Arc<AccessToken>, ImdsError> {
    model(records).map(Arc::new)
}

pub(crate) fn bytes(records: Vec<Record>) -> Result<Vec<u8>, ImdsError> {
    Ok(last(records)?.into_body())
}

pub(crate) fn lines(records: Vec<Record>) -> Result<Vec<String>, ImdsError> {
    Ok(last(records)?.lines().unwrap_or_default().to_vec())
}

pub(crate) fn nothing(_: Vec<Record>) -> Result<(), ImdsError> {
    Ok(())
}

/// `get_all`'s document: its parts concatenated.
pub(crate) fn merged(records: Vec<Record>) -> Result<String, ImdsError> {
    let parts: Vec<u8> = records
        .iter()
        .flat_map(|r| r.body().iter().copied())
        .collect();
    String::from_utf8(parts).map_err(|_| bad_response("a page is not UTF-8"))
}

const UNWRITABLE: &str = "the record could not be written as JSON";
const MISFIT: &str = "a document does not fit its model";

/// The record's JSON text (its `Serialize` form: IBM's field names); a typed
/// document's written directly by the driver, the same text in half the time.
pub(crate) fn json(record: &Record) -> Result<String, ImdsError> {
    let mut text = String::new();
    match record.write_json(&mut text) {
        Some(Ok(())) => Ok(text),
        Some(Err(_)) => Err(bad_response(UNWRITABLE)),
        None => serde_json::to_string(record).map_err(|_| bad_response(UNWRITABLE)),
    }
}

/// The result as the model `T`: the record's JSON text read straight into `T` (no
/// `serde_json::Value` tree, with its maps and allocations, in between).
pub(crate) fn model<T: DeserializeOwned>(records: Vec<Record>) -> Result<T, ImdsError> {
    serde_json::from_str(&json(&last(records)?)?).map_err(|_| bad_response(MISFIT))
}

/// The items of a page's list `field` (none when it is absent).
pub(crate) fn page_items<T: DeserializeOwned>(
    record: &Record,
    field: &str,
) -> Result<Vec<T>, ImdsError> {
    let mut page: Json = serde_json::from_str(&json(record)?).map_err(|_| bad_response(MISFIT))?;
    match page.get_mut(field).map(Json::take) {
        Some(list) if !list.is_null() => Vec::deserialize(list).map_err(|_| bad_response(MISFIT)),
        _ => Ok(Vec::new()),
    }
}

/// The driver's arguments from `(name, value)` pairs; it checks each one.
pub(crate) fn named(pairs: &[(&str, Value<'_>)]) -> Result<NamedArgs, ImdsError> {
    let mut args = NamedArgs::default();
    for (name, value) in pairs {
        args.set(name, *value)?;
    }
    Ok(args)
}

impl ImdsClient {
    pub(crate) fn start(&self, name: &'static str, args: &NamedArgs) -> Result<Run, ImdsError> {
        let (inner, over) = (self.inner.clone(), false);
        let op = inner.machine.start_named(name, args)?;
        Ok(Run { inner, op, over })
    }

    pub(crate) fn pages(&self, name: &'static str, args: Result<NamedArgs, ImdsError>) -> Pages {
        let run = Mutex::new(Some(args.and_then(|args| self.start(name, &args))));
        Pages { run }
    }
}

#[uniffi::export]
impl ImdsClient {
    /// A client; nothing is sent yet. `settings` is checked here. `transport` serves
    /// the blocking methods, `async_transport` the `*_async` ones (Kotlin's
    /// default transport is both); a method whose transport is missing fails as
    /// `invalid_input`. With an `interruption`, a blocking call ends as
    /// `interrupted` soon after its thread is interrupted (Kotlin's `imdsClient`
    /// passes `ThreadInterruption`).
    #[uniffi::constructor(default(transport = None, async_transport = None, interruption = None))]
    pub fn new(
        settings: ImdsSettings,
        transport: Option<Arc<dyn Transport>>,
        async_transport: Option<Arc<dyn AsyncTransport>>,
        interruption: Option<Arc<dyn Interruption>>,
    ) -> Result<Arc<Self>, ImdsError> {
        let seed = RandomState::new().hash_one(StdInstant::now());
        let machine = SharedMachine::new(settings.build()?, seed);
        machine.with(|m| m.write_json_on_arrival(true)); // documents cross as JSON text
        let max_bytes = machine.with(|m| m.config().max_response_bytes());
        Ok(Arc::new(ImdsClient {
            inner: Arc::new(Inner {
                max_bytes,
                machine,
                transport,
                async_transport,
                interruption,
            }),
        }))
    }

    /// The endpoint in force, e.g. `http://169.254.169.254`.
    pub fn endpoint(&self) -> String {
        self.inner
            .machine
            .with(|m| m.config().endpoint().to_string())
    }

    /// The whole-operation deadline in force.
    pub fn timeout(&self) -> Duration {
        self.inner.machine.with(|m| m.config().timeouts().operation)
    }

    /// The connect timeout in force (for the transport's HTTP client).
    pub fn connect_timeout(&self) -> Duration {
        self.inner.machine.with(|m| m.config().timeouts().connect)
    }
}

/// The pages of a list, fetched one `next` at a time; the operation deadline
/// covers them all. After the last page `next` returns `None`. The call after a
/// page that failed, was cancelled or interrupted (or one made while another is
/// under way) fails with `invalid_input` (cause `misuse`) instead: the list is not
/// complete, and a new list is a new call.
#[derive(uniffi::Object)]
pub struct Pages {
    run: Mutex<Option<Result<Run, ImdsError>>>,
}

impl Pages {
    /// Takes the run for one page. Until the page is in, a second caller (or any
    /// caller after this one was cancelled, which drops the run) finds an error, not
    /// the end of the list.
    fn take_for_page(&self) -> Result<Option<Run>, ImdsError> {
        let mut slot = lock(&self.run);
        let run = slot.take().transpose()?;
        if run.is_some() {
            *slot = Some(Err(misuse(
                "the pages were abandoned: a call for the next page was cancelled, or another is under way",
            )));
        }
        Ok(run)
    }

    /// Hands the run back after a page; after the last page the pages end (`None`
    /// from then on); after a failed or interrupted page the next call fails (a
    /// retry of the same pages must not pass for the whole list).
    fn settle(&self, run: Run, page: Result<Record, ImdsError>) -> Result<Record, ImdsError> {
        let ended = {
            let mut slot = lock(&self.run);
            if page.is_ok() && !run.over {
                *slot = Some(Ok(run));
                None
            } else {
                *slot = match &page {
                    Ok(_) => None,
                    Err(ImdsError::Interrupted { .. }) => Some(Err(misuse(
                        "the pages were abandoned: a call for a page was interrupted",
                    ))),
                    Err(_) => Some(Err(misuse(
                        "the pages ended with an error: the list is incomplete (list again)",
                    ))),
                };
                Some(run)
            }
        };
        drop(ended); // outside the lock: dropping a run cancels its operation
        page
    }

    /// The next page's record, blocking; `None` after the last.
    pub(crate) fn next_record(&self) -> Result<Option<Record>, ImdsError> {
        let Some(mut run) = self.take_for_page()? else {
            return Ok(None);
        };
        let page = run.next();
        self.settle(run, page).map(Some)
    }

    /// The next page's record as a coroutine; `None` after the last.
    pub(crate) async fn next_record_async(&self) -> Result<Option<Record>, ImdsError> {
        let Some(mut run) = self.take_for_page()? else {
            return Ok(None);
        };
        let page = run.next_async().await;
        self.settle(run, page).map(Some)
    }
}

#[uniffi::export]
impl Pages {
    /// The next page, blocking; `None` after the last.
    pub fn next(&self) -> Result<Option<Document>, ImdsError> {
        self.next_record()?.as_ref().map(Document::new).transpose()
    }

    /// The next page as a coroutine; `None` after the last.
    pub async fn next_async(&self) -> Result<Option<Document>, ImdsError> {
        let record = self.next_record_async().await?;
        record.as_ref().map(Document::new).transpose()
    }
}
