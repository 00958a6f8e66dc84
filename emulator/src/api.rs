//! The metadata service itself: routing, validation and the handlers.
//!
//! Order of checks for every request: CORS preflight, injected latency and
//! faults, disabled service, route (404), method (405), `version` (400),
//! generation (404), authentication (401), then the operation's own rules.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::{json, Map, Value};

use crate::certs::CsrError;
use crate::clock::{self, Date};
use crate::error::{ApiError, TargetType};
use crate::faults::{DropStage, FaultAction};
use crate::fixture::TrustedProfile;
use crate::lock;
use crate::record::{Entry, Outcome};
use crate::server::{Cut, CutSwitch};
use crate::service::Protocol;
use crate::state::{Coll, State};
use crate::token::{self, Refusal};

/// Response type of every handler.
pub(crate) type Resp = Response<Full<Bytes>>;

/// Largest request body accepted; larger ones get 400 `invalid_request`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Earliest accepted `version` date (the beta-era docs used it).
pub const MIN_VERSION: Date = Date::new(2021, 9, 10);
/// From this `version` on, `/instance_identity/*` is gone (404).
pub const IDENTITY_V2_VERSION: Date = Date::new(2025, 8, 26);
/// The same cut-over for the beta API (`maturity=beta`).
pub const IDENTITY_V2_BETA_VERSION: Date = Date::new(2025, 7, 15);
/// Identity token lifetime bounds and default, in seconds.
pub const TOKEN_EXPIRES_IN: (u64, u64, u64) = (5, 3600, 300);
/// Identity certificate lifetime bounds and default, in seconds.
pub const CERT_EXPIRES_IN: (u64, u64, u64) = (5, 86_400, 3600);
/// Lifetime of IAM tokens from the exchange, in seconds.
pub const IAM_EXPIRES_IN: u64 = 3600;
/// Longest accepted `nonce`.
pub const MAX_NONCE_LEN: usize = 1024;
/// Page size bounds and default for paginated lists.
pub const LIMIT: (u32, u32, u32) = (1, 100, 50);

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Resp {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn ok_json(body: Bytes) -> Resp {
    json_response(StatusCode::OK, body)
}

/// API generation of an identity path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gen {
    /// `/instance_identity/v1/*`, removed from version 2025-08-26.
    Old,
    /// `/identity/v1/*`, all versions.
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Token(Gen),
    IamToken(Gen),
    Certificates(Gen),
    Instance,
    Initialization,
    List(Coll),
    Item(Coll, &'a str),
}

impl Route<'_> {
    fn parse(path: &str) -> Option<Route<'_>> {
        let rest = path.strip_prefix('/')?;
        let segs: Vec<&str> = rest.split('/').collect();
        Some(match segs.as_slice() {
            ["instance_identity", "v1", "token"] => Route::Token(Gen::Old),
            ["instance_identity", "v1", "iam_token"] => Route::IamToken(Gen::Old),
            ["instance_identity", "v1", "certificates"] => Route::Certificates(Gen::Old),
            ["identity", "v1", "token"] => Route::Token(Gen::New),
            ["identity", "v1", "iam_tokens"] => Route::IamToken(Gen::New),
            ["identity", "v1", "certificates"] => Route::Certificates(Gen::New),
            ["metadata", "v1", "instance"] => Route::Instance,
            ["metadata", "v1", "instance", "initialization"] => Route::Initialization,
            // The docs print this singular form once; treat it as an alias.
            ["metadata", "v1", "instance", "volume_attachment", id] if !id.is_empty() => {
                Route::Item(Coll::VolumeAttachments, id)
            }
            ["metadata", "v1", "instance", coll] => Route::List(Coll::from_segment(coll, true)?),
            ["metadata", "v1", "instance", coll, id] if !id.is_empty() => {
                Route::Item(Coll::from_segment(coll, true)?, id)
            }
            ["metadata", "v1", coll] => Route::List(Coll::from_segment(coll, false)?),
            ["metadata", "v1", coll, id] if !id.is_empty() => {
                Route::Item(Coll::from_segment(coll, false)?, id)
            }
            _ => return None,
        })
    }

    fn method(self) -> &'static str {
        match self {
            Route::Token(_) => "PUT",
            Route::IamToken(_) | Route::Certificates(_) => "POST",
            _ => "GET",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Route::Token(Gen::Old) => "PUT /instance_identity/v1/token",
            Route::Token(Gen::New) => "PUT /identity/v1/token",
            Route::IamToken(Gen::Old) => "POST /instance_identity/v1/iam_token",
            Route::IamToken(Gen::New) => "POST /identity/v1/iam_tokens",
            Route::Certificates(Gen::Old) => "POST /instance_identity/v1/certificates",
            Route::Certificates(Gen::New) => "POST /identity/v1/certificates",
            Route::Instance => "GET /metadata/v1/instance",
            Route::Initialization => "GET /metadata/v1/instance/initialization",
            Route::List(c) => c.info().list_route,
            Route::Item(c, _) => c.info().item_route,
        }
    }

    fn generation(self) -> Option<Gen> {
        match self {
            Route::Token(g) | Route::IamToken(g) | Route::Certificates(g) => Some(g),
            _ => None,
        }
    }
}

