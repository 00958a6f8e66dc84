//! `vpc-imds doctor`: why does the metadata service time out (or fail) here?
//!
//! The checks run in the order a request travels, and each prints one line: what
//! was seen and, when something is wrong, what to do about it:
//!
//! 1. `route`: the kernel has a route to the service (a connected UDP socket
//!    asks the routing table; no packet is sent, no `/proc` needed).
//! 2. `connect`: a TCP connection is accepted, refused, or met with silence.
//! 3. `token`: the identity token `PUT`. 403 "not enabled" means the service is
//!    disabled on the instance; silence there (or at `connect`) while HTTPS
//!    answers means its protocol is `https`; silence inside a container means the
//!    response hop limit (the answers' IP TTL) runs out on the way.
//! 4. `clock`: this machine's clock against the service's (`created_at`).
//! 5. `instance`: the instance document read with the token (a 401 here means
//!    the service refused its own fresh token).
//!
//! Exit 0 only when every check passes; otherwise the exit status of the first
//! failure's error kind, and one summary line on stderr.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vpc_imds::vpc_imds_core::config::{Endpoint, Scheme};
use vpc_imds::vpc_imds_core::error::{Cause, TransportError};
use vpc_imds::vpc_imds_core::model::parse_rfc3339;
use vpc_imds::{lookup_host, ClientBuilder, Error, ErrorKind, RetryPolicy, Timeouts};

/// Where container markers are looked for (default `/`); tests point it at a
/// directory of their own.
pub const ROOT_ENV: &str = "VPC_IMDS_DOCTOR_ROOT";

/// Per-check deadline when `--timeout` is not given.
const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest clock difference to the service that passes.
const MAX_SKEW_SECS: i64 = 300;
/// The secure-access host name (its certificate's name), sent as SNI.
const SECURE_HOST: &str = "api.metadata.cloud.ibm.com";

/// `doctor`'s own options.
#[derive(Debug, Default)]
pub struct Options {
    /// Where to look for an HTTPS-only service (`--https-endpoint URL`); default:
    /// port 443 of the endpoint's host (169.254.169.254:443, which is where
    /// `api.metadata.cloud.ibm.com` resolves inside VPC), with that name as SNI.
    pub https_endpoint: Option<Endpoint>,
}

/// What a finding says about the check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Fail(ErrorKind),
}

struct Report {
    out: std::io::Stdout,
    failures: usize,
    first: Option<ErrorKind>,
}

impl Report {
    fn line(&mut self, verdict: Verdict, check: &str, seen: &str, todo: &str) {
        let mark = match verdict {
            Verdict::Ok => "ok  ",
            Verdict::Fail(kind) => {
                self.failures += 1;
                self.first.get_or_insert(kind);
                "FAIL"
            }
        };
        let mut s = String::with_capacity(seen.len() + todo.len() + 32);
        s.push_str(mark);
        s.push(' ');
        s.push_str(check);
        s.push_str(": ");
        s.push_str(&one_line(seen));
        if !todo.is_empty() {
            s.push_str(" -> ");
            s.push_str(todo);
        }
        s.push('\n');
        let mut out = self.out.lock();
        let _ = out.write_all(s.as_bytes()).and_then(|()| out.flush());
    }

    fn ok(&mut self, check: &str, seen: &str) {
        self.line(Verdict::Ok, check, seen, "");
    }

    fn fail(&mut self, kind: ErrorKind, check: &str, seen: &str, todo: &str) {
        self.line(Verdict::Fail(kind), check, seen, todo);
    }
}

/// Runs every check; `builder` carries the global options, `cacert` whether
/// `--cacert` was given.
pub fn run(
    builder: ClientBuilder,
    cacert: bool,
    timeout: Option<Duration>,
    opts: &Options,
) -> ExitCode {
    let mut report = Report {
        out: std::io::stdout(),
        failures: 0,
        first: None,
    };
    checks(
        &mut report,
        builder,
        cacert,
        timeout.unwrap_or(DEFAULT_CHECK_TIMEOUT),
        opts,
    );
    match report.first {
        None => ExitCode::SUCCESS,
        Some(kind) => {
            let n = report.failures;
            eprintln!(
                "vpc-imds: {kind}: doctor found {n} problem{} (see the FAIL line{} above)",
                if n == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" }
            );
            ExitCode::from(kind.exit_code())
        }
    }
}

