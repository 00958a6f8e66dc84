//! The initramfs case: the static `vpc-imds` as the only file of a root directory
//! (chroot: no /etc, no /proc, no CA store, no resolver), in a network namespace
//! of this test's own where 169.254.169.254 answers: it gets a token, the
//! instance, the user data and the SSH keys with no endpoint override.
//!
//! Three namespaces, wired with veth pairs, all created here:
//!
//! ```text
//!   svc (emulator on 169.254.169.254:80) --- vm (the instance, a router) --- ctr (a container)
//! ```
//!
//! From `ctr` the service is one routed hop away, so the emulator's real IP TTL
//! (the instance's `response_hop_limit`, 1) runs out in `vm`: `doctor` run there,
//! in a chroot holding `/.dockerenv`, must name the hop limit, and pass once the
//! limit is 2. Nothing is sent to 169.254.169.254 outside these namespaces.
//!
//! Skipped, with the reason printed, only where namespaces cannot be created (it
//! needs root and iproute2's `ip`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{run_command, Run};
use vpc_imds_emulator::Emulator;

const HOST_ENV: &str = "VPC_IMDS_TEST_ROOTFS_HOST";

/// Not a test of its own: the emulator's host process inside the `svc`
/// namespace. Reads commands on stdin (`hop N`: set the response hop limit).
#[test]
#[ignore = "helper process for static_binary_in_an_empty_root_inside_a_network_namespace"]
fn rootfs_emulator_host() {
    if std::env::var_os(HOST_ENV).is_none() {
        return;
    }
    let emu = Emulator::builder()
        .listen("169.254.169.254:80".parse().expect("addr"))
        .worker_threads(1)
        .start()
        .expect("the emulator binds 169.254.169.254:80 inside the namespace");
    println!("\nready {}", emu.base_url());
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("hop ").and_then(|n| n.parse().ok()) {
            let mut ms = emu.control().metadata_service();
            ms.response_hop_limit = n;
            let ok = emu.control().set_metadata_service(ms).is_ok();
            println!("\nhop {}", if ok { "set" } else { "refused" });
        }
    }
}

/// The namespaces, temp dirs and the emulator host; removed however the test ends.
struct Lab {
    names: Vec<String>,
    dirs: Vec<PathBuf>,
    host: Option<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut host) = self.host.take() {
            drop(host.stdin.take());
            let _ = host.kill();
            let _ = host.wait();
        }
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
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

fn sh_in(ns: &str, script: &str) {
    let status = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", script])
        .status()
        .expect("sh");
    assert!(status.success(), "{script}");
}

/// The static binary: $VPC_IMDS_STATIC_BIN (e.g. the size build,
/// target/static/x86_64/vpc-imds), else the stable musl build, made here.
fn static_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("VPC_IMDS_STATIC_BIN") {
        return Ok(PathBuf::from(p));
    }
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return Err("no VPC_IMDS_STATIC_BIN and not an x86_64 Linux host".into());
    }
    // target/debug/deps/<test> -> target/empty-rootfs: a directory of its own, so
    // this nested cargo never waits for the lock of the one running the test.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let target_dir = exe
        .ancestors()
        .nth(3)
        .ok_or("no target directory")?
        .join("empty-rootfs");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let triple = "x86_64-unknown-linux-musl";
    let out = Command::new(cargo)
        .args(["build", "--release", "-p", "vpc-imds", "--bin", "vpc-imds"])
        .args(["--target", triple, "--target-dir"])
        .arg(&target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the static musl build failed (rustup target add {triple}): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(target_dir.join(triple).join("release").join("vpc-imds"))
}

/// A root directory holding only `/vpc-imds` (and `extra` empty files).
fn rootfs(lab: &mut Lab, name: &str, bin: &Path, extra: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vpc-imds-rootfs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("root dir");
    lab.dirs.push(dir.clone());
    std::fs::copy(bin, dir.join("vpc-imds")).expect("copy the binary");
    for f in extra {
        std::fs::write(dir.join(f), b"").expect("marker");
    }
    dir
}

