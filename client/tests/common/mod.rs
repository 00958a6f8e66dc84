//! Helpers: an in-process emulator on 127.0.0.1 and the real `vpc-imds` binary.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vpc_imds_emulator::{Emulator, EmulatorBuilder, RunningEmulator};

pub const BIN: &str = env!("CARGO_BIN_EXE_vpc-imds");

/// Variables that could steer the program elsewhere; removed from every run.
pub const STEERING_ENV: [&str; 9] = [
    "VPC_IMDS_ENDPOINT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

pub fn emulator() -> RunningEmulator {
    start(Emulator::builder())
}

pub fn start(builder: EmulatorBuilder) -> RunningEmulator {
    builder
        .worker_threads(1)
        .start()
        .expect("the emulator starts on 127.0.0.1")
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout_text()))
    }

    /// Success: exit 0 and nothing on stderr.
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        assert_eq!(self.stderr, "", "stderr of a success");
        self
    }

    /// Failure: this exit code, nothing on stdout, exactly one line on stderr
    /// naming `kind`.
    pub fn failed(&self, code: i32, kind: &str) -> &Self {
        assert_eq!(self.code, code, "stderr: {}", self.stderr);
        assert!(
            self.stdout.is_empty(),
            "stdout of a failure: {:?}",
            self.stdout_text()
        );
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "one stderr line: {:?}",
            self.stderr
        );
        assert!(self.stderr.ends_with('\n'));
        assert!(
            self.stderr.starts_with(&format!("vpc-imds: {kind}")),
            "stderr names {kind}: {:?}",
            self.stderr
        );
        self
    }
}

/// Runs `vpc-imds args...` with a clean environment plus `env`; kills it after 60 s.
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in STEERING_ENV {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_command(cmd)
}

pub fn run(args: &[&str]) -> Run {
    run_env(args, &[])
}

/// Runs `vpc-imds --endpoint <emulator> args...`.
pub fn at(emu: &RunningEmulator, args: &[&str]) -> Run {
    let mut all = vec!["--endpoint", emu.base_url()];
    all.extend_from_slice(args);
    run(&all)
}

pub fn run_command(mut cmd: Command) -> Run {
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command ran over 60 s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned(),
        elapsed,
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

pub fn route_count(emu: &RunningEmulator, route: &str) -> u64 {
    emu.control()
        .counters()
        .by_route
        .get(route)
        .copied()
        .unwrap_or(0)
}

pub fn status_count(emu: &RunningEmulator, status: u16) -> u64 {
    emu.control()
        .counters()
        .by_status
        .get(&status)
        .copied()
        .unwrap_or(0)
}
