//! Fault injection (library and control API), counters and the request log.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use vpc_imds_emulator::{
    DropStage, Emulator, FaultAction, FaultError, FaultRule, Faults, HEAD_CUT_BYTES,
};

fn instance_path() -> String {
    format!("/metadata/v1/instance?version={V_NEW}")
}

#[test]
fn next_n_requests_fail_then_recover() {
    let emu = start();
    let tok = token(&emu);
    emu.control().fail_next(2, 503).unwrap();
    for _ in 0..2 {
        let e = get(&emu, &instance_path(), &tok).ibm_error(503, "service_error");
        assert!(e["message"].as_str().unwrap().contains("503"));
    }
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
    assert!(
        emu.control().faults().rules.is_empty(),
        "used-up rules are removed"
    );
    let c = emu.control().counters();
    assert_eq!(c.faults_injected, 2);
    assert_eq!(c.metadata_gets, 1);
    assert_eq!(c.by_status.get(&503), Some(&2));
    let log = emu.control().requests();
    assert_eq!(log[1].fault.as_deref(), Some("status 503"));
    assert_eq!(log[1].status, Some(503));
}

#[test]
fn rate_limit_with_retry_after_on_a_route_prefix() {
    let emu = start();
    let tok = token(&emu);
    emu.control()
        .add_fault(FaultRule::rate_limited(7).times(1).on_prefix("/identity/"))
        .unwrap();
    // Other routes are untouched.
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
    let r = token_with(&emu, V_NEW, "{}");
    r.ibm_error(429, "too_many_requests");
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
    // Validation.
    assert!(emu.control().fail_next(1, 200).is_err());
    assert!(emu
        .control()
        .add_fault(FaultRule::status(500).on_prefix("identity"))
        .is_err());
}

