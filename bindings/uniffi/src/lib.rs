#![deny(missing_docs)]
#![forbid(unsafe_code)]
// Errors carry IBM's message inline (as in the core).
#![allow(clippy::result_large_err)]
//! uniffi bindings of vpc-imds: the host driver ([`vpc_imds_driver::Driver`]) for
//! Kotlin on the JVM (and other uniffi targets).
//!
//! Host glue only. [`ImdsClient`] runs one operation per call by looping
//! [`Driver::step`](vpc_imds_driver::Driver::step) and handing each request to a
//! transport the foreign side implements ([`Transport`], or [`AsyncTransport`] for
//! the `suspend` entry points): Kotlin's default sends with `java.net.http.HttpClient`
//! and never a proxy. [`StepDriver`] exposes the step function itself, for hosts
//! that run their own loop (and for the shared test vectors). Every protocol
//! decision (tokens, retries, deadlines, pages, settings) is the driver's and the
//! core's; this crate converts values and errors, sleeps and waits.
//!
//! Results are [`Document`]s holding the reply's JSON (the driver's `Serialize`
//! form, IBM's field names) rather than one uniffi record per model: the models
//! stay defined once (in the core), every JSON library of the host can read them,
//! and a new field or model needs no binding change. Tokens come back as
//! [`AccessToken`] objects whose `toString()` never shows the token.

use std::fmt;
use std::time::Duration;

use vpc_imds_driver::core::error::Cause;
use vpc_imds_driver::core::response::parse_retry_after;
use vpc_imds_driver::{Error, ErrorKind, InputError, OwnedRequest, Reply, Settings};

mod client;
mod stepper;

pub use client::{AsyncTransport, ImdsClient, Pages, Transport};
pub use stepper::{DriverStep, OperationArgs, StepDriver};

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

impl From<&str> for InputText {
    fn from(s: &str) -> Self {
        InputText(s.to_owned())
    }
}

impl From<String> for InputText {
    fn from(s: String) -> Self {
        InputText(s)
    }
}

impl From<InputText> for String {
    fn from(s: InputText) -> Self {
        s.0
    }
}

/// What a user configures; `None` keeps the default (connect 1 s, request 5 s,
/// operation 15 s, 4 attempts, backoff 100 ms..2 s, 1 MiB responses, API version
/// 2025-08-26, token lifetime 300 s). Checked once, by the driver.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct ImdsSettings {
    /// `http://HOST[:PORT]` or `https://HOST[:PORT]` (default `http://169.254.169.254`).
    #[uniffi(default)]
    pub endpoint: Option<InputText>,
    /// The value of `VPC_IMDS_ENDPOINT`, as the host read it (used when `endpoint` is unset).
    #[uniffi(default)]
    pub env_endpoint: Option<InputText>,
    /// Secure access: `https://api.metadata.cloud.ibm.com` by default, and an
    /// `http://` endpoint is upgraded to `https://`.
    #[uniffi(default = false)]
    pub secure: bool,
    /// API version date `YYYY-MM-DD`.
    #[uniffi(default)]
    pub version: Option<InputText>,
    /// Identity token lifetime in seconds (5..=3600).
    #[uniffi(default)]
    pub token_lifetime: Option<u32>,
    /// Whole operation, retries included; also caps the other two.
    #[uniffi(default)]
    pub timeout: Option<Duration>,
    /// One connect.
    #[uniffi(default)]
    pub connect_timeout: Option<Duration>,
    /// One request, sent to answered.
    #[uniffi(default)]
    pub request_timeout: Option<Duration>,
    /// Attempts per request, the first included (1..=255).
    #[uniffi(default)]
    pub max_attempts: Option<u32>,
    /// First backoff step.
    #[uniffi(default)]
    pub base_delay: Option<Duration>,
    /// Largest backoff step.
    #[uniffi(default)]
    pub max_delay: Option<Duration>,
    /// Largest response accepted, in bytes (1 KiB..=256 MiB).
    #[uniffi(default)]
    pub max_response_bytes: Option<u64>,
}

