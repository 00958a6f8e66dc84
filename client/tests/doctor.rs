//! `vpc-imds doctor` end to end: the real binary against the emulator acting out
//! the instance's `metadata_service` settings (enabled, protocol,
//! response_hop_limit) and a caller one hop away. Container detection is pointed
//! at a directory of the test's own (`VPC_IMDS_DOCTOR_ROOT`), so the result does
//! not depend on whether the test machine itself is a container.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{dead_port, run_env, start, Run};
use vpc_imds_emulator::{Emulator, MetadataService, Protocol, RunningEmulator};

/// A directory to use as the root for container markers.
struct Root(PathBuf);

impl Root {
    fn new(name: &str, container: bool) -> Root {
        let dir = std::env::temp_dir().join(format!(
            "vpc-imds-doctor-{}-{name}-{}",
            std::process::id(),
            if container { "ctr" } else { "host" }
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        if container {
            std::fs::write(dir.join(".dockerenv"), b"").expect("marker");
        }
        Root(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An emulator with its plain listener and an HTTPS one beside it.
fn emulator(settings: MetadataService) -> RunningEmulator {
    start(
        Emulator::builder()
            .tls_listen("127.0.0.1:0".parse().expect("addr"))
            .metadata_service(settings),
    )
}

fn healthy() -> MetadataService {
    MetadataService::new(Protocol::Http)
}

/// `vpc-imds --endpoint <plain> --timeout 1 doctor --https-endpoint <tls>`.
fn doctor(emu: &RunningEmulator, root: &Root) -> Run {
    let tls = emu.tls_url().expect("tls listener");
    run_env(
        &[
            "--endpoint",
            emu.base_url(),
            "--timeout",
            "1",
            "doctor",
            "--https-endpoint",
            tls,
        ],
        &[
            ("VPC_IMDS_DOCTOR_ROOT", root.path().to_str().expect("utf-8")),
            // Environment markers of containers: never inherited from the test machine.
            ("container", ""),
        ],
    )
}

fn lines(run: &Run) -> Vec<String> {
    run.stdout_text().lines().map(str::to_owned).collect()
}

/// The one FAIL line, naming `check`.
fn only_failure<'a>(lines: &'a [String], check: &str) -> &'a str {
    let fails: Vec<&String> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{lines:#?}");
    let line = fails[0].as_str();
    assert!(
        line.starts_with(&format!("FAIL {check}: ")),
        "{check}: {line}"
    );
    assert!(line.contains(" -> "), "says what to do: {line}");
    line
}

fn failed(run: &Run, code: i32, kind: &str) {
    assert_eq!(run.code, code, "{}\n{}", run.stdout_text(), run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("vpc-imds: {kind}: doctor found 1 problem")),
        "{}",
        run.stderr
    );
}

#[test]
fn healthy_service_passes_every_check() {
    let emu = emulator(healthy());
    let root = Root::new("healthy", true);
    let run = doctor(&emu, &root);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout_text(), run.stderr);
    assert_eq!(run.stderr, "");
    let lines = lines(&run);
    let checks: Vec<&str> = lines
        .iter()
        .map(|l| {
            assert!(l.starts_with("ok   "), "{l}");
            l[5..].split(':').next().unwrap_or("")
        })
        .collect();
    assert_eq!(checks, ["route", "connect", "token", "clock", "instance"]);
    assert!(lines[4].contains("emu-vsi-1"), "{}", lines[4]);
    assert!(lines[4].contains("protocol http"), "{}", lines[4]);
    assert!(lines[4].contains("response_hop_limit 1"), "{}", lines[4]);
}

#[test]
fn disabled_service_says_how_to_enable_it() {
    let emu = emulator(MetadataService {
        enabled: false,
        ..healthy()
    });
    let root = Root::new("disabled", false);
    let run = doctor(&emu, &root);
    failed(&run, 6, "unauthorized");
    let lines = lines(&run);
    let line = only_failure(&lines, "token");
    assert!(line.contains("403"), "{line}");
    assert!(line.contains("not enabled"), "{line}");
    assert!(
        line.contains("ibmcloud is instance-update INSTANCE --metadata-service true"),
        "{line}"
    );
    assert!(line.contains("stopped and started"), "{line}");
    // Fixed at run time: healthy again.
    emu.control().set_enabled(true);
    assert_eq!(doctor(&emu, &root).code, 0);
}

#[test]
fn https_only_service_suggests_secure_access() {
    let emu = emulator(MetadataService {
        protocol: Protocol::Https,
        ..healthy()
    });
    let root = Root::new("https", false);
    let run = doctor(&emu, &root);
    failed(&run, 4, "timed_out");
    let lines = lines(&run);
    let line = only_failure(&lines, "protocol");
    assert!(line.contains("--https"), "{line}");
    assert!(
        line.contains("metadata_service.protocol is https"),
        "{line}"
    );
    assert!(lines[1].starts_with("ok   connect"), "{lines:#?}");
    // An HTTPS client does get through (the emulator really serves TLS there).
    let pem = emu.cert_pem().expect("certificate");
    let ca = std::env::temp_dir().join(format!("vpc-imds-doctor-{}.pem", std::process::id()));
    std::fs::write(&ca, pem).expect("write CA");
    let token = run_env(
        &[
            "--https",
            "--cacert",
            ca.to_str().expect("utf-8"),
            "--endpoint",
            emu.tls_url().expect("tls"),
            "token",
        ],
        &[],
    );
    let _ = std::fs::remove_file(&ca);
    if token.code == 2 && token.stderr.contains("feature `https`") {
        return; // an HTTP-only build of the binary
    }
    token.ok();
}

#[test]
fn hop_limit_inside_a_container_says_raise_it() {
    let emu = emulator(MetadataService {
        caller_hops: 1,
        ..healthy()
    });
    let root = Root::new("hops", true);
    let run = doctor(&emu, &root);
    failed(&run, 4, "timed_out");
    let lines = lines(&run);
    let line = only_failure(&lines, "token");
    assert!(line.contains("runs in a container"), "{line}");
    assert!(line.contains(".dockerenv"), "{line}");
    assert!(
        line.contains("--metadata-service-response-hop-limit 2"),
        "{line}"
    );
    assert!(lines[1].starts_with("ok   connect"), "{lines:#?}");
    // The fix works: a hop limit of 2 reaches a caller one hop away.
    let mut raised = emu.control().metadata_service();
    raised.response_hop_limit = 2;
    emu.control()
        .set_metadata_service(raised)
        .expect("settings");
    let run = doctor(&emu, &root);
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    assert!(run.stdout_text().contains("response_hop_limit 2"));
}

#[test]
fn silent_token_outside_a_container_still_names_the_hop_limit() {
    let emu = emulator(MetadataService {
        caller_hops: 1,
        ..healthy()
    });
    let root = Root::new("hops-host", false);
    let run = doctor(&emu, &root);
    failed(&run, 4, "timed_out");
    let lines = lines(&run);
    let line = only_failure(&lines, "token");
    assert!(!line.contains("runs in a container"), "{line}");
    assert!(line.contains("response-hop-limit 2"), "{line}");
}

#[test]
fn clock_skew_is_a_finding() {
    let emu = emulator(healthy());
    emu.control()
        .advance_clock(Duration::from_secs(3600))
        .expect("clock");
    let root = Root::new("clock", false);
    let run = doctor(&emu, &root);
    failed(&run, 2, "invalid_input");
    let lines = lines(&run);
    let line = only_failure(&lines, "clock");
    assert!(line.contains("behind the service's"), "{line}");
    assert!(line.contains("time sync"), "{line}");
    assert!(lines.last().is_some_and(|l| l.starts_with("ok   instance")));
}

#[test]
fn refused_port_is_a_connect_finding() {
    let root = Root::new("refused", false);
    let port = dead_port();
    let tls_port = dead_port();
    let run = run_env(
        &[
            "--endpoint",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "1",
            "doctor",
            "--https-endpoint",
            &format!("https://127.0.0.1:{tls_port}"),
        ],
        &[("VPC_IMDS_DOCTOR_ROOT", root.path().to_str().expect("utf-8"))],
    );
    failed(&run, 3, "refused");
    let lines = lines(&run);
    assert!(lines[0].starts_with("ok   route"), "{lines:#?}");
    only_failure(&lines, "connect");
}

#[test]
fn timeouts_of_every_command_name_doctor() {
    let emu = emulator(MetadataService {
        caller_hops: 1,
        ..healthy()
    });
    for args in [
        &["token"][..],
        &["get", "instance"],
        &["user-data"],
        &["ssh-keys"],
        &["iam-token"],
        &["wait", "--max", "0.5"],
    ] {
        let mut all = vec!["--endpoint", emu.base_url(), "--timeout", "0.5"];
        all.extend_from_slice(args);
        let run = run_env(&all, &[]);
        run.failed(4, "timed_out");
        assert!(
            run.stderr.contains("run `vpc-imds doctor`"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn doctor_options_are_checked() {
    let run = run_env(&["token", "--https-endpoint", "https://127.0.0.1:1"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run
        .stderr
        .contains("--https-endpoint is not an option of `token`"));
    let help = run_env(&["--help"], &[]);
    assert!(help.stdout_text().contains("doctor [--https-endpoint URL]"));
}
