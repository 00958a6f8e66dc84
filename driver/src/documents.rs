//! What hosts derive from documents the same way everywhere: user data bytes and
//! `authorized_keys` lines.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use vpc_imds_core::error::{Cause, Error, ErrorKind};
use vpc_imds_core::model::Initialization;
use vpc_imds_core::text::Text;

fn bad(what: &'static str) -> Error {
    Error::new(ErrorKind::BadResponse, Cause::Protocol(what))
}

/// The instance's user data as bytes (empty when it has none), by the core's rule:
/// binary (gzip) user data arrives as one character per byte and becomes those
/// bytes; anything else is text and becomes its UTF-8 bytes.
pub fn user_data(init: &Initialization<'_>) -> Result<Vec<u8>, Error> {
    let Some(text) = init.user_data else {
        return Ok(Vec::new());
    };
    // Decoded text is never longer than its escaped form.
    let mut buf = vec![0u8; text.raw().len()];
    let len = text
        .user_data_into(&mut buf)
        .ok_or_else(|| bad("user_data holds an invalid escape"))?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// One OpenSSH `authorized_keys` line for a key's `public_key`, trimmed.
///
/// A key holding a line break or another control character is refused as
/// `bad_response` rather than inject a line into `authorized_keys`.
pub fn authorized_key(public_key: Text<'_>) -> Result<String, Error> {
    let line: String = public_key
        .chars()
        .collect::<Result<_, _>>()
        .map_err(|_| bad("a public key holds an invalid escape"))?;
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.chars().any(char::is_control) {
        return Err(bad("a public key is empty or holds a control character"));
    }
    Ok(String::from(trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_user_data() {
        assert_eq!(
            authorized_key(Text::from_raw(" ssh-ed25519 AAAA a@b\\n")).unwrap(),
            "ssh-ed25519 AAAA a@b"
        );
        assert!(authorized_key(Text::from_raw("ssh-rsa A\\nssh-rsa B")).is_err());
        assert!(authorized_key(Text::from_raw("  ")).is_err());
        let init = Initialization::parse(br#"{"user_data":"\u001f\u008b\u0008"}"#).unwrap();
        assert_eq!(user_data(&init).unwrap(), [0x1f, 0x8b, 8]);
        let init = Initialization::parse(br#"{}"#).unwrap();
        assert!(user_data(&init).unwrap().is_empty());
    }
}
