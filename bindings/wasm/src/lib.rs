#![deny(missing_docs)]
// wasm-bindgen exports take the settings positionally (JavaScript passes them from
// one options object in lib/client.js).
#![allow(clippy::too_many_arguments)]
// The core's errors carry IBM's message inline (the core has no allocator).
#![allow(clippy::result_large_err)]
//! WebAssembly glue of `vpc-imds`: the host driver ([`vpc_imds_driver`]) exported to
//! JavaScript with wasm-bindgen.
//!
//! This crate converts and nothing else. JavaScript (`lib/client.js`) supplies the
//! HTTP (`fetch`, or a function of the user's), the clock (`performance.now()`),
//! sleeping (`setTimeout`) and the jitter seed (`crypto.getRandomValues`); the driver
//! decides every request, retry, wait, token refresh and page. Values cross as JSON
//! text that JavaScript parses: a [`Step`](vpc_imds_driver::Step) becomes
//! `{k, ...}` (see [`StepOut`]), a [`Reply`](vpc_imds_driver::Reply) is written through
//! its `Serialize` (a generic GET's body as it came), an [`Error`] becomes
//! `{kind, message, status, ...}` (see [`ErrorOut`]) that JavaScript turns into its
//! error class for that kind. Bytes (user data, a merged list) wait in the driver
//! for `takeBytes()`.

use std::rc::Rc;

use js_sys::Function;
use serde::{Serialize, Serializer};

mod json;
use vpc_imds_driver::core::error::Cause;
use vpc_imds_driver::core::output::Output;
use vpc_imds_driver::core::response::{parse_retry_after, Response};
use vpc_imds_driver::core::token::TokenCache;
use vpc_imds_driver::{
    authorized_key, seconds, user_data, Args, DriverConfig, Error, Input, InputError, Instant,
    LocalTokens, Operation, PageMerger, RequestId, Settings, Step, TokenShare, TransportError,
    TrustedProfile,
};
use wasm_bindgen::prelude::*;

/// What kind of step a [`StepOut`] is (its `k`).
pub mod kind {
    /// No operation is running.
    pub const IDLE: u8 = 0;
    /// Send the request described.
    pub const SEND: u8 = 1;
    /// Feed more bytes of the response (the raw-bytes path).
    pub const READ: u8 = 2;
    /// Sleep until `until`, then tick.
    pub const WAIT: u8 = 3;
    /// Wait for the shared token to change after `generation`, or until `until`.
    pub const TOKEN: u8 = 4;
    /// One page of a list; tick for the next.
    pub const PAGE: u8 = 5;
    /// The result.
    pub const DONE: u8 = 6;
    /// The operation failed (`error`).
    pub const FAILED: u8 = 7;
    /// The input answered a request no longer awaited; tick and carry on.
    pub const STALE: u8 = 8;
}

/// One identity token (or IAM token) cache shared by every call of a client: the
/// driver's single-threaded [`LocalTokens`], plus a JavaScript function called at
/// every change so that calls waiting for the token (a `WaitForToken` step) wake at
/// once instead of at their deadline.
struct Share {
    tokens: LocalTokens,
    waker: Option<Function>,
}

impl TokenShare for Share {
    fn with<R>(&self, f: impl FnOnce(&mut TokenCache, u64) -> R) -> R {
        self.tokens.with(f)
    }

    fn changed(&self) {
        self.tokens.changed();
        if let Some(waker) = &self.waker {
            // The waker only resolves promises: it never calls back into this module.
            let _ = waker.call0(&JsValue::UNDEFINED);
        }
    }
}

/// A validated configuration and the client's shared identity token.
#[wasm_bindgen]
pub struct Config {
    config: DriverConfig,
    tokens: Rc<Share>,
}

fn duration(what: &'static str, secs: Option<f64>) -> Result<Option<core::time::Duration>, Error> {
    secs.map(|s| seconds(what, s))
        .transpose()
        .map_err(Error::from)
}

