//! The ABI through its extern functions: every path total, records as documented.
use std::ptr::{null, null_mut};

use vpc_imds_c::*;

fn new(settings: &str) -> Result<*mut VpcImds, String> {
    let mut err = [0u8; 512];
    let mut len = 0usize;
    let m = unsafe {
        vpc_imds_new(
            settings.as_ptr(),
            settings.len(),
            7,
            err.as_mut_ptr(),
            err.len(),
            &mut len,
        )
    };
    if m.is_null() {
        Err(String::from_utf8_lossy(&err[..len.min(err.len())]).into_owned())
    } else {
        Ok(m)
    }
}

fn output(m: *mut VpcImds) -> Vec<u8> {
    let mut len = 0;
    let p = unsafe { vpc_imds_output(m, &mut len) };
    unsafe { std::slice::from_raw_parts(p, len) }.to_vec()
}

fn start(m: *mut VpcImds, name: &str, args: &str) -> i64 {
    unsafe { vpc_imds_start(m, name.as_ptr(), name.len(), args.as_ptr(), args.len(), 0) }
}

fn step(m: *mut VpcImds, op: i64, kind: i32, bytes: &[u8]) -> (i32, Vec<u8>) {
    let code = unsafe { vpc_imds_step(m, op as u64, 1, kind, bytes.as_ptr(), bytes.len()) };
    (code, output(m))
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const ENDPOINT: &str = r#"{"endpoint":"http://127.0.0.1:9"}"#;

#[test]
fn settings_are_validated_and_errors_are_records() {
    let e = new(r#"{"endpoint":"ftp://x"}"#).unwrap_err();
    let v: serde_json::Value = serde_json::from_str(&e).unwrap();
    assert_eq!(v["kind"], "invalid_input");
    for bad in [
        r#"{"timeout":0}"#,
        r#"{"max_attempts":0}"#,
        r#"{"nope":1}"#,
        "{",
        "[1]",
        "\u{0}",
        r#"{"timeout":-1}"#,
        r#"{"timeout":"1"}"#,
        r#"{"max_attempts":1.5}"#,
        r#"{"secure":[true]}"#,
    ] {
        let e = new(bad).unwrap_err();
        assert!(e.contains("\"invalid_input\""), "{bad}: {e}");
    }
    // Null error buffer: still no crash.
    let m = unsafe { vpc_imds_new(b"{".as_ptr(), 1, 0, null_mut(), 0, null_mut()) };
    assert!(m.is_null());
    let m = unsafe { vpc_imds_new(null(), 5, 0, null_mut(), 0, null_mut()) };
    assert!(m.is_null());
    let m = new("").unwrap();
    unsafe { vpc_imds_free(m) };
    let m = new(r#"{"endpoint":"http://127.0.0.1:1","timeout":1.5,"connect_timeout":0.1,"request_timeout":0.5,"max_attempts":2,"base_delay":0,"max_delay":0.01,"max_response_bytes":2048,"version":"2024-11-12","token_lifetime":60,"secure":false}"#).unwrap();
    unsafe { vpc_imds_free(m) };
}

#[test]
fn misuse_is_refused_without_a_crash() {
    unsafe {
        assert_eq!(
            vpc_imds_step(null_mut(), 1, 0, 0, null(), 0),
            VPC_IMDS_MISUSE
        );
        assert_eq!(vpc_imds_start(null_mut(), null(), 0, null(), 0, 0), -1);
        assert_eq!(vpc_imds_poll_woken(null_mut()), -1);
        assert_eq!(vpc_imds_cancel(null_mut(), 1), -1);
        assert_eq!(vpc_imds_expire_idle(null_mut(), 1), 0);
        vpc_imds_free(null_mut());
        vpc_imds_dealloc(null_mut(), 3);
    }
    let m = new(ENDPOINT).unwrap();
    assert_eq!(start(m, "no_such_op", ""), -1);
    assert!(String::from_utf8(output(m))
        .unwrap()
        .contains("invalid_input"));
    assert_eq!(start(m, "key", r#"{"id":"a/../b"}"#), -1);
    assert_eq!(start(m, "instance", r#"{"id":"\ud800"}"#), -1);
    assert_eq!(start(m, "instance", r#"{"bogus":1}"#), -1);
    assert_eq!(
        unsafe { vpc_imds_start(m, [0xff, 0xfe].as_ptr(), 2, null(), 0, 0) },
        -1
    );
    assert_eq!(unsafe { vpc_imds_start(m, null(), 4, null(), 0, 0) }, -1);
    let op = start(m, "instance", "");
    assert!(op >= 0);
    assert_eq!(step(m, op, 9, b"").0, VPC_IMDS_MISUSE);
    assert_eq!(
        step(m, op, VPC_IMDS_INPUT_FAILED, b"gremlins").0,
        VPC_IMDS_MISUSE
    );
    assert_eq!(
        unsafe { vpc_imds_step(m, op as u64, 0, 1, null(), 3) },
        VPC_IMDS_MISUSE
    );
    // Bytes with no request in flight, an unknown op: failed records.
    assert_eq!(step(m, op + 100, 0, b"").0, VPC_IMDS_FAILED);
    let (code, _) = step(m, op, VPC_IMDS_INPUT_TICK, b"");
    assert_eq!(code, VPC_IMDS_SEND);
    assert_eq!(unsafe { vpc_imds_cancel(m, op as u64) }, 1);
    assert_eq!(unsafe { vpc_imds_cancel(m, op as u64) }, -1);
    unsafe { vpc_imds_free(m) };
    let p = vpc_imds_alloc(0);
    assert!(!p.is_null());
    unsafe { vpc_imds_dealloc(p, 0) };
}

#[test]
fn a_cached_instance_through_the_abi() {
    let m = new(r#"{"endpoint":"http://127.0.0.1:80","secure":true}"#).unwrap();
    assert_eq!(unsafe { vpc_imds_endpoint(m) }, 21);
    assert_eq!(output(m), b"https://127.0.0.1:443");
    unsafe { vpc_imds_free(m) };
    let m = new(ENDPOINT).unwrap();
    unsafe { vpc_imds_endpoint(m) };
    assert_eq!(output(m), b"http://127.0.0.1:9");
    for (given, url) in [
        ("http://[fd00::1]:8080", &b"http://[fd00::1]:8080"[..]),
        ("http://[::1]", b"http://[::1]:80"),
    ] {
        let v6 = new(&format!(r#"{{"endpoint":"{given}"}}"#)).unwrap();
        unsafe { vpc_imds_endpoint(v6) };
        assert_eq!(output(v6), url, "{given}");
        unsafe { vpc_imds_free(v6) };
    }
    let op = start(m, "instance", "");
    let (code, out) = step(m, op, VPC_IMDS_INPUT_TICK, b"");
    assert_eq!(code, VPC_IMDS_SEND);
    assert_eq!(u64::from_le_bytes(out[0..8].try_into().unwrap()), 1); // conn
    assert_eq!(u64::from_le_bytes(out[8..16].try_into().unwrap()), 1000); // connect timeout
    assert_eq!(out[24], 1); // fresh
    assert!(out[VPC_IMDS_SEND_HEADER..].starts_with(b"PUT /identity/v1/token?version="));
    let token = r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.c2ln","expires_in":300}"#;
    let (code, out) = step(m, op, VPC_IMDS_INPUT_BYTES, &ok(token));
    assert_eq!(code, VPC_IMDS_SEND);
    assert_eq!(out[24], 0); // the kept-alive connection
    assert!(out[VPC_IMDS_SEND_HEADER..].starts_with(b"GET /metadata/v1/instance?version="));
    let doc = r#"{"id":"0717_x","crn":"crn:x","name":"vm"}"#;
    let answer = ok(doc);
    let (code, _) = step(m, op, VPC_IMDS_INPUT_BYTES, &answer[..10]);
    assert_eq!(code, VPC_IMDS_READ);
    let (code, out) = step(m, op, VPC_IMDS_INPUT_BYTES, &answer[10..]);
    assert_eq!(code, VPC_IMDS_DONE);
    assert_eq!(&out[1..1 + out[0] as usize], b"instance");
    assert_eq!(&out[1 + out[0] as usize..], doc.as_bytes());
    unsafe { vpc_imds_free(m) };
}

#[test]
fn a_second_operation_awaits_the_token_and_is_woken() {
    let m = new(ENDPOINT).unwrap();
    let a = start(m, "instance", "");
    let b = start(m, "ssh_keys", "");
    assert_eq!(step(m, a, 0, b"").0, VPC_IMDS_SEND);
    assert_eq!(step(m, b, 0, b"").0, VPC_IMDS_AWAIT_TOKEN);
    assert_eq!(unsafe { vpc_imds_poll_woken(m) }, -1);
    let token = r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.c2ln","expires_in":300}"#;
    assert_eq!(step(m, a, 1, &ok(token)).0, VPC_IMDS_SEND);
    assert_eq!(unsafe { vpc_imds_poll_woken(m) }, b);
    let (code, out) = step(m, b, 0, b"");
    assert_eq!(code, VPC_IMDS_SEND);
    assert_eq!(out[24], 1);
    let (code, out) = step(m, b, VPC_IMDS_INPUT_FAILED, b"refused");
    assert_eq!(code, VPC_IMDS_CLOSE);
    assert_eq!(out, 2u64.to_le_bytes());
    let (code, out) = step(m, b, VPC_IMDS_INPUT_TICK, b"");
    assert_eq!(code, VPC_IMDS_FAILED, "{}", String::from_utf8_lossy(&out));
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (v["kind"].as_str(), v["transport"].as_str()),
        (Some("refused"), Some("refused"))
    );
    unsafe { vpc_imds_free(m) };
}

fn response(status: u16, retry_after: Option<&str>, te: Option<&str>, body: &str) -> Vec<u8> {
    let (ra, te_value) = (retry_after.unwrap_or(""), te.unwrap_or(""));
    let mut r = status.to_le_bytes().to_vec();
    r.extend_from_slice(&(ra.len() as u16).to_le_bytes());
    r.extend_from_slice(&(te_value.len() as u16).to_le_bytes());
    r.extend_from_slice(&[
        u8::from(retry_after.is_some()) | u8::from(te.is_some()) << 1,
        0,
    ]);
    assert_eq!(r.len(), VPC_IMDS_RESPONSE_HEADER);
    r.extend_from_slice(ra.as_bytes());
    r.extend_from_slice(te_value.as_bytes());
    r.extend_from_slice(body.as_bytes());
    r
}

#[test]
fn a_response_from_the_hosts_own_stack() {
    let m = new(ENDPOINT).unwrap();
    let op = start(m, "instance", "");
    assert_eq!(step(m, op, VPC_IMDS_INPUT_TICK, b"").0, VPC_IMDS_SEND);
    // Not what its header says: nothing changed.
    for short in [
        &[200, 0, 0][..],
        &[200, 0, 9, 0, 0, 0, 1, 0, b'1'], // shorter than its Retry-After length
        &[200, 0, 1, 0, 0, 0, 0, 0, b'1'], // a length without its flag
        &[200, 0, 0, 0, 0, 0, 4, 0],       // an unknown flag
        &[200, 0, 0, 0, 0, 0, 0, 1],       // byte 7 set
    ] {
        let (code, out) = step(m, op, VPC_IMDS_INPUT_RESPONSE, short);
        assert_eq!(code, VPC_IMDS_MISUSE, "{}", String::from_utf8_lossy(&out));
    }
    // The old kind 3 says what replaced it.
    let (code, out) = step(m, op, 3, &response(503, Some("2"), None, ""));
    assert_eq!(code, VPC_IMDS_MISUSE);
    assert!(String::from_utf8_lossy(&out).contains("VPC_IMDS_INPUT_RESPONSE (4)"));
    let (code, out) = step(
        m,
        op,
        VPC_IMDS_INPUT_RESPONSE,
        &response(503, Some(" 2 "), None, ""),
    );
    assert_eq!(code, VPC_IMDS_BACKOFF, "{}", String::from_utf8_lossy(&out));
    assert_eq!(out, 2001u64.to_le_bytes()); // Retry-After read by the core, from the clock at 1 ms
    let code = unsafe { vpc_imds_step(m, op as u64, 2001, VPC_IMDS_INPUT_TICK, null(), 0) };
    assert_eq!(code, VPC_IMDS_SEND);
    let token = r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.c2ln","expires_in":300}"#;
    let (code, out) = step(
        m,
        op,
        VPC_IMDS_INPUT_RESPONSE,
        &response(200, None, Some("chunked"), token),
    );
    assert_eq!(code, VPC_IMDS_SEND);
    assert!(out[VPC_IMDS_SEND_HEADER..].starts_with(b"GET /metadata/v1/instance?version="));
    let doc = r#"{"id":"0717_x","crn":"crn:x","name":"vm"}"#;
    let (code, out) = step(
        m,
        op,
        VPC_IMDS_INPUT_RESPONSE,
        &response(200, None, None, doc),
    );
    assert_eq!(code, VPC_IMDS_DONE);
    assert_eq!(&out[1 + out[0] as usize..], doc.as_bytes());
    // A coding the core refuses, and a repeated Retry-After (none: the retry's own backoff).
    let op = start(m, "instance", "");
    assert_eq!(step(m, op, VPC_IMDS_INPUT_TICK, b"").0, VPC_IMDS_SEND);
    let (code, out) = step(
        m,
        op,
        VPC_IMDS_INPUT_RESPONSE,
        &response(200, None, Some("gzip, chunked"), doc),
    );
    assert_eq!(code, VPC_IMDS_FAILED);
    assert!(
        String::from_utf8_lossy(&out).contains("bad_response"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let op = start(m, "instance", "");
    assert_eq!(step(m, op, VPC_IMDS_INPUT_TICK, b"").0, VPC_IMDS_SEND);
    let (code, out) = step(
        m,
        op,
        VPC_IMDS_INPUT_RESPONSE,
        &response(503, Some("30, 30"), None, ""),
    );
    assert_eq!(code, VPC_IMDS_BACKOFF);
    let until = u64::from_le_bytes(out[..8].try_into().unwrap());
    assert!(
        until < 2001 + 30_000,
        "a repeated Retry-After is not honoured: {until}"
    );
    unsafe { vpc_imds_free(m) };
}

fn merge(m: *mut VpcImds, pages: &[&str]) -> (i64, Vec<u8>) {
    let mut framed = Vec::new();
    for page in pages {
        framed.extend_from_slice(&(page.len() as u32).to_le_bytes());
        framed.extend_from_slice(page.as_bytes());
    }
    let n = unsafe { vpc_imds_merge_pages(m, framed.as_ptr(), framed.len()) };
    (n, output(m))
}

#[test]
fn pages_merge_into_one_document() {
    let m = new(ENDPOINT).unwrap();
    let (n, out) = merge(
        m,
        &[
            r#"{"keys":[1],"next":{"href":"x"},"limit":1}"#,
            r#"{"keys":[2]}"#,
        ],
    );
    assert_eq!(out, br#"{"keys":[1,2],"limit":1}"#);
    assert_eq!(n, out.len() as i64);
    let (n, out) = merge(m, &[r#"{"keys":[1]}"#, "[1]"]);
    assert_eq!(n, -1);
    assert!(String::from_utf8_lossy(&out).contains(r#""kind":"bad_response""#));
    let (n, out) = merge(m, &[]);
    assert_eq!((n, out.as_slice()), (2, b"{}".as_slice()));
    // A length past the end, a null pointer with a length, a null handle.
    let (n, out) = unsafe {
        (
            vpc_imds_merge_pages(m, [9, 0, 0, 0, b'{'].as_ptr(), 5),
            output(m),
        )
    };
    assert_eq!(n, -1);
    assert!(String::from_utf8_lossy(&out).contains(r#""cause":"misuse""#));
    assert_eq!(unsafe { vpc_imds_merge_pages(m, null(), 4) }, -1);
    assert_eq!(unsafe { vpc_imds_merge_pages(null_mut(), null(), 0) }, -1);
    unsafe { vpc_imds_free(m) };
}

#[test]
fn random_input_never_crashes() {
    let m = new(ENDPOINT).unwrap();
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let names = [
        "instance",
        "keys",
        "get_all",
        "ssh_keys",
        "user_data",
        "wait_until_ready",
        "iam_token",
        "x",
    ];
    for _ in 0..3000 {
        let op = start(
            m,
            names[rnd() as usize % names.len()],
            if rnd() % 2 == 0 {
                r#"{"path":"keys"}"#
            } else {
                ""
            },
        );
        let op = if op < 0 { rnd() as i64 % 50 } else { op };
        for _ in 0..(rnd() % 6) {
            let mut bytes: Vec<u8> = (0..rnd() % 200).map(|_| rnd() as u8).collect();
            if rnd() % 3 == 0 {
                bytes = ok(r#"{"access_token":"a.b.c","expires_in":300}"#);
            }
            let kind = (rnd() % 5) as i32 - 1 + 1;
            let _ = step(m, op, kind, &bytes);
            let _ = unsafe { vpc_imds_poll_woken(m) };
        }
        if rnd() % 2 == 0 {
            let _ = unsafe { vpc_imds_cancel(m, op as u64) };
        }
    }
    unsafe { vpc_imds_free(m) };
}

/// The parts `vpc_imds_user_data_parts` framed, read back as the vectors state them.
fn read_parts(n: i64, out: &[u8]) -> Vec<serde_json::Value> {
    use base64::Engine as _;
    let mut rest = out;
    let mut field = || {
        let (len, tail) = rest.split_at(4);
        let len = u32::from_le_bytes(len.try_into().unwrap());
        if len == u32::MAX {
            rest = tail;
            return None;
        }
        let (bytes, tail) = tail.split_at(len as usize);
        rest = tail;
        Some(bytes.to_vec())
    };
    let text = |b: Option<Vec<u8>>| b.map(|b| String::from_utf8(b).unwrap());
    let parts = (0..n)
        .map(|_| {
            serde_json::json!({
                "content_type": text(field()),
                "filename": text(field()),
                "charset": text(field()),
                "payload": base64::engine::general_purpose::STANDARD.encode(field().unwrap()),
            })
        })
        .collect();
    assert!(rest.is_empty(), "bytes after the last part");
    parts
}

#[test]
fn user_data_vectors_through_the_abi() {
    use base64::Engine as _;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/user_data.json"
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let m = new(ENDPOINT).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let data = base64::engine::general_purpose::STANDARD
            .decode(case["user_data"].as_str().unwrap())
            .unwrap();
        let expect = &case["expect"];
        let multipart = unsafe { vpc_imds_user_data_is_multipart(data.as_ptr(), data.len()) };
        assert_eq!(multipart == 1, expect["multipart"], "{name}: is_multipart");
        let n = unsafe { vpc_imds_user_data_parts(m, data.as_ptr(), data.len()) };
        let out = output(m);
        if n < 0 {
            let record: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(record["kind"], "bad_response", "{name}");
            assert_eq!(record["message"], expect["error"], "{name}");
        } else {
            assert_eq!(
                serde_json::Value::from(read_parts(n, &out)),
                expect["parts"],
                "{name}"
            );
        }
    }
    assert!(
        cases.len() >= 10,
        "too few user-data vectors: {}",
        cases.len()
    );
    // A null pointer with a length, a null handle.
    assert_eq!(unsafe { vpc_imds_user_data_parts(m, null(), 4) }, -1);
    assert!(String::from_utf8_lossy(&output(m)).contains(r#""cause":"misuse""#));
    assert_eq!(
        unsafe { vpc_imds_user_data_parts(null_mut(), null(), 0) },
        -1
    );
    assert_eq!(unsafe { vpc_imds_user_data_is_multipart(null(), 4) }, 0);
    unsafe { vpc_imds_free(m) };
}

/// User data passed straight back from the handle's own output (the DONE record of
/// `user_data`) is framed as the same bytes from elsewhere are.
#[test]
fn user_data_parts_of_the_handles_own_output() {
    let mime = "Content-Type: multipart/mixed; boundary=\"b\"\r\nMIME-Version: 1.0\r\n\r\n--b\r\nContent-Type: text/x-shellscript\r\n\r\n#!/bin/sh\necho hi\n\r\n--b\r\nContent-Type: text/cloud-config\r\n\r\n#cloud-config\nruncmd: []\n\r\n--b--\r\n";
    let init = serde_json::json!({ "user_data": mime }).to_string();
    let m = new(ENDPOINT).unwrap();
    let op = start(m, "user_data", "");
    assert_eq!(step(m, op, VPC_IMDS_INPUT_TICK, b"").0, VPC_IMDS_SEND);
    let token = r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.sig","expires_in":300}"#;
    assert_eq!(
        step(m, op, VPC_IMDS_INPUT_BYTES, &ok(token)).0,
        VPC_IMDS_SEND
    );
    let (code, done) = step(m, op, VPC_IMDS_INPUT_BYTES, &ok(&init));
    assert_eq!(code, VPC_IMDS_DONE);
    let skip = 1 + usize::from(done[0]);
    assert_eq!(&done[skip..], mime.as_bytes());
    let expected = {
        let n = unsafe { vpc_imds_user_data_parts(m, done[skip..].as_ptr(), done.len() - skip) };
        read_parts(n, &output(m))
    };
    assert_eq!(expected.len(), 2);
    // The same request again, then the parts of the output itself.
    let op = start(m, "user_data", "");
    assert_eq!(step(m, op, VPC_IMDS_INPUT_TICK, b"").0, VPC_IMDS_SEND);
    assert_eq!(
        step(m, op, VPC_IMDS_INPUT_BYTES, &ok(&init)).0,
        VPC_IMDS_DONE
    );
    let mut len = 0;
    let own = unsafe { vpc_imds_output(m, &mut len) };
    let n = unsafe { vpc_imds_user_data_parts(m, own.add(skip), len - skip) };
    assert_eq!(read_parts(n, &output(m)), expected);
    unsafe { vpc_imds_free(m) };
}

#[test]
fn the_refresh_point_of_a_token_is_the_cores() {
    let after = |doc: &str| unsafe { vpc_imds_token_refresh_after_ms(doc.as_ptr(), doc.len()) };
    // A fifth of the lifetime before its end, held to 1..300 s.
    assert_eq!(after(r#"{"access_token":"a","expires_in":300}"#), 240_000);
    assert_eq!(
        after(r#"{"access_token":"a","expires_in":3600}"#),
        3_300_000
    );
    assert_eq!(after(r#"{"access_token":"a","expires_in":2}"#), 1_000);
    // No expires_in: the lifetime is expires_at - created_at.
    let dated = r#"{"access_token":"a","created_at":"2026-12-06T10:00:00Z","expires_at":"2026-12-06T10:05:00Z"}"#;
    assert_eq!(after(dated), 240_000);
    assert_eq!(after(r#"{"access_token":"a"}"#), -1);
    assert_eq!(after("not json"), -1);
    assert_eq!(unsafe { vpc_imds_token_refresh_after_ms(null(), 0) }, -1);
}

#[test]
fn a_time_of_another_clock_is_refused_and_changes_nothing() {
    let m = new(ENDPOINT).unwrap();
    let op = start(m, "instance", "");
    let at = |now: u64, kind: i32, bytes: &[u8]| unsafe {
        vpc_imds_step(m, op as u64, now, kind, bytes.as_ptr(), bytes.len())
    };
    assert_eq!(at(1_000, VPC_IMDS_INPUT_TICK, b""), VPC_IMDS_SEND);
    let deadline = |out: &[u8]| u64::from_le_bytes(out[16..24].try_into().unwrap());
    let first = deadline(&output(m));
    assert_eq!(first, 6_000, "the request timeout on the clock given");
    // Beyond i64::MAX: refused, and the clock is where it was.
    assert_eq!(at(u64::MAX, VPC_IMDS_INPUT_TICK, b""), VPC_IMDS_MISUSE);
    assert!(String::from_utf8_lossy(&output(m)).contains("now_ms"));
    assert_eq!(at(1_001, VPC_IMDS_INPUT_TICK, b""), VPC_IMDS_READ);
    let name = "instance";
    let other = unsafe { vpc_imds_start(m, name.as_ptr(), name.len(), null(), 0, 2_000) };
    let code = unsafe { vpc_imds_step(m, other as u64, 2_000, VPC_IMDS_INPUT_TICK, null(), 0) };
    assert_eq!(code, VPC_IMDS_AWAIT_TOKEN);
    let until = u64::from_le_bytes(output(m)[0..8].try_into().unwrap());
    assert!(
        (2_000..100_000).contains(&until),
        "{until}: the clock was not moved"
    );
    // A little behind (another thread's reading) is held; a minute behind a time
    // given before is refused.
    assert_eq!(at(900, VPC_IMDS_INPUT_TICK, b""), VPC_IMDS_READ);
    assert_eq!(at(70_000, VPC_IMDS_INPUT_TICK, b""), VPC_IMDS_READ);
    assert_eq!(at(1_002, VPC_IMDS_INPUT_TICK, b""), VPC_IMDS_MISUSE);
    assert_eq!(at(69_000, VPC_IMDS_INPUT_TICK, b""), VPC_IMDS_READ);
    unsafe { vpc_imds_free(m) };
}

#[test]
fn a_tick_reads_no_bytes_and_no_length_beyond_isize_is_read() {
    let m = new(ENDPOINT).unwrap();
    let op = start(m, "instance", "");
    // A tick given a null pointer with a length: the bytes are not looked at.
    let code = unsafe { vpc_imds_step(m, op as u64, 1, VPC_IMDS_INPUT_TICK, null(), 5) };
    assert_eq!(code, VPC_IMDS_SEND);
    // `(size_t)-1` as "unknown length": refused, never turned into a slice.
    let byte = 0u8;
    assert_eq!(
        unsafe { vpc_imds_user_data_is_multipart(&byte, usize::MAX) },
        0
    );
    let code = unsafe { vpc_imds_step(m, op as u64, 2, VPC_IMDS_INPUT_BYTES, &byte, usize::MAX) };
    assert_eq!(code, VPC_IMDS_MISUSE);
    unsafe { vpc_imds_free(m) };
}
