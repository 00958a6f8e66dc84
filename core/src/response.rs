//! An incremental HTTP/1.1 response reader over a caller-provided buffer.
//!
//! The caller owns the buffer (its length is the size limit) and the socket:
//!
//! ```
//! use vpc_imds_core::response::{Progress, ResponseReader};
//! let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
//! let mut buf = [0u8; 256];
//! let mut reader = ResponseReader::new();
//! let mut fed = 0;
//! let response = loop {
//!     let space = reader.unfilled(&mut buf).unwrap();
//!     let n = space.len().min(3).min(wire.len() - fed); // any chunking works
//!     space[..n].copy_from_slice(&wire[fed..fed + n]);
//!     fed += n;
//!     match reader.advance(&mut buf, n).unwrap() {
//!         Progress::NeedMore => continue,
//!         Progress::Complete(r) => break (r.status(), r.body().len()),
//!     }
//! };
//! assert_eq!(response, (200, 2));
//! ```
//!
//! Head parsing is httparse's; framing (Content-Length, chunked, read-to-close) is
//! ours. Chunked bodies are decoded in place, so the decoded body is one slice.

use core::fmt;

/// Most response headers accepted.
pub const MAX_HEADERS: usize = 32;
/// Most trailer bytes accepted after a chunked body.
const MAX_TRAILER_BYTES: usize = 4096;
/// Most interim (1xx) responses accepted before the final one; the service sends
/// none, and a peer sending them without end would keep the reader busy until
/// the deadline.
pub const MAX_INTERIM_RESPONSES: u8 = 8;

/// Why a response could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The connection closed before any byte arrived (e.g. an idle keep-alive
    /// connection the server had dropped).
    Closed,
    /// The connection closed in the middle of the response.
    Truncated,
    /// The head did not fit in the buffer.
    HeadTooLarge,
    /// The body did not fit in the buffer.
    BodyTooLarge,
    /// More than [`MAX_HEADERS`] headers.
    TooManyHeaders,
    /// The status line or a header was not valid HTTP/1.x.
    BadHead,
    /// The message framing was invalid or ambiguous.
    BadFraming(&'static str),
}

impl core::error::Error for ResponseError {}

impl ResponseError {
    /// Whether the connection dropped (another attempt may succeed) rather than
    /// the peer sending something wrong.
    pub const fn is_connection_loss(self) -> bool {
        matches!(self, ResponseError::Closed | ResponseError::Truncated)
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Closed => f.write_str("the connection closed before a response"),
            ResponseError::Truncated => {
                f.write_str("the connection closed in the middle of the response")
            }
            ResponseError::HeadTooLarge => f.write_str("the response head exceeds the buffer"),
            ResponseError::BodyTooLarge => f.write_str("the response body exceeds the buffer"),
            ResponseError::TooManyHeaders => {
                write!(f, "the response has more than {MAX_HEADERS} headers")
            }
            ResponseError::BadHead => f.write_str("the response head is not valid HTTP/1.1"),
            ResponseError::BadFraming(why) => write!(f, "invalid response framing: {why}"),
        }
    }
}

/// A complete response; the body borrows the caller's buffer. `Debug` shows the
/// body's length only, since a body may hold a token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Response<'b> {
    status: u16,
    retry_after: Option<u32>,
    keep_alive: bool,
    body: &'b [u8],
    /// Why the host's HTTP stack should not have accepted this response (see
    /// [`Response::from_host`]); the session fails the operation with it.
    refused: Option<ResponseError>,
}

impl<'b> Response<'b> {
    /// A response from parts, for hosts whose own HTTP stack parsed it.
    pub const fn from_parts(status: u16, retry_after: Option<u32>, body: &'b [u8]) -> Self {
        Response {
            status,
            retry_after,
            keep_alive: false,
            body,
            refused: None,
        }
    }

