use core::fmt;

use serde::Serialize;

use super::parse_rfc3339;
use crate::text::Text;
use crate::token::Secret;

/// A token string that never shows itself in `Debug`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SecretText<'a>(Text<'a>);

impl<'a> super::decode::Decode<'a> for SecretText<'a> {
    fn decode(&mut self, r: &mut super::json::Reader<'a>) -> Result<(), super::json::Error> {
        self.0.decode(r)
    }
}

impl super::serialize::ToField for SecretText<'_> {
    fn to_field(&self) -> super::serialize::FieldRef<'_> {
        super::serialize::FieldRef::Text(&self.0)
    }
}

impl<'a> SecretText<'a> {
    /// The token, if it has no JSON escapes (tokens are base64url, so they never do).
    pub fn expose(&self) -> Option<Secret<'a>> {
        self.0.as_plain().map(Secret::new)
    }
}

impl fmt::Debug for SecretText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted, {} bytes>", self.0.raw().len())
    }
}

/// An identity token or IAM token response:
/// `{access_token, created_at, expires_at, expires_in, nonce?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessToken<'a> {
    /// The token (a JWT); redacted in `Debug`.
    pub access_token: SecretText<'a>,
    /// When it was created (RFC 3339).
    pub created_at: Option<Text<'a>>,
    /// When it expires (RFC 3339).
    pub expires_at: Option<Text<'a>>,
    /// Lifetime in seconds.
    pub expires_in: Option<u32>,
    /// The nonce the request carried, echoed.
    pub nonce: Option<Text<'a>>,
}

super::decode::json_fields!(AccessToken<'a> {
    #[required] access_token, created_at, expires_at, expires_in, nonce,
});

super::parse_fn!(AccessToken, "token");

impl<'a> AccessToken<'a> {
    /// The token, only if it can go into an HTTP header as it is: not empty, no
    /// JSON escapes, and nothing but visible ASCII (`!`..=`~`; JWTs are base64url
    /// and dots). `None` for anything else — a space, DEL, a non-ASCII character
    /// or an escaped control character — so that no token from the service can
    /// add to or split the headers it is sent in (`Authorization: Bearer ...`),
    /// or reach a terminal or a shell unquoted.
    ///
    /// The rule is the same for identity tokens and IAM tokens.
    ///
    /// ```
    /// use vpc_imds_core::model::AccessToken;
    /// let ok = AccessToken::parse(br#"{"access_token":"eyJ.a-b_c.d"}"#).unwrap();
    /// assert_eq!(ok.header_safe_token().map(|t| t.expose()), Some("eyJ.a-b_c.d"));
    /// let spaced = AccessToken::parse(br#"{"access_token":"eyJ a"}"#).unwrap();
    /// assert!(spaced.header_safe_token().is_none());
    /// let escaped = AccessToken::parse(br#"{"access_token":"eyJ\r\nX: 1"}"#).unwrap();
    /// assert!(escaped.header_safe_token().is_none());
    /// ```
    pub fn header_safe_token(&self) -> Option<Secret<'a>> {
        self.access_token
            .expose()
            .filter(|t| !t.is_empty() && t.expose().bytes().all(|b| b.is_ascii_graphic()))
    }

    /// Lifetime in seconds: `expires_in`, else `expires_at - created_at`.
    pub fn lifetime_secs(&self) -> Option<u32> {
        if let Some(s) = self.expires_in {
            return Some(s);
        }
        let created = parse_rfc3339(self.created_at?.as_plain()?)?;
        let expires = parse_rfc3339(self.expires_at?.as_plain()?)?;
        u32::try_from(expires.checked_sub(created)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::AccessToken;

    fn safe(body: &[u8]) -> Option<&str> {
        AccessToken::parse(body)
            .ok()?
            .header_safe_token()
            .map(|t| t.expose())
    }

    #[test]
    fn only_visible_ascii_tokens_are_header_safe() {
        assert_eq!(
            safe(br#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln-_~!"}"#),
            Some("eyJhbGciOiJSUzI1NiJ9.e30.c2ln-_~!")
        );
        for body in [
            &br#"{"access_token":""}"#[..],
            br#"{"access_token":"eyJ a"}"#,
            b"{\"access_token\":\"eyJ\x7f\"}",
            "{\"access_token\":\"eyJé\"}".as_bytes(),
            "{\"access_token\":\"eyJ\u{85}\"}".as_bytes(),
            br#"{"access_token":"eyJ\r\nX-Evil: 1"}"#,
            br#"{"access_token":"eyJ\u0000"}"#,
            br#"{"access_token":"eyJ\u0041"}"#,
        ] {
            assert_eq!(safe(body), None, "{:?}", core::str::from_utf8(body));
        }
        // A raw control character never gets this far: the JSON is refused.
        let err = AccessToken::parse(b"{\"access_token\":\"eyJ\r\nX-Evil: 1\"}").unwrap_err();
        assert_eq!(err.reason, "a string holds a raw control character");
    }
}
