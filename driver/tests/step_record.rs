//! The step form the JavaScript hosts read: each step kind's JSON members, and the
//! payload each one leaves beside its record.

use serde_json::{json, Value};
use vpc_imds_driver::core::operation::Args;
use vpc_imds_driver::step_record::kind;
use vpc_imds_driver::{Instant, LocalMachine, MachineInput as Input, StepRecord};

mod common;
use common::{machine, ok};

const TOKEN: &str = r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.sig","expires_in":300}"#;

/// Steps `op` with `input` and returns its record as JSON and its payload.
fn step(
    m: &mut LocalMachine,
    op: vpc_imds_driver::OpId,
    input: Input<'_>,
    parts: bool,
) -> (Value, Vec<u8>) {
    let step = m.step(op, Instant::from_millis(0), input);
    let mut payload = Vec::new();
    let record = StepRecord::new(&step, Vec::new(), parts, &mut payload);
    (serde_json::from_str(&record.to_json()).unwrap(), payload)
}

#[test]
fn a_send_carries_its_bytes_as_payload_and_its_parts_only_when_asked() {
    let mut m = machine();
    let op = m
        .start("instance", &Args::default(), Instant::from_millis(0))
        .unwrap();
    let (send, wire) = step(&mut m, op, Input::Tick, false);
    assert_eq!(send["kind"], kind::SEND);
    assert_eq!(send["takeBytes"], "wire");
    assert_eq!(send["fresh"], true);
    assert!(send["until"].is_u64() && send["timeout"].is_u64() && send["connectTimeout"].is_u64());
    assert!(
        send.get("method").is_none() && send.get("headers").is_none(),
        "{send}"
    );
    assert!(
        wire.starts_with(b"PUT /identity/v1/token?version="),
        "{:?}",
        String::from_utf8_lossy(&wire)
    );

    let mut m = machine();
    let op = m
        .start("instance", &Args::default(), Instant::from_millis(0))
        .unwrap();
    let (send, _) = step(&mut m, op, Input::Tick, true);
    assert_eq!(send["method"], "PUT");
    assert!(send["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:9/identity/v1/token"));
    let headers = send["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h[0] == "Metadata-Flavor" && h[1] == "ibm"),
        "{headers:?}"
    );
}

#[test]
fn debug_never_shows_the_token() {
    let mut m = machine();
    let op = m
        .start("instance", &Args::default(), Instant::from_millis(0))
        .unwrap();
    let _send = m.step(op, Instant::from_millis(0), Input::Tick);
    let step = m.step(op, Instant::from_millis(0), Input::Bytes(&ok(TOKEN)));
    let mut payload = Vec::new();
    let record = StepRecord::new(&step, Vec::new(), true, &mut payload);
    let json = serde_json::to_string(&record).unwrap();
    assert!(
        json.contains("Bearer eyJ"),
        "the record itself carries it: {json}"
    );
    let shown = format!("{record:?}");
    assert!(
        !shown.contains("eyJ") && shown.contains("kind: 0"),
        "{shown}"
    );
}