/// A backoff step: 0 (no backoff) is allowed, as in every binding.
fn delay(what: &'static str, secs: Option<f64>) -> Result<Option<core::time::Duration>, Error> {
    secs.map(|s| vpc_imds_driver::settings::delay_seconds(what, s))
        .transpose()
        .map_err(Error::from)
}

#[wasm_bindgen]
impl Config {
    /// Validates the settings (seconds as numbers; `None` keeps the default). Throws
    /// an error object (`{kind: "invalid_input", ...}`) naming the bad setting.
    /// `waker` is called whenever the shared token changes.
    #[wasm_bindgen(constructor)]
    pub fn new(
        endpoint: Option<String>,
        env_endpoint: Option<String>,
        secure: bool,
        version: Option<String>,
        token_lifetime: Option<u32>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        request_timeout: Option<f64>,
        max_attempts: Option<u32>,
        base_delay: Option<f64>,
        max_delay: Option<f64>,
        max_response_bytes: Option<u32>,
        waker: Option<Function>,
    ) -> Result<Config, JsValue> {
        let build = || -> Result<DriverConfig, Error> {
            Ok(Settings {
                endpoint,
                env_endpoint,
                secure,
                version,
                token_lifetime,
                timeout: duration("timeout", timeout)?,
                connect_timeout: duration("connect timeout", connect_timeout)?,
                request_timeout: duration("request timeout", request_timeout)?,
                max_attempts,
                base_delay: delay("base delay", base_delay)?,
                max_delay: delay("max delay", max_delay)?,
                max_response_bytes: max_response_bytes.map(|n| n as usize),
            }
            .build()?)
        };
        let config = build().map_err(|e| JsValue::from_str(&error_json(&e)))?;
        Ok(Config {
            config,
            tokens: Rc::new(Share {
                tokens: LocalTokens::new(),
                waker,
            }),
        })
    }

    /// The service's base URL, e.g. `http://169.254.169.254`.
    #[wasm_bindgen(getter)]
    pub fn endpoint(&self) -> String {
        self.config.endpoint().to_string()
    }

    /// The API version date.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> String {
        self.config.core().version().to_string()
    }

    /// The whole-operation deadline in milliseconds.
    #[wasm_bindgen(getter, js_name = timeoutMs)]
    pub fn timeout_ms(&self) -> f64 {
        self.config.timeouts().operation.as_millis() as f64
    }

    /// The largest response accepted, in bytes.
    #[wasm_bindgen(getter, js_name = maxResponseBytes)]
    pub fn max_response_bytes(&self) -> f64 {
        self.config.max_response_bytes() as f64
    }

    /// How many times the shared identity token changed.
    #[wasm_bindgen(getter)]
    pub fn generation(&self) -> f64 {
        self.tokens.tokens.generation() as f64
    }
}

/// A second token cache for IAM tokens (see `Driver.startCachedIamToken`).
#[wasm_bindgen]
pub struct IamCache {
    tokens: Rc<Share>,
}

#[wasm_bindgen]
impl IamCache {
    /// An empty cache; `waker` is called whenever it changes.
    #[wasm_bindgen(constructor)]
    pub fn new(waker: Option<Function>) -> IamCache {
        IamCache {
            tokens: Rc::new(Share {
                tokens: LocalTokens::new(),
                waker,
            }),
        }
    }

    /// How many times the cache changed.
    #[wasm_bindgen(getter)]
    pub fn generation(&self) -> f64 {
        self.tokens.tokens.generation() as f64
    }
}

/// Runs one operation at a time over a [`Config`]'s shared token; a client keeps
/// one per concurrent call.
#[wasm_bindgen]
pub struct Driver {
    driver: vpc_imds_driver::Driver<Rc<Share>>,
    /// Pages merged into one document (`getAll`).
    merger: Option<PageMerger>,
    merged: Vec<u8>,
    /// The bytes of the last step that had some (`takeBytes`).
    payload: Vec<u8>,
}

/// Milliseconds on the client's clock (a JavaScript number) as an instant.
fn instant(ms: f64) -> Instant {
    Instant::from_millis(if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    })
}