    /// A response from a host's own HTTP stack (`fetch`), with the framing headers
    /// it can still see: `transfer_encoding` is the `Transfer-Encoding` value, every
    /// header line joined by `", "` as `fetch`'s `Headers.get` gives it (`None` when
    /// absent). The stack has removed a `chunked` coding; a response this crate's
    /// reader would refuse ([`check_transfer_encoding`]) is refused by the session
    /// the same way, as `bad_response`.
    pub fn from_host(
        status: u16,
        retry_after: Option<u32>,
        transfer_encoding: Option<&[u8]>,
        body: &'b [u8],
    ) -> Self {
        Response {
            refused: transfer_encoding.and_then(|v| check_transfer_encoding(v).err()),
            ..Response::from_parts(status, retry_after, body)
        }
    }

    /// Why this response must be refused although a host's HTTP stack accepted it.
    pub const fn refused(&self) -> Option<ResponseError> {
        self.refused
    }

    /// HTTP status code.
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// `Retry-After` in seconds, if present as delta-seconds (an HTTP-date cannot be
    /// judged without a wall clock and is ignored).
    pub const fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }

    /// Whether the connection may carry another request.
    pub const fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The (de-chunked) body.
    pub const fn body(&self) -> &'b [u8] {
        self.body
    }
}

impl fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("retry_after", &self.retry_after)
            .field("keep_alive", &self.keep_alive)
            .field("body_len", &self.body.len())
            .field("refused", &self.refused)
            .finish()
    }
}

/// Parses `Retry-After` delta-seconds; anything else is `None`, and so is a
/// field sent twice: hosts hand over the field's lines joined by ", " (as HTTP
/// libraries do), and the reader of a whole response ignores a repeated line.
///
/// A value too large for a `u32` saturates at `u32::MAX` rather than being
/// dropped: a server asking for a very long wait must not get a quick retry, and
/// a wait past the operation's deadline fails the operation at once.
///
/// ```
/// use vpc_imds_core::response::parse_retry_after;
/// assert_eq!(parse_retry_after(b" 120 "), Some(120));
/// assert_eq!(parse_retry_after(b"1000000000000"), Some(u32::MAX));
/// assert_eq!(parse_retry_after(b"Wed, 21 Oct 2015 07:28:00 GMT"), None);
/// // A field sent twice, as HTTP libraries hand it over (lines joined by ", "):
/// assert_eq!(parse_retry_after(b"60, 60"), None);
/// ```
pub fn parse_retry_after(value: &[u8]) -> Option<u32> {
    let v = trim(value);
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u32, |n, d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    }))
}

/// Result of feeding bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress<'b> {
    /// Read more bytes into [`ResponseReader::unfilled`].
    NeedMore,
    /// The whole response has arrived.
    Complete(Response<'b>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(usize),
    DataEnd,
    Trailers(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    retry_after: Option<u32>,
    keep_alive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Body { head: Head, framing: Framing },
    Done,
}

/// Reads one response. Buffer layout while reading the body: `[0, decoded)` is
/// decoded body, `[decoded, filled)` raw bytes not yet framed.
///
/// The buffer may be the same slice at every call, or one the caller grows as bytes
/// arrive (keeping its contents) up to the limit given to
/// [`with_limit`](Self::with_limit); a response that cannot fit the limit is refused
/// as soon as its framing says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseReader {
    state: State,
    filled: usize,
    decoded: usize,
    /// Interim (1xx) responses skipped so far.
    interim: u8,
    /// The largest body accepted; `usize::MAX`: the buffer's length.
    limit: usize,
}

impl Default for ResponseReader {
    fn default() -> Self {
        ResponseReader::new()
    }
}

impl ResponseReader {
    /// A reader waiting for the status line, for a buffer of a fixed length (the
    /// most a response may take).
    pub const fn new() -> Self {
        ResponseReader::with_limit(usize::MAX)
    }

    /// A reader for a buffer its caller grows, up to `limit` bytes, before each
    /// [`unfilled`](Self::unfilled) that needs more room: a small response never
    /// needs the whole limit allocated.
    pub const fn with_limit(limit: usize) -> Self {
        ResponseReader {
            state: State::Head,
            filled: 0,
            decoded: 0,
            interim: 0,
            limit,
        }
    }

