//! The `Client` library API against the in-process emulator, and the user-data helpers.

mod common;

use std::io::Write;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::*;
use vpc_imds::vpc_imds_core::error::{Cause, TransportError};
use vpc_imds::{Client, ErrorKind, Trace, TrustedProfile, UserData, UserDataError};
use vpc_imds_emulator::{Emulator, FaultRule, Fixture, DEFAULT_FIXTURE_JSON};

fn client(emu: &vpc_imds_emulator::RunningEmulator) -> Client {
    Client::builder()
        .endpoint(emu.base_url())
        .build()
        .expect("client")
}

fn fixture() -> serde_json::Value {
    serde_json::from_str(DEFAULT_FIXTURE_JSON).expect("fixture")
}

#[test]
fn client_is_send_sync_and_cheap_to_share() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Client>();
    fn assert_send<T: Send>() {}
    assert_send::<vpc_imds::Pages<vpc_imds::kind::Keys>>();
    assert_send::<vpc_imds::Error>();
}

#[test]
fn concurrent_threads_share_one_token() {
    let emu = emulator();
    // Slow answers make the threads overlap while the first token is in flight.
    emu.control().set_latency(Duration::from_millis(50));
    let client = client(&emu);
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                if i % 2 == 0 {
                    client.instance().map(|d| d.get().id.to_string())
                } else {
                    client
                        .initialization()
                        .map(|d| d.get().keys.len().to_string())
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread").expect("operation");
    }
    let c = emu.control().counters();
    assert_eq!(c.token_creations, 1, "one token for all threads: {c:?}");
    assert_eq!(c.metadata_gets, 8);
}

#[test]
fn a_stale_token_is_refreshed_once_across_threads() {
    let emu = emulator();
    // A 5 s token is due for refresh after 4 s.
    let client = Client::builder()
        .endpoint(emu.base_url())
        .token_lifetime(5)
        .build()
        .expect("client");
    client.instance().expect("first");
    std::thread::sleep(Duration::from_millis(4100));
    emu.control().set_latency(Duration::from_millis(100));
    let barrier = Arc::new(Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let client = client.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                client.instance().map(drop)
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread").expect("operation");
    }
    assert_eq!(emu.control().counters().token_creations, 2, "one refresh");
}

#[test]
fn expired_tokens_are_refreshed_exactly_once() {
    let emu = emulator();
    let client = client(&emu);
    client.instance().expect("first");
    client.instance().expect("cached token");
    assert_eq!(emu.control().counters().token_creations, 1);
    emu.control().expire_tokens();
    let instance = client.instance().expect("after expiry");
    assert_eq!(
        instance.get().name.map(|n| n.to_string()).as_deref(),
        Some("emu-vsi-1")
    );
    let c = emu.control().counters();
    assert_eq!(c.token_creations, 2, "exactly one refresh: {c:?}");
    assert_eq!(c.unauthenticated, 1);
    client.instance().expect("the refreshed token is shared");
    assert_eq!(emu.control().counters().token_creations, 2);
}

