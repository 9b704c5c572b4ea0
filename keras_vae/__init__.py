"""keras_vae: a small, exact variational autoencoder in Keras 3, and an assignment built on it.

The names in `__all__` are the graded contract: students implement the same names in
`assignments/`, and every command takes the implementation to use as `--impl MODULE`.

The names load on first use, so that `python -m keras_vae.grade` and the commands' argument
checks run without importing TensorFlow. The classes that `.keras` files name are registered
with Keras as soon as Keras is imported, before or after this package, so that
`keras.saving.load_model` reads the package's files after a plain `import keras_vae`. When Keras
is first imported by one of the reference's modules, the registration imports the others while
that one is half-imported, so they import each other as modules, never by name.
"""

import importlib
import importlib.util
import sys

_MODULES = {
    "reparameterize": "keras_vae.reference.layers",
    "Sampling": "keras_vae.reference.layers",
    "KLDivergenceLayer": "keras_vae.reference.layers",
    "kl_divergence": "keras_vae.reference.losses",
    "bernoulli_nll": "keras_vae.reference.losses",
    "gaussian_nll": "keras_vae.reference.losses",
    "build_encoder": "keras_vae.reference.models",
    "build_decoder": "keras_vae.reference.models",
    "build_vae": "keras_vae.reference.models",
}

__all__ = list(_MODULES)

# Importing it registers every class a saved model of the package names (it imports the rest).
_SERIALIZABLE = "keras_vae.reference.models"


def __getattr__(name):
    if name not in _MODULES:
        raise AttributeError(f"module 'keras_vae' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)


class _RegisterAfterKeras:
    """A `sys.meta_path` finder that finds `keras` as Python would, and has its loader import
    `_SERIALIZABLE` once Keras has loaded. (Keras imports the module that a saved class names
    only for its own packages, so the registrations must run before a file is read.)"""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is not None and hasattr(loader, "exec_module"):
            def exec_module(module):
                del loader.exec_module  # Keras' loader is itself again.
                loader.exec_module(module)
                importlib.import_module(_SERIALIZABLE)

            loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    importlib.import_module(_SERIALIZABLE)
else:
    sys.meta_path.insert(0, _RegisterAfterKeras())