/// Handles one metadata-service request.
/// Answers one request that came over `protocol` (the connection's).
pub(crate) async fn handle(
    state: Arc<State>,
    cut: Arc<CutSwitch>,
    protocol: Protocol,
    req: Request<Incoming>,
) -> Resp {
    let now = state.now_ms();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let path_and_query = parts.uri.path_and_query().map_or(path, |p| p.as_str());
    let record = |route: &'static str, status: Option<u16>, outcome, fault: Option<String>| {
        lock(&state.recorder).record(Entry {
            at: clock::rfc3339_ms(now),
            method: parts.method.as_str(),
            path_and_query,
            has_authorization: parts.headers.contains_key(header::AUTHORIZATION),
            route,
            status,
            outcome,
            fault,
        });
    };

    if state.metadata_service().protocol != protocol {
        // The protocol was switched while this connection was kept alive: it is
        // now the other protocol's, which gets silence, as a new connection does.
        record(
            "wrong protocol",
            None,
            Outcome::Other,
            Some("protocol".into()),
        );
        return std::future::pending().await;
    }

    if state.cors
        && parts.method == Method::OPTIONS
        && parts
            .headers
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let resp = preflight(&parts.headers);
        record("OPTIONS (CORS preflight)", Some(204), Outcome::Other, None);
        return resp;
    }

    let (latency_ms, action, disabled) = {
        let mut f = lock(&state.faults);
        let action = f.take(path);
        (f.latency_ms, action, f.disabled)
    };
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    // Tokens and expiry checks use the time after the injected delay; the log keeps arrival.
    let now = state.now_ms();
    let route = Route::parse(path);
    let route_name = route.map_or("unmatched", Route::name);

    let mut drop_stage = None;
    match action {
        Some(FaultAction::Status {
            status,
            retry_after,
            retry_after_repeat,
        }) => {
            let code = match status {
                429 => "too_many_requests",
                500..=599 => "service_error",
                _ => "injected_fault",
            };
            let status_code =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let resp = ApiError::new(status_code, code, format!("Injected fault: {status}."))
                .with_retry_after(retry_after)
                .with_retry_after_repeat(retry_after_repeat)
                .into_response(&state.ids.uuid());
            record(
                route_name,
                Some(status),
                Outcome::Other,
                Some(format!("status {status}")),
            );
            return with_cors(&state, &parts.headers, resp);
        }
        Some(FaultAction::BlackHole) => {
            record(route_name, None, Outcome::Other, Some("black_hole".into()));
            // Hold the connection; it ends when the client gives up or the server stops.
            return std::future::pending().await;
        }
        Some(FaultAction::Body { status, body }) => {
            let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let resp = json_response(status_code, Bytes::from(body));
            record(
                route_name,
                Some(status),
                Outcome::Other,
                Some("body".into()),
            );
            return with_cors(&state, &parts.headers, resp);
        }
        Some(FaultAction::Drop {
            stage: DropStage::BeforeResponse,
        }) => {
            // Read the whole request (so that closing sends a FIN, not a reset
            // for unread bytes), then close without writing a byte.
            let _ = read_body(&state, body, MAX_BODY_BYTES).await;
            record(
                route_name,
                None,
                Outcome::Other,
                Some("drop before_response".into()),
            );
            cut.arm(Cut::Nothing);
            return Response::new(Full::new(Bytes::new()));
        }
        Some(FaultAction::Drop { stage }) => drop_stage = Some(stage),
        None => {}
    }

    if !state.answers_arrive() {
        // Callers farther away than the response hop limit: the answer's TTL
        // runs out on the way, so nothing ever arrives.
        record(route_name, None, Outcome::Other, Some("hop_limit".into()));
        return std::future::pending().await;
    }

    let result = if disabled {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unauthorized",
            "metadata service not enabled",
        ))
    } else {
        match route {
            None => Err(ApiError::not_found(format!(
                "There is no metadata service operation at {path}."
            ))),
            Some(route) => dispatch(&state, route, &parts, body, now, protocol).await,
        }
    };
    let (resp, outcome) = match result {
        Ok(ok) => ok,
        Err(e) => (e.into_response(&state.ids.uuid()), Outcome::Other),
    };
    let resp = with_cors(&state, &parts.headers, resp);
    let status = resp.status().as_u16();
    match drop_stage {
        None => record(route_name, Some(status), outcome, None),
        Some(stage) => {
            let (cut_at, sent, label) = match stage {
                DropStage::BeforeResponse => (Cut::Nothing, None, "drop before_response"),
                DropStage::MidHeaders => (Cut::Headers, None, "drop mid_headers"),
                DropStage::MidBody => {
                    let len = http_body::Body::size_hint(resp.body()).exact().unwrap_or(0);
                    let half = usize::try_from(len / 2).unwrap_or(0);
                    (Cut::Body(half), Some(status), "drop mid_body")
                }
            };
            cut.arm(cut_at);
            record(route_name, sent, outcome, Some(label.into()));
        }
    }
    resp
}

