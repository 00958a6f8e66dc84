//! A model's JSON form written as text directly: the walk of
//! [`serialize`](super::serialize) over the field tables, with no serializer in
//! between. The text is byte for byte what `serde_json::to_string` writes for the
//! same model (compact; strings escaped as serde_json escapes them), about twice as
//! fast, for hosts that take documents as JSON text.

use core::fmt::{self, Write};

use super::serialize::FieldRef;
use crate::text::{Decimal, Text};

/// Writes `value` as compact JSON. Fails (`fmt::Error`) on a string with an
/// invalid escape, as serde_json's writing of it does, or when `out` does.
pub(crate) fn write_json(value: FieldRef<'_>, out: &mut impl Write) -> fmt::Result {
    match value {
        FieldRef::Null => out.write_str("null"),
        FieldRef::Bool(b) => out.write_str(if b { "true" } else { "false" }),
        FieldRef::Unsigned(n) => write_unsigned(n, false, out),
        FieldRef::Signed(n) => write_unsigned(n.unsigned_abs(), n < 0, out),
        FieldRef::Text(t) => write_text(t, out),
        FieldRef::Object(o) => {
            out.write_char('{')?;
            for (i, &key) in o.keys().iter().enumerate() {
                if i > 0 {
                    out.write_char(',')?;
                }
                // Keys are the models' own ASCII names: nothing to escape.
                out.write_char('"')?;
                out.write_str(key)?;
                out.write_str("\":")?;
                write_json(o.field(i), out)?;
            }
            out.write_char('}')
        }
        FieldRef::List(l) => {
            out.write_char('[')?;
            for i in 0..l.len() {
                if i > 0 {
                    out.write_char(',')?;
                }
                write_json(l.item(i), out)?;
            }
            out.write_char(']')
        }
    }
}

/// A number: its digits, after a minus sign when `negative`.
fn write_unsigned(n: u64, negative: bool, out: &mut impl Write) -> fmt::Result {
    if negative {
        out.write_char('-')?;
    }
    out.write_str(Decimal::new(n).as_str())
}

/// A string: its raw form when it has no escapes (the reader let through no quote,
/// backslash or control character, so it needs none), else decoded and escaped
/// again as serde_json escapes: `"`, `\` and control characters only.
fn write_text(t: &Text<'_>, out: &mut impl Write) -> fmt::Result {
    out.write_char('"')?;
    match t.as_plain() {
        Some(plain) => out.write_str(plain)?,
        None => {
            for c in t.chars() {
                match c.map_err(|_| fmt::Error)? {
                    '"' => out.write_str("\\\"")?,
                    '\\' => out.write_str("\\\\")?,
                    '\n' => out.write_str("\\n")?,
                    '\r' => out.write_str("\\r")?,
                    '\t' => out.write_str("\\t")?,
                    '\u{8}' => out.write_str("\\b")?,
                    '\u{c}' => out.write_str("\\f")?,
                    c if u32::from(c) < 0x20 => {
                        const HEX: &[u8; 16] = b"0123456789abcdef";
                        let b = u32::from(c) as usize;
                        out.write_str("\\u00")?;
                        out.write_char(char::from(HEX[b >> 4]))?;
                        out.write_char(char::from(HEX[b & 0xF]))?;
                    }
                    c => out.write_char(c)?,
                }
            }
        }
    }
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::String;

    use crate::model::{Key, KeyCollection};
    use crate::output::Output;

    fn written(o: &Output<'_>) -> String {
        let mut s = String::new();
        o.write_json(&mut s).unwrap();
        s
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let body = br#"{"public_key":"ssh-ed25519 AAAA","type":"ed25519","extra":[1],
            "id":"k\u0031\/\u00e9\ud83d\ude00","length":256,"name":"a \"b\"\\ \n\t\u0001\u001f\b\f\r\u007f"}"#;
        let key = Key::parse(body).unwrap();
        assert_eq!(
            written(&Output::Key(key)),
            serde_json::to_string(&key).unwrap()
        );
        let page = br#"{"keys":[{"id":"a","public_key":"p"},{"id":"b","public_key":"q"}],
            "next":{"href":"https://h/keys?start=x"},"limit":2}"#;
        let expected = serde_json::to_string(&KeyCollection::parse(page).unwrap()).unwrap();
        assert_eq!(
            written(&Output::Keys(KeyCollection::parse(page).unwrap())),
            expected
        );
    }

    /// Every fixture, as its model: the same text serde_json writes.
    #[test]
    fn every_fixture_is_written_as_serde_json_writes_it() {
        use crate::model::*;
        macro_rules! same {
            ($($file:literal => $t:ident as $variant:ident),* $(,)?) => {$({
                let body: &[u8] = include_bytes!(concat!("../../../tests/vectors/fixtures/", $file));
                let expected = serde_json::to_string(&$t::parse(body).unwrap()).unwrap();
                assert_eq!(written(&Output::$variant($t::parse(body).unwrap())), expected, $file);
            })*};
        }
        same!(
            "certificate.json" => IdentityCertificate as IdentityCertificate,
            "initialization.json" => Initialization as Initialization,
            "instance.json" => Instance as Instance,
            "key.json" => Key as Key,
            "keys.json" => KeyCollection as Keys,
            "network_interface.json" => NetworkInterface as NetworkInterface,
            "network_interfaces.json" => NetworkInterfaceCollection as NetworkInterfaces,
            "placement_group.json" => PlacementGroup as PlacementGroup,
            "volume_attachment.json" => VolumeAttachment as VolumeAttachment,
            "volume_attachments.json" => VolumeAttachmentCollection as VolumeAttachments,
        );
        let token = br#"{"access_token":"eyJ.x.y","created_at":"2025-09-01T12:00:00Z","expires_at":"2025-09-01T12:05:00Z","expires_in":300,"nonce":"n\u00e9"}"#;
        let expected = serde_json::to_string(&AccessToken::parse(token).unwrap()).unwrap();
        assert_eq!(
            written(&Output::IamToken(AccessToken::parse(token).unwrap())),
            expected
        );
    }

    #[test]
    fn numbers_at_their_limits() {
        let mut s = String::new();
        for (n, neg) in [
            (0, false),
            (7, false),
            (u64::MAX, false),
            (1 << 63, true),
            (42, true),
        ] {
            s.clear();
            super::write_unsigned(n, neg, &mut s).unwrap();
            let expected = if neg {
                std::format!("-{n}")
            } else {
                std::format!("{n}")
            };
            assert_eq!(s, expected);
        }
    }

    #[test]
    fn a_raw_body_is_written_as_it_came_and_a_bad_escape_fails() {
        assert_eq!(
            written(&Output::Raw(br#"{"a": [1, 2]}"#)),
            r#"{"a": [1, 2]}"#
        );
        let mut s = String::new();
        assert!(Output::Raw(b"\xff").write_json(&mut s).is_err());
        let key = Key {
            id: crate::text::Text::from_raw(r"\ud800"),
            ..Key::default()
        };
        // Made by hand: the reader lets no invalid escape through.
        assert!(Output::Key(key).write_json(&mut s).is_err());
    }
}
