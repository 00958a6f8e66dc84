//! What the machine tests share: a machine on a port nothing serves, and a 200 answer.
// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

use vpc_imds_driver::{LocalMachine, Settings};

pub fn machine() -> LocalMachine {
    let config = Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Settings::default()
    }
    .build()
    .unwrap();
    LocalMachine::new(config, 7)
}

pub fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
