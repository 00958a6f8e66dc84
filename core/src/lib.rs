#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Without an allocator, errors and outputs travel by value; their size is the price.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]
//! Sans-IO core of a client for the IBM Cloud VPC Instance Metadata Service (IMDS).
//!
//! The core builds requests, parses responses, keeps the identity token fresh,
//! retries, follows pages, and decides what happens next; it never does I/O, never
//! reads a clock, never allocates and never panics on input. A host (the std
//! client, a Python or Node binding, a WebAssembly page, an initramfs agent)
//! supplies the bytes, the time and the sleeping.
//!
//! | module | concept |
//! |---|---|
//! | [`config`] | endpoint, API version date, token lifetime, timeouts |
//! | [`operation`] | what can be asked: names, input rules, one table of requests and outputs |
//! | [`output`] | what an operation returns |
//! | [`paging`] | following `next.href` on the configured endpoint only |
//! | [`session`] | the state machine: `start` → `poll` → `on_response` → ... |
//! | [`request`] | requests as parts or HTTP/1.1 bytes |
//! | [`response`] | incremental HTTP/1.1 response reader over a caller's buffer |
//! | [`model`] | borrowed typed documents ([`text::Text`] strings, heapless lists) |
//! | [`token`] | token lifetime, refresh margin, single-flight leases |
//! | [`retry`] | attempts, exponential backoff with host-seeded jitter |
//! | [`error`] | error kinds and causes; never a token inside |
//!
//! # Driving a session over a `TcpStream`
//!
//! Most hosts should use the `vpc-imds-driver` crate, which runs this loop (with
//! buffers, the shared token and paging) once for every binding. The bare loop:
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::{Duration, Instant as Clock};
//! use vpc_imds_core::config::{Config, Endpoint};
//! use vpc_imds_core::error::TransportError;
//! use vpc_imds_core::response::{Progress, ResponseReader};
//! use vpc_imds_core::session::{Action, Event, Operation, Output, Session};
//! use vpc_imds_core::time::Instant;
//!
//! let origin = Clock::now();
//! let now = || Instant::from_millis(origin.elapsed().as_millis() as u64);
//!
//! let mut config = Config::default();
//! config.set_endpoint(Endpoint::parse("http://127.0.0.1:8080")?);
//! let mut session = Session::new(config, 0x5eed);
//! session.start(Operation::Instance, now())?;
//!
//! let mut wire = [0u8; 8 * 1024];
//! let mut buf = vec![0u8; 256 * 1024];
//! loop {
//!     // Every failure, including one fed back below, comes out of `poll`.
//!     let event = match session.poll(now()) {
//!         Action::Send(request) => 'exchange: {
//!             let id = request.id();
//!             let len = request.write_into(&mut wire).ok_or("request too large")?;
//!             let endpoint = request.endpoint();
//!             let Ok(mut stream) = TcpStream::connect((endpoint.host(), endpoint.port())) else {
//!                 break 'exchange session.on_transport_error(id, TransportError::Refused, now());
//!             };
//!             stream.write_all(&wire[..len])?;
//!             let mut reader = ResponseReader::new();
//!             loop {
//!                 let space = match reader.unfilled(&mut buf) {
//!                     Ok(space) => space,
//!                     Err(e) => break session.on_response_error(id, e, now()),
//!                 };
//!                 let n = stream.read(space).unwrap_or(0);
//!                 match reader.advance(&mut buf, n) {
//!                     Ok(Progress::NeedMore) => continue,
//!                     Ok(Progress::Complete(response)) => break session.on_response(id, &response, now()),
//!                     Err(e) => break session.on_response_error(id, e, now()),
//!                 }
//!             }
//!         }
//!         Action::Wait(until) => {
//!             let ms = until.as_millis().saturating_sub(now().as_millis());
//!             std::thread::sleep(Duration::from_millis(ms));
//!             continue;
//!         }
//!         Action::Failed(e) => return Err(e.into()),
//!         Action::Idle => return Err("the session has no operation running".into()),
//!     };
//!     match event {
//!         Event::Done(Output::Instance(instance)) => {
//!             println!("instance {}", instance.id);
//!             break;
//!         }
//!         Event::Failed(e) => return Err(e.into()),
//!         _ => {} // pending, a page, or a stale answer: poll again
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
pub mod error;
pub mod model;
pub mod operation;
pub mod output;
pub mod paging;
pub mod request;
pub mod response;
pub mod retry;
pub mod session;
pub mod text;
pub mod time;
pub mod token;
pub mod validate;

pub use config::{ApiVersion, Config, Endpoint};
pub use error::{Error, ErrorKind, TransportError};
pub use response::{Progress, Response, ResponseReader};
pub use session::{Action, Event, Operation, Output, Session, TrustedProfile};
pub use time::Instant;
