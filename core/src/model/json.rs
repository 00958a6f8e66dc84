//! The JSON reader behind every model: a position in a borrowed body, read by
//! the models' [`Decode`] impls in place.
//!
//! One pass over the bytes does all of the checking, inside the parse:
//! - the grammar of RFC 8259, for skipped values (unknown fields) as strictly as
//!   for the fields a model reads, so a document accepted here is valid JSON;
//! - nesting at most [`MAX_DEPTH`] deep, counted as containers open, so the
//!   reader never recurses further than that (skipped values are skipped
//!   without recursion at all);
//! - no raw control character (U+0000..U+001F) inside a string, as RFC 8259
//!   requires: a body cannot smuggle CR LF or terminal escapes into a value;
//! - every escape well formed (surrogates paired) and every string valid UTF-8.
//!
//! Strings are handed out raw, escapes kept, as [`Text`](crate::text::Text): the
//! reader never allocates, and copies only an escaped member name (decoded on the
//! stack to find its field). Strings are scanned eight bytes at a
//! time; only bytes that need a decision (`"`, `\`, a control character) are
//! looked at one by one.

use core::fmt;

use super::decode::Decode;
use super::MAX_DEPTH;
use crate::error::BodyError;
use crate::text::Text;

// Skipped containers are tracked as one bit each in a u64.
const _: () = assert!(MAX_DEPTH <= 64);

/// Why a body is not a document of the expected shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// The body ends inside a value.
    Eof,
    /// Not JSON: an unexpected byte.
    Syntax,
    /// A raw U+0000..U+001F inside a string.
    ControlCharacter,
    /// Containers nest deeper than [`MAX_DEPTH`].
    Depth,
    /// Valid JSON, but not the type the field has.
    Type,
    /// A number that is malformed or does not fit the field.
    Number,
    /// An invalid escape sequence (or an unpaired surrogate).
    Escape,
    /// A string that is not UTF-8.
    Utf8,
    /// Something follows the document.
    Trailing,
    /// A required field is absent.
    MissingField,
    /// A field appears twice.
    DuplicateField,
    /// A list is longer than its capacity.
    TooLong,
}

