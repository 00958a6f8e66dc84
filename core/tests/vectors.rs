//! Runs every case in `tests/vectors/*.json` against the core session.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use vpc_imds_core::config::{ApiVersion, Config, Endpoint};
use vpc_imds_core::error::{Error, TransportError};
use vpc_imds_core::operation::Args;
use vpc_imds_core::request::RequestId;
use vpc_imds_core::response::{Progress, Response, ResponseReader};
use vpc_imds_core::session::{Action, Event, Operation, Output, Session};
use vpc_imds_core::time::Instant;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn config_from(v: &Value) -> (Config, u64, usize) {
    let mut c = Config::default();
    let get = |k: &str| v.get(k);
    if let Some(e) = get("endpoint").and_then(Value::as_str) {
        c.set_endpoint(Endpoint::parse(e).expect("endpoint"));
    }
    if let Some(d) = get("version").and_then(Value::as_str) {
        c.set_version(ApiVersion::parse(d).expect("version"));
    }
    if let Some(l) = get("token_lifetime").and_then(Value::as_u64) {
        c.set_token_lifetime(l as u32).expect("lifetime");
    }
    let ms = |k: &str| get(k).and_then(Value::as_u64).map(Duration::from_millis);
    if let Some(d) = ms("operation_timeout_ms") {
        c.timeouts.operation = d;
    }
    if let Some(d) = ms("request_timeout_ms") {
        c.timeouts.request = d;
    }
    if let Some(d) = ms("base_delay_ms") {
        c.retry.base_delay = d;
    }
    if let Some(d) = ms("max_delay_ms") {
        c.retry.max_delay = d;
    }
    if let Some(n) = get("max_attempts").and_then(Value::as_u64) {
        c.retry.max_attempts = n as u8;
    }
    let seed = get("seed").and_then(Value::as_u64).unwrap_or(1);
    let buffer = get("buffer").and_then(Value::as_u64).unwrap_or(65536) as usize;
    (c, seed, buffer)
}

fn op_from(v: &Value) -> Operation<'_> {
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let args = Args {
        id: s("id"),
        nonce: s("nonce"),
        expires_in: v
            .get("expires_in")
            .and_then(Value::as_u64)
            .map(|x| x as u32),
        profile_id: s("profile_id"),
        profile_crn: s("profile_crn"),
        profile_name: s("profile_name"),
        csr: s("csr"),
        path: s("path"),
        all_pages: v.get("all_pages").and_then(Value::as_bool).unwrap_or(false),
    };
    Operation::from_name(s("op").expect("op name"), &args).expect("known operation")
}

/// The id a response is fed back for: the request the session awaits.
fn awaited(session: &Session) -> RequestId {
    session.awaiting().unwrap_or(RequestId(u64::MAX))
}

fn output_json(out: &Output<'_>) -> Value {
    let v = match out {
        Output::IdentityToken(t) | Output::IamToken(t) => serde_json::to_value(t),
        Output::Instance(x) => serde_json::to_value(x),
        Output::Initialization(x) => serde_json::to_value(x),
        Output::NetworkInterfaces(x) => serde_json::to_value(x),
        Output::NetworkInterface(x) => serde_json::to_value(x),
        Output::VolumeAttachments(x) => serde_json::to_value(x),
        Output::VolumeAttachment(x) => serde_json::to_value(x),
        Output::Keys(x) => serde_json::to_value(x),
        Output::Key(x) => serde_json::to_value(x),
        Output::PlacementGroups(x) => serde_json::to_value(x),
        Output::PlacementGroup(x) => serde_json::to_value(x),
        Output::IdentityCertificate(x) => serde_json::to_value(x),
        Output::Raw(body) => serde_json::from_slice(body),
        _ => panic!("unknown output"),
    };
    v.expect("output serializes")
}

/// Looks up a dotted path; `#` gives an array's length.
fn lookup<'v>(mut v: &'v Value, path: &str, len_holder: &'v mut Value) -> Option<&'v Value> {
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if *part == "#" && i == parts.len() - 1 {
            *len_holder = json!(v.as_array()?.len());
            return Some(len_holder);
        }
        v = match v {
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            Value::Object(o) => o.get(*part)?,
            _ => return None,
        };
    }
    Some(v)
}

