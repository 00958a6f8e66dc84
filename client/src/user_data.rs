//! User data: bytes, with helpers for gzip and MIME multi-part (cloud-init style).
//!
//! Text only when asked: [`UserData::text`].

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

/// Default limit on decompressed user data (IBM accepts at most 64 KiB compressed).
pub const DEFAULT_GUNZIP_LIMIT: usize = 16 * 1024 * 1024;

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

/// Why user data could not be decompressed or split.
#[derive(Debug)]
#[non_exhaustive]
pub enum UserDataError {
    /// The gzip stream is corrupt or truncated.
    Gzip(std::io::Error),
    /// Decompressed data would exceed the limit, in bytes.
    TooLarge(usize),
    /// The data is not a MIME multi-part document.
    NotMultipart,
    /// The MIME document is malformed; says where.
    Mime(&'static str),
    /// A part's base64 Content-Transfer-Encoding is invalid.
    Base64,
}

impl fmt::Display for UserDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserDataError::Gzip(e) => write!(f, "user data is not valid gzip: {e}"),
            UserDataError::TooLarge(n) => {
                write!(f, "decompressed user data exceeds {n} bytes")
            }
            UserDataError::NotMultipart => f.write_str("user data is not MIME multi-part"),
            UserDataError::Mime(why) => write!(f, "malformed MIME multi-part user data: {why}"),
            UserDataError::Base64 => f.write_str("a MIME part holds invalid base64"),
        }
    }
}

impl std::error::Error for UserDataError {}

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
        if self.is_gzip() {
            self.gunzip(DEFAULT_GUNZIP_LIMIT).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(&self.bytes))
        }
    }

    /// Splits MIME multi-part user data (as cloud-init writes it) into its parts.
    /// Decompress first if it is gzip.
    pub fn mime_parts(&self) -> Result<Vec<MimePart<'_>>, UserDataError> {
        mime_parts(&self.bytes)
    }
}

/// Whether `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip (every member of a multi-member stream), refusing more than
/// `limit` bytes of output.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, UserDataError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(bytes)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(UserDataError::Gzip)?;
    if out.len() > limit {
        return Err(UserDataError::TooLarge(limit));
    }
    Ok(out)
}

/// One part of a MIME multi-part document.
#[derive(Clone, PartialEq, Eq)]
pub struct MimePart<'a> {
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

impl fmt::Debug for MimePart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MimePart")
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl<'a> MimePart<'a> {
    /// The part's headers, `(name, value)`, folded lines joined.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The media type, lower case, without parameters (`text/plain` when absent).
    pub fn content_type(&self) -> String {
        self.header("content-type")
            .and_then(|v| v.split(';').next())
            .map_or_else(
                || "text/plain".to_owned(),
                |t| t.trim().to_ascii_lowercase(),
            )
    }

    /// The file name, from `Content-Disposition: ...; filename=` or `Content-Type: ...; name=`.
    pub fn filename(&self) -> Option<String> {
        self.header("content-disposition")
            .and_then(|v| param(v, "filename"))
            .or_else(|| self.header("content-type").and_then(|v| param(v, "name")))
    }

    /// The body as it appears in the document.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The body with a `base64` Content-Transfer-Encoding undone (other encodings
    /// are returned as they are).
    pub fn decoded_body(&self) -> Result<Cow<'a, [u8]>, UserDataError> {
        let encoding = self.header("content-transfer-encoding").map(str::trim);
        if encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
            base64(self.body).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(self.body))
        }
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A `; name=value` or `; name="value"` parameter of a header value.
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        if !n.trim().eq_ignore_ascii_case(name) {
            return None;
        }
        let v = v.trim();
        Some(
            match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(quoted) => quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
                None => v.to_owned(),
            },
        )
    })
}

/// Splits `b` into lines, each without its `\n` or `\r\n`, with the offset after it.
fn lines(b: &[u8]) -> impl Iterator<Item = (&[u8], usize)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= b.len() {
            return None;
        }
        let rest = &b[at..];
        let (line, used) = match rest.iter().position(|&c| c == b'\n') {
            Some(n) => (&rest[..n], n + 1),
            None => (rest, rest.len()),
        };
        at += used;
        Some((line.strip_suffix(b"\r").unwrap_or(line), at))
    })
}

/// Parses a header block; returns the headers and the offset of the body.
fn parse_headers(b: &[u8]) -> Result<(Vec<(String, String)>, usize), UserDataError> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for (line, next) in lines(b) {
        if line.is_empty() {
            return Ok((headers, next));
        }
        let line =
            std::str::from_utf8(line).map_err(|_| UserDataError::Mime("a header is not text"))?;
        if line.starts_with([' ', '\t']) {
            let (_, value) = headers
                .last_mut()
                .ok_or(UserDataError::Mime("a continuation line before any header"))?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(UserDataError::Mime("a header line without a colon"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    // Headers only, no body.
    Ok((headers, b.len()))
}

/// Splits a MIME multi-part document into its parts (one level; a part that is
/// itself multi-part can be split with this again on its body).
pub fn mime_parts(b: &[u8]) -> Result<Vec<MimePart<'_>>, UserDataError> {
    let (headers, body_at) = parse_headers(b).map_err(|_| UserDataError::NotMultipart)?;
    let content_type = header(&headers, "content-type").ok_or(UserDataError::NotMultipart)?;
    if !content_type
        .trim_start()
        .get(..10)
        .is_some_and(|t| t.eq_ignore_ascii_case("multipart/"))
    {
        return Err(UserDataError::NotMultipart);
    }
    let boundary = param(content_type, "boundary")
        .filter(|b| !b.is_empty())
        .ok_or(UserDataError::Mime("no boundary parameter"))?;
    let delimiter = format!("--{boundary}");
    let body = &b[body_at..];
    let mut parts = Vec::new();
    // Start of the current part's content, once past the first delimiter.
    let mut open: Option<usize> = None;
    let mut line_start = 0;
    for (line, next) in lines(body) {
        let is_delimiter = line.starts_with(delimiter.as_bytes())
            && line[delimiter.len()..]
                .iter()
                .all(|&c| c == b'-' || c == b' ' || c == b'\t');
        if is_delimiter {
            let closing = line[delimiter.len()..].starts_with(b"--");
            if let Some(start) = open {
                // The line break before a delimiter belongs to the delimiter.
                let end = strip_line_break(body, start, line_start);
                let (headers, at) = parse_headers(&body[start..end])?;
                parts.push(MimePart {
                    headers,
                    body: &body[(start + at).min(end)..end],
                });
            }
            if closing {
                return Ok(parts);
            }
            open = Some(next);
        }
        line_start = next;
    }
    if open.is_some() || parts.is_empty() {
        return Err(UserDataError::Mime("no closing boundary"));
    }
    Ok(parts)
}

fn strip_line_break(b: &[u8], start: usize, end: usize) -> usize {
    let mut end = end.max(start);
    if end > start && b[end - 1] == b'\n' {
        end -= 1;
        if end > start && b[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end
}

/// Decodes standard base64, ignoring whitespace.
fn base64(input: &[u8]) -> Result<Vec<u8>, UserDataError> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    let mut padding = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return Err(UserDataError::Base64),
        };
        if padding > 0 {
            return Err(UserDataError::Base64);
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if padding > 2 || bits >= 6 {
        return Err(UserDataError::Base64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round() {
        assert_eq!(base64(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64(b"aGVs\r\nbG8h").unwrap(), b"hello!");
        assert!(base64(b"a").is_err());
        assert!(base64(b"aG=Vs").is_err());
        assert!(base64(b"a*bc").is_err());
    }
}