impl ImdsSettings {
    fn build(&self) -> Result<vpc_imds_driver::DriverConfig, ImdsError> {
        let bytes = match self.max_response_bytes {
            None => None,
            Some(n) => Some(usize::try_from(n).map_err(|_| {
                ImdsError::from(Error::from(InputError::OutOfRange {
                    what: "max_response_bytes",
                    min: 0,
                    max: u64::MAX,
                }))
            })?),
        };
        Settings {
            endpoint: self.endpoint.clone().map(String::from),
            env_endpoint: self.env_endpoint.clone().map(String::from),
            secure: self.secure,
            version: self.version.clone().map(String::from),
            token_lifetime: self.token_lifetime,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            max_attempts: self.max_attempts,
            base_delay: self.base_delay,
            max_delay: self.max_delay,
            max_response_bytes: bytes,
        }
        .build()
        .map_err(|e| Error::from(e).into())
    }
}

/// A failed operation: one variant per error kind, each with the same details.
/// The text never holds a token.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Error)]
pub enum ImdsError {
    /// Bad input (settings, ids, paths, profile names); nothing was sent.
    InvalidInput {
        /// What went wrong.
        text: String,
        /// Why: `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol`, `misuse`.
        reason: String,
        /// HTTP status of an error answer.
        status: Option<u16>,
        /// IBM's error code.
        code: Option<String>,
        /// IBM's error message.
        api_message: Option<String>,
        /// IBM's trace id.
        trace: Option<String>,
        /// The field, header or parameter at fault.
        target: Option<String>,
        /// The `Retry-After` seconds the service asked for.
        retry_after: Option<u32>,
    },
    /// Nothing listens at the endpoint, or it cannot be reached.
    Refused {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
    /// A deadline passed.
    TimedOut {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
    /// The connection dropped before a whole response.
    ConnectionLost {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
    /// 401 (after the one forced token refresh).
    Unauthorized {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
    /// 404.
    NotFound {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
    /// 429 after the retries.
    RateLimited {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
    /// 5xx after the retries.
    ServerError {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
    /// Another 4xx (the request was refused as it stands).
    Rejected {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
    /// The answer could not be understood (malformed, truncated, too large).
    BadResponse {
        /// See `InvalidInput`.
        text: String,
        /// See `InvalidInput`.
        reason: String,
        /// See `InvalidInput`.
        status: Option<u16>,
        /// See `InvalidInput`.
        code: Option<String>,
        /// See `InvalidInput`.
        api_message: Option<String>,
        /// See `InvalidInput`.
        trace: Option<String>,
        /// See `InvalidInput`.
        target: Option<String>,
        /// See `InvalidInput`.
        retry_after: Option<u32>,
    },
}

impl ImdsError {
    /// The error's text.
    pub fn text(&self) -> &str {
        match self {
            ImdsError::InvalidInput { text, .. }
            | ImdsError::Refused { text, .. }
            | ImdsError::TimedOut { text, .. }
            | ImdsError::ConnectionLost { text, .. }
            | ImdsError::Unauthorized { text, .. }
            | ImdsError::NotFound { text, .. }
            | ImdsError::RateLimited { text, .. }
            | ImdsError::ServerError { text, .. }
            | ImdsError::Rejected { text, .. }
            | ImdsError::BadResponse { text, .. } => text,
        }
    }

    pub(crate) fn misuse(what: &'static str) -> ImdsError {
        Error::new(ErrorKind::InvalidInput, Cause::Misuse(what)).into()
    }
}

impl fmt::Display for ImdsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for ImdsError {}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl From<Error> for ImdsError {
    fn from(e: Error) -> Self {
        let api = e.api();
        let text = e.to_string();
        let reason = e.cause().as_str().to_owned();
        let status = api.map(|a| a.status);
        let code = api.and_then(|a| some(&a.code));
        let api_message = api.and_then(|a| some(&a.message));
        let trace = api.and_then(|a| some(&a.trace));
        let target = api.and_then(|a| some(&a.target));
        let retry_after = api.and_then(|a| a.retry_after);
        macro_rules! variant {
            ($v:ident) => {
                ImdsError::$v {
                    text,
                    reason,
                    status,
                    code,
                    api_message,
                    trace,
                    target,
                    retry_after,
                }
            };
        }
        match e.kind() {
            ErrorKind::InvalidInput => variant!(InvalidInput),
            ErrorKind::Refused => variant!(Refused),
            ErrorKind::TimedOut => variant!(TimedOut),
            ErrorKind::ConnectionLost => variant!(ConnectionLost),
            ErrorKind::Unauthorized => variant!(Unauthorized),
            ErrorKind::NotFound => variant!(NotFound),
            ErrorKind::RateLimited => variant!(RateLimited),
            ErrorKind::ServerError => variant!(ServerError),
            ErrorKind::Rejected => variant!(Rejected),
            _ => variant!(BadResponse),
        }
    }
}

impl From<InputError> for ImdsError {
    fn from(e: InputError) -> Self {
        Error::from(e).into()
    }
}

/// The error kind's name (`invalid_input`, `refused`, `timed_out`, ...), as the
/// test vectors and the other bindings spell it.
#[uniffi::export]
pub fn error_kind(error: &ImdsError) -> String {
    match error {
        ImdsError::InvalidInput { .. } => "invalid_input",
        ImdsError::Refused { .. } => "refused",
        ImdsError::TimedOut { .. } => "timed_out",
        ImdsError::ConnectionLost { .. } => "connection_lost",
        ImdsError::Unauthorized { .. } => "unauthorized",
        ImdsError::NotFound { .. } => "not_found",
        ImdsError::RateLimited { .. } => "rate_limited",
        ImdsError::ServerError { .. } => "server_error",
        ImdsError::Rejected { .. } => "rejected",
        ImdsError::BadResponse { .. } => "bad_response",
    }
    .to_owned()
}

/// How a request failed in the transport (the foreign side throws one of these;
/// the driver decides whether to retry).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Error)]
pub enum TransportError {
    /// Connection refused (nothing listens there).
    Refused {
        /// For the host's own logs.
        detail: String,
    },
    /// No route to the host, no address.
    Unreachable {
        /// For the host's own logs.
        detail: String,
    },
    /// Not connected within the request's connect timeout.
    ConnectTimeout {
        /// For the host's own logs.
        detail: String,
    },
    /// No whole response by the request's deadline.
    ResponseTimeout {
        /// For the host's own logs.
        detail: String,
    },
    /// The connection closed or reset before a whole response.
    ConnectionLost {
        /// For the host's own logs.
        detail: String,
    },
    /// The TLS handshake failed.
    Tls {
        /// For the host's own logs.
        detail: String,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, detail) = self.parts();
        write!(f, "{}: {detail}", kind.as_str())
    }
}

impl std::error::Error for TransportError {}

impl TransportError {
    fn parts(&self) -> (vpc_imds_driver::TransportError, &str) {
        use vpc_imds_driver::TransportError as T;
        match self {
            TransportError::Refused { detail } => (T::Refused, detail),
            TransportError::Unreachable { detail } => (T::Unreachable, detail),
            TransportError::ConnectTimeout { detail } => (T::ConnectTimeout, detail),
            TransportError::ResponseTimeout { detail } => (T::ResponseTimeout, detail),
            TransportError::ConnectionLost { detail } => (T::ConnectionLost, detail),
            TransportError::Tls { detail } => (T::Tls, detail),
        }
    }

    pub(crate) fn kind(&self) -> vpc_imds_driver::TransportError {
        self.parts().0
    }
}

/// An exception the foreign transport threw that is not a [`TransportError`]:
/// the connection is treated as lost (the driver may retry).
impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::ConnectionLost { detail: e.reason }
    }
}

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
        if self.secret {
            let scheme = self.value.split(' ').next().unwrap_or("");
            write!(f, "{}: {scheme} <redacted>", self.name)
        } else {
            write!(f, "{}: {}", self.name, self.value)
        }
    }
}

impl fmt::Debug for HttpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
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
}

impl HttpRequest {
    pub(crate) fn from_owned(r: &OwnedRequest) -> Self {
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

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A whole response as the foreign HTTP library received it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` header's value, if any (parsed by the core).
    #[uniffi(default)]
    pub retry_after: Option<String>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub(crate) fn retry_after_secs(&self) -> Option<u32> {
        self.retry_after
            .as_deref()
            .and_then(|v| parse_retry_after(v.as_bytes()))
    }
}

impl fmt::Display for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a token.
        write!(
            f,
            "HttpResponse({}, {} bytes)",
            self.status,
            self.body.len()
        )
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

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
    pub(crate) fn from_reply(reply: &Reply<'_>) -> Result<Document, ImdsError> {
        let json = serde_json::to_string(reply).map_err(|_| {
            ImdsError::from(Error::new(
                ErrorKind::BadResponse,
                Cause::Protocol("the reply could not be written as JSON"),
            ))
        })?;
        Ok(Document {
            type_name: reply.type_name().to_owned(),
            json,
        })
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Document({}, {} bytes of JSON)",
            self.type_name,
            self.json.len()
        )
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An identity or IAM token. `toString()` never shows the token.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct AccessToken {
    secret: String,
    expires_in: Option<u32>,
    expires_at: Option<String>,
    created_at: Option<String>,
}

impl AccessToken {
    pub(crate) fn from_document(doc: &Document) -> Result<AccessToken, ImdsError> {
        let bad = || {
            ImdsError::from(Error::new(
                ErrorKind::BadResponse,
                Cause::Protocol("a token reply without access_token"),
            ))
        };
        let v: serde_json::Value = serde_json::from_str(&doc.json).map_err(|_| bad())?;
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        Ok(AccessToken {
            secret: text("access_token").ok_or_else(bad)?,
            expires_in: v
                .get("expires_in")
                .and_then(|x| x.as_u64())
                .and_then(|n| u32::try_from(n).ok()),
            expires_at: text("expires_at"),
            created_at: text("created_at"),
        })
    }
}

#[uniffi::export]
impl AccessToken {
    /// The token itself (a JWT), to send as `Authorization: Bearer ...`.
    pub fn secret(&self) -> String {
        self.secret.clone()
    }

    /// Its lifetime in seconds, as the service stated it.
    pub fn expires_in(&self) -> Option<u32> {
        self.expires_in
    }

    /// When it expires (RFC 3339), if stated.
    pub fn expires_at(&self) -> Option<String> {
        self.expires_at.clone()
    }

    /// When it was created (RFC 3339), if stated.
    pub fn created_at(&self) -> Option<String> {
        self.created_at.clone()
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

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Merges a list's pages into one document (the first page's members, every
/// list concatenated, no `next`), as `get_all` does.
#[uniffi::export]
pub fn merge_pages(pages: Vec<InputText>) -> Result<String, ImdsError> {
    let merged = vpc_imds_driver::merge_pages(pages.iter().map(|p| p.as_bytes()))
        .map_err(|_| bad_response("a page is not a JSON object"))?;
    String::from_utf8(merged).map_err(|_| bad_response("a page is not UTF-8"))
}

/// One leaf part of MIME multi-part user data (as cloud-init writes it), its body
/// decoded. `toString()` shows the type, file name and size only.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display)]
pub struct UserDataPart {
    /// The media type, lower case (`text/plain` when absent).
    pub content_type: String,
    /// The file name, if any.
    pub filename: Option<String>,
    /// The declared charset, if any.
    pub charset: Option<String>,
    /// The decoded body (base64 and quoted-printable undone).
    pub payload: Vec<u8>,
}

impl fmt::Display for UserDataPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserDataPart({}", self.content_type)?;
        if let Some(name) = &self.filename {
            write!(f, ", {name}")?;
        }
        write!(f, ", {} bytes)", self.payload.len())
    }
}

impl fmt::Debug for UserDataPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn user_data_error(e: vpc_imds_driver::UserDataError) -> ImdsError {
    use vpc_imds_driver::UserDataError as U;
    bad_response(match e {
        U::Gzip(why) | U::Mime(why) => why,
        U::TooLarge(_) => "decompressed user data exceeds the limit",
        U::NotMultipart => "user data is not MIME multi-part",
        U::Base64 => "a MIME part holds invalid base64",
        _ => "user data could not be decoded",
    })
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

/// The leaf parts of MIME multi-part user data, in order (nested documents
/// descended into), decompressing gzip first; `None` when it is not multi-part.
#[uniffi::export]
pub fn user_data_parts(user_data: Vec<u8>) -> Result<Option<Vec<UserDataPart>>, ImdsError> {
    let plain = if vpc_imds_driver::is_gzip(&user_data) {
        user_data_gunzip(user_data, None)?
    } else {
        user_data
    };
    match vpc_imds_driver::leaf_parts(&plain) {
        Ok(parts) => Ok(Some(
            parts
                .into_iter()
                .map(|p| UserDataPart {
                    content_type: p.content_type,
                    filename: p.filename,
                    charset: p.charset,
                    payload: p.payload,
                })
                .collect(),
        )),
        Err(vpc_imds_driver::UserDataError::NotMultipart) => Ok(None),
        Err(e) => Err(user_data_error(e)),
    }
}

pub(crate) fn bad_response(what: &'static str) -> ImdsError {
    Error::new(ErrorKind::BadResponse, Cause::Protocol(what)).into()
}
