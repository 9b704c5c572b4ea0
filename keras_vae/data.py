"""MNIST-like data: loading with an offline fallback, scaling, binarization, `tf.data` input.

Every loader returns images scaled to [0, 1]. Binarization turns them into {0, 1} pixels for the
Bernoulli likelihood: `"static"` once with a seed, `"dynamic"` afresh in every epoch inside the
`tf.data` pipeline, one vectorized draw per batch.
"""

import contextlib
import dataclasses
import importlib.resources
import os
import sys

import numpy as np

from keras_vae import checks

# Seeds of the fixed binarization of the test and validation images, the same in every run.
TEST_BINARIZATION_SEED = 2015


@dataclasses.dataclass(frozen=True)
class ImageData:
    """Images in [0, 1] of shape `(num_images, height, width)` and their integer labels."""

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


def _open_npz(path):
    expected = "an .npz file with the arrays x_train, y_train, x_test, y_test"
    try:
        return np.load(path)
    except Exception as error:  # NumPy raises several kinds for a file it cannot read.
        raise checks.invalid("data_path", expected, os.fspath(path),
                             f"which NumPy cannot read ({type(error).__name__})") from None


def _from_npz(path, source):
    with _open_npz(path) as arrays:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays.files)
        if missing:
            raise checks.invalid(
                "data_path",
                "an .npz file with the arrays x_train, y_train, x_test, y_test",
                f"{os.fspath(path)} without {sorted(missing)}",
            )
        return ImageData(
            _scale(arrays["x_train"]),
            arrays["y_train"].astype(np.int64),
            _scale(arrays["x_test"]),
            arrays["y_test"].astype(np.int64),
            source,
        )


def load_images(dataset="mnist", data_path=None, log=print):
    """Loads an MNIST-like dataset, falling back to the embedded MNIST sample when offline.

    Args:
        dataset: `"mnist"` or `"fashion_mnist"` (through `keras.datasets`: downloaded once,
            then read from Keras' cache), or `"sample"` (the embedded MNIST sample).
        data_path: path of a local `.npz` file in the layout of Keras' `mnist.npz`; when given,
            `dataset` is ignored.
        log: function called with one line when the MNIST download fails and the embedded
            sample is used instead.

    Returns:
        An `ImageData`.

    Raises:
        ValueError: for an unknown dataset, a missing or malformed data file, or a
            `"fashion_mnist"` that can be neither downloaded nor found in Keras' cache (the
            embedded sample holds digits, not clothes).
    """
    if data_path is not None:
        if not os.path.isfile(data_path):
            raise checks.invalid("data_path", "an existing .npz file", os.fspath(data_path))
        return _from_npz(data_path, f"file {os.fspath(data_path)}")
    checks.choice("dataset", dataset, checks.DATASETS)
    if dataset != "sample":
        import keras

        try:
            # Keras prints its download notice; stdout stays for the commands' results.
            with contextlib.redirect_stdout(sys.stderr):
                (x_train, y_train), (x_test, y_test) = getattr(keras.datasets,
                                                               dataset).load_data()
        except Exception as error:  # keras raises a bare Exception for a failed download.
            if dataset != "mnist":
                raise checks.invalid(
                    "dataset", "a dataset Keras can download or find in its cache (offline: "
                    "--data-path PATH, or --dataset sample)",
                    f"{dataset}, which failed with {type(error).__name__}: no network and no "
                    "cached copy?")
            log(
                f"Could not load {dataset} ({type(error).__name__}: no network and no cached "
                "copy?); using the embedded MNIST sample (5,000 train, 1,000 test images)."
            )
        else:
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
    """
    data = load_images(config.dataset, data_path or config.data_path, log=log)
    shape = (-1,) + config.example_shape
    x_train, x_test = data.x_train.reshape(shape), data.x_test.reshape(shape)
    # Only a data file can hold other values: name it.
    check_pixel_range(x_train, config.likelihood, "data_path")
    check_pixel_range(x_test, config.likelihood, "data_path")
    num_val = int(round(config.validation_split * len(x_train)))
    x_val, x_train = x_train[len(x_train) - num_val:], x_train[:len(x_train) - num_val]
    y_train = data.y_train[:len(x_train)]
    if config.binarize != "none":
        x_test = binarize_static(x_test, TEST_BINARIZATION_SEED)
        x_val = binarize_static(x_val, TEST_BINARIZATION_SEED + 1)
    if config.binarize == "static":
        x_train = binarize_static(x_train, config.seed)
    split = ImageData(x_train, y_train, x_test, data.y_test, data.source)
    return split, np.asarray(x_val)


def check_pixel_range(x, likelihood, name="x"):
    """Raises `ValueError` naming `name` if Bernoulli data has values outside [0, 1]."""
    if likelihood == "bernoulli" and x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise checks.invalid(
            name, "pixel values in [0, 1] for likelihood='bernoulli'",
            f"values in [{x.min():.3g}, {x.max():.3g}]",
        )


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
    """
    import tensorflow as tf

    checks.choice("binarize", binarize, checks.BINARIZATIONS)
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