async fn dispatch(
    state: &State,
    route: Route<'_>,
    parts: &Parts,
    body: Incoming,
    now: i64,
    protocol: Protocol,
) -> Result<(Resp, Outcome), ApiError> {
    let query = parts.uri.query().unwrap_or("");
    let cut_over = if query_param(query, "maturity").as_deref() == Some("beta") {
        IDENTITY_V2_BETA_VERSION
    } else {
        IDENTITY_V2_VERSION
    };
    let removed = |version: Date| {
        ApiError::not_found(format!(
            "{} is not available for version {version} ({cut_over} or later); use /identity/v1/.",
            parts.uri.path()
        ))
    };
    // A path removed for this version is not found whatever the method (a 405
    // would advertise a method it no longer has).
    if route.generation() == Some(Gen::Old) {
        if let Ok(version) = check_version(query, now) {
            if version >= cut_over {
                return Err(removed(version));
            }
        }
    }
    let expected = route.method();
    if parts.method.as_str() != expected {
        return Err(ApiError::method_not_allowed(expected));
    }
    check_version(query, now)?;
    let served = Outcome::MetadataServed;
    match route {
        Route::Token(_) => create_token(state, &parts.headers, body, now).await,
        Route::IamToken(_) => {
            authenticate(state, &parts.headers, now)?;
            create_iam_token(state, body, now).await
        }
        Route::Certificates(_) => {
            authenticate(state, &parts.headers, now)?;
            create_certificate(state, body, now).await
        }
        Route::Instance => {
            authenticate(state, &parts.headers, now)?;
            Ok((ok_json(state.instance_document()), served))
        }
        Route::Initialization => {
            authenticate(state, &parts.headers, now)?;
            Ok((ok_json(state.prepared.initialization.clone()), served))
        }
        Route::List(c) => {
            authenticate(state, &parts.headers, now)?;
            let resp = if c.info().paged {
                page(state, c, parts, query, protocol)?
            } else {
                ok_json(state.prepared.coll(c).list.clone())
            };
            Ok((resp, served))
        }
        Route::Item(c, id) => {
            authenticate(state, &parts.headers, now)?;
            let coll = state.prepared.coll(c);
            match coll.index.get(id) {
                Some(&i) => Ok((ok_json(coll.items[i].clone()), served)),
                None => Err(ApiError::not_found(format!(
                    "The {} with ID {id:?} was not found.",
                    c.info().noun
                ))
                .with_target("id", TargetType::Path, Some(id.to_owned()))),
            }
        }
    }
}