/// `ip netns exec NS chroot ROOT /vpc-imds args...` with an empty environment.
fn chrooted(ns: &str, root: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, "chroot"])
        .arg(root)
        .arg("/vpc-imds")
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_command(cmd)
}

fn tell(stdin: &mut ChildStdin, lines: &mpsc::Receiver<String>, command: &str) {
    writeln!(stdin, "{command}").expect("command");
    let answer = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("the host answers");
    assert_eq!(answer, "hop set");
}

#[test]
fn static_binary_in_an_empty_root_inside_a_network_namespace() {
    let id = std::process::id();
    let (svc, vm, ctr) = (
        format!("vpc-imds-svc-{id}"),
        format!("vpc-imds-vm-{id}"),
        format!("vpc-imds-ctr-{id}"),
    );
    if let Err(why) = ip(&["netns", "add", &svc]) {
        eprintln!(
            "SKIPPED static_binary_in_an_empty_root_inside_a_network_namespace: creating a \
             network namespace is not permitted here (needs root with CAP_SYS_ADMIN and \
             CAP_NET_ADMIN, and iproute2's `ip`): {why}"
        );
        return;
    }
    let mut lab = Lab {
        names: vec![svc.clone()],
        dirs: Vec::new(),
        host: None,
    };
    for ns in [&vm, &ctr] {
        ip(&["netns", "add", ns]).expect("namespace");
        lab.names.push(ns.clone());
    }
    let bin = static_binary().expect("a static vpc-imds binary");

    // svc <-> vm <-> ctr; the service address lives on svc's loopback.
    ip(&[
        "link", "add", "s0", "netns", &svc, "type", "veth", "peer", "name", "v0", "netns", &vm,
    ])
    .expect("veth svc-vm");
    ip(&[
        "link", "add", "v1", "netns", &vm, "type", "veth", "peer", "name", "c0", "netns", &ctr,
    ])
    .expect("veth vm-ctr");
    for (ns, cmds) in [
        (
            &svc,
            &[
                &["link", "set", "lo", "up"][..],
                &["addr", "add", "169.254.169.254/32", "dev", "lo"],
                &["addr", "add", "10.99.1.1/24", "dev", "s0"],
                &["link", "set", "s0", "up"],
                &["route", "add", "10.99.2.0/24", "via", "10.99.1.2"],
            ][..],
        ),
        (
            &vm,
            &[
                &["link", "set", "lo", "up"][..],
                &["addr", "add", "10.99.1.2/24", "dev", "v0"],
                &["addr", "add", "10.99.2.1/24", "dev", "v1"],
                &["link", "set", "v0", "up"],
                &["link", "set", "v1", "up"],
                &["route", "add", "169.254.169.254/32", "via", "10.99.1.1"],
            ][..],
        ),
        (
            &ctr,
            &[
                &["link", "set", "lo", "up"][..],
                &["addr", "add", "10.99.2.2/24", "dev", "c0"],
                &["link", "set", "c0", "up"],
                &["route", "add", "169.254.169.254/32", "via", "10.99.2.1"],
            ][..],
        ),
    ] {
        for args in cmds {
            let mut all = vec!["-n", ns.as_str()];
            all.extend_from_slice(args);
            ip(&all).expect("namespace network");
        }
    }
    // The instance routes for its container (a bridge's host does).
    sh_in(&vm, "echo 1 > /proc/sys/net/ipv4/ip_forward");

    let exe = std::env::current_exe().expect("test binary");
    let mut host = Command::new("ip")
        .args(["netns", "exec", &svc])
        .arg(exe)
        .args([
            "--exact",
            "rootfs_emulator_host",
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
    let mut stdin = host.stdin.take().expect("stdin");
    lab.host = Some(host);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("ready ").or_else(|| line.find("hop ")) {
                let _ = tx.send(line[i..].to_owned());
            }
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the emulator host reports ready");
    assert_eq!(ready, "ready http://169.254.169.254:80", "{ready}");

    // The instance: a root with nothing but the binary.
    let root = rootfs(&mut lab, "vm", &bin, &[]);
    let entries: Vec<_> = std::fs::read_dir(&root).expect("dir").collect();
    assert_eq!(entries.len(), 1, "only the binary");
    let token = chrooted(&vm, &root, &["token"]);
    token.ok();
    assert!(token.stdout_text().starts_with("eyJ"), "a JWT");
    let instance = chrooted(&vm, &root, &["get", "instance"]);
    instance.ok();
    assert_eq!(instance.json()["name"], "emu-vsi-1");
    let user_data = chrooted(&vm, &root, &["user-data"]);
    user_data.ok();
    assert!(user_data
        .stdout
        .starts_with(b"Content-Type: multipart/mixed"));
    let keys = chrooted(&vm, &root, &["ssh-keys"]);
    keys.ok();
    let keys = keys.stdout_text();
    assert_eq!(keys.lines().count(), 3, "{keys}");
    assert!(keys.lines().all(|l| l.starts_with("ssh-")), "{keys}");
    let doctor = chrooted(&vm, &root, &["doctor", "--timeout", "2"]);
    assert_eq!(doctor.code, 0, "{}{}", doctor.stdout_text(), doctor.stderr);

    // The s390x binary too, when given (client/boot.sh): run by a static
    // qemu-s390x, the root's only other file.
    if let (Some(s390x), Some(qemu)) = (
        std::env::var_os("VPC_IMDS_STATIC_BIN_S390X").filter(|v| !v.is_empty()),
        std::env::var_os("VPC_IMDS_QEMU_S390X").filter(|v| !v.is_empty()),
    ) {
        let sroot = rootfs(&mut lab, "s390x", Path::new(&s390x), &[]);
        std::fs::copy(&qemu, sroot.join("qemu")).expect("copy qemu");
        let big = |args: &[&str]| {
            let mut all = vec!["/vpc-imds"];
            all.extend_from_slice(args);
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", vm.as_str(), "chroot"])
                .arg(&sroot)
                .arg("/qemu")
                .args(&all)
                .env_clear()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            run_command(cmd)
        };
        big(&["token"]).ok();
        let same = |args: &[&str]| {
            let (b, l) = (big(args), chrooted(&vm, &root, args));
            b.ok();
            assert_eq!(b.stdout, l.stdout, "s390x and x86_64 agree on {args:?}");
        };
        same(&["get", "instance"]);
        same(&["user-data"]);
        same(&["ssh-keys"]);
    }

    // The container, one routed hop away: the real TTL of 1 runs out in `vm`.
    let croot = rootfs(&mut lab, "ctr", &bin, &[".dockerenv"]);
    let doctor = chrooted(&ctr, &croot, &["doctor", "--timeout", "1"]);
    assert_eq!(doctor.code, 4, "{}{}", doctor.stdout_text(), doctor.stderr);
    let report = doctor.stdout_text();
    assert!(report.contains("ok   connect"), "{report}");
    assert!(
        report.contains("FAIL token") && report.contains("runs in a container (/.dockerenv"),
        "{report}"
    );
    assert!(
        report.contains("--metadata-service-response-hop-limit 2"),
        "{report}"
    );
    let token = chrooted(&ctr, &croot, &["token", "--timeout", "1"]);
    token.failed(4, "timed_out");
    assert!(token.stderr.contains("vpc-imds doctor"), "{}", token.stderr);

    // The fix: a hop limit of 2 reaches the container.
    tell(&mut stdin, &rx, "hop 2");
    let doctor = chrooted(&ctr, &croot, &["doctor", "--timeout", "2"]);
    assert_eq!(doctor.code, 0, "{}{}", doctor.stdout_text(), doctor.stderr);
    chrooted(&ctr, &croot, &["ssh-keys"]).ok();
    drop(stdin);
    drop(lab);
}
