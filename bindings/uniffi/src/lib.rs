#![deny(missing_docs)]
// No unsafe code but `Bytes`' FFI converter (an `unsafe impl` of uniffi's trait).
#![deny(unsafe_code)]
// Errors carry IBM's message inline (as in the core).
#![allow(clippy::result_large_err)]
//! uniffi bindings of vpc-imds: the driver's client machine
//! ([`vpc_imds_driver::Machine`]) for Kotlin on the JVM (and other uniffi targets).
//!
//! Host glue only. [`ImdsClient`] holds one machine, shared by every thread and
//! coroutine calling it; each call steps its own operation and hands each request
//! to a transport the foreign side implements ([`Transport`], or [`AsyncTransport`]
//! for the `suspend` entry points): Kotlin's default sends with
//! `java.net.http.HttpClient` and never a proxy. [`Machine`] exposes the
//! machine itself, for hosts that run their own loop (and for the
//! shared test vectors). Every decision (tokens, retries, deadlines, pages, merging,
//! user data, settings, errors) is the machine's; this crate converts values,
//! moves requests, sleeps and waits.
//!
//! Results are typed: one uniffi record per model of `api/vpc-imds.json`
//! (generated into `models.rs`), read from the driver record's JSON (its
//! `Serialize` form, IBM's field names). A generic GET gives a [`Document`] (the
//! JSON as received, every field IBM sends). Tokens come back as
//! [`AccessToken`] objects whose `toString()` never shows the token.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use vpc_imds_driver::core::error::Cause;
use vpc_imds_driver::{
    Error, ErrorKind, ErrorRecord, InputError, MachineInput, OwnedRequest, Value,
};

mod client;
mod models;
mod stepper;
mod surface;

pub use client::{AsyncTransport, ImdsClient, Interruption, Pages, Transport};
pub use models::*;
pub use stepper::{ArgValue, Machine, MachineStep, StepInput};
pub use surface::*;

uniffi::setup_scaffolding!();

/// A string the caller passes in: an id, a path, a trusted profile, a CSR, a
/// setting. A `String` in every language; in Kotlin its converter first runs
/// `checkedText` (`VpcImds.kt`, named in `uniffi.toml`), so that a lone UTF-16
/// surrogate, which has no UTF-8 form, is `ImdsException.InvalidInput` with
/// nothing sent, as in every other binding, and never the JDK's
/// `MalformedInputException` from uniffi's string lowering.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct InputText(pub String);

uniffi::custom_newtype!(InputText, String);

impl std::ops::Deref for InputText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// A host value handed to the driver's by-name setters as it is (the driver
/// checks and converts every one the same way in every binding).
pub(crate) trait ToValue {
    fn value(&self) -> Value<'_>;
}

impl ToValue for bool {
    fn value(&self) -> Value<'_> {
        Value::Bool(*self)
    }
}

impl ToValue for u32 {
    fn value(&self) -> Value<'_> {
        Value::Int((*self).into())
    }
}

impl ToValue for u64 {
    fn value(&self) -> Value<'_> {
        // Saturated: the driver names the range.
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for Duration {
    fn value(&self) -> Value<'_> {
        Value::Float(self.as_secs_f64())
    }
}

impl ToValue for InputText {
    fn value(&self) -> Value<'_> {
        Value::Text(&self.0)
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn value(&self) -> Value<'_> {
        self.as_ref().map_or(Value::Null, ToValue::value)
    }
}

impl From<Error> for ImdsError {
    fn from(e: Error) -> Self {
        ErrorRecord::from(&e).into()
    }
}

impl From<InputError> for ImdsError {
    fn from(e: InputError) -> Self {
        Error::from(e).into()
    }
}

