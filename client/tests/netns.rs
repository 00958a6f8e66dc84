//! The default path end to end: `vpc-imds` with no endpoint override talks to
//! 169.254.169.254:80, which exists only inside a network namespace this test
//! creates (on its own loopback), where the emulator listens. Nothing is ever sent
//! to that address outside the namespace.
//!
//! Skipped, with the reason printed, where namespaces cannot be made: it needs
//! root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the `ip` tool (Debian: iproute2).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{run_command, BIN, STEERING_ENV};

/// Set for the copy of this test binary that hosts the emulator inside the namespace.
const HOST_ENV: &str = "VPC_IMDS_TEST_NETNS_HOST";

/// Not a test of its own: the emulator's host process, started by
/// `default_endpoint_inside_a_network_namespace` inside the namespace.
#[test]
#[ignore = "helper process for default_endpoint_inside_a_network_namespace"]
fn emulator_host_inside_namespace() {
    if std::env::var_os(HOST_ENV).is_none() {
        return;
    }
    let emu = vpc_imds_emulator::Emulator::builder()
        .listen("169.254.169.254:80".parse().expect("addr"))
        .worker_threads(1)
        .start()
        .expect("the emulator binds 169.254.169.254:80 inside the namespace");
    // On a line of its own: libtest has already printed the test's name without a newline.
    println!("\nready {}", emu.base_url());
    // Serve until the parent closes our stdin (or kills us).
    let _ = std::io::stdin().read(&mut [0u8; 1]);
}

/// Deletes the namespace and stops the emulator host however the test ends.
struct Namespace {
    name: String,
    host: Option<Child>,
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Some(mut host) = self.host.take() {
            drop(host.stdin.take());
            let _ = host.kill();
            let _ = host.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn vpc_imds_inside(ns: &str, args: &[&str]) -> common::Run {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, BIN])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in STEERING_ENV {
        cmd.env_remove(var);
    }
    run_command(cmd)
}

#[test]
fn default_endpoint_inside_a_network_namespace() {
    let name = format!("vpc-imds-test-{}", std::process::id());
    if let Err(why) = ip(&["netns", "add", &name]) {
        eprintln!(
            "SKIPPED default_endpoint_inside_a_network_namespace: creating a network \
             namespace is not permitted here (needs root with CAP_SYS_ADMIN and \
             CAP_NET_ADMIN, and iproute2's `ip`): {why}"
        );
        return;
    }
    let mut ns = Namespace { name, host: None };
    let name = ns.name.clone();
    ip(&["-n", &name, "link", "set", "lo", "up"]).expect("loopback up");
    // The service's link-local address, on this namespace's loopback only.
    ip(&[
        "-n",
        &name,
        "addr",
        "add",
        "169.254.169.254/32",
        "dev",
        "lo",
    ])
    .expect("address");

    let exe = std::env::current_exe().expect("test binary");
    let mut host = Command::new("ip")
        .args(["netns", "exec", &name])
        .arg(exe)
        .args([
            "--exact",
            "emulator_host_inside_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOST_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the emulator host");
    let stdout = host.stdout.take().expect("stdout");
    ns.host = Some(host);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, url)) = line.split_once("ready ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the emulator host reports ready");
    assert!(url.starts_with("http://169.254.169.254"), "{url}");

    let instance = vpc_imds_inside(&name, &["get", "instance"]);
    instance.ok();
    assert_eq!(instance.json()["name"], "emu-vsi-1");
    vpc_imds_inside(&name, &["token"]).ok();
    vpc_imds_inside(&name, &["ssh-keys"]).ok();
    let user_data = vpc_imds_inside(&name, &["user-data"]);
    user_data.ok();
    assert!(user_data
        .stdout
        .starts_with(b"Content-Type: multipart/mixed"));
    vpc_imds_inside(&name, &["wait", "--max", "5"]).ok();
    drop(ns);
}
