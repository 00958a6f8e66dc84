//! `SharedMachine`: one machine for threads and tasks. A token wait ends when the
//! machine wakes the operation, for a blocked thread, a task's waker and a host
//! that drains the woken operations alike; one token request serves them all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use vpc_imds_driver::{MachineInput as Input, MachineStep as Step, NamedArgs, OpId};
use vpc_imds_driver::{SharedMachine, Transmit};

mod common;
use common::ok;

const TOKEN: &str = r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.sig","expires_in":300}"#;

fn shared() -> SharedMachine {
    let config = vpc_imds_driver::Settings {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    };
    SharedMachine::new(config.build().unwrap(), 7)
}

fn start(m: &SharedMachine) -> OpId {
    m.start_named("instance", &NamedArgs::default()).unwrap()
}

fn send(step: Step) -> Transmit {
    match step {
        Step::Send(t) => t,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// A starts and sends the token request; B then waits for that token.
fn a_fetches_b_waits(m: &SharedMachine) -> (OpId, OpId) {
    let (a, b) = (start(m), start(m));
    let put = send(m.step(a, Input::Tick));
    assert!(put.request.target().contains("token"));
    (a, b)
}

#[test]
fn a_blocked_thread_is_woken_by_another_operations_token() {
    let m = Arc::new(shared());
    let (a, b) = a_fetches_b_waits(&m);
    let waiter = {
        let m = m.clone();
        std::thread::spawn(move || send(m.step_blocking(b, Input::Tick)))
    };
    // Whether B is blocked yet or not, the wake is not lost: it is recorded under
    // the machine's lock before the condition variable is signalled.
    std::thread::sleep(Duration::from_millis(20));
    let get_a = send(m.step(a, Input::Bytes(&ok(TOKEN))));
    let get_b = waiter.join().unwrap();
    for get in [&get_a, &get_b] {
        assert!(get.request.target().starts_with("/metadata/v1/instance"));
    }
    assert_ne!(get_a.conn, get_b.conn);
    assert_eq!(m.operations(), 2);
}

#[test]
fn a_sliced_token_wait_asks_between_slices_and_ends_when_told() {
    let m = shared();
    let (_a, b) = a_fetches_b_waits(&m);
    let mut asked = 0;
    let ended = m.step_blocking_with(b, Input::Tick, Duration::from_millis(5), || {
        asked += 1;
        if asked == 3 {
            Err("interrupted")
        } else {
            Ok(())
        }
    });
    assert_eq!(ended.unwrap_err(), "interrupted");
    assert_eq!(asked, 3, "asked once after each slice");
    // B is left waiting, as it was: still an operation of the machine.
    assert_eq!(m.operations(), 2);
    assert!(matches!(m.step(b, Input::Tick), Step::AwaitToken(_)));
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_task_is_woken_through_its_waker_and_a_loop_host_by_draining() {
    let m = shared();
    let (a, b) = a_fetches_b_waits(&m);
    assert!(matches!(m.step(b, Input::Tick), Step::AwaitToken(_)));
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    assert_eq!(m.poll_woken(b, &mut cx), Poll::Pending);
    assert!(m.take_woken().is_empty());
    send(m.step(a, Input::Bytes(&ok(TOKEN))));
    assert!(
        flag.0.load(Ordering::SeqCst),
        "the waiting task's waker was not called"
    );
    assert_eq!(m.take_woken(), vec![b]);
    // Drained: a second look finds nothing, and B steps on to its request.
    assert!(m.take_woken().is_empty());
    let get_b = send(m.step(b, Input::Tick));
    assert!(get_b.request.target().starts_with("/metadata/v1/instance"));
}

#[test]
fn a_thread_gives_up_waiting_at_the_deadline() {
    let m = shared();
    let (_a, b) = a_fetches_b_waits(&m);
    let Step::AwaitToken(until) = m.step(b, Input::Tick) else {
        panic!("expected a token wait")
    };
    // Past the deadline: no wait at all.
    m.set_clock(Some(until.as_millis()), 0);
    m.wait_woken(b, until);
    assert_eq!(m.left(until), Duration::ZERO);
}

#[test]
fn the_clock_can_be_fixed_and_moved_for_tests() {
    let m = shared();
    m.set_clock(Some(1_000), 0);
    assert_eq!(m.now().as_millis(), 1_000);
    m.set_clock(Some(1_000), 500);
    assert_eq!(m.now().as_millis(), 1_500);
    let at = vpc_imds_driver::Instant::from_millis(2_000);
    assert_eq!(m.left(at), Duration::from_millis(500));
    m.set_clock(None, 0);
    assert!(
        m.now().as_millis() >= 500,
        "the monotonic clock keeps the skew"
    );
}

#[test]
fn a_cancelled_operation_is_forgotten_with_its_wakes() {
    let m = shared();
    let (a, b) = a_fetches_b_waits(&m);
    assert!(matches!(m.step(b, Input::Tick), Step::AwaitToken(_)));
    send(m.step(a, Input::Bytes(&ok(TOKEN))));
    assert_eq!(m.cancel(b), None, "B had no request in flight");
    assert!(m.take_woken().is_empty());
    assert_eq!(m.operations(), 1);
}
