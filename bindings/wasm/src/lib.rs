#![deny(missing_docs)]
// The core's errors carry IBM's message inline (the core has no allocator).
#![allow(clippy::result_large_err)]
//! WebAssembly glue of `vpc-imds`: the driver's client machine
//! ([`vpc_imds_driver::LocalMachine`]) exported to JavaScript with wasm-bindgen.
//!
//! The machine decides everything (operations, tokens, retries, merging, user
//! data, settings); JavaScript (`lib/client.js`) supplies the HTTP (`fetch`, or a
//! function of the user's), the clock, sleeping and the seed, and steps each call's
//! operation. Steps cross as JSON text that JavaScript parses (the driver's [`StepRecord`]);
//! errors as the driver's [`ErrorRecord`]; a request's bytes, user data, a generic
//! GET's body and the merged text of `get_all` wait in the machine for `takeBytes()` /
//! `takeText()`.

/// The module's allocator (see Cargo.toml); single-threaded, as wasm32 without atomics is.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use vpc_imds_driver::record_machine::{error_text, record_text};
use vpc_imds_driver::{
    Error, InputError, MachineInput as Input, NamedArgs, RecordMachine, Settings, Value,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

fn thrown(e: &Error) -> JsValue {
    JsValue::from_str(&error_text(e))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(object: &js_sys::Object) -> Result<js_sys::Array, JsValue>;
}

/// Hands each member of `object` (settings or an operation's arguments, by the
/// description's names) to `set` as the driver's [`Value`]: null and undefined are
/// the default, a number is a float (the driver's rules decide what it may be), a
/// string is text; anything else is refused.
fn each(
    object: &JsValue,
    mut set: impl FnMut(&str, Value<'_>) -> Result<(), InputError>,
) -> Result<(), InputError> {
    if object.is_undefined() || object.is_null() {
        return Ok(());
    }
    if !object.is_object() {
        return Err(InputError::Malformed {
            what: "arguments",
            expected: "an object",
        });
    }
    let object: &js_sys::Object = object.unchecked_ref();
    // Object.keys with its exception caught: one thrown through the module's frames
    // leaves part of its stack behind (the JavaScript layer hands over plain data).
    let keys = object_keys(object).map_err(|_| InputError::Malformed {
        what: "arguments",
        expected: "an object whose keys can be read",
    })?;
    for key in keys.iter() {
        let name = key.as_string().unwrap_or_default();
        // A getter that throws gives a value no rule takes.
        let v = js_sys::Reflect::get(object, &key).unwrap_or_else(|_| js_sys::Object::new().into());
        let text;
        let value = if v.is_undefined() || v.is_null() {
            Value::Null
        } else if let Some(b) = v.as_bool() {
            Value::Bool(b)
        } else if let Some(n) = v.as_f64() {
            Value::Float(n)
        } else if let Some(js) = v.dyn_ref::<js_sys::JsString>() {
            // A lone surrogate has no UTF-8 form (wasm-bindgen would send U+FFFD).
            match js.is_valid_utf16().then(|| v.as_string()).flatten() {
                Some(t) => {
                    text = t;
                    Value::Text(&text)
                }
                None => Value::NotUnicode,
            }
        } else {
            Value::Other
        };
        set(&name, value)?;
    }
    Ok(())
}

/// The client machine of one `Client`.
#[wasm_bindgen]
pub struct Machine {
    machine: RecordMachine,
}

#[wasm_bindgen]
impl Machine {
    /// Validates `settings` (by the description's names; seconds as numbers; null
    /// keeps the default; `env_endpoint` is the value of `VPC_IMDS_ENDPOINT`); throws
    /// the error record (JSON text) naming a bad one. `seed` (8 bytes) feeds jitter.
    /// `parts` (default true): send steps carry the request as parts, for `fetch` or
    /// a transport function; false when a socket transport sends the bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(
        settings: &JsValue,
        env_endpoint: Option<String>,
        seed: &[u8],
        parts: Option<bool>,
    ) -> Result<Machine, JsValue> {
        let mut s = Settings {
            env_endpoint,
            ..Settings::default()
        };
        each(settings, |name, v| s.set(name, v)).map_err(|e| thrown(&e.into()))?;
        let machine = RecordMachine::new(s, seed, parts.unwrap_or(true))
            .map_err(|e| JsValue::from_str(&e))?;
        Ok(Machine { machine })
    }

    /// The service's base URL, e.g. `http://169.254.169.254`.
    #[wasm_bindgen(getter)]
    pub fn endpoint(&self) -> String {
        self.machine.endpoint().to_string()
    }

    /// The endpoint's host name or address (IPv6 without brackets), for a socket
    /// transport.
    #[wasm_bindgen(getter)]
    pub fn host(&self) -> String {
        self.machine.endpoint().bare_host().to_owned()
    }

    /// The endpoint's port.
    #[wasm_bindgen(getter)]
    pub fn port(&self) -> u16 {
        self.machine.endpoint().port()
    }

    /// Whether the endpoint is `https`.
    #[wasm_bindgen(getter)]
    pub fn secure(&self) -> bool {
        self.machine.secure()
    }

    /// The API version date.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> String {
        self.machine.machine().config().core().version().to_string()
    }

    /// The largest response accepted, in bytes.
    #[wasm_bindgen(getter, js_name = maxResponseBytes)]
    pub fn max_response_bytes(&self) -> f64 {
        self.machine.machine().config().max_response_bytes() as f64
    }

    /// Operations in progress.
    #[wasm_bindgen(getter)]
    pub fn operations(&self) -> usize {
        self.machine.machine().operations()
    }

    /// Starts operation `op` (`instance`, ..., `get`, `get_all`, `user_data`,
    /// `ssh_keys`, `wait_until_ready`) with `args` (by the description's names) at
    /// `now`: its id; throws the error record (JSON text) when the input is refused
    /// (nothing is sent).
    pub fn start(&mut self, op: &str, now: f64, args: &JsValue) -> Result<f64, JsValue> {
        let mut named = NamedArgs::default();
        each(args, |name, v| named.set(name, v)).map_err(|e| thrown(&e.into()))?;
        self.machine
            .start(op, now, &named)
            .map_err(|e| JsValue::from_str(&e))
    }

    /// The next step of `op` at `now`, as JSON.
    pub fn step(&mut self, op: f64, now: f64) -> String {
        self.machine.step(op, now, Input::Tick)
    }

    /// Feeds bytes read from `op`'s connection (HTTP/1.1 as received; empty: closed).
    pub fn feed(&mut self, op: f64, data: &[u8], now: f64) -> String {
        self.machine.step(op, now, Input::Bytes(data))
    }

    /// Feeds a whole response from the host's HTTP stack: status, the `Retry-After`
    /// header's value if any, the (decoded) body, and the `Transfer-Encoding`
    /// header's value if any (every line joined by ", ", as `Headers.get` gives it):
    /// a coding the core's response reader refuses fails the call as `bad_response`.
    pub fn respond(
        &mut self,
        op: f64,
        status: f64,
        retry_after: Option<String>,
        body: &[u8],
        now: f64,
        transfer_encoding: Option<String>,
    ) -> String {
        let te = transfer_encoding.as_deref();
        // A cast saturates: one out of range stays out of range, for the core to refuse.
        let input = Input::response(status as u16, retry_after.as_deref(), te, body);
        self.machine.step(op, now, input)
    }

    /// Reports that `op`'s request failed in transport: `refused`, `unreachable`,
    /// `connect_timeout`, `response_timeout`, `connection_lost` or `tls`.
    pub fn fail(&mut self, op: f64, name: &str, now: f64) -> String {
        self.machine.step(op, now, Input::failed(name))
    }

    /// Abandons `op`: the connection to close, if it had a request in flight.
    pub fn cancel(&mut self, op: f64) -> Option<f64> {
        self.machine.cancel(op)
    }

    /// The idle connections to close for the client's `close`, forgotten by the
    /// machine (one an operation is using is not among them).
    #[wasm_bindgen(js_name = closeIdle)]
    pub fn close_idle(&mut self) -> Vec<f64> {
        self.machine.close_idle()
    }

    /// Operations whose token wait ended (after a `cancel`): step them now.
    pub fn woken(&mut self) -> Vec<f64> {
        self.machine.woken()
    }

    /// The bytes the last step announced (`bytes`: user data), once; after a `send`,
    /// its HTTP/1.1 bytes (they hold the token: never log them).
    #[wasm_bindgen(js_name = takeBytes)]
    pub fn take_bytes(&mut self) -> Vec<u8> {
        self.machine.take_bytes()
    }

    /// The text the last step announced (`text`: a part of `get_all`'s document),
    /// once: decoded straight from the module's memory.
    #[wasm_bindgen(js_name = takeText)]
    pub fn take_text(&mut self) -> String {
        self.machine.take_text()
    }
}

