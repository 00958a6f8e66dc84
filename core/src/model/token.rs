use core::fmt;

use serde::{Deserialize, Serialize};

use super::parse_rfc3339;
use crate::text::Text;
use crate::token::Secret;

/// A token string that never shows itself in `Debug`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretText<'a>(#[serde(borrow)] Text<'a>);

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken<'a> {
    /// The token (a JWT); redacted in `Debug`.
    #[serde(borrow)]
    pub access_token: SecretText<'a>,
    /// When it was created (RFC 3339).
    #[serde(borrow, default)]
    pub created_at: Option<Text<'a>>,
    /// When it expires (RFC 3339).
    #[serde(borrow, default)]
    pub expires_at: Option<Text<'a>>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<u32>,
    /// The nonce the request carried, echoed.
    #[serde(borrow, default)]
    pub nonce: Option<Text<'a>>,
}

super::parse_fn!(AccessToken, "token");

impl AccessToken<'_> {
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
