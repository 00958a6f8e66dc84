//! The client machine: many operations at once over shared tokens and pooled
//! connections, the resend-once rule, per-profile IAM tokens, the machine's own
//! operations (user data, SSH key lines, merged pages, waiting until ready) and
//! the owned records a host converts.

use std::time::Duration;

use vpc_imds_driver::core::operation::Args;
use vpc_imds_driver::machine::{DEFAULT_WAIT, IDLE_TIMEOUT, MAX_CONNECTIONS};
use vpc_imds_driver::{
    ConnId, ErrorRecord, Instant, LocalMachine, MachineInput as Input, MachineStep as Step, OpId,
    Transmit,
};

mod common;
use common::{machine, ok};

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn status(code: u16, retry_after: Option<u32>, body: &str) -> Vec<u8> {
    let ra = retry_after.map_or(String::new(), |s| format!("Retry-After: {s}\r\n"));
    format!(
        "HTTP/1.1 {code} X\r\n{ra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const TOKEN: &str = r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.sig","expires_in":300}"#;
const IAM: &str = r#"{"access_token":"iam-abc","expires_in":3600}"#;
const INSTANCE: &str = r#"{"id":"0717_abc","name":"web-1"}"#;

fn start_at(m: &mut LocalMachine, name: &str, args: Args<'_>, now: Instant) -> OpId {
    m.start(name, &args, now).unwrap()
}

fn start(m: &mut LocalMachine, name: &str, args: Args<'_>) -> OpId {
    start_at(m, name, args, at(0))
}

/// Steps until a request, closing what the machine asks to close on the way.
fn send(m: &mut LocalMachine, op: OpId, now: Instant, input: Input<'_>) -> Transmit {
    let mut step = m.step(op, now, input);
    while let Step::Close(_) = step {
        step = m.step(op, now, Input::Tick);
    }
    match step {
        Step::Send(t) => t,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Feeds a whole answer on the operation's connection and returns the next step
/// after any connection closes it asks for (which it returns too).
fn answer(m: &mut LocalMachine, op: OpId, now: Instant, bytes: &[u8]) -> (Step, Vec<ConnId>) {
    past_closes(m, op, now, Input::Bytes(bytes))
}

/// Steps `op` with `input`, then past any connection closes it asks for: the next
/// step, and the connections closed.
fn past_closes(
    m: &mut LocalMachine,
    op: OpId,
    now: Instant,
    input: Input<'_>,
) -> (Step, Vec<ConnId>) {
    let mut closed = Vec::new();
    let mut step = m.step(op, now, input);
    while let Step::Close(conn) = step {
        closed.push(conn);
        step = m.step(op, now, Input::Tick);
    }
    (step, closed)
}

fn done(step: Step) -> vpc_imds_driver::Record {
    match step {
        Step::Done(record) => record,
        other => panic!("expected the result, got {other:?}"),
    }
}

#[test]
fn two_operations_share_one_token_request_and_each_has_its_connection() {
    let mut m = machine();
    let a = start(&mut m, "instance", Args::default());
    let b = start(&mut m, "instance", Args::default());
    let put = send(&mut m, a, at(0), Input::Tick);
    assert!(put.fresh);
    assert!(put.request.target().contains("token"));
    // B must wait for A's token, not fetch its own.
    let until = match m.step(b, at(0), Input::Tick) {
        Step::AwaitToken(until) => until,
        other => panic!("expected a token wait, got {other:?}"),
    };
    assert!(until > at(0));
    assert_eq!(m.poll_woken(), None);
    // A's token arrives: A goes on to its GET on the same (kept-alive) connection,
    // and B is woken by the machine.
    let (step, closed) = answer(&mut m, a, at(5), &ok(TOKEN));
    assert!(closed.is_empty());
    let Step::Send(get_a) = step else {
        panic!("expected A's GET, got {step:?}")
    };
    assert_eq!((get_a.conn, get_a.fresh), (put.conn, false));
    assert_eq!(m.poll_woken(), Some(b));
    assert_eq!(m.poll_woken(), None);
    // B's GET goes on a new connection, with the shared token.
    let get_b = send(&mut m, b, at(6), Input::Tick);
    assert!(get_b.fresh);
    assert_ne!(get_b.conn, get_a.conn);
    assert_eq!(m.operations(), 2);
    for (op, t) in [(a, &get_a), (b, &get_b)] {
        assert!(t.request.target().starts_with("/metadata/v1/instance"));
        let (step, _) = answer(&mut m, op, at(7), &ok(INSTANCE));
        let record = done(step);
        assert_eq!(record.type_name(), "instance");
        assert_eq!(record.body(), INSTANCE.as_bytes());
    }
    assert_eq!(m.operations(), 0);
    // Both connections are idle now: the next operation reuses one.
    let c = start_at(&mut m, "instance", Args::default(), at(8));
    let t = send(&mut m, c, at(8), Input::Tick);
    assert!(!t.fresh);
}

#[test]
fn twenty_concurrent_operations_send_one_token_request() {
    let mut m = machine();
    let ops: Vec<OpId> = (0..20)
        .map(|_| start(&mut m, "instance", Args::default()))
        .collect();
    let mut puts = 0;
    let mut fetcher = None;
    for &op in &ops {
        match m.step(op, at(0), Input::Tick) {
            Step::Send(t) if t.request.target().contains("token") => {
                puts += 1;
                fetcher = Some(op);
            }
            Step::AwaitToken(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(puts, 1);
    let fetcher = fetcher.unwrap();
    let (step, _) = answer(&mut m, fetcher, at(1), &ok(TOKEN));
    assert!(matches!(step, Step::Send(_)));
    let mut woken = Vec::new();
    while let Some(op) = m.poll_woken() {
        woken.push(op);
    }
    assert_eq!(woken.len(), 19);
    for op in woken {
        let t = send(&mut m, op, at(2), Input::Tick);
        assert!(!t.request.target().contains("token"));
    }
}

#[test]
fn a_reused_connection_closed_before_any_byte_is_resent_at_once_once() {
    let mut m = machine();
    let a = start(&mut m, "instance", Args::default());
    let put = send(&mut m, a, at(0), Input::Tick);
    let (step, _) = answer(&mut m, a, at(1), &ok(TOKEN));
    let Step::Send(get) = step else {
        panic!("{step:?}")
    };
    assert!(!get.fresh);
    assert!(
        m.last_answer().is_some(),
        "the token's answer, for a tracer"
    );
    // The idle connection had been closed by the service: EOF, no byte.
    match m.step(a, at(2), Input::Bytes(b"")) {
        Step::Close(conn) => assert_eq!(conn, put.conn),
        other => panic!("expected the dead connection closed, got {other:?}"),
    }
    assert_eq!(
        m.last_answer(),
        None,
        "no answer came: the token's is not shown again"
    );
    let again = send(&mut m, a, at(2), Input::Tick);
    assert!(again.fresh);
    assert_eq!(again.request.wire(), get.request.wire());
    assert_eq!(again.request.id(), get.request.id());
    // A fresh connection that closes is not resent by this rule: the core decides
    // (a lost connection is retried after a backoff).
    let mut step = m.step(a, at(3), Input::Bytes(b""));
    while let Step::Close(_) = step {
        step = m.step(a, at(3), Input::Tick);
    }
    assert!(matches!(step, Step::Backoff(_)), "{step:?}");
}

#[test]
fn a_reused_connection_reset_before_any_byte_is_resent_but_not_after_a_byte() {
    let mut m = machine();
    let a = start(&mut m, "instance", Args::default());
    send(&mut m, a, at(0), Input::Tick);
    let (step, _) = answer(&mut m, a, at(1), &ok(TOKEN));
    assert!(matches!(step, Step::Send(_)));
    assert!(matches!(
        m.step(
            a,
            at(2),
            Input::Failed(vpc_imds_driver::TransportError::ConnectionLost)
        ),
        Step::Close(_)
    ));
    assert!(send(&mut m, a, at(2), Input::Tick).fresh);
    assert_eq!(m.last_answer(), None, "a reset is no answer");
    let (step, _) = answer(&mut m, a, at(3), &ok(INSTANCE));
    done(step);
    // Once a byte of the answer came, a close is the core's to judge.
    let b = start_at(&mut m, "instance", Args::default(), at(4));
    assert!(!send(&mut m, b, at(4), Input::Tick).fresh);
    assert!(matches!(
        m.step(b, at(4), Input::Bytes(b"HTTP/1.1 200")),
        Step::Read
    ));
    let mut step = m.step(b, at(5), Input::Bytes(b""));
    while let Step::Close(_) = step {
        step = m.step(b, at(5), Input::Tick);
    }
    assert!(matches!(step, Step::Backoff(_)), "{step:?}");
    // A timeout is no answer either (the core retries it).
    let c = start_at(&mut m, "instance", Args::default(), at(6));
    send(&mut m, c, at(6), Input::Tick);
    let (step, _) = answer(&mut m, c, at(7), &ok(INSTANCE));
    done(step);
    assert!(m.last_answer().is_some());
    let d = start_at(&mut m, "instance", Args::default(), at(8));
    send(&mut m, d, at(8), Input::Tick);
    let timeout = vpc_imds_driver::TransportError::ResponseTimeout;
    let mut step = m.step(d, at(9), Input::Failed(timeout));
    while let Step::Close(_) = step {
        step = m.step(d, at(9), Input::Tick);
    }
    assert!(matches!(step, Step::Backoff(_)), "{step:?}");
    assert_eq!(m.last_answer(), None);
}

#[test]
fn a_burst_keeps_its_connections_for_the_next_burst() {
    let mut m = machine();
    let t = start(&mut m, "identity_token", Args::default());
    send(&mut m, t, at(0), Input::Tick);
    done(answer(&mut m, t, at(0), &ok(TOKEN)).0);
    let burst = 12;
    for round in 0..2u64 {
        let now = at(10 + round);
        let ops: Vec<OpId> = (0..burst)
            .map(|_| start_at(&mut m, "instance", Args::default(), now))
            .collect();
        let fresh = ops
            .iter()
            .filter(|&&op| send(&mut m, op, now, Input::Tick).fresh)
            .count();
        // The first burst opens its connections; the second reuses all of them.
        assert_eq!(
            fresh,
            if round == 0 { burst - 1 } else { 0 },
            "round {round}"
        );
        for &op in &ops {
            let (step, closed) = answer(&mut m, op, now, &ok(INSTANCE));
            done(step);
            assert!(closed.is_empty());
        }
    }
}

#[test]
fn idle_connections_are_bounded_and_expire() {
    let mut m = machine();
    // One token first, so every operation below goes straight to its GET.
    let t = start(&mut m, "identity_token", Args::default());
    send(&mut m, t, at(0), Input::Tick);
    done(answer(&mut m, t, at(0), &ok(TOKEN)).0);
    let n = MAX_CONNECTIONS + 2;
    let ops: Vec<OpId> = (0..n)
        .map(|_| start_at(&mut m, "instance", Args::default(), at(1)))
        .collect();
    let mut conns: Vec<ConnId> = ops
        .iter()
        .map(|&op| send(&mut m, op, at(1), Input::Tick).conn)
        .collect();
    conns.sort();
    conns.dedup();
    assert_eq!(
        conns.len(),
        n,
        "each operation in flight has its own connection"
    );
    let mut closed = Vec::new();
    for &op in &ops {
        let (step, c) = answer(&mut m, op, at(2), &ok(INSTANCE));
        done(step);
        closed.extend(c);
    }
    assert_eq!(closed.len(), n - MAX_CONNECTIONS);
    assert!(m.expire_idle(at(2)).is_empty());
    let later = at(2) + IDLE_TIMEOUT;
    assert_eq!(m.expire_idle(later).len(), MAX_CONNECTIONS);
}

#[test]
fn iam_tokens_are_cached_per_profile() {
    let mut m = machine();
    let profile = |id| Args {
        profile_id: Some(id),
        ..Args::default()
    };
    let a = start(&mut m, "iam_token", profile("Profile-a"));
    send(&mut m, a, at(0), Input::Tick);
    let (step, _) = answer(&mut m, a, at(1), &ok(TOKEN));
    let Step::Send(post) = step else {
        panic!("{step:?}")
    };
    assert!(post.request.body().unwrap().contains("Profile-a"));
    let record = done(answer(&mut m, a, at(2), &ok(IAM)).0);
    assert_eq!(record.type_name(), "iam_token");
    // The same profile again: answered from the cache, nothing sent.
    let again = start_at(&mut m, "iam_token", profile("Profile-a"), at(3));
    let record = done(m.step(again, at(3), Input::Tick));
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["access_token"], "iam-abc");
    // Another profile has its own token.
    let b = start_at(&mut m, "iam_token", profile("Profile-b"), at(4));
    let t = send(&mut m, b, at(4), Input::Tick);
    assert!(t.request.body().unwrap().contains("Profile-b"));
}

#[test]
fn an_iam_token_is_cached_an_hour_at_most_whatever_it_states() {
    let mut m = machine();
    let a = start(&mut m, "iam_token", Args::default());
    send(&mut m, a, at(0), Input::Tick);
    let (post, _) = answer(&mut m, a, at(1), &ok(TOKEN));
    assert!(matches!(post, Step::Send(_)), "the IAM POST: {post:?}");
    let forever = r#"{"access_token":"iam-abc","expires_in":4000000000}"#;
    done(answer(&mut m, a, at(2), &ok(forever)).0);
    // From the cache 50 minutes on: what is left of an hour, not of 126 years.
    let b = start_at(&mut m, "iam_token", Args::default(), at(3_000_000));
    let record = done(m.step(b, at(3_000_000), Input::Tick));
    let left = serde_json::to_value(&record).unwrap()["expires_in"].as_u64();
    assert!(left.is_some_and(|s| s <= 600), "{left:?}");
}

#[test]
fn two_callers_of_one_profile_make_one_iam_request() {
    let mut m = machine();
    let args = Args {
        profile_name: Some("reader"),
        ..Args::default()
    };
    let a = start(&mut m, "iam_token", args);
    let b = start(&mut m, "iam_token", args);
    send(&mut m, a, at(0), Input::Tick); // the identity token
    assert!(matches!(m.step(b, at(0), Input::Tick), Step::AwaitToken(_)));
    // B waits for A's IAM token (not the identity token): A's identity token does
    // not wake it, A's IAM token does.
    let (step, _) = answer(&mut m, a, at(1), &ok(TOKEN));
    assert!(matches!(step, Step::Send(_))); // A's IAM POST
    assert_eq!(m.poll_woken(), None);
    done(answer(&mut m, a, at(2), &ok(IAM)).0);
    assert_eq!(m.poll_woken(), Some(b));
    let record = done(m.step(b, at(2), Input::Tick));
    assert_eq!(
        serde_json::to_value(&record).unwrap()["access_token"],
        "iam-abc"
    );
}

/// A host with its own HTTP stack hands over headers as it read them: the machine
/// parses `Retry-After`, refuses a coding the core's reader would, and names
/// transport failures.
#[test]
fn a_host_stacks_answer_is_read_from_its_header_text() {
    let mut m = machine();
    let op = m
        .start_wait_until_ready(Some(Duration::from_secs(60)), at(0))
        .unwrap();
    send(&mut m, op, at(0), Input::Tick);
    let step = m.step(op, at(1), Input::response(503, Some(" 45 "), None, b""));
    let Step::Backoff(until) = step else {
        panic!("expected a backoff, got {step:?}")
    };
    assert!(until >= at(45_001), "{until:?}");
    send(&mut m, op, until, Input::Tick);
    let te = Some("chunked, identity");
    match m.step(op, until, Input::response(200, None, te, TOKEN.as_bytes())) {
        Step::Failed(e) => assert_eq!(ErrorRecord::from(&e).kind, "bad_response"),
        other => panic!("expected bad_response, got {other:?}"),
    }

    let config = vpc_imds_driver::Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        max_attempts: Some(1),
        ..Default::default()
    };
    let mut m = LocalMachine::new(config.build().unwrap(), 7);
    let op = start(&mut m, "instance", Args::default());
    send(&mut m, op, at(0), Input::Tick);
    // A name no transport gives counts as a lost connection.
    let mut step = m.step(op, at(1), Input::failed("gremlins"));
    while let Step::Close(_) = step {
        step = m.step(op, at(1), Input::Tick);
    }
    match step {
        Step::Failed(e) => {
            let record = ErrorRecord::from(&e);
            assert_eq!(record.transport, Some("connection_lost"), "{record:?}");
        }
        other => panic!("expected the failure, got {other:?}"),
    }
}

#[test]
fn wait_until_ready_honours_retry_after_and_reads_each_attempt_afresh() {
    let mut m = machine();
    let op = m
        .start_wait_until_ready(Some(Duration::from_secs(60)), at(0))
        .unwrap();
    send(&mut m, op, at(0), Input::Tick);
    let busy = status(503, Some(45), "");
    let (step, _) = answer(&mut m, op, at(1), &busy);
    // The session's own retry would pass its 15 s deadline: the wait takes over
    // and sleeps as long as the service asked.
    let until = match step {
        Step::Backoff(until) => until,
        other => panic!("expected a backoff, got {other:?}"),
    };
    assert!(until >= at(45_001), "{until:?}");
    let t = send(&mut m, op, until, Input::Tick);
    assert!(t.request.target().contains("token"));
    // The new attempt's answer is read from its first byte (this used to fail with
    // "response already complete").
    let record = done(answer(&mut m, op, until, &ok(TOKEN)).0);
    assert_eq!(record.type_name(), "ready");
}

#[test]
fn wait_until_ready_defaults_to_sixty_seconds() {
    assert_eq!(DEFAULT_WAIT, Duration::from_secs(60));
    let mut m = machine();
    let op = m.start_wait_until_ready(None, at(0)).unwrap();
    let mut now = at(0);
    let mut attempts = 0;
    let error = loop {
        match m.step(op, now, Input::Tick) {
            Step::Send(_) => {
                attempts += 1;
                let mut step = m.step(
                    op,
                    now,
                    Input::Failed(vpc_imds_driver::TransportError::ConnectTimeout),
                );
                while let Step::Close(_) = step {
                    step = m.step(op, now, Input::Tick);
                }
                match step {
                    Step::Backoff(until) => now = until,
                    Step::Failed(e) => break e,
                    other => panic!("{other:?}"),
                }
            }
            Step::Backoff(until) => now = until,
            Step::Failed(e) => break e,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(error.kind().as_str(), "timed_out");
    assert!(attempts > 4);
    // It gives up when the next attempt could not start before 60 s.
    assert!(now >= at(57_000) && now <= at(60_000), "{now:?}");
}

#[test]
fn user_data_ssh_keys_and_merged_pages_are_operations() {
    let mut m = machine();
    let t = start(&mut m, "identity_token", Args::default());
    send(&mut m, t, at(0), Input::Tick);
    done(answer(&mut m, t, at(0), &ok(TOKEN)).0);

    let op = start_at(&mut m, "user_data", Args::default(), at(1));
    send(&mut m, op, at(1), Input::Tick);
    let init = r#"{"user_data":"\u001f\u008b#cloud"}"#;
    let record = done(answer(&mut m, op, at(1), &ok(init)).0);
    assert_eq!(record.type_name(), "user_data");
    assert_eq!(record.body(), b"\x1f\x8b#cloud");

    let key = |id: &str, pk: &str| {
        format!(
            r#"{{"id":"{id}","name":"k","type":"rsa","public_key":"{pk}","fingerprint":"f","crn":"c","href":"h","created_at":"2026-01-01T00:00:00Z","resource_group":{{"id":"g","href":"h","name":"n"}},"length":2048}}"#
        )
    };
    let page1 = format!(
        r#"{{"keys":[{}],"limit":1,"first":{{"href":"http://127.0.0.1:9/metadata/v1/keys?limit=1"}},"next":{{"href":"http://127.0.0.1:9/metadata/v1/keys?limit=1&start=2"}}}}"#,
        key("1", "ssh-rsa AAA one")
    );
    let page2 = format!(
        r#"{{"keys":[{}],"limit":1,"first":{{"href":"http://127.0.0.1:9/metadata/v1/keys?limit=1"}}}}"#,
        key("2", " ssh-ed25519 BBB two ")
    );
    let op = start_at(&mut m, "ssh_keys", Args::default(), at(2));
    send(&mut m, op, at(2), Input::Tick);
    let (step, _) = answer(&mut m, op, at(2), &ok(&page1));
    assert!(
        matches!(step, Step::Send(_)),
        "the next page, not a Page step: {step:?}"
    );
    let record = done(answer(&mut m, op, at(2), &ok(&page2)).0);
    assert_eq!(
        record.lines().unwrap(),
        ["ssh-rsa AAA one", "ssh-ed25519 BBB two"]
    );
    assert_eq!(
        serde_json::to_value(&record).unwrap(),
        serde_json::json!(["ssh-rsa AAA one", "ssh-ed25519 BBB two"])
    );

    // A key holding a control character fails the operation.
    let bad = page2.replace("BBB two", "BBB\\ntwo");
    let op = start_at(&mut m, "ssh_keys", Args::default(), at(3));
    send(&mut m, op, at(3), Input::Tick);
    let mut step = m.step(op, at(3), Input::Bytes(&ok(&bad)));
    while let Step::Close(_) = step {
        step = m.step(op, at(3), Input::Tick);
    }
    match step {
        Step::Failed(e) => assert_eq!(e.kind().as_str(), "bad_response"),
        other => panic!("{other:?}"),
    }

    let args = Args {
        path: Some("keys?limit=1"),
        ..Args::default()
    };
    let op = start_at(&mut m, "get_all", args, at(4));
    send(&mut m, op, at(4), Input::Tick);
    // The merged document streams out: the first page's part, then the rest.
    let (step, _) = answer(&mut m, op, at(4), &ok(&page1));
    let Step::Page(first) = step else {
        panic!("{step:?}")
    };
    assert_eq!(first.type_name(), "json");
    let mut merged = first.into_body();
    send(&mut m, op, at(4), Input::Tick);
    let record = done(answer(&mut m, op, at(4), &ok(&page2)).0);
    merged.extend_from_slice(record.body());
    let merged: serde_json::Value = serde_json::from_slice(&merged).unwrap();
    assert_eq!(merged["keys"].as_array().unwrap().len(), 2);
    assert_eq!(merged["keys"][1]["id"], "2");
    assert!(merged.get("next").is_none());
}

#[test]
fn one_error_record_shape() {
    let mut m = machine();
    let t = start(&mut m, "identity_token", Args::default());
    send(&mut m, t, at(0), Input::Tick);
    let body =
        r#"{"errors":[{"code":"not_found","message":"Instance not found"}],"trace":"abc-123"}"#;
    let mut step = m.step(t, at(0), Input::Bytes(&status(404, None, body)));
    while let Step::Close(_) = step {
        step = m.step(t, at(0), Input::Tick);
    }
    let Step::Failed(e) = step else {
        panic!("{step:?}")
    };
    let record = ErrorRecord::from(&e);
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "kind": "not_found", "message": record.message, "cause": "api", "status": 404,
            "retry_after": null, "code": "not_found", "api_message": "Instance not found",
            "target": null, "trace": "abc-123", "transport": null
        })
    );
    // Bad input: refused at start, nothing sent.
    let e = m
        .start(
            "key",
            &Args {
                id: Some("../x"),
                ..Args::default()
            },
            at(1),
        )
        .unwrap_err();
    assert_eq!(ErrorRecord::from(&e).kind, "invalid_input");
    assert!(m.start("frobnicate", &Args::default(), at(1)).is_err());
    assert_eq!(m.operations(), 0);
    // A finished operation cannot be stepped again.
    match m.step(t, at(2), Input::Tick) {
        Step::Failed(e) => assert_eq!(ErrorRecord::from(&e).cause, "misuse"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_returns_the_connection_to_close() {
    let mut m = machine();
    let a = start(&mut m, "instance", Args::default());
    let t = send(&mut m, a, at(0), Input::Tick);
    assert_eq!(m.cancel(a), Some(t.conn));
    assert_eq!(m.operations(), 0);
    // A cancelled fetch of the token wakes whoever waited for it.
    let a = start_at(&mut m, "instance", Args::default(), at(1));
    let b = start_at(&mut m, "instance", Args::default(), at(1));
    send(&mut m, a, at(1), Input::Tick);
    assert!(matches!(m.step(b, at(1), Input::Tick), Step::AwaitToken(_)));
    m.cancel(a);
    assert_eq!(m.poll_woken(), Some(b));
    let t = send(&mut m, b, at(1), Input::Tick);
    assert!(t.request.target().contains("token"));
}

#[test]
fn a_cancelled_iam_refresh_lets_the_next_caller_refresh() {
    let mut m = machine();
    let t = start(&mut m, "identity_token", Args::default());
    send(&mut m, t, at(0), Input::Tick);
    done(answer(&mut m, t, at(0), &ok(TOKEN)).0);
    let args = Args {
        profile_id: Some("Profile-a"),
        ..Args::default()
    };
    let a = start_at(&mut m, "iam_token", args, at(1));
    let b = start_at(&mut m, "iam_token", args, at(1));
    assert!(send(&mut m, a, at(1), Input::Tick).request.body().is_some());
    assert!(matches!(m.step(b, at(1), Input::Tick), Step::AwaitToken(_)));
    // A gives up while its exchange is in flight: B is woken and exchanges itself,
    // instead of waiting out its deadline.
    m.cancel(a);
    assert_eq!(m.poll_woken(), Some(b));
    let t = send(&mut m, b, at(2), Input::Tick);
    assert!(t.request.body().unwrap().contains("Profile-a"));
}

#[test]
fn a_number_no_host_can_hold_fails_the_operation_in_every_host() {
    let mut m = machine();
    let t = start(&mut m, "identity_token", Args::default());
    send(&mut m, t, at(0), Input::Tick);
    let token = done(answer(&mut m, t, at(0), &ok(TOKEN)).0);
    assert_eq!(token.token_lifetime(), Some(300));
    for (name, path) in [("instance", None), ("get", Some("instance"))] {
        let args = Args {
            path,
            ..Args::default()
        };
        let op = start_at(&mut m, name, args, at(1));
        send(&mut m, op, at(1), Input::Tick);
        let body = r#"{"id":"0717_abc","name":"web-1","memory":1e999}"#;
        match answer(&mut m, op, at(1), &ok(body)).0 {
            Step::Failed(e) => {
                let r = ErrorRecord::from(&e);
                assert_eq!((r.kind, r.cause), ("bad_response", "body"), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // Large but finite numbers, and digits inside strings, are fine.
    let op = start_at(
        &mut m,
        "get",
        Args {
            path: Some("instance"),
            ..Args::default()
        },
        at(2),
    );
    send(&mut m, op, at(2), Input::Tick);
    let body = r#"{"id":"1e999","n":-1.5e308,"m":123456789012345678901234567890,"k":1E2}"#;
    done(answer(&mut m, op, at(2), &ok(body)).0);
}

#[test]
fn closes_a_cancelled_operation_owed_are_reported_by_the_next_step() {
    let mut m = machine();
    let t = start(&mut m, "identity_token", Args::default());
    send(&mut m, t, at(0), Input::Tick);
    done(answer(&mut m, t, at(0), &ok(TOKEN)).0);
    // Two idle connections.
    let (x, y) = (
        start_at(&mut m, "instance", Args::default(), at(1)),
        start_at(&mut m, "instance", Args::default(), at(1)),
    );
    let cx = send(&mut m, x, at(1), Input::Tick).conn;
    let cy = send(&mut m, y, at(1), Input::Tick).conn;
    done(answer(&mut m, x, at(1), &ok(INSTANCE)).0);
    done(answer(&mut m, y, at(1), &ok(INSTANCE)).0);
    // Past the idle timeout, A's request finds both expired: it owes two closes,
    // reports one, and is cancelled before the other.
    let later = at(1) + IDLE_TIMEOUT;
    let a = start_at(&mut m, "instance", Args::default(), later);
    let Step::Close(first) = m.step(a, later, Input::Tick) else {
        panic!("expected a close")
    };
    assert_eq!(m.cancel(a), None, "A had sent nothing yet");
    // B's first step reports the other one; nothing is lost or closed twice.
    let b = start_at(&mut m, "instance", Args::default(), later);
    let Step::Close(second) = m.step(b, later, Input::Tick) else {
        panic!("expected the owed close")
    };
    let mut closed = [first, second];
    closed.sort();
    let mut expected = [cx, cy];
    expected.sort();
    assert_eq!(closed, expected);
    assert!(send(&mut m, b, later, Input::Tick).fresh);
    assert!(m.expire_idle(later).is_empty());
}

/// A 200 answer after which the service closes the connection.
fn ok_then_close(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn cancel_before_a_queued_request_on_a_reused_connection_hands_it_back_to_close() {
    let mut m = machine();
    let a = start(&mut m, "instance", Args::default());
    let p = start(&mut m, "identity_token", Args::default());
    let ta = send(&mut m, a, at(0), Input::Tick);
    let tp = send(&mut m, p, at(0), Input::Tick);
    done(answer(&mut m, p, at(0), &ok(TOKEN)).0);
    // A's token comes with `Connection: close`: A must close its connection before
    // its GET, which waits, queued, on the connection P left idle.
    assert!(matches!(
        m.step(a, at(0), Input::Bytes(&ok_then_close(TOKEN))),
        Step::Close(c) if c == ta.conn
    ));
    // Cancelled then, A took that open connection out of the pool: the host closes it.
    assert_eq!(m.cancel(a), Some(tp.conn));
    let b = start(&mut m, "instance", Args::default());
    let tb = send(&mut m, b, at(0), Input::Tick);
    assert!(tb.fresh && tb.conn != tp.conn && tb.conn != ta.conn);
    assert!(m.expire_idle(at(0) + IDLE_TIMEOUT).is_empty());
}

#[test]
fn a_close_a_cancelled_operation_owed_survives_another_operations_answer() {
    let config = vpc_imds_driver::Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        timeout: Some(Duration::from_secs(120)),
        request_timeout: Some(Duration::from_secs(120)),
        ..vpc_imds_driver::Settings::default()
    }
    .build()
    .unwrap();
    let mut m = LocalMachine::new(config, 7);
    let a = start(&mut m, "instance", Args::default());
    let p = start(&mut m, "identity_token", Args::default());
    let b = start(&mut m, "identity_token", Args::default());
    let ta = send(&mut m, a, at(0), Input::Tick);
    let tp = send(&mut m, p, at(0), Input::Tick);
    send(&mut m, b, at(0), Input::Tick);
    done(answer(&mut m, p, at(0), &ok(TOKEN)).0);
    // Past the idle timeout, A's answer closes its connection and expires P's idle
    // one: A owes two closes, reports one, and is cancelled before the other.
    let later = at(1) + IDLE_TIMEOUT;
    let Step::Close(reported) = m.step(a, later, Input::Bytes(&ok_then_close(TOKEN))) else {
        panic!("expected a close")
    };
    let owed = if reported == ta.conn {
        tp.conn
    } else {
        ta.conn
    };
    assert!([ta.conn, tp.conn].contains(&reported));
    m.cancel(a);
    // B's answer is fed next: the owed close is not taken with it, and is reported.
    done(m.step(b, later, Input::Bytes(&ok(TOKEN))));
    assert_eq!(m.expire_idle(later), vec![owed]);
}

#[test]
fn an_answer_fed_with_no_request_in_flight_ends_only_that_operation() {
    let mut m = machine();
    // Fed before anything was sent: a misuse that ends the operation.
    let op = start(&mut m, "instance", Args::default());
    assert!(matches!(
        m.step(op, at(0), Input::Bytes(b"")),
        Step::Failed(_)
    ));
    // The next operation starts as usual (its driver was not left busy).
    let next = start(&mut m, "instance", Args::default());
    let put = send(&mut m, next, at(1), Input::Tick);
    assert!(
        put.request.target().contains("token"),
        "{}",
        put.request.target()
    );

    // A second failure reported for a token request already failed (in backoff):
    // the operation ends, and its token lease with it.
    let mut m = machine();
    let op = start(&mut m, "instance", Args::default());
    let put = send(&mut m, op, at(0), Input::Tick);
    let (backoff, _) = past_closes(&mut m, op, at(1), Input::failed("connection_lost"));
    assert!(matches!(backoff, Step::Backoff(_)), "{backoff:?}");
    assert!(matches!(
        m.step(op, at(2), Input::failed("connection_lost")),
        Step::Failed(_)
    ));
    assert_eq!(m.operations(), 0);
    // Another operation fetches the token itself, rather than waiting for a
    // refresh no one is making; the connection of the ended one is closed.
    let other = start_at(&mut m, "instance", Args::default(), at(3));
    let (step, closed) = past_closes(&mut m, other, at(3), Input::Tick);
    match step {
        Step::Send(t) => assert!(t.request.target().contains("token")),
        other => panic!("expected the token request, got {other:?}"),
    }
    assert!(closed.is_empty() || closed == vec![put.conn], "{closed:?}");
}

#[test]
fn close_idle_forgets_the_idle_connections_and_leaves_one_in_use() {
    let mut m = machine();
    let t = start(&mut m, "identity_token", Args::default());
    let first = send(&mut m, t, at(0), Input::Tick);
    done(answer(&mut m, t, at(0), &ok(TOKEN)).0);
    // One operation mid-exchange on a second connection; the first is idle.
    let busy = start_at(&mut m, "instance", Args::default(), at(1));
    let reused = send(&mut m, busy, at(1), Input::Tick);
    assert_eq!((reused.conn, reused.fresh), (first.conn, false));
    let other = start_at(&mut m, "instance", Args::default(), at(1));
    let second = send(&mut m, other, at(1), Input::Tick);
    done(answer(&mut m, other, at(2), &ok(INSTANCE)).0);
    assert_eq!(m.close_idle(), vec![second.conn], "only the idle one");
    assert!(m.close_idle().is_empty());
    // The busy operation finishes on its connection; a new one opens a connection.
    done(answer(&mut m, busy, at(3), &ok(INSTANCE)).0);
    let after = start_at(&mut m, "instance", Args::default(), at(4));
    let t = send(&mut m, after, at(4), Input::Tick);
    assert_eq!(
        (t.conn, t.fresh),
        (first.conn, false),
        "the busy one became idle after the close"
    );
    let again = start_at(&mut m, "instance", Args::default(), at(4));
    assert!(
        send(&mut m, again, at(4), Input::Tick).fresh,
        "the closed one is not handed out"
    );
}

#[test]
fn operations_after_wait_until_ready_keep_the_configured_timeouts() {
    let mut m = machine();
    let r = m
        .start_wait_until_ready(Some(Duration::from_millis(50)), at(0))
        .unwrap();
    send(&mut m, r, at(0), Input::Tick);
    done(answer(&mut m, r, at(5), &ok(TOKEN)).0);
    // The wait capped its own requests to the 50 ms it had; later operations get the
    // configured 5 s request timeout, not what was left of the wait.
    for start in [10, 200] {
        let op = start_at(&mut m, "instance", Args::default(), at(start));
        let get = send(&mut m, op, at(start), Input::Tick);
        assert_eq!(get.request.deadline(), at(start + 5000));
        done(answer(&mut m, op, at(start + 100), &ok(INSTANCE)).0);
    }
}

#[test]
fn a_wake_is_spent_when_the_operation_is_stepped_before_the_poll() {
    let mut m = machine();
    let a = start(&mut m, "instance", Args::default());
    let b = start(&mut m, "instance", Args::default());
    send(&mut m, a, at(0), Input::Tick);
    assert!(matches!(m.step(b, at(0), Input::Tick), Step::AwaitToken(_)));
    // A's token wakes B; B is stepped (its own timer) before anyone polls.
    let (step, _) = answer(&mut m, a, at(5), &ok(TOKEN));
    assert!(matches!(step, Step::Send(_)));
    let get_b = send(&mut m, b, at(6), Input::Tick);
    assert!(get_b.request.target().contains("instance"));
    assert_eq!(
        m.poll_woken(),
        None,
        "B has gone on: no wake is left for it"
    );
}