#[test]
fn typed_documents_for_every_operation() {
    let emu = emulator();
    let client = client(&emu);
    let f = fixture();

    let token = client.identity_token_for(60).expect("token");
    assert_eq!(token.expires_in(), Some(60));
    assert!(token.token().expose().starts_with("eyJ"));

    let instance = client.instance().expect("instance");
    let view = instance.get();
    assert_eq!(view.id, f["instance"]["id"].as_str().expect("id"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(instance.json()).expect("json"),
        f["instance"]
    );

    let nics = client.network_interfaces().expect("nics");
    let first = nics.get().network_interfaces[0].id.to_string();
    assert_eq!(
        client.network_interface(&first).expect("nic").get().id,
        first.as_str()
    );

    let vas = client.volume_attachments().expect("vas");
    let first = vas.get().volume_attachments[0].id.to_string();
    assert_eq!(
        client.volume_attachment(&first).expect("va").get().id,
        first.as_str()
    );

    let key_id = f["keys"][0]["id"].as_str().expect("key id");
    assert_eq!(client.key(key_id).expect("key").get().id, key_id);
    let pg_id = f["placement_groups"][0]["id"].as_str().expect("pg id");
    assert_eq!(client.placement_group(pg_id).expect("pg").get().id, pg_id);

    let init = client.initialization().expect("init");
    assert_eq!(
        init.get().keys.len(),
        f["initialization"]["keys"].as_array().map_or(0, Vec::len)
    );

    let iam = client
        .iam_token(TrustedProfile::Id(
            f["trusted_profiles"][1]["id"].as_str().expect("profile"),
        ))
        .expect("iam");
    assert!(iam.token().len() > 100);

    let raw = client.get("instance/initialization").expect("raw");
    assert_eq!(raw.get(), raw.json());

    let missing = client.key("r000-does-not-exist").expect_err("404");
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(missing.status(), Some(404));
    assert_eq!(missing.api().map(|a| a.code.as_str()), Some("not_found"));
    let bad = client.key("../x").expect_err("bad id");
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
}

#[test]
fn identity_certificate() {
    let emu = emulator();
    let client = client(&emu);
    let mut params = rcgen::CertificateParams::default();
    // The service sets CN itself and refuses one in the CSR.
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Example");
    let key = rcgen::KeyPair::generate().expect("key");
    let csr = params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");
    let cert = client
        .identity_certificate(&csr, Some(600))
        .expect("certificate");
    let view = cert.get();
    assert_eq!(view.expires_in, Some(600));
    assert!(view.certificates.len() >= 2, "leaf and intermediate");
    let bad = client
        .identity_certificate("not a csr", None)
        .expect_err("input");
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
}

#[test]
fn pagination_iterators() {
    let emu = emulator();
    let client = client(&emu);
    let f = fixture();
    let pages: Vec<_> = client
        .get_pages("keys?limit=1")
        .collect::<Result<_, _>>()
        .expect("pages");
    assert_eq!(pages.len(), f["keys"].as_array().map_or(0, Vec::len));
    let keys: Vec<_> = client
        .keys()
        .map(|page| page.expect("page").get().keys.len())
        .collect();
    assert_eq!(keys.iter().sum::<usize>(), pages.len());
    let groups: usize = client
        .placement_groups()
        .map(|page| page.expect("page").get().placement_groups.len())
        .sum();
    assert_eq!(groups, f["placement_groups"].as_array().map_or(0, Vec::len));
    let merged = client.get_all("placement_groups?limit=2").expect("merged");
    let merged: serde_json::Value = serde_json::from_slice(&merged).expect("json");
    assert_eq!(merged["placement_groups"], f["placement_groups"]);

    // An error ends the iteration after being yielded once.
    let mut it = client.get_pages("no_such_collection");
    assert_eq!(
        it.next().map(|r| r.map(drop).map_err(|e| e.kind())),
        Some(Err(ErrorKind::NotFound))
    );
    assert!(it.next().is_none());
    let mut it = client.get_pages("a//b");
    assert!(matches!(it.next(), Some(Err(e)) if e.kind() == ErrorKind::InvalidInput));
    assert!(it.next().is_none());
}

#[test]
fn secrets_stay_out_of_debug_display_and_traces() {
    let emu = emulator();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let client = Client::builder()
        .endpoint(emu.base_url())
        .trace(move |t: &Trace<'_>| {
            sink.lock().expect("lock").push(format!("{t} {t:?}"));
        })
        .build()
        .expect("client");
    let token = client.identity_token().expect("token");
    let secret = token.token().expose().to_owned();
    client.iam_token(TrustedProfile::Default).expect("iam");
    emu.control()
        .add_fault(FaultRule::status(401).on_prefix("/metadata/"))
        .expect("fault");
    let err = client.instance().expect_err("401");
    let shown = format!(
        "{token:?} {} {:?} {err} {err:?} {client:?}",
        token.token(),
        token.token()
    );
    assert!(!shown.contains(&secret), "{shown}");
    assert!(!shown.contains("eyJ"), "{shown}");
    let lines = lines.lock().expect("lock");
    assert!(lines.iter().any(|l| l.contains("Bearer <redacted>")));
    assert!(lines.iter().all(|l| !l.contains("eyJ")), "{lines:?}");
}

#[test]
fn wait_until_ready_gives_up_in_time() {
    let url = format!("http://127.0.0.1:{}", dead_port());
    let client = Client::builder().endpoint(url).build().expect("client");
    let started = Instant::now();
    let err = client
        .wait_until_ready(Duration::from_millis(400))
        .expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The last attempt's cause, in the message every host gives.
    let refused = Cause::Transport(TransportError::Refused);
    assert_eq!(err.core().map(|e| e.cause()), Some(&refused));
    assert_eq!(
        err.to_string(),
        "the metadata service was not ready within 0.4 s (last attempt: connection refused by the metadata service endpoint)"
    );
}

