//! User data: bytes, with helpers for gzip and MIME multi-part (cloud-init style),
//! which are the driver's (every binding shares them).
//!
//! Text only when asked: [`UserData::text`].

use std::borrow::Cow;
use std::fmt;

pub use vpc_imds_driver::mime::{
    gunzip, is_gzip, is_multipart, leaf_parts, mime_parts, user_data_parts, Leaf, MimePart,
    UserDataError, DEFAULT_GUNZIP_LIMIT,
};

/// The instance's user data, as bytes.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct UserData {
    bytes: Vec<u8>,
}

impl fmt::Debug for UserData {
    // User data may hold secrets (IBM warns against it, people do it anyway).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserData({} bytes)", self.bytes.len())
    }
}

impl UserData {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        UserData { bytes }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when the instance has no user data.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes as UTF-8 text.
    pub fn text(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.bytes)
    }

    /// Whether the bytes start with the gzip magic number.
    pub fn is_gzip(&self) -> bool {
        is_gzip(&self.bytes)
    }

    /// Decompresses gzip user data, refusing more than `limit` bytes of output.
    pub fn gunzip(&self, limit: usize) -> Result<Vec<u8>, UserDataError> {
        gunzip(&self.bytes, limit)
    }

    /// The bytes, decompressed when they are gzip (up to [`DEFAULT_GUNZIP_LIMIT`]).
    pub fn decompressed(&self) -> Result<Cow<'_, [u8]>, UserDataError> {
        vpc_imds_driver::mime::decompressed(&self.bytes)
    }

    /// The parts, as every binding gives them ([`user_data_parts`]): gzip removed,
    /// then the leaf parts of a MIME multi-part document, bodies decoded, or the
    /// whole data as one part with no content type when it is not multi-part; none
    /// when it is empty.
    pub fn parts(&self) -> Result<Vec<Leaf>, UserDataError> {
        user_data_parts(&self.bytes)
    }

    /// Whether the bytes (gzip removed) are a well-formed MIME multi-part document.
    pub fn is_multipart(&self) -> bool {
        is_multipart(&self.bytes)
    }

    /// Splits MIME multi-part user data (as cloud-init writes it) into its parts.
    /// Decompress first if it is gzip.
    pub fn mime_parts(&self) -> Result<Vec<MimePart<'_>>, UserDataError> {
        mime_parts(&self.bytes)
    }
}
