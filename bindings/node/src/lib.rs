#![deny(missing_docs)]
// Errors carry IBM's message inline (the core has no allocator).
#![allow(clippy::result_large_err)]
//! The native half of the npm package `vpc-imds`: the host driver
//! ([`vpc_imds_driver::Driver`]) behind a napi-rs class, plus conversions.
//!
//! Everything here is a conversion: JavaScript (`lib/*.js`) owns the sockets,
//! timers and the clock, feeds what happens to [`NodeDriver::feed`] and friends,
//! and acts on the step returned. Every protocol decision (tokens, retries,
//! deadlines, pages, settings) is the driver's and the core's.

use std::rc::Rc;

use napi::bindgen_prelude::{Buffer, Either, Utf16String};
use napi_derive::napi;
use vpc_imds_driver::core::error::Cause;
use vpc_imds_driver::core::output::Output;
use vpc_imds_driver::core::response::{parse_retry_after, Response};
use vpc_imds_driver::{
    authorized_key, merge_pages, seconds, user_data, Args, Driver, DriverConfig, Error, Input,
    InputError, Instant, LocalTokens, Operation, PageMerger, Reply, RequestId, Settings, Step,
    TransportError, TrustedProfile,
};

/// Step kinds, as numbers (JavaScript compares them without allocating).
mod kind {
    pub const SEND: u32 = 0;
    pub const READ: u32 = 1;
    pub const WAIT: u32 = 2;
    pub const WAIT_FOR_TOKEN: u32 = 3;
    pub const PAGE: u32 = 4;
    pub const DONE: u32 = 5;
    pub const FAILED: u32 = 6;
    pub const STALE: u32 = 7;
    pub const IDLE: u32 = 8;
}

