//! Rust values to Python objects through their `serde::Serialize` form, in one
//! pass: a struct becomes an instance of the Python class registered under the
//! struct's name (its fields as the instance's `__dict__`), else a `dict`; maps
//! become `dict`, sequences `list`, bytes `bytes`, unit `None`. Tuples and enums
//! (which no record holds) are refused.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;
use serde::ser::{self, Impossible, Serialize};

use crate::registry::Registry;

/// A conversion failed: a Python error (as its text), or something Python values
/// cannot hold.
type ConvertError = serde::de::value::Error;

fn failed(e: PyErr) -> ConvertError {
    ser::Error::custom(e)
}

type Result<T> = std::result::Result<T, ConvertError>;

/// Converts `value` through its `Serialize` form.
pub(crate) fn to_python<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    registry: &Registry,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let value = value.serialize(ToPy { py, registry });
    value.map_err(|e| PyValueError::new_err(e.to_string()))
}

#[derive(Clone, Copy)]
struct ToPy<'py, 'r> {
    py: Python<'py>,
    registry: &'r Registry,
}

/// Builds a list.
struct Seq<'py, 'r> {
    to: ToPy<'py, 'r>,
    items: Vec<Bound<'py, PyAny>>,
}

/// Builds a dict from a map, or a model instance (or a dict) from a struct.
struct Map<'py, 'r> {
    to: ToPy<'py, 'r>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
    /// A struct's name (a map has none).
    name: Option<&'static str>,
}

macro_rules! scalars {
    ($($method:ident($t:ty);)*) => {$(
        fn $method(self, v: $t) -> Result<Self::Ok> {
            v.into_bound_py_any(self.py).map_err(failed)
        }
    )*};
}

/// What no record holds (tuples and enums) is refused.
type Refused<'py> = Impossible<Bound<'py, PyAny>, ConvertError>;

/// Serializer methods for what no record holds: refused.
macro_rules! refused {
    ($($method:ident $(<$t:ident>)? ($($arg:ty),*) -> $ok:ty;)*) => {$(
        fn $method$(<$t: Serialize + ?Sized>)?(self, $(_: $arg),*) -> Result<$ok> {
            Err(<ConvertError as ser::Error>::custom("a tuple or an enum"))
        }
    )*};
}

impl<'py, 'r> ser::Serializer for ToPy<'py, 'r> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    type SerializeSeq = Seq<'py, 'r>;
    type SerializeTuple = Refused<'py>;
    type SerializeTupleStruct = Refused<'py>;
    type SerializeTupleVariant = Refused<'py>;
    type SerializeMap = Map<'py, 'r>;
    type SerializeStruct = Map<'py, 'r>;
    type SerializeStructVariant = Refused<'py>;

    scalars! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
    }
    refused! {
        serialize_newtype_variant<T>(&'static str, u32, &'static str, &T) -> Self::Ok;
        serialize_tuple(usize) -> Refused<'py>;
        serialize_tuple_struct(&'static str, usize) -> Refused<'py>;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Refused<'py>;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Refused<'py>;
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok> {
        Ok(PyBytes::new(self.py, v).into_any())
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<Self::Ok> {
        self.serialize_str(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Self::Ok> {
        v.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq> {
        let items = Vec::with_capacity(len.unwrap_or(0));
        Ok(Seq { to: self, items })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(Map {
            to: self,
            dict: PyDict::new(self.py),
            key: None,
            name: None,
        })
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Ok(Map {
            to: self,
            dict: PyDict::new(self.py),
            key: None,
            name: Some(name),
        })
    }
}

impl<'py> ser::SerializeSeq for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(self.to)?);
        Ok(())
    }
    fn end(self) -> Result<Self::Ok> {
        let list = PyList::new(self.to.py, self.items).map_err(failed)?;
        Ok(list.into_any())
    }
}

impl<'py> ser::SerializeMap for Map<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(self.to)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <ConvertError as ser::Error>::custom("no key"))?;
        let value = value.serialize(self.to)?;
        self.dict.set_item(key, value).map_err(failed)
    }
    fn end(self) -> Result<Self::Ok> {
        Ok(self.dict.into_any())
    }
}

impl<'py> ser::SerializeStruct for Map<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        let key = self.to.registry.field_name(self.to.py, key);
        let value = value.serialize(self.to)?;
        self.dict.set_item(key, value).map_err(failed)
    }
    fn end(self) -> Result<Self::Ok> {
        let (py, r) = (self.to.py, self.to.registry);
        match self.name.and_then(|name| r.model(py, name)) {
            Some(class) => r.instantiate(py, class, self.dict).map_err(failed),
            None => Ok(self.dict.into_any()),
        }
    }
}
