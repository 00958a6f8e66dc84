//! Values a host passes by name (operation arguments and settings), and the one set
//! of rules that turns them into typed ones: every host hands over its language's
//! values as they are, so no host converts or checks a number its own way.

use alloc::string::String;
use core::time::Duration;

use vpc_imds_core::error::InputError;

use crate::settings::{delay_seconds, seconds};

/// One value from a host language.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// `None`, `null`, `undefined`: the default.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number (JavaScript's only number).
    Float(f64),
    /// Text, already checked to be valid Unicode by the host.
    Text(&'a str),
    /// Text with no Unicode form (a lone UTF-16 surrogate): refused naming the
    /// value, as a character that is not allowed.
    NotUnicode,
    /// A value of a type no argument or setting takes (a list, an object, a
    /// function): refused naming the value and what it should be.
    Other,
}

fn wrong(what: &'static str, expected: &'static str) -> InputError {
    InputError::Malformed { what, expected }
}

/// Text, or `None` for [`Value::Null`].
pub fn text(what: &'static str, v: Value<'_>) -> Result<Option<String>, InputError> {
    match v {
        Value::Null => Ok(None),
        Value::Text(s) => Ok(Some(String::from(s))),
        Value::NotUnicode => Err(InputError::ForbiddenCharacter { what }),
        _ => Err(wrong(what, "a string")),
    }
}

/// A whole number in `min..=max` (an integral float counts: JavaScript has no other).
pub fn integer(
    what: &'static str,
    v: Value<'_>,
    min: u64,
    max: u64,
) -> Result<Option<u64>, InputError> {
    let n = match v {
        Value::Null => return Ok(None),
        Value::Int(n) => n,
        Value::Float(f) if f.is_finite() && f == (f as i64) as f64 => f as i64,
        _ => return Err(wrong(what, "a whole number")),
    };
    match u64::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(InputError::OutOfRange { what, min, max }),
    }
}

/// Seconds as a whole or fractional number ([`seconds`]'s rules).
pub fn duration(what: &'static str, v: Value<'_>) -> Result<Option<Duration>, InputError> {
    match v {
        Value::Null => Ok(None),
        Value::Int(n) => seconds(what, n as f64).map(Some),
        Value::Float(f) => seconds(what, f).map(Some),
        _ => Err(wrong(what, "a number of seconds")),
    }
}

/// A delay in seconds ([`delay_seconds`]'s rules: zero is allowed).
pub fn delay(what: &'static str, v: Value<'_>) -> Result<Option<Duration>, InputError> {
    match v {
        Value::Null => Ok(None),
        Value::Int(n) => delay_seconds(what, n as f64).map(Some),
        Value::Float(f) => delay_seconds(what, f).map(Some),
        _ => Err(wrong(what, "a number of seconds")),
    }
}

/// A boolean; `None` for [`Value::Null`].
pub fn boolean(what: &'static str, v: Value<'_>) -> Result<Option<bool>, InputError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        _ => Err(wrong(what, "true or false")),
    }
}

/// The error for a name that is neither an argument nor a setting.
pub fn unknown(kind: &'static str) -> InputError {
    wrong(kind, "one of the names in api/vpc-imds.json")
}
