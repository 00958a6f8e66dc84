//! User data helpers every host shares: gzip (bounded, multi-member) and MIME
//! multi-part documents as cloud-init writes them (parts, headers, file names,
//! charsets, base64 and quoted-printable bodies).
//!
//! The user data itself comes from [`user_data`](crate::user_data): bytes, text only
//! when asked.

use alloc::borrow::{Cow, ToOwned};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use miniz_oxide::inflate::stream::{inflate, InflateState, MinReset};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// Default limit on decompressed user data (IBM accepts at most 64 KiB compressed).
pub const DEFAULT_GUNZIP_LIMIT: usize = 16 * 1024 * 1024;
/// Most levels of nested multi-part documents [`leaf_parts`] descends.
pub const MAX_MIME_DEPTH: usize = 8;

/// Most parts a multi-part document may hold, nested ones counted together: a few
/// KB of gzip (16 MiB of `--b` lines) would otherwise be millions of parts, each
/// an allocation (cloud-init's documents hold a handful).
pub const MAX_MIME_PARTS: usize = 1000;

const TOO_MANY_PARTS: UserDataError = UserDataError::Mime("more than 1000 parts");
// The message names the limit: they change together.
const _: () = assert!(MAX_MIME_PARTS == 1000);

/// Why user data could not be decompressed or split.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserDataError {
    /// The gzip stream is corrupt or truncated; says how.
    Gzip(&'static str),
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
            UserDataError::Gzip(why) => write!(f, "user data is not valid gzip: {why}"),
            UserDataError::TooLarge(n) => write!(f, "decompressed user data exceeds {n} bytes"),
            UserDataError::NotMultipart => f.write_str("user data is not MIME multi-part"),
            UserDataError::Mime(why) => write!(f, "malformed MIME multi-part user data: {why}"),
            UserDataError::Base64 => f.write_str("a MIME part holds invalid base64"),
        }
    }
}

impl core::error::Error for UserDataError {}

/// Whether `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip (every member of a multi-member stream, each CRC checked),
/// refusing more than `limit` bytes of output.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, UserDataError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    // One inflater and one chunk for every member, the inflater's state reset
    // between them (its window is not zeroed again): a member allocates nothing.
    let mut state: Box<InflateState> = InflateState::new_boxed(DataFormat::Raw);
    // On the heap: hosts run this on threads whose stacks they do not size.
    let mut chunk = vec![0u8; 32 * 1024];
    loop {
        rest = gunzip_member(rest, limit, &mut out, &mut state, &mut chunk)?;
        if rest.is_empty() {
            return Ok(out);
        }
        state.reset_as(MinReset);
    }
}

