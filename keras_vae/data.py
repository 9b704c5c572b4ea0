"""MNIST-like data: loading with an offline fallback, scaling, binarization, `tf.data` input.

The loaders scale `uint8` images to [0, 1] (float images are kept as they are) and check their
shapes. Binarization turns images in [0, 1] into {0, 1} pixels for the Bernoulli likelihood:
`"static"` once with a seed, `"dynamic"` afresh in every epoch inside the `tf.data` pipeline, one
vectorized draw per batch.
"""

import contextlib
import dataclasses
import importlib.resources
import io
import os
import sys

import numpy as np

from keras_vae import checks

# Seeds of the fixed binarization of the test and validation images, the same in every run.
TEST_BINARIZATION_SEED = 2015
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


@dataclasses.dataclass(frozen=True)
class ImageData:
    """Images and their integer labels.

    The images are `(num_images, height, width)` arrays, or `(num_images,) + example_shape`
    where the loader was given an `example_shape`.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def embedded_sample_path():
    """Path of the embedded sample: 5,000 MNIST training and 1,000 test images."""
    return importlib.resources.files("keras_vae") / "data" / "mnist_sample.npz"


def _scale(images):
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return images.astype(np.float32)


def _open_npz(path, name="data_path"):
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
        raise checks.invalid(name, NPZ_LAYOUT,
                             f"{os.fspath(path)} without {sorted(missing)}")
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
    with _open_npz(path, name) as arrays:
        try:
            shapes = {array: _header(arrays, array) for array in ARRAYS}
        except Exception as error:
            raise checks.invalid(name, NPZ_LAYOUT, os.fspath(path),
                                 f"which NumPy cannot read ({type(error).__name__})") from None
    check_shapes(shapes, path, name)
    return {array: shape for array, (shape, _) in shapes.items()}


def num_training_images(num_images, validation_split):
    """How many of `num_images` training images train once `validation_split` is held out."""
    return num_images - int(round(validation_split * num_images))


def _from_npz(path, source):
    with _open_npz(path) as arrays:
        try:
            loaded = {name: np.asarray(arrays[name]) for name in ARRAYS}
        except Exception as error:
            raise checks.invalid("data_path", NPZ_LAYOUT, os.fspath(path),
                                 f"which NumPy cannot read ({type(error).__name__})") from None
    check_shapes({name: (array.shape, array.dtype) for name, array in loaded.items()}, path)
    return ImageData(_scale(loaded["x_train"]), loaded["y_train"].astype(np.int64),
                     _scale(loaded["x_test"]), loaded["y_test"].astype(np.int64), source)


class _HeldNotice(io.TextIOBase):
    """A text stream that holds back its first line (Keras' "Downloading data from ...") until
    more follows (the download's progress bar), so a download that fails at once prints
    nothing."""

    def __init__(self, stream):
        self.stream = stream
        self.held = ""

    def write(self, text):
        if self.held is None:
            return self.stream.write(text)
        self.held += text
        if "\n" in self.held.rstrip("\n"):
            self.release()
        return len(text)

    def release(self):
        if self.held:
            self.stream.write(self.held)
        self.held = None

    def flush(self):
        self.stream.flush()


def download_failure(error):
    """What made a download fail, in the words of its cause: a DNS, proxy, TLS or HTTP error
    (the first `OSError` under Keras' bare `Exception`), not Keras' wrapper around it."""
    cause = error
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    cause = cause or error
    reason = getattr(cause, "reason", None)  # urllib keeps the socket's error as `reason`.
    text = str(reason if isinstance(reason, OSError) else cause) or type(cause).__name__
    return " ".join(text.split())


def load_images(dataset="mnist", data_path=None, log=print, example_shape=None):
    """Loads an MNIST-like dataset, falling back to the embedded MNIST sample when offline.

    Example, as the dense networks take the images:

        images = load_images("mnist", example_shape=(784,))
        images.x_train.shape  # (60000, 784), or (5000, 784) offline; float32 in [0, 1]

    Args:
        dataset: `"mnist"` or `"fashion_mnist"` (through `keras.datasets`: downloaded once,
            then read from Keras' cache), or `"sample"` (the embedded MNIST sample).
        data_path: path of a local `.npz` file in the layout of Keras' `mnist.npz`; when given,
            `dataset` is ignored.
        log: function called with one line when the MNIST download fails and the embedded
            sample is used instead.
        example_shape: the shape of one image the model takes, one of `IMAGE_SHAPES`: `(784,)`
            for `architecture="mlp"`, `(28, 28, 1)` for `"conv"`; `None` keeps `(28, 28)`.

    Returns:
        An `ImageData`; `uint8` pixels are scaled to [0, 1].

    Raises:
        ValueError: for an unknown dataset or `example_shape`, a missing or malformed data file
            or one whose arrays are not 28x28 images with labels, or a `"fashion_mnist"` that
            can be neither downloaded nor found in Keras' cache (the embedded sample holds
            digits, not clothes).
    """
    if example_shape is not None and tuple(example_shape) not in IMAGE_SHAPES:
        raise checks.invalid("example_shape", "(784,), (28, 28, 1) or (28, 28)", example_shape)
    images = _load_images(dataset, data_path, log)
    if example_shape is None:
        return images
    shape = (-1,) + tuple(example_shape)
    return dataclasses.replace(images, x_train=images.x_train.reshape(shape),
                               x_test=images.x_test.reshape(shape))


def _load_images(dataset, data_path, log):
    if data_path is not None:
        if not os.path.isfile(data_path):
            raise checks.invalid("data_path", "an existing .npz file", os.fspath(data_path))
        return _from_npz(data_path, f"file {os.fspath(data_path)}")
    checks.choice("dataset", dataset, checks.DATASETS)
    if dataset != "sample":
        import keras

        notice = _HeldNotice(sys.stderr)
        try:
            # Keras prints its download notice and progress bar; stdout stays for the commands'
            # results, and a download that fails at once shows only why.
            with contextlib.redirect_stdout(notice):
                (x_train, y_train), (x_test, y_test) = getattr(keras.datasets,
                                                               dataset).load_data()
        except Exception as error:  # keras raises a bare Exception for a failed download.
            if dataset != "mnist":
                raise checks.invalid(
                    "dataset", "a dataset Keras can download or find in its cache (offline: "
                    "--data-path PATH, or --dataset sample)",
                    dataset, f"whose download failed: {download_failure(error)}")
            log(f"Could not download {dataset} ({download_failure(error)}); using the embedded "
                "MNIST sample (5,000 training and 1,000 test images) instead.")
        else:
            notice.release()
            return ImageData(
                _scale(x_train), y_train.astype(np.int64), _scale(x_test),
                y_test.astype(np.int64), f"keras.datasets.{dataset}",
            )
    return _from_npz(embedded_sample_path(), "embedded MNIST sample")


def load_data(config, data_path=None, log=print):
    """Loads, scales, splits and (statically) binarizes the data of a `TrainConfig`.

    Args:
        config: the run's `TrainConfig`.
        data_path: a local `.npz` to read instead of `config.data_path`.
        log: function called with one line when the data falls back to the embedded sample.

    Returns:
        `(data, x_val)`: an `ImageData` whose arrays have the model's example shape, its
        `x_train` without the validation images, and those validation images.

    Raises:
        ValueError: as `load_images` does, and naming `data_path` for Bernoulli data outside
            [0, 1].
    """
    data = load_images(config.dataset, data_path or config.data_path, log=log,
                       example_shape=config.example_shape)
    x_train, x_test = data.x_train, data.x_test
    # Only a data file can hold other values: name it.
    check_pixel_range(x_train, config.likelihood, "data_path")
    check_pixel_range(x_test, config.likelihood, "data_path")
    num_train = num_training_images(len(x_train), config.validation_split)
    x_val, x_train = x_train[num_train:], x_train[:num_train]
    y_train = data.y_train[:len(x_train)]
    if config.binarize != "none":
        x_test = binarize_static(x_test, TEST_BINARIZATION_SEED)
        x_val = binarize_static(x_val, TEST_BINARIZATION_SEED + 1)
    if config.binarize == "static":
        x_train = binarize_static(x_train, config.seed)
    split = ImageData(x_train, y_train, x_test, data.y_test, data.source)
    return split, np.asarray(x_val)


def check_pixel_range(x, likelihood, name="x"):
    """Raises `ValueError` naming `name` if Bernoulli data has values outside [0, 1]
    (`keras_vae.checks.pixel_range`)."""
    checks.pixel_range(name, np.asarray(x), likelihood)


def binarize_static(x, seed):
    """Draws `x_bin ~ Bernoulli(x)` once with a NumPy generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def make_dataset(x, batch_size, binarize="none", shuffle=True, seed=0):
    """Builds the `tf.data` pipeline `fit` consumes: batches of `(x, x)` pairs.

    The images stay in one tensor; each batch is a gather of shuffled indices, binarized on
    the fly for `binarize="dynamic"`, and prefetched, so no Python runs per batch. Shuffled
    (training) batches all have `batch_size` images: the remainder of an epoch is dropped, a
    different one each epoch, so that compiled steps see one static shape.

    Args:
        x: float32 array of shape `(num_images,) + example_shape`, values in [0, 1].
        batch_size: positive integer.
        binarize: `"none"`, `"static"` (already applied by the caller) or `"dynamic"`.
        shuffle: whether to reshuffle in every epoch.
        seed: integer seed of the shuffling and of the dynamic binarization.

    Returns:
        A `tf.data.Dataset` of `(x_batch, x_batch)`.

    Raises:
        ValueError: for an unknown `binarize`, or pixels outside [0, 1] to binarize (raw
            `uint8` pixels, say: `load_images` scales them).
    """
    import tensorflow as tf

    checks.choice("binarize", binarize, checks.BINARIZATIONS)
    if binarize != "none":  # Pixels are drawn with their values as probabilities.
        check_pixel_range(np.asarray(x), "bernoulli")
    images = tf.constant(x)
    indices = tf.data.Dataset.range(len(x))
    if shuffle:
        indices = indices.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size, drop_remainder=shuffle).map(
        lambda i: tf.gather(images, i), num_parallel_calls=tf.data.AUTOTUNE
    )
    if binarize == "dynamic":
        pair_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        batches = tf.data.Dataset.zip(batches, pair_seeds).map(
            lambda batch, pair_seed: tf.cast(
                tf.random.stateless_uniform(tf.shape(batch), seed=pair_seed) < batch,
                batch.dtype,
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return batches.map(lambda batch: (batch, batch)).prefetch(tf.data.AUTOTUNE)