/// An operation's failure as JavaScript builds its `ImdsError` subclass from it.
#[napi(object)]
#[derive(Debug)]
pub struct ErrorInfo {
    /// The error kind (`invalid_input`, `refused`, `timed_out`, ...).
    pub kind: String,
    /// The error's text (never holds a token).
    pub text: String,
    /// Why: `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol`, `misuse`.
    pub cause: String,
    /// The transport failure's name, for `cause == "transport"`.
    pub transport: Option<String>,
    /// HTTP status of an error answer.
    pub status: Option<u32>,
    /// IBM's error code.
    pub code: Option<String>,
    /// IBM's error message.
    pub message: Option<String>,
    /// IBM's trace id.
    pub trace: Option<String>,
    /// The field, header or parameter at fault.
    pub target: Option<String>,
    /// The `Retry-After` seconds the service asked for.
    pub retry_after: Option<u32>,
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn error_info(e: &Error) -> ErrorInfo {
    let cause = e.cause().as_str();
    let transport = match e.cause() {
        Cause::Transport(t) => Some(t.as_str().to_owned()),
        _ => None,
    };
    let api = e.api();
    ErrorInfo {
        kind: e.kind().as_str().to_owned(),
        text: e.to_string(),
        cause: cause.to_owned(),
        transport,
        status: api.map(|a| u32::from(a.status)),
        code: api.and_then(|a| some(&a.code)),
        message: api.and_then(|a| some(&a.message)),
        trace: api.and_then(|a| some(&a.trace)),
        target: api.and_then(|a| some(&a.target)),
        retry_after: api.and_then(|a| a.retry_after),
    }
}

fn input_info(e: InputError) -> ErrorInfo {
    error_info(&Error::from(e))
}

/// A text argument from its UTF-16 form. A lone surrogate has no UTF-8 form: napi's
/// string conversion would send U+FFFD in its place, so it is refused here, as the
/// core refuses any character it cannot send (`invalid_input` naming the argument).
fn text(value: Option<&Utf16String>, what: &'static str) -> Result<Option<String>, InputError> {
    value
        .map(|v| String::from_utf16(v).map_err(|_| InputError::ForbiddenCharacter { what }))
        .transpose()
}

/// What a user configures, as JavaScript passes it (seconds as numbers).
#[napi(object)]
#[derive(Debug, Default)]
pub struct SettingsInput {
    /// `http://HOST[:PORT]` or `https://HOST[:PORT]`.
    pub endpoint: Option<String>,
    /// The value of `VPC_IMDS_ENDPOINT` (read by JavaScript).
    pub env_endpoint: Option<String>,
    /// Secure access (HTTPS).
    pub secure: Option<bool>,
    /// API version date.
    pub version: Option<String>,
    /// Identity token lifetime, seconds.
    pub token_lifetime: Option<u32>,
    /// Whole operation, seconds.
    pub timeout: Option<f64>,
    /// One connect, seconds.
    pub connect_timeout: Option<f64>,
    /// One request, seconds.
    pub request_timeout: Option<f64>,
    /// Attempts per request.
    pub max_attempts: Option<u32>,
    /// First backoff step, seconds.
    pub base_delay: Option<f64>,
    /// Largest backoff step, seconds.
    pub max_delay: Option<f64>,
    /// Largest response accepted, bytes.
    pub max_response_bytes: Option<f64>,
}

fn secs(what: &'static str, v: Option<f64>) -> Result<Option<core::time::Duration>, InputError> {
    v.map(|s| seconds(what, s)).transpose()
}

fn delay(what: &'static str, v: Option<f64>) -> Result<Option<core::time::Duration>, InputError> {
    v.map(|s| vpc_imds_driver::settings::delay_seconds(what, s))
        .transpose()
}

fn build(input: &SettingsInput) -> Result<DriverConfig, InputError> {
    let bytes = match input.max_response_bytes {
        None => None,
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= usize::MAX as f64 => {
            Some(n as usize)
        }
        Some(_) => {
            return Err(InputError::OutOfRange {
                what: "max_response_bytes",
                min: 0,
                max: u64::MAX,
            })
        }
    };
    Settings {
        endpoint: input.endpoint.clone(),
        env_endpoint: input.env_endpoint.clone(),
        secure: input.secure.unwrap_or(false),
        version: input.version.clone(),
        token_lifetime: input.token_lifetime,
        timeout: secs("timeout", input.timeout)?,
        connect_timeout: secs("connect timeout", input.connect_timeout)?,
        request_timeout: secs("request timeout", input.request_timeout)?,
        max_attempts: input.max_attempts,
        base_delay: delay("base delay", input.base_delay)?,
        max_delay: delay("max delay", input.max_delay)?,
        max_response_bytes: bytes,
    }
    .build()
}

/// A validated configuration (the driver's [`Settings::build`]).
#[napi]
pub struct NodeConfig {
    config: DriverConfig,
}

/// Validates `settings`: the configuration, or the `invalid_input` error naming
/// the bad setting.
#[napi]
pub fn configure(settings: SettingsInput) -> Either<NodeConfig, ErrorInfo> {
    match build(&settings) {
        Ok(config) => Either::A(NodeConfig { config }),
        Err(e) => Either::B(input_info(e)),
    }
}

#[napi]
impl NodeConfig {
    /// The endpoint, e.g. `http://169.254.169.254`.
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.config.endpoint().to_string()
    }

    /// Whether the endpoint is `https`.
    #[napi(getter)]
    pub fn secure(&self) -> bool {
        self.config.endpoint().to_string().starts_with("https:")
    }

    /// The endpoint's host name or address (IPv6 without brackets).
    #[napi(getter)]
    pub fn host(&self) -> String {
        let host = self.config.endpoint().host();
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned()
    }

    /// The endpoint's port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.config.endpoint().port())
    }

    /// The API version date.
    #[napi(getter)]
    pub fn version(&self) -> String {
        self.config.core().version().to_string()
    }

    /// The whole-operation deadline, milliseconds.
    #[napi(getter)]
    pub fn timeout_ms(&self) -> f64 {
        self.config.timeouts().operation.as_millis() as f64
    }
}

/// One identity (or IAM) token cache shared by every driver of a client.
#[napi]
pub struct NodeTokens {
    share: Rc<LocalTokens>,
}

#[napi]
impl NodeTokens {
    /// An empty cache.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NodeTokens {
            share: Rc::new(LocalTokens::new()),
        }
    }

    /// How many times the cache changed.
    #[napi(getter)]
    pub fn generation(&self) -> f64 {
        self.share.generation() as f64
    }
}

/// One header of a request, for transports with their own HTTP stack.
#[napi(object)]
pub struct HeaderOut {
    /// Canonical name.
    pub name: String,
    /// Value (an `Authorization` value holds the token).
    pub value: String,
}

