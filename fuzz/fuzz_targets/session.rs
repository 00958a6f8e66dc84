#![no_main]
//! The session fed arbitrary statuses and bodies, including page links.

use libfuzzer_sys::fuzz_target;
use vpc_imds_core::response::Response;
use vpc_imds_core::session::{Action, Operation, Session};
use vpc_imds_core::{Config, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let op = match selector % 4 {
        0 => Operation::Instance,
        1 => Operation::Keys,
        2 => Operation::Get {
            path: "placement_groups",
            all_pages: true,
        },
        _ => Operation::IdentityToken {
            expires_in: None,
            nonce: None,
        },
    };
    let statuses = [200u16, 200, 401, 429, 503, 404, 302];
    let mut session = Session::new(Config::default(), u64::from(selector));
    if session.start(op, Instant::ZERO).is_err() {
        return;
    }
    for i in 0..8u64 {
        let now = Instant::from_millis(i * 2500);
        match session.poll(now) {
            Action::Send(req) => {
                let id = req.id();
                let status = statuses[(usize::from(selector) + i as usize) % statuses.len()];
                let _ = session.on_response(id, &Response::from_parts(status, Some(1), body), now);
            }
            Action::Wait(_) => {}
            Action::Failed(_) | Action::Idle => break,
        }
    }
});
