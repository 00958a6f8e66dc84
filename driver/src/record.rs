//! What a [`Machine`](crate::Machine) hands a host: owned results and one error
//! record, both `Serialize`, so each host converts them with its serde adapter.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::ser::{Error as _, Serialize, SerializeSeq, SerializeStruct, Serializer};
use vpc_imds_core::error::Error;
use vpc_imds_core::operation::Spec;
use vpc_imds_core::output::Output;

use crate::json::JsonValue;
use crate::reply::TypedOutput;

/// A page or a result, owned: it does not borrow the machine.
#[derive(Clone)]
pub struct Record {
    value: Value,
}

#[derive(Clone)]
enum Value {
    /// A service document as received, the operation that parses it, and its JSON
    /// text when the machine wrote it on arrival.
    Document {
        spec: &'static Spec,
        body: Vec<u8>,
        text: Option<String>,
    },
    /// A part of a JSON document the machine writes (`get_all`'s merged pages).
    Json(Vec<u8>),
    /// User data bytes.
    Bytes(Vec<u8>),
    /// `authorized_keys` lines.
    Lines(Vec<String>),
    /// `wait_until_ready` succeeded.
    Ready,
}

impl Record {
    /// A document; with `output` (its model, just read from `body`), its JSON
    /// text is written now (a generic GET's body is its own text).
    pub(crate) fn document(spec: &'static Spec, body: &[u8], output: Option<&Output<'_>>) -> Self {
        #[cfg(feature = "records")]
        let text = output.and_then(|o| json_text(o, body.len()));
        // Hosts that do not take text carry no writer (every model's field table).
        #[cfg(not(feature = "records"))]
        let text = output.and(None);
        Record {
            value: Value::Document {
                spec,
                body: body.to_vec(),
                text,
            },
        }
    }
    pub(crate) fn json(body: Vec<u8>) -> Self {
        Record {
            value: Value::Json(body),
        }
    }
    pub(crate) fn bytes(bytes: Vec<u8>) -> Self {
        Record {
            value: Value::Bytes(bytes),
        }
    }
    pub(crate) fn from_lines(lines: Vec<String>) -> Self {
        Record {
            value: Value::Lines(lines),
        }
    }
    pub(crate) fn ready() -> Self {
        Record {
            value: Value::Ready,
        }
    }

    /// What the record holds: a model's type name (`instance`, `keys`, `raw` for a
    /// generic GET, ...), `json` (a part of `get_all`'s merged document: the parts
    /// concatenated are the document), `user_data` (bytes), `ssh_keys` (lines) or
    /// `ready`.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Document { spec, .. } => spec.output,
            Value::Json(_) => "json",
            Value::Bytes(_) => "user_data",
            Value::Lines(_) => "ssh_keys",
            Value::Ready => "ready",
        }
    }

    /// The bytes: a document's JSON body as received (de-chunked), the merged JSON
    /// of `get_all`, or the user data; empty for lines and `ready`.
    pub fn body(&self) -> &[u8] {
        match &self.value {
            Value::Document { body, .. } | Value::Json(body) | Value::Bytes(body) => body,
            Value::Lines(_) | Value::Ready => &[],
        }
    }

    /// Takes the bytes out (see [`body`](Self::body)).
    pub fn into_body(self) -> Vec<u8> {
        match self.value {
            Value::Document { body, .. } | Value::Json(body) | Value::Bytes(body) => body,
            Value::Lines(_) | Value::Ready => Vec::new(),
        }
    }

    /// The `authorized_keys` lines of `ssh_keys`.
    pub fn lines(&self) -> Option<&[String]> {
        match &self.value {
            Value::Lines(lines) => Some(lines),
            _ => None,
        }
    }

    /// A token's lifetime in seconds as the service stated it (a cached token: the
    /// seconds it has left).
    pub fn token_lifetime(&self) -> Option<u32> {
        if !matches!(self.type_name(), "identity_token" | "iam_token") {
            return None;
        }
        self.with_output(|output| match output {
            Output::IdentityToken(t) | Output::IamToken(t) => t.lifetime_secs(),
            _ => None,
        })
        .flatten()
    }

    /// Appends a typed document's JSON text to `out`, written directly: the same
    /// text its `Serialize` gives serde_json, in about half the time. `None` for the
    /// other records (a generic GET's JSON, bytes, lines, `ready`), which serialize
    /// as they are.
    pub fn write_json(&self, out: &mut String) -> Option<fmt::Result> {
        let Value::Document { spec, body, text } = &self.value else {
            return None;
        };
        if spec.output == "raw" {
            return None;
        }
        if let Some(text) = text {
            out.push_str(text);
            return Some(Ok(()));
        }
        out.reserve(body.len() + body.len() / 8);
        let written = self.with_output(|output| match output {
            Output::Raw(_) => None,
            typed => Some(typed.write_json(out)),
        });
        // A document that no longer parses cannot be written, as through serde.
        written.unwrap_or(Some(Err(fmt::Error)))
    }

    /// Runs `f` on the core's typed output of a document (parsed again from the
    /// owned body: a few microseconds, and nothing kept borrowed).
    pub fn with_output<R>(&self, f: impl FnOnce(&Output<'_>) -> R) -> Option<R> {
        let Value::Document { spec, body, .. } = &self.value else {
            return None;
        };
        let mut out = Output::Raw(b"");
        (spec.parse)(body, &mut out).ok()?;
        Some(f(&out))
    }
}