#[test]
fn config_errors_are_invalid_input() {
    for b in [
        Client::builder().endpoint("http://"),
        Client::builder().endpoint("http://h").version("yesterday"),
        Client::builder().endpoint("http://h").token_lifetime(4),
        Client::builder()
            .endpoint("http://h")
            .timeout(Duration::ZERO),
    ] {
        let e = b.build().expect_err("bad config");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.config().is_some());
    }
    let c = Client::builder()
        .endpoint("http://[::1]:8080/")
        .ignore_env()
        .build()
        .expect("IPv6 endpoint");
    assert_eq!(c.config().endpoint().port(), 8080);
    // The default endpoint, read from the configuration only: nothing is sent.
    let c = Client::builder().ignore_env().build().expect("default");
    assert_eq!(c.config().endpoint().to_string(), "http://169.254.169.254");
}

// ---- user data helpers ----

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("compress");
    e.finish().expect("finish")
}

#[test]
fn gzip_helpers() {
    let text = b"#cloud-config\npackages: [jq]\n".repeat(50);
    let gz = UserData::new(gzip(&text));
    assert!(gz.is_gzip());
    assert_eq!(gz.gunzip(1 << 20).expect("gunzip"), text);
    assert_eq!(gz.decompressed().expect("decompressed").as_ref(), &text[..]);
    assert!(matches!(gz.gunzip(10), Err(UserDataError::TooLarge(10))));
    let plain = UserData::new(text.clone());
    assert!(!plain.is_gzip());
    assert!(matches!(
        plain.decompressed(),
        Ok(std::borrow::Cow::Borrowed(_))
    ));
    assert_eq!(plain.text().expect("utf-8").len(), text.len());
    let mut two = gzip(b"one ");
    two.extend(gzip(b"two"));
    assert_eq!(
        vpc_imds::gunzip(&two, 100).expect("multi-member"),
        b"one two"
    );
    let mut corrupt = gzip(&text);
    corrupt.truncate(corrupt.len() / 2);
    assert!(matches!(
        vpc_imds::gunzip(&corrupt, 1 << 20),
        Err(UserDataError::Gzip(_))
    ));
    assert!(format!("{:?}", UserData::new(b"secret".to_vec())).contains("6 bytes"));
}

#[test]
fn mime_split_of_the_emulator_user_data() {
    let emu = emulator();
    let user_data = client(&emu).user_data().expect("user data");
    assert!(!user_data.is_gzip());
    let parts = user_data.mime_parts().expect("multi-part");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].content_type(), "text/cloud-config");
    assert_eq!(parts[0].filename().as_deref(), Some("cloud-config.txt"));
    let config = std::str::from_utf8(parts[0].body()).expect("utf-8");
    assert!(config.starts_with("#cloud-config\n"), "{config:?}");
    assert!(config.contains("Grüße, 世界"));
    assert_eq!(parts[1].content_type(), "text/x-shellscript");
    assert_eq!(parts[1].filename().as_deref(), Some("hello.sh"));
    assert_eq!(parts[1].body(), b"#!/bin/sh\necho 'hello from emu-vsi-1'\n");
}

