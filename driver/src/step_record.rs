//! [`StepRecord`]: a machine step as one record, the form the JavaScript hosts read
//! (the napi addon and the WebAssembly module write it as JSON text with
//! [`StepRecord::to_json`]), so every such host sees the same fields with the same
//! names. Its members are serde's; its document is written directly (the core's
//! JSON writer, half serde's time), so no model's serde code is in those hosts.
//!
//! What is not JSON text stays out of the record, in a payload the host takes
//! separately: a request's HTTP/1.1 bytes, user data, a generic GET's body as the
//! service sent it, and a part of `get_all`'s merged document. The record names the
//! payload's field: `take_bytes` (its bytes go in that field) or `take_text` (its
//! UTF-8 text does).
//!
//! ```
//! use vpc_imds_driver::{DriverConfig, Instant, LocalMachine, MachineInput, Settings, StepRecord};
//! let config = Settings { endpoint: Some("http://127.0.0.1:8080".into()), ..Settings::default() }.build()?;
//! let mut machine = LocalMachine::new(config, 7);
//! let op = machine.start_named("instance", &Default::default(), Instant::from_millis(0))?;
//! let step = machine.step(op, Instant::from_millis(0), MachineInput::Tick);
//! let mut payload = Vec::new();
//! let record = StepRecord::new(&step, Vec::new(), false, &mut payload);
//! assert_eq!(record.kind, vpc_imds_driver::step_record::kind::SEND);
//! assert_eq!(record.take_bytes, Some("wire"));
//! assert!(payload.starts_with(b"PUT /identity/v1/token"));
//! # Ok::<(), vpc_imds_driver::Error>(())
//! ```

use alloc::vec::Vec;

use serde::Serialize;
use vpc_imds_core::error::Cause;

use crate::machine::Step;
use crate::record::{ErrorRecord, Record};
use crate::{Error, ErrorKind};

/// Step kinds, the same numbers in every host that numbers them.
pub mod kind {
    /// [`Step::Send`](crate::MachineStep::Send).
    pub const SEND: u8 = 0;
    /// [`Step::Read`](crate::MachineStep::Read).
    pub const READ: u8 = 1;
    /// [`Step::Close`](crate::MachineStep::Close).
    pub const CLOSE: u8 = 2;
    /// [`Step::Backoff`](crate::MachineStep::Backoff).
    pub const BACKOFF: u8 = 3;
    /// [`Step::AwaitToken`](crate::MachineStep::AwaitToken).
    pub const AWAIT: u8 = 4;
    /// [`Step::Page`](crate::MachineStep::Page).
    pub const PAGE: u8 = 5;
    /// [`Step::Done`](crate::MachineStep::Done).
    pub const DONE: u8 = 6;
    /// [`Step::Failed`](crate::MachineStep::Failed).
    pub const FAILED: u8 = 7;
}

/// One step of one operation (see the module docs). Absent fields are left out.
/// `Debug` shows the kind and its connection only: the headers hold the token.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord<'a> {
    /// One of [`kind`].
    pub kind: u8,
    /// Operations whose token wait ended with this step: step them now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub woken: Option<Vec<u64>>,
    /// Send / Close: the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conn: Option<u64>,
    /// Send: connect `conn` first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh: Option<bool>,
    /// Send, with parts: the method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'a str>,
    /// Send, with parts: the absolute URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    /// Send, with parts: path and query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'a str>,
    /// Send, with parts: `[name, value]` in order (`Host` and `Content-Length` left
    /// to the host's HTTP stack); an `Authorization` value holds the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<[&'a str; 2]>>,
    /// Send, with parts: the JSON body, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    /// Send: the exchange's deadline; Backoff / Await: when to step again (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// Send: time left for the exchange (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Send: the connect timeout (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<u64>,
    /// Page / Done: the record's type (`instance`, `raw`, `json`, `user_data`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_name: Option<&'static str>,
    /// Page / Done: a typed document (IBM's field names), SSH key lines, or null:
    /// `value`, written by [`to_json`](Self::to_json) after the other members.
    #[serde(skip)]
    pub value: Option<Document<'a>>,
    /// Done of a token: its lifetime in seconds as the core judges it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u32>,
    /// The field the payload's bytes belong in (`wire`, `bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take_bytes: Option<&'static str>,
    /// The field the payload's UTF-8 text belongs in (`json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take_text: Option<&'static str>,
    /// Failed: the error record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

/// A record's document: the typed model it is, SSH key lines, or `ready`.
#[derive(Debug)]
pub struct Document<'a>(&'a Record);

impl core::fmt::Debug for StepRecord<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StepRecord")
            .field("kind", &self.kind)
            .field("conn", &self.conn)
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