impl Error {
    /// A short, static description for [`BodyError`].
    pub(crate) const fn reason(self) -> &'static str {
        match self {
            Error::Eof => "the JSON ends early",
            Error::Syntax => "the JSON is malformed",
            Error::ControlCharacter => "a string holds a raw control character",
            Error::Depth => "the JSON nests deeper than 64 levels",
            Error::Type => "a value has the wrong type",
            Error::Number => "a number is invalid or out of range",
            Error::Escape => "a string is badly escaped",
            Error::Utf8 => "a string is not valid UTF-8",
            Error::Trailing => "there is data after the JSON value",
            Error::MissingField => "a required field is missing",
            Error::DuplicateField => "a field appears twice",
            Error::TooLong => "a list exceeds its capacity",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// Parses one JSON document (surrounding whitespace allowed) into `T`; `what`
/// names the document in errors.
pub(crate) fn from_slice<'de, T: Decode<'de> + Default>(
    body: &'de [u8],
    what: &'static str,
) -> Result<T, BodyError> {
    let mut value = T::default();
    decode_into(body, what, &mut value).map(|()| value)
}

/// Parses one JSON document into `value`, which should hold its default; on an
/// error, `value` holds what was read before it. No model is moved: callers that
/// keep a big one (an instance is about 14 KB) in a slot of their own fill it here.
pub(crate) fn decode_into<'de, T: Decode<'de>>(
    body: &'de [u8],
    what: &'static str,
    value: &mut T,
) -> Result<(), BodyError> {
    let result = match core::str::from_utf8(body) {
        Ok(text) => {
            let mut reader = Reader {
                text,
                pos: 0,
                depth: 0,
            };
            value
                .decode(&mut reader)
                .and_then(|()| match reader.skip_ws() {
                    Some(_) => Err(Error::Trailing),
                    None => Ok(()),
                })
        }
        Err(_) => Err(Error::Utf8),
    };
    result.map_err(|e| BodyError {
        what,
        reason: e.reason(),
    })
}

/// The index of `key` among `keys`, looking from `hint` on and wrapping around.
fn find_key(keys: &[&str], hint: usize, key: &str) -> Option<usize> {
    let n = keys.len();
    let mut i = hint;
    for _ in 0..n {
        if i >= n {
            i = 0;
        }
        if keys[i] == key {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Checks that `body` is one JSON document under the rules above, reading nothing.
#[cfg(test)]
pub(crate) fn validate(body: &[u8]) -> Result<(), &'static str> {
    struct Nothing;
    impl<'de> Decode<'de> for Nothing {
        fn decode(&mut self, r: &mut Reader<'de>) -> Result<(), Error> {
            r.skip_value()
        }
    }
    impl Default for Nothing {
        fn default() -> Self {
            Nothing
        }
    }
    from_slice::<Nothing>(body, "test")
        .map(|_| ())
        .map_err(|e| e.reason)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The bytes of `w` (little-endian) that are `"`, `\\` or below 0x20, as the
/// high bit of each; the lowest set bit marks the first such byte exactly
/// (a false mark can only follow a true one).
#[inline(always)]
const fn special_bytes(w: u64) -> u64 {
    let quote = w ^ (LO * b'"' as u64);
    let backslash = w ^ (LO * b'\\' as u64);
    // (x - 0x01..) & !x & 0x80.. marks the zero bytes of x;
    // (w - 0x20..) & !w & 0x80.. marks the bytes of w below 0x20.
    ((quote.wrapping_sub(LO) & !quote)
        | (backslash.wrapping_sub(LO) & !backslash)
        | (w.wrapping_sub(LO * 0x20) & !w))
        & HI
}

/// The index of the first `"`, `\\` or control byte of `b` at or after `i` (`b.len()`
/// when none): where a JSON string's reader must look next, eight bytes at a time.
///
/// ```
/// use vpc_imds_core::text::string_stop;
/// let b = br#""a long string, past eight bytes \"q\" then \u00e9""#;
/// assert_eq!(string_stop(b, 1), 33); // the backslash before the first escaped quote
/// assert_eq!(string_stop(b, 35), 36); // the next backslash
/// assert_eq!(string_stop(b, 45), b.len() - 1); // after the escape: the closing quote
/// assert_eq!(string_stop(b"abc\ndef", 0), 3); // a control byte (a raw newline)
/// assert_eq!(string_stop(b"no stop here", 0), 12);
/// ```
#[inline]
pub fn string_stop(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let special = special_bytes(u64::from_le_bytes(*chunk));
        if special != 0 {
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b
        .get(i)
        .is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20)
    {
        i += 1;
    }
    i
}

/// True for the bytes that can start a JSON value.
const fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'"' | b'{' | b'[' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9'
    )
}

/// A value of the wrong type, or no value at all.
pub(crate) const fn unexpected(b: u8) -> Error {
    if starts_value(b) {
        Error::Type
    } else {
        Error::Syntax
    }
}

/// The reader: a position in the body and the current nesting depth.
pub(crate) struct Reader<'de> {
    /// The body, checked as UTF-8 once, so that strings are slices of it.
    text: &'de str,
    pos: usize,
    depth: usize,
}

impl<'de> Reader<'de> {
    #[inline(always)]
    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    /// Skips whitespace; the next byte, if any.
    #[inline]
    fn skip_ws(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes().get(self.pos) {
            match b {
                b' ' | b'\n' | b'\r' | b'\t' => self.pos += 1,
                _ => return Some(b),
            }
        }
        None
    }

    /// Skips whitespace; the next byte, which must exist.
    #[inline]
    pub(crate) fn next(&mut self) -> Result<u8, Error> {
        self.skip_ws().ok_or(Error::Eof)
    }

    /// Opens a container whose bracket is at `pos`.
    #[inline]
    fn open(&mut self) -> Result<(), Error> {
        self.pos += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::Depth);
        }
        Ok(())
    }

    /// Closes a container with `close` after its last member.
    #[inline]
    fn close(&mut self, close: u8) -> Result<(), Error> {
        match self.next()? {
            b if b == close => {
                self.pos += 1;
                self.depth -= 1;
                Ok(())
            }
            _ => Err(Error::Syntax),
        }
    }

    /// Expects `word` (`true`, `false`, `null`) at `pos`.
    #[inline]
    pub(crate) fn literal(&mut self, word: &[u8]) -> Result<(), Error> {
        match self.bytes().get(self.pos..self.pos + word.len()) {
            Some(w) if w == word => {
                self.pos += word.len();
                Ok(())
            }
            Some(_) => Err(Error::Syntax),
            None => Err(Error::Eof),
        }
    }