fn request_id(id: f64) -> RequestId {
    RequestId(if id.is_finite() && id >= 0.0 {
        id as u64
    } else {
        u64::MAX
    })
}

#[wasm_bindgen]
impl Driver {
    /// An idle driver; `seed` (8 random bytes) feeds retry jitter.
    #[wasm_bindgen(constructor)]
    pub fn new(config: &Config, seed: &[u8]) -> Driver {
        let mut bytes = [0u8; 8];
        for (b, s) in bytes.iter_mut().zip(seed) {
            *b = *s;
        }
        Driver {
            driver: vpc_imds_driver::Driver::new(
                config.config.clone(),
                config.tokens.clone(),
                u64::from_le_bytes(bytes),
            ),
            merger: None,
            merged: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// Starts operation `op` (`instance`, `keys`, `get`, ... as the test vectors name
    /// them) at `now`; returns `undefined`, or the error (JSON) when the input is
    /// refused (nothing is sent then). With `merge`, the pages of a `get` with
    /// `all_pages` come out as one merged document: each `page` step and the `done`
    /// step carry its next part (`merged`, JSON text to be joined in order).
    pub fn start(
        &mut self,
        op: &str,
        now: f64,
        id: Option<String>,
        expires_in: Option<u32>,
        profile_id: Option<String>,
        profile_crn: Option<String>,
        profile_name: Option<String>,
        csr: Option<String>,
        path: Option<String>,
        all_pages: bool,
        merge: bool,
    ) -> Option<String> {
        let args = Args {
            id: id.as_deref(),
            expires_in,
            profile_id: profile_id.as_deref(),
            profile_crn: profile_crn.as_deref(),
            profile_name: profile_name.as_deref(),
            csr: csr.as_deref(),
            path: path.as_deref(),
            all_pages,
        };
        let started = Operation::from_name(op, &args)
            .map_err(Error::from)
            .and_then(|op| self.driver.start(op, instant(now)));
        self.begun(started, merge)
    }

    /// Starts an IAM token operation answered from `cache` while its token is fresh
    /// (one call refreshes it at a time; see the driver's `start_cached_iam_token`).
    #[wasm_bindgen(js_name = startCachedIamToken)]
    pub fn start_cached_iam_token(
        &mut self,
        cache: &IamCache,
        now: f64,
        profile_id: Option<String>,
        profile_crn: Option<String>,
        profile_name: Option<String>,
    ) -> Option<String> {
        let started = TrustedProfile::from_parts(
            profile_id.as_deref(),
            profile_crn.as_deref(),
            profile_name.as_deref(),
        )
        .map_err(Error::from)
        .and_then(|p| {
            self.driver
                .start_cached_iam_token(p, cache.tokens.clone(), instant(now))
        });
        self.begun(started, false)
    }

    /// Starts waiting (at most `max` seconds) until the service answers.
    #[wasm_bindgen(js_name = startWaitUntilReady)]
    pub fn start_wait_until_ready(&mut self, max: f64, now: f64) -> Option<String> {
        let started = seconds("max", max)
            .map_err(Error::from)
            .and_then(|max| self.driver.start_wait_until_ready(max, instant(now)));
        self.begun(started, false)
    }

    fn begun(&mut self, started: Result<(), Error>, merge: bool) -> Option<String> {
        match started {
            Ok(()) => {
                self.merger = merge.then(PageMerger::new);
                self.merged.clear();
                None
            }
            Err(e) => Some(error_json(&e)),
        }
    }

    /// The next step at `now` (after a wait, a token wait, a page or a stale step), as JSON.
    pub fn tick(&mut self, now: f64) -> String {
        self.step(now, Input::Tick)
    }

    /// Feeds bytes read for request `id` (HTTP/1.1 as received; empty: the peer closed).
    pub fn bytes(&mut self, id: f64, data: &[u8], now: f64) -> String {
        self.step(now, Input::Bytes(request_id(id), data))
    }

    /// Feeds a whole response to request `id` from the host's HTTP stack: status, the
    /// `Retry-After` header's value if any, the (decoded) body, and the
    /// `Transfer-Encoding` header's value if any (every line joined by ", ", as
    /// `Headers.get` gives it): a coding the core's response reader refuses fails the
    /// call as `bad_response` here too.
    pub fn respond(
        &mut self,
        id: f64,
        status: u16,
        retry_after: Option<String>,
        body: &[u8],
        now: f64,
        transfer_encoding: Option<String>,
    ) -> String {
        let retry_after = retry_after.and_then(|v| parse_retry_after(v.as_bytes()));
        let transfer_encoding = transfer_encoding.as_deref().map(str::as_bytes);
        let response = Response::from_host(status, retry_after, transfer_encoding, body);
        self.step(now, Input::Response(request_id(id), response))
    }

    /// Reports that request `id` failed in transport: `refused`, `unreachable`,
    /// `connect_timeout`, `response_timeout`, `connection_lost` or `tls`.
    #[wasm_bindgen(js_name = transportError)]
    pub fn transport_error(&mut self, id: f64, name: &str, now: f64) -> String {
        match TransportError::from_name(name) {
            Some(e) => self.step(now, Input::TransportError(request_id(id), e)),
            None => {
                let e = Error::from(InputError::Malformed {
                    what: "transport error",
                    expected: "refused, unreachable, connect_timeout, response_timeout, connection_lost or tls",
                });
                to_json(&StepOut::failed(&e))
            }
        }
    }

    /// The bytes the last step announced (`bytes`: `userData`), once.
    #[wasm_bindgen(js_name = takeBytes)]
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.payload)
    }