fn query_param<'q>(query: &'q str, name: &str) -> Option<std::borrow::Cow<'q, str>> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn check_version(query: &str, now: i64) -> Result<Date, ApiError> {
    let Some(raw) = query_param(query, "version") else {
        return Err(ApiError::bad_request(
            "missing_field",
            "The version query parameter is required.",
        )
        .with_target("version", TargetType::Query, None));
    };
    let bad = |why: &str| {
        Err(ApiError::invalid_value(
            "version",
            TargetType::Query,
            Some(raw.to_string()),
            format!("The version query parameter {why}."),
        ))
    };
    let Some(date) = Date::parse(&raw) else {
        return bad("must be a date in the format YYYY-MM-DD");
    };
    if date < MIN_VERSION {
        return bad(&format!("must be {MIN_VERSION} or later"));
    }
    if date > clock::date_of_ms(now) {
        return bad("must not be later than today (UTC)");
    }
    Ok(date)
}

fn authenticate(state: &State, headers: &HeaderMap, now: i64) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthenticated(
            "Provide an instance identity access token in the Authorization header as 'Bearer <token>'.",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(ApiError::unauthenticated(
            "The Authorization header must be 'Bearer <instance identity access token>'.",
        ));
    };
    match state.tokens.check(token, now) {
        Ok(()) => Ok(()),
        Err(Refusal::Unknown) => Err(ApiError::unauthenticated(
            "The instance identity access token is not valid.",
        )),
        Err(Refusal::Expired) => Err(ApiError::unauthenticated(
            "The instance identity access token has expired.",
        )),
    }
}

/// Why a request body could not be read.
pub(crate) enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// Not complete within the body timeout (a stalled or trickling client).
    TimedOut(Duration),
    /// The connection failed or the framing was broken.
    Unreadable(String),
}

/// Reads a whole request body of at most `limit` bytes within the body timeout.
pub(crate) async fn read_body(
    state: &State,
    body: Incoming,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let timeout = state.body_timeout;
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => Err(BodyError::TimedOut(timeout)),
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(BodyError::TooLarge),
        Ok(Err(e)) => Err(BodyError::Unreadable(e.to_string())),
    }
}

impl BodyError {
    /// The IBM-style answer; a timed-out or unreadable body also ends the connection.
    pub(crate) fn into_api_error(self, limit: usize) -> ApiError {
        match self {
            BodyError::TooLarge => ApiError::bad_request(
                "invalid_request",
                format!("The request body is larger than {limit} bytes."),
            ),
            BodyError::TimedOut(t) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "The request body was not received within {} ms.",
                    t.as_millis()
                ),
            )
            .closing(),
            BodyError::Unreadable(e) => ApiError::bad_request(
                "invalid_request",
                format!("The request body could not be read: {e}."),
            )
            .closing(),
        }
    }
}

/// Reads a JSON object body; an empty or absent body is `{}`.
async fn read_object(state: &State, body: Incoming) -> Result<Map<String, Value>, ApiError> {
    let bytes = read_body(state, body, MAX_BODY_BYTES)
        .await
        .map_err(|e| e.into_api_error(MAX_BODY_BYTES))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            "invalid_request",
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::bad_request(
            "invalid_request",
            format!("The request body is not valid JSON: {e}."),
        )),
    }
}

fn reject_unknown(body: &Map<String, Value>, known: &[&str], prefix: &str) -> Result<(), ApiError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(ApiError::bad_request(
            "unknown_field",
            format!("The property {prefix}{k} is not supported by this operation."),
        )
        .with_target(&format!("{prefix}{k}"), TargetType::Field, None)),
    }
}

/// An integer field within `(min, max, default)`; `null` counts as absent.
fn seconds_field(
    body: &Map<String, Value>,
    name: &str,
    (min, max, default): (u64, u64, u64),
) -> Result<u64, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match v.as_u64().filter(|n| (min..=max).contains(n)) {
            Some(n) => Ok(n),
            None => Err(ApiError::invalid_value(
                name,
                TargetType::Field,
                Some(match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                format!("The value of {name} must be an integer from {min} to {max}."),
            )),
        },
    }
}

