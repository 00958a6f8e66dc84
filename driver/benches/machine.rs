//! One cached call through the client machine, as the napi and wasm-bindgen hosts
//! step it ([`RecordMachine`]: start, the send step and its bytes, the response's
//! bytes in, the done step's JSON text and payload out), beside the least any host
//! does with the same response: parse its body once (serde_json into a `Value`).
//! Rounds alternate; each row prints its median µs per call and its ratio to the
//! reference measured in the same run.
//!
//!     cargo bench -p vpc-imds-driver --features records --bench machine [-- --rounds 9]

use std::hint::black_box;
use std::time::Instant;

use vpc_imds_driver::{MachineInput, NamedArgs, RecordMachine, Settings, Value};

/// A row: its name, one call, and its times per round.
type Row<'a> = (&'a str, Box<dyn FnMut() -> usize + 'a>, Vec<f64>);

fn response(body: &[u8]) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

/// A machine holding an identity token, and the arguments of `op`.
fn primed(op: &str) -> (RecordMachine, NamedArgs) {
    let settings = Settings {
        endpoint: Some("http://127.0.0.1:8080".into()),
        ..Settings::default()
    };
    let mut m = RecordMachine::new(settings, &[7; 8], false).expect("settings");
    let mut args = NamedArgs::default();
    if op == "get" {
        args.set("path", Value::Text("instance")).expect("path");
    }
    let token = response(br#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2ln","created_at":"2025-09-01T12:00:00.000Z","expires_at":"2025-09-01T13:00:00.000Z","expires_in":3600}"#);
    let id = m.start(op, 0.0, &args).expect("starts");
    m.step(id, 0.0, MachineInput::Tick);
    m.take_bytes();
    let next = m.step(id, 0.0, MachineInput::Bytes(&token));
    assert!(
        next.starts_with(r#"{"kind":0"#),
        "the token is taken: {next}"
    );
    m.cancel(id);
    (m, args)
}

/// One cached call (it must end done): the lengths of what it gave the host.
fn call(m: &mut RecordMachine, op: &str, args: &NamedArgs, answer: &[u8]) -> usize {
    let id = m.start(op, 1.0, args).expect("starts");
    let send = m.step(id, 1.0, MachineInput::Tick);
    let wire = m.take_bytes();
    let done = m.step(id, 1.0, MachineInput::Bytes(answer));
    debug_assert!(
        send.starts_with(r#"{"kind":0"#) && done.starts_with(r#"{"kind":6"#),
        "{done}"
    );
    wire.len() + done.len() + m.take_text().len()
}

fn main() {
    let rounds = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(9usize);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/fixtures/instance.json"
    );
    let body = std::fs::read(path).expect("the instance fixture");
    let answer = response(&body);
    let (mut get, get_args) = primed("get");
    let (mut typed, typed_args) = primed("instance");
    let calls = 2000;
    let mut rows: Vec<Row> = vec![
        (
            "serde_json::from_slice::<Value>(body)",
            Box::new(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(&body))
                    .map_or(0, |v| v.as_object().map_or(0, |o| o.len()))
            }),
            vec![],
        ),
        (
            "machine: get(\"instance\")",
            Box::new(|| call(&mut get, "get", &get_args, black_box(&answer))),
            vec![],
        ),
        (
            "machine: instance()",
            Box::new(|| call(&mut typed, "instance", &typed_args, black_box(&answer))),
            vec![],
        ),
    ];
    for _ in 0..rounds {
        for (_, f, times) in &mut rows {
            let start = Instant::now();
            for _ in 0..calls {
                black_box(f());
            }
            times.push(start.elapsed().as_secs_f64() * 1e6 / calls as f64);
        }
    }
    let median = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    println!("cached call through RecordMachine, instance.json ({} bytes): {rounds} alternating rounds of {calls} calls, median µs per call", body.len());
    let reference = median(&mut rows[0].2);
    for (name, _, times) in &mut rows {
        let us = median(times);
        println!("{name:<40} {us:>7.2}  {:.2}", us / reference);
    }
}