/// Defines [`TransportError`], one variant per transport failure of the core.
macro_rules! transport_error {
    ($($(#[$doc:meta])* $variant:ident,)*) => {
        /// How a request failed in the transport (the foreign side throws one of these;
        /// the machine decides whether to retry).
        #[derive(Clone, Debug, PartialEq, Eq, uniffi::Error)]
        pub enum TransportError {
            $($(#[$doc])* $variant {
                /// For the host's own logs.
                detail: String,
            },)*
        }

        impl TransportError {
            pub(crate) fn kind(&self) -> vpc_imds_driver::TransportError {
                match self { $(TransportError::$variant { .. } => vpc_imds_driver::TransportError::$variant,)* }
            }

            fn detail(&self) -> &str {
                match self { $(TransportError::$variant { detail })|* => detail }
            }
        }
    };
}

transport_error! {
    /// Connection refused (nothing listens there).
    Refused,
    /// No route to the host, no address.
    Unreachable,
    /// Not connected within the request's connect timeout.
    ConnectTimeout,
    /// No whole response by the request's deadline.
    ResponseTimeout,
    /// The connection closed or reset before a whole response.
    ConnectionLost,
    /// The TLS handshake failed.
    Tls,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind().as_str(), self.detail())
    }
}

impl std::error::Error for TransportError {}

/// An exception the foreign transport threw that is not a [`TransportError`]:
/// the connection is treated as lost (the driver may retry).
impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::ConnectionLost { detail: e.reason }
    }
}

/// `Debug` shows what `Display` shows (which never holds a token or a body).
macro_rules! debug_is_display {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    )*};
}

debug_is_display!(
    HttpHeader,
    HttpRequest,
    HttpResponse,
    Document,
    AccessToken,
    UserDataPart
);

/// One header to set on a request (`Host` and `Content-Length` are left to the
/// HTTP library). `toString()` redacts secret values.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display)]
pub struct HttpHeader {
    /// Canonical name, e.g. `Authorization`.
    pub name: String,
    /// The value (for `Authorization`, the token).
    pub value: String,
    /// Whether the value is a secret.
    pub secret: bool,
}

impl fmt::Display for HttpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        vpc_imds_driver::request::write_header(f, &self.name, &self.value, self.secret)
    }
}

/// A request the driver wants sent, to exactly this URL (never through a proxy,
/// never redirected). `toString()` redacts the token.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display)]
pub struct HttpRequest {
    /// Which request this is (a late answer to an older one is ignored).
    pub id: u64,
    /// `GET`, `PUT` or `POST`.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Path and query.
    pub target: String,
    /// The headers to set, in order.
    pub headers: Vec<HttpHeader>,
    /// The JSON body, if any.
    pub body: Option<String>,
    /// Time left for the whole exchange: the request's deadline.
    pub timeout: Duration,
    /// The connect timeout (never more than `timeout`).
    pub connect_timeout: Duration,
    /// The most body bytes worth reading: the client's `max_response_bytes` (a body
    /// longer than that is refused by the machine, so a transport may stop reading
    /// one byte past it).
    #[uniffi(default = 1048576)]
    pub max_bytes: u64,
}

impl HttpRequest {
    pub(crate) fn from_owned(r: &OwnedRequest, max_bytes: usize) -> Self {
        HttpRequest {
            id: r.id().0,
            method: r.method().as_str().to_owned(),
            url: r.url().to_owned(),
            target: r.target().to_owned(),
            headers: r
                .headers()
                .iter()
                .map(|h| HttpHeader {
                    name: h.name.to_owned(),
                    value: h.value.clone(),
                    secret: h.secret,
                })
                .collect(),
            body: r.body().map(str::to_owned),
            timeout: r.timeout(),
            connect_timeout: r.connect_timeout(),
            max_bytes: max_bytes as u64,
        }
    }
}

impl fmt::Display for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpRequest(#{} {} {}", self.id, self.method, self.url)?;
        for h in &self.headers {
            write!(f, ", {h}")?;
        }
        if let Some(b) = &self.body {
            write!(f, ", body={b}")?;
        }
        write!(f, ", timeout={} ms)", self.timeout.as_millis())
    }
}

/// A whole response as the foreign HTTP library received it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` field's value, if any (parsed by the core): its lines
    /// joined by ", ", as a repeated field is.
    #[uniffi(default)]
    pub retry_after: Option<String>,
    /// The body (de-chunked).
    pub body: Bytes,
    /// The `Transfer-Encoding` field's value, if any, joined the same way: the core
    /// refuses a coding other than `chunked` (the body was not decoded).
    #[uniffi(default)]
    pub transfer_encoding: Option<String>,
}

