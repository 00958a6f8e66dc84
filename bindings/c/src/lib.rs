//! The C ABI of vpc-imds: the driver's client [`Machine`](vpc_imds_driver::Machine)
//! behind an opaque handle, with JSON in (settings, operation arguments) and step
//! records out, in a buffer the machine owns. The same functions, plus
//! [`vpc_imds_alloc`] and [`vpc_imds_dealloc`] for guest buffers, are the exports
//! of the `wasm32-unknown-unknown` module that the Go package runs under wazero.
//!
//! Every function is total: no input (a null pointer, bytes that are not UTF-8 or
//! not JSON, an unknown operation, an input kind out of range) panics; a call the
//! ABI cannot make sense of returns [`VPC_IMDS_MISUSE`] with an error record.
//!
//! A handle is not locked: a host with threads serializes calls on one handle (one
//! mutex per handle), and each thread steps its own operations. The output buffer
//! ([`vpc_imds_output`]) is valid until the next call that takes the handle: a
//! thread copies its record before it lets the mutex go.
//!
//! Times are milliseconds: `now_ms` is the host's monotonic clock (one origin per
//! handle; a value below the latest one is taken as the latest), and every instant
//! in a step record is on that clock.

#![deny(missing_docs)]
// The error record is the value of every failure; it is built once per failure.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use vpc_imds_driver::core::error::Cause;
use vpc_imds_driver::core::model::AccessToken;
use vpc_imds_driver::core::response::{parse_retry_after, Response};
use vpc_imds_driver::core::token::Schedule;
use vpc_imds_driver::{
    ErrorKind, ErrorRecord, InputError, Instant, MachineInput as Input, MachineStep as Step,
    NamedArgs, OpId, Record, Settings, SyncMachine, TransportError, Value,
};

mod wiping_alloc;

/// Every freed block is zeroed first (tokens pass through the machine's buffers).
#[global_allocator]
static ALLOCATOR: wiping_alloc::WipingAllocator = wiping_alloc::WipingAllocator;

/// A call the ABI cannot make sense of (a null handle, an input kind out of range,
/// an unknown transport error name): nothing changed; the output holds an error
/// record (`invalid_input`, cause `misuse`) unless the handle was null.
pub const VPC_IMDS_MISUSE: i32 = -1;
/// Step: send a request. Output: [`VPC_IMDS_SEND_HEADER`] bytes (connection id,
/// connect timeout, deadline, fresh) then the request bytes.
pub const VPC_IMDS_SEND: i32 = 1;
/// Step: read more of the answer on the operation's connection and feed it.
pub const VPC_IMDS_READ: i32 = 2;
/// Step: close a connection (output: its id, u64), then step with a tick.
pub const VPC_IMDS_CLOSE: i32 = 3;
/// Step: sleep until an instant (output: u64 ms), then step with a tick.
pub const VPC_IMDS_BACKOFF: i32 = 4;
/// Step: another operation fetches the token this one needs: sleep until
/// [`vpc_imds_poll_woken`] names this operation or until an instant (output: u64
/// ms), then step with a tick.
pub const VPC_IMDS_AWAIT_TOKEN: i32 = 5;
/// Step: one page; more follow. Output: a record (see [`VPC_IMDS_DONE`]).
pub const VPC_IMDS_PAGE: i32 = 6;
/// Step: the result; the operation is over. Output: one byte `n`, the record's
/// type name (`n` bytes: `instance`, `keys`, `raw`, `json`, `user_data`,
/// `ssh_keys`, `ready`, ...), then its value: a document's JSON as received, a
/// `get_all` part, user data bytes, the `authorized_keys` lines as a JSON array of
/// strings, or nothing for `ready`.
pub const VPC_IMDS_DONE: i32 = 7;
/// Step: the failure; the operation is over. Output: the error record (JSON).
pub const VPC_IMDS_FAILED: i32 = 8;

/// Input kind: nothing new (`bytes` is ignored).
pub const VPC_IMDS_INPUT_TICK: i32 = 0;
/// Input kind: bytes read from the operation's connection; none means the peer
/// closed it.
pub const VPC_IMDS_INPUT_BYTES: i32 = 1;
/// Input kind: the transport failed; `bytes` is its name: `refused`,
/// `unreachable`, `connect_timeout`, `response_timeout`, `connection_lost`, `tls`.
pub const VPC_IMDS_INPUT_FAILED: i32 = 2;

