//! The Python classes the extension builds: model classes by the core struct's
//! name, and one exception class per error kind, registered once by the package.

use std::cell::RefCell;
use std::collections::HashMap;

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

type NameCache = HashMap<(usize, usize), Py<PyString>>;

thread_local! {
    /// Interned attribute names of the core's field names, per thread.
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
            pyo3::exceptions::PyRuntimeError::new_err("import vpc_imds before vpc_imds._core")
        })
    }

    /// The model class for a core struct, if one is registered.
    pub(crate) fn model<'py>(&self, py: Python<'py>, name: &str) -> Option<&Bound<'py, PyType>> {
        self.models.get(name).map(|c| c.bind(py))
    }

    /// The exception class for `kind`.
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
    models: &Bound<'_, PyDict>,
    errors: &Bound<'_, PyDict>,
) -> PyResult<()> {
    let class = |v: Option<Bound<'_, PyAny>>| -> PyResult<Py<PyType>> {
        let v =
            v.ok_or_else(|| pyo3::exceptions::PyKeyError::new_err("an error kind has no class"))?;
        Ok(v.cast_into::<PyType>()?.unbind())
    };
    let mut model_map = HashMap::new();
    for (name, c) in models.iter() {
        model_map.insert(name.extract::<String>()?, class(Some(c))?);
    }
    let errors = ErrorKind::ALL
        .iter()
        .map(|k| class(errors.get_item(k.as_str())?))
        .collect::<PyResult<_>>()?;
    let registry = Registry {
        models: model_map,
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
