//! The control API: JSON over HTTP on its own loopback port.
//! Every endpoint maps onto a [`Control`] method; see `emulator/README.md`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{json_response, read_body, Resp};
use crate::clock;
use crate::error::{ApiError, TargetType};
use crate::faults::{DropStage, FaultAction, FaultRule, Faults};
use crate::service::MetadataServiceUpdate;
use crate::state::{Control, State, MAX_CLOCK_OFFSET};

/// Body of `POST /faults/fail`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailReq {
    status: u16,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    retry_after: Option<u32>,
    #[serde(default)]
    retry_after_repeat: Option<u32>,
    #[serde(default)]
    route_prefix: Option<String>,
}

/// Body of `POST /faults/drop`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DropReq {
    stage: DropStage,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    route_prefix: Option<String>,
}

/// Body of `POST /faults/body`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyReq {
    body: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    route_prefix: Option<String>,
}

/// Body of `POST /faults/black_hole`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BlackHoleReq {
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    route_prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyReq {
    ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceReq {
    enabled: bool,
}

/// Body of `POST /clock/advance`. Any JSON number is read, so that an
/// out-of-range one gets a clear refusal rather than a parse error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceReq {
    seconds: serde_json::Number,
}

/// Largest control-API request body.
const MAX_CONTROL_BODY_BYTES: usize = 1 << 20;

fn reply(status: StatusCode, v: &impl Serialize) -> Resp {
    json_response(
        status,
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    )
}

/// A control-API error. Rendered IBM-style (`errors`, `status_code`, `trace`)
/// with the message also as `error`, the field scripts have always read.
fn error(status: StatusCode, message: impl std::fmt::Display) -> ApiError {
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        _ => "invalid_request",
    };
    ApiError::new(status, code, message.to_string())
}

async fn body_json<T: DeserializeOwned + Default>(
    state: &State,
    body: Incoming,
    empty_ok: bool,
) -> Result<T, ApiError> {
    let bytes = read_body(state, body, MAX_CONTROL_BODY_BYTES)
        .await
        .map_err(|e| e.into_api_error(MAX_CONTROL_BODY_BYTES))?;
    if empty_ok && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

/// Like [`body_json`] for bodies that have no sensible default.
async fn body_required<T: DeserializeOwned>(state: &State, body: Incoming) -> Result<T, ApiError> {
    body_json::<Option<T>>(state, body, false)
        .await?
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "a JSON body is required"))
}

fn with_rule(control: &Control, rule: FaultRule) -> Result<Resp, ApiError> {
    match control.add_fault(rule) {
        Ok(()) => Ok(reply(StatusCode::OK, &control.faults())),
        Err(e) => Err(error(StatusCode::BAD_REQUEST, e)),
    }
}

/// `POST /clock/advance`: a whole number of seconds that keeps the clock
/// within [`MAX_CLOCK_OFFSET`] of the system clock.
fn advance(control: &Control, r: &AdvanceReq) -> Result<Resp, ApiError> {
    let refuse = |why: String| {
        ApiError::invalid_value(
            "seconds",
            TargetType::Field,
            Some(r.seconds.to_string()),
            why,
        )
    };
    let secs = r.seconds.as_u64().ok_or_else(|| {
        refuse(format!(
            "The value of seconds must be a whole number from 0 to {}.",
            MAX_CLOCK_OFFSET.as_secs()
        ))
    })?;
    control
        .advance_clock(Duration::from_secs(secs))
        .map_err(|e| refuse(format!("The clock was not moved: {e}.")))?;
    Ok(reply(
        StatusCode::OK,
        &json!({ "now": clock::rfc3339_ms(control.now_ms()) }),
    ))
}

const ENDPOINTS: &[&str] = &[
    "GET /health",
    "GET /faults",
    "PUT /faults",
    "DELETE /faults",
    "POST /faults/rules",
    "POST /faults/fail",
    "POST /faults/drop",
    "POST /faults/black_hole",
    "POST /faults/body",
    "PUT /faults/latency",
    "PUT /service",
    "GET /metadata_service",
    "PUT /metadata_service",
    "POST /tokens/expire",
    "POST /clock/advance",
    "GET /counters",
    "DELETE /counters",
    "GET /requests",
    "DELETE /requests",
    "POST /reset",
];

