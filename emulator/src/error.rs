//! IBM-shaped error responses:
//! `{"errors":[{"code","message","target"?}],"status_code":N,"trace":"<uuid>"}`.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Map, Value};

/// Where an error points: a body field, a query parameter, a header or a path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetType {
    Field,
    Query,
    Header,
    Path,
}

impl TargetType {
    fn as_str(self) -> &'static str {
        match self {
            TargetType::Field => "field",
            TargetType::Query => "query",
            TargetType::Header => "header",
            TargetType::Path => "path",
        }
    }
}

/// One error answer, before it gets a trace ID and is rendered.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    target: Option<Box<(String, TargetType, Option<String>)>>,
    retry_after: Option<u32>,
    retry_after_repeat: Option<u32>,
    allow: Option<&'static str>,
    close: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            target: None,
            retry_after: None,
            retry_after_repeat: None,
            allow: None,
            close: false,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("The method is not allowed for this path; use {allow}."),
        );
        e.allow = Some(allow);
        e
    }

    /// `invalid_value` for a request property, echoing the offending value.
    pub fn invalid_value(
        name: &str,
        kind: TargetType,
        value: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::bad_request("invalid_value", message).with_target(name, kind, value)
    }

    pub fn with_target(mut self, name: &str, kind: TargetType, value: Option<String>) -> Self {
        self.target = Some(Box::new((name.to_owned(), kind, value)));
        self
    }

    pub fn with_retry_after(mut self, secs: Option<u32>) -> Self {
        self.retry_after = secs;
        self
    }

    /// A second `Retry-After` line (after the first, if any).
    pub fn with_retry_after_repeat(mut self, secs: Option<u32>) -> Self {
        self.retry_after_repeat = secs;
        self
    }

    /// Answer with `Connection: close`: the connection is not reused.
    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// Renders the response with trace ID `trace`.
    pub fn into_response(self, trace: &str) -> Response<Full<Bytes>> {
        self.render(trace, |_| {})
    }

    /// Like [`ApiError::into_response`], letting the caller add members to the body.
    pub fn render(
        self,
        trace: &str,
        extend: impl FnOnce(&mut Map<String, Value>),
    ) -> Response<Full<Bytes>> {
        let mut error = Map::new();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.into());
        if let Some(target) = self.target {
            let (name, kind, value) = *target;
            let mut t = Map::new();
            t.insert("name".into(), name.into());
            t.insert("type".into(), kind.as_str().into());
            if let Some(v) = value {
                t.insert("value".into(), v.into());
            }
            error.insert("target".into(), Value::Object(t));
        }
        let mut body = Map::new();
        body.insert("errors".into(), json!([error]));
        body.insert("status_code".into(), self.status.as_u16().into());
        body.insert("trace".into(), trace.into());
        extend(&mut body);
        let body = Value::Object(body);
        let mut resp = crate::api::json_response(self.status, Bytes::from(body.to_string()));
        for secs in [self.retry_after, self.retry_after_repeat]
            .into_iter()
            .flatten()
        {
            resp.headers_mut()
                .append(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = self.allow {
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.close {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}
