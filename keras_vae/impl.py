"""Finds the implementation of the graded contract that a command should use.

The data, training, evaluation and plotting code never imports the reference solution
directly: it takes a module with the contract's names, so a student's module plugs in.

Names: `impl` is always the module object of an implementation, `impl_name` its module name
(`"keras_vae"`, `"assignments"`). The `--impl` flag and the `impl` field of a run's
`config.json` hold a module name; they keep the short name so that old runs still resume.
"""

import dataclasses
import importlib
import importlib.machinery
import importlib.util
import os
import sys

from keras_vae import checks

CONTRACT = (
    "reparameterize",
    "Sampling",
    "kl_divergence",
    "bernoulli_nll",
    "gaussian_nll",
    "KLDivergenceLayer",
    "build_encoder",
    "build_decoder",
    "build_vae",
)


# The implementation the commands use without --impl. The student bundle's keras_vae/__init__.py
# states its own, `DEFAULT_IMPL_NAME = "assignments"`, which `default_impl_name` reads first.
DEFAULT_IMPL_NAME = "keras_vae"


# The `--impl` help of the grading commands (training shows the default its package states).
IMPL_HELP = ("module implementing the contract (default: keras_vae; assignments in the student "
             "bundle)")


def default_impl_name():
    """The implementation the commands use by default: `keras_vae.DEFAULT_IMPL_NAME` where the
    package states one (the student bundle: `"assignments"`), else `DEFAULT_IMPL_NAME`."""
    import keras_vae

    return getattr(keras_vae, "DEFAULT_IMPL_NAME", None) or DEFAULT_IMPL_NAME


def find_impl(impl_name):
    """Raises `ValueError` naming `impl` when module `impl_name` does not exist, without running
    it (a dotted name imports the packages above it)."""
    if not isinstance(impl_name, str) or not impl_name:
        raise checks.invalid("impl", "a module name", impl_name)
    try:
        spec = importlib.util.find_spec(impl_name)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        raise checks.invalid("impl", "an importable module with the contract names", impl_name,
                             "which was not found")


def load_impl(name=None):
    """Imports the module `name` and checks that it defines every contract name.

    Args:
        name: module name such as `"keras_vae"` or `"assignments"`; `None` for the default.

    Returns:
        The imported module.

    Raises:
        ValueError: if the module cannot be found or lacks a contract name.
    """
    name = name or default_impl_name()
    find_impl(name)
    module = importlib.import_module(name)
    missing = [attr for attr in CONTRACT if not hasattr(module, attr)]
    if missing:
        raise checks.invalid("impl", f"a module defining {', '.join(CONTRACT)}", name,
                             f"which lacks {', '.join(missing)}")
    return module


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a module's source lives: the `sys.path` entry above it and its `.py` files."""

    root: str
    files: tuple


def locate(name, paths=None):
    """Finds module `name` in the folders `paths` (default: `sys.path`) without running any of
    its code (or its packages').

    Returns:
        A `Location`, or `None` when the module is not found as source files.
    """
    parts = name.split(".")
    for root in (sys.path if paths is None else paths):
        root = os.path.abspath(root or os.getcwd())
        spec = importlib.machinery.PathFinder.find_spec(parts[0], [root])
        for part in parts[1:]:
            if spec is None or not spec.submodule_search_locations:
                spec = None
                break
            spec = importlib.machinery.PathFinder.find_spec(part, spec.submodule_search_locations)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        if spec.submodule_search_locations:
            folder = os.path.dirname(spec.origin)
            files = sorted(os.path.join(dirpath, file) for dirpath, _, names in os.walk(folder)
                           for file in names if file.endswith(".py"))
        else:
            files = [spec.origin]
        return Location(root, tuple(files))
    return None
