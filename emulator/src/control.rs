//! The control API: JSON over HTTP on its own loopback port.
//! Every endpoint maps onto a [`Control`] method; see `emulator/README.md`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{json_response, Resp};
use crate::clock;
use crate::faults::{DropStage, FaultAction, FaultRule, Faults};
use crate::state::{Control, State};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceReq {
    seconds: u64,
}

fn reply(status: StatusCode, v: &impl Serialize) -> Resp {
    json_response(
        status,
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    )
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Resp {
    reply(status, &json!({ "error": message.to_string() }))
}

async fn body_json<T: DeserializeOwned + Default>(
    body: Incoming,
    empty_ok: bool,
) -> Result<T, Resp> {
    let bytes = Limited::new(body, 1 << 20)
        .collect()
        .await
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("cannot read body: {e}")))?
        .to_bytes();
    if empty_ok && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

/// Like [`body_json`] for bodies that have no sensible default.
async fn body_required<T: DeserializeOwned>(body: Incoming) -> Result<T, Resp> {
    body_json::<Option<T>>(body, false)
        .await?
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "a JSON body is required"))
}

fn with_rule(control: &Control, rule: FaultRule) -> Resp {
    match control.add_fault(rule) {
        Ok(()) => reply(StatusCode::OK, &control.faults()),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
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
    "PUT /faults/latency",
    "PUT /service",
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
    let (parts, body) = req.into_parts();
    let m = &parts.method;
    let result: Result<Resp, Resp> = async {
        Ok(match (m, parts.uri.path()) {
            (&Method::GET, "/") => reply(StatusCode::OK, &json!({ "endpoints": ENDPOINTS })),
            (&Method::GET, "/health") => reply(StatusCode::OK, &json!({ "ok": true })),
            (&Method::GET, "/faults") => reply(StatusCode::OK, &control.faults()),
            (&Method::PUT, "/faults") => {
                let faults: Faults = body_json(body, true).await?;
                match control.set_faults(faults) {
                    Ok(()) => reply(StatusCode::OK, &control.faults()),
                    Err(e) => error(StatusCode::BAD_REQUEST, e),
                }
            }
            (&Method::DELETE, "/faults") => {
                control.clear_faults();
                reply(StatusCode::OK, &control.faults())
            }
            (&Method::POST, "/faults/rules") => with_rule(&control, body_required(body).await?),
            (&Method::POST, "/faults/fail") => {
                let r: FailReq = body_required(body).await?;
                let action = FaultAction::Status {
                    status: r.status,
                    retry_after: r.retry_after,
                };
                with_rule(
                    &control,
                    FaultRule {
                        action,
                        count: r.count,
                        route_prefix: r.route_prefix,
                    },
                )
            }
            (&Method::POST, "/faults/drop") => {
                let r: DropReq = body_required(body).await?;
                let action = FaultAction::Drop { stage: r.stage };
                with_rule(
                    &control,
                    FaultRule {
                        action,
                        count: r.count,
                        route_prefix: r.route_prefix,
                    },
                )
            }
            (&Method::POST, "/faults/black_hole") => {
                let r: BlackHoleReq = body_json(body, true).await?;
                with_rule(
                    &control,
                    FaultRule {
                        action: FaultAction::BlackHole,
                        count: r.count,
                        route_prefix: r.route_prefix,
                    },
                )
            }
            (&Method::PUT, "/faults/latency") => {
                let r: LatencyReq = body_required(body).await?;
                control.set_latency(Duration::from_millis(r.ms));
                reply(StatusCode::OK, &control.faults())
            }
            (&Method::PUT, "/service") => {
                let r: ServiceReq = body_required(body).await?;
                control.set_enabled(r.enabled);
                reply(StatusCode::OK, &control.faults())
            }
            (&Method::POST, "/tokens/expire") => {
                control.expire_tokens();
                reply(StatusCode::OK, &json!({ "expired": true }))
            }
            (&Method::POST, "/clock/advance") => {
                let r: AdvanceReq = body_required(body).await?;
                control.advance_clock(Duration::from_secs(r.seconds));
                reply(
                    StatusCode::OK,
                    &json!({ "now": clock::rfc3339_ms(control.now_ms()) }),
                )
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
                error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("method {m} not allowed on {path}"),
                )
            }
            (_, path) => error(
                StatusCode::NOT_FOUND,
                format!("no control endpoint {path}; GET / lists them"),
            ),
        })
    }
    .await;
    result.unwrap_or_else(|e| e)
}