#[test]
fn added_latency() {
    let emu = start();
    let tok = token(&emu);
    emu.control().set_latency(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    emu.control().set_latency(Duration::ZERO);
    assert_eq!(emu.control().faults().latency_ms, 0);
}

#[test]
fn drop_mid_headers_closes_the_socket_inside_the_head() {
    let emu = start();
    let tok = token(&emu);
    emu.control()
        .add_fault(FaultRule::drop_connection(DropStage::MidHeaders).times(1))
        .unwrap();
    let req = build(
        "x",
        "GET",
        &instance_path(),
        &[("Authorization", &format!("Bearer {tok}"))],
        None,
    );
    let out = raw(emu.addr(), &req, Duration::from_secs(5)).expect("closed, not hung");
    assert_eq!(
        out.len(),
        HEAD_CUT_BYTES,
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(!out.windows(4).any(|w| w == b"\r\n\r\n"));
    // The next request is whole again.
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
    let log = emu.control().requests();
    let entry = log.iter().find(|e| e.fault.is_some()).unwrap();
    assert_eq!(entry.fault.as_deref(), Some("drop mid_headers"));
    assert_eq!(entry.status, None);
}

#[test]
fn drop_mid_body_sends_the_head_and_part_of_the_body() {
    let emu = start();
    let tok = token(&emu);
    emu.control()
        .add_fault(
            FaultRule::drop_connection(DropStage::MidBody)
                .times(1)
                .on_prefix("/metadata/"),
        )
        .unwrap();
    let req = build(
        "x",
        "GET",
        &instance_path(),
        &[("Authorization", &format!("Bearer {tok}"))],
        None,
    );
    let out = raw(emu.addr(), &req, Duration::from_secs(5)).expect("closed, not hung");
    let head_end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete head")
        + 4;
    let head = String::from_utf8_lossy(&out[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"));
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let body = &out[head_end..];
    assert_eq!(body.len(), len / 2, "half the body, then EOF");
    assert!(serde_json::from_slice::<Value>(body).is_err());
    // Token creation is not under /metadata/ and is unaffected.
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
}

/// Reads one response with a `content-length` from a kept-alive connection.
fn read_one(s: &mut std::net::TcpStream) -> Resp {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "connection open");
        buf.push(byte[0]);
    }
    let len: usize = String::from_utf8_lossy(&buf)
        .to_ascii_lowercase()
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |l| l.trim().parse().unwrap());
    let mut body = vec![0; len];
    s.read_exact(&mut body).unwrap();
    buf.extend_from_slice(&body);
    parse(&buf)
}

/// A request head for a kept-alive connection (no `Connection: close`).
fn keep_alive(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    [req.as_bytes(), body].concat()
}

#[test]
fn drop_before_response_closes_a_kept_alive_connection_without_a_byte() {
    use std::io::{Read, Write};
    let emu = start();
    let tok = token(&emu);
    let auth = format!("Bearer {tok}");
    let get_instance = keep_alive("GET", &instance_path(), &[("Authorization", &auth)], b"");
    let mut s = std::net::TcpStream::connect(emu.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // A first request on the connection is answered and the connection kept.
    s.write_all(&get_instance).unwrap();
    assert_eq!(read_one(&mut s).status, 200);

    emu.control()
        .add_fault(
            FaultRule::drop_connection(DropStage::BeforeResponse)
                .times(1)
                .on_prefix("/metadata/v1/instance"),
        )
        .unwrap();
    // The second request on the same connection: read, then a clean close
    // (EOF, not a reset) with nothing written.
    s.write_all(&get_instance).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("a clean close");
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));

    // A request with a body (read before the close) is not acted on: no token.
    let token_path = format!("/identity/v1/token?version={V_NEW}");
    emu.control()
        .add_fault(FaultRule::drop_connection(DropStage::BeforeResponse).times(1))
        .unwrap();
    let req = keep_alive(
        "PUT",
        &token_path,
        &[("Metadata-Flavor", "ibm")],
        br#"{"expires_in":60}"#,
    );
    assert_eq!(raw(emu.addr(), &req, Duration::from_secs(5)).unwrap(), b"");

    // The rule is spent: a new connection is answered.
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
    let c = emu.control().counters();
    assert_eq!(c.by_route["GET /metadata/v1/instance"], 3);
    assert_eq!(c.metadata_gets, 2, "the dropped request was not answered");
    assert_eq!(c.by_route["PUT /identity/v1/token"], 2);
    assert_eq!(c.token_creations, 1);
    assert_eq!(c.faults_injected, 2);
    let log = emu.control().requests();
    let dropped: Vec<_> = log.iter().filter(|e| e.fault.is_some()).collect();
    assert_eq!(dropped.len(), 2);
    for e in dropped {
        assert_eq!(e.fault.as_deref(), Some("drop before_response"));
        assert_eq!(e.status, None);
    }
}

#[test]
fn raw_body_is_served_exactly_as_given() {
    let emu = start();
    let tok = token(&emu);
    // Text serde_json refuses: a number out of range and a lone surrogate escape.
    let text = r##"{"memory":1e999,"user_data":"#!/bin/sh\n\ud800"}"##;
    assert!(serde_json::from_str::<Value>(text).is_err());
    emu.control()
        .add_fault(
            FaultRule::body(text)
                .times(2)
                .on_prefix("/metadata/v1/instance/initialization"),
        )
        .unwrap();
    // Other routes are untouched.
    assert!(get(&emu, &instance_path(), &tok).json()["memory"].is_u64());
    let init = format!("/metadata/v1/instance/initialization?version={V_NEW}");
    for _ in 0..2 {
        // No token needed: the fault answers before authentication.
        let r = get(&emu, &init, "not-a-token");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.body, text.as_bytes());
    }
    assert!(get(&emu, &init, &tok).json()["user_data"].is_string());
    assert!(emu.control().faults().rules.is_empty());
    let c = emu.control().counters();
    assert_eq!(c.faults_injected, 2);
    assert_eq!(c.metadata_gets, 2);
    assert_eq!(c.by_route["GET /metadata/v1/instance/initialization"], 3);
    let log = emu.control().requests();
    let entry = log.iter().find(|e| e.fault.is_some()).unwrap();
    assert_eq!(entry.fault.as_deref(), Some("body"));
    assert_eq!(entry.status, Some(200));

    // Until cleared, with another status, and not JSON at all.
    emu.control()
        .add_fault(FaultRule::new(FaultAction::Body {
            status: 502,
            body: "<html>bad gateway</html>".into(),
        }))
        .unwrap();
    for _ in 0..3 {
        let r = token_with(&emu, V_NEW, "{}");
        assert_eq!(r.status, 502);
        assert_eq!(r.body, b"<html>bad gateway</html>");
    }
    emu.control().clear_faults();
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
    assert_eq!(
        emu.control().add_fault(FaultRule::new(FaultAction::Body {
            status: 600,
            body: String::new(),
        })),
        Err(FaultError::InvalidBodyStatus(600))
    );
}