async fn create_token(
    state: &State,
    headers: &HeaderMap,
    body: Incoming,
    now: i64,
) -> Result<(Resp, Outcome), ApiError> {
    // An empty value is as absent as no header.
    let flavor = headers
        .get("metadata-flavor")
        .filter(|v| !v.as_bytes().trim_ascii().is_empty());
    match flavor {
        None => {
            return Err(ApiError::bad_request(
                "missing_value",
                "Provide the value ibm in the Metadata-Flavor header.",
            )
            .with_target("Metadata-Flavor", TargetType::Header, None))
        }
        Some(v) if !v.as_bytes().eq_ignore_ascii_case(b"ibm") => {
            return Err(ApiError::invalid_value(
                "Metadata-Flavor",
                TargetType::Header,
                Some(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                "The Metadata-Flavor header must be ibm.",
            ))
        }
        Some(_) => {}
    }
    let body = read_object(state, body).await?;
    reject_unknown(&body, &["expires_in", "nonce"], "")?;
    let expires_in = seconds_field(&body, "expires_in", TOKEN_EXPIRES_IN)?;
    let nonce = match body.get("nonce") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= MAX_NONCE_LEN => Some(s.clone()),
        Some(v) => {
            return Err(ApiError::invalid_value(
                "nonce",
                TargetType::Field,
                None,
                format!(
                    "The nonce must be a string of at most {MAX_NONCE_LEN} bytes (got {}).",
                    if v.is_string() {
                        "a longer one"
                    } else {
                        "another type"
                    }
                ),
            ))
        }
    };

    let expires_at = now.saturating_add((expires_in as i64) * 1000);
    let p = &state.prepared;
    let mut extra = vec![
        ("iat", Value::from(now.div_euclid(1000))),
        ("exp", Value::from(expires_at.div_euclid(1000))),
        ("jti", Value::from(state.ids.uuid())),
    ];
    if let Some(n) = &nonce {
        extra.push(("nonce", Value::from(n.as_str())));
    }
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": p.identity_kid });
    let access_token = token::jwt(
        &header,
        &token::claims(&p.identity_claims, &extra),
        &state.ids.bytes(256),
    );
    state.tokens.insert(access_token.clone(), expires_at, now);

    let mut resp = json!({
        "access_token": access_token,
        "created_at": clock::rfc3339_ms(now),
        "expires_at": clock::rfc3339_ms(expires_at),
        "expires_in": expires_in,
    });
    if let Some(n) = nonce {
        resp["nonce"] = Value::from(n);
    }
    Ok((
        ok_json(Bytes::from(resp.to_string())),
        Outcome::TokenCreated,
    ))
}

/// Finds the trusted profile a token exchange names, or the default one.
fn resolve_profile<'s>(
    state: &'s State,
    body: &Map<String, Value>,
) -> Result<&'s TrustedProfile, ApiError> {
    reject_unknown(body, &["trusted_profile"], "")?;
    let p = &state.prepared;
    let (kind, value) = match body.get("trusted_profile") {
        None | Some(Value::Null) => match &p.default_profile {
            Some((id, _)) if !id.is_empty() => ("id", id.clone()),
            Some((_, crn)) => ("crn", crn.clone()),
            None => {
                return Err(ApiError::bad_request(
                    "missing_field",
                    "The trusted profile ID was not passed and the instance has no default trusted profile.",
                )
                .with_target("trusted_profile.id", TargetType::Field, None))
            }
        },
        Some(Value::Object(tp)) => {
            reject_unknown(tp, &["id", "crn", "name"], "trusted_profile.")?;
            let mut given = Vec::new();
            for kind in ["id", "crn", "name"] {
                match tp.get(kind) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) if !s.is_empty() => given.push((kind, s.clone())),
                    Some(v) => {
                        return Err(ApiError::invalid_value(
                            &format!("trusted_profile.{kind}"),
                            TargetType::Field,
                            Some(v.to_string()),
                            format!("trusted_profile.{kind} must be a non-empty string."),
                        ))
                    }
                }
            }
            if given.len() > 1 {
                return Err(ApiError::invalid_value(
                    "trusted_profile",
                    TargetType::Field,
                    None,
                    "Specify only one of trusted_profile.id, trusted_profile.crn or trusted_profile.name.",
                ));
            }
            match given.pop() {
                Some(g) => g,
                None => {
                    return Err(ApiError::bad_request(
                        "missing_field",
                        "trusted_profile must contain one of id, crn or name.",
                    )
                    .with_target("trusted_profile.id", TargetType::Field, None))
                }
            }
        }
        Some(v) => {
            return Err(ApiError::invalid_value(
                "trusted_profile",
                TargetType::Field,
                Some(v.to_string()),
                "trusted_profile must be an object.",
            ))
        }
    };
    p.profiles
        .iter()
        .find(|tp| {
            let field = match kind {
                "id" => &tp.id,
                "crn" => &tp.crn,
                _ => &tp.name,
            };
            *field == value
        })
        .filter(|tp| tp.linked)
        .ok_or_else(|| {
            ApiError::bad_request(
                "profile_not_linked",
                format!("The trusted profile {value} is not linked to this instance."),
            )
            .with_target(
                &format!("trusted_profile.{kind}"),
                TargetType::Field,
                Some(value.clone()),
            )
        })
}

