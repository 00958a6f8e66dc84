//! The command line against hostile raw-socket servers on 127.0.0.1: each answers
//! the token request with `token` and every GET with `get`, byte for byte.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::run;

const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJob3N0aWxlIn0.c2lnbmF0dXJlLWhvc3RpbGU";

struct Hostile {
    url: String,
    gets: Arc<AtomicUsize>,
}

fn ok(body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn token_ok() -> Vec<u8> {
    ok(format!(r#"{{"access_token":"{TOKEN}","expires_in":300}}"#).as_bytes())
}

/// Reads one request (head and Content-Length body); false when the peer left.
fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let len = text
        .to_ascii_lowercase()
        .lines()
        .find_map(|l| l.strip_prefix("content-length: ").map(str::to_owned))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    Some(text)
}

fn serve(token: Vec<u8>, get: Vec<u8>) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let gets = Arc::new(AtomicUsize::new(0));
    let counter = gets.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let (token, get, counter) = (token.clone(), get.clone(), counter.clone());
            std::thread::spawn(move || {
                while let Some(head) = read_request(&mut conn) {
                    let answer = if head.starts_with("PUT ") {
                        &token
                    } else {
                        counter.fetch_add(1, Ordering::SeqCst);
                        &get
                    };
                    if conn.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Hostile { url, gets }
}

#[test]
fn a_token_with_control_characters_never_reaches_stdout() {
    let iam = ok(b"{\"access_token\":\"abc\r\nX-Evil: 1\",\"expires_in\":3600}");
    let h = serve(token_ok(), iam);
    let out = run(&["--endpoint", &h.url, "iam-token"]);
    out.failed(11, "bad_response");
    assert!(out.stdout.is_empty());
    let h = serve(
        token_ok(),
        ok(b"{\"access_token\":\"abc def\",\"expires_in\":3600}"),
    );
    run(&["--endpoint", &h.url, "iam-token"]).failed(11, "bad_response");
    let h = serve(
        ok(b"{\"access_token\":\"eyJ\x1b[2J\",\"expires_in\":300}"),
        ok(b"{}"),
    );
    run(&["--endpoint", &h.url, "token"]).failed(11, "bad_response");
}

#[test]
fn raw_control_characters_in_json_strings_are_refused() {
    let h = serve(token_ok(), ok(b"{\"id\":\"a\x00\x1b[2J\r\nb\"}"));
    let out = run(&["--endpoint", &h.url, "get", "instance"]);
    out.failed(11, "bad_response");
    assert!(out.stdout.is_empty());
    // Escaped, they are valid JSON and pass as escapes.
    let h = serve(token_ok(), ok(br#"{"id":"a\u001b[2J\r\nb"}"#));
    run(&["--endpoint", &h.url, "get", "instance"]).ok();
}

#[test]
fn a_token_echoed_in_an_error_message_is_redacted() {
    let body = format!(
        r#"{{"errors":[{{"code":"bad_header","message":"Invalid header Authorization: Bearer {TOKEN}"}}],"trace":"t-1"}}"#
    );
    let mut answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body.as_bytes());
    let h = serve(token_ok(), answer);
    let out = run(&["--endpoint", &h.url, "get", "instance"]);
    out.failed(10, "rejected");
    assert!(!out.stderr.contains(TOKEN), "{}", out.stderr);
    assert!(!out.stderr.contains("eyJ"), "{}", out.stderr);
    assert!(out.stderr.contains("Bearer <redacted>"), "{}", out.stderr);
}

#[test]
fn a_huge_retry_after_fails_at_once() {
    for value in ["1000000000", "999999999", "99999999999999999999"] {
        let answer = format!("HTTP/1.1 429 Too Many Requests\r\nRetry-After: {value}\r\nContent-Length: 2\r\n\r\n{{}}");
        let h = serve(token_ok(), answer.into_bytes());
        let out = run(&["--endpoint", &h.url, "get", "instance"]);
        out.failed(8, "rate_limited");
        assert!(
            out.elapsed < Duration::from_secs(2),
            "{value}: {:?}",
            out.elapsed
        );
        assert_eq!(h.gets.load(Ordering::SeqCst), 1, "{value}: not retried");
    }
}

#[test]
fn unknown_transfer_codings_are_refused_in_either_form() {
    let chunked = b"2\r\n{}\r\n0\r\n\r\n";
    for head in [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let mut answer = head.as_bytes().to_vec();
        answer.extend_from_slice(chunked);
        let h = serve(token_ok(), answer);
        let out = run(&["--endpoint", &h.url, "get", "instance"]);
        out.failed(11, "bad_response");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_flood_of_interim_responses_fails_fast() {
    let mut answer = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(100_000);
    answer.extend_from_slice(&ok(b"{}"));
    let h = serve(token_ok(), answer);
    let out = run(&["--endpoint", &h.url, "get", "instance"]);
    out.failed(11, "bad_response");
    assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
}