    /// Reads the string whose opening quote is at `pos`; its raw content.
    #[inline]
    fn string(&mut self) -> Result<&'de str, Error> {
        let bytes = self.bytes();
        let start = self.pos + 1;
        let mut i = start;
        loop {
            i = string_stop(bytes, i);
            match bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') => i = escape_end(bytes, i + 1)?,
                Some(0..=0x1F) => return Err(Error::ControlCharacter),
                Some(_) => i += 1,
                None => return Err(Error::Eof),
            }
        }
        self.pos = i + 1;
        // Both ends are next to an ASCII quote: character boundaries.
        self.text.get(start..i).ok_or(Error::Utf8)
    }

    /// Reads a string value where one must be.
    #[inline]
    pub(crate) fn string_value(&mut self) -> Result<&'de str, Error> {
        match self.next()? {
            b'"' => self.string(),
            b => Err(unexpected(b)),
        }
    }

    /// Reads an integer where one must be: its sign and magnitude.
    fn integer(&mut self) -> Result<(bool, u64), Error> {
        let negative = match self.next()? {
            b'-' => {
                self.pos += 1;
                true
            }
            b'0'..=b'9' => false,
            b => return Err(unexpected(b)),
        };
        let mut n: u64 = 0;
        match self.bytes().get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(&d) = self.bytes().get(self.pos) {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    n = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(d - b'0')))
                        .ok_or(Error::Number)?;
                    self.pos += 1;
                }
            }
            Some(_) => return Err(Error::Number),
            None => return Err(Error::Eof),
        }
        // A fraction or an exponent: not an integer.
        if matches!(self.bytes().get(self.pos), Some(b'.' | b'e' | b'E')) {
            return Err(Error::Number);
        }
        Ok((negative, n))
    }

    pub(crate) fn unsigned(&mut self) -> Result<u64, Error> {
        match self.integer()? {
            (true, n) if n != 0 => Err(Error::Number),
            (_, n) => Ok(n),
        }
    }

    pub(crate) fn signed(&mut self) -> Result<i64, Error> {
        let (negative, n) = self.integer()?;
        if negative {
            0i64.checked_sub_unsigned(n).ok_or(Error::Number)
        } else {
            i64::try_from(n).map_err(|_| Error::Number)
        }
    }

    /// Skips a number at `pos`, checking its grammar.
    fn skip_number(&mut self) -> Result<(), Error> {
        let b = self.bytes();
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits_end(b, i + 1),
            Some(_) => return Err(Error::Syntax),
            None => return Err(Error::Eof),
        }
        if b.get(i) == Some(&b'.') {
            i = at_least_one_digit(b, i + 1)?;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            i = at_least_one_digit(b, i)?;
        }
        self.pos = i;
        Ok(())
    }

    /// Expects `"key":` after whitespace (the key's content is not needed).
    fn skip_key(&mut self) -> Result<(), Error> {
        match self.next()? {
            b'"' => self.string()?,
            _ => return Err(Error::Syntax),
        };
        self.colon()
    }

    #[inline]
    fn colon(&mut self) -> Result<(), Error> {
        match self.next()? {
            b':' => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(Error::Syntax),
        }
    }

    /// Skips one value of any kind, checking it as strictly as a read one,
    /// without recursion: open containers are one bit each (1 = object).
    pub(crate) fn skip_value(&mut self) -> Result<(), Error> {
        let mut open: u64 = 0;
        let mut levels = 0usize;
        loop {
            // A value.
            match self.next()? {
                c @ (b'{' | b'[') => {
                    self.open()?;
                    let object = c == b'{';
                    let end = if object { b'}' } else { b']' };
                    if self.next()? == end {
                        self.pos += 1;
                        self.depth -= 1;
                    } else {
                        open = (open << 1) | u64::from(object);
                        levels += 1;
                        if object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.skip_number()?,
                _ => return Err(Error::Syntax),
            }
            // After a value: more members, or the end of containers.
            loop {
                if levels == 0 {
                    return Ok(());
                }
                let object = open & 1 == 1;
                match (self.next()?, object) {
                    (b',', _) => {
                        self.pos += 1;
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.pos += 1;
                        self.depth -= 1;
                        open >>= 1;
                        levels -= 1;
                    }
                    _ => return Err(Error::Syntax),
                }
            }
        }
    }
}

impl<'de> Reader<'de> {
    /// Reads an object, handing each member's value to `field` by the index of its
    /// key in `keys` (compared decoded, as JSON means them: `"\u0069d"` is `id`; a
    /// name over 64 bytes decoded is no field's); members with other keys are skipped. A key met twice is refused before its
    /// value is read; a key of `required` (one bit per index) never met is
    /// [`Error::MissingField`].
    ///
    /// One copy for every model: a model supplies only its keys and `field`.
    pub(crate) fn object(
        &mut self,
        keys: &[&str],
        required: u64,
        field: &mut dyn FnMut(usize, &mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        debug_assert!(keys.len() <= 64);
        match self.next()? {
            b'{' => self.open()?,
            b => return Err(unexpected(b)),
        }
        let mut seen = 0u64;
        // Members usually come in the model's order: look from the last one on.
        let mut hint = 0;
        let mut first = true;
        loop {
            let mut b = self.next()?;
            if b == b'}' {
                break;
            }
            if !first {
                if b != b',' {
                    return Err(Error::Syntax);
                }
                self.pos += 1;
                b = self.next()?;
            }
            first = false;
            if b != b'"' {
                return Err(Error::Syntax);
            }
            let raw = self.string()?;
            self.colon()?;
            // An escaped key names its field as the plain one does (`"\u0069d"` is
            // `id`); one too long for the buffer names no field.
            let mut decoded = [0u8; 64];
            let key = match raw.contains('\\') {
                true => Text::from_raw(raw).decode_into(&mut decoded).unwrap_or(raw),
                false => raw,
            };
            match find_key(keys, hint, key) {
                Some(i) => {
                    if seen & (1 << i) != 0 {
                        return Err(Error::DuplicateField);
                    }
                    seen |= 1 << i;
                    hint = i + 1;
                    field(i, self)?;
                }
                None => self.skip_value()?,
            }
        }
        if seen & required != required {
            return Err(Error::MissingField);
        }
        self.close(b'}')
    }

    /// Reads an array, calling `element` once per element; `element` returns
    /// `false` when the list is full (the element is then read and refused).
    pub(crate) fn array(
        &mut self,
        element: &mut dyn FnMut(&mut Self) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        match self.next()? {
            b'[' => self.open()?,
            b => return Err(unexpected(b)),
        }
        let mut first = true;
        loop {
            let b = self.next()?;
            if b == b']' {
                break;
            }
            if !first {
                if b != b',' {
                    return Err(Error::Syntax);
                }
                self.pos += 1;
            }
            first = false;
            if !element(self)? {
                return Err(Error::TooLong);
            }
        }
        self.close(b']')
    }
}

/// The index after the digits starting at `i`.
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b'0'..=b'9')) {
        i += 1;
    }
    i
}

