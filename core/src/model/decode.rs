//! How a model is read from JSON: in place, through one shared object loop.
//!
//! Each model lists its fields once ([`json_fields!`]); the member loop, key
//! lookup, duplicate and missing-field checks are [`Reader::object`], one copy for
//! all models, rather than a monomorphized visitor per model. Values are decoded
//! into the model's own fields (no temporary copy of a list or a nested object).

use heapless::Vec;

use super::json::{Error, Reader};
use crate::text::Text;

/// A value that can be read from JSON into itself.
pub(crate) trait Decode<'a> {
    /// Reads one JSON value into `self`.
    fn decode(&mut self, r: &mut Reader<'a>) -> Result<(), Error>;
}

impl<'a> Decode<'a> for Text<'a> {
    fn decode(&mut self, r: &mut Reader<'a>) -> Result<(), Error> {
        *self = Text::from_raw(r.string_value()?);
        Ok(())
    }
}

impl<'a> Decode<'a> for bool {
    fn decode(&mut self, r: &mut Reader<'a>) -> Result<(), Error> {
        *self = match r.next()? {
            b't' => r.literal(b"true").map(|()| true)?,
            b'f' => r.literal(b"false").map(|()| false)?,
            b => return Err(super::json::unexpected(b)),
        };
        Ok(())
    }
}

macro_rules! integers {
    ($read:ident: $($t:ty),*) => {$(
        impl<'a> Decode<'a> for $t {
            fn decode(&mut self, r: &mut Reader<'a>) -> Result<(), Error> {
                *self = <$t>::try_from(r.$read()?).map_err(|_| Error::Number)?;
                Ok(())
            }
        }
    )*};
}
integers!(unsigned: u8, u16, u32, u64);
integers!(signed: i64);

/// `null` is `None`.
impl<'a, T: Decode<'a> + Default> Decode<'a> for Option<T> {
    fn decode(&mut self, r: &mut Reader<'a>) -> Result<(), Error> {
        if r.next()? == b'n' {
            r.literal(b"null")?;
            *self = None;
            Ok(())
        } else {
            self.insert(T::default()).decode(r)
        }
    }
}

/// A JSON array of at most `N` elements; a longer one is [`Error::TooLong`].
impl<'a, T: Decode<'a> + Default, const N: usize> Decode<'a> for Vec<T, N> {
    fn decode(&mut self, r: &mut Reader<'a>) -> Result<(), Error> {
        self.clear();
        r.array(&mut |r| {
            if self.push(T::default()).is_err() {
                // Read it all the same, so a malformed element is reported as such.
                T::default().decode(r)?;
                return Ok(false);
            }
            match self.last_mut() {
                Some(last) => last.decode(r).map(|()| true),
                None => Err(Error::TooLong),
            }
        })
    }
}

/// The first `N` elements of a JSON array: the others are only checked to be JSON
/// and dropped, where the first few are all a reader needs (an error document's
/// `errors`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirstOf<T, const N: usize>(pub Vec<T, N>);

impl<T, const N: usize> core::ops::Deref for FirstOf<T, N> {
    type Target = Vec<T, N>;
    fn deref(&self) -> &Vec<T, N> {
        &self.0
    }
}

impl<'a, T: Decode<'a> + Default, const N: usize> Decode<'a> for FirstOf<T, N> {
    fn decode(&mut self, r: &mut Reader<'a>) -> Result<(), Error> {
        self.0.clear();
        r.array(&mut |r| {
            match self.0.push(T::default()) {
                Ok(()) => match self.0.last_mut() {
                    Some(last) => last.decode(r)?,
                    None => return Err(Error::TooLong),
                },
                Err(_) => r.skip_value()?,
            }
            Ok(true)
        })
    }
}

