//! Any sequence of host actions — starts, steps with any input, cancels, in any
//! order and interleaving — leaves the machine consistent: no panic, every
//! operation ends once, woken operations are live ones, a fresh connection is new
//! and a reused one was handed out before.

use std::collections::HashSet;

use proptest::prelude::*;
use vpc_imds_driver::core::operation::Args;
use vpc_imds_driver::{
    ConnId, Instant, LocalMachine, MachineInput as Input, MachineStep as Step, OpId, Settings,
    TransportError,
};

const TOKEN: &str = r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.sig","expires_in":300}"#;

fn answers() -> Vec<Vec<u8>> {
    let ok = |body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    vec![
        ok(TOKEN),
        ok(r#"{"id":"0717_abc","name":"web-1"}"#),
        ok(r#"{"user_data":"hi"}"#),
        ok(
            r#"{"keys":[],"limit":1,"next":{"href":"http://127.0.0.1:9/metadata/v1/keys?start=2"}}"#,
        ),
        b"HTTP/1.1 503 X\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".to_vec(),
        b"HTTP/1.1 401 X\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".to_vec(),
        b"HTTP/1.1 200 OK\r\nContent-Len".to_vec(),
        b"garbage\r\n\r\n".to_vec(),
        Vec::new(),
    ]
}

#[derive(Clone, Debug)]
enum Action {
    Start(usize),
    Wait,
    Step {
        op: usize,
        input: u8,
        answer: usize,
        cut: usize,
    },
    Cancel(usize),
    Advance(u16),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0usize..8).prop_map(Action::Start),
        Just(Action::Wait),
        (0usize..6, 0u8..4, 0usize..9, 0usize..200).prop_map(|(op, input, answer, cut)| {
            Action::Step {
                op,
                input,
                answer,
                cut,
            }
        }),
        (0usize..6).prop_map(Action::Cancel),
        any::<u16>().prop_map(Action::Advance),
    ]
}

const NAMES: [&str; 8] = [
    "identity_token",
    "iam_token",
    "instance",
    "user_data",
    "ssh_keys",
    "get_all",
    "keys",
    "initialization",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn any_host_sequence_keeps_the_machine_consistent(actions in prop::collection::vec(action(), 1..80)) {
        let config = Settings { endpoint: Some("http://127.0.0.1:9".into()), ..Settings::default() }
            .build()
            .unwrap();
        let mut m = LocalMachine::new(config, 3);
        let answers = answers();
        let mut now = 0u64;
        let mut live: Vec<OpId> = Vec::new();
        let mut ended: HashSet<OpId> = HashSet::new();
        let mut seen: HashSet<ConnId> = HashSet::new();
        for action in actions {
            let at = Instant::from_millis(now);
            match action {
                Action::Start(i) => {
                    let args = Args { path: Some("keys"), profile_id: Some("p"), ..Args::default() };
                    if let Ok(op) = m.start(NAMES[i], &args, at) {
                        live.push(op);
                    }
                }
                Action::Wait => {
                    if let Ok(op) = m.start_wait_until_ready(Some(std::time::Duration::from_secs(2)), at) {
                        live.push(op);
                    }
                }
                Action::Advance(ms) => now += u64::from(ms),
                Action::Cancel(i) => {
                    if let Some(&op) = live.get(i) {
                        m.cancel(op);
                        live.retain(|&o| o != op);
                        ended.insert(op);
                    }
                }
                Action::Step { op, input, answer, cut } => {
                    let Some(&op) = live.get(op) else { continue };
                    let bytes = &answers[answer];
                    let input = match input {
                        0 => Input::Tick,
                        1 => Input::Bytes(&bytes[..cut.min(bytes.len())]),
                        2 => Input::Bytes(bytes),
                        _ => Input::Failed(TransportError::ConnectionLost),
                    };
                    match m.step(op, at, input) {
                        Step::Send(t) => {
                            prop_assert_eq!(seen.insert(t.conn), t.fresh, "fresh means new");
                        }
                        Step::Close(conn) => prop_assert!(seen.contains(&conn)),
                        Step::Done(_) | Step::Failed(_) => {
                            live.retain(|&o| o != op);
                            prop_assert!(ended.insert(op), "an operation ended twice");
                        }
                        Step::Read | Step::Backoff(_) | Step::AwaitToken(_) | Step::Page(_) => {}
                    }
                }
            }
            while let Some(op) = m.poll_woken() {
                prop_assert!(live.contains(&op), "woke {:?}, which is not running", op);
            }
            prop_assert_eq!(m.operations(), live.len());
        }
        for op in ended {
            prop_assert!(matches!(m.step(op, Instant::from_millis(now), Input::Tick), Step::Failed(_)));
        }
    }
}