/// Input kind: a whole response from the host's own HTTP stack; `bytes` is
/// [`VPC_IMDS_RESPONSE_HEADER`] bytes, the `Retry-After` and `Transfer-Encoding`
/// values as received, then the de-chunked body. The core reads both headers (a
/// repeated or non-numeric `Retry-After` is none; a coding it refuses is
/// `bad_response`), as it does in every host. (Kind 3, which took a parsed
/// `Retry-After`, is refused as misuse.)
pub const VPC_IMDS_INPUT_RESPONSE: i32 = 4;

/// Length of the fixed part of a [`VPC_IMDS_INPUT_RESPONSE`] input: little-endian
/// u16 status at 0, u16 length of the `Retry-After` value at 2, u16 length of the
/// `Transfer-Encoding` value at 4 (each header's lines joined by `", "`; a longer
/// value: its first 65,535 bytes), u8 flags at 6 (1: a `Retry-After` was received;
/// 2: a `Transfer-Encoding` was; a length needs its flag), u8 0 at 7; then the two
/// values, then the body.
pub const VPC_IMDS_RESPONSE_HEADER: usize = 8;

/// Length of the fixed part of a [`VPC_IMDS_SEND`] record: little-endian u64
/// connection id at 0, u64 connect timeout (ms) at 8, u64 deadline (ms, host
/// clock) at 16, u8 fresh (1: connect first; 0: reuse that idle connection) at 24;
/// the request bytes follow at 32.
pub const VPC_IMDS_SEND_HEADER: usize = 32;

/// One client: the machine and its output buffer. Opaque to C. Not thread-safe:
/// a handle is used by one thread at a time (hold a lock around each call).
pub struct VpcImds {
    machine: SyncMachine,
    out: Vec<u8>,
    /// The latest `now_ms` seen: a clock that runs backwards is held there (the
    /// driver's debug builds would stop the process otherwise).
    clock: u64,
}

/// How far a clock may seem to run backwards (threads that read it before taking the
/// handle's lock) before it is misuse: a time of another clock, not this one.
const CLOCK_SLACK_MS: u64 = 60_000;

impl VpcImds {
    /// `now_ms` as the handle's instant; refused (nothing changed) beyond `i64::MAX`
    /// or a minute behind a time given before: one such value held the clock there
    /// for good, every later deadline and backoff on it.
    fn now(&mut self, now_ms: u64) -> Result<Instant, ErrorRecord> {
        if now_ms > i64::MAX as u64 || now_ms.saturating_add(CLOCK_SLACK_MS) < self.clock {
            return Err(misuse(
                "now_ms: not the handle's monotonic clock (beyond i64::MAX, or a minute behind a time given before; after a time of another clock, make a new handle)",
            ));
        }
        self.clock = self.clock.max(now_ms);
        Ok(Instant::from_millis(self.clock))
    }
}

fn input_error(message: String) -> ErrorRecord {
    // Built from an error (not a literal), so new record fields stay null.
    let e = vpc_imds_driver::Error::new(ErrorKind::InvalidInput, Cause::Misuse("input"));
    let mut record = ErrorRecord::from(&e);
    record.message = message;
    record.cause = "input";
    record
}

fn misuse(message: &str) -> ErrorRecord {
    let mut record = input_error(message.into());
    record.cause = "misuse";
    record
}

fn write_error(out: &mut Vec<u8>, e: &ErrorRecord) {
    out.clear();
    if serde_json::to_writer(&mut *out, e).is_err() {
        out.clear();
        out.extend_from_slice(
            br#"{"kind":"invalid_input","message":"unserializable error","cause":"misuse"}"#,
        );
    }
}