/// The request in flight as parts, for transports with their own HTTP stack.
#[napi(object)]
pub struct RequestParts {
    /// Request id (feed its answer back with it).
    pub id: f64,
    /// `GET`, `PUT` or `POST`.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Path and query.
    pub target: String,
    /// Headers, in order (`Host` and `Content-Length` excluded).
    pub headers: Vec<HeaderOut>,
    /// The JSON body, if any.
    pub body: Option<String>,
    /// Time left for the exchange, milliseconds.
    pub timeout: f64,
    /// Connect timeout, milliseconds.
    pub connect_timeout: f64,
}

/// What to do next, as JavaScript reads it (`kind` is one of the `STEP_*` numbers).
#[napi(object)]
pub struct StepOut {
    /// The step kind.
    pub kind: u32,
    /// A token share changed during this step: wake the calls waiting on it.
    pub changed: bool,
    /// Send: the request id.
    pub id: Option<f64>,
    /// Send: the complete HTTP/1.1 request (it holds the token: never log it).
    pub wire: Option<Buffer>,
    /// Send: time left for the exchange, milliseconds.
    pub timeout: Option<f64>,
    /// Send: connect timeout, milliseconds.
    pub connect_timeout: Option<f64>,
    /// Wait / WaitForToken: wake at this time (client clock, milliseconds).
    pub until: Option<f64>,
    /// Page / Done: the output's type name (`instance`, `keys`, `raw`, ...).
    pub type_name: Option<String>,
    /// Page / Done: the output as JSON (IBM field names); for `getAll`, the merged document.
    pub json: Option<String>,
    /// Done (initialization with `userData`): the user data bytes.
    pub user_data: Option<Buffer>,
    /// Page / Done (keys with `sshKeys`): one `authorized_keys` line per key.
    pub lines: Option<Vec<String>>,
    /// After bytes: whether the connection may carry another request.
    pub keep_alive: bool,
    /// Failed: the error.
    pub error: Option<ErrorInfo>,
}

impl StepOut {
    fn new(kind: u32) -> Self {
        StepOut {
            kind,
            changed: false,
            id: None,
            wire: None,
            timeout: None,
            connect_timeout: None,
            until: None,
            type_name: None,
            json: None,
            user_data: None,
            lines: None,
            keep_alive: false,
            error: None,
        }
    }

    fn failed(info: ErrorInfo) -> Self {
        StepOut {
            error: Some(info),
            ..StepOut::new(kind::FAILED)
        }
    }
}

/// Arguments of an operation (see the driver's `Args`). Text arrives as UTF-16 and
/// goes through [`text`], never through napi's lossy UTF-8 conversion.
#[napi(object)]
#[derive(Debug, Default)]
pub struct OpArgs {
    /// Resource id.
    pub id: Option<Utf16String>,
    /// Token or certificate lifetime, seconds.
    pub expires_in: Option<u32>,
    /// Trusted profile id.
    pub profile_id: Option<Utf16String>,
    /// Trusted profile CRN.
    pub profile_crn: Option<Utf16String>,
    /// Trusted profile name.
    pub profile_name: Option<Utf16String>,
    /// PEM certificate request.
    pub csr: Option<Utf16String>,
    /// Path under `/metadata/v1/` for `get`.
    pub path: Option<Utf16String>,
    /// Follow `next.href` (`get`).
    pub all_pages: Option<bool>,
    /// Merge every page into one document (`getAll`).
    pub merge: Option<bool>,
    /// Deliver user data bytes (initialization).
    pub user_data: Option<bool>,
    /// Deliver `authorized_keys` lines (keys).
    pub ssh_keys: Option<bool>,
}

/// What the caller asked to be derived from results.
#[derive(Default)]
struct Wants {
    merger: Option<(PageMerger, Vec<u8>)>,
    user_data: bool,
    ssh_keys: bool,
}

/// One driver: runs one operation at a time for a client (JavaScript pools them).
#[napi]
pub struct NodeDriver {
    driver: Driver<Rc<LocalTokens>>,
    /// The IAM cache of a cached IAM token operation.
    iam: Option<Rc<LocalTokens>>,
    wants: Wants,
}

fn instant(ms: f64) -> Instant {
    // performance.now() based, so finite and not negative; clamp anyway.
    let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
    Instant::from_millis(ms as u64)
}

fn request_id(id: f64) -> RequestId {
    RequestId(if id.is_finite() && id >= 0.0 {
        id as u64
    } else {
        u64::MAX
    })
}

