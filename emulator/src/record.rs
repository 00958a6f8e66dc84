//! Per-route counters and the request log, both readable through the control API.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How many requests the log keeps; older ones are forgotten.
pub const LOG_CAPACITY: usize = 1000;

/// Request counts since start (or the last reset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Every request the metadata service received.
    pub requests: u64,
    /// Identity tokens issued (`PUT .../token`, 200).
    pub token_creations: u64,
    /// IAM tokens issued (`POST .../iam_token(s)`, 200).
    pub iam_token_exchanges: u64,
    /// Identity certificates issued (`POST .../certificates`, 201).
    pub certificate_creations: u64,
    /// Successful `GET /metadata/v1/...` requests.
    pub metadata_gets: u64,
    /// 401 `unauthenticated` answers.
    pub unauthenticated: u64,
    /// Requests that met an injected fault (status, drop, black hole or raw body).
    pub faults_injected: u64,
    /// Requests per route, keyed like `GET /metadata/v1/keys/{id}`; `unmatched` for unknown paths.
    pub by_route: BTreeMap<String, u64>,
    /// Answers per HTTP status (dropped and black-holed requests are not answers).
    pub by_status: BTreeMap<u16, u64>,
}

/// One request as the log shows it. Tokens never appear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Sequence number, from 1.
    pub seq: u64,
    /// When it arrived (emulator clock, RFC 3339).
    pub at: String,
    /// HTTP method.
    pub method: String,
    /// Path and query, with token-like values replaced by `[REDACTED]`.
    pub path: String,
    /// `Bearer [REDACTED]` when an Authorization header was sent.
    pub authorization: Option<String>,
    /// Status sent, or `None` when no response head was sent (drop mid-headers, black hole).
    pub status: Option<u16>,
    /// The injected fault, if one applied, e.g. `status 503`, `drop mid_body`, `black_hole`, `body`.
    pub fault: Option<String>,
}

/// Outcome kinds the counters distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    TokenCreated,
    IamTokenIssued,
    CertificateIssued,
    MetadataServed,
    Other,
}

#[derive(Default)]
pub(crate) struct Recorder {
    counters: Counters,
    log: VecDeque<LoggedRequest>,
    seq: u64,
}

/// What one handled request contributes to the counters and the log.
pub(crate) struct Entry<'a> {
    pub at: String,
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub has_authorization: bool,
    pub route: &'static str,
    pub status: Option<u16>,
    pub outcome: Outcome,
    pub fault: Option<String>,
}

impl Recorder {
    pub fn record(&mut self, e: Entry<'_>) {
        let c = &mut self.counters;
        c.requests += 1;
        if let Some(n) = c.by_route.get_mut(e.route) {
            *n += 1;
        } else {
            c.by_route.insert(e.route.to_owned(), 1);
        }
        if let Some(status) = e.status {
            *c.by_status.entry(status).or_default() += 1;
            if status == 401 {
                c.unauthenticated += 1;
            }
        }
        if e.fault.is_some() {
            c.faults_injected += 1;
        } else {
            match e.outcome {
                Outcome::TokenCreated => c.token_creations += 1,
                Outcome::IamTokenIssued => c.iam_token_exchanges += 1,
                Outcome::CertificateIssued => c.certificate_creations += 1,
                Outcome::MetadataServed => c.metadata_gets += 1,
                Outcome::Other => {}
            }
        }
        self.seq += 1;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(LoggedRequest {
            seq: self.seq,
            at: e.at,
            method: e.method.to_owned(),
            path: redact(e.path_and_query),
            authorization: e.has_authorization.then(|| "Bearer [REDACTED]".to_owned()),
            status: e.status,
            fault: e.fault,
        });
    }

    pub fn counters(&self) -> Counters {
        self.counters.clone()
    }

    pub fn reset_counters(&mut self) {
        self.counters = Counters::default();
    }

    pub fn log(&self) -> Vec<LoggedRequest> {
        self.log.iter().cloned().collect()
    }

    pub fn clear_log(&mut self) {
        self.log.clear();
    }
}

const REDACTED: &str = "[REDACTED]";

/// Replaces anything that could be a token: JWT-shaped path segments or query
/// values, and the values of query keys that mention a token or a secret.
pub(crate) fn redact(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut out = path
        .split('/')
        .map(|seg| if looks_like_jwt(seg) { REDACTED } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    if let Some(query) = query {
        out.push('?');
        let pairs = query.split('&').map(|pair| match pair.split_once('=') {
            Some((k, v)) if looks_like_jwt(v) || is_secret_key(k) => format!("{k}={REDACTED}"),
            _ if looks_like_jwt(pair) => REDACTED.to_owned(),
            _ => pair.to_owned(),
        });
        out.push_str(&pairs.collect::<Vec<_>>().join("&"));
    }
    out
}

fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    ["token", "auth", "secret", "password", "key"]
        .iter()
        .any(|s| k.contains(s))
}

/// Three non-empty base64url parts (a JWT), or a long base64url run (an opaque token).
fn looks_like_jwt(s: &str) -> bool {
    let b64 = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'%' | b'='))
    };
    let parts: Vec<&str> = s.split('.').collect();
    (parts.len() == 3 && parts.iter().all(|p| b64(p)) && s.len() >= 20)
        || (s.len() >= 100 && parts.iter().all(|p| b64(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_tokens_everywhere() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let got = redact(&format!(
            "/metadata/v1/keys/{jwt}?version=2025-08-26&access_token=abc&x={jwt}&{jwt}"
        ));
        assert!(!got.contains(jwt) && !got.contains("abc"), "{got}");
        assert_eq!(
            got,
            "/metadata/v1/keys/[REDACTED]?version=2025-08-26&access_token=[REDACTED]&x=[REDACTED]&[REDACTED]"
        );
        assert_eq!(
            redact("/metadata/v1/keys/r000-99999999-0000-4000-8000-000000000001?limit=2"),
            "/metadata/v1/keys/r000-99999999-0000-4000-8000-000000000001?limit=2"
        );
    }
}
