//! Runs every case in `tests/vectors/*.json` through the driver: the session cases
//! step by step, the page-merging cases through `PageMerger`, and the user-data
//! cases through `user_data_parts` and `is_multipart`.
//!
//! The driver returns the next action as soon as a response is fed, where the bare
//! core returns "pending" and waits for a poll; so a `pending` expectation keeps
//! that next action as the answer to the following `send`/`wait`/`poll_failed`
//! step (which the vectors always give at the same time). A failure comes out of
//! the driver once: a `poll_failed` that repeats the failure just fed (the core's
//! second report, for hosts of the bare core) is checked as the driver being idle.

// Errors carry IBM's message inline, as in the core.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};
use vpc_imds_driver::core::response::Response;
use vpc_imds_driver::{
    is_multipart, merge_pages, user_data_parts, Args, Driver, Error, Input, Instant, LocalTokens,
    Operation, OwnedRequest, Settings, Step, TransportError,
};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn settings_from(v: &Value) -> (Settings, u64) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let ms = |k: &str| v.get(k).and_then(Value::as_u64).map(Duration::from_millis);
    let settings = Settings {
        endpoint: s("endpoint"),
        version: s("version"),
        token_lifetime: v
            .get("token_lifetime")
            .and_then(Value::as_u64)
            .map(|n| n as u32),
        timeout: ms("operation_timeout_ms"),
        request_timeout: ms("request_timeout_ms"),
        max_attempts: v
            .get("max_attempts")
            .and_then(Value::as_u64)
            .map(|n| n as u32),
        base_delay: ms("base_delay_ms"),
        max_delay: ms("max_delay_ms"),
        max_response_bytes: Some(v.get("buffer").and_then(Value::as_u64).unwrap_or(65536) as usize),
        ..Settings::default()
    };
    (settings, v.get("seed").and_then(Value::as_u64).unwrap_or(1))
}

fn op_from(v: &Value) -> Result<Operation<'_>, Error> {
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
    Ok(Operation::from_name(s("op").expect("op name"), &args)?)
}

