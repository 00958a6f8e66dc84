//! The server around the API: TLS, CORS, listen addresses, lifecycle, and the binary.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use vpc_imds_emulator::{Emulator, Fixture};

fn tls_request(
    addr: SocketAddr,
    pem: &str,
    server_name: &str,
    req: &[u8],
) -> std::io::Result<Vec<u8>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM"))
        .expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    assert!(addr.ip().is_loopback());
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(req)?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => Ok(out),
        // The server closes without close_notify after Connection: close.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => Ok(out),
        Err(e) => Err(e),
    }
}

/// The extra TLS listener (`tls_listen`, protocol https): its pages link back over
/// https, to the listener the client used.
#[test]
fn the_tls_listeners_pages_link_over_https() {
    let emu = Emulator::builder()
        .tls_listen("127.0.0.1:0".parse().unwrap())
        .metadata_service(vpc_imds_emulator::MetadataService::new(
            vpc_imds_emulator::Protocol::Https,
        ))
        .start()
        .unwrap();
    let tls = emu.tls_addr().unwrap();
    let pem = emu.cert_pem().unwrap().to_owned();
    let host = tls.to_string();
    let put = build(
        &host,
        "PUT",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[("Metadata-Flavor", "ibm")],
        None,
    );
    let r = parse(&tls_request(tls, &pem, "localhost", &put).unwrap());
    assert_eq!(r.status, 200);
    let auth = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    let get = build(
        &host,
        "GET",
        &format!("/metadata/v1/keys?version={V_NEW}&limit=1"),
        &[("Authorization", &auth)],
        None,
    );
    let page = parse(&tls_request(tls, &pem, "localhost", &get).unwrap()).json();
    for link in ["first", "next"] {
        let href = page[link]["href"].as_str().unwrap_or_default();
        assert!(
            href.starts_with(&format!("https://{host}/")),
            "{link}: {href}"
        );
    }
}

