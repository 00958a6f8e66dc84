#![deny(missing_docs)]
// Errors carry IBM's message inline (the core has no allocator).
#![allow(clippy::result_large_err)]
//! The native half of the npm package `vpc-imds`: the driver's client machine
//! ([`vpc_imds_driver::LocalMachine`]) behind a napi-rs class, plus conversions.
//!
//! The machine decides everything (operations, tokens, connections, retries,
//! merging, user data, settings); JavaScript (`lib/*.js`) owns the sockets, timers
//! and the clock, and steps each call's operation with what happened.

use napi::bindgen_prelude::{Buffer, Either, Object, Unknown, Utf16String};
use napi::ValueType;
use napi_derive::napi;
use vpc_imds_driver::core::response::{parse_retry_after, Response};
use vpc_imds_driver::{
    Error, ErrorRecord, InputError, Instant, LocalMachine, MachineInput as Input,
    MachineStep as Step, NamedArgs, OpId, Record, Settings, TransportError, Value,
};

/// Step kinds, the same numbers in every JavaScript host (`STEP` in lib/).
mod kind {
    pub const SEND: u32 = 0;
    pub const READ: u32 = 1;
    pub const CLOSE: u32 = 2;
    pub const BACKOFF: u32 = 3;
    pub const AWAIT: u32 = 4;
    pub const PAGE: u32 = 5;
    pub const DONE: u32 = 6;
    pub const FAILED: u32 = 7;
}

/// An error as the driver's one record, JSON text (`kind`, `message`, `cause`,
/// `status`, `retry_after`, `code`, `api_message`, `target`, `trace`, `transport`).
fn record(e: &Error) -> String {
    serde_json::to_string(&ErrorRecord::from(e)).unwrap_or_default()
}

/// Hands each member of `object` (settings or an operation's arguments, by the
/// description's names) to `set` as the driver's [`Value`]: null and undefined are
/// the default, a number is a float (the driver's rules decide what it may be), text
/// comes as UTF-16, never through napi's lossy UTF-8 conversion; anything else is
/// refused.
fn each(
    object: Option<Unknown>,
    mut set: impl FnMut(&str, Value<'_>) -> Result<(), InputError>,
) -> Result<(), InputError> {
    let not_object = InputError::Malformed {
        what: "arguments",
        expected: "an object",
    };
    let object: Object = match object.map(|o| (o, o.get_type())) {
        None | Some((_, Ok(ValueType::Undefined | ValueType::Null))) => return Ok(()),
        // SAFETY: the value is an object.
        Some((o, Ok(ValueType::Object))) => unsafe { o.cast() }.map_err(|_| not_object)?,
        _ => return Err(not_object),
    };
    for name in Object::keys(&object).map_err(|_| not_object)? {
        let value: Option<Unknown> = object.get(&name).unwrap_or(None);
        let text: String;
        // SAFETY (each cast): the value is of the type just asked.
        let value = match value.map(|v| (v, v.get_type())) {
            None | Some((_, Ok(ValueType::Undefined | ValueType::Null))) => Value::Null,
            Some((v, Ok(ValueType::Boolean))) => {
                unsafe { v.cast() }.map_or(Value::Other, Value::Bool)
            }
            Some((v, Ok(ValueType::Number))) => {
                unsafe { v.cast() }.map_or(Value::Other, Value::Float)
            }
            Some((v, Ok(ValueType::String))) => {
                let units: Option<Utf16String> = unsafe { v.cast() }.ok();
                match units.map(|u| String::from_utf16(&u)) {
                    Some(Ok(t)) => {
                        text = t;
                        Value::Text(&text)
                    }
                    // A lone surrogate has no UTF-8 form (napi would send U+FFFD).
                    Some(Err(_)) => Value::NotUnicode,
                    None => Value::Other,
                }
            }
            _ => Value::Other,
        };
        set(&name, value)?;
    }
    Ok(())
}

/// One header of a request, for transports with their own HTTP stack.
#[napi(object)]
pub struct HeaderOut {
    /// Canonical name.
    pub name: String,
    /// Value (an `Authorization` value holds the token).
    pub value: String,
}

fn header(h: &vpc_imds_driver::Header) -> HeaderOut {
    HeaderOut {
        name: h.name.to_owned(),
        value: h.value.clone(),
    }
}

/// A request as parts, for transports with their own HTTP stack.
#[napi(object)]
pub struct RequestParts {
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
}

/// What to do next for one operation (`kind` is one of the `STEP` numbers).
#[napi(object)]
#[derive(Default)]
pub struct StepOut {
    /// The step kind.
    pub kind: u32,
    /// Operations whose token wait this step ended: step them now.
    pub woken: Option<Vec<f64>>,
    /// Send / Close: the connection.
    pub conn: Option<f64>,
    /// Send: connect `conn` first.
    pub fresh: Option<bool>,
    /// Send: the HTTP/1.1 request; it holds the token: never log it.
    pub wire: Option<Buffer>,
    /// Send (hosts with their own HTTP stack): the request as parts.
    pub request: Option<RequestParts>,
    /// Send: time left for the exchange, milliseconds.
    pub timeout: Option<f64>,
    /// Send: connect timeout, milliseconds.
    pub connect_timeout: Option<f64>,
    /// Send: the exchange's deadline; Backoff / Await: when to step again (ms).
    pub until: Option<f64>,
    /// Page / Done: the record's type (`instance`, `raw`, `json`, `user_data`, ...).
    pub type_name: Option<String>,
    /// Page / Done: a document as JSON (IBM's field names), or a part of `get_all`'s.
    pub json: Option<String>,
    /// Done of a token: its lifetime in seconds as the core judges it.
    pub lifetime: Option<u32>,
    /// Done of `user_data`: the bytes.
    pub bytes: Option<Buffer>,
    /// Done of `ssh_keys`: one `authorized_keys` line per key.
    pub lines: Option<Vec<String>>,
    /// Failed: the error record as JSON text.
    pub error: Option<String>,
}

fn failed(e: &Error) -> StepOut {
    StepOut {
        kind: kind::FAILED,
        error: Some(record(e)),
        ..StepOut::default()
    }
}

fn instant(ms: f64) -> Instant {
    // performance.now() based, so finite and not negative; clamp anyway.
    Instant::from_millis(if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    })
}

