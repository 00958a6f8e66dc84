//! Rust values to Python objects, in one pass and without a JSON detour.
//!
//! [`to_python`] drives a value's `serde::Serialize` (the core models' JSON form:
//! IBM's field names, decoded strings) into Python objects: a struct becomes an
//! instance of the Python class registered under the struct's name (its fields set
//! as the instance's `__dict__`), or a `dict` when no class is registered; lists
//! become `list`, `None` stays `None`; maps (a generic GET's JSON) become `dict`.

use std::fmt;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;
use serde::ser::{self, Serialize};

use crate::registry::Registry;

/// A conversion failed: a Python error, or something JSON cannot hold.
#[derive(Debug)]
pub(crate) struct ConvertError(pub(crate) PyErr);

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ConvertError {}

impl ser::Error for ConvertError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ConvertError(PyValueError::new_err(msg.to_string()))
    }
}

impl From<PyErr> for ConvertError {
    fn from(e: PyErr) -> Self {
        ConvertError(e)
    }
}

impl From<ConvertError> for PyErr {
    fn from(e: ConvertError) -> Self {
        e.0
    }
}

type Result<T> = std::result::Result<T, ConvertError>;

/// Converts `value` through its `Serialize` form.
pub(crate) fn to_python<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    registry: &Registry,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(value.serialize(ToPy { py, registry })?)
}

#[derive(Clone, Copy)]
struct ToPy<'py, 'r> {
    py: Python<'py>,
    registry: &'r Registry,
}

impl<'py, 'r> ToPy<'py, 'r> {
    fn obj<T: IntoPyObjectExt<'py>>(self, v: T) -> Result<Bound<'py, PyAny>> {
        v.into_bound_py_any(self.py).map_err(ConvertError)
    }
}

/// Builds a list.
struct Seq<'py, 'r> {
    to: ToPy<'py, 'r>,
    items: Vec<Bound<'py, PyAny>>,
    tuple: bool,
}

/// Builds a dict from a map.
struct Map<'py, 'r> {
    to: ToPy<'py, 'r>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
}

/// Builds a model instance (or a dict) from a struct.
struct Struct<'py, 'r> {
    to: ToPy<'py, 'r>,
    name: &'static str,
    dict: Bound<'py, PyDict>,
    variant: Option<&'static str>,
}

impl<'py, 'r> ser::Serializer for ToPy<'py, 'r> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    type SerializeSeq = Seq<'py, 'r>;
    type SerializeTuple = Seq<'py, 'r>;
    type SerializeTupleStruct = Seq<'py, 'r>;
    type SerializeTupleVariant = Seq<'py, 'r>;
    type SerializeMap = Map<'py, 'r>;
    type SerializeStruct = Struct<'py, 'r>;
    type SerializeStructVariant = Struct<'py, 'r>;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        self.obj(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        self.obj(v)
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        let mut buf = [0u8; 4];
        self.obj(&*v.encode_utf8(&mut buf))
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
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        let dict = PyDict::new(self.py);
        dict.set_item(variant, value.serialize(self)?)?;
        Ok(dict.into_any())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq> {
        Ok(Seq {
            to: self,
            items: Vec::with_capacity(len.unwrap_or(0)),
            tuple: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple> {
        Ok(Seq {
            to: self,
            items: Vec::with_capacity(len),
            tuple: true,
        })
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        self.serialize_tuple(len)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(Map {
            to: self,
            dict: PyDict::new(self.py),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Ok(Struct {
            to: self,
            name,
            dict: PyDict::new(self.py),
            variant: None,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Ok(Struct {
            to: self,
            name,
            dict: PyDict::new(self.py),
            variant: Some(variant),
        })
    }
}

impl<'py> Seq<'py, '_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(self.to)?);
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        if self.tuple {
            Ok(PyTuple::new(self.to.py, self.items)?.into_any())
        } else {
            Ok(PyList::new(self.to.py, self.items)?.into_any())
        }
    }
}

impl<'py> ser::SerializeSeq for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTuple for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleStruct for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleVariant for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
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
        let key = self.key.take().ok_or_else(|| {
            <ConvertError as ser::Error>::custom("a map value came before its key")
        })?;
        self.dict.set_item(key, value.serialize(self.to)?)?;
        Ok(())
    }
    fn end(self) -> Result<Self::Ok> {
        Ok(self.dict.into_any())
    }
}

impl<'py> Struct<'py, '_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        let key = self.to.registry.field_name(self.to.py, key);
        self.dict.set_item(key, value.serialize(self.to)?)?;
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        let py = self.to.py;
        let object = match self.to.registry.model(py, self.name) {
            Some(class) => self.to.registry.instantiate(py, class, self.dict)?,
            None => self.dict.into_any(),
        };
        match self.variant {
            None => Ok(object),
            Some(variant) => {
                let outer = PyDict::new(py);
                outer.set_item(variant, object)?;
                Ok(outer.into_any())
            }
        }
    }
}

impl<'py> ser::SerializeStruct for Struct<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeStructVariant for Struct<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}