#[test]
fn black_hole_holds_the_connection_until_cleared_or_shutdown() {
    let emu = start();
    let tok = token(&emu);
    emu.control()
        .add_fault(FaultRule::black_hole().times(1))
        .unwrap();
    let req = build(
        "x",
        "GET",
        &instance_path(),
        &[("Authorization", &format!("Bearer {tok}"))],
        None,
    );
    let t = Instant::now();
    let err = raw(emu.addr(), &req, Duration::from_millis(700)).expect_err("no answer");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert!(t.elapsed() >= Duration::from_millis(700));
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
    assert_eq!(
        emu.control()
            .requests()
            .iter()
            .filter(|e| e.fault.as_deref() == Some("black_hole"))
            .count(),
        1
    );

    // An open black-holed connection does not stop a prompt shutdown.
    emu.control().add_fault(FaultRule::black_hole()).unwrap();
    let addr = emu.addr();
    let held = std::thread::spawn(move || raw(addr, &req, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    emu.shutdown();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let got = held.join().unwrap().expect("closed by shutdown");
    assert!(got.is_empty());
    assert!(std::net::TcpStream::connect(addr).is_err(), "port closed");
}

#[test]
fn disabled_service_is_403_unauthorized() {
    let emu = start();
    let tok = token(&emu);
    emu.control().set_enabled(false);
    let e = token_with(&emu, V_NEW, "{}").ibm_error(403, "unauthorized");
    assert_eq!(e["message"], "metadata service not enabled");
    get(&emu, &instance_path(), &tok).ibm_error(403, "unauthorized");
    emu.control().set_enabled(true);
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
}

#[test]
fn faults_given_at_start() {
    let faults = Faults {
        latency_ms: 0,
        disabled: false,
        rules: vec![FaultRule::status(500).times(1)],
    };
    let emu = Emulator::builder().faults(faults).start().unwrap();
    token_with(&emu, V_NEW, "{}").ibm_error(500, "service_error");
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
    let bad = Faults {
        rules: vec![FaultRule::status(302)],
        ..Faults::default()
    };
    assert!(Emulator::builder().faults(bad).start().is_err());
}

#[test]
fn counters_by_route_and_outcome() {
    let emu = start();
    let tok = token(&emu);
    let auth = format!("Bearer {tok}");
    get(&emu, &instance_path(), &tok);
    get(&emu, &instance_path(), "bad");
    get(
        &emu,
        &format!("/metadata/v1/keys/r000-99999999-0000-4000-8000-000000000001?version={V_NEW}"),
        &tok,
    );
    request(
        emu.addr(),
        "POST",
        &format!("/identity/v1/iam_tokens?version={V_NEW}"),
        &[("Authorization", &auth)],
        None,
    );
    request(
        emu.addr(),
        "PUT",
        &format!("/instance_identity/v1/token?version={V_OLD}"),
        &[("Metadata-Flavor", "ibm")],
        None,
    );
    let c = emu.control().counters();
    assert_eq!(c.requests, 6);
    assert_eq!(c.token_creations, 2);
    assert_eq!(c.iam_token_exchanges, 1);
    assert_eq!(c.metadata_gets, 2);
    assert_eq!(c.unauthenticated, 1);
    assert_eq!(c.by_route["GET /metadata/v1/instance"], 2);
    assert_eq!(c.by_route["GET /metadata/v1/keys/{id}"], 1);
    assert_eq!(c.by_route["PUT /identity/v1/token"], 1);
    assert_eq!(c.by_route["PUT /instance_identity/v1/token"], 1);
    assert_eq!(c.by_route["POST /identity/v1/iam_tokens"], 1);
    assert_eq!(c.by_status[&200], 5);
    emu.control().reset_counters();
    assert_eq!(emu.control().counters().requests, 0);
}

#[test]
fn request_log_never_contains_tokens() {
    let emu = start();
    let tok = token(&emu);
    get(
        &emu,
        &format!("/metadata/v1/instance?version={V_NEW}&access_token={tok}"),
        &tok,
    );
    get(
        &emu,
        &format!("/metadata/v1/keys/{tok}?version={V_NEW}"),
        &tok,
    );
    let log = emu.control().requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "PUT");
    assert_eq!(log[0].path, format!("/identity/v1/token?version={V_NEW}"));
    assert_eq!(log[0].authorization, None);
    assert_eq!(log[1].authorization.as_deref(), Some("Bearer [REDACTED]"));
    assert_eq!(log[2].status, Some(404));
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&tok));
    // Not even the signature or payload part.
    for part in tok.split('.') {
        assert!(!text.contains(part));
    }
    let over_http = control(&emu, "GET", "/requests", None);
    assert!(!String::from_utf8_lossy(&over_http.body).contains(&tok));
    emu.control().clear_requests();
    assert!(emu.control().requests().is_empty());
}