#[napi]
impl NodeDriver {
    /// An idle driver for `config`, sharing `tokens`; `seed` feeds retry jitter.
    #[napi(constructor)]
    pub fn new(config: &NodeConfig, tokens: &NodeTokens, seed: f64) -> Self {
        let seed = if seed.is_finite() {
            seed.abs() as u64
        } else {
            0
        };
        NodeDriver {
            driver: Driver::new(config.config.clone(), tokens.share.clone(), seed),
            iam: None,
            wants: Wants::default(),
        }
    }

    /// Whether an operation is running.
    #[napi(getter)]
    pub fn busy(&self) -> bool {
        self.driver.is_busy()
    }

    /// The id of the request whose answer is awaited, or -1.
    #[napi(getter)]
    pub fn awaiting(&self) -> f64 {
        self.driver.awaiting().map_or(-1.0, |id| id.0 as f64)
    }

    /// Starts operation `op` (a driver operation name) at `now`; returns the
    /// error when the input is refused (nothing is sent then).
    #[napi]
    pub fn start(&mut self, op: String, args: Option<OpArgs>, now: f64) -> Option<ErrorInfo> {
        let args = args.unwrap_or_default();
        let texts = (|| {
            Ok::<_, InputError>([
                text(args.id.as_ref(), "id")?,
                text(args.profile_id.as_ref(), "trusted profile id")?,
                text(args.profile_crn.as_ref(), "trusted profile crn")?,
                text(args.profile_name.as_ref(), "trusted profile name")?,
                text(args.csr.as_ref(), "csr")?,
                text(args.path.as_ref(), "path")?,
            ])
        })();
        let [id, profile_id, profile_crn, profile_name, csr, path] = match texts {
            Ok(texts) => texts,
            Err(e) => return Some(input_info(e)),
        };
        let core_args = Args {
            id: id.as_deref(),
            expires_in: args.expires_in,
            profile_id: profile_id.as_deref(),
            profile_crn: profile_crn.as_deref(),
            profile_name: profile_name.as_deref(),
            csr: csr.as_deref(),
            path: path.as_deref(),
            all_pages: args.all_pages.unwrap_or(false) || args.merge.unwrap_or(false),
        };
        self.iam = None;
        self.wants = Wants {
            merger: args
                .merge
                .unwrap_or(false)
                .then(|| (PageMerger::new(), Vec::new())),
            user_data: args.user_data.unwrap_or(false),
            ssh_keys: args.ssh_keys.unwrap_or(false),
        };
        let started = Operation::from_name(&op, &core_args)
            .map_err(Error::from)
            .and_then(|op| self.driver.start(op, instant(now)));
        started.err().map(|e| error_info(&e))
    }

    /// Starts an IAM token operation answered from `cache` while its token is fresh.
    #[napi]
    pub fn start_cached_iam(
        &mut self,
        cache: &NodeTokens,
        profile_id: Option<Utf16String>,
        profile_crn: Option<Utf16String>,
        profile_name: Option<Utf16String>,
        now: f64,
    ) -> Option<ErrorInfo> {
        self.wants = Wants::default();
        self.iam = Some(cache.share.clone());
        let texts = (|| {
            Ok::<_, InputError>([
                text(profile_id.as_ref(), "trusted profile id")?,
                text(profile_crn.as_ref(), "trusted profile crn")?,
                text(profile_name.as_ref(), "trusted profile name")?,
            ])
        })();
        let [id, crn, name] = match texts {
            Ok(texts) => texts,
            Err(e) => return Some(input_info(e)),
        };
        let started = TrustedProfile::from_parts(id.as_deref(), crn.as_deref(), name.as_deref())
            .map_err(Error::from)
            .and_then(|p| {
                self.driver
                    .start_cached_iam_token(p, cache.share.clone(), instant(now))
            });
        started.err().map(|e| error_info(&e))
    }

    /// Starts waiting until the service answers, for at most `max` seconds.
    #[napi]
    pub fn start_wait_until_ready(&mut self, max: f64, now: f64) -> Option<ErrorInfo> {
        self.wants = Wants::default();
        self.iam = None;
        let started = seconds("max", max)
            .map_err(Error::from)
            .and_then(|d| self.driver.start_wait_until_ready(d, instant(now)));
        started.err().map(|e| error_info(&e))
    }