/// Decompresses one gzip member onto `out`; returns what follows it.
fn gunzip_member<'a>(
    b: &'a [u8],
    limit: usize,
    out: &mut Vec<u8>,
    state: &mut InflateState,
    chunk: &mut [u8],
) -> Result<&'a [u8], UserDataError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let short = UserDataError::Gzip("the stream ends early");
    let head = b.get(..10).ok_or(short.clone())?;
    if head[..3] != [0x1f, 0x8b, 8] {
        return Err(UserDataError::Gzip("not a deflate gzip member"));
    }
    let flags = head[3];
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = b.get(at..at + 2).ok_or(short.clone())?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = b
                .get(at..)
                .and_then(|r| r.iter().position(|&c| c == 0))
                .ok_or(short.clone())?;
            at += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    let mut input = b.get(at..).ok_or(short.clone())?;
    let start = out.len();
    loop {
        let r = inflate(state, input, chunk, MZFlush::None);
        input = input.get(r.bytes_consumed..).unwrap_or_default();
        if out.len() - start + r.bytes_written > limit.saturating_sub(start) {
            return Err(UserDataError::TooLarge(limit));
        }
        out.extend_from_slice(chunk.get(..r.bytes_written).unwrap_or_default());
        match r.status {
            Ok(MZStatus::StreamEnd) => break,
            Ok(_) if r.bytes_consumed == 0 && r.bytes_written == 0 => return Err(short),
            Ok(_) => {}
            Err(MZError::Buf) if input.is_empty() => return Err(short),
            Err(MZError::Buf) => {}
            Err(_) => return Err(UserDataError::Gzip("the deflate data is corrupt")),
        }
    }
    let trailer = input.get(..8).ok_or(short)?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    let member = out.get(start..).unwrap_or_default();
    if crc32(member) != crc || member.len() as u32 != size {
        return Err(UserDataError::Gzip("the checksum does not match"));
    }
    Ok(input.get(8..).unwrap_or_default())
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
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

    /// The body with a `base64` or `quoted-printable` Content-Transfer-Encoding
    /// undone (other encodings are returned as they are).
    pub fn decoded_body(&self) -> Result<Cow<'a, [u8]>, UserDataError> {
        let encoding = self.header("content-transfer-encoding").map(str::trim);
        if encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
            base64(self.body).map(Cow::Owned)
        } else if encoding.is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable")) {
            Ok(Cow::Owned(quoted_printable(self.body)))
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
    core::iter::from_fn(move || {
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
            core::str::from_utf8(line).map_err(|_| UserDataError::Mime("a header is not text"))?;
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
                if parts.len() == MAX_MIME_PARTS {
                    return Err(TOO_MANY_PARTS);
                }
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

impl MimePart<'_> {
    /// The `charset` parameter of the part's Content-Type, if any.
    pub fn charset(&self) -> Option<String> {
        self.header("content-type")
            .and_then(|v| param(v, "charset"))
    }

    /// Whether the part is itself a multi-part document.
    pub fn is_multipart(&self) -> bool {
        self.content_type().starts_with("multipart/")
    }
}

/// The leaf parts of a MIME multi-part document, in order, descending into nested
/// multi-part parts (at most [`MAX_MIME_DEPTH`] levels); each with its headers and
/// its body decoded (base64, quoted-printable).
pub fn leaf_parts(b: &[u8]) -> Result<Vec<Leaf>, UserDataError> {
    let mut out = Vec::new();
    collect_leaves(b, 0, &mut out)?;
    Ok(out)
}

/// User data without gzip (at most [`DEFAULT_GUNZIP_LIMIT`] bytes out); the data
/// itself when it is not gzip.
pub fn decompressed(data: &[u8]) -> Result<Cow<'_, [u8]>, UserDataError> {
    if is_gzip(data) {
        gunzip(data, DEFAULT_GUNZIP_LIMIT).map(Cow::Owned)
    } else {
        Ok(Cow::Borrowed(data))
    }
}

/// The parts of user data as every host gives them: gzip removed first, then the
/// leaf parts of a MIME multi-part document ([`leaf_parts`]), or the whole data as
/// one part with no content type when it is not multi-part; no parts when it is
/// empty. Corrupt gzip, more than [`DEFAULT_GUNZIP_LIMIT`] bytes of it, or a
/// malformed multi-part document is an error, never a partial list.
///
/// ```
/// use vpc_imds_driver::mime::user_data_parts;
///
/// let parts = user_data_parts(b"#cloud-config\n").unwrap();
/// assert_eq!((parts.len(), parts[0].content_type.as_deref()), (1, None));
/// assert!(user_data_parts(b"").unwrap().is_empty());
/// ```
pub fn user_data_parts(data: &[u8]) -> Result<Vec<Leaf>, UserDataError> {
    let plain = decompressed(data)?;
    match leaf_parts(&plain) {
        Err(UserDataError::NotMultipart) if plain.is_empty() => Ok(Vec::new()),
        Err(UserDataError::NotMultipart) => Ok(vec![Leaf {
            content_type: None,
            filename: None,
            charset: None,
            payload: plain.into_owned(),
        }]),
        parts => parts,
    }
}

/// Whether user data (gzip removed) is a well-formed MIME multi-part document:
/// [`user_data_parts`] gives its leaves. False for anything else, errors included.
pub fn is_multipart(data: &[u8]) -> bool {
    decompressed(data).is_ok_and(|plain| leaf_parts(&plain).is_ok())
}

/// A part of user data: a leaf of a multi-part document, its body decoded, or the
/// whole data when it is not multi-part.
#[derive(Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The media type, lower case (`text/plain` when a MIME part names none); `None`
    /// for data that is not multi-part.
    pub content_type: Option<String>,
    /// The file name, if any.
    pub filename: Option<String>,
    /// The declared charset, if any.
    pub charset: Option<String>,
    /// The decoded body.
    pub payload: Vec<u8>,
}

impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leaf")
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