/// The members of a JSON object in a C buffer (empty: none), each handed to `set`
/// as the driver's by-name value: the names and units of api/vpc-imds.json.
fn each_member(
    what: &str,
    bytes: &[u8],
    mut set: impl FnMut(&str, Value<'_>) -> Result<(), InputError>,
) -> Result<(), ErrorRecord> {
    if bytes.is_empty() {
        return Ok(());
    }
    // serde_json's messages may quote a value; the line and column suffice.
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| {
            input_error(format!(
                "{what}: not a JSON object (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
    for (name, v) in &map {
        use serde_json::Value as J;
        let value = match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(t) => Value::Text(t),
            J::Array(_) | J::Object(_) => {
                return Err(input_error(format!("{what}: {name} is not a plain value")))
            }
        };
        set(name, value).map_err(|e| {
            let mut record = ErrorRecord::from(&vpc_imds_driver::Error::from(e));
            record.message = format!("{what}: {name}: {}", record.message);
            record
        })?;
    }
    Ok(())
}

fn settings_of(bytes: &[u8]) -> Result<Settings, ErrorRecord> {
    let mut settings = Settings::default();
    each_member("settings", bytes, |name, v| settings.set(name, v))?;
    Ok(settings)
}

/// # Safety
/// `ptr` is null or points to `len` readable bytes.
unsafe fn slice<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        Some(&[])
    } else if ptr.is_null() || len > isize::MAX as usize {
        None // a length no object has (`(size_t)-1` for "unknown", say)
    } else {
        // SAFETY: the caller promises `len` readable bytes at `ptr`.
        Some(unsafe { std::slice::from_raw_parts(ptr, len) })
    }
}

/// # Safety
/// `m` is null or a handle from [`vpc_imds_new`] not yet freed, used by one
/// thread at a time.
unsafe fn handle<'a>(m: *mut VpcImds) -> Option<&'a mut VpcImds> {
    // SAFETY: the caller promises a live handle, not shared during the call.
    unsafe { m.as_mut() }
}

/// Whether `bytes` lie in `buf`'s allocation (its capacity, not only its length).
fn overlaps(bytes: &[u8], buf: &Vec<u8>) -> bool {
    let start = buf.as_ptr() as usize;
    let end = start + buf.capacity();
    let at = bytes.as_ptr() as usize;
    !bytes.is_empty() && at < end && at + bytes.len() > start
}

/// Runs `f` on the handle and the bytes at `ptr` (`what` names them in the misuse
/// record when `ptr` is null with a length); -1 for a null handle.
///
/// # Safety
/// As [`handle`] for `m` and [`slice`] for `ptr` and `len`.
unsafe fn with_input(
    m: *mut VpcImds,
    ptr: *const u8,
    len: usize,
    what: &str,
    f: impl FnOnce(&mut VpcImds, &[u8]) -> i64,
) -> i64 {
    // SAFETY: as promised by the caller.
    let Some(m) = (unsafe { handle(m) }) else {
        return -1;
    };
    // SAFETY: as promised by the caller.
    match unsafe { slice(ptr, len) } {
        // Bytes inside this handle's own output (a record passed straight back, as
        // user data to `vpc_imds_user_data_parts`): copied first, since `f` writes
        // the output while it reads them.
        Some(bytes) if overlaps(bytes, &m.out) => {
            let copy = bytes.to_vec();
            f(m, &copy)
        }
        Some(bytes) => f(m, bytes),
        None => {
            write_error(
                &mut m.out,
                &misuse(&format!("{what}: a null pointer with a length")),
            );
            -1
        }
    }
}

/// Creates a client from settings (a JSON object, `len` 0 for the defaults) with
/// the names and units of api/vpc-imds.json (times in seconds: `timeout`,
/// `connect_timeout`, `request_timeout`, `base_delay`, `max_delay`; also
/// `endpoint`, `secure`, `version`, `token_lifetime`, `max_attempts`,
/// `max_response_bytes`), and `env_endpoint` (the value of `VPC_IMDS_ENDPOINT`,
/// which the host reads). `seed` feeds retry jitter (use entropy).
///
/// Returns the handle, or null with the error record (JSON) written to
/// `err[0..min(*err_len, err_cap)]`, where `*err_len` is its whole length.
///
/// # Safety
/// `settings` points to `settings_len` readable bytes (or is null with length 0);
/// `err` to `err_cap` writable bytes (or is null with capacity 0); `err_len` is
/// null or writable.
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_new(
    settings: *const u8,
    settings_len: usize,
    seed: u64,
    err: *mut u8,
    err_cap: usize,
    err_len: *mut usize,
) -> *mut VpcImds {
    // SAFETY: as promised by the caller.
    let built = match unsafe { slice(settings, settings_len) } {
        None => Err(misuse("settings: a null pointer with a length")),
        Some(bytes) => settings_of(bytes).and_then(|s| {
            s.build()
                .map_err(|e| ErrorRecord::from(&vpc_imds_driver::Error::from(e)))
        }),
    };
    match built {
        Ok(config) => Box::into_raw(Box::new(VpcImds {
            machine: SyncMachine::new(config, seed),
            out: Vec::with_capacity(4096),
            clock: 0,
        })),
        Err(record) => {
            let mut out = Vec::new();
            write_error(&mut out, &record);
            // SAFETY: as promised by the caller.
            unsafe {
                if !err.is_null() {
                    let n = out.len().min(err_cap);
                    std::ptr::copy_nonoverlapping(out.as_ptr(), err, n);
                }
                if !err_len.is_null() {
                    *err_len = out.len();
                }
            }
            std::ptr::null_mut()
        }
    }
}

/// Frees a client (null: nothing). Its connections are the host's to close.
///
/// # Safety
/// `m` is null or a live handle, not used again.
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_free(m: *mut VpcImds) {
    if !m.is_null() {
        // SAFETY: the caller gives the handle back. Its buffers (the output's whole
        // capacity, the token cache) are zeroed as they are freed (the allocator).
        drop(unsafe { Box::from_raw(m) });
    }
}

/// The output of the last call on `m` (a step record, an error record, a list of
/// connection ids); `*len` is set to its length. Valid until the next call on `m`.
///
/// # Safety
/// `m` is null or a live handle; `len` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_output(m: *mut VpcImds, len: *mut usize) -> *const u8 {
    // SAFETY: as promised by the caller.
    let (ptr, n) = match unsafe { handle(m) } {
        Some(m) => (m.out.as_ptr(), m.out.len()),
        None => (std::ptr::null(), 0),
    };
    if !len.is_null() {
        // SAFETY: as promised by the caller.
        unsafe { *len = n };
    }
    ptr
}