fn check_output(ctx: &str, out: &Output<'_>, expected: &Value) {
    let ty = expected["type"].as_str().expect("output type");
    assert_eq!(out.type_name(), ty, "{ctx}: output type");
    let actual = output_json(out);
    if let Some(doc) = expected.get("json") {
        assert_eq!(&actual, doc, "{ctx}: raw document");
    }
    if let Some(Value::Object(fields)) = expected.get("fields") {
        for (path, want) in fields {
            let mut holder = Value::Null;
            let got = lookup(&actual, path, &mut holder)
                .cloned()
                .unwrap_or(Value::Null);
            assert_eq!(&got, want, "{ctx}: field {path}");
        }
    }
}

fn check_error(ctx: &str, err: &Error, expected: &Value) {
    assert_eq!(
        err.kind().as_str(),
        expected["kind"].as_str().expect("kind"),
        "{ctx}: kind ({err})"
    );
    let text = err.to_string();
    assert!(
        !text.contains("eyJ"),
        "{ctx}: error text leaks a token: {text}"
    );
    if let Some(status) = expected.get("status") {
        assert_eq!(
            err.status().map(u64::from),
            status.as_u64(),
            "{ctx}: status"
        );
    }
    let api = err.api();
    for key in ["code", "trace", "message"] {
        if let Some(want) = expected.get(key).and_then(Value::as_str) {
            let got = api.map(|a| match key {
                "code" => a.code.as_str(),
                "trace" => a.trace.as_str(),
                _ => a.message.as_str(),
            });
            assert_eq!(got, Some(want), "{ctx}: {key}");
        }
    }
    if let Some(cause) = expected.get("cause").and_then(Value::as_str) {
        let got = err.cause().as_str();
        assert_eq!(got, cause, "{ctx}: cause");
    }
}

fn check_event(ctx: &str, event: Event<'_>, expected: &Value) {
    match (event, expected) {
        (Event::Pending, Value::String(s)) if s == "pending" => {}
        (Event::Page(out), e) if e.get("page").is_some() => check_output(ctx, &out, &e["page"]),
        (Event::Done(out), e) if e.get("done").is_some() => check_output(ctx, &out, &e["done"]),
        (Event::Failed(err), e) if e.get("failed").is_some() => {
            check_error(ctx, &err, &e["failed"])
        }
        (event, expected) => panic!("{ctx}: expected {expected}, got {event:?}"),
    }
}

fn header_list(req: &vpc_imds_core::request::Request<'_>) -> Value {
    Value::Array(
        req.headers()
            .map(|h| {
                let mut v = String::new();
                h.write_value(&mut v).expect("header value");
                json!([h.name(), v])
            })
            .collect(),
    )
}

fn load_body(resp: &Value) -> Vec<u8> {
    if let Some(b) = resp.get("body").and_then(Value::as_str) {
        return b.as_bytes().to_vec();
    }
    if let Some(f) = resp.get("body_file").and_then(Value::as_str) {
        return std::fs::read(vectors_dir().join(f)).expect("body_file");
    }
    Vec::new()
}

/// Feeds a raw response in pieces of `chunk` bytes and checks the event.
fn feed_raw(
    session: &mut Session,
    raw: &[u8],
    chunk: usize,
    buf: &mut [u8],
    now: Instant,
    ctx: &str,
    expected: &Value,
) {
    let mut reader = ResponseReader::new();
    let mut fed = 0;
    loop {
        let space = match reader.unfilled(buf) {
            Ok(s) => s,
            Err(e) => {
                return check_event(
                    ctx,
                    session.on_response_error(awaited(session), e, now),
                    expected,
                )
            }
        };
        let n = chunk.min(raw.len() - fed).min(space.len());
        space[..n].copy_from_slice(&raw[fed..fed + n]);
        fed += n;
        match reader.advance(buf, n) {
            Ok(Progress::NeedMore) => continue,
            Ok(Progress::Complete(response)) => {
                return check_event(
                    ctx,
                    session.on_response(awaited(session), &response, now),
                    expected,
                )
            }
            Err(e) => {
                return check_event(
                    ctx,
                    session.on_response_error(awaited(session), e, now),
                    expected,
                )
            }
        }
    }
}

