//! The stack a whole operation needs: hosts run the driver on threads they do not
//! size (musl's default thread stack is 128 KiB; CPython's threads on musl use it),
//! and outputs are big (an instance is ~14 KB), so they must not be copied from
//! frame to frame. A run that needs more than the budget overflows the thread's
//! stack, which aborts this test binary.

use vpc_imds_driver::{Driver, Input, Instant, LocalTokens, Operation, Settings, Step};

const TOKEN: &[u8] = br#"{"access_token":"eyJhbGciOiJub25lIn0.e30.sig","expires_in":300}"#;

/// Release builds keep frames small; unoptimized test builds need about twice that.
const BUDGET: usize = if cfg!(debug_assertions) { 256 } else { 80 } * 1024;

fn http(body: &[u8]) -> Vec<u8> {
    let mut wire =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    wire.extend_from_slice(body);
    wire
}

/// Token, then `op` answered by `body`; the reply's type name.
fn run(op: Operation<'static>, body: Vec<u8>) -> Option<&'static str> {
    let tokens = LocalTokens::new();
    let settings = Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Settings::default()
    };
    let mut driver = Driver::new(settings.build().ok()?, &tokens, 7);
    let now = Instant::from_millis(0);
    driver.start(op, now).ok()?;
    let Step::Send(token_request) = driver.step(now, Input::Tick) else {
        return None;
    };
    let id = token_request.id();
    let token = http(TOKEN);
    let Step::Send(request) = driver.step(now, Input::Bytes(id, &token)) else {
        return None;
    };
    let id = request.id();
    let wire = http(&body);
    let name = match driver.step(now, Input::Bytes(id, &wire)) {
        Step::Done(reply) | Step::Page(reply) => Some(reply.type_name()),
        _ => None,
    };
    name
}

fn on_small_stack(op: Operation<'static>, body: Vec<u8>) -> Option<&'static str> {
    std::thread::Builder::new()
        .stack_size(BUDGET)
        .spawn(move || run(op, body))
        .expect("spawns")
        .join()
        .expect("joins")
}

#[test]
fn an_instance_is_read_within_the_stack_budget() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/fixtures/instance.json"
    );
    let body = std::fs::read(path).expect("instance fixture");
    assert_eq!(on_small_stack(Operation::Instance, body), Some("instance"));
}

#[test]
fn a_full_page_of_keys_is_read_within_the_stack_budget() {
    let keys: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"id":"k{i}","name":"key-{i}","public_key":"ssh-ed25519 AAAA{i}","type":"ed25519","length":256}}"#))
        .collect();
    let body = format!(r#"{{"keys":[{}],"limit":50}}"#, keys.join(",")).into_bytes();
    assert_eq!(on_small_stack(Operation::Keys, body), Some("keys"));
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[test]
fn gzip_user_data_is_inflated_within_the_stack_budget() {
    let text = b"#cloud-config\n".repeat(8000);
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    gz.extend(miniz_oxide::deflate::compress_to_vec(&text, 6));
    gz.extend(crc32(&text).to_le_bytes());
    gz.extend((text.len() as u32).to_le_bytes());
    let inflated = std::thread::Builder::new()
        .stack_size(BUDGET)
        .spawn(move || vpc_imds_driver::gunzip(&gz, 1 << 20).ok())
        .expect("spawns")
        .join()
        .expect("joins");
    assert_eq!(inflated.as_deref(), Some(&text[..]));
}
