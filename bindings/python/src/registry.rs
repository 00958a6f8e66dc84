//! The Python classes the extension builds: model classes by the core struct's
//! name, and one exception class per error kind, registered once by the package.

use std::cell::RefCell;
use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};
use rustc_hash::FxHashMap;
use vpc_imds_driver::core::ErrorKind;

/// Registered classes.
pub(crate) struct Registry {
    models: FxHashMap<String, Py<PyType>>,
    errors: Vec<Py<PyType>>,
    object_new: Py<PyAny>,
    dict_name: Py<PyString>,
    is_keyword: Py<PyAny>,
}

static REGISTRY: PyOnceLock<Registry> = PyOnceLock::new();

thread_local! {
    /// Interned attribute names of the core's field names, per thread, keyed by the
    /// `&'static str`'s address and length: no string hashing (a cached call looks
    /// up ~250 names, and SipHash showed as 6% of a cached `instance()`).
    static NAMES: RefCell<FxHashMap<(usize, usize), Py<PyString>>> = RefCell::default();
}

impl Registry {
    /// The registry, or an error if the package has not registered its classes.
    pub(crate) fn get(py: Python<'_>) -> PyResult<&'static Registry> {
        REGISTRY.get(py).ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("import vpc_imds before vpc_imds._core")
        })
    }

    /// The class registered for the struct `name` (a serde struct name), if any.
    pub(crate) fn model<'py>(&self, py: Python<'py>, name: &str) -> Option<&Bound<'py, PyType>> {
        self.models.get(name).map(|c| c.bind(py))
    }

    pub(crate) fn error<'py>(&self, py: Python<'py>, kind: ErrorKind) -> &Bound<'py, PyType> {
        let i = ErrorKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.errors[i].bind(py)
    }

    /// The attribute name of a field, interned; a Python keyword gets a trailing `_`
    /// (`class_`).
    pub(crate) fn field_name<'py>(
        &self,
        py: Python<'py>,
        name: &'static str,
    ) -> Bound<'py, PyString> {
        NAMES.with_borrow_mut(|names| {
            let key = (name.as_ptr() as usize, name.len());
            let attr = names.entry(key).or_insert_with(|| {
                let keyword = self.is_keyword.call1(py, (name,));
                let keyword = keyword.is_ok_and(|k| k.is_truthy(py).unwrap_or(false));
                let suffix = if keyword { "_" } else { "" };
                PyString::intern(py, &format!("{name}{suffix}")).unbind()
            });
            attr.bind(py).clone()
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
        models: models.into_iter().collect(),
        errors,
        object_new: py
            .import("builtins")?
            .getattr("object")?
            .getattr("__new__")?
            .unbind(),
        dict_name: PyString::intern(py, "__dict__").unbind(),
        is_keyword: py.import("keyword")?.getattr("iskeyword")?.unbind(),
    };
    // A second registration (a re-imported package) keeps the first.
    let _ = REGISTRY.set(py, registry);
    Ok(())
}