    /// The next step without new input (a wake-up).
    #[napi]
    pub fn tick(&mut self, now: f64) -> StepOut {
        self.run(now, Input::Tick)
    }

    /// Bytes read for request `id` (empty: the peer closed the connection).
    #[napi]
    pub fn feed(&mut self, now: f64, id: f64, data: Buffer) -> StepOut {
        let mut out = self.run(now, Input::Bytes(request_id(id), &data));
        out.keep_alive = self.driver.keep_alive();
        out
    }

    /// A whole response to request `id` from a transport with its own HTTP stack:
    /// status, the `Retry-After` header's value, the (de-chunked) body.
    #[napi]
    pub fn respond(
        &mut self,
        now: f64,
        id: f64,
        status: u32,
        retry_after: Option<String>,
        body: Buffer,
    ) -> StepOut {
        let retry_after = retry_after.and_then(|v| parse_retry_after(v.as_bytes()));
        let status = u16::try_from(status).unwrap_or(0);
        let response = Response::from_parts(status, retry_after, &body);
        self.run(now, Input::Response(request_id(id), response))
    }

    /// Request `id` failed in transport (`refused`, `unreachable`, `connect_timeout`,
    /// `response_timeout`, `connection_lost`, `tls`).
    #[napi]
    pub fn fail(&mut self, now: f64, id: f64, error: String) -> StepOut {
        match TransportError::from_name(&error) {
            Some(e) => self.run(now, Input::TransportError(request_id(id), e)),
            None => StepOut::failed(input_info(InputError::Malformed {
                what: "transport error",
                expected: "refused, unreachable, connect_timeout, response_timeout, connection_lost or tls",
            })),
        }
    }

    /// The request in flight as parts (for transports with their own HTTP stack).
    #[napi]
    pub fn request(&self) -> Option<RequestParts> {
        let r = self.driver.in_flight()?;
        Some(RequestParts {
            id: r.id().0 as f64,
            method: r.method().as_str().to_owned(),
            url: r.url().to_owned(),
            target: r.target().to_owned(),
            headers: r
                .headers()
                .iter()
                .map(|h| HeaderOut {
                    name: h.name.to_owned(),
                    value: h.value.clone(),
                })
                .collect(),
            body: r.body().map(str::to_owned),
            timeout: r.timeout().as_millis() as f64,
            connect_timeout: r.connect_timeout().as_millis() as f64,
        })
    }

    /// Abandons the running operation; true if a token share changed.
    #[napi]
    pub fn cancel(&mut self) -> bool {
        let before = self.generations();
        self.driver.cancel();
        self.generations() != before
    }

    fn generations(&self) -> u64 {
        let iam = self.iam.as_ref().map_or(0, |c| c.generation());
        self.driver.share().generation().wrapping_add(iam)
    }

    fn run(&mut self, now: f64, input: Input<'_>) -> StepOut {
        let before = self.generations();
        let NodeDriver { driver, wants, iam } = self;
        let identity = driver.share().clone();
        let mut out = match driver.step(instant(now), input) {
            Step::WaitForToken {
                generation,
                iam: is_iam,
                ..
            } if generation
                != if is_iam {
                    iam.as_ref().map_or(generation, |c| c.generation())
                } else {
                    identity.generation()
                } =>
            {
                // The share changed since the driver looked: step again at once
                // rather than wait for a change that already happened.
                StepOut::new(kind::STALE)
            }
            step => convert(step, wants),
        };
        out.changed = self.generations() != before;
        out
    }
}

fn convert(step: Step<'_>, wants: &mut Wants) -> StepOut {
    match step {
        Step::Send(r) => StepOut {
            id: Some(r.id().0 as f64),
            wire: Some(Buffer::from(r.wire().to_vec())),
            timeout: Some(r.timeout().as_millis() as f64),
            connect_timeout: Some(r.connect_timeout().as_millis() as f64),
            ..StepOut::new(kind::SEND)
        },
        Step::Read => StepOut::new(kind::READ),
        Step::Wait(until) => StepOut {
            until: Some(until.as_millis() as f64),
            ..StepOut::new(kind::WAIT)
        },
        Step::WaitForToken { until, .. } => StepOut {
            until: Some(until.as_millis() as f64),
            ..StepOut::new(kind::WAIT_FOR_TOKEN)
        },
        Step::Page(reply) => result(kind::PAGE, &reply, wants),
        Step::Done(reply) => result(kind::DONE, &reply, wants),
        Step::Failed(e) => StepOut::failed(error_info(&e)),
        Step::Stale => StepOut::new(kind::STALE),
        Step::Idle => StepOut::new(kind::IDLE),
    }
}

