#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! Client for the IBM Cloud VPC Instance Metadata Service (IMDS).
//!
//! The reference std transport for the sans-IO [`vpc_imds_core`]: blocking TCP with
//! connect, request and operation deadlines, kept-alive connections, IPv4 and IPv6,
//! optional HTTPS (cargo feature `https`), and **never a proxy** — the `*_PROXY`
//! environment variables are ignored on purpose, since the service answers only on
//! the instance's own link and a proxy could only see the token.
//!
//! Every protocol decision (tokens and their refresh, retries, `Retry-After`,
//! pagination, error kinds) is the core's, and the loop around it (request ids,
//! the shared token, deadlines, page merging) is [`vpc_imds_driver`]'s, as in every
//! binding; this crate moves bytes and sleeps.
//!
//! ```no_run
//! use vpc_imds::{Client, TrustedProfile};
//!
//! // http://169.254.169.254, or $VPC_IMDS_ENDPOINT when set.
//! let client = Client::new()?;
//! let instance = client.instance()?; // fetches and caches an identity token first
//! let view = instance.get();         // the core's borrowed model
//! if let (Some(name), Some(zone)) = (view.name, view.zone) {
//!     println!("{name} ({}) in {}", view.id, zone.name);
//! }
//!
//! for page in client.keys() {
//!     for key in page?.get().keys.iter() {
//!         println!("{}", key.public_key);
//!     }
//! }
//!
//! let user_data = client.user_data()?; // bytes
//! for part in user_data.parts()? {
//!     // MIME leaves (gzip removed), or the whole data as one part
//!     println!("{:?}: {} bytes", part.content_type, part.payload.len());
//! }
//!
//! let iam = client.iam_token(TrustedProfile::Default)?;
//! let bearer = iam.token(); // redacted in Debug/Display; .expose() to use it
//! # let _ = bearer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A [`Client`] is `Send + Sync` and cheap to clone: threads share one identity
//! token, fetched by one of them at a time.

mod client;
mod document;
mod error;
#[cfg(feature = "https")]
mod tls;
mod trace;
mod transport;
mod user_data;

pub use client::{Client, ClientBuilder, Pages, DEFAULT_MAX_RESPONSE, ENDPOINT_ENV};
pub use document::{kind, Document, Model};
pub use error::{ConfigError, Error, ErrorKind};
pub use trace::{Trace, TraceHook};
pub use transport::lookup_host;
pub use user_data::{
    gunzip, is_gzip, is_multipart, leaf_parts, mime_parts, user_data_parts, Leaf, MimePart,
    UserData, UserDataError, DEFAULT_GUNZIP_LIMIT,
};
/// The sans-IO core this client drives.
pub use vpc_imds_core;
pub use vpc_imds_core::config::Timeouts;
pub use vpc_imds_core::model;
pub use vpc_imds_core::retry::RetryPolicy;
pub use vpc_imds_core::session::TrustedProfile;
pub use vpc_imds_core::token::Secret;
/// The host loop this client runs the core with.
pub use vpc_imds_driver;
pub use vpc_imds_driver::{merge_pages, PageMerger};