fn ms(d: core::time::Duration) -> Option<f64> {
    Some(d.as_millis() as f64)
}

/// The client machine of one `Client`.
#[napi]
pub struct NodeMachine {
    machine: LocalMachine,
    /// Send steps carry the request as parts too (a custom transport).
    parts: bool,
}

/// A machine for `settings` (by the description's names; `env_endpoint` is the value
/// of `VPC_IMDS_ENDPOINT`), or the error record (JSON) naming the bad setting. `seed`
/// (8 bytes) feeds retry jitter; with `parts`, requests come as parts too.
#[napi]
pub fn machine(
    settings: Option<Unknown>,
    env_endpoint: Option<String>,
    seed: Buffer,
    parts: bool,
) -> Either<NodeMachine, String> {
    let mut s = Settings {
        env_endpoint,
        ..Settings::default()
    };
    match each(settings, |name, v| s.set(name, v)).and_then(|()| s.build()) {
        Ok(config) => {
            let mut bytes = [0u8; 8];
            bytes.iter_mut().zip(seed.iter()).for_each(|(b, s)| *b = *s);
            let machine = LocalMachine::new(config, u64::from_le_bytes(bytes));
            Either::A(NodeMachine { machine, parts })
        }
        Err(e) => Either::B(record(&e.into())),
    }
}

