"""Data loading, the offline fallback, binarization and the input pipeline; the README's
library snippet, run as written."""

import os
import re
import socket
import subprocess
import sys
import urllib.error

import keras
import numpy as np
import pytest

from keras_vae import data, datafiles

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_embedded_sample_is_real_mnist_in_keras_layout():
    """The embedded sample has 5,000 + 1,000 uint8 28x28 digits with labels 0-9."""
    with np.load(datafiles.embedded_sample_path()) as arrays:
        assert arrays["x_train"].shape == (5000, 28, 28)
        assert arrays["x_test"].shape == (1000, 28, 28)
        assert arrays["x_train"].dtype == np.uint8
        assert set(np.unique(arrays["y_train"])) == set(range(10))


def failed_download():
    """Fails as Keras' `get_file` does offline: its notice, then a bare Exception raised while
    handling urllib's error, which holds the resolver's."""
    print("Downloading data from https://storage.googleapis.com/mnist.npz")
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except OSError as error:
            raise urllib.error.URLError(error)
    except urllib.error.URLError as error:
        raise Exception(f"URL fetch failure on https://storage.googleapis.com/mnist.npz: "
                        f"{error.errno} -- {error.reason}")


def test_offline_download_falls_back_to_the_embedded_sample(monkeypatch, capsys):
    """A failed download logs one line with the network's own error, prints nothing else (not
    Keras' notice), and returns the embedded sample scaled to [0, 1]."""
    monkeypatch.setattr(keras.datasets.mnist, "load_data", failed_download)
    lines = []
    images = data.load_images("mnist", log=lines.append)
    assert capsys.readouterr() == ("", "")
    assert lines == ["Could not download mnist ([Errno -2] Name or service not known); using the "
                     "embedded MNIST sample (5,000 training and 1,000 test images) instead."]
    assert images.x_train.shape == (5000, 28, 28) and images.source == "embedded MNIST sample"
    assert images.x_train.dtype == np.float32 and 0 <= images.x_train.min() <= images.x_train.max() <= 1


def test_data_path_loads_a_local_npz(tmp_path):
    """--data-path reads any .npz in the mnist.npz layout."""
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=np.full((3, 28, 28), 255, np.uint8), y_train=np.arange(3),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.arange(2))
    images = data.load_images(data_path=str(path))
    assert images.x_train.max() == 1.0 and images.x_test.shape == (2, 28, 28)


@pytest.mark.parametrize("make, name", [
    (lambda tmp: data.load_images("cifar10"), "dataset"),
    (lambda tmp: data.load_images(data_path=str(tmp / "missing.npz")), "data_path"),
    (lambda tmp: data.load_images(data_path=str(tmp / "bad.npz")), "data_path"),
    (lambda tmp: data.check_pixel_range(np.array([[0.0, 2.0]]), "bernoulli"), "x"),
    (lambda tmp: data.make_dataset(np.zeros((4, 2), np.float32), 2, binarize="yes"), "binarize"),
])
def test_bad_data_input_raises_value_error(tmp_path, make, name):
    """Unknown datasets, missing or malformed files, out-of-range Bernoulli data are ValueErrors."""
    np.savez(tmp_path / "bad.npz", x_train=np.zeros(3))
    with pytest.raises(ValueError, match=rf"Invalid value for `{name}`"):
        make(tmp_path)


def test_static_binarization_is_seeded_and_unbiased():
    """Static binarization is reproducible per seed and keeps each pixel's mean."""
    x = np.full((20000, 2), [0.2, 0.7], np.float32)
    first, again = data.binarize_static(x, 1), data.binarize_static(x, 1)
    np.testing.assert_array_equal(first, again)
    assert set(np.unique(first)) == {0.0, 1.0}
    # 6 standard errors of a Bernoulli mean over 20,000 draws.
    np.testing.assert_allclose(first.mean(axis=0), [0.2, 0.7], atol=6 * 0.5 / np.sqrt(20000))