#[test]
fn tls_serves_https_for_every_name_with_the_generated_cert() {
    let dir = std::env::temp_dir().join(format!("vpc-imds-emu-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert_file = dir.join("cert.pem");
    let emu = Emulator::builder()
        .tls(true)
        .cert_out(&cert_file)
        .start()
        .unwrap();
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let pem = emu.cert_pem().unwrap().to_owned();
    assert_eq!(std::fs::read_to_string(&cert_file).unwrap(), pem);

    let host = emu.addr().to_string();
    let put = build(
        &host,
        "PUT",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[("Metadata-Flavor", "ibm")],
        None,
    );
    let mut tok = String::new();
    for name in ["127.0.0.1", "localhost", "api.metadata.cloud.ibm.com"] {
        let r = parse(
            &tls_request(emu.addr(), &pem, name, &put).unwrap_or_else(|e| panic!("{name}: {e}")),
        );
        assert_eq!(r.status, 200, "{name}");
        tok = r.json()["access_token"].as_str().unwrap().to_owned();
    }
    let auth = format!("Bearer {tok}");
    let get_inst = build(
        &host,
        "GET",
        &format!("/metadata/v1/instance?version={V_NEW}"),
        &[("Authorization", &auth)],
        None,
    );
    let inst = parse(&tls_request(emu.addr(), &pem, "localhost", &get_inst).unwrap()).json();
    assert_eq!(inst["metadata_service"]["protocol"], "https");
    let get_pg = build(
        &host,
        "GET",
        &format!("/metadata/v1/placement_groups?version={V_NEW}"),
        &[("Authorization", &auth)],
        None,
    );
    let pg = parse(&tls_request(emu.addr(), &pem, "localhost", &get_pg).unwrap()).json();
    assert!(pg["first"]["href"]
        .as_str()
        .unwrap()
        .starts_with(&format!("https://{host}/")));

    // A name the certificate does not cover is refused by the client.
    assert!(tls_request(emu.addr(), &pem, "example.com", &put).is_err());
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = raw(emu.addr(), &put, Duration::from_secs(5)).unwrap_or_default();
    assert!(!plain.starts_with(b"HTTP/1.1 200"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cors_preflight_and_headers() {
    let emu = Emulator::builder().cors(true).start().unwrap();
    let origin = ("Origin", "http://app.test");
    let r = request(
        emu.addr(),
        "OPTIONS",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[
            origin,
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "metadata-flavor,x-extra"),
        ],
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.test")
    );
    let methods = r.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("PUT") && methods.contains("GET") && methods.contains("POST"));
    let headers = r
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "authorization",
        "metadata-flavor",
        "content-type",
        "x-extra",
    ] {
        assert!(headers.contains(h), "{headers}");
    }
    let r = request(
        emu.addr(),
        "PUT",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[origin, ("Metadata-Flavor", "ibm")],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.test")
    );
    // Errors carry CORS headers too, so a browser can read them.
    let r = request(
        emu.addr(),
        "GET",
        &format!("/metadata/v1/instance?version={V_NEW}"),
        &[origin],
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.test")
    );
    let r = request(
        emu.addr(),
        "GET",
        &format!("/metadata/v1/instance?version={V_NEW}"),
        &[],
        None,
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));

    // Without --cors: no CORS headers, OPTIONS is just a wrong method.
    let plain = start();
    let r = request(
        plain.addr(),
        "OPTIONS",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[origin, ("Access-Control-Request-Method", "PUT")],
        None,
    );
    assert_eq!(r.status, 405);
    assert!(r.header("access-control-allow-origin").is_none());
}

#[test]
fn listens_on_ipv6_loopback_and_reports_urls() {
    let emu = Emulator::builder()
        .listen("[::1]:0".parse().unwrap())
        .start()
        .unwrap();
    assert!(emu.base_url().starts_with("http://[::1]:"));
    assert!(emu.control_url().starts_with("http://127.0.0.1:"));
    assert_eq!(emu.base_url(), format!("http://{}", emu.addr()));
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
}

#[test]
fn drop_stops_the_server_and_frees_the_ports() {
    let emu = start();
    let (addr, ctl) = (emu.addr(), emu.control_addr());
    assert_eq!(token_with(&emu, V_NEW, "{}").status, 200);
    let t = Instant::now();
    drop(emu);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(TcpStream::connect(addr).is_err());
    assert!(TcpStream::connect(ctl).is_err());
    // Busy addresses are a clear start error.
    let a = start();
    let err = Emulator::builder().listen(a.addr()).start().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_runs_on_the_callers_runtime() {
    let emu = Emulator::builder().spawn().unwrap();
    let addr = emu.addr();
    let status = tokio::task::spawn_blocking(move || {
        let req = build(
            &addr.to_string(),
            "PUT",
            &format!("/identity/v1/token?version={V_NEW}"),
            &[("Metadata-Flavor", "ibm")],
            None,
        );
        parse(&raw(addr, &req, Duration::from_secs(5)).unwrap()).status
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(emu.control().counters().token_creations, 1);
    emu.shutdown();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(TcpStream::connect(addr).is_err());
    // start() also works from inside a runtime (it owns its own).
    let inner = Emulator::builder().start().unwrap();
    drop(inner);
}

#[test]
fn spawn_outside_a_runtime_is_an_error() {
    let err = Emulator::builder().spawn().unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}

// ---- the binary ----

const BIN: &str = env!("CARGO_BIN_EXE_vpc-imds-emulator");

struct Proc {
    child: Child,
    base: String,
    control: String,
}

impl Proc {
    fn start(args: &[&str]) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let mut second = String::new();
        out.read_line(&mut second).unwrap();
        let base = first
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .to_owned();
        let control = second
            .trim_end()
            .strip_prefix("control on ")
            .unwrap_or_else(|| panic!("second line: {second:?}"))
            .to_owned();
        Proc {
            child,
            base,
            control,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.base.split("://").nth(1).unwrap().parse().unwrap()
    }

    fn signal(&mut self, sig: &str) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "did not exit after {sig}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_token(p: &Proc) -> Resp {
    request(
        p.addr(),
        "PUT",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[("Metadata-Flavor", "ibm")],
        None,
    )
}

#[test]
fn binary_prints_addresses_serves_and_stops_on_sigterm_and_sigint() {
    let mut p = Proc::start(&[]);
    assert!(p.base.starts_with("http://127.0.0.1:"), "{}", p.base);
    assert!(p.control.starts_with("http://127.0.0.1:"), "{}", p.control);
    assert_ne!(p.base, p.control);
    assert_eq!(proc_token(&p).status, 200);
    let ctl: SocketAddr = p.control.split("://").nth(1).unwrap().parse().unwrap();
    assert_eq!(
        request(ctl, "GET", "/counters", &[], None).json()["token_creations"],
        1
    );
    let status = p.signal("-TERM");
    assert!(status.success(), "{status}");
    assert!(TcpStream::connect(p.addr()).is_err());

    let mut p = Proc::start(&["--listen", "127.0.0.1:0"]);
    assert!(p.signal("-INT").success());
}

/// Issue 9: the emulator printed its addresses before installing its signal
/// handlers, so a SIGINT sent right after reading them could kill it. Here the
/// emulator's stdout is a full pipe, so it blocks while printing; SIGINT sent
/// then must still end in a clean shutdown (exit 0), never in death by signal.
#[cfg(target_os = "linux")]
#[test]
fn binary_handles_a_signal_sent_while_it_prints_its_addresses() {
    let (mut reader, mut writer) = std::io::pipe().expect("pipe");
    // Fill the pipe (64 KiB on Linux) from a helper thread; if it is smaller,
    // the write never finishes and the test cannot run here.
    const FILL: usize = 65_536;
    let filler = writer.try_clone().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut filler = filler;
        let _ = tx.send(filler.write_all(&[b'.'; FILL]).is_ok());
    });
    match rx.recv_timeout(Duration::from_secs(2)) {
        Ok(true) => {}
        other => {
            eprintln!("skipped: cannot fill a pipe with {FILL} bytes ({other:?})");
            return;
        }
    }
    writer.flush().unwrap();
    let mut child = Command::new(BIN)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    // Wait until its main thread is blocked writing the address lines.
    let wchan = format!("/proc/{}/wchan", child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let w = std::fs::read_to_string(&wchan).unwrap_or_default();
        if w.contains("pipe_write") {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("skipped: never saw the emulator block on stdout (wchan {w:?})");
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    // Unblock it: drain the filler, then read the address lines.
    let mut junk = vec![0u8; FILL];
    reader.read_exact(&mut junk).unwrap();
    let mut lines = String::new();
    reader.read_to_string(&mut lines).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}; stderr: {stderr}");
    assert!(
        lines.starts_with("listening on http://127.0.0.1:"),
        "{lines}"
    );
    assert!(lines.contains("\ncontrol on http://127.0.0.1:"), "{lines}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}

#[test]
fn binary_fault_and_mode_flags() {
    let p = Proc::start(&[
        "--fail-next",
        "1",
        "--fail-status",
        "503",
        "--retry-after",
        "2",
        "--fault-route",
        "/identity/",
    ]);
    let r = proc_token(&p);
    r.ibm_error(503, "service_error");
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(proc_token(&p).status, 200);

    let p = Proc::start(&["--disabled"]);
    proc_token(&p).ibm_error(403, "unauthorized");

    let file =
        std::env::temp_dir().join(format!("vpc-imds-emu-faults-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"rules":[{"action":{"kind":"status","status":502},"count":2}]}"#,
    )
    .unwrap();
    let p = Proc::start(&["--faults", file.to_str().unwrap()]);
    proc_token(&p).ibm_error(502, "service_error");
    proc_token(&p).ibm_error(502, "service_error");
    assert_eq!(proc_token(&p).status, 200);
    std::fs::remove_file(&file).ok();

    let p = Proc::start(&["--drop-next", "1", "--drop-stage", "mid-headers"]);
    let req = build(
        "x",
        "PUT",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[("Metadata-Flavor", "ibm")],
        None,
    );
    assert_eq!(
        raw(p.addr(), &req, Duration::from_secs(5)).unwrap().len(),
        vpc_imds_emulator::HEAD_CUT_BYTES
    );

    let p = Proc::start(&["--drop-next", "1", "--drop-stage", "before-response"]);
    assert_eq!(
        raw(p.addr(), &req, Duration::from_secs(5)).unwrap(),
        b"",
        "closed before any byte"
    );
    assert_eq!(proc_token(&p).status, 200);

    let p = Proc::start(&["--black-hole", "--fault-route", "/metadata/"]);
    assert_eq!(proc_token(&p).status, 200);
    let get_req = build(
        "x",
        "GET",
        &format!("/metadata/v1/instance?version={V_NEW}"),
        &[],
        None,
    );
    assert!(raw(p.addr(), &get_req, Duration::from_millis(300)).is_err());

    let t = Instant::now();
    let p = Proc::start(&["--latency-ms", "200", "--cors"]);
    let r = proc_token(&p);
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn binary_tls_and_fixture_files() {
    let dir = std::env::temp_dir().join(format!("vpc-imds-emu-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("cert.pem");
    let p = Proc::start(&["--tls", "--cert-out", cert.to_str().unwrap()]);
    assert!(p.base.starts_with("https://127.0.0.1:"));
    let pem = std::fs::read_to_string(&cert).unwrap();
    let put = build(
        "x",
        "PUT",
        &format!("/identity/v1/token?version={V_NEW}"),
        &[("Metadata-Flavor", "ibm")],
        None,
    );
    assert_eq!(
        parse(&tls_request(p.addr(), &pem, "localhost", &put).unwrap()).status,
        200
    );

    // --print-fixture output is the default fixture, and loads back with --fixture.
    let printed = Command::new(BIN).arg("--print-fixture").output().unwrap();
    assert!(printed.status.success());
    let mut fixture = Fixture::from_json(std::str::from_utf8(&printed.stdout).unwrap()).unwrap();
    assert_eq!(fixture, Fixture::default());
    fixture.instance.insert("name".into(), "from-file".into());
    let file = dir.join("fixture.json");
    std::fs::write(&file, serde_json::to_string(&fixture).unwrap()).unwrap();
    let p = Proc::start(&["--fixture", file.to_str().unwrap()]);
    let tok = proc_token(&p).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = request(
        p.addr(),
        "GET",
        &format!("/metadata/v1/instance?version={V_NEW}"),
        &[("Authorization", &format!("Bearer {tok}"))],
        None,
    );
    assert_eq!(r.json()["name"], "from-file");

    // Bad input: one line on stderr and a non-zero exit.
    std::fs::write(&file, r#"{"instance":{}}"#).unwrap();
    let bad = Command::new(BIN)
        .args(["--fixture", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("fixture"), "{err}");
    assert!(bad.stdout.is_empty());
    let bad = Command::new(BIN)
        .args(["--fail-next", "1", "--fail-status", "200"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let bad = Command::new(BIN)
        .args(["--listen", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "usage error");
    std::fs::remove_dir_all(&dir).ok();
}