fn at_least_one_digit(b: &[u8], i: usize) -> Result<usize, Error> {
    match b.get(i) {
        Some(b'0'..=b'9') => Ok(digits_end(b, i + 1)),
        Some(_) => Err(Error::Syntax),
        None => Err(Error::Eof),
    }
}

/// Checks the escape whose backslash is just before `i`; the index after it.
#[inline]
fn escape_end(b: &[u8], i: usize) -> Result<usize, Error> {
    match b.get(i) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 1),
        Some(b'u') => match hex4(b, i + 1)? {
            0xD800..=0xDBFF => {
                // A high surrogate: a low one must follow.
                match (b.get(i + 5), b.get(i + 6)) {
                    (Some(b'\\'), Some(b'u')) => {}
                    (None, _) | (Some(b'\\'), None) => return Err(Error::Eof),
                    _ => return Err(Error::Escape),
                }
                match hex4(b, i + 7)? {
                    0xDC00..=0xDFFF => Ok(i + 11),
                    _ => Err(Error::Escape),
                }
            }
            0xDC00..=0xDFFF => Err(Error::Escape),
            _ => Ok(i + 5),
        },
        Some(_) => Err(Error::Escape),
        None => Err(Error::Eof),
    }
}

/// Four hex digits at `i`.
fn hex4(b: &[u8], i: usize) -> Result<u32, Error> {
    let digits = b.get(i..i + 4).ok_or(Error::Eof)?;
    digits.iter().try_fold(0u32, |n, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(Error::Escape),
        };
        Ok(n << 4 | u32::from(v))
    })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;
    use std::{format, vec};

    fn ok(body: &[u8]) -> bool {
        validate(body).is_ok()
    }

    #[test]
    fn grammar() {
        for good in [
            &b"{}"[..],
            b" [ ] ",
            b"0",
            b"-0",
            b"-12.5e+3",
            b"1E-7",
            b"\"\"",
            b"true",
            b"null",
            b"{\"a\":[1,{\"b\":null},\"c\",false,[]],\"d\":{}}",
            b"\r\n\t{ \"a\" : 1 }\n",
            br#""\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00""#,
            "\"é😀\"".as_bytes(),
        ] {
            assert_eq!(validate(good), Ok(()), "{}", String::from_utf8_lossy(good));
        }
        for (bad, reason) in [
            (&b""[..], "the JSON ends early"),
            (b"{", "the JSON ends early"),
            (b"{\"a\"", "the JSON ends early"),
            (b"\"abc", "the JSON ends early"),
            (b"01", "there is data after the JSON value"),
            (b"1.", "the JSON ends early"),
            (b"1.x", "the JSON is malformed"),
            (b".5", "the JSON is malformed"),
            (b"1e", "the JSON ends early"),
            (b"-", "the JSON ends early"),
            (b"tru", "the JSON ends early"),
            (b"trux", "the JSON is malformed"),
            (b"nul1", "the JSON is malformed"),
            (b"[1,]", "the JSON is malformed"),
            (b"[,1]", "the JSON is malformed"),
            (b"{\"a\":1,}", "the JSON is malformed"),
            (b"{\"a\" 1}", "the JSON is malformed"),
            (b"{1:1}", "the JSON is malformed"),
            (b"[1 2]", "the JSON is malformed"),
            (b"{} {}", "there is data after the JSON value"),
            (b"\"a\x7f\x00\"", "a string holds a raw control character"),
            (b"[\"\x1f\"]", "a string holds a raw control character"),
            (b"\"\\x\"", "a string is badly escaped"),
            (b"\"\\u12g4\"", "a string is badly escaped"),
            (b"\"\\ud83d\"", "a string is badly escaped"),
            (b"\"\\ud83dx\\ude00\"", "a string is badly escaped"),
            (b"\"\\ud83d\\u0041\"", "a string is badly escaped"),
            (b"\"\\ude00\"", "a string is badly escaped"),
            (b"\"\xff\"", "a string is not valid UTF-8"),
            (b"\xef\xbb\xbf{}", "the JSON is malformed"),
        ] {
            assert_eq!(
                validate(bad),
                Err(reason),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn depth_is_bounded_exactly() {
        let nest = |n: usize| {
            let mut v = Vec::new();
            v.resize(n, b'[');
            v.resize(2 * n, b']');
            v
        };
        assert_eq!(validate(&nest(64)), Ok(()));
        assert_eq!(
            validate(&nest(65)),
            Err("the JSON nests deeper than 64 levels")
        );
        assert_eq!(
            validate(&nest(100_000)),
            Err("the JSON nests deeper than 64 levels")
        );
        // The same bound when the deep value is read into a model.
        let mut body = b"{\"id\":\"x\",\"f\":".to_vec();
        body.extend_from_slice(&nest(63));
        body.push(b'}');
        assert!(super::super::Instance::parse(&body).is_ok());
        body.insert(14, b'[');
        body.insert(body.len() - 1, b']');
        assert_eq!(
            super::super::Instance::parse(&body)
                .map(|_| ())
                .map_err(|e| e.reason),
            Err("the JSON nests deeper than 64 levels")
        );
    }

    #[test]
    fn strings_are_raw_slices_of_the_body() {
        #[derive(Default)]
        struct Doc<'a> {
            a: crate::text::Text<'a>,
            b: crate::text::Text<'a>,
        }
        super::super::decode::json_fields!(Doc<'a> { #[required] a, #[required] b });
        // Every length across the 8-byte steps, escapes at every position.
        for n in 0..40 {
            for esc in [None, Some(0), Some(n / 2), Some(n)] {
                let mut s = "x".repeat(n);
                if let Some(at) = esc {
                    s.insert_str(at, "\\\"");
                }
                let body = format!("{{\"a\":\"{s}\",\"b\":\"{s}é\"}}");
                let doc: Doc<'_> = from_slice(body.as_bytes(), "t").unwrap();
                assert_eq!(doc.a.raw(), s);
                assert_eq!(doc.b.raw(), format!("{s}é"));
                let raw = format!("{{\"a\":\"{s}\x01\",\"b\":\"\"}}");
                assert_eq!(
                    from_slice::<Doc<'_>>(raw.as_bytes(), "t")
                        .map(|_| ())
                        .map_err(|e| e.reason),
                    Err("a string holds a raw control character")
                );
            }
        }
    }

    #[test]
    fn numbers_fit_their_fields() {
        #[derive(Default, Debug, PartialEq)]
        struct N {
            a: Option<u8>,
            b: Option<u32>,
            c: Option<i64>,
        }
        super::super::decode::json_fields!(N { a, b, c });
        let parse = |s: &str| from_slice::<N>(s.as_bytes(), "t").map_err(|e| e.reason);
        assert_eq!(
            parse(r#"{"a":255,"b":4294967295,"c":-9223372036854775808}"#),
            Ok(N {
                a: Some(255),
                b: Some(u32::MAX),
                c: Some(i64::MIN)
            })
        );
        for bad in [
            r#"{"a":256}"#,
            r#"{"b":4294967296}"#,
            r#"{"b":-1}"#,
            r#"{"b":1.5}"#,
            r#"{"b":1e3}"#,
            r#"{"b":99999999999999999999999}"#,
            r#"{"c":9223372036854775808}"#,
        ] {
            assert_eq!(
                parse(bad),
                Err("a number is invalid or out of range"),
                "{bad}"
            );
        }
        assert_eq!(parse(r#"{"b":"1"}"#), Err("a value has the wrong type"));
        assert_eq!(
            parse(r#"{"b":null,"a":null}"#),
            Ok(N {
                a: None,
                b: None,
                c: None
            })
        );
        assert_eq!(parse(r#"{"b":1,"b":2}"#), Err("a field appears twice"));
        assert_eq!(
            parse(r#"{"x":[1e999,-0.0,{"y":[true,false,null]}],"b":7}"#),
            Ok(N {
                a: None,
                b: Some(7),
                c: None
            })
        );
    }

    /// JSON-ish text: every token of the grammar, in any order.
    fn jsonish() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            Just("{"),
            Just("}"),
            Just("["),
            Just("]"),
            Just(","),
            Just(":"),
            Just("\""),
            Just("\"k\""),
            Just("\"a b\\n\\u00e9\""),
            Just("\\"),
            Just("\\u0041"),
            Just("\\ud83d\\ude00"),
            Just("\u{1}"),
            Just("\n"),
            Just(" "),
            Just("é"),
            Just("null"),
            Just("true"),
            Just("fals"),
            Just("-"),
            Just("0"),
            Just("12"),
            Just(".5"),
            Just("e+1"),
            Just("E"),
        ];
        prop::collection::vec(token, 0..40).prop_map(|parts| parts.concat().into_bytes())
    }

    /// Small valid documents, to check that those are accepted too.
    fn document() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".*".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(6, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(".*", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        });
        (value, any::<bool>()).prop_map(|(v, pretty)| {
            if pretty {
                serde_json::to_vec_pretty(&v).unwrap()
            } else {
                serde_json::to_vec(&v).unwrap()
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// Accepts exactly what serde_json accepts (nesting stays under both limits).
        #[test]
        fn agrees_with_serde_json(body in jsonish()) {
            let theirs = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
            prop_assert_eq!(ok(&body), theirs, "{}", String::from_utf8_lossy(&body));
        }

        #[test]
        fn accepts_every_valid_document(body in document()) {
            prop_assert_eq!(validate(&body), Ok(()), "{}", String::from_utf8_lossy(&body));
        }

        #[test]
        fn refuses_a_raw_control_character_anywhere_in_a_string(
            body in document(), at in any::<prop::sample::Index>(), c in 0u8..0x20,
        ) {
            // Put the character just after an opening or closing quote.
            let quotes: Vec<usize> = body.iter().enumerate()
                .filter(|(_, &b)| b == b'"').map(|(i, _)| i).collect();
            if quotes.is_empty() {
                return Ok(());
            }
            let q = quotes[at.index(quotes.len())];
            let mut body = body;
            // An escaped quote may sit here: the result is then still a string.
            if q > 0 && body[q - 1] == b'\\' {
                return Ok(());
            }
            body.insert(q + 1, c);
            let theirs = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
            prop_assert_eq!(ok(&body), theirs, "{}", String::from_utf8_lossy(&body));
        }
    }
}
