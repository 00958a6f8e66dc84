#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Errors carry IBM's message inline (the core has no allocator).
#![allow(clippy::result_large_err)]
//! The loop every host of `vpc-imds-core` runs, written once.
//!
//! The core decides everything (tokens, retries, deadlines, pages) but owns no
//! buffer and no request outlives its call. A host — the std client, a Python,
//! Node, WebAssembly or Kotlin binding — needs the same layer above it: requests
//! it can keep while it does I/O, each with an id so a late answer is refused; the
//! response reader and its buffer; one identity token shared by every concurrent
//! operation, fetched by one of them at a time; the wait for that token bounded by
//! the operation's deadline; `wait until ready`; page merging; user data bytes;
//! validated settings; and outputs every host converts the same way. This crate is
//! that layer (`no_std` + `alloc`, so WebAssembly and embedded hosts with an
//! allocator use it too). A host only moves bytes, sleeps and converts.
//!
//! | module | concept |
//! |---|---|
//! | [`settings`] | every user-settable limit, validated in one place |
//! | [`driver`] | [`Driver::step`]: one `#[must_use]` function returns every outcome |
//! | [`request`] | [`OwnedRequest`]: numbered, as bytes and as parts, with its deadlines |
//! | [`share`] | [`TokenShare`]: how the shared token is locked and its waiters woken |
//! | [`reply`] | [`Reply`]: a page or result, `Serialize`d once for every host |
//! | [`merge`] | [`PageMerger`]: a list's pages merged as they arrive |
//! | [`json`] | [`JsonValue`]: validated JSON bytes as a `Serialize` value |
//! | [`documents`] | user data bytes, `authorized_keys` lines |
//!
//! # A complete blocking host
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::{Duration, Instant as Clock};
//! use vpc_imds_driver::{Driver, Input, LocalTokens, Operation, Settings, Step};
//! use vpc_imds_driver::core::{error::TransportError, time::Instant};
//!
//! let origin = Clock::now();
//! let now = || Instant::from_millis(origin.elapsed().as_millis() as u64);
//! let config = Settings { endpoint: Some("http://127.0.0.1:8080".into()), ..Settings::default() }
//!     .build()?;
//! let tokens = LocalTokens::new(); // one per client; `ThreadTokens` for threads
//! let mut driver = Driver::new(config, &tokens, 0x5eed);
//! driver.start(Operation::Instance, now())?;
//!
//! let mut input_buf = [0u8; 16 * 1024];
//! let mut conn: Option<TcpStream> = None;
//! let mut input = Input::Tick;
//! loop {
//!     match driver.step(now(), input) {
//!         Step::Send(request) => {
//!             let id = request.id();
//!             let addr = request.url().trim_start_matches("http://").split('/').next().unwrap_or("");
//!             let sent = TcpStream::connect(addr).and_then(|mut s| {
//!                 s.set_read_timeout(Some(request.timeout()))?;
//!                 s.write_all(request.wire())?;
//!                 Ok(s)
//!             });
//!             match sent {
//!                 Ok(s) => conn = Some(s),
//!                 Err(_) => { input = Input::TransportError(id, TransportError::Refused); continue; }
//!             }
//!         }
//!         Step::Read => {}
//!         Step::Wait(until) | Step::WaitForToken { until, .. } => {
//!             std::thread::sleep(Duration::from_millis(until.since(now()).as_millis() as u64));
//!             input = Input::Tick;
//!             continue;
//!         }
//!         Step::Page(_) | Step::Stale => { input = Input::Tick; continue; }
//!         Step::Done(reply) => { println!("{}", serde_json::to_string(&reply)?); break; }
//!         Step::Failed(e) => return Err(e.into()),
//!         Step::Idle => break,
//!     }
//!     // Read what arrived for the request in flight and feed it back.
//!     let id = driver.awaiting().ok_or("no request in flight")?;
//!     let n = conn.as_mut().map_or(Ok(0), |c| c.read(&mut input_buf)).unwrap_or(0);
//!     input = Input::Bytes(id, &input_buf[..n]);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A real host also keeps connections alive ([`Driver::keep_alive`]), maps socket
//! errors to [`TransportError`](vpc_imds_core::error::TransportError) kinds, and
//! reports a read past the request's deadline as `ResponseTimeout`. The std
//! client (`client/src/client.rs`) and the Python package are two such hosts.

extern crate alloc;

pub mod documents;
pub mod driver;
pub mod json;
pub mod merge;
pub mod reply;
pub mod request;
pub mod settings;
pub mod share;

/// The sans-IO core this crate drives.
pub use vpc_imds_core as core;

pub use documents::{authorized_key, user_data};
pub use driver::{Answer, Driver, Input, Step};
pub use json::JsonValue;
pub use merge::{merge_pages, MergeError, PageMerger};
pub use reply::Reply;
pub use request::{Header, OwnedRequest};
pub use settings::{seconds, DriverConfig, Settings, ENDPOINT_ENV};
#[cfg(feature = "std")]
pub use share::ThreadTokens;
pub use share::{LocalTokens, TokenShare};
pub use vpc_imds_core::error::{Error, ErrorKind, InputError, TransportError};
pub use vpc_imds_core::operation::{Args, Operation, TrustedProfile};
pub use vpc_imds_core::request::RequestId;
pub use vpc_imds_core::time::Instant;