def test_dynamic_binarization_resamples_every_epoch():
    """Dynamic binarization draws new {0, 1} pixels each epoch, with the right mean."""
    x = np.full((512, 64), 0.3, np.float32)
    dataset = data.make_dataset(x, 512, binarize="dynamic", shuffle=False, seed=0)
    epoch_one = next(iter(dataset))[0].numpy()
    epoch_two = next(iter(dataset))[0].numpy()
    assert set(np.unique(epoch_one)) == {0.0, 1.0}
    assert not np.array_equal(epoch_one, epoch_two)
    assert abs(epoch_one.mean() - 0.3) < 6 * np.sqrt(0.21 / x.size)


def test_pipeline_yields_distinct_images_as_input_and_target():
    """Shuffled batches are full and distinct (x, x) pairs; unshuffled ones cover every image."""
    x = np.arange(10, dtype=np.float32)[:, None] / 10
    batches = list(data.make_dataset(x, 4, shuffle=True, seed=3))
    inputs = np.concatenate([b[0].numpy() for b in batches])
    np.testing.assert_array_equal(inputs, np.concatenate([b[1].numpy() for b in batches]))
    assert [len(b[0]) for b in batches] == [4, 4] and len(np.unique(inputs)) == 8
    ordered = np.concatenate([b[0].numpy() for b in data.make_dataset(x, 4, shuffle=False)])
    np.testing.assert_allclose(ordered[:, 0], x[:, 0])


def test_offline_fashion_mnist_is_refused_not_replaced_by_digits(monkeypatch):
    """Offline, fashion_mnist raises ValueError naming `dataset` and why: the sample holds
    digits."""
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", failed_download)
    with pytest.raises(ValueError) as raised:
        data.load_images("fashion_mnist", log=pytest.fail)
    assert str(raised.value) == (
        "Invalid value for `dataset`: expected a dataset Keras can download or find in its cache "
        "(offline: --data-path PATH, or --dataset sample), received 'fashion_mnist', whose "
        "download failed: [Errno -2] Name or service not known.")


def test_a_download_that_goes_ahead_shows_keras_notice_and_progress(monkeypatch, capsys):
    """Keras' notice is held only until its progress follows; then both reach stderr, and
    stdout stays for a command's results."""
    def download():
        print("Downloading data from https://storage.googleapis.com/mnist.npz")
        sys.stdout.write("11490434/11490434 1s 0us/step\n")
        with np.load(datafiles.embedded_sample_path()) as arrays:
            return ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]))

    monkeypatch.setattr(keras.datasets.mnist, "load_data", download)
    images = data.load_images("mnist", log=pytest.fail)
    assert capsys.readouterr() == ("", "Downloading data from https://storage.googleapis.com/"
                                       "mnist.npz\n11490434/11490434 1s 0us/step\n")
    assert images.source == "keras.datasets.mnist"


def test_a_download_failure_is_named_by_its_first_cause():
    """The error under Keras' wrapper: a resolver's, a proxy's, an HTTP one, a socket's."""
    for cause, expected in (
            (ConnectionRefusedError(111, "Connection refused"), "[Errno 111] Connection refused"),
            (OSError("Tunnel connection failed: 403 Forbidden"),
             "Tunnel connection failed: 403 Forbidden"),
            (urllib.error.HTTPError("https://x", 404, "Not Found", {}, None),
             "HTTP Error 404: Not Found"),
            (urllib.error.URLError(ConnectionResetError(104, "Connection reset by peer")),
             "[Errno 104] Connection reset by peer")):
        try:
            try:
                raise cause
            except OSError:
                raise Exception("URL fetch failure on https://x: None -- wrapped")
        except Exception as error:
            assert data.download_failure(error) == expected


