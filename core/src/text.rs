//! Strings borrowed from a JSON body, escapes and all.
//!
//! The core does not allocate, so a string that contains JSON escapes cannot be
//! handed out as a `&str` of its decoded form. [`Text`] keeps the raw, still
//! escaped characters and decodes them on demand: into a caller's buffer, through
//! `Display`, or char by char.

use core::fmt;

use serde::{Serialize, Serializer};

pub use crate::model::json::string_stop;

/// A JSON string value as it appears in the body (without quotes, escapes kept).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Text<'a> {
    raw: &'a str,
}

/// A JSON string held an invalid escape sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidEscape;

impl fmt::Display for InvalidEscape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid escape sequence in a JSON string")
    }
}

impl<'a> Text<'a> {
    /// Wraps raw JSON string content (the characters between the quotes).
    pub const fn from_raw(raw: &'a str) -> Self {
        Text { raw }
    }

    /// The raw JSON string content, escapes not decoded.
    pub const fn raw(&self) -> &'a str {
        self.raw
    }

    /// The decoded string, if it contains no escapes (the common case for IDs).
    pub fn as_plain(&self) -> Option<&'a str> {
        if self.raw.contains('\\') {
            None
        } else {
            Some(self.raw)
        }
    }

    /// True if the decoded string is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Decoded characters; an invalid escape yields one `Err` and ends the iteration.
    pub fn chars(&self) -> Chars<'a> {
        Chars {
            rest: self.raw,
            failed: false,
        }
    }

    /// Length in bytes of the decoded UTF-8 string.
    pub fn decoded_len(&self) -> Result<usize, InvalidEscape> {
        self.chars().try_fold(0, |n, c| c.map(|c| n + c.len_utf8()))
    }

    /// Decodes into `buf` and returns the decoded string.
    ///
    /// Returns `None` if `buf` is too small or an escape is invalid.
    pub fn decode_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str> {
        if let Some(plain) = self.as_plain() {
            let dst = buf.get_mut(..plain.len())?;
            dst.copy_from_slice(plain.as_bytes());
            return core::str::from_utf8(dst).ok();
        }
        let mut len = 0;
        for c in self.chars() {
            let c = c.ok()?;
            let n = c.len_utf8();
            let dst = buf.get_mut(len..len + n)?;
            c.encode_utf8(dst);
            len += n;
        }
        core::str::from_utf8(buf.get(..len)?).ok()
    }

    /// The bytes user data stands for, decoded into `buf`.
    ///
    /// JSON carries only text, so binary user data (gzip) arrives with each byte as
    /// one character U+0000..U+00FF. A string made only of such characters that
    /// starts with the gzip magic (`1f 8b`) becomes those bytes; anything else is
    /// text and becomes its UTF-8 bytes. `None` if `buf` is too small or an escape
    /// is invalid.
    ///
    /// ```
    /// use vpc_imds_core::text::Text;
    /// let mut buf = [0u8; 16];
    /// assert_eq!(Text::from_raw(r"\u001f\u008b\u0008").user_data_into(&mut buf), Some(&[0x1f, 0x8b, 8][..]));
    /// assert_eq!(Text::from_raw("é").user_data_into(&mut buf), Some("é".as_bytes()));
    /// ```
    pub fn user_data_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let mut chars = self.chars();
        let gzip = matches!(
            (chars.next(), chars.next()),
            (Some(Ok('\u{1f}')), Some(Ok('\u{8b}')))
        ) && self.chars().all(|c| c.is_ok_and(|c| u32::from(c) <= 0xFF));
        if !gzip {
            return self.decode_into(buf).map(str::as_bytes);
        }
        let mut len = 0;
        for c in self.chars() {
            *buf.get_mut(len)? = u8::try_from(u32::from(c.ok()?)).ok()?;
            len += 1;
        }
        buf.get(..len)
    }

    /// Compares the decoded string with `other`.
    pub fn eq_str(&self, other: &str) -> bool {
        if let Some(plain) = self.as_plain() {
            return plain == other;
        }
        let mut expected = other.chars();
        for c in self.chars() {
            match (c, expected.next()) {
                (Ok(a), Some(b)) if a == b => {}
                _ => return false,
            }
        }
        expected.next().is_none()
    }

    /// Checks every escape; `Ok` means [`Display`](fmt::Display) shows the whole string.
    pub fn validate(&self) -> Result<(), InvalidEscape> {
        self.chars().try_for_each(|c| c.map(|_| ()))
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.eq_str(other)
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        if let Some(plain) = self.as_plain() {
            return f.write_str(plain);
        }
        for c in self.chars() {
            f.write_char(c.map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.raw)
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.as_plain() {
            Some(plain) => serializer.serialize_str(plain),
            None => serializer.collect_str(self),
        }
    }
}

