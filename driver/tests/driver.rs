//! The driver's own rules: request ids, one failure channel, the shared token,
//! waiting until ready, the response size limit, and streaming merges.

use std::time::Duration;

use vpc_imds_driver::core::response::Response;
use vpc_imds_driver::{
    Driver, ErrorKind, Input, Instant, LocalTokens, Operation, PageMerger, Settings, Step,
    TransportError, TrustedProfile,
};

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

const TOKEN: &[u8] = br#"{"access_token":"eyJhbGciOiJub25lIn0.e30.sig","expires_in":300}"#;
const INSTANCE: &[u8] = br#"{"id":"0717_abc","name":"web-1"}"#;

fn settings() -> Settings {
    Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Settings::default()
    }
}

/// Steps with `input` and expects a request; returns its id.
fn expect_send(
    driver: &mut Driver<&LocalTokens>,
    now: Instant,
    input: Input<'_>,
) -> vpc_imds_driver::RequestId {
    match driver.step(now, input) {
        Step::Send(r) => r.id(),
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn a_response_to_a_timed_out_request_is_refused() {
    let tokens = LocalTokens::new();
    let mut driver = Driver::new(settings().build().unwrap(), &tokens, 7);
    driver.start(Operation::Instance, at(0)).unwrap();
    let first = expect_send(&mut driver, at(0), Input::Tick);
    // The host reports the timeout of the first request; the driver backs off and retries.
    let until = match driver.step(
        at(5_000),
        Input::TransportError(first, TransportError::ResponseTimeout),
    ) {
        Step::Wait(until) => until,
        other => panic!("expected a backoff, got {other:?}"),
    };
    let second = expect_send(&mut driver, until, Input::Tick);
    assert_ne!(first, second);
    // The first request's answer arrives late: refused, and nothing changes.
    let late = Response::from_parts(200, None, TOKEN);
    assert!(matches!(
        driver.step(until, Input::Response(first, late)),
        Step::Stale
    ));
    let late_bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    assert!(matches!(
        driver.step(until, Input::Bytes(first, late_bytes)),
        Step::Stale
    ));
    assert_eq!(driver.awaiting(), Some(second));
    // The awaited answer is taken.
    let token = Response::from_parts(200, None, TOKEN);
    let third = expect_send(&mut driver, until, Input::Response(second, token));
    match driver.step(
        until,
        Input::Response(third, Response::from_parts(200, None, INSTANCE)),
    ) {
        Step::Done(reply) => assert_eq!(reply.type_name(), "instance"),
        other => panic!("expected the instance, got {other:?}"),
    };
}

#[test]
fn a_failure_can_only_be_had_from_step() {
    let tokens = LocalTokens::new();
    let mut driver = Driver::new(settings().build().unwrap(), &tokens, 7);
    driver.start(Operation::Instance, at(0)).unwrap();
    let id = expect_send(&mut driver, at(0), Input::Tick);
    // Feeding is stepping: the refusal comes back as the step's value, which is
    // #[must_use]; there is no other way to feed the driver.
    match driver.step(at(1), Input::TransportError(id, TransportError::Refused)) {
        Step::Failed(e) => assert_eq!(e.kind(), ErrorKind::Refused),
        other => panic!("expected the failure, got {other:?}"),
    }
    assert!(!driver.is_busy());
    assert!(matches!(driver.step(at(2), Input::Tick), Step::Idle));
}

#[test]
fn one_token_fetch_for_concurrent_operations() {
    let tokens = LocalTokens::new();
    let config = settings().build().unwrap();
    let mut a = Driver::new(config.clone(), &tokens, 1);
    let mut b = Driver::new(config, &tokens, 2);
    a.start(Operation::Instance, at(0)).unwrap();
    b.start(Operation::Instance, at(0)).unwrap();
    let token_req = match a.step(at(0), Input::Tick) {
        Step::Send(r) => {
            assert_eq!(r.method().as_str(), "PUT", "a fetches the token");
            r.id()
        }
        other => panic!("{other:?}"),
    };
    let generation = match b.step(at(0), Input::Tick) {
        Step::WaitForToken {
            generation, until, ..
        } => {
            assert_eq!(until, at(15_000), "bounded by the operation's deadline");
            generation
        }
        other => panic!("b must wait for a's token, got {other:?}"),
    };
    let get = expect_send(
        &mut a,
        at(1),
        Input::Response(token_req, Response::from_parts(200, None, TOKEN)),
    );
    assert!(
        tokens.generation() > generation,
        "a's token woke the waiters"
    );
    match b.step(at(1), Input::Tick) {
        Step::Send(r) => {
            assert_eq!(r.method().as_str(), "GET", "b uses a's token");
            assert!(r.headers().iter().any(|h| h.name == "Authorization"));
        }
        other => panic!("{other:?}"),
    }
    assert_ne!(get, token_req);
}

#[test]
fn a_waiter_gives_up_at_the_deadline_and_an_abandoned_lease_is_released() {
    let tokens = LocalTokens::new();
    let config = Settings {
        timeout: Some(Duration::from_secs(2)),
        ..settings()
    }
    .build()
    .unwrap();
    let mut a = Driver::new(config.clone(), &tokens, 1);
    let mut b = Driver::new(config, &tokens, 2);
    a.start(Operation::Instance, at(0)).unwrap();
    b.start(Operation::Instance, at(0)).unwrap();
    assert!(matches!(a.step(at(0), Input::Tick), Step::Send(_)));
    assert!(matches!(
        b.step(at(0), Input::Tick),
        Step::WaitForToken { .. }
    ));
    match b.step(at(2_000), Input::Tick) {
        Step::Failed(e) => assert_eq!(e.kind(), ErrorKind::TimedOut),
        other => panic!("{other:?}"),
    }
    // a is dropped mid-refresh: its lease ends, so the next operation may fetch.
    let before = tokens.generation();
    drop(a);
    assert!(tokens.generation() > before);
    b.start(Operation::Instance, at(2_001)).unwrap();
    assert!(
        matches!(b.step(at(2_001), Input::Tick), Step::Send(r) if r.method().as_str() == "PUT")
    );
}

#[test]
fn wait_until_ready_retries_what_means_not_yet() {
    let tokens = LocalTokens::new();
    let mut driver = Driver::new(settings().build().unwrap(), &tokens, 3);
    driver
        .start_wait_until_ready(Duration::from_secs(3), at(0))
        .unwrap();
    let mut now = at(0);
    let mut attempts = 0;
    loop {
        let id = expect_send(&mut driver, now, Input::Tick);
        attempts += 1;
        match driver.step(now, Input::TransportError(id, TransportError::Refused)) {
            Step::Wait(until) => {
                assert!(until > now && until <= at(3_000), "backoff within the wait");
                now = until;
            }
            Step::Failed(e) => {
                assert_eq!(e.kind(), ErrorKind::TimedOut);
                break;
            }
            other => panic!("{other:?}"),
        }
        if now >= at(3_000) {
            match driver.step(now, Input::Tick) {
                Step::Failed(e) => assert_eq!(e.kind(), ErrorKind::TimedOut),
                other => panic!("{other:?}"),
            }
            break;
        }
    }
    assert!(attempts >= 3, "refusals were retried ({attempts} attempts)");

    // A 404 is not "not yet": the wait ends at once.
    driver
        .start_wait_until_ready(Duration::from_secs(3), at(10_000))
        .unwrap();
    let id = expect_send(&mut driver, at(10_000), Input::Tick);
    match driver.step(
        at(10_001),
        Input::Response(id, Response::from_parts(404, None, b"{}")),
    ) {
        Step::Failed(e) => assert_eq!(e.kind(), ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }

    // Success shares the token.
    driver
        .start_wait_until_ready(Duration::from_secs(3), at(20_000))
        .unwrap();
    let id = expect_send(&mut driver, at(20_000), Input::Tick);
    assert!(matches!(
        driver.step(
            at(20_001),
            Input::Response(id, Response::from_parts(200, None, TOKEN))
        ),
        Step::Done(_)
    ));
    assert!(tokens.generation() > 0);
}

#[test]
fn max_response_bytes_sets_the_core_limit() {
    let body = {
        let mut b = br#"{"id":"i","name":""#.to_vec();
        b.extend(std::iter::repeat_n(b'x', 2 << 20));
        b.extend_from_slice(br#""}"#);
        b
    };
    let mut wire =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    wire.extend_from_slice(&body);
    for (limit, ok) in [(None, false), (Some(4 << 20), true)] {
        let config = Settings {
            max_response_bytes: limit,
            ..settings()
        }
        .build()
        .unwrap();
        for as_bytes in [true, false] {
            let tokens = LocalTokens::new();
            let mut driver = Driver::new(config.clone(), &tokens, 1);
            driver.start(Operation::Instance, at(0)).unwrap();
            let put = expect_send(&mut driver, at(0), Input::Tick);
            let get = expect_send(
                &mut driver,
                at(0),
                Input::Response(put, Response::from_parts(200, None, TOKEN)),
            );
            let outcome = if as_bytes {
                let mut pieces = wire.chunks(64 * 1024);
                loop {
                    let piece = pieces.next().unwrap_or_default();
                    match driver.step(at(1), Input::Bytes(get, piece)) {
                        Step::Read => continue,
                        other => break format!("{other:?}"),
                    }
                }
            } else {
                format!(
                    "{:?}",
                    driver.step(
                        at(1),
                        Input::Response(get, Response::from_parts(200, None, &body))
                    )
                )
            };
            let what = format!("limit {limit:?}, as bytes {as_bytes}");
            if ok {
                assert!(outcome.starts_with("Done"), "{what}: {outcome}");
            } else {
                assert!(
                    outcome.starts_with("Failed") && outcome.contains("BodyTooLarge"),
                    "{what}: {outcome}"
                );
            }
        }
    }
}

#[test]
fn merging_is_streamed_page_by_page() {
    let mut merger = PageMerger::new();
    let mut out = Vec::new();
    let mut peak = 0;
    for i in 0..200 {
        let items: Vec<String> = (0..50).map(|j| format!(r#"{{"id":"k{i}-{j}"}}"#)).collect();
        let page = format!(
            r#"{{"keys":[{}],"limit":50,"next":{{"href":"x"}}}}"#,
            items.join(",")
        );
        merger.push(page.as_bytes(), &mut out).unwrap();
        peak = peak.max(out.len());
        out.clear(); // the host writes it out
    }
    merger.finish(&mut out);
    assert_eq!(out, br#"],"limit":50}"#);
    assert!(
        peak < 4096,
        "each page's output is written as it arrives ({peak} bytes at most)"
    );
}

#[test]
fn cached_iam_tokens_are_fetched_once_and_serve_while_fresh() {
    let identity = LocalTokens::new();
    let iam = LocalTokens::new();
    let config = settings().build().unwrap();
    let mut a = Driver::new(config.clone(), &identity, 1);
    let mut b = Driver::new(config, &identity, 2);
    let iam_body: &[u8] = br#"{"access_token":"eyJpYW0.e30.c2ln","expires_in":3600}"#;

    a.start_cached_iam_token(TrustedProfile::Default, &iam, at(0))
        .unwrap();
    b.start_cached_iam_token(TrustedProfile::Default, &iam, at(0))
        .unwrap();
    let put = expect_send(&mut a, at(0), Input::Tick);
    match b.step(at(0), Input::Tick) {
        Step::WaitForToken { iam: true, .. } => {}
        other => panic!("b waits for a's IAM token, got {other:?}"),
    }
    let post = expect_send(
        &mut a,
        at(1),
        Input::Response(put, Response::from_parts(200, None, TOKEN)),
    );
    match a.step(
        at(2),
        Input::Response(post, Response::from_parts(200, None, iam_body)),
    ) {
        Step::Done(reply) => assert_eq!(reply.type_name(), "iam_token"),
        other => panic!("{other:?}"),
    };
    // b is answered from the cache, without a request, with the time left.
    match b.step(at(1_002), Input::Tick) {
        Step::Done(reply) => {
            assert_eq!(reply.token_lifetime(), Some(3598));
            assert!(format!("{reply:?}").contains("redacted"));
        }
        other => panic!("{other:?}"),
    };
    // After the refresh point (3300 s) one operation refreshes; a failure falls
    // back to the still-valid token.
    a.start_cached_iam_token(TrustedProfile::Default, &iam, at(3_400_000))
        .unwrap();
    let put = expect_send(&mut a, at(3_400_000), Input::Tick);
    assert!(matches!(
        a.step(
            at(3_400_001),
            Input::TransportError(put, TransportError::Refused)
        ),
        Step::Done(_)
    ));
}

#[test]
fn a_local_share_wakes_its_host() {
    let woken = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = woken.clone();
    let tokens = LocalTokens::with_waker(move || counter.set(counter.get() + 1));
    let mut a = Driver::new(settings().build().unwrap(), &tokens, 1);
    a.start(Operation::Instance, at(0)).unwrap();
    let put = expect_send(&mut a, at(0), Input::Tick);
    let _ = expect_send(
        &mut a,
        at(1),
        Input::Response(put, Response::from_parts(200, None, TOKEN)),
    );
    assert!(woken.get() >= 1, "the new token woke the host");
}

#[test]
fn a_late_answer_to_an_earlier_wait_until_ready_attempt_is_stale() {
    let settings = Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        max_attempts: Some(1),
        ..Settings::default()
    };
    let tokens = LocalTokens::new();
    let mut d = Driver::new(settings.build().unwrap(), &tokens, 7);
    d.start_wait_until_ready(Duration::from_secs(30), at(0))
        .unwrap();
    let first = match d.step(at(0), Input::Tick) {
        Step::Send(r) => r.id(),
        s => panic!("{s:?}"),
    };
    let until = match d.step(
        at(5000),
        Input::TransportError(first, TransportError::ResponseTimeout),
    ) {
        Step::Wait(u) => u,
        s => panic!("{s:?}"),
    };
    let second = match d.step(until, Input::Tick) {
        Step::Send(r) => r.id(),
        s => panic!("{s:?}"),
    };
    assert_ne!(first, second, "each attempt's request has its own id");
    let late = Response::from_parts(200, None, TOKEN);
    let step = d.step(until, Input::Response(first, late));
    assert!(matches!(step, Step::Stale), "{step:?}");
}