fn checks(r: &mut Report, builder: ClientBuilder, cacert: bool, t: Duration, opts: &Options) {
    let connect_t = t.min(Duration::from_secs(2));
    let client = builder
        .timeouts(Timeouts {
            connect: connect_t,
            request: t,
            operation: t,
        })
        .retry(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        })
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            return r.fail(
                e.kind(),
                "config",
                &e.to_string(),
                "fix the option or VPC_IMDS_ENDPOINT",
            )
        }
    };
    if let Some(why) = cacert.then(|| crate::cacert_unused(&client)).flatten() {
        return r.fail(ErrorKind::InvalidInput, "config", &why, "");
    }
    let endpoint = client.config().endpoint().clone();
    let plain = endpoint.scheme() == Scheme::Http;
    let host = endpoint.bare_host().to_owned();
    let port = endpoint.port();

    // 1. route: the addresses the kernel can send to (every one the name has).
    let addrs = match lookup_host(&host, port, connect_t) {
        Ok(a) => a,
        Err(why) => {
            return r.fail(
                ErrorKind::Refused,
                "route",
                &format!("cannot resolve {host}: {why}"),
                "use the address: --endpoint http://169.254.169.254 (no DNS needed)",
            )
        }
    };
    let mut routed = Vec::new();
    let mut unrouted = Vec::new();
    for a in addrs {
        match route(a) {
            Ok(local) => routed.push((a, local)),
            Err(e) => unrouted.push((a, e)),
        }
    }
    let Some(&(first, local)) = routed.first() else {
        let why = unrouted
            .iter()
            .map(|(a, e)| format!("no route to {}: {e}", a.ip()))
            .collect::<Vec<_>>()
            .join("; ");
        return r.fail(
            ErrorKind::Refused,
            "route",
            &why,
            "bring the network up first (order the job after network-online.target), \
             or add the route: ip route add 169.254.169.254/32 dev eth0",
        );
    };
    r.ok(
        "route",
        &format!("{} is routed, from local address {local}", first.ip()),
    );
    let secure = secure_target(opts.https_endpoint.as_ref(), first.ip(), connect_t);

    // 2. connect: each routed address in turn, as the client does.
    let attempt = |a: SocketAddr| {
        let started = Instant::now();
        match TcpStream::connect_timeout(&a, connect_t) {
            Ok(_) => Ok((a, started.elapsed())),
            Err(e) => Err((a, e)),
        }
    };
    let mut outcome = attempt(first);
    for &(a, _) in &routed[1..] {
        if outcome.is_ok() {
            break;
        }
        outcome = attempt(a);
    }
    let addr = match outcome {
        Ok((a, took)) => {
            r.ok(
                "connect",
                &format!("{a} accepted a TCP connection in {} ms", millis(took)),
            );
            a
        }
        Err((addr, e)) => {
            let silent = matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            );
            if plain && https_only(r, &secure, connect_t, &addr) {
                return;
            }
            if silent {
                return r.fail(
                    ErrorKind::TimedOut,
                    "connect",
                    &format!(
                        "no answer from {addr} within {} ms (the connection attempt was dropped)",
                        millis(connect_t)
                    ),
                    "this is not an IBM Cloud VPC instance, or a local firewall drops the \
                     packets (check `nft list ruleset` / `iptables -S OUTPUT`)",
                );
            }
            let refused = e.kind() == std::io::ErrorKind::ConnectionRefused;
            return r.fail(
                ErrorKind::Refused,
                "connect",
                &format!(
                    "{addr} {}: {e}",
                    if refused {
                        "refused the connection"
                    } else {
                        "cannot be reached"
                    }
                ),
                "nothing serves the metadata service here: this is not an IBM Cloud VPC \
                 instance, or a local firewall rejects the connection",
            );
        }
    };

    // 3. token
    let token = match client.identity_token() {
        Ok(doc) => doc,
        Err(e) => return token_failed(r, &e, &secure, connect_t, &addr, plain, t),
    };
    let created_at = {
        let view = token.get();
        r.ok(
            "token",
            &format!(
                "the service issued an identity token (lives {} s)",
                view.expires_in.unwrap_or(0)
            ),
        );
        view.created_at
            .and_then(|c| c.as_plain())
            .map(str::to_owned)
    };

    // 4. clock
    clock(r, created_at.as_deref());

    // 5. instance
    match client.instance() {
        Ok(doc) => {
            let v = doc.get();
            let mut seen = String::from("read ");
            seen.push_str(v.name.and_then(|n| n.as_plain()).unwrap_or("(no name)"));
            seen.push_str(" (");
            seen.push_str(v.id.as_plain().unwrap_or("?"));
            seen.push(')');
            if let Some(ms) = v.metadata_service {
                seen.push_str("; metadata_service: protocol ");
                seen.push_str(ms.protocol.and_then(|p| p.as_plain()).unwrap_or("?"));
                if let Some(hops) = ms.response_hop_limit {
                    seen.push_str(", response_hop_limit ");
                    seen.push_str(&hops.to_string());
                }
            }
            r.ok("instance", &seen);
        }
        Err(e) if e.status() == Some(401) => r.fail(
            e.kind(),
            "instance",
            &format!("the service refused the token it had just issued: {e}"),
            "the token service is unhealthy or something between rewrites requests; \
             try again, then stop and start the instance, or quote the trace ID to IBM support",
        ),
        Err(e) => r.fail(
            e.kind(),
            "instance",
            &e.to_string(),
            "see the exit status table in `vpc-imds --help`",
        ),
    }
}