#[napi]
impl NodeMachine {
    /// The endpoint, e.g. `http://169.254.169.254`.
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.machine.config().endpoint().to_string()
    }

    /// Whether the endpoint is `https`.
    #[napi(getter)]
    pub fn secure(&self) -> bool {
        self.endpoint().starts_with("https:")
    }

    /// The endpoint's host name or address (IPv6 without brackets).
    #[napi(getter)]
    pub fn host(&self) -> String {
        let host = self.machine.config().endpoint().host();
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned()
    }

    /// The endpoint's port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.machine.config().endpoint().port())
    }

    /// The API version date.
    #[napi(getter)]
    pub fn version(&self) -> String {
        self.machine.config().core().version().to_string()
    }

    /// The largest response accepted, in bytes.
    #[napi(getter)]
    pub fn max_response_bytes(&self) -> f64 {
        self.machine.config().max_response_bytes() as f64
    }

    /// Operations in progress.
    #[napi(getter)]
    pub fn operations(&self) -> u32 {
        self.machine.operations() as u32
    }

    /// Starts operation `op` (`instance`, ..., `get`, `get_all`, `user_data`,
    /// `ssh_keys`, `wait_until_ready`) with `args` (by the description's names) at
    /// `now`: its id, or the error record (JSON) when the input is refused (nothing is
    /// sent then).
    #[napi]
    pub fn start(&mut self, op: String, args: Option<Unknown>, now: f64) -> Either<f64, String> {
        let mut named = NamedArgs::default();
        let started = each(args, |name, v| named.set(name, v))
            .map_err(Error::from)
            .and_then(|()| self.machine.start_named(&op, &named, instant(now)));
        match started {
            Ok(id) => Either::A(id.0 as f64),
            Err(e) => Either::B(record(&e)),
        }
    }

    /// The next step of `op` (after a send, close, backoff, token wait or page).
    #[napi]
    pub fn step(&mut self, op: f64, now: f64) -> StepOut {
        self.run(op, now, Input::Tick)
    }

    /// Bytes read from `op`'s connection (empty: the peer closed it).
    #[napi]
    pub fn feed(&mut self, op: f64, now: f64, data: Buffer) -> StepOut {
        self.run(op, now, Input::Bytes(&data))
    }

    /// A whole response from a transport with its own HTTP stack: status, the
    /// `Retry-After` header's value, the (de-chunked) body, and the
    /// `Transfer-Encoding` value (every line joined by ", "): a coding the core's
    /// reader refuses fails the call as `bad_response`.
    #[napi]
    pub fn respond(
        &mut self,
        op: f64,
        now: f64,
        status: u32,
        retry_after: Option<String>,
        body: Buffer,
        transfer_encoding: Option<String>,
    ) -> StepOut {
        let retry_after = retry_after.and_then(|v| parse_retry_after(v.as_bytes()));
        let status = u16::try_from(status).unwrap_or(0);
        let te = transfer_encoding.as_deref().map(str::as_bytes);
        let response = Response::from_host(status, retry_after, te, &body);
        self.run(op, now, Input::Response(response))
    }

    /// `op`'s request failed in transport (`refused`, `unreachable`,
    /// `connect_timeout`, `response_timeout`, `connection_lost`, `tls`).
    #[napi]
    pub fn fail(&mut self, op: f64, now: f64, error: String) -> StepOut {
        let error = TransportError::from_name(&error).unwrap_or(TransportError::ConnectionLost);
        self.run(op, now, Input::Failed(error))
    }

    /// Abandons `op`: the connection to close, if it had a request in flight.
    #[napi]
    pub fn cancel(&mut self, op: f64) -> Option<f64> {
        self.machine.cancel(OpId(op as u64)).map(|c| c.0 as f64)
    }

    /// Operations whose token wait ended (after a `cancel`): step them now.
    #[napi]
    pub fn woken(&mut self) -> Vec<f64> {
        std::iter::from_fn(|| self.machine.poll_woken().map(|o| o.0 as f64)).collect()
    }

    fn run(&mut self, op: f64, now: f64, input: Input<'_>) -> StepOut {
        let step = self.machine.step(OpId(op as u64), instant(now), input);
        let mut out = self.convert(step);
        if let Some(first) = self.machine.poll_woken() {
            let mut woken = vec![first.0 as f64];
            woken.extend(self.woken());
            out.woken = Some(woken);
        }
        out
    }

    fn convert(&self, step: Step) -> StepOut {
        let new = |kind| StepOut {
            kind,
            ..StepOut::default()
        };
        match step {
            Step::Send(t) => {
                let r = &t.request;
                let request = self.parts.then(|| RequestParts {
                    method: r.method().as_str().to_owned(),
                    url: r.url().to_owned(),
                    target: r.target().to_owned(),
                    headers: r.headers().iter().map(header).collect(),
                    body: r.body().map(str::to_owned),
                });
                StepOut {
                    conn: Some(t.conn.0 as f64),
                    fresh: Some(t.fresh),
                    wire: Some(Buffer::from(r.wire().to_vec())),
                    request,
                    timeout: ms(r.timeout()),
                    connect_timeout: ms(r.connect_timeout()),
                    until: Some(r.deadline().as_millis() as f64),
                    ..new(kind::SEND)
                }
            }
            Step::Read => new(kind::READ),
            Step::Close(conn) => StepOut {
                conn: Some(conn.0 as f64),
                ..new(kind::CLOSE)
            },
            Step::Backoff(until) | Step::AwaitToken(until) => StepOut {
                until: Some(until.as_millis() as f64),
                ..new(if matches!(step, Step::Backoff(_)) {
                    kind::BACKOFF
                } else {
                    kind::AWAIT
                })
            },
            Step::Page(r) => value(kind::PAGE, r),
            Step::Done(r) => value(kind::DONE, r),
            Step::Failed(e) => failed(&e),
        }
    }
}

/// A record as JavaScript values: a document as JSON text (a generic GET's body
/// as it came: the core checked it), user data as bytes, SSH keys as lines.
fn value(kind: u32, r: Record) -> StepOut {
    let type_name = r.type_name();
    let mut out = StepOut {
        kind,
        type_name: Some(type_name.to_owned()),
        lifetime: r.token_lifetime(),
        ..StepOut::default()
    };
    match type_name {
        "user_data" => out.bytes = Some(Buffer::from(r.into_body())),
        "ssh_keys" => out.lines = r.lines().map(<[String]>::to_vec),
        "ready" => {}
        "raw" | "json" => match String::from_utf8(r.into_body()) {
            Ok(json) => out.json = Some(json),
            Err(_) => return failed(&unrepresentable()),
        },
        _ => match serde_json::to_string(&r) {
            Ok(json) => out.json = Some(json),
            Err(_) => return failed(&unrepresentable()),
        },
    }
    out
}

fn unrepresentable() -> Error {
    use vpc_imds_driver::core::error::Cause;
    let why = Cause::Protocol("the document cannot be represented");
    Error::new(vpc_imds_driver::ErrorKind::BadResponse, why)
}

/// Merges the pages of a list into one document (the driver's page merger);
/// `null` if a page cannot be merged.
#[napi]
pub fn merge_page_bodies(pages: Vec<String>) -> Option<String> {
    let merged = vpc_imds_driver::merge_pages(pages.iter().map(|p| p.as_bytes())).ok()?;
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
/// `limit` bytes (the driver's rule).
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
