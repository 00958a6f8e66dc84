#![no_main]
//! The JSON rules every model parse enforces, checked against an independent scan:
//! a body the core accepts has no raw control character (U+0000..U+001F) inside
//! any string and nests at most `MAX_DEPTH` deep; putting a control character
//! into one of its strings makes it refused; a token it hands out for a header
//! is visible ASCII.

use libfuzzer_sys::fuzz_target;
use vpc_imds_core::model::{AccessToken, Instance, PageLinks, MAX_DEPTH};

/// (a raw control character inside a string, deepest nesting, first string's opening quote)
fn scan(body: &[u8]) -> (bool, usize, Option<usize>) {
    let (mut in_string, mut escaped, mut control) = (false, false, false);
    let (mut depth, mut deepest, mut first_quote) = (0usize, 0usize, None);
    for (i, &b) in body.iter().enumerate() {
        if in_string {
            control |= b < 0x20;
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                first_quote.get_or_insert(i);
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (control, deepest, first_quote)
}

fuzz_target!(|body: &[u8]| {
    // The generic `get` check reads the whole body, skipping every value.
    if PageLinks::parse(body).is_ok() {
        let (control, deepest, first_quote) = scan(body);
        assert!(!control, "accepted a raw control character inside a string");
        assert!(deepest <= MAX_DEPTH, "accepted nesting {deepest} deep");
        if let Some(q) = first_quote {
            let mut tainted = body.to_vec();
            tainted.insert(q + 1, (body.len() % 0x20) as u8);
            assert!(PageLinks::parse(&tainted).is_err(), "accepted a tainted string");
            assert!(Instance::parse(&tainted).is_err());
            assert!(AccessToken::parse(&tainted).is_err());
        }
    }
    if let Ok(token) = AccessToken::parse(body) {
        assert!(token.access_token.expose().is_none_or(|t| !t.expose().bytes().any(|b| b < 0x20)));
        if let Some(t) = token.header_safe_token() {
            assert!(!t.is_empty() && t.expose().bytes().all(|b| b.is_ascii_graphic()));
        }
    }
    if let Ok(instance) = Instance::parse(body) {
        // Every string a model hands out decodes (its escapes were checked).
        assert!(instance.id.validate().is_ok());
        assert!(instance.name.is_none_or(|n| n.validate().is_ok()));
    }
});
