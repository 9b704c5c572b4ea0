"""MNIST-like data: loading with an offline fallback, scaling, binarization, `tf.data` input.

The loaders scale `uint8` images to [0, 1] (float images are kept as they are) and check their
shapes. Binarization turns images in [0, 1] into {0, 1} pixels for the Bernoulli likelihood:
`"static"` once with a seed, `"dynamic"` afresh in every epoch inside the `tf.data` pipeline, one
vectorized draw per batch.
"""

import contextlib
import dataclasses
import io
import os
import sys

import numpy as np

from keras_vae import checks, datafiles

# Seeds of the fixed binarization of the test and validation images, the same in every run.
TEST_BINARIZATION_SEED = 2015


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


def _scale(images):
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return images.astype(np.float32)


def num_training_images(num_images, validation_split):
    """How many of `num_images` training images train once `validation_split` is held out."""
    return num_images - int(round(validation_split * num_images))


def _from_npz(path, source):
    with datafiles.open_npz(path) as arrays:
        try:
            loaded = {name: np.asarray(arrays[name]) for name in datafiles.ARRAYS}
        except Exception as error:
            raise checks.invalid("data_path", datafiles.NPZ_LAYOUT, os.fspath(path),
                                 f"which NumPy cannot read ({type(error).__name__})") from None
    datafiles.check_shapes(
        {name: (array.shape, array.dtype) for name, array in loaded.items()}, path)
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
        example_shape: the shape of one image the model takes, one of `datafiles.IMAGE_SHAPES`:
            `(784,)` for `architecture="mlp"`, `(28, 28, 1)` for `"conv"`; `None` keeps
            `(28, 28)`.

    Returns:
        An `ImageData`; `uint8` pixels are scaled to [0, 1].

    Raises:
        ValueError: for an unknown dataset or `example_shape`, a missing or malformed data file
            or one whose arrays are not 28x28 images with labels, or a `"fashion_mnist"` that
            can be neither downloaded nor found in Keras' cache (the embedded sample holds
            digits, not clothes).
    """
    if example_shape is not None and tuple(example_shape) not in datafiles.IMAGE_SHAPES:
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
    return _from_npz(datafiles.embedded_sample_path(), "embedded MNIST sample")


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
