//! The simulated `metadata_service` settings: control API, flags, and what a
//! client sees (403 when disabled, silence on the other protocol, silence for
//! callers beyond the hop limit, the instance document showing the settings).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{control, get, raw, start, token, token_with, V_NEW};
use vpc_imds_emulator::{Emulator, MetadataService, Protocol};

/// True if a token request on `addr` gets no byte back within `wait`.
fn silent(addr: SocketAddr, wait: Duration) -> bool {
    let req = common::build(
        &addr.to_string(),
        "PUT",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[("Metadata-Flavor", "ibm")],
        Some(b"{}"),
    );
    let mut s = TcpStream::connect(addr).expect("connect is accepted");
    s.set_read_timeout(Some(wait)).expect("timeout");
    s.write_all(&req).expect("write");
    let mut b = [0u8; 1];
    // A byte back, or the connection closed (UnexpectedEof): not silence.
    match s.read_exact(&mut b) {
        Ok(()) => false,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn control_api_reads_and_updates_the_settings() {
    let emu = Emulator::builder().start().expect("start");
    let r = control(&emu, "GET", "/metadata_service", None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"enabled":true,"protocol":"http","response_hop_limit":1,"caller_hops":0})
    );
    let r = control(
        &emu,
        "PUT",
        "/metadata_service",
        Some(r#"{"response_hop_limit":3}"#),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["response_hop_limit"], 3);
    assert_eq!(r.json()["protocol"], "http");
    // The instance document shows the settings in force.
    let t = token(&emu);
    let doc = get(&emu, &format!("/metadata/v1/instance?version={V_NEW}"), &t).json();
    assert_eq!(
        doc["metadata_service"],
        serde_json::json!({"enabled":true,"protocol":"http","response_hop_limit":3})
    );
    // Out of range: IBM-style 400 naming the field; nothing changes.
    let r = control(
        &emu,
        "PUT",
        "/metadata_service",
        Some(r#"{"response_hop_limit":0}"#),
    );
    r.ibm_error(400, "invalid_value");
    assert_eq!(
        r.json()["errors"][0]["target"]["name"],
        "response_hop_limit"
    );
    let r = control(
        &emu,
        "PUT",
        "/metadata_service",
        Some(r#"{"protocol":"ftp"}"#),
    );
    assert_eq!(r.status, 400);
    assert_eq!(emu.control().metadata_service().response_hop_limit, 3);
    // `enabled` is the same switch as PUT /service.
    let r = control(
        &emu,
        "PUT",
        "/metadata_service",
        Some(r#"{"enabled":false}"#),
    );
    assert_eq!(r.status, 200);
    token_with(&emu, V_NEW, "{}").ibm_error(403, "unauthorized");
    assert!(emu.control().faults().disabled);
    control(&emu, "PUT", "/service", Some(r#"{"enabled":true}"#));
    assert!(emu.control().metadata_service().enabled);
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
}

#[test]
fn callers_beyond_the_hop_limit_get_no_answer() {
    let emu = Emulator::builder()
        .metadata_service(MetadataService {
            caller_hops: 1,
            ..MetadataService::new(Protocol::Http)
        })
        .start()
        .expect("start");
    assert!(silent(emu.addr(), Duration::from_millis(300)));
    let log = emu.control().requests();
    assert_eq!(
        log.last().and_then(|e| e.fault.as_deref()),
        Some("hop_limit")
    );
    emu.control()
        .update_metadata_service(&vpc_imds_emulator::MetadataServiceUpdate {
            response_hop_limit: Some(2),
            ..Default::default()
        })
        .expect("update");
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
}

#[test]
fn only_the_configured_protocol_answers() {
    let emu = Emulator::builder()
        .tls_listen("127.0.0.1:0".parse().expect("addr"))
        .start()
        .expect("start");
    let tls = emu.tls_addr().expect("tls listener");
    assert!(emu
        .tls_url()
        .is_some_and(|u| u.starts_with("https://127.0.0.1:")));
    assert!(emu.cert_pem().is_some());
    // http (default): plain answers; the TLS port accepts and never speaks.
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
    let mut s = TcpStream::connect(tls).expect("accepted");
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    s.write_all(&[0x16, 3, 1, 0, 1, 1]).expect("write");
    assert!(s.read(&mut [0u8; 1]).is_err(), "silent TLS port");
    // https: the plain port goes silent.
    let mut ms = emu.control().metadata_service();
    ms.protocol = Protocol::Https;
    emu.control().set_metadata_service(ms).expect("settings");
    assert!(silent(emu.addr(), Duration::from_millis(300)));
    let r = raw(
        emu.control_addr(),
        b"GET /metadata_service HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .expect("control");
    assert!(String::from_utf8_lossy(&r).contains(r#""protocol":"https""#));
}

/// A connection kept alive across a switch to https is the other protocol's now:
/// its next request gets silence, as a new plain connection does.
#[test]
fn a_kept_alive_connection_goes_silent_when_the_protocol_switches() {
    let emu = start();
    let host = emu.addr().to_string();
    let put = format!(
        "PUT /identity/v1/token?version={V_NEW} HTTP/1.1\r\nHost: {host}\r\nMetadata-Flavor: ibm\r\nContent-Length: 0\r\n\r\n"
    );
    let mut s = TcpStream::connect(emu.addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(put.as_bytes()).expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n")
        || !String::from_utf8_lossy(&got).contains("access_token")
    {
        let n = s.read(&mut buf).expect("answer");
        assert!(n > 0, "closed early");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"));
    let mut ms = emu.control().metadata_service();
    ms.protocol = Protocol::Https;
    emu.control().set_metadata_service(ms).expect("settings");
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    s.write_all(put.as_bytes()).expect("write");
    match s.read(&mut buf) {
        Ok(n) => panic!("{n} bytes over plain HTTP after the switch to https"),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    }
}

#[test]
fn flags_set_the_simulated_settings() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vpc-imds-emulator"))
        .args([
            "--protocol",
            "https",
            "--response-hop-limit",
            "2",
            "--caller-hops",
            "1",
            "--tls-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary runs");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut l = String::new();
        out.read_line(&mut l).expect("line");
        lines.push(l.trim_end().to_owned());
    }
    let control: SocketAddr = lines[1]
        .strip_prefix("control on http://")
        .and_then(|a| a.parse().ok())
        .expect("control address");
    let r = raw(
        control,
        b"GET /metadata_service HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    );
    let _ = child.kill();
    let _ = child.wait();
    let body = common::parse(&r.expect("control answers")).json();
    assert_eq!(
        body,
        serde_json::json!({"enabled":true,"protocol":"https","response_hop_limit":2,"caller_hops":1})
    );
    assert!(
        lines[0].starts_with("listening on http://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("tls on https://127.0.0.1:"),
        "{lines:?}"
    );
    // A bad hop limit is a usage error.
    let bad = Command::new(env!("CARGO_BIN_EXE_vpc-imds-emulator"))
        .args(["--response-hop-limit", "0"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
}
