#![deny(missing_docs)]
// Errors carry IBM's message inline (the core has no allocator).
#![allow(clippy::result_large_err)]
//! The native half of the npm package `vpc-imds`: the driver's client machine
//! ([`vpc_imds_driver::LocalMachine`]) behind a napi-rs class, plus conversions.
//!
//! The machine decides everything (operations, tokens, connections, retries,
//! merging, user data, settings); JavaScript (`lib/*.js`) owns the sockets, timers
//! and the clock, and steps each call's operation with what happened.

use napi::bindgen_prelude::{Buffer, BufferSlice, Either, Object, Unknown, Utf16String};
use napi::Env;
use napi::ValueType;
use napi_derive::napi;
use vpc_imds_driver::record_machine::{error_text, record_text};
use vpc_imds_driver::{
    InputError, MachineInput as Input, NamedArgs, RecordMachine, Settings, Value,
};

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
        // A getter that throws: nothing is started (the exception stays pending).
        let value: Option<Unknown> = object.get(&name).map_err(|_| not_object)?;
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

/// The client machine of one `Client`.
#[napi]
pub struct NodeMachine {
    machine: RecordMachine,
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
    let machine = each(settings, |name, v| s.set(name, v))
        .map_err(|e| error_text(&e.into()))
        .and_then(|()| RecordMachine::new(s, &seed, parts));
    match machine {
        Ok(machine) => Either::A(NodeMachine { machine }),
        Err(record) => Either::B(record),
    }
}

#[napi]
impl NodeMachine {
    /// The endpoint, e.g. `http://169.254.169.254`.
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.machine.endpoint().to_string()
    }

    /// Whether the endpoint is `https`.
    #[napi(getter)]
    pub fn secure(&self) -> bool {
        self.machine.secure()
    }

    /// The endpoint's host name or address (IPv6 without brackets).
    #[napi(getter)]
    pub fn host(&self) -> String {
        self.machine.endpoint().bare_host().to_owned()
    }

    /// The endpoint's port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.machine.endpoint().port())
    }

    /// The API version date.
    #[napi(getter)]
    pub fn version(&self) -> String {
        self.machine.machine().config().core().version().to_string()
    }

    /// The largest response accepted, in bytes.
    #[napi(getter)]
    pub fn max_response_bytes(&self) -> f64 {
        self.machine.machine().config().max_response_bytes() as f64
    }

    /// Operations in progress.
    #[napi(getter)]
    pub fn operations(&self) -> u32 {
        self.machine.machine().operations() as u32
    }

    /// Starts operation `op` (`instance`, ..., `get`, `get_all`, `user_data`,
    /// `ssh_keys`, `wait_until_ready`) with `args` (by the description's names) at
    /// `now`: its id, or the error record (JSON) when the input is refused (nothing is
    /// sent then).
    #[napi]
    pub fn start(&mut self, op: String, now: f64, args: Option<Unknown>) -> Either<f64, String> {
        let mut named = NamedArgs::default();
        let started = each(args, |name, v| named.set(name, v))
            .map_err(|e| error_text(&e.into()))
            .and_then(|()| self.machine.start(&op, now, &named));
        match started {
            Ok(id) => Either::A(id),
            Err(record) => Either::B(record),
        }
    }

    /// The next step of `op` (after a send, close, backoff, token wait or page).
    #[napi]
    pub fn step(&mut self, op: f64, now: f64) -> String {
        self.machine.step(op, now, Input::Tick)
    }

    /// Bytes read from `op`'s connection (empty: the peer closed it).
    #[napi]
    pub fn feed(&mut self, op: f64, data: BufferSlice<'_>, now: f64) -> String {
        self.machine.step(op, now, Input::Bytes(&data))
    }

    /// A whole response from a transport with its own HTTP stack: status, the
    /// `Retry-After` header's value, the (de-chunked) body, and the
    /// `Transfer-Encoding` value (every line joined by ", "): a coding the core's
    /// reader refuses fails the call as `bad_response`.
    #[napi]
    pub fn respond(
        &mut self,
        op: f64,
        status: f64,
        retry_after: Option<String>,
        body: BufferSlice<'_>,
        now: f64,
        transfer_encoding: Option<String>,
    ) -> String {
        // A cast saturates: one out of range stays out of range, for the core to refuse.
        let status = status as u16;
        let te = transfer_encoding.as_deref();
        let input = Input::response(status, retry_after.as_deref(), te, &body);
        self.machine.step(op, now, input)
    }

    /// `op`'s request failed in transport (`refused`, `unreachable`,
    /// `connect_timeout`, `response_timeout`, `connection_lost`, `tls`).
    #[napi]
    pub fn fail(&mut self, op: f64, error: String, now: f64) -> String {
        self.machine.step(op, now, Input::failed(&error))
    }

    /// Abandons `op`: the connection to close, if it had a request in flight.
    #[napi]
    pub fn cancel(&mut self, op: f64) -> Option<f64> {
        self.machine.cancel(op)
    }

    /// The idle connections to close for the client's `close`, forgotten by the
    /// machine (one an operation is using is not among them).
    #[napi]
    pub fn close_idle(&mut self) -> Vec<f64> {
        self.machine.close_idle()
    }

    /// Operations whose token wait ended (after a `cancel`): step them now.
    #[napi]
    pub fn woken(&mut self) -> Vec<f64> {
        self.machine.woken()
    }

    /// After a step that names a `takeBytes` field: its bytes (a request's HTTP/1.1
    /// bytes hold the token: never log them).
    #[napi]
    pub fn take_bytes<'env>(&mut self, env: &'env Env) -> napi::Result<BufferSlice<'env>> {
        // A copy: a buffer over Rust memory needs a finalizer, dearer than a copy of
        // the request's few kilobytes.
        BufferSlice::copy_from(env, self.machine.take_bytes())
    }

    /// After a step that names a `takeText` field: its text.
    #[napi]
    pub fn take_text(&mut self) -> String {
        self.machine.take_text()
    }
}

