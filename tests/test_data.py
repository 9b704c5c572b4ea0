"""Data loading, the offline fallback, binarization and the input pipeline."""

import keras
import numpy as np
import pytest

from keras_vae import data


def test_embedded_sample_is_real_mnist_in_keras_layout():
    """The embedded sample has 5,000 + 1,000 uint8 28x28 digits with labels 0-9."""
    with np.load(data.embedded_sample_path()) as arrays:
        assert arrays["x_train"].shape == (5000, 28, 28)
        assert arrays["x_test"].shape == (1000, 28, 28)
        assert arrays["x_train"].dtype == np.uint8
        assert set(np.unique(arrays["y_train"])) == set(range(10))


def test_offline_download_falls_back_to_the_embedded_sample(monkeypatch):
    """A failed download prints one line and returns the embedded sample scaled to [0, 1]."""
    def fail():
        raise Exception("URL fetch failure: Name or service not known")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", fail)
    lines = []
    images = data.load_images("mnist", log=lines.append)
    assert len(lines) == 1 and "embedded MNIST sample" in lines[0]
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
    """Offline, fashion_mnist raises ValueError naming `dataset`: the sample holds digits."""
    def fail():
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", fail)
    with pytest.raises(ValueError, match=r"Invalid value for `dataset`: expected a dataset Keras "
                                         r"can download or find in its cache"):
        data.load_images("fashion_mnist", log=pytest.fail)