#[test]
fn mime_split_edge_cases() {
    // IBM's documented example: form-data, an unquoted boundary, no trailing newline.
    let ibm = "Content-Type: multipart/form-data; boundary=3efa30189c9e\nMIME-Version: 1.0\n\n--3efa30189c9e\nContent-Type: text/cloud-config\n\n#cloud-config\ndisable_root: false\n\n--3efa30189c9e--";
    let parts = vpc_imds::mime_parts(ibm.as_bytes()).expect("ibm example");
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].body(), b"#cloud-config\ndisable_root: false\n");

    // CRLF, a preamble, folded headers, base64, an epilogue.
    let crlf = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"b=1\"\r\n\r\npreamble\r\n--b=1\r\nContent-Type: text/x-shellscript\r\nContent-Transfer-Encoding: base64\r\n\r\nIyEvYmluL3NoCmVjaG8gaGk=\r\n--b=1\r\n\r\nno headers\r\n--b=1--\r\nepilogue\r\n";
    let parts = vpc_imds::mime_parts(crlf.as_bytes()).expect("crlf");
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[0].decoded_body().expect("base64").as_ref(),
        b"#!/bin/sh\necho hi"
    );
    assert_eq!(parts[1].content_type(), "text/plain");
    assert_eq!(parts[1].body(), b"no headers");

    assert!(matches!(
        vpc_imds::mime_parts(b"#cloud-config\nusers: []\n"),
        Err(UserDataError::NotMultipart)
    ));
    assert!(matches!(
        vpc_imds::mime_parts(b"Content-Type: multipart/mixed\n\n--x\n\nbody\n"),
        Err(UserDataError::Mime(_))
    ));
    assert!(matches!(
        vpc_imds::mime_parts(b"Content-Type: multipart/mixed; boundary=x\n\n--x\n\nnever closed\n"),
        Err(UserDataError::Mime(_))
    ));
    let bad64 = "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Transfer-Encoding: base64\n\n!!!\n--x--\n";
    let parts = vpc_imds::mime_parts(bad64.as_bytes()).expect("split");
    assert!(matches!(
        parts[0].decoded_body(),
        Err(UserDataError::Base64)
    ));
}

/// Binary user data travels as one JSON character per byte; the client gives the bytes back.
#[test]
fn gzip_user_data_end_to_end() {
    let original = b"#cloud-config\nruncmd: [echo gzip]\n".to_vec();
    let gz = gzip(&original);
    let as_json_string: String = gz.iter().map(|&b| char::from(b)).collect();
    let mut doc: serde_json::Value = serde_json::from_str(DEFAULT_FIXTURE_JSON).expect("fixture");
    doc["initialization"]["user_data"] = serde_json::Value::String(as_json_string);
    let fixture = Fixture::from_json(&doc.to_string()).expect("fixture");
    let emu = start(Emulator::builder().fixture(fixture));
    let user_data = client(&emu).user_data().expect("user data");
    assert_eq!(user_data.as_bytes(), &gz[..]);
    assert_eq!(
        user_data.decompressed().expect("gunzip").as_ref(),
        &original[..]
    );
    // The command line writes the same bytes.
    let run = at(&emu, &["user-data"]);
    run.ok();
    assert_eq!(run.stdout, gz);
}

/// A loopback server answering every request on one connection with the next of
/// `answers` (raw HTTP/1.1), reading each request head first; returns how many
/// requests it read.
fn scripted_server(answers: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<usize>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let mut served = 0;
        let Ok((mut conn, _)) = listener.accept() else {
            return served;
        };
        for answer in answers {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if conn.read(&mut byte).unwrap_or(0) == 0 {
                    return served;
                }
                head.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            if let Some(len) = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                let mut body = vec![0u8; len];
                let _ = conn.read_exact(&mut body);
            }
            // Counted when read: a client that stops reading a too-large answer
            // makes this write fail.
            served += 1;
            if conn.write_all(&answer).is_err() {
                return served;
            }
        }
        served
    });
    (url, handle)
}

fn http_ok(body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[test]
fn max_response_bytes_sets_the_size_limit() {
    let token = br#"{"access_token":"eyJhbGciOiJub25lIn0.e30.c2ln","expires_in":300}"#;
    let big = format!(r#"{{"id":"i-1","name":"{}"}}"#, "x".repeat(2 << 20));
    for (limit, ok) in [(None, false), (Some(4 << 20), true)] {
        let (url, server) = scripted_server(vec![http_ok(token), http_ok(big.as_bytes())]);
        let mut builder = Client::builder().endpoint(url).ignore_env();
        if let Some(limit) = limit {
            builder = builder.max_response_bytes(limit);
        }
        let result = builder.build().expect("client").instance();
        match (ok, result) {
            (true, Ok(doc)) => assert_eq!(doc.get().name.map(|n| n.raw().len()), Some(2 << 20)),
            (false, Err(e)) => assert_eq!(e.kind(), ErrorKind::BadResponse, "{e}"),
            (_, other) => panic!("limit {limit:?}: {other:?}"),
        }
        assert_eq!(server.join().expect("server"), 2);
    }
    for bad in [0, 1023, 257 << 20] {
        let e = Client::builder()
            .max_response_bytes(bad)
            .build()
            .expect_err("out of range");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
}