/// The token `PUT` failed: says why, most specific first.
fn token_failed(
    r: &mut Report,
    e: &Error,
    secure: &Secure,
    connect_t: Duration,
    addr: &SocketAddr,
    plain: bool,
    t: Duration,
) {
    let api = e.api();
    let seen = e.to_string();
    match e.status() {
        Some(403) => {
            let msg = api.map_or("", |a| a.message.as_str());
            if msg.contains("not enabled") || api.is_some_and(|a| a.code == "unauthorized") {
                return r.fail(
                    e.kind(),
                    "token",
                    &format!("the service is disabled on this instance: {seen}"),
                    "enable it: ibmcloud is instance-update INSTANCE --metadata-service true \
                     (an instance created with it disabled must then be stopped and started \
                     to fully enable it)",
                );
            }
            return r.fail(
                e.kind(),
                "token",
                &seen,
                "the service refused the token request; quote the trace ID to IBM support",
            );
        }
        Some(400) if api.is_some_and(|a| a.target == "version") => {
            return r.fail(
                e.kind(),
                "token",
                &format!("the service refused the API version date: {seen}"),
                "use the default --version (a date later than the service's today is \
                 refused; check this machine's clock if a script computes it)",
            )
        }
        Some(401) => {
            return r.fail(
                e.kind(),
                "token",
                &seen,
                "the token request was refused as unauthenticated; try again, then stop and \
                 start the instance",
            )
        }
        _ => {}
    }
    if e.kind() != ErrorKind::TimedOut && !is_transport(e, TransportError::ResponseTimeout) {
        return r.fail(
            e.kind(),
            "token",
            &seen,
            "see the exit status table in `vpc-imds --help`",
        );
    }
    if plain && https_only(r, secure, connect_t, addr) {
        return;
    }
    let silence = format!(
        "the service accepted the connection but sent no answer to the token request \
         within {} ms",
        millis(t)
    );
    match container_marker() {
        Some(marker) => r.fail(
            ErrorKind::TimedOut,
            "token",
            &format!("{silence}, and this runs in a container ({marker})"),
            "the answers' IP TTL (the instance's metadata_service.response_hop_limit, \
             default 1) runs out one hop away, behind the container bridge: raise it, \
             ibmcloud is instance-update INSTANCE --metadata-service-response-hop-limit 2 \
             (or PATCH /v1/instances/ID metadata_service.response_hop_limit; or use host \
             networking)",
        ),
        None => r.fail(
            ErrorKind::TimedOut,
            "token",
            &silence,
            "if this runs a routing hop away from the instance (a container, a nested VM, \
             another network namespace), raise the hop limit: ibmcloud is instance-update \
             INSTANCE --metadata-service-response-hop-limit 2; otherwise a local firewall or \
             proxy swallows the answer",
        ),
    }
}