/// The decimal digits of a number, written without `core::fmt` (no allocation,
/// no formatting machinery on the paths a request or a document takes).
///
/// ```
/// use vpc_imds_core::text::Decimal;
/// assert_eq!(Decimal::new(0).as_str(), "0");
/// assert_eq!(Decimal::new(u64::MAX).as_str(), "18446744073709551615");
/// ```
#[derive(Clone, Copy)]
pub struct Decimal {
    buf: [u8; 20],
    start: usize,
}

impl Decimal {
    /// The digits of `n`.
    pub fn new(mut n: u64) -> Self {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { buf, start: i }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits were written.
        core::str::from_utf8(&self.buf[self.start..]).unwrap_or("0")
    }
}

/// Iterator over the decoded characters of a [`Text`].
#[derive(Clone, Debug)]
pub struct Chars<'a> {
    rest: &'a str,
    failed: bool,
}

impl Iterator for Chars<'_> {
    type Item = Result<char, InvalidEscape>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let mut it = self.rest.chars();
        let c = it.next()?;
        if c != '\\' {
            self.rest = it.as_str();
            return Some(Ok(c));
        }
        match decode_escape(it.as_str()) {
            Some((c, rest)) => {
                self.rest = rest;
                Some(Ok(c))
            }
            None => {
                self.failed = true;
                Some(Err(InvalidEscape))
            }
        }
    }
}

/// Decodes the escape after a backslash; handles UTF-16 surrogate pairs.
fn decode_escape(s: &str) -> Option<(char, &str)> {
    let kind = *s.as_bytes().first()?;
    let rest = s.get(1..)?;
    let simple = match kind {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let (hi, rest) = hex4(rest)?;
            if (0xD800..0xDC00).contains(&hi) {
                let rest = rest.strip_prefix("\\u")?;
                let (lo, rest) = hex4(rest)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Some((char::from_u32(code)?, rest));
            }
            return Some((char::from_u32(hi)?, rest));
        }
        _ => return None,
    };
    Some((simple, rest))
}

fn hex4(s: &str) -> Option<(u32, &str)> {
    let digits = s.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((u32::from_str_radix(digits, 16).ok()?, s.get(4..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_surrogates() {
        let t = Text::from_raw(r#"a\"b\\c\n\u00fc\ud83d\ude00"#);
        let mut buf = [0u8; 32];
        assert_eq!(t.decode_into(&mut buf), Some("a\"b\\c\nü😀"));
        assert!(t.eq_str("a\"b\\c\nü😀"));
        assert!(!t.eq_str("a\"b\\c\nü"));
        assert_eq!(t.decoded_len(), Ok("a\"b\\c\nü😀".len()));
    }

    #[test]
    fn rejects_bad_escapes() {
        for raw in [r"\x", r"\u12", r"\ud83d", r"\ud83d\u0041", "\\"] {
            assert_eq!(Text::from_raw(raw).validate(), Err(InvalidEscape), "{raw}");
        }
    }

    #[test]
    fn user_data_bytes() {
        let mut buf = [0u8; 16];
        // Latin-1 text without the gzip magic stays UTF-8 text.
        assert_eq!(
            Text::from_raw(r"\u00ff").user_data_into(&mut buf),
            Some("ÿ".as_bytes())
        );
        // The magic followed by a character above U+00FF is text, not binary.
        assert_eq!(
            Text::from_raw(r"\u001f\u008b\u0100").user_data_into(&mut buf),
            Some("\u{1f}\u{8b}\u{100}".as_bytes())
        );
        assert_eq!(
            Text::from_raw(r"\u001f\u008b").user_data_into(&mut [0u8; 1]),
            None
        );
    }

    #[test]
    fn decode_into_reports_short_buffer() {
        assert_eq!(Text::from_raw("abcdef").decode_into(&mut [0u8; 3]), None);
        assert_eq!(Text::from_raw(r"\n\n\n").decode_into(&mut [0u8; 2]), None);
    }
}
