//! The real `vpc-imds` binary against the in-process emulator: every command and
//! flag, exit codes, faults, proxies and secrets.

mod common;

use std::time::Duration;

use common::*;
use vpc_imds_emulator::{DropStage, FaultRule, DEFAULT_FIXTURE_JSON};

fn fixture() -> serde_json::Value {
    serde_json::from_str(DEFAULT_FIXTURE_JSON).expect("fixture JSON")
}

fn looks_like_jwt(s: &str) -> bool {
    s.starts_with("eyJ") && s.split('.').count() == 3 && !s.contains(char::is_whitespace)
}

#[test]
fn token_prints_one_identity_token() {
    let emu = emulator();
    let run = at(&emu, &["token"]);
    run.ok();
    let out = run.stdout_text();
    assert!(out.ends_with('\n') && out.lines().count() == 1);
    assert!(looks_like_jwt(out.trim_end()), "{out:?}");
    assert_eq!(emu.control().counters().token_creations, 1);
}

#[test]
fn token_expires_in_is_sent_and_validated() {
    let emu = emulator();
    let run = at(&emu, &["--verbose", "token", "--expires-in", "600"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(r#"body {"expires_in":600}"#),
        "{}",
        run.stderr
    );
    // Out of range is refused before anything is sent.
    at(&emu, &["token", "--expires-in", "7200"]).failed(2, "invalid_input");
    assert_eq!(emu.control().counters().token_creations, 1);
}

/// The JWT's payload claims.
fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

#[test]
fn token_nonce_comes_back_as_a_claim_and_bad_ones_send_nothing() {
    let emu = emulator();
    let run = at(&emu, &["--verbose", "token", "--nonce", "challenge-42:/+="]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(r#"body {"expires_in":300,"nonce":"challenge-42:/+="}"#),
        "{}",
        run.stderr
    );
    let with = claims(run.stdout_text().trim_end());
    assert_eq!(with["nonce"], "challenge-42:/+=");
    // Without one, the claim is absent.
    let plain = claims(at(&emu, &["token"]).ok().stdout_text().trim_end());
    assert!(plain.get("nonce").is_none(), "{plain}");
    let long = "n".repeat(257);
    for bad in ["", "a b", "caf\u{e9}", long.as_str()] {
        at(&emu, &["token", "--nonce", bad]).failed(2, "invalid_input");
    }
    assert_eq!(emu.control().counters().token_creations, 2);
}

#[test]
fn iam_token_default_id_crn_name_and_unlinked() {
    let emu = emulator();
    let f = fixture();
    let profiles = f["trusted_profiles"].as_array().expect("profiles");
    let id = profiles[1]["id"].as_str().expect("id");
    let crn = profiles[1]["crn"].as_str().expect("crn");
    let name = profiles[1]["name"].as_str().expect("name");
    let unlinked = profiles[2]["id"].as_str().expect("id");
    for args in [
        vec!["iam-token"],
        vec!["iam-token", "--profile-id", id],
        vec!["iam-token", "--profile-crn", crn],
        vec!["iam-token", "--profile-name", name],
    ] {
        let run = at(&emu, &args);
        run.ok();
        assert!(looks_like_jwt(run.stdout_text().trim_end()), "{args:?}");
    }
    assert_eq!(emu.control().counters().iam_token_exchanges, 4);
    at(&emu, &["iam-token", "--profile-id", unlinked]).failed(10, "rejected");
    at(&emu, &["iam-token", "--profile-id", "a\nb"]).failed(2, "invalid_input");
    run(&["iam-token", "--profile-id", "a", "--profile-crn", "b"]).failed(2, "usage");
}

#[test]
fn get_prints_the_documents() {
    let emu = emulator();
    let f = fixture();
    let instance = at(&emu, &["get", "instance"]);
    instance.ok();
    assert_eq!(instance.json(), f["instance"]);
    assert!(instance.stdout.ends_with(b"\n"));
    let nics = at(&emu, &["get", "/metadata/v1/instance/network_interfaces"]);
    nics.ok();
    assert_eq!(
        nics.json()["network_interfaces"],
        f["network_interfaces"],
        "a full path works too"
    );
    at(&emu, &["get", "instance/network_interfaces/nope"]).failed(7, "not_found");
    at(&emu, &["get", "../etc/passwd"]).failed(2, "invalid_input");
    at(&emu, &["get", "keys?version=2020-01-01"]).failed(2, "invalid_input");
}

#[test]
fn get_all_merges_every_page() {
    let emu = emulator();
    let f = fixture();
    let one_page = at(&emu, &["get", "keys?limit=1"]);
    one_page.ok();
    assert_eq!(one_page.json()["keys"].as_array().map(Vec::len), Some(1));
    assert!(one_page.json().get("next").is_some());

    let merged = at(&emu, &["get", "keys?limit=1", "--all"]);
    merged.ok();
    let doc = merged.json();
    assert_eq!(doc["keys"], f["keys"], "every key, in order");
    assert!(doc.get("next").is_none(), "{doc}");
    assert_eq!(
        doc["total_count"].as_u64(),
        f["keys"].as_array().map(|k| k.len() as u64)
    );
    assert!(route_count(&emu, "GET /metadata/v1/keys") >= 4);

    let groups = at(&emu, &["get", "placement_groups", "--all"]);
    groups.ok();
    assert_eq!(groups.json()["placement_groups"], f["placement_groups"]);
}

#[test]
fn user_data_is_raw_bytes() {
    let emu = emulator();
    let run = at(&emu, &["user-data"]);
    run.ok();
    let expected = fixture()["initialization"]["user_data"]
        .as_str()
        .expect("user_data")
        .to_owned();
    assert_eq!(run.stdout, expected.as_bytes());
}

#[test]
fn ssh_keys_prints_authorized_keys_lines() {
    let emu = emulator();
    let run = at(&emu, &["ssh-keys"]);
    run.ok();
    let expected: Vec<String> = fixture()["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["public_key"].as_str().expect("public_key").to_owned())
        .collect();
    let got: Vec<String> = run.stdout_text().lines().map(str::to_owned).collect();
    assert_eq!(got, expected);
    assert!(got.iter().all(|l| l.starts_with("ssh-")));
}

#[test]
fn wait_succeeds_at_once_and_times_out_on_a_dead_port() {
    let emu = emulator();
    let run = at(&emu, &["wait", "--max", "5"]);
    run.ok();
    assert!(run.stdout.is_empty());

    let url = format!("http://127.0.0.1:{}", dead_port());
    let run = common::run(&["--endpoint", &url, "wait", "--max", "0.5"]);
    run.failed(4, "timed_out");
    assert!(
        run.stderr.contains("was not ready within"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("refused"), "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
}

#[test]
fn wait_rides_out_a_failing_service() {
    let emu = emulator();
    emu.control()
        .add_fault(FaultRule::status(503).times(6))
        .expect("fault");
    at(&emu, &["wait", "--max", "20"]).ok();
}

#[test]
fn help_and_program_version() {
    let run = common::run(&["--help"]);
    run.ok();
    let help = run.stdout_text();
    for needle in [
        "token [--expires-in N]",
        "iam-token [--profile-id ID | --profile-crn CRN | --profile-name NAME]",
        "get PATH [--all]",
        "user-data",
        "ssh-keys",
        "wait [--max SECS]",
        "demo",
        "--endpoint URL",
        "--timeout SECS",
        "--version DATE",
        "--https",
        "--cacert FILE",
        "--verbose",
        "VPC_IMDS_ENDPOINT",
        "HTTP_PROXY, HTTPS_PROXY, ALL_PROXY",
        "ignored on",
        "Exit status",
        "11  bad_response",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}");
    }
    for cmd in [
        "token",
        "iam-token",
        "get ",
        "user-data",
        "ssh-keys",
        "wait",
        "demo",
    ] {
        assert!(
            help.contains(&format!("  vpc-imds {cmd}"))
                || help
                    .lines()
                    .any(|l| l.trim_start().starts_with("vpc-imds") && l.contains(cmd)),
            "no example of {cmd}"
        );
    }
    assert_eq!(common::run(&["get", "--help"]).stdout_text(), help);
    let v = common::run(&["-V"]);
    v.ok();
    assert_eq!(
        v.stdout_text(),
        format!("vpc-imds {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["get"],
        &["get", "a", "b"],
        &["token", "--all"],
        &["--timeout", "0", "token"],
        &["--timeout", "soon", "token"],
        &["--version"],
        &["token", "--bogus"],
    ] {
        common::run(args).failed(2, "usage");
    }
    // Bad values of valid options are invalid_input, also 2.
    common::run(&["--endpoint", "ftp://x", "token"]).failed(2, "invalid_input");
    common::run(&["--version", "2025-02-30", "token"]).failed(2, "invalid_input");
    let run = common::run_env(&["token"], &[("VPC_IMDS_ENDPOINT", "http://a b")]);
    run.failed(2, "invalid_input");
    assert!(run.stderr.contains("VPC_IMDS_ENDPOINT"), "{}", run.stderr);
}

#[test]
fn endpoint_from_the_environment() {
    let emu = emulator();
    let run = run_env(
        &["get", "instance"],
        &[("VPC_IMDS_ENDPOINT", emu.base_url())],
    );
    run.ok();
    // The flag wins over the variable.
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let run = run_env(
        &["--endpoint", emu.base_url(), "get", "instance"],
        &[("VPC_IMDS_ENDPOINT", &dead)],
    );
    run.ok();
}

#[test]
fn version_date_picks_the_identity_paths() {
    let emu = emulator();
    at(&emu, &["--version", "2022-03-01", "iam-token"]).ok();
    assert_eq!(route_count(&emu, "PUT /instance_identity/v1/token"), 1);
    assert_eq!(route_count(&emu, "POST /instance_identity/v1/iam_token"), 1);
    at(&emu, &["iam-token"]).ok();
    assert_eq!(route_count(&emu, "PUT /identity/v1/token"), 1);
    assert_eq!(route_count(&emu, "POST /identity/v1/iam_tokens"), 1);
}

#[test]
fn two_503s_are_retried() {
    let emu = emulator();
    emu.control()
        .add_fault(FaultRule::status(503).times(2).on_prefix("/metadata/"))
        .expect("fault");
    let run = at(&emu, &["get", "instance"]);
    run.ok();
    assert_eq!(run.json()["name"], "emu-vsi-1");
    assert_eq!(status_count(&emu, 503), 2);
    assert_eq!(route_count(&emu, "GET /metadata/v1/instance"), 3);
}

#[test]
fn persistent_5xx_is_server_error() {
    let emu = emulator();
    emu.control()
        .add_fault(FaultRule::status(500).on_prefix("/metadata/"))
        .expect("fault");
    let run = at(&emu, &["get", "instance"]);
    run.failed(9, "server_error");
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
    assert_eq!(
        route_count(&emu, "GET /metadata/v1/instance"),
        4,
        "4 attempts"
    );
}

#[test]
fn retry_after_of_429_is_honoured() {
    let emu = emulator();
    emu.control()
        .add_fault(FaultRule::rate_limited(1).times(1).on_prefix("/metadata/"))
        .expect("fault");
    let run = at(&emu, &["get", "instance"]);
    run.ok();
    eprintln!("429 with Retry-After: 1 -> success after {:?}", run.elapsed);
    assert!(run.elapsed >= Duration::from_secs(1), "{:?}", run.elapsed);
    assert_eq!(status_count(&emu, 429), 1);
    // Rate limited for good: rate_limited, after a bounded time.
    emu.control()
        .add_fault(FaultRule::rate_limited(1).on_prefix("/metadata/"))
        .expect("fault");
    at(&emu, &["--timeout", "5", "get", "instance"]).failed(8, "rate_limited");
}

#[test]
fn a_connection_dropped_mid_body_is_retried() {
    let emu = emulator();
    emu.control()
        .add_fault(
            FaultRule::drop_connection(DropStage::MidBody)
                .times(1)
                .on_prefix("/metadata/"),
        )
        .expect("fault");
    let run = at(&emu, &["get", "instance"]);
    run.ok();
    assert_eq!(run.json()["name"], "emu-vsi-1");
    assert_eq!(route_count(&emu, "GET /metadata/v1/instance"), 2);
}

#[test]
fn connections_always_dropped_fail_cleanly() {
    for stage in [DropStage::MidBody, DropStage::MidHeaders] {
        let emu = emulator();
        emu.control()
            .add_fault(FaultRule::drop_connection(stage).on_prefix("/metadata/"))
            .expect("fault");
        let run = at(&emu, &["user-data"]);
        run.failed(5, "connection_lost");
    }
}

#[test]
fn a_black_hole_times_out_within_the_deadline() {
    let emu = emulator();
    emu.control()
        .add_fault(FaultRule::black_hole().on_prefix("/metadata/"))
        .expect("fault");
    let run = at(&emu, &["--timeout", "1.5", "get", "instance"]);
    eprintln!("black hole, --timeout 1.5: failed after {:?}", run.elapsed);
    run.failed(4, "timed_out");
    assert!(
        run.elapsed >= Duration::from_millis(1400),
        "{:?}",
        run.elapsed
    );
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
}

#[test]
fn a_refused_port_fails_at_once_with_its_own_code() {
    let url = format!("http://127.0.0.1:{}", dead_port());
    let run = common::run(&["--endpoint", &url, "get", "instance"]);
    eprintln!("refused port: failed after {:?}", run.elapsed);
    run.failed(3, "refused");
    assert!(
        run.elapsed < Duration::from_secs(2),
        "no retry loop: {:?}",
        run.elapsed
    );
}

#[test]
fn an_expired_token_is_refreshed_exactly_once() {
    let emu = emulator();
    // The service rejects the first bearer token as expired (401), once.
    emu.control()
        .add_fault(FaultRule::status(401).times(1).on_prefix("/metadata/"))
        .expect("fault");
    at(&emu, &["get", "instance"]).ok();
    let c = emu.control().counters();
    assert_eq!(
        c.token_creations, 2,
        "the first token and exactly one refresh"
    );
    assert_eq!(route_count(&emu, "GET /metadata/v1/instance"), 2);

    // Rejected again after the refresh: unauthorized, no refresh loop.
    emu.control()
        .add_fault(FaultRule::status(401).on_prefix("/metadata/"))
        .expect("fault");
    at(&emu, &["get", "instance"]).failed(6, "unauthorized");
    assert_eq!(emu.control().counters().token_creations, 4);
}

#[test]
fn a_disabled_service_is_unauthorized() {
    let emu = emulator();
    emu.control().set_enabled(false);
    at(&emu, &["token"]).failed(6, "unauthorized");
}

#[test]
fn proxy_variables_are_ignored() {
    let emu = emulator();
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let mut env: Vec<(&str, &str)> = Vec::new();
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        env.push((var, &dead));
    }
    env.push(("NO_PROXY", "nothing.example"));
    let run = run_env(&["--endpoint", emu.base_url(), "get", "instance"], &env);
    run.ok();
    assert_eq!(run.json()["name"], "emu-vsi-1");
}

#[test]
fn no_token_in_stderr_even_verbose() {
    let emu = emulator();
    let run = at(&emu, &["--verbose", "token"]);
    assert_eq!(run.code, 0);
    let token = run.stdout_text().trim_end().to_owned();
    assert!(looks_like_jwt(&token));
    assert!(!run.stderr.contains(&token));
    assert!(!run.stderr.contains("eyJ"), "{}", run.stderr);
    assert!(run.stderr.contains("> PUT "), "{}", run.stderr);
    assert!(run.stderr.contains("< HTTP 200"), "{}", run.stderr);

    for args in [
        &["--verbose", "iam-token"][..],
        &["-v", "get", "keys?limit=1", "--all"],
    ] {
        let run = at(&emu, args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("Authorization: Bearer <redacted>"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("eyJ"), "{}", run.stderr);
    }

    // Failing verbosely after a 401 and a refresh: still nothing.
    emu.control()
        .add_fault(FaultRule::status(401).on_prefix("/metadata/"))
        .expect("fault");
    let run = at(&emu, &["--verbose", "user-data"]);
    assert_eq!(run.code, 6);
    assert!(!run.stderr.contains("eyJ"), "{}", run.stderr);
}

#[test]
fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let emu =
        start(vpc_imds_emulator::Emulator::builder().listen("[::1]:0".parse().expect("addr")));
    assert!(
        emu.base_url().starts_with("http://[::1]:"),
        "{}",
        emu.base_url()
    );
    let run = at(&emu, &["get", "instance"]);
    run.ok();
}

#[cfg(feature = "https")]
#[test]
fn https_with_cacert_against_a_tls_emulator() {
    let dir = std::env::temp_dir().join(format!("vpc-imds-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cert = dir.join("emulator.pem");
    let emu = start(
        vpc_imds_emulator::Emulator::builder()
            .tls(true)
            .cert_out(&cert),
    );
    let url = emu.base_url().to_owned();
    assert!(url.starts_with("https://"));
    let cert = cert.to_str().expect("path");
    let run = common::run(&[
        "--https",
        "--cacert",
        cert,
        "--endpoint",
        &url,
        "get",
        "instance",
    ]);
    run.ok();
    assert_eq!(run.json()["name"], "emu-vsi-1");
    // --https upgrades an http:// endpoint on the same port.
    let plain = url.replacen("https://", "http://", 1);
    common::run(&["--https", "--cacert", cert, "--endpoint", &plain, "token"]).ok();
    // Without the CA the handshake fails: refused (3), the TLS cause named.
    let run = common::run(&["--https", "--endpoint", &url, "token"]);
    run.failed(3, "refused");
    assert!(run.stderr.contains("TLS"), "{}", run.stderr);
    // Plain HTTP to a TLS-only service is not a valid response.
    let run = common::run(&["--endpoint", &plain, "--timeout", "3", "token"]);
    assert_ne!(run.code, 0);
    common::run(&[
        "--https",
        "--cacert",
        "/nonexistent.pem",
        "--endpoint",
        &url,
        "token",
    ])
    .failed(2, "invalid_input");
    // A CA file with a plain-HTTP endpoint would never be read: a usage error,
    // nothing sent.
    for command in ["token", "doctor"] {
        let run = common::run(&["--cacert", cert, "--endpoint", &plain, command]);
        assert_eq!(run.code, 2, "{command}: {}", run.stderr);
        // doctor reports it as its `config` finding, on stdout.
        let said = format!("{}{}", run.stdout_text(), run.stderr);
        assert!(said.contains("is plain HTTP"), "{command}: {said}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TLS server that sends its handshake a byte at a time, each within the
/// socket's timeout: the connect deadline still ends the attempt, and `--timeout`
/// the command (rustls reads again and again inside one handshake step).
#[cfg(feature = "https")]
#[test]
fn a_dribbled_tls_handshake_ends_at_the_deadline() {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let server_stop = stop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let stop = server_stop.clone();
            std::thread::spawn(move || {
                let _ = conn.read(&mut [0u8; 4096]); // the ClientHello
                                                     // A handshake record announcing 16 KB, then its bytes, slowly.
                let mut bytes = vec![0x16, 0x03, 0x03, 0x40, 0x00];
                bytes.extend(std::iter::repeat_n(0x02, 16_384));
                for b in bytes {
                    if stop.load(Ordering::Relaxed) || conn.write_all(&[b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
        }
    });
    let url = format!("https://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let run = common::run(&["--https", "--endpoint", &url, "--timeout", "3", "token"]);
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("timed out") || run.stderr.contains("timeout"),
        "{}",
        run.stderr
    );
    assert!(
        took < Duration::from_secs(6),
        "the 3 s command ran {took:?}"
    );
}

#[cfg(not(feature = "https"))]
#[test]
fn https_needs_the_feature() {
    let run = common::run(&["--https", "--endpoint", "https://127.0.0.1:1", "token"]);
    run.failed(2, "invalid_input");
    assert!(run.stderr.contains("feature `https`"), "{}", run.stderr);
}

#[cfg(feature = "demo")]
#[test]
fn demo_tours_every_step() {
    let run = common::run(&["demo"]);
    run.ok();
    let out = run.stdout_text();
    for needle in [
        "token",
        "get instance",
        "user-data",
        "ssh-keys",
        "iam-token",
        "Bearer <redacted>",
        "HTTP 503",
        "Done:",
    ] {
        assert!(out.contains(needle), "demo output lacks {needle:?}:\n{out}");
    }
    assert!(!out.contains("eyJ"), "the demo shows no token");
}

/// `vpc-imds demo | head -1`: a closed stdout ends the tour with one line and
/// exit 1, not a panic.
#[cfg(feature = "demo")]
#[test]
fn demo_into_a_closed_pipe_is_an_output_error() {
    use std::io::Read;
    let mut child = std::process::Command::new(common::BIN)
        .arg("demo")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take()); // the reader goes away at once
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to stdout"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[cfg(not(feature = "demo"))]
#[test]
fn demo_needs_the_feature() {
    let run = common::run(&["demo"]);
    run.failed(2, "usage");
    assert!(run.stderr.contains("--features demo"), "{}", run.stderr);
}