#[test]
fn a_typed_document_is_the_value_and_a_generic_get_leaves_its_text() {
    let mut m = machine();
    let op = m
        .start("instance", &Args::default(), Instant::from_millis(0))
        .unwrap();
    step(&mut m, op, Input::Tick, false);
    let (send, _) = step(&mut m, op, Input::Bytes(&ok(TOKEN)), false);
    assert_eq!(send["kind"], kind::SEND, "{send}");
    let (done, payload) = step(
        &mut m,
        op,
        Input::Bytes(&ok(r#"{"id":"0717_a","name":"web-1"}"#)),
        false,
    );
    assert_eq!(done["kind"], kind::DONE);
    assert_eq!(done["typeName"], "instance");
    assert_eq!(done["value"]["id"], "0717_a");
    assert_eq!(done["value"]["name"], "web-1");
    assert!(done.get("takeText").is_none() && payload.is_empty());

    let path = Args {
        path: Some("instance"),
        ..Args::default()
    };
    let op = m.start("get", &path, Instant::from_millis(0)).unwrap();
    step(&mut m, op, Input::Tick, false);
    let body = r#"{"id":"0717_a","extra":[1,2]}"#;
    let (done, payload) = step(&mut m, op, Input::Bytes(&ok(body)), false);
    assert_eq!(done["typeName"], "raw");
    assert_eq!(done["takeText"], "json");
    assert!(done.get("value").is_none());
    assert_eq!(payload, body.as_bytes());
}

#[test]
fn a_failure_is_the_error_record_and_woken_operations_are_listed() {
    let mut m = machine();
    let op = m
        .start("instance", &Args::default(), Instant::from_millis(0))
        .unwrap();
    step(&mut m, op, Input::Tick, false);
    let (failed, _) = step(
        &mut m,
        op,
        Input::Bytes(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
        false,
    );
    assert_eq!(failed["kind"], kind::FAILED);
    assert_eq!(failed["error"]["kind"], "unauthorized");
    assert_eq!(failed["error"]["status"], 403);

    let step = m.step(op, Instant::from_millis(0), Input::Tick);
    let record = StepRecord::new(&step, vec![3, 5], false, &mut Vec::new());
    assert_eq!(
        serde_json::from_str::<Value>(&record.to_json()).unwrap()["woken"],
        json!([3, 5])
    );
    assert_eq!(
        serde_json::to_value(StepRecord::unrepresentable()).unwrap()["error"]["kind"],
        "bad_response"
    );
}

/// The record machine writes a typed document directly (not through serde): its
/// `value` is the model's serde form, member for member.
#[test]
fn the_record_machine_writes_typed_documents_as_serde_does() {
    use vpc_imds_driver::core::model::{AccessToken, Instance, KeyCollection};
    use vpc_imds_driver::{NamedArgs, RecordMachine, Settings};

    fn answer(body: &[u8]) -> Vec<u8> {
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
        [head.as_bytes(), body].concat()
    }
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/fixtures/");
    let instance = std::fs::read(format!("{fixtures}instance.json")).unwrap();
    let keys = std::fs::read(format!("{fixtures}keys.json")).unwrap();
    let token = br#"{"access_token":"eyJhbGciOiJub25lIn0.e30.sig","created_at":"2025-09-01T12:00:00Z","expires_at":"2025-09-01T12:05:00Z","expires_in":300,"nonce":"n\u00e9 \"q\""}"#;
    let settings = Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Settings::default()
    };
    let mut m = RecordMachine::new(settings, &[1; 8], false).unwrap();
    let none = NamedArgs::default();

    let op = m.start("identity_token", 0.0, &none).unwrap();
    m.step(op, 0.0, Input::Tick);
    let done: Value = serde_json::from_str(&m.step(op, 0.0, Input::Bytes(&answer(token)))).unwrap();
    let expected = serde_json::to_value(AccessToken::parse(token).unwrap()).unwrap();
    assert_eq!(done["kind"], kind::DONE);
    assert_eq!(done["value"], expected);
    assert_eq!(done["lifetime"], 300);

    for (op, body, expected) in [
        (
            "instance",
            &instance,
            serde_json::to_value(Instance::parse(&instance).unwrap()),
        ),
        (
            "keys",
            &keys,
            serde_json::to_value(KeyCollection::parse(&keys).unwrap()),
        ),
    ] {
        let id = m.start(op, 1.0, &none).unwrap();
        let send: Value = serde_json::from_str(&m.step(id, 1.0, Input::Tick)).unwrap();
        assert_eq!(send["kind"], kind::SEND, "{op}: {send}");
        let text = m.step(id, 1.0, Input::Bytes(&answer(body)));
        let step: Value = serde_json::from_str(&text).unwrap();
        assert!(
            step["kind"] == kind::DONE || step["kind"] == kind::PAGE,
            "{op}: {step}"
        );
        assert_eq!(step["typeName"], op);
        assert_eq!(step["value"], expected.unwrap(), "{op}");
        m.cancel(id);
    }
}

/// A host's id that is not a whole number names no operation: a fraction is not
/// rounded onto a neighbour, NaN is not operation 0.
#[test]
fn an_id_that_is_not_a_whole_number_names_no_operation() {
    use vpc_imds_driver::{NamedArgs, RecordMachine, Settings};

    let settings = Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Settings::default()
    };
    let mut m = RecordMachine::new(settings, &[1; 8], false).unwrap();
    let op = m.start("instance", 0.0, &NamedArgs::default()).unwrap();
    for other in [op + 0.5, op - 0.5, f64::NAN, -op, f64::INFINITY, 1e300] {
        let record: Value = serde_json::from_str(&m.step(other, 0.0, Input::Tick)).unwrap();
        assert_eq!(record["kind"], kind::FAILED, "{other}");
        assert_eq!(record["error"]["cause"], "misuse", "{other}");
        assert_eq!(m.cancel(other), None, "{other}");
    }
    // The operation itself was not touched: its first step is still its request.
    let send: Value = serde_json::from_str(&m.step(op, 0.0, Input::Tick)).unwrap();
    assert_eq!(send["kind"], kind::SEND);
}