/// The endpoint in force (`http://HOST:PORT` or `https://...`, after the secure
/// upgrade and the environment value): writes it to the output, returns its length.
/// Hosts dial it; the machine builds every request for it.
///
/// # Safety
/// `m` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_endpoint(m: *mut VpcImds) -> usize {
    // SAFETY: as promised by the caller.
    let Some(m) = (unsafe { handle(m) }) else {
        return 0;
    };
    let endpoint = m.machine.config().endpoint();
    m.out.clear();
    let host = endpoint.host();
    let scheme = match endpoint.scheme() {
        vpc_imds_driver::core::config::Scheme::Https => "https",
        _ => "http",
    };
    // An IPv6 host keeps its brackets in the core.
    let url = format!("{scheme}://{host}:{}", endpoint.port());
    m.out.extend_from_slice(url.as_bytes());
    m.out.len()
}

/// Starts the operation `name` (UTF-8): a core operation (`identity_token`,
/// `iam_token`, `instance`, `initialization`, `network_interfaces`,
/// `network_interface`, `volume_attachments`, `volume_attachment`, `keys`, `key`,
/// `placement_groups`, `placement_group`, `identity_certificate`, `get`) or one of
/// the machine's (`user_data`, `ssh_keys`, `get_all`, `wait_until_ready`), with
/// `args` as a JSON object (`len` 0: none) with the names of api/vpc-imds.json:
/// `id`, `expires_in`, `nonce`, `profile_id`, `profile_crn`, `profile_name`, `csr`,
/// `path`, `all_pages`, `max` (seconds, `wait_until_ready`; 60 when absent).
/// `now_ms` is the host's monotonic clock.
///
/// Returns the operation id (≥ 0), or -1 with the error record in the output
/// (bad input fails here, with nothing sent).
///
/// # Safety
/// `m` is null or a live handle; `name` and `args` point to their lengths of
/// readable bytes (or are null with length 0).
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_start(
    m: *mut VpcImds,
    name: *const u8,
    name_len: usize,
    args: *const u8,
    args_len: usize,
    now_ms: u64,
) -> i64 {
    // SAFETY: as promised by the caller.
    let Some(m) = (unsafe { handle(m) }) else {
        return -1;
    };
    // SAFETY: as promised by the caller.
    let (name, args) = unsafe { (slice(name, name_len), slice(args, args_len)) };
    let now = match m.now(now_ms) {
        Ok(now) => now,
        Err(record) => {
            write_error(&mut m.out, &record);
            return -1;
        }
    };
    match start(&mut m.machine, name, args, now) {
        Ok(OpId(id)) => i64::try_from(id).unwrap_or(-1),
        Err(record) => {
            write_error(&mut m.out, &record);
            -1
        }
    }
}