fn bad_output(what: &'static str) -> ErrorInfo {
    ErrorInfo {
        kind: "bad_response".to_owned(),
        text: format!("bad response: {what}"),
        cause: "protocol".to_owned(),
        transport: None,
        status: None,
        code: None,
        message: None,
        trace: None,
        target: None,
        retry_after: None,
    }
}

fn result(kind: u32, reply: &Reply<'_>, wants: &mut Wants) -> StepOut {
    let mut out = StepOut::new(kind);
    out.type_name = Some(reply.type_name().to_owned());
    if let Some((merger, merged)) = wants.merger.as_mut() {
        if merger.push(reply.body(), merged).is_err() {
            return StepOut::failed(bad_output("a page cannot be merged"));
        }
        if kind == self::kind::PAGE {
            return out;
        }
        let (merger, mut merged) = wants.merger.take().unwrap_or_default();
        merger.finish(&mut merged);
        return match String::from_utf8(merged) {
            Ok(json) => StepOut {
                json: Some(json),
                ..out
            },
            Err(_) => StepOut::failed(bad_output("merged pages are not UTF-8")),
        };
    }
    match serde_json::to_string(reply) {
        Ok(json) => out.json = Some(json),
        Err(_) => return StepOut::failed(bad_output("the document cannot be represented")),
    }
    match reply.output() {
        Output::Initialization(init) if wants.user_data => match user_data(init) {
            Ok(bytes) => out.user_data = Some(Buffer::from(bytes)),
            Err(e) => return StepOut::failed(error_info(&e)),
        },
        Output::Keys(page) if wants.ssh_keys => {
            let lines: Result<Vec<String>, Error> = page
                .keys
                .iter()
                .map(|k| authorized_key(k.public_key))
                .collect();
            match lines {
                Ok(lines) => out.lines = Some(lines),
                Err(e) => return StepOut::failed(error_info(&e)),
            }
        }
        _ => {}
    }
    out
}

/// Merges the pages of a list into one document (the driver's page merger);
/// `null` if a page cannot be merged.
#[napi]
pub fn merge_page_bodies(pages: Vec<String>) -> Option<String> {
    let merged = merge_pages(pages.iter().map(|p| p.as_bytes())).ok()?;
    String::from_utf8(merged).ok()
}

/// A leaf part of MIME multi-part user data, its body decoded.
#[napi(object)]
pub struct MimeLeaf {
    /// The media type, lower case (`text/plain` when absent).
    pub content_type: String,
    /// The file name, if any.
    pub filename: Option<String>,
    /// The declared charset, if any.
    pub charset: Option<String>,
    /// The decoded body.
    pub data: Buffer,
}

/// Decompresses gzip user data (every member, CRC checked), refusing more than
/// `limit` bytes (the driver's rule); throws `RangeError`-worthy messages as errors.
#[napi]
pub fn gunzip(data: Buffer, limit: f64) -> napi::Result<Buffer> {
    let limit = if limit.is_finite() && limit >= 0.0 {
        limit as usize
    } else {
        0
    };
    vpc_imds_driver::gunzip(&data, limit)
        .map(Buffer::from)
        .map_err(|e| napi::Error::from_reason(e.to_string()))
}

/// The leaf parts of MIME multi-part user data (nested documents included, bodies
/// decoded); `null` when the data is not multi-part; throws when it is malformed.
#[napi]
pub fn mime_parts(data: Buffer) -> napi::Result<Option<Vec<MimeLeaf>>> {
    match vpc_imds_driver::leaf_parts(&data) {
        Ok(parts) => Ok(Some(
            parts
                .into_iter()
                .map(|p| MimeLeaf {
                    content_type: p.content_type,
                    filename: p.filename,
                    charset: p.charset,
                    data: Buffer::from(p.payload),
                })
                .collect(),
        )),
        Err(vpc_imds_driver::UserDataError::NotMultipart) => Ok(None),
        Err(e) => Err(napi::Error::from_reason(e.to_string())),
    }
}
