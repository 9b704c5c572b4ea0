"""keras_vae: a small, exact variational autoencoder in Keras 3, and an assignment built on it.

The names in `__all__` are the graded contract: students implement the same names in
`assignments/`, and every command takes the implementation to use as `--impl MODULE`.

The names load on first use, so that `python -m keras_vae.grade` and the commands' argument
checks run without importing TensorFlow.
"""

import importlib

_MODULES = {
    "reparameterize": "keras_vae.layers",
    "Sampling": "keras_vae.layers",
    "KLDivergenceLayer": "keras_vae.layers",
    "kl_divergence": "keras_vae.losses",
    "bernoulli_nll": "keras_vae.losses",
    "gaussian_nll": "keras_vae.losses",
    "build_encoder": "keras_vae.models",
    "build_decoder": "keras_vae.models",
    "build_vae": "keras_vae.models",
}

__all__ = list(_MODULES)


def __getattr__(name):
    if name not in _MODULES:
        raise AttributeError(f"module 'keras_vae' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