fn collect_leaves(b: &[u8], depth: usize, out: &mut Vec<Leaf>) -> Result<(), UserDataError> {
    if depth >= MAX_MIME_DEPTH {
        return Err(UserDataError::Mime("multi-part documents nest too deep"));
    }
    for part in mime_parts(b)? {
        if part.is_multipart() {
            // A nested document is its own headers and body.
            let mut whole = Vec::new();
            for (name, value) in part.headers() {
                whole.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            whole.extend_from_slice(b"\r\n");
            whole.extend_from_slice(part.body());
            collect_leaves(&whole, depth + 1, out)?;
            continue;
        }
        if out.len() == MAX_MIME_PARTS {
            return Err(TOO_MANY_PARTS);
        }
        out.push(Leaf {
            content_type: Some(part.content_type()),
            filename: part.filename(),
            charset: part.charset(),
            payload: part.decoded_body()?.into_owned(),
        });
    }
    Ok(())
}

/// Decodes quoted-printable (RFC 2045): `=XX` escapes and soft line breaks; a
/// malformed escape is kept as it is, as mail readers do.
fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        match (input.get(i + 1), input.get(i + 2)) {
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(b'\n'), _) => i += 2,
            (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                let hex = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(h) << 4 | hex(l));
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_holds_at_most_max_mime_parts() {
        let doc = |n: usize| {
            let mut d = b"Content-Type: multipart/mixed; boundary=b\n\n".to_vec();
            for i in 0..n {
                d.extend_from_slice(format!("--b\n\n#{i}\n").as_bytes());
            }
            d.extend_from_slice(b"--b--\n");
            d
        };
        assert_eq!(
            user_data_parts(&doc(MAX_MIME_PARTS)).map(|p| p.len()),
            Ok(MAX_MIME_PARTS)
        );
        assert_eq!(
            user_data_parts(&doc(MAX_MIME_PARTS + 1)).err(),
            Some(TOO_MANY_PARTS)
        );
        assert_eq!(
            mime_parts(&doc(MAX_MIME_PARTS + 1)).err(),
            Some(TOO_MANY_PARTS)
        );
    }

    #[test]
    fn gzip_members_limits_and_corruption() {
        // `printf 'hello ' | gzip -n` and `printf 'world' | gzip -n`, concatenated.
        let two: &[u8] = &[
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9,
            0xc9, 0x57, 0x00, 0x00, 0xf6, 0xf9, 0x81, 0xed, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x8b,
            0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0xcf, 0x2f, 0xca, 0x49, 0x01,
            0x00, 0x43, 0x11, 0x77, 0x3a, 0x05, 0x00, 0x00, 0x00,
        ];
        assert_eq!(gunzip(two, 100).unwrap(), b"hello world");
        assert_eq!(gunzip(two, 5), Err(UserDataError::TooLarge(5)));
        let mut bad = two.to_vec();
        bad[20] ^= 1;
        assert!(matches!(gunzip(&bad, 100), Err(UserDataError::Gzip(_))));
        assert!(matches!(
            gunzip(&two[..30], 100),
            Err(UserDataError::Gzip(_))
        ));
        assert!(matches!(
            gunzip(b"\x1f\x8b", 100),
            Err(UserDataError::Gzip(_))
        ));
        // Thousands of empty members, then one with data: one inflater serves all.
        let empty: &[u8] = &[
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut many = empty.repeat(5_000);
        many.extend_from_slice(two);
        assert_eq!(gunzip(&many, 100).unwrap(), b"hello world");
    }

    #[test]
    fn nested_parts_and_quoted_printable() {
        let doc = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/x-shellscript; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\necho caf=C3=A9=\r\n!\r\n--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/cloud-config\r\nContent-Disposition: attachment; filename=\"c.yaml\"\r\n\r\n#cloud-config\r\n--b--\r\n--a--\r\n";
        let leaves = leaf_parts(doc).unwrap();
        assert_eq!(leaves.len(), 2);
        assert_eq!(
            leaves[0].content_type.as_deref(),
            Some("text/x-shellscript")
        );
        assert_eq!(leaves[0].charset.as_deref(), Some("utf-8"));
        assert_eq!(leaves[0].payload, "echo café!".as_bytes());
        assert_eq!(leaves[1].content_type.as_deref(), Some("text/cloud-config"));
        assert_eq!(leaves[1].filename.as_deref(), Some("c.yaml"));
        assert_eq!(leaves[1].payload, b"#cloud-config");
        assert_eq!(
            leaf_parts(b"#cloud-config\n"),
            Err(UserDataError::NotMultipart)
        );
    }

    #[test]
    fn base64_round() {
        assert_eq!(base64(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64(b"aGVs\r\nbG8h").unwrap(), b"hello!");
        assert!(base64(b"a").is_err());
        assert!(base64(b"aG=Vs").is_err());
        assert!(base64(b"a*bc").is_err());
    }
}