fn is_transport(e: &Error, which: TransportError) -> bool {
    matches!(e.core().map(|c| c.cause()), Some(Cause::Transport(t)) if *t == which)
}

/// Where an HTTPS-only service would answer.
struct Secure {
    /// The certificate name sent as SNI.
    name: String,
    /// Its addresses (empty when the name does not resolve).
    addr: Result<SocketAddr, String>,
}

fn secure_target(endpoint: Option<&Endpoint>, plain: IpAddr, t: Duration) -> Secure {
    let Some(endpoint) = endpoint else {
        // Same host, HTTPS port: never anywhere the user did not point at.
        return Secure {
            name: SECURE_HOST.to_owned(),
            addr: Ok(SocketAddr::new(plain, 443)),
        };
    };
    let host = endpoint.bare_host();
    Secure {
        name: host.to_owned(),
        addr: lookup_host(endpoint.host(), endpoint.port(), t)
            .map_err(|e| e.to_string())
            .and_then(|all| all.first().copied().ok_or_else(|| "no address".to_owned())),
    }
}

/// Plain HTTP gets no answer: does the service answer HTTPS instead? Reports
/// the finding and returns true if so.
fn https_only(r: &mut Report, secure: &Secure, t: Duration, plain: &SocketAddr) -> bool {
    let Ok(addr) = &secure.addr else {
        return false;
    };
    if !tls_answers(addr, &secure.name, t) {
        return false;
    }
    r.fail(
        ErrorKind::TimedOut,
        "protocol",
        &format!(
            "plain HTTP to {plain} gets no answer, but a TLS server answers at {addr} \
             (the instance's metadata_service.protocol is https)"
        ),
        "use secure access: vpc-imds --https ... (a build with the `https` feature; \
         the initramfs build is HTTP only), or switch back: ibmcloud is instance-update \
         INSTANCE --metadata-service-protocol http (or PATCH /v1/instances/ID \
         metadata_service.protocol)",
    );
    true
}

/// Sends a TLS ClientHello and waits for any TLS record (a ServerHello or an
/// alert): proof that a TLS server listens, without a TLS library.
fn tls_answers(addr: &SocketAddr, name: &str, t: Duration) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(addr, t) else {
        return false;
    };
    let hello = client_hello(name);
    if s.set_read_timeout(Some(t)).is_err() || s.write_all(&hello).is_err() {
        return false;
    }
    let mut first = [0u8; 1];
    // 0x16 handshake (ServerHello), 0x15 alert: a TLS server either way.
    matches!(s.read(&mut first), Ok(1) if first[0] == 0x16 || first[0] == 0x15)
}

/// A TLS 1.2 ClientHello (ECDHE with AES-GCM or ChaCha20), with SNI for a name.
fn client_hello(name: &str) -> Vec<u8> {
    fn push16(v: &mut Vec<u8>, n: usize) {
        v.extend_from_slice(&u16::try_from(n).unwrap_or(0).to_be_bytes());
    }
    let mut ext = Vec::new();
    if name.parse::<IpAddr>().is_err() && !name.is_empty() && name.len() < 256 {
        ext.extend_from_slice(&[0, 0]); // server_name
        push16(&mut ext, name.len() + 5);
        push16(&mut ext, name.len() + 3);
        ext.push(0); // host_name
        push16(&mut ext, name.len());
        ext.extend_from_slice(name.as_bytes());
    }
    // supported_groups: x25519, secp256r1, secp384r1
    ext.extend_from_slice(&[0, 0x0a, 0, 8, 0, 6, 0, 0x1d, 0, 0x17, 0, 0x18]);
    // ec_point_formats: uncompressed
    ext.extend_from_slice(&[0, 0x0b, 0, 2, 1, 0]);
    // signature_algorithms
    let sigs = [
        0x0403u16, 0x0503, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807,
    ];
    ext.extend_from_slice(&[0, 0x0d]);
    push16(&mut ext, sigs.len() * 2 + 2);
    push16(&mut ext, sigs.len() * 2);
    for s in sigs {
        ext.extend_from_slice(&s.to_be_bytes());
    }
    // extended_master_secret, renegotiation_info
    ext.extend_from_slice(&[0, 0x17, 0, 0, 0xff, 0x01, 0, 1, 0]);

    let suites = [0xc02bu16, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8];
    let mut body = vec![3, 3]; // TLS 1.2
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    for i in 0..32u32 {
        // Not secret (nothing is encrypted); only unlikely to repeat.
        body.push((nanos >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(37));
    }
    body.push(0); // session id
    push16(&mut body, suites.len() * 2);
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null
    push16(&mut body, ext.len());
    body.extend_from_slice(&ext);

    let mut hs = vec![1]; // client_hello
    hs.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    push16(&mut rec, hs.len());
    rec.extend_from_slice(&hs);
    rec
}

fn clock(r: &mut Report, created_at: Option<&str>) {
    let Some(service) = created_at.and_then(parse_rfc3339) else {
        return r.ok(
            "clock",
            "not compared (the token carried no readable created_at)",
        );
    };
    let local = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    };
    let skew = local.saturating_sub(service);
    if skew.abs() <= MAX_SKEW_SECS {
        return r.ok(
            "clock",
            &format!("within {} s of the service's", skew.abs()),
        );
    }
    r.fail(
        ErrorKind::InvalidInput,
        "clock",
        &format!(
            "this machine's clock is {} s {} the service's",
            skew.abs(),
            if skew > 0 { "ahead of" } else { "behind" }
        ),
        "fix time sync (chronyd or systemd-timesyncd, IBM's time.adn.networklayer.com): \
         tokens and IAM tokens judged by the wall clock look expired or not yet valid",
    );
}