impl HttpResponse {
    /// The response as the machine's input (both fields judged by the core).
    pub(crate) fn input(&self) -> MachineInput<'_> {
        let (retry_after, te) = (
            self.retry_after.as_deref(),
            self.transfer_encoding.as_deref(),
        );
        MachineInput::response(self.status, retry_after, te, &self.body)
    }
}

impl fmt::Display for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a token.
        let (status, len) = (self.status, self.body.len());
        write!(f, "HttpResponse({status}, {len} bytes)")
    }
}

/// Bytes from the foreign side (a response body, bytes read), lifted with one copy.
///
/// A `ByteArray` in Kotlin, exactly as `Vec<u8>` (same metadata, so the generated
/// bindings do not change); uniffi 0.32 lifts a `Vec<u8>` one byte at a time
/// (a bounds check and a push per byte: about a fifth of the native side's time
/// for a cached GET of the instance, measured with perf on 2026-12-06).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

/// The same wire form as uniffi's `Vec<u8>` (an `i32` length, then the bytes),
/// written and read as one slice.
// SAFETY: `FfiType` is `RustBuffer`, as for `Vec<u8>`, and every byte is read
// through checked slice operations.
#[allow(unsafe_code)]
unsafe impl uniffi::FfiConverter<crate::UniFfiTag> for Bytes {
    type FfiType = uniffi::RustBuffer;

    fn lower(obj: Self) -> uniffi::RustBuffer {
        let mut buf = Vec::with_capacity(4 + obj.0.len());
        <Self as uniffi::FfiConverter<crate::UniFfiTag>>::write(obj, &mut buf);
        uniffi::RustBuffer::from_vec(buf)
    }

    fn try_lift(v: uniffi::RustBuffer) -> uniffi::Result<Self> {
        let vec = v.destroy_into_vec();
        let mut buf = vec.as_slice();
        let value = <Self as uniffi::FfiConverter<crate::UniFfiTag>>::try_read(&mut buf)?;
        if !buf.is_empty() {
            return Err(uniffi::deps::anyhow::anyhow!("junk after the bytes"));
        }
        Ok(value)
    }

    fn write(obj: Self, buf: &mut Vec<u8>) {
        // Lengths past i32::MAX cannot cross (as for `Vec<u8>`): saturated, the
        // foreign side then fails to read it instead of this side panicking.
        let len = i32::try_from(obj.0.len()).unwrap_or(i32::MAX);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&obj.0);
    }

    fn try_read(buf: &mut &[u8]) -> uniffi::Result<Self> {
        let (len, rest) = buf
            .split_first_chunk::<4>()
            .ok_or_else(|| uniffi::deps::anyhow::anyhow!("no length"))?;
        let len = usize::try_from(i32::from_be_bytes(*len))?;
        let bytes = rest
            .get(..len)
            .ok_or_else(|| uniffi::deps::anyhow::anyhow!("fewer bytes than the length"))?;
        *buf = &rest[len..];
        Ok(Bytes(bytes.to_vec()))
    }

    const TYPE_ID_META: uniffi::MetadataBuffer =
        <Vec<u8> as uniffi::TypeId<crate::UniFfiTag>>::TYPE_ID_META;
}

uniffi::derive_ffi_traits!(local Bytes);

/// A page or a result: the output's type (`instance`, `keys`, `raw`, ...) and its
/// JSON (IBM's field names, decoded strings; a generic GET's document as received).
/// `toString()` shows the type and size only.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display)]
pub struct Document {
    /// The output's type name, as the test vectors name it.
    pub type_name: String,
    /// The document as JSON.
    pub json: String,
}

impl Document {
    pub(crate) fn new(record: &vpc_imds_driver::Record) -> Result<Self, ImdsError> {
        let (type_name, json) = (record.type_name().to_owned(), client::json(record)?);
        Ok(Document { type_name, json })
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, len) = (&self.type_name, self.json.len());
        write!(f, "Document({name}, {len} bytes of JSON)")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expires_in {
            Some(s) => write!(f, "AccessToken(<redacted>, expires in {s} s)"),
            None => f.write_str("AccessToken(<redacted>)"),
        }
    }
}