fn start(
    machine: &mut SyncMachine,
    name: Option<&[u8]>,
    args: Option<&[u8]>,
    now: Instant,
) -> Result<OpId, ErrorRecord> {
    let name = name.ok_or_else(|| misuse("name: a null pointer with a length"))?;
    let name = std::str::from_utf8(name).map_err(|_| input_error("name: not UTF-8".into()))?;
    let args = args.ok_or_else(|| misuse("args: a null pointer with a length"))?;
    let mut named = NamedArgs::default();
    each_member("args", args, |name, v| named.set(name, v))?;
    let started = machine.start_named(name, &named, now);
    started.map_err(|e| ErrorRecord::from(&e))
}

/// Advances operation `op` at `now_ms` with an input (`kind`: one of the
/// `VPC_IMDS_INPUT_*`; `bytes`: what was read, the transport error's name, or a
/// response) and
/// returns what to do next (`VPC_IMDS_SEND` ... `VPC_IMDS_FAILED`), with the
/// step's record in the output; or [`VPC_IMDS_MISUSE`], with nothing changed.
///
/// A failed `wait_until_ready` that ran out of time is `timed_out` and carries its
/// last attempt's `status`, `code`, `cause`, `trace`, `retry_after` and `transport`
/// (the driver's error is built so).
///
/// # Safety
/// `m` is null or a live handle; `bytes` points to `len` readable bytes (or is
/// null with length 0).
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_step(
    m: *mut VpcImds,
    op: u64,
    now_ms: u64,
    kind: i32,
    bytes: *const u8,
    len: usize,
) -> i32 {
    // SAFETY: as promised by the caller.
    let Some(m) = (unsafe { handle(m) }) else {
        return VPC_IMDS_MISUSE;
    };
    // A tick reads no bytes: whatever pointer it is given is not touched.
    let bytes = if kind == VPC_IMDS_INPUT_TICK {
        Some(&[][..])
    } else {
        // SAFETY: as promised by the caller.
        unsafe { slice(bytes, len) }
    };
    let Some(bytes) = bytes else {
        write_error(&mut m.out, &misuse("bytes: a null pointer with a length"));
        return VPC_IMDS_MISUSE;
    };
    let input = match kind {
        VPC_IMDS_INPUT_TICK => Input::Tick,
        VPC_IMDS_INPUT_BYTES => Input::Bytes(bytes),
        VPC_IMDS_INPUT_FAILED => {
            match std::str::from_utf8(bytes)
                .ok()
                .and_then(TransportError::from_name)
            {
                Some(e) => Input::Failed(e),
                None => {
                    write_error(&mut m.out, &misuse("an unknown transport error name"));
                    return VPC_IMDS_MISUSE;
                }
            }
        }
        VPC_IMDS_INPUT_RESPONSE => match response_of(bytes) {
            Some(response) => Input::Response(response),
            None => {
                write_error(
                    &mut m.out,
                    &misuse("a response input that does not match its header (lengths, flags)"),
                );
                return VPC_IMDS_MISUSE;
            }
        },
        3 => {
            let why = "input kind 3 was replaced by VPC_IMDS_INPUT_RESPONSE (4), which takes the header values as received";
            write_error(&mut m.out, &misuse(why));
            return VPC_IMDS_MISUSE;
        }
        _ => {
            write_error(&mut m.out, &misuse("an unknown input kind"));
            return VPC_IMDS_MISUSE;
        }
    };
    let now = match m.now(now_ms) {
        Ok(now) => now,
        Err(record) => {
            write_error(&mut m.out, &record);
            return VPC_IMDS_MISUSE;
        }
    };
    let step = m.machine.step(OpId(op), now, input);
    encode(step, &mut m.out)
}