async fn create_iam_token(
    state: &State,
    body: Incoming,
    now: i64,
) -> Result<(Resp, Outcome), ApiError> {
    let body = read_object(state, body).await?;
    let profile = resolve_profile(state, &body)?;
    let p = &state.prepared;
    let expires_at = now.saturating_add((IAM_EXPIRES_IN as i64) * 1000);
    let iam_id = format!("iam-{}", profile.id);
    let claims = json!({
        "iam_id": iam_id,
        "id": iam_id,
        "realmid": "iam",
        "jti": state.ids.uuid(),
        "identifier": profile.id,
        "name": profile.name,
        "sub": profile.id,
        "sub_type": "Profile",
        "authn": {
            "sub": p.instance_crn,
            "iam_id": format!("crn-{}", p.instance_crn),
            "sub_type": "ComputeResource",
            "name": p.instance_id,
        },
        "account": { "valid": true, "bss": p.account_id },
        "iat": now.div_euclid(1000),
        "exp": expires_at.div_euclid(1000),
        "iss": "https://iam.cloud.ibm.com/identity",
        "grant_type": "urn:ibm:params:oauth:grant-type:cr-token",
        "scope": "ibm openid",
        "client_id": "default",
        "acr": 1,
        "amr": ["cr"],
    });
    let header = json!({ "kid": "FAKE-IAM-EMU-KEY-0001", "alg": "RS256" });
    let access_token = token::jwt(&header, &claims, &state.ids.bytes(256));
    let resp = json!({
        "access_token": access_token,
        "created_at": clock::rfc3339_ms(now),
        "expires_at": clock::rfc3339_ms(expires_at),
        "expires_in": IAM_EXPIRES_IN,
    });
    Ok((
        ok_json(Bytes::from(resp.to_string())),
        Outcome::IamTokenIssued,
    ))
}

async fn create_certificate(
    state: &State,
    body: Incoming,
    now: i64,
) -> Result<(Resp, Outcome), ApiError> {
    let body = read_object(state, body).await?;
    reject_unknown(&body, &["csr", "expires_in"], "")?;
    let expires_in = seconds_field(&body, "expires_in", CERT_EXPIRES_IN)?;
    let csr = match body.get("csr") {
        None | Some(Value::Null) => {
            return Err(
                ApiError::bad_request("missing_field", "The csr property is required.")
                    .with_target("csr", TargetType::Field, None),
            )
        }
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(ApiError::invalid_value(
                "csr",
                TargetType::Field,
                None,
                "The csr must be a PEM certificate signing request string.",
            ))
        }
    };
    let p = &state.prepared;
    let chain = state
        .ca
        .sign(
            csr,
            &p.instance_id,
            now,
            expires_in as i64,
            state.ids.u64() >> 1,
        )
        .map_err(|e| match e {
            CsrError::Unparsable(why) => ApiError::invalid_value(
                "csr",
                TargetType::Field,
                None,
                format!("The csr is not a valid PEM certificate signing request ({why})."),
            ),
            CsrError::Forbidden(why) => ApiError::invalid_value(
                "csr",
                TargetType::Field,
                None,
                format!("Invalid csr: {why}."),
            ),
            CsrError::Signing(why) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "service_error",
                format!("Signing failed: {why}."),
            ),
        })?;
    let expires_at = now.saturating_add((expires_in as i64) * 1000);
    let resp = json!({
        "certificates": chain,
        "created_at": clock::rfc3339_ms(now),
        "expires_at": clock::rfc3339_ms(expires_at),
        "expires_in": expires_in,
        "id": format!("0000-{}", state.ids.uuid()),
    });
    Ok((
        json_response(StatusCode::CREATED, Bytes::from(resp.to_string())),
        Outcome::CertificateIssued,
    ))
}