    /// The most a body may take: the limit, or the buffer's length.
    fn most(&self, buf: &[u8]) -> usize {
        if self.limit == usize::MAX {
            buf.len()
        } else {
            self.limit
        }
    }

    /// Where the next bytes should be read into.
    ///
    /// Fails with a size error when the buffer is full and the response is not complete.
    pub fn unfilled<'b>(&self, buf: &'b mut [u8]) -> Result<&'b mut [u8], ResponseError> {
        let full = self.filled >= buf.len();
        match self.state {
            State::Head if full => Err(ResponseError::HeadTooLarge),
            State::Body { .. } if full => Err(ResponseError::BodyTooLarge),
            _ => Ok(buf.get_mut(self.filled..).unwrap_or_default()),
        }
    }

    /// Records that `n` bytes were read into [`unfilled`](Self::unfilled); `n == 0` means
    /// the peer closed the connection.
    pub fn advance<'b>(
        &mut self,
        buf: &'b mut [u8],
        n: usize,
    ) -> Result<Progress<'b>, ResponseError> {
        if n == 0 {
            return self.at_eof(buf);
        }
        self.filled = (self.filled + n).min(buf.len());
        if self.state == State::Head && !self.parse_head(buf)? {
            return Ok(Progress::NeedMore);
        }
        self.frame(buf)
    }

    fn at_eof<'b>(&mut self, buf: &'b mut [u8]) -> Result<Progress<'b>, ResponseError> {
        match self.state {
            State::Head if self.filled == 0 => Err(ResponseError::Closed),
            State::Body {
                head,
                framing: Framing::UntilClose,
            } => {
                self.state = State::Done;
                let body = buf.get(..self.filled).ok_or(ResponseError::Truncated)?;
                Ok(Progress::Complete(Response {
                    status: head.status,
                    retry_after: head.retry_after,
                    keep_alive: false,
                    body,
                    refused: None,
                }))
            }
            _ => Err(ResponseError::Truncated),
        }
    }

    /// Parses the head once complete; moves what follows it to the buffer's start.
    fn parse_head(&mut self, buf: &mut [u8]) -> Result<bool, ResponseError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            let data = buf.get(..self.filled).ok_or(ResponseError::BadHead)?;
            let len = match parsed.parse(data) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) => return Ok(false),
                Err(httparse::Error::TooManyHeaders) => return Err(ResponseError::TooManyHeaders),
                Err(_) => return Err(ResponseError::BadHead),
            };
            let status = parsed.code.ok_or(ResponseError::BadHead)?;
            let http11 = parsed.version == Some(1);
            let mut content_length: Option<usize> = None;
            let mut chunked = false;
            let mut close = !http11;
            let mut said_close = false;
            let mut retry_after = None;
            let mut retry_after_seen = false;
            for h in parsed.headers.iter() {
                let name = h.name;
                if name.eq_ignore_ascii_case("content-length") {
                    let v = parse_length(h.value)
                        .ok_or(ResponseError::BadFraming("invalid Content-Length"))?;
                    if content_length.is_some_and(|c| c != v) {
                        return Err(ResponseError::BadFraming(
                            "conflicting Content-Length headers",
                        ));
                    }
                    content_length = Some(v);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    // A second line is a second coding (`chunked` twice, or `gzip`
                    // then `chunked`), as if joined by ", ".
                    if chunked {
                        return Err(UNSUPPORTED_CODING);
                    }
                    check_transfer_encoding(h.value)?;
                    chunked = true;
                } else if name.eq_ignore_ascii_case("connection") {
                    // `close` anywhere wins (RFC 9112 §9.6); `keep-alive` only
                    // undoes HTTP/1.0's default.
                    for token in h.value.split(|&b| b == b',').map(trim) {
                        if token.eq_ignore_ascii_case(b"close") {
                            close = true;
                            said_close = true;
                        } else if token.eq_ignore_ascii_case(b"keep-alive") && !said_close {
                            close = false;
                        }
                    }
                } else if name.eq_ignore_ascii_case("retry-after") {
                    // A singleton field: lines joined by ", " (as an HTTP library
                    // hands a host the field) are no delay, so a repeat is ignored.
                    retry_after = if retry_after_seen {
                        None
                    } else {
                        parse_retry_after(h.value)
                    };
                    retry_after_seen = true;
                }
            }
            self.discard_front(buf, len);
            if (100..200).contains(&status) {
                // An interim response; the real one follows.
                if self.interim >= MAX_INTERIM_RESPONSES {
                    return Err(ResponseError::BadFraming(
                        "too many interim (1xx) responses",
                    ));
                }
                self.interim += 1;
                continue;
            }
            if chunked && content_length.is_some() {
                return Err(ResponseError::BadFraming("both Content-Length and chunked"));
            }
            let framing = if status == 204 || status == 304 {
                Framing::Length(0)
            } else if chunked {
                Framing::Chunked(Chunk::Size)
            } else if let Some(len) = content_length {
                if len > self.most(buf) {
                    return Err(ResponseError::BodyTooLarge);
                }
                Framing::Length(len)
            } else {
                close = true;
                Framing::UntilClose
            };
            let head = Head {
                status,
                retry_after,
                keep_alive: !close,
            };
            self.state = State::Body { head, framing };
            self.decoded = 0;
            return Ok(true);
        }
    }

    fn discard_front(&mut self, buf: &mut [u8], len: usize) {
        buf.copy_within(len..self.filled, 0);
        self.filled -= len;
    }

    fn frame<'b>(&mut self, buf: &'b mut [u8]) -> Result<Progress<'b>, ResponseError> {
        let State::Body { head, framing } = self.state else {
            return Err(ResponseError::BadFraming("response already complete"));
        };
        let body_len = match framing {
            Framing::Length(len) => {
                if self.filled < len {
                    return Ok(Progress::NeedMore);
                }
                len
            }
            Framing::UntilClose => return Ok(Progress::NeedMore),
            Framing::Chunked(chunk) => match self.dechunk(buf, chunk)? {
                Some(len) => len,
                None => return Ok(Progress::NeedMore),
            },
        };
        // Bytes past the body mean the connection cannot be trusted again.
        let keep_alive = head.keep_alive && self.filled == body_len;
        self.state = State::Done;
        let body = buf.get(..body_len).ok_or(ResponseError::Truncated)?;
        Ok(Progress::Complete(Response {
            status: head.status,
            retry_after: head.retry_after,
            keep_alive,
            body,
            refused: None,
        }))
    }

    /// Decodes chunks in place; returns the body length once the last chunk and
    /// trailers are in.
    fn dechunk(
        &mut self,
        buf: &mut [u8],
        mut chunk: Chunk,
    ) -> Result<Option<usize>, ResponseError> {
        let mut raw = self.decoded;
        let result = loop {
            let pending = buf.get(raw..self.filled).unwrap_or_default();
            match chunk {
                Chunk::Size => match httparse::parse_chunk_size(pending) {
                    // httparse reads a size line with no digits (empty, or only an
                    // extension) as 0, the last chunk, which would end a body early.
                    Ok(httparse::Status::Complete((used, size)))
                        if pending.first().is_some_and(u8::is_ascii_hexdigit) =>
                    {
                        raw += used;
                        let size =
                            usize::try_from(size).map_err(|_| ResponseError::BodyTooLarge)?;
                        if size > self.most(buf) {
                            return Err(ResponseError::BodyTooLarge);
                        }
                        chunk = if size == 0 {
                            Chunk::Trailers(0)
                        } else {
                            Chunk::Data(size)
                        };
                    }
                    Ok(httparse::Status::Partial) => break None,
                    _ => return Err(ResponseError::BadFraming("invalid chunk size line")),
                },
                Chunk::Data(left) => {
                    let take = left.min(pending.len());
                    if take == 0 {
                        break None;
                    }
                    buf.copy_within(raw..raw + take, self.decoded);
                    self.decoded += take;
                    raw += take;
                    chunk = if take == left {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left - take)
                    };
                }
                Chunk::DataEnd => {
                    if pending.len() < 2 {
                        break None;
                    }
                    if &pending[..2] != b"\r\n" {
                        return Err(ResponseError::BadFraming("chunk data not followed by CRLF"));
                    }
                    raw += 2;
                    chunk = Chunk::Size;
                }
                Chunk::Trailers(seen) => {
                    let Some(eol) = pending.windows(2).position(|w| w == b"\r\n") else {
                        if seen + pending.len() > MAX_TRAILER_BYTES {
                            return Err(ResponseError::BadFraming("trailers too long"));
                        }
                        break None;
                    };
                    raw += eol + 2;
                    if eol == 0 {
                        break Some(self.decoded);
                    }
                    if seen + eol + 2 > MAX_TRAILER_BYTES {
                        return Err(ResponseError::BadFraming("trailers too long"));
                    }
                    chunk = Chunk::Trailers(seen + eol + 2);
                }
            }
        };
        // Reclaim the framing bytes so the buffer holds only body and pending input.
        buf.copy_within(raw..self.filled, self.decoded);
        self.filled -= raw - self.decoded;
        if let State::Body { head, .. } = self.state {
            self.state = State::Body {
                head,
                framing: Framing::Chunked(chunk),
            };
        }
        Ok(result)
    }
}

