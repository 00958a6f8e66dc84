//! Measures the step records of a cached `instance()` (a GET with the cached token,
//! then the result): the compact encoding the ABI uses against one JSON object per
//! step. `cargo run --release -p vpc-imds-c --example encoding`
use std::hint::black_box;
use std::time::Instant as Clock;

use vpc_imds_c::{bench::encode_json, encode};
use vpc_imds_driver::{
    Args, Instant, MachineInput as Input, MachineStep as Step, Settings, SyncMachine,
};

const TOKEN: &str =
    r#"{"access_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln","expires_in":3600}"#;

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

type Encoder = fn(Step, &mut Vec<u8>) -> i32;

/// One cached instance(): returns the bytes the two step records took.
fn cached(m: &mut SyncMachine, answer: &[u8], out: &mut Vec<u8>, enc: Encoder) -> usize {
    let now = Instant::from_millis(1000);
    let op = m.start("instance", &Args::default(), now).expect("start");
    let step = m.step(op, now, Input::Tick);
    assert!(matches!(step, Step::Send(_)));
    enc(step, out);
    let mut n = out.len();
    let step = m.step(op, now, Input::Bytes(answer));
    assert!(matches!(step, Step::Done(_)));
    enc(step, out);
    n += out.len();
    black_box(&out);
    n
}

fn main() {
    let instance = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../emulator/fixtures/default.json"
    ))
    .ok()
    .and_then(|f| serde_json::from_str::<serde_json::Value>(&f).ok())
    .map(|v| v["instance"].to_string())
    .expect("the emulator's default fixture");
    let answer = ok(&instance);
    let config = Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Settings::default()
    }
    .build()
    .expect("settings");
    let mut m = SyncMachine::new(config, 1);
    // The token, once.
    let op = m
        .start("instance", &Args::default(), Instant::from_millis(0))
        .expect("start");
    let _ = m.step(op, Instant::from_millis(0), Input::Tick);
    let _ = m.step(op, Instant::from_millis(0), Input::Bytes(&ok(TOKEN)));
    let _ = m.step(op, Instant::from_millis(0), Input::Bytes(&answer));
    let mut out = Vec::with_capacity(8192);
    let iterations = 100_000;
    println!(
        "cached instance() through the machine: start + 2 steps + their records ({} B document)",
        instance.len()
    );
    for round in 1..=2 {
        for (name, enc) in [
            ("compact", encode as Encoder),
            ("json", encode_json as Encoder),
        ] {
            let started = Clock::now();
            let mut bytes = 0;
            for _ in 0..iterations {
                bytes = cached(&mut m, &answer, &mut out, enc);
            }
            let ns = started.elapsed().as_nanos() as f64 / iterations as f64;
            println!("round {round}: {name:8} {ns:8.0} ns per call, {bytes} B of records");
        }
    }
}