/// Merges the pages of a list (JSON objects, as bytes) into one document, as the
/// driver's page merger does; throws the error record (JSON text, `bad_response`)
/// for a page that is not an object.
#[napi]
pub fn merge_pages(pages: Vec<Buffer>) -> napi::Result<Buffer> {
    vpc_imds_driver::merge_pages(pages.iter().map(|p| &p[..]))
        .map(Buffer::from)
        .map_err(|e| napi::Error::from_reason(error_text(&e.into())))
}

/// A part of user data (the driver's `Leaf`), its body decoded.
#[napi(object)]
pub struct MimeLeaf {
    /// The media type, lower case; absent for data that is not multi-part.
    pub content_type: Option<String>,
    /// The file name, if any.
    pub filename: Option<String>,
    /// The declared charset, if any.
    pub charset: Option<String>,
    /// The decoded body.
    pub data: Buffer,
}

/// Decompresses gzip user data (every member, CRC checked), refusing more than
/// `limit` bytes (the driver's limit when absent); throws the error record (JSON
/// text, `bad_response`) when it cannot.
#[napi]
pub fn gunzip(data: Buffer, limit: Option<f64>) -> napi::Result<Buffer> {
    // A cast saturates: NaN and negatives are 0, Infinity no limit.
    let limit = limit.map_or(vpc_imds_driver::mime::DEFAULT_GUNZIP_LIMIT, |n| n as usize);
    vpc_imds_driver::gunzip(&data, limit)
        .map(Buffer::from)
        .map_err(user_data_error)
}

/// The driver's error record for user data, thrown as the backend reads records.
fn user_data_error(e: vpc_imds_driver::UserDataError) -> napi::Error {
    napi::Error::from_reason(record_text(&vpc_imds_driver::ErrorRecord::from(&e)))
}

/// The parts of user data (the driver's `user_data_parts`: gzip removed, MIME leaves
/// or the whole data as one part); throws the error record when it is malformed.
#[napi]
pub fn user_data_parts(data: Buffer) -> napi::Result<Vec<MimeLeaf>> {
    let parts = vpc_imds_driver::user_data_parts(&data).map_err(user_data_error)?;
    Ok(parts
        .into_iter()
        .map(|p| MimeLeaf {
            content_type: p.content_type,
            filename: p.filename,
            charset: p.charset,
            data: Buffer::from(p.payload),
        })
        .collect())
}

/// The transport failure a socket error names (the core's table): `code` is the
/// errno's name (`ECONNREFUSED`), `connected` whether the connection was made.
#[napi]
pub fn transport_failure(code: String, connected: bool) -> &'static str {
    vpc_imds_driver::TransportError::from_errno(&code, connected).as_str()
}

/// Whether user data (gzip removed) is a well-formed MIME multi-part document.
#[napi]
pub fn is_multipart(data: Buffer) -> bool {
    vpc_imds_driver::is_multipart(&data)
}
