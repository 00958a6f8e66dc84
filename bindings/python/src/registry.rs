//! The Python classes the extension builds: model classes by the core struct's
//! name, and one exception class per error kind, registered once by the package.

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

/// Keys of `&'static str` by address and length: the same name is the same
/// string, so a cache needs no string hashing (a cached call looks up ~250 names).
type NameCache = HashMap<(usize, usize), Py<PyString>, BuildHasherDefault<AddressHasher>>;

/// A multiply-rotate hasher for the caches' address keys (SipHash showed as 6% of a
/// cached `instance()`).
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type ModelCache = HashMap<(usize, usize), Option<Py<PyType>>, BuildHasherDefault<AddressHasher>>;

thread_local! {
    /// Interned attribute names of the core's field names, per thread.
    static NAMES: RefCell<NameCache> = RefCell::new(NameCache::default());
    /// The registered class of each struct name, per thread.
    static MODELS: RefCell<ModelCache> = RefCell::new(ModelCache::default());
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
            pyo3::exceptions::PyRuntimeError::new_err("import vpc_imds before vpc_imds._core")
        })
    }

    /// The model class for a core struct, if one is registered.
    /// The class registered for the struct `name` (a serde struct name, `'static`).
    pub(crate) fn model<'py>(
        &self,
        py: Python<'py>,
        name: &'static str,
    ) -> Option<Bound<'py, PyType>> {
        let key = (name.as_ptr() as usize, name.len());
        MODELS.with(|models| {
            let mut models = models.borrow_mut();
            let class = models
                .entry(key)
                .or_insert_with(|| self.models.get(name).map(|c| c.clone_ref(py)));
            class.as_ref().map(|c| c.bind(py).clone())
        })
    }

    pub(crate) fn error<'py>(&self, py: Python<'py>, kind: ErrorKind) -> &Bound<'py, PyType> {
        let i = ErrorKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.errors[i].bind(py)
    }

    /// The attribute name of a field, interned; `class` is `class_`.
    pub(crate) fn field_name<'py>(
        &self,
        py: Python<'py>,
        name: &'static str,
    ) -> Bound<'py, PyString> {
        let key = (name.as_ptr() as usize, name.len());
        NAMES.with(|names| {
            let mut names = names.borrow_mut();
            let s = names.entry(key).or_insert_with(|| {
                let keyword = PYTHON_KEYWORDS.contains(&name);
                let attr = if keyword {
                    format!("{name}_")
                } else {
                    name.to_owned()
                };
                PyString::intern(py, &attr).unbind()
            });
            s.bind(py).clone()
        })
    }

    /// An instance of `class` whose attributes are `fields`, without `__init__`.
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

/// Registers the package's classes: `models` maps core struct names to classes,
/// `errors` maps error kind names to exception classes. Called once by `vpc_imds`.
#[pyfunction]
pub(crate) fn _register(
    py: Python<'_>,
    models: HashMap<String, Py<PyType>>,
    mut errors: HashMap<String, Py<PyType>>,
) -> PyResult<()> {
    let errors = ErrorKind::ALL
        .iter()
        .map(|k| errors.remove(k.as_str()))
        .collect::<Option<_>>()
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err("an error kind has no class"))?;
    let registry = Registry {
        models,
        errors,
        object_new: py
            .import("builtins")?
            .getattr("object")?
            .getattr("__new__")?
            .unbind(),
        dict_name: PyString::intern(py, "__dict__").unbind(),
    };
    // A second registration (a re-imported package) keeps the first.
    let _ = REGISTRY.set(py, registry);
    Ok(())
}