/// A step's outcome, detached from the driver.
#[derive(Debug)]
enum Outcome {
    Send(OwnedRequest),
    Wait(u64),
    Page(&'static str, Value),
    Done(&'static str, Value),
    Failed(Error),
    Idle,
    /// Read, WaitForToken or Stale, which no vector expects.
    #[allow(dead_code)] // shown by Debug in failures
    Unexpected(String),
}

fn detach(step: Step<'_>) -> Outcome {
    match step {
        Step::Send(r) => Outcome::Send(r.clone()),
        Step::Wait(u) => Outcome::Wait(u.as_millis()),
        Step::Page(r) => {
            Outcome::Page(r.type_name(), serde_json::to_value(&r).expect("serializes"))
        }
        Step::Done(r) => {
            Outcome::Done(r.type_name(), serde_json::to_value(&r).expect("serializes"))
        }
        Step::Failed(e) => Outcome::Failed(e),
        Step::Idle => Outcome::Idle,
        other => Outcome::Unexpected(format!("{other:?}")),
    }
}

fn lookup(v: &Value, path: &str) -> Value {
    let parts: Vec<&str> = path.split('.').collect();
    let mut v = v;
    for (i, part) in parts.iter().enumerate() {
        if *part == "#" && i == parts.len() - 1 {
            return v.as_array().map_or(Value::Null, |a| json!(a.len()));
        }
        v = match v {
            Value::Array(a) => match part.parse::<usize>().ok().and_then(|i| a.get(i)) {
                Some(x) => x,
                None => return Value::Null,
            },
            Value::Object(o) => match o.get(*part) {
                Some(x) => x,
                None => return Value::Null,
            },
            _ => return Value::Null,
        };
    }
    v.clone()
}

fn check_output(ctx: &str, ty: &str, actual: &Value, expected: &Value) {
    assert_eq!(
        ty,
        expected["type"].as_str().expect("type"),
        "{ctx}: output type"
    );
    if let Some(doc) = expected.get("json") {
        assert_eq!(actual, doc, "{ctx}: raw document");
    }
    if let Some(Value::Object(fields)) = expected.get("fields") {
        for (path, want) in fields {
            assert_eq!(&lookup(actual, path), want, "{ctx}: field {path}");
        }
    }
}

fn check_error(ctx: &str, err: &Error, expected: &Value) {
    assert_eq!(
        err.kind().as_str(),
        expected["kind"].as_str().expect("kind"),
        "{ctx}: kind ({err})"
    );
    assert!(
        !err.to_string().contains("eyJ"),
        "{ctx}: error text leaks a token"
    );
    if let Some(status) = expected.get("status") {
        assert_eq!(
            err.status().map(u64::from),
            status.as_u64(),
            "{ctx}: status"
        );
    }
    for key in ["code", "trace", "message"] {
        if let Some(want) = expected.get(key).and_then(Value::as_str) {
            let got = err.api().map(|a| match key {
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

fn check_event(ctx: &str, got: &Outcome, expected: &Value) {
    match (got, expected) {
        (Outcome::Send(_) | Outcome::Wait(_), Value::String(s)) if s == "pending" => {}
        (Outcome::Page(ty, v), e) if e.get("page").is_some() => {
            check_output(ctx, ty, v, &e["page"])
        }
        (Outcome::Done(ty, v), e) if e.get("done").is_some() => {
            check_output(ctx, ty, v, &e["done"])
        }
        (Outcome::Failed(err), e) if e.get("failed").is_some() => {
            check_error(ctx, err, &e["failed"])
        }
        (got, expected) => panic!("{ctx}: expected {expected}, got {got:?}"),
    }
}

fn check_send(ctx: &str, req: &OwnedRequest, want: &Value) {
    if let Some(m) = want.get("method") {
        assert_eq!(req.method().as_str(), m, "{ctx}: method");
    }
    if let Some(t) = want.get("target") {
        assert_eq!(req.target(), t, "{ctx}: target");
    }
    if let Some(h) = want.get("headers") {
        let list: Vec<Value> = req
            .headers()
            .iter()
            .map(|h| json!([h.name, h.value]))
            .collect();
        assert_eq!(&Value::Array(list), h, "{ctx}: headers");
    }
    if let Some(b) = want.get("body") {
        assert_eq!(
            req.body().map(|s| json!(s)).unwrap_or(Value::Null),
            *b,
            "{ctx}: body"
        );
    }
    if let Some(raw) = want.get("raw").and_then(Value::as_str) {
        assert_eq!(String::from_utf8_lossy(req.wire()), raw, "{ctx}: raw");
    }
    assert!(req.url().ends_with(req.target()), "{ctx}: url");
    assert!(
        !format!("{req:?}").contains("eyJ"),
        "{ctx}: Debug leaks the token"
    );
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

fn feed_raw(driver: &mut Driver<&LocalTokens>, raw: &[u8], chunk: usize, now: Instant) -> Outcome {
    let id = driver.awaiting().expect("a request is awaited");
    let size = if chunk == 0 { raw.len().max(1) } else { chunk };
    for piece in raw.chunks(size) {
        match driver.step(now, Input::Bytes(id, piece)) {
            Step::Read => continue,
            step => return detach(step),
        }
    }
    match driver.step(now, Input::Bytes(id, b"")) {
        Step::Read => panic!("the reader wants more after end of stream"),
        step => detach(step),
    }
}

fn run_case(case: &Value, chunk: usize) {
    let name = case["name"].as_str().expect("case name");
    let (settings, seed) = settings_from(&case["config"]);
    let tokens = LocalTokens::new();
    let mut driver = Driver::new(settings.build().expect("settings"), &tokens, seed);
    let mut next: Option<Outcome> = None;
    let mut just_failed = false;
    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        let ctx = format!("{name} [chunk {chunk}] step {i}");
        let now = Instant::from_millis(step["at"].as_u64().unwrap_or(0));
        let mut outcome = || {
            next.take()
                .unwrap_or_else(|| detach(driver.step(now, Input::Tick)))
        };
        if let Some(op) = step.get("start") {
            let result = op_from(op).and_then(|op| driver.start(op, now));
            match (result, step.get("error")) {
                (Ok(()), None) => {}
                (Err(e), Some(want)) => check_error(&ctx, &e, want),
                (r, want) => panic!("{ctx}: start gave {r:?}, expected error {want:?}"),
            }
            just_failed = false;
            continue;
        }
        let failed_before = std::mem::take(&mut just_failed);
        if let Some(want) = step.get("send") {
            match outcome() {
                Outcome::Send(req) => check_send(&ctx, &req, want),
                other => panic!("{ctx}: expected send, got {other:?}"),
            }
        } else if let Some(until) = step.get("wait") {
            match outcome() {
                Outcome::Wait(u) => assert_eq!(u, until.as_u64().expect("ms"), "{ctx}: wait until"),
                other => panic!("{ctx}: expected wait, got {other:?}"),
            }
        } else if let Some(err) = step.get("poll_failed") {
            match outcome() {
                Outcome::Failed(e) => check_error(&ctx, &e, err),
                Outcome::Idle if failed_before => {}
                other => panic!("{ctx}: expected failure, got {other:?}"),
            }
        } else if step.get("idle").is_some() {
            match outcome() {
                Outcome::Idle => {}
                other => panic!("{ctx}: expected idle, got {other:?}"),
            }
        } else if let Some(resp) = step.get("respond") {
            let got = if let Some(raw) = resp.get("raw").and_then(Value::as_str) {
                feed_raw(&mut driver, raw.as_bytes(), chunk, now)
            } else {
                let body = load_body(resp);
                let status = resp["status"].as_u64().expect("status") as u16;
                let retry_after = resp
                    .get("retry_after")
                    .and_then(Value::as_u64)
                    .map(|s| s as u32);
                let id = driver.awaiting().expect("a request is awaited");
                let response = Response::from_parts(status, retry_after, &body);
                detach(driver.step(now, Input::Response(id, response)))
            };
            check_event(&ctx, &got, &step["expect"]);
            just_failed = matches!(got, Outcome::Failed(_));
            if step["expect"] == "pending" {
                next = Some(got);
            }
        } else if let Some(name) = step.get("transport_error").and_then(Value::as_str) {
            let err = TransportError::from_name(name).expect("transport error name");
            let id = driver.awaiting().expect("a request is awaited");
            let got = detach(driver.step(now, Input::TransportError(id, err)));
            check_event(&ctx, &got, &step["expect"]);
            just_failed = matches!(got, Outcome::Failed(_));
            if step["expect"] == "pending" {
                next = Some(got);
            }
        } else {
            panic!("{ctx}: unknown step {step}");
        }
    }
}

fn run_merge(case: &Value) {
    let name = case["name"].as_str().expect("name");
    let pages: Vec<&[u8]> = case["merge"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| p.as_str().expect("page").as_bytes())
        .collect();
    let merged = merge_pages(pages);
    match &case["expect"] {
        Value::String(want) => {
            let got = merged.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(String::from_utf8_lossy(&got), *want, "{name}");
        }
        want => {
            assert_eq!(want["error"], "bad_response", "{name}: expectation");
            assert!(merged.is_err(), "{name}: merged a bad page");
        }
    }
}

fn run_user_data(case: &Value) {
    let name = case["name"].as_str().expect("name");
    let data = BASE64
        .decode(case["user_data"].as_str().expect("user_data"))
        .expect("base64");
    let expect = &case["expect"];
    assert_eq!(
        Value::Bool(is_multipart(&data)),
        expect["multipart"],
        "{name}: is_multipart"
    );
    match user_data_parts(&data) {
        Ok(parts) => {
            let got: Vec<Value> = parts
                .iter()
                .map(|p| {
                    json!({
                        "content_type": p.content_type,
                        "filename": p.filename,
                        "charset": p.charset,
                        "payload": BASE64.encode(&p.payload),
                    })
                })
                .collect();
            assert_eq!(Value::Array(got), expect["parts"], "{name}");
        }
        Err(e) => assert_eq!(Value::from(e.to_string()), expect["error"], "{name}"),
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
    let (mut sessions, mut merges, mut user_data) = (0, 0, 0);
    for file in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
        for case in doc["cases"].as_array().expect("cases") {
            if case.get("user_data").is_some() {
                run_user_data(case);
                user_data += 1;
                continue;
            }
            if case.get("merge").is_some() {
                run_merge(case);
                merges += 1;
                continue;
            }
            let has_raw = case["steps"]
                .as_array()
                .is_some_and(|s| s.iter().any(|st| st.pointer("/respond/raw").is_some()));
            for &chunk in if has_raw { &[0, 1, 7][..] } else { &[0][..] } {
                run_case(case, chunk);
            }
            sessions += 1;
        }
    }
    println!(
        "{sessions} session, {merges} merge and {user_data} user-data vectors passed through the driver"
    );
    assert!(
        sessions >= 100 && merges >= 5 && user_data >= 10,
        "too few vectors: {sessions} + {merges} + {user_data}"
    );
}