/// Handles one control-API request.
pub(crate) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let control = Control { state };
    let state = &*control.state;
    let (parts, body) = req.into_parts();
    let m = &parts.method;
    let result: Result<Resp, ApiError> = async {
        Ok(match (m, parts.uri.path()) {
            (&Method::GET, "/") => reply(StatusCode::OK, &json!({ "endpoints": ENDPOINTS })),
            (&Method::GET, "/health") => reply(StatusCode::OK, &json!({ "ok": true })),
            (&Method::GET, "/faults") => reply(StatusCode::OK, &control.faults()),
            (&Method::PUT, "/faults") => {
                let faults: Faults = body_json(state, body, true).await?;
                match control.set_faults(faults) {
                    Ok(()) => reply(StatusCode::OK, &control.faults()),
                    Err(e) => return Err(error(StatusCode::BAD_REQUEST, e)),
                }
            }
            (&Method::DELETE, "/faults") => {
                control.clear_faults();
                reply(StatusCode::OK, &control.faults())
            }
            (&Method::POST, "/faults/rules") => {
                with_rule(&control, body_required(state, body).await?)?
            }
            (&Method::POST, "/faults/fail") => {
                let r: FailReq = body_required(state, body).await?;
                let action = FaultAction::Status {
                    status: r.status,
                    retry_after: r.retry_after,
                    retry_after_repeat: r.retry_after_repeat,
                };
                with_rule(
                    &control,
                    FaultRule {
                        action,
                        count: r.count,
                        route_prefix: r.route_prefix,
                    },
                )?
            }
            (&Method::POST, "/faults/drop") => {
                let r: DropReq = body_required(state, body).await?;
                let action = FaultAction::Drop { stage: r.stage };
                with_rule(
                    &control,
                    FaultRule {
                        action,
                        count: r.count,
                        route_prefix: r.route_prefix,
                    },
                )?
            }
            (&Method::POST, "/faults/black_hole") => {
                let r: BlackHoleReq = body_json(state, body, true).await?;
                with_rule(
                    &control,
                    FaultRule {
                        action: FaultAction::BlackHole,
                        count: r.count,
                        route_prefix: r.route_prefix,
                    },
                )?
            }
            (&Method::POST, "/faults/body") => {
                let r: BodyReq = body_required(state, body).await?;
                with_rule(
                    &control,
                    FaultRule {
                        action: FaultAction::Body {
                            status: r.status.unwrap_or(200),
                            body: r.body,
                        },
                        count: r.count,
                        route_prefix: r.route_prefix,
                    },
                )?
            }
            (&Method::PUT, "/faults/latency") => {
                let r: LatencyReq = body_required(state, body).await?;
                control.set_latency(Duration::from_millis(r.ms));
                reply(StatusCode::OK, &control.faults())
            }
            (&Method::PUT, "/service") => {
                let r: ServiceReq = body_required(state, body).await?;
                control.set_enabled(r.enabled);
                reply(StatusCode::OK, &control.faults())
            }
            (&Method::GET, "/metadata_service") => {
                reply(StatusCode::OK, &control.metadata_service())
            }
            (&Method::PUT, "/metadata_service") => {
                let r: MetadataServiceUpdate = body_required(state, body).await?;
                match control.update_metadata_service(&r) {
                    Ok(now) => reply(StatusCode::OK, &now),
                    Err(e) => {
                        return Err(ApiError::invalid_value(
                            e.field(),
                            TargetType::Field,
                            None,
                            e.to_string(),
                        ))
                    }
                }
            }
            (&Method::POST, "/tokens/expire") => {
                control.expire_tokens();
                reply(StatusCode::OK, &json!({ "expired": true }))
            }
            (&Method::POST, "/clock/advance") => {
                let r: AdvanceReq = body_required(state, body).await?;
                advance(&control, &r)?
            }
            (&Method::GET, "/counters") => reply(StatusCode::OK, &control.counters()),
            (&Method::DELETE, "/counters") => {
                control.reset_counters();
                reply(StatusCode::OK, &control.counters())
            }
            (&Method::GET, "/requests") => reply(StatusCode::OK, &control.requests()),
            (&Method::DELETE, "/requests") => {
                control.clear_requests();
                reply(StatusCode::OK, &json!([]))
            }
            (&Method::POST, "/reset") => {
                control.reset();
                reply(StatusCode::OK, &control.faults())
            }
            (_, path)
                if ENDPOINTS
                    .iter()
                    .any(|e| e.split_once(' ').map(|(_, p)| p) == Some(path)) =>
            {
                return Err(error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("method {m} not allowed on {path}"),
                ));
            }
            (_, path) => {
                return Err(error(
                    StatusCode::NOT_FOUND,
                    format!("no control endpoint {path}; GET / lists them"),
                ))
            }
        })
    }
    .await;
    result.unwrap_or_else(|e| {
        let message = e.message.clone();
        e.render(&state.ids.uuid(), |body| {
            body.insert("error".into(), message.into());
        })
    })
}
