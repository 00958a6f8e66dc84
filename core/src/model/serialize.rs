//! How a model is written out through serde: one walk over the field tables for
//! every model, instead of a `Serialize` derive per model.
//!
//! [`json_fields!`](super::decode::json_fields) gives each model a [`Fields`]
//! table (its name, its JSON keys in order, each field as a [`FieldRef`]), and a
//! `Serialize` impl that hands the table to [`FieldRef`]'s: a serializer then
//! sees `serialize_struct(name, len)`, one `serialize_field` per key in order,
//! `None` as `serialize_none`, lists as sequences — what the derive produced.

use heapless::Vec;
use serde::ser::{Serialize, SerializeSeq, SerializeStruct, Serializer};

use crate::text::Text;

/// One value of a model, as a serializer sees it.
#[derive(Clone, Copy)]
pub(crate) enum FieldRef<'x> {
    /// An absent optional value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative number.
    Unsigned(u64),
    /// A signed number.
    Signed(i64),
    /// A string, escapes decoded when written.
    Text(&'x Text<'x>),
    /// A nested model.
    Object(&'x dyn Fields),
    /// A list.
    List(&'x dyn List),
}

/// A model's field table.
pub(crate) trait Fields {
    /// The Rust name of the model (the serde struct name).
    fn name(&self) -> &'static str;
    /// The JSON keys, in order.
    fn keys(&self) -> &'static [&'static str];
    /// The value under `keys()[i]`.
    fn field(&self, i: usize) -> FieldRef<'_>;
}

/// A list's elements.
pub(crate) trait List {
    /// How many.
    fn len(&self) -> usize;
    /// The element at `i`.
    fn item(&self, i: usize) -> FieldRef<'_>;
}

/// A value that can be seen as a [`FieldRef`].
pub(crate) trait ToField {
    /// This value as a serializer sees it.
    fn to_field(&self) -> FieldRef<'_>;
}

impl ToField for Text<'_> {
    fn to_field(&self) -> FieldRef<'_> {
        FieldRef::Text(self)
    }
}

impl ToField for bool {
    fn to_field(&self) -> FieldRef<'_> {
        FieldRef::Bool(*self)
    }
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl ToField for $t {
            fn to_field(&self) -> FieldRef<'_> {
                FieldRef::Unsigned(u64::from(*self))
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64);

impl ToField for i64 {
    fn to_field(&self) -> FieldRef<'_> {
        FieldRef::Signed(*self)
    }
}

impl<T: ToField> ToField for Option<T> {
    fn to_field(&self) -> FieldRef<'_> {
        match self {
            Some(v) => v.to_field(),
            None => FieldRef::Null,
        }
    }
}

impl<T: ToField, const N: usize> ToField for Vec<T, N> {
    fn to_field(&self) -> FieldRef<'_> {
        FieldRef::List(self)
    }
}

impl<T: ToField, const N: usize> ToField for super::decode::FirstOf<T, N> {
    fn to_field(&self) -> FieldRef<'_> {
        FieldRef::List(&self.0)
    }
}

impl<T: ToField, const N: usize> List for Vec<T, N> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn item(&self, i: usize) -> FieldRef<'_> {
        self.get(i).map_or(FieldRef::Null, ToField::to_field)
    }
}

impl Serialize for FieldRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            FieldRef::Null => s.serialize_none(),
            FieldRef::Bool(b) => s.serialize_bool(b),
            FieldRef::Unsigned(n) => s.serialize_u64(n),
            FieldRef::Signed(n) => s.serialize_i64(n),
            FieldRef::Text(t) => t.serialize(s),
            FieldRef::Object(o) => {
                let keys = o.keys();
                let mut out = s.serialize_struct(o.name(), keys.len())?;
                for (i, &key) in keys.iter().enumerate() {
                    out.serialize_field(key, &o.field(i))?;
                }
                out.end()
            }
            FieldRef::List(l) => {
                let mut out = s.serialize_seq(Some(l.len()))?;
                for i in 0..l.len() {
                    out.serialize_element(&l.item(i))?;
                }
                out.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use crate::model::{Key, KeyCollection};

    #[test]
    fn a_model_is_written_in_field_order_with_nulls_and_decoded_strings() {
        let body = br#"{"public_key":"ssh-ed25519 AAAA","type":"ed25519","extra":[1],
            "id":"k\u0031","length":256,"name":"a \"b\""}"#;
        let key = Key::parse(body).unwrap();
        assert_eq!(
            serde_json::to_string(&key).unwrap(),
            r#"{"id":"k1","crn":null,"name":"a \"b\"","created_at":null,"resource_type":null,"fingerprint":null,"length":256,"public_key":"ssh-ed25519 AAAA","type":"ed25519"}"#
        );
    }

    #[test]
    fn lists_and_nested_models_are_written_as_arrays_and_objects() {
        let body = br#"{"keys":[{"id":"a","public_key":"p"},{"id":"b","public_key":"q"}],
            "next":{"href":"https://h/keys?start=x"},"limit":2}"#;
        let page = KeyCollection::parse(body).unwrap();
        let v = serde_json::to_value(&page).unwrap();
        assert_eq!(v["keys"][1]["id"], "b");
        assert_eq!(v["keys"][0]["public_key"], "p");
        assert_eq!(v["keys"].as_array().map(|a| a.len()), Some(2));
        assert_eq!(v["next"]["href"], "https://h/keys?start=x");
        assert_eq!(v["first"], serde_json::Value::Null);
        assert_eq!(v["limit"], 2);
    }
}