/// Merges a list's pages (JSON objects, as bytes) into one document as the driver's
/// page merger does; throws `bad_response` for a page that is not an object.
#[wasm_bindgen(js_name = mergePages)]
pub fn merge_pages(pages: Vec<js_sys::Uint8Array>) -> Result<Vec<u8>, JsValue> {
    let pages: Vec<Vec<u8>> = pages.iter().map(|p| p.to_vec()).collect();
    vpc_imds_driver::merge_pages(pages.iter().map(Vec::as_slice)).map_err(|e| thrown(&e.into()))
}

/// User data without gzip (every member, CRC checked), at most `limit` bytes (the
/// driver's limit when absent); throws the error record (`bad_response`) saying why.
#[wasm_bindgen]
pub fn gunzip(data: &[u8], limit: Option<f64>) -> Result<Vec<u8>, JsValue> {
    // A cast saturates: NaN and negatives are 0, Infinity no limit.
    let limit = limit.map_or(vpc_imds_driver::mime::DEFAULT_GUNZIP_LIMIT, |n| n as usize);
    vpc_imds_driver::gunzip(data, limit).map_err(user_data_error)
}

/// The parts of user data (the driver's `user_data_parts`: gzip removed, MIME leaves
/// or the whole data as one part); throws the error record (`bad_response`) saying why.
#[wasm_bindgen(js_name = userDataParts)]
pub fn user_data_parts(data: &[u8]) -> Result<Leaves, JsValue> {
    vpc_imds_driver::user_data_parts(data)
        .map(|leaves| Leaves { leaves })
        .map_err(user_data_error)
}

/// The transport failure a socket error names (the core's table): `code` is the
/// errno's name (`ECONNREFUSED`), `connected` whether the connection was made.
#[wasm_bindgen(js_name = transportFailure)]
pub fn transport_failure(code: &str, connected: bool) -> String {
    vpc_imds_driver::TransportError::from_errno(code, connected)
        .as_str()
        .into()
}

/// Whether user data (gzip removed) is a well-formed MIME multi-part document.
#[wasm_bindgen(js_name = isMultipart)]
pub fn is_multipart(data: &[u8]) -> bool {
    vpc_imds_driver::is_multipart(data)
}

/// The driver's error record for user data (JSON text, `bad_response`), thrown as
/// for every other refusal.
fn user_data_error(e: vpc_imds_driver::UserDataError) -> JsValue {
    JsValue::from_str(&record_text(&vpc_imds_driver::ErrorRecord::from(&e)))
}

/// The parts of user data, read one by one.
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

    /// Part `i`'s media type, lower case; absent for data that is not multi-part.
    #[wasm_bindgen(js_name = contentType)]
    pub fn content_type(&self, i: usize) -> Option<String> {
        self.leaves.get(i).and_then(|l| l.content_type.clone())
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