    /// The text the last step announced (`text`: `merged`), once: decoded straight
    /// from the module's memory, with no bytes copied out first.
    #[wasm_bindgen(js_name = takeText)]
    pub fn take_text(&mut self) -> String {
        // Checked UTF-8 when the step announced it.
        String::from_utf8(std::mem::take(&mut self.payload)).unwrap_or_default()
    }

    /// The request whose answer is awaited, if any.
    pub fn awaiting(&self) -> Option<f64> {
        self.driver.awaiting().map(|id| id.0 as f64)
    }

    /// The complete HTTP/1.1 bytes of the request in flight, for hosts that write to a
    /// socket themselves. They hold the token: never log them.
    pub fn wire(&self) -> Option<Vec<u8>> {
        self.driver.in_flight().map(|r| r.wire().to_vec())
    }

    /// Whether the connection that carried the last response (fed as bytes) may be reused.
    #[wasm_bindgen(js_name = keepAlive)]
    pub fn keep_alive(&self) -> bool {
        self.driver.keep_alive()
    }

    /// Whether an operation is running.
    #[wasm_bindgen(getter)]
    pub fn busy(&self) -> bool {
        self.driver.is_busy()
    }

    /// Abandons the running operation, if any.
    pub fn cancel(&mut self) {
        self.driver.cancel();
        self.merger = None;
    }

    fn step(&mut self, now: f64, input: Input<'_>) -> String {
        let Driver {
            driver,
            merger,
            merged,
            payload,
        } = self;
        payload.clear();
        let step = driver.step(instant(now), input);
        let merging = match (&step, merger.as_mut()) {
            (Step::Page(reply) | Step::Done(reply), Some(m)) => Some((
                m.push(reply.body(), merged).is_ok(),
                matches!(step, Step::Done(_)),
            )),
            _ => None,
        };
        match merging {
            Some((false, _)) => {
                drop(step);
                *merger = None;
                driver.cancel();
                let e = Error::new(
                    vpc_imds_driver::ErrorKind::BadResponse,
                    Cause::Protocol("a page of the list is not a JSON object"),
                );
                to_json(&StepOut::failed(&e))
            }
            Some((true, done)) => {
                drop(step);
                if done {
                    if let Some(m) = merger.take() {
                        m.finish(merged);
                    }
                }
                // What this page added to the merged document goes out at once (as
                // text, `takeText`): the module's memory stays near one page whatever
                // the number of pages. Pages are checked UTF-8 and cut between JSON
                // values, so each share is text on its own.
                if core::str::from_utf8(merged).is_err() {
                    *merger = None;
                    merged.clear();
                    if !done {
                        driver.cancel();
                    }
                    let e = Error::new(
                        vpc_imds_driver::ErrorKind::BadResponse,
                        Cause::Protocol("the merged pages are not UTF-8"),
                    );
                    return to_json(&StepOut::failed(&e));
                }
                *payload = std::mem::take(merged);
                to_json(&StepOut {
                    type_name: done.then_some("raw"),
                    text: Some("merged"),
                    ..StepOut::new(if done { kind::DONE } else { kind::PAGE })
                })
            }
            None => {
                let mut out = StepOut::from_step(&step);
                if let Step::Done(reply) = &step {
                    if let Output::Initialization(init) = reply.output() {
                        match user_data(init) {
                            Ok(bytes) => {
                                *payload = bytes;
                                out.bytes = Some("userData");
                            }
                            Err(e) => out.user_data_error = Some(ErrorOut::from(&e)),
                        }
                    }
                }
                to_json(&out)
            }
        }
    }
}

