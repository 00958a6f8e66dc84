//! A whole session (token, instance, a two-page list) makes no heap allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use vpc_imds_core::response::{Progress, ResponseReader};
use vpc_imds_core::session::{Action, Event, Operation, Output, Session};
use vpc_imds_core::{Config, Instant};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the thread running the session: the test harness's own threads
    /// allocate when they like, and are not counted.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTED.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn http(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What the loop saw, counted without allocating.
#[derive(Default, Debug, PartialEq)]
struct Seen {
    sends: usize,
    instances: usize,
    pages: usize,
    groups: usize,
}

fn run(
    session: &mut Session,
    op: Operation<'_>,
    script: &[Vec<u8>],
    next: &mut usize,
    buf: &mut [u8],
    wire: &mut [u8],
    seen: &mut Seen,
) {
    let now = Instant::from_millis(1);
    session.start(op, now).expect("start");
    loop {
        let id = match session.poll(now) {
            Action::Send(req) => {
                req.write_into(wire).expect("request fits");
                seen.sends += 1;
                req.id()
            }
            Action::Idle => return,
            other => panic!("unexpected {other:?}"),
        };
        let raw = &script[*next];
        *next += 1;
        let mut reader = ResponseReader::new();
        let space = reader.unfilled(buf).expect("space");
        space[..raw.len()].copy_from_slice(raw);
        let event = match reader.advance(buf, raw.len()).expect("parse") {
            Progress::Complete(resp) => session.on_response(id, &resp, now),
            Progress::NeedMore => panic!("incomplete"),
        };
        match event {
            Event::Pending => {}
            Event::Page(Output::PlacementGroups(p)) => {
                seen.pages += 1;
                seen.groups += p.placement_groups.len();
            }
            Event::Done(Output::PlacementGroups(p)) => {
                seen.pages += 1;
                seen.groups += p.placement_groups.len();
            }
            Event::Done(Output::Instance(i)) => {
                assert!(i.id.eq_str("0000_11111111-2222-4333-8444-555555555555"));
                seen.instances += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn a_whole_session_allocates_nothing() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/fixtures");
    let instance = std::fs::read_to_string(fixtures.join("instance.json")).expect("fixture");
    let token = r#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln","expires_in":300}"#;
    let page1 = r#"{"placement_groups":[{"id":"pg-1","name":"a"},{"id":"pg-2","name":"b"}],"next":{"href":"http://169.254.169.254/metadata/v1/placement_groups?limit=2\u0026start=P2"},"limit":2,"total_count":3}"#;
    let page2 = r#"{"placement_groups":[{"id":"pg-3","name":"c"}],"limit":2,"total_count":3}"#;
    let script = vec![http(token), http(&instance), http(page1), http(page2)];
    let mut buf = vec![0u8; 64 * 1024];
    let mut wire = vec![0u8; 8 * 1024];
    let mut session = Session::new(Config::default(), 7);
    let mut seen = Seen::default();
    let mut next = 0;

    COUNTED.with(|c| c.set(true));
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    run(
        &mut session,
        Operation::Instance,
        &script,
        &mut next,
        &mut buf,
        &mut wire,
        &mut seen,
    );
    run(
        &mut session,
        Operation::PlacementGroups,
        &script,
        &mut next,
        &mut buf,
        &mut wire,
        &mut seen,
    );
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTED.with(|c| c.set(false));

    assert_eq!(
        seen,
        Seen {
            sends: 4,
            instances: 1,
            pages: 2,
            groups: 3
        }
    );
    assert_eq!(after - before, 0, "heap allocations during the session");
}