fn run_case(case: &Value, chunk: usize) {
    let name = case["name"].as_str().expect("case name");
    let (config, seed, buffer) = config_from(&case["config"]);
    let mut session = Session::new(config, seed);
    let mut buf = vec![0u8; buffer];
    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        let ctx = format!("{name} [chunk {chunk}] step {i}");
        let now = Instant::from_millis(step["at"].as_u64().unwrap_or(0));
        if let Some(op) = step.get("start") {
            let result = session.start(op_from(op), now);
            match (result, step.get("error")) {
                (Ok(()), None) => {}
                (Err(e), Some(want)) => check_error(&ctx, &e, want),
                (r, want) => panic!("{ctx}: start gave {r:?}, expected error {want:?}"),
            }
        } else if let Some(want) = step.get("send") {
            match session.poll(now) {
                Action::Send(req) => {
                    if let Some(m) = want.get("method") {
                        assert_eq!(req.method().as_str(), m, "{ctx}: method");
                    }
                    if let Some(t) = want.get("target") {
                        assert_eq!(req.target(), t, "{ctx}: target");
                    }
                    if let Some(h) = want.get("headers") {
                        assert_eq!(&header_list(&req), h, "{ctx}: headers");
                    }
                    if let Some(b) = want.get("body") {
                        assert_eq!(
                            req.body().map(|s| json!(s)).unwrap_or(Value::Null),
                            *b,
                            "{ctx}: body"
                        );
                    }
                    if let Some(raw) = want.get("raw").and_then(Value::as_str) {
                        let mut wire = vec![0u8; 16384];
                        let n = req.write_into(&mut wire).expect("request fits");
                        assert_eq!(String::from_utf8_lossy(&wire[..n]), raw, "{ctx}: raw");
                        assert_eq!(req.encoded_len(), n, "{ctx}: encoded_len");
                    }
                    let debug = format!("{req:?}");
                    assert!(
                        !debug.contains("eyJ"),
                        "{ctx}: Debug leaks the token: {debug}"
                    );
                }
                other => panic!("{ctx}: expected send, got {other:?}"),
            }
        } else if let Some(until) = step.get("wait") {
            match session.poll(now) {
                Action::Wait(u) => assert_eq!(
                    u.as_millis(),
                    until.as_u64().expect("wait ms"),
                    "{ctx}: wait until"
                ),
                other => panic!("{ctx}: expected wait, got {other:?}"),
            }
        } else if let Some(err) = step.get("poll_failed") {
            match session.poll(now) {
                Action::Failed(e) => check_error(&ctx, &e, err),
                other => panic!("{ctx}: expected failure, got {other:?}"),
            }
        } else if step.get("idle").is_some() {
            match session.poll(now) {
                Action::Idle => {}
                other => panic!("{ctx}: expected idle, got {other:?}"),
            }
        } else if let Some(resp) = step.get("respond") {
            let expected = &step["expect"];
            if let Some(raw) = resp.get("raw").and_then(Value::as_str) {
                let raw = raw.as_bytes().to_vec();
                let size = if chunk == 0 { raw.len().max(1) } else { chunk };
                feed_raw(&mut session, &raw, size, &mut buf, now, &ctx, expected);
            } else {
                let body = load_body(resp);
                let status = resp["status"].as_u64().expect("status") as u16;
                let retry_after = resp
                    .get("retry_after")
                    .and_then(Value::as_u64)
                    .map(|s| s as u32);
                let response = Response::from_parts(status, retry_after, &body);
                let id = awaited(&session);
                let event = session.on_response(id, &response, now);
                check_event(&ctx, event, expected);
            }
        } else if let Some(name) = step.get("transport_error").and_then(Value::as_str) {
            let err = TransportError::from_name(name).expect("transport error name");
            let id = awaited(&session);
            let event = session.on_transport_error(id, err, now);
            check_event(&ctx, event, &step["expect"]);
        } else {
            panic!("{ctx}: unknown step {step}");
        }
    }
}

#[test]
fn all_vectors() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("tests/vectors")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut names = std::collections::HashSet::new();
    let mut count = 0;
    for file in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
        for case in doc["cases"].as_array().expect("cases") {
            if case.get("merge").is_some() || case.get("user_data").is_some() {
                // Merging pages and user data are the driver's (vpc-imds-driver runs these).
                continue;
            }
            let name = case["name"].as_str().expect("name").to_owned();
            assert!(names.insert(name.clone()), "duplicate case name {name}");
            let has_raw = case["steps"]
                .as_array()
                .is_some_and(|s| s.iter().any(|st| st.pointer("/respond/raw").is_some()));
            let chunkings: &[usize] = if has_raw { &[0, 1, 7] } else { &[0] };
            for &chunk in chunkings {
                run_case(case, chunk);
            }
            count += 1;
        }
    }
    println!("{count} vectors passed from {} files", files.len());
    assert!(count >= 60, "expected at least 60 vectors, found {count}");
}