/// The response a [`VPC_IMDS_INPUT_RESPONSE`] input holds, its headers read by
/// the core; `None` if it is shorter than its lengths say, or its header is not
/// one this version writes (unknown flags, a length without its flag, byte 7).
fn response_of(bytes: &[u8]) -> Option<Response<'_>> {
    let (head, rest) = bytes.split_at_checked(VPC_IMDS_RESPONSE_HEADER)?;
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([head[i], head[i + 1]]));
    let (status, flags) = (u16::from_le_bytes([head[0], head[1]]), head[6]);
    let unset = |bit: u8, len: usize| flags & bit == 0 && len != 0;
    if flags & !3 != 0 || head[7] != 0 || unset(1, u16_at(2)) || unset(2, u16_at(4)) {
        return None;
    }
    let (retry_after, rest) = rest.split_at_checked(u16_at(2))?;
    let (transfer_encoding, body) = rest.split_at_checked(u16_at(4))?;
    let retry_after = (flags & 1 != 0).then_some(retry_after);
    let transfer_encoding = (flags & 2 != 0).then_some(transfer_encoding);
    let retry_after = retry_after.and_then(parse_retry_after);
    Some(Response::from_host(
        status,
        retry_after,
        transfer_encoding,
        body,
    ))
}

/// Writes `step`'s compact record to `out` and returns its code.
#[doc(hidden)]
pub fn encode(step: Step, out: &mut Vec<u8>) -> i32 {
    out.clear();
    match step {
        Step::Send(t) => {
            let r = &t.request;
            out.extend_from_slice(&t.conn.0.to_le_bytes());
            out.extend_from_slice(&millis(r.connect_timeout()).to_le_bytes());
            out.extend_from_slice(&r.deadline().as_millis().to_le_bytes());
            out.extend_from_slice(&[u8::from(t.fresh), 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(r.wire());
            VPC_IMDS_SEND
        }
        Step::Read => VPC_IMDS_READ,
        Step::Close(conn) => {
            out.extend_from_slice(&conn.0.to_le_bytes());
            VPC_IMDS_CLOSE
        }
        Step::Backoff(until) => {
            out.extend_from_slice(&until.as_millis().to_le_bytes());
            VPC_IMDS_BACKOFF
        }
        Step::AwaitToken(until) => {
            out.extend_from_slice(&until.as_millis().to_le_bytes());
            VPC_IMDS_AWAIT_TOKEN
        }
        Step::Page(record) => {
            record_bytes(&record, out);
            VPC_IMDS_PAGE
        }
        Step::Done(record) => {
            record_bytes(&record, out);
            VPC_IMDS_DONE
        }
        Step::Failed(e) => {
            write_error(out, &ErrorRecord::from(&e));
            VPC_IMDS_FAILED
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn record_bytes(record: &Record, out: &mut Vec<u8>) {
    let name = record.type_name().as_bytes();
    let name = name.get(..255).unwrap_or(name);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    match record.lines() {
        Some(lines) => {
            if serde_json::to_writer(&mut *out, lines).is_err() {
                out.truncate(1 + name.len());
            }
        }
        None => out.extend_from_slice(record.body()),
    }
}

/// The next operation whose token wait ended (step it with a tick now), or -1.
///
/// # Safety
/// `m` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_poll_woken(m: *mut VpcImds) -> i64 {
    // SAFETY: as promised by the caller.
    match unsafe { handle(m) }.and_then(|m| m.machine.poll_woken()) {
        Some(OpId(id)) => i64::try_from(id).unwrap_or(-1),
        None => -1,
    }
}

/// Abandons `op` (unknown or over: nothing). Returns the connection the host must
/// close because a request was in flight on it, or -1. Poll
/// [`vpc_imds_poll_woken`] after it, as after a step: a cancelled token refresh
/// wakes the operations waiting for it.
///
/// # Safety
/// `m` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_cancel(m: *mut VpcImds, op: u64) -> i64 {
    // SAFETY: as promised by the caller.
    match unsafe { handle(m) }.and_then(|m| m.machine.cancel(OpId(op))) {
        Some(conn) => i64::try_from(conn.0).unwrap_or(-1),
        None => -1,
    }
}

/// Forgets idle connections unused for 30 s at `now_ms` and returns how many; the
/// output holds their ids (little-endian u64 each) for the host to close.
///
/// # Safety
/// `m` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_expire_idle(m: *mut VpcImds, now_ms: u64) -> usize {
    // SAFETY: as promised by the caller.
    let Some(m) = (unsafe { handle(m) }) else {
        return 0;
    };
    m.out.clear();
    let Ok(now) = m.now(now_ms) else {
        return 0; // not the handle's clock: nothing expires
    };
    let expired = m.machine.expire_idle(now);
    for conn in &expired {
        m.out.extend_from_slice(&conn.0.to_le_bytes());
    }
    expired.len()
}

/// Merges a list's pages into one document as `get_all` does: `pages` holds each
/// page (a JSON object) as a little-endian u32 length and then its bytes. Returns
/// the merged document's length with the document in the output, or -1 with the
/// error record in the output: `bad_response` for a page that is not an object,
/// `misuse` for `pages` not so framed.
///
/// # Safety
/// `m` is null or a live handle; `pages` points to `len` readable bytes (or is
/// null with length 0).
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_merge_pages(
    m: *mut VpcImds,
    pages: *const u8,
    len: usize,
) -> i64 {
    // SAFETY: as promised by the caller.
    unsafe { with_input(m, pages, len, "pages", merge_framed) }
}

fn merge_framed(m: &mut VpcImds, mut rest: &[u8]) -> i64 {
    let mut list = Vec::new();
    while !rest.is_empty() {
        let framed = rest.split_at_checked(4).and_then(|(n, tail)| {
            let n = u32::from_le_bytes([n[0], n[1], n[2], n[3]]);
            tail.split_at_checked(usize::try_from(n).ok()?)
        });
        let Some((page, tail)) = framed else {
            write_error(&mut m.out, &misuse("pages: a length past the end"));
            return -1;
        };
        list.push(page);
        rest = tail;
    }
    match vpc_imds_driver::merge_pages(list) {
        Ok(merged) => {
            m.out.clear();
            m.out.extend_from_slice(&merged);
            i64::try_from(m.out.len()).unwrap_or(-1)
        }
        Err(e) => {
            write_error(
                &mut m.out,
                &ErrorRecord::from(&vpc_imds_driver::Error::from(e)),
            );
            -1
        }
    }
}

/// Splits user data into parts as every binding does (the driver's
/// `user_data_parts`): gzip removed, then the leaf parts of a MIME multi-part
/// document, bodies decoded, or the whole data as one part with no content type
/// when it is not multi-part; none when it is empty. Returns the number of parts
/// with the parts in the output, each as four fields (content type, file name,
/// charset, payload), each a little-endian u32 length (`0xFFFFFFFF`: absent) and
/// then its bytes; or -1 with the error record in the output (`bad_response` in
/// the driver's words for malformed data, `misuse` for a null pointer).
///
/// # Safety
/// `m` is null or a live handle; `data` points to `len` readable bytes (or is null
/// with length 0).
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_user_data_parts(
    m: *mut VpcImds,
    data: *const u8,
    len: usize,
) -> i64 {
    // SAFETY: as promised by the caller.
    unsafe { with_input(m, data, len, "data", write_parts) }
}

fn write_parts(m: &mut VpcImds, data: &[u8]) -> i64 {
    match vpc_imds_driver::user_data_parts(data) {
        Ok(parts) => {
            m.out.clear();
            for p in &parts {
                let fields = [
                    p.content_type.as_deref().map(str::as_bytes),
                    p.filename.as_deref().map(str::as_bytes),
                    p.charset.as_deref().map(str::as_bytes),
                    Some(&p.payload[..]),
                ];
                for field in fields {
                    let n = field.map_or(u32::MAX, |f| u32::try_from(f.len()).unwrap_or(u32::MAX));
                    m.out.extend_from_slice(&n.to_le_bytes());
                    m.out.extend_from_slice(field.unwrap_or_default());
                }
            }
            i64::try_from(parts.len()).unwrap_or(-1)
        }
        Err(e) => {
            write_error(&mut m.out, &ErrorRecord::from(&e));
            -1
        }
    }
}

/// 1 when user data (gzip removed) is a well-formed MIME multi-part document, else
/// 0 (a null pointer with a length included).
///
/// # Safety
/// `data` points to `len` readable bytes (or is null with length 0).
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_user_data_is_multipart(data: *const u8, len: usize) -> i32 {
    // SAFETY: as promised by the caller.
    unsafe { slice(data, len) }.is_some_and(vpc_imds_driver::is_multipart) as i32
}

/// Milliseconds after a token document (an identity or IAM token response) is
/// received at which the machine refreshes that token: the core's schedule (the
/// lifetime less a fifth of it, held to 1..300 s) for the lifetime the core reads
/// (`expires_in`, else `expires_at - created_at`); -1 when the document is not a
/// token or states no lifetime. For a host that keeps a token until then.
///
/// # Safety
/// `doc` points to `len` readable bytes (or is null with length 0).
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_token_refresh_after_ms(doc: *const u8, len: usize) -> i64 {
    // SAFETY: as promised by the caller.
    let token = unsafe { slice(doc, len) }.and_then(|doc| AccessToken::parse(doc).ok());
    let Some(lifetime) = token.and_then(|t| t.lifetime_secs()) else {
        return -1;
    };
    let after = Schedule::for_lifetime(lifetime).refresh_after;
    i64::try_from(after.as_millis()).unwrap_or(i64::MAX)
}

/// Allocates `len` bytes (at least one) for the host to write into, e.g. a wasm
/// host's input buffer; null if out of memory. Free with [`vpc_imds_dealloc`].
#[no_mangle]
pub extern "C" fn vpc_imds_alloc(len: usize) -> *mut u8 {
    match std::alloc::Layout::from_size_align(len.max(1), 1) {
        // SAFETY: the layout's size is not zero.
        Ok(layout) => unsafe { std::alloc::alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Frees what [`vpc_imds_alloc`] gave, with the same `len` (null: nothing).
///
/// # Safety
/// `ptr` is null or from `vpc_imds_alloc(len)`, not freed before.
#[no_mangle]
pub unsafe extern "C" fn vpc_imds_dealloc(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    if let Ok(layout) = std::alloc::Layout::from_size_align(len.max(1), 1) {
        // SAFETY: the caller gives back what `vpc_imds_alloc(len)` returned.
        unsafe { std::alloc::dealloc(ptr, layout) }
    }
}

#[doc(hidden)]
pub mod bench {
    //! The JSON step encoding the compact one was measured against
    //! (`cargo run --release -p vpc-imds-c --example encoding`).
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct SendJson<'a> {
        step: &'static str,
        conn: u64,
        fresh: bool,
        connect_timeout_ms: u64,
        deadline_ms: u64,
        request: &'a str,
    }

    #[derive(Serialize)]
    struct RecordJson<'a> {
        step: &'static str,
        r#type: &'static str,
        record: &'a Record,
    }

    /// Writes `step` as one JSON object (streamed), records with their `Serialize`.
    pub fn encode_json(step: Step, out: &mut Vec<u8>) -> i32 {
        out.clear();
        let written = match &step {
            Step::Send(t) => serde_json::to_writer(
                &mut *out,
                &SendJson {
                    step: "send",
                    conn: t.conn.0,
                    fresh: t.fresh,
                    connect_timeout_ms: millis(t.request.connect_timeout()),
                    deadline_ms: t.request.deadline().as_millis(),
                    request: std::str::from_utf8(t.request.wire()).unwrap_or(""),
                },
            ),
            Step::Done(record) | Step::Page(record) => serde_json::to_writer(
                &mut *out,
                &RecordJson {
                    step: "done",
                    r#type: record.type_name(),
                    record,
                },
            ),
            Step::Failed(e) => serde_json::to_writer(&mut *out, &ErrorRecord::from(e)),
            _ => serde_json::to_writer(&mut *out, "other"),
        };
        if written.is_err() {
            out.clear();
        }
        match step {
            Step::Send(_) => VPC_IMDS_SEND,
            Step::Done(_) => VPC_IMDS_DONE,
            _ => VPC_IMDS_FAILED,
        }
    }
}
