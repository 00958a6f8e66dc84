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