/// Merges a list's pages (JSON objects, as bytes) into one document as the driver's
/// page merger does; throws `bad_response` for a page that is not an object.
#[wasm_bindgen(js_name = mergePages)]
pub fn merge_pages(pages: Vec<js_sys::Uint8Array>) -> Result<Vec<u8>, JsValue> {
    let pages: Vec<Vec<u8>> = pages.iter().map(|p| p.to_vec()).collect();
    vpc_imds_driver::merge_pages(pages.iter().map(Vec::as_slice)).map_err(|_| {
        JsValue::from_str(&error_json(&Error::new(
            vpc_imds_driver::ErrorKind::BadResponse,
            Cause::Protocol("a page of the list is not a JSON object"),
        )))
    })
}

/// User data without gzip (every member, CRC checked), at most `limit` bytes; throws
/// a `RangeError` past the limit and an `Error` saying why for corrupt data.
#[wasm_bindgen]
pub fn gunzip(data: &[u8], limit: f64) -> Result<Vec<u8>, JsValue> {
    let limit = if limit.is_finite() && limit >= 0.0 {
        limit as usize
    } else {
        vpc_imds_driver::mime::DEFAULT_GUNZIP_LIMIT
    };
    vpc_imds_driver::gunzip(data, limit).map_err(user_data_error)
}

/// The leaf parts of MIME multi-part user data (the driver's `leaf_parts`), or
/// `undefined` when the data is not multi-part; throws an `Error` when it is malformed.
#[wasm_bindgen(js_name = leafParts)]
pub fn leaf_parts(data: &[u8]) -> Result<Option<Leaves>, JsValue> {
    match vpc_imds_driver::leaf_parts(data) {
        Ok(leaves) => Ok(Some(Leaves { leaves })),
        Err(vpc_imds_driver::UserDataError::NotMultipart) => Ok(None),
        Err(e) => Err(user_data_error(e)),
    }
}

fn user_data_error(e: vpc_imds_driver::UserDataError) -> JsValue {
    match e {
        vpc_imds_driver::UserDataError::TooLarge(_) => {
            js_sys::RangeError::new(&e.to_string()).into()
        }
        _ => js_sys::Error::new(&e.to_string()).into(),
    }
}

/// Leaf parts of a MIME multi-part document, read one by one.
#[wasm_bindgen]
pub struct Leaves {
    leaves: Vec<vpc_imds_driver::Leaf>,
}

#[wasm_bindgen]
impl Leaves {
    /// How many parts.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.leaves.len()
    }

    /// Part `i`'s media type, lower case (`text/plain` when absent).
    #[wasm_bindgen(js_name = contentType)]
    pub fn content_type(&self, i: usize) -> Option<String> {
        self.leaves.get(i).map(|l| l.content_type.clone())
    }

    /// Part `i`'s file name, if any.
    pub fn filename(&self, i: usize) -> Option<String> {
        self.leaves.get(i).and_then(|l| l.filename.clone())
    }

    /// Part `i`'s declared charset, if any.
    pub fn charset(&self, i: usize) -> Option<String> {
        self.leaves.get(i).and_then(|l| l.charset.clone())
    }

    /// Part `i`'s body, its transfer encoding removed.
    pub fn payload(&self, i: usize) -> Option<Vec<u8>> {
        self.leaves.get(i).map(|l| l.payload.clone())
    }
}