/// Implements [`Decode`], the field table of [`serialize`](super::serialize) and
/// `serde::Serialize` for a model struct from its field list, in the struct's
/// order. `#[required]` marks a field that must be present (all others keep their
/// default when absent); `field as "key"` names a field whose JSON key differs
/// from its Rust name (`r#type as "type"`). A model has at most 64 fields.
macro_rules! json_fields {
    ($t:ident<$lt:lifetime> { $($body:tt)* }) => {
        $crate::model::decode::json_fields!(@impl $lt, $t<$lt>, stringify!($t), { $($body)* });
    };
    ($t:ident { $($body:tt)* }) => {
        $crate::model::decode::json_fields!(@impl 'a, $t, stringify!($t), { $($body)* });
    };
    (@impl $lt:lifetime, $ty:ty, $name:expr,
     { $( $(#[$req:ident])? $f:ident $(as $key:literal)? ),* $(,)? }) => {
        impl<$lt> $ty {
            const JSON_KEYS: &'static [&'static str] =
                &[$($crate::model::decode::json_key!($f $(as $key)?)),*];
        }

        impl<$lt> $crate::model::decode::Decode<$lt> for $ty {
            #[allow(unused_assignments)]
            fn decode(
                &mut self,
                r: &mut $crate::model::json::Reader<$lt>,
            ) -> Result<(), $crate::model::json::Error> {
                // One bit per field in the object loop's sets.
                const { assert!(Self::JSON_KEYS.len() <= 64) };
                const REQUIRED: u64 = $crate::model::decode::mask(&[
                    $($crate::model::decode::json_required!($($req)?)),*
                ]);
                r.object(Self::JSON_KEYS, REQUIRED, &mut |i, r| {
                    let mut n = 0usize;
                    $(
                        if i == n {
                            return $crate::model::decode::Decode::decode(&mut self.$f, r);
                        }
                        n += 1;
                    )*
                    Ok(())
                })?;
                Ok(())
            }
        }

        impl<$lt> $crate::model::serialize::Fields for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn keys(&self) -> &'static [&'static str] {
                Self::JSON_KEYS
            }
            #[allow(unused_assignments)]
            fn field(&self, i: usize) -> $crate::model::serialize::FieldRef<'_> {
                let mut n = 0usize;
                $(
                    if i == n {
                        return $crate::model::serialize::ToField::to_field(&self.$f);
                    }
                    n += 1;
                )*
                $crate::model::serialize::FieldRef::Null
            }
        }

        impl<$lt> $crate::model::serialize::ToField for $ty {
            fn to_field(&self) -> $crate::model::serialize::FieldRef<'_> {
                $crate::model::serialize::FieldRef::Object(self)
            }
        }

        /// IBM's JSON form: every field under its JSON key, in order; absent
        /// optional values as `null`.
        impl<$lt> ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(
                    &$crate::model::serialize::FieldRef::Object(self),
                    s,
                )
            }
        }
    };
}
pub(crate) use json_fields;

/// The JSON key of a field: its name, or the literal given with `as`.
macro_rules! json_key {
    ($f:ident as $key:literal) => {
        $key
    };
    ($f:ident) => {
        stringify!($f)
    };
}
pub(crate) use json_key;

/// Whether a field is `#[required]`.
macro_rules! json_required {
    (required) => {
        true
    };
    () => {
        false
    };
}
pub(crate) use json_required;

/// One bit per `true`, by index: the required fields as [`Reader::object`] takes them.
pub(crate) const fn mask(flags: &[bool]) -> u64 {
    let mut m = 0u64;
    let mut i = 0;
    while i < flags.len() {
        if flags[i] {
            m |= 1 << i;
        }
        i += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    extern crate std;

    use crate::model::{IdentityCertificate, Key};

    fn key(body: &str) -> Result<Key<'_>, &'static str> {
        Key::parse(body.as_bytes()).map_err(|e| e.reason)
    }

    #[test]
    fn required_duplicate_and_null_fields() {
        assert_eq!(key(r#"{"id":"a"}"#), Err("a required field is missing"));
        assert_eq!(
            key(r#"{"id":"a","public_key":"p","id":"b"}"#),
            Err("a field appears twice")
        );
        // Unknown fields may repeat: they are skipped.
        assert!(key(r#"{"id":"a","public_key":"p","x":1,"x":2}"#).is_ok());
        assert_eq!(
            key(r#"{"id":null,"public_key":"p"}"#),
            Err("a value has the wrong type")
        );
        let k = key(r#"{"id":"a","public_key":"p","name":null,"length":null}"#).unwrap();
        assert_eq!((k.name, k.length), (None, None));
        // Keys are compared decoded, as JSON means them: an escaped key is its field.
        assert_eq!(
            key(r#"{"i\u0064":"a","public_key":"p"}"#)
                .unwrap()
                .id
                .as_plain(),
            Some("a")
        );
        assert_eq!(
            key(r#"{"id":"a","public_key":"p","i\u0064":"b"}"#),
            Err("a field appears twice")
        );
        assert_eq!(key(r#"["id"]"#), Err("a value has the wrong type"));
        assert_eq!(
            key(r#"{"id":"a","public_key":"p",}"#),
            Err("the JSON is malformed")
        );
    }

    #[test]
    fn a_list_over_its_capacity_is_refused_after_its_element_is_read() {
        let cert = |list: &str| {
            let body = std::format!(r#"{{"certificates":{list}}}"#);
            IdentityCertificate::parse(body.as_bytes())
                .map(|c| c.certificates.len())
                .map_err(|e| e.reason)
        };
        assert_eq!(cert(r#"["a","b","c","d"]"#), Ok(4));
        assert_eq!(
            cert(r#"["a","b","c","d","e"]"#),
            Err("a list exceeds its capacity")
        );
        // The fifth element is malformed: that is what is reported.
        assert_eq!(
            cert(r#"["a","b","c","d",5]"#),
            Err("a value has the wrong type")
        );
        assert_eq!(cert(r#"["a",]"#), Err("the JSON is malformed"));
        assert_eq!(cert("[]"), Ok(0));
    }
}
