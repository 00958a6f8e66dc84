//! The std client's cached GET beside its floor, in one run against the in-process
//! emulator on 127.0.0.1: the least any Rust program can do for the same exchange
//! (prebuilt request bytes on a kept-alive `TcpStream`, read to Content-Length,
//! `serde_json` into a map).
//!
//!     cargo bench -p vpc-imds --bench floor [-- ROUNDS]
//!
//! Rounds alternate ours and the floor (1,000 calls each); the table gives each
//! one's median per call and the ratio of medians.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use vpc_imds::Client;
use vpc_imds_emulator::Emulator;

const CALLS: u32 = 1_000;

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let emu = Emulator::builder().start().expect("emulator");
    let client = Client::builder()
        .endpoint(emu.base_url())
        .ignore_env()
        .build()
        .expect("client");
    let token = client
        .identity_token()
        .expect("token")
        .token()
        .expose()
        .to_owned();
    client.instance().expect("warm");
    client.get("instance").expect("warm");

    let host = emu.base_url().trim_start_matches("http://").to_owned();
    let request = format!(
        "GET /metadata/v1/instance?version=2025-08-26 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    );
    let mut raw = Floor::new(&host, request.into_bytes());
    raw.call();

    let mut ours_typed = Vec::new();
    let mut ours_get = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..rounds {
        ours_typed.push(per_call(|| {
            client.instance().expect("instance");
        }));
        floor.push(per_call(|| raw.call()));
        ours_get.push(per_call(|| {
            client.get("instance").expect("get");
        }));
    }
    let floor_us = median(&mut floor);
    println!(
        "cached GET /metadata/v1/instance, {rounds} rounds of {CALLS} calls, median µs per call"
    );
    println!("{:<44} {:>9} {:>7}", "", "µs", "ratio");
    println!(
        "{:<44} {:>9.1} {:>7}",
        "floor: TcpStream + serde_json (same run)", floor_us, "1.00"
    );
    for (name, mut samples) in [
        ("vpc-imds Client::instance()", ours_typed),
        ("vpc-imds Client::get(\"instance\")", ours_get),
    ] {
        let us = median(&mut samples);
        println!("{name:<44} {us:>9.1} {:>7.2}", us / floor_us);
    }
}

fn per_call(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..CALLS {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(CALLS)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One kept-alive connection and a prebuilt request.
struct Floor {
    conn: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl Floor {
    fn new(host: &str, request: Vec<u8>) -> Self {
        let conn = TcpStream::connect(host).expect("connect");
        conn.set_nodelay(true).expect("nodelay");
        Floor {
            conn,
            request,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    fn call(&mut self) {
        self.conn.write_all(&self.request).expect("write");
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        let (head, len) = loop {
            let n = self.conn.read(&mut chunk).expect("read");
            assert!(n > 0, "closed");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).expect("head");
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .expect("content-length");
                break (end + 4, len);
            }
        };
        while self.buf.len() < head + len {
            let n = self.conn.read(&mut chunk).expect("read");
            assert!(n > 0, "closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let doc: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&self.buf[head..head + len]).expect("json");
        assert!(doc.contains_key("id"));
    }
}