/// The container this runs in, if any: the usual markers under the root
/// ([`ROOT_ENV`], default `/`) and in the environment.
fn container_marker() -> Option<String> {
    let root = std::env::var_os(ROOT_ENV).map_or_else(|| "/".into(), std::path::PathBuf::from);
    for (file, what) in [(".dockerenv", "Docker"), ("run/.containerenv", "Podman")] {
        if root.join(file).exists() {
            return Some(format!("/{file}: {what}"));
        }
    }
    if let Some(v) = std::env::var_os("container").filter(|v| !v.is_empty()) {
        return Some(format!("container={}", v.to_string_lossy()));
    }
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return Some("KUBERNETES_SERVICE_HOST is set: Kubernetes".to_owned());
    }
    let cgroup = std::fs::read_to_string(root.join("proc/1/cgroup")).unwrap_or_default();
    ["docker", "kubepods", "containerd", "libpod", "lxc"]
        .into_iter()
        .find(|m| cgroup.contains(m))
        .map(|m| format!("/proc/1/cgroup names {m}"))
}

/// `d` in whole milliseconds (u64: no 128-bit formatting in the size build).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The local address the kernel would send from, or why it has no route.
fn route(addr: SocketAddr) -> std::io::Result<IpAddr> {
    let any: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = UdpSocket::bind(any)?;
    s.connect(addr)?;
    Ok(s.local_addr()?.ip())
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_is_framed() {
        let h = client_hello("api.metadata.cloud.ibm.com");
        assert_eq!(&h[..3], &[0x16, 3, 1]);
        assert_eq!(usize::from(u16::from_be_bytes([h[3], h[4]])), h.len() - 5);
        assert_eq!(h[5], 1);
        let hs = u32::from_be_bytes([0, h[6], h[7], h[8]]) as usize;
        assert_eq!(hs, h.len() - 9);
        assert!(h.windows(26).any(|w| w == b"api.metadata.cloud.ibm.com"));
        assert!(!client_hello("127.0.0.1")
            .windows(9)
            .any(|w| w == b"127.0.0.1"));
    }

    #[test]
    fn https_endpoint_target() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let t = Duration::from_secs(1);
        let at = |url: &str| {
            let e = Endpoint::parse(url).unwrap();
            secure_target(Some(&e), lo, t).addr
        };
        assert_eq!(
            at("https://127.0.0.1:8443"),
            Ok("127.0.0.1:8443".parse().unwrap())
        );
        assert_eq!(at("https://[::1]:9"), Ok("[::1]:9".parse().unwrap()));
        let s = secure_target(None, lo, t);
        assert_eq!(s.name, SECURE_HOST);
        assert_eq!(s.addr, Ok("127.0.0.1:443".parse().unwrap()));
    }
}