/// A typed output's JSON text (none for a raw body, its own text).
#[cfg(feature = "records")]
fn json_text(output: &Output<'_>, len: usize) -> Option<String> {
    if matches!(output, Output::Raw(_)) {
        return None;
    }
    let mut text = String::with_capacity(len + len / 8);
    output.write_json(&mut text).is_ok().then_some(text)
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies may hold tokens: only the type and the length.
        match &self.value {
            Value::Lines(lines) => write!(f, "Record(ssh_keys, {} lines)", lines.len()),
            _ => write!(
                f,
                "Record({}, {} bytes)",
                self.type_name(),
                self.body().len()
            ),
        }
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.value {
            // A generic GET's body was validated when it arrived: no second parse.
            Value::Document { spec, body, .. } if spec.output == "raw" => {
                JsonValue(body).serialize(s)
            }
            Value::Document { .. } => self
                .with_output(|output| match output {
                    Output::Raw(body) => JsonValue(body).serialize(s),
                    output => TypedOutput(output).serialize(s),
                })
                .unwrap_or_else(|| Err(S::Error::custom("a document that no longer parses"))),
            Value::Json(body) => JsonValue(body).serialize(s),
            Value::Bytes(bytes) => s.serialize_bytes(bytes),
            Value::Lines(lines) => {
                let mut seq = s.serialize_seq(Some(lines.len()))?;
                for line in lines {
                    seq.serialize_element(line)?;
                }
                seq.end()
            }
            Value::Ready => s.serialize_unit(),
        }
    }
}

/// One shape for every failure, in every host: serialized with these field names.
///
/// | field | meaning |
/// |---|---|
/// | `kind` | `invalid_input`, `refused`, `timed_out`, `connection_lost`, `unauthorized`, `not_found`, `rate_limited`, `server_error`, `rejected`, `bad_response` |
/// | `message` | one line for people (never a token) |
/// | `cause` | `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol`, `misuse` |
/// | `status` | the HTTP status the service answered with, or null |
/// | `retry_after` | the service's `Retry-After` in seconds, or null |
/// | `code` | IBM's error code (`errors[0].code`), or null |
/// | `api_message` | IBM's message (`errors[0].message`), or null |
/// | `target` | the field, header or parameter at fault (`errors[0].target.name`), or null |
/// | `trace` | IBM's trace id to quote to support, or null |
/// | `transport` | the transport failure (`refused`, `connect_timeout`, ...), or null |
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorRecord {
    /// The error kind's name.
    pub kind: &'static str,
    /// The message.
    pub message: String,
    /// The cause's word.
    pub cause: &'static str,
    /// HTTP status.
    pub status: Option<u16>,
    /// `Retry-After` seconds.
    pub retry_after: Option<u32>,
    /// IBM error code.
    pub code: Option<String>,
    /// IBM's message.
    pub api_message: Option<String>,
    /// The field, header or parameter at fault.
    pub target: Option<String>,
    /// IBM trace id.
    pub trace: Option<String>,
    /// Transport failure name.
    pub transport: Option<&'static str>,
}

impl From<&Error> for ErrorRecord {
    fn from(e: &Error) -> Self {
        let api = e.api();
        let text = |s: &str| (!s.is_empty()).then(|| String::from(s));
        ErrorRecord {
            kind: e.kind().as_str(),
            message: e.to_string(),
            cause: e.cause().as_str(),
            status: e.status(),
            retry_after: api.and_then(|a| a.retry_after),
            code: api.and_then(|a| text(&a.code)),
            api_message: api.and_then(|a| text(&a.message)),
            target: api.and_then(|a| text(&a.target)),
            trace: api.and_then(|a| text(&a.trace)),
            transport: e.cause().transport().map(|t| t.as_str()),
        }
    }
}

impl From<&crate::mime::UserDataError> for ErrorRecord {
    /// User data that cannot be decompressed or split is a `bad_response` (the data is
    /// the service's answer), with the driver's words for why.
    fn from(e: &crate::mime::UserDataError) -> Self {
        ErrorRecord {
            kind: vpc_imds_core::error::ErrorKind::BadResponse.as_str(),
            message: e.to_string(),
            cause: "protocol",
            status: None,
            retry_after: None,
            code: None,
            api_message: None,
            target: None,
            trace: None,
            transport: None,
        }
    }
}

impl Serialize for ErrorRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut r = s.serialize_struct("ErrorRecord", 10)?;
        r.serialize_field("kind", self.kind)?;
        r.serialize_field("message", &self.message)?;
        r.serialize_field("cause", self.cause)?;
        r.serialize_field("status", &self.status)?;
        r.serialize_field("retry_after", &self.retry_after)?;
        r.serialize_field("code", &self.code)?;
        r.serialize_field("api_message", &self.api_message)?;
        r.serialize_field("target", &self.target)?;
        r.serialize_field("trace", &self.trace)?;
        r.serialize_field("transport", &self.transport)?;
        r.end()
    }
}