#[test]
fn control_api_over_http() {
    let emu = start();
    let tok = token(&emu);
    let ok = |r: Resp| -> Value {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("content-type"), Some("application/json"));
        r.json()
    };
    assert_eq!(ok(control(&emu, "GET", "/health", None))["ok"], true);
    assert!(
        ok(control(&emu, "GET", "/", None))["endpoints"]
            .as_array()
            .unwrap()
            .len()
            > 10
    );

    // Latency.
    let f = ok(control(
        &emu,
        "PUT",
        "/faults/latency",
        Some(r#"{"ms":250}"#),
    ));
    assert_eq!(f["latency_ms"], 250);
    let t = Instant::now();
    get(&emu, &instance_path(), &tok);
    assert!(t.elapsed() >= Duration::from_millis(250));
    ok(control(&emu, "PUT", "/faults/latency", Some(r#"{"ms":0}"#)));

    // Fail next N, with Retry-After and a prefix.
    let f = ok(control(
        &emu,
        "POST",
        "/faults/fail",
        Some(r#"{"status":429,"count":1,"retry_after":3,"route_prefix":"/metadata/"}"#),
    ));
    assert_eq!(
        f["rules"][0]["action"],
        json!({"kind":"status","status":429,"retry_after":3})
    );
    let r = get(&emu, &instance_path(), &tok);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("3"));
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);

    // A second Retry-After line, after the first.
    ok(control(
        &emu,
        "POST",
        "/faults/fail",
        Some(r#"{"status":503,"count":1,"retry_after":1,"retry_after_repeat":60}"#),
    ));
    let r = get(&emu, &instance_path(), &tok);
    let lines: Vec<&str> = (r.headers.iter())
        .filter(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!((r.status, lines), (503, vec!["1", "60"]));
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);

    // Drop.
    ok(control(
        &emu,
        "POST",
        "/faults/drop",
        Some(r#"{"stage":"mid_headers","count":1}"#),
    ));
    let req = build(
        "x",
        "GET",
        &instance_path(),
        &[("Authorization", &format!("Bearer {tok}"))],
        None,
    );
    assert_eq!(
        raw(emu.addr(), &req, Duration::from_secs(5)).unwrap().len(),
        HEAD_CUT_BYTES
    );

    // Drop before any byte.
    ok(control(
        &emu,
        "POST",
        "/faults/drop",
        Some(r#"{"stage":"before_response","count":1}"#),
    ));
    assert_eq!(raw(emu.addr(), &req, Duration::from_secs(5)).unwrap(), b"");

    // A raw body, as given (here: a lone surrogate escape and 1e999).
    let f = ok(control(
        &emu,
        "POST",
        "/faults/body",
        Some(r#"{"body":"{\"a\":\"\\ud800\",\"n\":1e999}","count":1,"route_prefix":"/metadata/"}"#),
    ));
    assert_eq!(
        f["rules"][0]["action"],
        json!({"kind":"body","status":200,"body":r#"{"a":"\ud800","n":1e999}"#})
    );
    let r = get(&emu, &instance_path(), &tok);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, br#"{"a":"\ud800","n":1e999}"#);
    assert_eq!(
        get(&emu, &instance_path(), &tok).json()["name"],
        "emu-vsi-1"
    );
    ok(control(
        &emu,
        "POST",
        "/faults/body",
        Some(r#"{"body":"","status":503,"count":1}"#),
    ));
    let r = get(&emu, &instance_path(), &tok);
    assert_eq!((r.status, r.body.len()), (503, 0));

    // Black hole, then clear it.
    ok(control(
        &emu,
        "POST",
        "/faults/black_hole",
        Some(r#"{"route_prefix":"/metadata/"}"#),
    ));
    assert!(raw(emu.addr(), &req, Duration::from_millis(300)).is_err());
    assert_eq!(
        ok(control(&emu, "DELETE", "/faults", None)),
        json!({"latency_ms":0,"disabled":false,"rules":[]})
    );
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);

    // Generic rule and whole-config replacement.
    ok(control(
        &emu,
        "POST",
        "/faults/rules",
        Some(r#"{"action":{"kind":"status","status":502},"count":1}"#),
    ));
    get(&emu, &instance_path(), &tok).ibm_error(502, "service_error");
    let cfg = r#"{"latency_ms":0,"disabled":true,"rules":[]}"#;
    ok(control(&emu, "PUT", "/faults", Some(cfg)));
    get(&emu, &instance_path(), &tok).ibm_error(403, "unauthorized");
    assert_eq!(ok(control(&emu, "GET", "/faults", None))["disabled"], true);
    ok(control(
        &emu,
        "PUT",
        "/service",
        Some(r#"{"enabled":true}"#),
    ));
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);

    // Tokens and clock.
    ok(control(&emu, "POST", "/tokens/expire", None));
    get(&emu, &instance_path(), &tok).ibm_error(401, "unauthenticated");
    let tok2 = token_with(&emu, V_NEW, r#"{"expires_in":60}"#).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = ok(control(
        &emu,
        "POST",
        "/clock/advance",
        Some(r#"{"seconds":61}"#),
    ));
    assert!(now["now"].as_str().unwrap().ends_with('Z'));
    get(&emu, &instance_path(), &tok2).ibm_error(401, "unauthenticated");

    // Counters and log.
    let c = ok(control(&emu, "GET", "/counters", None));
    assert!(c["requests"].as_u64().unwrap() >= 10);
    assert!(c["unauthenticated"].as_u64().unwrap() >= 2);
    assert!(c["by_route"]["GET /metadata/v1/instance"].as_u64().unwrap() >= 8);
    assert_eq!(
        ok(control(&emu, "DELETE", "/counters", None))["requests"],
        0
    );
    assert!(!ok(control(&emu, "GET", "/requests", None))
        .as_array()
        .unwrap()
        .is_empty());
    ok(control(&emu, "DELETE", "/requests", None));
    assert!(ok(control(&emu, "GET", "/requests", None))
        .as_array()
        .unwrap()
        .is_empty());
    ok(control(
        &emu,
        "POST",
        "/faults/fail",
        Some(r#"{"status":500}"#),
    ));
    ok(control(&emu, "POST", "/reset", None));
    assert!(emu.control().faults().rules.is_empty());

    // Bad input.
    for (m, p, body, status) in [
        ("POST", "/faults/fail", Some(r#"{"status":200}"#), 400),
        (
            "POST",
            "/faults/fail",
            Some(r#"{"status":500,"route_prefix":"metadata"}"#),
            400,
        ),
        (
            "POST",
            "/faults/fail",
            Some(r#"{"status":500,"colour":1}"#),
            400,
        ),
        ("POST", "/faults/fail", None, 400),
        ("POST", "/faults/drop", Some(r#"{"stage":"sideways"}"#), 400),
        ("POST", "/faults/body", Some("{}"), 400),
        ("POST", "/faults/body", None, 400),
        (
            "POST",
            "/faults/body",
            Some(r#"{"body":"x","status":199}"#),
            400,
        ),
        ("GET", "/faults/body", None, 405),
        ("PUT", "/faults", Some("{"), 400),
        ("PUT", "/faults/latency", Some(r#"{"ms":-1}"#), 400),
        ("GET", "/nope", None, 404),
        ("GET", "/faults/fail", None, 405),
        ("POST", "/counters", None, 405),
    ] {
        let r = control(&emu, m, p, body);
        assert_eq!(r.status, status, "{m} {p} {body:?}");
        assert!(r.json()["error"].is_string());
        // IBM-shaped as well: errors[], status_code, trace.
        let code = match status {
            404 => "not_found",
            405 => "method_not_allowed",
            _ => "invalid_request",
        };
        let e = r.ibm_error(status, code);
        assert_eq!(e["message"], r.json()["error"]);
    }
}

/// Issue 10 item 6: a jump of 2^64 s (or 2^64 - 1, which used to saturate the
/// clock so that every new token was born expired) is refused with a 400.
#[test]
fn absurd_clock_jumps_are_refused() {
    let emu = start();
    let before = emu.control().now_ms();
    let century = vpc_imds_emulator::MAX_CLOCK_OFFSET.as_secs();
    assert_eq!(century, 3_155_760_000);
    for seconds in [
        "18446744073709551616".to_owned(), // 2^64
        "18446744073709551615".to_owned(), // 2^64 - 1
        "9223372036854775807".to_owned(),
        "1e300".to_owned(),
        (century + 1).to_string(),
        "-1".to_owned(),
        "1.5".to_owned(),
    ] {
        let body = format!(r#"{{"seconds":{seconds}}}"#);
        let r = control(&emu, "POST", "/clock/advance", Some(&body));
        let e = r.ibm_error(400, "invalid_value");
        assert_eq!(e["target"]["name"], "seconds", "{seconds}");
        assert_eq!(e["target"]["type"], "field");
        assert!(r.json()["error"].is_string());
    }
    // Nothing moved, and tokens still live their full lifetime.
    let now = emu.control().now_ms();
    assert!(now - before < 60_000, "{before} -> {now}");
    let tok = token(&emu);
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);

    // A century ahead is allowed, once: new tokens are valid there.
    let r = control(
        &emu,
        "POST",
        "/clock/advance",
        Some(&format!(r#"{{"seconds":{}}}"#, century - 3600)),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json()["now"].as_str().unwrap().starts_with("21"),
        "{:?}",
        r.json()
    );
    let tok = token(&emu);
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
    // Further jumps count against the same limit.
    let r = control(&emu, "POST", "/clock/advance", Some(r#"{"seconds":7200}"#));
    let e = r.ibm_error(400, "invalid_value");
    assert!(e["message"].as_str().unwrap().contains("3155760000"), "{e}");
    assert_eq!(get(&emu, &instance_path(), &tok).status, 200);
    assert!(control(&emu, "POST", "/clock/advance", Some(r#"{"seconds":3600}"#)).status == 200);

    // The library call refuses the same way and changes nothing.
    let c = emu.control();
    let now = c.now_ms();
    let err = c.advance_clock(Duration::MAX).unwrap_err();
    assert_eq!(err.requested, Duration::MAX);
    assert!(err.ahead.as_secs() >= century - 1, "{err:?}");
    assert!(c.advance_clock(Duration::from_secs(1)).is_err());
    assert!(c.now_ms() - now < 60_000);
    assert!(c.advance_clock(Duration::ZERO).is_ok());
}