/// A step as JavaScript receives it; absent members are left out.
#[derive(Serialize, Default)]
pub struct StepOut<'a> {
    /// The step's [`kind`].
    pub k: u8,
    /// `send`: the request's id (feed its answer back with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// `send`: `GET`, `PUT` or `POST`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'a str>,
    /// `send`: the absolute URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    /// `send`: path and query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'a str>,
    /// `send`: `[name, value]` pairs in order (`Host`, `Content-Length` left to the
    /// HTTP stack). `Authorization` holds the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<[&'a str; 2]>>,
    /// `send`: the JSON body, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    /// `send`: when to give up on the request; `wait`/`token`: when to tick (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// `send`: the connect timeout in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none", rename = "connectTimeout")]
    pub connect_timeout: Option<u64>,
    /// `token`: the share's change count when the wait was decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// `token`: the IAM token cache (true) or the identity token's share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam: Option<bool>,
    /// `page`/`done`: the output's type name (`instance`, `keys`, `raw`, ...).
    #[serde(skip_serializing_if = "Option::is_none", rename = "type")]
    pub type_name: Option<&'static str>,
    /// `page`/`done`: the document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Document<'a>>,
    /// `page`/`done` of a token: its lifetime in seconds as the core judges it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u32>,
    /// Which bytes wait for `takeBytes()`: `userData` (the `done` of
    /// `initialization`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<&'static str>,
    /// Which text waits for `takeText()`: `merged` (each `page` and the `done` of a
    /// merged list: what that page added to its JSON, to be joined in order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'static str>,
    /// `page`/`done` of `keys`/`key`: one `authorized_keys` line per key (null for
    /// a key that cannot be one).
    #[serde(skip_serializing_if = "Option::is_none", rename = "sshKeys")]
    pub ssh_keys: Option<Vec<Option<String>>>,
    /// `done` of `initialization` whose user data cannot be decoded: why.
    #[serde(skip_serializing_if = "Option::is_none", rename = "userDataError")]
    pub user_data_error: Option<ErrorOut>,
    /// `failed`: the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorOut>,
}

/// A reply as its document: typed outputs through their `Serialize` (IBM's field
/// names), a generic GET's body as it came (the core has checked it is JSON).
pub struct Document<'a>(&'a vpc_imds_driver::Reply<'a>);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The driver's `Reply::serialize`, but a generic GET's body goes through as it
        // came: its value-tree path (number parsing included) stays out of the module.
        match self.0.output() {
            Output::Raw(body) => json::Raw(body).serialize(s),
            output => vpc_imds_driver::TypedOutput(output).serialize(s),
        }
    }
}

impl<'a> StepOut<'a> {
    fn new(k: u8) -> Self {
        StepOut {
            k,
            ..StepOut::default()
        }
    }

    fn failed(e: &Error) -> Self {
        StepOut {
            error: Some(ErrorOut::from(e)),
            ..StepOut::new(kind::FAILED)
        }
    }

    fn reply(k: u8, reply: &'a vpc_imds_driver::Reply<'a>) -> Self {
        let ssh_keys = match reply.output() {
            Output::Keys(c) => Some(
                c.keys
                    .iter()
                    .map(|k| authorized_key(k.public_key).ok())
                    .collect(),
            ),
            Output::Key(k) => Some(vec![authorized_key(k.public_key).ok()]),
            _ => None,
        };
        StepOut {
            type_name: Some(reply.type_name()),
            value: Some(Document(reply)),
            lifetime: reply.token_lifetime(),
            ssh_keys,
            ..StepOut::new(k)
        }
    }

