#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Errors carry IBM's message inline (the core has no allocator).
#![allow(clippy::result_large_err)]
#![doc = include_str!("../README.md")]

extern crate alloc;

pub mod by_name;
pub mod documents;
pub mod driver;
pub mod json;
pub mod machine;
pub mod merge;
pub mod mime;
pub mod record;
#[cfg(feature = "records")]
pub mod record_machine;
pub mod reply;
pub mod request;
pub mod settings;
pub mod share;
#[cfg(feature = "std")]
pub mod shared_machine;
pub mod step_record;
pub mod value;

/// The sans-IO core this crate drives.
pub use vpc_imds_core as core;

pub use by_name::NamedArgs;
pub use documents::{authorized_key, user_data};
pub use driver::{Answer, Driver, Input, Step};
pub use json::JsonValue;
#[cfg(feature = "std")]
pub use machine::SyncMachine;
pub use machine::{
    ConnId, Input as MachineInput, LocalMachine, Machine, OpId, Step as MachineStep, Transmit,
};
pub use merge::{merge_pages, MergeError, PageMerger};
pub use mime::{
    decompressed, gunzip, is_gzip, is_multipart, leaf_parts, mime_parts, user_data_parts, Leaf,
    MimePart, UserDataError,
};
pub use record::{ErrorRecord, Record};
#[cfg(feature = "records")]
pub use record_machine::RecordMachine;
pub use reply::{Reply, TypedOutput};
pub use request::{Header, OwnedRequest};
pub use settings::{seconds, DriverConfig, Settings, ENDPOINT_ENV};
#[cfg(feature = "std")]
pub use share::ThreadTokens;
pub use share::{LocalTokens, TokenShare};
#[cfg(feature = "std")]
pub use shared_machine::SharedMachine;
pub use step_record::StepRecord;
pub use value::Value;
pub use vpc_imds_core::error::{Error, ErrorKind, InputError, TransportError};
pub use vpc_imds_core::operation::{Args, Operation, TrustedProfile};
pub use vpc_imds_core::request::RequestId;
pub use vpc_imds_core::time::Instant;
