"""MNIST-like data files: the `.npz` layout, opening one, and checking its arrays' shapes from
their headers alone, so that a command refuses a wrong file before it loads anything."""

import importlib.resources
import os

import numpy as np

from keras_vae import checks

# The shapes of one 28x28 grayscale image that the models take (the MLP's, then the conv's).
IMAGE_SHAPES = ((784,), (28, 28, 1), (28, 28))
# Keras' MNIST and Fashion-MNIST: 60,000 training and 10,000 test images of 28x28 pixels.
KERAS_DATASET_SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,),
                        "x_test": (10000, 28, 28), "y_test": (10000,)}
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
NPZ_LAYOUT = "an .npz file with the arrays x_train, y_train, x_test, y_test"
IMAGES_LAYOUT = ("an .npz file of 28x28 grayscale images: x_train and x_test of shape "
                 "(num_images, 28, 28), (num_images, 28, 28, 1) or (num_images, 784), y_train "
                 "and y_test of shape (num_images,)")


def embedded_sample_path():
    """Path of the embedded sample: 5,000 MNIST training and 1,000 test images."""
    return importlib.resources.files("keras_vae") / "data" / "mnist_sample.npz"


def open_npz(path, name="data_path"):
    """The open `.npz` at `path` (closed by its `with`), refused naming `name` unless it holds
    `ARRAYS`."""
    try:
        # mmap_mode keeps a plain .npy file from being read whole; an .npz is read lazily.
        arrays = np.load(path, mmap_mode="r")
    except Exception as error:  # NumPy raises several kinds for a file it cannot read.
        raise checks.invalid(name, NPZ_LAYOUT, os.fspath(path),
                             f"which NumPy cannot read ({type(error).__name__})") from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise checks.invalid(name, NPZ_LAYOUT, os.fspath(path),
                             "which holds one array, not named arrays")
    missing = set(ARRAYS) - set(arrays.files)
    if missing:
        arrays.close()
        raise checks.invalid(name, NPZ_LAYOUT, os.fspath(path),
                             f"which holds no {', '.join(sorted(missing))}")
    return arrays


def _header(arrays, name):
    """The `(shape, dtype)` of array `name` of an open .npz, read from its header alone."""
    with arrays.zip.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            array = arrays[name]
            shape, dtype = array.shape, array.dtype
    return tuple(shape), dtype


def check_shapes(shapes, path, name="data_path"):
    """Checks the arrays of an MNIST-like dataset: 28x28 grayscale images with one numeric
    label each.

    Args:
        shapes: dict from `ARRAYS` to `(shape, dtype)`.
        path: the data file, named in the error.
        name: the argument named in the error.

    Raises:
        ValueError: naming `name`, the first array that does not fit and its shape.
    """
    for part in ("train", "test"):
        (x_shape, x_dtype), (y_shape, y_dtype) = shapes[f"x_{part}"], shapes[f"y_{part}"]
        if x_shape[1:] not in IMAGE_SHAPES or not x_shape[0]:
            wrong = f"x_{part} has shape {x_shape}"
        elif x_dtype.kind not in "biuf":
            wrong = f"x_{part} has dtype {x_dtype}"
        elif y_shape != x_shape[:1] or y_dtype.kind not in "biuf":
            wrong = (f"y_{part} has shape {y_shape} and dtype {y_dtype} beside x_{part} of "
                     f"shape {x_shape}")
        else:
            continue
        raise checks.invalid(name, IMAGES_LAYOUT, os.fspath(path), f"whose {wrong}")


def image_shapes(dataset="mnist", data_path=None, name="data_path"):
    """The shapes of the arrays `load_images(dataset, data_path)` loads, without loading them.

    A data file is checked from its arrays' headers, in milliseconds, so that a command refuses
    a wrong one before it loads anything.

    Returns:
        A dict from `ARRAYS` to shape tuples.

    Raises:
        ValueError: naming `name` for a missing file, one NumPy cannot read, or arrays of
            other shapes than `check_shapes` takes; naming `dataset` for an unknown dataset.
    """
    if data_path is None:
        checks.choice("dataset", dataset, checks.DATASETS)
        if dataset != "sample":
            return dict(KERAS_DATASET_SHAPES)
    path = embedded_sample_path() if data_path is None else data_path
    if not os.path.isfile(path):
        raise checks.invalid(name, "an existing .npz file", os.fspath(path))
    with open_npz(path, name) as arrays:
        try:
            shapes = {array: _header(arrays, array) for array in ARRAYS}
        except Exception as error:
            raise checks.invalid(name, NPZ_LAYOUT, os.fspath(path),
                                 f"which NumPy cannot read ({type(error).__name__})") from None
    check_shapes(shapes, path, name)
    return {array: shape for array, (shape, _) in shapes.items()}