    fn from_step(step: &'a Step<'a>) -> Self {
        match step {
            Step::Idle => StepOut::new(kind::IDLE),
            Step::Read => StepOut::new(kind::READ),
            Step::Stale => StepOut::new(kind::STALE),
            Step::Wait(until) => StepOut {
                until: Some(until.as_millis()),
                ..StepOut::new(kind::WAIT)
            },
            Step::WaitForToken {
                until,
                generation,
                iam,
            } => StepOut {
                until: Some(until.as_millis()),
                generation: Some(*generation),
                iam: Some(*iam),
                ..StepOut::new(kind::TOKEN)
            },
            Step::Send(r) => StepOut {
                id: Some(r.id().0),
                method: Some(r.method().as_str()),
                url: Some(r.url()),
                target: Some(r.target()),
                headers: Some(
                    r.headers()
                        .iter()
                        .map(|h| [h.name, h.value.as_str()])
                        .collect(),
                ),
                body: r.body(),
                until: Some(r.deadline().as_millis()),
                connect_timeout: Some(r.connect_timeout().as_millis() as u64),
                ..StepOut::new(kind::SEND)
            },
            Step::Page(reply) => StepOut::reply(kind::PAGE, reply),
            Step::Done(reply) => StepOut::reply(kind::DONE, reply),
            Step::Failed(e) => StepOut::failed(e),
        }
    }
}

/// An error as JavaScript receives it; `lib/errors.js` makes it an instance of the
/// class for its `kind`. The message never holds a token (the core's `Display`).
#[derive(Serialize)]
pub struct ErrorOut {
    /// `invalid_input`, `refused`, `timed_out`, ... (the same in every binding).
    pub kind: &'static str,
    /// The core's message.
    pub message: String,
    /// The HTTP status the service answered with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// IBM's `errors[0].code`.
    #[serde(skip_serializing_if = "Option::is_none", rename = "errorCode")]
    pub api_code: Option<String>,
    /// IBM's `errors[0].message`.
    #[serde(skip_serializing_if = "Option::is_none", rename = "errorMessage")]
    pub api_message: Option<String>,
    /// IBM's `trace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// IBM's `errors[0].target.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The `Retry-After` seconds the service asked for.
    #[serde(skip_serializing_if = "Option::is_none", rename = "retryAfter")]
    pub retry_after: Option<u32>,
    /// `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol` or `misuse`.
    pub reason: &'static str,
    /// For transport failures: which one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<&'static str>,
}

fn some_text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

impl From<&Error> for ErrorOut {
    fn from(e: &Error) -> Self {
        let api = e.api();
        let (reason, transport) = (
            e.cause().as_str(),
            e.cause().transport().map(|t| t.as_str()),
        );
        ErrorOut {
            kind: e.kind().as_str(),
            message: e.to_string(),
            status: e.status(),
            api_code: api.and_then(|a| some_text(&a.code)),
            api_message: api.and_then(|a| some_text(&a.message)),
            trace: api.and_then(|a| some_text(&a.trace)),
            target: api.and_then(|a| some_text(&a.target)),
            retry_after: api.and_then(|a| a.retry_after),
            reason,
            transport,
        }
    }
}

fn error_json(e: &Error) -> String {
    json::to_string(&ErrorOut::from(e)).unwrap_or_else(|_| String::from(r#"{"kind":"bad_response","message":"an error that cannot be written","reason":"other"}"#))
}

fn to_json(step: &StepOut<'_>) -> String {
    json::to_string(step).unwrap_or_else(|e| {
        // A document that cannot be written as JSON fails the step instead of trapping.
        let out = ErrorOut {
            kind: "bad_response",
            message: format!("bad response: the document cannot be represented ({e})"),
            status: None,
            api_code: None,
            api_message: None,
            trace: None,
            target: None,
            retry_after: None,
            reason: "body",
            transport: None,
        };
        let failed = StepOut {
            error: Some(out),
            ..StepOut::new(kind::FAILED)
        };
        json::to_string(&failed).unwrap_or_default()
    })
}
