//! Parsers and the session never panic, whatever the bytes.

use proptest::prelude::*;
use vpc_imds_core::model::*;
use vpc_imds_core::response::{Progress, Response, ResponseReader};
use vpc_imds_core::session::{Action, Operation, Session};
use vpc_imds_core::{validate, ApiVersion, Config, Endpoint, Instant};

fn parse_every_model(body: &[u8]) {
    let _ = AccessToken::parse(body).map(|t| t.lifetime_secs());
    let _ = Instance::parse(body);
    let _ = Initialization::parse(body).map(|i| i.user_data.map(|u| u.decoded_len()));
    let _ = NetworkInterface::parse(body);
    let _ = NetworkInterfaceCollection::parse(body);
    let _ = VolumeAttachment::parse(body);
    let _ = VolumeAttachmentCollection::parse(body);
    let _ = Key::parse(body);
    let _ = KeyCollection::parse(body);
    let _ = PlacementGroup::parse(body);
    let _ = PlacementGroupCollection::parse(body);
    let _ = IdentityCertificate::parse(body);
    let _ = ErrorBody::parse(body);
    let _ = PageLinks::parse(body);
    let _ = vpc_imds_core::error::ApiError::from_body(500, body);
}

/// JSON-ish bytes reach deeper into the parsers than uniform noise.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(&b"{"[..]),
        Just(&b"}"[..]),
        Just(&b"["[..]),
        Just(&b"]"[..]),
        Just(&b","[..]),
        Just(&b":"[..]),
        Just(&b"\""[..]),
        Just(&b"\\u"[..]),
        Just(&b"\\ud83d"[..]),
        Just(&b"\\"[..]),
        Just(&b"null"[..]),
        Just(&b"true"[..]),
        Just(&b"-1e999"[..]),
        Just(&b"42"[..]),
        Just(&b"\"id\""[..]),
        Just(&b"\"next\""[..]),
        Just(&b"\"href\""[..]),
        Just(&b"\"errors\""[..]),
        Just(&b"\"keys\""[..]),
        Just(&b"\"access_token\""[..]),
        Just(&b"\"expires_in\""[..]),
        Just(&b"\"user_data\""[..]),
        Just(&b"\"placement_groups\""[..]),
        Just(&b"\"http://h/metadata/v1/keys?start=1\""[..]),
        Just(&b"\xff"[..]),
    ];
    prop::collection::vec(token, 0..64).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn models_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_every_model(&body);
    }

    #[test]
    fn models_never_panic_on_jsonish(body in jsonish()) {
        parse_every_model(&body);
    }

    #[test]
    fn reader_never_panics(raw in prop::collection::vec(any::<u8>(), 0..512), step in 1usize..64, cap in 1usize..600) {
        read_all(&raw, step, cap);
    }

    #[test]
    fn reader_never_panics_on_http_like(
        status in 100u16..600,
        headers in prop::collection::vec(("(Content-Length|Transfer-Encoding|Connection|Retry-After|X)", "[ -~]{0,12}"), 0..6),
        body in prop::collection::vec(any::<u8>(), 0..200),
        step in 1usize..50,
    ) {
        let mut raw = format!("HTTP/1.1 {status} X\r\n").into_bytes();
        for (k, v) in headers {
            raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&body);
        read_all(&raw, step, 512);
    }

    #[test]
    fn session_never_panics(status in 0u16..1000, body in jsonish(), retry_after in proptest::option::of(any::<u32>())) {
        for op in [Operation::Instance, Operation::Keys, Operation::Get { path: "keys", all_pages: true }, Operation::IdentityToken {
                expires_in: None,
                nonce: None,
            }] {
            let mut s = Session::new(Config::default(), 1);
            s.start(op, Instant::ZERO).unwrap();
            for i in 0..6u64 {
                let now = Instant::from_millis(i * 3000);
                match s.poll(now) {
                    Action::Send(req) => {
                        let id = req.id();
                        let _ = s.on_response(id, &Response::from_parts(status, retry_after, &body), now);
                    }
                    Action::Wait(_) => {}
                    Action::Failed(_) | Action::Idle => break,
                }
            }
        }
    }

    #[test]
    fn input_checks_never_panic(s in "\\PC{0,40}") {
        let _ = Endpoint::parse(&s);
        let _ = ApiVersion::parse(&s);
        let _ = validate::resource_id(&s);
        let _ = validate::metadata_path(&s);
        let _ = validate::profile_value(&s, "x");
        let mut session = Session::new(Config::default(), 1);
        let _ = session.start(Operation::Key { id: &s }, Instant::ZERO);
        let _ = parse_rfc3339(&s);
    }
}

fn read_all(raw: &[u8], step: usize, cap: usize) {
    let mut buf = vec![0u8; cap];
    let mut reader = ResponseReader::new();
    let mut fed = 0;
    loop {
        let Ok(space) = reader.unfilled(&mut buf) else {
            return;
        };
        let n = step.min(raw.len() - fed).min(space.len());
        space[..n].copy_from_slice(&raw[fed..fed + n]);
        fed += n;
        match reader.advance(&mut buf, n) {
            Ok(Progress::NeedMore) => {}
            Ok(Progress::Complete(r)) => {
                assert!(r.body().len() <= cap);
                return;
            }
            Err(_) => return,
        }
    }
}
