//! The Python classes the extension builds: model classes by the core struct's
//! name, and one exception class per error kind. The pure-Python part of the
//! package defines them and registers them once, at import.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};
use vpc_imds_driver::core::ErrorKind;

/// Registered classes.
pub(crate) struct Registry {
    models: HashMap<String, Py<PyType>>,
    errors: Vec<Py<PyType>>,
    object_new: Py<PyAny>,
    dict_name: Py<PyString>,
}

static REGISTRY: PyOnceLock<Registry> = PyOnceLock::new();

/// A hasher for `(address, length)` keys: they are already well spread.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type NameCache = HashMap<(usize, usize), Py<PyString>, BuildHasherDefault<AddressHasher>>;

thread_local! {
    /// Interned attribute names of the core's field names, per thread (no lock needed).
    static NAMES: RefCell<NameCache> = RefCell::new(NameCache::default());
}

/// Python keywords, which cannot be attribute names in source code.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

impl Registry {
    /// The registry, or an error if the package has not registered its classes.
    pub(crate) fn get(py: Python<'_>) -> PyResult<&'static Registry> {
        REGISTRY.get(py).ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err(
                "vpc_imds._core is used without the vpc_imds package (import vpc_imds first)",
            )
        })
    }

    /// The model class for a core struct, if one is registered.
    pub(crate) fn model<'py>(&self, py: Python<'py>, name: &str) -> Option<&Bound<'py, PyType>> {
        self.models.get(name).map(|c| c.bind(py))
    }

    /// The exception class for `kind`.
    pub(crate) fn error<'py>(
        &self,
        py: Python<'py>,
        kind: ErrorKind,
    ) -> Option<&Bound<'py, PyType>> {
        let i = ErrorKind::ALL.iter().position(|k| *k == kind)?;
        self.errors.get(i).map(|c| c.bind(py))
    }

    /// The attribute name of a field, interned (lookups on interned keys are
    /// fastest). A Python keyword gets a trailing underscore: `class` is `class_`.
    pub(crate) fn field_name<'py>(
        &self,
        py: Python<'py>,
        name: &'static str,
    ) -> Bound<'py, PyString> {
        // Field names are `&'static str`s of the core: (address, length) identifies one.
        let key = (name.as_ptr() as usize, name.len());
        NAMES.with(|names| {
            if let Some(s) = names.borrow().get(&key) {
                return s.bind(py).clone();
            }
            let s = if PYTHON_KEYWORDS.contains(&name) {
                PyString::intern(py, &format!("{name}_"))
            } else {
                PyString::intern(py, name)
            };
            names.borrow_mut().insert(key, s.clone().unbind());
            s
        })
    }

    /// An instance of `class` whose attributes are `fields`, without calling `__init__`.
    pub(crate) fn instantiate<'py>(
        &self,
        py: Python<'py>,
        class: &Bound<'py, PyType>,
        fields: Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let object = self.object_new.bind(py).call1((class,))?;
        object.setattr(self.dict_name.bind(py), fields)?;
        Ok(object)
    }
}

/// Registers the package's classes: `models` maps core struct names (`Instance`,
/// `AccessToken`, ...) to classes; `errors` maps error kind names
/// (`invalid_input`, ...) to exception classes. Called once by `vpc_imds`.
#[pyfunction]
pub(crate) fn _register(
    py: Python<'_>,
    models: &Bound<'_, PyDict>,
    errors: &Bound<'_, PyDict>,
) -> PyResult<()> {
    let mut model_map = HashMap::new();
    for (name, class) in models.iter() {
        model_map.insert(
            name.extract::<String>()?,
            class.cast_into::<PyType>()?.unbind(),
        );
    }
    let mut error_list = Vec::with_capacity(ErrorKind::ALL.len());
    for kind in ErrorKind::ALL {
        let class = errors.get_item(kind.as_str())?.ok_or_else(|| {
            pyo3::exceptions::PyKeyError::new_err(format!("no exception class for {kind}"))
        })?;
        error_list.push(class.cast_into::<PyType>()?.unbind());
    }
    let object_new = py
        .import("builtins")?
        .getattr("object")?
        .getattr("__new__")?
        .unbind();
    let registry = Registry {
        models: model_map,
        errors: error_list,
        object_new,
        dict_name: PyString::intern(py, "__dict__").unbind(),
    };
    // A second registration (a re-imported package) keeps the first.
    let _ = REGISTRY.set(py, registry);
    Ok(())
}