/// Merges a list's pages into one document (the first page's members, every
/// list concatenated, no `next`), as `get_all` does.
#[uniffi::export]
pub fn merge_pages(pages: Vec<InputText>) -> Result<String, ImdsError> {
    let merged =
        vpc_imds_driver::merge_pages(pages.iter().map(|p| p.as_bytes())).map_err(Error::from)?;
    String::from_utf8(merged).map_err(|_| bad_response("a page is not UTF-8"))
}

/// A part of user data: a leaf of a MIME multi-part document (as cloud-init writes
/// it), its body decoded, or the whole data when it is not multi-part. `toString()`
/// shows the type, file name and size only.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display)]
pub struct UserDataPart {
    /// The media type, lower case; `null` for data that is not multi-part.
    pub content_type: Option<String>,
    /// The file name, if any.
    pub filename: Option<String>,
    /// The declared charset, if any.
    pub charset: Option<String>,
    /// The decoded body (base64 and quoted-printable undone).
    pub payload: Vec<u8>,
}

impl fmt::Display for UserDataPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UserDataPart({}",
            self.content_type.as_deref().unwrap_or("-")
        )?;
        if let Some(name) = &self.filename {
            write!(f, ", {name}")?;
        }
        write!(f, ", {} bytes)", self.payload.len())
    }
}

fn user_data_error(e: vpc_imds_driver::UserDataError) -> ImdsError {
    ErrorRecord::from(&e).into()
}

/// Whether user data bytes are gzip (the driver's rule).
#[uniffi::export]
pub fn user_data_is_gzip(user_data: Vec<u8>) -> bool {
    vpc_imds_driver::is_gzip(&user_data)
}

/// Decompresses gzip user data (every member, CRC checked), refusing more than
/// `limit` bytes of output (default 16 MiB); `bad_response` says why it failed.
#[uniffi::export(default(limit = None))]
pub fn user_data_gunzip(user_data: Vec<u8>, limit: Option<u64>) -> Result<Vec<u8>, ImdsError> {
    let limit = limit.map_or(vpc_imds_driver::mime::DEFAULT_GUNZIP_LIMIT, |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    });
    vpc_imds_driver::gunzip(&user_data, limit).map_err(user_data_error)
}

/// The parts of user data, as every binding gives them: gzip removed, then the leaf
/// parts of a MIME multi-part document in order (nested documents included, bodies
/// decoded), or the whole data as one part with no content type when it is not
/// multi-part; none when it is empty. `bad_response` says why it is malformed.
#[uniffi::export]
pub fn user_data_parts(user_data: Vec<u8>) -> Result<Vec<UserDataPart>, ImdsError> {
    let parts = vpc_imds_driver::user_data_parts(&user_data).map_err(user_data_error)?;
    Ok(parts
        .into_iter()
        .map(|p| UserDataPart {
            content_type: p.content_type,
            filename: p.filename,
            charset: p.charset,
            payload: p.payload,
        })
        .collect())
}

/// Whether user data (gzip removed) is a well-formed MIME multi-part document.
#[uniffi::export]
pub fn user_data_is_multipart(user_data: Vec<u8>) -> bool {
    vpc_imds_driver::is_multipart(&user_data)
}

/// The mutex's value, even after a panic in another thread poisoned it (no critical
/// section here leaves its value half changed).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn bad_response(what: &'static str) -> ImdsError {
    Error::new(ErrorKind::BadResponse, Cause::Protocol(what)).into()
}

/// A blocking call's end when its thread was interrupted (the JVM's own kind).
pub(crate) fn interrupted() -> ImdsError {
    ErrorRecord {
        kind: "interrupted",
        cause: "interrupted",
        message: "interrupted: the calling thread was interrupted".to_owned(),
        ..Default::default()
    }
    .into()
}

pub(crate) fn misuse(what: &'static str) -> ImdsError {
    Error::new(ErrorKind::InvalidInput, Cause::Misuse(what)).into()
}