const UNSUPPORTED_CODING: ResponseError =
    ResponseError::BadFraming("unsupported Transfer-Encoding");

/// The rule for a response's `Transfer-Encoding` (one header line, or every line
/// joined by `", "`): only `chunked` alone is implemented. Any other coding (`gzip,
/// chunked`, `chunked, identity`, `chunked, chunked`, `identity`) would hand on a
/// body still encoded, or framed by the connection's end, so it is refused.
///
/// ```
/// use vpc_imds_core::response::check_transfer_encoding;
/// assert!(check_transfer_encoding(b" Chunked ").is_ok());
/// assert!(check_transfer_encoding(b"gzip, chunked").is_err());
/// assert!(check_transfer_encoding(b"chunked, chunked").is_err());
/// ```
pub fn check_transfer_encoding(value: &[u8]) -> Result<(), ResponseError> {
    if trim(value).eq_ignore_ascii_case(b"chunked") {
        Ok(())
    } else {
        Err(UNSUPPORTED_CODING)
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or_default()
}

fn parse_length(v: &[u8]) -> Option<usize> {
    let v = trim(v);
    if v.is_empty() || v.len() > 12 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0usize, |n, d| {
        n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` in pieces of `step` bytes and returns (status, body, keep_alive).
    fn read(
        wire: &[u8],
        step: usize,
        cap: usize,
    ) -> Result<(u16, heapless::Vec<u8, 1024>, bool), ResponseError> {
        let mut buf = [0u8; 1024];
        let buf = &mut buf[..cap];
        let mut reader = ResponseReader::new();
        let mut fed = 0;
        loop {
            let space = reader.unfilled(buf)?;
            let n = space.len().min(step).min(wire.len() - fed);
            space[..n].copy_from_slice(&wire[fed..fed + n]);
            fed += n;
            if let Progress::Complete(r) = reader.advance(buf, n)? {
                let body = heapless::Vec::from_slice(r.body()).unwrap();
                return Ok((r.status(), body, r.keep_alive()));
            }
        }
    }

    /// Reads `wire` into a buffer that starts at `start` bytes and grows by
    /// `start` (up to `limit`) whenever it is full, as a host's growing buffer does.
    fn read_growing(
        wire: &[u8],
        start: usize,
        limit: usize,
    ) -> Result<(u16, heapless::Vec<u8, 1024>), ResponseError> {
        let mut store = [0u8; 1024];
        let mut len = start;
        let mut reader = ResponseReader::with_limit(limit);
        let mut fed = 0;
        loop {
            if reader.unfilled(&mut store[..len]).map_or(0, |s| s.len()) == 0 {
                len = (len + start).min(limit);
            }
            let buf = &mut store[..len];
            let space = reader.unfilled(buf)?;
            let n = space.len().min(wire.len() - fed);
            space[..n].copy_from_slice(&wire[fed..fed + n]);
            fed += n;
            if let Progress::Complete(r) = reader.advance(buf, n)? {
                return Ok((r.status(), heapless::Vec::from_slice(r.body()).unwrap()));
            }
        }
    }

    #[test]
    fn a_growing_buffer_reads_up_to_the_limit_and_refuses_past_it() {
        let body = [b'x'; 300];
        let mut wire = heapless::Vec::<u8, 1024>::new();
        wire.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n")
            .unwrap();
        wire.extend_from_slice(&body).unwrap();
        // Fits the limit: read though the buffer starts at a tenth of the body.
        let (status, got) = read_growing(&wire, 32, 512).unwrap();
        assert_eq!((status, got.as_slice()), (200, &body[..]));
        // Past the limit: refused from the Content-Length, before the body is read.
        assert_eq!(
            read_growing(&wire, 32, 200),
            Err(ResponseError::BodyTooLarge)
        );
        // A chunk larger than the limit, likewise.
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n12c\r\n";
        assert_eq!(
            read_growing(chunked, 64, 200),
            Err(ResponseError::BodyTooLarge)
        );
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n";

    #[test]
    fn every_chunking_gives_the_same_result() {
        for step in 1..CHUNKED.len() {
            let (status, body, keep) = read(CHUNKED, step, 1024).unwrap();
            assert_eq!(
                (status, &body[..], keep),
                (200, &b"hello world"[..], true),
                "step {step}"
            );
        }
    }

    #[test]
    fn content_length_and_close() {
        let wire = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nRetry-After: 3\r\nConnection: close\r\n\r\n{}";
        assert_eq!(
            read(wire, 7, 1024).unwrap(),
            (503, heapless::Vec::from_slice(b"{}").unwrap(), false)
        );
        let wire = b"HTTP/1.1 200 OK\r\n\r\nto the end";
        let mut buf = [0u8; 64];
        let mut r = ResponseReader::new();
        let space = r.unfilled(&mut buf).unwrap();
        space[..wire.len()].copy_from_slice(wire);
        assert_eq!(r.advance(&mut buf, wire.len()), Ok(Progress::NeedMore));
        match r.advance(&mut buf, 0) {
            Ok(Progress::Complete(resp)) => assert_eq!(resp.body(), b"to the end"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn close_anywhere_wins_over_keep_alive() {
        let keep = |lines: &str, version: &str| {
            let mut wire = heapless::String::<256>::new();
            core::fmt::Write::write_fmt(
                &mut wire,
                format_args!("HTTP/{version} 200 OK\r\nContent-Length: 2\r\n{lines}\r\n{{}}"),
            )
            .unwrap();
            read(wire.as_bytes(), 64, 1024).map(|(_, _, k)| k)
        };
        for (lines, version, expected) in [
            (
                "Connection: close\r\nConnection: keep-alive\r\n",
                "1.1",
                false,
            ),
            ("Connection: close, keep-alive\r\n", "1.1", false),
            ("Connection: keep-alive, close\r\n", "1.1", false),
            ("Connection: keep-alive\r\n", "1.0", true),
            ("", "1.0", false),
            ("", "1.1", true),
        ] {
            assert_eq!(
                keep(lines, version),
                Ok(expected),
                "HTTP/{version} {lines:?}"
            );
        }
    }

    #[test]
    fn distinct_errors() {
        let cut = &CHUNKED[..CHUNKED.len() - 3];
        assert_eq!(read(cut, 5, 1024), Err(ResponseError::Truncated));
        assert_eq!(read(b"", 5, 1024), Err(ResponseError::Closed));
        // The head and chunk framing are reclaimed, so only the decoded body counts.
        assert!(read(CHUNKED, 5, 50).is_ok());
        let mut many = heapless::Vec::<u8, 1024>::new();
        many.extend_from_slice(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        for _ in 0..3 {
            many.extend_from_slice(b"14\r\n01234567890123456789\r\n")
                .unwrap();
        }
        many.extend_from_slice(b"0\r\n\r\n").unwrap();
        assert_eq!(read(&many, 5, 50), Err(ResponseError::BodyTooLarge));
        assert_eq!(read(&many, 5, 70).map(|r| r.1.len()), Ok(60));
        let huge_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffff\r\n";
        assert_eq!(read(huge_chunk, 5, 100), Err(ResponseError::BodyTooLarge));
        assert_eq!(read(CHUNKED, 5, 20), Err(ResponseError::HeadTooLarge));
        let big = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
        assert_eq!(read(big, 5, 1024), Err(ResponseError::BodyTooLarge));
        let both = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(
            read(both, 5, 1024),
            Err(ResponseError::BadFraming(_))
        ));
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n";
        assert!(matches!(
            read(two, 5, 1024),
            Err(ResponseError::BadFraming(_))
        ));
        let bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(matches!(
            read(bad_chunk, 5, 1024),
            Err(ResponseError::BadFraming(_))
        ));
        assert_eq!(
            read(b"HTTP/1.1 2x0 OK\r\n\r\n", 5, 1024),
            Err(ResponseError::BadHead)
        );
    }

    #[test]
    fn skips_interim_responses() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        assert_eq!(read(wire, 4, 1024).unwrap().0, 200);
    }

    /// `n` interim responses, then a final one.
    fn after_interim(n: usize) -> heapless::Vec<u8, 1024> {
        let mut wire = heapless::Vec::new();
        for _ in 0..n {
            wire.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n")
                .unwrap();
        }
        wire.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
            .unwrap();
        wire
    }

    #[test]
    fn interim_responses_are_capped() {
        let cap = usize::from(MAX_INTERIM_RESPONSES);
        for step in [1, 7, 1024] {
            assert_eq!(read(&after_interim(cap), step, 1024).unwrap().0, 200);
            assert_eq!(
                read(&after_interim(cap + 1), step, 1024),
                Err(ResponseError::BadFraming(
                    "too many interim (1xx) responses"
                )),
                "step {step}"
            );
        }
    }

    #[test]
    fn only_chunked_transfer_coding_is_accepted() {
        let with = |te: &[u8]| {
            let mut wire = heapless::Vec::<u8, 256>::new();
            wire.extend_from_slice(b"HTTP/1.1 200 OK\r\n").unwrap();
            wire.extend_from_slice(te).unwrap();
            wire.extend_from_slice(b"\r\n2\r\n{}\r\n0\r\n\r\n").unwrap();
            read(&wire, 5, 1024).map(|r| r.1.len())
        };
        let refused = Err(ResponseError::BadFraming("unsupported Transfer-Encoding"));
        assert_eq!(with(b"Transfer-Encoding: chunked\r\n"), Ok(2));
        assert_eq!(with(b"transfer-encoding:  CHUNKED \r\n"), Ok(2));
        for te in [
            &b"Transfer-Encoding: gzip, chunked\r\n"[..],
            b"Transfer-Encoding: chunked, chunked\r\n",
            b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
            b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
            b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            b"Transfer-Encoding: identity\r\n",
            b"Transfer-Encoding: chunked;q=1\r\n",
            b"Transfer-Encoding: \r\n",
        ] {
            assert_eq!(with(te), refused, "{:?}", core::str::from_utf8(te));
        }
    }

    #[test]
    fn a_host_stack_response_is_judged_by_the_readers_rule() {
        // fetch joins repeated header lines with ", ": the same verdict as the reader's.
        let joined = |lines: &[&[u8]]| {
            let mut v = heapless::Vec::<u8, 128>::new();
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    v.extend_from_slice(b", ").unwrap();
                }
                v.extend_from_slice(line).unwrap();
            }
            v
        };
        let refused = Some(ResponseError::BadFraming("unsupported Transfer-Encoding"));
        for (lines, ok) in [
            (&[&b"chunked"[..]][..], true),
            (&[&b" CHUNKED "[..]], true),
            (&[&b"gzip, chunked"[..]], false),
            (&[&b"chunked, identity"[..]], false),
            (&[&b"chunked"[..], b"chunked"], false),
            (&[&b"gzip"[..], b"chunked"], false),
            (&[&b"identity"[..]], false),
            (&[&b""[..]], false),
        ] {
            let value = joined(lines);
            let r = Response::from_host(200, None, Some(&value), b"{}");
            assert_eq!(r.refused(), if ok { None } else { refused }, "{lines:?}");
            assert_eq!((r.status(), r.body()), (200, &b"{}"[..]));
        }
        assert_eq!(Response::from_host(200, Some(3), None, b"").refused(), None);
        assert_eq!(Response::from_parts(200, None, b"").refused(), None);
    }

    /// The status and `Retry-After` the reader takes from a whole response.
    fn status_and_retry_after(wire: &[u8]) -> (u16, Option<u32>) {
        let mut buf = [0u8; 256];
        let mut reader = ResponseReader::new();
        reader.unfilled(&mut buf).unwrap()[..wire.len()].copy_from_slice(wire);
        match reader.advance(&mut buf, wire.len()).unwrap() {
            Progress::Complete(r) => (r.status(), r.retry_after()),
            Progress::NeedMore => panic!("a whole response"),
        }
    }

    /// The `Retry-After` the reader takes from `lines` of a 429's head.
    fn head_retry_after(lines: &str) -> Option<u32> {
        let mut wire = heapless::Vec::<u8, 256>::new();
        for part in [
            "HTTP/1.1 429 Too Many Requests\r\n",
            lines,
            "Content-Length: 0\r\n\r\n",
        ] {
            wire.extend_from_slice(part.as_bytes()).unwrap();
        }
        status_and_retry_after(&wire).1
    }

    #[test]
    fn repeated_retry_after_is_ignored() {
        assert_eq!(head_retry_after("Retry-After: 7\r\n"), Some(7));
        // Two lines read as their joined value ("1, 60"), which is no delay: neither
        // the first nor the last line wins.
        assert_eq!(
            head_retry_after("Retry-After: 1\r\nRetry-After: 60\r\n"),
            None
        );
        assert_eq!(
            head_retry_after("Retry-After: 60\r\nretry-after: 60\r\n"),
            None
        );
        assert_eq!(parse_retry_after(b"1, 60"), None);
        assert_eq!(
            head_retry_after("Retry-After: x\r\nRetry-After: 5\r\n"),
            None
        );
        // Each head counts its own lines: an interim (1xx) head's line is not the
        // answer's, and it does not make the answer's one line a repeat.
        let wire = b"HTTP/1.1 100 Continue\r\nRetry-After: 1\r\n\r\n\
            HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(status_and_retry_after(wire), (429, Some(7)));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(b" 120 "), Some(120));
        assert_eq!(parse_retry_after(b"Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after(b"-1"), None);
        assert_eq!(parse_retry_after(b""), None);
        assert_eq!(parse_retry_after(b"999999999"), Some(999_999_999));
        // Ten digits or more saturate rather than vanish.
        assert_eq!(parse_retry_after(b"1000000000"), Some(1_000_000_000));
        assert_eq!(parse_retry_after(b"4294967296"), Some(u32::MAX));
        assert_eq!(
            parse_retry_after(b"00000000000000000000000000000007"),
            Some(7)
        );
        assert_eq!(
            parse_retry_after(b"99999999999999999999999999999999"),
            Some(u32::MAX)
        );
    }
}