def test_images_come_in_the_shape_the_model_takes(tmp_path):
    """`example_shape` gives the dense networks' (784,) or the convolutions' (28, 28, 1)."""
    flat = data.load_images("sample", example_shape=(784,))
    assert flat.x_train.shape == (5000, 784) and flat.x_test.shape == (1000, 784)
    assert data.load_images("sample", example_shape=(28, 28, 1)).x_test.shape == (1000, 28, 28, 1)
    with pytest.raises(ValueError, match=r"^Invalid value for `example_shape`: expected \(784,\), "
                                         r"\(28, 28, 1\) or \(28, 28\), received \(32, 32\)\.$"):
        data.load_images("sample", example_shape=(32, 32))


def test_a_data_files_shapes_are_read_from_its_headers(tmp_path):
    """`image_shapes` gives the arrays' shapes without loading them, and refuses images that are
    not 28x28 grayscale and labels that do not match them, naming the array."""
    assert datafiles.image_shapes("sample") == {"x_train": (5000, 28, 28), "y_train": (5000,),
                                           "x_test": (1000, 28, 28), "y_test": (1000,)}
    assert datafiles.image_shapes("mnist")["x_train"] == (60000, 28, 28)
    path = tmp_path / "flat.npz"
    np.savez(path, x_train=np.zeros((3, 784), np.float32), y_train=np.arange(3),
             x_test=np.zeros((2, 28, 28, 1), np.uint8), y_test=np.arange(2))
    assert datafiles.image_shapes(data_path=str(path))["x_test"] == (2, 28, 28, 1)
    for arrays, why in (
            (dict(x_train=np.zeros((3, 32, 32, 3))), "x_train has shape (3, 32, 32, 3)"),
            (dict(y_test=np.arange(3)), "y_test has shape (3,) and dtype int64 beside x_test of "
                                        "shape (2, 28, 28)"),
            (dict(x_test=np.full((2, 28, 28), "a")), "x_test has dtype <U1")):
        np.savez(path, **{"x_train": np.zeros((3, 28, 28)), "y_train": np.arange(3),
                          "x_test": np.zeros((2, 28, 28)), "y_test": np.arange(2), **arrays})
        with pytest.raises(ValueError) as raised:
            datafiles.image_shapes(data_path=str(path), name="--data-path")
        assert str(raised.value).startswith("Invalid value for `--data-path`: expected an .npz "
                                            "file of 28x28 grayscale images: ")
        assert str(raised.value).endswith(f"received '{path}', whose {why}."), raised.value
        with pytest.raises(ValueError, match=re.escape(f"whose {why}.")):
            data.load_images(data_path=str(path))  # The same check on the loaded arrays.


def test_raw_pixels_are_refused_before_they_train_to_nan():
    """uint8 pixels of 0 to 255 given for binarization raise ValueError saying to divide them
    by 255."""
    raw = np.full((4, 784), 255, np.uint8)
    with pytest.raises(ValueError) as raised:
        data.make_dataset(raw, 2, binarize="dynamic")
    assert str(raised.value) == (
        "Invalid value for `x`: expected pixel values in [0, 1] for likelihood='bernoulli', "
        "received 'values in [255, 255]', raw uint8 pixels: divide them by 255.")


@pytest.mark.slow
def test_the_readme_library_snippet_runs_as_written_offline(tmp_path):
    """The README's library code, with one epoch instead of ten, offline (a closed proxy): it
    loads the embedded sample, trains, saves, reloads and samples 8 digits of 28x28."""
    with open(os.path.join(ROOT, "README.md")) as file:
        readme = file.read()
    section = readme[readme.index("## The library"):]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)[1]
    assert "epochs=10" in code, code
    (tmp_path / "snippet.py").write_text(code.replace("epochs=10", "epochs=1"))
    result = subprocess.run(
        [sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True,
        timeout=600, env={**os.environ, "PYTHONPATH": ROOT, "KERAS_HOME": str(tmp_path / "k"),
                          "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Could not download mnist (") and lines[-1] == "(8, 28, 28)", lines
    assert (tmp_path / "vae.keras").is_file()
