//! A tiny blocking HTTP/1.1 client for the tests (127.0.0.1 only), plus helpers.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;
use vpc_imds_emulator::{Emulator, RunningEmulator};

pub const V_OLD: &str = "2022-03-01";
pub const V_NEW: &str = "2025-08-26";

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an IBM error body with this status and code; returns the error object.
    pub fn ibm_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        let v = self.json();
        assert_eq!(v["status_code"], status);
        let trace = v["trace"].as_str().expect("trace");
        assert_eq!(trace.len(), 36, "trace is a UUID: {trace}");
        let errors = v["errors"].as_array().expect("errors array");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0]["code"], code, "{v}");
        assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
        errors[0].clone()
    }
}

/// Sends bytes, reads until the server closes (or `timeout`), returns what came back.
pub fn raw(addr: SocketAddr, request: &[u8], timeout: Duration) -> std::io::Result<Vec<u8>> {
    assert!(addr.ip().is_loopback());
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(timeout))?;
    s.write_all(request)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

pub fn parse(bytes: &[u8]) -> Resp {
    let text_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(bytes)));
    let head = std::str::from_utf8(&bytes[..text_end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let body = bytes[text_end + 4..].to_vec();
    let resp = Resp {
        status,
        headers,
        body,
    };
    if let Some(len) = resp.header("content-length") {
        assert_eq!(
            len.parse::<usize>().unwrap(),
            resp.body.len(),
            "complete body"
        );
    }
    resp
}

pub fn build(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    bytes
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Resp {
    let out = raw(
        addr,
        &build(&addr.to_string(), method, path, headers, body),
        Duration::from_secs(10),
    )
    .expect("request");
    parse(&out)
}

pub fn start() -> RunningEmulator {
    Emulator::builder().start().expect("emulator starts")
}

/// Creates an identity token through the API.
pub fn token_with(emu: &RunningEmulator, version: &str, body: &str) -> Resp {
    let path = if version >= V_NEW {
        "/identity/v1/token"
    } else {
        "/instance_identity/v1/token"
    };
    request(
        emu.addr(),
        "PUT",
        &format!("{path}?version={version}"),
        &[("Metadata-Flavor", "ibm")],
        Some(body.as_bytes()),
    )
}

pub fn token(emu: &RunningEmulator) -> String {
    let r = token_with(emu, V_NEW, "{}");
    assert_eq!(r.status, 200);
    r.json()["access_token"].as_str().unwrap().to_owned()
}

pub fn get(emu: &RunningEmulator, path_and_query: &str, token: &str) -> Resp {
    request(
        emu.addr(),
        "GET",
        path_and_query,
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
}

/// Control-API call.
pub fn control(emu: &RunningEmulator, method: &str, path: &str, body: Option<&str>) -> Resp {
    request(
        emu.control_addr(),
        method,
        path,
        &[("Content-Type", "application/json")],
        body.map(str::as_bytes),
    )
}

/// Decodes a base64url JWT segment into JSON.
pub fn jwt_part(token: &str, i: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(i).expect("segment");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON segment")
}

/// UTC date `days` after today, as `YYYY-MM-DD`.
pub fn utc_date(days: i64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let z = secs.div_euclid(86_400) + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