/// `<scheme>://<Host header>` so hrefs work the way the client reached us;
/// the bound address when the Host header is absent or unusable.
fn base_url(state: &State, headers: &HeaderMap, protocol: Protocol) -> String {
    let scheme = match protocol {
        Protocol::Https => "https",
        Protocol::Http => "http",
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.parse::<http::uri::Authority>().is_ok());
    match host {
        Some(h) => format!("{scheme}://{h}"),
        None => state.base_url.clone(),
    }
}

/// Opaque `start` token for the item at `id`.
fn start_token(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn page(
    state: &State,
    c: Coll,
    parts: &Parts,
    query: &str,
    protocol: Protocol,
) -> Result<Resp, ApiError> {
    let (min, max, default) = LIMIT;
    let limit = match query_param(query, "limit") {
        None => default,
        Some(raw) => raw
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| raw.parse::<u32>().ok())
            .flatten()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_value(
                    "limit",
                    TargetType::Query,
                    Some(raw.to_string()),
                    format!("The limit must be an integer from {min} to {max}."),
                )
            })?,
    };
    let coll = state.prepared.coll(c);
    let start = match query_param(query, "start") {
        None => 0,
        Some(raw) => URL_SAFE_NO_PAD
            .decode(raw.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|id| coll.index.get(&id).copied())
            .ok_or_else(|| {
                ApiError::invalid_value(
                    "start",
                    TargetType::Query,
                    Some(raw.to_string()),
                    "The start token is not valid for this collection.",
                )
            })?,
    };
    let total = coll.items.len();
    let end = total.min(start + limit as usize);
    let href = format!(
        "{}{}?limit={limit}",
        base_url(state, &parts.headers, protocol),
        c.info().path
    );
    let enc = |s: &str| Value::from(s).to_string();

    let mut out =
        Vec::with_capacity(256 + coll.items[start..end].iter().map(Bytes::len).sum::<usize>());
    out.extend_from_slice(b"{\"first\":{\"href\":");
    out.extend_from_slice(enc(&href).as_bytes());
    out.extend_from_slice(format!("}},\"{}\":[", c.info().key).as_bytes());
    for (i, item) in coll.items[start..end].iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(format!("],\"limit\":{limit},").as_bytes());
    if end < total {
        let next = format!("{href}&start={}", start_token(&coll.ids[end]));
        out.extend_from_slice(format!("\"next\":{{\"href\":{}}},", enc(&next)).as_bytes());
    }
    out.extend_from_slice(format!("\"total_count\":{total}}}").as_bytes());
    Ok(ok_json(Bytes::from(out)))
}

const CORS_ALLOW_HEADERS: &str = "Authorization, Metadata-Flavor, Content-Type, Accept, User-Agent";

fn cors_origin(req: &HeaderMap) -> HeaderValue {
    req.get(header::ORIGIN)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"))
}

fn preflight(req: &HeaderMap) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, cors_origin(req));
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, PUT, POST, OPTIONS"),
    );
    let requested = req
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let allow = match requested {
        Some(r) => HeaderValue::from_str(&format!("{CORS_ALLOW_HEADERS}, {r}"))
            .unwrap_or_else(|_| HeaderValue::from_static(CORS_ALLOW_HEADERS)),
        None => HeaderValue::from_static(CORS_ALLOW_HEADERS),
    };
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    resp
}

fn with_cors(state: &State, req: &HeaderMap, mut resp: Resp) -> Resp {
    if state.cors {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, cors_origin(req));
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After, Allow"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            Route::parse("/identity/v1/iam_tokens"),
            Some(Route::IamToken(Gen::New))
        );
        assert_eq!(Route::parse("/identity/v1/iam_token"), None);
        assert_eq!(
            Route::parse("/metadata/v1/instance/volume_attachment/x"),
            Some(Route::Item(Coll::VolumeAttachments, "x"))
        );
        assert_eq!(
            Route::parse("/metadata/v1/instance/volume_attachment"),
            None
        );
        assert_eq!(Route::parse("/metadata/v1/keys/"), None);
        assert_eq!(Route::parse("/metadata/v1/instance/keys"), None);
        assert_eq!(Route::parse("/metadata/v1/network_interfaces"), None);
        assert_eq!(
            Route::parse("/metadata/v1/placement_groups/p1"),
            Some(Route::Item(Coll::PlacementGroups, "p1"))
        );
        assert_eq!(Route::parse("metadata/v1/instance"), None);
    }
}