impl<'a> Document<'a> {
    /// The record the document is of.
    pub fn record(&self) -> &'a Record {
        self.0
    }
}

impl<'a> StepRecord<'a> {
    /// The record as JSON text: serde's members, then `value` written directly (a
    /// typed model by the core's writer, the same text serde_json would write). A
    /// record that cannot be written becomes [`unrepresentable`](Self::unrepresentable)'s.
    #[cfg(feature = "records")]
    pub fn to_json(mut self) -> alloc::string::String {
        let unrepresentable =
            || serde_json::to_string(&StepRecord::unrepresentable()).unwrap_or_default();
        let Ok(mut text) = serde_json::to_string(&self) else {
            return unrepresentable();
        };
        let Some(document) = self.value.take().map(|d| d.record()) else {
            return text;
        };
        text.pop(); // the object's closing brace
        text.push_str(",\"value\":");
        let written = match document.lines() {
            Some(lines) => serde_json::to_string(lines)
                .map(|l| text.push_str(&l))
                .is_ok(),
            None if document.type_name() == "ready" => {
                text.push_str("null");
                true
            }
            None => matches!(document.write_json(&mut text), Some(Ok(()))),
        };
        if !written {
            return unrepresentable();
        }
        text.push('}');
        text
    }

    /// `step` as a record, `woken` included; with `parts`, a Send carries the
    /// request's parts (for hosts with their own HTTP stack). The payload is
    /// written to `payload` (cleared first).
    pub fn new(step: &'a Step, woken: Vec<u64>, parts: bool, payload: &mut Vec<u8>) -> Self {
        payload.clear();
        let mut out = match step {
            Step::Send(t) => {
                let r = &t.request;
                payload.extend_from_slice(r.wire());
                let mut out = StepRecord {
                    conn: Some(t.conn.0),
                    fresh: Some(t.fresh),
                    until: Some(r.deadline().as_millis()),
                    timeout: Some(millis(r.timeout())),
                    connect_timeout: Some(millis(r.connect_timeout())),
                    take_bytes: Some("wire"),
                    ..StepRecord::of(kind::SEND)
                };
                if parts {
                    out.method = Some(r.method().as_str());
                    out.url = Some(r.url());
                    out.target = Some(r.target());
                    out.headers = Some(r.headers().iter().map(|h| [h.name, &*h.value]).collect());
                    out.body = r.body();
                }
                out
            }
            Step::Read => StepRecord::of(kind::READ),
            Step::Close(conn) => StepRecord {
                conn: Some(conn.0),
                ..StepRecord::of(kind::CLOSE)
            },
            Step::Backoff(until) => StepRecord {
                until: Some(until.as_millis()),
                ..StepRecord::of(kind::BACKOFF)
            },
            Step::AwaitToken(until) => StepRecord {
                until: Some(until.as_millis()),
                ..StepRecord::of(kind::AWAIT)
            },
            Step::Page(r) => StepRecord::document(kind::PAGE, r, payload),
            Step::Done(r) => StepRecord::document(kind::DONE, r, payload),
            Step::Failed(e) => StepRecord::failed(e),
        };
        if !woken.is_empty() {
            out.woken = Some(woken);
        }
        out
    }

    /// A failed step's record.
    pub fn failed(e: &Error) -> Self {
        StepRecord {
            error: Some(ErrorRecord::from(e)),
            ..StepRecord::of(kind::FAILED)
        }
    }

    /// The record of a step that a host could not represent (a body that is not
    /// UTF-8, or a document its serializer refused): `bad_response`.
    pub fn unrepresentable() -> Self {
        let why = Cause::Protocol("the document cannot be represented");
        StepRecord::failed(&Error::new(ErrorKind::BadResponse, why))
    }

    fn of(kind: u8) -> Self {
        StepRecord {
            kind,
            ..StepRecord::default()
        }
    }

    fn document(kind: u8, r: &'a Record, payload: &mut Vec<u8>) -> Self {
        let mut out = StepRecord {
            type_name: Some(r.type_name()),
            lifetime: r.token_lifetime(),
            ..StepRecord::of(kind)
        };
        match r.type_name() {
            "user_data" => {
                payload.extend_from_slice(r.body());
                out.take_bytes = Some("bytes");
            }
            "raw" | "json" => {
                if core::str::from_utf8(r.body()).is_err() {
                    return StepRecord::unrepresentable();
                }
                payload.extend_from_slice(r.body());
                out.take_text = Some("json");
            }
            _ => out.value = Some(Document(r)),
        }
        out
    }
}

fn millis(d: core::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
